/*
 * test_hist.c - unit tests of the benchmark latency histogram (hist.h):
 * quantiles of known distributions must be within the documented 0.8 %
 * of the exact order statistic, computed here from a sorted copy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/alloc.h"
#include "hist.h"

#define N_VALUES 20000

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The exact value of rank ceil(q * n) in sorted v (1-based). */
static uint64_t exact_quantile(const uint64_t *v, size_t n, double q)
{
    size_t rank = (size_t)(q * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    return v[rank - 1];
}

static uint32_t rng_state = 2463534242u;

static uint32_t xorshift(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* Value generators: uniform small, uniform wide, heavy-tailed. */
static uint64_t gen_small(size_t i)
{
    (void)i;
    return xorshift() % 200;
}

static uint64_t gen_wide(size_t i)
{
    (void)i;
    return 1000 + xorshift() % 50000000;
}

static uint64_t gen_tail(size_t i)
{
    uint64_t base = 20000 + xorshift() % 5000;
    return i % 100 == 0 ? base * 100 : base;
}

struct dist_case {
    const char *name;
    uint64_t (*gen)(size_t i);
};

static const struct dist_case cases[] = {
    {"small exact", gen_small},
    {"uniform wide", gen_wide},
    {"heavy tail", gen_tail},
};

static void check_case(const struct dist_case *c)
{
    static const double qs[] = {0.01, 0.5, 0.9, 0.99, 0.999, 1.0};
    struct bench_hist *h = amaters_malloc(sizeof *h);
    uint64_t *v = amaters_malloc(N_VALUES * sizeof *v);
    assert_non_null(h);
    assert_non_null(v);
    bench_hist_init(h);
    for (size_t i = 0; i < N_VALUES; i++) {
        v[i] = c->gen(i);
        bench_hist_record(h, v[i]);
    }
    qsort(v, N_VALUES, sizeof *v, cmp_u64);
    assert_int_equal(h->total, N_VALUES);
    assert_int_equal(h->min, v[0]);
    assert_int_equal(h->max, v[N_VALUES - 1]);
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        double want = (double)exact_quantile(v, N_VALUES, qs[i]);
        double got = (double)bench_hist_quantile(h, qs[i]);
        double err = want > 0 ? (got - want) / want : got;
        if (err < 0)
            err = -err;
        if (err > 0.008)
            fail_msg("%s q=%.3f: got %.0f want %.0f", c->name, qs[i], got,
                     want);
    }
    amaters_free(v);
    amaters_free(h);
}

static void test_quantiles(void **state)
{
    (void)state;
    long live = amaters_alloc_live();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(&cases[i]);
    assert_int_equal(amaters_alloc_live(), live);
}

static void test_empty_and_merge(void **state)
{
    (void)state;
    struct bench_hist *a = amaters_malloc(sizeof *a);
    struct bench_hist *b = amaters_malloc(sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    bench_hist_init(a);
    bench_hist_init(b);
    assert_int_equal(bench_hist_quantile(a, 0.5), 0);
    assert_true(bench_hist_mean(a) == 0.0);
    /* a holds 1..100, b holds 1001..1100: the median of the merge is the
     * 100th smallest value, 100; the maximum 1100. */
    for (uint64_t i = 1; i <= 100; i++) {
        bench_hist_record(a, i);
        bench_hist_record(b, 1000 + i);
    }
    bench_hist_merge(a, b);
    assert_int_equal(a->total, 200);
    assert_int_equal(bench_hist_quantile(a, 0.5), 100);
    assert_int_equal(a->max, 1100);
    assert_int_equal(a->min, 1);
    assert_true(bench_hist_mean(a) > 550.4 && bench_hist_mean(a) < 550.6);
    amaters_free(b);
    amaters_free(a);
}

static void test_huge_values(void **state)
{
    (void)state;
    struct bench_hist *h = amaters_malloc(sizeof *h);
    assert_non_null(h);
    bench_hist_init(h);
    bench_hist_record(h, UINT64_MAX);
    bench_hist_record(h, (uint64_t)1 << 40);
    assert_int_equal(bench_hist_quantile(h, 1.0), UINT64_MAX);
    uint64_t lo = bench_hist_quantile(h, 0.5);
    assert_true(lo >= (uint64_t)1 << 40);
    assert_true(lo <= ((uint64_t)1 << 40) + ((uint64_t)1 << 33));
    amaters_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantiles),
        cmocka_unit_test(test_empty_and_merge),
        cmocka_unit_test(test_huge_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
