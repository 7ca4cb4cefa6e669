/*
 * engine_conformance.h - the storage engine conformance suite.
 *
 * One cmocka group that every engine (storage/engine.h) must pass: basic
 * get/put/delete, empty values, binary and long keys, large values, byte
 * ordering, range bounds, atomic batches, exact stats, iterator buffer
 * lifetime, compaction (when the engine offers it), iterators under
 * concurrent writers, multi-threaded consistency, close/reopen and
 * allocation-fault injection on batches.
 *
 * Use: compile the suite's sources (tests/unit/engine_conformance*.c,
 * listed in the CMake variable AMATERS_ENGINE_CONFORMANCE_SRC) into the
 * engine's test, amaters_add_unit_test(test_engine_x LIBS amaters_storage
 * SOURCES ${AMATERS_ENGINE_CONFORMANCE_SRC}), and call the function below
 * from main(). Every test opens a fresh engine in a fresh sub-directory of
 * scratch_dir (opts: path = that directory, 4 MiB memtable, 8 MiB block
 * cache, AMATERS_SYNC_NONE except in the reopen test, which uses
 * AMATERS_SYNC_ALWAYS), closes it, checks that no amaters_* allocation
 * outlived it, and removes the directory.
 *
 * Threads: call from the main thread only (cmocka is not thread-safe; the
 * suite's own worker threads report to it).
 */
#ifndef AMATERS_TESTS_ENGINE_CONFORMANCE_H
#define AMATERS_TESTS_ENGINE_CONFORMANCE_H

#include <stdbool.h>

#include "storage/engine.h"

/* Runs the suite against ops. scratch_dir must exist and be writable; the
 * suite creates and removes sub-directories in it. persistent says whether
 * the engine keeps its data across close() and a new open() on the same
 * path: true for "lsm" (the reopen test then requires every write to
 * survive, deletes included), false for "memory" (it then requires a
 * reopened engine to be empty). Returns the number of failed tests (0 when
 * all passed), as cmocka's group runner does. */
int amaters_engine_conformance_run(const struct amaters_engine_ops *ops,
                                   const char *scratch_dir, bool persistent);

#endif
