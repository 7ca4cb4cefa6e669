/*
 * textbuf.h - a growable text buffer with a hard size cap and a sticky
 * error, private to src/obs/.
 *
 * The log line builder, the Prometheus renderer and the health JSON writer
 * all append many small pieces; with a sticky error they check once at the
 * end instead of after every append (curl's dynbuf idea). A buffer may start
 * in caller-provided storage (a stack array on the logging hot path) and
 * moves to the heap (amaters_malloc) only when it outgrows it.
 *
 * Threads: a buffer belongs to one thread at a time; no locking inside.
 */
#ifndef AMATERS_OBS_TEXTBUF_H
#define AMATERS_OBS_TEXTBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct obs_textbuf {
    char *data;     /* NUL-terminated while err == 0 */
    size_t len;     /* bytes used, excluding the NUL */
    size_t cap;     /* bytes available in data */
    size_t limit;   /* hard cap on len */
    bool heap;      /* data was allocated by us (else caller storage) */
    bool truncate;  /* on hitting limit: keep a prefix instead of failing */
    bool truncated; /* set when truncate mode dropped bytes */
    int err;        /* first error (AMATERS_ENOMEM / AMATERS_ETOOBIG) */
};

/* Initialises an empty heap-backed buffer whose length may not exceed
 * limit bytes. Allocates nothing until the first append. */
void obs_tb_init(struct obs_textbuf *tb, size_t limit);

/* Initialises a buffer over caller storage stack[size] (size >= 1); it
 * moves to the heap if it outgrows that storage. If truncate is true,
 * appends beyond limit keep what fits and set tb->truncated instead of
 * failing. */
void obs_tb_init_fixed(struct obs_textbuf *tb, char *stack, size_t size,
                       size_t limit, bool truncate);

/* Appends n bytes of s. On failure sets tb->err (sticky); later appends
 * are ignored. */
void obs_tb_append(struct obs_textbuf *tb, const char *s, size_t n);

/* Appends the NUL-terminated string s. */
void obs_tb_puts(struct obs_textbuf *tb, const char *s);

/* Appends one byte. */
void obs_tb_putc(struct obs_textbuf *tb, char c);

/* Appends printf-formatted text. */
void obs_tb_printf(struct obs_textbuf *tb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends vprintf-formatted text. */
void obs_tb_vprintf(struct obs_textbuf *tb, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Appends s (NUL-terminated) as a JSON string literal with the quotes:
 * '"', '\\' and control characters escaped, invalid UTF-8 replaced by
 * U+FFFD so the result is always valid JSON. NULL appends null. */
void obs_tb_json_string(struct obs_textbuf *tb, const char *s);

/* Appends s (NUL-terminated) for a single-line text log: control
 * characters become \n, \r, \t or \xNN and invalid UTF-8 bytes become
 * \xNN, so the result is one line of valid UTF-8. When quote is true the
 * result is wrapped in double quotes and '"' and '\\' are escaped too. */
void obs_tb_text_escaped(struct obs_textbuf *tb, const char *s, bool quote);

/* Returns the length of the valid UTF-8 sequence starting at s (at most
 * n bytes available), or 0 if the bytes there are not valid UTF-8. */
size_t obs_utf8_seq_len(const unsigned char *s, size_t n);

/* Hands the heap data to the caller: on success *out is an amaters_malloc
 * buffer (NUL-terminated, caller frees with amaters_free) and *len its
 * length, and the buffer is left empty. Returns tb->err if an append
 * failed (then frees the buffer and sets *out = NULL). A buffer still in
 * caller storage is copied. */
int obs_tb_take(struct obs_textbuf *tb, char **out, size_t *len);

/* Frees heap storage, if any, and empties the buffer. */
void obs_tb_free(struct obs_textbuf *tb);

#endif
