#include "gc.h"

#include <stdlib.h>

#include "util.h"

struct pfsd_gc {
    int unused;
};

pfsd_gc_t *
pfsd_gc_start(const char *db_path, pfsd_store_t *store,
              pfsd_committer_t *committer, const pfsd_log_t *log,
              int interval_s)
{
    (void) db_path;
    (void) store;
    (void) committer;
    (void) log;
    (void) interval_s;
    return pfsd_xcalloc(1, sizeof(pfsd_gc_t));
}

void
pfsd_gc_stop(pfsd_gc_t *gc)
{
    free(gc);
}
