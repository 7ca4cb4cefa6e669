/*
 * poly.h - polynomials of Z_{2^64}[X] / (X^N + 1) (negacyclic).
 *
 * A polynomial is an array of N uint64_t coefficients, lowest degree
 * first, owned by the caller. All functions are pure over caller-owned
 * buffers and may be called from any thread. Output may alias an input
 * only where stated.
 */
#ifndef AMATERS_FHE_POLY_H
#define AMATERS_FHE_POLY_H

#include <stddef.h>
#include <stdint.h>

/* out = a + b (out may alias a or b). */
void amaters_fhe_poly_add(uint64_t *out, const uint64_t *a,
                          const uint64_t *b, size_t n);

/* out = a - b (out may alias a or b). */
void amaters_fhe_poly_sub(uint64_t *out, const uint64_t *a,
                          const uint64_t *b, size_t n);

/* out = X^k * a for any k (taken modulo 2N); out must not alias a. */
void amaters_fhe_poly_mul_monomial(uint64_t *out, const uint64_t *a,
                                   uint64_t k, size_t n);

/* out = X^k * a - a (the CMUX difference); out must not alias a. */
void amaters_fhe_poly_mul_monomial_sub(uint64_t *out, const uint64_t *a,
                                       uint64_t k, size_t n);

/* Reference product out = a * b mod (X^N + 1, 2^64) in O(N^2), exact;
 * b holds arbitrary integers (two's complement). out must not alias. */
void amaters_fhe_poly_mul_naive(uint64_t *out, const uint64_t *a,
                                const uint64_t *b, size_t n);

#endif
