/*
 * fhe_cli.h - internals shared by the files of the amaters-fhe tool
 * (fhe_cli.c: option parsing, keygen / encrypt / decrypt / info and main;
 * fhe_cli_io.c: error reporting, reading and strictly decoding files,
 * writing key files, parsing values; fhe_cli_eval.c: eval and bench).
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
#include <sys/types.h>

#include "fhe/radix.h"
#include "fhe/serial.h"

/* Parsed command line: options anywhere, the rest positional. cmd is the
 * verb (argv[1]). All strings point into argv. */
struct cli_args {
    const char *cmd;
    const char *key, *type, *out, *seed, *threads;
    int force;                  /* --force (keygen) */
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

/* Strict decoders of a file cli_load accepted (name is the file's
 * display name): the full decoder of serial.h for the type, so a body
 * the library would refuse (a block degree or noise level out of range,
 * a server key whose contents do not match its key id, nonzero padding
 * in a client key) is reported as "<name>: malformed <kind> (<what is
 * wrong>)" and the code returned. On success the caller owns the
 * result: cli_decode_ct initializes *r (free with
 * amaters_fhe_radix_destroy), cli_decode_server_key sets *c (free with
 * amaters_fhe_server_key_compressed_free), cli_decode_client_key sets
 * *ck (secret; free with amaters_fhe_client_key_free, which wipes it). */
int cli_decode_ct(const char *name, const uint8_t *buf, size_t len,
                  struct amaters_fhe_radix *r);
int cli_decode_server_key(const char *name, const uint8_t *buf, size_t len,
                          struct amaters_fhe_server_key_compressed **c);
int cli_decode_client_key(const char *name, const uint8_t *buf, size_t len,
                          struct amaters_fhe_client_key **ck);

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

/* Refuses (reports and returns AMATERS_EINVAL) when standard output is
 * a terminal: encrypt and eval call it before any work, as a ciphertext
 * is binary. */
int cli_stdout_not_tty(void);

/* Flushes stdout and checks its error flag (printf output is buffered,
 * so a full disk or a closed pipe shows only here). Reports "cannot
 * write standard output: <reason>" and returns AMATERS_EIO on failure. */
int cli_finish_stdout(void);

/* Parses the VALUE of encrypt for a --type of `bits` bits (named type)
 * into *v: decimal digits, or 0x / 0X and hexadecimal digits, nothing
 * else (no sign, space or second prefix); a bool is exactly 0, 1, true
 * or false (any case). Reports a usage error naming the value and
 * returns AMATERS_EINVAL otherwise, or when the value does not fit. */
int cli_value(const char *s, const char *type, unsigned bits, uint64_t *v);

/* mkdir -p dir: an existing directory is used as is; new ones (the
 * missing parents too) get mode 0700. Reports and returns AMATERS_EIO
 * (or a usage error for an empty name). */
int cli_make_dirs(const char *dir);

/* Writes buf to the new file tmp (created exclusively with mode, never
 * through a symlink; a leftover tmp is removed first) and syncs it, for
 * the caller to rename into place. On failure tmp is removed and the
 * error reported (AMATERS_EIO). */
int cli_write_temp(const char *tmp, const uint8_t *buf, size_t len,
                   mode_t mode);

/* fsyncs directory dir so that renames in it are durable. Reports and
 * returns AMATERS_EIO on failure. */
int cli_sync_dir(const char *dir);

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
