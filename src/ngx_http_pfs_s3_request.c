/*
 * Request parsing and routing: the bucket and key from the raw request URI
 * (path style, or virtual-hosted style under pfs_s3_base_domain), the query
 * arguments, and the S3 operation from the method and the sub-resources.
 */

#include <ngx_http_pfs_s3.h>


#define NGX_HTTP_PFS_S3_SERVICE  1
#define NGX_HTTP_PFS_S3_BUCKET   2
#define NGX_HTTP_PFS_S3_OBJECT   4


typedef struct {
    const char   *name;          /* the query parameter */
    ngx_uint_t    level;
    ngx_uint_t    method;
    const char   *op;            /* the S3 operation it selects */
} ngx_http_pfs_s3_subresource_t;


static ngx_int_t ngx_http_pfs_s3_split_uri(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx);
static ngx_int_t ngx_http_pfs_s3_parse_args(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx);
static ngx_int_t ngx_http_pfs_s3_route(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx);
static ngx_http_pfs_s3_op_e ngx_http_pfs_s3_route_multipart(
    ngx_http_request_t *r, ngx_http_pfs_s3_ctx_t *ctx, ngx_uint_t level);
static ngx_int_t ngx_http_pfs_s3_check_object_key(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx);
static ngx_int_t ngx_http_pfs_s3_set_resource(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx);



const ngx_str_t  ngx_http_pfs_s3_op_names[] = {
    ngx_null_string,
    ngx_string("ListBuckets"),
    ngx_string("CreateBucket"),
    ngx_string("HeadBucket"),
    ngx_string("DeleteBucket"),
    ngx_string("GetBucketLocation"),
    ngx_string("GetBucketVersioning"),
    ngx_string("PutBucketVersioning"),
    ngx_string("ListObjects"),
    ngx_string("ListObjectsV2"),
    ngx_string("HeadObject"),
    ngx_string("GetObject"),
    ngx_string("PutObject"),
    ngx_string("DeleteObject"),
    ngx_string("CopyObject"),
    ngx_string("DeleteObjects"),
    ngx_string("ListObjectVersions"),
    ngx_string("CreateMultipartUpload"),
    ngx_string("UploadPart"),
    ngx_string("UploadPartCopy"),
    ngx_string("CompleteMultipartUpload"),
    ngx_string("AbortMultipartUpload"),
    ngx_string("ListParts"),
    ngx_string("ListMultipartUploads"),
    ngx_string("GetObjectTagging"),
    ngx_null_string
};


#define B  NGX_HTTP_PFS_S3_BUCKET
#define O  NGX_HTTP_PFS_S3_OBJECT

/*
 * Sub-resources of operations this module does not implement: they answer
 * 501 NotImplemented under the operation's name, never a silent success
 * (a PUT ?acl taken for a PutObject would overwrite the object).
 */

static ngx_http_pfs_s3_subresource_t  ngx_http_pfs_s3_subresources[] = {

    { "acl", B, NGX_HTTP_GET, "GetBucketAcl" },
    { "acl", B, NGX_HTTP_PUT, "PutBucketAcl" },
    { "acl", O, NGX_HTTP_GET, "GetObjectAcl" },
    { "acl", O, NGX_HTTP_PUT, "PutObjectAcl" },
    { "tagging", B, NGX_HTTP_GET, "GetBucketTagging" },
    { "tagging", B, NGX_HTTP_PUT, "PutBucketTagging" },
    { "tagging", B, NGX_HTTP_DELETE, "DeleteBucketTagging" },
    { "tagging", O, NGX_HTTP_PUT, "PutObjectTagging" },
    { "tagging", O, NGX_HTTP_DELETE, "DeleteObjectTagging" },
    { "policy", B, NGX_HTTP_GET, "GetBucketPolicy" },
    { "policy", B, NGX_HTTP_PUT, "PutBucketPolicy" },
    { "policy", B, NGX_HTTP_DELETE, "DeleteBucketPolicy" },
    { "policyStatus", B, NGX_HTTP_GET, "GetBucketPolicyStatus" },
    { "cors", B, NGX_HTTP_GET, "GetBucketCors" },
    { "cors", B, NGX_HTTP_PUT, "PutBucketCors" },
    { "cors", B, NGX_HTTP_DELETE, "DeleteBucketCors" },
    { "lifecycle", B, NGX_HTTP_GET, "GetBucketLifecycleConfiguration" },
    { "lifecycle", B, NGX_HTTP_PUT, "PutBucketLifecycleConfiguration" },
    { "lifecycle", B, NGX_HTTP_DELETE, "DeleteBucketLifecycle" },
    { "website", B, NGX_HTTP_GET, "GetBucketWebsite" },
    { "website", B, NGX_HTTP_PUT, "PutBucketWebsite" },
    { "website", B, NGX_HTTP_DELETE, "DeleteBucketWebsite" },
    { "logging", B, NGX_HTTP_GET, "GetBucketLogging" },
    { "logging", B, NGX_HTTP_PUT, "PutBucketLogging" },
    { "notification", B, NGX_HTTP_GET,
      "GetBucketNotificationConfiguration" },
    { "notification", B, NGX_HTTP_PUT,
      "PutBucketNotificationConfiguration" },
    { "replication", B, NGX_HTTP_GET, "GetBucketReplication" },
    { "replication", B, NGX_HTTP_PUT, "PutBucketReplication" },
    { "replication", B, NGX_HTTP_DELETE, "DeleteBucketReplication" },
    { "encryption", B, NGX_HTTP_GET, "GetBucketEncryption" },
    { "encryption", B, NGX_HTTP_PUT, "PutBucketEncryption" },
    { "encryption", B, NGX_HTTP_DELETE, "DeleteBucketEncryption" },
    { "accelerate", B, NGX_HTTP_GET, "GetBucketAccelerateConfiguration" },
    { "accelerate", B, NGX_HTTP_PUT, "PutBucketAccelerateConfiguration" },
    { "requestPayment", B, NGX_HTTP_GET, "GetBucketRequestPayment" },
    { "requestPayment", B, NGX_HTTP_PUT, "PutBucketRequestPayment" },
    { "object-lock", B, NGX_HTTP_GET, "GetObjectLockConfiguration" },
    { "object-lock", B, NGX_HTTP_PUT, "PutObjectLockConfiguration" },
    { "ownershipControls", B, NGX_HTTP_GET, "GetBucketOwnershipControls" },
    { "ownershipControls", B, NGX_HTTP_PUT, "PutBucketOwnershipControls" },
    { "ownershipControls", B, NGX_HTTP_DELETE,
      "DeleteBucketOwnershipControls" },
    { "publicAccessBlock", B, NGX_HTTP_GET, "GetPublicAccessBlock" },
    { "publicAccessBlock", B, NGX_HTTP_PUT, "PutPublicAccessBlock" },
    { "publicAccessBlock", B, NGX_HTTP_DELETE, "DeletePublicAccessBlock" },
    { "analytics", B, NGX_HTTP_GET, "GetBucketAnalyticsConfiguration" },
    { "analytics", B, NGX_HTTP_PUT, "PutBucketAnalyticsConfiguration" },
    { "analytics", B, NGX_HTTP_DELETE, "DeleteBucketAnalyticsConfiguration" },
    { "inventory", B, NGX_HTTP_GET, "GetBucketInventoryConfiguration" },
    { "inventory", B, NGX_HTTP_PUT, "PutBucketInventoryConfiguration" },
    { "inventory", B, NGX_HTTP_DELETE, "DeleteBucketInventoryConfiguration" },
    { "metrics", B, NGX_HTTP_GET, "GetBucketMetricsConfiguration" },
    { "metrics", B, NGX_HTTP_PUT, "PutBucketMetricsConfiguration" },
    { "metrics", B, NGX_HTTP_DELETE, "DeleteBucketMetricsConfiguration" },
    { "intelligent-tiering", B, NGX_HTTP_GET,
      "GetBucketIntelligentTieringConfiguration" },
    { "intelligent-tiering", B, NGX_HTTP_PUT,
      "PutBucketIntelligentTieringConfiguration" },
    { "intelligent-tiering", B, NGX_HTTP_DELETE,
      "DeleteBucketIntelligentTieringConfiguration" },
    { "retention", O, NGX_HTTP_GET, "GetObjectRetention" },
    { "retention", O, NGX_HTTP_PUT, "PutObjectRetention" },
    { "legal-hold", O, NGX_HTTP_GET, "GetObjectLegalHold" },
    { "legal-hold", O, NGX_HTTP_PUT, "PutObjectLegalHold" },
    { "torrent", O, NGX_HTTP_GET, "GetObjectTorrent" },
    { "attributes", O, NGX_HTTP_GET, "GetObjectAttributes" },
    { "restore", O, NGX_HTTP_POST, "RestoreObject" },
    { "select", O, NGX_HTTP_POST, "SelectObjectContent" },
    { "partNumber", O, NGX_HTTP_GET|NGX_HTTP_HEAD, "GetObjectPart" },

    { NULL, 0, 0, NULL }
};

#undef B
#undef O


ngx_int_t
ngx_http_pfs_s3_parse_request(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx)
{
    ngx_int_t  rc;

    rc = ngx_http_pfs_s3_split_uri(r, ctx);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_pfs_s3_parse_args(r, ctx);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_pfs_s3_route(r, ctx);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ctx->has_bucket) {
        rc = ngx_http_pfs_s3_parse_bucket(r, &ctx->bucket.name, &ctx->bucket);

        if (rc == NGX_DECLINED) {
            return ngx_http_pfs_s3_answer(r,
                                        NGX_HTTP_PFS_S3_ERR_INVALID_BUCKET_NAME,
                                        NULL);
        }

        if (rc == NGX_ABORT) {
            return ngx_http_pfs_s3_answer(r, NGX_HTTP_PFS_S3_ERR_NO_SUCH_BUCKET,
                                          NULL);
        }

        if (rc != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ctx->has_key) {
        return ngx_http_pfs_s3_check_object_key(r, ctx);
    }

    return NGX_OK;
}


/*
 * The raw request target, not r->uri: nginx merges slashes and resolves dot
 * segments in r->uri, which would make distinct S3 keys ("a//b", "a/./b")
 * the same.
 */

static ngx_int_t
ngx_http_pfs_s3_split_uri(ngx_http_request_t *r, ngx_http_pfs_s3_ctx_t *ctx)
{
    u_char                      *p, *last, *slash;
    ngx_str_t                    path, raw, host;
    ngx_http_pfs_s3_loc_conf_t  *plcf;

    path = r->unparsed_uri;

    p = ngx_strlchr(path.data, path.data + path.len, '?');
    if (p) {
        path.len = p - path.data;
    }

    if (path.len == 0 || path.data[0] != '/') {
        return ngx_http_pfs_s3_answer(r, NGX_HTTP_PFS_S3_ERR_INVALID_URI,
                                          NULL);
    }

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_pfs_s3_module);
    host = r->headers_in.server;

    if (plcf->base_domain.len
        && host.len > plcf->base_domain.len + 1
        && host.data[host.len - plcf->base_domain.len - 1] == '.'
        && ngx_strncmp(host.data + host.len - plcf->base_domain.len,
                       plcf->base_domain.data, plcf->base_domain.len) == 0)
    {
        /* virtual-hosted style: the bucket is the host's first labels */

        ctx->virtual_host = 1;
        ctx->has_bucket = 1;
        ctx->bucket.name.data = host.data;
        ctx->bucket.name.len = host.len - plcf->base_domain.len - 1;

        raw.data = path.data + 1;
        raw.len = path.len - 1;

    } else {
        p = path.data + 1;
        last = path.data + path.len;

        if (p == last) {
            return ngx_http_pfs_s3_set_resource(r, ctx);
        }

        slash = ngx_strlchr(p, last, '/');

        raw.data = p;
        raw.len = (slash ? slash : last) - p;

        if (ngx_http_pfs_s3_unescape(r->pool, &raw, &ctx->bucket.name, 0)
            != NGX_OK)
        {
            return ngx_http_pfs_s3_answer(r,
                                              NGX_HTTP_PFS_S3_ERR_INVALID_URI,
                                              NULL);
        }

        ctx->has_bucket = 1;

        if (slash == NULL) {
            return ngx_http_pfs_s3_set_resource(r, ctx);
        }

        raw.data = slash + 1;
        raw.len = last - raw.data;
    }

    if (raw.len == 0) {
        return ngx_http_pfs_s3_set_resource(r, ctx);
    }

    if (ngx_http_pfs_s3_unescape(r->pool, &raw, &ctx->key, 0) != NGX_OK) {
        return ngx_http_pfs_s3_answer(r, NGX_HTTP_PFS_S3_ERR_INVALID_URI,
                                          NULL);
    }

    ctx->has_key = 1;

    return ngx_http_pfs_s3_set_resource(r, ctx);
}


/* The Resource of error bodies: "/bucket/key" in both addressing styles. */

static ngx_int_t
ngx_http_pfs_s3_set_resource(ngx_http_request_t *r, ngx_http_pfs_s3_ctx_t *ctx)
{
    u_char  *p;

    ctx->resource.data = ngx_pnalloc(r->pool, 2 + ctx->bucket.name.len
                                              + ctx->key.len);
    if (ctx->resource.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ctx->resource.data;
    *p++ = '/';

    if (ctx->has_bucket) {
        p = ngx_cpymem(p, ctx->bucket.name.data, ctx->bucket.name.len);
    }

    if (ctx->has_key) {
        *p++ = '/';
        p = ngx_cpymem(p, ctx->key.data, ctx->key.len);
    }

    ctx->resource.len = p - ctx->resource.data;

    return NGX_OK;
}


ngx_int_t
ngx_http_pfs_s3_unescape(ngx_pool_t *pool, ngx_str_t *src, ngx_str_t *dst,
    ngx_uint_t plus_is_space)
{
    u_char  *p, *last, *d, c, h, l;

    d = ngx_pnalloc(pool, src->len + 1);
    if (d == NULL) {
        return NGX_ERROR;
    }

    dst->data = d;

    p = src->data;
    last = p + src->len;

    while (p < last) {
        c = *p++;

        if (c == '+' && plus_is_space) {
            *d++ = ' ';
            continue;
        }

        if (c != '%') {
            *d++ = c;
            continue;
        }

        if (last - p < 2) {
            return NGX_DECLINED;
        }

        h = (u_char) (p[0] | 0x20);
        l = (u_char) (p[1] | 0x20);

        if (h >= '0' && h <= '9') {
            h -= '0';
        } else if (h >= 'a' && h <= 'f') {
            h -= 'a' - 10;
        } else {
            return NGX_DECLINED;
        }

        if (l >= '0' && l <= '9') {
            l -= '0';
        } else if (l >= 'a' && l <= 'f') {
            l -= 'a' - 10;
        } else {
            return NGX_DECLINED;
        }

        *d++ = (u_char) ((h << 4) | l);
        p += 2;
    }

    *d = '\0';
    dst->len = d - dst->data;

    return NGX_OK;
}


/* Query arguments, decoded as forms are ("+" is a space), in order. */

static ngx_int_t
ngx_http_pfs_s3_parse_args(ngx_http_request_t *r, ngx_http_pfs_s3_ctx_t *ctx)
{
    u_char                 *p, *last, *amp, *eq;
    ngx_str_t               raw;
    ngx_http_pfs_s3_arg_t  *arg;

    if (ngx_array_init(&ctx->args, r->pool, 8, sizeof(ngx_http_pfs_s3_arg_t))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->args.len == 0) {
        return NGX_OK;          /* args.data may be NULL */
    }

    p = r->args.data;
    last = p + r->args.len;

    while (p < last) {
        amp = ngx_strlchr(p, last, '&');
        if (amp == NULL) {
            amp = last;
        }

        if (amp == p) {
            p++;
            continue;
        }

        eq = ngx_strlchr(p, amp, '=');

        arg = ngx_array_push(&ctx->args);
        if (arg == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        raw.data = p;
        raw.len = (eq ? eq : amp) - p;

        if (ngx_http_pfs_s3_unescape(r->pool, &raw, &arg->name, 1) != NGX_OK) {
            return ngx_http_pfs_s3_answer(r,
                                              NGX_HTTP_PFS_S3_ERR_INVALID_URI,
                                              NULL);
        }

        if (eq) {
            raw.data = eq + 1;
            raw.len = amp - raw.data;

            if (ngx_http_pfs_s3_unescape(r->pool, &raw, &arg->value, 1)
                != NGX_OK)
            {
                return ngx_http_pfs_s3_answer(r,
                                               NGX_HTTP_PFS_S3_ERR_INVALID_URI,
                                               NULL);
            }

        } else {
            ngx_str_set(&arg->value, "");
        }

        p = amp + 1;
    }

    return NGX_OK;
}


/* NGX_OK and the value when the argument is present, NGX_DECLINED if not. */

ngx_int_t
ngx_http_pfs_s3_arg(ngx_http_pfs_s3_ctx_t *ctx, const char *name,
    ngx_str_t *value)
{
    size_t                  len;
    ngx_uint_t              i;
    ngx_http_pfs_s3_arg_t  *arg;

    len = ngx_strlen(name);
    arg = ctx->args.elts;

    for (i = 0; i < ctx->args.nelts; i++) {
        if (arg[i].name.len == len
            && ngx_strncmp(arg[i].name.data, name, len) == 0)
        {
            if (value) {
                *value = arg[i].value;
            }

            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_pfs_s3_route(ngx_http_request_t *r, ngx_http_pfs_s3_ctx_t *ctx)
{
    ngx_str_t                       v;
    ngx_uint_t                      level, method;
    ngx_http_pfs_s3_subresource_t  *sub;

    method = r->method;

    if (!(method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_PUT|NGX_HTTP_POST
                    |NGX_HTTP_DELETE)))
    {
        return ngx_http_pfs_s3_answer(r,
                                        NGX_HTTP_PFS_S3_ERR_METHOD_NOT_ALLOWED,
                                        NULL);
    }

    if (!ctx->has_bucket) {
        if (method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
            ctx->op = NGX_HTTP_PFS_S3_OP_LIST_BUCKETS;
            ctx->op_name = ngx_http_pfs_s3_op_names[ctx->op];
            return NGX_OK;
        }

        return ngx_http_pfs_s3_answer(r,
                                        NGX_HTTP_PFS_S3_ERR_METHOD_NOT_ALLOWED,
                                        NULL);
    }

    level = ctx->has_key ? NGX_HTTP_PFS_S3_OBJECT : NGX_HTTP_PFS_S3_BUCKET;

    ctx->op = ngx_http_pfs_s3_route_multipart(r, ctx, level);

    if (ctx->op != NGX_HTTP_PFS_S3_OP_NONE) {
        ctx->op_name = ngx_http_pfs_s3_op_names[ctx->op];
        return NGX_OK;
    }

    for (sub = ngx_http_pfs_s3_subresources; sub->name; sub++) {
        if ((sub->level & level) && (sub->method & method)
            && ngx_http_pfs_s3_arg(ctx, sub->name, NULL) == NGX_OK)
        {
            ctx->op = NGX_HTTP_PFS_S3_OP_UNSUPPORTED;
            ctx->op_name.data = (u_char *) sub->op;
            ctx->op_name.len = ngx_strlen(sub->op);

            /* answered 501 once authenticated, as every operation */

            return NGX_OK;
        }
    }

    if (level == NGX_HTTP_PFS_S3_BUCKET) {
        switch (method) {

        case NGX_HTTP_GET:
            if (ngx_http_pfs_s3_arg(ctx, "location", NULL) == NGX_OK) {
                ctx->op = NGX_HTTP_PFS_S3_OP_GET_BUCKET_LOCATION;

            } else if (ngx_http_pfs_s3_arg(ctx, "versioning", NULL) == NGX_OK) {
                ctx->op = NGX_HTTP_PFS_S3_OP_GET_BUCKET_VERSIONING;

            } else if (ngx_http_pfs_s3_arg(ctx, "versions", NULL) == NGX_OK) {
                ctx->op = NGX_HTTP_PFS_S3_OP_LIST_OBJECT_VERSIONS;

            } else if (ngx_http_pfs_s3_arg(ctx, "list-type", &v) == NGX_OK) {

                if (v.len != 1 || v.data[0] != '2') {
                    ctx->op = NGX_HTTP_PFS_S3_OP_LIST_OBJECTS_V2;
                    ctx->op_name = ngx_http_pfs_s3_op_names[ctx->op];

                    return ngx_http_pfs_s3_answer(r,
                                          NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT,
                                          "list-type must be 2");
                }

                ctx->op = NGX_HTTP_PFS_S3_OP_LIST_OBJECTS_V2;

            } else {
                ctx->op = NGX_HTTP_PFS_S3_OP_LIST_OBJECTS;
            }

            break;

        case NGX_HTTP_HEAD:
            ctx->op = NGX_HTTP_PFS_S3_OP_HEAD_BUCKET;
            break;

        case NGX_HTTP_PUT:
            if (ngx_http_pfs_s3_arg(ctx, "versioning", NULL) == NGX_OK) {
                ctx->op = NGX_HTTP_PFS_S3_OP_PUT_BUCKET_VERSIONING;

            } else {
                ctx->op = NGX_HTTP_PFS_S3_OP_CREATE_BUCKET;
            }

            break;

        case NGX_HTTP_DELETE:
            ctx->op = NGX_HTTP_PFS_S3_OP_DELETE_BUCKET;
            break;

        default: /* NGX_HTTP_POST */
            if (ngx_http_pfs_s3_arg(ctx, "delete", NULL) == NGX_OK) {
                ctx->op = NGX_HTTP_PFS_S3_OP_DELETE_OBJECTS;
                break;
            }

            ngx_str_set(&ctx->op_name, "PostObject");
            ctx->op = NGX_HTTP_PFS_S3_OP_UNSUPPORTED;

            return NGX_OK;
        }

        ctx->op_name = ngx_http_pfs_s3_op_names[ctx->op];
        return NGX_OK;
    }

    switch (method) {

    case NGX_HTTP_GET:
        ctx->op = ngx_http_pfs_s3_arg(ctx, "tagging", NULL) == NGX_OK
                  ? NGX_HTTP_PFS_S3_OP_GET_OBJECT_TAGGING
                  : NGX_HTTP_PFS_S3_OP_GET_OBJECT;
        break;

    case NGX_HTTP_HEAD:
        ctx->op = NGX_HTTP_PFS_S3_OP_HEAD_OBJECT;
        break;

    case NGX_HTTP_PUT:

        /* a PUT with a copy source is CopyObject, not an empty PutObject */

        if (ngx_http_pfs_s3_header(r, "x-amz-copy-source") != NULL) {
            ctx->op = NGX_HTTP_PFS_S3_OP_COPY_OBJECT;

        } else {
            ctx->op = NGX_HTTP_PFS_S3_OP_PUT_OBJECT;
        }

        break;

    case NGX_HTTP_DELETE:
        ctx->op = NGX_HTTP_PFS_S3_OP_DELETE_OBJECT;
        break;

    default: /* NGX_HTTP_POST */
        ngx_str_set(&ctx->op_name, "PostObject");
        ctx->op = NGX_HTTP_PFS_S3_OP_UNSUPPORTED;

        return NGX_OK;
    }

    ctx->op_name = ngx_http_pfs_s3_op_names[ctx->op];
    return NGX_OK;
}


/* ?uploads and ?uploadId select the multipart operations */

static ngx_http_pfs_s3_op_e
ngx_http_pfs_s3_route_multipart(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx, ngx_uint_t level)
{
    if (level == NGX_HTTP_PFS_S3_BUCKET) {
        if (r->method == NGX_HTTP_GET
            && ngx_http_pfs_s3_arg(ctx, "uploads", NULL) == NGX_OK)
        {
            return NGX_HTTP_PFS_S3_OP_LIST_MULTIPART_UPLOADS;
        }

        return NGX_HTTP_PFS_S3_OP_NONE;
    }

    if (ngx_http_pfs_s3_arg(ctx, "uploadId", NULL) == NGX_OK) {

        switch (r->method) {

        case NGX_HTTP_GET:
            return NGX_HTTP_PFS_S3_OP_LIST_PARTS;

        case NGX_HTTP_PUT:
            return ngx_http_pfs_s3_header(r, "x-amz-copy-source")
                   ? NGX_HTTP_PFS_S3_OP_UPLOAD_PART_COPY
                   : NGX_HTTP_PFS_S3_OP_UPLOAD_PART;

        case NGX_HTTP_POST:
            return NGX_HTTP_PFS_S3_OP_COMPLETE_MULTIPART_UPLOAD;

        case NGX_HTTP_DELETE:
            return NGX_HTTP_PFS_S3_OP_ABORT_MULTIPART_UPLOAD;

        default:
            return NGX_HTTP_PFS_S3_OP_NONE;
        }
    }

    if (r->method == NGX_HTTP_POST
        && ngx_http_pfs_s3_arg(ctx, "uploads", NULL) == NGX_OK)
    {
        return NGX_HTTP_PFS_S3_OP_CREATE_MULTIPART_UPLOAD;
    }

    return NGX_HTTP_PFS_S3_OP_NONE;
}


/*
 * Keys: S3's own limits first (length, UTF-8, NUL), then what PFS can store.
 * A key PFS cannot store cannot exist: reads answer NoSuchKey without asking
 * PFS, deletes succeed, writes are refused before anything is sent.
 */

static ngx_int_t
ngx_http_pfs_s3_check_object_key(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx)
{
    u_char                 *p;
    const char             *why;
    ngx_http_pfs_s3_err_e   err;

    if (ctx->key.len > NGX_HTTP_PFS_S3_MAX_KEY_LEN) {
        return ngx_http_pfs_s3_answer(r,
                                          NGX_HTTP_PFS_S3_ERR_KEY_TOO_LONG,
                                          NULL);
    }

    if (ngx_http_pfs_s3_utf8_valid(ctx->key.data, ctx->key.len) != NGX_OK
        || ngx_strlchr(ctx->key.data, ctx->key.data + ctx->key.len, '\0'))
    {
        return ngx_http_pfs_s3_answer(r, NGX_HTTP_PFS_S3_ERR_INVALID_URI,
                                    "the key is not valid UTF-8 or holds NUL");
    }

    ctx->path.data = ngx_pnalloc(r->pool, ctx->key.len + 2);
    if (ctx->path.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ctx->path.data;
    *p++ = '/';
    p = ngx_cpymem(p, ctx->key.data, ctx->key.len);
    *p = '\0';
    ctx->path.len = p - ctx->path.data;

    err = ngx_http_pfs_s3_check_key(&ctx->key, &why);

    if (err == NGX_HTTP_PFS_S3_ERR_NONE) {
        return NGX_OK;
    }

    switch (ctx->op) {

    case NGX_HTTP_PFS_S3_OP_PUT_OBJECT:
    case NGX_HTTP_PFS_S3_OP_COPY_OBJECT:
    case NGX_HTTP_PFS_S3_OP_CREATE_MULTIPART_UPLOAD:
        return ngx_http_pfs_s3_answer(r, err, why);

    case NGX_HTTP_PFS_S3_OP_UPLOAD_PART:
    case NGX_HTTP_PFS_S3_OP_UPLOAD_PART_COPY:
    case NGX_HTTP_PFS_S3_OP_COMPLETE_MULTIPART_UPLOAD:
    case NGX_HTTP_PFS_S3_OP_ABORT_MULTIPART_UPLOAD:
    case NGX_HTTP_PFS_S3_OP_LIST_PARTS:
        /* no upload of such a key can have begun */
        return ngx_http_pfs_s3_answer(r, NGX_HTTP_PFS_S3_ERR_NO_SUCH_UPLOAD,
                                      NULL);

    case NGX_HTTP_PFS_S3_OP_DELETE_OBJECT:
        return ngx_http_pfs_s3_answer(r, NGX_HTTP_PFS_S3_ERR_NONE, NULL);

    default:
        return ngx_http_pfs_s3_answer(r, NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY,
                                          NULL);
    }
}

