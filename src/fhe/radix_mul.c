/*
 * radix_mul.c - multiplication of radix integers (by an encrypted integer
 * and by a public scalar) with a column reducer: every term (a digit with
 * its degree and noise level) is filed under the output block it weighs
 * on; each round sums the terms of a column in groups that fit the carry
 * space and the noise budget and turns every group into a clean digit
 * (same column) and a carry (next column) with two PBS, all groups of all
 * columns in one batch, until each column holds at most two clean
 * digits; a final ripple-carry pass (two PBS per column) finishes.
 */
#include "fhe/radix.h"

#include "core/alloc.h"
#include "core/errors.h"

/* Terms per column; col k (k < n) holds t[k * cap .. k * cap + cnt[k]).
 * Terms are heap blocks owned by the structure. */
struct cols {
    const struct amaters_fhe_params *p;
    size_t n, cap;
    struct amaters_fhe_block **t;
    size_t *cnt;
};

static void term_free(struct amaters_fhe_block *b)
{
    if (b == NULL)
        return;
    amaters_fhe_block_destroy(b);
    amaters_free(b);
}

static int term_new(const struct amaters_fhe_params *p,
                    struct amaters_fhe_block **out)
{
    struct amaters_fhe_block *b = amaters_calloc(1, sizeof(*b));
    int rc;

    *out = NULL;
    if (b == NULL)
        return AMATERS_ENOMEM;
    rc = amaters_fhe_block_init(b, p);
    if (rc != 0) {
        amaters_free(b);
        return rc;
    }
    *out = b;
    return 0;
}

static int cols_init(struct cols *c, const struct amaters_fhe_params *p,
                     size_t n)
{
    c->p = p;
    c->n = n;
    c->cap = 3 * n + 3;
    c->t = amaters_calloc(n * c->cap, sizeof(*c->t));
    c->cnt = amaters_calloc(n, sizeof(*c->cnt));
    return c->t == NULL || c->cnt == NULL ? AMATERS_ENOMEM : 0;
}

static void cols_destroy(struct cols *c)
{
    for (size_t k = 0; c->t != NULL && k < c->n; k++)
        for (size_t i = 0; i < c->cnt[k]; i++)
            term_free(c->t[k * c->cap + i]);
    amaters_free(c->t);
    amaters_free(c->cnt);
    c->t = NULL;
    c->cnt = NULL;
}

/* Appends a new trivial-zero term to column k; *out points to it. */
static int cols_push(struct cols *c, size_t k, struct amaters_fhe_block **out)
{
    int rc;

    if (c->cnt[k] >= c->cap)
        return AMATERS_EINTERNAL;
    rc = term_new(c->p, out);
    if (rc == 0)
        c->t[k * c->cap + c->cnt[k]++] = *out;
    return rc;
}

/* A column is ready for the final ripple when it holds at most two
 * clean digits whose sum plus an incoming carry (< message) fits the
 * carry space and, with the carry's level 1, the noise budget. */
static int col_ready(const struct cols *c, size_t k)
{
    const struct amaters_fhe_params *p = c->p;
    uint32_t deg = p->message_modulus - 1, lvl = 1;

    if (c->cnt[k] > 2)
        return 0;
    for (size_t i = 0; i < c->cnt[k]; i++) {
        const struct amaters_fhe_block *b = c->t[k * c->cap + i];

        if (b->degree >= p->message_modulus)
            return 0;
        deg += b->degree;
        lvl += b->noise_level;
    }
    return deg < p->message_modulus * p->carry_modulus &&
           lvl <= p->max_noise_level;
}

/* Sums the cnt terms of one column into groups that fit the carry space
 * and the noise budget: first fit, highest noise level first (a stable
 * order). Each group is summed into its first term; the group heads go to
 * heads[] in creation order; returns their number. Scalar-mul terms of
 * level 3 / 2 / 1 (degree 9 / 6 / 3) pack as 3+2, 3+1+1, 2+2+1 instead
 * of whatever pairs happen to be adjacent (-10 % PBS for a random u64
 * scalar). When every term has level 1 and degree < message (products
 * and reduced digits), groups take five terms in order, as before. */
static size_t group_terms(struct amaters_fhe_block **t, size_t cnt,
                          struct amaters_fhe_block **heads)
{
    size_t ng = 0;

    for (size_t i = 1; i < cnt; i++) {
        struct amaters_fhe_block *x = t[i];
        size_t j = i;

        for (; j > 0 && t[j - 1]->noise_level < x->noise_level; j--)
            t[j] = t[j - 1];
        t[j] = x;
    }
    for (size_t i = 0; i < cnt; i++) {
        size_t g = 0;

        while (g < ng && !amaters_fhe_block_can_add(heads[g], t[i]))
            g++;
        if (g < ng)
            amaters_fhe_block_add_assign(heads[g], t[i]);
        else
            heads[ng++] = t[i];
    }
    return ng;
}

/* One reduction round: old terms move to `old`, new ones are pushed into
 * c by one batch of PBS. heads has room for one column's terms. */
static int reduce_round(struct amaters_fhe_eval *ev, struct cols *c,
                        struct cols *old, struct amaters_fhe_pbs_job *jobs,
                        struct amaters_fhe_block **heads)
{
    uint32_t mm = c->p->message_modulus;
    size_t nj = 0, ng;
    int rc = 0;

    for (size_t k = 0; k < c->n; k++) {
        old->cnt[k] = c->cnt[k];
        for (size_t i = 0; i < c->cnt[k]; i++)
            old->t[k * c->cap + i] = c->t[k * c->cap + i];
        c->cnt[k] = 0;
    }
    for (size_t k = 0; k < c->n && rc == 0; k++) {
        struct amaters_fhe_block **t = &old->t[k * c->cap];
        size_t i;

        if (col_ready(old, k)) {
            for (size_t j = 0; j < old->cnt[k]; j++)
                c->t[k * c->cap + j] = t[j];      /* moves as is */
            c->cnt[k] = old->cnt[k];
            old->cnt[k] = 0;
            continue;
        }
        ng = group_terms(t, old->cnt[k], heads);
        for (i = 0; i < ng && rc == 0; i++) {
            struct amaters_fhe_block *g = heads[i], *o;

            if (g->degree > 0)
                rc = cols_push(c, k, &o);
            if (rc == 0 && g->degree > 0)
                jobs[nj++] = (struct amaters_fhe_pbs_job){
                    ev->lut_clean, g, NULL, o};
            if (rc == 0 && g->degree >= mm && k + 1 < c->n)
                rc = cols_push(c, k + 1, &o);
            if (rc == 0 && g->degree >= mm && k + 1 < c->n)
                jobs[nj++] = (struct amaters_fhe_pbs_job){
                    ev->lut_carry, g, NULL, o};
        }
    }
    if (rc == 0)
        rc = amaters_fhe_block_apply_batch(ev, jobs, nj);
    for (size_t k = 0; k < c->n; k++) {
        for (size_t i = 0; i < old->cnt[k]; i++)
            term_free(old->t[k * c->cap + i]);
        old->cnt[k] = 0;
    }
    return rc;
}

/* Final ripple over ready columns: s_k = terms of column k + carry_k,
 * then the clean digit (out_k) and the next carry as one batch. */
static int ripple(struct amaters_fhe_eval *ev, struct cols *c,
                  struct amaters_fhe_radix *out)
{
    struct amaters_fhe_block s = {0}, carry = {0};
    int rc = amaters_fhe_block_init(&s, c->p);

    if (rc == 0)
        rc = amaters_fhe_block_init(&carry, c->p);
    for (size_t k = 0; rc == 0 && k < c->n; k++) {
        struct amaters_fhe_pbs_job jobs[2] = {
            {ev->lut_clean, &s, NULL, &out->blocks[k]},
            {ev->lut_carry, &s, NULL, &carry},
        };

        amaters_fhe_block_set_trivial(&s, 0);
        for (size_t i = 0; rc == 0 && i < c->cnt[k]; i++)
            rc = amaters_fhe_block_add_assign(&s, c->t[k * c->cap + i]);
        if (rc == 0 && k > 0)
            rc = amaters_fhe_block_add_assign(&s, &carry);
        if (rc == 0 && s.degree == 0)
            amaters_fhe_block_set_trivial(&out->blocks[k], 0);
        else if (rc == 0)
            rc = amaters_fhe_block_apply_batch(
                ev, jobs, k + 1 < c->n && s.degree >= c->p->message_modulus
                              ? 2 : 1);
        if (rc == 0 && s.degree < c->p->message_modulus)
            amaters_fhe_block_set_trivial(&carry, 0);
    }
    amaters_fhe_block_destroy(&s);
    amaters_fhe_block_destroy(&carry);
    return rc;
}

/* Reduces c until every column is ready, then ripples into out. */
static int reduce(struct amaters_fhe_eval *ev, struct cols *c,
                  struct amaters_fhe_radix *out)
{
    struct cols old = {0};
    struct amaters_fhe_pbs_job *jobs;
    struct amaters_fhe_block **heads;
    int rc = cols_init(&old, c->p, c->n);
    int done = 0;

    jobs = amaters_calloc(2 * c->n * c->cap, sizeof(*jobs));
    heads = amaters_calloc(c->cap, sizeof(*heads));
    if ((jobs == NULL || heads == NULL) && rc == 0)
        rc = AMATERS_ENOMEM;
    while (rc == 0 && !done) {
        done = 1;
        for (size_t k = 0; k < c->n; k++)
            done = done && col_ready(c, k);
        if (!done)
            rc = reduce_round(ev, c, &old, jobs, heads);
    }
    if (rc == 0)
        rc = ripple(ev, c, out);
    amaters_free(jobs);
    amaters_free(heads);
    cols_destroy(&old);
    return rc;
}

static uint32_t f_mul_lo(uint32_t x, uint32_t y, void *arg)
{
    return (x * y) % *(const uint32_t *)arg;
}

static uint32_t f_mul_hi(uint32_t x, uint32_t y, void *arg)
{
    return (x * y) / *(const uint32_t *)arg;
}

/* Files the low and high digits of every a_i b_j below 4^n (one batch). */
static int products(struct amaters_fhe_eval *ev, struct cols *c,
                    const struct amaters_fhe_radix *a,
                    const struct amaters_fhe_radix *b,
                    const struct amaters_fhe_lut *flo,
                    const struct amaters_fhe_lut *fhi)
{
    size_t n = a->nblocks, nj = 0;
    struct amaters_fhe_pbs_job *jobs = amaters_calloc(n * n, sizeof(*jobs));
    int rc = jobs == NULL ? AMATERS_ENOMEM : 0;

    for (size_t j = 0; rc == 0 && j < n; j++) {
        for (size_t i = 0; rc == 0 && i + j < n; i++) {
            struct amaters_fhe_block *o = NULL;

            rc = cols_push(c, i + j, &o);
            if (rc == 0)
                jobs[nj++] = (struct amaters_fhe_pbs_job){
                    flo, &a->blocks[i], &b->blocks[j], o};
            if (rc == 0 && i + j + 1 < n)
                rc = cols_push(c, i + j + 1, &o);
            if (rc == 0 && i + j + 1 < n)
                jobs[nj++] = (struct amaters_fhe_pbs_job){
                    fhi, &a->blocks[i], &b->blocks[j], o};
        }
    }
    if (rc == 0)
        rc = amaters_fhe_block_apply_batch(ev, jobs, nj);
    amaters_free(jobs);
    return rc;
}

int amaters_fhe_radix_mul(struct amaters_fhe_eval *ev,
                          const struct amaters_fhe_radix *a,
                          const struct amaters_fhe_radix *b,
                          struct amaters_fhe_radix *out)
{
    uint32_t mm = a->params->message_modulus;
    struct amaters_fhe_lut *flo = NULL, *fhi = NULL;
    struct cols c = {0};
    int rc;

    if (!amaters_fhe_radix_same_shape(a, b) ||
        !amaters_fhe_radix_same_shape(a, out))
        return AMATERS_EINVAL;
    rc = cols_init(&c, a->params, a->nblocks);
    if (rc == 0)
        rc = amaters_fhe_lut2_new(a->params, f_mul_lo, &mm, &flo);
    if (rc == 0)
        rc = amaters_fhe_lut2_new(a->params, f_mul_hi, &mm, &fhi);
    if (rc == 0)
        rc = products(ev, &c, a, b, flo, fhi);
    if (rc == 0)
        rc = reduce(ev, &c, out);
    amaters_fhe_lut_free(flo);
    amaters_fhe_lut_free(fhi);
    cols_destroy(&c);
    return rc;
}

/* Files x * d in column k: one term of level x.level * d, or d copies of
 * x when that would exceed the noise budget. */
static int scalar_term(struct cols *c, size_t k,
                       const struct amaters_fhe_block *x, uint32_t d)
{
    int whole = (uint64_t)x->noise_level * d <= c->p->max_noise_level;
    int rc = 0;

    for (uint32_t r = 0; rc == 0 && r < (whole ? 1u : d); r++) {
        struct amaters_fhe_block *o = NULL;

        rc = cols_push(c, k, &o);
        if (rc == 0)
            amaters_fhe_block_copy(o, x);
        if (rc == 0 && whole)
            rc = amaters_fhe_block_mul_scalar(o, d);
    }
    return rc;
}

int amaters_fhe_radix_mul_scalar(struct amaters_fhe_eval *ev,
                                 const struct amaters_fhe_radix *a,
                                 uint64_t c, struct amaters_fhe_radix *out)
{
    uint32_t mm = a->params->message_modulus;
    size_t n = a->nblocks;
    struct cols cs = {0};
    int rc;

    if (!amaters_fhe_radix_same_shape(a, out))
        return AMATERS_EINVAL;
    rc = cols_init(&cs, a->params, n);
    /* term a_i * c_j (degree 3 c_j, level c_j) weighs on block i + j */
    for (size_t j = 0; rc == 0 && j < n; j++, c /= mm) {
        uint32_t d = (uint32_t)(c % mm);

        for (size_t i = 0; d != 0 && rc == 0 && i + j < n; i++)
            rc = scalar_term(&cs, i + j, &a->blocks[i], d);
    }
    if (rc == 0)
        rc = reduce(ev, &cs, out);
    cols_destroy(&cs);
    return rc;
}
