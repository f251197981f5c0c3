/* Memory the collector and the leak analysis share (mem.c). */
#ifndef LEASH_MEM_H
#define LEASH_MEM_H

#include "internal.h"

/* One live malloc'd block. */
typedef struct leash__block {
    uintptr_t base;
    size_t size;
} leash__block_t;

/*
 * Snapshot of every live malloc'd block, sorted by base, in bookkeeping
 * memory the caller frees with leash__xfree. Result: the count.
 */
size_t leash__blocks_snapshot(leash__block_t **out);

/* The ranges registered with leash_add_roots. */
void leash__user_roots_each(void (*fn)(uintptr_t lo, uintptr_t hi));

#endif
