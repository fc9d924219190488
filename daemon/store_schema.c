/* store_schema.c - the xenstore schema table and its value syntaxes. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenlet/store_schema.h"
#include "xenlet/util.h"

/* Keep in step with xenstore-schema/schema.txt: test_schema compares them. */
const struct xn_schema_var xn_schema_vars[] = {
    {"$DOMID", "INTEGER(0..32751)", 5},
    {"$UID", "SEGMENT", 64},
    {"$ENVNAME", "C_IDENT", 128},
    {"$METRIC", "C_IDENT", 64},
};
const size_t xn_schema_nvars = XN_ARRAY_SIZE(xn_schema_vars);

#define POD "/xenlet/pods/$UID"
#define CFG "/local/domain/$DOMID/xenlet"
#define DAT "/local/domain/$DOMID/data/xenlet"
#define NET "/xenlet/net/pods/$UID"

const struct xn_schema_key xn_schema_keys[] = {
    {"/xenlet", "DIR", 0, "n", "dom0"},
    {"/xenlet/node", "DIR", 0, "n", "dom0"},
    {"/xenlet/node/name", "DNS_SUBDOMAIN", 253, "n", "dom0"},
    {"/xenlet/node/boot-id", "UUID", 36, "n", "dom0"},
    {"/xenlet/node/started-at", "INTEGER(0..9999999999)", 10, "n", "dom0"},
    {"/xenlet/node/version", "WORD", 64, "n", "dom0"},
    {"/xenlet/pods", "DIR", 0, "n", "dom0"},
    {POD, "DIR", 0, "n", "dom0"},
    {POD "/namespace", "DNS_LABEL", 63, "n", "dom0"},
    {POD "/name", "DNS_SUBDOMAIN", 253, "n", "dom0"},
    {POD "/domain", "WORD", 63, "n", "dom0"},
    {POD "/domid", "INTEGER(1..32751)", 5, "n", "dom0"},
    {POD "/image-digest", "DIGEST", 135, "n", "dom0"},
    {POD "/ip", "IPV4_ADDRESS", 15, "n", "dom0"},
    {POD "/mac", "MAC_ADDRESS", 17, "n", "dom0"},
    {POD "/restart-count", "INTEGER(0..4294967295)", 10, "n", "dom0"},
    {POD "/last-exit", "INTEGER(-2147483648..2147483647)", 11, "n", "dom0"},
    {POD "/last-reason", "WORD", 32, "n", "dom0"},
    {POD "/started-at", "INTEGER(1..9999999999)", 10, "n", "dom0"},
    {POD "/finished-at", "INTEGER(1..9999999999)", 10, "n", "dom0"},
    {"/xenlet/net", "DIR", 0, "n", "dom0"},
    {"/xenlet/net/pods", "DIR", 0, "n", "dom0"},
    {NET, "DIR", 0, "n", "dom0"},
    {NET "/ipv4", "IPV4_ADDRESS", 15, "n", "dom0"},
    {NET "/ipv6", "IPV6_ADDRESS", 39, "n", "dom0"},
    {NET "/mac", "MAC_ADDRESS", 17, "n", "dom0"},

    {CFG, "DIR", 0, "r", "dom0"},
    {CFG "/ip", "IPV4_ADDRESS", 15, "r", "dom0"},
    {CFG "/prefix", "INTEGER(0..32)", 2, "r", "dom0"},
    {CFG "/netmask", "IPV4_ADDRESS", 15, "r", "dom0"},
    {CFG "/gateway", "IPV4_ADDRESS", 15, "r", "dom0"},
    {CFG "/ipv6", "IPV6_ADDRESS", 39, "r", "dom0"},
    {CFG "/ipv6-prefix", "INTEGER(0..128)", 3, "r", "dom0"},
    {CFG "/ipv6-gateway", "IPV6_ADDRESS", 39, "r", "dom0"},
    {CFG "/mac", "MAC_ADDRESS", 17, "r", "dom0"},
    {CFG "/mtu", "INTEGER(68..65535)", 5, "r", "dom0"},
    {CFG "/dns", "IP_LIST", 119, "r", "dom0"},
    {CFG "/search", "DNS_SEARCH", 2048, "r", "dom0"},
    {CFG "/dns-options", "WORD_LIST", 1024, "r", "dom0"},
    {CFG "/hostname", "DNS_LABEL", 63, "r", "dom0"},
    {CFG "/pod-name", "DNS_SUBDOMAIN", 253, "r", "dom0"},
    {CFG "/pod-namespace", "DNS_LABEL", 63, "r", "dom0"},
    {CFG "/pod-uid", "SEGMENT", 64, "r", "dom0"},
    {CFG "/env", "DIR", 0, "r", "dom0"},
    {CFG "/env/$ENVNAME", "STRING", 2048, "r", "dom0"},

    {DAT, "DIR", 0, "w", "dom0"},
    {DAT "/ready", "(\"0\"|\"1\")", 1, "w", "guest"},
    {DAT "/exit-code", "INTEGER(0..255)", 3, "w", "guest"},
    {DAT "/status-message", "TEXT", 256, "w", "guest"},
    {DAT "/metrics", "DIR", 0, "w", "guest"},
    {DAT "/metrics/$METRIC", "DECIMAL", 32, "w", "guest"},
};
const size_t xn_schema_nkeys = XN_ARRAY_SIZE(xn_schema_keys);

static const struct xn_schema_var *var_find(const char *name, size_t len)
{
	for (size_t i = 0; i < xn_schema_nvars; i++)
		if (strlen(xn_schema_vars[i].name) == len &&
		    memcmp(xn_schema_vars[i].name, name, len) == 0)
			return &xn_schema_vars[i];
	return NULL;
}

/* Does the path segment s[0..slen) match the pattern segment p[0..plen)? */
static bool seg_match(const char *p, size_t plen, const char *s, size_t slen)
{
	const struct xn_schema_var *v;

	if (p[0] != '$')
		return plen == slen && memcmp(p, s, slen) == 0;
	v = var_find(p, plen);
	if (v == NULL || slen == 0 || slen > v->max_len)
		return false;
	return xn_schema_check_syntax(v->syntax, s, slen, NULL) == 0;
}

static bool path_match(const char *pat, const char *path)
{
	while (*pat == '/' && *path == '/') {
		const char *pe = strchrnul(pat + 1, '/');
		const char *se = strchrnul(path + 1, '/');

		if (!seg_match(pat + 1, (size_t)(pe - pat - 1), path + 1, (size_t)(se - path - 1)))
			return false;
		pat = pe;
		path = se;
	}
	return *pat == '\0' && *path == '\0';
}

const struct xn_schema_key *xn_schema_lookup(const char *path)
{
	for (size_t i = 0; i < xn_schema_nkeys; i++)
		if (path_match(xn_schema_keys[i].path, path))
			return &xn_schema_keys[i];
	return NULL;
}

/* --- value syntaxes --------------------------------------------------- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}
static bool is_alpha_(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f');
}

static bool all_of(const char *v, size_t len, const char *set)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(is_alpha_(v[i]) || is_digit(v[i]) || strchr(set, v[i])))
			return false;
	return true;
}

/* -?(0|[1-9][0-9]*) within [min, max] */
static bool ok_integer(const char *v, size_t len, int64_t min, int64_t max)
{
	char buf[24];
	size_t i = len > 0 && v[0] == '-'; /* v[0] only if there is one */
	int64_t n;

	if (len == 0 || len >= sizeof(buf) || i == len)
		return false;
	if (v[i] == '0' && (len > i + 1 || i == 1))
		return false;
	for (size_t j = i; j < len; j++)
		if (!is_digit(v[j]))
			return false;
	memcpy(buf, v, len);
	buf[len] = '\0';
	return xn_parse_i64(buf, min, max, &n) == 0;
}

static bool ok_decimal(const char *v, size_t len)
{
	size_t i = 0, int_start;

	if (i < len && v[i] == '-')
		i++;
	int_start = i;
	while (i < len && is_digit(v[i]))
		i++;
	if (i == int_start || (v[int_start] == '0' && i - int_start > 1))
		return false;
	if (i < len && v[i] == '.') {
		size_t frac = ++i;

		while (i < len && is_digit(v[i]))
			i++;
		if (i == frac)
			return false;
	}
	return i == len;
}

/* ("a"|"b"|...) */
static int enum_check(const char *syntax, const char *v, size_t len, bool *ok)
{
	const char *p = syntax + 1, *end = syntax + strlen(syntax) - 1;

	*ok = false;
	if (syntax[0] != '(' || *end != ')')
		return -1;
	while (p < end) {
		const char *q;

		if (*p != '"' || (q = memchr(p + 1, '"', (size_t)(end - p - 1))) == NULL)
			return -1;
		if ((size_t)(q - p - 1) == len && memcmp(p + 1, v, len) == 0)
			*ok = true;
		p = q + 1;
		if (p < end && *p++ != '|')
			return -1;
	}
	return 0;
}

static bool ok_ipv4(const char *v, size_t len)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		size_t start;

		if (part > 0 && (i >= len || v[i++] != '.'))
			return false;
		start = i;
		while (i < len && is_digit(v[i]))
			i++;
		if (!ok_integer(v + start, i - start, 0, 255))
			return false;
	}
	return i == len;
}

/* The canonical text form (RFC 5952: lower case, longest zero run
 * compressed), exactly as inet_ntop writes it, so one address has one
 * spelling. */
static bool ok_ipv6(const char *v, size_t len)
{
	char buf[INET6_ADDRSTRLEN], back[INET6_ADDRSTRLEN];
	struct in6_addr a;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, v, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, &a) == 1 &&
	       inet_ntop(AF_INET6, &a, back, sizeof(back)) != NULL && strcmp(buf, back) == 0;
}

/* One to three addresses, IPv4 or IPv6 (canonical), separated by ','. */
static bool ok_ip_list(const char *v, size_t len)
{
	size_t start = 0, n = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && v[i] != ',')
			continue;
		if (++n > 3 || (!ok_ipv4(v + start, i - start) && !ok_ipv6(v + start, i - start)))
			return false;
		start = i + 1;
	}
	return true;
}

/* WORDs separated by one space. */
static bool ok_word_list(const char *v, size_t len)
{
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && v[i] != ' ')
			continue;
		if (i == start || !all_of(v + start, i - start, "-.:+"))
			return false;
		start = i + 1;
	}
	return true;
}

/* DNS search domains as resolv.conf's "search" line has them: 1..32
 * DNS_SUBDOMAINs separated by one space (Kubernetes' limit is 32). */
static bool ok_dns_search(const char *v, size_t len)
{
	size_t start = 0, n = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && v[i] != ' ')
			continue;
		if (++n > 32 || !xn_dns_name(v + start, i - start, true))
			return false;
		start = i + 1;
	}
	return true;
}

static bool ok_hex_groups(const char *v, size_t len, const unsigned *groups, size_t ng, char sep)
{
	size_t i = 0;

	for (size_t g = 0; g < ng; g++) {
		if (g > 0 && (i >= len || v[i++] != sep))
			return false;
		for (unsigned k = 0; k < groups[g]; k++, i++)
			if (i >= len || !is_hex(v[i]))
				return false;
	}
	return i == len;
}

/* sha256:<64 hex> or sha512:<128 hex>, as OCI digests are written */
static bool ok_digest(const char *v, size_t len)
{
	if (!(len == 7 + 64 && memcmp(v, "sha256:", 7) == 0) &&
	    !(len == 7 + 128 && memcmp(v, "sha512:", 7) == 0))
		return false;
	for (size_t i = 7; i < len; i++)
		if (!is_hex(v[i]))
			return false;
	return true;
}

/* Valid UTF-8 without control characters (C0, DEL, C1). */
static bool ok_text(const char *s, size_t len)
{
	const unsigned char *v = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n;

		if (v[i] < 0x80) {
			if (v[i] < 0x20 || v[i] == 0x7f)
				return false;
			i++;
			continue;
		}
		if (v[i] >= 0xc2 && v[i] <= 0xdf)
			n = 1, cp = v[i] & 0x1f;
		else if (v[i] >= 0xe0 && v[i] <= 0xef)
			n = 2, cp = v[i] & 0x0f;
		else if (v[i] >= 0xf0 && v[i] <= 0xf4)
			n = 3, cp = v[i] & 0x07;
		else
			return false;
		if (i + n >= len)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((v[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (v[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
			return false;
		i += n + 1;
	}
	return true;
}

static int parse_int_range(const char *syntax, int64_t *min, int64_t *max)
{
	long long a, b;
	int used = 0;

	if (sscanf(syntax, "INTEGER(%lld..%lld)%n", &a, &b, &used) != 2 ||
	    (size_t)used != strlen(syntax) || a > b)
		return -1;
	*min = a;
	*max = b;
	return 0;
}

/* 1: ok, 0: bad value, -1: unknown syntax */
static int syntax_ok(const char *syntax, const char *v, size_t len)
{
	static const unsigned mac[] = {2, 2, 2, 2, 2, 2}, uuid[] = {8, 4, 4, 4, 12};
	int64_t min, max;
	bool ok;

	if (strcmp(syntax, "DIR") == 0)
		return len == 0;
	if (strcmp(syntax, "STRING") == 0)
		return 1;
	if (strcmp(syntax, "TEXT") == 0)
		return ok_text(v, len);
	if (strcmp(syntax, "WORD") == 0)
		return all_of(v, len, "-.:+");
	if (strcmp(syntax, "SEGMENT") == 0)
		return all_of(v, len, "-");
	if (strcmp(syntax, "C_IDENT") == 0)
		return all_of(v, len, "") && !is_digit(v[0]);
	if (strcmp(syntax, "DECIMAL") == 0)
		return ok_decimal(v, len);
	if (strcmp(syntax, "IPV4_ADDRESS") == 0)
		return ok_ipv4(v, len);
	if (strcmp(syntax, "IP_LIST") == 0)
		return ok_ip_list(v, len);
	if (strcmp(syntax, "WORD_LIST") == 0)
		return ok_word_list(v, len);
	if (strcmp(syntax, "IPV6_ADDRESS") == 0)
		return ok_ipv6(v, len);
	if (strcmp(syntax, "DNS_SEARCH") == 0)
		return ok_dns_search(v, len);
	if (strcmp(syntax, "MAC_ADDRESS") == 0)
		return ok_hex_groups(v, len, mac, XN_ARRAY_SIZE(mac), ':');
	if (strcmp(syntax, "UUID") == 0)
		return ok_hex_groups(v, len, uuid, XN_ARRAY_SIZE(uuid), '-');
	if (strcmp(syntax, "DNS_LABEL") == 0)
		return xn_dns_name(v, len, false);
	if (strcmp(syntax, "DNS_SUBDOMAIN") == 0)
		return xn_dns_name(v, len, true);
	if (strcmp(syntax, "DIGEST") == 0)
		return ok_digest(v, len);
	if (parse_int_range(syntax, &min, &max) == 0)
		return ok_integer(v, len, min, max);
	if (syntax[0] == '(' && enum_check(syntax, v, len, &ok) == 0)
		return ok;
	return -1;
}

bool xn_schema_syntax_known(const char *syntax)
{
	return syntax_ok(syntax, "", 0) >= 0;
}

int xn_schema_check_syntax(const char *syntax, const char *val, size_t len, xn_err *err)
{
	int r;

	if (memchr(val, '\0', len) != NULL)
		return xn_error(err, EINVAL, "contains a NUL byte");
	r = syntax_ok(syntax, val, len);
	if (r < 0)
		return xn_error(err, EINVAL, "schema: unknown syntax %s", syntax);
	if (r == 0)
		return xn_error(err, EINVAL, "bad syntax (want %s)", syntax);
	return 0;
}

int xn_schema_check_value(const struct xn_schema_key *k, const char *val, size_t len, xn_err *err)
{
	if (len > k->max_len)
		return xn_error(err, EINVAL, "value too long (%zu bytes, max %u)", len, k->max_len);
	return xn_schema_check_syntax(k->syntax, val, len, err);
}
