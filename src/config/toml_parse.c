/*
 * toml_parse.c - the TOML document: input checks (UTF-8), whitespace,
 * comments and line ends, values (strings, arrays, inline tables and bare
 * scalars), the top-level loop, and the public entry points.
 *
 * Keys, headers and the definition rules live in toml_table.c; scalars in
 * toml_scalar.c.
 */
#include "config/toml_internal.h"

#include "core/alloc.h"
#include "core/errors.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- cursor and errors ---- */

void toml_advance(struct toml_parser *p, size_t n)
{
    unsigned char c;

    while (n-- > 0 && p->pos < p->len) {
        c = (unsigned char)p->src[p->pos++];
        if (c == '\n') {
            p->line++;
            p->col = 1;
        } else if ((c & 0xC0) != 0x80) {
            p->col++;
        }
    }
}

int toml_error(struct toml_parser *p, int code, int line, int col,
               const char *fmt, ...)
{
    va_list ap;
    int n;

    if (p->failed || p->err == NULL || p->errlen == 0) {
        p->failed = 1;
        return code;
    }
    p->failed = 1;
    if (p->in_value > 0 && p->key_len > 0)
        n = snprintf(p->err, p->errlen, "%s:%d:%d: %s: ", p->filename, line,
                     col, p->key);
    else
        n = snprintf(p->err, p->errlen, "%s:%d:%d: ", p->filename, line,
                     col);
    if (n >= 0 && (size_t)n < p->errlen) {
        va_start(ap, fmt);
        vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return code;
}

int toml_nomem(struct toml_parser *p)
{
    return toml_error(p, AMATERS_ENOMEM, p->line, p->col, "out of memory");
}

int toml_too_deep(struct toml_parser *p, int line, int col)
{
    return toml_error(p, AMATERS_EPARSE, line, col,
                      "nesting deeper than %d levels",
                      AMATERS_TOML_MAX_DEPTH);
}

/* Length of the UTF-8 sequence starting at s[0] (n bytes available), or
 * 0 when it is not valid: overlong forms, surrogates and values above
 * U+10FFFF are refused. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char lo = 0x80, hi = 0xBF;
    size_t need, k;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        need = 1;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        need = 2;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        need = 3;
    else
        return 0;
    if (s[0] == 0xE0)
        lo = 0xA0;
    else if (s[0] == 0xED)
        hi = 0x9F;
    else if (s[0] == 0xF0)
        lo = 0x90;
    else if (s[0] == 0xF4)
        hi = 0x8F;
    for (k = 1; k <= need; k++) {
        if (k >= n || s[k] < (k == 1 ? lo : 0x80) ||
            s[k] > (k == 1 ? hi : 0xBF))
            return 0;
    }
    return need + 1;
}

size_t amaters_toml_utf8_prefix(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, n;

    while (i < len) {
        n = utf8_seq_len(u + i, len - i);
        if (n == 0)
            break;
        i += n;
    }
    return i;
}

/* Checks the whole input is UTF-8; reports the first bad byte. */
static int check_utf8(struct toml_parser *p)
{
    size_t ok = amaters_toml_utf8_prefix(p->src, p->len);

    if (ok == p->len)
        return 0;
    toml_advance(p, ok);
    return toml_error(p, AMATERS_EPARSE, p->line, p->col,
                      "invalid UTF-8 byte 0x%02X",
                      (unsigned char)p->src[ok]);
}

/* ---- whitespace, comments, line ends ---- */

void toml_skip_ws(struct toml_parser *p)
{
    while (toml_is_ws(toml_peek(p, 0)))
        toml_advance(p, 1);
}

/* Reads a comment; the cursor is on '#'. Stops before the newline. */
static int read_comment(struct toml_parser *p)
{
    int c;

    for (;;) {
        c = toml_peek(p, 0);
        if (c < 0 || toml_at_newline(p))
            return 0;
        if ((c < 0x20 && c != '\t') || c == 0x7F)
            return toml_error(p, AMATERS_EPARSE, p->line, p->col,
                              "control character U+%04X in comment", c);
        toml_advance(p, 1);
    }
}

/* Skips whitespace, comments and newlines (inside arrays). */
static int skip_ws_comments_newlines(struct toml_parser *p)
{
    int rv;

    for (;;) {
        toml_skip_ws(p);
        if (toml_peek(p, 0) == '#') {
            rv = read_comment(p);
            if (rv != 0)
                return rv;
        } else if (toml_at_newline(p)) {
            toml_advance(p, toml_peek(p, 0) == '\r' ? 2 : 1);
        } else {
            return 0;
        }
    }
}

/* After a key/value pair or a header: whitespace, an optional comment,
 * then a newline or the end of the input. */
static int expect_line_end(struct toml_parser *p, const char *after)
{
    int rv;

    toml_skip_ws(p);
    if (toml_peek(p, 0) == '#') {
        rv = read_comment(p);
        if (rv != 0)
            return rv;
    }
    if (toml_peek(p, 0) < 0)
        return 0;
    if (toml_at_newline(p)) {
        toml_advance(p, toml_peek(p, 0) == '\r' ? 2 : 1);
        return 0;
    }
    return toml_error(p, AMATERS_EPARSE, p->line, p->col,
                      "expected a newline after %s", after);
}

/* ---- values ---- */

static int parse_string_value(struct toml_parser *p,
                              struct amaters_toml_value **out)
{
    struct toml_buf b = {NULL, 0, 0};
    int line = p->line, col = p->col;
    int rv;

    rv = toml_read_string(p, &b, 1);
    if (rv != 0) {
        amaters_free(b.p);
        return rv;
    }
    *out = toml_value_new(AMATERS_TOML_STRING, line, col);
    if (*out == NULL) {
        amaters_free(b.p);
        return toml_nomem(p);
    }
    (*out)->u.string.ptr = b.p;
    (*out)->u.string.len = b.len;
    return 0;
}

/* [ v, v, ... ] with newlines and comments allowed between elements. */
static int parse_array(struct toml_parser *p, int depth,
                       struct amaters_toml_value *arr)
{
    struct amaters_toml_value *v;
    int rv;

    toml_advance(p, 1);
    for (;;) {
        rv = skip_ws_comments_newlines(p);
        if (rv != 0)
            return rv;
        if (toml_peek(p, 0) == ']')
            break;
        rv = toml_parse_value(p, depth + 1, &v);
        if (rv != 0)
            return rv;
        if (toml_array_push(arr, v) != 0) {
            amaters_toml_free(v);
            return toml_nomem(p);
        }
        rv = skip_ws_comments_newlines(p);
        if (rv != 0)
            return rv;
        if (toml_peek(p, 0) == ',') {
            toml_advance(p, 1);
        } else if (toml_peek(p, 0) != ']') {
            return toml_error(p, AMATERS_EPARSE, p->line, p->col,
                              "expected ',' or ']' in array");
        }
    }
    toml_advance(p, 1);
    return 0;
}

/* { k = v, k = v } on one line; no trailing comma. */
static int parse_inline_table(struct toml_parser *p, int depth,
                              struct amaters_toml_value *t)
{
    int saved = p->section;
    int rv = 0;

    p->section = ++p->next_section;
    toml_advance(p, 1);
    toml_skip_ws(p);
    if (toml_peek(p, 0) == '}')
        goto close;
    for (;;) {
        rv = toml_parse_keyval(p, t, depth);
        if (rv != 0)
            goto out;
        toml_skip_ws(p);
        if (toml_peek(p, 0) == '}')
            goto close;
        if (toml_peek(p, 0) != ',') {
            rv = toml_error(p, AMATERS_EPARSE, p->line, p->col,
                            "expected ',' or '}' in inline table "
                            "(inline tables must be on one line)");
            goto out;
        }
        toml_advance(p, 1);
        toml_skip_ws(p);
        if (toml_peek(p, 0) == '}') {
            rv = toml_error(p, AMATERS_EPARSE, p->line, p->col,
                            "trailing comma in inline table");
            goto out;
        }
    }
close:
    toml_advance(p, 1);
    t->flags |= TOML_F_INLINE;
out:
    p->section = saved;
    return rv;
}

static int parse_container(struct toml_parser *p, int depth,
                           struct amaters_toml_value **out)
{
    int is_array = toml_peek(p, 0) == '[';
    int rv;

    if (depth > AMATERS_TOML_MAX_DEPTH)
        return toml_too_deep(p, p->line, p->col);
    *out = toml_value_new(is_array ? AMATERS_TOML_ARRAY : AMATERS_TOML_TABLE,
                          p->line, p->col);
    if (*out == NULL)
        return toml_nomem(p);
    if (is_array)
        rv = parse_array(p, depth, *out);
    else
        rv = parse_inline_table(p, depth, *out);
    if (rv != 0) {
        amaters_toml_free(*out);
        *out = NULL;
    }
    return rv;
}

/* Any value; depth is the depth the value would have in the tree. */
int toml_parse_value(struct toml_parser *p, int depth,
                     struct amaters_toml_value **out)
{
    int c = toml_peek(p, 0);

    *out = NULL;
    if (c == '"' || c == '\'')
        return parse_string_value(p, out);
    if (c == '[' || c == '{')
        return parse_container(p, depth, out);
    if ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == 't' ||
        c == 'f' || c == 'i' || c == 'n')
        return toml_read_bare_scalar(p, out);
    return toml_error(p, AMATERS_EPARSE, p->line, p->col,
                      "expected a value");
}

/* ---- document ---- */

static int parse_document(struct toml_parser *p)
{
    int rv = 0;
    int c;

    if (p->len >= 3 && memcmp(p->src, "\xEF\xBB\xBF", 3) == 0)
        p->pos = 3;
    while (rv == 0 && toml_peek(p, 0) >= 0) {
        toml_skip_ws(p);
        c = toml_peek(p, 0);
        if (c < 0)
            break;
        if (c == '#') {
            rv = read_comment(p);
        } else if (toml_at_newline(p)) {
            toml_advance(p, c == '\r' ? 2 : 1);
        } else if (c == '[') {
            rv = toml_parse_header(p);
            if (rv == 0)
                rv = expect_line_end(p, "the table header");
        } else {
            rv = toml_parse_keyval(p, p->cur, p->cur_depth);
            if (rv == 0)
                rv = expect_line_end(p, "the value");
        }
    }
    return rv;
}

int amaters_toml_parse(const char *text, size_t len, const char *filename,
                       struct amaters_toml_value **root, char *err,
                       size_t errlen)
{
    struct toml_parser p;
    int rv;

    memset(&p, 0, sizeof(p));
    p.src = text != NULL ? text : "";
    p.len = text != NULL ? len : 0;
    p.line = p.col = 1;
    p.filename = filename != NULL ? filename : "<string>";
    p.err = err;
    p.errlen = errlen;
    p.section = p.next_section = 1;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    *root = NULL;
    p.root = toml_value_new(AMATERS_TOML_TABLE, 1, 1);
    if (p.root == NULL)
        return toml_nomem(&p);
    p.cur = p.root;
    rv = check_utf8(&p);
    if (rv == 0)
        rv = parse_document(&p);
    if (rv != 0) {
        amaters_toml_free(p.root);
        return rv;
    }
    *root = p.root;
    return 0;
}

/* Reads the whole stream into a new buffer (owned by the caller). */
static int read_stream(FILE *f, char **text, size_t *len)
{
    size_t cap = 4096, n = 0, got;
    char *buf = amaters_malloc(cap), *q;
    int rv = 0;

    if (buf == NULL)
        return AMATERS_ENOMEM;
    for (;;) {
        if (n > AMATERS_TOML_MAX_FILE) {
            rv = AMATERS_ETOOBIG;
            goto fail;
        }
        if (n == cap) {
            q = amaters_realloc(buf, cap * 2);
            if (q == NULL) {
                rv = AMATERS_ENOMEM;
                goto fail;
            }
            buf = q;
            cap *= 2;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        rv = AMATERS_EIO;
        goto fail;
    }
    *text = buf;
    *len = n;
    return 0;
fail:
    amaters_free(buf);
    return rv;
}

int amaters_toml_parse_file(const char *path,
                            struct amaters_toml_value **root, char *err,
                            size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f;
    int rv;

    *root = NULL;
    f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return AMATERS_EIO;
    }
    errno = 0;
    rv = read_stream(f, &text, &len);
    if (rv == AMATERS_EIO)
        snprintf(err, errlen, "%s: cannot read: %s", path,
                 strerror(errno ? errno : EIO));
    else if (rv == AMATERS_ETOOBIG)
        snprintf(err, errlen, "%s: file larger than %u bytes", path,
                 AMATERS_TOML_MAX_FILE);
    else if (rv != 0)
        snprintf(err, errlen, "%s: out of memory", path);
    fclose(f);
    if (rv == 0)
        rv = amaters_toml_parse(text, len, path, root, err, errlen);
    if (text != NULL)
        amaters_free_secret(text, len);
    return rv;
}
