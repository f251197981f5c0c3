/*
 * corpus_dump: run one corpus scenario in this fresh process and print its
 * leak set, for comparison with the scenario's Go twin.
 *
 *     corpus_dump N       lines "N|entry|wait reason|count", sorted; none
 *                         when nothing leaks
 *     corpus_dump -c N    the same, then exit 1 when the set differs from
 *                         the expected one (printed to stderr, prefixed
 *                         "expected ") or another number of goroutines
 *                         is alive
 *     corpus_dump -l      every scenario as "N|name"
 *
 * Exit status 2 for usage errors and unknown scenarios.
 */
#include "scenarios.h"

#include <leash/leash.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GOT 256

static int usage(void)
{
    fprintf(stderr, "usage: corpus_dump [-c] N | corpus_dump -l\n");
    return 2;
}

int main(int argc, char **argv)
{
    static corpus_leak_t got[MAX_GOT];
    corpus_leak_t want[CORPUS_MAX_GROUPS];
    const corpus_scenario_t *s;
    leash_report_t *r;
    size_t ngot, nwant, alive, i;
    bool check = false;

    if (argc == 2 && strcmp(argv[1], "-l") == 0) {
        for (i = 0; i < corpus_nscenarios; i++)
            printf("%s|%s\n", corpus_scenarios[i].id,
                   corpus_scenarios[i].name);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "-c") == 0) {
        check = true;
        argv++;
        argc--;
    }
    if (argc != 2)
        return usage();
    s = corpus_find(argv[1]);
    if (s == NULL) {
        fprintf(stderr, "corpus_dump: no scenario %s\n", argv[1]);
        return 2;
    }

    alive = corpus_run(s);
    r = leash_find_leaks();
    if (r == NULL) {
        perror("corpus_dump: leash_find_leaks");
        return 2;
    }
    ngot = corpus_groups(r, got, MAX_GOT);
    if (ngot > MAX_GOT)
        ngot = MAX_GOT;
    corpus_print_groups(stdout, s->id, got, ngot);
    fflush(stdout);
    if (!check)
        return 0;

    nwant = corpus_expected(s, want);
    if (alive == s->alive && corpus_same(got, ngot, want, nwant))
        return 0;
    if (alive != s->alive)
        fprintf(stderr, "expected %zu goroutines alive, got %zu\n",
                s->alive, alive);
    for (i = 0; i < nwant; i++)
        fprintf(stderr, "expected %s|%s|%s|%zu\n", s->id, want[i].entry,
                want[i].reason, want[i].count);
    leash_report_print(stderr, r);
    return 1;
}
