/*
 * metrics.c - the metrics registry: family registration with Prometheus
 * name rules, child lookup/creation, and the lock-free updates.
 *
 * Families are kept sorted by name and each family's children sorted by
 * label values, so lookups are binary searches and rendering needs no
 * sorting. Values are doubles stored as bit patterns in atomic 64-bit
 * words and updated with compare-and-swap; histogram buckets are atomic
 * counters (per bucket, made cumulative when rendered).
 */
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "obs/metrics_internal.h"

const double amaters_latency_buckets[AMATERS_LATENCY_NBUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1,      2.5,    5,     10,
};
const size_t amaters_latency_buckets_count = AMATERS_LATENCY_NBUCKETS;

/* The registry. Guarded by reg_mu. */
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct amaters_metric_family **families;
static size_t nfamilies;
static size_t families_cap;

void obs_metrics_lock(void)
{
    pthread_mutex_lock(&reg_mu);
}

void obs_metrics_unlock(void)
{
    pthread_mutex_unlock(&reg_mu);
}

struct amaters_metric_family *const *obs_metrics_families(size_t *n)
{
    *n = nfamilies;
    return families;
}

double obs_bits_to_double(uint64_t b)
{
    double d;

    memcpy(&d, &b, sizeof d);
    return d;
}

uint64_t obs_double_to_bits(double d)
{
    uint64_t b;

    memcpy(&b, &d, sizeof b);
    return b;
}

/* ---- validation ---- */

static bool name_char(char c, bool first, bool colon)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
        return true;
    if (colon && c == ':')
        return true;
    return !first && c >= '0' && c <= '9';
}

static bool valid_name(const char *s, bool colon)
{
    if (s == NULL || *s == '\0' || strlen(s) > AMATERS_METRICS_MAX_NAME)
        return false;
    for (size_t i = 0; s[i]; i++) {
        if (!name_char(s[i], i == 0, colon))
            return false;
    }
    return true;
}

static bool valid_labels(enum amaters_metric_type t,
                         const char *const *names, size_t n)
{
    if (n > AMATERS_METRICS_MAX_LABELS || (n > 0 && names == NULL))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!valid_name(names[i], false) || strncmp(names[i], "__", 2) == 0)
            return false;
        if (t == AMATERS_METRIC_HISTOGRAM && strcmp(names[i], "le") == 0)
            return false;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(names[i], names[j]) == 0)
                return false;
        }
    }
    return true;
}

/* Checks histogram bounds: finite and strictly increasing. *n drops a
 * trailing +Inf. */
static bool valid_bounds(const double *b, size_t *n)
{
    if (*n > 0 && isinf(b[*n - 1]) && b[*n - 1] > 0)
        (*n)--;
    if (*n > AMATERS_METRICS_MAX_BUCKETS)
        return false;
    for (size_t i = 0; i < *n; i++) {
        if (!isfinite(b[i]))
            return false;
        if (i > 0 && !(b[i] > b[i - 1]))
            return false;
    }
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s);
    size_t m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* ---- families ---- */

/* Binary search for name in the sorted family list. Returns its index and
 * sets *found, or returns the index where it would be inserted. Call with
 * reg_mu held. */
static size_t find_family(const char *name, bool *found)
{
    size_t lo = 0;
    size_t hi = nfamilies;

    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(families[mid]->name, name);

        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* True if a new family called name would produce the same series names as
 * an existing one: a histogram's name_bucket/_sum/_count against another
 * family's name. Call with reg_mu held. */
static bool clashes(enum amaters_metric_type t, const char *name)
{
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    char buf[AMATERS_METRICS_MAX_NAME + 16];
    bool found;
    size_t i;

    for (size_t s = 0; s < sizeof suffixes / sizeof suffixes[0]; s++) {
        if (t == AMATERS_METRIC_HISTOGRAM) {
            snprintf(buf, sizeof buf, "%s%s", name, suffixes[s]);
            find_family(buf, &found);
            if (found)
                return true;
        }
        if (ends_with(name, suffixes[s])) {
            snprintf(buf, sizeof buf, "%.*s",
                     (int)(strlen(name) - strlen(suffixes[s])), name);
            i = find_family(buf, &found);
            if (found && families[i]->type == AMATERS_METRIC_HISTOGRAM)
                return true;
        }
    }
    return false;
}

/* True if the existing family f was registered with the same type, label
 * names and bucket bounds. */
static bool same_shape(const struct amaters_metric_family *f,
                       enum amaters_metric_type t, const char *const *labels,
                       size_t nlabels, const double *bounds, size_t nbounds)
{
    if (f->type != t || f->nlabels != nlabels || f->nbounds != nbounds)
        return false;
    for (size_t i = 0; i < nlabels; i++) {
        if (strcmp(f->label_names[i], labels[i]) != 0)
            return false;
    }
    for (size_t i = 0; i < nbounds; i++) {
        if (f->bounds[i] != bounds[i])
            return false;
    }
    return true;
}

static void free_strings(char **v, size_t n)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        amaters_free(v[i]);
    amaters_free(v);
}

/* Copies n strings; NULL if out of memory. For n == 0 returns NULL with
 * *ok still true. */
static char **dup_strings(const char *const *src, size_t n, bool *ok)
{
    char **v;

    *ok = true;
    if (n == 0)
        return NULL;
    v = amaters_calloc(n, sizeof *v);
    if (v == NULL)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        v[i] = amaters_strdup(src[i]);
        if (v[i] == NULL)
            goto fail_free;
    }
    return v;
fail_free:
    free_strings(v, n);
fail:
    *ok = false;
    return NULL;
}

static void child_free(struct amaters_metric *m, size_t nlabels)
{
    free_strings(m->label_values, nlabels);
    amaters_free(m);
}

static void family_free(struct amaters_metric_family *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->nchildren; i++)
        child_free(f->children[i], f->nlabels);
    amaters_free(f->children);
    free_strings(f->label_names, f->nlabels);
    amaters_free(f->bounds);
    amaters_free(f->help);
    amaters_free(f->name);
    amaters_free(f);
}

static struct amaters_metric_family *
family_new(enum amaters_metric_type t, const char *name, const char *help,
           const char *const *labels, size_t nlabels, const double *bounds,
           size_t nbounds)
{
    struct amaters_metric_family *f = amaters_calloc(1, sizeof *f);
    bool ok;

    if (f == NULL)
        return NULL;
    f->type = t;
    f->nlabels = nlabels;
    f->nbounds = nbounds;
    f->name = amaters_strdup(name);
    f->help = amaters_strdup(help != NULL ? help : "");
    f->label_names = dup_strings(labels, nlabels, &ok);
    if (f->name == NULL || f->help == NULL || !ok)
        goto fail;
    if (nbounds > 0) {
        f->bounds = amaters_malloc(nbounds * sizeof *f->bounds);
        if (f->bounds == NULL)
            goto fail;
        memcpy(f->bounds, bounds, nbounds * sizeof *f->bounds);
    }
    return f;
fail:
    family_free(f);
    return NULL;
}

/* Grows a pointer array of n entries to hold one more; returns the new
 * array or NULL (old one kept) if out of memory. */
static void *grow(void *arr, size_t n, size_t *cap, size_t elem)
{
    size_t ncap;
    void *p;

    if (n < *cap)
        return arr;
    ncap = *cap ? *cap * 2 : 16;
    p = amaters_realloc(arr, ncap * elem);
    if (p != NULL)
        *cap = ncap;
    return p;
}

/* Inserts f at index i of the family list. Returns false if out of
 * memory. Call with reg_mu held. */
static bool insert_family(size_t i, struct amaters_metric_family *f)
{
    struct amaters_metric_family **p;

    p = grow(families, nfamilies, &families_cap, sizeof *p);
    if (p == NULL)
        return false;
    families = p;
    memmove(p + i + 1, p + i, (nfamilies - i) * sizeof *p);
    p[i] = f;
    nfamilies++;
    return true;
}

/* Inserts m at index i of f's children. Returns false if out of memory.
 * Call with reg_mu held. */
static bool insert_child(struct amaters_metric_family *f, size_t i,
                         struct amaters_metric *m)
{
    struct amaters_metric **p;

    p = grow(f->children, f->nchildren, &f->children_cap, sizeof *p);
    if (p == NULL)
        return false;
    f->children = p;
    memmove(p + i + 1, p + i, (f->nchildren - i) * sizeof *p);
    p[i] = m;
    f->nchildren++;
    return true;
}

struct amaters_metric_family *
amaters_metrics_family(enum amaters_metric_type t, const char *name,
                       const char *help, const char *const *label_names,
                       size_t nlabels, const double *buckets,
                       size_t nbuckets)
{
    char full[AMATERS_METRICS_MAX_NAME + 8];
    struct amaters_metric_family *f = NULL;
    const double *b = NULL;
    size_t nb = 0;
    bool found;
    size_t i;

    if ((int)t < AMATERS_METRIC_COUNTER || (int)t > AMATERS_METRIC_HISTOGRAM)
        return NULL;
    if (!valid_name(name, true) || !valid_labels(t, label_names, nlabels))
        return NULL;
    if (t == AMATERS_METRIC_COUNTER && !ends_with(name, "_total"))
        snprintf(full, sizeof full, "%s_total", name);
    else
        snprintf(full, sizeof full, "%s", name);
    if (t == AMATERS_METRIC_HISTOGRAM) {
        b = buckets != NULL ? buckets : amaters_latency_buckets;
        nb = buckets != NULL ? nbuckets : AMATERS_LATENCY_NBUCKETS;
        if (!valid_bounds(b, &nb))
            return NULL;
    }

    pthread_mutex_lock(&reg_mu);
    i = find_family(full, &found);
    if (found) {
        if (same_shape(families[i], t, label_names, nlabels, b, nb))
            f = families[i];
        goto out;
    }
    if (clashes(t, full))
        goto out;
    f = family_new(t, full, help, label_names, nlabels, b, nb);
    if (f == NULL)
        goto out;
    if (!insert_family(i, f)) {
        family_free(f);
        f = NULL;
    }
out:
    pthread_mutex_unlock(&reg_mu);
    return f;
}

/* ---- children ---- */

static int cmp_values(char *const *a, const char *const *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int c = strcmp(a[i], b[i]);

        if (c != 0)
            return c;
    }
    return 0;
}

static struct amaters_metric *child_new(struct amaters_metric_family *f,
                                        const char *const *values)
{
    size_t nb = f->type == AMATERS_METRIC_HISTOGRAM ? f->nbounds + 1 : 0;
    struct amaters_metric *m;
    bool ok;

    m = amaters_calloc(1, sizeof *m + nb * sizeof m->buckets[0]);
    if (m == NULL)
        return NULL;
    m->family = f;
    m->type = f->type;
    atomic_init(&m->bits, obs_double_to_bits(0.0));
    for (size_t i = 0; i < nb; i++)
        atomic_init(&m->buckets[i], 0);
    m->label_values = dup_strings(values, f->nlabels, &ok);
    if (!ok) {
        amaters_free(m);
        return NULL;
    }
    return m;
}

struct amaters_metric *
amaters_metric_child(struct amaters_metric_family *f,
                     const char *const *label_values)
{
    struct amaters_metric *m = NULL;
    size_t lo = 0;
    size_t hi;

    if (f == NULL || (f->nlabels > 0 && label_values == NULL))
        return NULL;
    for (size_t i = 0; i < f->nlabels; i++) {
        if (label_values[i] == NULL)
            return NULL;
    }
    pthread_mutex_lock(&reg_mu);
    hi = f->nchildren;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_values(f->children[mid]->label_values, label_values,
                           f->nlabels);

        if (c == 0) {
            m = f->children[mid];
            goto out;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (f->nchildren >= AMATERS_METRICS_MAX_CHILDREN)
        goto out;
    m = child_new(f, label_values);
    if (m == NULL)
        goto out;
    if (!insert_child(f, lo, m)) {
        child_free(m, f->nlabels);
        m = NULL;
    }
out:
    pthread_mutex_unlock(&reg_mu);
    return m;
}

void amaters_metrics_count(const char *name, const char *help,
                           const char *const *label_names,
                           const char *const *label_values, size_t nlabels,
                           double v)
{
    struct amaters_metric_family *f = amaters_metrics_family(
        AMATERS_METRIC_COUNTER, name, help, label_names, nlabels, NULL, 0);
    struct amaters_metric *m = f ? amaters_metric_child(f, label_values)
                                 : NULL;
    if (m)
        amaters_counter_add(m, v);
}

struct amaters_metric *amaters_metrics_simple(enum amaters_metric_type t,
                                              const char *name,
                                              const char *help)
{
    struct amaters_metric_family *f;

    f = amaters_metrics_family(t, name, help, NULL, 0, NULL, 0);
    return amaters_metric_child(f, NULL);
}

/* ---- updates ---- */

static void add_double(_Atomic uint64_t *a, double v)
{
    uint64_t old = atomic_load_explicit(a, memory_order_relaxed);
    uint64_t next;

    do {
        next = obs_double_to_bits(obs_bits_to_double(old) + v);
    } while (!atomic_compare_exchange_weak_explicit(
        a, &old, next, memory_order_relaxed, memory_order_relaxed));
}

void amaters_counter_add(struct amaters_metric *m, double v)
{
    if (m == NULL || m->type != AMATERS_METRIC_COUNTER || !(v > 0))
        return;
    add_double(&m->bits, v);
}

void amaters_counter_inc(struct amaters_metric *m)
{
    amaters_counter_add(m, 1.0);
}

void amaters_gauge_set(struct amaters_metric *m, double v)
{
    if (m == NULL || m->type != AMATERS_METRIC_GAUGE)
        return;
    atomic_store_explicit(&m->bits, obs_double_to_bits(v),
                          memory_order_relaxed);
}

void amaters_gauge_add(struct amaters_metric *m, double v)
{
    if (m == NULL || m->type != AMATERS_METRIC_GAUGE)
        return;
    add_double(&m->bits, v);
}

/* Index of the first bucket whose bound is >= v (nbounds = +Inf). */
static size_t bucket_index(const struct amaters_metric_family *f, double v)
{
    size_t lo = 0;
    size_t hi = f->nbounds;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (v <= f->bounds[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

void amaters_histogram_observe(struct amaters_metric *m, double v)
{
    if (m == NULL || m->type != AMATERS_METRIC_HISTOGRAM || isnan(v))
        return;
    atomic_fetch_add_explicit(&m->buckets[bucket_index(m->family, v)], 1,
                              memory_order_relaxed);
    add_double(&m->bits, v);
}

double amaters_metric_value(const struct amaters_metric *m)
{
    if (m == NULL)
        return 0.0;
    return obs_bits_to_double(
        atomic_load_explicit(&m->bits, memory_order_relaxed));
}

uint64_t amaters_histogram_count(const struct amaters_metric *m)
{
    uint64_t total = 0;

    if (m == NULL || m->type != AMATERS_METRIC_HISTOGRAM)
        return 0;
    for (size_t i = 0; i <= m->family->nbounds; i++)
        total += atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
    return total;
}

double amaters_metrics_sum(const char *name, const char *label_name,
                           const char *except_value)
{
    const struct amaters_metric_family *f;
    size_t label = 0;
    double sum = 0.0;
    bool found;
    size_t i;

    if (name == NULL)
        return 0.0;
    pthread_mutex_lock(&reg_mu);
    i = find_family(name, &found);
    f = found ? families[i] : NULL;
    if (f != NULL && label_name != NULL) {
        while (label < f->nlabels && strcmp(f->label_names[label],
                                            label_name) != 0)
            label++;
    }
    for (i = 0; f != NULL && i < f->nchildren; i++) {
        const struct amaters_metric *m = f->children[i];

        if (label_name != NULL && except_value != NULL &&
            label < f->nlabels &&
            strcmp(m->label_values[label], except_value) == 0)
            continue;
        sum += amaters_metric_value(m);
    }
    pthread_mutex_unlock(&reg_mu);
    return sum;
}

void amaters_metrics_reset(void)
{
    pthread_mutex_lock(&reg_mu);
    for (size_t i = 0; i < nfamilies; i++)
        family_free(families[i]);
    amaters_free(families);
    families = NULL;
    nfamilies = 0;
    families_cap = 0;
    pthread_mutex_unlock(&reg_mu);
    obs_metrics_collectors_clear();
}
