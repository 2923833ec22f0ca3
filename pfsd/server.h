/* The gRPC server: one completion queue polled by a pool of threads, calls
 * requested generically and dispatched on the method path. */
#ifndef PFSD_SERVER_H
#define PFSD_SERVER_H

#include <grpc/grpc.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

typedef struct pfsd_server pfsd_server_t;
typedef struct pfsd_call pfsd_call_t;
typedef struct pfsd_store pfsd_store_t;
typedef struct pfsd_committer pfsd_committer_t;
typedef struct pfsd_auth pfsd_auth_t;
typedef struct pfsd_db pfsd_db_t;
typedef struct pfsd_bufpool pfsd_bufpool_t;

typedef struct pfsd_config {
    const char *listen;
    const char *data_dir;
    const char *auth_tokens;        /* NULL: auth off */
    const char *tls_cert;           /* NULL: plain text (see tls.h) */
    const char *tls_key;
    const char *tls_client_ca;      /* NULL: no client certificates */
    pfsd_log_level_t log_level;
    int threads;                    /* 0: 2 x cores, at least 4 */
    int64_t pack_max_bytes;         /* 0: default (1 GiB) */
    int gc_interval_s;              /* 0: default; <0: never */
    int grace_s;                    /* shutdown grace period */
} pfsd_config_t;

/* GetFile sends the content in BytesValue messages of this many bytes. */
#define PFSD_GET_PIECE (1u << 20)

/* What a handler running on a completion-queue thread may use. */
typedef struct pfsd_worker {
    pfsd_server_t *srv;
    pfsd_db_t *db;                  /* this thread's read connection */
    const pfsd_log_t *log;
    pfsd_store_t *store;
    pfsd_committer_t *committer;
    const pfsd_auth_t *auth;
    pfsd_bufpool_t *msgbufs;        /* large message buffers, shared */
} pfsd_worker_t;

/* Opens the store, binds the address and starts serving.  Returns 0, or -1
 * with one line in err. */
int pfsd_server_start(pfsd_server_t **out, const pfsd_config_t *cfg,
                      char *err, size_t errlen);

/* Stops accepting calls, lets running calls finish for the grace period,
 * cancels the rest, drains the committer and releases everything. */
void pfsd_server_stop(pfsd_server_t *srv);

const pfsd_log_t *pfsd_server_log(pfsd_server_t *srv);

/* Calls whose handler has not finished (shutdown waits for them). */
void pfsd_server_call_begins(pfsd_server_t *srv);
void pfsd_server_call_ends(pfsd_server_t *srv);

#endif
