/*
 * lwe.c - LWE encryption, phase and linear operations.
 */
#include "fhe/lwe.h"

uint64_t amaters_fhe_lwe_phase(const uint64_t *ct, const uint64_t *key,
                               size_t dim)
{
    uint64_t acc = 0;

    for (size_t i = 0; i < dim; i++)
        acc += ct[i] * key[i];
    return ct[dim] - acc;
}

void amaters_fhe_lwe_encrypt(uint64_t *ct, const uint64_t *key, size_t dim,
                             uint64_t pt, double std,
                             struct amaters_fhe_rng *mask_rng,
                             struct amaters_fhe_rng *noise_rng)
{
    uint64_t acc = 0;

    amaters_fhe_rng_fill_u64(mask_rng, ct, dim);
    for (size_t i = 0; i < dim; i++)
        acc += ct[i] * key[i];
    ct[dim] = acc + pt + amaters_fhe_rng_torus_gaussian(noise_rng, std);
}

void amaters_fhe_lwe_trivial(uint64_t *ct, size_t dim, uint64_t pt)
{
    for (size_t i = 0; i < dim; i++)
        ct[i] = 0;
    ct[dim] = pt;
}

void amaters_fhe_lwe_add(uint64_t *out, const uint64_t *a,
                         const uint64_t *b, size_t dim)
{
    for (size_t i = 0; i <= dim; i++)
        out[i] = a[i] + b[i];
}

void amaters_fhe_lwe_sub(uint64_t *out, const uint64_t *a,
                         const uint64_t *b, size_t dim)
{
    for (size_t i = 0; i <= dim; i++)
        out[i] = a[i] - b[i];
}

void amaters_fhe_lwe_neg(uint64_t *out, const uint64_t *a, size_t dim)
{
    for (size_t i = 0; i <= dim; i++)
        out[i] = (uint64_t)0 - a[i];
}

void amaters_fhe_lwe_mul_scalar(uint64_t *out, const uint64_t *a,
                                uint64_t c, size_t dim)
{
    for (size_t i = 0; i <= dim; i++)
        out[i] = a[i] * c;
}

void amaters_fhe_lwe_add_plain(uint64_t *ct, size_t dim, uint64_t pt)
{
    ct[dim] += pt;
}
