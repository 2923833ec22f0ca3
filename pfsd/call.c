/* The life of one call: request, batches, final status, log line. */
#include "call.h"

#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "util.h"

static void pfsd_call_done(pfsd_call_t *c);
static void pfsd_call_confirm_eos(pfsd_call_t *c);

pfsd_call_t *
pfsd_call_new(pfsd_server_t *srv)
{
    pfsd_call_t *c = pfsd_xcalloc(1, sizeof(*c));

    c->srv = srv;
    grpc_call_details_init(&c->details);
    grpc_metadata_array_init(&c->md);
    c->t_new = (pfsd_tag_t) { PFSD_TAG_NEW, c };
    c->t_recv = (pfsd_tag_t) { PFSD_TAG_RECV, c };
    c->t_send = (pfsd_tag_t) { PFSD_TAG_SEND, c };
    c->t_close = (pfsd_tag_t) { PFSD_TAG_CLOSE, c };
    atomic_init(&c->refs, 1);           /* the handler's reference */
    c->status = GRPC_STATUS_OK;
    return c;
}

static void
pfsd_call_ref(pfsd_call_t *c)
{
    atomic_fetch_add(&c->refs, 1);
}

void
pfsd_call_release(pfsd_call_t *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1) {
        return;
    }
    if (c->state_free != NULL) {
        c->state_free(c->state);
    }
    if (c->req != NULL) {
        protobuf_c_message_free_unpacked(c->req, NULL);
    }
    if (c->recv_buf != NULL) {
        grpc_byte_buffer_destroy(c->recv_buf);
    }
    if (c->send_buf != NULL) {
        grpc_byte_buffer_destroy(c->send_buf);
    }
    if (c->has_status_slice) {
        grpc_slice_unref(c->status_slice);
    }
    if (c->gcall != NULL) {
        grpc_call_unref(c->gcall);
    }
    grpc_call_details_destroy(&c->details);
    grpc_metadata_array_destroy(&c->md);
    free(c);
}

/* Starts a batch holding a reference for it; false if gRPC refused it. */
static bool
pfsd_call_batch(pfsd_call_t *c, const grpc_op *ops, size_t n, pfsd_tag_t *tag)
{
    grpc_call_error e;

    pfsd_call_ref(c);
    e = grpc_call_start_batch(c->gcall, ops, n, tag, NULL);
    if (e != GRPC_CALL_OK) {
        pfsd_log_error(pfsd_server_log(c->srv), "grpc_call_start_batch: %s",
                       grpc_call_error_to_string(e));
        pfsd_call_release(c);
        return false;
    }
    return true;
}

/* Gives up on a call whose client is gone: no more batches. */
static void
pfsd_call_abandon(pfsd_call_t *c)
{
    if (c->finished) {
        return;
    }
    c->finished = true;
    c->status = GRPC_STATUS_CANCELLED;
    pfsd_call_done(c);
}

static void
pfsd_call_log(pfsd_call_t *c, const char *msg)
{
    const pfsd_log_t *log = pfsd_server_log(c->srv);
    double ms = (double) (pfsd_mono_ns() - c->t_start) / 1e6;
    char *peer = grpc_call_get_peer(c->gcall);
    char method[128];
    size_t n = GRPC_SLICE_LENGTH(c->details.method);

    if (n >= sizeof(method)) {
        n = sizeof(method) - 1;
    }
    memcpy(method, GRPC_SLICE_START_PTR(c->details.method), n);
    method[n] = '\0';
    pfsd_log(log, c->status == GRPC_STATUS_INTERNAL ? PFSD_LOG_WARN
                                                    : PFSD_LOG_INFO,
             "rpc %s peer=%s status=%s %.3fms in=%llu out=%llu%s%s%s%s%s",
             method + (method[0] == '/'), peer ? peer : "?",
             pfsd_status_name(c->status), ms,
             (unsigned long long) c->bytes_in,
             (unsigned long long) c->bytes_out,
             c->user ? " user=" : "", c->user ? c->user : "",
             msg && *msg ? " msg=\"" : "", msg ? msg : "",
             msg && *msg ? "\"" : "");
    gpr_free(peer);
}

/* The handler's part is over: log and drop its reference. */
static void
pfsd_call_done(pfsd_call_t *c)
{
    char msg[256] = "";
    pfsd_server_t *srv = c->srv;

    if (c->has_status_slice && c->status != GRPC_STATUS_OK) {
        size_t n = GRPC_SLICE_LENGTH(c->status_slice);

        if (n >= sizeof(msg)) {
            n = sizeof(msg) - 1;
        }
        memcpy(msg, GRPC_SLICE_START_PTR(c->status_slice), n);
        msg[n] = '\0';
    }
    pfsd_call_log(c, msg);
    pfsd_call_release(c);
    pfsd_server_call_ends(srv);
}

static grpc_byte_buffer *
pfsd_pack(const ProtobufCMessage *msg)
{
    size_t n = msg ? protobuf_c_message_get_packed_size(msg) : 0;
    grpc_slice s = grpc_slice_malloc(n);
    grpc_byte_buffer *bb;

    if (n > 0) {
        protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
    }
    bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

static size_t
pfsd_call_add_md(pfsd_call_t *c, grpc_op *op)
{
    if (c->md_sent) {
        return 0;
    }
    memset(op, 0, sizeof(*op));
    op->op = GRPC_OP_SEND_INITIAL_METADATA;
    c->md_sent = true;
    return 1;
}

static void
pfsd_call_send_bb(pfsd_call_t *c, grpc_byte_buffer *bb, pfsd_call_fn next)
{
    grpc_op ops[2];
    size_t n = 0;

    c->send_buf = bb;
    c->bytes_out += grpc_byte_buffer_length(bb);
    c->on_send = next;
    n += pfsd_call_add_md(c, &ops[n]);
    memset(&ops[n], 0, sizeof(ops[n]));
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n].data.send_message.send_message = bb;
    n++;
    if (!pfsd_call_batch(c, ops, n, &c->t_send)) {
        pfsd_call_abandon(c);
    }
}

void
pfsd_call_send(pfsd_call_t *c, const ProtobufCMessage *msg, pfsd_call_fn next)
{
    pfsd_call_send_bb(c, pfsd_pack(msg), next);
}

void
pfsd_call_send_slice(pfsd_call_t *c, grpc_slice s, pfsd_call_fn next)
{
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);

    grpc_slice_unref(s);
    pfsd_call_send_bb(c, bb, next);
}

/* The final batch: optional message (taken over), then the status. */
static void
pfsd_call_end(pfsd_call_t *c, grpc_byte_buffer *bb, grpc_status_code code,
              const char *text)
{
    grpc_op ops[3];
    size_t n = 0;

    if (c->finished) {
        if (bb != NULL) {
            grpc_byte_buffer_destroy(bb);
        }
        return;
    }
    c->finished = true;
    c->status = code;
    c->on_send = NULL;
    n += pfsd_call_add_md(c, &ops[n]);
    if (bb != NULL) {
        c->send_buf = bb;
        c->bytes_out += grpc_byte_buffer_length(c->send_buf);
        memset(&ops[n], 0, sizeof(ops[n]));
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n].data.send_message.send_message = c->send_buf;
        n++;
    }
    c->status_slice = grpc_slice_from_copied_string(text ? text : "");
    c->has_status_slice = true;
    memset(&ops[n], 0, sizeof(ops[n]));
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = code;
    ops[n].data.send_status_from_server.status_details =
        text && *text ? &c->status_slice : NULL;
    n++;
    if (!pfsd_call_batch(c, ops, n, &c->t_send)) {
        pfsd_call_done(c);
    }
}

void
pfsd_call_reply(pfsd_call_t *c, const ProtobufCMessage *msg)
{
    pfsd_call_end(c, c->finished ? NULL : pfsd_pack(msg), GRPC_STATUS_OK,
                  NULL);
}

void
pfsd_call_send_last_slice(pfsd_call_t *c, grpc_slice s)
{
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);

    grpc_slice_unref(s);
    pfsd_call_end(c, bb, GRPC_STATUS_OK, NULL);
}

void
pfsd_call_finish(pfsd_call_t *c, const pfsd_status_t *st)
{
    pfsd_call_end(c, NULL, st->code, st->msg);
}

void
pfsd_call_fail(pfsd_call_t *c, grpc_status_code code, const char *fmt, ...)
{
    pfsd_status_t st;
    va_list ap;

    st.code = code;
    va_start(ap, fmt);
    vsnprintf(st.msg, sizeof(st.msg), fmt, ap);
    va_end(ap);
    pfsd_call_finish(c, &st);
}

/* The end of a client stream.  gRPC also reports a client's cancellation
 * (or a broken connection, or a passed deadline) to a pending receive as
 * "no more messages", which would make a cut upload look complete.  A
 * call that was cancelled refuses further sends, so the initial metadata
 * is sent first and the end of the stream is believed only if that
 * succeeds. */
static void
pfsd_call_eos_confirmed(pfsd_call_t *c, pfsd_worker_t *w)
{
    c->on_recv(c, w, NULL);
}

static void
pfsd_call_confirm_eos(pfsd_call_t *c)
{
    grpc_op op;

    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_SEND_INITIAL_METADATA;
    c->md_sent = true;
    c->on_send = pfsd_call_eos_confirmed;
    if (!pfsd_call_batch(c, &op, 1, &c->t_send)) {
        pfsd_call_abandon(c);
    }
}

void
pfsd_call_recv(pfsd_call_t *c, pfsd_recv_fn next)
{
    grpc_op op;

    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &c->recv_buf;
    c->on_recv = next;
    if (!pfsd_call_batch(c, &op, 1, &c->t_recv)) {
        pfsd_call_abandon(c);
    }
}

ProtobufCMessage *
pfsd_call_unpack(pfsd_call_t *c, grpc_byte_buffer *buf,
                 const ProtobufCMessageDescriptor *desc,
                 ProtobufCAllocator *alloc, pfsd_status_t *st)
{
    grpc_byte_buffer_reader r;
    const grpc_slice_buffer *sb;
    ProtobufCMessage *m;
    uint8_t *copy = NULL, *p;
    const uint8_t *data;
    size_t i, len;

    (void) c;
    if (!grpc_byte_buffer_reader_init(&r, buf)) {
        pfsd_fail(st, GRPC_STATUS_INTERNAL, "cannot read request message");
        return NULL;
    }
    /* The reader's output is the message as received (decompressed if it
     * was compressed).  One slice is unpacked in place; several are
     * copied together, into memory from alloc, which for large messages
     * is already mapped (readall's copy would be a fresh mapping). */
    sb = &r.buffer_out->data.raw.slice_buffer;
    len = sb->length;
    if (sb->count == 0) {
        data = (const uint8_t *) "";
    } else if (sb->count == 1) {
        data = GRPC_SLICE_START_PTR(sb->slices[0]);
    } else {
        copy = alloc != NULL ? alloc->alloc(alloc->allocator_data, len)
                             : pfsd_xmalloc(len);
        for (i = 0, p = copy; i < sb->count; i++) {
            memcpy(p, GRPC_SLICE_START_PTR(sb->slices[i]),
                   GRPC_SLICE_LENGTH(sb->slices[i]));
            p += GRPC_SLICE_LENGTH(sb->slices[i]);
        }
        data = copy;
    }
    m = protobuf_c_message_unpack(desc, alloc, len, data);
    if (copy != NULL) {
        if (alloc != NULL) {
            alloc->free(alloc->allocator_data, copy);
        } else {
            free(copy);
        }
    }
    grpc_byte_buffer_reader_destroy(&r);
    if (m == NULL) {
        pfsd_fail(st, GRPC_STATUS_INTERNAL,
                  "grpc: error unmarshalling request: malformed %s",
                  desc->name);
    }
    return m;
}

static size_t
pfsd_call_metadata_count(pfsd_call_t *c, const char *key)
{
    size_t i, n = 0;

    for (i = 0; i < c->md.count; i++) {
        n += grpc_slice_str_cmp(c->md.metadata[i].key, key) == 0;
    }
    return n;
}

const grpc_slice *
pfsd_call_metadata(pfsd_call_t *c, const char *key)
{
    size_t i;

    for (i = 0; i < c->md.count; i++) {
        if (grpc_slice_str_cmp(c->md.metadata[i].key, key) == 0) {
            return &c->md.metadata[i].value;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------ dispatch */

static void
pfsd_call_got_request(pfsd_call_t *c, pfsd_worker_t *w, grpc_byte_buffer *buf)
{
    pfsd_status_t st;

    if (buf == NULL) {
        pfsd_call_fail(c, GRPC_STATUS_INTERNAL,
                       "grpc: no request message for %s", c->method->name);
        return;
    }
    c->req = pfsd_call_unpack(c, buf, c->method->req_desc, NULL, &st);
    grpc_byte_buffer_destroy(buf);
    if (c->req == NULL) {
        pfsd_call_finish(c, &st);
        return;
    }
    c->method->handler(c, w, c->req);
}

static bool
pfsd_call_authenticate(pfsd_call_t *c, pfsd_worker_t *w)
{
    const grpc_slice *tok;
    pfsd_status_t st;

    if (w->auth == NULL) {
        return true;
    }
    /* The version service answers anyone, as pachd's does. */
    if (strncmp(c->method->path, "/versionpb_v2.", 14) == 0) {
        return true;
    }
    if (pfsd_call_metadata_count(c, "authn-token") > 1) {
        pfsd_call_fail(c, GRPC_STATUS_UNAUTHENTICATED,
                       "multiple authentication token keys found in context");
        return false;
    }
    tok = pfsd_call_metadata(c, "authn-token");
    if (!pfsd_auth_check(w->auth, tok ? (const char *) GRPC_SLICE_START_PTR(*tok)
                                      : NULL,
                         tok ? GRPC_SLICE_LENGTH(*tok) : 0, &c->user, &st))
    {
        pfsd_call_finish(c, &st);
        return false;
    }
    return true;
}

void
pfsd_call_start(pfsd_call_t *c, pfsd_worker_t *w)
{
    grpc_op op;

    c->t_start = pfsd_mono_ns();
    pfsd_server_call_begins(c->srv);
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &c->cancelled;
    if (!pfsd_call_batch(c, &op, 1, &c->t_close)) {
        pfsd_call_abandon(c);
        return;
    }
    c->method = pfsd_rpc_find(c->details.method);
    if (c->method == NULL) {
        char name[256];
        size_t n = GRPC_SLICE_LENGTH(c->details.method);

        n = n < sizeof(name) - 1 ? n : sizeof(name) - 1;
        memcpy(name, GRPC_SLICE_START_PTR(c->details.method), n);
        name[n] = '\0';
        pfsd_call_fail(c, GRPC_STATUS_UNIMPLEMENTED,
                       "unknown method %s", name);
        return;
    }
    if (!pfsd_call_authenticate(c, w)) {
        return;
    }
    if (c->method->kind == PFSD_CLIENT_STREAM) {
        c->method->handler(c, w, NULL);
    } else {
        pfsd_call_recv(c, pfsd_call_got_request);
    }
}

void
pfsd_call_event(pfsd_tag_t *tag, pfsd_worker_t *w, bool ok)
{
    pfsd_call_t *c = tag->call;
    grpc_byte_buffer *buf;
    pfsd_call_fn next;

    switch (tag->kind) {
    case PFSD_TAG_RECV:
        buf = c->recv_buf;
        c->recv_buf = NULL;
        if (!ok) {
            if (buf != NULL) {
                grpc_byte_buffer_destroy(buf);
            }
            pfsd_call_abandon(c);
        } else if (buf == NULL && !c->md_sent) {
            pfsd_call_confirm_eos(c);
        } else {
            if (buf != NULL) {
                c->bytes_in += grpc_byte_buffer_length(buf);
            }
            c->on_recv(c, w, buf);
        }
        break;

    case PFSD_TAG_SEND:
        if (c->send_buf != NULL) {
            grpc_byte_buffer_destroy(c->send_buf);
            c->send_buf = NULL;
        }
        if (c->finished && c->on_send == NULL) {
            if (!ok && c->status == GRPC_STATUS_OK) {
                c->status = GRPC_STATUS_CANCELLED;
            }
            pfsd_call_done(c);
        } else if (!ok) {
            pfsd_call_abandon(c);
        } else {
            next = c->on_send;
            c->on_send = NULL;
            next(c, w);
        }
        break;

    case PFSD_TAG_CLOSE:
    default:
        break;
    }
    pfsd_call_release(c);
}
