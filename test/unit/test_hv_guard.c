/* test_hv_guard.c - every domain's kernel and ramdisk from the image roots,
 * pinned by descriptor from the check to the end of the build (issue 9,
 * finding 2): a recording backend shows what a backend is handed and when
 * the descriptors close; hv_sim shows the real path through a backend. */
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
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "testutil.h"
#include "xenlet/hv.h"
#include "xenlet/hv_guard.h"
#include "xenlet/image_path.h"
#include "xenlet/util.h"

struct t {
	char dir[64];
	char root[128];
	/* the recording backend */
	struct xn_hv fake;
	char kernel_seen[64], ramdisk_seen[64];
	char kernel_text[64];
	int fake_fail_now; /* create returns -1 naming the kernel it got */
	xn_hv_create_cb fake_cb;
	void *fake_arg;
	/* what the owner's callback got */
	int ncreated, create_rc;
	struct xn_hv *create_hv;
	char create_err[512];
};

static struct t *cur;

static int fake_create(struct xn_hv *hv, const struct xn_domain_config *cfg, xn_hv_create_cb cb,
		       void *arg, xn_err *err)
{
	char *text;

	snprintf(cur->kernel_seen, sizeof(cur->kernel_seen), "%s", cfg->kernel);
	snprintf(cur->ramdisk_seen, sizeof(cur->ramdisk_seen), "%s",
		 cfg->ramdisk ? cfg->ramdisk : "");
	if (cur->fake_fail_now)
		return xn_error(err, EINVAL, "%s:1: unknown directive", cfg->kernel);
	text = xn_test_slurp(cfg->kernel);
	snprintf(cur->kernel_text, sizeof(cur->kernel_text), "%s", text ? text : "(unreadable)");
	free(text);
	cur->fake_cb = cb; /* completes later, as a real build does */
	cur->fake_arg = arg;
	return 0;
}

static const struct xn_hv_ops fake_ops = {.name = "fake", .create = fake_create};

static void on_create(struct xn_hv *hv, int rc, uint32_t domid, xn_err err, void *arg)
{
	struct t *t = arg;

	t->ncreated++;
	t->create_rc = rc;
	t->create_hv = hv;
	snprintf(t->create_err, sizeof(t->create_err), "%s", rc < 0 ? xn_error_msg(err) : "");
}

static char *at(const struct t *t, const char *rel)
{
	return xn_xasprintf("%s/%s", t->dir, rel);
}

static int setup(void **state)
{
	struct t *t = xn_xcalloc(1, sizeof(*t));
	const char *root = t->root;
	cleanup_free char *k = NULL, *rd = NULL, *secret = NULL, *evil = NULL;

	snprintf(t->dir, sizeof(t->dir), "/tmp/xn-test-guard.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->root, sizeof(t->root), "%s/images", t->dir);
	assert_int_equal(mkdir(t->root, 0755), 0);
	k = at(t, "images/k.sim");
	rd = at(t, "images/initrd");
	secret = at(t, "secret.txt");
	evil = at(t, "images/evil.sim");
	xn_test_write(k, "print checked\n");
	xn_test_write(rd, "ramdisk\n");
	xn_test_write(secret, "TOPSECRET-0123456789\n");
	xn_test_write(evil, "TOPSECRET-not-a-directive\n");
	xn_image_roots_set(&root, 1);
	t->fake.ops = &fake_ops;
	cur = t;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;
	cleanup_free char *cmd = xn_xasprintf("rm -rf '%s'", t->dir);

	assert_int_equal(system(cmd), 0);
	xn_image_roots_set(NULL, 0);
	free(t);
	return 0;
}

static bool fd_open(const char *fdpath)
{
	int fd = atoi(fdpath + strlen("/proc/self/fd/"));

	return fcntl(fd, F_GETFD) >= 0;
}

/* The backend gets descriptor names; the file renamed over the checked one
 * while the build runs is not what it reads; the descriptors close when the
 * create completes, and the owner's callback gets the guard. */
static void backend_reads_the_checked_file(void **state)
{
	struct t *t = *state;
	struct xn_hv *g = xn_hv_guard_new(&t->fake);
	cleanup_free char *k = at(t, "images/k.sim"), *rd = at(t, "images/initrd");
	cleanup_free char *other = at(t, "images/other"), *text = NULL;
	struct xn_domain_config cfg = {
	    .name = "d", .kernel = k, .ramdisk = rd, .memory_kb = 8192, .vcpus = 1};
	xn_err err = NULL;

	assert_string_equal(g->ops->name, "fake");
	assert_null(g->ops->destroy); /* absent in the backend, absent here */
	if (g->ops->create(g, &cfg, on_create, t, &err) < 0)
		fail_msg("%s", xn_error_msg(err));
	assert_true(strncmp(t->kernel_seen, "/proc/self/fd/", 14) == 0);
	assert_true(strncmp(t->ramdisk_seen, "/proc/self/fd/", 14) == 0);
	assert_string_equal(t->kernel_text, "print checked\n");
	/* the path changes during the build: the descriptor does not */
	xn_test_write(other, "print swapped\n");
	assert_int_equal(rename(other, k), 0);
	text = xn_test_slurp(t->kernel_seen);
	assert_string_equal(text, "print checked\n");
	assert_true(fd_open(t->kernel_seen) && fd_open(t->ramdisk_seen));
	t->fake_cb(&t->fake, 0, 7, NULL, t->fake_arg);
	assert_int_equal(t->ncreated, 1);
	assert_int_equal(t->create_rc, 0);
	assert_ptr_equal(t->create_hv, g);
	assert_false(fd_open(t->kernel_seen) || fd_open(t->ramdisk_seen));
	xn_hv_guard_free(g);
}

/* A kernel or ramdisk outside the roots never reaches the backend, and the
 * message is the same whether the file exists or not. */
static void outside_the_roots_never_reaches_the_backend(void **state)
{
	struct t *t = *state;
	struct xn_hv *g = xn_hv_guard_new(&t->fake);
	cleanup_free char *k = at(t, "images/k.sim"), *secret = at(t, "secret.txt");
	cleanup_free char *nothing = at(t, "nothing.txt"), *link = at(t, "images/link");
	struct xn_domain_config cfg = {
	    .name = "d", .kernel = secret, .memory_kb = 8192, .vcpus = 1};
	xn_err err = NULL;
	cleanup_free char *m1 = NULL, *m2 = NULL;

	assert_int_equal(g->ops->create(g, &cfg, on_create, t, &err), -1);
	m1 = xn_xstrdup(xn_error_msg(err));
	cfg.kernel = nothing;
	assert_int_equal(g->ops->create(g, &cfg, on_create, t, &err), -1);
	m2 = xn_xstrdup(xn_error_msg(err));
	assert_string_equal(t->kernel_seen, "");
	assert_non_null(strstr(m1, "not a regular file under the node's image roots"));
	assert_null(strstr(m1, "TOPSECRET"));
	/* the same text but for the path named */
	assert_string_equal(m1 + strlen("kernel \"") + strlen(secret),
			    m2 + strlen("kernel \"") + strlen(nothing));
	/* a ramdisk likewise, and a symlink in a root that leads out of it */
	cfg.kernel = k;
	cfg.ramdisk = secret;
	assert_int_equal(g->ops->create(g, &cfg, on_create, t, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "ramdisk \""));
	assert_int_equal(symlink(secret, link), 0);
	cfg.ramdisk = NULL;
	cfg.kernel = link;
	assert_int_equal(g->ops->create(g, &cfg, on_create, t, &err), -1);
	assert_string_equal(t->kernel_seen, "");
	assert_int_equal(t->ncreated, 0);
	/* no way around the check: a create without a callback is refused */
	cfg.kernel = secret;
	assert_int_equal(g->ops->create(g, &cfg, NULL, NULL, &err), -1);
	assert_string_equal(t->kernel_seen, "");
	xn_error_free(&err);
	xn_hv_guard_free(g);
}

/* A backend's message names the path the pod gave, not the descriptor. */
static void messages_name_the_path(void **state)
{
	struct t *t = *state;
	struct xn_hv *g = xn_hv_guard_new(&t->fake);
	cleanup_free char *k = at(t, "images/k.sim"), *want = NULL;
	struct xn_domain_config cfg = {.name = "d", .kernel = k, .memory_kb = 8192, .vcpus = 1};
	xn_err err = NULL;

	t->fake_fail_now = 1;
	assert_int_equal(g->ops->create(g, &cfg, on_create, t, &err), -1);
	want = xn_xasprintf("%s:1: unknown directive", k);
	assert_string_equal(xn_error_msg(err), want);
	assert_false(fd_open(t->kernel_seen));
	xn_error_free(&err);
	/* asynchronous failures too */
	t->fake_fail_now = 0;
	assert_int_equal(g->ops->create(g, &cfg, on_create, t, &err), 0);
	xn_error(&err, EIO, "libxl: %s: bad ELF", t->kernel_seen);
	t->fake_cb(&t->fake, -1, XN_DOMID_INVALID, err, t->fake_arg);
	xn_error_free(&err);
	want = (free(want), xn_xasprintf("libxl: %s: bad ELF", k));
	assert_string_equal(t->create_err, want);
	/* a create still pending when the guard goes: its descriptors close */
	assert_int_equal(g->ops->create(g, &cfg, on_create, t, &err), 0);
	assert_true(fd_open(t->kernel_seen));
	xn_hv_guard_free(g);
	assert_false(fd_open(t->kernel_seen));
}

/* Through hv_sim: a script in the roots runs; the sim never reads one
 * outside, so nothing of it shows in an error; a script that is not one
 * is named by its path. */
static void through_the_sim(void **state)
{
	struct t *t = *state;
	struct event_base *base = event_base_new();
	struct xn_hv *hv, *g;
	cleanup_free char *k = at(t, "images/k.sim"), *secret = at(t, "secret.txt");
	cleanup_free char *evil = at(t, "images/evil.sim"), *state_dir = at(t, "sim");
	struct xn_domain_config cfg = {.name = "d1", .kernel = k, .memory_kb = 8192, .vcpus = 1};
	xn_err err = NULL;

	assert_int_equal(mkdir(state_dir, 0700), 0);
	setenv("XN_SIM_STATE_DIR", state_dir, 1);
	hv = xn_hv_new("sim", base, NULL, NULL, &err);
	if (hv == NULL)
		fail_msg("%s", xn_error_msg(err));
	g = xn_hv_guard_new(hv);
	if (g->ops->create(g, &cfg, on_create, t, &err) < 0)
		fail_msg("%s", xn_error_msg(err));
	XN_TEST_RUN_UNTIL(base, 5000, t->ncreated == 1);
	assert_int_equal(t->create_rc, 0);
	assert_ptr_equal(t->create_hv, g);
	cfg.name = "d2";
	cfg.kernel = secret;
	assert_int_equal(g->ops->create(g, &cfg, on_create, t, &err), -1);
	assert_null(strstr(xn_error_msg(err), "TOPSECRET"));
	cfg.name = "d3";
	cfg.kernel = evil;
	assert_int_equal(g->ops->create(g, &cfg, on_create, t, &err), -1);
	print_message("%s\n", xn_error_msg(err));
	assert_true(strncmp(xn_error_msg(err), evil, strlen(evil)) == 0);
	assert_null(strstr(xn_error_msg(err), "TOPSECRET"));
	xn_error_free(&err);
	xn_hv_free(hv);
	xn_hv_guard_free(g);
	event_base_free(base);
	unsetenv("XN_SIM_STATE_DIR");
}

/* A test unikernel (`make guests`, which `make unit` runs) copied into the
 * root as rel; false (the test skips) when it was not built. */
static bool guest_in_root(const struct t *t, const char *guest, const char *rel)
{
	const char *dir = getenv("XN_GUESTS");
	cleanup_free char *src = xn_xasprintf("%s/%s", dir ? dir : XN_BUILDDIR "/guests", guest);
	cleanup_free char *dst = at(t, rel), *cmd = NULL;

	if (access(src, R_OK) != 0) {
		printf("skipped: %s missing (make guests)\n", src);
		return false;
	}
	cmd = xn_xasprintf("cp '%s' '%s'", src, dst);
	assert_int_equal(system(cmd), 0);
	return true;
}

/* Issue 11: a kernel Xen cannot boot as asked is refused before the
 * backend builds anything, with the kernel's own types in the message
 * (libxc would say "no loader found: Invalid kernel" half-way through). */
static void wrong_guest_type_never_reaches_the_backend(void **state)
{
	struct t *t = *state;
	struct xn_hv *g = xn_hv_guard_new(&t->fake);
	cleanup_free char *pvh = at(t, "images/solo5.pvh"), *pv = at(t, "images/minios.pv");
	cleanup_free char *want = NULL;
	struct xn_domain_config cfg = {
	    .name = "d", .kernel = pvh, .type = XN_GUEST_PV, .memory_kb = 8192, .vcpus = 1};
	xn_err err = NULL;

	if (!guest_in_root(t, "xn-test-pvh", "images/solo5.pvh") ||
	    !guest_in_root(t, "xn-test-pv", "images/minios.pv")) {
		xn_hv_guard_free(g);
		skip();
	}
	assert_int_equal(g->ops->create(g, &cfg, on_create, t, &err), -1);
	want = xn_xasprintf("kernel \"%s\": PVH-only kernel asked to run as PV (the kernel's Xen "
			    "ELF notes allow: pvh)",
			    pvh);
	assert_string_equal(xn_error_msg(err), want);
	assert_string_equal(t->kernel_seen, "");
	xn_error_free(&err);
	cfg.kernel = pv;
	cfg.type = XN_GUEST_PVH;
	assert_int_equal(g->ops->create(g, &cfg, on_create, t, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "PV-only kernel asked to run as PVH"));
	assert_string_equal(t->kernel_seen, "");
	xn_error_free(&err);
	/* as the kernel allows: the backend builds it */
	cfg.type = XN_GUEST_PV;
	if (g->ops->create(g, &cfg, on_create, t, &err) < 0)
		fail_msg("%s", xn_error_msg(err));
	assert_true(strncmp(t->kernel_seen, "/proc/self/fd/", 14) == 0);
	xn_hv_guard_free(g);
}

/* Admission's check: no type asked for, the kernel's notes choose; one
 * asked for is checked; without a guard nothing is read. */
static void admission_takes_the_kernels_type(void **state)
{
	struct t *t = *state;
	struct xn_hv *g = xn_hv_guard_new(&t->fake);
	cleanup_free char *pvh = at(t, "images/solo5.pvh"), *pv = at(t, "images/minios.pv");
	cleanup_free char *k = at(t, "images/k.sim");
	enum xn_guest_type type = XN_GUEST_PVH;
	xn_err err = NULL;

	if (!guest_in_root(t, "xn-test-pvh", "images/solo5.pvh") ||
	    !guest_in_root(t, "xn-test-pv", "images/minios.pv")) {
		xn_hv_guard_free(g);
		skip();
	}
	assert_int_equal(xn_hv_guard_kernel_type(g, pv, false, &type, &err), 0);
	assert_int_equal(type, XN_GUEST_PV);
	type = XN_GUEST_PV;
	assert_int_equal(xn_hv_guard_kernel_type(g, pvh, false, &type, &err), 0);
	assert_int_equal(type, XN_GUEST_PVH);
	type = XN_GUEST_PV;
	assert_int_equal(xn_hv_guard_kernel_type(g, pvh, true, &type, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "PVH-only kernel asked to run as PV"));
	xn_error_free(&err);
	/* a sim script on a backend that is not libxl: as asked */
	assert_int_equal(xn_hv_guard_kernel_type(g, k, true, &type, &err), 0);
	assert_int_equal(type, XN_GUEST_PV);
	/* the raw backend is no guard: nothing checked */
	assert_int_equal(xn_hv_guard_kernel_type(&t->fake, pvh, true, &type, &err), 0);
	xn_hv_guard_free(g);
}

/* On libxl a file that is no kernel at all is refused by the guard. */
static void libxl_wants_a_kernel(void **state)
{
	static const struct xn_hv_ops libxl_ops = {.name = "libxl", .create = fake_create};
	struct t *t = *state;
	struct xn_hv fake_libxl = {.ops = &libxl_ops};
	struct xn_hv *g = xn_hv_guard_new(&fake_libxl);
	cleanup_free char *k = at(t, "images/k.sim"), *want = NULL;
	struct xn_domain_config cfg = {.name = "d", .kernel = k, .memory_kb = 8192, .vcpus = 1};
	xn_err err = NULL;

	assert_int_equal(g->ops->create(g, &cfg, on_create, t, &err), -1);
	want = xn_xasprintf("kernel \"%s\": not a kernel Xen can boot: neither an ELF nor a "
			    "bzImage, arm64 Image, arm zImage or compressed kernel",
			    k);
	assert_string_equal(xn_error_msg(err), want);
	assert_string_equal(t->kernel_seen, "");
	xn_error_free(&err);
	xn_hv_guard_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(backend_reads_the_checked_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(outside_the_roots_never_reaches_the_backend, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(messages_name_the_path, setup, teardown),
	    cmocka_unit_test_setup_teardown(through_the_sim, setup, teardown),
	    cmocka_unit_test_setup_teardown(wrong_guest_type_never_reaches_the_backend, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(admission_takes_the_kernels_type, setup, teardown),
	    cmocka_unit_test_setup_teardown(libxl_wants_a_kernel, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
