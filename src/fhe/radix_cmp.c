/*
 * radix_cmp.c - comparisons of radix integers (equality by per-block eq
 * bits summed and tested in groups; less-than by per-block three-way codes
 * folded from the least significant block), encrypted booleans, select,
 * min and max.
 */
#include "fhe/radix.h"

#include "core/alloc.h"
#include "core/errors.h"
#include "fhe/lwe.h"

/* Three-way block compare codes (fit in a 2-bit message). */
#define CMP_LT 0u
#define CMP_EQ 1u
#define CMP_GT 2u

static uint32_t f_eq(uint32_t x, uint32_t y, void *arg)
{
    (void)arg;
    return x == y;
}

static uint32_t f_cmp(uint32_t x, uint32_t y, void *arg)
{
    (void)arg;
    return x < y ? CMP_LT : (x == y ? CMP_EQ : CMP_GT);
}

/* hi is the more significant code: it decides unless it is EQ. */
static uint32_t f_fold(uint32_t hi, uint32_t lo, void *arg)
{
    (void)arg;
    return hi == CMP_EQ ? lo : hi;
}

static uint32_t f_is_lt(uint32_t x, void *arg)
{
    (void)arg;
    return x == CMP_LT;
}

static uint32_t f_all(uint32_t x, void *arg)
{
    return x == *(const uint32_t *)arg;
}

/* Reduces bits[0..n) (each an encrypted 0/1 with level 1) to one bit that
 * is 1 iff all are 1: sums groups that fit the noise and degree budget,
 * then tests sum == group size with one PBS per group. */
static int all_ones(struct amaters_fhe_eval *ev,
                    struct amaters_fhe_block *bits, size_t n,
                    struct amaters_fhe_block *out)
{
    const struct amaters_fhe_params *p = ev->sk->params;
    size_t group = p->max_noise_level;
    int rc = 0;

    if (group > p->message_modulus * p->carry_modulus - 1)
        group = p->message_modulus * p->carry_modulus - 1;
    while (n > 1 && rc == 0) {
        size_t m = 0;

        for (size_t s = 0; s < n && rc == 0; s += group, m++) {
            size_t len = n - s < group ? n - s : group;
            uint32_t want = (uint32_t)len;
            struct amaters_fhe_lut *lut = NULL;

            for (size_t j = 1; j < len && rc == 0; j++)
                rc = amaters_fhe_block_add_assign(&bits[s], &bits[s + j]);
            if (rc == 0)
                rc = amaters_fhe_lut_new(p, f_all, &want, &lut);
            if (rc == 0)
                amaters_fhe_block_apply_lut(ev, lut, &bits[s], &bits[m]);
            amaters_fhe_lut_free(lut);
        }
        n = m;
    }
    if (rc == 0)
        amaters_fhe_block_copy(out, &bits[0]);
    return rc;
}

static int tmp_blocks(const struct amaters_fhe_radix *a,
                      struct amaters_fhe_radix *t)
{
    return amaters_fhe_radix_init(t, a->params, a->nblocks);
}

int amaters_fhe_radix_eq(struct amaters_fhe_eval *ev,
                         const struct amaters_fhe_radix *a,
                         const struct amaters_fhe_radix *b,
                         struct amaters_fhe_block *out)
{
    struct amaters_fhe_radix t = {0};
    struct amaters_fhe_lut *lut = NULL;
    int rc;

    if (!amaters_fhe_radix_same_shape(a, b))
        return AMATERS_EINVAL;
    rc = tmp_blocks(a, &t);
    if (rc == 0)
        rc = amaters_fhe_lut2_new(a->params, f_eq, NULL, &lut);
    for (size_t i = 0; i < a->nblocks && rc == 0; i++)
        rc = amaters_fhe_block_apply_lut2(ev, lut, &a->blocks[i],
                                          &b->blocks[i], &t.blocks[i]);
    if (rc == 0)
        rc = all_ones(ev, t.blocks, t.nblocks, out);
    amaters_fhe_lut_free(lut);
    amaters_fhe_radix_destroy(&t);
    return rc;
}

int amaters_fhe_radix_lt(struct amaters_fhe_eval *ev,
                         const struct amaters_fhe_radix *a,
                         const struct amaters_fhe_radix *b,
                         struct amaters_fhe_block *out)
{
    struct amaters_fhe_lut *cmp = NULL, *fold = NULL, *is_lt = NULL;
    struct amaters_fhe_block acc = {0}, cur = {0};
    int rc;

    if (!amaters_fhe_radix_same_shape(a, b))
        return AMATERS_EINVAL;
    rc = amaters_fhe_lut2_new(a->params, f_cmp, NULL, &cmp);
    if (rc == 0)
        rc = amaters_fhe_lut2_new(a->params, f_fold, NULL, &fold);
    if (rc == 0)
        rc = amaters_fhe_lut_new(a->params, f_is_lt, NULL, &is_lt);
    if (rc == 0)
        rc = amaters_fhe_block_init(&acc, a->params);
    if (rc == 0)
        rc = amaters_fhe_block_init(&cur, a->params);
    if (rc == 0)
        rc = amaters_fhe_block_apply_lut2(ev, cmp, &a->blocks[0],
                                          &b->blocks[0], &acc);
    for (size_t i = 1; i < a->nblocks && rc == 0; i++) {
        rc = amaters_fhe_block_apply_lut2(ev, cmp, &a->blocks[i],
                                          &b->blocks[i], &cur);
        if (rc == 0)
            rc = amaters_fhe_block_apply_lut2(ev, fold, &cur, &acc, &acc);
    }
    if (rc == 0)
        amaters_fhe_block_apply_lut(ev, is_lt, &acc, out);
    amaters_fhe_block_destroy(&acc);
    amaters_fhe_block_destroy(&cur);
    amaters_fhe_lut_free(cmp);
    amaters_fhe_lut_free(fold);
    amaters_fhe_lut_free(is_lt);
    return rc;
}

void amaters_fhe_bool_not(struct amaters_fhe_block *b)
{
    /* 1 - b, exact for b in {0, 1} */
    amaters_fhe_lwe_neg(b->ct, b->ct, amaters_fhe_params_big_dim(b->params));
    b->degree = 0;
    amaters_fhe_block_add_scalar(b, 1);
}

static uint32_t f_band(uint32_t x, uint32_t y, void *arg)
{
    (void)arg;
    return (x & 1) & (y & 1);
}

static uint32_t f_bor(uint32_t x, uint32_t y, void *arg)
{
    (void)arg;
    return (x | y) & 1;
}

int amaters_fhe_bool_and(struct amaters_fhe_eval *ev,
                         const struct amaters_fhe_block *a,
                         const struct amaters_fhe_block *b,
                         struct amaters_fhe_block *out)
{
    struct amaters_fhe_lut *lut = NULL;
    int rc = amaters_fhe_lut2_new(a->params, f_band, NULL, &lut);

    if (rc == 0)
        rc = amaters_fhe_block_apply_lut2(ev, lut, a, b, out);
    amaters_fhe_lut_free(lut);
    return rc;
}

int amaters_fhe_bool_or(struct amaters_fhe_eval *ev,
                        const struct amaters_fhe_block *a,
                        const struct amaters_fhe_block *b,
                        struct amaters_fhe_block *out)
{
    struct amaters_fhe_lut *lut = NULL;
    int rc = amaters_fhe_lut2_new(a->params, f_bor, NULL, &lut);

    if (rc == 0)
        rc = amaters_fhe_block_apply_lut2(ev, lut, a, b, out);
    amaters_fhe_lut_free(lut);
    return rc;
}

int amaters_fhe_radix_cmp(struct amaters_fhe_eval *ev,
                          enum amaters_fhe_cmp op,
                          const struct amaters_fhe_radix *a,
                          const struct amaters_fhe_radix *b,
                          struct amaters_fhe_block *out)
{
    int rc;

    switch (op) {
    case AMATERS_FHE_EQ:
        return amaters_fhe_radix_eq(ev, a, b, out);
    case AMATERS_FHE_NE:
        rc = amaters_fhe_radix_eq(ev, a, b, out);
        break;
    case AMATERS_FHE_LT:
        return amaters_fhe_radix_lt(ev, a, b, out);
    case AMATERS_FHE_GE:
        rc = amaters_fhe_radix_lt(ev, a, b, out);
        break;
    case AMATERS_FHE_GT:
        return amaters_fhe_radix_lt(ev, b, a, out);
    case AMATERS_FHE_LE:
        rc = amaters_fhe_radix_lt(ev, b, a, out);
        break;
    default:
        return AMATERS_EINVAL;
    }
    if (rc == 0)
        amaters_fhe_bool_not(out);
    return rc;
}

static uint32_t f_keep_if(uint32_t c, uint32_t x, void *arg)
{
    (void)arg;
    return (c & 1) ? x : 0;
}

static uint32_t f_keep_unless(uint32_t c, uint32_t x, void *arg)
{
    (void)arg;
    return (c & 1) ? 0 : x;
}

int amaters_fhe_radix_select(struct amaters_fhe_eval *ev,
                             const struct amaters_fhe_block *cond,
                             const struct amaters_fhe_radix *a,
                             const struct amaters_fhe_radix *b,
                             struct amaters_fhe_radix *out)
{
    struct amaters_fhe_lut *keep = NULL, *drop = NULL;
    struct amaters_fhe_block t = {0};
    int rc;

    if (!amaters_fhe_radix_same_shape(a, b) ||
        !amaters_fhe_radix_same_shape(a, out))
        return AMATERS_EINVAL;
    rc = amaters_fhe_lut2_new(a->params, f_keep_if, NULL, &keep);
    if (rc == 0)
        rc = amaters_fhe_lut2_new(a->params, f_keep_unless, NULL, &drop);
    if (rc == 0)
        rc = amaters_fhe_block_init(&t, a->params);
    for (size_t i = 0; rc == 0 && i < a->nblocks; i++) {
        struct amaters_fhe_block *o = &out->blocks[i];
        uint32_t deg;

        /* o = (c ? a_i : 0) + (c ? 0 : b_i); one term is always zero, so
         * the larger degree bounds the sum. */
        rc = amaters_fhe_block_apply_lut2(ev, keep, cond, &a->blocks[i], &t);
        if (rc == 0)
            rc = amaters_fhe_block_apply_lut2(ev, drop, cond, &b->blocks[i],
                                              o);
        if (rc != 0)
            break;
        deg = t.degree > o->degree ? t.degree : o->degree;
        rc = amaters_fhe_block_add_assign(o, &t);
        o->degree = deg;
    }
    amaters_fhe_block_destroy(&t);
    amaters_fhe_lut_free(keep);
    amaters_fhe_lut_free(drop);
    return rc;
}

static int minmax(struct amaters_fhe_eval *ev,
                  const struct amaters_fhe_radix *a,
                  const struct amaters_fhe_radix *b,
                  struct amaters_fhe_radix *out, int want_max)
{
    struct amaters_fhe_block lt = {0};
    int rc;

    if (!amaters_fhe_radix_same_shape(a, b) ||
        !amaters_fhe_radix_same_shape(a, out))
        return AMATERS_EINVAL;
    rc = amaters_fhe_block_init(&lt, a->params);
    if (rc == 0)
        rc = amaters_fhe_radix_lt(ev, a, b, &lt);
    if (rc == 0)
        rc = want_max ? amaters_fhe_radix_select(ev, &lt, b, a, out)
                      : amaters_fhe_radix_select(ev, &lt, a, b, out);
    amaters_fhe_block_destroy(&lt);
    return rc;
}

int amaters_fhe_radix_min(struct amaters_fhe_eval *ev,
                          const struct amaters_fhe_radix *a,
                          const struct amaters_fhe_radix *b,
                          struct amaters_fhe_radix *out)
{
    return minmax(ev, a, b, out, 0);
}

int amaters_fhe_radix_max(struct amaters_fhe_eval *ev,
                          const struct amaters_fhe_radix *a,
                          const struct amaters_fhe_radix *b,
                          struct amaters_fhe_radix *out)
{
    return minmax(ev, a, b, out, 1);
}
