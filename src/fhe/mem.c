/*
 * mem.c - large allocations with a transparent-huge-page hint.
 */
#include "fhe/mem.h"

#include <stdint.h>
#include <sys/mman.h>

#include "core/alloc.h"

#define HUGE_SZ ((uintptr_t)2 << 20)

void *amaters_fhe_alloc_large(size_t n)
{
    void *p = amaters_malloc(n);
    uintptr_t lo, hi;

    if (p == NULL || n < 2 * HUGE_SZ)
        return p;
    lo = ((uintptr_t)p + HUGE_SZ - 1) & ~(HUGE_SZ - 1);
    hi = ((uintptr_t)p + n) & ~(HUGE_SZ - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
    return p;
}
