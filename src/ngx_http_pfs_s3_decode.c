/*
 * Incremental decoding of a PFS call's answer, as nginx's grpc upstream
 * hands over the bytes of its DATA frames (in pieces of any size).
 *
 * Ordinary answers are cut into gRPC messages, each unpacked by protobuf-c
 * and given to the call's message handler, then freed: a stream of any
 * length uses the memory of its largest message.
 *
 * GetFile answers (call->raw) are not unpacked: the bytes of each
 * BytesValue go to the client as buffers that point into the upstream's
 * buffer (no copy).  The upstream buffer holding them is only released when
 * the client connection has taken them, so nginx stops reading from PFS
 * while the client is slow and memory stays bounded by grpc_buffer_size.
 */

#include <ngx_http_pfs_s3.h>


static ngx_int_t ngx_http_pfs_s3_decode_buf(ngx_http_request_t *sr,
    ngx_http_pfs_s3_call_t *call, ngx_buf_t *b, ngx_chain_t ***ll,
    ngx_buf_t **last);
static ngx_int_t ngx_http_pfs_s3_frame_header(ngx_http_request_t *sr,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_deliver(ngx_http_request_t *sr,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_raw_field(ngx_http_request_t *sr,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_raw_bytes(ngx_http_request_t *sr,
    ngx_http_pfs_s3_call_t *call, u_char *p, size_t n, ngx_chain_t ***ll,
    ngx_buf_t **last);
static void ngx_http_pfs_s3_release(ngx_http_pfs_s3_decoder_t *dec,
    ngx_chain_t *out);
static void ngx_http_pfs_s3_stop(ngx_http_request_t *sr,
    ngx_http_pfs_s3_call_t *call);


ngx_int_t
ngx_http_pfs_s3_decode(ngx_http_request_t *sr, ngx_http_pfs_s3_call_t *call,
    ngx_chain_t *in)
{
    ngx_int_t     rc;
    ngx_buf_t    *b, *last;
    ngx_chain_t  *cl, *out, **ll;

    out = NULL;
    ll = &out;

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;
        last = NULL;

        if (!call->cut && !call->bad && ngx_buf_in_memory(b)
            && b->last > b->pos)
        {
            rc = ngx_http_pfs_s3_decode_buf(sr, call, b, &ll, &last);

            if (rc == NGX_DONE) {
                call->cut = 1;

            } else if (rc != NGX_OK) {
                call->bad = 1;
            }
        }

        if (last) {
            /* b is released when the client has taken the last piece */
            last->shadow = b;

        } else {
            b->pos = b->last;
        }
    }

    rc = NGX_OK;

    if (call->raw) {
        if (out) {
            for (cl = out; cl->next; cl = cl->next) { /* void */ }
            cl->buf->flush = 1;
        }

        rc = ngx_http_pfs_s3_next_body_filter(sr, out);

        ngx_http_pfs_s3_release(&call->dec, out);
    }

    if (call->cut || call->bad) {
        ngx_http_pfs_s3_stop(sr, call);
    }

    return rc;
}


/*
 * Ends the call early, when the rest of the answer is not wanted (a Range
 * read is complete, a listing page is full) or cannot be used.
 *
 * Returning NGX_ERROR from this filter would do it too, but
 * ngx_http_output_filter() then marks the client connection as broken.
 * Instead the upstream is told that the response is complete
 * (u->length = 0) and that every buffer of it is consumed: nginx's upstream
 * then finalizes the call normally before reading again, and since the gRPC
 * stream did not end, closes the connection, which is what tells PFS to
 * stop.  Buffers already handed to the client stay valid: the upstream's
 * buffer belongs to the request pool and nothing reads into it any more.
 */

static void
ngx_http_pfs_s3_stop(ngx_http_request_t *sr, ngx_http_pfs_s3_call_t *call)
{
    ngx_chain_t  *cl;

    if (sr->upstream) {
        sr->upstream->length = 0;
    }

    for (cl = call->dec.busy; cl; cl = cl->next) {
        if (cl->buf->shadow) {
            cl->buf->shadow->pos = cl->buf->shadow->last;
            cl->buf->shadow = NULL;
        }
    }
}


/*
 * Our buffers the client has taken go back to the free list, and the
 * upstream buffers they pointed into are marked as consumed, which lets
 * nginx's upstream reuse its buffer and read from PFS again.
 */

static void
ngx_http_pfs_s3_release(ngx_http_pfs_s3_decoder_t *dec, ngx_chain_t *out)
{
    ngx_chain_t  *cl, **ll;

    for (ll = &dec->busy; *ll; ll = &(*ll)->next) { /* void */ }

    *ll = out;

    while (dec->busy) {
        cl = dec->busy;

        if (ngx_buf_size(cl->buf) != 0) {
            break;
        }

        if (cl->buf->shadow) {
            cl->buf->shadow->pos = cl->buf->shadow->last;
            cl->buf->shadow = NULL;
        }

        dec->busy = cl->next;
        cl->next = dec->free;
        dec->free = cl;
    }
}


static ngx_int_t
ngx_http_pfs_s3_decode_buf(ngx_http_request_t *sr,
    ngx_http_pfs_s3_call_t *call, ngx_buf_t *b, ngx_chain_t ***ll,
    ngx_buf_t **last)
{
    u_char                     *p, *end;
    size_t                      n;
    ngx_int_t                   rc;
    ngx_http_pfs_s3_decoder_t  *dec;

    dec = &call->dec;

    p = b->pos;
    end = b->last;

    while (p < end) {

        switch (dec->state) {

        case ngx_http_pfs_s3_dec_header:
            n = ngx_min((size_t) (end - p), 5 - dec->header_len);
            ngx_memcpy(dec->header + dec->header_len, p, n);
            dec->header_len += n;
            p += n;

            if (dec->header_len < 5) {
                break;
            }

            rc = ngx_http_pfs_s3_frame_header(sr, call);
            if (rc != NGX_OK) {
                return rc;
            }

            break;

        case ngx_http_pfs_s3_dec_message:
            n = ngx_min((size_t) (end - p), dec->frame_rest);
            ngx_memcpy(dec->msg + dec->msg_len, p, n);
            dec->msg_len += n;
            dec->frame_rest -= n;
            p += n;

            if (dec->frame_rest) {
                break;
            }

            dec->state = ngx_http_pfs_s3_dec_header;

            rc = ngx_http_pfs_s3_deliver(sr, call);
            if (rc != NGX_OK) {
                return rc;
            }

            break;

        case ngx_http_pfs_s3_dec_raw_tag:
        case ngx_http_pfs_s3_dec_raw_len:
        case ngx_http_pfs_s3_dec_raw_varint:

            if (dec->frame_rest == 0 || dec->shift > 63) {
                goto invalid;
            }

            dec->varint |= (uint64_t) (*p & 0x7f) << dec->shift;
            dec->shift += 7;
            dec->frame_rest--;

            if (*p++ & 0x80) {
                break;
            }

            rc = ngx_http_pfs_s3_raw_field(sr, call);
            if (rc != NGX_OK) {
                return rc;
            }

            break;

        case ngx_http_pfs_s3_dec_raw_value:
        case ngx_http_pfs_s3_dec_raw_skip:
            n = ngx_min((uint64_t) (end - p), dec->field_rest);

            if (dec->state == ngx_http_pfs_s3_dec_raw_value) {
                rc = ngx_http_pfs_s3_raw_bytes(sr, call, p, n, ll, last);
                if (rc != NGX_OK) {
                    return rc;
                }
            }

            p += n;
            dec->field_rest -= n;
            dec->frame_rest -= n;

            if (dec->field_rest == 0) {
                dec->state = dec->frame_rest ? ngx_http_pfs_s3_dec_raw_tag
                                             : ngx_http_pfs_s3_dec_header;
                dec->varint = 0;
                dec->shift = 0;
            }

            break;

        default:
            goto invalid;
        }
    }

    return NGX_OK;

invalid:

    ngx_log_error(NGX_LOG_ERR, sr->connection->log, 0,
                  "pfs_s3: malformed answer to %s", call->method);

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_pfs_s3_frame_header(ngx_http_request_t *sr,
    ngx_http_pfs_s3_call_t *call)
{
    size_t                       len, size;
    u_char                      *msg;
    ngx_http_pfs_s3_decoder_t   *dec;
    ngx_http_pfs_s3_loc_conf_t  *plcf;

    dec = &call->dec;
    dec->header_len = 0;

    if (dec->header[0] != 0) {
        ngx_log_error(NGX_LOG_ERR, sr->connection->log, 0,
                      "pfs_s3: compressed answer to %s (flag %d): PFS must "
                      "not compress", call->method, dec->header[0]);
        return NGX_ERROR;
    }

    len = ((size_t) dec->header[1] << 24) | ((size_t) dec->header[2] << 16)
          | ((size_t) dec->header[3] << 8) | (size_t) dec->header[4];

    dec->frame_rest = len;

    if (call->raw) {
        dec->state = len ? ngx_http_pfs_s3_dec_raw_tag
                         : ngx_http_pfs_s3_dec_header;
        dec->varint = 0;
        dec->shift = 0;
        return NGX_OK;
    }

    plcf = ngx_http_get_module_loc_conf(sr->main, ngx_http_pfs_s3_module);

    if (len > plcf->max_message_size) {
        ngx_log_error(NGX_LOG_ERR, sr->connection->log, 0,
                      "pfs_s3: a message of %uz bytes in the answer to %s "
                      "is larger than pfs_s3_max_message_size %uz",
                      len, call->method, plcf->max_message_size);
        return NGX_ERROR;
    }

    if (len > dec->msg_size) {
        size = ngx_max(len, 4096);

        msg = ngx_palloc(sr->pool, size);
        if (msg == NULL) {
            return NGX_ERROR;
        }

        if (dec->msg) {
            ngx_pfree(sr->pool, dec->msg);
        }

        dec->msg = msg;
        dec->msg_size = size;
    }

    dec->msg_len = 0;

    if (len == 0) {
        return ngx_http_pfs_s3_deliver(sr, call);
    }

    dec->state = ngx_http_pfs_s3_dec_message;

    return NGX_OK;
}


static ngx_int_t
ngx_http_pfs_s3_deliver(ngx_http_request_t *sr, ngx_http_pfs_s3_call_t *call)
{
    ngx_int_t          rc;
    ProtobufCMessage  *msg;

    msg = protobuf_c_message_unpack(call->response, NULL, call->dec.msg_len,
                                    call->dec.msg ? call->dec.msg
                                                  : (u_char *) "");
    if (msg == NULL) {
        ngx_log_error(NGX_LOG_ERR, sr->connection->log, 0,
                      "pfs_s3: could not decode a %s message in the answer "
                      "to %s", call->response->name, call->method);
        return NGX_ERROR;
    }

    call->messages++;

    if (call->on_message == NULL) {
        return ngx_http_pfs_s3_keep_message(sr->main, call, msg);
    }

    rc = call->on_message(sr->main, call, msg);

    protobuf_c_message_free_unpacked(msg, NULL);

    return rc;
}


/* A varint of a BytesValue message has been read: what it was depends on
 * the state. */

static ngx_int_t
ngx_http_pfs_s3_raw_field(ngx_http_request_t *sr, ngx_http_pfs_s3_call_t *call)
{
    ngx_http_pfs_s3_decoder_t  *dec;

    dec = &call->dec;

    switch (dec->state) {

    case ngx_http_pfs_s3_dec_raw_tag:
        dec->field = (ngx_uint_t) (dec->varint >> 3);
        dec->wire_type = (ngx_uint_t) (dec->varint & 7);
        dec->field_rest = 0;

        switch (dec->wire_type) {

        case 0:
            dec->state = ngx_http_pfs_s3_dec_raw_varint;
            break;

        case 1:
            dec->field_rest = 8;
            dec->state = ngx_http_pfs_s3_dec_raw_skip;
            break;

        case 2:
            dec->state = ngx_http_pfs_s3_dec_raw_len;
            break;

        case 5:
            dec->field_rest = 4;
            dec->state = ngx_http_pfs_s3_dec_raw_skip;
            break;

        default:
            goto invalid;
        }

        dec->varint = 0;
        dec->shift = 0;

        /* a tag is always followed by its value */

        if (dec->frame_rest == 0 || dec->field_rest > dec->frame_rest) {
            goto invalid;
        }

        return NGX_OK;

    case ngx_http_pfs_s3_dec_raw_len:
        dec->field_rest = dec->varint;

        if (dec->field_rest > dec->frame_rest) {
            goto invalid;
        }

        dec->state = (dec->field == 1) ? ngx_http_pfs_s3_dec_raw_value
                                       : ngx_http_pfs_s3_dec_raw_skip;
        break;

    default: /* ngx_http_pfs_s3_dec_raw_varint: a number, skipped */
        dec->field_rest = 0;
        break;
    }

    dec->varint = 0;
    dec->shift = 0;

    if (dec->field_rest == 0) {
        dec->state = dec->frame_rest ? ngx_http_pfs_s3_dec_raw_tag
                                     : ngx_http_pfs_s3_dec_header;
    }

    return NGX_OK;

invalid:

    ngx_log_error(NGX_LOG_ERR, sr->connection->log, 0,
                  "pfs_s3: malformed BytesValue in the answer to %s",
                  call->method);

    return NGX_ERROR;
}


/* Object bytes for the client: a buffer pointing into the upstream's. */

static ngx_int_t
ngx_http_pfs_s3_raw_bytes(ngx_http_request_t *sr, ngx_http_pfs_s3_call_t *call,
    u_char *p, size_t n, ngx_chain_t ***ll, ngx_buf_t **last)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (call->raw_limit >= 0 && (off_t) n > call->raw_limit - call->raw_sent) {
        n = (size_t) (call->raw_limit - call->raw_sent);
    }

    if (call->sink) {
        /* bytes kept for another call (UploadPartCopy of a range) */

        if (n && ngx_write_file(&call->sink->file, p, n, call->raw_sent)
                 == NGX_ERROR)
        {
            return NGX_ERROR;
        }

        call->raw_sent += n;

        return (call->raw_cut && call->raw_sent >= call->raw_limit)
               ? NGX_DONE : NGX_OK;
    }

    if (n && !call->raw_cut && call->raw_sent + (off_t) n == call->raw_limit) {

        /*
         * The last byte of a read to the end of the file waits for the
         * call's status (ngx_http_pfs_s3_get_file_done sends it): a client
         * that had every byte could close or reset the stream at once,
         * before the trailers say whether the file was read whole, and a
         * failed read would look complete to it.
         */

        call->raw_last = p[n - 1];
        call->raw_held = 1;
        call->raw_sent++;
        n--;
    }

    if (n) {
        cl = ngx_chain_get_free_buf(sr->pool, &call->dec.free);
        if (cl == NULL) {
            return NGX_ERROR;
        }

        b = cl->buf;
        ngx_memzero(b, sizeof(ngx_buf_t));

        b->start = p;
        b->pos = p;
        b->last = p + n;
        b->end = p + n;
        b->memory = 1;
        b->tag = (ngx_buf_tag_t) &ngx_http_pfs_s3_module;

        **ll = cl;
        *ll = &cl->next;
        *last = b;

        call->raw_sent += n;
    }

    if (call->raw_limit >= 0 && call->raw_sent >= call->raw_limit
        && call->raw_cut)
    {
        return NGX_DONE;
    }

    return NGX_OK;
}
