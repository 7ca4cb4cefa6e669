/*
 * metrics.h - the process-wide metrics registry and its Prometheus text
 * exposition (format 0.0.4).
 *
 * A family has a name, help text, a type and label names; a child (struct
 * amaters_metric) is one series of a family for one tuple of label values.
 * Register families and look up children once, at component start, and
 * keep the child pointers: updating a child is a few atomic instructions
 * (no lock, no allocation), safe on any hot path from any thread.
 *
 * Names follow Prometheus rules: metric names [a-zA-Z_:][a-zA-Z0-9_:]*,
 * label names [a-zA-Z_][a-zA-Z0-9_]* and not starting with "__";
 * histograms may not use the label "le". Counter family names always end
 * in "_total" (appended at registration when missing).
 *
 * Ownership: the registry owns every family and child; pointers stay valid
 * until amaters_metrics_reset(), which only tests call. Registry memory is
 * allocated with amaters_malloc and so counted by amaters_alloc_live(): a
 * test whose code under test registers metrics should call
 * amaters_metrics_reset() in its teardown before checking for leaks (and
 * components must not cache child pointers in statics across such a reset).
 *
 * Threads: every function may be called from any thread, concurrently,
 * except amaters_metrics_reset(), which must not race any other call.
 */
#ifndef AMATERS_OBS_METRICS_H
#define AMATERS_OBS_METRICS_H

#include <stddef.h>
#include <stdint.h>

enum amaters_metric_type {
    AMATERS_METRIC_COUNTER,
    AMATERS_METRIC_GAUGE,
    AMATERS_METRIC_HISTOGRAM
};

struct amaters_metric_family;
struct amaters_metric;

/* Limits, enforced at registration / child creation. */
#define AMATERS_METRICS_MAX_LABELS 8
#define AMATERS_METRICS_MAX_BUCKETS 64
#define AMATERS_METRICS_MAX_CHILDREN 10000 /* per family */
#define AMATERS_METRICS_MAX_NAME 128
#define AMATERS_METRICS_MAX_RENDER (64u * 1024 * 1024)

/* Default histogram buckets for latencies in seconds: 100 us .. 10 s. */
#define AMATERS_LATENCY_NBUCKETS 16
extern const double amaters_latency_buckets[AMATERS_LATENCY_NBUCKETS];
extern const size_t amaters_latency_buckets_count;

/* Registers a family, or returns the existing one with the same name
 * (after "_total" is appended to a counter name that lacks it) if its
 * type, label names and buckets match. label_names may be NULL when
 * nlabels is 0. For histograms, buckets are the finite upper bounds in
 * strictly increasing order (a trailing +Inf is accepted and dropped; the
 * +Inf bucket is always added); buckets == NULL selects
 * amaters_latency_buckets; other types ignore buckets. help may be NULL
 * (empty). Returns NULL on misuse (invalid or reserved names, duplicate
 * label names, mismatch with an existing family, a name clashing with a
 * histogram's _bucket/_sum/_count series, limits exceeded) or when out of
 * memory. The registry owns the result. */
struct amaters_metric_family *
amaters_metrics_family(enum amaters_metric_type t, const char *name,
                       const char *help, const char *const *label_names,
                       size_t nlabels, const double *buckets,
                       size_t nbuckets);

/* Returns the child of f for label_values (one string per label name, in
 * order; may be NULL for a family without labels), creating it (at zero)
 * on first use. Values may be any UTF-8 text; they are escaped on output.
 * Returns NULL if f is NULL, a value is NULL, the family already has
 * AMATERS_METRICS_MAX_CHILDREN children, or out of memory. The registry
 * owns the result; the pointer is stable until amaters_metrics_reset().
 * Takes the registry lock: not for the hottest paths. */
struct amaters_metric *
amaters_metric_child(struct amaters_metric_family *f,
                     const char *const *label_values);

/* Shorthand for an unlabeled family and its only child. Histograms get
 * amaters_latency_buckets. Returns NULL as amaters_metrics_family(). */
struct amaters_metric *amaters_metrics_simple(enum amaters_metric_type t,
                                              const char *name,
                                              const char *help);

/* Updates. Lock-free; m may be NULL (then nothing happens), and a call
 * for the wrong type of metric is ignored. Counters ignore negative and
 * NaN increments; histograms ignore NaN observations. */
void amaters_counter_add(struct amaters_metric *m, double v);

/* Adds v to the series label_values of the counter family name (created
 * on first use with help and label_names; nlabels of each). For rare
 * events: it looks the family and series up on every call. Ignores
 * misuse like amaters_metrics_family does. */
void amaters_metrics_count(const char *name, const char *help,
                           const char *const *label_names,
                           const char *const *label_values, size_t nlabels,
                           double v);
void amaters_counter_inc(struct amaters_metric *m);
void amaters_gauge_set(struct amaters_metric *m, double v);
void amaters_gauge_add(struct amaters_metric *m, double v);
void amaters_histogram_observe(struct amaters_metric *m, double v);

/* Reads the current value of a counter or gauge, or the sum of a
 * histogram's observations (0 for NULL). For tests and the admin
 * METRICS/STATS commands. */
double amaters_metric_value(const struct amaters_metric *m);

/* Returns the sum of the values (as amaters_metric_value) of every
 * series of the family called name (counter names with their "_total"),
 * skipping the series whose label label_name has the value except_value
 * when both are not NULL (a label the family lacks skips nothing). 0
 * when there is no such family. For summaries
 * such as the periodic metrics snapshot (total calls, calls that failed);
 * takes the registry lock: not for hot paths. */
double amaters_metrics_sum(const char *name, const char *label_name,
                           const char *except_value);

/* Returns how many observations a histogram has had (0 for NULL or other
 * types). */
uint64_t amaters_histogram_count(const struct amaters_metric *m);

/* Registers cb(arg) to run just before every rendering, e.g. to refresh a
 * gauge of keys stored. Callbacks run on the rendering thread, in
 * registration order, under a collectors mutex: they may update metrics
 * and create children but must not add or remove collectors or render.
 * Returns 0, AMATERS_EEXISTS if the same (cb, arg) is registered already,
 * AMATERS_EINVAL for NULL cb, or AMATERS_ETOOBIG beyond 64 collectors. */
int amaters_metrics_add_collector(void (*cb)(void *arg), void *arg);

/* Unregisters (cb, arg). When this returns, cb is not running and will
 * not run again, so arg may be freed. Returns 0 or AMATERS_ENOTFOUND. */
int amaters_metrics_remove_collector(void (*cb)(void *arg), void *arg);

/* Runs the collectors, then renders every family in Prometheus text format
 * 0.0.4: families sorted by name, one # HELP and # TYPE each, children
 * sorted by label values, histograms as cumulative _bucket{le=...} series
 * ending with le="+Inf", then _sum and _count. On success *out is a
 * NUL-terminated buffer the caller frees with amaters_free and *len its
 * length. Returns 0, AMATERS_ENOMEM or AMATERS_ETOOBIG (output over
 * AMATERS_METRICS_MAX_RENDER). */
int amaters_metrics_render(char **out, size_t *len);

/* Formats v the way the exposition does (integers without exponent,
 * shortest round-trip form otherwise, "+Inf", "-Inf", "NaN") into buf
 * (at least 32 bytes). Returns buf. */
char *amaters_metrics_format_double(double v, char *buf, size_t len);

/* Frees every family and child and forgets every collector. For tests;
 * must not race any other call, and invalidates every pointer returned
 * above. */
void amaters_metrics_reset(void);

#endif
