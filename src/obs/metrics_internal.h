/*
 * metrics_internal.h - the registry's data structures, shared between
 * metrics.c (registration and updates) and metrics_render.c (collectors
 * and the text exposition). Private to src/obs/.
 *
 * Threads: the family list and each family's children array are guarded
 * by the registry mutex (obs_metrics_lock); everything else in a family or
 * child is immutable after creation except the atomic values.
 */
#ifndef AMATERS_OBS_METRICS_INTERNAL_H
#define AMATERS_OBS_METRICS_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "obs/metrics.h"

struct amaters_metric {
    struct amaters_metric_family *family;
    enum amaters_metric_type type;
    char **label_values; /* family->nlabels strings */
    /* Counter or gauge value, or histogram sum, as the bit pattern of a
     * double (updated with compare-and-swap). */
    _Atomic uint64_t bits;
    /* Histogram only: family->nbounds + 1 per-bucket (non-cumulative)
     * counts, the last one for +Inf. */
    _Atomic uint64_t buckets[];
};

struct amaters_metric_family {
    enum amaters_metric_type type;
    char *name;
    char *help;
    size_t nlabels;
    char **label_names;
    size_t nbounds;  /* finite bucket bounds (histograms) */
    double *bounds;  /* strictly increasing */
    /* Sorted by label values; guarded by the registry mutex. */
    struct amaters_metric **children;
    size_t nchildren;
    size_t children_cap;
};

/* Takes / releases the registry mutex. */
void obs_metrics_lock(void);
void obs_metrics_unlock(void);

/* Returns the families sorted by name (*n of them). Call with the
 * registry mutex held; valid until it is released. */
struct amaters_metric_family *const *obs_metrics_families(size_t *n);

/* Forgets every collector (amaters_metrics_reset). */
void obs_metrics_collectors_clear(void);

/* Double <-> bit pattern for the atomic values. */
double obs_bits_to_double(uint64_t b);
uint64_t obs_double_to_bits(double d);

#endif
