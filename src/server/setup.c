/*
 * setup.c - assembles the effective configuration for every command, and
 * the PID file reader shared by stop and status.
 */
#include "server/server.h"

#include "storage/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    int rc = 0;

    amaters_config_init_defaults(cfg);
    if (cli->config_path)
        rc = amaters_config_load_file(cfg, cli->config_path, err, sizeof err);
    if (rc == 0)
        rc = amaters_config_apply_env(cfg, environ, err, sizeof err);
    if (rc == 0)
        rc = amaters_server_apply_flags(cli, cfg, err, sizeof err);
    if (rc == 0)
        rc = amaters_config_validate(cfg, err, sizeof err);
    if (rc)
        fprintf(stderr, "amaters-server: configuration error: %s\n", err);
    return rc;
}

int amaters_server_check_supported(const struct amaters_config *cfg,
                                   char *why, size_t len)
{
    if ((amaters_config_auth_methods(cfg) & AMATERS_AUTH_METHOD_MTLS) &&
        !cfg->network.tls_enabled) {
        snprintf(why, len, "auth.methods includes \"mtls\" but "
                 "network.tls_enabled = false: client certificates need "
                 "TLS");
        return -1;
    }
    if (cfg->cluster.enabled) {
        snprintf(why, len, "cluster.enabled = true, but clustering is not "
                 "available in this build yet. Set cluster.enabled = false");
        return -1;
    }
    if (amaters_engine_find(cfg->storage.engine) == NULL) {
        snprintf(why, len, "storage.engine = \"%s\" is not available in "
                 "this build", cfg->storage.engine);
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

int amaters_pidfile_read(const char *path, long *pid, char *grpc, char *http,
                         size_t len)
{
    char line[512];
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    *pid = 0;
    if (grpc)
        grpc[0] = '\0';
    if (http)
        http[0] = '\0';
    if (fgets(line, sizeof line, f))
        *pid = strtol(line, NULL, 10);
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (grpc && strncmp(line, "grpc=", 5) == 0)
            snprintf(grpc, len, "%s", line + 5);
        else if (http && strncmp(line, "http=", 5) == 0)
            snprintf(http, len, "%s", line + 5);
    }
    fclose(f);
    return *pid > 0 ? 0 : -1;
}
