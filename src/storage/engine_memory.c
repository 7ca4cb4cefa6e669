/*
 * engine_memory.c - the "memory" storage engine: an ordered skiplist of
 * reference-counted entries behind one reader-writer lock.
 *
 * Readers (get, iterator refills, stats) take the lock shared; write()
 * takes it exclusive once per batch, so a batch is atomic for every
 * reader. write() validates every op and allocates every new entry before
 * it takes the lock, so an allocation failure applies nothing, and frees
 * replaced entries after it drops the lock.
 *
 * Each entry (key + value, immutable once linked) carries a reference
 * count: one for the list while it is linked, one per get() or iterator
 * holding it. get() copies the value outside the lock; an iterator hands
 * out pointers into entries it holds, so a concurrent overwrite or delete
 * never invalidates what it returned.
 *
 * Iterators are not snapshots. Each refill re-seeks, under the shared
 * lock, to the first key after the last one returned and takes a bounded
 * chunk of entries (ITER_CHUNK entries or ITER_CHUNK_BYTES of data), so
 * memory stays flat for any range size. Keys come out strictly ascending,
 * each at most once; a key live and unchanged during the whole scan is
 * returned exactly once; other changes made during the scan may or may not
 * be seen. Non-persistent: every open() starts empty.
 *
 * compact is NULL: a deleted or overwritten entry is freed as soon as
 * nothing holds it, so there is never anything to compact, and callers
 * can tell "no compaction ran" from the missing op.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "storage/engine.h"

#define MAX_LEVEL 24          /* p = 1/4: fine up to ~4^24 keys */
#define ITER_CHUNK 64         /* entries per iterator refill */
#define ITER_CHUNK_BYTES (256u * 1024u)

/* A skiplist node and its entry in one allocation. key, value and level
 * are immutable after creation; next[] is guarded by the engine lock;
 * refs is atomic. After unlinking, next[0] links the writer's free list. */
struct node {
    atomic_long refs;
    size_t key_len;
    size_t value_len;
    const uint8_t *key;   /* into the bytes after next[] */
    const uint8_t *value; /* likewise */
    int level;
    struct node *next[];
};

struct memory_engine {
    struct amaters_engine base;  /* must be first */
    pthread_rwlock_t lock;
    struct node *head;           /* sentinel, MAX_LEVEL links; guarded */
    int level;                   /* levels in use, 1..MAX_LEVEL; guarded */
    uint64_t key_count;          /* guarded by lock */
    uint64_t data_bytes;         /* guarded by lock */
    atomic_uint_fast64_t seed;   /* level generator state */
};

/* Owned by one thread at a time (the caller's). */
struct memory_iter {
    struct amaters_engine_iter base; /* must be first */
    struct memory_engine *e;
    uint8_t *start;
    size_t start_len;
    uint8_t *end;                    /* NULL: unbounded */
    size_t end_len;
    struct node *cur;                /* last returned; one ref held */
    struct node *chunk[ITER_CHUNK];  /* [pos, count) hold one ref each */
    size_t pos;
    size_t count;
    bool exhausted;                  /* nothing in range after the chunk */
};

static int key_cmp(const uint8_t *a, size_t alen, const uint8_t *b,
                   size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n > 0 ? memcmp(a, b, n) : 0;

    if (c != 0)
        return c;
    return (alen > blen) - (alen < blen);
}

static void node_ref(struct node *n)
{
    atomic_fetch_add_explicit(&n->refs, 1, memory_order_relaxed);
}

static void node_unref(struct node *n)
{
    if (n != NULL &&
        atomic_fetch_sub_explicit(&n->refs, 1, memory_order_acq_rel) == 1)
        amaters_free(n);
}

/* splitmix64 over a shared counter: thread-safe without a lock. */
static int random_level(struct memory_engine *e)
{
    uint64_t z = atomic_fetch_add_explicit(&e->seed, 0x9E3779B97F4A7C15ull,
                                           memory_order_relaxed);
    int level = 1;

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    while (level < MAX_LEVEL && (z & 3) == 0) {
        level++;
        z >>= 2;
    }
    return level;
}

/* Allocates an unlinked node holding copies of key and value, with one
 * reference (to be owned by the list). Returns NULL on overflow or OOM. */
static struct node *node_new(int level, const uint8_t *key, size_t key_len,
                             const uint8_t *value, size_t value_len)
{
    size_t head = sizeof(struct node) + (size_t)level * sizeof(struct node *);
    struct node *n;
    uint8_t *bytes;

    if (key_len > SIZE_MAX - head || value_len > SIZE_MAX - head - key_len)
        return NULL;
    n = amaters_malloc(head + key_len + value_len);
    if (n == NULL)
        return NULL;
    atomic_init(&n->refs, 1);
    n->level = level;
    n->key_len = key_len;
    n->value_len = value_len;
    bytes = (uint8_t *)n + head;
    if (key_len > 0)
        memcpy(bytes, key, key_len);
    if (value_len > 0)
        memcpy(bytes + key_len, value, value_len);
    n->key = bytes;
    n->value = bytes + key_len;
    for (int i = 0; i < level; i++)
        n->next[i] = NULL;
    return n;
}

/* Returns the first node with key >= (key, len), or NULL. If update is
 * not NULL, fills update[i] with the last node at level i whose key is
 * smaller. Caller holds the lock (shared is enough without update). */
static struct node *find_ge(struct memory_engine *e, const uint8_t *key,
                            size_t len, struct node **update)
{
    struct node *x = e->head;

    for (int i = e->level - 1; i >= 0; i--) {
        while (x->next[i] != NULL &&
               key_cmp(x->next[i]->key, x->next[i]->key_len, key, len) < 0)
            x = x->next[i];
        if (update != NULL)
            update[i] = x;
    }
    return x->next[0];
}

static bool node_has_key(const struct node *n, const uint8_t *key,
                         size_t len)
{
    return n != NULL && key_cmp(n->key, n->key_len, key, len) == 0;
}

/* Unlinks old (whose predecessors are in update) and pushes it on *garbage.
 * Caller holds the lock exclusive. */
static void unlink_node(struct memory_engine *e, struct node **update,
                        struct node *old, struct node **garbage)
{
    for (int i = 0; i < old->level; i++)
        update[i]->next[i] = old->next[i];
    while (e->level > 1 && e->head->next[e->level - 1] == NULL)
        e->level--;
    e->key_count--;
    e->data_bytes -= old->key_len + old->value_len;
    old->next[0] = *garbage;
    *garbage = old;
}

/* Links n, replacing an entry with the same key. Lock held exclusive. */
static void apply_put(struct memory_engine *e, struct node *n,
                      struct node **garbage)
{
    struct node *update[MAX_LEVEL];
    struct node *old = find_ge(e, n->key, n->key_len, update);

    if (node_has_key(old, n->key, n->key_len))
        unlink_node(e, update, old, garbage);
    for (int i = e->level; i < n->level; i++)
        update[i] = e->head;
    if (n->level > e->level)
        e->level = n->level;
    for (int i = 0; i < n->level; i++) {
        n->next[i] = update[i]->next[i];
        update[i]->next[i] = n;
    }
    e->key_count++;
    e->data_bytes += n->key_len + n->value_len;
}

static void apply_delete(struct memory_engine *e, const uint8_t *key,
                         size_t len, struct node **garbage)
{
    struct node *update[MAX_LEVEL];
    struct node *old = find_ge(e, key, len, update);

    if (node_has_key(old, key, len))
        unlink_node(e, update, old, garbage);
}

static void put_err(char *err, size_t errlen, const char *msg)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "memory engine: %s", msg);
}

static int mem_open(const struct amaters_engine_options *opts,
                    struct amaters_engine **out, char *err, size_t errlen)
{
    struct memory_engine *e = NULL;
    pthread_rwlockattr_t attr;
    int rv = AMATERS_ENOMEM;
    int prv;

    (void)opts; /* nothing to configure: no path, no durability */
    if (out == NULL)
        return AMATERS_EINVAL;
    e = amaters_calloc(1, sizeof *e);
    if (e == NULL)
        goto fail;
    e->head = node_new(MAX_LEVEL, NULL, 0, NULL, 0);
    if (e->head == NULL)
        goto fail;
    e->base.ops = &amaters_engine_memory_ops;
    e->level = 1;
    atomic_init(&e->seed, (uint_fast64_t)(uintptr_t)e);
    /* Writer preference: a stream of readers must not starve writes. */
    rv = AMATERS_EINTERNAL;
    if (pthread_rwlockattr_init(&attr) != 0)
        goto fail;
    pthread_rwlockattr_setkind_np(&attr,
                                  PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    prv = pthread_rwlock_init(&e->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (prv != 0)
        goto fail;
    *out = &e->base;
    return 0;
fail:
    put_err(err, errlen, rv == AMATERS_ENOMEM ? "open: out of memory"
                                              : "open: cannot create lock");
    if (e != NULL)
        amaters_free(e->head);
    amaters_free(e);
    return rv;
}

static void mem_close(struct amaters_engine *base)
{
    struct memory_engine *e = (struct memory_engine *)base;
    struct node *n;

    if (e == NULL)
        return;
    n = e->head->next[0];
    while (n != NULL) {
        struct node *next = n->next[0];
        node_unref(n);
        n = next;
    }
    amaters_free(e->head);
    pthread_rwlock_destroy(&e->lock);
    amaters_free(e);
}

static int mem_get(struct amaters_engine *base, const uint8_t *key,
                   size_t key_len, uint8_t **value, size_t *value_len)
{
    struct memory_engine *e = (struct memory_engine *)base;
    struct node *n;
    uint8_t *copy;
    int rv = 0;

    if (value == NULL || value_len == NULL || (key == NULL && key_len > 0))
        return AMATERS_EINVAL;
    pthread_rwlock_rdlock(&e->lock);
    n = find_ge(e, key, key_len, NULL);
    if (node_has_key(n, key, key_len))
        node_ref(n);
    else
        n = NULL;
    pthread_rwlock_unlock(&e->lock);
    if (n == NULL)
        return AMATERS_ENOTFOUND;
    /* Copy outside the lock; our reference keeps the entry alive. */
    copy = amaters_malloc(n->value_len);
    if (copy == NULL) {
        rv = AMATERS_ENOMEM;
        goto out;
    }
    if (n->value_len > 0)
        memcpy(copy, n->value, n->value_len);
    *value = copy;
    *value_len = n->value_len;
out:
    node_unref(n);
    return rv;
}

/* Checks every op of a batch; returns 0 or AMATERS_EINVAL. Counts puts. */
static int validate_batch(const struct amaters_write_op *ops, size_t n,
                          size_t *puts)
{
    *puts = 0;
    if (ops == NULL && n > 0)
        return AMATERS_EINVAL;
    for (size_t i = 0; i < n; i++) {
        const struct amaters_write_op *op = &ops[i];
        if (op->key == NULL && op->key_len > 0)
            return AMATERS_EINVAL;
        if (op->kind == AMATERS_WRITE_PUT) {
            if (op->value == NULL && op->value_len > 0)
                return AMATERS_EINVAL;
            (*puts)++;
        } else if (op->kind != AMATERS_WRITE_DELETE) {
            return AMATERS_EINVAL;
        }
    }
    return 0;
}

static void free_chain(struct node *n)
{
    while (n != NULL) {
        struct node *next = n->next[0];
        node_unref(n);
        n = next;
    }
}

static int mem_write(struct amaters_engine *base,
                     const struct amaters_write_op *ops, size_t n)
{
    struct memory_engine *e = (struct memory_engine *)base;
    struct node **nodes = NULL;
    struct node *garbage = NULL;
    size_t puts = 0;
    size_t made = 0;
    int rv = validate_batch(ops, n, &puts);

    if (rv != 0 || n == 0)
        return rv;
    if (puts > 0) {
        nodes = amaters_calloc(puts, sizeof *nodes);
        if (nodes == NULL) {
            rv = AMATERS_ENOMEM;
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (ops[i].kind != AMATERS_WRITE_PUT)
            continue;
        nodes[made] = node_new(random_level(e), ops[i].key, ops[i].key_len,
                               ops[i].value, ops[i].value_len);
        if (nodes[made] == NULL) {
            rv = AMATERS_ENOMEM;
            goto out;
        }
        made++;
    }
    pthread_rwlock_wrlock(&e->lock);
    for (size_t i = 0, p = 0; i < n; i++) {
        if (ops[i].kind == AMATERS_WRITE_PUT)
            apply_put(e, nodes[p++], &garbage);
        else
            apply_delete(e, ops[i].key, ops[i].key_len, &garbage);
    }
    pthread_rwlock_unlock(&e->lock);
    made = 0; /* every node now belongs to the list (or the garbage) */
out:
    for (size_t i = 0; i < made; i++)
        node_unref(nodes[i]);
    amaters_free(nodes);
    free_chain(garbage);
    return rv;
}

static int mem_flush(struct amaters_engine *base)
{
    (void)base;
    return 0;
}

static int mem_stats(struct amaters_engine *base,
                     struct amaters_engine_stats *out)
{
    struct memory_engine *e = (struct memory_engine *)base;

    if (out == NULL)
        return AMATERS_EINVAL;
    memset(out, 0, sizeof *out); /* no background write pipeline */
    pthread_rwlock_rdlock(&e->lock);
    out->key_count = e->key_count;
    out->data_bytes = e->data_bytes;
    pthread_rwlock_unlock(&e->lock);
    return 0;
}

/* Fills it->chunk with up to ITER_CHUNK entries after it->cur (or from
 * it->start when nothing was returned yet), taking a reference on each.
 * Called with the chunk empty. */
static void iter_refill(struct memory_iter *it)
{
    struct memory_engine *e = it->e;
    struct node *n;
    size_t bytes = 0;

    it->pos = 0;
    it->count = 0;
    pthread_rwlock_rdlock(&e->lock);
    if (it->cur != NULL) {
        n = find_ge(e, it->cur->key, it->cur->key_len, NULL);
        if (node_has_key(n, it->cur->key, it->cur->key_len))
            n = n->next[0];
    } else {
        n = find_ge(e, it->start, it->start_len, NULL);
    }
    while (it->count < ITER_CHUNK && bytes < ITER_CHUNK_BYTES) {
        if (n == NULL || (it->end != NULL &&
                          key_cmp(n->key, n->key_len, it->end,
                                  it->end_len) >= 0)) {
            it->exhausted = true;
            break;
        }
        node_ref(n);
        it->chunk[it->count++] = n;
        bytes += n->key_len + n->value_len;
        n = n->next[0];
    }
    pthread_rwlock_unlock(&e->lock);
}

static int mem_iter_next(struct amaters_engine_iter *base,
                         const uint8_t **key, size_t *key_len,
                         const uint8_t **value, size_t *value_len)
{
    struct memory_iter *it = (struct memory_iter *)base;
    struct node *prev = it->cur;

    if (key == NULL || key_len == NULL || value == NULL || value_len == NULL)
        return AMATERS_EINVAL;
    if (it->pos == it->count && !it->exhausted)
        iter_refill(it); /* seeks past it->cur, so release prev after */
    it->cur = NULL;
    if (it->pos < it->count) {
        it->cur = it->chunk[it->pos];
        it->chunk[it->pos++] = NULL;
    }
    node_unref(prev);
    if (it->cur == NULL)
        return 0;
    *key = it->cur->key;
    *key_len = it->cur->key_len;
    *value = it->cur->value;
    *value_len = it->cur->value_len;
    return 1;
}

static void mem_iter_close(struct amaters_engine_iter *base)
{
    struct memory_iter *it = (struct memory_iter *)base;

    if (it == NULL)
        return;
    node_unref(it->cur);
    for (size_t i = it->pos; i < it->count; i++)
        node_unref(it->chunk[i]);
    amaters_free(it->start);
    amaters_free(it->end);
    amaters_free(it);
}

static int mem_iter_open(struct amaters_engine *base, const uint8_t *start,
                         size_t start_len, const uint8_t *end,
                         size_t end_len, struct amaters_engine_iter **out)
{
    struct memory_iter *it;

    if (out == NULL || (start == NULL && start_len > 0))
        return AMATERS_EINVAL;
    it = amaters_calloc(1, sizeof *it);
    if (it == NULL)
        return AMATERS_ENOMEM;
    it->base.ops = &amaters_engine_memory_ops;
    it->e = (struct memory_engine *)base;
    it->start = amaters_memdup(start, start_len);
    it->start_len = start_len;
    if (end != NULL)
        it->end = amaters_memdup(end, end_len);
    it->end_len = end_len;
    if (it->start == NULL || (end != NULL && it->end == NULL)) {
        mem_iter_close(&it->base);
        return AMATERS_ENOMEM;
    }
    if (end != NULL && key_cmp(start, start_len, end, end_len) >= 0)
        it->exhausted = true;
    *out = &it->base;
    return 0;
}

const struct amaters_engine_ops amaters_engine_memory_ops = {
    .version = AMATERS_ENGINE_OPS_VERSION,
    .name = "memory",
    .open = mem_open,
    .close = mem_close,
    .get = mem_get,
    .write = mem_write,
    .iter_open = mem_iter_open,
    .iter_next = mem_iter_next,
    .iter_close = mem_iter_close,
    .flush = mem_flush,
    .stats = mem_stats,
    .compact = NULL, /* nothing to compact: see the top of this file */
    .interrupt = NULL, /* no maintenance a caller waits for: no-op */
};
