/* elfnote.h - ELFNOTE type, desc: one "Xen" ELF note, for the .S files. */
#ifndef XN_GUEST_ELFNOTE_H
#define XN_GUEST_ELFNOTE_H
/* clang-format off */
.macro ELFNOTE type:req, desc:vararg
	.pushsection .note.Xen, "a", @note
	.balign 4
	.long 2f - 1f		/* name size */
	.long 4f - 3f		/* desc size */
	.long \type
1:	.asciz "Xen"
2:	.balign 4
3:	\desc
4:	.balign 4
	.popsection
.endm
/* clang-format on */
#endif
