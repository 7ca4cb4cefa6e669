/*
 * test_fhe_fft.c - negacyclic FFT: exactness on small integers, error
 * bound on 64-bit torus products against the O(N^2) reference, the exact
 * 22-bit-limb product, agreement between the ISA kernels, and timing.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "fhe/fft.h"
#include "fhe/poly.h"
#include "fhe/rng.h"
#include "leakcheck.h"

static const char *const impls[] = {"portable", "avx2", "avx512"};

static void seed_rng(struct amaters_fhe_rng *r, uint8_t tag)
{
    uint8_t seed[AMATERS_FHE_SEED_BYTES];

    memset(seed, tag, sizeof(seed));
    assert_int_equal(amaters_fhe_rng_init_seeded(r, seed, 99), 0);
}

/* Product of two small integer polynomials must be exact. */
static void test_small_exact(void **state)
{
    const size_t sizes[] = {16, 256, 2048};
    struct amaters_fhe_rng r;

    (void)state;
    seed_rng(&r, 1);
    for (size_t ii = 0; ii < 3; ii++) {
        for (size_t si = 0; si < 3; si++) {
            size_t n = sizes[si];
            struct amaters_fhe_fft *f = NULL;
            int64_t *a = amaters_malloc(n * 8), *b = amaters_malloc(n * 8);
            uint64_t *ref = amaters_malloc(n * 8), *got = amaters_calloc(n, 8);
            double *fa = amaters_malloc(n * 8), *fb = amaters_malloc(n * 8);
            double *acc = amaters_calloc(n, 8);
            int rc = amaters_fhe_fft_new_impl(n, impls[ii], &f);

            if (rc == AMATERS_EUNSUPPORTED) {
                print_message("kernel %s unsupported here\n", impls[ii]);
            } else {
                assert_int_equal(rc, 0);
                assert_string_equal(amaters_fhe_fft_impl_name(f), impls[ii]);
                for (size_t j = 0; j < n; j++) {
                    a[j] = (int64_t)(amaters_fhe_rng_u64(&r) % 2001) - 1000;
                    b[j] = (int64_t)(amaters_fhe_rng_u64(&r) % 2001) - 1000;
                }
                amaters_fhe_poly_mul_naive(ref, (const uint64_t *)a,
                                           (const uint64_t *)b, n);
                amaters_fhe_fft_forward_i64(f, fa, a);
                amaters_fhe_fft_forward_i64(f, fb, b);
                amaters_fhe_fft_mac(f, acc, fa, fb);
                amaters_fhe_fft_backward_add_torus(f, got, acc);
                assert_memory_equal(ref, got, n * 8);
            }
            amaters_fhe_fft_free(f);
            amaters_free(a);
            amaters_free(b);
            amaters_free(ref);
            amaters_free(got);
            amaters_free(fa);
            amaters_free(fb);
            amaters_free(acc);
        }
    }
    amaters_fhe_rng_destroy(&r);
}

/*
 * Torus (full 64-bit) times decomposition digits |d| <= 2^22, N = 2048,
 * two products summed as in one external product with k = 1, l = 1.
 * The error must stay far below the key noise it is added to:
 * sqrt(2 N / 3) * 2^22 * 2^64 sigma_glwe = 2^43.4 (docs/internals/fhe.md).
 */
static void test_torus_error(void **state)
{
    const size_t n = 2048;
    struct amaters_fhe_rng r;

    (void)state;
    seed_rng(&r, 2);
    for (size_t ii = 0; ii < 3; ii++) {
        struct amaters_fhe_fft *f = NULL;
        uint64_t *t0 = amaters_malloc(n * 8), *t1 = amaters_malloc(n * 8);
        int64_t *d0 = amaters_malloc(n * 8), *d1 = amaters_malloc(n * 8);
        uint64_t *ref = amaters_malloc(n * 8), *tmp = amaters_malloc(n * 8);
        uint64_t *got = amaters_calloc(n, 8);
        double *fa = amaters_malloc(n * 8), *fb = amaters_malloc(n * 8);
        double *acc = amaters_calloc(n, 8);
        double maxe = 0, sse = 0;
        int rc = amaters_fhe_fft_new_impl(n, impls[ii], &f);

        if (rc == 0) {
            amaters_fhe_rng_fill_u64(&r, t0, n);
            amaters_fhe_rng_fill_u64(&r, t1, n);
            for (size_t j = 0; j < n; j++) {
                d0[j] = (int64_t)(amaters_fhe_rng_u64(&r) >> 41) - (1 << 22);
                d1[j] = (int64_t)(amaters_fhe_rng_u64(&r) >> 41) - (1 << 22);
            }
            amaters_fhe_poly_mul_naive(ref, t0, (const uint64_t *)d0, n);
            amaters_fhe_poly_mul_naive(tmp, t1, (const uint64_t *)d1, n);
            amaters_fhe_poly_add(ref, ref, tmp, n);
            amaters_fhe_fft_forward_torus(f, fa, t0);
            amaters_fhe_fft_forward_i64(f, fb, d0);
            amaters_fhe_fft_mac(f, acc, fa, fb);
            amaters_fhe_fft_forward_torus(f, fa, t1);
            amaters_fhe_fft_forward_i64(f, fb, d1);
            amaters_fhe_fft_mac(f, acc, fa, fb);
            amaters_fhe_fft_backward_add_torus(f, got, acc);
            for (size_t j = 0; j < n; j++) {
                double e = fabs((double)(int64_t)(got[j] - ref[j]));

                sse += e * e;
                if (e > maxe)
                    maxe = e;
            }
            print_message("%s: torus x 2^22 digits, N=2048: rms error "
                          "2^%.2f, max 2^%.2f\n", impls[ii],
                          log2(sqrt(sse / (double)n)), log2(maxe));
            /* the FFT noise model (docs/internals/fhe.md): kappa = 2.8
             * times log2(N) * 2 * N * (2^46 / 12) * (2^128 / 12) * 2^-106 */
            assert_true(sse / (double)n <
                        2.0 * 2.8 * 11.0 * 2.0 * 2048.0 * 0x1p46 / 144.0 *
                            0x1p22);
            assert_true(maxe < 0x1p43);
        } else {
            assert_int_equal(rc, AMATERS_EUNSUPPORTED);
        }
        amaters_fhe_fft_free(f);
        amaters_free(t0);
        amaters_free(t1);
        amaters_free(d0);
        amaters_free(d1);
        amaters_free(ref);
        amaters_free(tmp);
        amaters_free(got);
        amaters_free(fa);
        amaters_free(fb);
        amaters_free(acc);
    }
    amaters_fhe_rng_destroy(&r);
}

/* The 22-bit-limb product of a torus polynomial by a ternary one is
 * bit-exact against the reference. */
static void test_limb_exact(void **state)
{
    const size_t sizes[] = {512, 2048};
    struct amaters_fhe_rng r;

    (void)state;
    seed_rng(&r, 3);
    for (size_t si = 0; si < 2; si++) {
        size_t n = sizes[si];
        struct amaters_fhe_fft *f = NULL;
        uint64_t *a = amaters_malloc(n * 8), *ref = amaters_malloc(n * 8);
        uint64_t *got = amaters_malloc(n * 8);
        int64_t *s = amaters_malloc(n * 8);
        double *fs = amaters_malloc(n * 8);

        assert_int_equal(amaters_fhe_fft_new(n, &f), 0);
        for (int rep = 0; rep < 3; rep++) {
            amaters_fhe_rng_fill_u64(&r, a, n);
            /* extremes too: all-ones masks and 2^63 */
            a[0] = UINT64_MAX;
            a[1] = UINT64_C(1) << 63;
            a[2] = (UINT64_C(1) << 63) - 1;
            for (size_t j = 0; j < n; j++)
                s[j] = rep == 2 ? 1
                                : (int64_t)(amaters_fhe_rng_u64(&r) % 3) - 1;
            amaters_fhe_poly_mul_naive(ref, a, (const uint64_t *)s, n);
            amaters_fhe_fft_forward_i64(f, fs, s);
            assert_int_equal(amaters_fhe_fft_mul_small_exact(f, got, a, fs), 0);
            assert_memory_equal(ref, got, n * 8);
        }
        amaters_fhe_fft_free(f);
        amaters_free(a);
        amaters_free(ref);
        amaters_free(got);
        amaters_free(s);
        amaters_free(fs);
    }
    amaters_fhe_rng_destroy(&r);
}

static void test_bad_sizes(void **state)
{
    struct amaters_fhe_fft *f = (void *)1;

    (void)state;
    assert_int_equal(amaters_fhe_fft_new(0, &f), AMATERS_EINVAL);
    assert_null(f);
    assert_int_equal(amaters_fhe_fft_new(1000, &f), AMATERS_EINVAL);
    assert_int_equal(amaters_fhe_fft_new(8, &f), AMATERS_EINVAL);
    assert_int_equal(amaters_fhe_fft_new_impl(1024, "sse9", &f),
                     AMATERS_EUNSUPPORTED);
    amaters_fhe_fft_free(NULL);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);   /* CPU, not wall */
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Reports forward + inverse time per polynomial for every kernel. */
static void test_timing(void **state)
{
    const size_t n = 2048;
#ifdef AMATERS_SANITIZE
    const int reps = 20;
#else
    const int reps = 2000;
#endif
    uint64_t *t = amaters_calloc(n, 8);
    double *buf = amaters_malloc(n * 8);

    (void)state;
    for (size_t ii = 0; ii < 3; ii++) {
        struct amaters_fhe_fft *f = NULL;
        double t0;

        if (amaters_fhe_fft_new_impl(n, impls[ii], &f) != 0)
            continue;
        t0 = now_s();
        for (int i = 0; i < reps; i++) {
            t[i % n] += 12345;
            amaters_fhe_fft_forward_torus(f, buf, t);
            amaters_fhe_fft_backward_add_torus(f, t, buf);
        }
        print_message("%s: forward+inverse N=2048: %.2f us\n", impls[ii],
                      (now_s() - t0) / reps * 1e6);
        amaters_fhe_fft_free(f);
    }
    amaters_free(t);
    amaters_free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        LEAK_TEST(test_small_exact),
        LEAK_TEST(test_torus_error),
        LEAK_TEST(test_limb_exact),
        LEAK_TEST(test_bad_sizes),
        LEAK_TEST(test_timing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
