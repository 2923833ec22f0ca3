/*
 * Authentication: the pfs_s3_auth modes, the credentials file, and the
 * checks of a request's AWS signature (V4 header, V4 presigned URL, V2
 * header and query) before the operation runs.
 *
 *   off     any or no credentials; PFS gets pfs_s3_pfs_token, if any.
 *   static  the access key is looked up in pfs_s3_auth_credentials; the
 *           signature is verified with its secret key and PFS gets the
 *           token of that line (or pfs_s3_pfs_token).
 *   pachd   as Pachyderm's own gateway: the access key is a Pachyderm
 *           token and the secret key is the same token; PFS gets it as
 *           authn-token.  Whether PFS has auth active at all is asked with
 *           auth_v2 WhoAmI and remembered for pfs_s3_auth_cache: while it
 *           is not, any or no credentials are accepted.
 *
 * The canonical forms and HMACs are in ngx_http_pfs_s3_sigv4.c; this file
 * gathers what they are made of from the request and turns every failure
 * into the S3 error a client expects.  Secrets (secret keys, and in pachd
 * mode the access key itself) are never logged nor put in an error body.
 */

#include <ngx_http_pfs_s3.h>
#include <auth.pb-c.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>


#define NGX_HTTP_PFS_S3_MAX_SKEW    (15 * 60)
#define NGX_HTTP_PFS_S3_MAX_CREDS   (1024 * 1024)



static ngx_int_t ngx_http_pfs_s3_auth_parse(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx, ngx_http_pfs_s3_auth_t *a);
static ngx_int_t ngx_http_pfs_s3_auth_parse_v2(ngx_http_request_t *r,
    ngx_http_pfs_s3_auth_t *a, ngx_str_t *value);
static ngx_int_t ngx_http_pfs_s3_auth_presigned(ngx_http_request_t *r,
    ngx_http_pfs_s3_auth_t *a);
static ngx_str_t *ngx_http_pfs_s3_auth_query(ngx_http_pfs_s3_auth_t *a,
    const char *name);
static ngx_int_t ngx_http_pfs_s3_auth_static(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx, ngx_http_pfs_s3_auth_t *a);
static ngx_int_t ngx_http_pfs_s3_auth_pachd(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx, ngx_http_pfs_s3_auth_t *a, ngx_uint_t active);
static ngx_int_t ngx_http_pfs_s3_auth_whoami_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_auth_verify(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx, ngx_http_pfs_s3_auth_t *a, ngx_str_t *secret);
static ngx_int_t ngx_http_pfs_s3_auth_verify_v4(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx, ngx_http_pfs_s3_auth_t *a, ngx_str_t *secret);
static ngx_int_t ngx_http_pfs_s3_auth_verify_v2(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx, ngx_http_pfs_s3_auth_t *a, ngx_str_t *secret);
static ngx_int_t ngx_http_pfs_s3_auth_time_v4(ngx_http_request_t *r,
    ngx_http_pfs_s3_auth_t *a);
static ngx_int_t ngx_http_pfs_s3_auth_time_v2(ngx_http_request_t *r,
    ngx_http_pfs_s3_auth_t *a, ngx_str_t *date);
static ngx_int_t ngx_http_pfs_s3_auth_headers(ngx_http_request_t *r,
    ngx_http_pfs_s3_auth_t *a);
static ngx_int_t ngx_http_pfs_s3_auth_unsigned(ngx_http_request_t *r,
    ngx_http_pfs_s3_auth_t *a);
static ngx_uint_t ngx_http_pfs_s3_auth_signed(ngx_str_t *list,
    ngx_str_t *name);
static ngx_int_t ngx_http_pfs_s3_auth_mismatch(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx, ngx_http_pfs_s3_auth_t *a, ngx_str_t *sts,
    ngx_str_t *canonical);
static ngx_int_t ngx_http_pfs_s3_auth_fail(ngx_http_request_t *r,
    ngx_http_pfs_s3_err_e err, const char *why);
static time_t ngx_http_pfs_s3_parse_amz_date(ngx_str_t *v);
static ngx_str_t *ngx_http_pfs_s3_hex_bytes(ngx_pool_t *pool, ngx_str_t *s);
static ngx_int_t ngx_http_pfs_s3_auth_field(ngx_http_request_t *r,
    const char *name, ngx_str_t *value);
static ngx_int_t ngx_http_pfs_s3_auth_time_field(ngx_http_request_t *r,
    const char *name, time_t t);
static void ngx_http_pfs_s3_auth_cleanup(void *data);
static ngx_int_t ngx_http_pfs_s3_auth_redact(ngx_http_request_t *r,
    ngx_str_t *token);
static ngx_http_pfs_s3_cred_t *ngx_http_pfs_s3_auth_lookup(
    ngx_http_pfs_s3_loc_conf_t *plcf, ngx_str_t *access_key);
static char *ngx_http_pfs_s3_auth_read_creds(ngx_conf_t *cf,
    ngx_command_t *cmd, ngx_str_t *file, ngx_array_t *creds);


/*
 * Called before the operation is dispatched.  Returns NGX_OK to go on,
 * NGX_DONE while WhoAmI runs (the operation is dispatched when it ends),
 * NGX_DECLINED when the request has been answered (code in ctx->rc), or an
 * HTTP error code.
 */

ngx_int_t
ngx_http_pfs_s3_auth(ngx_http_request_t *r, ngx_http_pfs_s3_ctx_t *ctx)
{
    ngx_int_t                      rc;
    ngx_http_pfs_s3_auth_t        *a;
    ngx_pool_cleanup_t            *cln;
    ngx_http_pfs_s3_loc_conf_t    *plcf;
    ngx_http_pfs_s3_auth_state_t  *st;
    AuthV2__WhoAmIRequest          req = AUTH_V2__WHO_AM_IREQUEST__INIT;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_pfs_s3_module);

    if (plcf->auth == NGX_HTTP_PFS_S3_AUTH_OFF) {
        return NGX_OK;
    }

    a = ngx_pcalloc(r->pool, sizeof(ngx_http_pfs_s3_auth_t));
    if (a == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the signing key is kept for aws-chunked bodies: wiped with the pool */

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_pfs_s3_auth_cleanup;
    cln->data = a;

    ctx->auth = a;

    rc = ngx_http_pfs_s3_auth_parse(r, ctx, a);
    if (rc != NGX_OK) {
        return rc;
    }

    if (plcf->auth == NGX_HTTP_PFS_S3_AUTH_PACHD && a->presigned
        && ngx_http_pfs_s3_auth_redact(r, &a->access_key) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (plcf->auth == NGX_HTTP_PFS_S3_AUTH_STATIC) {
        return ngx_http_pfs_s3_auth_static(r, ctx, a);
    }

    st = plcf->auth_state;

    if (st->known && ngx_current_msec - st->checked < plcf->auth_cache) {
        return ngx_http_pfs_s3_auth_pachd(r, ctx, a, st->active);
    }

    /* WhoAmI with the request's token: it also tells whether it is valid */

    ctx->pfs_token_set = 1;

    if (a->version) {
        ctx->pfs_token = a->access_key;
    }

    rc = ngx_http_pfs_s3_call(r, "/auth_v2.API/WhoAmI", &req.base,
                              &auth_v2__who_am_iresponse__descriptor, NULL,
                              ngx_http_pfs_s3_auth_whoami_done, a);

    return (rc == NGX_DONE) ? NGX_DONE : NGX_HTTP_INTERNAL_SERVER_ERROR;
}


static ngx_int_t
ngx_http_pfs_s3_auth_whoami_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_int_t                      rc;
    ngx_str_t                      off = ngx_string("not activated");
    ngx_uint_t                     active;
    ngx_http_pfs_s3_ctx_t         *ctx;
    ngx_http_pfs_s3_auth_t        *a;
    ngx_http_pfs_s3_loc_conf_t    *plcf;
    ngx_http_pfs_s3_auth_state_t  *st;

    ctx = ngx_http_pfs_s3_get_ctx(r);
    plcf = ngx_http_get_module_loc_conf(r, ngx_http_pfs_s3_module);
    a = call->data;

    if (call->grpc_status == NGX_HTTP_PFS_S3_GRPC_UNIMPLEMENTED
        || (call->grpc_message.len >= off.len
            && ngx_strlcasestrn(call->grpc_message.data,
                                call->grpc_message.data
                                + call->grpc_message.len,
                                off.data, off.len - 1) != NULL))
    {
        active = 0;

    } else if (ngx_http_pfs_s3_call_ok(call)) {
        active = 1;

    } else if (call->grpc_status == NGX_HTTP_PFS_S3_GRPC_UNAUTHENTICATED
               || call->grpc_status == NGX_HTTP_PFS_S3_GRPC_PERMISSION_DENIED)
    {
        /* auth is on and this token (or none) is not good */
        active = 1;
        a->token_refused = 1;

    } else {
        return ngx_http_pfs_s3_fail(r, call, NGX_HTTP_PFS_S3_ERR_INTERNAL);
    }

    /*
     * The cache lives in this location's configuration, so each worker
     * process has its own copy (written after fork) and a reload starts
     * from nothing: no state is shared between processes or outlives the
     * configuration.  Asking once per worker per pfs_s3_auth_cache is
     * cheap, and a shared zone would only save those few calls.
     */

    st = plcf->auth_state;
    st->known = 1;
    st->active = active;
    st->checked = ngx_current_msec;

    rc = ngx_http_pfs_s3_auth_pachd(r, ctx, a, active);

    if (rc == NGX_OK) {
        return ngx_http_pfs_s3_dispatch(r, ctx);
    }

    if (rc == NGX_DECLINED) {
        return ctx->rc;
    }

    return rc;
}


static ngx_int_t
ngx_http_pfs_s3_auth_pachd(ngx_http_request_t *r, ngx_http_pfs_s3_ctx_t *ctx,
    ngx_http_pfs_s3_auth_t *a, ngx_uint_t active)
{
    ngx_int_t  rc;

    ctx->pfs_token_set = 1;
    ngx_str_null(&ctx->pfs_token);

    if (!active) {
        /* as pachd: no auth in PFS, no credentials needed */
        a->chunks = 0;
        return NGX_OK;
    }

    if (a->version == 0) {
        return ngx_http_pfs_s3_auth_fail(r, NGX_HTTP_PFS_S3_ERR_ACCESS_DENIED,
                                         "no credentials; PFS has auth on");
    }

    if (a->token_refused) {
        return ngx_http_pfs_s3_auth_fail(r,
                                   NGX_HTTP_PFS_S3_ERR_INVALID_ACCESS_KEY_ID,
                                   "PFS does not know the token");
    }

    rc = ngx_http_pfs_s3_auth_verify(r, ctx, a, &a->access_key);
    if (rc != NGX_OK) {
        return rc;
    }

    ctx->pfs_token = a->access_key;

    return NGX_OK;
}


static ngx_int_t
ngx_http_pfs_s3_auth_static(ngx_http_request_t *r, ngx_http_pfs_s3_ctx_t *ctx,
    ngx_http_pfs_s3_auth_t *a)
{
    ngx_int_t                    rc;
    ngx_http_pfs_s3_cred_t      *cred;
    ngx_http_pfs_s3_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_pfs_s3_module);

    if (a->version == 0) {
        return ngx_http_pfs_s3_auth_fail(r, NGX_HTTP_PFS_S3_ERR_ACCESS_DENIED,
                                         "no credentials");
    }

    cred = ngx_http_pfs_s3_auth_lookup(plcf, &a->access_key);

    if (cred == NULL) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "pfs_s3: unknown access key \"%V\"", &a->access_key);

        if (ngx_http_pfs_s3_auth_field(r, "AWSAccessKeyId", &a->access_key)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_pfs_s3_answer(r,
                                     NGX_HTTP_PFS_S3_ERR_INVALID_ACCESS_KEY_ID,
                                     NULL);
    }

    rc = ngx_http_pfs_s3_auth_verify(r, ctx, a, &cred->secret);
    if (rc != NGX_OK) {
        return rc;
    }

    if (cred->token.len) {
        ctx->pfs_token_set = 1;
        ctx->pfs_token = cred->token;
    }

    return NGX_OK;
}


static ngx_http_pfs_s3_cred_t *
ngx_http_pfs_s3_auth_lookup(ngx_http_pfs_s3_loc_conf_t *plcf,
    ngx_str_t *access_key)
{
    ngx_uint_t               i;
    ngx_http_pfs_s3_cred_t  *cred;

    if (plcf->credentials == NULL) {
        return NULL;
    }

    cred = plcf->credentials->elts;

    for (i = 0; i < plcf->credentials->nelts; i++) {
        if (cred[i].access_key.len == access_key->len
            && ngx_strncmp(cred[i].access_key.data, access_key->data,
                           access_key->len) == 0)
        {
            return &cred[i];
        }
    }

    return NULL;
}


/* ---------------------------------------------------------------- parse */

/*
 * Which signature the request carries: Authorization header (V4 or V2),
 * presigned V4 (X-Amz-Algorithm), presigned V2 (AWSAccessKeyId), or none.
 */

static ngx_int_t
ngx_http_pfs_s3_auth_parse(ngx_http_request_t *r, ngx_http_pfs_s3_ctx_t *ctx,
    ngx_http_pfs_s3_auth_t *a)
{
    const char       *why;
    ngx_table_elt_t  *h;

    if (ngx_array_init(&a->args, r->pool, 8, sizeof(ngx_http_pfs_s3_kv_t))
        != NGX_OK
        || ngx_http_pfs_s3_split_query(r->pool, &r->args, &a->args) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h = r->headers_in.authorization;

    if (h) {
        if (ngx_http_pfs_s3_auth_query(a, "X-Amz-Algorithm")
            || ngx_http_pfs_s3_auth_query(a, "AWSAccessKeyId"))
        {
            return ngx_http_pfs_s3_auth_fail(r,
                                        NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT,
                                        "Only one auth mechanism allowed; "
                                        "only the X-Amz-Algorithm query "
                                        "parameter, Signature query string "
                                        "parameter or the Authorization "
                                        "header should be specified");
        }

        if (h->value.len > 4
            && ngx_strncmp(h->value.data, "AWS ", 4) == 0)
        {
            return ngx_http_pfs_s3_auth_parse_v2(r, a, &h->value);
        }

        if (h->value.len < 5
            || ngx_strncmp(h->value.data, "AWS4-", 5) != 0)
        {
            return ngx_http_pfs_s3_auth_fail(r,
                                        NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT,
                                        "Unsupported Authorization Type");
        }

        if (ngx_http_pfs_s3_sigv4_parse_header(&h->value, &a->v4, &why)
            != NGX_OK)
        {
            return ngx_http_pfs_s3_auth_fail(r,
                               NGX_HTTP_PFS_S3_ERR_AUTHORIZATION_MALFORMED,
                               why);
        }

        a->version = 4;
        a->access_key = a->v4.access_key;
        a->signature = a->v4.signature;

        return NGX_OK;
    }

    if (ngx_http_pfs_s3_auth_query(a, "X-Amz-Algorithm")) {
        return ngx_http_pfs_s3_auth_presigned(r, a);
    }

    if (ngx_http_pfs_s3_auth_query(a, "AWSAccessKeyId")
        || ngx_http_pfs_s3_auth_query(a, "Signature"))
    {
        a->version = 2;
        a->presigned = 1;

        if (ngx_http_pfs_s3_auth_query(a, "AWSAccessKeyId") == NULL
            || ngx_http_pfs_s3_auth_query(a, "Signature") == NULL
            || ngx_http_pfs_s3_auth_query(a, "Expires") == NULL)
        {
            return ngx_http_pfs_s3_auth_fail(r,
                                        NGX_HTTP_PFS_S3_ERR_ACCESS_DENIED,
                                        "Query-string authentication "
                                        "requires the Signature, Expires "
                                        "and AWSAccessKeyId parameters");
        }

        a->access_key = *ngx_http_pfs_s3_auth_query(a, "AWSAccessKeyId");
        a->signature = *ngx_http_pfs_s3_auth_query(a, "Signature");

        return NGX_OK;
    }

    (void) ctx;

    return NGX_OK;
}


/* "AWS <access key>:<base64 signature>" */

static ngx_int_t
ngx_http_pfs_s3_auth_parse_v2(ngx_http_request_t *r,
    ngx_http_pfs_s3_auth_t *a, ngx_str_t *value)
{
    u_char  *p, *last, *colon;

    p = value->data + 4;
    last = value->data + value->len;

    colon = NULL;

    for (colon = last; colon > p; colon--) {
        if (colon[-1] == ':') {
            break;
        }
    }

    if (colon == p || colon - 1 == p || colon == last) {
        return ngx_http_pfs_s3_auth_fail(r,
                               NGX_HTTP_PFS_S3_ERR_AUTHORIZATION_MALFORMED,
                               "the authorization header must be "
                               "\"AWS <access key>:<signature>\"");
    }

    a->version = 2;
    a->access_key.data = p;
    a->access_key.len = colon - 1 - p;
    a->signature.data = colon;
    a->signature.len = last - colon;

    return NGX_OK;
}


static ngx_int_t
ngx_http_pfs_s3_auth_presigned(ngx_http_request_t *r,
    ngx_http_pfs_s3_auth_t *a)
{
    ngx_int_t    n;
    ngx_str_t   *v, *cred;
    const char  *why;

    v = ngx_http_pfs_s3_auth_query(a, "X-Amz-Algorithm");

    if (v->len != sizeof("AWS4-HMAC-SHA256") - 1
        || ngx_strncmp(v->data, "AWS4-HMAC-SHA256", v->len) != 0)
    {
        return ngx_http_pfs_s3_auth_fail(r,
                                   NGX_HTTP_PFS_S3_ERR_QUERY_PARAMETERS_ERROR,
                                   "X-Amz-Algorithm only supports "
                                   "\"AWS4-HMAC-SHA256\"");
    }

    cred = ngx_http_pfs_s3_auth_query(a, "X-Amz-Credential");
    v = ngx_http_pfs_s3_auth_query(a, "X-Amz-SignedHeaders");

    if (cred == NULL || v == NULL
        || ngx_http_pfs_s3_auth_query(a, "X-Amz-Signature") == NULL
        || ngx_http_pfs_s3_auth_query(a, "X-Amz-Date") == NULL
        || ngx_http_pfs_s3_auth_query(a, "X-Amz-Expires") == NULL)
    {
        return ngx_http_pfs_s3_auth_fail(r,
                                   NGX_HTTP_PFS_S3_ERR_QUERY_PARAMETERS_ERROR,
                                   "Query-string authentication version 4 "
                                   "requires the X-Amz-Algorithm, "
                                   "X-Amz-Credential, X-Amz-Signature, "
                                   "X-Amz-Date, X-Amz-SignedHeaders, and "
                                   "X-Amz-Expires parameters.");
    }

    if (ngx_http_pfs_s3_sigv4_parse_credential(cred, &a->v4, &why)
        != NGX_OK)
    {
        return ngx_http_pfs_s3_auth_fail(r,
                                   NGX_HTTP_PFS_S3_ERR_QUERY_PARAMETERS_ERROR,
                                   why);
    }

    a->v4.signed_headers = *v;
    a->v4.signature = *ngx_http_pfs_s3_auth_query(a, "X-Amz-Signature");
    a->v4.amz_date = *ngx_http_pfs_s3_auth_query(a, "X-Amz-Date");
    a->v4.expires = *ngx_http_pfs_s3_auth_query(a, "X-Amz-Expires");

    n = ngx_atoi(a->v4.expires.data, a->v4.expires.len);

    if (n == NGX_ERROR || n < 1) {
        return ngx_http_pfs_s3_auth_fail(r,
                                   NGX_HTTP_PFS_S3_ERR_QUERY_PARAMETERS_ERROR,
                                   "X-Amz-Expires must be a positive number "
                                   "of seconds");
    }

    if (n > NGX_HTTP_PFS_S3_MAX_PRESIGN) {
        return ngx_http_pfs_s3_auth_fail(r,
                                   NGX_HTTP_PFS_S3_ERR_QUERY_PARAMETERS_ERROR,
                                   "X-Amz-Expires must be less than a week "
                                   "(in seconds) that is 604800");
    }

    a->version = 4;
    a->presigned = 1;
    a->access_key = a->v4.access_key;
    a->signature = a->v4.signature;

    return NGX_OK;
}


static ngx_str_t *
ngx_http_pfs_s3_auth_query(ngx_http_pfs_s3_auth_t *a, const char *name)
{
    size_t                 len;
    ngx_uint_t             i;
    ngx_http_pfs_s3_kv_t  *kv;

    len = ngx_strlen(name);
    kv = a->args.elts;

    for (i = 0; i < a->args.nelts; i++) {
        if (kv[i].name.len == len
            && ngx_strncmp(kv[i].name.data, name, len) == 0)
        {
            return &kv[i].value;
        }
    }

    return NULL;
}


/* ---------------------------------------------------------------- verify */

static ngx_int_t
ngx_http_pfs_s3_auth_verify(ngx_http_request_t *r, ngx_http_pfs_s3_ctx_t *ctx,
    ngx_http_pfs_s3_auth_t *a, ngx_str_t *secret)
{
    if (ngx_http_pfs_s3_auth_headers(r, a) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (a->version == 4) {
        return ngx_http_pfs_s3_auth_verify_v4(r, ctx, a, secret);
    }

    return ngx_http_pfs_s3_auth_verify_v2(r, ctx, a, secret);
}


static ngx_int_t
ngx_http_pfs_s3_auth_verify_v4(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx, ngx_http_pfs_s3_auth_t *a, ngx_str_t *secret)
{
    u_char                       hex[NGX_HTTP_PFS_S3_SHA256_HEX];
    ngx_int_t                    rc;
    ngx_str_t                    canonical, sts, *v;
    ngx_table_elt_t             *h;
    ngx_http_pfs_s3_canon_t      in;
    ngx_http_pfs_s3_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_pfs_s3_module);

    if (a->v4.service.len != 2 || ngx_strncmp(a->v4.service.data, "s3", 2)) {
        return ngx_http_pfs_s3_auth_fail(r,
                        a->presigned
                        ? NGX_HTTP_PFS_S3_ERR_QUERY_PARAMETERS_ERROR
                        : NGX_HTTP_PFS_S3_ERR_AUTHORIZATION_MALFORMED,
                        "the credential's service must be s3");
    }

    if (a->v4.region.len != plcf->region.len
        || ngx_strncmp(a->v4.region.data, plcf->region.data,
                       plcf->region.len) != 0)
    {
        if (ngx_http_pfs_s3_auth_field(r, "Region", &plcf->region) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_pfs_s3_auth_fail(r,
                        a->presigned
                        ? NGX_HTTP_PFS_S3_ERR_QUERY_PARAMETERS_ERROR
                        : NGX_HTTP_PFS_S3_ERR_AUTHORIZATION_MALFORMED,
                        "the credential's region is wrong; expecting the "
                        "region of pfs_s3_region");
    }

    rc = ngx_http_pfs_s3_auth_time_v4(r, a);
    if (rc != NGX_OK) {
        return rc;
    }

    if (a->v4.scope.len > 255) {
        return ngx_http_pfs_s3_auth_fail(r,
                        a->presigned
                        ? NGX_HTTP_PFS_S3_ERR_QUERY_PARAMETERS_ERROR
                        : NGX_HTTP_PFS_S3_ERR_AUTHORIZATION_MALFORMED,
                        "the credential scope is too long");
    }

    ngx_memzero(&in, sizeof(ngx_http_pfs_s3_canon_t));

    in.method = r->method_name;
    in.path = r->unparsed_uri;

    v = (ngx_str_t *) ngx_strlchr(in.path.data, in.path.data + in.path.len,
                                  '?');
    if (v) {
        in.path.len = (u_char *) v - in.path.data;
    }

    in.query = r->args;
    in.headers = a->headers.elts;
    in.nheaders = a->headers.nelts;
    in.signed_headers = a->v4.signed_headers;
    in.s3 = 1;
    in.presigned = a->presigned;

    if (a->presigned) {
        ngx_str_set(&in.payload_hash, "UNSIGNED-PAYLOAD");

    } else {
        h = ngx_http_pfs_s3_header(r, "x-amz-content-sha256");

        if (h == NULL) {
            return ngx_http_pfs_s3_auth_fail(r,
                                        NGX_HTTP_PFS_S3_ERR_INVALID_REQUEST,
                                        "Missing required header for this "
                                        "request: x-amz-content-sha256");
        }

        in.payload_hash = h->value;
    }

    if (ngx_http_pfs_s3_sigv4_canonical(r->pool, &in, &canonical) != NGX_OK
        || ngx_http_pfs_s3_sigv4_string_to_sign(r->pool, &a->v4.amz_date,
                                                &a->v4.scope, &canonical,
                                                &sts)
           != NGX_OK
        || ngx_http_pfs_s3_sigv4_key(secret, &a->v4, a->key) != NGX_OK
        || ngx_http_pfs_s3_sigv4_sign(a->key, &sts, hex) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!ngx_http_pfs_s3_sig_equal(&a->signature, hex, sizeof(hex))) {
        return ngx_http_pfs_s3_auth_mismatch(r, ctx, a, &sts, &canonical);
    }

    /* a good signature, but over too little of the request */

    rc = ngx_http_pfs_s3_auth_unsigned(r, a);
    if (rc != NGX_OK) {
        return rc;
    }

    /* aws-chunked chunks are chained from this signature */

    ngx_memcpy(a->prev, hex, sizeof(hex));

    if (!a->presigned
        && in.payload_hash.len > sizeof("STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
                                 - 2
        && ngx_strncmp(in.payload_hash.data,
                       "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                       sizeof("STREAMING-AWS4-HMAC-SHA256-PAYLOAD") - 1) == 0)
    {
        a->chunks = 1;
        a->signed_trailer = (in.payload_hash.len
                          == sizeof("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-"
                                    "TRAILER") - 1);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_pfs_s3_auth_verify_v2(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx, ngx_http_pfs_s3_auth_t *a, ngx_str_t *secret)
{
    u_char                       *p, buf[EVP_MAX_MD_SIZE * 2];
    ngx_int_t                     rc;
    ngx_str_t                     sts, b64, uri;
    ngx_table_elt_t              *h;
    ngx_http_pfs_s3_v2_input_t    in;

    ngx_memzero(&in, sizeof(ngx_http_pfs_s3_v2_input_t));

    in.method = r->method_name;

    h = ngx_http_pfs_s3_header(r, "content-md5");
    if (h) {
        in.content_md5 = h->value;
    }

    h = ngx_http_pfs_s3_header(r, "content-type");
    if (h) {
        in.content_type = h->value;
    }

    if (a->presigned) {
        in.date = *ngx_http_pfs_s3_auth_query(a, "Expires");

    } else if (ngx_http_pfs_s3_header(r, "x-amz-date") == NULL) {
        h = ngx_http_pfs_s3_header(r, "date");
        if (h) {
            in.date = h->value;
        }
    }

    rc = ngx_http_pfs_s3_auth_time_v2(r, a, &in.date);
    if (rc != NGX_OK) {
        return rc;
    }

    in.headers = a->headers.elts;
    in.nheaders = a->headers.nelts;
    in.args = a->args.elts;
    in.nargs = a->args.nelts;

    /* the resource is the raw path, with the bucket of a virtual host */

    uri = r->unparsed_uri;

    p = ngx_strlchr(uri.data, uri.data + uri.len, '?');
    if (p) {
        uri.len = p - uri.data;
    }

    if (ctx->virtual_host) {
        in.resource.data = ngx_pnalloc(r->pool,
                                       ctx->bucket.name.len + 1 + uri.len);
        if (in.resource.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = ngx_cpymem(in.resource.data, "/", 1);
        p = ngx_cpymem(p, ctx->bucket.name.data, ctx->bucket.name.len);
        p = ngx_cpymem(p, uri.data, uri.len);
        in.resource.len = p - in.resource.data;

    } else {
        in.resource = uri;
    }

    b64.data = buf;

    if (ngx_http_pfs_s3_sigv2_string_to_sign(r->pool, &in, &sts) != NGX_OK
        || ngx_http_pfs_s3_sigv2_sign(secret, &sts, &b64) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!ngx_http_pfs_s3_sig_equal(&a->signature, b64.data, b64.len)) {
        return ngx_http_pfs_s3_auth_mismatch(r, ctx, a, &sts, NULL);
    }

    return NGX_OK;
}


/*
 * V4 time: X-Amz-Date of a presigned URL (not before it, less skew; not
 * after it plus X-Amz-Expires), or the x-amz-date (or Date) header within
 * 15 minutes of now.  The credential's date must be the request's day.
 */

static ngx_int_t
ngx_http_pfs_s3_auth_time_v4(ngx_http_request_t *r, ngx_http_pfs_s3_auth_t *a)
{
    u_char           *p;
    time_t            t, now, expires;
    ngx_table_elt_t  *h;

    now = ngx_time();

    if (!a->presigned) {
        h = ngx_http_pfs_s3_header(r, "x-amz-date");

        if (h) {
            a->v4.amz_date = h->value;
            t = ngx_http_pfs_s3_parse_amz_date(&h->value);

        } else if ((h = ngx_http_pfs_s3_header(r, "date")) != NULL) {
            t = ngx_parse_http_time(h->value.data, h->value.len);

            if (t != NGX_ERROR) {
                p = ngx_pnalloc(r->pool, sizeof("YYYYMMDDTHHMMSSZ"));
                if (p == NULL) {
                    return NGX_HTTP_INTERNAL_SERVER_ERROR;
                }

                a->v4.amz_date.data = p;
                a->v4.amz_date.len = ngx_http_pfs_s3_amz_date(p, t) - p;
            }

        } else {
            t = NGX_ERROR;
        }

        if (t == NGX_ERROR) {
            return ngx_http_pfs_s3_auth_fail(r,
                                        NGX_HTTP_PFS_S3_ERR_ACCESS_DENIED,
                                        "AWS authentication requires a valid "
                                        "Date or x-amz-date header");
        }

        if (t < now - NGX_HTTP_PFS_S3_MAX_SKEW
            || t > now + NGX_HTTP_PFS_S3_MAX_SKEW)
        {
            goto skewed;
        }

    } else {
        t = ngx_http_pfs_s3_parse_amz_date(&a->v4.amz_date);

        if (t == NGX_ERROR) {
            return ngx_http_pfs_s3_auth_fail(r,
                                   NGX_HTTP_PFS_S3_ERR_QUERY_PARAMETERS_ERROR,
                                   "X-Amz-Date must be in the ISO8601 Long "
                                   "Format \"yyyyMMdd'T'HHmmss'Z'\"");
        }

        expires = t + ngx_atoi(a->v4.expires.data, a->v4.expires.len);

        if (t > now + NGX_HTTP_PFS_S3_MAX_SKEW) {
            return ngx_http_pfs_s3_auth_fail(r,
                                        NGX_HTTP_PFS_S3_ERR_ACCESS_DENIED,
                                        "Request is not valid yet");
        }

        if (now > expires) {
            if (ngx_http_pfs_s3_auth_field(r, "X-Amz-Expires",
                                           &a->v4.expires)
                != NGX_OK
                || ngx_http_pfs_s3_auth_time_field(r, "Expires", expires)
                   != NGX_OK
                || ngx_http_pfs_s3_auth_time_field(r, "ServerTime", now)
                   != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            return ngx_http_pfs_s3_auth_fail(r,
                                        NGX_HTTP_PFS_S3_ERR_ACCESS_DENIED,
                                        "Request has expired");
        }
    }

    if (a->v4.amz_date.len < 8
        || ngx_strncmp(a->v4.amz_date.data, a->v4.date.data, 8) != 0)
    {
        return ngx_http_pfs_s3_auth_fail(r,
                        a->presigned
                        ? NGX_HTTP_PFS_S3_ERR_QUERY_PARAMETERS_ERROR
                        : NGX_HTTP_PFS_S3_ERR_AUTHORIZATION_MALFORMED,
                        "the credential's date is not the request's date");
    }

    return NGX_OK;

skewed:

    if (ngx_http_pfs_s3_auth_time_field(r, "RequestTime", t) != NGX_OK
        || ngx_http_pfs_s3_auth_time_field(r, "ServerTime", now) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_pfs_s3_auth_fail(r, NGX_HTTP_PFS_S3_ERR_TIME_SKEWED, NULL);
}


/* V2 time: Expires (seconds since the epoch) of a query, or the date */

static ngx_int_t
ngx_http_pfs_s3_auth_time_v2(ngx_http_request_t *r, ngx_http_pfs_s3_auth_t *a,
    ngx_str_t *date)
{
    time_t            t, now;
    ngx_str_t         expires;
    ngx_table_elt_t  *h;

    now = ngx_time();

    if (a->presigned) {
        t = ngx_atotm(date->data, date->len);

        if (t == NGX_ERROR) {
            return ngx_http_pfs_s3_auth_fail(r,
                                        NGX_HTTP_PFS_S3_ERR_ACCESS_DENIED,
                                        "Expires must be a number of "
                                        "seconds since the epoch");
        }

        if (now > t) {
            expires = *date;

            if (ngx_http_pfs_s3_auth_field(r, "Expires", &expires) != NGX_OK
                || ngx_http_pfs_s3_auth_time_field(r, "ServerTime", now)
                   != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            return ngx_http_pfs_s3_auth_fail(r,
                                        NGX_HTTP_PFS_S3_ERR_ACCESS_DENIED,
                                        "Request has expired");
        }

        return NGX_OK;
    }

    h = ngx_http_pfs_s3_header(r, "x-amz-date");

    if (h == NULL) {
        h = ngx_http_pfs_s3_header(r, "date");
    }

    t = h ? ngx_parse_http_time(h->value.data, h->value.len) : NGX_ERROR;

    if (t == NGX_ERROR) {
        return ngx_http_pfs_s3_auth_fail(r, NGX_HTTP_PFS_S3_ERR_ACCESS_DENIED,
                                         "AWS authentication requires a "
                                         "valid Date or x-amz-date header");
    }

    if (t < now - NGX_HTTP_PFS_S3_MAX_SKEW
        || t > now + NGX_HTTP_PFS_S3_MAX_SKEW)
    {
        if (ngx_http_pfs_s3_auth_time_field(r, "RequestTime", t) != NGX_OK
            || ngx_http_pfs_s3_auth_time_field(r, "ServerTime", now)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_pfs_s3_auth_fail(r, NGX_HTTP_PFS_S3_ERR_TIME_SKEWED,
                                         NULL);
    }

    return NGX_OK;
}


/*
 * Headers that must be signed, as S3 requires: Host (else a request for one
 * virtual-hosted bucket could be replayed against another) and every
 * x-amz-* header present (else a replayed CopyObject could be given another
 * x-amz-copy-source, say).
 */

static ngx_int_t
ngx_http_pfs_s3_auth_unsigned(ngx_http_request_t *r,
    ngx_http_pfs_s3_auth_t *a)
{
    u_char                *p;
    size_t                 len;
    ngx_str_t              host = ngx_string("host"), names;
    ngx_uint_t             i;
    ngx_http_pfs_s3_kv_t  *kv;

    kv = a->headers.elts;
    len = 0;

    for (i = 0; i < a->headers.nelts; i++) {
        len += kv[i].name.len + 2;
    }

    names.data = ngx_pnalloc(r->pool, len + host.len);
    if (names.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = names.data;

    if (!ngx_http_pfs_s3_auth_signed(&a->v4.signed_headers, &host)) {
        p = ngx_cpymem(p, host.data, host.len);
    }

    for (i = 0; i < a->headers.nelts; i++) {
        if (kv[i].name.len > sizeof("x-amz-") - 1
            && ngx_strncmp(kv[i].name.data, "x-amz-", sizeof("x-amz-") - 1)
               == 0
            && !ngx_http_pfs_s3_auth_signed(&a->v4.signed_headers,
                                            &kv[i].name))
        {
            if (p != names.data) {
                p = ngx_cpymem(p, ", ", 2);
            }

            p = ngx_cpymem(p, kv[i].name.data, kv[i].name.len);
        }
    }

    if (p == names.data) {
        return NGX_OK;
    }

    names.len = p - names.data;

    if (ngx_http_pfs_s3_auth_field(r, "HeadersNotSigned", &names) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_pfs_s3_auth_fail(r, NGX_HTTP_PFS_S3_ERR_ACCESS_DENIED,
                                     "There were headers present in the "
                                     "request which were not signed");
}


/* whether name is in the SignedHeaders list "a;b;c" */

static ngx_uint_t
ngx_http_pfs_s3_auth_signed(ngx_str_t *list, ngx_str_t *name)
{
    u_char  *p, *last, *end;

    p = list->data;
    last = p + list->len;

    while (p < last) {
        end = ngx_strlchr(p, last, ';');
        if (end == NULL) {
            end = last;
        }

        if ((size_t) (end - p) == name->len
            && ngx_strncasecmp(p, name->data, name->len) == 0)
        {
            return 1;
        }

        p = end + 1;
    }

    return 0;
}


/* The request headers as name/value pairs, names lowercase. */

static ngx_int_t
ngx_http_pfs_s3_auth_headers(ngx_http_request_t *r, ngx_http_pfs_s3_auth_t *a)
{
    ngx_uint_t             i;
    ngx_list_part_t       *part;
    ngx_table_elt_t       *h;
    ngx_http_pfs_s3_kv_t  *kv;

    if (ngx_array_init(&a->headers, r->pool, 16, sizeof(ngx_http_pfs_s3_kv_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        kv = ngx_array_push(&a->headers);
        if (kv == NULL) {
            return NGX_ERROR;
        }

        kv->name.data = h[i].lowcase_key;
        kv->name.len = h[i].key.len;
        kv->value = h[i].value;
    }

    return NGX_OK;
}


/*
 * SignatureDoesNotMatch with the hints S3 gives: what we signed, so that a
 * client author can see where the two sides differ.  In pachd mode the
 * access key is the Pachyderm token: it is left out, and so is the
 * canonical request, whose query may hold it (X-Amz-Credential).
 */

static ngx_int_t
ngx_http_pfs_s3_auth_mismatch(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx, ngx_http_pfs_s3_auth_t *a, ngx_str_t *sts,
    ngx_str_t *canonical)
{
    ngx_uint_t                   secret_key;
    ngx_http_pfs_s3_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_pfs_s3_module);
    secret_key = (plcf->auth == NGX_HTTP_PFS_S3_AUTH_PACHD);

    if (secret_key) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "pfs_s3: signature V%ui does not match (pachd token)",
                      a->version);

    } else {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "pfs_s3: signature V%ui does not match for access key "
                      "\"%V\"", a->version, &a->access_key);

        if (ngx_http_pfs_s3_auth_field(r, "AWSAccessKeyId", &a->access_key)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ngx_http_pfs_s3_auth_field(r, "StringToSign", sts) != NGX_OK
        || ngx_http_pfs_s3_auth_field(r, "SignatureProvided", &a->signature)
           != NGX_OK
        || ngx_http_pfs_s3_auth_field(r, "StringToSignBytes",
                                  ngx_http_pfs_s3_hex_bytes(r->pool, sts))
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (canonical && !secret_key) {
        if (ngx_http_pfs_s3_auth_field(r, "CanonicalRequest", canonical)
            != NGX_OK
            || ngx_http_pfs_s3_auth_field(r, "CanonicalRequestBytes",
                                  ngx_http_pfs_s3_hex_bytes(r->pool, canonical))
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    (void) ctx;

    return ngx_http_pfs_s3_answer(r,
                                  NGX_HTTP_PFS_S3_ERR_SIGNATURE_DOES_NOT_MATCH,
                                  NULL);
}


/* Answers an authentication failure; "why" is the message, when given. */

static ngx_int_t
ngx_http_pfs_s3_auth_fail(ngx_http_request_t *r, ngx_http_pfs_s3_err_e err,
    const char *why)
{
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "pfs_s3: authentication failed: %V%s%s",
                  &ngx_http_pfs_s3_error(err)->code, why ? ": " : "",
                  why ? why : "");

    return ngx_http_pfs_s3_answer(r, err, why);
}


static ngx_int_t
ngx_http_pfs_s3_auth_field(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    ngx_http_pfs_s3_kv_t   *kv;
    ngx_http_pfs_s3_ctx_t  *ctx;

    if (value == NULL) {
        return NGX_ERROR;
    }

    ctx = ngx_http_pfs_s3_get_ctx(r);

    if (ctx->error_fields == NULL) {
        ctx->error_fields = ngx_array_create(r->pool, 8,
                                             sizeof(ngx_http_pfs_s3_kv_t));
        if (ctx->error_fields == NULL) {
            return NGX_ERROR;
        }
    }

    kv = ngx_array_push(ctx->error_fields);
    if (kv == NULL) {
        return NGX_ERROR;
    }

    kv->name.data = (u_char *) name;
    kv->name.len = ngx_strlen(name);
    kv->value = *value;

    return NGX_OK;
}


/* an ISO 8601 time field: 2013-05-24T00:00:00Z */

static ngx_int_t
ngx_http_pfs_s3_auth_time_field(ngx_http_request_t *r, const char *name,
    time_t t)
{
    ngx_tm_t   tm;
    ngx_str_t  v;

    v.data = ngx_pnalloc(r->pool, sizeof("2013-05-24T00:00:00Z"));
    if (v.data == NULL) {
        return NGX_ERROR;
    }

    ngx_gmtime(t, &tm);

    v.len = ngx_sprintf(v.data, "%4d-%02d-%02dT%02d:%02d:%02dZ",
                        tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                        tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec)
            - v.data;

    return ngx_http_pfs_s3_auth_field(r, name, &v);
}


/* "47 45 54 0a ...": how S3 shows the bytes that were signed */

static ngx_str_t *
ngx_http_pfs_s3_hex_bytes(ngx_pool_t *pool, ngx_str_t *s)
{
    u_char     *p;
    ngx_str_t  *v;
    ngx_uint_t  i;

    v = ngx_palloc(pool, sizeof(ngx_str_t));
    if (v == NULL) {
        return NULL;
    }

    v->data = ngx_pnalloc(pool, s->len * 3 + 1);
    if (v->data == NULL) {
        return NULL;
    }

    p = v->data;

    for (i = 0; i < s->len; i++) {
        if (i) {
            *p++ = ' ';
        }

        p = ngx_http_pfs_s3_hex(p, &s->data[i], 1);
    }

    v->len = p - v->data;

    return v;
}


/* "20130524T000000Z" */

static time_t
ngx_http_pfs_s3_parse_amz_date(ngx_str_t *v)
{
    u_char      *p;
    ngx_int_t    year, mon, day, hour, min, sec;
    ngx_uint_t   i;

    if (v->len != sizeof("20130524T000000Z") - 1
        || v->data[8] != 'T' || v->data[15] != 'Z')
    {
        return NGX_ERROR;
    }

    p = v->data;

    for (i = 0; i < 15; i++) {
        if (i != 8 && (p[i] < '0' || p[i] > '9')) {
            return NGX_ERROR;
        }
    }

    year = ngx_atoi(p, 4);
    mon = ngx_atoi(p + 4, 2);
    day = ngx_atoi(p + 6, 2);
    hour = ngx_atoi(p + 9, 2);
    min = ngx_atoi(p + 11, 2);
    sec = ngx_atoi(p + 13, 2);

    if (year < 1970 || mon < 1 || mon > 12 || day < 1 || day > 31
        || hour > 23 || min > 59 || sec > 60)
    {
        return NGX_ERROR;
    }

    /* days from the epoch, as ngx_parse_http_time() counts (January 0) */

    mon--;

    if (--mon <= 0) {
        mon += 12;
        year -= 1;
    }

    return (time_t) (365 * year + year / 4 - year / 100 + year / 400
                     + 367 * mon / 12 - 30 + day - 1 - 719527 + 31 + 28)
               * 86400 + hour * 3600 + min * 60 + sec;
}


u_char *
ngx_http_pfs_s3_amz_date(u_char *p, time_t t)
{
    ngx_tm_t  tm;

    ngx_gmtime(t, &tm);

    return ngx_sprintf(p, "%4d%02d%02dT%02d%02d%02dZ", tm.ngx_tm_year,
                       tm.ngx_tm_mon, tm.ngx_tm_mday, tm.ngx_tm_hour,
                       tm.ngx_tm_min, tm.ngx_tm_sec);
}


/*
 * In pachd mode the access key of a presigned URL is a Pachyderm token, and
 * the URL is in the request line, which nginx writes into the access log
 * ($request) and after every error log message of the request.  The line
 * is replaced by a copy in which the token reads "[token]" (the query
 * itself, $args and $request_uri, are left as they are).
 */

static ngx_int_t
ngx_http_pfs_s3_auth_redact(ngx_http_request_t *r, ngx_str_t *token)
{
    u_char     *p, *q, *last, *found;
    size_t      n;
    ngx_str_t   mask = ngx_string("[token]");

    if (token->len == 0) {
        return NGX_OK;
    }

    p = r->request_line.data;
    last = p + r->request_line.len;

    q = ngx_pnalloc(r->pool, r->request_line.len
                             + r->request_line.len / token->len * mask.len);
    if (q == NULL) {
        return NGX_ERROR;
    }

    r->request_line.data = q;

    for ( ;; ) {
        found = ngx_strlcasestrn(p, last, token->data, token->len - 1);
        n = (found ? found : last) - p;

        q = ngx_cpymem(q, p, n);

        if (found == NULL) {
            break;
        }

        q = ngx_cpymem(q, mask.data, mask.len);
        p = found + token->len;
    }

    r->request_line.len = q - r->request_line.data;

    return NGX_OK;
}


static void
ngx_http_pfs_s3_auth_cleanup(void *data)
{
    ngx_http_pfs_s3_auth_t  *a = data;

    OPENSSL_cleanse(a->key, sizeof(a->key));

    if (a->chunk_sha) {
        EVP_MD_CTX_free(a->chunk_sha);
    }
}


/* ---------------------------------------------------------------- config */

ngx_conf_enum_t  ngx_http_pfs_s3_auth_modes[] = {
    { ngx_string("off"), NGX_HTTP_PFS_S3_AUTH_OFF },
    { ngx_string("pachd"), NGX_HTTP_PFS_S3_AUTH_PACHD },
    { ngx_string("static"), NGX_HTTP_PFS_S3_AUTH_STATIC },
    { ngx_null_string, 0 }
};


/*
 * pfs_s3_auth_credentials FILE: read when the configuration is (so nginx
 * -s reload reads it again); a bad line is an nginx -t error that names
 * the file and line, never the secret on it.
 */

char *
ngx_http_pfs_s3_auth_credentials(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_pfs_s3_loc_conf_t *plcf = conf;

    ngx_str_t  *value;

    if (plcf->credentials != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_conf_full_name(cf->cycle, &value[1], 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    plcf->credentials = ngx_array_create(cf->pool, 4,
                                         sizeof(ngx_http_pfs_s3_cred_t));
    if (plcf->credentials == NULL) {
        return NGX_CONF_ERROR;
    }

    return ngx_http_pfs_s3_auth_read_creds(cf, cmd, &value[1],
                                           plcf->credentials);
}


static char *
ngx_http_pfs_s3_auth_read_creds(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_str_t *file, ngx_array_t *creds)
{
    u_char                  *buf, *p, *last, *eol, *f[3];
    size_t                   len[3];
    ssize_t                  n;
    ngx_fd_t                 fd;
    ngx_uint_t               line, nf, i;
    ngx_file_info_t          fi;
    ngx_http_pfs_s3_cred_t  *cred;
    const char              *why;

    fd = ngx_open_file(file->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"%V\": cannot open \"%V\"", &cmd->name, file);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > NGX_HTTP_PFS_S3_MAX_CREDS)
    {
        ngx_close_file(fd);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": \"%V\" cannot be read or is larger "
                           "than 1 MiB", &cmd->name, file);
        return NGX_CONF_ERROR;
    }

    buf = ngx_pnalloc(cf->pool, ngx_file_size(&fi) + 1);
    if (buf == NULL) {
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    n = ngx_read_fd(fd, buf, ngx_file_size(&fi));
    ngx_close_file(fd);

    if (n != (ssize_t) ngx_file_size(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"%V\": cannot read \"%V\"", &cmd->name, file);
        return NGX_CONF_ERROR;
    }

    p = buf;
    last = buf + n;

    for (line = 1; p < last; line++, p = eol + 1) {
        eol = ngx_strlchr(p, last, '\n');
        if (eol == NULL) {
            eol = last;
        }

        /* fields separated by blanks; "#" starts a comment */

        nf = 0;
        why = NULL;

        while (p < eol) {
            while (p < eol && (*p == ' ' || *p == '\t' || *p == '\r')) {
                p++;
            }

            if (p == eol || *p == '#') {
                break;
            }

            if (nf == 3) {
                why = "more than three fields";
                break;
            }

            f[nf] = p;

            while (p < eol && *p != ' ' && *p != '\t' && *p != '\r') {
                if (*p < 0x21 || *p > 0x7e) {
                    why = "a field holds a character other than printable "
                          "ASCII";
                }

                p++;
            }

            len[nf] = p - f[nf];
            nf++;
        }

        if (nf == 0 && why == NULL) {
            continue;
        }

        if (why == NULL && nf < 2) {
            why = "expected \"<access key> <secret key> [<PFS token>]\"";
        }

        if (why == NULL && ngx_strlchr(f[0], f[0] + len[0], ':')) {
            why = "an access key cannot hold \":\"";
        }

        if (why == NULL) {
            cred = creds->elts;

            for (i = 0; i < creds->nelts; i++) {
                if (cred[i].access_key.len == len[0]
                    && ngx_strncmp(cred[i].access_key.data, f[0], len[0])
                       == 0)
                {
                    why = "the access key is on an earlier line too";
                    break;
                }
            }
        }

        if (why) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\": \"%V\" line %ui: %s",
                               &cmd->name, file, line, why);
            return NGX_CONF_ERROR;
        }

        cred = ngx_array_push(creds);
        if (cred == NULL) {
            return NGX_CONF_ERROR;
        }

        cred->access_key.data = f[0];
        cred->access_key.len = len[0];
        cred->secret.data = f[1];
        cred->secret.len = len[1];

        if (nf == 3) {
            cred->token.data = f[2];
            cred->token.len = len[2];

        } else {
            ngx_str_null(&cred->token);
        }
    }

    return NGX_CONF_OK;
}


char *
ngx_http_pfs_s3_auth_merge(ngx_conf_t *cf, ngx_http_pfs_s3_loc_conf_t *prev,
    ngx_http_pfs_s3_loc_conf_t *conf)
{
    ngx_conf_merge_uint_value(conf->auth, prev->auth,
                              NGX_HTTP_PFS_S3_AUTH_OFF);
    ngx_conf_merge_ptr_value(conf->credentials, prev->credentials, NULL);
    ngx_conf_merge_msec_value(conf->auth_cache, prev->auth_cache, 10000);

    if (conf->enable && conf->auth == NGX_HTTP_PFS_S3_AUTH_STATIC
        && conf->credentials == NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"pfs_s3_auth static\" needs "
                           "\"pfs_s3_auth_credentials\"");
        return NGX_CONF_ERROR;
    }

    if (conf->auth == NGX_HTTP_PFS_S3_AUTH_PACHD && conf->auth_state == NULL)
    {
        if (prev->auth == NGX_HTTP_PFS_S3_AUTH_PACHD && prev->auth_state) {
            conf->auth_state = prev->auth_state;

        } else {
            conf->auth_state = ngx_pcalloc(cf->pool,
                                        sizeof(ngx_http_pfs_s3_auth_state_t));
            if (conf->auth_state == NULL) {
                return NGX_CONF_ERROR;
            }
        }
    }

    return NGX_CONF_OK;
}
