/*
 * S3's additional checksums of an upload: x-amz-checksum-crc32, -crc32c,
 * -sha1 or -sha256, given as a request header or, for aws-chunked bodies,
 * as a trailer named by x-amz-trailer (what the AWS SDKs send by default).
 * The checksum is computed by the request body filter as the decoded bytes
 * arrive (ngx_http_pfs_s3_body.c) and compared once the body (and its
 * trailer) has been read; a mismatch fails the upload before anything
 * reaches PFS.
 *
 * SHA-1 and SHA-256 are OpenSSL's.  The CRCs are the reflected CRC-32 of
 * zlib (polynomial 0x04c11db7), CRC-32C (Castagnoli, 0x1edc6f41) and
 * CRC-64/NVME (0xad93d23594c93659), byte at a time over the tables below,
 * which were generated from those polynomials.
 */

#include <ngx_http_pfs_s3.h>


#define NGX_HTTP_PFS_S3_CRC32      1
#define NGX_HTTP_PFS_S3_CRC32C     2
#define NGX_HTTP_PFS_S3_CRC64NVME  3


typedef struct {
    ngx_str_t                  name;        /* after "x-amz-checksum-" */
    size_t                     size;        /* of the raw checksum */
    ngx_uint_t                 crc;         /* NGX_HTTP_PFS_S3_CRC32* */
    const EVP_MD            *(*md)(void);
    const char                *mismatch;
} ngx_http_pfs_s3_checksum_alg_t;


struct ngx_http_pfs_s3_body_checksum_s {
    ngx_http_pfs_s3_checksum_alg_t  *alg;
    const uint32_t                  *table;
    const uint64_t                  *table64;
    uint64_t                         crc;
    EVP_MD_CTX                      *md;
    u_char                           want[EVP_MAX_MD_SIZE];
    unsigned                         trailer:1;    /* value in the trailer */
    unsigned                         done:1;
    unsigned                         verified:1;
};


static ngx_http_pfs_s3_checksum_alg_t *ngx_http_pfs_s3_checksum_alg(
    u_char *name, size_t len);
static ngx_int_t ngx_http_pfs_s3_checksum_found(
    ngx_http_pfs_s3_checksum_alg_t **found,
    ngx_http_pfs_s3_checksum_alg_t *alg, ngx_http_pfs_s3_err_e *err,
    const char **why);
static ngx_int_t ngx_http_pfs_s3_checksum_decode(
    ngx_http_pfs_s3_body_checksum_t *cs, ngx_str_t *value);
static ngx_int_t ngx_http_pfs_s3_checksum_trailer(ngx_http_pfs_s3_ctx_t *ctx,
    ngx_http_pfs_s3_body_checksum_t *cs);


static ngx_http_pfs_s3_checksum_alg_t  ngx_http_pfs_s3_checksum_algs[] = {
    { ngx_string("crc32"), 4, NGX_HTTP_PFS_S3_CRC32, NULL,
      "The CRC32 you specified did not match the calculated checksum." },
    { ngx_string("crc32c"), 4, NGX_HTTP_PFS_S3_CRC32C, NULL,
      "The CRC32C you specified did not match the calculated checksum." },
    { ngx_string("sha1"), 20, 0, EVP_sha1,
      "The SHA1 you specified did not match the calculated checksum." },
    { ngx_string("sha256"), 32, 0, EVP_sha256,
      "The SHA256 you specified did not match the calculated checksum." },
    { ngx_string("crc64nvme"), 8, NGX_HTTP_PFS_S3_CRC64NVME, NULL,
      "The CRC64NVME you specified did not match the calculated checksum." },
    { ngx_null_string, 0, 0, NULL, NULL }
};


static const uint32_t  ngx_http_pfs_s3_crc32_table[256] = {
    0x00000000, 0x77073096, 0xee0e612c, 0x990951ba,
    0x076dc419, 0x706af48f, 0xe963a535, 0x9e6495a3,
    0x0edb8832, 0x79dcb8a4, 0xe0d5e91e, 0x97d2d988,
    0x09b64c2b, 0x7eb17cbd, 0xe7b82d07, 0x90bf1d91,
    0x1db71064, 0x6ab020f2, 0xf3b97148, 0x84be41de,
    0x1adad47d, 0x6ddde4eb, 0xf4d4b551, 0x83d385c7,
    0x136c9856, 0x646ba8c0, 0xfd62f97a, 0x8a65c9ec,
    0x14015c4f, 0x63066cd9, 0xfa0f3d63, 0x8d080df5,
    0x3b6e20c8, 0x4c69105e, 0xd56041e4, 0xa2677172,
    0x3c03e4d1, 0x4b04d447, 0xd20d85fd, 0xa50ab56b,
    0x35b5a8fa, 0x42b2986c, 0xdbbbc9d6, 0xacbcf940,
    0x32d86ce3, 0x45df5c75, 0xdcd60dcf, 0xabd13d59,
    0x26d930ac, 0x51de003a, 0xc8d75180, 0xbfd06116,
    0x21b4f4b5, 0x56b3c423, 0xcfba9599, 0xb8bda50f,
    0x2802b89e, 0x5f058808, 0xc60cd9b2, 0xb10be924,
    0x2f6f7c87, 0x58684c11, 0xc1611dab, 0xb6662d3d,
    0x76dc4190, 0x01db7106, 0x98d220bc, 0xefd5102a,
    0x71b18589, 0x06b6b51f, 0x9fbfe4a5, 0xe8b8d433,
    0x7807c9a2, 0x0f00f934, 0x9609a88e, 0xe10e9818,
    0x7f6a0dbb, 0x086d3d2d, 0x91646c97, 0xe6635c01,
    0x6b6b51f4, 0x1c6c6162, 0x856530d8, 0xf262004e,
    0x6c0695ed, 0x1b01a57b, 0x8208f4c1, 0xf50fc457,
    0x65b0d9c6, 0x12b7e950, 0x8bbeb8ea, 0xfcb9887c,
    0x62dd1ddf, 0x15da2d49, 0x8cd37cf3, 0xfbd44c65,
    0x4db26158, 0x3ab551ce, 0xa3bc0074, 0xd4bb30e2,
    0x4adfa541, 0x3dd895d7, 0xa4d1c46d, 0xd3d6f4fb,
    0x4369e96a, 0x346ed9fc, 0xad678846, 0xda60b8d0,
    0x44042d73, 0x33031de5, 0xaa0a4c5f, 0xdd0d7cc9,
    0x5005713c, 0x270241aa, 0xbe0b1010, 0xc90c2086,
    0x5768b525, 0x206f85b3, 0xb966d409, 0xce61e49f,
    0x5edef90e, 0x29d9c998, 0xb0d09822, 0xc7d7a8b4,
    0x59b33d17, 0x2eb40d81, 0xb7bd5c3b, 0xc0ba6cad,
    0xedb88320, 0x9abfb3b6, 0x03b6e20c, 0x74b1d29a,
    0xead54739, 0x9dd277af, 0x04db2615, 0x73dc1683,
    0xe3630b12, 0x94643b84, 0x0d6d6a3e, 0x7a6a5aa8,
    0xe40ecf0b, 0x9309ff9d, 0x0a00ae27, 0x7d079eb1,
    0xf00f9344, 0x8708a3d2, 0x1e01f268, 0x6906c2fe,
    0xf762575d, 0x806567cb, 0x196c3671, 0x6e6b06e7,
    0xfed41b76, 0x89d32be0, 0x10da7a5a, 0x67dd4acc,
    0xf9b9df6f, 0x8ebeeff9, 0x17b7be43, 0x60b08ed5,
    0xd6d6a3e8, 0xa1d1937e, 0x38d8c2c4, 0x4fdff252,
    0xd1bb67f1, 0xa6bc5767, 0x3fb506dd, 0x48b2364b,
    0xd80d2bda, 0xaf0a1b4c, 0x36034af6, 0x41047a60,
    0xdf60efc3, 0xa867df55, 0x316e8eef, 0x4669be79,
    0xcb61b38c, 0xbc66831a, 0x256fd2a0, 0x5268e236,
    0xcc0c7795, 0xbb0b4703, 0x220216b9, 0x5505262f,
    0xc5ba3bbe, 0xb2bd0b28, 0x2bb45a92, 0x5cb36a04,
    0xc2d7ffa7, 0xb5d0cf31, 0x2cd99e8b, 0x5bdeae1d,
    0x9b64c2b0, 0xec63f226, 0x756aa39c, 0x026d930a,
    0x9c0906a9, 0xeb0e363f, 0x72076785, 0x05005713,
    0x95bf4a82, 0xe2b87a14, 0x7bb12bae, 0x0cb61b38,
    0x92d28e9b, 0xe5d5be0d, 0x7cdcefb7, 0x0bdbdf21,
    0x86d3d2d4, 0xf1d4e242, 0x68ddb3f8, 0x1fda836e,
    0x81be16cd, 0xf6b9265b, 0x6fb077e1, 0x18b74777,
    0x88085ae6, 0xff0f6a70, 0x66063bca, 0x11010b5c,
    0x8f659eff, 0xf862ae69, 0x616bffd3, 0x166ccf45,
    0xa00ae278, 0xd70dd2ee, 0x4e048354, 0x3903b3c2,
    0xa7672661, 0xd06016f7, 0x4969474d, 0x3e6e77db,
    0xaed16a4a, 0xd9d65adc, 0x40df0b66, 0x37d83bf0,
    0xa9bcae53, 0xdebb9ec5, 0x47b2cf7f, 0x30b5ffe9,
    0xbdbdf21c, 0xcabac28a, 0x53b39330, 0x24b4a3a6,
    0xbad03605, 0xcdd70693, 0x54de5729, 0x23d967bf,
    0xb3667a2e, 0xc4614ab8, 0x5d681b02, 0x2a6f2b94,
    0xb40bbe37, 0xc30c8ea1, 0x5a05df1b, 0x2d02ef8d
};

static const uint32_t  ngx_http_pfs_s3_crc32c_table[256] = {
    0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4,
    0xc79a971f, 0x35f1141c, 0x26a1e7e8, 0xd4ca64eb,
    0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b,
    0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24,
    0x105ec76f, 0xe235446c, 0xf165b798, 0x030e349b,
    0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
    0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54,
    0x5d1d08bf, 0xaf768bbc, 0xbc267848, 0x4e4dfb4b,
    0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a,
    0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35,
    0xaa64d611, 0x580f5512, 0x4b5fa6e6, 0xb93425e5,
    0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
    0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45,
    0xf779deae, 0x05125dad, 0x1642ae59, 0xe4292d5a,
    0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a,
    0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595,
    0x417b1dbc, 0xb3109ebf, 0xa0406d4b, 0x522bee48,
    0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
    0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687,
    0x0c38d26c, 0xfe53516f, 0xed03a29b, 0x1f682198,
    0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927,
    0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38,
    0xdbfc821c, 0x2997011f, 0x3ac7f2eb, 0xc8ac71e8,
    0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
    0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096,
    0xa65c047d, 0x5437877e, 0x4767748a, 0xb50cf789,
    0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859,
    0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46,
    0x7198540d, 0x83f3d70e, 0x90a324fa, 0x62c8a7f9,
    0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
    0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36,
    0x3cdb9bdd, 0xceb018de, 0xdde0eb2a, 0x2f8b6829,
    0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c,
    0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93,
    0x082f63b7, 0xfa44e0b4, 0xe9141340, 0x1b7f9043,
    0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
    0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3,
    0x55326b08, 0xa759e80b, 0xb4091bff, 0x466298fc,
    0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c,
    0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033,
    0xa24bb5a6, 0x502036a5, 0x4370c551, 0xb11b4652,
    0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
    0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d,
    0xef087a76, 0x1d63f975, 0x0e330a81, 0xfc588982,
    0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d,
    0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622,
    0x38cc2a06, 0xcaa7a905, 0xd9f75af1, 0x2b9cd9f2,
    0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
    0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530,
    0x0417b1db, 0xf67c32d8, 0xe52cc12c, 0x1747422f,
    0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff,
    0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0,
    0xd3d3e1ab, 0x21b862a8, 0x32e8915c, 0xc083125f,
    0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
    0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90,
    0x9e902e7b, 0x6cfbad78, 0x7fab5e8c, 0x8dc0dd8f,
    0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee,
    0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1,
    0x69e9f0d5, 0x9b8273d6, 0x88d28022, 0x7ab90321,
    0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
    0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81,
    0x34f4f86a, 0xc69f7b69, 0xd5cf889d, 0x27a40b9e,
    0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e,
    0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351
};


static const uint64_t  ngx_http_pfs_s3_crc64nvme_table[256] = {
    0x0000000000000000ULL, 0x7f6ef0c830358979ULL,
    0xfedde190606b12f2ULL, 0x81b31158505e9b8bULL,
    0xc962e5739841b68fULL, 0xb60c15bba8743ff6ULL,
    0x37bf04e3f82aa47dULL, 0x48d1f42bc81f2d04ULL,
    0xa61cecb46814fe75ULL, 0xd9721c7c5821770cULL,
    0x58c10d24087fec87ULL, 0x27affdec384a65feULL,
    0x6f7e09c7f05548faULL, 0x1010f90fc060c183ULL,
    0x91a3e857903e5a08ULL, 0xeecd189fa00bd371ULL,
    0x78e0ff3b88be6f81ULL, 0x078e0ff3b88be6f8ULL,
    0x863d1eabe8d57d73ULL, 0xf953ee63d8e0f40aULL,
    0xb1821a4810ffd90eULL, 0xceecea8020ca5077ULL,
    0x4f5ffbd87094cbfcULL, 0x30310b1040a14285ULL,
    0xdefc138fe0aa91f4ULL, 0xa192e347d09f188dULL,
    0x2021f21f80c18306ULL, 0x5f4f02d7b0f40a7fULL,
    0x179ef6fc78eb277bULL, 0x68f0063448deae02ULL,
    0xe943176c18803589ULL, 0x962de7a428b5bcf0ULL,
    0xf1c1fe77117cdf02ULL, 0x8eaf0ebf2149567bULL,
    0x0f1c1fe77117cdf0ULL, 0x7072ef2f41224489ULL,
    0x38a31b04893d698dULL, 0x47cdebccb908e0f4ULL,
    0xc67efa94e9567b7fULL, 0xb9100a5cd963f206ULL,
    0x57dd12c379682177ULL, 0x28b3e20b495da80eULL,
    0xa900f35319033385ULL, 0xd66e039b2936bafcULL,
    0x9ebff7b0e12997f8ULL, 0xe1d10778d11c1e81ULL,
    0x606216208142850aULL, 0x1f0ce6e8b1770c73ULL,
    0x8921014c99c2b083ULL, 0xf64ff184a9f739faULL,
    0x77fce0dcf9a9a271ULL, 0x08921014c99c2b08ULL,
    0x4043e43f0183060cULL, 0x3f2d14f731b68f75ULL,
    0xbe9e05af61e814feULL, 0xc1f0f56751dd9d87ULL,
    0x2f3dedf8f1d64ef6ULL, 0x50531d30c1e3c78fULL,
    0xd1e00c6891bd5c04ULL, 0xae8efca0a188d57dULL,
    0xe65f088b6997f879ULL, 0x9931f84359a27100ULL,
    0x1882e91b09fcea8bULL, 0x67ec19d339c963f2ULL,
    0xd75adabd7a6e2d6fULL, 0xa8342a754a5ba416ULL,
    0x29873b2d1a053f9dULL, 0x56e9cbe52a30b6e4ULL,
    0x1e383fcee22f9be0ULL, 0x6156cf06d21a1299ULL,
    0xe0e5de5e82448912ULL, 0x9f8b2e96b271006bULL,
    0x71463609127ad31aULL, 0x0e28c6c1224f5a63ULL,
    0x8f9bd7997211c1e8ULL, 0xf0f5275142244891ULL,
    0xb824d37a8a3b6595ULL, 0xc74a23b2ba0eececULL,
    0x46f932eaea507767ULL, 0x3997c222da65fe1eULL,
    0xafba2586f2d042eeULL, 0xd0d4d54ec2e5cb97ULL,
    0x5167c41692bb501cULL, 0x2e0934dea28ed965ULL,
    0x66d8c0f56a91f461ULL, 0x19b6303d5aa47d18ULL,
    0x980521650afae693ULL, 0xe76bd1ad3acf6feaULL,
    0x09a6c9329ac4bc9bULL, 0x76c839faaaf135e2ULL,
    0xf77b28a2faafae69ULL, 0x8815d86aca9a2710ULL,
    0xc0c42c4102850a14ULL, 0xbfaadc8932b0836dULL,
    0x3e19cdd162ee18e6ULL, 0x41773d1952db919fULL,
    0x269b24ca6b12f26dULL, 0x59f5d4025b277b14ULL,
    0xd846c55a0b79e09fULL, 0xa72835923b4c69e6ULL,
    0xeff9c1b9f35344e2ULL, 0x90973171c366cd9bULL,
    0x1124202993385610ULL, 0x6e4ad0e1a30ddf69ULL,
    0x8087c87e03060c18ULL, 0xffe938b633338561ULL,
    0x7e5a29ee636d1eeaULL, 0x0134d92653589793ULL,
    0x49e52d0d9b47ba97ULL, 0x368bddc5ab7233eeULL,
    0xb738cc9dfb2ca865ULL, 0xc8563c55cb19211cULL,
    0x5e7bdbf1e3ac9decULL, 0x21152b39d3991495ULL,
    0xa0a63a6183c78f1eULL, 0xdfc8caa9b3f20667ULL,
    0x97193e827bed2b63ULL, 0xe877ce4a4bd8a21aULL,
    0x69c4df121b863991ULL, 0x16aa2fda2bb3b0e8ULL,
    0xf86737458bb86399ULL, 0x8709c78dbb8deae0ULL,
    0x06bad6d5ebd3716bULL, 0x79d4261ddbe6f812ULL,
    0x3105d23613f9d516ULL, 0x4e6b22fe23cc5c6fULL,
    0xcfd833a67392c7e4ULL, 0xb0b6c36e43a74e9dULL,
    0x9a6c9329ac4bc9b5ULL, 0xe50263e19c7e40ccULL,
    0x64b172b9cc20db47ULL, 0x1bdf8271fc15523eULL,
    0x530e765a340a7f3aULL, 0x2c608692043ff643ULL,
    0xadd397ca54616dc8ULL, 0xd2bd67026454e4b1ULL,
    0x3c707f9dc45f37c0ULL, 0x431e8f55f46abeb9ULL,
    0xc2ad9e0da4342532ULL, 0xbdc36ec59401ac4bULL,
    0xf5129aee5c1e814fULL, 0x8a7c6a266c2b0836ULL,
    0x0bcf7b7e3c7593bdULL, 0x74a18bb60c401ac4ULL,
    0xe28c6c1224f5a634ULL, 0x9de29cda14c02f4dULL,
    0x1c518d82449eb4c6ULL, 0x633f7d4a74ab3dbfULL,
    0x2bee8961bcb410bbULL, 0x548079a98c8199c2ULL,
    0xd53368f1dcdf0249ULL, 0xaa5d9839ecea8b30ULL,
    0x449080a64ce15841ULL, 0x3bfe706e7cd4d138ULL,
    0xba4d61362c8a4ab3ULL, 0xc52391fe1cbfc3caULL,
    0x8df265d5d4a0eeceULL, 0xf29c951de49567b7ULL,
    0x732f8445b4cbfc3cULL, 0x0c41748d84fe7545ULL,
    0x6bad6d5ebd3716b7ULL, 0x14c39d968d029fceULL,
    0x95708ccedd5c0445ULL, 0xea1e7c06ed698d3cULL,
    0xa2cf882d2576a038ULL, 0xdda178e515432941ULL,
    0x5c1269bd451db2caULL, 0x237c997575283bb3ULL,
    0xcdb181ead523e8c2ULL, 0xb2df7122e51661bbULL,
    0x336c607ab548fa30ULL, 0x4c0290b2857d7349ULL,
    0x04d364994d625e4dULL, 0x7bbd94517d57d734ULL,
    0xfa0e85092d094cbfULL, 0x856075c11d3cc5c6ULL,
    0x134d926535897936ULL, 0x6c2362ad05bcf04fULL,
    0xed9073f555e26bc4ULL, 0x92fe833d65d7e2bdULL,
    0xda2f7716adc8cfb9ULL, 0xa54187de9dfd46c0ULL,
    0x24f29686cda3dd4bULL, 0x5b9c664efd965432ULL,
    0xb5517ed15d9d8743ULL, 0xca3f8e196da80e3aULL,
    0x4b8c9f413df695b1ULL, 0x34e26f890dc31cc8ULL,
    0x7c339ba2c5dc31ccULL, 0x035d6b6af5e9b8b5ULL,
    0x82ee7a32a5b7233eULL, 0xfd808afa9582aa47ULL,
    0x4d364994d625e4daULL, 0x3258b95ce6106da3ULL,
    0xb3eba804b64ef628ULL, 0xcc8558cc867b7f51ULL,
    0x8454ace74e645255ULL, 0xfb3a5c2f7e51db2cULL,
    0x7a894d772e0f40a7ULL, 0x05e7bdbf1e3ac9deULL,
    0xeb2aa520be311aafULL, 0x944455e88e0493d6ULL,
    0x15f744b0de5a085dULL, 0x6a99b478ee6f8124ULL,
    0x224840532670ac20ULL, 0x5d26b09b16452559ULL,
    0xdc95a1c3461bbed2ULL, 0xa3fb510b762e37abULL,
    0x35d6b6af5e9b8b5bULL, 0x4ab846676eae0222ULL,
    0xcb0b573f3ef099a9ULL, 0xb465a7f70ec510d0ULL,
    0xfcb453dcc6da3dd4ULL, 0x83daa314f6efb4adULL,
    0x0269b24ca6b12f26ULL, 0x7d0742849684a65fULL,
    0x93ca5a1b368f752eULL, 0xeca4aad306bafc57ULL,
    0x6d17bb8b56e467dcULL, 0x12794b4366d1eea5ULL,
    0x5aa8bf68aecec3a1ULL, 0x25c64fa09efb4ad8ULL,
    0xa4755ef8cea5d153ULL, 0xdb1bae30fe90582aULL,
    0xbcf7b7e3c7593bd8ULL, 0xc399472bf76cb2a1ULL,
    0x422a5673a732292aULL, 0x3d44a6bb9707a053ULL,
    0x759552905f188d57ULL, 0x0afba2586f2d042eULL,
    0x8b48b3003f739fa5ULL, 0xf42643c80f4616dcULL,
    0x1aeb5b57af4dc5adULL, 0x6585ab9f9f784cd4ULL,
    0xe436bac7cf26d75fULL, 0x9b584a0fff135e26ULL,
    0xd389be24370c7322ULL, 0xace74eec0739fa5bULL,
    0x2d545fb4576761d0ULL, 0x523aaf7c6752e8a9ULL,
    0xc41748d84fe75459ULL, 0xbb79b8107fd2dd20ULL,
    0x3acaa9482f8c46abULL, 0x45a459801fb9cfd2ULL,
    0x0d75adabd7a6e2d6ULL, 0x721b5d63e7936bafULL,
    0xf3a84c3bb7cdf024ULL, 0x8cc6bcf387f8795dULL,
    0x620ba46c27f3aa2cULL, 0x1d6554a417c62355ULL,
    0x9cd645fc4798b8deULL, 0xe3b8b53477ad31a7ULL,
    0xab69411fbfb21ca3ULL, 0xd407b1d78f8795daULL,
    0x55b4a08fdfd90e51ULL, 0x2ada5047efec8728ULL
};


/*
 * Which checksum the request announces: at most one x-amz-checksum-<alg>
 * header, or one such name in x-amz-trailer (aws-chunked bodies only).
 * Other x-amz-checksum-* headers (-algorithm, -type, -mode) are not values
 * and are left alone.
 */

ngx_int_t
ngx_http_pfs_s3_checksum_init(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx, ngx_http_pfs_s3_err_e *err, const char **why)
{
    u_char                          *p, *last, *name;
    ngx_str_t                       *value;
    ngx_uint_t                       i, trailer;
    ngx_list_part_t                 *part;
    ngx_table_elt_t                 *h;
    ngx_http_pfs_s3_checksum_alg_t   *alg, *found;
    ngx_http_pfs_s3_body_checksum_t  *cs;

    /*
     * Only where the body is what the checksum is of: on
     * CompleteMultipartUpload, x-amz-checksum-* is the whole object's
     * (of its parts' checksums, "<base64>-<parts>"), not the XML body's.
     */

    switch (ctx->op) {

    case NGX_HTTP_PFS_S3_OP_PUT_OBJECT:
    case NGX_HTTP_PFS_S3_OP_UPLOAD_PART:
    case NGX_HTTP_PFS_S3_OP_DELETE_OBJECTS:
        break;

    default:
        return NGX_OK;
    }

    found = NULL;
    value = NULL;
    trailer = 0;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len <= sizeof("x-amz-checksum-") - 1
            || ngx_strncasecmp(h[i].key.data, (u_char *) "x-amz-checksum-",
                               sizeof("x-amz-checksum-") - 1) != 0)
        {
            continue;
        }

        alg = ngx_http_pfs_s3_checksum_alg(
                  h[i].key.data + sizeof("x-amz-checksum-") - 1,
                  h[i].key.len - (sizeof("x-amz-checksum-") - 1));

        if (alg == NULL) {
            continue;
        }

        if (ngx_http_pfs_s3_checksum_found(&found, alg, err, why) != NGX_OK) {
            return NGX_ERROR;
        }

        value = &h[i].value;
    }

    h = ngx_http_pfs_s3_header(r, "x-amz-trailer");

    if (h) {
        p = h->value.data;
        last = p + h->value.len;

        /* a comma-separated list of trailer names */

        while (p < last) {
            while (p < last && (*p == ' ' || *p == ',')) {
                p++;
            }

            name = p;

            while (p < last && *p != ' ' && *p != ',') {
                p++;
            }

            if (p - name <= (ssize_t) sizeof("x-amz-checksum-") - 1
                || ngx_strncasecmp(name, (u_char *) "x-amz-checksum-",
                                   sizeof("x-amz-checksum-") - 1) != 0)
            {
                continue;
            }

            name += sizeof("x-amz-checksum-") - 1;

            alg = ngx_http_pfs_s3_checksum_alg(name, p - name);
            if (alg == NULL) {
                continue;
            }

            if (ngx_http_pfs_s3_checksum_found(&found, alg, err, why)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            trailer = 1;
        }
    }

    if (found == NULL) {
        return NGX_OK;
    }

    if (trailer && !ctx->aws_chunked) {
        *err = NGX_HTTP_PFS_S3_ERR_INVALID_REQUEST;
        *why = "a checksum trailer needs an aws-chunked body";
        return NGX_ERROR;
    }

    cs = ngx_pcalloc(r->pool, sizeof(ngx_http_pfs_s3_body_checksum_t));
    if (cs == NULL) {
        *err = NGX_HTTP_PFS_S3_ERR_INTERNAL;
        return NGX_ERROR;
    }

    cs->alg = found;
    cs->trailer = trailer;

    if (!trailer && ngx_http_pfs_s3_checksum_decode(cs, value) != NGX_OK) {
        *err = NGX_HTTP_PFS_S3_ERR_INVALID_REQUEST;
        *why = "the value of the x-amz-checksum header is not the base64 "
               "of a checksum of that algorithm";
        return NGX_ERROR;
    }

    if (found->crc == NGX_HTTP_PFS_S3_CRC64NVME) {
        cs->table64 = ngx_http_pfs_s3_crc64nvme_table;
        cs->crc = 0xffffffffffffffffULL;

    } else if (found->crc) {
        cs->table = (found->crc == NGX_HTTP_PFS_S3_CRC32)
                    ? ngx_http_pfs_s3_crc32_table
                    : ngx_http_pfs_s3_crc32c_table;
        cs->crc = 0xffffffff;

    } else {
        cs->md = ngx_http_pfs_s3_digest(r, found->md());
        if (cs->md == NULL) {
            *err = NGX_HTTP_PFS_S3_ERR_INTERNAL;
            return NGX_ERROR;
        }
    }

    ctx->checksum = cs;

    return NGX_OK;
}


static ngx_http_pfs_s3_checksum_alg_t *
ngx_http_pfs_s3_checksum_alg(u_char *name, size_t len)
{
    ngx_http_pfs_s3_checksum_alg_t  *alg;

    for (alg = ngx_http_pfs_s3_checksum_algs; alg->name.len; alg++) {
        if (alg->name.len == len
            && ngx_strncasecmp(alg->name.data, name, len) == 0)
        {
            return alg;
        }
    }

    return NULL;
}


static ngx_int_t
ngx_http_pfs_s3_checksum_found(ngx_http_pfs_s3_checksum_alg_t **found,
    ngx_http_pfs_s3_checksum_alg_t *alg, ngx_http_pfs_s3_err_e *err,
    const char **why)
{
    if (*found) {
        *err = NGX_HTTP_PFS_S3_ERR_INVALID_REQUEST;
        *why = "Expecting a single x-amz-checksum- header. Multiple "
               "checksum Types are not allowed.";
        return NGX_ERROR;
    }

    *found = alg;

    return NGX_OK;
}


static ngx_int_t
ngx_http_pfs_s3_checksum_decode(ngx_http_pfs_s3_body_checksum_t *cs,
    ngx_str_t *value)
{
    ngx_str_t  dst;

    if (value == NULL
        || value->len != ngx_base64_encoded_length(cs->alg->size))
    {
        return NGX_ERROR;
    }

    dst.data = cs->want;

    if (ngx_decode_base64(&dst, value) != NGX_OK || dst.len != cs->alg->size) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* decoded body bytes, as they arrive */

ngx_int_t
ngx_http_pfs_s3_checksum_update(ngx_http_pfs_s3_body_checksum_t *cs,
    u_char *p, size_t n)
{
    uint64_t         c;
    u_char          *last;
    const uint32_t  *t;
    const uint64_t  *t64;

    if (cs->md) {
        return (EVP_DigestUpdate(cs->md, p, n) == 1) ? NGX_OK : NGX_ERROR;
    }

    c = cs->crc;
    last = p + n;

    if (cs->table64) {
        for (t64 = cs->table64; p < last; p++) {
            c = t64[(c ^ *p) & 0xff] ^ (c >> 8);
        }

    } else {
        for (t = cs->table; p < last; p++) {
            c = t[(c ^ *p) & 0xff] ^ (c >> 8);
        }
    }

    cs->crc = c;

    return NGX_OK;
}


/*
 * The whole body has been read: the checksum it gave (header or trailer)
 * is compared with the computed one.  A failure is left in
 * ctx->digest_failed, as the other digests do.
 */

ngx_int_t
ngx_http_pfs_s3_checksum_finish(ngx_http_pfs_s3_ctx_t *ctx)
{
    u_char                            got[EVP_MAX_MD_SIZE];
    uint64_t                          c;
    ngx_uint_t                        i;
    ngx_http_pfs_s3_body_checksum_t  *cs;

    cs = ctx->checksum;

    if (cs == NULL || cs->done) {
        return NGX_OK;
    }

    cs->done = 1;

    if (cs->md) {
        if (EVP_DigestFinal_ex(cs->md, got, NULL) != 1) {
            return NGX_ERROR;
        }

    } else {
        c = cs->table64 ? ~cs->crc : (cs->crc ^ 0xffffffff);

        /* S3 sends a CRC as its bytes, most significant first */

        for (i = cs->alg->size; i > 0; i--) {
            got[i - 1] = (u_char) c;
            c >>= 8;
        }
    }

    if (ctx->digest_failed != NGX_HTTP_PFS_S3_ERR_NONE) {
        return NGX_OK;
    }

    if (cs->trailer && ngx_http_pfs_s3_checksum_trailer(ctx, cs) != NGX_OK) {
        ctx->digest_failed = NGX_HTTP_PFS_S3_ERR_INVALID_REQUEST;
        ctx->digest_why = "the checksum that x-amz-trailer announces is "
                          "missing from the trailer or not valid";
        return NGX_OK;
    }

    if (ngx_memcmp(got, cs->want, cs->alg->size) != 0) {
        ctx->digest_failed = NGX_HTTP_PFS_S3_ERR_BAD_DIGEST;
        ctx->digest_why = cs->alg->mismatch;
        return NGX_OK;
    }

    cs->verified = 1;

    return NGX_OK;
}


/* The verified checksum in the answer, as S3 gives it back. */

ngx_int_t
ngx_http_pfs_s3_checksum_header(ngx_http_request_t *r,
    ngx_http_pfs_s3_ctx_t *ctx)
{
    u_char                           *key;
    ngx_str_t                         src, dst;
    ngx_http_pfs_s3_body_checksum_t  *cs;

    cs = ctx->checksum;

    if (cs == NULL || !cs->verified) {
        return NGX_OK;
    }

    key = ngx_pnalloc(r->pool, sizeof("x-amz-checksum-") + cs->alg->name.len);
    dst.data = ngx_pnalloc(r->pool, ngx_base64_encoded_length(cs->alg->size));

    if (key == NULL || dst.data == NULL) {
        return NGX_ERROR;
    }

    *ngx_cpymem(ngx_cpymem(key, "x-amz-checksum-",
                           sizeof("x-amz-checksum-") - 1),
                cs->alg->name.data, cs->alg->name.len) = '\0';

    src.data = cs->want;
    src.len = cs->alg->size;
    ngx_encode_base64(&dst, &src);

    return ngx_http_pfs_s3_add_header(r, (char *) key, dst.data, dst.len);
}


/* "x-amz-checksum-<alg>:<base64>\r\n" among the trailer lines */

static ngx_int_t
ngx_http_pfs_s3_checksum_trailer(ngx_http_pfs_s3_ctx_t *ctx,
    ngx_http_pfs_s3_body_checksum_t *cs)
{
    u_char     *p, *last, *eol, *colon;
    size_t      len;
    ngx_str_t   value;

    if (ctx->trailer == NULL) {
        return NGX_ERROR;
    }

    p = ctx->trailer;
    last = p + ngx_min(ctx->trailer_len, NGX_HTTP_PFS_S3_MAX_TRAILER);
    len = sizeof("x-amz-checksum-") - 1 + cs->alg->name.len;

    for ( /* void */ ; p < last; p = eol + 1) {
        eol = ngx_strlchr(p, last, '\n');
        if (eol == NULL) {
            eol = last;
        }

        colon = ngx_strlchr(p, eol, ':');

        if (colon == NULL || (size_t) (colon - p) != len
            || ngx_strncasecmp(p, (u_char *) "x-amz-checksum-",
                               sizeof("x-amz-checksum-") - 1) != 0
            || ngx_strncasecmp(p + sizeof("x-amz-checksum-") - 1,
                               cs->alg->name.data, cs->alg->name.len) != 0)
        {
            continue;
        }

        value.data = colon + 1;
        value.len = eol - value.data;

        while (value.len && (value.data[value.len - 1] == '\r'
                             || value.data[value.len - 1] == ' '))
        {
            value.len--;
        }

        while (value.len && value.data[0] == ' ') {
            value.data++;
            value.len--;
        }

        return ngx_http_pfs_s3_checksum_decode(cs, &value);
    }

    return NGX_ERROR;
}
