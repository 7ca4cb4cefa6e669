/*
 * config_docs_main.c - amaters-config-docs: writes the configuration
 * reference (docs/configuration.md) generated from the schema table, to
 * the file named by the only argument or to standard output.
 */
#include "config/config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    FILE *out = stdout;
    int rv;

    if (argc > 2) {
        fprintf(stderr, "usage: %s [OUTPUT.md]\n", argv[0]);
        return 2;
    }
    if (argc == 2) {
        out = fopen(argv[1], "w");
        if (out == NULL) {
            fprintf(stderr, "%s: %s: %s\n", argv[0], argv[1],
                    strerror(errno));
            return 1;
        }
    }
    rv = amaters_config_write_docs_markdown(out);
    if (out != stdout && fclose(out) != 0)
        rv = -1;
    if (rv != 0) {
        fprintf(stderr, "%s: write failed\n", argv[0]);
        return 1;
    }
    return 0;
}
