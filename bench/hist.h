/*
 * hist.h - a latency histogram for the benchmark programs.
 *
 * Log-linear buckets in the manner of HdrHistogram: values below 256 are
 * counted exactly; above, every power of two is split into 128 equal
 * buckets, so a reported quantile (a bucket's midpoint) is within 0.4 % of
 * the true value and always within 0.8 %. Values are nanoseconds (any
 * unit works). One histogram is about 60 KiB and allocation-free: embed it.
 *
 * Threads: a histogram is not synchronised. Each thread records into its
 * own; merge them after the threads are joined.
 */
#ifndef BENCH_HIST_H
#define BENCH_HIST_H

#include <stdint.h>

#define BENCH_HIST_SUB_BITS 7
#define BENCH_HIST_SUB (1u << BENCH_HIST_SUB_BITS)
/* 2 * SUB exact buckets, then SUB buckets for each of 56 more octaves. */
#define BENCH_HIST_BUCKETS (BENCH_HIST_SUB * (64 - BENCH_HIST_SUB_BITS + 1))

struct bench_hist {
    uint64_t counts[BENCH_HIST_BUCKETS];
    uint64_t total; /* values recorded */
    uint64_t min;   /* smallest value (UINT64_MAX when empty) */
    uint64_t max;   /* largest value (0 when empty) */
    double sum;     /* sum of values, for the mean */
};

/* Empties h. */
void bench_hist_init(struct bench_hist *h);

/* Counts one value v. */
void bench_hist_record(struct bench_hist *h, uint64_t v);

/* Adds every count of src to dst. */
void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src);

/* Returns the value at quantile q (0 < q <= 1): the smallest bucket whose
 * cumulative count reaches ceil(q * total), reported as that bucket's
 * midpoint clamped to [min, max]; the last rank (q = 1) is the exact
 * maximum. Returns 0 for an empty histogram. */
uint64_t bench_hist_quantile(const struct bench_hist *h, double q);

/* Returns the mean of the recorded values (0 when empty). */
double bench_hist_mean(const struct bench_hist *h);

#endif
