/*
 * fft_impl.h - private plan layout and the per-ISA kernels of fft.c.
 *
 * fft_kern.c is compiled once per instruction set (portable, AVX2+FMA,
 * AVX-512) with AMATERS_FFT_SFX naming the variant; fft.c picks one at
 * plan creation from __builtin_cpu_supports. Not part of the public API.
 */
#ifndef AMATERS_FHE_FFT_IMPL_H
#define AMATERS_FHE_FFT_IMPL_H

#include <stddef.h>
#include <stdint.h>

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
    void (*sub_mul_u32)(uint64_t *out, const uint32_t *row, uint64_t d,
                        size_t len);
};

/* The best kernel set for this CPU (static, never NULL). Any thread. */
const struct amaters_fhe_fft_kernels *amaters_fhe_kernels_best(void);

#define AMATERS_FFT_DECLARE(sfx) \
    extern const struct amaters_fhe_fft_kernels amaters_fhe_fft_kern_##sfx;

AMATERS_FFT_DECLARE(portable)
AMATERS_FFT_DECLARE(avx2)
AMATERS_FFT_DECLARE(avx512)

#endif
