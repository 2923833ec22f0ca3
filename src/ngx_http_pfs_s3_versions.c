/*
 * ListObjectVersions: GET /bucket?versions, over the branch's history.
 *
 * A version id is a commit id.  A version of a key is a run of consecutive
 * commits of the branch's ancestry in which the key holds the same bytes
 * (the same hash); it is named by the oldest commit of the run, the one
 * that wrote those bytes, so a version id stays the same as the branch
 * moves on, and every version id is a commit at which GetObject
 * ?versionId= reads that version.  A run of commits in which the key is
 * absent, between two in which it is present (or after the last), is a
 * DeleteMarker, named by the commit that deleted the key.
 *
 * PFS calls, bounded whatever the history and the bucket size:
 *
 *   ListCommit   the newest pfs_s3_versions_depth commits of the branch
 *                (64 by default; one stream, cut there)
 *   GlobFile     per finished commit of those, newest first: "<prefix>**"
 *                ("<prefix>*" with delimiter "/") from the key marker on,
 *                cut as soon as it passes the last key the page can need
 *
 * The keys are walked in S3 order as one sorted list of at most
 * max-keys + 2 keys (whatever a GlobFile finds past them is cut), merged
 * with each commit's sorted stream as it arrives; each key keeps its
 * versions (at most one per commit).  Memory is bounded by
 * (max-keys + 2) keys x depth versions; cost by depth + 1 calls, each
 * reading at most max-keys + 2 entries past the marker.  Keys older than
 * the window are seen as of its oldest commit: their oldest listed version
 * is named by that commit (which holds those bytes).
 */

#include <ngx_http_pfs_s3.h>


/* pfsd's hashes are 16 or 20 bytes, pachd's 32 */
#define NGX_HTTP_PFS_S3_HASH_MAX        32


typedef struct {
    char                        *id;
    Google__Protobuf__Timestamp  when;
} ngx_http_pfs_s3_vcommit_t;


/* one Version or DeleteMarker of a key */
typedef struct {
    ngx_uint_t                   commit;    /* index: the oldest of the run */
    off_t                        size;
    u_char                       hash[NGX_HTTP_PFS_S3_HASH_MAX];
    size_t                       hash_len;
    unsigned                     marker:1;
} ngx_http_pfs_s3_vversion_t;


typedef struct {
    ngx_queue_t                  queue;     /* sorted by key */
    ngx_str_t                    key;       /* "a/" for a common prefix */
    u_char                      *buf;       /* room for any key */
    ngx_uint_t                   nversions;
    ngx_uint_t                   nalloc;
    ngx_http_pfs_s3_vversion_t  *versions;  /* newest first */
    ngx_uint_t                   first;     /* on the page: from */
    ngx_uint_t                   count;     /* on the page: how many */
    unsigned                     present:1; /* at the last commit walked */
    unsigned                     prefix:1;
} ngx_http_pfs_s3_vkey_t;


typedef struct {
    ngx_str_t                    prefix;
    ngx_str_t                    delimiter;
    ngx_str_t                    key_marker;
    ngx_str_t                    version_marker;
    ngx_uint_t                   max_keys;
    ngx_uint_t                   url;

    ngx_http_pfs_s3_ref_t        ref;
    char                        *pattern;
    char                        *lower;

    ngx_array_t                  commits;   /* ngx_http_pfs_s3_vcommit_t */
    ngx_uint_t                   current;   /* the commit being walked */

    ngx_queue_t                  keys;      /* ngx_http_pfs_s3_vkey_t */
    ngx_uint_t                   nkeys;
    ngx_uint_t                   limit;     /* of nkeys */
    ngx_uint_t                   depth;     /* of commits */
    ngx_pool_t                  *pool;
    ngx_queue_t                  free;      /* vkeys to reuse */
    ngx_queue_t                 *cursor;    /* merge position in keys */
    ngx_http_pfs_s3_vkey_t      *upper;     /* the last key kept, if cut */
    ngx_uint_t                   cut;
} ngx_http_pfs_s3_versions_t;


/* GetObject of a version that may be a DeleteMarker */
typedef struct {
    ngx_http_pfs_s3_ref_t       *ref;
    char                        *version;   /* the commit asked for */
} ngx_http_pfs_s3_marker_t;


static ngx_int_t ngx_http_pfs_s3_versions_args(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx, ngx_http_pfs_s3_versions_t *vs);
static ngx_int_t ngx_http_pfs_s3_versions_pattern(ngx_http_request_t *r,
    ngx_http_pfs_s3_versions_t *vs);
static ngx_int_t ngx_http_pfs_s3_versions_commit(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call, ProtobufCMessage *msg);
static ngx_int_t ngx_http_pfs_s3_versions_listed(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_versions_glob(ngx_http_request_t *r,
    ngx_http_pfs_s3_versions_t *vs);
static ngx_int_t ngx_http_pfs_s3_versions_entry(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call, ProtobufCMessage *msg);
static ngx_int_t ngx_http_pfs_s3_versions_globbed(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static void ngx_http_pfs_s3_versions_absent(ngx_http_pfs_s3_versions_t *vs,
    ngx_http_pfs_s3_vkey_t *k);
static ngx_int_t ngx_http_pfs_s3_versions_present(
    ngx_http_pfs_s3_versions_t *vs, ngx_http_pfs_s3_vkey_t *k,
    PfsV2__FileInfo *info);
static ngx_http_pfs_s3_vkey_t *ngx_http_pfs_s3_versions_insert(
    ngx_http_request_t *r, ngx_http_pfs_s3_versions_t *vs, ngx_str_t *key,
    ngx_uint_t prefix);
static void ngx_http_pfs_s3_versions_drop_tail(
    ngx_http_pfs_s3_versions_t *vs);
static ngx_int_t ngx_http_pfs_s3_versions_send(ngx_http_request_t *r,
    ngx_http_pfs_s3_versions_t *vs);
static ngx_int_t ngx_http_pfs_s3_marker_commit(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_marker_parent(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static void ngx_http_pfs_s3_versions_entry_xml(ngx_http_pfs_s3_xml_t *x,
    ngx_http_pfs_s3_versions_t *vs, ngx_http_pfs_s3_vkey_t *k,
    ngx_uint_t i);


ngx_int_t
ngx_http_pfs_s3_list_object_versions(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_http_pfs_s3_loc_conf_t  *plcf;
    ngx_http_pfs_s3_ctx_t       *ctx;
    ngx_http_pfs_s3_versions_t  *vs;
    PfsV2__ListCommitRequest     req = PFS_V2__LIST_COMMIT_REQUEST__INIT;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    ngx_http_discard_request_body(r);

    vs = ngx_pcalloc(r->pool, sizeof(ngx_http_pfs_s3_versions_t));
    if (vs == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->op_data = vs;

    rc = ngx_http_pfs_s3_versions_args(r, ctx, vs);

    if (rc == NGX_DECLINED) {
        return ctx->rc;
    }

    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_pfs_s3_ref(r, &vs->ref, &ctx->bucket, NULL, NULL) != NGX_OK
        || ngx_http_pfs_s3_versions_pattern(r, vs) != NGX_OK
        || ngx_array_init(&vs->commits, r->pool, 16,
                          sizeof(ngx_http_pfs_s3_vcommit_t))
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_queue_init(&vs->keys);
    ngx_queue_init(&vs->free);

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_pfs_s3_module);
    vs->depth = plcf->versions_depth;
    vs->pool = r->pool;

    /* enough keys for a full page after the marker's own key, and one more */
    vs->limit = vs->max_keys + 2;

    /* the ancestry of the branch head (or of the bucket's commit) */

    req.repo = &vs->ref.repo;
    req.to = &vs->ref.commit;
    req.number = vs->depth;

    return ngx_http_pfs_s3_call(r, "/pfs_v2.API/ListCommit", &req.base,
                                &pfs_v2__commit_info__descriptor,
                                ngx_http_pfs_s3_versions_commit,
                                ngx_http_pfs_s3_versions_listed, vs);
}


static ngx_int_t
ngx_http_pfs_s3_versions_args(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx, ngx_http_pfs_s3_versions_t *vs)
{
    if (ngx_http_pfs_s3_list_params(r, ctx, &vs->prefix, &vs->delimiter,
                                    &vs->max_keys, &vs->url)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    (void) ngx_http_pfs_s3_arg(ctx, "key-marker", &vs->key_marker);
    (void) ngx_http_pfs_s3_arg(ctx, "version-id-marker", &vs->version_marker);

    if (vs->version_marker.len) {
        if (vs->key_marker.len == 0) {
            return ngx_http_pfs_s3_answer(r,
                                  NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT,
                                  "A version-id marker cannot be specified "
                                  "without a key marker.");
        }

        if (!ngx_http_pfs_s3_version_valid(&vs->version_marker)) {
            return ngx_http_pfs_s3_answer(r,
                                  NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT,
                                  "Invalid version id specified");
        }
    }

    if (ngx_http_pfs_s3_utf8_valid(vs->prefix.data, vs->prefix.len) != NGX_OK
        || ngx_http_pfs_s3_utf8_valid(vs->key_marker.data, vs->key_marker.len)
           != NGX_OK
        || vs->key_marker.len > NGX_HTTP_PFS_S3_MAX_KEY_LEN)
    {
        return ngx_http_pfs_s3_answer(r,
                                  NGX_HTTP_PFS_S3_ERR_INVALID_ARGUMENT,
                                  "prefix and key-marker must be UTF-8 "
                                  "and key-marker a key");
    }

    return NGX_OK;
}


/* The glob of each commit, and where it starts (as ListObjects does). */

static ngx_int_t
ngx_http_pfs_s3_versions_pattern(ngx_http_request_t *r,
    ngx_http_pfs_s3_versions_t *vs)
{
    u_char  *p;

    vs->pattern = ngx_http_pfs_s3_list_pattern(r, &vs->prefix,
                                               vs->delimiter.len == 0);
    if (vs->pattern == NULL) {
        return NGX_ERROR;
    }

    if (vs->key_marker.len
        && ngx_http_pfs_s3_str_cmp(&vs->key_marker, &vs->prefix) > 0)
    {
        p = ngx_pnalloc(r->pool, vs->key_marker.len + 2);
        if (p == NULL) {
            return NGX_ERROR;
        }

        vs->lower = (char *) p;

        *p++ = '/';
        p = ngx_cpymem(p, vs->key_marker.data, vs->key_marker.len);
        *p = '\0';
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_pfs_s3_versions_commit(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call, ProtobufCMessage *msg)
{
    PfsV2__CommitInfo *info = (PfsV2__CommitInfo *) msg;

    ngx_str_t                    id;
    Google__Protobuf__Timestamp *when;
    ngx_http_pfs_s3_vcommit_t   *c;
    ngx_http_pfs_s3_versions_t  *vs;

    vs = call->data;

    if (vs->commits.nelts >= vs->depth) {
        return NGX_DONE;
    }

    /* an open commit has no versions yet */

    if (info->commit == NULL || info->commit->id == NULL
        || info->finished == NULL)
    {
        return NGX_OK;
    }

    id.data = (u_char *) info->commit->id;
    id.len = ngx_strlen(info->commit->id);

    if (id.len == 0) {
        return NGX_OK;
    }

    c = ngx_array_push(&vs->commits);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->id = ngx_http_pfs_s3_cstr(r->pool, &id);
    if (c->id == NULL) {
        return NGX_ERROR;
    }

    /* FileInfo.committed, which GetObject answers, is the finishing time */

    when = info->finishing ? info->finishing : info->finished;

    google__protobuf__timestamp__init(&c->when);
    c->when.seconds = when->seconds;
    c->when.nanos = when->nanos;

    return NGX_OK;
}


static ngx_int_t
ngx_http_pfs_s3_versions_listed(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_http_pfs_s3_versions_t  *vs;

    vs = call->data;

    if (!ngx_http_pfs_s3_call_ok(call)) {
        return ngx_http_pfs_s3_fail(r, call,
                                    NGX_HTTP_PFS_S3_ERR_NO_SUCH_BUCKET);
    }

    vs->current = 0;

    return ngx_http_pfs_s3_versions_glob(r, vs);
}


/* The next commit's glob, newest first; the page once all are walked. */

static ngx_int_t
ngx_http_pfs_s3_versions_glob(ngx_http_request_t *r,
    ngx_http_pfs_s3_versions_t *vs)
{
    ngx_http_pfs_s3_vcommit_t  *c;
    PfsV2__PathRange            range = PFS_V2__PATH_RANGE__INIT;
    PfsV2__GlobFileRequest      req = PFS_V2__GLOB_FILE_REQUEST__INIT;

    if (vs->current >= vs->commits.nelts) {
        return ngx_http_pfs_s3_versions_send(r, vs);
    }

    c = vs->commits.elts;

    vs->ref.commit.id = c[vs->current].id;
    vs->cursor = ngx_queue_head(&vs->keys);

    req.commit = &vs->ref.commit;
    req.pattern = vs->pattern;

    if (vs->lower) {
        range.lower = vs->lower;
        req.path_range = &range;
    }

    return ngx_http_pfs_s3_call(r, "/pfs_v2.API/GlobFile", &req.base,
                                &pfs_v2__file_info__descriptor,
                                ngx_http_pfs_s3_versions_entry,
                                ngx_http_pfs_s3_versions_globbed, vs);
}


/*
 * One entry of the current commit's glob, merged into the sorted keys:
 * the keys before it are absent from this commit, the key itself is
 * present.
 */

static ngx_int_t
ngx_http_pfs_s3_versions_entry(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call, ProtobufCMessage *msg)
{
    PfsV2__FileInfo *info = (PfsV2__FileInfo *) msg;

    u_char                      *slash;
    ngx_int_t                    rc;
    ngx_str_t                    key;
    ngx_uint_t                   dir;
    ngx_http_pfs_s3_vkey_t      *k;
    ngx_http_pfs_s3_versions_t  *vs;

    vs = call->data;

    if (info->file == NULL || info->file->path == NULL
        || info->file->path[0] != '/')
    {
        return NGX_OK;
    }

    key.data = (u_char *) info->file->path + 1;
    key.len = ngx_strlen(info->file->path) - 1;

    dir = (info->file_type == PFS_V2__FILE_TYPE__DIR);

    if (key.len == 0 || key.len > NGX_HTTP_PFS_S3_MAX_KEY_LEN
        || (dir && vs->delimiter.len == 0)
        || (!dir && key.data[key.len - 1] == '/'))
    {
        /* directories are implicit in a recursive listing */
        return NGX_OK;
    }

    if (dir && key.data[key.len - 1] != '/') {
        /* a common prefix ends with the delimiter; PFS may not say it */
        slash = ngx_pnalloc(r->pool, key.len + 1);
        if (slash == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(slash, key.data, key.len);
        slash[key.len++] = '/';
        key.data = slash;

        if (key.len > NGX_HTTP_PFS_S3_MAX_KEY_LEN) {
            return NGX_OK;
        }
    }

    if (key.len < vs->prefix.len
        || ngx_memcmp(key.data, vs->prefix.data, vs->prefix.len) != 0)
    {
        return NGX_OK;
    }

    if (vs->key_marker.len) {
        rc = ngx_http_pfs_s3_str_cmp(&key, &vs->key_marker);

        if (rc < 0 || (rc == 0 && vs->version_marker.len == 0)) {
            return NGX_OK;
        }
    }

    if (vs->upper && ngx_http_pfs_s3_str_cmp(&key, &vs->upper->key) > 0)
    {
        /* past the last key the page can need: stop PFS */
        return NGX_DONE;
    }

    /* keys before this one are not in this commit */

    while (vs->cursor != ngx_queue_sentinel(&vs->keys)) {
        k = ngx_queue_data(vs->cursor, ngx_http_pfs_s3_vkey_t, queue);

        rc = ngx_http_pfs_s3_str_cmp(&k->key, &key);

        if (rc > 0) {
            break;
        }

        vs->cursor = ngx_queue_next(vs->cursor);

        if (rc == 0) {
            return ngx_http_pfs_s3_versions_present(vs, k, info);
        }

        ngx_http_pfs_s3_versions_absent(vs, k);
    }

    k = ngx_http_pfs_s3_versions_insert(r, vs, &key, dir);
    if (k == NULL) {
        return NGX_ERROR;
    }

    if (k == (ngx_http_pfs_s3_vkey_t *) -1) {
        /* past the last key kept */
        return NGX_DONE;
    }

    return ngx_http_pfs_s3_versions_present(vs, k, info);
}


static ngx_int_t
ngx_http_pfs_s3_versions_globbed(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_http_pfs_s3_vkey_t      *k;
    ngx_http_pfs_s3_versions_t  *vs;

    vs = call->data;

    if (!ngx_http_pfs_s3_call_ok(call)) {
        return ngx_http_pfs_s3_fail(r, call,
                                    NGX_HTTP_PFS_S3_ERR_NO_SUCH_BUCKET);
    }

    /* the keys the stream did not reach are not in this commit */

    while (vs->cursor != ngx_queue_sentinel(&vs->keys)) {
        k = ngx_queue_data(vs->cursor, ngx_http_pfs_s3_vkey_t, queue);
        vs->cursor = ngx_queue_next(vs->cursor);

        ngx_http_pfs_s3_versions_absent(vs, k);
    }

    vs->current++;

    return ngx_http_pfs_s3_versions_glob(r, vs);
}


static void
ngx_http_pfs_s3_versions_absent(ngx_http_pfs_s3_versions_t *vs,
    ngx_http_pfs_s3_vkey_t *k)
{
    (void) vs;

    /* older than this, the key was created by the commit after this one */

    k->present = 0;
}


/*
 * The key is in the current commit: the same bytes as in the newer commit
 * extend that version back to this commit; other bytes, or bytes after an
 * absence, are an older version.  An absence between two presences (or
 * before the newest commit) was a deletion: a DeleteMarker named by the
 * newer commit next to this one, the one that deleted the key.
 */

static ngx_int_t
ngx_http_pfs_s3_versions_present(ngx_http_pfs_s3_versions_t *vs,
    ngx_http_pfs_s3_vkey_t *k, PfsV2__FileInfo *info)
{
    size_t                       len;
    ngx_uint_t                   n;
    ngx_http_pfs_s3_vversion_t  *v;

    if (k->prefix) {
        k->present = 1;
        return NGX_OK;
    }

    len = ngx_min(info->hash.len, NGX_HTTP_PFS_S3_HASH_MAX);

    if (k->present && k->nversions) {
        v = &k->versions[k->nversions - 1];

        if (!v->marker && v->hash_len == len && v->size == info->size_bytes
            && ngx_memcmp(v->hash, info->hash.data, len) == 0)
        {
            v->commit = vs->current;
            return NGX_OK;
        }
    }

    /* room for a DeleteMarker and a version; most keys have few */

    if (k->nversions + 2 > k->nalloc) {
        n = ngx_min(ngx_max(2 * k->nalloc, 4), vs->depth + 1);

        v = ngx_palloc(vs->pool, n * sizeof(ngx_http_pfs_s3_vversion_t));
        if (v == NULL) {
            return NGX_ERROR;
        }

        if (k->nversions) {
            ngx_memcpy(v, k->versions,
                       k->nversions * sizeof(ngx_http_pfs_s3_vversion_t));
        }

        k->versions = v;
        k->nalloc = n;
    }

    if (!k->present && vs->current > 0) {
        v = &k->versions[k->nversions++];
        ngx_memzero(v, sizeof(ngx_http_pfs_s3_vversion_t));
        v->marker = 1;
        v->commit = vs->current - 1;
    }

    v = &k->versions[k->nversions++];
    ngx_memzero(v, sizeof(ngx_http_pfs_s3_vversion_t));

    v->commit = vs->current;
    v->size = info->size_bytes;
    v->hash_len = len;
    ngx_memcpy(v->hash, info->hash.data, len);

    k->present = 1;

    return NGX_OK;
}


/*
 * A key seen for the first time, inserted before the cursor.  The list
 * keeps at most vs->limit keys: the last one goes when it is full, and
 * what sorts after the new last key is no longer looked at.  Returns -1
 * when the new key itself is past the last key kept.
 */

static ngx_http_pfs_s3_vkey_t *
ngx_http_pfs_s3_versions_insert(ngx_http_request_t *r,
    ngx_http_pfs_s3_versions_t *vs, ngx_str_t *key, ngx_uint_t prefix)
{
    ngx_queue_t             *q;
    ngx_http_pfs_s3_vkey_t  *k;

    if (vs->nkeys >= vs->limit) {
        if (vs->cursor == ngx_queue_sentinel(&vs->keys)) {
            /* it would be the last: it is not kept, nor what follows */
            vs->cut = 1;
            vs->upper = ngx_queue_data(ngx_queue_last(&vs->keys),
                                       ngx_http_pfs_s3_vkey_t, queue);
            return (ngx_http_pfs_s3_vkey_t *) -1;
        }

        ngx_http_pfs_s3_versions_drop_tail(vs);
    }

    if (!ngx_queue_empty(&vs->free)) {
        q = ngx_queue_head(&vs->free);
        ngx_queue_remove(q);
        k = ngx_queue_data(q, ngx_http_pfs_s3_vkey_t, queue);

    } else {
        k = ngx_palloc(r->pool, sizeof(ngx_http_pfs_s3_vkey_t));
        if (k == NULL) {
            return NULL;
        }

        k->buf = ngx_pnalloc(r->pool, NGX_HTTP_PFS_S3_MAX_KEY_LEN);
        if (k->buf == NULL) {
            return NULL;
        }

        k->versions = NULL;
        k->nalloc = 0;
    }

    k->key.data = k->buf;
    k->key.len = key->len;
    ngx_memcpy(k->buf, key->data, key->len);

    k->nversions = 0;
    k->present = 0;
    k->prefix = prefix;

    /* before the cursor: ngx_queue_insert_tail() links in front of a node */
    ngx_queue_insert_tail(vs->cursor, &k->queue);
    vs->nkeys++;

    if (vs->cut) {
        vs->upper = ngx_queue_data(ngx_queue_last(&vs->keys),
                                   ngx_http_pfs_s3_vkey_t, queue);
    }

    return k;
}


static void
ngx_http_pfs_s3_versions_drop_tail(ngx_http_pfs_s3_versions_t *vs)
{
    ngx_queue_t  *q;

    q = ngx_queue_last(&vs->keys);

    if (vs->cursor == q) {
        vs->cursor = ngx_queue_sentinel(&vs->keys);
    }

    ngx_queue_remove(q);
    ngx_queue_insert_tail(&vs->free, q);
    vs->nkeys--;
    vs->cut = 1;
}


static ngx_int_t
ngx_http_pfs_s3_versions_send(ngx_http_request_t *r,
    ngx_http_pfs_s3_versions_t *vs)
{
    ngx_str_t                    next_key, next_version;
    ngx_uint_t                   i, n, truncated;
    ngx_queue_t                 *q;
    ngx_http_pfs_s3_xml_t       *x;
    ngx_http_pfs_s3_ctx_t       *ctx;
    ngx_http_pfs_s3_vkey_t      *k;
    ngx_http_pfs_s3_vcommit_t   *c;

    ctx = ngx_http_pfs_s3_get_ctx(r);
    c = vs->commits.elts;

    /*
     * The page first: which entries of each key it holds (IsTruncated and
     * the next markers come before the entries in the document).
     */

    n = 0;
    truncated = 0;
    ngx_str_null(&next_key);
    ngx_str_null(&next_version);

    for (q = ngx_queue_head(&vs->keys);
         q != ngx_queue_sentinel(&vs->keys);
         q = ngx_queue_next(q))
    {
        k = ngx_queue_data(q, ngx_http_pfs_s3_vkey_t, queue);

        k->first = 0;
        k->count = 0;

        if (truncated) {
            continue;
        }

        if (k->prefix) {
            if (n == vs->max_keys) {
                truncated = 1;
                continue;
            }

            k->count = 1;
            n++;
            next_key = k->key;
            ngx_str_null(&next_version);
            continue;
        }

        if (vs->version_marker.len
            && ngx_http_pfs_s3_str_cmp(&k->key, &vs->key_marker) == 0)
        {
            /* the marker's key: only the versions after the marker */

            k->first = k->nversions;

            for (i = 0; i < k->nversions; i++) {
                if (ngx_strcmp(c[k->versions[i].commit].id,
                               vs->version_marker.data) == 0)
                {
                    k->first = i + 1;
                    break;
                }
            }
        }

        for (i = k->first; i < k->nversions; i++) {
            if (n == vs->max_keys) {
                truncated = 1;
                break;
            }

            k->count++;
            n++;
            next_key = k->key;
            next_version.data = (u_char *) c[k->versions[i].commit].id;
            next_version.len = ngx_strlen(next_version.data);
        }
    }

    if (vs->cut && n == vs->max_keys) {
        truncated = 1;
    }

    x = ngx_http_pfs_s3_xml_start(r, "ListVersionsResult", 1);
    if (x == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_pfs_s3_xml_elem(x, "Name", ctx->bucket.name.data,
                             ctx->bucket.name.len);
    ngx_http_pfs_s3_xml_elem_url(x, "Prefix", &vs->prefix, vs->url);
    ngx_http_pfs_s3_xml_elem_url(x, "KeyMarker", &vs->key_marker, vs->url);
    ngx_http_pfs_s3_xml_elem(x, "VersionIdMarker", vs->version_marker.data,
                             vs->version_marker.len);

    if (truncated && n) {
        ngx_http_pfs_s3_xml_elem_url(x, "NextKeyMarker", &next_key, vs->url);

        if (next_version.len) {
            ngx_http_pfs_s3_xml_elem(x, "NextVersionIdMarker",
                                     next_version.data, next_version.len);
        }
    }

    ngx_http_pfs_s3_xml_elem_num(x, "MaxKeys", vs->max_keys);

    if (vs->delimiter.len) {
        ngx_http_pfs_s3_xml_elem_url(x, "Delimiter", &vs->delimiter, vs->url);
    }

    if (vs->url) {
        ngx_http_pfs_s3_xml_elem_str(x, "EncodingType", "url");
    }

    ngx_http_pfs_s3_xml_elem_str(x, "IsTruncated",
                                 truncated ? "true" : "false");

    for (q = ngx_queue_head(&vs->keys);
         q != ngx_queue_sentinel(&vs->keys);
         q = ngx_queue_next(q))
    {
        k = ngx_queue_data(q, ngx_http_pfs_s3_vkey_t, queue);

        if (k->prefix) {
            continue;
        }

        for (i = k->first; i < k->first + k->count; i++) {
            ngx_http_pfs_s3_versions_entry_xml(x, vs, k, i);
        }
    }

    for (q = ngx_queue_head(&vs->keys);
         q != ngx_queue_sentinel(&vs->keys);
         q = ngx_queue_next(q))
    {
        k = ngx_queue_data(q, ngx_http_pfs_s3_vkey_t, queue);

        if (k->prefix && k->count) {
            ngx_http_pfs_s3_xml_open(x, "CommonPrefixes");
            ngx_http_pfs_s3_xml_elem_url(x, "Prefix", &k->key, vs->url);
            ngx_http_pfs_s3_xml_close(x);
        }
    }

    return ngx_http_pfs_s3_xml_send(r, x, NGX_HTTP_OK);
}


static void
ngx_http_pfs_s3_versions_entry_xml(ngx_http_pfs_s3_xml_t *x,
    ngx_http_pfs_s3_versions_t *vs, ngx_http_pfs_s3_vkey_t *k, ngx_uint_t i)
{
    u_char                      mtime[32], etag[2 * NGX_HTTP_PFS_S3_HASH_MAX
                                                + 16];
    size_t                      mtime_len, etag_len;
    ProtobufCBinaryData         hash;
    ngx_http_pfs_s3_vcommit_t  *c;
    ngx_http_pfs_s3_vversion_t *v;

    c = vs->commits.elts;
    v = &k->versions[i];

    ngx_http_pfs_s3_xml_open(x, v->marker ? "DeleteMarker" : "Version");
    ngx_http_pfs_s3_xml_elem_url(x, "Key", &k->key, vs->url);
    ngx_http_pfs_s3_xml_elem_str(x, "VersionId", c[v->commit].id);
    ngx_http_pfs_s3_xml_elem_str(x, "IsLatest", i == 0 ? "true" : "false");
    mtime_len = ngx_http_pfs_s3_iso8601(mtime, &c[v->commit].when) - mtime;
    ngx_http_pfs_s3_xml_elem(x, "LastModified", mtime, mtime_len);

    if (!v->marker) {
        hash.data = v->hash;
        hash.len = v->hash_len;

        etag_len = ngx_http_pfs_s3_etag(etag, &hash);
        ngx_http_pfs_s3_xml_elem(x, "ETag", etag, etag_len);
        ngx_http_pfs_s3_xml_elem_num(x, "Size", v->size);
    }

    ngx_http_pfs_s3_xml_open(x, "Owner");
    ngx_http_pfs_s3_xml_elem_str(x, "ID", "00000000000000000000000000000000");
    ngx_http_pfs_s3_xml_elem_str(x, "DisplayName", "pachyderm");
    ngx_http_pfs_s3_xml_close(x);

    if (!v->marker) {
        ngx_http_pfs_s3_xml_elem_str(x, "StorageClass", "STANDARD");
    }

    ngx_http_pfs_s3_xml_close(x);
}


/*
 * GetObject / HeadObject ?versionId= of a commit without the key: when the
 * key is in that commit's parent, the commit deleted it and its id is the
 * DeleteMarker ListObjectVersions lists, which S3 answers 405 with
 * x-amz-delete-marker; any other commit without the key is NoSuchKey.
 * Costs InspectCommit and InspectFile, on this path only.
 */

ngx_int_t
ngx_http_pfs_s3_delete_marker(ngx_http_request_t *r,
    ngx_http_pfs_s3_ref_t *ref)
{
    ngx_http_pfs_s3_marker_t     *mk;
    PfsV2__InspectCommitRequest   req = PFS_V2__INSPECT_COMMIT_REQUEST__INIT;

    mk = ngx_palloc(r->pool, sizeof(ngx_http_pfs_s3_marker_t));
    if (mk == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    mk->ref = ref;
    mk->version = ref->commit.id;

    req.commit = &ref->commit;

    return ngx_http_pfs_s3_call(r, "/pfs_v2.API/InspectCommit", &req.base,
                                &pfs_v2__commit_info__descriptor, NULL,
                                ngx_http_pfs_s3_marker_commit, mk);
}


static ngx_int_t
ngx_http_pfs_s3_marker_commit(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    PfsV2__CommitInfo           *info;
    ngx_http_pfs_s3_marker_t    *mk;
    PfsV2__InspectFileRequest    req = PFS_V2__INSPECT_FILE_REQUEST__INIT;

    mk = call->data;
    info = ngx_http_pfs_s3_call_message(call);

    if (!ngx_http_pfs_s3_call_ok(call) || info == NULL
        || info->parent_commit == NULL || info->parent_commit->id == NULL
        || info->parent_commit->id[0] == '\0')
    {
        return ngx_http_pfs_s3_send_error(r, NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY,
                                          NULL);
    }

    mk->ref->commit.id = info->parent_commit->id;

    req.file = &mk->ref->file;

    return ngx_http_pfs_s3_call(r, "/pfs_v2.API/InspectFile", &req.base,
                                &pfs_v2__file_info__descriptor, NULL,
                                ngx_http_pfs_s3_marker_parent, mk);
}


static ngx_int_t
ngx_http_pfs_s3_marker_parent(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    PfsV2__FileInfo           *info;
    ngx_http_pfs_s3_marker_t  *mk;

    mk = call->data;
    info = ngx_http_pfs_s3_call_message(call);

    if (!ngx_http_pfs_s3_call_ok(call) || info == NULL
        || info->file_type != PFS_V2__FILE_TYPE__FILE)
    {
        return ngx_http_pfs_s3_send_error(r, NGX_HTTP_PFS_S3_ERR_NO_SUCH_KEY,
                                          NULL);
    }

    if (ngx_http_pfs_s3_add_header(r, "x-amz-delete-marker",
                                   (u_char *) "true", 4)
        != NGX_OK
        || ngx_http_pfs_s3_add_header(r, "x-amz-version-id",
                                      (u_char *) mk->version,
                                      ngx_strlen(mk->version))
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_pfs_s3_send_error(r,
                                      NGX_HTTP_PFS_S3_ERR_METHOD_NOT_ALLOWED,
                                      "The specified method is not allowed "
                                      "against a delete marker.");
}
