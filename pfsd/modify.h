/* ModifyFile: a stream of operations that becomes one job for the
 * committer.
 *
 * While the stream arrives (on completion-queue threads) file bytes are
 * cut into chunks and written to the pack store (a chunk already stored is
 * pinned, not written again) and the operations are recorded with their
 * extents.  Nothing is visible until the client half-closes the stream:
 * then the whole list is submitted and applied in one savepoint, inside
 * one transaction with whatever else the committer batches.  A broken or
 * refused stream submits nothing. */
#ifndef PFSD_MODIFY_H
#define PFSD_MODIFY_H

#include <stdbool.h>

#include "committer.h"
#include "pfs.pb-c.h"
#include "server.h"
#include "status.h"

typedef struct pfsd_modify pfsd_modify_t;

/* done(ctx, st) is called on the committer thread once the job's fate is
 * known; the stream's resources are released before it. */
typedef void (*pfsd_modify_done_fn)(void *ctx, const pfsd_status_t *st);

pfsd_modify_t *pfsd_modify_new(pfsd_store_t *store, const pfsd_log_t *log);
/* Releases everything (pins, pack holds, memory). */
void pfsd_modify_free(pfsd_modify_t *m);

/* Takes one message; false with st filled when the stream must fail.
 * db is the calling thread's read connection. */
bool pfsd_modify_add(pfsd_modify_t *m, pfsd_db_t *db,
                     const PfsV2__ModifyFileRequest *req, pfsd_status_t *st);

/* The stream ended: submits the job.  False (st filled) when the stream
 * itself was unacceptable (no message at all). */
bool pfsd_modify_submit(pfsd_modify_t *m, pfsd_db_t *db,
                        pfsd_committer_t *committer,
                        pfsd_modify_done_fn done, void *ctx,
                        pfsd_status_t *st);

#endif
