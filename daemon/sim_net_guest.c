/* sim_net_guest.c - what a sim guest's network directives do, in a child
 * process forked into the guest's network namespace (daemon/sim_net.c
 * forks it): an HTTP server, a TCP echo server, and the clients connect,
 * http-get and resolve.  Each writes its console lines to stdout (a pipe
 * the daemon reads) and never returns to the daemon's code: the child
 * ends with _exit().  Servers answer one connection at a time, each with
 * a 2 s deadline, so a silent client cannot hold them for long. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include "xenlet/sim_net_guest.h"

#define IO_TIMEOUT_S   2
#define CONN_TIMEOUT_S 5
#define REPLY_MAX      8192

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDOUT_FILENO, line, (size_t)n);
}

static void timeouts(int fd, int secs)
{
	struct timeval tv = {.tv_sec = secs};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t r = write(fd, buf, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		buf += r;
		len -= (size_t)r;
	}
	return 0;
}

/* A listening socket on every address of the namespace: IPv6 with IPv4
 * mapped, or IPv4 alone where IPv6 is off. */
static int listen_any(unsigned port)
{
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(port)};
	int one = 1, zero = 0, fd;

	a6.sin6_addr = in6addr_any;
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		if (bind(fd, (struct sockaddr *)&a6, sizeof(a6)) == 0 && listen(fd, 64) == 0)
			return fd;
		close(fd);
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a4, sizeof(a4)) < 0 || listen(fd, 64) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int accept_one(int lfd)
{
	for (;;) {
		int c = accept(lfd, NULL, NULL);

		if (c >= 0) {
			timeouts(c, IO_TIMEOUT_S);
			return c;
		}
		if (errno != EINTR && errno != ECONNABORTED)
			return -1;
	}
}

/* Read a request head (up to the blank line, or what fits); its length. */
static size_t read_head(int c, char *buf, size_t cap)
{
	size_t len = 0;

	while (len < cap - 1) {
		ssize_t r = read(c, buf + len, cap - 1 - len);

		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL || strstr(buf, "\n\n") != NULL)
			break;
	}
	buf[len] = '\0';
	return len;
}

static int serve_http(const struct sim_guest_job *j)
{
	char head[4096], req[2048];
	size_t blen = strlen(j->text) + 1;
	int lfd = listen_any(j->port), c, n;

	if (lfd < 0) {
		say("http :%u: cannot listen: %s", j->port, strerror(errno));
		return 1;
	}
	say("http :%u: listening", j->port);
	for (;;) {
		bool get, head_only;

		c = accept_one(lfd);
		if (c < 0) {
			say("http :%u: accept: %s", j->port, strerror(errno));
			return 1;
		}
		read_head(c, req, sizeof(req));
		get = strncmp(req, "GET ", 4) == 0;
		head_only = strncmp(req, "HEAD ", 5) == 0;
		if (get || head_only) {
			n = snprintf(head, sizeof(head),
				     "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
				     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
				     blen);
			if (write_all(c, head, (size_t)n) == 0 && get &&
			    write_all(c, j->text, blen - 1) == 0)
				(void)write_all(c, "\n", 1);
		} else {
			n = snprintf(head, sizeof(head),
				     "HTTP/1.0 405 Method Not Allowed\r\nContent-Length: 0\r\n"
				     "Connection: close\r\n\r\n");
			(void)write_all(c, head, (size_t)n);
		}
		close(c);
	}
}

static int serve_echo(const struct sim_guest_job *j)
{
	char buf[16384];
	int lfd = listen_any(j->port), c;

	if (lfd < 0) {
		say("echo :%u: cannot listen: %s", j->port, strerror(errno));
		return 1;
	}
	say("echo :%u: listening", j->port);
	for (;;) {
		ssize_t r;

		c = accept_one(lfd);
		if (c < 0) {
			say("echo :%u: accept: %s", j->port, strerror(errno));
			return 1;
		}
		while ((r = read(c, buf, sizeof(buf))) > 0)
			if (write_all(c, buf, (size_t)r) < 0)
				break;
		close(c);
	}
}

/* A TCP connection to host:port; -1 with the reason said. */
static int dial(const char *what, const char *host, unsigned port)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res, *ai;
	char ps[8];
	int fd = -1, r, e = 0;

	snprintf(ps, sizeof(ps), "%u", port);
	r = getaddrinfo(host, ps, &hints, &res);
	if (r != 0) {
		say("%s: error: %s", what, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		timeouts(fd, CONN_TIMEOUT_S);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		say("%s: error: %s", what, strerror(e == EINPROGRESS ? ETIMEDOUT : e));
	return fd;
}

static size_t read_reply(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t r;

	while (len < cap - 1 && (r = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)r;
	buf[len] = '\0';
	return len;
}

/* The first line of s (up to \r or \n), cut in place. */
static const char *first_line(char *s)
{
	s[strcspn(s, "\r\n")] = '\0';
	return s;
}

static int do_connect(const struct sim_guest_job *j)
{
	char what[320], reply[REPLY_MAX];
	int fd;

	snprintf(what, sizeof(what), "connect %s %u", j->host, j->port);
	fd = dial(what, j->host, j->port);
	if (fd < 0)
		return 1;
	if (j->text[0] != '\0' &&
	    (write_all(fd, j->text, strlen(j->text)) < 0 || write_all(fd, "\n", 1) < 0)) {
		say("%s: error: send: %s", what, strerror(errno));
		return 1;
	}
	shutdown(fd, SHUT_WR);
	if (read_reply(fd, reply, sizeof(reply)) == 0)
		say("%s: connected, no reply", what);
	else
		say("%s: reply: %s", what, first_line(reply));
	return 0;
}

static int do_http_get(const struct sim_guest_job *j)
{
	char what[600], req[600], reply[REPLY_MAX], *body;
	unsigned code = 0;
	int fd, n;

	snprintf(what, sizeof(what), "http-get %s %u %s", j->host, j->port, j->text);
	fd = dial(what, j->host, j->port);
	if (fd < 0)
		return 1;
	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: xenlet-sim\r\n\r\n", j->text,
		     j->host);
	if (write_all(fd, req, (size_t)n) < 0) {
		say("%s: error: send: %s", what, strerror(errno));
		return 1;
	}
	read_reply(fd, reply, sizeof(reply));
	if (sscanf(reply, "HTTP/%*u.%*u %u", &code) != 1) {
		say("%s: error: not an HTTP response", what);
		return 1;
	}
	body = strstr(reply, "\r\n\r\n");
	say("%s: %u %s", what, code, body ? first_line(body + 4) : "");
	return 0;
}

/* The guest's own resolv.conf over the host's, in a mount namespace of
 * this process only, as `ip netns exec` does with /etc/netns/<ns>. */
static void use_resolv_conf(const char *path)
{
	if (path == NULL || access(path, R_OK) < 0)
		return;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0 ||
	    mount(path, "/etc/resolv.conf", NULL, MS_BIND, NULL) < 0)
		say("resolve: cannot use the guest's DNS settings: %s", strerror(errno));
}

static int do_resolve(const struct sim_guest_job *j)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
	char line[900], a[INET6_ADDRSTRLEN];
	size_t len;
	int r;

	use_resolv_conf(j->resolv_conf);
	r = getaddrinfo(j->host, NULL, &hints, &res);
	if (r != 0) {
		say("resolve %s: error: %s", j->host, gai_strerror(r));
		return 1;
	}
	len = (size_t)snprintf(line, sizeof(line), "resolve %s:", j->host);
	for (ai = res; ai != NULL && len < sizeof(line) - INET6_ADDRSTRLEN - 2; ai = ai->ai_next) {
		const void *p =
		    ai->ai_family == AF_INET
			? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
			: (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;

		if (inet_ntop(ai->ai_family, p, a, sizeof(a)) != NULL)
			len += (size_t)snprintf(line + len, sizeof(line) - len, " %s", a);
	}
	freeaddrinfo(res);
	say("%s", line);
	return 0;
}

int sim_guest_run(const struct sim_guest_job *j)
{
	switch (j->op) {
	case XN_SIM_HTTP: return serve_http(j);
	case XN_SIM_ECHO: return serve_echo(j);
	case XN_SIM_CONNECT: return do_connect(j);
	case XN_SIM_HTTP_GET: return do_http_get(j);
	case XN_SIM_RESOLVE: return do_resolve(j);
	default: say("%s: not a network directive", xn_sim_op_name(j->op)); return 2;
	}
}
