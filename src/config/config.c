/*
 * config.c - the configuration's life cycle and its layers: defaults,
 * copying, comparing and freeing, the TOML file, the environment and
 * single keys set from text (command-line flags).
 *
 * Each layer is applied to a copy of the config that replaces the original
 * only when the whole layer succeeded, so a failed load changes nothing.
 * Everything walks the schema table of config_schema.c.
 */
#include "config/config_schema.h"

#include "core/alloc.h"
#include "core/errors.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define NAME_MAX_LEN 128 /* longest dotted name considered */
#define SHOW_MAX 96
#define WHERE_MAX 1024 /* "FILE:LINE:COL" */

static const struct {
    const char *env, *key;
} legacy_env[] = {
    {"AMATERS_BIND_ADDRESS", "server.bind_address"},
    {"AMATERS_DATA_DIR", "server.data_dir"},
    {"AMATERS_LOG_LEVEL", "logging.level"},
    {"AMATERS_TLS_ENABLED", "network.tls_enabled"},
};

int amaters_config_init_defaults(struct amaters_config *cfg)
{
    size_t i;
    int rv;

    memset(cfg, 0, sizeof(*cfg));
    for (i = 0; i < cfg_nfields; i++) {
        rv = cfg_field_default(&cfg_fields[i], cfg);
        if (rv != 0) {
            amaters_config_free(cfg);
            return rv;
        }
    }
    return 0;
}

void amaters_config_free(struct amaters_config *cfg)
{
    size_t i;

    if (cfg == NULL)
        return;
    for (i = 0; i < cfg_nfields; i++)
        cfg_field_free(&cfg_fields[i], cfg);
    cfg_origin_free(cfg);
    memset(cfg, 0, sizeof(*cfg));
}

int amaters_config_copy(struct amaters_config *dst,
                        const struct amaters_config *src)
{
    size_t i;
    int rv;

    memset(dst, 0, sizeof(*dst));
    for (i = 0; i < cfg_nfields; i++) {
        rv = cfg_field_copy(&cfg_fields[i], dst, src);
        if (rv != 0) {
            amaters_config_free(dst);
            return rv;
        }
    }
    rv = cfg_origin_copy(dst, src);
    if (rv != 0)
        amaters_config_free(dst);
    return rv;
}

const char *amaters_config_diff(const struct amaters_config *a,
                                const struct amaters_config *b)
{
    size_t i;

    for (i = 0; i < cfg_nfields; i++) {
        if (!cfg_field_equal(&cfg_fields[i], a, b))
            return cfg_fields[i].name;
    }
    return NULL;
}

size_t amaters_config_diff_all(const struct amaters_config *a,
                               const struct amaters_config *b,
                               const char **names, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < cfg_nfields; i++) {
        if (cfg_field_equal(&cfg_fields[i], a, b))
            continue;
        if (n < max)
            names[n] = cfg_fields[i].name;
        n++;
    }
    return n;
}

int amaters_config_check_reload(const struct amaters_config *old_cfg,
                                const struct amaters_config *new_cfg,
                                char *err, size_t errlen)
{
    size_t i;

    for (i = 0; i < cfg_nfields; i++) {
        if ((cfg_fields[i].flags & CFG_RELOADABLE) ||
            cfg_field_equal(&cfg_fields[i], old_cfg, new_cfg))
            continue;
        snprintf(err, errlen, "%s: changing it needs a restart",
                 cfg_fields[i].name);
        return AMATERS_ECONFIG;
    }
    return 0;
}

unsigned amaters_config_auth_methods(const struct amaters_config *cfg)
{
    unsigned mask = cfg->auth.methods_mask;

    if (!cfg->auth.enabled)
        return 0;
    if (cfg->auth.mtls.enabled)
        mask |= AMATERS_AUTH_METHOD_MTLS;
    if (cfg->auth.jwt.enabled)
        mask |= AMATERS_AUTH_METHOD_JWT;
    if (cfg->auth.api_key.enabled)
        mask |= AMATERS_AUTH_METHOD_API_KEY;
    return mask;
}

/* Writes explicit into buf, or when it is empty "<data_dir>/name" (one
 * slash between them, trailing slashes of data_dir dropped; an empty
 * data_dir gives name alone). */
static const char *data_dir_path(const struct amaters_config *cfg,
                                 const char *explicit, const char *name,
                                 char *buf, size_t len)
{
    const char *dir = cfg->server.data_dir;
    size_t dlen = strlen(dir);
    int n;

    if (explicit[0] != '\0') {
        n = snprintf(buf, len, "%s", explicit);
    } else {
        while (dlen > 1 && dir[dlen - 1] == '/')
            dlen--;
        n = snprintf(buf, len, "%.*s%s%s", (int)dlen, dir,
                     dlen == 0 || dir[dlen - 1] == '/' ? "" : "/", name);
    }
    return n < 0 || (size_t)n >= len ? NULL : buf;
}

const char *amaters_config_pid_path(const struct amaters_config *cfg,
                                    char *buf, size_t len)
{
    return data_dir_path(cfg, cfg->server.pid_file, "amaters-server.pid",
                         buf, len);
}

const char *amaters_config_log_path(const struct amaters_config *cfg,
                                    char *buf, size_t len)
{
    return data_dir_path(cfg, cfg->logging.file_path, "amaters-server.log",
                         buf, len);
}

const char *amaters_config_audit_path(const struct amaters_config *cfg,
                                      char *buf, size_t len)
{
    return data_dir_path(cfg, cfg->authz.audit_log_path, "audit.jsonl", buf,
                         len);
}

/* ---- messages ---- */

/* Edit distance of a and b (both at most NAME_MAX_LEN bytes). */
static size_t edit_distance(const char *a, size_t an, const char *b,
                            size_t bn)
{
    size_t row[NAME_MAX_LEN + 1];
    size_t i, j, diag, up, best;

    for (j = 0; j <= bn; j++)
        row[j] = j;
    for (i = 1; i <= an; i++) {
        diag = row[0];
        row[0] = i;
        for (j = 1; j <= bn; j++) {
            up = row[j];
            best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[bn];
}

/* Writes " (did you mean 'x'?)" for the closest key or section, or "". */
static void suggest(const char *name, size_t nlen, char *buf, size_t n)
{
    const char *best = NULL;
    size_t best_len = 0, best_d = (size_t)-1, d, i, len;

    buf[0] = '\0';
    if (nlen > NAME_MAX_LEN)
        return;
    for (i = 0; i < cfg_nfields; i++) {
        /* Every key and every section prefix of it. */
        for (len = strlen(cfg_fields[i].name); len > 0; len--) {
            if (cfg_fields[i].name[len] != '\0' &&
                cfg_fields[i].name[len] != '.')
                continue;
            d = edit_distance(name, nlen, cfg_fields[i].name, len);
            if (d > 0 && d < best_d) { /* never the name itself */
                best_d = d;
                best = cfg_fields[i].name;
                best_len = len;
            }
        }
    }
    if (best != NULL && best_d <= 3 && best_d * 2 < nlen)
        snprintf(buf, n, " (did you mean '%.*s'?)", (int)best_len, best);
}

static void unknown_key(char *err, size_t errlen, const char *where,
                        const char *what, const char *name, size_t nlen)
{
    char hint[NAME_MAX_LEN + 32];
    char shown[SHOW_MAX];

    suggest(name, nlen, hint, sizeof(hint));
    cfg_quote(name, nlen, shown, sizeof(shown));
    /* Show the name between single quotes, not double. */
    shown[0] = '\'';
    shown[strlen(shown) - 1] = '\'';
    snprintf(err, errlen, "%s: unknown %s %s%s", where, what, shown, hint);
}

static void value_error(char *err, size_t errlen, const char *where,
                        const struct cfg_field *f, const char *got)
{
    char expected[256];

    cfg_expected(f, expected, sizeof(expected));
    snprintf(err, errlen, "%s: %s: %s, got %s", where, f->name, expected,
             got);
}

/* Describes a TOML value for "got ...": the value itself for scalars
 * (never for secrets), else its kind. */
static void show_toml(const struct cfg_field *f,
                      const struct amaters_toml_value *v, char *buf,
                      size_t n)
{
    const char *t = amaters_toml_type_name(v->type);
    bool an = t[0] == 'a' || t[0] == 'i' || t[0] == 'o';

    if (f != NULL && (f->flags & CFG_SECRET))
        snprintf(buf, n, "%s %s", an ? "an" : "a", t);
    else if (v->type == AMATERS_TOML_STRING)
        cfg_quote(v->u.string.ptr, v->u.string.len, buf, n);
    else if (v->type == AMATERS_TOML_INTEGER)
        snprintf(buf, n, "%lld", (long long)v->u.integer);
    else if (v->type == AMATERS_TOML_FLOAT)
        snprintf(buf, n, "%g", v->u.floating);
    else if (v->type == AMATERS_TOML_BOOLEAN)
        snprintf(buf, n, "%s", v->u.boolean ? "true" : "false");
    else
        snprintf(buf, n, "%s %s", an ? "an" : "a", t);
}

/* ---- storing with the origin ---- */

/* Stores v into cfg as f's value and origin (a heap string, or NULL when
 * it could not be made) as its origin. origin is cfg's on success and
 * freed on failure, when cfg is left as it was. Returns 0 or
 * AMATERS_ENOMEM. */
static int store_with_origin(const struct cfg_field *f,
                             struct amaters_config *cfg, struct cfg_val *v,
                             char *origin)
{
    bool fresh = false;
    int rv = origin != NULL ? 0 : AMATERS_ENOMEM;

    if (rv == 0)
        rv = cfg_origin_reserve(cfg, &fresh);
    if (rv == 0) {
        rv = cfg_val_store(f, cfg, v);
        if (rv != 0)
            cfg_origin_undo(cfg, fresh);
    }
    if (rv == 0)
        cfg_origin_put(cfg, f, origin);
    else
        amaters_free(origin);
    return rv;
}

/* Returns a new heap string "FILE:LINE:COL", or NULL (out of memory). */
static char *origin_at(const char *file, int line, int col)
{
    size_t n = strlen(file) + 32;
    char *s = amaters_malloc(n);

    if (s != NULL)
        snprintf(s, n, "%s:%d:%d", file, line, col);
    return s;
}

/* ---- the TOML file ---- */

struct load_ctx {
    const char *file;
    char *err;
    size_t errlen;
};

static void where_at(const struct load_ctx *c, int line, int col, char *buf,
                     size_t n)
{
    snprintf(buf, n, "%s:%d:%d", c->file, line, col);
}

static int apply_toml_value(const struct load_ctx *c,
                            const struct cfg_field *f,
                            const struct amaters_toml_value *tv,
                            struct amaters_config *cfg)
{
    const struct amaters_toml_value *bad = tv;
    char where[WHERE_MAX], got[SHOW_MAX];
    struct cfg_val v;
    long item = -1;
    int rv;

    rv = cfg_val_from_toml(f, tv, &v, &bad);
    if (rv == 0 && cfg_is_placeholder(f, v.s)) {
        cfg_val_release(f, &v);
        where_at(c, tv->line, tv->col, where, sizeof(where));
        cfg_placeholder_error(f, where, true, c->err, c->errlen);
        return AMATERS_ECONFIG;
    }
    if (rv == 0) {
        rv = cfg_val_check(f, &v, &item);
        if (item >= 0)
            bad = amaters_toml_array_at(tv, (size_t)item);
    }
    if (rv == 0)
        rv = store_with_origin(f, cfg, &v,
                               origin_at(c->file, tv->line, tv->col));
    cfg_val_release(f, &v);
    if (rv == AMATERS_ENOMEM) {
        snprintf(c->err, c->errlen, "%s: out of memory", c->file);
    } else if (rv != 0) {
        where_at(c, bad->line, bad->col, where, sizeof(where));
        show_toml(f, bad, got, sizeof(got));
        value_error(c->err, c->errlen, where, f, got);
    }
    return rv;
}

/* Applies every key of TOML table t, whose dotted name is prefix. */
static int apply_table(const struct load_ctx *c,
                       const struct amaters_toml_value *t, const char *prefix,
                       struct amaters_config *cfg)
{
    const struct amaters_toml_value *v;
    const struct cfg_field *f;
    char name[NAME_MAX_LEN + 2], where[WHERE_MAX];
    const char *key;
    size_t i, klen;
    int n, rv;

    for (i = 0; i < amaters_toml_table_count(t); i++) {
        v = amaters_toml_table_at(t, i, &key, &klen);
        n = snprintf(name, sizeof(name), "%s%s%.*s", prefix,
                     prefix[0] ? "." : "", (int)klen, key);
        where_at(c, v->key_line, v->key_col, where, sizeof(where));
        if (n < 0 || (size_t)n >= sizeof(name) || memchr(key, '.', klen) ||
            strlen(key) != klen) {
            unknown_key(c->err, c->errlen, where, "key", key, klen);
            return AMATERS_ECONFIG;
        }
        f = cfg_find(name, (size_t)n);
        if (f != NULL) {
            rv = apply_toml_value(c, f, v, cfg);
        } else if (!cfg_is_section(name, (size_t)n)) {
            unknown_key(c->err, c->errlen, where,
                        v->type == AMATERS_TOML_TABLE ? "section" : "key",
                        name, (size_t)n);
            rv = AMATERS_ECONFIG;
        } else if (v->type != AMATERS_TOML_TABLE) {
            snprintf(c->err, c->errlen, "%s: %s: expected a table, got %s",
                     where, name, amaters_toml_type_name(v->type));
            rv = AMATERS_ECONFIG;
        } else {
            rv = apply_table(c, v, name, cfg);
        }
        if (rv != 0)
            return rv;
    }
    return 0;
}

/* Applies a parsed document to a copy of cfg; swaps it in on success. */
static int apply_document(struct amaters_config *cfg,
                          const struct amaters_toml_value *doc,
                          const char *file, char *err, size_t errlen)
{
    struct load_ctx c = {file, err, errlen};
    struct amaters_config tmp;
    int rv;

    rv = amaters_config_copy(&tmp, cfg);
    if (rv != 0) {
        snprintf(err, errlen, "%s: out of memory", file);
        return rv;
    }
    rv = apply_table(&c, doc, "", &tmp);
    if (rv != 0) {
        amaters_config_free(&tmp);
        return rv;
    }
    amaters_config_free(cfg);
    *cfg = tmp;
    return 0;
}

int amaters_config_load_buffer(struct amaters_config *cfg, const char *text,
                               size_t len, const char *name, char *err,
                               size_t errlen)
{
    struct amaters_toml_value *doc = NULL;
    int rv;

    if (name == NULL)
        name = "<string>";
    rv = amaters_toml_parse(text, len, name, &doc, err, errlen);
    if (rv == 0)
        rv = apply_document(cfg, doc, name, err, errlen);
    amaters_toml_free(doc);
    return rv;
}

int amaters_config_load_file(struct amaters_config *cfg, const char *path,
                             char *err, size_t errlen)
{
    struct amaters_toml_value *doc = NULL;
    int rv;

    if (path[0] == '\0') {
        snprintf(err, errlen,
                 "the configuration file name is empty (--config needs a "
                 "file name)");
        return AMATERS_EIO;
    }
    rv = amaters_toml_parse_file(path, &doc, err, errlen);
    if (rv == 0)
        rv = apply_document(cfg, doc, path, err, errlen);
    amaters_toml_free(doc);
    return rv;
}

/* ---- text: flags and environment ---- */

/* Returns the first key (in table order) of section, which must be one
 * (cfg_is_section). */
static const struct cfg_field *first_key_of(const char *section)
{
    size_t i, n = strlen(section);

    for (i = 0; i < cfg_nfields; i++) {
        if (strncmp(cfg_fields[i].name, section, n) == 0 &&
            cfg_fields[i].name[n] == '.')
            break;
    }
    return &cfg_fields[i];
}

int amaters_config_set(struct amaters_config *cfg, const char *dotted_key,
                       const char *value, const char *source, char *err,
                       size_t errlen)
{
    const struct cfg_field *f = cfg_find(dotted_key, strlen(dotted_key));
    char got[SHOW_MAX];
    struct cfg_val v;
    long item = -1;
    int rv;

    if (f == NULL && cfg_is_section(dotted_key, strlen(dotted_key))) {
        f = first_key_of(dotted_key);
        snprintf(err, errlen, "%s: %s is a table; set its keys, e.g. %s",
                 source, dotted_key, f->name);
        return AMATERS_ECONFIG;
    }
    if (f == NULL) {
        unknown_key(err, errlen, source, "key", dotted_key,
                    strlen(dotted_key));
        return AMATERS_ECONFIG;
    }
    if (cfg_is_placeholder(f, value)) {
        cfg_placeholder_error(f, source, false, err, errlen);
        return AMATERS_ECONFIG;
    }
    rv = cfg_val_from_text(f, value, &v, &item);
    if (rv == 0)
        rv = cfg_val_check(f, &v, &item);
    if (rv == 0)
        rv = store_with_origin(f, cfg, &v, amaters_strdup(source));
    if (rv == AMATERS_ENOMEM) {
        snprintf(err, errlen, "%s: out of memory", source);
    } else if (rv != 0) {
        if (f->flags & CFG_SECRET)
            snprintf(got, sizeof(got), "a value not shown (secret)");
        else if (item >= 0 && v.list != NULL && v.list[item] != NULL)
            cfg_quote(v.list[item], strlen(v.list[item]), got, sizeof(got));
        else
            cfg_quote(value, strlen(value), got, sizeof(got));
        value_error(err, errlen, source, f, got);
    }
    cfg_val_release(f, &v);
    return rv;
}

/* True when name[0..nlen) contains "__". */
static bool has_double_underscore(const char *name, size_t nlen)
{
    size_t i;

    for (i = 0; i + 1 < nlen; i++) {
        if (name[i] == '_' && name[i + 1] == '_')
            return true;
    }
    return false;
}

/* Maps the environment variable name (nlen bytes) to a dotted key in buf;
 * returns 1 when the name is one of ours, 0 when it is to be ignored. */
static int env_key(const char *name, size_t nlen, char *buf, size_t n)
{
    size_t i, o = 0;

    for (i = 0; i < sizeof(legacy_env) / sizeof(legacy_env[0]); i++) {
        if (strlen(legacy_env[i].env) == nlen &&
            strncasecmp(name, legacy_env[i].env, nlen) == 0) {
            snprintf(buf, n, "%s", legacy_env[i].key);
            return 1;
        }
    }
    if (nlen < 8 || strncasecmp(name, "AMATERS_", 8) != 0 ||
        !has_double_underscore(name, nlen))
        return 0;
    for (i = 8; i < nlen && o + 1 < n; i++) {
        if (name[i] == '_' && i + 1 < nlen && name[i + 1] == '_') {
            buf[o++] = '.';
            i++;
        } else {
            buf[o++] = (char)tolower((unsigned char)name[i]);
        }
    }
    buf[o] = '\0';
    return 1;
}

/* Applies, in order, the variables of envp with legacy names (legacy) or
 * with general ones (!legacy). */
static int apply_env_pass(struct amaters_config *cfg, char *const *envp,
                          bool legacy, char *err, size_t errlen)
{
    char key[NAME_MAX_LEN + 1], source[NAME_MAX_LEN + 32];
    char example[NAME_MAX_LEN + 32];
    const char *eq;
    size_t nlen;
    int rv;

    for (; *envp != NULL; envp++) {
        eq = strchr(*envp, '=');
        if (eq == NULL)
            continue;
        nlen = (size_t)(eq - *envp);
        if (!env_key(*envp, nlen, key, sizeof(key)) ||
            has_double_underscore(*envp, nlen) == legacy)
            continue;
        snprintf(source, sizeof(source), "environment %.*s",
                 (int)(nlen < NAME_MAX_LEN ? nlen : NAME_MAX_LEN), *envp);
        if (cfg_find(key, strlen(key)) == NULL &&
            cfg_is_section(key, strlen(key))) {
            /* Name a variable of the table, not a dotted key. */
            cfg_env_name(first_key_of(key), example, sizeof(example));
            snprintf(err, errlen, "%s: %s is a table; set its keys, e.g. %s",
                     source, key, example);
            return AMATERS_ECONFIG;
        }
        rv = amaters_config_set(cfg, key, eq + 1, source, err, errlen);
        if (rv != 0)
            return rv;
    }
    return 0;
}

int amaters_config_apply_env(struct amaters_config *cfg, char *const *envp,
                             char *err, size_t errlen)
{
    struct amaters_config tmp;
    int rv;

    if (envp == NULL)
        return 0;
    rv = amaters_config_copy(&tmp, cfg);
    if (rv != 0) {
        snprintf(err, errlen, "environment: out of memory");
        return rv;
    }
    rv = apply_env_pass(&tmp, envp, true, err, errlen);
    if (rv == 0)
        rv = apply_env_pass(&tmp, envp, false, err, errlen);
    if (rv != 0) {
        amaters_config_free(&tmp);
        return rv;
    }
    amaters_config_free(cfg);
    *cfg = tmp;
    return 0;
}
