/*
 * test_ratelimit.c - unit tests for src/security/ratelimit.h with
 * injected time: burst then refusal with retry-after, refill, per-key
 * isolation, the global bucket, unlimited settings, idle expiry, the cap
 * on keys, and exact admission counts under concurrent callers.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "leakcheck.h"
#include "security/ratelimit.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define T0 (1000 * SEC) /* an arbitrary monotonic start */

static struct amaters_ratelimit *make(uint32_t rps, uint32_t burst,
                                      uint32_t grps, uint32_t gburst,
                                      uint64_t idle, size_t max_keys)
{
    struct amaters_ratelimit_options o = {rps, burst, grps, gburst, idle,
                                          max_keys};
    struct amaters_ratelimit *rl = NULL;

    assert_int_equal(amaters_ratelimit_new(&rl, &o), 0);
    return rl;
}

/* One step of a scripted scenario. */
struct step {
    const char *key;
    uint64_t at; /* ns after T0 */
    int rv;
    uint32_t retry; /* checked when rv != 0 */
};

static void run(struct amaters_ratelimit *rl, const struct step *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t retry = 0;
        int rv = amaters_ratelimit_take(rl, s[i].key, T0 + s[i].at, &retry);
        if (rv != s[i].rv || (rv != 0 && retry != s[i].retry))
            fail_msg("step %zu (%s at +%llu ms): expected %d/%u, got %d/%u",
                     i, s[i].key, (unsigned long long)(s[i].at / MS),
                     s[i].rv, s[i].retry, rv, retry);
    }
}

#define OK 0
#define NO AMATERS_EOVERLOAD

static void test_burst_refusal_and_refill(void **state)
{
    /* 10 rps, burst 5: a token every 100 ms, 5 at once. */
    static const struct step steps[] = {
        {"alice", 0, OK, 0},          {"alice", 0, OK, 0},
        {"alice", 0, OK, 0},          {"alice", 0, OK, 0},
        {"alice", 0, OK, 0},          {"alice", 0, NO, 1},
        {"alice", 50 * MS, NO, 1},    {"alice", 100 * MS, OK, 0},
        {"alice", 100 * MS, NO, 1},   {"alice", 199 * MS, NO, 1},
        {"alice", 200 * MS, OK, 0},   {"bob", 200 * MS, OK, 0},
        /* Long idle: a full burst again, but no more. */
        {"alice", 10 * SEC, OK, 0},   {"alice", 10 * SEC, OK, 0},
        {"alice", 10 * SEC, OK, 0},   {"alice", 10 * SEC, OK, 0},
        {"alice", 10 * SEC, OK, 0},   {"alice", 10 * SEC, NO, 1},
    };
    struct amaters_ratelimit *rl = make(10, 5, 0, 0, 0, 0);
    (void)state;
    run(rl, steps, sizeof steps / sizeof steps[0]);
    amaters_ratelimit_free(rl);
}

static void test_per_key_isolation(void **state)
{
    static const struct step steps[] = {
        {"alice", 0, OK, 0}, {"alice", 0, NO, 1}, {"bob", 0, OK, 0},
        {"bob", 0, NO, 1},   {NULL, 0, OK, 0},    {"", 0, NO, 1},
        {"carol", 0, OK, 0}, {"alice", SEC, OK, 0},
    };
    struct amaters_ratelimit *rl = make(1, 1, 0, 0, 0, 0);
    (void)state;
    run(rl, steps, sizeof steps / sizeof steps[0]);
    assert_int_equal(amaters_ratelimit_size(rl, T0 + SEC), 4);
    amaters_ratelimit_free(rl);
}

static void test_global_bucket(void **state)
{
    /* Per key unlimited; globally 2 rps with burst 3. */
    static const struct step steps[] = {
        {"a", 0, OK, 0},       {"b", 0, OK, 0},       {"c", 0, OK, 0},
        {"d", 0, NO, 1},       {"a", 499 * MS, NO, 1}, {"d", 500 * MS, OK, 0},
        {"e", 500 * MS, NO, 1},
    };
    struct amaters_ratelimit *rl = make(0, 0, 2, 3, 0, 0);
    (void)state;
    run(rl, steps, sizeof steps / sizeof steps[0]);
    amaters_ratelimit_free(rl);

    /* Both limits: the stricter one answers. */
    {
        static const struct step both[] = {
            {"a", 0, OK, 0}, {"a", 0, NO, 1}, {"b", 0, NO, 1},
            {"b", SEC, OK, 0},
        };
        rl = make(1, 1, 1, 1, 0, 0);
        run(rl, both, sizeof both / sizeof both[0]);
        amaters_ratelimit_free(rl);
    }
}

static void test_unlimited(void **state)
{
    struct amaters_ratelimit *rl = make(0, 0, 0, 0, 0, 0);
    (void)state;
    for (int i = 0; i < 10000; i++)
        assert_int_equal(amaters_ratelimit_take(rl, "k", T0, NULL), 0);
    assert_int_equal(amaters_ratelimit_size(rl, T0), 0);
    amaters_ratelimit_free(rl);
}

static void test_idle_buckets_expire(void **state)
{
    struct amaters_ratelimit *rl = make(1, 2, 0, 0, 5 * SEC, 0);
    char key[16];
    (void)state;

    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(amaters_ratelimit_take(rl, key, T0, NULL), 0);
    }
    assert_int_equal(amaters_ratelimit_size(rl, T0), 100);
    /* k0 stays busy; the others go idle. */
    assert_int_equal(amaters_ratelimit_take(rl, "k0", T0 + 3 * SEC, NULL),
                     0);
    assert_int_equal(amaters_ratelimit_size(rl, T0 + 4 * SEC), 100);
    assert_int_equal(amaters_ratelimit_size(rl, T0 + 5 * SEC), 1);
    assert_int_equal(amaters_ratelimit_size(rl, T0 + 8 * SEC), 0);
    amaters_ratelimit_free(rl);
}

static void test_key_cap_uses_shared_overflow_bucket(void **state)
{
    static const struct step steps[] = {
        {"a", 0, OK, 0}, {"b", 0, OK, 0},
        {"c", 0, OK, 0}, /* table full: overflow bucket */
        {"d", 0, NO, 1}, /* shares it with c */
        {"a", 0, NO, 1},
    };
    struct amaters_ratelimit *rl = make(1, 1, 0, 0, 0, 2);
    (void)state;
    run(rl, steps, sizeof steps / sizeof steps[0]);
    assert_int_equal(amaters_ratelimit_size(rl, T0), 2);
    amaters_ratelimit_free(rl);
}

struct worker {
    struct amaters_ratelimit *rl;
    int admitted;
};

static void *hammer(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 1000; i++)
        w->admitted += amaters_ratelimit_take(w->rl, "shared", T0, NULL) == 0;
    return NULL;
}

static void test_concurrent_takes_admit_exactly_burst(void **state)
{
    struct amaters_ratelimit *rl = make(100, 50, 0, 0, 0, 0);
    struct worker w[4];
    pthread_t t[4];
    int total = 0;
    (void)state;

    for (int i = 0; i < 4; i++) {
        w[i].rl = rl;
        w[i].admitted = 0;
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        total += w[i].admitted;
    }
    assert_int_equal(total, 50);
    amaters_ratelimit_free(rl);
}

static void test_allocation_failure_refuses(void **state)
{
    struct amaters_ratelimit *rl = make(1, 1, 0, 0, 0, 0);
    (void)state;
    amaters_alloc_fail_after(0);
    assert_int_equal(amaters_ratelimit_take(rl, "new", T0, NULL),
                     AMATERS_ENOMEM);
    amaters_alloc_fail_after(-1);
    assert_int_equal(amaters_ratelimit_take(rl, "new", T0, NULL), 0);
    amaters_ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        LEAK_TEST(test_burst_refusal_and_refill),
        LEAK_TEST(test_per_key_isolation),
        LEAK_TEST(test_global_bucket),
        LEAK_TEST(test_unlimited),
        LEAK_TEST(test_idle_buckets_expire),
        LEAK_TEST(test_key_cap_uses_shared_overflow_bucket),
        LEAK_TEST(test_concurrent_takes_admit_exactly_burst),
        LEAK_TEST(test_allocation_failure_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
