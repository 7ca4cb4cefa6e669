/*
 * test_fhe_block.c - shortint blocks with the real parameter set:
 * encryption of every message and raw value, degree / noise-level
 * bookkeeping of additions, scalar operations and negation, and
 * exhaustive univariate and bivariate LUT evaluation.
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
#include "fhe/block.h"
#include "fhe/keys.h"

#ifdef AMATERS_SANITIZE
#define SLOW 0
#else
#define SLOW 1
#endif

struct fix {
    FHE_KEY_FIELDS;
    struct amaters_fhe_block a, b, c;
};

static int group_setup(void **state)
{
    static struct fix f;

    memset(&f, 0, sizeof(f));
    if (FHE_KEYS_OPEN(&f, 0x51, 1) != 0)
        return -1;
    if (amaters_fhe_block_init(&f.a, f.p) != 0 ||
        amaters_fhe_block_init(&f.b, f.p) != 0 ||
        amaters_fhe_block_init(&f.c, f.p) != 0)
        return -1;
    *state = &f;
    return 0;
}

static int group_teardown(void **state)
{
    struct fix *f = *state;

    amaters_fhe_block_destroy(&f->a);
    amaters_fhe_block_destroy(&f->b);
    amaters_fhe_block_destroy(&f->c);
    return FHE_KEYS_CLOSE(f);
}

static uint32_t dec(struct fix *f, const struct amaters_fhe_block *b)
{
    uint32_t v = 99;

    assert_int_equal(amaters_fhe_block_decrypt(f->ck, b, &v), 0);
    return v;
}

static void test_encrypt_decrypt(void **state)
{
    struct fix *f = *state;

    for (uint32_t m = 0; m < 4; m++) {
        assert_int_equal(amaters_fhe_block_encrypt(f->ck, m, &f->a), 0);
        assert_int_equal(f->a.degree, 3);
        assert_int_equal(f->a.noise_level, 1);
        assert_int_equal(dec(f, &f->a), m);
    }
    for (uint32_t v = 0; v < 16; v++) {
        assert_int_equal(amaters_fhe_block_encrypt_raw(f->ck, v, &f->a), 0);
        assert_int_equal(dec(f, &f->a), v);
        amaters_fhe_block_set_trivial(&f->b, v);
        assert_int_equal(f->b.degree, v);
        assert_int_equal(dec(f, &f->b), v);
    }
    assert_int_equal(amaters_fhe_block_encrypt(f->ck, 4, &f->a),
                     AMATERS_EINVAL);
    assert_int_equal(amaters_fhe_block_encrypt_raw(f->ck, 16, &f->a),
                     AMATERS_EINVAL);
    /* a value in the padding half (16 * Delta) is reported, not wrapped */
    amaters_fhe_block_set_trivial(&f->a, 0);
    f->a.ct[amaters_fhe_params_big_dim(f->p)] = UINT64_C(1) << 63;
    {
        uint32_t v;

        assert_int_equal(amaters_fhe_block_decrypt(f->ck, &f->a, &v),
                         AMATERS_ECORRUPT);
    }
}

/* Seeded blocks expand to working ciphertexts; the same seed and body
 * always expand to the same mask; distinct encryptions get distinct
 * seeds. */
static void test_seeded(void **state)
{
    struct fix *f = *state;
    struct amaters_fhe_block_seeded s1, s2;

    for (uint32_t m = 0; m < 4; m++) {
        assert_int_equal(amaters_fhe_block_encrypt_seeded(f->ck, m, &s1), 0);
        assert_int_equal(s1.degree, 3);
        assert_int_equal(amaters_fhe_block_expand(&s1, &f->a), 0);
        assert_int_equal(dec(f, &f->a), m);
        assert_int_equal(amaters_fhe_block_expand(&s1, &f->b), 0);
        assert_memory_equal(f->a.ct, f->b.ct,
                            (amaters_fhe_params_big_dim(f->p) + 1) * 8);
        assert_int_equal(amaters_fhe_block_encrypt_seeded(f->ck, m, &s2), 0);
        assert_memory_not_equal(s1.seed, s2.seed, sizeof(s1.seed));
    }
    /* an expanded block bootstraps like any other */
    assert_int_equal(amaters_fhe_block_add_assign(&f->a, &f->b), 0);
    assert_int_equal(amaters_fhe_block_clean(f->ev, &f->a, &f->c), 0);
    assert_int_equal(dec(f, &f->c), (3 + 3) % 4);
    assert_int_equal(amaters_fhe_block_encrypt_seeded(f->ck, 4, &s1),
                     AMATERS_EINVAL);
}

/* Five fresh blocks add up without PBS (degree 15, noise level 5); the
 * sixth is refused; clean and carry split the sum. */
static void test_add_bookkeeping(void **state)
{
    struct fix *f = *state;
    const uint32_t ms[] = {3, 2, 3, 1, 3, 2};
    uint32_t sum = ms[0];

    assert_int_equal(amaters_fhe_block_encrypt(f->ck, ms[0], &f->a), 0);
    for (int i = 1; i < 5; i++) {
        assert_int_equal(amaters_fhe_block_encrypt(f->ck, ms[i], &f->b), 0);
        assert_true(amaters_fhe_block_can_add(&f->a, &f->b));
        assert_int_equal(amaters_fhe_block_add_assign(&f->a, &f->b), 0);
        sum += ms[i];
        assert_int_equal(f->a.degree, 3u * (uint32_t)(i + 1));
        assert_int_equal(f->a.noise_level, (uint32_t)(i + 1));
        assert_int_equal(dec(f, &f->a), sum);
    }
    assert_int_equal(amaters_fhe_block_encrypt(f->ck, ms[5], &f->b), 0);
    assert_false(amaters_fhe_block_can_add(&f->a, &f->b));
    assert_int_equal(amaters_fhe_block_add_assign(&f->a, &f->b),
                     AMATERS_EINVAL);
    assert_int_equal(dec(f, &f->a), sum);       /* unchanged */
    assert_int_equal(amaters_fhe_block_carry(f->ev, &f->a, &f->c), 0);
    assert_int_equal(dec(f, &f->c), sum / 4);
    assert_int_equal(f->c.degree, 3);
    assert_int_equal(amaters_fhe_block_clean(f->ev, &f->a, &f->a), 0);
    assert_int_equal(dec(f, &f->a), sum % 4);
    assert_int_equal(f->a.degree, 3);
    assert_int_equal(f->a.noise_level, 1);
}

/* Scalar add / mul and negation for every message, with their limits. */
static void test_scalar_and_neg(void **state)
{
    struct fix *f = *state;

    for (uint32_t m = 0; m < 4; m++) {
        for (uint32_t c = 0; c < 5; c++) {
            assert_int_equal(amaters_fhe_block_encrypt(f->ck, m, &f->a), 0);
            assert_int_equal(amaters_fhe_block_mul_scalar(&f->a, c), 0);
            assert_int_equal(f->a.degree, 3 * c);
            assert_int_equal(dec(f, &f->a), m * c);
            if (3 * c + 3 < 16) {
                assert_int_equal(amaters_fhe_block_add_scalar(&f->a, 3), 0);
                assert_int_equal(dec(f, &f->a), m * c + 3);
            } else {
                assert_int_equal(amaters_fhe_block_add_scalar(&f->a, 3),
                                 AMATERS_EINVAL);
            }
        }
        assert_int_equal(amaters_fhe_block_encrypt(f->ck, m, &f->a), 0);
        assert_int_equal(amaters_fhe_block_mul_scalar(&f->a, 6),
                         AMATERS_EINVAL);     /* noise level 6 > 5 */
        /* neg: value z - m with z = 4, i.e. -m mod 4 */
        assert_int_equal(amaters_fhe_block_neg(&f->a), 0);
        assert_int_equal(f->a.degree, 4);
        assert_int_equal(dec(f, &f->a) % 4, (4 - m) % 4);
        assert_int_equal(dec(f, &f->a), 4 - m);
    }
}

/* a - b = a + neg(b), cleaned, for every pair of messages. */
static void test_sub_exhaustive(void **state)
{
    struct fix *f = *state;

    for (uint32_t x = 0; x < 4; x++) {
        for (uint32_t y = 0; y < 4; y++) {
            if (!SLOW && (x + y) % 3 != 0)
                continue;
            assert_int_equal(amaters_fhe_block_encrypt(f->ck, x, &f->a), 0);
            assert_int_equal(amaters_fhe_block_encrypt(f->ck, y, &f->b), 0);
            assert_int_equal(amaters_fhe_block_neg(&f->b), 0);
            assert_int_equal(amaters_fhe_block_add_assign(&f->a, &f->b), 0);
            assert_int_equal(amaters_fhe_block_clean(f->ev, &f->a, &f->c), 0);
            assert_int_equal(dec(f, &f->c), (x + 4 - y) % 4);
        }
    }
}

static uint32_t f_square(uint32_t x, void *arg) { (void)arg; return x * x; }
static uint32_t f_rev(uint32_t x, void *arg) { (void)arg; return 15 - x; }
static uint32_t f_parity(uint32_t x, void *arg)
{
    (void)arg;
    return __builtin_popcount(x) & 1;
}

/* Every LUT on every one of the 16 raw inputs; output degree = max of
 * the table over the input's degree. */
static void test_univariate_exhaustive(void **state)
{
    struct fix *f = *state;
    amaters_fhe_fn1_cb fns[] = {f_square, f_rev, f_parity};
    size_t nfn = SLOW ? 3 : 1;

    for (size_t i = 0; i < nfn; i++) {
        struct amaters_fhe_lut *lut = NULL;

        assert_int_equal(amaters_fhe_lut_new(f->p, fns[i], NULL, &lut), 0);
        for (uint32_t v = 0; v < 16; v += SLOW ? 1 : 5) {
            assert_int_equal(amaters_fhe_block_encrypt_raw(f->ck, v, &f->a),
                             0);
            amaters_fhe_block_apply_lut(f->ev, lut, &f->a, &f->c);
            assert_int_equal(dec(f, &f->c), fns[i](v, NULL) % 16);
            assert_int_equal(f->c.noise_level, 1);
        }
        amaters_fhe_lut_free(lut);
    }
    /* degree follows the table restricted to the possible inputs */
    {
        struct amaters_fhe_lut *lut = NULL;

        assert_int_equal(amaters_fhe_lut_new(f->p, f_square, NULL, &lut), 0);
        assert_int_equal(amaters_fhe_block_encrypt(f->ck, 2, &f->a), 0);
        amaters_fhe_block_apply_lut(f->ev, lut, &f->a, &f->c);
        assert_int_equal(f->c.degree, 9);       /* max of 0,1,4,9 */
        assert_int_equal(dec(f, &f->c), 4);
        amaters_fhe_lut_free(lut);
    }
}

static uint32_t g_add(uint32_t x, uint32_t y, void *a)
{
    (void)a;
    return x + y;
}

static uint32_t g_mul(uint32_t x, uint32_t y, void *a)
{
    (void)a;
    return x * y;
}

static uint32_t g_lt(uint32_t x, uint32_t y, void *a)
{
    (void)a;
    return x < y;
}

static uint32_t g_eq(uint32_t x, uint32_t y, void *a)
{
    (void)a;
    return x == y;
}

static uint32_t g_max(uint32_t x, uint32_t y, void *a)
{
    (void)a;
    return x > y ? x : y;
}
static uint32_t g_sub(uint32_t x, uint32_t y, void *a)
{
    (void)a;
    return (x + 4 - y) % 4;
}

/* Every bivariate function on all 16 message pairs; operands with dirty
 * carries are cleaned first. */
static void test_bivariate_exhaustive(void **state)
{
    struct fix *f = *state;
    amaters_fhe_fn2_cb fns[] = {g_add, g_mul, g_lt, g_eq, g_max, g_sub};
    size_t nfn = SLOW ? 6 : 2;

    for (size_t i = 0; i < nfn; i++) {
        struct amaters_fhe_lut *lut = NULL;

        assert_int_equal(amaters_fhe_lut2_new(f->p, fns[i], NULL, &lut), 0);
        for (uint32_t x = 0; x < 4; x++) {
            for (uint32_t y = 0; y < 4; y++) {
                if (!SLOW && x != y && x + y != 3)
                    continue;
                assert_int_equal(amaters_fhe_block_encrypt(f->ck, x, &f->a),
                                 0);
                assert_int_equal(amaters_fhe_block_encrypt(f->ck, y, &f->b),
                                 0);
                assert_int_equal(amaters_fhe_block_apply_lut2(
                                     f->ev, lut, &f->a, &f->b, &f->c), 0);
                assert_int_equal(dec(f, &f->c), fns[i](x, y, NULL) % 16);
            }
        }
        amaters_fhe_lut_free(lut);
    }
    /* dirty operand: a = 3 + 2 (degree 6) is cleaned to 1 before a < b */
    {
        struct amaters_fhe_lut *lut = NULL;

        assert_int_equal(amaters_fhe_lut2_new(f->p, g_lt, NULL, &lut), 0);
        assert_int_equal(amaters_fhe_block_encrypt(f->ck, 3, &f->a), 0);
        assert_int_equal(amaters_fhe_block_encrypt(f->ck, 2, &f->b), 0);
        assert_int_equal(amaters_fhe_block_add_assign(&f->a, &f->b), 0);
        assert_int_equal(amaters_fhe_block_apply_lut2(f->ev, lut, &f->a,
                                                      &f->b, &f->c), 0);
        assert_int_equal(dec(f, &f->c), 1);     /* 1 < 2 */
        assert_int_equal(dec(f, &f->a), 5);     /* operand untouched */
        amaters_fhe_lut_free(lut);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encrypt_decrypt),
        cmocka_unit_test(test_seeded),
        cmocka_unit_test(test_add_bookkeeping),
        cmocka_unit_test(test_scalar_and_neg),
        cmocka_unit_test(test_sub_exhaustive),
        cmocka_unit_test(test_univariate_exhaustive),
        cmocka_unit_test(test_bivariate_exhaustive),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
