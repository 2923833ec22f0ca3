/* Small helpers shared by every part of pfsd: allocation that cannot fail
 * silently, clocks, an arena for building response messages, hex. */
#ifndef PFSD_UTIL_H
#define PFSD_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define PFSD_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Out of memory is not recoverable for a storage daemon in a consistent way;
 * these abort with a message instead of returning NULL. */
void *pfsd_xmalloc(size_t n);
void *pfsd_xcalloc(size_t n, size_t size);
void *pfsd_xrealloc(void *p, size_t n);
char *pfsd_xstrdup(const char *s);
char *pfsd_xstrndup(const char *s, size_t n);

/* Wall clock in nanoseconds since the epoch (timestamps shown to clients). */
int64_t pfsd_now_ns(void);
/* Monotonic clock in nanoseconds (durations). */
int64_t pfsd_mono_ns(void);

/* An arena owns everything allocated from it; one free releases it all.
 * Response messages are built from an arena so that nested protobuf-c
 * structures need no per-field ownership bookkeeping. */
typedef struct pfsd_arena_block pfsd_arena_block_t;
typedef struct pfsd_arena {
    pfsd_arena_block_t *head;
} pfsd_arena_t;

void *pfsd_arena_alloc(pfsd_arena_t *a, size_t n);   /* zeroed */
char *pfsd_arena_strdup(pfsd_arena_t *a, const char *s);
char *pfsd_arena_strndup(pfsd_arena_t *a, const char *s, size_t n);
char *pfsd_arena_printf(pfsd_arena_t *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void pfsd_arena_free(pfsd_arena_t *a);

/* Lowercase hex of n bytes into out (2n + 1 bytes). */
void pfsd_hex(const uint8_t *in, size_t n, char *out);

/* A fresh commit id: 32 lowercase hex characters and a NUL. */
void pfsd_new_uuid(char out[33]);

/* Growable byte buffer. */
typedef struct pfsd_buf {
    uint8_t *data;
    size_t len, cap;
} pfsd_buf_t;

void pfsd_buf_append(pfsd_buf_t *b, const void *p, size_t n);
void pfsd_buf_free(pfsd_buf_t *b);

#endif
