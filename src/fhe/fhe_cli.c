/*
 * fhe_cli.c - amaters-fhe: command-line access to the FHE library.
 *
 *   amaters-fhe keygen --out DIR [--seed HEX32] [--force]
 *       creates DIR (and missing parents, mode 0700) when absent;
 *       DIR/client.key (mode 0600), DIR/server.key (compressed); prints
 *       the key id. Existing keys are replaced only with --force, which
 *       keeps them as DIR/client.key.old and DIR/server.key.old
 *   amaters-fhe encrypt --key DIR/client.key --type T VALUE > CT
 *       T: bool u8 u16 u32 u64; seeded ciphertext on stdout
 *   amaters-fhe eval --key DIR/server.key [--threads N] OP CT [CT] > CT
 *       OP: add sub mul min max and or xor (two integers or, for and or
 *       xor, two booleans), eq ne lt le gt ge (-> bool), not neg (one)
 *   amaters-fhe decrypt --key DIR/client.key [CT]   (stdin without CT)
 *   amaters-fhe bench [--threads N] [--type T]      name=value lines
 *   amaters-fhe info FILE             checks FILE whole, prints fields
 *   amaters-fhe --help | help | <verb> --help       usage on stdout
 *
 * Files use the wire format of serial.h; a bool is a one-block radix.
 * Exit status 0 on success, 1 on a runtime error (I/O, malformed file,
 * key mismatch), 2 on a usage error; each error prints one specific
 * line on stderr (see fhe_cli.h). A seed makes keys deterministic and is
 * for tests only. encrypt and eval refuse to write a ciphertext to a
 * terminal, decrypt to wait for one on a terminal. This file holds
 * keygen / encrypt / decrypt / info, argument parsing and main;
 * fhe_cli_io.c the reporting, file and value helpers; fhe_cli_eval.c
 * eval and bench.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "fhe/fhe_cli.h"
#include "fhe/serial.h"

/* One file of the key pair keygen installs: "DIR/<name>", the new
 * contents in "<path>.tmp", the previous file kept as "<path>.old". */
struct key_file {
    char path[4096], tmp[4096], old[4096];
    int existed;          /* path existed before (--force) */
    int moved_old;        /* path was renamed to old */
    int moved_new;        /* tmp was renamed to path */
};

/* Fills f for DIR/name (trailing slashes of dir dropped). */
static int key_file_init(struct key_file *f, const char *dir,
                         const char *name)
{
    size_t n = strlen(dir);
    int a, b, c;

    memset(f, 0, sizeof(*f));
    while (n > 1 && dir[n - 1] == '/')
        n--;
    a = snprintf(f->path, sizeof(f->path), "%.*s/%s", (int)n, dir, name);
    b = snprintf(f->tmp, sizeof(f->tmp), "%s.tmp", f->path);
    c = snprintf(f->old, sizeof(f->old), "%s.old", f->path);
    if (a < 0 || b < 0 || c < 0 || (size_t)b >= sizeof(f->tmp) ||
        (size_t)c >= sizeof(f->old))
        return cli_fail(AMATERS_EINVAL, "--out path too long: %s", dir);
    return 0;
}

/* 1 if p exists (as anything, a dangling symlink too), 0 if not, or a
 * reported error. */
static int file_exists(const char *p)
{
    struct stat st;

    if (lstat(p, &st) == 0)
        return 1;
    if (errno == ENOENT || errno == ENOTDIR)
        return 0;
    return cli_fail(AMATERS_EIO, "cannot check %s: %s", p, strerror(errno));
}

/* Refuses to touch existing keys without --force, and with --force
 * refuses to overwrite an earlier "*.old" pair; sets f[i].existed. */
static int check_existing(struct key_file f[2], int force)
{
    int rc;

    for (int i = 0; i < 2; i++) {
        rc = file_exists(f[i].path);
        if (rc < 0)
            return rc;
        f[i].existed = rc;
        if (rc == 1 && !force)
            return cli_fail(AMATERS_EEXISTS, "%s exists: keygen does not "
                            "replace keys (data encrypted under them could "
                            "no longer be decrypted); use --force to "
                            "replace them, or another --out", f[i].path);
    }
    for (int i = 0; i < 2 && force; i++) {
        rc = file_exists(f[i].old);
        if (rc < 0)
            return rc;
        if (rc == 1)
            return cli_fail(AMATERS_EEXISTS, "%s exists: --force keeps the "
                            "current keys as client.key.old and "
                            "server.key.old and does not overwrite older "
                            "ones; move the .old files away first",
                            f[i].old);
    }
    return 0;
}

/* Every rename of keygen goes through here. Fault injection for tests:
 * AMATERS_FHE_TEST_FAIL_RENAME=N makes the Nth call fail with EIO (the
 * restore path cannot be reached otherwise without root). noreplace:
 * fail with EEXIST rather than replace an existing `to`. */
static int key_rename(const char *from, const char *to, int noreplace)
{
    static int calls;
    const char *fail = getenv("AMATERS_FHE_TEST_FAIL_RENAME");

    if (fail != NULL && atoi(fail) == ++calls) {
        errno = EIO;
        return -1;
    }
    if (!noreplace)
        return rename(from, to);
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    /* file systems without RENAME_NOREPLACE */
    return errno == EINVAL || errno == ENOSYS ? rename(from, to) : -1;
}

/* A rename (or, with to NULL, an unlink) that failed with errno err. */
struct key_step {
    const char *from, *to;
    int err;
};

/* Runs key_rename(from, to, noreplace); on failure fills *st. */
static int key_step(struct key_step *st, const char *from, const char *to,
                    int noreplace)
{
    if (key_rename(from, to, noreplace) == 0)
        return 0;
    *st = (struct key_step){from, to, errno};
    return -1;
}

/* After a failed step: puts every moved file back (an old key over the
 * new one, or drops a new key that had no predecessor) and removes the
 * temp files. Returns 0 when the directory is back as it was, else -1
 * with the first failure in *st. */
static int restore_keys(struct key_file f[2], struct key_step *st)
{
    int rc = 0;

    for (int i = 0; i < 2; i++) {
        if (f[i].moved_old) {
            if (key_step(st, f[i].old, f[i].path, 0) != 0 && rc == 0)
                rc = -1;
        } else if (f[i].moved_new && unlink(f[i].path) != 0 && rc == 0) {
            *st = (struct key_step){f[i].path, NULL, errno};
            rc = -1;
        }
        (void)unlink(f[i].tmp);
    }
    return rc;
}

/* Moves the new key files (f[i].tmp, complete and synced) into place:
 * with --force each existing key is first renamed to its .old name. If
 * a step fails, everything is put back, so the directory holds either
 * the previous pair or the new one, never a mix; the report says which
 * step failed and whether the restore worked. */
static int install_keys(const char *dir, struct key_file f[2])
{
    struct key_step bad = {NULL, NULL, 0}, undo = {NULL, NULL, 0};
    int rc = 0;

    for (int i = 0; i < 2 && rc == 0; i++) {
        if (f[i].existed)
            rc = key_step(&bad, f[i].path, f[i].old, 1);
        f[i].moved_old = f[i].existed && rc == 0;
    }
    for (int i = 0; i < 2 && rc == 0; i++) {
        rc = key_step(&bad, f[i].tmp, f[i].path, 1);
        f[i].moved_new = rc == 0;
    }
    if (rc == 0)
        return 0;
    if (restore_keys(f, &undo) == 0)
        return cli_fail(AMATERS_EIO, "cannot rename %s to %s: %s; %s was "
                        "left as it was", bad.from, bad.to,
                        strerror(bad.err), dir);
    return cli_fail(AMATERS_EIO, "cannot rename %s to %s: %s; restoring "
                    "failed too (%s %s%s%s: %s): %s may hold mismatched "
                    "keys", bad.from, bad.to, strerror(bad.err),
                    undo.to != NULL ? "rename" : "remove", undo.from,
                    undo.to != NULL ? " to " : "",
                    undo.to != NULL ? undo.to : "", strerror(undo.err),
                    dir);
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

/* The notes keygen prints on stderr after success. */
static void keygen_notes(const struct key_file f[2], int seeded)
{
    if (seeded)
        fprintf(stderr, "amaters-fhe: keys made from --seed are for tests: "
                "anyone who knows the seed has the client key\n");
    if (f[0].existed || f[1].existed)
        fprintf(stderr, "amaters-fhe: previous keys kept as %s%s%s\n",
                f[0].existed ? f[0].old : "",
                f[0].existed && f[1].existed ? " and " : "",
                f[1].existed ? f[1].old : "");
}

/* Writes the new pair next to the old one (f[0] client, f[1] server),
 * then installs it: both files are complete and synced before either
 * replaces anything. */
/* Takes an exclusive lock on directory dir for the whole keygen (*fd
 * holds it; closing releases it): two keygens into one directory would
 * otherwise swap each other's temp files and install a mismatched pair. */
static int lock_key_dir(const char *dir, int *fd)
{
    *fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0)
        return cli_fail(AMATERS_EIO, "cannot open %s: %s", dir,
                        strerror(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
        return 0;
    if (errno == EWOULDBLOCK)
        return cli_fail(AMATERS_EBUSY, "%s: another amaters-fhe keygen is "
                        "writing keys into this directory; wait for it or "
                        "use another --out", dir);
    return cli_fail(AMATERS_EIO, "cannot lock %s: %s", dir, strerror(errno));
}

static int keygen(const struct cli_args *a, const uint8_t *sp,
                  struct key_file f[2])
{
    uint8_t id[16], *sbuf = NULL, *cbuf = NULL;
    size_t slen = 0, clen = 0;
    int dir_fd = -1;
    int rc = check_existing(f, a->force);   /* early: before any mkdir */

    if (rc == 0)
        rc = cli_make_dirs(a->out);
    if (rc == 0)
        rc = lock_key_dir(a->out, &dir_fd);
    if (rc == 0)                       /* again, now that we hold the lock */
        rc = check_existing(f, a->force);
    if (rc == 0)
        rc = make_keys(sp, id, &sbuf, &slen, &cbuf, &clen);
    if (rc == 0)
        rc = cli_write_temp(f[1].tmp, sbuf, slen, 0644);
    if (rc == 0) {
        rc = cli_write_temp(f[0].tmp, cbuf, clen, 0600);
        if (rc != 0)
            (void)unlink(f[1].tmp);
    }
    if (rc == 0)
        rc = install_keys(a->out, f);
    if (rc == 0)
        rc = cli_sync_dir(a->out);
    if (rc == 0) {
        keygen_notes(f, sp != NULL);
        print_hex(id, sizeof(id));
    }
    amaters_free(sbuf);
    if (cbuf != NULL)
        amaters_free_secret(cbuf, clen);
    if (dir_fd >= 0)
        close(dir_fd);
    return rc;
}

static int cmd_keygen(const struct cli_args *a)
{
    struct key_file *f = NULL;
    uint8_t seed[16];
    int rc = 0;

    if (a->out == NULL)
        return cli_usage_error("keygen needs --out DIR");
    if (a->out[0] == '\0')
        return cli_usage_error("--out needs a directory name");
    if (a->seed != NULL)
        rc = parse_seed(a->seed, seed);
    if (rc != 0)
        return rc;
    f = amaters_calloc(2, sizeof(*f));
    if (f == NULL)
        rc = cli_fail(AMATERS_ENOMEM, "out of memory");
    if (rc == 0)
        rc = key_file_init(&f[0], a->out, "client.key");
    if (rc == 0)
        rc = key_file_init(&f[1], a->out, "server.key");
    if (rc == 0)
        rc = keygen(a, a->seed != NULL ? seed : NULL, f);
    explicit_bzero(seed, sizeof(seed));
    amaters_free(f);
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
    if (rc == 0)
        rc = cli_decode_client_key(path, buf, len, ck);
    if (buf != NULL)
        amaters_free_secret(buf, len);
    return rc;
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
        rc = cli_value(a->pos[0], a->type, bits, &v);
    nblocks = bits == 1 ? 1 : bits / 2;
    if (rc == 0)
        rc = cli_stdout_not_tty();
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
    if (rc == 0)
        rc = cli_decode_ct(cli_name(path), buf, len, r);
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
    if (a->npos == 0 && isatty(STDIN_FILENO))
        return cli_fail(AMATERS_EINVAL, "no ciphertext: give CT_FILE or "
                        "pipe one into standard input");
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

/* Runs the full decoder of h's type over buf (a file cli_load accepted)
 * and keeps what info prints about the body: block degrees into deg
 * (h.count of them, at most 64). */
static int check_body(const char *name, const uint8_t *buf, size_t len,
                      const struct amaters_fhe_header *h, uint32_t deg[64])
{
    struct amaters_fhe_server_key_compressed *sk = NULL;
    struct amaters_fhe_client_key *ck = NULL;
    struct amaters_fhe_radix r = {0};
    int rc;

    switch (h->type) {
    case AMATERS_FHE_OBJ_SERVER_KEY:
        rc = cli_decode_server_key(name, buf, len, &sk);
        amaters_fhe_server_key_compressed_free(sk);
        return rc;
    case AMATERS_FHE_OBJ_CLIENT_KEY:
        rc = cli_decode_client_key(name, buf, len, &ck);
        amaters_fhe_client_key_free(ck);        /* wipes the secret */
        return rc;
    default:
        rc = cli_decode_ct(name, buf, len, &r);
        for (size_t i = 0; rc == 0 && i < r.nblocks && i < 64; i++)
            deg[i] = r.blocks[i].degree;
        amaters_fhe_radix_destroy(&r);
        return rc;
    }
}

static void print_info(const struct amaters_fhe_header *h, size_t len,
                       const uint32_t deg[64])
{
    const struct amaters_fhe_params *p = amaters_fhe_params_get(h->param_id);
    int ct = h->type == AMATERS_FHE_OBJ_BLOCK ||
             h->type == AMATERS_FHE_OBJ_RADIX;

    printf("format version %u\ntype %s\nparams %s\nseeded %s\n"
           "blocks %u\nbytes %zu\nkey id ", h->version,
           h->type == AMATERS_FHE_OBJ_BLOCK ? "block"
           : h->type == AMATERS_FHE_OBJ_RADIX ? "radix"
           : h->type == AMATERS_FHE_OBJ_SERVER_KEY ? "server-key"
                                                   : "client-key",
           p->name,
           /* a server key is always stored compressed: its public masks
            * are re-expanded from the seed it carries */
           (h->flags & AMATERS_FHE_FLAG_SEEDED) != 0 ||
                   h->type == AMATERS_FHE_OBJ_SERVER_KEY
               ? "yes"
               : "no",
           h->count, len);
    print_hex(h->key_id, sizeof(h->key_id));
    if (ct) {
        printf("value %s\ndegrees", value_type_name(h->count));
        for (uint32_t i = 0; i < h->count && i < 64; i++)
            printf(" %u", deg[i]);
        printf("\n");
    }
    if (h->type == AMATERS_FHE_OBJ_CLIENT_KEY)
        printf("secret yes (keep this file private)\n");
}

static int cmd_info(const struct cli_args *a)
{
    struct amaters_fhe_header h;
    uint32_t deg[64] = {0};
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;

    if (a->npos != 1)
        return cli_usage_error("info needs one FILE");
    rc = cli_load(a->pos[0], CLI_WANT_ANY, &buf, &len, &h);
    if (rc == 0)
        rc = check_body(a->pos[0], buf, len, &h, deg);
    if (rc == 0)
        print_info(&h, len, deg);
    if (buf != NULL)
        amaters_free_secret(buf, len);
    return rc;
}

static const char usage_text[] =
    "usage: amaters-fhe keygen --out DIR [--seed HEX32] [--force]\n"
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
    "           It refuses to replace existing keys (what was encrypted\n"
    "           under them could no longer be decrypted) unless --force\n"
    "           is given, which keeps them as client.key.old and\n"
    "           server.key.old (and refuses if those exist).\n"
    "           --seed makes the keys deterministic: tests only.\n"
    "  encrypt  VALUE is decimal or 0x hexadecimal digits (no sign or\n"
    "           space) and must fit the type; a bool is 0, 1, true or\n"
    "           false. Writes the ciphertext (standard output must not\n"
    "           be a terminal).\n"
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
    "  info     checks a key or ciphertext file whole and describes\n"
    "           it (never a secret); for a ciphertext also the degree\n"
    "           (bound on the value) of each block.\n"
    "\n"
    "exit status: 0 success, 1 error, 2 usage error\n";

/* Options; a verb lists the ones it takes. */
enum {
    OPT_KEY = 1, OPT_TYPE = 2, OPT_OUT = 4, OPT_SEED = 8, OPT_THREADS = 16,
    NOPTS = 5,
    OPT_FORCE = 32       /* a flag: takes no value */
};

static const char *const opt_names[NOPTS] = {"--key", "--type", "--out",
                                         "--seed", "--threads"};

static const struct cli_cmd {
    const char *name;
    int (*fn)(const struct cli_args *a);
    unsigned opts;       /* OPT_* it accepts */
    size_t maxpos;       /* positional arguments it accepts */
} cmds[] = {
    {"keygen", cmd_keygen, OPT_OUT | OPT_SEED | OPT_FORCE, 0},
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

/* Sets the flag --force. */
static int take_force(const struct cli_cmd *c, struct cli_args *a)
{
    if ((c->opts & OPT_FORCE) == 0)
        return cli_usage_error("%s does not take option --force", c->name);
    if (a->force)
        return cli_usage_error("option --force given twice");
    a->force = 1;
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
        else if (strcmp(argv[i], "--force") == 0)
            rc = take_force(c, a);
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

    if (help)
        fputs(usage_text, stdout);
    /* printf output is buffered: a write error shows only now */
    if (rc == 0)
        rc = cli_finish_stdout();
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
