/*
 * wirecheck.c - a cheap pre-decode check of a request's protobuf bytes.
 *
 * protobuf_c_message_unpack recurses once per nesting level (a deep enough
 * message overflows the worker's stack), allocates tens of bytes for every
 * 2-byte sub-message or unknown field, and accepts invalid UTF-8 in proto3
 * `string` fields (which the server would then echo into answers no client
 * can parse). rpc_wire_check walks the wire bytes against the message
 * descriptors ITERATIVELY (an explicit stack, no recursion, no allocation)
 * and refuses such input before unpack runs; unpack stays the real parser.
 */
#include "rpc/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/errors.h"

#define MIB ((size_t)1 << 20)

/* protobuf-c keeps a 32-byte scan record per field occurrence while it
 * unpacks a message, in blocks that double in size (the first 16 on the
 * stack), and with the arena allocator never gives them back: at most
 * twice the records needed, so 64 bytes per occurrence bound it. */
#define SCAN_RECORD_BYTES 64
/* The call arena rounds every allocation up to this. */
#define ARENA_GRAIN 16

struct frame {
    const ProtobufCMessageDescriptor *d;
    size_t end;
};

struct walk {
    const struct rpc_wire_limits *lim;
    struct rpc_wire_stats *st;
    const uint8_t *buf;
    size_t pos;
    char *why;
    size_t whylen;
};

static int fail(struct walk *w, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct walk *w, int rc, const char *fmt, ...)
{
    va_list ap;
    if (w->why && w->whylen) {
        va_start(ap, fmt);
        vsnprintf(w->why, w->whylen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Reads a varint ending at or before end into *v. Returns 0 or -1. */
static int read_varint(struct walk *w, size_t end, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (w->pos >= end)
            return -1;
        uint8_t b = w->buf[w->pos++];
        r |= (uint64_t)(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

/* Length of the UTF-8 sequence led by b (0 = not a valid lead byte), and
 * the smallest code point that sequence may encode (overlong check). */
static unsigned utf8_lead(uint8_t b, uint32_t *cp, uint32_t *min)
{
    if (b < 0x80) {
        *cp = b, *min = 0;
        return 1;
    }
    if ((b & 0xe0) == 0xc0) {
        *cp = b & 0x1f, *min = 0x80;
        return 2;
    }
    if ((b & 0xf0) == 0xe0) {
        *cp = b & 0x0f, *min = 0x800;
        return 3;
    }
    if ((b & 0xf8) == 0xf0) {
        *cp = b & 0x07, *min = 0x10000;
        return 4;
    }
    return 0;
}

bool rpc_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp, min;
        unsigned k = utf8_lead(s[i], &cp, &min);
        if (k == 0 || n - i < k)
            return false;
        for (unsigned j = 1; j < k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k;
    }
    return true;
}

/* Adds an allocation of n bytes to the estimate, rounded up as the arena
 * does; saturates instead of wrapping. */
static void add(struct rpc_wire_stats *st, size_t n)
{
    if (n > SIZE_MAX - ARENA_GRAIN) {
        st->estimate = SIZE_MAX;
        return;
    }
    n = (n + ARENA_GRAIN - 1) / ARENA_GRAIN * ARENA_GRAIN;
    st->estimate = st->estimate > SIZE_MAX - n ? SIZE_MAX : st->estimate + n;
}

/* Skips a field of wire type wt whose value starts at w->pos. A length-
 * delimited value was already measured by the caller (len). */
static int skip_value(struct walk *w, size_t end, unsigned wt, uint32_t num)
{
    uint64_t v;
    size_t n = wt == 1 ? 8 : 4;
    if (wt == 0) {
        if (read_varint(w, end, &v))
            return fail(w, AMATERS_EPARSE, "truncated varint in field %u",
                        num);
        return 0;
    }
    if (end - w->pos < n)
        return fail(w, AMATERS_EPARSE, "truncated fixed-size field %u", num);
    w->pos += n;
    return 0;
}

/* Handles the length-delimited value [w->pos, w->pos + len) of field f;
 * pushes a sub-message frame when f is a message. */
static int on_bytes(struct walk *w, struct frame *stack, unsigned *depth,
                    const ProtobufCFieldDescriptor *f, size_t len)
{
    const struct rpc_wire_limits *lim = w->lim;
    const ProtobufCMessageDescriptor *d = stack[*depth].d;

    if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        const ProtobufCMessageDescriptor *sub = f->descriptor;
        if (*depth + 1 > lim->max_depth)
            return fail(w, AMATERS_EPARSE,
                        "message nested deeper than %u levels",
                        lim->max_depth);
        (*depth)++;
        stack[*depth] = (struct frame){sub, w->pos + len};
        w->st->messages++;
        if (*depth > w->st->depth)
            w->st->depth = *depth;
        add(w->st, sub->sizeof_message);
        return 0;
    }
    if (f->type == PROTOBUF_C_TYPE_STRING &&
        !rpc_utf8_valid(w->buf + w->pos, len))
        return fail(w, AMATERS_EPARSE, "invalid UTF-8 in string field %s.%s",
                    d->short_name, f->name);
    /* decoded as a C string: a NUL would silently cut it short */
    if (f->type == PROTOBUF_C_TYPE_STRING &&
        memchr(w->buf + w->pos, 0, len) != NULL)
        return fail(w, AMATERS_EPARSE, "NUL character in string field %s.%s",
                    d->short_name, f->name);
    if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_BYTES)
        add(w->st, len + 1);
    /* else: a packed repeated scalar field, not descended */
    w->pos += len;
    return 0;
}

/* Walks one field starting at w->pos in the message on top of stack. */
static int one_field(struct walk *w, struct frame *stack, unsigned *depth)
{
    const struct frame *top = &stack[*depth];
    size_t start = w->pos, len = 0;
    uint64_t tag, l;

    if (read_varint(w, top->end, &tag) || tag > UINT32_MAX)
        return fail(w, AMATERS_EPARSE, "truncated or invalid field tag");
    unsigned wt = (unsigned)(tag & 7);
    uint32_t num = (uint32_t)(tag >> 3);
    if (num == 0)
        return fail(w, AMATERS_EPARSE, "field number 0");
    if (wt != 0 && wt != 1 && wt != 2 && wt != 5)
        return fail(w, AMATERS_EPARSE,
                    "wire type %u (group or invalid) in field %u", wt, num);
    if (wt == 2) {
        if (read_varint(w, top->end, &l))
            return fail(w, AMATERS_EPARSE, "truncated length of field %u",
                        num);
        if (l > top->end - w->pos)
            return fail(w, AMATERS_EPARSE,
                        "field %u: length %llu runs past the end of the "
                        "message",
                        num, (unsigned long long)l);
        len = (size_t)l;
    }
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(top->d, num);
    if (f == NULL) {
        if (++w->st->unknown > w->lim->max_unknown)
            return fail(w, AMATERS_ETOOBIG,
                        "request carries more than %zu unknown fields",
                        w->lim->max_unknown);
        int rc = 0;
        if (wt == 2)
            w->pos += len;
        else
            rc = skip_value(w, top->end, wt, num);
        add(w->st, SCAN_RECORD_BYTES);
        add(w->st, sizeof(ProtobufCMessageUnknownField));
        add(w->st, w->pos - start);
        return rc;
    }
    add(w->st, SCAN_RECORD_BYTES);
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        add(w->st, 8);
        if (*depth == 0 && f->type == PROTOBUF_C_TYPE_MESSAGE)
            w->st->top_level_repeated++;
    }
    if (wt == 2)
        return on_bytes(w, stack, depth, f, len);
    return skip_value(w, top->end, wt, num);
}

int rpc_wire_check(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                   size_t len, const struct rpc_wire_limits *lim,
                   struct rpc_wire_stats *st, char *why, size_t whylen)
{
    struct frame stack[RPC_WIRE_MAX_DEPTH + 1];
    struct rpc_wire_limits l = *lim;
    struct walk w = {&l, st, buf, 0, why, whylen};
    unsigned depth = 0;
    int rc = 0;

    if (l.max_depth > RPC_WIRE_MAX_DEPTH)
        l.max_depth = RPC_WIRE_MAX_DEPTH;
    memset(st, 0, sizeof *st);
    if (why && whylen)
        why[0] = '\0';
    stack[0] = (struct frame){d, len};
    st->messages = 1;
    add(st, d->sizeof_message);
    while (rc == 0) {
        if (w.pos == stack[depth].end) {
            if (depth == 0)
                break;
            depth--;
            continue;
        }
        rc = one_field(&w, stack, &depth);
    }
    if (rc)
        return rc;
    st->complete = true;
    size_t over = st->estimate > len ? st->estimate - len : 0;
    if (over > l.max_overhead)
        return fail(&w, AMATERS_ETOOBIG,
                    "request would take about %zu MiB to decode (limit "
                    "%zu MiB)",
                    (st->estimate + MIB - 1) / MIB,
                    (len + l.max_overhead) / MIB);
    return 0;
}

bool rpc_wire_top_string(const ProtobufCMessageDescriptor *d,
                         const uint8_t *buf, size_t len, const char *name,
                         const uint8_t **out, size_t *outlen)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(d, name);
    struct walk w = {.buf = buf};
    bool found = false;
    uint64_t key, v;

    if (f == NULL || f->type != PROTOBUF_C_TYPE_STRING)
        return false;
    while (w.pos < len && read_varint(&w, len, &key) == 0) {
        unsigned wt = (unsigned)(key & 7);
        size_t n = 0;
        if (wt == 0) {
            if (read_varint(&w, len, &v) != 0)
                break;
            continue;
        }
        if (wt == 1 || wt == 5)
            n = wt == 1 ? 8 : 4;
        else if (wt == 2 && read_varint(&w, len, &v) == 0)
            n = v > len ? len + 1 : (size_t)v;
        else
            break; /* groups or broken framing: stop here */
        if (n > len - w.pos)
            break;
        if (wt == 2 && (key >> 3) == f->id &&
            rpc_utf8_valid(buf + w.pos, n) && !memchr(buf + w.pos, 0, n)) {
            *out = buf + w.pos; /* proto3: the last occurrence wins */
            *outlen = n;
            found = true;
        }
        w.pos += n;
    }
    return found;
}
