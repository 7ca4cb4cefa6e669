/*
 * test_fhe_mul.c - u8 radix multiplication: encrypted x encrypted and by
 * public factors, edge values (255 * 255, 16 * 16 = 256, 0), an aliased
 * square feeding an add. Separate from test_fhe_radix.c to keep each test
 * binary well under a minute on two cores.
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

#ifdef AMATERS_SANITIZE
#define PAIRS 1
#else
#define PAIRS 5
#endif

struct fix {
    FHE_KEY_FIELDS;
    struct amaters_fhe_radix a, b, c;
};

static int group_setup(void **state)
{
    static struct fix f;

    memset(&f, 0, sizeof(f));
    if (FHE_KEYS_OPEN(&f, 0x81, 1) != 0 ||
        amaters_fhe_radix_init(&f.a, f.p, 4) != 0 ||
        amaters_fhe_radix_init(&f.b, f.p, 4) != 0 ||
        amaters_fhe_radix_init(&f.c, f.p, 4) != 0)
        return -1;
    *state = &f;
    return 0;
}

static int group_teardown(void **state)
{
    struct fix *f = *state;

    amaters_fhe_radix_destroy(&f->a);
    amaters_fhe_radix_destroy(&f->b);
    amaters_fhe_radix_destroy(&f->c);
    return FHE_KEYS_CLOSE(f);
}

static uint64_t dec_int(struct fix *f, const struct amaters_fhe_radix *r)
{
    uint64_t v = 999;

    assert_int_equal(amaters_fhe_radix_decrypt(f->ck, r, &v), 0);
    return v;
}

/* Encrypted and scalar multiplication modulo 256. */
static void test_mul(void **state)
{
    struct fix *f = *state;
    static const uint64_t xs[][2] = {
        {255, 255}, {16, 16}, {15, 17}, {3, 0}, {123, 45},
    };
    static const uint64_t cs[] = {0, 1, 3, 200, 257};
    size_t n = PAIRS;

    for (size_t i = 0; i < n; i++) {
        uint64_t x = xs[i][0], y = xs[i][1];

        assert_int_equal(amaters_fhe_radix_encrypt(f->ck, x, &f->a), 0);
        assert_int_equal(amaters_fhe_radix_encrypt(f->ck, y, &f->b), 0);
        assert_int_equal(amaters_fhe_radix_mul(f->ev, &f->a, &f->b, &f->c),
                         0);
        assert_int_equal(dec_int(f, &f->c), (x * y) & 255);
        assert_int_equal(amaters_fhe_radix_mul_scalar(f->ev, &f->a, cs[i],
                                                      &f->c), 0);
        assert_int_equal(dec_int(f, &f->c), (x * cs[i]) & 255);
    }
    /* the product aliases an operand and feeds an add */
    assert_int_equal(amaters_fhe_radix_encrypt(f->ck, 7, &f->a), 0);
    assert_int_equal(amaters_fhe_radix_mul(f->ev, &f->a, &f->a, &f->a), 0);
    assert_int_equal(amaters_fhe_radix_add_scalar(f->ev, &f->a, 1, &f->a),
                     0);
    assert_int_equal(dec_int(f, &f->a), 50);
}


static void test_shape(void **state)
{
    struct fix *f = *state;
    struct amaters_fhe_radix small;

    assert_int_equal(amaters_fhe_radix_init(&small, f->p, 2), 0);
    assert_int_equal(amaters_fhe_radix_mul(f->ev, &f->a, &small, &f->c),
                     AMATERS_EINVAL);
    assert_int_equal(amaters_fhe_radix_mul_scalar(f->ev, &small, 3, &f->c),
                     AMATERS_EINVAL);
    amaters_fhe_radix_destroy(&small);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mul),
        cmocka_unit_test(test_shape),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
