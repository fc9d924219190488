/* cmd-logs.c - `xl-pod logs`: ask xenletd where a pod's CRI log is, then read it here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cJSON.h>

#include "xenlet/util.h"
#include "crijoin.h"
#include "xl_pod.h"

#define FOLLOW_POLL_NS (200 * 1000 * 1000) /* a CLI may poll; inotify buys nothing here */

/* The last N lines, for --tail. */
struct tail {
	char **lines;
	size_t n, next, count;
};

static void emit(struct tail *t, const char *line)
{
	if (t->n == 0) {
		puts(line);
		return;
	}
	free(t->lines[t->next]);
	t->lines[t->next] = xn_xstrdup(line);
	t->next = (t->next + 1) % t->n;
	if (t->count < t->n)
		t->count++;
}

static void tail_print(struct tail *t)
{
	size_t first = (t->next + t->n - t->count) % (t->n ? t->n : 1);

	for (size_t i = 0; i < t->count; i++)
		puts(t->lines[(first + i) % t->n]);
	for (size_t i = 0; i < t->n; i++)
		free(t->lines[i]);
	free(t->lines);
	t->n = t->count = 0;
}

/* Read whole lines from f until EOF.  A last line without its newline is
 * left unread when following (the writer is still busy with it). */
static void read_lines(FILE *f, struct xlp_crijoin *j, struct tail *t, bool follow)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t r;
	const char *out;

	for (;;) {
		long start = ftell(f);

		r = getline(&line, &cap, f);
		if (r < 0)
			break;
		if (line[r - 1] != '\n' && follow) {
			fseek(f, start, SEEK_SET);
			break;
		}
		if (line[r - 1] == '\n')
			line[r - 1] = '\0';
		if (xlp_crijoin_feed(j, line, &out))
			emit(t, out);
	}
	clearerr(f);
	free(line);
}

static void nap(void)
{
	struct timespec ts = {0, FOLLOW_POLL_NS};

	nanosleep(&ts, NULL);
}

/* Follow path until interrupted, reopening it when the file is replaced or
 * truncated. */
__attribute__((noreturn)) static void follow(const char *path, FILE *f, struct xlp_crijoin *j)
{
	struct tail none = {0};
	struct stat st, fst;

	for (;;) {
		if (f != NULL) {
			read_lines(f, j, &none, true);
			fflush(stdout);
		}
		nap();
		if (stat(path, &st) < 0)
			continue;
		if (f != NULL && fstat(fileno(f), &fst) == 0 && fst.st_ino == st.st_ino &&
		    st.st_size >= ftell(f))
			continue;
		if (f != NULL)
			fclose(f);
		f = fopen(path, "re");
	}
}

int main_logs(int argc, char **argv)
{
	enum { OPT_TAIL = 256, OPT_TIMESTAMPS };
	static const struct option longopts[] = {{"namespace", required_argument, NULL, 'n'},
						 {"follow", no_argument, NULL, 'f'},
						 {"previous", no_argument, NULL, 'p'},
						 {"tail", required_argument, NULL, OPT_TAIL},
						 {"timestamps", no_argument, NULL, OPT_TIMESTAMPS},
						 XLP_COMMON_LONG_OPTS};
	const char *ns = NULL, *out;
	bool fol = false, previous = false, has_tail = false;
	struct xlp_crijoin j = {0};
	struct tail t = {0};
	uint64_t n = 0;
	cJSON *req, *ans = NULL, *path;
	FILE *f = NULL;
	int opt;

	SWITCH_FOREACH_OPT(opt, "n:fp", longopts, 1) {
	case 'n': ns = optarg; break;
	case 'f': fol = true; break;
	case 'p': previous = true; break;
	case OPT_TAIL:
		if (xn_parse_u64(optarg, 1000000, &n) < 0)
			xlp_usage_fail("logs", "--tail '%s': must be a number 0..1000000", optarg);
		has_tail = true;
		break;
	case OPT_TIMESTAMPS: j.timestamps = true; break;
	}
	if (argc - optind > 1)
		xlp_usage_fail("logs", "unexpected argument '%s'", argv[optind + 1]);
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "op", "logs");
	cJSON_AddStringToObject(req, "name", argv[optind]);
	if (ns)
		cJSON_AddStringToObject(req, "namespace", ns);
	cJSON_AddBoolToObject(req, "previous", previous);
	if (xlp_call("logs", req, &ans))
		return 1;
	path = cJSON_GetObjectItemCaseSensitive(ans, "path");
	if (!cJSON_IsString(path)) {
		cJSON_Delete(ans);
		return xlp_fail("logs", "xenletd's answer has no path");
	}
	f = fopen(path->valuestring, "re");
	if (f == NULL && !(fol && errno == ENOENT)) {
		int e = errno;

		xlp_fail("logs", "%s: %s%s", path->valuestring, strerror(e),
			 e == EACCES   ? " (pod logs are for root)"
			 : e == ENOENT ? " (the pod has not started yet?)"
				       : "");
		cJSON_Delete(ans);
		return 1;
	}
	if (has_tail) {
		t.n = n ? (size_t)n : 1; /* --tail 0: read through, print nothing */
		t.lines = xn_xcalloc(t.n, sizeof(*t.lines));
	}
	if (f != NULL)
		read_lines(f, &j, &t, fol);
	if (!fol && xlp_crijoin_flush(&j, &out))
		emit(&t, out);
	if (has_tail) {
		if (n == 0)
			t.count = 0;
		tail_print(&t);
	}
	if (fol)
		follow(path->valuestring, f, &j); /* does not return */
	if (f != NULL)
		fclose(f);
	xlp_crijoin_dispose(&j);
	cJSON_Delete(ans);
	return 0;
}
