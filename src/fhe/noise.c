/*
 * noise.c - closed-form noise variances (see docs/internals/fhe.md).
 */
#include "fhe/noise.h"

#include <math.h>

/* E[d^2] of a balanced digit uniform in [-B/2, B/2). */
static double digit_sq(uint32_t base_log)
{
    double b = ldexp(1.0, (int)base_log);

    return (b * b + 2.0) / 12.0;
}

double amaters_fhe_noise_fresh_var(const struct amaters_fhe_params *p)
{
    return p->glwe_noise_std * p->glwe_noise_std;
}

double amaters_fhe_noise_ks_var(const struct amaters_fhe_params *p)
{
    double big = (double)p->glwe_dim * p->poly_size;
    double key = big * p->ks_level * digit_sq(p->ks_base_log) *
                 p->lwe_noise_std * p->lwe_noise_std;
    /* Rounding to ks_level * ks_base_log bits, times binary key bits
     * (E[s^2] = 1/2). */
    double eps = ldexp(1.0, -2 * (int)(p->ks_level * p->ks_base_log)) / 12.0;
    /* KSK words rounded to 32 bits (keyswitch.h): error 2^-64/12 per word,
     * times the digits, on the n masks (times the key) and the body. */
    double trunc = ((double)p->lwe_dim * 0.5 + 1.0) * big * p->ks_level *
                   digit_sq(p->ks_base_log) * 0x1p-64 / 12.0;

    return key + big * 0.5 * eps + trunc;
}

double amaters_fhe_noise_ms_var(const struct amaters_fhe_params *p)
{
    double two_n = 2.0 * p->poly_size;

    return ((double)p->lwe_dim * 0.5 + 1.0) / (12.0 * two_n * two_n);
}

double amaters_fhe_noise_fft_var(const struct amaters_fhe_params *p)
{
    double k = p->glwe_dim, n = p->poly_size;

    /* Rounding of the double FFT on one output coefficient of an external
     * product: kappa * log2(N) * (k+1) l N E[d^2] E[t^2] * 2^-106, with
     * E[t^2] = 1/12 for uniform torus values, kappa fitted on
     * test_fhe_fft (see docs/internals/fhe.md). */
    return AMATERS_FHE_FFT_KAPPA * log2(n) * (k + 1.0) * p->pbs_level * n *
           digit_sq(p->pbs_base_log) / 12.0 * 0x1p-106;
}

double amaters_fhe_noise_pbs_var(const struct amaters_fhe_params *p)
{
    double k = p->glwe_dim, n = p->poly_size;
    double key = (k + 1.0) * p->pbs_level * n * digit_sq(p->pbs_base_log) *
                 p->glwe_noise_std * p->glwe_noise_std;
    double eps = ldexp(1.0, -2 * (int)(p->pbs_level * p->pbs_base_log)) /
                 12.0;
    /* mu = key bit: E[mu^2] = 1/2; rounding of the body and of k*N mask
     * coefficients multiplied by the GLWE key (E[S^2] = 1/2). */
    double round = 0.5 * eps * (1.0 + k * n * 0.5);
    /* FFT error lands on the body and on the masks (times the key). */
    double fft = amaters_fhe_noise_fft_var(p) * (1.0 + k * n * 0.5);

    return (double)p->lwe_dim * (key + round + fft);
}

double amaters_fhe_noise_worst_var(const struct amaters_fhe_params *p)
{
    double lv = p->max_noise_level;

    /* noise_level bounds the L1 norm of the combination, so the std is at
     * most max_noise_level PBS stds (conservative for plain sums). */
    return lv * lv * amaters_fhe_noise_pbs_var(p) +
           amaters_fhe_noise_ks_var(p) + amaters_fhe_noise_ms_var(p);
}

double amaters_fhe_noise_log2_pfail(const struct amaters_fhe_params *p)
{
    double delta = ldexp(1.0, (int)amaters_fhe_params_delta_log(p) - 64);
    double z = delta / 2.0 / sqrt(amaters_fhe_noise_worst_var(p));

    return log2(erfc(z / sqrt(2.0)));
}
