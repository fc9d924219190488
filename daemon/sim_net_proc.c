/* sim_net_proc.c - the child processes of hv_sim's network (sim_net.c):
 * started without waiting for them, their stdout and stderr a pipe read on
 * the event loop, reaped when it ends (EOF), then handed to
 * sim_net_proc_done().  Jobs are /bin/sh running a script with its values
 * as arguments (never as shell text), the xenstore shim first on PATH;
 * guest processes are forks of the daemon that enter the domain's network
 * namespace and run sim_net_guest.c.  Signals go by PID only, and a PID is
 * checked against its start time first (it may have been reused). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "xenlet/hv_sim_int.h"
#include "xenlet/sim_net_guest.h"
#include "xenlet/util.h"

#define REAP_RETRY_US 2000

extern char **environ;

static const char *proc_kind_name(enum sim_proc_kind k)
{
	switch (k) {
	case SIM_PROC_SETUP: return "setup";
	case SIM_PROC_CONFIG: return "config";
	case SIM_PROC_TEARDOWN: return "teardown";
	case SIM_PROC_SERVER: return "server";
	case SIM_PROC_CLIENT: return "client";
	}
	return "?";
}

/* Field 22 of /proc/<pid>/stat, 0 when the process is gone. */
uint64_t sim_start_time_of(pid_t pid)
{
	char path[40], buf[1024];
	unsigned long long st = 0;
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* after ") ": state is field 3, starttime field 22 */
	if (p == NULL || sscanf(p + 2,
				"%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
				"%*d %*d %*d %*d %llu",
				&st) != 1)
		return 0;
	return st;
}

/* Is the process still the one we started? */
bool sim_proc_alive(const struct sim_proc *p)
{
	return p->pid > 0 && p->start_time != 0 && sim_start_time_of(p->pid) == p->start_time;
}

void sim_proc_free(struct sim_proc *p)
{
	if (p == NULL)
		return;
	if (p->ev != NULL)
		event_free(p->ev);
	if (p->fd >= 0)
		close(p->fd);
	free(p->what);
	free(p);
}

void sim_unlink_proc(struct sim_dom *d, struct sim_proc *p)
{
	if (d->job == p)
		d->job = NULL;
	if (d->waiter == p)
		d->waiter = NULL;
	for (struct sim_proc **pp = &d->procs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	p->next = NULL;
}

/* A guest's process wrote: whole lines go to the console. */
void sim_guest_output(struct sim_proc *p, bool flush)
{
	char *nl;

	while ((nl = memchr(p->out, '\n', p->outlen)) != NULL || (flush && p->outlen > 0) ||
	       p->outlen == sizeof(p->out)) {
		size_t n = nl ? (size_t)(nl - p->out) : p->outlen;
		char line[sizeof(p->out) + 1];

		memcpy(line, p->out, n);
		line[n] = '\0';
		sim_console_line(p->d, line);
		n = nl ? n + 1 : n;
		memmove(p->out, p->out + n, p->outlen - n);
		p->outlen -= n;
	}
}

/* The last line a job wrote: its reason. */
const char *sim_job_reason(struct sim_proc *p)
{
	char *end, *start;

	if (p->outlen == 0)
		return "no message";
	p->out[p->outlen < sizeof(p->out) ? p->outlen : sizeof(p->out) - 1] = '\0';
	end = p->out + strlen(p->out);
	while (end > p->out && (end[-1] == '\n' || end[-1] == ' '))
		*--end = '\0';
	start = strrchr(p->out, '\n');
	return start ? start + 1 : p->out;
}

static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sim_proc *p = arg;
	int st;
	pid_t r = waitpid(p->pid, &st, WNOHANG);

	if (r == 0) {
		/* its pipe closed as it exits: the exit itself is a moment away */
		struct timeval tv = {.tv_usec = REAP_RETRY_US};

		evtimer_add(p->ev, &tv);
		return;
	}
	p->status = r == p->pid ? st : -1;
	p->pid = 0;
	sim_net_proc_done(p);
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sim_proc *p = arg;
	char buf[512];
	ssize_t r = read(fd, buf, sizeof(buf));

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r > 0) {
		bool guest = p->kind == SIM_PROC_SERVER || p->kind == SIM_PROC_CLIENT;

		for (ssize_t i = 0; i < r; i++) {
			if (p->outlen == sizeof(p->out)) {
				if (guest) {
					sim_guest_output(p, false);
				} else { /* jobs keep the tail */
					memmove(p->out, p->out + 256, sizeof(p->out) - 256);
					p->outlen -= 256;
				}
			}
			p->out[p->outlen++] = buf[i];
		}
		if (guest)
			sim_guest_output(p, false);
		return;
	}
	/* EOF: every copy of the pipe is closed, the child ends */
	event_free(p->ev);
	close(p->fd);
	p->fd = -1;
	p->ev = evtimer_new(p->d->sim->hv->base, reap_cb, p);
	if (p->ev == NULL)
		abort();
	reap_cb(-1, 0, p);
}

static struct sim_proc *proc_watch(struct sim_dom *d, enum sim_proc_kind kind, const char *what,
				   pid_t pid, int fd)
{
	struct sim_proc *p = xn_xcalloc(1, sizeof(*p));

	p->d = d;
	p->kind = kind;
	p->pid = pid;
	p->child = true;
	p->fd = fd;
	p->what = xn_xstrdup(what);
	p->start_time = sim_start_time_of(pid);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	p->ev = event_new(d->sim->hv->base, fd, EV_READ | EV_PERSIST, read_cb, p);
	if (p->ev == NULL)
		abort();
	event_add(p->ev, NULL);
	return p;
}

/* The child's side of every fork: stdout and stderr the pipe, stdin
 * /dev/null, no other descriptor of the daemon, default signals. */
static void child_stdio(int wfd)
{
	sigset_t all;
	int nul = open("/dev/null", O_RDONLY);

	if (nul >= 0 && nul != STDIN_FILENO) {
		dup2(nul, STDIN_FILENO);
		close(nul);
	}
	dup2(wfd, STDOUT_FILENO);
	dup2(wfd, STDERR_FILENO);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	setsid();
}

static void close_from(int lowfd)
{
	/* glibc 2.34+; the descriptors are all CLOEXEC anyway for the jobs */
	close_range((unsigned)lowfd, ~0U, 0);
}

/* A shell job: /bin/sh -c SCRIPT sh ARGS..., the shim first on PATH. */
struct sim_proc *sim_spawn_job(struct sim_dom *d, enum sim_proc_kind kind, const char *script,
			       char *const *args, size_t nargs, xn_err *err)
{
	struct sim *s = d->sim;
	const char *path = getenv("PATH");
	cleanup_free char *penv =
	    xn_xasprintf("PATH=%s:%s", s->net_bin, path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
	cleanup_free char *xsenv = xn_xasprintf("XN_XENSTORE_DIR=%s", s->net_xs);
	size_t nenv = 0, k = 0;
	char **argv, **envp;
	struct sim_proc *p;
	int pfd[2];
	pid_t pid;

	while (environ[nenv] != NULL)
		nenv++;
	envp = xn_xcalloc(nenv + 3, sizeof(*envp));
	for (size_t i = 0; i < nenv; i++)
		if (strncmp(environ[i], "PATH=", 5) != 0 &&
		    strncmp(environ[i], "XN_XENSTORE_DIR=", 16) != 0)
			envp[k++] = environ[i];
	envp[k++] = penv;
	envp[k++] = xsenv;
	argv = xn_xcalloc(nargs + 5, sizeof(*argv));
	argv[0] = "/bin/sh";
	argv[1] = "-c";
	argv[2] = (char *)script;
	argv[3] = "sim-net";
	for (size_t i = 0; i < nargs; i++)
		argv[4 + i] = args[i];
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		free(argv);
		free(envp);
		return xn_error_errno(err, errno, "pipe"), NULL;
	}
	pid = fork();
	if (pid == 0) {
		child_stdio(pfd[1]);
		close_from(3);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	free(argv);
	free(envp);
	close(pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		return xn_error_errno(err, errno, "fork"), NULL;
	}
	p = proc_watch(d, kind, proc_kind_name(kind), pid, pfd[0]);
	d->job = p;
	return p;
}

/* A guest process: fork, enter the domain's netns, run the directive. */
struct sim_proc *sim_spawn_guest(struct sim_dom *d, enum sim_proc_kind kind, const char *what,
				 const struct sim_guest_job *j, xn_err *err)
{
	cleanup_free char *nspath = xn_xasprintf("/run/netns/%s", d->netns);
	struct sim_proc *p;
	int pfd[2], nsfd;
	pid_t pid;

	nsfd = open(nspath, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return xn_error_errno(err, errno, "%s", nspath), NULL;
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		close(nsfd);
		return xn_error_errno(err, errno, "pipe"), NULL;
	}
	pid = fork();
	if (pid == 0) {
		char name[16];

		child_stdio(pfd[1]);
		if (setns(nsfd, CLONE_NEWNET) < 0) {
			printf("%s: error: cannot enter network namespace %s: %s\n", what, d->netns,
			       strerror(errno));
			fflush(stdout);
			_exit(1);
		}
		close_from(3);
		snprintf(name, sizeof(name), "sim-%s", xn_sim_op_name(j->op));
		prctl(PR_SET_NAME, name);
		prctl(PR_SET_PDEATHSIG, 0);
		if (kind == SIM_PROC_CLIENT)
			alarm(30); /* a client that hangs ends; the script goes on */
		_exit(sim_guest_run(j));
	}
	close(nsfd);
	close(pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		return xn_error_errno(err, errno, "fork"), NULL;
	}
	p = proc_watch(d, kind, what, pid, pfd[0]);
	p->next = d->procs;
	d->procs = p;
	return p;
}

char *sim_exit_text(int status)
{
	if (status < 0)
		return xn_xstrdup("lost");
	if (WIFSIGNALED(status))
		return xn_xasprintf("killed by signal %d", WTERMSIG(status));
	return xn_xasprintf("exit status %d", WEXITSTATUS(status));
}

bool sim_job_ok(const struct sim_proc *p)
{
	return p->status >= 0 && WIFEXITED(p->status) && WEXITSTATUS(p->status) == 0;
}
