/*
 * engine.c - the registry of storage engines built into this binary:
 * maps the config's `[storage] engine` name to an ops table.
 */
#include <stddef.h>
#include <string.h>

#include "storage/engine.h"

#ifdef AMATERS_HAVE_ROCKSDB
#include "storage/engine_rocks.h" /* amaters_engine_lsm_ops */
#endif

static const struct amaters_engine_ops *const engines[] = {
    &amaters_engine_memory_ops,
#ifdef AMATERS_HAVE_ROCKSDB
    &amaters_engine_lsm_ops, /* "lsm" */
#endif
};

const struct amaters_engine_ops *amaters_engine_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof engines / sizeof engines[0]; i++) {
        if (strcmp(engines[i]->name, name) == 0)
            return engines[i];
    }
    return NULL;
}
