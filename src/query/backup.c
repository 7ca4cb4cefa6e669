/*
 * backup.c - BACKUP and RESTORE for the admin tunnel.
 *
 * A backup is one file, <backup_dir>/<name>.amb, holding every engine
 * entry (engine key + stored record, so collections and metadata come
 * back exactly). Names are plain ([A-Za-z0-9][A-Za-z0-9._-]*, at most 128
 * bytes): never a path. Each BACKUP writes its own temporary file
 * (<name>.amb.tmp.<pid>.<n>, created exclusively, mode 0600), fsyncs it,
 * renames it over <name>.amb and fsyncs the directory, so neither a crash
 * nor a concurrent BACKUP of the same name ever leaves a half or mixed
 * backup under the real name (of concurrent ones, the last rename wins).
 * RESTORE opens the file without following a symbolic link and refuses
 * anything but a regular file.
 *
 * Layout (integers little-endian):
 *   "AMBK" u32 format(1)
 *   entries: u8 1, u32 key_len, key, u64 value_len, value
 *   trailer: u8 0xFF, u64 count, u64 bytes, u32 crc32(everything before)
 * RESTORE verifies the whole file (structure and CRC) before writing
 * anything, then writes entries in groups; existing keys not in the backup
 * are kept.
 */
#include "query/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/crc32.h"
#include "core/errors.h"
#include "obs/log.h"

#define BK_MAGIC "AMBK"
#define BK_FORMAT 1u
#define BK_GROUP 256
#define BK_MAX_KEY (1u << 20)
#define BK_MAX_VALUE ((uint64_t)1 << 32)

struct bk_file {
    FILE *f;
    uint32_t crc;
    uint64_t count, bytes;
};

static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128 || s[0] == '.' || s[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return strstr(s, "..") == NULL;
}

static int bk_path(struct amaters_exec *x, struct amaters_qctx *ctx,
                   const char *name, char *buf, size_t len)
{
    if (!valid_name(name))
        return amaters_qctx_fail(ctx, AMATERS_EINVAL,
                                 "backup name '%.64s' is not valid: use 1-128 "
                                 "of A-Z a-z 0-9 . _ - (a name, not a path)",
                                 name);
    if (x->opts.backup_dir[0] == '\0')
        return amaters_qctx_fail(ctx, AMATERS_EUNSUPPORTED,
                                 "no backup directory configured");
    snprintf(buf, len, "%s/%s.amb", x->opts.backup_dir, name);
    return 0;
}

/* The code for a failed write or sync, from errno. */
static int io_code(int e)
{
    return e == ENOSPC || e == EDQUOT ? AMATERS_EFULL : AMATERS_EIO;
}

static int w(struct bk_file *b, const void *p, size_t n)
{
    b->crc = amaters_crc32(b->crc, p, n);
    return fwrite(p, 1, n, b->f) == n ? 0 : io_code(errno);
}

static int w_u32(struct bk_file *b, uint32_t v)
{
    uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
                    (uint8_t)(v >> 24)};
    return w(b, t, 4);
}

static int w_u64(struct bk_file *b, uint64_t v)
{
    int rc = w_u32(b, (uint32_t)v);
    return rc ? rc : w_u32(b, (uint32_t)(v >> 32));
}

static int write_all(struct amaters_exec *x, struct bk_file *b)
{
    struct amaters_engine_iter *it = NULL;
    const uint8_t *k, *v;
    size_t kl, vl;
    uint8_t tag = 1;
    int rc = w(b, BK_MAGIC, 4);
    if (rc == 0)
        rc = w_u32(b, BK_FORMAT);
    if (rc == 0)
        rc = amaters_engine_iter_open(x->engine, (const uint8_t *)"", 0, NULL,
                                      0, &it);
    while (rc == 0 && (rc = amaters_engine_iter_next(it, &k, &kl, &v, &vl)) ==
                          1) {
        rc = w(b, &tag, 1);
        if (rc == 0)
            rc = w_u32(b, (uint32_t)kl);
        if (rc == 0)
            rc = w(b, k, kl);
        if (rc == 0)
            rc = w_u64(b, vl);
        if (rc == 0)
            rc = w(b, v, vl);
        b->count++;
        b->bytes += kl + vl;
    }
    amaters_engine_iter_close(it);
    if (rc < 0)
        return rc;
    tag = 0xFF;
    rc = w(b, &tag, 1);
    if (rc == 0)
        rc = w_u64(b, b->count);
    if (rc == 0)
        rc = w_u64(b, b->bytes);
    if (rc == 0)
        rc = w_u32(b, b->crc);
    return rc;
}

/* Serial of the temporary files of this process: with the PID, makes
 * every BACKUP's temporary name its own. */
static atomic_uint_fast64_t g_tmp_serial;

/* Creates this BACKUP's own temporary file next to path (never an
 * existing file, never through a symbolic link) and opens it in b->f. */
static int open_tmp(struct amaters_qctx *ctx, const char *path, char *tmp,
                    size_t len, struct bk_file *b)
{
    unsigned long long n = (unsigned long long)atomic_fetch_add(
        &g_tmp_serial, 1);
    int fd;

    snprintf(tmp, len, "%s.tmp.%ld.%llu", path, (long)getpid(), n);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              0600);
    if (fd < 0)
        return amaters_qctx_fail(ctx, io_code(errno),
                                 "backup: create %s: %s", tmp,
                                 strerror(errno));
    b->f = fdopen(fd, "wb");
    if (b->f == NULL) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return amaters_qctx_fail(ctx, AMATERS_EIO, "backup: open %s: %s",
                                 tmp, strerror(e));
    }
    return 0;
}

/* fsyncs the backup directory, so that the rename is durable. */
static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0)
        return -1;
    if (fsync(fd) != 0)
        rc = -1;
    close(fd);
    return rc;
}

int q_backup(struct amaters_exec *x, struct amaters_qctx *ctx,
             const char *name, uint64_t *keys, uint64_t *bytes)
{
    char path[4096], tmp[4200];
    struct bk_file b = {0};
    int rc = bk_path(x, ctx, name, path, sizeof path);
    int e = 0;
    const char *what = NULL;

    if (rc)
        return rc;
    if (mkdir(x->opts.backup_dir, 0700) != 0 && errno != EEXIST)
        return amaters_qctx_fail(ctx, io_code(errno),
                                 "backup: cannot create %s: %s",
                                 x->opts.backup_dir, strerror(errno));
    rc = open_tmp(ctx, path, tmp, sizeof tmp, &b);
    if (rc)
        return rc;
    rc = write_all(x, &b);
    if (fflush(b.f) != 0 || fsync(fileno(b.f)) != 0)
        rc = rc ? rc : io_code(errno);
    if (fclose(b.f) != 0 && rc == 0)
        rc = io_code(errno);
    if (rc == 0 && rename(tmp, path) != 0) {
        e = errno;
        what = "rename to";
        rc = AMATERS_EIO;
    }
    if (rc == 0 && sync_dir(x->opts.backup_dir) != 0) {
        /* published, but the rename may not survive a crash */
        return amaters_qctx_fail(ctx, AMATERS_EIO,
                                 "backup '%s': fsync of %s: %s", name,
                                 x->opts.backup_dir, strerror(errno));
    }
    if (rc) {
        unlink(tmp); /* this BACKUP's own temporary file only */
        if (what != NULL)
            return amaters_qctx_fail(ctx, rc,
                                     "backup '%s' failed: %s %s: %s", name,
                                     what, path, strerror(e));
        return amaters_qctx_fail(ctx, rc, "backup '%s' failed: %s", name,
                                 amaters_strerror(rc));
    }
    *keys = b.count;
    *bytes = b.bytes;
    return 0;
}

/* ---- restore ---- */

struct bk_reader {
    FILE *f;
    uint32_t crc;
};

static int r(struct bk_reader *b, void *p, size_t n)
{
    if (fread(p, 1, n, b->f) != n)
        return AMATERS_ECORRUPT;
    b->crc = amaters_crc32(b->crc, p, n);
    return 0;
}

static int r_u32(struct bk_reader *b, uint32_t *v)
{
    uint8_t t[4];
    int rc = r(b, t, 4);
    *v = (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 |
         (uint32_t)t[3] << 24;
    return rc;
}

static int r_u64(struct bk_reader *b, uint64_t *v)
{
    uint32_t lo = 0, hi = 0;
    int rc = r_u32(b, &lo);
    if (rc == 0)
        rc = r_u32(b, &hi);
    *v = (uint64_t)hi << 32 | lo;
    return rc;
}

struct bk_group {
    struct amaters_write_op ops[BK_GROUP];
    size_t n;
};

static void group_free(struct bk_group *g)
{
    for (size_t i = 0; i < g->n; i++) {
        amaters_free((void *)g->ops[i].key);
        amaters_free((void *)g->ops[i].value);
    }
    g->n = 0;
}

/* Reads one entry (tag already read) into the group when apply is set. */
static int read_entry(struct bk_reader *b, struct bk_group *g, bool apply,
                      uint64_t *bytes)
{
    uint32_t kl = 0;
    uint64_t vl = 0;
    uint8_t *k = NULL, *v = NULL;
    int rc = r_u32(b, &kl);
    if (rc == 0 && (kl == 0 || kl > BK_MAX_KEY))
        rc = AMATERS_ECORRUPT;
    if (rc == 0 && (k = amaters_malloc(kl)) == NULL)
        rc = AMATERS_ENOMEM;
    if (rc == 0)
        rc = r(b, k, kl);
    if (rc == 0)
        rc = r_u64(b, &vl);
    if (rc == 0 && vl > BK_MAX_VALUE)
        rc = AMATERS_ECORRUPT;
    if (rc == 0 && (v = amaters_malloc((size_t)vl)) == NULL)
        rc = AMATERS_ENOMEM;
    if (rc == 0)
        rc = r(b, v, (size_t)vl);
    if (rc == 0 && apply) {
        g->ops[g->n++] = (struct amaters_write_op){AMATERS_WRITE_PUT, k, kl,
                                                   v, (size_t)vl};
        k = v = NULL;
    }
    *bytes += kl + vl;
    amaters_free(k);
    amaters_free(v);
    return rc;
}

/* One pass over the file: verifies it, and writes it when apply is set. */
static int pass(struct amaters_exec *x, FILE *f, bool apply, uint64_t *count,
                uint64_t *bytes)
{
    struct bk_reader b = {f, 0};
    struct bk_group g = {.n = 0};
    char magic[4];
    uint32_t fmt, crc_file;
    uint64_t tcount, tbytes;
    uint8_t tag;
    int rc = r(&b, magic, 4);
    *count = *bytes = 0;
    if (rc == 0 && memcmp(magic, BK_MAGIC, 4) != 0)
        rc = AMATERS_ECORRUPT;
    if (rc == 0)
        rc = r_u32(&b, &fmt);
    if (rc == 0 && fmt != BK_FORMAT)
        rc = AMATERS_EUNSUPPORTED;
    while (rc == 0 && (rc = r(&b, &tag, 1)) == 0 && tag == 1) {
        rc = read_entry(&b, &g, apply, bytes);
        (*count)++;
        if (rc == 0 && g.n == BK_GROUP)
            rc = amaters_engine_write(x->engine, g.ops, g.n);
        if (g.n == BK_GROUP || rc)
            group_free(&g);
    }
    if (rc == 0 && tag != 0xFF)
        rc = AMATERS_ECORRUPT;
    if (rc == 0 && g.n)
        rc = amaters_engine_write(x->engine, g.ops, g.n);
    group_free(&g);
    uint32_t crc_calc;
    if (rc == 0)
        rc = r_u64(&b, &tcount);
    if (rc == 0)
        rc = r_u64(&b, &tbytes);
    crc_calc = b.crc; /* the CRC covers the counts, not itself */
    if (rc == 0)
        rc = r_u32(&b, &crc_file);
    if (rc == 0 && (tcount != *count || tbytes != *bytes ||
                    crc_file != crc_calc || fgetc(f) != EOF))
        rc = AMATERS_ECORRUPT;
    return rc;
}

/* Opens the backup at path for reading: a regular file, not reached
 * through a symbolic link. O_NONBLOCK: opening a FIFO for reading would
 * otherwise wait for a writer, holding a worker (and shutdown) forever;
 * it is cleared once the file is known to be regular. */
static int open_backup(struct amaters_qctx *ctx, const char *name,
                       const char *path, FILE **out)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    int e = errno;

    if (fd < 0 && e == ENOENT)
        return amaters_qctx_fail(ctx, AMATERS_ENOTFOUND,
                                 "restore: backup '%s' not found (%s)", name,
                                 strerror(e));
    if (fd < 0 && e != ELOOP)
        return amaters_qctx_fail(ctx, AMATERS_EIO,
                                 "restore: backup '%s': open %s: %s", name,
                                 path, strerror(e));
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return amaters_qctx_fail(ctx, AMATERS_EIO,
                                 "restore: backup '%s' is not a regular "
                                 "file (%s); nothing was restored",
                                 name, path);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    *out = fdopen(fd, "rb");
    if (*out == NULL) {
        e = errno;
        close(fd);
        return amaters_qctx_fail(ctx, AMATERS_EIO,
                                 "restore: backup '%s': open %s: %s", name,
                                 path, strerror(e));
    }
    return 0;
}

int q_restore(struct amaters_exec *x, struct amaters_qctx *ctx,
              const char *name, uint64_t *keys, uint64_t *bytes)
{
    char path[4096];
    FILE *f = NULL;
    int rc = bk_path(x, ctx, name, path, sizeof path);
    if (rc)
        return rc;
    rc = open_backup(ctx, name, path, &f);
    if (rc)
        return rc;
    rc = pass(x, f, false, keys, bytes);
    if (rc == 0) {
        rewind(f);
        rc = pass(x, f, true, keys, bytes);
    }
    fclose(f);
    if (rc)
        return amaters_qctx_fail(ctx, rc, "restore '%s': %s", name,
                                 rc == AMATERS_ECORRUPT
                                     ? "the backup file is damaged or "
                                       "truncated; nothing was restored"
                                     : amaters_strerror(rc));
    return 0;
}

/* True if s is a run of digits followed by end (at least one digit). */
static bool digits_then(const char *s, char end, const char **rest)
{
    const char *p = s;
    while (*p >= '0' && *p <= '9')
        p++;
    if (p == s || *p != end)
        return false;
    *rest = p;
    return true;
}

/* True if name is one of open_tmp's names: <name>.amb.tmp.<pid>.<n>. */
static bool is_backup_tmp(const char *name)
{
    const char *t = strstr(name, ".amb.tmp.");
    const char *p;
    if (t == NULL || t == name)
        return false;
    t += strlen(".amb.tmp.");
    return digits_then(t, '.', &p) && digits_then(p + 1, '\0', &p);
}

unsigned amaters_exec_clean_stale_backups(struct amaters_exec *x)
{
    const char *dir = x->opts.backup_dir;
    char path[4400];
    unsigned removed = 0;
    struct dirent *d;
    struct stat st;
    DIR *dh = dir[0] ? opendir(dir) : NULL;

    if (dh == NULL)
        return 0; /* no backup directory yet: nothing was left */
    while ((d = readdir(dh)) != NULL) {
        if (!is_backup_tmp(d->d_name))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, d->d_name);
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (unlink(path) == 0) {
            removed++;
            amaters_log(AMATERS_LOG_WARN, "query",
                        "removed %s (%lld bytes): the temporary file of a "
                        "BACKUP that did not finish (the server stopped "
                        "during it)",
                        path, (long long)st.st_size);
        } else {
            amaters_log(AMATERS_LOG_WARN, "query",
                        "cannot remove %s, the temporary file of a BACKUP "
                        "that did not finish: %s",
                        path, strerror(errno));
        }
    }
    closedir(dh);
    return removed;
}
