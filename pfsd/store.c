#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util.h"

#define PFSD_PACK_BUCKETS 256
#define PFSD_PIN_BUCKETS  4096

static const char pfsd_pack_magic[8] = { 'P', 'F', 'S', 'D', 'P', 'A', 'C', 'K' };
static const char pfsd_rec_magic[4] = { 'P', 'F', 'S', 'C' };

typedef struct pfsd_pack {
    struct pfsd_pack *next;
    uint32_t id;
    int fd;
    int refs;               /* readers inside pread right now */
    int holds;              /* writers with records not yet committed */
    bool retired;           /* unlinked: close once unused */
    int64_t size;           /* bytes reserved so far (active pack) */
} pfsd_pack_t;

typedef struct pfsd_pin {
    struct pfsd_pin *next;
    uint8_t sha[32];
    int count;
} pfsd_pin_t;

struct pfsd_store {
    char *dir;                      /* DIR/packs */
    int dirfd;
    int64_t pack_max;
    const pfsd_log_t *log;
    pthread_mutex_t mu;
    pfsd_pack_t *buckets[PFSD_PACK_BUCKETS];
    pfsd_pack_t *active;
    uint32_t next_id;

    pthread_mutex_t pin_mu;
    pfsd_pin_t *pins[PFSD_PIN_BUCKETS];
};

static void
pfsd_pack_path(const pfsd_store_t *s, uint32_t id, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%08u.pack", s->dir, id);
}

static pfsd_pack_t *
pfsd_pack_find(pfsd_store_t *s, uint32_t id)
{
    pfsd_pack_t *p;

    for (p = s->buckets[id % PFSD_PACK_BUCKETS]; p != NULL; p = p->next) {
        if (p->id == id) {
            return p;
        }
    }
    return NULL;
}

static pfsd_pack_t *
pfsd_pack_add(pfsd_store_t *s, uint32_t id, int fd)
{
    pfsd_pack_t *p = pfsd_xcalloc(1, sizeof(*p));

    p->id = id;
    p->fd = fd;
    p->next = s->buckets[id % PFSD_PACK_BUCKETS];
    s->buckets[id % PFSD_PACK_BUCKETS] = p;
    return p;
}

static void
pfsd_pack_remove(pfsd_store_t *s, pfsd_pack_t *p)
{
    pfsd_pack_t **pp = &s->buckets[p->id % PFSD_PACK_BUCKETS];

    while (*pp != p) {
        pp = &(*pp)->next;
    }
    *pp = p->next;
    close(p->fd);
    free(p);
}

static void
pfsd_pack_maybe_close(pfsd_store_t *s, pfsd_pack_t *p)
{
    if (p->retired && p->refs == 0 && p->holds == 0 && p != s->active) {
        pfsd_pack_remove(s, p);
    }
}

/* Scans DIR/packs for the highest pack id. */
static int
pfsd_store_scan(pfsd_store_t *s, uint32_t *max_id, char *err, size_t errlen)
{
    DIR *d = opendir(s->dir);
    struct dirent *e;
    unsigned long id;
    char *end;

    if (d == NULL) {
        snprintf(err, errlen, "cannot read %s: %s", s->dir, strerror(errno));
        return -1;
    }
    *max_id = 0;
    while ((e = readdir(d)) != NULL) {
        id = strtoul(e->d_name, &end, 10);
        if (end != e->d_name && strcmp(end, ".pack") == 0 && id > *max_id) {
            *max_id = (uint32_t) id;
        }
    }
    closedir(d);
    return 0;
}

int
pfsd_store_open(pfsd_store_t **out, const char *dir, int64_t pack_max,
                uint32_t first_pack, const pfsd_log_t *log,
                char *err, size_t errlen)
{
    pfsd_store_t *s = pfsd_xcalloc(1, sizeof(*s));
    uint32_t max_id;
    size_t n = strlen(dir) + sizeof("/packs");

    s->dir = pfsd_xmalloc(n);
    snprintf(s->dir, n, "%s/packs", dir);
    s->pack_max = pack_max > 0 ? pack_max : (int64_t) 1 << 30;
    s->log = log;
    if (mkdir(s->dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", s->dir, strerror(errno));
        goto fail;
    }
    s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dirfd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", s->dir, strerror(errno));
        goto fail;
    }
    if (pfsd_store_scan(s, &max_id, err, errlen) != 0) {
        goto fail;
    }
    /* Never append to a pack of an earlier run: its tail may hold a torn
     * record.  A fresh pack is started on the first write. */
    s->next_id = max_id + 1 > first_pack ? max_id + 1 : first_pack;
    if (s->next_id == 0) {
        s->next_id = 1;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->pin_mu, NULL);
    *out = s;
    return 0;

fail:
    if (s->dirfd > 0) {
        close(s->dirfd);
    }
    free(s->dir);
    free(s);
    return -1;
}

void
pfsd_store_close(pfsd_store_t *s)
{
    size_t i;
    pfsd_pack_t *p, *np;
    pfsd_pin_t *q, *nq;

    if (s == NULL) {
        return;
    }
    for (i = 0; i < PFSD_PACK_BUCKETS; i++) {
        for (p = s->buckets[i]; p != NULL; p = np) {
            np = p->next;
            close(p->fd);
            free(p);
        }
    }
    for (i = 0; i < PFSD_PIN_BUCKETS; i++) {
        for (q = s->pins[i]; q != NULL; q = nq) {
            nq = q->next;
            free(q);
        }
    }
    close(s->dirfd);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->pin_mu);
    free(s->dir);
    free(s);
}

/* Creates the next pack and makes it the active one (mu held). */
static bool
pfsd_store_rotate(pfsd_store_t *s, pfsd_status_t *st)
{
    char path[4096], hdr[PFSD_PACK_HEADER];
    uint32_t id = s->next_id;
    int fd;

    pfsd_pack_path(s, id, path, sizeof(path));
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        return pfsd_fail(st, GRPC_STATUS_INTERNAL, "cannot create %s: %s",
                         path, strerror(errno));
    }
    memset(hdr, 0, sizeof(hdr));
    memcpy(hdr, pfsd_pack_magic, sizeof(pfsd_pack_magic));
    hdr[8] = 1;     /* format version */
    /* The header and the directory entry are made durable now, once per
     * pack, so that syncing records later needs only fdatasync. */
    if (pwrite(fd, hdr, sizeof(hdr), 0) != (ssize_t) sizeof(hdr)
        || fsync(fd) != 0 || fsync(s->dirfd) != 0)
    {
        pfsd_fail(st, GRPC_STATUS_INTERNAL, "cannot initialize %s: %s",
                  path, strerror(errno));
        close(fd);
        unlink(path);
        return false;
    }
    s->next_id++;
    if (s->active != NULL) {
        pfsd_pack_t *old = s->active;

        s->active = NULL;
        pfsd_pack_maybe_close(s, old);
    }
    s->active = pfsd_pack_add(s, id, fd);
    s->active->size = PFSD_PACK_HEADER;
    return true;
}

bool
pfsd_store_write(pfsd_store_t *s, const uint8_t sha[32], const void *data,
                 uint32_t len, pfsd_chunk_loc_t *loc, pfsd_status_t *st)
{
    uint8_t hdr[PFSD_RECORD_HEADER];
    struct iovec iov[2];
    pfsd_pack_t *p;
    int64_t off, need = PFSD_RECORD_HEADER + (int64_t) len;
    ssize_t n;
    int fd;

    pthread_mutex_lock(&s->mu);
    if (s->active == NULL
        || (s->active->size + need > s->pack_max
            && s->active->size > PFSD_PACK_HEADER))
    {
        if (!pfsd_store_rotate(s, st)) {
            pthread_mutex_unlock(&s->mu);
            return false;
        }
    }
    p = s->active;
    off = p->size;
    p->size += need;
    p->holds++;
    p->refs++;
    fd = p->fd;
    pthread_mutex_unlock(&s->mu);

    memset(hdr, 0, sizeof(hdr));
    memcpy(hdr, pfsd_rec_magic, 4);
    hdr[4] = (uint8_t) len;
    hdr[5] = (uint8_t) (len >> 8);
    hdr[6] = (uint8_t) (len >> 16);
    hdr[7] = (uint8_t) (len >> 24);
    memcpy(hdr + 8, sha, 32);
    iov[0].iov_base = hdr;
    iov[0].iov_len = sizeof(hdr);
    iov[1].iov_base = (void *) data;
    iov[1].iov_len = len;
    n = pwritev(fd, iov, 2, off);

    pthread_mutex_lock(&s->mu);
    p->refs--;
    if (n != need) {
        p->holds--;
        pfsd_pack_maybe_close(s, p);
        pthread_mutex_unlock(&s->mu);
        return pfsd_fail(st, GRPC_STATUS_INTERNAL,
                         "cannot write pack %08u: %s", p->id,
                         n < 0 ? strerror(errno) : "short write");
    }
    pthread_mutex_unlock(&s->mu);
    loc->pack = p->id;
    loc->off = (uint64_t) off;
    loc->len = len;
    return true;
}

/* Finds or opens a pack and takes a reader reference (mu held). */
static pfsd_pack_t *
pfsd_store_acquire(pfsd_store_t *s, uint32_t id, pfsd_status_t *st)
{
    pfsd_pack_t *p = pfsd_pack_find(s, id);
    char path[4096];
    int fd;

    if (p == NULL) {
        pfsd_pack_path(s, id, path, sizeof(path));
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            pfsd_fail(st, errno == ENOENT ? GRPC_STATUS_NOT_FOUND
                                          : GRPC_STATUS_INTERNAL,
                      "cannot open %s: %s", path, strerror(errno));
            return NULL;
        }
        p = pfsd_pack_add(s, id, fd);
    } else if (p->retired && p->refs == 0) {
        /* Retired and idle: whoever asks now had an old location. */
        pfsd_fail(st, GRPC_STATUS_NOT_FOUND, "pack %08u was compacted", id);
        return NULL;
    }
    p->refs++;
    return p;
}

bool
pfsd_store_read(pfsd_store_t *s, uint32_t pack, uint64_t rec_off, uint32_t at,
                void *buf, size_t len, pfsd_status_t *st)
{
    pfsd_pack_t *p;
    ssize_t n;
    size_t got = 0;
    off_t off = (off_t) (rec_off + PFSD_RECORD_HEADER + at);
    int err = 0;

    pthread_mutex_lock(&s->mu);
    p = pfsd_store_acquire(s, pack, st);
    pthread_mutex_unlock(&s->mu);
    if (p == NULL) {
        return false;
    }
    while (got < len) {
        n = pread(p->fd, (char *) buf + got, len - got, off + (off_t) got);
        if (n <= 0) {
            err = n < 0 ? errno : EIO;
            if (n < 0 && errno == EINTR) {
                continue;
            }
            break;
        }
        got += (size_t) n;
    }
    pthread_mutex_lock(&s->mu);
    p->refs--;
    pfsd_pack_maybe_close(s, p);
    pthread_mutex_unlock(&s->mu);
    if (got < len) {
        return pfsd_fail(st, GRPC_STATUS_DATA_LOSS,
                         "cannot read pack %08u at %lld: %s", pack,
                         (long long) off, strerror(err));
    }
    return true;
}

bool
pfsd_store_sync(pfsd_store_t *s, uint32_t pack, pfsd_status_t *st)
{
    pfsd_pack_t *p;
    int rc;

    pthread_mutex_lock(&s->mu);
    p = pfsd_store_acquire(s, pack, st);
    pthread_mutex_unlock(&s->mu);
    if (p == NULL) {
        return false;
    }
    rc = fdatasync(p->fd);
    pthread_mutex_lock(&s->mu);
    p->refs--;
    pfsd_pack_maybe_close(s, p);
    pthread_mutex_unlock(&s->mu);
    if (rc != 0) {
        return pfsd_fail(st, GRPC_STATUS_INTERNAL, "cannot sync pack %08u: %s",
                         pack, strerror(errno));
    }
    return true;
}

void
pfsd_store_flush_hint(pfsd_store_t *s, uint32_t pack)
{
    pfsd_pack_t *p;
    pfsd_status_t st;

    pthread_mutex_lock(&s->mu);
    p = pfsd_store_acquire(s, pack, &st);
    pthread_mutex_unlock(&s->mu);
    if (p == NULL) {
        return;
    }
    sync_file_range(p->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    pthread_mutex_lock(&s->mu);
    p->refs--;
    pfsd_pack_maybe_close(s, p);
    pthread_mutex_unlock(&s->mu);
}

void
pfsd_store_hold(pfsd_store_t *s, uint32_t pack)
{
    pfsd_pack_t *p;

    pthread_mutex_lock(&s->mu);
    p = pfsd_pack_find(s, pack);
    if (p != NULL) {
        p->holds++;
    }
    pthread_mutex_unlock(&s->mu);
}

void
pfsd_store_release(pfsd_store_t *s, uint32_t pack)
{
    pfsd_pack_t *p;

    pthread_mutex_lock(&s->mu);
    p = pfsd_pack_find(s, pack);
    if (p != NULL && p->holds > 0) {
        p->holds--;
        pfsd_pack_maybe_close(s, p);
    }
    pthread_mutex_unlock(&s->mu);
}

bool
pfsd_store_compactable(pfsd_store_t *s, uint32_t pack, int64_t *size)
{
    pfsd_pack_t *p;
    struct stat sb;
    char path[4096];
    bool ok = false;

    pthread_mutex_lock(&s->mu);
    p = pfsd_pack_find(s, pack);
    if ((p == NULL || (p != s->active && p->holds == 0 && !p->retired))
        && pack < s->next_id)
    {
        pfsd_pack_path(s, pack, path, sizeof(path));
        if (stat(path, &sb) == 0) {
            *size = sb.st_size;
            ok = true;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

void
pfsd_store_retire(pfsd_store_t *s, uint32_t pack)
{
    pfsd_pack_t *p;
    char path[4096];

    pthread_mutex_lock(&s->mu);
    pfsd_pack_path(s, pack, path, sizeof(path));
    if (unlink(path) != 0 && errno != ENOENT) {
        pfsd_log_warn(s->log, "cannot remove %s: %s", path, strerror(errno));
    }
    p = pfsd_pack_find(s, pack);
    if (p != NULL) {
        p->retired = true;
        pfsd_pack_maybe_close(s, p);
    }
    pthread_mutex_unlock(&s->mu);
    fsync(s->dirfd);
}

bool
pfsd_store_active(pfsd_store_t *s, uint32_t *pack, int64_t *size, bool *busy)
{
    bool ok;

    pthread_mutex_lock(&s->mu);
    ok = s->active != NULL;
    if (ok) {
        *pack = s->active->id;
        *size = s->active->size;
        *busy = s->active->holds > 0;
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

bool
pfsd_store_seal(pfsd_store_t *s, uint32_t pack, int64_t size)
{
    pfsd_pack_t *p;
    bool ok;

    pthread_mutex_lock(&s->mu);
    p = s->active;
    ok = p != NULL && p->id == pack && p->size == size && p->holds == 0;
    if (ok) {
        s->active = NULL;
        pfsd_pack_maybe_close(s, p);
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

size_t
pfsd_store_list(pfsd_store_t *s, uint32_t **ids)
{
    DIR *d = opendir(s->dir);
    struct dirent *e;
    size_t n = 0, cap = 0, i, j;
    unsigned long id;
    char *end;
    uint32_t *v = NULL, t;

    if (d == NULL) {
        *ids = NULL;
        return 0;
    }
    while ((e = readdir(d)) != NULL) {
        id = strtoul(e->d_name, &end, 10);
        if (end == e->d_name || strcmp(end, ".pack") != 0) {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            v = pfsd_xrealloc(v, cap * sizeof(*v));
        }
        v[n++] = (uint32_t) id;
    }
    closedir(d);
    for (i = 1; i < n; i++) {
        for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
            t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    }
    *ids = v;
    return n;
}

/* ------------------------------------------------------------ pins */

static size_t
pfsd_pin_bucket(const uint8_t sha[32])
{
    return ((size_t) sha[0] << 8 | sha[1]) % PFSD_PIN_BUCKETS;
}

void
pfsd_store_pin(pfsd_store_t *s, const uint8_t sha[32])
{
    pfsd_pin_t *p;
    size_t b = pfsd_pin_bucket(sha);

    pthread_mutex_lock(&s->pin_mu);
    for (p = s->pins[b]; p != NULL; p = p->next) {
        if (memcmp(p->sha, sha, 32) == 0) {
            break;
        }
    }
    if (p == NULL) {
        p = pfsd_xcalloc(1, sizeof(*p));
        memcpy(p->sha, sha, 32);
        p->next = s->pins[b];
        s->pins[b] = p;
    }
    p->count++;
    pthread_mutex_unlock(&s->pin_mu);
}

void
pfsd_store_unpin(pfsd_store_t *s, const uint8_t sha[32])
{
    pfsd_pin_t **pp, *p;
    size_t b = pfsd_pin_bucket(sha);

    pthread_mutex_lock(&s->pin_mu);
    for (pp = &s->pins[b]; (p = *pp) != NULL; pp = &p->next) {
        if (memcmp(p->sha, sha, 32) == 0) {
            if (--p->count == 0) {
                *pp = p->next;
                free(p);
            }
            break;
        }
    }
    pthread_mutex_unlock(&s->pin_mu);
}

void
pfsd_store_pins_lock(pfsd_store_t *s)
{
    pthread_mutex_lock(&s->pin_mu);
}

bool
pfsd_store_pinned_locked(pfsd_store_t *s, const uint8_t sha[32])
{
    pfsd_pin_t *p;

    for (p = s->pins[pfsd_pin_bucket(sha)]; p != NULL; p = p->next) {
        if (memcmp(p->sha, sha, 32) == 0) {
            return true;
        }
    }
    return false;
}

void
pfsd_store_pins_unlock(pfsd_store_t *s)
{
    pthread_mutex_unlock(&s->pin_mu);
}
