/* sim_script.c - parse hv_sim scripts (format: docs/sim-scripts.md). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "xenlet/sim_script.h"
#include "xenlet/util.h"

const char *xn_sim_op_name(enum xn_sim_op op)
{
	switch (op) {
	case XN_SIM_PRINT: return "print";
	case XN_SIM_WRITE: return "write";
	case XN_SIM_SLEEP: return "sleep";
	case XN_SIM_READY: return "ready";
	case XN_SIM_EXIT: return "exit";
	case XN_SIM_CRASH: return "crash";
	case XN_SIM_REBOOT: return "reboot";
	case XN_SIM_WATCHDOG: return "watchdog";
	case XN_SIM_LOOP: return "loop";
	case XN_SIM_HANG: return "hang";
	case XN_SIM_CMDLINE: return "cmdline";
	case XN_SIM_MEMORY: return "memory";
	case XN_SIM_XENSTORE: return "xenstore";
	case XN_SIM_HTTP: return "http";
	case XN_SIM_ECHO: return "echo";
	case XN_SIM_CONNECT: return "connect";
	case XN_SIM_HTTP_GET: return "http-get";
	case XN_SIM_RESOLVE: return "resolve";
	}
	return "?";
}

bool xn_sim_op_is_net(enum xn_sim_op op)
{
	return op >= XN_SIM_HTTP && op <= XN_SIM_RESOLVE;
}

/* Directives that are one step and take no argument. */
static const struct {
	const char *name;
	enum xn_sim_op op;
} bare_ops[] = {
    {"ready", XN_SIM_READY},	   {"crash", XN_SIM_CRASH},   {"reboot", XN_SIM_REBOOT},
    {"watchdog", XN_SIM_WATCHDOG}, {"loop", XN_SIM_LOOP},     {"hang", XN_SIM_HANG},
    {"cmdline", XN_SIM_CMDLINE},   {"memory", XN_SIM_MEMORY},
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static struct xn_sim_step *add_step(struct xn_sim_script *s, size_t *cap, enum xn_sim_op op,
				    unsigned line)
{
	struct xn_sim_step *st;

	if (s->nsteps == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		s->steps = xn_xrealloc(s->steps, *cap * sizeof(*s->steps));
	}
	st = &s->steps[s->nsteps++];
	memset(st, 0, sizeof(*st));
	st->op = op;
	st->line = line;
	return st;
}

static bool loop_has_sleep(const struct xn_sim_script *s)
{
	for (size_t i = 0; i < s->nsteps; i++)
		if (s->steps[i].op == XN_SIM_SLEEP && s->steps[i].arg > 0)
			return true;
	return false;
}

/* A word of the file, for an error message, only if it could be part of a
 * script (at most 16 of [A-Za-z0-9.-]): a file that is not a script (a key
 * given as the image) must not show its content in a pod's status. */
static const char *shown(const char *w)
{
	size_t n = strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-");

	return n <= 16 && w[n] == '\0' ? w : "(not shown)";
}

/* `xenstore KEY VALUE`: KEY is a word of [a-z0-9-], VALUE everything after
 * the one blank that follows it (verbatim: a guest may write junk). */
static int parse_xenstore(struct xn_sim_script *s, size_t *cap, const char *file, unsigned lineno,
			  char *arg, xn_err *err)
{
	size_t n = strspn(arg, "abcdefghijklmnopqrstuvwxyz0123456789-");
	struct xn_sim_step *st;

	if (n == 0 || n > XN_SIM_KEY_MAX || (arg[n] != '\0' && arg[n] != ' '))
		return xn_error(err, EINVAL,
				"%s:%u: xenstore: needs a key of at most %u of [a-z0-9-], then "
				"the value",
				file, lineno, XN_SIM_KEY_MAX);
	st = add_step(s, cap, XN_SIM_XENSTORE, lineno);
	st->value = xn_xstrdup(arg[n] ? arg + n + 1 : "");
	arg[n] = '\0';
	st->text = xn_xstrdup(arg);
	return 0;
}

/* The next blank-separated word of *p (NUL-terminated in place); *p moves
 * past it and the one blank after it.  "" at the end of the line. */
static char *next_word(char **p)
{
	char *w, *e;

	while (is_blank(**p))
		(*p)++;
	w = e = *p;
	while (*e != '\0' && !is_blank(*e))
		e++;
	*p = *e != '\0' ? e + 1 : e;
	*e = '\0';
	return w;
}

static bool printable(const char *w)
{
	for (; *w != '\0'; w++)
		if ((unsigned char)*w < 0x21 || (unsigned char)*w == 0x7f)
			return false;
	return true;
}

static int parse_port(const char *file, unsigned lineno, const char *dir, const char *w,
		      uint64_t *port, xn_err *err)
{
	if (xn_parse_u64(w, 65535, port) < 0 || *port == 0)
		return xn_error(err, EINVAL, "%s:%u: %s: '%s' is not a port 1..65535", file, lineno,
				dir, shown(w));
	return 0;
}

/* A host: an IPv4 or IPv6 literal or a DNS name, never shell or option
 * syntax (it reaches getaddrinfo only, but is shown in messages). */
static int parse_host(const char *file, unsigned lineno, const char *dir, const char *w,
		      xn_err *err)
{
	size_t n = strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:-_");

	if (w[0] == '\0' || w[0] == '-' || w[n] != '\0' || n > 253)
		return xn_error(err, EINVAL,
				"%s:%u: %s: '%s' is not a host (an IP address or a DNS name)", file,
				lineno, dir, shown(w));
	return 0;
}

/* http PORT TEXT, echo PORT, connect HOST PORT [TEXT], http-get HOST PORT
 * [PATH], resolve NAME.  rest is the line after the directive's blank. */
static int parse_net(struct xn_sim_script *s, size_t *cap, const char *file, unsigned lineno,
		     const char *word, enum xn_sim_op op, char *rest, xn_err *err)
{
	struct xn_sim_step st = {.op = op, .line = lineno};
	char *host = NULL, *w;

	if (op == XN_SIM_CONNECT || op == XN_SIM_HTTP_GET || op == XN_SIM_RESOLVE) {
		host = next_word(&rest);
		if (parse_host(file, lineno, word, host, err) < 0)
			return -1;
	}
	if (op != XN_SIM_RESOLVE) {
		w = next_word(&rest);
		if (parse_port(file, lineno, word, w, &st.arg, err) < 0)
			return -1;
	}
	if (op == XN_SIM_HTTP_GET) {
		w = next_word(&rest);
		if (w[0] == '\0')
			w = "/";
		if (w[0] != '/' || !printable(w))
			return xn_error(
			    err, EINVAL,
			    "%s:%u: %s: path '%s' is not a printable path starting with /", file,
			    lineno, word, shown(w));
		st.text = xn_xstrdup(w);
	} else if (op == XN_SIM_HTTP || op == XN_SIM_CONNECT) {
		st.text = xn_xstrdup(rest); /* verbatim, as print's TEXT */
		rest += strlen(rest);
	}
	while (is_blank(*rest))
		rest++;
	if (*rest != '\0') {
		free(st.text);
		return xn_error(err, EINVAL, "%s:%u: %s: unexpected '%s' at the end", file, lineno,
				word, shown(rest));
	}
	st.host = xn_dup_or_null(host);
	*add_step(s, cap, op, lineno) = st;
	s->uses_net = true;
	return 0;
}

static const struct {
	const char *name;
	enum xn_sim_op op;
} net_ops[] = {
    {"http", XN_SIM_HTTP},	   {"echo", XN_SIM_ECHO},	{"connect", XN_SIM_CONNECT},
    {"http-get", XN_SIM_HTTP_GET}, {"resolve", XN_SIM_RESOLVE},
};

/* One line, NUL-terminated, without its "\n" and trailing "\r". */
static int parse_line(struct xn_sim_script *s, size_t *cap, const char *file, unsigned lineno,
		      char *line, xn_err *err)
{
	char *p = line, *word, *arg, *end;
	struct xn_sim_step *st;
	uint64_t v;

	while (is_blank(*p))
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	word = p;
	while (*p != '\0' && !is_blank(*p))
		p++;
	/* TEXT is everything after the one blank that ends the directive */
	arg = *p != '\0' ? p + 1 : p;
	*p = '\0';

	if (strcmp(word, "print") == 0 || strcmp(word, "write") == 0) {
		st = add_step(s, cap, word[0] == 'p' ? XN_SIM_PRINT : XN_SIM_WRITE, lineno);
		st->text = xn_xstrdup(arg);
		return 0;
	}
	if (strcmp(word, "xenstore") == 0)
		return parse_xenstore(s, cap, file, lineno, arg, err);
	for (size_t i = 0; i < XN_ARRAY_SIZE(net_ops); i++)
		if (strcmp(word, net_ops[i].name) == 0)
			return parse_net(s, cap, file, lineno, word, net_ops[i].op, arg, err);

	/* the other directives take a word or nothing: trim it */
	while (is_blank(*arg))
		arg++;
	end = arg + strlen(arg);
	while (end > arg && is_blank(end[-1]))
		*--end = '\0';

	if (strcmp(word, "sleep") == 0) {
		if (xn_parse_u64(arg, XN_SIM_SLEEP_MAX_MS, &v) < 0)
			return xn_error(err, EINVAL,
					"%s:%u: sleep: '%s' is not a number of milliseconds "
					"0..%u",
					file, lineno, shown(arg), XN_SIM_SLEEP_MAX_MS);
		add_step(s, cap, XN_SIM_SLEEP, lineno)->arg = v;
		return 0;
	}
	if (strcmp(word, "exit") == 0) {
		if (xn_parse_u64(arg, 255, &v) < 0)
			return xn_error(err, EINVAL, "%s:%u: exit: '%s' is not an exit code 0..255",
					file, lineno, shown(arg));
		add_step(s, cap, XN_SIM_EXIT, lineno)->arg = v;
		return 0;
	}
	if (strcmp(word, "ignore-shutdown") == 0) {
		if (*arg != '\0')
			return xn_error(err, EINVAL, "%s:%u: ignore-shutdown: takes no argument",
					file, lineno);
		s->ignore_shutdown = true;
		return 0;
	}
	for (size_t i = 0; i < XN_ARRAY_SIZE(bare_ops); i++) {
		if (strcmp(word, bare_ops[i].name) != 0)
			continue;
		if (*arg != '\0')
			return xn_error(err, EINVAL, "%s:%u: %s: takes no argument, got '%s'", file,
					lineno, word, shown(arg));
		if (bare_ops[i].op == XN_SIM_LOOP && !loop_has_sleep(s))
			return xn_error(err, EINVAL,
					"%s:%u: loop: needs a sleep of at least 1 ms before it, "
					"else the guest spins",
					file, lineno);
		add_step(s, cap, bare_ops[i].op, lineno);
		return 0;
	}
	return xn_error(err, EINVAL, "%s:%u: unknown directive '%s'", file, lineno, shown(word));
}

int xn_sim_script_parse(const char *file, const char *text, size_t len, struct xn_sim_script *out,
			xn_err *err)
{
	struct xn_sim_script s = {0};
	char line[XN_SIM_LINE_MAX + 1];
	size_t cap = 0, pos = 0;
	unsigned lineno = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (len > XN_SIM_SCRIPT_MAX) {
		xn_error(err, EFBIG, "%s: larger than %u bytes", file, XN_SIM_SCRIPT_MAX);
		goto out;
	}
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

		lineno++;
		if (n > 0 && text[pos + n - 1] == '\r')
			n--;
		if (n > XN_SIM_LINE_MAX) {
			xn_error(err, EINVAL, "%s:%u: line longer than %u bytes", file, lineno,
				 XN_SIM_LINE_MAX);
			goto out;
		}
		if (memchr(text + pos, '\0', n) != NULL) {
			xn_error(err, EINVAL, "%s:%u: NUL byte in line", file, lineno);
			goto out;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		if (parse_line(&s, &cap, file, lineno, line, err) < 0)
			goto out;
		pos += nl ? (size_t)(nl - (text + pos)) + 1 : len - pos;
	}
	s.file = xn_xstrdup(file);
	*out = s;
	memset(&s, 0, sizeof(s));
	rc = 0;
out:
	xn_sim_script_dispose(&s);
	return rc;
}

int xn_sim_script_load(const char *path, struct xn_sim_script *out, char **textp, xn_err *err)
{
	cleanup_free char *buf = NULL;
	struct stat st;
	size_t len = 0;

	memset(out, 0, sizeof(*out));
	if (stat(path, &st) < 0)
		return xn_error_errno(err, errno, "%s", path);
	if (!S_ISREG(st.st_mode))
		return xn_error(err, EINVAL, "%s: not a regular file", path);
	/* sized to the file: hv_sim keeps the text for the domain's life, and a
	 * buffer of the largest size allowed per domain fragmented the heap
	 * (RSS grew with every pod that came and went) */
	if (xn_read_file(path, XN_SIM_SCRIPT_MAX, &buf, &len, err) < 0)
		return -1;
	if (xn_sim_script_parse(path, buf, len, out, err) < 0)
		return -1;
	if (textp != NULL) {
		*textp = buf;
		buf = NULL;
	}
	return 0;
}

void xn_sim_script_dispose(struct xn_sim_script *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nsteps; i++) {
		free(s->steps[i].text);
		free(s->steps[i].value);
		free(s->steps[i].host);
	}
	free(s->steps);
	free(s->file);
	memset(s, 0, sizeof(*s));
}
