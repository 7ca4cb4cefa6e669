/*
 * glwe.c - GLWE encryption, phase and sample extraction.
 */
#include "fhe/glwe.h"

#include <string.h>

#include "core/alloc.h"
#include "core/errors.h"

int amaters_fhe_glwe_encrypt(uint64_t *ct, const double *key_fft,
                             const struct amaters_fhe_fft *f, size_t k,
                             const uint64_t *pt, double std,
                             struct amaters_fhe_rng *mask_rng,
                             struct amaters_fhe_rng *noise_rng)
{
    size_t n = amaters_fhe_fft_size(f);
    uint64_t *body = ct + k * n;
    uint64_t *prod = amaters_malloc(n * sizeof(uint64_t));
    int rc = 0;

    if (prod == NULL)
        return AMATERS_ENOMEM;
    for (size_t j = 0; j < n; j++)
        body[j] = (pt ? pt[j] : 0) +
                  amaters_fhe_rng_torus_gaussian(noise_rng, std);
    for (size_t i = 0; i < k; i++) {
        amaters_fhe_rng_fill_u64(mask_rng, ct + i * n, n);
        rc = amaters_fhe_fft_mul_small_exact(f, prod, ct + i * n,
                                             key_fft + i * n);
        if (rc != 0)
            goto cleanup;
        for (size_t j = 0; j < n; j++)
            body[j] += prod[j];
    }
cleanup:
    amaters_free_secret(prod, n * sizeof(uint64_t));
    return rc;
}

int amaters_fhe_glwe_phase(uint64_t *out, const uint64_t *ct,
                           const double *key_fft,
                           const struct amaters_fhe_fft *f, size_t k)
{
    size_t n = amaters_fhe_fft_size(f);
    uint64_t *prod = amaters_malloc(n * sizeof(uint64_t));
    int rc = 0;

    if (prod == NULL)
        return AMATERS_ENOMEM;
    memcpy(out, ct + k * n, n * sizeof(uint64_t));
    for (size_t i = 0; i < k; i++) {
        rc = amaters_fhe_fft_mul_small_exact(f, prod, ct + i * n,
                                             key_fft + i * n);
        if (rc != 0)
            goto cleanup;
        for (size_t j = 0; j < n; j++)
            out[j] -= prod[j];
    }
cleanup:
    amaters_free_secret(prod, n * sizeof(uint64_t));
    return rc;
}

void amaters_fhe_glwe_sample_extract(uint64_t *lwe, const uint64_t *ct,
                                     size_t k, size_t n, size_t idx)
{
    /* Coefficient idx of A_i S_i = sum_{j<=idx} A[idx-j] S[j]
     * - sum_{j>idx} A[N+idx-j] S[j]. */
    for (size_t i = 0; i < k; i++) {
        const uint64_t *a = ct + i * n;
        uint64_t *out = lwe + i * n;

        for (size_t j = 0; j <= idx; j++)
            out[j] = a[idx - j];
        for (size_t j = idx + 1; j < n; j++)
            out[j] = (uint64_t)0 - a[n + idx - j];
    }
    lwe[k * n] = ct[k * n + idx];
}
