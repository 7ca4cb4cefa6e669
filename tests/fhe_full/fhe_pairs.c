/*
 * fhe_pairs.c - amaters-fhe-pairs: the full FHE integer correctness count
 * (make fhe-test-full) as a resumable, interruptible run.
 *
 * Work items are (op, width, index): for every width (bool, u8, u16, u32,
 * u64, cheapest first) and operation (cheap ones first, scalar_mul and
 * mul last) the ten edge pairs of fhe_ops_table.h, then --pairs random
 * pairs whose operands are SHA-256 of (key seed, op name, width, index),
 * so any item can be recomputed on its own; booleans are the four input
 * combinations of and / or / xor / not. Each result is checked against
 * the clear computation of fhe_ops_table.h (the one test_fhe_int uses).
 *
 * T worker threads each own a single-thread evaluation context over one
 * shared server key (keys.h: a server key may be shared by any number of
 * threads); encryption is serialized on the client key's mutex,
 * decryption is read only. Every finished item is appended to the
 * journal (fhe_pairs_journal.c) as one line with a single write(), so
 * kill -9 loses only the items in flight (fdatasync at most every two
 * seconds bounds what a power loss costs); a rerun skips what the
 * journal holds. SIGSTOP / SIGCONT pause
 * and resume (the ms column is the thread CPU time of the evaluation, so
 * pauses do not distort it). This file: the worker threads, progress
 * reports (every 30 s on stderr), --summary, options and main.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "core/timeutil.h"
#include "fhe/pool.h"
#include "fhe_pairs.h"

/* Cheapest first within a width (bool uses the and / or / xor / not). */
static const enum fhe_op op_order[NOPS] = {
    NOT, AND, OR, XOR, SELECT, EQ, NE, LT, LE, GT, GE, ADD, SUB, NEG, SADD,
    SSUB, MIN, MAX, SMUL, MUL,
};

/* CPU time of the calling thread in microseconds. */
static uint64_t cpu_us_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- evaluation ------------------------------------------------------ */

/* Evaluates one item on ev; fills the clear values, the result text and
 * the thread CPU time. Returns 0 when the item ran (correct or not), or
 * an AMATERS_E* code when the operands could not even be prepared. */
static int eval_item(struct runner *r, struct amaters_fhe_eval *ev,
                     const struct item *it, uint64_t v[3], char got[32],
                     int *fail, double *ms)
{
    enum fhe_op op = (enum fhe_op)it->op;
    unsigned w = fp_widths[it->wi];
    struct fhe_case c;
    uint64_t t0, res = 0;
    int rc;

    memset(&c, 0, sizeof(c));
    rc = fp_operands(r, op, w, it->index, &v[0], &v[1]);
    if (rc == 0)
        rc = fhe_case_init(&c, r->p, op, w);
    if (rc != 0)
        goto out;
    v[2] = expect(op, v[0], v[1], w);
    pthread_mutex_lock(&r->ck_mu);
    rc = fhe_case_encrypt(&c, r->ck, w, v[0], v[1]);
    pthread_mutex_unlock(&r->ck_mu);
    if (rc != 0)
        goto out;
    t0 = cpu_us_now();
    rc = fhe_case_run(ev, op, w, &c, v[1]);
    *ms = (double)(cpu_us_now() - t0) / 1000.0;
    if (rc == 0)
        rc = fhe_case_decrypt(r->ck, &c, &res);
    if (rc == 0)
        snprintf(got, 32, "%" PRIu64, res);
    else
        snprintf(got, 32, "error:%s", amaters_errname(rc));
    *fail = rc != 0 || res != v[2];
    rc = 0;
out:
    fhe_case_destroy(&c);
    return rc;
}

struct worker {
    struct runner *r;
    size_t id;
    pthread_t tid;
};

static void *worker_main(void *arg)
{
    struct worker *wk = arg;
    struct runner *r = wk->r;
    struct amaters_fhe_eval *ev = NULL;
    int rc = amaters_fhe_eval_new_threads(r->sk, 1, &ev);

    pthread_mutex_lock(&r->mu);
    if (rc != 0)
        r->err = rc;
    while (rc == 0 && !r->stop && r->next < r->nqueue) {
        struct item it = r->queue[r->next++];
        uint64_t v[3];
        char got[32];
        double ms = 0;
        int fail = 0;

        r->active[wk->id] = it;
        pthread_mutex_unlock(&r->mu);
        rc = eval_item(r, ev, &it, v, got, &fail, &ms);
        pthread_mutex_lock(&r->mu);
        r->active[wk->id].op = NOPS;
        if (rc != 0) {
            r->err = rc;
            r->stop = 1;
            break;
        }
        fp_record(r, &it, fail, ms);
        r->session_done++;
        r->session_ms += ms;
        fp_journal_append(r, &it, v[0], v[1], v[2], got, fail, ms);
        if (fail)
            fprintf(stderr, "FAIL %s %s #%" PRIu32 " (%" PRIu64 ", %" PRIu64
                    "): expected %" PRIu64 ", got %s\n", op_names[it.op],
                    fp_wname(it.wi), it.index, v[0], v[1], v[2], got);
    }
    r->running--;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    amaters_fhe_eval_free(ev);
    return NULL;
}

/* Rough single-thread cost in ms of one item of a group no item of which
 * has been measured yet (14 ms per PBS, PBS counts of n blocks: mul
 * 1.75 n^2, scalar mul by a random scalar 0.63 n^2; see
 * docs/internals/fhe.md). */
static double guess_ms(enum fhe_op op, unsigned w)
{
    double n = w == 1 ? 1 : w / 2.0;

    switch (op) {
    case NOT: return 0.1;
    case MUL: return 14 * 1.75 * n * n;
    case SMUL: return 14 * 0.63 * n * n;
    case MIN: case MAX: return 14 * 2.4 * n;
    case AND: case OR: case XOR: return 14 * n;
    case EQ: case NE: case LT: case LE: case GT: case GE:
        return 14 * 1.3 * n;
    default: return 14 * 2 * n;
    }
}

/* Estimated CPU ms still to spend on the selected items (mu held). */
static double remaining_ms(const struct runner *r, size_t *todo)
{
    double sum = 0;

    *todo = 0;
    for (size_t wi = 0; wi < NW; wi++) {
        for (int op = 0; op < NOPS; op++) {
            const struct group *g = &r->groups[wi][op];
            size_t done = g->edge_done + g->rand_done;
            size_t left = fp_group_items(r, wi) - done;

            if (!fp_selected(r, wi, (enum fhe_op)op))
                continue;
            *todo += left;
            sum += (double)left * (done > 0 ? g->ms_sum / (double)done
                                   : guess_ms((enum fhe_op)op, fp_widths[wi]));
        }
    }
    return sum;
}

static size_t total_fails(const struct runner *r)
{
    size_t f = 0;

    for (size_t wi = 0; wi < NW; wi++) {
        for (int op = 0; op < NOPS; op++) {
            if (fp_selected(r, wi, (enum fhe_op)op))
                f += r->groups[wi][op].fails;
        }
    }
    return f;
}

/* One progress report to stderr (mu held). */
static void progress(struct runner *r)
{
    double wall = (double)(amaters_now_ms() - r->start_ms) / 1000.0;
    double rate_cpu = wall > 0 ? r->session_ms / wall : 0, eta;
    size_t todo;
    double left = remaining_ms(r, &todo);

    if (rate_cpu <= 0)
        rate_cpu = 1000.0 * (double)r->threads;
    eta = left / rate_cpu;
    fprintf(stderr, "fhe-pairs: %zu done this session (%.2f items/s), %zu "
            "left, %zu failures, ETA %ldh%02ldm%02lds\n", r->session_done,
            wall > 0 ? (double)r->session_done / wall : 0.0, todo,
            total_fails(r), (long)(eta / 3600), (long)eta / 60 % 60,
            (long)eta % 60);
    for (size_t t = 0; t < r->threads; t++) {
        const struct item *it = &r->active[t];
        const struct group *g;

        if (it->op == NOPS)
            continue;
        g = &r->groups[it->wi][it->op];
        fprintf(stderr, "  worker %zu: %s %s item %" PRIu32 ", group %u/%zu "
                "done\n", t, op_names[it->op], fp_wname(it->wi), it->index,
                g->edge_done + g->rand_done, fp_group_items(r, it->wi));
    }
}

/* Queues every selected item the journal does not hold, in cost order.
 * Returns 0 or AMATERS_ENOMEM. */
static int build_queue(struct runner *r)
{
    size_t cap = 0;

    for (size_t wi = 0; wi < NW; wi++)
        cap += NOPS * fp_group_items(r, wi);
    r->queue = amaters_calloc(cap, sizeof(*r->queue));
    if (r->queue == NULL)
        return AMATERS_ENOMEM;
    for (size_t wi = 0; wi < NW; wi++) {
        for (int k = 0; k < NOPS; k++) {
            enum fhe_op op = op_order[k];

            if (!fp_selected(r, wi, op))
                continue;
            for (size_t i = 0; i < fp_group_items(r, wi); i++) {
                if (r->status[fp_slot(r, wi, op, i)] != 0)
                    continue;
                r->queue[r->nqueue].op = (uint8_t)op;
                r->queue[r->nqueue].wi = (uint8_t)wi;
                r->queue[r->nqueue++].index = (uint32_t)i;
            }
        }
    }
    return 0;
}

static int make_keys(struct runner *r)
{
    uint8_t sseed[16];
    int rc;

    r->p = &amaters_fhe_param_msg2_carry2;
    rc = amaters_fhe_client_key_new(r->p, r->seed, &r->ck);
    memcpy(sseed, r->seed, 16);
    sseed[0] = (uint8_t)(sseed[0] + 1);      /* as fhe_keys_fixture.h */
    if (rc == 0)
        rc = amaters_fhe_server_key_new(r->ck, sseed, &r->sk);
    return rc;
}

/* Starts the workers and reports progress until they finish. */
static int run_workers(struct runner *r)
{
    struct worker *wk = amaters_calloc(r->threads, sizeof(*wk));
    pthread_condattr_t ca;
    size_t started = 0;

    if (wk == NULL)
        return AMATERS_ENOMEM;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    r->start_ms = r->last_sync_ms = amaters_now_ms();
    pthread_mutex_lock(&r->mu);
    for (size_t t = 0; t < r->threads; t++) {
        wk[t].r = r;
        wk[t].id = t;
        r->active[t].op = NOPS;
        if (pthread_create(&wk[t].tid, NULL, worker_main, &wk[t]) != 0) {
            r->err = AMATERS_EINTERNAL;
            break;
        }
        started++;
        r->running++;
    }
    while (r->running > 0) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += PROGRESS_S;
        if (pthread_cond_timedwait(&r->cv, &r->mu, &ts) == ETIMEDOUT)
            progress(r);
    }
    progress(r);
    pthread_mutex_unlock(&r->mu);
    for (size_t t = 0; t < started; t++)
        pthread_join(wk[t].tid, NULL);
    pthread_cond_destroy(&r->cv);
    amaters_free(wk);
    if (fdatasync(r->fd) != 0 && r->err == 0)
        r->err = AMATERS_EIO;
    return r->err;
}

/* ---- summary --------------------------------------------------------- */

/* Prints the per (op, width) table of the selected groups. Returns 0
 * (complete, no failure), EXIT_FAIL or EXIT_INCOMPLETE. */
static int summary(const struct runner *r)
{
    size_t done = 0, total = 0, fails = 0;

    printf("%-11s %-5s %9s %15s %6s\n", "op", "width", "edge", "random",
           "fail");
    for (size_t wi = 0; wi < NW; wi++) {
        for (int k = 0; k < NOPS; k++) {
            enum fhe_op op = op_order[k];
            const struct group *g = &r->groups[wi][op];
            char edge[24], rnd[24];

            if (!fp_selected(r, wi, op))
                continue;
            snprintf(edge, sizeof edge, "%u/%zu", g->edge_done,
                     fp_widths[wi] == 1 ? (size_t)4 : (size_t)NEDGES);
            if (fp_widths[wi] == 1)
                snprintf(rnd, sizeof rnd, "-");
            else
                snprintf(rnd, sizeof rnd, "%u/%ld", g->rand_done, r->pairs);
            printf("%-11s %-5s %9s %15s %6u\n", op_names[op], fp_wname(wi),
                   edge, rnd, g->fails);
            done += g->edge_done + g->rand_done;
            total += fp_group_items(r, wi);
            fails += g->fails;
        }
    }
    printf("total: %zu/%zu items, %zu failures: %s\n", done, total, fails,
           fails > 0 ? "FAILED" : done < total ? "INCOMPLETE" : "COMPLETE");
    return fails > 0 ? EXIT_FAIL : done < total ? EXIT_INCOMPLETE : 0;
}

/* ---- options --------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
"usage: amaters-fhe-pairs --journal FILE [--pairs N] [--ops LIST]\n"
"           [--widths LIST] [--threads T] [--seed HEX32] [--summary]\n"
"Checks every FHE integer op x width on 10 edge pairs + N random pairs\n"
"(default 2000) and booleans on all 4 inputs, appending each result to\n"
"FILE; rerun to continue; kill -STOP / -CONT to pause.\n"
"  --ops      comma list of op names (default all)\n"
"  --widths   comma list of bool,8,16,32,64 (default all)\n"
"  --threads  parallel single-thread contexts (default 2)\n"
"  --seed     key seed, 32 hex digits (default 71 x 16)\n"
"  --summary  print the journal's table; exit 0 complete, 1 failure,\n"
"             3 incomplete\n"
"exit: 0 all done and correct, 1 a failure, 2 usage, 4 I/O or FHE error\n");
}

/* Parses a comma list into a bit mask of indexes found by lookup. */
static int parse_list(const char *arg, int (*lookup)(const char *),
                      unsigned *mask)
{
    char buf[256], *save = NULL, *tok;

    if (snprintf(buf, sizeof buf, "%s", arg) >= (int)sizeof buf)
        return -1;
    *mask = 0;
    for (tok = strtok_r(buf, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        int i = lookup(tok);

        if (i < 0) {
            fprintf(stderr, "unknown name \"%s\"\n", tok);
            return -1;
        }
        *mask |= 1u << i;
    }
    return *mask == 0 ? -1 : 0;
}

static int op_lookup(const char *s)
{
    enum fhe_op op = fhe_op_by_name(s);

    return op == NOPS ? -1 : (int)op;
}

static int width_lookup(const char *s)
{
    char *end;
    unsigned long w;
    size_t wi;

    if (strcmp(s, "bool") == 0)
        return 0;
    if (s[0] == 'u')
        s++;
    w = strtoul(s, &end, 10);
    if (*end != '\0' || w == 1 || w > 64)
        return -1;
    wi = fp_width_index((unsigned)w);
    return wi == NW ? -1 : (int)wi;
}

static int parse_num(const char *s, long lo, long hi, long *out)
{
    char *end;

    errno = 0;
    *out = strtol(s, &end, 10);
    return errno != 0 || *end != '\0' || end == s || *out < lo || *out > hi
               ? -1 : 0;
}

/* Returns 0, or EXIT_USAGE (message printed), or -1 for --help. */
static int parse_args(struct runner *r, int argc, char **argv)
{
    static const struct option opts[] = {
        {"journal", required_argument, NULL, 'j'},
        {"pairs", required_argument, NULL, 'p'},
        {"ops", required_argument, NULL, 'o'},
        {"widths", required_argument, NULL, 'w'},
        {"threads", required_argument, NULL, 't'},
        {"seed", required_argument, NULL, 's'},
        {"summary", no_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    long v;
    int c, bad = 0;

    while (!bad && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'j': r->journal = optarg; break;
        case 'p':
            bad = parse_num(optarg, 0, MAX_PAIRS, &r->pairs);
            r->pairs_given = 1;
            break;
        case 'o': bad = parse_list(optarg, op_lookup, &r->ops_mask); break;
        case 'w':
            bad = parse_list(optarg, width_lookup, &r->widths_mask);
            break;
        case 't':
            bad = parse_num(optarg, 1, AMATERS_FHE_POOL_MAX, &v);
            r->threads = (size_t)v;
            break;
        case 's':
            bad = fp_parse_seed(optarg, r->seed);
            r->seed_given = 1;
            break;
        case 'S': r->summary = 1; break;
        case 'h': usage(stdout); return -1;
        default: bad = 1; break;
        }
    }
    if (bad || optind != argc || r->journal == NULL) {
        if (bad && optind <= argc && optind > 0)
            fprintf(stderr, "bad option or value near \"%s\"\n",
                    argv[optind - 1]);
        else if (r->journal == NULL)
            fprintf(stderr, "--journal is required\n");
        fprintf(stderr, "see amaters-fhe-pairs --help\n");
        return EXIT_USAGE;
    }
    return 0;
}

/* ---- main ------------------------------------------------------------ */

/* The run proper: keys, queue, workers. Returns the exit code. */
static int run(struct runner *r)
{
    int rc;
    size_t fails;

    rc = build_queue(r);
    if (rc == 0) {
        fprintf(stderr, "fhe-pairs: %zu items to do (journal %s, pairs %ld, "
                "%zu threads)\n", r->nqueue, r->journal, r->pairs,
                r->threads);
        r->active = amaters_calloc(r->threads, sizeof(*r->active));
        rc = r->active == NULL ? AMATERS_ENOMEM : 0;
    }
    if (rc == 0 && r->nqueue > 0)
        rc = make_keys(r);
    if (rc == 0 && r->nqueue > 0)
        rc = run_workers(r);
    if (rc != 0) {
        fprintf(stderr, "fhe-pairs: %s\n", amaters_strerror(rc));
        return EXIT_ERROR;
    }
    fails = total_fails(r);
    if (fails > 0)
        fprintf(stderr, "fhe-pairs: %zu failures (see FAIL lines in %s)\n",
                fails, r->journal);
    return fails > 0 ? EXIT_FAIL : 0;
}

int main(int argc, char **argv)
{
    static struct runner r;
    int rc;

    r.pairs = 2000;
    r.threads = 2;
    r.ops_mask = (1u << NOPS) - 1;
    r.widths_mask = (1u << NW) - 1;
    r.fd = -1;
    memset(r.seed, 0x71, sizeof r.seed);
    pthread_mutex_init(&r.mu, NULL);
    pthread_mutex_init(&r.ck_mu, NULL);
    rc = parse_args(&r, argc, argv);
    if (rc != 0) {
        rc = rc < 0 ? 0 : rc;
        goto out;
    }
    rc = fp_journal_open(&r);
    if (rc == 0)
        rc = r.summary ? summary(&r) : run(&r);
out:
    if (r.fd >= 0)
        close(r.fd);
    amaters_fhe_server_key_free(r.sk);
    amaters_fhe_client_key_free(r.ck);
    amaters_free(r.queue);
    amaters_free(r.active);
    amaters_free(r.status);
    pthread_mutex_destroy(&r.mu);
    pthread_mutex_destroy(&r.ck_mu);
    return rc;
}
