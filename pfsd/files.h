/* Writing file versions at the newest seq of a lineage (the commit being
 * written): the committer's side of the files table.  Every change keeps
 * the commit's total size. */
#ifndef PFSD_FILES_H
#define PFSD_FILES_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "hash.h"
#include "status.h"

typedef struct pfsd_target {
    int64_t lineage, seq;
    int64_t commit;         /* commits.id, whose size is kept */
} pfsd_target_t;

typedef struct pfsd_fileref {
    int64_t content, size;
    uint8_t hash[PFSD_HASH_MAX];
    size_t hash_len;
} pfsd_fileref_t;

/* The file at path: 1 found, 0 not, -1 error. */
int pfsd_files_get(pfsd_db_t *db, const pfsd_target_t *t, const char *path,
                   pfsd_fileref_t *out, pfsd_status_t *st);
/* Makes path hold f (replacing what it held). */
bool pfsd_files_put(pfsd_db_t *db, const pfsd_target_t *t, const char *path,
                    const pfsd_fileref_t *f, pfsd_status_t *st);
/* Removes the file at path, if any. */
bool pfsd_files_delete(pfsd_db_t *db, const pfsd_target_t *t, const char *path,
                       pfsd_status_t *st);
/* Removes every file whose path starts with prefix ("" or "/": all). */
bool pfsd_files_delete_under(pfsd_db_t *db, const pfsd_target_t *t,
                             const char *prefix, pfsd_status_t *st);

#endif
