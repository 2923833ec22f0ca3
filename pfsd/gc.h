/* Garbage collection: deleting unreferenced contents and chunks, and
 * compacting packs whose live share has fallen low. */
#ifndef PFSD_GC_H
#define PFSD_GC_H

#include "committer.h"
#include "log.h"
#include "store.h"

typedef struct pfsd_gc pfsd_gc_t;

/* interval_s: seconds between passes (0: default, <0: never). */
pfsd_gc_t *pfsd_gc_start(const char *db_path, pfsd_store_t *store,
                         pfsd_committer_t *committer, const pfsd_log_t *log,
                         int interval_s);
void pfsd_gc_stop(pfsd_gc_t *gc);

#endif
