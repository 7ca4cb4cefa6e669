/*
 * ggsw.h - GGSW ciphertexts in Fourier form, external product and CMUX.
 *
 * A GGSW ciphertext of a small integer mu is (k+1)*level GLWE rows; row
 * (i, j) has the phase of a GLWE of zero with mu * 2^64 / B^(j+1) added to
 * polynomial i (i < k: a mask, i = k: the body); it is stored as a GLWE
 * of -mu g_j S_i (i < k) so that the masks are pure XOF output. The
 * evaluation form is Fourier only: (k+1)*level*(k+1) Fourier polynomials
 * of N doubles, row-major, caller owned. The external product
 * GGSW(mu) x GLWE(m) = GLWE(mu * m) decomposes each input polynomial with
 * rounding and multiplies in the FFT domain.
 * Scratch buffers are per thread; all other inputs are read only.
 */
#ifndef AMATERS_FHE_GGSW_H
#define AMATERS_FHE_GGSW_H

#include <stddef.h>
#include <stdint.h>

#include "fhe/fft.h"
#include "fhe/rng.h"

/* Shape of a GGSW / GLWE computation. */
struct amaters_fhe_ggsw_shape {
    size_t k;            /* GLWE dimension */
    size_t n;            /* polynomial size */
    uint32_t base_log;
    uint32_t level;
};

/* Number of doubles of one Fourier GGSW. */
size_t amaters_fhe_ggsw_fft_len(const struct amaters_fhe_ggsw_shape *s);

/* Per-thread scratch for external products; allocated by _new, freed by
 * amaters_fhe_ep_scratch_free. One thread at a time. */
struct amaters_fhe_ep_scratch {
    double *dec_fft;     /* max(level, k+1) * N */
    double *acc_fft;     /* (k+1) * N */
    uint64_t *diff;      /* (k+1) * N */
};

/* Returns 0 or AMATERS_ENOMEM. */
int amaters_fhe_ep_scratch_new(const struct amaters_fhe_ggsw_shape *s,
                               struct amaters_fhe_ep_scratch **out);
void amaters_fhe_ep_scratch_free(struct amaters_fhe_ep_scratch *sc);

/* Encrypts the integer mu into out (amaters_fhe_ggsw_fft_len doubles)
 * under the GLWE key, given both as coefficients (key, k*N values 0/1)
 * and in Fourier form (see glwe.h). Masks are drawn from mask_rng in row
 * order, k*N words per row. Returns 0 or AMATERS_ENOMEM. */
int amaters_fhe_ggsw_encrypt_fft(double *out,
                                 const struct amaters_fhe_ggsw_shape *s,
                                 uint64_t mu, const uint64_t *key,
                                 const double *key_fft,
                                 const struct amaters_fhe_fft *f, double std,
                                 struct amaters_fhe_rng *mask_rng,
                                 struct amaters_fhe_rng *noise_rng);

/* Encrypts row (i, j) of a GGSW of mu in the coefficient domain into row
 * ((k+1)*N words): a GLWE of -mu g_j S_i for i < k, of mu g_j for i = k.
 * Returns 0 or AMATERS_ENOMEM. */
int amaters_fhe_ggsw_row_encrypt(uint64_t *row,
                                 const struct amaters_fhe_ggsw_shape *s,
                                 size_t i, uint32_t j, uint64_t mu,
                                 const uint64_t *key, const double *key_fft,
                                 const struct amaters_fhe_fft *f, double std,
                                 struct amaters_fhe_rng *mask_rng,
                                 struct amaters_fhe_rng *noise_rng);

/* Converts one coefficient-domain row to its (k+1) Fourier polynomials. */
void amaters_fhe_ggsw_row_to_fft(double *dst, const uint64_t *row,
                                 const struct amaters_fhe_ggsw_shape *s,
                                 const struct amaters_fhe_fft *f);

/* out += ggsw x in (both GLWE, (k+1)*N words; must not alias). */
void amaters_fhe_external_product_add(uint64_t *out, const double *ggsw,
                                      const uint64_t *in,
                                      const struct amaters_fhe_ggsw_shape *s,
                                      const struct amaters_fhe_fft *f,
                                      struct amaters_fhe_ep_scratch *sc);

/* acc = ggsw(b) ? X^rot * acc : acc, in place (CMUX with the rotated
 * accumulator: acc += ggsw x (X^rot acc - acc)). rot taken mod 2N. */
void amaters_fhe_cmux_rotate(uint64_t *acc, const double *ggsw,
                             uint64_t rot,
                             const struct amaters_fhe_ggsw_shape *s,
                             const struct amaters_fhe_fft *f,
                             struct amaters_fhe_ep_scratch *sc);

#endif
