/* The method table and the read / write / stream helpers. */
#include "rpc.h"

#include <stdlib.h>
#include <string.h>

#include "auth.pb-c.h"
#include "google/protobuf/empty.pb-c.h"
#include "pfs.pb-c.h"

#define PFS(m) "/pfs_v2.API/" m, "pfs_v2.API/" m

static const pfsd_method_t pfsd_methods[] = {
    { PFS("CreateProject"), PFSD_UNARY,
      &pfs_v2__create_project_request__descriptor, pfsd_rpc_create_project },
    { PFS("InspectProject"), PFSD_UNARY,
      &pfs_v2__inspect_project_request__descriptor, pfsd_rpc_inspect_project },
    { PFS("ListProject"), PFSD_SERVER_STREAM,
      &pfs_v2__list_project_request__descriptor, pfsd_rpc_list_project },
    { PFS("DeleteProject"), PFSD_UNARY,
      &pfs_v2__delete_project_request__descriptor, pfsd_rpc_delete_project },

    { PFS("CreateRepo"), PFSD_UNARY,
      &pfs_v2__create_repo_request__descriptor, pfsd_rpc_create_repo },
    { PFS("InspectRepo"), PFSD_UNARY,
      &pfs_v2__inspect_repo_request__descriptor, pfsd_rpc_inspect_repo },
    { PFS("ListRepo"), PFSD_SERVER_STREAM,
      &pfs_v2__list_repo_request__descriptor, pfsd_rpc_list_repo },
    { PFS("DeleteRepo"), PFSD_UNARY,
      &pfs_v2__delete_repo_request__descriptor, pfsd_rpc_delete_repo },

    { PFS("CreateBranch"), PFSD_UNARY,
      &pfs_v2__create_branch_request__descriptor, pfsd_rpc_create_branch },
    { PFS("InspectBranch"), PFSD_UNARY,
      &pfs_v2__inspect_branch_request__descriptor, pfsd_rpc_inspect_branch },
    { PFS("ListBranch"), PFSD_SERVER_STREAM,
      &pfs_v2__list_branch_request__descriptor, pfsd_rpc_list_branch },
    { PFS("DeleteBranch"), PFSD_UNARY,
      &pfs_v2__delete_branch_request__descriptor, pfsd_rpc_delete_branch },

    { PFS("StartCommit"), PFSD_UNARY,
      &pfs_v2__start_commit_request__descriptor, pfsd_rpc_start_commit },
    { PFS("FinishCommit"), PFSD_UNARY,
      &pfs_v2__finish_commit_request__descriptor, pfsd_rpc_finish_commit },
    { PFS("InspectCommit"), PFSD_UNARY,
      &pfs_v2__inspect_commit_request__descriptor, pfsd_rpc_inspect_commit },
    { PFS("ListCommit"), PFSD_SERVER_STREAM,
      &pfs_v2__list_commit_request__descriptor, pfsd_rpc_list_commit },

    { PFS("ModifyFile"), PFSD_CLIENT_STREAM, NULL, pfsd_rpc_modify_file },
    { PFS("GetFile"), PFSD_SERVER_STREAM,
      &pfs_v2__get_file_request__descriptor, pfsd_rpc_get_file },
    { PFS("InspectFile"), PFSD_UNARY,
      &pfs_v2__inspect_file_request__descriptor, pfsd_rpc_inspect_file },
    { PFS("ListFile"), PFSD_SERVER_STREAM,
      &pfs_v2__list_file_request__descriptor, pfsd_rpc_list_file },
    { PFS("WalkFile"), PFSD_SERVER_STREAM,
      &pfs_v2__walk_file_request__descriptor, pfsd_rpc_walk_file },
    { PFS("GlobFile"), PFSD_SERVER_STREAM,
      &pfs_v2__glob_file_request__descriptor, pfsd_rpc_glob_file },

    { "/auth_v2.API/WhoAmI", "auth_v2.API/WhoAmI", PFSD_UNARY,
      &auth_v2__who_am_irequest__descriptor, pfsd_rpc_who_am_i },
    { "/versionpb_v2.API/GetVersion", "versionpb_v2.API/GetVersion",
      PFSD_UNARY, &google__protobuf__empty__descriptor, pfsd_rpc_get_version },
};

const pfsd_method_t *
pfsd_rpc_find(grpc_slice path)
{
    size_t i;

    for (i = 0; i < PFSD_ARRAY_LEN(pfsd_methods); i++) {
        if (grpc_slice_str_cmp(path, pfsd_methods[i].path) == 0) {
            return &pfsd_methods[i];
        }
    }
    return NULL;
}

/* ------------------------------------------------------------ reads */

void
pfsd_rpc_read(pfsd_call_t *c, pfsd_worker_t *w, pfsd_read_fn fn)
{
    pfsd_arena_t a = { NULL };
    ProtobufCMessage *resp = NULL;
    pfsd_status_t st;

    if (pfsd_db_begin(w->db, &st) && fn(w->db, &a, c->req, &resp, &st)
        && pfsd_db_commit(w->db, &st))
    {
        pfsd_call_reply(c, resp);
    } else {
        pfsd_db_rollback(w->db);
        pfsd_call_finish(c, &st);
    }
    pfsd_arena_free(&a);
}

/* ------------------------------------------------------------ writes */

static bool
pfsd_write_apply(pfsd_job_t *job, pfsd_db_t *db, pfsd_status_t *st)
{
    pfsd_write_t *wr = (pfsd_write_t *) job;

    return wr->fn(wr, db, st);
}

static void
pfsd_write_done(pfsd_job_t *job, const pfsd_status_t *st)
{
    pfsd_write_t *wr = (pfsd_write_t *) job;

    if (pfsd_is_ok(st)) {
        pfsd_call_reply(wr->call, wr->resp);
    } else {
        pfsd_call_finish(wr->call, st);
    }
    pfsd_arena_free(&wr->arena);
    free(wr);
}

void
pfsd_rpc_write(pfsd_call_t *c, pfsd_worker_t *w, pfsd_write_fn fn)
{
    pfsd_write_t *wr = pfsd_xcalloc(1, sizeof(*wr));

    wr->job.apply = pfsd_write_apply;
    wr->job.done = pfsd_write_done;
    wr->call = c;
    wr->req = c->req;
    wr->fn = fn;
    pfsd_committer_submit(w->committer, &wr->job);
}

/* ------------------------------------------------------------ streams */

struct pfsd_stream {
    pfsd_fetch_fn fetch;
    void *ctx;
    void (*ctx_free)(void *);
    grpc_slice *items;
    size_t n, next, cap;
    bool done;
};

static void
pfsd_stream_free(void *p)
{
    pfsd_stream_t *s = p;
    size_t i;

    for (i = s->next; i < s->n; i++) {
        grpc_slice_unref(s->items[i]);
    }
    if (s->ctx_free != NULL) {
        s->ctx_free(s->ctx);
    }
    free(s->items);
    free(s);
}

void
pfsd_stream_push(pfsd_stream_t *s, const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    grpc_slice sl = grpc_slice_malloc(len);

    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(sl));
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->items = pfsd_xrealloc(s->items, s->cap * sizeof(*s->items));
    }
    s->items[s->n++] = sl;
}

size_t
pfsd_stream_pending(const pfsd_stream_t *s)
{
    return s->n - s->next;
}

static void
pfsd_stream_next(pfsd_call_t *c, pfsd_worker_t *w)
{
    pfsd_stream_t *s = c->state;
    pfsd_status_t st;
    bool ok;

    while (s->next == s->n) {
        s->n = s->next = 0;
        if (s->done) {
            pfsd_status_ok(&st);
            pfsd_call_finish(c, &st);
            return;
        }
        ok = pfsd_db_begin(w->db, &st)
             && s->fetch(s, w->db, s->ctx, &s->done, &st)
             && pfsd_db_commit(w->db, &st);
        if (!ok) {
            pfsd_db_rollback(w->db);
            pfsd_call_finish(c, &st);
            return;
        }
    }
    if (s->done && s->next + 1 == s->n) {
        pfsd_call_send_last_slice(c, s->items[s->next++]);
        return;
    }
    pfsd_call_send_slice(c, s->items[s->next++], pfsd_stream_next);
}

void
pfsd_stream_start(pfsd_call_t *c, pfsd_worker_t *w, pfsd_fetch_fn fetch,
                  void *ctx, void (*ctx_free)(void *))
{
    pfsd_stream_t *s = pfsd_xcalloc(1, sizeof(*s));

    s->fetch = fetch;
    s->ctx = ctx;
    s->ctx_free = ctx_free;
    c->state = s;
    c->state_free = pfsd_stream_free;
    pfsd_stream_next(c, w);
}
