/* Glob patterns over file paths, with "/" as the separator:
 *   *      any run of characters other than "/"
 *   **     any run of characters, "/" included
 *   ?      one character other than "/"
 *   [abc] [a-c] [!abc] [^abc]   one character (not "/") of a class
 *   {a,b}  alternatives;  @(a|b) ?(a|b) *(a|b) +(a|b) !(a|b) extglobs
 *   \x     the character x itself
 * Matching is anchored at both ends. */
#ifndef PFSD_GLOB_H
#define PFSD_GLOB_H

#include <stdbool.h>
#include <stddef.h>

typedef struct pfsd_glob pfsd_glob_t;

/* NULL (with *err set to a static message) when the pattern is malformed. */
pfsd_glob_t *pfsd_glob_compile(const char *pattern, const char **err);
void pfsd_glob_free(pfsd_glob_t *g);

bool pfsd_glob_match(const pfsd_glob_t *g, const char *path);

/* Whether some path that starts with prefix and is longer than it could
 * match.  False means a cursor may skip every path under prefix. */
bool pfsd_glob_may_match_longer(const pfsd_glob_t *g, const char *prefix);

/* The literal text every match starts with (malloc'd). */
char *pfsd_glob_literal_prefix(const pfsd_glob_t *g);

/* True when the pattern has no special character: it names one path. */
bool pfsd_glob_is_literal(const pfsd_glob_t *g);

/* True when the string contains a glob special character. */
bool pfsd_glob_has_magic(const char *s);

#endif
