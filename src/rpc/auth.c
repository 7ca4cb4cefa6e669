/*
 * auth.c - the call gate: authentication, rate limits, authorization and
 * audit records (see auth.h).
 *
 * Credentials are tried in this order: a JWT bearer token
 * (`authorization: Bearer ...`), an API key (header auth.api_key
 * .header_name), then the mTLS client certificate. The first credential
 * present decides: a bad token is rejected, never downgraded to anonymous.
 * A call without credentials is rejected when auth.reject_unauthenticated,
 * else it runs as anonymous with authz.default_role.
 */
#include "rpc/auth.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>

#include "config/config.h"
#include "core/alloc.h"
#include "core/crc32.h"
#include "core/errors.h"
#include "core/timeutil.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "security/apikey.h"
#include "security/audit.h"
#include "security/jwt.h"
#include "security/ratelimit.h"
#include "security/rbac.h"
#include "security/tls.h"

#define CALLS_BUCKETS 256

/* One client with calls in flight; removed when its count drops to 0. */
struct client_calls {
    struct client_calls *next;
    int64_t n;
    char key[160];
};

struct amaters_gate {
    bool auth_enabled;
    bool authz_enabled;
    bool reject_unauthenticated;
    unsigned methods; /* AMATERS_AUTH_METHOD_* */
    char api_key_header[64];
    bool have_jwt;
    struct amaters_jwt_config jwt;
    struct amaters_apikey_store *keys;
    /* rbac and keys: swapped by amaters_gate_reload, read under
     * rbac_lock. */
    pthread_rwlock_t rbac_lock;
    struct amaters_rbac *rbac;
    struct amaters_audit *audit;
    struct amaters_ratelimit *rl;
    struct amaters_tls *tls;
    /* Calls in flight per client (limits.max_calls_per_client). */
    int64_t max_calls;
    bool collection_permissions;
    pthread_mutex_t calls_mu;
    struct client_calls *calls[CALLS_BUCKETS];
};

static void count_auth(const char *method, const char *result)
{
    static const char *const labels[] = {"method", "result"};
    const char *values[] = {method, result};
    amaters_metrics_count("amaters_auth_results_total",
                          "Authentication results by method and result",
                          labels, values, 2, 1);
}

static void count_denied(const char *action)
{
    static const char *const labels[] = {"action"};
    const char *values[] = {action};
    amaters_metrics_count("amaters_authz_denied_total",
                          "Queries refused by authorization, by action",
                          labels, values, 1, 1);
}

static void count_limited(const char *limit)
{
    static const char *const labels[] = {"limit"};
    const char *values[] = {limit};
    amaters_metrics_count("amaters_rate_limited_total",
                          "Calls refused by the limits (rate: token buckets; "
                          "concurrency: calls in flight per client)",
                          labels, values, 1, 1);
}

/* Reads the API keys file of cfg into *out (a new store). */
static int read_keys(const struct amaters_config *cfg,
                     struct amaters_apikey_store **out, char *err,
                     size_t errlen)
{
    const struct amaters_config_auth_api_key *k = &cfg->auth.api_key;
    const char *secret = k->hash_secret;

    if (!k->hash_keys)
        return amaters_apikey_store_load_plain(out, k->keys_file, err,
                                               errlen);
    return amaters_apikey_store_load(out, k->keys_file, secret,
                                     strlen(secret), err, errlen);
}

static int load_keys(struct amaters_gate *g, const struct amaters_config *cfg,
                     char *err, size_t errlen)
{
    const struct amaters_config_auth_api_key *k = &cfg->auth.api_key;
    size_t n = strlen(k->header_name);
    if (n == 0 || n >= sizeof g->api_key_header) {
        snprintf(err, errlen, "auth.api_key.header_name: bad length");
        return AMATERS_ECONFIG;
    }
    for (size_t i = 0; i <= n; i++)
        g->api_key_header[i] = (char)tolower((unsigned char)k->header_name[i]);
    return read_keys(cfg, &g->keys, err, errlen);
}

static int open_audit(struct amaters_gate *g, const struct amaters_config *cfg,
                      char *err, size_t errlen)
{
    /* indexed by enum amaters_audit_fsync_mode */
    static const enum amaters_audit_fsync modes[] = {
        AMATERS_AUDIT_FSYNC_NONE, AMATERS_AUDIT_FSYNC_EVERY,
        AMATERS_AUDIT_FSYNC_INTERVAL};
    struct amaters_audit_options o = {
        .path = cfg->authz.audit_log_path,
        .fsync = modes[cfg->authz.audit_fsync_id],
        .fsync_interval_ms = (uint32_t)cfg->authz.audit_fsync_interval_ms,
    };
    return amaters_audit_open(&g->audit, &o, err, errlen);
}

int amaters_gate_create(const struct amaters_config *cfg,
                        struct amaters_tls *tls, struct amaters_gate **out,
                        char *err, size_t errlen)
{
    struct amaters_gate *g = amaters_calloc(1, sizeof *g);
    int rc = 0;
    if (g == NULL)
        return AMATERS_ENOMEM;
    pthread_rwlock_init(&g->rbac_lock, NULL);
    pthread_mutex_init(&g->calls_mu, NULL);
    g->max_calls = cfg->limits.max_calls_per_client;
    g->collection_permissions = cfg->authz.collection_permissions;
    g->auth_enabled = cfg->auth.enabled;
    g->authz_enabled = cfg->authz.enabled;
    g->reject_unauthenticated = cfg->auth.reject_unauthenticated;
    /* auth.methods plus the methods whose own section is enabled */
    g->methods = amaters_config_auth_methods(cfg);
    g->tls = tls;
    if (g->auth_enabled && (g->methods & AMATERS_AUTH_METHOD_JWT)) {
        rc = amaters_jwt_config_load(&g->jwt, &cfg->auth.jwt, err, errlen);
        g->have_jwt = rc == 0;
    }
    if (rc == 0 && g->auth_enabled &&
        (g->methods & AMATERS_AUTH_METHOD_API_KEY))
        rc = load_keys(g, cfg, err, errlen);
    if (rc == 0 && (g->auth_enabled || g->authz_enabled))
        rc = amaters_rbac_load_config(&g->rbac, &cfg->authz, err, errlen);
    if (rc == 0 && cfg->authz.audit_enabled)
        rc = open_audit(g, cfg, err, errlen);
    if (rc == 0 && (cfg->limits.rps || cfg->limits.global_rps)) {
        struct amaters_ratelimit_options o = {
            .rps = (uint32_t)cfg->limits.rps,
            .burst = (uint32_t)cfg->limits.burst,
            .global_rps = (uint32_t)cfg->limits.global_rps,
            .global_burst = (uint32_t)cfg->limits.global_burst,
        };
        rc = amaters_ratelimit_new(&g->rl, &o);
    }
    if (rc) {
        amaters_gate_free(g);
        return rc;
    }
    *out = g;
    return 0;
}

void amaters_gate_free(struct amaters_gate *g)
{
    if (g == NULL)
        return;
    if (g->have_jwt)
        amaters_jwt_config_free(&g->jwt);
    amaters_apikey_store_free(g->keys);
    amaters_rbac_free(g->rbac);
    if (g->audit)
        amaters_audit_close(g->audit);
    amaters_ratelimit_free(g->rl);
    pthread_rwlock_destroy(&g->rbac_lock);
    pthread_mutex_destroy(&g->calls_mu);
    for (size_t i = 0; i < CALLS_BUCKETS; i++) {
        while (g->calls[i]) {
            struct client_calls *next = g->calls[i]->next;
            amaters_free(g->calls[i]);
            g->calls[i] = next;
        }
    }
    amaters_free(g);
}

bool amaters_gate_auth_enabled(const struct amaters_gate *g)
{
    return g && g->auth_enabled;
}

static size_t calls_bucket(const char *key)
{
    size_t h = 5381;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = h * 33 + *p;
    return h % CALLS_BUCKETS;
}

/* Takes a call slot for key: 0, or AMATERS_EOVERLOAD when the client has
 * max_calls in flight already (or AMATERS_ENOMEM). */
static int calls_take(struct amaters_gate *g, const char *key)
{
    size_t b = calls_bucket(key);
    struct client_calls *c;
    int rc = 0;

    pthread_mutex_lock(&g->calls_mu);
    for (c = g->calls[b]; c && strcmp(c->key, key) != 0; c = c->next)
        ;
    if (c == NULL) {
        c = amaters_calloc(1, sizeof *c);
        if (c == NULL) {
            rc = AMATERS_ENOMEM;
            goto out;
        }
        snprintf(c->key, sizeof c->key, "%s", key);
        c->next = g->calls[b];
        g->calls[b] = c;
    }
    if (c->n >= g->max_calls)
        rc = AMATERS_EOVERLOAD;
    else
        c->n++;
out:
    pthread_mutex_unlock(&g->calls_mu);
    return rc;
}

static void calls_release(struct amaters_gate *g, const char *key)
{
    size_t b = calls_bucket(key);
    struct client_calls **pp, *c;

    pthread_mutex_lock(&g->calls_mu);
    for (pp = &g->calls[b]; (c = *pp) != NULL; pp = &c->next) {
        if (strcmp(c->key, key) != 0)
            continue;
        if (--c->n <= 0) {
            *pp = c->next;
            amaters_free(c);
        }
        break;
    }
    pthread_mutex_unlock(&g->calls_mu);
}

void amaters_call_identity_clear(struct amaters_call_identity *id)
{
    if (id->holds_slot && id->gate)
        calls_release(id->gate, id->client_key);
    id->holds_slot = false;
    amaters_principal_free(&id->principal);
}

/* Copies the value of metadata key (lowercase) into a new string, or
 * returns NULL when absent. */
static char *md_get(const grpc_metadata_array *md, const char *key)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i < md->count; i++) {
        const grpc_metadata *m = &md->metadata[i];
        if (GRPC_SLICE_LENGTH(m->key) == klen &&
            memcmp(GRPC_SLICE_START_PTR(m->key), key, klen) == 0)
            return amaters_strndup((const char *)GRPC_SLICE_START_PTR(m->value),
                                   GRPC_SLICE_LENGTH(m->value));
    }
    return NULL;
}

static void audit(struct amaters_gate *g, enum amaters_audit_event_type t,
                  enum amaters_audit_result r,
                  const struct amaters_call_identity *id, const char *action,
                  const char *resource, const char *reason)
{
    if (g->audit == NULL)
        return;
    struct amaters_audit_event ev = {
        .type = t,
        .result = r,
        .principal = id->principal.subject,
        .auth_method = id->principal.method,
        .action = action,
        .resource = resource,
        .peer = id->peer,
        .request_id = id->request_id,
        .reason = reason,
    };
    amaters_audit_log(g->audit, &ev);
}

/* Tries each configured method; 1 = a credential was found and accepted,
 * 0 = none presented, <0 = presented and rejected. */
static int authenticate(struct amaters_gate *g, grpc_call *call,
                        const grpc_metadata_array *md,
                        struct amaters_principal *p, const char **method,
                        char *why, size_t whylen)
{
    int64_t now = amaters_unix_seconds();
    int rc;
    char *v;

    if (g->have_jwt && (v = md_get(md, "authorization")) != NULL) {
        *method = "jwt";
        if (strncasecmp(v, "Bearer ", 7) != 0) {
            amaters_free(v);
            snprintf(why, whylen, "authorization header is not a Bearer "
                                  "token");
            return AMATERS_EAUTH;
        }
        rc = amaters_jwt_verify(&g->jwt, v + 7, now, p, why, whylen);
        amaters_free(v);
        return rc ? rc : 1;
    }
    if (g->keys && (v = md_get(md, g->api_key_header)) != NULL) {
        *method = "api_key";
        pthread_rwlock_rdlock(&g->rbac_lock); /* SIGHUP swaps g->keys */
        rc = amaters_apikey_verify(g->keys, v, now, p, why, whylen);
        pthread_rwlock_unlock(&g->rbac_lock);
        amaters_free_secret(v, strlen(v));
        return rc ? rc : 1;
    }
    if (g->tls && (g->methods & AMATERS_AUTH_METHOD_MTLS)) {
        *method = "mtls";
        rc = amaters_tls_peer_principal(g->tls, call, p, why, whylen);
        if (rc == AMATERS_ENOTFOUND)
            return 0;
        return rc ? rc : 1;
    }
    return 0;
}

static void peer_ip(const char *peer, char *out, size_t len)
{
    /* "ipv4:1.2.3.4:5678" / "ipv6:[::1]:5678": drop the port. */
    snprintf(out, len, "%s", peer);
    char *colon = strrchr(out, ':');
    char *first = strchr(out, ':');
    if (colon && colon != first)
        *colon = '\0';
}

/* The limits' key of an authenticated caller: "<method>:<subject>", a
 * subject over 100 bytes cut there and followed by "~" and the CRC-32 of
 * the whole (two long names with a common start stay apart). */
static void principal_key(const struct amaters_principal *p, char *out,
                          size_t len)
{
    const char *m = p->method ? p->method : "principal";
    size_t n = strlen(p->subject);

    if (n <= 100)
        snprintf(out, len, "%s:%s", m, p->subject);
    else
        snprintf(out, len, "%s:%.100s~%08x", m, p->subject,
                 (unsigned)amaters_crc32(0, (const uint8_t *)p->subject, n));
}

/* A failed authentication is charged to the caller's address (and the
 * global bucket) like an anonymous call: without it, guessing tokens or
 * keys was unlimited, and every failure wrote an audit record (an
 * unauthenticated way to fill the disk). True when over the limit:
 * *retry_after is set and the failure is counted as rate limited. */
static bool failure_limited(struct amaters_gate *g,
                            const struct amaters_call_identity *id,
                            uint32_t *retry_after)
{
    char key[sizeof id->client_key];

    if (g->rl == NULL)
        return false;
    peer_ip(id->peer, key, sizeof key);
    if (amaters_ratelimit_take(g->rl, key, amaters_now_ns(), retry_after) ==
        0)
        return false;
    count_limited("rate");
    return true;
}

int amaters_gate_admit(struct amaters_gate *g, grpc_call *call,
                       const grpc_metadata_array *md,
                       struct amaters_call_identity *id,
                       uint32_t *retry_after, char *why, size_t whylen)
{
    const char *method = "none";
    char *peer = grpc_call_get_peer(call);
    int rc = 0;

    snprintf(id->peer, sizeof id->peer, "%s", peer ? peer : "");
    gpr_free(peer);
    id->gate = g;
    why[0] = '\0';
    if (g->auth_enabled) {
        rc = authenticate(g, call, md, &id->principal, &method, why, whylen);
        if (rc == 0 && g->reject_unauthenticated) {
            snprintf(why, whylen, "no credentials: send a bearer token, an "
                                  "API key or a client certificate");
            rc = AMATERS_EAUTH;
        }
        if (rc < 0) {
            if (rc != AMATERS_ENOMEM)
                rc = AMATERS_EAUTH;
            count_auth(method, "failure");
            amaters_principal_free(&id->principal);
            if (rc == AMATERS_EAUTH && failure_limited(g, id, retry_after)) {
                snprintf(why, whylen,
                         "too many calls from this address (failed "
                         "authentications count too); retry after %u s",
                         *retry_after);
                return AMATERS_EOVERLOAD; /* counted, not audited */
            }
            id->principal.method = method; /* the method that was tried */
            audit(g, AMATERS_AUDIT_AUTHENTICATION, AMATERS_AUDIT_FAILURE, id,
                  method, NULL, why);
            return rc;
        }
        count_auth(method, rc == 1 ? "success" : "anonymous");
        if (rc == 1)
            audit(g, AMATERS_AUDIT_AUTHENTICATION, AMATERS_AUDIT_SUCCESS, id,
                  method, NULL, NULL);
    }
    /* per method: an mTLS CN and an API key user_id that happen to be
     * equal are different clients */
    if (id->principal.subject)
        principal_key(&id->principal, id->client_key,
                      sizeof id->client_key);
    else
        peer_ip(id->peer, id->client_key, sizeof id->client_key);
    if (g->rl) {
        rc = amaters_ratelimit_take(g->rl, id->client_key, amaters_now_ns(),
                                    retry_after);
        if (rc) {
            count_limited("rate");
            snprintf(why, whylen, "rate limit exceeded; retry after %u s",
                     *retry_after);
            amaters_principal_free(&id->principal);
            return AMATERS_EOVERLOAD;
        }
    }
    if (g->max_calls > 0) {
        rc = calls_take(g, id->client_key);
        if (rc) {
            count_limited("concurrency");
            *retry_after = 1;
            snprintf(why, whylen, "too many calls in flight for this client "
                                  "(limits.max_calls_per_client = %lld); "
                                  "retry after 1 s",
                     (long long)g->max_calls);
            amaters_principal_free(&id->principal);
            return AMATERS_EOVERLOAD;
        }
        id->holds_slot = true;
    }
    return 0;
}

int amaters_gate_check(void *identity, struct amaters_qctx *ctx, int action,
                       const uint8_t *collection, size_t collection_len,
                       const char *what)
{
    struct amaters_call_identity *id = identity;
    struct amaters_gate *g = id->gate;
    char resource[300];
    bool allowed = false;
    const char *aname = amaters_action_name((enum amaters_action)action);

    /* Without authorization everything is allowed, except that the admin
     * tunnel needs the admin permission whenever authentication is on. */
    if (!g->authz_enabled &&
        !(g->auth_enabled && action == AMATERS_QACTION_ADMIN))
        return 0;
    if (collection && g->collection_permissions)
        snprintf(resource, sizeof resource, "collection:%.*s",
                 (int)collection_len, (const char *)collection);
    else if (collection)
        /* authz.collection_permissions = false: only rules on every
         * collection ("collection:*", "*") apply */
        snprintf(resource, sizeof resource, "collection:*");
    else
        snprintf(resource, sizeof resource, "server");
    pthread_rwlock_rdlock(&g->rbac_lock);
    int rc = amaters_rbac_check(g->rbac,
                                (const char *const *)id->principal.roles,
                                id->principal.nroles,
                                (enum amaters_action)action, resource,
                                &allowed);
    pthread_rwlock_unlock(&g->rbac_lock);
    if (rc == 0 && allowed)
        return 0; /* an admin command is audited once it has run */
    count_denied(aname);
    audit(g, AMATERS_AUDIT_AUTHORIZATION, AMATERS_AUDIT_DENIED, id,
          action == AMATERS_QACTION_ADMIN ? what : aname, resource,
          "permission denied");
    return amaters_qctx_fail(ctx, AMATERS_EPERM,
                             "permission denied: %s may not %s %s (%s)",
                             id->principal.subject ? id->principal.subject
                                                   : "anonymous",
                             aname, resource, what);
}

void amaters_gate_admin_done(void *identity, const char *what, int rc,
                             const char *err)
{
    struct amaters_call_identity *id = identity;

    audit(id->gate, AMATERS_AUDIT_ADMIN_COMMAND,
          rc == 0 ? AMATERS_AUDIT_SUCCESS : AMATERS_AUDIT_FAILURE, id, what,
          "server", rc == 0 ? NULL : err);
}

int amaters_gate_reload(struct amaters_gate *g,
                        const struct amaters_config *cfg,
                        const char *const *changed, size_t n, char *err,
                        size_t errlen)
{
    struct amaters_rbac *fresh = NULL, *old = NULL;
    struct amaters_apikey_store *keys = NULL, *old_keys = NULL;
    struct amaters_call_identity none = {.peer = "local"};
    int rc = 0;

    if (g->rbac)
        rc = amaters_rbac_load_config(&fresh, &cfg->authz, err, errlen);
    /* the keys file is read again too: removing a key revokes it */
    if (rc == 0 && g->keys)
        rc = read_keys(cfg, &keys, err, errlen);
    if (rc) {
        amaters_rbac_free(fresh);
        return rc; /* nothing changes */
    }
    pthread_rwlock_wrlock(&g->rbac_lock);
    if (fresh) {
        old = g->rbac;
        g->rbac = fresh;
    }
    if (keys) {
        old_keys = g->keys;
        g->keys = keys;
    }
    pthread_rwlock_unlock(&g->rbac_lock);
    amaters_rbac_free(old);
    amaters_apikey_store_free(old_keys);
    if (keys)
        amaters_log(AMATERS_LOG_INFO, "security",
                    "SIGHUP: API keys file %s read again: %zu key(s)",
                    cfg->auth.api_key.keys_file,
                    amaters_apikey_store_count(keys));
    none.principal.method = "sighup";
    for (size_t i = 0; i < n; i++)
        audit(g, AMATERS_AUDIT_CONFIG_CHANGE, AMATERS_AUDIT_SUCCESS, &none,
              "reload", changed[i], NULL);
    return 0;
}
