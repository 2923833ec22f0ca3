#include "catmemo.h"

#include <stdlib.h>
#include <string.h>

/* Slots, a power of two: a reader sees few buckets at a time. */
#define PFSD_CATMEMO_SLOTS 64
/* Longer keys are not kept (a path of names, each short in practice). */
#define PFSD_CATMEMO_KEY_MAX 1024

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

static const char *
pfsd_catmemo_dup(pfsd_arena_t *a, const char *s)
{
    return s != NULL ? pfsd_arena_strdup(a, s) : NULL;
}

bool
pfsd_catmemo_get(pfsd_catmemo_t *m, const char *key, size_t keylen,
                 int64_t version, pfsd_arena_t *a, pfsd_commit_t *out)
{
    uint64_t h = pfsd_catmemo_hash(key, keylen);
    const pfsd_catmemo_entry_t *e = &m->slot[h & (PFSD_CATMEMO_SLOTS - 1)];
    const pfsd_commit_t *c = &e->commit;

    if (e->key == NULL || e->hash != h || e->version != version
        || e->keylen != keylen || memcmp(e->key, key, keylen) != 0)
    {
        return false;
    }
    /* copies: the slot may be reused by a later lookup of the same call */
    *out = *c;
    out->uuid = pfsd_catmemo_dup(a, c->uuid);
    out->branch = pfsd_catmemo_dup(a, c->branch);
    out->description = pfsd_catmemo_dup(a, c->description);
    out->error = pfsd_catmemo_dup(a, c->error);
    out->repo.project = pfsd_catmemo_dup(a, c->repo.project);
    out->repo.name = pfsd_catmemo_dup(a, c->repo.name);
    out->repo.type = pfsd_catmemo_dup(a, c->repo.type);
    out->repo.description = pfsd_catmemo_dup(a, c->repo.description);
    return true;
}

/* Appends s (or nothing for NULL) at *p; returns where it went. */
static const char *
pfsd_catmemo_stash(char **p, const char *s)
{
    char *at = *p;
    size_t n;

    if (s == NULL) {
        return NULL;
    }
    n = strlen(s) + 1;
    memcpy(at, s, n);
    *p += n;
    return at;
}

static size_t
pfsd_catmemo_len(const char *s)
{
    return s != NULL ? strlen(s) + 1 : 0;
}

void
pfsd_catmemo_put(pfsd_catmemo_t *m, const char *key, size_t keylen,
                 int64_t version, const pfsd_commit_t *c)
{
    uint64_t h = pfsd_catmemo_hash(key, keylen);
    pfsd_catmemo_entry_t *e = &m->slot[h & (PFSD_CATMEMO_SLOTS - 1)];
    size_t n;
    char *p;

    if (keylen > PFSD_CATMEMO_KEY_MAX) {
        return;
    }
    n = keylen + pfsd_catmemo_len(c->uuid) + pfsd_catmemo_len(c->branch)
        + pfsd_catmemo_len(c->description) + pfsd_catmemo_len(c->error)
        + pfsd_catmemo_len(c->repo.project) + pfsd_catmemo_len(c->repo.name)
        + pfsd_catmemo_len(c->repo.type)
        + pfsd_catmemo_len(c->repo.description);
    free(e->key);
    e->key = pfsd_xmalloc(n);
    memcpy(e->key, key, keylen);
    p = e->key + keylen;
    e->hash = h;
    e->version = version;
    e->keylen = keylen;
    e->commit = *c;
    e->commit.uuid = pfsd_catmemo_stash(&p, c->uuid);
    e->commit.branch = pfsd_catmemo_stash(&p, c->branch);
    e->commit.description = pfsd_catmemo_stash(&p, c->description);
    e->commit.error = pfsd_catmemo_stash(&p, c->error);
    e->commit.repo.project = pfsd_catmemo_stash(&p, c->repo.project);
    e->commit.repo.name = pfsd_catmemo_stash(&p, c->repo.name);
    e->commit.repo.type = pfsd_catmemo_stash(&p, c->repo.type);
    e->commit.repo.description = pfsd_catmemo_stash(&p, c->repo.description);
}
