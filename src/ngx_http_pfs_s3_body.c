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
 */

#include <ngx_http_pfs_s3.h>


static ngx_int_t ngx_http_pfs_s3_request_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static void ngx_http_pfs_s3_body_ready(ngx_http_request_t *r);
static void ngx_http_pfs_s3_digest_cleanup(void *data);
static EVP_MD_CTX *ngx_http_pfs_s3_digest(ngx_http_request_t *r,
    const EVP_MD *md);
static ngx_chain_t *ngx_http_pfs_s3_piece_header(ngx_pool_t *pool,
    ngx_str_t *path, size_t n);
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

    ngx_http_finalize_request(r, rc);
}


/*
 * Digests to verify, from the request headers.  An x-amz-content-sha256 of
 * UNSIGNED-PAYLOAD asks for no check; the aws-chunked forms (STREAMING-*)
 * carry signed chunks this module does not decode, and are refused rather
 * than stored with their framing.
 */

ngx_int_t
ngx_http_pfs_s3_digests_init(ngx_http_request_t *r, ngx_http_pfs_s3_ctx_t *ctx,
    ngx_http_pfs_s3_err_e *err, const char **why)
{
    u_char            buf[64];
    ngx_str_t         src, dst;
    ngx_table_elt_t  *h;

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

        ctx->md5 = ngx_http_pfs_s3_digest(r, EVP_md5());
        if (ctx->md5 == NULL) {
            *err = NGX_HTTP_PFS_S3_ERR_INTERNAL;
            return NGX_ERROR;
        }
    }

    h = ngx_http_pfs_s3_header(r, "x-amz-content-sha256");

    if (h && h->value.len == 64
        && ngx_http_pfs_s3_hex_decode(ctx->want_sha256, h->value.data, 64) == NGX_OK)
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
        *err = NGX_HTTP_PFS_S3_ERR_NOT_IMPLEMENTED;
        *why = "aws-chunked uploads (x-amz-content-sha256: STREAMING-*) are "
               "not supported; send the body as is";
        return NGX_ERROR;

    } else if (h && !(h->value.len == sizeof("UNSIGNED-PAYLOAD") - 1
                      && ngx_strncmp(h->value.data, "UNSIGNED-PAYLOAD",
                                     h->value.len) == 0))
    {
        *err = NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT;
        *why = "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or the "
               "hexadecimal SHA-256 of the body";
        return NGX_ERROR;
    }

    h = ngx_http_pfs_s3_header(r, "content-encoding");

    if (h && ngx_strlcasestrn(h->value.data, h->value.data + h->value.len,
                              (u_char *) "aws-chunked", 11 - 1))
    {
        *err = NGX_HTTP_PFS_S3_ERR_NOT_IMPLEMENTED;
        *why = "aws-chunked uploads are not supported; send the body as is";
        return NGX_ERROR;
    }

    return NGX_OK;
}


static EVP_MD_CTX *
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
    ngx_buf_t              *b;
    ngx_chain_t            *cl;
    ngx_http_pfs_s3_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_pfs_s3_module);

    if (r != r->main || ctx == NULL || ctx->type != NGX_HTTP_PFS_S3_CTX_REQUEST
        || (ctx->md5 == NULL && ctx->sha256 == NULL))
    {
        return ngx_http_next_request_body_filter(r, in);
    }

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b) && b->last > b->pos) {
            size = b->last - b->pos;
            ctx->body_received += size;

            if ((ctx->md5 && EVP_DigestUpdate(ctx->md5, b->pos, size) != 1)
                || (ctx->sha256
                    && EVP_DigestUpdate(ctx->sha256, b->pos, size) != 1))
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }

        if (!b->last_buf) {
            continue;
        }

        /* the whole body has arrived: the verdict waits in the context */

        if (ngx_http_pfs_s3_digests_finish(r, ctx) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return ngx_http_next_request_body_filter(r, in);
}


ngx_int_t
ngx_http_pfs_s3_digests_finish(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx)
{
    u_char  md[EVP_MAX_MD_SIZE];

    if (ctx->md5) {
        if (EVP_DigestFinal_ex(ctx->md5, md, NULL) != 1) {
            return NGX_ERROR;
        }

        if (ngx_memcmp(md, ctx->want_md5, 16) != 0) {
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

    ctx->md5 = NULL;
    ctx->sha256 = NULL;
    ctx->body_complete = 1;

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
    off_t         pos, end, n;
    ngx_buf_t    *b, *s;
    ngx_chain_t  *in, *out, **ll, *cl;

    out = NULL;
    ll = &out;

    *empty = 1;

    if (r->request_body == NULL) {
        return NULL;
    }

    for (in = r->request_body->bufs; in; in = in->next) {
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

            cl = ngx_http_pfs_s3_piece_header(r->pool, path, (size_t) n);
            if (cl == NULL) {
                return NULL;
            }

            *ll = cl;
            ll = &cl->next;

            s = ngx_calloc_buf(r->pool);
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

            cl = ngx_alloc_chain_link(r->pool);
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
    u_char       *p;
    size_t        value, add, req, len;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    value = 1 + ngx_http_pfs_s3_varint_len(n) + n;
    add = 1 + ngx_http_pfs_s3_varint_len(path->len) + path->len
          + 1 + ngx_http_pfs_s3_varint_len(value) + value;
    req = 1 + ngx_http_pfs_s3_varint_len(add) + add;

    len = 5 + req - n;

    b = ngx_create_temp_buf(pool, len);
    if (b == NULL) {
        return NULL;
    }

    p = b->last;

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

    b->last = p;

    cl = ngx_alloc_chain_link(pool);
    if (cl == NULL) {
        return NULL;
    }

    cl->buf = b;
    cl->next = NULL;

    return cl;
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
