/* Listing (being written). */

#include <ngx_http_pfs_s3.h>


ngx_int_t
ngx_http_pfs_s3_list_objects(ngx_http_request_t *r)
{
    return ngx_http_pfs_s3_send_error(r, NGX_HTTP_PFS_S3_ERR_NOT_IMPLEMENTED,
                                      NULL);
}
