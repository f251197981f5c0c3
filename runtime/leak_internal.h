/* The leak analysis and its reports (leak.c, report.c). */
#ifndef LEASH_LEAK_INTERNAL_H
#define LEASH_LEAK_INTERNAL_H

#include "internal.h"
#include <leash/leak.h>

typedef struct leash_analysis_stats {
    size_t goroutines;      /* in the registry */
    size_t leaked;          /* newly proven leaked */
    size_t stacks_scanned;
    size_t objects_scanned; /* collected objects */
    size_t blocks_scanned;  /* malloc'd blocks */
    size_t words_scanned;
} leash_analysis_stats_t;

/* Collect, then run the analysis; newly leaked goroutines move to
 * LEASH_G_LEAKED. */
void leash__analyse(leash_analysis_stats_t *stats);

#endif
