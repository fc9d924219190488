/* test_sim_script.c - the sim script format: directives, limits, errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "xenlet/sim_script.h"
#include "xenlet/util.h"

#define FIXTURES XN_SRCDIR "/test/fixtures/sim/"

static void parse_ok(const char *text, struct xn_sim_script *s)
{
	xn_err err = NULL;

	if (xn_sim_script_parse("t.sim", text, strlen(text), s, &err) < 0)
		fail_msg("unexpected error: %s", xn_error_msg(err));
}

/* Returns the error message (static buffer) of a script that must fail. */
static const char *parse_err(const char *text, size_t len)
{
	static char msg[512];
	struct xn_sim_script s;
	xn_err err = NULL;

	assert_int_equal(xn_sim_script_parse("t.sim", text, len, &s, &err), -1);
	assert_null(s.steps);
	assert_int_equal(s.nsteps, 0);
	snprintf(msg, sizeof(msg), "%s", xn_error_msg(err));
	xn_error_free(&err);
	return msg;
}

static void every_directive(void **state)
{
	struct xn_sim_script s;

	parse_ok("# comment\n"
		 "\n"
		 "   # indented comment\n"
		 "print hello  world  \n"
		 "print\n"
		 "write no newline\r\n"
		 "sleep 25\n"
		 "ready\n"
		 "cmdline\n"
		 "memory\n"
		 "ignore-shutdown\n"
		 "  print # not a comment\n"
		 "loop\n"
		 "hang\n"
		 "exit 3\n"
		 "crash\n"
		 "reboot\n"
		 "watchdog", /* no final newline */
		 &s);
	assert_true(s.ignore_shutdown);
	assert_string_equal(s.file, "t.sim");
	assert_int_equal(s.nsteps, 14);
	assert_int_equal(s.steps[0].op, XN_SIM_PRINT);
	assert_string_equal(s.steps[0].text, "hello  world  "); /* verbatim */
	assert_int_equal(s.steps[0].line, 4);
	assert_string_equal(s.steps[1].text, "");
	assert_int_equal(s.steps[2].op, XN_SIM_WRITE);
	assert_string_equal(s.steps[2].text, "no newline"); /* CRLF tolerated */
	assert_int_equal(s.steps[3].op, XN_SIM_SLEEP);
	assert_int_equal(s.steps[3].arg, 25);
	assert_int_equal(s.steps[4].op, XN_SIM_READY);
	assert_int_equal(s.steps[5].op, XN_SIM_CMDLINE);
	assert_int_equal(s.steps[6].op, XN_SIM_MEMORY);
	assert_string_equal(s.steps[7].text, "# not a comment");
	assert_int_equal(s.steps[8].op, XN_SIM_LOOP);
	assert_int_equal(s.steps[9].op, XN_SIM_HANG);
	assert_int_equal(s.steps[10].op, XN_SIM_EXIT);
	assert_int_equal(s.steps[10].arg, 3);
	assert_int_equal(s.steps[11].op, XN_SIM_CRASH);
	assert_int_equal(s.steps[12].op, XN_SIM_REBOOT);
	assert_int_equal(s.steps[13].op, XN_SIM_WATCHDOG);
	assert_int_equal(s.steps[13].line, 18);
	assert_string_equal(xn_sim_op_name(s.steps[13].op), "watchdog");
	xn_sim_script_dispose(&s);
	xn_sim_script_dispose(&s); /* idempotent */
}

/* `xenstore KEY VALUE`: the value verbatim (junk included, empty too). */
static void xenstore_directive(void **state)
{
	struct xn_sim_script s;

	parse_ok("xenstore ready 1\nxenstore ready  two words \nxenstore exit-code\n", &s);
	assert_int_equal(s.nsteps, 3);
	assert_int_equal(s.steps[0].op, XN_SIM_XENSTORE);
	assert_string_equal(s.steps[0].text, "ready");
	assert_string_equal(s.steps[0].value, "1");
	assert_string_equal(s.steps[1].value, " two words ");
	assert_string_equal(s.steps[2].text, "exit-code");
	assert_string_equal(s.steps[2].value, "");
	assert_string_equal(xn_sim_op_name(XN_SIM_XENSTORE), "xenstore");
	xn_sim_script_dispose(&s);
	assert_string_equal(parse_err("xenstore\n", 9),
			    "t.sim:1: xenstore: needs a key of at most 32 of [a-z0-9-], then the "
			    "value");
	assert_string_equal(parse_err("xenstore ../x 1\n", 16),
			    "t.sim:1: xenstore: needs a key of at most 32 of [a-z0-9-], then the "
			    "value");
}

static void errors_name_file_and_line(void **state)
{
	assert_string_equal(parse_err("print a\n\nfoo bar\n", 16),
			    "t.sim:3: unknown directive 'foo'");
	assert_string_equal(parse_err("sleep abc\n", 10),
			    "t.sim:1: sleep: 'abc' is not a number of milliseconds 0..3600000");
	assert_string_equal(parse_err("sleep 3600001\n", 14),
			    "t.sim:1: sleep: '3600001' is not a number of milliseconds 0..3600000");
	assert_string_equal(parse_err("sleep -1\n", 9),
			    "t.sim:1: sleep: '-1' is not a number of milliseconds 0..3600000");
	assert_string_equal(parse_err("sleep\n", 6),
			    "t.sim:1: sleep: '' is not a number of milliseconds 0..3600000");
	assert_string_equal(parse_err("exit 256\n", 9),
			    "t.sim:1: exit: '256' is not an exit code 0..255");
	assert_string_equal(parse_err("# x\ncrash now\n", 14),
			    "t.sim:2: crash: takes no argument, got 'now'");
	assert_string_equal(parse_err("ignore-shutdown please\n", 23),
			    "t.sim:1: ignore-shutdown: takes no argument");
	assert_string_equal(parse_err("print a\nloop\n", 13),
			    "t.sim:2: loop: needs a sleep of at least 1 ms before it, else the "
			    "guest spins");
	assert_string_equal(parse_err("sleep 0\nloop\n", 13),
			    "t.sim:2: loop: needs a sleep of at least 1 ms before it, else the "
			    "guest spins");
	assert_string_equal(parse_err("print a\0b\n", 10), "t.sim:1: NUL byte in line");
	assert_string_equal(parse_err("PRINT a\n", 8), "t.sim:1: unknown directive 'PRINT'");
}

static void size_limits(void **state)
{
	char *big = xn_xmalloc(XN_SIM_SCRIPT_MAX + 16);
	struct xn_sim_script s;
	size_t n;

	/* a line of exactly the limit is fine, one more byte is not */
	n = (size_t)snprintf(big, 16, "print ");
	memset(big + n, 'x', XN_SIM_LINE_MAX - n);
	big[XN_SIM_LINE_MAX] = '\n';
	assert_int_equal(xn_sim_script_parse("t.sim", big, XN_SIM_LINE_MAX + 1, &s, NULL), 0);
	assert_int_equal(strlen(s.steps[0].text), XN_SIM_LINE_MAX - n);
	xn_sim_script_dispose(&s);
	big[XN_SIM_LINE_MAX] = 'x';
	big[XN_SIM_LINE_MAX + 1] = '\n';
	assert_string_equal(parse_err(big, XN_SIM_LINE_MAX + 2),
			    "t.sim:1: line longer than 4096 bytes");

	/* a file one byte above the limit, made of valid lines */
	for (size_t i = 0; i < XN_SIM_SCRIPT_MAX + 1; i += 8)
		memcpy(big + i, "print x\n", 8);
	assert_string_equal(parse_err(big, XN_SIM_SCRIPT_MAX + 1),
			    "t.sim: larger than 1048576 bytes");
	free(big);
}

static void load_fixtures(void **state)
{
	static const char *const names[] = {"hello.sim", "crash.sim",	 "server.sim",
					    "exit3.sim", "stubborn.sim", "heartbeat.sim"};
	struct xn_sim_script s;
	xn_err err = NULL;
	char *text = NULL;

	for (size_t i = 0; i < XN_ARRAY_SIZE(names); i++) {
		char *path = xn_xasprintf(FIXTURES "%s", names[i]);

		if (xn_sim_script_load(path, &s, NULL, &err) < 0)
			fail_msg("%s", xn_error_msg(err));
		assert_true(s.nsteps > 0);
		xn_sim_script_dispose(&s);
		free(path);
	}

	assert_int_equal(xn_sim_script_load(FIXTURES "hello.sim", &s, &text, &err), 0);
	assert_non_null(strstr(text, "print hello from xenlet sim guest\n"));
	assert_int_equal(s.steps[0].op, XN_SIM_PRINT);
	assert_int_equal(s.steps[1].op, XN_SIM_CMDLINE);
	assert_int_equal(s.steps[s.nsteps - 1].op, XN_SIM_EXIT);
	assert_int_equal(s.steps[s.nsteps - 1].arg, 0);
	free(text);
	xn_sim_script_dispose(&s);

	assert_int_equal(xn_sim_script_load(FIXTURES "stubborn.sim", &s, NULL, &err), 0);
	assert_true(s.ignore_shutdown);
	xn_sim_script_dispose(&s);
}

static void load_errors(void **state)
{
	struct xn_sim_script s;
	xn_err err = NULL;

	assert_int_equal(xn_sim_script_load("/nonexistent/x.sim", &s, NULL, &err), -1);
	assert_string_equal(xn_error_msg(err), "/nonexistent/x.sim: No such file or directory");
	assert_int_equal(err->status, ENOENT);
	assert_int_equal(xn_sim_script_load(FIXTURES, &s, NULL, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "not a regular file"));
	xn_error_free(&err);
}

static void network_directives(void **state)
{
	struct xn_sim_script s;

	parse_ok("print a\n"
		 "http 8080 hello  from web\n"
		 "http 80\n"
		 "echo 9000\n"
		 "connect 10.244.1.3 9000 ping pong\n"
		 "connect fd00::3 9000\n"
		 "http-get web.default.svc 8080 /healthz\n"
		 "http-get 10.244.1.3 8080\n"
		 "resolve kubernetes.default.svc.cluster.local\n",
		 &s);
	assert_true(s.uses_net);
	assert_int_equal(s.nsteps, 9);
	assert_false(xn_sim_op_is_net(s.steps[0].op));
	assert_int_equal(s.steps[1].op, XN_SIM_HTTP);
	assert_int_equal(s.steps[1].arg, 8080);
	assert_string_equal(s.steps[1].text, "hello  from web"); /* verbatim */
	assert_null(s.steps[1].host);
	assert_string_equal(s.steps[2].text, "");
	assert_int_equal(s.steps[3].op, XN_SIM_ECHO);
	assert_int_equal(s.steps[3].arg, 9000);
	assert_int_equal(s.steps[4].op, XN_SIM_CONNECT);
	assert_string_equal(s.steps[4].host, "10.244.1.3");
	assert_int_equal(s.steps[4].arg, 9000);
	assert_string_equal(s.steps[4].text, "ping pong");
	assert_string_equal(s.steps[5].host, "fd00::3");
	assert_string_equal(s.steps[5].text, "");
	assert_int_equal(s.steps[6].op, XN_SIM_HTTP_GET);
	assert_string_equal(s.steps[6].host, "web.default.svc");
	assert_string_equal(s.steps[6].text, "/healthz");
	assert_string_equal(s.steps[7].text, "/"); /* the default path */
	assert_int_equal(s.steps[8].op, XN_SIM_RESOLVE);
	assert_string_equal(s.steps[8].host, "kubernetes.default.svc.cluster.local");
	for (size_t i = 1; i < s.nsteps; i++)
		assert_true(xn_sim_op_is_net(s.steps[i].op));
	assert_string_equal(xn_sim_op_name(XN_SIM_HTTP_GET), "http-get");
	xn_sim_script_dispose(&s);

	parse_ok("print no network\n", &s);
	assert_false(s.uses_net);
	xn_sim_script_dispose(&s);
}

static void network_errors(void **state)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
	    {"http\n", "t.sim:1: http: '' is not a port 1..65535"},
	    {"http 0 x\n", "t.sim:1: http: '0' is not a port 1..65535"},
	    {"http 65536 x\n", "t.sim:1: http: '65536' is not a port 1..65535"},
	    {"echo 9000 extra\n", "t.sim:1: echo: unexpected 'extra' at the end"},
	    {"connect\n", "t.sim:1: connect: '' is not a host (an IP address or a DNS name)"},
	    {"connect -x 80\n",
	     "t.sim:1: connect: '-x' is not a host (an IP address or a DNS name)"},
	    {"connect a;b 80\n",
	     "t.sim:1: connect: '(not shown)' is not a host (an IP address or a DNS name)"},
	    {"connect 10.0.0.1\n", "t.sim:1: connect: '' is not a port 1..65535"},
	    {"http-get h 80 nopath\n",
	     "t.sim:1: http-get: path 'nopath' is not a printable path starting with /"},
	    {"http-get h 80 / more\n", "t.sim:1: http-get: unexpected 'more' at the end"},
	    {"resolve\n", "t.sim:1: resolve: '' is not a host (an IP address or a DNS name)"},
	    {"resolve a b\n", "t.sim:1: resolve: unexpected 'b' at the end"},
	};

	for (size_t i = 0; i < XN_ARRAY_SIZE(cases); i++)
		assert_string_equal(parse_err(cases[i].text, strlen(cases[i].text)), cases[i].msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_directive), cmocka_unit_test(errors_name_file_and_line),
	    cmocka_unit_test(size_limits),     cmocka_unit_test(load_fixtures),
	    cmocka_unit_test(load_errors),     cmocka_unit_test(xenstore_directive),
	    cmocka_unit_test(load_errors),     cmocka_unit_test(network_directives),
	    cmocka_unit_test(network_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
