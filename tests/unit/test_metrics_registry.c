/*
 * test_metrics_registry.c - unit tests for src/obs/metrics, the registry: name
 * validation, idempotent registration, update semantics, collectors, exact
 * counts under concurrent updates, sums over a family's series (with one label
 * value left out), and allocation failures at every step. The rendered text is
 * tested in test_metrics.c; the fixture both use is in metrics_fixture.h.
 *
 * Expected values are written by hand from the exposition format spec. The
 * fixture resets the registry and checks that nothing leaked.
 */
#include "metrics_fixture.h"

#include <pthread.h>

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
        leak_check();
        amaters_alloc_fail_after(n);
        done = build_and_render();
        amaters_alloc_fail_after(-1);
        amaters_metrics_reset();
        leak_check();
    }
    assert_true(done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_invalid_registrations, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_idempotent_registration, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_update_semantics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_updates_are_exact,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_sum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_sum_tracks_updates, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_allocation_failures, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
