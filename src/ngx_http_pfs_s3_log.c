/*
 * Error log context: every error log line written while an S3 request is
 * served (by this module, by nginx's upstream for a PFS call, by the body
 * reader) ends with the S3 operation, bucket, key and the PFS calls so far,
 * after nginx's usual "client: ..., request: ..." part:
 *
 *   ..., s3: GetObject, bucket: "master.data", key: "a/b.csv",
 *   pfs: InspectFile:OK,GetFile:UNAVAILABLE
 *
 * nginx calls r->log_handler of the main request for each line; ours calls
 * the handler it replaced, then adds these fields.
 */

#include <ngx_http_pfs_s3.h>


static u_char *ngx_http_pfs_s3_log_error(ngx_http_request_t *r,
    ngx_http_request_t *sr, u_char *buf, size_t len);
static u_char *ngx_http_pfs_s3_log_quoted(u_char *p, u_char *last,
    ngx_str_t *s);


void
ngx_http_pfs_s3_log_init(ngx_http_request_t *r, ngx_http_pfs_s3_ctx_t *ctx)
{
    ctx->log_handler = r->log_handler;
    r->log_handler = ngx_http_pfs_s3_log_error;
}


static u_char *
ngx_http_pfs_s3_log_error(ngx_http_request_t *r, ngx_http_request_t *sr,
    u_char *buf, size_t len)
{
    u_char                 *p, *last;
    ngx_http_pfs_s3_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_pfs_s3_module);

    if (ctx == NULL || ctx->type != NGX_HTTP_PFS_S3_CTX_REQUEST) {
        return buf;
    }

    p = buf;

    if (ctx->log_handler) {
        p = ctx->log_handler(r, sr, buf, len);
    }

    last = buf + len;

    if (ctx->op_name.len) {
        p = ngx_slprintf(p, last, ", s3: %V", &ctx->op_name);
    }

    if (ctx->bucket.name.len) {
        p = ngx_slprintf(p, last, ", bucket: ");
        p = ngx_http_pfs_s3_log_quoted(p, last, &ctx->bucket.name);
    }

    if (ctx->key.len) {
        p = ngx_slprintf(p, last, ", key: ");
        p = ngx_http_pfs_s3_log_quoted(p, last, &ctx->key);
    }

    if (ctx->pfs_status.len) {
        p = ngx_slprintf(p, last, ", pfs: %V", &ctx->pfs_status);
    }

    return p;
}


/*
 * A decoded key may hold any byte: quotes, backslashes and bytes outside
 * printable ASCII are written as \xHH, so that a key cannot forge log lines
 * or fields.
 */

static u_char *
ngx_http_pfs_s3_log_quoted(u_char *p, u_char *last, ngx_str_t *s)
{
    u_char      c;
    ngx_uint_t  i;

    static u_char  hex[] = "0123456789abcdef";

    if (p < last) {
        *p++ = '"';
    }

    for (i = 0; i < s->len; i++) {
        c = s->data[i];

        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            if (p == last) {
                return p;
            }

            *p++ = c;
            continue;
        }

        if (last - p < 4) {
            return p;
        }

        *p++ = '\\';
        *p++ = 'x';
        *p++ = hex[c >> 4];
        *p++ = hex[c & 0xf];
    }

    if (p < last) {
        *p++ = '"';
    }

    return p;
}
