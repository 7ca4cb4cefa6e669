/*
 * pool.h - a small fixed-size thread pool for the FHE library: runs the
 * independent PBSs of one radix operation in parallel.
 *
 * A pool of T threads is the calling thread plus T - 1 workers started at
 * creation. amaters_fhe_pool_run hands the items 0..n-1 of one batch to
 * whichever thread is free (the caller works too) and returns when all
 * are done, so the callback sees a worker index in [0, T) and can use
 * per-worker state (FFT buffers, accumulators) without locks. A pool is
 * driven by one thread at a time (the owner of the evaluation context it
 * belongs to); the callback must not call amaters_fhe_pool_run on the
 * same pool. With T = 1 everything runs on the caller, no thread exists.
 */
#ifndef AMATERS_FHE_POOL_H
#define AMATERS_FHE_POOL_H

#include <stddef.h>

/* Maximum pool size (threads including the caller). */
#define AMATERS_FHE_POOL_MAX 64

struct amaters_fhe_pool;

/* Runs item `item` of a batch on worker `worker` (0 = the caller).
 * Returns 0 or a negative AMATERS_E* code. */
typedef int (*amaters_fhe_pool_cb)(void *arg, size_t item, size_t worker);

/* Creates a pool of nthreads threads (1 <= nthreads <= POOL_MAX; the
 * caller counts as one). *out is freed with amaters_fhe_pool_free.
 * Returns 0, AMATERS_EINVAL, AMATERS_ENOMEM or AMATERS_EINTERNAL (thread
 * creation failed). */
int amaters_fhe_pool_new(size_t nthreads, struct amaters_fhe_pool **out);

/* Stops and joins the workers, frees the pool. NULL is a no-op. Must not
 * race with amaters_fhe_pool_run. */
void amaters_fhe_pool_free(struct amaters_fhe_pool *pool);

/* Number of threads including the caller (1 for NULL). */
size_t amaters_fhe_pool_size(const struct amaters_fhe_pool *pool);

/* Calls fn(arg, i, worker) once for every i < n, spread over the pool,
 * and waits for all. Returns 0 or the first error a call returned (the
 * other items still run). A NULL pool runs everything on the caller. */
int amaters_fhe_pool_run(struct amaters_fhe_pool *pool,
                         amaters_fhe_pool_cb fn, void *arg, size_t n);

#endif
