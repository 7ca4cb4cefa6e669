/*
 * config_validate.c - amaters_config_validate(): every key against its own
 * rules from the schema table, then the rules that tie keys together.
 *
 * Only the configuration itself is judged: no file named in it is opened
 * (a config prepared for another machine must validate here).
 */
#include "config/config_schema.h"

#include "core/errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
    size_t i, j;

    if (c->election_timeout_ms <= c->heartbeat_interval_ms)
        return fail(err, errlen,
                    "cluster.election_timeout_ms (%lld) must be greater "
                    "than cluster.heartbeat_interval_ms (%lld)",
                    (long long)c->election_timeout_ms,
                    (long long)c->heartbeat_interval_ms);
    for (i = 0; i < c->peers_count; i++) {
        for (j = 0; j < i; j++) {
            if (cfg_peer_id(c->peers[i]) == cfg_peer_id(c->peers[j]))
                return fail(err, errlen,
                            "cluster.peers: id %lld is used twice",
                            (long long)cfg_peer_id(c->peers[i]));
        }
    }
    return 0;
}

static int validate_network(const struct amaters_config *cfg, char *err,
                            size_t errlen)
{
    const struct amaters_config_network *n = &cfg->network;

    if (n->tls_enabled && (n->tls_cert[0] == '\0' || n->tls_key[0] == '\0'))
        return fail(err, errlen,
                    "network.tls_enabled is true but network.tls_cert or "
                    "network.tls_key is empty");
    if (n->require_client_cert && !n->tls_enabled)
        return fail(err, errlen,
                    "network.require_client_cert needs "
                    "network.tls_enabled = true");
    if (n->require_client_cert && n->tls_ca[0] == '\0')
        return fail(err, errlen,
                    "network.require_client_cert is true but "
                    "network.tls_ca is empty");
    if (strcmp(cfg->server.bind_address, cfg->metrics.bind_address) == 0 &&
        cfg->metrics.enabled &&
        strcmp(strrchr(cfg->server.bind_address, ':'), ":0") != 0)
        return fail(err, errlen,
                    "server.bind_address and metrics.bind_address are both "
                    "%s",
                    cfg->server.bind_address);
    return 0;
}

static int validate_auth(const struct amaters_config *cfg, char *err,
                         size_t errlen)
{
    const struct amaters_config_auth *a = &cfg->auth;
    unsigned m = amaters_config_auth_methods(cfg);
    bool hmac;

    if (!a->enabled)
        return 0;
    if (m == 0)
        return fail(err, errlen,
                    "auth.enabled is true but no method is in use (set "
                    "auth.methods)");
    if ((m & AMATERS_AUTH_METHOD_API_KEY) && a->api_key.keys_file[0] == '\0')
        return fail(err, errlen,
                    "auth method api_key needs auth.api_key.keys_file");
    hmac = strncmp(a->jwt.algorithm, "HS", 2) == 0;
    if ((m & AMATERS_AUTH_METHOD_JWT) && hmac && a->jwt.secret[0] == '\0')
        return fail(err, errlen,
                    "auth method jwt with algorithm %s needs "
                    "auth.jwt.secret",
                    a->jwt.algorithm);
    if ((m & AMATERS_AUTH_METHOD_JWT) && !hmac &&
        a->jwt.public_key_path[0] == '\0')
        return fail(err, errlen,
                    "auth method jwt with algorithm %s needs "
                    "auth.jwt.public_key_path",
                    a->jwt.algorithm);
    if ((m & AMATERS_AUTH_METHOD_MTLS) && !cfg->network.tls_enabled)
        return fail(err, errlen,
                    "auth method mtls needs network.tls_enabled = true");
    if ((m & AMATERS_AUTH_METHOD_MTLS) && cfg->network.tls_ca[0] == '\0' &&
        a->mtls.ca_certs_dir[0] == '\0')
        return fail(err, errlen,
                    "auth method mtls needs network.tls_ca or "
                    "auth.mtls.ca_certs_dir");
    return 0;
}

static int validate_paths(const struct amaters_config *cfg, char *err,
                          size_t errlen)
{
    if (cfg->server.data_dir[0] == '\0')
        return fail(err, errlen, "server.data_dir is empty");
    if (cfg->storage.wal.enabled && cfg->storage.wal.dir[0] == '\0')
        return fail(err, errlen,
                    "storage.wal.enabled is true but storage.wal.dir is "
                    "empty");
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
