/*
 * fuzz_jwt.c - libFuzzer harness for the JWT parser: arbitrary bytes (as
 * a NUL-terminated string) go to amaters_jwt_verify() with an HS256
 * configuration. The first input byte, when it is '!', makes the harness
 * sign the rest as header.payload with the configured secret, so the
 * fuzzer also reaches the claims checks behind a valid signature.
 * Whatever the input, the call must not crash, leak or read out of
 * bounds, and a failure must leave the principal empty.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/alloc.h"
#include "core/errors.h"
#include "security/jwt.h"

#define SECRET "fuzz-secret-0123456789abcdef0123"

static struct amaters_jwt_config cfg;
static int ready;

/* Appends "." + base64url(HMAC-SHA256(text)) to text (len bytes). */
static char *sign_input(const char *text, size_t len)
{
    unsigned char mac[32], b64[64];
    unsigned int mlen = 0;
    char *out = malloc(len + 64);
    size_t o = len;
    int n;

    if (out == NULL)
        return NULL;
    memcpy(out, text, len);
    HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET),
         (const unsigned char *)text, len, mac, &mlen);
    n = EVP_EncodeBlock(b64, mac, (int)mlen);
    out[o++] = '.';
    for (int i = 0; i < n && b64[i] != '='; i++)
        out[o++] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
    out[o] = '\0';
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct amaters_principal p;
    char why[128];
    char *token;
    int rv;

    if (!ready) {
        char err[128];
        if (amaters_jwt_config_init(&cfg, AMATERS_JWT_HS256, SECRET,
                                    strlen(SECRET), NULL, 0, "iss", "aud",
                                    60, err, sizeof err) != 0)
            abort();
        ready = 1;
    }
    if (size > 0 && data[0] == '!') {
        size_t n = strnlen((const char *)data + 1, size - 1);
        token = sign_input((const char *)data + 1, n);
    } else {
        token = malloc(size + 1);
        if (token != NULL) {
            memcpy(token, data, size);
            token[size] = '\0';
        }
    }
    if (token == NULL)
        return 0;
    rv = amaters_jwt_verify(&cfg, token, 1800000000, &p, why, sizeof why);
    if (rv != 0 && (p.subject != NULL || p.roles != NULL))
        abort();
    if (rv == 0 && (p.subject == NULL || strcmp(p.method, "jwt") != 0))
        abort();
    amaters_principal_free(&p);
    free(token);
    return 0;
}
