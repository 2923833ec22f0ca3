/*
 * Request routing, bucket names and keys: ngx_http_pfs_s3_parse_request()
 * on a request as nginx hands it over (raw request target, Host, headers).
 *
 * Input: a method byte, a flags byte, then lines: the request target, the
 * Host header, and "name: value" header lines.
 *
 * Checks: a request the parser lets through names a known operation, and
 * its key is one PFS can store safely (no "." or ".." element, no control
 * byte, at most 1024 bytes of valid UTF-8); a request it answers gets one
 * response whose body is well-formed XML.
 */

#include "ngx_fuzz.h"

#include <stdio.h>
#include <stdlib.h>


static ngx_uint_t  methods[] = {
    NGX_HTTP_GET, NGX_HTTP_HEAD, NGX_HTTP_PUT, NGX_HTTP_POST,
    NGX_HTTP_DELETE, NGX_HTTP_OPTIONS, NGX_HTTP_PATCH, NGX_HTTP_GET
};


static void
check_key(ngx_http_pfs_s3_ctx_t *ctx)
{
    u_char  *p, *last, *elem;
    size_t   n;

    ngx_fuzz_assert(ctx->key.len <= NGX_HTTP_PFS_S3_MAX_KEY_LEN, "key length");
    ngx_fuzz_assert(ctx->path.len == ctx->key.len + 1
                    && ctx->path.data[0] == '/'
                    && memcmp(ctx->path.data + 1, ctx->key.data, ctx->key.len)
                       == 0
                    && ctx->path.data[ctx->path.len] == '\0',
                    "path is / + key");

    if (ngx_http_pfs_s3_check_key(&ctx->key, &(const char *) { NULL })
        != NGX_HTTP_PFS_S3_ERR_NONE)
    {
        /* only reads of keys that cannot exist get this far: not PUT */
        ngx_fuzz_assert(ctx->op != NGX_HTTP_PFS_S3_OP_PUT_OBJECT
                        && ctx->op != NGX_HTTP_PFS_S3_OP_COPY_OBJECT,
                        "an unstorable key reached PutObject or CopyObject");
        return;
    }

    p = ctx->key.data;
    last = p + ctx->key.len;

    for (elem = p; p <= last; p++) {
        if (p < last) {
            ngx_fuzz_assert(*p >= 0x20 && *p < 0x7f, "control byte in a key");
        }

        if (p == last || *p == '/') {
            n = p - elem;
            ngx_fuzz_assert(n > 0, "empty path element");
            ngx_fuzz_assert(!(n == 1 && elem[0] == '.')
                            && !(n == 2 && elem[0] == '.' && elem[1] == '.'),
                            "dot path element");
            elem = p + 1;
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                       *buf;
    ngx_int_t                     rc;
    ngx_str_t                     esc, msg;
    ngx_pool_t                   *pool;
    ngx_http_request_t           *r;
    ngx_http_pfs_s3_ctx_t        *ctx;
    ngx_http_pfs_s3_loc_conf_t    lcf;
    ngx_http_pfs_s3_main_conf_t   mcf;

    if (size < 2) {
        return 0;
    }

    pool = ngx_create_pool(4096, NULL);
    ngx_fuzz_conf(pool, &lcf, &mcf);

    if (data[1] & 1) {
        ngx_str_set(&lcf.base_domain, "s3.test");
    }

    r = ngx_fuzz_request(pool, &lcf, &mcf);
    if (r == NULL) {
        abort();
    }

    r->method = methods[data[0] & 7];
    ctx = r->ctx[0];

    /* a private copy, exactly as long as the input: overreads are seen */

    buf = ngx_pnalloc(pool, size - 2);
    memcpy(buf, data + 2, size - 2);

    if (ngx_fuzz_request_lines(r, buf, size - 2) != NGX_OK) {
        ngx_destroy_pool(pool);
        return 0;
    }

    rc = ngx_http_pfs_s3_parse_request(r, ctx);

    if (rc == NGX_OK) {
        /* an unsupported one too: it is answered 501 once authenticated */
        ngx_fuzz_assert(ctx->op != NGX_HTTP_PFS_S3_OP_NONE
                        && ctx->op_name.len, "an operation is chosen");
        ngx_fuzz_assert(ngx_fuzz_response.sent == 0, "no answer yet");

        if (ctx->has_key) {
            check_key(ctx);

            if (ngx_http_pfs_s3_glob_escape(pool, &ctx->key, &esc) != NGX_OK) {
                abort();
            }
        }

        if (ctx->has_bucket) {
            ngx_fuzz_assert(ctx->bucket.repo.len > 0, "a bucket has a repo");
        }

    } else if (rc == NGX_DECLINED) {
        ngx_fuzz_assert(ngx_fuzz_response.sent == 1, "one answer");
        ngx_fuzz_assert(ctx->rc != NGX_HTTP_INTERNAL_SERVER_ERROR,
                        "bad input is never a 500");
        ngx_fuzz_check_xml();

    } else {
        ngx_fuzz_assert(0, "parse_request answers NGX_OK or NGX_DECLINED");
    }

    /* the same bytes as a PFS error message to classify */

    msg.data = buf;
    msg.len = size - 2;
    (void) ngx_http_pfs_s3_classify(r, &msg);

    ngx_destroy_pool(pool);

    return 0;
}
