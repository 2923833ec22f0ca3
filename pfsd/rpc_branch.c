/* CreateBranch, InspectBranch, ListBranch, DeleteBranch. */
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "names.h"
#include "rpc.h"

static bool
pfsd_branch_arg(const PfsV2__Branch *b, const char *what, pfsd_status_t *st)
{
    if (b == NULL) {
        return pfsd_fail(st, GRPC_STATUS_INVALID_ARGUMENT,
                         "validate request: invalid %s.Branch: value is "
                         "required", what);
    }
    if (b->repo == NULL) {
        return pfsd_fail(st, GRPC_STATUS_UNKNOWN, "branch repo cannot be nil");
    }
    return true;
}

/* pachd's CreateBranch creates or updates: an existing branch is moved to
 * the given head; a new branch without a head gets an empty finished
 * commit so that it always has one. */
static bool
pfsd_create_branch_apply(pfsd_write_t *wr, pfsd_db_t *db, pfsd_status_t *st)
{
    const PfsV2__CreateBranchRequest *req = (const void *) wr->req;
    pfsd_arena_t *a = &wr->arena;
    pfsd_repo_t repo;
    pfsd_commit_t head;
    int rc;

    if (!pfsd_branch_arg(req->branch, "CreateBranchRequest", st)
        || !pfsd_cat_repo(db, a, req->branch->repo, &repo, st))
    {
        return false;
    }
    if (!pfsd_branch_name_check(req->branch->name, st)) {
        pfsd_status_t inner = *st;

        if (strstr(inner.msg, "UUID") != NULL) {
            pfsd_fail(st, inner.code, "create branch: update head: %s",
                      inner.msg);
        }
        return false;
    }
    if (req->head != NULL) {
        if (!pfsd_cat_resolve(db, a, req->head, &head, st)) {
            pfsd_status_t inner = *st;

            return pfsd_fail(st, inner.code, "unable to inspect %s: %s",
                             pfsd_commit_pb_str(a, req->head), inner.msg);
        }
        if (head.repo.id != repo.id) {
            return pfsd_fail(st, GRPC_STATUS_UNKNOWN,
                             "branch and head commit must belong to the "
                             "same repo");
        }
        return pfsd_cat_set_head(db, &repo, req->branch->name, head.id, st);
    }
    rc = pfsd_cat_branch(db, repo.id, req->branch->name, NULL, NULL, st);
    if (rc != 0) {
        return rc > 0;
    }
    return pfsd_cat_new_commit(db, a, &repo, req->branch->name, NULL, "",
                               pfsd_now_ns(), &head, st)
           && pfsd_cat_set_head(db, &repo, req->branch->name, head.id, st);
}

void
pfsd_rpc_create_branch(pfsd_call_t *c, pfsd_worker_t *w,
                       const ProtobufCMessage *m)
{
    (void) m;
    pfsd_rpc_write(c, w, pfsd_create_branch_apply);
}

static bool
pfsd_branch_info(pfsd_db_t *db, pfsd_arena_t *a, const pfsd_repo_t *repo,
                 const char *name, int64_t head_id, PfsV2__BranchInfo **out,
                 pfsd_status_t *st)
{
    PfsV2__BranchInfo *bi = pfsd_arena_alloc(a, sizeof(*bi));
    pfsd_commit_t head;

    pfs_v2__branch_info__init(bi);
    bi->branch = pfsd_pb_branch(a, repo, name);
    if (!pfsd_cat_commit(db, a, head_id, repo, &head, st)) {
        return false;
    }
    bi->head = pfsd_pb_commit(a, &head);
    *out = bi;
    return true;
}

static bool
pfsd_inspect_branch_read(pfsd_db_t *db, pfsd_arena_t *a,
                         const ProtobufCMessage *m, ProtobufCMessage **resp,
                         pfsd_status_t *st)
{
    const PfsV2__InspectBranchRequest *req = (const void *) m;
    PfsV2__BranchInfo *bi;
    pfsd_repo_t repo;
    int64_t head;
    int rc;

    if (!pfsd_branch_arg(req->branch, "InspectBranchRequest", st)
        || !pfsd_cat_repo(db, a, req->branch->repo, &repo, st))
    {
        return false;
    }
    rc = pfsd_cat_branch(db, repo.id, req->branch->name, NULL, &head, st);
    if (rc <= 0) {
        return rc == 0
               ? pfsd_fail(st, GRPC_STATUS_NOT_FOUND,
                           "inspect branch in transaction: branch (id=0, "
                           "branch=%s@%s) not found\nbranch \"%s\" not found "
                           "in repo %s", pfsd_repo_str(a, &repo),
                           req->branch->name, req->branch->name,
                           pfsd_repo_str(a, &repo))
               : false;
    }
    if (!pfsd_branch_info(db, a, &repo, req->branch->name, head, &bi, st)) {
        return false;
    }
    *resp = &bi->base;
    return true;
}

void
pfsd_rpc_inspect_branch(pfsd_call_t *c, pfsd_worker_t *w,
                        const ProtobufCMessage *m)
{
    (void) m;
    pfsd_rpc_read(c, w, pfsd_inspect_branch_read);
}

/* ListBranch: newest first (reverse: oldest first); keyset on branch id. */
typedef struct pfsd_list_branch {
    const PfsV2__ListBranchRequest *req;
    int64_t key;
    bool started;
} pfsd_list_branch_t;

static bool
pfsd_list_branch_fetch(pfsd_stream_t *out, pfsd_db_t *db, void *ctx,
                       bool *done, pfsd_status_t *st)
{
    pfsd_list_branch_t *lb = ctx;
    pfsd_arena_t a = { NULL };
    pfsd_repo_t repo;
    PfsV2__BranchInfo *bi;
    sqlite3_stmt *s;
    int64_t ids[64], repos[64], heads[64];
    char *names[64];
    int n = 0, i, rc = 0;
    bool ok = true;

    if (lb->req->repo != NULL && lb->req->repo->name[0] != '\0') {
        if (!pfsd_cat_repo(db, &a, lb->req->repo, &repo, st)) {
            pfsd_arena_free(&a);
            return false;
        }
        s = lb->req->reverse
            ? pfsd_db_stmt(db, "SELECT id, repo, head, name FROM branches"
                               " WHERE repo=?2 AND id>?1 ORDER BY id LIMIT 64")
            : pfsd_db_stmt(db, "SELECT id, repo, head, name FROM branches"
                               " WHERE repo=?2 AND id<?1 ORDER BY id DESC"
                               " LIMIT 64");
        pfsd_bind_int(s, 2, repo.id);
    } else {
        s = lb->req->reverse
            ? pfsd_db_stmt(db, "SELECT id, repo, head, name FROM branches"
                               " WHERE id>?1 ORDER BY id LIMIT 64")
            : pfsd_db_stmt(db, "SELECT id, repo, head, name FROM branches"
                               " WHERE id<?1 ORDER BY id DESC LIMIT 64");
    }
    pfsd_bind_int(s, 1, lb->key);
    while (n < 64 && (rc = pfsd_db_row(db, s, st)) == 1) {
        ids[n] = sqlite3_column_int64(s, 0);
        repos[n] = sqlite3_column_int64(s, 1);
        heads[n] = sqlite3_column_int64(s, 2);
        names[n] = pfsd_arena_strdup(&a, pfsd_col_text(s, 3));
        n++;
    }
    sqlite3_reset(s);
    ok = rc >= 0;
    for (i = 0; i < n && ok; i++) {
        lb->key = ids[i];
        ok = pfsd_cat_repo_by_id(db, &a, repos[i], &repo, st)
             && pfsd_branch_info(db, &a, &repo, names[i], heads[i], &bi, st);
        if (ok) {
            pfsd_stream_push(out, &bi->base);
        }
    }
    pfsd_arena_free(&a);
    *done = n < 64;
    return ok;
}

void
pfsd_rpc_list_branch(pfsd_call_t *c, pfsd_worker_t *w,
                     const ProtobufCMessage *m)
{
    pfsd_list_branch_t *lb = pfsd_xcalloc(1, sizeof(*lb));

    lb->req = (const void *) m;
    lb->key = lb->req->reverse ? 0 : INT64_MAX;
    pfsd_stream_start(c, w, pfsd_list_branch_fetch, lb, free);
}

static bool
pfsd_delete_branch_apply(pfsd_write_t *wr, pfsd_db_t *db, pfsd_status_t *st)
{
    const PfsV2__DeleteBranchRequest *req = (const void *) wr->req;
    pfsd_repo_t repo;
    sqlite3_stmt *s;
    int64_t id;
    int rc;

    if (!pfsd_branch_arg(req->branch, "DeleteBranchRequest", st)
        || !pfsd_cat_repo(db, &wr->arena, req->branch->repo, &repo, st))
    {
        return false;
    }
    rc = pfsd_cat_branch(db, repo.id, req->branch->name, &id, NULL, st);
    if (rc <= 0) {
        const char *r = pfsd_repo_str(&wr->arena, &repo);

        return rc == 0
               ? pfsd_fail(st, GRPC_STATUS_NOT_FOUND, "get branch \"%s.%s@%s\": "
                           "branch (id=0, branch=%s@%s) not found",
                           r, repo.type, req->branch->name, r,
                           req->branch->name)
               : false;
    }
    /* Commits stay: pachd keeps them after a branch is deleted. */
    s = pfsd_db_stmt(db, "DELETE FROM branches WHERE id=?");
    pfsd_bind_int(s, 1, id);
    return pfsd_db_run(db, s, st);
}

void
pfsd_rpc_delete_branch(pfsd_call_t *c, pfsd_worker_t *w,
                       const ProtobufCMessage *m)
{
    (void) m;
    pfsd_rpc_write(c, w, pfsd_delete_branch_apply);
}
