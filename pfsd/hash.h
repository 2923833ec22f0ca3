/* Digests (OpenSSL EVP) and the FileInfo.hash of composed files. */
#ifndef PFSD_HASH_H
#define PFSD_HASH_H

#include <stddef.h>
#include <stdint.h>

#define PFSD_MD5_LEN    16
#define PFSD_SHA256_LEN 32
#define PFSD_HASH_MAX   20      /* a composed hash: MD5 + part count */

void pfsd_sha256(const void *data, size_t len, uint8_t out[PFSD_SHA256_LEN]);
void pfsd_md5(const void *data, size_t len, uint8_t out[PFSD_MD5_LEN]);

/* A running MD5 (one per file part being written). */
typedef struct pfsd_md5_ctx pfsd_md5_ctx_t;
pfsd_md5_ctx_t *pfsd_md5_new(void);
void pfsd_md5_update(pfsd_md5_ctx_t *c, const void *data, size_t len);
void pfsd_md5_final(pfsd_md5_ctx_t *c, uint8_t out[PFSD_MD5_LEN]);
void pfsd_md5_free(pfsd_md5_ctx_t *c);

/* FileInfo.hash of a content made of nparts parts with the given MD5s
 * (concatenated in parts): one part -> that MD5 (16 bytes); several ->
 * MD5 of the concatenated MD5s followed by the part count as a 32-bit
 * big-endian integer (20 bytes), which is S3's multipart ETag.  Returns
 * the hash length. */
size_t pfsd_hash_compose(const uint8_t *parts, size_t nparts,
                         uint8_t out[PFSD_HASH_MAX]);

#endif
