/*
 * engine_conformance_basic.c - single-threaded conformance cases: basic
 * operations, empty values and keys, binary and long keys, large values,
 * byte ordering, range bounds, batch semantics, exact stats, iterator
 * buffer lifetime, compaction (which must never change what reads
 * return) and its interruption at shutdown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "engine_conformance_int.h"

enum step_kind { S_PUT, S_DEL, S_GET, S_MISS };

static void test_basic_ops(void **state)
{
    struct fixture *f = *state;
    static const struct {
        enum step_kind kind;
        struct bytes key;
        struct bytes val;
    } steps[] = {
        {S_MISS, B("k1"), B("")},
        {S_PUT, B("k1"), B("v1")},
        {S_GET, B("k1"), B("v1")},
        {S_MISS, B("k"), B("")},
        {S_MISS, B("k10"), B("")},
        {S_PUT, B("k1"), B("a longer second value")},
        {S_GET, B("k1"), B("a longer second value")},
        {S_PUT, B("k1"), B("s")},
        {S_GET, B("k1"), B("s")},
        {S_PUT, B("k2"), B("v2")},
        {S_DEL, B("k1"), B("")},
        {S_MISS, B("k1"), B("")},
        {S_GET, B("k2"), B("v2")},
        {S_DEL, B("k1"), B("")},    /* delete of a missing key: success */
        {S_DEL, B("never"), B("")},
        {S_PUT, B("k1"), B("back")},
        {S_GET, B("k1"), B("back")},
    };
    for (size_t i = 0; i < NELEM(steps); i++) {
        switch (steps[i].kind) {
        case S_PUT:
            ec_put(f->e, steps[i].key, steps[i].val);
            break;
        case S_DEL:
            ec_del(f->e, steps[i].key);
            break;
        case S_GET:
            ec_check_value(f->e, steps[i].key, steps[i].val);
            break;
        case S_MISS:
            ec_check_missing(f->e, steps[i].key);
            break;
        }
    }
    /* k1 = "back", k2 = "v2" */
    ec_check_stats(f->e, 2, 2 + 4 + 2 + 2);
    assert_int_equal(f->e->ops->flush(f->e), 0);
    ec_check_value(f->e, (struct bytes)B("k1"), (struct bytes)B("back"));
}

static void test_empty_value_and_key(void **state)
{
    struct fixture *f = *state;
    struct bytes none = {NULL, 0};
    struct bytes blank = B("");
    struct bytes keys[] = {B(""), B("e1"), B("e2")};

    ec_put(f->e, keys[1], none);  /* value NULL, length 0 */
    ec_put(f->e, keys[2], blank); /* value non-NULL, length 0 */
    ec_put(f->e, keys[0], (struct bytes)B("empty key"));
    ec_check_value(f->e, keys[1], none);
    ec_check_value(f->e, keys[2], none);
    ec_check_value(f->e, keys[0], (struct bytes)B("empty key"));
    ec_check_stats(f->e, 3, 2 + 2 + 9);
    struct bytes vals[] = {B("empty key"), B(""), B("")};
    ec_check_scan(f->e, none, NULL, keys, vals, 3);
    ec_del(f->e, keys[0]);
    ec_check_missing(f->e, keys[0]);
    ec_check_value(f->e, keys[1], none);
    ec_check_stats(f->e, 2, 4);
}

static void test_binary_keys(void **state)
{
    struct fixture *f = *state;
    static const struct bytes keys[] = {
        B("\x00"), B("\x00\x00"), B("\x00\xff"), B("a"), B("a\x00"),
        B("a\x00" "b"), B("a\xff"), B("\xff"), B("\xff\x00\xff"),
        B("\xff\xff\xff\xff"),
    };
    uint8_t all[256];

    for (size_t i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    for (size_t i = 0; i < NELEM(keys); i++)
        ec_put(f->e, keys[i], (struct bytes){(const uint8_t *)&i, sizeof i});
    ec_put(f->e, (struct bytes){all, 256}, (struct bytes)B("all bytes"));
    for (size_t i = 0; i < NELEM(keys); i++)
        ec_check_value(f->e, keys[i],
                       (struct bytes){(const uint8_t *)&i, sizeof i});
    ec_check_value(f->e, (struct bytes){all, 256},
                   (struct bytes)B("all bytes"));
    ec_check_missing(f->e, (struct bytes){all, 255});
    ec_check_missing(f->e, (struct bytes)B("a\x00\x00"));
    ec_del(f->e, (struct bytes)B("a\x00"));
    ec_check_missing(f->e, (struct bytes)B("a\x00"));
    size_t a_value = 3; /* the table index of "a" */
    ec_check_value(f->e, (struct bytes)B("a"),
                   (struct bytes){(const uint8_t *)&a_value, sizeof a_value});
    /* Key bytes: 21 in the table, minus "a\0", plus the 256-byte key;
     * values: one size_t per remaining table key, plus "all bytes". */
    ec_check_stats(f->e, NELEM(keys),
                   (21 - 2) + 256 + (NELEM(keys) - 1) * sizeof(size_t) + 9);
}

static void test_long_keys(void **state)
{
    struct fixture *f = *state;
    const size_t lens[] = {64 * 1024 + 256, 64 * 1024 + 256, 256 * 1024};
    uint8_t *k[3];

    for (size_t i = 0; i < 3; i++)
        k[i] = ec_pattern(lens[i], 7);
    k[1][lens[1] - 1] ^= 0x01; /* k0 and k1 differ only in the last byte */
    for (size_t i = 0; i < 3; i++)
        ec_put(f->e, (struct bytes){k[i], lens[i]},
               (struct bytes){(const uint8_t *)"v", 1});
    for (size_t i = 0; i < 3; i++)
        ec_check_value(f->e, (struct bytes){k[i], lens[i]},
                       (struct bytes){(const uint8_t *)"v", 1});
    ec_check_stats(f->e, 3, lens[0] + lens[1] + lens[2] + 3);
    /* Expected order by the test's own comparator (insertion sort). */
    struct bytes sorted[3];
    for (size_t i = 0; i < 3; i++) {
        size_t j = i;
        for (; j > 0 && ec_bytes_cmp(k[i], lens[i], sorted[j - 1].p,
                                     sorted[j - 1].n) < 0; j--)
            sorted[j] = sorted[j - 1];
        sorted[j] = (struct bytes){k[i], lens[i]};
    }
    ec_check_scan(f->e, (struct bytes){NULL, 0}, NULL, sorted, NULL, 3);
    ec_del(f->e, (struct bytes){k[0], lens[0]});
    ec_check_missing(f->e, (struct bytes){k[0], lens[0]});
    ec_check_value(f->e, (struct bytes){k[1], lens[1]},
                   (struct bytes){(const uint8_t *)"v", 1});
    for (size_t i = 0; i < 3; i++)
        free(k[i]);
}

static void test_large_values(void **state)
{
    struct fixture *f = *state;
    const size_t n = 8u << 20;
    uint8_t *v1 = ec_pattern(n, 1);
    uint8_t *v2 = ec_pattern(n + 3, 2);
    struct bytes k = B("big");
    struct bytes s = B("small");

    ec_put(f->e, k, (struct bytes){v1, n});
    ec_put(f->e, s, (struct bytes)B("x"));
    ec_check_value(f->e, k, (struct bytes){v1, n});
    ec_put(f->e, k, (struct bytes){v2, n + 3});
    ec_check_value(f->e, k, (struct bytes){v2, n + 3});
    ec_check_stats(f->e, 2, 3 + n + 3 + 5 + 1);
    struct bytes keys[] = {k, s};
    struct bytes vals[] = {{v2, n + 3}, B("x")};
    ec_check_scan(f->e, (struct bytes){NULL, 0}, NULL, keys, vals, 2);
    free(v1);
    free(v2);
}

/* Hand-sorted in unsigned byte order; inserted in a scrambled order. */
static const struct bytes ordered_keys[] = {
    B(""),     B("\x00"),     B("\x00\x00"), B("\x01"), B("a"),
    B("a\x00"), B("a\x00\x00"), B("a\x01"),  B("ab"),   B("b"),
    B("\x7f"), B("\x80"),     B("\xfe"),     B("\xff"), B("\xff\x00"),
    B("\xff\xff"),
};

static void test_ordering(void **state)
{
    struct fixture *f = *state;
    size_t n = NELEM(ordered_keys);

    /* Insert with stride 7 (coprime with 16): a scrambled order. */
    for (size_t i = 0; i < n; i++) {
        const struct bytes *k = &ordered_keys[(i * 7) % n];
        ec_put(f->e, *k, *k);
    }
    ec_check_scan(f->e, (struct bytes){NULL, 0}, NULL, ordered_keys,
                  ordered_keys, n);
}

static int qsort_bytes(const void *a, const void *b)
{
    const struct bytes *x = a;
    const struct bytes *y = b;
    return ec_bytes_cmp(x->p, x->n, y->p, y->n);
}

/* Random short keys over an alphabet rich in edge bytes, checked against
 * qsort with the test's comparator. */
static void test_ordering_random(void **state)
{
    struct fixture *f = *state;
    static const uint8_t alphabet[] = {0x00, 0x01, 'a', 'b', 0x7f, 0x80,
                                       0xfe, 0xff};
    enum { N = 2000, MAXLEN = 6 };
    static uint8_t store[N][MAXLEN];
    static struct bytes keys[N];
    uint64_t rng = 0x1234567;
    size_t uniq = 0;

    for (size_t i = 0; i < N; i++) {
        size_t len = ec_rng_next(&rng) % (MAXLEN + 1);
        for (size_t j = 0; j < len; j++)
            store[i][j] = alphabet[ec_rng_next(&rng) % sizeof alphabet];
        keys[i] = (struct bytes){store[i], len};
        ec_put(f->e, keys[i], keys[i]);
    }
    qsort(keys, N, sizeof keys[0], qsort_bytes);
    for (size_t i = 0; i < N; i++) {
        if (uniq == 0 || qsort_bytes(&keys[uniq - 1], &keys[i]) != 0)
            keys[uniq++] = keys[i];
    }
    ec_check_scan(f->e, (struct bytes){NULL, 0}, NULL, keys, keys, uniq);
    size_t total = 0;
    for (size_t i = 0; i < uniq; i++)
        total += 2 * keys[i].n;
    ec_check_stats(f->e, uniq, total);
}

static void test_bounds(void **state)
{
    struct fixture *f = *state;
    static const struct bytes keys[] = {B("a"), B("b"), B("ba"), B("c"),
                                        B("d")};
    static const struct bytes end_b = B("b"), end_ba = B("ba"),
                              end_c = B("c"), end_d = B("d"), end_a = B("a"),
                              end_a0 = B("a\x00"), end_e = B(""),
                              end_zz = B("zz");
    static const struct {
        struct bytes start;
        const struct bytes *end;
        size_t first; /* expected: keys[first .. first + count) */
        size_t count;
    } cases[] = {
        {B(""), NULL, 0, 5},
        {B("b"), NULL, 1, 4},
        {B("b"), &end_c, 1, 2},
        {B("b"), &end_ba, 1, 1},
        {B("bb"), &end_d, 3, 1},
        {B("c"), &end_c, 0, 0},   /* start == end: empty */
        {B("d"), &end_a, 0, 0},   /* start > end: empty */
        {B("a"), &end_a0, 0, 1},  /* end is exclusive, "a" < "a\0" */
        {B("a\x00"), &end_b, 1, 0},
        {B("e"), NULL, 0, 0},
        {B(""), &end_e, 0, 0},
        {B("\x00"), &end_b, 0, 1},
        {B(""), &end_zz, 0, 5},
        {B("c"), &end_d, 3, 1},
        {B("0"), &end_d, 0, 4},
    };

    for (size_t i = 0; i < NELEM(keys); i++)
        ec_put(f->e, keys[i], keys[i]);
    for (size_t i = 0; i < NELEM(cases); i++) {
        snprintf(ec_scan_ctx, sizeof ec_scan_ctx, "bounds case %zu", i);
        ec_check_scan(f->e, cases[i].start, cases[i].end,
                      keys + cases[i].first, keys + cases[i].first,
                      cases[i].count);
    }
    /* A NULL start with length 0 is the beginning. */
    ec_check_scan(f->e, (struct bytes){NULL, 0}, &end_b, keys, keys, 1);
}

/* Batches and the state they must leave, from a start of x=old, y=old. */
static void test_batch_semantics(void **state)
{
    struct fixture *f = *state;
    const struct amaters_write_op P1 = {AMATERS_WRITE_PUT,
                                        (const uint8_t *)"k", 1,
                                        (const uint8_t *)"1", 1};
    const struct amaters_write_op P2 = {AMATERS_WRITE_PUT,
                                        (const uint8_t *)"k", 1,
                                        (const uint8_t *)"22", 2};
    const struct amaters_write_op D = {AMATERS_WRITE_DELETE,
                                       (const uint8_t *)"k", 1, NULL, 0};
    const struct amaters_write_op PX = {AMATERS_WRITE_PUT,
                                        (const uint8_t *)"x", 1,
                                        (const uint8_t *)"new", 3};
    const struct amaters_write_op DY = {AMATERS_WRITE_DELETE,
                                        (const uint8_t *)"y", 1, NULL, 0};
    const struct {
        struct amaters_write_op ops[4];
        size_t n;
        const char *k; /* expected value of k, NULL = absent */
    } cases[] = {
        {{P1, P2}, 2, "22"},          /* later op wins */
        {{P2, P1}, 2, "1"},
        {{P1, D}, 2, NULL},           /* put then delete: absent */
        {{D, P1}, 2, "1"},            /* delete then put: present */
        {{P1, D, P2, PX}, 4, "22"},
        {{P1, DY, D, PX}, 4, NULL},
        {{D}, 1, NULL},
        {{P2}, 1, "22"},
    };

    for (size_t i = 0; i < NELEM(cases); i++) {
        ec_put(f->e, (struct bytes)B("x"), (struct bytes)B("old"));
        ec_put(f->e, (struct bytes)B("y"), (struct bytes)B("old"));
        ec_del(f->e, (struct bytes)B("k"));
        assert_int_equal(amaters_engine_write(f->e, cases[i].ops,
                                              cases[i].n), 0);
        uint64_t keys = 0, bytes = 0;
        if (cases[i].k != NULL) {
            ec_check_value(f->e, (struct bytes)B("k"),
                           (struct bytes){(const uint8_t *)cases[i].k,
                                         strlen(cases[i].k)});
            keys++;
            bytes += 1 + strlen(cases[i].k);
        } else {
            ec_check_missing(f->e, (struct bytes)B("k"));
        }
        int has_px = 0, has_dy = 0;
        for (size_t j = 0; j < cases[i].n; j++) {
            has_px |= cases[i].ops[j].key[0] == 'x';
            has_dy |= cases[i].ops[j].key[0] == 'y';
        }
        ec_check_value(f->e, (struct bytes)B("x"),
                       has_px ? (struct bytes)B("new")
                              : (struct bytes)B("old"));
        keys += 1;
        bytes += 4; /* "x" + "old" or "new" */
        if (has_dy) {
            ec_check_missing(f->e, (struct bytes)B("y"));
        } else {
            ec_check_value(f->e, (struct bytes)B("y"), (struct bytes)B("old"));
            keys++;
            bytes += 4;
        }
        ec_check_stats(f->e, keys, bytes);
    }
}

/* An empty batch succeeds and changes nothing; a batch with an invalid op
 * fails and applies none of its valid ops. */
static void test_batch_rejects(void **state)
{
    struct fixture *f = *state;
    struct amaters_write_op ops[3] = {
        {AMATERS_WRITE_PUT, (const uint8_t *)"a", 1, (const uint8_t *)"1",
         1},
        {AMATERS_WRITE_DELETE, (const uint8_t *)"b", 1, NULL, 0},
        {(enum amaters_write_kind)99, (const uint8_t *)"c", 1, NULL, 0},
    };

    ec_put(f->e, (struct bytes)B("b"), (struct bytes)B("2"));
    assert_int_equal(amaters_engine_write(f->e, NULL, 0), 0);
    assert_int_equal(amaters_engine_write(f->e, ops, 0), 0);
    ec_check_stats(f->e, 1, 2);
    assert_true(amaters_engine_write(f->e, ops, 3) < 0);
    ec_check_missing(f->e, (struct bytes)B("a"));
    ec_check_value(f->e, (struct bytes)B("b"), (struct bytes)B("2"));
    ec_check_missing(f->e, (struct bytes)B("c"));
    ec_check_stats(f->e, 1, 2);
}

/* A model of a small key space; the engine's stats and contents must
 * match it after every batch of random puts (sizes 0..40) and deletes. */
enum { MODEL_KEYS = 48, MODEL_VMAX = 40 };
struct model {
    char key[MODEL_KEYS][4];
    bool present[MODEL_KEYS];
    size_t vlen[MODEL_KEYS];
    uint8_t val[MODEL_KEYS][MODEL_VMAX];
};

/* Checks the engine's stats against the model's. */
static void model_check_stats(struct amaters_engine *e, const struct model *m)
{
    uint64_t keys = 0;
    uint64_t bytes = 0;

    for (size_t i = 0; i < MODEL_KEYS; i++) {
        if (m->present[i]) {
            keys++;
            bytes += 3 + m->vlen[i];
        }
    }
    ec_check_stats(e, keys, bytes);
}

/* Checks stats and every key's value against the model. */
static void model_check(struct amaters_engine *e, const struct model *m)
{
    for (size_t i = 0; i < MODEL_KEYS; i++) {
        struct bytes k = {(const uint8_t *)m->key[i], 3};
        if (m->present[i])
            ec_check_value(e, k, (struct bytes){m->val[i], m->vlen[i]});
        else
            ec_check_missing(e, k);
    }
    model_check_stats(e, m);
}

static void test_stats_exact(void **state)
{
    struct fixture *f = *state;
    static struct model m;
    uint8_t vals[5][MODEL_VMAX];
    uint64_t rng = 42;

    memset(&m, 0, sizeof m);
    for (size_t i = 0; i < MODEL_KEYS; i++)
        snprintf(m.key[i], sizeof m.key[i], "m%02zu", i);
    ec_check_stats(f->e, 0, 0);
    for (int step = 0; step < 600; step++) {
        struct amaters_write_op ops[5];
        size_t n = 1 + ec_rng_next(&rng) % 5;
        for (size_t j = 0; j < n; j++) {
            size_t idx = ec_rng_next(&rng) % MODEL_KEYS;
            ops[j].key = (const uint8_t *)m.key[idx];
            ops[j].key_len = 3;
            if (ec_rng_next(&rng) % 3 == 0) {
                ops[j].kind = AMATERS_WRITE_DELETE;
                ops[j].value = NULL;
                ops[j].value_len = 0;
                m.present[idx] = false;
                continue;
            }
            size_t len = ec_rng_next(&rng) % (MODEL_VMAX + 1);
            for (size_t b = 0; b < len; b++)
                vals[j][b] = (uint8_t)ec_rng_next(&rng);
            ops[j].kind = AMATERS_WRITE_PUT;
            ops[j].value = vals[j];
            ops[j].value_len = len;
            m.present[idx] = true;
            m.vlen[idx] = len;
            memcpy(m.val[idx], vals[j], len);
        }
        assert_int_equal(amaters_engine_write(f->e, ops, n), 0);
        if (step % 25 == 0)
            model_check(f->e, &m);
        else
            model_check_stats(f->e, &m);
    }
    model_check(f->e, &m);
}

/* Buffers returned by iter_next stay valid and unchanged until the next
 * call, whatever writes happen meanwhile; a key unchanged during the scan
 * is still returned exactly once, in order. */
static void test_iter_buffers_stable(void **state)
{
    struct fixture *f = *state;
    struct amaters_engine_iter *it = NULL;
    const uint8_t *k;
    const uint8_t *v;
    size_t kn;
    size_t vn;
    int seen_k3 = 0;

    ec_put(f->e, (struct bytes)B("k1"), (struct bytes)B("v1-original"));
    ec_put(f->e, (struct bytes)B("k2"), (struct bytes)B("v2"));
    ec_put(f->e, (struct bytes)B("k3"), (struct bytes)B("v3"));
    assert_int_equal(amaters_engine_iter_open(f->e, NULL, 0, NULL, 0, &it),
                     0);
    assert_int_equal(amaters_engine_iter_next(it, &k, &kn, &v, &vn), 1);
    assert_int_equal(kn, 2);
    assert_memory_equal(k, "k1", 2);
    ec_put(f->e, (struct bytes)B("k1"), (struct bytes)B("CHANGED, longer"));
    ec_del(f->e, (struct bytes)B("k2"));
    ec_put(f->e, (struct bytes)B("k0"), (struct bytes)B("before"));
    ec_put(f->e, (struct bytes)B("k4"), (struct bytes)B("after"));
    assert_int_equal(kn, 2);
    assert_memory_equal(k, "k1", 2);
    assert_int_equal(vn, 11);
    assert_memory_equal(v, "v1-original", 11);

    uint8_t prev[8] = "k1";
    size_t prevn = 2;
    int rv;
    for (;;) {
        rv = amaters_engine_iter_next(it, &k, &kn, &v, &vn);
        if (rv != 1)
            break;
        assert_true(kn <= sizeof prev);
        assert_true(ec_bytes_cmp(prev, prevn, k, kn) < 0);
        memcpy(prev, k, kn);
        prevn = kn;
        if (kn == 2 && memcmp(k, "k3", 2) == 0) {
            seen_k3++;
            assert_int_equal(vn, 2);
            assert_memory_equal(v, "v3", 2);
        }
    }
    assert_int_equal(rv, 0);
    assert_int_equal(seen_k3, 1);
    amaters_engine_iter_close(it);

    /* Open and close without reading; an empty range; NULL close. */
    assert_int_equal(amaters_engine_iter_open(f->e, NULL, 0, NULL, 0, &it),
                     0);
    amaters_engine_iter_close(it);
    amaters_engine_iter_close(NULL);
}

/* Several iterators over many keys with large values, advanced in turn,
 * each see their whole range (crosses any internal batching). */
static void test_iter_interleaved(void **state)
{
    struct fixture *f = *state;
    enum { N = 300, ITERS = 3 };
    static char names[N][8];
    static struct bytes keys[N];
    uint8_t *big = ec_pattern(20000, 3);
    struct amaters_engine_iter *it[ITERS];
    size_t pos[ITERS] = {0, 100, 299};
    bool done[ITERS] = {false, false, false};

    for (size_t i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "i%04zu", i);
        keys[i] = (struct bytes){(const uint8_t *)names[i], 5};
        ec_put(f->e, keys[i], (struct bytes){big, (i * 977) % 20000});
    }
    for (size_t j = 0; j < ITERS; j++)
        assert_int_equal(amaters_engine_iter_open(f->e, keys[pos[j]].p, 5,
                                                  NULL, 0, &it[j]),
                         0);
    for (size_t left = ITERS; left > 0;) {
        for (size_t j = 0; j < ITERS; j++) {
            const uint8_t *k;
            const uint8_t *v;
            size_t kn;
            size_t vn;
            if (done[j])
                continue;
            int rv = amaters_engine_iter_next(it[j], &k, &kn, &v, &vn);
            if (rv == 0) {
                assert_int_equal(pos[j], N);
                done[j] = true;
                left--;
                continue;
            }
            assert_int_equal(rv, 1);
            assert_true(pos[j] < N);
            assert_int_equal(kn, 5);
            assert_memory_equal(k, keys[pos[j]].p, 5);
            assert_int_equal(vn, (pos[j] * 977) % 20000);
            if (vn > 0)
                assert_memory_equal(v, big, vn);
            pos[j]++;
        }
    }
    for (size_t j = 0; j < ITERS; j++)
        amaters_engine_iter_close(it[j]);
    free(big);
}

/* compact() is optional; when an engine offers it, compacting any range
 * (one key range, an empty one, from the empty key, everything) leaves
 * every key, value and the exact stats as they were, also for an
 * iterator opened before it; NULL bounds with a length are refused.
 * Without it the wrapper answers AMATERS_EUNSUPPORTED. */
static void test_compact(void **state)
{
    struct fixture *f = *state;
    static const struct bytes want[] = {B(""), B("a1"), B("a3"), B("b0"),
                                        B("b2"), B("c")};
    static const struct bytes vals[] = {B("e"),      B("a1-v3"), B("a3-v3"),
                                        B("b0-last"), B("b2-last"), B("c")};
    static const struct {
        struct bytes start;
        bool start_null;
        struct bytes end;
        bool end_null;
    } ranges[] = {
        {B("a"), false, B("b"), false}, /* the "a" keys only */
        {B("b"), false, B("a"), false}, /* empty: start > end */
        {B(""), false, B("b\xff"), false},
        {B("b"), false, B(""), true},   /* to the last key */
        {B(""), true, B("b"), false},   /* from the first key */
        {B(""), true, B(""), true},     /* everything */
    };
    const struct bytes none = B("");
    struct amaters_engine_iter *it = NULL;
    char k[8], v[16];
    uint64_t bytes = 0;

    for (int round = 1; round <= 3; round++) {
        for (int i = 0; i < 4; i++) {
            snprintf(k, sizeof k, "a%d", i);
            snprintf(v, sizeof v, "a%d-v%d", i, round);
            ec_put(f->e, (struct bytes){(const uint8_t *)k, strlen(k)},
                   (struct bytes){(const uint8_t *)v, strlen(v)});
        }
        assert_int_equal(f->e->ops->flush(f->e), 0);
    }
    ec_del(f->e, (struct bytes)B("a0"));
    ec_del(f->e, (struct bytes)B("a2"));
    ec_put(f->e, (struct bytes)B("b0"), (struct bytes)B("b0-last"));
    ec_put(f->e, (struct bytes)B("b1"), (struct bytes)B("gone"));
    ec_put(f->e, (struct bytes)B("b2"), (struct bytes)B("b2-last"));
    ec_del(f->e, (struct bytes)B("b1"));
    ec_put(f->e, (struct bytes)B(""), (struct bytes)B("e"));
    ec_put(f->e, (struct bytes)B("c"), (struct bytes)B("c"));
    for (size_t i = 0; i < NELEM(want); i++)
        bytes += want[i].n + vals[i].n;
    if (f->e->ops->compact == NULL) {
        assert_int_equal(amaters_engine_compact(f->e, NULL, 0, NULL, 0),
                         AMATERS_EUNSUPPORTED);
        ec_check_scan(f->e, none, NULL, want, vals, NELEM(want));
        return;
    }
    assert_int_equal(amaters_engine_compact(f->e, NULL, 2, NULL, 0),
                     AMATERS_EINVAL);
    assert_int_equal(amaters_engine_compact(f->e, NULL, 0, NULL, 1),
                     AMATERS_EINVAL);
    assert_int_equal(amaters_engine_iter_open(f->e, none.p, 0, NULL, 0, &it),
                     0);
    for (size_t i = 0; i < NELEM(ranges); i++) {
        int rv = amaters_engine_compact(
            f->e, ranges[i].start_null ? NULL : ranges[i].start.p,
            ranges[i].start.n, ranges[i].end_null ? NULL : ranges[i].end.p,
            ranges[i].end.n);
        if (rv != 0)
            fail_msg("compact range %zu: %s", i, amaters_errname(rv));
        ec_check_scan(f->e, none, NULL, want, vals, NELEM(want));
        ec_check_stats(f->e, NELEM(want), bytes);
    }
    /* the iterator opened before the compactions sees the same data */
    for (size_t i = 0; i < NELEM(want); i++) {
        const uint8_t *kp, *vp;
        size_t kn, vn;
        assert_int_equal(amaters_engine_iter_next(it, &kp, &kn, &vp, &vn),
                         1);
        assert_int_equal(ec_bytes_cmp(kp, kn, want[i].p, want[i].n), 0);
        assert_int_equal(ec_bytes_cmp(vp, vn, vals[i].p, vals[i].n), 0);
    }
    amaters_engine_iter_close(it);
    /* and after a reopen, so does a persistent engine */
    if (f->s->persistent) {
        ec_close_engine(f);
        ec_open_engine(f);
        ec_check_scan(f->e, none, NULL, want, vals, NELEM(want));
        ec_check_stats(f->e, NELEM(want), bytes);
    }
}

/* interrupt() (a shutdown) is optional; with or without it, afterwards
 * (twice: idempotent) compact() returns AMATERS_ESHUTDOWN doing nothing
 * (AMATERS_EUNSUPPORTED for an engine without compact), and reads,
 * writes, iterators, flush and exact stats work as before. A persistent
 * engine reopened on the same data is not interrupted any more. */
static void test_interrupt(void **state)
{
    struct fixture *f = *state;
    static const struct bytes want[] = {B("a"), B("b")};
    static const struct bytes vals[] = {B("1"), B("2-new")};
    const struct bytes none = B("");
    int after = f->e->ops->compact ? AMATERS_ESHUTDOWN : AMATERS_EUNSUPPORTED;
    uint64_t bytes = 1 + 1 + 1 + 5;

    ec_put(f->e, (struct bytes)B("a"), (struct bytes)B("1"));
    ec_put(f->e, (struct bytes)B("b"), (struct bytes)B("2"));
    amaters_engine_interrupt(f->e);
    amaters_engine_interrupt(f->e);
    assert_int_equal(amaters_engine_compact(f->e, NULL, 0, NULL, 0), after);
    assert_int_equal(amaters_engine_compact(f->e, want[0].p, want[0].n,
                                            want[1].p, want[1].n),
                     after);
    ec_put(f->e, (struct bytes)B("b"), (struct bytes)B("2-new"));
    ec_put(f->e, (struct bytes)B("c"), (struct bytes)B("3"));
    ec_del(f->e, (struct bytes)B("c"));
    assert_int_equal(f->e->ops->flush(f->e), 0);
    ec_check_scan(f->e, none, NULL, want, vals, NELEM(want));
    ec_check_value(f->e, want[1], vals[1]);
    ec_check_missing(f->e, (struct bytes)B("c"));
    ec_check_stats(f->e, NELEM(want), bytes);
    if (f->s->persistent) {
        ec_close_engine(f);
        ec_open_engine(f);
        assert_int_equal(amaters_engine_compact(f->e, NULL, 0, NULL, 0),
                         f->e->ops->compact ? 0 : AMATERS_EUNSUPPORTED);
        ec_check_scan(f->e, none, NULL, want, vals, NELEM(want));
        ec_check_stats(f->e, NELEM(want), bytes);
    }
}

const struct ec_case ec_basic_cases[] = {
    EC_CASE(test_basic_ops),
    EC_CASE(test_empty_value_and_key),
    EC_CASE(test_binary_keys),
    EC_CASE(test_long_keys),
    EC_CASE(test_large_values),
    EC_CASE(test_ordering),
    EC_CASE(test_ordering_random),
    EC_CASE(test_bounds),
    EC_CASE(test_batch_semantics),
    EC_CASE(test_batch_rejects),
    EC_CASE(test_stats_exact),
    EC_CASE(test_iter_buffers_stable),
    EC_CASE(test_iter_interleaved),
    EC_CASE(test_compact),
    EC_CASE(test_interrupt),
};
const size_t ec_basic_count = NELEM(ec_basic_cases);
