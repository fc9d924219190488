/*
 * lib.c - console, xenstore, time and the bits of libc the test guests need.
 * Everything polls: the guests run with event delivery off and wait with
 * SCHEDOP_poll, which blocks the vCPU until an event channel is pending.
 */
#include "guest.h"

struct platform plat;

#define barrier() __asm__ __volatile__("" ::: "memory")
#define wmb()	  __asm__ __volatile__("sfence" ::: "memory")
#define mb()	  __asm__ __volatile__("mfence" ::: "memory")

unsigned long xn_strlen(const char *s)
{
	unsigned long n = 0;
	while (s[n])
		n++;
	return n;
}

int xn_strncmp(const char *a, const char *b, unsigned long n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (u8)*a - (u8)*b;
		if (!*a)
			break;
	}
	return 0;
}

void *memcpy(void *d, const void *s, unsigned long n)
{
	char *dp = d;
	const char *sp = s;
	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memset(void *d, int c, unsigned long n)
{
	char *dp = d;
	while (n--)
		*dp++ = (char)c;
	return d;
}

unsigned long fmt_u(char *buf, unsigned long v)
{
	char tmp[24];
	unsigned long n = 0, i;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = 0;
	return n;
}

static void notify(u32 port)
{
	struct evtchn_send send = {.port = port};
	hypercall2(HYPERVISOR_event_channel_op, EVTCHNOP_send, (unsigned long)&send);
}

/* Waits for an event on port or until timeout_ms passed, then clears it. */
static void wait_event(u32 port, u32 timeout_ms)
{
	u32 ports[1] = {port};
	struct sched_poll poll = {.ports = ports, .nr_ports = 1};
	unsigned long bits = sizeof(long) * 8;
	u64 now = now_ns();

	if (!now) { /* no clock: do not block forever */
		hypercall2(HYPERVISOR_sched_op, SCHEDOP_yield, 0);
		return;
	}
	poll.timeout = now + (u64)timeout_ms * 1000000ULL;
	hypercall2(HYPERVISOR_sched_op, SCHEDOP_poll, (unsigned long)&poll);
	__atomic_and_fetch(&plat.shared->evtchn_pending[port / bits], ~(1UL << (port % bits)),
			   __ATOMIC_SEQ_CST);
}

u64 now_ns(void)
{
	volatile struct vcpu_time_info *t;
	u32 version, mul, lo, hi;
	u64 tsc, delta, system_time;
	int shift;

	if (!plat.shared)
		return 0;
	t = &plat.shared->vcpu_info[0].time;
	do {
		version = t->version;
		barrier();
		__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
		tsc = ((u64)hi << 32) | lo;
		delta = tsc - t->tsc_timestamp;
		system_time = t->system_time;
		mul = t->tsc_to_system_mul;
		shift = t->tsc_shift;
		barrier();
	} while ((version & 1) || version != t->version);
	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	/* (delta * mul) >> 32 without a 128-bit product (the PVH guest is 32-bit) */
	return system_time + (((delta & 0xffffffffULL) * mul) >> 32) + (delta >> 32) * mul;
}

void sleep_ms(u32 ms)
{
	u64 end = now_ns() + (u64)ms * 1000000ULL;
	/* any pending port will do: the console's is quiet once its ring is empty */
	while (now_ns() && now_ns() < end)
		wait_event(plat.cons_port, ms);
}

void cons_write(const char *s, unsigned long n)
{
	struct xencons_interface *c = plat.cons;
	unsigned long i = 0;

	while (i < n) {
		u32 prod = c->out_prod;
		mb();
		if (prod - c->out_cons >= sizeof(c->out)) {
			notify(plat.cons_port);
			wait_event(plat.cons_port, 10); /* ring full: let Dom0 drain */
			continue;
		}
		c->out[prod % sizeof(c->out)] = s[i++];
		wmb();
		c->out_prod = prod + 1;
	}
	notify(plat.cons_port);
}

void cons_puts_quiet(const char *s)
{
	cons_write(s, xn_strlen(s));
	cons_write("\r\n", 2);
}

void cons_puts(const char *s)
{
	cons_puts_quiet(s);
	if (plat.debug_write) {
		plat.debug_write(s, xn_strlen(s));
		plat.debug_write("\n", 1);
	}
}

/* Ring copy helpers: the rings are 1024 bytes, indexes run free. */
static void xs_put(const void *data, unsigned long n)
{
	struct xenstore_domain_interface *x = plat.store;
	const char *p = data;
	while (n) {
		u32 prod = x->req_prod;
		mb();
		if (prod - x->req_cons >= sizeof(x->req)) {
			notify(plat.store_port);
			wait_event(plat.store_port, 10);
			continue;
		}
		x->req[prod % sizeof(x->req)] = *p++;
		n--;
		wmb();
		x->req_prod = prod + 1;
	}
}

static void xs_get(void *data, unsigned long n)
{
	struct xenstore_domain_interface *x = plat.store;
	char *p = data;
	while (n) {
		u32 cons = x->rsp_cons;
		mb();
		if (x->rsp_prod == cons) {
			wait_event(plat.store_port, 10);
			continue;
		}
		*p++ = x->rsp[cons % sizeof(x->rsp)];
		n--;
		mb();
		x->rsp_cons = cons + 1;
	}
}

/* One request/reply; the reply's payload (NUL-terminated) goes to rsp. */
static int xs_call(u32 type, const char *a, const char *b, char *rsp, unsigned long size)
{
	static u32 req_id;
	struct xsd_sockmsg m = {.type = type, .req_id = ++req_id};
	unsigned long alen = xn_strlen(a) + 1, blen = b ? xn_strlen(b) : 0;
	char skip;

	if (!plat.store)
		return -1;
	m.len = (u32)(alen + blen);
	xs_put(&m, sizeof(m));
	xs_put(a, alen);
	xs_put(b, blen);
	notify(plat.store_port);
	for (;;) {
		struct xsd_sockmsg r;
		unsigned long i;
		xs_get(&r, sizeof(r));
		for (i = 0; i < r.len; i++) {
			if (i + 1 < size)
				xs_get(&rsp[i], 1);
			else
				xs_get(&skip, 1);
		}
		notify(plat.store_port); /* reply consumed: room in the ring */
		if (size)
			rsp[i + 1 < size ? i : size - 1] = 0;
		if (r.type == XS_WATCH_EVENT || r.req_id != m.req_id)
			continue; /* not ours */
		return r.type == XS_ERROR ? -1 : 0;
	}
}

int xs_read(const char *path, char *val, unsigned long size)
{
	return xs_call(XS_READ, path, 0, val, size);
}

int xs_write(const char *path, const char *val)
{
	char rsp[16];
	return xs_call(XS_WRITE, path, val, rsp, sizeof(rsp));
}

void shutdown(u32 reason)
{
	struct sched_shutdown s = {.reason = reason};
	for (;;)
		hypercall2(HYPERVISOR_sched_op, SCHEDOP_shutdown, (unsigned long)&s);
}
