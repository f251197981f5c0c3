/*
 * Panics and fatal errors (runtime/panic.c, sched.c, stack.c), each run in
 * a child process (child.h) whose stderr is captured: how it ended
 * (SIGABRT, or exit status 2 for a deadlock), the exact first line, and
 * the goroutine dump that follows, in Go's format.
 *
 * The functions that run in the child are noipa and end with an empty asm,
 * so each is a frame of its own in the dump, under its own name.
 */
#include <criterion/criterion.h>
#include <leash/leash.h>
#include <stdio.h>

#include "child.h"
#include "internal.h"
#include "util.h"

#define DEADLOCK_LINE "fatal error: all goroutines are asleep - deadlock!"

static struct child_result res;

static void run(void (*fn)(void))
{
    child_run(fn, &res);
}

/* Run body in the child: it aborted, stderr opens with first, an empty
 * line, then the header of the panicking goroutine, whose frames include
 * func. */
static void expect_panic(void (*body)(void), const char *first,
                         int64_t goid, const char *func)
{
    char header[64], frame[128];

    run(body);
    snprintf(header, sizeof header, "goroutine %lld [running]:",
             (long long)goid);
    snprintf(frame, sizeof frame, "%s(...)", func);
    assert_child_aborted(&res);
    cr_assert(child_line_is(&res, 0, first), "want first line \"%s\"; "
              "stderr:\n%s", first, res.err);
    cr_assert(child_line_is(&res, 1, ""), "stderr:\n%s", res.err);
    cr_assert(child_line_is(&res, 2, header), "want \"%s\"; stderr:\n%s",
              header, res.err);
    cr_assert(child_block_has(&res, header, frame),
              "no frame \"%s\" under \"%s\"; stderr:\n%s", frame, header,
              res.err);
    cr_assert_eq(child_count_lines(&res, header), 1, "stderr:\n%s",
                 res.err);
}

/* The child exited with status 2 and stderr opens with the deadlock line
 * and an empty line. */
static void expect_deadlock(void)
{
    assert_child_exit(&res, 2);
    cr_assert(child_line_is(&res, 0, DEADLOCK_LINE), "stderr:\n%s", res.err);
    cr_assert(child_line_is(&res, 1, ""), "stderr:\n%s", res.err);
}

/* The child exited with status 0 and wrote nothing to stderr. */
static void expect_clean_exit(void)
{
    assert_child_exit(&res, 0);
    cr_assert_eq(res.len, 0, "stderr:\n%s", res.err);
}

/* ---- Channel panics ---------------------------------------------- */

static KEEP void send_on_closed_body(void)
{
    leash_chan_t *c = leash_chan_make(sizeof(int), 1);
    int v = 1;

    leash_chan_close(c);
    leash_chan_send(c, &v);
    NO_TAIL();
}

Test(panics, send_on_closed_channel)
{
    expect_panic(send_on_closed_body, "panic: send on closed channel", 1,
                 "send_on_closed_body");
    cr_assert(child_block_has(&res, "goroutine 1 [running]:",
                              "leash_chan_send(...)"), "stderr:\n%s",
              res.err);
    child_free(&res);
}

static KEEP void close_closed_body(void)
{
    leash_chan_t *c = leash_chan_make(0, 0);

    leash_chan_close(c);
    leash_chan_close(c);
    NO_TAIL();
}

Test(panics, close_of_closed_channel)
{
    expect_panic(close_closed_body, "panic: close of closed channel", 1,
                 "close_closed_body");
    child_free(&res);
}

static KEEP void close_nil_body(void)
{
    leash_chan_close(NULL);
    NO_TAIL();
}

Test(panics, close_of_nil_channel)
{
    expect_panic(close_nil_body, "panic: close of nil channel", 1,
                 "close_nil_body");
    child_free(&res);
}

static KEEP void go_nil_body(void)
{
    leash_go(NULL, NULL);
    NO_TAIL();
}

Test(panics, go_of_nil_func)
{
    expect_panic(go_nil_body, "panic: go of nil func value", 1,
                 "go_nil_body");
    child_free(&res);
}

/* Blocks sending on arg; the deadlock tests below use it too. */
static KEEP void blocked_sender(void *arg)
{
    int v = 5;

    leash_chan_send(arg, &v);
    NO_TAIL();
}

static KEEP void sender_woken_by_close_body(void)
{
    leash_chan_t *c = leash_chan_make(sizeof(int), 0);

    leash_go(blocked_sender, c);
    leash_yield();
    leash_chan_close(c);
    leash_yield();
    NO_TAIL();
}

Test(panics, blocked_sender_woken_by_close)
{
    expect_panic(sender_woken_by_close_body,
                 "panic: send on closed channel", 2, "blocked_sender");
    cr_assert(child_block_has(&res, "goroutine 2 [running]:",
                              "created by sender_woken_by_close_body in "
                              "goroutine 1"), "stderr:\n%s", res.err);
    child_free(&res);
}

static KEEP void send_closed_in_goroutine(void *arg)
{
    int v = 5;

    leash_chan_close(arg);
    leash_chan_send(arg, &v);
    NO_TAIL();
}

static KEEP void panic_in_goroutine_body(void)
{
    leash_chan_t *c = leash_chan_make(sizeof(int), 0);

    leash_go(send_closed_in_goroutine, NULL);
    leash_go(send_closed_in_goroutine, c);
    leash_yield();
    NO_TAIL();
}

/* The first goroutine panics on close(nil); the second never runs. */
Test(panics, panic_names_the_running_goroutine)
{
    expect_panic(panic_in_goroutine_body, "panic: close of nil channel",
                 2, "send_closed_in_goroutine");
    cr_assert_eq(child_count_lines(&res, "goroutine 3 [running]:"), 0);
    child_free(&res);
}

static KEEP void custom_panic_body(void)
{
    leash_goid();
    leash_panic("custom %d %s", 42, "message");
    NO_TAIL();
}

Test(panics, leash_panic_formats_message)
{
    expect_panic(custom_panic_body, "panic: custom 42 message", 1,
                 "custom_panic_body");
    child_free(&res);
}

static KEEP void first_call_panic_body(void)
{
    leash_panic("before anything else");
    NO_TAIL();
}

/* leash_panic as the program's first runtime call still prints the
 * calling goroutine's stack, as its documentation says. */
Test(panics, leash_panic_as_first_call_prints_stack)
{
    expect_panic(first_call_panic_body, "panic: before anything else", 1,
                 "first_call_panic_body");
    child_free(&res);
}

/* ---- Deadlock ---------------------------------------------------- */

static KEEP void deadlock_body(void)
{
    leash_chan_t *a = leash_chan_make(sizeof(int), 0);
    leash_chan_t *b = leash_chan_make(sizeof(int), 0);
    int v;

    leash_go(blocked_sender, b);
    leash_chan_recv(a, &v);
    NO_TAIL();
}

Test(panics, deadlock_reports_every_goroutine)
{
    run(deadlock_body);
    expect_deadlock();
    cr_assert_eq(child_count_lines(&res, "goroutine 1 [chan receive]:"), 1,
                 "stderr:\n%s", res.err);
    cr_assert_eq(child_count_lines(&res, "goroutine 2 [chan send]:"), 1,
                 "stderr:\n%s", res.err);
    cr_assert(child_block_has(&res, "goroutine 1 [chan receive]:",
                              "leash_chan_recv(...)"), "stderr:\n%s",
              res.err);
    cr_assert(child_block_has(&res, "goroutine 1 [chan receive]:",
                              "deadlock_body(...)"), "stderr:\n%s", res.err);
    cr_assert(child_block_has(&res, "goroutine 2 [chan send]:",
                              "leash_chan_send(...)"), "stderr:\n%s",
              res.err);
    cr_assert(child_block_has(&res, "goroutine 2 [chan send]:",
                              "blocked_sender(...)"), "stderr:\n%s",
              res.err);
    cr_assert(child_block_has(&res, "goroutine 2 [chan send]:",
                              "created by deadlock_body in goroutine 1"),
              "stderr:\n%s", res.err);
    child_free(&res);
}

static KEEP void wait_select(void *arg)
{
    leash_case_t cs[2] = { LEASH_RECV_CASE(arg, NULL),
                           LEASH_RECV_CASE(NULL, NULL) };

    leash_select(cs, 2, false);
    NO_TAIL();
}

static KEEP void wait_nil_recv(void *arg)
{
    leash_chan_recv(NULL, NULL);
    NO_TAIL();
}

static KEEP void wait_nil_send(void *arg)
{
    leash_chan_send(NULL, NULL);
    NO_TAIL();
}

static KEEP void wait_empty_select(void *arg)
{
    leash_select(NULL, 0, false);
    NO_TAIL();
}

/* Goroutines 2 to 5, each blocked for good for a reason of its own. */
static void spawn_waiters(void)
{
    leash_chan_t *c = leash_chan_make(0, 0);

    leash_go(wait_select, c);
    leash_go(wait_nil_recv, NULL);
    leash_go(wait_nil_send, NULL);
    leash_go(wait_empty_select, NULL);
}

static KEEP void deadlock_reasons_body(void)
{
    leash_chan_t *d = leash_chan_make(0, 0);

    spawn_waiters();
    leash_chan_send(d, NULL);
    NO_TAIL();
}

/* The goroutines of deadlock_reasons_body: their headers in the dump, the
 * function each runs (none for the body) and the call each blocks in. */
static const char *const reasons_headers[] = {
    "goroutine 1 [chan send]:",
    "goroutine 2 [select]:",
    "goroutine 3 [chan receive (nil chan)]:",
    "goroutine 4 [chan send (nil chan)]:",
    "goroutine 5 [select (no cases)]:",
};
static const char *const reasons_frames[] = {
    NULL, "wait_select(...)", "wait_nil_recv(...)",
    "wait_nil_send(...)", "wait_empty_select(...)",
};
static const char *const reasons_calls[] = {
    "leash_chan_send(...)", "leash_select(...)", "leash_chan_recv(...)",
    "leash_chan_send(...)", "leash_select(...)",
};
#define NREASONS (sizeof reasons_headers / sizeof reasons_headers[0])

static void check_reasons_dump(void)
{
    size_t i;

    expect_deadlock();
    for (i = 0; i < NREASONS; i++) {
        cr_assert_eq(child_count_lines(&res, reasons_headers[i]), 1,
                     "want one \"%s\"; stderr:\n%s", reasons_headers[i],
                     res.err);
        if (reasons_frames[i] != NULL)
            cr_assert(child_block_has(&res, reasons_headers[i],
                                      reasons_frames[i]),
                      "no %s under %s; stderr:\n%s", reasons_frames[i],
                      reasons_headers[i], res.err);
    }
}

/* Every blocked goroutine appears once with its wait reason. */
Test(panics, deadlock_lists_wait_reasons)
{
    run(deadlock_reasons_body);
    check_reasons_dump();
    cr_assert(child_block_has(&res, "goroutine 1 [chan send]:",
                              "deadlock_reasons_body(...)"),
              "stderr:\n%s", res.err);
    child_free(&res);
}

/* The public call each goroutine blocks in is a frame of its own. */
Test(panics, deadlock_dump_shows_the_blocking_call)
{
    size_t i;

    run(deadlock_reasons_body);
    assert_child_exit(&res, 2);
    for (i = 0; i < NREASONS; i++)
        cr_assert(child_block_has(&res, reasons_headers[i],
                                  reasons_calls[i]),
                  "no %s under %s; stderr:\n%s", reasons_calls[i],
                  reasons_headers[i], res.err);
    child_free(&res);
}

static KEEP void just_exit(void *arg)
{
    NO_TAIL();
}

static KEEP void deadlock_on_exit_body(void)
{
    leash_chan_t *d = leash_chan_make(0, 0);

    spawn_waiters();
    leash_go(just_exit, NULL);
    leash_chan_send(d, NULL);
    NO_TAIL();
}

/*
 * The last goroutine to run exits, so the deadlock is found on its way
 * out. As in Go, a goroutine that has exited is not in the dump.
 */
Test(panics, deadlock_found_on_exit_omits_exited_goroutine)
{
    run(deadlock_on_exit_body);
    check_reasons_dump();
    cr_assert_null(strstr(res.err, "goroutine 6 ["),
                   "an exited goroutine is in the dump:\n%s", res.err);
    cr_assert_null(strstr(res.err, "[dead]"),
                   "an exited goroutine is in the dump:\n%s", res.err);
    child_free(&res);
}

static KEEP void timer_pending_body(void)
{
    int64_t v = 0, start = leash_now();

    if (!leash_chan_recv(leash_after(50 * LEASH_MILLISECOND), &v) ||
        v < start + 50 * LEASH_MILLISECOND)
        _exit(3);
    NO_TAIL();
}

Test(panics, no_deadlock_while_a_timer_is_pending)
{
    run(timer_pending_body);
    expect_clean_exit();
    child_free(&res);
}

static KEEP void wake_later(void *arg)
{
    int v = 9;

    leash_sleep(30 * LEASH_MILLISECOND);
    leash_chan_send(arg, &v);
}

static KEEP void sleeper_pending_body(void)
{
    leash_chan_t *c = leash_chan_make(sizeof(int), 0);
    int v = 0;

    leash_go(wake_later, c);
    if (!leash_chan_recv(c, &v) || v != 9)
        _exit(3);
    NO_TAIL();
}

Test(panics, no_deadlock_while_a_goroutine_sleeps)
{
    run(sleeper_pending_body);
    expect_clean_exit();
    child_free(&res);
}

/* ---- Stack overflow ---------------------------------------------- */

/* Stops only when the stack runs out; limit is never reached. */
static volatile unsigned long limit = ~0ul;

static KEEP unsigned long unbounded(unsigned long n)
{
    volatile char pad[512];
    unsigned long r;

    pad[0] = (char)n;
    pad[511] = (char)(n >> 8);
    if (n == limit)
        return 0;
    r = unbounded(n + 1);
    NO_TAIL();
    return r + (unsigned char)pad[0] + (unsigned char)pad[511];
}

static volatile unsigned long sink;

static KEEP void overflow(void *arg)
{
    sink = unbounded(0);
    NO_TAIL();
}

static KEEP void stack_overflow_body(void)
{
    leash_go(overflow, NULL);
    leash_yield();
    NO_TAIL();
}

Test(panics, stack_overflow_is_reported)
{
    run(stack_overflow_body);
    assert_child_aborted(&res);
    cr_assert(child_line_is(&res, 0,
                            "fatal error: stack overflow in goroutine 2"),
              "stderr:\n%s", res.err);
    cr_assert(child_find_line(&res, 0, "goroutine 2 [running]:") >= 0,
              "stderr:\n%s", res.err);
    cr_assert(child_block_has(&res, "goroutine 2 [running]:",
                              "unbounded(...)"), "stderr:\n%s", res.err);
    child_free(&res);
}
