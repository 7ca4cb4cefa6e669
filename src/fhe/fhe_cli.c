/*
 * fhe_cli.c - amaters-fhe: command-line access to the FHE library.
 *
 *   amaters-fhe keygen --out DIR [--seed HEX32]
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
 *
 * Files use the wire format of serial.h; a bool is a one-block radix.
 * Exit status 0 on success, 1 on error (message on stderr). A seed makes
 * keys deterministic and is for tests only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "fhe/fhe_cli.h"
#include "fhe/serial.h"

#define MAX_FILE (512u << 20)

int cli_read(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = path == NULL ? stdin : fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, got = 0;
    int rc = 0;

    *out = NULL;
    *len = 0;
    if (f == NULL)
        return AMATERS_EIO;
    while (rc == 0) {
        size_t n;

        if (got == cap) {
            uint8_t *nb = NULL;

            cap = cap == 0 ? 65536 : cap * 2;
            if (cap <= MAX_FILE)
                nb = amaters_realloc(buf, cap);
            if (nb == NULL) {
                rc = cap > MAX_FILE ? AMATERS_EIO : AMATERS_ENOMEM;
                break;
            }
            buf = nb;
        }
        n = fread(buf + got, 1, cap - got, f);
        got += n;
        if (n == 0)
            rc = ferror(f) ? AMATERS_EIO : 1;
    }
    if (f != stdin)
        fclose(f);
    if (rc < 0) {
        amaters_free(buf);
        return rc;
    }
    *out = buf;
    *len = got;
    return 0;
}

int cli_write_stdout(const uint8_t *buf, size_t len)
{
    if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0)
        return AMATERS_EIO;
    return 0;
}

int cli_threads(const struct cli_args *a, size_t *n)
{
    char *end = NULL;
    unsigned long v;

    *n = 1;
    if (a->threads == NULL)
        return 0;
    v = strtoul(a->threads, &end, 10);
    if (end == a->threads || *end != '\0' || v < 1 || v > 64)
        return AMATERS_EINVAL;
    *n = (size_t)v;
    return 0;
}

static int write_file(const char *path, const uint8_t *buf, size_t len,
                      mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    size_t done = 0;
    int rc = 0;

    if (fd < 0)
        return AMATERS_EIO;
    while (done < len && rc == 0) {
        ssize_t w = write(fd, buf + done, len - done);

        if (w <= 0)
            rc = AMATERS_EIO;
        else
            done += (size_t)w;
    }
    if (close(fd) != 0)
        rc = AMATERS_EIO;
    return rc;
}

static void print_hex(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
    printf("\n");
}

static int parse_seed(const char *hex, uint8_t seed[16])
{
    if (strlen(hex) != 32)
        return AMATERS_EINVAL;
    for (int i = 0; i < 16; i++) {
        unsigned v;

        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return AMATERS_EINVAL;
        seed[i] = (uint8_t)v;
    }
    return 0;
}

static int cmd_keygen(const struct cli_args *a)
{
    const struct amaters_fhe_params *p = &amaters_fhe_param_msg2_carry2;
    struct amaters_fhe_client_key *ck = NULL;
    struct amaters_fhe_server_key_compressed *c = NULL;
    uint8_t seed[16], id[16], *buf = NULL;
    const uint8_t *sp = NULL;
    size_t len = 0;
    char path[4096];
    int rc = 0;

    if (a->out == NULL || a->npos != 0)
        return AMATERS_EINVAL;
    if (a->seed != NULL) {
        rc = parse_seed(a->seed, seed);
        sp = seed;
    }
    if (rc == 0)
        rc = amaters_fhe_client_key_new(p, sp, &ck);
    if (rc == 0)
        rc = amaters_fhe_server_key_new_compressed(ck, sp, &c);
    if (rc == 0)
        rc = amaters_fhe_key_id(c, id);
    if (rc == 0)
        rc = amaters_fhe_encode_server_key(c, &buf, &len);
    snprintf(path, sizeof(path), "%s/server.key", a->out);
    if (rc == 0)
        rc = write_file(path, buf, len, 0644);
    amaters_free(buf);
    buf = NULL;
    if (rc == 0)
        rc = amaters_fhe_encode_client_key(ck, id, &buf, &len);
    snprintf(path, sizeof(path), "%s/client.key", a->out);
    if (rc == 0)
        rc = write_file(path, buf, len, 0600);
    if (buf != NULL)
        amaters_free_secret(buf, len);
    if (rc == 0)
        print_hex(id, sizeof(id));
    amaters_fhe_server_key_compressed_free(c);
    amaters_fhe_client_key_free(ck);
    return rc;
}

static int load_client_key(const char *path, struct amaters_fhe_client_key
                           **ck, uint8_t key_id[16])
{
    struct amaters_fhe_header h;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = path == NULL ? AMATERS_EINVAL : cli_read(path, &buf, &len);

    if (rc == 0)
        rc = amaters_fhe_decode_header(buf, len, &h);
    if (rc == 0)
        memcpy(key_id, h.key_id, 16);
    if (rc == 0)
        rc = amaters_fhe_decode_client_key(buf, len, ck);
    if (buf != NULL)
        amaters_free_secret(buf, len);
    return rc;
}

/* Width in bits of a --type name (1 for bool), 0 if unknown. */
static unsigned type_bits(const char *t)
{
    static const struct {
        const char *name;
        unsigned bits;
    } types[] = {{"bool", 1}, {"u8", 8}, {"u16", 16}, {"u32", 32},
                 {"u64", 64}};

    for (size_t i = 0; t != NULL && i < sizeof(types) / sizeof(types[0]);
         i++)
        if (strcmp(t, types[i].name) == 0)
            return types[i].bits;
    return 0;
}

static int parse_value(const char *s, unsigned bits, uint64_t *v)
{
    char *end = NULL;
    unsigned long long x;

    if (s[0] == '-' || s[0] == '\0')
        return AMATERS_EINVAL;
    errno = 0;
    x = strtoull(s, &end, 0);
    if (errno != 0 || *end != '\0' || (bits < 64 && x >> bits != 0))
        return AMATERS_EINVAL;
    *v = x;
    return 0;
}

static int cmd_encrypt(const struct cli_args *a)
{
    struct amaters_fhe_client_key *ck = NULL;
    struct amaters_fhe_block_seeded sb[32];
    uint8_t id[16], *buf = NULL;
    unsigned bits = type_bits(a->type);
    size_t len = 0, nblocks;
    uint64_t v = 0;
    int rc;

    if (a->npos != 1 || bits == 0)
        return AMATERS_EINVAL;
    rc = parse_value(a->pos[0], bits, &v);
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
    if (rc == 0)
        rc = cli_write_stdout(buf, len);
    amaters_free(buf);
    amaters_fhe_client_key_free(ck);
    return rc;
}

static int cmd_decrypt(const struct cli_args *a)
{
    struct amaters_fhe_client_key *ck = NULL;
    struct amaters_fhe_radix r = {0};
    uint8_t id[16], *buf = NULL;
    size_t len = 0;
    uint64_t v = 0;
    int rc;

    if (a->npos > 1)
        return AMATERS_EINVAL;
    rc = load_client_key(a->key, &ck, id);
    if (rc == 0)
        rc = cli_read(a->npos == 1 ? a->pos[0] : NULL, &buf, &len);
    if (rc == 0)
        rc = amaters_fhe_decode_radix(buf, len, &r, NULL);
    if (rc == 0 && r.nblocks > 32)
        rc = AMATERS_EUNSUPPORTED;   /* more than 64 bits */
    if (rc == 0)
        rc = amaters_fhe_radix_decrypt(ck, &r, &v);
    if (rc == 0)
        printf("%llu\n", (unsigned long long)v);
    amaters_fhe_radix_destroy(&r);
    amaters_free(buf);
    amaters_fhe_client_key_free(ck);
    return rc;
}

static int cmd_info(const struct cli_args *a)
{
    static const char *const types[] = {"?", "block", "radix", "server-key",
                                        "client-key"};
    struct amaters_fhe_header h;
    const struct amaters_fhe_params *p;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;

    if (a->npos != 1)
        return AMATERS_EINVAL;
    rc = cli_read(a->pos[0], &buf, &len);
    if (rc == 0)
        rc = amaters_fhe_decode_header(buf, len, &h);
    if (rc == 0) {
        p = amaters_fhe_params_get(h.param_id);
        printf("format version %u\ntype %s\nparams %s\nseeded %s\n"
               "blocks %u\nbytes %zu\nkey id ", h.version,
               types[h.type < 5 ? h.type : 0], p->name,
               h.flags & AMATERS_FHE_FLAG_SEEDED ? "yes" : "no", h.count,
               len);
        print_hex(h.key_id, sizeof(h.key_id));
    }
    amaters_free(buf);
    return rc;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: amaters-fhe keygen --out DIR [--seed HEX32]\n"
            "       amaters-fhe encrypt --key CLIENT_KEY --type "
            "bool|u8|u16|u32|u64 VALUE > CT\n"
            "       amaters-fhe eval --key SERVER_KEY [--threads N] OP CT "
            "[CT] > CT\n"
            "           OP: add sub mul min max and or xor eq ne lt le gt "
            "ge not neg\n"
            "       amaters-fhe decrypt --key CLIENT_KEY [CT]\n"
            "       amaters-fhe bench [--threads N] [--type T]\n"
            "       amaters-fhe info FILE\n");
}

/* Splits argv into options (--name VALUE) and positionals. */
static int parse_args(int argc, char **argv, struct cli_args *a)
{
    static const char *const names[] = {"--key", "--type", "--out",
                                        "--seed", "--threads"};

    memset(a, 0, sizeof(*a));
    for (int i = 0; i < argc; i++) {
        const char **slot[] = {&a->key, &a->type, &a->out, &a->seed,
                               &a->threads};
        size_t k = 0;

        while (k < 5 && strcmp(argv[i], names[k]) != 0)
            k++;
        if (k < 5 && i + 1 < argc) {
            *slot[k] = argv[++i];
            continue;
        }
        if (k < 5 || a->npos == 4 || strncmp(argv[i], "--", 2) == 0)
            return AMATERS_EINVAL;
        a->pos[a->npos++] = argv[i];
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(const struct cli_args *a);
    } cmds[] = {
        {"keygen", cmd_keygen}, {"encrypt", cmd_encrypt},
        {"decrypt", cmd_decrypt}, {"eval", cli_eval}, {"bench", cli_bench},
        {"info", cmd_info},
    };
    struct cli_args a;
    int rc = AMATERS_EINVAL;

    for (size_t i = 0; argc >= 2 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(argv[1], cmds[i].name) == 0 &&
            parse_args(argc - 2, argv + 2, &a) == 0)
            rc = cmds[i].fn(&a);
    if (rc == AMATERS_EINVAL)
        usage();
    if (rc != 0) {
        fprintf(stderr, "amaters-fhe: %s\n", amaters_strerror(rc));
        return 1;
    }
    return 0;
}
