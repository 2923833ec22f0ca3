#include "hash.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pfsd_md5_ctx {
    EVP_MD_CTX *ctx;
};

static void
pfsd_digest(const EVP_MD *md, const void *data, size_t len, uint8_t *out)
{
    unsigned int n;

    if (EVP_Digest(data, len, out, &n, md, NULL) != 1) {
        fprintf(stderr, "pfsd: EVP_Digest failed\n");
        abort();
    }
}

void
pfsd_sha256(const void *data, size_t len, uint8_t out[PFSD_SHA256_LEN])
{
    pfsd_digest(EVP_sha256(), data, len, out);
}

void
pfsd_md5(const void *data, size_t len, uint8_t out[PFSD_MD5_LEN])
{
    pfsd_digest(EVP_md5(), data, len, out);
}

pfsd_md5_ctx_t *
pfsd_md5_new(void)
{
    pfsd_md5_ctx_t *c = malloc(sizeof(*c));

    if (c == NULL || (c->ctx = EVP_MD_CTX_new()) == NULL
        || EVP_DigestInit_ex(c->ctx, EVP_md5(), NULL) != 1)
    {
        fprintf(stderr, "pfsd: cannot start an MD5 digest\n");
        abort();
    }
    return c;
}

void
pfsd_md5_update(pfsd_md5_ctx_t *c, const void *data, size_t len)
{
    EVP_DigestUpdate(c->ctx, data, len);
}

void
pfsd_md5_final(pfsd_md5_ctx_t *c, uint8_t out[PFSD_MD5_LEN])
{
    unsigned int n;

    EVP_DigestFinal_ex(c->ctx, out, &n);
}

void
pfsd_md5_free(pfsd_md5_ctx_t *c)
{
    if (c != NULL) {
        EVP_MD_CTX_free(c->ctx);
        free(c);
    }
}

size_t
pfsd_hash_compose(const uint8_t *parts, size_t nparts,
                  uint8_t out[PFSD_HASH_MAX])
{
    if (nparts == 0) {
        pfsd_md5("", 0, out);
        return PFSD_MD5_LEN;
    }
    if (nparts == 1) {
        memcpy(out, parts, PFSD_MD5_LEN);
        return PFSD_MD5_LEN;
    }
    pfsd_md5(parts, nparts * PFSD_MD5_LEN, out);
    out[16] = (uint8_t) (nparts >> 24);
    out[17] = (uint8_t) (nparts >> 16);
    out[18] = (uint8_t) (nparts >> 8);
    out[19] = (uint8_t) nparts;
    return PFSD_HASH_MAX;
}
