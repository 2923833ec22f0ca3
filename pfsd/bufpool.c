/* The pool of large message buffers (see bufpool.h). */
#include "bufpool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct pfsd_pbuf pfsd_pbuf_t;

/* A buffer and, in front of its bytes, what its slice's destruction needs
 * to give it back. */
struct pfsd_pbuf {
    pfsd_bufpool_t *pool;
    pfsd_pbuf_t *next;              /* in the idle list */
    max_align_t data[];
};

struct pfsd_bufpool {
    pthread_mutex_t mu;
    size_t size;
    unsigned cap;
    /* Under mu: */
    pfsd_pbuf_t *idle;
    unsigned nidle;
    unsigned refs;                  /* the owner's and one per buffer out */
    bool released;
};

pfsd_bufpool_t *
pfsd_bufpool_new(size_t size, unsigned cap)
{
    pfsd_bufpool_t *p = pfsd_xcalloc(1, sizeof(*p));

    pthread_mutex_init(&p->mu, NULL);
    p->size = size;
    p->cap = cap;
    p->refs = 1;
    return p;
}

size_t
pfsd_bufpool_size(const pfsd_bufpool_t *p)
{
    return p->size;
}

unsigned
pfsd_bufpool_idle(pfsd_bufpool_t *p)
{
    unsigned n;

    pthread_mutex_lock(&p->mu);
    n = p->nidle;
    pthread_mutex_unlock(&p->mu);
    return n;
}

static void
pfsd_bufpool_destroy(pfsd_bufpool_t *p)
{
    pthread_mutex_destroy(&p->mu);
    free(p);
}

static pfsd_pbuf_t *
pfsd_bufpool_take(pfsd_bufpool_t *p)
{
    pfsd_pbuf_t *b;

    pthread_mutex_lock(&p->mu);
    b = p->idle;
    if (b != NULL) {
        p->idle = b->next;
        p->nidle--;
    }
    p->refs++;
    pthread_mutex_unlock(&p->mu);
    if (b == NULL) {
        b = pfsd_xmalloc(sizeof(*b) + p->size);
        b->pool = p;
    }
    b->next = NULL;
    return b;
}

/* Also the destroy callback of a pooled slice: may run on any thread. */
static void
pfsd_bufpool_give(void *arg)
{
    pfsd_pbuf_t *b = arg;
    pfsd_bufpool_t *p = b->pool;
    bool last;

    pthread_mutex_lock(&p->mu);
    if (!p->released && p->nidle < p->cap) {
        b->next = p->idle;
        p->idle = b;
        p->nidle++;
        b = NULL;
    }
    last = --p->refs == 0;
    pthread_mutex_unlock(&p->mu);
    free(b);
    if (last) {
        pfsd_bufpool_destroy(p);
    }
}

void
pfsd_bufpool_release(pfsd_bufpool_t *p)
{
    pfsd_pbuf_t *b, *next;
    bool last;

    pthread_mutex_lock(&p->mu);
    b = p->idle;
    p->idle = NULL;
    p->nidle = 0;
    p->released = true;
    last = --p->refs == 0;
    pthread_mutex_unlock(&p->mu);
    for (; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    if (last) {
        pfsd_bufpool_destroy(p);
    }
}

grpc_slice
pfsd_bufpool_slice(pfsd_bufpool_t *p, size_t len)
{
    pfsd_pbuf_t *b;

    if (len > p->size) {
        abort();                    /* a caller's bug, never data */
    }
    b = pfsd_bufpool_take(p);
    return grpc_slice_new_with_user_data(b->data, len, pfsd_bufpool_give, b);
}

void *
pfsd_bufpool_get(pfsd_bufpool_t *p)
{
    return pfsd_bufpool_take(p)->data;
}

void
pfsd_bufpool_put(pfsd_bufpool_t *p, void *buf)
{
    pfsd_pbuf_t *b = (pfsd_pbuf_t *) ((char *) buf
                                      - offsetof(pfsd_pbuf_t, data));

    if (b->pool != p) {
        abort();                    /* a caller's bug, never data */
    }
    pfsd_bufpool_give(b);
}

/* ---- the protobuf-c allocator */

static void *
pfsd_bufpool_alloc(void *data, size_t size)
{
    pfsd_bufpool_alloc_t *a = data;
    unsigned i;

    if (size >= PFSD_BUFPOOL_MIN && size <= a->pool->size) {
        for (i = 0; i < PFSD_BUFPOOL_TAKE; i++) {
            if (a->taken[i] == NULL) {
                a->taken[i] = pfsd_bufpool_get(a->pool);
                return a->taken[i];
            }
        }
    }
    /* protobuf-c checks for NULL, but pfsd does not go on out of memory. */
    return pfsd_xmalloc(size);
}

static void
pfsd_bufpool_free(void *data, void *ptr)
{
    pfsd_bufpool_alloc_t *a = data;
    unsigned i;

    if (ptr == NULL) {
        return;
    }
    for (i = 0; i < PFSD_BUFPOOL_TAKE; i++) {
        if (a->taken[i] == ptr) {
            a->taken[i] = NULL;
            pfsd_bufpool_put(a->pool, ptr);
            return;
        }
    }
    free(ptr);
}

void
pfsd_bufpool_alloc_init(pfsd_bufpool_alloc_t *a, pfsd_bufpool_t *p)
{
    memset(a, 0, sizeof(*a));
    a->base.alloc = pfsd_bufpool_alloc;
    a->base.free = pfsd_bufpool_free;
    a->base.allocator_data = a;
    a->pool = p;
}
