/* A scratch metadata database for unit tests: a fresh data directory under
 * /tmp with the schema, one repo, and helpers to make commits and files. */
#ifndef PFSD_TEST_DB_H
#define PFSD_TEST_DB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "db.h"
#include "files.h"
#include "view.h"

typedef struct testdb {
    char dir[64];
    pfsd_db_t *db;
    pfsd_arena_t arena;
    pfsd_repo_t repo;
} testdb_t;

static inline void
testdb_die(const char *what, const pfsd_status_t *st)
{
    fprintf(stderr, "Bail out! %s: %s\n", what, st ? st->msg : "");
    printf("Bail out! %s\n", what);
    exit(2);
}

static inline void
testdb_open(testdb_t *t)
{
    char path[128], err[256];
    pfsd_status_t st;
    sqlite3_stmt *s;

    memset(t, 0, sizeof(*t));
    snprintf(t->dir, sizeof(t->dir), "/tmp/pfsd-unit-XXXXXX");
    if (mkdtemp(t->dir) == NULL) {
        testdb_die("mkdtemp", NULL);
    }
    snprintf(path, sizeof(path), "%s/meta.db", t->dir);
    if (pfsd_db_open(&t->db, path, true, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        testdb_die("open", NULL);
    }
    s = pfsd_db_stmt(t->db, "INSERT INTO repos(project, name, type, created)"
                            " VALUES (1, 'r', 'user', 1)");
    if (!pfsd_db_run(t->db, s, &st)
        || !pfsd_cat_repo_by_id(t->db, &t->arena, 1, &t->repo, &st))
    {
        testdb_die("repo", &st);
    }
}

static inline void
testdb_close(testdb_t *t)
{
    char cmd[128];

    pfsd_db_close(t->db);
    pfsd_arena_free(&t->arena);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot remove %s\n", t->dir);
    }
}

/* A new commit, child of parent (NULL: none), left open. */
static inline pfsd_commit_t
testdb_commit(testdb_t *t, const pfsd_commit_t *parent)
{
    pfsd_commit_t c;
    pfsd_status_t st;

    if (!pfsd_cat_new_commit(t->db, &t->arena, &t->repo, "master", parent,
                             "", 0, &c, &st))
    {
        testdb_die("commit", &st);
    }
    return c;
}

static inline void
testdb_finish(testdb_t *t, pfsd_commit_t *c)
{
    pfsd_status_t st;

    if (!pfsd_cat_finish_commit(t->db, c, NULL, NULL, &st)) {
        testdb_die("finish", &st);
    }
}

static inline pfsd_target_t
testdb_target(const pfsd_commit_t *c)
{
    pfsd_target_t tg = { c->lineage, c->seq, c->id };

    return tg;
}

static inline void
testdb_put(testdb_t *t, const pfsd_commit_t *c, const char *path,
           int64_t size)
{
    pfsd_target_t tg = testdb_target(c);
    pfsd_fileref_t f;
    pfsd_status_t st;

    memset(&f, 0, sizeof(f));
    f.content = size + 1000;
    f.size = size;
    f.hash_len = 16;
    memset(f.hash, (int) (size & 0xff), 16);
    if (!pfsd_files_put(t->db, &tg, path, &f, &st)) {
        testdb_die("put", &st);
    }
}

static inline void
testdb_delete(testdb_t *t, const pfsd_commit_t *c, const char *path)
{
    pfsd_target_t tg = testdb_target(c);
    pfsd_status_t st;

    if (!pfsd_files_delete(t->db, &tg, path, &st)) {
        testdb_die("delete", &st);
    }
}

static inline pfsd_view_t
testdb_view(testdb_t *t, const pfsd_commit_t *c)
{
    pfsd_view_t v;
    pfsd_status_t st;

    if (!pfsd_view_open(t->db, c, &v, &st)) {
        testdb_die("view", &st);
    }
    return v;
}

/* Every entry of [lower, upper), space separated; with prune, directories
 * other than the root are yielded but not entered. */
static inline char *
testdb_walk(testdb_t *t, const pfsd_view_t *v, const char *lower,
            const char *upper, int prune)
{
    pfsd_cursor_t *c = pfsd_cursor_new(v, lower, upper);
    pfsd_entry_t e;
    pfsd_status_t st;
    size_t cap = 4096, len = 0, n;
    char *out = calloc(1, cap);
    int rc;

    memset(&e, 0, sizeof(e));
    while ((rc = pfsd_cursor_next(c, t->db, &e, &st)) == 1) {
        n = strlen(e.path);
        while (len + n + 2 > cap) {
            cap *= 2;
            out = realloc(out, cap);
        }
        if (len > 0) {
            out[len++] = ' ';
        }
        memcpy(out + len, e.path, n + 1);
        len += n;
        if (prune && e.dir && strcmp(e.path, "/") != 0) {
            pfsd_cursor_skip(c, e.path);
        }
    }
    if (rc < 0) {
        testdb_die("cursor", &st);
    }
    pfsd_entry_clear(&e);
    pfsd_cursor_free(c);
    return out;
}

#endif
