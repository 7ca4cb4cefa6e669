/*
 * test_metrics.c - unit tests for src/obs/metrics, the rendering: the exact
 * Prometheus text for counters, gauges and histograms (with and without
 * labels, escaping, sorting), number formatting, and the default latency
 * buckets. Registration, updates, collectors, concurrency, sums and allocation
 * failures are tested in test_metrics_registry.c; the fixture both use is in
 * metrics_fixture.h.
 *
 * Expected texts are written by hand from the exposition format spec. The
 * fixture resets the registry and checks that nothing leaked.
 */
#include "metrics_fixture.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_exposition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_format_double, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_latency_buckets, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
