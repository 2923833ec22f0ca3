/*
 * ngx_http_pfs_s3: declarations shared by the module's source files.
 *
 * One main request is one S3 operation.  Its state (ngx_http_pfs_s3_ctx_t)
 * lives in the request pool; every PFS call is a subrequest whose context is
 * an ngx_http_pfs_s3_call_t.  Both contexts start with a type tag so that the
 * filters can tell them apart.
 */

#ifndef _NGX_HTTP_PFS_S3_H_INCLUDED_
#define _NGX_HTTP_PFS_S3_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <protobuf-c/protobuf-c.h>
#include <pfs.pb-c.h>
#include <google/protobuf/wrappers.pb-c.h>
#include <google/protobuf/timestamp.pb-c.h>
#include <google/protobuf/empty.pb-c.h>

#include <openssl/evp.h>

#include <ngx_http_pfs_s3_sigv4.h>


#define NGX_HTTP_PFS_S3_CTX_REQUEST    1
#define NGX_HTTP_PFS_S3_CTX_CALL       2

#define NGX_HTTP_PFS_S3_MAX_KEY_LEN    1024
#define NGX_HTTP_PFS_S3_MAX_KEYS       1000
#define NGX_HTTP_PFS_S3_MAX_TRAILER    1024

/* multipart uploads live in this PFS repo (project default, branch master) */
#define NGX_HTTP_PFS_S3_MULTIPART_REPO  "_s3gateway_multipart_"

/* gRPC status codes used by name */
#define NGX_HTTP_PFS_S3_GRPC_OK                   0
#define NGX_HTTP_PFS_S3_GRPC_UNKNOWN              2
#define NGX_HTTP_PFS_S3_GRPC_INVALID_ARGUMENT     3
#define NGX_HTTP_PFS_S3_GRPC_DEADLINE_EXCEEDED    4
#define NGX_HTTP_PFS_S3_GRPC_NOT_FOUND            5
#define NGX_HTTP_PFS_S3_GRPC_ALREADY_EXISTS       6
#define NGX_HTTP_PFS_S3_GRPC_PERMISSION_DENIED    7
#define NGX_HTTP_PFS_S3_GRPC_RESOURCE_EXHAUSTED   8
#define NGX_HTTP_PFS_S3_GRPC_FAILED_PRECONDITION  9
#define NGX_HTTP_PFS_S3_GRPC_UNIMPLEMENTED        12
#define NGX_HTTP_PFS_S3_GRPC_INTERNAL             13
#define NGX_HTTP_PFS_S3_GRPC_UNAVAILABLE          14
#define NGX_HTTP_PFS_S3_GRPC_UNAUTHENTICATED      16


/* S3 operations; names in ngx_http_pfs_s3_op_names[] */
typedef enum {
    NGX_HTTP_PFS_S3_OP_NONE = 0,
    NGX_HTTP_PFS_S3_OP_LIST_BUCKETS,
    NGX_HTTP_PFS_S3_OP_CREATE_BUCKET,
    NGX_HTTP_PFS_S3_OP_HEAD_BUCKET,
    NGX_HTTP_PFS_S3_OP_DELETE_BUCKET,
    NGX_HTTP_PFS_S3_OP_GET_BUCKET_LOCATION,
    NGX_HTTP_PFS_S3_OP_GET_BUCKET_VERSIONING,
    NGX_HTTP_PFS_S3_OP_PUT_BUCKET_VERSIONING,
    NGX_HTTP_PFS_S3_OP_LIST_OBJECTS,
    NGX_HTTP_PFS_S3_OP_LIST_OBJECTS_V2,
    NGX_HTTP_PFS_S3_OP_HEAD_OBJECT,
    NGX_HTTP_PFS_S3_OP_GET_OBJECT,
    NGX_HTTP_PFS_S3_OP_PUT_OBJECT,
    NGX_HTTP_PFS_S3_OP_DELETE_OBJECT,
    NGX_HTTP_PFS_S3_OP_COPY_OBJECT,
    NGX_HTTP_PFS_S3_OP_DELETE_OBJECTS,
    NGX_HTTP_PFS_S3_OP_LIST_OBJECT_VERSIONS,
    NGX_HTTP_PFS_S3_OP_CREATE_MULTIPART_UPLOAD,
    NGX_HTTP_PFS_S3_OP_UPLOAD_PART,
    NGX_HTTP_PFS_S3_OP_UPLOAD_PART_COPY,
    NGX_HTTP_PFS_S3_OP_COMPLETE_MULTIPART_UPLOAD,
    NGX_HTTP_PFS_S3_OP_ABORT_MULTIPART_UPLOAD,
    NGX_HTTP_PFS_S3_OP_LIST_PARTS,
    NGX_HTTP_PFS_S3_OP_LIST_MULTIPART_UPLOADS,
    NGX_HTTP_PFS_S3_OP_GET_OBJECT_TAGGING,
    NGX_HTTP_PFS_S3_OP_UNSUPPORTED      /* name in ctx->op_name */
} ngx_http_pfs_s3_op_e;


/* S3 errors; the table is in ngx_http_pfs_s3_error.c */
typedef enum {
    NGX_HTTP_PFS_S3_ERR_NONE = 0,
    NGX_HTTP_PFS_S3_ERR_ACCESS_DENIED,
    NGX_HTTP_PFS_S3_ERR_BAD_DIGEST,
    NGX_HTTP_PFS_S3_ERR_BUCKET_ALREADY_OWNED,
    NGX_HTTP_PFS_S3_ERR_BUCKET_NOT_EMPTY,
    NGX_HTTP_PFS_S3_ERR_ENTITY_TOO_LARGE,
    NGX_HTTP_PFS_S3_ERR_ENTITY_TOO_SMALL,
    NGX_HTTP_PFS_S3_ERR_INCOMPLETE_BODY,
    NGX_HTTP_PFS_S3_ERR_INTERNAL,
    NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT,
    NGX_HTTP_PFS_S3_ERR_INVALID_BUCKET_NAME,
    NGX_HTTP_PFS_S3_ERR_INVALID_BUCKET_STATE,
    NGX_HTTP_PFS_S3_ERR_INVALID_DELIMITER,
    NGX_HTTP_PFS_S3_ERR_INVALID_DIGEST,
    NGX_HTTP_PFS_S3_ERR_INVALID_FILE_PATH,
    NGX_HTTP_PFS_S3_ERR_INVALID_LOCATION,
    NGX_HTTP_PFS_S3_ERR_INVALID_PART,
    NGX_HTTP_PFS_S3_ERR_INVALID_PART_ORDER,
    NGX_HTTP_PFS_S3_ERR_INVALID_RANGE,
    NGX_HTTP_PFS_S3_ERR_INVALID_REQUEST,
    NGX_HTTP_PFS_S3_ERR_INVALID_URI,
    NGX_HTTP_PFS_S3_ERR_KEY_TOO_LONG,
    NGX_HTTP_PFS_S3_ERR_MALFORMED_XML,
    NGX_HTTP_PFS_S3_ERR_METHOD_NOT_ALLOWED,
    NGX_HTTP_PFS_S3_ERR_MISSING_CONTENT_LENGTH,
    NGX_HTTP_PFS_S3_ERR_NO_SUCH_BUCKET,
    NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY,
    NGX_HTTP_PFS_S3_ERR_NO_SUCH_UPLOAD,
    NGX_HTTP_PFS_S3_ERR_NO_SUCH_VERSION,
    NGX_HTTP_PFS_S3_ERR_NOT_IMPLEMENTED,
    NGX_HTTP_PFS_S3_ERR_NOT_MODIFIED,
    NGX_HTTP_PFS_S3_ERR_PRECONDITION_FAILED,
    NGX_HTTP_PFS_S3_ERR_SERVICE_UNAVAILABLE,
    NGX_HTTP_PFS_S3_ERR_SHA256_MISMATCH,
    NGX_HTTP_PFS_S3_ERR_SLOW_DOWN,
    NGX_HTTP_PFS_S3_ERR_INVALID_ACCESS_KEY_ID,
    NGX_HTTP_PFS_S3_ERR_SIGNATURE_DOES_NOT_MATCH,
    NGX_HTTP_PFS_S3_ERR_AUTHORIZATION_MALFORMED,
    NGX_HTTP_PFS_S3_ERR_QUERY_PARAMETERS_ERROR,
    NGX_HTTP_PFS_S3_ERR_TIME_SKEWED,
    NGX_HTTP_PFS_S3_ERR_LAST
} ngx_http_pfs_s3_err_e;


/* a line of the credentials file (pfs_s3_auth static) */
typedef struct {
    ngx_str_t                  access_key;
    ngx_str_t                  secret;
    ngx_str_t                  token;          /* empty: pfs_s3_pfs_token */
} ngx_http_pfs_s3_cred_t;


typedef struct {
    ngx_str_t                  code;
    ngx_uint_t                 status;
    ngx_str_t                  message;
} ngx_http_pfs_s3_error_t;


/* What a PFS error message says, recognised by pachd's message shapes. */
typedef enum {
    NGX_HTTP_PFS_S3_MSG_OTHER = 0,
    NGX_HTTP_PFS_S3_MSG_FILE_NOT_FOUND,
    NGX_HTTP_PFS_S3_MSG_REPO_NOT_FOUND,
    NGX_HTTP_PFS_S3_MSG_BRANCH_NOT_FOUND,
    NGX_HTTP_PFS_S3_MSG_PROJECT_NOT_FOUND,
    NGX_HTTP_PFS_S3_MSG_COMMIT_NOT_FOUND,
    NGX_HTTP_PFS_S3_MSG_REPO_EXISTS,
    NGX_HTTP_PFS_S3_MSG_BRANCH_EXISTS,
    NGX_HTTP_PFS_S3_MSG_COMMIT_FINISHED,
    NGX_HTTP_PFS_S3_MSG_INVALID_NAME,
    NGX_HTTP_PFS_S3_MSG_INVALID_PATH,
    NGX_HTTP_PFS_S3_MSG_PATH_CONFLICT
} ngx_http_pfs_s3_msg_e;


typedef struct {
    ngx_regex_t               *regex;
    ngx_http_pfs_s3_msg_e      kind;
} ngx_http_pfs_s3_pattern_t;


typedef struct {
    ngx_regex_t               *bucket_regex;
    ngx_array_t                patterns;      /* ngx_http_pfs_s3_pattern_t */
    ngx_int_t                  request_id_index;
} ngx_http_pfs_s3_main_conf_t;


/* pfs_s3_auth modes */
#define NGX_HTTP_PFS_S3_AUTH_OFF      0
#define NGX_HTTP_PFS_S3_AUTH_PACHD    1
#define NGX_HTTP_PFS_S3_AUTH_STATIC   2

/* pachd mode: whether PFS has auth on, as WhoAmI last said (per worker) */
typedef struct {
    ngx_msec_t                 checked;
    unsigned                   known:1;
    unsigned                   active:1;
} ngx_http_pfs_s3_auth_state_t;


typedef struct {
    ngx_flag_t                 enable;
    ngx_str_t                  base_domain;
    ngx_str_t                  region;
    ngx_str_t                  project;
    ngx_str_t                  branch;
    size_t                     piece_size;
    size_t                     max_message_size;
    size_t                     max_xml_size;
    ngx_int_t                  versions_depth;  /* commits walked */
    ngx_flag_t                 create_project;
    ngx_flag_t                 request_buffering;
    ngx_http_complex_value_t  *pfs_token;

    ngx_uint_t                     auth;         /* NGX_HTTP_PFS_S3_AUTH_* */
    ngx_array_t                   *credentials;  /* of the static mode */
    ngx_msec_t                     auth_cache;
    ngx_http_pfs_s3_auth_state_t  *auth_state;   /* of the pachd mode */
} ngx_http_pfs_s3_loc_conf_t;


typedef struct {
    ngx_str_t                  name;          /* as addressed */
    ngx_str_t                  project;
    ngx_str_t                  repo;
    ngx_str_t                  branch;
    ngx_str_t                  commit;        /* empty: the branch head */
} ngx_http_pfs_s3_bucket_t;


typedef struct {
    ngx_str_t                  name;          /* percent-decoded */
    ngx_str_t                  value;         /* percent-decoded */
} ngx_http_pfs_s3_arg_t;


/* ---------------------------------------------------------------- calls */

typedef struct ngx_http_pfs_s3_call_s  ngx_http_pfs_s3_call_t;

/*
 * Called for each decoded message of a call's response stream.  Returns
 * NGX_OK to go on, NGX_DONE to stop reading the stream (the rest is not
 * wanted), NGX_ERROR on failure.
 */
typedef ngx_int_t (*ngx_http_pfs_s3_message_pt)(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call, ProtobufCMessage *msg);

/*
 * Called on the main request when a call has completed.  Returns NGX_DONE
 * when the operation goes on (another call or the request body is pending),
 * otherwise the code to finalize the main request with.
 */
typedef ngx_int_t (*ngx_http_pfs_s3_done_pt)(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);


typedef enum {
    ngx_http_pfs_s3_dec_header = 0,
    ngx_http_pfs_s3_dec_message,
    ngx_http_pfs_s3_dec_raw_tag,
    ngx_http_pfs_s3_dec_raw_len,
    ngx_http_pfs_s3_dec_raw_value,
    ngx_http_pfs_s3_dec_raw_skip,
    ngx_http_pfs_s3_dec_raw_varint,
    ngx_http_pfs_s3_dec_done
} ngx_http_pfs_s3_dec_state_e;


typedef struct {
    ngx_http_pfs_s3_dec_state_e  state;
    u_char                       header[5];
    size_t                       header_len;
    size_t                       frame_rest;    /* bytes left in the frame */

    /* whole messages are assembled here (reused between messages) */
    u_char                      *msg;
    size_t                       msg_len;
    size_t                       msg_size;

    /* BytesValue parsing of GetFile frames */
    uint64_t                     varint;
    ngx_uint_t                   shift;
    ngx_uint_t                   wire_type;
    ngx_uint_t                   field;
    uint64_t                     field_rest;

    /* shadow buffers handed to the client */
    ngx_chain_t                 *free;
    ngx_chain_t                 *busy;
} ngx_http_pfs_s3_decoder_t;


struct ngx_http_pfs_s3_call_s {
    ngx_uint_t                         type;     /* NGX_HTTP_PFS_S3_CTX_CALL */
    ngx_http_request_t                *sr;
    const char                        *method;   /* "InspectFile" */

    const ProtobufCMessageDescriptor  *response;
    ngx_http_pfs_s3_message_pt         on_message;
    ngx_http_pfs_s3_done_pt            done;
    void                              *data;

    /* GetFile: message bytes go to the client, raw_limit of them */
    off_t                              raw_limit;
    off_t                              raw_sent;     /* taken, incl. held */
    u_char                             raw_last;     /* the held byte */
    ngx_temp_file_t                   *sink;   /* raw bytes go here instead */

    ngx_http_pfs_s3_decoder_t          dec;

    ProtobufCMessage                  *message;       /* of a unary call */

    /* outcome */
    ngx_int_t                          rc;            /* of the subrequest */
    ngx_int_t                          grpc_status;   /* -1: none received */
    ngx_str_t                          grpc_message;
    ngx_uint_t                         messages;

    unsigned                           raw:1;
    unsigned                           raw_cut:1;   /* stop at raw_limit */
    unsigned                           raw_held:1;  /* raw_last waits */
    unsigned                           cut:1;       /* we stopped reading */
    unsigned                           bad:1;       /* undecodable answer */
    unsigned                           completed:1;
    unsigned                           stream:1;    /* body still arriving */
};


/* ---------------------------------------------------------------- auth */

/* The request's signature, once verified: what aws-chunked chunks need. */
typedef struct {
    ngx_uint_t                 version;       /* 0: none, 2, 4 */
    ngx_str_t                  access_key;
    ngx_str_t                  signature;
    ngx_http_pfs_s3_sigv4_t    v4;
    ngx_array_t                args;          /* ngx_http_pfs_s3_kv_t */
    ngx_array_t                headers;       /* ngx_http_pfs_s3_kv_t */

    /* aws-chunked signatures, chained from the request's */
    u_char                     key[32];
    u_char                     prev[NGX_HTTP_PFS_S3_SHA256_HEX];
    u_char                     want[NGX_HTTP_PFS_S3_SHA256_HEX];
    u_char                     ext[96];       /* ";chunk-signature=..." */
    size_t                     ext_len;
    EVP_MD_CTX                *chunk_sha;

    unsigned                   presigned:1;
    unsigned                   token_refused:1;
    unsigned                   chunks:1;      /* chunk signatures to check */
    unsigned                   signed_trailer:1;
    unsigned                   chunk_failed:1;
} ngx_http_pfs_s3_auth_t;


/* ---------------------------------------------------------------- request */

typedef struct ngx_http_pfs_s3_ctx_s  ngx_http_pfs_s3_ctx_t;
typedef struct ngx_http_pfs_s3_body_checksum_s
    ngx_http_pfs_s3_body_checksum_t;
typedef struct ngx_http_pfs_s3_log_pause_s  ngx_http_pfs_s3_log_pause_t;

typedef enum {
    ngx_http_pfs_s3_chunk_size = 0,
    ngx_http_pfs_s3_chunk_ext,
    ngx_http_pfs_s3_chunk_size_lf,
    ngx_http_pfs_s3_chunk_data,
    ngx_http_pfs_s3_chunk_data_cr,
    ngx_http_pfs_s3_chunk_data_lf,
    ngx_http_pfs_s3_chunk_trailer,
    ngx_http_pfs_s3_chunk_trailer_line,
    ngx_http_pfs_s3_chunk_trailer_lf,
    ngx_http_pfs_s3_chunk_end_lf,
    ngx_http_pfs_s3_chunk_done
} ngx_http_pfs_s3_chunk_state_e;

/* what follows a request body: like a call's done handler */
typedef ngx_int_t (*ngx_http_pfs_s3_body_pt)(ngx_http_request_t *r);

struct ngx_http_pfs_s3_ctx_s {
    ngx_uint_t                         type;   /* NGX_HTTP_PFS_S3_CTX_REQUEST */
    ngx_http_pfs_s3_op_e               op;
    ngx_str_t                          op_name;

    ngx_str_t                          request_id;
    ngx_str_t                          resource;      /* for error bodies */
    ngx_str_t                          key;           /* decoded */
    ngx_str_t                          path;          /* "/" + key */
    ngx_http_pfs_s3_bucket_t           bucket;
    ngx_array_t                        args;    /* ngx_http_pfs_s3_arg_t */

    ngx_http_pfs_s3_call_t            *call;          /* pending call */
    ngx_str_t                          pfs_status;    /* for the log */
    ngx_http_log_handler_pt            log_handler;   /* the one we wrap */

    ngx_http_pfs_s3_err_e              error;
    ngx_str_t                          error_code;
    ngx_int_t                          rc;            /* of an early answer */

    /* request body digests, computed by the request body filter */
    EVP_MD_CTX                        *md5;
    EVP_MD_CTX                        *sha256;
    u_char                             want_md5[16];
    u_char                             body_md5[16];
    u_char                             want_sha256[32];
    ngx_http_pfs_s3_err_e              digest_failed;
    const char                        *digest_why;     /* its message */
    ngx_http_pfs_s3_body_checksum_t   *checksum;       /* x-amz-checksum-* */
    off_t                              body_received;
    ngx_http_pfs_s3_body_pt            body_next;

    /* the ModifyFile a PutObject or UploadPart body goes to (body.c) */
    PfsV2__Commit                     *write_commit;
    ngx_str_t                          write_path;
    ngx_http_pfs_s3_done_pt            write_done;
    void                              *write_data;
    size_t                             write_piece;
    ngx_chain_t                       *write_free;     /* frame headers */
    ngx_chain_t                       *write_busy;
    ngx_buf_t                         *write_span;     /* read, not sent */

    /* aws-chunked request bodies */
    ngx_http_pfs_s3_chunk_state_e      chunk_state;
    off_t                              chunk_rest;
    ngx_uint_t                         chunk_digits;
    off_t                              decoded_length;
    ngx_chain_t                       *chunk_free;
    ngx_chain_t                       *chunk_busy;
    u_char                            *trailer;        /* trailer lines */
    size_t                             trailer_len;

    void                              *op_data;        /* per operation */

    ngx_http_pfs_s3_auth_t            *auth;
    ngx_str_t                          pfs_token;      /* if pfs_token_set */
    ngx_http_pfs_s3_log_pause_t       *log_pause;      /* grpc.c */
    ngx_array_t                       *error_fields;   /* extra XML fields */

    unsigned                           has_bucket:1;
    unsigned                           has_key:1;
    unsigned                           virtual_host:1;
    unsigned                           response_sent:1;
    unsigned                           body_complete:1;
    unsigned                           aws_chunked:1;
    unsigned                           check_md5:1;
    unsigned                           have_md5:1;
    unsigned                           pfs_token_set:1;
    unsigned                           streaming:1;  /* body.c */
};


/* ---------------------------------------------------------------- externs */

extern ngx_module_t  ngx_http_pfs_s3_module;
extern const ngx_str_t  ngx_http_pfs_s3_op_names[];


/* request parsing and routing: ngx_http_pfs_s3_request.c */
ngx_int_t ngx_http_pfs_s3_parse_request(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx);
ngx_int_t ngx_http_pfs_s3_arg(ngx_http_pfs_s3_ctx_t *ctx, const char *name,
    ngx_str_t *value);
ngx_int_t ngx_http_pfs_s3_unescape(ngx_pool_t *pool, ngx_str_t *src,
    ngx_str_t *dst, ngx_uint_t plus_is_space);

/* bucket names and keys: ngx_http_pfs_s3_bucket.c */
ngx_int_t ngx_http_pfs_s3_parse_bucket(ngx_http_request_t *r,
    ngx_str_t *name, ngx_http_pfs_s3_bucket_t *bucket);
ngx_http_pfs_s3_err_e ngx_http_pfs_s3_check_key(ngx_str_t *key,
    const char **why);
ngx_uint_t ngx_http_pfs_s3_glob_safe(ngx_str_t *s);
ngx_int_t ngx_http_pfs_s3_glob_escape(ngx_pool_t *pool, ngx_str_t *src,
    ngx_str_t *dst);
ngx_int_t ngx_http_pfs_s3_utf8_valid(u_char *p, size_t len);

/* copy sources: ngx_http_pfs_s3_copy_source.c */
typedef struct {
    ngx_http_pfs_s3_bucket_t   bucket;
    ngx_str_t                  key;           /* decoded, NUL-terminated */
    ngx_str_t                  path;          /* "/" + key */
    ngx_str_t                  version;       /* a commit id, or empty */
} ngx_http_pfs_s3_copy_source_t;

ngx_uint_t ngx_http_pfs_s3_version_valid(ngx_str_t *version);
ngx_http_pfs_s3_err_e ngx_http_pfs_s3_parse_copy_source(ngx_http_request_t *r,
    ngx_str_t *value, ngx_http_pfs_s3_copy_source_t *src, const char **why);
ngx_http_pfs_s3_err_e ngx_http_pfs_s3_parse_copy_range(ngx_str_t *value,
    off_t size, off_t *start, off_t *length, const char **why);
ngx_int_t ngx_http_pfs_s3_copy_ops(ngx_pool_t *pool, char *dst,
    PfsV2__File *src, ngx_chain_t ***ll);
ngx_int_t ngx_http_pfs_s3_copy_source_info(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call, ngx_http_pfs_s3_copy_source_t *src,
    PfsV2__FileInfo **info);

/* PFS calls as subrequests: ngx_http_pfs_s3_grpc.c */
ngx_http_pfs_s3_call_t *ngx_http_pfs_s3_call_create(ngx_http_request_t *r,
    const char *method, const ProtobufCMessageDescriptor *response,
    ngx_http_pfs_s3_done_pt done);
ngx_int_t ngx_http_pfs_s3_call_start(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call, ngx_chain_t *body);
ngx_int_t ngx_http_pfs_s3_stream_init(ngx_conf_t *cf);
ngx_int_t ngx_http_pfs_s3_call(ngx_http_request_t *r, const char *method,
    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *response,
    ngx_http_pfs_s3_message_pt on_message, ngx_http_pfs_s3_done_pt done,
    void *data);
ngx_int_t ngx_http_pfs_s3_modify_file(ngx_http_request_t *r,
    PfsV2__Commit *commit, ngx_chain_t *ops, ngx_http_pfs_s3_done_pt done,
    void *data);
ngx_chain_t *ngx_http_pfs_s3_set_commit(ngx_pool_t *pool,
    PfsV2__Commit *commit, ngx_chain_t *ops);
ngx_int_t ngx_http_pfs_s3_frame_op(ngx_pool_t *pool,
    PfsV2__ModifyFileRequest *req, ngx_chain_t ***ll);
ngx_int_t ngx_http_pfs_s3_delete_op(ngx_pool_t *pool, char *path,
    ngx_chain_t ***ll);
ngx_chain_t *ngx_http_pfs_s3_frame(ngx_pool_t *pool,
    const ProtobufCMessage *msg);
void ngx_http_pfs_s3_wake(ngx_http_request_t *r);
ngx_int_t ngx_http_pfs_s3_final(ngx_http_request_t *r, ngx_int_t rc);
ngx_int_t ngx_http_pfs_s3_call_ok(ngx_http_pfs_s3_call_t *call);
void *ngx_http_pfs_s3_call_message(ngx_http_pfs_s3_call_t *call);
ngx_int_t ngx_http_pfs_s3_keep_message(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call, ProtobufCMessage *msg);

/* response stream decoding: ngx_http_pfs_s3_decode.c */
ngx_int_t ngx_http_pfs_s3_decode(ngx_http_request_t *sr,
    ngx_http_pfs_s3_call_t *call, ngx_chain_t *in);

/* errors: ngx_http_pfs_s3_error.c */
const ngx_http_pfs_s3_error_t *ngx_http_pfs_s3_error(ngx_http_pfs_s3_err_e e);
ngx_http_pfs_s3_msg_e ngx_http_pfs_s3_classify(ngx_http_request_t *r,
    ngx_str_t *message);
ngx_http_pfs_s3_err_e ngx_http_pfs_s3_call_error(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call, ngx_http_pfs_s3_err_e not_found);
ngx_int_t ngx_http_pfs_s3_send_error(ngx_http_request_t *r,
    ngx_http_pfs_s3_err_e err, const char *message);
ngx_int_t ngx_http_pfs_s3_answer(ngx_http_request_t *r,
    ngx_http_pfs_s3_err_e err, const char *message);
ngx_int_t ngx_http_pfs_s3_fail(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call, ngx_http_pfs_s3_err_e not_found);
ngx_int_t ngx_http_pfs_s3_init_patterns(ngx_conf_t *cf,
    ngx_http_pfs_s3_main_conf_t *mcf);
const char *ngx_http_pfs_s3_grpc_code_name(ngx_int_t code);

/* XML: ngx_http_pfs_s3_xml.c */
typedef struct ngx_http_pfs_s3_xml_s  ngx_http_pfs_s3_xml_t;

ngx_http_pfs_s3_xml_t *ngx_http_pfs_s3_xml_start(ngx_http_request_t *r,
    const char *root, ngx_uint_t ns);
void ngx_http_pfs_s3_xml_open(ngx_http_pfs_s3_xml_t *x, const char *name);
void ngx_http_pfs_s3_xml_close(ngx_http_pfs_s3_xml_t *x);
void ngx_http_pfs_s3_xml_elem(ngx_http_pfs_s3_xml_t *x, const char *name,
    u_char *value, size_t len);
void ngx_http_pfs_s3_xml_text(ngx_http_pfs_s3_xml_t *x, u_char *value,
    size_t len);
void ngx_http_pfs_s3_xml_elem_str(ngx_http_pfs_s3_xml_t *x, const char *name,
    const char *value);
void ngx_http_pfs_s3_xml_elem_url(ngx_http_pfs_s3_xml_t *x, const char *name,
    ngx_str_t *value, ngx_uint_t url);
void ngx_http_pfs_s3_xml_elem_num(ngx_http_pfs_s3_xml_t *x, const char *name,
    off_t n);
ngx_int_t ngx_http_pfs_s3_xml_send(ngx_http_request_t *r,
    ngx_http_pfs_s3_xml_t *x, ngx_uint_t status);
ngx_int_t ngx_http_pfs_s3_xml_parse(ngx_http_request_t *r, u_char *data,
    size_t len, const char *root, const char *field, ngx_str_t *value,
    ngx_uint_t *found);

typedef struct {
    ngx_str_t                  key;
    ngx_str_t                  version;
    unsigned                   has_version:1;
} ngx_http_pfs_s3_xml_object_t;

ngx_int_t ngx_http_pfs_s3_xml_parse_delete(ngx_http_request_t *r,
    u_char *data, size_t len, ngx_uint_t max, ngx_array_t *objects,
    ngx_uint_t *quiet);

/* a Part of a CompleteMultipartUpload document, as written */
typedef struct {
    ngx_str_t                  number;
    ngx_str_t                  etag;
} ngx_http_pfs_s3_xml_part_t;

ngx_int_t ngx_http_pfs_s3_xml_parse_parts(ngx_http_request_t *r,
    u_char *data, size_t len, ngx_array_t *parts);

/* response helpers: ngx_http_pfs_s3_response.c */
ngx_table_elt_t *ngx_http_pfs_s3_header(ngx_http_request_t *r,
    const char *name);
ngx_int_t ngx_http_pfs_s3_add_header(ngx_http_request_t *r, const char *key,
    u_char *value, size_t len);
ngx_int_t ngx_http_pfs_s3_send_empty(ngx_http_request_t *r,
    ngx_uint_t status);
void ngx_http_pfs_s3_skip_body(ngx_http_request_t *r);
u_char *ngx_http_pfs_s3_iso8601(u_char *p, Google__Protobuf__Timestamp *ts);
size_t ngx_http_pfs_s3_etag(u_char *dst, ProtobufCBinaryData *hash);
ngx_int_t ngx_http_pfs_s3_etag_str(ngx_pool_t *pool, ProtobufCBinaryData *hash,
    ngx_str_t *etag);
ngx_int_t ngx_http_pfs_s3_read_small_body(ngx_http_request_t *r, size_t max,
    ngx_str_t *body);

/* PFS message builders: ngx_http_pfs_s3_pfs.c */
typedef struct {
    PfsV2__Project             project;
    PfsV2__Repo                repo;
    PfsV2__Branch              branch;
    PfsV2__Commit              commit;
    PfsV2__File                file;
} ngx_http_pfs_s3_ref_t;

ngx_int_t ngx_http_pfs_s3_ref(ngx_http_request_t *r,
    ngx_http_pfs_s3_ref_t *ref, ngx_http_pfs_s3_bucket_t *bucket,
    ngx_str_t *commit, ngx_str_t *path);
char *ngx_http_pfs_s3_cstr(ngx_pool_t *pool, ngx_str_t *s);
ngx_int_t ngx_http_pfs_s3_inspect(ngx_http_request_t *r, PfsV2__File *file,
    ngx_http_pfs_s3_done_pt done, void *data);

/* operations */
ngx_int_t ngx_http_pfs_s3_list_buckets(ngx_http_request_t *r);
ngx_int_t ngx_http_pfs_s3_create_bucket(ngx_http_request_t *r);
ngx_int_t ngx_http_pfs_s3_head_bucket(ngx_http_request_t *r);
ngx_int_t ngx_http_pfs_s3_delete_bucket(ngx_http_request_t *r);
ngx_int_t ngx_http_pfs_s3_list_objects(ngx_http_request_t *r);
ngx_int_t ngx_http_pfs_s3_get_object(ngx_http_request_t *r);
ngx_int_t ngx_http_pfs_s3_get_object_tagging(ngx_http_request_t *r);
ngx_int_t ngx_http_pfs_s3_put_object(ngx_http_request_t *r);
ngx_int_t ngx_http_pfs_s3_delete_object(ngx_http_request_t *r);
ngx_int_t ngx_http_pfs_s3_read_only(ngx_http_request_t *r);
ngx_int_t ngx_http_pfs_s3_copy_object(ngx_http_request_t *r);
ngx_int_t ngx_http_pfs_s3_delete_objects(ngx_http_request_t *r);
ngx_int_t ngx_http_pfs_s3_list_object_versions(ngx_http_request_t *r);
ngx_int_t ngx_http_pfs_s3_delete_marker(ngx_http_request_t *r,
    ngx_http_pfs_s3_ref_t *ref);

/* listings: ngx_http_pfs_s3_list.c */
ngx_int_t ngx_http_pfs_s3_list_params(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx, ngx_str_t *prefix, ngx_str_t *delimiter,
    ngx_uint_t *max_keys, ngx_uint_t *url);
char *ngx_http_pfs_s3_list_pattern(ngx_http_request_t *r, ngx_str_t *prefix,
    ngx_uint_t recursive);
ngx_int_t ngx_http_pfs_s3_str_cmp(ngx_str_t *a, ngx_str_t *b);
ngx_int_t ngx_http_pfs_s3_inspect_bucket(ngx_http_request_t *r,
    ngx_http_pfs_s3_done_pt done);

/* x-amz-checksum-* of uploads: ngx_http_pfs_s3_checksum.c */
ngx_int_t ngx_http_pfs_s3_checksum_init(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx, ngx_http_pfs_s3_err_e *err, const char **why);
ngx_int_t ngx_http_pfs_s3_checksum_update(
    ngx_http_pfs_s3_body_checksum_t *cs, u_char *p, size_t n);
ngx_int_t ngx_http_pfs_s3_checksum_finish(ngx_http_pfs_s3_ctx_t *ctx);
ngx_int_t ngx_http_pfs_s3_checksum_header(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx);

ngx_int_t ngx_http_pfs_s3_get_file(ngx_http_request_t *r, PfsV2__File *file,
    off_t offset, off_t length, ngx_uint_t cut, ngx_temp_file_t *sink,
    ngx_http_pfs_s3_done_pt done, void *data);
ngx_int_t ngx_http_pfs_s3_target_inspected(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);

/* multipart uploads: ngx_http_pfs_s3_multipart.c */
ngx_int_t ngx_http_pfs_s3_multipart(ngx_http_request_t *r);

/* request header values: ngx_http_pfs_s3_headers.c */
ngx_int_t ngx_http_pfs_s3_parse_range(ngx_str_t *value, off_t size,
    off_t *start, off_t *length);
ngx_uint_t ngx_http_pfs_s3_etag_match(ngx_str_t *list, ngx_str_t *etag);
ngx_int_t ngx_http_pfs_s3_preconditions(ngx_str_t *if_match,
    ngx_str_t *if_unmodified, ngx_str_t *if_none_match,
    ngx_str_t *if_modified, ngx_str_t *etag, time_t mtime);

/* request body: ngx_http_pfs_s3_body.c */
ngx_int_t ngx_http_pfs_s3_body_init(ngx_conf_t *cf);
ngx_int_t ngx_http_pfs_s3_digests_init(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx, ngx_http_pfs_s3_err_e *err, const char **why);
ngx_int_t ngx_http_pfs_s3_digests_finish(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx);
EVP_MD_CTX *ngx_http_pfs_s3_digest(ngx_http_request_t *r, const EVP_MD *md);
ngx_int_t ngx_http_pfs_s3_read_body(ngx_http_request_t *r,
    ngx_http_pfs_s3_body_pt next);
ngx_int_t ngx_http_pfs_s3_read_xml_body(ngx_http_request_t *r,
    ngx_http_pfs_s3_body_pt next);
ngx_int_t ngx_http_pfs_s3_write_object(ngx_http_request_t *r,
    PfsV2__Commit *commit, char *path, ngx_http_pfs_s3_done_pt done,
    void *data);
ngx_chain_t *ngx_http_pfs_s3_body_slices(ngx_http_request_t *r,
    ngx_str_t *path, size_t piece, ngx_uint_t *empty);
ngx_chain_t *ngx_http_pfs_s3_chain_slices(ngx_pool_t *pool, ngx_chain_t *in,
    ngx_str_t *path, size_t piece, ngx_uint_t *empty);

/* authentication: ngx_http_pfs_s3_auth.c */
extern ngx_conf_enum_t  ngx_http_pfs_s3_auth_modes[];

ngx_int_t ngx_http_pfs_s3_auth(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx);
char *ngx_http_pfs_s3_auth_credentials(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_pfs_s3_auth_merge(ngx_conf_t *cf,
    ngx_http_pfs_s3_loc_conf_t *prev, ngx_http_pfs_s3_loc_conf_t *conf);
u_char *ngx_http_pfs_s3_amz_date(u_char *p, time_t t);
void ngx_http_pfs_s3_auth_chunk_ext(ngx_http_pfs_s3_ctx_t *ctx, u_char c);
void ngx_http_pfs_s3_auth_chunk_start(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx);
void ngx_http_pfs_s3_auth_chunk_data(ngx_http_pfs_s3_ctx_t *ctx, u_char *p,
    size_t n);
void ngx_http_pfs_s3_auth_chunk_end(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx);
void ngx_http_pfs_s3_auth_trailer_end(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx);
ngx_int_t ngx_http_pfs_s3_dispatch(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx);

/* error log context: ngx_http_pfs_s3_log.c */
void ngx_http_pfs_s3_log_init(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx);

/* variables: ngx_http_pfs_s3_variables.c */
ngx_int_t ngx_http_pfs_s3_add_variables(ngx_conf_t *cf);

/* filters: ngx_http_pfs_s3_filter.c */
ngx_int_t ngx_http_pfs_s3_filter_init(ngx_conf_t *cf);
ngx_int_t ngx_http_pfs_s3_next_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);


static ngx_inline ngx_http_pfs_s3_ctx_t *
ngx_http_pfs_s3_get_ctx(ngx_http_request_t *r)
{
    ngx_http_pfs_s3_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_pfs_s3_module);

    if (ctx == NULL || ctx->type != NGX_HTTP_PFS_S3_CTX_REQUEST) {
        return NULL;
    }

    return ctx;
}


#endif /* _NGX_HTTP_PFS_S3_H_INCLUDED_ */
