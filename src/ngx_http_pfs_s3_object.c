/*
 * Object operations: HeadObject, GetObject, GetObjectTagging, PutObject,
 * DeleteObject.
 *
 *   Head/GetObject   InspectFile, then (GET) GetFile at the exact commit
 *                    InspectFile reported, from the first byte wanted
 *   GetObjectTagging InspectFile: PFS has no tags, an empty TagSet
 *   PutObject        InspectFile (the bucket exists, the key is no
 *                    directory) before the body is read, then one
 *                    ModifyFile, then InspectFile for the ETag and version
 *   DeleteObject     InspectFile, then ModifyFile if there is a file
 */

#include <ngx_http_pfs_s3.h>


/* how far back a PutObject looks for its own commit after a race */
#define NGX_HTTP_PFS_S3_FIND_COMMITS  16


typedef struct {
    ngx_http_pfs_s3_ref_t       ref;
    PfsV2__FileInfo            *info;
    off_t                       start;
    off_t                       length;
    ngx_uint_t                  exists;    /* PutObject overwrites a file */
    char                       *head;
    ngx_array_t                *commits;   /* ids older than head */
    ngx_uint_t                  next;
} ngx_http_pfs_s3_object_t;


static ngx_http_pfs_s3_object_t *ngx_http_pfs_s3_object(ngx_http_request_t *r,
    ngx_str_t *commit);
static ngx_int_t ngx_http_pfs_s3_inspect_file(ngx_http_request_t *r,
    ngx_http_pfs_s3_object_t *obj, ngx_http_pfs_s3_done_pt done);
static ngx_int_t ngx_http_pfs_s3_read_start(ngx_http_request_t *r,
    ngx_http_pfs_s3_done_pt done);
static ngx_int_t ngx_http_pfs_s3_read_inspected(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call, ngx_int_t *rc);
static ngx_int_t ngx_http_pfs_s3_get_inspected(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_tagging_inspected(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_conditions(ngx_http_request_t *r,
    ngx_str_t *etag, time_t mtime);
static ngx_int_t ngx_http_pfs_s3_range(ngx_http_request_t *r, off_t size,
    off_t *start, off_t *length);
static ngx_int_t ngx_http_pfs_s3_object_headers(ngx_http_request_t *r,
    ngx_http_pfs_s3_object_t *obj, ngx_str_t *etag);
static ngx_int_t ngx_http_pfs_s3_overrides(ngx_http_request_t *r);
static ngx_int_t ngx_http_pfs_s3_get_file_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_put_inspected(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_put_modified(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_put_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_put_answer(ngx_http_request_t *r,
    ProtobufCBinaryData *hash, const char *version);
static ngx_int_t ngx_http_pfs_s3_put_own(ngx_http_request_t *r);
static ngx_int_t ngx_http_pfs_s3_put_find(ngx_http_request_t *r,
    ngx_http_pfs_s3_object_t *obj, char *head);
static ngx_int_t ngx_http_pfs_s3_put_commit(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call, ProtobufCMessage *msg);
static ngx_int_t ngx_http_pfs_s3_put_listed(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_put_check(ngx_http_request_t *r,
    ngx_http_pfs_s3_object_t *obj);
static ngx_int_t ngx_http_pfs_s3_put_checked(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_delete_inspected(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_delete_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_version_header(ngx_http_request_t *r,
    PfsV2__FileInfo *info);


static ngx_http_pfs_s3_object_t *
ngx_http_pfs_s3_object(ngx_http_request_t *r, ngx_str_t *commit)
{
    ngx_http_pfs_s3_ctx_t     *ctx;
    ngx_http_pfs_s3_object_t  *obj;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    obj = ngx_pcalloc(r->pool, sizeof(ngx_http_pfs_s3_object_t));
    if (obj == NULL) {
        return NULL;
    }

    if (ngx_http_pfs_s3_ref(r, &obj->ref, &ctx->bucket, commit, &ctx->path)
        != NGX_OK)
    {
        return NULL;
    }

    ctx->op_data = obj;

    return obj;
}


static ngx_int_t
ngx_http_pfs_s3_inspect_file(ngx_http_request_t *r,
    ngx_http_pfs_s3_object_t *obj, ngx_http_pfs_s3_done_pt done)
{
    return ngx_http_pfs_s3_inspect(r, &obj->ref.file, done, obj);
}


/* ---------------------------------------------------------------- get */

ngx_int_t
ngx_http_pfs_s3_get_object(ngx_http_request_t *r)
{
    return ngx_http_pfs_s3_read_start(r, ngx_http_pfs_s3_get_inspected);
}


/*
 * The InspectFile that starts a read of the key (GetObject, HeadObject,
 * GetObjectTagging), at the commit of "versionId" if there is one.
 */

static ngx_int_t
ngx_http_pfs_s3_read_start(ngx_http_request_t *r,
    ngx_http_pfs_s3_done_pt done)
{
    ngx_str_t                  version;
    ngx_http_pfs_s3_ctx_t     *ctx;
    ngx_http_pfs_s3_object_t  *obj;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    ngx_http_discard_request_body(r);

    ngx_str_null(&version);

    if (ngx_http_pfs_s3_arg(ctx, "versionId", &version) == NGX_OK
        && !ngx_http_pfs_s3_version_valid(&version))
    {
        return ngx_http_pfs_s3_send_error(r,
                                          NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT,
                                          "Invalid version id specified");
    }

    obj = ngx_http_pfs_s3_object(r, &version);
    if (obj == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_pfs_s3_inspect_file(r, obj, done);
}


/*
 * The key's FileInfo from the InspectFile of ngx_http_pfs_s3_read_start()
 * in obj->info: NGX_OK, or NGX_DECLINED with *rc the answer (NoSuchKey,
 * NoSuchBucket, a DeleteMarker, PFS failing).
 */

static ngx_int_t
ngx_http_pfs_s3_read_inspected(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call, ngx_int_t *rc)
{
    PfsV2__FileInfo            *info;
    ngx_http_pfs_s3_object_t   *obj;

    obj = call->data;

    if (!ngx_http_pfs_s3_call_ok(call)) {

        /* a version without the key may be a DeleteMarker */

        if (ngx_http_pfs_s3_call_error(r, call,
                                       NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY)
            == NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY
            && ngx_http_pfs_s3_arg(ngx_http_pfs_s3_get_ctx(r), "versionId",
                                   NULL)
               == NGX_OK)
        {
            *rc = ngx_http_pfs_s3_delete_marker(r, &obj->ref);
            return NGX_DECLINED;
        }

        *rc = ngx_http_pfs_s3_fail(r, call, NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY);
        return NGX_DECLINED;
    }

    info = ngx_http_pfs_s3_call_message(call);

    if (info == NULL || info->file_type != PFS_V2__FILE_TYPE__FILE
        || info->size_bytes < 0)
    {
        /* a directory is a common prefix, not an object */
        *rc = ngx_http_pfs_s3_send_error(r, NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY,
                                         NULL);
        return NGX_DECLINED;
    }

    obj->info = info;

    return NGX_OK;
}


static ngx_int_t
ngx_http_pfs_s3_get_inspected(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    time_t                      mtime;
    ngx_int_t                   rc;
    ngx_str_t                   etag;
    PfsV2__FileInfo            *info;
    ngx_http_pfs_s3_object_t   *obj;

    if (ngx_http_pfs_s3_read_inspected(r, call, &rc) != NGX_OK) {
        return rc;
    }

    obj = call->data;
    info = obj->info;

    if (ngx_http_pfs_s3_etag_str(r->pool, &info->hash, &etag) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    mtime = info->committed ? (time_t) info->committed->seconds : 0;

    rc = ngx_http_pfs_s3_conditions(r, &etag, mtime);

    if (rc == NGX_HTTP_PRECONDITION_FAILED) {
        return ngx_http_pfs_s3_send_error(r,
                                       NGX_HTTP_PFS_S3_ERR_PRECONDITION_FAILED,
                                       NULL);
    }

    if (ngx_http_pfs_s3_object_headers(r, obj, &etag) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_HTTP_NOT_MODIFIED) {
        return ngx_http_pfs_s3_send_error(r, NGX_HTTP_PFS_S3_ERR_NOT_MODIFIED,
                                          NULL);
    }

    rc = ngx_http_pfs_s3_range(r, info->size_bytes, &obj->start, &obj->length);

    if (rc == NGX_HTTP_RANGE_NOT_SATISFIABLE) {
        return ngx_http_pfs_s3_send_error(r, NGX_HTTP_PFS_S3_ERR_INVALID_RANGE,
                                          NULL);
    }

    if (rc != NGX_OK && rc != NGX_HTTP_PARTIAL_CONTENT) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = rc == NGX_OK ? NGX_HTTP_OK
                                         : NGX_HTTP_PARTIAL_CONTENT;
    r->headers_out.content_length_n = obj->length;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    if (obj->length == 0) {
        return ngx_http_send_special(r, NGX_HTTP_LAST);
    }

    /*
     * GetFile at the commit InspectFile answered for, so that the bytes are
     * the ones the headers describe even if the branch moves meanwhile.
     */

    if (info->file && info->file->commit && info->file->commit->id
        && info->file->commit->id[0])
    {
        obj->ref.commit.id = info->file->commit->id;
    }

    /*
     * A range that ends before the object does stops the stream there; a
     * read to the end lets it end by itself, so that the connection to PFS
     * stays open for the next call.
     */

    return ngx_http_pfs_s3_get_file(r, &obj->ref.file, obj->start,
                                    obj->length,
                                    obj->start + obj->length
                                    < info->size_bytes,
                                    NULL, ngx_http_pfs_s3_get_file_done, obj);
}


/*
 * GetObjectTagging: PFS keeps no tags, so an existing key has an empty tag
 * set.  The aws CLI asks for it before copying a large object between
 * buckets; answering 501 would make such copies fail.
 */

ngx_int_t
ngx_http_pfs_s3_get_object_tagging(ngx_http_request_t *r)
{
    return ngx_http_pfs_s3_read_start(r, ngx_http_pfs_s3_tagging_inspected);
}


static ngx_int_t
ngx_http_pfs_s3_tagging_inspected(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_int_t                  rc;
    ngx_http_pfs_s3_xml_t     *x;
    ngx_http_pfs_s3_object_t  *obj;

    if (ngx_http_pfs_s3_read_inspected(r, call, &rc) != NGX_OK) {
        return rc;
    }

    obj = call->data;

    if (ngx_http_pfs_s3_version_header(r, obj->info) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    x = ngx_http_pfs_s3_xml_start(r, "Tagging", 1);
    if (x == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_pfs_s3_xml_open(x, "TagSet");
    ngx_http_pfs_s3_xml_close(x);

    return ngx_http_pfs_s3_xml_send(r, x, NGX_HTTP_OK);
}


/*
 * GetFile of "length" bytes from "offset", to the client, or to "sink" (a
 * temporary file); "cut" stops the stream there.  Returns NGX_DONE or an
 * error code.
 */

ngx_int_t
ngx_http_pfs_s3_get_file(ngx_http_request_t *r, PfsV2__File *file,
    off_t offset, off_t length, ngx_uint_t cut, ngx_temp_file_t *sink,
    ngx_http_pfs_s3_done_pt done, void *data)
{
    ngx_str_t                path;
    ngx_http_pfs_s3_call_t  *call;
    PfsV2__GetFileRequest    req = PFS_V2__GET_FILE_REQUEST__INIT;

    /* GetFile's path is a glob pattern (InspectFile's is not) */

    path.data = (u_char *) file->path;
    path.len = ngx_strlen(file->path);

    if (ngx_http_pfs_s3_glob_escape(r->pool, &path, &path) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    file->path = (char *) path.data;

    req.file = file;
    req.offset = offset;

    call = ngx_http_pfs_s3_call_create(r, "/pfs_v2.API/GetFile",
                                    &google__protobuf__bytes_value__descriptor,
                                    done);
    if (call == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    call->raw = 1;
    call->raw_limit = length;
    call->raw_cut = cut;
    call->sink = sink;
    call->data = data;

    return ngx_http_pfs_s3_call_start(r, call,
                                      ngx_http_pfs_s3_frame(r->pool, &req.base));
}


/*
 * After the status line went out, a failed or short GetFile can only break
 * the connection: a client must never take a truncated object for a whole.
 */

static ngx_int_t
ngx_http_pfs_s3_get_file_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_buf_t                 *b;
    ngx_chain_t                out;
    ngx_http_pfs_s3_object_t  *obj;

    obj = call->data;

    if (!ngx_http_pfs_s3_call_ok(call) || call->raw_sent != obj->length) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "pfs_s3: GetFile gave %O of %O bytes (%s \"%V\"), "
                      "closing the connection", call->raw_sent, obj->length,
                      ngx_http_pfs_s3_grpc_code_name(call->grpc_status),
                      &call->grpc_message);

        r->connection->error = 1;
        return NGX_ERROR;
    }

    if (!call->raw_held) {
        return ngx_http_send_special(r, NGX_HTTP_LAST);
    }

    /* the byte held back until PFS said the read was whole */

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = &call->raw_last;
    b->last = b->pos + 1;
    b->memory = 1;
    b->last_buf = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* GetObject's conditions: ngx_http_pfs_s3_preconditions() on If-* */

static ngx_int_t
ngx_http_pfs_s3_conditions(ngx_http_request_t *r, ngx_str_t *etag,
    time_t mtime)
{
    ngx_http_headers_in_t  *in;

    in = &r->headers_in;

    return ngx_http_pfs_s3_preconditions(
                 in->if_match ? &in->if_match->value : NULL,
                 in->if_unmodified_since ? &in->if_unmodified_since->value
                                         : NULL,
                 in->if_none_match ? &in->if_none_match->value : NULL,
                 in->if_modified_since ? &in->if_modified_since->value : NULL,
                 etag, mtime);
}


/*
 * The Range header (ngx_http_pfs_s3_parse_range()) and, for a partial or
 * unsatisfiable answer, its Content-Range.
 */

static ngx_int_t
ngx_http_pfs_s3_range(ngx_http_request_t *r, off_t size, off_t *start,
    off_t *length)
{
    ngx_int_t         rc;
    ngx_table_elt_t  *h;

    *start = 0;
    *length = size;

    if (r->headers_in.range == NULL) {
        return NGX_OK;
    }

    rc = ngx_http_pfs_s3_parse_range(&r->headers_in.range->value, size,
                                     start, length);

    if (rc == NGX_OK) {
        return NGX_OK;
    }

    if (rc == NGX_HTTP_RANGE_NOT_SATISFIABLE) {
        goto unsatisfiable;
    }


    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Content-Range");
    h->lowcase_key = NULL;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    h->value.data = ngx_pnalloc(r->pool,
                                sizeof("bytes -/") - 1 + 3 * NGX_OFF_T_LEN);
    if (h->value.data == NULL) {
        return NGX_ERROR;
    }

    h->value.len = ngx_sprintf(h->value.data, "bytes %O-%O/%O", *start,
                               *start + *length - 1, size)
                   - h->value.data;

    r->headers_out.content_range = h;

    return NGX_HTTP_PARTIAL_CONTENT;

unsatisfiable:

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Content-Range");
    h->lowcase_key = NULL;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    h->value.data = ngx_pnalloc(r->pool,
                                sizeof("bytes */") - 1 + NGX_OFF_T_LEN);
    if (h->value.data == NULL) {
        return NGX_ERROR;
    }

    h->value.len = ngx_sprintf(h->value.data, "bytes */%O", size)
                   - h->value.data;

    r->headers_out.content_range = h;

    return NGX_HTTP_RANGE_NOT_SATISFIABLE;
}


static ngx_int_t
ngx_http_pfs_s3_object_headers(ngx_http_request_t *r,
    ngx_http_pfs_s3_object_t *obj, ngx_str_t *etag)
{
    u_char                 *p;
    ngx_http_pfs_s3_ctx_t  *ctx;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    if (ngx_http_pfs_s3_add_header(r, "ETag", etag->data, etag->len)
        != NGX_OK
        || ngx_http_pfs_s3_add_header(r, "Accept-Ranges",
                                      (u_char *) "bytes", 5)
           != NGX_OK
        || ngx_http_pfs_s3_version_header(r, obj->info) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (obj->info->committed) {
        r->headers_out.last_modified_time =
                                        (time_t) obj->info->committed->seconds;
    }

    /* PFS keeps no content type: nginx's types, by the key's extension */

    ngx_str_null(&r->exten);

    for (p = ctx->key.data + ctx->key.len; p > ctx->key.data; p--) {
        if (p[-1] == '/') {
            break;
        }

        if (p[-1] == '.') {
            r->exten.data = p;
            r->exten.len = ctx->key.data + ctx->key.len - p;
            break;
        }
    }

    if (ngx_http_pfs_s3_overrides(r) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_set_content_type(r);
}


/* response-* query arguments set the response's headers (S3 semantics) */

static ngx_int_t
ngx_http_pfs_s3_overrides(ngx_http_request_t *r)
{
    ngx_str_t               v;
    ngx_uint_t              i;
    ngx_http_pfs_s3_ctx_t  *ctx;

    static struct {
        const char  *arg;
        const char  *header;
    } overrides[] = {
        { "response-content-language", "Content-Language" },
        { "response-expires", "Expires" },
        { "response-cache-control", "Cache-Control" },
        { "response-content-disposition", "Content-Disposition" },
        { "response-content-encoding", "Content-Encoding" },
        { NULL, NULL }
    };

    ctx = ngx_http_pfs_s3_get_ctx(r);

    if (ngx_http_pfs_s3_arg(ctx, "response-content-type", &v) == NGX_OK
        && v.len)
    {
        r->headers_out.content_type = v;
        r->headers_out.content_type_len = v.len;
        r->headers_out.content_type_lowcase = NULL;
    }

    for (i = 0; overrides[i].arg; i++) {
        if (ngx_http_pfs_s3_arg(ctx, overrides[i].arg, &v) == NGX_OK
            && v.len)
        {
            if (ngx_http_pfs_s3_add_header(r, overrides[i].header, v.data,
                                           v.len)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_pfs_s3_version_header(ngx_http_request_t *r, PfsV2__FileInfo *info)
{
    char  *id;

    if (info == NULL || info->file == NULL || info->file->commit == NULL) {
        return NGX_OK;
    }

    id = info->file->commit->id;

    if (id == NULL || id[0] == '\0') {
        return NGX_OK;
    }

    return ngx_http_pfs_s3_add_header(r, "x-amz-version-id", (u_char *) id,
                                      ngx_strlen(id));
}


/* ---------------------------------------------------------------- put */

ngx_int_t
ngx_http_pfs_s3_put_object(ngx_http_request_t *r)
{
    const char                *why;
    ngx_http_pfs_s3_ctx_t     *ctx;
    ngx_http_pfs_s3_err_e      err;
    ngx_http_pfs_s3_object_t  *obj;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    if (ctx->bucket.commit.len) {
        return ngx_http_pfs_s3_read_only(r);
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

    obj = ngx_http_pfs_s3_object(r, NULL);
    if (obj == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /*
     * Before the body is read: a missing bucket is answered without the
     * body ("Expect: 100-continue" clients never send it), and a key that
     * names a directory is refused, since replacing it would delete every
     * file under it.
     */

    return ngx_http_pfs_s3_inspect_file(r, obj, ngx_http_pfs_s3_put_inspected);
}


static ngx_int_t
ngx_http_pfs_s3_put_inspected(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_http_pfs_s3_object_t  *obj;

    ngx_int_t  rc;

    obj = call->data;

    rc = ngx_http_pfs_s3_target_inspected(r, call);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    obj->exists = ngx_http_pfs_s3_call_ok(call);

    /* set_commit: the branch, so that the stream is one new commit */

    obj->ref.commit.id = "";

    return ngx_http_pfs_s3_write_object(r, &obj->ref.commit,
                                        obj->ref.file.path,
                                        ngx_http_pfs_s3_put_modified, obj);
}


/*
 * Before a write of the key (PutObject, CopyObject, a multipart upload):
 * the bucket exists, and the key is no directory, since replacing it would
 * delete every file under it.  NGX_DECLINED to go on (the key is a file or
 * nothing), otherwise the request has been answered.
 */

ngx_int_t
ngx_http_pfs_s3_target_inspected(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    PfsV2__FileInfo  *info;

    if (ngx_http_pfs_s3_call_ok(call)) {
        info = ngx_http_pfs_s3_call_message(call);

        if (info && info->file_type == PFS_V2__FILE_TYPE__DIR) {
            return ngx_http_pfs_s3_send_error(r,
                                        NGX_HTTP_PFS_S3_ERR_INVALID_FILE_PATH,
                                        "the key names a PFS directory "
                                        "(other keys start with it and "
                                        "\"/\")");
        }

        return NGX_DECLINED;
    }

    if (ngx_http_pfs_s3_call_error(r, call, NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY)
        != NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY)
    {
        return ngx_http_pfs_s3_fail(r, call, NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY);
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_pfs_s3_put_modified(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_http_pfs_s3_object_t  *obj;

    if (!ngx_http_pfs_s3_call_ok(call)) {
        return ngx_http_pfs_s3_fail(r, call,
                                    NGX_HTTP_PFS_S3_ERR_NO_SUCH_BUCKET);
    }

    obj = call->data;

    return ngx_http_pfs_s3_inspect_file(r, obj, ngx_http_pfs_s3_put_done);
}


static ngx_int_t
ngx_http_pfs_s3_put_done(ngx_http_request_t *r, ngx_http_pfs_s3_call_t *call)
{
    PfsV2__FileInfo        *info;
    ngx_http_pfs_s3_ctx_t  *ctx;

    info = ngx_http_pfs_s3_call_message(call);

    if (!ngx_http_pfs_s3_call_ok(call) || info == NULL) {
        /*
         * pachd accepts a key under an existing file ("a/b" when "a" is a
         * file), then fails the commit ("file / directory path
         * collision"): reading the key back is what tells.
         */

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "pfs_s3: the written object cannot be read back: "
                      "%s \"%V\"",
                      ngx_http_pfs_s3_grpc_code_name(call->grpc_status),
                      &call->grpc_message);

        if (ngx_http_pfs_s3_call_error(r, call, NGX_HTTP_PFS_S3_ERR_INTERNAL)
            == NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY)
        {
            return ngx_http_pfs_s3_send_error(r, NGX_HTTP_PFS_S3_ERR_INTERNAL,
                                  "PFS does not show the object just written");
        }

        return ngx_http_pfs_s3_fail(r, call, NGX_HTTP_PFS_S3_ERR_INTERNAL);
    }

    ctx = ngx_http_pfs_s3_get_ctx(r);

    /*
     * The branch head may already hold another client's write of the key:
     * a 16-byte hash is the MD5 of a file written in one stream, so when it
     * is not the MD5 of this body, the commit of this write is looked for
     * among the head's ancestors.  (A hash of another length cannot be
     * compared; the head's answer is used.)
     */

    if (info->hash.len == 16 && ctx->have_md5
        && ngx_memcmp(info->hash.data, ctx->body_md5, 16) != 0
        && info->file && info->file->commit && info->file->commit->id
        && info->file->commit->id[0])
    {
        return ngx_http_pfs_s3_put_find(r, call->data,
                                        info->file->commit->id);
    }

    return ngx_http_pfs_s3_put_answer(r, &info->hash,
                                      (info->file && info->file->commit)
                                      ? info->file->commit->id : NULL);
}


static ngx_int_t
ngx_http_pfs_s3_put_answer(ngx_http_request_t *r, ProtobufCBinaryData *hash,
    const char *version)
{
    ngx_str_t  etag;

    if (ngx_http_pfs_s3_etag_str(r->pool, hash, &etag) != NGX_OK
        || ngx_http_pfs_s3_add_header(r, "ETag", etag.data, etag.len)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (version && version[0]
        && ngx_http_pfs_s3_add_header(r, "x-amz-version-id", (u_char *) version,
                                      ngx_strlen(version))
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_pfs_s3_checksum_header(r, ngx_http_pfs_s3_get_ctx(r))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_pfs_s3_send_empty(r, NGX_HTTP_OK);
}


/* The ETag of this write when its commit cannot be told: its own MD5. */

static ngx_int_t
ngx_http_pfs_s3_put_own(ngx_http_request_t *r)
{
    ngx_http_pfs_s3_ctx_t  *ctx;
    ProtobufCBinaryData     md5;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    md5.len = 16;
    md5.data = ctx->body_md5;

    return ngx_http_pfs_s3_put_answer(r, &md5, NULL);
}


static ngx_int_t
ngx_http_pfs_s3_put_find(ngx_http_request_t *r, ngx_http_pfs_s3_object_t *obj,
    char *head)
{
    PfsV2__Commit             to = PFS_V2__COMMIT__INIT;
    PfsV2__ListCommitRequest  req = PFS_V2__LIST_COMMIT_REQUEST__INIT;

    obj->commits = ngx_array_create(r->pool, NGX_HTTP_PFS_S3_FIND_COMMITS,
                                    sizeof(char *));
    if (obj->commits == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    obj->head = head;

    to.repo = &obj->ref.repo;
    to.id = head;

    req.repo = &obj->ref.repo;
    req.to = &to;
    req.number = NGX_HTTP_PFS_S3_FIND_COMMITS;

    return ngx_http_pfs_s3_call(r, "/pfs_v2.API/ListCommit", &req.base,
                                &pfs_v2__commit_info__descriptor,
                                ngx_http_pfs_s3_put_commit,
                                ngx_http_pfs_s3_put_listed, obj);
}


static ngx_int_t
ngx_http_pfs_s3_put_commit(ngx_http_request_t *r, ngx_http_pfs_s3_call_t *call,
    ProtobufCMessage *msg)
{
    PfsV2__CommitInfo *info = (PfsV2__CommitInfo *) msg;

    char                      **id;
    ngx_str_t                   s;
    ngx_http_pfs_s3_object_t   *obj;

    obj = call->data;

    if (info->commit == NULL || info->commit->id == NULL
        || info->commit->id[0] == '\0'
        || ngx_strcmp(info->commit->id, obj->head) == 0)
    {
        return NGX_OK;
    }

    if (obj->commits->nelts >= NGX_HTTP_PFS_S3_FIND_COMMITS) {
        return NGX_DONE;
    }

    id = ngx_array_push(obj->commits);
    if (id == NULL) {
        return NGX_ERROR;
    }

    s.data = (u_char *) info->commit->id;
    s.len = ngx_strlen(info->commit->id);

    *id = ngx_http_pfs_s3_cstr(r->pool, &s);

    return *id ? NGX_OK : NGX_ERROR;
}


static ngx_int_t
ngx_http_pfs_s3_put_listed(ngx_http_request_t *r, ngx_http_pfs_s3_call_t *call)
{
    ngx_http_pfs_s3_object_t  *obj;

    obj = call->data;

    if (!ngx_http_pfs_s3_call_ok(call) || obj->commits->nelts == 0) {
        return ngx_http_pfs_s3_put_own(r);
    }

    obj->next = 0;

    return ngx_http_pfs_s3_put_check(r, obj);
}


/* InspectFile at the next older commit, until one holds this body. */

static ngx_int_t
ngx_http_pfs_s3_put_check(ngx_http_request_t *r, ngx_http_pfs_s3_object_t *obj)
{
    char  **ids;

    if (obj->next >= obj->commits->nelts) {
        return ngx_http_pfs_s3_put_own(r);
    }

    ids = obj->commits->elts;
    obj->ref.commit.id = ids[obj->next];

    return ngx_http_pfs_s3_inspect_file(r, obj, ngx_http_pfs_s3_put_checked);
}


static ngx_int_t
ngx_http_pfs_s3_put_checked(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    char                      **ids;
    PfsV2__FileInfo            *info;
    ngx_http_pfs_s3_ctx_t      *ctx;
    ngx_http_pfs_s3_object_t   *obj;

    obj = call->data;
    ctx = ngx_http_pfs_s3_get_ctx(r);
    info = ngx_http_pfs_s3_call_message(call);
    ids = obj->commits->elts;

    if (ngx_http_pfs_s3_call_ok(call) && info && info->hash.len == 16
        && ngx_memcmp(info->hash.data, ctx->body_md5, 16) == 0)
    {
        return ngx_http_pfs_s3_put_answer(r, &info->hash, ids[obj->next]);
    }

    obj->next++;

    return ngx_http_pfs_s3_put_check(r, obj);
}


/* ---------------------------------------------------------------- delete */

/*
 * DeleteObject answers 204 for a missing key, as S3 does, without making
 * an empty commit; a key that names a directory is not an object either and
 * is left alone (deleting it in PFS would delete every file under it).
 */

ngx_int_t
ngx_http_pfs_s3_delete_object(ngx_http_request_t *r)
{
    ngx_http_pfs_s3_ctx_t     *ctx;
    ngx_http_pfs_s3_object_t  *obj;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    if (ctx->bucket.commit.len) {
        return ngx_http_pfs_s3_read_only(r);
    }

    ngx_http_discard_request_body(r);

    obj = ngx_http_pfs_s3_object(r, NULL);
    if (obj == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_pfs_s3_inspect_file(r, obj,
                                        ngx_http_pfs_s3_delete_inspected);
}


static ngx_int_t
ngx_http_pfs_s3_delete_inspected(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_chain_t               *ops, **ll;
    PfsV2__FileInfo           *info;
    ngx_http_pfs_s3_object_t  *obj;

    obj = call->data;

    if (!ngx_http_pfs_s3_call_ok(call)) {
        if (ngx_http_pfs_s3_call_error(r, call,
                                       NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY)
            == NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY)
        {
            return ngx_http_pfs_s3_send_empty(r, NGX_HTTP_NO_CONTENT);
        }

        return ngx_http_pfs_s3_fail(r, call, NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY);
    }

    info = ngx_http_pfs_s3_call_message(call);

    if (info == NULL || info->file_type != PFS_V2__FILE_TYPE__FILE) {
        return ngx_http_pfs_s3_send_empty(r, NGX_HTTP_NO_CONTENT);
    }

    obj->ref.commit.id = "";

    ops = NULL;
    ll = &ops;

    if (ngx_http_pfs_s3_delete_op(r->pool, obj->ref.file.path, &ll) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_pfs_s3_modify_file(r, &obj->ref.commit, ops,
                                       ngx_http_pfs_s3_delete_done, obj);
}


static ngx_int_t
ngx_http_pfs_s3_delete_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    if (!ngx_http_pfs_s3_call_ok(call)) {
        return ngx_http_pfs_s3_fail(r, call,
                                    NGX_HTTP_PFS_S3_ERR_NO_SUCH_BUCKET);
    }

    return ngx_http_pfs_s3_send_empty(r, NGX_HTTP_NO_CONTENT);
}
