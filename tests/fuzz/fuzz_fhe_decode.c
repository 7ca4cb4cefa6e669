/*
 * fuzz_fhe_decode.c - libFuzzer harness for the FHE wire format decoders
 * (src/fhe/serial.h): headers, blocks and radix integers (expanded and
 * seeded), client keys and compressed server keys. Any input must either
 * decode into an object that is then freed, or be rejected with an error
 * code; the sanitizers catch everything else. Decoded objects are
 * re-encoded and must reproduce the input bytes exactly.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "fhe/serial.h"

static void check_radix(const uint8_t *data, size_t size)
{
    struct amaters_fhe_radix r;
    struct amaters_fhe_header h;
    uint8_t *out = NULL;
    size_t len = 0;

    if (amaters_fhe_decode_radix(data, size, &r, &h) != 0)
        return;
    /* expanded encodings round-trip byte for byte */
    if (!(h.flags & AMATERS_FHE_FLAG_SEEDED)) {
        int rc = h.type == AMATERS_FHE_OBJ_BLOCK
                     ? amaters_fhe_encode_block(&r.blocks[0], h.key_id, &out,
                                                &len)
                     : amaters_fhe_encode_radix(&r, h.key_id, &out, &len);

        if (rc == 0 && (len != size || memcmp(out, data, size) != 0))
            __builtin_trap();
        amaters_free(out);
    }
    amaters_fhe_radix_destroy(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct amaters_fhe_header h;
    struct amaters_fhe_client_key *ck = NULL;
    struct amaters_fhe_server_key_compressed *c = NULL;

    if (amaters_fhe_decode_header(data, size, &h) != 0)
        return 0;
    check_radix(data, size);
    if (amaters_fhe_decode_client_key(data, size, &ck) == 0)
        amaters_fhe_client_key_free(ck);
    if (amaters_fhe_decode_server_key(data, size, &c) == 0)
        amaters_fhe_server_key_compressed_free(c);
    return 0;
}
