/*
 * DeleteObjects: POST /bucket?delete with a Delete document of up to 1000
 * keys.
 *
 *   GlobFile        pattern "**" from the first key (in path order), cut
 *                   past the last one: which keys are files at the head,
 *                   and that the bucket exists (PFS answers NOT_FOUND for
 *                   a missing branch; ModifyFile alone would create it).
 *                   When no key can be a file, InspectBranch instead.
 *                   Keys spread over a large tree stop it after
 *                   2 * keys + 64 entries; each key it has not reached
 *                   then gets an InspectFile, so the cost stays linear in
 *                   the key count whatever the tree holds
 *   ModifyFile      one stream: set_commit to the branch, then one
 *                   delete_file per file, so every deletion lands in one
 *                   commit or none does; no ModifyFile (no commit) when no
 *                   key is a file
 *
 * As in S3, a key that is not there is reported Deleted (a deletion is
 * idempotent), and so is a key PFS cannot hold; such keys send nothing.
 * A key that names a directory is no object either: it is reported Deleted
 * and left alone, since delete_file of a directory removes all under it.
 * Retried deletions thus make no empty commits, which would each use up
 * one of ListObjectVersions' pfs_s3_versions_depth commits.
 * The body must carry Content-MD5 or an x-amz-checksum-* (header or
 * trailer), verified by the request body filter before anything reaches
 * PFS.
 */

#include <ngx_http_pfs_s3.h>


/* 1000 keys of 1024 bytes, escaped, and the document around them */
#define NGX_HTTP_PFS_S3_DELETE_MAX_BODY  (2 * 1024 * 1024)


typedef enum {
    ngx_http_pfs_s3_del_send = 0,   /* delete_file it */
    ngx_http_pfs_s3_del_absent,     /* Deleted: no such object can exist */
    ngx_http_pfs_s3_del_error       /* an Error element */
} ngx_http_pfs_s3_del_state_e;


typedef struct {
    ngx_str_t                     key;
    ngx_str_t                     version;
    char                         *path;      /* "/" key, for PFS */
    ngx_http_pfs_s3_del_state_e   state;
    const char                   *code;
    const char                   *message;
} ngx_http_pfs_s3_del_key_t;


typedef struct {
    ngx_array_t                   keys;      /* ngx_http_pfs_s3_del_key_t */
    ngx_uint_t                    quiet;
    ngx_uint_t                    sends;
    ngx_http_pfs_s3_del_key_t   **sorted;    /* keys to send, by path */
    ngx_uint_t                    nsorted;
    ngx_uint_t                    next;      /* sorted[next] is undecided */
    ngx_uint_t                    seen;      /* GlobFile entries read */
    ngx_uint_t                    limit;     /* ... before it is cut */
    ngx_http_pfs_s3_ref_t         ref;
} ngx_http_pfs_s3_del_t;


static ngx_int_t ngx_http_pfs_s3_delete_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_pfs_s3_delete_keys(ngx_http_request_t *r,
    ngx_http_pfs_s3_del_t *del, ngx_array_t *objects);
static char *ngx_http_pfs_s3_delete_path(ngx_pool_t *pool, ngx_str_t *key);
static ngx_int_t ngx_http_pfs_s3_delete_inspected(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_delete_glob(ngx_http_request_t *r,
    ngx_http_pfs_s3_del_t *del);
static int ngx_libc_cdecl ngx_http_pfs_s3_delete_cmp(const void *one,
    const void *two);
static ngx_int_t ngx_http_pfs_s3_delete_entry(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call, ProtobufCMessage *msg);
static ngx_int_t ngx_http_pfs_s3_delete_globbed(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static void ngx_http_pfs_s3_delete_absent(ngx_http_pfs_s3_del_t *del,
    ngx_http_pfs_s3_del_key_t *k);
static ngx_int_t ngx_http_pfs_s3_delete_check(ngx_http_request_t *r,
    ngx_http_pfs_s3_del_t *del);
static ngx_int_t ngx_http_pfs_s3_delete_checked(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_delete_send(ngx_http_request_t *r,
    ngx_http_pfs_s3_del_t *del);
static ngx_int_t ngx_http_pfs_s3_delete_modified(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_delete_result(ngx_http_request_t *r,
    ngx_http_pfs_s3_del_t *del);


ngx_int_t
ngx_http_pfs_s3_delete_objects(ngx_http_request_t *r)
{
    const char              *why;
    ngx_http_pfs_s3_ctx_t   *ctx;
    ngx_http_pfs_s3_err_e    err;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    if (ctx->bucket.commit.len) {
        return ngx_http_pfs_s3_read_only(r);
    }

    why = NULL;

    /* Content-MD5 and x-amz-checksum-*, verified as the body arrives */

    if (ngx_http_pfs_s3_digests_init(r, ctx, &err, &why) != NGX_OK) {
        return ngx_http_pfs_s3_send_error(r, err, why);
    }

    if (!ctx->check_md5 && ctx->checksum == NULL) {
        return ngx_http_pfs_s3_send_error(r,
                                          NGX_HTTP_PFS_S3_ERR_INVALID_REQUEST,
                                          "Missing required header for this "
                                          "request: Content-MD5");
    }

    if (r->headers_in.content_length_n > NGX_HTTP_PFS_S3_DELETE_MAX_BODY) {
        return ngx_http_pfs_s3_send_error(r, NGX_HTTP_PFS_S3_ERR_MALFORMED_XML,
                                          "the Delete document is larger "
                                          "than 2 MiB");
    }

    return ngx_http_pfs_s3_read_body(r, ngx_http_pfs_s3_delete_body);
}


static ngx_int_t
ngx_http_pfs_s3_delete_body(ngx_http_request_t *r)
{
    ngx_int_t                rc;
    ngx_str_t                body;
    ngx_uint_t               quiet;
    ngx_array_t              objects;
    ngx_http_pfs_s3_ctx_t   *ctx;
    ngx_http_pfs_s3_del_t   *del;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    if (ngx_http_pfs_s3_digests_finish(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->digest_failed != NGX_HTTP_PFS_S3_ERR_NONE) {
        return ngx_http_pfs_s3_send_error(r, ctx->digest_failed,
                                          ctx->digest_why);
    }

    rc = ngx_http_pfs_s3_read_small_body(r, NGX_HTTP_PFS_S3_DELETE_MAX_BODY,
                                         &body);
    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_pfs_s3_send_error(r, NGX_HTTP_PFS_S3_ERR_MALFORMED_XML,
                                          "the Delete document is larger "
                                          "than 2 MiB");
    }

    if (ngx_array_init(&objects, r->pool, 16,
                       sizeof(ngx_http_pfs_s3_xml_object_t))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = body.len ? ngx_http_pfs_s3_xml_parse_delete(r, body.data, body.len,
                                                    NGX_HTTP_PFS_S3_MAX_KEYS,
                                                    &objects, &quiet)
                  : NGX_DECLINED;

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED || objects.nelts == 0
        || objects.nelts > NGX_HTTP_PFS_S3_MAX_KEYS)
    {
        return ngx_http_pfs_s3_send_error(r, NGX_HTTP_PFS_S3_ERR_MALFORMED_XML,
                                          objects.nelts
                                          > NGX_HTTP_PFS_S3_MAX_KEYS
                                          ? "A Delete document holds at most "
                                            "1000 objects"
                                          : NULL);
    }

    del = ngx_pcalloc(r->pool, sizeof(ngx_http_pfs_s3_del_t));
    if (del == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->op_data = del;
    del->quiet = quiet;

    if (ngx_http_pfs_s3_delete_keys(r, del, &objects) != NGX_OK
        || ngx_http_pfs_s3_ref(r, &del->ref, &ctx->bucket, NULL, NULL)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (del->sends == 0) {
        /* nothing to look for: the bucket must exist all the same */
        return ngx_http_pfs_s3_inspect_bucket(r,
                                              ngx_http_pfs_s3_delete_inspected);
    }

    return ngx_http_pfs_s3_delete_glob(r, del);
}


/*
 * What each key becomes.  A version cannot be deleted: PFS keeps every
 * commit, so a VersionId gets an Error of its own and the other keys go on.
 */

static ngx_int_t
ngx_http_pfs_s3_delete_keys(ngx_http_request_t *r, ngx_http_pfs_s3_del_t *del,
    ngx_array_t *objects)
{
    const char                    *why;
    ngx_uint_t                     i;
    ngx_http_pfs_s3_del_key_t     *k;
    ngx_http_pfs_s3_xml_object_t  *obj;

    if (ngx_array_init(&del->keys, r->pool, objects->nelts,
                       sizeof(ngx_http_pfs_s3_del_key_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    obj = objects->elts;

    for (i = 0; i < objects->nelts; i++) {
        k = ngx_array_push(&del->keys);
        if (k == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(k, sizeof(ngx_http_pfs_s3_del_key_t));
        k->key = obj[i].key;
        k->version = obj[i].version;
        k->state = ngx_http_pfs_s3_del_error;

        if (obj[i].has_version) {
            k->code = "NotImplemented";
            k->message = "PFS keeps every commit: a version cannot be "
                         "deleted";

        } else if (k->key.len == 0) {
            k->code = "UserKeyMustBeSpecified";
            k->message = "The key must be specified";

        } else if (k->key.len > NGX_HTTP_PFS_S3_MAX_KEY_LEN) {
            k->code = "KeyTooLongError";
            k->message = "Your key is too long";

        } else if (ngx_http_pfs_s3_check_key(&k->key, &why)
                   != NGX_HTTP_PFS_S3_ERR_NONE)
        {
            k->state = ngx_http_pfs_s3_del_absent;

        } else {
            /* never a trailing "/": the key names a file, not a directory */

            k->path = ngx_http_pfs_s3_delete_path(r->pool, &k->key);
            if (k->path == NULL) {
                return NGX_ERROR;
            }

            k->state = ngx_http_pfs_s3_del_send;
            del->sends++;
        }
    }

    return NGX_OK;
}


/* "/" + key, NUL-terminated: a PFS file path */

static char *
ngx_http_pfs_s3_delete_path(ngx_pool_t *pool, ngx_str_t *key)
{
    u_char  *p;

    p = ngx_pnalloc(pool, key->len + 2);
    if (p == NULL) {
        return NULL;
    }

    p[0] = '/';
    ngx_memcpy(p + 1, key->data, key->len);
    p[key->len + 1] = '\0';

    return (char *) p;
}


static ngx_int_t
ngx_http_pfs_s3_delete_inspected(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_http_pfs_s3_ctx_t  *ctx;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    if (!ngx_http_pfs_s3_call_ok(call)) {
        return ngx_http_pfs_s3_fail(r, call,
                                    NGX_HTTP_PFS_S3_ERR_NO_SUCH_BUCKET);
    }

    /* no key can be a file: nothing to look for, no commit */

    return ngx_http_pfs_s3_delete_result(r, ctx->op_data);
}


/*
 * Which keys are files: one GlobFile over the keys' span of the branch
 * head, merged with the keys sorted as PFS sorts paths (bytewise).  A
 * request of listed keys (aws s3 rm --recursive, a page of a listing)
 * spans little more than its keys.
 */

static ngx_int_t
ngx_http_pfs_s3_delete_glob(ngx_http_request_t *r, ngx_http_pfs_s3_del_t *del)
{
    ngx_uint_t                  i;
    ngx_http_pfs_s3_del_key_t  *k;
    PfsV2__PathRange            range = PFS_V2__PATH_RANGE__INIT;
    PfsV2__GlobFileRequest      req = PFS_V2__GLOB_FILE_REQUEST__INIT;

    del->sorted = ngx_palloc(r->pool,
                             del->sends * sizeof(ngx_http_pfs_s3_del_key_t *));
    if (del->sorted == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    k = del->keys.elts;

    for (i = 0; i < del->keys.nelts; i++) {
        if (k[i].state == ngx_http_pfs_s3_del_send) {
            del->sorted[del->nsorted++] = &k[i];
        }
    }

    ngx_qsort(del->sorted, del->nsorted, sizeof(ngx_http_pfs_s3_del_key_t *),
              ngx_http_pfs_s3_delete_cmp);

    del->limit = 2 * del->nsorted + 64;

    range.lower = del->sorted[0]->path;

    req.commit = &del->ref.commit;
    req.pattern = "/**";
    req.path_range = &range;

    return ngx_http_pfs_s3_call(r, "/pfs_v2.API/GlobFile", &req.base,
                                &pfs_v2__file_info__descriptor,
                                ngx_http_pfs_s3_delete_entry,
                                ngx_http_pfs_s3_delete_globbed, del);
}


static int ngx_libc_cdecl
ngx_http_pfs_s3_delete_cmp(const void *one, const void *two)
{
    ngx_http_pfs_s3_del_key_t  *a = *(ngx_http_pfs_s3_del_key_t **) one;
    ngx_http_pfs_s3_del_key_t  *b = *(ngx_http_pfs_s3_del_key_t **) two;

    return ngx_strcmp(a->path, b->path);
}


/*
 * One entry of the glob: the keys sorting before it are not there, a key
 * equal to it is deleted if it is a file (a directory is left alone).
 * Returns NGX_DONE (cut) once every key is decided or the entries read
 * reach the limit.
 */

static ngx_int_t
ngx_http_pfs_s3_delete_entry(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call, ProtobufCMessage *msg)
{
    PfsV2__FileInfo *info = (PfsV2__FileInfo *) msg;

    ngx_int_t                   rc;
    ngx_http_pfs_s3_del_t      *del;
    ngx_http_pfs_s3_del_key_t  *k;

    del = call->data;

    if (info->file == NULL || info->file->path == NULL) {
        return NGX_OK;
    }

    del->seen++;

    for ( /* void */ ; del->next < del->nsorted; del->next++) {
        k = del->sorted[del->next];
        rc = ngx_strcmp(k->path, info->file->path);

        if (rc > 0) {
            break;
        }

        if (rc < 0 || info->file_type != PFS_V2__FILE_TYPE__FILE) {
            ngx_http_pfs_s3_delete_absent(del, k);
        }
    }

    if (del->next == del->nsorted || del->seen >= del->limit) {
        return NGX_DONE;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_pfs_s3_delete_globbed(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_http_pfs_s3_del_t  *del;

    del = call->data;

    if (!ngx_http_pfs_s3_call_ok(call)) {
        return ngx_http_pfs_s3_fail(r, call,
                                    NGX_HTTP_PFS_S3_ERR_NO_SUCH_BUCKET);
    }

    if (!call->cut) {
        /* the whole span was read: the keys it did not reach are not there */

        for ( /* void */ ; del->next < del->nsorted; del->next++) {
            ngx_http_pfs_s3_delete_absent(del, del->sorted[del->next]);
        }
    }

    return ngx_http_pfs_s3_delete_check(r, del);
}


static void
ngx_http_pfs_s3_delete_absent(ngx_http_pfs_s3_del_t *del,
    ngx_http_pfs_s3_del_key_t *k)
{
    k->state = ngx_http_pfs_s3_del_absent;
    del->sends--;
}


/*
 * InspectFile of each key the glob did not reach, one after the other;
 * then the files among the keys are deleted, or, when none is a file, the
 * answer goes out without a commit.
 */

static ngx_int_t
ngx_http_pfs_s3_delete_check(ngx_http_request_t *r, ngx_http_pfs_s3_del_t *del)
{
    if (del->next == del->nsorted) {
        if (del->sends == 0) {
            /* no key is a file: nothing changes, no commit */
            return ngx_http_pfs_s3_delete_result(r, del);
        }

        return ngx_http_pfs_s3_delete_send(r, del);
    }

    del->ref.file.path = del->sorted[del->next]->path;

    return ngx_http_pfs_s3_inspect(r, &del->ref.file,
                                   ngx_http_pfs_s3_delete_checked, del);
}


static ngx_int_t
ngx_http_pfs_s3_delete_checked(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    PfsV2__FileInfo        *info;
    ngx_http_pfs_s3_del_t  *del;

    del = call->data;

    if (!ngx_http_pfs_s3_call_ok(call)) {
        if (ngx_http_pfs_s3_call_error(r, call,
                                       NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY)
            != NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY)
        {
            /* PFS or the bucket failed: nothing is deleted */
            return ngx_http_pfs_s3_fail(r, call,
                                        NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY);
        }

        info = NULL;

    } else {
        info = ngx_http_pfs_s3_call_message(call);
    }

    if (info == NULL || info->file_type != PFS_V2__FILE_TYPE__FILE) {
        /* missing, or a directory: Deleted, and nothing to send */
        ngx_http_pfs_s3_delete_absent(del, del->sorted[del->next]);
    }

    del->next++;

    return ngx_http_pfs_s3_delete_check(r, del);
}


/* One ModifyFile: set_commit, then delete_file of every key that is a file */

static ngx_int_t
ngx_http_pfs_s3_delete_send(ngx_http_request_t *r, ngx_http_pfs_s3_del_t *del)
{
    ngx_uint_t                   i;
    ngx_chain_t                 *ops, **ll;
    ngx_http_pfs_s3_del_key_t   *k;

    del->ref.commit.id = "";

    ops = NULL;
    ll = &ops;
    k = del->keys.elts;

    for (i = 0; i < del->keys.nelts; i++) {
        if (k[i].state == ngx_http_pfs_s3_del_send
            && ngx_http_pfs_s3_delete_op(r->pool, k[i].path, &ll) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return ngx_http_pfs_s3_modify_file(r, &del->ref.commit, ops,
                                       ngx_http_pfs_s3_delete_modified, del);
}


static ngx_int_t
ngx_http_pfs_s3_delete_modified(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    if (!ngx_http_pfs_s3_call_ok(call)) {
        /* one stream: nothing was deleted, the request fails as a whole */
        return ngx_http_pfs_s3_fail(r, call,
                                    NGX_HTTP_PFS_S3_ERR_NO_SUCH_BUCKET);
    }

    return ngx_http_pfs_s3_delete_result(r, call->data);
}


static ngx_int_t
ngx_http_pfs_s3_delete_result(ngx_http_request_t *r,
    ngx_http_pfs_s3_del_t *del)
{
    ngx_uint_t                  i;
    ngx_http_pfs_s3_xml_t      *x;
    ngx_http_pfs_s3_del_key_t  *k;

    x = ngx_http_pfs_s3_xml_start(r, "DeleteResult", 1);
    if (x == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    k = del->keys.elts;

    for (i = 0; i < del->keys.nelts; i++) {

        if (k[i].state == ngx_http_pfs_s3_del_error) {
            ngx_http_pfs_s3_xml_open(x, "Error");
            ngx_http_pfs_s3_xml_elem(x, "Key", k[i].key.data, k[i].key.len);

            if (k[i].version.len) {
                ngx_http_pfs_s3_xml_elem(x, "VersionId", k[i].version.data,
                                         k[i].version.len);
            }

            ngx_http_pfs_s3_xml_elem_str(x, "Code", k[i].code);
            ngx_http_pfs_s3_xml_elem_str(x, "Message", k[i].message);
            ngx_http_pfs_s3_xml_close(x);
            continue;
        }

        if (del->quiet) {
            continue;
        }

        ngx_http_pfs_s3_xml_open(x, "Deleted");
        ngx_http_pfs_s3_xml_elem(x, "Key", k[i].key.data, k[i].key.len);
        ngx_http_pfs_s3_xml_close(x);
    }

    return ngx_http_pfs_s3_xml_send(r, x, NGX_HTTP_OK);
}
