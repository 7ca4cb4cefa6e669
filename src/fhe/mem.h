/*
 * mem.h - allocation of the large key tables (BSK, KSK).
 *
 * Key tables are tens of megabytes streamed once per PBS / key switch;
 * with 4 KiB pages every step misses the TLB. This wrapper allocates
 * through amaters_malloc (so accounting and fault injection still apply)
 * and asks the kernel for transparent huge pages on the interior of the
 * block (best effort: madvise errors are ignored). Any thread.
 */
#ifndef AMATERS_FHE_MEM_H
#define AMATERS_FHE_MEM_H

#include <stddef.h>

/* Returns n bytes (caller frees with amaters_free) or NULL. */
void *amaters_fhe_alloc_large(size_t n);

#endif
