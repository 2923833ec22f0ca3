/* Garbage collection: deleting unreferenced contents and chunks, and
 * compacting packs whose live share has fallen low.
 *
 * A background thread runs a pass every interval.  A pass
 *  1. deletes contents no file version refers to (with their extents),
 *  2. deletes chunks no extent refers to, unless a running ModifyFile has
 *     pinned the chunk because it is about to reference it (dedup),
 *  3. removes pack files none of whose records is a chunk any more, and
 *     rewrites packs that are mostly garbage: their live chunks are copied
 *     to the active pack, the chunks table is pointed at the copies, and
 *     only then is the old pack unlinked.
 * Every metadata change is a solo job of the committer (its own short
 * transaction), so the collector never races a writer; pack files are
 * touched only when sealed and held by no unfinished write.  A kill -9 at
 * any step leaves either the old state or the new one; what a crash
 * leaves behind (unreferenced records, copies not yet adopted, whole
 * packs) is garbage the next pass reclaims. */
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
/* Stops the thread (a running pass ends at its next step); the committer
 * must still be running. */
void pfsd_gc_stop(pfsd_gc_t *gc);

#endif
