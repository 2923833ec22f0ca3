/* StartCommit, FinishCommit, InspectCommit, ListCommit. */
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
        return pfsd_fail(st, GRPC_STATUS_UNKNOWN, "branch cannot be nil");
    }
    if (!pfsd_cat_repo(db, a, req->branch->repo, &repo, st)
        || !pfsd_name_check(req->branch->name, st))
    {
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

void
pfsd_rpc_inspect_commit(pfsd_call_t *c, pfsd_worker_t *w,
                        const ProtobufCMessage *m)
{
    (void) m;
    pfsd_rpc_read(c, w, pfsd_inspect_commit_read);
}

/* ListCommit.  With `to`: the ancestry of `to`, newest first, down to
 * `from` (excluded).  Without: every commit of the repo, newest first.
 * `number` bounds the count; reverse gives oldest first (the ids to send
 * are then gathered first: 8 bytes per commit). */
typedef struct pfsd_list_commit {
    const PfsV2__ListCommitRequest *req;
    bool started, by_ancestry;
    int64_t repo_id, cursor, from_id, sent;
    int64_t *ids;                   /* reverse ancestry: gathered ids */
    size_t nids, next;
} pfsd_list_commit_t;

static void
pfsd_list_commit_free(void *p)
{
    pfsd_list_commit_t *lc = p;

    free(lc->ids);
    free(lc);
}

static bool
pfsd_list_commit_init(pfsd_list_commit_t *lc, pfsd_db_t *db, pfsd_arena_t *a,
                      pfsd_status_t *st)
{
    const PfsV2__ListCommitRequest *req = lc->req;
    pfsd_commit_t c;
    pfsd_repo_t repo;
    sqlite3_stmt *s;
    int64_t id;

    if (req->repo == NULL) {
        return pfsd_fail(st, GRPC_STATUS_UNKNOWN, "repo cannot be nil");
    }
    if (!pfsd_cat_repo(db, a, req->repo, &repo, st)) {
        return false;
    }
    lc->repo_id = repo.id;
    if (req->from != NULL) {
        if (!pfsd_cat_resolve(db, a, req->from, &c, st)) {
            return false;
        }
        lc->from_id = c.id;
    }
    if (req->to != NULL) {
        if (!pfsd_cat_resolve(db, a, req->to, &c, st)) {
            return false;
        }
        lc->by_ancestry = true;
        lc->cursor = c.id;
    } else {
        lc->cursor = req->reverse ? 0 : INT64_MAX;
    }
    if (lc->by_ancestry && req->reverse) {
        size_t cap = 0;

        for (id = lc->cursor; id != 0 && id != lc->from_id;) {
            if (req->number > 0 && (int64_t) lc->nids >= req->number) {
                break;
            }
            if (lc->nids == cap) {
                cap = cap ? cap * 2 : 64;
                lc->ids = pfsd_xrealloc(lc->ids, cap * sizeof(*lc->ids));
            }
            lc->ids[lc->nids++] = id;
            s = pfsd_db_stmt(db, "SELECT coalesce(parent, 0) FROM commits"
                                 " WHERE id=?");
            pfsd_bind_int(s, 1, id);
            if (pfsd_db_row(db, s, st) != 1) {
                return false;
            }
            id = sqlite3_column_int64(s, 0);
            sqlite3_reset(s);
        }
        lc->next = lc->nids;
    }
    lc->started = true;
    return true;
}

/* The next commit id to send, 0 when done. */
static int64_t
pfsd_list_commit_next(pfsd_list_commit_t *lc, pfsd_db_t *db, pfsd_status_t *st)
{
    const PfsV2__ListCommitRequest *req = lc->req;
    sqlite3_stmt *s;
    int64_t id = 0;
    int rc;

    if (req->number > 0 && lc->sent >= req->number) {
        return 0;
    }
    if (lc->by_ancestry && req->reverse) {
        return lc->next > 0 ? lc->ids[--lc->next] : 0;
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
                           " AND id>?3 ORDER BY id LIMIT 1")
        : pfsd_db_stmt(db, "SELECT id FROM commits WHERE repo=?1 AND id<?2"
                           " AND id>?3 ORDER BY id DESC LIMIT 1");
    pfsd_bind_int(s, 1, lc->repo_id);
    pfsd_bind_int(s, 2, lc->cursor);
    pfsd_bind_int(s, 3, lc->from_id);
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
    pfsd_stream_start(c, w, pfsd_list_commit_fetch, lc, pfsd_list_commit_free);
}
