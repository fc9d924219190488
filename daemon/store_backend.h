/* store_backend.h - what a store backend implements (store_xs, store_mem).
 *
 * store.c checks paths and schema and runs the transaction retry loop; a
 * backend only moves bytes.  tx 0 means "no transaction".  A commit that
 * lost a race fails with status EAGAIN and changes nothing.
 */
#ifndef XENLET_STORE_BACKEND_H
#define XENLET_STORE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenlet/store.h"

struct xn_store_ops {
	const char *name;
	int (*open)(struct xn_store *st, xn_err *err);
	void (*close)(struct xn_store *st);
	/* Make every change so far durable now; NULL: nothing to do (xs). */
	int (*flush)(struct xn_store *st, xn_err *err);
	int (*tx_start)(struct xn_store *st, uint32_t *tx, xn_err *err);
	int (*tx_end)(struct xn_store *st, uint32_t tx, bool abort, xn_err *err);
	/* *val malloc'd and NUL-terminated; *len excludes the terminator */
	int (*get)(struct xn_store *st, uint32_t tx, const char *path, char **val, size_t *len,
		   xn_err *err);
	int (*set)(struct xn_store *st, uint32_t tx, const char *path, const char *val, size_t len,
		   xn_err *err);
	int (*rm)(struct xn_store *st, uint32_t tx, const char *path, xn_err *err);
	/* *names NULL-terminated, each and the array malloc'd */
	int (*list)(struct xn_store *st, uint32_t tx, const char *path, char ***names, size_t *n,
		    xn_err *err);
	int (*set_perms)(struct xn_store *st, uint32_t tx, const char *path,
			 const struct xn_store_perm *perms, size_t n, xn_err *err);
	int (*get_perms)(struct xn_store *st, uint32_t tx, const char *path,
			 struct xn_store_perm **perms, size_t *n, xn_err *err);
	/* Start / stop delivering events of watch id (path in st->watches). */
	int (*watch)(struct xn_store *st, int id, const char *path, xn_err *err);
	void (*unwatch)(struct xn_store *st, int id, const char *path);
};

extern const struct xn_store_ops xn_store_ops_xs;
extern const struct xn_store_ops xn_store_ops_mem;

struct xn_store_watch_ent {
	int id;
	char *path;
	xn_store_watch_cb cb;
	void *arg;
};

struct xn_store {
	const struct xn_store_ops *ops;
	struct event_base *base;
	void *priv; /* the backend's */
	struct xn_store_watch_ent *watches;
	size_t nwatches;
	int next_watch_id;
};

/* A backend reports a hit of watch id; ignored when id was unwatched. */
void xn_store_watch_fire(struct xn_store *st, int id, const char *path);

/* Is path a well-formed absolute xenstore path (xenstored's rules)? */
int xn_store_path_check(const char *path, xn_err *err);

#endif
