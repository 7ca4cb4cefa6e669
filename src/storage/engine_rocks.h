/*
 * engine_rocks.h - the "lsm" storage engine (RocksDB) and the few things
 * it offers beyond storage/engine.h: figures and a knob for tests and
 * benchmarks of its group commit.
 *
 * The engine itself is used through its ops table like every engine
 * (amaters_engine_find("lsm") or amaters_engine_lsm_ops directly). Its
 * on-disk layout, options, group commit, sync modes and error mapping are
 * described in docs/internals/storage.md, section "The lsm engine".
 *
 * Only built when RocksDB is found (AMATERS_HAVE_ROCKSDB).
 *
 * Threads: the functions below may be called from any thread while the
 * engine is open (between open() and close()).
 */
#ifndef AMATERS_STORAGE_ENGINE_ROCKS_H
#define AMATERS_STORAGE_ENGINE_ROCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/engine.h"

/* The "lsm" engine's ops table. */
extern const struct amaters_engine_ops amaters_engine_lsm_ops;

/* Returns how many groups the committer has written since open(): one
 * RocksDB write (and, in sync mode "always", one WAL sync) each. A group
 * holds the batches of every write() call queued when the committer took
 * it, so under concurrent writers this stays below the number of write()
 * calls. e must be an open "lsm" engine. */
uint64_t amaters_engine_lsm_commit_groups(struct amaters_engine *e);

/* What an offline repair found. Filled by the repair functions below. */
struct amaters_lsm_repair_report {
    uint64_t keys;      /* live keys after the repair */
    uint64_t bytes;     /* their key + value bytes */
    const char *method; /* static text: what was done */
    /* Where the replaced lsm/ (and the old WAL files, under wal-replaced/)
     * went: <path>/repair-replaced-<UTC time>; "" when nothing was
     * replaced (the database opened as it was, or the repair failed). */
    char replaced[4400];
    unsigned wals_left_out; /* WAL files RocksDB's repair was run without:
                             * their writes were all in table files (a
                             * crash right after a flush); they are kept
                             * under replaced/wal-replaced */
    bool resumed;       /* replaced comes from an earlier repair that was
                         * interrupted after its exchange: finished now */
    bool stale_removed; /* a leftover <path>/repair-staging from an
                         * interrupted repair (a scratch copy, never used)
                         * was deleted */
    /* A clean-up step after the repaired database was put in place that
     * failed (the repair itself succeeded), "" if none. */
    char warning[1024];
};

/* Called by the repair after each step, with its name (static text):
 * "staged", "current-rebuilt", "rocksdb-repaired", "reopened", "marked",
 * "exchanged", "wal-moved" (see engine_rocks_stage.c for what each one
 * leaves on disk). A non-zero return makes that step count as failed
 * (fault injection for tests). arg is the caller's. Called on the
 * repairing thread. */
typedef int (*amaters_lsm_repair_step_cb)(void *arg, const char *step);

/* Repairs the "lsm" data directory opts->path (its lsm/ and WAL), in
 * order of least change: if it opens, only the key count and bytes are
 * recounted in place. Otherwise the repair is transactional: it works on
 * a copy, <path>/repair-staging/ (tables hard-linked, every other file
 * and the WAL files copied), where a missing CURRENT is rebuilt to name
 * the newest MANIFEST, or else RocksDB's repair runs with the engine's own
 * options (readable tables and WAL kept, the MANIFEST rebuilt, unreadable
 * data moved to lost/) - but not when blob files exist, which RocksDB
 * 7.8's repair cannot keep (AMATERS_EUNSUPPORTED). The copy is then
 * opened, recounted exactly and flushed; only when all of that succeeded
 * is it exchanged atomically with <path>/lsm, and the old lsm/ and WAL
 * files are moved to report->replaced. On any failure, or a kill at any
 * moment before the exchange, <path>/lsm and the WAL directory are as
 * they were (RocksDB's info LOG aside); a leftover repair-staging is
 * deleted (or, when the kill came after the exchange, finished) by the
 * next repair. Refuses a directory whose FORMAT this build does not
 * read. No engine may have the directory open (the caller holds the
 * server's PID file lock). step_cb may be NULL. Returns 0 and fills
 * *report, or a negative code with a message in err that says nothing
 * was changed. */
int amaters_engine_lsm_repair_staged(const struct amaters_engine_options
                                         *opts,
                                     amaters_lsm_repair_step_cb step_cb,
                                     void *cb_arg,
                                     struct amaters_lsm_repair_report *report,
                                     char *err, size_t errlen);

/* amaters_engine_lsm_repair_staged() without a step callback. */
int amaters_engine_lsm_repair(const struct amaters_engine_options *opts,
                              struct amaters_lsm_repair_report *report,
                              char *err, size_t errlen);

/* Parses the "Cumulative stall: H:MM:SS.sss H:M:S" line of RocksDB's
 * "rocksdb.dbstats" text into microseconds. Returns 0, or AMATERS_EINVAL
 * when the line is missing or malformed (*us untouched). Pure. */
int amaters_lsm_parse_stall(const char *dbstats, uint64_t *us);

/* Limits how many write() calls the committer puts into one group
 * (0 restores the default: no limit but the group byte cap). 1 turns
 * group commit off: every batch is written, and synced, on its own. For
 * benchmarks and tests; e must be an open "lsm" engine. */
void amaters_engine_lsm_set_max_group(struct amaters_engine *e,
                                      size_t max_calls);

#endif
