/*
 * decomp.h - signed gadget decomposition with rounding.
 *
 * x in Z_{2^64} is first rounded to its top level*base_log bits, then
 * written as sum_j d_j * 2^64 / B^(j+1) (j = 0 most significant) with
 * balanced digits d_j in [-B/2, B/2), B = 2^base_log. The rounding error
 * |x - sum| <= 2^(63 - level*base_log). Pure inline helpers, any thread.
 */
#ifndef AMATERS_FHE_DECOMP_H
#define AMATERS_FHE_DECOMP_H

#include <stdint.h>

/* Rounds x to its top `bits` bits (1..64); result is in units of
 * 2^(64-bits), reduced modulo 2^bits. */
static inline uint64_t amaters_fhe_decomp_round(uint64_t x, uint32_t bits)
{
    uint32_t shift = 64 - bits;
    uint64_t v;

    if (shift == 0)
        return x;
    v = ((x >> (shift - 1)) + 1) >> 1;
    if (bits < 64)
        v &= (UINT64_C(1) << bits) - 1;
    return v;
}

/* Writes the level digits of x into d[0..level) (d[0] most significant). */
static inline void amaters_fhe_decompose(uint64_t x, uint32_t base_log,
                                         uint32_t level, int64_t *d)
{
    uint64_t v = amaters_fhe_decomp_round(x, base_log * level);
    uint64_t mask = (UINT64_C(1) << base_log) - 1;
    int64_t half = INT64_C(1) << (base_log - 1);
    int64_t carry = 0;

    for (uint32_t j = level; j-- > 0;) {
        int64_t digit = (int64_t)(v & mask) + carry;

        v >>= base_log;
        carry = digit >= half;
        if (carry)
            digit -= INT64_C(1) << base_log;
        d[j] = digit;
    }
}

/* Gadget value 2^64 / B^(j+1) for level j (as a torus element). */
static inline uint64_t amaters_fhe_gadget(uint32_t base_log, uint32_t j)
{
    return UINT64_C(1) << (64 - base_log * (j + 1));
}

#endif
