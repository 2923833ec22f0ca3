/* A small hash map from byte-string keys to size_t values (open
 * addressing).  Keys are copied. */
#ifndef PFSD_MAP_H
#define PFSD_MAP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct pfsd_map_slot pfsd_map_slot_t;

typedef struct pfsd_map {
    pfsd_map_slot_t *slots;
    size_t cap, used, live;
} pfsd_map_t;

bool pfsd_map_get(const pfsd_map_t *m, const void *key, size_t len,
                  size_t *value);
void pfsd_map_put(pfsd_map_t *m, const void *key, size_t len, size_t value);
void pfsd_map_del(pfsd_map_t *m, const void *key, size_t len);
void pfsd_map_free(pfsd_map_t *m);

#endif
