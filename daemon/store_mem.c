/* store_mem.c - an in-memory xenstore with xenstored's semantics (for
 * hv_sim and tests): parents created on write with their parent's
 * permissions, rm of subtrees, watches fired from the event loop for a path
 * and everything below it, transactions that can be made to conflict, and
 * optionally a JSON file (XN_STORE_MEM_FILE) that survives a restart.
 *
 * The file is written once per event-loop turn, not once per change: a
 * change marks the tree dirty and activates save_ev, which libevent runs
 * after the callbacks already due in this turn and before the loop waits
 * again (event_active, not a timer: a timer would let the next turn's I/O
 * callbacks, e.g. a bufferevent sending a reply, run first).  So whatever a
 * turn changed is on disk (temp file, fsync, rename) before any reply the
 * turn queued leaves through the loop; xn_store_flush() writes at once and
 * xn_store_close() writes what is left.  A burst of pods used to rewrite
 * the whole file, with an fsync, for every key.
 *
 * The tree is a sorted array of nodes searched with bsearch-style lower
 * bounds: small, and plenty for the few hundred nodes a host has.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "store_backend.h"
#include "xenlet/log.h"
#include "xenlet/util.h"

#define SAVE_RETRY_SEC 1 /* after a failed write of the file */

struct node {
	char *path;
	char *val;
	size_t len;
	struct xn_store_perm *perms;
	size_t nperms;
};

struct tree {
	struct node *v;
	size_t n;
};

struct pending {
	int id;
	char *path;
};

struct change {
	char *path;
	bool rm;
};

/* What a node was before the open transaction first changed it: a copy,
 * or only its path when it did not exist.  Undone newest first on abort. */
struct undo {
	struct node old;
	bool existed;
};

struct mem {
	struct tree t;
	struct undo *undo; /* of the open transaction, oldest first */
	size_t nundo;
	bool in_tx;
	uint32_t tx_id;
	struct change *txc; /* changes of the open transaction */
	size_t ntxc;
	struct pending *q; /* watch events not yet delivered */
	size_t nq;
	unsigned fail_commits;
	char *file;
	bool dirty;	      /* the tree has changes the file lacks */
	bool save_failing;    /* the last write failed (logged once) */
	unsigned long writes; /* of the file, for xn_store_mem_file_writes() */
	struct event *ev;
	struct event *save_ev; /* writes the file at the end of the turn */
};

/* --- tree ----------------------------------------------------------------- */

static size_t lower_bound(const struct tree *t, const char *key)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(t->v[mid].path, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct node *find(const struct tree *t, const char *path)
{
	size_t i = lower_bound(t, path);

	return i < t->n && strcmp(t->v[i].path, path) == 0 ? &t->v[i] : NULL;
}

/* Is a strictly below b? */
static bool below(const char *a, const char *b)
{
	size_t n = strlen(b);

	if (strcmp(b, "/") == 0)
		return a[0] == '/' && a[1] != '\0';
	return strncmp(a, b, n) == 0 && a[n] == '/';
}

static char *parent_of(const char *path)
{
	const char *s = strrchr(path, '/');

	return s == path ? xn_xstrdup("/") : xn_xasprintf("%.*s", (int)(s - path), path);
}

static void node_free(struct node *n)
{
	free(n->path);
	free(n->val);
	free(n->perms);
}

static void tree_free(struct tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		node_free(&t->v[i]);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

static void node_copy(struct node *d, const struct node *s)
{
	d->path = xn_xstrdup(s->path);
	d->val = xn_xmalloc(s->len + 1);
	memcpy(d->val, s->val, s->len + 1);
	d->len = s->len;
	d->nperms = s->nperms;
	d->perms = xn_xmalloc(s->nperms * sizeof(*d->perms));
	memcpy(d->perms, s->perms, s->nperms * sizeof(*d->perms));
}

static void set_perms_of(struct node *n, const struct xn_store_perm *p, size_t np)
{
	free(n->perms);
	n->perms = xn_xmalloc(np * sizeof(*p));
	memcpy(n->perms, p, np * sizeof(*p));
	n->nperms = np;
}

/* The node at path, created (with missing parents) if absent.  A new node
 * has value "" and its parent's permissions, as in xenstored. */
static struct node *node_get_or_create(struct tree *t, const char *path)
{
	struct node *n = find(t, path), *p;
	char *ppath;
	size_t i;

	if (n != NULL)
		return n;
	ppath = parent_of(path);
	p = node_get_or_create(t, ppath);
	free(ppath);
	struct node nn = {xn_xstrdup(path), xn_xstrdup(""), 0, NULL, 0};
	set_perms_of(&nn, p->perms, p->nperms);
	i = lower_bound(t, path);
	t->v = xn_xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
	memmove(&t->v[i + 1], &t->v[i], (t->n - i) * sizeof(*t->v));
	t->v[i] = nn;
	t->n++;
	return &t->v[i];
}

static void node_remove(struct tree *t, const char *path)
{
	size_t w = 0;

	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->v[i].path, path) == 0 || below(t->v[i].path, path))
			node_free(&t->v[i]);
		else
			t->v[w++] = t->v[i];
	}
	t->n = w;
}

/* --- transactions: undo log ------------------------------------------------ */

/* Remember path (and its missing ancestors, which a write creates) as it
 * is now, before the open transaction changes it.  A transaction used to
 * copy the whole tree at its start: most of the store's CPU under a burst. */
static void undo_push(struct mem *m, const char *path)
{
	struct node *n = find(&m->t, path);
	struct undo *u;

	if (!m->in_tx)
		return;
	if (n == NULL && strcmp(path, "/") != 0) {
		char *pp = parent_of(path);

		if (find(&m->t, pp) == NULL)
			undo_push(m, pp); /* created first, so undone last */
		free(pp);
	}
	m->undo = xn_xrealloc(m->undo, (m->nundo + 1) * sizeof(*m->undo));
	u = &m->undo[m->nundo++];
	u->existed = n != NULL;
	if (n != NULL)
		node_copy(&u->old, n);
	else
		u->old = (struct node){xn_xstrdup(path), NULL, 0, NULL, 0};
}

/* Every node of the subtree at path: rm takes them all. */
static void undo_push_subtree(struct mem *m, const char *path)
{
	for (size_t i = lower_bound(&m->t, path); i < m->t.n; i++) {
		if (strcmp(m->t.v[i].path, path) != 0 && !below(m->t.v[i].path, path))
			break;
		undo_push(m, m->t.v[i].path);
	}
}

/* Put back what the transaction changed, newest change first. */
static void undo_apply(struct mem *m)
{
	while (m->nundo > 0) {
		struct undo *u = &m->undo[--m->nundo];
		struct node *n;

		if (!u->existed) {
			node_remove(&m->t, u->old.path);
			node_free(&u->old);
			continue;
		}
		n = node_get_or_create(&m->t, u->old.path);
		free(n->val);
		free(n->perms);
		n->val = u->old.val;
		n->len = u->old.len;
		n->perms = u->old.perms;
		n->nperms = u->old.nperms;
		free(u->old.path);
	}
}

static void undo_drop(struct mem *m)
{
	for (size_t i = 0; i < m->nundo; i++)
		node_free(&m->undo[i].old);
	free(m->undo);
	m->undo = NULL;
	m->nundo = 0;
}

/* --- watches -------------------------------------------------------------- */

static void enqueue(struct xn_store *st, int id, const char *path)
{
	struct mem *m = st->priv;

	m->q = xn_xrealloc(m->q, (m->nq + 1) * sizeof(*m->q));
	m->q[m->nq++] = (struct pending){id, xn_xstrdup(path)};
	event_active(m->ev, EV_TIMEOUT, 0);
}

/* As xenstored: a change of path fires the watches on path and its
 * ancestors; removing a subtree also fires the watches inside it. */
static void fire_change(struct xn_store *st, const char *path, bool rm)
{
	for (size_t i = 0; i < st->nwatches; i++) {
		const char *w = st->watches[i].path;

		if (strcmp(w, path) == 0 || below(path, w))
			enqueue(st, st->watches[i].id, path);
		else if (rm && below(w, path))
			enqueue(st, st->watches[i].id, w);
	}
}

static void deliver(evutil_socket_t fd, short what, void *arg)
{
	struct xn_store *st = arg;
	struct mem *m = st->priv;

	while (m->nq > 0) {
		struct pending p = m->q[0];

		memmove(&m->q[0], &m->q[1], (m->nq - 1) * sizeof(*m->q));
		m->nq--;
		xn_store_watch_fire(st, p.id, p.path);
		free(p.path);
	}
}

/* --- persistence ------------------------------------------------------------ */

static const char access_letters[] = "nrwb"; /* as xenstore-ls -p prints them */

/* s as a JSON string, as cJSON would write it (bytes >= 0x80 as they are). */
static void put_json_string(FILE *f, const char *s)
{
	putc_unlocked('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				putc_unlocked(*p, f);
		}
	}
	putc_unlocked('"', f);
}

/* The tree as {"nodes": [{"path", "value", "perms"}, ...]}, one node a
 * line, written straight to f (a cJSON document of the whole tree cost
 * more than everything else the store does). */
static void put_tree(FILE *f, const struct tree *t)
{
	fputs("{\"nodes\": [\n", f);
	for (size_t i = 0; i < t->n; i++) {
		const struct node *n = &t->v[i];

		fputs("{\"path\": ", f);
		put_json_string(f, n->path);
		fputs(", \"value\": ", f);
		put_json_string(f, n->val);
		fputs(", \"perms\": [", f);
		for (size_t k = 0; k < n->nperms; k++)
			fprintf(f, "%s\"%c%u\"", k ? ", " : "",
				access_letters[n->perms[k].access & 3], n->perms[k].domid);
		fputs(i + 1 < t->n ? "]},\n" : "]}\n", f);
	}
	fputs("]}\n", f);
}

/* Write the tree to a sibling, fsync it, rename it over the file: a crash
 * of the process or the host leaves the old file or the new one.  (No
 * fsync of the directory: after a host crash the old file may come back,
 * which is a consistent state too; one fsync per write is the cost.) */
static int persist(struct xn_store *st, xn_err *err)
{
	struct mem *m = st->priv;
	cleanup_free char *tmp = NULL;
	FILE *f = NULL;
	int fd = -1, rc = -1;

	if (m->file == NULL)
		return 0;
	tmp = xn_xasprintf("%s.tmp", m->file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return xn_error_errno(err, errno, "XN_STORE_MEM_FILE: create %s", tmp);
	f = fdopen(fd, "w");
	if (f == NULL) {
		xn_error_errno(err, errno, "XN_STORE_MEM_FILE: %s", tmp);
		close(fd);
		goto out;
	}
	put_tree(f, &m->t);
	if (fflush(f) != 0 || ferror(f)) {
		xn_error_errno(err, errno ? errno : EIO, "XN_STORE_MEM_FILE: write %s", tmp);
		goto out;
	}
	if (fsync(fd) < 0) {
		xn_error_errno(err, errno, "XN_STORE_MEM_FILE: fsync %s", tmp);
		goto out;
	}
	if (rename(tmp, m->file) < 0) {
		xn_error_errno(err, errno, "XN_STORE_MEM_FILE: rename %s to %s", tmp, m->file);
		goto out;
	}
	m->writes++;
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	if (rc < 0)
		unlink(tmp);
	return rc;
}

/* Write the file if the tree has changed since the last write. */
static int save_now(struct xn_store *st, xn_err *err)
{
	struct mem *m = st->priv;

	if (!m->dirty)
		return 0;
	if (persist(st, err) < 0)
		return -1;
	m->dirty = false;
	return 0;
}

static void save_cb(evutil_socket_t fd, short what, void *arg)
{
	struct xn_store *st = arg;
	struct mem *m = st->priv;
	struct timeval retry = {SAVE_RETRY_SEC, 0};
	xn_err err = NULL;

	if (save_now(st, &err) < 0) {
		/* the tree stays as it is; the file catches up when it can */
		if (!m->save_failing)
			log_warnx("store: %s (retrying every %d s)", xn_error_msg(err),
				  SAVE_RETRY_SEC);
		m->save_failing = true;
		xn_error_free(&err);
		evtimer_add(m->save_ev, &retry);
		return;
	}
	if (m->save_failing)
		log_info("store: %s written again", m->file);
	m->save_failing = false;
}

/* A change of the tree: the file follows at the end of this loop turn. */
static void mark_dirty(struct xn_store *st)
{
	struct mem *m = st->priv;

	if (m->file == NULL)
		return;
	m->dirty = true;
	event_active(m->save_ev, EV_TIMEOUT, 0); /* no-op when already active */
}

static int parse_perm(const char *s, struct xn_store_perm *p)
{
	const char *l = s && *s ? strchr(access_letters, s[0]) : NULL;
	uint64_t id;

	if (l == NULL || xn_parse_u64(s + 1, UINT32_MAX, &id) < 0)
		return -1;
	p->access = (enum xn_store_access)(l - access_letters);
	p->domid = (uint32_t)id;
	return 0;
}

static int load(struct xn_store *st, xn_err *err)
{
	struct mem *m = st->priv;
	cleanup_free char *text = NULL;
	const char *end = NULL;
	cJSON *root = NULL, *nodes, *o;
	size_t i = 0, len = 0;
	xn_err rerr = NULL;
	int rc = -1;

	/* the store's file, bounded: a Dom0's records are small */
	if (xn_read_file(m->file, 64u << 20, &text, &len, &rerr) < 0) {
		bool absent = rerr && rerr->status == ENOENT;

		if (!absent)
			xn_error(err, rerr ? rerr->status : EIO, "XN_STORE_MEM_FILE: %s",
				 xn_error_msg(rerr));
		xn_error_free(&rerr);
		return absent ? 0 : -1; /* absent: the first start */
	}
	root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (root == NULL) {
		xn_error(err, EINVAL, "XN_STORE_MEM_FILE %s: not valid JSON (near byte %td)",
			 m->file, end ? end - text : (ptrdiff_t)0);
		goto out;
	}
	nodes = cJSON_GetObjectItemCaseSensitive(root, "nodes");
	if (!cJSON_IsArray(nodes)) {
		xn_error(err, EINVAL, "XN_STORE_MEM_FILE %s: no \"nodes\" array", m->file);
		goto out;
	}
	cJSON_ArrayForEach(o, nodes) {
		cJSON *path = cJSON_GetObjectItemCaseSensitive(o, "path");
		cJSON *val = cJSON_GetObjectItemCaseSensitive(o, "value");
		cJSON *perms = cJSON_GetObjectItemCaseSensitive(o, "perms"), *p;
		struct xn_store_perm *pv;
		size_t np = 0;
		struct node *n;

		if (!cJSON_IsString(path) || !cJSON_IsString(val) || !cJSON_IsArray(perms) ||
		    cJSON_GetArraySize(perms) < 1) {
			xn_error(err, EINVAL,
				 "XN_STORE_MEM_FILE %s: nodes[%zu]: want path, value and perms",
				 m->file, i);
			goto out;
		}
		if (xn_store_path_check(path->valuestring, err) < 0) {
			xn_error_wrap(err, "XN_STORE_MEM_FILE %s: nodes[%zu]", m->file, i);
			goto out;
		}
		pv = xn_xcalloc((size_t)cJSON_GetArraySize(perms), sizeof(*pv));
		cJSON_ArrayForEach(p, perms) {
			if (!cJSON_IsString(p) || parse_perm(p->valuestring, &pv[np++]) < 0) {
				free(pv);
				xn_error(err, EINVAL,
					 "XN_STORE_MEM_FILE %s: nodes[%zu]: bad permission (want "
					 "n|r|w|b followed by a domid)",
					 m->file, i);
				goto out;
			}
		}
		n = node_get_or_create(&m->t, path->valuestring);
		free(n->val);
		n->val = xn_xstrdup(val->valuestring);
		n->len = strlen(n->val);
		free(n->perms);
		n->perms = pv;
		n->nperms = np;
		i++;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

/* --- ops -------------------------------------------------------------------- */

static int mem_open(struct xn_store *st, xn_err *err)
{
	struct mem *m = xn_xcalloc(1, sizeof(*m));
	const char *file = getenv("XN_STORE_MEM_FILE");
	struct node *root;

	st->priv = m;
	m->ev = event_new(st->base, -1, 0, deliver, st);
	m->save_ev = evtimer_new(st->base, save_cb, st);
	if (m->ev == NULL || m->save_ev == NULL) {
		if (m->ev != NULL)
			event_free(m->ev);
		if (m->save_ev != NULL)
			event_free(m->save_ev);
		free(m);
		st->priv = NULL;
		return xn_error(err, ENOMEM, "store mem: event_new failed");
	}
	m->t.v = xn_xcalloc(1, sizeof(*m->t.v));
	root = &m->t.v[m->t.n++];
	*root = (struct node){xn_xstrdup("/"), xn_xstrdup(""), 0, NULL, 0};
	set_perms_of(root, &(struct xn_store_perm){0, XN_STORE_NONE}, 1);
	if (file != NULL && *file != '\0') {
		m->file = xn_xstrdup(file);
		if (load(st, err) < 0) {
			st->ops->close(st);
			return -1;
		}
	}
	return 0;
}

static void mem_close(struct xn_store *st)
{
	struct mem *m = st->priv;
	xn_err err = NULL;

	if (m == NULL)
		return;
	if (save_now(st, &err) < 0) {
		log_warnx("store: closing: %s", xn_error_msg(err));
		xn_error_free(&err);
	}
	tree_free(&m->t);
	undo_drop(m);
	for (size_t i = 0; i < m->ntxc; i++)
		free(m->txc[i].path);
	free(m->txc);
	for (size_t i = 0; i < m->nq; i++)
		free(m->q[i].path);
	free(m->q);
	event_free(m->ev);
	event_free(m->save_ev);
	free(m->file);
	free(m);
	st->priv = NULL;
}

static int mem_flush(struct xn_store *st, xn_err *err)
{
	return save_now(st, err);
}

/* Check that a write may happen under tx now. */
static int check_tx(struct mem *m, uint32_t tx, xn_err *err)
{
	if (tx != 0 && (!m->in_tx || tx != m->tx_id))
		return xn_error(err, EINVAL, "transaction %u: not open", tx);
	if (tx == 0 && m->in_tx)
		return xn_error(err, EBUSY, "write outside the open transaction %u", m->tx_id);
	return 0;
}

/* Record a change: delivered now, or at commit when inside a transaction. */
static int changed(struct xn_store *st, uint32_t tx, const char *path, bool rm, xn_err *err)
{
	struct mem *m = st->priv;

	if (tx != 0) {
		m->txc = xn_xrealloc(m->txc, (m->ntxc + 1) * sizeof(*m->txc));
		m->txc[m->ntxc++] = (struct change){xn_xstrdup(path), rm};
		return 0;
	}
	fire_change(st, path, rm);
	mark_dirty(st);
	return 0;
}

static int mem_tx_start(struct xn_store *st, uint32_t *tx, xn_err *err)
{
	struct mem *m = st->priv;

	if (m->in_tx)
		return xn_error(err, EBUSY, "transaction %u already open", m->tx_id);
	m->in_tx = true;
	m->tx_id = m->tx_id + 1 ? m->tx_id + 1 : 1;
	*tx = m->tx_id;
	return 0;
}

static int mem_tx_end(struct xn_store *st, uint32_t tx, bool abort, xn_err *err)
{
	struct mem *m = st->priv;
	bool conflict = !abort && m->fail_commits > 0;

	if (!m->in_tx || tx != m->tx_id)
		return xn_error(err, EINVAL, "transaction %u: not open", tx);
	m->in_tx = false;
	if (abort || conflict) {
		undo_apply(m);
	} else {
		for (size_t i = 0; i < m->ntxc; i++)
			fire_change(st, m->txc[i].path, m->txc[i].rm);
		if (m->ntxc > 0)
			mark_dirty(st);
	}
	undo_drop(m);
	for (size_t i = 0; i < m->ntxc; i++)
		free(m->txc[i].path);
	free(m->txc);
	m->txc = NULL;
	m->ntxc = 0;
	if (conflict) {
		m->fail_commits--;
		return xn_error(err, EAGAIN, "transaction %u: conflict (injected)", tx);
	}
	return 0;
}

static int mem_get(struct xn_store *st, uint32_t tx, const char *path, char **val, size_t *len,
		   xn_err *err)
{
	struct mem *m = st->priv;
	const struct node *n = find(&m->t, path);

	if (n == NULL)
		return xn_error_errno(err, ENOENT, "read %s", path);
	*val = xn_xmalloc(n->len + 1);
	memcpy(*val, n->val, n->len + 1);
	*len = n->len;
	return 0;
}

static int mem_set(struct xn_store *st, uint32_t tx, const char *path, const char *val, size_t len,
		   xn_err *err)
{
	struct mem *m = st->priv;
	struct node *n;

	if (check_tx(m, tx, err) < 0)
		return xn_error_wrap(err, "write %s", path);
	undo_push(m, path);
	n = node_get_or_create(&m->t, path);
	free(n->val);
	n->val = xn_xmalloc(len + 1);
	memcpy(n->val, val, len);
	n->val[len] = '\0';
	n->len = len;
	return changed(st, tx, path, false, err);
}

static int mem_rm(struct xn_store *st, uint32_t tx, const char *path, xn_err *err)
{
	struct mem *m = st->priv;

	if (check_tx(m, tx, err) < 0)
		return xn_error_wrap(err, "rm %s", path);
	if (strcmp(path, "/") == 0)
		return xn_error(err, EINVAL, "rm /: refusing to remove the root");
	if (find(&m->t, path) == NULL)
		return 0;
	undo_push_subtree(m, path);
	node_remove(&m->t, path);
	return changed(st, tx, path, true, err);
}

static int mem_list(struct xn_store *st, uint32_t tx, const char *path, char ***names, size_t *n,
		    xn_err *err)
{
	struct mem *m = st->priv;
	size_t cnt = 0;

	if (find(&m->t, path) == NULL)
		return xn_error_errno(err, ENOENT, "directory %s", path);
	*names = xn_xcalloc(1, sizeof(**names));
	for (size_t i = 0; i < m->t.n; i++) {
		const char *p = m->t.v[i].path, *rest;

		if (!below(p, path))
			continue;
		rest = p + (strcmp(path, "/") == 0 ? 1 : strlen(path) + 1);
		if (strchr(rest, '/') != NULL)
			continue;
		*names = xn_xrealloc(*names, (cnt + 2) * sizeof(**names));
		(*names)[cnt++] = xn_xstrdup(rest);
		(*names)[cnt] = NULL;
	}
	*n = cnt;
	return 0;
}

static int mem_set_perms(struct xn_store *st, uint32_t tx, const char *path,
			 const struct xn_store_perm *perms, size_t np, xn_err *err)
{
	struct mem *m = st->priv;
	struct node *n;

	if (check_tx(m, tx, err) < 0)
		return xn_error_wrap(err, "set permissions %s", path);
	n = find(&m->t, path);
	if (n == NULL)
		return xn_error_errno(err, ENOENT, "set permissions %s", path);
	undo_push(m, path);
	set_perms_of(n, perms, np);
	return changed(st, tx, path, false, err);
}

static int mem_get_perms(struct xn_store *st, uint32_t tx, const char *path,
			 struct xn_store_perm **perms, size_t *np, xn_err *err)
{
	struct mem *m = st->priv;
	const struct node *n = find(&m->t, path);

	if (n == NULL)
		return xn_error_errno(err, ENOENT, "get permissions %s", path);
	*perms = xn_xmalloc(n->nperms * sizeof(**perms));
	memcpy(*perms, n->perms, n->nperms * sizeof(**perms));
	*np = n->nperms;
	return 0;
}

static int mem_watch(struct xn_store *st, int id, const char *path, xn_err *err)
{
	enqueue(st, id, path); /* xenstored's initial event */
	return 0;
}

static void mem_unwatch(struct xn_store *st, int id, const char *path)
{
	/* queued events for id are dropped by xn_store_watch_fire */
}

int xn_store_mem_fail_commits(struct xn_store *st, unsigned n)
{
	if (st->ops != &xn_store_ops_mem) {
		errno = EINVAL;
		return -1;
	}
	((struct mem *)st->priv)->fail_commits = n;
	return 0;
}

unsigned long xn_store_mem_file_writes(const struct xn_store *st)
{
	return st->ops == &xn_store_ops_mem ? ((const struct mem *)st->priv)->writes : 0;
}

const struct xn_store_ops xn_store_ops_mem = {
    .name = "mem",
    .open = mem_open,
    .close = mem_close,
    .flush = mem_flush,
    .tx_start = mem_tx_start,
    .tx_end = mem_tx_end,
    .get = mem_get,
    .set = mem_set,
    .rm = mem_rm,
    .list = mem_list,
    .set_perms = mem_set_perms,
    .get_perms = mem_get_perms,
    .watch = mem_watch,
    .unwatch = mem_unwatch,
};
