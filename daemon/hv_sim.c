/* hv_sim.c - the simulated hypervisor backend (contracts: hv.h, hv_sim.h).
 *
 * Each domain runs its sim script on evtimers of hv->base.  Anything that
 * must reach the owner (create completion, death, buffered console output)
 * goes through the domain's async event, a zero timeout, so no callback ever
 * runs inside the call that caused it.  Domains are freed only there too,
 * so a domain stays valid across every owner callback except the last.
 *
 * The domain table is written to its file once per loop turn that changed
 * it (save_ev, made active as store_mem_file.c does), not on every change.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/utsname.h>
#include <termios.h>
#include <unistd.h>

#include <event2/event.h>

#include "xenlet/hv_sim_int.h"
#include "xenlet/log.h"
#include "xenlet/util.h"

#define STEP_BUDGET 1000  /* steps per callback before yielding to the loop */
#define STEP_CPU_NS 50000 /* cpu time each step costs the guest */
#define CPU_SHARE   10	  /* a running guest uses 1/CPU_SHARE of wall time */
#define NS_PER_MS   1000000ull
#define MAX_MEM_MB  (1ull << 30)
#define MAX_CPUS    4096

#define SAVE_RETRY_SEC 1 /* after a failed write of the domain table */

static struct sim *sim_of(struct xn_hv *hv)
{
	return hv != NULL && hv->ops == &xn_hv_sim_ops ? hv->priv : NULL;
}

static void arm(struct event *ev, uint64_t ns)
{
	struct timeval tv = {.tv_sec = ns / 1000000000ull, .tv_usec = (ns % 1000000000ull) / 1000};

	evtimer_add(ev, &tv);
}

static void kick(struct sim_dom *d)
{
	arm(d->async_ev, 0);
}

void sim_kick(struct sim_dom *d)
{
	kick(d);
}

void sim_step_now(struct sim_dom *d)
{
	if (!d->dying && d->state == XN_DOM_RUNNING)
		arm(d->step_ev, 0);
}

static struct sim_dom *find(struct sim *s, uint32_t domid)
{
	for (struct sim_dom *d = s->doms; d != NULL; d = d->next)
		if (d->domid == domid && !d->creating)
			return d;
	return NULL;
}

static struct sim_dom *lookup(struct sim *s, uint32_t domid, xn_err *err)
{
	struct sim_dom *d = find(s, domid);

	if (d == NULL)
		xn_error(err, ENOENT, "domain %u: no such domain", domid);
	return d;
}

static void unlink_dom(struct sim *s, struct sim_dom *d)
{
	for (struct sim_dom **pp = &s->doms; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			d->next = NULL;
			return;
		}
	}
}

static bool is_down(const struct sim_dom *d)
{
	return d->state == XN_DOM_SHUTDOWN || d->state == XN_DOM_CRASHED;
}

bool sim_dom_down(const struct sim_dom *d)
{
	return is_down(d);
}

static int take_fault(struct sim *s, enum xn_sim_fault f, xn_err *err)
{
	if (s->fail_next[f] == NULL)
		return 0;
	xn_error(err, EIO, "%s", s->fail_next[f]);
	free(s->fail_next[f]);
	s->fail_next[f] = NULL;
	return -1;
}

/* Write the table now if it changed; a failed write leaves the previous
 * file, and the table stays due. */
static int save_now(struct sim *s, xn_err *err)
{
	if (!s->dirty)
		return 0;
	if (sim_state_save(s, err) < 0)
		return -1;
	s->dirty = false;
	return 0;
}

static void save_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sim *s = arg;
	struct timeval retry = {SAVE_RETRY_SEC, 0};
	xn_err err = NULL;

	if (save_now(s, &err) < 0) {
		if (!s->save_failing)
			log_warnx("hv_sim: %s (retrying every %d s)", xn_error_msg(err),
				  SAVE_RETRY_SEC);
		s->save_failing = true;
		xn_error_free(&err);
		evtimer_add(s->save_ev, &retry);
		return;
	}
	if (s->save_failing)
		log_info("hv_sim: %s written again", s->state_file);
	s->save_failing = false;
}

/* The table changed: it is written at the end of this loop turn, after the
 * callbacks already due and before the loop waits again. */
static void save(struct sim *s)
{
	s->dirty = true;
	event_active(s->save_ev, EV_TIMEOUT, 0); /* no-op when already active */
}

/* Domain d changed: its entry in the table is made again (the others are
 * written as they were made: re-making every domain's entry for every
 * change was a sixth of the daemon's CPU under a burst of pods). */
void sim_dom_changed(struct sim_dom *d)
{
	free(d->json);
	d->json = NULL;
	save(d->sim);
}

uint64_t sim_dom_cpu_ns(const struct sim_dom *d)
{
	uint64_t cpu = d->cpu_ns;

	if (d->state == XN_DOM_RUNNING && !d->creating && !d->dying)
		cpu += (xn_now_mono_ns() - d->run_since_ns) / CPU_SHARE;
	return cpu;
}

static void stop_clock(struct sim_dom *d)
{
	d->cpu_ns = sim_dom_cpu_ns(d);
	d->run_since_ns = xn_now_mono_ns();
}

static void call_waiters(struct sim_dom *d, struct sim_waiter **list)
{
	struct sim_waiter *w = *list, *next;

	*list = NULL;
	for (; w != NULL; w = next) {
		next = w->next;
		w->cb(d->sim->hv, 0, d->domid, NULL, w->arg);
		free(w);
	}
}

static void add_waiter(struct sim_waiter **list, xn_hv_done_cb cb, void *arg)
{
	struct sim_waiter *w;

	if (cb == NULL)
		return;
	w = xn_xcalloc(1, sizeof(*w));
	w->cb = cb;
	w->arg = arg;
	w->next = *list;
	*list = w;
}

static void free_waiters(struct sim_waiter **list)
{
	struct sim_waiter *w = *list, *next;

	for (; w != NULL; w = next) {
		next = w->next;
		free(w);
	}
	*list = NULL;
}

/* --- console ------------------------------------------------------------ */

static void console_out(struct sim_dom *d, const char *buf, size_t n)
{
	size_t drop;

	if (n == 0)
		return;
	if (d->pty_master >= 0) {
		/* nobody reading the slave: the pty fills and we drop (EAGAIN) */
		ssize_t r = write(d->pty_master, buf, n);
		(void)r;
	}
	if (n >= XN_SIM_CONSOLE_BUF_MAX) {
		buf += n - XN_SIM_CONSOLE_BUF_MAX;
		n = XN_SIM_CONSOLE_BUF_MAX;
	}
	if (d->clen + n > XN_SIM_CONSOLE_BUF_MAX) {
		drop = d->clen + n - XN_SIM_CONSOLE_BUF_MAX;
		memmove(d->cbuf, d->cbuf + drop, d->clen - drop);
		d->clen -= drop;
	}
	d->cbuf = xn_xrealloc(d->cbuf, d->clen + n);
	memcpy(d->cbuf + d->clen, buf, n);
	d->clen += n;
	if (d->console_cb != NULL)
		kick(d);
}

static void console_flush(struct sim_dom *d)
{
	char *buf = d->cbuf;
	size_t len = d->clen;

	if (d->console_cb == NULL || len == 0)
		return;
	d->cbuf = NULL;
	d->clen = 0;
	d->console_cb(d->sim->hv, d->domid, buf, len, d->console_arg);
	free(buf);
}

static void pty_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sim_dom *d = arg;
	char buf[512];
	ssize_t r = read(fd, buf, sizeof(buf));

	/* the sim guest reads no input; stop watching a broken pty */
	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
		event_del(d->pty_ev);
}

static void open_pty(struct sim_dom *d)
{
	struct termios tio;
	int m = -1, sl = -1;
	char *name;

	if (openpty(&m, &sl, NULL, NULL, NULL) < 0) {
		d->pty_error = xn_xasprintf("openpty: %s", strerror(errno));
		return;
	}
	name = ptsname(m);
	/* raw: the bytes arrive as the guest wrote them, no echo of input */
	if (name == NULL || tcgetattr(sl, &tio) < 0) {
		d->pty_error = xn_xasprintf("pty setup: %s", strerror(errno));
		close(m);
		close(sl);
		return;
	}
	cfmakeraw(&tio);
	tcsetattr(sl, TCSANOW, &tio);
	fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK);
	fcntl(m, F_SETFD, FD_CLOEXEC);
	fcntl(sl, F_SETFD, FD_CLOEXEC);
	d->pty_master = m;
	/* we hold the slave open so the master never sees a hangup */
	d->pty_slave = sl;
	d->pty_path = xn_xstrdup(name);
	d->pty_ev = event_new(d->sim->hv->base, m, EV_READ | EV_PERSIST, pty_drain_cb, d);
	event_add(d->pty_ev, NULL);
}

/* --- the guest ---------------------------------------------------------- */

static void emit_shutdown(struct sim_dom *d)
{
	struct xn_hv_event ev = {.type = XN_HV_EV_SHUTDOWN,
				 .domid = d->domid,
				 .reason = d->reason,
				 .exit_code = d->exit_code};

	if (!d->watched) {
		d->shutdown_unreported = true;
		return;
	}
	d->shutdown_unreported = false;
	/* the owner sees all output written before the guest stopped first */
	console_flush(d);
	xn_hv_emit(d->sim->hv, &ev);
}

static void do_shutdown(struct sim_dom *d, enum xn_shutdown_reason reason, int exit_code)
{
	stop_clock(d);
	evtimer_del(d->step_ev);
	evtimer_del(d->deadline_ev);
	d->sleeping = false;
	/* a guest that is down serves nothing; its vif stays until destroy */
	sim_net_signal(d, SIGKILL);
	d->state = reason == XN_SHUTDOWN_CRASH ? XN_DOM_CRASHED : XN_DOM_SHUTDOWN;
	d->reason = reason;
	d->exit_code = exit_code;
	sim_dom_changed(d);
	emit_shutdown(d);
	call_waiters(d, &d->shutdown_waiters);
}

static void console_line(struct sim_dom *d, const char *text)
{
	console_out(d, text, strlen(text));
	console_out(d, "\n", 1);
}

void sim_console_line(struct sim_dom *d, const char *text)
{
	console_line(d, text);
}

static void dom_run(struct sim_dom *d)
{
	struct sim *s = d->sim;
	const struct xn_sim_step *st;
	char *line;

	for (int n = 0;; n++) {
		if (d->dying || d->creating || d->state != XN_DOM_RUNNING)
			return;
		/* the guest configures its network, or waits for a client */
		if (d->job != NULL || d->waiter != NULL)
			return;
		if (d->shutdown_requested && !d->script.ignore_shutdown) {
			do_shutdown(d, XN_SHUTDOWN_POWEROFF, XN_EXIT_POWEROFF);
			return;
		}
		if (n == STEP_BUDGET) {
			arm(d->step_ev, 0);
			return;
		}
		if (d->pc >= d->script.nsteps)
			return; /* end of script: stays up, like a server */
		st = &d->script.steps[d->pc];
		d->cpu_ns += STEP_CPU_NS;
		switch (st->op) {
		case XN_SIM_PRINT: console_line(d, st->text); break;
		case XN_SIM_WRITE: console_out(d, st->text, strlen(st->text)); break;
		case XN_SIM_CMDLINE: console_line(d, d->cfg.cmdline ? d->cfg.cmdline : ""); break;
		case XN_SIM_MEMORY:
			line =
			    xn_xasprintf("memory: %llu KiB", (unsigned long long)d->cfg.memory_kb);
			console_line(d, line);
			free(line);
			break;
		case XN_SIM_SLEEP:
			if (st->arg == 0)
				break;
			d->sleeping = true;
			d->sleep_end_ns = xn_now_mono_ns() + st->arg * NS_PER_MS;
			arm(d->step_ev, st->arg * NS_PER_MS);
			return;
		case XN_SIM_READY:
			d->ready = true;
			d->pc++;
			sim_dom_changed(d);
			if (s->ready_cb != NULL)
				s->ready_cb(s->hv, d->domid, s->ready_arg);
			continue;
		case XN_SIM_XENSTORE:
			d->pc++;
			if (s->xenstore_cb != NULL)
				s->xenstore_cb(s->hv, d->domid, st->text, st->value,
					       s->xenstore_arg);
			continue;
		case XN_SIM_EXIT: do_shutdown(d, XN_SHUTDOWN_POWEROFF, (int)st->arg); return;
		case XN_SIM_CRASH: do_shutdown(d, XN_SHUTDOWN_CRASH, XN_EXIT_CRASH); return;
		case XN_SIM_REBOOT: do_shutdown(d, XN_SHUTDOWN_REBOOT, XN_EXIT_POWEROFF); return;
		case XN_SIM_WATCHDOG:
			do_shutdown(d, XN_SHUTDOWN_WATCHDOG, XN_EXIT_WATCHDOG);
			return;
		case XN_SIM_HANG: return;
		case XN_SIM_HTTP:
		case XN_SIM_ECHO:
		case XN_SIM_CONNECT:
		case XN_SIM_HTTP_GET:
		case XN_SIM_RESOLVE:
			if (sim_net_step(d, st))
				return; /* a client: its end moves pc on */
			break;
		case XN_SIM_LOOP: d->pc = 0; continue;
		}
		d->pc++;
	}
}

static void step_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sim_dom *d = arg;

	if (d->sleeping) {
		d->sleeping = false;
		d->pc++;
	}
	dom_run(d);
}

static void finish_death(struct sim_dom *d)
{
	struct sim *s = d->sim;
	struct xn_hv_event ev = {.type = XN_HV_EV_DEATH, .domid = d->domid};

	/* as libxl: the vif's hook runs offline before the death is final */
	if (sim_net_teardown(d))
		return;
	unlink_dom(s, d);
	save(s);
	if (!is_down(d)) {
		stop_clock(d);
		d->state = XN_DOM_SHUTDOWN;
		d->reason = XN_SHUTDOWN_DESTROYED;
		d->exit_code = XN_EXIT_DESTROYED;
		emit_shutdown(d);
	}
	if (d->console_cb != NULL) {
		console_flush(d);
		if (d->console_cb != NULL)
			d->console_cb(s->hv, d->domid, "", 0, d->console_arg);
	}
	if (d->watched)
		xn_hv_emit(s->hv, &ev);
	call_waiters(d, &d->shutdown_waiters);
	call_waiters(d, &d->destroy_waiters);
	sim_dom_free(d);
}

static void finish_create(struct sim_dom *d)
{
	struct sim *s = d->sim;
	xn_err e = NULL, ne = NULL;

	if (d->job != NULL && d->job->pid > 0)
		return; /* the vif's hook still runs */
	if (sim_net_setup_result(d, &ne) < 0) {
		d->create_fail = xn_xstrdup(xn_error_msg(ne));
		xn_error_free(&ne);
	}
	if (d->create_fail != NULL) {
		unlink_dom(s, d);
		xn_error(&e, EIO, "domain %s: create: %s", d->cfg.name, d->create_fail);
		d->create_cb(s->hv, -1, XN_DOMID_INVALID, e, d->create_arg);
		xn_error_free(&e);
		sim_dom_free(d);
		return;
	}
	d->creating = false;
	sim_dom_changed(d);
	d->create_cb(s->hv, 0, d->domid, NULL, d->create_arg);
}

static void async_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sim_dom *d = arg;

	/* each owner callback may queue more work: it re-arms this event */
	if (d->creating) {
		finish_create(d);
		return;
	}
	if (d->dying) {
		finish_death(d);
		return;
	}
	if (d->crash_requested) {
		d->crash_requested = false;
		if (!is_down(d))
			do_shutdown(d, XN_SHUTDOWN_CRASH, XN_EXIT_CRASH);
		kick(d);
		return;
	}
	if (d->shutdown_unreported && d->watched) {
		emit_shutdown(d);
		kick(d);
		return;
	}
	if (is_down(d) && d->shutdown_waiters != NULL) {
		call_waiters(d, &d->shutdown_waiters);
		kick(d);
		return;
	}
	console_flush(d);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sim_dom *d = arg;

	if (is_down(d) || d->dying)
		return;
	d->dying = true;
	stop_clock(d);
	evtimer_del(d->step_ev);
	kick(d);
}

struct sim_dom *sim_dom_new(struct sim *s)
{
	struct sim_dom *d = xn_xcalloc(1, sizeof(*d));

	d->sim = s;
	d->pty_master = d->pty_slave = -1;
	d->step_ev = evtimer_new(s->hv->base, step_cb, d);
	d->async_ev = evtimer_new(s->hv->base, async_cb, d);
	d->deadline_ev = evtimer_new(s->hv->base, deadline_cb, d);
	if (d->step_ev == NULL || d->async_ev == NULL || d->deadline_ev == NULL)
		abort();
	return d;
}

void sim_dom_free(struct sim_dom *d)
{
	if (d == NULL)
		return;
	event_free(d->step_ev);
	event_free(d->async_ev);
	event_free(d->deadline_ev);
	if (d->pty_ev != NULL)
		event_free(d->pty_ev);
	if (d->pty_master >= 0)
		close(d->pty_master);
	if (d->pty_slave >= 0)
		close(d->pty_slave);
	free(d->pty_path);
	free(d->pty_error);
	free(d->cbuf);
	free(d->create_fail);
	free(d->script_text);
	sim_net_free(d);
	free(d->json);
	free_waiters(&d->shutdown_waiters);
	free_waiters(&d->destroy_waiters);
	xn_sim_script_dispose(&d->script);
	xn_domain_config_dispose(&d->cfg);
	free(d);
}

/* --- open / close ------------------------------------------------------- */

static int env_u64(const char *name, uint64_t def, uint64_t max, const char *unit, uint64_t *out,
		   xn_err *err)
{
	const char *v = getenv(name);

	*out = def;
	if (v == NULL || v[0] == '\0')
		return 0;
	if (xn_parse_u64(v, max, out) < 0 || *out == 0)
		return xn_error(err, EINVAL, "%s: '%s' is not a number of %s 1..%llu", name, v,
				unit, (unsigned long long)max);
	return 0;
}

static void sim_free(struct sim *s)
{
	struct sim_dom *d, *next;

	for (d = s->doms; d != NULL; d = next) {
		next = d->next;
		sim_dom_free(d);
	}
	for (int i = 0; i < XN_SIM_FAULT_MAX; i++)
		free(s->fail_next[i]);
	if (s->save_ev != NULL)
		event_free(s->save_ev);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s->fail_create_glob);
	free(s->net_off);
	free(s->net_dom0);
	free(s->net_prefix);
	free(s->net_bin);
	free(s->net_xs);
	free(s->state_dir);
	free(s->state_file);
	free(s);
}

static int lock_state_dir(struct sim *s, xn_err *err)
{
	cleanup_free char *path = xn_xasprintf("%s/lock", s->state_dir);

	if (xn_mkdir_p(s->state_dir, 0700) < 0)
		return xn_error_errno(err, errno, "state dir %s", s->state_dir);
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0)
		return xn_error_errno(err, errno, "state dir lock %s", path);
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			return xn_error(err, EBUSY, "state dir %s: in use by another sim instance",
					s->state_dir);
		return xn_error_errno(err, errno, "state dir lock %s", path);
	}
	return 0;
}

static int sim_open(struct xn_hv *hv, xn_err *err)
{
	struct sim *s = xn_xcalloc(1, sizeof(*s));
	const char *dir = getenv("XN_SIM_STATE_DIR");
	const char *glob = getenv("XN_SIM_FAIL_CREATE");
	uint64_t mem_mb, cpus;

	s->hv = hv;
	s->lock_fd = -1;
	s->next_domid = 1;
	s->save_ev = evtimer_new(hv->base, save_cb, s);
	if (s->save_ev == NULL) {
		xn_error(err, ENOMEM, "hv_sim: event_new failed");
		goto fail;
	}
	if (env_u64("XN_SIM_MEMORY_MB", XN_SIM_DEFAULT_MEMORY_MB, MAX_MEM_MB, "MiB", &mem_mb, err) <
		0 ||
	    env_u64("XN_SIM_CPUS", XN_SIM_DEFAULT_CPUS, MAX_CPUS, "CPUs", &cpus, err) < 0)
		goto fail;
	s->total_kb = mem_mb * 1024;
	s->nr_cpus = (unsigned)cpus;
	s->state_dir = xn_xstrdup(dir != NULL && dir[0] != '\0' ? dir : XN_SIM_DEFAULT_STATE_DIR);
	s->state_file = xn_xasprintf("%s/domains.json", s->state_dir);
	if (glob != NULL && glob[0] != '\0')
		s->fail_create_glob = xn_xstrdup(glob);
	if (lock_state_dir(s, err) < 0)
		goto fail;
	hv->priv = s;
	sim_net_open(s);
	if (sim_state_load(s, err) < 0)
		goto fail;
	for (struct sim_dom *d = s->doms; d != NULL; d = d->next) {
		open_pty(d);
		d->shutdown_unreported = is_down(d);
		d->run_since_ns = xn_now_mono_ns();
		if (d->state == XN_DOM_RUNNING)
			arm(d->step_ev, 0);
	}
	return 0;
fail:
	hv->priv = NULL;
	sim_free(s);
	return -1;
}

static void sim_close(struct xn_hv *hv)
{
	struct sim *s = sim_of(hv);
	xn_err err = NULL;

	if (s == NULL)
		return;
	for (struct sim_dom *d = s->doms; d != NULL; d = d->next) {
		free(d->json); /* with the cpu times and steps of now */
		d->json = NULL;
	}
	s->dirty = true;
	if (save_now(s, &err) < 0) {
		log_warnx("hv_sim: closing: %s", xn_error_msg(err));
		xn_error_free(&err);
	}
	sim_free(s);
	hv->priv = NULL;
}

/* --- operations --------------------------------------------------------- */

static uint64_t used_kb(const struct sim *s)
{
	uint64_t used = 0;

	for (const struct sim_dom *d = s->doms; d != NULL; d = d->next)
		used += d->cfg.memory_kb;
	return used;
}

static int sim_create(struct xn_hv *hv, const struct xn_domain_config *cfg, xn_hv_create_cb cb,
		      void *arg, xn_err *err)
{
	struct sim *s = sim_of(hv);
	struct xn_sim_script script;
	struct sim_dom *d;
	char *text = NULL;
	uint64_t used, free_kb;

	if (cb == NULL)
		return xn_error(err, EINVAL, "create: a completion callback is required");
	if (xn_domain_config_check(cfg, err) < 0)
		return -1;
	for (d = s->doms; d != NULL; d = d->next)
		if (strcmp(d->cfg.name, cfg->name) == 0)
			return xn_error(err, EEXIST,
					"domain name \"%s\": already used by domain %u", cfg->name,
					d->domid);
	used = used_kb(s);
	free_kb = used < s->total_kb ? s->total_kb - used : 0;
	if (cfg->memory_kb > free_kb)
		return xn_error(err, ENOMEM, "not enough free memory: need %llu MiB, %llu MiB free",
				(unsigned long long)(cfg->memory_kb + 1023) / 1024,
				(unsigned long long)free_kb / 1024);
	if (xn_sim_script_load(cfg->kernel, &script, &text, err) < 0)
		return -1;

	d = sim_dom_new(s);
	xn_domain_config_copy(&d->cfg, cfg);
	d->script = script;
	d->script_text = text;
	d->domid = s->next_domid++;
	d->state = XN_DOM_PAUSED;
	d->creating = true;
	d->watched = true;
	d->create_cb = cb;
	d->create_arg = arg;
	if (s->fail_next[XN_SIM_FAIL_NEXT_CREATE] != NULL) {
		d->create_fail = s->fail_next[XN_SIM_FAIL_NEXT_CREATE];
		s->fail_next[XN_SIM_FAIL_NEXT_CREATE] = NULL;
	} else if (s->fail_create_glob != NULL && fnmatch(s->fail_create_glob, cfg->name, 0) == 0) {
		d->create_fail =
		    xn_xasprintf("injected failure (XN_SIM_FAIL_CREATE=%s)", s->fail_create_glob);
	}
	/* an injected failure fails before the vif would be plugged */
	if (d->create_fail == NULL && sim_net_setup(d, err) < 0) {
		sim_dom_free(d);
		return xn_error_wrap(err, "domain %s: network", cfg->name);
	}
	open_pty(d);
	d->next = s->doms;
	s->doms = d;
	kick(d);
	return 0;
}

static int sim_shutdown(struct xn_hv *hv, uint32_t domid, unsigned deadline_ms, xn_hv_done_cb cb,
			void *arg, xn_err *err)
{
	struct sim *s = sim_of(hv);
	struct sim_dom *d = lookup(s, domid, err);
	bool no_deadline = s->fail_next[XN_SIM_NO_DEADLINE_NEXT_SHUTDOWN] != NULL;

	if (d == NULL || take_fault(s, XN_SIM_FAIL_NEXT_SHUTDOWN, err) < 0)
		return -1;
	free(s->fail_next[XN_SIM_NO_DEADLINE_NEXT_SHUTDOWN]);
	s->fail_next[XN_SIM_NO_DEADLINE_NEXT_SHUTDOWN] = NULL;
	if (d->dying) {
		add_waiter(&d->destroy_waiters, cb, arg);
		return 0;
	}
	add_waiter(&d->shutdown_waiters, cb, arg);
	if (is_down(d)) {
		kick(d);
		return 0;
	}
	d->shutdown_requested = true;
	/* the first deadline holds */
	if (!no_deadline && !evtimer_pending(d->deadline_ev, NULL))
		arm(d->deadline_ev, deadline_ms * NS_PER_MS);
	if (d->state == XN_DOM_RUNNING && !d->script.ignore_shutdown) {
		/* interrupt a sleep: the guest answers at once */
		d->sleeping = false;
		arm(d->step_ev, 0);
	}
	return 0;
}

static int sim_destroy(struct xn_hv *hv, uint32_t domid, xn_hv_done_cb cb, void *arg, xn_err *err)
{
	struct sim *s = sim_of(hv);
	struct sim_dom *d = lookup(s, domid, err);

	if (d == NULL || take_fault(s, XN_SIM_FAIL_NEXT_DESTROY, err) < 0)
		return -1;
	add_waiter(&d->destroy_waiters, cb, arg);
	if (!d->dying) {
		stop_clock(d);
		d->dying = true;
		evtimer_del(d->step_ev);
		evtimer_del(d->deadline_ev);
		kick(d);
	}
	return 0;
}

static int check_live(struct sim_dom *d, const char *op, xn_err *err)
{
	if (d->dying)
		return xn_error(err, ESRCH, "domain %u: %s: domain is dying", d->domid, op);
	if (is_down(d))
		return xn_error(err, ESRCH, "domain %u: %s: domain is %s", d->domid, op,
				xn_dom_state_name(d->state));
	return 0;
}

static int sim_pause(struct xn_hv *hv, uint32_t domid, xn_err *err)
{
	struct sim_dom *d = lookup(sim_of(hv), domid, err);
	uint64_t now;

	if (d == NULL || check_live(d, "pause", err) < 0)
		return -1;
	if (d->state == XN_DOM_PAUSED)
		return 0;
	stop_clock(d);
	now = xn_now_mono_ns();
	if (d->sleeping)
		d->sleep_left_ns = d->sleep_end_ns > now ? d->sleep_end_ns - now : 0;
	evtimer_del(d->step_ev);
	sim_net_signal(d, SIGSTOP);
	d->state = XN_DOM_PAUSED;
	sim_dom_changed(d);
	return 0;
}

static int sim_unpause(struct xn_hv *hv, uint32_t domid, xn_err *err)
{
	struct sim *s = sim_of(hv);
	struct sim_dom *d = lookup(s, domid, err);

	if (d == NULL || check_live(d, "unpause", err) < 0 ||
	    take_fault(s, XN_SIM_FAIL_NEXT_UNPAUSE, err) < 0)
		return -1;
	if (d->state == XN_DOM_RUNNING)
		return 0;
	d->state = XN_DOM_RUNNING;
	d->run_since_ns = xn_now_mono_ns();
	sim_net_signal(d, SIGCONT);
	/* at its first run the guest gives itself its address (the script
	 * waits for it) */
	sim_net_config(d);
	if (d->shutdown_requested && !d->script.ignore_shutdown)
		d->sleeping = false;
	if (d->sleeping) {
		d->sleep_end_ns = d->run_since_ns + d->sleep_left_ns;
		arm(d->step_ev, d->sleep_left_ns);
	} else {
		arm(d->step_ev, 0);
	}
	sim_dom_changed(d);
	return 0;
}

static int sim_adopt(struct xn_hv *hv, uint32_t domid, xn_err *err)
{
	struct sim_dom *d = lookup(sim_of(hv), domid, err);

	if (d == NULL)
		return -1;
	d->watched = true;
	if (d->shutdown_unreported)
		kick(d);
	return 0;
}

static void fill_info(const struct sim_dom *d, struct xn_domain_info *out)
{
	memset(out, 0, sizeof(*out));
	out->domid = d->domid;
	snprintf(out->name, sizeof(out->name), "%s", d->cfg.name);
	snprintf(out->tag, sizeof(out->tag), "%s", d->cfg.tag ? d->cfg.tag : "");
	out->state = d->dying ? XN_DOM_DYING : d->state;
	out->reason = is_down(d) ? d->reason : XN_SHUTDOWN_UNKNOWN;
	out->cpu_time_ns = sim_dom_cpu_ns(d);
	out->memory_kb = d->cfg.memory_kb;
	out->max_memory_kb = d->cfg.memory_kb;
	out->vcpus = d->cfg.vcpus;
}

static int sim_list(struct xn_hv *hv, struct xn_domain_info **out, size_t *n, xn_err *err)
{
	struct sim *s = sim_of(hv);
	size_t count = 0, i;

	for (struct sim_dom *d = s->doms; d != NULL; d = d->next)
		count += !d->creating;
	*out = xn_xcalloc(count, sizeof(**out));
	*n = count;
	/* s->doms is newest first: fill from the end for ascending domids */
	i = count;
	for (struct sim_dom *d = s->doms; d != NULL; d = d->next)
		if (!d->creating)
			fill_info(d, &(*out)[--i]);
	return 0;
}

static int sim_domain_info(struct xn_hv *hv, uint32_t domid, struct xn_domain_info *out,
			   xn_err *err)
{
	struct sim_dom *d = lookup(sim_of(hv), domid, err);

	if (d == NULL)
		return -1;
	fill_info(d, out);
	return 0;
}

static const char *kube_arch(const char *machine)
{
	if (strcmp(machine, "x86_64") == 0)
		return "amd64";
	if (strcmp(machine, "aarch64") == 0)
		return "arm64";
	return machine;
}

static int sim_host_info(struct xn_hv *hv, struct xn_host_info *out, xn_err *err)
{
	struct sim *s = sim_of(hv);
	uint64_t used = used_kb(s);
	struct utsname u;

	memset(out, 0, sizeof(*out));
	out->nr_cpus = s->nr_cpus;
	out->total_kb = s->total_kb;
	out->free_kb = used < s->total_kb ? s->total_kb - used : 0;
	snprintf(out->xen_version, sizeof(out->xen_version), "4.17.0-sim");
	if (uname(&u) < 0)
		return xn_error_errno(err, errno, "uname");
	snprintf(out->arch, sizeof(out->arch), "%.15s", kube_arch(u.machine));
	if (gethostname(out->hostname, sizeof(out->hostname) - 1) < 0)
		return xn_error_errno(err, errno, "gethostname");
	return 0;
}

static int sim_console_path(struct xn_hv *hv, uint32_t domid, char **path, xn_err *err)
{
	struct sim_dom *d = lookup(sim_of(hv), domid, err);

	if (d == NULL)
		return -1;
	if (d->pty_path == NULL)
		return xn_error(err, ENODEV, "domain %u: no console pty: %s", domid,
				d->pty_error ? d->pty_error : "unknown");
	*path = xn_xstrdup(d->pty_path);
	return 0;
}

static int sim_console_attach(struct xn_hv *hv, uint32_t domid, xn_hv_console_cb cb, void *arg,
			      xn_err *err)
{
	struct sim_dom *d = lookup(sim_of(hv), domid, err);

	if (d == NULL)
		return -1;
	if (d->console_cb != NULL)
		return xn_error(err, EBUSY, "domain %u: console already attached", domid);
	d->console_cb = cb;
	d->console_arg = arg;
	if (d->clen > 0)
		kick(d);
	return 0;
}

static void sim_console_detach(struct xn_hv *hv, uint32_t domid)
{
	struct sim *s = sim_of(hv);
	struct sim_dom *d = s ? find(s, domid) : NULL;

	if (d != NULL) {
		d->console_cb = NULL;
		d->console_arg = NULL;
	}
}

/* --- sim-only API ------------------------------------------------------- */

int xn_hv_sim_inject(struct xn_hv *hv, enum xn_sim_fault fault, const char *msg)
{
	struct sim *s = sim_of(hv);

	if (s == NULL || (int)fault < 0 || fault >= XN_SIM_FAULT_MAX)
		return -1;
	free(s->fail_next[fault]);
	s->fail_next[fault] = xn_xstrdup(msg ? msg : "injected failure");
	return 0;
}

int xn_hv_sim_crash(struct xn_hv *hv, uint32_t domid, xn_err *err)
{
	struct sim *s = sim_of(hv);
	struct sim_dom *d;

	if (s == NULL)
		return xn_error(err, EINVAL, "not a sim backend");
	d = lookup(s, domid, err);
	if (d == NULL || check_live(d, "crash", err) < 0)
		return -1;
	d->crash_requested = true;
	kick(d);
	return 0;
}

bool xn_hv_sim_ready(struct xn_hv *hv, uint32_t domid)
{
	struct sim *s = sim_of(hv);
	struct sim_dom *d = s ? find(s, domid) : NULL;

	return d != NULL && d->ready;
}

unsigned long xn_hv_sim_state_writes(struct xn_hv *hv)
{
	struct sim *s = sim_of(hv);

	return s != NULL ? s->state_writes : 0;
}

void xn_hv_sim_set_ready_hook(struct xn_hv *hv, xn_hv_sim_ready_cb cb, void *arg)
{
	struct sim *s = sim_of(hv);

	if (s == NULL)
		return;
	s->ready_cb = cb;
	s->ready_arg = arg;
}

void xn_hv_sim_set_xenstore_hook(struct xn_hv *hv, xn_hv_sim_xenstore_cb cb, void *arg)
{
	struct sim *s = sim_of(hv);

	if (s == NULL)
		return;
	s->xenstore_cb = cb;
	s->xenstore_arg = arg;
}

void xn_hv_sim_set_guest_key_reader(struct xn_hv *hv, xn_hv_sim_guest_key_cb cb, void *arg)
{
	struct sim *s = sim_of(hv);

	if (s == NULL)
		return;
	s->key_cb = cb;
	s->key_arg = arg;
}

const struct xn_hv_ops xn_hv_sim_ops = {
    .name = "sim",
    .open = sim_open,
    .close = sim_close,
    .create = sim_create,
    .shutdown = sim_shutdown,
    .destroy = sim_destroy,
    .pause = sim_pause,
    .unpause = sim_unpause,
    .adopt = sim_adopt,
    .list = sim_list,
    .domain_info = sim_domain_info,
    .host_info = sim_host_info,
    .console_path = sim_console_path,
    .console_attach = sim_console_attach,
    .console_detach = sim_console_detach,
};
