/*
 * engine_rocks_int.h - private to the "lsm" engine (engine_rocks*.c): the
 * engine struct shared by its files, and the functions each file offers
 * the others. engine_rocks.c holds the ops table, reads and iterators;
 * engine_rocks_open.c the FORMAT file and the RocksDB options;
 * engine_rocks_commit.c the commit queue, the committer and the interval
 * syncer.
 */
#ifndef AMATERS_STORAGE_ENGINE_ROCKS_INT_H
#define AMATERS_STORAGE_ENGINE_ROCKS_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rocksdb/c.h>

#include "storage/engine.h"
#include "storage/engine_rocks.h"

/* Version of this engine's own layout inside its directory: the column
 * families ("default" = user keys, "meta"), the meta keys and the stats
 * record below. Bump on any change, with a reader for the old one. */
#define LSM_LAYOUT_VERSION 1

/* Name of the column family for engine metadata, and its keys. */
#define LSM_META_CF "meta"
#define LSM_META_STATS "stats" /* u64 key_count, u64 data_bytes, LE */
#define LSM_STATS_LEN 16

/* The stats record: key_count then data_bytes, little-endian u64s. */
static inline void lsm_stats_encode(uint8_t st[LSM_STATS_LEN], uint64_t keys,
                                    uint64_t bytes)
{
    for (int i = 0; i < 8; i++) {
        st[i] = (uint8_t)(keys >> (8 * i));
        st[8 + i] = (uint8_t)(bytes >> (8 * i));
    }
}

/* One write() call waiting in the commit queue. Lives on the caller's
 * stack; ops are borrowed (the caller blocks until done). next, rv and
 * done are guarded by the engine's mu. */
struct lsm_request {
    const struct amaters_write_op *ops;
    size_t n;
    size_t bytes; /* key + value bytes of ops */
    int rv;
    bool done;
    struct lsm_request *next;
    /* write_async(): the completion, called by the committer without mu
     * held; such requests are heap-allocated and freed after it. */
    void (*cb)(void *arg, int rc);
    void *cb_arg;
};

/* The committer's per-group view of one key: whether it is live and its
 * value length, after the group's ops so far. Committer thread only. */
struct lsm_slot {
    const uint8_t *key; /* borrowed from a queued op; NULL: empty slot */
    size_t key_len;
    uint64_t hash;
    bool live;
    size_t value_len;
};

struct lsm_engine {
    struct amaters_engine base; /* must be first */

    /* Immutable after open(). */
    rocksdb_t *db;
    rocksdb_options_t *dbopts;
    rocksdb_block_based_table_options_t *table;
    rocksdb_cache_t *cache; /* NULL when block_cache_size_mb is 0 */
    rocksdb_column_family_handle_t *cf_data;
    rocksdb_column_family_handle_t *cf_meta;
    rocksdb_readoptions_t *ropts;
    rocksdb_writeoptions_t *wopts; /* sync only in mode "always" */
    int sync_mode;
    unsigned sync_interval_ms;
    bool no_wal; /* disable_wal: flush() holds the committer */

    /* The commit queue: guarded by mu. */
    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* committer waits for work or stop */
    pthread_cond_t done_cv; /* callers wait for their request */
    struct lsm_request *head;
    struct lsm_request *tail;
    bool committing; /* the committer is writing a group it took */
    bool stopping;
    unsigned held;   /* lsm_commit_hold() calls not yet released */
    size_t max_group; /* calls per group; 0: unlimited */

    /* Live figures, guarded by mu; written by the committer only. */
    uint64_t key_count;
    uint64_t data_bytes;

    /* Committer thread only. */
    struct lsm_slot *slots;
    size_t slot_cap; /* power of two, or 0 */

    atomic_uint_fast64_t groups; /* RocksDB writes made by the committer */
    atomic_uint_fast64_t enqueued; /* requests ever queued (spin watch) */
    unsigned spin_us; /* commit_spin_us; immutable after open() */
    /* Fault injection for tests only: AMATERS_TEST_COMMIT_DELAY_MS in the
     * environment at open() delays every commit group by that much (a
     * stalled disk). 0 normally; immutable after open(), which logs a
     * WARN line (component "storage") when it is set. */
    unsigned test_delay_ms;
    bool committer_running;      /* open()/close() only */

    /* The interval syncer (sync mode "interval"). */
    pthread_mutex_t sync_mu;
    pthread_cond_t sync_cv; /* CLOCK_MONOTONIC */
    bool sync_stop;         /* guarded by sync_mu */
    bool syncer_running;    /* open()/close() only */
    pthread_t syncer;
    pthread_t committer;
    /* The first failed RocksDB write or WAL sync, 0 if none: sticky. A
     * WAL file that saw an error must not be written or synced again
     * (RocksDB asserts), so from then on write(), flush() and close()
     * leave RocksDB's write path alone and write()/flush() return this
     * code until the engine is reopened. */
    atomic_int failed;
    /* What that failure was ("write: IO error: No space left ..."), set
     * once with it; guarded by mu. */
    char fail_msg[256];
    /* Set once by interrupt() (a shutdown began): compact() returns
     * AMATERS_ESHUTDOWN from then on, and manual compactions are
     * disabled in RocksDB. Any thread. */
    atomic_bool interrupted;
};

/* ---- engine_rocks.c ---- */

/* Records rv (< 0) as the engine's sticky write-path failure unless one
 * is already recorded. Returns rv. */
int lsm_set_failed(struct lsm_engine *e, int rv);

/* The same for a RocksDB error string rerr (freed): converts it as
 * lsm_error does and, for the first failure only, keeps "what: <text>" in
 * fail_msg and logs it (ERROR), saying that writes now fail until the
 * server restarts. Returns the code. Any thread. */
int lsm_fail(struct lsm_engine *e, char *rerr, const char *what);

/* Converts a RocksDB error string (owned by RocksDB, may be NULL) to an
 * AMATERS_E* code: no space -> EFULL, corruption -> ECORRUPT, else EIO.
 * If msg is not NULL, writes "what: <rocksdb text>" into it. Frees rerr
 * with rocksdb_free(). Returns 0 when rerr is NULL. */
int lsm_error(char *rerr, const char *what, char *msg, size_t msglen);

/* ---- engine_rocks_open.c ---- */

/* Checks, or creates, the FORMAT file of the engine directory dir
 * (<path>/lsm). A new FORMAT is written only when dir holds no RocksDB
 * database yet. Returns 0, AMATERS_EUNSUPPORTED for versions this build
 * does not know, AMATERS_ECORRUPT for a malformed or missing FORMAT next
 * to an existing database, AMATERS_EIO; writes a message naming the file
 * into err on failure. */
int lsm_format_check(const char *dir, char *err, size_t errlen);

/* Whether the RocksDB database in dir may be created: *fresh is true when
 * dir has no CURRENT and no database files. A missing CURRENT next to
 * database files is AMATERS_ECORRUPT with a message (RocksDB would
 * otherwise start an empty database over them). */
int lsm_current_check(const char *dir, bool *fresh, char *err,
                      size_t errlen);

/* Whether there is room to recover: RocksDB replays the WAL files in
 * wal_dir (or dir) into memtables and writes them out as table files at
 * the end of the open; on a full disk that write fails inside RocksDB's
 * recovery, which Debian's build (assertions on) answers with an abort.
 * Returns 0, or AMATERS_EFULL with a message naming the filesystem, the
 * free space and the space needed (WAL bytes + a margin). */
int lsm_recovery_space_check(const char *dir, const char *wal_dir,
                             char *err, size_t errlen);

/* Builds e->dbopts, e->table, e->cache from opts (RocksDB objects, freed
 * by lsm_options_free()). Returns 0 or AMATERS_ENOMEM. */
int lsm_options_build(struct lsm_engine *e,
                      const struct amaters_engine_options *opts);

/* Frees what lsm_options_build() made; safe on a partial build. */
void lsm_options_free(struct lsm_engine *e);

/* ---- engine_rocks_commit.c ---- */

/* Stops the committer from starting a new group until
 * lsm_commit_release(), and waits until the group it is writing, if any,
 * is written: meanwhile nothing reaches RocksDB's write path, writers
 * just queue. Calls nest. Any thread but the committer's. */
void lsm_commit_hold(struct lsm_engine *e);

/* Ends one lsm_commit_hold(); the last one lets the committer go on. */
void lsm_commit_release(struct lsm_engine *e);

/* Starts the committer (and the syncer in mode "interval"). Returns 0 or
 * AMATERS_EINTERNAL (thread creation failed; nothing left running). */
int lsm_commit_start(struct lsm_engine *e);

/* Stops the threads lsm_commit_start() started, after the committer has
 * written everything queued. Safe if they were never started. */
void lsm_commit_stop(struct lsm_engine *e);

/* The engine's write(): see storage/engine.h. */
int lsm_write(struct amaters_engine *base, const struct amaters_write_op *ops,
              size_t n);

/* The engine's write_async(): see storage/engine.h. */
/* Waits until the queue is empty and no group is being written. */
void lsm_barrier(struct amaters_engine *base);

/* Fills the write-health fields of out from RocksDB properties (stall
 * time, stopped, delayed rate, compaction debt, immutable memtables).
 * Any thread. */
void lsm_write_health(struct lsm_engine *e, struct amaters_engine_stats *out);

int lsm_write_async(struct amaters_engine *base,
                    const struct amaters_write_op *ops, size_t n,
                    void (*done)(void *arg, int rc), void *arg);

/* ---- engine_rocks_stage.c: the repair's staging copy, used by
 * engine_rocks_repair.c only. Repairing thread only. ---- */

/* Paths of one staged repair of opts->path; filled by
 * amaters_lsm_stage_init(), no heap memory. */
struct amaters_lsm_stage {
    char data[4100];  /* opts->path */
    char lsm[4200];   /* <data>/lsm */
    char root[4200];  /* <data>/repair-staging */
    char slsm[4300];  /* <root>/lsm: the staged database */
    char swal[4300];  /* <root>/wal: its WAL directory; "" with wal_in_lsm */
    char wal[4300];   /* the real WAL directory; "" with wal_in_lsm */
    bool wal_in_lsm;  /* the WAL files live in lsm/ itself */
    uint64_t max_wal; /* newest WAL file number staged (moved at finish) */
    /* opts with path = root and wal_dir = swal (NULL with wal_in_lsm):
     * borrows this struct's strings. */
    struct amaters_engine_options sopts;
    amaters_lsm_repair_step_cb step_cb; /* may be NULL */
    void *cb_arg;
};

/* Fills *s for opts (strings are copied; opts->path at most 4000
 * bytes). Touches nothing on disk. Returns 0 or AMATERS_EINVAL. */
int amaters_lsm_stage_init(struct amaters_lsm_stage *s,
                           const struct amaters_engine_options *opts);

/* Deals with a leftover <root>: finishes it when its exchange had
 * happened (sets report->replaced, ->resumed), else deletes it (sets
 * report->stale_removed). Returns 0, or a code with a message in err
 * when it cannot be deleted. */
int amaters_lsm_stage_leftover(struct amaters_lsm_stage *s,
                               struct amaters_lsm_repair_report *report,
                               char *err, size_t errlen);

/* Builds <root>/lsm and <root>/wal from the real ones (see the file
 * comment of engine_rocks_stage.c). Returns 0 or a code with a message
 * in err (<root> is then deleted again). */
int amaters_lsm_stage_build(struct amaters_lsm_stage *s, char *err,
                            size_t errlen);

/* Deletes <root> (best effort; a scratch copy). */
void amaters_lsm_stage_discard(struct amaters_lsm_stage *s);

/* Puts the staged database in place: marker, atomic exchange, old WAL
 * files moved, <root> renamed to report->replaced. Returns 0 once the
 * exchange is done (a later failing step only sets report->warning), or
 * a code with a message in err when it failed before (nothing changed;
 * <root> is deleted). */
int amaters_lsm_stage_commit(struct amaters_lsm_stage *s,
                             struct amaters_lsm_repair_report *report,
                             char *err, size_t errlen);

/* Calls s->step_cb for step; returns its result (0 without one). */
int amaters_lsm_stage_step(const struct amaters_lsm_stage *s,
                           const char *step);

#endif
