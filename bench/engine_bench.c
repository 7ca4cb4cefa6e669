/*
 * engine_bench.c - engine-bench's command line, engine set-up and report.
 *
 * engine-bench opens a storage engine ("lsm" by default) in a new
 * temporary directory under --dir, runs SET or GET for --warmup plus
 * --duration seconds on --threads threads, prints throughput and latency
 * like amaters-bench, and removes the directory. It is the ceiling that
 * bench/run.sh sets the server's figures against.
 */
#include "engine_bench.h"

#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/crc32.h"
#include "core/errors.h"
#include "core/timeutil.h"
#ifdef AMATERS_HAVE_ROCKSDB
#include "storage/engine_rocks.h"
#endif

static const char usage_text[] =
    "Usage: engine-bench --dir DIR [OPTIONS]\n"
    "\n"
    "SET or GET straight on a storage engine, with keys and records encoded\n"
    "as amaters-server encodes them: the ceiling of the server's figures.\n"
    "\n"
    "  --dir DIR              parent of the temporary data directory\n"
    "                         (required; the directory is removed after)\n"
    "  --engine NAME          lsm or memory (default lsm)\n"
    "  --sync MODE            always, interval or none (default always)\n"
    "  --sync-interval-ms N   for --sync interval (default 100)\n"
    "  --workload W           set or get (get preloads every key) "
    "(default set)\n"
    "  --threads N            worker threads (default 1)\n"
    "  --concurrency N        SETs in flight, all threads together, through\n"
    "                         write_async as the server does (default 64)\n"
    "  --duration S           measured seconds (default 10)\n"
    "  --warmup S             seconds before measuring (default 1)\n"
    "  --keyspace K           keys (default 10000)\n"
    "  --value-size BYTES     bytes per value (default 256)\n"
    "  --collection NAME      collection (default bench)\n"
    "  --format text|json     output format (default text)\n"
    "  --memtable-mb N        engine write buffer size in MB (default 64)\n"
    "  --blob-min-size B      lsm: values of at least B bytes go to blob\n"
    "                         files; off = none (default: engine default)\n"
    "  --value-fill F         pattern (compressible) or random (like\n"
    "                         ciphertext) (default pattern)\n"
    "  --keep-dir             keep the data directory and print its path\n"
    "                         and the engine's live keys and bytes\n";

static const struct option long_opts[] = {
    {"dir", required_argument, NULL, 'D'},
    {"engine", required_argument, NULL, 'e'},
    {"sync", required_argument, NULL, 's'},
    {"sync-interval-ms", required_argument, NULL, 'i'},
    {"workload", required_argument, NULL, 'w'},
    {"threads", required_argument, NULL, 't'},
    {"concurrency", required_argument, NULL, 'c'},
    {"duration", required_argument, NULL, 'd'},
    {"warmup", required_argument, NULL, 'W'},
    {"keyspace", required_argument, NULL, 'k'},
    {"value-size", required_argument, NULL, 'v'},
    {"collection", required_argument, NULL, 'C'},
    {"format", required_argument, NULL, 'f'},
    {"memtable-mb", required_argument, NULL, 'm'},
    {"blob-min-size", required_argument, NULL, 'b'},
    {"value-fill", required_argument, NULL, 'F'},
    {"keep-dir", no_argument, NULL, 'K'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int bad(const char *what, const char *arg)
{
    fprintf(stderr, "engine-bench: bad %s: %s (see --help)\n", what, arg);
    return 2;
}

static int num(const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || v < lo || v > hi)
        return AMATERS_EINVAL;
    *out = v;
    return 0;
}

static int parse_sync(const char *s, int *mode)
{
    static const char *const names[] = {"always", "interval", "none"};
    static const int modes[] = {AMATERS_SYNC_ALWAYS, AMATERS_SYNC_INTERVAL,
                                AMATERS_SYNC_NONE};
    for (int i = 0; i < 3; i++) {
        if (strcmp(s, names[i]) == 0) {
            *mode = modes[i];
            return 0;
        }
    }
    return AMATERS_EINVAL;
}

static int parse_one(struct eb_opts *o, int c, const char *a)
{
    double v = 0;
    switch (c) {
    case 'D': o->dir = a; return 0;
    case 'e': o->engine = a; return 0;
    case 'C': o->collection = a; return 0;
    case 's': return parse_sync(a, &o->sync_mode) ? bad("sync mode", a) : 0;
    case 'w':
        if (strcmp(a, "get") && strcmp(a, "set"))
            return bad("workload", a);
        o->get = strcmp(a, "get") == 0;
        return 0;
    case 'K': o->keep_dir = true; return 0;
    case 'F':
        if (strcmp(a, "random") && strcmp(a, "pattern"))
            return bad("value fill", a);
        o->random_values = strcmp(a, "random") == 0;
        return 0;
    case 'b':
        if (strcmp(a, "off") == 0) {
            o->blob_min_size = (size_t)-1;
            return 0;
        }
        break;
    case 'f':
        if (strcmp(a, "json") && strcmp(a, "text"))
            return bad("format", a);
        o->json = strcmp(a, "json") == 0;
        return 0;
    default: break;
    }
    double lo = (c == 'W' || c == 'v' || c == 'b') ? 0
                : (c == 'd' ? 0.001 : 1);
    double hi = (c == 'v' || c == 'b') ? 1024.0 * 1024 * 1024 : 1e8;
    if (num(a, lo, hi, &v))
        return bad("number", a);
    switch (c) {
    case 'i': o->sync_interval_ms = (unsigned)v; break;
    case 't': o->threads = (int)v; break;
    case 'c': o->concurrency = (int)v; break;
    case 'd': o->duration = v; break;
    case 'W': o->warmup = v; break;
    case 'k': o->keyspace = (long)v; break;
    case 'm': o->memtable_mb = (size_t)v; break;
    case 'b': o->blob_min_size = (size_t)v; break;
    default: o->value_size = (size_t)v; break;
    }
    return 0;
}

static int parse_args(int argc, char **argv, struct eb_opts *o)
{
    int c;
    *o = (struct eb_opts){
        .engine = "lsm", .sync_mode = AMATERS_SYNC_ALWAYS,
        .sync_interval_ms = 100, .threads = 1, .concurrency = 64,
        .duration = 10, .warmup = 1, .keyspace = 10000, .value_size = 256,
        .collection = "bench", .memtable_mb = 64,
    };
    while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage_text, stdout);
            exit(0);
        }
        if (c == '?')
            return 2;
        int rc = parse_one(o, c, optarg);
        if (rc)
            return rc;
    }
    if (optind < argc)
        return bad("argument", argv[optind]);
    if (o->dir == NULL)
        return bad("arguments", "--dir is required");
    if (o->concurrency < o->threads)
        o->concurrency = o->threads;
    return 0;
}

static int rm_cb(const char *path, const struct stat *sb, int flag,
                 struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static const char *sync_name(int mode)
{
    return mode == AMATERS_SYNC_ALWAYS     ? "always"
           : mode == AMATERS_SYNC_INTERVAL ? "interval"
                                           : "none";
}

static void report(const struct eb_opts *o, const struct eb_stats *s,
                   uint64_t groups)
{
    const struct bench_hist *h = &s->hist;
    double ops_s = (double)s->ops / o->duration;
    double mb_s = (double)s->value_bytes / o->duration / 1e6;
    double p50 = (double)bench_hist_quantile(h, 0.5) / 1e3;
    double p99 = (double)bench_hist_quantile(h, 0.99) / 1e3;
    double p999 = (double)bench_hist_quantile(h, 0.999) / 1e3;
    double mx = (double)h->max / 1e3;
    const char *w = o->get ? "get" : "set";
    if (o->json) {
        printf("{\"workload\": \"%s\", \"engine\": \"%s\", \"sync\": \"%s\", "
               "\"threads\": %d, \"concurrency\": %d, \"value_size\": %zu, "
               "\"seconds\": %.3f, \"ops\": %llu, \"ops_per_s\": %.1f, "
               "\"mb_per_s\": %.3f, \"p50_us\": %.1f, \"p99_us\": %.1f, "
               "\"p999_us\": %.1f, \"max_us\": %.1f, \"errors\": %llu, "
               "\"not_found\": %llu, \"commit_groups\": %llu}\n",
               w, o->engine, sync_name(o->sync_mode), o->threads,
               o->get ? o->threads : o->concurrency, o->value_size,
               o->duration, (unsigned long long)s->ops, ops_s, mb_s, p50,
               p99, p999, mx, (unsigned long long)s->errors,
               (unsigned long long)s->not_found,
               (unsigned long long)groups);
        return;
    }
    printf("engine %s, sync %s, workload %s, threads %d, in flight %d, "
           "value %zu B, %.1f s measured\n",
           o->engine, sync_name(o->sync_mode), w, o->threads,
           o->get ? o->threads : o->concurrency, o->value_size, o->duration);
    printf("throughput: %.1f ops/s, %.3f MB/s of values (%llu ops)\n", ops_s,
           mb_s, (unsigned long long)s->ops);
    printf("latency us: p50 %.1f  p99 %.1f  p999 %.1f  max %.1f\n", p50, p99,
           p999, mx);
    if (groups)
        printf("commit groups: %llu (lsm, whole run incl. warm-up)\n",
               (unsigned long long)groups);
    printf("errors: %llu, not found: %llu\n", (unsigned long long)s->errors,
           (unsigned long long)s->not_found);
}

static uint64_t commit_groups(const struct eb_opts *o,
                              struct amaters_engine *e)
{
#ifdef AMATERS_HAVE_ROCKSDB
    if (strcmp(o->engine, "lsm") == 0)
        return amaters_engine_lsm_commit_groups(e);
#else
    (void)o;
    (void)e;
#endif
    return 0;
}

/* Fills value: random bytes (incompressible, like a ciphertext) or a
 * compressible letter pattern. */
static void fill_value(uint8_t *value, size_t n, bool random_bytes)
{
    uint32_t x = 0x2545f491u;
    for (size_t i = 0; i < n; i++) {
        if (random_bytes) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            value[i] = (uint8_t)(x >> 24);
        } else {
            value[i] = (uint8_t)('a' + (i * 7 + i / 26) % 26);
        }
    }
}

/* For --keep-dir: prints the kept directory and the live keys and bytes
 * (the denominator of space amplification). */
static void report_live(struct amaters_engine *e, const char *path)
{
    struct amaters_engine_stats s = {0};
    int rc = e->ops->stats(e, &s);
    printf("dir: %s\n", path);
    if (rc)
        printf("live: unknown (%s)\n", amaters_strerror(rc));
    else
        printf("live: %llu keys, %llu bytes\n",
               (unsigned long long)s.key_count,
               (unsigned long long)s.data_bytes);
}

/* Runs the workers; merges their figures into *out. */
static int run_workers(struct eb_run *run, struct eb_stats *out)
{
    const struct eb_opts *o = run->o;
    int n = o->threads, started = 0, rc = AMATERS_ENOMEM;
    struct eb_worker *w = amaters_calloc((size_t)n, sizeof *w);
    pthread_t *tid = amaters_calloc((size_t)n, sizeof *tid);
    if (w == NULL || tid == NULL)
        goto cleanup;
    for (int i = 0; i < n; i++) {
        w[i].run = run;
        w[i].rng = 0x9e3779b9u * (uint32_t)(i + 1) | 1u;
        w[i].n_slots = o->concurrency * (i + 1) / n - o->concurrency * i / n;
        w[i].slots = eb_slots_new(w[i].n_slots);
        pthread_mutex_init(&w[i].mu, NULL);
        pthread_cond_init(&w[i].cv, NULL);
        eb_stats_init(&w[i].stats);
    }
    for (int i = 0; i < n; i++) {
        if (w[i].slots == NULL ||
            pthread_create(&tid[i], NULL, eb_worker_main, &w[i]))
            break;
        started++;
    }
    for (int i = 0; i < started; i++) {
        pthread_join(tid[i], NULL);
        bench_hist_merge(&out->hist, &w[i].stats.hist);
        out->ops += w[i].stats.ops;
        out->value_bytes += w[i].stats.value_bytes;
        out->errors += w[i].stats.errors;
        out->not_found += w[i].stats.not_found;
    }
    rc = started == n ? 0 : AMATERS_EINTERNAL;
cleanup:
    for (int i = 0; w && tid && i < n; i++) {
        amaters_free(w[i].slots);
        pthread_mutex_destroy(&w[i].mu);
        pthread_cond_destroy(&w[i].cv);
    }
    amaters_free(tid);
    amaters_free(w);
    return rc;
}

/* Opens the engine in path, runs the workload and closes the engine. */
static int bench_engine(struct eb_opts *o, const char *path,
                        struct eb_stats *st)
{
    char err[256] = "";
    struct amaters_engine *e = NULL;
    const struct amaters_engine_ops *ops = amaters_engine_find(o->engine);
    struct amaters_engine_options eo = {
        .path = path, .memtable_size_mb = o->memtable_mb,
        .block_cache_size_mb = 256, .sync_mode = o->sync_mode,
        .sync_interval_ms = o->sync_interval_ms,
        .blob_min_size = o->blob_min_size,
    };
    if (ops == NULL) {
        fprintf(stderr, "engine-bench: no engine named %s\n", o->engine);
        return 1;
    }
    int rc = ops->open(&eo, &e, err, sizeof err);
    if (rc) {
        fprintf(stderr, "engine-bench: open %s: %s\n", path, err);
        return 1;
    }
    if (e->ops->write_async == NULL)
        o->concurrency = o->threads; /* blocking writes: one per thread */
    size_t vbytes = o->value_size + (o->random_values ? EB_POOL : 1);
    uint8_t *value = amaters_malloc(vbytes);
    struct eb_run run = {.o = o, .engine = e, .value = value,
                         .created_at = amaters_unix_seconds()};
    if (value == NULL) {
        rc = 1;
        goto cleanup;
    }
    fill_value(value, o->random_values ? vbytes : o->value_size,
               o->random_values);
    run.value_crc = amaters_crc32(0, value, o->value_size);
    if (o->get) {
        rc = eb_preload(&run);
        if (rc) {
            fprintf(stderr, "engine-bench: preload: %s\n",
                    amaters_strerror(rc));
            rc = 1;
            goto cleanup;
        }
    }
    run.measure_from_ns = amaters_now_ns() + (uint64_t)(o->warmup * 1e9);
    run.end_ns = run.measure_from_ns + (uint64_t)(o->duration * 1e9);
    rc = run_workers(&run, st) ? 1 : 0;
    if (rc == 0)
        report(o, st, commit_groups(o, e));
    if (rc == 0 && o->keep_dir)
        report_live(e, path);
cleanup:
    amaters_engine_close(e);
    amaters_free(value);
    return rc;
}

int main(int argc, char **argv)
{
    struct eb_opts o;
    char *path = NULL;
    struct eb_stats *st = NULL;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    size_t n = strlen(o.dir) + sizeof "/engine-bench.XXXXXX";
    path = amaters_malloc(n);
    st = amaters_malloc(sizeof *st);
    if (path == NULL || st == NULL) {
        rc = 1;
        goto cleanup;
    }
    eb_stats_init(st);
    snprintf(path, n, "%s/engine-bench.XXXXXX", o.dir);
    if (mkdtemp(path) == NULL) {
        perror("engine-bench: mkdtemp");
        rc = 1;
        goto cleanup;
    }
    rc = bench_engine(&o, path, st);
    if (rc == 0 && (st->errors || (o.get && st->not_found)))
        rc = 1;
    if (!o.keep_dir)
        nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
cleanup:
    amaters_free(st);
    amaters_free(path);
    return rc;
}
