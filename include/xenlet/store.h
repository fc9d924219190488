/* store.h - our xenstore schema: what we write, with which permissions, and
 * how state is recovered after a restart.
 *
 * The schema itself is xenstore-schema/xenstore-paths.md (people) and
 * xenstore-schema/schema.txt (code and tests check against it).  Two
 * backends share one API: "xs" (libxenstore; EAGAIN transaction loop;
 * watches through xs_fileno in the event loop) and "mem" (in-memory, for
 * hv_sim and tests, same semantics including permissions and watches).
 *
 * Three areas:
 *   /xenlet/node/...                 Dom0 only: node-wide records
 *   /xenlet/pods/<uid>/...           Dom0 only: one record per pod
 *   /local/domain/<domid>/xenlet/... the guest may read, not write
 *   /local/domain/<domid>/data/xenlet/...  the guest may write: untrusted,
 *                                    read through xn_store_guest_data_get()
 *
 * "mem" keeps its tree in memory only, or, when XN_STORE_MEM_FILE names a
 * file, also there, so that a restarted daemon finds its records as it
 * would in real xenstore: at the end of each event-loop turn that changed
 * the tree (after the turn's callbacks, before the loop waits again) the
 * turn's changes are appended to FILE.journal with one fsync; FILE itself
 * (JSON, rewritten atomically) takes the journal in when it has grown.  A
 * reply queued on a bufferevent in that turn leaves after the changes are
 * durable; a daemon killed mid-turn loses only that turn's changes.
 * xn_store_flush() writes at once, xn_store_close() writes what is left.
 * A failed write is logged and retried (the calls that changed the tree
 * have succeeded).
 */
#ifndef XENLET_STORE_H
#define XENLET_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenlet/err.h"

struct event_base;
struct xn_store;

/* One pod as Dom0 remembers it. Strings are owned (malloc'd). */
struct xn_pod_record {
	char *uid;	    /* Kubernetes pod uid (or a local uid for static pods) */
	char *ns;	    /* namespace */
	char *name;	    /* pod name */
	char *domain;	    /* Xen domain name */
	uint32_t domid;	    /* XN_DOMID_INVALID when no domain runs */
	char *image_digest; /* "sha256:..." or NULL */
	char *ip;	    /* NULL until assigned */
	char *mac;	    /* NULL until assigned */
	unsigned restart_count;
	int last_exit;	      /* -1: never exited */
	char *last_reason;    /* "poweroff", "crash", ... or NULL */
	uint64_t started_at;  /* unix seconds of the current instance, 0 if none */
	uint64_t finished_at; /* unix seconds of the last exit, 0 if none */
};
void xn_pod_record_dispose(struct xn_pod_record *r);

/* Node permissions as xenstore has them: perms[0] names the owner (who
 * may do anything) and the access everybody else gets; further entries
 * grant one domain an access.  Dom0 bypasses them all. */
enum xn_store_access {
	XN_STORE_NONE = 0,
	XN_STORE_READ = 1,
	XN_STORE_WRITE = 2,
	XN_STORE_RDWR = 3,
};
struct xn_store_perm {
	uint32_t domid;
	enum xn_store_access access;
};

/* Attempts of one transaction before giving up on EAGAIN conflicts. */
#define XN_STORE_TX_RETRIES 16

/* Called for a watch hit: path is the key that changed. */
typedef void (*xn_store_watch_cb)(struct xn_store *st, const char *path, void *arg);

/* Open "xs" (real xenstore) or "mem" on base. */
struct xn_store *xn_store_open(const char *backend, struct event_base *base, xn_err *err);
/* Writes what is not yet durable first ("mem" with a file). */
void xn_store_close(struct xn_store *st);
/* Make every change so far durable now ("mem" with a file; no-op else). */
int xn_store_flush(struct xn_store *st, xn_err *err);
const char *xn_store_backend_name(const struct xn_store *st);

/* Raw access (paths are absolute).  get: *val malloc'd, ENOENT when absent.
 * set creates missing parents (value "", permissions of their parent) as
 * xenstored does; rm removes the whole subtree and succeeds when the node
 * is already gone. */
int xn_store_get(struct xn_store *st, const char *path, char **val, xn_err *err);
int xn_store_set(struct xn_store *st, const char *path, const char *val, xn_err *err);
int xn_store_rm(struct xn_store *st, const char *path, xn_err *err);
/* Children names of path; *names is a NULL-terminated malloc'd array. */
int xn_store_list(struct xn_store *st, const char *path, char ***names, size_t *n, xn_err *err);
void xn_store_list_free(char **names);
/* Replace / read the permissions of an existing node (*perms malloc'd). */
int xn_store_set_perms(struct xn_store *st, const char *path, const struct xn_store_perm *perms,
		       size_t n, xn_err *err);
int xn_store_get_perms(struct xn_store *st, const char *path, struct xn_store_perm **perms,
		       size_t *n, xn_err *err);

/* Watch path and everything below it. Returns a watch id >= 0.  Callbacks
 * run from the event loop, never inside the call that made the change; as
 * with xs_watch, one event for path itself follows the registration. */
int xn_store_watch(struct xn_store *st, const char *path, xn_store_watch_cb cb, void *arg,
		   xn_err *err);
void xn_store_unwatch(struct xn_store *st, int id);

/* Node-wide records /xenlet/node/<key> (Dom0 only), checked against the
 * schema. */
int xn_store_node_set(struct xn_store *st, const char *key, const char *val, xn_err *err);
int xn_store_node_get(struct xn_store *st, const char *key, char **val, xn_err *err);

/* Pod records under /xenlet/pods/<uid>: written in one transaction (the old
 * record is replaced), each value checked against the schema.  Optional
 * fields are absent keys: domid XN_DOMID_INVALID, last_exit -1, times 0,
 * NULL strings.  A record lacking a required key is an error naming it. */
int xn_store_pod_put(struct xn_store *st, const struct xn_pod_record *r, xn_err *err);
int xn_store_pod_get(struct xn_store *st, const char *uid, struct xn_pod_record *out, xn_err *err);
int xn_store_pod_del(struct xn_store *st, const char *uid, xn_err *err);
/* All records; *out malloc'd array, dispose each then free. */
int xn_store_pod_list(struct xn_store *st, struct xn_pod_record **out, size_t *n, xn_err *err);

/* Other Dom0-only records (the net module's /xenlet/net/pods/<uid>): replace
 * the directory dir with keys/vals (NULL-terminated, relative names), each
 * checked against the schema before anything is written, in one
 * transaction; missing parents are created Dom0-only.  dir itself must be
 * a Dom0 directory of the schema.  Read one value back with record_get
 * (checked against the schema; ENOENT when absent); remove with
 * xn_store_rm and list with xn_store_list. */
int xn_store_record_put(struct xn_store *st, const char *dir, const char *const *keys,
			const char *const *vals, xn_err *err);
int xn_store_record_get(struct xn_store *st, const char *path, char **val, xn_err *err);

/* Guest-readable config under /local/domain/<domid>/xenlet/<key>: Dom0
 * owns it, the guest gets read permission.  keys/vals NULL-terminated;
 * keys are relative ("ip", "env/PATH"), checked with their values against
 * the schema; the given keys are added to (or replace) what is there. */
int xn_store_guest_config_put(struct xn_store *st, uint32_t domid, const char *const *keys,
			      const char *const *vals, xn_err *err);
/* Create the guest-writable data area /local/domain/<domid>/data/xenlet
 * (owned by the guest). */
int xn_store_guest_data_init(struct xn_store *st, uint32_t domid, xn_err *err);
/* Read one key of the guest's data area, checked against the schema
 * (length and syntax); an invalid value is an error naming the key. */
int xn_store_guest_data_get(struct xn_store *st, uint32_t domid, const char *key, char **val,
			    xn_err *err);
/* Remove everything we wrote for a domain. */
int xn_store_guest_cleanup(struct xn_store *st, uint32_t domid, xn_err *err);

/* Test hook of the "mem" backend: the next n transaction commits fail with
 * EAGAIN, as a conflicting writer would make them.  -1 (EINVAL) on "xs". */
int xn_store_mem_fail_commits(struct xn_store *st, unsigned n);
/* Test hook of "mem": how often its file has been written (0 on "xs"). */
unsigned long xn_store_mem_file_writes(const struct xn_store *st);

#endif
