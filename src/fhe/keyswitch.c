/*
 * keyswitch.c - KSK generation and the LWE key switch.
 */
#include "fhe/keyswitch.h"

#include <string.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "fhe/decomp.h"
#include "fhe/fft_impl.h"
#include "fhe/lwe.h"
#include "fhe/mem.h"

int amaters_fhe_ksk_alloc(struct amaters_fhe_ksk *ksk, size_t in_dim,
                          size_t out_dim, uint32_t base_log, uint32_t level)
{
    memset(ksk, 0, sizeof(*ksk));
    if (out_dim > AMATERS_FHE_KS_MAX_OUT)
        return AMATERS_EINVAL;
    ksk->data = amaters_fhe_alloc_large(in_dim * level * (out_dim + 1) *
                                        sizeof(uint32_t));
    if (ksk->data == NULL)
        return AMATERS_ENOMEM;
    ksk->in_dim = in_dim;
    ksk->out_dim = out_dim;
    ksk->base_log = base_log;
    ksk->level = level;
    return 0;
}

void amaters_fhe_ksk_set_row(struct amaters_fhe_ksk *ksk, size_t r,
                             const uint64_t *row)
{
    uint32_t *dst = ksk->data + r * (ksk->out_dim + 1);

    /* round to the top 32 bits (see keyswitch.h) */
    for (size_t t = 0; t <= ksk->out_dim; t++)
        dst[t] = (uint32_t)((row[t] + (UINT64_C(1) << 31)) >> 32);
}

int amaters_fhe_ksk_generate(struct amaters_fhe_ksk *ksk,
                             const uint64_t *in_key, size_t in_dim,
                             const uint64_t *out_key, size_t out_dim,
                             uint32_t base_log, uint32_t level, double std,
                             struct amaters_fhe_rng *mask_rng,
                             struct amaters_fhe_rng *noise_rng)
{
    uint64_t *row;
    int rc;

    rc = amaters_fhe_ksk_alloc(ksk, in_dim, out_dim, base_log, level);
    if (rc != 0)
        return rc;
    row = amaters_malloc((out_dim + 1) * sizeof(uint64_t));
    if (row == NULL) {
        amaters_fhe_ksk_destroy(ksk);
        return AMATERS_ENOMEM;
    }
    for (size_t i = 0; i < in_dim; i++) {
        for (uint32_t j = 0; j < level; j++) {
            uint64_t pt = in_key[i] * amaters_fhe_gadget(base_log, j);

            amaters_fhe_lwe_encrypt(row, out_key, out_dim, pt, std,
                                    mask_rng, noise_rng);
            amaters_fhe_ksk_set_row(ksk, i * level + j, row);
        }
    }
    amaters_free(row);
    rc = amaters_fhe_rng_error(mask_rng);
    if (rc == 0)
        rc = amaters_fhe_rng_error(noise_rng);
    if (rc != 0)
        amaters_fhe_ksk_destroy(ksk);
    return rc;
}

void amaters_fhe_ksk_destroy(struct amaters_fhe_ksk *ksk)
{
    if (ksk == NULL)
        return;
    amaters_free(ksk->data);
    memset(ksk, 0, sizeof(*ksk));
}

/* One pass over the KSK for n <= AMATERS_FHE_KS_BATCH ciphertexts. */
static void keyswitch_pass(const struct amaters_fhe_ksk *ksk,
                           uint64_t *const *outs, const uint64_t *const *ins,
                           size_t n, uint32_t *scratch)
{
    size_t od = ksk->out_dim, row = od + 1;
    uint32_t lv = ksk->level;
    const struct amaters_fhe_fft_kernels *kern = amaters_fhe_kernels_best();
    int64_t d[AMATERS_FHE_KS_BATCH][64];
    uint32_t *acc[AMATERS_FHE_KS_BATCH];

    for (size_t b = 0; b < n; b++)
        acc[b] = scratch + b * row;

    /* Accumulate modulo 2^32 (the KSK's precision), then move the results
     * to the top halves of the 64-bit torus elements. The row loop is
     * outside the ciphertext loop: each row is read once for all n. */
    for (size_t b = 0; b < n; b++) {
        memset(acc[b], 0, od * sizeof(uint32_t));
        acc[b][od] =
            (uint32_t)((ins[b][ksk->in_dim] + (UINT64_C(1) << 31)) >> 32);
    }
    for (size_t i = 0; i < ksk->in_dim; i++) {
        for (size_t b = 0; b < n; b++)
            amaters_fhe_decompose(ins[b][i], ksk->base_log, lv, d[b]);
        for (uint32_t j = 0; j < lv; j++) {
            const uint32_t *k = ksk->data + (i * lv + j) * row;

            for (size_t b = 0; b < n; b++)
                if (d[b][j] != 0)
                    kern->sub_mul_u32(acc[b], k, (uint32_t)d[b][j], row);
        }
    }
    for (size_t b = 0; b < n; b++)
        for (size_t t = 0; t < row; t++)
            outs[b][t] = (uint64_t)acc[b][t] << 32;
}

void amaters_fhe_keyswitch_many(const struct amaters_fhe_ksk *ksk,
                                uint64_t *const *outs,
                                const uint64_t *const *ins, size_t n,
                                uint32_t *scratch)
{
    for (size_t at = 0; at < n; at += AMATERS_FHE_KS_BATCH)
        keyswitch_pass(ksk, outs + at, ins + at,
                       n - at < AMATERS_FHE_KS_BATCH ? n - at
                                                     : AMATERS_FHE_KS_BATCH,
                       scratch);
}

void amaters_fhe_keyswitch(const struct amaters_fhe_ksk *ksk, uint64_t *out,
                           const uint64_t *in)
{
    uint32_t acc[AMATERS_FHE_KS_MAX_OUT + 1];

    amaters_fhe_keyswitch_many(ksk, &out, &in, 1, acc);
}
