/*
 * engine_rocks_repair.c - offline repair of an "lsm" data directory that
 * RocksDB refuses to open (damaged MANIFEST or CURRENT, lost files).
 *
 * The repair is RocksDB's own (rocksdb_repair_db: every readable table
 * and live WAL is kept, the MANIFEST is rebuilt; unreadable data is moved
 * to lost/), run with the very options the engine opens with, so that
 * both column families, the WAL directory and blob files are the ones it
 * knows. The data directory's FORMAT must be one this build reads: an
 * unknown format is never "repaired". Afterwards the engine is opened
 * normally and the exact key count and byte total, which the repair may
 * have made stale, are recounted from the data and stored again.
 *
 * Everything but the first plain open runs on a staging copy that is put
 * in place atomically only once it fully succeeded
 * (engine_rocks_stage.c, which also tells what a kill at each step
 * leaves).
 *
 * Caller: the `amaters-server repair` command, with no server running on
 * the directory (it holds the PID file lock; RocksDB's LOCK file guards
 * as well).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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
    char what[4400];
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

/* Opens the engine and recounts; with flush, every column family is then
 * flushed, so that the WAL holds nothing the database needs (a staged
 * copy is put in place without its WAL). 0 or a code with a message in
 * err. */
static int open_recount(const struct amaters_engine_options *opts,
                        bool flush, struct amaters_lsm_repair_report *report,
                        char *err, size_t errlen)
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
    if (rv == 0 && flush) {
        rv = base->ops->flush(base);
        if (rv != 0)
            snprintf(err, errlen, "lsm repair: flushing: %s",
                     amaters_strerror(rv));
    }
    amaters_engine_close(base);
    return rv;
}

/* CURRENT names the MANIFEST to use; when it is missing, point it at the
 * newest MANIFEST (written to a temporary file, synced, renamed). */
static int rebuild_current(const char *dir, char *err, size_t errlen)
{
    char manifest[256], path[4400], tmp[4400], line[300];
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

/* The step callback; an injected failure is AMATERS_EIO with a message. */
static int step(const struct amaters_lsm_stage *s, const char *name,
                char *err, size_t errlen)
{
    if (amaters_lsm_stage_step(s, name) == 0)
        return 0;
    snprintf(err, errlen, "lsm repair: injected failure at step \"%s\"",
             name);
    return AMATERS_EIO;
}

/* ---- a repair that leaves out WAL files already in table files ----
 *
 * A crash between a flush (its table file written) and the removal of the
 * WAL it made obsolete leaves that WAL behind. RocksDB's repair turns every
 * WAL into a table, whose sequence numbers then overlap those of the
 * flushed table: its consistency check fails ("VersionBuilder: L0 file #35
 * with seqno 6013 7013 vs. file #31 ..."). Sequence numbers are global and
 * grow with every write, and flushes write out a prefix of the writes in
 * sequence order (one column family's, or with atomic flush all of them
 * together): so a WAL file whose data writes all have sequence numbers
 * <= S, the largest sequence number in the table files, is entirely in
 * them. The other column family, meta, holds only the stats record (the
 * last write of each of our batches), which the repair recounts anyway:
 * before atomic flush it was rarely flushed, so it is left out of the
 * comparison. S comes from RocksDB's repair of a copy without any WAL;
 * each WAL's writes from scanning its records. */

#define MAX_WALS 512

struct wal_info {
    uint64_t num;         /* file number */
    uint64_t first, last; /* sequence numbers of its writes */
    int state;            /* 1 holds writes, 0 empty, -1 unreadable */
    bool left_out;
};

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Reads exactly n bytes at off of fd into p. Returns 0 or -1. */
static int read_at(int fd, uint8_t *p, size_t n, off_t off)
{
    while (n > 0) {
        ssize_t r = pread(fd, p, n, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
        off += r;
    }
    return 0;
}

#define WAL_BLOCK 32768

/* Whether fd holds only zero bytes from off to end. */
static bool zeros_from(int fd, off_t off, off_t end)
{
    uint8_t buf[4096];

    while (off < end) {
        size_t n = end - off < (off_t)sizeof buf ? (size_t)(end - off)
                                                 : sizeof buf;
        if (read_at(fd, buf, n, off) != 0)
            return false;
        for (size_t i = 0; i < n; i++) {
            if (buf[i] != 0)
                return false;
        }
        off += (off_t)n;
    }
    return true;
}

/* The sequence numbers of the data writes in WAL file path: RocksDB's
 * log format (32 KiB blocks of physical records: CRC 4, length 2, type 1,
 * the recyclable types 5-8 adding a 4-byte log number; types 1/5 hold a
 * whole record, 2/6 its first fragment, 3/7 a middle, 4/8 the last), each
 * logical record a write batch that starts with its 8-byte sequence number
 * and 4-byte count (only the non-recyclable format, the one written here:
 * recycle_log_file_num is 0). Returns 1 with *first and *last (the last batch's
 * data write's sequence number), 0 for a file without any data write, -1
 * when unreadable or not a WAL. The scan stops at a zero header or a record
 * running past the end (a torn tail: what follows was never written). */
static int wal_seq_range(const char *path, uint64_t *first, uint64_t *last)
{
    struct stat st;
    uint8_t h[11], acc[12];
    size_t acc_n = 0;
    off_t pos = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC), found = 0;

    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    while (pos + 7 <= st.st_size) {
        off_t room = WAL_BLOCK - pos % WAL_BLOCK;
        if (room < 7) {
            pos += room; /* block trailer */
            continue;
        }
        if (read_at(fd, h, 7, pos) != 0)
            break;
        unsigned type = h[6], len = (unsigned)(h[4] | h[5] << 8);
        size_t hdr = 7;
        if (type == 0 || type > 4 || pos + (off_t)(hdr + len) > st.st_size)
            break; /* zeros, a torn tail, damage or recycled logs: below */
        unsigned kind = type; /* 1 full, 2 first, 3 middle, 4 last */
        if (kind == 1 || kind == 2)
            acc_n = 0; /* a new logical record begins */
        size_t take = acc_n < 12 ? 12 - acc_n : 0;
        take = take < len ? take : len;
        if (take > 0 &&
            read_at(fd, acc + acc_n, take, pos + (off_t)hdr) != 0)
            break;
        bool had = acc_n == 12;
        acc_n += take;
        if (!had && acc_n == 12) {
            uint64_t seq = le64(acc);
            uint32_t cnt = (uint32_t)(acc[8] | acc[9] << 8 | acc[10] << 16 |
                                      (uint32_t)acc[11] << 24);
            /* our batches end with the meta column family's stats
             * record: the data writes are seq .. seq + cnt - 2 (a batch
             * of that record alone, from a recount, holds none) */
            if (cnt >= 2) {
                if (!found)
                    *first = seq;
                *last = seq + cnt - 2;
                found = 1;
            }
        }
        pos += (off_t)(hdr + len);
    }
    /* Stopped before the end: fine only if nothing but zeros follows (a
     * preallocated or zero-filled tail). Anything else (damage, a torn
     * record, the recyclable format this build does not write) may hide
     * later writes: the file counts as unreadable and is kept. */
    if (pos < st.st_size && !zeros_from(fd, pos, st.st_size))
        found = -1;
    close(fd);
    return found;
}

static int wal_cmp(const void *a, const void *b)
{
    const struct wal_info *x = a, *y = b;
    return x->num < y->num ? -1 : x->num > y->num;
}

/* Lists the WAL files of dir, sorted by number. Returns their count, or
 * MAX_WALS + 1 when there are too many to consider. */
static size_t list_wals(const char *dir, struct wal_info *w)
{
    DIR *d = opendir(dir);
    struct dirent *ent;
    size_t n = 0;

    if (d == NULL)
        return 0;
    while ((ent = readdir(d)) != NULL) {
        char path[4600];
        size_t dl = strspn(ent->d_name, "0123456789");
        if (dl == 0 || dl > 19 || strcmp(ent->d_name + dl, ".log") != 0)
            continue;
        if (n == MAX_WALS) {
            n++;
            break;
        }
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        w[n].num = strtoull(ent->d_name, NULL, 10);
        w[n].first = w[n].last = 0;
        w[n].state = wal_seq_range(path, &w[n].first, &w[n].last);
        w[n].left_out = false;
        n++;
    }
    closedir(d);
    if (n <= MAX_WALS)
        qsort(w, n, sizeof *w, wal_cmp);
    return n;
}

/* Empties the staged copies of the WAL files marked left_out (every WAL
 * file with all). Returns 0 or AMATERS_EIO with a message in err. */
static int drop_staged_wals(const struct amaters_lsm_stage *s,
                            const struct wal_info *w, size_t n, bool all,
                            char *err, size_t errlen)
{
    const char *dir = s->wal_in_lsm ? s->slsm : s->swal;
    struct wal_info *staged = amaters_malloc(sizeof *staged * MAX_WALS);
    size_t m = staged ? list_wals(dir, staged) : 0;
    int rv = staged ? 0 : AMATERS_ENOMEM;

    for (size_t i = 0; rv == 0 && i < m && m <= MAX_WALS; i++) {
        bool drop = all;
        for (size_t j = 0; !drop && j < n; j++)
            drop = w[j].left_out && w[j].num == staged[i].num;
        char path[4600];
        snprintf(path, sizeof path, "%s/%06llu.log", dir,
                 (unsigned long long)staged[i].num);
        /* emptied, not removed: the repair still sees the file number
         * and reserves it, so a WAL file left in the real WAL directory
         * (a kill before the old ones are moved away) is older than every
         * log the repaired database keeps, and never replayed */
        if (drop && truncate(path, 0) != 0) {
            snprintf(err, errlen, "lsm repair: empty %.900s: %s", path,
                     strerror(errno));
            rv = AMATERS_EIO;
        }
    }
    amaters_free(staged);
    return rv;
}

/* The largest sequence number in the table files of the data column
 * family, from its "rocksdb.sstables" text (a line per table:
 * " <number>:<size>[<smallest seq> .. <largest seq>][...]"). Returns 0,
 * or AMATERS_EINVAL when a table line does not parse (then nothing is
 * left out). */
static int data_max_seq(struct lsm_engine *e, uint64_t *max)
{
    char *text = rocksdb_property_value_cf(e->db, e->cf_data,
                                           "rocksdb.sstables");
    int rv = text ? 0 : AMATERS_EINVAL;

    *max = 0;
    for (char *line = text; rv == 0 && line && *line;) {
        char *nl = strchr(line, '\n');
        unsigned long long num, size, lo, hi;
        if (nl)
            *nl = '\0';
        if (strncmp(line, "---", 3) != 0 && line[0] != '\0') {
            if (sscanf(line, " %llu:%llu[%llu .. %llu]", &num, &size, &lo,
                       &hi) != 4)
                rv = AMATERS_EINVAL;
            else if (hi > *max)
                *max = hi;
        }
        line = nl ? nl + 1 : NULL;
    }
    rocksdb_free(text);
    return rv;
}

/* S: the largest sequence number in the data column family's tables,
 * from RocksDB's repair of a staged copy without WAL files (then
 * discarded). The meta column family's tables do not count: before
 * atomic flush RocksDB flushed it alone when the WAL grew too large, so
 * its tables could end past writes to data that only a WAL held. */
static int tables_max_seq(struct amaters_lsm_stage *s, uint64_t *max,
                          char *err, size_t errlen)
{
    struct amaters_engine *base = NULL;
    int rv = amaters_lsm_stage_build(s, err, errlen);

    if (rv == 0)
        rv = drop_staged_wals(s, NULL, 0, true, err, errlen);
    if (rv == 0)
        rv = rocks_repair(&s->sopts, s->slsm, err, errlen);
    if (rv == 0)
        rv = amaters_engine_lsm_ops.open(&s->sopts, &base, err, errlen);
    if (rv == 0)
        rv = data_max_seq((struct lsm_engine *)base, max);
    amaters_engine_close(base);
    amaters_lsm_stage_discard(s);
    return rv;
}

/* Marks the WAL files entirely in table files (every data write's
 * sequence number <= max) or without any; returns how many. */
static size_t mark_flushed(struct wal_info *w, size_t n, uint64_t max)
{
    size_t out = 0;

    for (size_t i = 0; i < n; i++) {
        w[i].left_out = w[i].state == 0 ||
                        (w[i].state == 1 && w[i].last <= max);
        out += w[i].left_out;
    }
    return out;
}

/* After RocksDB's repair failed (err says why): tries again without the
 * WAL files whose writes are all in table files already. Returns 0 with
 * the staged copy repaired, opened, recounted and flushed; else the first
 * failure's code, err unchanged, nothing staged. */
static int repair_without_flushed_wals(struct amaters_lsm_stage *s,
                                       struct amaters_lsm_repair_report *rep,
                                       int first_rv, char *err,
                                       size_t errlen)
{
    struct wal_info *w = amaters_malloc(sizeof *w * MAX_WALS);
    char why[1024] = "";
    uint64_t max = 0;
    size_t n = 0, out = 0;
    int rv = first_rv;

    if (w != NULL)
        n = list_wals(s->wal_in_lsm ? s->lsm : s->wal, w);
    amaters_lsm_stage_discard(s);
    if (w == NULL || n == 0 || n > MAX_WALS ||
        tables_max_seq(s, &max, why, sizeof why) != 0)
        goto out;
    out = mark_flushed(w, n, max);
    if (out == 0)
        goto out;
    if (amaters_lsm_stage_build(s, why, sizeof why) != 0)
        goto retry_failed;
    if (drop_staged_wals(s, w, n, false, why, sizeof why) != 0 ||
        rocks_repair(&s->sopts, s->slsm, why, sizeof why) != 0 ||
        open_recount(&s->sopts, true, rep, why, sizeof why) != 0) {
        amaters_lsm_stage_discard(s);
        goto retry_failed;
    }
    rep->wals_left_out = (unsigned)out;
    rep->method = "RocksDB repair (MANIFEST rebuilt from the tables and "
                  "logs), leaving out WAL files whose writes were all in "
                  "table files already (a crash between a flush and the "
                  "removal of the WAL it made obsolete)";
    rv = 0;
    goto out;
retry_failed:
    n = strlen(err);
    if (n + 1 < errlen)
        snprintf(err + n, errlen - n,
                 "; a second repair without the %zu WAL file(s) already in "
                 "table files failed too: %s",
                 out, why);
out:
    amaters_free(w);
    return rv;
}

/* Repairs the staged copy: CURRENT rebuilt if missing, else (or if that
 * does not open) RocksDB's repair; then open, recount and flush. The
 * real directories are not touched. */
static int repair_staged(struct amaters_lsm_stage *s,
                         struct amaters_lsm_repair_report *report,
                         const char *why, char *err, size_t errlen)
{
    char dir[4300], why2[1024] = "";
    size_t blobs;
    int rv;

    snprintf(dir, sizeof dir, "%s", s->slsm);
    rv = rebuild_current(dir, err, errlen);
    if (rv != 0 && rv != AMATERS_ENOTFOUND)
        return rv;
    report->method = "CURRENT rebuilt to name the newest MANIFEST";
    if (rv == 0) {
        rv = step(s, "current-rebuilt", err, errlen);
        if (rv != 0)
            return rv;
        if (open_recount(&s->sopts, true, report, why2, sizeof why2) == 0)
            return 0;
        why = why2;
    }
    blobs = count_files(dir, ".blob", NULL, 0);
    if (blobs > 0) {
        snprintf(err, errlen,
                 "lsm repair: the database does not open (%s) and %zu blob "
                 "files hold its large values; RocksDB's repair in this "
                 "build cannot keep blob files. Restore the latest backup "
                 "(admin RESTORE) instead",
                 why, blobs);
        return AMATERS_EUNSUPPORTED;
    }
    report->method = "RocksDB repair (MANIFEST rebuilt from the tables and "
                     "logs)";
    rv = rocks_repair(&s->sopts, dir, err, errlen);
    if (rv == 0) {
        rv = step(s, "rocksdb-repaired", err, errlen);
        if (rv == 0)
            rv = open_recount(&s->sopts, true, report, err, errlen);
        return rv;
    }
    /* a failed repair changed the copy: the retry builds a fresh one */
    rv = repair_without_flushed_wals(s, report, rv, err, errlen);
    if (rv == 0)
        rv = step(s, "rocksdb-repaired", err, errlen);
    return rv;
}

/* Appends to err that nothing was changed. */
static void nothing_changed(const struct amaters_lsm_stage *s, char *err,
                            size_t errlen)
{
    size_t n = strlen(err);

    if (n + 1 < errlen)
        snprintf(err + n, errlen - n,
                 "; the repair changed nothing: %s and the WAL directory "
                 "are as they were (the staging copy %s was removed)",
                 s->lsm, s->root);
}

int amaters_engine_lsm_repair_staged(const struct amaters_engine_options
                                         *opts,
                                     amaters_lsm_repair_step_cb step_cb,
                                     void *cb_arg,
                                     struct amaters_lsm_repair_report *report,
                                     char *err, size_t errlen)
{
    struct amaters_lsm_stage *s = NULL;
    char why[1024] = "";
    int rv;

    memset(report, 0, sizeof *report);
    s = amaters_malloc(sizeof *s);
    if (s == NULL) {
        snprintf(err, errlen, "lsm repair: out of memory");
        return AMATERS_ENOMEM;
    }
    rv = amaters_lsm_stage_init(s, opts);
    if (rv != 0) {
        snprintf(err, errlen, "lsm repair: no usable data directory given");
        goto out;
    }
    s->step_cb = step_cb;
    s->cb_arg = cb_arg;
    rv = lsm_format_check(s->lsm, err, errlen);
    if (rv == 0)
        rv = amaters_lsm_stage_leftover(s, report, err, errlen);
    if (rv != 0)
        goto out;
    report->method = "none needed (the database opened cleanly)";
    if (open_recount(opts, false, report, why, sizeof why) == 0)
        goto out;
    rv = amaters_lsm_stage_build(s, err, errlen);
    if (rv != 0)
        goto failed; /* build removed what it made */
    rv = step(s, "staged", err, errlen);
    if (rv == 0)
        rv = repair_staged(s, report, why, err, errlen);
    if (rv == 0)
        rv = step(s, "reopened", err, errlen);
    if (rv != 0) {
        amaters_lsm_stage_discard(s);
        goto failed;
    }
    rv = amaters_lsm_stage_commit(s, report, err, errlen);
    if (rv == 0)
        goto out;
failed:
    nothing_changed(s, err, errlen);
out:
    amaters_free(s);
    return rv;
}

int amaters_engine_lsm_repair(const struct amaters_engine_options *opts,
                              struct amaters_lsm_repair_report *report,
                              char *err, size_t errlen)
{
    return amaters_engine_lsm_repair_staged(opts, NULL, NULL, report, err,
                                            errlen);
}
