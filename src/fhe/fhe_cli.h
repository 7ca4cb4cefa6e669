/*
 * fhe_cli.h - internals shared by the files of the amaters-fhe tool
 * (fhe_cli.c: error reporting, option parsing, key and ciphertext files,
 * keygen / encrypt / decrypt / info; fhe_cli_eval.c: eval and bench).
 * Single-threaded (main thread only) except inside the library's pool.
 * Not part of the library.
 *
 * Errors: a function that fails reports one specific message through
 * cli_fail or cli_usage_error (which print "amaters-fhe: <message>" to
 * stderr) and returns the code; its callers pass the code up without
 * printing again. main() prints a generic line only when nothing was
 * reported, and exits 2 after a usage error, 1 after any other error.
 */
#ifndef AMATERS_FHE_CLI_H
#define AMATERS_FHE_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "fhe/radix.h"
#include "fhe/serial.h"

/* Parsed command line: options anywhere, the rest positional. cmd is the
 * verb (argv[1]). All strings point into argv. */
struct cli_args {
    const char *cmd;
    const char *key, *type, *out, *seed, *threads;
    const char *pos[4];
    size_t npos;
};

/* Bit masks of object types for cli_load (1u << enum amaters_fhe_obj_type).
 * CLI_WANT_ANY accepts every type. */
#define CLI_WANT_ANY 0u
#define CLI_WANT_CT ((1u << AMATERS_FHE_OBJ_BLOCK) | \
                     (1u << AMATERS_FHE_OBJ_RADIX))
#define CLI_WANT_SERVER_KEY (1u << AMATERS_FHE_OBJ_SERVER_KEY)
#define CLI_WANT_CLIENT_KEY (1u << AMATERS_FHE_OBJ_CLIENT_KEY)

/* Prints "amaters-fhe: <message>" (printf-style) and a newline to stderr,
 * records that an error was reported, and returns code (a negative
 * AMATERS_E* code). For runtime errors: exit status 1. */
int cli_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Whether a specific message was printed, and whether it was a usage
 * error (main uses these to pick the exit status). */
int cli_reported(void);
int cli_usage_failed(void);

/* Like cli_fail for a usage error (unknown command, option, operation or
 * type, missing argument, value out of range): main() then adds a hint
 * to run --help and exits 2. Returns AMATERS_EINVAL. */
int cli_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Reads a file (or stdin for NULL) into *out (caller frees with
 * amaters_free, or amaters_free_secret for key files). Files over
 * 512 MiB are refused. Reports and returns AMATERS_EIO, AMATERS_ETOOBIG
 * or AMATERS_ENOMEM on failure (*out NULL). */
int cli_read(const char *path, uint8_t **out, size_t *len);

/* Reads path (stdin for NULL) and validates its header: on failure the
 * report names the file and what is wrong (empty, not an amaters-fhe
 * file, truncated, trailing bytes, unsupported version or parameters,
 * unknown type, a kind other than want). want is CLI_WANT_ANY or an OR
 * of CLI_WANT_* masks. On success *out (len bytes, caller frees with
 * amaters_free_secret) and *h are set; on failure *out is NULL. */
int cli_load(const char *path, unsigned want, uint8_t **out, size_t *len,
             struct amaters_fhe_header *h);

/* Display name of a file argument: path, or "standard input" for NULL.
 * Static or borrowed; never NULL. */
const char *cli_name(const char *path);

/* Static name of an object type ("server key", "ciphertext", ...). */
const char *cli_kind(uint16_t type);

/* Writes the 32 hex digits of a 16-byte key id and a NUL into out. */
void cli_hex_id(const uint8_t id[AMATERS_FHE_KEY_ID_BYTES], char out[33]);

/* Writes len bytes to stdout. Reports and returns AMATERS_EIO on
 * failure. */
int cli_write_stdout(const uint8_t *buf, size_t len);

/* Parses --threads (default 1, 1..64) into *n. Reports a usage error
 * and returns AMATERS_EINVAL when out of range. */
int cli_threads(const struct cli_args *a, size_t *n);

/* Width in bits of a --type name (1 for bool) into *bits. Reports a
 * usage error naming the type and the accepted ones and returns
 * AMATERS_EINVAL if t is unknown. */
int cli_type(const char *t, unsigned *bits);

/* Verbs implemented in fhe_cli_eval.c. Return 0 or an AMATERS_E* code
 * (already reported). */
int cli_eval(const struct cli_args *a);
int cli_bench(const struct cli_args *a);

#endif
