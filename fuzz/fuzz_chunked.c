/*
 * The request body filter: aws-chunked decoding and the body digests
 * (ngx_http_pfs_s3_body.c), driven through nginx's request body filter
 * chain exactly as nginx drives it, with the body cut into pieces.
 *
 * Input: a mode byte (STREAMING-* header, Content-Encoding: aws-chunked,
 * or a plain body; with its high bits, an x-amz-trailer checksum or an
 * x-amz-checksum-crc32 header), a byte that chooses where the body is cut,
 * a line with x-amz-decoded-content-length, then the body.
 *
 * Checks: the outcome (decoded bytes, verdict, MD5) does not depend on how
 * the body was cut, and an accepted aws-chunked body decodes to exactly
 * x-amz-decoded-content-length bytes.
 */

#include "ngx_fuzz.h"

#include <stdio.h>
#include <stdlib.h>


typedef struct {
    u_char                  *out;
    size_t                   out_len;
    ngx_http_pfs_s3_err_e    verdict;
    u_char                   md5[16];
    ngx_uint_t               ok;
} outcome_t;


static outcome_t  *current;


/* nginx's save filter stands here: it takes every byte at once */

static ngx_int_t
save_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_fuzz_take(in, current->out, &current->out_len);

    return NGX_OK;
}


static void
run(const u_char *body, size_t len, uint8_t mode, uint8_t cut,
    ngx_str_t *decoded, outcome_t *o)
{
    size_t                        n, pos;
    ngx_buf_t                    *b;
    ngx_int_t                     rc;
    ngx_pool_t                   *pool;
    ngx_chain_t                   cl;
    const char                   *why;
    ngx_http_request_t           *r;
    ngx_http_pfs_s3_ctx_t        *ctx;
    ngx_http_pfs_s3_err_e         err;
    ngx_http_pfs_s3_loc_conf_t    lcf;
    ngx_http_pfs_s3_main_conf_t   mcf;

    static const char  *trailers[] = {
        "x-amz-checksum-crc32", "x-amz-checksum-crc32c",
        "x-amz-checksum-crc64nvme", "x-amz-checksum-sha256"
    };

    pool = ngx_create_pool(4096, NULL);
    ngx_fuzz_conf(pool, &lcf, &mcf);
    r = ngx_fuzz_request(pool, &lcf, &mcf);
    ctx = r->ctx[0];
    ctx->op = NGX_HTTP_PFS_S3_OP_PUT_OBJECT;

    switch (mode % 3) {
    case 0:
        ngx_fuzz_add_header(r, (u_char *) "x-amz-content-sha256", 20,
                            (u_char *) "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                            34);
        break;
    case 1:
        ngx_fuzz_add_header(r, (u_char *) "Content-Encoding", 16,
                            (u_char *) "aws-chunked", 11);
        break;
    default:
        break;
    }

    if (decoded) {
        ngx_fuzz_add_header(r, (u_char *) "x-amz-decoded-content-length", 28,
                            decoded->data, decoded->len);
    }

    /* checksums: a trailer to find and check, or a header (crc32 of "") */

    if (mode & 0x80) {
        ngx_fuzz_add_header(r, (u_char *) "x-amz-trailer", 13,
                            (u_char *) trailers[(mode >> 4) & 3],
                            strlen(trailers[(mode >> 4) & 3]));

    } else if (mode & 0x40) {
        ngx_fuzz_add_header(r, (u_char *) "x-amz-checksum-crc32", 20,
                            (u_char *) "AAAAAA==", 8);
    }

    memset(o, 0, sizeof(*o));
    o->out = malloc(len + 1);
    current = o;

    err = NGX_HTTP_PFS_S3_ERR_NONE;
    if (ngx_http_pfs_s3_digests_init(r, ctx, &err, &why) != NGX_OK) {
        ngx_fuzz_assert(err != NGX_HTTP_PFS_S3_ERR_NONE, "a reason");
        ngx_destroy_pool(pool);
        return;
    }

    o->ok = 1;
    pos = 0;

    do {
        n = cut ? ngx_min(len - pos, (size_t) (cut * 7 % 61) + 1) : len - pos;

        b = ngx_fuzz_piece(pool, body + pos, n);
        pos += n;
        b->last_buf = (pos == len);

        cl.buf = b;
        cl.next = NULL;

        rc = ngx_http_top_request_body_filter(r, &cl);
        ngx_fuzz_assert(rc == NGX_OK, "the filter takes any body");

        cut = (uint8_t) (cut * 13 + 5);

    } while (pos < len);

    ngx_fuzz_assert(ctx->body_complete, "the last buffer completes the body");

    o->verdict = ctx->digest_failed;
    memcpy(o->md5, ctx->body_md5, 16);

    if (ctx->aws_chunked && o->verdict == NGX_HTTP_PFS_S3_ERR_NONE) {
        ngx_fuzz_assert((off_t) o->out_len == ctx->decoded_length,
                        "decoded length");
    }

    if (!ctx->aws_chunked) {
        ngx_fuzz_assert(o->out_len == len && memcmp(o->out, body, len) == 0,
                        "a plain body passes unchanged");
    }

    ngx_destroy_pool(pool);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char      *nl;
    ngx_str_t    decoded;
    outcome_t    whole, pieces;

    static ngx_uint_t  initialized;

    if (!initialized) {
        ngx_http_top_request_body_filter = save_filter;
        ngx_http_pfs_s3_body_init(NULL);
        initialized = 1;
    }

    if (size < 2) {
        return 0;
    }

    nl = memchr(data + 2, '\n', size - 2);
    if (nl == NULL) {
        return 0;
    }

    decoded.data = (u_char *) data + 2;
    decoded.len = nl - (data + 2);
    nl++;

    run(nl, data + size - nl, data[0], 0, &decoded, &whole);
    run(nl, data + size - nl, data[0], data[1] | 1, &decoded, &pieces);

    ngx_fuzz_assert(whole.ok == pieces.ok, "same headers, same verdict");

    if (whole.ok) {
        ngx_fuzz_assert(whole.verdict == pieces.verdict,
                        "the verdict does not depend on the cuts");
        ngx_fuzz_assert(whole.out_len == pieces.out_len
                        && memcmp(whole.out, pieces.out, whole.out_len) == 0,
                        "the bytes do not depend on the cuts");
        ngx_fuzz_assert(memcmp(whole.md5, pieces.md5, 16) == 0,
                        "the MD5 does not depend on the cuts");
    }

    free(whole.out);
    free(pieces.out);

    return 0;
}
