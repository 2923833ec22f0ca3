/* A minimal TAP producer for pfsd's unit tests: each test program prints
 * "ok N - name" / "not ok N - name" lines and a plan, and exits non-zero
 * when anything failed. */
#ifndef PFSD_TEST_TAP_H
#define PFSD_TEST_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

static inline int
tap_ok(int cond, const char *fmt, ...)
{
    va_list ap;

    tap_n++;
    if (!cond) {
        tap_failed++;
    }
    printf("%sok %d - ", cond ? "" : "not ", tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    return cond;
}

static inline int
tap_str(const char *got, const char *want, const char *name)
{
    int good = (got == NULL && want == NULL)
               || (got != NULL && want != NULL && strcmp(got, want) == 0);

    tap_ok(good, "%s", name);
    if (!good) {
        printf("#      got: %s\n#   expected: %s\n", got ? got : "(null)",
               want ? want : "(null)");
    }
    return good;
}

static inline int
tap_int(long long got, long long want, const char *name)
{
    int good = got == want;

    tap_ok(good, "%s", name);
    if (!good) {
        printf("#      got: %lld\n#   expected: %lld\n", got, want);
    }
    return good;
}

static inline int
tap_done(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif
