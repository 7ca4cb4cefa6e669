/*
 * block.h - "shortint" blocks: one LWE ciphertext holding a small integer
 * with carry space, plus public bookkeeping.
 *
 * A block's plaintext is v in [0, message_modulus * carry_modulus)
 * encoded as v * Delta under the big key (k*N), with the padding bit on
 * top. `degree` is a public upper bound on v (so additions without PBS can
 * be proven not to overflow the carry space); `noise_level` counts nominal
 * noise units (a fresh or bootstrapped block is 1, a sum adds levels, a
 * scalar product multiplies) and may not exceed params->max_noise_level
 * before the next PBS. Neither depends on the secret value.
 *
 * Linear operations need no key. Operations with a PBS take an evaluation
 * context (server key + scratch + optional thread pool): a context is
 * used by one calling thread at a time; the server key inside may be
 * shared by many contexts. A context made with
 * amaters_fhe_eval_new_threads(sk, T, ...) owns T - 1 worker threads, each
 * with its own helper context (PBS scratch, FFT buffers, accumulators,
 * temporaries), and runs the independent PBSs of a batch on all T.
 * Blocks are owned by the caller: init allocates the ciphertext, destroy
 * frees it.
 */
#ifndef AMATERS_FHE_BLOCK_H
#define AMATERS_FHE_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "fhe/bootstrap.h"
#include "fhe/keys.h"
#include "fhe/params.h"

#define AMATERS_FHE_LUT_MAX 256

struct amaters_fhe_block {
    const struct amaters_fhe_params *params;
    uint64_t *ct;            /* k*N + 1 words, owned */
    uint32_t degree;
    uint32_t noise_level;
};

/* A lookup table for a PBS: the function on [0, count) and its LUT
 * polynomial. Immutable after creation (any thread). */
struct amaters_fhe_lut {
    const struct amaters_fhe_params *params;
    uint32_t count;                      /* message * carry */
    uint32_t table[AMATERS_FHE_LUT_MAX]; /* f(x), each < count */
    uint64_t *poly;                      /* N coefficients, owned */
};

/* Seeded (compressed) fresh block: the mask of the big-key LWE is the
 * first k*N words of the XOF of (seed, AMATERS_FHE_DOM_MASK); only the seed
 * and the body travel: 24 bytes instead of 16 KiB. Plain value type. */
struct amaters_fhe_block_seeded {
    uint8_t seed[AMATERS_FHE_SEED_BYTES];
    uint64_t body;
    uint32_t degree;
    uint32_t noise_level;
};

struct amaters_fhe_pool;

/* Evaluation context: one calling thread at a time. workers[w] is the
 * context worker w of the pool uses (workers[0] is the context itself);
 * helper contexts have no pool of their own. */
struct amaters_fhe_eval {
    const struct amaters_fhe_server_key *sk;
    struct amaters_fhe_pbs_scratch *sc;
    uint64_t *small;                     /* n + 1 words */
    uint64_t *pack;      /* AMATERS_FHE_KS_BATCH packed big-key inputs */
    uint32_t *ks_acc;    /* AMATERS_FHE_KS_BATCH * (n + 1) words */
    struct amaters_fhe_lut *lut_clean;   /* x mod message */
    struct amaters_fhe_lut *lut_carry;   /* x / message */
    struct amaters_fhe_block tmp_a, tmp_b;
    struct amaters_fhe_pool *pool;       /* NULL: single thread */
    struct amaters_fhe_eval **workers;   /* nworkers entries, or NULL */
    size_t nworkers;
};

/* One PBS of a batch: out = lut(a) when b is NULL, else the bivariate
 * lut(a, b) (amaters_fhe_block_apply_lut2). */
struct amaters_fhe_pbs_job {
    const struct amaters_fhe_lut *lut;
    const struct amaters_fhe_block *a;
    const struct amaters_fhe_block *b;
    struct amaters_fhe_block *out;
};

/* Univariate and bivariate functions for LUT construction. */
typedef uint32_t (*amaters_fhe_fn1_cb)(uint32_t x, void *arg);
typedef uint32_t (*amaters_fhe_fn2_cb)(uint32_t x, uint32_t y, void *arg);

/* Allocates b's ciphertext as a trivial zero (degree 0, noise 0).
 * Returns 0 or AMATERS_ENOMEM. Free with amaters_fhe_block_destroy. */
int amaters_fhe_block_init(struct amaters_fhe_block *b,
                           const struct amaters_fhe_params *p);
void amaters_fhe_block_destroy(struct amaters_fhe_block *b);

/* dst = src (both initialized with the same params). */
void amaters_fhe_block_copy(struct amaters_fhe_block *dst,
                            const struct amaters_fhe_block *src);

/* Encrypts msg (< message_modulus) into b (initialized): degree is
 * message_modulus - 1, noise level 1. Returns 0, AMATERS_EINVAL or the
 * rng error. Uses ck's rngs (one thread at a time per client key). */
int amaters_fhe_block_encrypt(struct amaters_fhe_client_key *ck,
                              uint32_t msg, struct amaters_fhe_block *b);

/* Same for any v < message * carry (degree = v's space - 1); tests. */
int amaters_fhe_block_encrypt_raw(struct amaters_fhe_client_key *ck,
                                  uint32_t v, struct amaters_fhe_block *b);

/* Encrypts msg (< message_modulus) in seeded form; the seed is drawn from
 * ck's mask stream (itself OS-seeded unless ck was made from a seed).
 * Returns 0, AMATERS_EINVAL, AMATERS_ENOMEM or the rng error. */
int amaters_fhe_block_encrypt_seeded(struct amaters_fhe_client_key *ck,
                                     uint32_t msg,
                                     struct amaters_fhe_block_seeded *out);

/* Expands a seeded block into b (initialized with the same params).
 * Returns 0, AMATERS_ENOMEM or AMATERS_EINTERNAL. */
int amaters_fhe_block_expand(const struct amaters_fhe_block_seeded *in,
                             struct amaters_fhe_block *b);

/* Decrypts the full value (message and carry) of b into *v. Returns 0 or
 * AMATERS_CORRUPT when the padding bit is set (noise overflow). */
int amaters_fhe_block_decrypt(const struct amaters_fhe_client_key *ck,
                              const struct amaters_fhe_block *b,
                              uint32_t *v);

/* Trivial (noiseless, public) block of value v: degree v, noise 0. */
void amaters_fhe_block_set_trivial(struct amaters_fhe_block *b, uint32_t v);

/* 1 when a + b fits the carry space and the noise budget. */
int amaters_fhe_block_can_add(const struct amaters_fhe_block *a,
                              const struct amaters_fhe_block *b);

/* a += b without PBS. AMATERS_EINVAL (a unchanged) when it cannot. */
int amaters_fhe_block_add_assign(struct amaters_fhe_block *a,
                                 const struct amaters_fhe_block *b);

/* a += c (public scalar). AMATERS_EINVAL when degree would overflow. */
int amaters_fhe_block_add_scalar(struct amaters_fhe_block *a, uint32_t c);

/* a *= c (public scalar). AMATERS_EINVAL on degree or noise overflow. */
int amaters_fhe_block_mul_scalar(struct amaters_fhe_block *a, uint32_t c);

/* a = z - a where z is the smallest multiple of message_modulus >= a's
 * degree: same value as -a modulo message_modulus, degree z. */
int amaters_fhe_block_neg(struct amaters_fhe_block *a);

/* Builds the LUT of fn over [0, message * carry); values of fn are taken
 * modulo message * carry. *out is freed with amaters_fhe_lut_free. */
int amaters_fhe_lut_new(const struct amaters_fhe_params *p,
                        amaters_fhe_fn1_cb fn, void *arg,
                        struct amaters_fhe_lut **out);

/* Signed LUT for internal sign / select computations: output f(x) is
 * f(x) * Delta / 2 (f may be negative) for x in [0, message * carry).
 * Inputs in the upper half of the torus (x in [count, 2 count), reached
 * only by deliberately signed sums) give -f(x - count) (negacyclic).
 * table[] stays 0, so apply_lut sets degree 0: callers fix degree and
 * noise level of the results. Freed with amaters_fhe_lut_free. */
typedef int32_t (*amaters_fhe_fnh_cb)(uint32_t x, void *arg);
int amaters_fhe_lut_new_half(const struct amaters_fhe_params *p,
                             amaters_fhe_fnh_cb fn, void *arg,
                             struct amaters_fhe_lut **out);

/* Bivariate LUT: table[x * message + y] = fn(x, y) for x, y < message
 * (the operands' messages; see amaters_fhe_block_apply_lut2). */
int amaters_fhe_lut2_new(const struct amaters_fhe_params *p,
                         amaters_fhe_fn2_cb fn, void *arg,
                         struct amaters_fhe_lut **out);
void amaters_fhe_lut_free(struct amaters_fhe_lut *lut);

/* Creates / frees a single-thread evaluation context over sk (sk must
 * outlive it). *out is freed with amaters_fhe_eval_free. Returns 0 or
 * AMATERS_ENOMEM. */
int amaters_fhe_eval_new(const struct amaters_fhe_server_key *sk,
                         struct amaters_fhe_eval **out);
void amaters_fhe_eval_free(struct amaters_fhe_eval *ev);

/* Same with a pool of nthreads threads (the caller plus nthreads - 1
 * workers, 1 <= nthreads <= AMATERS_FHE_POOL_MAX); every worker gets its
 * own scratch (about 460 KiB: PBS accumulators and Fourier buffers, and
 * the batched key switch's 16 packed inputs and accumulators).
 * amaters_fhe_eval_free joins the workers.
 * Returns 0, AMATERS_EINVAL, AMATERS_ENOMEM or AMATERS_EINTERNAL. */
int amaters_fhe_eval_new_threads(const struct amaters_fhe_server_key *sk,
                                 size_t nthreads,
                                 struct amaters_fhe_eval **out);

/* Number of threads ev computes with (>= 1). */
size_t amaters_fhe_eval_threads(const struct amaters_fhe_eval *ev);

/* Runs n independent PBS jobs on ev's pool. No job's out may be another
 * job's input or output, nor any of ev's own temporaries; a job's out may
 * alias its own a or b. Windows of up to 64 jobs: first every input is
 * key-switched, up to AMATERS_FHE_KS_BATCH at once per thread (one pass
 * over the KSK for all of them), then every job bootstraps; the results
 * are bit for bit those of one amaters_fhe_block_apply_lut(2) per job.
 * Each call also allocates ~420 KiB for the key-switched inputs of a
 * window. Returns 0, AMATERS_EINVAL (parameter mismatch) or
 * AMATERS_ENOMEM; after an error the outputs of the failing window and of
 * every later one are not written (earlier windows' are). */
int amaters_fhe_block_apply_batch(struct amaters_fhe_eval *ev,
                                  const struct amaters_fhe_pbs_job *jobs,
                                  size_t n);

/* out = lut(in) by key switch + PBS; out may be in. Degree becomes the
 * largest table value over [0, in->degree], noise level 1. */
void amaters_fhe_block_apply_lut(struct amaters_fhe_eval *ev,
                                 const struct amaters_fhe_lut *lut,
                                 const struct amaters_fhe_block *in,
                                 struct amaters_fhe_block *out);

/* out = fn(a mod message, b mod message) for a bivariate lut. Operands
 * whose carries are not known clean are cleaned first (one more PBS each,
 * a and b are left unchanged). out may be a or b. Returns 0 or
 * AMATERS_EINVAL (parameter sets differ). */
int amaters_fhe_block_apply_lut2(struct amaters_fhe_eval *ev,
                                 const struct amaters_fhe_lut *lut,
                                 const struct amaters_fhe_block *a,
                                 const struct amaters_fhe_block *b,
                                 struct amaters_fhe_block *out);

/* out = in mod message (carry cleared) / in / message (carry extracted),
 * one PBS each. out may be in. Returns 0 or AMATERS_ENOMEM. */
int amaters_fhe_block_clean(struct amaters_fhe_eval *ev,
                            const struct amaters_fhe_block *in,
                            struct amaters_fhe_block *out);
int amaters_fhe_block_carry(struct amaters_fhe_eval *ev,
                            const struct amaters_fhe_block *in,
                            struct amaters_fhe_block *out);

#endif
