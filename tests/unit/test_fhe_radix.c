/*
 * test_fhe_radix.c - u8 radix integers (4 blocks of 2 bits): encryption
 * round trip, add with carry propagation, eq and lt on edge values and
 * random pairs, sub / scalar add / bitwise ops, every comparison operator,
 * boolean and/or/not, select, min and max (multiplication is in
 * test_fhe_mul.c; every width and the random-pair counts of the
 * acceptance run are in test_fhe_int.c). The context has 2 threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "fhe_keys_fixture.h"
#include "core/errors.h"
#include "fhe/radix.h"
#include "fhe/rng.h"

/* Sanitizer builds are ~4x slower: fewer edge and random pairs there. */
#ifdef AMATERS_SANITIZE
#define EDGE_PAIRS 3
#define RANDOM_PAIRS 0
#else
#define EDGE_PAIRS 8
#define RANDOM_PAIRS 3
#endif

struct fix {
    FHE_KEY_FIELDS;
    struct amaters_fhe_radix a, b, c;
    struct amaters_fhe_block bit;
    struct amaters_fhe_rng rng;
};

static int group_setup(void **state)
{
    static struct fix f;

    memset(&f, 0, sizeof(f));
    if (FHE_KEYS_OPEN(&f, 0x61, 2) != 0 ||
        amaters_fhe_radix_init(&f.a, f.p, 4) != 0 ||
        amaters_fhe_radix_init(&f.b, f.p, 4) != 0 ||
        amaters_fhe_radix_init(&f.c, f.p, 4) != 0 ||
        amaters_fhe_block_init(&f.bit, f.p) != 0 ||
        amaters_fhe_rng_init_seeded(&f.rng, f.server_seed, 77) != 0)
        return -1;
    *state = &f;
    return 0;
}

static int group_teardown(void **state)
{
    struct fix *f = *state;

    amaters_fhe_rng_destroy(&f->rng);
    amaters_fhe_block_destroy(&f->bit);
    amaters_fhe_radix_destroy(&f->a);
    amaters_fhe_radix_destroy(&f->b);
    amaters_fhe_radix_destroy(&f->c);
    return FHE_KEYS_CLOSE(f);
}

/* Edge pairs first, then seeded random ones. */
static void pair(struct fix *f, size_t i, uint64_t *x, uint64_t *y)
{
    static const uint64_t edges[][2] = {
        {0, 0}, {255, 255}, {255, 1}, {0, 255}, {128, 127}, {77, 77},
        {1, 0}, {170, 171},
    };

    if (i < EDGE_PAIRS && i < sizeof(edges) / sizeof(edges[0])) {
        *x = edges[i][0];
        *y = edges[i][1];
    } else {
        *x = amaters_fhe_rng_u64(&f->rng) & 255;
        *y = amaters_fhe_rng_u64(&f->rng) & 255;
    }
}

static size_t npairs(void)
{
    return EDGE_PAIRS + RANDOM_PAIRS;
}

static uint32_t dec_bit(struct fix *f)
{
    uint32_t v = 99;

    assert_int_equal(amaters_fhe_block_decrypt(f->ck, &f->bit, &v), 0);
    return v;
}

static void test_roundtrip(void **state)
{
    struct fix *f = *state;
    const uint64_t vals[] = {0, 1, 2, 3, 4, 100, 200, 255};

    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        uint64_t got = 999;

        assert_int_equal(amaters_fhe_radix_encrypt(f->ck, vals[i], &f->a), 0);
        assert_int_equal(amaters_fhe_radix_decrypt(f->ck, &f->a, &got), 0);
        assert_int_equal(got, vals[i]);
    }
    {
        struct amaters_fhe_radix bad;

        assert_int_equal(amaters_fhe_radix_init(&bad, f->p, 0),
                         AMATERS_EINVAL);
        assert_int_equal(amaters_fhe_radix_init(&bad, f->p, 65),
                         AMATERS_EINVAL);
        amaters_fhe_radix_destroy(&bad);   /* harmless after a failure */
    }
}

static void test_add(void **state)
{
    struct fix *f = *state;

    for (size_t i = 0; i < npairs(); i++) {
        uint64_t x, y, got = 999;

        pair(f, i, &x, &y);
        assert_int_equal(amaters_fhe_radix_encrypt(f->ck, x, &f->a), 0);
        assert_int_equal(amaters_fhe_radix_encrypt(f->ck, y, &f->b), 0);
        assert_int_equal(amaters_fhe_radix_add(f->ev, &f->a, &f->b, &f->c),
                         0);
        assert_int_equal(amaters_fhe_radix_decrypt(f->ck, &f->c, &got), 0);
        assert_int_equal(got, (x + y) & 255);
        /* carries are clean again: the result feeds another add */
        if (i == 1) {
            assert_int_equal(amaters_fhe_radix_add(f->ev, &f->c, &f->a,
                                                   &f->c), 0);
            assert_int_equal(amaters_fhe_radix_decrypt(f->ck, &f->c, &got),
                             0);
            assert_int_equal(got, (2 * x + y) & 255);
        }
    }
}

static void test_eq_lt(void **state)
{
    struct fix *f = *state;

    for (size_t i = 0; i < npairs(); i++) {
        uint64_t x, y;

        pair(f, i, &x, &y);
        assert_int_equal(amaters_fhe_radix_encrypt(f->ck, x, &f->a), 0);
        assert_int_equal(amaters_fhe_radix_encrypt(f->ck, y, &f->b), 0);
        assert_int_equal(amaters_fhe_radix_eq(f->ev, &f->a, &f->b, &f->bit),
                         0);
        assert_int_equal(dec_bit(f), x == y);
        assert_int_equal(amaters_fhe_radix_lt(f->ev, &f->a, &f->b, &f->bit),
                         0);
        assert_int_equal(dec_bit(f), x < y);
        assert_int_equal(amaters_fhe_radix_lt(f->ev, &f->b, &f->a, &f->bit),
                         0);
        assert_int_equal(dec_bit(f), y < x);
    }
}

static uint64_t dec_int(struct fix *f, const struct amaters_fhe_radix *r)
{
    uint64_t v = 999;

    assert_int_equal(amaters_fhe_radix_decrypt(f->ck, r, &v), 0);
    return v;
}

/* sub, scalar add, bitwise ops and not, for a few pairs. */
static void test_arith_bitwise(void **state)
{
    struct fix *f = *state;
    size_t n = EDGE_PAIRS > 4 ? 5 : 1;

    for (size_t i = 0; i < n; i++) {
        uint64_t x, y;

        pair(f, i, &x, &y);
        assert_int_equal(amaters_fhe_radix_encrypt(f->ck, x, &f->a), 0);
        assert_int_equal(amaters_fhe_radix_encrypt(f->ck, y, &f->b), 0);
        assert_int_equal(amaters_fhe_radix_sub(f->ev, &f->a, &f->b, &f->c),
                         0);
        assert_int_equal(dec_int(f, &f->c), (x - y) & 255);
        assert_int_equal(amaters_fhe_radix_add_scalar(f->ev, &f->a, y + 300,
                                                      &f->c), 0);
        assert_int_equal(dec_int(f, &f->c), (x + y + 300) & 255);
        assert_int_equal(amaters_fhe_radix_bitop(f->ev, AMATERS_FHE_AND,
                                                 &f->a, &f->b, &f->c), 0);
        assert_int_equal(dec_int(f, &f->c), x & y);
        assert_int_equal(amaters_fhe_radix_bitop(f->ev, AMATERS_FHE_OR,
                                                 &f->a, &f->b, &f->c), 0);
        assert_int_equal(dec_int(f, &f->c), x | y);
        assert_int_equal(amaters_fhe_radix_bitop(f->ev, AMATERS_FHE_XOR,
                                                 &f->a, &f->b, &f->c), 0);
        assert_int_equal(dec_int(f, &f->c), x ^ y);
        assert_int_equal(amaters_fhe_radix_bitnot(&f->a, &f->c), 0);
        assert_int_equal(dec_int(f, &f->c), ~x & 255);
        /* out aliasing the second operand */
        assert_int_equal(amaters_fhe_radix_sub(f->ev, &f->a, &f->b, &f->b),
                         0);
        assert_int_equal(dec_int(f, &f->b), (x - y) & 255);
    }
}

/* Every comparison operator, boolean combination, select, min, max. */
static void test_cmp_select(void **state)
{
    struct fix *f = *state;
    static const enum amaters_fhe_cmp ops[] = {
        AMATERS_FHE_NE, AMATERS_FHE_LE, AMATERS_FHE_GT, AMATERS_FHE_GE,
    };
    size_t n = EDGE_PAIRS > 4 ? 4 : 1;
    struct amaters_fhe_block b2;

    assert_int_equal(amaters_fhe_block_init(&b2, f->p), 0);
    for (size_t i = 0; i < n; i++) {
        uint64_t x, y;
        uint32_t want[4];

        pair(f, i + 3, &x, &y);
        want[0] = x != y;
        want[1] = x <= y;
        want[2] = x > y;
        want[3] = x >= y;
        assert_int_equal(amaters_fhe_radix_encrypt(f->ck, x, &f->a), 0);
        assert_int_equal(amaters_fhe_radix_encrypt(f->ck, y, &f->b), 0);
        for (size_t o = 0; o < 4; o++) {
            assert_int_equal(amaters_fhe_radix_cmp(f->ev, ops[o], &f->a,
                                                   &f->b, &f->bit), 0);
            assert_int_equal(dec_bit(f), want[o]);
        }
        /* bit = (x > y); b2 = (x <= y): and = 0, or = 1 */
        assert_int_equal(amaters_fhe_radix_cmp(f->ev, AMATERS_FHE_GT, &f->a,
                                               &f->b, &f->bit), 0);
        amaters_fhe_block_copy(&b2, &f->bit);
        amaters_fhe_bool_not(&b2);
        assert_int_equal(amaters_fhe_bool_or(f->ev, &f->bit, &b2,
                                             &f->c.blocks[0]), 0);
        {
            uint32_t v = 9;

            assert_int_equal(amaters_fhe_block_decrypt(f->ck,
                                                       &f->c.blocks[0], &v),
                             0);
            assert_int_equal(v, 1);
            assert_int_equal(amaters_fhe_bool_and(f->ev, &f->bit, &b2,
                                                  &f->c.blocks[0]), 0);
            assert_int_equal(amaters_fhe_block_decrypt(f->ck,
                                                       &f->c.blocks[0], &v),
                             0);
            assert_int_equal(v, 0);
        }
        /* select on the encrypted x > y, then min / max */
        assert_int_equal(amaters_fhe_radix_select(f->ev, &f->bit, &f->a,
                                                  &f->b, &f->c), 0);
        assert_int_equal(dec_int(f, &f->c), x > y ? x : y);
        assert_int_equal(amaters_fhe_radix_min(f->ev, &f->a, &f->b, &f->c),
                         0);
        assert_int_equal(dec_int(f, &f->c), x < y ? x : y);
        /* a select output (noise level 2) feeds an add */
        assert_int_equal(amaters_fhe_radix_max(f->ev, &f->a, &f->b, &f->c),
                         0);
        assert_int_equal(dec_int(f, &f->c), x > y ? x : y);
        assert_int_equal(amaters_fhe_radix_add(f->ev, &f->c, &f->c, &f->c),
                         0);
        assert_int_equal(dec_int(f, &f->c), (2 * (x > y ? x : y)) & 255);
    }
    amaters_fhe_block_destroy(&b2);
}

static void test_shape_mismatch(void **state)
{
    struct fix *f = *state;
    struct amaters_fhe_radix small;

    assert_int_equal(amaters_fhe_radix_init(&small, f->p, 2), 0);
    assert_int_equal(amaters_fhe_radix_add(f->ev, &f->a, &small, &f->c),
                     AMATERS_EINVAL);
    assert_int_equal(amaters_fhe_radix_eq(f->ev, &f->a, &small, &f->bit),
                     AMATERS_EINVAL);
    assert_int_equal(amaters_fhe_radix_lt(f->ev, &small, &f->a, &f->bit),
                     AMATERS_EINVAL);
    amaters_fhe_radix_destroy(&small);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_add),
        cmocka_unit_test(test_eq_lt),
        cmocka_unit_test(test_arith_bitwise),
        cmocka_unit_test(test_cmp_select),
        cmocka_unit_test(test_shape_mismatch),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
