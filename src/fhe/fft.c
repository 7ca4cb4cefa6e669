/*
 * fft.c - FFT plans: twiddle tables, kernel selection and dispatch, exact
 * limb product.
 *
 * Kernel selection: a plan made by amaters_fhe_fft_new follows the
 * process-wide kernel, an atomic pointer set at first use from
 * AMATERS_FHE_FFT (else the best for the CPU) and changed by
 * amaters_fhe_fft_force; a plan made by amaters_fhe_fft_new_impl with a
 * name is pinned to that kernel. Every kernel uses the same Fourier
 * layout, so data made by one is valid input to another.
 */
#include "fhe/fft.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "fhe/fft_impl.h"

struct amaters_fhe_fft {
    struct amaters_fhe_fft_plan_tables t;
    const struct amaters_fhe_fft_kernels *pinned;   /* NULL: process-wide */
    double *mem;
};

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static _Atomic(const struct amaters_fhe_fft_kernels *) g_kern;

unsigned amaters_fhe_cpu_features(void)
{
    unsigned f = 0;

#ifdef AMATERS_FHE_X86_KERNELS
    /* libgcc sets the AVX / AVX-512 bits only when XCR0 shows that the
     * OS saves the YMM / ZMM state. */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        f |= AMATERS_FHE_CPU_AVX2;
    if ((f & AMATERS_FHE_CPU_AVX2) != 0 &&
        __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        f |= AMATERS_FHE_CPU_AVX512;
#endif
    return f;
}

static const struct amaters_fhe_fft_kernels *best_for(unsigned cpu)
{
    const struct amaters_fhe_fft_kernels *k = &amaters_fhe_fft_kern_portable;

#ifdef AMATERS_FHE_X86_KERNELS
    if ((cpu & AMATERS_FHE_CPU_AVX512) != 0)
        k = &amaters_fhe_fft_kern_avx512;
    else if ((cpu & AMATERS_FHE_CPU_AVX2) != 0)
        k = &amaters_fhe_fft_kern_avx2;
#else
    (void)cpu;
#endif
    return k;
}

int amaters_fhe_kernels_resolve(const char *name, unsigned cpu,
                                const struct amaters_fhe_fft_kernels **out)
{
    unsigned need = 0;
    int rc = 0;

    *out = best_for(cpu);
    if (name == NULL || strcmp(name, "auto") == 0)
        goto done;
    if (strcmp(name, "portable") == 0) {
        *out = &amaters_fhe_fft_kern_portable;
        goto done;
    }
    if (strcmp(name, "avx2") == 0)
        need = AMATERS_FHE_CPU_AVX2;
    else if (strcmp(name, "avx512") == 0)
        need = AMATERS_FHE_CPU_AVX512;
    else {
        rc = AMATERS_EINVAL;
        goto done;
    }
#ifdef AMATERS_FHE_X86_KERNELS
    if ((cpu & need) != need)
        rc = AMATERS_EUNSUPPORTED;
    else if (need == AMATERS_FHE_CPU_AVX2)
        *out = &amaters_fhe_fft_kern_avx2;
    else
        *out = &amaters_fhe_fft_kern_avx512;
#else
    (void)need;
    rc = AMATERS_EUNSUPPORTED;
#endif
done:
    return rc;
}

const struct amaters_fhe_fft_kernels *amaters_fhe_fft_choose_env(
    const char *value, unsigned cpu, FILE *log)
{
    const struct amaters_fhe_fft_kernels *k;
    int rc;

    if (value != NULL && value[0] == '\0')
        value = NULL;
    rc = amaters_fhe_kernels_resolve(value, cpu, &k);
    if (rc == AMATERS_EINVAL)
        fprintf(log, "amaters: AMATERS_FHE_FFT=%.40s is not an FFT kernel "
                "(portable, avx2, avx512, auto); using %s\n", value,
                k->name);
    else if (rc == AMATERS_EUNSUPPORTED)
        fprintf(log, "amaters: AMATERS_FHE_FFT=%.40s refused: this CPU or "
                "build cannot run that kernel; using %s\n", value,
                k->name);
    return k;
}

static void init_from_env(void)
{
    const struct amaters_fhe_fft_kernels *k;

    k = amaters_fhe_fft_choose_env(getenv("AMATERS_FHE_FFT"),
                                   amaters_fhe_cpu_features(), stderr);
    atomic_store_explicit(&g_kern, k, memory_order_release);
}

static const struct amaters_fhe_fft_kernels *current(void)
{
    const struct amaters_fhe_fft_kernels *k;

    k = atomic_load_explicit(&g_kern, memory_order_acquire);
    if (k == NULL) {
        pthread_once(&g_once, init_from_env);
        k = atomic_load_explicit(&g_kern, memory_order_acquire);
    }
    return k;
}

/* The kernel a plan computes with. */
static inline const struct amaters_fhe_fft_kernels *kern(
    const struct amaters_fhe_fft *f)
{
    return f->pinned != NULL ? f->pinned : current();
}

const struct amaters_fhe_fft_kernels *amaters_fhe_kernels_best(void)
{
    return current();
}

int amaters_fhe_fft_force(const char *name)
{
    const struct amaters_fhe_fft_kernels *k;
    int rc;

    /* read the environment first so that it cannot undo this call */
    pthread_once(&g_once, init_from_env);
    rc = amaters_fhe_kernels_resolve(name, amaters_fhe_cpu_features(), &k);
    if (rc == 0)
        atomic_store_explicit(&g_kern, k, memory_order_release);
    return rc;
}

const char *amaters_fhe_fft_kernel(void)
{
    return current()->name;
}

static void fill_tables(struct amaters_fhe_fft_plan_tables *t)
{
    size_t m = t->m;
    double n = (double)t->n;

    /* Stage h twiddles exp(+2 pi i j / (2h)), j < h, stored at h + j. */
    t->tw_re[0] = 1.0;
    t->tw_im[0] = 0.0;
    for (size_t h = 1; h < m; h *= 2) {
        for (size_t j = 0; j < h; j++) {
            double a = M_PI * (double)j / (double)h;

            t->tw_re[h + j] = cos(a);
            t->tw_im[h + j] = sin(a);
        }
    }
    for (size_t j = 0; j < m; j++) {
        double a = M_PI * (double)j / n;

        t->twist_re[j] = cos(a);
        t->twist_im[j] = sin(a);
        t->untw_re[j] = cos(a) / (double)m;
        t->untw_im[j] = -sin(a) / (double)m;
    }
}

int amaters_fhe_fft_new_impl(size_t n, const char *impl,
                             struct amaters_fhe_fft **out)
{
    struct amaters_fhe_fft *f = NULL;
    const struct amaters_fhe_fft_kernels *k = NULL;
    size_t m = n / 2;

    *out = NULL;
    if (n < 16 || n > 65536 || (n & (n - 1)) != 0)
        return AMATERS_EINVAL;
    if (impl != NULL &&
        amaters_fhe_kernels_resolve(impl, amaters_fhe_cpu_features(),
                                    &k) != 0)
        return AMATERS_EUNSUPPORTED;
    f = amaters_calloc(1, sizeof(*f));
    if (f == NULL)
        return AMATERS_ENOMEM;
    f->mem = amaters_malloc(6 * m * sizeof(double));
    if (f->mem == NULL) {
        amaters_free(f);
        return AMATERS_ENOMEM;
    }
    f->pinned = impl != NULL ? k : NULL;
    f->t.n = n;
    f->t.m = m;
    f->t.tw_re = f->mem;
    f->t.tw_im = f->mem + m;
    f->t.twist_re = f->mem + 2 * m;
    f->t.twist_im = f->mem + 3 * m;
    f->t.untw_re = f->mem + 4 * m;
    f->t.untw_im = f->mem + 5 * m;
    fill_tables(&f->t);
    *out = f;
    return 0;
}

int amaters_fhe_fft_new(size_t n, struct amaters_fhe_fft **out)
{
    return amaters_fhe_fft_new_impl(n, NULL, out);
}

void amaters_fhe_fft_free(struct amaters_fhe_fft *f)
{
    if (f == NULL)
        return;
    amaters_free(f->mem);
    amaters_free(f);
}

const char *amaters_fhe_fft_impl_name(const struct amaters_fhe_fft *f)
{
    return kern(f)->name;
}

size_t amaters_fhe_fft_size(const struct amaters_fhe_fft *f)
{
    return f->t.n;
}

void amaters_fhe_fft_forward_torus(const struct amaters_fhe_fft *f,
                                   double *out, const uint64_t *in)
{
    kern(f)->fwd_torus(&f->t, out, in);
}

void amaters_fhe_fft_forward_i64(const struct amaters_fhe_fft *f,
                                 double *out, const int64_t *in)
{
    kern(f)->fwd_i64(&f->t, out, in);
}

void amaters_fhe_fft_forward_decomp(const struct amaters_fhe_fft *f,
                                    double *out, const uint64_t *in,
                                    uint32_t base_log, uint32_t level)
{
    kern(f)->fwd_decomp(&f->t, out, in, base_log, level);
}

void amaters_fhe_fft_backward_add_torus(const struct amaters_fhe_fft *f,
                                        uint64_t *acc, double *buf)
{
    kern(f)->inv_add_torus(&f->t, acc, buf);
}

void amaters_fhe_fft_backward_i64(const struct amaters_fhe_fft *f,
                                  int64_t *out, double *buf)
{
    kern(f)->inv_round_i64(&f->t, out, buf);
}

void amaters_fhe_fft_mac(const struct amaters_fhe_fft *f, double *acc,
                         const double *a, const double *b)
{
    kern(f)->mac(f->t.m, acc, a, b);
}

void amaters_fhe_fft_mac2x2(const struct amaters_fhe_fft *f, double *acc0,
                            double *acc1, const double *d0,
                            const double *d1, const double *ggsw)
{
    kern(f)->mac2x2(f->t.m, acc0, acc1, d0, d1, ggsw);
}

#define LIMB_BITS 22
#define LIMBS 3

int amaters_fhe_fft_mul_small_exact(const struct amaters_fhe_fft *f,
                                    uint64_t *out, const uint64_t *a,
                                    const double *b_fft)
{
    size_t n = f->t.n;
    int64_t *limb = amaters_malloc(LIMBS * n * sizeof(int64_t));
    double *fa = amaters_malloc(2 * n * sizeof(double));
    double *prod;
    int rc = 0;

    if (limb == NULL || fa == NULL) {
        rc = AMATERS_ENOMEM;
        goto cleanup;
    }
    prod = fa + n;
    /* a = sum_l limb_l 2^(22 l) mod 2^64 with balanced limbs in
     * [-2^21, 2^21) (the top one in [0, 2^20]): every partial product
     * sum stays below 2^21 * N, far inside double precision. */
    for (size_t j = 0; j < n; j++) {
        uint64_t x = a[j];

        for (int l = 0; l < LIMBS; l++) {
            int64_t d = (int64_t)(x & ((UINT64_C(1) << LIMB_BITS) - 1));

            if (l < LIMBS - 1 && d >= (INT64_C(1) << (LIMB_BITS - 1)))
                d -= INT64_C(1) << LIMB_BITS;
            limb[(size_t)l * n + j] = d;
            x = (x - (uint64_t)d) >> LIMB_BITS;
        }
    }
    memset(out, 0, n * sizeof(uint64_t));
    for (int l = 0; l < LIMBS; l++) {
        int64_t *lp = limb + (size_t)l * n;

        amaters_fhe_fft_forward_i64(f, fa, lp);
        memset(prod, 0, n * sizeof(double));
        amaters_fhe_fft_mac(f, prod, fa, b_fft);
        amaters_fhe_fft_backward_i64(f, lp, prod);
        for (size_t j = 0; j < n; j++)
            out[j] += (uint64_t)lp[j] << (LIMB_BITS * l);
    }
cleanup:
    /* The products involve the secret operand: wipe them. */
    if (limb != NULL)
        amaters_free_secret(limb, LIMBS * n * sizeof(int64_t));
    if (fa != NULL)
        amaters_free_secret(fa, 2 * n * sizeof(double));
    return rc;
}
