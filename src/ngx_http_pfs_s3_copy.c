/*
 * CopyObject: PUT /bucket/key with x-amz-copy-source.
 *
 *   InspectFile   the source, at its version (a commit id), its pinned
 *                 commit or its branch head: it exists, is a file, and the
 *                 x-amz-copy-source-if-* conditions hold for it
 *   InspectFile   the destination: the bucket exists (ModifyFile would
 *                 create a missing branch) and the key is no directory
 *   ModifyFile    one stream, one new commit on the destination branch:
 *                 delete_file, then copy_file from the source at the exact
 *                 commit inspected, so the copy is by reference (no byte
 *                 passes through nginx, a copy of any size is instant) and
 *                 is the object the conditions were checked on
 *   InspectFile   the destination again: ETag, LastModified and the new
 *                 commit (x-amz-version-id)
 *
 * PFS keeps no user metadata, so x-amz-metadata-directive changes nothing
 * stored: REPLACE is accepted (its headers have nothing to go to) and, as
 * in S3, is what makes a copy of an object onto itself legal; such a copy
 * makes a new commit, a new version with a new LastModified.
 */

#include <ngx_http_pfs_s3.h>


typedef struct {
    ngx_http_pfs_s3_copy_source_t   src;
    ngx_http_pfs_s3_ref_t           src_ref;
    ngx_http_pfs_s3_ref_t           dst_ref;
    char                           *src_commit;   /* as inspected */
    ProtobufCBinaryData             src_hash;
    ngx_uint_t                      replace;
} ngx_http_pfs_s3_copy_t;


static ngx_int_t ngx_http_pfs_s3_copy_directive(ngx_http_request_t *r,
    ngx_http_pfs_s3_copy_t *cp);
static ngx_int_t ngx_http_pfs_s3_copy_inspect(ngx_http_request_t *r,
    ngx_http_pfs_s3_ref_t *ref, ngx_http_pfs_s3_done_pt done,
    ngx_http_pfs_s3_copy_t *cp);
static ngx_int_t ngx_http_pfs_s3_copy_source_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_copy_conditions(ngx_http_request_t *r,
    PfsV2__FileInfo *info);
static ngx_int_t ngx_http_pfs_s3_copy_target_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_copy_modified(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_copy_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_str_t *ngx_http_pfs_s3_header_value(ngx_http_request_t *r,
    const char *name);


ngx_int_t
ngx_http_pfs_s3_copy_object(ngx_http_request_t *r)
{
    const char              *why;
    ngx_table_elt_t         *h;
    ngx_http_pfs_s3_ctx_t   *ctx;
    ngx_http_pfs_s3_err_e    err;
    ngx_http_pfs_s3_copy_t  *cp;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    if (ctx->bucket.commit.len) {
        return ngx_http_pfs_s3_read_only(r);
    }

    ngx_http_discard_request_body(r);

    cp = ngx_pcalloc(r->pool, sizeof(ngx_http_pfs_s3_copy_t));
    if (cp == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->op_data = cp;

    h = ngx_http_pfs_s3_header(r, "x-amz-copy-source");
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;    /* routed on it */
    }

    err = ngx_http_pfs_s3_parse_copy_source(r, &h->value, &cp->src, &why);

    if (err == NGX_HTTP_PFS_S3_ERR_INTERNAL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (err != NGX_HTTP_PFS_S3_ERR_NONE) {
        return ngx_http_pfs_s3_send_error(r, err, why);
    }

    if (ngx_http_pfs_s3_copy_directive(r, cp) != NGX_OK) {
        return ngx_http_pfs_s3_send_error(r,
                                          NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT,
                                          "Unknown metadata directive.");
    }

    /*
     * S3 refuses to copy an object onto itself unless something about it
     * is replaced; a version of the key, even the newest, is another source.
     */

    if (!cp->replace && cp->src.version.len == 0
        && cp->src.bucket.commit.len == 0
        && cp->src.bucket.project.len == ctx->bucket.project.len
        && cp->src.bucket.repo.len == ctx->bucket.repo.len
        && cp->src.bucket.branch.len == ctx->bucket.branch.len
        && cp->src.key.len == ctx->key.len
        && ngx_strncmp(cp->src.bucket.project.data, ctx->bucket.project.data,
                       ctx->bucket.project.len) == 0
        && ngx_strncmp(cp->src.bucket.repo.data, ctx->bucket.repo.data,
                       ctx->bucket.repo.len) == 0
        && ngx_strncmp(cp->src.bucket.branch.data, ctx->bucket.branch.data,
                       ctx->bucket.branch.len) == 0
        && ngx_strncmp(cp->src.key.data, ctx->key.data, ctx->key.len) == 0)
    {
        return ngx_http_pfs_s3_send_error(r,
                                        NGX_HTTP_PFS_S3_ERR_INVALID_REQUEST,
                                        "This copy request is illegal "
                                        "because it is trying to copy an "
                                        "object to itself without changing "
                                        "the object's metadata, storage "
                                        "class, website redirect location or "
                                        "encryption attributes.");
    }

    if (ngx_http_pfs_s3_ref(r, &cp->src_ref, &cp->src.bucket,
                            &cp->src.version, &cp->src.path)
        != NGX_OK
        || ngx_http_pfs_s3_ref(r, &cp->dst_ref, &ctx->bucket, NULL,
                               &ctx->path)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_pfs_s3_copy_inspect(r, &cp->src_ref,
                                        ngx_http_pfs_s3_copy_source_done, cp);
}


static ngx_int_t
ngx_http_pfs_s3_copy_directive(ngx_http_request_t *r,
    ngx_http_pfs_s3_copy_t *cp)
{
    ngx_str_t  *v;

    v = ngx_http_pfs_s3_header_value(r, "x-amz-metadata-directive");

    if (v == NULL || (v->len == 4 && ngx_strncmp(v->data, "COPY", 4) == 0)) {
        return NGX_OK;
    }

    if (v->len == 7 && ngx_strncmp(v->data, "REPLACE", 7) == 0) {
        cp->replace = 1;
        return NGX_OK;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_pfs_s3_copy_inspect(ngx_http_request_t *r, ngx_http_pfs_s3_ref_t *ref,
    ngx_http_pfs_s3_done_pt done, ngx_http_pfs_s3_copy_t *cp)
{
    return ngx_http_pfs_s3_inspect(r, &ref->file, done, cp);
}


static ngx_int_t
ngx_http_pfs_s3_copy_source_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_int_t                rc;
    PfsV2__FileInfo         *info;
    ngx_http_pfs_s3_copy_t  *cp;

    cp = call->data;

    rc = ngx_http_pfs_s3_copy_source_info(r, call, &cp->src, &info);

    if (info == NULL) {
        return rc;
    }

    /* the copy reads the very commit the conditions were checked at */

    cp->src_commit = info->file->commit->id;
    cp->src_hash = info->hash;
    cp->src_ref.commit.id = cp->src_commit;

    return ngx_http_pfs_s3_copy_inspect(r, &cp->dst_ref,
                                        ngx_http_pfs_s3_copy_target_done, cp);
}


/*
 * The outcome of the copy source's InspectFile, for CopyObject and
 * UploadPartCopy: *info is the source file, whose conditions
 * (x-amz-copy-source-if-*) hold; otherwise *info is NULL and the request
 * has been answered with the returned code.
 */

ngx_int_t
ngx_http_pfs_s3_copy_source_info(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call, ngx_http_pfs_s3_copy_source_t *src,
    PfsV2__FileInfo **info)
{
    ngx_int_t               rc;
    PfsV2__FileInfo        *fi;
    ngx_http_pfs_s3_err_e   err;

    *info = NULL;

    if (!ngx_http_pfs_s3_call_ok(call)) {
        err = ngx_http_pfs_s3_call_error(r, call,
                                         NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY);

        /* a commit that is not there is a version that is not */

        if (src->version.len
            && ngx_http_pfs_s3_classify(r, &call->grpc_message)
               == NGX_HTTP_PFS_S3_MSG_COMMIT_NOT_FOUND)
        {
            return ngx_http_pfs_s3_send_error(r,
                                          NGX_HTTP_PFS_S3_ERR_NO_SUCH_VERSION,
                                          "The specified version of the "
                                          "copy source does not exist.");
        }

        if (err == NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY
            || err == NGX_HTTP_PFS_S3_ERR_NO_SUCH_BUCKET)
        {
            return ngx_http_pfs_s3_send_error(r, err,
                                          err == NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY
                                          ? "The copy source key does not "
                                            "exist."
                                          : "The copy source bucket does not "
                                            "exist.");
        }

        return ngx_http_pfs_s3_fail(r, call, NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY);
    }

    fi = ngx_http_pfs_s3_call_message(call);

    if (fi == NULL || fi->file_type != PFS_V2__FILE_TYPE__FILE
        || fi->file == NULL || fi->file->commit == NULL
        || fi->file->commit->id == NULL || fi->file->commit->id[0] == '\0')
    {
        /* a directory is a common prefix, not an object */
        return ngx_http_pfs_s3_send_error(r, NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY,
                                          "The copy source key does not "
                                          "exist.");
    }

    rc = ngx_http_pfs_s3_copy_conditions(r, fi);

    if (rc == NGX_DECLINED) {
        return ngx_http_pfs_s3_send_error(r,
                                       NGX_HTTP_PFS_S3_ERR_PRECONDITION_FAILED,
                                       NULL);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *info = fi;

    return NGX_OK;
}


/*
 * x-amz-copy-source-if-*: the GetObject rules on the source, where every
 * failed condition is 412 (a copy has no "304"): NGX_DECLINED.
 */

static ngx_int_t
ngx_http_pfs_s3_copy_conditions(ngx_http_request_t *r, PfsV2__FileInfo *info)
{
    time_t      mtime;
    ngx_int_t   rc;
    ngx_str_t   etag;

    if (ngx_http_pfs_s3_etag_str(r->pool, &info->hash, &etag) != NGX_OK) {
        return NGX_ERROR;
    }

    mtime = info->committed ? (time_t) info->committed->seconds : 0;

    rc = ngx_http_pfs_s3_preconditions(
           ngx_http_pfs_s3_header_value(r, "x-amz-copy-source-if-match"),
           ngx_http_pfs_s3_header_value(r,
                                   "x-amz-copy-source-if-unmodified-since"),
           ngx_http_pfs_s3_header_value(r, "x-amz-copy-source-if-none-match"),
           ngx_http_pfs_s3_header_value(r,
                                   "x-amz-copy-source-if-modified-since"),
           &etag, mtime);

    return (rc == NGX_OK) ? NGX_OK : NGX_DECLINED;
}


static ngx_int_t
ngx_http_pfs_s3_copy_target_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_int_t                  rc;
    ngx_chain_t               *ops, **ll;
    ngx_http_pfs_s3_copy_t    *cp;

    cp = call->data;

    rc = ngx_http_pfs_s3_target_inspected(r, call);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    /* set_commit: the branch, so that the stream is one new commit */

    cp->dst_ref.commit.id = "";

    ops = NULL;
    ll = &ops;

    if (ngx_http_pfs_s3_copy_ops(r->pool, cp->dst_ref.file.path,
                                 &cp->src_ref.file, &ll)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_pfs_s3_modify_file(r, &cp->dst_ref.commit, ops,
                                       ngx_http_pfs_s3_copy_modified, cp);
}


/*
 * The key "dst" replaced by a copy of "src", framed at *ll: delete_file
 * first, as PutObject does, so that what the key held is replaced, never
 * appended to, whatever a concurrent writer did since.  Shared by
 * CopyObject and UploadPartCopy.
 */

ngx_int_t
ngx_http_pfs_s3_copy_ops(ngx_pool_t *pool, char *dst, PfsV2__File *src,
    ngx_chain_t ***ll)
{
    PfsV2__CopyFile            copy = PFS_V2__COPY_FILE__INIT;
    PfsV2__ModifyFileRequest   req = PFS_V2__MODIFY_FILE_REQUEST__INIT;

    if (ngx_http_pfs_s3_delete_op(pool, dst, ll) != NGX_OK) {
        return NGX_ERROR;
    }

    copy.dst = dst;
    copy.src = src;

    req.body_case = PFS_V2__MODIFY_FILE_REQUEST__BODY_COPY_FILE;
    req.copy_file = &copy;

    return ngx_http_pfs_s3_frame_op(pool, &req, ll);
}


static ngx_int_t
ngx_http_pfs_s3_copy_modified(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_http_pfs_s3_copy_t  *cp;

    if (!ngx_http_pfs_s3_call_ok(call)) {
        return ngx_http_pfs_s3_fail(r, call,
                                    NGX_HTTP_PFS_S3_ERR_NO_SUCH_BUCKET);
    }

    cp = call->data;

    return ngx_http_pfs_s3_copy_inspect(r, &cp->dst_ref,
                                        ngx_http_pfs_s3_copy_done, cp);
}


/*
 * CopyObjectResult.  The version is the branch head that holds the copy;
 * should another writer have replaced the key since (its hash is no longer
 * the source's), the head is not this copy's commit and no version id is
 * claimed.
 */

static ngx_int_t
ngx_http_pfs_s3_copy_done(ngx_http_request_t *r, ngx_http_pfs_s3_call_t *call)
{
    u_char                   mtime[32];
    size_t                   mtime_len;
    char                    *version;
    ngx_str_t                etag;
    PfsV2__FileInfo         *info;
    ngx_http_pfs_s3_xml_t   *x;
    ngx_http_pfs_s3_copy_t  *cp;

    cp = call->data;
    info = ngx_http_pfs_s3_call_message(call);

    if (!ngx_http_pfs_s3_call_ok(call) || info == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "pfs_s3: the copied object cannot be read back: "
                      "%s \"%V\"",
                      ngx_http_pfs_s3_grpc_code_name(call->grpc_status),
                      &call->grpc_message);

        return ngx_http_pfs_s3_send_error(r, NGX_HTTP_PFS_S3_ERR_INTERNAL,
                                  "PFS does not show the object just copied");
    }

    version = NULL;

    if (info->file && info->file->commit && info->file->commit->id
        && info->file->commit->id[0]
        && info->hash.len == cp->src_hash.len
        && ngx_memcmp(info->hash.data, cp->src_hash.data, info->hash.len) == 0)
    {
        version = info->file->commit->id;
    }

    if (ngx_http_pfs_s3_etag_str(r->pool, &info->hash, &etag) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (version
        && ngx_http_pfs_s3_add_header(r, "x-amz-version-id",
                                      (u_char *) version, ngx_strlen(version))
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_pfs_s3_add_header(r, "x-amz-copy-source-version-id",
                                   (u_char *) cp->src_commit,
                                   ngx_strlen(cp->src_commit))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    x = ngx_http_pfs_s3_xml_start(r, "CopyObjectResult", 1);
    if (x == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    mtime_len = ngx_http_pfs_s3_iso8601(mtime, info->committed) - mtime;

    ngx_http_pfs_s3_xml_elem(x, "LastModified", mtime, mtime_len);
    ngx_http_pfs_s3_xml_elem(x, "ETag", etag.data, etag.len);

    return ngx_http_pfs_s3_xml_send(r, x, NGX_HTTP_OK);
}


static ngx_str_t *
ngx_http_pfs_s3_header_value(ngx_http_request_t *r, const char *name)
{
    ngx_table_elt_t  *h;

    h = ngx_http_pfs_s3_header(r, name);

    return h ? &h->value : NULL;
}
