/*
 * Tracebacks: unwinding goroutine stacks, resolving pcs to names and lines,
 * and printing frames in Go's format. This file owns the symbol caches.
 *
 * Unwinding is libunwind's local unwinder, driven by DWARF CFI. A parked
 * goroutine is unwound from a context rebuilt from what leash__swap saved:
 * unw_getcontext fills a ucontext for the calling stack (so that every
 * field libunwind may touch is sane), and the pc, stack pointer and
 * callee-saved registers are then replaced by the saved ones. libunwind
 * reads registers from that context and memory through plain loads, so it
 * walks the foreign stack as its own; its caches are keyed by pc, which
 * code on every stack shares. Nothing is captured at park time beyond what
 * the switch saves. A frame-pointer walk was not needed as a fallback:
 * libunwind already falls back to the frame chain, with validated reads,
 * where a pc has no CFI.
 *
 * Symbolization is libdw's dwfl over the process's own mappings: names from
 * the ELF symbol table, file and line from the DWARF line table. Its
 * memory (from malloc, which mem.c indexes) lives as long as the process.
 * Separate debug files are looked up by build ID under the local debug
 * directories only; the standard callback would also ask debuginfod
 * servers, and a traceback must not wait on the network.
 *
 * Two caches, both bookkeeping memory that is never freed: interned
 * strings (names and paths, copied out of libdw so that they outlive a
 * dlclose), and resolved frames keyed by (pc, is_return). The loader's
 * load and unload counters (dl_iterate_phdr) are compared on every lookup:
 * a new object is reported to dwfl again, and an unloaded one empties the
 * frame cache, since its addresses may be reused by the next dlopen.
 *
 * Known shortcomings:
 *   - TODO: inlined calls get no frames of their own. A pc in code inlined
 *     from g into f is reported as f with g's file and line; Go lists g
 *     too. DWARF's inlined-subroutine entries (dwarf_getscopes) have it.
 *   - libunwind does not validate the reads that CFI directs: a stack the
 *     program overwrote can make the walk fault instead of stop.
 *   - A step costs about 0.8 us, most of it in the sigprocmask calls with
 *     which libunwind 1.6 guards its global cache. unw_backtrace's fast
 *     path (tens of ns a frame) only starts from the running context.
 */
#define _GNU_SOURCE
#include "internal.h"
#include "trace.h"

#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <inttypes.h>
#include <link.h>
#include <signal.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

/* ---- Unwinding --------------------------------------------------- */

/*
 * The pc a signal handler returns to, that is, the pc of the kernel's
 * signal frame: the restorer (__restore_rt) that glibc registers with every
 * handler, read back from any installed one. 0 while no handler is
 * installed, when no signal frame can exist. Comparing pcs with it costs
 * nothing and reads no memory; unw_is_signal_frame cannot be used, as
 * libunwind 1.6 answers it for the frame its last step left and later
 * releases for the current one, by reading the code at the pc.
 */
static uintptr_t sigreturn_pc(void)
{
    static uintptr_t restorer;
    struct sigaction sa;
    int s;

    for (s = 1; restorer == 0 && s < NSIG; s++) {
        if (sigaction(s, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL &&
            sa.sa_handler != SIG_IGN)
            restorer = (uintptr_t)sa.sa_restorer;
    }
    return restorer;
}

/*
 * Store the pcs of the frames from the cursor's outward, dropping the
 * first skip. The cursor's frame 0 holds a return address, as do the
 * frames that follow, except the one a signal interrupted: that one is
 * stored plus one (see trace.h), and the signal frame before it, at
 * sigret, not at all. sigret is 0 for a parked stack: a goroutine never
 * parks inside a handler.
 */
static int walk(unw_cursor_t *cur, uintptr_t *pcs, int max, int skip,
                uintptr_t sigret)
{
    bool interrupted = false;
    int n = 0;

    while (n < max) {
        unw_word_t ip;
        bool sigframe;

        if (unw_get_reg(cur, UNW_REG_IP, &ip) < 0 || ip == 0)
            break;
        sigframe = sigret != 0 && ip == sigret;
        if (!sigframe) {
            if (skip > 0)
                skip--;
            else
                pcs[n++] = (uintptr_t)ip + (interrupted ? 1 : 0);
        }
        interrupted = sigframe;

        /* 0: the outermost frame; < 0: no unwind info or bad memory. */
        if (unw_step(cur) <= 0)
            break;
    }
    return n;
}

int leash__trace_saved(const void *saved_sp, uintptr_t *pcs, int max)
{
    leash__regs_t r;
    unw_context_t uc;
    unw_cursor_t cur;
    greg_t *gr;

    if (saved_sp == NULL || pcs == NULL || max <= 0)
        return 0;
    leash__ctx_regs(saved_sp, &r);

    /* A context of this stack, then the suspended one's registers. */
    if (unw_getcontext(&uc) != 0)
        return 0;
    gr = uc.uc_mcontext.gregs;
    gr[REG_RIP] = (greg_t)r.rip;
    gr[REG_RSP] = (greg_t)r.rsp;
    gr[REG_RBP] = (greg_t)r.rbp;
    gr[REG_RBX] = (greg_t)r.rbx;
    gr[REG_R12] = (greg_t)r.r12;
    gr[REG_R13] = (greg_t)r.r13;
    gr[REG_R14] = (greg_t)r.r14;
    gr[REG_R15] = (greg_t)r.r15;

    /* unw_init_local looks up pc - 1 for frame 0: right for r.rip, the
     * return address of the call to leash__swap. */
    if (unw_init_local(&cur, &uc) < 0)
        return 0;
    return walk(&cur, pcs, max, 0, 0);
}

/*
 * Not inlined and not a tail call (the context lives in this frame), so
 * frame 0 is always this function and frame 1 its caller.
 */
LEASH_NOINLINE int leash__trace_current(uintptr_t *pcs, int max, int skip)
{
    unw_context_t uc;
    unw_cursor_t cur;

    if (pcs == NULL || max <= 0)
        return 0;
    if (skip < 0)
        skip = 0;
    if (unw_getcontext(&uc) != 0 || unw_init_local(&cur, &uc) < 0)
        return 0;
    return walk(&cur, pcs, max, skip + 1, sigreturn_pc());
}

/* ---- Caches ------------------------------------------------------ */

/* A resolved frame, keyed by (pc, is_return). */
struct entry {
    uintptr_t pc;
    leash__frame_t f;
    bool used;
    bool is_return;
    bool internal;      /* leash__pc_is_internal's answer */
};

/* Open addressing with linear probing; never more than half full. */
static struct {
    struct entry *slots;
    size_t cap;         /* power of two, or 0 before the first lookup */
    size_t n;
} frames;

/* Interned strings: the same text always yields the same pointer. */
static struct {
    const char **slots;
    size_t cap;         /* power of two, or 0 before the first string */
    size_t n;
} strs;

static size_t hash_pc(uintptr_t pc, bool is_return)
{
    uint64_t h = ((uint64_t)pc << 1 | is_return) * 0x9e3779b97f4a7c15ull;

    return (size_t)(h ^ h >> 29);
}

static size_t hash_str(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i;

    for (i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return (size_t)h;
}

static void strs_grow(void)
{
    const char **old = strs.slots;
    size_t oldcap = strs.cap, i;

    strs.cap = oldcap != 0 ? oldcap * 2 : 256;
    strs.slots = leash__xalloc(strs.cap * sizeof *strs.slots);
    for (i = 0; i < oldcap; i++) {
        size_t j;

        if (old[i] == NULL)
            continue;
        j = hash_str(old[i], strlen(old[i])) & (strs.cap - 1);
        while (strs.slots[j] != NULL)
            j = (j + 1) & (strs.cap - 1);
        strs.slots[j] = old[i];
    }
    leash__xfree(old);
}

/* A copy of s[0..len) that lives forever, shared by every equal string. */
static const char *intern_n(const char *s, size_t len)
{
    size_t i;
    char *copy;

    if (2 * (strs.n + 1) > strs.cap)
        strs_grow();
    i = hash_str(s, len) & (strs.cap - 1);
    while (strs.slots[i] != NULL) {
        if (strncmp(strs.slots[i], s, len) == 0 &&
            strs.slots[i][len] == '\0')
            return strs.slots[i];
        i = (i + 1) & (strs.cap - 1);
    }
    copy = leash__xalloc(len + 1);
    memcpy(copy, s, len);
    strs.slots[i] = copy;
    strs.n++;
    return copy;
}

static const char *intern(const char *s)
{
    return s != NULL ? intern_n(s, strlen(s)) : NULL;
}

static void frames_grow(void)
{
    struct entry *old = frames.slots;
    size_t oldcap = frames.cap, i;

    frames.cap = oldcap != 0 ? oldcap * 2 : 512;
    frames.slots = leash__xalloc(frames.cap * sizeof *frames.slots);
    for (i = 0; i < oldcap; i++) {
        size_t j;

        if (!old[i].used)
            continue;
        j = hash_pc(old[i].pc, old[i].is_return) & (frames.cap - 1);
        while (frames.slots[j].used)
            j = (j + 1) & (frames.cap - 1);
        frames.slots[j] = old[i];
    }
    leash__xfree(old);
}

/* The slot of (pc, is_return): its entry, or the empty slot to fill. */
static struct entry *frames_slot(uintptr_t pc, bool is_return)
{
    size_t i;

    if (2 * (frames.n + 1) > frames.cap)
        frames_grow();
    i = hash_pc(pc, is_return) & (frames.cap - 1);
    while (frames.slots[i].used) {
        if (frames.slots[i].pc == pc && frames.slots[i].is_return == is_return)
            break;
        i = (i + 1) & (frames.cap - 1);
    }
    return &frames.slots[i];
}

/* ---- Symbolization ----------------------------------------------- */

static const Dwfl_Callbacks dwfl_callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    /* Local build-ID lookup only: never debuginfod (see the top). */
    .find_debuginfo = dwfl_build_id_find_debuginfo,
};

static struct {
    Dwfl *dwfl;                 /* NULL when libdw could not start */
    bool started;
    unsigned long long adds;    /* loader counters at the last report */
    unsigned long long subs;

    /* Where the runtime is, for leash__pc_is_internal. */
    bool rt_known;
    const char *rt_dir;         /* its sources' directory with a trailing
                                 * '/', NULL without DWARF */
    size_t rt_dirlen;
    uintptr_t rt_lo, rt_hi;     /* its shared object; empty when the
                                 * runtime is linked into the executable */
} sy;

static int read_counters(struct dl_phdr_info *info, size_t size, void *arg)
{
    unsigned long long *c = arg;

    c[0] = info->dlpi_adds;
    c[1] = info->dlpi_subs;
    return 1;
}

/* On failure dwfl knows fewer modules, and names come from dladdr. */
static void report(void)
{
    dwfl_report_begin(sy.dwfl);
    (void)dwfl_linux_proc_report(sy.dwfl, getpid());
    dwfl_report_end(sy.dwfl, NULL, NULL);
}

/*
 * Start libdw on the first lookup; afterwards notice dlopen and dlclose.
 * Re-reporting keeps the modules already known, with their loaded DWARF.
 */
static void sym_refresh(void)
{
    unsigned long long c[2] = { 0, 0 };

    dl_iterate_phdr(read_counters, c);
    if (!sy.started) {
        sy.started = true;
        sy.dwfl = dwfl_begin(&dwfl_callbacks);
        sy.adds = c[0];
        sy.subs = c[1];
        if (sy.dwfl != NULL)
            report();
        return;
    }
    if (c[0] == sy.adds && c[1] == sy.subs)
        return;
    if (c[1] != sy.subs && frames.cap != 0) {
        memset(frames.slots, 0, frames.cap * sizeof *frames.slots);
        frames.n = 0;
    }
    sy.adds = c[0];
    sy.subs = c[1];
    if (sy.dwfl != NULL)
        report();
}

/* The name of the compilation unit that holds addr, or NULL. */
static const char *cu_name(Dwfl_Module *mod, uintptr_t addr)
{
    Dwarf_Addr bias;
    Dwarf_Die *cu;

    if (mod == NULL)
        return NULL;
    cu = dwfl_module_addrdie(mod, addr, &bias);
    return cu != NULL ? dwarf_diename(cu) : NULL;
}

/* Find the runtime's sources and object, from this very function. */
static void find_runtime(void)
{
    uintptr_t self = (uintptr_t)(void *)find_runtime;
    Dwfl_Module *mod;
    const char *cu, *slash;
    Dwarf_Addr lo, hi;
    uintptr_t phdr = (uintptr_t)getauxval(AT_PHDR);

    sy.rt_known = true;
    mod = sy.dwfl != NULL ? dwfl_addrmodule(sy.dwfl, self) : NULL;
    if (mod == NULL)
        return;
    cu = cu_name(mod, self);
    slash = cu != NULL ? strrchr(cu, '/') : NULL;
    if (slash != NULL) {
        sy.rt_dirlen = (size_t)(slash - cu) + 1;
        sy.rt_dir = intern_n(cu, sy.rt_dirlen);
    }

    /* Linked into the executable, its object says nothing about a pc. */
    if (dwfl_module_info(mod, NULL, &lo, &hi, NULL, NULL, NULL, NULL) !=
            NULL && !(phdr >= lo && phdr < hi)) {
        sy.rt_lo = (uintptr_t)lo;
        sy.rt_hi = (uintptr_t)hi;
    }
}

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Whether the function at addr, named name, is a runtime internal. */
static bool is_internal(const char *name, Dwfl_Module *mod, uintptr_t addr)
{
    const char *cu;

    if (has_prefix(name, "leash__"))
        return true;
    if (has_prefix(name, "leash_"))
        return false;
    if (!sy.rt_known)
        find_runtime();
    cu = sy.rt_dir != NULL ? cu_name(mod, addr) : NULL;
    if (cu != NULL)
        return strncmp(cu, sy.rt_dir, sy.rt_dirlen) == 0 &&
               strchr(cu + sy.rt_dirlen, '/') == NULL;
    return addr >= sy.rt_lo && addr < sy.rt_hi;
}

static void resolve(struct entry *e, uintptr_t pc, bool is_return)
{
    uintptr_t addr = is_return && pc != 0 ? pc - 1 : pc;
    Dwfl_Module *mod = NULL;
    const char *name = NULL, *file = NULL;
    uintptr_t start = 0;
    int line = 0;
    Dl_info dl;

    if (sy.dwfl != NULL)
        mod = dwfl_addrmodule(sy.dwfl, addr);
    if (mod != NULL) {
        GElf_Off off;
        GElf_Sym sym;
        Dwfl_Line *l;

        name = dwfl_module_addrinfo(mod, addr, &off, &sym, NULL, NULL, NULL);
        if (name != NULL)
            start = addr - (uintptr_t)off;
        l = dwfl_module_getsrc(mod, addr);
        if (l != NULL)
            file = dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL);
    }

    /* Without a symbol table, the dynamic symbols still name exports. */
    if (name == NULL && dladdr((void *)addr, &dl) != 0 &&
        dl.dli_sname != NULL) {
        name = dl.dli_sname;
        start = (uintptr_t)dl.dli_saddr;
    }

    e->pc = pc;
    e->is_return = is_return;
    e->used = true;
    e->f.pc = pc;
    /* Symbol versions ("memcpy@@GLIBC_2.14") and the suffixes of the
     * compiler's clones ("work.constprop.0", "work.cold") are no part of
     * the name a user wrote or an allowlist names: C identifiers have no
     * dots. */
    e->f.func = name != NULL ? intern_n(name, strcspn(name, "@.")) : "?";
    e->f.file = intern(file);
    e->f.line = file != NULL ? line : 0;
    e->f.offset = name != NULL ? pc - start : 0;
    e->internal = name != NULL && is_internal(name, mod, addr);
    frames.n++;
}

/* The cache entry of (pc, is_return), resolving it on a miss. Valid until
 * the next lookup. */
static const struct entry *lookup(uintptr_t pc, bool is_return)
{
    struct entry *e;

    sym_refresh();
    e = frames_slot(pc, is_return);
    if (!e->used)
        resolve(e, pc, is_return);
    return e;
}

void leash__symbolize(uintptr_t pc, bool is_return, leash__frame_t *out)
{
    *out = lookup(pc, is_return)->f;
}

bool leash__pc_is_internal(uintptr_t pc)
{
    return lookup(pc, true)->internal;
}

/* ---- Printing ---------------------------------------------------- */

void leash__print_frames(FILE *out, const uintptr_t *pcs, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        const struct entry *e = lookup(pcs[i], true);
        const leash__frame_t *f = &e->f;

        if (e->internal)
            continue;
        fprintf(out, "%s(...)\n", f->func);
        if (f->file != NULL)
            fprintf(out, "\t%s:%d +0x%" PRIxPTR "\n", f->file, f->line,
                    f->offset);
        else if (strcmp(f->func, "?") != 0)
            fprintf(out, "\t?:0 +0x%" PRIxPTR "\n", f->offset);
        else
            fprintf(out, "\t?:0 pc=0x%" PRIxPTR "\n", f->pc);
    }
}
