#include "files.h"

#include <stdlib.h>
#include <string.h>

#include "view.h"

static bool
pfsd_files_add_size(pfsd_db_t *db, const pfsd_target_t *t, int64_t delta,
                    pfsd_status_t *st)
{
    sqlite3_stmt *s;

    if (delta == 0) {
        return true;
    }
    s = pfsd_db_stmt(db, "UPDATE commits SET size=size+? WHERE id=?");
    pfsd_bind_int(s, 1, delta);
    pfsd_bind_int(s, 2, t->commit);
    return pfsd_db_run(db, s, st);
}

int
pfsd_files_get(pfsd_db_t *db, const pfsd_target_t *t, const char *path,
               pfsd_fileref_t *out, pfsd_status_t *st)
{
    sqlite3_stmt *s = pfsd_db_stmt(db, "SELECT content, size, hash FROM files"
                                       " WHERE lineage=? AND path=?"
                                       " AND died IS NULL");
    int rc, n;

    pfsd_bind_int(s, 1, t->lineage);
    pfsd_bind_text(s, 2, path);
    rc = pfsd_db_row(db, s, st);
    if (rc == 1) {
        out->content = sqlite3_column_int64(s, 0);
        out->size = sqlite3_column_int64(s, 1);
        n = sqlite3_column_bytes(s, 2);
        out->hash_len = (size_t) (n > PFSD_HASH_MAX ? PFSD_HASH_MAX : n);
        memcpy(out->hash, sqlite3_column_blob(s, 2), out->hash_len);
        sqlite3_reset(s);
    }
    return rc;
}

/* A version born in this very commit was never visible to a finished
 * commit: it is removed.  An older one is ended at this seq. */
bool
pfsd_files_delete(pfsd_db_t *db, const pfsd_target_t *t, const char *path,
                  pfsd_status_t *st)
{
    pfsd_fileref_t old;
    sqlite3_stmt *s;
    int rc;

    rc = pfsd_files_get(db, t, path, &old, st);
    if (rc <= 0) {
        return rc == 0;
    }
    s = pfsd_db_stmt(db, "DELETE FROM files WHERE lineage=? AND path=?"
                         " AND born=? AND died IS NULL");
    pfsd_bind_int(s, 1, t->lineage);
    pfsd_bind_text(s, 2, path);
    pfsd_bind_int(s, 3, t->seq);
    if (!pfsd_db_run(db, s, st)) {
        return false;
    }
    s = pfsd_db_stmt(db, "UPDATE files SET died=?3 WHERE lineage=?1 AND path=?2"
                         " AND died IS NULL");
    pfsd_bind_int(s, 1, t->lineage);
    pfsd_bind_text(s, 2, path);
    pfsd_bind_int(s, 3, t->seq);
    return pfsd_db_run(db, s, st)
           && pfsd_files_add_size(db, t, -old.size, st);
}

bool
pfsd_files_put(pfsd_db_t *db, const pfsd_target_t *t, const char *path,
               const pfsd_fileref_t *f, pfsd_status_t *st)
{
    sqlite3_stmt *s;

    if (!pfsd_files_delete(db, t, path, st)) {
        return false;
    }
    s = pfsd_db_stmt(db, "INSERT INTO files(lineage, path, born, died, content,"
                         " size, hash) VALUES (?, ?, ?, NULL, ?, ?, ?)");
    pfsd_bind_int(s, 1, t->lineage);
    pfsd_bind_text(s, 2, path);
    pfsd_bind_int(s, 3, t->seq);
    pfsd_bind_int(s, 4, f->content);
    pfsd_bind_int(s, 5, f->size);
    pfsd_bind_blob(s, 6, f->hash, f->hash_len);
    return pfsd_db_run(db, s, st) && pfsd_files_add_size(db, t, f->size, st);
}

bool
pfsd_files_delete_under(pfsd_db_t *db, const pfsd_target_t *t,
                        const char *prefix, pfsd_status_t *st)
{
    char *upper = NULL;
    sqlite3_stmt *s;
    int64_t total = 0;
    bool ok;

    if (strcmp(prefix, "/") == 0) {
        prefix = "";
    }
    if (prefix[0] != '\0') {
        upper = pfsd_path_successor(prefix);
    }
#define PFSD_UNDER " WHERE lineage=?1 AND died IS NULL AND path>=?2 AND path<?3"
    s = pfsd_db_stmt(db, "SELECT coalesce(sum(size), 0) FROM files"
                         PFSD_UNDER);
    pfsd_bind_int(s, 1, t->lineage);
    pfsd_bind_text(s, 2, prefix);
    upper ? pfsd_bind_text(s, 3, upper) : (void) sqlite3_bind_zeroblob(s, 3, 0);
    ok = pfsd_db_row(db, s, st) == 1;
    if (ok) {
        total = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
        s = pfsd_db_stmt(db, "DELETE FROM files" PFSD_UNDER " AND born=?4");
        pfsd_bind_int(s, 1, t->lineage);
        pfsd_bind_text(s, 2, prefix);
        upper ? pfsd_bind_text(s, 3, upper)
              : (void) sqlite3_bind_zeroblob(s, 3, 0);
        pfsd_bind_int(s, 4, t->seq);
        ok = pfsd_db_run(db, s, st);
    }
    if (ok) {
        s = pfsd_db_stmt(db, "UPDATE files SET died=?4" PFSD_UNDER);
        pfsd_bind_int(s, 1, t->lineage);
        pfsd_bind_text(s, 2, prefix);
        upper ? pfsd_bind_text(s, 3, upper)
              : (void) sqlite3_bind_zeroblob(s, 3, 0);
        pfsd_bind_int(s, 4, t->seq);
        ok = pfsd_db_run(db, s, st) && pfsd_files_add_size(db, t, -total, st);
    }
#undef PFSD_UNDER
    free(upper);
    return ok;
}
