/* cmd-logs.c - `xl-pod logs`: ask xenletd where a pod's CRI log is, then read
 * it here with the CRI log reader that `kubectl logs` goes through. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>
#include <event2/buffer.h>

#include "xenlet/crilog.h"
#include "xenlet/util.h"
#include "xl_pod.h"

#define FOLLOW_POLL_NS (200 * 1000 * 1000) /* a CLI may poll; inotify buys nothing here */

static void nap(void)
{
	struct timespec ts = {0, FOLLOW_POLL_NS};

	nanosleep(&ts, NULL);
}

/* "90", "90s", "5m", "2h": seconds; -1 if s is none of these. */
static int64_t since_seconds(const char *s)
{
	uint64_t n;
	size_t len = strlen(s);
	char unit = len > 0 ? s[len - 1] : '\0';
	cleanup_free char *num = xn_xstrdup(s);
	int64_t mul = unit == 'm' ? 60 : unit == 'h' ? 3600 : 1;

	if (unit == 's' || unit == 'm' || unit == 'h')
		num[len - 1] = '\0';
	if (xn_parse_u64(num, 10u * 365 * 86400, &n) < 0 || n == 0)
		return -1;
	return (int64_t)n * mul;
}

/* Copy what the reader gives to stdout until it is done; with follow, for
 * ever (until interrupted). */
static int copy_out(struct xn_crilog_reader *rd, bool follow)
{
	struct evbuffer *out = evbuffer_new();
	xn_err err = NULL;
	int rc;

	for (;;) {
		rc = xn_crilog_reader_step(rd, out, &err);
		while (evbuffer_get_length(out) > 0) {
			size_t n = evbuffer_get_length(out);

			fwrite(evbuffer_pullup(out, -1), 1, n, stdout);
			evbuffer_drain(out, n);
		}
		if (rc < 0 || rc == XN_CRILOG_DONE)
			break;
		if (rc == XN_CRILOG_IDLE) {
			fflush(stdout);
			nap();
		}
	}
	/* a line the guest never ended: a terminal still wants the newline */
	if (rc == XN_CRILOG_DONE && !follow && xn_crilog_reader_mid_line(rd))
		putchar('\n');
	fflush(stdout);
	evbuffer_free(out);
	if (rc < 0) {
		xlp_fail("logs", "%s", xn_error_msg(err));
		xn_error_free(&err);
		return 1;
	}
	return 0;
}

int main_logs(int argc, char **argv)
{
	enum { OPT_TAIL = 256, OPT_TIMESTAMPS, OPT_SINCE, OPT_SINCE_TIME, OPT_LIMIT };
	static const struct option longopts[] = {
	    {"namespace", required_argument, NULL, 'n'},
	    {"follow", no_argument, NULL, 'f'},
	    {"previous", no_argument, NULL, 'p'},
	    {"tail", required_argument, NULL, OPT_TAIL},
	    {"timestamps", no_argument, NULL, OPT_TIMESTAMPS},
	    {"since", required_argument, NULL, OPT_SINCE},
	    {"since-time", required_argument, NULL, OPT_SINCE_TIME},
	    {"limit-bytes", required_argument, NULL, OPT_LIMIT},
	    XLP_COMMON_LONG_OPTS};
	struct xn_log_opts o = {.tail_lines = -1, .limit_bytes = -1};
	const char *ns = NULL;
	struct xn_crilog_reader *rd = NULL;
	cJSON *req, *ans = NULL, *path;
	xn_err err = NULL;
	uint64_t n;
	int64_t secs;
	int opt, rc = 1;

	SWITCH_FOREACH_OPT(opt, "n:fp", longopts, 1) {
	case 'n': ns = optarg; break;
	case 'f': o.follow = true; break;
	case 'p': o.previous = true; break;
	case OPT_TAIL:
		if (xn_parse_u64(optarg, 1000000, &n) < 0)
			xlp_usage_fail("logs", "--tail '%s': must be a number 0..1000000", optarg);
		o.tail_lines = (int64_t)n;
		break;
	case OPT_TIMESTAMPS: o.timestamps = true; break;
	case OPT_SINCE:
		secs = since_seconds(optarg);
		if (secs < 0)
			xlp_usage_fail("logs", "--since '%s': must be a duration like 90s, 5m, 2h",
				       optarg);
		o.since_ns = xn_now_real_ns() - (uint64_t)secs * 1000000000u;
		break;
	case OPT_SINCE_TIME:
		if (xn_rfc3339_parse(optarg, strlen(optarg), &o.since_ns) < 0)
			xlp_usage_fail("logs", "--since-time '%s': not an RFC 3339 time", optarg);
		break;
	case OPT_LIMIT:
		if (xn_parse_u64(optarg, INT64_MAX, &n) < 0 || n == 0)
			xlp_usage_fail("logs", "--limit-bytes '%s': must be a number above 0",
				       optarg);
		o.limit_bytes = (int64_t)n;
		break;
	}
	if (argc - optind > 1)
		xlp_usage_fail("logs", "unexpected argument '%s'", argv[optind + 1]);
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "op", "logs");
	cJSON_AddStringToObject(req, "name", argv[optind]);
	if (ns)
		cJSON_AddStringToObject(req, "namespace", ns);
	cJSON_AddBoolToObject(req, "previous", o.previous);
	if (xlp_call("logs", req, &ans))
		return 1;
	path = cJSON_GetObjectItemCaseSensitive(ans, "path");
	if (!cJSON_IsString(path)) {
		cJSON_Delete(ans);
		return xlp_fail("logs", "xenletd's answer has no path");
	}
	/* following a pod that has not written yet: wait for its file */
	while ((rd = xn_crilog_reader_open(path->valuestring, &o, &err)) == NULL && o.follow &&
	       err->status == ENOENT) {
		xn_error_free(&err);
		nap();
	}
	if (rd == NULL) {
		int e = err->status;

		xlp_fail("logs", "%s%s", xn_error_msg(err),
			 e == EACCES   ? " (pod logs are for root)"
			 : e == ENOENT ? " (the pod has not started yet?)"
				       : "");
		xn_error_free(&err);
		goto out;
	}
	rc = copy_out(rd, o.follow);
out:
	xn_crilog_reader_close(rd);
	cJSON_Delete(ans);
	return rc;
}
