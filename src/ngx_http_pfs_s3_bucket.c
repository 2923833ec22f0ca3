/*
 * Bucket names and object keys.
 *
 * A bucket names a PFS branch the way Pachyderm's own S3 gateway does:
 * "[<commit>.]<branch>.<repo>[.<project>]" split on ".", a leading part of
 * 32 lowercase hex characters being a commit id; one part is a repo (default
 * branch and project), two are branch.repo, three branch.repo.project.
 * The shape is checked by a PCRE2 pattern compiled at configuration time.
 */

#include <ngx_http_pfs_s3.h>


#define NGX_HTTP_PFS_S3_BUCKET_CAPTURES  5


/*
 * NGX_DECLINED: not a bucket name; NGX_ABORT: the gateway's own multipart
 * repo, which is no bucket (answered as NoSuchBucket).
 */

ngx_int_t
ngx_http_pfs_s3_parse_bucket(ngx_http_request_t *r, ngx_str_t *name,
    ngx_http_pfs_s3_bucket_t *bucket)
{
    int                           captures[NGX_HTTP_PFS_S3_BUCKET_CAPTURES * 3];
    ngx_int_t                     rc;
    ngx_str_t                     part[NGX_HTTP_PFS_S3_BUCKET_CAPTURES];
    ngx_uint_t                    i, n;
    ngx_http_pfs_s3_loc_conf_t   *plcf;
    ngx_http_pfs_s3_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_pfs_s3_module);
    plcf = ngx_http_get_module_loc_conf(r, ngx_http_pfs_s3_module);

    rc = ngx_regex_exec(mcf->bucket_regex, name, captures,
                        NGX_HTTP_PFS_S3_BUCKET_CAPTURES * 3);

    if (rc == NGX_REGEX_NO_MATCHED) {
        return NGX_DECLINED;
    }

    if (rc < 0) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      ngx_regex_exec_n " failed: %i on \"%V\"", rc, name);
        return NGX_ERROR;
    }

    /* part[1] commit, part[2..4] the dot-separated names */

    n = 0;

    for (i = 1; i < NGX_HTTP_PFS_S3_BUCKET_CAPTURES; i++) {
        if ((ngx_int_t) i >= rc || captures[2 * i] < 0) {
            part[i].len = 0;
            part[i].data = NULL;
            continue;
        }

        part[i].data = name->data + captures[2 * i];
        part[i].len = captures[2 * i + 1] - captures[2 * i];

        if (i >= 2) {
            n++;
        }
    }

    bucket->commit = part[1];
    bucket->project = plcf->project;
    bucket->branch = plcf->branch;

    switch (n) {

    case 1:
        bucket->repo = part[2];
        break;

    case 2:
        bucket->branch = part[2];
        bucket->repo = part[3];
        break;

    default: /* 3 */
        bucket->branch = part[2];
        bucket->repo = part[3];
        bucket->project = part[4];
        break;
    }

    /*
     * The repo that holds in-progress multipart uploads of every bucket is
     * the gateway's own: as a bucket it would let anyone with access to one
     * bucket list, read and overwrite other buckets' parts.
     */

    if (bucket->repo.len == sizeof(NGX_HTTP_PFS_S3_MULTIPART_REPO) - 1
        && ngx_strncmp(bucket->repo.data, NGX_HTTP_PFS_S3_MULTIPART_REPO,
                       bucket->repo.len) == 0)
    {
        return NGX_ABORT;
    }

    return NGX_OK;
}


/*
 * What PFS accepts as a file path: printable ASCII, none of the glob
 * characters, no empty, "." or ".." element.  Anything else is refused by
 * PFS or, worse, silently cleaned into another path.
 */

ngx_http_pfs_s3_err_e
ngx_http_pfs_s3_check_key(ngx_str_t *key, const char **why)
{
    u_char  *p, *last, *elem;

    p = key->data;
    last = p + key->len;

    if (key->len == 0) {
        *why = "the key is empty";
        return NGX_HTTP_PFS_S3_ERR_INVALID_FILE_PATH;
    }

    for (elem = p; p < last; p++) {

        if (*p < 0x20 || *p > 0x7e) {
            *why = "PFS stores only printable ASCII keys";
            return NGX_HTTP_PFS_S3_ERR_INVALID_FILE_PATH;
        }

        switch (*p) {

        case '*': case '?': case '[': case ']': case '{': case '}':
        case '!': case '(': case ')': case '@': case '+': case '^':
            *why = "PFS keys cannot hold the glob characters "
                   "* ? [ ] { } ! ( ) @ + ^";
            return NGX_HTTP_PFS_S3_ERR_INVALID_FILE_PATH;

        case '/':
            if (p == elem) {
                *why = "PFS keys cannot have an empty path element "
                       "(a leading \"/\" or \"//\")";
                return NGX_HTTP_PFS_S3_ERR_INVALID_FILE_PATH;
            }

            if ((p - elem == 1 && elem[0] == '.')
                || (p - elem == 2 && elem[0] == '.' && elem[1] == '.'))
            {
                goto dots;
            }

            elem = p + 1;
            break;

        default:
            break;
        }
    }

    if (elem == last) {
        *why = "PFS keys cannot end with \"/\"";
        return NGX_HTTP_PFS_S3_ERR_INVALID_FILE_PATH;
    }

    if ((last - elem == 1 && elem[0] == '.')
        || (last - elem == 2 && elem[0] == '.' && elem[1] == '.'))
    {
        goto dots;
    }

    return NGX_HTTP_PFS_S3_ERR_NONE;

dots:

    *why = "PFS keys cannot have a \".\" or \"..\" path element";
    return NGX_HTTP_PFS_S3_ERR_INVALID_FILE_PATH;
}


/*
 * 1 when the string can be put in a glob pattern (after
 * ngx_http_pfs_s3_glob_escape()): it holds none of the glob characters
 * a key cannot hold either.
 */

ngx_uint_t
ngx_http_pfs_s3_glob_safe(ngx_str_t *s)
{
    u_char  *p;

    for (p = s->data; p < s->data + s->len; p++) {

        switch (*p) {

        case '*': case '?': case '[': case ']': case '{': case '}':
        case '!': case '(': case ')': case '@': case '+': case '^':
            return 0;

        default:
            if (*p < 0x20 || *p > 0x7e) {
                return 0;
            }
        }
    }

    return 1;
}


/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */

ngx_int_t
ngx_http_pfs_s3_utf8_valid(u_char *p, size_t len)
{
    u_char    *last;
    uint32_t   c, min;
    ngx_uint_t n;

    last = p + len;

    while (p < last) {
        c = *p++;

        if (c < 0x80) {
            continue;
        }

        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            c &= 0x1f;
            min = 0x80;

        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            c &= 0x0f;
            min = 0x800;

        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            c &= 0x07;
            min = 0x10000;

        } else {
            return NGX_ERROR;
        }

        if ((size_t) (last - p) < n) {
            return NGX_ERROR;
        }

        while (n--) {
            if ((*p & 0xc0) != 0x80) {
                return NGX_ERROR;
            }

            c = (c << 6) | (*p++ & 0x3f);
        }

        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * PFS reads GetFile and GlobFile paths as glob patterns, where "\\"
 * escapes the next character; a key may hold "\\", which is escaped so
 * that it stands for itself.
 */

ngx_int_t
ngx_http_pfs_s3_glob_escape(ngx_pool_t *pool, ngx_str_t *src, ngx_str_t *dst)
{
    u_char  *p, *d;
    size_t   n;

    n = 0;

    for (p = src->data; p < src->data + src->len; p++) {
        if (*p == '\\') {
            n++;
        }
    }

    if (n == 0) {
        *dst = *src;
        return NGX_OK;
    }

    d = ngx_pnalloc(pool, src->len + n + 1);
    if (d == NULL) {
        return NGX_ERROR;
    }

    dst->data = d;

    for (p = src->data; p < src->data + src->len; p++) {
        if (*p == '\\') {
            *d++ = '\\';
        }

        *d++ = *p;
    }

    *d = '\0';
    dst->len = d - dst->data;

    return NGX_OK;
}
