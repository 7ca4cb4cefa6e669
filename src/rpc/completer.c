/*
 * completer.c - answers deferred writes off the storage engine's thread
 * when the call's own worker cannot be woken (the fallback; normally the
 * engine's callback wakes a worker with a zero-op batch, unary.c).
 *
 * The engine's committer calls back once per write of a commit group; if
 * it also encoded and sent every answer, the next group's fsync would wait
 * for that. Instead the callback only queues the call here (a mutex and a
 * list push) and this thread answers it, so fsyncs and answers overlap.
 *
 * Threads: rpc_completer_push from any thread; the completer thread runs
 * the finish function of each call, in push order.
 */
#include "rpc/internal.h"

#include <string.h>

#include "core/errors.h"

static void *completer_main(void *arg)
{
    struct rpc_completer *q = arg;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (q->head == NULL && !q->stop)
            pthread_cond_wait(&q->cv, &q->mu);
        if (q->head == NULL)
            break; /* stopping and drained */
        struct rcall *batch = q->head;
        q->head = q->tail = NULL;
        pthread_mutex_unlock(&q->mu);
        while (batch) {
            struct rcall *next = batch->next_done;
            batch->next_done = NULL;
            rpc_deferred_finish(batch);
            batch = next;
        }
        pthread_mutex_lock(&q->mu);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

int rpc_completer_start(struct rpc_completer *q)
{
    memset(q, 0, sizeof *q);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    if (pthread_create(&q->thread, NULL, completer_main, q) != 0) {
        pthread_mutex_destroy(&q->mu);
        pthread_cond_destroy(&q->cv);
        return AMATERS_EINTERNAL;
    }
    pthread_setname_np(q->thread, "amaters-answer"); /* for top -H, perf */
    q->running = true;
    return 0;
}

void rpc_completer_push(struct rpc_completer *q, struct rcall *c)
{
    pthread_mutex_lock(&q->mu);
    c->next_done = NULL;
    if (q->tail) {
        /* Not empty: the completer is awake or already signalled. */
        q->tail->next_done = c;
    } else {
        q->head = c;
        pthread_cond_signal(&q->cv);
    }
    q->tail = c;
    pthread_mutex_unlock(&q->mu);
}

void rpc_completer_stop(struct rpc_completer *q)
{
    if (!q->running)
        return;
    pthread_mutex_lock(&q->mu);
    q->stop = true;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->thread, NULL);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    q->running = false;
}
