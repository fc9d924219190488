/* test_schema.c - schema.txt, the code's table and the keys the code writes
 * agree; the value syntaxes accept and refuse what they say. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "testutil.h"
#include "xenlet/err.h"
#include "xenlet/hv.h"
#include "xenlet/store.h"
#include "xenlet/store_schema.h"
#include "xenlet/util.h"

#define SCHEMA_TXT XN_SRCDIR "/xenstore-schema/schema.txt"
#define PATHS_MD   XN_SRCDIR "/xenstore-schema/xenstore-paths.md"

/* Split a line into whitespace-separated fields (in place). */
static size_t fields(char *line, char **f, size_t max)
{
	size_t n = 0;

	for (char *tok = strtok(line, " \t\n"); tok != NULL; tok = strtok(NULL, " \t\n"))
		if (n < max + 1)
			f[n++] = tok;
	return n;
}

static unsigned num(const char *s, int lineno)
{
	uint64_t v;

	if (xn_parse_u64(s, UINT32_MAX, &v) < 0)
		fail_msg("schema.txt:%d: MAXLEN \"%s\" is not a number", lineno, s);
	return (unsigned)v;
}

/* Independent of the code: its own reading of the file, compared field by
 * field, in order, with the table the code uses. */
static void schema_txt_equals_code_table(void **state)
{
	FILE *fp = fopen(SCHEMA_TXT, "r");
	char line[512], *f[6];
	size_t nv = 0, nk = 0;
	int lineno = 0;

	if (fp == NULL)
		fail_msg("open %s: %s", SCHEMA_TXT, strerror(errno));
	while (fgets(line, sizeof(line), fp) != NULL) {
		size_t n;

		lineno++;
		if (line[0] == '#')
			continue;
		n = fields(line, f, 5);
		if (n == 0)
			continue;
		if (f[0][0] == '$') {
			if (n != 3)
				fail_msg("schema.txt:%d: want $VAR SYNTAX MAXLEN", lineno);
			if (nv >= xn_schema_nvars)
				fail_msg("schema.txt:%d: %s is not in the code's table", lineno,
					 f[0]);
			const struct xn_schema_var *v = &xn_schema_vars[nv++];
			if (strcmp(v->name, f[0]) || strcmp(v->syntax, f[1]) ||
			    v->max_len != num(f[2], lineno))
				fail_msg("schema.txt:%d: %s %s %s, code has %s %s %u", lineno, f[0],
					 f[1], f[2], v->name, v->syntax, v->max_len);
			continue;
		}
		if (n != 5)
			fail_msg("schema.txt:%d: want PATH SYNTAX MAXLEN PERMS WRITER", lineno);
		if (nk >= xn_schema_nkeys)
			fail_msg("schema.txt:%d: %s is not in the code's table", lineno, f[0]);
		const struct xn_schema_key *k = &xn_schema_keys[nk++];
		if (strcmp(k->path, f[0]) || strcmp(k->syntax, f[1]) ||
		    k->max_len != num(f[2], lineno) || strcmp(k->perms, f[3]) ||
		    strcmp(k->writer, f[4]))
			fail_msg("schema.txt:%d: %s %s %s %s %s, code has %s %s %u %s %s", lineno,
				 f[0], f[1], f[2], f[3], f[4], k->path, k->syntax, k->max_len,
				 k->perms, k->writer);
	}
	fclose(fp);
	if (nv != xn_schema_nvars || nk != xn_schema_nkeys)
		fail_msg("schema.txt has %zu variables and %zu keys, the code %zu and %zu", nv, nk,
			 xn_schema_nvars, xn_schema_nkeys);
}

static void table_is_consistent(void **state)
{
	for (size_t i = 0; i < xn_schema_nvars; i++)
		if (!xn_schema_syntax_known(xn_schema_vars[i].syntax))
			fail_msg("%s: unknown syntax %s", xn_schema_vars[i].name,
				 xn_schema_vars[i].syntax);
	for (size_t i = 0; i < xn_schema_nkeys; i++) {
		const struct xn_schema_key *k = &xn_schema_keys[i];
		bool dir = strcmp(k->syntax, "DIR") == 0;
		bool guest_area = strncmp(k->path, "/local/domain/$DOMID/", 21) == 0;

		if (!xn_schema_syntax_known(k->syntax))
			fail_msg("%s: unknown syntax %s", k->path, k->syntax);
		if (dir != (k->max_len == 0))
			fail_msg("%s: MAXLEN is 0 exactly for DIR nodes", k->path);
		if (strcmp(k->perms, "n") && strcmp(k->perms, "r") && strcmp(k->perms, "w"))
			fail_msg("%s: perms %s not n, r or w", k->path, k->perms);
		if (strcmp(k->writer, "dom0") && strcmp(k->writer, "guest"))
			fail_msg("%s: writer %s not dom0 or guest", k->path, k->writer);
		if (strcmp(k->writer, "guest") == 0 && strcmp(k->perms, "w") != 0)
			fail_msg("%s: a guest-written key must be [w]", k->path);
		if (guest_area != (strcmp(k->perms, "n") != 0))
			fail_msg("%s: only /local/domain/$DOMID keys are guest-visible", k->path);
		/* a path matches its own row and no earlier one */
		if (xn_schema_lookup(k->path) != NULL && xn_schema_lookup(k->path) != k)
			fail_msg("%s: shadowed by %s", k->path, xn_schema_lookup(k->path)->path);
	}
}

/* Every key of schema.txt has its "#### PATH = SYNTAX [PERMS]" heading. */
static void paths_md_documents_every_key(void **state)
{
	char *text = xn_test_slurp(PATHS_MD);

	if (text == NULL)
		fail_msg("open %s: %s", PATHS_MD, strerror(errno));
	assert_true(text[0] != '\0');
	for (size_t i = 0; i < xn_schema_nkeys; i++) {
		const struct xn_schema_key *k = &xn_schema_keys[i];
		cleanup_free char *h =
		    xn_xasprintf("\n#### %s = %s [%s]\n", k->path, k->syntax, k->perms);

		if (strstr(text, h) == NULL)
			fail_msg("xenstore-paths.md lacks the heading \"%.*s\"", (int)strlen(h) - 2,
				 h + 1);
	}
	free(text);
}

struct walk {
	struct xn_store *st;
	size_t checked;
};

static bool ours(const char *path)
{
	unsigned d;
	int n = 0;

	if (strcmp(path, "/xenlet") == 0 || strncmp(path, "/xenlet/", 8) == 0)
		return true;
	if (sscanf(path, "/local/domain/%u/%n", &d, &n) != 1 || n == 0)
		return false;
	return strncmp(path + n, "xenlet", 6) == 0 || strncmp(path + n, "data/xenlet", 11) == 0;
}

/* Every node we wrote matches a schema row, its value that row's syntax,
 * and its permissions the row's PERMS column. */
static void walk(struct walk *w, const char *path)
{
	char **names = NULL, *val = NULL;
	size_t n = 0, np = 0;
	struct xn_store_perm *p = NULL;
	xn_err err = NULL;

	if (ours(path)) {
		const struct xn_schema_key *k = xn_schema_lookup(path);
		unsigned domid = 0;

		if (k == NULL)
			fail_msg("the code wrote %s, which is not in schema.txt", path);
		assert_int_equal(xn_store_get(w->st, path, &val, &err), 0);
		if (xn_schema_check_value(k, val, strlen(val), &err) < 0)
			fail_msg("%s: %s", path, xn_error_msg(err));
		free(val);
		assert_int_equal(xn_store_get_perms(w->st, path, &p, &np, &err), 0);
		sscanf(path, "/local/domain/%u/", &domid);
		if (strcmp(k->perms, "n") == 0)
			assert_true(np == 1 && p[0].domid == 0 && p[0].access == XN_STORE_NONE);
		else if (strcmp(k->perms, "r") == 0)
			assert_true(np == 2 && p[0].domid == 0 && p[0].access == XN_STORE_NONE &&
				    p[1].domid == domid && p[1].access == XN_STORE_READ);
		else
			assert_true(np == 1 && p[0].domid == domid);
		free(p);
		w->checked++;
	}
	if (xn_store_list(w->st, path, &names, &n, &err) < 0)
		fail_msg("%s", xn_error_msg(err));
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *child =
		    xn_xasprintf("%s/%s", strcmp(path, "/") ? path : "", names[i]);
		walk(w, child);
	}
	xn_store_list_free(names);
}

static void every_key_the_code_writes_is_in_the_schema(void **state)
{
	struct event_base *base = event_base_new();
	struct xn_store *st;
	xn_err err = NULL;
	const char *cfg_keys[] = {"ip",
				  "prefix",
				  "netmask",
				  "gateway",
				  "ipv6",
				  "ipv6-prefix",
				  "ipv6-gateway",
				  "mac",
				  "mtu",
				  "dns",
				  "search",
				  "hostname",
				  "pod-name",
				  "pod-namespace",
				  "pod-uid",
				  "env/PATH",
				  "env/KUBERNETES_SERVICE_HOST",
				  NULL};
	const char *cfg_vals[] = {"10.244.0.9",
				  "24",
				  "255.255.255.0",
				  "10.244.0.1",
				  "fd00:10:244::9",
				  "64",
				  "fd00:10:244::1",
				  "00:16:3e:00:00:09",
				  "1450",
				  "10.96.0.10",
				  "default.svc.cluster.local svc.cluster.local cluster.local",
				  "web",
				  "web",
				  "default",
				  "0b1c2d3e-aaaa-bbbb-cccc-000000000001",
				  "/bin",
				  "10.96.0.1",
				  NULL};
	const char *net_keys[] = {"ipv4", "ipv6", "mac", NULL};
	const char *net_vals[] = {"10.244.0.9", "fd00:10:244::9", "00:16:3e:00:00:09", NULL};
	struct xn_pod_record r = {
	    .uid = xn_xstrdup("0b1c2d3e-aaaa-bbbb-cccc-000000000001"),
	    .ns = xn_xstrdup("default"),
	    .name = xn_xstrdup("web"),
	    .domain = xn_xstrdup("default-web"),
	    .domid = 3,
	    .image_digest = xn_xasprintf("sha256:%064x", 0xabc),
	    .ip = xn_xstrdup("10.244.0.9"),
	    .mac = xn_xstrdup("00:16:3e:00:00:09"),
	    .restart_count = 1,
	    .last_exit = 0,
	    .last_reason = xn_xstrdup("poweroff"),
	    .started_at = 1700000100,
	    .finished_at = 1700000050,
	};
	struct walk w;

	unsetenv("XN_STORE_MEM_FILE");
	st = xn_store_open("mem", base, &err);
	assert_non_null(st);
#define OK(call)                                                                                   \
	if ((call) < 0)                                                                            \
	fail_msg("%s: %s", #call, xn_error_msg(err))
	OK(xn_store_node_set(st, "name", "node-1", &err));
	OK(xn_store_node_set(st, "boot-id", "0f4e4a4c-1b2a-4c3d-8e9f-a0b1c2d3e4f5", &err));
	OK(xn_store_node_set(st, "started-at", "1700000000", &err));
	OK(xn_store_node_set(st, "version", XN_VERSION, &err));
	OK(xn_store_pod_put(st, &r, &err));
	OK(xn_store_guest_config_put(st, 3, cfg_keys, cfg_vals, &err));
	OK(xn_store_guest_data_init(st, 3, &err));
	OK(xn_store_record_put(st, "/xenlet/net/pods/0b1c2d3e-aaaa-bbbb-cccc-000000000001",
			       net_keys, net_vals, &err));
#undef OK
	w = (struct walk){st, 0};
	walk(&w, "/");
	/* node dir+4, pods+pod dir+12 fields, cfg dir+env dir+17, data dir,
	 * net+pods+pod dir+3 */
	assert_int_equal(w.checked, 2 + 4 + 2 + 12 + 2 + 17 + 1 + 3 + 3);
	xn_pod_record_dispose(&r);
	xn_store_close(st);
	event_base_free(base);
}

struct syn_case {
	const char *syntax, *val;
	bool ok;
};

static void syntaxes_accept_and_refuse(void **state)
{
	static const struct syn_case cases[] = {
	    {"INTEGER(0..32751)", "0", true},
	    {"INTEGER(0..32751)", "32751", true},
	    {"INTEGER(0..32751)", "32752", false},
	    {"INTEGER(0..32751)", "+1", false},
	    {"INTEGER(0..32751)", " 1", false},
	    {"INTEGER(-2147483648..2147483647)", "-2147483648", true},
	    {"INTEGER(-2147483648..2147483647)", "-0", false},
	    {"DECIMAL", "0.5", true},
	    {"DECIMAL", "10", true},
	    {"DECIMAL", ".5", false},
	    {"DECIMAL", "5.", false},
	    {"DECIMAL", "01", false},
	    {"(\"0\"|\"1\")", "1", true},
	    {"(\"0\"|\"1\")", "01", false},
	    {"IPV4_ADDRESS", "192.168.0.1", true},
	    {"IPV4_ADDRESS", "192.168.0.256", false},
	    {"IPV4_ADDRESS", "192.168.00.1", false},
	    {"IPV4_ADDRESS", "1.2.3.4.5", false},
	    {"IP_LIST", "1.1.1.1,8.8.8.8,9.9.9.9", true},
	    {"IP_LIST", "10.96.0.10,fd00:10:96::a", true},
	    {"IP_LIST", "1.1.1.1,8.8.8.8,9.9.9.9,1.0.0.1", false},
	    {"IP_LIST", "1.1.1.1,", false},
	    {"IP_LIST", "FD00::A", false},
	    {"WORD_LIST", "ndots:5 edns0", true},
	    {"WORD_LIST", "ndots:5  edns0", false},
	    {"WORD_LIST", "ndots:5 ", false},
	    {"WORD_LIST", "a{b}", false},
	    {"IPV6_ADDRESS", "fd00:10:244:1::2", true},
	    {"IPV6_ADDRESS", "::1", true},
	    {"IPV6_ADDRESS", "FD00::2", false},		   /* upper case */
	    {"IPV6_ADDRESS", "fd00:0:0:0:0:0:0:2", false}, /* not compressed */
	    {"IPV6_ADDRESS", "fd00::02", false},
	    {"IPV6_ADDRESS", "10.0.0.1", false},
	    {"DNS_SEARCH", "default.svc.cluster.local svc.cluster.local cluster.local", true},
	    {"DNS_SEARCH", "a  b", false},
	    {"DNS_SEARCH", "a ", false},
	    {"DNS_SEARCH", "Example.com", false},
	    {"MAC_ADDRESS", "00:16:3e:aa:bb:cc", true},
	    {"MAC_ADDRESS", "00:16:3E:AA:BB:CC", false},
	    {"MAC_ADDRESS", "00:16:3e:aa:bb", false},
	    {"UUID", "0f4e4a4c-1b2a-4c3d-8e9f-a0b1c2d3e4f5", true},
	    {"UUID", "0f4e4a4c1b2a4c3d8e9fa0b1c2d3e4f5", false},
	    {"DNS_LABEL", "kube-system", true},
	    {"DNS_LABEL", "-a", false},
	    {"DNS_LABEL", "a.b", false},
	    {"DNS_SUBDOMAIN", "web.v1", true},
	    {"DNS_SUBDOMAIN", "web..v1", false},
	    {"DIGEST", "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	     true},
	    {"DIGEST", "sha256:0123", false},
	    {"SEGMENT", "static-1_x", true},
	    {"SEGMENT", "a.b", false},
	    {"C_IDENT", "_A1", true},
	    {"C_IDENT", "1A", false},
	    {"WORD", "0.1.0+git", true},
	    {"WORD", "a b", false},
	    {"TEXT", "", true},
	    {"TEXT", "\xf0\x9f\x98\x80", true},
	    {"TEXT", "\xed\xa0\x80", false}, /* a UTF-16 surrogate */
	    {"TEXT", "\xf0\x9f\x98", false}, /* truncated */
	    {"DIR", "", true},
	    {"DIR", "x", false},
	};
	xn_err err = NULL;

	for (size_t i = 0; i < XN_ARRAY_SIZE(cases); i++) {
		int r = xn_schema_check_syntax(cases[i].syntax, cases[i].val, strlen(cases[i].val),
					       &err);
		if ((r == 0) != cases[i].ok)
			fail_msg("%s \"%s\": %s", cases[i].syntax, cases[i].val,
				 r == 0 ? "accepted" : xn_error_msg(err));
		xn_error_free(&err);
	}
	assert_int_equal(xn_schema_check_syntax("STRING", "a\0b", 3, &err), -1);
	assert_string_equal(xn_error_msg(err), "contains a NUL byte");
	xn_error_free(&err);
	assert_false(xn_schema_syntax_known("INTEGER(5..1)"));
	assert_false(xn_schema_syntax_known("NUMBER"));
	/* path variables are checked too */
	assert_non_null(xn_schema_lookup("/local/domain/32751/xenlet/ip"));
	assert_null(xn_schema_lookup("/local/domain/32752/xenlet/ip"));
	assert_null(xn_schema_lookup("/local/domain/01/xenlet/ip"));
	assert_null(xn_schema_lookup("/xenlet/pods//name"));
}

/* Values are len bytes, not C strings (the contract in store_schema.h): a
 * check reads none past them.  Each value ends at a page boundary with an
 * inaccessible page behind it, so a read past the end crashes the test
 * even without ASan.  "1.1.1." read one byte past the end (ok_integer on an
 * empty last part; found by test/fuzz/fuzz_store_schema). */
static void values_read_within_their_length(void **state)
{
	static const struct syn_case cases[] = {
	    {"IPV4_ADDRESS", "1.1.1.", false},
	    {"IPV4_ADDRESS", "1.", false},
	    {"IPV4_LIST", "1.1.1.1,", false},
	    {"INTEGER(0..255)", "", false},
	    {"DECIMAL", "-", false},
	    {"DECIMAL", "1.", false},
	    {"MAC_ADDRESS", "00:", false},
	    {"UUID", "0f4e4a4c-", false},
	    {"TEXT", "\xc3", false},
	    {"(\"0\"|\"1\")", "", false},
	    {"C_IDENT", "", false},
	    {"DNS_SUBDOMAIN", "a.", false},
	    {"IPV6_ADDRESS", "fd00::", true},
	    {"DNS_SEARCH", "a ", false},
	};
	long page = sysconf(_SC_PAGESIZE);
	char *map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(map != MAP_FAILED);
	assert_int_equal(mprotect(map + page, (size_t)page, PROT_NONE), 0);
	for (size_t i = 0; i < XN_ARRAY_SIZE(cases); i++) {
		size_t len = strlen(cases[i].val);
		char *v = map + page - len;
		int r;

		memcpy(v, cases[i].val, len);
		r = xn_schema_check_syntax(cases[i].syntax, v, len, NULL);
		if ((r == 0) != cases[i].ok)
			fail_msg("%s \"%s\": %s", cases[i].syntax, cases[i].val,
				 r == 0 ? "accepted" : "refused");
	}
	munmap(map, (size_t)page * 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(schema_txt_equals_code_table),
	    cmocka_unit_test(table_is_consistent),
	    cmocka_unit_test(paths_md_documents_every_key),
	    cmocka_unit_test(every_key_the_code_writes_is_in_the_schema),
	    cmocka_unit_test(syntaxes_accept_and_refuse),
	    cmocka_unit_test(values_read_within_their_length),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
