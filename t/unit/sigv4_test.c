/*
 * Unit tests of src/ngx_http_pfs_s3_sigv4.c against published vectors:
 *
 *   - AWS's Signature V4 test suite (credentials AKIDEXAMPLE, 2015-08-30,
 *     service "service": paths normalized and encoded as for any service);
 *   - the S3 examples of the Signature V4 documentation (examplebucket,
 *     2013-05-24: header, presigned URL and aws-chunked upload examples);
 *   - the Signature V2 examples of the S3 documentation.
 *
 * The vectors were written in here by hand from the published requests and
 * results.  Built by "make check-unit" against nginx's headers; the two
 * nginx functions the code calls are given below (pools are plain malloc:
 * the program is short-lived).  Prints TAP.
 */

#include <ngx_http_pfs_s3_sigv4.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ---------------------------------------------------------- nginx bits */

/*
 * Under AddressSanitizer (make check-unit SANITIZE=address,undefined, as
 * scripts/test-sanitized-pfsd runs it) the never-freed pool memory below is
 * no finding: leak checks of these functions are the fuzz targets' job,
 * whose runtime frees its pools.  Unused in other builds.
 */
const char *__asan_default_options(void);

const char *
__asan_default_options(void)
{
    return "detect_leaks=0";
}


void *
ngx_palloc(ngx_pool_t *pool, size_t size)
{
    (void) pool;
    return malloc(size ? size : 1);
}


void *
ngx_pnalloc(ngx_pool_t *pool, size_t size)
{
    return ngx_palloc(pool, size);
}


void *
ngx_array_push(ngx_array_t *a)
{
    void  *new;

    if (a->nelts == a->nalloc) {
        new = realloc(a->elts, 2 * a->nalloc * a->size);
        if (new == NULL) {
            return NULL;
        }

        a->elts = new;
        a->nalloc *= 2;
    }

    return (u_char *) a->elts + a->size * a->nelts++;
}


ngx_int_t
ngx_strncasecmp(u_char *s1, u_char *s2, size_t n)
{
    return strncasecmp((char *) s1, (char *) s2, n);
}


/* ---------------------------------------------------------- TAP */

static int  tests, failed;


static void
ok(int cond, const char *name)
{
    tests++;

    if (!cond) {
        failed++;
    }

    printf("%sok %d - %s\n", cond ? "" : "not ", tests, name);
}


static void
is(ngx_str_t *got, const char *want, const char *name)
{
    int  good;

    good = got->len == strlen(want) && memcmp(got->data, want, got->len) == 0;
    ok(good, name);

    if (!good) {
        printf("#      got: '%.*s'\n#   wanted: '%s'\n", (int) got->len,
               got->data, want);
    }
}


static ngx_str_t
str(const char *s)
{
    ngx_str_t  v;

    v.data = (u_char *) s;
    v.len = strlen(s);

    return v;
}


/* ---------------------------------------------------------- V4 */

typedef struct {
    const char  *name;
    const char  *method;
    const char  *path;
    const char  *query;
    const char  *headers[8][2];
    const char  *signed_headers;
    const char  *payload;          /* the body, or a hash if hashed */
    int          hashed;
    const char  *canonical;        /* NULL: not checked */
    const char  *signature;
} v4_case_t;


typedef struct {
    const char  *access;
    const char  *secret;
    const char  *date;
    const char  *credential;       /* ".../aws4_request" */
    int          s3;
} v4_suite_t;


static v4_suite_t  aws_suite = {
    "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "20150830T123600Z",
    "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request", 0
};

static v4_suite_t  s3_docs = {
    "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "20130524T000000Z",
    "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request", 1
};


#define HOST_DATE  { "host", "example.amazonaws.com" }, \
                   { "x-amz-date", "20150830T123600Z" }

#define EMPTY_SHA  \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


static v4_case_t  aws_cases[] = {

    { "get-vanilla", "GET", "/", "", { HOST_DATE }, "host;x-amz-date", "",
      0,
      "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
      "host;x-amz-date\n" EMPTY_SHA,
      "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },

    { "get-vanilla-query (empty query)", "GET", "/", "", { HOST_DATE },
      "host;x-amz-date", "", 0, NULL,
      "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },

    { "get-vanilla-query-order-key-case", "GET", "/",
      "Param2=value2&Param1=value1", { HOST_DATE }, "host;x-amz-date", "", 0,
      "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\n"
      "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_SHA,
      "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500" },

    { "get-vanilla-query-order-value", "GET", "/",
      "Param1=value2&Param1=value1", { HOST_DATE }, "host;x-amz-date", "", 0,
      NULL,
      "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694" },

    { "get-vanilla-utf8-query", "GET", "/", "\xe1\x88\xb4=bar",
      { HOST_DATE }, "host;x-amz-date", "", 0, NULL,
      "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04" },

    { "get-unreserved", "GET",
      "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
      "", { HOST_DATE }, "host;x-amz-date", "", 0, NULL,
      "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f" },

    { "get-slashes", "GET", "//example//", "", { HOST_DATE },
      "host;x-amz-date", "", 0, NULL,
      "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84" },

    { "get-slash", "GET", "//", "", { HOST_DATE }, "host;x-amz-date", "", 0,
      NULL,
      "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },

    { "get-slash-dot-slash", "GET", "/./", "", { HOST_DATE },
      "host;x-amz-date", "", 0, NULL,
      "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },

    { "get-relative", "GET", "/example/..", "", { HOST_DATE },
      "host;x-amz-date", "", 0, NULL,
      "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },

    { "get-relative-relative", "GET", "/example1/example2/../..", "",
      { HOST_DATE }, "host;x-amz-date", "", 0, NULL,
      "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },

    { "get-header-key-duplicate", "GET", "/", "",
      { { "host", "example.amazonaws.com" }, { "my-header1", "value2" },
        { "my-header1", "value2" }, { "my-header1", "value1" },
        { "x-amz-date", "20150830T123600Z" } },
      "host;my-header1;x-amz-date", "", 0,
      "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1"
      "\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n"
      EMPTY_SHA,
      "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea" },

    { "get-header-value-order", "GET", "/", "",
      { { "host", "example.amazonaws.com" }, { "my-header1", "value4" },
        { "my-header1", "value1" }, { "my-header1", "value3" },
        { "my-header1", "value2" }, { "x-amz-date", "20150830T123600Z" } },
      "host;my-header1;x-amz-date", "", 0, NULL,
      "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01" },

    { "get-header-value-trim", "GET", "/", "",
      { { "host", "example.amazonaws.com" }, { "my-header1", " value1" },
        { "my-header2", "\"a   b   c\"" },
        { "x-amz-date", "20150830T123600Z" } },
      "host;my-header1;my-header2;x-amz-date", "", 0,
      "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\n"
      "my-header2:\"a b c\"\nx-amz-date:20150830T123600Z\n\n"
      "host;my-header1;my-header2;x-amz-date\n" EMPTY_SHA,
      "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736" },

    { "post-x-www-form-urlencoded", "POST", "/", "",
      { { "content-type", "application/x-www-form-urlencoded" },
        HOST_DATE },
      "content-type;host;x-amz-date", "Param1=value1", 0,
      "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\n"
      "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
      "content-type;host;x-amz-date\n"
      "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
      "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a" },

    { NULL, NULL, NULL, NULL, { { NULL, NULL } }, NULL, NULL, 0, NULL, NULL }
};


#define S3_HOST  { "host", "examplebucket.s3.amazonaws.com" }
#define S3_DATE  { "x-amz-date", "20130524T000000Z" }

static v4_case_t  s3_cases[] = {

    { "S3 docs: GET object with a range", "GET", "/test.txt", "",
      { S3_HOST, { "range", "bytes=0-9" },
        { "x-amz-content-sha256", EMPTY_SHA }, S3_DATE },
      "host;range;x-amz-content-sha256;x-amz-date", EMPTY_SHA, 1,
      "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\n"
      "range:bytes=0-9\nx-amz-content-sha256:" EMPTY_SHA "\n"
      "x-amz-date:20130524T000000Z\n\n"
      "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA,
      "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41" },

    { "S3 docs: PUT object (\"$\" in the key)", "PUT", "/test$file.text", "",
      { { "date", "Fri, 24 May 2013 00:00:00 GMT" }, S3_HOST,
        { "x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b"
                                  "4b4e99e42034a8b803f8b072" },
        S3_DATE, { "x-amz-storage-class", "REDUCED_REDUNDANCY" } },
      "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
      "Welcome to Amazon S3.", 0, NULL,
      "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd" },

    { "S3 docs: PUT object, key sent encoded (%24)", "PUT",
      "/test%24file.text", "",
      { { "date", "Fri, 24 May 2013 00:00:00 GMT" }, S3_HOST,
        { "x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b"
                                  "4b4e99e42034a8b803f8b072" },
        S3_DATE, { "x-amz-storage-class", "REDUCED_REDUNDANCY" } },
      "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
      "Welcome to Amazon S3.", 0, NULL,
      "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd" },

    { "S3 docs: GET bucket lifecycle", "GET", "/", "lifecycle",
      { S3_HOST, { "x-amz-content-sha256", EMPTY_SHA }, S3_DATE },
      "host;x-amz-content-sha256;x-amz-date", EMPTY_SHA, 1,
      "GET\n/\nlifecycle=\nhost:examplebucket.s3.amazonaws.com\n"
      "x-amz-content-sha256:" EMPTY_SHA "\nx-amz-date:20130524T000000Z\n\n"
      "host;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA,
      "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543" },

    { "S3 docs: list objects", "GET", "/", "max-keys=2&prefix=J",
      { S3_HOST, { "x-amz-content-sha256", EMPTY_SHA }, S3_DATE },
      "host;x-amz-content-sha256;x-amz-date", EMPTY_SHA, 1, NULL,
      "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7" },

    { NULL, NULL, NULL, NULL, { { NULL, NULL } }, NULL, NULL, 0, NULL, NULL }
};


static void
run_v4(v4_suite_t *suite, v4_case_t *c, int presigned, const char *amz_date)
{
    u_char                    key[32], hex[65], hash[65];
    char                      name[256];
    ngx_str_t                 canonical, sts, secret, cred, date;
    ngx_uint_t                n;
    const char               *why;
    ngx_http_pfs_s3_kv_t      headers[8];
    ngx_http_pfs_s3_sigv4_t   sig;
    ngx_http_pfs_s3_canon_t   in;

    memset(&in, 0, sizeof(in));

    for (n = 0; n < 8 && c->headers[n][0]; n++) {
        headers[n].name = str(c->headers[n][0]);
        headers[n].value = str(c->headers[n][1]);
    }

    in.method = str(c->method);
    in.path = str(c->path);
    in.query = str(c->query);
    in.headers = headers;
    in.nheaders = n;
    in.signed_headers = str(c->signed_headers);
    in.s3 = suite->s3;
    in.presigned = presigned;

    if (c->hashed) {
        in.payload_hash = str(c->payload);

    } else {
        ngx_http_pfs_s3_sha256_hex((u_char *) c->payload, strlen(c->payload),
                                   hash);
        in.payload_hash.data = hash;
        in.payload_hash.len = 64;
    }

    ok(ngx_http_pfs_s3_sigv4_canonical(NULL, &in, &canonical) == NGX_OK,
       c->name);

    if (c->canonical) {
        snprintf(name, sizeof(name), "%s: canonical request", c->name);
        is(&canonical, c->canonical, name);
    }

    cred = str(suite->credential);
    snprintf(name, sizeof(name), "%s: credential parses", c->name);
    ok(ngx_http_pfs_s3_sigv4_parse_credential(&cred, &sig, &why) == NGX_OK,
       name);

    date = str(amz_date);
    ngx_http_pfs_s3_sigv4_string_to_sign(NULL, &date, &sig.scope, &canonical,
                                         &sts);

    secret = str(suite->secret);
    ngx_http_pfs_s3_sigv4_key(&secret, &sig, key);
    ngx_http_pfs_s3_sigv4_sign(key, &sts, hex);

    snprintf(name, sizeof(name), "%s: signature", c->name);
    sig.signature.data = hex;
    sig.signature.len = 64;
    is(&sig.signature, c->signature, name);
}


/* The S3 documentation's presigned GET (expires in 86400 s). */

static void
presigned(void)
{
    v4_case_t  c = {
        "S3 docs: presigned URL", "GET", "/test.txt",
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE"
        "%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature="
        "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
        { S3_HOST }, "host", "UNSIGNED-PAYLOAD", 1,
        "GET\n/test.txt\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
        "AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&"
        "X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&"
        "X-Amz-SignedHeaders=host\nhost:examplebucket.s3.amazonaws.com\n\n"
        "host\nUNSIGNED-PAYLOAD",
        "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    };

    run_v4(&s3_docs, &c, 1, "20130524T000000Z");
}


/*
 * The S3 documentation's aws-chunked upload: the seed signature of the
 * request, then 64 KiB of "a", 1 KiB of "a" and the final empty chunk, each
 * signed over the previous signature.
 */

static void
chunked(void)
{
    u_char                    key[32], hex[65], prev[65], hash[65];
    u_char                    buf[NGX_HTTP_PFS_S3_CHUNK_STS];
    u_char                   *data;
    ngx_str_t                 sts, secret, cred, date, got;
    ngx_uint_t                i;
    const char               *why;
    ngx_http_pfs_s3_sigv4_t   sig;

    static size_t       sizes[] = { 65536, 1024, 0 };
    static const char  *want[] = {
        "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
    };

    v4_case_t  c = {
        "S3 docs: aws-chunked seed", "PUT", "/examplebucket/chunkObject.txt",
        "",
        { { "content-encoding", "aws-chunked" },
          { "content-length", "66824" }, { "host", "s3.amazonaws.com" },
          { "x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" },
          S3_DATE, { "x-amz-decoded-content-length", "66560" },
          { "x-amz-storage-class", "REDUCED_REDUNDANCY" } },
        "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
        "x-amz-decoded-content-length;x-amz-storage-class",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", 1, NULL,
        "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
    };

    run_v4(&s3_docs, &c, 0, "20130524T000000Z");

    cred = str(s3_docs.credential);
    ngx_http_pfs_s3_sigv4_parse_credential(&cred, &sig, &why);
    secret = str(s3_docs.secret);
    ngx_http_pfs_s3_sigv4_key(&secret, &sig, key);
    date = str("20130524T000000Z");

    memcpy(prev, c.signature, 64);
    data = malloc(65536);
    memset(data, 'a', 65536);

    for (i = 0; i < 3; i++) {
        ngx_http_pfs_s3_sha256_hex(data, sizes[i], hash);
        sts.data = buf;
        sts.len = ngx_http_pfs_s3_sigv4_chunk_string(buf, &date, &sig.scope,
                                                     prev, hash, 0);
        ngx_http_pfs_s3_sigv4_sign(key, &sts, hex);

        got.data = hex;
        got.len = 64;
        is(&got, want[i], "S3 docs: aws-chunked chunk signature");

        memcpy(prev, hex, 64);
    }

    free(data);
}


static void
parse_header(void)
{
    ngx_str_t                 v;
    const char               *why;
    ngx_http_pfs_s3_sigv4_t   sig;

    v = str("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/"
            "us-east-1/s3/aws4_request,SignedHeaders=host;range;"
            "x-amz-content-sha256;x-amz-date,Signature=fe5f80f77d5fa3beca038a"
            "248ff027d0445342fe2855ddc963176630326f1024");

    ok(ngx_http_pfs_s3_sigv4_parse_header(&v, &sig, &why) == NGX_OK,
       "Authorization header parses (no spaces after commas)");
    is(&sig.access_key, "AKIAIOSFODNN7EXAMPLE", "access key");
    is(&sig.scope, "20130524/us-east-1/s3/aws4_request", "scope");
    is(&sig.region, "us-east-1", "region");
    is(&sig.service, "s3", "service");
    is(&sig.signed_headers, "host;range;x-amz-content-sha256;x-amz-date",
       "signed headers");

    v = str("AWS4-HMAC-SHA256 Credential=a/b/20130524/us-east-1/s3/"
            "aws4_request, SignedHeaders=host, Signature=fe5f80f77d5fa3beca038a"
            "248ff027d0445342fe2855ddc963176630326f1024");
    ok(ngx_http_pfs_s3_sigv4_parse_header(&v, &sig, &why) == NGX_OK,
       "an access key with \"/\" parses");
    is(&sig.access_key, "a/b", "... and keeps its \"/\"");

    v = str("AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request"
            ", SignedHeaders=host, Signature=abc");
    ok(ngx_http_pfs_s3_sigv4_parse_header(&v, &sig, &why) == NGX_DECLINED,
       "a short signature is refused");

    v = str("AWS4-HMAC-SHA256 Credential=AK/2013052/us-east-1/s3/aws4_request"
            ", SignedHeaders=host, Signature=fe5f80f77d5fa3beca038a"
            "248ff027d0445342fe2855ddc963176630326f1024");
    ok(ngx_http_pfs_s3_sigv4_parse_header(&v, &sig, &why) == NGX_DECLINED,
       "a bad credential date is refused");

    v = str("AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws5_request"
            ", SignedHeaders=host, Signature=fe5f80f77d5fa3beca038a"
            "248ff027d0445342fe2855ddc963176630326f1024");
    ok(ngx_http_pfs_s3_sigv4_parse_header(&v, &sig, &why) == NGX_DECLINED,
       "a credential not ending in aws4_request is refused");

    v = str("AWS4-HMAC-SHA256 SignedHeaders=host, Signature=fe5f80f77d5fa3bec"
            "a038a248ff027d0445342fe2855ddc963176630326f1024");
    ok(ngx_http_pfs_s3_sigv4_parse_header(&v, &sig, &why) == NGX_DECLINED,
       "a header without Credential is refused");

    v = str("AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=");
    ok(ngx_http_pfs_s3_sigv4_parse_header(&v, &sig, &why) == NGX_DECLINED,
       "a V2 header is not V4");
}


/* ---------------------------------------------------------- V2 */

typedef struct {
    const char  *name;
    const char  *method;
    const char  *md5;
    const char  *type;
    const char  *date;
    const char  *headers[4][2];
    const char  *resource;
    const char  *args[4][2];
    const char  *sts;
    const char  *signature;
} v2_case_t;


static v2_case_t  v2_cases[] = {

    { "V2 docs: object GET", "GET", "", "", "Tue, 27 Mar 2007 19:36:42 +0000",
      { { NULL, NULL } }, "/awsexamplebucket1/photos/puppy.jpg",
      { { NULL, NULL } },
      "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n"
      "/awsexamplebucket1/photos/puppy.jpg",
      "qgk2+6Sv9/oM7G3qLEjTH1a1l1g=" },

    { "V2 docs: object PUT", "PUT", "", "image/jpeg",
      "Tue, 27 Mar 2007 21:15:45 +0000", { { NULL, NULL } },
      "/awsexamplebucket1/photos/puppy.jpg", { { NULL, NULL } },
      "PUT\n\nimage/jpeg\nTue, 27 Mar 2007 21:15:45 +0000\n"
      "/awsexamplebucket1/photos/puppy.jpg",
      "iqRzw+ileNPu1fhspnRs8nOjjIA=" },

    { "V2 docs: list", "GET", "", "", "Tue, 27 Mar 2007 19:42:41 +0000",
      { { NULL, NULL } }, "/awsexamplebucket1/",
      { { "prefix", "photos" }, { "max-keys", "50" }, { "marker", "puppy" } },
      "GET\n\n\nTue, 27 Mar 2007 19:42:41 +0000\n/awsexamplebucket1/",
      "m0WP8eCtspQl5Ahe6L1SozdX9YA=" },

    { "V2 docs: fetch ACL", "GET", "", "", "Tue, 27 Mar 2007 19:44:46 +0000",
      { { NULL, NULL } }, "/awsexamplebucket1/", { { "acl", "" } },
      "GET\n\n\nTue, 27 Mar 2007 19:44:46 +0000\n/awsexamplebucket1/?acl",
      "82ZHiFIjc+WbcwFKGUVEQspPn+0=" },

    { "V2 docs: delete", "DELETE", "", "",
      "Tue, 27 Mar 2007 21:20:26 +0000", { { NULL, NULL } },
      "/awsexamplebucket1/photos/puppy.jpg", { { NULL, NULL } },
      "DELETE\n\n\nTue, 27 Mar 2007 21:20:26 +0000\n"
      "/awsexamplebucket1/photos/puppy.jpg",
      "XbyTlbQdu9Xw5o8P4iMwPktxQd8=" },

    /* x-amz-* headers sorted, repeated ones joined, after the date line */
    { "V2: x-amz headers", "PUT", "", "", "",
      { { "x-amz-meta-b", " two " }, { "x-amz-date", "Tue, 27 Mar 2007" },
        { "x-amz-meta-b", "three" }, { "content-type", "not/amz" } },
      "/b/k", { { "uploadId", "7" }, { "partNumber", "2" }, { "x", "y" } },
      "PUT\n\n\n\nx-amz-date:Tue, 27 Mar 2007\nx-amz-meta-b:two,three\n"
      "/b/k?partNumber=2&uploadId=7",
      NULL },

    { NULL, NULL, NULL, NULL, NULL, { { NULL, NULL } }, NULL,
      { { NULL, NULL } }, NULL, NULL }
};


static void
run_v2(v2_case_t *c)
{
    u_char                       buf[64];
    char                         name[256];
    ngx_str_t                    sts, secret, b64;
    ngx_uint_t                   i;
    ngx_http_pfs_s3_kv_t         headers[4], args[4];
    ngx_http_pfs_s3_v2_input_t   in;

    memset(&in, 0, sizeof(in));

    in.method = str(c->method);
    in.content_md5 = str(c->md5);
    in.content_type = str(c->type);
    in.date = str(c->date);
    in.resource = str(c->resource);

    for (i = 0; i < 4 && c->headers[i][0]; i++) {
        headers[i].name = str(c->headers[i][0]);
        headers[i].value = str(c->headers[i][1]);
    }

    in.headers = headers;
    in.nheaders = i;

    for (i = 0; i < 4 && c->args[i][0]; i++) {
        args[i].name = str(c->args[i][0]);
        args[i].value = str(c->args[i][1]);
    }

    in.args = args;
    in.nargs = i;

    ngx_http_pfs_s3_sigv2_string_to_sign(NULL, &in, &sts);
    snprintf(name, sizeof(name), "%s: string to sign", c->name);
    is(&sts, c->sts, name);

    secret = str("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    b64.data = buf;
    ngx_http_pfs_s3_sigv2_sign(&secret, &sts, &b64);
    if (c->signature) {
        snprintf(name, sizeof(name), "%s: signature", c->name);
        is(&b64, c->signature, name);
    }
}


static void
equal(void)
{
    ngx_str_t  a;

    a = str("abc");
    ok(ngx_http_pfs_s3_sig_equal(&a, (u_char *) "abc", 3), "equal");
    ok(!ngx_http_pfs_s3_sig_equal(&a, (u_char *) "abd", 3), "not equal");
    ok(!ngx_http_pfs_s3_sig_equal(&a, (u_char *) "abcd", 4),
       "length differs");
}


int
main(void)
{
    v4_case_t  *c;
    v2_case_t  *c2;

    for (c = aws_cases; c->name; c++) {
        run_v4(&aws_suite, c, 0, "20150830T123600Z");
    }

    for (c = s3_cases; c->name; c++) {
        run_v4(&s3_docs, c, 0, "20130524T000000Z");
    }

    presigned();
    chunked();
    parse_header();

    for (c2 = v2_cases; c2->name; c2++) {
        run_v2(c2);
    }

    equal();

    printf("1..%d\n", tests);

    return failed ? 1 : 0;
}
