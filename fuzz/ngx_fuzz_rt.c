/*
 * A minimal nginx runtime for the fuzz targets.
 *
 * Debian's nginx-dev ships nginx's headers but none of its sources, so the
 * module's parsers are linked here against our own small implementations
 * of the few nginx core functions they call.  They follow nginx's
 * documented behaviour; the one deliberate difference is the pool: every
 * ngx_palloc() is a malloc() of its own, so that AddressSanitizer sees the
 * exact bounds of each allocation (nginx's real pool carves small
 * allocations out of 4 KiB blocks, where an overflow into a neighbour goes
 * unnoticed).
 *
 * Functions that a parser must never reach in these targets (sending a
 * response for real, reading a request body from a socket) are defined to
 * abort, so that reaching one is a finding, not a silent pass.
 */

#include "ngx_fuzz.h"

#include <libxml/parser.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>


volatile ngx_cycle_t  *ngx_cycle;
ngx_uint_t             ngx_pagesize = 4096;
ngx_module_t           ngx_http_pfs_s3_module;
ngx_module_t           ngx_http_core_module;    /* streamed bodies only */

ngx_http_request_body_filter_pt   ngx_http_top_request_body_filter;

ngx_fuzz_response_t    ngx_fuzz_response;

/* a fixed clock: 2013-05-24T00:00:00Z, the date of AWS's signing examples */
static ngx_time_t      ngx_fuzz_time = { 1369353600, 0, 0 };
volatile ngx_time_t   *ngx_cached_time = &ngx_fuzz_time;
volatile ngx_msec_t    ngx_current_msec = 1369353600000;


/* ------------------------------------------------------------- pools */

typedef struct ngx_fuzz_block_s  ngx_fuzz_block_t;

struct ngx_fuzz_block_s {
    ngx_fuzz_block_t  *next;
    void              *p;
};


ngx_pool_t *
ngx_create_pool(size_t size, ngx_log_t *log)
{
    ngx_pool_t  *p;

    (void) size;

    p = calloc(1, sizeof(ngx_pool_t));
    if (p == NULL) {
        return NULL;
    }

    p->log = log;

    return p;
}


void
ngx_destroy_pool(ngx_pool_t *pool)
{
    ngx_fuzz_block_t    *b, *next;
    ngx_pool_cleanup_t  *c, *cn;

    for (c = pool->cleanup; c; c = c->next) {
        if (c->handler) {
            c->handler(c->data);
        }
    }

    for (c = pool->cleanup; c; c = cn) {
        cn = c->next;
        free(c);
    }

    for (b = (ngx_fuzz_block_t *) pool->large; b; b = next) {
        next = b->next;
        free(b->p);
        free(b);
    }

    free(pool);
}


void *
ngx_palloc(ngx_pool_t *pool, size_t size)
{
    ngx_fuzz_block_t  *b;

    b = malloc(sizeof(ngx_fuzz_block_t));
    if (b == NULL) {
        return NULL;
    }

    /* malloc(0) may return NULL, which nginx's pool never does */
    b->p = malloc(size ? size : 1);
    if (b->p == NULL) {
        free(b);
        return NULL;
    }

    b->next = (ngx_fuzz_block_t *) pool->large;
    pool->large = (ngx_pool_large_t *) b;

    return b->p;
}


void *
ngx_pnalloc(ngx_pool_t *pool, size_t size)
{
    return ngx_palloc(pool, size);
}


void *
ngx_pcalloc(ngx_pool_t *pool, size_t size)
{
    void  *p;

    p = ngx_palloc(pool, size);
    if (p) {
        memset(p, 0, size);
    }

    return p;
}


ngx_int_t
ngx_pfree(ngx_pool_t *pool, void *p)
{
    ngx_fuzz_block_t  *b;

    for (b = (ngx_fuzz_block_t *) pool->large; b; b = b->next) {
        if (b->p == p) {
            free(b->p);
            b->p = NULL;
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


ngx_pool_cleanup_t *
ngx_pool_cleanup_add(ngx_pool_t *p, size_t size)
{
    ngx_pool_cleanup_t  *c;

    c = calloc(1, sizeof(ngx_pool_cleanup_t));
    if (c == NULL) {
        return NULL;
    }

    if (size) {
        /* freed with the pool's other allocations, after the handlers */
        c->data = ngx_pcalloc(p, size);
        if (c->data == NULL) {
            free(c);
            return NULL;
        }
    }

    c->next = p->cleanup;
    p->cleanup = c;

    return c;
}


/* ------------------------------------------------------------- arrays */

void *
ngx_array_push(ngx_array_t *a)
{
    void  *new;

    if (a->nelts == a->nalloc) {
        new = ngx_palloc(a->pool, 2 * a->size * (a->nalloc ? a->nalloc : 1));
        if (new == NULL) {
            return NULL;
        }

        memcpy(new, a->elts, a->size * a->nelts);
        a->elts = new;
        a->nalloc = a->nalloc ? 2 * a->nalloc : 1;
    }

    return (u_char *) a->elts + a->size * a->nelts++;
}


void *
ngx_list_push(ngx_list_t *l)
{
    ngx_list_part_t  *last;

    last = l->last;

    if (last->nelts == l->nalloc) {
        last = ngx_palloc(l->pool, sizeof(ngx_list_part_t));
        if (last == NULL) {
            return NULL;
        }

        last->elts = ngx_palloc(l->pool, l->nalloc * l->size);
        if (last->elts == NULL) {
            return NULL;
        }

        last->nelts = 0;
        last->next = NULL;

        l->last->next = last;
        l->last = last;
    }

    return (u_char *) last->elts + l->size * last->nelts++;
}


ngx_array_t *
ngx_array_create(ngx_pool_t *p, ngx_uint_t n, size_t size)
{
    ngx_array_t  *a;

    a = ngx_palloc(p, sizeof(ngx_array_t));
    if (a == NULL || ngx_array_init(a, p, n, size) != NGX_OK) {
        return NULL;
    }

    return a;
}


/* ------------------------------------------------------------- buffers */

ngx_buf_t *
ngx_create_temp_buf(ngx_pool_t *pool, size_t size)
{
    ngx_buf_t  *b;

    b = ngx_calloc_buf(pool);
    if (b == NULL) {
        return NULL;
    }

    b->start = ngx_palloc(pool, size);
    if (b->start == NULL) {
        return NULL;
    }

    b->pos = b->start;
    b->last = b->start;
    b->end = b->start + size;
    b->temporary = 1;

    return b;
}


ngx_chain_t *
ngx_alloc_chain_link(ngx_pool_t *pool)
{
    return ngx_palloc(pool, sizeof(ngx_chain_t));
}


ngx_chain_t *
ngx_chain_get_free_buf(ngx_pool_t *p, ngx_chain_t **free)
{
    ngx_chain_t  *cl;

    if (*free) {
        cl = *free;
        *free = cl->next;
        cl->next = NULL;
        return cl;
    }

    cl = ngx_alloc_chain_link(p);
    if (cl == NULL) {
        return NULL;
    }

    cl->buf = ngx_calloc_buf(p);
    if (cl->buf == NULL) {
        return NULL;
    }

    cl->next = NULL;

    return cl;
}


/* ------------------------------------------------------------- strings */

ngx_int_t
ngx_strncasecmp(u_char *s1, u_char *s2, size_t n)
{
    ngx_uint_t  c1, c2;

    while (n) {
        c1 = (ngx_uint_t) *s1++;
        c2 = (ngx_uint_t) *s2++;

        c1 = (c1 >= 'A' && c1 <= 'Z') ? (c1 | 0x20) : c1;
        c2 = (c2 >= 'A' && c2 <= 'Z') ? (c2 | 0x20) : c2;

        if (c1 == c2) {
            if (c1) {
                n--;
                continue;
            }

            return 0;
        }

        return c1 - c2;
    }

    return 0;
}


/* nginx's contract: "n" is the length of s2 minus one */

u_char *
ngx_strlcasestrn(u_char *s1, u_char *last, u_char *s2, size_t n)
{
    ngx_uint_t  c1, c2;

    c2 = (ngx_uint_t) *s2++;
    c2 = (c2 >= 'A' && c2 <= 'Z') ? (c2 | 0x20) : c2;
    last -= n;

    do {
        do {
            if (s1 >= last) {
                return NULL;
            }

            c1 = (ngx_uint_t) *s1++;
            c1 = (c1 >= 'A' && c1 <= 'Z') ? (c1 | 0x20) : c1;

        } while (c1 != c2);

    } while (ngx_strncasecmp(s1, s2, n) != 0);

    return --s1;
}


off_t
ngx_atoof(u_char *line, size_t n)
{
    off_t  value, cutoff, cutlim;

    if (n == 0) {
        return NGX_ERROR;
    }

    cutoff = NGX_MAX_OFF_T_VALUE / 10;
    cutlim = NGX_MAX_OFF_T_VALUE % 10;

    for (value = 0; n--; line++) {
        if (*line < '0' || *line > '9') {
            return NGX_ERROR;
        }

        if (value >= cutoff && (value > cutoff || *line - '0' > cutlim)) {
            return NGX_ERROR;
        }

        value = value * 10 + (*line - '0');
    }

    return value;
}


ngx_int_t
ngx_atoi(u_char *line, size_t n)
{
    ngx_int_t  value, cutoff, cutlim;

    if (n == 0) {
        return NGX_ERROR;
    }

    cutoff = NGX_MAX_INT_T_VALUE / 10;
    cutlim = NGX_MAX_INT_T_VALUE % 10;

    for (value = 0; n--; line++) {
        if (*line < '0' || *line > '9') {
            return NGX_ERROR;
        }

        if (value >= cutoff && (value > cutoff || *line - '0' > cutlim)) {
            return NGX_ERROR;
        }

        value = value * 10 + (*line - '0');
    }

    return value;
}


time_t
ngx_atotm(u_char *line, size_t n)
{
    off_t  v;

    v = ngx_atoof(line, n);

    return (v == NGX_ERROR || v > NGX_MAX_TIME_T_VALUE) ? NGX_ERROR
                                                        : (time_t) v;
}


/* RFC 1123 dates only ("Fri, 24 May 2013 00:00:00 GMT"); others NGX_ERROR */

time_t
ngx_parse_http_time(u_char *value, size_t len)
{
    char       buf[64], *end;
    struct tm  tm;

    if (len >= sizeof(buf)) {
        return NGX_ERROR;
    }

    memcpy(buf, value, len);
    buf[len] = '\0';
    memset(&tm, 0, sizeof(tm));

    end = strptime(buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == NULL || *end != '\0') {
        return NGX_ERROR;
    }

    return timegm(&tm);
}


u_char *
ngx_hex_dump(u_char *dst, u_char *src, size_t len)
{
    static u_char  hex[] = "0123456789abcdef";

    while (len--) {
        *dst++ = hex[*src >> 4];
        *dst++ = hex[*src++ & 0xf];
    }

    return dst;
}


void
ngx_encode_base64(ngx_str_t *dst, ngx_str_t *src)
{
    u_char      *d, *s;
    uint32_t     v;
    size_t       i, n;

    static const char  set[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    s = src->data;
    d = dst->data;

    for (i = 0; i < src->len; i += 3) {
        n = src->len - i < 3 ? src->len - i : 3;

        v = (uint32_t) s[i] << 16;
        v |= (n > 1) ? (uint32_t) s[i + 1] << 8 : 0;
        v |= (n > 2) ? s[i + 2] : 0;

        *d++ = set[(v >> 18) & 63];
        *d++ = set[(v >> 12) & 63];
        *d++ = (n > 1) ? set[(v >> 6) & 63] : '=';
        *d++ = (n > 2) ? set[v & 63] : '=';
    }

    dst->len = d - dst->data;
}


ngx_int_t
ngx_decode_base64(ngx_str_t *dst, ngx_str_t *src)
{
    size_t   len;
    u_char  *d, *s;
    int      v[4];
    size_t   i, j;

    for (len = 0; len < src->len; len++) {
        if (src->data[len] == '=') {
            break;
        }
    }

    if (len % 4 == 1) {
        return NGX_ERROR;
    }

    for (i = len; i < src->len; i++) {
        if (src->data[i] != '=') {
            return NGX_ERROR;
        }
    }

    s = src->data;
    d = dst->data;

    for (i = 0; i < len; i += 4) {
        for (j = 0; j < 4; j++) {
            u_char c = (i + j < len) ? s[i + j] : 'A';

            if (c >= 'A' && c <= 'Z') {
                v[j] = c - 'A';
            } else if (c >= 'a' && c <= 'z') {
                v[j] = c - 'a' + 26;
            } else if (c >= '0' && c <= '9') {
                v[j] = c - '0' + 52;
            } else if (c == '+') {
                v[j] = 62;
            } else if (c == '/') {
                v[j] = 63;
            } else {
                return NGX_ERROR;
            }
        }

        *d++ = (u_char) (v[0] << 2 | v[1] >> 4);

        if (i + 2 < len) {
            *d++ = (u_char) (v[1] << 4 | v[2] >> 2);
        }

        if (i + 3 < len) {
            *d++ = (u_char) (v[2] << 6 | v[3]);
        }
    }

    dst->len = d - dst->data;

    return NGX_OK;
}


/*
 * The formats the module uses: %s %*s %V %Z %d %i %ui %uD %O %uz %z with
 * optional zero padding and width.  Anything else aborts: a new format in
 * the module must be added here rather than silently printed wrong.
 */

u_char *
ngx_vslprintf(u_char *buf, u_char *last, const char *fmt, va_list args)
{
    char        num[64], spec[16];
    u_char     *p;
    size_t      len, slen;
    ngx_str_t  *v;
    int         n, width, zero;
    long long   ll;
    unsigned long long  ull;

    while (*fmt && buf < last) {

        if (*fmt != '%') {
            *buf++ = (u_char) *fmt++;
            continue;
        }

        fmt++;
        zero = (*fmt == '0');
        width = 0;

        while (*fmt >= '0' && *fmt <= '9') {
            width = width * 10 + (*fmt++ - '0');
        }

        slen = (size_t) -1;

        if (*fmt == '*') {
            slen = va_arg(args, size_t);
            fmt++;
        }

        n = 0;

        switch (*fmt++) {

        case 's':
            p = va_arg(args, u_char *);
            len = (slen == (size_t) -1) ? strlen((char *) p) : slen;
            len = ngx_min(len, (size_t) (last - buf));
            buf = ngx_cpymem(buf, p, len);
            continue;

        case 'V':
            v = va_arg(args, ngx_str_t *);
            len = ngx_min(v->len, (size_t) (last - buf));
            buf = ngx_cpymem(buf, v->data, len);
            continue;

        case 'Z':
            *buf++ = '\0';
            continue;

        case '%':
            *buf++ = '%';
            continue;

        case 'd':
            ll = va_arg(args, int);
            break;

        case 'i':
            ll = va_arg(args, ngx_int_t);
            break;

        case 'O':
            ll = va_arg(args, off_t);
            break;

        case 'z':
            ll = va_arg(args, ssize_t);
            break;

        case 'u':
            switch (*fmt++) {
            case 'i':
                ull = va_arg(args, ngx_uint_t);
                break;
            case 'D':
                ull = va_arg(args, uint32_t);
                break;
            case 'z':
                ull = va_arg(args, size_t);
                break;
            default:
                abort();
            }

            n = snprintf(spec, sizeof(spec), "%%%s%dllu", zero ? "0" : "",
                         width);
            n = snprintf(num, sizeof(num), spec, ull);
            goto copy;

        default:
            abort();
        }

        n = snprintf(spec, sizeof(spec), "%%%s%dlld", zero ? "0" : "", width);
        n = snprintf(num, sizeof(num), spec, ll);

    copy:

        len = ngx_min((size_t) n, (size_t) (last - buf));
        buf = ngx_cpymem(buf, num, len);
    }

    return buf;
}


u_char * ngx_cdecl
ngx_sprintf(u_char *buf, const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, (void *) -1, fmt, args);
    va_end(args);

    return p;
}


u_char * ngx_cdecl
ngx_snprintf(u_char *buf, size_t max, const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + max, fmt, args);
    va_end(args);

    return p;
}


/* ------------------------------------------------------------- regex */

ngx_int_t
ngx_regex_compile(ngx_regex_compile_t *rc)
{
    int          err;
    PCRE2_SIZE   off;
    pcre2_code  *re;

    re = pcre2_compile(rc->pattern.data, rc->pattern.len,
                       (rc->options & NGX_REGEX_CASELESS) ? PCRE2_CASELESS : 0,
                       &err, &off, NULL);
    if (re == NULL) {
        rc->err.len = 0;
        return NGX_ERROR;
    }

    rc->regex = re;
    pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &rc->captures);

    return NGX_OK;
}


ngx_int_t
ngx_regex_exec(ngx_regex_t *re, ngx_str_t *s, int *captures, ngx_uint_t size)
{
    int                n;
    ngx_uint_t         i;
    PCRE2_SIZE        *ov;
    pcre2_match_data  *md;

    md = pcre2_match_data_create(size / 3 ? size / 3 : 1, NULL);
    if (md == NULL) {
        return -1000;
    }

    n = pcre2_match(re, s->data, s->len, 0, 0, md, NULL);

    if (n > 0 && size) {
        ov = pcre2_get_ovector_pointer(md);

        if ((ngx_uint_t) n > size / 3) {
            n = size / 3;
        }

        for (i = 0; i < (ngx_uint_t) n; i++) {
            captures[2 * i] = (int) ov[2 * i];
            captures[2 * i + 1] = (int) ov[2 * i + 1];
        }
    }

    pcre2_match_data_free(md);

    return n;
}


/* ------------------------------------------------------------- logging */

void ngx_cdecl
ngx_log_error_core(ngx_uint_t level, ngx_log_t *log, ngx_err_t err,
    const char *fmt, ...)
{
    u_char   buf[2048], *p;
    va_list  args;

    (void) level;
    (void) log;
    (void) err;

    /* formatted anyway: the arguments must be valid whatever the level */
    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
    va_end(args);

    if (getenv("NGX_FUZZ_LOG")) {
        fprintf(stderr, "%.*s\n", (int) (p - buf), buf);
    }
}


void ngx_cdecl
ngx_conf_log_error(ngx_uint_t level, ngx_conf_t *cf, ngx_err_t err,
    const char *fmt, ...)
{
    (void) level;
    (void) cf;
    (void) err;
    (void) fmt;

    abort();
}


/* ------------------------------------------------------------- http */

/*
 * Responses are recorded, not sent: a target checks what a client would
 * have been given (a status, a well-formed XML body).
 */

ngx_int_t
ngx_http_send_header(ngx_http_request_t *r)
{
    ngx_fuzz_response.status = r->headers_out.status;
    ngx_fuzz_response.sent++;

    return NGX_OK;
}


ngx_int_t
ngx_http_output_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    size_t        n;
    ngx_chain_t  *cl;

    (void) r;

    for (cl = in; cl; cl = cl->next) {
        if (!ngx_buf_in_memory(cl->buf)) {
            continue;
        }

        n = cl->buf->last - cl->buf->pos;
        n = ngx_min(n, sizeof(ngx_fuzz_response.body)
                       - ngx_fuzz_response.body_len);
        memcpy(ngx_fuzz_response.body + ngx_fuzz_response.body_len,
               cl->buf->pos, n);
        ngx_fuzz_response.body_len += n;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_send_special(ngx_http_request_t *r, ngx_uint_t flags)
{
    (void) r;
    (void) flags;

    return NGX_OK;
}


ngx_int_t
ngx_http_discard_request_body(ngx_http_request_t *r)
{
    r->discard_body = 1;

    return NGX_OK;
}


static void
ngx_fuzz_unreachable(const char *name)
{
    fprintf(stderr, "fuzz: %s reached\n", name);
    abort();
}


void
ngx_http_finalize_request(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_fuzz_unreachable("ngx_http_finalize_request");
}


ngx_int_t
ngx_http_read_client_request_body(ngx_http_request_t *r,
    ngx_http_client_body_handler_pt post_handler)
{
    ngx_fuzz_unreachable("ngx_http_read_client_request_body");
    return NGX_ERROR;
}


ssize_t
ngx_read_file(ngx_file_t *file, u_char *buf, size_t size, off_t offset)
{
    ngx_fuzz_unreachable("ngx_read_file");
    return NGX_ERROR;
}


/*
 * nginx's ngx_gmtime() takes any time_t (PFS timestamps are untrusted);
 * years beyond what gmtime_r() handles are made up, as wide as an int.
 */

void
ngx_gmtime(time_t t, ngx_tm_t *tp)
{
    if (gmtime_r(&t, tp) == NULL) {
        memset(tp, 0, sizeof(ngx_tm_t));
        tp->tm_year = (int) (t / 31556952 + 70);
        tp->tm_mday = 1;
    }

    tp->tm_mon++;
    tp->tm_year = (int) ((unsigned) tp->tm_year + 1900u);
}


/* ------------------------------------------------------------- harness */

static ngx_log_t  ngx_fuzz_log;


ngx_http_request_t *
ngx_fuzz_request(ngx_pool_t *pool, ngx_http_pfs_s3_loc_conf_t *lcf,
    ngx_http_pfs_s3_main_conf_t *mcf)
{
    ngx_connection_t         *c;
    ngx_http_request_t       *r;
    ngx_http_pfs_s3_ctx_t    *ctx;

    memset(&ngx_fuzz_response, 0, sizeof(ngx_fuzz_response));

    r = ngx_pcalloc(pool, sizeof(ngx_http_request_t));
    c = ngx_pcalloc(pool, sizeof(ngx_connection_t));
    ctx = ngx_pcalloc(pool, sizeof(ngx_http_pfs_s3_ctx_t));

    if (r == NULL || c == NULL || ctx == NULL) {
        return NULL;
    }

    c->log = &ngx_fuzz_log;
    c->pool = pool;

    r->connection = c;
    r->pool = pool;
    r->main = r;
    r->http_version = NGX_HTTP_VERSION_11;
    r->headers_out.content_length_n = -1;

    r->ctx = ngx_pcalloc(pool, sizeof(void *));
    r->loc_conf = ngx_pcalloc(pool, sizeof(void *));
    r->main_conf = ngx_pcalloc(pool, sizeof(void *));

    if (r->ctx == NULL || r->loc_conf == NULL || r->main_conf == NULL) {
        return NULL;
    }

    r->loc_conf[0] = lcf;
    r->main_conf[0] = mcf;

    ctx->type = NGX_HTTP_PFS_S3_CTX_REQUEST;
    ngx_str_set(&ctx->request_id, "0123456789abcdef0123456789abcdef");
    r->ctx[0] = ctx;

    if (ngx_list_init(&r->headers_in.headers, pool, 4, sizeof(ngx_table_elt_t))
        != NGX_OK
        || ngx_list_init(&r->headers_out.headers, pool, 4,
                         sizeof(ngx_table_elt_t))
           != NGX_OK)
    {
        return NULL;
    }

    return r;
}


ngx_table_elt_t *
ngx_fuzz_add_header(ngx_http_request_t *r, u_char *key, size_t klen,
    u_char *value, size_t vlen)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_in.headers);
    if (h == NULL) {
        return NULL;
    }

    memset(h, 0, sizeof(ngx_table_elt_t));
    h->hash = 1;
    h->key.data = key;
    h->key.len = klen;
    h->value.data = value;
    h->value.len = vlen;

    return h;
}


/*
 * A request as nginx parses it, from lines of a fuzz input: the request
 * target (its query after "?"), the Host header, then "name: value"
 * headers, values without the spaces around them, names lowercased in
 * lowcase_key and Authorization noted, as nginx does.  Everything points
 * into buf.  NGX_DECLINED for an empty target.
 */

ngx_int_t
ngx_fuzz_request_lines(ngx_http_request_t *r, u_char *buf, size_t len)
{
    u_char           *p, *last, *nl, *colon, *v, *e, *lc;
    size_t            i;
    ngx_table_elt_t  *h;

    p = buf;
    last = buf + len;

    nl = memchr(p, '\n', last - p);
    r->unparsed_uri.data = p;
    r->unparsed_uri.len = (nl ? nl : last) - p;
    r->request_line = r->unparsed_uri;
    p = nl ? nl + 1 : last;

    if (r->unparsed_uri.len == 0) {
        return NGX_DECLINED;
    }

    colon = memchr(r->unparsed_uri.data, '?', r->unparsed_uri.len);
    if (colon) {
        r->args.data = colon + 1;
        r->args.len = r->unparsed_uri.data + r->unparsed_uri.len - r->args.data;
    }

    nl = memchr(p, '\n', last - p);
    r->headers_in.server.data = p;
    r->headers_in.server.len = (nl ? nl : last) - p;
    p = nl ? nl + 1 : last;

    h = ngx_fuzz_add_header(r, (u_char *) "Host", 4, r->headers_in.server.data,
                            r->headers_in.server.len);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->lowcase_key = (u_char *) "host";

    for ( /* void */ ; p < last; p = nl + 1) {
        nl = memchr(p, '\n', last - p);
        if (nl == NULL) {
            nl = last;
        }

        colon = memchr(p, ':', nl - p);
        if (colon == NULL) {
            continue;
        }

        for (v = colon + 1; v < nl && *v == ' '; v++) { /* void */ }
        for (e = nl; e > v && e[-1] == ' '; e--) { /* void */ }

        h = ngx_fuzz_add_header(r, p, colon - p, v, e - v);
        lc = ngx_pnalloc(r->pool, colon - p + 1);
        if (h == NULL || lc == NULL) {
            return NGX_ERROR;
        }

        for (i = 0; i < (size_t) (colon - p); i++) {
            lc[i] = ngx_tolower(p[i]);
        }

        h->lowcase_key = lc;

        if (colon - p == 13 && ngx_strncmp(lc, "authorization", 13) == 0
            && r->headers_in.authorization == NULL)
        {
            r->headers_in.authorization = h;
        }
    }

    return NGX_OK;
}


/*
 * The module's configuration with its defaults (ngx_http_pfs_s3_module.c).
 * The patterns are compiled once, into a pool that lives as long as the
 * process, as they live as long as a configuration in nginx.
 */

void
ngx_fuzz_conf(ngx_pool_t *pool, ngx_http_pfs_s3_loc_conf_t *lcf,
    ngx_http_pfs_s3_main_conf_t *mcf)
{
    ngx_conf_t                          cf;
    static ngx_pool_t                  *conf_pool;
    static ngx_http_pfs_s3_main_conf_t  main_conf;

    (void) pool;

    memset(lcf, 0, sizeof(*lcf));

    lcf->enable = 1;
    ngx_str_set(&lcf->region, "us-east-1");
    ngx_str_set(&lcf->project, "default");
    ngx_str_set(&lcf->branch, "master");
    lcf->piece_size = 1024 * 1024;
    lcf->max_message_size = 64 * 1024;
    lcf->max_xml_size = 64 * 1024;

    if (conf_pool == NULL) {
        conf_pool = ngx_create_pool(4096, &ngx_fuzz_log);

        memset(&cf, 0, sizeof(cf));
        cf.pool = conf_pool;
        cf.temp_pool = conf_pool;
        cf.log = &ngx_fuzz_log;

        if (conf_pool == NULL
            || ngx_http_pfs_s3_init_patterns(&cf, &main_conf) != NGX_OK)
        {
            abort();
        }
    }

    *mcf = main_conf;
}


/*
 * Whatever the module answered must be a document a client can parse:
 * S3 clients read the error code out of it.
 */

void
ngx_fuzz_check_xml(void)
{
    xmlDocPtr  doc;

    if (ngx_fuzz_response.body_len == 0) {
        return;
    }

    doc = xmlReadMemory((const char *) ngx_fuzz_response.body,
                        (int) ngx_fuzz_response.body_len, NULL, NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR
                        | XML_PARSE_NOWARNING);

    if (doc == NULL) {
        fprintf(stderr, "fuzz: the module answered malformed XML:\n%.*s\n",
                (int) ngx_fuzz_response.body_len, ngx_fuzz_response.body);
        abort();
    }

    xmlFreeDoc(doc);
}


/*
 * Functions of the module's other files (grpc.c, filter.c) that the linked
 * parsers refer to.  The decoder hands GetFile bytes to the next body
 * filter: a target may take them (ngx_fuzz_body_out); by default they are
 * taken at once, as a fast client would.
 */

ngx_int_t (*ngx_fuzz_body_out)(ngx_http_request_t *r, ngx_chain_t *in);


/* A GetFile whose bytes go to a temporary file (UploadPartCopy of a
 * range): the fuzz targets never set a sink, so nothing is written. */

ssize_t
ngx_write_file(ngx_file_t *file, u_char *buf, size_t size, off_t offset)
{
    abort();
}


ngx_int_t
ngx_http_pfs_s3_next_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_chain_t  *cl;

    if (ngx_fuzz_body_out) {
        return ngx_fuzz_body_out(r, in);
    }

    for (cl = in; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->last;
    }

    return NGX_OK;
}


ngx_int_t
ngx_conf_full_name(ngx_cycle_t *cycle, ngx_str_t *name, ngx_uint_t conf_prefix)
{
    ngx_fuzz_unreachable("ngx_conf_full_name");
    return NGX_ERROR;
}


ngx_int_t
ngx_http_pfs_s3_call(ngx_http_request_t *r, const char *method,
    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *response,
    ngx_http_pfs_s3_message_pt on_message, ngx_http_pfs_s3_done_pt done,
    void *data)
{
    ngx_fuzz_unreachable("ngx_http_pfs_s3_call");
    return NGX_ERROR;
}


ngx_int_t
ngx_http_pfs_s3_dispatch(ngx_http_request_t *r, ngx_http_pfs_s3_ctx_t *ctx)
{
    ngx_fuzz_unreachable("ngx_http_pfs_s3_dispatch");
    return NGX_ERROR;
}


ngx_int_t
ngx_http_pfs_s3_call_ok(ngx_http_pfs_s3_call_t *call)
{
    ngx_fuzz_unreachable("ngx_http_pfs_s3_call_ok");
    return NGX_ERROR;
}


ngx_int_t
ngx_http_pfs_s3_final(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_fuzz_unreachable("ngx_http_pfs_s3_final");
    return rc;
}


ngx_int_t
ngx_http_pfs_s3_keep_message(ngx_http_request_t *r,
    ngx_http_pfs_s3_call_t *call, ProtobufCMessage *msg)
{
    ngx_fuzz_unreachable("ngx_http_pfs_s3_keep_message");
    return NGX_ERROR;
}


/*
 * Starting PFS calls and streaming a body to them: the targets stop at the
 * request body filter's verdict, before any call.
 */

ngx_http_pfs_s3_call_t *
ngx_http_pfs_s3_call_create(ngx_http_request_t *r, const char *method,
    const ProtobufCMessageDescriptor *response, ngx_http_pfs_s3_done_pt done)
{
    ngx_fuzz_unreachable("ngx_http_pfs_s3_call_create");
    return NULL;
}


ngx_int_t
ngx_http_pfs_s3_call_start(ngx_http_request_t *r, ngx_http_pfs_s3_call_t *call,
    ngx_chain_t *body)
{
    ngx_fuzz_unreachable("ngx_http_pfs_s3_call_start");
    return NGX_ERROR;
}


ngx_int_t
ngx_http_pfs_s3_modify_file(ngx_http_request_t *r, PfsV2__Commit *commit,
    ngx_chain_t *ops, ngx_http_pfs_s3_done_pt done, void *data)
{
    ngx_fuzz_unreachable("ngx_http_pfs_s3_modify_file");
    return NGX_ERROR;
}


ngx_chain_t *
ngx_http_pfs_s3_set_commit(ngx_pool_t *pool, PfsV2__Commit *commit,
    ngx_chain_t *ops)
{
    ngx_fuzz_unreachable("ngx_http_pfs_s3_set_commit");
    return NULL;
}


ngx_chain_t *
ngx_http_pfs_s3_frame(ngx_pool_t *pool, const ProtobufCMessage *msg)
{
    ngx_fuzz_unreachable("ngx_http_pfs_s3_frame");
    return NULL;
}


ngx_int_t
ngx_http_pfs_s3_delete_op(ngx_pool_t *pool, char *path, ngx_chain_t ***ll)
{
    ngx_fuzz_unreachable("ngx_http_pfs_s3_delete_op");
    return NGX_ERROR;
}


void
ngx_chain_update_chains(ngx_pool_t *p, ngx_chain_t **free, ngx_chain_t **busy,
    ngx_chain_t **out, ngx_buf_tag_t tag)
{
    ngx_fuzz_unreachable("ngx_chain_update_chains");
}


void
ngx_http_block_reading(ngx_http_request_t *r)
{
    ngx_fuzz_unreachable("ngx_http_block_reading");
}


/* Takes every in-memory byte of a chain, as a fast consumer would. */

void
ngx_fuzz_take(ngx_chain_t *in, u_char *out, size_t *len)
{
    size_t        n;
    ngx_chain_t  *cl;

    for (cl = in; cl; cl = cl->next) {
        if (!ngx_buf_in_memory(cl->buf)) {
            continue;
        }

        n = cl->buf->last - cl->buf->pos;
        memcpy(out + *len, cl->buf->pos, n);
        *len += n;
        cl->buf->pos = cl->buf->last;
    }
}


/*
 * A piece of input in a buffer of exactly its size, so that a read past
 * its end is seen by ASan.
 */

ngx_buf_t *
ngx_fuzz_piece(ngx_pool_t *pool, const u_char *data, size_t n)
{
    ngx_buf_t  *b;

    b = ngx_calloc_buf(pool);
    if (b == NULL) {
        abort();
    }

    b->start = ngx_pnalloc(pool, n);
    if (b->start == NULL) {
        abort();
    }

    memcpy(b->start, data, n);
    b->pos = b->start;
    b->last = b->start + n;
    b->end = b->last;
    b->temporary = 1;

    return b;
}
