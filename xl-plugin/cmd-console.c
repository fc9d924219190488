/* cmd-console.c - `xl-pod console`: attach to a pod's console like `xl console`. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <cJSON.h>

#include "xenlet/util.h"
#include "xl_pod.h"

#define ESCAPE_CHAR 0x1d /* Ctrl-], as xl console and telnet */

/* Shuttle bytes between the terminal and the console until Ctrl-] or the
 * console goes away (EOF/EIO when the domain dies).  Returns 0 on a
 * detach or a hang-up, -1 with errno on other failures. */
static int shuttle(int tty, bool interactive)
{
	struct pollfd p[2] = {{.fd = tty, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
	char buf[4096];

	for (;;) {
		ssize_t r;

		if (poll(p, interactive ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (p[0].revents) {
			r = read(tty, buf, sizeof(buf));
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r == 0 || (r < 0 && errno == EIO))
				return 0;
			if (r < 0 || xn_write_all(1, buf, (size_t)r) < 0)
				return -1;
		}
		if (interactive && p[1].revents) {
			char *esc;

			r = read(0, buf, sizeof(buf));
			if (r <= 0)
				return r < 0 && errno != EINTR ? -1 : 0;
			esc = memchr(buf, ESCAPE_CHAR, (size_t)r);
			if (esc != NULL)
				r = esc - buf;
			if (xn_write_all(tty, buf, (size_t)r) < 0)
				return -1;
			if (esc != NULL)
				return 0;
		}
	}
}

int main_console(int argc, char **argv)
{
	static const struct option longopts[] = {{"namespace", required_argument, NULL, 'n'},
						 XLP_COMMON_LONG_OPTS};
	const char *ns = NULL;
	struct termios saved, raw;
	bool interactive = isatty(0) && isatty(1);
	cJSON *req, *ans = NULL, *tty_path;
	int opt, tty = -1, rc = 1, r;

	SWITCH_FOREACH_OPT(opt, "n:", longopts, 1) {
	case 'n': ns = optarg; break;
	}
	if (argc - optind > 1)
		xlp_usage_fail("console", "unexpected argument '%s'", argv[optind + 1]);
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "op", "console");
	cJSON_AddStringToObject(req, "name", argv[optind]);
	if (ns)
		cJSON_AddStringToObject(req, "namespace", ns);
	if (xlp_call("console", req, &ans))
		return 1;
	tty_path = cJSON_GetObjectItemCaseSensitive(ans, "tty");
	if (!cJSON_IsString(tty_path)) {
		rc = xlp_fail("console", "xenletd's answer has no tty");
		goto out;
	}
	tty = open(tty_path->valuestring, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (tty < 0) {
		rc = xlp_fail("console", "%s: %s", tty_path->valuestring, strerror(errno));
		goto out;
	}
	if (interactive) {
		if (tcgetattr(0, &saved) < 0) {
			rc = xlp_fail("console", "terminal: %s", strerror(errno));
			goto out;
		}
		raw = saved;
		cfmakeraw(&raw);
		raw.c_oflag = saved.c_oflag; /* keep LF -> CRLF: not every guest sends CR */
		tcsetattr(0, TCSAFLUSH, &raw);
	}
	r = shuttle(tty, interactive);
	if (interactive) {
		tcsetattr(0, TCSAFLUSH, &saved);
		fputc('\n', stderr);
	}
	if (r < 0) {
		rc = xlp_fail("console", "%s: %s", tty_path->valuestring, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (tty >= 0)
		close(tty);
	cJSON_Delete(ans);
	return rc;
}
