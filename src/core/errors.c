/*
 * errors.c - names and messages for the internal error codes, generated
 * from the one X-macro in errors.h.
 */
#include "core/errors.h"

const char *amaters_strerror(int code)
{
    switch (code) {
#define AMATERS_ERRNO_MSG(name, value, msg) \
    case value:                             \
        return msg;
        AMATERS_ERRNO_MAP(AMATERS_ERRNO_MSG)
#undef AMATERS_ERRNO_MSG
    default:
        return "unknown error";
    }
}

const char *amaters_errname(int code)
{
    switch (code) {
#define AMATERS_ERRNO_NAME(name, value, msg) \
    case value:                              \
        return "AMATERS_E" #name;
        AMATERS_ERRNO_MAP(AMATERS_ERRNO_NAME)
#undef AMATERS_ERRNO_NAME
    default:
        return "AMATERS_E?";
    }
}
