/* Names of projects, repos and branches; file path validation and
 * cleaning, with pachd's messages. */
#include "names.h"
#include "tap.h"

static void
name(const char *n, int want)
{
    pfsd_status_t st;

    tap_ok(pfsd_name_check(n, &st) == want, "name '%s' %s", n,
           want ? "accepted" : "refused");
}

static void
path_err(const char *p, const char *want)
{
    pfsd_status_t st;

    tap_ok(!pfsd_path_check(p, &st) && st.code == GRPC_STATUS_UNKNOWN,
           "path '%s' refused", p);
    tap_str(st.msg, want, "... with pachd's message");
}

static void
clean(const char *in, const char *want)
{
    char *out = pfsd_path_clean(in);

    tap_str(out, want, in);
    free(out);
}

int
main(void)
{
    pfsd_status_t st;

    name("a", 1);
    name("A-b_c9", 1);
    name("", 0);
    name("dot.name", 0);
    name("sl/ash", 0);
    name("caf\xc3\xa9", 0);
    tap_ok(!pfsd_name_check("x y", &st), "space refused");
    tap_str(st.msg, "name (x y) invalid: only alphanumeric characters, "
            "underscores, and dashes are allowed", "name rule message");

    tap_ok(pfsd_project_name_check("default", &st), "project default valid");
    tap_ok(pfsd_project_name_check("p1", &st), "project p1 valid");
    tap_ok(!pfsd_project_name_check("-p", &st), "project -p refused");
    tap_str(st.msg, "invalid project name: project names must start with an "
            "alphanumeric character", "... must start alphanumeric");
    tap_ok(!pfsd_project_name_check(
               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &st),
           "53-character project refused");
    tap_str(st.msg, "invalid project name: project name \"aaaaaaaaaaaaaaaaaaaa"
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" is 2 characters longer than "
            "the 51 max", "... with the length message");

    tap_ok(pfsd_is_commit_id("0123456789ab4def0123456789abcdef"),
           "UUIDv4 hex is a commit id");
    tap_ok(!pfsd_is_commit_id("0123456789abcdef0123456789abcdef"),
           "32 hex without the version nibble is not");
    tap_ok(!pfsd_is_commit_id("0123456789AB4DEF0123456789ABCDEF"),
           "uppercase is not");
    tap_ok(!pfsd_branch_name_check("0123456789ab4def0123456789abcdef", &st),
           "a branch named like a commit id is refused");
    tap_str(st.msg, "branch name cannot be a UUID V4", "... with its message");

    tap_ok(pfsd_path_check("/a/b.csv", &st), "plain path accepted");
    tap_ok(pfsd_path_check("a//b/", &st), "empty elements accepted");
    path_err("", "path () invalid: only printable ASCII characters allowed");
    path_err("/a\tb", "path (/a\tb) invalid: only printable ASCII characters "
             "allowed");
    path_err("/a*", "path (/a*) invalid: globbing character (*) not allowed "
             "in path");
    path_err("/x/[y]", "path (/x/[y]) invalid: globbing character ([) not "
             "allowed in path");
    path_err("/a/../b", "path (/a/../b) invalid: relative file paths are not "
             "allowed");
    path_err("./a", "path (./a) invalid: relative file paths are not allowed");
    tap_ok(pfsd_path_check("/a/.../b", &st), "'...' is an ordinary name");

    clean("", "/");
    clean("/", "/");
    clean("a/b", "/a/b");
    clean("/a/b/", "/a/b");
    clean("//a//b", "/a/b");
    clean("/a/./b", "/a/b");
    clean("/a/../b", "/b");
    clean("/../a", "/a");
    tap_int((long long) pfsd_path_parent_len("/a/b"), 3, "parent of /a/b");
    tap_int((long long) pfsd_path_parent_len("/a"), 1, "parent of /a");
    return tap_done();
}
