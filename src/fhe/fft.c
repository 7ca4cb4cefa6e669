/*
 * fft.c - FFT plans: twiddle tables, kernel dispatch, exact limb product.
 */
#include "fhe/fft.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "fhe/fft_impl.h"

struct amaters_fhe_fft {
    struct amaters_fhe_fft_plan_tables t;
    const struct amaters_fhe_fft_kernels *k;
    double *mem;
};

#ifdef AMATERS_FHE_X86_KERNELS
static const struct amaters_fhe_fft_kernels *pick(const char *impl)
{
    __builtin_cpu_init();
    if (impl == NULL) {
        if (__builtin_cpu_supports("avx512f") &&
            __builtin_cpu_supports("avx512dq"))
            return &amaters_fhe_fft_kern_avx512;
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            return &amaters_fhe_fft_kern_avx2;
        return &amaters_fhe_fft_kern_portable;
    }
    if (strcmp(impl, "portable") == 0)
        return &amaters_fhe_fft_kern_portable;
    if (strcmp(impl, "avx2") == 0 && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma"))
        return &amaters_fhe_fft_kern_avx2;
    if (strcmp(impl, "avx512") == 0 && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512dq"))
        return &amaters_fhe_fft_kern_avx512;
    return NULL;
}
#else
/* Non-x86 build: the portable kernel only. */
static const struct amaters_fhe_fft_kernels *pick(const char *impl)
{
    if (impl == NULL || strcmp(impl, "portable") == 0)
        return &amaters_fhe_fft_kern_portable;
    return NULL;
}
#endif

const struct amaters_fhe_fft_kernels *amaters_fhe_kernels_best(void)
{
    return pick(NULL);
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
    const struct amaters_fhe_fft_kernels *k;
    size_t m = n / 2;

    *out = NULL;
    if (n < 16 || n > 65536 || (n & (n - 1)) != 0)
        return AMATERS_EINVAL;
    k = pick(impl);
    if (k == NULL)
        return AMATERS_EUNSUPPORTED;
    f = amaters_calloc(1, sizeof(*f));
    if (f == NULL)
        return AMATERS_ENOMEM;
    f->mem = amaters_malloc(6 * m * sizeof(double));
    if (f->mem == NULL) {
        amaters_free(f);
        return AMATERS_ENOMEM;
    }
    f->k = k;
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
    return f->k->name;
}

size_t amaters_fhe_fft_size(const struct amaters_fhe_fft *f)
{
    return f->t.n;
}

void amaters_fhe_fft_forward_torus(const struct amaters_fhe_fft *f,
                                   double *out, const uint64_t *in)
{
    f->k->fwd_torus(&f->t, out, in);
}

void amaters_fhe_fft_forward_i64(const struct amaters_fhe_fft *f,
                                 double *out, const int64_t *in)
{
    f->k->fwd_i64(&f->t, out, in);
}

void amaters_fhe_fft_forward_decomp(const struct amaters_fhe_fft *f,
                                    double *out, const uint64_t *in,
                                    uint32_t base_log, uint32_t level)
{
    f->k->fwd_decomp(&f->t, out, in, base_log, level);
}

void amaters_fhe_fft_backward_add_torus(const struct amaters_fhe_fft *f,
                                        uint64_t *acc, double *buf)
{
    f->k->inv_add_torus(&f->t, acc, buf);
}

void amaters_fhe_fft_backward_i64(const struct amaters_fhe_fft *f,
                                  int64_t *out, double *buf)
{
    f->k->inv_round_i64(&f->t, out, buf);
}

void amaters_fhe_fft_mac(const struct amaters_fhe_fft *f, double *acc,
                         const double *a, const double *b)
{
    f->k->mac(f->t.m, acc, a, b);
}

void amaters_fhe_fft_mac2x2(const struct amaters_fhe_fft *f, double *acc0,
                            double *acc1, const double *d0,
                            const double *d1, const double *ggsw)
{
    f->k->mac2x2(f->t.m, acc0, acc1, d0, d1, ggsw);
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
