/*
 * pv.c - 64-bit PV start of day: everything comes from start_info; ring
 * pages are given as machine frames, which the machine-to-physical table
 * Xen maps read-only into every PV guest turns into our (1:1) addresses.
 */
#include "guest.h"

#define MACH2PHYS	    ((const unsigned long *)0xffff800000000000UL)
#define PTE_PRESENT_RW_USER 7UL

extern char hypercall_page[4096];
/* A page of our image whose mapping we replace with Xen's shared info. */
static union {
	struct shared_info info;
	char page[4096]; /* the whole page: Xen's page replaces all of it */
} shared __attribute__((aligned(4096)));

void pv_main(const struct start_info *si);

/* 64-bit PV hypercall ABI: args in rdi, rsi, rdx; the stub clobbers rcx, r11. */
long hypercall2(unsigned long nr, unsigned long a1, unsigned long a2)
{
	unsigned long fn = (unsigned long)hypercall_page + nr * 32;
	__asm__ __volatile__("call *%0" : "+a"(fn), "+D"(a1), "+S"(a2) : : "rcx", "r11", "memory");
	return (long)fn;
}

long hypercall3(unsigned long nr, unsigned long a1, unsigned long a2, unsigned long a3)
{
	unsigned long fn = (unsigned long)hypercall_page + nr * 32;
	__asm__ __volatile__("call *%0"
			     : "+a"(fn), "+D"(a1), "+S"(a2), "+d"(a3)
			     :
			     : "rcx", "r11", "memory");
	return (long)fn;
}

/* Xen's log; a release hypervisor refuses this for a DomU (harmless). */
static void xen_console_write(const char *s, unsigned long n)
{
	hypercall3(HYPERVISOR_console_io, CONSOLEIO_write, n, (unsigned long)s);
}

static void *mfn_to_virt(unsigned long mfn)
{
	return (void *)(MACH2PHYS[mfn] << 12);
}

void pv_main(const struct start_info *si)
{
	plat.kind = "pv";
	plat.debug_write = xen_console_write;
	plat.cmdline = si->cmd_line;
	plat.cons = mfn_to_virt(si->console_mfn);
	plat.cons_port = si->console_evtchn;
	if (si->store_mfn) {
		plat.store = mfn_to_virt(si->store_mfn);
		plat.store_port = si->store_evtchn;
	}
	if (hypercall3(HYPERVISOR_update_va_mapping, (unsigned long)&shared,
		       si->shared_info | PTE_PRESENT_RW_USER, UVMF_INVLPG) == 0)
		plat.shared = &shared.info;
	guest_main();
}
