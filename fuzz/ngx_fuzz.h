/*
 * Shared by the fuzz targets of the nginx module: the minimal runtime in
 * ngx_fuzz_rt.c and helpers to build a request as nginx would hand it over.
 */

#ifndef _NGX_FUZZ_H_INCLUDED_
#define _NGX_FUZZ_H_INCLUDED_

#include <ngx_http_pfs_s3.h>

#include <stddef.h>
#include <stdint.h>


typedef struct {
    ngx_uint_t   status;
    ngx_uint_t   sent;
    u_char       body[256 * 1024];
    size_t       body_len;
} ngx_fuzz_response_t;


extern ngx_fuzz_response_t  ngx_fuzz_response;
extern ngx_int_t (*ngx_fuzz_body_out)(ngx_http_request_t *r, ngx_chain_t *in);


ngx_http_request_t *ngx_fuzz_request(ngx_pool_t *pool,
    ngx_http_pfs_s3_loc_conf_t *lcf, ngx_http_pfs_s3_main_conf_t *mcf);
ngx_table_elt_t *ngx_fuzz_add_header(ngx_http_request_t *r, u_char *key,
    size_t klen, u_char *value, size_t vlen);
ngx_int_t ngx_fuzz_request_lines(ngx_http_request_t *r, u_char *buf,
    size_t len);
void ngx_fuzz_conf(ngx_pool_t *pool, ngx_http_pfs_s3_loc_conf_t *lcf,
    ngx_http_pfs_s3_main_conf_t *mcf);
void ngx_fuzz_check_xml(void);
void ngx_fuzz_take(ngx_chain_t *in, u_char *out, size_t *len);
ngx_buf_t *ngx_fuzz_piece(ngx_pool_t *pool, const u_char *data, size_t n);


/* A target's finding: printed, then abort() so that libFuzzer keeps it. */
#define ngx_fuzz_assert(cond, what)                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "fuzz: %s: %s\n", what, #cond);                  \
            abort();                                                         \
        }                                                                    \
    } while (0)


#endif /* _NGX_FUZZ_H_INCLUDED_ */
