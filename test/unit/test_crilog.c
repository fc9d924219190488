/* test_crilog.c - console bytes to CRI log lines: F and P tags, CRLF,
 * lines longer than 16 KiB, the flushed tail, file layout and timestamps. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"
#include "xenlet/crilog.h"
#include "xenlet/util.h"

struct t {
	char dir[64];
};

static int setup(void **state)
{
	struct t *t = xn_xcalloc(1, sizeof(*t));

	snprintf(t->dir, sizeof(t->dir), "/tmp/xn-test-crilog.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;
	cleanup_free char *cmd = xn_xasprintf("rm -rf '%s'", t->dir);

	assert_int_equal(system(cmd), 0);
	free(t);
	return 0;
}

struct line {
	char tag;
	char *text;
	size_t len;
};

/* Parse a CRI log file into lines, checking the fixed part of each. */
static size_t read_lines(const char *path, struct line *out, size_t max)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, n = 0;
	ssize_t len;

	assert_non_null(f);
	while ((len = getline(&buf, &cap, f)) > 0) {
		assert_true(n < max);
		assert_int_equal(buf[len - 1], '\n');
		/* 2016-10-06T00:17:09.669794202Z stdout F text */
		assert_true(len >= 41);
		assert_int_equal(buf[4], '-');
		assert_int_equal(buf[10], 'T');
		assert_int_equal(buf[19], '.');
		assert_int_equal(buf[29], 'Z');
		assert_memory_equal(buf + 30, " stdout ", 8);
		assert_true(buf[38] == 'F' || buf[38] == 'P');
		assert_int_equal(buf[39], ' ');
		out[n].tag = buf[38];
		out[n].len = (size_t)len - 41;
		out[n].text = xn_xmalloc(out[n].len + 1);
		memcpy(out[n].text, buf + 40, out[n].len);
		out[n].text[out[n].len] = '\0';
		n++;
	}
	free(buf);
	fclose(f);
	return n;
}

static void free_lines(struct line *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i].text);
}

static void test_layout_and_lines(void **state)
{
	struct t *t = *state;
	xn_err err = NULL;
	struct xn_crilog *l = xn_crilog_open(t->dir, "ns", "web", "u-1", "main", 0, &err);
	cleanup_free char *want = xn_xasprintf("%s/ns_web_u-1/main/0.log", t->dir);
	cleanup_free char *pod = xn_crilog_pod_dir(t->dir, "ns", "web", "u-1");
	cleanup_free char *want_pod = xn_xasprintf("%s/ns_web_u-1", t->dir);
	struct line lines[8];
	size_t n;

	assert_non_null(l);
	assert_string_equal(xn_crilog_path(l), want);
	assert_string_equal(pod, want_pod);
	/* lines split across writes, CRLF as Xen consoles send it */
	xn_crilog_write(l, "hel", 3);
	xn_crilog_write(l, "lo\r", 3);
	xn_crilog_write(l, "\nwor", 4);
	xn_crilog_write(l, "ld\n\n", 4);
	xn_crilog_write(l, "a\rb\r\n", 5); /* only a CR before the newline goes */
	xn_crilog_close(l);
	n = read_lines(want, lines, 8);
	assert_int_equal(n, 4);
	assert_int_equal(lines[0].tag, 'F');
	assert_string_equal(lines[0].text, "hello");
	assert_string_equal(lines[1].text, "world");
	assert_int_equal(lines[2].tag, 'F');
	assert_string_equal(lines[2].text, "");
	assert_string_equal(lines[3].text, "a\rb");
	free_lines(lines, n);

	/* the next instance writes 1.log; reopening 0.log appends */
	l = xn_crilog_open(t->dir, "ns", "web", "u-1", "main", 1, &err);
	assert_non_null(l);
	assert_non_null(strstr(xn_crilog_path(l), "/main/1.log"));
	xn_crilog_close(l);
	l = xn_crilog_open(t->dir, "ns", "web", "u-1", "main", 0, &err);
	xn_crilog_write(l, "again\n", 6);
	xn_crilog_close(l);
	n = read_lines(want, lines, 8);
	assert_int_equal(n, 5);
	assert_string_equal(lines[4].text, "again");
	free_lines(lines, n);
}

static void test_long_lines(void **state)
{
	struct t *t = *state;
	xn_err err = NULL;
	struct xn_crilog *l = xn_crilog_open(t->dir, "ns", "big", "u-2", "c", 0, &err);
	size_t big = 2 * XN_CRILOG_LINE_MAX + 10;
	char *buf = xn_xmalloc(big + 1);
	struct line lines[8];
	size_t n;

	assert_non_null(l);
	for (size_t i = 0; i < big; i++)
		buf[i] = (char)('a' + i % 26);
	buf[big] = '\n';
	/* 32 KiB + 10 in one line, fed in odd pieces */
	for (size_t off = 0; off <= big; off += 1000)
		xn_crilog_write(l, buf + off, big + 1 - off < 1000 ? big + 1 - off : 1000);
	/* exactly the limit is still one F line */
	memset(buf, 'x', XN_CRILOG_LINE_MAX);
	buf[XN_CRILOG_LINE_MAX] = '\n';
	xn_crilog_write(l, buf, XN_CRILOG_LINE_MAX + 1);
	cleanup_free char *path = xn_xstrdup(xn_crilog_path(l));
	xn_crilog_close(l);

	n = read_lines(path, lines, 8);
	assert_int_equal(n, 4);
	assert_int_equal(lines[0].tag, 'P');
	assert_int_equal(lines[0].len, XN_CRILOG_LINE_MAX);
	assert_int_equal(lines[1].tag, 'P');
	assert_int_equal(lines[1].len, XN_CRILOG_LINE_MAX);
	assert_int_equal(lines[2].tag, 'F');
	assert_int_equal(lines[2].len, 10);
	/* the chunks join to the original line */
	for (size_t i = 0; i < big; i++) {
		const struct line *ln = &lines[i / XN_CRILOG_LINE_MAX];
		assert_int_equal(ln->text[i % XN_CRILOG_LINE_MAX], (char)('a' + i % 26));
	}
	assert_int_equal(lines[3].tag, 'F');
	assert_int_equal(lines[3].len, XN_CRILOG_LINE_MAX);
	free_lines(lines, n);
	free(buf);
}

static void test_flush_tail(void **state)
{
	struct t *t = *state;
	xn_err err = NULL;
	struct xn_crilog *l = xn_crilog_open(t->dir, "ns", "p", "u-3", "c", 0, &err);
	cleanup_free char *path = NULL;
	struct line lines[8];
	size_t n;

	assert_non_null(l);
	path = xn_xstrdup(xn_crilog_path(l));
	xn_crilog_write(l, "loading...", 10);
	xn_crilog_flush(l);
	xn_crilog_flush(l); /* nothing pending: no empty chunk */
	xn_crilog_write(l, " done\nbye", 9);
	xn_crilog_close(l); /* close flushes the tail */
	n = read_lines(path, lines, 8);
	assert_int_equal(n, 3);
	assert_int_equal(lines[0].tag, 'P');
	assert_string_equal(lines[0].text, "loading...");
	assert_int_equal(lines[1].tag, 'F');
	assert_string_equal(lines[1].text, " done");
	assert_int_equal(lines[2].tag, 'P');
	assert_string_equal(lines[2].text, "bye");
	free_lines(lines, n);
}

/* A flooding guest: 300 lines of 1000 bytes with rotation at 32 KiB and
 * 3 files in all -> the current file and 2 rotated ones, none above the
 * limit, and the newest lines kept in order. */
static void test_rotation(void **state)
{
	struct t *t = *state;
	struct xn_crilog *l;
	xn_err err = NULL;
	char line[1001], path[512];
	cleanup_free char *dir = NULL;
	unsigned files = 0, last = 0;
	struct stat sb;
	FILE *f;
	char buf[2048];

	l = xn_crilog_open(t->dir, "ns", "flood", "u1", "c", 0, &err);
	assert_non_null(l);
	xn_crilog_set_rotation(l, 32 << 10, 3);
	for (unsigned i = 0; i < 300; i++) {
		snprintf(line, sizeof(line), "%05u ", i);
		memset(line + 6, 'x', 993);
		line[999] = '\n';
		line[1000] = '\0';
		xn_crilog_write(l, line, 1000);
	}
	xn_crilog_close(l);
	dir = xn_xasprintf("%s/ns_flood_u1/c", t->dir);
	{
		cleanup_free char *cmd = xn_xasprintf("ls '%s' | wc -l > '%s/count'", dir, t->dir);
		assert_int_equal(system(cmd), 0);
		snprintf(path, sizeof(path), "%s/count", t->dir);
		f = fopen(path, "r");
		assert_non_null(f);
		assert_int_equal(fscanf(f, "%u", &files), 1);
		fclose(f);
	}
	assert_int_equal(files, 3);
	snprintf(path, sizeof(path), "%s/0.log", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size <= 32 << 10);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(buf, sizeof(buf), f) != NULL) {
		unsigned n;
		char *p = strstr(buf, " stdout F ");
		assert_non_null(p);
		assert_int_equal(sscanf(p + 10, "%05u", &n), 1);
		if (last)
			assert_int_equal(n, last + 1);
		last = n;
	}
	fclose(f);
	assert_int_equal(last, 299);
}

static void test_open_error(void **state)
{
	struct t *t = *state;
	cleanup_free char *file = xn_xasprintf("%s/plain", t->dir);
	xn_err err = NULL;

	xn_test_write(file, "");
	/* the log dir is a file: the error names the directory */
	assert_null(xn_crilog_open(file, "ns", "n", "u", "c", 0, &err));
	assert_non_null(strstr(xn_error_msg(err), file));
	assert_non_null(strstr(xn_error_msg(err), "log directory"));
	xn_error_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_layout_and_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flush_tail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
