/*
 * ListObjects (v1) and ListObjectsV2.
 *
 * One GlobFile call per page: "<prefix>*" when listing by directory
 * (delimiter "/"), "<prefix>**" for a recursive listing, starting at the
 * marker (path_range.lower) so that PFS seeks instead of streaming the keys
 * before it.  The stream is cut as soon as the page is full and one more
 * entry shows that the listing is truncated, which closes the call and
 * stops PFS; a page holds at most 1000 entries whatever the bucket size.
 */

#include <ngx_http_pfs_s3.h>


#define NGX_HTTP_PFS_S3_TOKEN_VERSION  1


typedef struct {
    ngx_str_t                   key;
    ngx_str_t                   etag;
    off_t                       size;
    u_char                      mtime[32];
    size_t                      mtime_len;
    ngx_uint_t                  prefix;       /* a CommonPrefix */
} ngx_http_pfs_s3_entry_t;


typedef struct {
    ngx_str_t                   prefix;
    ngx_str_t                   delimiter;
    ngx_str_t                   marker;       /* v1 marker, v2 start-after */
    ngx_str_t                   token;        /* v2 continuation-token */
    ngx_str_t                   after;        /* keys <= after are skipped */
    ngx_uint_t                  max_keys;
    ngx_array_t                 entries;
    ngx_uint_t                  url;
    ngx_uint_t                  v2;
    ngx_uint_t                  fetch_owner;
    ngx_uint_t                  truncated;
} ngx_http_pfs_s3_list_t;


static ngx_int_t ngx_http_pfs_s3_list_args(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx, ngx_http_pfs_s3_list_t *ls);
static ngx_int_t ngx_http_pfs_s3_list_entry(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call, ProtobufCMessage *msg);
static ngx_int_t ngx_http_pfs_s3_list_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_list_send(ngx_http_request_t *r,
    ngx_http_pfs_s3_list_t *ls);
static ngx_int_t ngx_http_pfs_s3_token(ngx_pool_t *pool, ngx_str_t *key,
    ngx_str_t *token);


ngx_int_t
ngx_http_pfs_s3_list_objects(ngx_http_request_t *r)
{
    ngx_int_t                rc;
    ngx_str_t                s;
    ngx_http_pfs_s3_ref_t   *ref;
    ngx_http_pfs_s3_ctx_t   *ctx;
    ngx_http_pfs_s3_list_t  *ls;
    PfsV2__PathRange         range = PFS_V2__PATH_RANGE__INIT;
    PfsV2__GlobFileRequest   req = PFS_V2__GLOB_FILE_REQUEST__INIT;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    ngx_http_discard_request_body(r);

    ls = ngx_pcalloc(r->pool, sizeof(ngx_http_pfs_s3_list_t));
    if (ls == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->op_data = ls;

    rc = ngx_http_pfs_s3_list_args(r, ctx, ls);

    if (rc == NGX_DECLINED) {
        return ctx->rc;
    }

    if (rc != NGX_OK) {
        return rc;
    }

    ref = ngx_palloc(r->pool, sizeof(ngx_http_pfs_s3_ref_t));
    if (ref == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_pfs_s3_ref(r, ref, &ctx->bucket, NULL, NULL) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    req.commit = &ref->commit;

    req.pattern = ngx_http_pfs_s3_list_pattern(r, &ls->prefix,
                                               ls->delimiter.len == 0);
    if (req.pattern == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ls->after.len && ngx_http_pfs_s3_str_cmp(&ls->after, &ls->prefix) > 0)
    {
        s.len = ls->after.len + 1;
        s.data = ngx_pnalloc(r->pool, s.len);
        if (s.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        s.data[0] = '/';
        ngx_memcpy(s.data + 1, ls->after.data, ls->after.len);

        range.lower = ngx_http_pfs_s3_cstr(r->pool, &s);
        if (range.lower == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        req.path_range = &range;
    }

    if (ngx_array_init(&ls->entries, r->pool, ngx_min(ls->max_keys, 64) + 1,
                       sizeof(ngx_http_pfs_s3_entry_t))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_pfs_s3_call(r, "/pfs_v2.API/GlobFile", &req.base,
                                &pfs_v2__file_info__descriptor,
                                ngx_http_pfs_s3_list_entry,
                                ngx_http_pfs_s3_list_done, ls);
}


static ngx_int_t
ngx_http_pfs_s3_list_args(ngx_http_request_t *r, ngx_http_pfs_s3_ctx_t *ctx,
    ngx_http_pfs_s3_list_t *ls)
{
    ngx_str_t  v, raw;

    ls->v2 = (ctx->op == NGX_HTTP_PFS_S3_OP_LIST_OBJECTS_V2);

    if (ngx_http_pfs_s3_list_params(r, ctx, &ls->prefix, &ls->delimiter,
                                    &ls->max_keys, &ls->url)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    if (ls->v2) {
        (void) ngx_http_pfs_s3_arg(ctx, "start-after", &ls->marker);

        if (ngx_http_pfs_s3_arg(ctx, "fetch-owner", &v) == NGX_OK
            && v.len == 4 && ngx_strncasecmp(v.data, (u_char *) "true", 4) == 0)
        {
            ls->fetch_owner = 1;
        }

        if (ngx_http_pfs_s3_arg(ctx, "continuation-token", &ls->token)
            == NGX_OK)
        {
            /* opaque to clients: base64url of a version byte and a key */

            raw.data = ngx_pnalloc(r->pool, ngx_base64_decoded_length(
                                                            ls->token.len));
            if (raw.data == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            if (ls->token.len == 0
                || ngx_decode_base64url(&raw, &ls->token) != NGX_OK
                || raw.len < 2
                || raw.data[0] != NGX_HTTP_PFS_S3_TOKEN_VERSION
                || ngx_http_pfs_s3_utf8_valid(raw.data + 1, raw.len - 1)
                   != NGX_OK)
            {
                return ngx_http_pfs_s3_answer(r,
                                  NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT,
                                  "The continuation token provided is "
                                  "incorrect");
            }

            ls->after.data = raw.data + 1;
            ls->after.len = raw.len - 1;

        } else {
            ls->after = ls->marker;
        }

    } else {
        (void) ngx_http_pfs_s3_arg(ctx, "marker", &ls->marker);
        ls->after = ls->marker;
    }

    if (ngx_http_pfs_s3_utf8_valid(ls->prefix.data, ls->prefix.len) != NGX_OK
        || ngx_http_pfs_s3_utf8_valid(ls->marker.data, ls->marker.len)
           != NGX_OK)
    {
        return ngx_http_pfs_s3_answer(r,
                                  NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT,
                                  "prefix, marker and start-after must be "
                                  "UTF-8");
    }

    return NGX_OK;
}


/* Each FileInfo of the glob stream: an object, a common prefix, or skipped */

static ngx_int_t
ngx_http_pfs_s3_list_entry(ngx_http_request_t *r, ngx_http_pfs_s3_call_t *call,
    ProtobufCMessage *msg)
{
    PfsV2__FileInfo *info = (PfsV2__FileInfo *) msg;

    size_t                    len;
    ngx_str_t                 key;
    ngx_uint_t                dir;
    ngx_http_pfs_s3_list_t   *ls;
    ngx_http_pfs_s3_entry_t  *e;

    ls = call->data;

    if (info->file == NULL || info->file->path == NULL
        || info->file->path[0] != '/')
    {
        return NGX_OK;
    }

    key.data = (u_char *) info->file->path + 1;
    key.len = ngx_strlen(info->file->path) - 1;

    dir = (info->file_type == PFS_V2__FILE_TYPE__DIR);

    if (key.len == 0 || (dir && ls->delimiter.len == 0)) {
        /* directories are implicit in a recursive listing */
        return NGX_OK;
    }

    if (!dir && key.data[key.len - 1] == '/') {
        return NGX_OK;
    }

    if (key.len < ls->prefix.len
        || ngx_memcmp(key.data, ls->prefix.data, ls->prefix.len) != 0
        || (ls->after.len && ngx_http_pfs_s3_str_cmp(&key, &ls->after) <= 0))
    {
        return NGX_OK;
    }

    if (ls->entries.nelts >= ls->max_keys) {
        /* one entry more than the page: the listing is truncated */
        ls->truncated = (ls->max_keys > 0);
        return NGX_DONE;
    }

    e = ngx_array_push(&ls->entries);
    if (e == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(e, sizeof(ngx_http_pfs_s3_entry_t));

    len = key.len + (dir && key.data[key.len - 1] != '/');

    e->key.data = ngx_pnalloc(r->pool, len);
    if (e->key.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(e->key.data, key.data, key.len);
    e->key.len = len;

    if (dir) {
        e->key.data[len - 1] = '/';
        e->prefix = 1;
        return NGX_OK;
    }

    e->size = info->size_bytes;
    e->mtime_len = ngx_http_pfs_s3_iso8601(e->mtime, info->committed)
                   - e->mtime;

    return ngx_http_pfs_s3_etag_str(r->pool, &info->hash, &e->etag);
}


static ngx_int_t
ngx_http_pfs_s3_list_done(ngx_http_request_t *r, ngx_http_pfs_s3_call_t *call)
{
    if (!ngx_http_pfs_s3_call_ok(call)) {
        return ngx_http_pfs_s3_fail(r, call,
                                    NGX_HTTP_PFS_S3_ERR_NO_SUCH_BUCKET);
    }

    return ngx_http_pfs_s3_list_send(r, call->data);
}


static ngx_int_t
ngx_http_pfs_s3_list_send(ngx_http_request_t *r, ngx_http_pfs_s3_list_t *ls)
{
    ngx_str_t                 token;
    ngx_uint_t                i, n;
    ngx_http_pfs_s3_xml_t    *x;
    ngx_http_pfs_s3_ctx_t    *ctx;
    ngx_http_pfs_s3_entry_t  *e, *last;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    e = ls->entries.elts;
    n = ls->entries.nelts;
    last = n ? &e[n - 1] : NULL;

    x = ngx_http_pfs_s3_xml_start(r, "ListBucketResult", 1);
    if (x == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_pfs_s3_xml_elem(x, "Name", ctx->bucket.name.data,
                             ctx->bucket.name.len);
    ngx_http_pfs_s3_xml_elem_url(x, "Prefix", &ls->prefix, ls->url);

    if (ls->v2) {
        ngx_http_pfs_s3_xml_elem_num(x, "KeyCount", n);

        if (ls->token.len) {
            ngx_http_pfs_s3_xml_elem(x, "ContinuationToken", ls->token.data,
                                     ls->token.len);
        }

        if (ls->truncated && last) {
            if (ngx_http_pfs_s3_token(r->pool, &last->key, &token) != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            ngx_http_pfs_s3_xml_elem(x, "NextContinuationToken", token.data,
                                     token.len);
        }

        if (ls->marker.len) {
            ngx_http_pfs_s3_xml_elem_url(x, "StartAfter", &ls->marker,
                                         ls->url);
        }

    } else {
        ngx_http_pfs_s3_xml_elem_url(x, "Marker", &ls->marker, ls->url);

        if (ls->truncated && last) {
            ngx_http_pfs_s3_xml_elem_url(x, "NextMarker", &last->key, ls->url);
        }
    }

    ngx_http_pfs_s3_xml_elem_num(x, "MaxKeys", ls->max_keys);

    if (ls->delimiter.len) {
        ngx_http_pfs_s3_xml_elem_url(x, "Delimiter", &ls->delimiter, ls->url);
    }

    if (ls->url) {
        ngx_http_pfs_s3_xml_elem_str(x, "EncodingType", "url");
    }

    ngx_http_pfs_s3_xml_elem_str(x, "IsTruncated",
                                 ls->truncated ? "true" : "false");

    for (i = 0; i < n; i++) {
        if (e[i].prefix) {
            continue;
        }

        ngx_http_pfs_s3_xml_open(x, "Contents");
        ngx_http_pfs_s3_xml_elem_url(x, "Key", &e[i].key, ls->url);
        ngx_http_pfs_s3_xml_elem(x, "LastModified", e[i].mtime,
                                 e[i].mtime_len);
        ngx_http_pfs_s3_xml_elem(x, "ETag", e[i].etag.data, e[i].etag.len);
        ngx_http_pfs_s3_xml_elem_num(x, "Size", e[i].size);

        if (!ls->v2 || ls->fetch_owner) {
            ngx_http_pfs_s3_xml_open(x, "Owner");
            ngx_http_pfs_s3_xml_elem_str(x, "ID",
                                         "00000000000000000000000000000000");
            ngx_http_pfs_s3_xml_elem_str(x, "DisplayName", "pachyderm");
            ngx_http_pfs_s3_xml_close(x);
        }

        ngx_http_pfs_s3_xml_elem_str(x, "StorageClass", "STANDARD");
        ngx_http_pfs_s3_xml_close(x);
    }

    for (i = 0; i < n; i++) {
        if (!e[i].prefix) {
            continue;
        }

        ngx_http_pfs_s3_xml_open(x, "CommonPrefixes");
        ngx_http_pfs_s3_xml_elem_url(x, "Prefix", &e[i].key, ls->url);
        ngx_http_pfs_s3_xml_close(x);
    }

    return ngx_http_pfs_s3_xml_send(r, x, NGX_HTTP_OK);
}


static ngx_int_t
ngx_http_pfs_s3_token(ngx_pool_t *pool, ngx_str_t *key, ngx_str_t *token)
{
    ngx_str_t  raw;

    raw.len = key->len + 1;
    raw.data = ngx_pnalloc(pool, raw.len);
    if (raw.data == NULL) {
        return NGX_ERROR;
    }

    raw.data[0] = NGX_HTTP_PFS_S3_TOKEN_VERSION;
    ngx_memcpy(raw.data + 1, key->data, key->len);

    token->data = ngx_pnalloc(pool, ngx_base64_encoded_length(raw.len));
    if (token->data == NULL) {
        return NGX_ERROR;
    }

    ngx_encode_base64url(token, &raw);

    return NGX_OK;
}


/* byte order, as S3 sorts keys */

ngx_int_t
ngx_http_pfs_s3_str_cmp(ngx_str_t *a, ngx_str_t *b)
{
    ngx_int_t  rc;

    rc = ngx_memcmp(a->data, b->data, ngx_min(a->len, b->len));

    if (rc != 0) {
        return rc;
    }

    return (a->len > b->len) - (a->len < b->len);
}


/*
 * The parameters ListObjects and ListObjectVersions share: prefix,
 * delimiter ("/" or none: PFS lists by directory), encoding-type and
 * max-keys (at most 1000).  NGX_DECLINED: answered with the error.
 */

ngx_int_t
ngx_http_pfs_s3_list_params(ngx_http_request_t *r, ngx_http_pfs_s3_ctx_t *ctx,
    ngx_str_t *prefix, ngx_str_t *delimiter, ngx_uint_t *max_keys,
    ngx_uint_t *url)
{
    ngx_int_t  n;
    ngx_str_t  v;

    *max_keys = NGX_HTTP_PFS_S3_MAX_KEYS;
    *url = 0;

    (void) ngx_http_pfs_s3_arg(ctx, "prefix", prefix);
    (void) ngx_http_pfs_s3_arg(ctx, "delimiter", delimiter);

    if (delimiter->len && !(delimiter->len == 1 && delimiter->data[0] == '/'))
    {
        (void) ngx_http_pfs_s3_answer(r, NGX_HTTP_PFS_S3_ERR_INVALID_DELIMITER,
                                      NULL);
        return NGX_DECLINED;
    }

    if (ngx_http_pfs_s3_arg(ctx, "encoding-type", &v) == NGX_OK) {
        if (!(v.len == 3 && ngx_strncmp(v.data, "url", 3) == 0)) {
            (void) ngx_http_pfs_s3_answer(r,
                                  NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT,
                                  "Invalid Encoding Method specified in "
                                  "Request");
            return NGX_DECLINED;
        }

        *url = 1;
    }

    if (ngx_http_pfs_s3_arg(ctx, "max-keys", &v) == NGX_OK) {
        n = ngx_atoi(v.data, v.len);

        if (n == NGX_ERROR) {
            (void) ngx_http_pfs_s3_answer(r,
                                  NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT,
                                  "Provided max-keys not an integer or "
                                  "within integer range");
            return NGX_DECLINED;
        }

        *max_keys = ngx_min((ngx_uint_t) n, NGX_HTTP_PFS_S3_MAX_KEYS);
    }

    return NGX_OK;
}


/*
 * The GlobFile pattern of a listing: "/<prefix>**" (recursive) or
 * "/<prefix>*" (by directory).  A prefix with glob characters matches no
 * key PFS can hold; the glob then only checks that the bucket exists ("/"
 * matches the root alone, which is no object).  NULL: no memory.
 */

char *
ngx_http_pfs_s3_list_pattern(ngx_http_request_t *r, ngx_str_t *prefix,
    ngx_uint_t recursive)
{
    u_char     *p, *pattern;
    ngx_str_t   s;

    if (!ngx_http_pfs_s3_glob_safe(prefix)) {
        return "/";
    }

    if (ngx_http_pfs_s3_glob_escape(r->pool, prefix, &s) != NGX_OK) {
        return NULL;
    }

    pattern = ngx_pnalloc(r->pool, s.len + 4);
    if (pattern == NULL) {
        return NULL;
    }

    p = pattern;

    *p++ = '/';
    p = ngx_cpymem(p, s.data, s.len);
    *p++ = '*';

    if (recursive) {
        *p++ = '*';
    }

    *p = '\0';

    return (char *) pattern;
}
