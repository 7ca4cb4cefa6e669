/*
 * bench_main.c - amaters-bench's command line and phases.
 *
 * amaters-bench drives a running amaters-server with a closed loop of
 * --concurrency calls in flight spread over --threads client threads, for
 * --warmup seconds (not counted) and then --duration seconds (measured),
 * and prints throughput, latency quantiles and every failure. With
 * --preload it first SETs every key of the keyspace (for get, mix, range
 * and stream, so that reads find values).
 */
#include "bench.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/crc32.h"
#include "core/errors.h"
#include "core/timeutil.h"

static const char usage_text[] =
    "Usage: amaters-bench [OPTIONS]\n"
    "\n"
    "Closed-loop load generator for amaters-server (gRPC, ExecuteQuery /\n"
    "ExecuteStream). Every SET carries valid CipherMetadata (size, CRC-32,\n"
    "created_at); every GET answer is checked against the stored value.\n"
    "\n"
    "  --target HOST:PORT     server address (default 127.0.0.1:50051)\n"
    "  --workload W           set, get, mix (90% get / 10% set), range or\n"
    "                         stream (RANGE through ExecuteStream)\n"
    "                         (default set)\n"
    "  --concurrency N        calls in flight (default 64)\n"
    "  --threads T            client threads, each with its own connection\n"
    "                         and completion queue (default 1)\n"
    "  --duration S           measured seconds (default 10)\n"
    "  --warmup S             seconds run before measuring (default 1)\n"
    "  --keyspace K           keys key00000000 .. K-1 (default 10000)\n"
    "  --value-size BYTES     bytes per value (default 256)\n"
    "  --collection NAME      collection (default bench)\n"
    "  --range-size R         RANGE limit for range/stream (default 100)\n"
    "  --preload              SET every key first; a GET that then finds\n"
    "                         nothing counts as an error\n"
    "  --format text|json     output format (default text)\n"
    "  -h, --help             this help\n"
    "\n"
    "Exit status: 0 no failed call, 1 some calls failed, 2 usage error.\n";

enum {
    OPT_TARGET = 256,
    OPT_WORKLOAD,
    OPT_CONCURRENCY,
    OPT_THREADS,
    OPT_DURATION,
    OPT_WARMUP,
    OPT_KEYSPACE,
    OPT_VALUE_SIZE,
    OPT_COLLECTION,
    OPT_RANGE_SIZE,
    OPT_PRELOAD,
    OPT_FORMAT,
};

static const struct option long_opts[] = {
    {"target", required_argument, NULL, OPT_TARGET},
    {"workload", required_argument, NULL, OPT_WORKLOAD},
    {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"keyspace", required_argument, NULL, OPT_KEYSPACE},
    {"value-size", required_argument, NULL, OPT_VALUE_SIZE},
    {"collection", required_argument, NULL, OPT_COLLECTION},
    {"range-size", required_argument, NULL, OPT_RANGE_SIZE},
    {"preload", no_argument, NULL, OPT_PRELOAD},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "amaters-bench: %s: %s\n(see amaters-bench --help)\n",
            what, arg);
    return 2;
}

/* Parses a number in [lo, hi]; returns 0 or AMATERS_EINVAL. */
static int parse_num(const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || v < lo || v > hi)
        return AMATERS_EINVAL;
    *out = v;
    return 0;
}

static int parse_workload(const char *s, enum bench_workload *w)
{
    static const char *const names[] = {"set", "get", "mix", "range",
                                        "stream"};
    for (int i = 0; i < 5; i++) {
        if (strcmp(s, names[i]) == 0) {
            *w = (enum bench_workload)i;
            return 0;
        }
    }
    return AMATERS_EINVAL;
}

/* Applies one numeric option; returns 0 or a usage error (2). */
static int numeric_opt(struct bench_opts *o, int c, const char *arg)
{
    double v = 0;
    double hi = c == OPT_VALUE_SIZE ? 1024.0 * 1024 * 1024 : 1e9;
    double lo = (c == OPT_WARMUP || c == OPT_VALUE_SIZE) ? 0 : 1;
    if (c == OPT_DURATION)
        lo = 0.001;
    if (parse_num(arg, lo, hi, &v))
        return usage_error("bad number", arg);
    switch (c) {
    case OPT_CONCURRENCY: o->concurrency = (int)v; break;
    case OPT_THREADS: o->threads = (int)v; break;
    case OPT_DURATION: o->duration = v; break;
    case OPT_WARMUP: o->warmup = v; break;
    case OPT_KEYSPACE: o->keyspace = (long)v; break;
    case OPT_VALUE_SIZE: o->value_size = (size_t)v; break;
    default: o->range_size = (unsigned)v; break;
    }
    return 0;
}

static int parse_args(int argc, char **argv, struct bench_opts *o)
{
    int c;
    *o = (struct bench_opts){
        .target = "127.0.0.1:50051", .workload = BENCH_SET,
        .concurrency = 64, .threads = 1, .duration = 10, .warmup = 1,
        .keyspace = 10000, .value_size = 256, .collection = "bench",
        .range_size = 100,
    };
    while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 'h': fputs(usage_text, stdout); exit(0);
        case OPT_TARGET: o->target = optarg; break;
        case OPT_COLLECTION: o->collection = optarg; break;
        case OPT_PRELOAD: o->preload = true; break;
        case OPT_WORKLOAD:
            if (parse_workload(optarg, &o->workload))
                rc = usage_error("unknown workload", optarg);
            break;
        case OPT_FORMAT:
            if (strcmp(optarg, "json") && strcmp(optarg, "text"))
                rc = usage_error("unknown format", optarg);
            o->json = strcmp(optarg, "json") == 0;
            break;
        case '?': return 2;
        default: rc = numeric_opt(o, c, optarg); break;
        }
        if (rc)
            return rc;
    }
    if (optind < argc)
        return usage_error("unexpected argument", argv[optind]);
    if (o->threads > o->concurrency)
        o->threads = o->concurrency;
    if (o->keyspace > 100000000L)
        return usage_error("--keyspace is over 100000000", "too large");
    return 0;
}

/* Runs the client threads of one phase; merges their figures into *out.
 * Returns 0, AMATERS_ENOMEM or AMATERS_EINTERNAL (no thread). */
static int run_phase(struct bench_run *run, struct bench_stats *out)
{
    const struct bench_opts *o = run->o;
    int rc = AMATERS_ENOMEM, started = 0;
    struct bench_thread *th = amaters_calloc((size_t)o->threads, sizeof *th);
    pthread_t *tid = amaters_calloc((size_t)o->threads, sizeof *tid);
    struct bench_slot *slots = NULL;

    if (th == NULL || tid == NULL)
        goto cleanup;
    slots = amaters_calloc((size_t)o->concurrency, bench_slot_size());
    if (slots == NULL)
        goto cleanup;
    for (int i = 0; i < o->threads; i++) {
        int first = o->concurrency * i / o->threads;
        int last = o->concurrency * (i + 1) / o->threads;
        th[i].index = i;
        th[i].run = run;
        th[i].slots = bench_slot_at(slots, first);
        th[i].n_slots = last - first;
        th[i].rng = (0x9e3779b9u * (uint32_t)(i + 1)) ^
                    (uint32_t)amaters_now_ns();
        if (th[i].rng == 0)
            th[i].rng = 1;
        bench_stats_init(&th[i].stats);
        if (pthread_create(&tid[i], NULL, bench_client_thread, &th[i]))
            break;
        started++;
    }
    for (int i = 0; i < started; i++) {
        pthread_join(tid[i], NULL);
        bench_stats_merge(out, &th[i].stats);
    }
    rc = started == o->threads ? 0 : AMATERS_EINTERNAL;
cleanup:
    amaters_free(slots);
    amaters_free(tid);
    amaters_free(th);
    return rc;
}

static int preload(struct bench_run *run)
{
    struct bench_stats *st = amaters_malloc(sizeof *st);
    uint64_t t0 = amaters_now_ns();
    int rc = AMATERS_ENOMEM;
    if (st == NULL)
        return rc;
    bench_stats_init(st);
    run->preload = true;
    run->next_key = 0;
    run->measure_from_ns = 0;
    run->end_ns = UINT64_MAX;
    if (run_phase(run, st) == 0)
        rc = bench_stats_errors(st) ? AMATERS_EIO : 0;
    fprintf(stderr, "amaters-bench: preloaded %llu of %ld keys in %.2f s, "
            "%llu failed\n",
            (unsigned long long)st->ops, run->o->keyspace,
            (double)(amaters_now_ns() - t0) / 1e9,
            (unsigned long long)bench_stats_errors(st));
    run->preload = false;
    amaters_free(st);
    return rc;
}

/* Fills the value with a recognisable non-constant pattern. */
static uint8_t *make_value(size_t n)
{
    uint8_t *v = amaters_malloc(n ? n : 1);
    if (v == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        v[i] = (uint8_t)('a' + (i * 7 + i / 26) % 26);
    return v;
}

int main(int argc, char **argv)
{
    struct bench_opts o;
    struct bench_run run;
    struct bench_stats *st = NULL;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;

    memset(&run, 0, sizeof run);
    run.o = &o;
    uint8_t *value = make_value(o.value_size);
    st = amaters_malloc(sizeof *st);
    if (value == NULL || st == NULL) {
        fprintf(stderr, "amaters-bench: out of memory\n");
        rc = 1;
        goto cleanup;
    }
    run.value = value;
    run.value_crc = amaters_crc32(0, value, o.value_size);
    bench_stats_init(st);
    grpc_init();
    if (o.preload && preload(&run))
        rc = 1;
    uint64_t t0 = amaters_now_ns();
    run.measure_from_ns = t0 + (uint64_t)(o.warmup * 1e9);
    run.end_ns = run.measure_from_ns + (uint64_t)(o.duration * 1e9);
    if (rc == 0 && run_phase(&run, st) == 0) {
        bench_report(&o, st, o.duration);
        rc = bench_stats_errors(st) ? 1 : 0;
    } else if (rc == 0) {
        fprintf(stderr, "amaters-bench: cannot start client threads\n");
        rc = 1;
    }
    grpc_shutdown();
cleanup:
    amaters_free(st);
    amaters_free(value);
    return rc;
}
