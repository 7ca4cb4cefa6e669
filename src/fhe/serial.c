/*
 * serial.c - the strict encoders / decoders of serial.h.
 *
 * Decoding validates the whole header and the exact length before any
 * allocation sized from the input, so a hostile buffer can make us
 * allocate at most what a valid object of its parameter set needs.
 */
#include "fhe/serial.h"

#include <openssl/evp.h>
#include <string.h>

#include "core/alloc.h"
#include "core/errors.h"

#define MAX_BLOCKS 64

static const uint8_t magic[4] = {'A', 'F', 'H', 'E'};

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static size_t block_bytes(const struct amaters_fhe_params *p, int seeded)
{
    if (seeded)
        return 8 + AMATERS_FHE_SEED_BYTES + 8;
    return 8 + ((size_t)amaters_fhe_params_big_dim(p) + 1) * 8;
}

static size_t sk_words(const struct amaters_fhe_params *p)
{
    return (size_t)amaters_fhe_params_big_dim(p) * p->ks_level +
           (size_t)p->lwe_dim * (p->glwe_dim + 1) * p->pbs_level *
               p->poly_size;
}

static size_t ck_bytes(const struct amaters_fhe_params *p)
{
    return (p->lwe_dim + 7) / 8 + (amaters_fhe_params_big_dim(p) + 7) / 8;
}

/* Payload size implied by a validated header. */
static size_t payload_bytes(const struct amaters_fhe_params *p,
                            const struct amaters_fhe_header *h)
{
    int seeded = (h->flags & AMATERS_FHE_FLAG_SEEDED) != 0;

    switch (h->type) {
    case AMATERS_FHE_OBJ_BLOCK:
    case AMATERS_FHE_OBJ_RADIX:
        return h->count * block_bytes(p, seeded);
    case AMATERS_FHE_OBJ_SERVER_KEY:
        return AMATERS_FHE_SEED_BYTES + sk_words(p) * 8;
    default:
        return ck_bytes(p);
    }
}

static int check_count(const struct amaters_fhe_header *h)
{
    int blocks = h->type == AMATERS_FHE_OBJ_BLOCK ||
                 h->type == AMATERS_FHE_OBJ_RADIX;

    if (h->flags & ~AMATERS_FHE_FLAG_SEEDED)
        return AMATERS_EPARSE;
    if (!blocks && h->flags != 0)
        return AMATERS_EPARSE;
    if (h->type == AMATERS_FHE_OBJ_BLOCK)
        return h->count == 1 ? 0 : AMATERS_EPARSE;
    if (h->type == AMATERS_FHE_OBJ_RADIX)
        return h->count >= 1 && h->count <= MAX_BLOCKS ? 0 : AMATERS_EPARSE;
    if (h->type == AMATERS_FHE_OBJ_SERVER_KEY ||
        h->type == AMATERS_FHE_OBJ_CLIENT_KEY)
        return h->count == 0 ? 0 : AMATERS_EPARSE;
    return AMATERS_EPARSE;
}

int amaters_fhe_decode_header(const uint8_t *buf, size_t len,
                              struct amaters_fhe_header *h)
{
    const struct amaters_fhe_params *p;
    int rc;

    memset(h, 0, sizeof(*h));
    if (buf == NULL || len < AMATERS_FHE_HEADER_BYTES ||
        memcmp(buf, magic, 4) != 0)
        return AMATERS_EPARSE;
    h->version = get16(buf + 4);
    h->type = get16(buf + 6);
    h->param_id = get32(buf + 8);
    h->flags = get32(buf + 12);
    memcpy(h->key_id, buf + 16, AMATERS_FHE_KEY_ID_BYTES);
    h->count = get32(buf + 32);
    if (h->version != AMATERS_FHE_FORMAT_VERSION)
        return AMATERS_EUNSUPPORTED;
    if (get32(buf + 36) != 0)
        return AMATERS_EPARSE;
    rc = check_count(h);
    if (rc != 0)
        return rc;
    p = amaters_fhe_params_get(h->param_id);
    if (p == NULL)
        return AMATERS_EUNSUPPORTED;
    if (len - AMATERS_FHE_HEADER_BYTES != payload_bytes(p, h))
        return AMATERS_EPARSE;
    return 0;
}

/* Allocates header + payload and writes the header. */
static int start(const struct amaters_fhe_params *p, uint16_t type,
                 uint32_t flags, const uint8_t *key_id, uint32_t count,
                 uint8_t **out, size_t *out_len)
{
    struct amaters_fhe_header h = {
        .type = type, .flags = flags, .count = count,
    };
    size_t len = AMATERS_FHE_HEADER_BYTES + payload_bytes(p, &h);
    uint8_t *b = amaters_calloc(1, len);

    *out = NULL;
    *out_len = 0;
    if (b == NULL)
        return AMATERS_ENOMEM;
    memcpy(b, magic, 4);
    put16(b + 4, AMATERS_FHE_FORMAT_VERSION);
    put16(b + 6, type);
    put32(b + 8, p->id);
    put32(b + 12, flags);
    if (key_id != NULL)
        memcpy(b + 16, key_id, AMATERS_FHE_KEY_ID_BYTES);
    put32(b + 32, count);
    *out = b;
    *out_len = len;
    return 0;
}

static uint8_t *put_block(uint8_t *q, const struct amaters_fhe_block *b)
{
    size_t words = (size_t)amaters_fhe_params_big_dim(b->params) + 1;

    put32(q, b->degree);
    put32(q + 4, b->noise_level);
    q += 8;
    for (size_t i = 0; i < words; i++, q += 8)
        put64(q, b->ct[i]);
    return q;
}

int amaters_fhe_encode_radix(const struct amaters_fhe_radix *r,
                             const uint8_t key_id[AMATERS_FHE_KEY_ID_BYTES],
                             uint8_t **out, size_t *out_len)
{
    uint8_t *q;
    int rc;

    if (r->nblocks < 1 || r->nblocks > MAX_BLOCKS)
        return AMATERS_EINVAL;
    rc = start(r->params, AMATERS_FHE_OBJ_RADIX, 0, key_id,
               (uint32_t)r->nblocks, out, out_len);
    if (rc != 0)
        return rc;
    q = *out + AMATERS_FHE_HEADER_BYTES;
    for (size_t i = 0; i < r->nblocks; i++)
        q = put_block(q, &r->blocks[i]);
    return 0;
}

int amaters_fhe_encode_block(const struct amaters_fhe_block *b,
                             const uint8_t key_id[AMATERS_FHE_KEY_ID_BYTES],
                             uint8_t **out, size_t *out_len)
{
    int rc = start(b->params, AMATERS_FHE_OBJ_BLOCK, 0, key_id, 1, out,
                   out_len);

    if (rc == 0)
        put_block(*out + AMATERS_FHE_HEADER_BYTES, b);
    return rc;
}

int amaters_fhe_encode_seeded(const struct amaters_fhe_params *p,
                              const struct amaters_fhe_block_seeded *blocks,
                              size_t count,
                              const uint8_t key_id[AMATERS_FHE_KEY_ID_BYTES],
                              uint8_t **out, size_t *out_len)
{
    uint16_t type = count == 1 ? AMATERS_FHE_OBJ_BLOCK
                               : AMATERS_FHE_OBJ_RADIX;
    uint8_t *q;
    int rc;

    if (count < 1 || count > MAX_BLOCKS)
        return AMATERS_EINVAL;
    rc = start(p, type, AMATERS_FHE_FLAG_SEEDED, key_id, (uint32_t)count,
               out, out_len);
    if (rc != 0)
        return rc;
    q = *out + AMATERS_FHE_HEADER_BYTES;
    for (size_t i = 0; i < count; i++) {
        put32(q, blocks[i].degree);
        put32(q + 4, blocks[i].noise_level);
        memcpy(q + 8, blocks[i].seed, AMATERS_FHE_SEED_BYTES);
        put64(q + 8 + AMATERS_FHE_SEED_BYTES, blocks[i].body);
        q += block_bytes(p, 1);
    }
    return 0;
}

/* Reads one block's bookkeeping and checks it against the parameters. */
static int get_meta(const struct amaters_fhe_params *p, const uint8_t *q,
                    uint32_t *degree, uint32_t *noise)
{
    *degree = get32(q);
    *noise = get32(q + 4);
    if (*degree >= p->message_modulus * p->carry_modulus ||
        *noise > p->max_noise_level)
        return AMATERS_EPARSE;
    return 0;
}

static int get_block(const struct amaters_fhe_params *p, const uint8_t *q,
                     int seeded, struct amaters_fhe_block *b)
{
    struct amaters_fhe_block_seeded sb;
    size_t words = (size_t)amaters_fhe_params_big_dim(p) + 1;
    int rc = get_meta(p, q, &b->degree, &b->noise_level);

    if (rc != 0 || !seeded) {
        for (size_t i = 0; rc == 0 && i < words; i++)
            b->ct[i] = get64(q + 8 + 8 * i);
        return rc;
    }
    sb.degree = b->degree;
    sb.noise_level = b->noise_level;
    memcpy(sb.seed, q + 8, AMATERS_FHE_SEED_BYTES);
    sb.body = get64(q + 8 + AMATERS_FHE_SEED_BYTES);
    return amaters_fhe_block_expand(&sb, b);
}

int amaters_fhe_decode_radix(const uint8_t *buf, size_t len,
                             struct amaters_fhe_radix *r,
                             struct amaters_fhe_header *hout)
{
    struct amaters_fhe_header h;
    const struct amaters_fhe_params *p;
    const uint8_t *q;
    int seeded, rc;

    memset(r, 0, sizeof(*r));
    rc = amaters_fhe_decode_header(buf, len, &h);
    if (rc == 0 && h.type != AMATERS_FHE_OBJ_BLOCK &&
        h.type != AMATERS_FHE_OBJ_RADIX)
        rc = AMATERS_EPARSE;
    if (rc != 0)
        return rc;
    p = amaters_fhe_params_get(h.param_id);
    seeded = (h.flags & AMATERS_FHE_FLAG_SEEDED) != 0;
    rc = amaters_fhe_radix_init(r, p, h.count);
    q = buf + AMATERS_FHE_HEADER_BYTES;
    for (size_t i = 0; rc == 0 && i < h.count; i++) {
        rc = get_block(p, q, seeded, &r->blocks[i]);
        q += block_bytes(p, seeded);
    }
    if (rc != 0) {
        amaters_fhe_radix_destroy(r);
        return rc;
    }
    if (hout != NULL)
        *hout = h;
    return 0;
}

/* Feeds n u64 words, little-endian, to the digest. */
static int hash_words(EVP_MD_CTX *md, const uint64_t *w, size_t n)
{
    uint8_t buf[4096];

    while (n > 0) {
        size_t chunk = n < sizeof(buf) / 8 ? n : sizeof(buf) / 8;

        for (size_t i = 0; i < chunk; i++)
            put64(buf + 8 * i, w[i]);
        if (EVP_DigestUpdate(md, buf, chunk * 8) != 1)
            return AMATERS_EINTERNAL;
        w += chunk;
        n -= chunk;
    }
    return 0;
}

int amaters_fhe_key_id(const struct amaters_fhe_server_key_compressed *c,
                       uint8_t out[AMATERS_FHE_KEY_ID_BYTES])
{
    const struct amaters_fhe_params *p = c->params;
    size_t kw = (size_t)amaters_fhe_params_big_dim(p) * p->ks_level;
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = 0;

    if (md == NULL)
        return AMATERS_ENOMEM;
    if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(md, c->mask_seed, AMATERS_FHE_SEED_BYTES) != 1)
        rc = AMATERS_EINTERNAL;
    if (rc == 0)
        rc = hash_words(md, c->ksk_bodies, kw);
    if (rc == 0)
        rc = hash_words(md, c->bsk_bodies, sk_words(p) - kw);
    if (rc == 0 && EVP_DigestFinal_ex(md, digest, &dlen) != 1)
        rc = AMATERS_EINTERNAL;
    if (rc == 0)
        memcpy(out, digest, AMATERS_FHE_KEY_ID_BYTES);
    EVP_MD_CTX_free(md);
    return rc;
}

int amaters_fhe_encode_server_key(
    const struct amaters_fhe_server_key_compressed *c, uint8_t **out,
    size_t *out_len)
{
    const struct amaters_fhe_params *p = c->params;
    size_t kw = (size_t)amaters_fhe_params_big_dim(p) * p->ks_level;
    uint8_t id[AMATERS_FHE_KEY_ID_BYTES];
    uint8_t *q;
    int rc = amaters_fhe_key_id(c, id);

    if (rc == 0)
        rc = start(p, AMATERS_FHE_OBJ_SERVER_KEY, 0, id, 0, out, out_len);
    if (rc != 0)
        return rc;
    q = *out + AMATERS_FHE_HEADER_BYTES;
    memcpy(q, c->mask_seed, AMATERS_FHE_SEED_BYTES);
    q += AMATERS_FHE_SEED_BYTES;
    for (size_t i = 0; i < kw; i++, q += 8)
        put64(q, c->ksk_bodies[i]);
    for (size_t i = 0; i < sk_words(p) - kw; i++, q += 8)
        put64(q, c->bsk_bodies[i]);
    return 0;
}

int amaters_fhe_decode_server_key(
    const uint8_t *buf, size_t len,
    struct amaters_fhe_server_key_compressed **out)
{
    struct amaters_fhe_server_key_compressed *c;
    struct amaters_fhe_header h;
    const struct amaters_fhe_params *p;
    uint8_t id[AMATERS_FHE_KEY_ID_BYTES];
    const uint8_t *q;
    size_t kw;
    int rc;

    *out = NULL;
    rc = amaters_fhe_decode_header(buf, len, &h);
    if (rc == 0 && h.type != AMATERS_FHE_OBJ_SERVER_KEY)
        rc = AMATERS_EPARSE;
    if (rc != 0)
        return rc;
    p = amaters_fhe_params_get(h.param_id);
    kw = (size_t)amaters_fhe_params_big_dim(p) * p->ks_level;
    c = amaters_calloc(1, sizeof(*c));
    if (c == NULL)
        return AMATERS_ENOMEM;
    c->params = p;
    c->ksk_bodies = amaters_malloc(kw * sizeof(uint64_t));
    c->bsk_bodies = amaters_malloc((sk_words(p) - kw) * sizeof(uint64_t));
    rc = c->ksk_bodies && c->bsk_bodies ? 0 : AMATERS_ENOMEM;
    q = buf + AMATERS_FHE_HEADER_BYTES;
    if (rc == 0) {
        memcpy(c->mask_seed, q, AMATERS_FHE_SEED_BYTES);
        q += AMATERS_FHE_SEED_BYTES;
        for (size_t i = 0; i < kw; i++, q += 8)
            c->ksk_bodies[i] = get64(q);
        for (size_t i = 0; i < sk_words(p) - kw; i++, q += 8)
            c->bsk_bodies[i] = get64(q);
        rc = amaters_fhe_key_id(c, id);
    }
    if (rc == 0 && memcmp(id, h.key_id, sizeof(id)) != 0)
        rc = AMATERS_ECHECKSUM;
    if (rc != 0) {
        amaters_fhe_server_key_compressed_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static void put_bits(uint8_t *q, const uint64_t *bits, size_t n)
{
    for (size_t i = 0; i < n; i++)
        q[i / 8] |= (uint8_t)((bits[i] & 1) << (i % 8));
}

/* Unpacks n bits; the padding bits of the last byte must be zero. */
static int get_bits(const uint8_t *q, uint64_t *bits, size_t n)
{
    for (size_t i = 0; i < n; i++)
        bits[i] = (q[i / 8] >> (i % 8)) & 1;
    if (n % 8 != 0 && (q[n / 8] >> (n % 8)) != 0)
        return AMATERS_EPARSE;
    return 0;
}

int amaters_fhe_encode_client_key(
    const struct amaters_fhe_client_key *ck,
    const uint8_t key_id[AMATERS_FHE_KEY_ID_BYTES], uint8_t **out,
    size_t *out_len)
{
    const struct amaters_fhe_params *p = ck->params;
    uint8_t *q;
    int rc = start(p, AMATERS_FHE_OBJ_CLIENT_KEY, 0, key_id, 0, out,
                   out_len);

    if (rc != 0)
        return rc;
    q = *out + AMATERS_FHE_HEADER_BYTES;
    put_bits(q, ck->lwe_key, p->lwe_dim);
    put_bits(q + (p->lwe_dim + 7) / 8, ck->glwe_key,
             amaters_fhe_params_big_dim(p));
    return 0;
}

int amaters_fhe_decode_client_key(const uint8_t *buf, size_t len,
                                  struct amaters_fhe_client_key **out)
{
    struct amaters_fhe_header h;
    const struct amaters_fhe_params *p;
    uint64_t *lwe = NULL, *glwe = NULL;
    size_t big;
    const uint8_t *q;
    int rc;

    *out = NULL;
    rc = amaters_fhe_decode_header(buf, len, &h);
    if (rc == 0 && h.type != AMATERS_FHE_OBJ_CLIENT_KEY)
        rc = AMATERS_EPARSE;
    if (rc != 0)
        return rc;
    p = amaters_fhe_params_get(h.param_id);
    big = amaters_fhe_params_big_dim(p);
    lwe = amaters_malloc(p->lwe_dim * sizeof(uint64_t));
    glwe = amaters_malloc(big * sizeof(uint64_t));
    rc = lwe && glwe ? 0 : AMATERS_ENOMEM;
    q = buf + AMATERS_FHE_HEADER_BYTES;
    if (rc == 0)
        rc = get_bits(q, lwe, p->lwe_dim);
    if (rc == 0)
        rc = get_bits(q + (p->lwe_dim + 7) / 8, glwe, big);
    if (rc == 0)
        rc = amaters_fhe_client_key_from_bits(p, lwe, glwe, out);
    if (lwe != NULL)
        amaters_free_secret(lwe, p->lwe_dim * sizeof(uint64_t));
    if (glwe != NULL)
        amaters_free_secret(glwe, big * sizeof(uint64_t));
    return rc;
}
