/* fuzz_crilog.c - the CRI log writer and reader (daemon/crilog.c,
 * daemon/crilog_read.c): what a guest writes on its console, and what
 * `kubectl logs` reads back from a file that may hold anything.
 *
 * Byte 1, bit 0 picks the mode:
 *  - 0, the writer: byte 2 is the size of the console pieces (1..256), the
 *    rest the console's bytes.  They go through xn_crilog_write in pieces,
 *    the log is closed (flushing a partial line) and read back with the
 *    reader; the output must be exactly the console's bytes with a carriage
 *    return before each newline dropped (as the writer promises), whatever
 *    the lines' lengths (P chunks join back into one line).  Bit 1: the
 *    reader also gets a limitBytes from byte 3 and must stay within it.
 *  - 1, the reader: bytes 2-4 are options (tail lines, limitBytes, since,
 *    timestamps), the rest is a log file as found on disk.  The output
 *    stays within limitBytes, the tail offset within the file, and every
 *    line xn_cri_parse accepts has its message inside the line.
 */
#include <event2/buffer.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "xenlet/crilog.h"

static char *dir_of(const char *path)
{
	char *d = strdup(path), *slash = strrchr(d, '/');

	*slash = '\0';
	return d;
}

/* Read path to its end with o; the output (malloc'd, *len). */
static char *read_all(const char *path, const struct xn_log_opts *o, size_t *len)
{
	struct xn_crilog_reader *r = xn_crilog_reader_open(path, o, NULL);
	struct evbuffer *out = evbuffer_new();
	char *s;
	int rc;

	if (r == NULL)
		abort();
	while ((rc = xn_crilog_reader_step(r, out, NULL)) == XN_CRILOG_MORE)
		;
	if (rc != XN_CRILOG_DONE)
		abort();
	xn_crilog_reader_close(r);
	*len = evbuffer_get_length(out);
	s = malloc(*len + 1);
	evbuffer_remove(out, s, *len);
	evbuffer_free(out);
	return s;
}

/* What the reader must give back for console bytes: the writer's rule, a
 * CR right before a newline dropped unless a P chunk already took it. */
static char *expected(const uint8_t *data, size_t size, size_t *len)
{
	char *e = malloc(size + 1);
	size_t n = 0, cur = 0;

	for (size_t i = 0; i < size; i++) {
		if (data[i] == '\n') {
			if (cur > 0 && e[n - 1] == '\r')
				n--;
			e[n++] = '\n';
			cur = 0;
			continue;
		}
		if (cur == XN_CRILOG_LINE_MAX)
			cur = 0;
		e[n++] = (char)data[i];
		cur++;
	}
	*len = n;
	return e;
}

static void writer(uint8_t mode, const uint8_t *data, size_t size)
{
	size_t piece = xn_fuzz_take_byte(&data, &size) + 1,
	       limit_b = xn_fuzz_take_byte(&data, &size);
	char *dir = dir_of(xn_fuzz_file("seed", NULL, 0));
	char *logs = malloc(strlen(dir) + 8), *got, *want;
	struct xn_log_opts o = {.tail_lines = -1, .limit_bytes = -1};
	struct xn_crilog *l;
	size_t glen, wlen;
	char path[512];

	sprintf(logs, "%s/logs", dir);
	l = xn_crilog_open(logs, "ns", "pod", "uid", "c", 0, NULL);
	if (l == NULL)
		abort();
	snprintf(path, sizeof(path), "%s", xn_crilog_path(l));
	for (size_t off = 0; off < size; off += piece)
		xn_crilog_write(l, (const char *)data + off,
				size - off < piece ? size - off : piece);
	xn_crilog_close(l);
	if (mode & 2)
		o.limit_bytes = (int64_t)limit_b * 3;
	got = read_all(path, &o, &glen);
	want = expected(data, size, &wlen);
	if (mode & 2) {
		if ((int64_t)glen > o.limit_bytes)
			abort();
		if (glen > wlen || memcmp(got, want, glen) != 0)
			abort(); /* a prefix of the whole */
	} else if (glen != wlen || memcmp(got, want, wlen) != 0) {
		abort();
	}
	unlink(path);
	free(got);
	free(want);
	free(logs);
	free(dir);
}

static void reader(const uint8_t *data, size_t size)
{
	uint8_t tail = xn_fuzz_take_byte(&data, &size), limit = xn_fuzz_take_byte(&data, &size);
	uint8_t since = xn_fuzz_take_byte(&data, &size);
	struct xn_log_opts o = {
	    .timestamps = since & 1,
	    .tail_lines = tail < 128 ? tail % 8 : -1,
	    .limit_bytes = limit < 128 ? limit * 5 : -1,
	    /* 2016-10-06T00:17:09Z and later, or no bound */
	    .since_ns =
		since & 2 ? 1475712000000000000ull + (uint64_t)(since >> 2) * 1000000000ull : 0,
	};
	const char *path = xn_fuzz_file("0.log", data, size);
	const char *p = (const char *)data, *end = p + size;
	size_t glen;
	char *got = read_all(path, &o, &glen);
	off_t off = -1;
	int fd;

	if (o.limit_bytes >= 0 && (int64_t)glen > o.limit_bytes)
		abort();
	free(got);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || xn_log_tail_offset(fd, tail % 8, &off, NULL) < 0 || off < 0 ||
	    off > (off_t)size)
		abort();
	close(fd);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct xn_cri_line cl;

		if (xn_cri_parse(p, n, &cl) == 0 && (cl.msg < p || cl.msg + cl.len > p + n))
			abort();
		p += n + (nl != NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t mode = xn_fuzz_take_byte(&data, &size);

	if (mode & 1)
		reader(data, size);
	else
		writer(mode, data, size);
	return 0;
}
