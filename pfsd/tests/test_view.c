/* The file-view cursor: byte order with directories synthesized just
 * before their first descendant, ranges that start inside a directory,
 * subtree skipping, paging across many files, directory totals. */
#include "tap.h"
#include "testdb.h"

static void
walk_is(testdb_t *t, const pfsd_view_t *v, const char *lower,
        const char *upper, int prune, const char *want, const char *name)
{
    char *got = testdb_walk(t, v, lower, upper, prune);

    tap_str(got, want, name);
    free(got);
}

static void
small_tree(testdb_t *t)
{
    pfsd_commit_t c = testdb_commit(t, NULL);
    pfsd_view_t v;
    pfsd_entry_t e;
    pfsd_status_t st;

    testdb_put(t, &c, "/b", 1);
    testdb_put(t, &c, "/a/x", 2);
    testdb_put(t, &c, "/a.txt", 3);
    testdb_put(t, &c, "/c/d/e/f", 4);
    testdb_put(t, &c, "/a-b", 5);
    testdb_put(t, &c, "/a/y/z", 6);
    testdb_finish(t, &c);
    v = testdb_view(t, &c);

    walk_is(t, &v, "", NULL, 0,
            "/ /a-b /a.txt /a/ /a/x /a/y/ /a/y/z /b /c/ /c/d/ /c/d/e/ /c/d/e/f",
            "everything, directories just before their first descendant "
            "(/a-b and /a.txt sort before /a/)");
    walk_is(t, &v, "", NULL, 1, "/ /a-b /a.txt /a/ /b /c/",
            "skipping every subtree: only the root's children");
    walk_is(t, &v, "/a/x", NULL, 0,
            "/a/x /a/y/ /a/y/z /b /c/ /c/d/ /c/d/e/ /c/d/e/f",
            "a range starting inside /a/ does not yield /a/");
    walk_is(t, &v, "/a/", "/a0", 0, "/a/ /a/x /a/y/ /a/y/z",
            "the range of one directory: [\"/a/\", \"/a0\")");
    walk_is(t, &v, "/a/", "/a0", 1, "/a/",
            "... skipping /a/ leaves nothing after it");
    walk_is(t, &v, "/c/", "/c0", 0, "/c/ /c/d/ /c/d/e/ /c/d/e/f",
            "nested directories come one after the other");
    walk_is(t, &v, "/zz", NULL, 0, "", "a range past every file is empty");

    memset(&e, 0, sizeof(e));
    tap_int(pfsd_view_dir(t->db, &v, "/a/", &e, &st), 1, "/a/ exists");
    tap_int(e.size, 2 + 6, "/a/ totals the sizes below it");
    tap_int((long long) e.hash_len, 16, "/a/ has a 16-byte hash");
    tap_int(pfsd_view_dir(t->db, &v, "/", &e, &st), 1, "/ exists");
    tap_int(e.size, 1 + 2 + 3 + 4 + 5 + 6, "/ totals everything");
    tap_int(pfsd_view_dir(t->db, &v, "/nope/", &e, &st), 0,
            "a directory without files does not exist");
    tap_int(pfsd_view_dir(t->db, &v, "/a.txt/", &e, &st), 0,
            "a file is not a directory");
    tap_int(pfsd_view_file(t->db, &v, "/a.txt", &e, &st), 1, "file lookup");
    tap_int(e.size, 3, "... with its size");
    tap_int(pfsd_view_file(t->db, &v, "/a", &e, &st), 0,
            "a directory is not a file");
    pfsd_entry_clear(&e);
}

/* More files than a cursor page (256) holds. */
static void
many(testdb_t *t)
{
    pfsd_commit_t c = testdb_commit(t, NULL);
    pfsd_view_t v;
    pfsd_cursor_t *cur;
    pfsd_entry_t e;
    pfsd_status_t st;
    char path[64], *got;
    int i, n = 0, dirs = 0, ordered = 1;
    char prev[64] = "";

    for (i = 0; i < 700; i++) {
        snprintf(path, sizeof(path), "/p/%04d", i);
        testdb_put(t, &c, path, 1);
    }
    for (i = 0; i < 300; i++) {
        snprintf(path, sizeof(path), "/q/%03d/f", i);
        testdb_put(t, &c, path, 1);
    }
    testdb_finish(t, &c);
    v = testdb_view(t, &c);

    memset(&e, 0, sizeof(e));
    cur = pfsd_cursor_new(&v, "", NULL);
    while (pfsd_cursor_next(cur, t->db, &e, &st) == 1) {
        n++;
        dirs += e.dir;
        if (strcmp(prev, e.path) >= 0) {
            ordered = 0;
        }
        snprintf(prev, sizeof(prev), "%s", e.path);
    }
    pfsd_cursor_free(cur);
    tap_int(n, 1 + 1 + 700 + 1 + 300 * 2, "1000 files over pages: every entry");
    tap_int(dirs, 1 + 1 + 1 + 300, "... and every directory once");
    tap_ok(ordered, "... in strictly increasing order");

    got = testdb_walk(t, &v, "", NULL, 1);
    tap_str(got, "/ /p/ /q/", "skipping /p/ (700 files, several pages) "
            "lands on /q/");
    free(got);

    /* Skip each /q/NNN/ right after it is yielded, across page ends. */
    cur = pfsd_cursor_new(&v, "/q/", "/q0");
    n = 0;
    while (pfsd_cursor_next(cur, t->db, &e, &st) == 1) {
        n++;
        if (e.dir && strcmp(e.path, "/q/") != 0) {
            pfsd_cursor_skip(cur, e.path);
        }
    }
    pfsd_cursor_free(cur);
    tap_int(n, 1 + 300, "skipping 300 small subtrees yields each once");
    pfsd_entry_clear(&e);
}

int
main(void)
{
    testdb_t t;

    testdb_open(&t);
    small_tree(&t);
    many(&t);
    testdb_close(&t);
    return tap_done();
}
