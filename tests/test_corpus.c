/*
 * The leak corpus as tests: each scenario of tests/corpus/scenarios.c runs
 * in its own Criterion process, then the leak analysis must name exactly
 * the expected goroutines, grouped by (entry function, wait reason): no
 * group missing, none extra, every count exact. A missed leak and a false
 * one fail alike; on a mismatch the full report goes to stderr. The
 * number of goroutines still alive is checked too, so that a control
 * (nothing leaks) cannot pass because its goroutines are gone.
 *
 * Scenario 16 also runs at 100 000 links, where the answer (nothing
 * leaks) must come from a pass along the chain; its duration is printed,
 * not asserted, since machines differ.
 */
#include <criterion/criterion.h>
#include <leash/leak.h>
#include <stdio.h>

#include "corpus/scenarios.h"

#define MAX_GOT 256

static void print_set(const char *what, const corpus_leak_t *g, size_t n)
{
    size_t i;

    fprintf(stderr, "%s:%s\n", what, n == 0 ? " none" : "");
    for (i = 0; i < n; i++)
        fprintf(stderr, "    %s | %s | %zu\n", g[i].entry, g[i].reason,
                g[i].count);
}

static void check_scenario(const char *id)
{
    static corpus_leak_t got[MAX_GOT];
    corpus_leak_t want[CORPUS_MAX_GROUPS];
    const corpus_scenario_t *s = corpus_find(id);
    leash_report_t *r;
    size_t ngot, nwant, alive;
    bool same;

    cr_assert_not_null(s, "no scenario %s", id);
    alive = corpus_run(s);
    r = leash_find_leaks();
    cr_assert_not_null(r, "leash_find_leaks failed");

    ngot = corpus_groups(r, got, MAX_GOT);
    cr_assert_leq(ngot, MAX_GOT, "%zu leak groups", ngot);
    nwant = corpus_expected(s, want);
    same = corpus_same(got, ngot, want, nwant);
    if (!same) {
        fprintf(stderr, "corpus %s (%s): wrong leak set\n", s->id, s->name);
        print_set("expected", want, nwant);
        print_set("got", got, ngot);
        leash_report_print(stderr, r);
    }
    leash_report_free(r);
    cr_assert(same, "scenario %s (%s): leak set differs (see stderr)",
              s->id, s->name);
    cr_assert_eq(alive, s->alive,
                 "scenario %s (%s): %zu goroutines alive, expected %zu",
                 s->id, s->name, alive, s->alive);
}

#define CORPUS_TEST(tname, id) \
    Test(corpus, tname, .timeout = 120) { check_scenario(id); }

CORPUS_TEST(s01_nil_recv, "1")
CORPUS_TEST(s02_nil_send, "2")
CORPUS_TEST(s03_empty_select, "3")
CORPUS_TEST(s04_fresh_recv, "4")
CORPUS_TEST(s05_fresh_send, "5")
CORPUS_TEST(s06_fresh_select, "6")
CORPUS_TEST(s07_wg_no_done, "7")
CORPUS_TEST(s08_stack_mutex_x1000, "8")
CORPUS_TEST(s09_heap_mutex_x1000, "9")
CORPUS_TEST(s10_rw_write_then_read, "10")
CORPUS_TEST(s11_rw_write_twice, "11")
CORPUS_TEST(s12_cond_never_signalled, "12")
CORPUS_TEST(s13_wg_before_recv, "13")
CORPUS_TEST(s14_global_chan, "14")
CORPUS_TEST(s15_malloc_struct_global, "15")
CORPUS_TEST(s15b_malloc_struct_stack, "15b")
CORPUS_TEST(s16_daisy_chain, "16")
CORPUS_TEST(s17_spawn_tree, "17")
CORPUS_TEST(s18_range_never_closed, "18")
CORPUS_TEST(s18b_range_no_workers, "18b")
CORPUS_TEST(s19_start_without_stop, "19")
CORPUS_TEST(s20_double_send_unbuffered, "20")
CORPUS_TEST(s20b_double_send_buffered, "20b")
CORPUS_TEST(s21_release_notes, "21")
CORPUS_TEST(s22_first_response_wins, "22")
CORPUS_TEST(s22b_first_response_no_items, "22b")
CORPUS_TEST(s23_select_done_closed, "23")
CORPUS_TEST(s24_tx_watcher, "24")
CORPUS_TEST(s25_compactor_late, "25")
CORPUS_TEST(s26_consumer_fails, "26")
CORPUS_TEST(s27_rlock_error_path, "27")
CORPUS_TEST(s28_double_lock, "28")
CORPUS_TEST(s29_bench_done, "29")
CORPUS_TEST(s30_stream_close, "30")
CORPUS_TEST(s31_select_timeout, "31")
CORPUS_TEST(s32_watcher_initial_events, "32")
CORPUS_TEST(s33_proxy_missed_unlock, "33")
CORPUS_TEST(s34_wait_inside_loop, "34")
CORPUS_TEST(s35_rlock_under_lock, "35")
CORPUS_TEST(s36_timer_stop_waiter, "36")
CORPUS_TEST(s37_ctx_never_cancelled, "37")
CORPUS_TEST(s38_pipeline_stops_reading, "38")
CORPUS_TEST(s39_pool_results_abandoned, "39")
CORPUS_TEST(s40_lock_across_send, "40")
CORPUS_TEST(s41_cond_missed_signal, "41")
CORPUS_TEST(s42_lock_order_inversion, "42")
CORPUS_TEST(s43_leak_inside_leak, "43")
CORPUS_TEST(s44_semaphore_not_released, "44")
CORPUS_TEST(s45_pending_timers, "45")

/* Every scenario of the table has a test above. */
Test(corpus, table_is_covered)
{
    cr_assert_eq(corpus_nscenarios, 49, "update the tests to the table");
}

/*
 * Scenario 16 at 100 000 links, on 64 KiB stacks: nothing leaks, and the
 * analysis finishes. Its time is printed for the record.
 */
Test(corpus, s16_daisy_chain_100k, .timeout = 600)
{
    leash_report_t *r;
    size_t i, leaked = 0;
    int64_t t0, t1;

    cr_assert_eq(leash_set_stack_size(64 * 1024), 0);
    corpus_daisy_chain(100000);
    corpus_scrub_stack();

    t0 = leash_now();
    r = leash_find_leaks();
    t1 = leash_now();
    cr_assert_not_null(r, "leash_find_leaks failed");
    for (i = 0; i < leash_report_count(r); i++)
        if (leash_report_get(r, i)->leaked)
            leaked++;
    fprintf(stderr, "corpus 16 at 100000 links: analysis took %.1f ms\n",
            (double)(t1 - t0) / 1e6);
    if (leaked != 0)
        leash_report_print(stderr, r);
    leash_report_free(r);
    cr_assert_eq(leaked, 0, "%zu goroutines reported leaked", leaked);
}
