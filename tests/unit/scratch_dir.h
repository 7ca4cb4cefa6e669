/*
 * scratch_dir.h - removal of a test's scratch directory tree (storage
 * tests make one with mkdtemp and remove it in their teardown).
 */
#ifndef AMATERS_TESTS_SCRATCH_DIR_H
#define AMATERS_TESTS_SCRATCH_DIR_H

#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

static inline int scratch_rm_cb(const char *path, const struct stat *sb,
                                int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Removes dir and everything below it (symlinks are not followed). */
static inline void scratch_rmtree(const char *dir)
{
    nftw(dir, scratch_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
