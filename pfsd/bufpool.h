/* A small pool of equal, large message buffers that stay mapped.
 *
 * main.c makes glibc serve every block of 256 KiB or more with its own
 * mmap, so that memory goes back to the system when freed.  For the 1 MiB
 * messages of a GetFile stream that meant a fresh mapping per message,
 * every page of it faulted in by the read and unmapped again after the
 * send: a fifth of the server's CPU during a large download.  The pool
 * keeps a few buffers whose pages are already in; beyond its cap, freed
 * buffers go back to the system, so memory stays bounded.
 *
 * Buffers go to gRPC inside slices whose destruction returns them, on
 * whatever thread gRPC drops its last reference.  The pool is freed when
 * its owner has released it and the last such slice is gone. */
#ifndef PFSD_BUFPOOL_H
#define PFSD_BUFPOOL_H

#include <grpc/slice.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

typedef struct pfsd_bufpool pfsd_bufpool_t;

/* A pool of buffers of size bytes keeping at most cap idle ones. */
pfsd_bufpool_t *pfsd_bufpool_new(size_t size, unsigned cap);
/* The owner's release: idle buffers are freed now, the pool itself when
 * the last slice handed out is destroyed. */
void pfsd_bufpool_release(pfsd_bufpool_t *p);

/* The size of every buffer. */
size_t pfsd_bufpool_size(const pfsd_bufpool_t *p);

/* A slice of len bytes (at most the buffer size) over a pooled buffer,
 * contents undefined; its destruction gives the buffer back. */
grpc_slice pfsd_bufpool_slice(pfsd_bufpool_t *p, size_t len);

/* A buffer for the caller alone (contents undefined), and its return. */
void *pfsd_bufpool_get(pfsd_bufpool_t *p);
void pfsd_bufpool_put(pfsd_bufpool_t *p, void *buf);

/* A protobuf-c allocator for unpacking one large message (and the copy it
 * is unpacked from): blocks of PFSD_BUFPOOL_MIN bytes up to the buffer
 * size come from the pool, the rest from malloc.  The same allocator must
 * free what it allocated; at most PFSD_BUFPOOL_TAKE pool buffers at once,
 * further large blocks come from malloc. */
#define PFSD_BUFPOOL_MIN (128u * 1024)
#define PFSD_BUFPOOL_TAKE 4
typedef struct pfsd_bufpool_alloc {
    ProtobufCAllocator base;
    pfsd_bufpool_t *pool;
    void *taken[PFSD_BUFPOOL_TAKE];
} pfsd_bufpool_alloc_t;

void pfsd_bufpool_alloc_init(pfsd_bufpool_alloc_t *a, pfsd_bufpool_t *p);

/* Idle buffers kept (tests). */
unsigned pfsd_bufpool_idle(pfsd_bufpool_t *p);

#endif
