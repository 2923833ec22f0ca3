/* The GetFile buffer pool: buffers come back when their slices die, at
 * most cap stay idle, and the pool outlives its owner's release while
 * slices are out (gRPC may drop them after the server has stopped). */
#include <pthread.h>
#include <string.h>

#include "bufpool.h"
#include "tap.h"

#define SIZE (PFSD_BUFPOOL_MIN + 4096)
#define CAP 2

static void *
unref_slice(void *arg)
{
    grpc_slice_unref(*(grpc_slice *) arg);
    return NULL;
}

int
main(void)
{
    pfsd_bufpool_t *p = pfsd_bufpool_new(SIZE, CAP);
    grpc_slice s[4];
    uint8_t *first;
    pthread_t t;
    int i;

    tap_int((long long) pfsd_bufpool_size(p), SIZE, "size");
    s[0] = pfsd_bufpool_slice(p, 10);
    tap_int((long long) GRPC_SLICE_LENGTH(s[0]), 10, "slice length");
    first = GRPC_SLICE_START_PTR(s[0]);
    memset(first, 'x', SIZE);
    tap_int(pfsd_bufpool_idle(p), 0, "nothing idle while the slice lives");
    grpc_slice_unref(s[0]);
    tap_int(pfsd_bufpool_idle(p), 1, "its destruction gives the buffer back");

    s[0] = pfsd_bufpool_slice(p, SIZE);
    tap_ok(GRPC_SLICE_START_PTR(s[0]) == first, "the idle buffer is reused");
    tap_int((long long) GRPC_SLICE_LENGTH(s[0]), SIZE, "a whole buffer");
    tap_int(pfsd_bufpool_idle(p), 0, "and is no longer idle");

    for (i = 1; i < 4; i++) {
        s[i] = pfsd_bufpool_slice(p, 1);
    }
    /* A slice referenced twice returns its buffer on the last unref. */
    grpc_slice_ref(s[1]);
    grpc_slice_unref(s[1]);
    tap_int(pfsd_bufpool_idle(p), 0, "a slice still referenced keeps it");
    /* The destruction may happen on gRPC's threads. */
    pthread_create(&t, NULL, unref_slice, &s[1]);
    pthread_join(t, NULL);
    tap_int(pfsd_bufpool_idle(p), 1, "returned from another thread");
    grpc_slice_unref(s[2]);
    grpc_slice_unref(s[3]);
    tap_int(pfsd_bufpool_idle(p), CAP, "at most cap idle, extras freed");

    /* The allocator: large blocks are pool buffers, given back on free;
     * small ones and more than it can track come from malloc. */
    {
        pfsd_bufpool_alloc_t a;
        ProtobufCAllocator *pa = &a.base;
        void *big[PFSD_BUFPOOL_TAKE + 1], *small;

        pfsd_bufpool_alloc_init(&a, p);
        small = pa->alloc(pa->allocator_data, 100);
        big[0] = pa->alloc(pa->allocator_data, PFSD_BUFPOOL_MIN);
        tap_int(pfsd_bufpool_idle(p), CAP - 1, "a large block from the pool");
        for (i = 1; i <= PFSD_BUFPOOL_TAKE; i++) {
            big[i] = pa->alloc(pa->allocator_data, SIZE);
            memset(big[i], 'z', SIZE);
        }
        tap_int(pfsd_bufpool_idle(p), 0, "more taken than idle");
        pa->free(pa->allocator_data, small);
        for (i = 0; i <= PFSD_BUFPOOL_TAKE; i++) {
            pa->free(pa->allocator_data, big[i]);
        }
        tap_int(pfsd_bufpool_idle(p), CAP, "freed blocks back, up to cap");
        big[0] = pa->alloc(pa->allocator_data, SIZE + 1);
        tap_int(pfsd_bufpool_idle(p), CAP, "larger than a buffer: malloc");
        pa->free(pa->allocator_data, big[0]);
    }

    /* The owner lets go while s[0] is still out: the pool stays until the
     * slice is gone (ASan would see a use after free otherwise, and a
     * leak if the pool were never freed). */
    pfsd_bufpool_release(p);
    memset(GRPC_SLICE_START_PTR(s[0]), 'y', SIZE);
    grpc_slice_unref(s[0]);
    tap_ok(1, "a slice outliving the owner's release");
    return tap_done();
}
