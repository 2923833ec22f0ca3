#include "content.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Inserts a contents row; parts are the MD5s of its parts. */
static bool
pfsd_content_insert(pfsd_db_t *db, int64_t size, const uint8_t *parts,
                    size_t nparts, pfsd_fileref_t *out, pfsd_status_t *st)
{
    sqlite3_stmt *s;

    out->hash_len = pfsd_hash_compose(parts, nparts, out->hash);
    out->size = size;
    s = pfsd_db_stmt(db, "INSERT INTO contents(size, hash, parts)"
                         " VALUES (?, ?, ?)");
    pfsd_bind_int(s, 1, size);
    pfsd_bind_blob(s, 2, out->hash, out->hash_len);
    if (nparts > 0) {
        pfsd_bind_blob(s, 3, parts, nparts * PFSD_MD5_LEN);
    } else {
        sqlite3_bind_zeroblob(s, 3, 0);
    }
    if (!pfsd_db_run(db, s, st)) {
        return false;
    }
    out->content = sqlite3_last_insert_rowid(pfsd_db_handle(db));
    return true;
}

bool
pfsd_content_from_part(pfsd_db_t *db, const uint8_t md5[PFSD_MD5_LEN],
                       int64_t size, const pfsd_extent_t *ext, size_t n,
                       pfsd_fileref_t *out, pfsd_status_t *st)
{
    sqlite3_stmt *s;
    int64_t off = 0;
    size_t i;

    if (!pfsd_content_insert(db, size, md5, size > 0 ? 1 : 0, out, st)) {
        return false;
    }
    for (i = 0; i < n; i++) {
        s = pfsd_db_stmt(db, "INSERT INTO extents(content, off, chunk,"
                             " chunk_off, len) VALUES (?, ?, ?, 0, ?)");
        pfsd_bind_int(s, 1, out->content);
        pfsd_bind_int(s, 2, off);
        pfsd_bind_int(s, 3, ext[i].chunk);
        pfsd_bind_int(s, 4, ext[i].len);
        if (!pfsd_db_run(db, s, st)) {
            return false;
        }
        off += ext[i].len;
    }
    return true;
}

/* The part MD5s of a content (malloc'd). */
static bool
pfsd_content_parts(pfsd_db_t *db, int64_t content, uint8_t **parts,
                   size_t *n, pfsd_status_t *st)
{
    sqlite3_stmt *s = pfsd_db_stmt(db, "SELECT parts FROM contents WHERE id=?");
    int rc, len;

    pfsd_bind_int(s, 1, content);
    rc = pfsd_db_row(db, s, st);
    if (rc <= 0) {
        return rc == 0 ? pfsd_fail(st, GRPC_STATUS_INTERNAL,
                                   "content %lld missing", (long long) content)
                       : false;
    }
    len = sqlite3_column_bytes(s, 0);
    *parts = pfsd_xmalloc((size_t) len);
    memcpy(*parts, sqlite3_column_blob(s, 0), (size_t) len);
    *n = (size_t) len / PFSD_MD5_LEN;
    sqlite3_reset(s);
    return true;
}

static bool
pfsd_content_copy_extents(pfsd_db_t *db, int64_t from, int64_t to,
                          int64_t shift, pfsd_status_t *st)
{
    sqlite3_stmt *s = pfsd_db_stmt(db, "INSERT INTO extents(content, off, chunk,"
                                       " chunk_off, len)"
                                       " SELECT ?1, off + ?2, chunk, chunk_off,"
                                       " len FROM extents WHERE content=?3");

    pfsd_bind_int(s, 1, to);
    pfsd_bind_int(s, 2, shift);
    pfsd_bind_int(s, 3, from);
    return pfsd_db_run(db, s, st);
}

bool
pfsd_content_concat(pfsd_db_t *db, const pfsd_fileref_t *head,
                    const pfsd_fileref_t *tail, pfsd_fileref_t *out,
                    pfsd_status_t *st)
{
    pfsd_fileref_t both[2];

    both[0] = *head;
    both[1] = *tail;
    return pfsd_content_concat_n(db, both, 2, out, st);
}

bool
pfsd_content_concat_n(pfsd_db_t *db, const pfsd_fileref_t *refs, size_t n,
                      pfsd_fileref_t *out, pfsd_status_t *st)
{
    uint8_t *all = NULL, *p = NULL;
    size_t i, k, np = 0, total = 0, nonempty = 0, last = 0;
    int64_t size = 0, off = 0;
    bool ok = true;

    /* Appending nothing, or onto nothing, changes nothing: the parts of
     * empty contents never count in a composed hash. */
    for (i = 0; i < n; i++) {
        if (refs[i].size != 0) {
            nonempty++;
            last = i;
        }
    }
    if (nonempty <= 1) {
        *out = refs[nonempty ? last : 0];
        return true;
    }
    /* One new content whatever n: its parts are the concatenated part
     * lists, its extents each input's at its offset. */
    for (i = 0; i < n && ok; i++) {
        if (refs[i].size == 0) {
            continue;
        }
        ok = pfsd_content_parts(db, refs[i].content, &p, &np, st);
        if (ok) {
            all = pfsd_xrealloc(all, (total + np) * PFSD_MD5_LEN);
            memcpy(all + total * PFSD_MD5_LEN, p, np * PFSD_MD5_LEN);
            total += np;
            size += refs[i].size;
        }
        free(p);
        p = NULL;
    }
    ok = ok && pfsd_content_insert(db, size, all, total, out, st);
    for (k = 0; k < n && ok; k++) {
        if (refs[k].size != 0) {
            ok = pfsd_content_copy_extents(db, refs[k].content, out->content,
                                           off, st);
            off += refs[k].size;
        }
    }
    free(all);
    return ok;
}

bool
pfsd_chunk_resolve(pfsd_db_t *db, const uint8_t sha[PFSD_SHA256_LEN],
                   const pfsd_chunk_loc_t *loc, int64_t *id, pfsd_status_t *st)
{
    sqlite3_stmt *s = pfsd_db_stmt(db, "SELECT id FROM chunks WHERE sha256=?");
    int rc;

    pfsd_bind_blob(s, 1, sha, PFSD_SHA256_LEN);
    rc = pfsd_db_row(db, s, st);
    if (rc < 0) {
        return false;
    }
    if (rc == 1) {
        *id = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
        return true;
    }
    if (loc == NULL) {
        /* A writer skipped writing a chunk it found stored, and pinned it so
         * the collector would keep it: losing it is a bug. */
        return pfsd_fail(st, GRPC_STATUS_INTERNAL,
                         "a deduplicated chunk is no longer stored");
    }
    s = pfsd_db_stmt(db, "INSERT INTO chunks(sha256, pack, off, len)"
                         " VALUES (?, ?, ?, ?)");
    pfsd_bind_blob(s, 1, sha, PFSD_SHA256_LEN);
    pfsd_bind_int(s, 2, loc->pack);
    pfsd_bind_int(s, 3, (int64_t) loc->off);
    pfsd_bind_int(s, 4, loc->len);
    if (!pfsd_db_run(db, s, st)) {
        return false;
    }
    *id = sqlite3_last_insert_rowid(pfsd_db_handle(db));
    return true;
}

int
pfsd_content_spans(pfsd_db_t *db, int64_t content, int64_t offset,
                   int64_t len, pfsd_span_t *spans, int max, pfsd_status_t *st)
{
    sqlite3_stmt *s;
    int64_t e_off, e_len, chunk_off, from, to;
    int n = 0, rc;

    /* The extent holding offset, then the ones after it up to the end. */
    s = pfsd_db_stmt(db, "SELECT e.off, e.len, e.chunk_off, c.pack, c.off, c.id"
                         " FROM extents e JOIN chunks c ON c.id = e.chunk"
                         " WHERE e.content=?1 AND e.off>=coalesce("
                         "  (SELECT max(off) FROM extents"
                         "   WHERE content=?1 AND off<=?2), 0)"
                         " AND e.off<?3 ORDER BY e.off");
    pfsd_bind_int(s, 1, content);
    pfsd_bind_int(s, 2, offset);
    pfsd_bind_int(s, 3, offset + len);
    while (n < max && (rc = pfsd_db_row(db, s, st)) == 1) {
        e_off = sqlite3_column_int64(s, 0);
        e_len = sqlite3_column_int64(s, 1);
        chunk_off = sqlite3_column_int64(s, 2);
        from = offset > e_off ? offset - e_off : 0;
        to = offset + len < e_off + e_len ? offset + len - e_off : e_len;
        if (to <= from) {
            continue;
        }
        spans[n].pack = (uint32_t) sqlite3_column_int64(s, 3);
        spans[n].rec_off = (uint64_t) sqlite3_column_int64(s, 4);
        spans[n].at = (uint32_t) (chunk_off + from);
        spans[n].len = (uint32_t) (to - from);
        spans[n].chunk = sqlite3_column_int64(s, 5);
        n++;
    }
    if (n == max) {
        sqlite3_reset(s);
        return n;
    }
    return rc < 0 ? -1 : n;
}
