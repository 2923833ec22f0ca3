/* FileInfo.hash composition: one part is its MD5, several are the S3
 * multipart ETag form (MD5 of the MD5s + big-endian part count). */
#include "hash.h"
#include "tap.h"
#include "util.h"

static void
hex_is(const uint8_t *h, size_t n, const char *want, const char *name)
{
    char buf[2 * PFSD_HASH_MAX + 1];

    pfsd_hex(h, n, buf);
    tap_str(buf, want, name);
}

int
main(void)
{
    uint8_t parts[3 * PFSD_MD5_LEN], out[PFSD_HASH_MAX];
    pfsd_md5_ctx_t *c;
    size_t n;

    pfsd_md5("hello", 5, parts);
    pfsd_md5(" world", 6, parts + 16);
    pfsd_md5("!", 1, parts + 32);

    n = pfsd_hash_compose(parts, 1, out);
    tap_int((long long) n, 16, "one part: 16 bytes");
    hex_is(out, n, "5d41402abc4b2a76b9719d911017c592", "one part: its MD5");

    n = pfsd_hash_compose(parts, 2, out);
    tap_int((long long) n, 20, "two parts: 20 bytes");
    hex_is(out, n, "a56979024342128ecebc884e3442121b00000002",
           "two parts: md5(md5 a + md5 b) then 00000002");

    n = pfsd_hash_compose(parts, 3, out);
    hex_is(out, n, "d2f6a115b1c5c8052648b6d2573f62cc00000003",
           "three parts: count 3 big-endian");

    n = pfsd_hash_compose(NULL, 0, out);
    hex_is(out, n, "d41d8cd98f00b204e9800998ecf8427e",
           "no part (empty content): MD5 of nothing");

    c = pfsd_md5_new();
    pfsd_md5_update(c, "hel", 3);
    pfsd_md5_update(c, "lo", 2);
    pfsd_md5_final(c, out);
    pfsd_md5_free(c);
    hex_is(out, 16, "5d41402abc4b2a76b9719d911017c592",
           "a running MD5 over pieces equals the one-shot MD5");

    {
        uint8_t sha[32];
        char buf[65];

        pfsd_sha256("abc", 3, sha);
        pfsd_hex(sha, 32, buf);
        tap_str(buf, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61"
                "f20015ad", "SHA-256 of abc");
    }
    return tap_done();
}
