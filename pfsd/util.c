#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

static void
pfsd_oom(size_t n)
{
    fprintf(stderr, "pfsd: out of memory allocating %zu bytes\n", n);
    abort();
}

void *
pfsd_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL) {
        pfsd_oom(n);
    }
    return p;
}

void *
pfsd_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (p == NULL) {
        pfsd_oom(n * size);
    }
    return p;
}

void *
pfsd_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (q == NULL) {
        pfsd_oom(n);
    }
    return q;
}

char *
pfsd_xstrdup(const char *s)
{
    return pfsd_xstrndup(s, strlen(s));
}

char *
pfsd_xstrndup(const char *s, size_t n)
{
    char *p = pfsd_xmalloc(n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

int64_t
pfsd_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
pfsd_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ------------------------------------------------------------- arena */

struct pfsd_arena_block {
    pfsd_arena_block_t *next;
    size_t used, size;
    max_align_t data[];
};

#define PFSD_ARENA_BLOCK 4096

void *
pfsd_arena_alloc(pfsd_arena_t *a, size_t n)
{
    pfsd_arena_block_t *b = a->head;
    size_t align = sizeof(max_align_t);
    size_t need = (n + align - 1) / align * align;
    void *p;

    if (b == NULL || b->size - b->used < need) {
        size_t size = need > PFSD_ARENA_BLOCK ? need : PFSD_ARENA_BLOCK;

        b = pfsd_xmalloc(sizeof(*b) + size);
        b->used = 0;
        b->size = size;
        b->next = a->head;
        a->head = b;
    }
    p = (char *) b->data + b->used;
    b->used += need;
    memset(p, 0, n);
    return p;
}

char *
pfsd_arena_strndup(pfsd_arena_t *a, const char *s, size_t n)
{
    char *p = pfsd_arena_alloc(a, n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *
pfsd_arena_strdup(pfsd_arena_t *a, const char *s)
{
    return pfsd_arena_strndup(a, s, strlen(s));
}

char *
pfsd_arena_printf(pfsd_arena_t *a, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *p;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    p = pfsd_arena_alloc(a, (size_t) n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t) n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void
pfsd_arena_free(pfsd_arena_t *a)
{
    pfsd_arena_block_t *b, *next;

    for (b = a->head; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    a->head = NULL;
}

/* ------------------------------------------------------------- misc */

void
pfsd_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void
pfsd_new_uuid(char out[33])
{
    uint8_t raw[16];
    size_t got = 0;

    while (got < sizeof(raw)) {
        ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

        if (n > 0) {
            got += (size_t) n;
        }
    }
    /* Shaped like a version 4 UUID, as pachd's ids are. */
    raw[6] = (uint8_t) ((raw[6] & 0x0f) | 0x40);
    raw[8] = (uint8_t) ((raw[8] & 0x3f) | 0x80);
    pfsd_hex(raw, sizeof(raw), out);
}

void
pfsd_buf_append(pfsd_buf_t *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;

        while (cap < b->len + n) {
            cap *= 2;
        }
        b->data = pfsd_xrealloc(b->data, cap);
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void
pfsd_buf_free(pfsd_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
