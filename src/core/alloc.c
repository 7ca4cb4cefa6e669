/*
 * alloc.c - accounting and fault injection around malloc/free.
 */
#include "core/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_long live;
static atomic_long fail_countdown = -1;

static int should_fail(void)
{
    long cur = atomic_load(&fail_countdown);
    while (cur >= 0) {
        if (atomic_compare_exchange_weak(&fail_countdown, &cur, cur - 1))
            return cur == 0;
    }
    return 0;
}

void *amaters_malloc(size_t n)
{
    if (should_fail())
        return NULL;
    void *p = malloc(n ? n : 1);
    if (p)
        atomic_fetch_add(&live, 1);
    return p;
}

void *amaters_calloc(size_t count, size_t n)
{
    if (should_fail())
        return NULL;
    void *p = calloc(count ? count : 1, n ? n : 1);
    if (p)
        atomic_fetch_add(&live, 1);
    return p;
}

void *amaters_realloc(void *p, size_t n)
{
    if (p == NULL)
        return amaters_malloc(n);
    if (should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

void *amaters_memdup(const void *p, size_t n)
{
    char *q = amaters_malloc(n + 1);
    if (q == NULL)
        return NULL;
    if (n)
        memcpy(q, p, n);
    q[n] = '\0';
    return q;
}

char *amaters_strndup(const char *s, size_t n)
{
    return amaters_memdup(s, n);
}

char *amaters_strdup(const char *s)
{
    return amaters_memdup(s, strlen(s));
}

void amaters_free(void *p)
{
    if (p == NULL)
        return;
    atomic_fetch_sub(&live, 1);
    free(p);
}

void amaters_free_secret(void *p, size_t n)
{
    if (p == NULL)
        return;
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
    amaters_free(p);
}

long amaters_alloc_live(void)
{
    return atomic_load(&live);
}

void amaters_alloc_fail_after(long n)
{
    atomic_store(&fail_countdown, n);
}
