/*
 * fileutil.h - small file-system helpers shared by the offline tools
 * (server/repair.c) and the storage engine's repair staging
 * (storage/engine_rocks_stage.c).
 *
 * Threads: any; the functions share no state.
 */
#ifndef AMATERS_CORE_FILEUTIL_H
#define AMATERS_CORE_FILEUTIL_H

#include <stdint.h>
#include <sys/types.h>

/* Copies the regular file src to dst, which is created (O_EXCL: never an
 * existing file) with mode, and fsyncs dst. Reads and writes resume after
 * interruptions and short writes; a write that makes no progress is
 * ENOSPC. When bytes is not NULL the bytes copied are added to *bytes.
 * Returns 0 or an errno value; on failure a partial dst may remain (the
 * caller removes it). */
int amaters_copy_file(const char *src, const char *dst, mode_t mode,
                      uint64_t *bytes);

#endif
