/*
 * alloc.h - the one allocation wrapper.
 *
 * All project code allocates through these functions so that tests can
 * count live allocations (to find leaks in fixtures) and make the Nth
 * allocation fail (to exercise every error path). Memory returned by
 * amaters_malloc/calloc/realloc/strdup/memdup is owned by the caller and is
 * released with amaters_free. Thread-safe.
 */
#ifndef AMATERS_CORE_ALLOC_H
#define AMATERS_CORE_ALLOC_H

#include <stddef.h>

void *amaters_malloc(size_t n);
void *amaters_calloc(size_t count, size_t n);
void *amaters_realloc(void *p, size_t n);
char *amaters_strdup(const char *s);
/* Copies n bytes of p into a new buffer with one extra NUL byte after them
 * (so text can be used as a C string). */
void *amaters_memdup(const void *p, size_t n);
char *amaters_strndup(const char *s, size_t n);
void amaters_free(void *p);

/* Overwrites n bytes at p with zeros in a way the compiler cannot elide,
 * then frees p. For secrets. */
void amaters_free_secret(void *p, size_t n);

/* Test hooks. amaters_alloc_live() counts successful allocations not yet
 * freed (only tracked for non-NULL results). amaters_alloc_fail_after(n)
 * makes the allocation after the next n succeed fail once; -1 disables. */
long amaters_alloc_live(void);
void amaters_alloc_fail_after(long n);

#endif
