#include "catmemo.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Slots, a power of two: a reader sees few buckets at a time. */
#define PFSD_CATMEMO_SLOTS 64

typedef struct pfsd_catmemo_entry {
    uint64_t hash;
    int64_t version;
    size_t keylen;
    char *key;                      /* one block: key, then the strings */
    pfsd_commit_t commit;           /* strings point into that block */
} pfsd_catmemo_entry_t;

struct pfsd_catmemo {
    pfsd_catmemo_entry_t slot[PFSD_CATMEMO_SLOTS];
};

/* The string fields of a resolved commit (never NULL: read from rows). */
static const size_t pfsd_catmemo_strings[] = {
    offsetof(pfsd_commit_t, uuid),
    offsetof(pfsd_commit_t, branch),
    offsetof(pfsd_commit_t, description),
    offsetof(pfsd_commit_t, error),
    offsetof(pfsd_commit_t, repo.project),
    offsetof(pfsd_commit_t, repo.name),
    offsetof(pfsd_commit_t, repo.type),
    offsetof(pfsd_commit_t, repo.description),
};

#define PFSD_CATMEMO_NSTRINGS                                                \
    (sizeof(pfsd_catmemo_strings) / sizeof(pfsd_catmemo_strings[0]))

static const char **
pfsd_catmemo_string(pfsd_commit_t *c, size_t i)
{
    return (const char **) ((char *) c + pfsd_catmemo_strings[i]);
}

static uint64_t
pfsd_catmemo_hash(const char *key, size_t len)
{
    uint64_t h = 14695981039346656037ull;      /* FNV-1a */
    size_t i;

    for (i = 0; i < len; i++) {
        h = (h ^ (unsigned char) key[i]) * 1099511628211ull;
    }
    return h;
}

pfsd_catmemo_t *
pfsd_catmemo_new(void)
{
    return pfsd_xcalloc(1, sizeof(pfsd_catmemo_t));
}

void
pfsd_catmemo_free(void *memo)
{
    pfsd_catmemo_t *m = memo;
    size_t i;

    if (m == NULL) {
        return;
    }
    for (i = 0; i < PFSD_CATMEMO_SLOTS; i++) {
        free(m->slot[i].key);
    }
    free(m);
}

bool
pfsd_catmemo_get(pfsd_catmemo_t *m, const char *key, size_t keylen,
                 int64_t version, pfsd_arena_t *a, pfsd_commit_t *out)
{
    uint64_t h = pfsd_catmemo_hash(key, keylen);
    pfsd_catmemo_entry_t *e = &m->slot[h & (PFSD_CATMEMO_SLOTS - 1)];
    size_t i;

    if (e->key == NULL || e->hash != h || e->version != version
        || e->keylen != keylen || memcmp(e->key, key, keylen) != 0)
    {
        return false;
    }
    /* copies: the slot may be reused by a later lookup of the same call */
    *out = e->commit;
    for (i = 0; i < PFSD_CATMEMO_NSTRINGS; i++) {
        *pfsd_catmemo_string(out, i) =
            pfsd_arena_strdup(a, *pfsd_catmemo_string(&e->commit, i));
    }
    return true;
}

void
pfsd_catmemo_put(pfsd_catmemo_t *m, const char *key, size_t keylen,
                 int64_t version, const pfsd_commit_t *c)
{
    uint64_t h = pfsd_catmemo_hash(key, keylen);
    pfsd_catmemo_entry_t *e = &m->slot[h & (PFSD_CATMEMO_SLOTS - 1)];
    size_t i, n = keylen, len[PFSD_CATMEMO_NSTRINGS];
    char *p;

    e->commit = *c;
    for (i = 0; i < PFSD_CATMEMO_NSTRINGS; i++) {
        len[i] = strlen(*pfsd_catmemo_string(&e->commit, i)) + 1;
        n += len[i];
    }
    free(e->key);
    e->key = pfsd_xmalloc(n);
    memcpy(e->key, key, keylen);
    p = e->key + keylen;
    for (i = 0; i < PFSD_CATMEMO_NSTRINGS; i++) {
        memcpy(p, *pfsd_catmemo_string(&e->commit, i), len[i]);
        *pfsd_catmemo_string(&e->commit, i) = p;
        p += len[i];
    }
    e->hash = h;
    e->version = version;
    e->keylen = keylen;
}
