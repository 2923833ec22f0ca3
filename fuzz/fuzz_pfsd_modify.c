/*
 * pfsd's ModifyFile handling (pfsd/modify.c) as rpc_file.c drives it: each
 * message of the stream is unpacked and given to pfsd_modify_add(), the
 * half-close submits the job to the real committer thread, which applies
 * it to a real store (SQLite + packs in a scratch directory under
 * /dev/shm).
 *
 * Input: messages, each a 2-byte big-endian length and a serialized
 * ModifyFileRequest; a message that does not unpack breaks the stream as
 * a bad message does in pfsd.
 *
 * Checks: a broken or refused stream makes no commit; the committer
 * answers every submitted job; sanitizers see the rest.
 */

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "committer.h"
#include "db.h"
#include "modify.h"
#include "store.h"


#define PFSD_FUZZ_RUNS_PER_STORE  2000


typedef struct {
    pthread_mutex_t  mu;
    pthread_cond_t   cv;
    int              done;
    int              ok;
} waiter_t;


static char               dir[64];
static pfsd_log_t         log_quiet = { PFSD_LOG_ERROR };
static pfsd_db_t         *rdb;
static pfsd_store_t      *store;
static pfsd_committer_t  *committer;
static unsigned           runs;


static void
die(const char *what, const char *err)
{
    fprintf(stderr, "fuzz_pfsd_modify: %s: %s\n", what, err);
    abort();
}


static void
open_store(void)
{
    char           path[128], err[256];
    pfsd_db_t     *wdb;
    pfsd_status_t  st;
    sqlite3_stmt  *s;

    snprintf(dir, sizeof(dir), "/dev/shm/pfsd-fuzz-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        snprintf(dir, sizeof(dir), "/tmp/pfsd-fuzz-XXXXXX");
        if (mkdtemp(dir) == NULL) {
            die("mkdtemp", "no scratch directory");
        }
    }

    snprintf(path, sizeof(path), "%s/meta.db", dir);
    if (pfsd_db_open(&wdb, path, true, err, sizeof(err)) != 0) {
        die("open", err);
    }

    /* one repo; its branches are made by the streams' one-off commits */
    s = pfsd_db_stmt(wdb, "INSERT INTO repos(project, name, type, created)"
                          " VALUES (1, 'r', 'user', 1)");
    if (!pfsd_db_run(wdb, s, &st)) {
        die("repo", st.msg);
    }

    if (pfsd_store_open(&store, dir, 1 << 30, 1, &log_quiet, err, sizeof(err))
        != 0)
    {
        die("store", err);
    }

    committer = pfsd_committer_start(wdb, store, &log_quiet);

    if (pfsd_db_open(&rdb, path, false, err, sizeof(err)) != 0) {
        die("open reader", err);
    }
}


static void
close_store(void)
{
    char  cmd[128];

    pfsd_committer_stop(committer);
    pfsd_db_close(rdb);
    pfsd_store_close(store);

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) {
        die("rm", dir);
    }
}


static void
cleanup(void)
{
    if (committer) {
        close_store();
    }
}


static int64_t
commits(void)
{
    int64_t        n;
    pfsd_status_t  st;
    sqlite3_stmt  *s;

    s = pfsd_db_stmt(rdb, "SELECT count(*) FROM commits");
    if (pfsd_db_row(rdb, s, &st) != 1) {
        die("count", st.msg);
    }
    n = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);

    return n;
}


static void
on_done(void *ctx, const pfsd_status_t *st)
{
    waiter_t  *w = ctx;

    pthread_mutex_lock(&w->mu);
    w->ok = pfsd_is_ok(st);
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bool                       ok;
    size_t                     n;
    int64_t                    before;
    waiter_t                   w;
    pfsd_status_t              st;
    pfsd_modify_t             *m;
    PfsV2__ModifyFileRequest  *req;

    if (committer == NULL) {
        open_store();
        atexit(cleanup);
    }

    if (++runs % PFSD_FUZZ_RUNS_PER_STORE == 0) {
        /* keep the scratch store small over long campaigns */
        close_store();
        open_store();
    }

    before = commits();
    m = pfsd_modify_new(store, &log_quiet);
    ok = true;

    while (ok && size >= 2) {
        n = ((size_t) data[0] << 8) | data[1];
        data += 2;
        size -= 2;
        n = n < size ? n : size;

        req = pfs_v2__modify_file_request__unpack(NULL, n, data);
        data += n;
        size -= n;

        if (req == NULL) {
            ok = false;
            break;
        }

        memset(&st, 0, sizeof(st));
        ok = pfsd_modify_add(m, rdb, req, &st);
        protobuf_c_message_free_unpacked(&req->base, NULL);
    }

    if (ok) {
        memset(&w, 0, sizeof(w));
        pthread_mutex_init(&w.mu, NULL);
        pthread_cond_init(&w.cv, NULL);

        if (pfsd_modify_submit(m, rdb, committer, on_done, &w, &st)) {
            pthread_mutex_lock(&w.mu);
            while (!w.done) {
                pthread_cond_wait(&w.cv, &w.mu);
            }
            pthread_mutex_unlock(&w.mu);
            ok = w.ok;

        } else {
            ok = false;
        }

        pthread_cond_destroy(&w.cv);
        pthread_mutex_destroy(&w.mu);
    }

    pfsd_modify_free(m);

    if (!ok && commits() != before) {
        fprintf(stderr, "fuzz: a failed ModifyFile stream made a commit\n");
        abort();
    }

    return 0;
}
