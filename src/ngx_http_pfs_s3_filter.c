/*
 * Header and body filters.  As a dynamic module this module initialises
 * after nginx's static filters, so its filters run first.
 *
 * For a PFS call (a subrequest whose context is a call), the gRPC response
 * header and body stay inside nginx: the body goes to the decoder, and only
 * object bytes of GetFile continue down the chain to the client.
 *
 * For an S3 request, the header filter adds x-amz-request-id to whatever
 * response goes out, including the ones nginx makes itself (413, 500).
 */

#include <ngx_http_pfs_s3.h>


static ngx_int_t ngx_http_pfs_s3_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_pfs_s3_early_header(ngx_http_request_t *r);
static ngx_int_t ngx_http_pfs_s3_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


ngx_int_t
ngx_http_pfs_s3_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_pfs_s3_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_pfs_s3_body_filter;

    return NGX_OK;
}


ngx_int_t
ngx_http_pfs_s3_next_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    return ngx_http_next_body_filter(r, in);
}


static ngx_int_t
ngx_http_pfs_s3_header_filter(ngx_http_request_t *r)
{
    ngx_uint_t              *type;
    ngx_http_pfs_s3_ctx_t   *ctx;

    type = ngx_http_get_module_ctx(r, ngx_http_pfs_s3_module);

    if (type == NULL) {
        return ngx_http_pfs_s3_early_header(r);
    }

    if (*type == NGX_HTTP_PFS_S3_CTX_CALL) {
        r->header_sent = 1;
        return NGX_OK;
    }

    ctx = (ngx_http_pfs_s3_ctx_t *) type;

    if (r == r->main && ctx->request_id.len && !ctx->response_sent) {
        ctx->response_sent = 1;

        if (ngx_http_pfs_s3_add_header(r, "x-amz-request-id",
                                       ctx->request_id.data,
                                       ctx->request_id.len)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return ngx_http_next_header_filter(r);
}


/*
 * Responses nginx makes before the S3 handler runs (413 for a body over
 * client_max_body_size, 400 for a malformed header) carry the request id
 * too when they are for a pfs_s3 location.
 */

static ngx_int_t
ngx_http_pfs_s3_early_header(ngx_http_request_t *r)
{
    ngx_http_variable_value_t    *vv;
    ngx_http_pfs_s3_loc_conf_t   *plcf;
    ngx_http_pfs_s3_main_conf_t  *mcf;

    if (r != r->main || r->loc_conf == NULL) {
        return ngx_http_next_header_filter(r);
    }

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_pfs_s3_module);

    if (plcf == NULL || !plcf->enable) {
        return ngx_http_next_header_filter(r);
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_pfs_s3_module);

    vv = ngx_http_get_indexed_variable(r, mcf->request_id_index);

    if (vv && !vv->not_found
        && ngx_http_pfs_s3_add_header(r, "x-amz-request-id", vv->data, vv->len)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_pfs_s3_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_http_pfs_s3_call_t  *call;

    call = ngx_http_get_module_ctx(r, ngx_http_pfs_s3_module);

    if (call == NULL || call->type != NGX_HTTP_PFS_S3_CTX_CALL) {
        return ngx_http_next_body_filter(r, in);
    }

    return ngx_http_pfs_s3_decode(r, call, in);
}
