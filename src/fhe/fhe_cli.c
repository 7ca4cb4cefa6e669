/*
 * fhe_cli.c - amaters-fhe: command-line access to the FHE library.
 *
 *   amaters-fhe keygen DIR [SEED_HEX32]   DIR/client.key (mode 0600),
 *                                         DIR/server.key (compressed);
 *                                         prints the key id
 *   amaters-fhe encrypt CLIENT_KEY BITS VALUE OUT   seeded ciphertext
 *   amaters-fhe decrypt CLIENT_KEY IN               prints the value
 *   amaters-fhe eval SERVER_KEY OP A [B] OUT
 *       OP: add sub and or xor min max (integers), eq ne lt le gt ge
 *       (encrypted boolean), not (unary)
 *   amaters-fhe info FILE                 prints the header
 *
 * BITS is 1 (boolean), 2, 4, 8, 16, 32 or 64. Files use the wire format
 * of serial.h. Exit status 0 on success, 1 on error (message on stderr).
 * A seed makes keys deterministic and is for tests only.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "fhe/serial.h"

#define MAX_FILE (512u << 20)

static int read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long size;
    int rc = AMATERS_EIO;

    *out = NULL;
    if (f == NULL)
        return AMATERS_EIO;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
        (unsigned long)size <= MAX_FILE && fseek(f, 0, SEEK_SET) == 0) {
        buf = amaters_malloc((size_t)size + 1);
        rc = buf == NULL ? AMATERS_ENOMEM : 0;
        if (rc == 0 && fread(buf, 1, (size_t)size, f) != (size_t)size)
            rc = AMATERS_EIO;
        *len = (size_t)size;
    }
    fclose(f);
    if (rc != 0) {
        amaters_free(buf);
        return rc;
    }
    *out = buf;
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

static int cmd_keygen(int argc, char **argv)
{
    const struct amaters_fhe_params *p = &amaters_fhe_param_msg2_carry2;
    struct amaters_fhe_client_key *ck = NULL;
    struct amaters_fhe_server_key_compressed *c = NULL;
    uint8_t seed[16], id[16], *buf = NULL;
    const uint8_t *sp = NULL;
    size_t len = 0;
    char path[4096];
    int rc = 0;

    if (argc < 1 || argc > 2)
        return AMATERS_EINVAL;
    if (argc == 2) {
        rc = parse_seed(argv[1], seed);
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
    snprintf(path, sizeof(path), "%s/server.key", argv[0]);
    if (rc == 0)
        rc = write_file(path, buf, len, 0644);
    amaters_free(buf);
    buf = NULL;
    if (rc == 0)
        rc = amaters_fhe_encode_client_key(ck, id, &buf, &len);
    snprintf(path, sizeof(path), "%s/client.key", argv[0]);
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
    int rc = read_file(path, &buf, &len);

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

static int cmd_encrypt(int argc, char **argv)
{
    struct amaters_fhe_client_key *ck = NULL;
    struct amaters_fhe_block_seeded sb[32];
    uint8_t id[16], *buf = NULL;
    size_t len = 0, nblocks;
    unsigned long bits;
    unsigned long long v;
    int rc;

    if (argc != 4)
        return AMATERS_EINVAL;
    bits = strtoul(argv[1], NULL, 10);
    v = strtoull(argv[2], NULL, 0);
    if (bits != 1 && bits != 2 && bits != 4 && bits != 8 && bits != 16 &&
        bits != 32 && bits != 64)
        return AMATERS_EINVAL;
    if (bits < 64 && v >> bits != 0)
        return AMATERS_EINVAL;
    nblocks = bits == 1 ? 1 : bits / 2;
    rc = load_client_key(argv[0], &ck, id);
    for (size_t i = 0; rc == 0 && i < nblocks; i++) {
        rc = amaters_fhe_block_encrypt_seeded(ck, (uint32_t)(v & 3), &sb[i]);
        v >>= 2;
    }
    if (rc == 0)
        rc = amaters_fhe_encode_seeded(ck->params, sb, nblocks, id, &buf,
                                       &len);
    if (rc == 0)
        rc = write_file(argv[3], buf, len, 0644);
    amaters_free(buf);
    amaters_fhe_client_key_free(ck);
    return rc;
}

static int cmd_decrypt(int argc, char **argv)
{
    struct amaters_fhe_client_key *ck = NULL;
    struct amaters_fhe_radix r = {0};
    uint8_t id[16], *buf = NULL;
    size_t len = 0;
    uint64_t v = 0;
    int rc;

    if (argc != 2)
        return AMATERS_EINVAL;
    rc = load_client_key(argv[0], &ck, id);
    if (rc == 0)
        rc = read_file(argv[1], &buf, &len);
    if (rc == 0)
        rc = amaters_fhe_decode_radix(buf, len, &r, NULL);
    if (rc == 0 && r.nblocks > 32)
        rc = AMATERS_EUNSUPPORTED;
    if (rc == 0)
        rc = amaters_fhe_radix_decrypt(ck, &r, &v);
    if (rc == 0)
        printf("%llu\n", (unsigned long long)v);
    amaters_fhe_radix_destroy(&r);
    amaters_free(buf);
    amaters_fhe_client_key_free(ck);
    return rc;
}

enum op_kind { OP_INT, OP_CMP, OP_NOT };

static const struct cli_op {
    const char *name;
    enum op_kind kind;
    int code;
} ops[] = {
    {"add", OP_INT, 0}, {"sub", OP_INT, 1}, {"and", OP_INT, 2},
    {"or", OP_INT, 3}, {"xor", OP_INT, 4}, {"min", OP_INT, 5},
    {"max", OP_INT, 6}, {"eq", OP_CMP, AMATERS_FHE_EQ},
    {"ne", OP_CMP, AMATERS_FHE_NE}, {"lt", OP_CMP, AMATERS_FHE_LT},
    {"le", OP_CMP, AMATERS_FHE_LE}, {"gt", OP_CMP, AMATERS_FHE_GT},
    {"ge", OP_CMP, AMATERS_FHE_GE}, {"not", OP_NOT, 0},
};

static int int_op(struct amaters_fhe_eval *ev, int code,
                  const struct amaters_fhe_radix *a,
                  const struct amaters_fhe_radix *b,
                  struct amaters_fhe_radix *out)
{
    switch (code) {
    case 0:
        return amaters_fhe_radix_add(ev, a, b, out);
    case 1:
        return amaters_fhe_radix_sub(ev, a, b, out);
    case 2:
        return amaters_fhe_radix_bitop(ev, AMATERS_FHE_AND, a, b, out);
    case 3:
        return amaters_fhe_radix_bitop(ev, AMATERS_FHE_OR, a, b, out);
    case 4:
        return amaters_fhe_radix_bitop(ev, AMATERS_FHE_XOR, a, b, out);
    case 5:
        return amaters_fhe_radix_min(ev, a, b, out);
    default:
        return amaters_fhe_radix_max(ev, a, b, out);
    }
}

/* Decodes a ciphertext file and checks it belongs to key id. */
static int load_ct(const char *path, const uint8_t id[16],
                   struct amaters_fhe_radix *r)
{
    struct amaters_fhe_header h;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = read_file(path, &buf, &len);

    if (rc == 0)
        rc = amaters_fhe_decode_radix(buf, len, r, &h);
    if (rc == 0 && memcmp(h.key_id, id, 16) != 0) {
        amaters_fhe_radix_destroy(r);
        rc = AMATERS_EBADKEY;
    }
    amaters_free(buf);
    return rc;
}

static int load_server(const char *path, struct amaters_fhe_server_key **sk,
                       uint8_t id[16])
{
    struct amaters_fhe_server_key_compressed *c = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = read_file(path, &buf, &len);

    if (rc == 0)
        rc = amaters_fhe_decode_server_key(buf, len, &c);
    if (rc == 0)
        rc = amaters_fhe_key_id(c, id);
    if (rc == 0)
        rc = amaters_fhe_server_key_decompress(c, sk);
    amaters_fhe_server_key_compressed_free(c);
    amaters_free(buf);
    return rc;
}

static int run_op(struct amaters_fhe_eval *ev, const struct cli_op *op,
                  struct amaters_fhe_radix *a, struct amaters_fhe_radix *b,
                  const uint8_t id[16], uint8_t **out, size_t *len)
{
    struct amaters_fhe_radix res = {0};
    int rc;

    if (op->kind == OP_NOT) {
        rc = amaters_fhe_radix_init(&res, a->params, a->nblocks);
        if (rc == 0)
            rc = amaters_fhe_radix_bitnot(a, &res);
    } else if (op->kind == OP_INT) {
        rc = amaters_fhe_radix_init(&res, a->params, a->nblocks);
        if (rc == 0)
            rc = int_op(ev, op->code, a, b, &res);
    } else {
        rc = amaters_fhe_radix_init(&res, a->params, 1);
        if (rc == 0)
            rc = amaters_fhe_radix_cmp(ev, (enum amaters_fhe_cmp)op->code, a,
                                       b, &res.blocks[0]);
    }
    if (rc == 0)
        rc = amaters_fhe_encode_radix(&res, id, out, len);
    amaters_fhe_radix_destroy(&res);
    return rc;
}

static int cmd_eval(int argc, char **argv)
{
    const struct cli_op *op = NULL;
    struct amaters_fhe_server_key *sk = NULL;
    struct amaters_fhe_eval *ev = NULL;
    struct amaters_fhe_radix a = {0}, b = {0};
    uint8_t id[16], *buf = NULL;
    size_t len = 0;
    int rc;

    for (size_t i = 0; argc >= 2 && i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(argv[1], ops[i].name) == 0)
            op = &ops[i];
    if (op == NULL || argc != (op->kind == OP_NOT ? 4 : 5))
        return AMATERS_EINVAL;
    rc = load_server(argv[0], &sk, id);
    if (rc == 0)
        rc = amaters_fhe_eval_new(sk, &ev);
    if (rc == 0)
        rc = load_ct(argv[2], id, &a);
    if (rc == 0 && op->kind != OP_NOT)
        rc = load_ct(argv[3], id, &b);
    if (rc == 0)
        rc = run_op(ev, op, &a, &b, id, &buf, &len);
    if (rc == 0)
        rc = write_file(argv[argc - 1], buf, len, 0644);
    amaters_free(buf);
    amaters_fhe_radix_destroy(&a);
    amaters_fhe_radix_destroy(&b);
    amaters_fhe_eval_free(ev);
    amaters_fhe_server_key_free(sk);
    return rc;
}

static int cmd_info(int argc, char **argv)
{
    static const char *const types[] = {"?", "block", "radix", "server-key",
                                        "client-key"};
    struct amaters_fhe_header h;
    const struct amaters_fhe_params *p;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;

    if (argc != 1)
        return AMATERS_EINVAL;
    rc = read_file(argv[0], &buf, &len);
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
            "usage: amaters-fhe keygen DIR [SEED_HEX32]\n"
            "       amaters-fhe encrypt CLIENT_KEY BITS VALUE OUT\n"
            "       amaters-fhe decrypt CLIENT_KEY IN\n"
            "       amaters-fhe eval SERVER_KEY OP A [B] OUT\n"
            "       amaters-fhe info FILE\n"
            "(bench: see amaters-fhe-bench)\n");
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int argc, char **argv);
    } cmds[] = {
        {"keygen", cmd_keygen}, {"encrypt", cmd_encrypt},
        {"decrypt", cmd_decrypt}, {"eval", cmd_eval}, {"info", cmd_info},
    };
    int rc = AMATERS_EINVAL;

    for (size_t i = 0; argc >= 2 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            rc = cmds[i].fn(argc - 2, argv + 2);
    if (rc == AMATERS_EINVAL)
        usage();
    if (rc != 0) {
        fprintf(stderr, "amaters-fhe: %s\n", amaters_strerror(rc));
        return 1;
    }
    return 0;
}
