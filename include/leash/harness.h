/*
 * leash harness: Criterion tests that fail when goroutines leak.
 *
 *     #include <leash/harness.h>
 *
 *     LEASH_TEST(orders, first_error_returns_early)
 *     {
 *         cr_assert_eq(process_all(items, 3), -1);
 *     }
 *
 * LEASH_TEST takes what Criterion's Test takes and defines a Criterion
 * test. Its body runs as goroutine 1 (the test thread's own code). When
 * the body returns, the harness lets runnable goroutines finish (a grace
 * period, LEASH_GRACE_MS), forces a collection, finds the goroutines that
 * can never run again (leash_find_leaks), and fails the test from inside
 * its body with the stacks of every leaked goroutine the allowlist does
 * not allow. The failure is an ordinary failed assertion: Criterion prints
 * it, writes it into its --xml, --json and --tap outputs, and exits with
 * a non-zero status.
 *
 * A test that already failed (a cr_assert jumped out of its body) still
 * gets the leak check: its report is printed as warnings after the test's
 * own failure, which stays the test's result. A test body that leaves the
 * process itself (exit, a signal: the .exit_code and .signal options) is
 * not checked.
 *
 * Link with the leash_harness library (CMake: target_link_libraries(t
 * PRIVATE leash_harness)). C only: the macros use C designated
 * initializers. Each Criterion test runs in a process of its own, so a
 * leak is always charged to the test that made it.
 *
 * The body is a function named <Suite>_<Name>_body, the name reports give
 * as the creator of the goroutines it starts; it is compiled without tail
 * calls, so that a leash_go in tail position still names it. Helpers the
 * body calls keep their frames only if they make no tail calls either:
 * compile test code with -fno-optimize-sibling-calls for complete stacks
 * (examples/CMakeLists.txt does).
 *
 *
 * Test macros
 * -----------
 * LEASH_TEST(Suite, Name, ...)
 *     Criterion's Test(Suite, Name, ...) with the leak check. The options
 *     are Criterion's: .init, .fini, .timeout, .description, .disabled,
 *     .signal, .exit_code. Three differ:
 *       .timeout  defaults to LEASH_DEFAULT_TIMEOUT seconds (or
 *                 $LEASH_TIMEOUT, or the suite's .timeout when the suite
 *                 has one), so a hung test cannot stall CI; an explicit
 *                 .timeout wins. Note that Criterion's --timeout=S option
 *                 lowers every timeout above S, the default one included.
 *       .fini     still runs, after the leak check. The harness installs
 *                 a .fini of its own that calls yours.
 *       .init     still runs before the body, on goroutine 1. The
 *                 harness installs an .init of its own that calls yours,
 *                 then clears the stack it used, so that pointers left
 *                 there do not hide a leak. Goroutines started by the
 *                 suite's or the test's .init are checked with the
 *                 test's: a leaked one fails the test, strict or not.
 *                 Known shortcoming: a goroutine that blocks while .init
 *                 is still running (the .init yields or blocks) can be
 *                 missed: pointers left in Criterion's own frames, which
 *                 the scan must take as live, can keep what it waits on
 *                 looking reachable. Start goroutines in the body.
 *
 * LEASH_STRICT_TEST(Suite, Name, ...)
 *     The same in strict mode: every goroutine still alive when the body
 *     returned and the grace period ended fails the test, leaked or not
 *     (a poller whose ticker still fires, a server still listening), unless
 *     the allowlist allows it. Goroutines started before the body (by
 *     .init) are left out of this check of the living, since a fixture
 *     may keep them running; those that leaked are reported like any
 *     other leak. For the allowlist's wait: matcher, a goroutine that is
 *     not parked on a primitive has the wait "sleep" (in leash_sleep) or
 *     its state ("runnable").
 *
 * LEASH_PARAMETERIZED_TEST(Param, Suite, Name, ...)
 * LEASH_STRICT_PARAMETERIZED_TEST(Param, Suite, Name, ...)
 *     Criterion's ParameterizedTest(Param, Suite, Name, ...), where Param
 *     declares the pointer the body receives, as in Criterion:
 *
 *         ParameterizedTestParameters(pool, sizes)
 *         {
 *             static int sizes[] = { 0, 1, 8 };
 *             return cr_make_param_array(int, sizes, 3);
 *         }
 *
 *         LEASH_PARAMETERIZED_TEST(int *size, pool, sizes)
 *         {
 *             run_pool(*size);
 *         }
 *
 *     Each parameter is its own test process with its own leak check;
 *     allowlist test: globs see "Suite/Name" for all of them. The
 *     report of parameter i is named <suite>.<name>.<i>.json; the harness
 *     finds i by calling the parameters function again in the test process
 *     and comparing bytes (a parameter equal to none, such as one holding
 *     pointers allocated per call, is named by the process id instead).
 *
 * LEASH_SUITE(Name, ...)
 * LEASH_STRICT_SUITE(Name, ...)
 *     Criterion's TestSuite(Name, ...), with the same options. Every
 *     leash test of a suite declared with LEASH_STRICT_SUITE is strict.
 *     LEASH_SUITE makes no test strict; it is there so that a suite can
 *     be switched by changing one word. Declare a suite once, in one file.
 *
 * A test is strict when its macro, its suite or $LEASH_STRICT=1 says so.
 * Strict or not, the same allowlist applies.
 *
 * Do not fail assertions (cr_assert) inside goroutines other than the
 * body: Criterion's abort jumps to the test thread's stack, away from the
 * goroutine's own, and the runtime cannot continue. Use cr_expect there,
 * which records the failure and returns. When it happens anyway, the
 * harness says so and skips the leak check.
 *
 *
 * What a failing test prints
 * --------------------------
 *     [----] orders.c:12: Assertion Failed
 *     [----]   leash: orders/first_error_returns_early: 2 of 2 leaked
 *     [----]   goroutines not allowed
 *     [----]   goroutine 4 [chan send (leaked)]:
 *     [----]   leash_chan_send(...)
 *     ...
 * The message is Go's goroutine dump format (see leash_report_print), one
 * group per distinct stack, the file:line is the test's. An expired
 * allowance is named before its goroutines as
 *     allowance expired on 2024-06-30 (leash-allow.yaml:12): <reason>
 * and an entry whose max was used up as
 *     over the limit: leash-allow.yaml:5 allows at most 2 (<reason>)
 * Allowed leaks are listed one per line,
 *     allowed: goroutine 7 [chan send] s21_process by leash-allow.yaml:5
 *     (<reason>)
 * at the end of a failure, and as Criterion info messages (shown with
 * --verbose) when the test passes. A parameterized test is named with its
 * parameter's index: "pool/sizes[2]".
 *
 * Criterion 2.4.1 copies failure messages into its --xml and --json files
 * without escaping them; so that those files stay well-formed, the text
 * Criterion receives has tabs as four spaces, the characters " \ < > &
 * replaced by ' / ( ) +, CR and DEL by a space, and each byte that is not
 * UTF-8 and each character XML 1.0 forbids (other C0 controls, U+FFFE,
 * U+FFFF) by '?'; the test's file name gets the same treatment. Lines
 * longer than 960 bytes are broken (Criterion's console cuts them), and a
 * group of more than 20 goroutines with one stack lists the first ids
 * and the last: "3 4 ... 502 (479 more in the JSON report)". The JSON
 * report keeps the exact text, except that jansson takes only UTF-8: a
 * byte that is not is written as U+FFFD, every valid character kept.
 *
 *
 * Environment
 * -----------
 * Read by every test process; a bad value fails every test with a message
 * naming the variable, it is never ignored.
 *
 * LEASH_MODE=fail|report|off
 *     fail (the default when unset or empty): leaks fail the test.
 *     report: leaks are printed on stderr, each line tagged "[LEAK] ",
 *     and written to the JSON report; the test's result is its own. (Not
 *     as Criterion warnings: Criterion exits non-zero after any warning
 *     unless run with --ignore-warnings.) off: no check and no allowlist;
 *     the body still runs as goroutine 1.
 * LEASH_STRICT=0|1
 *     1 makes every leash test strict. 0 or unset leaves strictness to the
 *     test and suite macros.
 * LEASH_GRACE_MS=N
 *     How long, at most, the harness waits for timers of goroutines that
 *     are still busy before it judges (0 to 600000; default 100). Runnable
 *     goroutines always run until they block or exit; the grace only
 *     bounds waiting for sleeps and timers. A goroutine that never blocks
 *     (a polling loop) does not hold the check up: the wait ends once the
 *     grace has passed and the goroutines have had 1 000 000 turns in all
 *     (leash_settle), and strict mode then reports it as "runnable".
 * LEASH_TIMEOUT=S
 *     The default .timeout in seconds (a decimal number, 0 to 86400; 0
 *     means none) of tests that set none themselves and whose suite sets
 *     none. Default LEASH_DEFAULT_TIMEOUT.
 * LEASH_ALLOWLIST=path
 *     The allowlist (format in harness/allowlist.h). When set, the file
 *     must exist; set but empty is an error too. When unset, the first
 *     leash-allow.yaml found from the working directory up to / is used,
 *     if any. A file that cannot be
 *     read or is malformed fails every test with "path:line:column:
 *     message"; it never allows anything.
 * LEASH_REPORT_DIR=dir
 *     Each checked test writes its JSON report (below) to
 *     dir/<suite>.<name>.json (dir/<suite>.<name>.<i>.json for parameter
 *     i), creating dir if needed (one level), so that a CI step
 *     can collect the reports after Criterion's workers are done. A
 *     report that cannot be written fails the test.
 * LEASH_TODAY=YYYY-MM-DD
 *     The date expiry dates are compared with, instead of today (UTC): a
 *     day that exists, year 1970 to 9999.
 *
 * After all tests ran, the Criterion runner process prints one warning per
 * allowlist entry that allowed or matched no goroutine in this run (it
 * does not change the exit status):
 *     [WARN] leash: allowlist entry leash-allow.yaml:12 (<reason>)
 *     matched nothing in this run
 * The runner learns what each test used through the JSON reports, written
 * to a private directory it creates for the run (passed to the workers as
 * LEASH__RUN_DIR) besides LEASH_REPORT_DIR. An allowlist shared by several
 * test binaries names, in each binary's run, the entries for the others.
 *
 *
 * JSON report, schema "leash-report" version 1
 * --------------------------------------------
 * Written with jansson, atomically (a temporary file renamed), one per
 * checked test:
 *   schema       "leash-report"
 *   version      1; a reader must refuse a version it does not know
 *   test         {suite, name, param_index (integer or null), file, line,
 *                 body: "returned" | "aborted"}
 *                 aborted: Criterion left the body on a failed assertion
 *   settings     {mode: "fail" | "report", strict: bool, grace_ms}
 *   verdict      "clean": nothing to report; "allowed": every goroutine
 *                found was allowed; "leaks": some were not allowed;
 *                "error": no check ran (see error)
 *   failed       bool: the harness failed the test
 *   error        null, or the message the test failed with (a bad
 *                setting, an allowlist error, a report write error)
 *   allowlist    null (none used), or {path, entries_used: [{file, line,
 *                reason, matches, allowed, expired, over_max}]}: the
 *                entries that decided a verdict in this test
 *   leaks        one object per goroutine judged, by id:
 *                {id, state ("leaked", or for strict mode "waiting",
 *                "runnable", "sleeping"), leaked: bool, wait_reason,
 *                blocked_ms, verdict: "not_allowed" | "allowed" |
 *                "expired" | "over_max", allowed: bool, expired: bool,
 *                allowed_by: {file, line, reason} | null (the entry that
 *                allowed it), entry_matched: {file, line, reason,
 *                expires ("YYYY-MM-DD" | null), max} | null (the entry
 *                that decided the verdict, also for expired and over_max),
 *                entry: FRAME (the function it was started with),
 *                creator: FRAME (the call to leash_go), parent_id,
 *                frames: [FRAME] (innermost first), primitive: {kind,
 *                address ("0x..."), count, site: FRAME | null, holder_id
 *                (0: none)} | null (waits on nothing)}
 *   summary      {goroutines, leaked, alive, allowed, not_allowed, expired,
 *                over_max}: alive counts strict mode's goroutines that are
 *                not leaked; not_allowed includes expired and over_max
 *   text         the failure or warning text as printed, before the
 *                character replacements above (null when every goroutine
 *                found was allowed)
 * FRAME is {func, file (null when unknown), line}. New fields may be
 * added within version 1; a changed meaning makes version 2.
 */
#ifndef LEASH_HARNESS_H
#define LEASH_HARNESS_H

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <leash/leash.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The .timeout of a leash test that sets none, in seconds. */
#define LEASH_DEFAULT_TIMEOUT 60.0

/* The grace period when LEASH_GRACE_MS is unset, in milliseconds. */
#define LEASH_DEFAULT_GRACE_MS 100

/* ---- Everything below is the macros' machinery: do not use it. ---- */

/* One leash test, defined by the macros; registered at load time. */
struct leash__test {
    const char *suite;
    const char *name;
    const char *file;
    unsigned line;
    void (*body)(void);            /* LEASH_TEST */
    void (*param_body)(void *);    /* LEASH_PARAMETERIZED_TEST */
    struct criterion_test_params (*params)(void);
    const struct criterion_test_extra_data *user; /* the user's options */
    bool strict;
    struct leash__test *next;
};

/* One suite declared with LEASH_SUITE or LEASH_STRICT_SUITE. */
struct leash__suite {
    const char *name;
    bool strict;
    struct leash__suite *next;
};

void leash__harness_register(struct leash__test *t);
void leash__harness_register_suite(struct leash__suite *s);
void leash__harness_run(struct leash__test *t, void *param);
void leash__harness_init(struct leash__test *t);
void leash__harness_fini(struct leash__test *t);

#define LEASH__ID(Suite, Name, What) leash__##Suite##_##Name##_##What

/*
 * The body is named <Suite>_<Name>_body, the name reports show as the
 * creator of goroutines it starts. It makes no tail calls: a leash_go as
 * its last statement would otherwise name the harness as the creator.
 */
#define LEASH__BODY(Suite, Name) Suite##_##Name##_body
#if defined(__clang__)
#define LEASH__NO_TAIL_CALLS __attribute__((disable_tail_calls, noinline))
#else
#define LEASH__NO_TAIL_CALLS                                            \
    __attribute__((optimize("no-optimize-sibling-calls"), noinline))
#endif

/* The harness's .timeout, .init and .fini come after the user's, on
 * purpose. */
#define LEASH__OVERRIDE_BEGIN                                           \
    _Pragma("GCC diagnostic push")                                      \
    _Pragma("GCC diagnostic ignored \"-Woverride-init\"")
#define LEASH__OVERRIDE_END _Pragma("GCC diagnostic pop")

/* What every variant defines before Criterion's test. */
#define LEASH__COMMON(Strict, Suite, Name, Body, PBody, Params, ...)     \
    static const struct criterion_test_extra_data                      \
        LEASH__ID(Suite, Name, user) = { __VA_ARGS__ };                 \
    static struct leash__test LEASH__ID(Suite, Name, desc) = {          \
        #Suite, #Name, __FILE__, __LINE__, Body, PBody, Params,         \
        &LEASH__ID(Suite, Name, user), Strict, NULL                     \
    };                                                                  \
    __attribute__((constructor)) static void                            \
    LEASH__ID(Suite, Name, register)(void)                              \
    {                                                                   \
        leash__harness_register(&LEASH__ID(Suite, Name, desc));         \
    }                                                                   \
    static void LEASH__ID(Suite, Name, init)(void)                      \
    {                                                                   \
        leash__harness_init(&LEASH__ID(Suite, Name, desc));             \
    }                                                                   \
    static void LEASH__ID(Suite, Name, fini)(void)                      \
    {                                                                   \
        leash__harness_fini(&LEASH__ID(Suite, Name, desc));             \
    }

#define LEASH__TEST(Strict, Suite, Name, ...)                           \
    LEASH__NO_TAIL_CALLS static void LEASH__BODY(Suite, Name)(void);    \
    LEASH__COMMON(Strict, Suite, Name, LEASH__BODY(Suite, Name), NULL,  \
                  NULL, __VA_ARGS__)                                    \
    LEASH__OVERRIDE_BEGIN                                               \
    Test(Suite, Name, .timeout = LEASH_DEFAULT_TIMEOUT, __VA_ARGS__,    \
         .init = LEASH__ID(Suite, Name, init),                          \
         .fini = LEASH__ID(Suite, Name, fini))                          \
    {                                                                   \
        leash__harness_run(&LEASH__ID(Suite, Name, desc), NULL);        \
    }                                                                   \
    LEASH__OVERRIDE_END                                                 \
    LEASH__NO_TAIL_CALLS static void LEASH__BODY(Suite, Name)(void)

#define LEASH__PTEST(Strict, Param, Suite, Name, ...)                   \
    LEASH__NO_TAIL_CALLS static void LEASH__BODY(Suite, Name)(Param);   \
    static void LEASH__ID(Suite, Name, tramp)(void *leash__p)           \
    {                                                                   \
        LEASH__BODY(Suite, Name)(leash__p);                             \
    }                                                                   \
    LEASH__COMMON(Strict, Suite, Name, NULL,                            \
                  LEASH__ID(Suite, Name, tramp),                        \
                  CR_IDENTIFIER_(Suite, Name, param), __VA_ARGS__)      \
    LEASH__OVERRIDE_BEGIN                                               \
    ParameterizedTest(void *leash__param, Suite, Name,                  \
                      .timeout = LEASH_DEFAULT_TIMEOUT, __VA_ARGS__,    \
                      .init = LEASH__ID(Suite, Name, init),             \
                      .fini = LEASH__ID(Suite, Name, fini))             \
    {                                                                   \
        leash__harness_run(&LEASH__ID(Suite, Name, desc), leash__param); \
    }                                                                   \
    LEASH__OVERRIDE_END                                                 \
    LEASH__NO_TAIL_CALLS static void LEASH__BODY(Suite, Name)(Param)

#define LEASH__SUITE(Strict, Name, ...)                                 \
    static struct leash__suite leash__suite_##Name = {                  \
        #Name, Strict, NULL                                             \
    };                                                                  \
    __attribute__((constructor)) static void                            \
    leash__suite_##Name##_register(void)                                \
    {                                                                   \
        leash__harness_register_suite(&leash__suite_##Name);            \
    }                                                                   \
    LEASH__OVERRIDE_BEGIN                                               \
    TestSuite(Name, __VA_ARGS__);                                       \
    LEASH__OVERRIDE_END                                                 \
    extern int leash__suite_##Name##_end

/* ---- The macros ---------------------------------------------------- */

/* A Criterion test with the leak check; see the top of this file. */
#define LEASH_TEST(...) LEASH__TEST(false, __VA_ARGS__, .sentinel_ = 0)

/* A Criterion test in strict mode: nothing may be left alive. */
#define LEASH_STRICT_TEST(...)                                          \
    LEASH__TEST(true, __VA_ARGS__, .sentinel_ = 0)

/* Criterion's ParameterizedTest(Param, Suite, Name, ...) with the check. */
#define LEASH_PARAMETERIZED_TEST(...)                                   \
    LEASH__PTEST(false, __VA_ARGS__, .sentinel_ = 0)

/* The same in strict mode. */
#define LEASH_STRICT_PARAMETERIZED_TEST(...)                            \
    LEASH__PTEST(true, __VA_ARGS__, .sentinel_ = 0)

/* Criterion's TestSuite(Name, ...). */
#define LEASH_SUITE(...) LEASH__SUITE(false, __VA_ARGS__, .sentinel_ = 0)

/* Criterion's TestSuite(Name, ...); every leash test in it is strict. */
#define LEASH_STRICT_SUITE(...)                                         \
    LEASH__SUITE(true, __VA_ARGS__, .sentinel_ = 0)

#ifdef __cplusplus
}
#endif

#endif
