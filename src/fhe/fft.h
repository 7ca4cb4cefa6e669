/*
 * fft.h - negacyclic FFT over doubles for products in Z_{2^64}[X]/(X^N+1).
 *
 * A "Fourier polynomial" is an array of N doubles holding N/2 complex
 * values, all real parts first then all imaginary parts, in the plan's
 * internal (bit-reversed) order; only pointwise operations and the inverse
 * transform may consume it. There are three kernels, AVX-512, AVX2+FMA and
 * portable; they share the Fourier layout (data made by one is valid for
 * another) and give the same results up to double rounding. A plan is
 * immutable after creation: any number of threads may use it at once with
 * their own buffers.
 *
 * Kernel choice: plans made by amaters_fhe_fft_new use the process-wide
 * kernel, looked up at every call. It is chosen at the first FFT use
 * (first plan call, amaters_fhe_fft_kernel or amaters_fhe_fft_force) from
 * the environment variable AMATERS_FHE_FFT = portable | avx2 | avx512 |
 * auto (unset: auto = the best the CPU runs); a name the CPU cannot run
 * or an unknown name is refused with one line on stderr and the best
 * available kernel is used, so an override never causes an illegal
 * instruction. amaters_fhe_fft_force changes it later. Switching is
 * memory-safe at any time, but a computation that overlaps a switch may
 * mix kernels (its result stays correct within the noise model yet is no
 * longer reproducible bit for bit): switch only before or between
 * computations, never while evaluations run on other threads. Plans made
 * by amaters_fhe_fft_new_impl with a name are pinned to that kernel.
 *
 * Precision: torus inputs are converted to doubles as signed 64-bit
 * integers (53-bit rounding), so a product of a torus polynomial with
 * small integers carries an error; docs/internals/fhe.md bounds it and
 * counts it in the PBS noise. amaters_fhe_fft_mul_small_exact() instead
 * splits the torus operand into 22-bit limbs and is exact.
 */
#ifndef AMATERS_FHE_FFT_H
#define AMATERS_FHE_FFT_H

#include <stddef.h>
#include <stdint.h>

struct amaters_fhe_fft;

/* Creates a plan for polynomial size n (power of two, 16..65536) that
 * computes with the process-wide kernel (see above). *out is freed with
 * amaters_fhe_fft_free. Returns 0, AMATERS_EINVAL or AMATERS_ENOMEM. */
int amaters_fhe_fft_new(size_t n, struct amaters_fhe_fft **out);

/* Same pinned to a named kernel: "portable", "avx2", "avx512" or "auto"
 * (the best for this CPU); impl NULL is amaters_fhe_fft_new. Returns
 * AMATERS_EUNSUPPORTED when the name is unknown or this CPU or build
 * lacks it. */
int amaters_fhe_fft_new_impl(size_t n, const char *impl,
                             struct amaters_fhe_fft **out);

/* Sets the process-wide kernel: "portable", "avx2", "avx512", or NULL /
 * "auto" for the best this CPU runs. For tests and operators; call only
 * before or between computations (see above). Returns 0, AMATERS_EINVAL
 * (unknown name) or AMATERS_EUNSUPPORTED (this CPU or build lacks it);
 * on error the kernel is unchanged. Any thread. */
int amaters_fhe_fft_force(const char *name);

/* Name of the process-wide kernel ("portable", "avx2" or "avx512"; a
 * static string). Any thread. */
const char *amaters_fhe_fft_kernel(void);

/* Frees a plan (NULL is a no-op). */
void amaters_fhe_fft_free(struct amaters_fhe_fft *f);

/* Name of the kernel f computes with now (static string). */
const char *amaters_fhe_fft_impl_name(const struct amaters_fhe_fft *f);

/* Polynomial size N of the plan. */
size_t amaters_fhe_fft_size(const struct amaters_fhe_fft *f);

/* out (N doubles) = FFT of the torus polynomial in (signed view). */
void amaters_fhe_fft_forward_torus(const struct amaters_fhe_fft *f,
                                   double *out, const uint64_t *in);

/* out (N doubles) = FFT of an integer polynomial. */
void amaters_fhe_fft_forward_i64(const struct amaters_fhe_fft *f,
                                 double *out, const int64_t *in);

/* Gadget-decomposes the torus polynomial in (signed digits with rounding,
 * see decomp.h) and writes the FFT of digit polynomial j to
 * out + j * N for j < level (level * N doubles). */
void amaters_fhe_fft_forward_decomp(const struct amaters_fhe_fft *f,
                                    double *out, const uint64_t *in,
                                    uint32_t base_log, uint32_t level);

/* acc += round(inverse FFT of buf) mod 2^64. buf is destroyed. */
void amaters_fhe_fft_backward_add_torus(const struct amaters_fhe_fft *f,
                                        uint64_t *acc, double *buf);

/* out = round(inverse FFT of buf) mod 2^64 (as int64). buf destroyed. */
void amaters_fhe_fft_backward_i64(const struct amaters_fhe_fft *f,
                                  int64_t *out, double *buf);

/* acc += a * b pointwise (Fourier polynomials). */
void amaters_fhe_fft_mac(const struct amaters_fhe_fft *f, double *acc,
                         const double *a, const double *b);

/* For k = 1, level = 1 external products: acc0 = d0 * g00 + d1 * g10 and
 * acc1 = d0 * g01 + d1 * g11, where ggsw holds g00, g01, g10, g11 as
 * consecutive Fourier polynomials (the Fourier GGSW layout). acc0 and
 * acc1 are overwritten. */
void amaters_fhe_fft_mac2x2(const struct amaters_fhe_fft *f, double *acc0,
                            double *acc1, const double *d0,
                            const double *d1, const double *ggsw);

/* Exact out = a * b mod (X^N+1, 2^64) where b_fft is the forward FFT
 * (amaters_fhe_fft_forward_i64) of a polynomial with coefficients in
 * {-1, 0, 1}. out must not alias a. Returns 0 or AMATERS_ENOMEM. */
int amaters_fhe_fft_mul_small_exact(const struct amaters_fhe_fft *f,
                                    uint64_t *out, const uint64_t *a,
                                    const double *b_fft);

#endif
