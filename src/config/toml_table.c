/*
 * toml_table.c - TOML keys and where they put values: dotted keys,
 * [table] and [[array of tables]] headers, key/value pairs, and the rules
 * on what may be defined where.
 *
 * Definition rules. Every [header] starts a new "section", numbered from 1
 * (the root section); every inline table is a section of its own. A table
 * carries:
 *   - TOML_F_EXPLICIT when a [header] defined it (it may not be defined
 *     again, nor extended with dotted keys);
 *   - TOML_F_INLINE when it was written inline (closed to everything);
 *   - section != 0 when dotted keys created or passed through it: within
 *     that same section dotted keys may go on adding to it; later sections
 *     may neither extend it with dotted keys nor define it with a header
 *     (they may still define sub-tables below it with headers).
 * Tables created on the way to a header ("a" in [a.b]) have none of these
 * and may be defined later. Arrays made by [[header]] carry
 * TOML_F_TABLE_ARRAY; other arrays are static and closed.
 */
#include "config/toml_internal.h"

#include "core/alloc.h"
#include "core/errors.h"

#include <string.h>

#define KEY_SHOW_MAX 80

struct key_part {
    char *s;
    size_t len;
    int line, col;
};

struct key_path {
    struct key_part *parts;
    size_t count, cap;
};

/* ---- keys ---- */

static void key_path_free(struct key_path *k)
{
    size_t i;

    for (i = 0; i < k->count; i++)
        amaters_free(k->parts[i].s);
    amaters_free(k->parts);
    k->parts = NULL;
    k->count = k->cap = 0;
}

static int key_path_add(struct toml_parser *p, struct key_path *k, char *s,
                        size_t len, int line, int col)
{
    struct key_part *parts;
    size_t cap;

    if (k->count == AMATERS_TOML_MAX_DEPTH) {
        amaters_free(s);
        return toml_too_deep(p, line, col);
    }
    if (k->count == k->cap) {
        cap = k->cap ? k->cap * 2 : 4;
        parts = amaters_realloc(k->parts, cap * sizeof(*parts));
        if (parts == NULL) {
            amaters_free(s);
            return toml_nomem(p);
        }
        k->parts = parts;
        k->cap = cap;
    }
    k->parts[k->count].s = s;
    k->parts[k->count].len = len;
    k->parts[k->count].line = line;
    k->parts[k->count].col = col;
    k->count++;
    return 0;
}

static int is_bare_key_char(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* Reads one simple key (bare or quoted) and appends it to k. */
static int read_simple_key(struct toml_parser *p, struct key_path *k)
{
    int line = p->line, col = p->col;
    int c = toml_peek(p, 0);
    struct toml_buf b = {NULL, 0, 0};
    size_t n = 0;
    int rv;

    if (c == '"' || c == '\'') {
        rv = toml_read_string(p, &b, 0);
        if (rv != 0) {
            amaters_free(b.p);
            return rv;
        }
        return key_path_add(p, k, b.p, b.len, line, col);
    }
    while (is_bare_key_char(toml_peek(p, n)))
        n++;
    if (n == 0) {
        if (c < 0 || c == '\n' || c == '\r')
            return toml_error(p, AMATERS_EPARSE, line, col,
                              "expected a key");
        if (c > 0x20 && c < 0x7F)
            return toml_error(p, AMATERS_EPARSE, line, col,
                              "expected a key, found '%c'", c);
        return toml_error(p, AMATERS_EPARSE, line, col,
                          "expected a key, found an invalid character");
    }
    b.p = amaters_memdup(p->src + p->pos, n);
    if (b.p == NULL)
        return toml_nomem(p);
    toml_advance(p, n);
    return key_path_add(p, k, b.p, n, line, col);
}

/* Reads a dotted key: simple keys separated by '.', with optional
 * whitespace around the dots. */
static int read_key(struct toml_parser *p, struct key_path *k)
{
    int rv;

    for (;;) {
        toml_skip_ws(p);
        rv = read_simple_key(p, k);
        if (rv != 0)
            return rv;
        toml_skip_ws(p);
        if (toml_peek(p, 0) != '.')
            return 0;
        toml_advance(p, 1);
    }
}

/* Writes parts [0, upto] of k joined by dots, non-printables as '?'. */
static const char *show_key(const struct key_path *k, size_t upto, char *buf,
                            size_t n)
{
    size_t i, j, o = 0;
    unsigned char c;

    for (i = 0; i <= upto && i < k->count; i++) {
        if (i > 0 && o + 1 < n)
            buf[o++] = '.';
        for (j = 0; j < k->parts[i].len && o + 1 < n; j++) {
            c = (unsigned char)k->parts[i].s[j];
            buf[o++] = (c < 0x20 || c == 0x7F) ? '?' : (char)c;
        }
    }
    buf[o] = '\0';
    return buf;
}

/* Appends ".KEY" (KEY alone at the root) for all of k to p->key, the name
 * value errors show; cut at TOML_KEY_MAX. */
static void key_name_push(struct toml_parser *p, const struct key_path *k)
{
    size_t avail = sizeof(p->key) - 1 - p->key_len, need = 0, i;

    for (i = 0; i < k->count; i++)
        need += k->parts[i].len + (i > 0);
    if (p->key_len > 0) {
        need++;
        if (avail > 0)
            p->key[p->key_len++] = '.';
    }
    show_key(k, k->count, p->key + p->key_len,
             sizeof(p->key) - p->key_len);
    p->key_len += strlen(p->key + p->key_len);
    if (need > avail) { /* cut: the buffer is full */
        memcpy(p->key + sizeof(p->key) - 4, "...", 4);
        p->key_len = sizeof(p->key) - 1;
    }
}

/* ---- tables ---- */

/* Creates an empty table under part of k in t; *out is owned by t. */
static int add_table(struct toml_parser *p, struct amaters_toml_value *t,
                     const struct key_part *part,
                     struct amaters_toml_value **out)
{
    struct amaters_toml_value *v;

    v = toml_value_new(AMATERS_TOML_TABLE, part->line, part->col);
    if (v == NULL)
        return toml_nomem(p);
    v->key_line = part->line;
    v->key_col = part->col;
    if (toml_table_add(t, part->s, part->len, v) != 0) {
        amaters_toml_free(v);
        return toml_nomem(p);
    }
    *out = v;
    return 0;
}

static int not_a_table(struct toml_parser *p, const struct key_path *k,
                       size_t i, const struct amaters_toml_value *v)
{
    char name[KEY_SHOW_MAX];

    return toml_error(p, AMATERS_EPARSE, k->parts[0].line, k->parts[0].col,
                      "key '%s' is already defined as %s %s",
                      show_key(k, i, name, sizeof(name)),
                      v->type == AMATERS_TOML_ARRAY ||
                              v->type == AMATERS_TOML_INTEGER ||
                              v->type == AMATERS_TOML_OFFSET_DATETIME
                          ? "an"
                          : "a",
                      amaters_toml_type_name(v->type));
}

static int already_defined(struct toml_parser *p, const struct key_path *k,
                           size_t i, int line, int col)
{
    char name[KEY_SHOW_MAX];

    return toml_error(p, AMATERS_EPARSE, line, col,
                      "table '%s' is already defined",
                      show_key(k, i, name, sizeof(name)));
}

/* Walks the first count-1 parts of a header's key from the root, creating
 * tables as needed; array-of-tables steps go into the last element. */
static int walk_header(struct toml_parser *p, const struct key_path *k,
                       struct amaters_toml_value **t, int *depth)
{
    struct amaters_toml_value *v;
    size_t i;
    int rv;

    for (i = 0; i + 1 < k->count; i++) {
        v = toml_table_find(*t, k->parts[i].s, k->parts[i].len);
        if (v == NULL) {
            rv = add_table(p, *t, &k->parts[i], &v);
            if (rv != 0)
                return rv;
        } else if (v->type == AMATERS_TOML_ARRAY &&
                   (v->flags & TOML_F_TABLE_ARRAY)) {
            v = v->u.array.items[v->u.array.count - 1];
            (*depth)++;
        } else if (v->type != AMATERS_TOML_TABLE) {
            return not_a_table(p, k, i, v);
        } else if (v->flags & TOML_F_INLINE) {
            return already_defined(p, k, i, k->parts[0].line,
                                   k->parts[0].col);
        }
        if (++*depth > AMATERS_TOML_MAX_DEPTH)
            return toml_too_deep(p, k->parts[i].line, k->parts[i].col);
        *t = v;
    }
    return 0;
}

/* [a.b.c]: defines table a.b.c and makes it current. */
static int define_table(struct toml_parser *p, const struct key_path *k,
                        struct amaters_toml_value *t, int depth, int line,
                        int col)
{
    const struct key_part *last = &k->parts[k->count - 1];
    struct amaters_toml_value *v;
    int rv;

    v = toml_table_find(t, last->s, last->len);
    if (v == NULL) {
        rv = add_table(p, t, last, &v);
        if (rv != 0)
            return rv;
    } else if (v->type != AMATERS_TOML_TABLE) {
        return not_a_table(p, k, k->count - 1, v);
    } else if ((v->flags & (TOML_F_EXPLICIT | TOML_F_INLINE)) ||
               v->section != 0) {
        return already_defined(p, k, k->count - 1, k->parts[0].line,
                               k->parts[0].col);
    }
    v->flags |= TOML_F_EXPLICIT;
    v->line = line;
    v->col = col;
    p->cur = v;
    p->cur_depth = depth + 1;
    return 0;
}

/* [[a.b.c]]: appends a new table to array of tables a.b.c. */
static int append_table(struct toml_parser *p, const struct key_path *k,
                        struct amaters_toml_value *t, int depth, int line,
                        int col)
{
    const struct key_part *last = &k->parts[k->count - 1];
    struct amaters_toml_value *arr, *v;
    int rv;

    arr = toml_table_find(t, last->s, last->len);
    if (arr == NULL) {
        arr = toml_value_new(AMATERS_TOML_ARRAY, line, col);
        if (arr == NULL)
            return toml_nomem(p);
        arr->flags = TOML_F_TABLE_ARRAY;
        arr->key_line = last->line;
        arr->key_col = last->col;
        if (toml_table_add(t, last->s, last->len, arr) != 0) {
            amaters_toml_free(arr);
            return toml_nomem(p);
        }
    } else if (arr->type != AMATERS_TOML_ARRAY ||
               !(arr->flags & TOML_F_TABLE_ARRAY)) {
        return not_a_table(p, k, k->count - 1, arr);
    }
    if (depth + 2 > AMATERS_TOML_MAX_DEPTH)
        return toml_too_deep(p, last->line, last->col);
    v = toml_value_new(AMATERS_TOML_TABLE, line, col);
    if (v == NULL)
        return toml_nomem(p);
    v->flags = TOML_F_EXPLICIT;
    rv = toml_array_push(arr, v);
    if (rv != 0) {
        amaters_toml_free(v);
        return toml_nomem(p);
    }
    p->cur = v;
    p->cur_depth = depth + 2;
    return 0;
}

/* A [table] or [[array of tables]] header; the cursor is on '['. */
int toml_parse_header(struct toml_parser *p)
{
    int line = p->line, col = p->col;
    int is_array = toml_peek(p, 1) == '[';
    struct amaters_toml_value *t = NULL;
    struct key_path k = {NULL, 0, 0};
    int depth = 0;
    int rv;

    toml_advance(p, is_array ? 2 : 1);
    rv = read_key(p, &k);
    if (rv != 0)
        goto out;
    if (toml_peek(p, 0) != ']' || (is_array && toml_peek(p, 1) != ']')) {
        rv = toml_error(p, AMATERS_EPARSE, p->line, p->col,
                        "expected '%s' to close the table header",
                        is_array ? "]]" : "]");
        goto out;
    }
    toml_advance(p, is_array ? 2 : 1);
    p->section = ++p->next_section;
    t = p->root;
    rv = walk_header(p, &k, &t, &depth);
    if (rv != 0)
        goto out;
    if (is_array)
        rv = append_table(p, &k, t, depth, line, col);
    else
        rv = define_table(p, &k, t, depth, line, col);
    p->key_len = 0;
    p->key[0] = '\0';
    key_name_push(p, &k);
out:
    key_path_free(&k);
    return rv;
}

/* ---- key/value pairs ---- */

/* Walks the first count-1 parts of a dotted key from table t. */
static int walk_dotted(struct toml_parser *p, const struct key_path *k,
                       struct amaters_toml_value **t, int *depth)
{
    struct amaters_toml_value *v;
    size_t i;
    int rv;

    for (i = 0; i + 1 < k->count; i++) {
        v = toml_table_find(*t, k->parts[i].s, k->parts[i].len);
        if (v == NULL) {
            rv = add_table(p, *t, &k->parts[i], &v);
            if (rv != 0)
                return rv;
        } else if (v->type != AMATERS_TOML_TABLE) {
            return not_a_table(p, k, i, v);
        } else if ((v->flags & (TOML_F_EXPLICIT | TOML_F_INLINE)) ||
                   (v->section != 0 && v->section != p->section)) {
            return already_defined(p, k, i, k->parts[0].line,
                                   k->parts[0].col);
        }
        v->section = p->section;
        if (++*depth > AMATERS_TOML_MAX_DEPTH)
            return toml_too_deep(p, k->parts[i].line, k->parts[i].col);
        *t = v;
    }
    return 0;
}

/* key = value, added to table t which sits at depth. */
int toml_parse_keyval(struct toml_parser *p, struct amaters_toml_value *t,
                      int depth)
{
    struct key_path k = {NULL, 0, 0};
    struct amaters_toml_value *v = NULL;
    const struct key_part *last;
    char name[KEY_SHOW_MAX];
    size_t saved_len;
    int rv;

    rv = read_key(p, &k);
    if (rv != 0)
        goto out;
    if (toml_peek(p, 0) != '=') {
        rv = toml_error(p, AMATERS_EPARSE, p->line, p->col,
                        "expected '=' after key '%s'",
                        show_key(&k, k.count, name, sizeof(name)));
        goto out;
    }
    toml_advance(p, 1);
    toml_skip_ws(p);
    rv = walk_dotted(p, &k, &t, &depth);
    if (rv != 0)
        goto out;
    last = &k.parts[k.count - 1];
    if (toml_table_find(t, last->s, last->len) != NULL) {
        rv = toml_error(p, AMATERS_EPARSE, k.parts[0].line, k.parts[0].col,
                        "duplicate key '%s'",
                        show_key(&k, k.count, name, sizeof(name)));
        goto out;
    }
    saved_len = p->key_len;
    key_name_push(p, &k);
    p->in_value++;
    rv = toml_parse_value(p, depth + 1, &v);
    p->in_value--;
    p->key_len = saved_len;
    p->key[saved_len] = '\0';
    if (rv != 0)
        goto out;
    v->key_line = k.parts[0].line;
    v->key_col = k.parts[0].col;
    if (toml_table_add(t, last->s, last->len, v) != 0) {
        amaters_toml_free(v);
        rv = toml_nomem(p);
    }
out:
    key_path_free(&k);
    return rv;
}
