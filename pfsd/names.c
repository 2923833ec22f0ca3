#include "names.h"

#include <string.h>

#include "util.h"

bool
pfsd_name_check(const char *name, pfsd_status_t *st)
{
    const char *p;

    for (p = name; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
        {
            break;
        }
    }
    if (*name == '\0' || *p != '\0') {
        return pfsd_fail(st, GRPC_STATUS_UNKNOWN,
                         "name (%s) invalid: only alphanumeric characters, "
                         "underscores, and dashes are allowed", name);
    }
    return true;
}

bool
pfsd_is_commit_id(const char *s)
{
    size_t i;

    for (i = 0; s[i]; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return false;
        }
    }
    return i == 32 && s[12] == '4';
}

bool
pfsd_project_name_check(const char *name, pfsd_status_t *st)
{
    size_t n = strlen(name);
    pfsd_status_t inner;

    if (strcmp(name, "default") == 0) {
        return true;
    }
    if (!pfsd_name_check(name, &inner)) {
        return pfsd_fail(st, inner.code, "invalid project name: %s",
                         inner.msg);
    }
    if (n > 51) {
        return pfsd_fail(st, GRPC_STATUS_UNKNOWN, "invalid project name: "
                         "project name \"%s\" is %zu characters longer than "
                         "the 51 max", name, n - 51);
    }
    if (name[0] == '-' || name[0] == '_') {
        return pfsd_fail(st, GRPC_STATUS_UNKNOWN, "invalid project name: "
                         "project names must start with an alphanumeric "
                         "character");
    }
    return true;
}

bool
pfsd_branch_name_check(const char *name, pfsd_status_t *st)
{
    if (!pfsd_name_check(name, st)) {
        return false;
    }
    if (pfsd_is_commit_id(name)) {
        return pfsd_fail(st, GRPC_STATUS_UNKNOWN,
                         "branch name cannot be a UUID V4");
    }
    return true;
}

bool
pfsd_path_check(const char *path, pfsd_status_t *st)
{
    static const char glob_chars[] = "*?[]{}!()@+^";
    const char *p, *elem;
    size_t n;

    if (*path == '\0') {
        return pfsd_fail(st, GRPC_STATUS_UNKNOWN, "path (%s) invalid: only "
                         "printable ASCII characters allowed", path);
    }
    for (p = path; *p; p++) {
        if (*p < ' ' || *p > '~') {
            return pfsd_fail(st, GRPC_STATUS_UNKNOWN, "path (%s) invalid: "
                             "only printable ASCII characters allowed", path);
        }
    }
    for (p = path; *p; p++) {
        if (strchr(glob_chars, *p) != NULL) {
            return pfsd_fail(st, GRPC_STATUS_UNKNOWN, "path (%s) invalid: "
                             "globbing character (%c) not allowed in path",
                             path, *p);
        }
    }
    for (elem = path;; elem += n + 1) {
        n = strcspn(elem, "/");
        if ((n == 1 && elem[0] == '.')
            || (n == 2 && elem[0] == '.' && elem[1] == '.'))
        {
            return pfsd_fail(st, GRPC_STATUS_UNKNOWN, "path (%s) invalid: "
                             "relative file paths are not allowed", path);
        }
        if (elem[n] == '\0') {
            break;
        }
    }
    return true;
}

char *
pfsd_path_clean(const char *path)
{
    size_t len = strlen(path);
    char *out = pfsd_xmalloc(len + 2);
    size_t o = 0, n;
    const char *elem;

    out[o++] = '/';
    for (elem = path; *elem; elem += n) {
        if (*elem == '/') {
            n = 1;
            continue;
        }
        n = strcspn(elem, "/");
        if (n == 1 && elem[0] == '.') {
            continue;
        }
        if (n == 2 && elem[0] == '.' && elem[1] == '.') {
            /* Back to the previous "/" (the root stays). */
            while (o > 1 && out[o - 1] != '/') {
                o--;
            }
            if (o > 1) {
                o--;
            }
            continue;
        }
        if (o > 1) {
            out[o++] = '/';
        }
        memcpy(out + o, elem, n);
        o += n;
    }
    out[o] = '\0';
    return out;
}

size_t
pfsd_path_parent_len(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? (size_t) (slash - path) + 1 : 0;
}
