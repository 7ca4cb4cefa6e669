/*
 * engine_rocks_open.c - what the "lsm" engine decides before RocksDB
 * opens: the FORMAT file that records which versions of the storage
 * formats a directory holds (so a build never silently misreads a
 * directory written by another), and the RocksDB options, all tuned here
 * in one place from struct amaters_engine_options.
 *
 * FORMAT is a small text file in the engine directory (<path>/lsm):
 *
 *     amaters-lsm
 *     layout 1
 *     key-encoding 1
 *     record-format 1
 *
 * "layout" is this engine's own layout (column families, meta keys),
 * "key-encoding" the collection key encoding (storage/keys.h) and
 * "record-format" the stored value record (storage/record.h) the data was
 * written with. It is written (temporary file, fsync, rename, fsync of the
 * directory) before RocksDB creates the database, so a database never
 * exists without one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "storage/engine_rocks_int.h"
#include "storage/keys.h"
#include "storage/record.h"

#define FORMAT_MAGIC "amaters-lsm"
#define FORMAT_MAX 512 /* a longer FORMAT file is not one of ours */

/* Options not taken from the config, and why. */
#define DEFAULT_MEMTABLE_MB 64 /* when memtable_size_mb is 0 */
#define BLOOM_BITS_PER_KEY 10  /* ~1% false positives on point gets */
#define BACKGROUND_JOBS 2      /* flush + compaction; small machines */
#define NUM_LEVELS 7
#define LOG_LEVEL_FATAL 4 /* rocksdb::InfoLogLevel::FATAL_LEVEL */
/* Values of at least this size go to blob files at flush, and only their
 * references (a few dozen bytes) go through the LSM tree, so compactions
 * do not rewrite ciphertexts (KBs to MBs). 4 KiB is one data block: a
 * smaller value shares blocks with its neighbours and costs little to
 * rewrite, while a separated one costs an extra blob-file read per get.
 * Chosen by measurement: docs/internals/storage.md, "Choosing
 * blob_min_size". */
#define BLOB_MIN_SIZE (4u * 1024u)
#define BLOB_FILE_SIZE (256ull << 20)

/* The versions this build reads and writes. */
static const struct {
    const char *name;
    long version;
} known[] = {
    {"layout", LSM_LAYOUT_VERSION},
    {"key-encoding", AMATERS_KEY_ENCODING_VERSION},
    {"record-format", AMATERS_RECORD_FORMAT_VERSION},
};
#define NKNOWN (sizeof known / sizeof known[0])

/* ---- FORMAT ---- */

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int errno_code(int err)
{
    return err == ENOSPC || err == EDQUOT ? AMATERS_EFULL : AMATERS_EIO;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc;

    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

static int format_write(const char *dir, const char *file, char *err,
                        size_t errlen)
{
    char tmp[4200];
    char text[FORMAT_MAX];
    size_t len = (size_t)snprintf(text, sizeof text, "%s\n", FORMAT_MAGIC);
    int fd = -1;
    int rv = 0;

    for (size_t i = 0; i < NKNOWN; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%s %ld\n",
                                known[i].name, known[i].version);
    snprintf(tmp, sizeof tmp, "%s.tmp", file);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write_all(fd, text, len) != 0 || fsync(fd) != 0) {
        rv = errno_code(errno);
        snprintf(err, errlen, "write %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (rename(tmp, file) != 0 || fsync_dir(dir) != 0) {
        rv = errno_code(errno);
        snprintf(err, errlen, "install %s: %s", file, strerror(errno));
    }
out:
    if (fd >= 0)
        close(fd);
    if (rv != 0)
        unlink(tmp);
    return rv;
}

/* Parses text (NUL-terminated) into versions[NKNOWN] (0: absent). An
 * unknown field gives AMATERS_EUNSUPPORTED with its name in unknown[32]. */
static int format_parse(char *text, long *versions, char *unknown)
{
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);

    if (line == NULL || strcmp(line, FORMAT_MAGIC) != 0)
        return AMATERS_ECORRUPT;
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        char name[32];
        long v;
        char extra;
        if (sscanf(line, "%31s %ld %c", name, &v, &extra) != 2 || v <= 0)
            return AMATERS_ECORRUPT;
        size_t i = 0;
        while (i < NKNOWN && strcmp(name, known[i].name) != 0)
            i++;
        if (i == NKNOWN) {
            memcpy(unknown, name, sizeof name); /* a newer build's field */
            return AMATERS_EUNSUPPORTED;
        }
        if (versions[i] != 0)
            return AMATERS_ECORRUPT;
        versions[i] = v;
    }
    for (size_t i = 0; i < NKNOWN; i++) {
        if (versions[i] == 0)
            return AMATERS_ECORRUPT;
    }
    return 0;
}

static int format_read(const char *file, char *err, size_t errlen)
{
    char text[FORMAT_MAX + 1];
    char unknown[32] = "";
    long versions[NKNOWN] = {0};
    FILE *fp = fopen(file, "re");
    size_t n;
    int rv;

    if (fp == NULL) {
        snprintf(err, errlen, "read %s: %s", file, strerror(errno));
        return AMATERS_EIO;
    }
    n = fread(text, 1, FORMAT_MAX + 1, fp);
    rv = ferror(fp) ? AMATERS_EIO : 0;
    fclose(fp);
    if (rv == 0 && (n > FORMAT_MAX || memchr(text, '\0', n) != NULL))
        rv = AMATERS_ECORRUPT;
    if (rv == 0) {
        text[n] = '\0';
        rv = format_parse(text, versions, unknown);
    }
    for (size_t i = 0; rv == 0 && i < NKNOWN; i++) {
        if (versions[i] != known[i].version)
            rv = AMATERS_EUNSUPPORTED;
    }
    if (rv == AMATERS_EUNSUPPORTED && unknown[0] != '\0')
        snprintf(err, errlen,
                 "%s: unknown field '%s' (data written by a build that "
                 "this build does not know); refusing to open",
                 file, unknown);
    else if (rv == AMATERS_EUNSUPPORTED)
        snprintf(err, errlen,
                 "%s: data written with storage format versions this build "
                 "does not know (file has layout %ld, key-encoding %ld, "
                 "record-format %ld; this build supports layout %ld, "
                 "key-encoding %ld, record-format %ld); refusing to open",
                 file, versions[0], versions[1], versions[2],
                 known[0].version, known[1].version, known[2].version);
    else if (rv != 0)
        snprintf(err, errlen, "%s: not a valid amaters lsm FORMAT file (%s)",
                 file, rv == AMATERS_EIO ? "read error" : "malformed");
    return rv;
}

int lsm_format_check(const char *dir, char *err, size_t errlen)
{
    char file[4096];
    char current[4096];
    struct stat st;

    snprintf(file, sizeof file, "%s/FORMAT", dir);
    snprintf(current, sizeof current, "%s/CURRENT", dir);
    if (stat(file, &st) == 0)
        return format_read(file, err, errlen);
    if (errno != ENOENT) {
        snprintf(err, errlen, "stat %s: %s", file, strerror(errno));
        return AMATERS_EIO;
    }
    if (stat(current, &st) == 0) {
        snprintf(err, errlen,
                 "%s missing next to an existing database in %s; refusing "
                 "to guess its format",
                 file, dir);
        return AMATERS_ECORRUPT;
    }
    return format_write(dir, file, err, errlen);
}

/* Whether dir holds files of a RocksDB database (a MANIFEST, a table or
 * a blob file). */
static bool has_db_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *ent;
    bool found = false;

    if (d == NULL)
        return false;
    while (!found && (ent = readdir(d)) != NULL) {
        size_t n = strlen(ent->d_name);
        found = strncmp(ent->d_name, "MANIFEST-", 9) == 0 ||
                (n > 4 && strcmp(ent->d_name + n - 4, ".sst") == 0) ||
                (n > 5 && strcmp(ent->d_name + n - 5, ".blob") == 0);
    }
    closedir(d);
    return found;
}

int lsm_current_check(const char *dir, bool *fresh, char *err,
                      size_t errlen)
{
    char current[4096];
    struct stat st;

    snprintf(current, sizeof current, "%s/CURRENT", dir);
    *fresh = false;
    if (stat(current, &st) == 0)
        return 0;
    if (errno != ENOENT) {
        snprintf(err, errlen, "stat %s: %s", current, strerror(errno));
        return AMATERS_EIO;
    }
    if (!has_db_files(dir)) {
        *fresh = true;
        return 0;
    }
    snprintf(err, errlen,
             "%s is missing but %s holds database files: the data directory "
             "is damaged (opening it would start an empty database over "
             "them). Run `amaters-server repair` (it keeps a copy of the "
             "damaged files)",
             current, dir);
    return AMATERS_ECORRUPT;
}

/* Bytes of the WAL files (*.log) in dir. */
static uint64_t wal_bytes(const char *dir)
{
    char path[4400];
    struct dirent *ent;
    struct stat st;
    uint64_t sum = 0;
    DIR *d = opendir(dir);

    if (d == NULL)
        return 0;
    while ((ent = readdir(d)) != NULL) {
        size_t n = strlen(ent->d_name);
        if (n <= 4 || strcmp(ent->d_name + n - 4, ".log") != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
            sum += (uint64_t)st.st_size;
    }
    closedir(d);
    return sum;
}

/* Room for the MANIFEST, OPTIONS and a new WAL beside the replayed data. */
#define RECOVERY_MARGIN ((uint64_t)8 << 20)

int lsm_recovery_space_check(const char *dir, const char *wal_dir,
                             char *err, size_t errlen)
{
    const char *wd = wal_dir != NULL && wal_dir[0] != '\0' ? wal_dir : dir;
    uint64_t need = wal_bytes(wd), avail;
    struct statvfs fs;

    if (need == 0 || statvfs(dir, &fs) != 0)
        return 0; /* nothing to replay, or no figure: let RocksDB try */
    avail = (uint64_t)fs.f_bavail * fs.f_frsize;
    need += RECOVERY_MARGIN;
    if (avail >= need)
        return 0;
    snprintf(err, errlen,
             "not enough free space to recover: %s holds %llu MiB of WAL "
             "to replay into table files in %s, whose filesystem has %llu "
             "MiB free; free at least %llu MiB more and start again "
             "(nothing was changed)",
             wd, (unsigned long long)((need - RECOVERY_MARGIN) >> 20), dir,
             (unsigned long long)(avail >> 20),
             (unsigned long long)((need - avail + (1u << 20) - 1) >> 20));
    return AMATERS_EFULL;
}

/* ---- RocksDB options ---- */

/* Compaction from the options: style, levels, level size ratio, and the
 * background jobs (one flush plus max_compactions). Leveled compaction
 * compresses by level: the first two levels none (young data, rewritten
 * soon), middle levels LZ4 (cheap), the bottommost ZSTD (most data,
 * rarely rewritten). Ciphertexts do not compress; keys and small records
 * do. Large values are in blob files, uncompressed. */
static void set_compaction(rocksdb_options_t *o,
                           const struct amaters_engine_options *opts)
{
    int levels = opts->num_levels ? (int)opts->num_levels : NUM_LEVELS;
    int per_level[64];
    unsigned jobs = 1 + (opts->max_compactions ? opts->max_compactions
                                               : BACKGROUND_JOBS - 1);

    if (levels > 64)
        levels = 64;
    for (int i = 0; i < levels; i++)
        per_level[i] = i < 2                ? rocksdb_no_compression
                       : i == levels - 1 ? rocksdb_zstd_compression
                                         : rocksdb_lz4_compression;
    rocksdb_options_set_max_background_jobs(o, (int)jobs);
    rocksdb_options_set_num_levels(o, levels);
    rocksdb_options_set_max_bytes_for_level_multiplier(
        o, opts->level_multiplier ? (double)opts->level_multiplier : 10.0);
    rocksdb_options_set_compression_per_level(o, per_level, (size_t)levels);
    rocksdb_options_set_bottommost_compression(o, rocksdb_zstd_compression);
    switch (opts->compaction_style) {
    case AMATERS_COMPACTION_STYLE_UNIVERSAL:
        rocksdb_options_set_compaction_style(o, rocksdb_universal_compaction);
        break;
    case AMATERS_COMPACTION_STYLE_FIFO:
        rocksdb_options_set_compaction_style(o, rocksdb_fifo_compaction);
        break;
    default:
        rocksdb_options_set_compaction_style(o, rocksdb_level_compaction);
        rocksdb_options_set_level_compaction_dynamic_level_bytes(o, 1);
        break;
    }
}

int lsm_options_build(struct lsm_engine *e,
                      const struct amaters_engine_options *opts)
{
    /* L0, L1: no compression (young data, rewritten soon); middle levels
     * LZ4 (cheap); the bottommost level ZSTD (most data, rarely
     * rewritten). Ciphertexts do not compress; keys and small records
     * do. Large values are in blob files, uncompressed. */
    size_t memtable_mb = opts->memtable_size_mb ? opts->memtable_size_mb
                                                : DEFAULT_MEMTABLE_MB;
    rocksdb_options_t *o = rocksdb_options_create();

    e->dbopts = o;
    e->table = rocksdb_block_based_options_create();
    if (o == NULL || e->table == NULL)
        return AMATERS_ENOMEM;
    rocksdb_block_based_options_set_filter_policy(
        e->table, rocksdb_filterpolicy_create_bloom_full(BLOOM_BITS_PER_KEY));
    if (opts->block_cache_size_mb > 0) {
        e->cache = rocksdb_cache_create_lru(opts->block_cache_size_mb << 20);
        if (e->cache == NULL)
            return AMATERS_ENOMEM;
        rocksdb_block_based_options_set_block_cache(e->table, e->cache);
        /* index and filter blocks count against the cache; L0's stay */
        rocksdb_block_based_options_set_cache_index_and_filter_blocks(
            e->table, 1);
        rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache(
            e->table, 1);
    } else {
        /* no cache: RocksDB refuses to open when index and filter blocks
         * are to be cached, so they stay in table-reader memory */
        rocksdb_block_based_options_set_no_block_cache(e->table, 1);
    }
    rocksdb_options_set_block_based_table_factory(o, e->table);

    rocksdb_options_set_create_if_missing(o, 1);
    rocksdb_options_set_create_missing_column_families(o, 1);
    /* On (RocksDB's default), not off: without it a failed WAL append
     * (disk full) does not stop later writes, which can then land after
     * a torn WAL record and be dropped by recovery although they were
     * acknowledged. With it, the first failure makes every later write
     * fail until the engine is reopened. */
    rocksdb_options_set_paranoid_checks(o, 1);
    rocksdb_options_set_write_buffer_size(o, memtable_mb << 20);
    /* Without a WAL, a crash keeps exactly what was flushed, and the
     * column families flush independently: the data one when its
     * memtable fills, the tiny "meta" one (the stats record, written in
     * the same batch) hardly ever, so its counters would be left behind
     * the data for good. Atomic flush writes every column family's
     * memtables together, up to one point in the write order, so what
     * survives a crash is a consistent prefix of the batches (flush()
     * gets the same by holding the committer: engine_rocks.c). With a
     * WAL it matters too: flushed separately, the meta column family
     * (written by every commit) kept every WAL alive after the data one
     * was flushed, so after a crash the WALs held data already in table
     * files, and RocksDB's repair, which turns WALs into tables, then
     * failed its consistency check (overlapping sequence numbers) and
     * left an empty MANIFEST behind. Flushed together, a WAL is obsolete
     * once flushed: what a crash leaves in WALs is newer than every
     * table. */
    rocksdb_options_set_atomic_flush(o, 1);
    /* A torn last record (a crash in the middle of a WAL append) is
     * dropped, as it never was acknowledged; damage anywhere before the
     * tail makes the open fail (ERROR naming the corruption, and start-up
     * points at `amaters-server repair`) instead of RocksDB's default,
     * point-in-time recovery, which silently stops replaying at the first
     * bad record and so loses every acknowledged write after it. */
    rocksdb_options_set_wal_recovery_mode(
        o, rocksdb_tolerate_corrupted_tail_records_recovery);
    set_compaction(o, opts);
    if (opts->wal_dir != NULL && opts->wal_dir[0] != '\0')
        rocksdb_options_set_wal_dir(o, opts->wal_dir);
    if (opts->wal_size_mb > 0)
        rocksdb_options_set_max_total_wal_size(o, opts->wal_size_mb << 20);
    rocksdb_options_set_enable_blob_files(o, opts->blob_min_size !=
                                                 (size_t)-1);
    rocksdb_options_set_min_blob_size(o, opts->blob_min_size
                                             ? opts->blob_min_size
                                             : BLOB_MIN_SIZE);
    rocksdb_options_set_blob_file_size(o, BLOB_FILE_SIZE);
    rocksdb_options_set_blob_compression_type(o, rocksdb_no_compression);
    rocksdb_options_set_enable_blob_gc(o, 1);
    /* RocksDB's LOG at FATAL only: Debian's librocksdb keeps its
     * assertions, and its LOG writer asserts (aborting the server) when
     * it is appended to after an append failed, which is what the error
     * messages RocksDB logs on a full disk do. Our callers get codes and
     * messages instead. */
    rocksdb_options_set_info_log_level(o, LOG_LEVEL_FATAL);
    rocksdb_options_set_keep_log_file_num(o, 4);
    rocksdb_options_set_max_log_file_size(o, 8u << 20);
    return 0;
}

void lsm_options_free(struct lsm_engine *e)
{
    if (e->dbopts != NULL)
        rocksdb_options_destroy(e->dbopts);
    if (e->table != NULL)
        rocksdb_block_based_options_destroy(e->table);
    if (e->cache != NULL)
        rocksdb_cache_destroy(e->cache);
    e->dbopts = NULL;
    e->table = NULL;
    e->cache = NULL;
}
