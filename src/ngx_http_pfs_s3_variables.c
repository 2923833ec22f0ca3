/*
 * Variables for access logs:
 *
 *   $pfs_s3_operation    the S3 operation ("GetObject"), also for the ones
 *                        answered NotImplemented
 *   $pfs_s3_bucket       the bucket as addressed
 *   $pfs_s3_key          the object key, decoded
 *   $pfs_s3_error_code   the S3 error code of the answer ("NoSuchKey")
 *   $pfs_s3_request_id   the x-amz-request-id of the answer
 *   $pfs_s3_pfs_status   the PFS calls made and their gRPC status,
 *                        "InspectFile:OK,GetFile:OK"
 *
 * Values are not found (logged as "-") when they do not apply.
 */

#include <ngx_http_pfs_s3.h>


static ngx_int_t ngx_http_pfs_s3_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_pfs_s3_vars[] = {

    { ngx_string("pfs_s3_operation"), NULL, ngx_http_pfs_s3_variable,
      offsetof(ngx_http_pfs_s3_ctx_t, op_name), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("pfs_s3_bucket"), NULL, ngx_http_pfs_s3_variable,
      offsetof(ngx_http_pfs_s3_ctx_t, bucket.name),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("pfs_s3_key"), NULL, ngx_http_pfs_s3_variable,
      offsetof(ngx_http_pfs_s3_ctx_t, key), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("pfs_s3_error_code"), NULL, ngx_http_pfs_s3_variable,
      offsetof(ngx_http_pfs_s3_ctx_t, error_code),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("pfs_s3_request_id"), NULL, ngx_http_pfs_s3_variable,
      offsetof(ngx_http_pfs_s3_ctx_t, request_id),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("pfs_s3_pfs_status"), NULL, ngx_http_pfs_s3_variable,
      offsetof(ngx_http_pfs_s3_ctx_t, pfs_status),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_pfs_s3_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_pfs_s3_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_pfs_s3_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    ngx_str_t              *s;
    ngx_http_pfs_s3_ctx_t  *ctx;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = (ngx_str_t *) ((u_char *) ctx + data);

    if (s->len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = s->len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = s->data;

    return NGX_OK;
}
