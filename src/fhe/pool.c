/*
 * pool.c - the FHE thread pool: T - 1 worker threads waiting on a
 * condition variable for a batch generation; items are claimed one by one
 * under the mutex (an item is a PBS of ~15 ms, so the lock is cold).
 */
#include "fhe/pool.h"

#include <pthread.h>

#include "core/alloc.h"
#include "core/errors.h"

struct pool_worker {
    struct amaters_fhe_pool *pool;
    size_t index;
    pthread_t thread;
};

/* Everything below `mu` is guarded by it. */
struct amaters_fhe_pool {
    size_t nthreads;
    struct pool_worker *workers;   /* nthreads - 1 entries */
    size_t started;
    pthread_mutex_t mu;
    pthread_cond_t wake;           /* a new batch or stop */
    pthread_cond_t idle;           /* a worker left the current batch */
    amaters_fhe_pool_cb fn;
    void *arg;
    size_t n, next, busy;
    unsigned long gen;
    int rc, stop;
};

/* Claims and runs items of the current batch until none is left; called
 * with mu held, returns with mu held. */
static void drain(struct amaters_fhe_pool *pool, size_t worker)
{
    while (pool->next < pool->n) {
        size_t item = pool->next++;
        amaters_fhe_pool_cb fn = pool->fn;
        void *arg = pool->arg;
        int rc;

        pool->busy++;
        pthread_mutex_unlock(&pool->mu);
        rc = fn(arg, item, worker);
        pthread_mutex_lock(&pool->mu);
        pool->busy--;
        if (rc != 0 && pool->rc == 0)
            pool->rc = rc;
    }
}

static void *worker_main(void *p)
{
    struct pool_worker *w = p;
    struct amaters_fhe_pool *pool = w->pool;
    unsigned long seen = 0;

    pthread_mutex_lock(&pool->mu);
    for (;;) {
        while (!pool->stop && pool->gen == seen)
            pthread_cond_wait(&pool->wake, &pool->mu);
        if (pool->stop)
            break;
        seen = pool->gen;
        drain(pool, w->index);
        pthread_cond_signal(&pool->idle);
    }
    pthread_mutex_unlock(&pool->mu);
    return NULL;
}

int amaters_fhe_pool_new(size_t nthreads, struct amaters_fhe_pool **out)
{
    struct amaters_fhe_pool *pool;
    int rc = 0;

    *out = NULL;
    if (nthreads < 1 || nthreads > AMATERS_FHE_POOL_MAX)
        return AMATERS_EINVAL;
    pool = amaters_calloc(1, sizeof(*pool));
    if (pool == NULL)
        return AMATERS_ENOMEM;
    pool->nthreads = nthreads;
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->idle, NULL);
    if (nthreads > 1) {
        pool->workers = amaters_calloc(nthreads - 1, sizeof(*pool->workers));
        if (pool->workers == NULL)
            rc = AMATERS_ENOMEM;
    }
    for (size_t i = 0; rc == 0 && i + 1 < nthreads; i++) {
        struct pool_worker *w = &pool->workers[i];

        w->pool = pool;
        w->index = i + 1;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
            rc = AMATERS_EINTERNAL;
        else
            pool->started++;
    }
    if (rc != 0) {
        amaters_fhe_pool_free(pool);
        return rc;
    }
    *out = pool;
    return 0;
}

void amaters_fhe_pool_free(struct amaters_fhe_pool *pool)
{
    if (pool == NULL)
        return;
    pthread_mutex_lock(&pool->mu);
    pool->stop = 1;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mu);
    for (size_t i = 0; i < pool->started; i++)
        pthread_join(pool->workers[i].thread, NULL);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->idle);
    pthread_mutex_destroy(&pool->mu);
    amaters_free(pool->workers);
    amaters_free(pool);
}

size_t amaters_fhe_pool_size(const struct amaters_fhe_pool *pool)
{
    return pool == NULL ? 1 : pool->nthreads;
}

int amaters_fhe_pool_run(struct amaters_fhe_pool *pool,
                         amaters_fhe_pool_cb fn, void *arg, size_t n)
{
    int rc = 0;

    if (pool == NULL || pool->nthreads == 1 || n <= 1) {
        for (size_t i = 0; i < n; i++) {
            int r = fn(arg, i, 0);

            if (r != 0 && rc == 0)
                rc = r;
        }
        return rc;
    }
    pthread_mutex_lock(&pool->mu);
    pool->fn = fn;
    pool->arg = arg;
    pool->n = n;
    pool->next = 0;
    pool->rc = 0;
    pool->gen++;
    pthread_cond_broadcast(&pool->wake);
    drain(pool, 0);
    /* every item is claimed; wait for the ones still running */
    while (pool->busy > 0)
        pthread_cond_wait(&pool->idle, &pool->mu);
    rc = pool->rc;
    pthread_mutex_unlock(&pool->mu);
    return rc;
}
