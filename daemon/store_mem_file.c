/* store_mem_file.c - the mem store's file (XN_STORE_MEM_FILE), so that a
 * restarted daemon finds its records as it would in real xenstore.
 *
 * Two files: FILE, the whole tree ({"nodes": [...]}, one node a line), and
 * FILE.journal, the changes since FILE was written, one JSON object a line:
 * a node as it is now ({"path", "value", "perms"}) or {"rm": path} for a
 * subtree.  Loading reads FILE and replays the journal over it.
 *
 * When: a change marks the store dirty and activates save_ev, which
 * libevent runs after the callbacks already due in this turn and before the
 * loop waits again (event_active, not a timer: a timer would let the next
 * turn's I/O callbacks, e.g. a bufferevent sending a reply, go first).  So
 * whatever a turn changed is durable before any reply that turn queued
 * leaves through the loop.  One write per turn: the turn's changes appended
 * to the journal and one fsync.  Once the journal has outgrown FILE, FILE is
 * rewritten (temp file, fsync, rename) and the journal emptied.  The store
 * used to rewrite the whole FILE with an fsync for every key: half of the
 * daemon's CPU under a burst of pods, and a whole-tree rewrite per turn was
 * still a fifth.
 *
 * Crashes: a process killed mid-turn loses that turn's changes, which
 * nobody has been told of.  A journal line cut short by a crash (the last
 * one) is ignored.  Replaying the journal over a FILE written after it
 * (a crash between the rename and emptying the journal) gives the same
 * tree: each node's last journal entry is its state at the time FILE was
 * written, and FILE holds exactly that.
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

#include "store_mem_priv.h"
#include "xenlet/log.h"
#include "xenlet/util.h"

#define SAVE_RETRY_SEC 1 /* after a failed write */
/* FILE is rewritten (and the journal emptied) once the journal has grown
 * past FILE's size and this: each change is written a few times at most. */
#define JOURNAL_SLACK (64u * 1024)
#define FILE_MAX      (64u << 20) /* a Dom0's records are small */

static const char access_letters[] = "nrwb"; /* as xenstore-ls -p prints them */

/* --- writing ------------------------------------------------------------------ */

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

/* {"path": ..., "value": ..., "perms": [...]}, without a line end */
static void put_node(FILE *f, const struct node *n)
{
	fputs("{\"path\": ", f);
	put_json_string(f, n->path);
	fputs(", \"value\": ", f);
	put_json_string(f, n->val);
	fputs(", \"perms\": [", f);
	for (size_t k = 0; k < n->nperms; k++)
		fprintf(f, "%s\"%c%u\"", k ? ", " : "", access_letters[n->perms[k].access & 3],
			n->perms[k].domid);
	fputs("]}", f);
}

static void put_tree(FILE *f, const struct tree *t)
{
	fputs("{\"nodes\": [\n", f);
	for (size_t i = 0; i < t->n; i++) {
		put_node(f, &t->v[i]);
		fputs(i + 1 < t->n ? ",\n" : "\n", f);
	}
	fputs("]}\n", f);
}

static void jops_clear(struct mem *m, size_t keep)
{
	for (size_t i = keep; i < m->njops; i++)
		free(m->jops[i].path);
	m->njops = keep;
	if (keep == 0) {
		free(m->jops);
		m->jops = NULL;
	}
}

/* FILE rewritten from the tree: temp file, fsync, rename (a crash leaves
 * the old FILE or the new one; the directory is not synced: the old one
 * coming back after a host crash is consistent too), then the journal
 * emptied. */
static int write_snapshot(struct mem *m, xn_err *err)
{
	cleanup_free char *tmp = xn_xasprintf("%s.tmp", m->file);
	FILE *f = NULL;
	long size = 0;
	int fd, rc = -1;

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
	size = ftell(f);
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
	m->snap_bytes = size > 0 ? (uint64_t)size : 0;
	/* FILE holds everything now; a journal left as it was would only be
	 * replayed to the same tree, but must not be appended to */
	if (m->jfd < 0)
		m->jfd = open(m->jfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	m->need_snapshot = m->jfd < 0 || ftruncate(m->jfd, 0) < 0;
	m->jbytes = 0;
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	if (rc < 0)
		unlink(tmp);
	return rc;
}

/* This turn's changes appended to the journal, one fsync. */
static int append_journal(struct mem *m, xn_err *err)
{
	cleanup_free char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (m->jfd < 0)
		m->jfd = open(m->jfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (m->jfd < 0)
		return xn_error_errno(err, errno, "XN_STORE_MEM_FILE: open %s", m->jfile);
	f = open_memstream(&text, &len);
	if (f == NULL)
		return xn_error_errno(err, errno, "XN_STORE_MEM_FILE: journal buffer");
	for (size_t i = 0; i < m->njops; i++) {
		const struct node *n = m->jops[i].rm ? NULL : smem_find(&m->t, m->jops[i].path);

		if (m->jops[i].rm) {
			fputs("{\"rm\": ", f);
			put_json_string(f, m->jops[i].path);
			fputs("}\n", f);
		} else if (n != NULL) { /* else removed since: an rm follows */
			put_node(f, n);
			putc_unlocked('\n', f);
		}
	}
	if (fclose(f) != 0)
		return xn_error(err, ENOMEM, "XN_STORE_MEM_FILE: journal buffer");
	if (xn_write_all(m->jfd, text, len) < 0 || fsync(m->jfd) < 0)
		return xn_error_errno(err, errno, "XN_STORE_MEM_FILE: write %s", m->jfile);
	m->jbytes += len;
	return 0;
}

/* Write what the tree has and the files lack. */
static int save_now(struct mem *m, xn_err *err)
{
	if (!m->dirty)
		return 0;
	if (!m->need_snapshot && m->jbytes <= m->snap_bytes + JOURNAL_SLACK) {
		if (append_journal(m, err) == 0)
			goto done;
		/* a failed append may have left part of a line: FILE from now on */
		m->need_snapshot = true;
		xn_error_free(err);
	}
	if (write_snapshot(m, err) < 0)
		return -1;
done:
	jops_clear(m, 0);
	m->dirty = false;
	m->writes++;
	return 0;
}

static void save_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mem *m = ((struct xn_store *)arg)->priv;
	struct timeval retry = {SAVE_RETRY_SEC, 0};
	xn_err err = NULL;

	if (save_now(m, &err) < 0) {
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

/* --- recording changes ----------------------------------------------------- */

static void jop_add(struct mem *m, const char *path, bool rm)
{
	m->jops = xn_xrealloc(m->jops, (m->njops + 1) * sizeof(*m->jops));
	m->jops[m->njops++] = (struct jop){xn_xstrdup(path), rm};
}

void smem_file_touch(struct mem *m, const char *path)
{
	if (m->file == NULL)
		return;
	/* parents a write creates come first, with their own permissions:
	 * the replay must not create them from a later state of theirs */
	if (smem_find(&m->t, path) == NULL && strcmp(path, "/") != 0) {
		const char *slash = strrchr(path, '/');
		char *pp = slash == path ? xn_xstrdup("/")
					 : xn_xasprintf("%.*s", (int)(slash - path), path);

		if (smem_find(&m->t, pp) == NULL)
			smem_file_touch(m, pp);
		free(pp);
	}
	jop_add(m, path, false);
}

void smem_file_rm(struct mem *m, const char *path)
{
	if (m->file != NULL)
		jop_add(m, path, true);
}

void smem_file_tx_begin(struct mem *m)
{
	m->njops_tx = m->njops;
}

void smem_file_tx_undone(struct mem *m)
{
	if (m->njops > m->njops_tx)
		jops_clear(m, m->njops_tx);
}

void smem_file_changed(struct xn_store *st)
{
	struct mem *m = st->priv;

	if (m->file == NULL)
		return;
	m->dirty = true;
	event_active(m->save_ev, EV_TIMEOUT, 0); /* no-op when already active */
}

int smem_file_flush(struct xn_store *st, xn_err *err)
{
	return save_now(st->priv, err);
}

/* --- reading --------------------------------------------------------------- */

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

/* One node object (or, in the journal, {"rm": path}) applied to the tree;
 * where names it in errors ("FILE: nodes[3]", "FILE.journal: line 7"). */
static int apply(struct mem *m, const cJSON *o, bool journal, const char *where, xn_err *err)
{
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(o, "path");
	const cJSON *val = cJSON_GetObjectItemCaseSensitive(o, "value");
	const cJSON *perms = cJSON_GetObjectItemCaseSensitive(o, "perms"), *p;
	const cJSON *rm = journal ? cJSON_GetObjectItemCaseSensitive(o, "rm") : NULL;
	struct xn_store_perm *pv;
	size_t np = 0;
	struct node *n;

	if (rm != NULL) {
		if (!cJSON_IsString(rm) || xn_store_path_check(rm->valuestring, err) < 0 ||
		    strcmp(rm->valuestring, "/") == 0)
			return xn_error(err, EINVAL, "XN_STORE_MEM_FILE %s: bad \"rm\"", where);
		smem_node_remove(&m->t, rm->valuestring);
		return 0;
	}
	if (!cJSON_IsString(path) || !cJSON_IsString(val) || !cJSON_IsArray(perms) ||
	    cJSON_GetArraySize(perms) < 1)
		return xn_error(err, EINVAL, "XN_STORE_MEM_FILE %s: want path, value and perms",
				where);
	if (xn_store_path_check(path->valuestring, err) < 0)
		return xn_error_wrap(err, "XN_STORE_MEM_FILE %s", where);
	pv = xn_xcalloc((size_t)cJSON_GetArraySize(perms), sizeof(*pv));
	cJSON_ArrayForEach(p, perms) {
		if (!cJSON_IsString(p) || parse_perm(p->valuestring, &pv[np++]) < 0) {
			free(pv);
			return xn_error(err, EINVAL,
					"XN_STORE_MEM_FILE %s: bad permission (want n|r|w|b "
					"followed by a domid)",
					where);
		}
	}
	n = smem_node_get_or_create(&m->t, path->valuestring);
	free(n->val);
	n->val = xn_xstrdup(val->valuestring);
	n->len = strlen(n->val);
	free(n->perms);
	n->perms = pv;
	n->nperms = np;
	return 0;
}

/* *text NULL when the file does not exist. */
static int read_whole(const char *path, char **text, size_t *len, xn_err *err)
{
	xn_err rerr = NULL;
	bool absent;

	*text = NULL;
	*len = 0;
	if (xn_read_file(path, FILE_MAX, text, len, &rerr) == 0)
		return 0;
	absent = rerr && rerr->status == ENOENT;
	if (!absent)
		xn_error(err, rerr ? rerr->status : EIO, "XN_STORE_MEM_FILE: %s",
			 xn_error_msg(rerr));
	xn_error_free(&rerr);
	return absent ? 0 : -1;
}

static int load_snapshot(struct mem *m, xn_err *err)
{
	cleanup_free char *text = NULL;
	const char *end = NULL;
	cJSON *root = NULL, *nodes, *o;
	size_t i = 0, len;
	int rc = -1;

	if (read_whole(m->file, &text, &len, err) < 0)
		return -1;
	if (text == NULL)
		return 0; /* the first start */
	m->snap_bytes = len;
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
		char where[64 + 4096];

		snprintf(where, sizeof(where), "%s: nodes[%zu]", m->file, i++);
		if (apply(m, o, false, where, err) < 0)
			goto out;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

/* Replay the journal; *replayed: it had anything (FILE is then rewritten
 * before anything is appended, also past a line cut short). */
static int load_journal(struct mem *m, bool *replayed, xn_err *err)
{
	cleanup_free char *text = NULL;
	size_t len, line = 1;
	char *p, *nl;

	*replayed = false;
	if (read_whole(m->jfile, &text, &len, err) < 0)
		return -1;
	if (text == NULL || len == 0)
		return 0;
	*replayed = true;
	for (p = text; (nl = memchr(p, '\n', len - (size_t)(p - text))) != NULL;
	     p = nl + 1, line++) {
		char where[64 + 4096];
		cJSON *o = cJSON_ParseWithLength(p, (size_t)(nl - p));
		int rc;

		snprintf(where, sizeof(where), "%s: line %zu", m->jfile, line);
		if (o == NULL)
			return xn_error(err, EINVAL, "XN_STORE_MEM_FILE %s: not valid JSON", where);
		rc = apply(m, o, true, where, err);
		cJSON_Delete(o);
		if (rc < 0)
			return -1;
	}
	if (p < text + len)
		log_warnx("store: %s: line %zu cut short (a crash while writing it): ignored",
			  m->jfile, line);
	return 0;
}

int smem_file_open(struct xn_store *st, const char *file, xn_err *err)
{
	struct mem *m = st->priv;
	bool replayed;

	m->jfd = -1;
	m->save_ev = evtimer_new(st->base, save_cb, st);
	if (m->save_ev == NULL)
		return xn_error(err, ENOMEM, "store mem: event_new failed");
	if (file == NULL || *file == '\0')
		return 0;
	m->file = xn_xstrdup(file);
	m->jfile = xn_xasprintf("%s.journal", file);
	if (load_snapshot(m, err) < 0 || load_journal(m, &replayed, err) < 0)
		return -1;
	/* the journal is folded into FILE with the first change (not before:
	 * a store only read writes nothing), and never appended to before
	 * that: its last line may be cut short */
	m->need_snapshot = replayed;
	return 0;
}

void smem_file_close(struct xn_store *st)
{
	struct mem *m = st->priv;
	xn_err err = NULL;

	if (m->file != NULL && save_now(m, &err) < 0) {
		log_warnx("store: closing: %s", xn_error_msg(err));
		xn_error_free(&err);
	}
	if (m->jfd >= 0)
		close(m->jfd);
	if (m->save_ev != NULL)
		event_free(m->save_ev);
	jops_clear(m, 0);
	free(m->file);
	free(m->jfile);
}

unsigned long xn_store_mem_file_writes(const struct xn_store *st)
{
	return st->ops == &xn_store_ops_mem ? ((const struct mem *)st->priv)->writes : 0;
}
