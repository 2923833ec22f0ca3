#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const pfsd_level_names[] = {
    "error", "warn", "info", "debug",
};

int
pfsd_log_parse_level(const char *s, pfsd_log_level_t *out)
{
    unsigned i;

    for (i = 0; i < sizeof(pfsd_level_names) / sizeof(pfsd_level_names[0]);
         i++)
    {
        if (strcmp(s, pfsd_level_names[i]) == 0) {
            *out = (pfsd_log_level_t) i;
            return 0;
        }
    }
    return -1;
}

void
pfsd_log(const pfsd_log_t *log, pfsd_log_level_t level, const char *fmt, ...)
{
    char line[4096];
    struct timespec ts;
    struct tm tm;
    size_t n;
    va_list ap;

    if (log != NULL && level > log->level) {
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t) snprintf(line + n, sizeof(line) - n, ".%03ldZ %s ",
                           ts.tv_nsec / 1000000, pfsd_level_names[level]);
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    n = strlen(line);
    if (n > sizeof(line) - 2) {
        n = sizeof(line) - 2;
    }
    line[n++] = '\n';
    /* One write per line keeps lines whole when threads log at once. */
    if (write(STDERR_FILENO, line, n) < 0) {
        /* Nowhere left to report it. */
    }
}
