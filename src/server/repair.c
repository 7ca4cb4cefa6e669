/*
 * repair.c - `amaters-server repair`: rebuilds a damaged lsm data
 * directory offline.
 *
 * Steps: refuse unless storage.engine is "lsm"; take the data directory
 * lock (no server may run on the directory); copy <data_dir>/lsm and the WAL
 * directory to <data_dir>/repair-backup-<UTC time>/ (unless --no-backup)
 * so that nothing RocksDB's repair discards is lost for good; run the
 * engine's repair (storage/engine_rocks.h: on a staging copy, put in
 * place atomically only once it succeeded); report the keys and bytes
 * found, where RocksDB put what it could not read (lsm/lost/) and where
 * the replaced files went (<data_dir>/repair-replaced-<UTC time>/, deleted
 * again when the backup copy holds them).
 * Progress and results go to stdout, errors to stderr.
 *
 * Fault injection for tests only (never set these in production; a
 * warning says when one is set): AMATERS_TEST_REPAIR_FAIL_AT=<step> makes
 * that step of the engine's repair fail, AMATERS_TEST_REPAIR_PAUSE_AT=
 * <step> prints "test: repair paused at <step>" to stdout and sleeps
 * there (for a kill). Steps: see amaters_lsm_repair_step_cb.
 */
#include "server/server.h"

#include <dirent.h>
#include <ftw.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "core/fileutil.h"
#include "storage/engine_rocks.h"

#define PATH_LEN 4300

__attribute__((format(printf, 1, 2)))
static int fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "amaters-server: repair: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return AMATERS_EXIT_ERROR;
}

/* Copies directory src into dst (created), recursing into directories;
 * skips RocksDB's LOCK file. Returns 0 or an errno value, with the path
 * at fault in where. */
static int copy_tree(const char *src, const char *dst, uint64_t *bytes,
                     char *where, size_t wlen)
{
    DIR *d;
    struct dirent *ent;
    int e = 0;

    if (mkdir(dst, 0700) != 0) {
        snprintf(where, wlen, "%s", dst);
        return errno;
    }
    d = opendir(src);
    if (d == NULL) {
        snprintf(where, wlen, "%s", src);
        return errno;
    }
    while (e == 0 && (ent = readdir(d)) != NULL) {
        char s[PATH_LEN + 256], t[PATH_LEN + 256];
        struct stat st;

        if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, "..") ||
            !strcmp(ent->d_name, "LOCK"))
            continue;
        snprintf(s, sizeof s, "%s/%s", src, ent->d_name);
        snprintf(t, sizeof t, "%s/%s", dst, ent->d_name);
        if (lstat(s, &st) != 0)
            e = errno;
        else if (S_ISDIR(st.st_mode))
            e = copy_tree(s, t, bytes, where, wlen);
        else if (S_ISREG(st.st_mode))
            e = amaters_copy_file(s, t, 0600, bytes);
        if (e != 0 && where[0] == '\0')
            snprintf(where, wlen, "%s", s);
    }
    closedir(d);
    return e;
}

/* Takes the data directory lock like `start` does (no server may run
 * on the directory, whatever its PID file); *fd holds it. */
static int lock_data_dir(const struct amaters_config *cfg, int *fd)
{
    const char *dir = cfg->server.data_dir;
    char path[PATH_LEN];
    struct stat st;
    long pid = 0;
    int rc;

    if (stat(dir, &st) != 0 && errno == ENOENT)
        return fail("data directory %s does not exist: nothing to repair",
                    dir);
    if (stat(dir, &st) != 0)
        return fail("data directory %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return fail("data directory %s is not a directory", dir);
    if (amaters_datadir_lock_path(dir, path, sizeof path) == NULL)
        return fail("data directory %s: path too long", dir);
    rc = amaters_lock_take(path, fd, &pid);
    if (rc == AMATERS_EBUSY && pid > 0)
        return fail("data directory %s is in use: an amaters-server (pid "
                    "%ld) is running on it; stop it first", dir, pid);
    if (rc == AMATERS_EBUSY)
        return fail("data directory %s is in use: an amaters-server is "
                    "running on it (its lock file %s is held); stop it "
                    "first", dir, path);
    if (rc != 0)
        return fail("data directory lock %s cannot be taken: %s", path,
                    strerror(errno));
    return 0;
}

static int rm_cb(const char *path, const struct stat *sb, int flag,
                 struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* Copies lsm/ and the WAL directory aside to dst; prints where. */
static int backup(const char *data_dir, const char *wal_dir, char *dst,
                  size_t dlen)
{
    char sub[PATH_LEN + 8], src[PATH_LEN], where[8192] = "";
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    uint64_t bytes = 0;
    struct stat st;
    int e;

    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(dst, dlen, "%s/repair-backup-%s", data_dir, stamp);
    if (mkdir(dst, 0700) != 0)
        return fail("cannot create %s: %s", dst, strerror(errno));
    printf("copying the damaged files to %s ...\n", dst);
    fflush(stdout);
    snprintf(src, sizeof src, "%s/lsm", data_dir);
    snprintf(sub, sizeof sub, "%s/lsm", dst);
    e = copy_tree(src, sub, &bytes, where, sizeof where);
    if (e == 0 && stat(wal_dir, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(sub, sizeof sub, "%s/wal", dst);
        e = copy_tree(wal_dir, sub, &bytes, where, sizeof where);
    }
    if (e != 0) {
        /* a partial copy would only keep the disk full */
        bool removed = nftw(dst, rm_cb, 16, FTW_DEPTH | FTW_PHYS) == 0;
        return fail("backup failed at %s: %s (nothing was repaired%s; "
                    "free space or use --no-backup)",
                    where, strerror(e),
                    removed ? ", the partial copy was removed" : "");
    }
    printf("copied %.1f MiB\n", (double)bytes / (1 << 20));
    return 0;
}


/* The engine's step callback: progress and the test-only injection. */
static int step_cb(void *arg, const char *step)
{
    const char *fail_at = getenv("AMATERS_TEST_REPAIR_FAIL_AT");
    const char *pause_at = getenv("AMATERS_TEST_REPAIR_PAUSE_AT");

    (void)arg;
    if (pause_at != NULL && strcmp(pause_at, step) == 0) {
        printf("test: repair paused at %s\n", step);
        fflush(stdout);
        for (;;)
            pause(); /* until killed */
    }
    return fail_at != NULL && strcmp(fail_at, step) == 0 ? -1 : 0;
}

/* Runs the engine's repair and prints its outcome. backup is the copy
 * made ("" for none). */
static int run_repair(const struct amaters_config *cfg,
                      const struct amaters_engine_options *eo,
                      const char *backup_dir)
{
    struct amaters_lsm_repair_report *rep = amaters_malloc(sizeof *rep);
    char err[1024] = "", lost[PATH_LEN];
    struct stat st;
    int rc = 0;

    if (rep == NULL)
        return fail("out of memory");
    if (getenv("AMATERS_TEST_REPAIR_FAIL_AT") != NULL ||
        getenv("AMATERS_TEST_REPAIR_PAUSE_AT") != NULL)
        fprintf(stderr, "amaters-server: repair: WARNING: test fault "
                        "injection active (AMATERS_TEST_REPAIR_*; never "
                        "set this in production)\n");
    printf("repairing %s/lsm ...\n", cfg->server.data_dir);
    fflush(stdout);
    if (amaters_engine_lsm_repair_staged(eo, step_cb, NULL, rep, err,
                                         sizeof err) != 0) {
        rc = backup_dir[0] != '\0'
                 ? fail("%s; a copy of the damaged files is in %s", err,
                        backup_dir)
                 : fail("%s", err);
        goto out;
    }
    if (rep->stale_removed)
        printf("removed %s/repair-staging, the scratch copy of an "
               "interrupted repair (never used)\n", cfg->server.data_dir);
    if (rep->resumed)
        printf("finished an interrupted repair that had already put its "
               "repaired database in place\n");
    printf("repaired: %llu keys, %llu bytes of keys and values\n"
           "done: %s\n",
           (unsigned long long)rep->keys, (unsigned long long)rep->bytes,
           rep->method);
    if (rep->wals_left_out > 0)
        printf("%u WAL file(s) were left out of the repair: every write in "
               "them was already in table files\n",
               rep->wals_left_out);
    if (rep->replaced[0] != '\0' && backup_dir[0] != '\0' &&
        !rep->resumed &&
        nftw(rep->replaced, rm_cb, 16, FTW_DEPTH | FTW_PHYS) == 0)
        printf("the replaced files were deleted (the copy in %s holds "
               "them)\n", backup_dir);
    else if (rep->replaced[0] != '\0')
        printf("the replaced files (old lsm/ and WAL files) were moved to "
               "%s\n", rep->replaced);
    if (rep->warning[0] != '\0')
        fprintf(stderr, "amaters-server: repair: warning: %s\n",
                rep->warning);
    snprintf(lost, sizeof lost, "%s/lsm/lost", cfg->server.data_dir);
    if (stat(lost, &st) == 0)
        printf("files RocksDB could not use were moved to %s\n", lost);
    printf("start the server and run the VERIFY admin command to check "
           "every value\n");
out:
    amaters_free(rep);
    return rc;
}

int amaters_cmd_repair(const struct amaters_cli *cli)
{
    struct amaters_config cfg;
    struct amaters_engine_options eo;
    char wal_dir[PATH_LEN], lost[PATH_LEN], backup_dir[PATH_LEN] = "";
    struct stat st;
    int fd = -1, rc;

    rc = amaters_server_load_config(cli, &cfg) ? AMATERS_EXIT_ERROR : 0;
    if (rc == 0 && strcmp(cfg.storage.engine, "lsm") != 0)
        rc = fail("storage.engine is \"%s\": only the lsm engine keeps a "
                  "database on disk to repair",
                  cfg.storage.engine);
    if (rc == 0)
        rc = lock_data_dir(&cfg, &fd);
    if (rc == 0) {
        amaters_server_engine_options(&cfg, &eo, wal_dir, sizeof wal_dir);
        snprintf(lost, sizeof lost, "%s/lsm", cfg.server.data_dir);
        if (stat(lost, &st) != 0)
            rc = fail("%s does not exist: nothing to repair", lost);
    }
    if (rc == 0 && !cli->no_backup)
        rc = backup(cfg.server.data_dir, wal_dir, backup_dir,
                    sizeof backup_dir);
    if (rc == 0)
        rc = run_repair(&cfg, &eo, backup_dir);
    if (fd >= 0)
        close(fd); /* the lock file stays: removing it would race */
    amaters_config_free(&cfg);
    return rc;
}
