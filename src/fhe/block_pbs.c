/*
 * block_pbs.c - block operations that bootstrap: the evaluation context,
 * univariate and bivariate LUT application, carry clean-up.
 */
#include "fhe/block.h"

#include <string.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "fhe/keyswitch.h"
#include "fhe/lwe.h"
#include "fhe/pool.h"

static uint32_t mod_msg(uint32_t x, void *arg)
{
    return x % *(const uint32_t *)arg;
}

static uint32_t div_msg(uint32_t x, void *arg)
{
    return x / *(const uint32_t *)arg;
}

int amaters_fhe_eval_new(const struct amaters_fhe_server_key *sk,
                         struct amaters_fhe_eval **out)
{
    const struct amaters_fhe_params *p = sk->params;
    struct amaters_fhe_eval *ev = amaters_calloc(1, sizeof(*ev));
    uint32_t mm = p->message_modulus;
    int rc;

    *out = NULL;
    if (ev == NULL)
        return AMATERS_ENOMEM;
    ev->sk = sk;
    rc = amaters_fhe_pbs_scratch_new(&sk->bsk, &ev->sc);
    if (rc == 0) {
        ev->small = amaters_malloc((p->lwe_dim + 1) * sizeof(uint64_t));
        rc = ev->small == NULL ? AMATERS_ENOMEM : 0;
    }
    if (rc == 0) {
        size_t big = amaters_fhe_params_big_dim(p) + 1;

        ev->pack = amaters_malloc(AMATERS_FHE_KS_BATCH * big *
                                  sizeof(uint64_t));
        ev->ks_acc = amaters_malloc(AMATERS_FHE_KS_BATCH *
                                    (p->lwe_dim + 1) * sizeof(uint32_t));
        rc = ev->pack == NULL || ev->ks_acc == NULL ? AMATERS_ENOMEM : 0;
    }
    if (rc == 0)
        rc = amaters_fhe_lut_new(p, mod_msg, &mm, &ev->lut_clean);
    if (rc == 0)
        rc = amaters_fhe_lut_new(p, div_msg, &mm, &ev->lut_carry);
    if (rc == 0)
        rc = amaters_fhe_block_init(&ev->tmp_a, p);
    if (rc == 0)
        rc = amaters_fhe_block_init(&ev->tmp_b, p);
    if (rc != 0) {
        amaters_fhe_eval_free(ev);
        return rc;
    }
    *out = ev;
    return 0;
}

int amaters_fhe_eval_new_threads(const struct amaters_fhe_server_key *sk,
                                 size_t nthreads,
                                 struct amaters_fhe_eval **out)
{
    struct amaters_fhe_eval *ev = NULL;
    int rc;

    *out = NULL;
    if (nthreads < 1 || nthreads > AMATERS_FHE_POOL_MAX)
        return AMATERS_EINVAL;
    rc = amaters_fhe_eval_new(sk, &ev);
    if (rc == 0 && nthreads > 1) {
        ev->workers = amaters_calloc(nthreads, sizeof(*ev->workers));
        rc = ev->workers == NULL ? AMATERS_ENOMEM : 0;
    }
    if (rc == 0 && nthreads > 1) {
        ev->nworkers = nthreads;
        ev->workers[0] = ev;
    }
    for (size_t i = 1; rc == 0 && i < nthreads; i++)
        rc = amaters_fhe_eval_new(sk, &ev->workers[i]);
    if (rc == 0 && nthreads > 1)
        rc = amaters_fhe_pool_new(nthreads, &ev->pool);
    if (rc != 0) {
        amaters_fhe_eval_free(ev);
        return rc;
    }
    *out = ev;
    return 0;
}

size_t amaters_fhe_eval_threads(const struct amaters_fhe_eval *ev)
{
    return amaters_fhe_pool_size(ev->pool);
}

void amaters_fhe_eval_free(struct amaters_fhe_eval *ev)
{
    if (ev == NULL)
        return;
    amaters_fhe_pool_free(ev->pool);
    for (size_t i = 1; i < ev->nworkers; i++)
        amaters_fhe_eval_free(ev->workers[i]);
    amaters_free(ev->workers);
    amaters_fhe_pbs_scratch_free(ev->sc);
    amaters_free(ev->small);
    amaters_free(ev->pack);
    amaters_free(ev->ks_acc);
    amaters_fhe_lut_free(ev->lut_clean);
    amaters_fhe_lut_free(ev->lut_carry);
    amaters_fhe_block_destroy(&ev->tmp_a);
    amaters_fhe_block_destroy(&ev->tmp_b);
    amaters_free(ev);
}

/* Degree of lut's output for inputs of degree deg: its largest value on
 * [0, deg]. */
static uint32_t lut_degree(const struct amaters_fhe_lut *lut, uint32_t deg)
{
    uint32_t out = 0;

    for (uint32_t x = 0; x <= deg && x < lut->count; x++)
        if (lut->table[x] > out)
            out = lut->table[x];
    return out;
}

/* out = lut applied to the big-key LWE in (of degree deg): key switch,
 * PBS, bookkeeping. in may be out->ct. */
static void apply_lut_ct(struct amaters_fhe_eval *ev,
                         const struct amaters_fhe_lut *lut,
                         const uint64_t *in, uint32_t deg,
                         struct amaters_fhe_block *out)
{
    amaters_fhe_keyswitch(&ev->sk->ksk, ev->small, in);
    amaters_fhe_pbs(&ev->sk->bsk, ev->sk->fft, out->ct, ev->small,
                    lut->poly, ev->sc);
    out->degree = lut_degree(lut, deg);
    out->noise_level = 1;
}

void amaters_fhe_block_apply_lut(struct amaters_fhe_eval *ev,
                                 const struct amaters_fhe_lut *lut,
                                 const struct amaters_fhe_block *in,
                                 struct amaters_fhe_block *out)
{
    apply_lut_ct(ev, lut, in->ct, in->degree, out);
}

int amaters_fhe_block_clean(struct amaters_fhe_eval *ev,
                            const struct amaters_fhe_block *in,
                            struct amaters_fhe_block *out)
{
    amaters_fhe_block_apply_lut(ev, ev->lut_clean, in, out);
    return 0;
}

int amaters_fhe_block_carry(struct amaters_fhe_eval *ev,
                            const struct amaters_fhe_block *in,
                            struct amaters_fhe_block *out)
{
    amaters_fhe_block_apply_lut(ev, ev->lut_carry, in, out);
    return 0;
}

/* Returns src, or its cleaned copy in tmp when `force` or when its degree
 * exceeds the message space (the bivariate packing needs clean operands). */
static const struct amaters_fhe_block *
clean_operand(struct amaters_fhe_eval *ev, const struct amaters_fhe_block *src,
              struct amaters_fhe_block *tmp, int force)
{
    if (!force && src->degree < src->params->message_modulus)
        return src;
    amaters_fhe_block_clean(ev, src, tmp);
    return tmp;
}

/* Jobs per window of a batch: phase 1 key-switches the window's inputs
 * in chunks of up to AMATERS_FHE_KS_BATCH (one pass over the KSK per
 * chunk), phase 2 bootstraps each job. */
#define WINDOW 64

/* One window of a batch. smalls and degs are indexed like jobs. */
struct batch {
    struct amaters_fhe_eval *ev;
    const struct amaters_fhe_pbs_job *jobs;
    size_t n, chunk;
    uint64_t *smalls;    /* n * (lwe_dim + 1): key-switched inputs */
    uint32_t *degs;      /* n: degree of each LUT input */
};

static struct amaters_fhe_eval *worker_ev(const struct batch *bt,
                                          size_t worker)
{
    return bt->ev->workers != NULL ? bt->ev->workers[worker] : bt->ev;
}

/* Points *in at the big-key LWE job j's LUT reads: a's ciphertext, or
 * a * message + b packed into ev's pack slot, and sets *deg to its
 * degree. The packed noise level a * message + b must fit the budget
 * (clean operands have level 1: message + 1 = 5 for the default set),
 * else both operands are cleaned first; so are operands of degree beyond
 * the message space. */
static int job_input(struct amaters_fhe_eval *ev,
                     const struct amaters_fhe_pbs_job *j, size_t slot,
                     const uint64_t **in, uint32_t *deg)
{
    const struct amaters_fhe_params *p = j->a->params;
    size_t dim = amaters_fhe_params_big_dim(p);
    uint32_t mm = p->message_modulus;
    const struct amaters_fhe_block *ca, *cb;
    uint64_t *dst = ev->pack + slot * (dim + 1);
    int force;

    if (j->lut->params != p || (j->b != NULL && j->b->params != p))
        return AMATERS_EINVAL;
    if (j->b == NULL) {
        *in = j->a->ct;
        *deg = j->a->degree;
        return 0;
    }
    force = (uint64_t)j->a->noise_level * mm + j->b->noise_level >
            p->max_noise_level;
    ca = clean_operand(ev, j->a, &ev->tmp_a, force);
    cb = clean_operand(ev, j->b, &ev->tmp_b, force);
    amaters_fhe_lwe_mul_scalar(dst, ca->ct, mm, dim);
    amaters_fhe_lwe_add(dst, dst, cb->ct, dim);
    *in = dst;
    *deg = ca->degree * mm + cb->degree;
    return 0;
}

int amaters_fhe_block_apply_lut2(struct amaters_fhe_eval *ev,
                                 const struct amaters_fhe_lut *lut,
                                 const struct amaters_fhe_block *a,
                                 const struct amaters_fhe_block *b,
                                 struct amaters_fhe_block *out)
{
    struct amaters_fhe_pbs_job j = {lut, a, b, out};
    const uint64_t *in = NULL;
    uint32_t deg = 0;
    int rc = job_input(ev, &j, 0, &in, &deg);

    if (rc == 0)
        apply_lut_ct(ev, lut, in, deg, out);
    return rc;
}

/* Phase 1: key-switches the inputs of chunk `item` in one KSK pass. */
static int ks_chunk_cb(void *arg, size_t item, size_t worker)
{
    const struct batch *bt = arg;
    struct amaters_fhe_eval *ev = worker_ev(bt, worker);
    size_t first = item * bt->chunk, row = ev->sk->ksk.out_dim + 1;
    size_t n = bt->n - first < bt->chunk ? bt->n - first : bt->chunk;
    const uint64_t *ins[AMATERS_FHE_KS_BATCH];
    uint64_t *outs[AMATERS_FHE_KS_BATCH];

    for (size_t k = 0; k < n; k++) {
        int rc = job_input(ev, &bt->jobs[first + k], k, &ins[k],
                           &bt->degs[first + k]);

        if (rc != 0)
            return rc;
        outs[k] = bt->smalls + (first + k) * row;
    }
    amaters_fhe_keyswitch_many(&ev->sk->ksk, outs, ins, n, ev->ks_acc);
    return 0;
}

/* Phase 2: the bootstrap of job `item`. */
static int pbs_job_cb(void *arg, size_t item, size_t worker)
{
    const struct batch *bt = arg;
    struct amaters_fhe_eval *ev = worker_ev(bt, worker);
    const struct amaters_fhe_pbs_job *j = &bt->jobs[item];
    size_t row = ev->sk->ksk.out_dim + 1;

    amaters_fhe_pbs(&ev->sk->bsk, ev->sk->fft, j->out->ct,
                    bt->smalls + item * row, j->lut->poly, ev->sc);
    j->out->degree = lut_degree(j->lut, bt->degs[item]);
    j->out->noise_level = 1;
    return 0;
}

static int run_window(struct amaters_fhe_eval *ev,
                      const struct amaters_fhe_pbs_job *jobs, size_t n,
                      uint64_t *smalls, uint32_t *degs)
{
    size_t threads = amaters_fhe_pool_size(ev->pool);
    size_t chunk = (n + threads - 1) / threads;
    struct batch bt;
    int rc;

    if (chunk > AMATERS_FHE_KS_BATCH)
        chunk = AMATERS_FHE_KS_BATCH;
    bt = (struct batch){ev, jobs, n, chunk, smalls, degs};
    rc = amaters_fhe_pool_run(ev->pool, ks_chunk_cb, &bt,
                              (n + chunk - 1) / chunk);
    if (rc == 0)
        rc = amaters_fhe_pool_run(ev->pool, pbs_job_cb, &bt, n);
    return rc;
}

int amaters_fhe_block_apply_batch(struct amaters_fhe_eval *ev,
                                  const struct amaters_fhe_pbs_job *jobs,
                                  size_t n)
{
    size_t w = n < WINDOW ? n : WINDOW;
    size_t row = ev->sk->ksk.out_dim + 1;
    uint64_t *smalls;
    uint32_t *degs;
    int rc = 0;

    if (n == 0)
        return 0;
    smalls = amaters_malloc(w * row * sizeof(uint64_t));
    degs = amaters_malloc(w * sizeof(uint32_t));
    if (smalls == NULL || degs == NULL)
        rc = AMATERS_ENOMEM;
    for (size_t at = 0; rc == 0 && at < n; at += w)
        rc = run_window(ev, jobs + at, n - at < w ? n - at : w, smalls,
                        degs);
    amaters_free(smalls);
    amaters_free(degs);
    return rc;
}
