/* The schema.  See docs/DESIGN.md "Storage model" for the meaning of the
 * tables; the comments here say what each column holds. */
#include "meta.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

#define PFSD_SCHEMA_VERSION 1

static const char pfsd_schema[] =
    /* Projects, repos, branches and commits: the catalog. Times are
     * nanoseconds since the epoch, NULL where pachd leaves them unset. */
    "CREATE TABLE projects("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  description TEXT NOT NULL DEFAULT '',"
    "  created INTEGER NOT NULL);"

    "CREATE TABLE repos("
    "  id INTEGER PRIMARY KEY,"
    "  project INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  description TEXT NOT NULL DEFAULT '',"
    "  created INTEGER NOT NULL,"
    "  UNIQUE(project, name, type));"

    /* A lineage is a linear run of commits; tip is the highest seq used
     * (an open commit, if any, is always the tip of its lineage). */
    "CREATE TABLE lineages("
    "  id INTEGER PRIMARY KEY,"
    "  repo INTEGER NOT NULL,"
    "  tip INTEGER NOT NULL);"
    "CREATE INDEX lineages_repo ON lineages(repo);"

    /* branch: the branch the commit was made on ('' when none).
     * parent: commits.id or NULL.  finished IS NULL while open. */
    "CREATE TABLE commits("
    "  id INTEGER PRIMARY KEY,"
    "  repo INTEGER NOT NULL,"
    "  uuid TEXT NOT NULL UNIQUE,"
    "  branch TEXT NOT NULL,"
    "  parent INTEGER,"
    "  lineage INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  description TEXT NOT NULL DEFAULT '',"
    "  error TEXT NOT NULL DEFAULT '',"
    "  started INTEGER NOT NULL,"
    "  finishing INTEGER,"
    "  finished INTEGER,"
    "  size INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX commits_parent ON commits(parent);"
    "CREATE INDEX commits_repo ON commits(repo, id);"
    "CREATE INDEX commits_lineage ON commits(lineage, seq);"

    "CREATE TABLE branches("
    "  id INTEGER PRIMARY KEY,"
    "  repo INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  head INTEGER NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  UNIQUE(repo, name));"
    "CREATE INDEX branches_head ON branches(head);"

    /* File versions: visible at seq t of the lineage iff
     * born <= t AND (died IS NULL OR died > t).  size and hash repeat the
     * content's so listings and directory sums read the index only. */
    "CREATE TABLE files("
    "  lineage INTEGER NOT NULL,"
    "  path TEXT NOT NULL,"
    "  born INTEGER NOT NULL,"
    "  died INTEGER,"
    "  content INTEGER NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  hash BLOB NOT NULL,"
    "  PRIMARY KEY(lineage, path, born)) WITHOUT ROWID;"
    "CREATE INDEX files_live ON files(lineage, path, size, hash, content)"
    "  WHERE died IS NULL;"

    /* Contents are immutable byte sequences: extents of chunks.
     * parts: the 16-byte MD5s of the pieces it was composed of.
     * refs: file versions pointing here (kept by triggers). */
    "CREATE TABLE contents("
    "  id INTEGER PRIMARY KEY,"
    "  size INTEGER NOT NULL,"
    "  hash BLOB NOT NULL,"
    "  parts BLOB NOT NULL,"
    "  refs INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX contents_dead ON contents(id) WHERE refs = 0;"

    "CREATE TABLE extents("
    "  content INTEGER NOT NULL,"
    "  off INTEGER NOT NULL,"
    "  chunk INTEGER NOT NULL,"
    "  chunk_off INTEGER NOT NULL,"
    "  len INTEGER NOT NULL,"
    "  PRIMARY KEY(content, off)) WITHOUT ROWID;"

    /* A chunk is stored once, in one pack, found by its SHA-256.
     * refs: extents pointing here (kept by triggers). */
    "CREATE TABLE chunks("
    "  id INTEGER PRIMARY KEY,"
    "  sha256 BLOB NOT NULL UNIQUE,"
    "  pack INTEGER NOT NULL,"
    "  off INTEGER NOT NULL,"
    "  len INTEGER NOT NULL,"
    "  refs INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX chunks_pack ON chunks(pack, off);"
    "CREATE INDEX chunks_dead ON chunks(id) WHERE refs = 0;"

    /* live: bytes of the pack's chunk records still in the chunks table;
     * compaction picks packs whose live share is low. */
    "CREATE TABLE packs("
    "  id INTEGER PRIMARY KEY,"
    "  live INTEGER NOT NULL DEFAULT 0);"

    "CREATE TRIGGER files_ins AFTER INSERT ON files BEGIN"
    "  UPDATE contents SET refs = refs + 1 WHERE id = NEW.content; END;"
    "CREATE TRIGGER files_del AFTER DELETE ON files BEGIN"
    "  UPDATE contents SET refs = refs - 1 WHERE id = OLD.content; END;"
    "CREATE TRIGGER extents_ins AFTER INSERT ON extents BEGIN"
    "  UPDATE chunks SET refs = refs + 1 WHERE id = NEW.chunk; END;"
    "CREATE TRIGGER extents_del AFTER DELETE ON extents BEGIN"
    "  UPDATE chunks SET refs = refs - 1 WHERE id = OLD.chunk; END;"
    "CREATE TRIGGER chunks_ins AFTER INSERT ON chunks BEGIN"
    "  INSERT OR IGNORE INTO packs(id) VALUES (NEW.pack);"
    "  UPDATE packs SET live = live + NEW.len + 48 WHERE id = NEW.pack; END;"
    "CREATE TRIGGER chunks_del AFTER DELETE ON chunks BEGIN"
    "  UPDATE packs SET live = live - OLD.len - 48 WHERE id = OLD.pack; END;"
    "CREATE TRIGGER chunks_move AFTER UPDATE OF pack ON chunks BEGIN"
    "  INSERT OR IGNORE INTO packs(id) VALUES (NEW.pack);"
    "  UPDATE packs SET live = live - OLD.len - 48 WHERE id = OLD.pack;"
    "  UPDATE packs SET live = live + NEW.len + 48 WHERE id = NEW.pack; END;"
    ;

static int
pfsd_meta_exec(pfsd_db_t *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;

    if (sqlite3_exec(pfsd_db_handle(db), sql, NULL, NULL, &msg) != SQLITE_OK)
    {
        snprintf(err, errlen, "metadata database: %s",
                 msg ? msg : sqlite3_errmsg(pfsd_db_handle(db)));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int
pfsd_meta_version(pfsd_db_t *db)
{
    sqlite3_stmt *s = pfsd_db_stmt(db, "PRAGMA user_version");
    int v = -1;

    if (sqlite3_step(s) == SQLITE_ROW) {
        v = sqlite3_column_int(s, 0);
    }
    sqlite3_reset(s);
    return v;
}

static int
pfsd_meta_create(pfsd_db_t *db, char *err, size_t errlen)
{
    char sql[256];
    int v;

    if (pfsd_meta_exec(db, "BEGIN IMMEDIATE", err, errlen) != 0) {
        return -1;
    }
    v = pfsd_meta_version(db);
    if (v == 0) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO projects(name, created) VALUES ('default', %lld);"
                 "PRAGMA user_version = %d;",
                 (long long) pfsd_now_ns(), PFSD_SCHEMA_VERSION);
        if (pfsd_meta_exec(db, pfsd_schema, err, errlen) != 0
            || pfsd_meta_exec(db, sql, err, errlen) != 0)
        {
            sqlite3_exec(pfsd_db_handle(db), "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    } else if (v != PFSD_SCHEMA_VERSION) {
        snprintf(err, errlen, "metadata database has schema version %d, "
                 "this pfsd knows %d", v, PFSD_SCHEMA_VERSION);
        sqlite3_exec(pfsd_db_handle(db), "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return pfsd_meta_exec(db, "COMMIT", err, errlen);
}

int
pfsd_meta_setup(pfsd_db_t *db, bool writer, char *err, size_t errlen)
{
    /* synchronous=FULL: a COMMIT that returned is on disk, which is what a
     * reply of OK promises.  The WAL lets readers run beside the writer. */
    static const char pragmas[] =
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=FULL;"
        "PRAGMA cache_size=-4096;"
        "PRAGMA temp_store=MEMORY;";

    if (pfsd_meta_exec(db, pragmas, err, errlen) != 0) {
        return -1;
    }
    if (writer) {
        /* The committer's transactions can be large (group commit); keep
         * auto-checkpoints but let the WAL grow a little between them. */
        if (pfsd_meta_exec(db, "PRAGMA wal_autocheckpoint=4000;"
                           "PRAGMA cache_size=-16384;"
                           "PRAGMA temp_store=FILE;",
                           err, errlen) != 0)
        {
            return -1;
        }
        return pfsd_meta_create(db, err, errlen);
    }
    /* Readers never write: a bug that tries is refused by SQLite. */
    return pfsd_meta_exec(db, "PRAGMA query_only=1;", err, errlen);
}
