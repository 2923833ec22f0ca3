/*
 * Values of request headers that select what GetObject answers: Range and
 * entity tag lists (If-Match, If-None-Match).  Pure functions of the
 * header's bytes, so that they can be fuzzed on their own.
 */

#include <ngx_http_pfs_s3.h>


/*
 * The value of a Range header: one byte range ("a-b", "a-", "-n") gives
 * NGX_HTTP_PARTIAL_CONTENT with the range, several ranges or one S3
 * ignores as malformed NGX_OK (the whole object), one that starts past the
 * end NGX_HTTP_RANGE_NOT_SATISFIABLE.
 */

ngx_int_t
ngx_http_pfs_s3_parse_range(ngx_str_t *value, off_t size, off_t *start,
    off_t *length)
{
    u_char      *p, *last;
    off_t        a, b, cutoff, cutlim;
    ngx_uint_t   suffix;

    *start = 0;
    *length = size;

    if (value->len < 7
        || ngx_strncasecmp(value->data, (u_char *) "bytes=", 6) != 0)
    {
        return NGX_OK;
    }

    p = value->data + 6;
    last = value->data + value->len;

    if (ngx_strlchr(p, last, ',')) {
        return NGX_OK;
    }

    cutoff = NGX_MAX_OFF_T_VALUE / 10;
    cutlim = NGX_MAX_OFF_T_VALUE % 10;

    while (p < last && *p == ' ') {
        p++;
    }

    suffix = 0;
    a = 0;
    b = -1;

    if (p < last && *p == '-') {
        suffix = 1;
        p++;

    } else {
        if (p == last || *p < '0' || *p > '9') {
            return NGX_OK;
        }

        while (p < last && *p >= '0' && *p <= '9') {
            if (a >= cutoff && (a > cutoff || *p - '0' > cutlim)) {
                return NGX_OK;
            }

            a = a * 10 + (*p++ - '0');
        }

        while (p < last && *p == ' ') {
            p++;
        }

        if (p == last || *p++ != '-') {
            return NGX_OK;
        }
    }

    while (p < last && *p == ' ') {
        p++;
    }

    if (p < last) {
        if (*p < '0' || *p > '9') {
            return NGX_OK;
        }

        b = 0;

        while (p < last && *p >= '0' && *p <= '9') {
            if (b >= cutoff && (b > cutoff || *p - '0' > cutlim)) {
                return NGX_OK;
            }

            b = b * 10 + (*p++ - '0');
        }

        while (p < last && *p == ' ') {
            p++;
        }

        if (p != last) {
            return NGX_OK;
        }

    } else if (suffix) {
        return NGX_OK;
    }

    if (suffix) {
        /* the last b bytes */

        if (b == 0 || size == 0) {
            return NGX_HTTP_RANGE_NOT_SATISFIABLE;
        }

        a = (b >= size) ? 0 : size - b;
        b = size - 1;

    } else {
        if (b >= 0 && b < a) {
            return NGX_OK;
        }

        if (a >= size) {
            return NGX_HTTP_RANGE_NOT_SATISFIABLE;
        }

        if (b < 0 || b >= size) {
            b = size - 1;
        }
    }

    *start = a;
    *length = b - a + 1;

    return NGX_HTTP_PARTIAL_CONTENT;
}


/* "*", or a comma-separated list of entity tags, quoted or not. */

ngx_uint_t
ngx_http_pfs_s3_etag_match(ngx_str_t *list, ngx_str_t *etag)
{
    u_char  *p, *last, *start, *end;

    p = list->data;
    last = p + list->len;

    while (p < last) {

        while (p < last && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }

        start = p;

        while (p < last && *p != ',') {
            p++;
        }

        end = p;

        while (end > start && (end[-1] == ' ' || end[-1] == '\t')) {
            end--;
        }

        if (end - start >= 2 && start[0] == 'W' && start[1] == '/') {
            start += 2;
        }

        if (end - start == 1 && *start == '*') {
            return 1;
        }

        if ((size_t) (end - start) == etag->len
            && ngx_strncmp(start, etag->data, etag->len) == 0)
        {
            return 1;
        }

        if ((size_t) (end - start) == etag->len - 2
            && ngx_strncmp(start, etag->data + 1, etag->len - 2) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * Conditional requests, in the order RFC 9110 and S3 evaluate them:
 * If-Match, else If-Unmodified-Since (412); If-None-Match, else
 * If-Modified-Since (304).  A NULL value is a header not sent; a date that
 * does not parse is ignored, as S3 does.  GetObject passes If-*, CopyObject
 * its x-amz-copy-source-if-* (and answers 412 for a 304).
 */

ngx_int_t
ngx_http_pfs_s3_preconditions(ngx_str_t *if_match, ngx_str_t *if_unmodified,
    ngx_str_t *if_none_match, ngx_str_t *if_modified, ngx_str_t *etag,
    time_t mtime)
{
    time_t  t;

    if (if_match) {
        if (!ngx_http_pfs_s3_etag_match(if_match, etag)) {
            return NGX_HTTP_PRECONDITION_FAILED;
        }

    } else if (if_unmodified) {
        t = ngx_parse_http_time(if_unmodified->data, if_unmodified->len);

        if (t != NGX_ERROR && mtime > t) {
            return NGX_HTTP_PRECONDITION_FAILED;
        }
    }

    if (if_none_match) {
        if (ngx_http_pfs_s3_etag_match(if_none_match, etag)) {
            return NGX_HTTP_NOT_MODIFIED;
        }

    } else if (if_modified) {
        t = ngx_parse_http_time(if_modified->data, if_modified->len);

        if (t != NGX_ERROR && mtime <= t) {
            return NGX_HTTP_NOT_MODIFIED;
        }
    }

    return NGX_OK;
}
