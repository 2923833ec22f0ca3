/* StartCommit, FinishCommit, InspectCommit, ListCommit. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "names.h"
#include "rpc.h"

/* "<repo>@<id>", pachd's Commit.String(). */
static const char *
pfsd_commit_str(pfsd_arena_t *a, const pfsd_commit_t *c)
{
    return pfsd_arena_printf(a, "%s@%s", pfsd_repo_str(a, &c->repo), c->uuid);
}

static bool
pfsd_start_commit_apply(pfsd_write_t *wr, pfsd_db_t *db, pfsd_status_t *st)
{
    const PfsV2__StartCommitRequest *req = (const void *) wr->req;
    pfsd_arena_t *a = &wr->arena;
    pfsd_commit_t parent, commit;
    bool has_parent = false;
    pfsd_repo_t repo;
    int64_t head;
    int rc;

    if (req->branch == NULL || req->branch->repo == NULL) {
        return pfsd_fail(st, GRPC_STATUS_UNKNOWN, "branch must be specified");
    }
    if (req->branch->name[0] == '\0') {
        return pfsd_fail(st, GRPC_STATUS_UNKNOWN, "branch must be specified");
    }
    if (!pfsd_cat_repo(db, a, req->branch->repo, &repo, st)) {
        pfsd_status_t inner = *st;

        return pfsd_fail(st, inner.code, "start commit in transaction: %s",
                         inner.msg);
    }
    if (!pfsd_branch_name_check(req->branch->name, st)) {
        return false;
    }
    if (req->parent != NULL) {
        if (!pfsd_cat_resolve(db, a, req->parent, &parent, st)) {
            return false;
        }
        has_parent = true;
    } else {
        rc = pfsd_cat_branch(db, repo.id, req->branch->name, NULL, &head, st);
        if (rc < 0) {
            return false;
        }
        if (rc > 0) {
            if (!pfsd_cat_commit(db, a, head, &repo, &parent, st)) {
                return false;
            }
            has_parent = true;
        }
    }
    if (has_parent && parent.finished == 0) {
        return pfsd_fail(st, GRPC_STATUS_UNKNOWN,
                         "start commit in transaction: create commit: "
                         "parent commit %s has not been finished",
                         pfsd_commit_str(a, &parent));
    }
    if (!pfsd_cat_new_commit(db, a, &repo, req->branch->name,
                             has_parent ? &parent : NULL, req->description, 0,
                             &commit, st)
        || !pfsd_cat_set_head(db, &repo, req->branch->name, commit.id, st))
    {
        return false;
    }
    wr->resp = &pfsd_pb_commit(a, &commit)->base;
    return true;
}

void
pfsd_rpc_start_commit(pfsd_call_t *c, pfsd_worker_t *w,
                      const ProtobufCMessage *m)
{
    (void) m;
    pfsd_rpc_write(c, w, pfsd_start_commit_apply);
}

static bool
pfsd_finish_commit_apply(pfsd_write_t *wr, pfsd_db_t *db, pfsd_status_t *st)
{
    const PfsV2__FinishCommitRequest *req = (const void *) wr->req;
    pfsd_commit_t commit;

    if (!pfsd_cat_resolve(db, &wr->arena, req->commit, &commit, st)) {
        return false;
    }
    if (commit.finished != 0) {
        return pfsd_fail(st, GRPC_STATUS_UNKNOWN,
                         "commit %s has already finished",
                         pfsd_commit_str(&wr->arena, &commit));
    }
    return pfsd_cat_finish_commit(db, &commit, req->description, req->error,
                                  st);
}

void
pfsd_rpc_finish_commit(pfsd_call_t *c, pfsd_worker_t *w,
                       const ProtobufCMessage *m)
{
    (void) m;
    pfsd_rpc_write(c, w, pfsd_finish_commit_apply);
}

static bool
pfsd_inspect_commit_read(pfsd_db_t *db, pfsd_arena_t *a,
                         const ProtobufCMessage *m, ProtobufCMessage **resp,
                         pfsd_status_t *st)
{
    const PfsV2__InspectCommitRequest *req = (const void *) m;
    PfsV2__CommitInfo *ci;
    pfsd_commit_t commit;

    if (!pfsd_cat_resolve(db, a, req->commit, &commit, st)
        || !pfsd_pb_commit_info(db, a, &commit, &ci, st))
    {
        return false;
    }
    *resp = &ci->base;
    return true;
}

/* InspectCommit with wait = FINISHING or FINISHED on an open commit
 * blocks until the commit finishes.  The check and the registration of
 * the waiter happen on the committer thread, so no finish can slip in
 * between them. */
typedef struct pfsd_commit_wait {
    pfsd_job_t job;
    pfsd_waiter_t waiter;
    pfsd_committer_t *committer;
    pfsd_call_t *call;
    int64_t commit_id;
    char *name;                     /* "<repo>@<id>" for messages */
    pfsd_arena_t arena;
    PfsV2__CommitInfo *info;        /* set once finished */
} pfsd_commit_wait_t;

static void
pfsd_commit_wait_free(pfsd_commit_wait_t *cw)
{
    pfsd_arena_free(&cw->arena);
    free(cw->name);
    free(cw);
}

/* 1: finished (info built), 0: still open, -1: error (st). */
static int
pfsd_commit_wait_look(pfsd_commit_wait_t *cw, pfsd_db_t *db, pfsd_status_t *st)
{
    pfsd_commit_t commit;

    if (!pfsd_cat_commit(db, &cw->arena, cw->commit_id, NULL, &commit, st)) {
        if (st->code == GRPC_STATUS_NOT_FOUND) {
            pfsd_fail(st, GRPC_STATUS_NOT_FOUND, "commit %s was deleted",
                      cw->name);
        }
        return -1;
    }
    if (commit.finishing == 0) {
        return 0;
    }
    return pfsd_pb_commit_info(db, &cw->arena, &commit, &cw->info, st) ? 1
                                                                        : -1;
}

static bool
pfsd_commit_wait_check(pfsd_waiter_t *w, pfsd_db_t *db)
{
    pfsd_commit_wait_t *cw = (void *) ((char *) w
                                       - offsetof(pfsd_commit_wait_t, waiter));
    pfsd_status_t st;
    int rc = pfsd_commit_wait_look(cw, db, &st);

    if (rc == 0) {
        return false;
    }
    if (rc > 0) {
        pfsd_call_reply(cw->call, &cw->info->base);
    } else {
        pfsd_call_finish(cw->call, &st);
    }
    pfsd_commit_wait_free(cw);
    return true;
}

static void
pfsd_commit_wait_cancel(pfsd_waiter_t *w)
{
    pfsd_commit_wait_t *cw = (void *) ((char *) w
                                       - offsetof(pfsd_commit_wait_t, waiter));

    pfsd_call_fail(cw->call, GRPC_STATUS_UNAVAILABLE, "pfsd is shutting down");
    pfsd_commit_wait_free(cw);
}

static bool
pfsd_commit_wait_apply(pfsd_job_t *job, pfsd_db_t *db, pfsd_status_t *st)
{
    pfsd_commit_wait_t *cw = (pfsd_commit_wait_t *) job;

    return pfsd_commit_wait_look(cw, db, st) >= 0;
}

static void
pfsd_commit_wait_done(pfsd_job_t *job, const pfsd_status_t *st)
{
    pfsd_commit_wait_t *cw = (pfsd_commit_wait_t *) job;

    if (!pfsd_is_ok(st)) {
        pfsd_call_finish(cw->call, st);
    } else if (cw->info != NULL) {
        pfsd_call_reply(cw->call, &cw->info->base);
    } else {
        cw->waiter.check = pfsd_commit_wait_check;
        cw->waiter.cancel = pfsd_commit_wait_cancel;
        pfsd_committer_add_waiter(cw->committer, &cw->waiter);
        return;
    }
    pfsd_commit_wait_free(cw);
}

void
pfsd_rpc_inspect_commit(pfsd_call_t *c, pfsd_worker_t *w,
                        const ProtobufCMessage *m)
{
    const PfsV2__InspectCommitRequest *req = (const void *) m;
    pfsd_commit_wait_t *cw;
    pfsd_commit_t commit;
    pfsd_status_t st;
    bool ok;

    if (req->wait != PFS_V2__COMMIT_STATE__FINISHING
        && req->wait != PFS_V2__COMMIT_STATE__FINISHED)
    {
        pfsd_rpc_read(c, w, pfsd_inspect_commit_read);
        return;
    }
    cw = pfsd_xcalloc(1, sizeof(*cw));
    ok = pfsd_db_begin(w->db, &st)
         && pfsd_cat_resolve(w->db, &cw->arena, req->commit, &commit, &st)
         && pfsd_db_commit(w->db, &st);
    if (!ok) {
        pfsd_db_rollback(w->db);
        pfsd_call_finish(c, &st);
        pfsd_commit_wait_free(cw);
        return;
    }
    cw->commit_id = commit.id;
    cw->name = pfsd_xstrdup(pfsd_commit_str(&cw->arena, &commit));
    cw->call = c;
    cw->committer = w->committer;
    cw->job.apply = pfsd_commit_wait_apply;
    cw->job.done = pfsd_commit_wait_done;
    pfsd_committer_submit(w->committer, &cw->job);
}

/* ListCommit.  With `to`: the ancestry of `to`, newest first, down to
 * `from` (excluded).  Without: every commit of the repo, newest first
 * (reverse: oldest first).  `number` bounds the count. */
typedef struct pfsd_list_commit {
    const PfsV2__ListCommitRequest *req;
    bool started, by_ancestry;
    int64_t repo_id, cursor, from_id, sent;
} pfsd_list_commit_t;

static bool
pfsd_list_commit_end(pfsd_db_t *db, pfsd_arena_t *a, const PfsV2__Commit *pb,
                     const pfsd_repo_t *repo, int64_t *id, pfsd_status_t *st)
{
    pfsd_commit_t c;

    if (!pfsd_cat_resolve(db, a, pb, &c, st)) {
        return false;
    }
    if (c.repo.id != repo->id) {
        return pfsd_fail(st, GRPC_STATUS_UNKNOWN, "`from` and `to` commits "
                         "need to be from repo %s", pfsd_repo_str(a, repo));
    }
    *id = c.id;
    return true;
}

static bool
pfsd_list_commit_init(pfsd_list_commit_t *lc, pfsd_db_t *db, pfsd_arena_t *a,
                      pfsd_status_t *st)
{
    const PfsV2__ListCommitRequest *req = lc->req;
    pfsd_repo_t repo;

    if (req->repo == NULL) {
        return pfsd_fail(st, GRPC_STATUS_UNKNOWN, "repo cannot be nil");
    }
    if (req->reverse && (req->from != NULL || req->to != NULL)) {
        return pfsd_fail(st, GRPC_STATUS_UNKNOWN, "cannot use 'Reverse' while "
                         "also using 'From' or 'To'");
    }
    if (req->from != NULL && req->to == NULL) {
        return pfsd_fail(st, GRPC_STATUS_UNKNOWN,
                         "cannot use `from` commit without `to` commit");
    }
    if (!pfsd_cat_repo(db, a, req->repo, &repo, st)) {
        return false;
    }
    lc->repo_id = repo.id;
    if (req->from != NULL
        && !pfsd_list_commit_end(db, a, req->from, &repo, &lc->from_id, st))
    {
        return false;
    }
    if (req->to != NULL) {
        if (!pfsd_list_commit_end(db, a, req->to, &repo, &lc->cursor, st)) {
            return false;
        }
        lc->by_ancestry = true;
    } else {
        lc->cursor = req->reverse ? 0 : INT64_MAX;
    }
    lc->started = true;
    return true;
}

/* The next commit id to send, 0 when done, -1 on error. */
static int64_t
pfsd_list_commit_next(pfsd_list_commit_t *lc, pfsd_db_t *db, pfsd_status_t *st)
{
    const PfsV2__ListCommitRequest *req = lc->req;
    sqlite3_stmt *s;
    int64_t id;
    int rc;

    if (req->number > 0 && lc->sent >= req->number) {
        return 0;
    }
    if (lc->by_ancestry) {
        id = lc->cursor;
        if (id == 0 || id == lc->from_id) {
            return 0;
        }
        s = pfsd_db_stmt(db, "SELECT coalesce(parent, 0) FROM commits"
                             " WHERE id=?");
        pfsd_bind_int(s, 1, id);
        rc = pfsd_db_row(db, s, st);
        if (rc != 1) {
            return rc < 0 ? -1 : 0;
        }
        lc->cursor = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
        return id;
    }
    s = req->reverse
        ? pfsd_db_stmt(db, "SELECT id FROM commits WHERE repo=?1 AND id>?2"
                           " ORDER BY id LIMIT 1")
        : pfsd_db_stmt(db, "SELECT id FROM commits WHERE repo=?1 AND id<?2"
                           " ORDER BY id DESC LIMIT 1");
    pfsd_bind_int(s, 1, lc->repo_id);
    pfsd_bind_int(s, 2, lc->cursor);
    rc = pfsd_db_row(db, s, st);
    if (rc != 1) {
        return rc < 0 ? -1 : 0;
    }
    id = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    lc->cursor = id;
    return id;
}

static bool
pfsd_list_commit_fetch(pfsd_stream_t *out, pfsd_db_t *db, void *ctx,
                       bool *done, pfsd_status_t *st)
{
    pfsd_list_commit_t *lc = ctx;
    pfsd_arena_t a = { NULL };
    PfsV2__CommitInfo *ci;
    pfsd_commit_t c;
    int64_t id = 0;
    int n;
    bool ok = true;

    if (!lc->started) {
        ok = pfsd_list_commit_init(lc, db, &a, st);
    }
    for (n = 0; ok && n < 64; n++) {
        id = pfsd_list_commit_next(lc, db, st);
        if (id <= 0) {
            ok = id == 0;
            break;
        }
        ok = pfsd_cat_commit(db, &a, id, NULL, &c, st)
             && pfsd_pb_commit_info(db, &a, &c, &ci, st);
        if (ok) {
            pfsd_stream_push(out, &ci->base);
            lc->sent++;
        }
    }
    pfsd_arena_free(&a);
    *done = id == 0;
    return ok;
}

void
pfsd_rpc_list_commit(pfsd_call_t *c, pfsd_worker_t *w,
                     const ProtobufCMessage *m)
{
    pfsd_list_commit_t *lc = pfsd_xcalloc(1, sizeof(*lc));

    lc->req = (const void *) m;
    pfsd_stream_start(c, w, pfsd_list_commit_fetch, lc, free);
}
