/*
 * log_ring.c - the last AMATERS_LOG_RECENT_LINES log records, kept in
 * static storage for the admin LOGS command. Static so that logging never
 * allocates memory that outlives a call (which would upset leak checks in
 * every module's tests).
 *
 * Each slot carries the sequence number of the record in it; a reader
 * snapshots the range of sequence numbers, then copies one slot at a time
 * under the mutex and calls back without it, skipping slots overwritten in
 * the meantime. So a callback may log without deadlocking.
 */
#include <pthread.h>
#include <string.h>

#include "obs/log.h"
#include "obs/log_internal.h"

struct ring_entry {
    uint64_t seq; /* 0 = empty */
    char ts[32];
    char level[8];
    char msg[OBS_LOG_RING_MSG];
};

/* All guarded by ring_mu. */
static pthread_mutex_t ring_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ring_entry ring[AMATERS_LOG_RECENT_LINES];
static uint64_t next_seq = 1;  /* sequence number of the next record */
static uint64_t first_seq = 1; /* oldest record not cleared */

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);

    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Copies at most cap-1 bytes of the UTF-8 text src[0..n), never splitting
 * a multi-byte sequence. */
static void copy_utf8(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

void obs_log_ring_push(const char *ts, const char *level, const char *msg,
                       size_t msglen)
{
    struct ring_entry *e;

    pthread_mutex_lock(&ring_mu);
    e = &ring[next_seq % AMATERS_LOG_RECENT_LINES];
    e->seq = next_seq++;
    copy_str(e->ts, sizeof e->ts, ts);
    copy_str(e->level, sizeof e->level, level);
    copy_utf8(e->msg, sizeof e->msg, msg, msglen);
    pthread_mutex_unlock(&ring_mu);
}

void obs_log_ring_clear(void)
{
    pthread_mutex_lock(&ring_mu);
    for (size_t i = 0; i < AMATERS_LOG_RECENT_LINES; i++)
        ring[i].seq = 0;
    first_seq = next_seq;
    pthread_mutex_unlock(&ring_mu);
}

size_t amaters_log_recent(size_t n,
                          void (*cb)(const char *timestamp, const char *level,
                                     const char *message, void *arg),
                          void *arg)
{
    uint64_t start;
    uint64_t end;
    size_t calls = 0;
    struct ring_entry copy;

    if (n > AMATERS_LOG_RECENT_LINES)
        n = AMATERS_LOG_RECENT_LINES;
    pthread_mutex_lock(&ring_mu);
    end = next_seq;
    start = end - first_seq > n ? end - n : first_seq;
    pthread_mutex_unlock(&ring_mu);

    for (uint64_t seq = start; seq < end; seq++) {
        bool live;

        pthread_mutex_lock(&ring_mu);
        live = ring[seq % AMATERS_LOG_RECENT_LINES].seq == seq;
        if (live)
            copy = ring[seq % AMATERS_LOG_RECENT_LINES];
        pthread_mutex_unlock(&ring_mu);
        if (!live)
            continue;
        cb(copy.ts, copy.level, copy.msg, arg);
        calls++;
    }
    return calls;
}
