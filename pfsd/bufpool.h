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

/* Idle buffers kept (tests). */
unsigned pfsd_bufpool_idle(pfsd_bufpool_t *p);

#endif
