/*
 * audit.c - the audit log's queue and writer thread (see audit.h).
 *
 * The request path copies an event into one heap block and pushes its
 * pointer into a fixed ring under mu; the writer takes batches out of the
 * ring, formats them as JSON Lines with cJSON outside the lock, writes
 * each batch with as few write(2) calls as possible and syncs as the
 * policy says. Flush and reopen requests are handed to the writer so that
 * only the writer ever touches the file descriptor.
 *
 * Every open log is also on a process-wide list (under g_open_mu, taken
 * before any log's mu), so that the server's SIGHUP handler and its
 * metrics can reach the log that the call gate owns.
 */
#include "security/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/rand.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "core/timeutil.h"
#include "obs/log.h"

#define NFIELDS 7
#define BATCH 256

static const char *const field_names[NFIELDS] = {
    "principal", "auth_method", "action",  "resource",
    "peer_address", "request_id", "reason"};

/* One queued event: fixed part followed by its strings. */
struct audit_rec {
    enum amaters_audit_event_type type;
    enum amaters_audit_result result;
    char ts[40];
    char *f[NFIELDS]; /* NULL or pointing into this block */
};

struct amaters_audit {
    pthread_mutex_t mu;
    pthread_cond_t wake; /* writer waits: work, stop, flush, reopen */
    pthread_cond_t done; /* flush/reopen callers wait for the writer */
    /* Guarded by mu: */
    struct audit_rec **ring;
    size_t cap, head, count;
    bool stop, paused, dirty;
    /* reopen requests: asked up to reopen_want, carried out up to
     * reopen_done (a request made while the writer is reopening is not
     * covered by that reopen: the writer reopens again) */
    uint64_t reopen_want, reopen_done;
    int reopen_rv;
    unsigned flush_waiters;
    uint64_t logged, processed, written, dropped, write_errors;
    bool io_failed;
    bool failing; /* the last batch failed: its loss was logged */
    /* Writer thread only (and open/close): */
    int fd;
    int last_errno; /* of the last failed write */
    char *path;
    enum amaters_audit_fsync policy;
    uint64_t interval_ns;
    uint64_t last_sync_ns;
    pthread_t thread;
    /* On the list of open logs; guarded by g_open_mu. refs counts the
     * reopen_all calls using a without the lock; close waits for 0. */
    struct amaters_audit *next_open;
    unsigned refs;
};

static pthread_mutex_t g_open_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_refs_cv = PTHREAD_COND_INITIALIZER;
static struct amaters_audit *g_open; /* guarded by g_open_mu */

static void list_add(struct amaters_audit *a)
{
    pthread_mutex_lock(&g_open_mu);
    a->next_open = g_open;
    g_open = a;
    pthread_mutex_unlock(&g_open_mu);
}

/* Takes a off the list and waits until no reopen_all still uses it. */
static void list_remove(struct amaters_audit *a)
{
    struct amaters_audit **p;

    pthread_mutex_lock(&g_open_mu);
    for (p = &g_open; *p != NULL; p = &(*p)->next_open) {
        if (*p == a) {
            *p = a->next_open;
            break;
        }
    }
    while (a->refs > 0)
        pthread_cond_wait(&g_refs_cv, &g_open_mu);
    pthread_mutex_unlock(&g_open_mu);
}

const char *amaters_audit_type_name(enum amaters_audit_event_type t)
{
    switch (t) {
    case AMATERS_AUDIT_AUTHENTICATION:
        return "authentication";
    case AMATERS_AUDIT_AUTHORIZATION:
        return "authorization";
    case AMATERS_AUDIT_ADMIN_COMMAND:
        return "admin_command";
    case AMATERS_AUDIT_CONFIG_CHANGE:
        return "config_change";
    default:
        return "unknown";
    }
}

const char *amaters_audit_result_name(enum amaters_audit_result r)
{
    switch (r) {
    case AMATERS_AUDIT_SUCCESS:
        return "success";
    case AMATERS_AUDIT_FAILURE:
        return "failure";
    case AMATERS_AUDIT_DENIED:
        return "denied";
    default:
        return "unknown";
    }
}

/* Length of the UTF-8 sequence led by b, 0 if b cannot lead one. */
static size_t utf8_len(unsigned char b)
{
    return b < 0x80 ? 1 : (b & 0xe0) == 0xc0 && b >= 0xc2 ? 2
         : (b & 0xf0) == 0xe0 ? 3 : (b & 0xf8) == 0xf0 && b <= 0xf4 ? 4
         : 0;
}

/* The range of a sequence's second byte after lead b (no overlongs, no
 * surrogates, nothing above U+10FFFF: RFC 3629). */
static bool second_ok(unsigned char b, unsigned char c)
{
    return b == 0xe0 ? c >= 0xa0 : b == 0xed ? c <= 0x9f
         : b == 0xf0 ? c >= 0x90 : b == 0xf4 ? c <= 0x8f : true;
}

/* Copies at most max bytes of src to dst as valid UTF-8: a byte that does
 * not start a complete sequence becomes '?', and a character that would
 * not fit is left out whole (never cut in the middle). dst holds max + 1
 * bytes; returns the length written (NUL-terminated). */
static size_t copy_utf8(char *dst, const char *src, size_t max)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t i = 0, o = 0;

    while (s[i] != '\0' && o < max) {
        size_t k = utf8_len(s[i]), j = 1;
        while (k > 1 && j < k && (s[i + j] & 0xc0) == 0x80)
            j++;
        if (k == 0 || j < k || !second_ok(s[i], s[i + 1])) {
            dst[o++] = '?'; /* invalid or truncated sequence */
            i++;
            continue;
        }
        if (o + k > max)
            break;
        memcpy(dst + o, s + i, k);
        o += k;
        i += k;
    }
    dst[o] = '\0';
    return o;
}

/* Copies ev into one heap block, strings as valid UTF-8 cut at
 * AMATERS_AUDIT_MAX_FIELD bytes (at a character boundary). */
static struct audit_rec *rec_new(const struct amaters_audit_event *ev)
{
    const char *src[NFIELDS] = {ev->principal, ev->auth_method, ev->action,
                                ev->resource,  ev->peer,        ev->request_id,
                                ev->reason};
    size_t lens[NFIELDS];
    size_t total = sizeof(struct audit_rec);
    struct audit_rec *r;
    char *p;

    for (size_t i = 0; i < NFIELDS; i++) {
        lens[i] = src[i] == NULL ? 0
                                 : strnlen(src[i], AMATERS_AUDIT_MAX_FIELD);
        total += src[i] == NULL ? 0 : lens[i] + 1;
    }
    r = amaters_malloc(total);
    if (r == NULL)
        return NULL;
    r->type = ev->type;
    r->result = ev->result;
    amaters_rfc3339_now(r->ts, sizeof r->ts);
    p = (char *)(r + 1);
    for (size_t i = 0; i < NFIELDS; i++) {
        r->f[i] = NULL;
        if (src[i] == NULL)
            continue;
        r->f[i] = p;
        p += copy_utf8(p, src[i], lens[i]) + 1;
    }
    return r;
}

int amaters_audit_log(struct amaters_audit *a,
                      const struct amaters_audit_event *ev)
{
    struct audit_rec *r;
    int rv = 0;

    if (a == NULL || ev == NULL)
        return AMATERS_EINVAL;
    r = rec_new(ev);
    pthread_mutex_lock(&a->mu);
    if (a->stop) {
        rv = AMATERS_ESHUTDOWN;
    } else if (r == NULL) {
        a->dropped++;
        rv = AMATERS_ENOMEM;
    } else if (a->count == a->cap) {
        a->dropped++;
        rv = AMATERS_EOVERLOAD;
    } else {
        a->ring[(a->head + a->count) % a->cap] = r;
        a->count++;
        a->logged++;
        r = NULL;
        pthread_cond_signal(&a->wake);
    }
    pthread_mutex_unlock(&a->mu);
    amaters_free(r);
    return rv;
}

uint64_t amaters_audit_dropped(struct amaters_audit *a)
{
    uint64_t n;

    pthread_mutex_lock(&a->mu);
    n = a->dropped + a->write_errors;
    pthread_mutex_unlock(&a->mu);
    return n;
}

void amaters_audit_get_stats(struct amaters_audit *a,
                             struct amaters_audit_stats *st)
{
    pthread_mutex_lock(&a->mu);
    st->logged = a->logged;
    st->written = a->written;
    st->dropped = a->dropped;
    st->write_errors = a->write_errors;
    pthread_mutex_unlock(&a->mu);
}

/* Writes a random UUID v4 into buf (37 bytes). */
static void make_uuid(char *buf, size_t len, uint64_t seq)
{
    unsigned char b[16];

    if (RAND_bytes(b, sizeof b) != 1) {
        uint64_t t = amaters_unix_ns();
        memcpy(b, &t, 8);
        memcpy(b + 8, &seq, 8);
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(buf, len,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
             b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* Formats r as one JSON line (malloc'd by cJSON; free with cJSON_free),
 * or NULL on allocation failure. */
static char *rec_format(const struct audit_rec *r, uint64_t seq)
{
    char id[40];
    cJSON *o = cJSON_CreateObject();
    char *line = NULL;
    bool ok;

    if (o == NULL)
        return NULL;
    make_uuid(id, sizeof id, seq);
    ok = cJSON_AddStringToObject(o, "id", id) != NULL &&
         cJSON_AddStringToObject(o, "timestamp", r->ts) != NULL &&
         cJSON_AddStringToObject(o, "event_type",
                                 amaters_audit_type_name(r->type)) != NULL &&
         cJSON_AddStringToObject(o, "result",
                                 amaters_audit_result_name(r->result)) != NULL;
    for (size_t i = 0; ok && i < NFIELDS; i++)
        ok = (r->f[i] == NULL
                  ? cJSON_AddNullToObject(o, field_names[i])
                  : cJSON_AddStringToObject(o, field_names[i], r->f[i])) !=
             NULL;
    if (ok)
        line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return line;
}

/* Writes len bytes to fd, retrying short writes. Returns 0 or -1. */
static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

struct textbuf {
    char *p;
    size_t len, cap;
};

static int buf_append(struct textbuf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap == 0 ? 4096 : b->cap;
        char *np;
        while (cap < b->len + n)
            cap *= 2;
        np = amaters_realloc(b->p, cap);
        if (np == NULL)
            return AMATERS_ENOMEM;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

/* Formats and writes n records (freeing them). Returns how many reached
 * the file; *ok is false when a write failed. Writer thread only. */
static size_t write_batch(struct amaters_audit *a, struct audit_rec **recs,
                          size_t n, uint64_t seq, bool *ok)
{
    struct textbuf b = {0};
    size_t good = 0;

    for (size_t i = 0; i < n; i++) {
        char *line = rec_format(recs[i], seq + i);
        if (line != NULL && buf_append(&b, line, strlen(line)) == 0 &&
            buf_append(&b, "\n", 1) == 0)
            good++;
        cJSON_free(line);
        amaters_free(recs[i]);
    }
    *ok = good == n;
    if (b.len > 0 && write_all(a->fd, b.p, b.len) != 0) {
        *ok = false;
        good = 0;
        a->last_errno = errno;
    }
    amaters_free(b.p);
    return good;
}

/* Syncs the file. Writer thread only. Returns 0 or -1. */
static int do_sync(struct amaters_audit *a)
{
    a->last_sync_ns = amaters_now_ns();
    return fdatasync(a->fd) == 0 ? 0 : -1;
}

static int open_file(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        snprintf(err, errlen, "%s: cannot open audit log: %s", path,
                 strerror(errno));
    return fd;
}

/* Handles a reopen request. Called and returns with mu held. */
static void handle_reopen(struct amaters_audit *a)
{
    char err[512];
    int fd, synced = 0;
    uint64_t gen = a->reopen_want;   /* the requests this reopen covers */

    pthread_mutex_unlock(&a->mu);
    fd = open_file(a->path, err, sizeof err);
    if (fd >= 0) {
        /* the old file's records must be on disk before it is let go */
        synced = fdatasync(a->fd) == 0;
        close(a->fd);
        a->fd = fd;
    }
    pthread_mutex_lock(&a->mu);
    a->reopen_rv = fd >= 0 ? 0 : AMATERS_EIO;
    a->reopen_done = gen;
    if (fd >= 0 && !synced)
        a->io_failed = true;   /* reported as AMATERS_EIO, like a sync */
    if (fd >= 0)
        a->dirty = false;      /* the new file holds nothing unsynced */
    pthread_cond_broadcast(&a->done);
}

/* Syncs with mu released; records failure. Called with mu held. */
static void sync_locked(struct amaters_audit *a)
{
    int rc;

    pthread_mutex_unlock(&a->mu);
    rc = do_sync(a);
    pthread_mutex_lock(&a->mu);
    a->dirty = false;
    if (rc != 0)
        a->io_failed = true;
    pthread_cond_broadcast(&a->done);
}

/* Waits for work; syncs on the interval when idle. Called with mu held. */
static void wait_idle(struct amaters_audit *a)
{
    struct timespec ts;
    uint64_t due;

    if (a->dirty && a->flush_waiters > 0) {
        sync_locked(a);
        return;
    }
    if (!a->dirty || a->policy != AMATERS_AUDIT_FSYNC_INTERVAL) {
        pthread_cond_wait(&a->wake, &a->mu);
        return;
    }
    due = a->last_sync_ns + a->interval_ns;
    if (amaters_now_ns() >= due) {
        sync_locked(a);
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    due = (uint64_t)ts.tv_nsec + (due - amaters_now_ns());
    ts.tv_sec += (time_t)(due / 1000000000u);
    ts.tv_nsec = (long)(due % 1000000000u);
    pthread_cond_timedwait(&a->wake, &a->mu, &ts);
}

/* Takes up to BATCH records from the ring. Called with mu held. */
static size_t take_batch(struct amaters_audit *a, struct audit_rec **out)
{
    size_t n = 0;

    while (n < BATCH && a->count > 0) {
        out[n++] = a->ring[a->head];
        a->head = (a->head + 1) % a->cap;
        a->count--;
    }
    return n;
}

/* After a batch: sync as the policy (or a flush waiter) asks. Called with
 * mu held. */
static void after_batch(struct amaters_audit *a)
{
    bool due = a->policy == AMATERS_AUDIT_FSYNC_EVERY ||
               a->flush_waiters > 0 ||
               (a->policy == AMATERS_AUDIT_FSYNC_INTERVAL &&
                amaters_now_ns() >= a->last_sync_ns + a->interval_ns);
    if (due)
        sync_locked(a);
}

/* Logs the first batch of a run of failed writes (WARN, with the cause)
 * and the recovery after it; silent in between. Called with mu held. */
static void report_loss(struct amaters_audit *a, size_t lost)
{
    if (lost > 0 && !a->failing)
        amaters_log(AMATERS_LOG_WARN, "audit",
                    "cannot write %zu record(s) to %s: %s; they are lost "
                    "(counted in amaters_audit_records_dropped_total) and "
                    "later ones are lost too until writing works again",
                    lost, a->path, strerror(a->last_errno));
    else if (lost == 0 && a->failing)
        amaters_log(AMATERS_LOG_INFO, "audit",
                    "writing to %s again (%llu record(s) lost in all)",
                    a->path, (unsigned long long)a->write_errors);
    a->failing = lost > 0;
}

static void *writer_main(void *arg)
{
    struct amaters_audit *a = arg;
    struct audit_rec *batch[BATCH];

    pthread_mutex_lock(&a->mu);
    for (;;) {
        size_t n = 0;
        size_t good;
        uint64_t seq = a->processed;
        bool ok = true;

        if (a->reopen_done < a->reopen_want) {
            handle_reopen(a);
            continue;
        }
        if (!a->paused || a->stop)
            n = take_batch(a, batch);
        if (n == 0) {
            if (a->stop)
                break;
            wait_idle(a);
            continue;
        }
        pthread_mutex_unlock(&a->mu);
        good = write_batch(a, batch, n, seq, &ok);
        pthread_mutex_lock(&a->mu);
        a->written += good;
        a->write_errors += n - good;
        report_loss(a, n - good);
        a->processed += n;
        a->dirty = true;
        if (!ok)
            a->io_failed = true;
        after_batch(a);
        pthread_cond_broadcast(&a->done);
    }
    if (a->dirty)
        sync_locked(a);
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

static void audit_free(struct amaters_audit *a)
{
    if (a->fd >= 0)
        close(a->fd);
    amaters_free(a->ring);
    amaters_free(a->path);
    pthread_cond_destroy(&a->wake);
    pthread_cond_destroy(&a->done);
    pthread_mutex_destroy(&a->mu);
    amaters_free(a);
}

int amaters_audit_open(struct amaters_audit **out,
                       const struct amaters_audit_options *opt, char *err,
                       size_t errlen)
{
    struct amaters_audit *a;
    int rv = AMATERS_ENOMEM;

    *out = NULL;
    if (opt == NULL || opt->path == NULL || opt->path[0] == '\0') {
        snprintf(err, errlen, "audit log: no path given");
        return AMATERS_EINVAL;
    }
    a = amaters_calloc(1, sizeof *a);
    if (a == NULL)
        return AMATERS_ENOMEM;
    a->fd = -1;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->wake, NULL);
    {
        /* done is waited on with a deadline: on the monotonic clock, so
         * that a wall-clock step cannot stretch the wait */
        pthread_condattr_t ca;

        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&a->done, &ca);
        pthread_condattr_destroy(&ca);
    }
    a->policy = opt->fsync;
    a->interval_ns = (uint64_t)(opt->fsync_interval_ms == 0
                                    ? 1000
                                    : opt->fsync_interval_ms) * 1000000u;
    a->cap = opt->queue_capacity == 0 ? AMATERS_AUDIT_DEFAULT_QUEUE
                                      : opt->queue_capacity;
    a->ring = amaters_calloc(a->cap, sizeof *a->ring);
    a->path = amaters_strdup(opt->path);
    if (a->ring == NULL || a->path == NULL)
        goto fail;
    a->fd = open_file(opt->path, err, errlen);
    if (a->fd < 0) {
        rv = AMATERS_EIO;
        goto fail;
    }
    a->last_sync_ns = amaters_now_ns();
    if (pthread_create(&a->thread, NULL, writer_main, a) != 0) {
        snprintf(err, errlen, "audit log: cannot start writer thread");
        rv = AMATERS_EINTERNAL;
        goto fail;
    }
    pthread_setname_np(a->thread, "amaters-audit"); /* for top -H, perf */
    list_add(a);
    *out = a;
    return 0;
fail:
    audit_free(a);
    return rv;
}

int amaters_audit_flush(struct amaters_audit *a)
{
    uint64_t target;
    int rv;

    pthread_mutex_lock(&a->mu);
    target = a->logged;
    a->flush_waiters++;
    pthread_cond_signal(&a->wake);
    while (a->processed < target || a->dirty)
        pthread_cond_wait(&a->done, &a->mu);
    a->flush_waiters--;
    rv = a->io_failed ? AMATERS_EIO : 0;
    pthread_mutex_unlock(&a->mu);
    return rv;
}

void amaters_audit_pause(struct amaters_audit *a, bool paused)
{
    pthread_mutex_lock(&a->mu);
    a->paused = paused;
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->mu);
}

/* Asks a's writer for a reopen; returns the generation to wait for. */
static uint64_t reopen_post(struct amaters_audit *a)
{
    uint64_t want;

    pthread_mutex_lock(&a->mu);
    want = ++a->reopen_want;
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->mu);
    return want;
}

/* Waits until the writer carried out request want, or until dl
 * (CLOCK_MONOTONIC; NULL = no limit). Returns the writer's result, or
 * AMATERS_ETIMEOUT with the request left for the writer to carry out. */
static int reopen_wait(struct amaters_audit *a, uint64_t want,
                       const struct timespec *dl)
{
    int rv = 0;

    pthread_mutex_lock(&a->mu);
    while (a->reopen_done < want) {
        if (dl == NULL)
            pthread_cond_wait(&a->done, &a->mu);
        else if (pthread_cond_timedwait(&a->done, &a->mu, dl) == ETIMEDOUT)
            break;
    }
    rv = a->reopen_done >= want ? a->reopen_rv : AMATERS_ETIMEOUT;
    pthread_mutex_unlock(&a->mu);
    return rv;
}

int amaters_audit_reopen(struct amaters_audit *a)
{
    return reopen_wait(a, reopen_post(a), NULL);
}

int amaters_audit_reopen_all(size_t *n_open, unsigned timeout_ms)
{
    struct amaters_audit *a, **logs = NULL;
    uint64_t *want = NULL;
    struct timespec dl;
    size_t n = 0, i = 0;
    int rv = 0;

    /* take references under the lock, wait for writers without it (a
     * scrape of amaters_audit_dropped_all must not wait on a disk) */
    pthread_mutex_lock(&g_open_mu);
    for (a = g_open; a != NULL; a = a->next_open)
        n++;
    if (n > 0) {
        logs = amaters_calloc(n, sizeof *logs);
        want = amaters_calloc(n, sizeof *want);
        if (want == NULL) {
            amaters_free(logs);
            logs = NULL;
        }
    }
    for (a = g_open; a != NULL && logs != NULL; a = a->next_open) {
        a->refs++;
        logs[i++] = a;
    }
    pthread_mutex_unlock(&g_open_mu);
    if (n_open != NULL)
        *n_open = n;
    if (n > 0 && logs == NULL) {
        amaters_free(want);
        return AMATERS_ENOMEM;
    }
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += (time_t)(timeout_ms / 1000);
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    /* every request first, then the waits: one stalled log does not use
     * up the others' time */
    for (i = 0; i < n; i++)
        want[i] = reopen_post(logs[i]);
    for (i = 0; i < n; i++) {
        int r = reopen_wait(logs[i], want[i], &dl);
        if (r != 0 && (rv == 0 || r == AMATERS_EIO))
            rv = r;
    }
    pthread_mutex_lock(&g_open_mu);
    for (i = 0; i < n; i++)
        logs[i]->refs--;
    pthread_cond_broadcast(&g_refs_cv);
    pthread_mutex_unlock(&g_open_mu);
    amaters_free(logs);
    amaters_free(want);
    return rv;
}

uint64_t amaters_audit_dropped_all(size_t *n_open)
{
    struct amaters_audit *a;
    uint64_t dropped = 0;
    size_t n = 0;

    pthread_mutex_lock(&g_open_mu);
    for (a = g_open; a != NULL; a = a->next_open) {
        n++;
        dropped += amaters_audit_dropped(a);
    }
    pthread_mutex_unlock(&g_open_mu);
    if (n_open != NULL)
        *n_open = n;
    return dropped;
}

int amaters_audit_close(struct amaters_audit *a)
{
    int rv;

    if (a == NULL)
        return 0;
    list_remove(a);
    pthread_mutex_lock(&a->mu);
    a->stop = true;
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thread, NULL);
    rv = a->io_failed ? AMATERS_EIO : 0;
    if (close(a->fd) != 0)
        rv = AMATERS_EIO;
    a->fd = -1;
    audit_free(a);
    return rv;
}
