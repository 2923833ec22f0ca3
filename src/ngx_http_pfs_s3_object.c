/* Object operations (being written). */

#include <ngx_http_pfs_s3.h>


ngx_int_t
ngx_http_pfs_s3_get_object(ngx_http_request_t *r)
{
    return ngx_http_pfs_s3_send_error(r, NGX_HTTP_PFS_S3_ERR_NOT_IMPLEMENTED,
                                      NULL);
}


ngx_int_t
ngx_http_pfs_s3_put_object(ngx_http_request_t *r)
{
    return ngx_http_pfs_s3_send_error(r, NGX_HTTP_PFS_S3_ERR_NOT_IMPLEMENTED,
                                      NULL);
}


ngx_int_t
ngx_http_pfs_s3_delete_object(ngx_http_request_t *r)
{
    return ngx_http_pfs_s3_send_error(r, NGX_HTTP_PFS_S3_ERR_NOT_IMPLEMENTED,
                                      NULL);
}
