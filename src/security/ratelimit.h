/*
 * ratelimit.h - request rate limits: one token bucket per principal plus
 * one global bucket.
 *
 * A bucket allows a steady rate of rps requests per second with bursts of
 * up to burst requests; it is kept as the "theoretical arrival time" of
 * the generic cell rate algorithm, which is exactly a token bucket without
 * floating point. A request is admitted only when both its principal's
 * bucket and the global bucket admit it, and only then are both charged,
 * so a refused request costs nothing. Buckets idle for longer than
 * idle_expiry_ns (and therefore full again) are removed. The number of
 * per-principal buckets is capped (max_keys); when the table is full,
 * new principals share one overflow bucket, so memory stays bounded
 * whatever names arrive.
 *
 * Time is passed in by the caller (monotonic nanoseconds, e.g.
 * amaters_now_ns()), which keeps the limiter deterministic under test.
 *
 * Threads: every function may be called from any thread; one mutex guards
 * the table (each call holds it for a hash lookup and a few arithmetic
 * operations; the periodic sweep of idle buckets runs under it too, at
 * most once per idle_expiry_ns / 2).
 */
#ifndef AMATERS_SECURITY_RATELIMIT_H
#define AMATERS_SECURITY_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct amaters_ratelimit_options {
    uint32_t rps;             /* per principal; 0 = unlimited */
    uint32_t burst;           /* per principal; 0 = same as rps */
    uint32_t global_rps;      /* all requests; 0 = unlimited */
    uint32_t global_burst;    /* 0 = same as global_rps */
    uint64_t idle_expiry_ns;  /* 0 = 10 minutes; raised to the refill time */
    size_t max_keys;          /* 0 = 100000 */
};

struct amaters_ratelimit;

/*
 * Creates a limiter. Returns 0 with *out owned by the caller (free with
 * amaters_ratelimit_free), AMATERS_EINVAL (NULL arguments) or
 * AMATERS_ENOMEM.
 */
int amaters_ratelimit_new(struct amaters_ratelimit **out,
                          const struct amaters_ratelimit_options *opt);

/* Frees rl. NULL is ignored. No other thread may be using it. */
void amaters_ratelimit_free(struct amaters_ratelimit *rl);

/*
 * Takes one token for key (the principal; NULL or "" means anonymous,
 * which has its own bucket) at monotonic time now_ns. Returns 0 when the
 * request may proceed, or AMATERS_EOVERLOAD with *retry_after_secs (when
 * not NULL) set to the whole seconds, at least 1, until it would be
 * admitted; or AMATERS_ENOMEM (the request is refused; nothing charged).
 */
int amaters_ratelimit_take(struct amaters_ratelimit *rl, const char *key,
                           uint64_t now_ns, uint32_t *retry_after_secs);

/* Returns the number of per-principal buckets currently kept (after
 * removing the ones idle at now_ns). */
size_t amaters_ratelimit_size(struct amaters_ratelimit *rl, uint64_t now_ns);

#endif
