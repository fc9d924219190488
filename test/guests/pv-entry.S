/*
 * pv-entry.S - 64-bit PV entry point.  The domain builder reads the notes
 * below, maps the image at virtual address 0 (VIRT_BASE), fills in
 * hypercall_page and enters _start in 64-bit mode with paging on and the
 * virtual address of struct start_info in %rsi.
 */
#include "xen-abi.h"
#include "elfnote.h"

	ELFNOTE XEN_ELFNOTE_GUEST_OS, .asciz "xn-test-pv"
	ELFNOTE XEN_ELFNOTE_XEN_VERSION, .asciz "xen-3.0"
	ELFNOTE XEN_ELFNOTE_LOADER, .asciz "generic"
	ELFNOTE XEN_ELFNOTE_VIRT_BASE, .quad 0
	ELFNOTE XEN_ELFNOTE_PADDR_OFFSET, .quad 0
	ELFNOTE XEN_ELFNOTE_ENTRY, .quad _start
	ELFNOTE XEN_ELFNOTE_HYPERCALL_PAGE, .quad hypercall_page

	.section .text.entry, "ax"
	.code64
	.globl _start
_start:
	cld
	leaq stack_top(%rip), %rsp
	movq %rsi, %rdi			/* start_info, argument of pv_main */
	call pv_main
1:	jmp 1b				/* not reached: pv_main shuts down */

	.balign 4096
	.globl hypercall_page		/* Xen writes the stubs here at build time */
hypercall_page:
	.skip 4096

	.bss
	.balign 16
	.skip 16384
stack_top:
