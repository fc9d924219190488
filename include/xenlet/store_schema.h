/* store_schema.h - the xenstore schema as data (xenstore-schema/schema.txt).
 *
 * daemon/store_schema.c holds the table; test_schema.c checks it equals
 * schema.txt line by line.  Paths contain variables ($DOMID, $UID, ...),
 * each with its own syntax and length limit.
 */
#ifndef XENLET_STORE_SCHEMA_H
#define XENLET_STORE_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "xenlet/err.h"

struct xn_schema_var {
	const char *name; /* "$DOMID" */
	const char *syntax;
	unsigned max_len;
};

struct xn_schema_key {
	const char *path;   /* "/local/domain/$DOMID/data/xenlet/ready" */
	const char *syntax; /* "INTEGER(0..255)", "(\"0\"|\"1\")", "DIR", ... */
	unsigned max_len;   /* bytes */
	const char *perms;  /* "n", "r" or "w" (see schema.txt) */
	const char *writer; /* "dom0" or "guest" */
};

extern const struct xn_schema_var xn_schema_vars[];
extern const size_t xn_schema_nvars;
extern const struct xn_schema_key xn_schema_keys[];
extern const size_t xn_schema_nkeys;

/* The key whose pattern matches path (variables checked against their
 * syntax and length), or NULL. */
const struct xn_schema_key *xn_schema_lookup(const char *path);

/* Is syntax one this module understands?  (Checked for every table row by
 * the tests.) */
bool xn_schema_syntax_known(const char *syntax);

/* Check len bytes of val (which may hold NUL bytes: they are rejected)
 * against a syntax, or against a key's length limit then its syntax.
 * The error says what is wrong but does not echo the value. */
int xn_schema_check_syntax(const char *syntax, const char *val, size_t len, xn_err *err);
int xn_schema_check_value(const struct xn_schema_key *k, const char *val, size_t len, xn_err *err);

#endif
