/* Logging to stderr, one line per event.  The logger is a value owned by
 * the server and passed to whoever logs, so there is no global state. */
#ifndef PFSD_LOG_H
#define PFSD_LOG_H

typedef enum pfsd_log_level {
    PFSD_LOG_ERROR = 0,
    PFSD_LOG_WARN,
    PFSD_LOG_INFO,
    PFSD_LOG_DEBUG,
} pfsd_log_level_t;

typedef struct pfsd_log {
    pfsd_log_level_t level;
} pfsd_log_t;

/* Returns 0 and sets *out for "error", "warn", "info" or "debug". */
int pfsd_log_parse_level(const char *s, pfsd_log_level_t *out);

void pfsd_log(const pfsd_log_t *log, pfsd_log_level_t level,
              const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define pfsd_log_error(l, ...) pfsd_log((l), PFSD_LOG_ERROR, __VA_ARGS__)
#define pfsd_log_warn(l, ...)  pfsd_log((l), PFSD_LOG_WARN, __VA_ARGS__)
#define pfsd_log_info(l, ...)  pfsd_log((l), PFSD_LOG_INFO, __VA_ARGS__)
#define pfsd_log_debug(l, ...) pfsd_log((l), PFSD_LOG_DEBUG, __VA_ARGS__)

#endif
