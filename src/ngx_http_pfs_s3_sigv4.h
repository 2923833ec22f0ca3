/*
 * AWS request signatures: the pure parts (parsing, canonical forms, string
 * to sign, HMAC).  They depend on nginx's types and on ngx_palloc() only,
 * not on a request, so that the unit tests (t/unit/) and fuzz targets can
 * drive them with the published test vectors.  The request glue (which
 * credentials, what time, which S3 error) is in ngx_http_pfs_s3_auth.c.
 */

#ifndef _NGX_HTTP_PFS_S3_SIGV4_H_INCLUDED_
#define _NGX_HTTP_PFS_S3_SIGV4_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_HTTP_PFS_S3_SHA256_HEX      64
#define NGX_HTTP_PFS_S3_MAX_PRESIGN     (7 * 24 * 3600)
#define NGX_HTTP_PFS_S3_CHUNK_STS       (32 + 16 + 256 + 3 * 64 + 8)


/* a header or query argument; header names lowercase */
typedef struct {
    ngx_str_t                  name;
    ngx_str_t                  value;
} ngx_http_pfs_s3_kv_t;


/* A Signature V4, from the Authorization header or a presigned URL. */
typedef struct {
    ngx_str_t                  access_key;
    ngx_str_t                  date;            /* of the scope: YYYYMMDD */
    ngx_str_t                  region;
    ngx_str_t                  service;
    ngx_str_t                  scope;           /* date/region/service/... */
    ngx_str_t                  signed_headers;  /* "host;x-amz-date" */
    ngx_str_t                  signature;       /* 64 hex digits */
    ngx_str_t                  amz_date;        /* X-Amz-Date (presigned) */
    ngx_str_t                  expires;         /* X-Amz-Expires */
} ngx_http_pfs_s3_sigv4_t;


/* What a canonical request is made of. */
typedef struct {
    ngx_str_t                  method;
    ngx_str_t                  path;            /* raw, as sent */
    ngx_str_t                  query;           /* raw, without "?" */
    ngx_http_pfs_s3_kv_t      *headers;
    ngx_uint_t                 nheaders;
    ngx_str_t                  signed_headers;
    ngx_str_t                  payload_hash;
    unsigned                   s3:1;            /* encode once, keep dots */
    unsigned                   presigned:1;     /* omit X-Amz-Signature */
} ngx_http_pfs_s3_canon_t;


/* What a Signature V2 string to sign is made of. */
typedef struct {
    ngx_str_t                  method;
    ngx_str_t                  content_md5;
    ngx_str_t                  content_type;
    ngx_str_t                  date;            /* or Expires of a query */
    ngx_http_pfs_s3_kv_t      *headers;         /* x-amz-* are taken */
    ngx_uint_t                 nheaders;
    ngx_str_t                  resource;        /* "/bucket/raw/key" */
    ngx_http_pfs_s3_kv_t      *args;            /* decoded query arguments */
    ngx_uint_t                 nargs;
} ngx_http_pfs_s3_v2_input_t;


ngx_int_t ngx_http_pfs_s3_sigv4_parse_header(ngx_str_t *value,
    ngx_http_pfs_s3_sigv4_t *sig, const char **why);
ngx_int_t ngx_http_pfs_s3_sigv4_parse_credential(ngx_str_t *cred,
    ngx_http_pfs_s3_sigv4_t *sig, const char **why);
ngx_int_t ngx_http_pfs_s3_sigv4_canonical(ngx_pool_t *pool,
    ngx_http_pfs_s3_canon_t *in, ngx_str_t *out);
ngx_int_t ngx_http_pfs_s3_sigv4_string_to_sign(ngx_pool_t *pool,
    ngx_str_t *amz_date, ngx_str_t *scope, ngx_str_t *canonical,
    ngx_str_t *out);
size_t ngx_http_pfs_s3_sigv4_chunk_string(u_char *buf, ngx_str_t *amz_date,
    ngx_str_t *scope, u_char *prev, u_char *hash, ngx_uint_t trailer);
ngx_int_t ngx_http_pfs_s3_sigv4_key(ngx_str_t *secret,
    ngx_http_pfs_s3_sigv4_t *sig, u_char *key);
ngx_int_t ngx_http_pfs_s3_sigv4_sign(u_char *key, ngx_str_t *sts,
    u_char *hex);

ngx_int_t ngx_http_pfs_s3_sigv2_string_to_sign(ngx_pool_t *pool,
    ngx_http_pfs_s3_v2_input_t *in, ngx_str_t *out);
ngx_int_t ngx_http_pfs_s3_sigv2_sign(ngx_str_t *secret, ngx_str_t *sts,
    ngx_str_t *b64);

ngx_int_t ngx_http_pfs_s3_split_query(ngx_pool_t *pool, ngx_str_t *query,
    ngx_array_t *args);
ngx_int_t ngx_http_pfs_s3_sha256_hex(u_char *data, size_t len, u_char *hex);
u_char *ngx_http_pfs_s3_hex(u_char *dst, u_char *src, size_t len);
ngx_int_t ngx_http_pfs_s3_sig_equal(ngx_str_t *got, u_char *want,
    size_t len);


#endif /* _NGX_HTTP_PFS_S3_SIGV4_H_INCLUDED_ */
