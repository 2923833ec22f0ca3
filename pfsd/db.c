#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta.h"
#include "util.h"

#define PFSD_DB_CACHE 256   /* power of two, larger than the SQL in pfsd */

typedef struct pfsd_db_entry {
    const char *sql;
    sqlite3_stmt *stmt;
    bool used;                      /* handed out since the last reset_all */
} pfsd_db_entry_t;

struct pfsd_db {
    sqlite3 *h;
    pfsd_db_entry_t cache[PFSD_DB_CACHE];
    /* The entries handed out since the last reset_all: only they can hold
     * the snapshot open, and a small read uses a handful of the cache, so
     * resetting just these instead of every slot at each commit saves
     * about a twentieth of a small read's work. */
    uint16_t used[PFSD_DB_CACHE];
    size_t nused;
    bool writer;
    void *memo;                     /* pfsd_db_memo() */
    void (*memo_free)(void *memo);
};

int
pfsd_db_open(pfsd_db_t **out, const char *path, bool writer,
             char *err, size_t errlen)
{
    pfsd_db_t *db = pfsd_xcalloc(1, sizeof(*db));
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    int rc;

    db->writer = writer;
    if (writer) {
        flags |= SQLITE_OPEN_CREATE;
    }
    rc = sqlite3_open_v2(path, &db->h, flags, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path,
                 db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
        pfsd_db_close(db);
        return -1;
    }
    sqlite3_extended_result_codes(db->h, 1);
    /* Readers can meet the writer's checkpoint; wait instead of failing. */
    sqlite3_busy_timeout(db->h, 10000);
    if (pfsd_meta_setup(db, writer, err, errlen) != 0) {
        pfsd_db_close(db);
        return -1;
    }
    *out = db;
    return 0;
}

void
pfsd_db_close(pfsd_db_t *db)
{
    size_t i;

    if (db == NULL) {
        return;
    }
    if (db->memo_free != NULL) {
        db->memo_free(db->memo);
    }
    for (i = 0; i < PFSD_DB_CACHE; i++) {
        if (db->cache[i].stmt != NULL) {
            sqlite3_finalize(db->cache[i].stmt);
        }
    }
    sqlite3_close_v2(db->h);
    free(db);
}

sqlite3 *
pfsd_db_handle(pfsd_db_t *db)
{
    return db->h;
}

void *
pfsd_db_memo(pfsd_db_t *db, void *(*create)(void), void (*destroy)(void *))
{
    if (db->memo == NULL) {
        db->memo = create();
        db->memo_free = destroy;
    }
    return db->memo;
}

bool
pfsd_db_snapshot_version(pfsd_db_t *db, int64_t *version)
{
    sqlite3_stmt *s;
    pfsd_status_t st;

    /* a read connection's explicit transaction only: the pragma then
     * opens (or reads) the snapshot every later statement of it uses */
    if (db->writer || sqlite3_get_autocommit(db->h)) {
        return false;
    }
    s = pfsd_db_stmt(db, "PRAGMA data_version");
    if (pfsd_db_row(db, s, &st) != 1) {
        return false;
    }
    *version = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return true;
}

sqlite3_stmt *
pfsd_db_stmt(pfsd_db_t *db, const char *sql)
{
    size_t i = ((uintptr_t) sql >> 3) & (PFSD_DB_CACHE - 1);
    size_t probes;
    pfsd_db_entry_t *e;

    for (probes = 0; probes < PFSD_DB_CACHE; probes++) {
        e = &db->cache[i];
        if (e->sql == sql) {
            sqlite3_reset(e->stmt);
            sqlite3_clear_bindings(e->stmt);
            break;
        }
        if (e->sql == NULL) {
            if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                   &e->stmt, NULL) != SQLITE_OK)
            {
                fprintf(stderr, "pfsd: bad SQL (%s): %s\n",
                        sqlite3_errmsg(db->h), sql);
                abort();
            }
            e->sql = sql;
            break;
        }
        i = (i + 1) & (PFSD_DB_CACHE - 1);
    }
    if (probes < PFSD_DB_CACHE) {
        if (!e->used) {
            e->used = true;
            db->used[db->nused++] = (uint16_t) i;
        }
        return e->stmt;
    }
    fprintf(stderr, "pfsd: statement cache full\n");
    abort();
}

void
pfsd_db_reset_all(pfsd_db_t *db)
{
    pfsd_db_entry_t *e;
    size_t i;

    for (i = 0; i < db->nused; i++) {
        e = &db->cache[db->used[i]];
        sqlite3_reset(e->stmt);
        e->used = false;
    }
    db->nused = 0;
}

bool
pfsd_db_fail(pfsd_db_t *db, pfsd_status_t *st)
{
    return pfsd_fail(st, GRPC_STATUS_INTERNAL, "storage error: %s",
                     sqlite3_errmsg(db->h));
}

/* One statement of transaction control (BEGIN, COMMIT, SAVEPOINT, ...),
 * prepared once like any other: sqlite3_exec would parse it again on every
 * call, which was a twentieth of the work of a small read. */
bool
pfsd_db_exec(pfsd_db_t *db, const char *sql, pfsd_status_t *st)
{
    return pfsd_db_run(db, pfsd_db_stmt(db, sql), st);
}

bool
pfsd_db_begin(pfsd_db_t *db, pfsd_status_t *st)
{
    return pfsd_db_exec(db, "BEGIN", st);
}

bool
pfsd_db_begin_write(pfsd_db_t *db, pfsd_status_t *st)
{
    return pfsd_db_exec(db, "BEGIN IMMEDIATE", st);
}

bool
pfsd_db_commit(pfsd_db_t *db, pfsd_status_t *st)
{
    pfsd_db_reset_all(db);
    if (!pfsd_db_exec(db, "COMMIT", st)) {
        pfsd_db_rollback(db);
        return false;
    }
    return true;
}

void
pfsd_db_rollback(pfsd_db_t *db)
{
    pfsd_db_reset_all(db);
    if (!sqlite3_get_autocommit(db->h)) {
        pfsd_status_t st;

        pfsd_db_exec(db, "ROLLBACK", &st);
    }
}

bool
pfsd_db_run(pfsd_db_t *db, sqlite3_stmt *s, pfsd_status_t *st)
{
    int rc = sqlite3_step(s);

    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        pfsd_db_fail(db, st);
        sqlite3_reset(s);
        return false;
    }
    sqlite3_reset(s);
    return true;
}

int
pfsd_db_row(pfsd_db_t *db, sqlite3_stmt *s, pfsd_status_t *st)
{
    int rc = sqlite3_step(s);

    if (rc == SQLITE_ROW) {
        return 1;
    }
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        return 0;
    }
    pfsd_db_fail(db, st);
    sqlite3_reset(s);
    return -1;
}

void
pfsd_bind_text(sqlite3_stmt *s, int i, const char *v)
{
    sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

void
pfsd_bind_int(sqlite3_stmt *s, int i, int64_t v)
{
    sqlite3_bind_int64(s, i, v);
}

void
pfsd_bind_blob(sqlite3_stmt *s, int i, const void *p, size_t n)
{
    sqlite3_bind_blob(s, i, p, (int) n, SQLITE_TRANSIENT);
}

const char *
pfsd_col_text(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);

    return t ? (const char *) t : "";
}
