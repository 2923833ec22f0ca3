/*
 * ngx_http_pfs_s3_module: an S3 endpoint over Pachyderm's PFS.
 *
 * This file holds the directives, the configuration and the module entry;
 * the module proper is in src/ (see docs/DESIGN.md, "The nginx module").
 */

#include <ngx_http_pfs_s3.h>


static ngx_int_t ngx_http_pfs_s3_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_pfs_s3_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_pfs_s3_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_pfs_s3_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_pfs_s3_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_pfs_s3_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_pfs_s3_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_pfs_s3(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_pfs_s3_base_domain(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_pfs_s3_check_name(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_pfs_s3_check_region(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_pfs_s3_check_size(ngx_conf_t *cf, void *post,
    void *data);


typedef struct {
    ngx_conf_post_handler_pt  post_handler;
    size_t                    low;
    size_t                    high;
    const char               *low_text;
    const char               *high_text;
} ngx_http_pfs_s3_size_bounds_t;


static ngx_conf_post_t  ngx_http_pfs_s3_name_post =
    { ngx_http_pfs_s3_check_name };

static ngx_conf_post_t  ngx_http_pfs_s3_region_post =
    { ngx_http_pfs_s3_check_region };

/*
 * pachd accepts messages of at most 20 MiB; a piece is one message, so it
 * stays well below that with room for the path and the framing.
 */
static ngx_http_pfs_s3_size_bounds_t  ngx_http_pfs_s3_piece_bounds =
    { ngx_http_pfs_s3_check_size, 4096, 16 * 1024 * 1024, "4k", "16m" };

static ngx_http_pfs_s3_size_bounds_t  ngx_http_pfs_s3_message_bounds =
    { ngx_http_pfs_s3_check_size, 64 * 1024, 64 * 1024 * 1024, "64k", "64m" };

static ngx_http_pfs_s3_size_bounds_t  ngx_http_pfs_s3_xml_bounds =
    { ngx_http_pfs_s3_check_size, 1024, 1024 * 1024, "1k", "1m" };


static ngx_conf_num_bounds_t  ngx_http_pfs_s3_depth_bounds =
    { ngx_conf_check_num_bounds, 1, 1000 };


static ngx_command_t  ngx_http_pfs_s3_commands[] = {

    { ngx_string("pfs_s3"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_pfs_s3,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("pfs_s3_base_domain"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_pfs_s3_base_domain,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_pfs_s3_loc_conf_t, base_domain),
      NULL },

    { ngx_string("pfs_s3_region"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_pfs_s3_loc_conf_t, region),
      &ngx_http_pfs_s3_region_post },

    { ngx_string("pfs_s3_default_project"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_pfs_s3_loc_conf_t, project),
      &ngx_http_pfs_s3_name_post },

    { ngx_string("pfs_s3_default_branch"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_pfs_s3_loc_conf_t, branch),
      &ngx_http_pfs_s3_name_post },

    { ngx_string("pfs_s3_piece_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_pfs_s3_loc_conf_t, piece_size),
      &ngx_http_pfs_s3_piece_bounds },

    { ngx_string("pfs_s3_max_message_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_pfs_s3_loc_conf_t, max_message_size),
      &ngx_http_pfs_s3_message_bounds },

    { ngx_string("pfs_s3_max_xml_body_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_pfs_s3_loc_conf_t, max_xml_size),
      &ngx_http_pfs_s3_xml_bounds },

    { ngx_string("pfs_s3_versions_depth"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_pfs_s3_loc_conf_t, versions_depth),
      &ngx_http_pfs_s3_depth_bounds },

    { ngx_string("pfs_s3_create_project"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_pfs_s3_loc_conf_t, create_project),
      NULL },

    { ngx_string("pfs_s3_request_buffering"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_pfs_s3_loc_conf_t, request_buffering),
      NULL },

    { ngx_string("pfs_s3_pfs_token"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_pfs_s3_loc_conf_t, pfs_token),
      NULL },

    { ngx_string("pfs_s3_auth"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_pfs_s3_loc_conf_t, auth),
      &ngx_http_pfs_s3_auth_modes },

    { ngx_string("pfs_s3_auth_credentials"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_pfs_s3_auth_credentials,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("pfs_s3_auth_cache"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_pfs_s3_loc_conf_t, auth_cache),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_pfs_s3_module_ctx = {
    ngx_http_pfs_s3_preconfiguration,      /* preconfiguration */
    ngx_http_pfs_s3_postconfiguration,     /* postconfiguration */

    ngx_http_pfs_s3_create_main_conf,      /* create main configuration */
    ngx_http_pfs_s3_init_main_conf,        /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_pfs_s3_create_loc_conf,       /* create location configuration */
    ngx_http_pfs_s3_merge_loc_conf         /* merge location configuration */
};


ngx_module_t  ngx_http_pfs_s3_module = {
    NGX_MODULE_V1,
    &ngx_http_pfs_s3_module_ctx,           /* module context */
    ngx_http_pfs_s3_commands,              /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_pfs_s3_handler(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_http_variable_value_t    *vv;
    ngx_http_pfs_s3_ctx_t        *ctx;
    ngx_http_pfs_s3_main_conf_t  *mcf;

    if (r != r->main) {
        /* an S3 request is a whole client request, never a subrequest */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "pfs_s3 cannot serve subrequest \"%V\"", &r->uri);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_pfs_s3_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->type = NGX_HTTP_PFS_S3_CTX_REQUEST;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_pfs_s3_module);

    vv = ngx_http_get_indexed_variable(r, mcf->request_id_index);
    if (vv == NULL || vv->not_found) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request_id.data = vv->data;
    ctx->request_id.len = vv->len;

    ngx_http_set_ctx(r, ctx, ngx_http_pfs_s3_module);
    ngx_http_pfs_s3_log_init(r, ctx);

    /*
     * Object bytes must reach the client exactly as stored: compression or
     * nginx's own conditional handling would break Content-Length, ETag,
     * Range and the S3 semantics of the conditional headers.
     */

#if (NGX_HTTP_GZIP)
    r->gzip_tested = 1;
    r->gzip_ok = 0;
#endif
    r->disable_not_modified = 1;

    rc = ngx_http_pfs_s3_parse_request(r, ctx);

    if (rc == NGX_DECLINED) {
        /* answered already */
        return ctx->rc;
    }

    if (rc != NGX_OK) {
        ngx_http_pfs_s3_skip_body(r);
        return rc;
    }

    /*
     * The operation keeps a reference on the request until it finalizes it,
     * whatever it waits for (PFS calls, the request body).
     */

    r->main->count++;

    rc = ngx_http_pfs_s3_auth(r, ctx);

    if (rc == NGX_OK) {
        rc = ngx_http_pfs_s3_dispatch(r, ctx);

    } else if (rc == NGX_DECLINED) {
        /* answered: an authentication failure */
        rc = ctx->rc;
    }

    if (rc == NGX_DONE) {
        return NGX_DONE;
    }

    r->main->count--;

    return ngx_http_pfs_s3_final(r, rc);
}


/* Runs the operation, once the request is parsed and authenticated. */

ngx_int_t
ngx_http_pfs_s3_dispatch(ngx_http_request_t *r, ngx_http_pfs_s3_ctx_t *ctx)
{
    switch (ctx->op) {

    case NGX_HTTP_PFS_S3_OP_LIST_BUCKETS:
        return ngx_http_pfs_s3_list_buckets(r);

    case NGX_HTTP_PFS_S3_OP_CREATE_BUCKET:
        return ngx_http_pfs_s3_create_bucket(r);

    case NGX_HTTP_PFS_S3_OP_HEAD_BUCKET:
    case NGX_HTTP_PFS_S3_OP_GET_BUCKET_LOCATION:
    case NGX_HTTP_PFS_S3_OP_GET_BUCKET_VERSIONING:
    case NGX_HTTP_PFS_S3_OP_PUT_BUCKET_VERSIONING:
        return ngx_http_pfs_s3_head_bucket(r);

    case NGX_HTTP_PFS_S3_OP_DELETE_BUCKET:
        return ngx_http_pfs_s3_delete_bucket(r);

    case NGX_HTTP_PFS_S3_OP_LIST_OBJECTS:
    case NGX_HTTP_PFS_S3_OP_LIST_OBJECTS_V2:
        return ngx_http_pfs_s3_list_objects(r);

    case NGX_HTTP_PFS_S3_OP_HEAD_OBJECT:
    case NGX_HTTP_PFS_S3_OP_GET_OBJECT:
        return ngx_http_pfs_s3_get_object(r);

    case NGX_HTTP_PFS_S3_OP_GET_OBJECT_TAGGING:
        return ngx_http_pfs_s3_get_object_tagging(r);

    case NGX_HTTP_PFS_S3_OP_PUT_OBJECT:
        return ngx_http_pfs_s3_put_object(r);

    case NGX_HTTP_PFS_S3_OP_DELETE_OBJECT:
        return ngx_http_pfs_s3_delete_object(r);

    case NGX_HTTP_PFS_S3_OP_COPY_OBJECT:
        return ngx_http_pfs_s3_copy_object(r);

    case NGX_HTTP_PFS_S3_OP_DELETE_OBJECTS:
        return ngx_http_pfs_s3_delete_objects(r);

    case NGX_HTTP_PFS_S3_OP_CREATE_MULTIPART_UPLOAD:
    case NGX_HTTP_PFS_S3_OP_UPLOAD_PART:
    case NGX_HTTP_PFS_S3_OP_UPLOAD_PART_COPY:
    case NGX_HTTP_PFS_S3_OP_COMPLETE_MULTIPART_UPLOAD:
    case NGX_HTTP_PFS_S3_OP_ABORT_MULTIPART_UPLOAD:
    case NGX_HTTP_PFS_S3_OP_LIST_PARTS:
    case NGX_HTTP_PFS_S3_OP_LIST_MULTIPART_UPLOADS:
        return ngx_http_pfs_s3_multipart(r);

    case NGX_HTTP_PFS_S3_OP_LIST_OBJECT_VERSIONS:
        return ngx_http_pfs_s3_list_object_versions(r);

    default:
        return ngx_http_pfs_s3_send_error(r,
                                           NGX_HTTP_PFS_S3_ERR_NOT_IMPLEMENTED,
                                           NULL);
    }
}


static ngx_int_t
ngx_http_pfs_s3_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_pfs_s3_add_variables(cf);
}


static ngx_int_t
ngx_http_pfs_s3_postconfiguration(ngx_conf_t *cf)
{
    if (ngx_http_pfs_s3_filter_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_pfs_s3_stream_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_pfs_s3_body_init(cf);
}


static void *
ngx_http_pfs_s3_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_pfs_s3_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_pfs_s3_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    mcf->request_id_index = NGX_ERROR;

    return mcf;
}


static char *
ngx_http_pfs_s3_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_pfs_s3_main_conf_t *mcf = conf;

    ngx_str_t  name = ngx_string("request_id");

    mcf->request_id_index = ngx_http_get_variable_index(cf, &name);
    if (mcf->request_id_index == NGX_ERROR) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_pfs_s3_init_patterns(cf, mcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_pfs_s3_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_pfs_s3_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_pfs_s3_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->base_domain = { 0, NULL };
     *     conf->region = { 0, NULL };
     *     conf->project = { 0, NULL };
     *     conf->branch = { 0, NULL };
     */

    conf->enable = NGX_CONF_UNSET;
    conf->piece_size = NGX_CONF_UNSET_SIZE;
    conf->max_message_size = NGX_CONF_UNSET_SIZE;
    conf->max_xml_size = NGX_CONF_UNSET_SIZE;
    conf->versions_depth = NGX_CONF_UNSET;
    conf->create_project = NGX_CONF_UNSET;
    conf->request_buffering = NGX_CONF_UNSET;
    conf->pfs_token = NGX_CONF_UNSET_PTR;
    conf->auth = NGX_CONF_UNSET_UINT;
    conf->credentials = NGX_CONF_UNSET_PTR;
    conf->auth_cache = NGX_CONF_UNSET_MSEC;

    return conf;
}


static char *
ngx_http_pfs_s3_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_pfs_s3_loc_conf_t *prev = parent;
    ngx_http_pfs_s3_loc_conf_t *conf = child;

    ngx_http_core_loc_conf_t  *clcf;

    /* like other content handlers, pfs_s3 is not inherited */

    if (conf->enable == NGX_CONF_UNSET) {
        conf->enable = 0;
    }

    if (conf->enable) {
        clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

        if (clcf->handler != ngx_http_pfs_s3_handler) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"pfs_s3\" conflicts with another content "
                               "handler (proxy_pass, grpc_pass, ...) in "
                               "location \"%V\"", &clcf->name);
            return NGX_CONF_ERROR;
        }
    }

    if (conf->base_domain.data == NULL) {
        conf->base_domain = prev->base_domain;
    }

    ngx_conf_merge_str_value(conf->region, prev->region, "us-east-1");
    ngx_conf_merge_str_value(conf->project, prev->project, "default");
    ngx_conf_merge_str_value(conf->branch, prev->branch, "master");

    ngx_conf_merge_size_value(conf->piece_size, prev->piece_size,
                              1024 * 1024);
    ngx_conf_merge_size_value(conf->max_message_size, prev->max_message_size,
                              4 * 1024 * 1024);
    ngx_conf_merge_size_value(conf->max_xml_size, prev->max_xml_size,
                              64 * 1024);
    ngx_conf_merge_value(conf->versions_depth, prev->versions_depth, 64);
    ngx_conf_merge_value(conf->create_project, prev->create_project, 0);
    ngx_conf_merge_value(conf->request_buffering, prev->request_buffering,
                         0);
    ngx_conf_merge_ptr_value(conf->pfs_token, prev->pfs_token, NULL);

    return ngx_http_pfs_s3_auth_merge(cf, prev, conf);
}


static char *
ngx_http_pfs_s3(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_pfs_s3_loc_conf_t *plcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (plcf->enable != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler != NULL) {
        return "conflicts with another content handler in this location";
    }

    clcf->handler = ngx_http_pfs_s3_handler;
    plcf->enable = 1;

    return NGX_CONF_OK;
}


static char *
ngx_http_pfs_s3_base_domain(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_pfs_s3_loc_conf_t *plcf = conf;

    u_char     *p, c;
    ngx_str_t  *value;

    if (plcf->base_domain.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    /* the host name clients use, compared with nginx's lowercased Host */

    if (value[1].len == 0 || value[1].data[0] == '.'
        || value[1].data[value[1].len - 1] == '.')
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" needs a host name such as "
                           "\"s3.example.com\", not \"%V\"",
                           &cmd->name, &value[1]);
        return NGX_CONF_ERROR;
    }

    for (p = value[1].data; p < value[1].data + value[1].len; p++) {
        c = *p;

        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
            || c == '-' || c == '.')
        {
            continue;
        }

        if (c >= 'A' && c <= 'Z') {
            *p = (u_char) (c | 0x20);
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" has an invalid host name \"%V\"",
                           &cmd->name, &value[1]);
        return NGX_CONF_ERROR;
    }

    plcf->base_domain = value[1];

    return NGX_CONF_OK;
}


/* project and branch names follow PFS's rule for names */

static char *
ngx_http_pfs_s3_check_name(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *name = data;

    u_char  *p, c;

    if (name->len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must not be empty",
                           &((ngx_str_t *) cf->args->elts)[0]);
        return NGX_CONF_ERROR;
    }

    for (p = name->data; p < name->data + name->len; p++) {
        c = *p;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '_' || c == '-')
        {
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" has an invalid PFS name \"%V\": only "
                           "letters, digits, \"_\" and \"-\" are allowed",
                           &((ngx_str_t *) cf->args->elts)[0], name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_pfs_s3_check_region(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *region = data;

    u_char  *p, c;

    for (p = region->data; p < region->data + region->len; p++) {
        c = *p;

        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
            continue;
        }

        break;
    }

    if (region->len == 0 || p != region->data + region->len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" has an invalid region \"%V\": use lowercase "
                           "letters, digits and \"-\", as in \"us-east-1\"",
                           &((ngx_str_t *) cf->args->elts)[0], region);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_pfs_s3_check_size(ngx_conf_t *cf, void *post, void *data)
{
    ngx_http_pfs_s3_size_bounds_t  *b = post;
    size_t                         *sp = data;

    if (*sp < b->low || *sp > b->high) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must be between %s and %s",
                           &((ngx_str_t *) cf->args->elts)[0],
                           b->low_text, b->high_text);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}
