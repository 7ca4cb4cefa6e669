/*
 * keyswitch.h - LWE key switching.
 *
 * The key-switching key (KSK) turns an LWE ciphertext under in_key
 * (dimension in_dim, here the flattened GLWE key k*N) into one under
 * out_key (dimension out_dim = n) encrypting the same plaintext. For each
 * input coordinate i and level j it holds LWE_out(in_key[i] * 2^64/B^(j+1))
 * with noise std lwe_noise_std. Only the top 32 bits of each KSK word are
 * kept (rounded) and the switch runs modulo 2^32: the output is consumed
 * by a modulus switch to 2N = 2^12 and its key noise has std 2^53.9, so
 * the truncation (error std ~2^40 on the phase, docs/internals/fhe.md)
 * is negligible while the table and its memory traffic halve (34 MB).
 * Immutable after generation: any number of threads may key-switch with
 * it at once.
 */
#ifndef AMATERS_FHE_KEYSWITCH_H
#define AMATERS_FHE_KEYSWITCH_H

#include <stddef.h>
#include <stdint.h>

#include "fhe/rng.h"

/* Largest output dimension (n of the small key) a KSK may have: the key
 * switch accumulates on the stack. */
#define AMATERS_FHE_KS_MAX_OUT 4096

struct amaters_fhe_ksk {
    size_t in_dim;
    size_t out_dim;
    uint32_t base_log;
    uint32_t level;
    uint32_t *data;      /* in_dim * level * (out_dim + 1), owned */
};

/* Allocates ksk's table (contents undefined); free with
 * amaters_fhe_ksk_destroy. Returns 0, AMATERS_EINVAL when out_dim exceeds
 * AMATERS_FHE_KS_MAX_OUT, or AMATERS_ENOMEM. */
int amaters_fhe_ksk_alloc(struct amaters_fhe_ksk *ksk, size_t in_dim,
                          size_t out_dim, uint32_t base_log, uint32_t level);

/* Stores row r (out_dim + 1 full torus words) rounded to 32 bits. */
void amaters_fhe_ksk_set_row(struct amaters_fhe_ksk *ksk, size_t r,
                             const uint64_t *row);

/* Allocates and fills ksk. Row (i, j) is drawn as: out_dim mask words
 * from mask_rng, then one Gaussian from noise_rng. Free with
 * amaters_fhe_ksk_destroy. Returns 0, AMATERS_ENOMEM or the rng's
 * error. */
int amaters_fhe_ksk_generate(struct amaters_fhe_ksk *ksk,
                             const uint64_t *in_key, size_t in_dim,
                             const uint64_t *out_key, size_t out_dim,
                             uint32_t base_log, uint32_t level, double std,
                             struct amaters_fhe_rng *mask_rng,
                             struct amaters_fhe_rng *noise_rng);

/* Frees the key material (NULL data is fine). */
void amaters_fhe_ksk_destroy(struct amaters_fhe_ksk *ksk);

/* out (out_dim + 1 words) = key switch of in (in_dim + 1 words); the
 * output words are multiples of 2^32. */
void amaters_fhe_keyswitch(const struct amaters_fhe_ksk *ksk, uint64_t *out,
                           const uint64_t *in);

/* Most ciphertexts amaters_fhe_keyswitch_many switches in one pass. */
#define AMATERS_FHE_KS_BATCH 16

/* outs[b] = amaters_fhe_keyswitch(ksk, ins[b]) for b < n, bit for bit,
 * reading each KSK row once per AMATERS_FHE_KS_BATCH ciphertexts: the
 * single switch streams the 34 MB table from memory (1.8 ms, 0.55 ms when
 * it is cached); 16 at once cost ~0.72 ms each, 8 ~0.84 ms. scratch:
 * min(n, AMATERS_FHE_KS_BATCH) * (out_dim + 1) words owned by the caller
 * (one per thread). No output may alias an input of the same pass of 16
 * (outputs are written after all of the pass's inputs are read). */
void amaters_fhe_keyswitch_many(const struct amaters_fhe_ksk *ksk,
                                uint64_t *const *outs,
                                const uint64_t *const *ins, size_t n,
                                uint32_t *scratch);

#endif
