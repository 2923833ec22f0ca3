/*
 * PFS references (project, repo, branch, commit, file) for request messages,
 * built from a bucket on the stack of the caller or in the request pool.
 */

#include <ngx_http_pfs_s3.h>


char *
ngx_http_pfs_s3_cstr(ngx_pool_t *pool, ngx_str_t *s)
{
    u_char  *p;

    p = ngx_pnalloc(pool, s->len + 1);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(p, s->data, s->len);
    p[s->len] = '\0';

    return (char *) p;
}


/*
 * The commit is the bucket's branch head unless the bucket or "commit"
 * names a commit id.  Both Commit.branch and Commit.repo are set: pachd 2.x
 * reads either depending on its version.
 */

ngx_int_t
ngx_http_pfs_s3_ref(ngx_http_request_t *r, ngx_http_pfs_s3_ref_t *ref,
    ngx_http_pfs_s3_bucket_t *bucket, ngx_str_t *commit, ngx_str_t *path)
{
    ngx_pool_t  *pool;

    pool = r->pool;

    pfs_v2__project__init(&ref->project);
    pfs_v2__repo__init(&ref->repo);
    pfs_v2__branch__init(&ref->branch);
    pfs_v2__commit__init(&ref->commit);
    pfs_v2__file__init(&ref->file);

    ref->project.name = ngx_http_pfs_s3_cstr(pool, &bucket->project);
    ref->repo.name = ngx_http_pfs_s3_cstr(pool, &bucket->repo);
    ref->repo.type = "user";
    ref->branch.name = ngx_http_pfs_s3_cstr(pool, &bucket->branch);

    if (ref->project.name == NULL || ref->repo.name == NULL
        || ref->branch.name == NULL)
    {
        return NGX_ERROR;
    }

    ref->repo.project = &ref->project;
    ref->branch.repo = &ref->repo;

    ref->commit.branch = &ref->branch;
    ref->commit.repo = &ref->repo;

    if (commit == NULL || commit->len == 0) {
        commit = &bucket->commit;
    }

    if (commit->len) {
        ref->commit.id = ngx_http_pfs_s3_cstr(pool, commit);
        if (ref->commit.id == NULL) {
            return NGX_ERROR;
        }
    }

    ref->file.commit = &ref->commit;

    if (path) {
        ref->file.path = ngx_http_pfs_s3_cstr(pool, path);
        if (ref->file.path == NULL) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * InspectFile of "file"; "done" runs with the call (data in call->data).
 * Returns NGX_DONE, or NGX_HTTP_INTERNAL_SERVER_ERROR if it cannot start.
 */

ngx_int_t
ngx_http_pfs_s3_inspect(ngx_http_request_t *r, PfsV2__File *file,
    ngx_http_pfs_s3_done_pt done, void *data)
{
    PfsV2__InspectFileRequest  req = PFS_V2__INSPECT_FILE_REQUEST__INIT;

    if (file->path == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    req.file = file;

    return ngx_http_pfs_s3_call(r, "/pfs_v2.API/InspectFile", &req.base,
                                &pfs_v2__file_info__descriptor, NULL, done, data);
}
