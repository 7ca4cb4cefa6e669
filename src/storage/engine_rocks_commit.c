/*
 * engine_rocks_commit.c - the "lsm" engine's write path: the commit queue,
 * the committer thread (group commit) and the interval syncer.
 *
 * write() validates its batch, appends a request (on its own stack; the
 * ops are borrowed) to the queue and sleeps until the committer marks it
 * done. The committer takes every queued request (up to max_group calls
 * and about GROUP_MAX_BYTES of data), turns them into ONE RocksDB
 * WriteBatch, writes it with one rocksdb_write() (sync in mode "always":
 * one WAL fsync for the whole group) and then completes every request of
 * the group with the same result. A WriteBatch is atomic, so each caller's
 * batch is atomic too. Batches are validated before they are queued, so a
 * failing group write is an environment failure (disk full, I/O error)
 * that would fail each batch alone as well: the whole group fails with the
 * same code and nothing of it is applied (no per-batch retry). Such a
 * failure is sticky (lsm_engine.failed): every later write fails with the
 * same code without reaching RocksDB, until the engine is reopened.
 *
 * Exact stats: the committer is the only writer, so before it writes a
 * group it looks up the current length of every key the group touches
 * (once per distinct key; a per-group hash table carries the effect of
 * earlier ops of the group on later ones) and puts the new key_count and
 * data_bytes into the "meta" column family in the same WriteBatch. The
 * counters are thus exact and crash-consistent with the data; open()
 * reads them back.
 *
 * The syncer (mode "interval" only) calls rocksdb_flush_wal(sync) every
 * sync_interval_ms, bounding what a machine crash can lose.
 *
 * lsm_commit_hold() keeps the committer from starting a group (writers
 * queue meanwhile): flush() without a WAL uses it to write both column
 * families' memtables up to the same point.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "core/timeutil.h"
#include "obs/metrics.h"
#include "storage/engine_rocks.h"
#include "storage/engine_rocks_int.h"

/* A group stops taking requests once it holds this much key + value data
 * (at least one request is always taken): bounds the WriteBatch copy. */
#define GROUP_MAX_BYTES (64u << 20)

/* ---- the per-group key table ---- */

static uint64_t key_hash(const uint8_t *k, size_t n)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a */

    for (size_t i = 0; i < n; i++) {
        h ^= k[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* Makes room for n distinct keys at load <= 1/2 and clears the table.
 * Returns 0 or AMATERS_ENOMEM. */
static int slots_reset(struct lsm_engine *e, size_t n)
{
    size_t cap = 16;

    while (cap < 2 * n)
        cap *= 2;
    if (cap > e->slot_cap) {
        struct lsm_slot *s = amaters_calloc(cap, sizeof *s);
        if (s == NULL)
            return AMATERS_ENOMEM;
        amaters_free(e->slots);
        e->slots = s;
        e->slot_cap = cap;
        return 0;
    }
    memset(e->slots, 0, e->slot_cap * sizeof *e->slots);
    return 0;
}

/* Reads the committed state of key into slot s. */
static int slot_load(struct lsm_engine *e, struct lsm_slot *s)
{
    char *rerr = NULL;
    static const char empty[1] = "";
    const char *k = s->key_len ? (const char *)s->key : empty;
    rocksdb_pinnableslice_t *v =
        rocksdb_get_pinned_cf(e->db, e->ropts, e->cf_data, k, s->key_len,
                              &rerr);

    if (rerr != NULL)
        return lsm_error(rerr, NULL, NULL, 0);
    s->live = v != NULL;
    s->value_len = 0;
    if (v != NULL) {
        rocksdb_pinnableslice_value(v, &s->value_len);
        rocksdb_pinnableslice_destroy(v);
    }
    return 0;
}

/* Finds key's slot, loading it on first use. Returns 0 or a code. */
static int slot_find(struct lsm_engine *e, const uint8_t *key, size_t len,
                     struct lsm_slot **out)
{
    uint64_t h = key_hash(key, len);
    size_t mask = e->slot_cap - 1;
    size_t i = (size_t)h & mask;

    for (;; i = (i + 1) & mask) {
        struct lsm_slot *s = &e->slots[i];
        if (s->key == NULL) {
            s->key = len ? key : (const uint8_t *)"";
            s->key_len = len;
            s->hash = h;
            *out = s;
            return slot_load(e, s);
        }
        if (s->hash == h && s->key_len == len &&
            (len == 0 || memcmp(s->key, key, len) == 0)) {
            *out = s;
            return 0;
        }
    }
}

/* ---- building and writing a group ---- */

/* Adds one op to the batch and to the running figures. */
static int group_add_op(struct lsm_engine *e, rocksdb_writebatch_t *wb,
                        const struct amaters_write_op *op, uint64_t *keys,
                        uint64_t *bytes)
{
    static const char empty[1] = "";
    const char *k = op->key_len ? (const char *)op->key : empty;
    struct lsm_slot *s = NULL;
    int rv = slot_find(e, op->key, op->key_len, &s);

    if (rv != 0)
        return rv;
    if (s->live) {
        *keys -= 1;
        *bytes -= op->key_len + s->value_len;
    }
    if (op->kind == AMATERS_WRITE_PUT) {
        const char *v = op->value_len ? (const char *)op->value : empty;
        rocksdb_writebatch_put_cf(wb, e->cf_data, k, op->key_len, v,
                                  op->value_len);
        s->live = true;
        s->value_len = op->value_len;
        *keys += 1;
        *bytes += op->key_len + op->value_len;
    } else {
        rocksdb_writebatch_delete_cf(wb, e->cf_data, k, op->key_len);
        s->live = false;
        s->value_len = 0;
    }
    return 0;
}

/* Group commit figures for /metrics: calls per group, and how long the
 * RocksDB write (with its WAL sync in mode "always") took. Looked up per
 * group (cheap next to an fsync); never cached across metrics resets. */
static void observe_group(size_t calls, size_t ops, uint64_t write_ns)
{
    static const double size_buckets[] = {1, 2, 4, 8, 16, 32, 64, 128, 256,
                                          512, 1024};
    struct amaters_metric_family *f = amaters_metrics_family(
        AMATERS_METRIC_HISTOGRAM, "amaters_commit_group_calls",
        "Write calls committed together by one RocksDB write (group commit)",
        NULL, 0, size_buckets, sizeof size_buckets / sizeof size_buckets[0]);
    struct amaters_metric *m = f ? amaters_metric_child(f, NULL) : NULL;
    if (m)
        amaters_histogram_observe(m, (double)calls);
    m = amaters_metrics_simple(AMATERS_METRIC_HISTOGRAM,
                               "amaters_commit_write_seconds",
                               "Duration of one group's RocksDB write, WAL "
                               "sync included in sync_mode always");
    if (m)
        amaters_histogram_observe(m, (double)write_ns / 1e9);
    m = amaters_metrics_simple(AMATERS_METRIC_COUNTER,
                               "amaters_commit_ops_total",
                               "Puts and deletes committed by the lsm engine");
    if (m)
        amaters_counter_add(m, (double)ops);
}

/* Writes the requests of group as one WriteBatch; returns the result
 * every one of them gets. */
static int group_commit(struct lsm_engine *e, struct lsm_request *group)
{
    uint64_t keys;
    uint64_t bytes;
    size_t nops = 0;
    uint8_t st[LSM_STATS_LEN];
    char *rerr = NULL;
    rocksdb_writebatch_t *wb = NULL;
    int rv;

    for (struct lsm_request *r = group; r != NULL; r = r->next)
        nops += r->n;
    rv = slots_reset(e, nops);
    if (rv != 0)
        goto out;
    pthread_mutex_lock(&e->mu);
    keys = e->key_count;
    bytes = e->data_bytes;
    pthread_mutex_unlock(&e->mu);
    wb = rocksdb_writebatch_create();
    for (struct lsm_request *r = group; r != NULL; r = r->next) {
        for (size_t i = 0; i < r->n; i++) {
            rv = group_add_op(e, wb, &r->ops[i], &keys, &bytes);
            if (rv != 0)
                goto out;
        }
    }
    lsm_stats_encode(st, keys, bytes);
    rocksdb_writebatch_put_cf(wb, e->cf_meta, LSM_META_STATS,
                              strlen(LSM_META_STATS), (const char *)st,
                              sizeof st);
    rv = atomic_load(&e->failed); /* the syncer may have failed */
    if (rv != 0)
        goto out;
    uint64_t t0 = amaters_now_ns();
    rocksdb_write(e->db, e->wopts, wb, &rerr);
    atomic_fetch_add(&e->groups, 1);
    size_t calls = 0;
    for (struct lsm_request *r = group; r != NULL; r = r->next)
        calls++;
    observe_group(calls, nops, amaters_now_ns() - t0);
    if (rerr != NULL) {
        rv = lsm_fail(e, rerr, "write");
        goto out;
    }
    pthread_mutex_lock(&e->mu);
    e->key_count = keys;
    e->data_bytes = bytes;
    pthread_mutex_unlock(&e->mu);
out:
    if (wb != NULL)
        rocksdb_writebatch_destroy(wb);
    return rv;
}

/* Detaches the next group from the queue. Called with mu held and the
 * queue non-empty. */
static struct lsm_request *queue_take(struct lsm_engine *e)
{
    struct lsm_request *group = e->head;
    struct lsm_request *last = group;
    size_t calls = 1;
    size_t bytes = group->bytes;

    while (last->next != NULL &&
           (e->max_group == 0 || calls < e->max_group) &&
           bytes < GROUP_MAX_BYTES) {
        last = last->next;
        calls++;
        bytes += last->bytes;
    }
    e->head = last->next;
    if (e->head == NULL)
        e->tail = NULL;
    last->next = NULL;
    return group;
}

/* Runs the completions of asynchronous requests, in queue order, and
 * frees them. Committer thread, mu not held. */
static void complete_async(struct lsm_request *r)
{
    while (r != NULL) {
        struct lsm_request *next = r->next;
        r->cb(r->cb_arg, r->rv);
        amaters_free(r);
        r = next;
    }
}

/* After a group of one write (a lone client), watches for the next write
 * for up to spin_us, yielding the CPU, so that it starts without a
 * condition-variable wake-up (which costs 25-40 us on this kind of VM).
 * Called and returns with mu held. */
static void spin_for_work(struct lsm_engine *e)
{
    uint64_t seen = atomic_load(&e->enqueued);
    uint64_t until = amaters_now_ns() + (uint64_t)e->spin_us * 1000u;

    pthread_mutex_unlock(&e->mu);
    while (atomic_load(&e->enqueued) == seen && amaters_now_ns() < until)
        sched_yield();
    pthread_mutex_lock(&e->mu);
}

static void *committer_main(void *arg)
{
    struct lsm_engine *e = arg;
    size_t last_calls = 0;

    pthread_mutex_lock(&e->mu);
    for (;;) {
        if (e->head == NULL && !e->stopping && e->spin_us > 0 &&
            last_calls == 1)
            spin_for_work(e);
        while ((e->head == NULL || e->held > 0) && !e->stopping)
            pthread_cond_wait(&e->work_cv, &e->mu);
        if (e->head == NULL)
            break; /* stopping, and everything queued is written */
        struct lsm_request *group = queue_take(e);
        e->committing = true;
        last_calls = 0;
        for (struct lsm_request *q = group; q != NULL; q = q->next)
            last_calls++;
        pthread_mutex_unlock(&e->mu);
        if (e->test_delay_ms > 0)
            amaters_sleep_ms(e->test_delay_ms);
        int rv = group_commit(e, group);
        pthread_mutex_lock(&e->mu);
        struct lsm_request *async_head = NULL, *async_tail = NULL;
        for (struct lsm_request *r = group; r != NULL;) {
            struct lsm_request *next = r->next;
            r->rv = rv;
            if (r->cb != NULL) {
                r->next = NULL;
                if (async_tail != NULL)
                    async_tail->next = r;
                else
                    async_head = r;
                async_tail = r;
            } else {
                r->done = true; /* r may vanish once mu is released */
            }
            r = next;
        }
        e->committing = false;
        pthread_cond_broadcast(&e->done_cv);
        if (async_head != NULL) {
            pthread_mutex_unlock(&e->mu);
            complete_async(async_head);
            pthread_mutex_lock(&e->mu);
        }
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

/* ---- the interval syncer ---- */

static void *syncer_main(void *arg)
{
    struct lsm_engine *e = arg;
    struct timespec due;

    pthread_mutex_lock(&e->sync_mu);
    while (!e->sync_stop) {
        /* From now, not from the last due time: a slow fsync delays the
         * next one rather than causing a burst. */
        clock_gettime(CLOCK_MONOTONIC, &due);
        due.tv_sec += e->sync_interval_ms / 1000;
        due.tv_nsec += (long)(e->sync_interval_ms % 1000) * 1000000L;
        if (due.tv_nsec >= 1000000000L) {
            due.tv_sec++;
            due.tv_nsec -= 1000000000L;
        }
        int rc = 0;
        while (!e->sync_stop && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&e->sync_cv, &e->sync_mu, &due);
        if (e->sync_stop)
            break;
        pthread_mutex_unlock(&e->sync_mu);
        char *rerr = NULL;
        if (atomic_load(&e->failed) == 0) {
            rocksdb_flush_wal(e->db, 1, &rerr);
            if (rerr != NULL)
                lsm_fail(e, rerr, "interval WAL sync");
        }
        pthread_mutex_lock(&e->sync_mu);
    }
    pthread_mutex_unlock(&e->sync_mu);
    return NULL;
}

/* ---- start, stop, write ---- */

int lsm_commit_start(struct lsm_engine *e)
{
    if (pthread_create(&e->committer, NULL, committer_main, e) != 0)
        return AMATERS_EINTERNAL;
    pthread_setname_np(e->committer, "amaters-commit");
    e->committer_running = true;
    if (e->sync_mode != AMATERS_SYNC_INTERVAL)
        return 0;
    if (pthread_create(&e->syncer, NULL, syncer_main, e) != 0) {
        lsm_commit_stop(e);
        return AMATERS_EINTERNAL;
    }
    pthread_setname_np(e->syncer, "amaters-walsync"); /* for top -H, perf */
    e->syncer_running = true;
    return 0;
}

void lsm_commit_stop(struct lsm_engine *e)
{
    if (e->syncer_running) {
        pthread_mutex_lock(&e->sync_mu);
        e->sync_stop = true;
        pthread_cond_signal(&e->sync_cv);
        pthread_mutex_unlock(&e->sync_mu);
        pthread_join(e->syncer, NULL);
        e->syncer_running = false;
    }
    if (e->committer_running) {
        pthread_mutex_lock(&e->mu);
        e->stopping = true;
        pthread_cond_signal(&e->work_cv);
        pthread_mutex_unlock(&e->mu);
        pthread_join(e->committer, NULL);
        e->committer_running = false;
    }
    amaters_free(e->slots);
    e->slots = NULL;
    e->slot_cap = 0;
}

/* Returns 0 if every op is well-formed, else AMATERS_EINVAL; adds up the
 * batch's bytes into *bytes. */
static int validate_ops(const struct amaters_write_op *ops, size_t n,
                        size_t *bytes)
{
    *bytes = 0;
    for (size_t i = 0; i < n; i++) {
        const struct amaters_write_op *op = &ops[i];
        if (op->kind != AMATERS_WRITE_PUT && op->kind != AMATERS_WRITE_DELETE)
            return AMATERS_EINVAL;
        if (op->key == NULL && op->key_len > 0)
            return AMATERS_EINVAL;
        if (op->kind == AMATERS_WRITE_PUT && op->value == NULL &&
            op->value_len > 0)
            return AMATERS_EINVAL;
        *bytes += op->key_len + (op->kind == AMATERS_WRITE_PUT
                                     ? op->value_len : 0);
    }
    return 0;
}

int lsm_write(struct amaters_engine *base, const struct amaters_write_op *ops,
              size_t n)
{
    struct lsm_engine *e = (struct lsm_engine *)base;
    struct lsm_request req = {.ops = ops, .n = n};
    int rv;

    if (n == 0)
        return 0;
    if (ops == NULL)
        return AMATERS_EINVAL;
    rv = validate_ops(ops, n, &req.bytes);
    if (rv != 0)
        return rv;
    rv = atomic_load(&e->failed);
    if (rv != 0)
        return rv;
    pthread_mutex_lock(&e->mu);
    if (e->tail != NULL)
        e->tail->next = &req;
    else
        e->head = &req;
    e->tail = &req;
    atomic_fetch_add(&e->enqueued, 1);
    pthread_cond_signal(&e->work_cv);
    while (!req.done)
        pthread_cond_wait(&e->done_cv, &e->mu);
    rv = req.rv;
    pthread_mutex_unlock(&e->mu);
    return rv;
}

int lsm_write_async(struct amaters_engine *base,
                    const struct amaters_write_op *ops, size_t n,
                    void (*done)(void *arg, int rc), void *arg)
{
    struct lsm_engine *e = (struct lsm_engine *)base;
    struct lsm_request *req;
    size_t bytes = 0;
    int rv;

    if (ops == NULL || done == NULL || n == 0)
        return AMATERS_EINVAL;
    rv = validate_ops(ops, n, &bytes);
    if (rv == 0)
        rv = atomic_load(&e->failed);
    if (rv != 0)
        return rv;
    req = amaters_calloc(1, sizeof *req);
    if (req == NULL)
        return AMATERS_ENOMEM;
    req->ops = ops;
    req->n = n;
    req->bytes = bytes;
    req->cb = done;
    req->cb_arg = arg;
    pthread_mutex_lock(&e->mu);
    if (e->stopping) {
        pthread_mutex_unlock(&e->mu);
        amaters_free(req);
        return AMATERS_ESHUTDOWN;
    }
    if (e->tail != NULL) {
        /* Not empty: the committer is busy or already signalled. */
        e->tail->next = req;
    } else {
        e->head = req;
        pthread_cond_signal(&e->work_cv);
    }
    e->tail = req;
    atomic_fetch_add(&e->enqueued, 1);
    pthread_mutex_unlock(&e->mu);
    return 0;
}

void lsm_commit_hold(struct lsm_engine *e)
{
    pthread_mutex_lock(&e->mu);
    e->held++;
    while (e->committing)
        pthread_cond_wait(&e->done_cv, &e->mu);
    pthread_mutex_unlock(&e->mu);
}

void lsm_commit_release(struct lsm_engine *e)
{
    pthread_mutex_lock(&e->mu);
    e->held--;
    if (e->held == 0)
        pthread_cond_signal(&e->work_cv);
    pthread_mutex_unlock(&e->mu);
}

void lsm_barrier(struct amaters_engine *base)
{
    struct lsm_engine *e = (struct lsm_engine *)base;

    pthread_mutex_lock(&e->mu);
    while (e->head != NULL || e->committing)
        pthread_cond_wait(&e->done_cv, &e->mu);
    pthread_mutex_unlock(&e->mu);
}

uint64_t amaters_engine_lsm_commit_groups(struct amaters_engine *base)
{
    struct lsm_engine *e = (struct lsm_engine *)base;

    return atomic_load(&e->groups);
}

void amaters_engine_lsm_set_max_group(struct amaters_engine *base,
                                      size_t max_calls)
{
    struct lsm_engine *e = (struct lsm_engine *)base;

    pthread_mutex_lock(&e->mu);
    e->max_group = max_calls;
    pthread_mutex_unlock(&e->mu);
}
