/* CreateProject, InspectProject, ListProject, DeleteProject. */
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "names.h"
#include "rpc.h"

static bool
pfsd_project_name(const PfsV2__Project *p, pfsd_status_t *st)
{
    if (p == NULL) {
        return pfsd_fail(st, GRPC_STATUS_INVALID_ARGUMENT,
                         "validate request: invalid %s.Project: "
                         "value is required", "CreateProjectRequest");
    }
    return pfsd_project_name_check(p->name, st);
}

static bool
pfsd_create_project_apply(pfsd_write_t *wr, pfsd_db_t *db, pfsd_status_t *st)
{
    const PfsV2__CreateProjectRequest *req = (const void *) wr->req;
    sqlite3_stmt *s;
    int64_t id;

    if (!pfsd_project_name(req->project, st)) {
        return false;
    }
    if (pfsd_cat_project(db, req->project->name, &id, st)) {
        if (!req->update) {
            /* pachd joins its storage layer's and its API's texts. */
            return pfsd_fail(st, GRPC_STATUS_ALREADY_EXISTS,
                             "project \"%s\" already exists\n"
                             "project %s already exists",
                             req->project->name, req->project->name);
        }
        s = pfsd_db_stmt(db, "UPDATE projects SET description=? WHERE id=?");
        pfsd_bind_text(s, 1, req->description);
        pfsd_bind_int(s, 2, id);
        return pfsd_db_run(db, s, st);
    }
    if (st->code != GRPC_STATUS_NOT_FOUND || req->update) {
        return false;
    }
    s = pfsd_db_stmt(db, "INSERT INTO projects(name, description, created)"
                         " VALUES (?, ?, ?)");
    pfsd_bind_text(s, 1, req->project->name);
    pfsd_bind_text(s, 2, req->description);
    pfsd_bind_int(s, 3, pfsd_now_ns());
    return pfsd_db_run(db, s, st);
}

void
pfsd_rpc_create_project(pfsd_call_t *c, pfsd_worker_t *w,
                        const ProtobufCMessage *m)
{
    (void) m;
    pfsd_rpc_write(c, w, pfsd_create_project_apply);
}

static PfsV2__ProjectInfo *
pfsd_project_info(pfsd_arena_t *a, sqlite3_stmt *s)
{
    PfsV2__ProjectInfo *pi = pfsd_arena_alloc(a, sizeof(*pi));

    pfs_v2__project_info__init(pi);
    pi->project = pfsd_pb_project(a, pfsd_col_text(s, 0));
    pi->description = pfsd_arena_strdup(a, pfsd_col_text(s, 1));
    pi->created_at = pfsd_pb_time(a, sqlite3_column_int64(s, 2));
    return pi;
}

static bool
pfsd_inspect_project_read(pfsd_db_t *db, pfsd_arena_t *a,
                          const ProtobufCMessage *m, ProtobufCMessage **resp,
                          pfsd_status_t *st)
{
    const PfsV2__InspectProjectRequest *req = (const void *) m;
    sqlite3_stmt *s;
    int rc;

    if (req->project == NULL) {
        return pfsd_fail(st, GRPC_STATUS_INVALID_ARGUMENT,
                         "validate request: invalid "
                         "InspectProjectRequest.Project: value is required");
    }
    s = pfsd_db_stmt(db, "SELECT name, description, created FROM projects"
                         " WHERE name=?");
    pfsd_bind_text(s, 1, req->project->name);
    rc = pfsd_db_row(db, s, st);
    if (rc <= 0) {
        return rc == 0 ? pfsd_fail(st, GRPC_STATUS_NOT_FOUND,
                                   "error getting project \"%s\": get project"
                                   " by name: project \"%s\" not found",
                                   req->project->name, req->project->name)
                       : false;
    }
    *resp = &pfsd_project_info(a, s)->base;
    sqlite3_reset(s);
    return true;
}

void
pfsd_rpc_inspect_project(pfsd_call_t *c, pfsd_worker_t *w,
                         const ProtobufCMessage *m)
{
    (void) m;
    pfsd_rpc_read(c, w, pfsd_inspect_project_read);
}

/* Keyset: the last project id sent. */
static bool
pfsd_list_project_fetch(pfsd_stream_t *st_, pfsd_db_t *db, void *ctx,
                        bool *done, pfsd_status_t *st)
{
    int64_t *after = ctx;
    pfsd_arena_t a = { NULL };
    sqlite3_stmt *s = pfsd_db_stmt(db, "SELECT name, description, created, id"
                                       " FROM projects WHERE id>?"
                                       " ORDER BY id LIMIT 256");
    int rc, n = 0;

    pfsd_bind_int(s, 1, *after);
    while ((rc = pfsd_db_row(db, s, st)) == 1) {
        pfsd_stream_push(st_, &pfsd_project_info(&a, s)->base);
        *after = sqlite3_column_int64(s, 3);
        n++;
    }
    pfsd_arena_free(&a);
    *done = n < 256;
    return rc == 0;
}

void
pfsd_rpc_list_project(pfsd_call_t *c, pfsd_worker_t *w,
                      const ProtobufCMessage *m)
{
    (void) m;
    pfsd_stream_start(c, w, pfsd_list_project_fetch,
                      pfsd_xcalloc(1, sizeof(int64_t)), free);
}

/* The ids of a project's repos. */
static bool
pfsd_project_repos(pfsd_db_t *db, int64_t project, int64_t **ids, size_t *n,
                   pfsd_status_t *st)
{
    sqlite3_stmt *s = pfsd_db_stmt(db, "SELECT id FROM repos WHERE project=?"
                                       " ORDER BY id");
    size_t cap = 0;
    int rc;

    *ids = NULL;
    *n = 0;
    pfsd_bind_int(s, 1, project);
    while ((rc = pfsd_db_row(db, s, st)) == 1) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            *ids = pfsd_xrealloc(*ids, cap * sizeof(**ids));
        }
        (*ids)[(*n)++] = sqlite3_column_int64(s, 0);
    }
    return rc == 0;
}

static bool
pfsd_delete_project_apply(pfsd_write_t *wr, pfsd_db_t *db, pfsd_status_t *st)
{
    const PfsV2__DeleteProjectRequest *req = (const void *) wr->req;
    sqlite3_stmt *s;
    int64_t id, *repos = NULL;
    size_t n = 0, i;
    pfsd_repo_t repo;
    const char *names = "";
    bool ok = false;

    if (req->project == NULL) {
        return pfsd_fail(st, GRPC_STATUS_INVALID_ARGUMENT,
                         "validate request: invalid "
                         "DeleteProjectRequest.Project: value is required");
    }
    if (!pfsd_cat_project(db, req->project->name, &id, st)
        || !pfsd_project_repos(db, id, &repos, &n, st))
    {
        goto done;
    }
    for (i = 0; i < n; i++) {
        if (req->force) {
            if (!pfsd_cat_delete_repo(db, repos[i], st)) {
                goto done;
            }
            continue;
        }
        if (!pfsd_cat_repo_by_id(db, &wr->arena, repos[i], &repo, st)) {
            goto done;
        }
        names = pfsd_arena_printf(&wr->arena, "%s%srepo %s still exists",
                                  names, names[0] ? "\n" : "",
                                  pfsd_repo_str(&wr->arena, &repo));
    }
    if (names[0] != '\0') {
        pfsd_fail(st, GRPC_STATUS_FAILED_PRECONDITION,
                  "cannot delete project %s: %s", req->project->name, names);
        goto done;
    }
    if (strcmp(req->project->name, "default") == 0) {
        /* The default project always exists: emptied, not removed. */
        ok = true;
        goto done;
    }
    s = pfsd_db_stmt(db, "DELETE FROM projects WHERE id=?");
    pfsd_bind_int(s, 1, id);
    ok = pfsd_db_run(db, s, st);

done:
    free(repos);
    return ok;
}

void
pfsd_rpc_delete_project(pfsd_call_t *c, pfsd_worker_t *w,
                        const ProtobufCMessage *m)
{
    (void) m;
    pfsd_rpc_write(c, w, pfsd_delete_project_apply);
}
