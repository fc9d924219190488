/* store_mem.c - an in-memory xenstore with xenstored's semantics (for
 * hv_sim and tests): parents created on write with their parent's
 * permissions, rm of subtrees, watches fired from the event loop for a path
 * and everything below it, transactions that can be made to conflict, and
 * optionally a file (XN_STORE_MEM_FILE, store_mem_file.c) that survives a
 * restart: each change is recorded for it, and written at the end of the
 * loop turn.
 *
 * The tree is a sorted array of nodes searched with bsearch-style lower
 * bounds: small, and plenty for the few hundred nodes a host has.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "store_mem_priv.h"
#include "xenlet/util.h"

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

struct node *smem_find(const struct tree *t, const char *path)
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
struct node *smem_node_get_or_create(struct tree *t, const char *path)
{
	struct node *n = smem_find(t, path), *p;
	char *ppath;
	size_t i;

	if (n != NULL)
		return n;
	ppath = parent_of(path);
	p = smem_node_get_or_create(t, ppath);
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

void smem_node_remove(struct tree *t, const char *path)
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
	struct node *n = smem_find(&m->t, path);
	struct undo *u;

	if (!m->in_tx)
		return;
	if (n == NULL && strcmp(path, "/") != 0) {
		char *pp = parent_of(path);

		if (smem_find(&m->t, pp) == NULL)
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
			smem_node_remove(&m->t, u->old.path);
			node_free(&u->old);
			continue;
		}
		n = smem_node_get_or_create(&m->t, u->old.path);
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

/* --- ops -------------------------------------------------------------------- */

static int mem_open(struct xn_store *st, xn_err *err)
{
	struct mem *m = xn_xcalloc(1, sizeof(*m));
	const char *file = getenv("XN_STORE_MEM_FILE");
	struct node *root;

	st->priv = m;
	m->t.v = xn_xcalloc(1, sizeof(*m->t.v));
	root = &m->t.v[m->t.n++];
	*root = (struct node){xn_xstrdup("/"), xn_xstrdup(""), 0, NULL, 0};
	set_perms_of(root, &(struct xn_store_perm){0, XN_STORE_NONE}, 1);
	m->ev = event_new(st->base, -1, 0, deliver, st);
	if (m->ev == NULL) {
		st->ops->close(st);
		return xn_error(err, ENOMEM, "store mem: event_new failed");
	}
	if (smem_file_open(st, file, err) < 0) {
		st->ops->close(st);
		return -1;
	}
	return 0;
}

static void mem_close(struct xn_store *st)
{
	struct mem *m = st->priv;

	if (m == NULL)
		return;
	smem_file_close(st);
	tree_free(&m->t);
	undo_drop(m);
	for (size_t i = 0; i < m->ntxc; i++)
		free(m->txc[i].path);
	free(m->txc);
	for (size_t i = 0; i < m->nq; i++)
		free(m->q[i].path);
	free(m->q);
	if (m->ev != NULL)
		event_free(m->ev);
	free(m);
	st->priv = NULL;
}

static int mem_flush(struct xn_store *st, xn_err *err)
{
	return smem_file_flush(st, err);
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
	smem_file_changed(st);
	return 0;
}

static int mem_tx_start(struct xn_store *st, uint32_t *tx, xn_err *err)
{
	struct mem *m = st->priv;

	if (m->in_tx)
		return xn_error(err, EBUSY, "transaction %u already open", m->tx_id);
	m->in_tx = true;
	smem_file_tx_begin(m);
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
		smem_file_tx_undone(m);
	} else {
		for (size_t i = 0; i < m->ntxc; i++)
			fire_change(st, m->txc[i].path, m->txc[i].rm);
		if (m->ntxc > 0)
			smem_file_changed(st);
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
	const struct node *n = smem_find(&m->t, path);

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
	smem_file_touch(m, path);
	n = smem_node_get_or_create(&m->t, path);
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
	if (smem_find(&m->t, path) == NULL)
		return 0;
	undo_push_subtree(m, path);
	smem_file_rm(m, path);
	smem_node_remove(&m->t, path);
	return changed(st, tx, path, true, err);
}

static int mem_list(struct xn_store *st, uint32_t tx, const char *path, char ***names, size_t *n,
		    xn_err *err)
{
	struct mem *m = st->priv;
	size_t cnt = 0;

	if (smem_find(&m->t, path) == NULL)
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
	n = smem_find(&m->t, path);
	if (n == NULL)
		return xn_error_errno(err, ENOENT, "set permissions %s", path);
	undo_push(m, path);
	smem_file_touch(m, path);
	set_perms_of(n, perms, np);
	return changed(st, tx, path, false, err);
}

static int mem_get_perms(struct xn_store *st, uint32_t tx, const char *path,
			 struct xn_store_perm **perms, size_t *np, xn_err *err)
{
	struct mem *m = st->priv;
	const struct node *n = smem_find(&m->t, path);

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
