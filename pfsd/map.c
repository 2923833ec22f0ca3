#include "map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct pfsd_map_slot {
    void *key;              /* NULL: empty; the map itself: deleted */
    size_t len;
    size_t value;
    uint64_t hash;
};

static uint64_t
pfsd_map_hash(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = 1469598103934665603ULL;    /* FNV-1a */
    size_t i;

    for (i = 0; i < len; i++) {
        h = (h ^ p[i]) * 1099511628211ULL;
    }
    return h;
}

static pfsd_map_slot_t *
pfsd_map_find(const pfsd_map_t *m, const void *key, size_t len, uint64_t h)
{
    size_t i, mask = m->cap - 1;

    if (m->cap == 0) {
        return NULL;
    }
    for (i = h & mask;; i = (i + 1) & mask) {
        pfsd_map_slot_t *s = &m->slots[i];

        if (s->key == NULL) {
            return NULL;
        }
        if (s->key != (void *) m && s->hash == h && s->len == len
            && memcmp(s->key, key, len) == 0)
        {
            return s;
        }
    }
}

bool
pfsd_map_get(const pfsd_map_t *m, const void *key, size_t len, size_t *value)
{
    pfsd_map_slot_t *s = pfsd_map_find(m, key, len, pfsd_map_hash(key, len));

    if (s == NULL) {
        return false;
    }
    *value = s->value;
    return true;
}

static void
pfsd_map_grow(pfsd_map_t *m)
{
    pfsd_map_slot_t *old = m->slots;
    size_t oldcap = m->cap, i, j, mask;

    m->cap = m->cap ? m->cap * 2 : 16;
    m->slots = pfsd_xcalloc(m->cap, sizeof(*m->slots));
    m->used = m->live;
    mask = m->cap - 1;
    for (i = 0; i < oldcap; i++) {
        if (old[i].key == NULL || old[i].key == (void *) m) {
            continue;
        }
        for (j = old[i].hash & mask; m->slots[j].key != NULL;
             j = (j + 1) & mask)
        {
        }
        m->slots[j] = old[i];
    }
    free(old);
}

void
pfsd_map_put(pfsd_map_t *m, const void *key, size_t len, size_t value)
{
    uint64_t h = pfsd_map_hash(key, len);
    pfsd_map_slot_t *s = pfsd_map_find(m, key, len, h);
    size_t i, mask;

    if (s != NULL) {
        s->value = value;
        return;
    }
    if ((m->used + 1) * 4 >= m->cap * 3) {
        pfsd_map_grow(m);
    }
    mask = m->cap - 1;
    for (i = h & mask; m->slots[i].key != NULL; i = (i + 1) & mask) {
    }
    s = &m->slots[i];
    s->key = pfsd_xmalloc(len ? len : 1);
    memcpy(s->key, key, len);
    s->len = len;
    s->hash = h;
    s->value = value;
    m->used++;
    m->live++;
}

void
pfsd_map_del(pfsd_map_t *m, const void *key, size_t len)
{
    pfsd_map_slot_t *s = pfsd_map_find(m, key, len, pfsd_map_hash(key, len));

    if (s != NULL) {
        free(s->key);
        s->key = (void *) m;    /* a tombstone keeps probe chains intact */
        m->live--;
    }
}

void
pfsd_map_free(pfsd_map_t *m)
{
    size_t i;

    for (i = 0; i < m->cap; i++) {
        if (m->slots[i].key != NULL && m->slots[i].key != (void *) m) {
            free(m->slots[i].key);
        }
    }
    free(m->slots);
    memset(m, 0, sizeof(*m));
}
