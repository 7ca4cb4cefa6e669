/*
 * torus.h - helpers for the discretized torus Z / 2^64 Z.
 *
 * A torus element t in [0,1) is stored as the uint64_t round(t * 2^64);
 * addition and integer scaling are plain wrapping uint64_t arithmetic.
 * Messages are encoded as m * Delta with Delta = 2^delta_log; the top bit
 * above the message space is the padding bit that lets a PBS evaluate any
 * (non negacyclic) function. All helpers are pure and thread-safe.
 */
#ifndef AMATERS_FHE_TORUS_H
#define AMATERS_FHE_TORUS_H

#include <math.h>
#include <stdint.h>

/* Encodes message m (reduced by the caller) as m * 2^delta_log. */
static inline uint64_t amaters_fhe_torus_encode(uint64_t m,
                                                 uint32_t delta_log)
{
    return m << delta_log;
}

/* Decodes x to the nearest multiple of 2^delta_log and returns it modulo
 * modulus (a power of two, e.g. 2 * message * carry to see the padding). */
static inline uint64_t amaters_fhe_torus_decode(uint64_t x,
                                                 uint32_t delta_log,
                                                 uint64_t modulus)
{
    uint64_t r = (x + (UINT64_C(1) << (delta_log - 1))) >> delta_log;

    return r & (modulus - 1);
}

/* Signed representative of x in [-2^63, 2^63). */
static inline int64_t amaters_fhe_torus_signed(uint64_t x)
{
    return (int64_t)x;
}

/* Converts a real number (fraction of the torus, any magnitude) to the
 * nearest torus element. */
static inline uint64_t amaters_fhe_torus_from_double(double t)
{
    double f = t - floor(t);                   /* [0, 1] */
    double v = nearbyint(f * 18446744073709551616.0);

    if (v >= 18446744073709551616.0)
        return 0;
    return (uint64_t)v;
}

/* Signed torus element as a fraction in [-0.5, 0.5). */
static inline double amaters_fhe_torus_to_double(uint64_t x)
{
    return (double)(int64_t)x * 0x1p-64;
}

/* Modulus switch with rounding from 2^64 to 2^log_mod (log_mod < 64):
 * returns round(x * 2^log_mod / 2^64) mod 2^log_mod. */
static inline uint64_t amaters_fhe_torus_mod_switch(uint64_t x,
                                                     uint32_t log_mod)
{
    uint32_t shift = 64 - log_mod;
    uint64_t r = (x >> (shift - 1)) + 1;

    return (r >> 1) & ((UINT64_C(1) << log_mod) - 1);
}

#endif
