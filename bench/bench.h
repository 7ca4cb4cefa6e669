/*
 * bench.h - internals of amaters-bench, the closed-loop gRPC load
 * generator for amaters-server.
 *
 * bench_main.c parses the options and runs the phases (optional preload,
 * then warm-up plus measurement), bench_client.c drives the calls (one
 * gRPC channel and one completion queue per client thread, a fixed number
 * of calls in flight, each started again as soon as it completes) and
 * bench_report.c merges the per-thread figures and prints them.
 *
 * Threads: struct bench_opts and struct bench_run are written by the main
 * thread before the client threads start and only read afterwards; each
 * struct bench_thread is owned by its client thread until it is joined.
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <grpc/grpc.h>

#include "hist.h"

enum bench_workload {
    BENCH_SET,
    BENCH_GET,
    BENCH_MIX,   /* 90 % GET, 10 % SET */
    BENCH_RANGE, /* unary RANGE of range_size keys from a random key */
    BENCH_STREAM /* the same RANGE through ExecuteStream */
};

struct bench_opts {
    const char *target;     /* host:port */
    enum bench_workload workload;
    int concurrency;        /* calls in flight, all threads together */
    int threads;            /* client threads, one channel + CQ each */
    double duration;        /* measured seconds */
    double warmup;          /* seconds run before measuring */
    long keyspace;          /* keys are "key%08ld" for 0..keyspace-1 */
    size_t value_size;      /* bytes of CipherBlob.data */
    const char *collection;
    unsigned range_size;    /* RANGE limit */
    bool preload;           /* SET every key first */
    bool json;              /* --format json */
};

/* Most distinct ErrorResponse codes tallied (others go to "other"). */
#define BENCH_MAX_CODES 16
/* gRPC status codes are 0..16. */
#define BENCH_GRPC_CODES 17

/* What one thread (or, merged, the whole run) measured. */
struct bench_stats {
    struct bench_hist hist;   /* latency of successful calls, ns */
    uint64_t ops;             /* successful calls */
    uint64_t value_bytes;     /* value bytes sent (SET) or received */
    uint64_t rows;            /* values received */
    uint64_t failed_batch;    /* the CQ reported the call's batch failed */
    uint64_t grpc[BENCH_GRPC_CODES]; /* calls ended with a non-OK status */
    uint64_t bad_reply;       /* undecodable or unexpected answer */
    uint64_t not_found;       /* GET of a preloaded key found nothing */
    int codes[BENCH_MAX_CODES];      /* ErrorResponse codes seen */
    uint64_t code_count[BENCH_MAX_CODES];
    int n_codes;
    uint64_t code_other;      /* codes beyond BENCH_MAX_CODES distinct */
};

/* The shared state of one phase. */
struct bench_run {
    const struct bench_opts *o;
    bool preload;             /* sequential SETs of keys 0..keyspace-1 */
    uint64_t measure_from_ns; /* amaters_now_ns() at which counting starts */
    uint64_t end_ns;          /* no call is started after this */
    long next_key;            /* preload: next key (atomic) */
    const uint8_t *value;     /* value_size bytes sent by every SET */
    uint32_t value_crc;       /* CRC-32 of value */
};

struct bench_slot;

struct bench_thread {
    int index;
    struct bench_run *run;
    grpc_channel *channel;
    grpc_completion_queue *cq;
    struct bench_slot *slots;
    int n_slots;
    uint32_t rng;
    int errors_printed;       /* first few error messages go to stderr */
    struct bench_stats stats;
};

/* Runs one client thread: starts its n_slots calls and keeps them going
 * until run->end_ns (or, in preload, until the keys are used up), then
 * drains them. The thread's channel and CQ are created and destroyed
 * inside. Returns arg. For pthread_create. */
void *bench_client_thread(void *arg);

/* Returns sizeof(struct bench_slot), for allocating an array of slots. */
size_t bench_slot_size(void);

/* Returns &slots[i] of an array of slots allocated with bench_slot_size(). */
struct bench_slot *bench_slot_at(struct bench_slot *slots, int i);

/* Empties s. */
void bench_stats_init(struct bench_stats *s);

/* Adds src into dst. */
void bench_stats_merge(struct bench_stats *dst, const struct bench_stats *src);

/* Counts one ErrorResponse code into s. */
void bench_stats_add_code(struct bench_stats *s, int code);

/* Returns the number of failed calls of every kind in s. */
uint64_t bench_stats_errors(const struct bench_stats *s);

/* Prints the figures of a measured phase of `seconds` to stdout, as text
 * or as one JSON object (o->json). */
void bench_report(const struct bench_opts *o, const struct bench_stats *s,
                  double seconds);

/* Returns the name of a workload ("set", ...). */
const char *bench_workload_name(enum bench_workload w);

#endif
