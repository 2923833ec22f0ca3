/*
 * Bucket operations: ListBuckets, CreateBucket, HeadBucket,
 * GetBucketLocation, Get/PutBucketVersioning, DeleteBucket.
 *
 * A bucket is a PFS branch (or a commit, read-only); see
 * ngx_http_pfs_s3_bucket.c for the names.
 */

#include <ngx_http_pfs_s3.h>


#define NGX_HTTP_PFS_S3_OWNER_ID  "00000000000000000000000000000000"
#define NGX_HTTP_PFS_S3_OWNER     "pachyderm"


typedef struct {
    ngx_str_t                     name;
    u_char                        created[32];
    size_t                        created_len;
} ngx_http_pfs_s3_bucket_entry_t;


static ngx_int_t ngx_http_pfs_s3_repo_info(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call, ProtobufCMessage *msg);
static ngx_int_t ngx_http_pfs_s3_list_buckets_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static int ngx_libc_cdecl ngx_http_pfs_s3_cmp_buckets(const void *one,
    const void *two);
static ngx_int_t ngx_http_pfs_s3_head_bucket_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_versioning_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_pfs_s3_create_bucket_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_pfs_s3_create_repo(ngx_http_request_t *r,
    void *again);
static ngx_int_t ngx_http_pfs_s3_create_project(ngx_http_request_t *r);
static ngx_int_t ngx_http_pfs_s3_create_project_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_create_repo_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_create_inspected(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_create_branch(ngx_http_request_t *r);
static ngx_int_t ngx_http_pfs_s3_create_branch_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_any_file(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call, ProtobufCMessage *msg);
static ngx_int_t ngx_http_pfs_s3_empty_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_delete_branch_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_inspect_repo_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);
static ngx_int_t ngx_http_pfs_s3_delete_repo_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call);


/* ---------------------------------------------------------------- list */

ngx_int_t
ngx_http_pfs_s3_list_buckets(ngx_http_request_t *r)
{
    ngx_array_t                *buckets;
    PfsV2__ListRepoRequest      req = PFS_V2__LIST_REPO_REQUEST__INIT;

    ngx_http_discard_request_body(r);

    buckets = ngx_array_create(r->pool, 16,
                               sizeof(ngx_http_pfs_s3_bucket_entry_t));
    if (buckets == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* only user repos are buckets; the type is checked again on arrival */

    req.type = "user";

    return ngx_http_pfs_s3_call(r, "/pfs_v2.API/ListRepo", &req.base,
                                &pfs_v2__repo_info__descriptor,
                                ngx_http_pfs_s3_repo_info,
                                ngx_http_pfs_s3_list_buckets_done, buckets);
}


/* Each RepoInfo of the stream: one bucket per branch, branch.repo.project */

static ngx_int_t
ngx_http_pfs_s3_repo_info(ngx_http_request_t *r, ngx_http_pfs_s3_call_t *call,
    ProtobufCMessage *msg)
{
    PfsV2__RepoInfo *info = (PfsV2__RepoInfo *) msg;

    u_char                          *p;
    size_t                           len;
    ngx_uint_t                       i;
    const char                      *project;
    ngx_array_t                     *buckets;
    PfsV2__Branch                   *branch;
    ngx_http_pfs_s3_bucket_entry_t  *e;

    buckets = call->data;

    if (info->repo == NULL || info->repo->name == NULL) {
        return NGX_OK;
    }

    if ((info->repo->type && info->repo->type[0]
         && ngx_strcmp(info->repo->type, "user") != 0)
        || ngx_strcmp(info->repo->name, NGX_HTTP_PFS_S3_MULTIPART_REPO) == 0)
    {
        return NGX_OK;
    }

    project = (info->repo->project && info->repo->project->name
               && info->repo->project->name[0])
              ? info->repo->project->name : "default";

    for (i = 0; i < info->n_branches; i++) {
        branch = info->branches[i];

        if (branch == NULL || branch->name == NULL || branch->name[0] == '\0')
        {
            continue;
        }

        e = ngx_array_push(buckets);
        if (e == NULL) {
            return NGX_ERROR;
        }

        len = ngx_strlen(branch->name) + 1 + ngx_strlen(info->repo->name) + 1
              + ngx_strlen(project);

        e->name.data = ngx_pnalloc(r->pool, len);
        if (e->name.data == NULL) {
            return NGX_ERROR;
        }

        p = ngx_sprintf(e->name.data, "%s.%s.%s", branch->name,
                        info->repo->name, project);
        e->name.len = p - e->name.data;

        e->created_len = ngx_http_pfs_s3_iso8601(e->created, info->created)
                         - e->created;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_pfs_s3_list_buckets_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_uint_t                       i;
    ngx_array_t                     *buckets;
    ngx_http_pfs_s3_xml_t           *x;
    ngx_http_pfs_s3_bucket_entry_t  *e;

    if (!ngx_http_pfs_s3_call_ok(call)) {
        return ngx_http_pfs_s3_fail(r, call, NGX_HTTP_PFS_S3_ERR_INTERNAL);
    }

    buckets = call->data;
    e = buckets->elts;

    ngx_qsort(e, buckets->nelts, sizeof(ngx_http_pfs_s3_bucket_entry_t),
              ngx_http_pfs_s3_cmp_buckets);

    x = ngx_http_pfs_s3_xml_start(r, "ListAllMyBucketsResult", 1);
    if (x == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_pfs_s3_xml_open(x, "Owner");
    ngx_http_pfs_s3_xml_elem_str(x, "ID", NGX_HTTP_PFS_S3_OWNER_ID);
    ngx_http_pfs_s3_xml_elem_str(x, "DisplayName", NGX_HTTP_PFS_S3_OWNER);
    ngx_http_pfs_s3_xml_close(x);

    ngx_http_pfs_s3_xml_open(x, "Buckets");

    for (i = 0; i < buckets->nelts; i++) {
        ngx_http_pfs_s3_xml_open(x, "Bucket");
        ngx_http_pfs_s3_xml_elem(x, "Name", e[i].name.data, e[i].name.len);
        ngx_http_pfs_s3_xml_elem(x, "CreationDate", e[i].created,
                                 e[i].created_len);
        ngx_http_pfs_s3_xml_close(x);
    }

    ngx_http_pfs_s3_xml_close(x);

    return ngx_http_pfs_s3_xml_send(r, x, NGX_HTTP_OK);
}


static int ngx_libc_cdecl
ngx_http_pfs_s3_cmp_buckets(const void *one, const void *two)
{
    const ngx_http_pfs_s3_bucket_entry_t  *a = one, *b = two;

    size_t  n;
    int     rc;

    n = ngx_min(a->name.len, b->name.len);
    rc = ngx_memcmp(a->name.data, b->name.data, n);

    if (rc != 0) {
        return rc;
    }

    return (a->name.len > b->name.len) - (a->name.len < b->name.len);
}


/* ---------------------------------------------------------------- head */

/*
 * A branch bucket exists if InspectBranch succeeds, a commit bucket if
 * InspectCommit does.
 */

ngx_int_t
ngx_http_pfs_s3_inspect_bucket(ngx_http_request_t *r,
    ngx_http_pfs_s3_done_pt done)
{
    ngx_int_t                      rc;
    ngx_http_pfs_s3_ref_t         *ref;
    ngx_http_pfs_s3_ctx_t         *ctx;
    PfsV2__InspectBranchRequest    breq = PFS_V2__INSPECT_BRANCH_REQUEST__INIT;
    PfsV2__InspectCommitRequest    creq = PFS_V2__INSPECT_COMMIT_REQUEST__INIT;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    ref = ngx_palloc(r->pool, sizeof(ngx_http_pfs_s3_ref_t));
    if (ref == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_pfs_s3_ref(r, ref, &ctx->bucket, NULL, NULL) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->bucket.commit.len) {
        creq.commit = &ref->commit;

        rc = ngx_http_pfs_s3_call(r, "/pfs_v2.API/InspectCommit", &creq.base,
                                  &pfs_v2__commit_info__descriptor, NULL,
                                  done, NULL);

    } else {
        breq.branch = &ref->branch;

        rc = ngx_http_pfs_s3_call(r, "/pfs_v2.API/InspectBranch", &breq.base,
                                  &pfs_v2__branch_info__descriptor, NULL,
                                  done, NULL);
    }

    return rc == NGX_DONE ? NGX_DONE : NGX_HTTP_INTERNAL_SERVER_ERROR;
}


ngx_int_t
ngx_http_pfs_s3_head_bucket(ngx_http_request_t *r)
{
    ngx_http_pfs_s3_ctx_t  *ctx;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    if (ctx->op == NGX_HTTP_PFS_S3_OP_PUT_BUCKET_VERSIONING) {
        if (ctx->bucket.commit.len) {
            return ngx_http_pfs_s3_read_only(r);
        }

        return ngx_http_pfs_s3_read_xml_body(r,
                                             ngx_http_pfs_s3_versioning_body);
    }

    ngx_http_discard_request_body(r);

    return ngx_http_pfs_s3_inspect_bucket(r, ngx_http_pfs_s3_head_bucket_done);
}


/* PutBucketVersioning: PFS keeps every version, so only Enabled is true. */

static ngx_int_t
ngx_http_pfs_s3_versioning_body(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_str_t                    body, status;
    ngx_uint_t                   found;
    ngx_http_pfs_s3_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_pfs_s3_module);

    rc = ngx_http_pfs_s3_read_small_body(r, plcf->max_xml_size, &body);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED || body.len == 0) {
        return ngx_http_pfs_s3_send_error(r,
                                          NGX_HTTP_PFS_S3_ERR_MALFORMED_XML,
                                          NULL);
    }

    rc = ngx_http_pfs_s3_xml_parse(r, body.data, body.len,
                                   "VersioningConfiguration", "Status",
                                   &status, &found);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_pfs_s3_send_error(r,
                                          NGX_HTTP_PFS_S3_ERR_MALFORMED_XML,
                                          NULL);
    }

    if (found && status.len == sizeof("Suspended") - 1
        && ngx_strncmp(status.data, "Suspended", status.len) == 0)
    {
        return ngx_http_pfs_s3_send_error(r,
                                    NGX_HTTP_PFS_S3_ERR_NOT_IMPLEMENTED,
                                    "PFS keeps every version of every file: "
                                    "versioning cannot be suspended");
    }

    if (found && !(status.len == sizeof("Enabled") - 1
                   && ngx_strncmp(status.data, "Enabled", status.len) == 0))
    {
        return ngx_http_pfs_s3_send_error(r,
                                          NGX_HTTP_PFS_S3_ERR_MALFORMED_XML,
                                          NULL);
    }

    return ngx_http_pfs_s3_inspect_bucket(r, ngx_http_pfs_s3_head_bucket_done);
}


static ngx_int_t
ngx_http_pfs_s3_head_bucket_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_http_pfs_s3_xml_t       *x;
    ngx_http_pfs_s3_ctx_t       *ctx;
    ngx_http_pfs_s3_loc_conf_t  *plcf;

    if (!ngx_http_pfs_s3_call_ok(call)) {
        return ngx_http_pfs_s3_fail(r, call,
                                    NGX_HTTP_PFS_S3_ERR_NO_SUCH_BUCKET);
    }

    ctx = ngx_http_pfs_s3_get_ctx(r);
    plcf = ngx_http_get_module_loc_conf(r, ngx_http_pfs_s3_module);

    switch (ctx->op) {

    case NGX_HTTP_PFS_S3_OP_GET_BUCKET_LOCATION:
        x = ngx_http_pfs_s3_xml_start(r, "LocationConstraint", 1);
        if (x == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* S3 writes the default region, us-east-1, as no constraint */

        if (!(plcf->region.len == sizeof("us-east-1") - 1
              && ngx_strncmp(plcf->region.data, "us-east-1",
                             plcf->region.len) == 0))
        {
            ngx_http_pfs_s3_xml_text(x, plcf->region.data, plcf->region.len);
        }

        return ngx_http_pfs_s3_xml_send(r, x, NGX_HTTP_OK);

    case NGX_HTTP_PFS_S3_OP_GET_BUCKET_VERSIONING:
        x = ngx_http_pfs_s3_xml_start(r, "VersioningConfiguration", 1);
        if (x == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_pfs_s3_xml_elem_str(x, "Status", "Enabled");

        return ngx_http_pfs_s3_xml_send(r, x, NGX_HTTP_OK);

    case NGX_HTTP_PFS_S3_OP_PUT_BUCKET_VERSIONING:
        return ngx_http_pfs_s3_send_empty(r, NGX_HTTP_OK);

    default: /* HeadBucket */
        if (ngx_http_pfs_s3_add_header(r, "x-amz-bucket-region",
                                       plcf->region.data, plcf->region.len)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_pfs_s3_send_empty(r, NGX_HTTP_OK);
    }
}


/* ---------------------------------------------------------------- create */

ngx_int_t
ngx_http_pfs_s3_create_bucket(ngx_http_request_t *r)
{
    ngx_http_pfs_s3_ctx_t  *ctx;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    if (ctx->bucket.commit.len) {
        return ngx_http_pfs_s3_send_error(r,
                                       NGX_HTTP_PFS_S3_ERR_INVALID_BUCKET_NAME,
                                       "a bucket that names a commit is "
                                       "read-only and cannot be created");
    }

    return ngx_http_pfs_s3_read_xml_body(r, ngx_http_pfs_s3_create_bucket_body);
}


static ngx_int_t
ngx_http_pfs_s3_create_bucket_body(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_str_t                     body, location;
    ngx_uint_t                    found;
    ngx_http_pfs_s3_ref_t        *ref;
    ngx_http_pfs_s3_ctx_t        *ctx;
    ngx_http_pfs_s3_loc_conf_t   *plcf;

    ctx = ngx_http_pfs_s3_get_ctx(r);
    plcf = ngx_http_get_module_loc_conf(r, ngx_http_pfs_s3_module);

    rc = ngx_http_pfs_s3_read_small_body(r, plcf->max_xml_size, &body);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_pfs_s3_send_error(r,
                                          NGX_HTTP_PFS_S3_ERR_MALFORMED_XML,
                                          NULL);
    }

    if (body.len) {
        rc = ngx_http_pfs_s3_xml_parse(r, body.data, body.len,
                                       "CreateBucketConfiguration",
                                       "LocationConstraint", &location,
                                       &found);

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc == NGX_DECLINED) {
            return ngx_http_pfs_s3_send_error(r,
                                             NGX_HTTP_PFS_S3_ERR_MALFORMED_XML,
                                             NULL);
        }

        if (found && location.len
            && !(location.len == plcf->region.len
                 && ngx_strncmp(location.data, plcf->region.data,
                                location.len) == 0))
        {
            return ngx_http_pfs_s3_send_error(r,
                                         NGX_HTTP_PFS_S3_ERR_INVALID_LOCATION,
                                         NULL);
        }
    }

    ref = ngx_palloc(r->pool, sizeof(ngx_http_pfs_s3_ref_t));
    if (ref == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_pfs_s3_ref(r, ref, &ctx->bucket, NULL, NULL) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->op_data = ref;

    return ngx_http_pfs_s3_create_repo(r, NULL);
}


/*
 * CreateRepo; "again" is non-NULL when it follows a CreateProject, so a
 * project that is still missing then is not created twice.
 */

static ngx_int_t
ngx_http_pfs_s3_create_repo(ngx_http_request_t *r, void *again)
{
    ngx_http_pfs_s3_ref_t     *ref;
    ngx_http_pfs_s3_ctx_t     *ctx;
    PfsV2__CreateRepoRequest   req = PFS_V2__CREATE_REPO_REQUEST__INIT;

    ctx = ngx_http_pfs_s3_get_ctx(r);
    ref = ctx->op_data;

    req.repo = &ref->repo;

    return ngx_http_pfs_s3_call(r, "/pfs_v2.API/CreateRepo", &req.base,
                                &google__protobuf__empty__descriptor, NULL,
                                ngx_http_pfs_s3_create_repo_done, again);
}


/*
 * pfs_s3_create_project on: "aws s3 mb s3://master.foo.bar" makes project
 * "bar" when it is missing, as S3 users expect a bucket from mb; off (the
 * default, as in pachd's gateway) leaves projects to PFS administrators.
 */

static ngx_int_t
ngx_http_pfs_s3_create_project(ngx_http_request_t *r)
{
    ngx_http_pfs_s3_ref_t         *ref;
    ngx_http_pfs_s3_ctx_t         *ctx;
    PfsV2__CreateProjectRequest    req = PFS_V2__CREATE_PROJECT_REQUEST__INIT;

    ctx = ngx_http_pfs_s3_get_ctx(r);
    ref = ctx->op_data;

    req.project = &ref->project;

    return ngx_http_pfs_s3_call(r, "/pfs_v2.API/CreateProject", &req.base,
                                &google__protobuf__empty__descriptor, NULL,
                                ngx_http_pfs_s3_create_project_done, NULL);
}


static ngx_int_t
ngx_http_pfs_s3_create_project_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    /* a racing CreateBucket may have made it: fine */

    if (!ngx_http_pfs_s3_call_ok(call)
        && call->grpc_status != NGX_HTTP_PFS_S3_GRPC_ALREADY_EXISTS)
    {
        return ngx_http_pfs_s3_fail(r, call, NGX_HTTP_PFS_S3_ERR_INTERNAL);
    }

    return ngx_http_pfs_s3_create_repo(r, call);
}


/*
 * An existing repo is fine: the bucket is the branch.  PFS's CreateBranch
 * succeeds on an existing branch too, so in an existing repo the branch is
 * looked up first.
 */

static ngx_int_t
ngx_http_pfs_s3_create_repo_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_http_pfs_s3_ref_t        *ref;
    ngx_http_pfs_s3_ctx_t        *ctx;
    ngx_http_pfs_s3_msg_e         kind;
    ngx_http_pfs_s3_loc_conf_t   *plcf;
    PfsV2__InspectBranchRequest   req = PFS_V2__INSPECT_BRANCH_REQUEST__INIT;

    if (ngx_http_pfs_s3_call_ok(call)) {
        return ngx_http_pfs_s3_create_branch(r);
    }

    kind = ngx_http_pfs_s3_classify(r, &call->grpc_message);

    if (kind == NGX_HTTP_PFS_S3_MSG_PROJECT_NOT_FOUND) {
        plcf = ngx_http_get_module_loc_conf(r, ngx_http_pfs_s3_module);

        if (plcf->create_project && call->data == NULL) {
            return ngx_http_pfs_s3_create_project(r);
        }

        return ngx_http_pfs_s3_send_error(r,
                                       NGX_HTTP_PFS_S3_ERR_INVALID_BUCKET_NAME,
                                       "the bucket's PFS project does not "
                                       "exist");
    }

    if (call->grpc_status != NGX_HTTP_PFS_S3_GRPC_ALREADY_EXISTS
        && kind != NGX_HTTP_PFS_S3_MSG_REPO_EXISTS)
    {
        return ngx_http_pfs_s3_fail(r, call, NGX_HTTP_PFS_S3_ERR_INTERNAL);
    }

    ctx = ngx_http_pfs_s3_get_ctx(r);
    ref = ctx->op_data;

    req.branch = &ref->branch;

    return ngx_http_pfs_s3_call(r, "/pfs_v2.API/InspectBranch", &req.base,
                                &pfs_v2__branch_info__descriptor, NULL,
                                ngx_http_pfs_s3_create_inspected, NULL);
}


static ngx_int_t
ngx_http_pfs_s3_create_inspected(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    if (ngx_http_pfs_s3_call_ok(call)) {
        return ngx_http_pfs_s3_send_error(r,
                                      NGX_HTTP_PFS_S3_ERR_BUCKET_ALREADY_OWNED,
                                      NULL);
    }

    if (ngx_http_pfs_s3_classify(r, &call->grpc_message)
        != NGX_HTTP_PFS_S3_MSG_BRANCH_NOT_FOUND)
    {
        return ngx_http_pfs_s3_fail(r, call, NGX_HTTP_PFS_S3_ERR_INTERNAL);
    }

    return ngx_http_pfs_s3_create_branch(r);
}


static ngx_int_t
ngx_http_pfs_s3_create_branch(ngx_http_request_t *r)
{
    ngx_http_pfs_s3_ref_t        *ref;
    ngx_http_pfs_s3_ctx_t        *ctx;
    PfsV2__CreateBranchRequest    req = PFS_V2__CREATE_BRANCH_REQUEST__INIT;

    ctx = ngx_http_pfs_s3_get_ctx(r);
    ref = ctx->op_data;

    req.branch = &ref->branch;

    return ngx_http_pfs_s3_call(r, "/pfs_v2.API/CreateBranch", &req.base,
                                &google__protobuf__empty__descriptor, NULL,
                                ngx_http_pfs_s3_create_branch_done, NULL);
}


static ngx_int_t
ngx_http_pfs_s3_create_branch_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    u_char                 *p;
    ngx_http_pfs_s3_ctx_t  *ctx;

    if (!ngx_http_pfs_s3_call_ok(call)) {
        return ngx_http_pfs_s3_fail(r, call,
                                    NGX_HTTP_PFS_S3_ERR_NO_SUCH_BUCKET);
    }

    ctx = ngx_http_pfs_s3_get_ctx(r);

    p = ngx_pnalloc(r->pool, ctx->bucket.name.len + 1);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *p = '/';
    ngx_memcpy(p + 1, ctx->bucket.name.data, ctx->bucket.name.len);

    if (ngx_http_pfs_s3_add_header(r, "Location", p, ctx->bucket.name.len + 1)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_pfs_s3_send_empty(r, NGX_HTTP_OK);
}


/* ---------------------------------------------------------------- delete */

/*
 * DeleteBucket: refused while the branch head holds any file (the glob
 * stream is cut at its first entry), then the branch goes, then the repo if
 * it has no branch left.
 */

ngx_int_t
ngx_http_pfs_s3_delete_bucket(ngx_http_request_t *r)
{
    ngx_http_pfs_s3_ref_t     *ref;
    ngx_http_pfs_s3_ctx_t     *ctx;
    PfsV2__GlobFileRequest     req = PFS_V2__GLOB_FILE_REQUEST__INIT;

    ctx = ngx_http_pfs_s3_get_ctx(r);

    if (ctx->bucket.commit.len) {
        return ngx_http_pfs_s3_read_only(r);
    }

    ngx_http_discard_request_body(r);

    ref = ngx_palloc(r->pool, sizeof(ngx_http_pfs_s3_ref_t));
    if (ref == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_pfs_s3_ref(r, ref, &ctx->bucket, NULL, NULL) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->op_data = ref;

    req.commit = &ref->commit;
    req.pattern = "/*";

    return ngx_http_pfs_s3_call(r, "/pfs_v2.API/GlobFile", &req.base,
                                &pfs_v2__file_info__descriptor,
                                ngx_http_pfs_s3_any_file,
                                ngx_http_pfs_s3_empty_done, NULL);
}


static ngx_int_t
ngx_http_pfs_s3_any_file(ngx_http_request_t *r, ngx_http_pfs_s3_call_t *call,
    ProtobufCMessage *msg)
{
    /* one entry is enough to know */
    return NGX_DONE;
}


static ngx_int_t
ngx_http_pfs_s3_empty_done(ngx_http_request_t *r, ngx_http_pfs_s3_call_t *call)
{
    ngx_http_pfs_s3_ref_t        *ref;
    ngx_http_pfs_s3_ctx_t        *ctx;
    PfsV2__DeleteBranchRequest    req = PFS_V2__DELETE_BRANCH_REQUEST__INIT;

    if (!ngx_http_pfs_s3_call_ok(call)) {
        return ngx_http_pfs_s3_fail(r, call,
                                    NGX_HTTP_PFS_S3_ERR_NO_SUCH_BUCKET);
    }

    if (call->messages) {
        return ngx_http_pfs_s3_send_error(r,
                                          NGX_HTTP_PFS_S3_ERR_BUCKET_NOT_EMPTY,
                                          NULL);
    }

    ctx = ngx_http_pfs_s3_get_ctx(r);
    ref = ctx->op_data;

    req.branch = &ref->branch;

    return ngx_http_pfs_s3_call(r, "/pfs_v2.API/DeleteBranch", &req.base,
                                &google__protobuf__empty__descriptor, NULL,
                                ngx_http_pfs_s3_delete_branch_done, NULL);
}


static ngx_int_t
ngx_http_pfs_s3_delete_branch_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    ngx_http_pfs_s3_ref_t        *ref;
    ngx_http_pfs_s3_ctx_t        *ctx;
    PfsV2__InspectRepoRequest     req = PFS_V2__INSPECT_REPO_REQUEST__INIT;

    if (!ngx_http_pfs_s3_call_ok(call)) {
        return ngx_http_pfs_s3_fail(r, call,
                                    NGX_HTTP_PFS_S3_ERR_NO_SUCH_BUCKET);
    }

    ctx = ngx_http_pfs_s3_get_ctx(r);
    ref = ctx->op_data;

    req.repo = &ref->repo;

    return ngx_http_pfs_s3_call(r, "/pfs_v2.API/InspectRepo", &req.base,
                                &pfs_v2__repo_info__descriptor, NULL,
                                ngx_http_pfs_s3_inspect_repo_done, NULL);
}


/*
 * The branch is gone: the bucket is deleted whatever happens to the repo,
 * which is removed only when no branch is left.
 */

static ngx_int_t
ngx_http_pfs_s3_inspect_repo_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    PfsV2__RepoInfo             *info;
    ngx_http_pfs_s3_ref_t       *ref;
    ngx_http_pfs_s3_ctx_t       *ctx;
    PfsV2__DeleteRepoRequest     req = PFS_V2__DELETE_REPO_REQUEST__INIT;

    info = ngx_http_pfs_s3_call_message(call);

    if (!ngx_http_pfs_s3_call_ok(call) || info == NULL
        || info->n_branches > 0)
    {
        return ngx_http_pfs_s3_send_empty(r, NGX_HTTP_NO_CONTENT);
    }

    ctx = ngx_http_pfs_s3_get_ctx(r);
    ref = ctx->op_data;

    req.repo = &ref->repo;

    if (ngx_http_pfs_s3_call(r, "/pfs_v2.API/DeleteRepo", &req.base,
                             &pfs_v2__delete_repo_response__descriptor, NULL,
                             ngx_http_pfs_s3_delete_repo_done, NULL)
        != NGX_DONE)
    {
        return ngx_http_pfs_s3_send_empty(r, NGX_HTTP_NO_CONTENT);
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_pfs_s3_delete_repo_done(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call)
{
    if (!ngx_http_pfs_s3_call_ok(call)) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "pfs_s3: the bucket's branch is deleted but its repo "
                      "was kept: %s \"%V\"",
                      ngx_http_pfs_s3_grpc_code_name(call->grpc_status),
                      &call->grpc_message);
    }

    return ngx_http_pfs_s3_send_empty(r, NGX_HTTP_NO_CONTENT);
}


ngx_int_t
ngx_http_pfs_s3_read_only(ngx_http_request_t *r)
{
    return ngx_http_pfs_s3_send_error(r, NGX_HTTP_PFS_S3_ERR_METHOD_NOT_ALLOWED,
                                      "the bucket names a commit: it is "
                                      "read-only");
}
