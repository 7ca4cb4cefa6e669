/*
 * fhe_cli_eval.c - the eval and bench verbs of amaters-fhe: one operation
 * on ciphertext files, and timings of one KS-PBS (single thread) and of
 * every integer operation for every width on a pool of N threads,
 * printed as name=value lines (each result is also decrypted and checked
 * against the clear computation; errors= counts mismatches).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "fhe/fft.h"
#include "fhe/fhe_cli.h"
#include "fhe/keyswitch.h"
#include "fhe/rng.h"
#include "fhe/serial.h"

/* Operations of eval and bench. Boolean (one-block) operands use the
 * boolean and / or / not. */
enum cli_opcode {
    OP_ADD, OP_SUB, OP_MUL, OP_MIN, OP_MAX, OP_AND, OP_OR, OP_XOR,
    OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_NOT, OP_NEG,
    OP_SADD, OP_SSUB, OP_SMUL, OP_SELECT,
};

static const struct cli_op {
    const char *name;
    enum cli_opcode code;
    int arity;         /* encrypted operands */
    int cli;           /* offered by eval */
} cli_ops[] = {
    {"add", OP_ADD, 2, 1}, {"sub", OP_SUB, 2, 1}, {"neg", OP_NEG, 1, 1},
    {"scalar_add", OP_SADD, 1, 0}, {"scalar_sub", OP_SSUB, 1, 0},
    {"scalar_mul", OP_SMUL, 1, 0}, {"mul", OP_MUL, 2, 1},
    {"eq", OP_EQ, 2, 1}, {"ne", OP_NE, 2, 1}, {"lt", OP_LT, 2, 1},
    {"le", OP_LE, 2, 1}, {"gt", OP_GT, 2, 1}, {"ge", OP_GE, 2, 1},
    {"select", OP_SELECT, 2, 0}, {"and", OP_AND, 2, 1},
    {"or", OP_OR, 2, 1}, {"xor", OP_XOR, 2, 1}, {"not", OP_NOT, 1, 1},
    {"min", OP_MIN, 2, 1}, {"max", OP_MAX, 2, 1},
};

#define NOPS (sizeof(cli_ops) / sizeof(cli_ops[0]))
#define SCALAR 0x9e3779b97f4a7c15ull   /* public operand of scalar ops */

static int is_cmp(enum cli_opcode c)
{
    return c >= OP_EQ && c <= OP_GE;
}

/* and / or / xor / not of one-block (bool) operands. not needs a clean
 * bool (degree <= 1): it is the linear 1 - x. */
static int bool_op(struct amaters_fhe_eval *ev, enum cli_opcode c,
                   const struct amaters_fhe_radix *a,
                   const struct amaters_fhe_radix *b,
                   struct amaters_fhe_radix *out)
{
    const struct amaters_fhe_block *x = &a->blocks[0];
    int rc;

    switch (c) {
    case OP_AND:
        return amaters_fhe_bool_and(ev, x, &b->blocks[0], &out->blocks[0]);
    case OP_OR:
        return amaters_fhe_bool_or(ev, x, &b->blocks[0], &out->blocks[0]);
    case OP_XOR:
        rc = amaters_fhe_radix_bitop(ev, AMATERS_FHE_XOR, a, b, out);
        /* the bitwise LUT bounds its output by 3; the xor of two values
         * in {0, 1} is in {0, 1}, so a later not can use it (the
         * ciphertext is unchanged, only the public bound) */
        if (rc == 0 && x->degree <= 1 && b->blocks[0].degree <= 1)
            out->blocks[0].degree = 1;
        return rc;
    default:
        if (x->degree > 1)
            return AMATERS_EINVAL;
        amaters_fhe_block_copy(&out->blocks[0], x);
        amaters_fhe_bool_not(&out->blocks[0]);
        return 0;
    }
}

/* out (initialized here; caller destroys) = op(a, b); cond is the
 * condition of select (bench only). */
static int apply_op(struct amaters_fhe_eval *ev, enum cli_opcode c,
                    const struct amaters_fhe_radix *a,
                    const struct amaters_fhe_radix *b,
                    const struct amaters_fhe_block *cond,
                    struct amaters_fhe_radix *out)
{
    static const enum amaters_fhe_cmp cmps[] = {
        AMATERS_FHE_EQ, AMATERS_FHE_NE, AMATERS_FHE_LT,
        AMATERS_FHE_LE, AMATERS_FHE_GT, AMATERS_FHE_GE};
    int rc = amaters_fhe_radix_init(out, a->params,
                                    is_cmp(c) ? 1 : a->nblocks);

    if (rc != 0)
        return rc;
    if (b != NULL && !amaters_fhe_radix_same_shape(a, b))
        return AMATERS_EINVAL;
    if (a->nblocks == 1 && (c == OP_AND || c == OP_OR || c == OP_XOR ||
                            c == OP_NOT))
        return bool_op(ev, c, a, b, out);
    switch (c) {
    case OP_ADD: return amaters_fhe_radix_add(ev, a, b, out);
    case OP_SUB: return amaters_fhe_radix_sub(ev, a, b, out);
    case OP_MUL: return amaters_fhe_radix_mul(ev, a, b, out);
    case OP_MIN: return amaters_fhe_radix_min(ev, a, b, out);
    case OP_MAX: return amaters_fhe_radix_max(ev, a, b, out);
    case OP_AND:
        return amaters_fhe_radix_bitop(ev, AMATERS_FHE_AND, a, b, out);
    case OP_OR: return amaters_fhe_radix_bitop(ev, AMATERS_FHE_OR, a, b, out);
    case OP_XOR:
        return amaters_fhe_radix_bitop(ev, AMATERS_FHE_XOR, a, b, out);
    case OP_NOT: return amaters_fhe_radix_bitnot(a, out);
    case OP_NEG: return amaters_fhe_radix_neg(ev, a, out);
    case OP_SADD: return amaters_fhe_radix_add_scalar(ev, a, SCALAR, out);
    case OP_SSUB: return amaters_fhe_radix_sub_scalar(ev, a, SCALAR, out);
    case OP_SMUL: return amaters_fhe_radix_mul_scalar(ev, a, SCALAR, out);
    case OP_SELECT:
        return cond == NULL ? AMATERS_EINVAL
                            : amaters_fhe_radix_select(ev, cond, a, b, out);
    default:
        return amaters_fhe_radix_cmp(ev, cmps[c - OP_EQ], a, b,
                                     &out->blocks[0]);
    }
}

/* The clear result of apply_op for w-bit operands (select: b & 1). */
static uint64_t clear_op(enum cli_opcode c, uint64_t a, uint64_t b,
                         unsigned w)
{
    uint64_t m = w >= 64 ? ~0ull : (1ull << w) - 1, r;

    switch (c) {
    case OP_ADD: r = a + b; break;
    case OP_SUB: r = a - b; break;
    case OP_MUL: r = a * b; break;
    case OP_MIN: r = a < b ? a : b; break;
    case OP_MAX: r = a < b ? b : a; break;
    case OP_AND: r = a & b; break;
    case OP_OR: r = a | b; break;
    case OP_XOR: r = a ^ b; break;
    case OP_NOT: r = ~a; break;
    case OP_NEG: r = 0 - a; break;
    case OP_SADD: r = a + SCALAR; break;
    case OP_SSUB: r = a - SCALAR; break;
    case OP_SMUL: r = a * SCALAR; break;
    case OP_SELECT: r = (b & 1) ? a : b; break;
    case OP_EQ: r = a == b; break;
    case OP_NE: r = a != b; break;
    case OP_LT: r = a < b; break;
    case OP_LE: r = a <= b; break;
    case OP_GT: r = a > b; break;
    default: r = a >= b; break;
    }
    return r & m;
}

/* Decodes the ciphertext file path into r and its key id into id (the
 * caller compares it with the server key's once that is loaded). */
static int load_ct(const char *path, struct amaters_fhe_radix *r,
                   uint8_t id[16])
{
    struct amaters_fhe_header h;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = cli_load(path, CLI_WANT_CT, &buf, &len, &h);

    if (rc == 0)
        memcpy(id, h.key_id, 16);
    if (rc == 0)
        rc = cli_decode_ct(path, buf, len, r);
    amaters_free(buf);
    return rc;
}

/* Checks that the ciphertext path (key id ct_id) belongs to the server
 * key at key_path, whose key id is id. */
static int check_key_id(const char *path, const uint8_t ct_id[16],
                        const char *key_path, const uint8_t id[16])
{
    char want[33], got[33];

    if (memcmp(ct_id, id, 16) == 0)
        return 0;
    cli_hex_id(ct_id, got);
    cli_hex_id(id, want);
    return cli_fail(AMATERS_EBADKEY, "%s was encrypted under another key "
                    "(key id %s, %s has %s)", path, got, key_path, want);
}

static int load_server(const char *path, struct amaters_fhe_server_key **sk,
                       uint8_t id[16])
{
    struct amaters_fhe_server_key_compressed *c = NULL;
    struct amaters_fhe_header h;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = cli_load(path, CLI_WANT_SERVER_KEY, &buf, &len, &h);

    if (rc == 0)
        rc = cli_decode_server_key(path, buf, len, &c);
    if (rc == 0)
        rc = amaters_fhe_key_id(c, id);
    if (rc == 0)
        rc = amaters_fhe_server_key_decompress(c, sk);
    if (rc != 0 && c != NULL)
        rc = cli_fail(rc, "cannot expand server key %s: %s", path,
                      amaters_strerror(rc));
    amaters_fhe_server_key_compressed_free(c);
    amaters_free(buf);
    return rc;
}

/* Width of a decoded operand for messages: "bool (1 block)" or
 * "u8 (4 blocks)". */
static const char *width_name(const struct amaters_fhe_radix *r,
                              char buf[32])
{
    if (r->nblocks == 1)
        return "bool (1 block)";
    snprintf(buf, 32, "u%zu (%zu blocks)", 2 * r->nblocks, r->nblocks);
    return buf;
}

/* The operation named s among those eval offers, or a usage error. */
static int find_op(const char *s, const struct cli_op **op)
{
    char list[128] = "";

    for (size_t i = 0; i < NOPS; i++)
        if (cli_ops[i].cli && strcmp(s, cli_ops[i].name) == 0) {
            *op = &cli_ops[i];
            return 0;
        }
    for (size_t i = 0; i < NOPS; i++)
        if (cli_ops[i].cli) {
            strncat(list, " ", sizeof(list) - strlen(list) - 1);
            strncat(list, cli_ops[i].name, sizeof(list) - strlen(list) - 1);
        }
    return cli_usage_error("unknown operation '%s' (expected one of:%s)", s,
                           list);
}

/* Checks the operands of op can be combined. */
static int check_operands(const struct cli_op *op, const struct cli_args *a,
                          const struct amaters_fhe_radix *x,
                          const struct amaters_fhe_radix *y)
{
    char wx[32], wy[32];

    /* one block is a bool: arithmetic on it would wrap modulo 4 and
     * decrypt to values that are not bools */
    if (x->nblocks == 1 && (op->code == OP_ADD || op->code == OP_SUB ||
                            op->code == OP_MUL || op->code == OP_NEG))
        return cli_fail(AMATERS_EINVAL, "%s is not defined on bool (%s is "
                        "a bool); bools take and, or, xor, not, eq, ne, lt, "
                        "le, gt, ge, min, max", op->name, a->pos[1]);
    /* not on a bool is 1 - x: exact only for x in {0, 1} */
    if (x->nblocks == 1 && op->code == OP_NOT && x->blocks[0].degree > 1)
        return cli_fail(AMATERS_EINVAL, "not: %s is not a clean bool (block "
                        "degree %u)", a->pos[1], x->blocks[0].degree);
    if (op->arity == 2 && x->nblocks != y->nblocks)
        return cli_fail(AMATERS_EINVAL, "%s: operands differ in width: %s "
                        "is %s, %s is %s", op->name, a->pos[1],
                        width_name(x, wx), a->pos[2], width_name(y, wy));
    if (op->arity == 2 && x->params != y->params)
        return cli_fail(AMATERS_EINVAL, "%s: operands use different "
                        "parameter sets (%s: %s, %s: %s)", op->name,
                        a->pos[1], x->params->name, a->pos[2],
                        y->params->name);
    return 0;
}

int cli_eval(const struct cli_args *a)
{
    const struct cli_op *op = NULL;
    struct amaters_fhe_server_key *sk = NULL;
    struct amaters_fhe_eval *ev = NULL;
    struct amaters_fhe_radix x = {0}, y = {0}, res = {0};
    uint8_t id[16], xid[16], yid[16], *buf = NULL;
    size_t len = 0, nthreads;
    int rc;

    if (a->npos == 0)
        return cli_usage_error("eval needs an operation and its "
                               "ciphertexts");
    rc = find_op(a->pos[0], &op);
    if (rc == 0 && a->npos != (size_t)op->arity + 1)
        rc = cli_usage_error("eval %s takes %d ciphertext%s, got %zu",
                             op->name, op->arity, op->arity == 1 ? "" : "s",
                             a->npos - 1);
    if (rc == 0 && a->key == NULL)
        rc = cli_usage_error("eval needs --key SERVER_KEY");
    if (rc == 0)
        rc = cli_threads(a, &nthreads);
    if (rc == 0)
        rc = cli_stdout_not_tty();
    /* the operands first: they are small, the server key is 27 MB */
    if (rc == 0)
        rc = load_ct(a->pos[1], &x, xid);
    if (rc == 0 && op->arity == 2)
        rc = load_ct(a->pos[2], &y, yid);
    if (rc == 0)
        rc = check_operands(op, a, &x, &y);
    if (rc == 0)
        rc = load_server(a->key, &sk, id);
    if (rc == 0)
        rc = check_key_id(a->pos[1], xid, a->key, id);
    if (rc == 0 && op->arity == 2)
        rc = check_key_id(a->pos[2], yid, a->key, id);
    if (rc == 0 && amaters_fhe_eval_new_threads(sk, nthreads, &ev) != 0)
        rc = cli_fail(AMATERS_ENOMEM, "cannot start %zu evaluation "
                      "threads", nthreads);
    if (rc == 0) {
        rc = apply_op(ev, op->code, &x, op->arity == 2 ? &y : NULL, NULL,
                      &res);
        if (rc != 0)
            rc = cli_fail(rc, "eval %s failed: %s", op->name,
                          amaters_strerror(rc));
    }
    if (rc == 0) {
        rc = amaters_fhe_encode_radix(&res, id, &buf, &len);
        if (rc != 0)
            rc = cli_fail(rc, "cannot encode the result: %s",
                          amaters_strerror(rc));
    }
    if (rc == 0)
        rc = cli_write_stdout(buf, len);
    amaters_free(buf);
    amaters_fhe_radix_destroy(&res);
    amaters_fhe_radix_destroy(&x);
    amaters_fhe_radix_destroy(&y);
    amaters_fhe_eval_free(ev);
    amaters_fhe_server_key_free(sk);
    return rc;
}

static double clock_s(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ks_ms, pbs_ms, ks_pbs_ms (thread CPU time, one thread, mean of reps),
 * the FFT pair time and the FFT and key-switch shares of a KS-PBS. */
static int bench_pbs(const struct amaters_fhe_server_key *sk,
                     struct amaters_fhe_client_key *ck, int reps)
{
    const struct amaters_fhe_params *p = sk->params;
    struct amaters_fhe_eval *ev = NULL;
    struct amaters_fhe_block b = {0};
    double t0, tks = 0, tpbs = 0, tfft, per_pbs;
    double *buf = NULL;
    int rc = amaters_fhe_eval_new(sk, &ev);

    if (rc == 0)
        rc = amaters_fhe_block_init(&b, p);
    if (rc == 0)
        rc = amaters_fhe_block_encrypt(ck, 2, &b);
    for (int i = 0; rc == 0 && i < reps; i++) {
        t0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
        amaters_fhe_keyswitch(&sk->ksk, ev->small, b.ct);
        tks += clock_s(CLOCK_THREAD_CPUTIME_ID) - t0;
        t0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
        amaters_fhe_pbs(&sk->bsk, sk->fft, b.ct, ev->small,
                        ev->lut_clean->poly, ev->sc);
        tpbs += clock_s(CLOCK_THREAD_CPUTIME_ID) - t0;
    }
    if (rc == 0) {
        buf = amaters_malloc(p->poly_size * sizeof(double));
        rc = buf == NULL ? AMATERS_ENOMEM : 0;
    }
    if (rc == 0) {
        t0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
        for (int i = 0; i < 1000; i++) {
            amaters_fhe_fft_forward_torus(sk->fft, buf, ev->sc->acc);
            amaters_fhe_fft_backward_add_torus(sk->fft, ev->sc->acc, buf);
        }
        tfft = (clock_s(CLOCK_THREAD_CPUTIME_ID) - t0) / 1000;
        per_pbs = (tks + tpbs) / reps;
        /* a CMUX transforms (k+1) l digits and inverts k+1 polynomials */
        printf("ks_ms=%.2f\npbs_ms=%.2f\nks_pbs_ms=%.2f\nfft_pair_us=%.2f\n"
               "fft_share_pct=%.0f\nks_share_pct=%.0f\n",
               tks / reps * 1e3, tpbs / reps * 1e3, per_pbs * 1e3,
               tfft * 1e6,
               100.0 * tfft * p->lwe_dim * (p->glwe_dim + 1) *
                   p->pbs_level / per_pbs,
               100.0 * tks / reps / per_pbs);
    }
    amaters_free(buf);
    amaters_fhe_block_destroy(&b);
    amaters_fhe_eval_free(ev);
    return rc;
}

/* Times every operation of cli_ops on random w-bit operands (bool: the
 * boolean and / or / xor / not) and checks each result; *errors counts
 * mismatches. */
static int bench_type(struct amaters_fhe_eval *ev,
                      struct amaters_fhe_client_key *ck,
                      struct amaters_fhe_rng *rng, const char *tname,
                      unsigned w, int *errors)
{
    const struct amaters_fhe_params *p = ck->params;
    struct amaters_fhe_radix x = {0}, y = {0}, res = {0};
    struct amaters_fhe_block cond = {0};
    size_t nblocks = w == 1 ? 1 : w / 2;
    uint64_t m = w >= 64 ? ~0ull : (1ull << w) - 1, got;
    uint64_t va = amaters_fhe_rng_u64(rng) & m;
    uint64_t vb = amaters_fhe_rng_u64(rng) & m;
    int rc = amaters_fhe_rng_error(rng);

    if (rc == 0)
        rc = amaters_fhe_radix_init(&x, p, nblocks);
    if (rc == 0)
        rc = amaters_fhe_radix_init(&y, p, nblocks);
    if (rc == 0)
        rc = amaters_fhe_radix_encrypt(ck, va, &x);
    if (rc == 0)
        rc = amaters_fhe_radix_encrypt(ck, vb, &y);
    if (rc == 0)
        rc = amaters_fhe_block_init(&cond, p);
    if (rc == 0)
        rc = amaters_fhe_block_encrypt(ck, (uint32_t)(vb & 1), &cond);
    cond.degree = 1;               /* the client knows it is a bool */
    if (rc == 0 && w == 1) {
        x.blocks[0].degree = 1;
        y.blocks[0].degree = 1;
    }
    for (size_t i = 0; rc == 0 && i < NOPS; i++) {
        enum cli_opcode c = cli_ops[i].code;
        double t0;

        if (w == 1 && c != OP_AND && c != OP_OR && c != OP_XOR &&
            c != OP_NOT)
            continue;
        t0 = clock_s(CLOCK_MONOTONIC);
        rc = apply_op(ev, c, &x, &y, &cond, &res);
        if (rc == 0)
            printf("%s_%s_ms=%.1f\n", cli_ops[i].name, tname,
                   (clock_s(CLOCK_MONOTONIC) - t0) * 1e3);
        if (rc == 0)
            rc = amaters_fhe_radix_decrypt(ck, &res, &got);
        if (rc == 0 && got != clear_op(c, va, vb, is_cmp(c) ? 1 : w)) {
            fprintf(stderr, "bench: %s_%s wrong: %llu\n", cli_ops[i].name,
                    tname, (unsigned long long)got);
            (*errors)++;
        }
        amaters_fhe_radix_destroy(&res);
        fflush(stdout);
    }
    amaters_fhe_block_destroy(&cond);
    amaters_fhe_radix_destroy(&x);
    amaters_fhe_radix_destroy(&y);
    return rc;
}

/* Makes fresh keys, then times and checks every type (or only --type);
 * *errors counts wrong results. Errors are not reported here. */
static int bench_run(const struct cli_args *a, size_t nthreads,
                     int *errors)
{
    static const struct {
        const char *name;
        unsigned bits;
    } types[] = {{"bool", 1}, {"u8", 8}, {"u16", 16}, {"u32", 32},
                 {"u64", 64}};
    const struct amaters_fhe_params *p = &amaters_fhe_param_msg2_carry2;
    struct amaters_fhe_client_key *ck = NULL;
    struct amaters_fhe_server_key *sk = NULL;
    struct amaters_fhe_eval *ev = NULL;
    struct amaters_fhe_rng rng;
    int rc, have_rng = 0;
    double t0 = clock_s(CLOCK_MONOTONIC);

    rc = amaters_fhe_client_key_new(p, NULL, &ck);
    if (rc == 0)
        rc = amaters_fhe_server_key_new(ck, NULL, &sk);
    if (rc == 0)
        printf("params=%s\nthreads=%zu\nfft=%s\nkeygen_ms=%.0f\n", p->name,
               nthreads, amaters_fhe_fft_impl_name(sk->fft),
               (clock_s(CLOCK_MONOTONIC) - t0) * 1e3);
    if (rc == 0)
        rc = bench_pbs(sk, ck, 20);
    if (rc == 0)
        rc = amaters_fhe_eval_new_threads(sk, nthreads, &ev);
    if (rc == 0)
        rc = amaters_fhe_rng_init_os(&rng, 0);
    have_rng = rc == 0;
    for (size_t i = 0; rc == 0 && i < sizeof(types) / sizeof(types[0]);
         i++)
        if (a->type == NULL || strcmp(a->type, types[i].name) == 0)
            rc = bench_type(ev, ck, &rng, types[i].name, types[i].bits,
                            errors);
    if (have_rng)
        amaters_fhe_rng_destroy(&rng);
    amaters_fhe_eval_free(ev);
    amaters_fhe_server_key_free(sk);
    amaters_fhe_client_key_free(ck);
    return rc;
}

int cli_bench(const struct cli_args *a)
{
    size_t nthreads = 1;
    unsigned bits = 0;
    int errors = 0;
    int rc = cli_threads(a, &nthreads);

    if (rc == 0 && a->type != NULL)
        rc = cli_type(a->type, &bits);
    if (rc != 0)
        return rc;
    rc = bench_run(a, nthreads, &errors);
    if (rc != 0)
        return cli_fail(rc, "bench failed: %s", amaters_strerror(rc));
    printf("errors=%d\n", errors);
    if (errors != 0)
        rc = cli_fail(AMATERS_EINTERNAL, "bench: %d result%s did not match "
                      "the clear computation", errors,
                      errors == 1 ? "" : "s");
    return rc;
}
