/* store_mem_priv.h - shared by store_mem.c (the tree, transactions,
 * watches) and store_mem_file.c (its file and journal) only. */
#ifndef XENLET_STORE_MEM_PRIV_H
#define XENLET_STORE_MEM_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_backend.h"

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

/* A change for the journal: node path as it is when written (value and
 * permissions; nothing if it no longer exists), or rm of the subtree. */
struct jop {
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
	char *jfile;	  /* file.journal: changes since the file was written */
	int jfd;	  /* open for appending, -1 until first used */
	struct jop *jops; /* changes since the last write, in order */
	size_t njops;
	size_t njops_tx;      /* njops when the open transaction began */
	uint64_t snap_bytes;  /* size of the file as last written or read */
	uint64_t jbytes;      /* size of the journal */
	bool need_snapshot;   /* the journal cannot be appended to: rewrite the file */
	bool dirty;	      /* the tree has changes the file lacks */
	bool save_failing;    /* the last write failed (logged once) */
	unsigned long writes; /* of the file, for xn_store_mem_file_writes() */
	struct event *ev;
	struct event *save_ev; /* writes the file at the end of the turn */
};

/* store_mem.c: the tree */
struct node *smem_find(const struct tree *t, const char *path);
/* The node at path, created (with missing parents) if absent. */
struct node *smem_node_get_or_create(struct tree *t, const char *path);
/* Remove path and everything below it. */
void smem_node_remove(struct tree *t, const char *path);

/* store_mem_file.c: XN_STORE_MEM_FILE and its journal.  open loads both
 * (nothing when unset); changed/touch/rm record a change of the tree, and
 * the journal gets it at the end of the loop turn; flush writes at once;
 * close writes what is left. */
int smem_file_open(struct xn_store *st, const char *file, xn_err *err);
void smem_file_close(struct xn_store *st);
int smem_file_flush(struct xn_store *st, xn_err *err);
void smem_file_changed(struct xn_store *st);
/* path was or is about to be written (its missing parents with it) */
void smem_file_touch(struct mem *m, const char *path);
void smem_file_rm(struct mem *m, const char *path);
/* A transaction begins / is undone: its recorded changes are dropped. */
void smem_file_tx_begin(struct mem *m);
void smem_file_tx_undone(struct mem *m);

#endif
