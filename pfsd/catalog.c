#include "catalog.h"

#include <stdlib.h>
#include <string.h>

#include "catmemo.h"
#include "names.h"

/* ------------------------------------------------------------ strings */

void
pfsd_repo_key(const PfsV2__Repo *r, const char **project, const char **name,
              const char **type)
{
    *project = r->project != NULL && r->project->name[0] != '\0'
                   ? r->project->name : "default";
    *name = r->name;
    *type = r->type[0] != '\0' ? r->type : "user";
}

static const char *
pfsd_repo_fmt(pfsd_arena_t *a, const char *project, const char *name,
              const char *type)
{
    if (strcmp(type, "user") == 0) {
        return pfsd_arena_printf(a, "%s/%s", project, name);
    }
    return pfsd_arena_printf(a, "%s/%s.%s", project, name, type);
}

const char *
pfsd_repo_str(pfsd_arena_t *a, const pfsd_repo_t *r)
{
    return pfsd_repo_fmt(a, r->project, r->name, r->type);
}

const char *
pfsd_repo_pb_str(pfsd_arena_t *a, const PfsV2__Repo *r)
{
    const char *project, *name, *type;

    pfsd_repo_key(r, &project, &name, &type);
    return pfsd_repo_fmt(a, project, name, type);
}

const char *
pfsd_commit_pb_str(pfsd_arena_t *a, const PfsV2__Commit *c)
{
    const PfsV2__Repo *r = c->repo != NULL ? c->repo
                           : c->branch != NULL ? c->branch->repo : NULL;
    const char *repo = r != NULL ? pfsd_repo_pb_str(a, r) : "";

    if (c->id[0] == '\0' && c->branch != NULL) {
        return pfsd_arena_printf(a, "%s@%s", repo, c->branch->name);
    }
    return pfsd_arena_printf(a, "%s@%s", repo, c->id);
}

/* ------------------------------------------------------------ lookups */

bool
pfsd_cat_project(pfsd_db_t *db, const char *name, int64_t *id,
                 pfsd_status_t *st)
{
    sqlite3_stmt *s = pfsd_db_stmt(db, "SELECT id FROM projects WHERE name=?");
    int rc;

    pfsd_bind_text(s, 1, name);
    rc = pfsd_db_row(db, s, st);
    if (rc < 0) {
        return false;
    }
    if (rc == 0) {
        return pfsd_fail(st, GRPC_STATUS_NOT_FOUND,
                         "project \"%s\" not found", name);
    }
    *id = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return true;
}

static void
pfsd_repo_from_row(pfsd_arena_t *a, sqlite3_stmt *s, pfsd_repo_t *out)
{
    out->id = sqlite3_column_int64(s, 0);
    out->project_id = sqlite3_column_int64(s, 1);
    out->project = pfsd_arena_strdup(a, pfsd_col_text(s, 2));
    out->name = pfsd_arena_strdup(a, pfsd_col_text(s, 3));
    out->type = pfsd_arena_strdup(a, pfsd_col_text(s, 4));
    out->description = pfsd_arena_strdup(a, pfsd_col_text(s, 5));
    out->created = sqlite3_column_int64(s, 6);
}

#define PFSD_REPO_COLS \
    "r.id, r.project, p.name, r.name, r.type, r.description, r.created"

bool
pfsd_cat_repo(pfsd_db_t *db, pfsd_arena_t *a, const PfsV2__Repo *r,
              pfsd_repo_t *out, pfsd_status_t *st)
{
    sqlite3_stmt *s;
    const char *project, *name, *type;
    int rc;

    if (r == NULL) {
        return pfsd_fail(st, GRPC_STATUS_INVALID_ARGUMENT,
                         "repo cannot be nil");
    }
    pfsd_repo_key(r, &project, &name, &type);
    s = pfsd_db_stmt(db, "SELECT " PFSD_REPO_COLS " FROM repos r"
                         " JOIN projects p ON p.id = r.project"
                         " WHERE p.name=? AND r.name=? AND r.type=?");
    pfsd_bind_text(s, 1, project);
    pfsd_bind_text(s, 2, name);
    pfsd_bind_text(s, 3, type);
    rc = pfsd_db_row(db, s, st);
    if (rc < 0) {
        return false;
    }
    if (rc == 0) {
        return pfsd_fail(st, GRPC_STATUS_NOT_FOUND, "repo %s not found",
                         pfsd_repo_fmt(a, project, name, type));
    }
    pfsd_repo_from_row(a, s, out);
    sqlite3_reset(s);
    return true;
}

bool
pfsd_cat_repo_by_id(pfsd_db_t *db, pfsd_arena_t *a, int64_t id,
                    pfsd_repo_t *out, pfsd_status_t *st)
{
    sqlite3_stmt *s = pfsd_db_stmt(db, "SELECT " PFSD_REPO_COLS " FROM repos r"
                                       " JOIN projects p ON p.id = r.project"
                                       " WHERE r.id=?");
    int rc;

    pfsd_bind_int(s, 1, id);
    rc = pfsd_db_row(db, s, st);
    if (rc <= 0) {
        return rc == 0 ? pfsd_fail(st, GRPC_STATUS_NOT_FOUND,
                                   "repo %lld not found", (long long) id)
                       : false;
    }
    pfsd_repo_from_row(a, s, out);
    sqlite3_reset(s);
    return true;
}

int
pfsd_cat_branch(pfsd_db_t *db, int64_t repo_id, const char *name,
                int64_t *branch_id, int64_t *head, pfsd_status_t *st)
{
    sqlite3_stmt *s = pfsd_db_stmt(db, "SELECT id, head FROM branches"
                                       " WHERE repo=? AND name=?");
    int rc;

    pfsd_bind_int(s, 1, repo_id);
    pfsd_bind_text(s, 2, name);
    rc = pfsd_db_row(db, s, st);
    if (rc == 1) {
        if (branch_id != NULL) {
            *branch_id = sqlite3_column_int64(s, 0);
        }
        if (head != NULL) {
            *head = sqlite3_column_int64(s, 1);
        }
        sqlite3_reset(s);
    }
    return rc;
}

bool
pfsd_branch_not_found(pfsd_arena_t *a, const pfsd_repo_t *r, const char *name,
                      pfsd_status_t *st)
{
    return pfsd_fail(st, GRPC_STATUS_NOT_FOUND,
                     "branch \"%s\" not found in repo %s", name,
                     pfsd_repo_str(a, r));
}

#define PFSD_COMMIT_COLS \
    "id, parent, lineage, seq, started, finishing, finished, size, uuid," \
    " branch, description, error, repo"

static void
pfsd_commit_from_row(pfsd_arena_t *a, sqlite3_stmt *s, pfsd_commit_t *out)
{
    out->id = sqlite3_column_int64(s, 0);
    out->parent = sqlite3_column_int64(s, 1);
    out->lineage = sqlite3_column_int64(s, 2);
    out->seq = sqlite3_column_int64(s, 3);
    out->started = sqlite3_column_int64(s, 4);
    out->finishing = sqlite3_column_int64(s, 5);
    out->finished = sqlite3_column_int64(s, 6);
    out->size = sqlite3_column_int64(s, 7);
    out->uuid = pfsd_arena_strdup(a, pfsd_col_text(s, 8));
    out->branch = pfsd_arena_strdup(a, pfsd_col_text(s, 9));
    out->description = pfsd_arena_strdup(a, pfsd_col_text(s, 10));
    out->error = pfsd_arena_strdup(a, pfsd_col_text(s, 11));
}

bool
pfsd_cat_commit(pfsd_db_t *db, pfsd_arena_t *a, int64_t id,
                const pfsd_repo_t *repo, pfsd_commit_t *out, pfsd_status_t *st)
{
    sqlite3_stmt *s = pfsd_db_stmt(db, "SELECT " PFSD_COMMIT_COLS
                                       " FROM commits WHERE id=?");
    int64_t repo_id;
    int rc;

    pfsd_bind_int(s, 1, id);
    rc = pfsd_db_row(db, s, st);
    if (rc <= 0) {
        return rc == 0 ? pfsd_fail(st, GRPC_STATUS_NOT_FOUND,
                                   "commit %lld not found", (long long) id)
                       : false;
    }
    pfsd_commit_from_row(a, s, out);
    repo_id = sqlite3_column_int64(s, 12);
    sqlite3_reset(s);
    if (repo != NULL) {
        out->repo = *repo;
        return true;
    }
    return pfsd_cat_repo_by_id(db, a, repo_id, &out->repo, st);
}

static void *
pfsd_cat_memo_new(void)
{
    return pfsd_catmemo_new();
}

/* The memo key of a commit named by repo and branch or id: the names with
 * NULs between (none of them holds a NUL: protobuf strings are C strings). */
static size_t
pfsd_cat_memo_key(const PfsV2__Repo *rpb, const char *branch, const char *id,
                  char *key, size_t size)
{
    const char *part[5];
    size_t i, n, len = 0;

    pfsd_repo_key(rpb, &part[0], &part[1], &part[2]);
    part[3] = branch;
    part[4] = id;
    for (i = 0; i < 5; i++) {
        n = strlen(part[i]) + 1;
        if (len + n > size) {
            return 0;
        }
        memcpy(key + len, part[i], n);
        len += n;
    }
    return len;
}

static bool pfsd_cat_resolve_sql(pfsd_db_t *db, pfsd_arena_t *a,
                                 const PfsV2__Repo *rpb, const char *branch,
                                 const char *id, pfsd_commit_t *out,
                                 pfsd_status_t *st);

bool
pfsd_cat_resolve(pfsd_db_t *db, pfsd_arena_t *a, const PfsV2__Commit *c,
                 pfsd_commit_t *out, pfsd_status_t *st)
{
    const PfsV2__Repo *rpb;
    const char *branch, *id;
    pfsd_catmemo_t *memo = NULL;
    int64_t version = 0;
    char key[512];
    size_t keylen = 0;

    if (c == NULL) {
        return pfsd_fail(st, GRPC_STATUS_UNKNOWN, "commit cannot be nil");
    }
    rpb = c->repo != NULL ? c->repo : c->branch ? c->branch->repo : NULL;
    branch = c->branch != NULL ? c->branch->name : "";
    id = c->id;
    if (rpb == NULL) {
        return pfsd_fail(st, GRPC_STATUS_UNKNOWN,
                         "pick commit tx: cannot pick commit with no repo");
    }
    /* pachd reads a non-id in the id field of a commit with an empty
     * branch name as the branch's name. */
    if (c->branch != NULL && branch[0] == '\0' && id[0] != '\0'
        && !pfsd_is_commit_id(id))
    {
        branch = id;
        id = "";
    }
    if (pfsd_db_snapshot_version(db, &version)) {
        memo = pfsd_db_memo(db, pfsd_cat_memo_new, pfsd_catmemo_free);
        keylen = pfsd_cat_memo_key(rpb, branch, id, key, sizeof(key));
    }
    if (keylen > 0 && pfsd_catmemo_get(memo, key, keylen, version, a, out)) {
        return true;
    }
    if (!pfsd_cat_resolve_sql(db, a, rpb, branch, id, out, st)) {
        return false;
    }
    if (keylen > 0) {
        pfsd_catmemo_put(memo, key, keylen, version, out);
    }
    return true;
}

/* The lookups behind pfsd_cat_resolve: repo, then the commit by id or the
 * branch's head. */
static bool
pfsd_cat_resolve_sql(pfsd_db_t *db, pfsd_arena_t *a, const PfsV2__Repo *rpb,
                     const char *branch, const char *id, pfsd_commit_t *out,
                     pfsd_status_t *st)
{
    pfsd_repo_t repo;
    sqlite3_stmt *s;
    int64_t head;
    int rc;

    if (!pfsd_cat_repo(db, a, rpb, &repo, st)) {
        return false;
    }
    if (id[0] != '\0') {
        s = pfsd_db_stmt(db, "SELECT " PFSD_COMMIT_COLS
                             " FROM commits WHERE uuid=? AND repo=?");
        pfsd_bind_text(s, 1, id);
        pfsd_bind_int(s, 2, repo.id);
        rc = pfsd_db_row(db, s, st);
        if (rc < 0) {
            return false;
        }
        if (rc == 0) {
            return pfsd_fail(st, GRPC_STATUS_NOT_FOUND,
                             "commit %s@%s not found",
                             pfsd_repo_str(a, &repo), id);
        }
        pfsd_commit_from_row(a, s, out);
        sqlite3_reset(s);
        out->repo = repo;
        return true;
    }
    if (branch[0] == '\0') {
        return pfsd_fail(st, GRPC_STATUS_UNKNOWN, "pick commit tx: cannot pick "
                         "commit with no ID or branch");
    }
    rc = pfsd_cat_branch(db, repo.id, branch, NULL, &head, st);
    if (rc < 0) {
        return false;
    }
    if (rc == 0) {
        return pfsd_branch_not_found(a, &repo, branch, st);
    }
    return pfsd_cat_commit(db, a, head, &repo, out, st);
}

/* ------------------------------------------------------------ messages */

PfsV2__Project *
pfsd_pb_project(pfsd_arena_t *a, const char *name)
{
    PfsV2__Project *p = pfsd_arena_alloc(a, sizeof(*p));

    pfs_v2__project__init(p);
    p->name = pfsd_arena_strdup(a, name);
    return p;
}

PfsV2__Repo *
pfsd_pb_repo(pfsd_arena_t *a, const pfsd_repo_t *r)
{
    PfsV2__Repo *p = pfsd_arena_alloc(a, sizeof(*p));

    pfs_v2__repo__init(p);
    p->name = (char *) r->name;
    p->type = (char *) r->type;
    p->project = pfsd_pb_project(a, r->project);
    return p;
}

PfsV2__Branch *
pfsd_pb_branch(pfsd_arena_t *a, const pfsd_repo_t *r, const char *name)
{
    PfsV2__Branch *b = pfsd_arena_alloc(a, sizeof(*b));

    pfs_v2__branch__init(b);
    b->repo = pfsd_pb_repo(a, r);
    b->name = pfsd_arena_strdup(a, name);
    return b;
}

PfsV2__Commit *
pfsd_pb_commit(pfsd_arena_t *a, const pfsd_commit_t *c)
{
    PfsV2__Commit *p = pfsd_arena_alloc(a, sizeof(*p));

    pfs_v2__commit__init(p);
    /* Since 2.11 pachd clears Commit.branch in every response. */
    p->repo = pfsd_pb_repo(a, &c->repo);
    p->id = (char *) c->uuid;
    return p;
}

Google__Protobuf__Timestamp *
pfsd_pb_time(pfsd_arena_t *a, int64_t ns)
{
    Google__Protobuf__Timestamp *t;

    if (ns == 0) {
        return NULL;
    }
    t = pfsd_arena_alloc(a, sizeof(*t));
    google__protobuf__timestamp__init(t);
    t->seconds = ns / 1000000000;
    t->nanos = (int32_t) (ns % 1000000000);
    return t;
}

bool
pfsd_pb_commit_info(pfsd_db_t *db, pfsd_arena_t *a, const pfsd_commit_t *c,
                    PfsV2__CommitInfo **out, pfsd_status_t *st)
{
    PfsV2__CommitInfo *ci = pfsd_arena_alloc(a, sizeof(*ci));
    pfsd_commit_t other;
    sqlite3_stmt *s;
    int64_t *kids = NULL;
    size_t n = 0, cap = 0, i;
    int rc;

    pfs_v2__commit_info__init(ci);
    ci->commit = pfsd_pb_commit(a, c);
    ci->description = (char *) c->description;
    ci->error = (char *) c->error;
    ci->started = pfsd_pb_time(a, c->started);
    ci->finishing = pfsd_pb_time(a, c->finishing);
    ci->finished = pfsd_pb_time(a, c->finished);
    /* pachd reports the size once the commit has finished. */
    ci->size_bytes_upper_bound = c->finished != 0 ? c->size : 0;
    if (c->parent != 0) {
        if (!pfsd_cat_commit(db, a, c->parent, &c->repo, &other, st)) {
            return false;
        }
        ci->parent_commit = pfsd_pb_commit(a, &other);
    }
    s = pfsd_db_stmt(db, "SELECT id FROM commits WHERE parent=? ORDER BY id");
    pfsd_bind_int(s, 1, c->id);
    while ((rc = pfsd_db_row(db, s, st)) == 1) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4;
            kids = pfsd_xrealloc(kids, cap * sizeof(*kids));
        }
        kids[n++] = sqlite3_column_int64(s, 0);
    }
    if (rc < 0) {
        free(kids);
        return false;
    }
    if (n > 0) {
        ci->child_commits = pfsd_arena_alloc(a, n * sizeof(*ci->child_commits));
        for (i = 0; i < n; i++) {
            if (!pfsd_cat_commit(db, a, kids[i], &c->repo, &other, st)) {
                free(kids);
                return false;
            }
            ci->child_commits[i] = pfsd_pb_commit(a, &other);
        }
        ci->n_child_commits = n;
    }
    free(kids);
    *out = ci;
    return true;
}

/* ------------------------------------------------------------ mutations */

static bool
pfsd_cat_new_lineage(pfsd_db_t *db, int64_t repo_id, int64_t *lineage,
                     pfsd_status_t *st)
{
    sqlite3_stmt *s = pfsd_db_stmt(db, "INSERT INTO lineages(repo, tip)"
                                       " VALUES (?, 1)");

    pfsd_bind_int(s, 1, repo_id);
    if (!pfsd_db_run(db, s, st)) {
        return false;
    }
    *lineage = sqlite3_last_insert_rowid(pfsd_db_handle(db));
    return true;
}

/* Places a child of parent: extends the parent's lineage when the parent
 * is its finished tip, else forks a new lineage holding a copy of the
 * parent's files as seq 0. */
static bool
pfsd_cat_place(pfsd_db_t *db, const pfsd_repo_t *r, const pfsd_commit_t *p,
               int64_t *lineage, int64_t *seq, pfsd_status_t *st)
{
    sqlite3_stmt *s;
    int64_t tip;
    int rc;

    if (p == NULL) {
        *seq = 1;
        return pfsd_cat_new_lineage(db, r->id, lineage, st);
    }
    s = pfsd_db_stmt(db, "SELECT tip FROM lineages WHERE id=?");
    pfsd_bind_int(s, 1, p->lineage);
    rc = pfsd_db_row(db, s, st);
    if (rc <= 0) {
        return rc == 0 ? pfsd_fail(st, GRPC_STATUS_INTERNAL,
                                   "lineage %lld missing",
                                   (long long) p->lineage)
                       : false;
    }
    tip = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (p->finished != 0 && p->seq == tip) {
        s = pfsd_db_stmt(db, "UPDATE lineages SET tip=tip+1 WHERE id=?");
        pfsd_bind_int(s, 1, p->lineage);
        *lineage = p->lineage;
        *seq = tip + 1;
        return pfsd_db_run(db, s, st);
    }
    if (!pfsd_cat_new_lineage(db, r->id, lineage, st)) {
        return false;
    }
    *seq = 1;
    s = pfsd_db_stmt(db, "INSERT INTO files(lineage, path, born, died,"
                         " content, size, hash)"
                         " SELECT ?1, path, 0, NULL, content, size, hash"
                         " FROM files"
                         " WHERE lineage=?2 AND born<=?3"
                         " AND (died IS NULL OR died>?3)");
    pfsd_bind_int(s, 1, *lineage);
    pfsd_bind_int(s, 2, p->lineage);
    pfsd_bind_int(s, 3, p->seq);
    return pfsd_db_run(db, s, st);
}

bool
pfsd_cat_new_commit(pfsd_db_t *db, pfsd_arena_t *a, const pfsd_repo_t *r,
                    const char *branch, const pfsd_commit_t *parent,
                    const char *description, int64_t finished_ns,
                    pfsd_commit_t *out, pfsd_status_t *st)
{
    char uuid[33];
    sqlite3_stmt *s;
    int64_t now = pfsd_now_ns();

    memset(out, 0, sizeof(*out));
    if (!pfsd_cat_place(db, r, parent, &out->lineage, &out->seq, st)) {
        return false;
    }
    pfsd_new_uuid(uuid);
    out->uuid = pfsd_arena_strdup(a, uuid);
    out->branch = pfsd_arena_strdup(a, branch ? branch : "");
    out->description = pfsd_arena_strdup(a, description ? description : "");
    out->error = "";
    out->repo = *r;
    out->parent = parent ? parent->id : 0;
    out->started = now;
    out->finishing = finished_ns;
    out->finished = finished_ns;
    out->size = parent ? parent->size : 0;
    /* The parent's size as stored (a caller's copy may be stale). */
    s = pfsd_db_stmt(db, "INSERT INTO commits(repo, uuid, branch, parent,"
                         " lineage, seq, description, started, finishing,"
                         " finished, size)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
                         " coalesce((SELECT size FROM commits WHERE id=?4),"
                         " 0))");
    pfsd_bind_int(s, 1, r->id);
    pfsd_bind_text(s, 2, out->uuid);
    pfsd_bind_text(s, 3, out->branch);
    if (parent != NULL) {
        pfsd_bind_int(s, 4, parent->id);
    }
    pfsd_bind_int(s, 5, out->lineage);
    pfsd_bind_int(s, 6, out->seq);
    pfsd_bind_text(s, 7, out->description);
    pfsd_bind_int(s, 8, now);
    if (finished_ns != 0) {
        pfsd_bind_int(s, 9, finished_ns);
        pfsd_bind_int(s, 10, finished_ns);
    }
    if (!pfsd_db_run(db, s, st)) {
        return false;
    }
    out->id = sqlite3_last_insert_rowid(pfsd_db_handle(db));
    return true;
}

bool
pfsd_cat_set_head(pfsd_db_t *db, const pfsd_repo_t *r, const char *name,
                  int64_t head, pfsd_status_t *st)
{
    sqlite3_stmt *s = pfsd_db_stmt(db, "INSERT INTO branches(repo, name, head,"
                                       " created) VALUES (?, ?, ?, ?)"
                                       " ON CONFLICT(repo, name)"
                                       " DO UPDATE SET head=excluded.head");

    pfsd_bind_int(s, 1, r->id);
    pfsd_bind_text(s, 2, name);
    pfsd_bind_int(s, 3, head);
    pfsd_bind_int(s, 4, pfsd_now_ns());
    return pfsd_db_run(db, s, st);
}

bool
pfsd_cat_finish_commit(pfsd_db_t *db, pfsd_commit_t *c,
                       const char *description, const char *error,
                       pfsd_status_t *st)
{
    sqlite3_stmt *s;
    int64_t now = pfsd_now_ns();

    s = pfsd_db_stmt(db, "UPDATE commits SET finishing=?1, finished=?1,"
                         " description=CASE WHEN ?2='' THEN description"
                         " ELSE ?2 END, error=?3 WHERE id=?4");
    pfsd_bind_int(s, 1, now);
    pfsd_bind_text(s, 2, description ? description : "");
    pfsd_bind_text(s, 3, error ? error : "");
    pfsd_bind_int(s, 4, c->id);
    if (!pfsd_db_run(db, s, st)) {
        return false;
    }
    c->finishing = c->finished = now;
    return true;
}

bool
pfsd_cat_delete_repo(pfsd_db_t *db, int64_t repo_id, pfsd_status_t *st)
{
    static const char *const sql[] = {
        "DELETE FROM files WHERE lineage IN"
        " (SELECT id FROM lineages WHERE repo=?)",
        "DELETE FROM lineages WHERE repo=?",
        "DELETE FROM branches WHERE repo=?",
        "DELETE FROM commits WHERE repo=?",
        "DELETE FROM repos WHERE id=?",
    };
    sqlite3_stmt *s;
    size_t i;

    for (i = 0; i < PFSD_ARRAY_LEN(sql); i++) {
        s = pfsd_db_stmt(db, sql[i]);
        pfsd_bind_int(s, 1, repo_id);
        if (!pfsd_db_run(db, s, st)) {
            return false;
        }
    }
    return true;
}
