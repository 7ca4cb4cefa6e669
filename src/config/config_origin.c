/*
 * config_origin.c - where each configuration value came from: a file
 * position ("amaters.toml:3:12"), an environment variable ("environment
 * AMATERS_DATA_DIR"), a command-line flag ("--data-dir") or the built-in
 * default. The load, environment and set functions of config.c record
 * it; validation and the server's messages name it, so that an operator
 * sees which layer to fix.
 *
 * The origins live in cfg->origins, one heap string per schema field
 * (NULL = default), allocated on the first key set and owned by the
 * config like its values.
 */
#include "config/config_schema.h"

#include "core/alloc.h"
#include "core/errors.h"

#include <string.h>

#define DEFAULT_ORIGIN "built-in default"

const char *cfg_origin(const struct amaters_config *cfg,
                       const struct cfg_field *f)
{
    if (cfg->origins == NULL)
        return NULL;
    return cfg->origins[f - cfg_fields];
}

const char *amaters_config_origin(const struct amaters_config *cfg,
                                  const char *dotted_key)
{
    const struct cfg_field *f = cfg_find(dotted_key, strlen(dotted_key));
    const char *o = f != NULL ? cfg_origin(cfg, f) : NULL;

    return o != NULL ? o : DEFAULT_ORIGIN;
}

int cfg_origin_reserve(struct amaters_config *cfg, bool *fresh)
{
    *fresh = false;
    if (cfg->origins != NULL)
        return 0;
    cfg->origins = amaters_calloc(cfg_nfields, sizeof(char *));
    if (cfg->origins == NULL)
        return AMATERS_ENOMEM;
    *fresh = true;
    return 0;
}

void cfg_origin_undo(struct amaters_config *cfg, bool fresh)
{
    if (fresh)
        cfg_origin_free(cfg);
}

void cfg_origin_put(struct amaters_config *cfg, const struct cfg_field *f,
                    char *origin)
{
    size_t i = (size_t)(f - cfg_fields);

    amaters_free(cfg->origins[i]);
    cfg->origins[i] = origin;
}

int cfg_origin_copy(struct amaters_config *dst,
                    const struct amaters_config *src)
{
    bool fresh;
    size_t i;

    if (src->origins == NULL)
        return 0;
    if (cfg_origin_reserve(dst, &fresh) != 0)
        return AMATERS_ENOMEM;
    for (i = 0; i < cfg_nfields; i++) {
        if (src->origins[i] == NULL)
            continue;
        dst->origins[i] = amaters_strdup(src->origins[i]);
        if (dst->origins[i] == NULL)
            return AMATERS_ENOMEM; /* the caller frees dst */
    }
    return 0;
}

void cfg_origin_free(struct amaters_config *cfg)
{
    size_t i;

    if (cfg->origins == NULL)
        return;
    for (i = 0; i < cfg_nfields; i++)
        amaters_free(cfg->origins[i]);
    amaters_free(cfg->origins);
    cfg->origins = NULL;
}
