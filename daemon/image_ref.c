/* image_ref.c - image references, parsed and normalised (see image_ref.h). */
#include <errno.h>
#include <string.h>

#include "xenlet/image_ref.h"
#include "xenlet/util.h"

#define DOCKER_DOMAIN "docker.io"

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool alnum(char c)
{
	return lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool hex_lower(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool xn_digest_valid(const char *s)
{
	if (s == NULL || strncmp(s, "sha256:", 7) != 0 || strlen(s) != XN_DIGEST_LEN)
		return false;
	for (s += 7; *s; s++)
		if (!hex_lower(*s))
			return false;
	return true;
}

/* One path component, s[0..n): [a-z0-9]+ ( ("." | "_" | "__" | "-"+) [a-z0-9]+ )* */
static bool path_component(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
		return false;
	while (i < n) {
		if (lower_alnum(s[i])) {
			i++;
			continue;
		}
		if (s[i] == '.' || s[i] == '_') {
			size_t run = s[i] == '_' && i + 1 < n && s[i + 1] == '_' ? 2 : 1;

			i += run;
		} else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else {
			return false;
		}
		if (i >= n || !lower_alnum(s[i]))
			return false; /* a separator is followed by a letter or digit */
	}
	return true;
}

/* A DNS-ish host component: [A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])? */
static bool host_component(const char *s, size_t n)
{
	if (n == 0 || !alnum(s[0]) || !alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool domain_valid(const char *d, size_t n)
{
	size_t host_end = n, i, start;
	const char *colon;

	if (n > 0 && d[0] == '[') {
		const char *close = memchr(d, ']', n);

		if (close == NULL || close == d + 1)
			return false;
		for (const char *p = d + 1; p < close; p++)
			if (!hex_lower((char)(*p | 0x20)) && *p != ':')
				return false;
		host_end = (size_t)(close - d) + 1;
		if (host_end == n)
			return true;
		if (d[host_end] != ':')
			return false;
	} else {
		colon = memchr(d, ':', n);
		if (colon != NULL)
			host_end = (size_t)(colon - d);
		for (start = i = 0; i <= host_end; i++) {
			if (i == host_end || d[i] == '.') {
				if (!host_component(d + start, i - start))
					return false;
				start = i + 1;
			}
		}
		if (host_end == n)
			return true;
	}
	/* ":" port */
	if (host_end + 1 >= n || n - host_end - 1 > 5)
		return false;
	for (i = host_end + 1; i < n; i++)
		if (d[i] < '0' || d[i] > '9')
			return false;
	return true;
}

static bool tag_valid(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > XN_IMAGE_TAG_MAX || (!alnum(t[0]) && t[0] != '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!alnum(t[i]) && t[i] != '_' && t[i] != '.' && t[i] != '-')
			return false;
	return true;
}

/* algorithm ":" encoded, as go-digest's grammar; only sha256 is usable. */
static int digest_check(const char *ref, const char *dg, xn_err *err)
{
	const char *colon = strchr(dg, ':');

	if (colon == NULL || colon == dg || colon[1] == '\0')
		return xn_error(err, EINVAL, "image \"%s\": digest \"%s\": not algorithm:hex", ref,
				dg);
	if ((size_t)(colon - dg) != 6 || strncmp(dg, "sha256", 6) != 0) {
		for (const char *p = dg; p < colon; p++)
			if (!lower_alnum(*p) && !strchr("+._-", *p))
				return xn_error(err, EINVAL,
						"image \"%s\": digest \"%s\": malformed algorithm",
						ref, dg);
		return xn_error(err, ENOTSUP,
				"image \"%s\": digest algorithm \"%.*s\" unsupported (only sha256)",
				ref, (int)(colon - dg), dg);
	}
	if (!xn_digest_valid(dg))
		return xn_error(err, EINVAL,
				"image \"%s\": digest \"%s\": sha256 needs 64 lowercase hex digits",
				ref, dg);
	return 0;
}

static bool is_hex64(const char *s)
{
	size_t n = strlen(s);

	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!hex_lower(s[i]))
			return false;
	return true;
}

int xn_image_ref_parse(const char *s, struct xn_image_ref *out, xn_err *err)
{
	cleanup_free char *name = NULL;
	char *at, *slash, *colon, *remote, *p;
	const char *first_end;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (s == NULL || s[0] == '\0')
		return xn_error(err, EINVAL, "image reference: empty");
	if (strlen(s) > 4096)
		return xn_error(err, EINVAL, "image reference: longer than 4096 bytes");
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
			return xn_error(
			    err, EINVAL,
			    "image \"%s\": invalid reference format (a blank or control "
			    "character)",
			    s);
	name = xn_xstrdup(s);
	at = strchr(name, '@');
	if (at != NULL) {
		*at = '\0';
		if (digest_check(s, at + 1, err) < 0)
			goto out;
		out->digest = xn_xstrdup(at + 1);
	}
	slash = strrchr(name, '/');
	colon = strrchr(name, ':');
	if (colon != NULL && (slash == NULL || colon > slash)) {
		*colon = '\0';
		if (!tag_valid(colon + 1)) {
			xn_error(
			    err, EINVAL,
			    "image \"%s\": tag \"%s\": invalid (letters, digits, _ . -, at most "
			    "128, not starting with . or -)",
			    s, colon + 1);
			goto out;
		}
		out->tag = xn_xstrdup(colon + 1);
	}
	if (name[0] == '\0') {
		xn_error(err, EINVAL, "image \"%s\": invalid reference format (no repository)", s);
		goto out;
	}
	if (is_hex64(name)) {
		xn_error(err, EINVAL,
			 "image \"%s\": invalid repository name, cannot be a 64-byte hexadecimal "
			 "string",
			 s);
		goto out;
	}
	/* The domain: a first part with "." or ":", "localhost", an IPv6
	 * address, or upper case (which a path may not have). */
	slash = strchr(name, '/');
	first_end = slash;
	remote = name;
	if (slash != NULL) {
		size_t n = (size_t)(first_end - name);
		bool upper = false;

		for (size_t i = 0; i < n; i++)
			upper |= name[i] >= 'A' && name[i] <= 'Z';
		if (memchr(name, '.', n) || memchr(name, ':', n) || name[0] == '[' || upper ||
		    (n == 9 && strncmp(name, "localhost", 9) == 0)) {
			if (!domain_valid(name, n)) {
				xn_error(err, EINVAL,
					 "image \"%s\": registry \"%.*s\": invalid host", s, (int)n,
					 name);
				goto out;
			}
			out->domain = xn_xasprintf("%.*s", (int)n, name);
			remote = slash + 1;
		}
	}
	if (out->domain == NULL || strcmp(out->domain, "index.docker.io") == 0) {
		free(out->domain);
		out->domain = xn_xstrdup(DOCKER_DOMAIN);
	}
	for (p = remote; *p; p++)
		if (*p >= 'A' && *p <= 'Z') {
			xn_error(err, EINVAL,
				 "image \"%s\": repository name \"%s\" must be lowercase", s,
				 remote);
			goto out;
		}
	if (strcmp(out->domain, DOCKER_DOMAIN) == 0 && strchr(remote, '/') == NULL)
		out->path = xn_xasprintf("library/%s", remote);
	else
		out->path = xn_xstrdup(remote);
	for (p = out->path;;) {
		char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (!path_component(p, n)) {
			xn_error(err, EINVAL,
				 "image \"%s\": repository \"%s\": component \"%.*s\" invalid "
				 "(lowercase letters and digits, joined by . _ __ or -)",
				 s, remote, (int)n, p);
			goto out;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	if (strlen(out->domain) + 1 + strlen(out->path) > XN_IMAGE_NAME_MAX) {
		xn_error(err, EINVAL, "image \"%s\": repository name longer than %d bytes", s,
			 XN_IMAGE_NAME_MAX);
		goto out;
	}
	if (out->tag == NULL && out->digest == NULL)
		out->tag = xn_xstrdup("latest");
	rc = 0;
out:
	if (rc < 0)
		xn_image_ref_dispose(out);
	return rc;
}

void xn_image_ref_dispose(struct xn_image_ref *r)
{
	free(r->domain);
	free(r->path);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}

char *xn_image_ref_string(const struct xn_image_ref *r)
{
	return xn_xasprintf("%s/%s%s%s%s%s", r->domain, r->path, r->tag ? ":" : "",
			    r->tag ? r->tag : "", r->digest ? "@" : "", r->digest ? r->digest : "");
}

const char *xn_image_ref_object(const struct xn_image_ref *r)
{
	return r->digest ? r->digest : r->tag;
}

const char *xn_image_ref_registry_host(const struct xn_image_ref *r)
{
	return strcmp(r->domain, DOCKER_DOMAIN) == 0 ? "registry-1.docker.io" : r->domain;
}
