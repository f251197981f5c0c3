/*
 * The leak analysis and the collector: what is reachable, what is leaked,
 * what the reports say, and that collections anywhere free nothing live.
 */
#include <criterion/criterion.h>
#include <stddef.h>
#include <dlfcn.h>
#include <errno.h>
#include <leash/leak.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

/* Leaked goroutines now; every assertion below is on the exact count. */
static size_t leaks_now(void)
{
    leash_report_t *r;
    size_t n;

    leash_settle(0);
    r = leash_find_leaks();
    n = leash_report_new_count(r);
    if (n != 0)
        leash_report_print(stderr, r);
    leash_report_free(r);
    return n;
}

static void recv_on(void *arg)
{
    leash_chan_recv(arg, NULL);
}

struct box {
    long tag;
    leash_chan_t *c;
};

static struct box *global_box;

Test(leak, chan_in_malloc_block_reachable_from_global)
{
    leash_chan_t *c;
    int i;

    global_box = malloc(sizeof *global_box);
    global_box->c = leash_chan_make(sizeof(int), 0);
    leash_go(recv_on, global_box->c);
    leash_settle(0);

    /* Collections must neither free the channel nor judge it lost. */
    for (i = 0; i < 5; i++)
        leash_gc();
    cr_assert_eq(leaks_now(), 0);

    c = global_box->c;
    cr_assert_eq(leash_settle(0), 1);
    leash_chan_send(c, &i);
    cr_assert_eq(leash_settle(0), 0);
    free(global_box);
    global_box = NULL;
}

static void recv_from_own_box(void *unused)
{
    struct box *b = malloc(sizeof *b);

    b->c = leash_chan_make(0, 0);
    leash_chan_recv(b->c, NULL);
    free(b);
}

Test(leak, chan_in_malloc_block_only_on_blocked_stack)
{
    leash_go(recv_from_own_box, NULL);
    cr_assert_eq(leaks_now(), 1);
}

static __thread leash_chan_t *tls_chan;

Test(leak, thread_local_variable_is_a_root)
{
    tls_chan = leash_chan_make(0, 0);
    leash_go(recv_on, tls_chan);
    cr_assert_eq(leaks_now(), 0);
    leash_chan_close(tls_chan);
    cr_assert_eq(leash_settle(0), 0);
}

Test(leak, dlopened_library_global_is_a_root)
{
    void *lib = dlopen(DLOPEN_SLOT_PATH, RTLD_NOW);
    void **slot;
    leash_chan_t *c;

    cr_assert_not_null(lib, "%s", dlerror());
    slot = dlsym(lib, "leash_test_slot");
    cr_assert_not_null(slot);

    c = leash_chan_make(0, 0);
    *slot = c;
    leash_go(recv_on, c);
    c = NULL;
    cr_assert_eq(leaks_now(), 0);

    /* Once the library forgets it, nothing else holds the channel. */
    *slot = NULL;
    cr_assert_eq(leaks_now(), 1);
}

static void recv_fresh(void *unused)
{
    leash_chan_recv(leash_chan_make(sizeof(long), 0), NULL);
}

Test(leak, reported_once_then_flagged)
{
    leash_report_t *r;
    const leash_goroutine_t *g;

    leash_go(recv_fresh, NULL);
    leash_settle(0);
    r = leash_find_leaks();
    cr_assert_eq(leash_report_count(r), 1);
    cr_assert_eq(leash_report_new_count(r), 1);
    g = leash_report_get(r, 0);
    cr_assert(g->leaked);
    cr_assert_not(g->already_reported);
    cr_assert_str_eq(g->state, "leaked");
    cr_assert_str_eq(g->wait_reason, "chan receive");
    cr_assert_str_eq(g->entry.func, "recv_fresh");
    cr_assert_str_eq(g->creator.func, "leak_reported_once_then_flagged_impl");
    cr_assert_eq(g->parent_id, 1);
    cr_assert_str_eq(g->prim_kind, "channel");
    cr_assert_str_eq(g->prim_site.func, "recv_fresh");
    cr_assert_eq(g->nframes, 2, "%s %s %s", g->frames[0].func,
                 g->frames[1].func, g->frames[2].func);
    cr_assert_str_eq(g->frames[0].func, "leash_chan_recv");
    cr_assert_str_eq(g->frames[1].func, "recv_fresh");
    leash_report_free(r);

    /* Collections keep the leaked goroutine and its channel. */
    leash_gc();
    leash_gc();
    r = leash_find_leaks();
    cr_assert_eq(leash_report_count(r), 1);
    cr_assert_eq(leash_report_new_count(r), 0);
    g = leash_report_get(r, 0);
    cr_assert(g->already_reported);
    cr_assert_str_eq(g->prim_site.func, "recv_fresh");
    leash_report_free(r);
}

static int64_t holder_id;

static void hold_then_block(void *m)
{
    leash_mutex_lock(m);
    holder_id = leash_goid();
    leash_chan_recv(leash_chan_make(0, 0), NULL);
}

static void lock_it(void *m)
{
    leash_mutex_lock(m);
}

/* Out of line, so that no frame of the test keeps the mutex. */
static LEASH_NOINLINE void start_leak_inside_leak(void)
{
    leash_mutex_t *m = leash_alloc(sizeof *m);

    leash_go(hold_then_block, m);
    leash_go(lock_it, m);
    leash_go(lock_it, m);
}

Test(leak, leak_inside_leak_names_the_holder)
{
    leash_report_t *r;
    const leash_goroutine_t *a, *b;

    start_leak_inside_leak();
    leash_settle(0);
    r = leash_find_leaks();
    cr_assert_eq(leash_report_count(r), 3);
    a = leash_report_get(r, 0);
    cr_assert_str_eq(a->wait_reason, "chan receive");
    cr_assert_eq(a->id, holder_id);
    b = leash_report_get(r, 1);
    cr_assert_str_eq(b->wait_reason, "sync.Mutex.Lock");
    cr_assert_str_eq(b->prim_kind, "mutex");
    cr_assert_eq(b->holder_id, holder_id);
    /* A mutex's site is where it was first used: by its holder. */
    cr_assert_str_eq(b->prim_site.func, "hold_then_block");
    b = leash_report_get(r, 2);
    cr_assert_str_eq(b->wait_reason, "sync.Mutex.Lock");
    cr_assert_eq(b->holder_id, holder_id);
    leash_report_free(r);
}

Test(leak, report_text_reads_like_go)
{
    leash_report_t *r;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    int i;

    for (i = 0; i < 2; i++)
        leash_go(recv_fresh, NULL);
    leash_settle(0);
    r = leash_find_leaks();
    leash_report_print(f, r);
    fclose(f);
    cr_assert(strstr(text, "goroutine 2 [chan receive (leaked)]:\n"
                           "leash_chan_recv(...)\n") != NULL, "%s", text);
    cr_assert(strstr(text, "\nrecv_fresh(...)\n") != NULL, "%s", text);
    cr_assert(strstr(text, "created by leak_report_text_reads_like_go_impl "
                           "in goroutine 1\n") != NULL, "%s", text);
    cr_assert(strstr(text, "... and 1 more goroutines with this stack: 3\n")
                  != NULL, "%s", text);
    free(text);
    leash_report_free(r);
}

/* ---- Collections from any stack ---------------------------------- */

#define CANARY 0x5ca1ab1e

struct node {
    long canary;
    struct node *next;
};

static struct node *make_list(int n)
{
    struct node *head = NULL;
    int i;

    for (i = 0; i < n; i++) {
        struct node *x = leash_alloc(sizeof *x);

        x->canary = CANARY;
        x->next = head;
        head = x;
    }
    return head;
}

static int check_list(const struct node *x)
{
    int n = 0;

    for (; x != NULL; x = x->next, n++)
        if (x->canary != CANARY)
            return -1;
    return n;
}

/* Collect at depth; the lists live only in frames above. */
static int deep(int depth, struct node *acc)
{
    struct node *mine = make_list(10);
    volatile char pad[512];
    int r;

    pad[0] = (char)depth;
    if (depth == 0) {
        leash_gc();
        return check_list(acc) + check_list(mine) + pad[0];
    }
    mine->next->next->next = acc;
    r = deep(depth - 1, mine);
    leash_yield();
    return r;
}

static int deep_results[8];

static void deep_collector(void *arg)
{
    deep_results[(long)arg] = deep(40, NULL);
}

Test(leak, collections_on_goroutine_stacks_free_nothing_live)
{
    long i;

    for (i = 0; i < 8; i++)
        leash_go(deep_collector, (void *)i);
    cr_assert_eq(leash_settle(0), 0);
    for (i = 0; i < 8; i++)
        /* Three nodes of each of 40 levels, and ten of the deepest. */
        cr_assert_eq(deep_results[i], 40 * 3 + 10,
                     "goroutine %ld saw %d", i, deep_results[i]);
}

Test(leak, collection_on_native_stack_keeps_suspended_stacks)
{
    struct node *l = make_list(100);

    leash_go(deep_collector, (void *)0);
    leash_go(deep_collector, (void *)1);
    leash_yield();
    leash_gc();
    cr_assert_eq(check_list(l), 100);
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq(deep_results[0], 130);
    cr_assert_eq(deep_results[1], 130);
}

static size_t found_from_goroutine;

static void analyse_here(void *unused)
{
    leash_report_t *r = leash_find_leaks();

    found_from_goroutine = leash_report_new_count(r);
    leash_report_free(r);
}

Test(leak, analysis_from_a_goroutine)
{
    leash_chan_t *kept = leash_chan_make(0, 0);

    leash_go(recv_on, kept);
    leash_go(recv_fresh, NULL);
    leash_go(analyse_here, NULL);
    leash_settle(0);
    cr_assert_eq(found_from_goroutine, 1);
    leash_chan_close(kept);
}

/* ---- goleak-style query ------------------------------------------ */

static void sleeper(void *unused)
{
    leash_sleep(LEASH_SECOND * 3600);
}

Test(leak, goroutines_since_baseline)
{
    leash_baseline_t b;
    leash_report_t *r;

    leash_go(sleeper, NULL);
    leash_yield();
    b = leash_baseline();
    leash_go(sleeper, NULL);
    leash_go(recv_fresh, NULL);
    leash_yield();

    r = leash_goroutines_since(0);
    cr_assert_eq(leash_report_count(r), 3);
    leash_report_free(r);

    r = leash_goroutines_since(b);
    cr_assert_eq(leash_report_count(r), 2);
    cr_assert_str_eq(leash_report_get(r, 0)->state, "sleeping");
    cr_assert_str_eq(leash_report_get(r, 1)->state, "waiting");
    cr_assert_str_eq(leash_report_get(r, 1)->wait_reason, "chan receive");
    leash_report_free(r);
}

/* ---- Stress ------------------------------------------------------ */

enum { WORKERS = 64, ROUNDS = 200 };

static leash_chan_t *stress_chans[WORKERS];
static long stress_done;

struct mnode {
    long canary;
    struct mnode *next;
    struct node *gc;      /* collected memory held only from malloc */
};

/*
 * Each worker builds a list in malloc'd memory whose nodes point to
 * collected lists, blocks on its channel (reachable from a global), is
 * woken by its neighbour, collects now and then, and checks everything.
 */
static void stress_worker(void *arg)
{
    long id = (long)arg, r;
    struct mnode *head = NULL, *x;

    for (r = 0; r < ROUNDS; r++) {
        long token = r;

        x = malloc(sizeof *x);
        x->canary = CANARY;
        x->gc = make_list(3);
        x->next = head;
        head = x;
        if (r % 50 == 25)
            leash_gc();
        if (id % 2 == 0) {
            leash_chan_send(stress_chans[id], &token);
        } else {
            cr_assert(leash_chan_recv(stress_chans[id - 1], &token));
            cr_assert_eq(token, r);
        }
        for (x = head; x != NULL; x = x->next) {
            cr_assert_eq(x->canary, CANARY);
            cr_assert_eq(check_list(x->gc), 3);
        }
    }
    while (head != NULL) {
        x = head->next;
        free(head);
        head = x;
    }
    stress_done++;
}

Test(leak, stress_collections_and_analyses_while_blocking)
{
    long i;
    int rounds = 0;

    for (i = 0; i < WORKERS; i++)
        stress_chans[i] = leash_chan_make(sizeof(long), (size_t)(i % 3));
    for (i = 0; i < WORKERS; i++)
        leash_go(stress_worker, (void *)i);
    while (stress_done < WORKERS) {
        leash_yield();
        /* Every blocked worker waits on a channel a global holds. */
        cr_assert_eq(leaks_now(), 0);
        rounds++;
    }
    cr_assert_gt(rounds, 0);
}

/* ---- Memory the runtime cannot see by itself --------------------- */

static leash_chan_t **arena_slot;

static LEASH_NOINLINE void start_arena_receiver(void)
{
    *arena_slot = leash_chan_make(sizeof(long), 0);
    leash_go(recv_on, *arena_slot);
}

static LEASH_NOINLINE void churn(void)
{
    int i;

    for (i = 0; i < 20000; i++)
        leash_alloc(64);
    leash_gc();
}

Test(leak, registered_mmap_range_is_a_root)
{
    size_t len = 1 << 16;
    char *arena = mmap(NULL, len, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    long v = 42;

    cr_assert_neq(arena, MAP_FAILED);
    cr_assert_eq(leash_add_roots(arena, arena + len), 0);
    arena_slot = (leash_chan_t **)(arena + 4096);
    start_arena_receiver();
    leash_settle(0);

    /* Neither collected nor judged leaked: the arena holds it. */
    churn();
    cr_assert_eq(leaks_now(), 0);
    cr_assert_eq(leash_chan_cap(*arena_slot), 0);
    leash_chan_send(*arena_slot, &v);
    cr_assert_eq(leash_settle(0), 0);

    /* Unregistered, the arena is invisible again. */
    cr_assert_eq(leash_remove_roots(arena, arena + len), 0);
    cr_assert_eq(leash_remove_roots(arena, arena + len), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(leash_add_roots(arena + len, arena), -1);
    start_arena_receiver();
    cr_assert_eq(leaks_now(), 1);
    munmap(arena, len);
}
