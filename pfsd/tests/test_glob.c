/* Glob matching: "*" stays inside a path element, "**" crosses, classes,
 * alternatives, extglobs, escapes; subtree pruning and literal prefixes. */
#include "glob.h"
#include "tap.h"

static void
match(const char *pattern, const char *path, int want)
{
    const char *err;
    pfsd_glob_t *g = pfsd_glob_compile(pattern, &err);

    if (g == NULL) {
        tap_ok(0, "compile %s: %s", pattern, err);
        return;
    }
    tap_ok(pfsd_glob_match(g, path) == want, "%s %s %s", pattern,
           want ? "matches" : "does not match", path);
    pfsd_glob_free(g);
}

static void
under(const char *pattern, const char *dir, int want)
{
    const char *err;
    pfsd_glob_t *g = pfsd_glob_compile(pattern, &err);

    tap_ok(g != NULL && pfsd_glob_may_match_longer(g, dir) == want,
           "%s %s match below %s", pattern, want ? "may" : "cannot", dir);
    pfsd_glob_free(g);
}

static void
prefix(const char *pattern, const char *want)
{
    const char *err;
    pfsd_glob_t *g = pfsd_glob_compile(pattern, &err);
    char *p = g ? pfsd_glob_literal_prefix(g) : NULL;

    tap_str(p, want, pattern);
    free(p);
    pfsd_glob_free(g);
}

int
main(void)
{
    const char *err;

    /* * never crosses "/" */
    match("/*", "/a", 1);
    match("/*", "/a.txt", 1);
    match("/*", "/a/b", 0);
    match("/a/*", "/a/b", 1);
    match("/a/*", "/a/b/c", 0);
    match("/a/*", "/a/", 1);           /* an empty element */
    match("/*.csv", "/x.csv", 1);
    match("/*.csv", "/d/x.csv", 0);
    /* ** does */
    match("/**", "/a/b/c", 1);
    match("/a/**", "/a/b", 1);
    match("/a/**", "/a/b/c/d", 1);
    match("/a/**", "/a", 0);
    match("/a/**", "/ab/c", 0);
    match("/**/x", "/a/b/x", 1);
    match("/**/x", "/a/b/y", 0);
    match("/pre**", "/prefix/deep/file", 1);
    match("/pre*", "/prefix/deep", 0);
    /* ? and classes */
    match("/?", "/a", 1);
    match("/?", "/ab", 0);
    match("/a?c", "/a/c", 0);
    match("/[abc].txt", "/b.txt", 1);
    match("/[abc].txt", "/d.txt", 0);
    match("/[a-c]x", "/bx", 1);
    match("/[!a-c]x", "/bx", 0);
    match("/[!a-c]x", "/dx", 1);
    match("/[^a]", "/b", 1);
    match("/a[/]b", "/a/b", 0);        /* a class never matches "/" */
    /* alternatives and extglobs */
    match("/{a,bb}/x", "/bb/x", 1);
    match("/{a,bb}/x", "/c/x", 0);
    match("/{a,b{c,d}}", "/bd", 1);
    match("/@(x|y)z", "/yz", 1);
    match("/?(x)z", "/z", 1);
    match("/?(x)z", "/xz", 1);
    match("/*(ab)c", "/ababc", 1);
    match("/*(ab)c", "/abac", 0);
    match("/+(ab)c", "/c", 0);
    match("/+(ab)c", "/abc", 1);
    match("/!(a)", "/b", 1);
    match("/!(a)", "/a", 0);
    /* escapes */
    match("/a\\*", "/a*", 1);
    match("/a\\*", "/ab", 0);
    /* anchoring */
    match("/a", "/ab", 0);
    match("/a", "/a", 1);
    tap_ok(pfsd_glob_compile("/[abc", &err) == NULL, "unterminated class refused");
    tap_ok(pfsd_glob_compile("/{a,b", &err) == NULL, "unterminated {} refused");

    /* pruning: can anything below dir match? */
    under("/a/*", "/a/", 1);
    under("/a/*", "/a/b/", 0);
    under("/a/*", "/b/", 0);
    under("/*", "/d/", 0);
    under("/**", "/d/e/", 1);
    under("/d/*/x", "/d/e/", 1);
    under("/d/*/x", "/d/e/f/", 0);
    under("/{a,b}/*", "/b/", 1);
    under("/{a,b}/*", "/c/", 0);
    under("/a*", "/ab/", 0);
    under("/a**", "/ab/", 1);

    prefix("/foo/bar*", "/foo/bar");
    prefix("/foo/{a,b}", "/foo/");
    prefix("/x\\*y*", "/x*y");
    prefix("/**", "/");
    tap_ok(pfsd_glob_has_magic("/a*"), "has_magic: *");
    tap_ok(!pfsd_glob_has_magic("/a.b/c d"), "has_magic: plain path");
    return tap_done();
}
