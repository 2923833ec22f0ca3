/* The pack store: chunk records appended to pack files.
 *
 * A pack is DIR/packs/NNNNNNNN.pack: a 16-byte file header, then records
 * {magic "PFSC", length (u32 LE), sha256 (32 bytes), 8 reserved bytes,
 * data}.  Writers reserve space in the active pack under a mutex and
 * pwrite outside it; the active pack rotates at a size limit.  Readers get
 * pack file descriptors from a cache that keeps a descriptor open while
 * anyone uses it, so a pack unlinked by compaction stays readable to those
 * already reading it. */
#ifndef PFSD_STORE_H
#define PFSD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "status.h"

#define PFSD_CHUNK_MAX        (1u << 20)
#define PFSD_PACK_HEADER      16
#define PFSD_RECORD_HEADER    48

typedef struct pfsd_store pfsd_store_t;

typedef struct pfsd_chunk_loc {
    uint32_t pack;
    uint64_t off;           /* of the record header */
    uint32_t len;           /* data bytes */
} pfsd_chunk_loc_t;

/* first_pack: a pack id above every id the metadata knows. */
int pfsd_store_open(pfsd_store_t **out, const char *dir, int64_t pack_max,
                    uint32_t first_pack, const pfsd_log_t *log,
                    char *err, size_t errlen);
void pfsd_store_close(pfsd_store_t *s);

/* Appends a chunk record to the active pack.  The pack is held (see
 * pfsd_store_hold) on behalf of the caller, who releases it once the
 * metadata referring to the record is committed or abandoned. */
bool pfsd_store_write(pfsd_store_t *s, const uint8_t sha[32],
                      const void *data, uint32_t len, pfsd_chunk_loc_t *loc,
                      pfsd_status_t *st);

/* Reads len data bytes at offset `at` of the chunk whose record is at loc.
 * A pack that no longer exists gives NOT_FOUND, so the caller can look up
 * the chunk's new place (compaction moved it) and try again. */
bool pfsd_store_read(pfsd_store_t *s, uint32_t pack, uint64_t rec_off,
                     uint32_t at, void *buf, size_t len, pfsd_status_t *st);

/* fdatasync of one pack. */
bool pfsd_store_sync(pfsd_store_t *s, uint32_t pack, pfsd_status_t *st);
/* Starts writeback of a pack without waiting, so a later sync is short. */
void pfsd_store_flush_hint(pfsd_store_t *s, uint32_t pack);

/* Holds keep compaction away from a pack with uncommitted records. */
void pfsd_store_hold(pfsd_store_t *s, uint32_t pack);
void pfsd_store_release(pfsd_store_t *s, uint32_t pack);

/* For compaction: whether a pack may be rewritten now (sealed, unheld),
 * its size, and unlinking it (descriptors in use stay valid). */
bool pfsd_store_compactable(pfsd_store_t *s, uint32_t pack, int64_t *size);
void pfsd_store_retire(pfsd_store_t *s, uint32_t pack);
/* The active pack, its size, and whether a write into it is unfinished
 * (false when there is no active pack). */
bool pfsd_store_active(pfsd_store_t *s, uint32_t *pack, int64_t *size,
                       bool *busy);
/* Ends the active pack if it is still `pack`, still `size` bytes and no
 * write into it is unfinished, so compaction may take it; the next write
 * starts a new pack.  For an active pack that is mostly garbage (failed
 * uploads) and would otherwise wait to fill up. */
bool pfsd_store_seal(pfsd_store_t *s, uint32_t pack, int64_t size);
/* Ids of pack files present on disk, ascending; caller frees. */
size_t pfsd_store_list(pfsd_store_t *s, uint32_t **ids);

/* Pins: a writer that found a chunk already stored and skipped writing it
 * pins the hash until its job is done; GC never deletes a pinned chunk.
 * pfsd_store_pins_lock() lets GC check pins and delete chunk rows as one
 * step with respect to writers pinning. */
void pfsd_store_pin(pfsd_store_t *s, const uint8_t sha[32]);
void pfsd_store_unpin(pfsd_store_t *s, const uint8_t sha[32]);
void pfsd_store_pins_lock(pfsd_store_t *s);
bool pfsd_store_pinned_locked(pfsd_store_t *s, const uint8_t sha[32]);
void pfsd_store_pins_unlock(pfsd_store_t *s);

#endif
