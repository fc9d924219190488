/*
 * pvh-entry.S - PVH entry point (the path Solo5/MirageOS 4 use on Xen).
 * Xen enters at the XEN_ELFNOTE_PHYS32_ENTRY address in 32-bit protected
 * mode, paging off, flat segments, with the physical address of
 * struct hvm_start_info in %ebx.  The guest stays in that mode: C code is
 * built with -m32 and addresses are physical.
 */
#include "xen-abi.h"
#include "elfnote.h"

	ELFNOTE XEN_ELFNOTE_GUEST_OS, .asciz "xn-test-pvh"
	ELFNOTE XEN_ELFNOTE_XEN_VERSION, .asciz "xen-3.0"
	ELFNOTE XEN_ELFNOTE_PHYS32_ENTRY, .long _start

	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	cld
	movl $stack_top, %esp
	pushl %ebx			/* hvm_start_info, argument of pvh_main */
	call pvh_main
1:	hlt				/* not reached: pvh_main shuts down */
	jmp 1b

	.bss
	.balign 4096
	.globl hypercall_page		/* filled by Xen when we name it by MSR */
hypercall_page:
	.skip 4096
	.balign 16
stack:
	.skip 16384
stack_top:
