/*
 * fhe_cli.h - internals shared by the files of the amaters-fhe tool
 * (fhe_cli.c: option parsing, key and ciphertext files, keygen / encrypt /
 * decrypt / info; fhe_cli_eval.c: eval and bench). Single-threaded except
 * inside the library's pool. Not part of the library.
 */
#ifndef AMATERS_FHE_CLI_H
#define AMATERS_FHE_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "fhe/radix.h"

/* Parsed command line: options anywhere, the rest positional. */
struct cli_args {
    const char *key, *type, *out, *seed, *threads;
    const char *pos[4];
    size_t npos;
};

/* Reads a file (or stdin for NULL) into *out (caller frees with
 * amaters_free). Returns 0, AMATERS_EIO or AMATERS_ENOMEM. */
int cli_read(const char *path, uint8_t **out, size_t *len);

/* Writes len bytes to stdout. Returns 0 or AMATERS_EIO. */
int cli_write_stdout(const uint8_t *buf, size_t len);

/* Parses --threads (default 1, 1..64) into *n. Returns 0 or
 * AMATERS_EINVAL. */
int cli_threads(const struct cli_args *a, size_t *n);

/* Verbs implemented in fhe_cli_eval.c. Return 0 or an AMATERS_E* code. */
int cli_eval(const struct cli_args *a);
int cli_bench(const struct cli_args *a);

#endif
