/*
 * noise.h - the noise model of the scheme (variances as squared torus
 * fractions, i.e. divide integer variances by 2^128).
 *
 * Formulas and their derivation are in docs/internals/fhe.md; tests
 * compare them with measured variances. Pure functions, any thread.
 */
#ifndef AMATERS_FHE_NOISE_H
#define AMATERS_FHE_NOISE_H

#include "fhe/params.h"

/* Fresh encryption under the big key: sigma_glwe^2. */
double amaters_fhe_noise_fresh_var(const struct amaters_fhe_params *p);

/* Variance added by one key switch (big -> small key). */
double amaters_fhe_noise_ks_var(const struct amaters_fhe_params *p);

/* Variance of the modulus switch to Z_{2N} (as seen by the blind
 * rotation), for a small-key input. */
double amaters_fhe_noise_ms_var(const struct amaters_fhe_params *p);

/* Fitted constant of the FFT rounding model. */
#define AMATERS_FHE_FFT_KAPPA 2.8

/* Variance of the double-FFT rounding on one output coefficient of an
 * external product (before it meets the key). */
double amaters_fhe_noise_fft_var(const struct amaters_fhe_params *p);

/* Variance of a PBS output (independent of the input noise). */
double amaters_fhe_noise_pbs_var(const struct amaters_fhe_params *p);

/* Variance that decides correctness: max_noise_level^2 * PBS output + KS
 * + modulus switch; and log2 of the resulting failure probability of one
 * PBS (|noise| > Delta / 2). */
double amaters_fhe_noise_worst_var(const struct amaters_fhe_params *p);
double amaters_fhe_noise_log2_pfail(const struct amaters_fhe_params *p);

#endif
