/*
 * The context switch for x86-64 (System V). A suspended goroutine's stack
 * holds, from its saved stack pointer up:
 *
 *   sp+0   mxcsr (4 bytes) and x87 control word (2 bytes)
 *   sp+8   r15
 *   sp+16  r14
 *   sp+24  r13
 *   sp+32  r12
 *   sp+40  rbx
 *   sp+48  rbp
 *   sp+56  return address into the code that called leash__swap
 *
 * leash__ctx_regs (sched.c) reads that layout back for tracebacks.
 */
	.text

/* void leash__swap(void **save, void *const *load) */
	.globl	leash__swap
	.type	leash__swap, @function
	.p2align 4
leash__swap:
	.cfi_startproc
	pushq	%rbp
	.cfi_adjust_cfa_offset 8
	pushq	%rbx
	.cfi_adjust_cfa_offset 8
	pushq	%r12
	.cfi_adjust_cfa_offset 8
	pushq	%r13
	.cfi_adjust_cfa_offset 8
	pushq	%r14
	.cfi_adjust_cfa_offset 8
	pushq	%r15
	.cfi_adjust_cfa_offset 8
	subq	$8, %rsp
	.cfi_adjust_cfa_offset 8
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	movq	%rsp, (%rdi)
	movq	(%rsi), %rsp
	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.cfi_endproc
	.size	leash__swap, .-leash__swap

/*
 * First code of every goroutine: r12 holds fn, r13 its argument. It
 * finishes the switch that started it, runs fn, and exits. The return
 * address is undefined so that unwinders stop here.
 */
	.globl	leash__trampoline
	.type	leash__trampoline, @function
	.p2align 4
leash__trampoline:
	.cfi_startproc
	.cfi_undefined rip
	xorl	%ebp, %ebp
	callq	leash__first_run@PLT
	movq	%r13, %rdi
	callq	*%r12
	callq	leash__goexit@PLT
	ud2
	.cfi_endproc
	.size	leash__trampoline, .-leash__trampoline

	.section .note.GNU-stack,"",@progbits
