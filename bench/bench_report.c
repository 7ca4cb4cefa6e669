/*
 * bench_report.c - merging and printing amaters-bench's figures: ops/s,
 * MB/s of value bytes, latency quantiles in microseconds, and every kind
 * of failure (by gRPC status and by ErrorResponse code, named).
 */
#include "bench.h"

#include <stdio.h>
#include <string.h>

#include "errors.pb-c.h"

void bench_stats_init(struct bench_stats *s)
{
    memset(s, 0, sizeof *s);
    bench_hist_init(&s->hist);
}

static void add_code_n(struct bench_stats *s, int code, uint64_t n)
{
    for (int i = 0; i < s->n_codes; i++) {
        if (s->codes[i] == code) {
            s->code_count[i] += n;
            return;
        }
    }
    if (s->n_codes == BENCH_MAX_CODES) {
        s->code_other += n;
        return;
    }
    s->codes[s->n_codes] = code;
    s->code_count[s->n_codes++] = n;
}

void bench_stats_add_code(struct bench_stats *s, int code)
{
    add_code_n(s, code, 1);
}

void bench_stats_merge(struct bench_stats *dst, const struct bench_stats *src)
{
    bench_hist_merge(&dst->hist, &src->hist);
    dst->ops += src->ops;
    dst->value_bytes += src->value_bytes;
    dst->rows += src->rows;
    dst->failed_batch += src->failed_batch;
    for (int i = 0; i < BENCH_GRPC_CODES; i++)
        dst->grpc[i] += src->grpc[i];
    dst->bad_reply += src->bad_reply;
    dst->not_found += src->not_found;
    for (int i = 0; i < src->n_codes; i++)
        add_code_n(dst, src->codes[i], src->code_count[i]);
    dst->code_other += src->code_other;
}

uint64_t bench_stats_errors(const struct bench_stats *s)
{
    uint64_t n = s->failed_batch + s->bad_reply + s->not_found +
                 s->code_other;
    for (int i = 0; i < BENCH_GRPC_CODES; i++)
        n += s->grpc[i];
    for (int i = 0; i < s->n_codes; i++)
        n += s->code_count[i];
    return n;
}

const char *bench_workload_name(enum bench_workload w)
{
    static const char *const names[] = {"set", "get", "mix", "range",
                                        "stream"};
    return names[w];
}

static const char *grpc_status_name(int c)
{
    static const char *const names[BENCH_GRPC_CODES] = {
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    };
    return names[c];
}

static const char *code_name(int code)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
        &amaters__errors__error_code__descriptor, code);
    return v ? v->name : "?";
}

/* Calls emit(name, count, arg) for every non-zero failure kind. */
static void each_error(const struct bench_stats *s,
                       void (*emit)(const char *, uint64_t, int, void *),
                       void *arg)
{
    char name[96];
    if (s->failed_batch)
        emit("call_failed", s->failed_batch, 0, arg);
    for (int i = 0; i < BENCH_GRPC_CODES; i++) {
        if (s->grpc[i] == 0)
            continue;
        snprintf(name, sizeof name, "grpc_%s", grpc_status_name(i));
        emit(name, s->grpc[i], 0, arg);
    }
    for (int i = 0; i < s->n_codes; i++)
        emit(code_name(s->codes[i]), s->code_count[i], s->codes[i], arg);
    if (s->code_other)
        emit("ERROR_other", s->code_other, 0, arg);
    if (s->bad_reply)
        emit("bad_reply", s->bad_reply, 0, arg);
    if (s->not_found)
        emit("not_found_after_preload", s->not_found, 0, arg);
}

static void emit_text(const char *name, uint64_t n, int code, void *arg)
{
    (void)arg;
    if (code)
        printf("  %-34s %llu (code %d)\n", name, (unsigned long long)n,
               code);
    else
        printf("  %-34s %llu\n", name, (unsigned long long)n);
}

static void emit_json(const char *name, uint64_t n, int code, void *arg)
{
    int *first = arg;
    (void)code;
    printf("%s\"%s\": %llu", *first ? "" : ", ", name,
           (unsigned long long)n);
    *first = 0;
}

static double us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

void bench_report(const struct bench_opts *o, const struct bench_stats *s,
                  double seconds)
{
    double ops_s = seconds > 0 ? (double)s->ops / seconds : 0;
    double mb_s = seconds > 0 ? (double)s->value_bytes / seconds / 1e6 : 0;
    const struct bench_hist *h = &s->hist;
    uint64_t errors = bench_stats_errors(s);

    if (o->json) {
        int first = 1;
        printf("{\"workload\": \"%s\", \"concurrency\": %d, \"threads\": %d, "
               "\"value_size\": %zu, \"keyspace\": %ld, \"seconds\": %.3f, "
               "\"ops\": %llu, \"ops_per_s\": %.1f, \"mb_per_s\": %.3f, "
               "\"rows\": %llu, \"p50_us\": %.1f, \"p99_us\": %.1f, "
               "\"p999_us\": %.1f, \"max_us\": %.1f, \"mean_us\": %.1f, "
               "\"errors\": %llu, \"error_kinds\": {",
               bench_workload_name(o->workload), o->concurrency, o->threads,
               o->value_size, o->keyspace, seconds,
               (unsigned long long)s->ops, ops_s, mb_s,
               (unsigned long long)s->rows, us(bench_hist_quantile(h, 0.5)),
               us(bench_hist_quantile(h, 0.99)),
               us(bench_hist_quantile(h, 0.999)), us(h->max),
               bench_hist_mean(h) / 1000.0, (unsigned long long)errors);
        each_error(s, emit_json, &first);
        printf("}}\n");
        return;
    }
    printf("workload %s, concurrency %d, threads %d, value %zu B, "
           "keyspace %ld, %.1f s measured\n",
           bench_workload_name(o->workload), o->concurrency, o->threads,
           o->value_size, o->keyspace, seconds);
    printf("throughput: %.1f ops/s, %.3f MB/s of values (%llu ops, "
           "%llu values returned)\n",
           ops_s, mb_s, (unsigned long long)s->ops,
           (unsigned long long)s->rows);
    printf("latency us: p50 %.1f  p99 %.1f  p999 %.1f  max %.1f  "
           "mean %.1f\n",
           us(bench_hist_quantile(h, 0.5)), us(bench_hist_quantile(h, 0.99)),
           us(bench_hist_quantile(h, 0.999)), us(h->max),
           bench_hist_mean(h) / 1000.0);
    printf("errors: %llu\n", (unsigned long long)errors);
    each_error(s, emit_text, NULL);
}
