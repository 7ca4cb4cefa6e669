/*
 * poly.c - negacyclic polynomial arithmetic on uint64_t coefficients.
 */
#include "fhe/poly.h"

void amaters_fhe_poly_add(uint64_t *out, const uint64_t *a,
                          const uint64_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

void amaters_fhe_poly_sub(uint64_t *out, const uint64_t *a,
                          const uint64_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] - b[i];
}

void amaters_fhe_poly_mul_monomial(uint64_t *out, const uint64_t *a,
                                   uint64_t k, size_t n)
{
    size_t s;

    k %= 2 * (uint64_t)n;
    if (k >= n) {
        /* X^k = -X^(k-N) */
        s = (size_t)(k - n);
        for (size_t i = 0; i < s; i++)
            out[i] = a[n - s + i];
        for (size_t i = s; i < n; i++)
            out[i] = (uint64_t)0 - a[i - s];
    } else {
        s = (size_t)k;
        for (size_t i = 0; i < s; i++)
            out[i] = (uint64_t)0 - a[n - s + i];
        for (size_t i = s; i < n; i++)
            out[i] = a[i - s];
    }
}

void amaters_fhe_poly_mul_monomial_sub(uint64_t *out, const uint64_t *a,
                                       uint64_t k, size_t n)
{
    amaters_fhe_poly_mul_monomial(out, a, k, n);
    for (size_t i = 0; i < n; i++)
        out[i] -= a[i];
}

void amaters_fhe_poly_mul_naive(uint64_t *out, const uint64_t *a,
                                const uint64_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = 0;
    for (size_t j = 0; j < n; j++) {
        uint64_t bj = b[j];

        if (bj == 0)
            continue;
        /* a * b_j X^j: coefficient i+j gets a_i, wrapping negated. */
        for (size_t i = 0; i + j < n; i++)
            out[i + j] += a[i] * bj;
        for (size_t i = n - j; i < n; i++)
            out[i + j - n] -= a[i] * bj;
    }
}
