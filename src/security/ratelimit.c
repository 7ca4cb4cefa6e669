/*
 * ratelimit.c - token buckets (GCRA form) in a chained hash table keyed by
 * principal, plus the global bucket (see ratelimit.h).
 */
#include "security/ratelimit.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "core/alloc.h"
#include "core/errors.h"

#define NS_PER_SEC 1000000000ull
#define DEFAULT_IDLE (600ull * NS_PER_SEC)
#define DEFAULT_MAX_KEYS 100000u
#define INITIAL_BUCKETS 64u

/* One bucket's rule: emission interval and burst tolerance, in ns. */
struct rule {
    uint64_t interval; /* ns per token; 0 = unlimited */
    uint64_t tolerance;
};

/* One principal's bucket. Guarded by the limiter's mu. */
struct entry {
    struct entry *next;
    uint64_t hash;
    uint64_t tat;       /* theoretical arrival time, ns */
    uint64_t last_seen; /* ns */
    char key[];
};

struct amaters_ratelimit {
    pthread_mutex_t mu;
    /* Immutable after new: */
    struct rule per_key, global;
    uint64_t idle_ns;
    size_t max_keys;
    /* Guarded by mu: */
    struct entry **slots;
    size_t nslots, count;
    uint64_t global_tat;
    struct entry *overflow; /* shared by new keys when the table is full */
    uint64_t next_sweep;
};

static struct rule make_rule(uint32_t rps, uint32_t burst)
{
    struct rule r = {0, 0};

    if (rps == 0)
        return r;
    if (burst == 0)
        burst = rps;
    r.interval = NS_PER_SEC / rps;
    if (r.interval == 0)
        r.interval = 1;
    r.tolerance = r.interval * (uint64_t)(burst - 1);
    return r;
}

int amaters_ratelimit_new(struct amaters_ratelimit **out,
                          const struct amaters_ratelimit_options *opt)
{
    struct amaters_ratelimit *rl;

    if (out == NULL || opt == NULL)
        return AMATERS_EINVAL;
    *out = NULL;
    rl = amaters_calloc(1, sizeof *rl);
    if (rl == NULL)
        return AMATERS_ENOMEM;
    rl->slots = amaters_calloc(INITIAL_BUCKETS, sizeof *rl->slots);
    rl->overflow = amaters_calloc(1, sizeof *rl->overflow + 1);
    if (rl->slots == NULL || rl->overflow == NULL) {
        amaters_free(rl->slots);
        amaters_free(rl->overflow);
        amaters_free(rl);
        return AMATERS_ENOMEM;
    }
    rl->nslots = INITIAL_BUCKETS;
    pthread_mutex_init(&rl->mu, NULL);
    rl->per_key = make_rule(opt->rps, opt->burst);
    rl->global = make_rule(opt->global_rps, opt->global_burst);
    rl->idle_ns = opt->idle_expiry_ns == 0 ? DEFAULT_IDLE
                                           : opt->idle_expiry_ns;
    if (rl->idle_ns < rl->per_key.interval + rl->per_key.tolerance)
        rl->idle_ns = rl->per_key.interval + rl->per_key.tolerance;
    rl->max_keys = opt->max_keys == 0 ? DEFAULT_MAX_KEYS : opt->max_keys;
    *out = rl;
    return 0;
}

void amaters_ratelimit_free(struct amaters_ratelimit *rl)
{
    if (rl == NULL)
        return;
    for (size_t i = 0; i < rl->nslots; i++) {
        struct entry *e = rl->slots[i];
        while (e != NULL) {
            struct entry *next = e->next;
            amaters_free(e);
            e = next;
        }
    }
    amaters_free(rl->slots);
    amaters_free(rl->overflow);
    pthread_mutex_destroy(&rl->mu);
    amaters_free(rl);
}

/* FNV-1a, 64 bits. */
static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

/* Removes entries idle since before now - idle_ns with full buckets. */
static void sweep(struct amaters_ratelimit *rl, uint64_t now)
{
    for (size_t i = 0; i < rl->nslots; i++) {
        struct entry **pp = &rl->slots[i];
        while (*pp != NULL) {
            struct entry *e = *pp;
            if (e->tat <= now && now >= e->last_seen &&
                now - e->last_seen >= rl->idle_ns) {
                *pp = e->next;
                amaters_free(e);
                rl->count--;
            } else {
                pp = &e->next;
            }
        }
    }
    rl->next_sweep = now + rl->idle_ns / 2;
}

static void grow(struct amaters_ratelimit *rl)
{
    size_t n = rl->nslots * 2;
    struct entry **slots = amaters_calloc(n, sizeof *slots);

    if (slots == NULL)
        return; /* keep the old table: longer chains, still correct */
    for (size_t i = 0; i < rl->nslots; i++) {
        struct entry *e = rl->slots[i];
        while (e != NULL) {
            struct entry *next = e->next;
            e->next = slots[e->hash & (n - 1)];
            slots[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    amaters_free(rl->slots);
    rl->slots = slots;
    rl->nslots = n;
}

/* Finds or adds key's bucket. Returns NULL on allocation failure. */
static struct entry *lookup(struct amaters_ratelimit *rl, const char *key,
                            uint64_t now)
{
    uint64_t h = hash_key(key);
    size_t len;
    struct entry *e;

    for (e = rl->slots[h & (rl->nslots - 1)]; e != NULL; e = e->next)
        if (e->hash == h && strcmp(e->key, key) == 0)
            return e;
    if (rl->count >= rl->max_keys)
        sweep(rl, now);
    if (rl->count >= rl->max_keys)
        return rl->overflow;
    len = strlen(key);
    e = amaters_malloc(sizeof *e + len + 1);
    if (e == NULL)
        return NULL;
    memcpy(e->key, key, len + 1);
    e->hash = h;
    e->tat = now;
    e->last_seen = now;
    e->next = rl->slots[h & (rl->nslots - 1)];
    rl->slots[h & (rl->nslots - 1)] = e;
    rl->count++;
    if (rl->count > rl->nslots)
        grow(rl);
    return e;
}

/* Would a request at now be admitted by a bucket at tat? When not, *wait
 * gets the ns until it would. */
static bool admits(const struct rule *r, uint64_t tat, uint64_t now,
                   uint64_t *wait)
{
    if (r->interval == 0 || tat <= now + r->tolerance)
        return true;
    *wait = tat - r->tolerance - now;
    return false;
}

static uint64_t charge(const struct rule *r, uint64_t tat, uint64_t now)
{
    return (tat > now ? tat : now) + r->interval;
}

int amaters_ratelimit_take(struct amaters_ratelimit *rl, const char *key,
                           uint64_t now_ns, uint32_t *retry_after_secs)
{
    struct entry *e = NULL;
    uint64_t wait_k = 0, wait_g = 0, wait;
    bool ok_k, ok_g;
    int rv = 0;

    if (rl == NULL)
        return AMATERS_EINVAL;
    pthread_mutex_lock(&rl->mu);
    if (now_ns >= rl->next_sweep)
        sweep(rl, now_ns);
    if (rl->per_key.interval != 0) {
        e = lookup(rl, key == NULL ? "" : key, now_ns);
        if (e == NULL) {
            rv = AMATERS_ENOMEM;
            goto out;
        }
        e->last_seen = now_ns;
    }
    ok_k = e == NULL || admits(&rl->per_key, e->tat, now_ns, &wait_k);
    ok_g = admits(&rl->global, rl->global_tat, now_ns, &wait_g);
    if (ok_k && ok_g) {
        if (e != NULL)
            e->tat = charge(&rl->per_key, e->tat, now_ns);
        if (rl->global.interval != 0)
            rl->global_tat = charge(&rl->global, rl->global_tat, now_ns);
        goto out;
    }
    rv = AMATERS_EOVERLOAD;
    wait = wait_k > wait_g ? wait_k : wait_g;
    if (retry_after_secs != NULL) {
        uint64_t secs = (wait + NS_PER_SEC - 1) / NS_PER_SEC;
        *retry_after_secs = secs == 0 ? 1
                            : secs > UINT32_MAX ? UINT32_MAX
                                                : (uint32_t)secs;
    }
out:
    pthread_mutex_unlock(&rl->mu);
    return rv;
}

size_t amaters_ratelimit_size(struct amaters_ratelimit *rl, uint64_t now_ns)
{
    size_t n;

    pthread_mutex_lock(&rl->mu);
    sweep(rl, now_ns);
    n = rl->count;
    pthread_mutex_unlock(&rl->mu);
    return n;
}
