/* test_image_path.c - images only from the image roots (issue 9, finding 2):
 * the root check, the lexical check, the open with every way out of a root
 * (sibling prefix, .., symlinks out, a directory, a FIFO), one message
 * whatever the reason, and a descriptor path that no swap redirects. */
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
#include "xenlet/image_path.h"
#include "xenlet/util.h"

struct t {
	char dir[64];	/* the test's own temporary directory */
	char root[128]; /* <dir>/images, the one root */
};

static char *at(const struct t *t, const char *rel)
{
	return xn_xasprintf("%s/%s", t->dir, rel);
}

static void mk_file(const struct t *t, const char *rel, const char *text)
{
	cleanup_free char *p = at(t, rel);

	xn_test_write(p, text);
}

static void mk_link(const struct t *t, const char *target, const char *rel)
{
	cleanup_free char *p = at(t, rel);

	assert_int_equal(symlink(target, p), 0);
}

static void mk_dir(const struct t *t, const char *rel)
{
	cleanup_free char *p = at(t, rel);

	assert_int_equal(mkdir(p, 0755), 0);
}

static int setup(void **state)
{
	struct t *t = xn_xcalloc(1, sizeof(*t));
	const char *root;

	snprintf(t->dir, sizeof(t->dir), "/tmp/xn-test-image.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->root, sizeof(t->root), "%s/images", t->dir);
	mk_dir(t, "images");
	mk_dir(t, "images/sub");
	mk_dir(t, "images/adir");
	mk_dir(t, "images-evil");
	mk_dir(t, "outside");
	mk_file(t, "images/k.sim", "print hello\n");
	mk_file(t, "images/sub/k2.sim", "print two\n");
	mk_file(t, "images-evil/x", "evil\n");
	mk_file(t, "secret.txt", "TOPSECRET-0123456789\n");
	mk_file(t, "outside/f", "outside\n");
	mk_link(t, "k.sim", "images/link-in");
	mk_link(t, "../secret.txt", "images/link-out");
	mk_link(t, "../no-such-file", "images/link-nowhere");
	mk_link(t, "../outside", "images/dir-out");
	{
		cleanup_free char *fifo = at(t, "images/fifo");
		assert_int_equal(mkfifo(fifo, 0600), 0);
	}
	root = t->root;
	xn_image_roots_set(&root, 1);
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

static void root_check(void **state)
{
	static const char *const bad[] = {"",	    "images", "/",   "//",   "/a/../b",
					  "/a/./b", "/a//b",  "/..", "/a/.."};
	static const char *const good[] = {"/var/lib/xenlet/images", "/srv/img/", "/a.b/..c"};

	for (size_t i = 0; i < XN_ARRAY_SIZE(bad); i++)
		if (xn_image_root_check(bad[i]) == NULL)
			fail_msg("root \"%s\" accepted", bad[i]);
	for (size_t i = 0; i < XN_ARRAY_SIZE(good); i++)
		if (xn_image_root_check(good[i]) != NULL)
			fail_msg("root \"%s\" refused: %s", good[i], xn_image_root_check(good[i]));
}

static void lexical(void **state)
{
	static const char *const root = "/var/lib/xenlet/images/"; /* trailing '/' dropped */
	static const struct {
		const char *path;
		bool ok;
	} cases[] = {
	    {"/var/lib/xenlet/images/k.sim", true},
	    {"/var/lib/xenlet/images/a/b/c.xen", true},
	    {"/var/lib/xenlet/images/..k", true},
	    {"/var/lib/xenlet/images-evil/x", false},
	    {"/var/lib/xenlet/imagesx", false},
	    {"/var/lib/xenlet/images", false},
	    {"/var/lib/xenlet/images/", false},
	    {"/var/lib/xenlet/images/../../../etc/shadow", false},
	    {"/var/lib/xenlet/images/a/../k", false},
	    {"/var/lib/xenlet/images/./k", false},
	    {"/var/lib/xenlet/images//k", false},
	    {"/var/lib/xenlet//images/k", false},
	    {"/etc/xenlet/kubeconfig", false},
	    {"var/lib/xenlet/images/k", false},
	    {"", false},
	};

	xn_image_roots_set(&root, 1);
	assert_string_equal(xn_image_roots_text(), "/var/lib/xenlet/images");
	for (size_t i = 0; i < XN_ARRAY_SIZE(cases); i++)
		if (xn_image_path_allowed(cases[i].path) != cases[i].ok)
			fail_msg("\"%s\": %s", cases[i].path, cases[i].ok ? "refused" : "accepted");
	xn_image_roots_set(NULL, 0);
	assert_false(xn_image_path_allowed("/var/lib/xenlet/images/k.sim"));
	assert_string_equal(xn_image_roots_text(), "none");
}

/* Open rel (under the test dir); the descriptor's content or NULL, with
 * the error message in *msg. */
static char *try_open(const struct t *t, const char *rel, char **msg)
{
	cleanup_free char *p = at(t, rel);
	xn_err err = NULL;
	char why[256] = "", fdp[XN_IMAGE_FD_PATH_MAX];
	int fd = xn_image_open("image", p, why, sizeof(why), &err);
	char *text;

	*msg = NULL;
	if (fd < 0) {
		assert_string_not_equal(why, "");
		*msg = xn_xstrdup(xn_error_msg(err));
		xn_error_free(&err);
		return NULL;
	}
	xn_image_fd_path(fd, fdp);
	text = xn_test_slurp(fdp);
	close(fd);
	return text;
}

static void open_inside_only(void **state)
{
	struct t *t = *state;
	static const char *const good[] = {"images/k.sim", "images/sub/k2.sim", "images/link-in"};
	static const char *const bad[] = {
	    "images-evil/x",	    "secret.txt",	   "images/link-out", "images/link-nowhere",
	    "images/dir-out/f",	    "images/no-such.sim",  "images/adir",     "images/fifo",
	    "images/../secret.txt", "images/sub/../k.sim", "outside/f",	      "images"};

	for (size_t i = 0; i < XN_ARRAY_SIZE(good); i++) {
		cleanup_free char *msg = NULL;
		cleanup_free char *text = try_open(t, good[i], &msg);

		if (text == NULL)
			fail_msg("%s refused: %s", good[i], msg);
		assert_non_null(strstr(text, "print "));
	}
	for (size_t i = 0; i < XN_ARRAY_SIZE(bad); i++) {
		cleanup_free char *msg = NULL;
		cleanup_free char *text = try_open(t, bad[i], &msg);
		cleanup_free char *p = at(t, bad[i]);
		cleanup_free char *want = xn_xasprintf(
		    "image \"%s\": not a regular file under the node's image roots (%s)", p,
		    t->root);

		if (text != NULL)
			fail_msg("%s opened", bad[i]);
		/* the one message: nothing about existence, size or content */
		assert_string_equal(msg, want);
	}
}

/* Backends open "/proc/self/fd/N": a file renamed over the checked one
 * afterwards, or the name swapped for a symlink, changes nothing. */
static void fd_path_cannot_be_swapped(void **state)
{
	struct t *t = *state;
	cleanup_free char *p = at(t, "images/k.sim"), *other = at(t, "images/other");
	cleanup_free char *text = NULL;
	xn_err err = NULL;
	char fdp[XN_IMAGE_FD_PATH_MAX];
	int fd = xn_image_open("kernel", p, NULL, 0, &err);

	assert_true(fd >= 0);
	xn_test_write(other, "print swapped\n");
	assert_int_equal(rename(other, p), 0);
	xn_image_fd_path(fd, fdp);
	text = xn_test_slurp(fdp);
	assert_string_equal(text, "print hello\n");
	free(text);
	assert_int_equal(unlink(p), 0);
	mk_link(t, "../secret.txt", "images/k.sim");
	text = xn_test_slurp(fdp);
	assert_string_equal(text, "print hello\n");
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(root_check),
	    cmocka_unit_test(lexical),
	    cmocka_unit_test_setup_teardown(open_inside_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(fd_path_cannot_be_swapped, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
