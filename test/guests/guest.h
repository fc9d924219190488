/*
 * guest.h - what the boot-path code (pv.c, pvh.c) hands to the common part
 * of the test unikernels (lib.c, main.c).
 */
#ifndef XN_GUEST_H
#define XN_GUEST_H

#include "xen-abi.h"

/* The two rings and the shared info page, as pointers this guest can use. */
struct platform {
	const char *kind; /* "pv" or "pvh" */
	const char *cmdline;
	struct xencons_interface *cons;
	u32 cons_port;
	struct xenstore_domain_interface *store; /* NULL: no xenstore */
	u32 store_port;
	struct shared_info *shared;
	/* Mirrors a line to Xen's own console (debug only; may do nothing). */
	void (*debug_write)(const char *s, unsigned long n);
};
extern struct platform plat;

/* Hypercalls, implemented per boot path (hypercall page). */
long hypercall2(unsigned long nr, unsigned long a1, unsigned long a2);
long hypercall3(unsigned long nr, unsigned long a1, unsigned long a2, unsigned long a3);

/* Common entry once plat is filled in; never returns. */
void guest_main(void) __attribute__((noreturn));

/* lib.c */
unsigned long xn_strlen(const char *s);
int xn_strncmp(const char *a, const char *b, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);
void *memset(void *d, int c, unsigned long n);
unsigned long fmt_u(char *buf, unsigned long v); /* decimal, returns length */
void cons_write(const char *s, unsigned long n);
void cons_puts(const char *s);	     /* a whole line, '\n' added */
void cons_puts_quiet(const char *s); /* same, not mirrored to Xen's log */
u64 now_ns(void);		     /* Xen system time; 0 when shared info is missing */
void sleep_ms(u32 ms);
/* Xenstore: relative paths are under /local/domain/<self>/.
 * Both return 0 on success, -1 on an error reply or no xenstore. */
int xs_read(const char *path, char *val, unsigned long size);
int xs_write(const char *path, const char *val);
void shutdown(u32 reason) __attribute__((noreturn));

#endif
