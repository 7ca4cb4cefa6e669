/*
 * fhe_cli.c - amaters-fhe: command-line access to the FHE library.
 *
 *   amaters-fhe keygen --out DIR [--seed HEX32]
 *       creates DIR (and missing parents, mode 0700) when absent;
 *       DIR/client.key (mode 0600), DIR/server.key (compressed); prints
 *       the key id
 *   amaters-fhe encrypt --key DIR/client.key --type T VALUE > CT
 *       T: bool u8 u16 u32 u64; seeded ciphertext on stdout
 *   amaters-fhe eval --key DIR/server.key [--threads N] OP CT [CT] > CT
 *       OP: add sub mul min max and or xor (two integers or, for and or
 *       xor, two booleans), eq ne lt le gt ge (-> bool), not neg (one)
 *   amaters-fhe decrypt --key DIR/client.key [CT]   (stdin without CT)
 *   amaters-fhe bench [--threads N] [--type T]      name=value lines
 *   amaters-fhe info FILE                           header fields
 *   amaters-fhe --help | help | <verb> --help       usage on stdout
 *
 * Files use the wire format of serial.h; a bool is a one-block radix.
 * Exit status 0 on success, 1 on a runtime error (I/O, malformed file,
 * key mismatch), 2 on a usage error; each error prints one specific
 * line on stderr (see fhe_cli.h). A seed makes keys deterministic and is
 * for tests only. This file holds keygen / encrypt / decrypt / info,
 * argument parsing and main; fhe_cli_io.c the reporting and file
 * helpers; fhe_cli_eval.c eval and bench.
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

/* tmp = "<path>.tmp" (tmp holds 4096 bytes). Returns 0 or AMATERS_EINVAL
 * when it does not fit. */
static int tmp_path(char tmp[4096], const char *path)
{
    int n = snprintf(tmp, 4096, "%s.tmp", path);

    return n < 0 || n >= 4096 ? AMATERS_EINVAL : 0;
}

/* Writes buf to a new file "<path>.tmp" (created exclusively with mode,
 * never through a symlink) and syncs it; the caller renames it over path
 * with commit_file, so an existing key file is replaced whole, never
 * rewritten in place (a reader that opened the old file keeps the old
 * bytes, and a failure leaves the old file as it was). */
static int write_temp(const char *path, const uint8_t *buf, size_t len,
                      mode_t mode)
{
    char tmp[4096];
    int fd, rc = 0;
    size_t done = 0;

    if (tmp_path(tmp, path) != 0)
        return cli_fail(AMATERS_EINVAL, "%s: path too long", path);
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

/* Drops "<path>.tmp" after a failure elsewhere. */
static void commit_file_abort(const char *path)
{
    char tmp[4096];

    if (tmp_path(tmp, path) == 0)
        (void)unlink(tmp);
}

/* fsyncs directory dir so that renames in it are durable. */
static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

    if (fd < 0 || fsync(fd) != 0)
        rc = cli_fail(AMATERS_EIO, "cannot sync directory %s: %s", dir,
                      strerror(errno));
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Renames "<path>.tmp" over path. */
static int commit_file(const char *path)
{
    char tmp[4096];

    if (tmp_path(tmp, path) != 0)
        return cli_fail(AMATERS_EINVAL, "%s: path too long", path);
    if (rename(tmp, path) != 0) {
        int e = errno;

        (void)unlink(tmp);
        return cli_fail(AMATERS_EIO, "cannot replace %s: %s", path,
                        strerror(e));
    }
    return 0;
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

/* mkdir -p dir: an existing directory is used as is; new ones (the
 * missing parents too) get mode 0700. */
static int make_dirs(const char *dir)
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

static int key_path(char *buf, size_t cap, const char *dir,
                    const char *name)
{
    int n = snprintf(buf, cap, "%s/%s", dir, name);

    if (n < 0 || (size_t)n >= cap)
        return cli_fail(AMATERS_EINVAL, "--out path too long: %s", dir);
    return 0;
}

static void print_hex(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
    printf("\n");
}

static int parse_seed(const char *hex, uint8_t seed[16])
{
    size_t n = strlen(hex);

    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)hex[i]))
            n = 0;
    if (n != 32)
        return cli_usage_error("--seed must be 32 hex digits, got '%s'",
                               hex);
    for (int i = 0; i < 16; i++) {
        char two[3] = {hex[2 * i], hex[2 * i + 1], '\0'};

        seed[i] = (uint8_t)strtoul(two, NULL, 16);
    }
    return 0;
}

/* Makes the keys (seeded when sp != NULL) and encodes both. */
static int make_keys(const uint8_t *sp, uint8_t id[16], uint8_t **sbuf,
                     size_t *slen, uint8_t **cbuf, size_t *clen)
{
    const struct amaters_fhe_params *p = &amaters_fhe_param_msg2_carry2;
    struct amaters_fhe_client_key *ck = NULL;
    struct amaters_fhe_server_key_compressed *c = NULL;
    int rc = amaters_fhe_client_key_new(p, sp, &ck);

    if (rc == 0)
        rc = amaters_fhe_server_key_new_compressed(ck, sp, &c);
    if (rc == 0)
        rc = amaters_fhe_key_id(c, id);
    if (rc != 0)
        rc = cli_fail(rc, "key generation failed: %s", amaters_strerror(rc));
    if (rc == 0)
        rc = amaters_fhe_encode_server_key(c, sbuf, slen);
    if (rc == 0)
        rc = amaters_fhe_encode_client_key(ck, id, cbuf, clen);
    if (rc != 0 && !cli_reported())
        rc = cli_fail(rc, "cannot encode keys: %s", amaters_strerror(rc));
    amaters_fhe_server_key_compressed_free(c);
    amaters_fhe_client_key_free(ck);
    return rc;
}

static int cmd_keygen(const struct cli_args *a)
{
    uint8_t seed[16], id[16], *sbuf = NULL, *cbuf = NULL;
    const uint8_t *sp = NULL;
    size_t slen = 0, clen = 0;
    char spath[4096], cpath[4096];
    int rc = 0;

    if (a->out == NULL)
        return cli_usage_error("keygen needs --out DIR");
    if (a->seed != NULL) {
        rc = parse_seed(a->seed, seed);
        sp = seed;
    }
    if (rc == 0)
        rc = key_path(spath, sizeof(spath), a->out, "server.key");
    if (rc == 0)
        rc = key_path(cpath, sizeof(cpath), a->out, "client.key");
    if (rc == 0)
        rc = make_dirs(a->out);
    if (rc == 0)
        rc = make_keys(sp, id, &sbuf, &slen, &cbuf, &clen);
    /* both files complete and synced before either replaces a key */
    if (rc == 0)
        rc = write_temp(spath, sbuf, slen, 0644);
    if (rc == 0) {
        rc = write_temp(cpath, cbuf, clen, 0600);
        if (rc != 0)
            commit_file_abort(spath);
    }
    if (rc == 0)
        rc = commit_file(cpath);
    if (rc == 0)
        rc = commit_file(spath);
    if (rc == 0)
        rc = sync_dir(a->out);
    if (rc == 0 && sp != NULL)
        fprintf(stderr, "amaters-fhe: keys made from --seed are for tests: "
                "anyone who knows the seed has the client key\n");
    if (rc == 0)
        print_hex(id, sizeof(id));
    explicit_bzero(seed, sizeof(seed));
    amaters_free(sbuf);
    if (cbuf != NULL)
        amaters_free_secret(cbuf, clen);
    return rc;
}

static int load_client_key(const char *path, struct amaters_fhe_client_key
                           **ck, uint8_t key_id[16])
{
    struct amaters_fhe_header h;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = cli_load(path, CLI_WANT_CLIENT_KEY, &buf, &len, &h);

    if (rc == 0)
        memcpy(key_id, h.key_id, 16);
    if (rc == 0) {
        rc = amaters_fhe_decode_client_key(buf, len, ck);
        if (rc != 0)
            rc = cli_fail(rc, "%s: malformed client key (%s)", path,
                          amaters_strerror(rc));
    }
    if (buf != NULL)
        amaters_free_secret(buf, len);
    return rc;
}

static int parse_value(const char *s, const char *type, unsigned bits,
                       uint64_t *v)
{
    uint64_t max = bits >= 64 ? ~0ull : (1ull << bits) - 1;
    char *end = NULL;
    unsigned long long x;
    int digits = isdigit((unsigned char)s[0]);

    if (bits == 1 && (strcasecmp(s, "true") == 0 ||
                      strcasecmp(s, "false") == 0)) {
        *v = strcasecmp(s, "true") == 0;
        return 0;
    }
    if (bits == 1 && !digits)
        return cli_usage_error("value '%s' is not a bool (0, 1, true or "
                               "false)", s);
    if (!digits && !(s[0] == '-' && isdigit((unsigned char)s[1])))
        return cli_usage_error("value '%s' is not a number (%s: 0..%llu)",
                               s, type, (unsigned long long)max);
    errno = 0;
    /* decimal, or hexadecimal after 0x (a leading 0 is not octal) */
    if (digits && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        x = strtoull(s + 2, &end, 16);
    else
        x = strtoull(s + !digits, &end, 10);
    if (*end != '\0' || !isxdigit((unsigned char)end[-1]))
        return cli_usage_error("value '%s' is not a number (%s: 0..%llu)",
                               s, type, (unsigned long long)max);
    if (!digits || errno == ERANGE || x > max)
        return cli_usage_error("value %s does not fit %s (0..%llu)", s,
                               type, (unsigned long long)max);
    *v = x;
    return 0;
}

static int cmd_encrypt(const struct cli_args *a)
{
    struct amaters_fhe_client_key *ck = NULL;
    struct amaters_fhe_block_seeded sb[32];
    uint8_t id[16], *buf = NULL;
    unsigned bits = 0;
    size_t len = 0, nblocks;
    uint64_t v = 0;
    int rc = 0;

    if (a->key == NULL)
        return cli_usage_error("encrypt needs --key CLIENT_KEY");
    if (a->type == NULL)
        return cli_usage_error("encrypt needs --type bool|u8|u16|u32|u64");
    if (a->npos != 1)
        return cli_usage_error("encrypt needs one VALUE");
    rc = cli_type(a->type, &bits);
    if (rc == 0)
        rc = parse_value(a->pos[0], a->type, bits, &v);
    nblocks = bits == 1 ? 1 : bits / 2;
    if (rc == 0)
        rc = load_client_key(a->key, &ck, id);
    for (size_t i = 0; rc == 0 && i < nblocks; i++) {
        rc = amaters_fhe_block_encrypt_seeded(ck, (uint32_t)(v & 3), &sb[i]);
        v >>= 2;
    }
    if (rc == 0 && bits == 1)
        sb[0].degree = 1;          /* public: a bool is 0 or 1 */
    if (rc == 0)
        rc = amaters_fhe_encode_seeded(ck->params, sb, nblocks, id, &buf,
                                       &len);
    if (rc != 0 && !cli_reported())
        rc = cli_fail(rc, "encryption failed: %s", amaters_strerror(rc));
    if (rc == 0)
        rc = cli_write_stdout(buf, len);
    amaters_free(buf);
    amaters_fhe_client_key_free(ck);
    return rc;
}

/* Decodes the ciphertext at path (stdin for NULL) into r and checks it
 * belongs to the client key (file key_path) whose key id is id. */
static int load_ct_for(const char *path, const char *key_path,
                       const uint8_t id[16], struct amaters_fhe_radix *r)
{
    static const uint8_t zero[16];
    struct amaters_fhe_header h;
    char want[33], got[33];
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = cli_load(path, CLI_WANT_CT, &buf, &len, &h);

    if (rc == 0 && memcmp(h.key_id, id, 16) != 0 &&
        memcmp(h.key_id, zero, 16) != 0) {
        cli_hex_id(h.key_id, got);
        cli_hex_id(id, want);
        rc = cli_fail(AMATERS_EBADKEY, "%s was encrypted under another key "
                      "(key id %s, %s has %s)", cli_name(path), got,
                      key_path, want);
    }
    if (rc == 0 && h.count > 32)
        rc = cli_fail(AMATERS_EUNSUPPORTED, "%s has %u blocks (%u bits); "
                      "decrypt handles at most 64 bits", cli_name(path),
                      h.count, 2 * h.count);
    if (rc == 0) {
        rc = amaters_fhe_decode_radix(buf, len, r, NULL);
        if (rc != 0)
            rc = cli_fail(rc, "%s: malformed ciphertext (%s)",
                          cli_name(path), amaters_strerror(rc));
    }
    amaters_free(buf);
    return rc;
}

static int cmd_decrypt(const struct cli_args *a)
{
    struct amaters_fhe_client_key *ck = NULL;
    struct amaters_fhe_radix r = {0};
    uint8_t id[16];
    uint64_t v = 0;
    int rc;

    if (a->key == NULL)
        return cli_usage_error("decrypt needs --key CLIENT_KEY");
    rc = load_client_key(a->key, &ck, id);
    if (rc == 0)
        rc = load_ct_for(a->npos == 1 ? a->pos[0] : NULL, a->key, id,
                         &r);
    if (rc == 0) {
        rc = amaters_fhe_radix_decrypt(ck, &r, &v);
        if (rc != 0)
            rc = cli_fail(rc, "cannot decrypt %s: %s",
                          cli_name(a->npos == 1 ? a->pos[0] : NULL),
                          amaters_strerror(rc));
    }
    if (rc == 0)
        printf("%llu\n", (unsigned long long)v);
    amaters_fhe_radix_destroy(&r);
    amaters_fhe_client_key_free(ck);
    return rc;
}

/* What a ciphertext of `blocks` 2-bit blocks holds (encrypt's --type). */
static const char *value_type_name(uint32_t blocks)
{
    switch (blocks) {
    case 1:
        return "bool";
    case 4:
        return "u8";
    case 8:
        return "u16";
    case 16:
        return "u32";
    case 32:
        return "u64";
    default:
        return "integer of other width";
    }
}

static int cmd_info(const struct cli_args *a)
{
    struct amaters_fhe_header h;
    const struct amaters_fhe_params *p;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;

    if (a->npos != 1)
        return cli_usage_error("info needs one FILE");
    rc = cli_load(a->pos[0], CLI_WANT_ANY, &buf, &len, &h);
    if (rc == 0) {
        p = amaters_fhe_params_get(h.param_id);
        printf("format version %u\ntype %s\nparams %s\nseeded %s\n"
               "blocks %u\nbytes %zu\nkey id ", h.version,
               h.type == AMATERS_FHE_OBJ_BLOCK ? "block"
               : h.type == AMATERS_FHE_OBJ_RADIX ? "radix"
               : h.type == AMATERS_FHE_OBJ_SERVER_KEY ? "server-key"
                                                      : "client-key",
               p->name,
               /* a server key is always stored compressed: its public
                * masks are re-expanded from the seed it carries */
               (h.flags & AMATERS_FHE_FLAG_SEEDED) != 0 ||
                       h.type == AMATERS_FHE_OBJ_SERVER_KEY
                   ? "yes"
                   : "no",
               h.count, len);
        print_hex(h.key_id, sizeof(h.key_id));
        if (h.type == AMATERS_FHE_OBJ_BLOCK ||
            h.type == AMATERS_FHE_OBJ_RADIX)
            printf("value %s\n", value_type_name(h.count));
    }
    if (buf != NULL)
        amaters_free_secret(buf, len);
    return rc;
}

static const char usage_text[] =
    "usage: amaters-fhe keygen --out DIR [--seed HEX32]\n"
    "       amaters-fhe encrypt --key CLIENT_KEY --type "
    "bool|u8|u16|u32|u64 VALUE > CT\n"
    "       amaters-fhe eval --key SERVER_KEY [--threads N] OP CT [CT] > CT\n"
    "           OP: add sub mul min max and or xor eq ne lt le gt ge not "
    "neg\n"
    "       amaters-fhe decrypt --key CLIENT_KEY [CT]   (stdin without CT)\n"
    "       amaters-fhe bench [--threads N] [--type T]\n"
    "       amaters-fhe info FILE\n"
    "       amaters-fhe --help\n"
    "\n"
    "Computes on encrypted integers (TFHE, 2-bit blocks; see\n"
    "docs/internals/fhe.md). The client key decrypts: keep it secret.\n"
    "The server key only evaluates and may be handed to the server.\n"
    "\n"
    "  keygen   writes DIR/client.key (mode 0600) and DIR/server.key\n"
    "           (compressed), creating DIR (0700); prints the key id.\n"
    "           --seed makes the keys deterministic: tests only.\n"
    "  encrypt  VALUE is decimal or 0x hexadecimal and must fit the type;\n"
    "           a bool is 0, 1, true or false. Writes the ciphertext.\n"
    "  eval     runs OP on one (not, neg) or two ciphertexts of the same\n"
    "           type and key: arithmetic wraps modulo 2^width; eq .. ge\n"
    "           give a bool; and / or / xor / not are bitwise on\n"
    "           integers and logical on bools; add, sub, mul and neg\n"
    "           are refused on bools. --threads N (1..64, default 1)\n"
    "           runs independent bootstraps in parallel. The FFT kernel\n"
    "           is the best the CPU has; AMATERS_FHE_FFT=portable|avx2|\n"
    "           avx512|auto overrides it (same decrypted results).\n"
    "  decrypt  prints the value in decimal (a bool as 0 or 1).\n"
    "  bench    prints name=value timings: ks_pbs_ms (one key switch +\n"
    "           bootstrap, one thread) and <op>_<type>_ms for every\n"
    "           operation (--type restricts to one width).\n"
    "  info     describes a key or ciphertext file (no secret).\n"
    "\n"
    "exit status: 0 success, 1 error, 2 usage error\n";

/* Options; a verb lists the ones it takes. */
enum {
    OPT_KEY = 1, OPT_TYPE = 2, OPT_OUT = 4, OPT_SEED = 8, OPT_THREADS = 16,
    NOPTS = 5
};

static const char *const opt_names[NOPTS] = {"--key", "--type", "--out",
                                         "--seed", "--threads"};

static const struct cli_cmd {
    const char *name;
    int (*fn)(const struct cli_args *a);
    unsigned opts;       /* OPT_* it accepts */
    size_t maxpos;       /* positional arguments it accepts */
} cmds[] = {
    {"keygen", cmd_keygen, OPT_OUT | OPT_SEED, 0},
    {"encrypt", cmd_encrypt, OPT_KEY | OPT_TYPE, 1},
    {"eval", cli_eval, OPT_KEY | OPT_THREADS, 3},
    {"decrypt", cmd_decrypt, OPT_KEY, 1},
    {"bench", cli_bench, OPT_THREADS | OPT_TYPE, 0},
    {"info", cmd_info, 0, 1},
};

static int is_help(const char *s)
{
    return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0;
}

/* Stores option k (argv[i]) with its value argv[i + 1]. */
static int take_option(const struct cli_cmd *c, size_t k, int argc,
                       char **argv, int i, struct cli_args *a)
{
    const char **slot[NOPTS] = {&a->key, &a->type, &a->out, &a->seed,
                                &a->threads};

    if ((c->opts & (1u << k)) == 0)
        return cli_usage_error("%s does not take option %s", c->name,
                               opt_names[k]);
    if (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)
        return cli_usage_error("option %s needs a value", opt_names[k]);
    if (*slot[k] != NULL)
        return cli_usage_error("option %s given twice", opt_names[k]);
    *slot[k] = argv[i + 1];
    return 0;
}

/* Splits argv (after the verb) into options (--name VALUE) and
 * positionals; *help is set when --help appears. */
static int parse_args(const struct cli_cmd *c, int argc, char **argv,
                      struct cli_args *a, int *help)
{
    int rc = 0;

    memset(a, 0, sizeof(*a));
    a->cmd = c->name;
    *help = 0;
    for (int i = 0; i < argc && rc == 0 && !*help; i++) {
        size_t k = 0;

        while (k < NOPTS && strcmp(argv[i], opt_names[k]) != 0)
            k++;
        if (is_help(argv[i]))
            *help = 1;
        else if (k < NOPTS)
            rc = take_option(c, k, argc, argv, i++, a);
        else if (strncmp(argv[i], "--", 2) == 0)
            rc = cli_usage_error("unknown option %s", argv[i]);
        else if (a->npos == c->maxpos)
            rc = cli_usage_error("unexpected argument '%s' (%s takes at "
                                 "most %zu)", argv[i], c->name, c->maxpos);
        else
            a->pos[a->npos++] = argv[i];
    }
    return rc;
}

/* Runs the verb of argv; *help set means print the usage and exit 0. */
static int run(int argc, char **argv, int *help)
{
    const struct cli_cmd *c = NULL;
    struct cli_args a;
    int rc;

    *help = 0;
    if (argc < 2)
        return cli_usage_error("missing command (keygen, encrypt, eval, "
                               "decrypt, bench or info)");
    if (is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        *help = 1;
        return 0;
    }
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            c = &cmds[i];
    if (c == NULL)
        return cli_usage_error("unknown command '%s' (expected keygen, "
                               "encrypt, eval, decrypt, bench or info)",
                               argv[1]);
    rc = parse_args(c, argc - 2, argv + 2, &a, help);
    if (rc == 0 && !*help)
        rc = c->fn(&a);
    return rc;
}

int main(int argc, char **argv)
{
    int help = 0;
    int rc = run(argc, argv, &help);

    if (help) {
        fputs(usage_text, stdout);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    if (rc == 0)
        return 0;
    if (!cli_reported())
        fprintf(stderr, "amaters-fhe: %s\n", amaters_strerror(rc));
    if (cli_usage_failed()) {
        fputs("run 'amaters-fhe --help' for usage\n", stderr);
        return 2;
    }
    return 1;
}
