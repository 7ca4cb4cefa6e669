/*
 * toml_internal.h - what the TOML parser's files share: the cursor, error
 * reporting, a growable byte buffer and the value constructors.
 *
 * toml_value.c builds and frees trees, toml_scalar.c reads strings,
 * numbers and date-times, toml_parse.c reads the document and its values,
 * toml_table.c reads keys and headers and enforces the definition rules.
 * Not part of the public API: only src/config/toml_*.c include this.
 */
#ifndef AMATERS_CONFIG_TOML_INTERNAL_H
#define AMATERS_CONFIG_TOML_INTERNAL_H

#include "config/toml.h"

#include <stddef.h>

/* Bits of amaters_toml_value.flags. */
#define TOML_F_EXPLICIT 1u    /* table: defined by a [header] */
#define TOML_F_INLINE 2u      /* table: inline, closed to additions */
#define TOML_F_TABLE_ARRAY 4u /* array: created by [[header]] */

/* Room for the dotted key name shown in value errors (longer is cut and
 * ends in "..."). */
#define TOML_KEY_MAX 64

/* The parser's cursor and state. One per parse, on the caller's stack. */
struct toml_parser {
    const char *src;
    size_t len;
    size_t pos;    /* next byte */
    int line, col; /* of the next byte */
    const char *filename;
    char *err;
    size_t errlen;
    int failed;                      /* an error has been written */
    struct amaters_toml_value *root; /* the document */
    struct amaters_toml_value *cur;  /* table of the current [section] */
    int cur_depth;                  /* depth of cur below the root */
    int section;      /* number of the current section (see toml_parse.c) */
    int next_section; /* last section number handed out */
    /* Dotted name of the current [header], and while a value is read
     * (in_value > 0) of its key too ("server.max_connections"): errors
     * inside a value name it. key_len bytes, NUL-terminated. */
    char key[TOML_KEY_MAX];
    size_t key_len;
    int in_value;
};

/* A growable byte buffer. Decoded text is never longer than the input it
 * came from, so the input length bounds it. */
struct toml_buf {
    char *p;
    size_t len, cap;
};

/* Returns byte pos+k of the input, or -1 past the end. */
static inline int toml_peek(const struct toml_parser *p, size_t k)
{
    return p->pos + k < p->len ? (unsigned char)p->src[p->pos + k] : -1;
}

/* Consumes n bytes, keeping line and column up to date. */
void toml_advance(struct toml_parser *p, size_t n);

/* Writes "FILE:LINE:COL: message" for the first error only and returns
 * code (AMATERS_EPARSE or AMATERS_ENOMEM). While a value is read the key
 * it belongs to follows the position: "FILE:LINE:COL: KEY: message". */
int toml_error(struct toml_parser *p, int code, int line, int col,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Reports out of memory at the cursor; returns AMATERS_ENOMEM. */
int toml_nomem(struct toml_parser *p);

/* Appends n bytes to b; returns 0 or AMATERS_ENOMEM. */
int toml_buf_put(struct toml_buf *b, const void *data, size_t n);

/* Appends the UTF-8 encoding of the scalar value cp; 0 or AMATERS_ENOMEM. */
int toml_buf_put_utf8(struct toml_buf *b, unsigned long cp);

/* True for a space or a tab. */
static inline int toml_is_ws(int c)
{
    return c == ' ' || c == '\t';
}

/* True when a newline (LF or CRLF) starts at the cursor. */
static inline int toml_at_newline(const struct toml_parser *p)
{
    return toml_peek(p, 0) == '\n' ||
           (toml_peek(p, 0) == '\r' && toml_peek(p, 1) == '\n');
}

/* Allocates a value of type at line:col (other fields zero); NULL on
 * out of memory. The caller owns it. */
struct amaters_toml_value *toml_value_new(enum amaters_toml_type type,
                                          int line, int col);

/* Returns the value under key[0..len) in table, or NULL. */
struct amaters_toml_value *toml_table_find(const struct amaters_toml_value *t,
                                           const char *key, size_t len);

/* Adds key -> v to table t (key copied; v owned by t on success only).
 * The key must not be present. Returns 0 or AMATERS_ENOMEM. */
int toml_table_add(struct amaters_toml_value *t, const char *key, size_t len,
                   struct amaters_toml_value *v);

/* Appends v to array a (owned by a on success only); 0 or AMATERS_ENOMEM. */
int toml_array_push(struct amaters_toml_value *a,
                    struct amaters_toml_value *v);

/* Skips spaces and tabs. */
void toml_skip_ws(struct toml_parser *p);

/* Reports nesting beyond AMATERS_TOML_MAX_DEPTH; returns AMATERS_EPARSE. */
int toml_too_deep(struct toml_parser *p, int line, int col);

/* Reads any value at the cursor; depth is the depth the value would have
 * in the tree (containers deeper than AMATERS_TOML_MAX_DEPTH are refused).
 * On success *out is a new value owned by the caller. */
int toml_parse_value(struct toml_parser *p, int depth,
                     struct amaters_toml_value **out);

/* Reads a [table] or [[array of tables]] header (cursor on '[') and makes
 * its table current (toml_table.c). */
int toml_parse_header(struct toml_parser *p);

/* Reads "key = value" and adds it below table t, which is at depth
 * (toml_table.c). */
int toml_parse_keyval(struct toml_parser *p, struct amaters_toml_value *t,
                      int depth);

/*
 * Scalar readers (toml_scalar.c). Each starts at the cursor, consumes the
 * scalar and on success stores a new value (owned by the caller) in *out.
 * On failure they report through toml_error() and return its code.
 */

/* Reads any of the four string forms into b (b->len bytes, also
 * NUL-terminated). multiline_ok is 0 for keys. */
int toml_read_string(struct toml_parser *p, struct toml_buf *b,
                     int multiline_ok);

/* Reads a number, boolean, inf/nan or date/time. */
int toml_read_bare_scalar(struct toml_parser *p,
                          struct amaters_toml_value **out);

#endif
