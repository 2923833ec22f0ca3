/* Token authentication: a file of "<token> <username>" lines. */
#ifndef PFSD_AUTH_H
#define PFSD_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

typedef struct pfsd_auth pfsd_auth_t;

/* Loads the tokens file; NULL and err filled on failure. */
pfsd_auth_t *pfsd_auth_load(const char *path, char *err, size_t errlen);
void pfsd_auth_free(pfsd_auth_t *a);

/* Checks a token (tok NULL: none given).  On success *user points at the
 * token's user name, owned by a. */
bool pfsd_auth_check(const pfsd_auth_t *a, const char *tok, size_t len,
                     const char **user, pfsd_status_t *st);

#endif
