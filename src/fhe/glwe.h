/*
 * glwe.h - GLWE ciphertexts and sample extraction.
 *
 * A GLWE ciphertext with k masks and polynomial size N is an array of
 * (k + 1) * N uint64_t owned by the caller: polynomials A_0..A_{k-1}, then
 * the body B. Its phase is B - sum_i A_i S_i. The key is given as its k
 * Fourier polynomials (amaters_fhe_fft_forward_i64 of the binary key
 * polynomials, k * N doubles) so that the products are exact
 * (amaters_fhe_fft_mul_small_exact). Any thread, caller buffers; an rng
 * is used by one thread at a time.
 */
#ifndef AMATERS_FHE_GLWE_H
#define AMATERS_FHE_GLWE_H

#include <stddef.h>
#include <stdint.h>

#include "fhe/fft.h"
#include "fhe/rng.h"

/* Encrypts the plaintext polynomial pt (N coefficients, NULL = zero)
 * with torus noise std `std`. Returns 0 or AMATERS_ENOMEM. */
int amaters_fhe_glwe_encrypt(uint64_t *ct, const double *key_fft,
                             const struct amaters_fhe_fft *f, size_t k,
                             const uint64_t *pt, double std,
                             struct amaters_fhe_rng *mask_rng,
                             struct amaters_fhe_rng *noise_rng);

/* out (N coefficients) = phase of ct. Returns 0 or AMATERS_ENOMEM. */
int amaters_fhe_glwe_phase(uint64_t *out, const uint64_t *ct,
                           const double *key_fft,
                           const struct amaters_fhe_fft *f, size_t k);

/* Extracts coefficient idx (< N) of ct as an LWE ciphertext of dimension
 * k * N (k*N + 1 words) under the flattened key s'_{iN+j} = S_i[j]. */
void amaters_fhe_glwe_sample_extract(uint64_t *lwe, const uint64_t *ct,
                                     size_t k, size_t n, size_t idx);

#endif
