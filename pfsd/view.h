/* The files of one commit, read from the files table: point lookups,
 * directory totals, and an ordered cursor that synthesizes directories.
 *
 * Directories are implicit: the cursor yields a directory ("/a/", with its
 * trailing slash) just before its first descendant, which is its place in
 * byte order.  A consumer that does not want a directory's contents calls
 * pfsd_cursor_skip() and the cursor seeks past the whole subtree (the key
 * after every path under "/a/" is "/a0").  Files are fetched a page at a
 * time; nothing holds more than a page. */
#ifndef PFSD_VIEW_H
#define PFSD_VIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "catalog.h"
#include "db.h"
#include "hash.h"
#include "status.h"

typedef struct pfsd_view {
    int64_t lineage, seq;
    bool tip;               /* seq is the lineage's newest: use the live index */
} pfsd_view_t;

typedef struct pfsd_entry {
    char *path;             /* malloc'd; directories end with "/" */
    bool dir;
    int64_t size;
    int64_t content;        /* files only */
    uint8_t hash[PFSD_HASH_MAX];
    size_t hash_len;
} pfsd_entry_t;

void pfsd_entry_clear(pfsd_entry_t *e);

bool pfsd_view_open(pfsd_db_t *db, const pfsd_commit_t *c, pfsd_view_t *v,
                    pfsd_status_t *st);

/* A file at exactly path: 1 found, 0 not, -1 error. */
int pfsd_view_file(pfsd_db_t *db, const pfsd_view_t *v, const char *path,
                   pfsd_entry_t *e, pfsd_status_t *st);

/* Totals of the directory dir (ending with "/"): size of every file below
 * and a hash over their hashes in path order.  1 when it has any file,
 * 0 when it does not exist, -1 on error.  e->path becomes dir. */
int pfsd_view_dir(pfsd_db_t *db, const pfsd_view_t *v, const char *dir,
                  pfsd_entry_t *e, pfsd_status_t *st);

/* The smallest string greater than every string that starts with s. */
char *pfsd_path_successor(const char *s);

typedef struct pfsd_cursor pfsd_cursor_t;

/* Entries with lower <= path < upper (upper NULL: no bound). */
pfsd_cursor_t *pfsd_cursor_new(const pfsd_view_t *v, const char *lower,
                               const char *upper);
void pfsd_cursor_free(pfsd_cursor_t *c);

/* The next entry (e is overwritten; the cursor owns nothing of it):
 * 1, 0 at the end, -1 on error.  Directories come without totals. */
int pfsd_cursor_next(pfsd_cursor_t *c, pfsd_db_t *db, pfsd_entry_t *e,
                     pfsd_status_t *st);

/* Skips everything under dir (a directory the cursor just yielded). */
void pfsd_cursor_skip(pfsd_cursor_t *c, const char *dir);

#endif
