/*
 * test_metrics.c - unit tests for src/obs/metrics: the exact Prometheus
 * text for counters, gauges and histograms (with and without labels,
 * escaping, sorting), number formatting, name validation, idempotent
 * registration, update semantics, collectors, exact counts under
 * concurrent updates, sums over a family's series (with one label value
 * left out), and allocation failures at every step.
 *
 * Expected texts are written by hand from the exposition format spec.
 * The fixture resets the registry and checks that nothing leaked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "obs/metrics.h"

static long live_before;

static int setup(void **state)
{
    (void)state;
    amaters_metrics_reset();
    live_before = amaters_alloc_live();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    amaters_alloc_fail_after(-1);
    amaters_metrics_reset();
    assert_int_equal(amaters_alloc_live(), live_before);
    return 0;
}

static void assert_render(const char *expected)
{
    char *out = NULL;
    size_t len = 0;

    assert_int_equal(amaters_metrics_render(&out, &len), 0);
    assert_non_null(out);
    assert_int_equal(len, strlen(out));
    if (strcmp(out, expected) != 0)
        fail_msg("rendered:\n%s\nexpected:\n%s", out, expected);
    amaters_free(out);
}

/* ---- exposition cases: each registers and updates, then renders ---- */

static void case_counter_unlabeled(void)
{
    struct amaters_metric *m = amaters_metrics_simple(
        AMATERS_METRIC_COUNTER, "amaters_requests", "Requests served.");

    amaters_counter_add(m, 2);
    amaters_counter_inc(m);
}

static void case_counter_labeled(void)
{
    static const char *const labels[] = {"method", "status"};
    struct amaters_metric_family *f = amaters_metrics_family(
        AMATERS_METRIC_COUNTER, "rpc_calls_total", "Calls.", labels, 2, NULL,
        0);
    static const char *const get_ok[] = {"Get", "ok"};
    static const char *const set_ok[] = {"Set", "ok"};
    static const char *const get_err[] = {"Get", "error"};

    /* Created out of order: output is sorted by label values. */
    amaters_counter_add(amaters_metric_child(f, set_ok), 5);
    amaters_counter_add(amaters_metric_child(f, get_ok), 7);
    amaters_counter_add(amaters_metric_child(f, get_err), 0.5);
}

static void case_gauges_and_numbers(void)
{
    static const char *const labels[] = {"kind"};
    struct amaters_metric_family *f = amaters_metrics_family(
        AMATERS_METRIC_GAUGE, "values", "Assorted numbers.", labels, 1, NULL,
        0);
    static const struct {
        const char *kind;
        double v;
    } vals[] = {
        {"a_int", 42},    {"b_neg", -2.5},     {"c_big", 1e20},
        {"d_tiny", 1.5e-7}, {"e_inf", INFINITY}, {"f_ninf", -INFINITY},
        {"g_nan", NAN},   {"h_zero", 0},       {"i_third", 1.0 / 3},
    };

    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        const char *v[] = {vals[i].kind};

        amaters_gauge_set(amaters_metric_child(f, v), vals[i].v);
    }
}

static void case_histogram(void)
{
    static const char *const labels[] = {"op"};
    static const double bounds[] = {0.125, 0.5, 1};
    struct amaters_metric_family *f = amaters_metrics_family(
        AMATERS_METRIC_HISTOGRAM, "latency_seconds", "Latency.", labels, 1,
        bounds, 3);
    static const char *const get[] = {"get"};
    static const char *const set[] = {"set"};
    struct amaters_metric *g = amaters_metric_child(f, get);

    amaters_histogram_observe(g, 0.0625);
    amaters_histogram_observe(g, 0.125); /* le is inclusive */
    amaters_histogram_observe(g, 0.25);
    amaters_histogram_observe(g, 2);
    amaters_histogram_observe(g, NAN); /* ignored */
    amaters_metric_child(f, set);      /* exists, never observed */
}

static void case_histogram_unlabeled(void)
{
    static const double bounds[] = {1, 2, INFINITY};
    struct amaters_metric_family *f = amaters_metrics_family(
        AMATERS_METRIC_HISTOGRAM, "sizes", "", NULL, 0, bounds, 3);
    struct amaters_metric *m = amaters_metric_child(f, NULL);

    amaters_histogram_observe(m, 1.5);
    amaters_histogram_observe(m, -1);
}

static void case_escaping(void)
{
    static const char *const labels[] = {"path"};
    struct amaters_metric_family *f = amaters_metrics_family(
        AMATERS_METRIC_GAUGE, "esc", "Back\\slash and\nnewline \"q\".",
        labels, 1, NULL, 0);
    static const char *const v1[] = {"a\"b\\c\nd"};
    static const char *const v2[] = {"bad\xffutf8 \xc3\xa9"};

    amaters_gauge_set(amaters_metric_child(f, v1), 1);
    amaters_gauge_set(amaters_metric_child(f, v2), 2);
}

static void case_sorted_families(void)
{
    static const char *const labels[] = {"x"};

    amaters_gauge_set(
        amaters_metrics_simple(AMATERS_METRIC_GAUGE, "zeta", "Z."), 1);
    amaters_metrics_family(AMATERS_METRIC_GAUGE, "empty_family",
                           "No children yet.", labels, 1, NULL, 0);
    amaters_gauge_add(
        amaters_metrics_simple(AMATERS_METRIC_GAUGE, "alpha", "A."), -3);
    amaters_gauge_add(
        amaters_metrics_simple(AMATERS_METRIC_GAUGE, "alpha", "A."), 1);
}

static void test_exposition(void **state)
{
    static const struct {
        const char *name;
        void (*fn)(void);
        const char *expected;
    } cases[] = {
        {"counter unlabeled", case_counter_unlabeled,
         "# HELP amaters_requests_total Requests served.\n"
         "# TYPE amaters_requests_total counter\n"
         "amaters_requests_total 3\n"},
        {"counter labeled", case_counter_labeled,
         "# HELP rpc_calls_total Calls.\n"
         "# TYPE rpc_calls_total counter\n"
         "rpc_calls_total{method=\"Get\",status=\"error\"} 0.5\n"
         "rpc_calls_total{method=\"Get\",status=\"ok\"} 7\n"
         "rpc_calls_total{method=\"Set\",status=\"ok\"} 5\n"},
        {"gauges and numbers", case_gauges_and_numbers,
         "# HELP values Assorted numbers.\n"
         "# TYPE values gauge\n"
         "values{kind=\"a_int\"} 42\n"
         "values{kind=\"b_neg\"} -2.5\n"
         "values{kind=\"c_big\"} 1e+20\n"
         "values{kind=\"d_tiny\"} 1.5e-07\n"
         "values{kind=\"e_inf\"} +Inf\n"
         "values{kind=\"f_ninf\"} -Inf\n"
         "values{kind=\"g_nan\"} NaN\n"
         "values{kind=\"h_zero\"} 0\n"
         "values{kind=\"i_third\"} 0.33333333333333331\n"},
        {"histogram", case_histogram,
         "# HELP latency_seconds Latency.\n"
         "# TYPE latency_seconds histogram\n"
         "latency_seconds_bucket{op=\"get\",le=\"0.125\"} 2\n"
         "latency_seconds_bucket{op=\"get\",le=\"0.5\"} 3\n"
         "latency_seconds_bucket{op=\"get\",le=\"1\"} 3\n"
         "latency_seconds_bucket{op=\"get\",le=\"+Inf\"} 4\n"
         "latency_seconds_sum{op=\"get\"} 2.4375\n"
         "latency_seconds_count{op=\"get\"} 4\n"
         "latency_seconds_bucket{op=\"set\",le=\"0.125\"} 0\n"
         "latency_seconds_bucket{op=\"set\",le=\"0.5\"} 0\n"
         "latency_seconds_bucket{op=\"set\",le=\"1\"} 0\n"
         "latency_seconds_bucket{op=\"set\",le=\"+Inf\"} 0\n"
         "latency_seconds_sum{op=\"set\"} 0\n"
         "latency_seconds_count{op=\"set\"} 0\n"},
        {"histogram unlabeled, trailing +Inf bound", case_histogram_unlabeled,
         "# HELP sizes\n"
         "# TYPE sizes histogram\n"
         "sizes_bucket{le=\"1\"} 1\n"
         "sizes_bucket{le=\"2\"} 2\n"
         "sizes_bucket{le=\"+Inf\"} 2\n"
         "sizes_sum 0.5\n"
         "sizes_count 2\n"},
        {"escaping", case_escaping,
         "# HELP esc Back\\\\slash and\\nnewline \"q\".\n"
         "# TYPE esc gauge\n"
         "esc{path=\"a\\\"b\\\\c\\nd\"} 1\n"
         "esc{path=\"bad\xef\xbf\xbdutf8 \xc3\xa9\"} 2\n"},
        {"families sorted by name", case_sorted_families,
         "# HELP alpha A.\n"
         "# TYPE alpha gauge\n"
         "alpha -2\n"
         "# HELP empty_family No children yet.\n"
         "# TYPE empty_family gauge\n"
         "# HELP zeta Z.\n"
         "# TYPE zeta gauge\n"
         "zeta 1\n"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        print_message("case: %s\n", cases[i].name);
        amaters_metrics_reset();
        cases[i].fn();
        assert_render(cases[i].expected);
    }
}

static void test_format_double(void **state)
{
    static const struct {
        double v;
        const char *s;
    } cases[] = {
        {0, "0"},
        {-0.0, "0"},
        {1, "1"},
        {-3, "-3"},
        {0.5, "0.5"},
        {0.1, "0.1"},
        {123456789012345.0, "123456789012345"},
        {1e15, "1e+15"},
        {2.5e-300, "2.5e-300"},
        {0.0001, "0.0001"},
        {INFINITY, "+Inf"},
        {-INFINITY, "-Inf"},
        {NAN, "NaN"},
    };
    char buf[40];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(
            amaters_metrics_format_double(cases[i].v, buf, sizeof buf),
            cases[i].s);
}

static void test_default_latency_buckets(void **state)
{
    struct amaters_metric *m;
    char *out;
    size_t len;

    (void)state;
    assert_int_equal(amaters_latency_buckets_count, 16);
    assert_true(amaters_latency_buckets[0] == 0.0001);
    assert_true(amaters_latency_buckets[15] == 10);
    m = amaters_metrics_simple(AMATERS_METRIC_HISTOGRAM, "op_seconds", "Op.");
    assert_non_null(m);
    amaters_histogram_observe(m, 0.25);
    amaters_histogram_observe(m, 11);
    assert_int_equal(amaters_histogram_count(m), 2);
    assert_true(amaters_metric_value(m) == 11.25);
    assert_int_equal(amaters_metrics_render(&out, &len), 0);
    assert_non_null(strstr(out, "op_seconds_bucket{le=\"0.0001\"} 0\n"));
    assert_non_null(strstr(out, "op_seconds_bucket{le=\"0.00025\"} 0\n"));
    assert_non_null(strstr(out, "op_seconds_bucket{le=\"0.1\"} 0\n"));
    assert_non_null(strstr(out, "op_seconds_bucket{le=\"0.25\"} 1\n"));
    assert_non_null(strstr(out, "op_seconds_bucket{le=\"10\"} 1\n"));
    assert_non_null(strstr(out, "op_seconds_bucket{le=\"+Inf\"} 2\n"));
    assert_non_null(strstr(out, "op_seconds_count 2\n"));
    amaters_free(out);
}

static void test_invalid_registrations(void **state)
{
    static const char *const ok1[] = {"a"};
    static const char *const dunder[] = {"__a"};
    static const char *const digit[] = {"1a"};
    static const char *const colon[] = {"a:b"};
    static const char *const le[] = {"le"};
    static const char *const dup[] = {"a", "b", "a"};
    static const char *const nine[] = {"a", "b", "c", "d", "e",
                                       "f", "g", "h", "i"};
    static const char *const null_label[] = {NULL};
    static const double same[] = {1, 1};
    static const double down[] = {2, 1};
    static const double nan_b[] = {1, NAN};
    static const double ninf[] = {-INFINITY, 1};
    static const struct {
        enum amaters_metric_type t;
        const char *name;
        const char *const *labels;
        size_t nlabels;
        const double *buckets;
        size_t nbuckets;
    } cases[] = {
        {AMATERS_METRIC_GAUGE, NULL, NULL, 0, NULL, 0},
        {AMATERS_METRIC_GAUGE, "", NULL, 0, NULL, 0},
        {AMATERS_METRIC_GAUGE, "1abc", NULL, 0, NULL, 0},
        {AMATERS_METRIC_GAUGE, "a-b", NULL, 0, NULL, 0},
        {AMATERS_METRIC_GAUGE, "a b", NULL, 0, NULL, 0},
        {AMATERS_METRIC_GAUGE, "caf\xc3\xa9", NULL, 0, NULL, 0},
        {AMATERS_METRIC_GAUGE, "g", dunder, 1, NULL, 0},
        {AMATERS_METRIC_GAUGE, "g", digit, 1, NULL, 0},
        {AMATERS_METRIC_GAUGE, "g", colon, 1, NULL, 0},
        {AMATERS_METRIC_GAUGE, "g", dup, 3, NULL, 0},
        {AMATERS_METRIC_GAUGE, "g", nine, 9, NULL, 0},
        {AMATERS_METRIC_GAUGE, "g", NULL, 1, NULL, 0},
        {AMATERS_METRIC_GAUGE, "g", null_label, 1, NULL, 0},
        {AMATERS_METRIC_HISTOGRAM, "h", le, 1, NULL, 0},
        {AMATERS_METRIC_HISTOGRAM, "h", ok1, 1, same, 2},
        {AMATERS_METRIC_HISTOGRAM, "h", ok1, 1, down, 2},
        {AMATERS_METRIC_HISTOGRAM, "h", ok1, 1, nan_b, 2},
        {AMATERS_METRIC_HISTOGRAM, "h", ok1, 1, ninf, 2},
        {(enum amaters_metric_type)7, "x", NULL, 0, NULL, 0},
    };
    char longname[AMATERS_METRICS_MAX_NAME + 2];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (amaters_metrics_family(cases[i].t, cases[i].name, "h",
                                   cases[i].labels, cases[i].nlabels,
                                   cases[i].buckets, cases[i].nbuckets)
            != NULL)
            fail_msg("case %zu was accepted", i);
    }
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_null(amaters_metrics_family(AMATERS_METRIC_GAUGE, longname, "",
                                       NULL, 0, NULL, 0));
    /* "le" is fine outside histograms; colons are fine in metric names. */
    assert_non_null(amaters_metrics_family(AMATERS_METRIC_GAUGE, "ns:g", "",
                                           le, 1, NULL, 0));
}

static void test_idempotent_registration(void **state)
{
    static const char *const ab[] = {"a", "b"};
    static const char *const ba[] = {"b", "a"};
    static const double b1[] = {1, 2};
    static const double b2[] = {1, 3};
    static const char *const v[] = {"x", "y"};
    static const char *const v2[] = {"x", "z"};
    struct amaters_metric_family *c1, *c2, *g, *h;
    struct amaters_metric *m1, *m2;

    (void)state;
    c1 = amaters_metrics_family(AMATERS_METRIC_COUNTER, "hits", "Hits.", ab,
                                2, NULL, 0);
    assert_non_null(c1);
    c2 = amaters_metrics_family(AMATERS_METRIC_COUNTER, "hits_total",
                                "Other help is ignored.", ab, 2, NULL, 0);
    assert_ptr_equal(c1, c2);
    assert_null(amaters_metrics_family(AMATERS_METRIC_COUNTER, "hits", "",
                                       ba, 2, NULL, 0));
    assert_null(amaters_metrics_family(AMATERS_METRIC_COUNTER, "hits", "",
                                       ab, 1, NULL, 0));
    assert_null(amaters_metrics_family(AMATERS_METRIC_GAUGE, "hits_total",
                                       "", ab, 2, NULL, 0));

    h = amaters_metrics_family(AMATERS_METRIC_HISTOGRAM, "lat", "", NULL, 0,
                               b1, 2);
    assert_non_null(h);
    assert_ptr_equal(amaters_metrics_family(AMATERS_METRIC_HISTOGRAM, "lat",
                                            "", NULL, 0, b1, 2),
                     h);
    assert_null(amaters_metrics_family(AMATERS_METRIC_HISTOGRAM, "lat", "",
                                       NULL, 0, b2, 2));
    /* Series names of a histogram cannot be taken by other families, and
     * vice versa. */
    assert_null(amaters_metrics_family(AMATERS_METRIC_GAUGE, "lat_count", "",
                                       NULL, 0, NULL, 0));
    assert_null(amaters_metrics_family(AMATERS_METRIC_GAUGE, "lat_bucket",
                                       "", NULL, 0, NULL, 0));
    g = amaters_metrics_family(AMATERS_METRIC_GAUGE, "q_sum", "", NULL, 0,
                               NULL, 0);
    assert_non_null(g);
    assert_null(amaters_metrics_family(AMATERS_METRIC_HISTOGRAM, "q", "",
                                       NULL, 0, NULL, 0));

    m1 = amaters_metric_child(c1, v);
    m2 = amaters_metric_child(c1, v);
    assert_non_null(m1);
    assert_ptr_equal(m1, m2);
    assert_ptr_not_equal(amaters_metric_child(c1, v2), m1);
    assert_null(amaters_metric_child(c1, NULL));
    assert_null(amaters_metric_child(NULL, v));
    assert_ptr_equal(amaters_metrics_simple(AMATERS_METRIC_GAUGE, "sg", ""),
                     amaters_metrics_simple(AMATERS_METRIC_GAUGE, "sg", ""));
}

static void test_update_semantics(void **state)
{
    struct amaters_metric *c, *g, *h;

    (void)state;
    c = amaters_metrics_simple(AMATERS_METRIC_COUNTER, "c", "");
    g = amaters_metrics_simple(AMATERS_METRIC_GAUGE, "g", "");
    h = amaters_metrics_simple(AMATERS_METRIC_HISTOGRAM, "h", "");
    amaters_counter_add(c, 4);
    amaters_counter_add(c, -1);  /* counters never go down */
    amaters_counter_add(c, NAN); /* ignored */
    assert_true(amaters_metric_value(c) == 4);
    amaters_gauge_set(g, 10);
    amaters_gauge_add(g, -12.5);
    assert_true(amaters_metric_value(g) == -2.5);
    /* Wrong-type updates and NULL metrics are ignored. */
    amaters_gauge_set(c, 100);
    amaters_counter_add(g, 100);
    amaters_histogram_observe(c, 1);
    amaters_counter_add(h, 1);
    amaters_counter_add(NULL, 1);
    amaters_gauge_set(NULL, 1);
    amaters_histogram_observe(NULL, 1);
    assert_true(amaters_metric_value(c) == 4);
    assert_true(amaters_metric_value(g) == -2.5);
    assert_int_equal(amaters_histogram_count(h), 0);
    assert_int_equal(amaters_histogram_count(c), 0);
    assert_true(amaters_metric_value(NULL) == 0);
}

struct collector_state {
    struct amaters_metric *gauge;
    int calls;
};

static void collector_cb(void *arg)
{
    struct collector_state *s = arg;

    s->calls++;
    amaters_gauge_set(s->gauge, s->calls * 10);
}

static void test_collectors(void **state)
{
    struct collector_state s = {0};
    char *out;
    size_t len;

    (void)state;
    s.gauge = amaters_metrics_simple(AMATERS_METRIC_GAUGE, "keys_stored",
                                     "Keys.");
    assert_int_equal(amaters_metrics_add_collector(collector_cb, &s), 0);
    assert_int_equal(amaters_metrics_add_collector(collector_cb, &s),
                     AMATERS_EEXISTS);
    assert_int_equal(amaters_metrics_add_collector(NULL, &s),
                     AMATERS_EINVAL);
    assert_render("# HELP keys_stored Keys.\n# TYPE keys_stored gauge\n"
                  "keys_stored 10\n");
    assert_render("# HELP keys_stored Keys.\n# TYPE keys_stored gauge\n"
                  "keys_stored 20\n");
    assert_int_equal(amaters_metrics_remove_collector(collector_cb, &s), 0);
    assert_int_equal(amaters_metrics_remove_collector(collector_cb, &s),
                     AMATERS_ENOTFOUND);
    assert_int_equal(amaters_metrics_render(&out, &len), 0);
    amaters_free(out);
    assert_int_equal(s.calls, 2);

    /* A reset forgets collectors. */
    assert_int_equal(amaters_metrics_add_collector(collector_cb, &s), 0);
    amaters_metrics_reset();
    assert_int_equal(amaters_metrics_render(&out, &len), 0);
    assert_int_equal(len, 0);
    assert_string_equal(out, "");
    amaters_free(out);
    assert_int_equal(s.calls, 2);
}

#define THREADS 4
#define INCREMENTS 100000

struct shared {
    struct amaters_metric *counter;
    struct amaters_metric *gauge;
    struct amaters_metric *hist;
    struct amaters_metric_family *fam;
};

static void *hammer(void *arg)
{
    struct shared *s = arg;

    for (int i = 0; i < INCREMENTS; i++) {
        amaters_counter_inc(s->counter);
        amaters_gauge_add(s->gauge, 1);
        amaters_histogram_observe(s->hist, (i % 4) * 0.5);
        if (i % 1000 == 0) {
            char v[16];
            const char *vals[] = {v};

            snprintf(v, sizeof v, "%d", i / 1000);
            amaters_counter_inc(amaters_metric_child(s->fam, vals));
        }
    }
    return NULL;
}

static void test_concurrent_updates_are_exact(void **state)
{
    static const char *const labels[] = {"bucket"};
    static const double bounds[] = {0.5, 1};
    struct shared s;
    pthread_t t[THREADS];
    char *out;
    size_t len;

    (void)state;
    s.counter = amaters_metrics_simple(AMATERS_METRIC_COUNTER, "ops", "");
    s.gauge = amaters_metrics_simple(AMATERS_METRIC_GAUGE, "level", "");
    s.hist = amaters_metric_child(
        amaters_metrics_family(AMATERS_METRIC_HISTOGRAM, "dist", "", NULL, 0,
                               bounds, 2),
        NULL);
    s.fam = amaters_metrics_family(AMATERS_METRIC_COUNTER, "by_bucket", "",
                                   labels, 1, NULL, 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &s), 0);
    /* Render while the writers run: must not crash or tear. */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(amaters_metrics_render(&out, &len), 0);
        amaters_free(out);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);

    assert_true(amaters_metric_value(s.counter) == THREADS * INCREMENTS);
    assert_true(amaters_metric_value(s.gauge) == THREADS * INCREMENTS);
    assert_int_equal(amaters_histogram_count(s.hist), THREADS * INCREMENTS);
    /* Each thread observes 0, 0.5, 1, 1.5 equally often. */
    assert_true(amaters_metric_value(s.hist)
                == THREADS * (INCREMENTS / 4) * 3.0);
    assert_int_equal(amaters_metrics_render(&out, &len), 0);
    assert_non_null(strstr(out, "ops_total 400000\n"));
    assert_non_null(strstr(out, "dist_bucket{le=\"0.5\"} 200000\n"));
    assert_non_null(strstr(out, "dist_bucket{le=\"1\"} 300000\n"));
    assert_non_null(strstr(out, "dist_bucket{le=\"+Inf\"} 400000\n"));
    assert_non_null(strstr(out, "dist_count 400000\n"));
    assert_non_null(strstr(out, "by_bucket_total{bucket=\"0\"} 4\n"));
    assert_non_null(strstr(out, "by_bucket_total{bucket=\"99\"} 4\n"));
    amaters_free(out);
}

/* ---- amaters_metrics_sum ---- */

/* Registers the families the sum cases query. Values are sums of powers
 * of two, so every expected total below is exact in a double. */
static void populate_for_sum(void)
{
    static const char *const status[] = {"status"};
    static const char *const method_status[] = {"method", "status"};
    static const char *const op[] = {"op"};
    static const char *const v_ok[] = {"ok"};
    static const char *const v_err[] = {"error"};
    static const char *const v_timeout[] = {"timeout"};
    static const char *const v_empty[] = {""};
    static const char *const get_ok[] = {"Get", "ok"};
    static const char *const get_err[] = {"Get", "error"};
    static const char *const set_ok[] = {"Set", "ok"};
    static const char *const set_err[] = {"Set", "error"};
    static const char *const v_get[] = {"get"};
    static const char *const v_set[] = {"set"};
    static const double bounds[] = {1, 2};
    struct amaters_metric_family *f;
    struct amaters_metric *h;

    /* calls_total{status}: ok 7, error 2, timeout 0.5, "" 0.25. */
    f = amaters_metrics_family(AMATERS_METRIC_COUNTER, "calls", "", status,
                               1, NULL, 0);
    assert_non_null(f);
    amaters_counter_add(amaters_metric_child(f, v_ok), 7);
    amaters_counter_add(amaters_metric_child(f, v_err), 2);
    amaters_counter_add(amaters_metric_child(f, v_timeout), 0.5);
    amaters_counter_add(amaters_metric_child(f, v_empty), 0.25);

    /* rpc_total{method,status}: Get/ok 1, Get/error 2, Set/ok 4,
     * Set/error 8. */
    f = amaters_metrics_family(AMATERS_METRIC_COUNTER, "rpc_total", "",
                               method_status, 2, NULL, 0);
    assert_non_null(f);
    amaters_counter_add(amaters_metric_child(f, get_ok), 1);
    amaters_counter_add(amaters_metric_child(f, get_err), 2);
    amaters_counter_add(amaters_metric_child(f, set_ok), 4);
    amaters_counter_add(amaters_metric_child(f, set_err), 8);

    /* requests_total = 3; events_total{status} ok 5, error 1. */
    amaters_counter_add(amaters_metrics_simple(AMATERS_METRIC_COUNTER,
                                               "requests", ""),
                        3);
    amaters_metrics_count("events", "", status, v_ok, 1, 5);
    amaters_metrics_count("events", "", status, v_err, 1, 1);

    /* Gauges may be negative: temp{status} ok -1.5, error 4. */
    f = amaters_metrics_family(AMATERS_METRIC_GAUGE, "temp", "", status, 1,
                               NULL, 0);
    assert_non_null(f);
    amaters_gauge_set(amaters_metric_child(f, v_ok), -1.5);
    amaters_gauge_set(amaters_metric_child(f, v_err), 4);

    /* A histogram's value is the sum of its observations:
     * lat{op} get 0.25 + 2 = 2.25, set 1. */
    f = amaters_metrics_family(AMATERS_METRIC_HISTOGRAM, "lat", "", op, 1,
                               bounds, 2);
    assert_non_null(f);
    h = amaters_metric_child(f, v_get);
    amaters_histogram_observe(h, 0.25);
    amaters_histogram_observe(h, 2);
    amaters_histogram_observe(amaters_metric_child(f, v_set), 1);

    /* A family with no series yet. */
    assert_non_null(amaters_metrics_family(AMATERS_METRIC_COUNTER,
                                           "unused_total", "", status, 1,
                                           NULL, 0));
}

static void test_metrics_sum(void **state)
{
    static const struct {
        const char *what;
        const char *name;
        const char *label;
        const char *except;
        double expected;
    } cases[] = {
        {"all series", "calls_total", NULL, NULL, 9.75},
        {"without status=error", "calls_total", "status", "error", 7.75},
        {"without status=ok", "calls_total", "status", "ok", 2.75},
        {"without the empty value", "calls_total", "status", "", 9.5},
        {"value no series has", "calls_total", "status", "nope", 9.75},
        {"label the family lacks", "calls_total", "method", "error", 9.75},
        {"label without value", "calls_total", "status", NULL, 9.75},
        {"value without label", "calls_total", NULL, "error", 9.75},
        {"label names are case-sensitive", "calls_total", "Status", "error",
         9.75},
        {"values are case-sensitive", "calls_total", "status", "Error",
         9.75},
        {"counter name needs _total", "calls", NULL, NULL, 0},
        {"two labels, all", "rpc_total", NULL, NULL, 15},
        {"two labels, without status=error", "rpc_total", "status", "error",
         5},
        {"two labels, without method=Get", "rpc_total", "method", "Get", 12},
        {"two labels, without method=Set", "rpc_total", "method", "Set", 3},
        {"unlabeled counter", "requests_total", NULL, NULL, 3},
        {"unlabeled counter, exclusion ignored", "requests_total", "status",
         "ok", 3},
        {"made by amaters_metrics_count", "events_total", "status", "ok", 1},
        {"gauges with a negative value", "temp", NULL, NULL, 2.5},
        {"gauges without status=error", "temp", "status", "error", -1.5},
        {"histogram: sum of observations", "lat", NULL, NULL, 3.25},
        {"histogram without op=set", "lat", "op", "set", 2.25},
        {"histogram series are not families", "lat_sum", NULL, NULL, 0},
        {"family without series", "unused_total", NULL, NULL, 0},
        {"unknown family", "no_such_metric", NULL, NULL, 0},
        {"unknown family with exclusion", "no_such_total", "status", "ok",
         0},
        {"empty name", "", NULL, NULL, 0},
    };

    (void)state;
    populate_for_sum();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double got = amaters_metrics_sum(cases[i].name, cases[i].label,
                                         cases[i].except);

        if (got != cases[i].expected)
            fail_msg("case %s: sum(%s, %s, %s) = %.17g, expected %.17g",
                     cases[i].what, cases[i].name,
                     cases[i].label == NULL ? "NULL" : cases[i].label,
                     cases[i].except == NULL ? "NULL" : cases[i].except, got,
                     cases[i].expected);
    }
}

/* The sum follows later updates and new series, reads nothing stale
 * after a reset, and asking creates nothing (no allocation). */
static void test_metrics_sum_tracks_updates(void **state)
{
    static const char *const status[] = {"status"};
    static const char *const v_ok[] = {"ok"};
    static const char *const v_err[] = {"error"};
    struct amaters_metric_family *f;
    struct amaters_metric *ok;
    long live;

    (void)state;
    f = amaters_metrics_family(AMATERS_METRIC_COUNTER, "jobs_total", "J.",
                               status, 1, NULL, 0);
    assert_non_null(f);
    assert_true(amaters_metrics_sum("jobs_total", NULL, NULL) == 0);
    ok = amaters_metric_child(f, v_ok);
    amaters_counter_inc(ok);
    assert_true(amaters_metrics_sum("jobs_total", NULL, NULL) == 1);
    amaters_counter_add(amaters_metric_child(f, v_err), 4);
    amaters_counter_add(ok, 2);
    assert_true(amaters_metrics_sum("jobs_total", NULL, NULL) == 7);
    assert_true(amaters_metrics_sum("jobs_total", "status", "error") == 3);
    assert_true(amaters_metrics_sum("jobs_total", "status", "ok") == 4);

    live = amaters_alloc_live();
    assert_true(amaters_metrics_sum("absent_total", "status", "ok") == 0);
    assert_int_equal(amaters_alloc_live(), live);

    amaters_metrics_reset();
    assert_true(amaters_metrics_sum("jobs_total", NULL, NULL) == 0);
}

/* Registers, creates children and renders with the n-th allocation
 * failing; returns true if everything succeeded (n beyond the last
 * allocation). */
static bool build_and_render(void)
{
    static const char *const labels[] = {"a", "b"};
    static const char *const v[] = {"x", "y"};
    struct amaters_metric_family *f;
    struct amaters_metric *m;
    char *out = NULL;
    size_t len;
    bool ok = true;

    f = amaters_metrics_family(AMATERS_METRIC_HISTOGRAM, "t", "T.", labels,
                               2, NULL, 0);
    m = amaters_metric_child(f, v);
    amaters_histogram_observe(m, 1);
    if (f == NULL || m == NULL)
        ok = false;
    if (amaters_metrics_simple(AMATERS_METRIC_COUNTER, "c", "C.") == NULL)
        ok = false;
    if (amaters_metrics_render(&out, &len) != 0) {
        assert_null(out);
        ok = false;
    }
    amaters_free(out);
    return ok;
}

static void test_allocation_failures(void **state)
{
    bool done = false;

    (void)state;
    for (long n = 0; !done && n < 200; n++) {
        amaters_metrics_reset();
        assert_int_equal(amaters_alloc_live(), live_before);
        amaters_alloc_fail_after(n);
        done = build_and_render();
        amaters_alloc_fail_after(-1);
        amaters_metrics_reset();
        assert_int_equal(amaters_alloc_live(), live_before);
    }
    assert_true(done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_exposition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_format_double, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_latency_buckets, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_invalid_registrations, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_idempotent_registration, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_update_semantics, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_collectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_updates_are_exact,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_sum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_sum_tracks_updates,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_allocation_failures, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
