#include "committer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "store.h"
#include "util.h"

struct pfsd_committer {
    pfsd_db_t *db;
    pfsd_store_t *store;
    const pfsd_log_t *log;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pfsd_job_t *head, *tail;
    bool stopping;
    bool cancel_waiters;            /* under mu */
    pfsd_waiter_t *waiters;         /* committer thread only */
};

void
pfsd_committer_add_waiter(pfsd_committer_t *c, pfsd_waiter_t *w)
{
    w->next = c->waiters;
    c->waiters = w;
}

void
pfsd_committer_cancel_waiters(pfsd_committer_t *c)
{
    pthread_mutex_lock(&c->mu);
    c->cancel_waiters = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* After a batch: let each waiter look at the new state. */
static void
pfsd_committer_run_waiters(pfsd_committer_t *c)
{
    pfsd_waiter_t **pp, *w, *next;
    pfsd_status_t st;

    if (c->waiters == NULL || !pfsd_db_begin(c->db, &st)) {
        return;
    }
    for (pp = &c->waiters; (w = *pp) != NULL;) {
        next = w->next;             /* a check that is done frees w */
        if (w->check(w, c->db)) {
            *pp = next;
        } else {
            pp = &w->next;
        }
    }
    if (!pfsd_db_commit(c->db, &st)) {
        pfsd_db_rollback(c->db);
    }
}

static void
pfsd_committer_drop_waiters(pfsd_committer_t *c)
{
    pfsd_waiter_t *w;

    while ((w = c->waiters) != NULL) {
        c->waiters = w->next;
        w->cancel(w);
    }
}

void
pfsd_committer_submit(pfsd_committer_t *c, pfsd_job_t *job)
{
    job->next = NULL;
    pthread_mutex_lock(&c->mu);
    if (c->tail != NULL) {
        c->tail->next = job;
    } else {
        c->head = job;
    }
    c->tail = job;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* Takes the queue, or for a solo job at its head only that job, so a solo
 * job always runs in a transaction of its own. */
static pfsd_job_t *
pfsd_committer_take(pfsd_committer_t *c)
{
    pfsd_job_t *batch, *j, *prev = NULL;

    pthread_mutex_lock(&c->mu);
    while (c->head == NULL && !c->stopping && !c->cancel_waiters) {
        pthread_cond_wait(&c->cv, &c->mu);
    }
    if (c->cancel_waiters) {
        c->cancel_waiters = false;
        pthread_mutex_unlock(&c->mu);
        pfsd_committer_drop_waiters(c);
        pthread_mutex_lock(&c->mu);
    }
    batch = c->head;
    if (batch != NULL && batch->solo) {
        c->head = batch->next;
        batch->next = NULL;
    } else {
        for (j = batch; j != NULL && !j->solo; j = j->next) {
            prev = j;
        }
        c->head = j;
        if (prev != NULL) {
            prev->next = NULL;
        }
    }
    if (c->head == NULL) {
        c->tail = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    return batch;
}

typedef struct pfsd_job_result {
    pfsd_job_t *job;
    pfsd_status_t st;
} pfsd_job_result_t;

/* Makes every pack the batch wrote to durable; a job whose pack cannot be
 * synced fails before it is applied. */
static void
pfsd_committer_sync(pfsd_committer_t *c, pfsd_job_result_t *r, size_t n)
{
    size_t i, k, m;
    uint32_t *ids = NULL;
    size_t nids = 0, cap = 0;
    pfsd_status_t st;

    for (i = 0; i < n; i++) {
        for (k = 0; k < r[i].job->npacks; k++) {
            uint32_t id = r[i].job->packs[k];

            for (m = 0; m < nids && ids[m] != id; m++) {
            }
            if (m < nids) {
                continue;
            }
            if (nids == cap) {
                cap = cap ? cap * 2 : 8;
                ids = pfsd_xrealloc(ids, cap * sizeof(*ids));
            }
            ids[nids++] = id;
        }
    }
    for (m = 0; m < nids; m++) {
        if (pfsd_store_sync(c->store, ids[m], &st)) {
            continue;
        }
        pfsd_log_error(c->log, "%s", st.msg);
        for (i = 0; i < n; i++) {
            for (k = 0; k < r[i].job->npacks; k++) {
                if (r[i].job->packs[k] == ids[m]) {
                    r[i].st = st;
                }
            }
        }
    }
    free(ids);
}

static void
pfsd_committer_run_batch(pfsd_committer_t *c, pfsd_job_t *batch)
{
    pfsd_job_result_t *r;
    pfsd_job_t *j;
    pfsd_status_t st;
    size_t n = 0, i;
    bool in_txn;

    for (j = batch; j != NULL; j = j->next) {
        n++;
    }
    r = pfsd_xcalloc(n, sizeof(*r));
    for (i = 0, j = batch; j != NULL; j = j->next, i++) {
        r[i].job = j;
        pfsd_status_ok(&r[i].st);
    }
    pfsd_committer_sync(c, r, n);

    in_txn = pfsd_db_begin_write(c->db, &st);
    for (i = 0; i < n && in_txn; i++) {
        if (!pfsd_is_ok(&r[i].st)) {
            continue;
        }
        if (!pfsd_db_exec(c->db, "SAVEPOINT job", &r[i].st)) {
            break;
        }
        if (r[i].job->apply(r[i].job, c->db, &r[i].st)) {
            /* A lookup that failed on the way may have left a status. */
            pfsd_status_ok(&r[i].st);
            pfsd_db_exec(c->db, "RELEASE job", &st);
        } else {
            pfsd_db_reset_all(c->db);
            pfsd_db_exec(c->db, "ROLLBACK TO job", &st);
            pfsd_db_exec(c->db, "RELEASE job", &st);
        }
        /* Some errors (disk full, I/O) end the whole transaction. */
        if (sqlite3_get_autocommit(pfsd_db_handle(c->db))) {
            in_txn = false;
        }
    }
    if (!in_txn || !pfsd_db_commit(c->db, &st)) {
        if (in_txn || st.code == GRPC_STATUS_OK) {
            pfsd_db_fail(c->db, &st);
        }
        pfsd_db_rollback(c->db);
        pfsd_log_error(c->log, "commit failed: %s", st.msg);
        for (i = 0; i < n; i++) {
            if (pfsd_is_ok(&r[i].st)) {
                r[i].st = st;
            }
        }
    }
    for (i = 0; i < n; i++) {
        r[i].job->done(r[i].job, &r[i].st);
    }
    free(r);
}

static void *
pfsd_committer_main(void *arg)
{
    pfsd_committer_t *c = arg;
    pfsd_job_t *batch;

    for (;;) {
        batch = pfsd_committer_take(c);
        if (batch == NULL) {
            pthread_mutex_lock(&c->mu);
            if (c->stopping && c->head == NULL) {
                pthread_mutex_unlock(&c->mu);
                break;          /* stopping and drained */
            }
            pthread_mutex_unlock(&c->mu);
            continue;
        }
        pfsd_committer_run_batch(c, batch);
        pfsd_committer_run_waiters(c);
    }
    pfsd_committer_drop_waiters(c);
    return NULL;
}

pfsd_committer_t *
pfsd_committer_start(pfsd_db_t *db, pfsd_store_t *store, const pfsd_log_t *log)
{
    pfsd_committer_t *c = pfsd_xcalloc(1, sizeof(*c));

    c->db = db;
    c->store = store;
    c->log = log;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (pthread_create(&c->thread, NULL, pfsd_committer_main, c) != 0) {
        fprintf(stderr, "pfsd: cannot start the committer thread\n");
        abort();
    }
    return c;
}

void
pfsd_committer_stop(pfsd_committer_t *c)
{
    pthread_mutex_lock(&c->mu);
    c->stopping = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    pfsd_db_close(c->db);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}
