/*
 * Stress: many goroutines doing random sends, receives, selects and
 * yields over buffered and unbuffered channels, with collections forced
 * from inside goroutines while collected blocks are referenced only from
 * goroutine stacks and channel buffers.
 *
 * Every token sent is unique and carries a collected block filled with a
 * pattern derived from its id; the body asserts that every token was
 * received exactly once, intact. Each goroutine also keeps a block of its
 * own on its stack and checks it after every step. Nothing that holds a
 * collected pointer lives in global or malloc'd memory, so a stack or a
 * buffer the collector failed to scan shows up as a block reused (and
 * overwritten) by a later allocation.
 *
 * The run is deterministic for a seed: the scheduler and select's choice
 * are deterministic, and each goroutine draws from its own generator. The
 * seed is printed; LEASH_STRESS_SEED=<n> replays one.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <leash/leash.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DEFAULT_SEED 0x5eed1ea5c0ffee01ull

#define NCHAN 24
#define NPROD 800
#define NCONS_ALL 300    /* always select over every open channel */
#define NCONS_MIX 500    /* plain receives, partial selects, yields */
#define NCHURN 400       /* non-blocking receives, collections, garbage */
#define NGOROUTINES (NPROD + NCONS_ALL + NCONS_MIX + NCHURN)
#define PER_PROD 25
#define NTOKENS (NPROD * PER_PROD)
#define CHURN_STEPS 60
#define GC_EVERY 397     /* steps between forced collections */

#define PRODUCER_LIVENESS (60 * LEASH_SECOND)

#define BLK_WORDS 8
#define MAGIC 0x7a11ed5eed5a17edull

/* ---- Shared counters (no collected pointers here) ---------------- */

static struct {
    uint8_t recv_count[NTOKENS];
    int sent, received;
    int bad_token;        /* wrong check word or id out of range */
    int bad_block;        /* a token's block was overwritten */
    int bad_own;          /* a goroutine's own block was overwritten */
    int closed_early;     /* ok=false before the channels were closed */
    int producers_left;
    int finished;
    int gcs;
    unsigned long steps;
    bool closing;
} st;

/* ---- Randomness -------------------------------------------------- */

static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned below(uint64_t *s, unsigned n)
{
    return (unsigned)(next_rand(s) % n);
}

/* ---- Blocks with a pattern --------------------------------------- */

static uint64_t pattern(uint64_t key, int i)
{
    return (key * 0x2545f4914f6cdd1dull) ^ ((uint64_t)i << 56) ^ MAGIC;
}

static uint64_t *new_block(uint64_t key)
{
    uint64_t *b = leash_alloc(BLK_WORDS * sizeof *b);
    int i;

    if (b == NULL)
        abort();
    for (i = 0; i < BLK_WORDS; i++)
        b[i] = pattern(key, i);
    return b;
}

static bool block_ok(const uint64_t *b, uint64_t key)
{
    int i;

    if (b == NULL)
        return false;
    for (i = 0; i < BLK_WORDS; i++)
        if (b[i] != pattern(key, i))
            return false;
    return true;
}

/* Garbage of the same size class, so a block freed too early is reused
 * and overwritten. */
static void make_garbage(uint64_t *rng)
{
    unsigned n = 1 + below(rng, 8), i;

    for (i = 0; i < n; i++) {
        uint64_t *g = leash_alloc(BLK_WORDS * sizeof *g);

        if (g != NULL)
            memset(g, 0xa5, BLK_WORDS * sizeof *g);
    }
}

/* ---- The world, reachable only from goroutine stacks ------------- */

struct token {
    uint64_t id;
    uint64_t check;
    uint64_t *blk;
};

struct world {
    leash_chan_t *chans[NCHAN];
    leash_chan_t *prod_done;
    uint64_t seed;
};

struct garg {
    struct world *w;
    int index;
};

/* What each goroutine keeps on its own stack: its generator, and a block
 * of its own that every step checks. */
struct self {
    uint64_t rng;
    uint64_t own_key;
    uint64_t *own;
};

/* Set up goroutine a, of kind 1 (producers) to 4 (churners): its
 * generator is seeded from the world's seed, its index and salt; the key
 * of its own block names its kind and index. */
static void self_init(struct self *me, const struct garg *a, int kind,
                      uint64_t salt)
{
    me->rng = a->w->seed ^ ((uint64_t)a->index << 20) ^ salt;
    me->own_key = ((uint64_t)kind << 32) + (uint64_t)a->index;
    me->own = new_block(me->own_key);
}

/* One of the world's channels at random. */
static leash_chan_t *any_chan(struct world *w, struct self *me)
{
    return w->chans[below(&me->rng, NCHAN)];
}

/* One step of any goroutine: count it, sometimes collect, always check
 * the goroutine's own block. */
static void step(struct self *me)
{
    if (++st.steps % GC_EVERY == 0) {
        leash_gc();
        st.gcs++;
    }
    if (below(&me->rng, 3) == 0)
        make_garbage(&me->rng);
    if (!block_ok(me->own, me->own_key))
        st.bad_own++;
    if (below(&me->rng, 16) == 0)
        me->own = new_block(me->own_key);   /* the old one is garbage */
}

static void account(const struct token *t, bool ok)
{
    if (!ok) {
        if (!st.closing)
            st.closed_early++;
        return;
    }
    if (t->id >= NTOKENS || t->check != (t->id ^ MAGIC)) {
        st.bad_token++;
        return;
    }
    if (!block_ok(t->blk, t->id))
        st.bad_block++;
    st.recv_count[t->id]++;
    st.received++;
}

/* Account a receive from a channel whose flag is *closed; a receive that
 * is not ok marks the channel closed, once. */
static void received(const struct token *t, bool ok, bool *closed,
                     int *nopen)
{
    account(t, ok);
    if (!ok && !*closed) {
        *closed = true;
        (*nopen)--;
    }
}

/* ---- Producers --------------------------------------------------- */

static void producer(void *arg)
{
    struct garg *a = arg;
    struct world *w = a->w;
    struct self me;
    int k;

    self_init(&me, a, 1, 0);
    for (k = 0; k < PER_PROD; k++) {
        struct token t, in;
        leash_case_t cs[3];
        bool sent = false;
        int r;

        t.id = (uint64_t)a->index * PER_PROD + (uint64_t)k;
        t.check = t.id ^ MAGIC;
        t.blk = new_block(t.id);
        step(&me);

        while (!sent) {
            switch (below(&me.rng, 10)) {
            case 0: case 1: case 2: case 3:
                leash_chan_send(any_chan(w, &me), &t);
                sent = true;
                break;
            case 4: case 5: case 6:
                /* Blocking select over three send cases. */
                for (r = 0; r < 3; r++)
                    cs[r] = LEASH_SEND_CASE(any_chan(w, &me), &t);
                r = leash_select(cs, 3, false);
                sent = r >= 0;
                break;
            case 7: case 8:
                /* Try two channels; fall back to the next round. */
                cs[0] = LEASH_SEND_CASE(any_chan(w, &me), &t);
                cs[1] = LEASH_SEND_CASE(any_chan(w, &me), &t);
                sent = leash_select(cs, 2, true) >= 0;
                if (!sent)
                    leash_yield();
                break;
            default:
                /* Send or receive, whichever is ready first. */
                memset(&in, 0, sizeof in);
                cs[0] = LEASH_SEND_CASE(any_chan(w, &me), &t);
                cs[1] = LEASH_SEND_CASE(any_chan(w, &me), &t);
                cs[2] = LEASH_RECV_CASE(any_chan(w, &me), &in);
                r = leash_select(cs, 3, false);
                if (r == 2)
                    account(&in, cs[2].ok);
                else
                    sent = true;
                break;
            }
        }
        st.sent++;
        t.blk = NULL;
        if (below(&me.rng, 4) == 0)
            leash_yield();
        step(&me);
    }
    if (--st.producers_left == 0)
        leash_chan_close(w->prod_done);
    st.finished++;
}

/* ---- Consumers --------------------------------------------------- */

/* Select over every channel not yet seen closed, until all are closed. */
static void consumer_all(void *arg)
{
    struct garg *a = arg;
    struct world *w = a->w;
    struct self me;
    struct token in[NCHAN];
    leash_case_t cs[NCHAN];
    int map[NCHAN];
    bool closed[NCHAN] = { false };
    int nopen = NCHAN;

    self_init(&me, a, 2, 0xa11);
    while (nopen > 0) {
        int i, n = 0, r;

        for (i = 0; i < NCHAN; i++) {
            if (closed[i])
                continue;
            memset(&in[n], 0, sizeof in[n]);
            cs[n] = LEASH_RECV_CASE(w->chans[i], &in[n]);
            map[n++] = i;
        }
        r = leash_select(cs, (size_t)n, false);
        received(&in[r], cs[r].ok, &closed[map[r]], &nopen);
        if (below(&me.rng, 8) == 0)
            leash_yield();
        step(&me);
    }
    st.finished++;
}

/* Plain receives on one channel, selects over a few, yields. */
static void consumer_mix(void *arg)
{
    struct garg *a = arg;
    struct world *w = a->w;
    struct self me;
    bool closed[NCHAN] = { false };
    int nopen = NCHAN;

    self_init(&me, a, 3, 0x313);
    while (nopen > 0) {
        struct token in[3];
        leash_case_t cs[3];
        int pick[3], i, r, n;
        bool ok;

        /* Pick among the channels not seen closed. */
        for (i = 0; i < 3; i++) {
            int j = (int)below(&me.rng, NCHAN);

            while (closed[j])
                j = (j + 1) % NCHAN;
            pick[i] = j;
        }
        switch (below(&me.rng, 4)) {
        case 0: case 1:
            memset(&in[0], 0, sizeof in[0]);
            ok = leash_chan_recv(w->chans[pick[0]], &in[0]);
            received(&in[0], ok, &closed[pick[0]], &nopen);
            break;
        case 2:
            n = 1 + (int)below(&me.rng, 3);
            for (i = 0; i < n; i++) {
                memset(&in[i], 0, sizeof in[i]);
                cs[i] = LEASH_RECV_CASE(w->chans[pick[i]], &in[i]);
            }
            r = leash_select(cs, (size_t)n, below(&me.rng, 2) == 0);
            if (r >= 0)
                received(&in[r], cs[r].ok, &closed[pick[r]], &nopen);
            break;
        default:
            leash_yield();
            break;
        }
        step(&me);
    }
    st.finished++;
}

/* Non-blocking receives, collections and garbage, for a while. */
static void churner(void *arg)
{
    struct garg *a = arg;
    struct world *w = a->w;
    struct self me;
    int s;

    self_init(&me, a, 4, 0xc4c);
    for (s = 0; s < CHURN_STEPS; s++) {
        struct token in;
        leash_case_t cs[1];

        switch (below(&me.rng, 5)) {
        case 0:
            memset(&in, 0, sizeof in);
            cs[0] = LEASH_RECV_CASE(any_chan(w, &me), &in);
            if (leash_select(cs, 1, true) == 0)
                account(&in, cs[0].ok);
            break;
        case 1:
            if (below(&me.rng, 20) == 0) {
                leash_gc();
                st.gcs++;
            }
            break;
        case 2:
            leash_sleep(0);
            break;
        default:
            leash_yield();
            break;
        }
        step(&me);
    }
    st.finished++;
}

/* ---- The test ---------------------------------------------------- */

static uint64_t stress_seed(void)
{
    const char *env = getenv("LEASH_STRESS_SEED");

    if (env != NULL && *env != '\0')
        return strtoull(env, NULL, 0);
    return DEFAULT_SEED;
}

static __attribute__((noipa)) struct world *make_world(uint64_t seed)
{
    struct world *w = leash_alloc(sizeof *w);
    uint64_t rng = seed;
    static const size_t caps[] = { 0, 0, 0, 1, 2, 4, 16 };
    int i;

    cr_assert_not_null(w);
    w->seed = seed;
    for (i = 0; i < NCHAN; i++) {
        w->chans[i] = leash_chan_make(sizeof(struct token),
                                      caps[below(&rng, 7)]);
        cr_assert_not_null(w->chans[i]);
    }
    /* At least one unbuffered and one buffered channel. */
    w->chans[0] = leash_chan_make(sizeof(struct token), 0);
    w->chans[1] = leash_chan_make(sizeof(struct token), 3);
    w->prod_done = leash_chan_make(0, 0);
    cr_assert_not_null(w->chans[0]);
    cr_assert_not_null(w->chans[1]);
    cr_assert_not_null(w->prod_done);
    return w;
}

static __attribute__((noipa)) void spawn_all(struct world *w)
{
    static void (*const kinds[])(void *) = {
        producer, consumer_all, consumer_mix, churner,
    };
    int left[4] = { NPROD, NCONS_ALL, NCONS_MIX, NCHURN };
    int next_index[4] = { 0, 0, 0, 0 };
    uint64_t rng = w->seed ^ 0x5a5a;
    int i;

    /* Interleave the kinds at random; indexes count within a kind. */
    for (i = 0; i < NGOROUTINES; i++) {
        int k = (int)below(&rng, 4);
        struct garg *a;

        while (left[k] == 0)
            k = (k + 1) % 4;
        left[k]--;
        a = leash_alloc(sizeof *a);
        cr_assert_not_null(a);
        a->w = w;
        a->index = next_index[k]++;
        cr_assert_gt(leash_go(kinds[k], a), 1);
    }
}

Test(stress, random_channel_traffic_with_collections, .timeout = 300)
{
    uint64_t seed = stress_seed();
    struct world *w;
    int i, missing = 0, dup = 0;

    fprintf(stderr, "stress seed: 0x%" PRIx64
            " (replay with LEASH_STRESS_SEED=0x%" PRIx64 ")\n", seed, seed);
    memset(&st, 0, sizeof st);
    st.producers_left = NPROD;
    w = make_world(seed);
    spawn_all(w);

    /* Wait for the producers (a pending timer keeps a lost wakeup from
     * ending the process as a deadlock), then close every channel so
     * that the consumers drain them and stop. */
    {
        leash_case_t cs[2] = {
            LEASH_RECV_CASE(w->prod_done, NULL),
            LEASH_RECV_CASE(leash_after(PRODUCER_LIVENESS), NULL),
        };

        cr_assert_eq(leash_select(cs, 2, false), 0,
                     "producers still running after %d s: %d of %d tokens "
                     "sent, %d received, %d goroutines alive "
                     "(seed 0x%" PRIx64 ")",
                     (int)(PRODUCER_LIVENESS / LEASH_SECOND), st.sent,
                     NTOKENS, st.received, (int)leash__s.nall - 1, seed);
        cr_assert_not(cs[0].ok);
    }
    cr_assert_eq(st.producers_left, 0);
    cr_assert_eq(st.sent, NTOKENS);
    st.closing = true;
    for (i = 0; i < NCHAN; i++)
        leash_chan_close(w->chans[i]);
    cr_assert_eq(leash_settle(0), 0, "goroutines did not finish");
    cr_assert_eq(st.finished, NGOROUTINES);
    fprintf(stderr, "stress: %lu steps, %d collections, %d tokens\n",
            st.steps, st.gcs, st.received);

    for (i = 0; i < NTOKENS; i++) {
        if (st.recv_count[i] == 0)
            missing++;
        else if (st.recv_count[i] > 1)
            dup++;
    }
    cr_assert_eq(missing, 0, "%d tokens lost (seed 0x%" PRIx64 ")",
                 missing, seed);
    cr_assert_eq(dup, 0, "%d tokens received twice (seed 0x%" PRIx64 ")",
                 dup, seed);
    cr_assert_eq(st.received, NTOKENS);
    cr_assert_eq(st.bad_token, 0, "corrupted tokens");
    cr_assert_eq(st.bad_block, 0, "a token's block was freed while live");
    cr_assert_eq(st.bad_own, 0, "a stack-only block was freed while live");
    cr_assert_eq(st.closed_early, 0, "ok=false before close");
    cr_assert_geq(st.gcs, 20, "only %d collections ran", st.gcs);
    for (i = 0; i < NCHAN; i++)
        cr_assert_eq(leash_chan_len(w->chans[i]), 0);
}

/* ---- Deterministic collector checks ------------------------------ */

/* Blocks whose only references are in a channel buffer survive. */
static __attribute__((noipa)) void fill_buffer(leash_chan_t *c, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        struct token t = { (uint64_t)i, (uint64_t)i ^ MAGIC,
                           new_block((uint64_t)i) };

        leash_chan_send(c, &t);
    }
}

static __attribute__((noipa)) void clobber_stack(void)
{
    volatile char junk[8192];

    memset((char *)junk, 0, sizeof junk);
}

/* Collect four times, each time making garbage that reuses what was
 * freed, so that a block freed too early is overwritten. */
static void collect_and_reuse(uint64_t seed)
{
    uint64_t rng = seed;
    int i, round;

    for (round = 0; round < 4; round++) {
        leash_gc();
        for (i = 0; i < 200; i++)
            make_garbage(&rng);
    }
}

Test(stress, channel_buffer_keeps_blocks_alive)
{
    enum { N = 500 };
    leash_chan_t *c = leash_chan_make(sizeof(struct token), N);
    struct token t;
    int i;

    fill_buffer(c, N);
    clobber_stack();
    collect_and_reuse(1);
    for (i = 0; i < N; i++) {
        cr_assert(leash_chan_recv(c, &t));
        cr_assert_eq(t.id, (uint64_t)i);
        cr_assert(block_ok(t.blk, t.id), "block %d freed while buffered", i);
    }
}

/* Blocks referenced only from the stacks of blocked senders (the value a
 * sender waits to hand over) and of parked goroutines survive. */
static void send_block(void *arg)
{
    struct garg *a = arg;
    uint64_t key = (uint64_t)a->index;
    struct token t = { key, key ^ MAGIC, new_block(key) };
    uint64_t *own = new_block(0x900000000ull + key);

    leash_chan_send(a->w->chans[0], &t);
    memset(&t, 0, sizeof t);
    if (!block_ok(own, 0x900000000ull + key))
        st.bad_own++;
    st.finished++;
}

Test(stress, parked_stacks_keep_blocks_alive)
{
    enum { N = 300 };
    struct world *w = leash_alloc(sizeof *w);
    struct token t;
    int i;

    memset(&st, 0, sizeof st);
    w->chans[0] = leash_chan_make(sizeof(struct token), 0);
    for (i = 0; i < N; i++) {
        struct garg *a = leash_alloc(sizeof *a);

        a->w = w;
        a->index = i;
        leash_go(send_block, a);
    }
    cr_assert_eq(leash_settle(0), N);
    clobber_stack();
    collect_and_reuse(2);
    for (i = 0; i < N; i++) {
        cr_assert(leash_chan_recv(w->chans[0], &t));
        cr_assert_eq(t.id, (uint64_t)i, "senders served out of order");
        cr_assert(block_ok(t.blk, t.id), "block %d freed on a parked stack",
                  i);
        if (i % 50 == 0)
            leash_gc();
    }
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq(st.finished, N);
    cr_assert_eq(st.bad_own, 0);
}
