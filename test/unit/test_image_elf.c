/* test_image_elf.c - a kernel's guest types from its Xen ELF notes
 * (issue 11): our test unikernels (build/guests, `make guests`), the rig's
 * Debian Linux kernel when its cache has one, ELFs built here (32/64-bit,
 * little and big endian, notes in segments, in sections only, or as the
 * legacy __xen_guest string), malformed ones that each give a named error,
 * and the decision with its messages. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
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
#include <zlib.h>

#include "xenlet/image_elf.h"
#include "xenlet/util.h"

/* ---- an ELF builder ---- */

struct buf {
	uint8_t b[8192];
	size_t len;
	bool be, is64;
};

static void put(struct buf *b, size_t at, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		b->b[at + i] = (uint8_t)(v >> (8 * (b->be ? n - 1 - i : i)));
}

static size_t add(struct buf *b, const void *p, size_t n)
{
	size_t at = (b->len + 3) & ~(size_t)3;

	assert_true(at + n <= sizeof(b->b));
	memcpy(b->b + at, p, n);
	b->len = at + n;
	return at;
}

/* One "Xen" note, 4-byte aligned, in the builder's byte order. */
static void note(struct buf *notes, uint32_t type, const void *desc, uint32_t n)
{
	size_t at = notes->len;

	notes->len += 12 + 4 + ((n + 3) & ~3u);
	assert_true(notes->len <= sizeof(notes->b));
	put(notes, at, 4, 4);
	put(notes, at + 4, n, 4);
	put(notes, at + 8, type, 4);
	memcpy(notes->b + at + 12, "Xen", 4);
	memcpy(notes->b + at + 16, desc, n);
}

static void note_str(struct buf *notes, uint32_t type, const char *s)
{
	note(notes, type, s, (uint32_t)strlen(s) + 1);
}

static void note_u32(struct buf *notes, uint32_t type, uint32_t v)
{
	struct buf tmp = {.be = notes->be};

	put(&tmp, 0, v, 4);
	note(notes, type, tmp.b, 4);
}

enum where { IN_SEGMENT, IN_SECTION, NONE };

struct spec {
	bool is64, be;
	unsigned machine;
	enum where notes_in;
	const char *xen_guest; /* a __xen_guest section with this string */
};

/* The offsets a malformed test patches. */
struct layout {
	size_t ph, sh, notes, shstrndx_field, phnum_field, shnum_field;
};

static void build(struct buf *out, const struct spec *sp, const struct buf *notes,
		  struct layout *lo)
{
	static const char shstr[] = "\0.note.Xen\0__xen_guest\0.shstrtab";
	unsigned ehsz = sp->is64 ? 64 : 52, phsz = sp->is64 ? 56 : 32, shsz = sp->is64 ? 64 : 40;
	size_t notes_at = 0, str_at, xg_at = 0, w = sp->is64 ? 8 : 4;
	unsigned nsh = sp->xen_guest ? 4 : 3, shx = 0;
	struct layout l = {0};

	memset(out, 0, sizeof(*out));
	out->be = sp->be;
	out->is64 = sp->is64;
	memcpy(out->b,
	       "\x7f"
	       "ELF",
	       4);
	out->b[4] = sp->is64 ? 2 : 1;
	out->b[5] = sp->be ? 2 : 1;
	out->b[6] = 1;
	out->len = ehsz;
	put(out, 16, 2, 2); /* ET_EXEC */
	put(out, 18, sp->machine, 2);
	put(out, 20, 1, 4);
	l.ph = out->len;
	if (sp->notes_in == IN_SEGMENT)
		out->len += phsz;
	if (sp->notes_in != NONE)
		notes_at = add(out, notes->b, notes->len);
	str_at = add(out, shstr, sizeof(shstr));
	if (sp->xen_guest)
		xg_at = add(out, sp->xen_guest, strlen(sp->xen_guest) + 1);
	l.sh = (out->len + 7) & ~(size_t)7;
	out->len = l.sh + nsh * shsz;
	l.notes = notes_at;
	/* ELF header: entry, phoff, shoff, sizes and counts */
	put(out, 24, 0x100000, w);
	put(out, 24 + w, sp->notes_in == IN_SEGMENT ? l.ph : 0, w);
	put(out, 24 + 2 * w, l.sh, w);
	put(out, 24 + 3 * w + 4, ehsz, 2);
	put(out, 24 + 3 * w + 6, phsz, 2);
	l.phnum_field = 24 + 3 * w + 8;
	put(out, l.phnum_field, sp->notes_in == IN_SEGMENT ? 1 : 0, 2);
	put(out, 24 + 3 * w + 10, shsz, 2);
	l.shnum_field = 24 + 3 * w + 12;
	put(out, l.shnum_field, nsh, 2);
	l.shstrndx_field = 24 + 3 * w + 14;
	put(out, l.shstrndx_field, nsh - 1, 2);
	if (sp->notes_in == IN_SEGMENT) { /* PT_NOTE */
		put(out, l.ph, 4, 4);
		if (sp->is64) {
			put(out, l.ph + 8, notes_at, 8);
			put(out, l.ph + 32, notes->len, 8);
			put(out, l.ph + 40, notes->len, 8);
			put(out, l.ph + 48, 4, 8);
		} else {
			put(out, l.ph + 4, notes_at, 4);
			put(out, l.ph + 16, notes->len, 4);
			put(out, l.ph + 20, notes->len, 4);
			put(out, l.ph + 28, 4, 4);
		}
	}
	/* sections: [0] null, [1] .note.Xen (SHT_NOTE, or PROGBITS when the
	 * notes are not meant to be found), [2] __xen_guest, last .shstrtab */
	for (unsigned i = 1; i < nsh; i++) {
		size_t s = l.sh + i * shsz;
		uint32_t name, type;
		size_t off, size;

		if (i == 1) {
			name = 1, type = sp->notes_in == NONE ? 1 : 7, off = notes_at;
			size = sp->notes_in == NONE ? 0 : notes->len;
		} else if (i == nsh - 1) {
			name = 23, type = 3, off = str_at, size = sizeof(shstr);
		} else {
			name = 11, type = 1, off = xg_at, size = strlen(sp->xen_guest) + 1;
		}
		shx = i;
		put(out, s, name, 4);
		put(out, s + 4, type, 4);
		put(out, s + (sp->is64 ? 24 : 16), off, w);
		put(out, s + (sp->is64 ? 32 : 20), size, w);
		put(out, s + (sp->is64 ? 48 : 32), 4, w);
	}
	(void)shx;
	if (lo)
		*lo = l;
}

/* The bytes as a file: a memfd, as the guard's descriptor would be. */
static int as_fd(const void *p, size_t n)
{
	int fd = memfd_create("elf", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	return fd;
}

static int inspect_buf(const struct buf *b, size_t len, struct xn_kernel_info *ki, xn_err *err)
{
	int fd = as_fd(b->b, len), rc;

	rc = xn_kernel_inspect(fd, ki, err);
	close(fd);
	return rc;
}

static int inspect_path(const char *path, struct xn_kernel_info *ki, xn_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	assert_true(fd >= 0);
	rc = xn_kernel_inspect(fd, ki, err);
	close(fd);
	return rc;
}

/* The notes of a PVH-only kernel (Solo5's) and a PV kernel (Mini-OS's). */
static void pvh_notes(struct buf *n, bool be)
{
	memset(n, 0, sizeof(*n));
	n->be = be;
	note_str(n, XN_ELFNOTE_GUEST_OS, "Solo5");
	note_u32(n, XN_ELFNOTE_PHYS32_ENTRY, 0x100000);
}

static void pv_notes(struct buf *n, bool be)
{
	memset(n, 0, sizeof(*n));
	n->be = be;
	note_str(n, XN_ELFNOTE_GUEST_OS, "Mini-OS");
	note_str(n, XN_ELFNOTE_XEN_VERSION, "xen-3.0");
	note_str(n, XN_ELFNOTE_LOADER, "generic");
	note_u32(n, XN_ELFNOTE_ENTRY, 0x1000);
	note_u32(n, XN_ELFNOTE_HYPERCALL_PAGE, 0x2000);
	note_str(n, XN_ELFNOTE_FEATURES, "!writable_page_tables");
}

/* ---- real kernels ---- */

static const char *guests_dir(void)
{
	const char *d = getenv("XN_GUESTS");

	return d ? d : XN_BUILDDIR "/guests";
}

static void real_guest(const char *name, struct xn_kernel_info *ki)
{
	cleanup_free char *p = xn_xasprintf("%s/%s", guests_dir(), name);
	xn_err err = NULL;

	if (access(p, R_OK) != 0) {
		printf("skipped: %s missing (make guests)\n", p);
		skip();
	}
	assert_int_equal(inspect_path(p, ki, &err), 0);
	assert_null(err);
}

static void test_our_pv_guest(void **state)
{
	struct xn_kernel_info ki;
	enum xn_guest_type t;

	(void)state;
	real_guest("xn-test-pv", &ki);
	assert_int_equal(ki.format, XN_KFMT_ELF);
	assert_string_equal(ki.arch, "x86_64");
	assert_int_equal(ki.elf_class, 64);
	assert_true(ki.types_known);
	assert_int_equal(ki.types, XN_KTYPE_PV);
	assert_string_equal(ki.notes_in, "program headers");
	assert_string_equal(ki.guest_os, "xn-test-pv");
	assert_string_equal(ki.loader, "generic");
	assert_true(ki.has_entry && ki.has_hypercall_page && !ki.has_phys32_entry);
	assert_int_equal(xn_kernel_choose_type(&ki, "x86_64", false, XN_GUEST_PVH, false, &t, NULL),
			 0);
	assert_int_equal(t, XN_GUEST_PV);
}

static void test_our_pvh_guest(void **state)
{
	struct xn_kernel_info ki;
	enum xn_guest_type t;
	xn_err err = NULL;

	(void)state;
	real_guest("xn-test-pvh", &ki);
	assert_int_equal(ki.format, XN_KFMT_ELF);
	assert_string_equal(ki.arch, "x86_32");
	assert_int_equal(ki.elf_class, 32);
	assert_int_equal(ki.types, XN_KTYPE_PVH);
	assert_true(ki.has_phys32_entry && !ki.has_entry);
	assert_true(ki.phys32_entry >= 0x100000 && ki.phys32_entry < 0x200000); /* BASE */
	assert_int_equal(xn_kernel_choose_type(&ki, "x86_64", false, XN_GUEST_PV, false, &t, NULL),
			 0);
	assert_int_equal(t, XN_GUEST_PVH);
	assert_int_equal(xn_kernel_choose_type(&ki, "x86_64", true, XN_GUEST_PV, false, &t, &err),
			 -1);
	assert_string_equal(xn_error_msg(err), "PVH-only kernel asked to run as PV (the kernel's "
					       "Xen ELF notes allow: pvh)");
	xn_error_free(&err);
}

/* The rig's Debian kernel (test/rig/fetch.sh): vmlinux.gz, a gzip'd ELF
 * with both entry points, unpacked here; and its vmlinuz, a bzImage. */
static const char *rig_file(const char *name, char *out, size_t cap)
{
	cleanup_free char *pat = xn_xasprintf("/var/cache/xenlet/rig-*/%s", name);
	glob_t g;

	if (glob(pat, 0, NULL, &g) != 0 || g.gl_pathc == 0) {
		globfree(&g);
		return NULL;
	}
	snprintf(out, cap, "%s", g.gl_pathv[0]);
	globfree(&g);
	return out;
}

static void test_debian_linux_kernel(void **state)
{
	char gz[512], vmlinuz[512], tmp[] = "/tmp/xn-test-vmlinux.XXXXXX", chunk[65536];
	struct xn_kernel_info ki;
	enum xn_guest_type t;
	gzFile in;
	int fd, n;
	xn_err err = NULL;

	(void)state;
	if (rig_file("vmlinux.gz", gz, sizeof(gz)) == NULL) {
		printf("skipped: no Linux kernel in the rig cache /var/cache/xenlet\n");
		skip();
	}
	assert_int_equal(inspect_path(gz, &ki, &err), 0);
	assert_int_equal(ki.format, XN_KFMT_COMPRESSED);
	assert_false(ki.types_known);
	fd = mkstemp(tmp);
	assert_true(fd >= 0);
	in = gzopen(gz, "rb");
	assert_non_null(in);
	while ((n = gzread(in, chunk, sizeof(chunk))) > 0)
		assert_int_equal(write(fd, chunk, (size_t)n), n);
	assert_int_equal(n, 0);
	gzclose(in);
	n = xn_kernel_inspect(fd, &ki, &err);
	close(fd);
	unlink(tmp);
	if (n < 0)
		fail_msg("%s", xn_error_msg(err));
	assert_int_equal(ki.format, XN_KFMT_ELF);
	assert_string_equal(ki.arch, "x86_64");
	assert_int_equal(ki.types, XN_KTYPE_PV | XN_KTYPE_PVH);
	assert_string_equal(ki.guest_os, "linux");
	assert_string_equal(ki.notes_in, "program headers");
	assert_true(ki.has_entry && ki.has_phys32_entry); /* 6.x: no hypercall page note */
	assert_int_equal(xn_kernel_choose_type(&ki, "x86_64", false, XN_GUEST_PV, false, &t, NULL),
			 0);
	assert_int_equal(t, XN_GUEST_PVH);
	assert_int_equal(xn_kernel_choose_type(&ki, "x86_64", true, XN_GUEST_PV, false, &t, NULL),
			 0);
	assert_int_equal(t, XN_GUEST_PV);
	if (rig_file("vmlinuz", vmlinuz, sizeof(vmlinuz)) != NULL) {
		assert_int_equal(inspect_path(vmlinuz, &ki, &err), 0);
		assert_int_equal(ki.format, XN_KFMT_BZIMAGE);
		assert_false(ki.types_known);
		assert_int_equal(
		    xn_kernel_choose_type(&ki, "x86_64", true, XN_GUEST_PV, false, &t, NULL), 0);
		assert_int_equal(t, XN_GUEST_PV);
	}
}

/* ---- built here ---- */

static void expect_types(const struct spec *sp, const struct buf *notes, unsigned types,
			 const char *notes_in)
{
	struct buf b;
	struct xn_kernel_info ki;
	xn_err err = NULL;

	build(&b, sp, notes, NULL);
	if (inspect_buf(&b, b.len, &ki, &err) < 0)
		fail_msg("%s", xn_error_msg(err));
	assert_int_equal(ki.format, XN_KFMT_ELF);
	assert_int_equal(ki.elf_class, sp->is64 ? 64 : 32);
	assert_int_equal(ki.big_endian, sp->be);
	assert_int_equal(ki.types, types);
	if (notes_in)
		assert_string_equal(ki.notes_in, notes_in);
	else
		assert_null(ki.notes_in);
}

static void test_classes_and_byte_orders(void **state)
{
	struct buf n;

	(void)state;
	for (int is64 = 0; is64 < 2; is64++)
		for (int be = 0; be < 2; be++) {
			struct spec sp = {.is64 = is64, .be = be, .machine = 62};

			pvh_notes(&n, be);
			expect_types(&sp, &n, XN_KTYPE_PVH, "program headers");
			pv_notes(&n, be);
			expect_types(&sp, &n, XN_KTYPE_PV, "program headers");
		}
}

/* Mini-OS and Unikraft: the notes in a SHT_NOTE section, no PT_NOTE. */
static void test_notes_in_sections_only(void **state)
{
	struct spec sp = {.is64 = true, .machine = 62, .notes_in = IN_SECTION};
	struct buf n;

	(void)state;
	pv_notes(&n, false);
	expect_types(&sp, &n, XN_KTYPE_PV, "sections");
	pvh_notes(&n, false);
	expect_types(&sp, &n, XN_KTYPE_PVH, "sections");
}

static void test_legacy_xen_guest(void **state)
{
	struct spec sp = {.is64 = false,
			  .machine = 3,
			  .notes_in = NONE,
			  .xen_guest = "GUEST_OS=linux,GUEST_VER=2.6,XEN_VER=xen-3.0,VIRT_BASE=0"};
	struct buf n = {0};

	(void)state;
	expect_types(&sp, &n, XN_KTYPE_PV, "__xen_guest");
	sp.xen_guest = "GUEST_OS=plan9,XEN_VER=xen-3.0"; /* libxc: neither generic nor linux */
	expect_types(&sp, &n, 0, "__xen_guest");
}

static void test_no_xen_notes(void **state)
{
	struct spec sp = {.is64 = true, .machine = 62, .notes_in = NONE};
	struct buf n = {0}, b;
	struct xn_kernel_info ki;
	enum xn_guest_type t;
	xn_err err = NULL;

	(void)state;
	build(&b, &sp, &n, NULL);
	assert_int_equal(inspect_buf(&b, b.len, &ki, NULL), 0);
	assert_int_equal(ki.types, 0);
	assert_int_equal(xn_kernel_choose_type(&ki, "x86_64", false, XN_GUEST_PVH, true, &t, &err),
			 -1);
	assert_string_equal(
	    xn_error_msg(err),
	    "ELF without Xen notes: Xen cannot boot it (no XEN_ELFNOTE_PHYS32_ENTRY "
	    "for PVH, no Xen notes or __xen_guest for PV)");
	xn_error_free(&err);
	/* notes of another owner ("GNU") are no Xen notes */
	memset(&n, 0, sizeof(n));
	note_str(&n, XN_ELFNOTE_GUEST_OS, "x");
	memcpy(n.b + 12, "GNU", 4);
	sp.notes_in = IN_SEGMENT;
	expect_types(&sp, &n, 0, NULL);
}

/* 8-byte aligned notes (.note.gnu.property, PT_NOTE p_align 8): the
 * description starts at the next multiple of 8 after the name, so a GNU
 * note of name 4 and description 16 bytes fills 32 bytes exactly (Debian's
 * busybox, found in the rig: was refused as overflowing). */
static void test_notes_aligned_to_8(void **state)
{
	struct spec sp = {.is64 = true, .machine = 62};
	struct buf n = {0}, b;
	struct layout lo;
	struct xn_kernel_info ki;
	xn_err err = NULL;
	uint8_t prop[16] = {0x02, 0x00, 0x00, 0xc0, 0x04, 0, 0, 0, 0x03};

	(void)state;
	note(&n, 5, prop, sizeof(prop)); /* NT_GNU_PROPERTY_TYPE_0 */
	memcpy(n.b + 12, "GNU", 4);
	assert_int_equal(n.len, 32);
	build(&b, &sp, &n, &lo);
	put(&b, lo.ph + 48, 8, 8); /* p_align */
	if (inspect_buf(&b, b.len, &ki, &err) < 0)
		fail_msg("%s", xn_error_msg(err));
	assert_int_equal(ki.nnotes, 0);
	assert_int_equal(ki.types, 0);
}

/* ---- malformed: each a named error ---- */

static void expect_error(const struct buf *b, size_t len, const char *want)
{
	struct xn_kernel_info ki;
	xn_err err = NULL;

	assert_int_equal(inspect_buf(b, len, &ki, &err), -1);
	if (strstr(xn_error_msg(err), want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", xn_error_msg(err), want);
	assert_int_equal(err->status, ENOEXEC);
	xn_error_free(&err);
}

static void test_truncated_header(void **state)
{
	struct spec sp = {.is64 = true, .machine = 62};
	struct buf n, b;

	(void)state;
	pv_notes(&n, false);
	build(&b, &sp, &n, NULL);
	expect_error(&b, 40, "ELF: header truncated (40 bytes of 64)");
	expect_error(&b, 10, "ELF: identification truncated (10 bytes)");
	b.b[4] = 3;
	expect_error(&b, b.len, "ELF: class 3 is neither 32- nor 64-bit");
	/* the file ends inside the note segment (no section headers) */
	build(&b, &sp, &n, NULL);
	put(&b, 40, 0, 8);
	expect_error(&b, 64 + 56 + 20, "ELF: note segment 0 (offset");
}

static void test_huge_counts_and_offsets(void **state)
{
	struct spec sp = {.is64 = true, .machine = 62};
	struct buf n, b;
	struct layout lo;

	(void)state;
	pv_notes(&n, false);
	build(&b, &sp, &n, &lo);
	put(&b, lo.phnum_field, 60000, 2);
	expect_error(&b, b.len, "ELF: 60000 program headers, more than the limit 4096");
	build(&b, &sp, &n, &lo);
	put(&b, 32, UINT64_MAX - 8, 8); /* e_phoff */
	expect_error(&b, b.len,
		     "ELF: program headers (offset 18446744073709551607, 1 x 56 bytes) "
		     "beyond the end of the file");
	build(&b, &sp, &n, &lo);
	put(&b, 40, 1ull << 40, 8); /* e_shoff */
	expect_error(&b, b.len, "ELF: section headers (offset 1099511627776");
	build(&b, &sp, &n, &lo);
	put(&b, lo.ph + 8, UINT64_MAX - 3, 8); /* p_offset */
	expect_error(&b, b.len, "ELF: note segment 0 (offset 18446744073709551612");
	build(&b, &sp, &n, &lo);
	put(&b, lo.ph + 32, 1ull << 33, 8); /* p_filesz */
	expect_error(&b, b.len,
		     "ELF: note segment 0: 8589934592 bytes of notes, more than the "
		     "limit 1048576");
	build(&b, &sp, &n, &lo);
	put(&b, 54, 8, 2); /* e_phentsize */
	expect_error(&b, b.len, "ELF: program headers of 8 bytes each, at least 56 expected");
}

/* Many note segments over one big area: the total read is bounded too. */
static void test_note_bytes_bounded_in_all(void **state)
{
	struct buf h = {0};
	struct xn_kernel_info ki;
	xn_err err = NULL;
	const uint64_t area = 4096, size = XN_ELF_MAX_NOTE_AREA;
	uint8_t nh[12] = {0};
	int fd;

	(void)state;
	memcpy(h.b,
	       "\x7f"
	       "ELF\x02\x01\x01",
	       7);
	put(&h, 18, 62, 2);
	put(&h, 32, 64, 8); /* e_phoff */
	put(&h, 54, 56, 2); /* e_phentsize */
	put(&h, 56, 8, 2);  /* e_phnum: 8 x 1 MiB, over the 4 MiB in all */
	for (unsigned i = 0; i < 8; i++) {
		put(&h, 64 + i * 56, 4, 4); /* PT_NOTE */
		put(&h, 64 + i * 56 + 8, area, 8);
		put(&h, 64 + i * 56 + 32, size, 8);
		put(&h, 64 + i * 56 + 48, 4, 8);
	}
	h.len = 64 + 8 * 56;
	fd = as_fd(h.b, h.len);
	/* one note filling the area: name 0 bytes, description the rest */
	nh[4] = (uint8_t)((size - 12) & 0xff);
	nh[5] = (uint8_t)((size - 12) >> 8);
	nh[6] = (uint8_t)((size - 12) >> 16);
	assert_int_equal(pwrite(fd, nh, sizeof(nh), (off_t)area), (ssize_t)sizeof(nh));
	assert_int_equal(ftruncate(fd, (off_t)(area + size)), 0);
	assert_int_equal(xn_kernel_inspect(fd, &ki, &err), -1);
	assert_string_equal(xn_error_msg(err), "ELF: more than 4194304 bytes of notes in all");
	xn_error_free(&err);
	close(fd);
}

static void test_note_sizes_overflowing(void **state)
{
	struct spec sp = {.is64 = false, .machine = 3};
	struct buf n, b;
	struct layout lo;

	(void)state;
	pvh_notes(&n, false);
	build(&b, &sp, &n, &lo);
	put(&b, lo.notes + 4, 0xfffffff0u, 4); /* descsz of the first note */
	expect_error(&b, b.len,
		     "ELF: note segment 0: the note at offset 0 overflows it: name 4 "
		     "bytes, description 4294967280 bytes");
	build(&b, &sp, &n, &lo);
	put(&b, lo.notes, 0xffffffffu, 4); /* namesz */
	expect_error(&b, b.len, "overflows it: name 4294967295 bytes");
	/* a numeric note of 3 bytes */
	memset(&n, 0, sizeof(n));
	note(&n, XN_ELFNOTE_PHYS32_ENTRY, "abc", 3);
	build(&b, &sp, &n, NULL);
	expect_error(&b, b.len, "ELF: note segment 0: Xen note PHYS32_ENTRY: a number of 3 bytes");
	/* a partial header after the last note */
	pvh_notes(&n, false);
	n.b[n.len] = 1;
	n.len += 4;
	build(&b, &sp, &n, NULL);
	expect_error(&b, b.len, "a truncated note header at offset");
}

static void test_section_name_table_out_of_range(void **state)
{
	struct spec sp = {
	    .is64 = true, .machine = 62, .notes_in = NONE, .xen_guest = "LOADER=generic"};
	struct buf n = {0}, b;
	struct layout lo;

	(void)state;
	build(&b, &sp, &n, &lo);
	put(&b, lo.shstrndx_field, 9, 2);
	expect_error(&b, b.len, "ELF: section name table index 9 out of range (4 sections)");
	build(&b, &sp, &n, &lo);
	put(&b, lo.sh + 3 * 64 + 24, 1u << 30, 8); /* .shstrtab's offset */
	expect_error(&b, b.len, "ELF: section name table (offset 1073741824");
	build(&b, &sp, &n, &lo);
	put(&b, lo.sh + 2 * 64, 5000, 4); /* __xen_guest's sh_name */
	expect_error(&b, b.len, "ELF: a section name at offset 5000, beyond the name table");
}

/* ---- other formats and the decision ---- */

static void test_other_formats(void **state)
{
	struct buf b = {0};
	struct xn_kernel_info ki;
	enum xn_guest_type t;
	xn_err err = NULL;

	(void)state;
	/* a sim script: no kernel; fine for hv_sim, refused for libxl */
	memcpy(b.b, "print hello\nexit 0\n", 19);
	assert_int_equal(inspect_buf(&b, 19, &ki, NULL), 0);
	assert_int_equal(ki.format, XN_KFMT_UNKNOWN);
	assert_int_equal(xn_kernel_choose_type(&ki, "x86_64", true, XN_GUEST_PV, true, &t, NULL),
			 0);
	assert_int_equal(t, XN_GUEST_PV);
	assert_int_equal(xn_kernel_choose_type(&ki, "x86_64", true, XN_GUEST_PV, false, &t, &err),
			 -1);
	assert_string_equal(xn_error_msg(err),
			    "not a kernel Xen can boot: neither an ELF nor a bzImage, arm64 Image, "
			    "arm zImage or compressed kernel");
	xn_error_free(&err);
	/* an empty file */
	assert_int_equal(inspect_buf(&b, 0, &ki, NULL), 0);
	assert_int_equal(ki.format, XN_KFMT_UNKNOWN);
	/* arm64 Image: PVH on an arm64 node, refused on x86 */
	memset(&b, 0, sizeof(b));
	memcpy(b.b + 56, "ARM\x64", 4);
	assert_int_equal(inspect_buf(&b, 128, &ki, NULL), 0);
	assert_int_equal(ki.format, XN_KFMT_ARM64_IMAGE);
	assert_int_equal(xn_kernel_choose_type(&ki, "arm64", false, XN_GUEST_PV, false, &t, NULL),
			 0);
	assert_int_equal(t, XN_GUEST_PVH);
	assert_int_equal(xn_kernel_choose_type(&ki, "arm64", true, XN_GUEST_PV, false, &t, &err),
			 -1);
	assert_string_equal(xn_error_msg(err),
			    "PVH-only kernel asked to run as PV (an arm64 Image: "
			    "Xen on Arm boots every guest as PVH)");
	xn_error_free(&err);
	assert_int_equal(xn_kernel_choose_type(&ki, "x86_64", false, XN_GUEST_PV, false, &t, &err),
			 -1);
	assert_string_equal(xn_error_msg(err),
			    "an arm64 kernel (arm64 Image): this node is x86_64");
	xn_error_free(&err);
	/* zstd-compressed: passed through, as asked */
	memset(&b, 0, sizeof(b));
	memcpy(b.b, "\x28\xb5\x2f\xfd", 4);
	assert_int_equal(inspect_buf(&b, 64, &ki, NULL), 0);
	assert_int_equal(ki.format, XN_KFMT_COMPRESSED);
	assert_int_equal(xn_kernel_choose_type(&ki, "x86_64", true, XN_GUEST_PV, false, &t, NULL),
			 0);
	assert_int_equal(t, XN_GUEST_PV);
}

static void test_arm64_elf(void **state)
{
	struct spec sp = {.is64 = true, .machine = 183, .notes_in = NONE};
	struct buf n = {0}, b;
	struct xn_kernel_info ki;
	enum xn_guest_type t;
	xn_err err = NULL;

	(void)state;
	build(&b, &sp, &n, NULL);
	assert_int_equal(inspect_buf(&b, b.len, &ki, NULL), 0);
	assert_string_equal(ki.arch, "arm64");
	assert_int_equal(xn_kernel_choose_type(&ki, "arm64", false, XN_GUEST_PV, false, &t, &err),
			 -1);
	assert_string_equal(xn_error_msg(err),
			    "an arm64 ELF: Xen on Arm boots an Image or zImage, not an ELF kernel");
	xn_error_free(&err);
}

static void test_pv_only_and_neither(void **state)
{
	struct spec sp = {.is64 = true, .machine = 62};
	struct buf n, b;
	struct xn_kernel_info ki;
	enum xn_guest_type t;
	xn_err err = NULL;

	(void)state;
	pv_notes(&n, false);
	build(&b, &sp, &n, NULL);
	assert_int_equal(inspect_buf(&b, b.len, &ki, NULL), 0);
	assert_string_equal(ki.features, "!writable_page_tables");
	assert_int_equal(xn_kernel_choose_type(&ki, "x86_64", true, XN_GUEST_PVH, false, &t, &err),
			 -1);
	assert_string_equal(xn_error_msg(err), "PV-only kernel asked to run as PVH (the kernel's "
					       "Xen ELF notes allow: pv)");
	xn_error_free(&err);
	/* Xen notes, but a loader libxc refuses and no PHYS32_ENTRY */
	memset(&n, 0, sizeof(n));
	note_str(&n, XN_ELFNOTE_GUEST_OS, "Weird\"OS\x01");
	note_str(&n, XN_ELFNOTE_LOADER, "elf");
	note_str(&n, XN_ELFNOTE_XEN_VERSION, "xen-3.0");
	build(&b, &sp, &n, NULL);
	assert_int_equal(inspect_buf(&b, b.len, &ki, NULL), 0);
	assert_int_equal(xn_kernel_choose_type(&ki, "x86_64", false, XN_GUEST_PV, false, &t, &err),
			 -1);
	assert_string_equal(xn_error_msg(err),
			    "the kernel's Xen notes allow neither PV (LOADER \"elf\", GUEST_OS "
			    "\"Weird?OS?\", XEN_VERSION \"xen-3.0\": PV needs LOADER generic or "
			    "GUEST_OS linux, and XEN_VERSION xen-3.0) nor PVH (no "
			    "XEN_ELFNOTE_PHYS32_ENTRY)");
	xn_error_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_our_pv_guest),
	    cmocka_unit_test(test_our_pvh_guest),
	    cmocka_unit_test(test_debian_linux_kernel),
	    cmocka_unit_test(test_classes_and_byte_orders),
	    cmocka_unit_test(test_notes_in_sections_only),
	    cmocka_unit_test(test_legacy_xen_guest),
	    cmocka_unit_test(test_no_xen_notes),
	    cmocka_unit_test(test_notes_aligned_to_8),
	    cmocka_unit_test(test_truncated_header),
	    cmocka_unit_test(test_huge_counts_and_offsets),
	    cmocka_unit_test(test_note_sizes_overflowing),
	    cmocka_unit_test(test_note_bytes_bounded_in_all),
	    cmocka_unit_test(test_section_name_table_out_of_range),
	    cmocka_unit_test(test_other_formats),
	    cmocka_unit_test(test_arm64_elf),
	    cmocka_unit_test(test_pv_only_and_neither),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
