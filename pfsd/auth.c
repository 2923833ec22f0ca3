#include "auth.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct pfsd_token {
    char *token;
    char *user;
} pfsd_token_t;

struct pfsd_auth {
    pfsd_token_t *tokens;
    size_t n;
};

/* pachd's texts for a missing and for an unknown token. */
#define PFSD_NO_TOKEN  "no authentication token (try logging in)"
#define PFSD_BAD_TOKEN \
    "provided auth token is corrupted or has expired (try logging in again)"

static char *
pfsd_auth_word(char **p)
{
    char *s = *p, *start;

    while (*s && isspace((unsigned char) *s)) {
        s++;
    }
    if (*s == '\0') {
        *p = s;
        return NULL;
    }
    start = s;
    while (*s && !isspace((unsigned char) *s)) {
        s++;
    }
    if (*s) {
        *s++ = '\0';
    }
    *p = s;
    return start;
}

pfsd_auth_t *
pfsd_auth_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    pfsd_auth_t *a;
    char *line = NULL, *p, *tok, *user;
    size_t cap = 0, lineno = 0;

    if (f == NULL) {
        snprintf(err, errlen, "cannot read auth tokens file %s: %s", path,
                 strerror(errno));
        return NULL;
    }
    a = pfsd_xcalloc(1, sizeof(*a));
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        p = line;
        tok = pfsd_auth_word(&p);
        if (tok == NULL || tok[0] == '#') {
            continue;
        }
        user = pfsd_auth_word(&p);
        if (user == NULL || pfsd_auth_word(&p) != NULL) {
            snprintf(err, errlen, "%s:%zu: expected \"<token> <username>\"",
                     path, lineno);
            free(line);
            fclose(f);
            pfsd_auth_free(a);
            return NULL;
        }
        a->tokens = pfsd_xrealloc(a->tokens, (a->n + 1) * sizeof(*a->tokens));
        a->tokens[a->n].token = pfsd_xstrdup(tok);
        a->tokens[a->n].user = pfsd_xstrdup(user);
        a->n++;
    }
    free(line);
    fclose(f);
    return a;
}

void
pfsd_auth_free(pfsd_auth_t *a)
{
    size_t i;

    if (a == NULL) {
        return;
    }
    for (i = 0; i < a->n; i++) {
        free(a->tokens[i].token);
        free(a->tokens[i].user);
    }
    free(a->tokens);
    free(a);
}

bool
pfsd_auth_check(const pfsd_auth_t *a, const char *tok, size_t len,
                const char **user, pfsd_status_t *st)
{
    size_t i;
    bool found = false;

    if (tok == NULL || len == 0) {
        return pfsd_fail(st, GRPC_STATUS_UNAUTHENTICATED, PFSD_NO_TOKEN);
    }
    /* Compare against every token in constant time per token so the reply
     * time does not tell how much of a guess was right. */
    for (i = 0; i < a->n; i++) {
        const char *t = a->tokens[i].token;

        if (strlen(t) == len && CRYPTO_memcmp(t, tok, len) == 0 && !found) {
            *user = a->tokens[i].user;
            found = true;
        }
    }
    if (!found) {
        return pfsd_fail(st, GRPC_STATUS_UNAUTHENTICATED, PFSD_BAD_TOKEN);
    }
    return true;
}
