/*
 * setup.c - assembles the effective configuration for every command, the
 * checks of what this build cannot honour, the storage engine options,
 * and validate-config's look at the files `start` will load.
 */
#include "server/server.h"

#include "storage/engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

int amaters_server_apply_flags(const struct amaters_cli *cli,
                               struct amaters_config *cfg, char *err,
                               size_t errlen)
{
    const struct {
        const char *key, *value, *flag;
    } flags[] = {
        {"server.bind_address", cli->bind, "--bind"},
        {"server.data_dir", cli->data_dir, "--data-dir"},
        {"logging.level", cli->log_level, "--log-level"},
    };
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < sizeof flags / sizeof flags[0]; i++) {
        if (flags[i].value)
            rc = amaters_config_set(cfg, flags[i].key, flags[i].value,
                                    flags[i].flag, err, errlen);
    }
    return rc;
}

int amaters_server_load_config(const struct amaters_cli *cli,
                               struct amaters_config *cfg)
{
    char err[1024] = "";
    int rc = amaters_server_build_config(cli, cfg, err, sizeof err);

    if (rc)
        fprintf(stderr, "amaters-server: configuration error: %s\n", err);
    return rc;
}

int amaters_server_build_config(const struct amaters_cli *cli,
                                struct amaters_config *cfg, char *err,
                                size_t errlen)
{
    int rc = 0;

    err[0] = '\0';
    amaters_config_init_defaults(cfg);
    if (cli->config_path)
        rc = amaters_config_load_file(cfg, cli->config_path, err, errlen);
    if (rc == 0)
        rc = amaters_config_apply_env(cfg, environ, err, errlen);
    if (rc == 0)
        rc = amaters_server_apply_flags(cli, cfg, err, errlen);
    if (rc == 0)
        rc = amaters_config_validate(cfg, err, errlen);
    return rc;
}

/* The PID file is locked with a POSIX record lock, which a process loses
 * when it closes any descriptor of the file: it must not be a file the
 * server reopens (log rotation, audit reopen, SIGHUP roles reload) nor
 * the data directory's lock file. Returns 0 or -1 with why. */
static int check_pid_path(const struct amaters_config *cfg, char *why,
                          size_t len)
{
    char pid[4096], other[4096];
    const char *key = NULL;

    if (amaters_config_pid_path(cfg, pid, sizeof pid) == NULL)
        return 0;
    if (cfg->logging.file_enabled &&
        amaters_config_log_path(cfg, other, sizeof other) != NULL &&
        strcmp(pid, other) == 0)
        key = "logging.file_path";
    else if (cfg->authz.audit_enabled &&
             amaters_config_audit_path(cfg, other, sizeof other) != NULL &&
             strcmp(pid, other) == 0)
        key = "authz.audit_log_path";
    else if (cfg->authz.roles_file[0] != '\0' &&
             strcmp(pid, cfg->authz.roles_file) == 0)
        key = "authz.roles_file";
    else if (amaters_datadir_lock_path(cfg->server.data_dir, other,
                                       sizeof other) != NULL &&
             strcmp(pid, other) == 0)
        key = "the data directory lock file";
    if (key == NULL)
        return 0;
    snprintf(why, len, "server.pid_file %s (from %s) is also %s: the PID "
             "file's lock would be lost when that file is reopened; give "
             "the PID file a path of its own", pid,
             amaters_config_origin(cfg, "server.pid_file"), key);
    return -1;
}

int amaters_server_check_supported(const struct amaters_config *cfg,
                                   char *why, size_t len)
{
    if (check_pid_path(cfg, why, len) != 0)
        return -1;
    if ((amaters_config_auth_methods(cfg) & AMATERS_AUTH_METHOD_MTLS) &&
        !cfg->network.tls_enabled) {
        snprintf(why, len, "auth.methods includes \"mtls\" (from %s) but "
                 "network.tls_enabled = false (from %s): client "
                 "certificates need TLS",
                 amaters_config_origin(cfg, "auth.methods"),
                 amaters_config_origin(cfg, "network.tls_enabled"));
        return -1;
    }
    if (cfg->cluster.enabled) {
        snprintf(why, len, "cluster.enabled = true (from %s), but "
                 "clustering is not available in this build yet. Set "
                 "cluster.enabled = false",
                 amaters_config_origin(cfg, "cluster.enabled"));
        return -1;
    }
    if (amaters_engine_find(cfg->storage.engine) == NULL) {
        snprintf(why, len, "storage.engine = \"%s\" (from %s) is not "
                 "available in this build", cfg->storage.engine,
                 amaters_config_origin(cfg, "storage.engine"));
        return -1;
    }
    return 0;
}

void amaters_server_engine_options(const struct amaters_config *cfg,
                                   struct amaters_engine_options *eo,
                                   char *wal_dir, size_t wal_len)
{
    const char *sm = cfg->storage.wal.sync_mode;
    const char *wd = cfg->storage.wal.dir;

    if (wd[0] == '/')
        snprintf(wal_dir, wal_len, "%s", wd);
    else
        snprintf(wal_dir, wal_len, "%s/%s", cfg->server.data_dir, wd);
    memset(eo, 0, sizeof *eo);
    eo->path = cfg->server.data_dir;
    eo->memtable_size_mb = (size_t)cfg->storage.memtable_size_mb;
    eo->block_cache_size_mb = (size_t)cfg->storage.block_cache_size_mb;
    /* Without a WAL there is nothing to sync (and RocksDB refuses synced
     * writes without one): storage.wal.sync_mode does not apply. */
    eo->sync_mode = !cfg->storage.wal.enabled       ? AMATERS_SYNC_NONE
                    : strcmp(sm, "always") == 0     ? AMATERS_SYNC_ALWAYS
                    : strcmp(sm, "interval") == 0 ? AMATERS_SYNC_INTERVAL
                                                  : AMATERS_SYNC_NONE;
    eo->sync_interval_ms = (unsigned)cfg->storage.wal.sync_interval_ms;
    eo->commit_spin_us = (unsigned)cfg->storage.wal.commit_spin_us;
    eo->compaction_style = (int)cfg->storage.compaction.strategy_id;
    eo->num_levels = (unsigned)cfg->storage.compaction.num_levels;
    eo->level_multiplier = (unsigned)cfg->storage.compaction.level_multiplier;
    eo->max_compactions = (unsigned)cfg->storage.compaction.max_concurrent;
    eo->disable_wal = !cfg->storage.wal.enabled;
    eo->wal_dir = wal_dir;
    eo->wal_size_mb = (size_t)cfg->storage.wal.segment_size_mb;
    eo->blob_min_size = cfg->storage.blob_min_size_kb
                            ? (size_t)cfg->storage.blob_min_size_kb << 10
                            : (size_t)-1;
}

/* One file validate-config looks at: its key, path and kind. */
struct file_check {
    const char *key;
    const char *path;
    bool dir;
    bool used;
};

int amaters_server_check_files(const struct amaters_config *cfg, FILE *out)
{
    const struct amaters_config_network *n = &cfg->network;
    const struct amaters_config_auth *a = &cfg->auth;
    bool tls = n->tls_enabled;
    unsigned methods = amaters_config_auth_methods(cfg);
    const struct file_check files[] = {
        {"network.tls_cert", n->tls_cert, false, tls},
        {"network.tls_key", n->tls_key, false, tls},
        {"network.tls_ca", n->tls_ca, false, tls},
        {"auth.mtls.ca_certs_dir", a->mtls.ca_certs_dir, true, tls},
        {"auth.mtls.crl_path", a->mtls.crl_path, false, tls},
        {"auth.jwt.public_key_path", a->jwt.public_key_path, false,
         a->enabled && (methods & AMATERS_AUTH_METHOD_JWT) &&
             a->jwt.algorithm_id > AMATERS_JWT_HS512},
        {"auth.api_key.keys_file", a->api_key.keys_file, false,
         a->enabled && (methods & AMATERS_AUTH_METHOD_API_KEY)},
        {"authz.roles_file", cfg->authz.roles_file, false,
         cfg->authz.enabled},
    };
    int warned = 0;

    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        const struct file_check *f = &files[i];
        struct stat st;
        const char *why = NULL;

        if (!f->used || f->path == NULL || f->path[0] == '\0')
            continue;
        if (stat(f->path, &st) != 0 || access(f->path, R_OK) != 0)
            why = strerror(errno);
        else if (f->dir && !S_ISDIR(st.st_mode))
            why = "not a directory";
        else if (!f->dir && S_ISDIR(st.st_mode))
            why = "is a directory";
        if (why == NULL)
            continue;
        fprintf(out, "amaters-server: warning: %s = \"%s\": %s (start "
                "will refuse it)\n", f->key, f->path, why);
        warned++;
    }
    return warned;
}
