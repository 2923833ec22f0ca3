/*
 * aws-chunked bodies signed chunk by chunk (STREAMING-AWS4-HMAC-SHA256-
 * PAYLOAD[-TRAILER]), checked as the request body filter
 * (ngx_http_pfs_s3_body.c) removes the framing.  The request's own
 * signature was verified by ngx_http_pfs_s3_auth.c, which left the signing
 * key and seed signature in ctx->auth.  Kept apart from it so that the
 * body filter links with the signing core only (fuzz targets).
 */

#include <ngx_http_pfs_s3.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>


/*
 * A bad or missing chunk signature makes the upload fail with
 * SignatureDoesNotMatch: nothing after it is stored and nothing reaches
 * PFS.  Each chunk is signed over the previous chunk's signature, so
 * chunks cannot be dropped, reordered or replayed from another upload.
 */

static void
ngx_http_pfs_s3_auth_chunk_fail(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx, const char *why)
{
    if (ctx->auth->chunk_failed) {
        return;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "pfs_s3: aws-chunked upload refused: %s", why);

    ctx->auth->chunk_failed = 1;

    if (ctx->digest_failed == NGX_HTTP_PFS_S3_ERR_NONE) {
        ctx->digest_failed = NGX_HTTP_PFS_S3_ERR_SIGNATURE_DOES_NOT_MATCH;
    }
}


/* a byte of a chunk's extensions, after ";" */

void
ngx_http_pfs_s3_auth_chunk_ext(ngx_http_pfs_s3_ctx_t *ctx, u_char c)
{
    ngx_http_pfs_s3_auth_t  *a = ctx->auth;

    if (a == NULL || !a->chunks) {
        return;
    }

    if (a->ext_len < sizeof(a->ext)) {
        a->ext[a->ext_len] = c;
    }

    a->ext_len++;
}


/* the size line of a chunk has been read: its signature is known */

void
ngx_http_pfs_s3_auth_chunk_start(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx)
{
    size_t                   len;
    ngx_http_pfs_s3_auth_t  *a = ctx->auth;

    if (a == NULL || !a->chunks || a->chunk_failed) {
        return;
    }

    len = a->ext_len;
    a->ext_len = 0;

    if (len != sizeof("chunk-signature=") - 1 + NGX_HTTP_PFS_S3_SHA256_HEX
        || ngx_strncmp(a->ext, "chunk-signature=",
                       sizeof("chunk-signature=") - 1) != 0)
    {
        ngx_http_pfs_s3_auth_chunk_fail(r, ctx,
                                        "a chunk without chunk-signature");
        return;
    }

    ngx_memcpy(a->want, a->ext + sizeof("chunk-signature=") - 1,
               NGX_HTTP_PFS_S3_SHA256_HEX);

    if (a->chunk_sha == NULL) {
        a->chunk_sha = EVP_MD_CTX_new();
    }

    if (a->chunk_sha == NULL
        || EVP_DigestInit_ex(a->chunk_sha, EVP_sha256(), NULL) != 1)
    {
        ngx_http_pfs_s3_auth_chunk_fail(r, ctx, "no memory for SHA-256");
    }
}


void
ngx_http_pfs_s3_auth_chunk_data(ngx_http_pfs_s3_ctx_t *ctx, u_char *p,
    size_t n)
{
    ngx_http_pfs_s3_auth_t  *a = ctx->auth;

    if (a == NULL || !a->chunks || a->chunk_failed) {
        return;
    }

    if (EVP_DigestUpdate(a->chunk_sha, p, n) != 1) {
        a->chunk_failed = 1;
        ctx->digest_failed = NGX_HTTP_PFS_S3_ERR_INTERNAL;
    }
}


/* the chunk's data has been read: its signature is checked */

void
ngx_http_pfs_s3_auth_chunk_end(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx)
{
    u_char                   md[EVP_MAX_MD_SIZE];
    u_char                   hash[NGX_HTTP_PFS_S3_SHA256_HEX];
    u_char                   hex[NGX_HTTP_PFS_S3_SHA256_HEX];
    u_char                   buf[NGX_HTTP_PFS_S3_CHUNK_STS];
    ngx_str_t                sts;
    ngx_http_pfs_s3_auth_t  *a = ctx->auth;

    if (a == NULL || !a->chunks || a->chunk_failed) {
        return;
    }

    if (EVP_DigestFinal_ex(a->chunk_sha, md, NULL) != 1) {
        ngx_http_pfs_s3_auth_chunk_fail(r, ctx, "SHA-256 failed");
        return;
    }

    ngx_http_pfs_s3_hex(hash, md, 32);

    sts.data = buf;
    sts.len = ngx_http_pfs_s3_sigv4_chunk_string(buf, &a->v4.amz_date,
                                                 &a->v4.scope, a->prev, hash,
                                                 0);

    if (ngx_http_pfs_s3_sigv4_sign(a->key, &sts, hex) != NGX_OK
        || CRYPTO_memcmp(hex, a->want, sizeof(hex)) != 0)
    {
        ngx_http_pfs_s3_auth_chunk_fail(r, ctx,
                                        "a chunk signature does not match");
        return;
    }

    ngx_memcpy(a->prev, hex, sizeof(hex));
}


/*
 * STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: the trailer lines
 * ("name:value", CRLF-ended, in ctx->trailer) are signed over the last
 * chunk's signature by x-amz-trailer-signature; the string hashed is each
 * other line as "name:value\n".
 */

void
ngx_http_pfs_s3_auth_trailer_end(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx)
{
    u_char                   md[EVP_MAX_MD_SIZE];
    u_char                   hash[NGX_HTTP_PFS_S3_SHA256_HEX];
    u_char                   hex[NGX_HTTP_PFS_S3_SHA256_HEX];
    u_char                   buf[NGX_HTTP_PFS_S3_CHUNK_STS];
    u_char                  *p, *last, *eol, *colon, *want;
    ngx_str_t                sts, name;
    EVP_MD_CTX              *sha;
    ngx_http_pfs_s3_auth_t  *a = ctx->auth;

    if (a == NULL || !a->chunks || !a->signed_trailer || a->chunk_failed) {
        return;
    }

    sha = a->chunk_sha;
    want = NULL;

    if (sha == NULL || EVP_DigestInit_ex(sha, EVP_sha256(), NULL) != 1) {
        ngx_http_pfs_s3_auth_chunk_fail(r, ctx, "SHA-256 failed");
        return;
    }

    p = ctx->trailer;
    last = p + ctx->trailer_len;

    for ( /* void */ ; p < last; p = eol + 2) {
        eol = ngx_strlcasestrn(p, last, (u_char *) "\r\n", 2 - 1);
        if (eol == NULL) {
            eol = last;
        }

        colon = ngx_strlchr(p, eol, ':');
        if (colon == NULL) {
            continue;
        }

        name.data = p;
        name.len = colon - p;

        if (name.len == sizeof("x-amz-trailer-signature") - 1
            && ngx_strncasecmp(p, (u_char *) "x-amz-trailer-signature",
                               name.len) == 0)
        {
            if (eol - colon - 1 == NGX_HTTP_PFS_S3_SHA256_HEX) {
                want = colon + 1;
            }

            continue;
        }

        if (EVP_DigestUpdate(sha, p, eol - p) != 1
            || EVP_DigestUpdate(sha, "\n", 1) != 1)
        {
            ngx_http_pfs_s3_auth_chunk_fail(r, ctx, "SHA-256 failed");
            return;
        }
    }

    if (want == NULL) {
        ngx_http_pfs_s3_auth_chunk_fail(r, ctx,
                                        "no x-amz-trailer-signature");
        return;
    }

    if (EVP_DigestFinal_ex(sha, md, NULL) != 1) {
        ngx_http_pfs_s3_auth_chunk_fail(r, ctx, "SHA-256 failed");
        return;
    }

    ngx_http_pfs_s3_hex(hash, md, 32);

    sts.data = buf;
    sts.len = ngx_http_pfs_s3_sigv4_chunk_string(buf, &a->v4.amz_date,
                                                 &a->v4.scope, a->prev, hash,
                                                 1);

    if (ngx_http_pfs_s3_sigv4_sign(a->key, &sts, hex) != NGX_OK
        || CRYPTO_memcmp(hex, want, sizeof(hex)) != 0)
    {
        ngx_http_pfs_s3_auth_chunk_fail(r, ctx,
                                        "the trailer signature does not "
                                        "match");
    }
}
