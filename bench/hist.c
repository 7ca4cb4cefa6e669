/*
 * hist.c - the log-linear latency histogram of hist.h.
 *
 * Bucket index of v: v itself below 2 * SUB; otherwise, with e the number
 * of low bits dropped so that v >> e lies in [SUB, 2 * SUB), the index is
 * SUB + e * SUB + ((v >> e) - SUB). Bucket widths are 2^e against values
 * of at least SUB * 2^e, hence the 1/SUB relative precision.
 */
#include "hist.h"

#include <math.h>
#include <string.h>

static unsigned bucket_of(uint64_t v)
{
    if (v < 2 * BENCH_HIST_SUB)
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned e = msb - BENCH_HIST_SUB_BITS;
    return BENCH_HIST_SUB + e * BENCH_HIST_SUB +
           (unsigned)((v >> e) - BENCH_HIST_SUB);
}

/* Lowest value of bucket i and its width. */
static void bucket_range(unsigned i, uint64_t *lo, uint64_t *width)
{
    if (i < 2 * BENCH_HIST_SUB) {
        *lo = i;
        *width = 1;
        return;
    }
    unsigned e = (i - BENCH_HIST_SUB) / BENCH_HIST_SUB;
    uint64_t mant = BENCH_HIST_SUB + (i - BENCH_HIST_SUB) % BENCH_HIST_SUB;
    *lo = mant << e;
    *width = (uint64_t)1 << e;
}

void bench_hist_init(struct bench_hist *h)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

void bench_hist_record(struct bench_hist *h, uint64_t v)
{
    h->counts[bucket_of(v)]++;
    h->total++;
    h->sum += (double)v;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src)
{
    for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++)
        dst->counts[i] += src->counts[i];
    dst->total += src->total;
    dst->sum += src->sum;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t bench_hist_quantile(const struct bench_hist *h, double q)
{
    if (h->total == 0)
        return 0;
    double want = ceil(q * (double)h->total);
    uint64_t rank = want < 1 ? 1 : (uint64_t)want;
    if (rank >= h->total)
        return h->max;
    uint64_t seen = 0;
    for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen < rank)
            continue;
        uint64_t lo, width;
        bucket_range(i, &lo, &width);
        uint64_t mid = lo + width / 2;
        if (mid < h->min)
            mid = h->min;
        if (mid > h->max)
            mid = h->max;
        return mid;
    }
    return h->max;
}

double bench_hist_mean(const struct bench_hist *h)
{
    return h->total ? h->sum / (double)h->total : 0.0;
}
