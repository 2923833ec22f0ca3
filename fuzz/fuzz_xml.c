/*
 * XML: the request documents (ngx_http_pfs_s3_xml_parse: the bodies of
 * CreateBucket and PutBucketVersioning; ngx_http_pfs_s3_xml_parse_delete:
 * DeleteObjects' Delete; ngx_http_pfs_s3_xml_parse_parts:
 * CompleteMultipartUpload) and the error documents written
 * around untrusted text (ngx_http_pfs_s3_send_error with a message and a
 * key taken from the input).
 *
 * Input: a selector byte, then the body.
 *
 * Checks: a document with a DTD is never accepted (no entity expansion,
 * no external entities, whatever the encoding it claims); the answer is
 * OK or DECLINED, never an internal error; every error document written is
 * well-formed XML, whatever bytes it carries.
 */

#include "ngx_fuzz.h"

#include <stdio.h>
#include <stdlib.h>


static const char  *docs[][2] = {
    { "CreateBucketConfiguration", "LocationConstraint" },
    { "VersioningConfiguration", "Status" },
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                       *body, *msg;
    ngx_int_t                     rc;
    ngx_str_t                     value;
    ngx_uint_t                    found, sel, i;
    ngx_http_pfs_s3_xml_part_t   *part;
    ngx_pool_t                   *pool;
    ngx_array_t                   objects, parts;
    ngx_http_request_t           *r;
    ngx_http_pfs_s3_ctx_t        *ctx;
    ngx_http_pfs_s3_loc_conf_t    lcf;
    ngx_http_pfs_s3_main_conf_t   mcf;

    if (size < 1 || size > 64 * 1024) {
        return 0;
    }

    sel = data[0];
    found = 0;

    pool = ngx_create_pool(4096, NULL);
    ngx_fuzz_conf(pool, &lcf, &mcf);
    r = ngx_fuzz_request(pool, &lcf, &mcf);
    r->method = NGX_HTTP_PUT;
    ctx = r->ctx[0];

    if (ngx_array_init(&objects, pool, 4,
                       sizeof(ngx_http_pfs_s3_xml_object_t))
        != NGX_OK)
    {
        return 0;
    }

    if (ngx_array_init(&parts, pool, 4, sizeof(ngx_http_pfs_s3_xml_part_t))
        != NGX_OK)
    {
        return 0;
    }

    /* as read_small_body() leaves it: exactly the body, then a NUL */
    body = ngx_pnalloc(pool, size);
    memcpy(body, data + 1, size - 1);
    body[size - 1] = '\0';

    if (sel & 16) {
        rc = ngx_http_pfs_s3_xml_parse_parts(r, body, size - 1, &parts);

        if (rc == NGX_OK) {
            part = parts.elts;

            for (i = 0; i < parts.nelts; i++) {
                ngx_fuzz_assert(part[i].number.data && part[i].etag.data,
                                "every part kept has a number and an ETag");
            }

            ngx_fuzz_assert(parts.nelts > 0, "a completion names a part");
        }

    } else if (sel & 8) {
        rc = ngx_http_pfs_s3_xml_parse_delete(r, body, size - 1, 4, &objects,
                                              &found);

        ngx_fuzz_assert(objects.nelts <= 5, "at most max + 1 objects kept");

    } else {
        rc = ngx_http_pfs_s3_xml_parse(r, body, size - 1, docs[sel & 1][0],
                                       docs[sel & 1][1], &value, &found);
    }

    ngx_fuzz_assert(rc == NGX_OK || rc == NGX_DECLINED,
                    "a request document is accepted or refused");

    if (rc == NGX_OK) {
        ngx_fuzz_assert(!ngx_strlcasestrn(body, body + size - 1,
                                          (u_char *) "<!DOCTYPE", 9 - 1),
                        "no document with a DTD is accepted");

        if (found && !(sel & 24)) {
            ngx_fuzz_assert(value.data[value.len] == '\0', "value ends");
        }
    }

    /* the same bytes in an error document, as a message and as a key */

    msg = ngx_pnalloc(pool, size);
    memcpy(msg, data + 1, size - 1);
    msg[size - 1] = '\0';

    ctx->has_key = 1;
    ctx->key.data = body;
    ctx->key.len = size - 1;
    ctx->resource = ctx->key;

    rc = ngx_http_pfs_s3_send_error(r, (sel & 2) ? NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY
                                                 : NGX_HTTP_PFS_S3_ERR_INTERNAL,
                                    (sel & 4) ? (const char *) msg : NULL);

    ngx_fuzz_assert(rc == NGX_OK, "an error document can always be written");
    ngx_fuzz_check_xml();

    ngx_destroy_pool(pool);

    return 0;
}
