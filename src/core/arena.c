/*
 * arena.c - a list of blocks; small allocations are carved from the
 * current block, large ones get a block of their own.
 */
#include "core/arena.h"

#include "core/alloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define ARENA_BLOCK 16384
#define ARENA_ALIGN 16

struct arena_block {
    struct arena_block *next;
    size_t size;
    size_t used;
    _Alignas(16) unsigned char data[];
};

struct adopted {
    struct adopted *next;
    void *p;
};

struct amaters_arena {
    struct arena_block *head;
    struct adopted *adopted;
    size_t cap;
    size_t total;
};

struct amaters_arena *amaters_arena_create(size_t cap)
{
    struct amaters_arena *a = amaters_calloc(1, sizeof *a);
    if (a)
        a->cap = cap;
    return a;
}

void amaters_arena_reset(struct amaters_arena *a)
{
    for (struct adopted *d = a->adopted; d; d = d->next)
        amaters_free(d->p);
    a->adopted = NULL;
    struct arena_block *b = a->head;
    while (b) {
        struct arena_block *next = b->next;
        amaters_free(b);
        b = next;
    }
    a->head = NULL;
    a->total = 0;
}

void amaters_arena_destroy(struct amaters_arena *a)
{
    if (a == NULL)
        return;
    amaters_arena_reset(a);
    amaters_free(a);
}

static struct arena_block *new_block(struct amaters_arena *a, size_t size)
{
    struct arena_block *b = amaters_malloc(sizeof *b + size);
    if (b == NULL)
        return NULL;
    b->size = size;
    b->used = 0;
    b->next = a->head;
    a->head = b;
    return b;
}

void *amaters_arena_alloc(struct amaters_arena *a, size_t n)
{
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    struct arena_block *b = a->head;

    if (need < n)
        return NULL;
    if (a->cap && (need > a->cap || a->total > a->cap - need))
        return NULL;
    if (b == NULL || b->size - b->used < need) {
        if (need > ARENA_BLOCK / 4) {
            /* Large: a dedicated block, linked behind the current one so
             * the current block keeps serving small allocations. */
            struct arena_block *big = amaters_malloc(sizeof *big + need);
            if (big == NULL)
                return NULL;
            big->size = need;
            big->used = need;
            if (b) {
                big->next = b->next;
                b->next = big;
            } else {
                big->next = NULL;
                a->head = big;
            }
            a->total += need;
            memset(big->data, 0, need);
            return big->data;
        }
        b = new_block(a, ARENA_BLOCK);
        if (b == NULL)
            return NULL;
    }
    void *p = b->data + b->used;
    b->used += need;
    a->total += need;
    memset(p, 0, need);
    return p;
}

void *amaters_arena_memdup(struct amaters_arena *a, const void *p, size_t n)
{
    char *q = amaters_arena_alloc(a, n + 1);
    if (q && n)
        memcpy(q, p, n);
    return q;
}

char *amaters_arena_printf(struct amaters_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = amaters_arena_alloc(a, (size_t)n + 1);
    if (s == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

size_t amaters_arena_used(const struct amaters_arena *a)
{
    return a->total;
}

int amaters_arena_adopt(struct amaters_arena *a, void *p)
{
    struct adopted *d = amaters_arena_alloc(a, sizeof *d);
    if (d == NULL) {
        amaters_free(p);
        return -1;
    }
    d->p = p;
    d->next = a->adopted;
    a->adopted = d;
    return 0;
}
