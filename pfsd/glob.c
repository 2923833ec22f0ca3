/* A backtracking glob matcher.  A pattern compiles to a sequence of
 * nodes; alternatives hold sequences of their own.  Matching threads a
 * continuation (what has to match after the current sequence) so that
 * alternatives and repetitions compose without building automata. */
#include "glob.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef enum {
    G_LIT,          /* one given character */
    G_ANY,          /* ?: one character but "/" */
    G_STAR,         /* *: a run without "/" */
    G_SUPER,        /* **: any run */
    G_CLASS,        /* [...]: one character of a set, never "/" */
    G_ALT,          /* {a,b} or @(a|b): one of the alternatives */
    G_OPT,          /* ?(a|b): zero or one */
    G_REPEAT,       /* *(a|b): zero or more (+(x) compiles to x *(x)) */
    G_NOT,          /* !(a|b): a run without "/" matching none */
} pfsd_gkind_t;

typedef struct pfsd_gseq pfsd_gseq_t;

typedef struct pfsd_gnode {
    pfsd_gkind_t kind;
    char c;
    bool negated;
    uint8_t set[32];
    pfsd_gseq_t *alts;
    size_t nalts;
} pfsd_gnode_t;

struct pfsd_gseq {
    pfsd_gnode_t *nodes;
    size_t n, cap;
};

struct pfsd_glob {
    pfsd_gseq_t seq;
};

/* What remains to match after the current sequence. */
typedef struct pfsd_gcont {
    const pfsd_gnode_t *nodes;
    size_t n;
    const struct pfsd_gcont *next;
    const char *after;          /* resume only past this point (repeats) */
} pfsd_gcont_t;

typedef enum { PFSD_GLOB_FULL, PFSD_GLOB_PREFIX } pfsd_gmode_t;

/* ------------------------------------------------------------ parsing */

static pfsd_gnode_t *
pfsd_gseq_push(pfsd_gseq_t *q, pfsd_gkind_t kind)
{
    pfsd_gnode_t *n;

    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 8;
        q->nodes = pfsd_xrealloc(q->nodes, q->cap * sizeof(*q->nodes));
    }
    n = &q->nodes[q->n++];
    memset(n, 0, sizeof(*n));
    n->kind = kind;
    return n;
}

static void pfsd_gseq_free(pfsd_gseq_t *q);

static void
pfsd_gnode_free(pfsd_gnode_t *n)
{
    size_t i;

    for (i = 0; i < n->nalts; i++) {
        pfsd_gseq_free(&n->alts[i]);
    }
    free(n->alts);
}

static void
pfsd_gseq_free(pfsd_gseq_t *q)
{
    size_t i;

    for (i = 0; i < q->n; i++) {
        pfsd_gnode_free(&q->nodes[i]);
    }
    free(q->nodes);
}

static void
pfsd_gseq_copy(pfsd_gseq_t *dst, const pfsd_gseq_t *src)
{
    size_t i, k;

    memset(dst, 0, sizeof(*dst));
    for (i = 0; i < src->n; i++) {
        pfsd_gnode_t *n = pfsd_gseq_push(dst, src->nodes[i].kind);

        *n = src->nodes[i];
        if (n->nalts > 0) {
            n->alts = pfsd_xcalloc(n->nalts, sizeof(*n->alts));
            for (k = 0; k < n->nalts; k++) {
                pfsd_gseq_copy(&n->alts[k], &src->nodes[i].alts[k]);
            }
        }
    }
}

/* Parses until one of the stop characters (at this nesting level) or the
 * end; returns a pointer to the stop character or the NUL. */
static const char *pfsd_glob_parse(const char *p, const char *stops,
                                   pfsd_gseq_t *q, const char **err);

/* [...] starting after "["; NULL when there is no closing "]". */
static const char *
pfsd_glob_class(const char *p, pfsd_gnode_t *n)
{
    const char *start = p;
    unsigned char lo, hi, c;

    if (*p == '!' || *p == '^') {
        n->negated = true;
        p++;
        start = p;
    }
    while (*p && (*p != ']' || p == start)) {
        lo = (unsigned char) *p++;
        if (lo == '\\' && *p) {
            lo = (unsigned char) *p++;
        }
        hi = lo;
        if (*p == '-' && p[1] && p[1] != ']') {
            hi = (unsigned char) p[1];
            p += 2;
            if (hi == '\\' && *p) {
                hi = (unsigned char) *p++;
            }
        }
        for (c = lo; c >= lo && c <= hi; c++) {
            n->set[c >> 3] |= (uint8_t) (1u << (c & 7));
            if (c == 255) {
                break;
            }
        }
    }
    return *p == ']' ? p + 1 : NULL;
}

/* Alternatives separated by sep up to close, starting after the opener;
 * NULL when unclosed. */
static const char *
pfsd_glob_alts(const char *p, char sep, char close, pfsd_gnode_t *n,
               const char **err)
{
    char stops[3] = { sep, close, '\0' };
    pfsd_gseq_t alt;
    const char *e;

    for (;;) {
        memset(&alt, 0, sizeof(alt));
        e = pfsd_glob_parse(p, stops, &alt, err);
        if (e == NULL || *e == '\0') {
            pfsd_gseq_free(&alt);
            return NULL;
        }
        n->alts = pfsd_xrealloc(n->alts, (n->nalts + 1) * sizeof(*n->alts));
        n->alts[n->nalts++] = alt;
        p = e + 1;
        if (*e == close) {
            return p;
        }
    }
}

static void
pfsd_glob_lit(pfsd_gseq_t *q, char c)
{
    pfsd_gseq_push(q, G_LIT)->c = c;
}

static const char *
pfsd_glob_parse(const char *p, const char *stops, pfsd_gseq_t *q,
                const char **err)
{
    pfsd_gnode_t tmp, *n;
    const char *e;
    pfsd_gkind_t ext;

    while (*p && strchr(stops, *p) == NULL) {
        ext = G_LIT;
        if (p[1] == '(' && strchr("@?*+!", *p) != NULL) {
            ext = *p == '@' ? G_ALT : *p == '?' ? G_OPT
                  : *p == '!' ? G_NOT : G_REPEAT;
        }
        if (ext != G_LIT) {
            bool plus = *p == '+';

            memset(&tmp, 0, sizeof(tmp));
            e = pfsd_glob_alts(p + 2, '|', ')', &tmp, err);
            if (e == NULL) {
                pfsd_gnode_free(&tmp);
                *err = "unterminated extglob group";
                return NULL;
            }
            if (plus) {
                /* x+ is x followed by x*. */
                n = pfsd_gseq_push(q, G_ALT);
                n->nalts = tmp.nalts;
                n->alts = pfsd_xcalloc(tmp.nalts, sizeof(*n->alts));
                for (size_t i = 0; i < tmp.nalts; i++) {
                    pfsd_gseq_copy(&n->alts[i], &tmp.alts[i]);
                }
            }
            tmp.kind = ext;
            *pfsd_gseq_push(q, ext) = tmp;
            p = e;
        } else if (*p == '\\' && p[1]) {
            pfsd_glob_lit(q, p[1]);
            p += 2;
        } else if (*p == '*') {
            if (p[1] == '*') {
                while (*p == '*') {
                    p++;
                }
                pfsd_gseq_push(q, G_SUPER);
            } else {
                pfsd_gseq_push(q, G_STAR);
                p++;
            }
        } else if (*p == '?') {
            pfsd_gseq_push(q, G_ANY);
            p++;
        } else if (*p == '[') {
            memset(&tmp, 0, sizeof(tmp));
            tmp.kind = G_CLASS;
            e = pfsd_glob_class(p + 1, &tmp);
            if (e == NULL) {
                *err = "unterminated character class";
                return NULL;
            }
            *pfsd_gseq_push(q, G_CLASS) = tmp;
            p = e;
        } else if (*p == '{') {
            memset(&tmp, 0, sizeof(tmp));
            tmp.kind = G_ALT;
            e = pfsd_glob_alts(p + 1, ',', '}', &tmp, err);
            if (e == NULL) {
                pfsd_gnode_free(&tmp);
                *err = "unterminated {alternatives}";
                return NULL;
            }
            *pfsd_gseq_push(q, G_ALT) = tmp;
            p = e;
        } else {
            pfsd_glob_lit(q, *p++);
        }
    }
    return p;
}

pfsd_glob_t *
pfsd_glob_compile(const char *pattern, const char **err)
{
    pfsd_glob_t *g = pfsd_xcalloc(1, sizeof(*g));
    const char *e;

    *err = NULL;
    e = pfsd_glob_parse(pattern, "", &g->seq, err);
    if (e == NULL) {
        pfsd_glob_free(g);
        return NULL;
    }
    return g;
}

void
pfsd_glob_free(pfsd_glob_t *g)
{
    if (g != NULL) {
        pfsd_gseq_free(&g->seq);
        free(g);
    }
}

/* ------------------------------------------------------------ matching */

static bool pfsd_gm(const pfsd_gnode_t *p, size_t n, const char *s,
                    const pfsd_gcont_t *k, pfsd_gmode_t mode);

static bool
pfsd_gcont_remaining(size_t n, const pfsd_gcont_t *k)
{
    for (; n == 0 && k != NULL; k = k->next) {
        n = k->n;
    }
    return n > 0;
}

/* The pattern ran out: continue with the continuation, or decide. */
static bool
pfsd_gm_end(const char *s, const pfsd_gcont_t *k, pfsd_gmode_t mode)
{
    if (k != NULL) {
        if (k->after != NULL && s <= k->after) {
            return false;       /* a repetition that consumed nothing */
        }
        return pfsd_gm(k->nodes, k->n, s, k->next, mode);
    }
    return mode == PFSD_GLOB_FULL && *s == '\0';
}

static bool
pfsd_gm_alts(const pfsd_gnode_t *node, const char *s, const pfsd_gcont_t *k,
             pfsd_gmode_t mode)
{
    size_t i;

    for (i = 0; i < node->nalts; i++) {
        if (pfsd_gm(node->alts[i].nodes, node->alts[i].n, s, k, mode)) {
            return true;
        }
    }
    return false;
}

/* !(alts) over s[0..len): true when no alternative matches it whole. */
static bool
pfsd_gm_none(const pfsd_gnode_t *node, const char *s, size_t len)
{
    char *sub = pfsd_xstrndup(s, len);
    bool any = pfsd_gm_alts(node, sub, NULL, PFSD_GLOB_FULL);

    free(sub);
    return !any;
}

static bool
pfsd_gm(const pfsd_gnode_t *p, size_t n, const char *s, const pfsd_gcont_t *k,
        pfsd_gmode_t mode)
{
    pfsd_gcont_t next;
    size_t i;

    for (;;) {
        if (mode == PFSD_GLOB_PREFIX && *s == '\0') {
            /* The input is a prefix: anything may still follow. */
            return pfsd_gcont_remaining(n, k);
        }
        if (n == 0) {
            return pfsd_gm_end(s, k, mode);
        }
        switch (p->kind) {
        case G_LIT:
            if (*s != p->c) {
                return false;
            }
            s++;
            break;
        case G_ANY:
            if (*s == '\0' || *s == '/') {
                return false;
            }
            s++;
            break;
        case G_CLASS: {
            unsigned char c = (unsigned char) *s;
            bool in = (p->set[c >> 3] >> (c & 7)) & 1;

            if (c == '\0' || c == '/' || in == p->negated) {
                return false;
            }
            s++;
            break;
        }
        case G_STAR:
        case G_SUPER:
            for (i = 0;; i++) {
                if (pfsd_gm(p + 1, n - 1, s + i, k, mode)) {
                    return true;
                }
                if (s[i] == '\0') {
                    /* A prefix ending inside the run: it may go on. */
                    return mode == PFSD_GLOB_PREFIX;
                }
                if (p->kind == G_STAR && s[i] == '/') {
                    return false;
                }
            }
        case G_ALT:
            next = (pfsd_gcont_t) { p + 1, n - 1, k, NULL };
            return pfsd_gm_alts(p, s, &next, mode);
        case G_OPT:
            next = (pfsd_gcont_t) { p + 1, n - 1, k, NULL };
            return pfsd_gm(p + 1, n - 1, s, k, mode)
                   || pfsd_gm_alts(p, s, &next, mode);
        case G_REPEAT:
            /* Zero more times, or once more and then this node again
             * (only after consuming something, so it terminates). */
            if (pfsd_gm(p + 1, n - 1, s, k, mode)) {
                return true;
            }
            next = (pfsd_gcont_t) { p, n, k, s };
            return pfsd_gm_alts(p, s, &next, mode);
        case G_NOT:
            for (i = 0;; i++) {
                if (pfsd_gm_none(p, s, i)
                    && pfsd_gm(p + 1, n - 1, s + i, k, mode))
                {
                    return true;
                }
                if (s[i] == '\0') {
                    return mode == PFSD_GLOB_PREFIX;
                }
                if (s[i] == '/') {
                    return false;
                }
            }
        }
        p++;
        n--;
    }
}

bool
pfsd_glob_match(const pfsd_glob_t *g, const char *path)
{
    return pfsd_gm(g->seq.nodes, g->seq.n, path, NULL, PFSD_GLOB_FULL);
}

bool
pfsd_glob_may_match_longer(const pfsd_glob_t *g, const char *prefix)
{
    return pfsd_gm(g->seq.nodes, g->seq.n, prefix, NULL, PFSD_GLOB_PREFIX);
}

char *
pfsd_glob_literal_prefix(const pfsd_glob_t *g)
{
    char *out = pfsd_xmalloc(g->seq.n + 1);
    size_t i;

    for (i = 0; i < g->seq.n && g->seq.nodes[i].kind == G_LIT; i++) {
        out[i] = g->seq.nodes[i].c;
    }
    out[i] = '\0';
    return out;
}

bool
pfsd_glob_is_literal(const pfsd_glob_t *g)
{
    size_t i;

    for (i = 0; i < g->seq.n; i++) {
        if (g->seq.nodes[i].kind != G_LIT) {
            return false;
        }
    }
    return true;
}

bool
pfsd_glob_has_magic(const char *s)
{
    return strpbrk(s, "*?[]{}!()@+^\\") != NULL;
}
