/* test_crilog.c - the CRI log module: console bytes to CRI log lines (F and
 * P tags, CRLF, lines longer than 16 KiB, the flushed tail, timestamps), the
 * layout, the reader (joined lines, tail, since, limit, follow across
 * rotations), retention (prune, remove with planted symlinks) and space. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>

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

/* ---- layout ---- */

static void test_layout_names(void **state)
{
	cleanup_free char *c = xn_crilog_container_dir("/l", "ns", "web", "u-1", "main");
	cleanup_free char *i = xn_crilog_instance_path("/l", "ns", "web", "u-1", "main", 7);
	unsigned n = 99;
	bool rot = true;

	assert_string_equal(c, "/l/ns_web_u-1/main");
	assert_string_equal(i, "/l/ns_web_u-1/main/7.log");
	assert_true(xn_crilog_file_instance("0.log", &n, &rot));
	assert_int_equal(n, 0);
	assert_false(rot);
	assert_true(xn_crilog_file_instance("12.log.20260101-000000", &n, &rot));
	assert_int_equal(n, 12);
	assert_true(rot);
	assert_true(xn_crilog_file_instance("3.log.20260101-000000-001", &n, &rot));
	assert_int_equal(n, 3);
	assert_true(rot);
	/* not ours: left alone by pruning */
	static const char *const others[] = {"",       ".log",	    "x.log",	      "1.logx",
					     "01.log", "1.txt",	    "1.log~",	      "-1.log",
					     "1 .log", "notes.txt", "99999999999.log"};
	for (size_t k = 0; k < sizeof(others) / sizeof(others[0]); k++)
		assert_false(xn_crilog_file_instance(others[k], &n, &rot));
}

/* ---- helpers for files and trees ---- */

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void touch(const char *dir, const char *name, const char *text)
{
	cleanup_free char *p = xn_xasprintf("%s/%s", dir, name);

	xn_test_write(p, text);
}

static void mkdirs(const char *path)
{
	assert_int_equal(xn_mkdir_p(path, 0755), 0);
}

/* ---- retention ---- */

static void test_prune_keeps_current_and_previous(void **state)
{
	struct t *t = *state;
	cleanup_free char *cdir = xn_crilog_container_dir(t->dir, "ns", "p", "u", "c");
	cleanup_free char *outside = xn_xasprintf("%s/outside", t->dir);
	cleanup_free char *link = xn_xasprintf("%s/1.log", cdir);
	cleanup_free char *target = xn_xasprintf("%s/keep-me", outside);
	xn_err err = NULL;
	char name[64];

	mkdirs(cdir);
	mkdirs(outside);
	touch(outside, "keep-me", "precious");
	for (unsigned i = 0; i <= 5; i++) {
		if (i == 1)
			continue;
		snprintf(name, sizeof(name), "%u.log", i);
		touch(cdir, name, "x\n");
		snprintf(name, sizeof(name), "%u.log.20260101-00000%u", i, i);
		touch(cdir, name, "y\n");
	}
	/* instance 1's file is a symlink planted to a file outside: the link goes */
	assert_int_equal(symlink(target, link), 0);
	touch(cdir, "notes.txt", "not ours");

	assert_int_equal(xn_crilog_prune(t->dir, "ns", "p", "u", "c", 5, &err), 0);
	for (unsigned i = 0; i <= 5; i++) {
		cleanup_free char *f = xn_xasprintf("%s/%u.log", cdir, i);
		cleanup_free char *r = xn_xasprintf("%s/%u.log.20260101-00000%u", cdir, i, i);

		assert_int_equal(exists(f), i >= 4);
		assert_int_equal(exists(r), i >= 4);
	}
	assert_true(exists(target));
	{
		cleanup_free char *keep = xn_test_slurp(target);
		assert_string_equal(keep, "precious");
	}
	{
		cleanup_free char *notes = xn_xasprintf("%s/notes.txt", cdir);
		assert_true(exists(notes));
	}
	/* instance 0 has no previous one */
	touch(cdir, "0.log", "x\n");
	assert_int_equal(xn_crilog_prune(t->dir, "ns", "p", "u", "c", 0, &err), 0);
	{
		cleanup_free char *f0 = xn_xasprintf("%s/0.log", cdir);
		cleanup_free char *f4 = xn_xasprintf("%s/4.log", cdir);
		assert_true(exists(f0));
		assert_false(exists(f4));
	}
	/* nothing there yet: not an error */
	assert_int_equal(xn_crilog_prune(t->dir, "ns", "new", "u2", "c", 3, &err), 0);
	assert_null(err);
}

/* The container directory is a symlink to a directory outside: prune
 * refuses to go through it and the files there stay. */
static void test_prune_never_follows_a_symlinked_dir(void **state)
{
	struct t *t = *state;
	cleanup_free char *pdir = xn_crilog_pod_dir(t->dir, "ns", "p", "u");
	cleanup_free char *cdir = xn_xasprintf("%s/c", pdir);
	cleanup_free char *outside = xn_xasprintf("%s/outside", t->dir);
	cleanup_free char *victim = xn_xasprintf("%s/0.log", outside);
	xn_err err = NULL;

	mkdirs(pdir);
	mkdirs(outside);
	touch(outside, "0.log", "not yours");
	assert_int_equal(symlink(outside, cdir), 0);
	assert_int_equal(xn_crilog_prune(t->dir, "ns", "p", "u", "c", 7, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "log directory"));
	xn_error_free(&err);
	assert_true(exists(victim));
	/* names that would leave log_dir are refused */
	assert_int_equal(xn_crilog_prune(t->dir, "ns", "p", "u", "..", 7, &err), -1);
	assert_int_equal(err->status, EINVAL);
	xn_error_free(&err);
	assert_int_equal(xn_crilog_prune(t->dir, "ns/..", "p", "u", "c", 7, &err), -1);
	xn_error_free(&err);
}

static void test_remove_pod(void **state)
{
	struct t *t = *state;
	cleanup_free char *pdir = xn_crilog_pod_dir(t->dir, "ns", "p", "u");
	cleanup_free char *cdir = xn_xasprintf("%s/main", pdir);
	cleanup_free char *deep = xn_xasprintf("%s/odd/deeper", cdir);
	cleanup_free char *outside = xn_xasprintf("%s/outside", t->dir);
	cleanup_free char *out_file = xn_xasprintf("%s/data", outside);
	cleanup_free char *l1 = xn_xasprintf("%s/escape", pdir);
	cleanup_free char *l2 = xn_xasprintf("%s/1.log", cdir);
	cleanup_free char *other = xn_crilog_pod_dir(t->dir, "ns", "other", "u2");
	xn_err err = NULL;

	mkdirs(deep);
	mkdirs(outside);
	mkdirs(other);
	touch(outside, "data", "precious");
	touch(cdir, "0.log", "x\n");
	touch(cdir, "0.log.20260101-000000", "x\n");
	touch(deep, "f", "x");
	/* planted: a link to a directory outside and one to a file outside */
	assert_int_equal(symlink(outside, l1), 0);
	assert_int_equal(symlink(out_file, l2), 0);

	assert_int_equal(xn_crilog_remove_pod(t->dir, "ns", "p", "u", &err), 0);
	assert_null(err);
	assert_false(exists(pdir));
	assert_true(exists(out_file));
	{
		cleanup_free char *keep = xn_test_slurp(out_file);
		assert_string_equal(keep, "precious");
	}
	assert_true(exists(other)); /* another pod's logs stay */
	/* again: nothing there, not an error */
	assert_int_equal(xn_crilog_remove_pod(t->dir, "ns", "p", "u", &err), 0);

	/* the pod directory itself is a symlink out: the link goes, not the target */
	assert_int_equal(symlink(outside, pdir), 0);
	assert_int_equal(xn_crilog_remove_pod(t->dir, "ns", "p", "u", &err), 0);
	assert_false(exists(pdir));
	assert_true(exists(out_file));

	assert_int_equal(xn_crilog_remove_pod(t->dir, "ns", "a/b", "u", &err), -1);
	assert_int_equal(err->status, EINVAL);
	xn_error_free(&err);
}

static bool known_uid(const char *uid, void *arg)
{
	return strcmp(uid, (const char *)arg) == 0;
}

/* After a restart: directories of pods the runtime does not know go, the
 * known one and entries that are not pod directories stay. */
static void test_sweep(void **state)
{
	struct t *t = *state;
	cleanup_free char *keep = xn_crilog_container_dir(t->dir, "ns", "live", "u-live", "c");
	cleanup_free char *gone1 = xn_crilog_container_dir(t->dir, "ns", "old", "u-old", "c");
	cleanup_free char *gone2 = xn_crilog_pod_dir(t->dir, "other", "x", "u_with_underscores");
	cleanup_free char *plain = xn_xasprintf("%s/README", t->dir);
	cleanup_free char *odd = xn_xasprintf("%s/no-underscore", t->dir);
	cleanup_free char *outside = xn_xasprintf("%s/outside", t->dir); /* no "_": stays */
	cleanup_free char *link = xn_crilog_pod_dir(t->dir, "ns", "link", "u-link");
	cleanup_free char *out_file = xn_xasprintf("%s/data", outside);
	xn_err err = NULL;

	mkdirs(keep);
	mkdirs(gone1);
	mkdirs(gone2);
	mkdirs(odd);
	mkdirs(outside);
	touch(outside, "data", "precious");
	touch(gone1, "0.log", "x\n");
	xn_test_write(plain, "not a pod");
	assert_int_equal(symlink(outside, link), 0);

	assert_int_equal(xn_crilog_sweep(t->dir, known_uid, "u-live", &err), 3);
	assert_null(err);
	assert_true(exists(keep));
	assert_false(exists(gone1));
	assert_false(exists(gone2));
	assert_false(exists(link));
	assert_true(exists(out_file));
	assert_true(exists(plain));
	assert_true(exists(odd));
	assert_int_equal(xn_crilog_sweep("/no/such/dir", known_uid, "u", &err), 0);
}

/* The writer never appends through a symlink planted as an instance's file. */
static void test_open_refuses_a_symlink(void **state)
{
	struct t *t = *state;
	cleanup_free char *cdir = xn_crilog_container_dir(t->dir, "ns", "p", "u", "c");
	cleanup_free char *target = xn_xasprintf("%s/target", t->dir);
	cleanup_free char *link = xn_xasprintf("%s/0.log", cdir);
	xn_err err = NULL;

	mkdirs(cdir);
	xn_test_write(target, "precious");
	assert_int_equal(symlink(target, link), 0);
	assert_null(xn_crilog_open(t->dir, "ns", "p", "u", "c", 0, &err));
	assert_int_equal(err->status, ELOOP);
	assert_non_null(strstr(xn_error_msg(err), link));
	xn_error_free(&err);
	{
		cleanup_free char *keep = xn_test_slurp(target);
		assert_string_equal(keep, "precious");
	}
}

/* usedBytes is what the writer wrote; inodes count the directory and files */
static void test_space(void **state)
{
	struct t *t = *state;
	struct xn_crilog_space s, fs;
	struct statvfs v;
	xn_err err = NULL;
	uint64_t want = 0;
	struct xn_crilog *l;
	char line[200];

	assert_int_equal(xn_crilog_container_space(t->dir, "ns", "p", "u", "c", &s, &err), 0);
	assert_int_equal(s.used_bytes, 0);
	assert_int_equal(s.inodes_used, 0);
	for (unsigned inst = 0; inst < 2; inst++) {
		l = xn_crilog_open(t->dir, "ns", "p", "u", "c", inst, &err);
		assert_non_null(l);
		for (unsigned i = 0; i < 10 + inst; i++) {
			int n = snprintf(line, sizeof(line), "line %u of instance %u\n", i, inst);

			xn_crilog_write(l, line, (size_t)n);
			/* "<30-byte timestamp> stdout F " + text without its newline + "\n" */
			want += 30 + 10 + (uint64_t)(n - 1) + 1;
		}
		xn_crilog_close(l);
	}
	assert_int_equal(xn_crilog_container_space(t->dir, "ns", "p", "u", "c", &s, &err), 0);
	assert_int_equal(s.used_bytes, want);
	assert_int_equal(s.inodes_used, 3); /* the directory, 0.log, 1.log */
	assert_int_equal(xn_crilog_fs_space(t->dir, &fs, &err), 0);
	assert_int_equal(statvfs(t->dir, &v), 0);
	assert_int_equal(fs.capacity_bytes, (uint64_t)v.f_blocks * v.f_frsize);
	assert_int_equal(fs.inodes, v.f_files);
	assert_true(fs.available_bytes <= fs.capacity_bytes);
	assert_true(fs.used_bytes <= fs.capacity_bytes);
	assert_int_equal(s.capacity_bytes, fs.capacity_bytes);
	assert_int_equal(s.inodes, fs.inodes);
	assert_int_equal(xn_crilog_fs_space("/no/such/dir", &fs, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "/no/such/dir"));
	xn_error_free(&err);
}

/* ---- reader ---- */

static const char sample[] = "2023-11-14T22:13:10.1Z stdout F one\n"
			     "2023-11-14T22:13:11.1Z stdout P two-\n"
			     "2023-11-14T22:13:12.1Z stdout P and-\n"
			     "2023-11-14T22:13:13.1Z stdout F three\n"
			     "not a cri line\n"
			     "2023-11-14T22:13:14.1Z stderr F four\n";

/* Everything the reader gives until DONE (or IDLE when following). */
static char *drain(struct xn_crilog_reader *r, int *last)
{
	struct evbuffer *out = evbuffer_new();
	xn_err err = NULL;
	size_t n;
	char *s;
	int rc;

	do
		rc = xn_crilog_reader_step(r, out, &err);
	while (rc == XN_CRILOG_MORE);
	assert_true(rc >= 0);
	if (last)
		*last = rc;
	n = evbuffer_get_length(out);
	s = xn_xcalloc(1, n + 1);
	evbuffer_remove(out, s, n);
	evbuffer_free(out);
	return s;
}

static char *read_with(const char *path, struct xn_log_opts o)
{
	xn_err err = NULL;
	struct xn_crilog_reader *r = xn_crilog_reader_open(path, &o, &err);
	char *s;

	assert_non_null(r);
	s = drain(r, NULL);
	xn_crilog_reader_close(r);
	return s;
}

/* Reader options: tail -1 and limit -1 mean none. */
static struct xn_log_opts opts(int64_t tail, int64_t limit, uint64_t since, bool ts, bool follow)
{
	return (struct xn_log_opts){.tail_lines = tail,
				    .limit_bytes = limit,
				    .since_ns = since,
				    .timestamps = ts,
				    .follow = follow};
}

static void test_reader_options(void **state)
{
	struct t *t = *state;
	cleanup_free char *path = xn_xasprintf("%s/0.log", t->dir);
	struct xn_log_opts follow = opts(-1, -1, 0, false, true);
	xn_err err = NULL;
	uint64_t since;
	char *s;

	xn_test_write(path, sample);
	s = read_with(path, opts(-1, -1, 0, false, false));
	assert_string_equal(s, "one\ntwo-and-three\nfour\n");
	free(s);
	s = read_with(path, opts(-1, -1, 0, true, false));
	assert_string_equal(s, "2023-11-14T22:13:10.1Z one\n"
			       "2023-11-14T22:13:11.1Z two-and-three\n"
			       "2023-11-14T22:13:14.1Z four\n");
	free(s);
	/* tail counts the file's lines, as the kubelet does */
	s = read_with(path, opts(2, -1, 0, false, false));
	assert_string_equal(s, "four\n");
	free(s);
	s = read_with(path, opts(0, -1, 0, false, false));
	assert_string_equal(s, "");
	free(s);
	assert_int_equal(xn_rfc3339_parse("2023-11-14T22:13:13Z", 20, &since), 0);
	s = read_with(path, opts(-1, -1, since, false, false));
	assert_string_equal(s, "three\nfour\n");
	free(s);
	s = read_with(path, opts(-1, 6, 0, false, false));
	assert_string_equal(s, "one\ntw");
	free(s);
	assert_null(xn_crilog_reader_open("/no/such/0.log", &follow, &err));
	assert_int_equal(err->status, ENOENT);
	assert_non_null(strstr(xn_error_msg(err), "/no/such/0.log"));
	xn_error_free(&err);
}

/* Without follow the answer is the file as it was at open; a line left
 * unfinished shows as mid-line. */
static void test_reader_snapshot(void **state)
{
	struct t *t = *state;
	cleanup_free char *path = xn_xasprintf("%s/0.log", t->dir);
	struct xn_log_opts tail1 = opts(1, -1, 0, false, false);
	struct xn_crilog_reader *r;
	xn_err err = NULL;
	char *s;
	int fd, last;

	xn_test_write(path, "2023-11-14T22:13:10Z stdout F a\n2023-11-14T22:13:10Z stdout P b\n");
	r = xn_crilog_reader_open(path, &tail1, &err);
	assert_non_null(r);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "2023-11-14T22:13:11Z stdout F c\n", 32), 32);
	close(fd);
	s = drain(r, &last);
	assert_int_equal(last, XN_CRILOG_DONE);
	assert_string_equal(s, "b");
	assert_true(xn_crilog_reader_mid_line(r));
	free(s);
	xn_crilog_reader_close(r);
}

/* Following a log while the writer rotates it: every line once, in order. */
static void test_reader_follows_rotations(void **state)
{
	struct t *t = *state;
	struct xn_crilog *l = xn_crilog_open(t->dir, "ns", "f", "u", "c", 0, NULL);
	struct xn_log_opts follow = opts(-1, -1, 0, false, true);
	struct xn_crilog_reader *r;
	struct evbuffer *all = evbuffer_new();
	xn_err err = NULL;
	char line[128], *s, *p;
	unsigned next = 0;
	int last;

	assert_non_null(l);
	xn_crilog_set_rotation(l, 4096, 2);
	xn_crilog_write(l, "first\n", 6);
	r = xn_crilog_reader_open(xn_crilog_path(l), &follow, &err);
	assert_non_null(r);
	for (unsigned round = 0; round < 20; round++) {
		/* about 1.5 KiB per round: a rotation every few rounds, and the
		 * reader only looks in between */
		for (unsigned i = 0; i < 20; i++) {
			int n =
			    snprintf(line, sizeof(line), "line %04u %040u\n", round * 20 + i, 0);
			xn_crilog_write(l, line, (size_t)n);
		}
		s = drain(r, &last);
		assert_int_equal(last, XN_CRILOG_IDLE);
		evbuffer_add(all, s, strlen(s));
		free(s);
	}
	xn_crilog_close(l);
	evbuffer_add(all, "", 1);
	s = (char *)evbuffer_pullup(all, -1);
	assert_true(strncmp(s, "first\n", 6) == 0);
	for (p = s + 6; *p; p = strchr(p, '\n') + 1) {
		unsigned n;

		assert_int_equal(sscanf(p, "line %04u", &n), 1);
		assert_int_equal(n, next);
		next++;
	}
	assert_int_equal(next, 400);
	xn_crilog_reader_close(r);
	evbuffer_free(all);
}

/* A writer in another process (xl-pod reads while xenletd writes) may add
 * to the old file after the reader saw its end and before it renames it:
 * those lines come first; and a file truncated in place is read again from
 * its start. */
static void test_reader_rotation_race_and_truncation(void **state)
{
	struct t *t = *state;
	cleanup_free char *path = xn_xasprintf("%s/0.log", t->dir);
	cleanup_free char *rotated = xn_xasprintf("%s/0.log.20260101-000000", t->dir);
	struct xn_log_opts follow = opts(-1, -1, 0, false, true);
	struct xn_crilog_reader *r;
	xn_err err = NULL;
	char *s;
	int fd, last;

	xn_test_write(path, "2023-11-14T22:13:10Z stdout F a\n");
	r = xn_crilog_reader_open(path, &follow, &err);
	assert_non_null(r);
	s = drain(r, &last);
	assert_string_equal(s, "a\n");
	assert_int_equal(last, XN_CRILOG_IDLE);
	free(s);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "2023-11-14T22:13:11Z stdout F b\n", 32), 32);
	close(fd);
	assert_int_equal(rename(path, rotated), 0);
	xn_test_write(path, "2023-11-14T22:13:12Z stdout F c\n");
	s = drain(r, &last);
	assert_string_equal(s, "b\nc\n");
	free(s);
	/* the window inside one step: the reader saw the end of the old file,
	 * then the writer added to it and renamed it: no switch yet */
	{
		int rfd = open(path, O_RDONLY);
		off_t off = 32;

		fd = open(path, O_WRONLY | O_APPEND);
		assert_int_equal(write(fd, "2023-11-14T22:13:12Z stdout F x\n", 32), 32);
		close(fd);
		assert_int_equal(rename(path, rotated), 0);
		xn_test_write(path, "2023-11-14T22:13:12Z stdout F y\n");
		assert_false(xn_crilog_reopen_rotated(&rfd, path, &off));
		off = 64; /* once it is read to its end */
		assert_true(xn_crilog_reopen_rotated(&rfd, path, &off));
		assert_int_equal(off, 0);
		close(rfd);
		s = drain(r, &last); /* the reader's own file: x first, then y */
		assert_string_equal(s, "x\ny\n");
		free(s);
	}
	assert_int_equal(truncate(path, 0), 0);
	s = drain(r, &last);
	assert_string_equal(s, "");
	free(s);
	xn_test_write(path, "2023-11-14T22:13:14Z stdout F e\n");
	s = drain(r, &last);
	assert_string_equal(s, "e\n");
	free(s);
	xn_crilog_reader_close(r);
}

static void test_pick_instance(void **state)
{
	unsigned out = 99;
	struct xn_crilog_pick p;

	/* being created, nothing written yet */
	p = (struct xn_crilog_pick){.waiting = true};
	assert_int_equal(xn_crilog_pick_instance(&p, false, &out), -1);
	/* the first instance runs: no previous */
	p = (struct xn_crilog_pick){.running = true, .newest_exists = true};
	assert_int_equal(xn_crilog_pick_instance(&p, false, &out), 0);
	assert_int_equal(out, 0);
	assert_int_equal(xn_crilog_pick_instance(&p, true, &out), -2);
	/* instance 3 runs: previous is 2 */
	p = (struct xn_crilog_pick){
	    .restart_count = 3, .running = true, .newest_exists = true, .has_last = true};
	assert_int_equal(xn_crilog_pick_instance(&p, false, &out), 0);
	assert_int_equal(out, 3);
	assert_int_equal(xn_crilog_pick_instance(&p, true, &out), 0);
	assert_int_equal(out, 2);
	/* back-off after instance 3 ended: both the log and the previous one are 3 */
	p = (struct xn_crilog_pick){
	    .restart_count = 3, .waiting = true, .newest_exists = true, .has_last = true};
	assert_int_equal(xn_crilog_pick_instance(&p, false, &out), 0);
	assert_int_equal(out, 3);
	assert_int_equal(xn_crilog_pick_instance(&p, true, &out), 0);
	assert_int_equal(out, 3);
	/* instance 4 being made, its file not there yet: the last one is 3 */
	p = (struct xn_crilog_pick){.restart_count = 4, .waiting = true, .has_last = true};
	assert_int_equal(xn_crilog_pick_instance(&p, false, &out), 0);
	assert_int_equal(out, 3);
	/* terminated for good after instance 2 */
	p = (struct xn_crilog_pick){.restart_count = 2, .newest_exists = true, .has_last = true};
	assert_int_equal(xn_crilog_pick_instance(&p, false, &out), 0);
	assert_int_equal(out, 2);
	assert_int_equal(xn_crilog_pick_instance(&p, true, &out), 0);
	assert_int_equal(out, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_layout_and_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flush_tail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
	    cmocka_unit_test(test_layout_names),
	    cmocka_unit_test_setup_teardown(test_prune_keeps_current_and_previous, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_prune_never_follows_a_symlinked_dir, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_remove_pod, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_refuses_a_symlink, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_space, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reader_options, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reader_snapshot, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reader_follows_rotations, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reader_rotation_race_and_truncation, setup,
					    teardown),
	    cmocka_unit_test(test_pick_instance),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
