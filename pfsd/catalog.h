/* Projects, repos, branches and commits in the metadata database: lookups
 * with pachd's error messages, and the mutations the committer applies. */
#ifndef PFSD_CATALOG_H
#define PFSD_CATALOG_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "pfs.pb-c.h"
#include "status.h"
#include "util.h"

typedef struct pfsd_repo {
    int64_t id, project_id, created;
    const char *project, *name, *type, *description;
} pfsd_repo_t;

typedef struct pfsd_commit {
    int64_t id, parent;             /* parent 0: none */
    int64_t lineage, seq;
    int64_t started, finishing, finished;   /* 0: unset */
    int64_t size;
    const char *uuid, *branch, *description, *error;
    pfsd_repo_t repo;
} pfsd_commit_t;

/* "<project>/<name>", or "<project>/<name>.<type>" for a non-user repo. */
const char *pfsd_repo_str(pfsd_arena_t *a, const pfsd_repo_t *r);
/* Same for a repo given in a request (project and type defaulted). */
const char *pfsd_repo_pb_str(pfsd_arena_t *a, const PfsV2__Repo *r);
/* pachd's Commit.String() of a request's commit: "<repo>@<id>", or
 * "<repo>@<branch>" when it has no id. */
const char *pfsd_commit_pb_str(pfsd_arena_t *a, const PfsV2__Commit *c);
/* Project, name and type of a request's repo with pachd's defaults. */
void pfsd_repo_key(const PfsV2__Repo *r, const char **project,
                   const char **name, const char **type);

bool pfsd_cat_project(pfsd_db_t *db, const char *name, int64_t *id,
                      pfsd_status_t *st);
bool pfsd_cat_repo(pfsd_db_t *db, pfsd_arena_t *a, const PfsV2__Repo *r,
                   pfsd_repo_t *out, pfsd_status_t *st);
bool pfsd_cat_repo_by_id(pfsd_db_t *db, pfsd_arena_t *a, int64_t id,
                         pfsd_repo_t *out, pfsd_status_t *st);

/* Branch lookup: returns 1 found, 0 missing (no error set), -1 error. */
int pfsd_cat_branch(pfsd_db_t *db, int64_t repo_id, const char *name,
                    int64_t *branch_id, int64_t *head, pfsd_status_t *st);
bool pfsd_branch_not_found(pfsd_arena_t *a, const pfsd_repo_t *r,
                           const char *name, pfsd_status_t *st);

bool pfsd_cat_commit(pfsd_db_t *db, pfsd_arena_t *a, int64_t id,
                     const pfsd_repo_t *repo, pfsd_commit_t *out,
                     pfsd_status_t *st);
/* A request's Commit: by id, or the head of its branch. */
bool pfsd_cat_resolve(pfsd_db_t *db, pfsd_arena_t *a, const PfsV2__Commit *c,
                      pfsd_commit_t *out, pfsd_status_t *st);

/* Messages describing catalog rows, allocated from a. */
PfsV2__Project *pfsd_pb_project(pfsd_arena_t *a, const char *name);
PfsV2__Repo *pfsd_pb_repo(pfsd_arena_t *a, const pfsd_repo_t *r);
PfsV2__Branch *pfsd_pb_branch(pfsd_arena_t *a, const pfsd_repo_t *r,
                              const char *name);
PfsV2__Commit *pfsd_pb_commit(pfsd_arena_t *a, const pfsd_commit_t *c);
Google__Protobuf__Timestamp *pfsd_pb_time(pfsd_arena_t *a, int64_t ns);
bool pfsd_pb_commit_info(pfsd_db_t *db, pfsd_arena_t *a,
                         const pfsd_commit_t *c, PfsV2__CommitInfo **out,
                         pfsd_status_t *st);

/* ---- mutations (committer) ---- */

/* A new commit on repo r, child of parent (NULL: none), placed in a
 * lineage (extending the parent's when the parent is its lineage's tip,
 * else a fork that starts as a copy of the parent's files).  finished_ns
 * 0 leaves it open. */
bool pfsd_cat_new_commit(pfsd_db_t *db, pfsd_arena_t *a, const pfsd_repo_t *r,
                         const char *branch, const pfsd_commit_t *parent,
                         const char *description, int64_t finished_ns,
                         pfsd_commit_t *out, pfsd_status_t *st);
bool pfsd_cat_set_head(pfsd_db_t *db, const pfsd_repo_t *r, const char *name,
                       int64_t head, pfsd_status_t *st);
bool pfsd_cat_finish_commit(pfsd_db_t *db, pfsd_commit_t *c,
                            const char *description, const char *error,
                            pfsd_status_t *st);
/* Removes a repo with its branches, commits and file versions (contents
 * they alone referenced become garbage for the collector). */
bool pfsd_cat_delete_repo(pfsd_db_t *db, int64_t repo_id, pfsd_status_t *st);

#endif
