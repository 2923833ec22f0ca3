/*
 * Request bodies.
 *
 * They are read by nginx's own machinery (into client_body_buffer_size, then
 * client_body_temp_path).  A request body filter of ours, at the top of the
 * chain, computes the digests the request asks to verify (Content-MD5,
 * x-amz-content-sha256) as the bytes arrive, so nothing is read twice.
 *
 * A PutObject body then becomes the ModifyFile request as slices: gRPC frame
 * headers we write, each followed by a buffer that points at a piece of the
 * body where nginx keeps it (memory or the temporary file).  Nothing of the
 * body is copied in nginx's memory.
 *
 * A body larger than client_body_buffer_size is not kept at all: it is
 * streamed (ngx_http_pfs_s3_write_object()).
 */

#include <ngx_http_pfs_s3.h>


static ngx_int_t ngx_http_pfs_s3_request_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static void ngx_http_pfs_s3_body_ready(ngx_http_request_t *r);
static ngx_chain_t *ngx_http_pfs_s3_unchunk(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx, ngx_chain_t *in);
static ngx_int_t ngx_http_pfs_s3_unchunk_char(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx, u_char c);
static void ngx_http_pfs_s3_trailer_char(ngx_http_pfs_s3_ctx_t *ctx,
    u_char c);
static void ngx_http_pfs_s3_digest_cleanup(void *data);
static ngx_http_pfs_s3_ctx_t *ngx_http_pfs_s3_body_ctx(ngx_http_request_t *r);
static ngx_uint_t ngx_http_pfs_s3_can_stream(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx);
static ngx_int_t ngx_http_pfs_s3_write_ready(ngx_http_request_t *r);
static ngx_int_t ngx_http_pfs_s3_write_stream(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx, ngx_chain_t *ops);
static ngx_int_t ngx_http_pfs_s3_write_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_frame_body(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx, ngx_chain_t **in);
static ngx_int_t ngx_http_pfs_s3_frame_piece(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx, ngx_buf_t *b, ngx_chain_t ***ll,
    ngx_chain_t ***hl);
static ngx_int_t ngx_http_pfs_s3_frame_link(ngx_http_request_t *r,
    ngx_buf_t *b, ngx_chain_t ***ll);
static ngx_chain_t *ngx_http_pfs_s3_piece_header(ngx_pool_t *pool,
    ngx_str_t *path, size_t n);
static u_char *ngx_http_pfs_s3_piece_write(u_char *p, ngx_str_t *path,
    size_t n);
static u_char *ngx_http_pfs_s3_varint(u_char *p, uint64_t v);
static ngx_int_t ngx_http_pfs_s3_hex_decode(u_char *dst, u_char *src,
    size_t len);
static size_t ngx_http_pfs_s3_varint_len(uint64_t v);


static ngx_http_request_body_filter_pt   ngx_http_next_request_body_filter;


ngx_int_t
ngx_http_pfs_s3_body_init(ngx_conf_t *cf)
{
    ngx_http_next_request_body_filter = ngx_http_top_request_body_filter;
    ngx_http_top_request_body_filter = ngx_http_pfs_s3_request_body_filter;

    return NGX_OK;
}


/*
 * Reads the request body and goes on with "next" when it is complete.
 * Returns NGX_DONE, or the code to finalize the request with when the body
 * cannot be read (answered here in S3 form).
 */

ngx_int_t
ngx_http_pfs_s3_read_body(ngx_http_request_t *r, ngx_http_pfs_s3_body_pt next)
{
    ngx_int_t               rc;
    ngx_http_pfs_s3_ctx_t  *ctx;

    ctx = ngx_http_pfs_s3_get_ctx(r);
    ctx->body_next = next;

    rc = ngx_http_read_client_request_body(r, ngx_http_pfs_s3_body_ready);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {

        switch (rc) {

        case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE:
            r->keepalive = 0;
            return ngx_http_pfs_s3_send_error(r,
                                           NGX_HTTP_PFS_S3_ERR_ENTITY_TOO_LARGE,
                                           NULL);

        case NGX_HTTP_BAD_REQUEST:
            r->keepalive = 0;
            return ngx_http_pfs_s3_send_error(r,
                                           NGX_HTTP_PFS_S3_ERR_INCOMPLETE_BODY,
                                           NULL);

        default:
            return rc;
        }
    }

    /*
     * The body reader holds its own reference on the request from now on;
     * the operation's reference is dropped (and if the whole operation has
     * already ended inside the reader, this completes the request).
     */

    ngx_http_finalize_request(r, NGX_DONE);

    return NGX_DONE;
}


static void
ngx_http_pfs_s3_body_ready(ngx_http_request_t *r)
{
    ngx_int_t               rc;
    ngx_http_pfs_s3_ctx_t  *ctx;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    rc = ctx->body_next(r);

    if (rc == NGX_DONE) {
        return;
    }

    ngx_http_finalize_request(r, ngx_http_pfs_s3_final(r, rc));
}


/*
 * Digests to verify, and the body's framing, from the request headers.  An
 * x-amz-content-sha256 of UNSIGNED-PAYLOAD asks for no check; the
 * STREAMING-* forms announce an aws-chunked body.
 */

ngx_int_t
ngx_http_pfs_s3_digests_init(ngx_http_request_t *r, ngx_http_pfs_s3_ctx_t *ctx,
    ngx_http_pfs_s3_err_e *err, const char **why)
{
    u_char            buf[64];
    ngx_str_t         src, dst;
    ngx_table_elt_t  *h;

    /*
     * The MD5 is computed for every PutObject: besides Content-MD5, it tells
     * the object this request wrote from one written since by another
     * (ngx_http_pfs_s3_object.c).
     */

    ctx->md5 = ngx_http_pfs_s3_digest(r, EVP_md5());
    if (ctx->md5 == NULL) {
        *err = NGX_HTTP_PFS_S3_ERR_INTERNAL;
        return NGX_ERROR;
    }

    h = ngx_http_pfs_s3_header(r, "content-md5");

    if (h) {
        src = h->value;
        dst.data = buf;

        if (src.len != 24 || ngx_decode_base64(&dst, &src) != NGX_OK
            || dst.len != 16)
        {
            *err = NGX_HTTP_PFS_S3_ERR_INVALID_DIGEST;
            return NGX_ERROR;
        }

        ngx_memcpy(ctx->want_md5, buf, 16);
        ctx->check_md5 = 1;
    }

    h = ngx_http_pfs_s3_header(r, "x-amz-content-sha256");

    if (h && h->value.len == 64
        && ngx_http_pfs_s3_hex_decode(ctx->want_sha256, h->value.data, 64)
           == NGX_OK)
    {
        ctx->sha256 = ngx_http_pfs_s3_digest(r, EVP_sha256());
        if (ctx->sha256 == NULL) {
            *err = NGX_HTTP_PFS_S3_ERR_INTERNAL;
            return NGX_ERROR;
        }

    } else if (h && h->value.len >= sizeof("STREAMING-") - 1
               && ngx_strncasecmp(h->value.data, (u_char *) "STREAMING-",
                                  sizeof("STREAMING-") - 1) == 0)
    {
        ctx->aws_chunked = 1;

    } else if (h && !(h->value.len == sizeof("UNSIGNED-PAYLOAD") - 1
                      && ngx_strncmp(h->value.data, "UNSIGNED-PAYLOAD",
                                     h->value.len) == 0))
    {
        *err = NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT;
        *why = "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-* or "
               "the hexadecimal SHA-256 of the body";
        return NGX_ERROR;
    }

    h = ngx_http_pfs_s3_header(r, "content-encoding");

    if (h && ngx_strlcasestrn(h->value.data, h->value.data + h->value.len,
                              (u_char *) "aws-chunked", 11 - 1))
    {
        ctx->aws_chunked = 1;
    }

    /* x-amz-checksum-*, as a header or announced as a trailer */

    if (ngx_http_pfs_s3_checksum_init(r, ctx, err, why) != NGX_OK) {
        return NGX_ERROR;
    }

    if (!ctx->aws_chunked) {
        return NGX_OK;
    }

    /*
     * aws-chunked: the body is framed in signed chunks, possibly followed by
     * trailers; the object is what x-amz-decoded-content-length says.
     * The framing is removed as the body arrives; chunk signatures are
     * checked on the way when authentication asks for them
     * (ngx_http_pfs_s3_auth.c).
     */

    h = ngx_http_pfs_s3_header(r, "x-amz-decoded-content-length");

    if (h == NULL) {
        *err = NGX_HTTP_PFS_S3_ERR_MISSING_CONTENT_LENGTH;
        *why = "aws-chunked uploads need x-amz-decoded-content-length";
        return NGX_ERROR;
    }

    ctx->decoded_length = ngx_atoof(h->value.data, h->value.len);

    ctx->trailer = ngx_pnalloc(r->pool, NGX_HTTP_PFS_S3_MAX_TRAILER);
    if (ctx->trailer == NULL) {
        *err = NGX_HTTP_PFS_S3_ERR_INTERNAL;
        return NGX_ERROR;
    }

    if (ctx->decoded_length == NGX_ERROR) {
        *err = NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT;
        *why = "x-amz-decoded-content-length is not a number";
        return NGX_ERROR;
    }

    return NGX_OK;
}


EVP_MD_CTX *
ngx_http_pfs_s3_digest(ngx_http_request_t *r, const EVP_MD *md)
{
    EVP_MD_CTX          *mdctx;
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    mdctx = EVP_MD_CTX_new();
    if (mdctx == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_pfs_s3_digest_cleanup;
    cln->data = mdctx;

    if (EVP_DigestInit_ex(mdctx, md, NULL) != 1) {
        return NULL;
    }

    return mdctx;
}


static void
ngx_http_pfs_s3_digest_cleanup(void *data)
{
    EVP_MD_CTX_free(data);
}


static ngx_int_t
ngx_http_pfs_s3_request_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    size_t                  size;
    ngx_int_t               rc;
    ngx_buf_t              *b;
    ngx_chain_t            *cl;
    ngx_http_pfs_s3_ctx_t  *ctx;

    ctx = ngx_http_pfs_s3_body_ctx(r);

    if (ctx == NULL
        || (ctx->md5 == NULL && ctx->sha256 == NULL && !ctx->aws_chunked
            && ctx->checksum == NULL && !ctx->streaming))
    {
        return ngx_http_next_request_body_filter(r, in);
    }

    if (ctx->aws_chunked) {
        in = ngx_http_pfs_s3_unchunk(r, ctx, in);
        if (in == NGX_CHAIN_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b) && b->last > b->pos) {
            size = b->last - b->pos;
            ctx->body_received += size;

            if ((ctx->md5 && EVP_DigestUpdate(ctx->md5, b->pos, size) != 1)
                || (ctx->sha256
                    && EVP_DigestUpdate(ctx->sha256, b->pos, size) != 1)
                || (ctx->checksum
                    && ngx_http_pfs_s3_checksum_update(ctx->checksum, b->pos,
                                                       size)
                       != NGX_OK))
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }

        if (!b->last_buf) {
            continue;
        }

        /* the whole body has arrived: the verdict waits in the context */

        if (ctx->aws_chunked && ctx->digest_failed == NGX_HTTP_PFS_S3_ERR_NONE
            && (ctx->chunk_state != ngx_http_pfs_s3_chunk_done
                || ctx->body_received != ctx->decoded_length))
        {
            ctx->digest_failed = NGX_HTTP_PFS_S3_ERR_INCOMPLETE_BODY;
        }

        if (ngx_http_pfs_s3_digests_finish(r, ctx) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (!ctx->streaming) {
        return ngx_http_next_request_body_filter(r, in);
    }

    if (ngx_http_pfs_s3_frame_body(r, ctx, &in) != NGX_OK) {
        return NGX_HTTP_BAD_REQUEST;
    }

    rc = ngx_http_next_request_body_filter(r, in);

    /* the links are ours (the next filters keep the buffers in their own) */

    while (in) {
        cl = in;
        in = in->next;
        ngx_free_chain(r->pool, cl);
    }

    return rc;
}


/*
 * The request whose body the filter sees: the client's, or a streamed
 * ModifyFile call reading the client's body on its behalf.
 */

static ngx_http_pfs_s3_ctx_t *
ngx_http_pfs_s3_body_ctx(ngx_http_request_t *r)
{
    ngx_http_pfs_s3_ctx_t   *ctx;
    ngx_http_pfs_s3_call_t  *call;

    if (r != r->main) {
        call = ngx_http_get_module_ctx(r, ngx_http_pfs_s3_module);

        if (call == NULL || call->type != NGX_HTTP_PFS_S3_CTX_CALL
            || !call->stream)
        {
            return NULL;
        }
    }

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_pfs_s3_module);

    if (ctx == NULL || ctx->type != NGX_HTTP_PFS_S3_CTX_REQUEST) {
        return NULL;
    }

    return ctx;
}


/*
 * Removes the aws-chunked framing:
 *
 *   <hex size>[;chunk-signature=...]\r\n<size bytes>\r\n ... 0[;...]\r\n
 *   [<trailer>:<value>\r\n ...]\r\n
 *
 * The data comes out as buffers pointing into the ones nginx read the body
 * into (their memory stays until the save filter has stored it, as for
 * nginx's own length filter); the input buffers are consumed.  A malformed
 * body is remembered and the rest swallowed, so that the request can be
 * answered with an S3 error once the body has been read.
 */

static ngx_chain_t *
ngx_http_pfs_s3_unchunk(ngx_http_request_t *r, ngx_http_pfs_s3_ctx_t *ctx,
    ngx_chain_t *in)
{
    u_char       *p, *last, c;
    size_t        n;
    ngx_buf_t    *b, *ob;
    ngx_uint_t    last_buf;
    ngx_chain_t  *cl, *out, **ll, *tl;

    /*
     * Our buffers the save filter has stored (or, for a streamed body,
     * grpc_pass has sent) can be used again; a streamed body's input buffer
     * is consumed only with the last of them that points into it, so that
     * nginx reuses its read buffer only then.
     */

    while (ctx->chunk_busy && ngx_buf_size(ctx->chunk_busy->buf) == 0
           && !ctx->chunk_busy->buf->last_buf)
    {
        cl = ctx->chunk_busy;
        ctx->chunk_busy = cl->next;
        cl->next = ctx->chunk_free;
        ctx->chunk_free = cl;

        if (cl->buf->last_shadow) {
            cl->buf->shadow->pos = cl->buf->shadow->last;
        }
    }

    out = NULL;
    ll = &out;
    last_buf = 0;

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (b->last_buf) {
            last_buf = 1;
        }

        if (!ngx_buf_in_memory(b)) {
            continue;
        }

        p = b->pos;
        last = b->last;
        ob = NULL;

        while (p < last) {

            if (ctx->chunk_state == ngx_http_pfs_s3_chunk_data) {
                n = ngx_min((off_t) (last - p), ctx->chunk_rest);

                ngx_http_pfs_s3_auth_chunk_data(ctx, p, n);

                if (ctx->digest_failed == NGX_HTTP_PFS_S3_ERR_NONE) {
                    tl = ngx_chain_get_free_buf(r->pool, &ctx->chunk_free);
                    if (tl == NULL) {
                        return NGX_CHAIN_ERROR;
                    }

                    ob = tl->buf;
                    ngx_memzero(ob, sizeof(ngx_buf_t));

                    ob->temporary = 1;
                    ob->start = p;
                    ob->pos = p;
                    ob->last = p + n;
                    ob->end = p + n;
                    ob->tag = (ngx_buf_tag_t) &ngx_http_pfs_s3_unchunk;

                    *ll = tl;
                    ll = &tl->next;
                }

                p += n;
                ctx->chunk_rest -= n;

                if (ctx->chunk_rest == 0) {
                    ctx->chunk_state = ngx_http_pfs_s3_chunk_data_cr;
                    ngx_http_pfs_s3_auth_chunk_end(r, ctx);
                }

                continue;
            }

            c = *p++;

            if (ngx_http_pfs_s3_unchunk_char(r, ctx, c) != NGX_OK
                && ctx->digest_failed == NGX_HTTP_PFS_S3_ERR_NONE)
            {
                ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                              "pfs_s3: malformed aws-chunked body");
                ctx->digest_failed = NGX_HTTP_PFS_S3_ERR_INCOMPLETE_BODY;
            }
        }

        if (ctx->streaming && ob) {
            ob->shadow = b;
            ob->last_shadow = 1;

        } else {
            b->pos = b->last;
        }
    }

    if (last_buf) {
        tl = ngx_chain_get_free_buf(r->pool, &ctx->chunk_free);
        if (tl == NULL) {
            return NGX_CHAIN_ERROR;
        }

        ngx_memzero(tl->buf, sizeof(ngx_buf_t));
        tl->buf->last_buf = 1;
        tl->buf->tag = (ngx_buf_tag_t) &ngx_http_pfs_s3_unchunk;

        *ll = tl;
        ll = &tl->next;
    }

    *ll = NULL;

    /*
     * The save filter links the buffers with chain links of its own, so
     * these links stay ours: they wait in chunk_busy until the buffer has
     * been stored, then are used again.
     */

    for (ll = &ctx->chunk_busy; *ll; ll = &(*ll)->next) { /* void */ }

    *ll = out;

    return out;
}


/* One framing byte of an aws-chunked body. */

static ngx_int_t
ngx_http_pfs_s3_unchunk_char(ngx_http_request_t *r, ngx_http_pfs_s3_ctx_t *ctx,
    u_char c)
{
    u_char  h;

    switch (ctx->chunk_state) {

    case ngx_http_pfs_s3_chunk_size:
        if (c == ';') {
            ctx->chunk_state = ngx_http_pfs_s3_chunk_ext;
            return ctx->chunk_digits ? NGX_OK : NGX_ERROR;
        }

        if (c == '\r') {
            ctx->chunk_state = ngx_http_pfs_s3_chunk_size_lf;
            return ctx->chunk_digits ? NGX_OK : NGX_ERROR;
        }

        h = (u_char) (c | 0x20);

        if (c >= '0' && c <= '9') {
            h = c - '0';

        } else if (h >= 'a' && h <= 'f') {
            h = h - 'a' + 10;

        } else {
            return NGX_ERROR;
        }

        if (ctx->chunk_rest > (NGX_MAX_OFF_T_VALUE >> 4)) {
            return NGX_ERROR;
        }

        ctx->chunk_rest = (ctx->chunk_rest << 4) | h;
        ctx->chunk_digits++;
        return NGX_OK;

    case ngx_http_pfs_s3_chunk_ext:
        if (c == '\r') {
            ctx->chunk_state = ngx_http_pfs_s3_chunk_size_lf;

        } else {
            ngx_http_pfs_s3_auth_chunk_ext(ctx, c);
        }

        return NGX_OK;

    case ngx_http_pfs_s3_chunk_size_lf:
        if (c != '\n') {
            return NGX_ERROR;
        }

        ctx->chunk_digits = 0;
        ctx->chunk_state = ctx->chunk_rest ? ngx_http_pfs_s3_chunk_data
                                           : ngx_http_pfs_s3_chunk_trailer;

        /* a signed chunk is checked once its data is read */

        ngx_http_pfs_s3_auth_chunk_start(r, ctx);

        if (ctx->chunk_rest == 0) {
            ngx_http_pfs_s3_auth_chunk_end(r, ctx);
        }

        return NGX_OK;

    case ngx_http_pfs_s3_chunk_data_cr:
        ctx->chunk_state = ngx_http_pfs_s3_chunk_data_lf;
        return c == '\r' ? NGX_OK : NGX_ERROR;

    case ngx_http_pfs_s3_chunk_data_lf:
        ctx->chunk_state = ngx_http_pfs_s3_chunk_size;
        return c == '\n' ? NGX_OK : NGX_ERROR;

    case ngx_http_pfs_s3_chunk_trailer:
        /* a trailer line, or the empty line that ends the body */
        ctx->chunk_state = (c == '\r') ? ngx_http_pfs_s3_chunk_end_lf
                                       : ngx_http_pfs_s3_chunk_trailer_line;

        if (c != '\r') {
            ngx_http_pfs_s3_trailer_char(ctx, c);
        }

        return NGX_OK;

    case ngx_http_pfs_s3_chunk_trailer_line:
        if (c == '\r') {
            ctx->chunk_state = ngx_http_pfs_s3_chunk_trailer_lf;
        }

        ngx_http_pfs_s3_trailer_char(ctx, c);
        return NGX_OK;

    case ngx_http_pfs_s3_chunk_trailer_lf:
        ctx->chunk_state = ngx_http_pfs_s3_chunk_trailer;
        ngx_http_pfs_s3_trailer_char(ctx, c);
        return c == '\n' ? NGX_OK : NGX_ERROR;

    case ngx_http_pfs_s3_chunk_end_lf:
        ctx->chunk_state = ngx_http_pfs_s3_chunk_done;

        if (c != '\n') {
            return NGX_ERROR;
        }

        if (ctx->trailer_len > NGX_HTTP_PFS_S3_MAX_TRAILER) {
            return NGX_ERROR;
        }

        ngx_http_pfs_s3_auth_trailer_end(r, ctx);
        return NGX_OK;

    default: /* ngx_http_pfs_s3_chunk_done: nothing may follow */
        return NGX_ERROR;
    }
}


/*
 * Trailer lines are kept (up to NGX_HTTP_PFS_S3_MAX_TRAILER bytes, more is
 * a malformed body) for the trailer signature and checksums.
 */

static void
ngx_http_pfs_s3_trailer_char(ngx_http_pfs_s3_ctx_t *ctx, u_char c)
{
    if (ctx->trailer && ctx->trailer_len < NGX_HTTP_PFS_S3_MAX_TRAILER) {
        ctx->trailer[ctx->trailer_len] = c;
    }

    ctx->trailer_len++;
}


ngx_int_t
ngx_http_pfs_s3_digests_finish(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx)
{
    u_char  md[EVP_MAX_MD_SIZE];

    if (ctx->md5) {
        if (EVP_DigestFinal_ex(ctx->md5, ctx->body_md5, NULL) != 1) {
            return NGX_ERROR;
        }

        ctx->have_md5 = 1;

        if (ctx->check_md5 && ngx_memcmp(ctx->body_md5, ctx->want_md5, 16) != 0)
        {
            ctx->digest_failed = NGX_HTTP_PFS_S3_ERR_BAD_DIGEST;
        }
    }

    if (ctx->sha256) {
        if (EVP_DigestFinal_ex(ctx->sha256, md, NULL) != 1) {
            return NGX_ERROR;
        }

        if (ngx_memcmp(md, ctx->want_sha256, 32) != 0
            && ctx->digest_failed == NGX_HTTP_PFS_S3_ERR_NONE)
        {
            ctx->digest_failed = NGX_HTTP_PFS_S3_ERR_SHA256_MISMATCH;
        }
    }

    if (ngx_http_pfs_s3_checksum_finish(ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    ctx->md5 = NULL;
    ctx->sha256 = NULL;
    ctx->body_complete = 1;

    return NGX_OK;
}


/*
 * Reads the body of a PutObject or UploadPart and writes it to "path" in
 * "commit" (a branch: a commit of its own) with one ModifyFile stream:
 * delete_file, then the body as add_file pieces.  "done" gets that call.
 *
 * A body larger than client_body_buffer_size is streamed instead of being
 * kept in a temporary file: the ModifyFile starts with the body's first
 * bytes, and nginx's own unbuffered body reading (that of grpc_pass with
 * grpc_request_buffering off) moves the rest from the client to PFS as it
 * arrives, through our request body filter, which frames it and computes
 * its digests.  The stream ends (and PFS commits) only once the digests
 * hold; otherwise it is broken off, and PFS drops a ModifyFile whose stream
 * never ended.
 */

ngx_int_t
ngx_http_pfs_s3_write_object(ngx_http_request_t *r, PfsV2__Commit *commit,
    char *path, ngx_http_pfs_s3_done_pt done, void *data)
{
    ngx_http_pfs_s3_ctx_t       *ctx;
    ngx_http_pfs_s3_loc_conf_t  *plcf;

    ctx = ngx_http_pfs_s3_get_ctx(r);
    plcf = ngx_http_get_module_loc_conf(r, ngx_http_pfs_s3_module);

    ctx->write_commit = commit;
    ctx->write_path.data = (u_char *) path;
    ctx->write_path.len = ngx_strlen(path);
    ctx->write_done = done;
    ctx->write_data = data;
    ctx->write_piece = plcf->piece_size;

    if (ngx_http_pfs_s3_can_stream(r, ctx)) {
        ctx->streaming = 1;
        r->request_body_no_buffering = 1;
    }

    return ngx_http_pfs_s3_read_body(r, ngx_http_pfs_s3_write_ready);
}


/*
 * Streamed: bodies that nginx would write to a temporary file, of a known
 * length, from HTTP/1 clients (HTTP/2 and 3 have body readers of their
 * own).  The bytes of each buffer nginx fills go out as add_file messages
 * no larger than the buffer (aws-chunked framing only takes bytes out), so
 * it must fit pfs_s3_piece_size.
 */

static ngx_uint_t
ngx_http_pfs_s3_can_stream(ngx_http_request_t *r, ngx_http_pfs_s3_ctx_t *ctx)
{
    ngx_http_core_loc_conf_t    *clcf;
    ngx_http_pfs_s3_loc_conf_t  *plcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    plcf = ngx_http_get_module_loc_conf(r, ngx_http_pfs_s3_module);

    return plcf->request_buffering == 0
           && r->http_version < NGX_HTTP_VERSION_20
           && !r->headers_in.chunked
           && !r->request_body_in_file_only
           && r->headers_in.content_length_n
              > (off_t) clcf->client_body_buffer_size
           && clcf->client_body_buffer_size <= ctx->write_piece;
}


static ngx_int_t
ngx_http_pfs_s3_write_ready(ngx_http_request_t *r)
{
    ngx_uint_t                 empty;
    ngx_chain_t               *ops, **ll;
    ngx_http_pfs_s3_ctx_t     *ctx;
    PfsV2__AddFile             add = PFS_V2__ADD_FILE__INIT;
    PfsV2__ModifyFileRequest   req = PFS_V2__MODIFY_FILE_REQUEST__INIT;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    /* a streamed body is finished by the filter, once it is whole */

    if (!ctx->streaming && ngx_http_pfs_s3_digests_finish(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->body_complete
        && ctx->digest_failed != NGX_HTTP_PFS_S3_ERR_NONE)
    {
        return ngx_http_pfs_s3_send_error(r, ctx->digest_failed,
                                          ctx->digest_why);
    }

    ops = NULL;
    ll = &ops;

    if (ngx_http_pfs_s3_delete_op(r->pool, (char *) ctx->write_path.data, &ll)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->streaming) {
        return ngx_http_pfs_s3_write_stream(r, ctx, ops);
    }

    *ll = ngx_http_pfs_s3_body_slices(r, &ctx->write_path, ctx->write_piece,
                                      &empty);

    if (empty) {
        /* an empty object is one add_file without a source */

        add.path = (char *) ctx->write_path.data;

        req.body_case = PFS_V2__MODIFY_FILE_REQUEST__BODY_ADD_FILE;
        req.add_file = &add;

        *ll = ngx_http_pfs_s3_frame(r->pool, &req.base);
    }

    if (*ll == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_pfs_s3_modify_file(r, ctx->write_commit, ops,
                                       ctx->write_done, ctx->write_data);
}


/*
 * The first bytes of a streamed body have arrived (already framed by the
 * filter, in r->request_body->bufs): the call starts with "ops", then them,
 * and goes on reading the client's body (ngx_http_pfs_s3_stream_handler()).
 */

static ngx_int_t
ngx_http_pfs_s3_write_stream(ngx_http_request_t *r, ngx_http_pfs_s3_ctx_t *ctx,
    ngx_chain_t *ops)
{
    ngx_http_pfs_s3_call_t  *call;

    call = ngx_http_pfs_s3_call_create(r, "/pfs_v2.API/ModifyFile",
                                       &google__protobuf__empty__descriptor,
                                       ngx_http_pfs_s3_write_done);
    if (call == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    call->data = ctx->write_data;
    call->stream = 1;

    return ngx_http_pfs_s3_call_start(r, call,
                   ngx_http_pfs_s3_set_commit(r->pool, ctx->write_commit, ops));
}


static ngx_int_t
ngx_http_pfs_s3_write_done(ngx_http_request_t *r, ngx_http_pfs_s3_call_t *call)
{
    ngx_http_pfs_s3_ctx_t  *ctx;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    /* what is left of the body, if anything, is no longer read */
    r->read_event_handler = ngx_http_block_reading;

    /* the body was read by the call: it counts for $request_length */
    r->request_length += call->sr->request_length;

    if (ctx->digest_failed != NGX_HTTP_PFS_S3_ERR_NONE) {
        /* the filter broke the stream off: PFS wrote nothing */
        return ngx_http_pfs_s3_send_error(r, ctx->digest_failed,
                                          ctx->digest_why);
    }

    return ctx->write_done(r, call);
}


/*
 * A streamed body on its way.  The buffers nginx read go out as add_file
 * messages, a frame header of ours followed by the bytes where nginx read
 * them, so that nginx reuses its read buffer only once grpc_pass has sent
 * them.  Consecutive reads into the same buffer are gathered into the
 * first one's buffer (the others are consumed at once, their bytes being
 * covered): one message per buffer nginx fills (the filter runs without
 * input when it is full), not one per read.  An aws-chunked body goes out
 * piece by piece: its buffers are ours (ngx_http_pfs_s3_unchunk()).  At
 * the end of the body, a failed digest breaks the stream off (NGX_ERROR)
 * instead of ending it, unless the client request itself is reading (the
 * body was whole before the call started: ngx_http_pfs_s3_write_ready()
 * answers it).  A digest known to fail before the end breaks it off at
 * once.
 */

static ngx_int_t
ngx_http_pfs_s3_frame_body(ngx_http_request_t *r, ngx_http_pfs_s3_ctx_t *ctx,
    ngx_chain_t **in)
{
    ngx_buf_t    *b, *span;
    ngx_uint_t    sent;
    ngx_chain_t  *cl, *out, **ll, *hdrs, **hl;

    if (ctx->digest_failed != NGX_HTTP_PFS_S3_ERR_NONE && r != r->main) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "pfs_s3: the body fails its checks, "
                      "breaking its ModifyFile off");
        return NGX_ERROR;
    }

    out = NULL;
    ll = &out;
    hdrs = NULL;
    hl = &hdrs;
    span = ctx->write_span;

    for (cl = *in; cl; cl = cl->next) {
        b = cl->buf;
        sent = 0;

        if (ngx_buf_in_memory(b) && b->last > b->pos) {

            if (ctx->aws_chunked) {
                if (ngx_http_pfs_s3_frame_piece(r, ctx, b, &ll, &hl)
                    != NGX_OK)
                {
                    return NGX_ERROR;
                }

                sent = 1;

            } else if (span && span->last == b->pos
                       && (size_t) (b->last - span->pos) <= ctx->write_piece)
            {
                span->last = b->last;
                b->pos = b->last;

                /* an empty last buffer must look empty to what follows */
                b->temporary = 0;

            } else {
                if (span && ngx_http_pfs_s3_frame_piece(r, ctx, span, &ll, &hl)
                            != NGX_OK)
                {
                    return NGX_ERROR;
                }

                span = b;
            }
        }

        if (!b->last_buf) {
            continue;
        }

        /* the last buffer (nginx's carries the last bytes, if any) */

        if (span) {
            if (ngx_http_pfs_s3_frame_piece(r, ctx, span, &ll, &hl)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            sent = (span == b);
            span = NULL;
        }

        /* nothing of the client's body is left to read */
        r->main->reading_body = 0;

        if (!sent && ngx_http_pfs_s3_frame_link(r, b, &ll) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (*in == NULL && span) {
        /* nginx's read buffer is full: what it holds goes */

        if (ngx_http_pfs_s3_frame_piece(r, ctx, span, &ll, &hl) != NGX_OK) {
            return NGX_ERROR;
        }

        span = NULL;
    }

    ctx->write_span = span;

    *ll = NULL;
    *hl = NULL;
    *in = out;

    ngx_chain_update_chains(r->pool, &ctx->write_free, &ctx->write_busy,
                            &hdrs, (ngx_buf_tag_t) &ngx_http_pfs_s3_frame_body);

    return NGX_OK;
}


/* One add_file message: a frame header of ours, then the bytes of "b". */

static ngx_int_t
ngx_http_pfs_s3_frame_piece(ngx_http_request_t *r, ngx_http_pfs_s3_ctx_t *ctx,
    ngx_buf_t *b, ngx_chain_t ***ll, ngx_chain_t ***hl)
{
    ngx_buf_t    *h;
    ngx_chain_t  *tl;

    tl = ngx_chain_get_free_buf(r->pool, &ctx->write_free);
    if (tl == NULL) {
        return NGX_ERROR;
    }

    h = tl->buf;

    if (h->start == NULL) {
        h->start = ngx_palloc(r->pool, ctx->write_path.len + 64);
        if (h->start == NULL) {
            return NGX_ERROR;
        }

        h->end = h->start + ctx->write_path.len + 64;
        h->temporary = 1;
        h->tag = (ngx_buf_tag_t) &ngx_http_pfs_s3_frame_body;
    }

    h->pos = h->start;
    h->last = ngx_http_pfs_s3_piece_write(h->start, &ctx->write_path,
                                          b->last - b->pos);

    **hl = tl;
    *hl = &tl->next;

    if (ngx_http_pfs_s3_frame_link(r, h, ll) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_pfs_s3_frame_link(r, b, ll);
}


static ngx_int_t
ngx_http_pfs_s3_frame_link(ngx_http_request_t *r, ngx_buf_t *b,
    ngx_chain_t ***ll)
{
    ngx_chain_t  *tl;

    tl = ngx_alloc_chain_link(r->pool);
    if (tl == NULL) {
        return NGX_ERROR;
    }

    tl->buf = b;
    **ll = tl;
    *ll = &tl->next;

    return NGX_OK;
}


/*
 * The add_file messages of a PutObject: one per piece of at most "piece"
 * bytes, each a frame header of ours followed by the piece where nginx
 * keeps it.  The file slices are contiguous and in order from offset 0,
 * which is what nginx's upstream assumes when it has to send the body again
 * to another server (ngx_http_upstream_reinit()).
 */

ngx_chain_t *
ngx_http_pfs_s3_body_slices(ngx_http_request_t *r, ngx_str_t *path,
    size_t piece, ngx_uint_t *empty)
{
    *empty = 1;

    if (r->request_body == NULL) {
        return NULL;
    }

    return ngx_http_pfs_s3_chain_slices(r->pool, r->request_body->bufs, path,
                                        piece, empty);
}


/* The same for any chain of bytes in memory or in files. */

ngx_chain_t *
ngx_http_pfs_s3_chain_slices(ngx_pool_t *pool, ngx_chain_t *in,
    ngx_str_t *path, size_t piece, ngx_uint_t *empty)
{
    off_t         pos, end, n;
    ngx_buf_t    *b, *s;
    ngx_chain_t  *out, **ll, *cl;

    out = NULL;
    ll = &out;

    *empty = 1;

    for ( /* void */ ; in; in = in->next) {
        b = in->buf;

        if (b->in_file) {
            pos = b->file_pos;
            end = b->file_last;

        } else if (ngx_buf_in_memory(b)) {
            pos = 0;
            end = b->last - b->pos;

        } else {
            continue;
        }

        while (pos < end) {
            n = ngx_min(end - pos, (off_t) piece);

            cl = ngx_http_pfs_s3_piece_header(pool, path, (size_t) n);
            if (cl == NULL) {
                return NULL;
            }

            *ll = cl;
            ll = &cl->next;

            s = ngx_calloc_buf(pool);
            if (s == NULL) {
                return NULL;
            }

            if (b->in_file) {
                s->in_file = 1;
                s->file = b->file;
                s->file_pos = pos;
                s->file_last = pos + n;

            } else {
                s->memory = 1;
                s->start = b->pos + pos;
                s->pos = s->start;
                s->last = s->start + n;
                s->end = s->last;
            }

            cl = ngx_alloc_chain_link(pool);
            if (cl == NULL) {
                return NULL;
            }

            cl->buf = s;
            cl->next = NULL;

            *ll = cl;
            ll = &cl->next;

            pos += n;
            *empty = 0;
        }
    }

    return out;
}


/*
 * ModifyFileRequest{add_file: AddFile{path, raw: BytesValue{value}}}, all
 * but the value bytes, behind its gRPC frame header.  Written by hand since
 * protobuf-c would need the bytes themselves in memory.
 */

static ngx_chain_t *
ngx_http_pfs_s3_piece_header(ngx_pool_t *pool, ngx_str_t *path, size_t n)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    b = ngx_create_temp_buf(pool, path->len + 64);
    if (b == NULL) {
        return NULL;
    }

    b->last = ngx_http_pfs_s3_piece_write(b->last, path, n);

    cl = ngx_alloc_chain_link(pool);
    if (cl == NULL) {
        return NULL;
    }

    cl->buf = b;
    cl->next = NULL;

    return cl;
}


/* Writes that header (at most path->len + 64 bytes) at p. */

static u_char *
ngx_http_pfs_s3_piece_write(u_char *p, ngx_str_t *path, size_t n)
{
    size_t  value, add, req;

    value = 1 + ngx_http_pfs_s3_varint_len(n) + n;
    add = 1 + ngx_http_pfs_s3_varint_len(path->len) + path->len
          + 1 + ngx_http_pfs_s3_varint_len(value) + value;
    req = 1 + ngx_http_pfs_s3_varint_len(add) + add;

    *p++ = 0;
    *p++ = (u_char) (req >> 24);
    *p++ = (u_char) (req >> 16);
    *p++ = (u_char) (req >> 8);
    *p++ = (u_char) req;

    *p++ = (2 << 3) | 2;                    /* ModifyFileRequest.add_file */
    p = ngx_http_pfs_s3_varint(p, add);

    *p++ = (1 << 3) | 2;                    /* AddFile.path */
    p = ngx_http_pfs_s3_varint(p, path->len);
    p = ngx_cpymem(p, path->data, path->len);

    *p++ = (3 << 3) | 2;                    /* AddFile.raw */
    p = ngx_http_pfs_s3_varint(p, value);

    *p++ = (1 << 3) | 2;                    /* BytesValue.value */
    p = ngx_http_pfs_s3_varint(p, n);

    return p;
}


static u_char *
ngx_http_pfs_s3_varint(u_char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (u_char) (v | 0x80);
        v >>= 7;
    }

    *p++ = (u_char) v;

    return p;
}


static size_t
ngx_http_pfs_s3_varint_len(uint64_t v)
{
    size_t  n;

    for (n = 1; v >= 0x80; n++) {
        v >>= 7;
    }

    return n;
}


static ngx_int_t
ngx_http_pfs_s3_hex_decode(u_char *dst, u_char *src, size_t len)
{
    u_char      c, h;
    ngx_uint_t  i;

    for (i = 0; i < len; i++) {
        c = (u_char) (src[i] | 0x20);

        if (c >= '0' && c <= '9') {
            h = c - '0';

        } else if (c >= 'a' && c <= 'f') {
            h = c - 'a' + 10;

        } else {
            return NGX_ERROR;
        }

        if (i & 1) {
            dst[i / 2] |= h;

        } else {
            dst[i / 2] = (u_char) (h << 4);
        }
    }

    return NGX_OK;
}


/*
 * A small XML request body (CreateBucketConfiguration, ...): a body that
 * says it is larger than pfs_s3_max_xml_body_size is refused before it is
 * read, so that nobody can make the worker read a large body only to
 * refuse it.  Bodies without a Content-Length are checked once read
 * (ngx_http_pfs_s3_read_small_body).
 */

ngx_int_t
ngx_http_pfs_s3_read_xml_body(ngx_http_request_t *r,
    ngx_http_pfs_s3_body_pt next)
{
    ngx_http_pfs_s3_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_pfs_s3_module);

    if (r->headers_in.content_length_n > (off_t) plcf->max_xml_size) {
        return ngx_http_pfs_s3_send_error(r,
                                      NGX_HTTP_PFS_S3_ERR_MALFORMED_XML,
                                      "the XML document is larger than "
                                      "pfs_s3_max_xml_body_size");
    }

    return ngx_http_pfs_s3_read_body(r, next);
}
