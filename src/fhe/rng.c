/*
 * rng.c - AES-128-CTR XOF over OpenSSL EVP, getrandom seeding and the
 * Box-Muller Gaussian sampler. See rng.h for the exact stream layout.
 */
#include "fhe/rng.h"

#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/random.h>

#include "core/errors.h"

static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;

    while (n--)
        *v++ = 0;
}

int amaters_fhe_os_random(void *buf, size_t n)
{
    unsigned char *p = buf;

    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);

        if (got < 0) {
            if (errno == EINTR)
                continue;
            return AMATERS_EIO;
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

static void refill(struct amaters_fhe_rng *r)
{
    static const unsigned char zeros[AMATERS_FHE_RNG_BUF];
    int outl = 0;

    if (r->err == 0 &&
        EVP_EncryptUpdate(r->ctx, r->buf, &outl, zeros, sizeof(zeros)) == 1 &&
        outl == (int)sizeof(zeros)) {
        r->pos = 0;
        return;
    }
    /* Never hand out predictable bytes silently: poison and flag. */
    if (r->err == 0)
        r->err = AMATERS_EINTERNAL;
    memset(r->buf, 0, sizeof(r->buf));
    r->pos = 0;
}

int amaters_fhe_rng_init_seeded(struct amaters_fhe_rng *r,
                                const uint8_t seed[AMATERS_FHE_SEED_BYTES],
                                uint64_t domain)
{
    unsigned char iv[16];
    EVP_CIPHER_CTX *ctx;
    int rc = 0;

    memset(r, 0, sizeof(*r));
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL)
        return AMATERS_ENOMEM;
    for (int i = 0; i < 8; i++)
        iv[i] = (unsigned char)(domain >> (56 - 8 * i));
    memset(iv + 8, 0, 8);
    if (EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), NULL, seed, iv) != 1) {
        rc = AMATERS_EINTERNAL;
        goto fail;
    }
    r->ctx = ctx;
    refill(r);
    if (r->err != 0) {
        rc = r->err;
        r->ctx = NULL;
        goto fail;
    }
    return 0;
fail:
    EVP_CIPHER_CTX_free(ctx);
    wipe(r, sizeof(*r));
    return rc;
}

int amaters_fhe_seed_derive(const uint8_t seed[AMATERS_FHE_SEED_BYTES],
                            uint64_t domain,
                            uint8_t out[AMATERS_FHE_SEED_BYTES])
{
    struct amaters_fhe_rng r;
    int rc = amaters_fhe_rng_init_seeded(&r, seed, domain);

    if (rc != 0) {
        memset(out, 0, AMATERS_FHE_SEED_BYTES);
        return rc;
    }
    memcpy(out, r.buf, AMATERS_FHE_SEED_BYTES);
    amaters_fhe_rng_destroy(&r);
    return 0;
}

/* Bumped in every child process by a pthread_atfork handler, so an
 * OS-seeded stream can tell that it was copied by fork(2). */
static atomic_ulong g_fork_gen;
static pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void)
{
    atomic_fetch_add_explicit(&g_fork_gen, 1, memory_order_relaxed);
}

static void register_atfork(void)
{
    (void)pthread_atfork(NULL, NULL, on_fork_child);
}

int amaters_fhe_rng_init_os(struct amaters_fhe_rng *r, uint64_t domain)
{
    uint8_t seed[AMATERS_FHE_SEED_BYTES];
    int rc;

    memset(r, 0, sizeof(*r));
    (void)pthread_once(&g_atfork_once, register_atfork);
    rc = amaters_fhe_os_random(seed, sizeof(seed));
    if (rc == 0)
        rc = amaters_fhe_rng_init_seeded(r, seed, domain);
    wipe(seed, sizeof(seed));
    if (rc == 0) {
        r->os_seeded = 1;
        r->domain = domain;
        r->fork_gen = atomic_load_explicit(&g_fork_gen,
                                           memory_order_relaxed);
    }
    return rc;
}

/* In a forked child, replaces r by a fresh OS-seeded stream (same
 * domain); on failure r stays poisoned with its sticky error. */
static void reseed_after_fork(struct amaters_fhe_rng *r)
{
    struct amaters_fhe_rng fresh;
    uint64_t domain = r->domain;
    int old_err = r->err;   /* sticky: a failure before the fork stays */
    int rc = amaters_fhe_rng_init_os(&fresh, domain);

    amaters_fhe_rng_destroy(r);
    if (rc == 0 && old_err != 0)
        fresh.err = old_err;
    if (rc != 0) {
        r->err = rc;
        r->os_seeded = 1;
        r->domain = domain;
        r->fork_gen = atomic_load_explicit(&g_fork_gen,
                                           memory_order_relaxed);
        return;                          /* draws zeros, err sticky */
    }
    *r = fresh;
    wipe(&fresh, sizeof(fresh));
}

static inline void check_fork(struct amaters_fhe_rng *r)
{
    if (r->os_seeded &&
        r->fork_gen != atomic_load_explicit(&g_fork_gen,
                                            memory_order_relaxed))
        reseed_after_fork(r);
}

void amaters_fhe_rng_destroy(struct amaters_fhe_rng *r)
{
    if (r == NULL)
        return;
    if (r->ctx != NULL)
        EVP_CIPHER_CTX_free(r->ctx);   /* OpenSSL cleanses the key */
    wipe(r, sizeof(*r));
}

int amaters_fhe_rng_error(const struct amaters_fhe_rng *r)
{
    return r->err;
}

uint64_t amaters_fhe_rng_u64(struct amaters_fhe_rng *r)
{
    uint64_t v = 0;

    check_fork(r);
    if (r->pos + 8 > AMATERS_FHE_RNG_BUF)
        refill(r);
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | r->buf[r->pos + (size_t)i];
    r->pos += 8;
    return v;
}

void amaters_fhe_rng_fill_u64(struct amaters_fhe_rng *r, uint64_t *out,
                              size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = amaters_fhe_rng_u64(r);
}

/*
 * log, sin and cos from IEEE basic operations only (+ - * / sqrt, frexp),
 * in a fixed order, so that samples are bit-identical on every build and
 * libm (glibc's own functions may round the last bit differently on other
 * CPUs). Accuracy is a few ulp, far below what the sampler needs.
 */
static double det_log(double x)
{
    static const double ln2_hi = 6.93147180369123816490e-01;
    static const double ln2_lo = 1.90821492927058770002e-10;
    int e;
    double m = frexp(x, &e), s, s2, p;

    if (m < M_SQRT1_2) {
        m *= 2.0;
        e--;
    }
    /* log m = 2 atanh(s), |s| <= 0.1716: series to s^23 */
    s = (m - 1.0) / (m + 1.0);
    s2 = s * s;
    p = 1.0 / 23.0;
    for (int k = 21; k >= 1; k -= 2)
        p = p * s2 + 1.0 / (double)k;
    return (double)e * ln2_hi + ((double)e * ln2_lo + 2.0 * s * p);
}

/* sin and cos of a in [0, pi/4] by Taylor series to degree 19 / 18. */
static void det_sincos_small(double a, double *sn, double *cs)
{
    double a2 = a * a, ps = 0.0, pc = 0.0, fs = 1.0, fc = 1.0;
    double cs_coef[10], sn_coef[10];

    /* 1/(2i+1)! and 1/(2i)! with alternating signs, built in order */
    for (int i = 0; i < 10; i++) {
        sn_coef[i] = (i % 2 ? -1.0 : 1.0) / fs;
        cs_coef[i] = (i % 2 ? -1.0 : 1.0) / fc;
        fs *= (double)(2 * i + 2) * (double)(2 * i + 3);
        fc *= (double)(2 * i + 1) * (double)(2 * i + 2);
    }
    for (int i = 9; i >= 0; i--) {
        ps = ps * a2 + sn_coef[i];
        pc = pc * a2 + cs_coef[i];
    }
    *sn = a * ps;
    *cs = pc;
}

/* sin and cos of 2 pi u for u in [0, 1) on the 2^-53 grid. */
static void det_sincos_turn(double u, double *sn, double *cs)
{
    static const double pi_2 = 1.57079632679489661923;
    double t = u * 4.0, f, s, c;
    int q = (int)t;
    int swap;

    f = t - (double)q;                  /* exact, in [0, 1) */
    swap = f > 0.5;
    if (swap)
        f = 1.0 - f;                    /* exact (Sterbenz) */
    det_sincos_small(f * pi_2, &s, &c);
    if (swap) {
        double tmp = s;

        s = c;
        c = tmp;
    }
    /* rotate by q quarter turns */
    switch (q) {
    case 0:
        *sn = s;
        *cs = c;
        break;
    case 1:
        *sn = c;
        *cs = -s;
        break;
    case 2:
        *sn = -s;
        *cs = -c;
        break;
    default:
        *sn = -c;
        *cs = s;
        break;
    }
}

double amaters_fhe_rng_normal(struct amaters_fhe_rng *r)
{
    double u1, u2, rad, sn, cs;

    check_fork(r);
    if (r->have_spare) {
        r->have_spare = 0;
        return r->spare;
    }
    /* u1 in (0, 1], u2 in [0, 1), both on the 2^-53 grid. */
    u1 = (double)((amaters_fhe_rng_u64(r) >> 11) + 1) * 0x1p-53;
    u2 = (double)(amaters_fhe_rng_u64(r) >> 11) * 0x1p-53;
    rad = sqrt(-2.0 * det_log(u1));
    det_sincos_turn(u2, &sn, &cs);
    r->spare = rad * sn;
    r->have_spare = 1;
    return rad * cs;
}

double amaters_fhe_det_log(double x)
{
    return det_log(x);
}

void amaters_fhe_det_sincos_turn(double u, double *sn, double *cs)
{
    det_sincos_turn(u, sn, cs);
}

uint64_t amaters_fhe_rng_torus_gaussian(struct amaters_fhe_rng *r,
                                        double std)
{
    double v = nearbyint(amaters_fhe_rng_normal(r) * std *
                         18446744073709551616.0);

    /* |v| <= 8.6 * std * 2^64 < 2^63 for every std < 2^-4. */
    return (uint64_t)(int64_t)v;
}
