/*
 * engine.h - the storage engine interface.
 *
 * A storage engine is an ordered map from byte-string keys to byte-string
 * values with atomic multi-key writes and forward range iteration. Engines
 * know nothing of collections, CipherBlobs or the wire: the query layer
 * encodes collection + user key into one engine key (storage/keys.h) and
 * the value into a record (storage/record.h) before calling an engine.
 *
 * Engines are `const struct amaters_engine_ops` tables (versioned, like
 * raft_io); every engine instance begins with a pointer to its ops so the
 * inline wrappers below can dispatch. Engines: "memory" (engine_memory.c)
 * and later "lsm" (RocksDB). All must pass tests/unit/test_engine_conformance.c.
 *
 * Threads: every function may be called from any thread concurrently,
 * except close(), which the caller must call once, after every other call
 * and every iterator on the engine has finished.
 */
#ifndef AMATERS_STORAGE_ENGINE_H
#define AMATERS_STORAGE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/errors.h"

/* 1: the first table; 2: compact() added (optional); 3: interrupt()
 * added (optional). */
#define AMATERS_ENGINE_OPS_VERSION 3

struct amaters_engine;
struct amaters_engine_iter;

/* Options for open(). Strings are borrowed for the duration of open(). */
struct amaters_engine_options {
    const char *path;          /* data directory (ignored by "memory") */
    size_t memtable_size_mb;   /* write buffer size hint */
    size_t block_cache_size_mb;
    int sync_mode;             /* enum amaters_sync_mode */
    unsigned sync_interval_ms; /* for AMATERS_SYNC_INTERVAL */
    unsigned commit_spin_us;   /* lsm: see storage.wal.commit_spin_us */
    /* lsm only; 0 / NULL = the engine's default */
    int compaction_style;       /* enum amaters_compaction_style */
    unsigned num_levels;        /* levels of leveled compaction */
    unsigned level_multiplier;  /* size ratio between levels */
    unsigned max_compactions;   /* concurrent background compactions */
    bool disable_wal;           /* no WAL: writes live in memtables only */
    const char *wal_dir;        /* WAL directory (absolute or relative to
                                 * path); NULL or "" = inside the DB */
    size_t wal_size_mb;         /* WAL bytes before memtables are flushed
                                 * and old WAL files freed */
    size_t blob_min_size;       /* values this large go to blob files;
                                 * (size_t)-1 = no blob files */
};

enum amaters_compaction_style {
    AMATERS_COMPACTION_STYLE_LEVELED = 0,
    AMATERS_COMPACTION_STYLE_UNIVERSAL = 1,
    AMATERS_COMPACTION_STYLE_FIFO = 2,
};

enum amaters_sync_mode {
    AMATERS_SYNC_ALWAYS = 0,
    AMATERS_SYNC_INTERVAL = 1,
    AMATERS_SYNC_NONE = 2,
};

enum amaters_write_kind {
    AMATERS_WRITE_PUT = 1,
    AMATERS_WRITE_DELETE = 2,
};

/* One write of a batch. Buffers are borrowed for the duration of write(). */
struct amaters_write_op {
    enum amaters_write_kind kind;
    const uint8_t *key;
    size_t key_len;
    const uint8_t *value; /* PUT only; may be NULL when value_len == 0 */
    size_t value_len;
};

struct amaters_engine_stats {
    uint64_t key_count;   /* live keys */
    uint64_t data_bytes;  /* sum of key and value bytes of live keys */
    /* Write-path health (0 for engines without a background pipeline):
     * cumulative microseconds writes were slowed down or stopped, whether
     * they are stopped now, the rate they are held to while slowed (bytes
     * per second, 0 when not slowed), compaction debt and memtables
     * waiting to be flushed. */
    uint64_t write_stall_us;
    uint64_t write_stopped;
    uint64_t delayed_write_rate;
    uint64_t pending_compaction_bytes;
    uint64_t immutable_memtables;
    /* On-disk size (0 for engines without files): bytes of the table
     * files of the engine's current tree (SST files for "lsm", every
     * column family) and of its blob files. Files a compaction has made
     * obsolete do not count, even while an iterator still pins them. */
    uint64_t sst_bytes;
    uint64_t blob_bytes;
    /* 0, or the code every write has failed with since a write or WAL
     * sync failed (full disk, I/O error): sticky until the engine is
     * reopened; write_error then says what failed ("" otherwise). */
    int write_failed;
    char write_error[256];
};

struct amaters_engine_ops {
    int version; /* AMATERS_ENGINE_OPS_VERSION */
    const char *name;

    /* Opens an engine. On failure returns a negative code and writes a
     * message naming what failed into err (errlen bytes). On success *out
     * is owned by the caller and released with close(). */
    int (*open)(const struct amaters_engine_options *opts,
                struct amaters_engine **out, char *err, size_t errlen);

    /* Flushes and releases everything. */
    void (*close)(struct amaters_engine *e);

    /* Looks key up. Returns 0 and sets *value (owned by the caller, free
     * with amaters_free; never NULL on success, even for an empty value)
     * and *value_len; AMATERS_ENOTFOUND if absent; other negative codes on
     * failure. */
    int (*get)(struct amaters_engine *e, const uint8_t *key, size_t key_len,
               uint8_t **value, size_t *value_len);

    /* Applies n writes atomically: after a crash or failure either all or
     * none are visible, and a concurrent reader never sees a part. Later
     * ops on the same key win. Returns 0 or a negative code (nothing
     * applied). */
    int (*write)(struct amaters_engine *e, const struct amaters_write_op *ops,
                 size_t n);

    /* Opens a forward iterator over keys in [start, end) in unsigned byte
     * order; end == NULL means unbounded. Start and end are copied. The
     * iterator is safe against concurrent writes: it never crashes and
     * returns keys in strictly ascending order, each at most once (engines
     * document whether it reads a consistent snapshot). *out is owned by
     * the caller and released with iter_close(). */
    int (*iter_open)(struct amaters_engine *e, const uint8_t *start,
                     size_t start_len, const uint8_t *end, size_t end_len,
                     struct amaters_engine_iter **out);

    /* Advances the iterator. Returns 1 and sets key/value to buffers owned
     * by the iterator, valid until the next call on it; 0 at the end;
     * a negative code on failure. */
    int (*iter_next)(struct amaters_engine_iter *it, const uint8_t **key,
                     size_t *key_len, const uint8_t **value,
                     size_t *value_len);

    void (*iter_close)(struct amaters_engine_iter *it);

    /* Makes every acknowledged write durable (no-op for "memory"; "lsm"
     * without a WAL holds writes back while it writes the memtables). */
    int (*flush)(struct amaters_engine *e);

    /* Fills *out with current figures. */
    int (*stats)(struct amaters_engine *e, struct amaters_engine_stats *out);

    /* Optional (NULL: callers use write()). Queues n writes, applied
     * atomically exactly as write() would, and returns at once: 0 when
     * queued, in which case done(arg, rc) is called exactly once, from an
     * engine thread, after the writes are applied and as durable as the
     * sync mode promises (or failed: rc < 0); or a negative code, in which
     * case done is never called. ops and every buffer they point to must
     * stay valid until done runs. done must not block for long: it runs
     * on the engine's committer. This is what lets request threads hand a
     * write over instead of blocking on fsync. */
    int (*write_async)(struct amaters_engine *e,
                       const struct amaters_write_op *ops, size_t n,
                       void (*done)(void *arg, int rc), void *arg);

    /* Optional (NULL: writes are visible when write() returns, nothing to
     * wait for). Returns once every write queued before the call (by
     * write or write_async) has been applied, so that reads see it. The
     * caller must make sure nothing keeps queueing writes meanwhile
     * (the executor holds its transaction lock exclusively), or this may
     * wait as long as writes keep coming. Any thread. */
    void (*barrier)(struct amaters_engine *e);

    /* Optional (NULL: the engine keeps no files and has nothing to
     * compact, as "memory"). Writes every memtable to disk (as flush()
     * does), then compacts the stored keys in [start, end) in unsigned
     * byte order: the files holding them are rewritten so that
     * overwritten and deleted versions are dropped and their space given
     * back; files with no key in the range are left alone (an engine may
     * also rewrite one whose first key is end). start == NULL
     * (start_len 0) means from the first key, end == NULL (end_len 0) to
     * the last; with both NULL the whole engine is compacted, its own
     * metadata included. An empty range (start >= end) only flushes.
     * Blocks until the compaction has finished (seconds to minutes on a
     * large database); reads and writes go on meanwhile, from any
     * thread, and the data read is unchanged by it. Returns 0;
     * AMATERS_EINVAL for a NULL pointer with a non-zero length; the
     * flush's codes; another negative code when the compaction failed
     * ("lsm": AMATERS_EIO, RocksDB does not tell the cause); the data is
     * then as before (a failed compaction leaves the old files in
     * place); AMATERS_ESHUTDOWN once interrupt() was called (see there).
     * Any thread; never concurrently with close(). */
    int (*compact)(struct amaters_engine *e, const uint8_t *start,
                   size_t start_len, const uint8_t *end, size_t end_len);

    /* Optional (NULL: the engine runs no long maintenance a caller waits
     * for, as "memory": nothing to do). Cancels manual maintenance for
     * the rest of this open engine, for a shutdown: a compact() running
     * in another thread stops early and returns AMATERS_ESHUTDOWN (what
     * reads return is unchanged, as with any compaction; part of the
     * files may have been rewritten), and every later compact() returns
     * AMATERS_ESHUTDOWN at once, doing nothing. Nothing else changes:
     * get, write, iterators, flush, stats and close() work as before,
     * and a new open() of the same data starts uninterrupted. May block
     * for a moment, until a running compaction has noticed ("lsm": see
     * docs/internals/storage.md for when RocksDB checks). Idempotent.
     * Any thread, while other calls run; never concurrently with or
     * after close(). */
    void (*interrupt)(struct amaters_engine *e);
};

/* Every engine struct and every iterator struct starts with this header
 * (engines embed it as their first member). */
struct amaters_engine {
    const struct amaters_engine_ops *ops;
};
struct amaters_engine_iter {
    const struct amaters_engine_ops *ops;
};

/* Returns the engine named name ("memory", "lsm"), or NULL if this build
 * has no such engine. */
const struct amaters_engine_ops *amaters_engine_find(const char *name);

/* The built-in engines. */
extern const struct amaters_engine_ops amaters_engine_memory_ops;

static inline int amaters_engine_get(struct amaters_engine *e,
                                     const uint8_t *key, size_t key_len,
                                     uint8_t **value, size_t *value_len)
{
    return e->ops->get(e, key, key_len, value, value_len);
}

static inline int amaters_engine_write(struct amaters_engine *e,
                                       const struct amaters_write_op *ops,
                                       size_t n)
{
    return e->ops->write(e, ops, n);
}

/* Waits until every write queued so far is applied (see barrier). */
static inline void amaters_engine_barrier(struct amaters_engine *e)
{
    if (e->ops->barrier)
        e->ops->barrier(e);
}

/* Compacts [start, end) (see compact). Returns AMATERS_EUNSUPPORTED,
 * doing nothing, when the engine has no compact op. */
static inline int amaters_engine_compact(struct amaters_engine *e,
                                         const uint8_t *start,
                                         size_t start_len,
                                         const uint8_t *end, size_t end_len)
{
    if (e->ops->compact == NULL)
        return AMATERS_EUNSUPPORTED;
    return e->ops->compact(e, start, start_len, end, end_len);
}

/* Cancels manual maintenance for a shutdown (see interrupt); does nothing
 * when the engine has no interrupt op or e is NULL. */
static inline void amaters_engine_interrupt(struct amaters_engine *e)
{
    if (e && e->ops->interrupt)
        e->ops->interrupt(e);
}

static inline int amaters_engine_iter_open(struct amaters_engine *e,
                                           const uint8_t *start,
                                           size_t start_len,
                                           const uint8_t *end, size_t end_len,
                                           struct amaters_engine_iter **out)
{
    return e->ops->iter_open(e, start, start_len, end, end_len, out);
}

static inline int amaters_engine_iter_next(struct amaters_engine_iter *it,
                                           const uint8_t **key,
                                           size_t *key_len,
                                           const uint8_t **value,
                                           size_t *value_len)
{
    return it->ops->iter_next(it, key, key_len, value, value_len);
}

static inline void amaters_engine_iter_close(struct amaters_engine_iter *it)
{
    if (it)
        it->ops->iter_close(it);
}

static inline void amaters_engine_close(struct amaters_engine *e)
{
    if (e)
        e->ops->close(e);
}

#endif
