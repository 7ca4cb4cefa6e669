/*
 * textbuf.c - growable text buffer with a cap, a sticky error and the two
 * escapers (JSON strings and single-line log text) shared by obs/.
 */
#include "obs/textbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/errors.h"

/* Keeps the doubling in reserve() free of overflow. */
#define TB_MAX_LIMIT (SIZE_MAX / 4)

void obs_tb_init(struct obs_textbuf *tb, size_t limit)
{
    memset(tb, 0, sizeof *tb);
    tb->limit = limit < TB_MAX_LIMIT ? limit : TB_MAX_LIMIT;
}

void obs_tb_init_fixed(struct obs_textbuf *tb, char *stack, size_t size,
                       size_t limit, bool truncate)
{
    memset(tb, 0, sizeof *tb);
    tb->data = stack;
    tb->cap = size;
    tb->limit = limit < TB_MAX_LIMIT ? limit : TB_MAX_LIMIT;
    tb->truncate = truncate;
    stack[0] = '\0';
}

/* Makes room for need more bytes plus the NUL. Returns how many of the
 * need bytes may be written (less than need only in truncate mode). */
static size_t reserve(struct obs_textbuf *tb, size_t need)
{
    size_t room = need;
    size_t want;
    size_t newcap;
    char *p;

    if (tb->err)
        return 0;
    if (need > tb->limit - tb->len) {
        if (!tb->truncate) {
            tb->err = AMATERS_ETOOBIG;
            return 0;
        }
        room = tb->limit - tb->len;
        tb->truncated = true;
    }
    want = tb->len + room + 1;
    if (want <= tb->cap)
        return room;
    newcap = tb->cap ? tb->cap : 256;
    while (newcap < want)
        newcap = newcap > tb->limit / 2 ? tb->limit + 1 : newcap * 2;
    if (tb->heap) {
        p = amaters_realloc(tb->data, newcap);
    } else {
        p = amaters_malloc(newcap);
        if (p != NULL && tb->len)
            memcpy(p, tb->data, tb->len);
    }
    if (p == NULL) {
        tb->err = AMATERS_ENOMEM;
        return 0;
    }
    tb->data = p;
    tb->cap = newcap;
    tb->heap = true;
    return room;
}

void obs_tb_append(struct obs_textbuf *tb, const char *s, size_t n)
{
    size_t room = reserve(tb, n);

    if (room == 0)
        return;
    memcpy(tb->data + tb->len, s, room);
    tb->len += room;
    tb->data[tb->len] = '\0';
}

void obs_tb_puts(struct obs_textbuf *tb, const char *s)
{
    obs_tb_append(tb, s, strlen(s));
}

void obs_tb_putc(struct obs_textbuf *tb, char c)
{
    obs_tb_append(tb, &c, 1);
}

void obs_tb_vprintf(struct obs_textbuf *tb, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;
    size_t room;

    if (tb->err)
        return;
    va_copy(ap2, ap);
    n = vsnprintf(tb->cap ? tb->data + tb->len : NULL,
                  tb->cap ? tb->cap - tb->len : 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        tb->err = AMATERS_EINVAL;
        return;
    }
    if (tb->cap && (size_t)n < tb->cap - tb->len
        && (size_t)n <= tb->limit - tb->len) {
        tb->len += (size_t)n;
        return;
    }
    if (tb->cap)
        tb->data[tb->len] = '\0';
    room = reserve(tb, (size_t)n);
    if (room == 0)
        return;
    va_copy(ap2, ap);
    vsnprintf(tb->data + tb->len, room + 1, fmt, ap2);
    va_end(ap2);
    tb->len += room;
    tb->data[tb->len] = '\0';
}

void obs_tb_printf(struct obs_textbuf *tb, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    obs_tb_vprintf(tb, fmt, ap);
    va_end(ap);
}

size_t obs_utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4;
    else
        return 0;
    if (n < len)
        return 0;
    /* Second-byte bounds exclude overlongs, surrogates and > U+10FFFF. */
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    }
    return len;
}

void obs_tb_json_string(struct obs_textbuf *tb, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t n;

    if (s == NULL) {
        obs_tb_puts(tb, "null");
        return;
    }
    n = strlen(s);
    obs_tb_putc(tb, '"');
    while (n > 0 && tb->err == 0) {
        size_t run = 0;
        size_t seq;

        /* Copy the longest run of bytes that need no escaping at once. */
        while (run < n && p[run] >= 0x20 && p[run] < 0x7F && p[run] != '"'
               && p[run] != '\\')
            run++;
        if (run > 0) {
            obs_tb_append(tb, (const char *)p, run);
            p += run;
            n -= run;
            continue;
        }
        switch (*p) {
        case '"': obs_tb_puts(tb, "\\\""); seq = 1; break;
        case '\\': obs_tb_puts(tb, "\\\\"); seq = 1; break;
        case '\n': obs_tb_puts(tb, "\\n"); seq = 1; break;
        case '\r': obs_tb_puts(tb, "\\r"); seq = 1; break;
        case '\t': obs_tb_puts(tb, "\\t"); seq = 1; break;
        case '\b': obs_tb_puts(tb, "\\b"); seq = 1; break;
        case '\f': obs_tb_puts(tb, "\\f"); seq = 1; break;
        default:
            if (*p < 0x20 || *p == 0x7F) {
                char esc[7] = {'\\', 'u', '0', '0', hex[*p >> 4],
                               hex[*p & 15], 0};
                obs_tb_append(tb, esc, 6);
                seq = 1;
                break;
            }
            seq = obs_utf8_seq_len(p, n);
            if (seq == 0) {
                obs_tb_puts(tb, "\\ufffd");
                seq = 1;
            } else {
                obs_tb_append(tb, (const char *)p, seq);
            }
            break;
        }
        p += seq;
        n -= seq;
    }
    obs_tb_putc(tb, '"');
}

static void text_hex(struct obs_textbuf *tb, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};

    obs_tb_append(tb, esc, 4);
}

void obs_tb_text_escaped(struct obs_textbuf *tb, const char *s, bool quote)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);

    if (quote)
        obs_tb_putc(tb, '"');
    while (n > 0 && tb->err == 0) {
        size_t seq = 1;

        if (*p == '\n') {
            obs_tb_puts(tb, "\\n");
        } else if (*p == '\r') {
            obs_tb_puts(tb, "\\r");
        } else if (*p == '\t') {
            obs_tb_puts(tb, "\\t");
        } else if (*p < 0x20 || *p == 0x7F) {
            text_hex(tb, *p);
        } else if (quote && (*p == '"' || *p == '\\')) {
            obs_tb_putc(tb, '\\');
            obs_tb_putc(tb, (char)*p);
        } else if (*p < 0x80) {
            obs_tb_putc(tb, (char)*p);
        } else {
            seq = obs_utf8_seq_len(p, n);
            if (seq == 0) {
                text_hex(tb, *p);
                seq = 1;
            } else {
                obs_tb_append(tb, (const char *)p, seq);
            }
        }
        p += seq;
        n -= seq;
    }
    if (quote)
        obs_tb_putc(tb, '"');
}

int obs_tb_take(struct obs_textbuf *tb, char **out, size_t *len)
{
    int rv = tb->err;

    *out = NULL;
    *len = 0;
    if (rv != 0)
        goto fail;
    if (!tb->heap || tb->data == NULL) {
        *out = amaters_memdup(tb->data ? tb->data : "", tb->len);
        if (*out == NULL) {
            rv = AMATERS_ENOMEM;
            goto fail;
        }
        *len = tb->len;
        tb->len = 0;
        if (tb->data)
            tb->data[0] = '\0';
        return 0;
    }
    *out = tb->data;
    *len = tb->len;
    tb->data = NULL;
    tb->len = 0;
    tb->cap = 0;
    tb->heap = false;
    return 0;
fail:
    obs_tb_free(tb);
    return rv;
}

void obs_tb_free(struct obs_textbuf *tb)
{
    if (tb->heap) {
        amaters_free(tb->data);
        tb->data = NULL;
        tb->cap = 0;
    } else if (tb->data != NULL) {
        tb->data[0] = '\0';
    }
    tb->heap = false;
    tb->len = 0;
}
