/*
 * fhe_ops_table.h - the integer operations of the FHE correctness tests in
 * one place: the operation list and names, the clear reference result,
 * the dispatch to the radix API, the edge operand table, and an operand
 * set (encrypt, evaluate, decrypt one case). Shared by test_fhe_int
 * (cmocka) and the resumable full-count runner amaters-fhe-pairs
 * (tests/fhe_full/fhe_pairs.c) so that both check exactly the same thing.
 * Header-only (static functions) so that each program stays one source.
 *
 * Widths are 8, 16, 32, 64 bits (w / 2 radix blocks); width 1 is a
 * boolean (one block), for which only AND, OR, XOR and NOT exist
 * (fhe_case_run_bool). Threads: the functions keep no state; a case and
 * the evaluation context it runs on belong to one thread; encryption
 * uses the client key's rngs and so must be serialized per client key
 * (keys.h); decryption may run on any thread.
 */
#ifndef AMATERS_TESTS_FHE_OPS_TABLE_H
#define AMATERS_TESTS_FHE_OPS_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/errors.h"
#include "fhe/block.h"
#include "fhe/keys.h"
#include "fhe/radix.h"

enum fhe_op {
    ADD, SUB, NEG, SADD, SSUB, SMUL, MUL, EQ, NE, LT, LE, GT, GE, SELECT,
    AND, OR, XOR, NOT, MIN, MAX, NOPS
};

static const char *const op_names[NOPS] = {
    "add", "sub", "neg", "scalar_add", "scalar_sub", "scalar_mul", "mul",
    "eq", "ne", "lt", "le", "gt", "ge", "select", "and", "or", "xor", "not",
    "min", "max",
};

/* Number of rows of the edge table (fhe_edge). */
#define NEDGES 10

/* The value mask of a w-bit integer (w in 1..64). */
static inline uint64_t fhe_width_mask(unsigned w)
{
    return w == 64 ? UINT64_MAX : (UINT64_C(1) << w) - 1;
}

/* 1 when op's result is a single boolean block (comparisons). */
static inline int is_cmp(enum fhe_op op)
{
    return op >= EQ && op <= GE;
}

/* 1 when op exists on booleans (width 1). */
static inline int fhe_op_is_bool(enum fhe_op op)
{
    return op == AND || op == OR || op == XOR || op == NOT;
}

/* The operation called name, or NOPS when there is none. */
static inline enum fhe_op fhe_op_by_name(const char *name)
{
    for (int op = 0; op < NOPS; op++) {
        if (strcmp(op_names[op], name) == 0)
            return (enum fhe_op)op;
    }
    return NOPS;
}

/* The expected result of op on w-bit a, b, computed in the clear
 * (select: cond = b & 1; scalar operations use b as the public operand;
 * w = 1 gives the boolean results of AND, OR, XOR and NOT). */
static inline uint64_t expect(enum fhe_op op, uint64_t a, uint64_t b,
                              unsigned w)
{
    uint64_t m = fhe_width_mask(w);

    switch (op) {
    case ADD: case SADD: return (a + b) & m;
    case SUB: case SSUB: return (a - b) & m;
    case NEG: return (0 - a) & m;
    case SMUL: case MUL: return (a * b) & m;
    case EQ: return a == b;
    case NE: return a != b;
    case LT: return a < b;
    case LE: return a <= b;
    case GT: return a > b;
    case GE: return a >= b;
    case SELECT: return (b & 1) ? a : b;
    case AND: return a & b;
    case OR: return a | b;
    case XOR: return a ^ b;
    case NOT: return ~a & m;
    case MIN: return a < b ? a : b;
    default: return a > b ? a : b;
    }
}

/* Evaluates out = a op b on ev (bv: the public operand of the scalar
 * operations; cond: select's condition; comparisons write out->blocks[0]).
 * Returns the radix call's result (0 or a negative AMATERS_E* code). */
static inline int run_op(struct amaters_fhe_eval *ev, enum fhe_op op,
                         const struct amaters_fhe_radix *a,
                         const struct amaters_fhe_radix *b, uint64_t bv,
                         const struct amaters_fhe_block *cond,
                         struct amaters_fhe_radix *out)
{
    static const enum amaters_fhe_cmp cmp[] = {
        AMATERS_FHE_EQ, AMATERS_FHE_NE, AMATERS_FHE_LT, AMATERS_FHE_LE,
        AMATERS_FHE_GT, AMATERS_FHE_GE};

    switch (op) {
    case ADD: return amaters_fhe_radix_add(ev, a, b, out);
    case SUB: return amaters_fhe_radix_sub(ev, a, b, out);
    case NEG: return amaters_fhe_radix_neg(ev, a, out);
    case SADD: return amaters_fhe_radix_add_scalar(ev, a, bv, out);
    case SSUB: return amaters_fhe_radix_sub_scalar(ev, a, bv, out);
    case SMUL: return amaters_fhe_radix_mul_scalar(ev, a, bv, out);
    case MUL: return amaters_fhe_radix_mul(ev, a, b, out);
    case SELECT: return amaters_fhe_radix_select(ev, cond, a, b, out);
    case AND: return amaters_fhe_radix_bitop(ev, AMATERS_FHE_AND, a, b, out);
    case OR: return amaters_fhe_radix_bitop(ev, AMATERS_FHE_OR, a, b, out);
    case XOR: return amaters_fhe_radix_bitop(ev, AMATERS_FHE_XOR, a, b, out);
    case NOT: return amaters_fhe_radix_bitnot(a, out);
    case MIN: return amaters_fhe_radix_min(ev, a, b, out);
    case MAX: return amaters_fhe_radix_max(ev, a, b, out);
    default:
        return amaters_fhe_radix_cmp(ev, cmp[op - EQ], a, b, &out->blocks[0]);
    }
}

/* Edge pair i (taken modulo NEDGES) for a width with mask m: wrap-around,
 * zeros, max, msb neighbours, equal operands. */
static inline void fhe_edge(size_t i, uint64_t m, uint64_t *x, uint64_t *y)
{
    const uint64_t e[NEDGES][2] = {
        {m, 1}, {0, 0}, {m, m}, {0, m}, {1, 0}, {m / 2 + 1, m / 2},
        {m / 3, m / 3}, {1, m}, {m, 0}, {m / 2, m / 2 + 1},
    };

    *x = e[i % NEDGES][0];
    *y = e[i % NEDGES][1];
}

/*
 * One evaluation case: operands a, b, the result out and select's
 * condition. Zero it, then fhe_case_init; fhe_case_destroy frees what
 * init allocated (safe after a failed or partial init).
 */
struct fhe_case {
    struct amaters_fhe_radix a, b, out;
    struct amaters_fhe_block cond;
};

static inline void fhe_case_destroy(struct fhe_case *c)
{
    amaters_fhe_block_destroy(&c->cond);
    amaters_fhe_radix_destroy(&c->a);
    amaters_fhe_radix_destroy(&c->b);
    amaters_fhe_radix_destroy(&c->out);
}

/* Allocates the ciphertexts of a w-bit case of op (w = 1: booleans, one
 * block each; comparisons get a one-block out). Returns 0,
 * AMATERS_EINVAL or AMATERS_ENOMEM; on error fhe_case_destroy cleans. */
static inline int fhe_case_init(struct fhe_case *c,
                                const struct amaters_fhe_params *p,
                                enum fhe_op op, unsigned w)
{
    size_t n = w == 1 ? 1 : w / 2;
    int rc;

    memset(c, 0, sizeof(*c));
    rc = amaters_fhe_radix_init(&c->a, p, n);
    if (rc == 0)
        rc = amaters_fhe_radix_init(&c->b, p, n);
    if (rc == 0)
        rc = amaters_fhe_radix_init(&c->out, p, is_cmp(op) ? 1 : n);
    if (rc == 0)
        rc = amaters_fhe_block_init(&c->cond, p);
    return rc;
}

/* Encrypts the w-bit operands x, y (already masked) and the condition
 * y & 1 under ck. The condition is marked as a known boolean (degree 1,
 * the one-PBS select) except on u16, which keeps the fresh degree 3 and
 * so tests the two-PBS select. w = 1 encrypts x, y as single blocks. Uses
 * ck's rngs: one thread at a time per client key. Returns 0 or an
 * AMATERS_E* code. */
static inline int fhe_case_encrypt(struct fhe_case *c,
                                   struct amaters_fhe_client_key *ck,
                                   unsigned w, uint64_t x, uint64_t y)
{
    int rc;

    if (w == 1) {
        rc = amaters_fhe_block_encrypt(ck, (uint32_t)x, &c->a.blocks[0]);
        if (rc == 0)
            rc = amaters_fhe_block_encrypt(ck, (uint32_t)y,
                                           &c->b.blocks[0]);
        return rc;
    }
    rc = amaters_fhe_radix_encrypt(ck, x, &c->a);
    if (rc == 0)
        rc = amaters_fhe_radix_encrypt(ck, y, &c->b);
    if (rc == 0)
        rc = amaters_fhe_block_encrypt(ck, (uint32_t)(y & 1), &c->cond);
    if (rc == 0 && w != 16)
        c->cond.degree = 1;
    return rc;
}

/* Boolean op on the one-block operands of c: and / or with the boolean
 * calls, xor with the radix bitop, not with amaters_fhe_bool_not (in
 * place on a, which then becomes out). Returns 0, AMATERS_EINVAL (op is
 * not a boolean operation) or the evaluation's error. */
static inline int fhe_case_run_bool(struct amaters_fhe_eval *ev,
                                    enum fhe_op op, struct fhe_case *c)
{
    struct amaters_fhe_radix t;

    switch (op) {
    case AND:
        return amaters_fhe_bool_and(ev, &c->a.blocks[0], &c->b.blocks[0],
                                    &c->out.blocks[0]);
    case OR:
        return amaters_fhe_bool_or(ev, &c->a.blocks[0], &c->b.blocks[0],
                                   &c->out.blocks[0]);
    case XOR:
        return amaters_fhe_radix_bitop(ev, AMATERS_FHE_XOR, &c->a, &c->b,
                                       &c->out);
    case NOT:
        amaters_fhe_bool_not(&c->a.blocks[0]);
        t = c->out;
        c->out = c->a;
        c->a = t;
        return 0;
    default:
        return AMATERS_EINVAL;
    }
}

/* Runs op on the encrypted case (w = 1: fhe_case_run_bool; bv is the
 * public operand of the scalar operations). Returns 0 or an AMATERS_E*
 * code. */
static inline int fhe_case_run(struct amaters_fhe_eval *ev, enum fhe_op op,
                               unsigned w, struct fhe_case *c, uint64_t bv)
{
    if (w == 1)
        return fhe_case_run_bool(ev, op, c);
    return run_op(ev, op, &c->a, &c->b, bv, &c->cond, &c->out);
}

/* Decrypts the result of c into *got (read only on ck: any thread).
 * Returns 0 or AMATERS_ECORRUPT. */
static inline int fhe_case_decrypt(const struct amaters_fhe_client_key *ck,
                                   const struct fhe_case *c, uint64_t *got)
{
    return amaters_fhe_radix_decrypt(ck, &c->out, got);
}

#endif
