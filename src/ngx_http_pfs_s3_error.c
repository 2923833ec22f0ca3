/*
 * S3 errors: the table of codes, the mapping of PFS call outcomes onto them,
 * and the XML error response.
 *
 * pachd reports several conditions with the generic code UNKNOWN, so the
 * mapping reads the message too, by the shapes pachd gives its messages
 * (PCRE2 patterns compiled at configuration time).
 */

#include <ngx_http_pfs_s3.h>


#define ngx_http_pfs_s3_err(code, status, message)                           \
    { ngx_string(code), status, ngx_string(message) }

static const ngx_http_pfs_s3_error_t  ngx_http_pfs_s3_errors[] = {

    ngx_http_pfs_s3_err("", 0, ""),

    ngx_http_pfs_s3_err("AccessDenied", NGX_HTTP_FORBIDDEN,
                        "Access Denied"),

    ngx_http_pfs_s3_err("BadDigest", NGX_HTTP_BAD_REQUEST,
                        "The Content-MD5 you specified did not match what "
                        "we received."),

    ngx_http_pfs_s3_err("BucketAlreadyOwnedByYou", NGX_HTTP_CONFLICT,
                        "Your previous request to create the named bucket "
                        "succeeded and you already own it."),

    ngx_http_pfs_s3_err("BucketNotEmpty", NGX_HTTP_CONFLICT,
                        "The bucket you tried to delete is not empty"),

    ngx_http_pfs_s3_err("EntityTooLarge", NGX_HTTP_BAD_REQUEST,
                        "Your proposed upload exceeds the maximum allowed "
                        "object size."),

    ngx_http_pfs_s3_err("EntityTooSmall", NGX_HTTP_BAD_REQUEST,
                        "Your proposed upload is smaller than the minimum "
                        "allowed object size: every part but the last must "
                        "be at least 5 MiB."),

    ngx_http_pfs_s3_err("IncompleteBody", NGX_HTTP_BAD_REQUEST,
                        "You did not provide the number of bytes specified "
                        "by the Content-Length HTTP header."),

    ngx_http_pfs_s3_err("InternalError", NGX_HTTP_INTERNAL_SERVER_ERROR,
                        "We encountered an internal error. Please try "
                        "again."),

    ngx_http_pfs_s3_err("InvalidArgument", NGX_HTTP_BAD_REQUEST,
                        "Invalid Argument"),

    ngx_http_pfs_s3_err("InvalidBucketName", NGX_HTTP_BAD_REQUEST,
                        "The specified bucket is not valid."),

    ngx_http_pfs_s3_err("InvalidBucketState", NGX_HTTP_CONFLICT,
                        "The request is not valid with the current state of "
                        "the bucket."),

    ngx_http_pfs_s3_err("InvalidDelimiter", NGX_HTTP_BAD_REQUEST,
                        "The delimiter must be \"/\" or empty: PFS lists by "
                        "directory."),

    ngx_http_pfs_s3_err("InvalidDigest", NGX_HTTP_BAD_REQUEST,
                        "The Content-MD5 you specified is not valid."),

    ngx_http_pfs_s3_err("InvalidFilePath", NGX_HTTP_BAD_REQUEST,
                        "The key cannot be stored in PFS."),

    ngx_http_pfs_s3_err("InvalidLocationConstraint", NGX_HTTP_BAD_REQUEST,
                        "The specified location constraint is not valid."),

    ngx_http_pfs_s3_err("InvalidPart", NGX_HTTP_BAD_REQUEST,
                        "One or more of the specified parts could not be "
                        "found, or its ETag does not match."),

    ngx_http_pfs_s3_err("InvalidPartOrder", NGX_HTTP_BAD_REQUEST,
                        "The list of parts was not in ascending order of "
                        "part number."),

    ngx_http_pfs_s3_err("InvalidRange", NGX_HTTP_RANGE_NOT_SATISFIABLE,
                        "The requested range is not satisfiable"),

    ngx_http_pfs_s3_err("InvalidRequest", NGX_HTTP_BAD_REQUEST,
                        "Invalid Request"),

    ngx_http_pfs_s3_err("InvalidURI", NGX_HTTP_BAD_REQUEST,
                        "Couldn't parse the specified URI."),

    ngx_http_pfs_s3_err("KeyTooLongError", NGX_HTTP_BAD_REQUEST,
                        "Your key is too long"),

    ngx_http_pfs_s3_err("MalformedXML", NGX_HTTP_BAD_REQUEST,
                        "The XML you provided was not well-formed or did not "
                        "validate against our published schema"),

    ngx_http_pfs_s3_err("MethodNotAllowed", NGX_HTTP_NOT_ALLOWED,
                        "The specified method is not allowed against this "
                        "resource."),

    ngx_http_pfs_s3_err("MissingContentLength", NGX_HTTP_LENGTH_REQUIRED,
                        "You must provide the Content-Length HTTP header."),

    ngx_http_pfs_s3_err("NoSuchBucket", NGX_HTTP_NOT_FOUND,
                        "The specified bucket does not exist"),

    ngx_http_pfs_s3_err("NoSuchKey", NGX_HTTP_NOT_FOUND,
                        "The specified key does not exist."),

    ngx_http_pfs_s3_err("NoSuchUpload", NGX_HTTP_NOT_FOUND,
                        "The specified upload does not exist: the upload id "
                        "may be invalid, or the upload may have been "
                        "aborted or completed."),

    ngx_http_pfs_s3_err("NoSuchVersion", NGX_HTTP_NOT_FOUND,
                        "The specified version does not exist."),

    ngx_http_pfs_s3_err("NotImplemented", NGX_HTTP_NOT_IMPLEMENTED,
                        "A header or query you provided implies "
                        "functionality that is not implemented."),

    ngx_http_pfs_s3_err("NotModified", NGX_HTTP_NOT_MODIFIED,
                        "Not Modified"),

    ngx_http_pfs_s3_err("PreconditionFailed", NGX_HTTP_PRECONDITION_FAILED,
                        "At least one of the pre-conditions you specified "
                        "did not hold"),

    ngx_http_pfs_s3_err("ServiceUnavailable", NGX_HTTP_SERVICE_UNAVAILABLE,
                        "PFS is unavailable. Please try again."),

    ngx_http_pfs_s3_err("XAmzContentSHA256Mismatch", NGX_HTTP_BAD_REQUEST,
                        "The provided 'x-amz-content-sha256' header does not "
                        "match what was computed."),

    ngx_http_pfs_s3_err("SlowDown", NGX_HTTP_SERVICE_UNAVAILABLE,
                        "Please reduce your request rate."),

    ngx_http_pfs_s3_err("InvalidAccessKeyId", NGX_HTTP_FORBIDDEN,
                        "The AWS Access Key Id you provided does not exist "
                        "in our records."),

    ngx_http_pfs_s3_err("SignatureDoesNotMatch", NGX_HTTP_FORBIDDEN,
                        "The request signature we calculated does not match "
                        "the signature you provided. Check your key and "
                        "signing method."),

    ngx_http_pfs_s3_err("AuthorizationHeaderMalformed", NGX_HTTP_BAD_REQUEST,
                        "The authorization header is malformed."),

    ngx_http_pfs_s3_err("AuthorizationQueryParametersError",
                        NGX_HTTP_BAD_REQUEST,
                        "Error parsing the X-Amz-Credential parameter."),

    ngx_http_pfs_s3_err("RequestTimeTooSkewed", NGX_HTTP_FORBIDDEN,
                        "The difference between the request time and the "
                        "current time is too large."),
};


typedef struct {
    const char              *pattern;
    ngx_http_pfs_s3_msg_e    kind;
} ngx_http_pfs_s3_shape_t;


/*
 * pachd's message shapes, tried in order: a file message names its repo and
 * commit too, so it comes first.
 */

static const ngx_http_pfs_s3_shape_t  ngx_http_pfs_s3_shapes[] = {
    { "file .+ not found", NGX_HTTP_PFS_S3_MSG_FILE_NOT_FOUND },
    { "commit [^ ]+ not found", NGX_HTTP_PFS_S3_MSG_COMMIT_NOT_FOUND },
    { "branch \"?[^\" ]*\"? not found", NGX_HTTP_PFS_S3_MSG_BRANCH_NOT_FOUND },
    { "repo [^ ]+ not found", NGX_HTTP_PFS_S3_MSG_REPO_NOT_FOUND },
    { "project \"?[^\" ]*\"? not found",
      NGX_HTTP_PFS_S3_MSG_PROJECT_NOT_FOUND },
    { "branch \"?[^\" ]*\"? already exists",
      NGX_HTTP_PFS_S3_MSG_BRANCH_EXISTS },
    { "repo [^ ]+ already exists", NGX_HTTP_PFS_S3_MSG_REPO_EXISTS },
    { "commit [^ ]+ has already finished",
      NGX_HTTP_PFS_S3_MSG_COMMIT_FINISHED },
    { "name \\(.*\\) invalid", NGX_HTTP_PFS_S3_MSG_INVALID_NAME },
    { "path \\(.*\\) invalid", NGX_HTTP_PFS_S3_MSG_INVALID_PATH },
    { "(?i)(collision|conflict|is a directory|not a directory"
      "|is a file|file and a directory)",
      NGX_HTTP_PFS_S3_MSG_PATH_CONFLICT },
    { NULL, NGX_HTTP_PFS_S3_MSG_OTHER }
};


static const char  *ngx_http_pfs_s3_grpc_codes[] = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
    "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"
};


const ngx_http_pfs_s3_error_t *
ngx_http_pfs_s3_error(ngx_http_pfs_s3_err_e e)
{
    if (e >= NGX_HTTP_PFS_S3_ERR_LAST) {
        e = NGX_HTTP_PFS_S3_ERR_INTERNAL;
    }

    return &ngx_http_pfs_s3_errors[e];
}


const char *
ngx_http_pfs_s3_grpc_code_name(ngx_int_t code)
{
    if (code < 0
        || code >= (ngx_int_t) (sizeof(ngx_http_pfs_s3_grpc_codes)
                                / sizeof(ngx_http_pfs_s3_grpc_codes[0])))
    {
        return "UNKNOWN";
    }

    return ngx_http_pfs_s3_grpc_codes[code];
}


ngx_int_t
ngx_http_pfs_s3_init_patterns(ngx_conf_t *cf, ngx_http_pfs_s3_main_conf_t *mcf)
{
    u_char                          errstr[NGX_MAX_CONF_ERRSTR];
    ngx_regex_compile_t             rc;
    ngx_http_pfs_s3_pattern_t      *pat;
    const ngx_http_pfs_s3_shape_t  *shape;

    ngx_str_t  bucket = ngx_string(
        "^(?:([0-9a-f]{12}4[0-9a-f]{19})\\.)?([A-Za-z0-9_-]+)"
        "(?:\\.([A-Za-z0-9_-]+))?(?:\\.([A-Za-z0-9_-]+))?$");

    if (sizeof(ngx_http_pfs_s3_errors) / sizeof(ngx_http_pfs_s3_errors[0])
        != NGX_HTTP_PFS_S3_ERR_LAST)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "pfs_s3: the error table does not match its enum");
        return NGX_ERROR;
    }

    ngx_memzero(&rc, sizeof(ngx_regex_compile_t));

    rc.pattern = bucket;
    rc.pool = cf->pool;
    rc.err.len = NGX_MAX_CONF_ERRSTR;
    rc.err.data = errstr;

    if (ngx_regex_compile(&rc) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "pfs_s3: %V", &rc.err);
        return NGX_ERROR;
    }

    mcf->bucket_regex = rc.regex;

    if (ngx_array_init(&mcf->patterns, cf->pool, 16,
                       sizeof(ngx_http_pfs_s3_pattern_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (shape = ngx_http_pfs_s3_shapes; shape->pattern; shape++) {
        ngx_memzero(&rc, sizeof(ngx_regex_compile_t));

        rc.pattern.data = (u_char *) shape->pattern;
        rc.pattern.len = ngx_strlen(shape->pattern);
        rc.pool = cf->pool;
        rc.err.len = NGX_MAX_CONF_ERRSTR;
        rc.err.data = errstr;

        if (ngx_regex_compile(&rc) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "pfs_s3: %V", &rc.err);
            return NGX_ERROR;
        }

        pat = ngx_array_push(&mcf->patterns);
        if (pat == NULL) {
            return NGX_ERROR;
        }

        pat->regex = rc.regex;
        pat->kind = shape->kind;
    }

    return NGX_OK;
}


ngx_http_pfs_s3_msg_e
ngx_http_pfs_s3_classify(ngx_http_request_t *r, ngx_str_t *message)
{
    ngx_int_t                     rc;
    ngx_uint_t                    i;
    ngx_http_pfs_s3_pattern_t    *pat;
    ngx_http_pfs_s3_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_pfs_s3_module);
    pat = mcf->patterns.elts;

    for (i = 0; i < mcf->patterns.nelts; i++) {
        rc = ngx_regex_exec(pat[i].regex, message, NULL, 0);

        if (rc >= 0) {
            return pat[i].kind;
        }

        if (rc != NGX_REGEX_NO_MATCHED) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          ngx_regex_exec_n " failed: %i on \"%V\"",
                          rc, message);
            break;
        }
    }

    return NGX_HTTP_PFS_S3_MSG_OTHER;
}


/*
 * The S3 error for a failed call.  "not_found" is what a NOT_FOUND that
 * names no bucket part means for the operation (NoSuchKey for objects).
 */

ngx_http_pfs_s3_err_e
ngx_http_pfs_s3_call_error(ngx_http_request_t *r, ngx_http_pfs_s3_call_t *call,
    ngx_http_pfs_s3_err_e not_found)
{
    ngx_http_pfs_s3_ctx_t  *ctx;
    ngx_http_pfs_s3_msg_e   kind;

    if (call->bad) {
        return NGX_HTTP_PFS_S3_ERR_INTERNAL;
    }

    if (call->grpc_status < 0) {
        /* connection refused, timed out, reset: nginx's upstream gave up */
        return NGX_HTTP_PFS_S3_ERR_SERVICE_UNAVAILABLE;
    }

    kind = ngx_http_pfs_s3_classify(r, &call->grpc_message);

    switch (kind) {

    case NGX_HTTP_PFS_S3_MSG_FILE_NOT_FOUND:
        return NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY;

    case NGX_HTTP_PFS_S3_MSG_COMMIT_NOT_FOUND:
        ctx = ngx_http_pfs_s3_get_ctx(r);

        if (ctx && ngx_http_pfs_s3_arg(ctx, "versionId", NULL) == NGX_OK) {
            return NGX_HTTP_PFS_S3_ERR_NO_SUCH_VERSION;
        }

        return NGX_HTTP_PFS_S3_ERR_NO_SUCH_BUCKET;

    case NGX_HTTP_PFS_S3_MSG_REPO_NOT_FOUND:
    case NGX_HTTP_PFS_S3_MSG_BRANCH_NOT_FOUND:
    case NGX_HTTP_PFS_S3_MSG_PROJECT_NOT_FOUND:
        return NGX_HTTP_PFS_S3_ERR_NO_SUCH_BUCKET;

    case NGX_HTTP_PFS_S3_MSG_REPO_EXISTS:
    case NGX_HTTP_PFS_S3_MSG_BRANCH_EXISTS:
        return NGX_HTTP_PFS_S3_ERR_BUCKET_ALREADY_OWNED;

    case NGX_HTTP_PFS_S3_MSG_INVALID_NAME:
        return NGX_HTTP_PFS_S3_ERR_INVALID_BUCKET_NAME;

    case NGX_HTTP_PFS_S3_MSG_INVALID_PATH:
    case NGX_HTTP_PFS_S3_MSG_PATH_CONFLICT:
        return NGX_HTTP_PFS_S3_ERR_INVALID_FILE_PATH;

    case NGX_HTTP_PFS_S3_MSG_COMMIT_FINISHED:
        return NGX_HTTP_PFS_S3_ERR_INVALID_BUCKET_STATE;

    default:
        break;
    }

    switch (call->grpc_status) {

    case NGX_HTTP_PFS_S3_GRPC_NOT_FOUND:
        return not_found;

    case NGX_HTTP_PFS_S3_GRPC_ALREADY_EXISTS:
        return NGX_HTTP_PFS_S3_ERR_BUCKET_ALREADY_OWNED;

    case NGX_HTTP_PFS_S3_GRPC_INVALID_ARGUMENT:
    case NGX_HTTP_PFS_S3_GRPC_FAILED_PRECONDITION:
        return NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT;

    case NGX_HTTP_PFS_S3_GRPC_UNAUTHENTICATED:
        ctx = ngx_http_pfs_s3_get_ctx(r);

        /* pachd mode: the access key is the token PFS does not know */

        if (ctx && ctx->auth && ctx->auth->version && ctx->pfs_token.len
            && ctx->pfs_token.data == ctx->auth->access_key.data)
        {
            return NGX_HTTP_PFS_S3_ERR_INVALID_ACCESS_KEY_ID;
        }

        return NGX_HTTP_PFS_S3_ERR_ACCESS_DENIED;

    case NGX_HTTP_PFS_S3_GRPC_PERMISSION_DENIED:
        return NGX_HTTP_PFS_S3_ERR_ACCESS_DENIED;

    case NGX_HTTP_PFS_S3_GRPC_UNAVAILABLE:
    case NGX_HTTP_PFS_S3_GRPC_DEADLINE_EXCEEDED:
        return NGX_HTTP_PFS_S3_ERR_SERVICE_UNAVAILABLE;

    case NGX_HTTP_PFS_S3_GRPC_RESOURCE_EXHAUSTED:
        return NGX_HTTP_PFS_S3_ERR_SLOW_DOWN;

    case NGX_HTTP_PFS_S3_GRPC_UNIMPLEMENTED:
        return NGX_HTTP_PFS_S3_ERR_NOT_IMPLEMENTED;

    default:
        return NGX_HTTP_PFS_S3_ERR_INTERNAL;
    }
}


/* Answers a failed call; PFS's own words go in the message when useful. */

ngx_int_t
ngx_http_pfs_s3_fail(ngx_http_request_t *r, ngx_http_pfs_s3_call_t *call,
    ngx_http_pfs_s3_err_e not_found)
{
    u_char                 *p;
    ngx_uint_t              level;
    ngx_http_pfs_s3_err_e   err;

    err = ngx_http_pfs_s3_call_error(r, call, not_found);

    /*
     * What the operator must look into gets a line of its own (the error
     * log context adds the operation, bucket and key); a PFS that cannot be
     * reached has nginx's upstream line already.
     */

    if ((err == NGX_HTTP_PFS_S3_ERR_INTERNAL
         || err == NGX_HTTP_PFS_S3_ERR_SERVICE_UNAVAILABLE
         || err == NGX_HTTP_PFS_S3_ERR_ACCESS_DENIED)
        && call->grpc_status >= 0 && !call->bad)
    {
        level = (err == NGX_HTTP_PFS_S3_ERR_ACCESS_DENIED) ? NGX_LOG_INFO
                                                           : NGX_LOG_ERR;

        ngx_log_error(level, r->connection->log, 0,
                      "pfs_s3: PFS %s failed: %s \"%V\"", call->method,
                      ngx_http_pfs_s3_grpc_code_name(call->grpc_status),
                      &call->grpc_message);
    }

    switch (err) {

    case NGX_HTTP_PFS_S3_ERR_INTERNAL:
    case NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT:
    case NGX_HTTP_PFS_S3_ERR_INVALID_FILE_PATH:
    case NGX_HTTP_PFS_S3_ERR_INVALID_BUCKET_NAME:
    case NGX_HTTP_PFS_S3_ERR_INVALID_BUCKET_STATE:
    case NGX_HTTP_PFS_S3_ERR_ACCESS_DENIED:
    case NGX_HTTP_PFS_S3_ERR_NOT_IMPLEMENTED:
        if (call->grpc_message.len == 0) {
            break;
        }

        p = ngx_pnalloc(r->pool, call->grpc_message.len + sizeof("PFS: "));
        if (p == NULL) {
            break;
        }

        ngx_sprintf(p, "PFS: %V%Z", &call->grpc_message);

        return ngx_http_pfs_s3_send_error(r, err, (const char *) p);

    default:
        break;
    }

    return ngx_http_pfs_s3_send_error(r, err, NULL);
}


/*
 * The S3 error response: status, x-amz-request-id (added by the header
 * filter), and the XML body unless the request is HEAD or the status has no
 * body.
 */

ngx_int_t
ngx_http_pfs_s3_send_error(ngx_http_request_t *r, ngx_http_pfs_s3_err_e err,
    const char *message)
{
    ngx_http_pfs_s3_xml_t          *x;
    ngx_http_pfs_s3_ctx_t          *ctx;
    const ngx_http_pfs_s3_error_t  *e;

    e = ngx_http_pfs_s3_error(err);

    ctx = ngx_http_pfs_s3_get_ctx(r);

    if (ctx) {
        ctx->error = err;
        ctx->error_code = e->code;
    }

    ngx_http_pfs_s3_skip_body(r);

    if (err == NGX_HTTP_PFS_S3_ERR_NOT_MODIFIED) {
        return ngx_http_pfs_s3_send_empty(r, NGX_HTTP_NOT_MODIFIED);
    }

    if (r->method == NGX_HTTP_HEAD) {
        return ngx_http_pfs_s3_send_empty(r, e->status);
    }

    x = ngx_http_pfs_s3_xml_start(r, "Error", 0);
    if (x == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_pfs_s3_xml_elem(x, "Code", e->code.data, e->code.len);

    if (message) {
        ngx_http_pfs_s3_xml_elem_str(x, "Message", message);

    } else {
        ngx_http_pfs_s3_xml_elem(x, "Message", e->message.data,
                                 e->message.len);
    }

    if (ctx) {
        if (err == NGX_HTTP_PFS_S3_ERR_NO_SUCH_BUCKET
            || err == NGX_HTTP_PFS_S3_ERR_BUCKET_NOT_EMPTY
            || err == NGX_HTTP_PFS_S3_ERR_BUCKET_ALREADY_OWNED
            || err == NGX_HTTP_PFS_S3_ERR_INVALID_BUCKET_NAME)
        {
            ngx_http_pfs_s3_xml_elem(x, "BucketName", ctx->bucket.name.data,
                                     ctx->bucket.name.len);
        }

        if (err == NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY && ctx->has_key) {
            ngx_http_pfs_s3_xml_elem(x, "Key", ctx->key.data, ctx->key.len);
        }

        if (err == NGX_HTTP_PFS_S3_ERR_NO_SUCH_VERSION) {
            ngx_str_t  v;

            if (ngx_http_pfs_s3_arg(ctx, "versionId", &v) == NGX_OK) {
                ngx_http_pfs_s3_xml_elem(x, "VersionId", v.data, v.len);
            }
        }

        if (ctx->error_fields) {
            ngx_uint_t             i;
            ngx_http_pfs_s3_kv_t  *kv;

            kv = ctx->error_fields->elts;

            for (i = 0; i < ctx->error_fields->nelts; i++) {
                ngx_http_pfs_s3_xml_elem(x, (const char *) kv[i].name.data,
                                         kv[i].value.data, kv[i].value.len);
            }
        }

        ngx_http_pfs_s3_xml_elem(x, "Resource", ctx->resource.data,
                                 ctx->resource.len);
        ngx_http_pfs_s3_xml_elem(x, "RequestId", ctx->request_id.data,
                                 ctx->request_id.len);
    }

    return ngx_http_pfs_s3_xml_send(r, x, e->status);
}


/*
 * Answers the request from a step that returns NGX_OK to go on: the answer's
 * own code waits in ctx->rc and NGX_DECLINED says "answered".
 * NGX_HTTP_PFS_S3_ERR_NONE answers 204 (a DeleteObject of a key that cannot
 * exist).
 */

ngx_int_t
ngx_http_pfs_s3_answer(ngx_http_request_t *r, ngx_http_pfs_s3_err_e err,
    const char *message)
{
    ngx_http_pfs_s3_ctx_t  *ctx;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    if (err == NGX_HTTP_PFS_S3_ERR_NONE) {
        ctx->rc = ngx_http_pfs_s3_send_empty(r, NGX_HTTP_NO_CONTENT);

    } else {
        ctx->rc = ngx_http_pfs_s3_send_error(r, err, message);
    }

    return NGX_DECLINED;
}
