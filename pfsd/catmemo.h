/* A read connection's memo of resolved commits.
 *
 * Every read RPC resolves its commit (project, repo, branch or id) with
 * three SQLite lookups, a sixth of a small read's work.  A read connection
 * keeps the answers with the data version of the snapshot they were read
 * in (PRAGMA data_version, which changes whenever another connection
 * commits), and an answer serves again only in a snapshot of the same
 * version: the database has not changed since, so it is never stale.
 * Any commit (every write) retires all answers at once. */
#ifndef PFSD_CATMEMO_H
#define PFSD_CATMEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "util.h"

typedef struct pfsd_catmemo pfsd_catmemo_t;

pfsd_catmemo_t *pfsd_catmemo_new(void);
void pfsd_catmemo_free(void *memo);

/* The answer for key read at version, copied into a; false when none. */
bool pfsd_catmemo_get(pfsd_catmemo_t *m, const char *key, size_t keylen,
                      int64_t version, pfsd_arena_t *a, pfsd_commit_t *out);
/* Keeps a copy of the answer for key, read at version. */
void pfsd_catmemo_put(pfsd_catmemo_t *m, const char *key, size_t keylen,
                      int64_t version, const pfsd_commit_t *c);

#endif
