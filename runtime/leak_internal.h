/* The leak analysis and its reports (leak.c, report.c). */
#ifndef LEASH_LEAK_INTERNAL_H
#define LEASH_LEAK_INTERNAL_H

#include "internal.h"
#include <leash/leak.h>

/* Collect, then run the analysis; newly leaked goroutines move to
 * LEASH_G_LEAKED. */
void leash__analyse(void);

#endif
