/*
 * fhe_cli_io.c - amaters-fhe's error reporting and file / argument
 * helpers: one specific message per failure (cli_fail, cli_usage_error),
 * reading files with checks of the serial.h header that name what is
 * wrong (cli_read, cli_load), strict decoding of the body that says what
 * is wrong too (cli_decode_*), standard output checks, keygen's file
 * writing (cli_make_dirs, cli_write_temp, cli_sync_dir), and parsing of
 * VALUE, --threads and --type. Main thread only.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "fhe/fhe_cli.h"
#include "fhe/serial.h"

#define MAX_FILE (512u << 20)

/* Error state of the process (main thread only). */
static int reported;        /* a specific message was printed */
static int usage_failed;    /* ... and it was a usage error */

static void vreport(const char *fmt, va_list ap)
{
    fputs("amaters-fhe: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    reported = 1;
}

int cli_fail(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(fmt, ap);
    va_end(ap);
    return code;
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(fmt, ap);
    va_end(ap);
    usage_failed = 1;
    return AMATERS_EINVAL;
}

const char *cli_name(const char *path)
{
    return path == NULL ? "standard input" : path;
}

const char *cli_kind(uint16_t type)
{
    switch (type) {
    case AMATERS_FHE_OBJ_BLOCK: return "ciphertext (block)";
    case AMATERS_FHE_OBJ_RADIX: return "ciphertext";
    case AMATERS_FHE_OBJ_SERVER_KEY: return "server key";
    case AMATERS_FHE_OBJ_CLIENT_KEY: return "client key";
    default: return "unknown object";
    }
}

void cli_hex_id(const uint8_t id[AMATERS_FHE_KEY_ID_BYTES], char out[33])
{
    static const char digits[] = "0123456789abcdef";

    for (int i = 0; i < AMATERS_FHE_KEY_ID_BYTES; i++) {
        out[2 * i] = digits[id[i] >> 4];
        out[2 * i + 1] = digits[id[i] & 15];
    }
    out[32] = '\0';
}

int cli_read(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = path == NULL ? stdin : fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, got = 0;
    int rc = 0;

    *out = NULL;
    *len = 0;
    if (f == NULL)
        return cli_fail(AMATERS_EIO, "cannot open %s: %s", path,
                        strerror(errno));
    while (rc == 0) {
        size_t n;

        if (got == cap) {
            uint8_t *nb = NULL;

            if (cap == MAX_FILE) {
                rc = cli_fail(AMATERS_ETOOBIG, "%s: larger than %u MiB",
                              cli_name(path), MAX_FILE >> 20);
                break;
            }
            nb = amaters_realloc(buf, cap == 0 ? 65536 : cap * 2);
            if (nb == NULL) {
                rc = cli_fail(AMATERS_ENOMEM, "%s: out of memory reading",
                              cli_name(path));
                break;
            }
            buf = nb;           /* cap grows only with the buffer */
            cap = cap == 0 ? 65536 : cap * 2;
        }
        n = fread(buf + got, 1, cap - got, f);
        got += n;
        if (n == 0 && ferror(f))
            rc = cli_fail(AMATERS_EIO, "cannot read %s: %s", cli_name(path),
                          strerror(errno));
        else if (n == 0)
            rc = 1;
    }
    if (f != stdin)
        fclose(f);
    if (rc < 0) {
        amaters_free_secret(buf, cap);
        return rc;
    }
    *out = buf;
    *len = got;
    return 0;
}

/* Bytes of one encoded block (serial.h: degree, noise level, then the
 * seed and body, or the whole LWE). */
static size_t block_size(const struct amaters_fhe_params *p,
                         const struct amaters_fhe_header *h)
{
    size_t big = (size_t)p->glwe_dim * p->poly_size;

    return (h->flags & AMATERS_FHE_FLAG_SEEDED)
               ? 8 + AMATERS_FHE_SEED_BYTES + 8
               : 8 + (big + 1) * 8;
}

/* Payload bytes a header implies, from the layout documented in serial.h
 * (used only to say "truncated" or "trailing bytes" after the decoder
 * rejected the length). */
static size_t payload_size(const struct amaters_fhe_params *p,
                           const struct amaters_fhe_header *h)
{
    size_t big = (size_t)p->glwe_dim * p->poly_size;

    switch (h->type) {
    case AMATERS_FHE_OBJ_BLOCK:
    case AMATERS_FHE_OBJ_RADIX:
        return h->count * block_size(p, h);
    case AMATERS_FHE_OBJ_SERVER_KEY:
        return AMATERS_FHE_SEED_BYTES +
               8 * (big * p->ks_level + (size_t)p->lwe_dim *
                    (p->glwe_dim + 1) * p->pbs_level * p->poly_size);
    default:
        return (p->lwe_dim + 7) / 8 + (big + 7) / 8;
    }
}

static uint32_t le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
           (uint32_t)b[3] << 24;
}

/* Reports why amaters_fhe_decode_header (which returned rc and filled
 * the fields it reached into h) refused buf. */
static int header_problem(const char *name, const uint8_t *buf, size_t len,
                          const struct amaters_fhe_header *h, int rc)
{
    const struct amaters_fhe_params *p;
    int blocks = h->type == AMATERS_FHE_OBJ_BLOCK ||
                 h->type == AMATERS_FHE_OBJ_RADIX;
    size_t want;

    if (len == 0)
        return cli_fail(rc, "%s: empty file", name);
    if (memcmp(buf, "AFHE", len < 4 ? len : 4) != 0)
        return cli_fail(rc, "%s: not an amaters-fhe file (no AFHE magic)",
                        name);
    if (len < AMATERS_FHE_HEADER_BYTES)
        return cli_fail(rc, "%s: truncated: %zu bytes, less than the "
                        "%d-byte header", name, len,
                        AMATERS_FHE_HEADER_BYTES);
    if (h->version != AMATERS_FHE_FORMAT_VERSION)
        return cli_fail(rc, "%s: unsupported format version %u (this tool "
                        "reads version %d)", name, h->version,
                        AMATERS_FHE_FORMAT_VERSION);
    if (h->type < AMATERS_FHE_OBJ_BLOCK || h->type >
        AMATERS_FHE_OBJ_CLIENT_KEY)
        return cli_fail(rc, "%s: unknown object type %u", name, h->type);
    if (le32(buf + 36) != 0)
        return cli_fail(rc, "%s: corrupt header (reserved field not 0)",
                        name);
    if ((h->flags & ~AMATERS_FHE_FLAG_SEEDED) != 0 ||
        (!blocks && h->flags != 0))
        return cli_fail(rc, "%s: corrupt header (flags 0x%x invalid for a "
                        "%s)", name, h->flags, cli_kind(h->type));
    if ((blocks && (h->count < 1 || h->count > 64)) ||
        (h->type == AMATERS_FHE_OBJ_BLOCK && h->count != 1) ||
        (!blocks && h->count != 0))
        return cli_fail(rc, "%s: corrupt header (count %u invalid for a "
                        "%s)", name, h->count, cli_kind(h->type));
    p = amaters_fhe_params_get(h->param_id);
    if (p == NULL)
        return cli_fail(rc, "%s: unsupported parameter set %u", name,
                        h->param_id);
    want = AMATERS_FHE_HEADER_BYTES + payload_size(p, h);
    if (len < want)
        return cli_fail(rc, "%s: truncated: %zu bytes, a %s of these "
                        "parameters is %zu", name, len, cli_kind(h->type),
                        want);
    if (len > want)
        return cli_fail(rc, "%s: %zu trailing bytes after the %s", name,
                        len - want, cli_kind(h->type));
    return cli_fail(rc, "%s: malformed header (%s)", name,
                    amaters_strerror(rc));
}

/* "a client key" / "a server key or a ciphertext" for a want mask. */
static const char *want_name(unsigned want)
{
    if (want == CLI_WANT_CT)
        return "a ciphertext";
    if (want == CLI_WANT_SERVER_KEY)
        return "a server key";
    if (want == CLI_WANT_CLIENT_KEY)
        return "a client key";
    return "another kind of file";
}

int cli_load(const char *path, unsigned want, uint8_t **out, size_t *len,
             struct amaters_fhe_header *h)
{
    const char *name = cli_name(path);
    int rc = cli_read(path, out, len);

    if (rc == 0) {
        rc = amaters_fhe_decode_header(*out, *len, h);
        if (rc != 0)
            rc = header_problem(name, *out, *len, h, rc);
    }
    if (rc == 0 && want != CLI_WANT_ANY && (want & (1u << h->type)) == 0)
        rc = cli_fail(AMATERS_EBADKEY, "%s is a %s, expected %s", name,
                      cli_kind(h->type), want_name(want));
    if (rc != 0 && *out != NULL) {
        amaters_free_secret(*out, *len);
        *out = NULL;
        *len = 0;
    }
    return rc;
}

/* Writes into why (cap bytes) which block of the ciphertext buf (whose
 * header is valid) has a degree or noise level the parameters do not
 * allow; leaves why alone when none has. */
static void block_problem(const uint8_t *buf, size_t len, char *why,
                          size_t cap)
{
    struct amaters_fhe_header h;
    const struct amaters_fhe_params *p = NULL;
    const uint8_t *q;

    if (amaters_fhe_decode_header(buf, len, &h) == 0)
        p = amaters_fhe_params_get(h.param_id);
    for (uint32_t i = 0; p != NULL && i < h.count; i++) {
        uint32_t max_deg = p->message_modulus * p->carry_modulus - 1;

        q = buf + AMATERS_FHE_HEADER_BYTES + i * block_size(p, &h);
        if (le32(q) > max_deg) {
            snprintf(why, cap, "block %u: degree %u, at most %u", i,
                     le32(q), max_deg);
            return;
        }
        if (le32(q + 4) > p->max_noise_level) {
            snprintf(why, cap, "block %u: noise level %u, at most %u", i,
                     le32(q + 4), (unsigned)p->max_noise_level);
            return;
        }
    }
}

int cli_decode_ct(const char *name, const uint8_t *buf, size_t len,
                  struct amaters_fhe_radix *r)
{
    char why[96];
    int rc = amaters_fhe_decode_radix(buf, len, r, NULL);

    if (rc == 0)
        return 0;
    snprintf(why, sizeof(why), "%s", amaters_strerror(rc));
    if (rc == AMATERS_EPARSE)
        block_problem(buf, len, why, sizeof(why));
    return cli_fail(rc, "%s: malformed ciphertext (%s)", name, why);
}

int cli_decode_server_key(const char *name, const uint8_t *buf, size_t len,
                          struct amaters_fhe_server_key_compressed **c)
{
    int rc = amaters_fhe_decode_server_key(buf, len, c);

    if (rc == 0)
        return 0;
    return cli_fail(rc, "%s: malformed server key (%s)", name,
                    rc == AMATERS_ECHECKSUM
                        ? "its contents do not match its key id"
                        : amaters_strerror(rc));
}

int cli_decode_client_key(const char *name, const uint8_t *buf, size_t len,
                          struct amaters_fhe_client_key **ck)
{
    int rc = amaters_fhe_decode_client_key(buf, len, ck);

    if (rc == 0)
        return 0;
    return cli_fail(rc, "%s: malformed client key (%s)", name,
                    rc == AMATERS_EPARSE ? "padding bits not zero"
                                         : amaters_strerror(rc));
}

int cli_write_stdout(const uint8_t *buf, size_t len)
{
    if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0)
        return cli_fail(AMATERS_EIO, "cannot write standard output: %s",
                        strerror(errno));
    return 0;
}

int cli_stdout_not_tty(void)
{
    if (isatty(STDOUT_FILENO))
        return cli_fail(AMATERS_EINVAL, "standard output is a terminal: "
                        "redirect the ciphertext to a file (e.g. > x.ct)");
    return 0;
}

int cli_finish_stdout(void)
{
    int e;

    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout))
        return 0;
    e = errno != 0 ? errno : EIO;      /* an earlier write failed */
    return cli_fail(AMATERS_EIO, "cannot write standard output: %s",
                    strerror(e));
}

/* Whether s is one or more characters of set and nothing else. */
static int only_of(const char *s, const char *set)
{
    size_t n = strspn(s, set);

    return n > 0 && s[n] == '\0';
}

int cli_value(const char *s, const char *type, unsigned bits, uint64_t *v)
{
    static const char dec[] = "0123456789";
    static const char hex[] = "0123456789abcdefABCDEF";
    uint64_t max = bits >= 64 ? ~0ull : (1ull << bits) - 1;
    int is_hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    int neg = s[0] == '-';
    const char *digits = s + (is_hex ? 2 : neg);
    unsigned long long x;

    if (bits == 1) {
        if (strcmp(s, "0") != 0 && strcmp(s, "1") != 0 &&
            strcasecmp(s, "false") != 0 && strcasecmp(s, "true") != 0)
            return cli_usage_error("value '%s' is not a bool (0, 1, true "
                                   "or false)", s);
        *v = strcmp(s, "1") == 0 || strcasecmp(s, "true") == 0;
        return 0;
    }
    /* only digits after the prefix: strtoull alone would also take
     * spaces, a sign and a second 0x */
    if (!only_of(digits, is_hex ? hex : dec))
        return cli_usage_error("value '%s' is not a number (%s: decimal "
                               "or 0x hexadecimal, 0..%llu)", s, type,
                               (unsigned long long)max);
    errno = 0;
    x = strtoull(digits, NULL, is_hex ? 16 : 10);   /* 0 is not octal */
    if (neg || errno == ERANGE || x > max)
        return cli_usage_error("value '%s' does not fit %s (0..%llu)", s,
                               type, (unsigned long long)max);
    *v = x;
    return 0;
}

int cli_threads(const struct cli_args *a, size_t *n)
{
    char *end = NULL;
    unsigned long v;

    *n = 1;
    if (a->threads == NULL)
        return 0;
    errno = 0;
    v = strtoul(a->threads, &end, 10);
    if (!isdigit((unsigned char)a->threads[0]) || *end != '\0' ||
        errno != 0 || v < 1 || v > 64)
        return cli_usage_error("--threads must be 1..64, got '%s'",
                               a->threads);
    *n = (size_t)v;
    return 0;
}

int cli_type(const char *t, unsigned *bits)
{
    static const struct {
        const char *name;
        unsigned bits;
    } types[] = {{"bool", 1}, {"u8", 8}, {"u16", 16}, {"u32", 32},
                 {"u64", 64}};

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(t, types[i].name) == 0) {
            *bits = types[i].bits;
            return 0;
        }
    return cli_usage_error("unknown type '%s' (expected bool, u8, u16, u32 "
                           "or u64)", t);
}

int cli_write_temp(const char *tmp, const uint8_t *buf, size_t len,
                   mode_t mode)
{
    int fd, rc = 0;
    size_t done = 0;

    (void)unlink(tmp);      /* a leftover of an interrupted keygen */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              mode);
    if (fd < 0)
        return cli_fail(AMATERS_EIO, "cannot create %s: %s", tmp,
                        strerror(errno));
    if (fchmod(fd, mode) != 0)          /* whatever the umask */
        rc = cli_fail(AMATERS_EIO, "cannot set mode of %s: %s", tmp,
                      strerror(errno));
    while (done < len && rc == 0) {
        ssize_t w = write(fd, buf + done, len - done);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            rc = cli_fail(AMATERS_EIO, "cannot write %s: %s", tmp,
                          w < 0 ? strerror(errno) : "short write");
        else
            done += (size_t)w;
    }
    if (rc == 0 && fsync(fd) != 0)
        rc = cli_fail(AMATERS_EIO, "cannot write %s: %s", tmp,
                      strerror(errno));
    if (close(fd) != 0 && rc == 0)
        rc = cli_fail(AMATERS_EIO, "cannot write %s: %s", tmp,
                      strerror(errno));
    if (rc != 0)
        (void)unlink(tmp);
    return rc;
}

int cli_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

    if (fd < 0 || fsync(fd) != 0)
        rc = cli_fail(AMATERS_EIO, "cannot sync directory %s: %s", dir,
                      strerror(errno));
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Creates p (mode 0700) unless it is already a directory; dir is the
 * --out argument p belongs to. */
static int make_dir(const char *dir, const char *p)
{
    struct stat st;

    if (mkdir(p, 0700) == 0)
        return 0;
    if (errno == EEXIST && stat(p, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    if (errno == EEXIST && strcmp(dir, p) == 0)
        return cli_fail(AMATERS_EIO, "--out %s exists and is not a "
                        "directory", dir);
    if (errno == EEXIST)
        return cli_fail(AMATERS_EIO, "--out %s: %s exists and is not a "
                        "directory", dir, p);
    return cli_fail(AMATERS_EIO, "cannot create directory %s: %s", p,
                    strerror(errno));
}

int cli_make_dirs(const char *dir)
{
    char p[4096];
    size_t n = strlen(dir);
    int rc = 0;

    if (n == 0)
        return cli_usage_error("--out needs a directory name");
    if (n >= sizeof(p))
        return cli_fail(AMATERS_EINVAL, "--out path too long (%zu bytes)",
                        n);
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i < n && rc == 0; i++) {
        if (p[i] != '/' || p[i - 1] == '/')
            continue;
        p[i] = '\0';
        rc = make_dir(dir, p);
        p[i] = '/';
    }
    if (rc == 0)
        rc = make_dir(dir, p);
    return rc;
}

int cli_reported(void)
{
    return reported;
}

int cli_usage_failed(void)
{
    return usage_failed;
}
