/*
 * engine_rocks_repair.c - offline repair of an "lsm" data directory that
 * RocksDB refuses to open (damaged MANIFEST or CURRENT, lost files).
 *
 * The repair is RocksDB's own (rocksdb_repair_db: every readable table
 * and live WAL is kept, the MANIFEST is rebuilt; unreadable data is moved
 * to <dir>/lsm/lost/), run with the very options the engine opens with,
 * so that both column families, the WAL directory and blob files are the
 * ones it knows. The data directory's FORMAT must be one this build reads:
 * an unknown format is never "repaired". Afterwards the engine is opened
 * normally and the exact key count and byte total, which the repair may
 * have made stale, are recounted from the data and stored again.
 *
 * Caller: the `amaters-server repair` command, with no server running on
 * the directory (it holds the PID file lock; RocksDB's LOCK file guards
 * as well).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "storage/engine_rocks.h"
#include "storage/engine_rocks_int.h"

/* Counts live keys and their key + value bytes by a full scan of the data
 * column family, stores the figures (synced) and publishes them. */
static int recount(struct lsm_engine *e, uint64_t *keys, uint64_t *bytes)
{
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_iterator_t *it;
    uint8_t st[LSM_STATS_LEN];
    char *rerr = NULL;
    int rv;

    if (ro == NULL)
        return AMATERS_ENOMEM;
    rocksdb_readoptions_set_fill_cache(ro, 0);
    it = rocksdb_create_iterator_cf(e->db, ro, e->cf_data);
    *keys = 0;
    *bytes = 0;
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t kl = 0, vl = 0;
        rocksdb_iter_key(it, &kl);
        rocksdb_iter_value(it, &vl);
        *keys += 1;
        *bytes += kl + vl;
    }
    rocksdb_iter_get_error(it, &rerr);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    rv = lsm_error(rerr, NULL, NULL, 0);
    if (rv != 0)
        return rv;
    lsm_stats_encode(st, *keys, *bytes);
    rocksdb_put_cf(e->db, e->wopts, e->cf_meta, LSM_META_STATS,
                   strlen(LSM_META_STATS), (const char *)st, sizeof st,
                   &rerr);
    rv = lsm_error(rerr, NULL, NULL, 0);
    if (rv == 0) {
        pthread_mutex_lock(&e->mu);
        e->key_count = *keys;
        e->data_bytes = *bytes;
        pthread_mutex_unlock(&e->mu);
    }
    return rv;
}

/* rocksdb_repair_db on dir with the engine's options. */
static int rocks_repair(const struct amaters_engine_options *opts,
                        const char *dir, char *err, size_t errlen)
{
    struct lsm_engine tmp;
    char *rerr = NULL;
    char what[4300];
    int rv;

    memset(&tmp, 0, sizeof tmp);
    rv = lsm_options_build(&tmp, opts);
    if (rv != 0) {
        lsm_options_free(&tmp);
        snprintf(err, errlen, "lsm repair: out of memory");
        return rv;
    }
    rocksdb_repair_db(tmp.dbopts, dir, &rerr);
    lsm_options_free(&tmp);
    snprintf(what, sizeof what, "repair %s", dir);
    return lsm_error(rerr, what, err, errlen);
}

/* Counts the entries of dir whose name ends with suffix (or, with a
 * trailing '-' in suffix, starts with it); the newest (largest) such name
 * is copied to newest. */
static size_t count_files(const char *dir, const char *affix, char *newest,
                          size_t len)
{
    DIR *d = opendir(dir);
    struct dirent *ent;
    size_t n = 0, al = strlen(affix);
    bool prefix = al > 0 && affix[al - 1] == '-';

    if (newest != NULL && len > 0)
        newest[0] = '\0';
    if (d == NULL)
        return 0;
    while ((ent = readdir(d)) != NULL) {
        size_t nl = strlen(ent->d_name);
        bool hit = prefix ? strncmp(ent->d_name, affix, al) == 0
                          : nl > al && strcmp(ent->d_name + nl - al, affix)
                                           == 0;
        if (!hit)
            continue;
        n++;
        if (newest != NULL && strcmp(ent->d_name, newest) > 0 &&
            strlen(ent->d_name) < len)
            snprintf(newest, len, "%s", ent->d_name);
    }
    closedir(d);
    return n;
}

/* Opens the engine and recounts; 0 or a code with a message in err. */
static int open_recount(const struct amaters_engine_options *opts,
                        struct amaters_lsm_repair_report *report, char *err,
                        size_t errlen)
{
    struct amaters_engine *base = NULL;
    int rv = amaters_engine_lsm_ops.open(opts, &base, err, errlen);

    if (rv == 0) {
        rv = recount((struct lsm_engine *)base, &report->keys,
                     &report->bytes);
        if (rv != 0)
            snprintf(err, errlen, "lsm repair: recounting keys: %s",
                     amaters_strerror(rv));
    }
    amaters_engine_close(base);
    return rv;
}

/* CURRENT names the MANIFEST to use; when it is missing, point it at the
 * newest MANIFEST (written to a temporary file, synced, renamed). */
static int rebuild_current(const char *dir, char *err, size_t errlen)
{
    char manifest[256], path[4300], tmp[4300], line[300];
    struct stat st;
    int fd, n, rv = 0;

    snprintf(path, sizeof path, "%s/CURRENT", dir);
    if (stat(path, &st) == 0 ||
        count_files(dir, "MANIFEST-", manifest, sizeof manifest) == 0)
        return AMATERS_ENOTFOUND;
    snprintf(tmp, sizeof tmp, "%s/CURRENT.repair", dir);
    n = snprintf(line, sizeof line, "%s\n", manifest);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, line, (size_t)n) != n || fsync(fd) != 0)
        rv = AMATERS_EIO;
    if (fd >= 0 && close(fd) != 0)
        rv = AMATERS_EIO;
    if (rv == 0 && rename(tmp, path) != 0)
        rv = AMATERS_EIO;
    if (rv != 0)
        snprintf(err, errlen, "lsm repair: writing %s: %s", path,
                 strerror(errno));
    return rv;
}

int amaters_engine_lsm_repair(const struct amaters_engine_options *opts,
                              struct amaters_lsm_repair_report *report,
                              char *err, size_t errlen)
{
    char dir[4200], why[1024] = "";
    size_t blobs;
    int rv;

    memset(report, 0, sizeof *report);
    if (opts == NULL || opts->path == NULL || opts->path[0] == '\0' ||
        strlen(opts->path) > 4000) {
        snprintf(err, errlen, "lsm repair: no usable data directory given");
        return AMATERS_EINVAL;
    }
    snprintf(dir, sizeof dir, "%s/lsm", opts->path);
    rv = lsm_format_check(dir, err, errlen);
    if (rv != 0)
        return rv;
    report->method = "none needed (the database opened cleanly)";
    if (open_recount(opts, report, why, sizeof why) == 0)
        return 0;
    rv = rebuild_current(dir, err, errlen);
    if (rv != 0 && rv != AMATERS_ENOTFOUND)
        return rv;
    report->method = "CURRENT rebuilt to name the newest MANIFEST";
    if (rv == 0 && open_recount(opts, report, why, sizeof why) == 0)
        return 0;
    blobs = count_files(dir, ".blob", NULL, 0);
    if (blobs > 0) {
        snprintf(err, errlen,
                 "lsm repair: the database does not open (%s) and %zu blob "
                 "files hold its large values; RocksDB's repair in this "
                 "build cannot keep blob files, so the repair stopped "
                 "before changing anything. Restore the latest backup "
                 "(admin RESTORE) instead",
                 why, blobs);
        return AMATERS_EUNSUPPORTED;
    }
    report->method = "RocksDB repair (MANIFEST rebuilt from the tables and "
                     "logs)";
    rv = rocks_repair(opts, dir, err, errlen);
    if (rv == 0)
        rv = open_recount(opts, report, err, errlen);
    return rv;
}
