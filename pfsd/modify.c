#include "modify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "content.h"
#include "files.h"
#include "hash.h"
#include "map.h"
#include "names.h"
#include "store.h"
#include "util.h"
#include "view.h"

/* Bytes written between writeback hints, so the final sync is short. */
#define PFSD_FLUSH_HINT (64u << 20)
/* A stream that wrote more than this syncs its packs itself before
 * handing its job over, so the committer (and every small write batched
 * with it) does not wait for a large upload's data to reach the disk. */
#define PFSD_SELF_SYNC (4u << 20)
/* The partial-chunk buffer's first size (a power of two, as the chunk). */
#define PFSD_MODIFY_BUF_MIN (16u << 10)

typedef enum pfsd_op_kind {
    PFSD_OP_DELETE,         /* the file at path */
    PFSD_OP_DELETE_DIR,     /* every file under path (which ends with "/") */
    PFSD_OP_RAW,            /* append a part written in this stream */
    PFSD_OP_TOUCH,          /* create an empty file unless it exists */
    PFSD_OP_COPY,           /* copy (or append) src to path */
} pfsd_op_kind_t;

typedef struct pfsd_op {
    pfsd_op_kind_t kind;
    char *path;
    size_t part;                    /* RAW */
    PfsV2__File *src;               /* COPY: owned copy of the source */
    bool append;                    /* COPY */
} pfsd_op_t;

typedef struct pfsd_ext {
    size_t chunk;                   /* index into the stream's chunks */
    uint32_t len;
} pfsd_ext_t;

typedef struct pfsd_part {
    char *path;
    pfsd_md5_ctx_t *md5;            /* NULL once closed */
    uint8_t digest[PFSD_MD5_LEN];
    int64_t size;
    pfsd_ext_t *ext;
    size_t next, cap;
} pfsd_part_t;

typedef struct pfsd_chunkref {
    uint8_t sha[PFSD_SHA256_LEN];
    bool written;                   /* else found stored, and pinned */
    pfsd_chunk_loc_t loc;
    int64_t id;                     /* resolved by the committer */
} pfsd_chunkref_t;

typedef struct pfsd_hold {
    uint32_t pack;
    size_t count;
} pfsd_hold_t;

/* A copy source, resolved by the committer before any operation runs
 * (copies read the state from before this stream, as pachd's do). */
typedef struct pfsd_copy_src {
    size_t nfiles;
    char **rel;                     /* path below the source ("" for a file) */
    pfsd_fileref_t *refs;
} pfsd_copy_src_t;

struct pfsd_modify {
    pfsd_job_t job;                 /* first: the committer's handle */
    pfsd_store_t *store;
    const pfsd_log_t *log;
    bool got_commit;
    PfsV2__Commit *target;          /* owned */

    pfsd_op_t *ops;
    size_t nops, cap_ops;
    pfsd_part_t *parts;
    size_t nparts, cap_parts;
    pfsd_map_t open_parts;          /* path -> part index, parts still open */

    pfsd_chunkref_t *chunks;
    size_t nchunks, cap_chunks;
    pfsd_map_t chunk_index;         /* sha -> chunk index */
    pfsd_hold_t *holds;
    size_t nholds;
    uint32_t *packs;                /* distinct packs, for the committer */

    uint8_t *buf;                   /* the partial chunk being filled */
    size_t buflen, bufcap;
    size_t buf_part;                /* whose bytes buf holds */
    bool buf_used;
    uint64_t since_hint;
    uint64_t written;               /* bytes written to packs */

    pfsd_modify_done_fn done;
    void *done_ctx;
    bool released;
};

/* ------------------------------------------------------------ memory */

static void *
pfsd_grow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) {
        return p;
    }
    *cap = *cap ? *cap * 2 : 8;
    return pfsd_xrealloc(p, *cap * size);
}

pfsd_modify_t *
pfsd_modify_new(pfsd_store_t *store, const pfsd_log_t *log)
{
    pfsd_modify_t *m = pfsd_xcalloc(1, sizeof(*m));

    m->store = store;
    m->log = log;
    return m;
}

/* Gives back pins and pack holds: from here on the collector may take
 * whatever this stream wrote and nobody references. */
static void
pfsd_modify_release(pfsd_modify_t *m)
{
    size_t i;

    if (m->released) {
        return;
    }
    m->released = true;
    for (i = 0; i < m->nchunks; i++) {
        if (!m->chunks[i].written) {
            pfsd_store_unpin(m->store, m->chunks[i].sha);
        }
    }
    for (i = 0; i < m->nholds; i++) {
        while (m->holds[i].count-- > 0) {
            pfsd_store_release(m->store, m->holds[i].pack);
        }
    }
}

void
pfsd_modify_free(pfsd_modify_t *m)
{
    size_t i;

    if (m == NULL) {
        return;
    }
    pfsd_modify_release(m);
    for (i = 0; i < m->nops; i++) {
        free(m->ops[i].path);
        if (m->ops[i].src != NULL) {
            protobuf_c_message_free_unpacked(&m->ops[i].src->base, NULL);
        }
    }
    for (i = 0; i < m->nparts; i++) {
        free(m->parts[i].path);
        free(m->parts[i].ext);
        pfsd_md5_free(m->parts[i].md5);
    }
    if (m->target != NULL) {
        protobuf_c_message_free_unpacked(&m->target->base, NULL);
    }
    pfsd_map_free(&m->open_parts);
    pfsd_map_free(&m->chunk_index);
    free(m->ops);
    free(m->parts);
    free(m->chunks);
    free(m->holds);
    free(m->packs);
    free(m->buf);
    free(m);
}

/* A deep copy of a message (protobuf-c has no clone: pack and unpack). */
static ProtobufCMessage *
pfsd_clone(const ProtobufCMessage *msg)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = pfsd_xmalloc(n);
    ProtobufCMessage *copy;

    protobuf_c_message_pack(msg, buf);
    copy = protobuf_c_message_unpack(msg->descriptor, NULL, n, buf);
    free(buf);
    return copy;
}

/* ------------------------------------------------------------ chunks */

static void
pfsd_modify_hold(pfsd_modify_t *m, uint32_t pack)
{
    size_t i;

    for (i = 0; i < m->nholds && m->holds[i].pack != pack; i++) {
    }
    if (i == m->nholds) {
        m->holds = pfsd_xrealloc(m->holds, (m->nholds + 1) * sizeof(*m->holds));
        m->holds[i].pack = pack;
        m->holds[i].count = 0;
        m->nholds++;
    }
    m->holds[i].count++;
}

/* Is a chunk with this hash stored?  1 yes, 0 no, -1 error. */
static int
pfsd_modify_known(pfsd_db_t *db, const uint8_t sha[PFSD_SHA256_LEN],
                  pfsd_status_t *st)
{
    sqlite3_stmt *s = pfsd_db_stmt(db, "SELECT 1 FROM chunks WHERE sha256=?");
    int rc;

    pfsd_bind_blob(s, 1, sha, PFSD_SHA256_LEN);
    rc = pfsd_db_row(db, s, st);
    sqlite3_reset(s);
    return rc;
}

/* Stores one chunk of a part (or finds it stored) and records the extent. */
static bool
pfsd_modify_chunk(pfsd_modify_t *m, pfsd_db_t *db, size_t part,
                  const uint8_t *data, uint32_t len, pfsd_status_t *st)
{
    uint8_t sha[PFSD_SHA256_LEN];
    pfsd_chunkref_t *c;
    pfsd_part_t *p = &m->parts[part];
    size_t idx;
    int known;

    pfsd_sha256(data, len, sha);
    if (!pfsd_map_get(&m->chunk_index, sha, sizeof(sha), &idx)) {
        m->chunks = pfsd_grow(m->chunks, &m->cap_chunks, m->nchunks,
                              sizeof(*m->chunks));
        idx = m->nchunks;
        c = &m->chunks[idx];
        memset(c, 0, sizeof(*c));
        memcpy(c->sha, sha, sizeof(sha));
        /* Pin before looking: the collector then either sees the pin or
         * has already removed the chunk, which the lookup then misses. */
        pfsd_store_pin(m->store, sha);
        known = pfsd_modify_known(db, sha, st);
        if (known < 0) {
            pfsd_store_unpin(m->store, sha);
            return false;
        }
        if (known == 0) {
            pfsd_store_unpin(m->store, sha);
            if (!pfsd_store_write(m->store, sha, data, len, &c->loc, st)) {
                return false;
            }
            c->written = true;
            pfsd_modify_hold(m, c->loc.pack);
            m->written += len;
            m->since_hint += len;
            if (m->since_hint >= PFSD_FLUSH_HINT) {
                pfsd_store_flush_hint(m->store, c->loc.pack);
                m->since_hint = 0;
            }
        }
        m->nchunks++;
        pfsd_map_put(&m->chunk_index, sha, sizeof(sha), idx);
    }
    p->ext = pfsd_grow(p->ext, &p->cap, p->next, sizeof(*p->ext));
    p->ext[p->next].chunk = idx;
    p->ext[p->next].len = len;
    p->next++;
    return true;
}

/* Writes out the partial chunk, whoever it belongs to. */
static bool
pfsd_modify_flush(pfsd_modify_t *m, pfsd_db_t *db, pfsd_status_t *st)
{
    bool ok = true;

    if (m->buf_used && m->buflen > 0) {
        ok = pfsd_modify_chunk(m, db, m->buf_part, m->buf,
                               (uint32_t) m->buflen, st);
    }
    m->buflen = 0;
    m->buf_used = false;
    return ok;
}

/* Room for need bytes in the partial-chunk buffer.  It grows by doubling
 * up to a chunk: most files are small, and a chunk-sized buffer for each
 * would be mapped and unmapped per ModifyFile (malloc maps blocks that
 * large), an munmap that stops every pfsd thread for the TLB flush. */
static void
pfsd_modify_buf_reserve(pfsd_modify_t *m, size_t need)
{
    size_t cap = m->bufcap > 0 ? m->bufcap : PFSD_MODIFY_BUF_MIN;

    if (need <= m->bufcap) {
        return;
    }
    while (cap < need) {
        cap *= 2;
    }
    cap = cap < PFSD_CHUNK_MAX ? cap : PFSD_CHUNK_MAX;
    m->buf = pfsd_xrealloc(m->buf, cap);
    m->bufcap = cap;
}

/* Appends bytes to an open part: whole chunks straight from the message,
 * the rest through the buffer. */
static bool
pfsd_modify_feed(pfsd_modify_t *m, pfsd_db_t *db, size_t part,
                 const uint8_t *data, size_t len, pfsd_status_t *st)
{
    size_t take;

    if (m->buf_used && m->buf_part != part
        && !pfsd_modify_flush(m, db, st))
    {
        return false;
    }
    pfsd_md5_update(m->parts[part].md5, data, len);
    m->parts[part].size += (int64_t) len;
    while (len > 0) {
        if (m->buflen == 0 && len >= PFSD_CHUNK_MAX) {
            if (!pfsd_modify_chunk(m, db, part, data, PFSD_CHUNK_MAX, st)) {
                return false;
            }
            data += PFSD_CHUNK_MAX;
            len -= PFSD_CHUNK_MAX;
            continue;
        }
        take = PFSD_CHUNK_MAX - m->buflen;
        take = take < len ? take : len;
        pfsd_modify_buf_reserve(m, m->buflen + take);
        memcpy(m->buf + m->buflen, data, take);
        m->buflen += take;
        m->buf_part = part;
        m->buf_used = true;
        data += take;
        len -= take;
        if (m->buflen == PFSD_CHUNK_MAX && !pfsd_modify_flush(m, db, st)) {
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------ parts */

static bool
pfsd_modify_close_part(pfsd_modify_t *m, pfsd_db_t *db, size_t i,
                       pfsd_status_t *st)
{
    pfsd_part_t *p = &m->parts[i];

    if (p->md5 == NULL) {
        return true;
    }
    if (m->buf_used && m->buf_part == i && !pfsd_modify_flush(m, db, st)) {
        return false;
    }
    pfsd_md5_final(p->md5, p->digest);
    pfsd_md5_free(p->md5);
    p->md5 = NULL;
    pfsd_map_del(&m->open_parts, p->path, strlen(p->path));
    return true;
}

/* Closes the open parts of path, and with under also those below it:
 * later bytes for them start a new part after the operation. */
static bool
pfsd_modify_close_parts(pfsd_modify_t *m, pfsd_db_t *db, const char *path,
                        bool under, pfsd_status_t *st)
{
    size_t i, n = strlen(path);

    if (!under) {
        return !pfsd_map_get(&m->open_parts, path, n, &i)
               || pfsd_modify_close_part(m, db, i, st);
    }
    for (i = 0; i < m->nparts; i++) {
        if (m->parts[i].md5 != NULL && strncmp(m->parts[i].path, path, n) == 0
            && !pfsd_modify_close_part(m, db, i, st))
        {
            return false;
        }
    }
    return true;
}

static pfsd_op_t *
pfsd_modify_op(pfsd_modify_t *m, pfsd_op_kind_t kind, char *path)
{
    pfsd_op_t *op;

    m->ops = pfsd_grow(m->ops, &m->cap_ops, m->nops, sizeof(*m->ops));
    op = &m->ops[m->nops++];
    memset(op, 0, sizeof(*op));
    op->kind = kind;
    op->path = path;
    return op;
}

/* The open part for path, started (with its RAW operation) if needed. */
static size_t
pfsd_modify_part(pfsd_modify_t *m, const char *path)
{
    size_t i, n = strlen(path);
    pfsd_part_t *p;

    if (pfsd_map_get(&m->open_parts, path, n, &i)) {
        return i;
    }
    m->parts = pfsd_grow(m->parts, &m->cap_parts, m->nparts, sizeof(*m->parts));
    i = m->nparts++;
    p = &m->parts[i];
    memset(p, 0, sizeof(*p));
    p->path = pfsd_xstrdup(path);
    p->md5 = pfsd_md5_new();
    pfsd_map_put(&m->open_parts, path, n, i);
    pfsd_modify_op(m, PFSD_OP_RAW, pfsd_xstrdup(path))->part = i;
    return i;
}

/* ------------------------------------------------------------ messages */

static bool
pfsd_modify_add_file(pfsd_modify_t *m, pfsd_db_t *db, const PfsV2__AddFile *af,
                     pfsd_status_t *st)
{
    char *path;
    size_t i;
    bool ok = true;

    if (!pfsd_path_check(af->path, st)) {
        return false;
    }
    path = pfsd_path_clean(af->path);
    switch (af->source_case) {
    case PFS_V2__ADD_FILE__SOURCE_RAW:
        i = pfsd_modify_part(m, path);
        if (af->raw != NULL && af->raw->value.len > 0) {
            ok = pfsd_modify_feed(m, db, i, af->raw->value.data,
                                  af->raw->value.len, st);
        }
        free(path);
        return ok;
    case PFS_V2__ADD_FILE__SOURCE_URL:
        free(path);
        return pfsd_fail(st, GRPC_STATUS_UNIMPLEMENTED,
                         "add_file from a URL is not supported by pfsd");
    default:
        /* Zero bytes appended: an open part already covers it. */
        if (pfsd_map_get(&m->open_parts, path, strlen(path), &i)) {
            free(path);
        } else {
            pfsd_modify_op(m, PFSD_OP_TOUCH, path);
        }
        return true;
    }
}

static bool
pfsd_modify_delete_file(pfsd_modify_t *m, pfsd_db_t *db,
                        const PfsV2__DeleteFile *df, pfsd_status_t *st)
{
    size_t n = strlen(df->path);
    bool dir = n > 0 && df->path[n - 1] == '/';
    char *path, *dpath;

    if (!pfsd_path_check(df->path, st)) {
        return false;
    }
    path = pfsd_path_clean(df->path);
    if (!dir && strcmp(path, "/") != 0) {
        pfsd_modify_op(m, PFSD_OP_DELETE, path);
        return pfsd_modify_close_parts(m, db, path, false, st);
    }
    /* A trailing "/" (or the root) deletes a whole directory. */
    n = strlen(path);
    dpath = pfsd_xmalloc(n + 2);
    memcpy(dpath, path, n + 1);
    if (n > 1) {
        dpath[n] = '/';
        dpath[n + 1] = '\0';
    }
    free(path);
    pfsd_modify_op(m, PFSD_OP_DELETE_DIR, dpath);
    return pfsd_modify_close_parts(m, db, dpath, true, st);
}

static bool
pfsd_modify_copy_file(pfsd_modify_t *m, pfsd_db_t *db, const PfsV2__CopyFile *cf,
                      pfsd_status_t *st)
{
    char *dst, *under;
    pfsd_op_t *op;
    size_t n;
    bool ok;

    if (cf->src == NULL) {
        return pfsd_fail(st, GRPC_STATUS_INVALID_ARGUMENT, "validate recv: "
                         "invalid CopyFile.Src: value is required");
    }
    dst = pfsd_path_clean(cf->dst);
    n = strlen(dst);
    under = pfsd_xmalloc(n + 2);
    snprintf(under, n + 2, "%s/", strcmp(dst, "/") == 0 ? "" : dst);
    ok = pfsd_modify_close_parts(m, db, dst, false, st)
         && pfsd_modify_close_parts(m, db, under, true, st);
    free(under);
    op = pfsd_modify_op(m, PFSD_OP_COPY, dst);
    op->src = (PfsV2__File *) pfsd_clone(&cf->src->base);
    op->append = cf->append;
    return ok;
}

bool
pfsd_modify_add(pfsd_modify_t *m, pfsd_db_t *db,
                const PfsV2__ModifyFileRequest *req, pfsd_status_t *st)
{
    if (!m->got_commit) {
        if (req->body_case != PFS_V2__MODIFY_FILE_REQUEST__BODY_SET_COMMIT) {
            return pfsd_fail(st, GRPC_STATUS_UNKNOWN,
                             "first message must be a commit");
        }
        if (req->set_commit == NULL) {
            return pfsd_fail(st, GRPC_STATUS_UNKNOWN, "commit cannot be nil");
        }
        if (req->set_commit->repo == NULL
            && (req->set_commit->branch == NULL
                || req->set_commit->branch->repo == NULL))
        {
            return pfsd_fail(st, GRPC_STATUS_UNKNOWN,
                             "commit must have a repo");
        }
        m->target = (PfsV2__Commit *) pfsd_clone(&req->set_commit->base);
        m->got_commit = true;
        return true;
    }
    switch (req->body_case) {
    case PFS_V2__MODIFY_FILE_REQUEST__BODY_SET_COMMIT:
        return pfsd_fail(st, GRPC_STATUS_UNKNOWN, "cannot set commit");
    case PFS_V2__MODIFY_FILE_REQUEST__BODY_ADD_FILE:
        if (req->add_file == NULL) {
            break;
        }
        return pfsd_modify_add_file(m, db, req->add_file, st);
    case PFS_V2__MODIFY_FILE_REQUEST__BODY_DELETE_FILE:
        if (req->delete_file == NULL) {
            break;
        }
        return pfsd_modify_delete_file(m, db, req->delete_file, st);
    case PFS_V2__MODIFY_FILE_REQUEST__BODY_COPY_FILE:
        if (req->copy_file == NULL) {
            break;
        }
        return pfsd_modify_copy_file(m, db, req->copy_file, st);
    default:
        break;
    }
    return pfsd_fail(st, GRPC_STATUS_INVALID_ARGUMENT, "validate recv: invalid "
                     "ModifyFileRequest.Body: value is required");
}

/* ------------------------------------------------------------ submit */

static bool pfsd_modify_apply(pfsd_job_t *job, pfsd_db_t *db,
                              pfsd_status_t *st);
static void pfsd_modify_done(pfsd_job_t *job, const pfsd_status_t *st);

bool
pfsd_modify_submit(pfsd_modify_t *m, pfsd_db_t *db,
                   pfsd_committer_t *committer, pfsd_modify_done_fn done,
                   void *ctx, pfsd_status_t *st)
{
    size_t i;

    if (!m->got_commit) {
        /* pachd reports the end of an empty stream as its io.EOF. */
        return pfsd_fail(st, GRPC_STATUS_UNKNOWN, "EOF");
    }
    for (i = 0; i < m->nparts; i++) {
        if (!pfsd_modify_close_part(m, db, i, st)) {
            return false;
        }
    }
    m->packs = pfsd_xcalloc(m->nholds + 1, sizeof(*m->packs));
    for (i = 0; i < m->nholds; i++) {
        m->packs[i] = m->holds[i].pack;
        if (m->written > PFSD_SELF_SYNC
            && !pfsd_store_sync(m->store, m->packs[i], st))
        {
            return false;
        }
    }
    m->job.packs = m->packs;
    m->job.npacks = m->nholds;
    m->job.apply = pfsd_modify_apply;
    m->job.done = pfsd_modify_done;
    m->done = done;
    m->done_ctx = ctx;
    pfsd_committer_submit(committer, &m->job);
    return true;
}

static void
pfsd_modify_done(pfsd_job_t *job, const pfsd_status_t *st)
{
    pfsd_modify_t *m = (pfsd_modify_t *) job;

    /* Committed or not, the chunks no longer need protecting: they are
     * referenced now, or garbage. */
    pfsd_modify_release(m);
    m->done(m->done_ctx, st);
}

/* ------------------------------------------------------------ apply */

typedef struct pfsd_apply {
    pfsd_modify_t *m;
    pfsd_db_t *db;
    pfsd_arena_t arena;
    pfsd_target_t target;
    pfsd_commit_t commit;
    pfsd_repo_t repo;
    const char *branch;
    bool one_off;
    pfsd_copy_src_t *copies;        /* per operation (COPY only) */
} pfsd_apply_t;

/* Where the stream's changes go: an open commit named by id, the open head
 * of the branch, or a new commit on the branch finished at the end (a
 * "one-off" commit; the branch is created if missing). */
static bool
pfsd_apply_target(pfsd_apply_t *ap, pfsd_status_t *st)
{
    const PfsV2__Commit *tc = ap->m->target;
    const PfsV2__Repo *rpb = tc->repo != NULL ? tc->repo : tc->branch->repo;
    pfsd_arena_t *a = &ap->arena;
    pfsd_commit_t head;
    const char *branch = tc->branch != NULL ? tc->branch->name : "";
    const char *id = tc->id;
    int64_t head_id;
    int rc;

    if (tc->branch != NULL && branch[0] == '\0' && id[0] != '\0'
        && !pfsd_is_commit_id(id))
    {
        branch = id;
        id = "";
    }
    if (!pfsd_cat_repo(ap->db, a, rpb, &ap->repo, st)) {
        return false;
    }
    if (id[0] != '\0') {
        if (!pfsd_cat_resolve(ap->db, a, tc, &ap->commit, st)) {
            return false;
        }
        if (ap->commit.finishing != 0) {
            return pfsd_fail(st, GRPC_STATUS_UNKNOWN,
                             "commit %s@%s has already finished",
                             pfsd_repo_str(a, &ap->repo), ap->commit.uuid);
        }
    } else {
        if (branch[0] == '\0') {
            return pfsd_fail(st, GRPC_STATUS_UNKNOWN, "pick commit tx: cannot "
                             "pick commit with no ID or branch");
        }
        if (!pfsd_branch_name_check(branch, st)) {
            return false;
        }
        ap->branch = branch;
        rc = pfsd_cat_branch(ap->db, ap->repo.id, branch, NULL, &head_id, st);
        if (rc < 0) {
            return false;
        }
        if (rc == 1 && !pfsd_cat_commit(ap->db, a, head_id, &ap->repo, &head,
                                        st))
        {
            return false;
        }
        if (rc == 1 && head.finishing == 0) {
            ap->commit = head;
        } else {
            ap->one_off = true;
            if (!pfsd_cat_new_commit(ap->db, a, &ap->repo, branch,
                                     rc == 1 ? &head : NULL, "", 0,
                                     &ap->commit, st))
            {
                return false;
            }
        }
    }
    ap->target.lineage = ap->commit.lineage;
    ap->target.seq = ap->commit.seq;
    ap->target.commit = ap->commit.id;
    return true;
}

static bool
pfsd_apply_chunks(pfsd_apply_t *ap, pfsd_status_t *st)
{
    pfsd_modify_t *m = ap->m;
    size_t i;

    for (i = 0; i < m->nchunks; i++) {
        pfsd_chunkref_t *c = &m->chunks[i];

        if (!pfsd_chunk_resolve(ap->db, c->sha, c->written ? &c->loc : NULL,
                                &c->id, st))
        {
            return false;
        }
    }
    return true;
}

static void
pfsd_copy_src_add(pfsd_copy_src_t *cs, const char *rel,
                  const pfsd_entry_t *e)
{
    cs->rel = pfsd_xrealloc(cs->rel, (cs->nfiles + 1) * sizeof(*cs->rel));
    cs->refs = pfsd_xrealloc(cs->refs, (cs->nfiles + 1) * sizeof(*cs->refs));
    cs->rel[cs->nfiles] = pfsd_xstrdup(rel);
    cs->refs[cs->nfiles].content = e->content;
    cs->refs[cs->nfiles].size = e->size;
    memcpy(cs->refs[cs->nfiles].hash, e->hash, e->hash_len);
    cs->refs[cs->nfiles].hash_len = e->hash_len;
    cs->nfiles++;
}

/* The files a copy reads: the file at the source path, or every file
 * below it; nothing (no error) when the path does not exist. */
static bool
pfsd_apply_copy_source(pfsd_apply_t *ap, const PfsV2__File *src,
                       pfsd_copy_src_t *cs, pfsd_status_t *st)
{
    pfsd_commit_t sc;
    pfsd_view_t v;
    pfsd_entry_t e;
    pfsd_cursor_t *cur;
    char *path, *dir, *upper;
    size_t n;
    int rc;
    bool ok = true;

    memset(&e, 0, sizeof(e));
    if (!pfsd_cat_resolve(ap->db, &ap->arena, src->commit, &sc, st)
        || !pfsd_view_open(ap->db, &sc, &v, st))
    {
        return false;
    }
    path = pfsd_path_clean(src->path);
    rc = strcmp(path, "/") == 0 ? 0 : pfsd_view_file(ap->db, &v, path, &e, st);
    if (rc != 0) {
        if (rc == 1) {
            pfsd_copy_src_add(cs, "", &e);
        }
        pfsd_entry_clear(&e);
        free(path);
        return rc == 1;
    }
    n = strlen(path);
    dir = pfsd_xmalloc(n + 2);
    snprintf(dir, n + 2, "%s/", n > 1 ? path : "");
    upper = pfsd_path_successor(dir);
    cur = pfsd_cursor_new(&v, dir, n > 1 ? upper : NULL);
    while ((rc = pfsd_cursor_next(cur, ap->db, &e, st)) == 1) {
        if (!e.dir) {
            pfsd_copy_src_add(cs, e.path + strlen(dir), &e);
        }
    }
    ok = rc == 0;
    pfsd_cursor_free(cur);
    pfsd_entry_clear(&e);
    free(upper);
    free(dir);
    free(path);
    return ok;
}

static bool
pfsd_apply_copy_sources(pfsd_apply_t *ap, pfsd_status_t *st)
{
    pfsd_modify_t *m = ap->m;
    size_t i;

    ap->copies = pfsd_xcalloc(m->nops + 1, sizeof(*ap->copies));
    for (i = 0; i < m->nops; i++) {
        if (m->ops[i].kind == PFSD_OP_COPY
            && !pfsd_apply_copy_source(ap, m->ops[i].src, &ap->copies[i], st))
        {
            return false;
        }
    }
    return true;
}

static void
pfsd_apply_free(pfsd_apply_t *ap)
{
    size_t i, k;

    for (i = 0; ap->copies != NULL && i < ap->m->nops; i++) {
        for (k = 0; k < ap->copies[i].nfiles; k++) {
            free(ap->copies[i].rel[k]);
        }
        free(ap->copies[i].rel);
        free(ap->copies[i].refs);
    }
    free(ap->copies);
    pfsd_arena_free(&ap->arena);
}

/* add_file bytes: the part appended to what the file holds. */
static bool
pfsd_apply_raw(pfsd_apply_t *ap, const pfsd_op_t *op, pfsd_status_t *st)
{
    const pfsd_part_t *p = &ap->m->parts[op->part];
    pfsd_extent_t *ext = pfsd_xcalloc(p->next + 1, sizeof(*ext));
    pfsd_fileref_t part, old, out;
    size_t i;
    int rc;
    bool ok;

    for (i = 0; i < p->next; i++) {
        ext[i].chunk = ap->m->chunks[p->ext[i].chunk].id;
        ext[i].len = p->ext[i].len;
    }
    rc = pfsd_files_get(ap->db, &ap->target, op->path, &old, st);
    ok = rc >= 0;
    if (ok && rc == 1 && p->size == 0) {
        free(ext);
        return true;            /* zero bytes appended: unchanged */
    }
    ok = ok && pfsd_content_from_part(ap->db, p->digest, p->size, ext, p->next,
                                      &part, st);
    if (ok && rc == 1) {
        ok = pfsd_content_concat(ap->db, &old, &part, &out, st);
    } else {
        out = part;
    }
    free(ext);
    return ok && pfsd_files_put(ap->db, &ap->target, op->path, &out, st);
}

static bool
pfsd_apply_touch(pfsd_apply_t *ap, const pfsd_op_t *op, pfsd_status_t *st)
{
    uint8_t md5[PFSD_MD5_LEN];
    pfsd_fileref_t f;
    int rc = pfsd_files_get(ap->db, &ap->target, op->path, &f, st);

    if (rc != 0) {
        return rc == 1;
    }
    pfsd_md5("", 0, md5);
    return pfsd_content_from_part(ap->db, md5, 0, NULL, 0, &f, st)
           && pfsd_files_put(ap->db, &ap->target, op->path, &f, st);
}

static bool
pfsd_apply_copy(pfsd_apply_t *ap, size_t i, pfsd_status_t *st)
{
    const pfsd_op_t *op = &ap->m->ops[i];
    const pfsd_copy_src_t *cs = &ap->copies[i];
    pfsd_fileref_t old, out;
    char *dst;
    size_t k;
    int rc;
    bool ok = true;

    for (k = 0; k < cs->nfiles && ok; k++) {
        if (cs->rel[k][0] == '\0') {
            dst = pfsd_xstrdup(op->path);
        } else {
            size_t n = strlen(op->path) + strlen(cs->rel[k]) + 2;

            dst = pfsd_xmalloc(n);
            snprintf(dst, n, "%s/%s", strcmp(op->path, "/") == 0 ? ""
                                                                 : op->path,
                     cs->rel[k]);
        }
        out = cs->refs[k];
        if (op->append) {
            rc = pfsd_files_get(ap->db, &ap->target, dst, &old, st);
            ok = rc >= 0
                 && (rc == 0
                     || pfsd_content_concat(ap->db, &old, &cs->refs[k], &out,
                                            st));
        }
        ok = ok && pfsd_files_put(ap->db, &ap->target, dst, &out, st);
        free(dst);
    }
    return ok;
}

/* Whether op i appends one file (or a missing one: nothing) to path. */
static bool
pfsd_apply_is_append(pfsd_apply_t *ap, size_t i, const char *path)
{
    const pfsd_op_t *op = &ap->m->ops[i];
    const pfsd_copy_src_t *cs = &ap->copies[i];

    return op->kind == PFSD_OP_COPY && op->append
           && strcmp(op->path, path) == 0
           && (cs->nfiles == 0 || (cs->nfiles == 1 && cs->rel[0][0] == '\0'));
}

/* A run of copy_file appends of single files to one path (a multipart
 * upload's Complete): one new content for the whole run instead of one per
 * append, whose extent copies would grow with the square of the run.
 * *next is the first operation after the run. */
static bool
pfsd_apply_appends(pfsd_apply_t *ap, size_t i, size_t *next,
                   pfsd_status_t *st)
{
    const char *path = ap->m->ops[i].path;
    pfsd_fileref_t *refs, out;
    size_t j, n = 0;
    int rc;
    bool ok;

    for (j = i; j < ap->m->nops && pfsd_apply_is_append(ap, j, path); j++) {
        /* void */
    }
    *next = j;
    refs = pfsd_xcalloc(j - i + 1, sizeof(*refs));
    rc = pfsd_files_get(ap->db, &ap->target, path, &refs[0], st);
    n = rc == 1;
    for (; i < j; i++) {
        if (ap->copies[i].nfiles == 1) {
            refs[n++] = ap->copies[i].refs[0];
        }
    }
    ok = rc >= 0
         && (n == 0 || (pfsd_content_concat_n(ap->db, refs, n, &out, st)
                        && pfsd_files_put(ap->db, &ap->target, path, &out,
                                          st)));
    free(refs);
    return ok;
}

static bool
pfsd_apply_ops(pfsd_apply_t *ap, pfsd_status_t *st)
{
    pfsd_modify_t *m = ap->m;
    size_t i, next;
    bool ok = true;

    for (i = 0; i < m->nops && ok; i++) {
        const pfsd_op_t *op = &m->ops[i];

        if (pfsd_apply_is_append(ap, i, op->path)) {
            ok = pfsd_apply_appends(ap, i, &next, st);
            i = next - 1;
            continue;
        }

        switch (op->kind) {
        case PFSD_OP_DELETE:
            ok = pfsd_files_delete(ap->db, &ap->target, op->path, st);
            break;
        case PFSD_OP_DELETE_DIR:
            ok = pfsd_files_delete_under(ap->db, &ap->target, op->path, st);
            break;
        case PFSD_OP_RAW:
            ok = pfsd_apply_raw(ap, op, st);
            break;
        case PFSD_OP_TOUCH:
            ok = pfsd_apply_touch(ap, op, st);
            break;
        case PFSD_OP_COPY:
            ok = pfsd_apply_copy(ap, i, st);
            break;
        }
    }
    return ok;
}

static bool
pfsd_modify_apply(pfsd_job_t *job, pfsd_db_t *db, pfsd_status_t *st)
{
    pfsd_apply_t ap;
    bool ok;

    memset(&ap, 0, sizeof(ap));
    ap.m = (pfsd_modify_t *) job;
    ap.db = db;
    ok = pfsd_apply_target(&ap, st)
         && pfsd_apply_chunks(&ap, st)
         && pfsd_apply_copy_sources(&ap, st)
         && pfsd_apply_ops(&ap, st);
    if (ok && ap.one_off) {
        ok = pfsd_cat_finish_commit(db, &ap.commit, NULL, NULL, st)
             && pfsd_cat_set_head(db, &ap.repo, ap.branch, ap.commit.id, st);
    }
    pfsd_apply_free(&ap);
    return ok;
}
