/*
 * test_fhe_lwe.c - the building blocks below PBS: XOF determinism, the
 * Gaussian sampler, gadget decomposition, LWE and GLWE encryption, sample
 * extraction, the external product / CMUX and the key switch with its
 * measured noise against the model.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "fhe/decomp.h"
#include "fhe/ggsw.h"
#include "fhe/glwe.h"
#include "fhe/keys.h"
#include "fhe/lwe.h"
#include "fhe/noise.h"
#include "fhe/params.h"
#include "fhe/poly.h"
#include "fhe/rng.h"
#include "fhe/torus.h"
#include "leakcheck.h"

#ifdef AMATERS_SANITIZE
#define REDUCE 8
#else
#define REDUCE 1
#endif

static void seed_rng(struct amaters_fhe_rng *r, uint8_t tag, uint64_t dom)
{
    uint8_t seed[AMATERS_FHE_SEED_BYTES];

    memset(seed, tag, sizeof(seed));
    assert_int_equal(amaters_fhe_rng_init_seeded(r, seed, dom), 0);
}

/* AES-128-CTR with the all-zero key and IV: the first block is the
 * FIPS-197 / SP 800-38A known value 66e94bd4ef8a2c3b884cfa59ca342b2e. */
static void test_xof_known_answer(void **state)
{
    static const uint8_t zero[16];
    struct amaters_fhe_rng r, r2;
    uint64_t w0, w1;

    (void)state;
    assert_int_equal(amaters_fhe_rng_init_seeded(&r, zero, 0), 0);
    w0 = amaters_fhe_rng_u64(&r);
    w1 = amaters_fhe_rng_u64(&r);
    assert_true(w0 == UINT64_C(0x3b2c8aefd44be966));
    assert_true(w1 == UINT64_C(0x2e2b34ca59fa4c88));
    /* same seed, other domain: another stream; same pair: same stream */
    assert_int_equal(amaters_fhe_rng_init_seeded(&r2, zero, 1), 0);
    assert_true(amaters_fhe_rng_u64(&r2) != w0);
    amaters_fhe_rng_destroy(&r2);
    assert_int_equal(amaters_fhe_rng_init_seeded(&r2, zero, 0), 0);
    assert_true(amaters_fhe_rng_u64(&r2) == w0);
    assert_true(amaters_fhe_rng_u64(&r2) == w1);
    for (int i = 0; i < 1000; i++)   /* crosses buffer refills */
        assert_true(amaters_fhe_rng_u64(&r2) == amaters_fhe_rng_u64(&r));
    assert_int_equal(amaters_fhe_rng_error(&r), 0);
    amaters_fhe_rng_destroy(&r);
    amaters_fhe_rng_destroy(&r2);
}

/* What one process draws after the fork in test_rng_fork. */
struct fork_draw {
    uint64_t os[4];
    double normal;
    uint64_t seeded[4];
    int err;
};

static void draw_after_fork(struct amaters_fhe_rng *os,
                            struct amaters_fhe_rng *seeded,
                            struct fork_draw *d)
{
    memset(d, 0, sizeof(*d));
    for (int i = 0; i < 4; i++)
        d->os[i] = amaters_fhe_rng_u64(os);
    d->normal = amaters_fhe_rng_normal(os);
    for (int i = 0; i < 4; i++)
        d->seeded[i] = amaters_fhe_rng_u64(seeded);
    d->err = amaters_fhe_rng_error(os);
}

/* After fork(2), parent and child must not share an OS-seeded stream
 * (equal masks or noise in two ciphertexts reveal the difference of their
 * plaintexts): the child's buffered keystream and spare Gaussian are
 * replaced. A seeded stream stays deterministic in both. */
static void test_rng_fork(void **state)
{
    static const uint8_t zero[16];
    struct amaters_fhe_rng os, seeded;
    struct fork_draw mine, child;
    int fds[2], status = 0;
    pid_t pid;

    (void)state;
    assert_int_equal(amaters_fhe_rng_init_os(&os, AMATERS_FHE_DOM_NOISE), 0);
    assert_int_equal(amaters_fhe_rng_init_seeded(&seeded, zero, 3), 0);
    (void)amaters_fhe_rng_u64(&os);       /* keystream is buffered */
    (void)amaters_fhe_rng_normal(&os);    /* and a spare is pending */
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        draw_after_fork(&os, &seeded, &child);
        _exit(write(fds[1], &child, sizeof(child)) == sizeof(child) ? 0
                                                                    : 1);
    }
    close(fds[1]);
    draw_after_fork(&os, &seeded, &mine);
    memset(&child, 0, sizeof(child));
    assert_int_equal(read(fds[0], &child, sizeof(child)), sizeof(child));
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(child.err, 0);
    assert_int_equal(mine.err, 0);
    for (int i = 0; i < 4; i++) {
        assert_true(child.os[i] != mine.os[i]);
        assert_true(child.seeded[i] == mine.seeded[i]);
    }
    assert_true(child.normal != mine.normal);
    amaters_fhe_rng_destroy(&os);
    amaters_fhe_rng_destroy(&seeded);
}

static void test_gaussian_moments(void **state)
{
    struct amaters_fhe_rng r;
    const int count = 200000 / REDUCE;
    double s1 = 0, s2 = 0, s4 = 0;

    (void)state;
    assert_int_equal(amaters_fhe_rng_init_os(&r, AMATERS_FHE_DOM_NOISE), 0);
    for (int i = 0; i < count; i++) {
        double z = amaters_fhe_rng_normal(&r);

        s1 += z;
        s2 += z * z;
        s4 += z * z * z * z;
    }
    s1 /= count;
    s2 /= count;
    s4 /= count;
    assert_true(fabs(s1) < 5.0 / sqrt(count));
    assert_true(fabs(s2 - 1.0) < 6.0 * sqrt(2.0 / count));
    assert_true(fabs(s4 - 3.0) < 0.2);     /* kurtosis of a normal */
    amaters_fhe_rng_destroy(&r);
}

/* The libm-free log / sin / cos of the sampler agree with libm to a few
 * ulp over their whole domain, including the quadrant boundaries. */
static void test_det_math(void **state)
{
    struct amaters_fhe_rng r;
    double worst_log = 0, worst_trig = 0;

    (void)state;
    seed_rng(&r, 11, 0);
    for (int i = 0; i < 200000 / REDUCE; i++) {
        double u1 = (double)((amaters_fhe_rng_u64(&r) >> 11) + 1) * 0x1p-53;
        double u2 = (double)(amaters_fhe_rng_u64(&r) >> 11) * 0x1p-53;
        double sn, cs, el, es, ec;

        if (i < 9)      /* 0, 1/8, 1/4, ... exactly */
            u2 = i / 8.0 < 1.0 ? i / 8.0 : 0.999999;
        if (i == 0)
            u1 = 1.0;
        el = fabs(amaters_fhe_det_log(u1) - log(u1));
        amaters_fhe_det_sincos_turn(u2, &sn, &cs);
        es = fabs(sn - sin(2.0 * M_PI * u2));
        ec = fabs(cs - cos(2.0 * M_PI * u2));
        if (el > worst_log * fmax(1.0, fabs(log(u1))))
            worst_log = el / fmax(1.0, fabs(log(u1)));
        if (es > worst_trig)
            worst_trig = es;
        if (ec > worst_trig)
            worst_trig = ec;
    }
    print_message("det log: max rel error %.2e; sin/cos: max abs %.2e\n",
                  worst_log, worst_trig);
    assert_true(worst_log < 1e-15);
    assert_true(worst_trig < 1e-15);
    assert_true(amaters_fhe_det_log(1.0) == 0.0);
    amaters_fhe_rng_destroy(&r);
}

/* Table of (x, base_log, level): reconstruction equals x rounded to the
 * top bits, digits are balanced. */
static void test_decompose(void **state)
{
    static const struct {
        uint64_t x;
        uint32_t base_log, level;
    } cases[] = {
        {0, 23, 1}, {UINT64_MAX, 23, 1}, {UINT64_C(1) << 63, 23, 1},
        {UINT64_C(1) << 40, 23, 1}, {(UINT64_C(1) << 41) - 1, 23, 1},
        {0x123456789abcdef0, 3, 5}, {UINT64_MAX, 3, 5},
        {UINT64_C(1) << 48, 3, 5}, {0x8000000000000000, 3, 5},
        {0xdeadbeefcafebabe, 8, 8}, {0x7fffffffffffffff, 16, 4},
    };
    struct amaters_fhe_rng r;

    (void)state;
    seed_rng(&r, 4, 0);
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]) + 2000; c++) {
        uint64_t x = c < 11 ? cases[c].x : amaters_fhe_rng_u64(&r);
        uint32_t bl = c < 11 ? cases[c].base_log : (c % 2 ? 23 : 3);
        uint32_t lv = c < 11 ? cases[c].level : (c % 2 ? 1 : 5);
        int64_t d[64];
        uint64_t rec = 0;
        uint32_t bits = bl * lv;
        int64_t err;

        amaters_fhe_decompose(x, bl, lv, d);
        for (uint32_t j = 0; j < lv; j++) {
            assert_true(d[j] >= -(INT64_C(1) << (bl - 1)));
            assert_true(d[j] < (INT64_C(1) << (bl - 1)));
            rec += (uint64_t)d[j] * amaters_fhe_gadget(bl, j);
        }
        err = (int64_t)(x - rec);
        if (bits >= 64) {
            assert_true(err == 0);
        } else {
            assert_true(err <= (INT64_C(1) << (63 - bits)));
            assert_true(err >= -(INT64_C(1) << (63 - bits)));
        }
    }
    amaters_fhe_rng_destroy(&r);
}

/* LWE under a small random key: decrypts, linear ops act on plaintexts,
 * the measured noise variance matches the requested std. */
static void test_lwe_roundtrip(void **state)
{
    const size_t dim = 834;
    const double std = 3.5539902359442825e-06;
    const int count = 4000 / REDUCE;
    struct amaters_fhe_rng mask, noise;
    uint64_t key[834], c1[835], c2[835];
    double sse = 0, var;

    (void)state;
    seed_rng(&mask, 5, 1);
    seed_rng(&noise, 6, 2);
    for (size_t i = 0; i < dim; i++)
        key[i] = amaters_fhe_rng_u64(&mask) & 1;
    for (int i = 0; i < count; i++) {
        uint64_t m1 = (uint64_t)i % 16, m2 = (uint64_t)(i * 7 + 3) % 16;
        int64_t e;

        amaters_fhe_lwe_encrypt(c1, key, dim, m1 << 59, std, &mask, &noise);
        amaters_fhe_lwe_encrypt(c2, key, dim, m2 << 59, std, &mask, &noise);
        e = (int64_t)(amaters_fhe_lwe_phase(c1, key, dim) - (m1 << 59));
        sse += (double)e * (double)e;
        amaters_fhe_lwe_add(c1, c1, c2, dim);
        assert_int_equal(amaters_fhe_torus_decode(
                             amaters_fhe_lwe_phase(c1, key, dim), 59, 32),
                         (m1 + m2) % 32);
        amaters_fhe_lwe_mul_scalar(c2, c2, 3, dim);
        amaters_fhe_lwe_add_plain(c2, dim, UINT64_C(1) << 59);
        amaters_fhe_lwe_neg(c2, c2, dim);
        assert_int_equal(amaters_fhe_torus_decode(
                             amaters_fhe_lwe_phase(c2, key, dim), 59, 32),
                         (64 - (3 * m2 + 1)) % 32);
    }
    var = sse / count / 0x1p128;
    print_message("LWE fresh noise var %.3e, expected %.3e\n", var,
                  std * std);
    assert_true(var > 0.85 * std * std && var < 1.15 * std * std);
    amaters_fhe_rng_destroy(&mask);
    amaters_fhe_rng_destroy(&noise);
}

struct glwe_fix {
    struct amaters_fhe_client_key *ck;
    size_t n, k;
};

static void glwe_fix_init(struct glwe_fix *g)
{
    uint8_t seed[16];

    memset(seed, 7, sizeof(seed));
    assert_int_equal(amaters_fhe_client_key_new(
                         &amaters_fhe_param_msg2_carry2, seed, &g->ck), 0);
    g->n = g->ck->params->poly_size;
    g->k = g->ck->params->glwe_dim;
}

/* GLWE: phase recovers the plaintext polynomial; every extracted sample
 * has exactly the phase of its coefficient under the flattened key. */
static void test_glwe_extract(void **state)
{
    struct glwe_fix g;
    uint64_t *pt, *ct, *ph, *lwe;
    size_t words;

    (void)state;
    glwe_fix_init(&g);
    words = (g.k + 1) * g.n;
    pt = amaters_malloc(g.n * 8);
    ph = amaters_malloc(g.n * 8);
    ct = amaters_malloc(words * 8);
    lwe = amaters_malloc((g.k * g.n + 1) * 8);
    for (size_t j = 0; j < g.n; j++)
        pt[j] = (uint64_t)(j % 16) << 59;
    assert_int_equal(amaters_fhe_glwe_encrypt(ct, g.ck->glwe_key_fft,
                                              g.ck->fft, g.k, pt,
                                              g.ck->params->glwe_noise_std,
                                              &g.ck->mask_rng,
                                              &g.ck->noise_rng), 0);
    assert_int_equal(amaters_fhe_glwe_phase(ph, ct, g.ck->glwe_key_fft,
                                            g.ck->fft, g.k), 0);
    for (size_t j = 0; j < g.n; j++) {
        int64_t e = (int64_t)(ph[j] - pt[j]);

        /* 8.6 sigma of the GLWE noise is 2^18.7 */
        assert_true(e < (1 << 19) && e > -(1 << 19));
    }
    for (size_t idx = 0; idx < g.n; idx += 97 * REDUCE) {
        amaters_fhe_glwe_sample_extract(lwe, ct, g.k, g.n, idx);
        assert_true(amaters_fhe_phase_big(g.ck, lwe) == ph[idx]);
    }
    amaters_fhe_glwe_sample_extract(lwe, ct, g.k, g.n, g.n - 1);
    assert_true(amaters_fhe_phase_big(g.ck, lwe) == ph[g.n - 1]);
    amaters_free(pt);
    amaters_free(ph);
    amaters_free(ct);
    amaters_free(lwe);
    amaters_fhe_client_key_free(g.ck);
}

/* External product and CMUX for mu in {0, 1, 2} (23/1 decomposition). */
static void test_external_product(void **state)
{
    struct glwe_fix g;
    struct amaters_fhe_ggsw_shape sh;
    struct amaters_fhe_ep_scratch *sc = NULL;
    uint64_t *pt, *ct, *out, *ph, *exp;
    double *ggsw;
    size_t words;

    (void)state;
    glwe_fix_init(&g);
    sh.k = g.k;
    sh.n = g.n;
    sh.base_log = 23;
    sh.level = 1;
    words = (g.k + 1) * g.n;
    pt = amaters_malloc(g.n * 8);
    ph = amaters_malloc(g.n * 8);
    exp = amaters_malloc(g.n * 8);
    ct = amaters_malloc(words * 8);
    out = amaters_malloc(words * 8);
    ggsw = amaters_malloc(amaters_fhe_ggsw_fft_len(&sh) * sizeof(double));
    assert_int_equal(amaters_fhe_ep_scratch_new(&sh, &sc), 0);
    for (size_t j = 0; j < g.n; j++)
        pt[j] = (uint64_t)((j * 5) % 8) << 59;
    for (uint64_t mu = 0; mu < 3; mu++) {
        assert_int_equal(amaters_fhe_ggsw_encrypt_fft(
                             ggsw, &sh, mu, g.ck->glwe_key,
                             g.ck->glwe_key_fft, g.ck->fft,
                             g.ck->params->glwe_noise_std, &g.ck->mask_rng,
                             &g.ck->noise_rng), 0);
        assert_int_equal(amaters_fhe_glwe_encrypt(
                             ct, g.ck->glwe_key_fft, g.ck->fft, g.k, pt,
                             g.ck->params->glwe_noise_std, &g.ck->mask_rng,
                             &g.ck->noise_rng), 0);
        memset(out, 0, words * 8);
        amaters_fhe_external_product_add(out, ggsw, ct, &sh, g.ck->fft, sc);
        assert_int_equal(amaters_fhe_glwe_phase(ph, out, g.ck->glwe_key_fft,
                                                g.ck->fft, g.k), 0);
        for (size_t j = 0; j < g.n; j++) {
            int64_t e = (int64_t)(ph[j] - mu * pt[j]);

            assert_true(e < (INT64_C(1) << 50) && e > -(INT64_C(1) << 50));
        }
        /* CMUX with rotation 77: bit mu = 1 rotates, 0 keeps */
        if (mu == 2)
            continue;
        amaters_fhe_cmux_rotate(ct, ggsw, 77, &sh, g.ck->fft, sc);
        assert_int_equal(amaters_fhe_glwe_phase(ph, ct, g.ck->glwe_key_fft,
                                                g.ck->fft, g.k), 0);
        if (mu == 1)
            amaters_fhe_poly_mul_monomial(exp, pt, 77, g.n);
        else
            memcpy(exp, pt, g.n * 8);
        for (size_t j = 0; j < g.n; j++) {
            int64_t e = (int64_t)(ph[j] - exp[j]);

            assert_true(e < (INT64_C(1) << 50) && e > -(INT64_C(1) << 50));
        }
    }
    amaters_fhe_ep_scratch_free(sc);
    amaters_free(pt);
    amaters_free(ph);
    amaters_free(exp);
    amaters_free(ct);
    amaters_free(out);
    amaters_free(ggsw);
    amaters_fhe_client_key_free(g.ck);
}

/* Generates g's big -> small KSK from two seeded streams. */
static void ksk_fix_init(const struct glwe_fix *g, struct amaters_fhe_ksk *ksk,
                         uint8_t mask_seed, uint8_t noise_seed)
{
    const struct amaters_fhe_params *p = &amaters_fhe_param_msg2_carry2;
    struct amaters_fhe_rng mask, noise;

    seed_rng(&mask, mask_seed, 1);
    seed_rng(&noise, noise_seed, 2);
    assert_int_equal(amaters_fhe_ksk_generate(ksk, g->ck->glwe_key,
                                              amaters_fhe_params_big_dim(p),
                                              g->ck->lwe_key, p->lwe_dim,
                                              p->ks_base_log, p->ks_level,
                                              p->lwe_noise_std, &mask,
                                              &noise), 0);
    amaters_fhe_rng_destroy(&mask);
    amaters_fhe_rng_destroy(&noise);
}

/* Key switch big -> small key keeps every 4-bit plaintext; the added
 * noise variance is within 2x of the model. */
static void test_keyswitch_noise(void **state)
{
    const struct amaters_fhe_params *p = &amaters_fhe_param_msg2_carry2;
    struct glwe_fix g;
    struct amaters_fhe_ksk ksk;
    size_t big;
    uint64_t *in, *out;
    const int count = 400 / REDUCE;
    double sse = 0, var, model;

    (void)state;
    glwe_fix_init(&g);
    big = amaters_fhe_params_big_dim(p);
    ksk_fix_init(&g, &ksk, 8, 9);
    in = amaters_malloc((big + 1) * 8);
    out = amaters_malloc((p->lwe_dim + 1) * 8);
    for (int i = 0; i < count; i++) {
        uint64_t m = (uint64_t)i % 16;
        int64_t e;

        assert_int_equal(amaters_fhe_encrypt_big(g.ck, m << 59, in), 0);
        amaters_fhe_keyswitch(&ksk, out, in);
        e = (int64_t)(amaters_fhe_phase_small(g.ck, out) -
                      amaters_fhe_phase_big(g.ck, in));
        sse += (double)e * (double)e;
        assert_int_equal(amaters_fhe_torus_decode(
                             amaters_fhe_phase_small(g.ck, out), 59, 32), m);
    }
    var = sse / count / 0x1p128;
    model = amaters_fhe_noise_ks_var(p);
    print_message("KS noise var %.4e (2^%.2f int), model %.4e: ratio %.3f\n",
                  var, log2(var) / 2 + 64, model, var / model);
    assert_true(var < 2.0 * model && var > 0.5 * model);
    amaters_free(in);
    amaters_free(out);
    amaters_fhe_ksk_destroy(&ksk);
    amaters_fhe_client_key_free(g.ck);
}

/* amaters_fhe_keyswitch_many, for every batch size 1..16 and for 19 (two
 * passes), writes every output, each decrypting to its input's message
 * under the small key and equal word for word to the single switch. */
static void test_keyswitch_many(void **state)
{
    const struct amaters_fhe_params *p = &amaters_fhe_param_msg2_carry2;
    enum { B = AMATERS_FHE_KS_BATCH, N = AMATERS_FHE_KS_BATCH + 3 };
    struct glwe_fix g;
    struct amaters_fhe_ksk ksk;
    size_t big, row = p->lwe_dim + 1;
    uint64_t *in[N], *one = NULL, *many[N];
    uint32_t *scratch;

    (void)state;
    glwe_fix_init(&g);
    big = amaters_fhe_params_big_dim(p);
    ksk_fix_init(&g, &ksk, 10, 11);
    scratch = amaters_malloc(B * row * sizeof(uint32_t));
    one = amaters_malloc(row * 8);
    for (int b = 0; b < N; b++) {
        in[b] = amaters_malloc((big + 1) * 8);
        many[b] = amaters_malloc(row * 8);
        assert_int_equal(amaters_fhe_encrypt_big(g.ck, (uint64_t)(b * 5 % 16)
                                                           << 59, in[b]), 0);
    }
    for (size_t n = 1; n <= N; n++) {
        if (n > B && n < N)
            continue;
        for (size_t b = 0; b < n; b++)
            memset(many[b], 0xa5, row * 8);   /* every output is written */
        amaters_fhe_keyswitch_many(&ksk, many, (const uint64_t *const *)in,
                                   n, scratch);
        for (size_t b = 0; b < n; b++) {
            uint64_t m = amaters_fhe_torus_decode(
                amaters_fhe_phase_small(g.ck, many[b]), 59, 32);

            if (m != b * 5 % 16)
                fail_msg("batch of %zu: ciphertext %zu decrypts to %llu",
                         n, b, (unsigned long long)m);
            amaters_fhe_keyswitch(&ksk, one, in[b]);
            if (memcmp(one, many[b], row * 8) != 0)
                fail_msg("batch of %zu: ciphertext %zu differs", n, b);
        }
    }
    for (int b = 0; b < N; b++) {
        amaters_free(in[b]);
        amaters_free(many[b]);
    }
    amaters_free(one);
    amaters_free(scratch);
    amaters_fhe_ksk_destroy(&ksk);
    amaters_fhe_client_key_free(g.ck);
}

/* Every allocation of client-key creation, FFT plans and scratch may
 * fail: the call reports AMATERS_ENOMEM and leaks nothing. */
static void test_alloc_failures(void **state)
{
    const struct amaters_fhe_params *p = &amaters_fhe_param_msg2_carry2;
    struct amaters_fhe_ggsw_shape sh = {1, 2048, 23, 1};
    uint8_t seed[16] = {1};
    int ok = 0;

    (void)state;
    for (long n = 0; n < 64 && !ok; n++) {
        struct amaters_fhe_client_key *ck = NULL;
        long live = amaters_alloc_live();
        int rc;

        amaters_alloc_fail_after(n);
        rc = amaters_fhe_client_key_new(p, seed, &ck);
        amaters_alloc_fail_after(-1);
        if (rc == 0) {
            ok = 1;
            amaters_fhe_client_key_free(ck);
        } else {
            assert_int_equal(rc, AMATERS_ENOMEM);
            assert_null(ck);
        }
        assert_int_equal(amaters_alloc_live(), live);
    }
    assert_true(ok);
    ok = 0;
    for (long n = 0; n < 16 && !ok; n++) {
        struct amaters_fhe_ep_scratch *sc = NULL;
        struct amaters_fhe_fft *f = NULL;
        int rc;

        amaters_alloc_fail_after(n);
        rc = amaters_fhe_fft_new(2048, &f);
        if (rc == 0)
            rc = amaters_fhe_ep_scratch_new(&sh, &sc);
        amaters_alloc_fail_after(-1);
        ok = rc == 0;
        if (!ok)
            assert_int_equal(rc, AMATERS_ENOMEM);
        amaters_fhe_ep_scratch_free(sc);
        amaters_fhe_fft_free(f);
    }
    assert_true(ok);
}

static void test_params(void **state)
{
    const struct amaters_fhe_params *p;

    (void)state;
    p = amaters_fhe_params_get(AMATERS_FHE_PARAM_MSG2_CARRY2_KS_PBS);
    assert_ptr_equal(p, &amaters_fhe_param_msg2_carry2);
    assert_int_equal(amaters_fhe_params_check(p), 0);
    assert_int_equal(p->lwe_dim, 834);
    assert_int_equal(p->poly_size, 2048);
    assert_int_equal(amaters_fhe_params_delta_log(p), 59);
    assert_null(amaters_fhe_params_get(12345));
    assert_int_equal(amaters_fhe_params_check(NULL), AMATERS_EINVAL);
    print_message("model: log2 p_fail = %.2f (published -64.07)\n",
                  amaters_fhe_noise_log2_pfail(p));
    assert_true(amaters_fhe_noise_log2_pfail(p) < -60.0);
    assert_true(amaters_fhe_noise_log2_pfail(p) > -70.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        LEAK_TEST(test_xof_known_answer),
        LEAK_TEST(test_rng_fork),
        LEAK_TEST(test_gaussian_moments),
        LEAK_TEST(test_det_math),
        LEAK_TEST(test_decompose),
        LEAK_TEST(test_lwe_roundtrip),
        LEAK_TEST(test_glwe_extract),
        LEAK_TEST(test_external_product),
        LEAK_TEST(test_keyswitch_noise),
        LEAK_TEST(test_keyswitch_many),
        LEAK_TEST(test_alloc_failures),
        LEAK_TEST(test_params),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
