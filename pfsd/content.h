/* Contents: immutable byte sequences made of chunk extents, with the MD5s
 * of the parts they were composed of.  Composition (append) concatenates
 * extent lists; file bytes are never copied. */
#ifndef PFSD_CONTENT_H
#define PFSD_CONTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "files.h"
#include "hash.h"
#include "status.h"
#include "store.h"

typedef struct pfsd_extent {
    int64_t chunk;          /* chunks.id */
    uint32_t len;           /* the whole chunk, from its start */
} pfsd_extent_t;

/* A new content of one part (bytes written in one stream): its MD5 and
 * chunks in order.  An empty part gives the empty content. */
bool pfsd_content_from_part(pfsd_db_t *db, const uint8_t md5[PFSD_MD5_LEN],
                            int64_t size, const pfsd_extent_t *ext, size_t n,
                            pfsd_fileref_t *out, pfsd_status_t *st);

/* head followed by tail, as a new content (or one of them unchanged when
 * the other is empty). */
bool pfsd_content_concat(pfsd_db_t *db, const pfsd_fileref_t *head,
                         const pfsd_fileref_t *tail, pfsd_fileref_t *out,
                         pfsd_status_t *st);

/* refs[0], refs[1], ... refs[n - 1] one after the other, as one new content
 * (CompleteMultipartUpload's appends of n parts cost one content, not n). */
bool pfsd_content_concat_n(pfsd_db_t *db, const pfsd_fileref_t *refs,
                           size_t n, pfsd_fileref_t *out, pfsd_status_t *st);

/* A chunk's id by hash, inserting it at loc when unknown (loc NULL: it
 * must exist). */
bool pfsd_chunk_resolve(pfsd_db_t *db, const uint8_t sha[PFSD_SHA256_LEN],
                        const pfsd_chunk_loc_t *loc, int64_t *id,
                        pfsd_status_t *st);

/* Reading: the piece of a content starting at offset, at most len bytes,
 * as (pack, record offset, offset in chunk, length) spans. */
typedef struct pfsd_span {
    uint32_t pack;
    uint64_t rec_off;
    uint32_t at, len;
    int64_t chunk;
} pfsd_span_t;

/* Fills up to max spans covering [offset, offset + len) of content;
 * returns the number, -1 on error. */
int pfsd_content_spans(pfsd_db_t *db, int64_t content, int64_t offset,
                       int64_t len, pfsd_span_t *spans, int max,
                       pfsd_status_t *st);

#endif
