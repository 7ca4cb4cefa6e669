/*
 * bootstrap.h - programmable bootstrapping (PBS).
 *
 * The bootstrapping key (BSK) is one Fourier GGSW per bit of the small LWE
 * key, encrypted under the GLWE key. A PBS modulus-switches the input LWE
 * (dimension n) to Z_{2N}, blind-rotates the lookup-table polynomial by
 * the switched phase with n CMUXes, and sample-extracts coefficient 0: an
 * LWE of dimension k*N under the flattened GLWE key holding LUT(phase)
 * with fresh noise. The BSK is immutable after generation (any thread);
 * a scratch is per thread.
 */
#ifndef AMATERS_FHE_BOOTSTRAP_H
#define AMATERS_FHE_BOOTSTRAP_H

#include <stddef.h>
#include <stdint.h>

#include "fhe/fft.h"
#include "fhe/ggsw.h"
#include "fhe/rng.h"

struct amaters_fhe_bsk {
    struct amaters_fhe_ggsw_shape shape;
    size_t lwe_dim;      /* n: number of GGSWs */
    double *fft;         /* lwe_dim * ggsw_fft_len doubles, owned */
};

/* Per-thread PBS scratch; free with amaters_fhe_pbs_scratch_free. */
struct amaters_fhe_pbs_scratch {
    struct amaters_fhe_ep_scratch *ep;
    uint64_t *acc;       /* (k+1) * N accumulator */
};

/* Allocates bsk's table (contents undefined); free with
 * amaters_fhe_bsk_destroy. Returns 0 or AMATERS_ENOMEM. */
int amaters_fhe_bsk_alloc(struct amaters_fhe_bsk *bsk, size_t lwe_dim,
                          const struct amaters_fhe_ggsw_shape *shape);

/* Generates bsk for lwe_key (lwe_dim bits) under the GLWE key (given as
 * coefficients and in Fourier form).
 * Free with amaters_fhe_bsk_destroy. Returns 0, AMATERS_ENOMEM or the
 * rng's error. */
int amaters_fhe_bsk_generate(struct amaters_fhe_bsk *bsk,
                             const uint64_t *lwe_key, size_t lwe_dim,
                             const uint64_t *glwe_key,
                             const double *glwe_key_fft,
                             const struct amaters_fhe_ggsw_shape *shape,
                             const struct amaters_fhe_fft *f, double std,
                             struct amaters_fhe_rng *mask_rng,
                             struct amaters_fhe_rng *noise_rng);

/* Frees the key material. */
void amaters_fhe_bsk_destroy(struct amaters_fhe_bsk *bsk);

/* Allocates a scratch sized for bsk (*out freed with
 * amaters_fhe_pbs_scratch_free). Returns 0 or AMATERS_ENOMEM. */
int amaters_fhe_pbs_scratch_new(const struct amaters_fhe_bsk *bsk,
                                struct amaters_fhe_pbs_scratch **out);
void amaters_fhe_pbs_scratch_free(struct amaters_fhe_pbs_scratch *sc);

/* Fills the LUT polynomial (N coefficients) for a plaintext space of
 * `count` values (a power of two <= N/2; the padding bit makes the phase
 * live in [0, 1/2)): input m selects values[m] (torus elements). The table
 * is pre-rotated by half a box so that noise of either sign around m*Δ
 * maps to values[m]. */
void amaters_fhe_lut_fill(uint64_t *lut, size_t n, size_t count,
                          const uint64_t *values);

/* Blind rotation: sc->acc = X^(-round phase) * lut as a GLWE. */
void amaters_fhe_blind_rotate(const struct amaters_fhe_bsk *bsk,
                              const struct amaters_fhe_fft *f,
                              const uint64_t *lwe_in, const uint64_t *lut,
                              struct amaters_fhe_pbs_scratch *sc);

/* Full PBS: out (k*N + 1 words) = LUT applied to in (lwe_dim + 1). */
void amaters_fhe_pbs(const struct amaters_fhe_bsk *bsk,
                     const struct amaters_fhe_fft *f, uint64_t *out,
                     const uint64_t *in, const uint64_t *lut,
                     struct amaters_fhe_pbs_scratch *sc);

#endif
