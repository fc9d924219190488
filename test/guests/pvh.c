/*
 * pvh.c - PVH start of day: find Xen by CPUID, install the hypercall page,
 * map shared info, find console and xenstore through HVM parameters.
 */
#include "guest.h"

extern char hypercall_page[4096];
static union {
	struct shared_info info;
	char page[4096]; /* the whole page: Xen's page replaces all of it */
} shared __attribute__((aligned(4096)));

void pvh_main(const struct hvm_start_info *si);

/* 32-bit HVM hypercall ABI: number via the page offset, args in ebx, ecx, edx. */
long hypercall2(unsigned long nr, unsigned long a1, unsigned long a2)
{
	unsigned long fn = (unsigned long)hypercall_page + nr * 32;
	__asm__ __volatile__("call *%0" : "+a"(fn), "+b"(a1), "+c"(a2) : : "edx", "memory");
	return (long)fn;
}

long hypercall3(unsigned long nr, unsigned long a1, unsigned long a2, unsigned long a3)
{
	unsigned long fn = (unsigned long)hypercall_page + nr * 32;
	__asm__ __volatile__("call *%0" : "+a"(fn), "+b"(a1), "+c"(a2), "+d"(a3) : : "memory");
	return (long)fn;
}

/* Port 0xe9: Xen prints what an HVM guest writes there in its own log. */
static void e9_write(const char *s, unsigned long n)
{
	while (n--)
		__asm__ __volatile__("outb %0, $0xe9" : : "a"(*s++));
}

static void cpuid(u32 leaf, u32 r[4])
{
	__asm__ __volatile__("cpuid"
			     : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			     : "a"(leaf), "c"(0));
}

/* Xen's CPUID leaves sit at 0x40000000 or a multiple of 0x100 above. */
static int hypercall_page_init(void)
{
	u32 base, r[4];

	for (base = 0x40000000; base < 0x40010000; base += 0x100) {
		cpuid(base, r);
		if (r[1] == 0x566e6558 && r[2] == 0x65584d4d && r[3] == 0x4d4d566e &&
		    r[0] - base >= 2) { /* "XenVMMXenVMM" */
			cpuid(base + 2, r);
			__asm__ __volatile__("wrmsr"
					     :
					     : "c"(r[1]), "a"((u32)hypercall_page), "d"(0));
			return 0;
		}
	}
	return -1;
}

static u64 get_param(u32 index)
{
	struct xen_hvm_param p = {.domid = DOMID_SELF, .index = index};
	if (hypercall2(HYPERVISOR_hvm_op, HVMOP_get_param, (unsigned long)&p) != 0)
		return 0;
	return p.value;
}

void pvh_main(const struct hvm_start_info *si)
{
	struct xen_add_to_physmap xatp = {
	    .domid = DOMID_SELF,
	    .space = XENMAPSPACE_shared_info,
	    .gpfn = (unsigned long)&shared >> 12,
	};
	struct xen_hvm_param cb = {
	    .domid = DOMID_SELF,
	    .index = HVM_PARAM_CALLBACK_IRQ,
	    .value = HVM_CALLBACK_VECTOR(0xf3),
	};
	u64 pfn;

	plat.kind = "pvh";
	plat.debug_write = e9_write;
	if (hypercall_page_init() != 0) {
		e9_write("XN-TEST no Xen CPUID leaves\n", 28);
		for (;;)
			__asm__ __volatile__("cli; hlt");
	}
	if (hypercall2(HYPERVISOR_memory_op, XENMEM_add_to_physmap, (unsigned long)&xatp) == 0)
		plat.shared = &shared.info;
	plat.cons = (void *)(unsigned long)(get_param(HVM_PARAM_CONSOLE_PFN) << 12);
	plat.cons_port = (u32)get_param(HVM_PARAM_CONSOLE_EVTCHN);
	pfn = get_param(HVM_PARAM_STORE_PFN);
	if (pfn) {
		plat.store = (void *)(unsigned long)(pfn << 12);
		plat.store_port = (u32)get_param(HVM_PARAM_STORE_EVTCHN);
	}
	plat.cmdline = "";
	if (si->magic == HVM_START_MAGIC && si->cmdline_paddr)
		plat.cmdline = (const char *)(unsigned long)si->cmdline_paddr;
	/* An upcall vector tells libxl that we handle control/shutdown (it then
	 * lets "xl shutdown" ask us).  Interrupts stay off: it never fires. */
	hypercall2(HYPERVISOR_hvm_op, HVMOP_set_param, (unsigned long)&cb);
	guest_main();
}
