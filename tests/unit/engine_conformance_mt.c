/*
 * engine_conformance_mt.c - conformance cases with threads (iterators
 * under concurrent writers, 8-thread consistency), persistence across
 * close/open, and allocation-fault injection. Worker threads never call
 * cmocka; they record failures for the main thread to assert.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "engine_conformance_int.h"

/* ---- multi-threaded: workers record failures, main thread asserts ---- */

struct mt_errors {
    pthread_mutex_t mu;
    int count;
    char first[256];
};

static void mt_fail(struct mt_errors *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void mt_fail(struct mt_errors *err, const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&err->mu);
    if (err->count++ == 0) {
        va_start(ap, fmt);
        vsnprintf(err->first, sizeof err->first, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&err->mu);
}

static void mt_assert_clean(struct mt_errors *err)
{
    if (err->count != 0)
        fail_msg("%d thread failure(s), first: %s", err->count, err->first);
}

/* Iterators vs writers: even keys are written once before and never
 * touched; writers put and delete odd keys. Every scan must be strictly
 * ascending, within bounds, with intact values, and contain every even key
 * of its range exactly once. */
enum { CW_KEYS = 2000, CW_WRITERS = 4, CW_READERS = 2, CW_OPS = 20000 };

struct cw_shared {
    struct amaters_engine *e;
    atomic_int writers_left;
    struct mt_errors err;
};

struct cw_arg {
    struct cw_shared *sh;
    unsigned id;
};

static size_t cw_key(char *buf, unsigned i)
{
    return (size_t)snprintf(buf, 8, "c%05u", i);
}

static void *cw_writer(void *p)
{
    struct cw_arg *a = p;
    uint64_t rng = 0x9E3779B9u * (a->id + 1);
    char keys[8][8];
    char vals[8][40];
    struct amaters_write_op ops[8];

    for (unsigned op = 0; op < CW_OPS;) {
        size_t n = 1 + ec_rng_next(&rng) % 8;
        for (size_t j = 0; j < n; j++, op++) {
            unsigned idx =
                (unsigned)(ec_rng_next(&rng) % (CW_KEYS / 2)) * 2 + 1;
            ops[j].key = (const uint8_t *)keys[j];
            ops[j].key_len = cw_key(keys[j], idx);
            ops[j].kind = ec_rng_next(&rng) % 4 == 0 ? AMATERS_WRITE_DELETE
                                                  : AMATERS_WRITE_PUT;
            ops[j].value = (const uint8_t *)vals[j];
            ops[j].value_len = (size_t)snprintf(vals[j], sizeof vals[j],
                                                "%s#w%u-%u", keys[j], a->id,
                                                op);
        }
        int rv = amaters_engine_write(a->sh->e, ops, n);
        if (rv != 0)
            mt_fail(&a->sh->err, "writer %u: write: %s", a->id,
                    amaters_errname(rv));
    }
    atomic_fetch_sub(&a->sh->writers_left, 1);
    return NULL;
}

/* One scan of [lo, hi) (hi NULL: unbounded); returns keys seen. */
static void cw_scan(struct cw_shared *sh, unsigned lo, const unsigned *hi)
{
    char start[8];
    char end[8];
    size_t sn = cw_key(start, lo);
    size_t en = hi ? cw_key(end, *hi) : 0;
    unsigned evens = 0;
    unsigned want = ((hi ? *hi : CW_KEYS) - lo + 1) / 2;
    uint8_t prev[8];
    size_t prevn = 0;
    bool first = true;
    struct amaters_engine_iter *it = NULL;
    const uint8_t *k;
    const uint8_t *v;
    size_t kn;
    size_t vn;
    int rv = amaters_engine_iter_open(sh->e, (const uint8_t *)start, sn,
                                      hi ? (const uint8_t *)end : NULL, en,
                                      &it);

    if (rv != 0) {
        mt_fail(&sh->err, "iter_open: %s", amaters_errname(rv));
        return;
    }
    for (;;) {
        rv = amaters_engine_iter_next(it, &k, &kn, &v, &vn);
        if (rv != 1)
            break;
        if (kn != 6 || ec_bytes_cmp(k, kn, (const uint8_t *)start, sn) < 0 ||
            (hi && ec_bytes_cmp(k, kn, (const uint8_t *)end, en) >= 0)) {
            mt_fail(&sh->err, "scan: key out of range");
            break;
        }
        if (!first && ec_bytes_cmp(prev, prevn, k, kn) >= 0) {
            mt_fail(&sh->err, "scan: keys not strictly ascending");
            break;
        }
        if (vn < 7 || memcmp(v, k, 6) != 0 || v[6] != '#') {
            mt_fail(&sh->err, "scan: value does not belong to its key");
            break;
        }
        memcpy(prev, k, kn);
        prevn = kn;
        first = false;
        evens += (k[5] - '0') % 2 == 0;
    }
    if (rv < 0)
        mt_fail(&sh->err, "iter_next: %s", amaters_errname(rv));
    else if (rv == 0 && evens != want)
        mt_fail(&sh->err, "scan [%u, %u): %u stable keys, want %u", lo,
                hi ? *hi : CW_KEYS, evens, want);
    amaters_engine_iter_close(it);
}

static void *cw_reader(void *p)
{
    struct cw_arg *a = p;
    static const unsigned mid_hi = 1500;
    unsigned scans = 0;

    while (atomic_load(&a->sh->writers_left) > 0 || scans < 2) {
        if (scans % 2 == 0)
            cw_scan(a->sh, 0, NULL);
        else
            cw_scan(a->sh, 500, &mid_hi);
        scans++;
    }
    return NULL;
}

static void test_iter_concurrent_writers(void **state)
{
    struct fixture *f = *state;
    struct cw_shared sh = {.e = f->e, .err = {.mu = PTHREAD_MUTEX_INITIALIZER}};
    struct cw_arg args[CW_WRITERS + CW_READERS];
    pthread_t th[CW_WRITERS + CW_READERS];
    char key[8];
    char val[16];

    for (unsigned i = 0; i < CW_KEYS; i += 2) {
        size_t kn = cw_key(key, i);
        size_t vn = (size_t)snprintf(val, sizeof val, "%s#init", key);
        ec_put(f->e, (struct bytes){(const uint8_t *)key, kn},
               (struct bytes){(const uint8_t *)val, vn});
    }
    atomic_init(&sh.writers_left, CW_WRITERS);
    for (unsigned i = 0; i < CW_WRITERS + CW_READERS; i++) {
        args[i] = (struct cw_arg){&sh, i};
        assert_int_equal(pthread_create(&th[i], NULL,
                                        i < CW_WRITERS ? cw_writer : cw_reader,
                                        &args[i]),
                         0);
    }
    for (unsigned i = 0; i < CW_WRITERS + CW_READERS; i++)
        pthread_join(th[i], NULL);
    mt_assert_clean(&sh.err);
    /* Stable keys untouched. */
    cw_key(key, 0);
    ec_check_value(f->e, (struct bytes){(const uint8_t *)key, 6},
                   (struct bytes)B("c00000#init"));
}

/* 8 threads x 10k ops on their own keys, each checking its reads against
 * its own model; afterwards the whole engine must equal the union. */
enum { MT_THREADS = 8, MT_OPS = 10000, MT_KEYS = 200 };

struct mt_thread {
    struct amaters_engine *e;
    struct mt_errors *err;
    unsigned id;
    bool present[MT_KEYS];
    uint32_t gen[MT_KEYS];
};

static size_t mt_key(char *buf, unsigned t, unsigned i)
{
    return (size_t)snprintf(buf, 12, "t%u/%03u", t, i);
}

/* The value for generation g: its digits then g % 17 filler bytes. */
static size_t mt_value(char *buf, uint32_t g)
{
    int n = snprintf(buf, 40, "%u:", (unsigned)g);
    memset(buf + n, 'x', g % 17);
    return (size_t)n + g % 17;
}

static void mt_check_get(struct mt_thread *t, unsigned i)
{
    char key[12];
    char want[40];
    size_t kn = mt_key(key, t->id, i);
    uint8_t *got = NULL;
    size_t len = 0;
    int rv = amaters_engine_get(t->e, (const uint8_t *)key, kn, &got, &len);

    if (!t->present[i]) {
        if (rv != AMATERS_ENOTFOUND)
            mt_fail(t->err, "%s: want absent, get gave %s", key,
                    amaters_errname(rv));
    } else if (rv != 0) {
        mt_fail(t->err, "%s: get: %s", key, amaters_errname(rv));
    } else {
        size_t wn = mt_value(want, t->gen[i]);
        if (len != wn || memcmp(got, want, wn) != 0)
            mt_fail(t->err, "%s: wrong value", key);
    }
    if (rv == 0)
        amaters_free(got);
}

static void *mt_worker(void *p)
{
    struct mt_thread *t = p;
    uint64_t rng = 0xDEADBEEFull * (t->id + 1);
    char keys[4][12];
    char vals[4][40];
    struct amaters_write_op ops[4];
    uint32_t gen = 0;

    for (unsigned op = 0; op < MT_OPS; op++) {
        unsigned r = (unsigned)(ec_rng_next(&rng) % 100);
        size_t n = r < 70 ? 1 : r < 75 ? 4 : 0;
        for (size_t j = 0; j < n; j++) {
            unsigned i = (unsigned)(ec_rng_next(&rng) % MT_KEYS);
            bool is_put = ec_rng_next(&rng) % 3 != 0;
            ops[j].key = (const uint8_t *)keys[j];
            ops[j].key_len = mt_key(keys[j], t->id, i);
            ops[j].kind = is_put ? AMATERS_WRITE_PUT : AMATERS_WRITE_DELETE;
            ops[j].value = (const uint8_t *)vals[j];
            ops[j].value_len = is_put ? mt_value(vals[j], ++gen) : 0;
            t->present[i] = is_put;
            t->gen[i] = gen;
        }
        if (n > 0) {
            int rv = amaters_engine_write(t->e, ops, n);
            if (rv != 0)
                mt_fail(t->err, "t%u: write: %s", t->id, amaters_errname(rv));
        } else {
            mt_check_get(t, (unsigned)(ec_rng_next(&rng) % MT_KEYS));
        }
    }
    return NULL;
}

static void test_threads_consistency(void **state)
{
    struct fixture *f = *state;
    struct mt_errors err = {.mu = PTHREAD_MUTEX_INITIALIZER};
    static struct mt_thread t[MT_THREADS];
    pthread_t th[MT_THREADS];
    uint64_t keys = 0;
    uint64_t bytes = 0;
    char want[40];

    for (unsigned i = 0; i < MT_THREADS; i++) {
        memset(&t[i], 0, sizeof t[i]);
        t[i].e = f->e;
        t[i].err = &err;
        t[i].id = i;
        assert_int_equal(pthread_create(&th[i], NULL, mt_worker, &t[i]), 0);
    }
    for (unsigned i = 0; i < MT_THREADS; i++)
        pthread_join(th[i], NULL);
    mt_assert_clean(&err);

    /* Every key seen belongs to a model and matches it. */
    struct amaters_engine_iter *it = NULL;
    const uint8_t *k;
    const uint8_t *v;
    size_t kn;
    size_t vn;
    size_t seen = 0;
    assert_int_equal(amaters_engine_iter_open(f->e, NULL, 0, NULL, 0, &it),
                     0);
    for (;;) {
        int rv = amaters_engine_iter_next(it, &k, &kn, &v, &vn);
        assert_true(rv >= 0);
        if (rv == 0)
            break;
        char key[12] = "";
        unsigned tid = 0;
        unsigned idx = 0;
        assert_true(kn < sizeof key);
        memcpy(key, k, kn);
        assert_int_equal(sscanf(key, "t%u/%u", &tid, &idx), 2);
        assert_true(tid < MT_THREADS && idx < MT_KEYS);
        assert_true(t[tid].present[idx]);
        size_t wn = mt_value(want, t[tid].gen[idx]);
        assert_int_equal(vn, wn);
        assert_memory_equal(v, want, wn);
        seen++;
    }
    amaters_engine_iter_close(it);
    /* And every model key is there: counts and bytes agree. */
    for (unsigned i = 0; i < MT_THREADS; i++) {
        for (unsigned j = 0; j < MT_KEYS; j++) {
            if (!t[i].present[j])
                continue;
            keys++;
            bytes += 6 + mt_value(want, t[i].gen[j]);
        }
    }
    assert_int_equal(seen, keys);
    ec_check_stats(f->e, keys, bytes);
}

/* ---- persistence ---- */

static void test_close_reopen(void **state)
{
    struct fixture *f = *state;
    static const struct bytes keys[] = {B("a"), B("b"), B("d"), B("e")};
    static const struct bytes vals[] = {B("1"), B(""), B("4"), B("5")};
    bool keep = f->s->persistent;

    ec_close_engine(f);
    f->opts.sync_mode = AMATERS_SYNC_ALWAYS;
    ec_open_engine(f);
    ec_put(f->e, keys[0], vals[0]);
    ec_put(f->e, keys[1], vals[1]);
    ec_put(f->e, (struct bytes)B("c"), (struct bytes)B("3"));
    ec_put(f->e, keys[2], (struct bytes)B("old"));
    ec_del(f->e, (struct bytes)B("c"));
    ec_put(f->e, keys[2], vals[2]);
    assert_int_equal(f->e->ops->flush(f->e), 0);

    ec_close_engine(f);
    ec_open_engine(f);
    ec_check_missing(f->e, (struct bytes)B("c"));
    if (keep) {
        ec_check_value(f->e, keys[1], vals[1]);
        ec_check_scan(f->e, (struct bytes){NULL, 0}, NULL, keys, vals, 3);
        ec_check_stats(f->e, 3, 3 + 2);
    } else {
        ec_check_missing(f->e, keys[0]);
        ec_check_scan(f->e, (struct bytes){NULL, 0}, NULL, keys, vals, 0);
        ec_check_stats(f->e, 0, 0);
    }

    /* A second generation, closed without an explicit flush. */
    ec_put(f->e, keys[3], vals[3]);
    ec_close_engine(f);
    ec_open_engine(f);
    if (keep) {
        ec_check_scan(f->e, (struct bytes){NULL, 0}, NULL, keys, vals, 4);
        ec_check_stats(f->e, 4, 3 + 2 + 2);
    } else {
        ec_check_stats(f->e, 0, 0);
    }
}

/* ---- allocation faults: a failed call leaks nothing and changes
 * nothing; success comes once the countdown outlasts the call ---- */

static const struct bytes fault_keys[] = {B("f-del"), B("f-keep"),
                                          B("f-new1"), B("f-new2"),
                                          B("f-new3"), B("f-over")};

static void fault_expect(struct amaters_engine *e, bool applied,
                         const uint8_t *blob)
{
    if (applied) {
        ec_check_missing(e, fault_keys[0]);
        ec_check_value(e, fault_keys[2], (struct bytes){blob, 100});
        ec_check_value(e, fault_keys[3], (struct bytes)B(""));
        ec_check_value(e, fault_keys[4], (struct bytes){blob, 5000});
        ec_check_value(e, fault_keys[5], (struct bytes)B("new"));
        ec_check_stats(e, 5, 6 + 4 + 6 + 100 + 6 + 6 + 5000 + 6 + 3);
    } else {
        ec_check_value(e, fault_keys[0], (struct bytes)B("gone"));
        ec_check_missing(e, fault_keys[2]);
        ec_check_missing(e, fault_keys[3]);
        ec_check_missing(e, fault_keys[4]);
        ec_check_value(e, fault_keys[5], (struct bytes)B("old"));
        ec_check_stats(e, 3, 5 + 4 + 6 + 4 + 6 + 3);
    }
    ec_check_value(e, fault_keys[1], (struct bytes)B("keep"));
}

static void test_alloc_faults_batch(void **state)
{
    struct fixture *f = *state;
    uint8_t *blob = ec_pattern(5000, 9);
    const struct amaters_write_op ops[] = {
        {AMATERS_WRITE_PUT, fault_keys[2].p, 6, blob, 100},
        {AMATERS_WRITE_PUT, fault_keys[5].p, 6, (const uint8_t *)"new", 3},
        {AMATERS_WRITE_DELETE, fault_keys[0].p, 5, NULL, 0},
        {AMATERS_WRITE_PUT, fault_keys[3].p, 6, (const uint8_t *)"", 0},
        {AMATERS_WRITE_PUT, fault_keys[4].p, 6, blob, 5000},
        {AMATERS_WRITE_DELETE, (const uint8_t *)"f-missing", 9, NULL, 0},
    };
    int rv = -1;

    ec_put(f->e, fault_keys[0], (struct bytes)B("gone"));
    ec_put(f->e, fault_keys[1], (struct bytes)B("keep"));
    ec_put(f->e, fault_keys[5], (struct bytes)B("old"));
    for (long k = 0; k < 100000 && rv != 0; k++) {
        long live = amaters_alloc_live();
        amaters_alloc_fail_after(k);
        rv = amaters_engine_write(f->e, ops, NELEM(ops));
        amaters_alloc_fail_after(-1);
        if (rv != 0) {
            assert_true(rv < 0);
            assert_int_equal(amaters_alloc_live(), live);
        }
        fault_expect(f->e, rv == 0, blob);
    }
    assert_int_equal(rv, 0);
    free(blob);
}

/* get and a whole scan under the same countdown. */
static void test_alloc_faults_reads(void **state)
{
    struct fixture *f = *state;
    static const struct bytes keys[] = {B("r1"), B("r2"), B("r3")};
    int rv = -1;

    for (size_t i = 0; i < NELEM(keys); i++)
        ec_put(f->e, keys[i], keys[i]);
    for (long k = 0; k < 100000 && rv != 0; k++) {
        long live = amaters_alloc_live();
        uint8_t *got = NULL;
        size_t len = 0;
        amaters_alloc_fail_after(k);
        rv = amaters_engine_get(f->e, keys[1].p, 2, &got, &len);
        amaters_alloc_fail_after(-1);
        if (rv == 0) {
            assert_int_equal(len, 2);
            assert_memory_equal(got, "r2", 2);
            amaters_free(got);
        }
        assert_true(rv <= 0);
        assert_int_equal(amaters_alloc_live(), live);
    }
    rv = -1;
    for (long k = 0; k < 100000 && rv != 0; k++) {
        long live = amaters_alloc_live();
        struct amaters_engine_iter *it = NULL;
        const uint8_t *kp;
        const uint8_t *vp;
        size_t kn;
        size_t vn;
        size_t n = 0;
        amaters_alloc_fail_after(k);
        rv = amaters_engine_iter_open(f->e, NULL, 0, NULL, 0, &it);
        while (rv == 0) {
            rv = amaters_engine_iter_next(it, &kp, &kn, &vp, &vn);
            if (rv == 1) {
                assert_true(n < NELEM(keys));
                assert_int_equal(ec_bytes_cmp(kp, kn, keys[n].p, 2), 0);
                n++;
                rv = 0;
            } else if (rv == 0) {
                assert_int_equal(n, NELEM(keys));
                break;
            }
        }
        amaters_alloc_fail_after(-1);
        assert_true(rv <= 0);
        if (it != NULL)
            amaters_engine_iter_close(it);
        assert_int_equal(amaters_alloc_live(), live);
    }
}

const struct ec_case ec_mt_cases[] = {
    EC_CASE(test_iter_concurrent_writers),
    EC_CASE(test_threads_consistency),
    EC_CASE(test_close_reopen),
    EC_CASE(test_alloc_faults_batch),
    EC_CASE(test_alloc_faults_reads),
};
const size_t ec_mt_count = NELEM(ec_mt_cases);
