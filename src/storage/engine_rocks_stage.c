/*
 * engine_rocks_stage.c - the staging copy that makes the offline repair of
 * an "lsm" directory transactional (engine_rocks_repair.c runs the repair
 * itself on it).
 *
 * RocksDB's repair works in place and is not atomic: a failed
 * rocksdb_repair_db has already written a new, empty MANIFEST and pointed
 * CURRENT at it (the next open then deletes every table as obsolete), and
 * a kill midway leaves a half-rebuilt database that opens. So the repair
 * never touches <data>/lsm or the WAL directory until it has succeeded:
 *
 *   build   <data>/repair-staging/lsm: *.sst and *.blob (never modified
 *           by RocksDB once written) hard-linked, every other regular file
 *           (CURRENT, MANIFEST-*, OPTIONS-*, IDENTITY, FORMAT, WAL files
 *           kept in lsm/) copied; LOCK and subdirectories (lost/) skipped.
 *           <data>/repair-staging/wal: copies of the WAL files (NNNNNN.log)
 *           of the WAL directory, which may be on another filesystem.
 *           Copies and directories are fsynced.
 *   repair  CURRENT rebuild or rocksdb_repair_db, open, exact recount and
 *           a flush of every column family, all on the copy (so the copy's
 *           own WAL holds nothing it needs).
 *   mark    <root>/REPAIR-STATE (written to a temporary, synced, renamed):
 *           "lsm <dev> <inode> <max WAL number>" of the ORIGINAL lsm/ and
 *           the newest WAL file number staged.
 *   commit  renameat2(RENAME_EXCHANGE) <root>/lsm <-> <data>/lsm, then
 *           both parents fsynced: one atomic step.
 *   finish  the old WAL files (numbers <= the marked maximum) moved from
 *           the WAL directory to <root>/wal-replaced/ (copied and removed
 *           across filesystems), the scratch <root>/wal deleted, <root>
 *           renamed to <data>/repair-replaced-<UTC time>.
 *
 * What a kill at each point leaves, and why the next start/repair is
 * right (tests/integration/test_repair.py kills at each of them):
 *
 *   during build, repair, mark (steps "staged", "current-rebuilt",
 *   "rocksdb-repaired", "reopened", "marked"): <data>/lsm and the WAL
 *   directory are untouched (only RocksDB's info LOG rotates when the
 *   first plain open fails). `start` refuses the damaged database as
 *   before. The next repair finds repair-staging, whose marker is missing
 *   or names the inode of <data>/lsm (not that of <root>/lsm): a scratch
 *   copy, deleted unread, and the repair starts over.
 *
 *   after the exchange, before or while the old WAL files move (step
 *   "exchanged"): <data>/lsm is the complete repaired database. The old
 *   WAL files still in the WAL directory are older than every log number
 *   its MANIFEST keeps (the repair reserved their numbers and the flush
 *   recorded the newer log), so RocksDB skips them at open and deletes
 *   them as obsolete: `start` serves every key (the test "kill after the
 *   exchange" checks exactly this, old WAL files present). The next repair
 *   sees the marker naming <root>/lsm's inode (the original, now there),
 *   so it finishes the move (only numbers <= the marked maximum: WAL files
 *   written by a server started meanwhile are newer and stay) and the
 *   rename, and keeps the replaced files.
 *
 *   after the WAL move, before the rename (step "wal-moved"): as above,
 *   nothing left in the WAL directory to skip.
 *
 *   after the rename: done; repair-replaced-<time> is never read again.
 *
 * Repairing thread only; the caller holds the data directory lock.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/errors.h"
#include "core/fileutil.h"
#include "storage/engine_rocks.h"
#include "storage/engine_rocks_int.h"

#define MARK_NAME "REPAIR-STATE"
#define OLD_WAL_DIR "wal-replaced"

/* Path buffers: a name (< 256) below one of the struct's paths. */
#define PATH_MAX_LEN 4600

static int errno_code(int e)
{
    return e == ENOSPC || e == EDQUOT ? AMATERS_EFULL : AMATERS_EIO;
}

/* Fills err with "lsm repair: <what> <path>: <strerror(e)>"; returns the
 * code for e. */
static int io_fail(int e, const char *what, const char *path, char *err,
                   size_t errlen)
{
    snprintf(err, errlen, "lsm repair: %s %s: %s", what, path, strerror(e));
    return errno_code(e);
}

/* Whether name is a RocksDB WAL file name: digits then ".log". Its number
 * goes to *num. */
static bool wal_name(const char *name, uint64_t *num)
{
    size_t n = strspn(name, "0123456789");

    if (n == 0 || n > 19 || strcmp(name + n, ".log") != 0)
        return false;
    *num = strtoull(name, NULL, 10);
    return true;
}

static bool has_suffix(const char *name, const char *suffix)
{
    size_t nl = strlen(name), sl = strlen(suffix);

    return nl > sl && strcmp(name + nl - sl, suffix) == 0;
}

/* fsyncs path (a file or a directory). Returns 0 or an errno value. */
static int sync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int e = 0;

    if (fd < 0)
        return errno;
    if (fsync(fd) != 0)
        e = errno;
    close(fd);
    return e;
}

static int rm_cb(const char *path, const struct stat *sb, int flag,
                 struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : errno;
}

/* Removes path and everything below it (symlinks not followed). Returns
 * 0 (also when it did not exist) or an errno value. */
static int rm_tree(const char *path)
{
    struct stat st;
    int rc;

    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : errno;
    rc = nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return rc == 0 ? 0 : rc > 0 ? rc : errno ? errno : EIO;
}

int amaters_lsm_stage_step(const struct amaters_lsm_stage *s,
                           const char *step)
{
    return s->step_cb != NULL ? s->step_cb(s->cb_arg, step) : 0;
}

int amaters_lsm_stage_init(struct amaters_lsm_stage *s,
                           const struct amaters_engine_options *opts)
{
    struct stat a, b;

    memset(s, 0, sizeof *s);
    if (opts == NULL || opts->path == NULL || opts->path[0] == '\0' ||
        strlen(opts->path) > 4000 ||
        (opts->wal_dir != NULL && strlen(opts->wal_dir) > 4200))
        return AMATERS_EINVAL;
    snprintf(s->data, sizeof s->data, "%s", opts->path);
    snprintf(s->lsm, sizeof s->lsm, "%s/lsm", s->data);
    snprintf(s->root, sizeof s->root, "%s/repair-staging", s->data);
    snprintf(s->slsm, sizeof s->slsm, "%s/lsm", s->root);
    s->wal_in_lsm = opts->wal_dir == NULL || opts->wal_dir[0] == '\0' ||
                    (stat(opts->wal_dir, &a) == 0 &&
                     stat(s->lsm, &b) == 0 && a.st_dev == b.st_dev &&
                     a.st_ino == b.st_ino);
    if (!s->wal_in_lsm) {
        snprintf(s->wal, sizeof s->wal, "%s", opts->wal_dir);
        snprintf(s->swal, sizeof s->swal, "%s/wal", s->root);
    }
    s->sopts = *opts;
    s->sopts.path = s->root;
    s->sopts.wal_dir = s->wal_in_lsm ? NULL : s->swal;
    return 0;
}

void amaters_lsm_stage_discard(struct amaters_lsm_stage *s)
{
    if (rm_tree(s->root) == 0)
        sync_path(s->data);
}

/* Stages one entry of lsm/ into <root>/lsm. Returns 0 or an errno value
 * with the failed operation in *what. */
static int stage_entry(const char *src, const char *dst, const char *name,
                       const struct stat *st, const char **what)
{
    int e;

    if (has_suffix(name, ".sst") || has_suffix(name, ".blob")) {
        *what = "link";
        if (link(src, dst) == 0)
            return 0;
        if (errno != EXDEV && errno != EPERM && errno != EMLINK)
            return errno;
    }
    *what = "copy";
    e = amaters_copy_file(src, dst, st->st_mode & 0666, NULL);
    return e;
}

/* Stages the regular files of dir into into: all of them (lsm/), or only
 * WAL files (only_wal), noting the largest WAL number in *max_wal. */
static int stage_dir(const char *dir, const char *into, bool only_wal,
                     uint64_t *max_wal, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    struct dirent *ent;
    int e = 0;

    if (d == NULL && only_wal && errno == ENOENT)
        return 0; /* no WAL directory yet: no WAL files */
    if (d == NULL)
        return io_fail(errno, "open", dir, err, errlen);
    while ((ent = readdir(d)) != NULL) {
        char src[PATH_MAX_LEN], dst[PATH_MAX_LEN];
        const char *what = "stat";
        struct stat st;
        uint64_t num = 0;
        bool is_wal = wal_name(ent->d_name, &num);

        if (strcmp(ent->d_name, "LOCK") == 0 || (only_wal && !is_wal))
            continue;
        snprintf(src, sizeof src, "%s/%s", dir, ent->d_name);
        snprintf(dst, sizeof dst, "%s/%s", into, ent->d_name);
        if (lstat(src, &st) != 0) {
            e = io_fail(errno, what, src, err, errlen);
            break;
        }
        if (!S_ISREG(st.st_mode))
            continue; /* ".", "..", lost/ and the like */
        e = stage_entry(src, dst, ent->d_name, &st, &what);
        if (e != 0) {
            e = io_fail(e, what, src, err, errlen);
            break;
        }
        if (is_wal && num > *max_wal)
            *max_wal = num;
    }
    closedir(d);
    return e;
}

int amaters_lsm_stage_build(struct amaters_lsm_stage *s, char *err,
                            size_t errlen)
{
    int rv = 0, e = 0;

    s->max_wal = 0;
    if (mkdir(s->root, 0700) != 0)
        return io_fail(errno, "create", s->root, err, errlen);
    if (mkdir(s->slsm, 0700) != 0) {
        rv = io_fail(errno, "create", s->slsm, err, errlen);
        goto fail;
    }
    rv = stage_dir(s->lsm, s->slsm, false, &s->max_wal, err, errlen);
    if (rv == 0 && !s->wal_in_lsm) {
        if (mkdir(s->swal, 0700) != 0)
            rv = io_fail(errno, "create", s->swal, err, errlen);
        else
            rv = stage_dir(s->wal, s->swal, true, &s->max_wal, err, errlen);
    }
    if (rv != 0)
        goto fail;
    e = sync_path(s->slsm);
    if (e == 0 && !s->wal_in_lsm)
        e = sync_path(s->swal);
    if (e == 0)
        e = sync_path(s->root);
    if (e == 0)
        e = sync_path(s->data);
    if (e == 0)
        return 0;
    rv = io_fail(e, "sync", s->root, err, errlen);
fail:
    amaters_lsm_stage_discard(s);
    return rv;
}

/* ---- the marker, the exchange and the finish ---- */

/* Writes <root>/REPAIR-STATE for the original lsm/ st (temporary file,
 * synced, renamed, <root> synced). Returns 0 or an errno value. */
static int write_mark(const struct amaters_lsm_stage *s,
                      const struct stat *st)
{
    char path[PATH_MAX_LEN], tmp[PATH_MAX_LEN + 8], line[128];
    int n, fd, e = 0;

    snprintf(path, sizeof path, "%s/" MARK_NAME, s->root);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    n = snprintf(line, sizeof line, "lsm %ju %ju %" PRIu64 "\n",
                 (uintmax_t)st->st_dev, (uintmax_t)st->st_ino, s->max_wal);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno;
    if (write(fd, line, (size_t)n) != n)
        e = errno ? errno : EIO;
    if (e == 0 && fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && e == 0)
        e = errno;
    if (e == 0 && rename(tmp, path) != 0)
        e = errno;
    if (e == 0)
        e = sync_path(s->root);
    return e;
}

/* Whether <root> is past its exchange: its marker names the inode that
 * <root>/lsm has now. Sets s->max_wal from the marker. */
static bool exchanged(struct amaters_lsm_stage *s)
{
    char path[PATH_MAX_LEN];
    uintmax_t dev = 0, ino = 0;
    uint64_t max_wal = 0;
    struct stat st;
    FILE *f;
    int n;

    snprintf(path, sizeof path, "%s/" MARK_NAME, s->root);
    f = fopen(path, "re");
    if (f == NULL)
        return false;
    n = fscanf(f, "lsm %ju %ju %" SCNu64, &dev, &ino, &max_wal);
    fclose(f);
    /* Only the inode is compared: both directories are on one filesystem
     * (the exchange needs that), whose device number may differ after a
     * reboot. */
    (void)dev;
    if (n != 3 || stat(s->slsm, &st) != 0 || !S_ISDIR(st.st_mode) ||
        (uintmax_t)st.st_ino != ino)
        return false;
    s->max_wal = max_wal;
    return true;
}

/* Moves (or copies and removes, across filesystems) the WAL files of the
 * real WAL directory numbered <= s->max_wal into <root>/wal-replaced.
 * Returns 0 or an errno value, the path at fault in where. */
static int move_old_wals(const struct amaters_lsm_stage *s, char *where,
                         size_t wlen)
{
    char into[4300];
    DIR *d;
    struct dirent *ent;
    int e = 0;

    snprintf(into, sizeof into, "%s/" OLD_WAL_DIR, s->root);
    snprintf(where, wlen, "%s", into);
    if (mkdir(into, 0700) != 0 && errno != EEXIST)
        return errno;
    snprintf(where, wlen, "%s", s->wal);
    d = opendir(s->wal);
    if (d == NULL)
        return errno == ENOENT ? 0 : errno;
    while (e == 0 && (ent = readdir(d)) != NULL) {
        char src[PATH_MAX_LEN], dst[PATH_MAX_LEN];
        uint64_t num = 0;

        if (!wal_name(ent->d_name, &num) || num > s->max_wal)
            continue; /* newer: written by the repaired database */
        snprintf(src, sizeof src, "%s/%s", s->wal, ent->d_name);
        snprintf(dst, sizeof dst, "%s/%s", into, ent->d_name);
        snprintf(where, wlen, "%s", src);
        if (rename(src, dst) == 0)
            continue;
        if (errno != EXDEV)
            e = errno;
        else if (unlink(dst) != 0 && errno != ENOENT)
            e = errno;
        else
            e = amaters_copy_file(src, dst, 0600, NULL);
        if (e == 0 && unlink(src) != 0)
            e = errno;
    }
    closedir(d);
    if (e == 0)
        e = sync_path(into);
    if (e == 0)
        e = sync_path(s->wal);
    return e;
}

/* Renames <root> to <data>/repair-replaced-<UTC time>[-n]; the name goes
 * to report->replaced. Returns 0 or an errno value. */
static int rename_root(const struct amaters_lsm_stage *s,
                       struct amaters_lsm_repair_report *report)
{
    char stamp[32], dst[4300];
    time_t now = time(NULL);
    struct tm tm;
    int e = EEXIST;

    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    for (int i = 1; i < 100 && e == EEXIST; i++) {
        struct stat st;

        if (i == 1)
            snprintf(dst, sizeof dst, "%s/repair-replaced-%s", s->data,
                     stamp);
        else
            snprintf(dst, sizeof dst, "%s/repair-replaced-%s-%d", s->data,
                     stamp, i);
        if (lstat(dst, &st) == 0)
            continue;
        e = rename(s->root, dst) == 0 ? 0 : errno;
    }
    if (e == 0)
        e = sync_path(s->data);
    if (e == 0)
        snprintf(report->replaced, sizeof report->replaced, "%s", dst);
    return e;
}

/* The steps after the exchange (steps reports "exchanged" and
 * "wal-moved" to the callback). A failure only sets report->warning:
 * the repaired database is in place whatever happens here. */
static void finish(struct amaters_lsm_stage *s,
                   struct amaters_lsm_repair_report *report, bool steps)
{
    char where[PATH_MAX_LEN] = "";
    const char *what = "";
    int e = 0;

    if (steps && amaters_lsm_stage_step(s, "exchanged") != 0) {
        what = "injected failure at step \"exchanged\"";
        goto warn;
    }
    if (!s->wal_in_lsm) {
        e = move_old_wals(s, where, sizeof where);
        if (e != 0) {
            what = "moving the old WAL files, ";
            goto warn;
        }
    }
    if (steps && amaters_lsm_stage_step(s, "wal-moved") != 0) {
        what = "injected failure at step \"wal-moved\"";
        goto warn;
    }
    if (!s->wal_in_lsm) {
        snprintf(where, sizeof where, "%s", s->swal);
        e = rm_tree(s->swal); /* the staged database's scratch WAL */
        if (e != 0) {
            what = "removing the scratch WAL directory ";
            goto warn;
        }
    }
    snprintf(where, sizeof where, "%s", s->root);
    e = rename_root(s, report);
    if (e == 0)
        return;
    what = "renaming to repair-replaced-<time> ";
warn:
    snprintf(report->warning, sizeof report->warning,
             "the repaired database is in place, but tidying up failed: "
             "%s%.300s%s%s; %.300s holds the replaced files (the old WAL "
             "files not moved yet are obsolete and ignored), and the next "
             "repair finishes this",
             what, e != 0 ? where : "", e != 0 ? ": " : "",
             e != 0 ? strerror(e) : "", s->root);
}

int amaters_lsm_stage_leftover(struct amaters_lsm_stage *s,
                               struct amaters_lsm_repair_report *report,
                               char *err, size_t errlen)
{
    struct stat st;
    int e;

    if (lstat(s->root, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        return io_fail(errno, "stat", s->root, err, errlen);
    }
    if (S_ISDIR(st.st_mode) && exchanged(s)) {
        finish(s, report, false);
        report->resumed = true;
        return 0;
    }
    e = rm_tree(s->root);
    if (e == 0)
        e = sync_path(s->data);
    if (e != 0)
        return io_fail(e, "delete the leftover staging copy", s->root, err,
                       errlen);
    report->stale_removed = true;
    return 0;
}

int amaters_lsm_stage_commit(struct amaters_lsm_stage *s,
                             struct amaters_lsm_repair_report *report,
                             char *err, size_t errlen)
{
    struct stat st;
    int rv = 0, e;

    if (stat(s->lsm, &st) != 0) {
        rv = io_fail(errno, "stat", s->lsm, err, errlen);
        goto fail;
    }
    e = write_mark(s, &st);
    if (e != 0) {
        rv = io_fail(e, "write the marker in", s->root, err, errlen);
        goto fail;
    }
    if (amaters_lsm_stage_step(s, "marked") != 0) {
        snprintf(err, errlen, "lsm repair: injected failure at step "
                              "\"marked\"");
        rv = AMATERS_EIO;
        goto fail;
    }
    if (renameat2(AT_FDCWD, s->slsm, AT_FDCWD, s->lsm, RENAME_EXCHANGE) !=
        0) {
        e = errno;
        snprintf(err, errlen,
                 "lsm repair: cannot exchange %s and %s atomically: %s%s",
                 s->slsm, s->lsm, strerror(e),
                 e == EINVAL || e == ENOSYS
                     ? " (the filesystem does not support RENAME_EXCHANGE)"
                     : "");
        rv = errno_code(e);
        goto fail;
    }
    /* Committed. A crash before these syncs leaves either order of the
     * two names: both are consistent (see the file comment). */
    sync_path(s->data);
    sync_path(s->root);
    finish(s, report, true);
    return 0;
fail:
    amaters_lsm_stage_discard(s);
    return rv;
}
