/*
 * fft_kern.c - the negacyclic FFT kernels, compiled once per ISA.
 *
 * A real polynomial a of size N = 2m is folded into m complex points
 * z_j = (a_j + i a_{j+m}) w^j with w = exp(i pi / N) ("twist"), and a
 * size-m complex DFT with positive exponent evaluates a at the odd roots
 * exp(i pi (4k+1) / N) of X^N + 1; the other half are the conjugates.
 * Pointwise products in this domain are negacyclic products.
 *
 * The forward transform is radix-2 decimation in frequency, leaving the
 * output in bit-reversed order; the inverse is decimation in time reading
 * bit-reversed input, so no permutation pass is ever needed (pointwise
 * products do not care about order). Data is split re[m] / im[m] so the
 * inner loops vectorize; the CMake file builds this file with
 * AMATERS_FFT_SFX = portable / avx2 / avx512 and matching -m flags.
 */
#include <math.h>
#include <stdint.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include "fhe/fft_impl.h"

#ifndef AMATERS_FFT_SFX
#define AMATERS_FFT_SFX portable
#endif
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define KERN CAT(amaters_fhe_fft_kern_, AMATERS_FFT_SFX)
/* "these pointers do not overlap" for GCC's vectorizer (clang builds, used
 * for fuzzing only, go without the hint) */
#if defined(__GNUC__) && !defined(__clang__)
#define IVDEP _Pragma("GCC ivdep")
#else
#define IVDEP
#endif
#define STR2(a) #a
#define STR(a) STR2(a)

#define TWO64 18446744073709551616.0
#define TWO63 9223372036854775808.0

/* Complex helpers on split scalars. */
#define CMUL_RE(ar, ai, br, bi) ((ar) * (br) - (ai) * (bi))
#define CMUL_IM(ar, ai, br, bi) ((ar) * (bi) + (ai) * (br))

/* One radix-2 DIF stage of half-size h. */
static void dif2(const struct amaters_fhe_fft_plan_tables *t,
                 double *restrict re, double *restrict im, size_t h)
{
    const double *restrict wr = t->tw_re + h;
    const double *restrict wi = t->tw_im + h;

    for (size_t s = 0; s < t->m; s += 2 * h) {
        double *restrict ar = re + s, *restrict ai = im + s;
        double *restrict br = re + s + h, *restrict bi = im + s + h;

IVDEP
        for (size_t j = 0; j < h; j++) {
            double ur = ar[j], ui = ai[j], vr = br[j], vi = bi[j];
            double dr = ur - vr, di = ui - vi;

            ar[j] = ur + vr;
            ai[j] = ui + vi;
            br[j] = CMUL_RE(dr, di, wr[j], wi[j]);
            bi[j] = CMUL_IM(dr, di, wr[j], wi[j]);
        }
    }
}

/* Two DIF stages (h, then h/2) in one pass over memory. */
static void dif4(const struct amaters_fhe_fft_plan_tables *t,
                 double *restrict re, double *restrict im, size_t h)
{
    size_t q = h / 2;
    const double *restrict w1r = t->tw_re + h, *restrict w1i = t->tw_im + h;
    const double *restrict w2r = t->tw_re + h + q;
    const double *restrict w2i = t->tw_im + h + q;
    const double *restrict w3r = t->tw_re + q, *restrict w3i = t->tw_im + q;

    for (size_t s = 0; s < t->m; s += 2 * h) {
        double *restrict r0 = re + s, *restrict i0 = im + s;
        double *restrict r1 = re + s + q, *restrict i1 = im + s + q;
        double *restrict r2 = re + s + h, *restrict i2 = im + s + h;
        double *restrict r3 = re + s + h + q, *restrict i3 = im + s + h + q;

        /* the four quarter-blocks never overlap */
IVDEP
        for (size_t j = 0; j < q; j++) {
            double y0r = r0[j] + r2[j], y0i = i0[j] + i2[j];
            double d2r = r0[j] - r2[j], d2i = i0[j] - i2[j];
            double y1r = r1[j] + r3[j], y1i = i1[j] + i3[j];
            double d3r = r1[j] - r3[j], d3i = i1[j] - i3[j];
            double y2r = CMUL_RE(d2r, d2i, w1r[j], w1i[j]);
            double y2i = CMUL_IM(d2r, d2i, w1r[j], w1i[j]);
            double y3r = CMUL_RE(d3r, d3i, w2r[j], w2i[j]);
            double y3i = CMUL_IM(d3r, d3i, w2r[j], w2i[j]);
            double e1r = y0r - y1r, e1i = y0i - y1i;
            double e3r = y2r - y3r, e3i = y2i - y3i;

            r0[j] = y0r + y1r;
            i0[j] = y0i + y1i;
            r1[j] = CMUL_RE(e1r, e1i, w3r[j], w3i[j]);
            i1[j] = CMUL_IM(e1r, e1i, w3r[j], w3i[j]);
            r2[j] = y2r + y3r;
            i2[j] = y2i + y3i;
            r3[j] = CMUL_RE(e3r, e3i, w3r[j], w3i[j]);
            i3[j] = CMUL_IM(e3r, e3i, w3r[j], w3i[j]);
        }
    }
}

/* Inverse of dif2 (DIT butterfly with conjugate twiddles, no scaling). */
static void dit2(const struct amaters_fhe_fft_plan_tables *t,
                 double *restrict re, double *restrict im, size_t h)
{
    const double *restrict wr = t->tw_re + h;
    const double *restrict wi = t->tw_im + h;

    for (size_t s = 0; s < t->m; s += 2 * h) {
        double *restrict ar = re + s, *restrict ai = im + s;
        double *restrict br = re + s + h, *restrict bi = im + s + h;

IVDEP
        for (size_t j = 0; j < h; j++) {
            double vr = CMUL_RE(br[j], bi[j], wr[j], -wi[j]);
            double vi = CMUL_IM(br[j], bi[j], wr[j], -wi[j]);
            double ur = ar[j], ui = ai[j];

            ar[j] = ur + vr;
            ai[j] = ui + vi;
            br[j] = ur - vr;
            bi[j] = ui - vi;
        }
    }
}

/* Inverse of dif4: stage h/2 then stage h. */
static void dit4(const struct amaters_fhe_fft_plan_tables *t,
                 double *restrict re, double *restrict im, size_t h)
{
    size_t q = h / 2;
    const double *restrict w1r = t->tw_re + h, *restrict w1i = t->tw_im + h;
    const double *restrict w2r = t->tw_re + h + q;
    const double *restrict w2i = t->tw_im + h + q;
    const double *restrict w3r = t->tw_re + q, *restrict w3i = t->tw_im + q;

    for (size_t s = 0; s < t->m; s += 2 * h) {
        double *restrict r0 = re + s, *restrict i0 = im + s;
        double *restrict r1 = re + s + q, *restrict i1 = im + s + q;
        double *restrict r2 = re + s + h, *restrict i2 = im + s + h;
        double *restrict r3 = re + s + h + q, *restrict i3 = im + s + h + q;

        /* the four quarter-blocks never overlap */
IVDEP
        for (size_t j = 0; j < q; j++) {
            double v1r = CMUL_RE(r1[j], i1[j], w3r[j], -w3i[j]);
            double v1i = CMUL_IM(r1[j], i1[j], w3r[j], -w3i[j]);
            double v3r = CMUL_RE(r3[j], i3[j], w3r[j], -w3i[j]);
            double v3i = CMUL_IM(r3[j], i3[j], w3r[j], -w3i[j]);
            double y0r = r0[j] + v1r, y0i = i0[j] + v1i;
            double y1r = r0[j] - v1r, y1i = i0[j] - v1i;
            double y2r = r2[j] + v3r, y2i = i2[j] + v3i;
            double y3r = r2[j] - v3r, y3i = i2[j] - v3i;
            double u2r = CMUL_RE(y2r, y2i, w1r[j], -w1i[j]);
            double u2i = CMUL_IM(y2r, y2i, w1r[j], -w1i[j]);
            double u3r = CMUL_RE(y3r, y3i, w2r[j], -w2i[j]);
            double u3i = CMUL_IM(y3r, y3i, w2r[j], -w2i[j]);

            r0[j] = y0r + u2r;
            i0[j] = y0i + u2i;
            r2[j] = y0r - u2r;
            i2[j] = y0i - u2i;
            r1[j] = y1r + u3r;
            i1[j] = y1i + u3i;
            r3[j] = y1r - u3r;
            i3[j] = y1i - u3i;
        }
    }
}

#ifndef __AVX512F__
/* h = 2 (twiddles 1, i) then h = 1, on blocks of four. */
static void dif_tail4(size_t m, double *restrict re, double *restrict im)
{
    for (size_t s = 0; s < m; s += 4) {
        double x0r = re[s], x1r = re[s + 1], x2r = re[s + 2];
        double x3r = re[s + 3];
        double x0i = im[s], x1i = im[s + 1], x2i = im[s + 2];
        double x3i = im[s + 3];
        double y0r = x0r + x2r, y0i = x0i + x2i;
        double y1r = x1r + x3r, y1i = x1i + x3i;
        double y2r = x0r - x2r, y2i = x0i - x2i;
        double y3r = -(x1i - x3i), y3i = x1r - x3r;   /* (x1 - x3) * i */

        re[s] = y0r + y1r;
        im[s] = y0i + y1i;
        re[s + 1] = y0r - y1r;
        im[s + 1] = y0i - y1i;
        re[s + 2] = y2r + y3r;
        im[s + 2] = y2i + y3i;
        re[s + 3] = y2r - y3r;
        im[s + 3] = y2i - y3i;
    }
}

static void dit_tail4(size_t m, double *restrict re, double *restrict im)
{
    for (size_t s = 0; s < m; s += 4) {
        double y0r = re[s] + re[s + 1], y0i = im[s] + im[s + 1];
        double y1r = re[s] - re[s + 1], y1i = im[s] - im[s + 1];
        double y2r = re[s + 2] + re[s + 3], y2i = im[s + 2] + im[s + 3];
        double y3r = re[s + 2] - re[s + 3], y3i = im[s + 2] - im[s + 3];
        double v3r = y3i, v3i = -y3r;                 /* y3 * (-i) */

        re[s] = y0r + y2r;
        im[s] = y0i + y2i;
        re[s + 2] = y0r - y2r;
        im[s + 2] = y0i - y2i;
        re[s + 1] = y1r + v3r;
        im[s + 1] = y1i + v3i;
        re[s + 3] = y1r - v3r;
        im[s + 3] = y1i - v3i;
    }
}

#endif

#ifdef __AVX512F__
/* Stages h = 4, 2, 1 inside one 8-lane vector per block of eight. */
struct tail8 {
    __m512d w4r, w4i, w2r, w2i, s4, s2, s1;
};

static void tail8_init(const struct amaters_fhe_fft_plan_tables *t,
                       struct tail8 *c)
{
    const double *r = t->tw_re, *i = t->tw_im;

    c->w4r = _mm512_set_pd(r[7], r[6], r[5], r[4], 1, 1, 1, 1);
    c->w4i = _mm512_set_pd(i[7], i[6], i[5], i[4], 0, 0, 0, 0);
    c->w2r = _mm512_set_pd(r[3], r[2], 1, 1, r[3], r[2], 1, 1);
    c->w2i = _mm512_set_pd(i[3], i[2], 0, 0, i[3], i[2], 0, 0);
    c->s4 = _mm512_set_pd(-1, -1, -1, -1, 1, 1, 1, 1);
    c->s2 = _mm512_set_pd(-1, -1, 1, 1, -1, -1, 1, 1);
    c->s1 = _mm512_set_pd(-1, 1, -1, 1, -1, 1, -1, 1);
}

static inline void cmul8(__m512d *xr, __m512d *xi, __m512d wr, __m512d wi)
{
    __m512d r = _mm512_fmsub_pd(*xr, wr, _mm512_mul_pd(*xi, wi));
    __m512d i = _mm512_fmadd_pd(*xr, wi, _mm512_mul_pd(*xi, wr));

    *xr = r;
    *xi = i;
}

/* Stages 4, 2, 1 of one block of eight held in registers. */
static inline void dif8_reg(const struct tail8 *c, __m512d *pr, __m512d *pi)
{
    __m512d xr = *pr, xi = *pi, lr, li, hr, hi;

    /* h = 4: lanes (j, j+4) */
    lr = _mm512_shuffle_f64x2(xr, xr, 0x44);
    li = _mm512_shuffle_f64x2(xi, xi, 0x44);
    hr = _mm512_shuffle_f64x2(xr, xr, 0xEE);
    hi = _mm512_shuffle_f64x2(xi, xi, 0xEE);
    xr = _mm512_fmadd_pd(hr, c->s4, lr);
    xi = _mm512_fmadd_pd(hi, c->s4, li);
    cmul8(&xr, &xi, c->w4r, c->w4i);
    /* h = 2: lanes (j, j+2) within each half */
    lr = _mm512_permutex_pd(xr, 0x44);
    li = _mm512_permutex_pd(xi, 0x44);
    hr = _mm512_permutex_pd(xr, 0xEE);
    hi = _mm512_permutex_pd(xi, 0xEE);
    xr = _mm512_fmadd_pd(hr, c->s2, lr);
    xi = _mm512_fmadd_pd(hi, c->s2, li);
    cmul8(&xr, &xi, c->w2r, c->w2i);
    /* h = 1: lanes (j, j+1) */
    lr = _mm512_permute_pd(xr, 0x00);
    li = _mm512_permute_pd(xi, 0x00);
    hr = _mm512_permute_pd(xr, 0xFF);
    hi = _mm512_permute_pd(xi, 0xFF);
    *pr = _mm512_fmadd_pd(hr, c->s1, lr);
    *pi = _mm512_fmadd_pd(hi, c->s1, li);
}

/* Inverse of dif8_reg; c holds conjugated twiddles. */
static inline void dit8_reg(const struct tail8 *c, __m512d *pr, __m512d *pi)
{
    __m512d xr = *pr, xi = *pi, lr, li, hr, hi;

    lr = _mm512_permute_pd(xr, 0x00);
    li = _mm512_permute_pd(xi, 0x00);
    hr = _mm512_permute_pd(xr, 0xFF);
    hi = _mm512_permute_pd(xi, 0xFF);
    xr = _mm512_fmadd_pd(hr, c->s1, lr);
    xi = _mm512_fmadd_pd(hi, c->s1, li);
    cmul8(&xr, &xi, c->w2r, c->w2i);
    lr = _mm512_permutex_pd(xr, 0x44);
    li = _mm512_permutex_pd(xi, 0x44);
    hr = _mm512_permutex_pd(xr, 0xEE);
    hi = _mm512_permutex_pd(xi, 0xEE);
    xr = _mm512_fmadd_pd(hr, c->s2, lr);
    xi = _mm512_fmadd_pd(hi, c->s2, li);
    cmul8(&xr, &xi, c->w4r, c->w4i);
    lr = _mm512_shuffle_f64x2(xr, xr, 0x44);
    li = _mm512_shuffle_f64x2(xi, xi, 0x44);
    hr = _mm512_shuffle_f64x2(xr, xr, 0xEE);
    hi = _mm512_shuffle_f64x2(xi, xi, 0xEE);
    *pr = _mm512_fmadd_pd(hr, c->s4, lr);
    *pi = _mm512_fmadd_pd(hi, c->s4, li);
}

static void conj_tail8(struct tail8 *c)
{
    __m512d zero = _mm512_setzero_pd();

    c->w4i = _mm512_sub_pd(zero, c->w4i);
    c->w2i = _mm512_sub_pd(zero, c->w2i);
}

/* Last 3 stages (used only when m == 8). */
static void dif_tail8(const struct amaters_fhe_fft_plan_tables *t,
                      double *re, double *im)
{
    struct tail8 c;

    tail8_init(t, &c);
    for (size_t s = 0; s < t->m; s += 8) {
        __m512d xr = _mm512_loadu_pd(re + s), xi = _mm512_loadu_pd(im + s);

        dif8_reg(&c, &xr, &xi);
        _mm512_storeu_pd(re + s, xr);
        _mm512_storeu_pd(im + s, xi);
    }
}

static void dit_tail8(const struct amaters_fhe_fft_plan_tables *t,
                      double *re, double *im)
{
    struct tail8 c;

    tail8_init(t, &c);
    conj_tail8(&c);
    for (size_t s = 0; s < t->m; s += 8) {
        __m512d xr = _mm512_loadu_pd(re + s), xi = _mm512_loadu_pd(im + s);

        dit8_reg(&c, &xr, &xi);
        _mm512_storeu_pd(re + s, xr);
        _mm512_storeu_pd(im + s, xi);
    }
}

/* Last 4 stages (8, 4, 2, 1) on blocks of sixteen, one memory pass. */
static void dif_tail16(const struct amaters_fhe_fft_plan_tables *t,
                       double *re, double *im)
{
    struct tail8 c;
    __m512d w8r = _mm512_loadu_pd(t->tw_re + 8);
    __m512d w8i = _mm512_loadu_pd(t->tw_im + 8);

    tail8_init(t, &c);
    for (size_t s = 0; s < t->m; s += 16) {
        __m512d ar = _mm512_loadu_pd(re + s), ai = _mm512_loadu_pd(im + s);
        __m512d br = _mm512_loadu_pd(re + s + 8);
        __m512d bi = _mm512_loadu_pd(im + s + 8);
        __m512d dr = _mm512_sub_pd(ar, br), di = _mm512_sub_pd(ai, bi);

        ar = _mm512_add_pd(ar, br);
        ai = _mm512_add_pd(ai, bi);
        cmul8(&dr, &di, w8r, w8i);
        dif8_reg(&c, &ar, &ai);
        dif8_reg(&c, &dr, &di);
        _mm512_storeu_pd(re + s, ar);
        _mm512_storeu_pd(im + s, ai);
        _mm512_storeu_pd(re + s + 8, dr);
        _mm512_storeu_pd(im + s + 8, di);
    }
}

static void dit_tail16(const struct amaters_fhe_fft_plan_tables *t,
                       double *re, double *im)
{
    struct tail8 c;
    __m512d w8r = _mm512_loadu_pd(t->tw_re + 8);
    __m512d w8i = _mm512_sub_pd(_mm512_setzero_pd(),
                                _mm512_loadu_pd(t->tw_im + 8));

    tail8_init(t, &c);
    conj_tail8(&c);
    for (size_t s = 0; s < t->m; s += 16) {
        __m512d ar = _mm512_loadu_pd(re + s), ai = _mm512_loadu_pd(im + s);
        __m512d br = _mm512_loadu_pd(re + s + 8);
        __m512d bi = _mm512_loadu_pd(im + s + 8);

        dit8_reg(&c, &ar, &ai);
        dit8_reg(&c, &br, &bi);
        cmul8(&br, &bi, w8r, w8i);
        _mm512_storeu_pd(re + s, _mm512_add_pd(ar, br));
        _mm512_storeu_pd(im + s, _mm512_add_pd(ai, bi));
        _mm512_storeu_pd(re + s + 8, _mm512_sub_pd(ar, br));
        _mm512_storeu_pd(im + s + 8, _mm512_sub_pd(ai, bi));
    }
}
#endif

/*
 * Forward network: radix-4 passes while both stages are wide enough for
 * vectors, radix-2 for a leftover wide stage, then the short stages in
 * registers (AVX-512: 8, 4, 2, 1 in one pass) or scalar code. Output in
 * bit-reversed order. `plan_stages` lists the wide passes so that dit()
 * can run them in reverse; an odd entry 2h+1 is a radix-4 pass at h.
 */
#ifdef __AVX512F__
#define TAIL_MIN 8      /* stages below 16 are done by the tail */
#else
#define TAIL_MIN 4
#endif

static size_t plan_stages(size_t m, size_t *stages, size_t *tail_h)
{
    size_t ns = 0, h = m / 2;

    for (; h / 2 > TAIL_MIN; h /= 4)
        stages[ns++] = h * 2 + 1;
    for (; h > TAIL_MIN; h /= 2)
        stages[ns++] = h * 2;
    *tail_h = h;
    return ns;
}

static void dif(const struct amaters_fhe_fft_plan_tables *t,
                double *restrict re, double *restrict im)
{
    size_t stages[32], tail_h;
    size_t ns = plan_stages(t->m, stages, &tail_h);

    for (size_t i = 0; i < ns; i++) {
        if (stages[i] & 1)
            dif4(t, re, im, stages[i] / 2);
        else
            dif2(t, re, im, stages[i] / 2);
    }
#ifdef __AVX512F__
    if (tail_h == 8)
        dif_tail16(t, re, im);
    else
        dif_tail8(t, re, im);
#else
    dif2(t, re, im, 4);
    dif_tail4(t->m, re, im);
    (void)tail_h;
#endif
}

/* Exact inverse network (the 1/m scale is folded into the untwist). */
static void dit(const struct amaters_fhe_fft_plan_tables *t,
                double *restrict re, double *restrict im)
{
    size_t stages[32], tail_h;
    size_t ns = plan_stages(t->m, stages, &tail_h);

#ifdef __AVX512F__
    if (tail_h == 8)
        dit_tail16(t, re, im);
    else
        dit_tail8(t, re, im);
#else
    dit_tail4(t->m, re, im);
    dit2(t, re, im, 4);
    (void)tail_h;
#endif
    while (ns-- > 0) {
        if (stages[ns] & 1)
            dit4(t, re, im, stages[ns] / 2);
        else
            dit2(t, re, im, stages[ns] / 2);
    }
}

/* In place: (re, im) = (re + i im) * w^j. */
static void twist_in(const struct amaters_fhe_fft_plan_tables *t,
                     double *restrict re, double *restrict im)
{
    for (size_t j = 0; j < t->m; j++) {
        double cr = t->twist_re[j], ci = t->twist_im[j];
        double lo = re[j], hi = im[j];

        re[j] = lo * cr - hi * ci;
        im[j] = lo * ci + hi * cr;
    }
}

static void fwd_torus(const struct amaters_fhe_fft_plan_tables *t,
                      double *restrict out, const uint64_t *restrict in)
{
    size_t m = t->m;
    double *re = out, *im = out + m;

    /* Signed representatives, folded and twisted in one pass. */
IVDEP
    for (size_t j = 0; j < m; j++) {
        double lo = (double)(int64_t)in[j], hi = (double)(int64_t)in[j + m];
        double cr = t->twist_re[j], ci = t->twist_im[j];

        re[j] = lo * cr - hi * ci;
        im[j] = lo * ci + hi * cr;
    }
    dif(t, re, im);
}

static void fwd_i64(const struct amaters_fhe_fft_plan_tables *t,
                    double *restrict out, const int64_t *restrict in)
{
    size_t m = t->m;
    double *re = out, *im = out + m;

    for (size_t j = 0; j < m; j++) {
        double lo = (double)in[j], hi = (double)in[j + m];
        double cr = t->twist_re[j], ci = t->twist_im[j];

        re[j] = lo * cr - hi * ci;
        im[j] = lo * ci + hi * cr;
    }
    dif(t, re, im);
}

/* Balanced digits of one coefficient; GCC's >> on int64 is arithmetic. */
static inline uint64_t round_top(uint64_t x, uint32_t shift)
{
    return shift == 0 ? x : ((x >> (shift - 1)) + 1) >> 1;
}

static void fwd_decomp(const struct amaters_fhe_fft_plan_tables *t,
                       double *restrict out, const uint64_t *restrict in,
                       uint32_t base_log, uint32_t level)
{
    size_t m = t->m, n = t->n;
    uint32_t shift = 64 - base_log * level, sx = 64 - base_log;

    if (level == 1) {
        /* decompose, fold and twist in one pass */
IVDEP
        for (size_t j = 0; j < m; j++) {
            uint64_t vl = round_top(in[j], shift);
            uint64_t vh = round_top(in[j + m], shift);
            double lo = (double)((int64_t)(vl << sx) >> sx);
            double hi = (double)((int64_t)(vh << sx) >> sx);
            double cr = t->twist_re[j], ci = t->twist_im[j];

            out[j] = lo * cr - hi * ci;
            out[j + m] = lo * ci + hi * cr;
        }
        dif(t, out, out + m);
        return;
    } else {
        for (size_t j = 0; j < n; j++) {
            uint64_t v = round_top(in[j], shift);

            for (uint32_t l = level; l-- > 0;) {
                int64_t d = (int64_t)(v << sx) >> sx;

                out[l * n + j] = (double)d;
                v = (v - (uint64_t)d) >> base_log;
            }
        }
    }
    for (uint32_t l = 0; l < level; l++) {
        twist_in(t, out + l * n, out + l * n + m);
        dif(t, out + l * n, out + l * n + m);
    }
}

/* Inverse transform and untwist in place: re -> low half, im -> high. */
static void inv_common(const struct amaters_fhe_fft_plan_tables *t,
                       double *restrict re, double *restrict im)
{
    dit(t, re, im);
    for (size_t j = 0; j < t->m; j++) {
        double cr = t->untw_re[j], ci = t->untw_im[j];
        double xr = re[j], xi = im[j];

        re[j] = xr * cr - xi * ci;
        im[j] = xr * ci + xi * cr;
    }
}

/* Nearest integer to x reduced modulo 2^64, exactly: x - 2^64 k is exact
 * for every double x (see docs/internals/fhe.md). */
static inline uint64_t to_torus(double x)
{
    double r = x - TWO64 * nearbyint(x * 0x1p-64);

    /* r in [-2^63, 2^63]; 2^63 itself is moved to the same residue
     * -2^63 so that the conversion is defined. */
    r = nearbyint(r);
    if (r >= TWO63)
        r -= TWO64;
    return (uint64_t)(int64_t)r;
}

#if defined(__AVX512F__) && defined(__AVX512DQ__)
/* AVX-512: vcvtpd2qq rounds to nearest and maps the one out-of-range
 * value 2^63 to 0x8000000000000000, which is its residue, so the exact
 * reduction r = x - 2^64 rint(x / 2^64) needs no fix-up. */
static void inv_add_torus(const struct amaters_fhe_fft_plan_tables *t,
                          uint64_t *restrict acc, double *restrict buf)
{
    size_t m = t->m;
    double *re = buf, *im = buf + m;
    const __m512d scale = _mm512_set1_pd(0x1p-64);
    const __m512d two64 = _mm512_set1_pd(TWO64);

    dit(t, re, im);
    for (size_t j = 0; j < m; j += 8) {
        __m512d cr = _mm512_loadu_pd(t->untw_re + j);
        __m512d ci = _mm512_loadu_pd(t->untw_im + j);
        __m512d xr = _mm512_loadu_pd(re + j), xi = _mm512_loadu_pd(im + j);
        __m512d yr = _mm512_fmsub_pd(xr, cr, _mm512_mul_pd(xi, ci));
        __m512d yi = _mm512_fmadd_pd(xr, ci, _mm512_mul_pd(xi, cr));
        __m512d kr = _mm512_roundscale_pd(_mm512_mul_pd(yr, scale),
                                          _MM_FROUND_TO_NEAREST_INT |
                                              _MM_FROUND_NO_EXC);
        __m512d ki = _mm512_roundscale_pd(_mm512_mul_pd(yi, scale),
                                          _MM_FROUND_TO_NEAREST_INT |
                                              _MM_FROUND_NO_EXC);
        __m512i lo = _mm512_cvtpd_epi64(_mm512_fnmadd_pd(kr, two64, yr));
        __m512i hi = _mm512_cvtpd_epi64(_mm512_fnmadd_pd(ki, two64, yi));
        __m512i a0 = _mm512_loadu_si512((const void *)(acc + j));
        __m512i a1 = _mm512_loadu_si512((const void *)(acc + j + m));

        _mm512_storeu_si512((void *)(acc + j), _mm512_add_epi64(a0, lo));
        _mm512_storeu_si512((void *)(acc + j + m), _mm512_add_epi64(a1, hi));
    }
}
#else
static void inv_add_torus(const struct amaters_fhe_fft_plan_tables *t,
                          uint64_t *restrict acc, double *restrict buf)
{
    size_t m = t->m;
    double *re = buf, *im = buf + m;

    dit(t, re, im);
    /* untwist, reduce modulo 2^64 and accumulate in one pass */
IVDEP
    for (size_t j = 0; j < m; j++) {
        double cr = t->untw_re[j], ci = t->untw_im[j];
        double xr = re[j], xi = im[j];

        acc[j] += to_torus(xr * cr - xi * ci);
        acc[j + m] += to_torus(xr * ci + xi * cr);
    }
}
#endif

static void inv_round_i64(const struct amaters_fhe_fft_plan_tables *t,
                          int64_t *out, double *buf)
{
    size_t m = t->m;
    double *re = buf, *im = buf + m;

    inv_common(t, re, im);
    for (size_t j = 0; j < m; j++) {
        out[j] = (int64_t)to_torus(re[j]);
        out[j + m] = (int64_t)to_torus(im[j]);
    }
}

static void mac(size_t m, double *restrict acc, const double *restrict a,
                const double *restrict b)
{
    double *restrict accr = acc, *restrict acci = acc + m;
    const double *ar = a, *ai = a + m, *br = b, *bi = b + m;

    for (size_t j = 0; j < m; j++) {
        accr[j] += ar[j] * br[j] - ai[j] * bi[j];
        acci[j] += ar[j] * bi[j] + ai[j] * br[j];
    }
}

/* The whole MAC of an external product with k = 1, level = 1 in one pass:
 * acc_c = d0 * g[0][c] + d1 * g[1][c] (set, not accumulated). */
static void mac2x2(size_t m, double *restrict acc0, double *restrict acc1,
                   const double *restrict d0, const double *restrict d1,
                   const double *restrict g)
{
    const double *g00 = g, *g01 = g + 2 * m, *g10 = g + 4 * m;
    const double *g11 = g + 6 * m;

    for (size_t j = 0; j < m; j++) {
        double ar = d0[j], ai = d0[j + m], br = d1[j], bi = d1[j + m];

        acc0[j] = ar * g00[j] - ai * g00[j + m] + br * g10[j] -
                  bi * g10[j + m];
        acc0[j + m] = ar * g00[j + m] + ai * g00[j] + br * g10[j + m] +
                      bi * g10[j];
        acc1[j] = ar * g01[j] - ai * g01[j + m] + br * g11[j] -
                  bi * g11[j + m];
        acc1[j + m] = ar * g01[j + m] + ai * g01[j] + br * g11[j + m] +
                      bi * g11[j];
    }
}

/* out[t] -= d * row[t] (wrapping; only the low 32 bits of out matter):
 * the key-switch inner loop. */
/* 32-bit lanes throughout: twice the lanes per vector of the former
 * 64-bit accumulator, whose upper halves were never used. */
static void sub_mul_u32(uint32_t *restrict out, const uint32_t *restrict row,
                        uint32_t d, size_t len)
{
    for (size_t t = 0; t < len; t++)
        out[t] -= d * row[t];
}

const struct amaters_fhe_fft_kernels KERN = {
    .name = STR(AMATERS_FFT_SFX),
    .fwd_torus = fwd_torus,
    .fwd_i64 = fwd_i64,
    .fwd_decomp = fwd_decomp,
    .inv_add_torus = inv_add_torus,
    .inv_round_i64 = inv_round_i64,
    .mac = mac,
    .mac2x2 = mac2x2,
    .sub_mul_u32 = sub_mul_u32,
};
