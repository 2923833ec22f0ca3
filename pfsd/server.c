/* The completion-queue threads and the server's life cycle. */
#include "server.h"
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <grpc/grpc_security.h>
#include <grpc/support/log.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "bufpool.h"
#include "call.h"
#include "committer.h"
#include "db.h"
#include "gc.h"
#include "store.h"
#include "util.h"

/* Calls requested ahead per thread, so bursts of new calls never wait for
 * a request to be posted. */
#define PFSD_PENDING_PER_THREAD 4
/* pachd accepts messages of 20 MiB; a 20 MiB payload plus its protobuf
 * framing must pass, anything much larger is refused as pachd would. */
#define PFSD_MAX_RECV (21 * 1024 * 1024)
/* Bytes of one stream gRPC takes in ahead of the handler. */
#define PFSD_STREAM_WINDOW (8 * 1024 * 1024)
/* Pooled message buffers (bufpool.h): a GetFile message, or a ModifyFile
 * message of the module's default 1 MiB pieces with its path and framing.
 * Up to 4 stay mapped while idle (4.25 MiB): with 1 GiB GETs and PUTs, 4
 * saved as much CPU as 8 and pfsd's peak RSS stayed that of no pool. */
#define PFSD_MSGBUF_SIZE (PFSD_GET_PIECE + 64 * 1024)
#define PFSD_MSGBUF_IDLE 4

struct pfsd_server {
    pfsd_config_t cfg;
    pfsd_log_t log;
    grpc_server *server;
    grpc_completion_queue *cq;
    int nthreads;
    pthread_t *threads;
    pfsd_worker_t *workers;
    pfsd_store_t *store;
    pfsd_committer_t *committer;
    pfsd_gc_t *gc;
    pfsd_auth_t *auth;
    pfsd_bufpool_t *msgbufs;
    char *db_path;
    atomic_bool stopping;

    pfsd_tag_t shutdown_tag;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool shutdown_done;
    int active_calls;               /* under mu */
};

void
pfsd_server_call_begins(pfsd_server_t *srv)
{
    pthread_mutex_lock(&srv->mu);
    srv->active_calls++;
    pthread_mutex_unlock(&srv->mu);
}

void
pfsd_server_call_ends(pfsd_server_t *srv)
{
    pthread_mutex_lock(&srv->mu);
    if (--srv->active_calls == 0) {
        pthread_cond_broadcast(&srv->cv);
    }
    pthread_mutex_unlock(&srv->mu);
}

const pfsd_log_t *
pfsd_server_log(pfsd_server_t *srv)
{
    return &srv->log;
}

static void
pfsd_server_request(pfsd_server_t *srv)
{
    pfsd_call_t *c;
    grpc_call_error e;

    if (atomic_load(&srv->stopping)) {
        return;
    }
    c = pfsd_call_new(srv);
    e = grpc_server_request_call(srv->server, &c->gcall, &c->details, &c->md,
                                 srv->cq, srv->cq, &c->t_new);
    if (e != GRPC_CALL_OK) {
        pfsd_log_error(&srv->log, "grpc_server_request_call: %s",
                       grpc_call_error_to_string(e));
        pfsd_call_release(c);
    }
}

static void *
pfsd_server_thread(void *arg)
{
    pfsd_worker_t *w = arg;
    pfsd_server_t *srv = w->srv;
    grpc_event ev;
    pfsd_tag_t *tag;

    for (;;) {
        ev = grpc_completion_queue_next(srv->cq,
                                        gpr_inf_future(GPR_CLOCK_MONOTONIC),
                                        NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN) {
            break;
        }
        if (ev.type != GRPC_OP_COMPLETE) {
            continue;
        }
        tag = ev.tag;
        switch (tag->kind) {
        case PFSD_TAG_NEW:
            if (!ev.success) {
                /* The server is shutting down: the request is void. */
                pfsd_call_release(tag->call);
                break;
            }
            pfsd_server_request(srv);
            pfsd_call_start(tag->call, w);
            break;
        case PFSD_TAG_SHUTDOWN:
            pthread_mutex_lock(&srv->mu);
            srv->shutdown_done = true;
            pthread_cond_broadcast(&srv->cv);
            pthread_mutex_unlock(&srv->mu);
            break;
        default:
            pfsd_call_event(tag, w, ev.success);
            break;
        }
    }
    return NULL;
}

/* mkdir -p: creates missing parents too. */
static int
pfsd_mkdir_p(const char *dir)
{
    char *p = pfsd_xstrdup(dir), *s;
    int rc = 0;

    for (s = p + 1; rc == 0 && *s; s++) {
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                rc = -1;
            }
            *s = '/';
        }
    }
    if (rc == 0 && mkdir(p, 0755) != 0 && errno != EEXIST) {
        rc = -1;
    }
    free(p);
    return rc;
}

/* The data directory must exist (it is created) and be writable. */
static int
pfsd_server_check_dir(const char *dir, char *err, size_t errlen)
{
    char probe[4096];
    struct stat sb;
    int fd;

    if (pfsd_mkdir_p(dir) != 0) {
        snprintf(err, errlen, "cannot create data directory %s: %s", dir,
                 strerror(errno));
        return -1;
    }
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "data directory %s is not a directory", dir);
        return -1;
    }
    snprintf(probe, sizeof(probe), "%s/.pfsd-write-test", dir);
    fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "data directory %s is not writable: %s", dir,
                 strerror(errno));
        return -1;
    }
    close(fd);
    unlink(probe);
    return 0;
}

/* gRPC's own bind failure is reported only in its log; binding once
 * ourselves first gives the reason (address in use, bad host) clearly. */
static int
pfsd_server_probe_listen(const char *addr, char *err, size_t errlen)
{
    char host[512], *port;
    struct addrinfo hints, *res, *ai;
    const char *colon = strrchr(addr, ':');
    int rc, fd, one = 1, saved = 0;

    if (colon == NULL || strlen(addr) >= sizeof(host)) {
        snprintf(err, errlen, "bad --listen address %s (want HOST:PORT)", addr);
        return -1;
    }
    memcpy(host, addr, (size_t) (colon - addr));
    host[colon - addr] = '\0';
    port = (char *) colon + 1;
    if (*port == '\0' || strspn(port, "0123456789") != strlen(port)
        || strlen(port) > 5 || atoi(port) > 65535)
    {
        snprintf(err, errlen, "bad --listen address %s: port %s is not a "
                 "number from 0 to 65535", addr, port);
        return -1;
    }
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", addr,
                 gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        rc = bind(fd, ai->ai_addr, ai->ai_addrlen);
        saved = errno;
        close(fd);
        if (rc == 0) {
            freeaddrinfo(res);
            return 0;
        }
    }
    freeaddrinfo(res);
    snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(saved));
    return -1;
}

/* gRPC logs through a process-wide hook with no context; pfsd's own log
 * line for a failure is the one users need, so gRPC's are dropped unless
 * asked for with --log-level debug. */
static void
pfsd_grpc_log_quiet(gpr_log_func_args *args)
{
    (void) args;
}

static int
pfsd_server_open_storage(pfsd_server_t *srv, char *err, size_t errlen)
{
    pfsd_db_t *wdb;
    pfsd_status_t st;
    sqlite3_stmt *s;
    uint32_t first_pack = 1;
    size_t n = strlen(srv->cfg.data_dir) + sizeof("/meta.db");

    srv->db_path = pfsd_xmalloc(n);
    snprintf(srv->db_path, n, "%s/meta.db", srv->cfg.data_dir);
    if (pfsd_db_open(&wdb, srv->db_path, true, err, errlen) != 0) {
        return -1;
    }
    s = pfsd_db_stmt(wdb, "SELECT coalesce(max(id), 0) + 1 FROM packs");
    if (pfsd_db_row(wdb, s, &st) == 1) {
        first_pack = (uint32_t) sqlite3_column_int64(s, 0);
    }
    sqlite3_reset(s);
    if (pfsd_store_open(&srv->store, srv->cfg.data_dir, srv->cfg.pack_max_bytes,
                        first_pack, &srv->log, err, errlen) != 0)
    {
        pfsd_db_close(wdb);
        return -1;
    }
    srv->committer = pfsd_committer_start(wdb, srv->store, &srv->log);
    return 0;
}

static int
pfsd_server_open_workers(pfsd_server_t *srv, char *err, size_t errlen)
{
    int i;

    srv->msgbufs = pfsd_bufpool_new(PFSD_MSGBUF_SIZE, PFSD_MSGBUF_IDLE);
    srv->workers = pfsd_xcalloc((size_t) srv->nthreads, sizeof(*srv->workers));
    for (i = 0; i < srv->nthreads; i++) {
        pfsd_worker_t *w = &srv->workers[i];

        w->srv = srv;
        w->log = &srv->log;
        w->store = srv->store;
        w->committer = srv->committer;
        w->auth = srv->auth;
        w->msgbufs = srv->msgbufs;
        if (pfsd_db_open(&w->db, srv->db_path, false, err, errlen) != 0) {
            return -1;
        }
    }
    return 0;
}

static int
pfsd_server_listen(pfsd_server_t *srv, char *err, size_t errlen)
{
    grpc_arg args[5];
    grpc_channel_args cargs;
    grpc_server_credentials *creds;
    int port;

    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[0].value.integer = PFSD_MAX_RECV;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
    args[1].value.integer = -1;
    /* Without this a second pfsd could silently share the port. */
    args[2].type = GRPC_ARG_INTEGER;
    args[2].key = GRPC_ARG_ALLOW_REUSEPORT;
    args[2].value.integer = 0;
    /* A fixed stream window instead of the one the bandwidth-delay
     * estimator grows: over a long upload it let gRPC buffer more and more
     * of the stream ahead of the writer (pfsd's peak RSS 130 MiB for a
     * 1 GiB PUT, 220 MiB for 5 GiB; 30 MiB with this, as fast). */
    args[3].type = GRPC_ARG_INTEGER;
    args[3].key = GRPC_ARG_HTTP2_BDP_PROBE;
    args[3].value.integer = 0;
    args[4].type = GRPC_ARG_INTEGER;
    args[4].key = GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES;
    args[4].value.integer = PFSD_STREAM_WINDOW;
    cargs.num_args = 5;
    cargs.args = args;

    srv->server = grpc_server_create(&cargs, NULL);
    srv->cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(srv->server, srv->cq, NULL);
    creds = pfsd_tls_server_credentials(&srv->cfg, err, errlen);
    if (creds == NULL) {
        return -1;
    }
    port = grpc_server_add_http2_port(srv->server, srv->cfg.listen, creds);
    grpc_server_credentials_release(creds);
    if (port == 0) {
        snprintf(err, errlen, "cannot listen on %s", srv->cfg.listen);
        return -1;
    }
    grpc_server_start(srv->server);
    return 0;
}

static void
pfsd_server_raise_nofile(void)
{
    struct rlimit rl;

    /* One descriptor per pack in use plus connections. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int
pfsd_server_start(pfsd_server_t **out, const pfsd_config_t *cfg,
                  char *err, size_t errlen)
{
    pfsd_server_t *srv = pfsd_xcalloc(1, sizeof(*srv));
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int i, j;

    srv->cfg = *cfg;
    srv->log.level = cfg->log_level;
    srv->nthreads = cfg->threads > 0 ? cfg->threads
                                     : (int) (cores > 2 ? 2 * cores : 4);
    pthread_mutex_init(&srv->mu, NULL);
    pthread_cond_init(&srv->cv, NULL);
    srv->shutdown_tag.kind = PFSD_TAG_SHUTDOWN;
    atomic_init(&srv->stopping, false);
    pfsd_server_raise_nofile();

    if (cfg->log_level < PFSD_LOG_DEBUG) {
        gpr_set_log_function(pfsd_grpc_log_quiet);
    }
    if (pfsd_server_check_dir(cfg->data_dir, err, errlen) != 0
        || pfsd_server_probe_listen(cfg->listen, err, errlen) != 0)
    {
        free(srv);
        return -1;
    }
    if (cfg->auth_tokens != NULL) {
        srv->auth = pfsd_auth_load(cfg->auth_tokens, err, errlen);
        if (srv->auth == NULL) {
            free(srv);
            return -1;
        }
    }
    grpc_init();
    if (pfsd_server_open_storage(srv, err, errlen) != 0
        || pfsd_server_open_workers(srv, err, errlen) != 0
        || pfsd_server_listen(srv, err, errlen) != 0)
    {
        /* A failed start exits the process; the OS reclaims the rest. */
        return -1;
    }
    srv->threads = pfsd_xcalloc((size_t) srv->nthreads, sizeof(pthread_t));
    for (i = 0; i < srv->nthreads; i++) {
        pthread_create(&srv->threads[i], NULL, pfsd_server_thread,
                       &srv->workers[i]);
        for (j = 0; j < PFSD_PENDING_PER_THREAD; j++) {
            pfsd_server_request(srv);
        }
    }
    srv->gc = pfsd_gc_start(srv->db_path, srv->store, srv->committer,
                            &srv->log, cfg->gc_interval_s);
    pfsd_log_info(&srv->log, "pfsd listening on %s, data in %s, auth %s, "
                  "tls %s, %d threads", cfg->listen, cfg->data_dir,
                  srv->auth ? "on" : "off",
                  cfg->tls_client_ca ? "on with client certificates"
                  : cfg->tls_cert ? "on" : "off", srv->nthreads);
    *out = srv;
    return 0;
}

/* Waits (seconds < 0: without limit) until the server has shut down, or
 * with calls_only until no call is running. */
static bool
pfsd_server_wait_shutdown(pfsd_server_t *srv, int seconds, bool calls_only)
{
    struct timespec ts;
    bool done;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += seconds;
    pthread_mutex_lock(&srv->mu);
    while (!srv->shutdown_done && (!calls_only || srv->active_calls > 0)) {
        if (seconds < 0) {
            pthread_cond_wait(&srv->cv, &srv->mu);
        } else if (pthread_cond_timedwait(&srv->cv, &srv->mu, &ts) != 0) {
            break;
        }
    }
    done = srv->shutdown_done || (calls_only && srv->active_calls == 0);
    pthread_mutex_unlock(&srv->mu);
    return done;
}

void
pfsd_server_stop(pfsd_server_t *srv)
{
    int i;

    pfsd_log_info(&srv->log, "shutting down");
    atomic_store(&srv->stopping, true);
    pfsd_gc_stop(srv->gc);
    grpc_server_shutdown_and_notify(srv->server, srv->cq, &srv->shutdown_tag);
    /* Calls waiting for a commit to finish would wait out the grace. */
    pfsd_committer_cancel_waiters(srv->committer);
    if (!pfsd_server_wait_shutdown(srv, srv->cfg.grace_s, true)) {
        pfsd_log_warn(&srv->log, "cancelling calls still running after %ds",
                      srv->cfg.grace_s);
    }
    /* Also closes idle client connections, which would otherwise hold the
     * shutdown until the clients hang up. */
    grpc_server_cancel_all_calls(srv->server);
    pfsd_server_wait_shutdown(srv, -1, false);
    pfsd_log_debug(&srv->log, "all calls ended");
    /* Every call has ended, so no job can be queued any more. */
    pfsd_committer_stop(srv->committer);
    grpc_server_destroy(srv->server);
    grpc_completion_queue_shutdown(srv->cq);
    for (i = 0; i < srv->nthreads; i++) {
        pthread_join(srv->threads[i], NULL);
    }
    grpc_completion_queue_destroy(srv->cq);
    pfsd_log_debug(&srv->log, "completion queue drained");
    for (i = 0; i < srv->nthreads; i++) {
        pfsd_db_close(srv->workers[i].db);
    }
    pfsd_store_close(srv->store);
    pfsd_auth_free(srv->auth);
    /* Slices gRPC still holds keep the pool until they are destroyed. */
    pfsd_bufpool_release(srv->msgbufs);
    /* grpc_shutdown() is left out on purpose: with a client that stopped
     * reading, gRPC can take many seconds to tear its transports down,
     * and nothing of ours depends on it any more (the process exits). */
    pfsd_log_info(&srv->log, "stopped");
    free(srv->workers);
    free(srv->threads);
    free(srv->db_path);
    pthread_mutex_destroy(&srv->mu);
    pthread_cond_destroy(&srv->cv);
    free(srv);
}
