/* CreateRepo, InspectRepo, ListRepo, DeleteRepo. */
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "names.h"
#include "rpc.h"

static bool
pfsd_create_repo_apply(pfsd_write_t *wr, pfsd_db_t *db, pfsd_status_t *st)
{
    const PfsV2__CreateRepoRequest *req = (const void *) wr->req;
    const char *project, *name, *type;
    pfsd_repo_t repo;
    sqlite3_stmt *s;
    int64_t project_id;

    if (req->repo == NULL) {
        return pfsd_fail(st, GRPC_STATUS_INVALID_ARGUMENT,
                         "validate request: invalid CreateRepoRequest.Repo: "
                         "value is required");
    }
    pfsd_repo_key(req->repo, &project, &name, &type);
    if (!pfsd_name_check(name, st)) {
        return false;
    }
    if (strcmp(name, "__filesets__") == 0) {
        return pfsd_fail(st, GRPC_STATUS_UNKNOWN,
                         "__filesets__ is a reserved name");
    }
    if (pfsd_cat_repo(db, &wr->arena, req->repo, &repo, st)) {
        if (!req->update) {
            return pfsd_fail(st, GRPC_STATUS_ALREADY_EXISTS,
                             "repo %s already exists",
                             pfsd_repo_str(&wr->arena, &repo));
        }
        s = pfsd_db_stmt(db, "UPDATE repos SET description=? WHERE id=?");
        pfsd_bind_text(s, 1, req->description);
        pfsd_bind_int(s, 2, repo.id);
        return pfsd_db_run(db, s, st);
    }
    if (st->code != GRPC_STATUS_NOT_FOUND) {
        return false;
    }
    if (!pfsd_cat_project(db, project, &project_id, st)) {
        if (st->code == GRPC_STATUS_NOT_FOUND) {
            pfsd_fail(st, GRPC_STATUS_NOT_FOUND, "cannot find project \"%s\": "
                      "get project by name: project \"%s\" not found",
                      project, project);
        }
        return false;
    }
    s = pfsd_db_stmt(db, "INSERT INTO repos(project, name, type, description,"
                         " created) VALUES (?, ?, ?, ?, ?)");
    pfsd_bind_int(s, 1, project_id);
    pfsd_bind_text(s, 2, name);
    pfsd_bind_text(s, 3, type);
    pfsd_bind_text(s, 4, req->description);
    pfsd_bind_int(s, 5, pfsd_now_ns());
    return pfsd_db_run(db, s, st);
}

void
pfsd_rpc_create_repo(pfsd_call_t *c, pfsd_worker_t *w,
                     const ProtobufCMessage *m)
{
    (void) m;
    pfsd_rpc_write(c, w, pfsd_create_repo_apply);
}

/* RepoInfo: the repo, its branches (by name) and the size of the head of
 * its master branch as the size estimate. */
static bool
pfsd_repo_info(pfsd_db_t *db, pfsd_arena_t *a, const pfsd_repo_t *r,
               PfsV2__RepoInfo **out, pfsd_status_t *st)
{
    PfsV2__RepoInfo *ri = pfsd_arena_alloc(a, sizeof(*ri));
    sqlite3_stmt *s;
    size_t cap = 0;
    int rc;

    pfs_v2__repo_info__init(ri);
    ri->repo = pfsd_pb_repo(a, r);
    ri->created = pfsd_pb_time(a, r->created);
    ri->description = (char *) r->description;
    s = pfsd_db_stmt(db, "SELECT b.name, c.size FROM branches b"
                         " JOIN commits c ON c.id = b.head"
                         " WHERE b.repo=? ORDER BY b.name");
    pfsd_bind_int(s, 1, r->id);
    while ((rc = pfsd_db_row(db, s, st)) == 1) {
        const char *name = pfsd_col_text(s, 0);

        if (ri->n_branches == cap) {
            PfsV2__Branch **old = ri->branches;

            cap = cap ? cap * 2 : 4;
            ri->branches = pfsd_arena_alloc(a, cap * sizeof(*ri->branches));
            if (old != NULL) {
                memcpy(ri->branches, old, ri->n_branches * sizeof(*old));
            }
        }
        ri->branches[ri->n_branches++] = pfsd_pb_branch(a, r, name);
        if (strcmp(name, "master") == 0) {
            ri->size_bytes_upper_bound = sqlite3_column_int64(s, 1);
        }
    }
    if (rc < 0) {
        return false;
    }
    *out = ri;
    return true;
}

static bool
pfsd_inspect_repo_read(pfsd_db_t *db, pfsd_arena_t *a,
                       const ProtobufCMessage *m, ProtobufCMessage **resp,
                       pfsd_status_t *st)
{
    const PfsV2__InspectRepoRequest *req = (const void *) m;
    PfsV2__RepoInfo *ri;
    pfsd_repo_t repo;

    if (req->repo == NULL) {
        return pfsd_fail(st, GRPC_STATUS_INVALID_ARGUMENT,
                         "validate request: invalid InspectRepoRequest.Repo: "
                         "value is required");
    }
    if (!pfsd_cat_repo(db, a, req->repo, &repo, st)
        || !pfsd_repo_info(db, a, &repo, &ri, st))
    {
        return false;
    }
    *resp = &ri->base;
    return true;
}

void
pfsd_rpc_inspect_repo(pfsd_call_t *c, pfsd_worker_t *w,
                      const ProtobufCMessage *m)
{
    (void) m;
    pfsd_rpc_read(c, w, pfsd_inspect_repo_read);
}

/* ListRepo: by project name, then repo name (then type), as pachd orders
 * them; keyset on that triple. */
typedef struct pfsd_list_repo {
    const PfsV2__ListRepoRequest *req;
    char *project, *name, *type;        /* the last repo sent */
} pfsd_list_repo_t;

static void
pfsd_list_repo_free(void *p)
{
    pfsd_list_repo_t *lr = p;

    free(lr->project);
    free(lr->name);
    free(lr->type);
    free(lr);
}

static bool
pfsd_list_repo_wanted(const PfsV2__ListRepoRequest *req, const pfsd_repo_t *r)
{
    size_t i;

    if (req->type[0] != '\0' && strcmp(req->type, r->type) != 0) {
        return false;
    }
    if (req->n_projects == 0) {
        return true;
    }
    for (i = 0; i < req->n_projects; i++) {
        const char *p = req->projects[i]->name;

        if (strcmp(p[0] ? p : "default", r->project) == 0) {
            return true;
        }
    }
    return false;
}

static bool
pfsd_list_repo_fetch(pfsd_stream_t *out, pfsd_db_t *db, void *ctx, bool *done,
                     pfsd_status_t *st)
{
    pfsd_list_repo_t *lr = ctx;
    pfsd_arena_t a = { NULL };
    sqlite3_stmt *s;
    int64_t ids[64];
    int n = 0, i, rc = 0;
    pfsd_repo_t repo;
    PfsV2__RepoInfo *ri;
    bool ok;

    s = pfsd_db_stmt(db, "SELECT r.id FROM repos r"
                         " JOIN projects p ON p.id = r.project"
                         " WHERE (p.name, r.name, r.type) > (?, ?, ?)"
                         " ORDER BY p.name, r.name, r.type LIMIT 64");
    pfsd_bind_text(s, 1, lr->project ? lr->project : "");
    pfsd_bind_text(s, 2, lr->name ? lr->name : "");
    pfsd_bind_text(s, 3, lr->type ? lr->type : "");
    while (n < 64 && (rc = pfsd_db_row(db, s, st)) == 1) {
        ids[n++] = sqlite3_column_int64(s, 0);
    }
    sqlite3_reset(s);
    ok = rc >= 0;
    for (i = 0; i < n && ok; i++) {
        ok = pfsd_cat_repo_by_id(db, &a, ids[i], &repo, st);
        if (!ok) {
            break;
        }
        free(lr->project);
        free(lr->name);
        free(lr->type);
        lr->project = pfsd_xstrdup(repo.project);
        lr->name = pfsd_xstrdup(repo.name);
        lr->type = pfsd_xstrdup(repo.type);
        if (pfsd_list_repo_wanted(lr->req, &repo)) {
            ok = pfsd_repo_info(db, &a, &repo, &ri, st);
            if (ok) {
                pfsd_stream_push(out, &ri->base);
            }
        }
    }
    pfsd_arena_free(&a);
    *done = n < 64;
    return ok;
}

void
pfsd_rpc_list_repo(pfsd_call_t *c, pfsd_worker_t *w, const ProtobufCMessage *m)
{
    pfsd_list_repo_t *lr = pfsd_xcalloc(1, sizeof(*lr));

    lr->req = (const void *) m;
    pfsd_stream_start(c, w, pfsd_list_repo_fetch, lr, pfsd_list_repo_free);
}

static bool
pfsd_delete_repo_apply(pfsd_write_t *wr, pfsd_db_t *db, pfsd_status_t *st)
{
    const PfsV2__DeleteRepoRequest *req = (const void *) wr->req;
    PfsV2__DeleteRepoResponse *resp;
    pfsd_repo_t repo;

    if (req->repo == NULL) {
        return pfsd_fail(st, GRPC_STATUS_INVALID_ARGUMENT,
                         "no repo specified");
    }
    resp = pfsd_arena_alloc(&wr->arena, sizeof(*resp));
    pfs_v2__delete_repo_response__init(resp);
    wr->resp = &resp->base;
    /* A missing repo is not an error for pachd: deleted stays false. */
    if (!pfsd_cat_repo(db, &wr->arena, req->repo, &repo, st)) {
        return st->code == GRPC_STATUS_NOT_FOUND;
    }
    if (!pfsd_cat_delete_repo(db, repo.id, st)) {
        return false;
    }
    resp->deleted = true;
    return true;
}

void
pfsd_rpc_delete_repo(pfsd_call_t *c, pfsd_worker_t *w,
                     const ProtobufCMessage *m)
{
    (void) m;
    pfsd_rpc_write(c, w, pfsd_delete_repo_apply);
}
