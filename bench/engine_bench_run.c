/*
 * engine_bench_run.c - engine-bench's worker threads.
 *
 * GET: each thread loops over random keys: encode the engine key, get,
 * decode the record (which verifies its CRC-32). SET: each thread keeps
 * n_slots writes in flight with write_async when the engine has it (as the
 * server does, so the lsm engine's group commit sees the same queue depth
 * as behind the server), each started again when its done callback has
 * handed it back; engines without write_async are driven with blocking
 * write() calls, one per thread.
 */
#include "engine_bench.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/crc32.h"
#include "core/errors.h"
#include "core/timeutil.h"
#include "storage/keys.h"
#include "storage/record.h"

#define PRELOAD_BATCH 256

/* One SET in flight. */
struct eb_slot {
    struct eb_worker *w;
    struct amaters_write_op op;
    uint8_t *key, *rec;
    uint64_t t0;
    int rc;
    struct eb_slot *next;    /* on the worker's done list */
};

struct eb_slot *eb_slots_new(int n)
{
    return amaters_calloc(n > 0 ? (size_t)n : 1, sizeof(struct eb_slot));
}

void eb_stats_init(struct eb_stats *s)
{
    memset(s, 0, sizeof *s);
    bench_hist_init(&s->hist);
}

static uint32_t rnd(struct eb_worker *w)
{
    uint32_t x = w->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    w->rng = x;
    return x;
}

static void note_error(struct eb_stats *s, int rc)
{
    s->errors++;
    if (s->first_error == 0) {
        s->first_error = rc;
        fprintf(stderr, "engine-bench: %s\n", amaters_strerror(rc));
    }
}

static void count(const struct eb_run *run, struct eb_stats *s,
                  uint64_t t0, uint64_t now, size_t bytes)
{
    if (now < run->measure_from_ns || now > run->end_ns)
        return;
    s->ops++;
    s->value_bytes += bytes;
    bench_hist_record(&s->hist, now - t0);
}

/* Encodes the engine key and record of key number k (as a SET does). */
static int encode_put(const struct eb_run *run, long k, uint8_t **key,
                      size_t *key_len, uint8_t **rec, size_t *rec_len)
{
    char ukey[32];
    const struct eb_opts *o = run->o;
    int kl = snprintf(ukey, sizeof ukey, "key%08ld", k);
    struct amaters_record r = {
        .size = o->value_size,
        .checksum = run->value_crc,
        .created_at = run->created_at,
        .data = run->value,
        .data_len = o->value_size,
    };
    if (o->random_values) {
        /* A per-key offset into the pool (Knuth's multiplicative hash). */
        uint32_t h = (uint32_t)k * 2654435761u;
        r.data = run->value + (size_t)h % (EB_POOL / 16u) * 16u;
        r.checksum = amaters_crc32(0, r.data, o->value_size);
    }
    int rc = amaters_key_encode(o->collection, strlen(o->collection),
                                (const uint8_t *)ukey, (size_t)kl, key,
                                key_len);
    if (rc)
        return rc;
    rc = amaters_record_encode(&r, rec, rec_len);
    if (rc) {
        amaters_free(*key);
        *key = NULL;
    }
    return rc;
}

int eb_preload(const struct eb_run *run)
{
    struct amaters_write_op ops[PRELOAD_BATCH];
    int rc = 0;
    long k = 0;
    while (rc == 0 && k < run->o->keyspace) {
        size_t n = 0;
        for (; n < PRELOAD_BATCH && k < run->o->keyspace; n++, k++) {
            uint8_t *key = NULL, *rec = NULL;
            size_t kl = 0, rl = 0;
            rc = encode_put(run, k, &key, &kl, &rec, &rl);
            if (rc)
                break;
            ops[n] = (struct amaters_write_op){AMATERS_WRITE_PUT, key, kl,
                                               rec, rl};
        }
        if (rc == 0)
            rc = amaters_engine_write(run->engine, ops, n);
        for (size_t i = 0; i < n; i++) {
            amaters_free((void *)ops[i].key);
            amaters_free((void *)ops[i].value);
        }
    }
    return rc;
}

static void get_loop(struct eb_worker *w)
{
    const struct eb_run *run = w->run;
    const struct eb_opts *o = run->o;
    uint64_t now = amaters_now_ns();
    while (now < run->end_ns) {
        char ukey[32];
        uint8_t *key = NULL, *val = NULL;
        size_t kl = 0, vl = 0;
        struct amaters_record r;
        long k = (long)(rnd(w) % (uint32_t)o->keyspace);
        int n = snprintf(ukey, sizeof ukey, "key%08ld", k);
        uint64_t t0 = amaters_now_ns();
        int rc = amaters_key_encode(o->collection, strlen(o->collection),
                                    (const uint8_t *)ukey, (size_t)n, &key,
                                    &kl);
        if (rc == 0)
            rc = amaters_engine_get(run->engine, key, kl, &val, &vl);
        if (rc == 0)
            rc = amaters_record_decode(val, vl, &r);
        if (rc == 0 && r.data_len != o->value_size)
            rc = AMATERS_ECORRUPT;
        now = amaters_now_ns();
        if (rc == AMATERS_ENOTFOUND)
            w->stats.not_found++;
        else if (rc)
            note_error(&w->stats, rc);
        else
            count(run, &w->stats, t0, now, o->value_size);
        amaters_free(val);
        amaters_free(key);
    }
}

static void slot_done_cb(void *arg, int rc)
{
    struct eb_slot *s = arg;
    struct eb_worker *w = s->w;
    s->rc = rc;
    pthread_mutex_lock(&w->mu);
    s->next = w->done;
    w->done = s;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Starts one SET on slot s; returns 0 when it is in flight. */
static int slot_start(struct eb_worker *w, struct eb_slot *s)
{
    const struct eb_run *run = w->run;
    size_t kl = 0, rl = 0;
    long k = (long)(rnd(w) % (uint32_t)run->o->keyspace);
    int rc = encode_put(run, k, &s->key, &kl, &s->rec, &rl);
    if (rc)
        return rc;
    s->op = (struct amaters_write_op){AMATERS_WRITE_PUT, s->key, kl, s->rec,
                                      rl};
    s->t0 = amaters_now_ns();
    rc = run->engine->ops->write_async(run->engine, &s->op, 1, slot_done_cb,
                                       s);
    if (rc) {
        amaters_free(s->key);
        amaters_free(s->rec);
    }
    return rc;
}

static void set_async_loop(struct eb_worker *w)
{
    const struct eb_run *run = w->run;
    int outstanding = 0;
    for (int i = 0; i < w->n_slots; i++) {
        w->slots[i].w = w;
        int rc = slot_start(w, &w->slots[i]);
        if (rc)
            note_error(&w->stats, rc);
        else
            outstanding++;
    }
    while (outstanding > 0) {
        pthread_mutex_lock(&w->mu);
        while (w->done == NULL)
            pthread_cond_wait(&w->cv, &w->mu);
        struct eb_slot *list = w->done;
        w->done = NULL;
        pthread_mutex_unlock(&w->mu);
        while (list) {
            struct eb_slot *s = list;
            uint64_t now = amaters_now_ns();
            list = s->next;
            if (s->rc)
                note_error(&w->stats, s->rc);
            else
                count(run, &w->stats, s->t0, now, run->o->value_size);
            amaters_free(s->key);
            amaters_free(s->rec);
            int rc = now < run->end_ns ? slot_start(w, s) : 1;
            if (rc < 0)
                note_error(&w->stats, rc);
            if (rc)
                outstanding--;
        }
    }
}

static void set_sync_loop(struct eb_worker *w)
{
    const struct eb_run *run = w->run;
    uint64_t now = amaters_now_ns();
    while (now < run->end_ns) {
        uint8_t *key = NULL, *rec = NULL;
        size_t kl = 0, rl = 0;
        long k = (long)(rnd(w) % (uint32_t)run->o->keyspace);
        uint64_t t0 = amaters_now_ns();
        int rc = encode_put(run, k, &key, &kl, &rec, &rl);
        if (rc == 0) {
            struct amaters_write_op op = {AMATERS_WRITE_PUT, key, kl, rec,
                                          rl};
            rc = amaters_engine_write(run->engine, &op, 1);
        }
        now = amaters_now_ns();
        if (rc)
            note_error(&w->stats, rc);
        else
            count(run, &w->stats, t0, now, run->o->value_size);
        amaters_free(key);
        amaters_free(rec);
    }
}

void *eb_worker_main(void *arg)
{
    struct eb_worker *w = arg;
    const struct eb_run *run = w->run;
    if (run->o->get)
        get_loop(w);
    else if (run->engine->ops->write_async && w->n_slots > 0)
        set_async_loop(w);
    else
        set_sync_loop(w);
    return arg;
}
