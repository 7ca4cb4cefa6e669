/*
 * reload.c - SIGHUP: reopens the audit log at its configured path (for
 * log rotation), then re-reads the configuration (file, environment,
 * options) and applies what may change while running: logging.level,
 * authz.default_role, authz.default_mode, the roles file and the API keys
 * file (read again: a removed key is revoked). Anything
 * else that changed is logged as needing a restart and nothing is
 * applied; an invalid configuration is logged with its reason. Main
 * thread only.
 */
#include "server/runtime.h"

#include <stdio.h>

#include "core/errors.h"
#include "obs/log.h"
#include "rpc/auth.h"
#include "security/audit.h"

/* How long SIGHUP waits for the audit writer to switch files: the main
 * thread also beats the liveness heartbeat and handles SIGTERM. */
#define AUDIT_REOPEN_WAIT_MS 2000

/* SIGHUP: reopens the audit log at its configured path, so that a file
 * moved aside by log rotation is replaced by a new one. */
static void reopen_audit(const struct runtime *rt)
{
    char path[4200];
    size_t n_open = 0;
    int rc = amaters_audit_reopen_all(&n_open, AUDIT_REOPEN_WAIT_MS);

    if (amaters_config_audit_path(&rt->cfg, path, sizeof path) == NULL)
        snprintf(path, sizeof path, "(authz.audit_log_path)");
    if (n_open == 0)
        amaters_log(AMATERS_LOG_DEBUG, "server",
                    "SIGHUP: no audit log to reopen");
    else if (rc == 0)
        amaters_log(AMATERS_LOG_INFO, "server",
                    "SIGHUP: audit log %s reopened", path);
    else if (rc == AMATERS_ETIMEOUT)
        amaters_log(AMATERS_LOG_WARN, "server",
                    "SIGHUP: audit log %s not reopened within %d ms (slow "
                    "disk?); it will be when its writer gets to it",
                    path, AUDIT_REOPEN_WAIT_MS);
    else
        amaters_log(AMATERS_LOG_WARN, "server",
                    "SIGHUP: audit log %s cannot be reopened; records still "
                    "go to the file that was open",
                    path);
}

/* SIGHUP: reopens the audit log, then re-reads the configuration and
 * applies what can change while running (logging.level,
 * authz.default_role, authz.default_mode and the roles file); anything
 * else that changed is reported as needing a restart and nothing is
 * applied. */
void amaters_srv_reload(struct runtime *rt)
{
    struct amaters_config fresh;
    enum amaters_log_level lvl;
    const char *changed[32];
    char err[1024];

    reopen_audit(rt);
    /* the reason goes to the log: stderr may be nobody's */
    if (amaters_server_build_config(rt->cli, &fresh, err, sizeof err) != 0) {
        amaters_log(AMATERS_LOG_WARN, "server",
                    "SIGHUP: configuration not reloaded (invalid): %s", err);
        goto out;
    }
    if (amaters_config_check_reload(&rt->cfg, &fresh, err, sizeof err)) {
        amaters_log(AMATERS_LOG_WARN, "server",
                    "SIGHUP: configuration not reloaded: %s", err);
        goto out;
    }
    size_t n = amaters_config_diff_all(&rt->cfg, &fresh, changed, 32);
    if (n > 32)
        n = 32;
    if (rt->gate &&
        amaters_gate_reload(rt->gate, &fresh, changed, n, err, sizeof err)) {
        amaters_log(AMATERS_LOG_WARN, "server",
                    "SIGHUP: configuration not reloaded: %s", err);
        goto out;
    }
    if (amaters_log_parse_level(fresh.logging.level, &lvl) == 0)
        amaters_log_set_level(lvl);
    for (size_t i = 0; i < n; i++)
        amaters_log(AMATERS_LOG_INFO, "server", "SIGHUP: %s reloaded",
                    changed[i]);
    if (n == 0)
        amaters_log(AMATERS_LOG_INFO, "server",
                    "SIGHUP: configuration unchanged");
    /* Keep the applied values so the next reload compares against them
     * (the reloadable keys are not referenced by running components). */
    struct amaters_config tmp = rt->cfg;
    rt->cfg = fresh;
    fresh = tmp;
out:
    amaters_config_free(&fresh);
}
