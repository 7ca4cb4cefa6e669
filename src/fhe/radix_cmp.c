/*
 * radix_cmp.c - comparisons of radix integers (equality by per-block eq
 * bits summed and tested in groups; less-than by weighted per-block signs
 * summed in groups), encrypted booleans, select, min and max.
 */
#include "fhe/radix.h"

#include "core/alloc.h"
#include "core/errors.h"
#include "fhe/lwe.h"

static uint32_t f_eq(uint32_t x, uint32_t y, void *arg)
{
    (void)arg;
    return x == y;
}

static uint32_t f_all(uint32_t x, void *arg)
{
    return x == *(const uint32_t *)arg;
}

/* Reduces bits[0..n) (each an encrypted 0/1 with level 1) to one bit that
 * is 1 iff all are 1: sums groups that fit the noise and degree budget,
 * then tests sum == group size with one PBS per group (the groups of a
 * round are one batch; groups of the same size share luts[size]). */
static int all_ones(struct amaters_fhe_eval *ev,
                    struct amaters_fhe_block *bits, size_t n,
                    struct amaters_fhe_block *out)
{
    const struct amaters_fhe_params *p = ev->sk->params;
    struct amaters_fhe_lut *luts[16] = {0};
    struct amaters_fhe_pbs_job *jobs;
    struct amaters_fhe_radix sums = {0};
    size_t group = p->max_noise_level;
    int rc;

    if (group > p->message_modulus * p->carry_modulus - 1)
        group = p->message_modulus * p->carry_modulus - 1;
    if (group > 15)
        group = 15;
    jobs = amaters_calloc(n, sizeof(*jobs));
    rc = jobs == NULL ? AMATERS_ENOMEM : 0;
    if (rc == 0)
        rc = amaters_fhe_radix_init(&sums, p, (n + group - 1) / group);
    for (uint32_t len = 2; rc == 0 && n > 1 && len <= group; len++)
        rc = amaters_fhe_lut_new(p, f_all, &len, &luts[len]);
    while (n > 1 && rc == 0) {
        size_t m = 0;

        /* sums[m] = bits[s] + ... (linear), then bits[m] = (sum == len) */
        for (size_t s = 0; s < n && rc == 0; s += group, m++) {
            size_t len = n - s < group ? n - s : group;
            struct amaters_fhe_block *sm = &sums.blocks[m];

            amaters_fhe_block_copy(sm, &bits[s]);
            for (size_t j = 1; j < len && rc == 0; j++)
                rc = amaters_fhe_block_add_assign(sm, &bits[s + j]);
            jobs[m] = (struct amaters_fhe_pbs_job){
                len > 1 ? luts[len] : ev->lut_clean, sm, NULL, &bits[m]};
        }
        if (rc == 0)
            rc = amaters_fhe_block_apply_batch(ev, jobs, m);
        n = m;
    }
    if (rc == 0)
        amaters_fhe_block_copy(out, &bits[0]);
    for (size_t i = 0; i < 16; i++)
        amaters_fhe_lut_free(luts[i]);
    amaters_fhe_radix_destroy(&sums);
    amaters_free(jobs);
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
    if (rc == 0)
        rc = amaters_fhe_radix_map2(ev, lut, a, b, &t);
    if (rc == 0)
        rc = all_ones(ev, t.blocks, t.nblocks, out);
    amaters_fhe_lut_free(lut);
    amaters_fhe_radix_destroy(&t);
    return rc;
}

/* Less-than by weighted signs. A sign s in {-1, 0, 1} of weight w is
 * encoded as the torus value s * w * Delta (signed, so it uses the padding
 * half of the torus). Block i gets sign(a_i - b_i) with weight 2^(i mod g)
 * from one bivariate PBS; the g signs of a group are summed (no PBS):
 * v = sum 2^j s_j lies in [-(2^g - 1), 2^g - 1] and has the sign of the
 * group's lexicographic comparison. The next level maps each group sum to
 * its weighted sign with one univariate PBS (sign is odd, so the
 * negacyclic PBS evaluates it on negative sums too), until one group is
 * left; its sum v gives (v < 0) as the constant LUT -1/2 (negated to
 * +1/2 for v < 0) plus 1/2. g is the largest with 2^g - 1 < message *
 * carry and g <= max_noise_level (4 for the default set). */
struct lt_luts {
    size_t g;
    struct amaters_fhe_lut *blk[8], *red[8], *fin;
};

struct sign_arg {
    uint32_t mm;
    int32_t w;
};

static int32_t h_block_sign(uint32_t v, void *arg)
{
    const struct sign_arg *s = arg;
    uint32_t x = v / s->mm, y = v % s->mm;

    if (x >= s->mm || x == y)
        return 0;
    return x > y ? 2 * s->w : -2 * s->w;
}

static int32_t h_sign(uint32_t v, void *arg)
{
    const struct sign_arg *s = arg;

    return v == 0 ? 0 : 2 * s->w;
}

static int32_t h_minus_half(uint32_t v, void *arg)
{
    (void)v;
    (void)arg;
    return -1;
}

static int lt_luts_new(const struct amaters_fhe_params *p, struct lt_luts *l)
{
    uint32_t count = p->message_modulus * p->carry_modulus;
    int rc = 0;

    l->g = 1;
    while (l->g < 8 && ((1u << (l->g + 1)) - 1) < count &&
           l->g + 1 <= p->max_noise_level)
        l->g++;
    for (size_t j = 0; rc == 0 && j < l->g; j++) {
        struct sign_arg a = {p->message_modulus, (int32_t)1 << j};

        rc = amaters_fhe_lut_new_half(p, h_block_sign, &a, &l->blk[j]);
        if (rc == 0)
            rc = amaters_fhe_lut_new_half(p, h_sign, &a, &l->red[j]);
    }
    if (rc == 0)
        rc = amaters_fhe_lut_new_half(p, h_minus_half, NULL, &l->fin);
    return rc;
}

static void lt_luts_free(struct lt_luts *l)
{
    for (size_t j = 0; j < 8; j++) {
        amaters_fhe_lut_free(l->blk[j]);
        amaters_fhe_lut_free(l->red[j]);
    }
    amaters_fhe_lut_free(l->fin);
}

/* Sums codes[0..m) group by group into sums (linear); returns the number
 * of groups. The codes have degree 0 and level 1, so the sums pass the
 * block bookkeeping (level g). */
static size_t sum_groups(const struct lt_luts *l,
                         struct amaters_fhe_block *codes, size_t m,
                         struct amaters_fhe_block *sums)
{
    size_t q = 0;

    for (size_t s = 0; s < m; s += l->g, q++) {
        amaters_fhe_block_copy(&sums[q], &codes[s]);
        for (size_t j = s + 1; j < m && j < s + l->g; j++)
            amaters_fhe_block_add_assign(&sums[q], &codes[j]);
    }
    return q;
}

int amaters_fhe_radix_lt(struct amaters_fhe_eval *ev,
                         const struct amaters_fhe_radix *a,
                         const struct amaters_fhe_radix *b,
                         struct amaters_fhe_block *out)
{
    struct lt_luts l = {0};
    struct amaters_fhe_radix codes = {0}, sums = {0};
    struct amaters_fhe_pbs_job *jobs = NULL;
    size_t n = a->nblocks, m = n, q;
    int rc;

    if (!amaters_fhe_radix_same_shape(a, b) || out->params != a->params)
        return AMATERS_EINVAL;
    rc = lt_luts_new(a->params, &l);
    if (rc == 0)
        rc = amaters_fhe_radix_init(&codes, a->params, n);
    if (rc == 0)
        rc = amaters_fhe_radix_init(&sums, a->params, n);
    if (rc == 0) {
        jobs = amaters_calloc(n, sizeof(*jobs));
        rc = jobs == NULL ? AMATERS_ENOMEM : 0;
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        jobs[i] = (struct amaters_fhe_pbs_job){
            l.blk[i % l.g], &a->blocks[i], &b->blocks[i], &codes.blocks[i]};
    if (rc == 0)
        rc = amaters_fhe_block_apply_batch(ev, jobs, n);
    while (rc == 0 && (q = sum_groups(&l, codes.blocks, m, sums.blocks)) > 1) {
        for (size_t j = 0; j < q; j++)
            jobs[j] = (struct amaters_fhe_pbs_job){
                l.red[j % l.g], &sums.blocks[j], NULL, &codes.blocks[j]};
        rc = amaters_fhe_block_apply_batch(ev, jobs, q);
        m = q;
    }
    if (rc == 0) {
        const struct amaters_fhe_params *p = a->params;

        amaters_fhe_block_apply_lut(ev, l.fin, &sums.blocks[0], out);
        amaters_fhe_lwe_add_plain(out->ct, amaters_fhe_params_big_dim(p),
                                  UINT64_C(1)
                                      << (amaters_fhe_params_delta_log(p) -
                                          1));
        out->degree = 1;
        out->noise_level = 1;
    }
    amaters_free(jobs);
    amaters_fhe_radix_destroy(&codes);
    amaters_fhe_radix_destroy(&sums);
    lt_luts_free(&l);
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

/* Two bivariate PBS per block: (c ? a_i : 0) + (c ? 0 : b_i). */
static int select2(struct amaters_fhe_eval *ev,
                   const struct amaters_fhe_block *cond,
                   const struct amaters_fhe_radix *a,
                   const struct amaters_fhe_radix *b,
                   struct amaters_fhe_radix *out)
{
    struct amaters_fhe_lut *keep = NULL, *drop = NULL;
    struct amaters_fhe_radix ta = {0}, tb = {0};
    struct amaters_fhe_pbs_job *jobs = NULL;
    size_t n = a->nblocks;
    int rc;

    rc = amaters_fhe_lut2_new(a->params, f_keep_if, NULL, &keep);
    if (rc == 0)
        rc = amaters_fhe_lut2_new(a->params, f_keep_unless, NULL, &drop);
    if (rc == 0)
        rc = amaters_fhe_radix_init(&ta, a->params, n);
    if (rc == 0)
        rc = amaters_fhe_radix_init(&tb, a->params, n);
    if (rc == 0) {
        jobs = amaters_calloc(2 * n, sizeof(*jobs));
        rc = jobs == NULL ? AMATERS_ENOMEM : 0;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        jobs[2 * i] = (struct amaters_fhe_pbs_job){
            keep, cond, &a->blocks[i], &ta.blocks[i]};
        jobs[2 * i + 1] = (struct amaters_fhe_pbs_job){
            drop, cond, &b->blocks[i], &tb.blocks[i]};
    }
    if (rc == 0)
        rc = amaters_fhe_block_apply_batch(ev, jobs, 2 * n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct amaters_fhe_block *o = &out->blocks[i];
        uint32_t deg = ta.blocks[i].degree > tb.blocks[i].degree
                           ? ta.blocks[i].degree
                           : tb.blocks[i].degree;

        /* o = (c ? a_i : 0) + (c ? 0 : b_i); one term is always zero, so
         * the larger degree bounds the sum. */
        amaters_fhe_block_copy(o, &ta.blocks[i]);
        rc = amaters_fhe_block_add_assign(o, &tb.blocks[i]);
        o->degree = deg;
    }
    amaters_free(jobs);
    amaters_fhe_radix_destroy(&ta);
    amaters_fhe_radix_destroy(&tb);
    amaters_fhe_lut_free(keep);
    amaters_fhe_lut_free(drop);
    return rc;
}

/* 2 (a_i - b_i + 3) + c -> c ? a_i - b_i : 0 (signed output). */
static int32_t h_select(uint32_t x, void *arg)
{
    (void)arg;
    return (x & 1) ? 2 * ((int32_t)(x >> 1) - 3) : 0;
}

/* 1 when every block has level 1 and a clean carry, cond is a level-1
 * boolean and the packing below fits: then select costs one PBS per
 * block. */
static int select1_fits(const struct amaters_fhe_block *cond,
                        const struct amaters_fhe_radix *a,
                        const struct amaters_fhe_radix *b)
{
    const struct amaters_fhe_params *p = a->params;

    if (p->message_modulus != 4 || p->carry_modulus < 4 ||
        p->max_noise_level < 5 || cond->noise_level > 1 || cond->degree > 1)
        return 0;
    for (size_t i = 0; i < a->nblocks; i++)
        if (a->blocks[i].noise_level > 1 || b->blocks[i].noise_level > 1 ||
            a->blocks[i].degree > 3 || b->blocks[i].degree > 3)
            return 0;
    return 1;
}

/* out_i = b_i + PBS(2 (a_i - b_i + 3) + c): the packed value is below 14
 * and has noise level 2 (1 + 1) + 1 = 5; the PBS returns a_i - b_i or 0
 * as a signed torus value, so out_i is a_i or b_i with level 2. */
static int select1(struct amaters_fhe_eval *ev,
                   const struct amaters_fhe_block *cond,
                   const struct amaters_fhe_radix *a,
                   const struct amaters_fhe_radix *b,
                   struct amaters_fhe_radix *out)
{
    const struct amaters_fhe_params *p = a->params;
    size_t n = a->nblocks, dim = amaters_fhe_params_big_dim(p);
    uint32_t dl = amaters_fhe_params_delta_log(p);
    struct amaters_fhe_radix t = {0}, u = {0};
    struct amaters_fhe_pbs_job *jobs = NULL;
    struct amaters_fhe_lut *lut = NULL;
    int rc = amaters_fhe_lut_new_half(p, h_select, NULL, &lut);

    if (rc == 0)
        rc = amaters_fhe_radix_init(&t, p, n);
    if (rc == 0)
        rc = amaters_fhe_radix_init(&u, p, n);
    if (rc == 0) {
        jobs = amaters_calloc(n, sizeof(*jobs));
        rc = jobs == NULL ? AMATERS_ENOMEM : 0;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        uint64_t *x = t.blocks[i].ct;

        amaters_fhe_lwe_sub(x, a->blocks[i].ct, b->blocks[i].ct, dim);
        amaters_fhe_lwe_add_plain(x, dim, UINT64_C(3) << dl);
        amaters_fhe_lwe_mul_scalar(x, x, 2, dim);
        amaters_fhe_lwe_add(x, x, cond->ct, dim);
        t.blocks[i].degree = 13;
        t.blocks[i].noise_level = 5;
        jobs[i] = (struct amaters_fhe_pbs_job){lut, &t.blocks[i], NULL,
                                               &u.blocks[i]};
    }
    if (rc == 0)
        rc = amaters_fhe_block_apply_batch(ev, jobs, n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct amaters_fhe_block *o = &out->blocks[i];
        uint32_t deg = a->blocks[i].degree > b->blocks[i].degree
                           ? a->blocks[i].degree
                           : b->blocks[i].degree;

        amaters_fhe_block_copy(o, &b->blocks[i]);
        amaters_fhe_lwe_add(o->ct, o->ct, u.blocks[i].ct, dim);
        o->degree = deg;
        o->noise_level = 2;
    }
    amaters_free(jobs);
    amaters_fhe_radix_destroy(&t);
    amaters_fhe_radix_destroy(&u);
    amaters_fhe_lut_free(lut);
    return rc;
}

int amaters_fhe_radix_select(struct amaters_fhe_eval *ev,
                             const struct amaters_fhe_block *cond,
                             const struct amaters_fhe_radix *a,
                             const struct amaters_fhe_radix *b,
                             struct amaters_fhe_radix *out)
{
    if (!amaters_fhe_radix_same_shape(a, b) ||
        !amaters_fhe_radix_same_shape(a, out) || cond->params != a->params)
        return AMATERS_EINVAL;
    if (select1_fits(cond, a, b))
        return select1(ev, cond, a, b, out);
    return select2(ev, cond, a, b, out);
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
