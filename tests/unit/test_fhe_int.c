/*
 * test_fhe_int.c - every integer operation on every width (u8, u16, u32,
 * u64) and the boolean operations, evaluated on a 2-thread pool and
 * checked against the clear computation (fhe_ops_table.h, shared with
 * amaters-fhe-pairs); the thread pool itself; decryption limits.
 *
 * Counts: by default each (operation, width) runs on one operand pair,
 * taken in turn from the edge table (0, 1, max, equal operands, overflow
 * wrap-around, msb) so that the edges spread over the operations, and
 * u32 / u64 multiplication and u64 min / max are skipped (they cost
 * thousands of PBS). AMATERS_FHE_PAIRS=N runs every edge pair plus N
 * seeded random pairs for every operation and width (make fhe-test-full
 * runs the same counts resumably with amaters-fhe-pairs). Sanitizer
 * builds run all of u8 and part of u16 by default.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "fhe_keys_fixture.h"
#include "core/errors.h"
#include "fhe/pool.h"
#include "fhe/radix.h"
#include "fhe/rng.h"
#include "fhe_ops_table.h"

struct fix {
    FHE_KEY_FIELDS;
    struct amaters_fhe_rng rng;
    long pairs;             /* AMATERS_FHE_PAIRS, -1 when unset */
};

static int group_setup(void **state)
{
    static struct fix f;
    const char *env = getenv("AMATERS_FHE_PAIRS");

    memset(&f, 0, sizeof(f));
    f.pairs = env != NULL ? atol(env) : -1;
    if (FHE_KEYS_OPEN(&f, 0x71, 2) != 0 ||
        amaters_fhe_rng_init_seeded(&f.rng, f.server_seed, 91) != 0)
        return -1;
    *state = &f;
    return 0;
}

static int group_teardown(void **state)
{
    struct fix *f = *state;

    amaters_fhe_rng_destroy(&f->rng);
    return FHE_KEYS_CLOSE(f);
}

/* Default-mode operations too costly for the reduced run. */
static int skipped_by_default(enum fhe_op op, unsigned w)
{
#ifdef AMATERS_SANITIZE
    if (w > 16 || (w == 16 && (op == MUL || op == SMUL || op == MIN ||
                               op == MAX || op == SADD || op == SSUB ||
                               op == NEG)))
        return 1;
#endif
    return (op == MUL && w >= 32) || ((op == MIN || op == MAX) && w == 64);
}

static void check_one(struct fix *f, enum fhe_op op, unsigned w, uint64_t x,
                      uint64_t y)
{
    uint64_t m = fhe_width_mask(w), got = ~x;
    struct fhe_case c;

    if (f->pairs < 0 && op == SMUL && w >= 32)
        y &= 0xf0f;            /* sparse scalar: few digits, few PBS */
    assert_int_equal(fhe_case_init(&c, f->p, op, w), 0);
    assert_int_equal(fhe_case_encrypt(&c, f->ck, w, x & m, y & m), 0);
    assert_int_equal(fhe_case_run(f->ev, op, w, &c, y & m), 0);
    assert_int_equal(fhe_case_decrypt(f->ck, &c, &got), 0);
    if (got != expect(op, x & m, y & m, w))
        fail_msg("%s u%u (%llu, %llu): got %llu", op_names[op], w,
                 (unsigned long long)(x & m), (unsigned long long)(y & m),
                 (unsigned long long)got);
    fhe_case_destroy(&c);
}

static void check_width(struct fix *f, unsigned w)
{
    uint64_t m = fhe_width_mask(w), x, y;

    for (int op = 0; op < NOPS; op++) {
        if (f->pairs < 0) {
            if (skipped_by_default((enum fhe_op)op, w))
                continue;
            fhe_edge((size_t)op + w, m, &x, &y);
            check_one(f, (enum fhe_op)op, w, x, y);
            continue;
        }
        for (size_t i = 0; i < NEDGES; i++) {
            fhe_edge(i, m, &x, &y);
            check_one(f, (enum fhe_op)op, w, x, y);
        }
        for (long i = 0; i < f->pairs; i++)
            check_one(f, (enum fhe_op)op, w, amaters_fhe_rng_u64(&f->rng),
                      amaters_fhe_rng_u64(&f->rng));
    }
}

static void test_u8(void **state)
{
    check_width(*state, 8);
}

static void test_u16(void **state)
{
    check_width(*state, 16);
}

static void test_u32(void **state)
{
    check_width(*state, 32);
}

static void test_u64(void **state)
{
    check_width(*state, 64);
}

/* Booleans: every input combination of and / or / xor / not. */
static void test_bool(void **state)
{
    struct fix *f = *state;
    struct amaters_fhe_radix a, b, out;

    assert_int_equal(amaters_fhe_radix_init(&a, f->p, 1), 0);
    assert_int_equal(amaters_fhe_radix_init(&b, f->p, 1), 0);
    assert_int_equal(amaters_fhe_radix_init(&out, f->p, 1), 0);
    for (uint32_t x = 0; x < 2; x++) {
        for (uint32_t y = 0; y < 2; y++) {
            uint32_t got = 9;

            assert_int_equal(amaters_fhe_block_encrypt(f->ck, x,
                                                       &a.blocks[0]), 0);
            assert_int_equal(amaters_fhe_block_encrypt(f->ck, y,
                                                       &b.blocks[0]), 0);
            assert_int_equal(amaters_fhe_bool_and(f->ev, &a.blocks[0],
                                                  &b.blocks[0],
                                                  &out.blocks[0]), 0);
            assert_int_equal(amaters_fhe_block_decrypt(f->ck, &out.blocks[0],
                                                       &got), 0);
            assert_int_equal(got, x & y);
            assert_int_equal(amaters_fhe_bool_or(f->ev, &a.blocks[0],
                                                 &b.blocks[0],
                                                 &out.blocks[0]), 0);
            assert_int_equal(amaters_fhe_block_decrypt(f->ck, &out.blocks[0],
                                                       &got), 0);
            assert_int_equal(got, x | y);
            assert_int_equal(amaters_fhe_radix_bitop(f->ev, AMATERS_FHE_XOR,
                                                     &a, &b, &out), 0);
            assert_int_equal(amaters_fhe_block_decrypt(f->ck, &out.blocks[0],
                                                       &got), 0);
            assert_int_equal(got, x ^ y);
            amaters_fhe_bool_not(&out.blocks[0]);   /* not of a result */
            assert_int_equal(amaters_fhe_block_decrypt(f->ck, &out.blocks[0],
                                                       &got), 0);
            assert_int_equal(got, 1 - (x ^ y));
        }
    }
    amaters_fhe_radix_destroy(&a);
    amaters_fhe_radix_destroy(&b);
    amaters_fhe_radix_destroy(&out);
}

/* u64 extremes round-trip; a 64-block integer decrypts modulo 2^64. */
static void test_decrypt_limits(void **state)
{
    struct fix *f = *state;
    const uint64_t vals[] = {0, 1, UINT64_MAX, UINT64_C(1) << 63,
                             UINT64_C(0x0123456789abcdef)};
    struct amaters_fhe_radix r;
    uint64_t got;

    assert_int_equal(amaters_fhe_radix_init(&r, f->p, 32), 0);
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        assert_int_equal(amaters_fhe_radix_encrypt(f->ck, vals[i], &r), 0);
        assert_int_equal(amaters_fhe_radix_decrypt(f->ck, &r, &got), 0);
        assert_true(got == vals[i]);
    }
    amaters_fhe_radix_destroy(&r);
    assert_int_equal(amaters_fhe_radix_init(&r, f->p, 64), 0);
    assert_int_equal(amaters_fhe_radix_encrypt(f->ck, UINT64_MAX, &r), 0);
    assert_int_equal(amaters_fhe_radix_decrypt(f->ck, &r, &got), 0);
    assert_true(got == UINT64_MAX);    /* upper 32 blocks hold 0 */
    assert_int_equal(amaters_fhe_radix_sub_scalar(f->ev, &r, 1, &r),
                     AMATERS_EINVAL);
    amaters_fhe_radix_destroy(&r);
}

struct count_arg {
    size_t seen[AMATERS_FHE_POOL_MAX];
    unsigned char done[64];
    size_t fail_item;
};

static int count_cb(void *arg, size_t item, size_t worker)
{
    struct count_arg *c = arg;

    c->done[item]++;
    c->seen[worker]++;
    return item == c->fail_item ? AMATERS_EIO : 0;
}

/* The pool runs every item once, on valid worker indexes, and reports
 * the first error; sizes out of range are refused. */
static void test_pool(void **state)
{
    static const size_t sizes[] = {1, 2, 3, 8};
    struct amaters_fhe_pool *pool = NULL;
    struct count_arg c;

    (void)state;
    assert_int_equal(amaters_fhe_pool_new(0, &pool), AMATERS_EINVAL);
    assert_int_equal(amaters_fhe_pool_new(AMATERS_FHE_POOL_MAX + 1, &pool),
                     AMATERS_EINVAL);
    assert_null(pool);
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        assert_int_equal(amaters_fhe_pool_new(sizes[s], &pool), 0);
        assert_int_equal(amaters_fhe_pool_size(pool), sizes[s]);
        for (size_t n = 0; n <= 64; n += 21) {
            size_t total = 0;

            memset(&c, 0, sizeof(c));
            c.fail_item = n / 2;
            assert_int_equal(amaters_fhe_pool_run(pool, count_cb, &c, n),
                             n == 0 ? 0 : AMATERS_EIO);
            for (size_t i = 0; i < n; i++)
                assert_int_equal(c.done[i], 1);
            for (size_t w = 0; w < AMATERS_FHE_POOL_MAX; w++) {
                if (w >= sizes[s])
                    assert_int_equal(c.seen[w], 0);
                total += c.seen[w];
            }
            assert_int_equal(total, n);
        }
        amaters_fhe_pool_free(pool);
        pool = NULL;
    }
    assert_int_equal(amaters_fhe_pool_size(NULL), 1);
    assert_int_equal(amaters_fhe_eval_threads(((struct fix *)*state)->ev),
                     2);
}

/* Every allocation of a 3-thread context and of a pool fails in turn:
 * the error comes back and nothing leaks (the fixture checks). */
static void test_alloc_failure(void **state)
{
    struct fix *f = *state;
    int rc = AMATERS_ENOMEM;

    for (long n = 0; rc != 0 && n < 10000; n++) {
        struct amaters_fhe_eval *ev = NULL;

        amaters_alloc_fail_after(n);
        rc = amaters_fhe_eval_new_threads(f->sk, 3, &ev);
        amaters_alloc_fail_after(-1);
        if (rc != 0) {
            assert_int_equal(rc, AMATERS_ENOMEM);
            assert_null(ev);
        }
        amaters_fhe_eval_free(ev);
    }
    assert_int_equal(rc, 0);
    rc = AMATERS_ENOMEM;
    for (long n = 0; rc != 0 && n < 100; n++) {
        struct amaters_fhe_pool *pool = NULL;

        amaters_alloc_fail_after(n);
        rc = amaters_fhe_pool_new(4, &pool);
        amaters_alloc_fail_after(-1);
        if (rc != 0)
            assert_int_equal(rc, AMATERS_ENOMEM);
        amaters_fhe_pool_free(pool);
    }
    assert_int_equal(rc, 0);
    {
        struct amaters_fhe_eval *ev = NULL;

        assert_int_equal(amaters_fhe_eval_new_threads(f->sk, 0, &ev),
                         AMATERS_EINVAL);
        assert_int_equal(amaters_fhe_eval_new_threads(
                             f->sk, AMATERS_FHE_POOL_MAX + 1, &ev),
                         AMATERS_EINVAL);
        assert_null(ev);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_alloc_failure),
        cmocka_unit_test(test_bool),
        cmocka_unit_test(test_decrypt_limits),
        cmocka_unit_test(test_u8),
        cmocka_unit_test(test_u16),
        cmocka_unit_test(test_u32),
        cmocka_unit_test(test_u64),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
