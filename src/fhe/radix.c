/*
 * radix.c - radix integers: encryption, ripple-carry add / sub / scalar
 * add, bitwise operations. Comparisons and selection are in radix_cmp.c.
 */
#include "fhe/radix.h"

#include "core/alloc.h"
#include "core/errors.h"
#include "fhe/lwe.h"

int amaters_fhe_radix_init(struct amaters_fhe_radix *r,
                           const struct amaters_fhe_params *p,
                           size_t nblocks)
{
    int rc = 0;

    r->params = p;
    r->nblocks = 0;
    r->blocks = NULL;
    if (nblocks == 0 || nblocks > 64)
        return AMATERS_EINVAL;
    r->blocks = amaters_calloc(nblocks, sizeof(*r->blocks));
    if (r->blocks == NULL)
        return AMATERS_ENOMEM;
    for (size_t i = 0; i < nblocks && rc == 0; i++) {
        rc = amaters_fhe_block_init(&r->blocks[i], p);
        if (rc == 0)
            r->nblocks++;
    }
    if (rc != 0)
        amaters_fhe_radix_destroy(r);
    return rc;
}

void amaters_fhe_radix_destroy(struct amaters_fhe_radix *r)
{
    if (r == NULL || r->blocks == NULL)
        return;
    for (size_t i = 0; i < r->nblocks; i++)
        amaters_fhe_block_destroy(&r->blocks[i]);
    amaters_free(r->blocks);
    r->blocks = NULL;
    r->nblocks = 0;
}

int amaters_fhe_radix_encrypt(struct amaters_fhe_client_key *ck,
                              uint64_t v, struct amaters_fhe_radix *r)
{
    uint32_t mm = ck->params->message_modulus;
    int rc = 0;

    for (size_t i = 0; i < r->nblocks && rc == 0; i++) {
        rc = amaters_fhe_block_encrypt(ck, (uint32_t)(v % mm),
                                       &r->blocks[i]);
        v /= mm;
    }
    return rc;
}

int amaters_fhe_radix_decrypt(const struct amaters_fhe_client_key *ck,
                              const struct amaters_fhe_radix *r,
                              uint64_t *v)
{
    uint32_t mm = ck->params->message_modulus;
    uint64_t acc = 0;

    *v = 0;
    for (size_t i = r->nblocks; i-- > 0;) {
        uint32_t x;
        int rc = amaters_fhe_block_decrypt(ck, &r->blocks[i], &x);

        if (rc != 0)
            return rc;
        acc = acc * mm + x % mm;
    }
    *v = acc;
    return 0;
}

int amaters_fhe_radix_same_shape(const struct amaters_fhe_radix *a,
                                 const struct amaters_fhe_radix *b)
{
    return a->params == b->params && a->nblocks == b->nblocks &&
           a->nblocks > 0;
}

static int same_shape(const struct amaters_fhe_radix *a,
                      const struct amaters_fhe_radix *b)
{
    return amaters_fhe_radix_same_shape(a, b);
}

/* out = a + b + cin (cin in {0, 1}) with ripple carry: per block the sum
 * of two clean blocks and the incoming carry has degree <= 7 and noise
 * level <= 5 (levels of select outputs are 2), then one PBS extracts the
 * carry and one cleans the block. */
static int add_cin(struct amaters_fhe_eval *ev,
                   const struct amaters_fhe_radix *a,
                   const struct amaters_fhe_radix *b, uint32_t cin,
                   struct amaters_fhe_radix *out)
{
    struct amaters_fhe_block *carry = &ev->tmp_b;
    int rc = 0;

    if (!same_shape(a, b) || !same_shape(a, out))
        return AMATERS_EINVAL;
    for (size_t i = 0; i < a->nblocks && rc == 0; i++) {
        struct amaters_fhe_block *o = &out->blocks[i];
        const struct amaters_fhe_block *x = &a->blocks[i];
        const struct amaters_fhe_block *y = &b->blocks[i];

        if (o == y)
            y = x;                 /* o already holds b_i: add a_i */
        else if (o != x)
            amaters_fhe_block_copy(o, x);
        rc = amaters_fhe_block_add_assign(o, y);
        if (rc == 0 && i > 0)
            rc = amaters_fhe_block_add_assign(o, carry);
        if (rc == 0 && i == 0 && cin != 0)
            rc = amaters_fhe_block_add_scalar(o, cin);
        if (rc != 0)
            break;
        if (i + 1 < a->nblocks)
            amaters_fhe_block_carry(ev, o, carry);
        amaters_fhe_block_clean(ev, o, o);
    }
    return rc;
}

int amaters_fhe_radix_add(struct amaters_fhe_eval *ev,
                          const struct amaters_fhe_radix *a,
                          const struct amaters_fhe_radix *b,
                          struct amaters_fhe_radix *out)
{
    return add_cin(ev, a, b, 0, out);
}

int amaters_fhe_radix_bitnot(const struct amaters_fhe_radix *a,
                             struct amaters_fhe_radix *out)
{
    if (!same_shape(a, out))
        return AMATERS_EINVAL;
    for (size_t i = 0; i < a->nblocks; i++)
        if (a->blocks[i].degree >= a->params->message_modulus)
            return AMATERS_EINVAL;
    for (size_t i = 0; i < a->nblocks; i++) {
        struct amaters_fhe_block *o = &out->blocks[i];

        /* (mm - 1) - x, exact because x <= mm - 1 */
        amaters_fhe_block_copy(o, &a->blocks[i]);
        amaters_fhe_lwe_neg(o->ct, o->ct,
                            amaters_fhe_params_big_dim(a->params));
        o->degree = 0;
        amaters_fhe_block_add_scalar(o, a->params->message_modulus - 1);
    }
    return 0;
}

int amaters_fhe_radix_sub(struct amaters_fhe_eval *ev,
                          const struct amaters_fhe_radix *a,
                          const struct amaters_fhe_radix *b,
                          struct amaters_fhe_radix *out)
{
    struct amaters_fhe_radix nb;
    int rc;

    if (!same_shape(a, b) || !same_shape(a, out))
        return AMATERS_EINVAL;
    /* a - b = a + ~b + 1 modulo 4^nblocks */
    rc = amaters_fhe_radix_init(&nb, a->params, a->nblocks);
    if (rc == 0)
        rc = amaters_fhe_radix_bitnot(b, &nb);
    if (rc == 0)
        rc = add_cin(ev, a, &nb, 1, out);
    amaters_fhe_radix_destroy(&nb);
    return rc;
}

int amaters_fhe_radix_add_scalar(struct amaters_fhe_eval *ev,
                                 const struct amaters_fhe_radix *a,
                                 uint64_t c, struct amaters_fhe_radix *out)
{
    uint32_t mm = a->params->message_modulus;
    struct amaters_fhe_radix t;
    int rc;

    if (!same_shape(a, out))
        return AMATERS_EINVAL;
    rc = amaters_fhe_radix_init(&t, a->params, a->nblocks);
    for (size_t i = 0; rc == 0 && i < a->nblocks; i++) {
        amaters_fhe_block_set_trivial(&t.blocks[i], (uint32_t)(c % mm));
        c /= mm;
    }
    if (rc == 0)
        rc = add_cin(ev, a, &t, 0, out);
    amaters_fhe_radix_destroy(&t);
    return rc;
}

static uint32_t f_and(uint32_t x, uint32_t y, void *arg)
{
    (void)arg;
    return x & y;
}

static uint32_t f_or(uint32_t x, uint32_t y, void *arg)
{
    (void)arg;
    return x | y;
}

static uint32_t f_xor(uint32_t x, uint32_t y, void *arg)
{
    (void)arg;
    return x ^ y;
}

int amaters_fhe_radix_bitop(struct amaters_fhe_eval *ev,
                            enum amaters_fhe_bitop op,
                            const struct amaters_fhe_radix *a,
                            const struct amaters_fhe_radix *b,
                            struct amaters_fhe_radix *out)
{
    amaters_fhe_fn2_cb fn = op == AMATERS_FHE_AND  ? f_and
                            : op == AMATERS_FHE_OR ? f_or
                                                   : f_xor;
    struct amaters_fhe_lut *lut = NULL;
    int rc;

    if (!same_shape(a, b) || !same_shape(a, out))
        return AMATERS_EINVAL;
    rc = amaters_fhe_lut2_new(a->params, fn, NULL, &lut);
    for (size_t i = 0; rc == 0 && i < a->nblocks; i++)
        rc = amaters_fhe_block_apply_lut2(ev, lut, &a->blocks[i],
                                          &b->blocks[i], &out->blocks[i]);
    amaters_fhe_lut_free(lut);
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

struct scalar_digit {
    uint32_t c;
    uint32_t mm;
};

static uint32_t f_smul_lo(uint32_t x, void *arg)
{
    const struct scalar_digit *d = arg;

    return (x % d->mm) * d->c % d->mm;
}

static uint32_t f_smul_hi(uint32_t x, void *arg)
{
    const struct scalar_digit *d = arg;

    return (x % d->mm) * d->c / d->mm;
}

/* Shared state of the two multiplications: acc accumulates the shifted
 * partial products, lo / hi hold one row of them. */
struct mul_work {
    struct amaters_fhe_radix acc, lo, hi;
};

static int mul_work_init(struct mul_work *w, const struct amaters_fhe_radix *a)
{
    int rc = amaters_fhe_radix_init(&w->acc, a->params, a->nblocks);

    if (rc == 0)
        rc = amaters_fhe_radix_init(&w->lo, a->params, a->nblocks);
    if (rc == 0)
        rc = amaters_fhe_radix_init(&w->hi, a->params, a->nblocks);
    return rc;
}

static void mul_work_destroy(struct mul_work *w)
{
    amaters_fhe_radix_destroy(&w->acc);
    amaters_fhe_radix_destroy(&w->lo);
    amaters_fhe_radix_destroy(&w->hi);
}

/* acc += lo + hi, then lo and hi back to trivial zeros. */
static int mul_accumulate(struct amaters_fhe_eval *ev, struct mul_work *w)
{
    int rc = add_cin(ev, &w->acc, &w->lo, 0, &w->acc);

    if (rc == 0)
        rc = add_cin(ev, &w->acc, &w->hi, 0, &w->acc);
    for (size_t i = 0; i < w->lo.nblocks; i++) {
        amaters_fhe_block_set_trivial(&w->lo.blocks[i], 0);
        amaters_fhe_block_set_trivial(&w->hi.blocks[i], 0);
    }
    return rc;
}

int amaters_fhe_radix_mul(struct amaters_fhe_eval *ev,
                          const struct amaters_fhe_radix *a,
                          const struct amaters_fhe_radix *b,
                          struct amaters_fhe_radix *out)
{
    uint32_t mm = a->params->message_modulus;
    struct amaters_fhe_lut *flo = NULL, *fhi = NULL;
    struct mul_work w = {0};
    size_t n = a->nblocks;
    int rc;

    if (!same_shape(a, b) || !same_shape(a, out))
        return AMATERS_EINVAL;
    /* schoolbook: row j adds (a * b_j) << 2j as its low and high digits */
    rc = mul_work_init(&w, a);
    if (rc == 0)
        rc = amaters_fhe_lut2_new(a->params, f_mul_lo, &mm, &flo);
    if (rc == 0)
        rc = amaters_fhe_lut2_new(a->params, f_mul_hi, &mm, &fhi);
    for (size_t j = 0; rc == 0 && j < n; j++) {
        for (size_t i = 0; rc == 0 && i + j < n; i++) {
            rc = amaters_fhe_block_apply_lut2(ev, flo, &a->blocks[i],
                                              &b->blocks[j],
                                              &w.lo.blocks[i + j]);
            if (rc == 0 && i + j + 1 < n)
                rc = amaters_fhe_block_apply_lut2(ev, fhi, &a->blocks[i],
                                                  &b->blocks[j],
                                                  &w.hi.blocks[i + j + 1]);
        }
        if (rc == 0)
            rc = mul_accumulate(ev, &w);
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        amaters_fhe_block_copy(&out->blocks[i], &w.acc.blocks[i]);
    amaters_fhe_lut_free(flo);
    amaters_fhe_lut_free(fhi);
    mul_work_destroy(&w);
    return rc;
}

int amaters_fhe_radix_mul_scalar(struct amaters_fhe_eval *ev,
                                 const struct amaters_fhe_radix *a,
                                 uint64_t c, struct amaters_fhe_radix *out)
{
    struct mul_work w = {0};
    size_t n = a->nblocks;
    int rc;

    if (!same_shape(a, out))
        return AMATERS_EINVAL;
    rc = mul_work_init(&w, a);
    for (size_t j = 0; rc == 0 && j < n; j++, c /= a->params->message_modulus) {
        struct amaters_fhe_lut *flo = NULL, *fhi = NULL;
        struct scalar_digit d = {
            (uint32_t)(c % a->params->message_modulus),
            a->params->message_modulus,
        };

        if (d.c == 0)
            continue;
        rc = amaters_fhe_lut_new(a->params, f_smul_lo, &d, &flo);
        if (rc == 0)
            rc = amaters_fhe_lut_new(a->params, f_smul_hi, &d, &fhi);
        for (size_t i = 0; rc == 0 && i + j < n; i++) {
            amaters_fhe_block_apply_lut(ev, flo, &a->blocks[i],
                                        &w.lo.blocks[i + j]);
            if (i + j + 1 < n)
                amaters_fhe_block_apply_lut(ev, fhi, &a->blocks[i],
                                            &w.hi.blocks[i + j + 1]);
        }
        if (rc == 0)
            rc = mul_accumulate(ev, &w);
        amaters_fhe_lut_free(flo);
        amaters_fhe_lut_free(fhi);
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        amaters_fhe_block_copy(&out->blocks[i], &w.acc.blocks[i]);
    mul_work_destroy(&w);
    return rc;
}
