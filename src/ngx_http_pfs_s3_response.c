/*
 * Small helpers for responses and requests: headers, bodiless answers,
 * unread request bodies, time and ETag formats, small request bodies.
 */

#include <ngx_http_pfs_s3.h>


ngx_table_elt_t *
ngx_http_pfs_s3_header(ngx_http_request_t *r, const char *name)
{
    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = ngx_strlen(name);

    part = &r->headers_in.headers.part;
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


ngx_int_t
ngx_http_pfs_s3_add_header(ngx_http_request_t *r, const char *key,
    u_char *value, size_t len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value.data = value;
    h->value.len = len;
    h->lowcase_key = NULL;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return NGX_OK;
}


/* A response without a body: 200 to HEAD and PUT, 204, 304. */

ngx_int_t
ngx_http_pfs_s3_send_empty(ngx_http_request_t *r, ngx_uint_t status)
{
    ngx_int_t  rc;

    ngx_http_pfs_s3_skip_body(r);

    r->headers_out.status = status;

    if (status == NGX_HTTP_NO_CONTENT || status == NGX_HTTP_NOT_MODIFIED) {
        r->header_only = 1;
        r->headers_out.content_length_n = -1;

    } else if (r->method == NGX_HTTP_HEAD) {
        if (r->headers_out.content_length_n < 0) {
            r->headers_out.content_length_n = 0;
        }

    } else {
        r->headers_out.content_length_n = 0;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_send_special(r, NGX_HTTP_LAST);
}


/*
 * Answering without the request body.  A client that waits for
 * "100 Continue" has not sent the body and will not: no 100 is sent, and the
 * connection closes after the answer, since its state is unknown.  Other
 * bodies are read and discarded by nginx as usual.
 */

void
ngx_http_pfs_s3_skip_body(ngx_http_request_t *r)
{
    if (r != r->main || r->request_body || r->discard_body) {
        return;
    }

    if (!r->expect_tested
        && r->headers_in.expect
        && r->http_version >= NGX_HTTP_VERSION_11
#if (NGX_HTTP_V2)
        && r->stream == NULL
#endif
        && r->headers_in.expect->value.len == sizeof("100-continue") - 1
        && ngx_strncasecmp(r->headers_in.expect->value.data,
                           (u_char *) "100-continue",
                           sizeof("100-continue") - 1) == 0)
    {
        r->expect_tested = 1;
        r->keepalive = 0;
        r->lingering_close = 1;
        return;
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }
}


/* "2006-02-03T16:45:09.000Z", as S3 writes LastModified and CreationDate */

u_char *
ngx_http_pfs_s3_iso8601(u_char *p, Google__Protobuf__Timestamp *ts)
{
    time_t     sec;
    ngx_tm_t   tm;
    ngx_int_t  ms;

    sec = ts ? (time_t) ts->seconds : 0;
    ms = ts ? ts->nanos / 1000000 : 0;

    if (ms < 0 || ms > 999) {
        ms = 0;
    }

    ngx_gmtime(sec, &tm);

    return ngx_sprintf(p, "%4d-%02d-%02dT%02d:%02d:%02d.%03iZ",
                       tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                       tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec, ms);
}


/*
 * The quoted ETag of a FileInfo.hash: lowercase hex; a 20-byte hash is an
 * MD5 of part MD5s followed by the big-endian part count, which S3 writes
 * "<hex>-<parts>" (see "Hash" in docs/DESIGN.md).  dst has room for
 * 2 * hash->len + 16 bytes.
 */

size_t
ngx_http_pfs_s3_etag(u_char *dst, ProtobufCBinaryData *hash)
{
    u_char    *p;
    uint32_t   parts;

    p = dst;
    *p++ = '"';

    if (hash->len == 20) {
        p = ngx_hex_dump(p, hash->data, 16);

        parts = ((uint32_t) hash->data[16] << 24)
                | ((uint32_t) hash->data[17] << 16)
                | ((uint32_t) hash->data[18] << 8)
                | (uint32_t) hash->data[19];

        p = ngx_sprintf(p, "-%uD", parts);

    } else {
        p = ngx_hex_dump(p, hash->data, hash->len);
    }

    *p++ = '"';

    return p - dst;
}


/* The same in memory of the pool. */

ngx_int_t
ngx_http_pfs_s3_etag_str(ngx_pool_t *pool, ProtobufCBinaryData *hash,
    ngx_str_t *etag)
{
    etag->data = ngx_pnalloc(pool, 2 * hash->len + 16);
    if (etag->data == NULL) {
        return NGX_ERROR;
    }

    etag->len = ngx_http_pfs_s3_etag(etag->data, hash);

    return NGX_OK;
}


/*
 * The whole of a small request body (already read) as one piece of memory,
 * whether nginx kept it in memory or in a temporary file.  NGX_DECLINED
 * when it is larger than max: the limit is checked before anything is
 * allocated, since the body may be as large as client_max_body_size.
 */

ngx_int_t
ngx_http_pfs_s3_read_small_body(ngx_http_request_t *r, size_t max,
    ngx_str_t *body)
{
    u_char       *p;
    off_t         len;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    body->len = 0;
    body->data = NULL;

    if (r->request_body == NULL) {
        return NGX_OK;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    if (len == 0) {
        return NGX_OK;
    }

    if (len > (off_t) max) {
        return NGX_DECLINED;
    }

    p = ngx_pnalloc(r->pool, (size_t) len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            n = ngx_read_file(b->file, p, (size_t) (b->file_last - b->file_pos),
                              b->file_pos);

            if (n != b->file_last - b->file_pos) {
                return NGX_ERROR;
            }

            p += n;
            continue;
        }

        p = ngx_cpymem(p, b->pos, b->last - b->pos);
    }

    *p = '\0';
    body->len = p - body->data;

    return NGX_OK;
}
