/*
 * xen-abi.h - the few pieces of the Xen guest ABI the test unikernels use.
 *
 * Written from Xen's public headers (xen/xen.h, xen/sched.h,
 * xen/event_channel.h, xen/hvm/params.h, xen/hvm/start_info.h,
 * xen/io/console.h, xen/io/xs_wire.h, xen/elfnote.h) so that the guests
 * build with nothing but gcc.  The same structs serve the 64-bit PV guest
 * and the 32-bit PVH guest: every layout here is identical for both, with
 * "unsigned long" where Xen uses xen_ulong_t / xen_pfn_t (32 bits for a
 * 32-bit HVM guest, 64 bits for a 64-bit one).
 */
#ifndef XN_GUEST_XEN_ABI_H
#define XN_GUEST_XEN_ABI_H

/* hypercall numbers (xen/xen.h) */
#define HYPERVISOR_memory_op	     12
#define HYPERVISOR_update_va_mapping 14
#define HYPERVISOR_console_io	     18
#define HYPERVISOR_sched_op	     29
#define HYPERVISOR_event_channel_op  32
#define HYPERVISOR_hvm_op	     34

#define CONSOLEIO_write		0
#define SCHEDOP_yield		0
#define SCHEDOP_shutdown	2
#define SCHEDOP_poll		3
#define SHUTDOWN_poweroff	0
#define SHUTDOWN_reboot		1
#define SHUTDOWN_crash		3
#define EVTCHNOP_send		4
#define HVMOP_set_param		0
#define HVMOP_get_param		1
#define XENMEM_add_to_physmap	7
#define XENMAPSPACE_shared_info 0
#define UVMF_INVLPG		2
#define DOMID_SELF		0x7ff0

/* HVM parameters (xen/hvm/params.h) */
#define HVM_PARAM_CALLBACK_IRQ	 0
#define HVM_PARAM_STORE_PFN	 1
#define HVM_PARAM_STORE_EVTCHN	 2
#define HVM_PARAM_CONSOLE_PFN	 17
#define HVM_PARAM_CONSOLE_EVTCHN 18
#define HVM_CALLBACK_VECTOR(v)	 ((2ULL << 56) | (v))

/* ELF note types (xen/elfnote.h) */
#define XEN_ELFNOTE_ENTRY	   1
#define XEN_ELFNOTE_HYPERCALL_PAGE 2
#define XEN_ELFNOTE_VIRT_BASE	   3
#define XEN_ELFNOTE_PADDR_OFFSET   4
#define XEN_ELFNOTE_XEN_VERSION	   5
#define XEN_ELFNOTE_GUEST_OS	   6
#define XEN_ELFNOTE_LOADER	   8
#define XEN_ELFNOTE_PHYS32_ENTRY   18

#ifndef __ASSEMBLER__

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

struct sched_shutdown {
	u32 reason;
};
struct sched_poll {
	u32 *ports; /* a guest handle: a plain pointer on x86 */
	u32 nr_ports;
	u64 timeout; /* absolute Xen system time in ns, 0 = none */
};
struct evtchn_send {
	u32 port;
};
struct xen_hvm_param {
	u16 domid;
	u32 index;
	u64 value;
};
struct xen_add_to_physmap {
	u16 domid;
	u16 size;
	u32 space;
	unsigned long idx;
	unsigned long gpfn;
};

/* Shared info page: per-vCPU time and the event channel bitmaps. */
struct vcpu_time_info {
	u32 version; /* odd while Xen updates the record */
	u32 pad0;
	u64 tsc_timestamp;
	u64 system_time; /* ns since boot at tsc_timestamp */
	u32 tsc_to_system_mul;
	signed char tsc_shift;
	u8 flags;
	u8 pad1[2];
};
struct vcpu_info {
	u8 evtchn_upcall_pending;
	u8 evtchn_upcall_mask;
	unsigned long evtchn_pending_sel;
	unsigned long arch[sizeof(long) == 8 ? 2 : 6]; /* cr2 + padding */
	struct vcpu_time_info time;
};
struct shared_info {
	struct vcpu_info vcpu_info[32];
	unsigned long evtchn_pending[sizeof(long) * 8];
	unsigned long evtchn_mask[sizeof(long) * 8];
};

/* PV start of day (xen/xen.h start_info_t), up to the command line. */
struct start_info {
	char magic[32]; /* "xen-3.0-x86_64" */
	unsigned long nr_pages;
	unsigned long shared_info; /* machine address */
	u32 flags;
	unsigned long store_mfn;
	u32 store_evtchn;
	unsigned long console_mfn;
	u32 console_evtchn;
	unsigned long pt_base, nr_pt_frames, mfn_list, mod_start, mod_len;
	char cmd_line[1024];
};

/* PVH start of day (xen/hvm/start_info.h), physical addresses. */
struct hvm_start_info {
	u32 magic; /* 0x336ec578 */
	u32 version;
	u32 flags;
	u32 nr_modules;
	u64 modlist_paddr;
	u64 cmdline_paddr;
	u64 rsdp_paddr;
};
#define HVM_START_MAGIC 0x336ec578

/* Console ring (xen/io/console.h): we produce "out", Dom0 consumes it. */
struct xencons_interface {
	char in[1024];
	char out[2048];
	u32 in_cons, in_prod;
	u32 out_cons, out_prod;
};

/* Xenstore ring and wire format (xen/io/xs_wire.h). */
struct xenstore_domain_interface {
	char req[1024];
	char rsp[1024];
	u32 req_cons, req_prod;
	u32 rsp_cons, rsp_prod;
};
struct xsd_sockmsg {
	u32 type;
	u32 req_id;
	u32 tx_id;
	u32 len;
};
#define XS_READ		     2
#define XS_WRITE	     11
#define XS_ERROR	     16
#define XS_WATCH_EVENT	     15
#define XENSTORE_PAYLOAD_MAX 4096

#endif /* __ASSEMBLER__ */
#endif
