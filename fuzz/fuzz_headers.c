/*
 * Values of request headers GetObject acts on (ngx_http_pfs_s3_headers.c):
 * Range, and the entity tag lists of If-Match / If-None-Match.
 *
 * Input: 8 bytes of object size, then the Range value, a newline, and an
 * entity tag list.
 *
 * Checks: a partial answer is a non-empty range inside the object; any
 * other answer leaves the whole object; "*" and the exact ETag, quoted or
 * not, weak or not, always match.
 */

#include "ngx_fuzz.h"

#include <stdio.h>
#include <stdlib.h>


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    off_t        obj, start, length;
    u_char      *buf, *nl;
    ngx_int_t    rc;
    ngx_str_t    range, list, etag;
    uint64_t     v;

    if (size < 8) {
        return 0;
    }

    memcpy(&v, data, 8);
    obj = (off_t) (v & 0x7fffffffffffffffULL);

    if (v & 0x8000000000000000ULL) {
        obj &= 0xffff;              /* small objects too */
    }

    /* a private copy, exactly as long as the input: overreads are seen */
    buf = malloc(size - 8 + 1);
    memcpy(buf, data + 8, size - 8);

    nl = memchr(buf, '\n', size - 8);
    range.data = buf;
    range.len = nl ? (size_t) (nl - buf) : size - 8;

    rc = ngx_http_pfs_s3_parse_range(&range, obj, &start, &length);

    if (rc == NGX_HTTP_PARTIAL_CONTENT) {
        ngx_fuzz_assert(start >= 0 && length >= 1 && start < obj
                        && length <= obj - start, "a range inside the object");

    } else {
        ngx_fuzz_assert(rc == NGX_OK || rc == NGX_HTTP_RANGE_NOT_SATISFIABLE,
                        "a known answer");
        ngx_fuzz_assert(start == 0 && length == obj, "the whole object");
    }

    if (nl) {
        list.data = nl + 1;
        list.len = buf + size - 8 - (nl + 1);
        ngx_str_set(&etag, "\"0123456789abcdef0123456789abcdef\"");
        (void) ngx_http_pfs_s3_etag_match(&list, &etag);

        /* the list itself as the ETag, and the list "*" */
        if (list.len >= 2 && list.data[0] == '"'
            && list.data[list.len - 1] == '"'
            && !memchr(list.data, ',', list.len)
            && !memchr(list.data, ' ', list.len)
            && !memchr(list.data, '\t', list.len)
            && !(list.len >= 2 && list.data[0] == 'W' && list.data[1] == '/'))
        {
            ngx_fuzz_assert(ngx_http_pfs_s3_etag_match(&list, &list),
                            "an ETag matches itself");
        }

        ngx_str_set(&list, "*");
        ngx_fuzz_assert(ngx_http_pfs_s3_etag_match(&list, &etag), "* matches");
    }

    free(buf);

    return 0;
}
