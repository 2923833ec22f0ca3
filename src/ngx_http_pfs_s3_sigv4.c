/*
 * AWS Signature V4 (and the small V2 helpers): parsing of the Authorization
 * header and credential, the canonical request, the strings to sign of a
 * request and of aws-chunked chunks, the signing key and signatures.
 *
 * Everything here is a pure function of its arguments (see the header for
 * why).  HMAC and SHA-256 are OpenSSL's.
 */

#include <ngx_http_pfs_s3_sigv4.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>


#define NGX_HTTP_PFS_S3_V4_ALGORITHM  "AWS4-HMAC-SHA256"

static const char  ngx_http_pfs_s3_empty_sha256[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";


static ngx_int_t ngx_http_pfs_s3_sigv4_field(ngx_str_t *value,
    const char *name, ngx_str_t *out);
static size_t ngx_http_pfs_s3_decode(u_char *dst, u_char *src, size_t len);
static u_char *ngx_http_pfs_s3_encode(u_char *dst, u_char *src, size_t len,
    ngx_uint_t keep_slash);
static u_char *ngx_http_pfs_s3_canon_uri(u_char *p,
    ngx_http_pfs_s3_canon_t *in, ngx_pool_t *pool);
static u_char *ngx_http_pfs_s3_canon_query(u_char *p,
    ngx_http_pfs_s3_canon_t *in, ngx_pool_t *pool);
static u_char *ngx_http_pfs_s3_canon_headers(u_char *p,
    ngx_http_pfs_s3_canon_t *in);
static size_t ngx_http_pfs_s3_canon_headers_len(ngx_http_pfs_s3_canon_t *in);
static u_char *ngx_http_pfs_s3_trimall(u_char *p, ngx_str_t *value);
static int ngx_libc_cdecl ngx_http_pfs_s3_kv_cmp(const void *a,
    const void *b);
static int ngx_libc_cdecl ngx_http_pfs_s3_kv_name_cmp(const void *a,
    const void *b);
static ngx_int_t ngx_http_pfs_s3_hmac(const EVP_MD *md, u_char *key,
    size_t key_len, u_char *data, size_t len, u_char *out);


/*
 * "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request,
 *  SignedHeaders=host;x-amz-date, Signature=<64 hex>"
 */

ngx_int_t
ngx_http_pfs_s3_sigv4_parse_header(ngx_str_t *value,
    ngx_http_pfs_s3_sigv4_t *sig, const char **why)
{
    ngx_str_t   rest, cred;
    ngx_uint_t  i;

    ngx_memzero(sig, sizeof(ngx_http_pfs_s3_sigv4_t));

    if (value->len <= sizeof(NGX_HTTP_PFS_S3_V4_ALGORITHM)
        || ngx_strncmp(value->data, NGX_HTTP_PFS_S3_V4_ALGORITHM,
                       sizeof(NGX_HTTP_PFS_S3_V4_ALGORITHM) - 1) != 0
        || value->data[sizeof(NGX_HTTP_PFS_S3_V4_ALGORITHM) - 1] != ' ')
    {
        *why = "the authorization header must start with AWS4-HMAC-SHA256";
        return NGX_DECLINED;
    }

    rest.data = value->data + sizeof(NGX_HTTP_PFS_S3_V4_ALGORITHM);
    rest.len = value->len - sizeof(NGX_HTTP_PFS_S3_V4_ALGORITHM);

    if (ngx_http_pfs_s3_sigv4_field(&rest, "Credential", &cred) != NGX_OK) {
        *why = "the authorization header has no Credential";
        return NGX_DECLINED;
    }

    if (ngx_http_pfs_s3_sigv4_field(&rest, "SignedHeaders",
                                    &sig->signed_headers)
        != NGX_OK || sig->signed_headers.len == 0)
    {
        *why = "the authorization header has no SignedHeaders";
        return NGX_DECLINED;
    }

    if (ngx_http_pfs_s3_sigv4_field(&rest, "Signature", &sig->signature)
        != NGX_OK)
    {
        *why = "the authorization header has no Signature";
        return NGX_DECLINED;
    }

    if (sig->signature.len != NGX_HTTP_PFS_S3_SHA256_HEX) {
        *why = "the signature must be 64 hexadecimal digits";
        return NGX_DECLINED;
    }

    for (i = 0; i < sig->signature.len; i++) {
        if (!((sig->signature.data[i] >= '0' && sig->signature.data[i] <= '9')
              || (sig->signature.data[i] >= 'a'
                  && sig->signature.data[i] <= 'f')))
        {
            *why = "the signature must be 64 lowercase hexadecimal digits";
            return NGX_DECLINED;
        }
    }

    return ngx_http_pfs_s3_sigv4_parse_credential(&cred, sig, why);
}


/* The value of "name=value" among comma-separated fields. */

static ngx_int_t
ngx_http_pfs_s3_sigv4_field(ngx_str_t *value, const char *name,
    ngx_str_t *out)
{
    u_char  *p, *last, *end;
    size_t   len;

    len = ngx_strlen(name);
    p = value->data;
    last = p + value->len;

    while (p < last) {
        while (p < last && (*p == ' ' || *p == ',')) {
            p++;
        }

        end = ngx_strlchr(p, last, ',');
        if (end == NULL) {
            end = last;
        }

        if ((size_t) (end - p) > len && p[len] == '='
            && ngx_strncmp(p, name, len) == 0)
        {
            out->data = p + len + 1;
            out->len = end - out->data;

            while (out->len && out->data[out->len - 1] == ' ') {
                out->len--;
            }

            return NGX_OK;
        }

        p = end;
    }

    return NGX_DECLINED;
}


/*
 * "AK/YYYYMMDD/region/service/aws4_request".  The scope is the last four
 * parts; the access key is everything before them.
 */

ngx_int_t
ngx_http_pfs_s3_sigv4_parse_credential(ngx_str_t *cred,
    ngx_http_pfs_s3_sigv4_t *sig, const char **why)
{
    u_char      *p, *slash[4];
    ngx_uint_t   n, i;

    n = 0;

    for (p = cred->data + cred->len; p > cred->data && n < 4; /* void */) {
        p--;

        if (*p == '/') {
            slash[n++] = p;
        }
    }

    if (n < 4 || slash[3] == cred->data) {
        *why = "the credential must be <access key>/<date>/<region>/s3/"
               "aws4_request";
        return NGX_DECLINED;
    }

    sig->access_key.data = cred->data;
    sig->access_key.len = slash[3] - cred->data;

    sig->scope.data = slash[3] + 1;
    sig->scope.len = cred->data + cred->len - sig->scope.data;

    sig->date.data = slash[3] + 1;
    sig->date.len = slash[2] - sig->date.data;

    sig->region.data = slash[2] + 1;
    sig->region.len = slash[1] - sig->region.data;

    sig->service.data = slash[1] + 1;
    sig->service.len = slash[0] - sig->service.data;

    if (sig->date.len != 8) {
        *why = "the credential's date must be YYYYMMDD";
        return NGX_DECLINED;
    }

    for (i = 0; i < 8; i++) {
        if (sig->date.data[i] < '0' || sig->date.data[i] > '9') {
            *why = "the credential's date must be YYYYMMDD";
            return NGX_DECLINED;
        }
    }

    if ((size_t) (cred->data + cred->len - slash[0] - 1)
        != sizeof("aws4_request") - 1
        || ngx_strncmp(slash[0] + 1, "aws4_request",
                       sizeof("aws4_request") - 1) != 0)
    {
        *why = "the credential must end with aws4_request";
        return NGX_DECLINED;
    }

    if (sig->region.len == 0 || sig->service.len == 0) {
        *why = "the credential has an empty region or service";
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * The canonical request:
 *
 *   METHOD \n URI \n QUERY \n name:value\n ... \n SIGNED-HEADERS \n HASH
 *
 * S3 encodes the path once and keeps it as it is (a key may hold "//" or
 * "."); other services normalize it and encode it again.
 */

ngx_int_t
ngx_http_pfs_s3_sigv4_canonical(ngx_pool_t *pool, ngx_http_pfs_s3_canon_t *in,
    ngx_str_t *out)
{
    u_char  *p;
    size_t   len;

    len = in->method.len + 1
          + 3 * in->path.len + 4
          + 3 * in->query.len + 2
          + ngx_http_pfs_s3_canon_headers_len(in)
          + 1 + in->signed_headers.len + 1
          + in->payload_hash.len;

    out->data = ngx_pnalloc(pool, len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(out->data, in->method.data, in->method.len);
    *p++ = '\n';

    p = ngx_http_pfs_s3_canon_uri(p, in, pool);
    if (p == NULL) {
        return NGX_ERROR;
    }

    *p++ = '\n';

    p = ngx_http_pfs_s3_canon_query(p, in, pool);
    if (p == NULL) {
        return NGX_ERROR;
    }

    *p++ = '\n';

    p = ngx_http_pfs_s3_canon_headers(p, in);

    *p++ = '\n';
    p = ngx_cpymem(p, in->signed_headers.data, in->signed_headers.len);
    *p++ = '\n';
    p = ngx_cpymem(p, in->payload_hash.data, in->payload_hash.len);

    out->len = p - out->data;

    return NGX_OK;
}


static u_char *
ngx_http_pfs_s3_canon_uri(u_char *p, ngx_http_pfs_s3_canon_t *in,
    ngx_pool_t *pool)
{
    u_char     *buf, *s, *last, *seg, *end, *q;
    size_t      len;
    ngx_uint_t  trailing;

    if (in->path.len == 0) {
        *p++ = '/';
        return p;
    }

    if (in->s3) {
        buf = ngx_pnalloc(pool, in->path.len);
        if (buf == NULL) {
            return NULL;
        }

        len = ngx_http_pfs_s3_decode(buf, in->path.data, in->path.len);

        return ngx_http_pfs_s3_encode(p, buf, len, 1);
    }

    /* RFC 3986 dot segments and empty segments removed */

    buf = ngx_pnalloc(pool, in->path.len + 1);
    if (buf == NULL) {
        return NULL;
    }

    q = buf;
    s = in->path.data;
    last = s + in->path.len;
    trailing = (last[-1] == '/');

    while (s < last) {
        while (s < last && *s == '/') {
            s++;
        }

        seg = s;
        end = ngx_strlchr(s, last, '/');
        if (end == NULL) {
            end = last;
        }

        s = end;

        if (end == seg || (end - seg == 1 && seg[0] == '.')) {
            if (end == last && end - seg == 1) {
                trailing = 1;
            }

            continue;
        }

        if (end - seg == 2 && seg[0] == '.' && seg[1] == '.') {
            while (q > buf && *--q != '/') { /* void */ }

            if (end == last) {
                trailing = 1;
            }

            continue;
        }

        *q++ = '/';
        q = ngx_cpymem(q, seg, end - seg);
    }

    if (q == buf || trailing) {
        *q++ = '/';
    }

    return ngx_http_pfs_s3_encode(p, buf, q - buf, 1);
}


/* Arguments decoded, encoded again, sorted by name then value. */

static u_char *
ngx_http_pfs_s3_canon_query(u_char *p, ngx_http_pfs_s3_canon_t *in,
    ngx_pool_t *pool)
{
    u_char                *buf;
    ngx_uint_t             i, n;
    ngx_array_t            args;
    ngx_http_pfs_s3_kv_t  *kv, arg;

    if (in->query.len == 0) {
        return p;
    }

    if (ngx_array_init(&args, pool, 8, sizeof(ngx_http_pfs_s3_kv_t))
        != NGX_OK)
    {
        return NULL;
    }

    if (ngx_http_pfs_s3_split_query(pool, &in->query, &args) != NGX_OK) {
        return NULL;
    }

    kv = args.elts;
    n = 0;

    for (i = 0; i < args.nelts; i++) {
        if (in->presigned && kv[i].name.len == sizeof("X-Amz-Signature") - 1
            && ngx_strncmp(kv[i].name.data, "X-Amz-Signature",
                           kv[i].name.len) == 0)
        {
            continue;
        }

        arg = kv[i];

        buf = ngx_pnalloc(pool, 3 * arg.name.len + 1 + 3 * arg.value.len);
        if (buf == NULL) {
            return NULL;
        }

        kv[n].name.data = buf;
        buf = ngx_http_pfs_s3_encode(buf, arg.name.data, arg.name.len, 0);
        kv[n].name.len = buf - kv[n].name.data;

        kv[n].value.data = buf;
        buf = ngx_http_pfs_s3_encode(buf, arg.value.data, arg.value.len, 0);
        kv[n].value.len = buf - kv[n].value.data;

        n++;
    }

    ngx_qsort(kv, n, sizeof(ngx_http_pfs_s3_kv_t), ngx_http_pfs_s3_kv_cmp);

    for (i = 0; i < n; i++) {
        if (i) {
            *p++ = '&';
        }

        p = ngx_cpymem(p, kv[i].name.data, kv[i].name.len);
        *p++ = '=';
        p = ngx_cpymem(p, kv[i].value.data, kv[i].value.len);
    }

    return p;
}


/*
 * "name:value\n" for each signed header, in the order SignedHeaders gives;
 * values of repeated headers joined with ",", spaces trimmed and runs of
 * spaces made one.
 */

static u_char *
ngx_http_pfs_s3_canon_headers(u_char *p, ngx_http_pfs_s3_canon_t *in)
{
    u_char      *s, *last, *end;
    size_t       len;
    ngx_uint_t   i, found;

    s = in->signed_headers.data;
    last = s + in->signed_headers.len;

    while (s < last) {
        end = ngx_strlchr(s, last, ';');
        if (end == NULL) {
            end = last;
        }

        len = end - s;

        p = ngx_cpymem(p, s, len);
        *p++ = ':';

        found = 0;

        for (i = 0; i < in->nheaders; i++) {
            if (in->headers[i].name.len == len
                && ngx_strncasecmp(in->headers[i].name.data, s, len) == 0)
            {
                if (found++) {
                    *p++ = ',';
                }

                p = ngx_http_pfs_s3_trimall(p, &in->headers[i].value);
            }
        }

        *p++ = '\n';
        s = end + 1;
    }

    return p;
}


/*
 * What canon_headers() writes: "name:" and "\n" for each name of
 * SignedHeaders, even an empty one (";;;" is three), and the values of the
 * headers of that name with a "," each; a name may be signed twice.
 */

static size_t
ngx_http_pfs_s3_canon_headers_len(ngx_http_pfs_s3_canon_t *in)
{
    u_char      *s, *last, *end;
    size_t       len, n;
    ngx_uint_t   i;

    len = 0;
    s = in->signed_headers.data;
    last = s + in->signed_headers.len;

    while (s < last) {
        end = ngx_strlchr(s, last, ';');
        if (end == NULL) {
            end = last;
        }

        n = end - s;
        len += n + 2;

        for (i = 0; i < in->nheaders; i++) {
            if (in->headers[i].name.len == n
                && ngx_strncasecmp(in->headers[i].name.data, s, n) == 0)
            {
                len += in->headers[i].value.len + 1;
            }
        }

        s = end + 1;
    }

    return len;
}


static u_char *
ngx_http_pfs_s3_trimall(u_char *p, ngx_str_t *value)
{
    u_char      *s, *last;
    ngx_uint_t   space;

    s = value->data;
    last = s + value->len;

    while (s < last && (*s == ' ' || *s == '\t')) {
        s++;
    }

    while (last > s && (last[-1] == ' ' || last[-1] == '\t')) {
        last--;
    }

    space = 0;

    for ( /* void */ ; s < last; s++) {
        if (*s == ' ' || *s == '\t') {
            space = 1;
            continue;
        }

        if (space) {
            *p++ = ' ';
            space = 0;
        }

        *p++ = *s;
    }

    return p;
}


/* Query arguments, percent-decoded ("+" stays "+"), in order. */

ngx_int_t
ngx_http_pfs_s3_split_query(ngx_pool_t *pool, ngx_str_t *query,
    ngx_array_t *args)
{
    u_char                *p, *last, *amp, *eq, *buf;
    ngx_http_pfs_s3_kv_t  *kv;

    if (query->len == 0) {
        /* nginx leaves r->args NULL without a query: no NULL + 0 */
        return NGX_OK;
    }

    p = query->data;
    last = p + query->len;

    while (p < last) {
        amp = ngx_strlchr(p, last, '&');
        if (amp == NULL) {
            amp = last;
        }

        if (amp == p) {
            p++;
            continue;
        }

        eq = ngx_strlchr(p, amp, '=');
        if (eq == NULL) {
            eq = amp;
        }

        kv = ngx_array_push(args);
        if (kv == NULL) {
            return NGX_ERROR;
        }

        buf = ngx_pnalloc(pool, amp - p + 1);
        if (buf == NULL) {
            return NGX_ERROR;
        }

        kv->name.data = buf;
        kv->name.len = ngx_http_pfs_s3_decode(buf, p, eq - p);

        kv->value.data = buf + kv->name.len;
        kv->value.len = (eq < amp)
                        ? ngx_http_pfs_s3_decode(kv->value.data, eq + 1,
                                                 amp - eq - 1)
                        : 0;

        p = amp + 1;
    }

    return NGX_OK;
}


/* %XX decoded; a "%" not followed by two hex digits stays as it is */

static size_t
ngx_http_pfs_s3_decode(u_char *dst, u_char *src, size_t len)
{
    u_char  *d, *last, h, l;

    d = dst;
    last = src + len;

    while (src < last) {
        if (*src == '%' && last - src >= 3) {
            h = (u_char) (src[1] | 0x20);
            l = (u_char) (src[2] | 0x20);

            h = (h >= '0' && h <= '9') ? h - '0'
                : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : 0xff;
            l = (l >= '0' && l <= '9') ? l - '0'
                : (l >= 'a' && l <= 'f') ? l - 'a' + 10 : 0xff;

            if (h != 0xff && l != 0xff) {
                *d++ = (u_char) ((h << 4) | l);
                src += 3;
                continue;
            }
        }

        *d++ = *src++;
    }

    return d - dst;
}


/* AWS's UriEncode(): unreserved characters kept, the rest %XX uppercase */

static u_char *
ngx_http_pfs_s3_encode(u_char *dst, u_char *src, size_t len,
    ngx_uint_t keep_slash)
{
    u_char         c;
    static u_char  hex[] = "0123456789ABCDEF";

    while (len--) {
        c = *src++;

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'
            || c == '~' || (c == '/' && keep_slash))
        {
            *dst++ = c;
            continue;
        }

        *dst++ = '%';
        *dst++ = hex[c >> 4];
        *dst++ = hex[c & 0xf];
    }

    return dst;
}


static int ngx_libc_cdecl
ngx_http_pfs_s3_kv_cmp(const void *a, const void *b)
{
    int                          rc;
    size_t                       n;
    const ngx_http_pfs_s3_kv_t  *x = a, *y = b;

    rc = ngx_http_pfs_s3_kv_name_cmp(a, b);
    if (rc) {
        return rc;
    }

    n = ngx_min(x->value.len, y->value.len);
    rc = ngx_memcmp(x->value.data, y->value.data, n);

    if (rc) {
        return rc;
    }

    return (x->value.len > y->value.len) - (x->value.len < y->value.len);
}


static int ngx_libc_cdecl
ngx_http_pfs_s3_kv_name_cmp(const void *a, const void *b)
{
    int                          rc;
    size_t                       n;
    const ngx_http_pfs_s3_kv_t  *x = a, *y = b;

    n = ngx_min(x->name.len, y->name.len);
    rc = ngx_memcmp(x->name.data, y->name.data, n);

    if (rc) {
        return rc;
    }

    return (x->name.len > y->name.len) - (x->name.len < y->name.len);
}


/* "AWS4-HMAC-SHA256\n<date>\n<scope>\n<hex SHA-256 of the canonical>" */

ngx_int_t
ngx_http_pfs_s3_sigv4_string_to_sign(ngx_pool_t *pool, ngx_str_t *amz_date,
    ngx_str_t *scope, ngx_str_t *canonical, ngx_str_t *out)
{
    u_char  *p;

    out->len = sizeof(NGX_HTTP_PFS_S3_V4_ALGORITHM) + amz_date->len + 1
               + scope->len + 1 + NGX_HTTP_PFS_S3_SHA256_HEX;

    out->data = ngx_pnalloc(pool, out->len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(out->data, NGX_HTTP_PFS_S3_V4_ALGORITHM "\n",
                   sizeof(NGX_HTTP_PFS_S3_V4_ALGORITHM));
    p = ngx_cpymem(p, amz_date->data, amz_date->len);
    *p++ = '\n';
    p = ngx_cpymem(p, scope->data, scope->len);
    *p++ = '\n';

    return ngx_http_pfs_s3_sha256_hex(canonical->data, canonical->len, p);
}


/*
 * The string to sign of an aws-chunked chunk (chained from the previous
 * signature, the first from the request's own) or of the trailer, written
 * into "buf" (NGX_HTTP_PFS_S3_CHUNK_STS bytes; the scope must be shorter
 * than 256).  "hash" is the hex SHA-256 of the chunk data or of the
 * trailer lines.  No allocation: it runs for every chunk of a body.
 */

size_t
ngx_http_pfs_s3_sigv4_chunk_string(u_char *buf, ngx_str_t *amz_date,
    ngx_str_t *scope, u_char *prev, u_char *hash, ngx_uint_t trailer)
{
    u_char  *p;

    if (trailer) {
        p = ngx_cpymem(buf, "AWS4-HMAC-SHA256-TRAILER\n",
                       sizeof("AWS4-HMAC-SHA256-TRAILER\n") - 1);

    } else {
        p = ngx_cpymem(buf, "AWS4-HMAC-SHA256-PAYLOAD\n",
                       sizeof("AWS4-HMAC-SHA256-PAYLOAD\n") - 1);
    }

    p = ngx_cpymem(p, amz_date->data, ngx_min(amz_date->len, 16));
    *p++ = '\n';
    p = ngx_cpymem(p, scope->data, ngx_min(scope->len, 255));
    *p++ = '\n';
    p = ngx_cpymem(p, prev, NGX_HTTP_PFS_S3_SHA256_HEX);
    *p++ = '\n';

    if (!trailer) {
        p = ngx_cpymem(p, ngx_http_pfs_s3_empty_sha256,
                       NGX_HTTP_PFS_S3_SHA256_HEX);
        *p++ = '\n';
    }

    p = ngx_cpymem(p, hash, NGX_HTTP_PFS_S3_SHA256_HEX);

    return p - buf;
}


/* The signing key: HMAC chain over date, region, service, "aws4_request". */

ngx_int_t
ngx_http_pfs_s3_sigv4_key(ngx_str_t *secret, ngx_http_pfs_s3_sigv4_t *sig,
    u_char *key)
{
    u_char      *k;
    ngx_int_t    rc;

    k = OPENSSL_malloc(secret->len + 4);
    if (k == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(k, "AWS4", 4);
    ngx_memcpy(k + 4, secret->data, secret->len);

    rc = ngx_http_pfs_s3_hmac(EVP_sha256(), k, secret->len + 4,
                              sig->date.data, sig->date.len, key);

    OPENSSL_clear_free(k, secret->len + 4);

    if (rc != NGX_OK
        || ngx_http_pfs_s3_hmac(EVP_sha256(), key, 32, sig->region.data,
                                sig->region.len, key) != NGX_OK
        || ngx_http_pfs_s3_hmac(EVP_sha256(), key, 32, sig->service.data,
                                sig->service.len, key) != NGX_OK
        || ngx_http_pfs_s3_hmac(EVP_sha256(), key, 32,
                                (u_char *) "aws4_request",
                                sizeof("aws4_request") - 1, key) != NGX_OK)
    {
        OPENSSL_cleanse(key, 32);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* hex (64 digits) of HMAC-SHA256(key, string to sign) */

ngx_int_t
ngx_http_pfs_s3_sigv4_sign(u_char *key, ngx_str_t *sts, u_char *hex)
{
    u_char  mac[32];

    if (ngx_http_pfs_s3_hmac(EVP_sha256(), key, 32, sts->data, sts->len, mac)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_pfs_s3_hex(hex, mac, 32);

    return NGX_OK;
}


static ngx_int_t
ngx_http_pfs_s3_hmac(const EVP_MD *md, u_char *key, size_t key_len,
    u_char *data, size_t len, u_char *out)
{
    u_char        tmp[EVP_MAX_MD_SIZE];
    unsigned int  n;

    /* HMAC() may be given out == key: compute aside, then copy */

    if (HMAC(md, key, (int) key_len, data, len, tmp, &n) == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(out, tmp, n);
    OPENSSL_cleanse(tmp, sizeof(tmp));

    return NGX_OK;
}


ngx_int_t
ngx_http_pfs_s3_sha256_hex(u_char *data, size_t len, u_char *hex)
{
    u_char  md[SHA256_DIGEST_LENGTH];

    if (EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL) != 1) {
        return NGX_ERROR;
    }

    ngx_http_pfs_s3_hex(hex, md, SHA256_DIGEST_LENGTH);

    return NGX_OK;
}


u_char *
ngx_http_pfs_s3_hex(u_char *dst, u_char *src, size_t len)
{
    static u_char  hex[] = "0123456789abcdef";

    while (len--) {
        *dst++ = hex[*src >> 4];
        *dst++ = hex[*src++ & 0xf];
    }

    return dst;
}


/* Constant time: how much of a signature matches must not show. */

ngx_int_t
ngx_http_pfs_s3_sig_equal(ngx_str_t *got, u_char *want, size_t len)
{
    if (got->len != len) {
        return 0;
    }

    return CRYPTO_memcmp(got->data, want, len) == 0;
}


/* ---------------------------------------------------------------- V2 */

/* The sub-resources that are part of a V2 canonical resource. */

static const char  *ngx_http_pfs_s3_v2_subresources[] = {
    "accelerate", "acl", "analytics", "cors", "delete", "inventory",
    "lifecycle", "location", "logging", "metrics", "notification",
    "object-lock", "partNumber", "policy", "replication", "requestPayment",
    "response-cache-control", "response-content-disposition",
    "response-content-encoding", "response-content-language",
    "response-content-type", "response-expires", "restore", "select",
    "select-type", "tagging", "torrent", "uploadId", "uploads", "versionId",
    "versioning", "versions", "website",
    NULL
};


/*
 * METHOD \n Content-MD5 \n Content-Type \n Date \n
 * x-amz-name:value\n ... /bucket/key[?sub-resources]
 */

ngx_int_t
ngx_http_pfs_s3_sigv2_string_to_sign(ngx_pool_t *pool,
    ngx_http_pfs_s3_v2_input_t *in, ngx_str_t *out)
{
    u_char                *p;
    size_t                 len;
    ngx_uint_t             i, j, n, na;
    const char           **sub;
    ngx_http_pfs_s3_kv_t  *amz, *args;

    len = in->method.len + in->content_md5.len + in->content_type.len
          + in->date.len + 4 + in->resource.len + 1;

    amz = ngx_palloc(pool, (in->nheaders + 1) * sizeof(ngx_http_pfs_s3_kv_t));
    args = ngx_palloc(pool, (in->nargs + 1) * sizeof(ngx_http_pfs_s3_kv_t));
    if (amz == NULL || args == NULL) {
        return NGX_ERROR;
    }

    n = 0;

    for (i = 0; i < in->nheaders; i++) {
        if (in->headers[i].name.len > 6
            && ngx_strncasecmp(in->headers[i].name.data,
                               (u_char *) "x-amz-", 6) == 0)
        {
            amz[n++] = in->headers[i];
            len += in->headers[i].name.len + in->headers[i].value.len + 2;
        }
    }

    na = 0;

    for (i = 0; i < in->nargs; i++) {
        for (sub = ngx_http_pfs_s3_v2_subresources; *sub; sub++) {
            if (in->args[i].name.len == ngx_strlen(*sub)
                && ngx_strncmp(in->args[i].name.data, *sub,
                               in->args[i].name.len) == 0)
            {
                args[na++] = in->args[i];
                len += in->args[i].name.len + in->args[i].value.len + 2;
                break;
            }
        }
    }

    /* stable sorts: repeated names keep the order they came in */

    for (i = 1; i < n; i++) {
        for (j = i; j > 0 && ngx_http_pfs_s3_kv_name_cmp(&amz[j - 1], &amz[j])
                             > 0; j--)
        {
            amz[n] = amz[j];
            amz[j] = amz[j - 1];
            amz[j - 1] = amz[n];
        }
    }

    for (i = 1; i < na; i++) {
        for (j = i; j > 0 && ngx_http_pfs_s3_kv_name_cmp(&args[j - 1],
                                                         &args[j]) > 0; j--)
        {
            args[na] = args[j];
            args[j] = args[j - 1];
            args[j - 1] = args[na];
        }
    }

    out->data = ngx_pnalloc(pool, len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(out->data, in->method.data, in->method.len);
    *p++ = '\n';
    p = ngx_cpymem(p, in->content_md5.data, in->content_md5.len);
    *p++ = '\n';
    p = ngx_cpymem(p, in->content_type.data, in->content_type.len);
    *p++ = '\n';
    p = ngx_cpymem(p, in->date.data, in->date.len);
    *p++ = '\n';

    for (i = 0; i < n; i++) {
        if (i && amz[i].name.len == amz[i - 1].name.len
            && ngx_strncasecmp(amz[i].name.data, amz[i - 1].name.data,
                               amz[i].name.len) == 0)
        {
            p[-1] = ',';

        } else {
            p = ngx_cpymem(p, amz[i].name.data, amz[i].name.len);
            *p++ = ':';
        }

        p = ngx_http_pfs_s3_trimall(p, &amz[i].value);
        *p++ = '\n';
    }

    p = ngx_cpymem(p, in->resource.data, in->resource.len);

    for (i = 0; i < na; i++) {
        *p++ = i ? '&' : '?';
        p = ngx_cpymem(p, args[i].name.data, args[i].name.len);

        if (args[i].value.len) {
            *p++ = '=';
            p = ngx_cpymem(p, args[i].value.data, args[i].value.len);
        }
    }

    out->len = p - out->data;

    return NGX_OK;
}


/* base64 of HMAC-SHA1(secret, string to sign) */

ngx_int_t
ngx_http_pfs_s3_sigv2_sign(ngx_str_t *secret, ngx_str_t *sts, ngx_str_t *b64)
{
    u_char  mac[EVP_MAX_MD_SIZE];

    if (ngx_http_pfs_s3_hmac(EVP_sha1(), secret->data, secret->len,
                             sts->data, sts->len, mac)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* b64->data holds at least 29 bytes: 28 digits and a NUL */

    b64->len = EVP_EncodeBlock(b64->data, mac, 20);

    return NGX_OK;
}
