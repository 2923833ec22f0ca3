/* The metadata schema (SQLite) and per-connection settings. */
#ifndef PFSD_META_H
#define PFSD_META_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"

/* Applies pragmas; the writer also creates or checks the schema and the
 * project "default".  Returns 0 or -1 with err filled. */
int pfsd_meta_setup(pfsd_db_t *db, bool writer, char *err, size_t errlen);

#endif
