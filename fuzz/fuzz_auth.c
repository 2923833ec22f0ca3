/*
 * Request signatures: ngx_http_pfs_s3_auth() (Signature V4 and V2 from the
 * Authorization header or a presigned URL's query, canonical request and
 * string to sign, time checks, the error fields of a refusal) on a request
 * as nginx hands it over, after ngx_http_pfs_s3_parse_request() as in the
 * module.  The fixed clock of the runtime is 2013-05-24T00:00:00Z.
 *
 * Input: a method byte, a flags byte (bit 0: virtual hosts under s3.test;
 * bit 1: pachd mode with PFS auth on, where the access key is the token,
 * else static mode with the credential below), then lines: the request
 * target, the Host header, and "name: value" header lines.
 *
 * Checks: an accepted request carries a signature by the known key, and
 * the same request with one character of its signature changed is refused
 * with a 403; a refused one gets one answer, never a 500, whose body is
 * well-formed XML; the canonical request of any input is made of AWS's
 * encoded characters, its query sorted.
 */

#include "ngx_fuzz.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define FUZZ_AUTH_KEY     "AKIAIOSFODNN7EXAMPLE"
#define FUZZ_AUTH_SECRET  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"



static ngx_uint_t  methods[] = {
    NGX_HTTP_GET, NGX_HTTP_HEAD, NGX_HTTP_PUT, NGX_HTTP_POST,
    NGX_HTTP_DELETE, NGX_HTTP_OPTIONS, NGX_HTTP_PATCH, NGX_HTTP_GET
};

static const char  *method_names[] = {
    "GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH", "get"
};


typedef struct {
    ngx_int_t                  rc;
    ngx_uint_t                 status;
    ngx_uint_t                 version;
    u_char                     sig[64];     /* its first bytes */
    size_t                     sig_len;
} fuzz_result_t;


static int
unreserved(u_char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'
           || c == '~';
}


/* AWS's UriEncode() output: unreserved bytes and %XX, uppercase */

static void
check_encoded(u_char *p, size_t n, int slash, const char *what)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (p[i] == '%') {
            ngx_fuzz_assert(i + 2 < n
                            && ((p[i + 1] >= '0' && p[i + 1] <= '9')
                                || (p[i + 1] >= 'A' && p[i + 1] <= 'F'))
                            && ((p[i + 2] >= '0' && p[i + 2] <= '9')
                                || (p[i + 2] >= 'A' && p[i + 2] <= 'F')),
                            what);
            i += 2;
            continue;
        }

        ngx_fuzz_assert(unreserved(p[i]) || (slash && p[i] == '/'), what);
    }
}


/*
 * The canonical request of the request's own parts, whatever they are:
 * "METHOD\nURI\nQUERY\n" and the rest; URI and query encoded, query
 * arguments "name=value" sorted.
 */

static void
check_canonical(ngx_pool_t *pool, ngx_http_request_t *r, ngx_str_t *signed_h,
    ngx_http_pfs_s3_kv_t *hdrs, ngx_uint_t nhdrs)
{
    u_char                   *p, *last, *nl, *amp, *prev, *q;
    size_t                    prev_len, n;
    ngx_str_t                 out;
    ngx_uint_t                presigned;
    ngx_http_pfs_s3_canon_t   in;

    for (presigned = 0; presigned < 2; presigned++) {
        ngx_memzero(&in, sizeof(ngx_http_pfs_s3_canon_t));
        in.method = r->method_name;
        in.path = r->unparsed_uri;

        q = memchr(in.path.data, '?', in.path.len);
        if (q) {
            in.path.len = q - in.path.data;
        }

        in.query = r->args;
        in.headers = hdrs;
        in.nheaders = nhdrs;
        in.signed_headers = *signed_h;
        ngx_str_set(&in.payload_hash, "UNSIGNED-PAYLOAD");
        in.s3 = 1;
        in.presigned = presigned;

        if (ngx_http_pfs_s3_sigv4_canonical(pool, &in, &out) != NGX_OK) {
            abort();
        }

        p = out.data;
        last = p + out.len;

        /* method */
        nl = memchr(p, '\n', last - p);
        ngx_fuzz_assert(nl && (size_t) (nl - p) == in.method.len
                        && memcmp(p, in.method.data, in.method.len) == 0,
                        "canonical: method line");
        p = nl + 1;

        /* URI */
        nl = memchr(p, '\n', last - p);
        ngx_fuzz_assert(nl && nl > p, "canonical: URI line");
        check_encoded(p, nl - p, 1, "canonical: URI encoded");
        p = nl + 1;

        /* query: name=value pairs, sorted */
        nl = memchr(p, '\n', last - p);
        ngx_fuzz_assert(nl != NULL, "canonical: query line");

        prev = NULL;
        prev_len = 0;

        while (p < nl) {
            amp = memchr(p, '&', nl - p);
            if (amp == NULL) {
                amp = nl;
            }

            q = memchr(p, '=', amp - p);
            ngx_fuzz_assert(q != NULL, "canonical: query argument has =");
            check_encoded(p, q - p, 0, "canonical: query name encoded");
            check_encoded(q + 1, amp - q - 1, 0,
                          "canonical: query value encoded");

            if (prev) {
                n = ngx_min(prev_len, (size_t) (q - p));
                ngx_fuzz_assert(memcmp(prev, p, n) < 0
                                || (memcmp(prev, p, n) == 0
                                    && prev_len <= (size_t) (q - p)),
                                "canonical: query sorted by name");
            }

            ngx_fuzz_assert(!presigned || (size_t) (q - p) != 15
                            || memcmp(p, "X-Amz-Signature", 15) != 0,
                            "canonical: presigned query without signature");

            prev = p;
            prev_len = q - p;
            p = (amp < nl) ? amp + 1 : nl;
        }

        ngx_fuzz_assert(out.len >= sizeof("UNSIGNED-PAYLOAD") - 1
                        && memcmp(last - (sizeof("UNSIGNED-PAYLOAD") - 1),
                                  "UNSIGNED-PAYLOAD",
                                  sizeof("UNSIGNED-PAYLOAD") - 1) == 0,
                        "canonical: ends with the payload hash");
    }
}


static void
run(const uint8_t *data, size_t size, fuzz_result_t *res, int check)
{
    u_char                       *buf;
    ngx_int_t                     rc;
    ngx_uint_t                    m;
    ngx_str_t                     signed_h;
    ngx_pool_t                   *pool;
    ngx_array_t                  *creds;
    ngx_http_request_t           *r;
    ngx_http_pfs_s3_kv_t         *kv;
    ngx_http_pfs_s3_ctx_t        *ctx;
    ngx_http_pfs_s3_auth_t       *a;
    ngx_http_pfs_s3_loc_conf_t    lcf;
    ngx_http_pfs_s3_main_conf_t   mcf;
    ngx_http_pfs_s3_auth_state_t  state;
    ngx_http_pfs_s3_cred_t                  *cred;

    ngx_memzero(res, sizeof(fuzz_result_t));
    res->rc = NGX_ABORT;

    pool = ngx_create_pool(4096, NULL);
    ngx_fuzz_conf(pool, &lcf, &mcf);

    if (data[1] & 1) {
        ngx_str_set(&lcf.base_domain, "s3.test");
    }

    if (data[1] & 2) {
        /* pachd mode, PFS known to have auth on: no WhoAmI call */
        lcf.auth = NGX_HTTP_PFS_S3_AUTH_PACHD;
        ngx_memzero(&state, sizeof(state));
        state.known = 1;
        state.active = 1;
        state.checked = ngx_current_msec;
        lcf.auth_state = &state;
        lcf.auth_cache = 60000;

    } else {
        lcf.auth = NGX_HTTP_PFS_S3_AUTH_STATIC;
        creds = ngx_array_create(pool, 1, sizeof(ngx_http_pfs_s3_cred_t));
        cred = ngx_array_push(creds);
        ngx_str_set(&cred->access_key, FUZZ_AUTH_KEY);
        ngx_str_set(&cred->secret, FUZZ_AUTH_SECRET);
        ngx_str_null(&cred->token);
        lcf.credentials = creds;
    }

    r = ngx_fuzz_request(pool, &lcf, &mcf);
    if (r == NULL) {
        abort();
    }

    m = data[0] & 7;
    r->method = methods[m];
    r->method_name.data = (u_char *) method_names[m];
    r->method_name.len = strlen(method_names[m]);
    ctx = r->ctx[0];

    /* a private copy, exactly as long as the input: overreads are seen */

    buf = ngx_pnalloc(pool, size - 2);
    memcpy(buf, data + 2, size - 2);

    if (ngx_fuzz_request_lines(r, buf, size - 2) != NGX_OK) {
        ngx_destroy_pool(pool);
        return;
    }

    rc = ngx_http_pfs_s3_parse_request(r, ctx);

    if (rc != NGX_OK) {
        /* answered before authentication: fuzz_request's business */
        ngx_destroy_pool(pool);
        return;
    }

    rc = ngx_http_pfs_s3_auth(r, ctx);
    a = ctx->auth;

    res->rc = rc;

    if (rc == NGX_OK) {
        ngx_fuzz_assert(ngx_fuzz_response.sent == 0, "no answer yet");
        ngx_fuzz_assert(a && (a->version == 2 || a->version == 4),
                        "accepted with a signature");

        res->version = a->version;
        res->sig_len = ngx_min(a->signature.len, sizeof(res->sig));
        memcpy(res->sig, a->signature.data, res->sig_len);

        ngx_fuzz_assert(a->signature.len > 0, "a signature");

        if (lcf.auth == NGX_HTTP_PFS_S3_AUTH_STATIC) {
            ngx_fuzz_assert(a->access_key.len == sizeof(FUZZ_AUTH_KEY) - 1
                            && memcmp(a->access_key.data, FUZZ_AUTH_KEY,
                                      a->access_key.len) == 0,
                            "accepted for the known key only");
        }

    } else if (rc == NGX_DECLINED) {
        ngx_fuzz_assert(ngx_fuzz_response.sent == 1, "one answer");
        ngx_fuzz_assert(ngx_fuzz_response.status >= 400
                        && ngx_fuzz_response.status < 500,
                        "bad input gets a 4xx, never a 500");
        res->status = ngx_fuzz_response.status;
        ngx_fuzz_check_xml();

    } else {
        ngx_fuzz_assert(0, "auth answers NGX_OK or NGX_DECLINED");
    }

    /* the canonical request of the same parts, signed as the header says */

    if (check && a && a->headers.nelts) {
        ngx_str_set(&signed_h, "host;x-amz-date");

        if (a->version == 4 && a->v4.signed_headers.len) {
            signed_h = a->v4.signed_headers;
        }

        kv = a->headers.elts;
        check_canonical(pool, r, &signed_h, kv, a->headers.nelts);
    }

    ngx_destroy_pool(pool);
}


/*
 * Where the signature is in the input: its leading letters and digits
 * (a query may hold it percent-encoded from the first "+" or "/" on),
 * found exactly once.  0 when not.
 */

static size_t
find_signature(const uint8_t *data, size_t size, fuzz_result_t *res,
    size_t *run)
{
    size_t          n;
    const uint8_t  *at, *next;

    for (n = 0; n < res->sig_len && isalnum(res->sig[n]); n++) { /* void */ }

    if (n < 8) {
        return 0;
    }

    at = memmem(data + 2, size - 2, res->sig, n);
    if (at == NULL) {
        return 0;
    }

    next = memmem(at + 1, data + size - (at + 1), res->sig, n);
    if (next) {
        return 0;
    }

    *run = n;

    return at - data;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t        *copy;
    size_t          at, n;
    fuzz_result_t   res, again;

    if (size < 3) {
        return 0;
    }

    run(data, size, &res, 1);

    if (res.rc != NGX_OK) {
        return 0;
    }

    /* one character of the accepted signature changed: refused */

    at = find_signature(data, size, &res, &n);
    if (at == 0) {
        return 0;
    }

    copy = malloc(size);
    memcpy(copy, data, size);

    at += (size_t) data[1] % n;
    copy[at] = (copy[at] == '0') ? '1' : '0';

    run(copy, size, &again, 0);

    ngx_fuzz_assert(again.rc == NGX_DECLINED && again.status == 403,
                    "a changed signature is refused with 403");

    free(copy);

    return 0;
}
