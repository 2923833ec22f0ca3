/* Names of projects, repos and branches, and file paths: pachd's rules and
 * messages. */
#ifndef PFSD_NAMES_H
#define PFSD_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

/* ^[a-zA-Z0-9_-]+$, else UNKNOWN "name (<n>) invalid: ..." */
bool pfsd_name_check(const char *name, pfsd_status_t *st);
/* True for a commit id: 32 lowercase hex characters shaped like a UUIDv4
 * (the 13th is '4'), the form pachd recognizes. */
bool pfsd_is_commit_id(const char *s);
/* Project names: the name rule, at most 51 characters, starting with a
 * letter or digit ("default" is always valid). */
bool pfsd_project_name_check(const char *name, pfsd_status_t *st);
/* Branch names: the name rule, and not shaped like a commit id. */
bool pfsd_branch_name_check(const char *name, pfsd_status_t *st);

/* Validates a path given to a write (add_file, delete_file): printable
 * ASCII, no glob characters, no "." or ".." element.  Checked on the raw
 * path, before cleaning, as pachd does. */
bool pfsd_path_check(const char *path, pfsd_status_t *st);

/* Canonical form of a path: leading "/", no trailing "/", runs of "/"
 * collapsed, "." and ".." resolved (like Go's path.Clean), "" -> "/".
 * Returns a malloc'd string. */
char *pfsd_path_clean(const char *path);

/* Length of the parent directory prefix of a clean path, including its
 * final "/" ("/a/b" -> 3 for "/a/"; "/a" -> 1). */
size_t pfsd_path_parent_len(const char *path);

#endif
