/*
 * Tracebacks (trace.c): unwinding parked and running stacks, resolving pcs
 * to function, file and line, and printing frames as Go does.
 *
 * The pc convention. Every pc the unwinders store is a return address, or,
 * for a frame that a signal interrupted, that frame's pc plus one: so for
 * every stored pc, pc - 1 lies inside the call or faulting instruction, and
 * leash__symbolize(pc, true, ...) reports the line that was executing.
 * leash__print_frames and leash__pc_is_internal rely on it.
 *
 * Single-threaded, like the rest of the runtime. Nothing here prints unless
 * asked to; nothing allocates except the caches (bookkeeping memory, never
 * freed).
 */
#ifndef LEASH_TRACE_H
#define LEASH_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct leash__frame {
    uintptr_t pc;       /* the pc as given to leash__symbolize */
    const char *func;   /* function name, "?" when unknown; owned by the
                         * cache, valid forever */
    const char *file;   /* source file path, NULL when unknown; owned by the
                         * cache, valid forever */
    int line;           /* 0 when unknown */
    uintptr_t offset;   /* pc - function start; 0 when the start is unknown */
} leash__frame_t;

/*
 * Unwind a suspended stack from the registers leash__swap saved on it;
 * saved_sp is the stack pointer it stored (g->sp). The first pc is the
 * return address into the function that called leash__swap; unwinding ends
 * at leash__trampoline (whose return address is undefined), at the bottom
 * of the thread's own stack, at a frame without unwind information that
 * the frame-pointer chain cannot explain, or after max pcs.
 * Result: the number of pcs stored in pcs (0 <= result <= max).
 */
int leash__trace_saved(const void *saved_sp, uintptr_t *pcs, int max);

/*
 * Unwind the calling stack. The first pc stored is the return address into
 * the caller of leash__trace_current, after skip more frames are dropped.
 * Signal frames are followed (a handler sees the interrupted code, stored
 * as its pc + 1); the kernel's signal trampoline itself is not stored.
 * Result: the number of pcs stored (0 <= result <= max).
 */
int leash__trace_current(uintptr_t *pcs, int max, int skip);

/*
 * Resolve pc to function, file and line into *out. With is_return, pc is
 * a return address (or a pc from the unwinders above) and pc - 1 is looked
 * up, so that the line of the call is reported; otherwise pc itself (a
 * function's address, a faulting pc). Names come from the ELF symbol table
 * (dladdr when there is none), file and line from DWARF. Results are cached
 * per (pc, is_return): a repeated lookup is a hash probe, and returns the
 * same string pointers. Never fails: unknown parts are "?", NULL and 0.
 */
void leash__symbolize(uintptr_t pc, bool is_return, leash__frame_t *out);

/*
 * Print frames in Go's goroutine-dump format, one per pc that is not a
 * runtime internal (see leash__pc_is_internal):
 *
 *   func(...)
 *   \t/path/file.c:123 +0x1f
 *
 * The offset is from the function's start to pc. Without line information
 * the second line reads "\t?:0 +0x1f", and for an unknown function
 * "\t?:0 pc=0x7f12...". Public calls (leash_*) are kept, so the blocking
 * call a goroutine parks in, e.g. leash_chan_recv, is its top frame.
 */
void leash__print_frames(FILE *out, const uintptr_t *pcs, int n);

/*
 * Whether the function at pc - 1 (pc as the unwinders store it) is a
 * runtime internal that reports leave out: a function named leash__*
 * (leash__trampoline, leash__park, leash__swap, ...), or any function
 * compiled from the runtime's own sources (runtime/) whose name does not
 * start with leash_ (the static helpers of the park and schedule paths).
 * When the runtime has no DWARF, the second rule applies to every function
 * of the shared object holding the runtime instead.
 */
bool leash__pc_is_internal(uintptr_t pc);

#endif
