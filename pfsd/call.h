/* One gRPC call on the server: a small state machine owned by a heap
 * object.  Every batch's tag is one of the tags embedded in the call, and
 * at most one receive and one send batch are outstanding at a time.
 *
 * A call holds references: one for the handler (released when the final
 * status has been sent or the call is abandoned) and one per outstanding
 * batch.  The last release frees the call and its handler state. */
#ifndef PFSD_CALL_H
#define PFSD_CALL_H

#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "server.h"
#include "status.h"

typedef enum pfsd_tag_kind {
    PFSD_TAG_NEW,
    PFSD_TAG_RECV,
    PFSD_TAG_SEND,
    PFSD_TAG_CLOSE,
    PFSD_TAG_SHUTDOWN,
} pfsd_tag_kind_t;

typedef struct pfsd_tag {
    pfsd_tag_kind_t kind;
    pfsd_call_t *call;
} pfsd_tag_t;

typedef enum pfsd_method_kind {
    PFSD_UNARY,             /* one request, one response */
    PFSD_SERVER_STREAM,     /* one request, a stream of responses */
    PFSD_CLIENT_STREAM,     /* a stream of requests, one response */
} pfsd_method_kind_t;

/* Called on a completion-queue thread when the call's request arrived
 * (unary and server streams) or when the call starts (client streams). */
typedef void (*pfsd_handler_fn)(pfsd_call_t *c, pfsd_worker_t *w,
                                const ProtobufCMessage *req);

typedef struct pfsd_method {
    const char *path;                       /* "/pfs_v2.API/InspectRepo" */
    const char *name;                       /* for logs */
    pfsd_method_kind_t kind;
    const ProtobufCMessageDescriptor *req_desc;
    pfsd_handler_fn handler;
} pfsd_method_t;

/* Continuations: called with the call and the thread's worker. */
typedef void (*pfsd_call_fn)(pfsd_call_t *c, pfsd_worker_t *w);
/* Receive continuation: msg is NULL at the end of the client's stream. */
typedef void (*pfsd_recv_fn)(pfsd_call_t *c, pfsd_worker_t *w,
                             grpc_byte_buffer *msg);

struct pfsd_call {
    pfsd_server_t *srv;
    grpc_call *gcall;
    grpc_call_details details;
    grpc_metadata_array md;
    const pfsd_method_t *method;

    pfsd_tag_t t_new, t_recv, t_send, t_close;
    atomic_int refs;
    int cancelled;                  /* set by RECV_CLOSE_ON_SERVER */

    grpc_byte_buffer *recv_buf;
    grpc_byte_buffer *send_buf;
    grpc_slice status_slice;
    bool md_sent, finished, has_status_slice;

    pfsd_recv_fn on_recv;
    pfsd_call_fn on_send;

    ProtobufCMessage *req;          /* the unpacked request, owned */
    const char *user;               /* authenticated user, or NULL */

    /* Handler state, freed with the call. */
    void *state;
    void (*state_free)(void *state);

    /* For the log line. */
    int64_t t_start;
    uint64_t bytes_in, bytes_out;
    grpc_status_code status;
};

/* Called by the server for each new call; dispatches. */
void pfsd_call_start(pfsd_call_t *c, pfsd_worker_t *w);
/* Called by the server for each completed batch of the call. */
void pfsd_call_event(pfsd_tag_t *tag, pfsd_worker_t *w, bool ok);

pfsd_call_t *pfsd_call_new(pfsd_server_t *srv);
void pfsd_call_release(pfsd_call_t *c);

/* Receives the next client message; next() gets NULL at end of stream.
 * A broken stream abandons the call without calling next(). */
void pfsd_call_recv(pfsd_call_t *c, pfsd_recv_fn next);

/* Sends one message of a server stream; next() runs when it has been sent.
 * A failed send (client gone) abandons the call. */
void pfsd_call_send(pfsd_call_t *c, const ProtobufCMessage *msg,
                    pfsd_call_fn next);
/* Same with already-serialized bytes; the slice is taken over. */
void pfsd_call_send_slice(pfsd_call_t *c, grpc_slice s, pfsd_call_fn next);

/* Ends a server stream with its last message (the slice is taken over)
 * and status OK in one batch: one round through the completion queue
 * fewer than a send and then pfsd_call_finish. */
void pfsd_call_send_last_slice(pfsd_call_t *c, grpc_slice s);

/* Ends a unary call with a response and status OK (msg NULL: Empty). */
void pfsd_call_reply(pfsd_call_t *c, const ProtobufCMessage *msg);
/* Ends the call with a status (OK ends a stream). */
void pfsd_call_finish(pfsd_call_t *c, const pfsd_status_t *st);
void pfsd_call_fail(pfsd_call_t *c, grpc_status_code code,
                    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Unpacks a received message; NULL and st filled when it is malformed.
 * alloc (NULL: malloc) provides the message and any copy of the bytes it
 * needs; the message is freed with the same allocator. */
ProtobufCMessage *pfsd_call_unpack(pfsd_call_t *c, grpc_byte_buffer *buf,
                                   const ProtobufCMessageDescriptor *desc,
                                   ProtobufCAllocator *alloc,
                                   pfsd_status_t *st);

/* The value of a request metadata key, or NULL. */
const grpc_slice *pfsd_call_metadata(pfsd_call_t *c, const char *key);

/* The method table (rpc.c). */
const pfsd_method_t *pfsd_rpc_find(grpc_slice path);

#endif
