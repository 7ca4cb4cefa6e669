/*
 * fft_impl.h - private plan layout and the per-ISA kernels of fft.c.
 *
 * fft_kern.c is compiled once per instruction set (portable, AVX2+FMA,
 * AVX-512) with AMATERS_FFT_SFX naming the variant; fft.c dispatches to
 * the process-wide choice (best for the CPU, AMATERS_FHE_FFT or
 * amaters_fhe_fft_force) or to a plan's pinned kernel. All kernels share
 * one Fourier layout. Not part of the public API (tests may use it).
 */
#ifndef AMATERS_FHE_FFT_IMPL_H
#define AMATERS_FHE_FFT_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Immutable after creation; shared by any number of threads. */
struct amaters_fhe_fft_plan_tables {
    size_t n;           /* polynomial size N */
    size_t m;           /* N / 2 complex points */
    double *tw_re;      /* [m]: stage twiddles, entry h + j for stage h */
    double *tw_im;
    double *twist_re;   /* [m]: cos(pi j / N) */
    double *twist_im;   /* [m]: sin(pi j / N) */
    double *untw_re;    /* [m]: cos(pi j / N) / m */
    double *untw_im;    /* [m]: -sin(pi j / N) / m */
};

struct amaters_fhe_fft_kernels {
    const char *name;
    void (*fwd_torus)(const struct amaters_fhe_fft_plan_tables *t,
                      double *out, const uint64_t *in);
    void (*fwd_i64)(const struct amaters_fhe_fft_plan_tables *t,
                    double *out, const int64_t *in);
    void (*fwd_decomp)(const struct amaters_fhe_fft_plan_tables *t,
                       double *out, const uint64_t *in, uint32_t base_log,
                       uint32_t level);
    void (*inv_add_torus)(const struct amaters_fhe_fft_plan_tables *t,
                          uint64_t *acc, double *buf);
    void (*inv_round_i64)(const struct amaters_fhe_fft_plan_tables *t,
                          int64_t *out, double *buf);
    void (*mac)(size_t m, double *acc, const double *a, const double *b);
    void (*mac2x2)(size_t m, double *acc0, double *acc1, const double *d0,
                   const double *d1, const double *ggsw);
    /* out[t] -= d * row[t] modulo 2^32, t < len (the key switch) */
    void (*sub_mul_u32)(uint32_t *out, const uint32_t *row, uint32_t d,
                        size_t len);
};

/* The process-wide kernel set (static, never NULL): the best for this
 * CPU unless AMATERS_FHE_FFT or amaters_fhe_fft_force chose another. Reads
 * the environment on first use. Any thread. */
const struct amaters_fhe_fft_kernels *amaters_fhe_kernels_best(void);

/* CPU feature bits that gate the kernels. */
#define AMATERS_FHE_CPU_AVX2 1u     /* AVX2 and FMA */
#define AMATERS_FHE_CPU_AVX512 2u   /* AVX-512 F, DQ and VL (and AVX2) */

/* Features of the running CPU (and OS, which must save the vector
 * state) among the above; 0 on builds without the x86 kernels. Any
 * thread. */
unsigned amaters_fhe_cpu_features(void);

/* Resolves a kernel name ("portable", "avx2", "avx512"; NULL or "auto" is
 * the best) for a CPU with features cpu. Always sets *out to a kernel the
 * CPU can run: the named one on success, else the best. Returns 0,
 * AMATERS_EINVAL (unknown name) or AMATERS_EUNSUPPORTED (the CPU or the
 * build lacks it). Pure; any thread. */
int amaters_fhe_kernels_resolve(const char *name, unsigned cpu,
                                const struct amaters_fhe_fft_kernels **out);

/* The choice for AMATERS_FHE_FFT = value (NULL or "" is "auto") on a CPU
 * with features cpu: the named kernel, or the best one after a one-line
 * explanation on log when the name is unknown or the CPU lacks it. Never
 * NULL. Any thread (log is written with one fprintf). */
const struct amaters_fhe_fft_kernels *amaters_fhe_fft_choose_env(
    const char *value, unsigned cpu, FILE *log);

#define AMATERS_FFT_DECLARE(sfx) \
    extern const struct amaters_fhe_fft_kernels amaters_fhe_fft_kern_##sfx;

AMATERS_FFT_DECLARE(portable)
AMATERS_FFT_DECLARE(avx2)
AMATERS_FFT_DECLARE(avx512)

#endif
