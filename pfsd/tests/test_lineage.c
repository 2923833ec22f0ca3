/* Lineages: a child of the tip extends the lineage, a child of an older
 * commit forks a new one holding a copy of its parent's files; each
 * commit sees exactly its own files; an open commit at the tip rewrites
 * in place without touching what finished commits see. */
#include "tap.h"
#include "testdb.h"

static char *
files_of(testdb_t *t, const pfsd_commit_t *c)
{
    pfsd_view_t v = testdb_view(t, c);

    return testdb_walk(t, &v, "", NULL, 0);
}

static void
files_are(testdb_t *t, const pfsd_commit_t *c, const char *want,
          const char *name)
{
    char *got = files_of(t, c);

    tap_str(got, want, name);
    free(got);
}

static long long
rows_born(testdb_t *t, int64_t lineage, int64_t seq)
{
    pfsd_status_t st;
    sqlite3_stmt *s = pfsd_db_stmt(t->db, "SELECT count(*) FROM files"
                                          " WHERE lineage=? AND born=?");
    long long n = -1;

    pfsd_bind_int(s, 1, lineage);
    pfsd_bind_int(s, 2, seq);
    if (pfsd_db_row(t->db, s, &st) == 1) {
        n = sqlite3_column_int64(s, 0);
    }
    sqlite3_reset(s);
    return n;
}

static long long
commit_size(testdb_t *t, int64_t id)
{
    pfsd_commit_t c;
    pfsd_status_t st;

    if (!pfsd_cat_commit(t->db, &t->arena, id, &t->repo, &c, &st)) {
        return -1;
    }
    return c.size;
}

int
main(void)
{
    testdb_t t;
    pfsd_commit_t c1, c2, c3, c4, c5;
    pfsd_view_t v;

    testdb_open(&t);

    c1 = testdb_commit(&t, NULL);
    testdb_put(&t, &c1, "/a", 10);
    testdb_put(&t, &c1, "/b", 20);
    testdb_finish(&t, &c1);
    tap_int(c1.seq, 1, "a root commit starts a lineage at seq 1");

    c2 = testdb_commit(&t, &c1);
    tap_int(c2.lineage, c1.lineage, "a child of the tip extends the lineage");
    tap_int(c2.seq, 2, "... at the next seq");
    testdb_delete(&t, &c2, "/a");
    testdb_put(&t, &c2, "/c", 30);
    testdb_finish(&t, &c2);

    c3 = testdb_commit(&t, &c1);
    tap_ok(c3.lineage != c1.lineage, "a second child of c1 forks a lineage");
    tap_int(c3.seq, 1, "... whose first commit is seq 1");
    tap_int(rows_born(&t, c3.lineage, 0), 2,
            "... over a copy of c1's two files (seq 0)");
    testdb_put(&t, &c3, "/d", 40);
    testdb_finish(&t, &c3);

    files_are(&t, &c1, "/ /a /b", "c1 still sees /a and /b");
    files_are(&t, &c2, "/ /b /c", "c2: /a deleted, /c added");
    files_are(&t, &c3, "/ /a /b /d", "c3 (the fork): c1's files and /d");
    v = testdb_view(&t, &c1);
    tap_ok(!v.tip, "c1 is read with seq bounds (not the tip)");
    v = testdb_view(&t, &c2);
    tap_ok(v.tip, "c2 is its lineage's tip");
    tap_int(commit_size(&t, c1.id), 30, "c1 size: 10 + 20");
    tap_int(commit_size(&t, c2.id), 50, "c2 size: 20 + 30");
    tap_int(commit_size(&t, c3.id), 70, "c3 size: 10 + 20 + 40");

    /* An open commit at the tip of c2's lineage. */
    c4 = testdb_commit(&t, &c2);
    testdb_put(&t, &c4, "/e", 5);
    testdb_delete(&t, &c4, "/e");
    tap_int(rows_born(&t, c4.lineage, c4.seq), 0,
            "a file written and deleted in one open commit leaves no row");
    testdb_put(&t, &c4, "/b", 21);
    testdb_put(&t, &c4, "/b", 22);
    tap_int(rows_born(&t, c4.lineage, c4.seq), 1,
            "rewriting a file twice in an open commit keeps one row");
    files_are(&t, &c4, "/ /b /c", "the open commit shows its own state");
    files_are(&t, &c2, "/ /b /c", "c2 unchanged");
    {
        pfsd_view_t v2 = testdb_view(&t, &c2), v4 = testdb_view(&t, &c4);
        pfsd_entry_t e;
        pfsd_status_t st;

        memset(&e, 0, sizeof(e));
        pfsd_view_file(t.db, &v2, "/b", &e, &st);
        tap_int(e.size, 20, "c2 still reads its own /b");
        pfsd_view_file(t.db, &v4, "/b", &e, &st);
        tap_int(e.size, 22, "the open commit reads its /b");
        pfsd_entry_clear(&e);
    }
    testdb_finish(&t, &c4);
    tap_int(commit_size(&t, c4.id), 52, "c4 size: 22 + 30");

    /* A child of c2 now forks (c4 is the tip). */
    c5 = testdb_commit(&t, &c2);
    tap_ok(c5.lineage != c2.lineage, "a child of a non-tip commit forks");
    files_are(&t, &c5, "/ /b /c", "... starting from c2's files");

    testdb_close(&t);
    return tap_done();
}
