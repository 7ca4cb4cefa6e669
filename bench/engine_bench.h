/*
 * engine_bench.h - internals of engine-bench: the SET/GET ceiling of a
 * storage engine without the server in front.
 *
 * engine_bench.c parses the options, makes and removes the temporary data
 * directory, opens the engine and prints the figures; engine_bench_run.c
 * runs the worker threads. Keys and values are encoded exactly as the
 * query layer does for a SET (storage/keys.h, storage/record.h with the
 * client's CipherMetadata), and a GET decodes (and so CRC-checks) the
 * record as the server does, so the difference to amaters-bench is the
 * server's own cost: gRPC, protobuf, the executor.
 *
 * Threads: struct eb_opts is immutable once the workers start; each
 * struct eb_worker belongs to its thread until joined, except its done
 * list, which is guarded by its mu (the engine's committer pushes onto it).
 */
#ifndef BENCH_ENGINE_BENCH_H
#define BENCH_ENGINE_BENCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hist.h"
#include "storage/engine.h"

struct eb_opts {
    const char *dir;         /* parent of the temporary data directory */
    const char *engine;      /* "lsm" or "memory" */
    int sync_mode;           /* enum amaters_sync_mode */
    unsigned sync_interval_ms;
    bool get;                /* workload get (else set) */
    int threads;
    int concurrency;         /* writes in flight (write_async engines) */
    double duration, warmup;
    long keyspace;
    size_t value_size;
    const char *collection;
    bool json;
    size_t memtable_mb;      /* engine write buffer size */
    size_t blob_min_size;    /* engine option; 0 = engine default,
                              * (size_t)-1 = no blob files */
    bool random_values;      /* random bytes (like ciphertext), else a
                              * compressible pattern */
    bool keep_dir;           /* keep the data directory, print its path */
};

/* Bytes of random data the values of --value-fill random are taken
 * from, at a per-key offset: keys sharing a data block do not share
 * bytes, so block compression sees ciphertext-like data. */
#define EB_POOL (64u << 20)

/* Shared, read-only state of a run. */
struct eb_run {
    const struct eb_opts *o;
    struct amaters_engine *engine;
    const uint8_t *value;    /* value_size bytes, or with random_values a
                              * pool of value_size + EB_POOL random bytes
                              * that each key takes its value from */
    uint32_t value_crc;
    int64_t created_at;
    uint64_t measure_from_ns, end_ns;
};

struct eb_stats {
    struct bench_hist hist;  /* latency of successful ops, ns */
    uint64_t ops, value_bytes, errors, not_found;
    int first_error;         /* first AMATERS_E* code seen, 0 if none */
};

struct eb_slot;

struct eb_worker {
    const struct eb_run *run;
    uint32_t rng;
    int n_slots;             /* writes in flight (set) */
    struct eb_slot *slots;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct eb_slot *done;    /* completed writes; guarded by mu */
    struct eb_stats stats;
};

/* Writes every key of the keyspace (in batches), for the get workload.
 * Returns 0 or a negative AMATERS_E* code. */
int eb_preload(const struct eb_run *run);

/* Runs one worker thread's ops until run->end_ns. For pthread_create;
 * returns arg. */
void *eb_worker_main(void *arg);

/* Returns a new zeroed array of n slots for a worker (owned by the caller,
 * free with amaters_free), or NULL when out of memory. */
struct eb_slot *eb_slots_new(int n);

/* Empties s. */
void eb_stats_init(struct eb_stats *s);

#endif
