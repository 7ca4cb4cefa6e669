/*
 * toml_scalar.c - reading TOML scalars: the four string forms with their
 * escapes, integers in four bases, floats, booleans and the four date/time
 * types.
 *
 * Bare scalars (everything but strings) are first cut out as one token of
 * the characters they may contain, then the token is checked against the
 * grammar as a whole; errors point at the token's first character. Floats
 * are converted with strtod(), which assumes the "C" numeric locale (the
 * server never calls setlocale()).
 */
#include "config/toml_internal.h"

#include "core/alloc.h"
#include "core/errors.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* 1 when the last part of the key being read names a secret (secret,
 * password, token): its malformed value must not be echoed (a mistyped
 * secret would end up in a terminal or a log). */
static int key_is_secret(const struct toml_parser *p)
{
    static const char *const words[] = {"secret", "password", "token"};
    const char *last = strrchr(p->key, '.');

    last = last != NULL ? last + 1 : p->key;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (p->in_value > 0 && strcasestr(last, words[i]) != NULL)
            return 1;
    return 0;
}

#define SHOW_MAX 40 /* longest token quoted in a message */

int toml_buf_put(struct toml_buf *b, const void *data, size_t n)
{
    size_t cap;
    char *q;

    if (b->len + n + 1 > b->cap) {
        cap = b->cap ? b->cap : 32;
        while (cap < b->len + n + 1)
            cap *= 2;
        q = amaters_realloc(b->p, cap);
        if (q == NULL)
            return AMATERS_ENOMEM;
        b->p = q;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int toml_buf_put_utf8(struct toml_buf *b, unsigned long cp)
{
    unsigned char u[4];
    size_t n;

    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | (cp >> 6));
        u[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | (cp >> 12));
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (unsigned char)(0xF0 | (cp >> 18));
        u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return toml_buf_put(b, u, n);
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int is_control(int c)
{
    return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7F;
}

/* Reads the n hex digits of a \u or \U escape (cursor after the letter). */
static int read_unicode_escape(struct toml_parser *p, struct toml_buf *b,
                               int n, int line, int col)
{
    unsigned long cp = 0;
    int i, d;

    for (i = 0; i < n; i++) {
        d = hex_value(toml_peek(p, (size_t)i));
        if (d < 0)
            return toml_error(p, AMATERS_EPARSE, line, col,
                              "\\%c escape needs %d hex digits",
                              n == 4 ? 'u' : 'U', n);
        cp = cp * 16 + (unsigned long)d;
    }
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        return toml_error(p, AMATERS_EPARSE, line, col,
                          "escape \\%c%.*s is not a Unicode scalar value",
                          n == 4 ? 'u' : 'U', key_is_secret(p) ? 0 : n,
                          p->src + p->pos);
    toml_advance(p, (size_t)n);
    if (toml_buf_put_utf8(b, cp) != 0)
        return toml_nomem(p);
    return 0;
}

/* A backslash at the end of a line in a multi-line basic string: skips
 * the newline and all whitespace and newlines after it. The cursor is on
 * the first character after the backslash. */
static int read_line_ending_backslash(struct toml_parser *p, int line,
                                      int col)
{
    size_t k = 0;

    while (toml_is_ws(toml_peek(p, k)))
        k++;
    if (toml_peek(p, k) != '\n' &&
        !(toml_peek(p, k) == '\r' && toml_peek(p, k + 1) == '\n'))
        return toml_error(p, AMATERS_EPARSE, line, col,
                          "invalid escape sequence '\\ '");
    for (;;) {
        if (toml_is_ws(toml_peek(p, 0)) || toml_peek(p, 0) == '\n')
            toml_advance(p, 1);
        else if (toml_peek(p, 0) == '\r' && toml_peek(p, 1) == '\n')
            toml_advance(p, 2);
        else
            return 0;
    }
}

/* Reads one escape sequence; the cursor is on the backslash. */
static int read_escape(struct toml_parser *p, struct toml_buf *b, int ml)
{
    int line = p->line, col = p->col;
    int e = toml_peek(p, 1);
    const char *map = "b\bt\tn\nf\fr\r\"\"\\\\";
    const char *m;

    toml_advance(p, 1);
    if (e == 'u' || e == 'U') {
        toml_advance(p, 1);
        return read_unicode_escape(p, b, e == 'u' ? 4 : 8, line, col);
    }
    if (ml && (toml_is_ws(e) || e == '\n' || e == '\r'))
        return read_line_ending_backslash(p, line, col);
    for (m = map; e > 0 && *m != '\0'; m += 2) {
        if (*m == e) {
            toml_advance(p, 1);
            if (toml_buf_put(b, m + 1, 1) != 0)
                return toml_nomem(p);
            return 0;
        }
    }
    if (e > 0x20 && e < 0x7F && !key_is_secret(p))
        return toml_error(p, AMATERS_EPARSE, line, col,
                          "invalid escape sequence '\\%c'", e);
    return toml_error(p, AMATERS_EPARSE, line, col,
                      "invalid escape sequence");
}

/* Handles a quote character inside a string. Returns 1 when the string
 * ended, 0 to go on, or a negative error. */
static int read_quote(struct toml_parser *p, struct toml_buf *b, int ml)
{
    int q = toml_peek(p, 0);
    size_t n = 0;

    if (!ml) {
        toml_advance(p, 1);
        return 1;
    }
    while (toml_peek(p, n) == q)
        n++;
    if (n > 5)
        return toml_error(p, AMATERS_EPARSE, p->line, p->col,
                          "too many quotes at the end of a string");
    if (n >= 3) {
        if (toml_buf_put(b, p->src + p->pos, n - 3) != 0)
            return toml_nomem(p);
        toml_advance(p, n);
        return 1;
    }
    if (toml_buf_put(b, p->src + p->pos, n) != 0)
        return toml_nomem(p);
    toml_advance(p, n);
    return 0;
}

/* Copies the run of ordinary characters at the cursor. */
static int read_plain_run(struct toml_parser *p, struct toml_buf *b, int q)
{
    size_t n = 0;
    int c;

    for (;;) {
        c = toml_peek(p, n);
        if (c < 0 || c == q || (c == '\\' && q == '"') || c == '\n' ||
            c == '\r' || is_control(c))
            break;
        n++;
    }
    if (toml_buf_put(b, p->src + p->pos, n) != 0)
        return toml_nomem(p);
    toml_advance(p, n);
    return 0;
}

/* Handles a newline, CR or control character inside a string. */
static int read_special(struct toml_parser *p, struct toml_buf *b, int ml,
                        int line, int col)
{
    int c = toml_peek(p, 0);

    if (c == '\n' || (c == '\r' && toml_peek(p, 1) == '\n')) {
        if (!ml)
            return toml_error(p, AMATERS_EPARSE, line, col,
                              "unterminated string");
        toml_advance(p, c == '\r' ? 2 : 1);
        if (toml_buf_put(b, "\n", 1) != 0)
            return toml_nomem(p);
        return 0;
    }
    return toml_error(p, AMATERS_EPARSE, p->line, p->col,
                      "control character U+%04X must be escaped", c);
}

int toml_read_string(struct toml_parser *p, struct toml_buf *b,
                     int multiline_ok)
{
    int line = p->line, col = p->col;
    int q = toml_peek(p, 0);
    int ml = toml_peek(p, 1) == q && toml_peek(p, 2) == q;
    int rv = 0, c;

    b->len = 0;
    if (toml_buf_put(b, "", 0) != 0)
        return toml_nomem(p);
    if (ml && !multiline_ok)
        return toml_error(p, AMATERS_EPARSE, line, col,
                          "a key cannot be a multi-line string");
    toml_advance(p, ml ? 3 : 1);
    if (ml && toml_at_newline(p))
        toml_advance(p, toml_peek(p, 0) == '\r' ? 2 : 1);
    while (rv == 0) {
        c = toml_peek(p, 0);
        if (c < 0)
            return toml_error(p, AMATERS_EPARSE, line, col,
                              "unterminated string");
        if (c == q)
            rv = read_quote(p, b, ml);
        else if (c == '\\' && q == '"')
            rv = read_escape(p, b, ml);
        else if (c == '\n' || c == '\r' || is_control(c))
            rv = read_special(p, b, ml, line, col);
        else
            rv = read_plain_run(p, b, q);
    }
    return rv < 0 ? rv : 0;
}

/* ---- bare scalars ---- */

static int is_token_char(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || c == '_' || c == '+' || c == '-' ||
           c == '.' || c == ':';
}

/* Consumes a run of digits (per isdig) with single underscores between
 * digits from s[*i..n). Returns the number of digits consumed. */
static size_t digit_run(const char *s, size_t n, size_t *i,
                        int (*isdig)(int))
{
    size_t digits = 0;

    while (*i < n) {
        if (isdig((unsigned char)s[*i])) {
            digits++;
            (*i)++;
        } else if (s[*i] == '_' && digits > 0 && *i + 1 < n &&
                   isdig((unsigned char)s[*i + 1])) {
            (*i)++;
        } else {
            break;
        }
    }
    return digits;
}

static int is_hex(int c)
{
    return hex_value(c) >= 0;
}

static int is_oct(int c)
{
    return c >= '0' && c <= '7';
}

static int is_bin(int c)
{
    return c == '0' || c == '1';
}

struct token {
    const char *s;
    size_t n;
    int line, col;
};

static int bad_token(struct toml_parser *p, const struct token *t,
                     const char *what)
{
    if (key_is_secret(p))
        return toml_error(p, AMATERS_EPARSE, t->line, t->col, "%s (not "
                          "shown: the key holds a secret; quote it as a "
                          "string)", what);
    return toml_error(p, AMATERS_EPARSE, t->line, t->col, "%s '%.*s%s'",
                      what, (int)(t->n > SHOW_MAX ? SHOW_MAX : t->n), t->s,
                      t->n > SHOW_MAX ? "..." : "");
}

static int new_scalar(struct toml_parser *p, const struct token *t,
                      enum amaters_toml_type type,
                      struct amaters_toml_value **out)
{
    *out = toml_value_new(type, t->line, t->col);
    return *out == NULL ? toml_nomem(p) : 0;
}

/* 0x / 0o / 0b integers; s points after the prefix. */
static int read_radix(struct toml_parser *p, const struct token *t,
                      const char *s, size_t n, struct amaters_toml_value **out)
{
    int base = t->s[1] == 'x' ? 16 : t->s[1] == 'o' ? 8 : 2;
    int (*isdig)(int) = base == 16 ? is_hex : base == 8 ? is_oct : is_bin;
    int64_t v = 0;
    size_t i = 0;
    int d;

    if (digit_run(s, n, &i, isdig) == 0 || i != n)
        return bad_token(p, t, "invalid integer");
    for (i = 0; i < n; i++) {
        if (s[i] == '_')
            continue;
        d = hex_value((unsigned char)s[i]);
        if (v > (INT64_MAX - d) / base)
            return bad_token(p, t, "integer out of 64-bit range");
        v = v * base + d;
    }
    if (new_scalar(p, t, AMATERS_TOML_INTEGER, out) != 0)
        return AMATERS_ENOMEM;
    (*out)->u.integer = v;
    return 0;
}

static int read_decimal_int(struct toml_parser *p, const struct token *t,
                            const char *s, size_t n, int neg,
                            struct amaters_toml_value **out)
{
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t v = 0;
    unsigned d;
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] == '_')
            continue;
        d = (unsigned)(s[i] - '0');
        if (v > (limit - d) / 10)
            return bad_token(p, t, "integer out of 64-bit range");
        v = v * 10 + d;
    }
    if (new_scalar(p, t, AMATERS_TOML_INTEGER, out) != 0)
        return AMATERS_ENOMEM;
    (*out)->u.integer = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static int read_float(struct toml_parser *p, const struct token *t,
                      struct amaters_toml_value **out)
{
    char *copy = amaters_malloc(t->n + 1);
    size_t i, k = 0;
    char *end;
    double d;
    int rv = 0;

    if (copy == NULL)
        return toml_nomem(p);
    for (i = 0; i < t->n; i++) {
        if (t->s[i] != '_')
            copy[k++] = t->s[i];
    }
    copy[k] = '\0';
    errno = 0;
    d = strtod(copy, &end);
    if (*end != '\0') {
        rv = bad_token(p, t, "invalid float");
        goto out;
    }
    if (errno == ERANGE && isinf(d)) {
        rv = bad_token(p, t, "float out of range");
        goto out;
    }
    rv = new_scalar(p, t, AMATERS_TOML_FLOAT, out);
    if (rv == 0)
        (*out)->u.floating = d;
out:
    amaters_free(copy);
    return rv;
}

static int read_number(struct toml_parser *p, const struct token *t,
                       struct amaters_toml_value **out)
{
    int has_sign = t->s[0] == '+' || t->s[0] == '-';
    int neg = t->s[0] == '-';
    const char *s = t->s + has_sign;
    size_t n = t->n - (size_t)has_sign, i = 0, intlen;
    int is_float = 0;

    if (n == 3 && (memcmp(s, "inf", 3) == 0 || memcmp(s, "nan", 3) == 0)) {
        if (new_scalar(p, t, AMATERS_TOML_FLOAT, out) != 0)
            return AMATERS_ENOMEM;
        (*out)->u.floating = s[0] == 'i' ? INFINITY : NAN;
        if (neg)
            (*out)->u.floating = -(*out)->u.floating;
        return 0;
    }
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b')) {
        if (has_sign)
            return bad_token(p, t, "sign not allowed on a prefixed integer");
        return read_radix(p, t, s + 2, n - 2, out);
    }
    if (digit_run(s, n, &i, is_digit) == 0)
        return bad_token(p, t, "invalid value");
    intlen = i;
    if (intlen > 1 && s[0] == '0')
        return bad_token(p, t, "leading zero not allowed in");
    if (i < n && s[i] == '.') {
        i++;
        is_float = 1;
        if (digit_run(s, n, &i, is_digit) == 0)
            return bad_token(p, t, "invalid float");
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        is_float = 1;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (digit_run(s, n, &i, is_digit) == 0)
            return bad_token(p, t, "invalid float");
    }
    if (i != n)
        return bad_token(p, t, "invalid value");
    if (is_float)
        return read_float(p, t, out);
    return read_decimal_int(p, t, s, n, neg, out);
}

/* ---- dates and times ---- */

/* Reads exactly count digits at s[*i]; returns -1 when they are not. */
static int fixed_digits(const char *s, size_t n, size_t *i, int count)
{
    int v = 0, k;

    if (*i + (size_t)count > n)
        return -1;
    for (k = 0; k < count; k++) {
        if (!is_digit((unsigned char)s[*i + (size_t)k]))
            return -1;
        v = v * 10 + (s[*i + (size_t)k] - '0');
    }
    *i += (size_t)count;
    return v;
}

static int expect_char(const char *s, size_t n, size_t *i, char c)
{
    if (*i >= n || s[*i] != c)
        return -1;
    (*i)++;
    return 0;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30,
                               31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return month == 2 && leap ? 29 : days[month - 1];
}

static int read_date(const char *s, size_t n, size_t *i,
                     struct amaters_toml_datetime *dt)
{
    dt->year = fixed_digits(s, n, i, 4);
    if (dt->year < 0 || expect_char(s, n, i, '-') != 0)
        return -1;
    dt->month = fixed_digits(s, n, i, 2);
    if (dt->month < 1 || dt->month > 12 || expect_char(s, n, i, '-') != 0)
        return -1;
    dt->day = fixed_digits(s, n, i, 2);
    if (dt->day < 1 || dt->day > days_in_month(dt->year, dt->month))
        return -1;
    return 0;
}

static int read_time(const char *s, size_t n, size_t *i,
                     struct amaters_toml_datetime *dt)
{
    int digits = 0;

    dt->hour = fixed_digits(s, n, i, 2);
    if (dt->hour < 0 || dt->hour > 23 || expect_char(s, n, i, ':') != 0)
        return -1;
    dt->minute = fixed_digits(s, n, i, 2);
    if (dt->minute < 0 || dt->minute > 59 || expect_char(s, n, i, ':') != 0)
        return -1;
    dt->second = fixed_digits(s, n, i, 2);
    if (dt->second < 0 || dt->second > 60)
        return -1;
    if (*i < n && s[*i] == '.') {
        (*i)++;
        while (*i < n && is_digit((unsigned char)s[*i])) {
            if (digits++ < 9)
                dt->nanosecond = dt->nanosecond * 10 + (s[*i] - '0');
            (*i)++;
        }
        if (digits == 0)
            return -1;
        for (; digits < 9; digits++)
            dt->nanosecond *= 10;
    }
    return 0;
}

static int read_offset(const char *s, size_t n, size_t *i,
                       struct amaters_toml_datetime *dt)
{
    int sign, h, m;

    if (*i < n && (s[*i] == 'Z' || s[*i] == 'z')) {
        (*i)++;
        return 0;
    }
    if (*i >= n || (s[*i] != '+' && s[*i] != '-'))
        return -1;
    sign = s[*i] == '-' ? -1 : 1;
    (*i)++;
    h = fixed_digits(s, n, i, 2);
    if (h < 0 || h > 23 || expect_char(s, n, i, ':') != 0)
        return -1;
    m = fixed_digits(s, n, i, 2);
    if (m < 0 || m > 59)
        return -1;
    dt->offset_minutes = sign * (h * 60 + m);
    return 0;
}

/* Classifies and reads a token that starts like a date or a time. */
static int read_datetime(struct toml_parser *p, const struct token *t,
                         struct amaters_toml_value **out)
{
    struct amaters_toml_datetime dt;
    enum amaters_toml_type type;
    size_t i = 0;
    int bad;

    memset(&dt, 0, sizeof(dt));
    if (t->n > 2 && t->s[2] == ':') {
        type = AMATERS_TOML_LOCAL_TIME;
        bad = read_time(t->s, t->n, &i, &dt);
    } else {
        type = AMATERS_TOML_LOCAL_DATE;
        bad = read_date(t->s, t->n, &i, &dt);
        if (bad == 0 && i < t->n) {
            type = AMATERS_TOML_LOCAL_DATETIME;
            bad = strchr("Tt ", t->s[i]) == NULL ? -1 : 0;
            i++;
            if (bad == 0)
                bad = read_time(t->s, t->n, &i, &dt);
        }
        if (bad == 0 && i < t->n) {
            type = AMATERS_TOML_OFFSET_DATETIME;
            bad = read_offset(t->s, t->n, &i, &dt);
        }
    }
    if (bad != 0 || i != t->n)
        return bad_token(p, t, "invalid date-time");
    if (new_scalar(p, t, type, out) != 0)
        return AMATERS_ENOMEM;
    (*out)->u.datetime = dt;
    return 0;
}

/* Cuts the token at the cursor; a date followed by " HH:" takes the space
 * and the time with it. */
static void cut_token(struct toml_parser *p, struct token *t)
{
    size_t n = 0;

    t->s = p->src + p->pos;
    t->line = p->line;
    t->col = p->col;
    while (is_token_char(toml_peek(p, n)))
        n++;
    if (n == 10 && t->s[4] == '-' && t->s[7] == '-' &&
        toml_peek(p, n) == ' ' && is_digit(toml_peek(p, n + 1)) &&
        is_digit(toml_peek(p, n + 2)) && toml_peek(p, n + 3) == ':') {
        n++;
        while (is_token_char(toml_peek(p, n)))
            n++;
    }
    t->n = n;
    toml_advance(p, n);
}

/* True for "DDDD-..." (a date) and "DD:..." (a time). */
static int looks_like_datetime(const struct token *t)
{
    size_t k, digits = 0;

    for (k = 0; k < t->n && is_digit((unsigned char)t->s[k]); k++)
        digits++;
    return (digits == 4 && k < t->n && t->s[k] == '-') ||
           (digits == 2 && k < t->n && t->s[k] == ':');
}

int toml_read_bare_scalar(struct toml_parser *p,
                          struct amaters_toml_value **out)
{
    struct token t;
    int is_bool;

    *out = NULL;
    cut_token(p, &t);
    if (t.n == 0)
        return toml_error(p, AMATERS_EPARSE, t.line, t.col,
                          "expected a value");
    is_bool = (t.n == 4 && memcmp(t.s, "true", 4) == 0) ||
              (t.n == 5 && memcmp(t.s, "false", 5) == 0);
    if (is_bool) {
        if (new_scalar(p, &t, AMATERS_TOML_BOOLEAN, out) != 0)
            return AMATERS_ENOMEM;
        (*out)->u.boolean = t.n == 4;
        return 0;
    }
    if (looks_like_datetime(&t))
        return read_datetime(p, &t, out);
    return read_number(p, &t, out);
}
