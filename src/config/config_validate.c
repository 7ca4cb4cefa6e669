/*
 * config_validate.c - amaters_config_validate(): every key against its own
 * rules from the schema table, then the rules that tie keys together.
 *
 * Only the configuration itself is judged: no file named in it is opened
 * (a config prepared for another machine must validate here). A broken
 * rule between keys is reported with where each key involved got its
 * value (file position, environment variable, flag or built-in default),
 * since any layer may be the one to fix.
 */
#include "config/config_schema.h"

#include "core/errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define NOTE_MAX 640 /* " (key: from origin; ...)" */
#define NOTE_KEYS 5

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return AMATERS_ECONFIG;
}

/* Writes into buf (n bytes) where the count keys (dotted names) got their
 * values: " (from X)" or " (built-in default)" for one key, " (k1: from
 * X; k2: built-in default)" for several. Returns buf. */
static const char *note_keys(const struct amaters_config *cfg, char *buf,
                             size_t n, const char *const *keys, size_t count)
{
    const struct cfg_field *f;
    const char *o;
    size_t i, o_len = 0;
    int w;

    buf[0] = '\0';
    if (count == 0)
        return buf;
    for (i = 0; i < count && o_len < n; i++) {
        f = cfg_find(keys[i], strlen(keys[i]));
        o = f != NULL ? cfg_origin(cfg, f) : NULL;
        w = snprintf(buf + o_len, n - o_len, "%s%s%s%s%s",
                     i == 0 ? " (" : "; ", count > 1 ? keys[i] : "",
                     count > 1 ? ": " : "", o != NULL ? "from " : "",
                     o != NULL ? o : "built-in default");
        if (w < 0)
            break;
        o_len += (size_t)w;
    }
    if (o_len + 1 < n)
        snprintf(buf + o_len, n - o_len, ")");
    return buf;
}

/* note_keys() for the keys given as arguments, ending with NULL. */
static const char *note(const struct amaters_config *cfg, char *buf,
                        size_t n, ...) __attribute__((sentinel));
static const char *note(const struct amaters_config *cfg, char *buf,
                        size_t n, ...)
{
    const char *keys[NOTE_KEYS];
    const char *k;
    size_t count = 0;
    va_list ap;

    va_start(ap, n);
    for (k = va_arg(ap, const char *); k != NULL && count < NOTE_KEYS;
         k = va_arg(ap, const char *))
        keys[count++] = k;
    va_end(ap);
    return note_keys(cfg, buf, n, keys, count);
}

static int validate_fields(const struct amaters_config *cfg, char *err,
                           size_t errlen)
{
    const struct cfg_field *f;
    char expected[256], got[128];
    struct cfg_val v;
    long item;
    size_t i;

    for (i = 0; i < cfg_nfields; i++) {
        f = &cfg_fields[i];
        cfg_val_view(f, cfg, &v);
        if (cfg_is_placeholder(f, v.s)) {
            cfg_placeholder_error(f, NULL, false, err, errlen);
            return AMATERS_ECONFIG;
        }
        if (cfg_val_check(f, &v, &item) == 0)
            continue;
        cfg_expected(f, expected, sizeof(expected));
        if (f->type == CFG_INT)
            snprintf(got, sizeof(got), "%lld", (long long)v.i);
        else if (item >= 0 && v.list[item] != NULL)
            cfg_quote(v.list[item], strlen(v.list[item]), got, sizeof(got));
        else if (v.s != NULL && !(f->flags & CFG_SECRET))
            cfg_quote(v.s, strlen(v.s), got, sizeof(got));
        else
            snprintf(got, sizeof(got), "%s", v.s ? "a secret" : "nothing");
        return fail(err, errlen, "%s: %s, got %s", f->name, expected, got);
    }
    return 0;
}

static int validate_cluster(const struct amaters_config *cfg, char *err,
                            size_t errlen)
{
    const struct amaters_config_cluster *c = &cfg->cluster;
    char nb[NOTE_MAX];
    size_t i, j;

    if (c->election_timeout_ms <= c->heartbeat_interval_ms)
        return fail(err, errlen,
                    "cluster.election_timeout_ms (%lld) must be greater "
                    "than cluster.heartbeat_interval_ms (%lld)%s",
                    (long long)c->election_timeout_ms,
                    (long long)c->heartbeat_interval_ms,
                    note(cfg, nb, sizeof(nb), "cluster.election_timeout_ms",
                         "cluster.heartbeat_interval_ms", NULL));
    for (i = 0; i < c->peers_count; i++) {
        for (j = 0; j < i; j++) {
            if (cfg_peer_id(c->peers[i]) == cfg_peer_id(c->peers[j]))
                return fail(err, errlen,
                            "cluster.peers: id %lld is used twice%s",
                            (long long)cfg_peer_id(c->peers[i]),
                            note(cfg, nb, sizeof(nb), "cluster.peers",
                                 NULL));
        }
    }
    return 0;
}

static int validate_tls(const struct amaters_config *cfg, char *err,
                        size_t errlen)
{
    const struct amaters_config_network *n = &cfg->network;
    const char *missing;
    char nb[NOTE_MAX];

    missing = n->tls_cert[0] == '\0' ? "network.tls_cert"
              : n->tls_key[0] == '\0' ? "network.tls_key"
                                      : NULL;
    if (n->tls_enabled && missing != NULL)
        return fail(err, errlen,
                    "network.tls_enabled is true but %s is empty%s", missing,
                    note(cfg, nb, sizeof(nb), "network.tls_enabled", missing,
                         NULL));
    if (n->require_client_cert && !n->tls_enabled)
        return fail(err, errlen,
                    "network.require_client_cert needs "
                    "network.tls_enabled = true%s",
                    note(cfg, nb, sizeof(nb), "network.require_client_cert",
                         "network.tls_enabled", NULL));
    if (n->require_client_cert && n->tls_ca[0] == '\0')
        return fail(err, errlen,
                    "network.require_client_cert is true but "
                    "network.tls_ca is empty%s",
                    note(cfg, nb, sizeof(nb), "network.require_client_cert",
                         "network.tls_ca", NULL));
    return 0;
}

static int validate_network(const struct amaters_config *cfg, char *err,
                            size_t errlen)
{
    char nb[NOTE_MAX];
    int rv = validate_tls(cfg, err, errlen);

    if (rv != 0)
        return rv;
    if (strcmp(cfg->server.bind_address, cfg->metrics.bind_address) == 0 &&
        cfg->metrics.enabled &&
        strcmp(strrchr(cfg->server.bind_address, ':'), ":0") != 0)
        return fail(err, errlen,
                    "server.bind_address and metrics.bind_address are both "
                    "%s%s",
                    cfg->server.bind_address,
                    note(cfg, nb, sizeof(nb), "server.bind_address",
                         "metrics.bind_address", NULL));
    return 0;
}

/* A note on the keys that put method bit m in use (auth.methods, the
 * method's own enabled key) and the keys given after n (up to two, ending
 * with NULL). */
static const char *method_note(const struct amaters_config *cfg,
                               unsigned m, char *buf, size_t n, ...)
    __attribute__((sentinel));
static const char *method_note(const struct amaters_config *cfg,
                               unsigned m, char *buf, size_t n, ...)
{
    const struct amaters_config_auth *a = &cfg->auth;
    const char *keys[NOTE_KEYS];
    const char *k;
    size_t count = 0;
    va_list ap;

    if (a->methods_mask & m)
        keys[count++] = "auth.methods";
    if (m == AMATERS_AUTH_METHOD_MTLS && a->mtls.enabled)
        keys[count++] = "auth.mtls.enabled";
    if (m == AMATERS_AUTH_METHOD_JWT && a->jwt.enabled)
        keys[count++] = "auth.jwt.enabled";
    if (m == AMATERS_AUTH_METHOD_API_KEY && a->api_key.enabled)
        keys[count++] = "auth.api_key.enabled";
    va_start(ap, n);
    for (k = va_arg(ap, const char *); k != NULL && count < NOTE_KEYS;
         k = va_arg(ap, const char *))
        keys[count++] = k;
    va_end(ap);
    return note_keys(cfg, buf, n, keys, count);
}

static int validate_auth(const struct amaters_config *cfg, char *err,
                         size_t errlen)
{
    const struct amaters_config_auth *a = &cfg->auth;
    unsigned m = amaters_config_auth_methods(cfg);
    char nb[NOTE_MAX];
    bool hmac;

    if (!a->enabled)
        return 0;
    if (m == 0)
        return fail(err, errlen,
                    "auth.enabled is true%s but no method is in use: set "
                    "auth.methods",
                    note(cfg, nb, sizeof(nb), "auth.enabled", NULL));
    if ((m & AMATERS_AUTH_METHOD_API_KEY) && a->api_key.keys_file[0] == '\0')
        return fail(err, errlen,
                    "auth method api_key needs auth.api_key.keys_file%s",
                    method_note(cfg, AMATERS_AUTH_METHOD_API_KEY, nb,
                                sizeof(nb), "auth.api_key.keys_file", NULL));
    hmac = strncmp(a->jwt.algorithm, "HS", 2) == 0;
    if ((m & AMATERS_AUTH_METHOD_JWT) && hmac && a->jwt.secret[0] == '\0')
        return fail(err, errlen,
                    "auth method jwt with algorithm %s needs "
                    "auth.jwt.secret%s",
                    a->jwt.algorithm,
                    method_note(cfg, AMATERS_AUTH_METHOD_JWT, nb, sizeof(nb),
                                "auth.jwt.algorithm", "auth.jwt.secret",
                                NULL));
    if ((m & AMATERS_AUTH_METHOD_JWT) && !hmac &&
        a->jwt.public_key_path[0] == '\0')
        return fail(err, errlen,
                    "auth method jwt with algorithm %s needs "
                    "auth.jwt.public_key_path%s",
                    a->jwt.algorithm,
                    method_note(cfg, AMATERS_AUTH_METHOD_JWT, nb, sizeof(nb),
                                "auth.jwt.algorithm",
                                "auth.jwt.public_key_path", NULL));
    if ((m & AMATERS_AUTH_METHOD_MTLS) && !cfg->network.tls_enabled)
        return fail(err, errlen,
                    "auth method mtls needs network.tls_enabled = true%s",
                    method_note(cfg, AMATERS_AUTH_METHOD_MTLS, nb, sizeof(nb),
                                "network.tls_enabled", NULL));
    if ((m & AMATERS_AUTH_METHOD_MTLS) && cfg->network.tls_ca[0] == '\0' &&
        a->mtls.ca_certs_dir[0] == '\0')
        return fail(err, errlen,
                    "auth method mtls needs network.tls_ca or "
                    "auth.mtls.ca_certs_dir%s",
                    method_note(cfg, AMATERS_AUTH_METHOD_MTLS, nb, sizeof(nb),
                                "network.tls_ca", "auth.mtls.ca_certs_dir",
                                NULL));
    return 0;
}

static int validate_paths(const struct amaters_config *cfg, char *err,
                          size_t errlen)
{
    char nb[NOTE_MAX];

    if (cfg->server.data_dir[0] == '\0')
        return fail(err, errlen, "server.data_dir is empty%s",
                    note(cfg, nb, sizeof(nb), "server.data_dir", NULL));
    if (cfg->storage.wal.enabled && cfg->storage.wal.dir[0] == '\0')
        return fail(err, errlen,
                    "storage.wal.enabled is true but storage.wal.dir is "
                    "empty%s",
                    note(cfg, nb, sizeof(nb), "storage.wal.enabled",
                         "storage.wal.dir", NULL));
    /* An empty server.pid_file, logging.file_path or authz.audit_log_path
     * means a file in data_dir; storage.wal.sync_mode is ignored when the
     * WAL is off. */
    return 0;
}

int amaters_config_validate(const struct amaters_config *cfg, char *err,
                            size_t errlen)
{
    int rv;

    rv = validate_fields(cfg, err, errlen);
    if (rv == 0)
        rv = validate_paths(cfg, err, errlen);
    if (rv == 0)
        rv = validate_network(cfg, err, errlen);
    if (rv == 0)
        rv = validate_cluster(cfg, err, errlen);
    if (rv == 0)
        rv = validate_auth(cfg, err, errlen);
    return rv;
}
