/* Handlers of the RPCs and the helpers they share: running a read inside
 * one snapshot, sending a write to the committer, streaming pages. */
#ifndef PFSD_RPC_H
#define PFSD_RPC_H

#include <grpc/slice.h>
#include <protobuf-c/protobuf-c.h>

#include "call.h"
#include "committer.h"
#include "db.h"
#include "util.h"

/* ---- reads: fn runs inside one read transaction on the worker's
 * connection; on success *resp (from the arena) is the reply. */
typedef bool (*pfsd_read_fn)(pfsd_db_t *db, pfsd_arena_t *a,
                             const ProtobufCMessage *req,
                             ProtobufCMessage **resp, pfsd_status_t *st);
void pfsd_rpc_read(pfsd_call_t *c, pfsd_worker_t *w, pfsd_read_fn fn);

/* ---- writes: fn runs in the committer; the reply goes out once the
 * transaction is durable. */
typedef struct pfsd_write pfsd_write_t;
typedef bool (*pfsd_write_fn)(pfsd_write_t *wr, pfsd_db_t *db,
                              pfsd_status_t *st);
struct pfsd_write {
    pfsd_job_t job;
    pfsd_call_t *call;
    const ProtobufCMessage *req;
    pfsd_arena_t arena;             /* for the response */
    ProtobufCMessage *resp;         /* NULL: google.protobuf.Empty */
    pfsd_write_fn fn;
};
void pfsd_rpc_write(pfsd_call_t *c, pfsd_worker_t *w, pfsd_write_fn fn);

/* ---- server streams produced page by page: fetch() adds the next page
 * of messages with pfsd_stream_push and sets *done after the last one.
 * Each fetch runs in its own read transaction, so fetch must resume from
 * a key kept in ctx (keyset pagination). */
typedef struct pfsd_stream pfsd_stream_t;
typedef bool (*pfsd_fetch_fn)(pfsd_stream_t *s, pfsd_db_t *db, void *ctx,
                              bool *done, pfsd_status_t *st);
void pfsd_stream_start(pfsd_call_t *c, pfsd_worker_t *w, pfsd_fetch_fn fetch,
                       void *ctx, void (*ctx_free)(void *));
void pfsd_stream_push(pfsd_stream_t *s, const ProtobufCMessage *msg);
size_t pfsd_stream_pending(const pfsd_stream_t *s);

/* ---- handlers ---- */
void pfsd_rpc_create_project(pfsd_call_t *, pfsd_worker_t *, const ProtobufCMessage *);
void pfsd_rpc_inspect_project(pfsd_call_t *, pfsd_worker_t *, const ProtobufCMessage *);
void pfsd_rpc_list_project(pfsd_call_t *, pfsd_worker_t *, const ProtobufCMessage *);
void pfsd_rpc_delete_project(pfsd_call_t *, pfsd_worker_t *, const ProtobufCMessage *);

void pfsd_rpc_create_repo(pfsd_call_t *, pfsd_worker_t *, const ProtobufCMessage *);
void pfsd_rpc_inspect_repo(pfsd_call_t *, pfsd_worker_t *, const ProtobufCMessage *);
void pfsd_rpc_list_repo(pfsd_call_t *, pfsd_worker_t *, const ProtobufCMessage *);
void pfsd_rpc_delete_repo(pfsd_call_t *, pfsd_worker_t *, const ProtobufCMessage *);

void pfsd_rpc_create_branch(pfsd_call_t *, pfsd_worker_t *, const ProtobufCMessage *);
void pfsd_rpc_inspect_branch(pfsd_call_t *, pfsd_worker_t *, const ProtobufCMessage *);
void pfsd_rpc_list_branch(pfsd_call_t *, pfsd_worker_t *, const ProtobufCMessage *);
void pfsd_rpc_delete_branch(pfsd_call_t *, pfsd_worker_t *, const ProtobufCMessage *);

void pfsd_rpc_start_commit(pfsd_call_t *, pfsd_worker_t *, const ProtobufCMessage *);
void pfsd_rpc_finish_commit(pfsd_call_t *, pfsd_worker_t *, const ProtobufCMessage *);
void pfsd_rpc_inspect_commit(pfsd_call_t *, pfsd_worker_t *, const ProtobufCMessage *);
void pfsd_rpc_list_commit(pfsd_call_t *, pfsd_worker_t *, const ProtobufCMessage *);

void pfsd_rpc_modify_file(pfsd_call_t *, pfsd_worker_t *, const ProtobufCMessage *);
void pfsd_rpc_get_file(pfsd_call_t *, pfsd_worker_t *, const ProtobufCMessage *);
void pfsd_rpc_inspect_file(pfsd_call_t *, pfsd_worker_t *, const ProtobufCMessage *);
void pfsd_rpc_list_file(pfsd_call_t *, pfsd_worker_t *, const ProtobufCMessage *);
void pfsd_rpc_walk_file(pfsd_call_t *, pfsd_worker_t *, const ProtobufCMessage *);
void pfsd_rpc_glob_file(pfsd_call_t *, pfsd_worker_t *, const ProtobufCMessage *);

void pfsd_rpc_who_am_i(pfsd_call_t *, pfsd_worker_t *, const ProtobufCMessage *);
void pfsd_rpc_get_version(pfsd_call_t *, pfsd_worker_t *, const ProtobufCMessage *);

#endif
