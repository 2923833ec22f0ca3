#include "status.h"

#include <stdarg.h>
#include <stdio.h>

void
pfsd_status_ok(pfsd_status_t *st)
{
    st->code = GRPC_STATUS_OK;
    st->msg[0] = '\0';
}

bool
pfsd_fail(pfsd_status_t *st, grpc_status_code code, const char *fmt, ...)
{
    va_list ap;

    st->code = code;
    va_start(ap, fmt);
    vsnprintf(st->msg, sizeof(st->msg), fmt, ap);
    va_end(ap);
    return false;
}

const char *
pfsd_status_name(grpc_status_code code)
{
    static const char *names[] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
        "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
        "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
        "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    };

    if ((unsigned) code < sizeof(names) / sizeof(names[0])) {
        return names[code];
    }
    return "?";
}
