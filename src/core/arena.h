/*
 * arena.h - request-scoped memory pool.
 *
 * A request builds its response (protobuf-c structs, strings, buffers) in an
 * arena and releases everything at once when the call is finished, the way
 * nginx uses request pools. Allocations are 16-byte aligned. Large requests
 * get their own block. An arena has a byte cap fixed at creation; allocation
 * beyond it fails (NULL), which bounds what one request can consume.
 * An arena is used by one thread at a time.
 */
#ifndef AMATERS_CORE_ARENA_H
#define AMATERS_CORE_ARENA_H

#include <stddef.h>

struct amaters_arena;

/* Creates an arena that may hold up to cap bytes in total (0 = no cap).
 * Returns NULL on allocation failure. Free with amaters_arena_destroy. */
struct amaters_arena *amaters_arena_create(size_t cap);

/* Frees every allocation of the arena and the arena itself. NULL is ok. */
void amaters_arena_destroy(struct amaters_arena *a);

/* Frees every allocation but keeps the arena for reuse. */
void amaters_arena_reset(struct amaters_arena *a);

/* Returns n zeroed bytes owned by the arena, or NULL (out of memory or
 * over the cap). */
void *amaters_arena_alloc(struct amaters_arena *a, size_t n);

/* Copies n bytes (plus a NUL after them) into the arena. */
void *amaters_arena_memdup(struct amaters_arena *a, const void *p, size_t n);

/* printf into the arena; returns NULL on failure. */
char *amaters_arena_printf(struct amaters_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Hands ownership of p (from amaters_malloc) to the arena, which frees it
 * on reset or destroy. On failure p is freed at once and -1 returned. */
int amaters_arena_adopt(struct amaters_arena *a, void *p);

/* Bytes handed out so far. */
size_t amaters_arena_used(const struct amaters_arena *a);

#endif
