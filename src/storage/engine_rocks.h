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

/* What an offline repair found. */
struct amaters_lsm_repair_report {
    uint64_t keys;      /* live keys after the repair */
    uint64_t bytes;     /* their key + value bytes */
    const char *method; /* static text: what was done */
};

/* Repairs the "lsm" data directory opts->path (its lsm/ and WAL), in
 * order of least change: if it opens, only the key count and bytes are
 * recounted; a missing CURRENT is rebuilt to name the newest MANIFEST;
 * otherwise RocksDB's repair runs with the engine's own options (readable
 * tables and live WAL kept, the MANIFEST rebuilt, unreadable data moved
 * to <path>/lsm/lost/) - but not when blob files exist, which RocksDB
 * 7.8's repair cannot keep (AMATERS_EUNSUPPORTED, nothing changed). Then
 * a normal open and an exact recount. Refuses a directory whose FORMAT
 * this build does not read. No engine may have the directory open (the
 * caller holds the server's PID file lock). Returns 0 and fills *report,
 * or a negative code with a message in err. */
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
