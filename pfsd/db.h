/* A SQLite connection with a cache of prepared statements.
 *
 * Each connection is used by one thread at a time: every completion-queue
 * thread owns a read connection, the committer owns the only writer.
 * Statements are looked up by the address of their SQL text, so call sites
 * keep the SQL next to the code that uses it. */
#ifndef PFSD_DB_H
#define PFSD_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "status.h"

typedef struct pfsd_db pfsd_db_t;

/* Opens DIR/meta.db.  The writer creates the schema. */
int pfsd_db_open(pfsd_db_t **out, const char *path, bool writer,
                 char *err, size_t errlen);
void pfsd_db_close(pfsd_db_t *db);
sqlite3 *pfsd_db_handle(pfsd_db_t *db);

/* The connection's memo (one per connection, made by create the first
 * time, freed with destroy when the connection closes). */
void *pfsd_db_memo(pfsd_db_t *db, void *(*create)(void),
                   void (*destroy)(void *));

/* Inside a read connection's transaction: the data version of its
 * snapshot, the same for two snapshots exactly when no commit came
 * between them.  False on the writer, outside a transaction, on error. */
bool pfsd_db_snapshot_version(pfsd_db_t *db, int64_t *version);

/* The cached statement for sql, reset and with bindings cleared.  A SQL
 * error here is a bug in pfsd: it aborts with the message. */
sqlite3_stmt *pfsd_db_stmt(pfsd_db_t *db, const char *sql);

/* Runs one SQL statement with no result rows (a string constant: it is
 * cached like pfsd_db_stmt); false and st filled on failure. */
bool pfsd_db_exec(pfsd_db_t *db, const char *sql, pfsd_status_t *st);

/* Read transactions give a consistent snapshot across several queries. */
bool pfsd_db_begin(pfsd_db_t *db, pfsd_status_t *st);
bool pfsd_db_begin_write(pfsd_db_t *db, pfsd_status_t *st);
bool pfsd_db_commit(pfsd_db_t *db, pfsd_status_t *st);
void pfsd_db_rollback(pfsd_db_t *db);

/* Resets every cached statement so no statement holds the snapshot open. */
void pfsd_db_reset_all(pfsd_db_t *db);

/* Fills st with an INTERNAL error from the connection's last error. */
bool pfsd_db_fail(pfsd_db_t *db, pfsd_status_t *st);

/* Steps a statement expected to finish without rows (INSERT/UPDATE/DELETE). */
bool pfsd_db_run(pfsd_db_t *db, sqlite3_stmt *s, pfsd_status_t *st);

/* Steps a statement expected to give zero or one row: returns 1 with a
 * row (the statement stays positioned on it), 0 without, -1 on error. */
int pfsd_db_row(pfsd_db_t *db, sqlite3_stmt *s, pfsd_status_t *st);

/* Binding shortcuts. */
void pfsd_bind_text(sqlite3_stmt *s, int i, const char *v);
void pfsd_bind_int(sqlite3_stmt *s, int i, int64_t v);
void pfsd_bind_blob(sqlite3_stmt *s, int i, const void *p, size_t n);
/* A text column; never NULL ("" for SQL NULL). */
const char *pfsd_col_text(sqlite3_stmt *s, int i);

#endif
