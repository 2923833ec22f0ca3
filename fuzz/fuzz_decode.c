/*
 * The decoder of PFS answers (ngx_http_pfs_s3_decode.c): gRPC frames of
 * protobuf messages, or GetFile's BytesValue stream passed to the client,
 * arriving in pieces of any size as nginx's grpc upstream hands them over.
 * What a message handler does with PFS's fields is fuzzed too: ETags from
 * FileInfo.hash and dates from timestamps.
 *
 * Input: a mode byte (message type or GetFile; for GetFile whether the
 * read is a range that stops the stream), a byte that chooses where the
 * stream is cut, a range length byte, then the stream.
 *
 * Checks: GetFile never hands the client more bytes than the range asked
 * for, or bytes other than those the stream carried in BytesValue.value;
 * the result does not depend on how the stream was cut.
 */

#include "ngx_fuzz.h"

#include <stdio.h>
#include <stdlib.h>


typedef struct {
    u_char       *out;
    size_t        out_len;
    ngx_uint_t    messages;
    ngx_uint_t    bad;
    ngx_uint_t    cut;
} outcome_t;


static outcome_t  *current;


static ngx_int_t
client(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_fuzz_take(in, current->out, &current->out_len);

    return NGX_OK;
}


static ngx_int_t
on_message(ngx_http_request_t *r, ngx_http_pfs_s3_call_t *call,
    ProtobufCMessage *msg)
{
    u_char                    *p, date[32];
    PfsV2__FileInfo           *fi;
    PfsV2__RepoInfo           *ri;
    PfsV2__CommitInfo         *ci;

    if (msg->descriptor == &pfs_v2__file_info__descriptor) {
        fi = (PfsV2__FileInfo *) msg;

        /* sized as the module sizes it */
        p = ngx_pnalloc(r->pool, 2 * fi->hash.len + 16);
        ngx_fuzz_assert(ngx_http_pfs_s3_etag(p, &fi->hash)
                        <= 2 * fi->hash.len + 16, "ETag fits");

        ngx_fuzz_assert(ngx_http_pfs_s3_iso8601(date, fi->committed) - date
                        <= (ssize_t) sizeof(date), "date fits");

    } else if (msg->descriptor == &pfs_v2__repo_info__descriptor) {
        ri = (PfsV2__RepoInfo *) msg;
        ngx_fuzz_assert(ngx_http_pfs_s3_iso8601(date, ri->created) - date
                        <= (ssize_t) sizeof(date), "date fits");

    } else if (msg->descriptor == &pfs_v2__commit_info__descriptor) {
        ci = (PfsV2__CommitInfo *) msg;
        ngx_fuzz_assert(ngx_http_pfs_s3_iso8601(date, ci->finished) - date
                        <= (ssize_t) sizeof(date), "date fits");
    }

    return NGX_OK;
}


static const ProtobufCMessageDescriptor  *responses[] = {
    &pfs_v2__file_info__descriptor,
    &pfs_v2__repo_info__descriptor,
    &pfs_v2__commit_info__descriptor,
    &pfs_v2__branch_info__descriptor,
    &google__protobuf__empty__descriptor,
    &pfs_v2__file_info__descriptor,
};


static void
run(const uint8_t *stream, size_t len, uint8_t mode, uint8_t cut,
    off_t limit, outcome_t *o)
{
    size_t                        n, pos;
    ngx_buf_t                    *b;
    ngx_pool_t                   *pool;
    ngx_chain_t                   cl;
    ngx_http_request_t           *r, *sr;
    ngx_http_pfs_s3_call_t        call;
    ngx_http_pfs_s3_loc_conf_t    lcf;
    ngx_http_pfs_s3_main_conf_t   mcf;

    pool = ngx_create_pool(4096, NULL);
    ngx_fuzz_conf(pool, &lcf, &mcf);
    lcf.max_message_size = 4096 + (mode >> 4) * 1024;
    r = ngx_fuzz_request(pool, &lcf, &mcf);
    sr = r;

    memset(&call, 0, sizeof(call));
    call.type = NGX_HTTP_PFS_S3_CTX_CALL;
    call.sr = sr;
    call.method = "Fuzz";
    call.grpc_status = -1;
    call.on_message = on_message;
    call.response = responses[mode % 6];

    if (mode % 6 == 5) {
        call.raw = 1;
        call.raw_limit = limit;
        /* a range that ends before the file, or a read to its end */
        call.raw_cut = (limit >= 0) && !(mode & 8);
    }

    memset(o, 0, sizeof(*o));
    o->out = malloc(len + 1);
    current = o;
    ngx_fuzz_body_out = client;

    pos = 0;

    while (pos < len && !call.cut && !call.bad) {
        n = cut ? ngx_min(len - pos, (size_t) (cut % 97) + 1) : len - pos;

        b = ngx_fuzz_piece(pool, stream + pos, n);
        pos += n;

        cl.buf = b;
        cl.next = NULL;

        ngx_fuzz_assert(ngx_http_pfs_s3_decode(sr, &call, &cl) == NGX_OK,
                        "the decoder takes any stream");

        /* consumed unless the client still holds a piece of it */
        ngx_fuzz_assert(b->pos == b->last, "the upstream buffer is free");

        cut = (uint8_t) (cut * 29 + 11);
    }

    o->messages = call.messages;
    o->bad = call.bad;
    o->cut = call.cut;

    if (call.raw) {
        ngx_fuzz_assert(call.raw_limit < 0
                        || (off_t) o->out_len <= call.raw_limit,
                        "no more bytes than the range");
        ngx_fuzz_assert((off_t) o->out_len + call.raw_held == call.raw_sent,
                        "raw_sent");
        ngx_fuzz_assert(!call.raw_held || call.raw_sent == call.raw_limit,
                        "only the last byte is held");
    }

    ngx_destroy_pool(pool);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    off_t      limit;
    outcome_t  whole, pieces;

    if (size < 3) {
        return 0;
    }

    limit = (data[2] == 0xff) ? -1 : (off_t) data[2] * 3;

    run(data + 3, size - 3, data[0], 0, limit, &whole);
    run(data + 3, size - 3, data[0], data[1] | 1, limit, &pieces);

    ngx_fuzz_assert(whole.bad == pieces.bad && whole.cut == pieces.cut
                    && whole.messages == pieces.messages,
                    "the outcome does not depend on the cuts");
    ngx_fuzz_assert(whole.out_len == pieces.out_len
                    && memcmp(whole.out, pieces.out, whole.out_len) == 0,
                    "the client gets the same bytes whatever the cuts");

    free(whole.out);
    free(pieces.out);

    return 0;
}
