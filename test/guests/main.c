/*
 * main.c - what a test guest does once its console works; see README.md
 * for the command line words.  Output lines start with "XN-TEST-" so the
 * tests can find them in a console log.
 */
#include "guest.h"

/* Value of "key=" in the command line as a number, or def when absent. */
static unsigned long arg_num(const char *key, unsigned long def)
{
	unsigned long klen = xn_strlen(key), v = 0;
	const char *p = plat.cmdline;

	for (; *p; p++) {
		if ((p == plat.cmdline || p[-1] == ' ') && !xn_strncmp(p, key, klen) &&
		    p[klen] == '=') {
			for (p += klen + 1; *p >= '0' && *p <= '9'; p++)
				v = v * 10 + (unsigned long)(*p - '0');
			return v;
		}
	}
	return def;
}

/* Is word (delimited by spaces) in the command line? */
static int arg_flag(const char *word)
{
	unsigned long wlen = xn_strlen(word);
	const char *p = plat.cmdline;

	for (; *p; p++)
		if ((p == plat.cmdline || p[-1] == ' ') && !xn_strncmp(p, word, wlen) &&
		    (p[wlen] == ' ' || p[wlen] == 0))
			return 1;
	return 0;
}

static void say(const char *a, const char *b)
{
	char line[256];
	unsigned long n = xn_strlen(a), m = xn_strlen(b);

	if (n + m >= sizeof(line))
		m = sizeof(line) - n - 1;
	memcpy(line, a, n);
	memcpy(line + n, b, m);
	line[n + m] = 0;
	cons_puts(line);
}

static void say_num(const char *a, unsigned long v)
{
	char num[24];
	fmt_u(num, v);
	say(a, num);
}

/* Waits for Dom0 to write control/shutdown (what "xl shutdown" does).
 * With "noshutdown" the request is acknowledged and ignored: a guest that
 * hangs, which only a destroy ends. */
static void hold(void)
{
	char req[32];
	unsigned long ticks = 0;
	int ignore = arg_flag("noshutdown");

	cons_puts("XN-TEST-HOLDING");
	for (;;) {
		if (xs_read("control/shutdown", req, sizeof(req)) == 0 && req[0]) {
			xs_write("control/shutdown", ""); /* acknowledge, as Linux does */
			if (ignore) {
				say("XN-TEST-SHUTDOWN-IGNORED ", req);
			} else {
				say("XN-TEST-SHUTDOWN-REQUEST ", req);
				shutdown(xn_strncmp(req, "reboot", 7) ? SHUTDOWN_poweroff
								      : SHUTDOWN_reboot);
			}
		}
		sleep_ms(500);
		if (++ticks % 10 == 0)
			say_num("XN-TEST-HEARTBEAT ", ticks / 2);
	}
}

/* A guest with no shutdown driver, as a Unikraft helloworld built for Xen
 * (PV: libxl still treats it as PV-aware and writes control/shutdown): it
 * never reads control/shutdown, so a request is never acknowledged.  Only
 * a destroy ends it.  A tick a second shows it still runs. */
static void deaf(void)
{
	unsigned long s = 0;

	cons_puts("XN-TEST-DEAF");
	for (;;) {
		sleep_ms(1000);
		say_num("XN-TEST-TICK ", ++s);
	}
}

void guest_main(void)
{
	char buf[128];
	unsigned long i, n, code;

	/* The banner is the first output: tests check the console starts here. */
	say("XN-TEST-GUEST ", plat.kind[2] ? "pvh v1 booting" : "pv v1 booting");
	say("XN-TEST-CMDLINE ", plat.cmdline);
	if (!plat.store) {
		cons_puts("XN-TEST-XENSTORE none");
	} else {
		if (xs_read("domid", buf, sizeof(buf)) == 0)
			say("XN-TEST-DOMID ", buf);
		if (xs_read("xenlet/greeting", buf, sizeof(buf)) == 0)
			say("XN-TEST-GREETING ", buf);
		else
			cons_puts("XN-TEST-GREETING (none)");
	}
	if (arg_flag("ready"))
		cons_puts(xs_write("data/xenlet/ready", "1") == 0
			      ? "XN-TEST-READY"
			      : "XN-TEST-READY xenstore write failed");
	n = arg_num("lines", 0);
	for (i = 1; i <= n; i++) {
		memcpy(buf, "XN-TEST-LINE ", 13);
		fmt_u(buf + 13, i);
		cons_puts_quiet(buf); /* many lines: keep them off Xen's log */
	}
	if (n)
		say_num("XN-TEST-LINES-DONE ", n);

	if (arg_flag("crash")) {
		cons_puts("XN-TEST-CRASHING");
		shutdown(SHUTDOWN_crash);
	}
	if (arg_flag("deaf"))
		deaf();
	if (arg_flag("hold"))
		hold();
	/* "exit=N" (default 0): like Solo5, any exit status powers off; the
	 * status itself goes to xenstore for the toolstack. */
	code = arg_num("exit", 0);
	fmt_u(buf, code);
	if (plat.store && xs_write("data/xenlet/exit-code", buf) != 0)
		cons_puts("XN-TEST-EXIT-CODE xenstore write failed");
	say_num("XN-TEST-EXIT ", code);
	shutdown(SHUTDOWN_poweroff);
}
