/*
 * auth.h - the gate every call passes before its handler runs:
 * authentication (mTLS peer certificate, JWT bearer token, API key),
 * per-principal and global rate limits, and the authorization hook the
 * query layer consults for each query (RBAC), with audit records for every
 * authentication result, authorization denial and admin command.
 *
 * Threads: a gate is built once at start-up and is then read-only; every
 * function may be called from any worker thread concurrently.
 */
#ifndef AMATERS_RPC_AUTH_H
#define AMATERS_RPC_AUTH_H

#include <grpc/grpc.h>
#include <stdbool.h>
#include <stdint.h>

#include "query/query.h"
#include "security/secutil.h"

struct amaters_config;
struct amaters_tls;
struct amaters_gate;

/* Builds the gate from the configuration. tls (borrowed; may be NULL)
 * supplies mTLS identities. Loads the JWT key, the API key file, the roles
 * file and opens the audit log; errors name the file or key at fault.
 * *out is owned by the caller (amaters_gate_free). */
int amaters_gate_create(const struct amaters_config *cfg,
                        struct amaters_tls *tls, struct amaters_gate **out,
                        char *err, size_t errlen);

/* Flushes the audit log and frees everything. NULL is ignored. */
void amaters_gate_free(struct amaters_gate *g);

/* The identity of one call, filled by amaters_gate_admit. Strings are
 * owned by it; release with amaters_call_identity_clear. */
struct amaters_call_identity {
    struct amaters_principal principal; /* subject NULL = anonymous */
    char peer[128];
    char client_key[160]; /* principal or peer IP: the limits' key */
    bool holds_slot;      /* counted in the per-client call limit */
    const char *request_id; /* borrowed, may be NULL */
    struct amaters_gate *gate;
};

/* Releases what amaters_gate_admit took (the per-client call slot) and
 * frees the principal. Any thread, once per admitted call. */
void amaters_call_identity_clear(struct amaters_call_identity *id);

/*
 * Authenticates a new call and charges the rate limits. md is the call's
 * request metadata. Returns 0 with *id filled (possibly anonymous when
 * authentication is off or optional), AMATERS_EAUTH (why says what was
 * wrong; answer UNAUTHENTICATED) or AMATERS_EOVERLOAD (*retry_after set;
 * answer RESOURCE_EXHAUSTED).
 */
int amaters_gate_admit(struct amaters_gate *g, grpc_call *call,
                       const grpc_metadata_array *md,
                       struct amaters_call_identity *id,
                       uint32_t *retry_after, char *why, size_t whylen);

/* The query layer's authorization hook for calls admitted by the gate:
 * set ctx->authz = &amaters_gate_hook and hook arg = the identity. */
int amaters_gate_check(void *identity, struct amaters_qctx *ctx, int action,
                       const uint8_t *collection, size_t collection_len,
                       const char *what);

/* The hook's admin_done: records the admin_command audit event once the
 * command has run (result success, or failure with err as the reason). */
void amaters_gate_admin_done(void *identity, const char *what, int rc,
                             const char *err);

/* Applies a reloaded configuration's reloadable security settings
 * (authz.default_role, authz.default_mode; the roles file and the API keys
 * file are read again): builds the new role set and key store, then swaps
 * them in for calls checked from then on.
 * Records one config_change audit event per key in changed (n names).
 * On failure nothing changes and err says why. Main thread. */
int amaters_gate_reload(struct amaters_gate *g,
                        const struct amaters_config *cfg,
                        const char *const *changed, size_t n, char *err,
                        size_t errlen);

/* Whether the gate authenticates at all (auth.enabled). */
bool amaters_gate_auth_enabled(const struct amaters_gate *g);

#endif
