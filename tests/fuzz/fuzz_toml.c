/*
 * fuzz_toml.c - libFuzzer harness for the TOML parser and the config
 * loader, the two readers of configuration files.
 *
 * Each input is parsed (any bytes: the parser must not crash, leak or read
 * out of bounds). When it also loads as a configuration, the configuration
 * is dumped and the dump must load back to an equal configuration (secrets
 * aside, which the dump redacts): a property, not just a crash check.
 */
#include "config/config.h"
#include "config/toml.h"
#include "core/alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Dumps cfg, loads the dump into defaults, and checks both agree. */
static void check_round_trip(const struct amaters_config *cfg)
{
    struct amaters_config back, want;
    char *text = NULL, err[512];
    size_t len = 0;
    const char *diff;
    FILE *mem = open_memstream(&text, &len);

    if (mem == NULL)
        return;
    if (amaters_config_dump_toml(cfg, mem) != 0)
        abort();
    fclose(mem);
    if (amaters_config_init_defaults(&back) != 0)
        abort();
    if (amaters_config_load_buffer(&back, text, len, "dump", err,
                                   sizeof(err)) != 0) {
        fprintf(stderr, "dump does not load: %s\n%s\n", err, text);
        abort();
    }
    /* The dump writes a secret that is set commented out, so it loads
     * back empty: compare against cfg with both secrets emptied. */
    if (amaters_config_copy(&want, cfg) != 0)
        abort();
    if (amaters_config_set(&want, "auth.jwt.secret", "", "fuzz", err,
                           sizeof(err)) != 0 ||
        amaters_config_set(&want, "auth.api_key.hash_secret", "", "fuzz",
                           err, sizeof(err)) != 0)
        abort();
    diff = amaters_config_diff(&want, &back);
    if (diff != NULL) {
        fprintf(stderr, "round trip changed %s\n%s\n", diff, text);
        abort();
    }
    amaters_config_free(&want);
    amaters_config_free(&back);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct amaters_toml_value *root = NULL;
    struct amaters_config cfg;
    char err[512];
    long live = amaters_alloc_live();

    if (amaters_toml_parse((const char *)data, size, "fuzz", &root, err,
                           sizeof(err)) == 0) {
        /* Walk the top level through the accessors. */
        for (size_t i = 0; i < amaters_toml_table_count(root); i++)
            (void)amaters_toml_table_at(root, i, NULL, NULL);
    } else if (strncmp(err, "fuzz:", 5) != 0) {
        abort();
    }
    amaters_toml_free(root);

    if (amaters_config_init_defaults(&cfg) != 0)
        abort();
    if (amaters_config_load_buffer(&cfg, (const char *)data, size, "fuzz",
                                   err, sizeof(err)) == 0)
        check_round_trip(&cfg);
    amaters_config_free(&cfg);
    if (amaters_alloc_live() != live)
        abort();
    return 0;
}
