/*
 * Multipart uploads, with all their state in PFS (none in nginx), in the
 * layout of Pachyderm's own gateway, extended with the bucket's project:
 *
 *   repo _s3gateway_multipart_ (project default, branch master)
 *   /<project>/<repo>/user/<branch>/<commit or "latest">/<key>/<uploadId>/
 *       .keep        the upload exists (its commit time is "Initiated")
 *       <N>          part N (1..10000), as UploadPart wrote it
 *
 * so that any nginx in front of the same PFS can continue an upload.
 *
 *   CreateMultipartUpload    InspectFile (bucket, key no directory),
 *                            ModifyFile (.keep); CreateRepo the first time
 *   UploadPart               InspectFile (.keep), ModifyFile (the body,
 *                            streamed like PutObject's), InspectFile (.keep
 *                            again: aborted meanwhile, ModifyFile deletes
 *                            the part), InspectFile (ETag)
 *   CompleteMultipartUpload  ListFile (the parts), InspectFile (the key),
 *                            ModifyFile (delete + one copy_file append per
 *                            part: one commit, no part byte through nginx),
 *                            InspectFile (ETag, version), ModifyFile
 *                            (delete .keep and the listed parts)
 *   AbortMultipartUpload     ListFile, ModifyFile (delete .keep and the
 *                            listed parts), ListFile and ModifyFile again
 *                            for parts written meanwhile
 *   ListParts                ListFile
 *   ListMultipartUploads     GlobFile ".../<prefix>**" + "/.keep"
 *
 * Complete costs five calls whatever the number of parts.
 */

#include <ngx_http_pfs_s3.h>

#include <openssl/rand.h>


#define NGX_HTTP_PFS_S3_MAX_PARTS       10000
#define NGX_HTTP_PFS_S3_MIN_PART_SIZE   (5 * 1024 * 1024)
#define NGX_HTTP_PFS_S3_UPLOAD_ID_LEN   32

/* a 10,000-part Complete document with generous whitespace and checksums */
#define NGX_HTTP_PFS_S3_MAX_COMPLETE    (NGX_HTTP_PFS_S3_MAX_PARTS * 256)

#define NGX_HTTP_PFS_S3_OWNER_ID  "00000000000000000000000000000000"


typedef struct {
    ngx_uint_t                  number;
    off_t                       size;
    ngx_str_t                   etag;          /* quoted */
    char                       *path;          /* in the multipart repo */
    u_char                      mtime[32];
    size_t                      mtime_len;
} ngx_http_pfs_s3_part_t;


typedef struct {
    ngx_str_t                   key;           /* or a common prefix */
    ngx_str_t                   upload_id;     /* empty for a prefix */
    u_char                      initiated[32];
    size_t                      initiated_len;
} ngx_http_pfs_s3_upload_entry_t;


typedef struct {
    ngx_http_pfs_s3_ref_t       mp;            /* the multipart repo */
    ngx_http_pfs_s3_ref_t       obj;           /* the key in the bucket */
    PfsV2__Commit               listed;        /* the commit ListFile read */
    ngx_str_t                   root;          /* the bucket's uploads */
    ngx_str_t                   dir;           /* root + key/uploadId */
    ngx_str_t                   upload_id;
    ngx_uint_t                  number;        /* UploadPart */
    char                       *part_path;     /* UploadPart's part */

    ngx_array_t                 parts;         /* ngx_http_pfs_s3_part_t */
    ngx_array_t                 want;          /* ngx_http_pfs_s3_xml_part_t */
    ngx_uint_t                  keep;          /* the listing saw .keep */
    PfsV2__FileInfo            *info;          /* of the completed object */

    /* UploadPartCopy */
    ngx_http_pfs_s3_copy_source_t  src;
    ngx_http_pfs_s3_ref_t       src_ref;
    char                       *src_commit;
    off_t                       start;
    off_t                       length;
    ngx_temp_file_t            *range;         /* the bytes of a range */

    /* ListParts and ListMultipartUploads */
    ngx_uint_t                  max;
    ngx_uint_t                  marker;
    ngx_uint_t                  truncated;
    ngx_uint_t                  url;
    ngx_str_t                   prefix;
    ngx_str_t                   delimiter;
    ngx_str_t                   key_marker;
    ngx_str_t                   id_marker;
    ngx_str_t                   after;    /* "<key-marker>/[<id>/.keep]" */
    ngx_array_t                 uploads;  /* ngx_http_pfs_s3_upload_entry_t */

    unsigned                    repo_created:1;
} ngx_http_pfs_s3_upload_t;


static ngx_http_pfs_s3_upload_t *ngx_http_pfs_s3_upload(ngx_http_request_t *r);
static char *ngx_http_pfs_s3_upload_path(ngx_http_request_t *r,
    ngx_http_pfs_s3_upload_t *up, const char *leaf, ngx_uint_t number);
static ngx_int_t ngx_http_pfs_s3_upload_id(ngx_http_request_t *r,
    ngx_http_pfs_s3_upload_t *up);
static ngx_int_t ngx_http_pfs_s3_no_upload(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_upload_inspect(ngx_http_request_t *r,
    ngx_http_pfs_s3_upload_t *up, PfsV2__File *file,
    ngx_http_pfs_s3_done_pt done);
static ngx_int_t ngx_http_pfs_s3_upload_modify_one(ngx_http_request_t *r,
    ngx_http_pfs_s3_upload_t *up, PfsV2__ModifyFileRequest *req,
    ngx_http_pfs_s3_done_pt done);
static ngx_int_t ngx_http_pfs_s3_upload_delete(ngx_http_request_t *r,
    ngx_http_pfs_s3_upload_t *up, ngx_http_pfs_s3_done_pt done);
static ngx_int_t ngx_http_pfs_s3_list_upload(ngx_http_request_t *r,
    ngx_http_pfs_s3_upload_t *up, ngx_http_pfs_s3_done_pt done);
static ngx_int_t ngx_http_pfs_s3_upload_child(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call, ProtobufCMessage *msg);
static int ngx_libc_cdecl ngx_http_pfs_s3_part_cmp(const void *a,
    const void *b);
static void ngx_http_pfs_s3_owner(ngx_http_pfs_s3_xml_t *x, const char *name);

static ngx_int_t ngx_http_pfs_s3_create_upload(ngx_http_request_t *r,
    ngx_http_pfs_s3_upload_t *up);
static ngx_int_t ngx_http_pfs_s3_create_checked(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_create_keep(ngx_http_request_t *r,
    ngx_http_pfs_s3_upload_t *up);
static ngx_int_t ngx_http_pfs_s3_create_kept(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_create_repo_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);

static ngx_int_t ngx_http_pfs_s3_upload_part(ngx_http_request_t *r,
    ngx_http_pfs_s3_upload_t *up);
static ngx_int_t ngx_http_pfs_s3_part_checked(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_part_written(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_part_kept(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_part_orphan_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_part_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);

static ngx_uint_t ngx_http_pfs_s3_part_number(ngx_http_pfs_s3_ctx_t *ctx,
    ngx_http_pfs_s3_upload_t *up);
static ngx_int_t ngx_http_pfs_s3_part_copy(ngx_http_request_t *r,
    ngx_http_pfs_s3_upload_t *up);
static ngx_int_t ngx_http_pfs_s3_copy_checked(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_copy_source_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_copy_fetch(ngx_http_request_t *r,
    ngx_http_pfs_s3_upload_t *up, off_t size);
static ngx_int_t ngx_http_pfs_s3_copy_fetched(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_copy_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);

static ngx_int_t ngx_http_pfs_s3_complete(ngx_http_request_t *r,
    ngx_http_pfs_s3_upload_t *up);
static ngx_int_t ngx_http_pfs_s3_complete_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_pfs_s3_complete_listed(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_http_pfs_s3_err_e ngx_http_pfs_s3_complete_check(
    ngx_http_pfs_s3_upload_t *up, const char **why);
static ngx_uint_t ngx_http_pfs_s3_etag_equal(ngx_str_t *a, ngx_str_t *b);
static ngx_int_t ngx_http_pfs_s3_complete_checked(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_complete_assembled(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_complete_inspected(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_complete_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);

static ngx_int_t ngx_http_pfs_s3_abort_checked(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_abort_relisted(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_abort_swept(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_abort_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);

static ngx_int_t ngx_http_pfs_s3_list_parts(ngx_http_request_t *r,
    ngx_http_pfs_s3_upload_t *up);
static ngx_int_t ngx_http_pfs_s3_parts_listed(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);

static ngx_int_t ngx_http_pfs_s3_list_uploads(ngx_http_request_t *r,
    ngx_http_pfs_s3_upload_t *up);
static ngx_int_t ngx_http_pfs_s3_uploads_bucket_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_uploads_args(ngx_http_request_t *r,
    ngx_http_pfs_s3_upload_t *up);
static ngx_int_t ngx_http_pfs_s3_uploads_entry(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call, ProtobufCMessage *msg);
static ngx_uint_t ngx_http_pfs_s3_uploads_seen(ngx_http_pfs_s3_upload_t *up,
    ngx_str_t *prefix);
static ngx_int_t ngx_http_pfs_s3_uploads_skip(ngx_http_pfs_s3_upload_t *up,
    ngx_str_t *key, ngx_str_t *id);
static ngx_int_t ngx_http_pfs_s3_uploads_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_count_arg(ngx_http_pfs_s3_ctx_t *ctx,
    const char *name, ngx_uint_t *n);


ngx_int_t
ngx_http_pfs_s3_multipart(ngx_http_request_t *r)
{
    ngx_http_pfs_s3_ctx_t     *ctx;
    ngx_http_pfs_s3_upload_t  *up;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    if (ctx->bucket.commit.len
        && ctx->op != NGX_HTTP_PFS_S3_OP_LIST_PARTS
        && ctx->op != NGX_HTTP_PFS_S3_OP_LIST_MULTIPART_UPLOADS)
    {
        return ngx_http_pfs_s3_read_only(r);
    }

    up = ngx_http_pfs_s3_upload(r);
    if (up == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    switch (ctx->op) {

    case NGX_HTTP_PFS_S3_OP_CREATE_MULTIPART_UPLOAD:
        return ngx_http_pfs_s3_create_upload(r, up);

    case NGX_HTTP_PFS_S3_OP_LIST_MULTIPART_UPLOADS:
        return ngx_http_pfs_s3_list_uploads(r, up);

    default:
        break;
    }

    /* the other operations name an upload */

    if (ngx_http_pfs_s3_upload_id(r, up) != NGX_OK) {
        return ngx_http_pfs_s3_send_error(r, NGX_HTTP_PFS_S3_ERR_NO_SUCH_UPLOAD,
                                          NULL);
    }

    switch (ctx->op) {

    case NGX_HTTP_PFS_S3_OP_UPLOAD_PART:
        return ngx_http_pfs_s3_upload_part(r, up);

    case NGX_HTTP_PFS_S3_OP_UPLOAD_PART_COPY:
        return ngx_http_pfs_s3_part_copy(r, up);

    case NGX_HTTP_PFS_S3_OP_COMPLETE_MULTIPART_UPLOAD:
        return ngx_http_pfs_s3_complete(r, up);

    case NGX_HTTP_PFS_S3_OP_ABORT_MULTIPART_UPLOAD:
        ngx_http_discard_request_body(r);

        return ngx_http_pfs_s3_list_upload(r, up,
                                           ngx_http_pfs_s3_abort_checked);

    default: /* NGX_HTTP_PFS_S3_OP_LIST_PARTS */
        return ngx_http_pfs_s3_list_parts(r, up);
    }
}


/*
 * The references of an upload: the multipart repo's branch, the key in the
 * bucket, and the directory of the bucket's uploads,
 * "/<project>/<repo>/user/<branch>/<commit or latest>/".
 */

static ngx_http_pfs_s3_upload_t *
ngx_http_pfs_s3_upload(ngx_http_request_t *r)
{
    u_char                    *p;
    ngx_str_t                 *commit;
    ngx_http_pfs_s3_ctx_t     *ctx;
    ngx_http_pfs_s3_bucket_t   mp;
    ngx_http_pfs_s3_upload_t  *up;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    up = ngx_pcalloc(r->pool, sizeof(ngx_http_pfs_s3_upload_t));
    if (up == NULL) {
        return NULL;
    }

    ctx->op_data = up;

    ngx_memzero(&mp, sizeof(ngx_http_pfs_s3_bucket_t));
    ngx_str_set(&mp.project, "default");
    ngx_str_set(&mp.repo, NGX_HTTP_PFS_S3_MULTIPART_REPO);
    ngx_str_set(&mp.branch, "master");

    if (ngx_http_pfs_s3_ref(r, &up->mp, &mp, NULL, NULL) != NGX_OK
        || ngx_http_pfs_s3_ref(r, &up->obj, &ctx->bucket, NULL,
                               ctx->has_key ? &ctx->path : NULL)
           != NGX_OK)
    {
        return NULL;
    }

    /* ModifyFile on the branch: a commit of its own */

    up->mp.commit.id = "";

    pfs_v2__commit__init(&up->listed);
    up->listed.repo = &up->mp.repo;
    up->listed.branch = &up->mp.branch;

    commit = &ctx->bucket.commit;

    up->root.data = ngx_pnalloc(r->pool, ctx->bucket.project.len
                                         + ctx->bucket.repo.len
                                         + ctx->bucket.branch.len
                                         + ngx_max(commit->len, 6)
                                         + sizeof("//user////"));
    if (up->root.data == NULL) {
        return NULL;
    }

    p = ngx_sprintf(up->root.data, "/%V/%V/user/%V/", &ctx->bucket.project,
                    &ctx->bucket.repo, &ctx->bucket.branch);

    if (commit->len) {
        p = ngx_sprintf(p, "%V/", commit);

    } else {
        p = ngx_cpymem(p, "latest/", 7);
    }

    up->root.len = p - up->root.data;

    return up;
}


/* "<dir>/<leaf>", or "<dir>/<number>", as a C string for a File message */

static char *
ngx_http_pfs_s3_upload_path(ngx_http_request_t *r,
    ngx_http_pfs_s3_upload_t *up, const char *leaf, ngx_uint_t number)
{
    u_char  *p, *path;

    path = ngx_pnalloc(r->pool, up->dir.len + 2 + NGX_INT_T_LEN
                                + (leaf ? ngx_strlen(leaf) : 0));
    if (path == NULL) {
        return NULL;
    }

    if (leaf) {
        p = ngx_sprintf(path, "%V/%s", &up->dir, leaf);

    } else {
        p = ngx_sprintf(path, "%V/%ui", &up->dir, number);
    }

    *p = '\0';

    return (char *) path;
}


/* ?uploadId: 32 lowercase hex digits, as CreateMultipartUpload makes them */

static ngx_int_t
ngx_http_pfs_s3_upload_id(ngx_http_request_t *r, ngx_http_pfs_s3_upload_t *up)
{
    u_char                 *p;
    ngx_str_t               id;
    ngx_http_pfs_s3_ctx_t  *ctx;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    if (ngx_http_pfs_s3_arg(ctx, "uploadId", &id) != NGX_OK
        || id.len != NGX_HTTP_PFS_S3_UPLOAD_ID_LEN)
    {
        return NGX_DECLINED;
    }

    for (p = id.data; p < id.data + id.len; p++) {
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) {
            return NGX_DECLINED;
        }
    }

    up->upload_id = id;

    up->dir.data = ngx_pnalloc(r->pool, up->root.len + ctx->key.len + 1
                                        + id.len);
    if (up->dir.data == NULL) {
        return NGX_ERROR;
    }

    up->dir.len = ngx_sprintf(up->dir.data, "%V%V/%V", &up->root, &ctx->key,
                              &id)
                  - up->dir.data;

    return NGX_OK;
}


/*
 * The answer when a call did not find the upload: NoSuchUpload when its
 * file, its directory or the whole multipart repo is missing (or a listing
 * that succeeded had no .keep), PFS's own failure otherwise.
 */

static ngx_int_t
ngx_http_pfs_s3_no_upload(ngx_http_request_t *r, ngx_http_pfs_s3_call_t *call)
{
    if (!ngx_http_pfs_s3_call_ok(call)) {
        switch (ngx_http_pfs_s3_call_error(r, call,
                                           NGX_HTTP_PFS_S3_ERR_NO_SUCH_UPLOAD))
        {
        case NGX_HTTP_PFS_S3_ERR_NO_SUCH_UPLOAD:
        case NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY:
        case NGX_HTTP_PFS_S3_ERR_NO_SUCH_BUCKET:
            break;

        default:
            return ngx_http_pfs_s3_fail(r, call,
                                        NGX_HTTP_PFS_S3_ERR_NO_SUCH_UPLOAD);
        }
    }

    return ngx_http_pfs_s3_send_error(r, NGX_HTTP_PFS_S3_ERR_NO_SUCH_UPLOAD,
                                      NULL);
}


static ngx_int_t
ngx_http_pfs_s3_upload_inspect(ngx_http_request_t *r,
    ngx_http_pfs_s3_upload_t *up, PfsV2__File *file,
    ngx_http_pfs_s3_done_pt done)
{
    return ngx_http_pfs_s3_inspect(r, file, done, up);
}


/*
 * Deletes the upload's .keep and the parts its listing found, in one
 * commit.  Not the directory: the upload of a key "<key>/<uploadId>" lives
 * inside it.
 */

static ngx_int_t
ngx_http_pfs_s3_upload_delete(ngx_http_request_t *r,
    ngx_http_pfs_s3_upload_t *up, ngx_http_pfs_s3_done_pt done)
{
    char                      *keep;
    ngx_uint_t                 i;
    ngx_chain_t               *ops, **ll;
    ngx_http_pfs_s3_part_t    *part;

    ops = NULL;
    ll = &ops;

    if (up->keep) {
        keep = ngx_http_pfs_s3_upload_path(r, up, ".keep", 0);

        if (keep == NULL
            || ngx_http_pfs_s3_delete_op(r->pool, keep, &ll) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    part = up->parts.elts;

    for (i = 0; i < up->parts.nelts; i++) {
        if (ngx_http_pfs_s3_delete_op(r->pool, part[i].path, &ll) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return ngx_http_pfs_s3_modify_file(r, &up->mp.commit, ops, done, up);
}


/* A ModifyFile of the multipart repo with one operation. */

static ngx_int_t
ngx_http_pfs_s3_upload_modify_one(ngx_http_request_t *r,
    ngx_http_pfs_s3_upload_t *up, PfsV2__ModifyFileRequest *req,
    ngx_http_pfs_s3_done_pt done)
{
    ngx_chain_t  *ops, **ll;

    ops = NULL;
    ll = &ops;

    if (ngx_http_pfs_s3_frame_op(r->pool, req, &ll) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_pfs_s3_modify_file(r, &up->mp.commit, ops, done, up);
}


/* ListFile of the upload's directory: .keep and the parts, into up->parts */

static ngx_int_t
ngx_http_pfs_s3_list_upload(ngx_http_request_t *r,
    ngx_http_pfs_s3_upload_t *up, ngx_http_pfs_s3_done_pt done)
{
    PfsV2__ListFileRequest  req = PFS_V2__LIST_FILE_REQUEST__INIT;

    if (ngx_array_init(&up->parts, r->pool, 16,
                       sizeof(ngx_http_pfs_s3_part_t))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    up->mp.file.path = ngx_http_pfs_s3_cstr(r->pool, &up->dir);
    if (up->mp.file.path == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    req.file = &up->mp.file;

    return ngx_http_pfs_s3_call(r, "/pfs_v2.API/ListFile", &req.base,
                                &pfs_v2__file_info__descriptor,
                                ngx_http_pfs_s3_upload_child, done, up);
}


static ngx_int_t
ngx_http_pfs_s3_upload_child(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call, ProtobufCMessage *msg)
{
    PfsV2__FileInfo *info = (PfsV2__FileInfo *) msg;

    u_char                    *name, *p;
    ngx_str_t                  s;
    ngx_int_t                  n;
    ngx_http_pfs_s3_part_t    *part;
    ngx_http_pfs_s3_upload_t  *up;

    up = call->data;

    if (info->file == NULL || info->file->path == NULL
        || info->file_type != PFS_V2__FILE_TYPE__FILE)
    {
        return NGX_OK;
    }

    /* the commit the listing read: Complete copies the parts from it */

    if ((up->listed.id == NULL || up->listed.id[0] == '\0')
        && info->file->commit
        && info->file->commit->id && info->file->commit->id[0])
    {
        s.data = (u_char *) info->file->commit->id;
        s.len = ngx_strlen(info->file->commit->id);

        up->listed.id = ngx_http_pfs_s3_cstr(r->pool, &s);
        if (up->listed.id == NULL) {
            return NGX_ERROR;
        }
    }

    name = (u_char *) strrchr(info->file->path, '/');
    name = name ? name + 1 : (u_char *) info->file->path;

    if (ngx_strcmp(name, ".keep") == 0) {
        up->keep = 1;
        return NGX_OK;
    }

    /* part numbers as written: 1..10000, no leading zero */

    for (p = name; *p >= '0' && *p <= '9'; p++) { /* void */ }

    n = ngx_atoi(name, p - name);

    if (*p != '\0' || name[0] == '0' || n < 1
        || n > NGX_HTTP_PFS_S3_MAX_PARTS)
    {
        return NGX_OK;
    }

    part = ngx_array_push(&up->parts);
    if (part == NULL) {
        return NGX_ERROR;
    }

    part->number = n;
    part->size = info->size_bytes;
    part->mtime_len = ngx_http_pfs_s3_iso8601(part->mtime, info->committed)
                      - part->mtime;

    s.data = (u_char *) info->file->path;
    s.len = ngx_strlen(info->file->path);

    part->path = ngx_http_pfs_s3_cstr(r->pool, &s);

    if (part->path == NULL) {
        return NGX_ERROR;
    }

    return ngx_http_pfs_s3_etag_str(r->pool, &info->hash, &part->etag);
}


static int ngx_libc_cdecl
ngx_http_pfs_s3_part_cmp(const void *a, const void *b)
{
    const ngx_http_pfs_s3_part_t  *pa = a, *pb = b;

    return (pa->number > pb->number) - (pa->number < pb->number);
}




static void
ngx_http_pfs_s3_owner(ngx_http_pfs_s3_xml_t *x, const char *name)
{
    ngx_http_pfs_s3_xml_open(x, name);
    ngx_http_pfs_s3_xml_elem_str(x, "ID", NGX_HTTP_PFS_S3_OWNER_ID);
    ngx_http_pfs_s3_xml_elem_str(x, "DisplayName", "pachyderm");
    ngx_http_pfs_s3_xml_close(x);
}


/* ---------------------------------------------------------------- create */

static ngx_int_t
ngx_http_pfs_s3_create_upload(ngx_http_request_t *r,
    ngx_http_pfs_s3_upload_t *up)
{
    u_char                  raw[NGX_HTTP_PFS_S3_UPLOAD_ID_LEN / 2];
    ngx_str_t               id;
    ngx_http_pfs_s3_ctx_t  *ctx;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    ngx_http_discard_request_body(r);

    /* unguessable: an upload id is all it takes to write into an upload */

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "pfs_s3: RAND_bytes() failed");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    id.data = ngx_pnalloc(r->pool, NGX_HTTP_PFS_S3_UPLOAD_ID_LEN);
    if (id.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    id.len = ngx_hex_dump(id.data, raw, sizeof(raw)) - id.data;

    up->upload_id = id;

    up->dir.data = ngx_pnalloc(r->pool, up->root.len + ctx->key.len + 1
                                        + id.len);
    if (up->dir.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    up->dir.len = ngx_sprintf(up->dir.data, "%V%V/%V", &up->root, &ctx->key,
                              &id)
                  - up->dir.data;

    return ngx_http_pfs_s3_upload_inspect(r, up, &up->obj.file,
                                          ngx_http_pfs_s3_create_checked);
}


static ngx_int_t
ngx_http_pfs_s3_create_checked(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_int_t  rc;

    rc = ngx_http_pfs_s3_target_inspected(r, call);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    return ngx_http_pfs_s3_create_keep(r, call->data);
}


static ngx_int_t
ngx_http_pfs_s3_create_keep(ngx_http_request_t *r,
    ngx_http_pfs_s3_upload_t *up)
{
    PfsV2__AddFile             add = PFS_V2__ADD_FILE__INIT;
    PfsV2__ModifyFileRequest   req = PFS_V2__MODIFY_FILE_REQUEST__INIT;

    /* an empty file: one add_file without a source */

    add.path = ngx_http_pfs_s3_upload_path(r, up, ".keep", 0);
    if (add.path == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    req.body_case = PFS_V2__MODIFY_FILE_REQUEST__BODY_ADD_FILE;
    req.add_file = &add;

    return ngx_http_pfs_s3_upload_modify_one(r, up, &req,
                                             ngx_http_pfs_s3_create_kept);
}


static ngx_int_t
ngx_http_pfs_s3_create_kept(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_http_pfs_s3_xml_t     *x;
    ngx_http_pfs_s3_ctx_t     *ctx;
    ngx_http_pfs_s3_upload_t  *up;
    PfsV2__CreateRepoRequest   req = PFS_V2__CREATE_REPO_REQUEST__INIT;

    up = call->data;
    ctx = ngx_http_pfs_s3_get_ctx(r);

    if (!ngx_http_pfs_s3_call_ok(call)) {

        /* the first upload ever: the multipart repo is made on demand */

        if (!up->repo_created
            && ngx_http_pfs_s3_classify(r, &call->grpc_message)
               == NGX_HTTP_PFS_S3_MSG_REPO_NOT_FOUND)
        {
            up->repo_created = 1;
            req.repo = &up->mp.repo;
            req.description = "multipart uploads of the S3 gateway";

            return ngx_http_pfs_s3_call(r, "/pfs_v2.API/CreateRepo", &req.base,
                                        &google__protobuf__empty__descriptor,
                                        NULL, ngx_http_pfs_s3_create_repo_done,
                                        up);
        }

        return ngx_http_pfs_s3_fail(r, call, NGX_HTTP_PFS_S3_ERR_INTERNAL);
    }

    x = ngx_http_pfs_s3_xml_start(r, "InitiateMultipartUploadResult", 1);
    if (x == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_pfs_s3_xml_elem(x, "Bucket", ctx->bucket.name.data,
                             ctx->bucket.name.len);
    ngx_http_pfs_s3_xml_elem(x, "Key", ctx->key.data, ctx->key.len);
    ngx_http_pfs_s3_xml_elem(x, "UploadId", up->upload_id.data,
                             up->upload_id.len);

    return ngx_http_pfs_s3_xml_send(r, x, NGX_HTTP_OK);
}


static ngx_int_t
ngx_http_pfs_s3_create_repo_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    /* another gateway may have made it meanwhile: just as good */

    if (!ngx_http_pfs_s3_call_ok(call)
        && ngx_http_pfs_s3_classify(r, &call->grpc_message)
           != NGX_HTTP_PFS_S3_MSG_REPO_EXISTS)
    {
        return ngx_http_pfs_s3_fail(r, call, NGX_HTTP_PFS_S3_ERR_INTERNAL);
    }

    return ngx_http_pfs_s3_create_keep(r, call->data);
}


/* ---------------------------------------------------------------- part */

/* ?partNumber: 1..10000 */

static ngx_uint_t
ngx_http_pfs_s3_part_number(ngx_http_pfs_s3_ctx_t *ctx,
    ngx_http_pfs_s3_upload_t *up)
{
    ngx_int_t  n;
    ngx_str_t  v;

    if (ngx_http_pfs_s3_arg(ctx, "partNumber", &v) != NGX_OK) {
        return 0;
    }

    n = ngx_atoi(v.data, v.len);

    if (n < 1 || n > NGX_HTTP_PFS_S3_MAX_PARTS) {
        return 0;
    }

    up->number = n;

    return 1;
}


static ngx_int_t
ngx_http_pfs_s3_upload_part(ngx_http_request_t *r,
    ngx_http_pfs_s3_upload_t *up)
{
    const char             *why;
    ngx_http_pfs_s3_ctx_t  *ctx;
    ngx_http_pfs_s3_err_e   err;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    if (!ngx_http_pfs_s3_part_number(ctx, up)) {
        return ngx_http_pfs_s3_send_error(r,
                                    NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT,
                                    "Part number must be an integer between "
                                    "1 and 10000, inclusive");
    }

    if (r->headers_in.content_length_n < 0 && !r->headers_in.chunked) {
        return ngx_http_pfs_s3_send_error(r,
                                    NGX_HTTP_PFS_S3_ERR_MISSING_CONTENT_LENGTH,
                                    NULL);
    }

    why = NULL;

    if (ngx_http_pfs_s3_digests_init(r, ctx, &err, &why) != NGX_OK) {
        return ngx_http_pfs_s3_send_error(r, err, why);
    }

    /* before the body is read: a missing upload costs no transfer */

    up->mp.file.path = ngx_http_pfs_s3_upload_path(r, up, ".keep", 0);

    return ngx_http_pfs_s3_upload_inspect(r, up, &up->mp.file,
                                          ngx_http_pfs_s3_part_checked);
}


static ngx_int_t
ngx_http_pfs_s3_part_checked(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_http_pfs_s3_upload_t  *up;

    if (!ngx_http_pfs_s3_call_ok(call)) {
        return ngx_http_pfs_s3_no_upload(r, call);
    }

    up = call->data;

    up->mp.file.path = ngx_http_pfs_s3_upload_path(r, up, NULL, up->number);
    if (up->mp.file.path == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_pfs_s3_write_object(r, &up->mp.commit, up->mp.file.path,
                                        ngx_http_pfs_s3_part_written, up);
}


static ngx_int_t
ngx_http_pfs_s3_part_written(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_http_pfs_s3_upload_t  *up;

    if (!ngx_http_pfs_s3_call_ok(call)) {
        return ngx_http_pfs_s3_fail(r, call, NGX_HTTP_PFS_S3_ERR_NO_SUCH_UPLOAD);
    }

    up = call->data;

    /*
     * An Abort that listed the upload before this part was written cannot
     * have deleted it: the upload must still exist now, or the part goes.
     */

    up->part_path = up->mp.file.path;

    up->mp.file.path = ngx_http_pfs_s3_upload_path(r, up, ".keep", 0);
    if (up->mp.file.path == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_pfs_s3_upload_inspect(r, up, &up->mp.file,
                                          ngx_http_pfs_s3_part_kept);
}


static ngx_int_t
ngx_http_pfs_s3_part_kept(ngx_http_request_t *r, ngx_http_pfs_s3_call_t *call)
{
    ngx_http_pfs_s3_err_e      err;
    ngx_http_pfs_s3_upload_t  *up;
    PfsV2__DeleteFile          del = PFS_V2__DELETE_FILE__INIT;
    PfsV2__ModifyFileRequest   req = PFS_V2__MODIFY_FILE_REQUEST__INIT;

    up = call->data;
    up->mp.file.path = up->part_path;

    if (ngx_http_pfs_s3_call_ok(call)) {

        /* the part's ETag is PFS's hash of it, which Complete compares */

        return ngx_http_pfs_s3_upload_inspect(r, up, &up->mp.file,
                             ngx_http_pfs_s3_get_ctx(r)->op
                             == NGX_HTTP_PFS_S3_OP_UPLOAD_PART_COPY
                             ? ngx_http_pfs_s3_copy_done
                             : ngx_http_pfs_s3_part_done);
    }

    err = ngx_http_pfs_s3_call_error(r, call,
                                     NGX_HTTP_PFS_S3_ERR_NO_SUCH_UPLOAD);

    if (err != NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY
        && err != NGX_HTTP_PFS_S3_ERR_NO_SUCH_UPLOAD)
    {
        return ngx_http_pfs_s3_fail(r, call, NGX_HTTP_PFS_S3_ERR_NO_SUCH_UPLOAD);
    }

    /* aborted meanwhile: the part would be left where nothing lists it */

    del.path = up->part_path;

    req.body_case = PFS_V2__MODIFY_FILE_REQUEST__BODY_DELETE_FILE;
    req.delete_file = &del;

    return ngx_http_pfs_s3_upload_modify_one(r, up, &req,
                                           ngx_http_pfs_s3_part_orphan_done);
}


static ngx_int_t
ngx_http_pfs_s3_part_orphan_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_http_pfs_s3_upload_t  *up;

    up = call->data;

    if (!ngx_http_pfs_s3_call_ok(call)) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "pfs_s3: the part \"%s\" of an aborted upload could "
                      "not be deleted: %s \"%V\"", up->part_path,
                      ngx_http_pfs_s3_grpc_code_name(call->grpc_status),
                      &call->grpc_message);
    }

    return ngx_http_pfs_s3_send_error(r, NGX_HTTP_PFS_S3_ERR_NO_SUCH_UPLOAD,
                                      NULL);
}


static ngx_int_t
ngx_http_pfs_s3_part_done(ngx_http_request_t *r, ngx_http_pfs_s3_call_t *call)
{
    ngx_str_t         etag;
    PfsV2__FileInfo  *info;

    info = ngx_http_pfs_s3_call_message(call);

    if (!ngx_http_pfs_s3_call_ok(call) || info == NULL) {
        return ngx_http_pfs_s3_fail(r, call, NGX_HTTP_PFS_S3_ERR_NO_SUCH_UPLOAD);
    }

    /* and the verified x-amz-checksum-<alg>, as S3 gives it back */

    if (ngx_http_pfs_s3_etag_str(r->pool, &info->hash, &etag) != NGX_OK
        || ngx_http_pfs_s3_add_header(r, "ETag", etag.data, etag.len)
           != NGX_OK
        || ngx_http_pfs_s3_checksum_header(r, ngx_http_pfs_s3_get_ctx(r))
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_pfs_s3_send_empty(r, NGX_HTTP_OK);
}


/* ---------------------------------------------------------------- copy */

/*
 * UploadPartCopy: a part made of (a range of) an existing object.  A whole
 * object is copied by reference (copy_file from the exact commit its
 * conditions were checked at, no byte through nginx); PFS copies whole
 * files only, so a range is read with GetFile into a temporary file of
 * nginx (client_body_temp_path) and written like an UploadPart's body.
 *
 *   InspectFile (.keep), InspectFile (source), [GetFile,] ModifyFile,
 *   InspectFile (.keep again, as UploadPart), InspectFile (the part's ETag)
 */

static ngx_int_t
ngx_http_pfs_s3_part_copy(ngx_http_request_t *r, ngx_http_pfs_s3_upload_t *up)
{
    const char             *why;
    ngx_table_elt_t        *h;
    ngx_http_pfs_s3_ctx_t  *ctx;
    ngx_http_pfs_s3_err_e   err;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    ngx_http_discard_request_body(r);

    if (!ngx_http_pfs_s3_part_number(ctx, up)) {
        return ngx_http_pfs_s3_send_error(r,
                                    NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT,
                                    "Part number must be an integer between "
                                    "1 and 10000, inclusive");
    }

    h = ngx_http_pfs_s3_header(r, "x-amz-copy-source");
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;    /* routed on it */
    }

    why = NULL;
    err = ngx_http_pfs_s3_parse_copy_source(r, &h->value, &up->src, &why);

    if (err == NGX_HTTP_PFS_S3_ERR_INTERNAL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (err != NGX_HTTP_PFS_S3_ERR_NONE) {
        return ngx_http_pfs_s3_send_error(r, err, why);
    }

    if (ngx_http_pfs_s3_ref(r, &up->src_ref, &up->src.bucket,
                            &up->src.version, &up->src.path)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    up->mp.file.path = ngx_http_pfs_s3_upload_path(r, up, ".keep", 0);

    return ngx_http_pfs_s3_upload_inspect(r, up, &up->mp.file,
                                          ngx_http_pfs_s3_copy_checked);
}


static ngx_int_t
ngx_http_pfs_s3_copy_checked(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_http_pfs_s3_upload_t  *up;

    if (!ngx_http_pfs_s3_call_ok(call)) {
        return ngx_http_pfs_s3_no_upload(r, call);
    }

    up = call->data;

    return ngx_http_pfs_s3_upload_inspect(r, up, &up->src_ref.file,
                                          ngx_http_pfs_s3_copy_source_done);
}


static ngx_int_t
ngx_http_pfs_s3_copy_source_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_int_t                  rc;
    const char                *why;
    ngx_chain_t               *ops, **ll;
    ngx_table_elt_t           *range;
    PfsV2__FileInfo           *info;
    ngx_http_pfs_s3_err_e      err;
    ngx_http_pfs_s3_upload_t  *up;

    up = call->data;

    rc = ngx_http_pfs_s3_copy_source_info(r, call, &up->src, &info);

    if (info == NULL) {
        return rc;
    }

    /* the part is read at the very commit the conditions were checked at */

    up->src_commit = info->file->commit->id;
    up->src_ref.commit.id = up->src_commit;

    up->start = 0;
    up->length = info->size_bytes;

    range = ngx_http_pfs_s3_header(r, "x-amz-copy-source-range");

    if (range) {
        why = NULL;
        err = ngx_http_pfs_s3_parse_copy_range(&range->value,
                                               info->size_bytes,
                                               &up->start, &up->length, &why);

        if (err != NGX_HTTP_PFS_S3_ERR_NONE) {
            return ngx_http_pfs_s3_send_error(r, err, why);
        }
    }

    up->mp.file.path = ngx_http_pfs_s3_upload_path(r, up, NULL, up->number);
    if (up->mp.file.path == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (up->start != 0 || up->length != info->size_bytes) {
        return ngx_http_pfs_s3_copy_fetch(r, up, info->size_bytes);
    }

    ops = NULL;
    ll = &ops;

    if (ngx_http_pfs_s3_copy_ops(r->pool, up->mp.file.path,
                                 &up->src_ref.file, &ll)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_pfs_s3_modify_file(r, &up->mp.commit, ops, ngx_http_pfs_s3_part_written, up);
}


/* GetFile of the range into a temporary file, never into memory */

static ngx_int_t
ngx_http_pfs_s3_copy_fetch(ngx_http_request_t *r, ngx_http_pfs_s3_upload_t *up,
    off_t size)
{
    ngx_temp_file_t           *tf;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    tf = ngx_pcalloc(r->pool, sizeof(ngx_temp_file_t));
    if (tf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    tf->file.fd = NGX_INVALID_FILE;
    tf->file.log = r->connection->log;
    tf->path = clcf->client_body_temp_path;
    tf->pool = r->pool;
    tf->log_level = NGX_LOG_NOTICE;
    tf->clean = 1;

    if (ngx_create_temp_file(&tf->file, tf->path, tf->pool, tf->persistent,
                             tf->clean, tf->access)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    up->range = tf;

    return ngx_http_pfs_s3_get_file(r, &up->src_ref.file, up->start,
                                    up->length, up->start + up->length < size,
                                    tf, ngx_http_pfs_s3_copy_fetched, up);
}


static ngx_int_t
ngx_http_pfs_s3_copy_fetched(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_buf_t                   *b;
    ngx_str_t                    path;
    ngx_uint_t                   empty;
    ngx_chain_t                 *ops, **ll, in;
    ngx_http_pfs_s3_upload_t    *up;
    ngx_http_pfs_s3_loc_conf_t  *plcf;

    up = call->data;
    plcf = ngx_http_get_module_loc_conf(r, ngx_http_pfs_s3_module);

    if (!ngx_http_pfs_s3_call_ok(call) || call->raw_sent != up->length) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "pfs_s3: GetFile of the copy source gave %O of %O "
                      "bytes", call->raw_sent, up->length);

        return ngx_http_pfs_s3_fail(r, call, NGX_HTTP_PFS_S3_ERR_INTERNAL);
    }

    ops = NULL;
    ll = &ops;

    if (ngx_http_pfs_s3_delete_op(r->pool, up->mp.file.path, &ll) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->in_file = 1;
    b->file = &up->range->file;
    b->file_pos = 0;
    b->file_last = up->length;

    in.buf = b;
    in.next = NULL;

    path.data = (u_char *) up->mp.file.path;
    path.len = ngx_strlen(up->mp.file.path);

    *ll = ngx_http_pfs_s3_chain_slices(r->pool, &in, &path, plcf->piece_size,
                                       &empty);
    if (*ll == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_pfs_s3_modify_file(r, &up->mp.commit, ops, ngx_http_pfs_s3_part_written, up);
}




static ngx_int_t
ngx_http_pfs_s3_copy_done(ngx_http_request_t *r, ngx_http_pfs_s3_call_t *call)
{
    u_char                     mtime[32];
    ngx_str_t                  etag;
    PfsV2__FileInfo           *info;
    ngx_http_pfs_s3_xml_t     *x;
    ngx_http_pfs_s3_upload_t  *up;

    up = call->data;
    info = ngx_http_pfs_s3_call_message(call);

    if (!ngx_http_pfs_s3_call_ok(call) || info == NULL) {
        return ngx_http_pfs_s3_fail(r, call, NGX_HTTP_PFS_S3_ERR_NO_SUCH_UPLOAD);
    }

    if (ngx_http_pfs_s3_add_header(r, "x-amz-copy-source-version-id",
                                   (u_char *) up->src_commit,
                                   ngx_strlen(up->src_commit))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_pfs_s3_etag_str(r->pool, &info->hash, &etag) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    x = ngx_http_pfs_s3_xml_start(r, "CopyPartResult", 1);
    if (x == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_pfs_s3_xml_elem(x, "ETag", etag.data, etag.len);
    ngx_http_pfs_s3_xml_elem(x, "LastModified", mtime,
                             ngx_http_pfs_s3_iso8601(mtime, info->committed)
                             - mtime);

    return ngx_http_pfs_s3_xml_send(r, x, NGX_HTTP_OK);
}


/* ---------------------------------------------------------------- complete */

static ngx_int_t
ngx_http_pfs_s3_complete(ngx_http_request_t *r, ngx_http_pfs_s3_upload_t *up)
{
    const char                  *why;
    ngx_http_pfs_s3_ctx_t       *ctx;
    ngx_http_pfs_s3_err_e        err;
    ngx_http_pfs_s3_loc_conf_t  *plcf;

    ctx = ngx_http_pfs_s3_get_ctx(r);
    plcf = ngx_http_get_module_loc_conf(r, ngx_http_pfs_s3_module);

    /*
     * The document lists up to 10,000 parts, more than
     * pfs_s3_max_xml_body_size is meant for; a larger one is refused before
     * it is read.
     */

    if (r->headers_in.content_length_n
        > (off_t) ngx_max(plcf->max_xml_size, NGX_HTTP_PFS_S3_MAX_COMPLETE))
    {
        return ngx_http_pfs_s3_send_error(r, NGX_HTTP_PFS_S3_ERR_MALFORMED_XML,
                                          "the CompleteMultipartUpload "
                                          "document is too large");
    }

    why = NULL;

    if (ngx_http_pfs_s3_digests_init(r, ctx, &err, &why) != NGX_OK) {
        return ngx_http_pfs_s3_send_error(r, err, why);
    }

    if (ngx_array_init(&up->want, r->pool, 16,
                       sizeof(ngx_http_pfs_s3_xml_part_t))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_pfs_s3_read_body(r, ngx_http_pfs_s3_complete_body);
}


static ngx_int_t
ngx_http_pfs_s3_complete_body(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_str_t                     body;
    ngx_uint_t                    i, prev;
    ngx_http_pfs_s3_ctx_t        *ctx;
    ngx_http_pfs_s3_upload_t     *up;
    ngx_http_pfs_s3_xml_part_t   *want;
    ngx_http_pfs_s3_loc_conf_t   *plcf;

    ctx = ngx_http_pfs_s3_get_ctx(r);
    up = ctx->op_data;
    plcf = ngx_http_get_module_loc_conf(r, ngx_http_pfs_s3_module);

    if (ngx_http_pfs_s3_digests_finish(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->digest_failed != NGX_HTTP_PFS_S3_ERR_NONE) {
        return ngx_http_pfs_s3_send_error(r, ctx->digest_failed,
                                          ctx->digest_why);
    }

    rc = ngx_http_pfs_s3_read_small_body(r,
                ngx_max(plcf->max_xml_size, NGX_HTTP_PFS_S3_MAX_COMPLETE),
                &body);

    if (rc == NGX_OK) {
        rc = body.len ? ngx_http_pfs_s3_xml_parse_parts(r, body.data,
                                                        body.len, &up->want)
                      : NGX_DECLINED;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_pfs_s3_send_error(r, NGX_HTTP_PFS_S3_ERR_MALFORMED_XML,
                                          NULL);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* part numbers 1..10000, strictly ascending */

    want = up->want.elts;
    prev = 0;

    for (i = 0; i < up->want.nelts; i++) {
        rc = ngx_atoi(want[i].number.data, want[i].number.len);

        if (rc < 1 || rc > NGX_HTTP_PFS_S3_MAX_PARTS) {
            return ngx_http_pfs_s3_send_error(r,
                                    NGX_HTTP_PFS_S3_ERR_INVALID_PART,
                                    "Part number must be an integer between "
                                    "1 and 10000, inclusive");
        }

        if ((ngx_uint_t) rc <= prev) {
            return ngx_http_pfs_s3_send_error(r,
                                        NGX_HTTP_PFS_S3_ERR_INVALID_PART_ORDER,
                                        NULL);
        }

        prev = rc;
    }

    return ngx_http_pfs_s3_list_upload(r, up, ngx_http_pfs_s3_complete_listed);
}


static ngx_int_t
ngx_http_pfs_s3_complete_listed(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    const char                *why;
    ngx_http_pfs_s3_err_e      err;
    ngx_http_pfs_s3_upload_t  *up;

    up = call->data;

    if (!ngx_http_pfs_s3_call_ok(call) || !up->keep) {
        return ngx_http_pfs_s3_no_upload(r, call);
    }

    ngx_qsort(up->parts.elts, up->parts.nelts, sizeof(ngx_http_pfs_s3_part_t),
              ngx_http_pfs_s3_part_cmp);

    why = NULL;
    err = ngx_http_pfs_s3_complete_check(up, &why);

    if (err != NGX_HTTP_PFS_S3_ERR_NONE) {
        return ngx_http_pfs_s3_send_error(r, err, why);
    }

    return ngx_http_pfs_s3_upload_inspect(r, up, &up->obj.file,
                                          ngx_http_pfs_s3_complete_checked);
}


/*
 * S3's rules, part by part in the document's order: the part was uploaded
 * and its ETag is the one given (InvalidPart), and every part but the last
 * holds at least 5 MiB (EntityTooSmall).  Both lists are in ascending order.
 */

static ngx_http_pfs_s3_err_e
ngx_http_pfs_s3_complete_check(ngx_http_pfs_s3_upload_t *up, const char **why)
{
    ngx_uint_t                   i, j, n;
    ngx_http_pfs_s3_part_t      *part;
    ngx_http_pfs_s3_xml_part_t  *want;

    want = up->want.elts;
    part = up->parts.elts;
    j = 0;

    for (i = 0; i < up->want.nelts; i++) {
        n = ngx_atoi(want[i].number.data, want[i].number.len);

        while (j < up->parts.nelts && part[j].number < n) {
            j++;
        }

        if (j == up->parts.nelts || part[j].number != n) {
            *why = "a part was not uploaded";
            return NGX_HTTP_PFS_S3_ERR_INVALID_PART;
        }

        if (!ngx_http_pfs_s3_etag_equal(&want[i].etag, &part[j].etag)) {
            *why = "a part's ETag is not the one uploaded";
            return NGX_HTTP_PFS_S3_ERR_INVALID_PART;
        }

        if (i + 1 < up->want.nelts
            && part[j].size < NGX_HTTP_PFS_S3_MIN_PART_SIZE)
        {
            return NGX_HTTP_PFS_S3_ERR_ENTITY_TOO_SMALL;
        }
    }

    return NGX_HTTP_PFS_S3_ERR_NONE;
}


/* ETags as clients give them: quoted or not, in either case */

static ngx_uint_t
ngx_http_pfs_s3_etag_equal(ngx_str_t *a, ngx_str_t *b)
{
    ngx_str_t  sa, sb;

    sa = *a;
    sb = *b;

    if (sa.len >= 2 && sa.data[0] == '"' && sa.data[sa.len - 1] == '"') {
        sa.data++;
        sa.len -= 2;
    }

    if (sb.len >= 2 && sb.data[0] == '"' && sb.data[sb.len - 1] == '"') {
        sb.data++;
        sb.len -= 2;
    }

    return sa.len == sb.len && ngx_strncasecmp(sa.data, sb.data, sa.len) == 0;
}


/*
 * The object is assembled by reference in one ModifyFile: the key is
 * deleted, then each part appended with copy_file from the commit the
 * listing read (a concurrent Abort cannot take parts away).  The stream is
 * one commit on the branch: should it fail, nothing of it is committed.
 */

static ngx_int_t
ngx_http_pfs_s3_complete_checked(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_int_t                    rc;
    ngx_uint_t                   i, j, n;
    ngx_chain_t                 *ops, **ll;
    PfsV2__File                 *src;
    PfsV2__CopyFile             *copy;
    ngx_http_pfs_s3_part_t      *part;
    ngx_http_pfs_s3_upload_t    *up;
    ngx_http_pfs_s3_xml_part_t  *want;
    PfsV2__DeleteFile            del = PFS_V2__DELETE_FILE__INIT;
    PfsV2__ModifyFileRequest     req = PFS_V2__MODIFY_FILE_REQUEST__INIT;

    rc = ngx_http_pfs_s3_target_inspected(r, call);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    up = call->data;

    ops = NULL;
    ll = &ops;

    del.path = up->obj.file.path;

    req.body_case = PFS_V2__MODIFY_FILE_REQUEST__BODY_DELETE_FILE;
    req.delete_file = &del;

    if (ngx_http_pfs_s3_frame_op(r->pool, &req, &ll) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    copy = ngx_palloc(r->pool, sizeof(PfsV2__CopyFile));
    src = ngx_palloc(r->pool, sizeof(PfsV2__File));
    if (copy == NULL || src == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    pfs_v2__copy_file__init(copy);
    pfs_v2__file__init(src);

    if (up->listed.id == NULL) {
        up->listed.id = "";
    }

    src->commit = &up->listed;

    copy->dst = up->obj.file.path;
    copy->src = src;
    copy->append = 1;

    req.body_case = PFS_V2__MODIFY_FILE_REQUEST__BODY_COPY_FILE;
    req.copy_file = copy;

    want = up->want.elts;
    part = up->parts.elts;
    j = 0;

    for (i = 0; i < up->want.nelts; i++) {
        n = ngx_atoi(want[i].number.data, want[i].number.len);

        while (part[j].number != n) {
            j++;
        }

        src->path = part[j].path;

        if (ngx_http_pfs_s3_frame_op(r->pool, &req, &ll) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    up->obj.commit.id = "";

    return ngx_http_pfs_s3_modify_file(r, &up->obj.commit, ops, ngx_http_pfs_s3_complete_assembled, up);
}


static ngx_int_t
ngx_http_pfs_s3_complete_assembled(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_http_pfs_s3_upload_t  *up;

    if (!ngx_http_pfs_s3_call_ok(call)) {
        return ngx_http_pfs_s3_fail(r, call, NGX_HTTP_PFS_S3_ERR_NO_SUCH_BUCKET);
    }

    up = call->data;

    return ngx_http_pfs_s3_upload_inspect(r, up, &up->obj.file,
                                          ngx_http_pfs_s3_complete_inspected);
}


static ngx_int_t
ngx_http_pfs_s3_complete_inspected(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_http_pfs_s3_upload_t  *up;

    up = call->data;

    /* the object is committed: its ETag and version, if PFS tells them */

    if (ngx_http_pfs_s3_call_ok(call)) {
        up->info = ngx_http_pfs_s3_call_message(call);
    }

    return ngx_http_pfs_s3_upload_delete(r, up, ngx_http_pfs_s3_complete_done);
}


static ngx_int_t
ngx_http_pfs_s3_complete_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    u_char                    *p;
    ngx_str_t                  etag, location, host;
    ngx_http_pfs_s3_xml_t     *x;
    ngx_http_pfs_s3_ctx_t     *ctx;
    ngx_http_pfs_s3_upload_t  *up;

    up = call->data;
    ctx = ngx_http_pfs_s3_get_ctx(r);

    if (!ngx_http_pfs_s3_call_ok(call)) {
        /*
         * The object is there; the upload stays listed until aborted, and a
         * second Complete of it assembles the same object again.
         */

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "pfs_s3: the completed upload \"%V\" could not be "
                      "deleted: %s \"%V\"", &up->dir,
                      ngx_http_pfs_s3_grpc_code_name(call->grpc_status),
                      &call->grpc_message);
    }

    if (up->info && up->info->file && up->info->file->commit
        && up->info->file->commit->id && up->info->file->commit->id[0]
        && ngx_http_pfs_s3_add_header(r, "x-amz-version-id",
                                      (u_char *) up->info->file->commit->id,
                                      ngx_strlen(up->info->file->commit->id))
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* Location: the object's URL as the client addressed it */

    location.len = r->unparsed_uri.len;
    p = ngx_strlchr(r->unparsed_uri.data,
                    r->unparsed_uri.data + r->unparsed_uri.len, '?');
    if (p) {
        location.len = p - r->unparsed_uri.data;
    }

    host = r->headers_in.host ? r->headers_in.host->value
                              : r->headers_in.server;

    location.data = ngx_pnalloc(r->pool, sizeof("https://") - 1 + host.len
                                         + location.len);
    if (location.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    location.len = ngx_sprintf(location.data, "%s://%V%*s",
#if (NGX_HTTP_SSL)
                               r->connection->ssl ? "https" : "http",
#else
                               "http",
#endif
                               &host, location.len, r->unparsed_uri.data)
                   - location.data;

    x = ngx_http_pfs_s3_xml_start(r, "CompleteMultipartUploadResult", 1);
    if (x == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_pfs_s3_xml_elem(x, "Location", location.data, location.len);
    ngx_http_pfs_s3_xml_elem(x, "Bucket", ctx->bucket.name.data,
                             ctx->bucket.name.len);
    ngx_http_pfs_s3_xml_elem(x, "Key", ctx->key.data, ctx->key.len);

    if (up->info) {
        if (ngx_http_pfs_s3_etag_str(r->pool, &up->info->hash, &etag)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_pfs_s3_xml_elem(x, "ETag", etag.data, etag.len);
    }

    return ngx_http_pfs_s3_xml_send(r, x, NGX_HTTP_OK);
}


/* ---------------------------------------------------------------- abort */

static ngx_int_t
ngx_http_pfs_s3_abort_checked(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_http_pfs_s3_upload_t  *up;

    up = call->data;

    /*
     * The listing names what to delete; parts without a .keep (an
     * UploadPart that raced an earlier Abort) are deleted too.
     */

    if (!ngx_http_pfs_s3_call_ok(call) || (!up->keep && up->parts.nelts == 0))
    {
        return ngx_http_pfs_s3_no_upload(r, call);
    }

    return ngx_http_pfs_s3_upload_delete(r, up, ngx_http_pfs_s3_abort_done);
}


static ngx_int_t
ngx_http_pfs_s3_abort_done(ngx_http_request_t *r, ngx_http_pfs_s3_call_t *call)
{
    ngx_http_pfs_s3_upload_t  *up;

    if (!ngx_http_pfs_s3_call_ok(call)) {
        return ngx_http_pfs_s3_fail(r, call, NGX_HTTP_PFS_S3_ERR_NO_SUCH_UPLOAD);
    }

    /*
     * An UploadPart that passed its last check of .keep before this delete
     * wrote its part before it too: a second listing finds such parts.
     */

    up = call->data;
    up->keep = 0;

    return ngx_http_pfs_s3_list_upload(r, up, ngx_http_pfs_s3_abort_relisted);
}


static ngx_int_t
ngx_http_pfs_s3_abort_relisted(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_http_pfs_s3_upload_t  *up;

    up = call->data;

    /* a failed listing (no directory left): nothing to sweep */

    if (!ngx_http_pfs_s3_call_ok(call) || up->parts.nelts == 0) {
        return ngx_http_pfs_s3_send_empty(r, NGX_HTTP_NO_CONTENT);
    }

    return ngx_http_pfs_s3_upload_delete(r, up, ngx_http_pfs_s3_abort_swept);
}


static ngx_int_t
ngx_http_pfs_s3_abort_swept(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    if (!ngx_http_pfs_s3_call_ok(call)) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "pfs_s3: parts written during an Abort could not be "
                      "deleted: %s \"%V\"",
                      ngx_http_pfs_s3_grpc_code_name(call->grpc_status),
                      &call->grpc_message);
    }

    return ngx_http_pfs_s3_send_empty(r, NGX_HTTP_NO_CONTENT);
}


/* ---------------------------------------------------------------- parts */

static ngx_int_t
ngx_http_pfs_s3_list_parts(ngx_http_request_t *r, ngx_http_pfs_s3_upload_t *up)
{
    ngx_http_pfs_s3_ctx_t  *ctx;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    ngx_http_discard_request_body(r);

    up->max = NGX_HTTP_PFS_S3_MAX_KEYS;

    if (ngx_http_pfs_s3_count_arg(ctx, "max-parts", &up->max) != NGX_OK
        || ngx_http_pfs_s3_count_arg(ctx, "part-number-marker", &up->marker)
           != NGX_OK)
    {
        return ngx_http_pfs_s3_send_error(r,
                                    NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT,
                                    "max-parts and part-number-marker must "
                                    "be non-negative integers");
    }

    up->max = ngx_min(up->max, NGX_HTTP_PFS_S3_MAX_KEYS);

    return ngx_http_pfs_s3_list_upload(r, up, ngx_http_pfs_s3_parts_listed);
}


/* An optional non-negative integer argument: NGX_ERROR if malformed. */

static ngx_int_t
ngx_http_pfs_s3_count_arg(ngx_http_pfs_s3_ctx_t *ctx, const char *name,
    ngx_uint_t *n)
{
    ngx_int_t  v;
    ngx_str_t  s;

    if (ngx_http_pfs_s3_arg(ctx, name, &s) != NGX_OK) {
        return NGX_OK;
    }

    v = ngx_atoi(s.data, s.len);
    if (v == NGX_ERROR) {
        return NGX_ERROR;
    }

    *n = v;

    return NGX_OK;
}


static ngx_int_t
ngx_http_pfs_s3_parts_listed(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_uint_t                 i, shown;
    ngx_http_pfs_s3_xml_t     *x;
    ngx_http_pfs_s3_ctx_t     *ctx;
    ngx_http_pfs_s3_part_t    *part;
    ngx_http_pfs_s3_upload_t  *up;

    up = call->data;
    ctx = ngx_http_pfs_s3_get_ctx(r);

    if (!ngx_http_pfs_s3_call_ok(call) || !up->keep) {
        return ngx_http_pfs_s3_no_upload(r, call);
    }

    ngx_qsort(up->parts.elts, up->parts.nelts, sizeof(ngx_http_pfs_s3_part_t),
              ngx_http_pfs_s3_part_cmp);

    part = up->parts.elts;

    /* the page: parts after the marker, at most max of them */

    for (i = 0; i < up->parts.nelts && part[i].number <= up->marker; i++) {
        /* void */
    }

    shown = ngx_min(up->parts.nelts - i, up->max);

    /* max-parts=0 asks for a page of nothing: no marker to go on from */
    up->truncated = (up->max > 0 && i + shown < up->parts.nelts);

    x = ngx_http_pfs_s3_xml_start(r, "ListPartsResult", 1);
    if (x == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_pfs_s3_xml_elem(x, "Bucket", ctx->bucket.name.data,
                             ctx->bucket.name.len);
    ngx_http_pfs_s3_xml_elem(x, "Key", ctx->key.data, ctx->key.len);
    ngx_http_pfs_s3_xml_elem(x, "UploadId", up->upload_id.data,
                             up->upload_id.len);
    ngx_http_pfs_s3_owner(x, "Initiator");
    ngx_http_pfs_s3_owner(x, "Owner");
    ngx_http_pfs_s3_xml_elem_str(x, "StorageClass", "STANDARD");
    ngx_http_pfs_s3_xml_elem_num(x, "PartNumberMarker", up->marker);

    if (shown) {
        ngx_http_pfs_s3_xml_elem_num(x, "NextPartNumberMarker",
                                     part[i + shown - 1].number);
    }

    ngx_http_pfs_s3_xml_elem_num(x, "MaxParts", up->max);
    ngx_http_pfs_s3_xml_elem_str(x, "IsTruncated",
                                 up->truncated ? "true" : "false");

    for (shown += i; i < shown; i++) {
        ngx_http_pfs_s3_xml_open(x, "Part");
        ngx_http_pfs_s3_xml_elem_num(x, "PartNumber", part[i].number);
        ngx_http_pfs_s3_xml_elem(x, "LastModified", part[i].mtime,
                                 part[i].mtime_len);
        ngx_http_pfs_s3_xml_elem(x, "ETag", part[i].etag.data,
                                 part[i].etag.len);
        ngx_http_pfs_s3_xml_elem_num(x, "Size", part[i].size);
        ngx_http_pfs_s3_xml_close(x);
    }

    return ngx_http_pfs_s3_xml_send(r, x, NGX_HTTP_OK);
}


/* ---------------------------------------------------------------- uploads */

/*
 * InspectBranch (the bucket exists), then one GlobFile
 * "<root><prefix>**" + "/.keep" from the key marker on, cut
 * when the page is full.  Uploads come in PFS path order, that is by
 * "<key>/" then upload id: the same as S3's key order except where a key
 * is another's prefix followed by a byte below "/".
 */

static ngx_int_t
ngx_http_pfs_s3_list_uploads(ngx_http_request_t *r,
    ngx_http_pfs_s3_upload_t *up)
{
    ngx_int_t  rc;

    ngx_http_discard_request_body(r);

    rc = ngx_http_pfs_s3_uploads_args(r, up);

    if (rc == NGX_DECLINED) {
        return ((ngx_http_pfs_s3_ctx_t *) ngx_http_pfs_s3_get_ctx(r))->rc;
    }

    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_array_init(&up->uploads, r->pool, 16,
                       sizeof(ngx_http_pfs_s3_upload_entry_t))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* NoSuchBucket as S3 says it, not an empty list */

    return ngx_http_pfs_s3_inspect_bucket(r,
                                          ngx_http_pfs_s3_uploads_bucket_done);
}


static ngx_int_t
ngx_http_pfs_s3_uploads_bucket_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    u_char                    *p;
    ngx_str_t                  prefix;
    ngx_http_pfs_s3_upload_t  *up;
    PfsV2__PathRange           range = PFS_V2__PATH_RANGE__INIT;
    PfsV2__GlobFileRequest     req = PFS_V2__GLOB_FILE_REQUEST__INIT;

    if (!ngx_http_pfs_s3_call_ok(call)) {
        return ngx_http_pfs_s3_fail(r, call,
                                    NGX_HTTP_PFS_S3_ERR_NO_SUCH_BUCKET);
    }

    up = ngx_http_pfs_s3_get_ctx(r)->op_data;

    /* a prefix with glob characters matches no key PFS can hold */

    if (!ngx_http_pfs_s3_glob_safe(&up->prefix)) {
        return ngx_http_pfs_s3_uploads_done(r, NULL);
    }

    if (ngx_http_pfs_s3_glob_escape(r->pool, &up->prefix, &prefix) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_pnalloc(r->pool, up->root.len + prefix.len + sizeof("**/.keep"));
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    req.pattern = (char *) p;
    p = ngx_sprintf(p, "%V%V**/.keep", &up->root, &prefix);
    *p = '\0';

    if (up->key_marker.len) {
        p = ngx_pnalloc(r->pool, up->root.len + up->key_marker.len + 1);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        range.lower = (char *) p;
        p = ngx_sprintf(p, "%V%V", &up->root, &up->key_marker);
        *p = '\0';

        req.path_range = &range;
    }

    req.commit = &up->mp.commit;

    return ngx_http_pfs_s3_call(r, "/pfs_v2.API/GlobFile", &req.base,
                                &pfs_v2__file_info__descriptor,
                                ngx_http_pfs_s3_uploads_entry,
                                ngx_http_pfs_s3_uploads_done, up);
}


static ngx_int_t
ngx_http_pfs_s3_uploads_args(ngx_http_request_t *r,
    ngx_http_pfs_s3_upload_t *up)
{
    ngx_str_t               v;
    ngx_http_pfs_s3_ctx_t  *ctx;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    (void) ngx_http_pfs_s3_arg(ctx, "prefix", &up->prefix);
    (void) ngx_http_pfs_s3_arg(ctx, "delimiter", &up->delimiter);
    (void) ngx_http_pfs_s3_arg(ctx, "key-marker", &up->key_marker);
    (void) ngx_http_pfs_s3_arg(ctx, "upload-id-marker", &up->id_marker);

    if (up->delimiter.len
        && !(up->delimiter.len == 1 && up->delimiter.data[0] == '/'))
    {
        return ngx_http_pfs_s3_answer(r,
                                          NGX_HTTP_PFS_S3_ERR_INVALID_DELIMITER,
                                          NULL);
    }

    if (ngx_http_pfs_s3_arg(ctx, "encoding-type", &v) == NGX_OK) {
        if (!(v.len == 3 && ngx_strncmp(v.data, "url", 3) == 0)) {
            return ngx_http_pfs_s3_answer(r,
                                  NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT,
                                  "Invalid Encoding Method specified in "
                                  "Request");
        }

        up->url = 1;
    }

    up->max = NGX_HTTP_PFS_S3_MAX_KEYS;

    if (ngx_http_pfs_s3_count_arg(ctx, "max-uploads", &up->max) != NGX_OK) {
        return ngx_http_pfs_s3_answer(r,
                                  NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT,
                                  "max-uploads must be a non-negative "
                                  "integer");
    }

    up->max = ngx_min(up->max, NGX_HTTP_PFS_S3_MAX_KEYS);

    /* the markers as the path (below the uploads' root) they stand for */

    up->after.data = ngx_pnalloc(r->pool, up->key_marker.len
                                          + up->id_marker.len
                                          + sizeof("//.keep"));
    if (up->after.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    up->after.len = (up->id_marker.len
                     ? ngx_sprintf(up->after.data, "%V/%V/.keep",
                                   &up->key_marker, &up->id_marker)
                     : ngx_sprintf(up->after.data, "%V/", &up->key_marker))
                    - up->after.data;

    if (ngx_http_pfs_s3_utf8_valid(up->prefix.data, up->prefix.len) != NGX_OK
        || ngx_http_pfs_s3_utf8_valid(up->key_marker.data,
                                      up->key_marker.len)
           != NGX_OK)
    {
        return ngx_http_pfs_s3_answer(r,
                                  NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT,
                                  "prefix and key-marker must be UTF-8");
    }

    return NGX_OK;
}


/* Each ".../<key>/<uploadId>/.keep": an upload, a common prefix, or skipped */

static ngx_int_t
ngx_http_pfs_s3_uploads_entry(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call, ProtobufCMessage *msg)
{
    PfsV2__FileInfo *info = (PfsV2__FileInfo *) msg;

    u_char                          *path, *slash;
    size_t                           len;
    ngx_str_t                        key, id, rel;
    ngx_http_pfs_s3_upload_t        *up;
    ngx_http_pfs_s3_upload_entry_t  *e;

    up = call->data;

    if (info->file == NULL || info->file->path == NULL) {
        return NGX_OK;
    }

    path = (u_char *) info->file->path;
    len = ngx_strlen(path);

    if (len < up->root.len + 2 + NGX_HTTP_PFS_S3_UPLOAD_ID_LEN + 6
        || ngx_strncmp(path, up->root.data, up->root.len) != 0
        || ngx_strcmp(path + len - 6, "/.keep") != 0)
    {
        return NGX_OK;
    }

    id.data = path + len - 6 - NGX_HTTP_PFS_S3_UPLOAD_ID_LEN;
    id.len = NGX_HTTP_PFS_S3_UPLOAD_ID_LEN;

    key.data = path + up->root.len;
    key.len = id.data - 1 - key.data;

    rel.data = key.data;
    rel.len = path + len - key.data;

    if (id.data[-1] != '/' || key.len == 0
        || key.len < up->prefix.len
        || ngx_strncmp(key.data, up->prefix.data, up->prefix.len) != 0
        || ngx_http_pfs_s3_uploads_skip(up, &key, &rel))
    {
        return NGX_OK;
    }

    /* with delimiter "/", the keys below the prefix's next "/" are one */

    if (up->delimiter.len) {
        slash = ngx_strlchr(key.data + up->prefix.len, key.data + key.len,
                            '/');

        if (slash) {
            key.len = slash + 1 - key.data;
            ngx_str_null(&id);

            if (ngx_http_pfs_s3_uploads_seen(up, &key)) {
                return NGX_OK;
            }
        }
    }

    if (up->uploads.nelts >= up->max) {
        up->truncated = (up->max > 0);
        return NGX_DONE;
    }

    e = ngx_array_push(&up->uploads);
    if (e == NULL) {
        return NGX_ERROR;
    }

    e->key.data = ngx_pnalloc(r->pool, key.len + id.len);
    if (e->key.data == NULL) {
        return NGX_ERROR;
    }

    e->key.len = key.len;
    ngx_memcpy(e->key.data, key.data, key.len);

    e->upload_id.data = e->key.data + key.len;
    e->upload_id.len = id.len;
    ngx_memcpy(e->upload_id.data, id.data, id.len);

    e->initiated_len = ngx_http_pfs_s3_iso8601(e->initiated, info->committed)
                       - e->initiated;

    return NGX_OK;
}


/*
 * 1 when the page already holds the common prefix: in path order the keys
 * under a prefix need not be adjacent ("e/0/<id>", "e/<id>", "e/z/<id>").
 */

static ngx_uint_t
ngx_http_pfs_s3_uploads_seen(ngx_http_pfs_s3_upload_t *up, ngx_str_t *prefix)
{
    ngx_uint_t                       i;
    ngx_http_pfs_s3_upload_entry_t  *e;

    e = up->uploads.elts;

    for (i = up->uploads.nelts; i-- > 0; /* void */) {
        if (e[i].upload_id.len == 0
            && e[i].key.len == prefix->len
            && ngx_strncmp(e[i].key.data, prefix->data, prefix->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * The markers, in the listing's order, PFS path order of
 * "<key>/<uploadId>/.keep" (rel): with an upload-id-marker, uploads up to
 * and including "<key-marker>/<upload-id-marker>/.keep" are skipped;
 * without one, every upload of key-marker and every path before
 * "<key-marker>/"; a key-marker that ends in the delimiter (a common
 * prefix) skips all keys under it.
 */

static ngx_int_t
ngx_http_pfs_s3_uploads_skip(ngx_http_pfs_s3_upload_t *up, ngx_str_t *key,
    ngx_str_t *rel)
{
    ngx_str_t  *m;

    m = &up->key_marker;

    if (m->len == 0) {
        return 0;
    }

    if (up->delimiter.len && m->data[m->len - 1] == '/'
        && key->len >= m->len && ngx_strncmp(key->data, m->data, m->len) == 0)
    {
        return 1;
    }

    if (up->id_marker.len) {
        return ngx_memn2cmp(rel->data, up->after.data, rel->len,
                            up->after.len) <= 0;
    }

    if (key->len == m->len && ngx_strncmp(key->data, m->data, m->len) == 0) {
        return 1;
    }

    return ngx_memn2cmp(rel->data, up->after.data, rel->len, up->after.len)
           < 0;
}


static ngx_int_t
ngx_http_pfs_s3_uploads_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_uint_t                       i;
    ngx_http_pfs_s3_xml_t           *x;
    ngx_http_pfs_s3_ctx_t           *ctx;
    ngx_http_pfs_s3_upload_t        *up;
    ngx_http_pfs_s3_upload_entry_t  *e, *last;

    ctx = ngx_http_pfs_s3_get_ctx(r);
    up = ctx->op_data;

    /* no multipart repo yet: no upload has ever begun */

    if (call && !ngx_http_pfs_s3_call_ok(call)
        && ngx_http_pfs_s3_classify(r, &call->grpc_message)
           != NGX_HTTP_PFS_S3_MSG_REPO_NOT_FOUND)
    {
        return ngx_http_pfs_s3_fail(r, call, NGX_HTTP_PFS_S3_ERR_INTERNAL);
    }

    e = up->uploads.elts;
    last = up->uploads.nelts ? &e[up->uploads.nelts - 1] : NULL;

    x = ngx_http_pfs_s3_xml_start(r, "ListMultipartUploadsResult", 1);
    if (x == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_pfs_s3_xml_elem(x, "Bucket", ctx->bucket.name.data,
                             ctx->bucket.name.len);
    ngx_http_pfs_s3_xml_elem_url(x, "KeyMarker", &up->key_marker, up->url);
    ngx_http_pfs_s3_xml_elem(x, "UploadIdMarker", up->id_marker.data,
                             up->id_marker.len);

    if (up->truncated && last) {
        ngx_http_pfs_s3_xml_elem_url(x, "NextKeyMarker", &last->key, up->url);
        ngx_http_pfs_s3_xml_elem(x, "NextUploadIdMarker",
                                 last->upload_id.data, last->upload_id.len);
    }

    ngx_http_pfs_s3_xml_elem_url(x, "Prefix", &up->prefix, up->url);

    if (up->delimiter.len) {
        ngx_http_pfs_s3_xml_elem_url(x, "Delimiter", &up->delimiter, up->url);
    }

    ngx_http_pfs_s3_xml_elem_num(x, "MaxUploads", up->max);

    if (up->url) {
        ngx_http_pfs_s3_xml_elem_str(x, "EncodingType", "url");
    }

    ngx_http_pfs_s3_xml_elem_str(x, "IsTruncated",
                                 up->truncated ? "true" : "false");

    for (i = 0; i < up->uploads.nelts; i++) {
        if (e[i].upload_id.len == 0) {
            continue;
        }

        ngx_http_pfs_s3_xml_open(x, "Upload");
        ngx_http_pfs_s3_xml_elem_url(x, "Key", &e[i].key, up->url);
        ngx_http_pfs_s3_xml_elem(x, "UploadId", e[i].upload_id.data,
                                 e[i].upload_id.len);
        ngx_http_pfs_s3_owner(x, "Initiator");
        ngx_http_pfs_s3_owner(x, "Owner");
        ngx_http_pfs_s3_xml_elem_str(x, "StorageClass", "STANDARD");
        ngx_http_pfs_s3_xml_elem(x, "Initiated", e[i].initiated,
                                 e[i].initiated_len);
        ngx_http_pfs_s3_xml_close(x);
    }

    for (i = 0; i < up->uploads.nelts; i++) {
        if (e[i].upload_id.len) {
            continue;
        }

        ngx_http_pfs_s3_xml_open(x, "CommonPrefixes");
        ngx_http_pfs_s3_xml_elem_url(x, "Prefix", &e[i].key, up->url);
        ngx_http_pfs_s3_xml_close(x);
    }

    return ngx_http_pfs_s3_xml_send(r, x, NGX_HTTP_OK);
}
