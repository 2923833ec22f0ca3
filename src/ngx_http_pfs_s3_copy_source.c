/*
 * The copy source of CopyObject and UploadPartCopy: the headers
 * x-amz-copy-source ("[/]bucket/key[?versionId=id]", percent-encoded) and
 * x-amz-copy-source-range ("bytes=first-last").  Functions of the header's
 * bytes only (and of the bucket pattern and defaults of the configuration),
 * no PFS call: what the source holds is for the caller to ask.
 */

#include <ngx_http_pfs_s3.h>


#define NGX_HTTP_PFS_S3_COPY_SOURCE_SHAPE                                    \
    "Copy Source must mention the source bucket and key: "                   \
    "sourcebucket/sourcekey"

#define NGX_HTTP_PFS_S3_COPY_RANGE_SHAPE                                     \
    "The x-amz-copy-source-range value must be of the form bytes=first-last " \
    "where first and last are the zero-based offsets of the first and last "  \
    "bytes to copy"


static ngx_int_t ngx_http_pfs_s3_copy_source_version(ngx_pool_t *pool,
    u_char *p, u_char *last, ngx_str_t *version);
static ngx_int_t ngx_http_pfs_s3_copy_range_number(u_char **pp, u_char *last,
    off_t *n);


/*
 * A version id is a commit id: a UUIDv4 in 32 lowercase hex digits.  PFS
 * would take anything else after "@" for a branch name, so nothing else may
 * reach it as a version.
 */

ngx_uint_t
ngx_http_pfs_s3_version_valid(ngx_str_t *version)
{
    u_char  *p, *last;

    if (version->len != 32 || version->data[12] != '4') {
        return 0;
    }

    last = version->data + version->len;

    for (p = version->data; p < last; p++) {
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) {
            return 0;
        }
    }

    return 1;
}


/*
 * x-amz-copy-source.  The query ("?versionId=") is split off before the
 * value is decoded, so that a "?" of the key itself (sent as "%3F") stays in
 * the key; "+" is a plus, as clients encode keys for paths.  Returns
 * NGX_HTTP_PFS_S3_ERR_NONE, or the S3 error with its message in *why:
 * InvalidArgument for a value of the wrong shape or a bad version id,
 * InvalidBucketName, KeyTooLongError, and NoSuchKey for a key PFS cannot
 * hold (no such object can exist).  NGX_HTTP_PFS_S3_ERR_INTERNAL: no memory.
 */

ngx_http_pfs_s3_err_e
ngx_http_pfs_s3_parse_copy_source(ngx_http_request_t *r, ngx_str_t *value,
    ngx_http_pfs_s3_copy_source_t *src, const char **why)
{
    u_char     *p, *last, *q, *slash;
    ngx_int_t   rc;
    ngx_str_t   raw, decoded;

    ngx_memzero(src, sizeof(ngx_http_pfs_s3_copy_source_t));

    *why = NGX_HTTP_PFS_S3_COPY_SOURCE_SHAPE;

    p = value->data;
    last = p + value->len;

    q = ngx_strlchr(p, last, '?');

    if (q) {
        rc = ngx_http_pfs_s3_copy_source_version(r->pool, q + 1, last,
                                                 &src->version);
        if (rc == NGX_ERROR) {
            return NGX_HTTP_PFS_S3_ERR_INTERNAL;
        }

        if (rc != NGX_OK) {
            *why = "Invalid version id specified";
            return NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT;
        }

        last = q;
    }

    raw.data = p;
    raw.len = last - p;

    rc = ngx_http_pfs_s3_unescape(r->pool, &raw, &decoded, 0);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_PFS_S3_ERR_INTERNAL;
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT;
    }

    p = decoded.data;
    last = p + decoded.len;

    if (p < last && *p == '/') {
        p++;
    }

    slash = ngx_strlchr(p, last, '/');

    if (slash == NULL || slash == p || slash + 1 == last) {
        return NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT;
    }

    src->bucket.name.data = p;
    src->bucket.name.len = slash - p;

    rc = ngx_http_pfs_s3_parse_bucket(r, &src->bucket.name, &src->bucket);

    if (rc == NGX_DECLINED) {
        *why = "The source bucket name is not a PFS branch "
               "([<commit>.]<branch>.<repo>[.<project>])";
        return NGX_HTTP_PFS_S3_ERR_INVALID_BUCKET_NAME;
    }

    if (rc == NGX_ABORT) {
        *why = "The specified bucket does not exist";
        return NGX_HTTP_PFS_S3_ERR_NO_SUCH_BUCKET;
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_PFS_S3_ERR_INTERNAL;
    }

    src->key.data = slash + 1;
    src->key.len = last - src->key.data;

    if (src->key.len > NGX_HTTP_PFS_S3_MAX_KEY_LEN) {
        *why = "The source key is too long";
        return NGX_HTTP_PFS_S3_ERR_KEY_TOO_LONG;
    }

    if (ngx_http_pfs_s3_utf8_valid(src->key.data, src->key.len) != NGX_OK
        || ngx_strlchr(src->key.data, last, '\0'))
    {
        *why = "The source key is not valid UTF-8 or holds NUL";
        return NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT;
    }

    /* the key is followed by the NUL ngx_http_pfs_s3_unescape() wrote */

    src->path.data = ngx_pnalloc(r->pool, src->key.len + 2);
    if (src->path.data == NULL) {
        return NGX_HTTP_PFS_S3_ERR_INTERNAL;
    }

    src->path.data[0] = '/';
    ngx_memcpy(src->path.data + 1, src->key.data, src->key.len + 1);
    src->path.len = src->key.len + 1;

    if (ngx_http_pfs_s3_check_key(&src->key, why)
        != NGX_HTTP_PFS_S3_ERR_NONE)
    {
        *why = "The source key cannot exist in PFS";
        return NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY;
    }

    *why = NULL;

    return NGX_HTTP_PFS_S3_ERR_NONE;
}


/* The query of a copy source: "versionId=<id>" and nothing else. */

static ngx_int_t
ngx_http_pfs_s3_copy_source_version(ngx_pool_t *pool, u_char *p, u_char *last,
    ngx_str_t *version)
{
    ngx_int_t  rc;
    ngx_str_t  raw;

    if ((size_t) (last - p) < sizeof("versionId=") - 1
        || ngx_strncmp(p, "versionId=", sizeof("versionId=") - 1) != 0)
    {
        return NGX_DECLINED;
    }

    raw.data = p + sizeof("versionId=") - 1;
    raw.len = last - raw.data;

    rc = ngx_http_pfs_s3_unescape(pool, &raw, version, 0);
    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_pfs_s3_version_valid(version) ? NGX_OK : NGX_DECLINED;
}


/*
 * x-amz-copy-source-range: "bytes=first-last", both offsets given, first
 * not after last.  With the source's size (size >= 0), the range must also
 * lie within it, as S3 requires.  Sets *start and *length; returns
 * NGX_HTTP_PFS_S3_ERR_NONE or InvalidArgument with the message in *why.
 */

ngx_http_pfs_s3_err_e
ngx_http_pfs_s3_parse_copy_range(ngx_str_t *value, off_t size, off_t *start,
    off_t *length, const char **why)
{
    u_char  *p, *last;
    off_t    first, end;

    *why = NGX_HTTP_PFS_S3_COPY_RANGE_SHAPE;

    p = value->data;
    last = p + value->len;

    if (value->len < sizeof("bytes=") - 1
        || ngx_strncmp(p, "bytes=", sizeof("bytes=") - 1) != 0)
    {
        return NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT;
    }

    p += sizeof("bytes=") - 1;

    if (ngx_http_pfs_s3_copy_range_number(&p, last, &first) != NGX_OK
        || p == last || *p++ != '-'
        || ngx_http_pfs_s3_copy_range_number(&p, last, &end) != NGX_OK
        || p != last
        || end < first)
    {
        return NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT;
    }

    if (size >= 0 && end >= size) {
        *why = "Range specified is not valid for source object";
        return NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT;
    }

    *start = first;
    *length = end - first + 1;
    *why = NULL;

    return NGX_HTTP_PFS_S3_ERR_NONE;
}


static ngx_int_t
ngx_http_pfs_s3_copy_range_number(u_char **pp, u_char *last, off_t *n)
{
    u_char  *p;
    off_t    v, cutoff, cutlim;

    cutoff = NGX_MAX_OFF_T_VALUE / 10;
    cutlim = NGX_MAX_OFF_T_VALUE % 10;

    v = 0;

    for (p = *pp; p < last && *p >= '0' && *p <= '9'; p++) {
        if (v >= cutoff && (v > cutoff || *p - '0' > cutlim)) {
            return NGX_DECLINED;
        }

        v = v * 10 + (*p - '0');
    }

    if (p == *pp) {
        return NGX_DECLINED;
    }

    *pp = p;
    *n = v;

    return NGX_OK;
}
