#include "view.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define PFSD_CURSOR_PAGE 256

void
pfsd_entry_clear(pfsd_entry_t *e)
{
    free(e->path);
    memset(e, 0, sizeof(*e));
}

bool
pfsd_view_open(pfsd_db_t *db, const pfsd_commit_t *c, pfsd_view_t *v,
               pfsd_status_t *st)
{
    sqlite3_stmt *s = pfsd_db_stmt(db, "SELECT tip FROM lineages WHERE id=?");
    int rc;

    pfsd_bind_int(s, 1, c->lineage);
    rc = pfsd_db_row(db, s, st);
    if (rc <= 0) {
        return rc == 0 ? pfsd_fail(st, GRPC_STATUS_INTERNAL,
                                   "lineage of commit %s missing", c->uuid)
                       : false;
    }
    v->lineage = c->lineage;
    v->seq = c->seq;
    v->tip = sqlite3_column_int64(s, 0) == c->seq;
    sqlite3_reset(s);
    return true;
}

/* Statement selecting path, size, hash, content of visible files with
 * ?2 <= path < ?3 in order (?3 a BLOB: greater than every text). */
static sqlite3_stmt *
pfsd_view_range(pfsd_db_t *db, const pfsd_view_t *v, const char *lower,
                const char *upper, int limit)
{
    sqlite3_stmt *s;

    if (v->tip) {
        s = pfsd_db_stmt(db, "SELECT path, size, hash, content FROM files"
                             " WHERE lineage=?1 AND died IS NULL"
                             " AND path>=?2 AND path<?3"
                             " ORDER BY path LIMIT ?4");
    } else {
        s = pfsd_db_stmt(db, "SELECT path, size, hash, content FROM files"
                             " WHERE lineage=?1 AND path>=?2 AND path<?3"
                             " AND born<=?5 AND (died IS NULL OR died>?5)"
                             " ORDER BY path LIMIT ?4");
        pfsd_bind_int(s, 5, v->seq);
    }
    pfsd_bind_int(s, 1, v->lineage);
    pfsd_bind_text(s, 2, lower);
    if (upper != NULL) {
        pfsd_bind_text(s, 3, upper);
    } else {
        sqlite3_bind_zeroblob(s, 3, 0);
    }
    pfsd_bind_int(s, 4, limit);
    return s;
}

static void
pfsd_entry_from_row(sqlite3_stmt *s, pfsd_entry_t *e)
{
    int n = sqlite3_column_bytes(s, 2);

    free(e->path);
    e->path = pfsd_xstrdup(pfsd_col_text(s, 0));
    e->dir = false;
    e->size = sqlite3_column_int64(s, 1);
    e->hash_len = (size_t) (n > PFSD_HASH_MAX ? PFSD_HASH_MAX : n);
    memcpy(e->hash, sqlite3_column_blob(s, 2), e->hash_len);
    e->content = sqlite3_column_int64(s, 3);
}

int
pfsd_view_file(pfsd_db_t *db, const pfsd_view_t *v, const char *path,
               pfsd_entry_t *e, pfsd_status_t *st)
{
    sqlite3_stmt *s;
    int rc;

    if (v->tip) {
        s = pfsd_db_stmt(db, "SELECT path, size, hash, content FROM files"
                             " WHERE lineage=? AND path=? AND died IS NULL");
    } else {
        s = pfsd_db_stmt(db, "SELECT path, size, hash, content FROM files"
                             " WHERE lineage=?1 AND path=?2 AND born<=?3"
                             " AND (died IS NULL OR died>?3)");
        pfsd_bind_int(s, 3, v->seq);
    }
    pfsd_bind_int(s, 1, v->lineage);
    pfsd_bind_text(s, 2, path);
    rc = pfsd_db_row(db, s, st);
    if (rc == 1) {
        pfsd_entry_from_row(s, e);
        sqlite3_reset(s);
    }
    return rc;
}

char *
pfsd_path_successor(const char *s)
{
    size_t n = strlen(s);
    char *out = pfsd_xstrndup(s, n);

    /* Increment the last byte that can be; drop the ones that cannot. */
    while (n > 0 && (unsigned char) out[n - 1] == 0xff) {
        n--;
    }
    if (n == 0) {
        free(out);
        return NULL;            /* no bound */
    }
    out[n - 1]++;
    out[n] = '\0';
    return out;
}

int
pfsd_view_dir(pfsd_db_t *db, const pfsd_view_t *v, const char *dir,
              pfsd_entry_t *e, pfsd_status_t *st)
{
    char *upper = pfsd_path_successor(dir);
    const char *lower = strcmp(dir, "/") == 0 ? "" : dir;
    pfsd_md5_ctx_t *md5 = pfsd_md5_new();
    sqlite3_stmt *s;
    int64_t count = 0, size = 0;
    int rc;

    /* One ordered pass over the subtree (an index range); -1 = no limit. */
    s = pfsd_view_range(db, v, lower, strcmp(dir, "/") == 0 ? NULL : upper,
                        -1);
    while ((rc = pfsd_db_row(db, s, st)) == 1) {
        count++;
        size += sqlite3_column_int64(s, 1);
        pfsd_md5_update(md5, sqlite3_column_blob(s, 2),
                        (size_t) sqlite3_column_bytes(s, 2));
    }
    free(upper);
    if (rc == 0 && count > 0) {
        char *copy = pfsd_xstrdup(dir);     /* dir may be e->path */

        free(e->path);
        e->path = copy;
        e->dir = true;
        e->size = size;
        e->content = 0;
        pfsd_md5_final(md5, e->hash);
        e->hash_len = PFSD_MD5_LEN;
    }
    pfsd_md5_free(md5);
    return rc < 0 ? -1 : count > 0;
}

/* ------------------------------------------------------------ cursor */

typedef struct pfsd_row {
    char *path;
    int64_t size, content;
    uint8_t hash[PFSD_HASH_MAX];
    size_t hash_len;
} pfsd_row_t;

struct pfsd_cursor {
    pfsd_view_t view;
    char *range_lower;      /* entries (directories too) are >= this */
    char *lower;            /* the next page starts here: path >= lower */
    char *upper;            /* path < upper; NULL: no bound */
    char *prev;             /* the last entry yielded */
    pfsd_row_t rows[PFSD_CURSOR_PAGE];
    size_t nrows, next;     /* the page, and the row to yield next */
    bool exhausted;         /* no row beyond the page */
    char *pending;          /* the file whose directories are being yielded */
    size_t pending_dir;     /* where to look for its next directory */
};

pfsd_cursor_t *
pfsd_cursor_new(const pfsd_view_t *v, const char *lower, const char *upper)
{
    pfsd_cursor_t *c = pfsd_xcalloc(1, sizeof(*c));

    c->view = *v;
    c->range_lower = pfsd_xstrdup(lower);
    c->lower = pfsd_xstrdup(lower);
    c->upper = upper != NULL ? pfsd_xstrdup(upper) : NULL;
    return c;
}

static void
pfsd_cursor_drop_rows(pfsd_cursor_t *c, size_t upto)
{
    for (; c->next < upto; c->next++) {
        free(c->rows[c->next].path);
        c->rows[c->next].path = NULL;
    }
}

void
pfsd_cursor_free(pfsd_cursor_t *c)
{
    if (c == NULL) {
        return;
    }
    pfsd_cursor_drop_rows(c, c->nrows);
    free(c->range_lower);
    free(c->lower);
    free(c->upper);
    free(c->prev);
    free(c->pending);
    free(c);
}

static void
pfsd_cursor_set(char **field, char *value)
{
    free(*field);
    *field = value;
}

static bool
pfsd_cursor_fill(pfsd_cursor_t *c, pfsd_db_t *db, pfsd_status_t *st)
{
    sqlite3_stmt *s;
    pfsd_row_t *r;
    size_t n;
    char *lower;
    int rc, len;

    c->nrows = c->next = 0;
    s = pfsd_view_range(db, &c->view, c->lower, c->upper, PFSD_CURSOR_PAGE);
    while ((rc = pfsd_db_row(db, s, st)) == 1) {
        r = &c->rows[c->nrows++];
        r->path = pfsd_xstrdup(pfsd_col_text(s, 0));
        r->size = sqlite3_column_int64(s, 1);
        len = sqlite3_column_bytes(s, 2);
        r->hash_len = (size_t) (len > PFSD_HASH_MAX ? PFSD_HASH_MAX : len);
        memcpy(r->hash, sqlite3_column_blob(s, 2), r->hash_len);
        r->content = sqlite3_column_int64(s, 3);
    }
    if (rc < 0) {
        pfsd_cursor_drop_rows(c, c->nrows);
        return false;
    }
    c->exhausted = c->nrows < PFSD_CURSOR_PAGE;
    if (c->nrows > 0) {
        /* The next page starts just above this one's last path: that
         * path followed by the least character. */
        n = strlen(c->rows[c->nrows - 1].path);
        lower = pfsd_xmalloc(n + 2);
        memcpy(lower, c->rows[c->nrows - 1].path, n);
        lower[n] = '\x01';
        lower[n + 1] = '\0';
        pfsd_cursor_set(&c->lower, lower);
    }
    return true;
}

/* Length of the longest directory prefix ("/.../") shared by a and b. */
static size_t
pfsd_common_dir(const char *a, const char *b)
{
    size_t i, dir = 0;

    for (i = 0; a[i] != '\0' && a[i] == b[i]; i++) {
        if (a[i] == '/') {
            dir = i + 1;
        }
    }
    return dir;
}

/* Yields the next directory of the pending file inside the range. */
static bool
pfsd_cursor_next_dir(pfsd_cursor_t *c, pfsd_entry_t *e)
{
    const char *p = c->pending;
    size_t i;
    char *dir;

    for (i = c->pending_dir; p[i] != '\0'; i++) {
        if (p[i] != '/') {
            continue;
        }
        c->pending_dir = i + 1;
        dir = pfsd_xstrndup(p, i + 1);
        if (strcmp(dir, c->range_lower) < 0) {
            free(dir);          /* the range starts inside this directory */
            continue;
        }
        pfsd_cursor_set(&e->path, dir);
        e->dir = true;
        e->size = e->content = 0;
        e->hash_len = 0;
        pfsd_cursor_set(&c->prev, pfsd_xstrdup(dir));
        return true;
    }
    return false;
}

/* Yields the file at the head of the page. */
static void
pfsd_cursor_yield_file(pfsd_cursor_t *c, pfsd_entry_t *e)
{
    pfsd_row_t *r = &c->rows[c->next++];

    pfsd_cursor_set(&e->path, r->path);
    r->path = NULL;
    e->dir = false;
    e->size = r->size;
    e->content = r->content;
    memcpy(e->hash, r->hash, r->hash_len);
    e->hash_len = r->hash_len;
    pfsd_cursor_set(&c->prev, c->pending);
    c->pending = NULL;
}

int
pfsd_cursor_next(pfsd_cursor_t *c, pfsd_db_t *db, pfsd_entry_t *e,
                 pfsd_status_t *st)
{
    const char *path;

    for (;;) {
        if (c->pending != NULL) {
            if (!pfsd_cursor_next_dir(c, e)) {
                pfsd_cursor_yield_file(c, e);
            }
            return 1;
        }
        if (c->next == c->nrows) {
            if (c->exhausted) {
                return 0;
            }
            if (!pfsd_cursor_fill(c, db, st)) {
                return -1;
            }
            if (c->nrows == 0) {
                return 0;
            }
        }
        /* Directories it shares with the previous entry are out already. */
        path = c->rows[c->next].path;
        c->pending = pfsd_xstrdup(path);
        c->pending_dir = c->prev != NULL ? pfsd_common_dir(c->prev, path) : 0;
    }
}

void
pfsd_cursor_skip(pfsd_cursor_t *c, const char *dir)
{
    size_t n = strlen(dir);
    char *succ;

    /* The pending file (if any) is under dir, as are the next rows. */
    pfsd_cursor_set(&c->pending, NULL);
    while (c->next < c->nrows && strncmp(c->rows[c->next].path, dir, n) == 0) {
        pfsd_cursor_drop_rows(c, c->next + 1);
    }
    if (c->next == c->nrows && !c->exhausted) {
        succ = pfsd_path_successor(dir);
        if (succ == NULL) {
            c->exhausted = true;
        } else if (strcmp(succ, c->lower) > 0) {
            pfsd_cursor_set(&c->lower, succ);
        } else {
            free(succ);
        }
    }
    pfsd_cursor_set(&c->prev, pfsd_xstrdup(dir));
}
