/*
 * test_fhe_golden.c - determinism across FFT kernels: golden vectors made
 * from fixed seeds (client key, compressed server key, three blocks, two
 * u8) hash to SHA-256 values recorded in this file under every kernel the
 * CPU runs; the same homomorphic sequence (LUTs, a bivariate LUT, a PBS
 * chain, u8 add and lt) on the golden ciphertexts decrypts to the clear
 * results, identically, with the portable, AVX2 and AVX-512 kernels; and
 * the kernel override (amaters_fhe_fft_force, AMATERS_FHE_FFT) refuses
 * what the CPU lacks and falls back to the best available kernel.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "fhe/fft.h"
#include "fhe/fft_impl.h"
#include "fhe/radix.h"
#include "fhe/serial.h"
#include "leakcheck.h"

/* Objects of the golden set, in hash order. */
enum { O_CK, O_SK, O_B0, O_B1, O_B2, O_U0, O_U1, NOBJ };
#define NBLK 3
#define NU8 2
static const uint32_t blk_msg[NBLK] = {3, 2, 1};
static const uint64_t u8_val[NU8] = {200, 73};

/*
 * SHA-256 of the encodings (header included): client key (with the
 * server key's id), compressed server key, blocks of 3, 2, 1 and u8 of
 * 200, 73, all expanded, from client seed a0 a1 .. af and server seed
 * b0 b1 .. bf. Recorded with the portable kernel (again in session 4:
 * the server key's mask seed became a one-way derivation of its seed,
 * which changed the server key and so the key id in every header); key
 * generation and encryption are exact integer arithmetic (AES-CTR,
 * libm-free sampler, exact limb products), so every kernel and build
 * must agree.
 */
static const uint8_t golden[NOBJ][32] = {
    /* client key */
    {0x41, 0x59, 0x92, 0x10, 0x69, 0xf0, 0x4b, 0x22,
     0x04, 0x91, 0x90, 0xc3, 0xc2, 0x90, 0x11, 0x43,
     0x63, 0x39, 0x31, 0xc9, 0x63, 0x0a, 0xda, 0x4e,
     0x67, 0x8c, 0x7b, 0x34, 0x50, 0xb5, 0x7e, 0xf4},
    /* server key (compressed) */
    {0xc7, 0x53, 0xbd, 0xdd, 0xcd, 0x79, 0x13, 0xc9,
     0x4b, 0xc2, 0xf7, 0x28, 0x2d, 0x1f, 0x1b, 0x44,
     0x50, 0xec, 0xfc, 0xb1, 0xb3, 0xa3, 0x27, 0xe2,
     0x6c, 0x5f, 0x0d, 0x20, 0x59, 0xd4, 0x63, 0x09},
    /* block 3 */
    {0xcb, 0x01, 0xb7, 0xe6, 0x10, 0x09, 0xec, 0xce,
     0x4f, 0xfc, 0xe4, 0x06, 0xa7, 0xfc, 0xbd, 0x36,
     0x3b, 0xa9, 0xf7, 0xb7, 0xdb, 0x05, 0xbd, 0xbf,
     0xeb, 0xba, 0xe9, 0x04, 0xe7, 0x5e, 0x30, 0xba},
    /* block 2 */
    {0x9d, 0x85, 0xe3, 0xed, 0x5e, 0x31, 0x80, 0xcc,
     0xd2, 0x60, 0x7b, 0x80, 0xf5, 0x82, 0xe1, 0x80,
     0x3d, 0x7d, 0x4d, 0x8a, 0x31, 0xda, 0xb1, 0x73,
     0x46, 0x85, 0x59, 0xb4, 0xa9, 0xcc, 0xab, 0xcb},
    /* block 1 */
    {0xca, 0xc9, 0xde, 0x1a, 0x1b, 0xb1, 0x85, 0xdc,
     0xe4, 0x48, 0xf8, 0xc5, 0x18, 0x47, 0xc2, 0x73,
     0x16, 0xd5, 0x6b, 0x11, 0x5a, 0x4f, 0x3a, 0xd4,
     0xbb, 0x6a, 0x01, 0x34, 0x65, 0x59, 0x51, 0x50},
    /* u8 200 */
    {0x86, 0x1d, 0x83, 0x33, 0xc6, 0x91, 0x0e, 0xd1,
     0x2e, 0x16, 0x33, 0x5c, 0x6e, 0x73, 0xaf, 0xb1,
     0x75, 0x1a, 0xee, 0x1d, 0xb5, 0x3c, 0xf1, 0xf9,
     0xfa, 0x6a, 0x90, 0x3d, 0xb7, 0x28, 0x09, 0x82},
    /* u8 73 */
    {0x2c, 0x84, 0x56, 0x2c, 0x3e, 0x91, 0x21, 0x82,
     0xfe, 0x8b, 0xb3, 0xd9, 0x7f, 0xe4, 0xef, 0x73,
     0xe1, 0x20, 0x58, 0x5f, 0x1f, 0xfa, 0x44, 0x54,
     0x36, 0x07, 0x4a, 0xe5, 0xa8, 0x0b, 0xa3, 0x49},
};

static const char *const kernels[] = {"portable", "avx2", "avx512"};
#define NKERN (sizeof(kernels) / sizeof(kernels[0]))

struct objs {
    struct amaters_fhe_client_key *ck;
    struct amaters_fhe_server_key_compressed *csk;
    uint8_t key_id[AMATERS_FHE_KEY_ID_BYTES];
    uint8_t *buf[NOBJ];
    size_t len[NOBJ];
};

struct fix {
    const struct amaters_fhe_params *p;
    struct objs g;          /* made with the portable kernel */
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sha256(const void *buf, size_t len, uint8_t out[32])
{
    unsigned int dlen = 0;

    assert_int_equal(EVP_Digest(buf, len, out, &dlen, EVP_sha256(), NULL),
                     1);
    assert_int_equal(dlen, 32);
}

static void objs_free(struct objs *o)
{
    if (o->buf[O_CK] != NULL)
        amaters_free_secret(o->buf[O_CK], o->len[O_CK]);
    for (int i = O_SK; i < NOBJ; i++)
        amaters_free(o->buf[i]);
    amaters_fhe_server_key_compressed_free(o->csk);
    amaters_fhe_client_key_free(o->ck);
    memset(o, 0, sizeof(*o));
}

/* Encrypts the golden ciphertexts with o->ck and encodes them. */
static int objs_encrypt(const struct amaters_fhe_params *p, struct objs *o)
{
    struct amaters_fhe_block b;
    struct amaters_fhe_radix r;
    int rc;

    rc = amaters_fhe_block_init(&b, p);
    if (rc != 0)
        return rc;
    for (int i = 0; rc == 0 && i < NBLK; i++) {
        rc = amaters_fhe_block_encrypt(o->ck, blk_msg[i], &b);
        if (rc == 0)
            rc = amaters_fhe_encode_block(&b, o->key_id, &o->buf[O_B0 + i],
                                          &o->len[O_B0 + i]);
    }
    amaters_fhe_block_destroy(&b);
    if (rc == 0)
        rc = amaters_fhe_radix_init(&r, p, 4);
    if (rc != 0)
        return rc;
    for (int i = 0; rc == 0 && i < NU8; i++) {
        rc = amaters_fhe_radix_encrypt(o->ck, u8_val[i], &r);
        if (rc == 0)
            rc = amaters_fhe_encode_radix(&r, o->key_id, &o->buf[O_U0 + i],
                                          &o->len[O_U0 + i]);
    }
    amaters_fhe_radix_destroy(&r);
    return rc;
}

/* Generates the golden keys and ciphertexts with the current kernel. */
static int objs_make(const struct amaters_fhe_params *p, struct objs *o)
{
    uint8_t cseed[16], sseed[16];
    int rc;

    memset(o, 0, sizeof(*o));
    for (int i = 0; i < 16; i++) {
        cseed[i] = (uint8_t)(0xa0 + i);
        sseed[i] = (uint8_t)(0xb0 + i);
    }
    rc = amaters_fhe_client_key_new(p, cseed, &o->ck);
    if (rc == 0)
        rc = amaters_fhe_server_key_new_compressed(o->ck, sseed, &o->csk);
    if (rc == 0)
        rc = amaters_fhe_key_id(o->csk, o->key_id);
    if (rc == 0)
        rc = amaters_fhe_encode_client_key(o->ck, o->key_id, &o->buf[O_CK],
                                           &o->len[O_CK]);
    if (rc == 0)
        rc = amaters_fhe_encode_server_key(o->csk, &o->buf[O_SK],
                                           &o->len[O_SK]);
    if (rc == 0)
        rc = objs_encrypt(p, o);
    if (rc != 0)
        objs_free(o);
    return rc;
}

static int group_setup(void **state)
{
    static struct fix f;
    double t0 = now_s();

    memset(&f, 0, sizeof(f));
    leak_group_mark();
    f.p = &amaters_fhe_param_msg2_carry2;
    if (amaters_fhe_fft_force("portable") != 0 ||
        objs_make(f.p, &f.g) != 0)
        return -1;
    print_message("golden set (portable kernel): %.2f s\n", now_s() - t0);
    *state = &f;
    return 0;
}

static int group_teardown(void **state)
{
    struct fix *f = *state;

    objs_free(&f->g);
    amaters_fhe_fft_force(NULL);
    return leak_group_check();
}

/* Compares the hashes of o's encodings with the golden ones. */
static void check_hashes(const struct objs *o, const char *kernel)
{
    static const char *const names[NOBJ] = {
        "client key", "server key", "block 3", "block 2", "block 1",
        "u8 200", "u8 73",
    };
    int bad = 0;

    for (int i = 0; i < NOBJ; i++) {
        uint8_t h[32];
        char hex[32 * 6 + 1];

        sha256(o->buf[i], o->len[i], h);
        if (memcmp(h, golden[i], 32) == 0)
            continue;
        bad = 1;
        for (int j = 0; j < 32; j++)
            snprintf(hex + 6 * j, 7, "0x%02x, ", h[j]);
        print_message("%s: %s hash differs, got {%s}\n", kernel, names[i],
                      hex);
    }
    assert_false(bad);
}

/* (a) keys and ciphertexts do not depend on the FFT kernel. */
static void test_golden_hashes(void **state)
{
    struct fix *f = *state;
    uint32_t v;
    uint64_t u;

    check_hashes(&f->g, "portable");
    /* and the golden ciphertexts hold what was encrypted */
    for (int i = 0; i < NOBJ - O_B0; i++) {
        struct amaters_fhe_radix r;

        assert_int_equal(amaters_fhe_decode_radix(f->g.buf[O_B0 + i],
                                                  f->g.len[O_B0 + i], &r,
                                                  NULL), 0);
        if (i < NBLK) {
            assert_int_equal(amaters_fhe_block_decrypt(f->g.ck,
                                                       &r.blocks[0], &v), 0);
            assert_int_equal(v, blk_msg[i]);
        } else {
            assert_int_equal(amaters_fhe_radix_decrypt(f->g.ck, &r, &u), 0);
            assert_true(u == u8_val[i - NBLK]);
        }
        amaters_fhe_radix_destroy(&r);
    }
    for (size_t k = 1; k < NKERN; k++) {
        struct objs o;
        double t0;
        int rc = amaters_fhe_fft_force(kernels[k]);

        if (rc != 0) {
            assert_int_equal(rc, AMATERS_EUNSUPPORTED);
            print_message("%s: not on this CPU, skipped\n", kernels[k]);
            continue;
        }
        t0 = now_s();
        assert_int_equal(objs_make(f->p, &o), 0);
        print_message("golden set (%s kernel): %.2f s\n", kernels[k],
                      now_s() - t0);
        check_hashes(&o, kernels[k]);
        objs_free(&o);
    }
    assert_int_equal(amaters_fhe_fft_force("portable"), 0);
}

/* Results of the homomorphic sequence. */
enum { R_SQ, R_AFF, R_MUL, R_CHAIN, R_LT1, R_LT2, R_ADD, NRES };

struct run {
    uint64_t v[NRES];
    uint8_t h[NRES][32];    /* SHA-256 of the result ciphertexts */
};

static uint32_t f_sq(uint32_t x, void *arg)
{
    (void)arg;
    return (x * x) % 16;
}

static uint32_t f_aff(uint32_t x, void *arg)
{
    (void)arg;
    return (3 * x + 1) % 16;
}

static uint32_t f_mul(uint32_t x, uint32_t y, void *arg)
{
    (void)arg;
    return x * y;
}

static void hash_block(const struct fix *f, const struct amaters_fhe_block *b,
                       uint8_t h[32])
{
    sha256(b->ct, (amaters_fhe_params_big_dim(f->p) + 1) * 8, h);
}

/* The fixed sequence on the golden ciphertexts (decoded from bytes). */
static void run_ops(const struct fix *f, struct amaters_fhe_eval *ev,
                    struct run *out)
{
    struct amaters_fhe_radix in[NOBJ - O_B0], sum;
    struct amaters_fhe_block r[R_ADD];
    struct amaters_fhe_lut *sq = NULL, *aff = NULL, *mul = NULL;
    uint32_t v;

    for (int i = 0; i < NOBJ - O_B0; i++)
        assert_int_equal(amaters_fhe_decode_radix(f->g.buf[O_B0 + i],
                                                  f->g.len[O_B0 + i], &in[i],
                                                  NULL), 0);
    for (int i = 0; i < R_ADD; i++)
        assert_int_equal(amaters_fhe_block_init(&r[i], f->p), 0);
    assert_int_equal(amaters_fhe_radix_init(&sum, f->p, 4), 0);
    assert_int_equal(amaters_fhe_lut_new(f->p, f_sq, NULL, &sq), 0);
    assert_int_equal(amaters_fhe_lut_new(f->p, f_aff, NULL, &aff), 0);
    assert_int_equal(amaters_fhe_lut2_new(f->p, f_mul, NULL, &mul), 0);
    amaters_fhe_block_apply_lut(ev, sq, &in[0].blocks[0], &r[R_SQ]);
    amaters_fhe_block_apply_lut(ev, aff, &in[1].blocks[0], &r[R_AFF]);
    assert_int_equal(amaters_fhe_block_apply_lut2(ev, mul, &in[1].blocks[0],
                                                  &in[0].blocks[0],
                                                  &r[R_MUL]), 0);
    amaters_fhe_block_apply_lut(ev, sq, &r[R_AFF], &r[R_CHAIN]);
    assert_int_equal(amaters_fhe_radix_add(ev, &in[NBLK], &in[NBLK + 1],
                                           &sum), 0);
    assert_int_equal(amaters_fhe_radix_lt(ev, &in[NBLK], &in[NBLK + 1],
                                          &r[R_LT1]), 0);
    assert_int_equal(amaters_fhe_radix_lt(ev, &sum, &in[NBLK], &r[R_LT2]),
                     0);
    for (int i = 0; i < R_ADD; i++) {
        assert_int_equal(amaters_fhe_block_decrypt(f->g.ck, &r[i], &v), 0);
        out->v[i] = v;
        hash_block(f, &r[i], out->h[i]);
    }
    assert_int_equal(amaters_fhe_radix_decrypt(f->g.ck, &sum, &out->v[R_ADD]),
                     0);
    /* the sum's hash: SHA-256 over its blocks' hashes */
    {
        uint8_t hs[4][32];

        for (size_t i = 0; i < 4; i++)
            hash_block(f, &sum.blocks[i], hs[i]);
        sha256(hs, sizeof(hs), out->h[R_ADD]);
    }
    amaters_fhe_lut_free(sq);
    amaters_fhe_lut_free(aff);
    amaters_fhe_lut_free(mul);
    amaters_fhe_radix_destroy(&sum);
    for (int i = 0; i < R_ADD; i++)
        amaters_fhe_block_destroy(&r[i]);
    for (int i = 0; i < NOBJ - O_B0; i++)
        amaters_fhe_radix_destroy(&in[i]);
}

/* (b) every kernel decrypts the sequence to the clear results. */
static void test_kernels_decrypt_identically(void **state)
{
    struct fix *f = *state;
    /* clear results from the plaintexts (blocks 3, 2, 1; u8 200, 73) */
    const uint64_t want[NRES] = {
        [R_SQ] = (3 * 3) % 16,
        [R_AFF] = (3 * 2 + 1) % 16,
        [R_MUL] = 2 * 3,
        [R_CHAIN] = (7 * 7) % 16,
        [R_LT1] = 200 < 73,
        [R_LT2] = (200 + 73) % 256 < 200,
        [R_ADD] = (200 + 73) % 256,
    };
    struct run runs[NKERN];
    int have[NKERN] = {0};

    for (size_t k = 0; k < NKERN; k++) {
        struct amaters_fhe_server_key *sk = NULL;
        struct amaters_fhe_eval *ev = NULL;
        double t0;
        int rc = amaters_fhe_fft_force(kernels[k]);

        if (rc != 0) {
            assert_int_equal(rc, AMATERS_EUNSUPPORTED);
            print_message("%s: not on this CPU, skipped\n", kernels[k]);
            continue;
        }
        assert_string_equal(amaters_fhe_fft_kernel(), kernels[k]);
        t0 = now_s();
        /* the Fourier BSK too is made with this kernel */
        assert_int_equal(amaters_fhe_server_key_decompress(f->g.csk, &sk),
                         0);
        assert_string_equal(amaters_fhe_fft_impl_name(sk->fft), kernels[k]);
        assert_int_equal(amaters_fhe_eval_new(sk, &ev), 0);
        run_ops(f, ev, &runs[k]);
        amaters_fhe_eval_free(ev);
        amaters_fhe_server_key_free(sk);
        have[k] = 1;
        print_message("%s: key expansion + sequence %.2f s\n", kernels[k],
                      now_s() - t0);
        for (int i = 0; i < NRES; i++)
            assert_true(runs[k].v[i] == want[i]);
        assert_memory_equal(runs[k].v, runs[0].v, sizeof(runs[0].v));
        if (k > 0) {
            int same = 0;

            for (int i = 0; i < NRES; i++)
                same += memcmp(runs[k].h[i], runs[0].h[i], 32) == 0;
            print_message("%s vs portable: %d of %d result ciphertexts "
                          "bit-identical\n", kernels[k], same, NRES);
        }
    }
    assert_true(have[0]);
    assert_int_equal(amaters_fhe_fft_force("portable"), 0);
}

/* The CPU features as the test reads them. */
static unsigned cpu_expect(void)
{
    unsigned c = 0;

#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        c |= AMATERS_FHE_CPU_AVX2;
    if (c != 0 && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        c |= AMATERS_FHE_CPU_AVX512;
#endif
    return c;
}

/* The kernel "auto" must pick on a CPU with features cpu. */
static const char *best_name(unsigned cpu)
{
    if (cpu & AMATERS_FHE_CPU_AVX512)
        return "avx512";
    return (cpu & AMATERS_FHE_CPU_AVX2) ? "avx2" : "portable";
}

/* amaters_fhe_fft_force and pinned plans on this CPU. */
static void test_force(void **state)
{
    unsigned cpu = cpu_expect();
    const char *best = best_name(cpu);
    struct amaters_fhe_fft *pin = NULL, *follow = NULL;

    (void)state;
    assert_int_equal(amaters_fhe_cpu_features(), cpu);
    print_message("CPU kernels: portable%s%s; best %s\n",
                  (cpu & AMATERS_FHE_CPU_AVX2) ? " avx2" : "",
                  (cpu & AMATERS_FHE_CPU_AVX512) ? " avx512" : "", best);
    assert_int_equal(amaters_fhe_fft_force(NULL), 0);
    assert_string_equal(amaters_fhe_fft_kernel(), best);
    assert_int_equal(amaters_fhe_fft_force("portable"), 0);
    assert_string_equal(amaters_fhe_fft_kernel(), "portable");
    /* unknown names and missing kernels leave the choice alone */
    assert_int_equal(amaters_fhe_fft_force("sse9"), AMATERS_EINVAL);
    assert_int_equal(amaters_fhe_fft_force(""), AMATERS_EINVAL);
    assert_int_equal(amaters_fhe_fft_force("avx2"),
                     (cpu & AMATERS_FHE_CPU_AVX2) ? 0 : AMATERS_EUNSUPPORTED);
    assert_int_equal(amaters_fhe_fft_force("avx512"),
                     (cpu & AMATERS_FHE_CPU_AVX512) ? 0
                                                    : AMATERS_EUNSUPPORTED);
    assert_string_equal(amaters_fhe_fft_kernel(), best);
    assert_int_equal(amaters_fhe_fft_force("auto"), 0);
    assert_string_equal(amaters_fhe_fft_kernel(), best);
    /* a pinned plan keeps its kernel, a default plan follows */
    assert_int_equal(amaters_fhe_fft_new_impl(1024, "portable", &pin), 0);
    assert_int_equal(amaters_fhe_fft_new(1024, &follow), 0);
    assert_string_equal(amaters_fhe_fft_impl_name(pin), "portable");
    assert_string_equal(amaters_fhe_fft_impl_name(follow), best);
    assert_int_equal(amaters_fhe_fft_force("portable"), 0);
    assert_string_equal(amaters_fhe_fft_impl_name(follow), "portable");
    assert_int_equal(amaters_fhe_fft_force(NULL), 0);
    assert_string_equal(amaters_fhe_fft_impl_name(pin), "portable");
    amaters_fhe_fft_free(pin);
    amaters_fhe_fft_free(follow);
    assert_int_equal(amaters_fhe_fft_force("portable"), 0);
}

#define ALL (AMATERS_FHE_CPU_AVX2 | AMATERS_FHE_CPU_AVX512)

/* Resolution and the AMATERS_FHE_FFT message on pretended CPUs. */
static void test_env_choice(void **state)
{
    static const struct {
        const char *value;
        unsigned cpu;
        const char *kernel;     /* chosen */
        const char *msg;        /* expected in the log, NULL: silent */
    } cases[] = {
        {NULL, ALL, "avx512", NULL},
        {"", AMATERS_FHE_CPU_AVX2, "avx2", NULL},
        {"auto", 0, "portable", NULL},
        {"portable", ALL, "portable", NULL},
        {"avx2", ALL, "avx2", NULL},
        {"avx512", ALL, "avx512", NULL},
        {"avx512", AMATERS_FHE_CPU_AVX2,
         "avx2", "AMATERS_FHE_FFT=avx512 refused"},
        {"avx512", 0, "portable", "AMATERS_FHE_FFT=avx512 refused"},
        {"avx2", 0, "portable", "AMATERS_FHE_FFT=avx2 refused"},
        {"AVX2", ALL, "avx512", "AMATERS_FHE_FFT=AVX2 is not an FFT kernel"},
        {"neon", AMATERS_FHE_CPU_AVX2, "avx2", "not an FFT kernel"},
    };

    (void)state;
#if !defined(__x86_64__)
    skip();
#endif
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct amaters_fhe_fft_kernels *k;
        char *log = NULL;
        size_t len = 0;
        FILE *fp = open_memstream(&log, &len);

        assert_non_null(fp);
        k = amaters_fhe_fft_choose_env(cases[i].value, cases[i].cpu, fp);
        assert_int_equal(fclose(fp), 0);
        assert_string_equal(k->name, cases[i].kernel);
        if (cases[i].msg == NULL) {
            assert_int_equal(len, 0);
        } else {
            assert_non_null(strstr(log, cases[i].msg));
            assert_non_null(strstr(log, "using "));
            assert_non_null(strstr(log, cases[i].kernel));
            assert_int_equal(log[len - 1], '\n');
        }
        free(log);      /* open_memstream's buffer is libc's */
    }
}

/* The variable is really read at first use: a child process that only
 * prints its kernel, with AMATERS_FHE_FFT set. */
static void run_child(const char *self, const char *value, char *out,
                      size_t cap)
{
    char cmd[4200];
    FILE *p;
    size_t n;

    snprintf(cmd, sizeof(cmd), "AMATERS_FHE_FFT='%s' '%s' --kernel 2>&1",
             value, self);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    assert_int_equal(pclose(p), 0);
}

static void test_env_variable(void **state)
{
    unsigned cpu = cpu_expect();
    char self[4096], out[1024], want[16];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

    (void)state;
    assert_true(n > 0);
    self[n] = '\0';
    run_child(self, "portable", out, sizeof(out));
    assert_string_equal(out, "portable\n");
    run_child(self, "bogus", out, sizeof(out));
    assert_non_null(strstr(out, "AMATERS_FHE_FFT=bogus is not"));
    /* the message, then the child's stdout: the best kernel */
    assert_non_null(strstr(out, "using "));
    assert_non_null(strchr(out, '\n'));
    snprintf(want, sizeof(want), "%s\n", best_name(cpu));
    assert_string_equal(strchr(out, '\n') + 1, want);
    if (cpu & AMATERS_FHE_CPU_AVX2) {
        run_child(self, "avx2", out, sizeof(out));
        assert_string_equal(out, "avx2\n");
    }
    if ((cpu & AMATERS_FHE_CPU_AVX512) == 0) {
        run_child(self, "avx512", out, sizeof(out));
        assert_non_null(strstr(out, "refused"));
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_force),
        cmocka_unit_test(test_env_choice),
        cmocka_unit_test(test_env_variable),
        cmocka_unit_test(test_golden_hashes),
        cmocka_unit_test(test_kernels_decrypt_identically),
    };

    /* child mode of test_env_variable */
    if (argc == 2 && strcmp(argv[1], "--kernel") == 0) {
        printf("%s\n", amaters_fhe_fft_kernel());
        return 0;
    }
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
