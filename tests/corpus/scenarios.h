/*
 * The leak corpus: small concurrent programs whose leaked goroutines are
 * known exactly (tests/corpus/SCENARIOS.md lists them with the reasoning).
 *
 * A scenario runs on goroutine 1, starts goroutines, and returns once the
 * leaking state is reached. corpus_run then clears what the scenario left
 * on goroutine 1's stack and settles the scheduler, so that the leak set
 * taken next is the scenario's own.
 */
#ifndef LEASH_CORPUS_SCENARIOS_H
#define LEASH_CORPUS_SCENARIOS_H

#include <leash/leak.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Helpers that must stay frames of their own (names a Go twin shares). */
#define LEASH_CORPUS_NOINLINE __attribute__((noinline))

/* Most groups any scenario expects. */
#define CORPUS_MAX_GROUPS 4

/* One (entry function, wait reason) group of a leak set. */
typedef struct corpus_leak {
    const char *entry;   /* the function the goroutines were started with */
    const char *reason;  /* Go's wait reason, "chan send" */
    size_t count;
} corpus_leak_t;

typedef struct corpus_scenario {
    const char *id;      /* "1" to "45", variants "15b", "18b", ... */
    const char *name;
    void (*run)(void);
    /* Goroutines other than goroutine 1 alive once it settled, leaked or
     * not: keeps a control from passing because its goroutine is gone. */
    size_t alive;
    /* The exact leak set, sorted by entry then reason, ended by a NULL
     * entry: an empty list means no goroutine may leak. */
    corpus_leak_t expected[CORPUS_MAX_GROUPS + 1];
} corpus_scenario_t;

extern const corpus_scenario_t corpus_scenarios[];
extern const size_t corpus_nscenarios;

/* The scenario with this id, or NULL. */
const corpus_scenario_t *corpus_find(const char *id);

/* Run the scenario, scrub goroutine 1's dead stack, settle.
 * Result: the goroutines other than the caller still alive. */
size_t corpus_run(const corpus_scenario_t *s);

/*
 * Scenario 16 with n links in the chain; scenario_16 is n = 1000. Returns
 * with every link parked and the last goroutine asleep.
 */
void corpus_daisy_chain(size_t n);

/* Overwrite the stack below the caller's frame: a scenario's dead frames
 * may still hold pointers that would make a primitive look reachable. */
void corpus_scrub_stack(void);

/*
 * Group the leaked goroutines of r by (entry function, wait reason) into
 * out, sorted like the expected sets. Result: the number of groups, which
 * may exceed max (then only max are stored).
 */
size_t corpus_groups(const leash_report_t *r, corpus_leak_t *out,
                     size_t max);

/* Copy the expected set of s into out (CORPUS_MAX_GROUPS entries),
 * sorted like corpus_groups. Result: the number of groups. */
size_t corpus_expected(const corpus_scenario_t *s, corpus_leak_t *out);

/* Whether two sorted group lists are equal: same groups, same counts. */
bool corpus_same(const corpus_leak_t *a, size_t na, const corpus_leak_t *b,
                 size_t nb);

/* Print groups as "id|entry|reason|count" lines. */
void corpus_print_groups(FILE *out, const char *id, const corpus_leak_t *g,
                         size_t n);

#endif
