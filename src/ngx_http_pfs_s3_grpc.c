/*
 * PFS calls as nginx subrequests.
 *
 * A call is a subrequest to "/pfs_v2.API/<Method>" (the gRPC :path), which
 * the configuration routes to an internal grpc_pass location.  The
 * subrequest is a POST whose body is our chain of gRPC frames and whose
 * request headers are a fresh list: nothing of the client's request (its
 * Authorization, Content-Length, cookies) reaches PFS, and nothing cached in
 * the client request's variables either.
 *
 * The answer is decoded by our body filter (ngx_http_pfs_s3_decode.c); the
 * outcome (grpc-status and grpc-message, from the trailers or from a
 * trailers-only answer, or the upstream's own failure) is collected by the
 * post_subrequest handler, and the main request resumes in
 * ngx_http_pfs_s3_wake() once nginx has finished the subrequest.
 */

#include <ngx_http_pfs_s3.h>


/* A call that no grpc_pass location took: what the configuration lacks. */
#define NGX_HTTP_PFS_S3_NOT_ROUTED                                            \
    "pfs_s3: the PFS call \"%V\" was not passed to PFS: route /pfs_v2.API/ " \
    "to an internal location with grpc_pass"


static ngx_int_t ngx_http_pfs_s3_call_headers(ngx_http_request_t *r,
    ngx_http_request_t *sr);
static ngx_int_t ngx_http_pfs_s3_push_header(ngx_http_request_t *sr,
    const char *key, u_char *value, size_t len, ngx_table_elt_t **ph);
static ngx_int_t ngx_http_pfs_s3_call_finished(ngx_http_request_t *sr,
    void *data, ngx_int_t rc);
static void ngx_http_pfs_s3_call_status(ngx_http_request_t *sr,
    ngx_http_pfs_s3_call_t *call);
static ngx_table_elt_t *ngx_http_pfs_s3_find(ngx_list_t *list,
    const char *name);
static void ngx_http_pfs_s3_log_status(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static void ngx_http_pfs_s3_free_message(void *data);
static void ngx_http_pfs_s3_stream_body(ngx_http_request_t *r,
    ngx_http_request_t *sr, ngx_chain_t *body);
static ngx_int_t ngx_http_pfs_s3_stream_handler(ngx_http_request_t *r);
static void ngx_http_pfs_s3_stream_read(ngx_http_request_t *r);


ngx_http_pfs_s3_call_t *
ngx_http_pfs_s3_call_create(ngx_http_request_t *r, const char *method,
    const ProtobufCMessageDescriptor *response, ngx_http_pfs_s3_done_pt done)
{
    ngx_http_pfs_s3_call_t  *call;

    call = ngx_pcalloc(r->pool, sizeof(ngx_http_pfs_s3_call_t));
    if (call == NULL) {
        return NULL;
    }

    call->type = NGX_HTTP_PFS_S3_CTX_CALL;
    call->method = method;
    call->response = response;
    call->done = done;
    call->grpc_status = -1;
    call->raw_limit = -1;

    return call;
}


/*
 * A unary or server-streaming call with one request message.  Like every
 * function that starts a call, it returns NGX_DONE (the main request
 * resumes in ngx_http_pfs_s3_wake() once the call has ended) or
 * NGX_HTTP_INTERNAL_SERVER_ERROR, so that a handler can return its value.
 */

ngx_int_t
ngx_http_pfs_s3_call(ngx_http_request_t *r, const char *method,
    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *response,
    ngx_http_pfs_s3_message_pt on_message, ngx_http_pfs_s3_done_pt done,
    void *data)
{
    ngx_chain_t             *body;
    ngx_http_pfs_s3_call_t  *call;

    call = ngx_http_pfs_s3_call_create(r, method, response, done);
    if (call == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    call->on_message = on_message;
    call->data = data;

    body = ngx_http_pfs_s3_frame(r->pool, req);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_pfs_s3_call_start(r, call, body);
}


/*
 * A ModifyFile call: a client stream of set_commit "commit", then the
 * operations already framed in "ops", answered Empty.
 */

ngx_int_t
ngx_http_pfs_s3_modify_file(ngx_http_request_t *r, PfsV2__Commit *commit,
    ngx_chain_t *ops, ngx_http_pfs_s3_done_pt done, void *data)
{
    ngx_chain_t             *body;
    ngx_http_pfs_s3_call_t  *call;

    call = ngx_http_pfs_s3_call_create(r, "/pfs_v2.API/ModifyFile",
                                       &google__protobuf__empty__descriptor,
                                       done);
    if (call == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    call->data = data;

    body = ngx_http_pfs_s3_set_commit(r->pool, commit, ops);

    return ngx_http_pfs_s3_call_start(r, call, body);
}


/* "ops" behind the set_commit message that opens a ModifyFile stream. */

ngx_chain_t *
ngx_http_pfs_s3_set_commit(ngx_pool_t *pool, PfsV2__Commit *commit,
    ngx_chain_t *ops)
{
    ngx_chain_t               *cl;
    PfsV2__ModifyFileRequest   req = PFS_V2__MODIFY_FILE_REQUEST__INIT;

    req.body_case = PFS_V2__MODIFY_FILE_REQUEST__BODY_SET_COMMIT;
    req.set_commit = commit;

    cl = ngx_http_pfs_s3_frame(pool, &req.base);
    if (cl == NULL) {
        return NULL;
    }

    cl->next = ops;

    return cl;
}


/* Frames one ModifyFileRequest at *ll and moves *ll past it. */

ngx_int_t
ngx_http_pfs_s3_frame_op(ngx_pool_t *pool, PfsV2__ModifyFileRequest *req,
    ngx_chain_t ***ll)
{
    ngx_chain_t  *cl;

    cl = ngx_http_pfs_s3_frame(pool, &req->base);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    **ll = cl;
    *ll = &cl->next;

    return NGX_OK;
}


/*
 * delete_file of "path", framed at *ll: what every write of a key sends
 * first, as Pachyderm's clients do.  add_file and copy_file append, so a
 * file created since the key was inspected (a concurrent PUT of a new key)
 * would otherwise get the new bytes appended.  delete_file of a missing
 * path does nothing.
 */

ngx_int_t
ngx_http_pfs_s3_delete_op(ngx_pool_t *pool, char *path, ngx_chain_t ***ll)
{
    PfsV2__DeleteFile          del = PFS_V2__DELETE_FILE__INIT;
    PfsV2__ModifyFileRequest   req = PFS_V2__MODIFY_FILE_REQUEST__INIT;

    del.path = path;

    req.body_case = PFS_V2__MODIFY_FILE_REQUEST__BODY_DELETE_FILE;
    req.delete_file = &del;

    return ngx_http_pfs_s3_frame_op(pool, &req, ll);
}


/* One gRPC message frame: flag 0, big-endian length, the protobuf bytes. */

ngx_chain_t *
ngx_http_pfs_s3_frame(ngx_pool_t *pool, const ProtobufCMessage *msg)
{
    size_t        size;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    size = protobuf_c_message_get_packed_size(msg);

    b = ngx_create_temp_buf(pool, 5 + size);
    if (b == NULL) {
        return NULL;
    }

    b->last[0] = 0;
    b->last[1] = (u_char) (size >> 24);
    b->last[2] = (u_char) (size >> 16);
    b->last[3] = (u_char) (size >> 8);
    b->last[4] = (u_char) size;
    b->last += 5;

    b->last += protobuf_c_message_pack(msg, b->last);

    cl = ngx_alloc_chain_link(pool);
    if (cl == NULL) {
        return NULL;
    }

    cl->buf = b;
    cl->next = NULL;

    return cl;
}


/* Starts the call ("body" is its request messages). */

ngx_int_t
ngx_http_pfs_s3_call_start(ngx_http_request_t *r, ngx_http_pfs_s3_call_t *call,
    ngx_chain_t *body)
{
    u_char                      *p;
    ngx_str_t                    uri;
    ngx_http_request_t          *sr;
    ngx_http_request_body_t     *rb;
    ngx_http_pfs_s3_ctx_t       *ctx;
    ngx_http_core_main_conf_t   *cmcf;
    ngx_http_post_subrequest_t  *ps;

    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = ngx_http_pfs_s3_get_ctx(r);

    uri.len = ngx_strlen(call->method);
    uri.data = (u_char *) call->method;

    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ps->handler = ngx_http_pfs_s3_call_finished;
    ps->data = call;

    if (ngx_http_subrequest(r, &uri, NULL, &sr, ps, 0) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    call->sr = sr;
    ngx_http_set_ctx(sr, call, ngx_http_pfs_s3_module);

    /* the method name alone, for logs */

    p = (u_char *) ngx_strchr(call->method + 1, '/');
    call->method = p ? (const char *) p + 1 : call->method;

    sr->method = NGX_HTTP_POST;
    ngx_str_set(&sr->method_name, "POST");
    sr->header_only = 0;

    /*
     * nginx copies the client request's discard_body into the subrequest.
     * When grpc_pass returns NGX_DONE, nginx then makes the subrequest the
     * reader of the client's discarded body, with our headers_in (no
     * Content-Length) and no header_in buffer: client bytes arriving while
     * the call runs crashed the worker.  The client body stays the main
     * request's to discard (ngx_http_pfs_s3_wake() resumes it).
     */

    sr->discard_body = 0;

    /*
     * Subrequests share the parent's variables; a value the parent cached
     * ($content_length) would otherwise become the call's Content-Length.
     */

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_core_module);

    sr->variables = ngx_pcalloc(r->pool, cmcf->variables.nelts
                                         * sizeof(ngx_http_variable_value_t));
    if (sr->variables == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_pfs_s3_call_headers(r, sr) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (call->stream) {
        ngx_http_pfs_s3_stream_body(r, sr, body);

    } else {
        rb = ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t));
        if (rb == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        rb->bufs = body;

        /*
         * When the body refers to the client's temporary file, nginx's
         * upstream reuses its file reading buffer if it has to send the
         * body again.
         */

        if (r->request_body) {
            rb->temp_file = r->request_body->temp_file;
        }

        sr->request_body = rb;
    }

    ctx->call = call;
    r->write_event_handler = ngx_http_pfs_s3_wake;

    return NGX_DONE;
}


/*
 * A streamed call sends the client's request body as it arrives: "body"
 * (its first messages), then what the client request has read so far (in
 * r->request_body->bufs, framed by our request body filter), then the rest,
 * read by the call itself.  The call shares the client request's body.
 */

static void
ngx_http_pfs_s3_stream_body(ngx_http_request_t *r, ngx_http_request_t *sr,
    ngx_chain_t *body)
{
    ngx_chain_t  *cl;

    for (cl = body; cl->next; cl = cl->next) { /* void */ }

    cl->next = r->request_body->bufs;
    r->request_body->bufs = body;

    sr->request_body = r->request_body;

    /* client reads reach the call even if nginx wakes the client request */
    r->read_event_handler = ngx_http_pfs_s3_stream_read;
}


static void
ngx_http_pfs_s3_stream_read(ngx_http_request_t *r)
{
    ngx_http_pfs_s3_ctx_t  *ctx;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    if (ctx && ctx->call && ctx->call->stream && !ctx->call->completed
        && ctx->call->sr != r)
    {
        ctx->call->sr->read_event_handler(ctx->call->sr);
    }
}


ngx_int_t
ngx_http_pfs_s3_stream_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_pfs_s3_stream_handler;

    return NGX_OK;
}


/*
 * The content phase of a streamed call, run one phase early.  nginx reads
 * a subrequest's body as whole, so grpc_pass in a subrequest always sends
 * a buffered body and ends the stream after it.  Here the location's
 * content handler (grpc_pass) runs with its upstream held back (r->aio, as
 * while nginx reads a cache entry); the upstream then starts as one with
 * an unbuffered body, still being read from the client (r->reading_body):
 * nginx's upstream reads the client's body and passes it on as it arrives,
 * as grpc_pass does for a client request with grpc_request_buffering off.
 */

static ngx_int_t
ngx_http_pfs_s3_stream_handler(ngx_http_request_t *r)
{
    ngx_int_t                rc;
    ngx_http_pfs_s3_call_t  *call;

    if (r == r->main || r->content_handler == NULL) {
        return NGX_DECLINED;
    }

    call = ngx_http_get_module_ctx(r, ngx_http_pfs_s3_module);

    if (call == NULL || call->type != NGX_HTTP_PFS_S3_CTX_CALL
        || !call->stream)
    {
        return NGX_DECLINED;
    }

    r->write_event_handler = ngx_http_request_empty_handler;

    r->aio = 1;
    rc = r->content_handler(r);
    r->aio = 0;

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }

    if (r->upstream == NULL || r->upstream->schema.len < 4
        || ngx_strncmp(r->upstream->schema.data, "grpc", 4) != 0)
    {
        /* anything else would get a body it cannot frame */

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      NGX_HTTP_PFS_S3_NOT_ROUTED, &r->uri);

        ngx_http_finalize_request(r, NGX_DONE);
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return NGX_DONE;
    }

    r->request_body_no_buffering = 1;
    r->reading_body = r->main->reading_body;

    ngx_http_upstream_init(r);

    ngx_http_finalize_request(r, NGX_DONE);

    /* the phases stop here: the content phase has been run */

    return NGX_DONE;
}


/*
 * nginx's grpc module writes every header it sends into the debug log,
 * authn-token included.  While a call that carries a token is set up, the
 * connection's http debug logging is paused: the subrequest runs (and
 * grpc_pass writes its headers) from ngx_http_run_posted_requests() at the
 * end of the current event handler, before the posted event that resumes
 * the logging.  No-op unless the error log is at debug level.
 */

struct ngx_http_pfs_s3_log_pause_s {
    ngx_event_t                  resume;
    ngx_log_t                   *log;
};


static void
ngx_http_pfs_s3_log_resume(ngx_event_t *ev)
{
    ngx_http_pfs_s3_log_pause_t  *lp = ev->data;

    lp->log->log_level |= NGX_LOG_DEBUG_HTTP;
}


static void
ngx_http_pfs_s3_log_resume_cleanup(void *data)
{
    ngx_http_pfs_s3_log_pause_t  *lp = data;

    if (lp->resume.posted) {
        ngx_delete_posted_event(&lp->resume);
        ngx_http_pfs_s3_log_resume(&lp->resume);
    }
}


static ngx_int_t
ngx_http_pfs_s3_log_pause(ngx_http_request_t *r, ngx_http_pfs_s3_ctx_t *ctx)
{
    ngx_log_t                    *log;
    ngx_pool_cleanup_t           *cln;
    ngx_http_pfs_s3_log_pause_t  *lp;

    log = r->connection->log;

    if (!(log->log_level & NGX_LOG_DEBUG_HTTP)) {
        return NGX_OK;
    }

    lp = ctx->log_pause;

    if (lp == NULL) {
        lp = ngx_pcalloc(r->pool, sizeof(ngx_http_pfs_s3_log_pause_t));
        if (lp == NULL) {
            return NGX_ERROR;
        }

        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return NGX_ERROR;
        }

        cln->handler = ngx_http_pfs_s3_log_resume_cleanup;
        cln->data = lp;

        lp->resume.handler = ngx_http_pfs_s3_log_resume;
        lp->resume.data = lp;
        lp->resume.log = log;

        ctx->log_pause = lp;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, log, 0,
                   "pfs_s3: http debug log paused while a PFS call with "
                   "a token is set up");

    lp->log = log;
    log->log_level &= ~NGX_LOG_DEBUG_HTTP;

    ngx_post_event(&lp->resume, &ngx_posted_events);

    return NGX_OK;
}


static ngx_int_t
ngx_http_pfs_s3_call_headers(ngx_http_request_t *r, ngx_http_request_t *sr)
{
    ngx_str_t                    token;
    ngx_http_pfs_s3_ctx_t       *ctx;
    ngx_http_pfs_s3_loc_conf_t  *plcf;

    ngx_memzero(&sr->headers_in, sizeof(ngx_http_headers_in_t));

    if (ngx_list_init(&sr->headers_in.headers, r->pool, 4,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    sr->headers_in.content_length_n = -1;
    sr->headers_in.keep_alive_n = -1;

    if (ngx_http_pfs_s3_push_header(sr, "content-type",
                                    (u_char *) "application/grpc",
                                    sizeof("application/grpc") - 1,
                                    &sr->headers_in.content_type)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* grpc_pass sends TE from $grpc_internal_trailers, which reads this */

    if (ngx_http_pfs_s3_push_header(sr, "te", (u_char *) "trailers",
                                    sizeof("trailers") - 1,
                                    &sr->headers_in.te)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_pfs_s3_module);
    ctx = ngx_http_pfs_s3_get_ctx(r);

    /* the token authentication chose (ngx_http_pfs_s3_auth.c) */

    if (ctx && ctx->pfs_token_set) {
        if (ctx->pfs_token.len == 0) {
            return NGX_OK;
        }

        if (ngx_http_pfs_s3_log_pause(r, ctx) != NGX_OK) {
            return NGX_ERROR;
        }

        return ngx_http_pfs_s3_push_header(sr, "authn-token",
                                           ctx->pfs_token.data,
                                           ctx->pfs_token.len, NULL);
    }

    if (plcf->pfs_token == NULL) {
        return NGX_OK;
    }

    if (ngx_http_complex_value(r, plcf->pfs_token, &token) != NGX_OK) {
        return NGX_ERROR;
    }

    if (token.len == 0) {
        return NGX_OK;
    }

    if (ctx && ngx_http_pfs_s3_log_pause(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_pfs_s3_push_header(sr, "authn-token", token.data,
                                       token.len, NULL);
}


static ngx_int_t
ngx_http_pfs_s3_push_header(ngx_http_request_t *sr, const char *key,
    u_char *value, size_t len, ngx_table_elt_t **ph)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&sr->headers_in.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    /* keys are lowercase already; grpc_pass looks them up by hash */

    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->lowcase_key = h->key.data;
    h->hash = ngx_hash_key(h->key.data, h->key.len);
    h->value.data = value;
    h->value.len = len;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    if (ph) {
        *ph = h;
    }

    return NGX_OK;
}


/*
 * The post_subrequest handler: runs each time nginx finalizes the
 * subrequest.  It records the outcome and decides what nginx does next:
 * NGX_OK lets the subrequest end quietly and wakes the main request (also
 * for upstream failures, which would otherwise make nginx send its own error
 * page as part of the client's response), an error code ends the whole
 * client request.
 */

static ngx_int_t
ngx_http_pfs_s3_call_finished(ngx_http_request_t *sr, void *data, ngx_int_t rc)
{
    ngx_http_pfs_s3_call_t *call = data;

    if (!call->completed) {
        call->completed = 1;
        call->rc = rc;

        ngx_http_pfs_s3_call_status(sr, call);
        ngx_http_pfs_s3_log_status(sr->main, call);

        ngx_log_debug5(NGX_LOG_DEBUG_HTTP, sr->connection->log, 0,
                       "pfs_s3 call %s done: rc:%i status:%i cut:%d \"%V\"",
                       call->method, rc, call->grpc_status, call->cut,
                       &call->grpc_message);
    }

    if (sr->connection->error
        || rc == NGX_HTTP_CLIENT_CLOSED_REQUEST
        || rc == NGX_HTTP_REQUEST_TIME_OUT)
    {
        /* the client is gone */
        return rc == NGX_OK ? NGX_ERROR : rc;
    }

    if (call->raw && call->raw_sent && !call->cut && call->sink == NULL
        && (call->grpc_status != NGX_HTTP_PFS_S3_GRPC_OK
            || (call->raw_limit >= 0 && call->raw_sent < call->raw_limit)))
    {
        /*
         * Object bytes were sent and the object is incomplete (or PFS
         * never said it was whole): the client connection must break,
         * never end like a complete response.
         */

        if (call->grpc_status < 0) {
            ngx_log_error(NGX_LOG_ERR, sr->connection->log, 0,
                          "pfs_s3: %s ended after %O of %O bytes without "
                          "a gRPC status, aborting the response",
                          call->method, call->raw_sent, call->raw_limit);
            return NGX_ERROR;
        }

        ngx_log_error(NGX_LOG_ERR, sr->connection->log, 0,
                      "pfs_s3: %s ended after %O of %O bytes (%s \"%V\"), "
                      "aborting the response", call->method, call->raw_sent,
                      call->raw_limit,
                      ngx_http_pfs_s3_grpc_code_name(call->grpc_status),
                      &call->grpc_message);

        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_pfs_s3_call_status(ngx_http_request_t *sr,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_int_t             n;
    ngx_str_t             msg;
    ngx_table_elt_t      *status, *message;
    ngx_http_upstream_t  *u;

    if (call->cut) {
        /* we cancelled the call ourselves after what we wanted */
        call->grpc_status = NGX_HTTP_PFS_S3_GRPC_OK;
        return;
    }

    u = sr->upstream;

    if (u == NULL) {
        ngx_log_error(NGX_LOG_ERR, sr->connection->log, 0,
                      NGX_HTTP_PFS_S3_NOT_ROUTED, &sr->uri);
        return;
    }

    if (u->headers_in.status_n != NGX_HTTP_OK) {
        return;
    }

    status = ngx_http_pfs_s3_find(&u->headers_in.trailers, "grpc-status");
    message = ngx_http_pfs_s3_find(&u->headers_in.trailers, "grpc-message");

    if (status == NULL) {
        /* a trailers-only answer carries them in the headers */
        status = ngx_http_pfs_s3_find(&u->headers_in.headers, "grpc-status");
        message = ngx_http_pfs_s3_find(&u->headers_in.headers,
                                       "grpc-message");
    }

    if (status == NULL) {
        return;
    }

    n = ngx_atoi(status->value.data, status->value.len);
    if (n == NGX_ERROR) {
        return;
    }

    call->grpc_status = n;

    if (message == NULL) {
        return;
    }

    if (ngx_http_pfs_s3_unescape(sr->pool, &message->value, &msg, 0)
        == NGX_OK)
    {
        call->grpc_message = msg;

    } else {
        call->grpc_message = message->value;
    }
}


static ngx_table_elt_t *
ngx_http_pfs_s3_find(ngx_list_t *list, const char *name)
{
    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    if (list->part.elts == NULL) {
        return NULL;
    }

    len = ngx_strlen(name);

    part = &list->part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i];
        }
    }
}


/* "$pfs_s3_pfs_status": "InspectFile:OK,GetFile:OK"; 502 etc. when PFS
 * could not be reached */

static void
ngx_http_pfs_s3_log_status(ngx_http_request_t *r, ngx_http_pfs_s3_call_t *call)
{
    u_char                 *p;
    size_t                  len;
    ngx_http_pfs_s3_ctx_t  *ctx;

    ctx = ngx_http_pfs_s3_get_ctx(r);
    if (ctx == NULL) {
        return;
    }

    len = ctx->pfs_status.len + 1 + ngx_strlen(call->method)
          + sizeof("FAILED_PRECONDITION") + NGX_INT_T_LEN;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return;
    }

    ctx->pfs_status.data = ngx_cpymem(p, ctx->pfs_status.data,
                                      ctx->pfs_status.len);

    if (ctx->pfs_status.len) {
        *ctx->pfs_status.data++ = ',';
    }

    if (call->cut) {
        ctx->pfs_status.data = ngx_sprintf(ctx->pfs_status.data, "%s:CANCELLED",
                                           call->method);

    } else if (call->grpc_status >= 0) {
        ctx->pfs_status.data = ngx_sprintf(ctx->pfs_status.data, "%s:%s",
                               call->method,
                               ngx_http_pfs_s3_grpc_code_name(
                                                         call->grpc_status));

    } else {
        ctx->pfs_status.data = ngx_sprintf(ctx->pfs_status.data, "%s:%i",
                                           call->method,
                                           call->rc > 0 ? call->rc
                                                        : NGX_HTTP_BAD_GATEWAY);
    }

    ctx->pfs_status.len = ctx->pfs_status.data - p;
    ctx->pfs_status.data = p;
}


/*
 * The main request's write event handler while calls run: nginx posts the
 * main request when a subrequest ends.  Other wake-ups (write events while
 * a call is pending) are ignored.
 */

void
ngx_http_pfs_s3_wake(ngx_http_request_t *r)
{
    ngx_int_t                rc;
    ngx_http_pfs_s3_ctx_t   *ctx;
    ngx_http_pfs_s3_call_t  *call;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    if (ctx == NULL || ctx->call == NULL || !ctx->call->completed) {
        return;
    }

    call = ctx->call;
    ctx->call = NULL;

    /*
     * Client bytes that arrived while the call ran woke the call, not the
     * client request: a body being discarded would otherwise wait for the
     * lingering timeout before the request ends and is logged.
     */

    if (r->discard_body && r->connection->read->ready) {
        ngx_post_event(r->connection->read, &ngx_posted_events);
    }

    rc = call->done(r, call);

    if (rc == NGX_DONE) {
        return;
    }

    ngx_http_finalize_request(r, ngx_http_pfs_s3_final(r, rc));
}


/*
 * An internal error before anything was sent is still answered in S3 form
 * (nginx's own error page is HTML).
 */

ngx_int_t
ngx_http_pfs_s3_final(ngx_http_request_t *r, ngx_int_t rc)
{
    if (rc == NGX_HTTP_INTERNAL_SERVER_ERROR && !r->header_sent) {
        return ngx_http_pfs_s3_send_error(r, NGX_HTTP_PFS_S3_ERR_INTERNAL,
                                          NULL);
    }

    return rc;
}


/* 1 if the call succeeded and was well formed */

ngx_int_t
ngx_http_pfs_s3_call_ok(ngx_http_pfs_s3_call_t *call)
{
    return call->grpc_status == NGX_HTTP_PFS_S3_GRPC_OK && !call->bad;
}


/*
 * The message of a unary call, unpacked by the decoder; freed with the
 * request pool.  NULL when the call sent none.
 */

void *
ngx_http_pfs_s3_call_message(ngx_http_pfs_s3_call_t *call)
{
    return call->message;
}


ngx_int_t
ngx_http_pfs_s3_keep_message(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call, ProtobufCMessage *msg)
{
    ngx_pool_cleanup_t  *cln;

    if (call->message) {
        /* a unary call answered twice */
        protobuf_c_message_free_unpacked(msg, NULL);
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        protobuf_c_message_free_unpacked(msg, NULL);
        return NGX_ERROR;
    }

    cln->handler = ngx_http_pfs_s3_free_message;
    cln->data = msg;

    call->message = msg;

    return NGX_OK;
}


static void
ngx_http_pfs_s3_free_message(void *data)
{
    protobuf_c_message_free_unpacked(data, NULL);
}
