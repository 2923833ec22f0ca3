/* The committer: the one thread that writes metadata.
 *
 * Jobs are queued by any thread.  The committer takes every job queued,
 * makes the pack bytes they wrote durable, applies each job inside a
 * savepoint of one SQLite transaction (a failing job rolls back alone),
 * commits once for the batch (group commit) and only then tells each job
 * how it went.  So a reply of OK always means "on disk". */
#ifndef PFSD_COMMITTER_H
#define PFSD_COMMITTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "log.h"
#include "status.h"

typedef struct pfsd_committer pfsd_committer_t;
typedef struct pfsd_store pfsd_store_t;
typedef struct pfsd_job pfsd_job_t;

/* Runs on the committer thread inside a savepoint; false with st filled
 * rolls the job back. */
typedef bool (*pfsd_job_apply_fn)(pfsd_job_t *job, pfsd_db_t *db,
                                  pfsd_status_t *st);
/* Runs on the committer thread once the transaction's fate is known; the
 * job belongs to this callback from then on. */
typedef void (*pfsd_job_done_fn)(pfsd_job_t *job, const pfsd_status_t *st);

struct pfsd_job {
    pfsd_job_t *next;
    pfsd_job_apply_fn apply;
    pfsd_job_done_fn done;
    /* Packs holding chunks this job references that may not be durable
     * yet; the committer syncs them before committing. */
    const uint32_t *packs;
    size_t npacks;
    /* Run in a transaction of its own (the garbage collector). */
    bool solo;
};

/* Something waiting for a state the committer will create (a commit
 * finishing).  check() runs on the committer thread after every committed
 * batch, inside a read transaction; it returns true when it is done (the
 * waiter is then forgotten).  cancel() ends it at shutdown. */
typedef struct pfsd_waiter pfsd_waiter_t;
struct pfsd_waiter {
    pfsd_waiter_t *next;
    bool (*check)(pfsd_waiter_t *w, pfsd_db_t *db);
    void (*cancel)(pfsd_waiter_t *w);
};

/* Only on the committer thread (from a job's apply or done). */
void pfsd_committer_add_waiter(pfsd_committer_t *c, pfsd_waiter_t *w);
/* Cancels every waiter (shutdown). */
void pfsd_committer_cancel_waiters(pfsd_committer_t *c);

/* Takes ownership of db (the writer connection). */
pfsd_committer_t *pfsd_committer_start(pfsd_db_t *db, pfsd_store_t *store,
                                       const pfsd_log_t *log);
void pfsd_committer_submit(pfsd_committer_t *c, pfsd_job_t *job);
/* Applies what is queued, then stops the thread and closes the db. */
void pfsd_committer_stop(pfsd_committer_t *c);

#endif
