/*
 * radix.h - encrypted unsigned integers as little-endian radix blocks.
 *
 * An integer of w bits is w / 2 shortint blocks (block i holds bits
 * 2i, 2i+1 in its message, carries empty after every operation here). The
 * arithmetic is modulo 2^w. Booleans are single blocks holding 0 or 1.
 * Independent PBSs of one operation run as batches on the evaluation
 * context's thread pool (amaters_fhe_eval_new_threads); the call returns
 * when the result is complete. Operands must have clean carries
 * (degree < message_modulus), as every result of this layer has; out may
 * alias an operand; on error out is unspecified. Integers are
 * caller-owned: init allocates the blocks, destroy frees them. Same
 * threading rules as block.h.
 */
#ifndef AMATERS_FHE_RADIX_H
#define AMATERS_FHE_RADIX_H

#include <stddef.h>
#include <stdint.h>

#include "fhe/block.h"
#include "fhe/keys.h"

struct amaters_fhe_radix {
    const struct amaters_fhe_params *params;
    size_t nblocks;
    struct amaters_fhe_block *blocks;   /* nblocks, owned */
};

/* Allocates nblocks trivial-zero blocks (1 <= nblocks <= 64). Returns 0,
 * AMATERS_EINVAL or AMATERS_ENOMEM. */
int amaters_fhe_radix_init(struct amaters_fhe_radix *r,
                           const struct amaters_fhe_params *p,
                           size_t nblocks);
void amaters_fhe_radix_destroy(struct amaters_fhe_radix *r);

/* Encrypts v modulo 4^nblocks into r (initialized); blocks beyond the
 * 32nd encrypt 0. */
int amaters_fhe_radix_encrypt(struct amaters_fhe_client_key *ck,
                              uint64_t v, struct amaters_fhe_radix *r);

/* Decrypts r (message parts, carries ignored) modulo 2^64: up to 32
 * blocks (u64) the value is exact; blocks beyond the 32nd only shift out.
 * Returns 0 or AMATERS_ECORRUPT on a padding overflow. */
int amaters_fhe_radix_decrypt(const struct amaters_fhe_client_key *ck,
                              const struct amaters_fhe_radix *r,
                              uint64_t *v);

/* out = a + b mod 4^nblocks (all three with the same block count; out may
 * alias a or b). Two PBS per block. Returns 0 or AMATERS_EINVAL. */
int amaters_fhe_radix_add(struct amaters_fhe_eval *ev,
                          const struct amaters_fhe_radix *a,
                          const struct amaters_fhe_radix *b,
                          struct amaters_fhe_radix *out);

/* out (a block) = (a == b) / (a < b) as an encrypted 0 or 1. */
int amaters_fhe_radix_eq(struct amaters_fhe_eval *ev,
                         const struct amaters_fhe_radix *a,
                         const struct amaters_fhe_radix *b,
                         struct amaters_fhe_block *out);
int amaters_fhe_radix_lt(struct amaters_fhe_eval *ev,
                         const struct amaters_fhe_radix *a,
                         const struct amaters_fhe_radix *b,
                         struct amaters_fhe_block *out);

/* 1 when a and b have the same parameters and block count (>= 1). */
int amaters_fhe_radix_same_shape(const struct amaters_fhe_radix *a,
                                 const struct amaters_fhe_radix *b);

/* out = a + b + cin mod 4^nblocks, cin in {0, 1}: ripple carry, the
 * carry and the cleaned block of each position as one batch of two PBS.
 * Returns 0 or AMATERS_EINVAL. */
int amaters_fhe_radix_add_cin(struct amaters_fhe_eval *ev,
                              const struct amaters_fhe_radix *a,
                              const struct amaters_fhe_radix *b,
                              uint32_t cin, struct amaters_fhe_radix *out);

/* out_i = lut(a_i, b_i) for every block (one batch of bivariate PBS).
 * Returns 0, AMATERS_EINVAL or AMATERS_ENOMEM. */
int amaters_fhe_radix_map2(struct amaters_fhe_eval *ev,
                           const struct amaters_fhe_lut *lut,
                           const struct amaters_fhe_radix *a,
                           const struct amaters_fhe_radix *b,
                           struct amaters_fhe_radix *out);

/* out = -a mod 4^nblocks (0 + ~a + 1). */
int amaters_fhe_radix_neg(struct amaters_fhe_eval *ev,
                          const struct amaters_fhe_radix *a,
                          struct amaters_fhe_radix *out);

/* out = a - c mod 4^nblocks for a public c (nblocks <= 32, else
 * AMATERS_EINVAL). */
int amaters_fhe_radix_sub_scalar(struct amaters_fhe_eval *ev,
                                 const struct amaters_fhe_radix *a,
                                 uint64_t c, struct amaters_fhe_radix *out);

/* out = a - b mod 4^nblocks (a + ~b + 1). */
int amaters_fhe_radix_sub(struct amaters_fhe_eval *ev,
                          const struct amaters_fhe_radix *a,
                          const struct amaters_fhe_radix *b,
                          struct amaters_fhe_radix *out);

/* out = a + c mod 4^nblocks for a public c. */
int amaters_fhe_radix_add_scalar(struct amaters_fhe_eval *ev,
                                 const struct amaters_fhe_radix *a,
                                 uint64_t c, struct amaters_fhe_radix *out);

/* out = a * b mod 4^nblocks: one batch of bivariate PBS for the low and
 * high digits of every block product a_i b_j that lands below 4^nblocks
 * (nblocks^2 PBS), then the digits of each column are summed in groups
 * of up to five and split into a clean digit and a carry for the next
 * column (one batch per round) until one digit per column is left. */
int amaters_fhe_radix_mul(struct amaters_fhe_eval *ev,
                          const struct amaters_fhe_radix *a,
                          const struct amaters_fhe_radix *b,
                          struct amaters_fhe_radix *out);

/* out = a * c mod 4^nblocks for a public c: the terms a_i c_j (linear,
 * no PBS; zero digits cost nothing) are reduced like the columns of
 * amaters_fhe_radix_mul. */
int amaters_fhe_radix_mul_scalar(struct amaters_fhe_eval *ev,
                                 const struct amaters_fhe_radix *a,
                                 uint64_t c, struct amaters_fhe_radix *out);

/* out = ~a (bitwise complement), no PBS. AMATERS_EINVAL if a block of a
 * has a dirty carry. */
int amaters_fhe_radix_bitnot(const struct amaters_fhe_radix *a,
                             struct amaters_fhe_radix *out);

enum amaters_fhe_bitop { AMATERS_FHE_AND, AMATERS_FHE_OR, AMATERS_FHE_XOR };

/* out = a op b bitwise: one bivariate PBS per block. */
int amaters_fhe_radix_bitop(struct amaters_fhe_eval *ev,
                            enum amaters_fhe_bitop op,
                            const struct amaters_fhe_radix *a,
                            const struct amaters_fhe_radix *b,
                            struct amaters_fhe_radix *out);

enum amaters_fhe_cmp {
    AMATERS_FHE_EQ, AMATERS_FHE_NE, AMATERS_FHE_LT, AMATERS_FHE_LE,
    AMATERS_FHE_GT, AMATERS_FHE_GE,
};

/* out (a block) = the encrypted boolean a op b. NE, GE and LE are the
 * negations of EQ, LT and GT (no extra PBS). */
int amaters_fhe_radix_cmp(struct amaters_fhe_eval *ev,
                          enum amaters_fhe_cmp op,
                          const struct amaters_fhe_radix *a,
                          const struct amaters_fhe_radix *b,
                          struct amaters_fhe_block *out);

/* Encrypted booleans: b = !b in place (linear, no PBS); out = a && b,
 * out = a || b (one bivariate PBS). */
void amaters_fhe_bool_not(struct amaters_fhe_block *b);
int amaters_fhe_bool_and(struct amaters_fhe_eval *ev,
                         const struct amaters_fhe_block *a,
                         const struct amaters_fhe_block *b,
                         struct amaters_fhe_block *out);
int amaters_fhe_bool_or(struct amaters_fhe_eval *ev,
                        const struct amaters_fhe_block *a,
                        const struct amaters_fhe_block *b,
                        struct amaters_fhe_block *out);

/* out = cond ? a : b for an encrypted boolean cond: two bivariate PBS
 * per block, result blocks have noise level 2. */
int amaters_fhe_radix_select(struct amaters_fhe_eval *ev,
                             const struct amaters_fhe_block *cond,
                             const struct amaters_fhe_radix *a,
                             const struct amaters_fhe_radix *b,
                             struct amaters_fhe_radix *out);

/* out = min(a, b) / max(a, b): lt then select. */
int amaters_fhe_radix_min(struct amaters_fhe_eval *ev,
                          const struct amaters_fhe_radix *a,
                          const struct amaters_fhe_radix *b,
                          struct amaters_fhe_radix *out);
int amaters_fhe_radix_max(struct amaters_fhe_eval *ev,
                          const struct amaters_fhe_radix *a,
                          const struct amaters_fhe_radix *b,
                          struct amaters_fhe_radix *out);

#endif
