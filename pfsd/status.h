/* The outcome of an operation as it will travel to the client: a gRPC
 * status code and pachd's message text. */
#ifndef PFSD_STATUS_H
#define PFSD_STATUS_H

#include <grpc/status.h>
#include <stdbool.h>

typedef struct pfsd_status {
    grpc_status_code code;
    char msg[2048];
} pfsd_status_t;

void pfsd_status_ok(pfsd_status_t *st);
/* Sets code and message; returns false so callers can `return pfsd_fail()`. */
bool pfsd_fail(pfsd_status_t *st, grpc_status_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *pfsd_status_name(grpc_status_code code);

static inline bool
pfsd_is_ok(const pfsd_status_t *st)
{
    return st->code == GRPC_STATUS_OK;
}

#endif
