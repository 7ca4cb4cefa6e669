/*
 * config_value.c - the per-type operations behind the schema table:
 * reading a key's value from TOML or from text, checking it against the
 * key's bounds or allowed values, storing it into (and viewing, copying,
 * comparing, freeing it in) struct amaters_config at the key's offset.
 *
 * A value travels as a struct cfg_val: parsed, checked, and only then
 * stored, so a failure anywhere leaves the config as it was. Also here:
 * recognising the placeholder the dump writes for a secret, and the
 * message that refuses it.
 */
#include "config/config_schema.h"

#include "core/alloc.h"
#include "core/errors.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define QUOTE_MAX 60

/* The _id fields are written through int pointers. */
_Static_assert(sizeof(enum amaters_storage_engine) == sizeof(int) &&
                   sizeof(enum amaters_wal_sync_mode) == sizeof(int) &&
                   sizeof(enum amaters_compaction_strategy) == sizeof(int) &&
                   sizeof(enum amaters_config_log_level) == sizeof(int) &&
                   sizeof(enum amaters_config_log_format) == sizeof(int) &&
                   sizeof(enum amaters_jwt_algorithm) == sizeof(int) &&
                   sizeof(enum amaters_authz_mode) == sizeof(int) &&
                   sizeof(enum amaters_audit_fsync_mode) == sizeof(int),
               "enum _id fields are stored as int");

static void *at(const struct amaters_config *cfg, size_t off)
{
    return (char *)cfg + off;
}

static void free_string(const struct cfg_field *f, char *s)
{
    if (s != NULL && (f->flags & CFG_SECRET))
        amaters_free_secret(s, strlen(s));
    else
        amaters_free(s);
}

static void free_list(const struct cfg_field *f, char **list, size_t count)
{
    size_t i;

    for (i = 0; i < count; i++)
        free_string(f, list[i]);
    amaters_free(list);
}

void cfg_val_release(const struct cfg_field *f, struct cfg_val *v)
{
    free_string(f, v->s);
    free_list(f, v->list, v->count);
    memset(v, 0, sizeof(*v));
}

/* Makes a list of count empty slots. */
static int list_alloc(struct cfg_val *v, size_t count)
{
    v->list = amaters_calloc(count ? count : 1, sizeof(char *));
    if (v->list == NULL)
        return AMATERS_ENOMEM;
    v->count = count;
    return 0;
}

int cfg_val_from_toml(const struct cfg_field *f,
                      const struct amaters_toml_value *tv, struct cfg_val *v,
                      const struct amaters_toml_value **bad)
{
    const struct amaters_toml_value *item;
    size_t i;

    memset(v, 0, sizeof(*v));
    if (bad != NULL)
        *bad = tv;
    switch (f->type) {
    case CFG_BOOL:
        if (tv->type != AMATERS_TOML_BOOLEAN)
            return AMATERS_ECONFIG;
        v->b = tv->u.boolean;
        return 0;
    case CFG_INT:
        if (tv->type != AMATERS_TOML_INTEGER)
            return AMATERS_ECONFIG;
        v->i = tv->u.integer;
        return 0;
    case CFG_STRING:
    case CFG_ENUM:
        if (tv->type != AMATERS_TOML_STRING ||
            strlen(tv->u.string.ptr) != tv->u.string.len)
            return AMATERS_ECONFIG;
        v->s = amaters_strdup(tv->u.string.ptr);
        return v->s == NULL ? AMATERS_ENOMEM : 0;
    case CFG_LIST:
        break;
    }
    if (tv->type != AMATERS_TOML_ARRAY)
        return AMATERS_ECONFIG;
    for (i = 0; i < amaters_toml_array_count(tv); i++) {
        item = amaters_toml_array_at(tv, i);
        if (item->type != AMATERS_TOML_STRING ||
            strlen(item->u.string.ptr) != item->u.string.len) {
            if (bad != NULL)
                *bad = item;
            return AMATERS_ECONFIG;
        }
    }
    if (list_alloc(v, amaters_toml_array_count(tv)) != 0)
        return AMATERS_ENOMEM;
    for (i = 0; i < v->count; i++) {
        v->list[i] = amaters_strdup(amaters_toml_array_at(tv, i)->u.string.ptr);
        if (v->list[i] == NULL) {
            cfg_val_release(f, v);
            return AMATERS_ENOMEM;
        }
    }
    return 0;
}

static int bool_from_text(const char *t, bool *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on", NULL};
    static const char *const no[] = {"false", "0", "no", "off", NULL};
    size_t i;

    for (i = 0; yes[i] != NULL; i++) {
        if (strcasecmp(t, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(t, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return AMATERS_ECONFIG;
}

static int int_from_text(const char *t, int64_t *out)
{
    const char *d = t + (*t == '+' || *t == '-');
    char *end;
    long long n;

    if (!isdigit((unsigned char)*d))
        return AMATERS_ECONFIG;
    errno = 0;
    n = strtoll(t, &end, 10);
    if (errno != 0 || *end != '\0')
        return AMATERS_ECONFIG;
    *out = n;
    return 0;
}

/* A TOML array literal: parsed as the value of a one-key document. */
static int list_from_toml_text(const struct cfg_field *f, const char *t,
                               struct cfg_val *v)
{
    static const char prefix[] = "v = ";
    size_t tlen = strlen(t);
    struct amaters_toml_value *doc = NULL;
    char *text;
    int rv;

    text = amaters_malloc(sizeof(prefix) + tlen);
    if (text == NULL)
        return AMATERS_ENOMEM;
    memcpy(text, prefix, sizeof(prefix) - 1);
    memcpy(text + sizeof(prefix) - 1, t, tlen + 1);
    rv = amaters_toml_parse(text, sizeof(prefix) - 1 + tlen, NULL, &doc, NULL,
                            0);
    if (rv == 0 && amaters_toml_table_count(doc) != 1)
        rv = AMATERS_ECONFIG;
    if (rv == 0)
        rv = cfg_val_from_toml(f, amaters_toml_table_get(doc, "v"), v, NULL);
    else if (rv != AMATERS_ENOMEM)
        rv = AMATERS_ECONFIG;
    amaters_toml_free(doc);
    amaters_free(text);
    return rv;
}

/* Comma-separated items, blanks around each trimmed; "" is empty. */
static int list_from_csv(const struct cfg_field *f, const char *t,
                         struct cfg_val *v, long *bad_item)
{
    size_t count = 1, i, n;
    const char *p, *comma, *end;

    if (t[strspn(t, " \t")] == '\0')
        return list_alloc(v, 0);
    for (p = t; *p != '\0'; p++)
        count += *p == ',';
    if (list_alloc(v, count) != 0)
        return AMATERS_ENOMEM;
    for (i = 0, p = t; i < count; i++, p = comma + 1) {
        comma = strchr(p, ',');
        if (comma == NULL)
            comma = p + strlen(p);
        p += strspn(p, " \t");
        for (end = comma; end > p && (end[-1] == ' ' || end[-1] == '\t');)
            end--;
        n = (size_t)(end - p);
        if (n == 0) {
            *bad_item = (long)i;
            cfg_val_release(f, v);
            return AMATERS_ECONFIG;
        }
        v->list[i] = amaters_strndup(p, n);
        if (v->list[i] == NULL) {
            cfg_val_release(f, v);
            return AMATERS_ENOMEM;
        }
    }
    return 0;
}

int cfg_val_from_text(const struct cfg_field *f, const char *text,
                      struct cfg_val *v, long *bad_item)
{
    memset(v, 0, sizeof(*v));
    *bad_item = -1;
    switch (f->type) {
    case CFG_BOOL:
        return bool_from_text(text, &v->b);
    case CFG_INT:
        return int_from_text(text, &v->i);
    case CFG_STRING:
    case CFG_ENUM:
        v->s = amaters_strdup(text);
        return v->s == NULL ? AMATERS_ENOMEM : 0;
    case CFG_LIST:
        break;
    }
    if (text[strspn(text, " \t")] == '[')
        return list_from_toml_text(f, text, v);
    return list_from_csv(f, text, v, bad_item);
}

/* Index of s in f->allowed (after aliases), or -1. */
static int allowed_index(const struct cfg_field *f, const char *s)
{
    const struct cfg_alias *a;
    int i;

    for (a = f->aliases; a != NULL && a->from != NULL; a++) {
        if ((f->flags & CFG_NOCASE) ? strcasecmp(s, a->from) == 0
                                    : strcmp(s, a->from) == 0)
            s = a->to;
    }
    for (i = 0; f->allowed[i] != NULL; i++) {
        if ((f->flags & CFG_NOCASE) ? strcasecmp(s, f->allowed[i]) == 0
                                    : strcmp(s, f->allowed[i]) == 0)
            return i;
    }
    return -1;
}

static int check_string(const struct cfg_field *f, const char *s)
{
    size_t len = s != NULL ? strlen(s) : 0;

    /* Valid UTF-8 only, so that a dump of it is valid TOML. */
    if (s == NULL || amaters_toml_utf8_prefix(s, len) != len)
        return AMATERS_ECONFIG;
    if (f->check != NULL && f->check(s) != 0)
        return AMATERS_ECONFIG;
    return 0;
}

int cfg_val_check(const struct cfg_field *f, struct cfg_val *v,
                  long *bad_item)
{
    int idx;
    size_t i;

    *bad_item = -1;
    switch (f->type) {
    case CFG_BOOL:
        return 0;
    case CFG_INT:
        return v->i < f->min || v->i > f->max ? AMATERS_ECONFIG : 0;
    case CFG_STRING:
        return check_string(f, v->s);
    case CFG_ENUM:
        v->id = v->s == NULL ? -1 : allowed_index(f, v->s);
        return v->id < 0 ? AMATERS_ECONFIG : 0;
    case CFG_LIST:
        break;
    }
    v->mask = 0;
    for (i = 0; i < v->count; i++) {
        *bad_item = (long)i;
        if (f->allowed != NULL) {
            idx = v->list[i] == NULL ? -1 : allowed_index(f, v->list[i]);
            if (idx < 0)
                return AMATERS_ECONFIG;
            v->mask |= 1u << idx;
        } else if (check_string(f, v->list[i]) != 0) {
            return AMATERS_ECONFIG;
        }
    }
    *bad_item = -1;
    return 0;
}

int cfg_val_store(const struct cfg_field *f, struct amaters_config *cfg,
                  struct cfg_val *v)
{
    char *canon;

    switch (f->type) {
    case CFG_BOOL:
        *(bool *)at(cfg, f->offset) = v->b;
        break;
    case CFG_INT:
        *(int64_t *)at(cfg, f->offset) = v->i;
        break;
    case CFG_ENUM:
        canon = amaters_strdup(f->allowed[v->id]);
        if (canon == NULL)
            return AMATERS_ENOMEM;
        free_string(f, v->s);
        v->s = canon;
        *(int *)at(cfg, f->aux) = v->id;
        free_string(f, *(char **)at(cfg, f->offset));
        *(char **)at(cfg, f->offset) = v->s;
        v->s = NULL;
        break;
    case CFG_STRING:
        free_string(f, *(char **)at(cfg, f->offset));
        *(char **)at(cfg, f->offset) = v->s;
        v->s = NULL;
        break;
    case CFG_LIST:
        free_list(f, *(char ***)at(cfg, f->offset),
                  *(size_t *)at(cfg, f->aux));
        *(char ***)at(cfg, f->offset) = v->list;
        *(size_t *)at(cfg, f->aux) = v->count;
        if (f->flags & CFG_MASK)
            *(unsigned *)at(cfg, f->aux2) = v->mask;
        v->list = NULL;
        v->count = 0;
        break;
    }
    return 0;
}

void cfg_val_view(const struct cfg_field *f, const struct amaters_config *cfg,
                  struct cfg_val *v)
{
    memset(v, 0, sizeof(*v));
    switch (f->type) {
    case CFG_BOOL:
        v->b = *(const bool *)at(cfg, f->offset);
        break;
    case CFG_INT:
        v->i = *(const int64_t *)at(cfg, f->offset);
        break;
    case CFG_ENUM:
        v->id = *(const int *)at(cfg, f->aux);
        v->s = *(char *const *)at(cfg, f->offset);
        break;
    case CFG_STRING:
        v->s = *(char *const *)at(cfg, f->offset);
        break;
    case CFG_LIST:
        v->list = *(char **const *)at(cfg, f->offset);
        v->count = *(const size_t *)at(cfg, f->aux);
        break;
    }
}

void cfg_expected(const struct cfg_field *f, char *buf, size_t n)
{
    const char *const *a = f->allowed;
    size_t o;

    switch (f->type) {
    case CFG_BOOL:
        snprintf(buf, n, "expected boolean");
        return;
    case CFG_INT:
        snprintf(buf, n, "expected integer in %lld..%lld",
                 (long long)f->min, (long long)f->max);
        return;
    case CFG_STRING:
        snprintf(buf, n, "expected %s%s", f->format ? f->format : "string",
                 f->format ? " string" : "");
        return;
    case CFG_ENUM:
    case CFG_LIST:
        break;
    }
    if (a == NULL) {
        snprintf(buf, n, "expected array of %s strings",
                 f->format ? f->format : "any");
        return;
    }
    o = (size_t)snprintf(buf, n, "expected %s",
                         f->type == CFG_LIST ? "array of" : "one of");
    for (; *a != NULL && o < n; a++)
        o += (size_t)snprintf(buf + o, n - o, "%s \"%s\"",
                              a == f->allowed ? "" : ",", *a);
}

void cfg_quote(const char *s, size_t len, char *buf, size_t n)
{
    size_t o = 0, i;
    unsigned char c;

    if (n < 16) {
        snprintf(buf, n, "\"\"");
        return;
    }
    buf[o++] = '"';
    for (i = 0; i < len && o + 12 < n && i < QUOTE_MAX; i++) {
        c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7F) {
            o += (size_t)snprintf(buf + o, n - o, "\\u%04X", c);
        } else {
            buf[o++] = (char)c;
        }
    }
    if (i < len)
        o += (size_t)snprintf(buf + o, n - o, "...");
    buf[o++] = '"';
    buf[o] = '\0';
}

int cfg_field_default(const struct cfg_field *f, struct amaters_config *cfg)
{
    struct cfg_val v;
    long bad;
    int rv;

    memset(&v, 0, sizeof(v));
    v.b = f->def_int != 0;
    v.i = f->def_int;
    if (f->type == CFG_STRING || f->type == CFG_ENUM) {
        v.s = amaters_strdup(f->def_str);
        if (v.s == NULL)
            return AMATERS_ENOMEM;
    }
    if (f->type == CFG_LIST && list_alloc(&v, 0) != 0)
        return AMATERS_ENOMEM;
    rv = cfg_val_check(f, &v, &bad);
    if (rv == 0)
        rv = cfg_val_store(f, cfg, &v);
    if (rv != 0)
        cfg_val_release(f, &v);
    return rv;
}

void cfg_field_free(const struct cfg_field *f, struct amaters_config *cfg)
{
    struct cfg_val v;

    cfg_val_view(f, cfg, &v);
    cfg_val_release(f, &v);
    if (f->type == CFG_STRING || f->type == CFG_ENUM)
        *(char **)at(cfg, f->offset) = NULL;
    if (f->type == CFG_LIST) {
        *(char ***)at(cfg, f->offset) = NULL;
        *(size_t *)at(cfg, f->aux) = 0;
    }
}

int cfg_field_copy(const struct cfg_field *f, struct amaters_config *dst,
                   const struct amaters_config *src)
{
    struct cfg_val from, v;
    size_t i;

    cfg_val_view(f, src, &from);
    v = from;
    v.s = NULL;
    v.list = NULL;
    v.count = 0;
    if (from.s != NULL) {
        v.s = amaters_strdup(from.s);
        if (v.s == NULL)
            return AMATERS_ENOMEM;
    }
    if (f->type == CFG_LIST && list_alloc(&v, from.count) != 0)
        return AMATERS_ENOMEM;
    for (i = 0; i < v.count; i++) {
        v.list[i] = amaters_strdup(from.list[i]);
        if (v.list[i] == NULL) {
            cfg_val_release(f, &v);
            return AMATERS_ENOMEM;
        }
    }
    if (f->type == CFG_LIST && (f->flags & CFG_MASK))
        v.mask = *(const unsigned *)at(src, f->aux2);
    if (f->type == CFG_ENUM) {
        /* Store the string as is (it may be a not yet validated edit). */
        *(int *)at(dst, f->aux) = from.id;
        *(char **)at(dst, f->offset) = v.s;
        return 0;
    }
    return cfg_val_store(f, dst, &v);
}

static bool str_equal(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

bool cfg_field_equal(const struct cfg_field *f, const struct amaters_config *a,
                     const struct amaters_config *b)
{
    struct cfg_val x, y;
    size_t i;

    cfg_val_view(f, a, &x);
    cfg_val_view(f, b, &y);
    switch (f->type) {
    case CFG_BOOL:
        return x.b == y.b;
    case CFG_INT:
        return x.i == y.i;
    case CFG_STRING:
    case CFG_ENUM:
        return str_equal(x.s, y.s);
    case CFG_LIST:
        break;
    }
    if (x.count != y.count)
        return false;
    for (i = 0; i < x.count; i++) {
        if (!str_equal(x.list[i], y.list[i]))
            return false;
    }
    return true;
}

bool cfg_is_placeholder(const struct cfg_field *f, const char *s)
{
    return (f->flags & CFG_SECRET) && s != NULL &&
           strcmp(s, CFG_PLACEHOLDER) == 0;
}

void cfg_placeholder_error(const struct cfg_field *f, const char *where,
                           bool in_file, char *err, size_t errlen)
{
    char env[128];

    cfg_env_name(f, env, sizeof(env));
    snprintf(err, errlen,
             "%s%s%s is the placeholder \"" CFG_PLACEHOLDER "\" written by "
             "--generate-config/--show, not a secret: %s%s%s",
             where != NULL ? where : "", where != NULL ? ": " : "", f->name,
             in_file ? "put the real secret here (or set it via "
                     : "give the real secret",
             in_file ? env : "", in_file ? ")" : "");
}
