/*
 * radix.c - radix integers: encryption, ripple-carry add / sub / neg /
 * scalar add and sub, bitwise operations. Comparisons and selection are in
 * radix_cmp.c, multiplication in radix_mul.c.
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
 * level <= 5 (levels of select outputs are 2), then two independent PBS
 * (one batch) extract the carry and clean the block. */
int amaters_fhe_radix_add_cin(struct amaters_fhe_eval *ev,
                              const struct amaters_fhe_radix *a,
                              const struct amaters_fhe_radix *b,
                              uint32_t cin, struct amaters_fhe_radix *out)
{
    struct amaters_fhe_block s = {0}, carry = {0};
    int rc;

    if (!same_shape(a, b) || !same_shape(a, out) || cin > 1)
        return AMATERS_EINVAL;
    rc = amaters_fhe_block_init(&s, a->params);
    if (rc == 0)
        rc = amaters_fhe_block_init(&carry, a->params);
    for (size_t i = 0; i < a->nblocks && rc == 0; i++) {
        struct amaters_fhe_pbs_job jobs[2] = {
            {ev->lut_clean, &s, NULL, &out->blocks[i]},
            {ev->lut_carry, &s, NULL, &carry},
        };

        amaters_fhe_block_copy(&s, &a->blocks[i]);
        rc = amaters_fhe_block_add_assign(&s, &b->blocks[i]);
        if (rc == 0 && i > 0)
            rc = amaters_fhe_block_add_assign(&s, &carry);
        if (rc == 0 && i == 0 && cin != 0)
            rc = amaters_fhe_block_add_scalar(&s, cin);
        if (rc == 0)
            rc = amaters_fhe_block_apply_batch(ev, jobs,
                                               i + 1 < a->nblocks ? 2 : 1);
    }
    amaters_fhe_block_destroy(&s);
    amaters_fhe_block_destroy(&carry);
    return rc;
}

static int add_cin(struct amaters_fhe_eval *ev,
                   const struct amaters_fhe_radix *a,
                   const struct amaters_fhe_radix *b, uint32_t cin,
                   struct amaters_fhe_radix *out)
{
    return amaters_fhe_radix_add_cin(ev, a, b, cin, out);
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

int amaters_fhe_radix_sub_scalar(struct amaters_fhe_eval *ev,
                                 const struct amaters_fhe_radix *a,
                                 uint64_t c, struct amaters_fhe_radix *out)
{
    /* a - c = a + (2^64 - c) modulo 4^nblocks (a divisor of 2^64) */
    if (a->nblocks > 32)
        return AMATERS_EINVAL;
    return amaters_fhe_radix_add_scalar(ev, a, (uint64_t)0 - c, out);
}

int amaters_fhe_radix_neg(struct amaters_fhe_eval *ev,
                          const struct amaters_fhe_radix *a,
                          struct amaters_fhe_radix *out)
{
    struct amaters_fhe_radix zero = {0}, na = {0};
    int rc;

    if (!same_shape(a, out))
        return AMATERS_EINVAL;
    /* -a = 0 + ~a + 1 */
    rc = amaters_fhe_radix_init(&zero, a->params, a->nblocks);
    if (rc == 0)
        rc = amaters_fhe_radix_init(&na, a->params, a->nblocks);
    if (rc == 0)
        rc = amaters_fhe_radix_bitnot(a, &na);
    if (rc == 0)
        rc = add_cin(ev, &zero, &na, 1, out);
    amaters_fhe_radix_destroy(&zero);
    amaters_fhe_radix_destroy(&na);
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

int amaters_fhe_radix_map2(struct amaters_fhe_eval *ev,
                           const struct amaters_fhe_lut *lut,
                           const struct amaters_fhe_radix *a,
                           const struct amaters_fhe_radix *b,
                           struct amaters_fhe_radix *out)
{
    struct amaters_fhe_pbs_job *jobs;
    int rc;

    if (!same_shape(a, b) || !same_shape(a, out))
        return AMATERS_EINVAL;
    jobs = amaters_calloc(a->nblocks, sizeof(*jobs));
    if (jobs == NULL)
        return AMATERS_ENOMEM;
    for (size_t i = 0; i < a->nblocks; i++) {
        jobs[i].lut = lut;
        jobs[i].a = &a->blocks[i];
        jobs[i].b = &b->blocks[i];
        jobs[i].out = &out->blocks[i];
    }
    rc = amaters_fhe_block_apply_batch(ev, jobs, a->nblocks);
    amaters_free(jobs);
    return rc;
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
    if (rc == 0)
        rc = amaters_fhe_radix_map2(ev, lut, a, b, out);
    amaters_fhe_lut_free(lut);
    return rc;
}
