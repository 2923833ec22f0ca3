#include "gc.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "hash.h"
#include "util.h"

#define PFSD_GC_DEFAULT_INTERVAL 60
/* Rows deleted per transaction: short enough that writes queued behind a
 * collector job wait a few milliseconds at most. */
#define PFSD_GC_BATCH            512
/* Chunks (of at most 1 MiB) copied, then adopted in one transaction,
 * while compacting a pack. */
#define PFSD_GC_PAGE             32

struct pfsd_gc {
    pfsd_db_t *db;                  /* the collector's read connection */
    pfsd_store_t *store;
    pfsd_committer_t *committer;
    const pfsd_log_t *log;
    int interval_s;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;              /* stopping, or a job done */
    bool stopping;                  /* under mu */

    /* The current pass's figures, for its log line. */
    int64_t contents, chunks, packs_removed, packs_compacted;
    int64_t bytes_freed, bytes_moved;
};

/* A chunk copied out of a pack being compacted, to be adopted. */
typedef struct pfsd_gc_move {
    int64_t chunk;
    uint32_t from_pack;
    int64_t from_off;
    pfsd_chunk_loc_t to;
} pfsd_gc_move_t;

typedef struct pfsd_gc_job pfsd_gc_job_t;
typedef bool (*pfsd_gc_step_fn)(pfsd_gc_job_t *j, pfsd_db_t *db,
                                pfsd_status_t *st);

/* One metadata step of the collector, run as a solo committer job. */
struct pfsd_gc_job {
    pfsd_job_t job;                 /* first: the committer's handle */
    pfsd_gc_t *gc;
    pfsd_gc_step_fn step;
    int64_t after;                  /* chunk sweep: resume after this id */
    int64_t rows;                   /* rows the step looked at */
    int64_t deleted;                /* rows it deleted */
    bool pins_locked;
    pfsd_gc_move_t *moves;
    size_t nmoves;
    uint32_t *packs;                /* distinct destination packs */
    bool finished;                  /* under gc->mu */
    pfsd_status_t st;
};

static bool
pfsd_gc_stopping(pfsd_gc_t *gc)
{
    bool v;

    pthread_mutex_lock(&gc->mu);
    v = gc->stopping;
    pthread_mutex_unlock(&gc->mu);
    return v;
}

/* ------------------------------------------------------------ jobs */

static bool
pfsd_gc_apply(pfsd_job_t *job, pfsd_db_t *db, pfsd_status_t *st)
{
    pfsd_gc_job_t *j = (pfsd_gc_job_t *) job;

    return j->step(j, db, st);
}

/* After the transaction: the pins lock was held through the commit, so no
 * writer could find a chunk this job deleted and not yet committed. */
static void
pfsd_gc_done(pfsd_job_t *job, const pfsd_status_t *st)
{
    pfsd_gc_job_t *j = (pfsd_gc_job_t *) job;
    pfsd_gc_t *gc = j->gc;
    size_t i;

    if (j->pins_locked) {
        j->pins_locked = false;
        pfsd_store_pins_unlock(gc->store);
    }
    /* Adopted or not, the copies need no protection any more. */
    for (i = 0; i < j->nmoves; i++) {
        pfsd_store_release(gc->store, j->moves[i].to.pack);
    }
    pthread_mutex_lock(&gc->mu);
    j->st = *st;
    j->finished = true;
    pthread_cond_broadcast(&gc->cv);
    pthread_mutex_unlock(&gc->mu);
}

/* Runs one step in a transaction of its own and waits for its outcome. */
static bool
pfsd_gc_run(pfsd_gc_t *gc, pfsd_gc_job_t *j)
{
    j->gc = gc;
    j->job.apply = pfsd_gc_apply;
    j->job.done = pfsd_gc_done;
    j->job.solo = true;
    j->finished = false;
    j->rows = j->deleted = 0;
    pfsd_committer_submit(gc->committer, &j->job);
    pthread_mutex_lock(&gc->mu);
    while (!j->finished) {
        pthread_cond_wait(&gc->cv, &gc->mu);
    }
    pthread_mutex_unlock(&gc->mu);
    if (!pfsd_is_ok(&j->st)) {
        pfsd_log_error(gc->log, "gc: %s", j->st.msg);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ sweeps */

/* Runs each statement of sql (static text: the statement cache keys on
 * its address) once per id, bound as ?1. */
static bool
pfsd_gc_delete_ids(pfsd_db_t *db, const char *const *sql, size_t nsql,
                   const int64_t *ids, size_t n, pfsd_status_t *st)
{
    sqlite3_stmt *s;
    size_t i, k;

    for (i = 0; i < n; i++) {
        for (k = 0; k < nsql; k++) {
            s = pfsd_db_stmt(db, sql[k]);
            pfsd_bind_int(s, 1, ids[i]);
            if (!pfsd_db_run(db, s, st)) {
                return false;
            }
        }
    }
    return true;
}

/* Contents no file version refers to, with their extents (which lowers
 * the refs of their chunks).  Every reference to a content is a files
 * row written inside a committer job, so between jobs a content with no
 * reference can never gain one. */
static bool
pfsd_gc_sweep_contents(pfsd_gc_job_t *j, pfsd_db_t *db, pfsd_status_t *st)
{
    static const char *const sql[] = {
        "DELETE FROM extents WHERE content=?1",
        "DELETE FROM contents WHERE id=?1 AND refs = 0",
    };
    int64_t ids[PFSD_GC_BATCH];
    sqlite3_stmt *s;
    size_t n = 0;
    int rc = 0;

    s = pfsd_db_stmt(db, "SELECT id FROM contents WHERE refs = 0 LIMIT ?");
    pfsd_bind_int(s, 1, PFSD_GC_BATCH);
    while ((rc = pfsd_db_row(db, s, st)) == 1) {
        ids[n++] = sqlite3_column_int64(s, 0);
    }
    if (rc < 0) {
        return false;
    }
    if (!pfsd_gc_delete_ids(db, sql, PFSD_ARRAY_LEN(sql), ids, n, st)) {
        return false;
    }
    j->rows = j->deleted = (int64_t) n;
    return true;
}

/* Chunks no extent refers to.  A ModifyFile that found a chunk stored and
 * skipped writing it has pinned it before looking; holding the pins lock
 * from the check until the deletion is committed means a writer either
 * pinned first (the chunk stays) or looks after the commit (and writes
 * the chunk again). */
static bool
pfsd_gc_sweep_chunks(pfsd_gc_job_t *j, pfsd_db_t *db, pfsd_status_t *st)
{
    static const char *const sql[] = {
        "DELETE FROM chunks WHERE id=?1 AND refs = 0",
    };
    int64_t ids[PFSD_GC_BATCH];
    sqlite3_stmt *s;
    size_t n = 0;
    int rc;

    pfsd_store_pins_lock(j->gc->store);
    j->pins_locked = true;
    s = pfsd_db_stmt(db, "SELECT id, sha256 FROM chunks"
                         " WHERE refs = 0 AND id > ? ORDER BY id LIMIT ?");
    pfsd_bind_int(s, 1, j->after);
    pfsd_bind_int(s, 2, PFSD_GC_BATCH);
    while ((rc = pfsd_db_row(db, s, st)) == 1) {
        j->after = sqlite3_column_int64(s, 0);
        j->rows++;
        if (sqlite3_column_bytes(s, 1) == PFSD_SHA256_LEN
            && pfsd_store_pinned_locked(j->gc->store,
                                        sqlite3_column_blob(s, 1)))
        {
            continue;
        }
        ids[n++] = j->after;
    }
    if (rc < 0) {
        return false;
    }
    if (!pfsd_gc_delete_ids(db, sql, PFSD_ARRAY_LEN(sql), ids, n, st)) {
        return false;
    }
    j->deleted = (int64_t) n;
    return true;
}

static bool
pfsd_gc_sweep(pfsd_gc_t *gc, pfsd_gc_step_fn step, int64_t *count)
{
    pfsd_gc_job_t j;

    memset(&j, 0, sizeof(j));
    j.step = step;
    do {
        if (pfsd_gc_stopping(gc) || !pfsd_gc_run(gc, &j)) {
            return false;
        }
        *count += j.deleted;
    } while (j.rows == PFSD_GC_BATCH);
    return true;
}

/* ------------------------------------------------------------ packs */

/* Live chunks of a pack and their bytes (records included), read after
 * the pack was found sealed and unheld, so no write can add to it. */
static bool
pfsd_gc_pack_live(pfsd_gc_t *gc, uint32_t pack, int64_t *n, int64_t *bytes)
{
    sqlite3_stmt *s;
    pfsd_status_t st;
    int rc;

    s = pfsd_db_stmt(gc->db, "SELECT count(*), coalesce(sum(len), 0)"
                             " FROM chunks WHERE pack=?");
    pfsd_bind_int(s, 1, pack);
    rc = pfsd_db_row(gc->db, s, &st);
    if (rc != 1) {
        if (rc < 0) {
            pfsd_log_error(gc->log, "gc: %s", st.msg);
        }
        return false;
    }
    *n = sqlite3_column_int64(s, 0);
    *bytes = sqlite3_column_int64(s, 1) + *n * PFSD_RECORD_HEADER;
    sqlite3_reset(s);
    return true;
}

/* Points the moved chunks at their copies.  A chunk no longer where it
 * was copied from (impossible today: only the collector moves or deletes
 * chunks) keeps its row, and its copy is garbage. */
static bool
pfsd_gc_adopt(pfsd_gc_job_t *j, pfsd_db_t *db, pfsd_status_t *st)
{
    sqlite3_stmt *s;
    size_t i;

    for (i = 0; i < j->nmoves; i++) {
        const pfsd_gc_move_t *mv = &j->moves[i];

        s = pfsd_db_stmt(db, "UPDATE chunks SET pack=?1, off=?2"
                             " WHERE id=?3 AND pack=?4 AND off=?5");
        pfsd_bind_int(s, 1, mv->to.pack);
        pfsd_bind_int(s, 2, (int64_t) mv->to.off);
        pfsd_bind_int(s, 3, mv->chunk);
        pfsd_bind_int(s, 4, mv->from_pack);
        pfsd_bind_int(s, 5, mv->from_off);
        if (!pfsd_db_run(db, s, st)) {
            return false;
        }
    }
    j->rows = j->deleted = (int64_t) j->nmoves;
    return true;
}

/* Hands the copies made so far to the committer, which syncs the packs
 * they are in before committing their new places. */
static bool
pfsd_gc_flush_moves(pfsd_gc_t *gc, pfsd_gc_job_t *j)
{
    size_t i, k, np = 0;
    bool ok;

    if (j->nmoves == 0) {
        return true;
    }
    for (i = 0; i < j->nmoves; i++) {
        for (k = 0; k < np && j->packs[k] != j->moves[i].to.pack; k++) {
        }
        if (k == np) {
            j->packs[np++] = j->moves[i].to.pack;
        }
    }
    j->job.packs = j->packs;
    j->job.npacks = np;
    j->step = pfsd_gc_adopt;
    ok = pfsd_gc_run(gc, j);
    j->nmoves = 0;
    return ok;
}

/* Copies one chunk record to the active pack, checking its bytes on the
 * way: a chunk that does not match its hash is left alone (and so is its
 * pack), never spread. */
static bool
pfsd_gc_copy(pfsd_gc_t *gc, sqlite3_stmt *s, uint32_t pack, uint8_t *buf,
             pfsd_gc_job_t *j)
{
    uint8_t sha[PFSD_SHA256_LEN], want[PFSD_SHA256_LEN];
    pfsd_gc_move_t *mv = &j->moves[j->nmoves];
    pfsd_status_t st;
    uint32_t len;

    mv->chunk = sqlite3_column_int64(s, 0);
    mv->from_pack = pack;
    mv->from_off = sqlite3_column_int64(s, 2);
    len = (uint32_t) sqlite3_column_int64(s, 3);
    if (sqlite3_column_bytes(s, 1) != PFSD_SHA256_LEN || len > PFSD_CHUNK_MAX) {
        pfsd_log_error(gc->log, "gc: chunk %lld has a bad row",
                       (long long) mv->chunk);
        return false;
    }
    memcpy(want, sqlite3_column_blob(s, 1), sizeof(want));
    if (!pfsd_store_read(gc->store, pack, (uint64_t) mv->from_off, 0, buf, len,
                         &st))
    {
        pfsd_log_error(gc->log, "gc: %s", st.msg);
        return false;
    }
    pfsd_sha256(buf, len, sha);
    if (memcmp(sha, want, sizeof(sha)) != 0) {
        pfsd_log_error(gc->log, "gc: pack %08u: chunk %lld at %lld does not "
                       "match its hash; pack left as it is", pack,
                       (long long) mv->chunk, (long long) mv->from_off);
        return false;
    }
    if (!pfsd_store_write(gc->store, sha, buf, len, &mv->to, &st)) {
        pfsd_log_error(gc->log, "gc: %s", st.msg);
        return false;
    }
    j->nmoves++;
    gc->bytes_moved += len;
    return true;
}

/* Moves every live chunk of pack to the active pack, a page at a time;
 * each page's copies are adopted in one transaction.  True when all of
 * them were moved. */
static bool
pfsd_gc_move_pack(pfsd_gc_t *gc, uint32_t pack)
{
    pfsd_gc_job_t j;
    sqlite3_stmt *s;
    pfsd_status_t st;
    uint8_t *buf = pfsd_xmalloc(PFSD_CHUNK_MAX);
    int64_t after = -1;
    int rc = 0, n = PFSD_GC_PAGE;
    bool ok = true;

    memset(&j, 0, sizeof(j));
    j.moves = pfsd_xcalloc(PFSD_GC_PAGE, sizeof(*j.moves));
    j.packs = pfsd_xcalloc(PFSD_GC_PAGE, sizeof(*j.packs));
    while (ok && n == PFSD_GC_PAGE && !pfsd_gc_stopping(gc)) {
        /* One short read per page: checkpoints are never held up for
         * the length of a compaction. */
        s = pfsd_db_stmt(gc->db, "SELECT id, sha256, off, len FROM chunks"
                                 " WHERE pack=? AND off>? ORDER BY off LIMIT ?");
        pfsd_bind_int(s, 1, pack);
        pfsd_bind_int(s, 2, after);
        pfsd_bind_int(s, 3, PFSD_GC_PAGE);
        for (n = 0; ok && (rc = pfsd_db_row(gc->db, s, &st)) == 1; n++) {
            after = sqlite3_column_int64(s, 2);
            ok = pfsd_gc_copy(gc, s, pack, buf, &j);
        }
        sqlite3_reset(s);
        if (rc < 0) {
            pfsd_log_error(gc->log, "gc: %s", st.msg);
            ok = false;
        }
        /* What was copied is adopted even after a failure: it is whole. */
        ok = pfsd_gc_flush_moves(gc, &j) && ok;
    }
    free(j.moves);
    free(j.packs);
    free(buf);
    return ok && n < PFSD_GC_PAGE;
}

/* Whether a pack is worth rewriting: at least half of it is garbage. */
static bool
pfsd_gc_worth_compacting(int64_t size, int64_t live)
{
    int64_t body = size - PFSD_PACK_HEADER;

    return body > 0 && (body - live) * 2 >= body;
}

/* The active pack is ended when it is idle and mostly garbage (failed
 * uploads), instead of waiting for writes to fill it up. */
static void
pfsd_gc_seal_active(pfsd_gc_t *gc)
{
    uint32_t pack;
    int64_t size, nlive, live;
    bool busy;

    /* Idle first, then the metadata (as for sealed packs); the seal is
     * refused if anything was written in between. */
    if (pfsd_store_active(gc->store, &pack, &size, &busy) && !busy
        && pfsd_gc_pack_live(gc, pack, &nlive, &live)
        && size - PFSD_PACK_HEADER - live >= PFSD_CHUNK_MAX
        && pfsd_gc_worth_compacting(size, live))
    {
        pfsd_store_seal(gc->store, pack, size);
    }
}

/* The live bytes the triggers keep per pack (packs.live): a look of one
 * row, so that only the packs worth compacting pay for counting their
 * chunks, whatever the size of the store. */
static int64_t
pfsd_gc_pack_live_hint(pfsd_gc_t *gc, uint32_t pack)
{
    sqlite3_stmt *s = pfsd_db_stmt(gc->db, "SELECT live FROM packs WHERE id=?");
    pfsd_status_t st;
    int64_t live = 0;

    pfsd_bind_int(s, 1, pack);
    if (pfsd_db_row(gc->db, s, &st) == 1) {
        live = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
    }
    return live;
}

static void
pfsd_gc_packs(pfsd_gc_t *gc)
{
    uint32_t *ids;
    size_t n, i;
    int64_t size, nlive, live;

    pfsd_gc_seal_active(gc);
    n = pfsd_store_list(gc->store, &ids);
    for (i = 0; i < n && !pfsd_gc_stopping(gc); i++) {
        /* Sealed and unheld first, then the metadata: a writer's hold is
         * released only after its chunks are committed, so what is read
         * now is final for this pack. */
        if (!pfsd_store_compactable(gc->store, ids[i], &size)) {
            continue;
        }
        live = pfsd_gc_pack_live_hint(gc, ids[i]);
        if ((live > 0 && !pfsd_gc_worth_compacting(size, live))
            || !pfsd_gc_pack_live(gc, ids[i], &nlive, &live))
        {
            continue;
        }
        if (nlive > 0) {
            if (!pfsd_gc_worth_compacting(size, live)
                || !pfsd_gc_move_pack(gc, ids[i])
                || !pfsd_gc_pack_live(gc, ids[i], &nlive, &live)
                || nlive > 0)
            {
                continue;
            }
            gc->packs_compacted++;
        } else {
            gc->packs_removed++;
        }
        pfsd_store_retire(gc->store, ids[i]);
        gc->bytes_freed += size;
    }
    free(ids);
}

/* ------------------------------------------------------------ passes */

static void
pfsd_gc_pass(pfsd_gc_t *gc)
{
    int64_t t0 = pfsd_mono_ns();

    gc->contents = gc->chunks = 0;
    gc->packs_removed = gc->packs_compacted = 0;
    gc->bytes_freed = gc->bytes_moved = 0;
    if (!pfsd_gc_sweep(gc, pfsd_gc_sweep_contents, &gc->contents)
        || !pfsd_gc_sweep(gc, pfsd_gc_sweep_chunks, &gc->chunks))
    {
        return;
    }
    pfsd_gc_packs(gc);
    if (gc->contents + gc->chunks + gc->packs_removed + gc->packs_compacted
        == 0)
    {
        return;
    }
    pfsd_log_info(gc->log, "gc: deleted %lld contents and %lld chunks, "
                  "removed %lld packs, compacted %lld (%lld bytes moved); "
                  "%lld bytes reclaimed in %.3f s",
                  (long long) gc->contents, (long long) gc->chunks,
                  (long long) gc->packs_removed,
                  (long long) gc->packs_compacted,
                  (long long) gc->bytes_moved,
                  (long long) (gc->bytes_freed - gc->bytes_moved),
                  (double) (pfsd_mono_ns() - t0) / 1e9);
}

static void *
pfsd_gc_main(void *arg)
{
    pfsd_gc_t *gc = arg;
    struct timespec ts;

    for (;;) {
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += gc->interval_s;
        pthread_mutex_lock(&gc->mu);
        while (!gc->stopping
               && pthread_cond_timedwait(&gc->cv, &gc->mu, &ts) != ETIMEDOUT)
        {
        }
        if (gc->stopping) {
            pthread_mutex_unlock(&gc->mu);
            break;
        }
        pthread_mutex_unlock(&gc->mu);
        pfsd_gc_pass(gc);
    }
    return NULL;
}

pfsd_gc_t *
pfsd_gc_start(const char *db_path, pfsd_store_t *store,
              pfsd_committer_t *committer, const pfsd_log_t *log,
              int interval_s)
{
    pfsd_gc_t *gc = pfsd_xcalloc(1, sizeof(*gc));
    char err[512];

    gc->store = store;
    gc->committer = committer;
    gc->log = log;
    gc->interval_s = interval_s == 0 ? PFSD_GC_DEFAULT_INTERVAL : interval_s;
    pthread_mutex_init(&gc->mu, NULL);
    pthread_cond_init(&gc->cv, NULL);
    if (interval_s < 0) {
        return gc;
    }
    if (pfsd_db_open(&gc->db, db_path, false, err, sizeof(err)) != 0) {
        pfsd_log_error(log, "gc: %s; garbage collection is off", err);
        return gc;
    }
    if (pthread_create(&gc->thread, NULL, pfsd_gc_main, gc) != 0) {
        pfsd_log_error(log, "gc: cannot start its thread; garbage "
                       "collection is off");
        return gc;
    }
    gc->started = true;
    return gc;
}

void
pfsd_gc_stop(pfsd_gc_t *gc)
{
    if (gc == NULL) {
        return;
    }
    pthread_mutex_lock(&gc->mu);
    gc->stopping = true;
    pthread_cond_broadcast(&gc->cv);
    pthread_mutex_unlock(&gc->mu);
    if (gc->started) {
        pthread_join(gc->thread, NULL);
    }
    pfsd_db_close(gc->db);
    pthread_mutex_destroy(&gc->mu);
    pthread_cond_destroy(&gc->cv);
    free(gc);
}
