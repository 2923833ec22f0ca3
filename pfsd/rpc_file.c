/* ModifyFile, GetFile, InspectFile, ListFile, WalkFile, GlobFile. */
#include <grpc/slice.h>
#include <stdlib.h>
#include <string.h>

#include "bufpool.h"
#include "catalog.h"
#include "content.h"
#include "glob.h"
#include "modify.h"
#include "names.h"
#include "rpc.h"
#include "store.h"
#include "view.h"

/* Files and directories sent per read transaction of a listing. */
#define PFSD_LIST_PAGE 128
#define PFSD_MAX_NUMBER 100000

/* ------------------------------------------------------------ ModifyFile */

static void pfsd_modify_recv(pfsd_call_t *c, pfsd_worker_t *w,
                             grpc_byte_buffer *buf);

static void
pfsd_modify_reply(void *ctx, const pfsd_status_t *st)
{
    pfsd_call_t *c = ctx;

    if (pfsd_is_ok(st)) {
        pfsd_call_reply(c, NULL);
    } else {
        pfsd_call_finish(c, st);
    }
}

static void
pfsd_modify_recv(pfsd_call_t *c, pfsd_worker_t *w, grpc_byte_buffer *buf)
{
    pfsd_modify_t *m = c->state;
    pfsd_bufpool_alloc_t alloc;
    ProtobufCMessage *req;
    pfsd_status_t st;
    bool ok;

    if (buf == NULL) {
        /* The client half-closed: everything is in. */
        if (!pfsd_modify_submit(m, w->db, w->committer, pfsd_modify_reply, c,
                                &st))
        {
            pfsd_call_finish(c, &st);
        }
        return;
    }
    /* The bytes of add_file pieces go through pooled buffers, not a fresh
     * mapping per message (see bufpool.h). */
    pfsd_bufpool_alloc_init(&alloc, w->msgbufs);
    req = pfsd_call_unpack(c, buf, &pfs_v2__modify_file_request__descriptor,
                           &alloc.base, &st);
    grpc_byte_buffer_destroy(buf);
    ok = req != NULL
         && pfsd_modify_add(m, w->db, (PfsV2__ModifyFileRequest *) req, &st);
    if (req != NULL) {
        protobuf_c_message_free_unpacked(req, &alloc.base);
    }
    if (!ok) {
        pfsd_call_finish(c, &st);
        return;
    }
    pfsd_call_recv(c, pfsd_modify_recv);
}

static void
pfsd_modify_state_free(void *p)
{
    pfsd_modify_free(p);
}

void
pfsd_rpc_modify_file(pfsd_call_t *c, pfsd_worker_t *w,
                     const ProtobufCMessage *m)
{
    (void) m;
    c->state = pfsd_modify_new(w->store, w->log);
    c->state_free = pfsd_modify_state_free;
    pfsd_call_recv(c, pfsd_modify_recv);
}

/* ------------------------------------------------------------ shared */

/* A request's file: its commit resolved, the view opened, and what every
 * FileInfo of the answer repeats. */
typedef struct pfsd_fctx {
    pfsd_arena_t *arena;            /* not owned: outlives the replies */
    pfsd_commit_t commit;
    pfsd_view_t view;
    PfsV2__Commit *commit_pb;
    Google__Protobuf__Timestamp *committed;
    char *path;                     /* cleaned request path, malloc'd */
} pfsd_fctx_t;

static bool
pfsd_fctx_open(pfsd_db_t *db, pfsd_fctx_t *f, pfsd_arena_t *a,
               const PfsV2__Commit *commit, const char *path, const char *what,
               pfsd_status_t *st)
{
    f->arena = a;
    if (commit == NULL) {
        return pfsd_fail(st, GRPC_STATUS_INVALID_ARGUMENT, "validate request: "
                         "invalid %s: value is required", what);
    }
    if (!pfsd_cat_resolve(db, a, commit, &f->commit, st)
        || !pfsd_view_open(db, &f->commit, &f->view, st))
    {
        return false;
    }
    f->commit_pb = pfsd_pb_commit(a, &f->commit);
    /* pachd's FileInfo.committed is the commit's finishing time. */
    f->committed = pfsd_pb_time(a, f->commit.finishing);
    f->path = pfsd_path_clean(path);
    return true;
}

static void
pfsd_fctx_free(pfsd_fctx_t *f)
{
    free(f->path);
    f->path = NULL;
}

/* The FileInfo of an entry in fi and file, pointing into f and e: valid
 * while they are. */
static void
pfsd_file_info_fill(PfsV2__FileInfo *fi, PfsV2__File *file,
                    const pfsd_fctx_t *f, const pfsd_entry_t *e)
{
    pfs_v2__file__init(file);
    file->commit = f->commit_pb;
    file->path = e->path;
    file->datum = "default";
    pfs_v2__file_info__init(fi);
    fi->file = file;
    fi->file_type = e->dir ? PFS_V2__FILE_TYPE__DIR : PFS_V2__FILE_TYPE__FILE;
    fi->committed = f->committed;
    fi->size_bytes = e->size;
    fi->hash.len = e->hash_len;
    fi->hash.data = (uint8_t *) e->hash;
}

/* The same with copies of the entry's bytes in the arena, for a reply. */
static PfsV2__FileInfo *
pfsd_file_info(pfsd_arena_t *a, const pfsd_fctx_t *f, const pfsd_entry_t *e)
{
    PfsV2__FileInfo *fi = pfsd_arena_alloc(a, sizeof(*fi));
    PfsV2__File *file = pfsd_arena_alloc(a, sizeof(*file));

    pfsd_file_info_fill(fi, file, f, e);
    file->path = pfsd_arena_strdup(a, e->path);
    fi->hash.data = pfsd_arena_alloc(a, e->hash_len + 1);
    memcpy(fi->hash.data, e->hash, e->hash_len);
    return fi;
}

static bool
pfsd_file_not_found(pfsd_arena_t *a, const PfsV2__File *file,
                    pfsd_status_t *st)
{
    const PfsV2__Commit *c = file->commit;
    const PfsV2__Repo *r = c->repo != NULL ? c->repo
                           : c->branch != NULL ? c->branch->repo : NULL;

    return pfsd_fail(st, GRPC_STATUS_NOT_FOUND,
                     "file %s not found in repo %s at commit %s", file->path,
                     r != NULL ? pfsd_repo_pb_str(a, r) : "", c->id);
}

/* The directory path for a clean path: "/" stays, "/a" becomes "/a/". */
static char *
pfsd_dir_of(const char *path)
{
    size_t n = strlen(path);
    char *d = pfsd_xmalloc(n + 2);

    memcpy(d, path, n + 1);
    if (n > 1) {
        d[n] = '/';
        d[n + 1] = '\0';
    }
    return d;
}

/* A file at path, or the directory there: 1, 0 when neither, -1. */
static int
pfsd_lookup(pfsd_db_t *db, const pfsd_fctx_t *f, const char *path,
            pfsd_entry_t *e, pfsd_status_t *st)
{
    char *dir;
    int rc = 0;

    if (strcmp(path, "/") != 0) {
        rc = pfsd_view_file(db, &f->view, path, e, st);
    }
    if (rc == 0) {
        dir = pfsd_dir_of(path);
        rc = pfsd_view_dir(db, &f->view, dir, e, st);
        free(dir);
    }
    return rc;
}

/* ------------------------------------------------------------ InspectFile */

static bool
pfsd_inspect_file_read(pfsd_db_t *db, pfsd_arena_t *a,
                       const ProtobufCMessage *m, ProtobufCMessage **resp,
                       pfsd_status_t *st)
{
    const PfsV2__InspectFileRequest *req = (const void *) m;
    pfsd_fctx_t f;
    pfsd_entry_t e;
    bool ok;
    int rc;

    memset(&f, 0, sizeof(f));
    memset(&e, 0, sizeof(e));
    if (req->file == NULL) {
        return pfsd_fail(st, GRPC_STATUS_INVALID_ARGUMENT, "validate request: "
                         "invalid InspectFileRequest.File: value is required");
    }
    ok = pfsd_fctx_open(db, &f, a, req->file->commit, req->file->path,
                        "File.Commit", st);
    if (ok) {
        rc = pfsd_lookup(db, &f, f.path, &e, st);
        ok = rc == 1 || (rc == 0 && pfsd_file_not_found(a, req->file, st));
        if (rc == 1) {
            *resp = &pfsd_file_info(a, &f, &e)->base;
        }
    }
    pfsd_entry_clear(&e);
    pfsd_fctx_free(&f);
    return ok;
}

void
pfsd_rpc_inspect_file(pfsd_call_t *c, pfsd_worker_t *w,
                      const ProtobufCMessage *m)
{
    (void) m;
    pfsd_rpc_read(c, w, pfsd_inspect_file_read);
}

/* ------------------------------------------------------------ GetFile */

typedef struct pfsd_get {
    pfsd_store_t *store;
    int64_t content, size, offset;
} pfsd_get_t;

/* One BytesValue of up to a piece, read straight into the message:
 * field 1 (tag 0x0a), a varint length, the bytes. */
static bool
pfsd_get_piece(pfsd_get_t *g, pfsd_worker_t *w, grpc_slice *out,
               pfsd_status_t *st)
{
    pfsd_db_t *db = w->db;
    pfsd_span_t spans[8];
    int64_t want = g->size - g->offset, done = 0;
    uint8_t hdr[11], *p;
    size_t hl = 0;
    uint64_t v;
    int n, i, tries;

    pfsd_status_ok(st);
    if (want > PFSD_GET_PIECE) {
        want = PFSD_GET_PIECE;
    }
    hdr[hl++] = 0x0a;
    for (v = (uint64_t) want; v >= 0x80; v >>= 7) {
        hdr[hl++] = (uint8_t) (v | 0x80);
    }
    hdr[hl++] = (uint8_t) v;
    /* Small messages from malloc's heap: a pooled buffer would waste
     * the rest of its MiB. */
    *out = hl + (size_t) want >= PFSD_BUFPOOL_MIN
           ? pfsd_bufpool_slice(w->msgbufs, hl + (size_t) want)
           : grpc_slice_malloc(hl + (size_t) want);
    p = GRPC_SLICE_START_PTR(*out);
    memcpy(p, hdr, hl);
    p += hl;
    for (tries = 0; done < want;) {
        pfsd_status_t tx;

        if (!pfsd_db_begin(db, st)) {
            break;
        }
        n = pfsd_content_spans(db, g->content, g->offset + done, want - done,
                               spans, 8, st);
        if (n < 0 || !pfsd_db_commit(db, &tx)) {
            pfsd_db_rollback(db);
            n = n < 0 ? n : -1;
            if (pfsd_is_ok(st)) {
                *st = tx;
            }
        }
        if (n <= 0) {
            if (n == 0) {
                pfsd_fail(st, GRPC_STATUS_DATA_LOSS, "content %lld is missing "
                          "bytes at %lld", (long long) g->content,
                          (long long) (g->offset + done));
            }
            break;
        }
        for (i = 0; i < n; i++) {
            if (!pfsd_store_read(g->store, spans[i].pack, spans[i].rec_off,
                                 spans[i].at, p + done, spans[i].len, st))
            {
                break;
            }
            done += spans[i].len;
        }
        if (i < n) {
            /* Compaction moved the chunk since we looked: look again. */
            if (st->code != GRPC_STATUS_NOT_FOUND || ++tries > 3) {
                break;
            }
        }
    }
    if (done < want) {
        grpc_slice_unref(*out);
        return false;
    }
    g->offset += want;
    return true;
}

static void
pfsd_get_next(pfsd_call_t *c, pfsd_worker_t *w)
{
    pfsd_get_t *g = c->state;
    pfsd_status_t st;
    grpc_slice piece;

    if (g->offset >= g->size) {
        pfsd_status_ok(&st);
        pfsd_call_finish(c, &st);
        return;
    }
    if (!pfsd_get_piece(g, w, &piece, &st)) {
        pfsd_db_rollback(w->db);
        pfsd_call_finish(c, &st);
        return;
    }
    if (g->offset >= g->size) {
        pfsd_call_send_last_slice(c, piece);
        return;
    }
    pfsd_call_send_slice(c, piece, pfsd_get_next);
}

/* GetFile's path is a glob in pachd: it must match exactly one file. */
static int
pfsd_get_glob(pfsd_db_t *db, pfsd_fctx_t *f, pfsd_entry_t *e,
              pfsd_status_t *st)
{
    const char *err;
    pfsd_glob_t *g = pfsd_glob_compile(f->path, &err);
    char *prefix, *upper;
    pfsd_cursor_t *cur;
    pfsd_entry_t x;
    int rc, found = 0;

    if (g == NULL) {
        pfsd_fail(st, GRPC_STATUS_UNKNOWN, "%s", err);
        return -1;
    }
    memset(&x, 0, sizeof(x));
    prefix = pfsd_glob_literal_prefix(g);
    upper = prefix[0] ? pfsd_path_successor(prefix) : NULL;
    cur = pfsd_cursor_new(&f->view, prefix, upper);
    while ((rc = pfsd_cursor_next(cur, db, &x, st)) == 1) {
        size_t n = strlen(x.path);
        bool match;

        if (x.dir) {
            x.path[n - 1] = '\0';
            match = n > 1 && pfsd_glob_match(g, x.path);
            x.path[n - 1] = '/';
            if (!match && !pfsd_glob_may_match_longer(g, x.path)) {
                pfsd_cursor_skip(cur, x.path);
            }
        } else {
            match = pfsd_glob_match(g, x.path);
        }
        if (match && ++found == 1) {
            free(e->path);
            *e = x;
            x.path = NULL;
        }
        if (found > 1) {
            break;
        }
    }
    pfsd_entry_clear(&x);
    pfsd_cursor_free(cur);
    free(prefix);
    free(upper);
    pfsd_glob_free(g);
    return rc < 0 ? -1 : found;
}

static bool
pfsd_get_open(pfsd_db_t *db, const PfsV2__GetFileRequest *req,
              pfsd_get_t *g, pfsd_status_t *st)
{
    pfsd_arena_t a = { NULL };
    pfsd_fctx_t f;
    pfsd_entry_t e;
    int rc;
    bool ok;

    memset(&f, 0, sizeof(f));
    memset(&e, 0, sizeof(e));
    if (req->file == NULL) {
        return pfsd_fail(st, GRPC_STATUS_INVALID_ARGUMENT, "validate request: "
                         "invalid GetFileRequest.File: value is required");
    }
    ok = pfsd_fctx_open(db, &f, &a, req->file->commit, req->file->path,
                        "File.Commit", st);
    if (ok) {
        rc = pfsd_glob_has_magic(f.path) ? pfsd_get_glob(db, &f, &e, st)
                                         : pfsd_lookup(db, &f, f.path, &e, st);
        if (rc < 0) {
            ok = false;
        } else if (rc == 0) {
            ok = pfsd_file_not_found(&a, req->file, st);
        } else if (rc > 1) {
            ok = pfsd_fail(st, GRPC_STATUS_UNKNOWN,
                           "matched multiple files. Use GetFileTAR instead");
        } else if (e.dir) {
            ok = pfsd_fail(st, GRPC_STATUS_UNKNOWN, "cannot get directory or "
                           "non-regular file. Use GetFileTAR instead");
        } else {
            g->content = e.content;
            g->size = e.size;
            g->offset = req->offset > 0 ? req->offset : 0;
        }
    }
    pfsd_entry_clear(&e);
    pfsd_fctx_free(&f);
    pfsd_arena_free(&a);
    return ok;
}

void
pfsd_rpc_get_file(pfsd_call_t *c, pfsd_worker_t *w, const ProtobufCMessage *m)
{
    pfsd_get_t *g = pfsd_xcalloc(1, sizeof(*g));
    pfsd_status_t st;
    bool ok;

    g->store = w->store;
    c->state = g;
    c->state_free = free;
    ok = pfsd_db_begin(w->db, &st)
         && pfsd_get_open(w->db, (const PfsV2__GetFileRequest *) m, g, &st)
         && pfsd_db_commit(w->db, &st);
    if (!ok) {
        pfsd_db_rollback(w->db);
        pfsd_call_finish(c, &st);
        return;
    }
    pfsd_get_next(c, w);
}

/* ------------------------------------------------------------ listings */

typedef enum pfsd_list_kind {
    PFSD_LIST_FILE,         /* direct children of a directory */
    PFSD_WALK_FILE,         /* a directory and everything below it */
    PFSD_GLOB_FILE,         /* whatever matches a pattern */
} pfsd_list_kind_t;

typedef enum pfsd_verdict {
    PFSD_SKIP = 0,
    PFSD_EMIT = 1,
    PFSD_PRUNE = 2,         /* flag: skip the directory's subtree too */
} pfsd_verdict_t;

typedef struct pfsd_listing {
    pfsd_list_kind_t kind;
    const ProtobufCMessage *req;
    pfsd_arena_t arena;
    pfsd_fctx_t f;
    bool started, done;
    pfsd_cursor_t *cur;
    char *dir;              /* LIST/WALK: the directory ("/" or "/a/") */
    char *marker;           /* cleaned paginationMarker, or NULL */
    bool single;            /* the path names a file: just that */
    bool root_only;         /* glob "/": the root directory alone */
    pfsd_glob_t *glob;
    int64_t number, sent;
    bool reverse;
    /* reverse: the last `number` entries, oldest first in a ring */
    pfsd_entry_t *ring;
    size_t ring_len, ring_start, ring_count;
    bool ring_full_scan;
} pfsd_listing_t;

static void
pfsd_listing_free(void *p)
{
    pfsd_listing_t *l = p;
    size_t i;

    pfsd_cursor_free(l->cur);
    pfsd_glob_free(l->glob);
    pfsd_fctx_free(&l->f);
    pfsd_arena_free(&l->arena);
    for (i = 0; i < l->ring_len; i++) {
        pfsd_entry_clear(&l->ring[i]);
    }
    free(l->ring);
    free(l->dir);
    free(l->marker);
    free(l);
}

/* pachd's pagination rules for List and Walk. */
static bool
pfsd_listing_pagination(pfsd_listing_t *l, const PfsV2__File *marker,
                        int64_t number, bool reverse, pfsd_status_t *st)
{
    if (number > PFSD_MAX_NUMBER) {
        return pfsd_fail(st, GRPC_STATUS_UNKNOWN,
                         "cannot return more than %d files at a time",
                         PFSD_MAX_NUMBER);
    }
    if (reverse && number <= 0) {
        return pfsd_fail(st, GRPC_STATUS_UNKNOWN,
                         "number must be > 0 when reverse is true");
    }
    l->number = number > 0 ? number : 0;
    l->reverse = reverse;
    if (marker != NULL && marker->path[0] != '\0') {
        l->marker = pfsd_path_clean(marker->path);
    }
    return true;
}

/* The cursor's range: [lower, upper) narrowed by the marker (exclusive in
 * both directions: equal entries are dropped by pfsd_listing_verdict). */
static void
pfsd_listing_cursor(pfsd_listing_t *l, const char *lower, const char *upper,
                    const char *raw_marker)
{
    if (raw_marker != NULL && raw_marker[0] != '\0') {
        if (!l->reverse && strcmp(raw_marker, lower) > 0) {
            lower = raw_marker;
        }
        if (l->reverse && (upper == NULL || strcmp(raw_marker, upper) < 0)) {
            upper = raw_marker;
        }
    }
    l->cur = pfsd_cursor_new(&l->f.view, lower, upper);
}

static bool
pfsd_listing_init_dir(pfsd_listing_t *l, pfsd_db_t *db, const PfsV2__File *file,
                      const PfsV2__File *marker, pfsd_status_t *st)
{
    pfsd_entry_t e;
    char *upper;
    int rc;

    memset(&e, 0, sizeof(e));
    if (file == NULL) {
        return pfsd_fail(st, GRPC_STATUS_INVALID_ARGUMENT, "validate request: "
                         "invalid File: value is required");
    }
    if (!pfsd_fctx_open(db, &l->f, &l->arena, file->commit, file->path,
                        "File.Commit", st))
    {
        return false;
    }
    if (strcmp(l->f.path, "/") != 0) {
        rc = pfsd_view_file(db, &l->f.view, l->f.path, &e, st);
        pfsd_entry_clear(&e);
        if (rc < 0) {
            return false;
        }
        if (rc == 1) {
            l->single = true;
            return true;
        }
    }
    l->dir = pfsd_dir_of(l->f.path);
    if (l->kind == PFSD_WALK_FILE) {
        rc = pfsd_view_dir(db, &l->f.view, l->dir, &e, st);
        pfsd_entry_clear(&e);
        if (rc < 0) {
            return false;
        }
        if (rc == 0 && strcmp(l->dir, "/") != 0) {
            return pfsd_fail(st, GRPC_STATUS_NOT_FOUND,
                             "commit/%s does not contain item: (%s)",
                             l->f.commit.uuid, l->f.path);
        }
    }
    upper = strcmp(l->dir, "/") == 0 ? NULL : pfsd_path_successor(l->dir);
    pfsd_listing_cursor(l, l->dir, upper,
                        marker != NULL ? marker->path : NULL);
    free(upper);
    return true;
}

static bool
pfsd_listing_init_glob(pfsd_listing_t *l, pfsd_db_t *db,
                       const PfsV2__GlobFileRequest *req, pfsd_status_t *st)
{
    const char *err, *lower, *upper;
    char *prefix, *succ;

    if (!pfsd_fctx_open(db, &l->f, &l->arena, req->commit, req->pattern,
                        "GlobFileRequest.Commit", st))
    {
        return false;
    }
    if (strcmp(l->f.path, "/") == 0) {
        /* "/" names the root directory itself, nothing else. */
        l->root_only = true;
        return true;
    }
    l->glob = pfsd_glob_compile(l->f.path, &err);
    if (l->glob == NULL) {
        return pfsd_fail(st, GRPC_STATUS_UNKNOWN, "%s", err);
    }
    prefix = pfsd_glob_literal_prefix(l->glob);
    succ = prefix[0] != '\0' ? pfsd_path_successor(prefix) : NULL;
    lower = prefix;
    upper = succ;
    if (req->path_range != NULL) {
        if (strcmp(req->path_range->lower, lower) > 0) {
            lower = req->path_range->lower;
        }
        if (req->path_range->upper[0] != '\0'
            && (upper == NULL || strcmp(req->path_range->upper, upper) < 0))
        {
            upper = req->path_range->upper;
        }
    }
    l->cur = pfsd_cursor_new(&l->f.view, lower, upper);
    free(prefix);
    free(succ);
    return true;
}

static bool
pfsd_listing_init(pfsd_listing_t *l, pfsd_db_t *db, pfsd_status_t *st)
{
    const PfsV2__ListFileRequest *lr;
    const PfsV2__WalkFileRequest *wr;

    l->started = true;
    switch (l->kind) {
    case PFSD_LIST_FILE:
        lr = (const void *) l->req;
        return pfsd_listing_pagination(l, lr->paginationmarker, lr->number,
                                       lr->reverse, st)
               && pfsd_listing_init_dir(l, db, lr->file, lr->paginationmarker,
                                        st);
    case PFSD_WALK_FILE:
        wr = (const void *) l->req;
        return pfsd_listing_pagination(l, wr->paginationmarker, wr->number,
                                       wr->reverse, st)
               && pfsd_listing_init_dir(l, db, wr->file, wr->paginationmarker,
                                        st);
    case PFSD_GLOB_FILE:
        return pfsd_listing_init_glob(l, db, (const void *) l->req, st);
    }
    return false;
}

/* Whether an entry the cursor yields belongs in the answer. */
static int
pfsd_listing_verdict(pfsd_listing_t *l, const pfsd_entry_t *e)
{
    size_t n = strlen(e->path), dn;
    const char *rel;
    bool match;

    if (l->marker != NULL) {
        /* The marker is exclusive; "/d" and "/d/" are the same marker. */
        size_t mn = strlen(l->marker);

        if ((n == mn && memcmp(e->path, l->marker, n) == 0)
            || (e->dir && n == mn + 1 && memcmp(e->path, l->marker, mn) == 0)
            || (e->dir && n == 1 && strcmp(l->marker, "/") == 0))
        {
            return PFSD_SKIP;
        }
    }
    switch (l->kind) {
    case PFSD_LIST_FILE:
        dn = strlen(l->dir);
        if (n <= dn) {
            return PFSD_SKIP;           /* the directory itself */
        }
        rel = e->path + dn;
        if (e->dir) {
            return strchr(rel, '/') == rel + strlen(rel) - 1
                   ? PFSD_EMIT | PFSD_PRUNE : PFSD_PRUNE;
        }
        return strchr(rel, '/') == NULL ? PFSD_EMIT : PFSD_SKIP;
    case PFSD_WALK_FILE:
        return PFSD_EMIT;
    case PFSD_GLOB_FILE:
        if (l->glob == NULL) {
            return strcmp(e->path, "/") == 0 ? PFSD_EMIT : PFSD_SKIP;
        }
        if (n == 1) {
            return PFSD_SKIP;           /* the root matches only "/" */
        }
        if (!e->dir) {
            return pfsd_glob_match(l->glob, e->path) ? PFSD_EMIT : PFSD_SKIP;
        }
        /* A directory is matched without its trailing "/". */
        ((char *) e->path)[n - 1] = '\0';
        match = pfsd_glob_match(l->glob, e->path);
        ((char *) e->path)[n - 1] = '/';
        return (match ? PFSD_EMIT : PFSD_SKIP)
               | (pfsd_glob_may_match_longer(l->glob, e->path) ? 0
                                                               : PFSD_PRUNE);
    }
    return PFSD_SKIP;
}

/* Adds a directory's totals (they cost a pass over its subtree, so only
 * for directories that are sent). */
static bool
pfsd_listing_stats(pfsd_listing_t *l, pfsd_db_t *db, pfsd_entry_t *e,
                   pfsd_status_t *st)
{
    return !e->dir || pfsd_view_dir(db, &l->f.view, e->path, e, st) >= 0;
}

static bool
pfsd_listing_push(pfsd_listing_t *l, pfsd_stream_t *out, pfsd_db_t *db,
                  pfsd_entry_t *e, pfsd_status_t *st)
{
    PfsV2__FileInfo fi;
    PfsV2__File file;

    if (!pfsd_listing_stats(l, db, e, st)) {
        return false;
    }
    /* Packed right away: no copies of the entry needed (nor an arena
     * block allocated and freed per entry). */
    pfsd_file_info_fill(&fi, &file, &l->f, e);
    pfsd_stream_push(out, &fi.base);
    l->sent++;
    return true;
}

/* The next entry that belongs in the answer: 1, 0 at the end, -1. */
static int
pfsd_listing_next(pfsd_listing_t *l, pfsd_db_t *db, pfsd_entry_t *e,
                  pfsd_status_t *st)
{
    int rc, v;

    if (l->single) {
        /* The request named a file: that file, once, marker permitting. */
        l->single = false;
        l->done = true;
        rc = pfsd_view_file(db, &l->f.view, l->f.path, e, st);
        if (rc == 1 && l->marker != NULL && strcmp(l->marker, e->path) == 0) {
            rc = 0;
        }
        return rc;
    }
    if (l->root_only) {
        l->root_only = false;
        l->done = true;
        return pfsd_view_dir(db, &l->f.view, "/", e, st);
    }
    if (l->cur == NULL) {
        return 0;
    }
    while ((rc = pfsd_cursor_next(l->cur, db, e, st)) == 1) {
        v = pfsd_listing_verdict(l, e);
        if (v & PFSD_PRUNE) {
            pfsd_cursor_skip(l->cur, e->path);
        }
        if (v & PFSD_EMIT) {
            return 1;
        }
    }
    return rc;
}

static bool
pfsd_listing_forward(pfsd_listing_t *l, pfsd_stream_t *out, pfsd_db_t *db,
                     bool *done, pfsd_status_t *st)
{
    pfsd_entry_t e;
    int rc = 1, n;

    memset(&e, 0, sizeof(e));
    for (n = 0; n < PFSD_LIST_PAGE; n++) {
        if (l->done || (l->number > 0 && l->sent >= l->number)) {
            rc = 0;
            break;
        }
        rc = pfsd_listing_next(l, db, &e, st);
        if (rc <= 0 || !pfsd_listing_push(l, out, db, &e, st)) {
            rc = rc <= 0 ? rc : -1;
            break;
        }
    }
    pfsd_entry_clear(&e);
    *done = rc == 0;
    return rc >= 0;
}

/* reverse: keep the last `number` entries of the whole range, then send
 * them newest first (as pachd does, with a ring of `number` entries). */
static bool
pfsd_listing_reverse(pfsd_listing_t *l, pfsd_stream_t *out, pfsd_db_t *db,
                     bool *done, pfsd_status_t *st)
{
    pfsd_entry_t e, *slot;
    int rc, n;

    memset(&e, 0, sizeof(e));
    if (!l->ring_full_scan) {
        l->ring_len = (size_t) l->number;
        l->ring = pfsd_xcalloc(l->ring_len, sizeof(*l->ring));
        while ((rc = pfsd_listing_next(l, db, &e, st)) == 1) {
            slot = &l->ring[(l->ring_start + l->ring_count) % l->ring_len];
            if (l->ring_count == l->ring_len) {
                l->ring_start = (l->ring_start + 1) % l->ring_len;
            } else {
                l->ring_count++;
            }
            pfsd_entry_clear(slot);
            *slot = e;
            memset(&e, 0, sizeof(e));
        }
        pfsd_entry_clear(&e);
        if (rc < 0) {
            return false;
        }
        l->ring_full_scan = true;
    }
    for (n = 0; n < PFSD_LIST_PAGE && l->ring_count > 0; n++) {
        slot = &l->ring[(l->ring_start + l->ring_count - 1) % l->ring_len];
        l->ring_count--;
        if (!pfsd_listing_push(l, out, db, slot, st)) {
            return false;
        }
    }
    *done = l->ring_count == 0;
    return true;
}

static bool
pfsd_listing_fetch(pfsd_stream_t *out, pfsd_db_t *db, void *ctx, bool *done,
                   pfsd_status_t *st)
{
    pfsd_listing_t *l = ctx;

    if (!l->started && !pfsd_listing_init(l, db, st)) {
        return false;
    }
    if (l->reverse) {
        return pfsd_listing_reverse(l, out, db, done, st);
    }
    return pfsd_listing_forward(l, out, db, done, st);
}

static void
pfsd_listing_start(pfsd_call_t *c, pfsd_worker_t *w, pfsd_list_kind_t kind)
{
    pfsd_listing_t *l = pfsd_xcalloc(1, sizeof(*l));

    l->kind = kind;
    l->req = c->req;
    pfsd_stream_start(c, w, pfsd_listing_fetch, l, pfsd_listing_free);
}

void
pfsd_rpc_list_file(pfsd_call_t *c, pfsd_worker_t *w, const ProtobufCMessage *m)
{
    (void) m;
    pfsd_listing_start(c, w, PFSD_LIST_FILE);
}

void
pfsd_rpc_walk_file(pfsd_call_t *c, pfsd_worker_t *w, const ProtobufCMessage *m)
{
    (void) m;
    pfsd_listing_start(c, w, PFSD_WALK_FILE);
}

void
pfsd_rpc_glob_file(pfsd_call_t *c, pfsd_worker_t *w, const ProtobufCMessage *m)
{
    (void) m;
    pfsd_listing_start(c, w, PFSD_GLOB_FILE);
}
