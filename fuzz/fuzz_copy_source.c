/*
 * The copy source of CopyObject and UploadPartCopy
 * (ngx_http_pfs_s3_copy_source.c): x-amz-copy-source and
 * x-amz-copy-source-range.
 *
 * Input: a selector byte; for a range, 8 bytes of source size and the
 * header value; for a source, the header value.
 *
 * Checks: an accepted source names a bucket with a repo and a key PFS can
 * hold, its path is "/" + key and NUL-terminated, and its version is empty
 * or a valid commit id; an accepted range is non-empty and, with a size,
 * inside the source.
 */

#include "ngx_fuzz.h"

#include <stdio.h>
#include <stdlib.h>


static void
ngx_fuzz_copy_range(const uint8_t *data, size_t size)
{
    off_t                   obj, start, length;
    u_char                 *buf;
    uint64_t                v;
    ngx_str_t               value;
    const char             *why;
    ngx_http_pfs_s3_err_e   err;

    if (size < 8) {
        return;
    }

    memcpy(&v, data, 8);
    obj = (off_t) (v & 0x7fffffffffffffffULL);

    if (v & 0x8000000000000000ULL) {
        obj = (v & 1) ? -1 : (obj & 0xffff);    /* syntax only; small */
    }

    /* a private copy, exactly as long as the input: overreads are seen */
    buf = malloc(size - 8 + 1);
    memcpy(buf, data + 8, size - 8);
    value.data = buf;
    value.len = size - 8;

    err = ngx_http_pfs_s3_parse_copy_range(&value, obj, &start, &length, &why);

    if (err == NGX_HTTP_PFS_S3_ERR_NONE) {
        ngx_fuzz_assert(start >= 0 && length >= 1, "a non-empty range");
        ngx_fuzz_assert(obj < 0 || (start < obj && length <= obj - start),
                        "a range inside the source");

    } else {
        ngx_fuzz_assert(err == NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT && why,
                        "InvalidArgument with a message");
    }

    free(buf);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                         *buf;
    ngx_str_t                       value;
    ngx_pool_t                     *pool;
    const char                     *why;
    ngx_http_request_t             *r;
    ngx_http_pfs_s3_err_e           err;
    ngx_http_pfs_s3_loc_conf_t      lcf;
    ngx_http_pfs_s3_main_conf_t     mcf;
    ngx_http_pfs_s3_copy_source_t   src;

    if (size < 1 || size > 8 * 1024) {
        return 0;
    }

    if (data[0] & 1) {
        ngx_fuzz_copy_range(data + 1, size - 1);
        return 0;
    }

    pool = ngx_create_pool(4096, NULL);
    ngx_fuzz_conf(pool, &lcf, &mcf);
    r = ngx_fuzz_request(pool, &lcf, &mcf);

    buf = malloc(size);
    memcpy(buf, data + 1, size - 1);
    value.data = buf;
    value.len = size - 1;

    err = ngx_http_pfs_s3_parse_copy_source(r, &value, &src, &why);

    if (err == NGX_HTTP_PFS_S3_ERR_NONE) {
        ngx_fuzz_assert(src.bucket.repo.len > 0, "a bucket has a repo");
        ngx_fuzz_assert(src.key.len > 0
                        && src.key.len <= NGX_HTTP_PFS_S3_MAX_KEY_LEN,
                        "a key of S3's length");
        ngx_fuzz_assert(ngx_http_pfs_s3_check_key(&src.key, &why)
                        == NGX_HTTP_PFS_S3_ERR_NONE, "a key PFS can hold");
        ngx_fuzz_assert(src.path.len == src.key.len + 1
                        && src.path.data[0] == '/'
                        && memcmp(src.path.data + 1, src.key.data,
                                  src.key.len) == 0
                        && src.path.data[src.path.len] == '\0',
                        "path is / + key");
        ngx_fuzz_assert(src.version.len == 0
                        || ngx_http_pfs_s3_version_valid(&src.version),
                        "a version is a commit id");

    } else {
        ngx_fuzz_assert(err != NGX_HTTP_PFS_S3_ERR_INTERNAL,
                        "no internal error");
        ngx_fuzz_assert(why != NULL, "an error has a message");
    }

    free(buf);
    ngx_destroy_pool(pool);

    return 0;
}
