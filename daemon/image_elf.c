/* image_elf.c - a kernel's format and Xen ELF notes, read through a
 * descriptor with bounded preads (see image_elf.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xenlet/image_elf.h"
#include "xenlet/util.h"

#define EM_386	   3
#define EM_ARM	   40
#define EM_X86_64  62
#define EM_AARCH64 183

#define PT_NOTE	       4
#define SHT_NOTE       7
#define PN_XNUM	       0xffffu
#define SHN_XINDEX     0xffffu
#define XEN_GUEST_MAX  4096u /* the legacy __xen_guest string */
#define SHSTR_NAME_MAX 12    /* strlen("__xen_guest") + NUL */

struct src {
	int fd;
	uint64_t size;
};

/* What one file may make us read in notes, over all its note areas. */
struct budget {
	unsigned notes;
	uint64_t bytes;
};

/* One ELF as far as we read it: the header fields, in host order. */
struct elf {
	const struct src *s;
	bool is64, be;
	uint64_t phoff, shoff;
	unsigned phentsize, shentsize, phnum, shnum, shstrndx;
};

const char *xn_kernel_format_name(enum xn_kernel_format f)
{
	switch (f) {
	case XN_KFMT_ELF: return "ELF";
	case XN_KFMT_BZIMAGE: return "bzImage";
	case XN_KFMT_COMPRESSED: return "compressed kernel";
	case XN_KFMT_ARM64_IMAGE: return "arm64 Image";
	case XN_KFMT_ARM_ZIMAGE: return "arm zImage";
	case XN_KFMT_UNKNOWN: break;
	}
	return "unknown";
}

const char *xn_kernel_types_text(unsigned types)
{
	switch (types & (XN_KTYPE_PV | XN_KTYPE_PVH)) {
	case XN_KTYPE_PV: return "pv";
	case XN_KTYPE_PVH: return "pvh";
	case XN_KTYPE_PV | XN_KTYPE_PVH: return "pv, pvh";
	default: return "none";
	}
}

const char *xn_kernel_host_arch(void)
{
#if defined(__x86_64__)
	return "x86_64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__i386__)
	return "x86_32";
#elif defined(__arm__)
	return "arm32";
#else
	return "other";
#endif
}

/* ---- bounded reads ---- */

/* Exactly len bytes at off, which must lie inside the file as it was when
 * inspected (what names the part for the message). */
static int rd(const struct src *s, uint64_t off, void *buf, size_t len, const char *what,
	      xn_err *err)
{
	size_t got = 0;

	if (off > s->size || len > s->size - off)
		return xn_error(err, ENOEXEC,
				"ELF: %s (offset %llu, %zu bytes) beyond the end of the file "
				"(%llu bytes)",
				what, (unsigned long long)off, len, (unsigned long long)s->size);
	while (got < len) {
		ssize_t r = pread(s->fd, (char *)buf + got, len - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return xn_error_errno(err, errno, "ELF: reading %s", what);
		if (r == 0)
			return xn_error(err, EIO, "ELF: %s: the file shrank while being read",
					what);
		got += (size_t)r;
	}
	return 0;
}

static uint16_t g16(const struct elf *e, const uint8_t *p)
{
	return e->be ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static uint32_t g32(const struct elf *e, const uint8_t *p)
{
	return e->be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
		     : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint64_t g64(const struct elf *e, const uint8_t *p)
{
	uint64_t a = g32(e, p), b = g32(e, p + 4);

	return e->be ? a << 32 | b : b << 32 | a;
}

/* A note's string, cut at its first NUL or at cap - 1, with anything but
 * plain printable ASCII shown as '?' (it may reach a pod's status). */
static void note_str(char *dst, size_t cap, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && i + 1 < cap && p[i] != '\0'; i++)
		dst[i] =
		    (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\') ? (char)p[i] : '?';
	dst[i] = '\0';
}

/* ---- Xen notes ---- */

static const char *note_name(uint32_t type)
{
	switch (type) {
	case XN_ELFNOTE_ENTRY: return "ENTRY";
	case XN_ELFNOTE_HYPERCALL_PAGE: return "HYPERCALL_PAGE";
	case XN_ELFNOTE_PHYS32_ENTRY: return "PHYS32_ENTRY";
	case XN_ELFNOTE_VIRT_BASE: return "VIRT_BASE";
	case XN_ELFNOTE_PADDR_OFFSET: return "PADDR_OFFSET";
	default: return "numeric";
	}
}

static int xen_note(const struct elf *e, uint32_t type, const uint8_t *d, uint32_t n,
		    struct xn_kernel_info *ki, xn_err *err)
{
	uint64_t v = 0;

	switch (type) {
	case XN_ELFNOTE_ENTRY:
	case XN_ELFNOTE_HYPERCALL_PAGE:
	case XN_ELFNOTE_PHYS32_ENTRY:
	case XN_ELFNOTE_VIRT_BASE:
	case XN_ELFNOTE_PADDR_OFFSET:
		/* libelf's elf_note_numeric: 1, 2, 4 or 8 bytes */
		if (n == 1)
			v = d[0];
		else if (n == 2)
			v = g16(e, d);
		else if (n == 4)
			v = g32(e, d);
		else if (n == 8)
			v = g64(e, d);
		else
			return xn_error(err, ENOEXEC,
					"Xen note %s: a number of %u bytes (1, 2, 4 or 8 "
					"expected)",
					note_name(type), n);
		if (type == XN_ELFNOTE_ENTRY) {
			ki->has_entry = true;
			ki->entry = v;
		} else if (type == XN_ELFNOTE_HYPERCALL_PAGE) {
			ki->has_hypercall_page = true;
		} else if (type == XN_ELFNOTE_PHYS32_ENTRY) {
			ki->has_phys32_entry = true;
			ki->phys32_entry = (uint32_t)v;
		}
		break;
	case XN_ELFNOTE_XEN_VERSION:
		note_str(ki->xen_version, sizeof(ki->xen_version), d, n);
		break;
	case XN_ELFNOTE_GUEST_OS: note_str(ki->guest_os, sizeof(ki->guest_os), d, n); break;
	case XN_ELFNOTE_LOADER: note_str(ki->loader, sizeof(ki->loader), d, n); break;
	case XN_ELFNOTE_FEATURES: note_str(ki->features, sizeof(ki->features), d, n); break;
	default: /* GUEST_VERSION, PAE_MODE, ...: not needed for the decision */ break;
	}
	return 0;
}

/* The notes in buf[0..len) (one segment or section), 4- or 8-byte
 * aligned: the description starts at the first aligned offset after the
 * name, the next note at the first after the description (so a 4-byte name
 * in an 8-aligned area needs no padding).  where names it for messages. */
static int parse_notes(const struct elf *e, const uint8_t *buf, uint64_t len, uint64_t align,
		       const char *where, struct xn_kernel_info *ki, struct budget *seen,
		       xn_err *err)
{
	uint64_t off = 0;

	align = align == 8 ? 8 : 4;
	while (off < len) {
		uint64_t left = len - off, desc, end;
		uint32_t namesz, descsz, type;

		if (left < 12) {
			for (uint64_t i = off; i < len; i++)
				if (buf[i] != 0)
					return xn_error(err, ENOEXEC,
							"ELF: %s: a truncated note header at "
							"offset %llu (%llu bytes left, 12 needed)",
							where, (unsigned long long)off,
							(unsigned long long)left);
			break; /* padding */
		}
		if (++seen->notes > XN_ELF_MAX_NOTES)
			return xn_error(err, ENOEXEC, "ELF: more than %u notes", XN_ELF_MAX_NOTES);
		namesz = g32(e, buf + off);
		descsz = g32(e, buf + off + 4);
		type = g32(e, buf + off + 8);
		/* offsets < 2^20 plus 32-bit sizes: no overflow in 64 bits */
		desc = (off + 12 + namesz + align - 1) / align * align;
		end = desc + descsz;
		if (off + 12 + namesz > len || end > len)
			return xn_error(err, ENOEXEC,
					"ELF: %s: the note at offset %llu overflows it: name %u "
					"bytes, description %u bytes, %llu bytes left",
					where, (unsigned long long)off, namesz, descsz,
					(unsigned long long)left);
		if (namesz == 4 && memcmp(buf + off + 12, "Xen", 4) == 0) {
			ki->nnotes++;
			if (xen_note(e, type, buf + desc, descsz, ki, err) < 0)
				return xn_error_wrap(err, "ELF: %s", where);
		}
		/* the last note may lack its padding */
		off = (end + align - 1) / align * align;
	}
	return 0;
}

/* Read one note area (segment or section) and parse it. */
static int note_area(const struct elf *e, uint64_t off, uint64_t size, uint64_t align,
		     const char *where, struct xn_kernel_info *ki, struct budget *seen, xn_err *err)
{
	cleanup_free uint8_t *buf = NULL;

	if (size == 0)
		return 0;
	if (size > XN_ELF_MAX_NOTE_AREA)
		return xn_error(err, ENOEXEC,
				"ELF: %s: %llu bytes of notes, more than the limit %u", where,
				(unsigned long long)size, XN_ELF_MAX_NOTE_AREA);
	seen->bytes += size; /* <= 4096 areas x 1 MiB: no overflow */
	if (seen->bytes > XN_ELF_MAX_NOTE_BYTES)
		return xn_error(err, ENOEXEC, "ELF: more than %u bytes of notes in all",
				XN_ELF_MAX_NOTE_BYTES);
	buf = xn_xmalloc((size_t)size);
	if (rd(e->s, off, buf, (size_t)size, where, err) < 0)
		return -1;
	return parse_notes(e, buf, size, align, where, ki, seen, err);
}

/* A header table (program or section headers) lies inside the file. */
static int table_check(const struct elf *e, const char *what, uint64_t off, unsigned num,
		       unsigned entsize, unsigned minsize, xn_err *err)
{
	uint64_t bytes = (uint64_t)num * entsize; /* < 2^32: both are < 2^16 */

	if (num == 0)
		return 0;
	if (num > XN_ELF_MAX_HEADERS)
		return xn_error(err, ENOEXEC, "ELF: %u %s, more than the limit %u", num, what,
				XN_ELF_MAX_HEADERS);
	if (entsize < minsize)
		return xn_error(err, ENOEXEC, "ELF: %s of %u bytes each, at least %u expected",
				what, entsize, minsize);
	if (off > e->s->size || bytes > e->s->size - off)
		return xn_error(err, ENOEXEC,
				"ELF: %s (offset %llu, %u x %u bytes) beyond the end of the file "
				"(%llu bytes)",
				what, (unsigned long long)off, num, entsize,
				(unsigned long long)e->s->size);
	return 0;
}

struct shdr {
	uint32_t name, type, link, info;
	uint64_t offset, size, align;
};

static int read_shdr(const struct elf *e, unsigned i, struct shdr *sh, xn_err *err)
{
	uint8_t b[64];
	unsigned n = e->is64 ? 64 : 40;

	if (rd(e->s, e->shoff + (uint64_t)i * e->shentsize, b, n, "section header", err) < 0)
		return -1;
	sh->name = g32(e, b);
	sh->type = g32(e, b + 4);
	if (e->is64) {
		sh->offset = g64(e, b + 24);
		sh->size = g64(e, b + 32);
		sh->link = g32(e, b + 40);
		sh->info = g32(e, b + 44);
		sh->align = g64(e, b + 48);
	} else {
		sh->offset = g32(e, b + 16);
		sh->size = g32(e, b + 20);
		sh->link = g32(e, b + 24);
		sh->info = g32(e, b + 28);
		sh->align = g32(e, b + 32);
	}
	return 0;
}

static int phdr_notes(const struct elf *e, struct xn_kernel_info *ki, struct budget *seen,
		      xn_err *err)
{
	for (unsigned i = 0; i < e->phnum; i++) {
		uint8_t b[56];
		char where[48];
		uint64_t off, size, align;

		if (rd(e->s, e->phoff + (uint64_t)i * e->phentsize, b, e->is64 ? 56 : 32,
		       "program header", err) < 0)
			return -1;
		if (g32(e, b) != PT_NOTE)
			continue;
		if (e->is64) {
			off = g64(e, b + 8);
			size = g64(e, b + 32);
			align = g64(e, b + 48);
		} else {
			off = g32(e, b + 4);
			size = g32(e, b + 16);
			align = g32(e, b + 28);
		}
		snprintf(where, sizeof(where), "note segment %u", i);
		if (note_area(e, off, size, align, where, ki, seen, err) < 0)
			return -1;
	}
	return 0;
}

/* Is section sh named "__xen_guest"?  Names come from the section name
 * table, whose bounds were checked. */
static int named_xen_guest(const struct elf *e, const struct shdr *strtab, const struct shdr *sh,
			   bool *yes, xn_err *err)
{
	char name[SHSTR_NAME_MAX];
	uint64_t n = SHSTR_NAME_MAX;

	*yes = false;
	if (sh->name >= strtab->size)
		return xn_error(err, ENOEXEC,
				"ELF: a section name at offset %u, beyond the name table (%llu "
				"bytes)",
				sh->name, (unsigned long long)strtab->size);
	if (strtab->size - sh->name < n)
		n = strtab->size - sh->name;
	if (rd(e->s, strtab->offset + sh->name, name, (size_t)n, "section name", err) < 0)
		return -1;
	*yes = n == SHSTR_NAME_MAX && memcmp(name, "__xen_guest", SHSTR_NAME_MAX) == 0;
	return 0;
}

/* The legacy string: "GUEST_OS=linux,XEN_VER=xen-3.0,LOADER=generic,...". */
static int xen_guest(const struct elf *e, const struct shdr *sh, struct xn_kernel_info *ki,
		     xn_err *err)
{
	char buf[XEN_GUEST_MAX + 1], *save = NULL;
	size_t n = sh->size > XEN_GUEST_MAX ? XEN_GUEST_MAX : (size_t)sh->size;

	if (rd(e->s, sh->offset, buf, n, "section __xen_guest", err) < 0)
		return -1;
	buf[n] = '\0';
	ki->notes_in = "__xen_guest";
	for (char *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');

		if (v == NULL)
			continue;
		*v++ = '\0';
		if (strcmp(kv, "GUEST_OS") == 0)
			note_str(ki->guest_os, sizeof(ki->guest_os), (uint8_t *)v, strlen(v));
		else if (strcmp(kv, "XEN_VER") == 0)
			note_str(ki->xen_version, sizeof(ki->xen_version), (uint8_t *)v, strlen(v));
		else if (strcmp(kv, "LOADER") == 0)
			note_str(ki->loader, sizeof(ki->loader), (uint8_t *)v, strlen(v));
	}
	return 0;
}

/* Sections: the name table's index, then SHT_NOTE sections (when the
 * segments had no Xen note), then __xen_guest (when still none). */
static int section_notes(const struct elf *e, struct xn_kernel_info *ki, struct budget *seen,
			 xn_err *err)
{
	struct shdr strtab = {0}, sh;
	bool have_names = false;

	if (e->shnum == 0 || ki->nnotes > 0) /* libelf: segments first */
		return 0;
	if (e->shstrndx != 0) {
		if (e->shstrndx >= e->shnum)
			return xn_error(err, ENOEXEC,
					"ELF: section name table index %u out of range (%u "
					"sections)",
					e->shstrndx, e->shnum);
		if (read_shdr(e, e->shstrndx, &strtab, err) < 0)
			return -1;
		if (strtab.offset > e->s->size || strtab.size > e->s->size - strtab.offset)
			return xn_error(err, ENOEXEC,
					"ELF: section name table (offset %llu, %llu bytes) beyond "
					"the end of the file (%llu bytes)",
					(unsigned long long)strtab.offset,
					(unsigned long long)strtab.size,
					(unsigned long long)e->s->size);
		have_names = true;
	}
	for (unsigned i = 0; i < e->shnum; i++) {
		char where[48];

		if (read_shdr(e, i, &sh, err) < 0)
			return -1;
		if (sh.type != SHT_NOTE)
			continue;
		snprintf(where, sizeof(where), "note section %u", i);
		if (note_area(e, sh.offset, sh.size, sh.align, where, ki, seen, err) < 0)
			return -1;
	}
	if (ki->nnotes > 0) {
		ki->notes_in = "sections";
		return 0;
	}
	for (unsigned i = 1; have_names && i < e->shnum; i++) {
		bool yes;

		if (read_shdr(e, i, &sh, err) < 0 ||
		    named_xen_guest(e, &strtab, &sh, &yes, err) < 0)
			return -1;
		if (yes)
			return xen_guest(e, &sh, ki, err);
	}
	return 0;
}

/* libelf's elf_xen_note_check, per type. */
static void decide(struct xn_kernel_info *ki, unsigned machine)
{
	bool notes = ki->nnotes > 0 || ki->notes_in != NULL;

	ki->types_known = true;
	ki->types = 0;
	if (machine != EM_X86_64 && machine != EM_386)
		return; /* Arm boots Image/zImage; other machines not at all */
	if (ki->has_phys32_entry)
		ki->types |= XN_KTYPE_PVH;
	if (notes &&
	    (strncmp(ki->loader, "generic", 7) == 0 || strncmp(ki->guest_os, "linux", 5) == 0) &&
	    strncmp(ki->xen_version, "xen-3.0", 7) == 0)
		ki->types |= XN_KTYPE_PV;
}

static int inspect_elf(const struct src *s, const uint8_t *h, size_t hlen,
		       struct xn_kernel_info *ki, xn_err *err)
{
	struct elf e = {.s = s};
	unsigned machine;
	struct budget seen = {0};

	if (hlen < 16)
		return xn_error(err, ENOEXEC, "ELF: identification truncated (%zu bytes)", hlen);
	if (h[4] != 1 && h[4] != 2)
		return xn_error(err, ENOEXEC, "ELF: class %u is neither 32- nor 64-bit", h[4]);
	if (h[5] != 1 && h[5] != 2)
		return xn_error(err, ENOEXEC,
				"ELF: data encoding %u is neither little nor big endian", h[5]);
	e.is64 = h[4] == 2;
	e.be = h[5] == 2;
	ki->elf_class = e.is64 ? 64 : 32;
	ki->big_endian = e.be;
	if (hlen < (e.is64 ? 64u : 52u))
		return xn_error(err, ENOEXEC, "ELF: header truncated (%zu bytes of %u)", hlen,
				e.is64 ? 64u : 52u);
	machine = g16(&e, h + 18);
	ki->arch = machine == EM_X86_64	   ? "x86_64"
		   : machine == EM_386	   ? "x86_32"
		   : machine == EM_AARCH64 ? "arm64"
		   : machine == EM_ARM	   ? "arm32"
					   : "other";
	if (e.is64) {
		e.phoff = g64(&e, h + 32);
		e.shoff = g64(&e, h + 40);
		e.phentsize = g16(&e, h + 54);
		e.phnum = g16(&e, h + 56);
		e.shentsize = g16(&e, h + 58);
		e.shnum = g16(&e, h + 60);
		e.shstrndx = g16(&e, h + 62);
	} else {
		e.phoff = g32(&e, h + 28);
		e.shoff = g32(&e, h + 32);
		e.phentsize = g16(&e, h + 42);
		e.phnum = g16(&e, h + 44);
		e.shentsize = g16(&e, h + 46);
		e.shnum = g16(&e, h + 48);
		e.shstrndx = g16(&e, h + 50);
	}
	if (e.shoff == 0)
		e.shnum = e.shstrndx = 0;
	/* extended numbering: the real counts live in section header 0 */
	if (e.shoff != 0 && (e.shnum == 0 || e.phnum == PN_XNUM || e.shstrndx == SHN_XINDEX)) {
		struct shdr sh0;

		if (table_check(&e, "section headers", e.shoff, 1, e.shentsize, e.is64 ? 64 : 40,
				err) < 0 ||
		    read_shdr(&e, 0, &sh0, err) < 0)
			return -1;
		if (e.shnum == 0)
			e.shnum = sh0.size > XN_ELF_MAX_HEADERS + 1u ? XN_ELF_MAX_HEADERS + 1u
								     : (unsigned)sh0.size;
		if (e.phnum == PN_XNUM)
			e.phnum = sh0.info;
		if (e.shstrndx == SHN_XINDEX)
			e.shstrndx = sh0.link;
	}
	if (table_check(&e, "program headers", e.phoff, e.phnum, e.phentsize, e.is64 ? 56 : 32,
			err) < 0 ||
	    table_check(&e, "section headers", e.shoff, e.shnum, e.shentsize, e.is64 ? 64 : 40,
			err) < 0)
		return -1;
	if (phdr_notes(&e, ki, &seen, err) < 0)
		return -1;
	if (ki->nnotes > 0)
		ki->notes_in = "program headers";
	if (section_notes(&e, ki, &seen, err) < 0)
		return -1;
	decide(ki, machine);
	return 0;
}

static bool is_compressed(const uint8_t *h, size_t n)
{
	static const struct {
		const char *magic;
		size_t len;
	} m[] = {
	    {"\x1f\x8b", 2}, /* gzip */
	    {"\xfd"
	     "7zXZ\0",
	     6},		     /* xz */
	    {"BZh", 3},		     /* bzip2 */
	    {"\x5d\0\0", 3},	     /* lzma */
	    {"\x02\x21\x4c\x18", 4}, /* lz4 legacy */
	    {"\x04\x22\x4d\x18", 4}, /* lz4 frame */
	    {"\x28\xb5\x2f\xfd", 4}, /* zstd */
	};

	for (size_t i = 0; i < XN_ARRAY_SIZE(m); i++)
		if (n >= m[i].len && memcmp(h, m[i].magic, m[i].len) == 0)
			return true;
	return false;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

int xn_kernel_inspect(int fd, struct xn_kernel_info *ki, xn_err *err)
{
	uint8_t h[1024];
	struct stat st;
	struct src s = {.fd = fd};
	size_t n;

	memset(ki, 0, sizeof(*ki));
	ki->arch = "";
	if (fstat(fd, &st) < 0)
		return xn_error_errno(err, errno, "kernel: fstat");
	if (!S_ISREG(st.st_mode))
		return xn_error(err, ENOEXEC, "kernel: not a regular file");
	s.size = (uint64_t)st.st_size;
	n = s.size < sizeof(h) ? (size_t)s.size : sizeof(h);
	if (rd(&s, 0, h, n, "file header", err) < 0)
		return -1;
	if (n >= 4 && memcmp(h,
			     "\x7f"
			     "ELF",
			     4) == 0) {
		ki->format = XN_KFMT_ELF;
		return inspect_elf(&s, h, n, ki, err);
	}
	if (n >= 0x206 && memcmp(h + 0x202, "HdrS", 4) == 0) {
		ki->format = XN_KFMT_BZIMAGE;
		ki->arch = "x86_64"; /* or 32-bit: both boot on an x86 host */
	} else if (n >= 64 && le32(h + 56) == 0x644d5241) {
		ki->format = XN_KFMT_ARM64_IMAGE;
		ki->arch = "arm64";
		ki->types_known = true;
		ki->types = XN_KTYPE_PVH;
	} else if (n >= 0x28 && le32(h + 0x24) == 0x016f2818) {
		ki->format = XN_KFMT_ARM_ZIMAGE;
		ki->arch = "arm32";
		ki->types_known = true;
		ki->types = XN_KTYPE_PVH;
	} else if (is_compressed(h, n)) {
		ki->format = XN_KFMT_COMPRESSED;
	}
	return 0;
}

/* ---- the decision ---- */

static bool arm(const char *a)
{
	return strcmp(a, "arm64") == 0 || strcmp(a, "arm32") == 0;
}

static bool x86(const char *a)
{
	return strcmp(a, "x86_64") == 0 || strcmp(a, "x86_32") == 0;
}

static const char *upper(enum xn_guest_type t)
{
	return t == XN_GUEST_PV ? "PV" : "PVH";
}

int xn_kernel_choose_type(const struct xn_kernel_info *ki, const char *host, bool type_given,
			  enum xn_guest_type requested, bool non_kernels_ok,
			  enum xn_guest_type *chosen, xn_err *err)
{
	enum xn_guest_type other = requested == XN_GUEST_PV ? XN_GUEST_PVH : XN_GUEST_PV;

	if (ki->format == XN_KFMT_UNKNOWN) {
		if (!non_kernels_ok)
			return xn_error(err, ENOEXEC,
					"not a kernel Xen can boot: neither an ELF nor a bzImage, "
					"arm64 Image, arm zImage or compressed kernel");
		*chosen = type_given ? requested : XN_GUEST_PVH;
		return 0;
	}
	if (ki->arch[0] != '\0' && !(x86(ki->arch) && x86(host)) && !(arm(ki->arch) && arm(host)))
		return xn_error(err, ENOEXEC, "an %s kernel (%s): this node is %s", ki->arch,
				xn_kernel_format_name(ki->format), host);
	if (ki->format == XN_KFMT_ELF && arm(ki->arch))
		return xn_error(err, ENOEXEC,
				"an %s ELF: Xen on Arm boots an Image or zImage, not an ELF "
				"kernel",
				ki->arch);
	if (!ki->types_known) { /* bzImage, compressed: libxc reads the notes */
		*chosen = type_given ? requested : XN_GUEST_PVH;
		return 0;
	}
	if (ki->types == 0 && ki->nnotes == 0 && ki->notes_in == NULL)
		return xn_error(err, ENOEXEC,
				"ELF without Xen notes: Xen cannot boot it (no "
				"XEN_ELFNOTE_PHYS32_ENTRY for PVH, no Xen notes or __xen_guest "
				"for PV)");
	if (ki->types == 0)
		return xn_error(err, ENOEXEC,
				"the kernel's Xen notes allow neither PV (LOADER \"%s\", GUEST_OS "
				"\"%s\", XEN_VERSION \"%s\": PV needs LOADER generic or GUEST_OS "
				"linux, and XEN_VERSION xen-3.0) nor PVH (no "
				"XEN_ELFNOTE_PHYS32_ENTRY)",
				ki->loader, ki->guest_os, ki->xen_version);
	if (type_given && !(ki->types & (1u << requested))) {
		if (ki->format != XN_KFMT_ELF)
			return xn_error(err, ENOEXEC,
					"%s-only kernel asked to run as %s (an %s: Xen on Arm "
					"boots every guest as PVH)",
					upper(other), upper(requested),
					xn_kernel_format_name(ki->format));
		return xn_error(err, ENOEXEC,
				"%s-only kernel asked to run as %s (the kernel's Xen ELF notes "
				"allow: %s)",
				upper(other), upper(requested), xn_kernel_types_text(ki->types));
	}
	if (type_given)
		*chosen = requested;
	else
		*chosen = (ki->types & XN_KTYPE_PVH) ? XN_GUEST_PVH : XN_GUEST_PV;
	return 0;
}
