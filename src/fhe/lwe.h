/*
 * lwe.h - LWE ciphertexts over Z_{2^64}.
 *
 * An LWE ciphertext of dimension n is an array of n + 1 uint64_t owned by
 * the caller: the mask a[0..n) then the body b = a[n]. Its phase under the
 * binary key s (n uint64_t, each 0 or 1) is b - <a, s> = plaintext +
 * noise. Functions are pure over caller buffers; a struct amaters_fhe_rng
 * argument may be used by one thread at a time.
 */
#ifndef AMATERS_FHE_LWE_H
#define AMATERS_FHE_LWE_H

#include <stddef.h>
#include <stdint.h>

#include "fhe/rng.h"

/* Encrypts plaintext pt under key (dim entries): mask from mask_rng,
 * Gaussian noise of torus std dev `std` from noise_rng. */
void amaters_fhe_lwe_encrypt(uint64_t *ct, const uint64_t *key, size_t dim,
                             uint64_t pt, double std,
                             struct amaters_fhe_rng *mask_rng,
                             struct amaters_fhe_rng *noise_rng);

/* Returns the phase b - <a, key>. */
uint64_t amaters_fhe_lwe_phase(const uint64_t *ct, const uint64_t *key,
                               size_t dim);

/* ct = (0, ..., 0, pt): a noiseless encryption under any key. */
void amaters_fhe_lwe_trivial(uint64_t *ct, size_t dim, uint64_t pt);

/* out = a + b, out = a - b, out = -a, out = c * a (wrapping); out may
 * alias an input. */
void amaters_fhe_lwe_add(uint64_t *out, const uint64_t *a,
                         const uint64_t *b, size_t dim);
void amaters_fhe_lwe_sub(uint64_t *out, const uint64_t *a,
                         const uint64_t *b, size_t dim);
void amaters_fhe_lwe_neg(uint64_t *out, const uint64_t *a, size_t dim);
void amaters_fhe_lwe_mul_scalar(uint64_t *out, const uint64_t *a,
                                uint64_t c, size_t dim);

/* ct.body += pt. */
void amaters_fhe_lwe_add_plain(uint64_t *ct, size_t dim, uint64_t pt);

#endif
