/* kapi_connlimit.h - who may hold a connection to the kubelet API before it
 * has authenticated (private to the kubelet API; docs/kubelet-api.md,
 * "Limits").
 *
 * Pure bookkeeping, no I/O: a list of the unauthenticated connections,
 * oldest first, with a total cap and a cap per source address.  A newcomer
 * is always admitted; when that puts the total or its address over the cap,
 * the answer is the connection to close: the oldest of its address, else
 * the oldest of all.  So a flood can only push out connections that have
 * been waiting longest (and hold no authenticated slot), never keep a valid
 * client from getting in.  IPv6 sources are counted by their /64, which is
 * what one host usually has. */
#ifndef XENLET_KAPI_CONNLIMIT_H
#define XENLET_KAPI_CONNLIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* One connection on the list; embed it in the connection. */
struct kcl_node {
	struct kcl_node *prev, *next; /* older, newer */
	uint8_t key[17];	      /* family byte + IPv4 address or IPv6 /64 */
	bool listed;
};

struct kcl {
	struct kcl_node *oldest, *newest;
	unsigned n;
	unsigned max_total;
	unsigned max_per_addr;
};

void kcl_init(struct kcl *l, unsigned max_total, unsigned max_per_addr);
/* The key of a peer address (AF_INET, AF_INET6; anything else one shared key). */
void kcl_key(const struct sockaddr *sa, uint8_t key[17]);
/* Add n (newest) from the peer address sa.  Returns the connection the
 * caller must close (already off the list), or NULL when all fit. */
struct kcl_node *kcl_admit(struct kcl *l, struct kcl_node *n, const struct sockaddr *sa);
/* Take n off the list (authenticated, or closed); no-op when not listed. */
void kcl_remove(struct kcl *l, struct kcl_node *n);
/* The oldest listed connection (to close first when descriptors run out). */
struct kcl_node *kcl_oldest(const struct kcl *l);
/* How many listed connections share sa's key. */
unsigned kcl_count_addr(const struct kcl *l, const struct sockaddr *sa);

/* A message at most once per interval: true when it may be logged now;
 * *suppressed then holds how many were held back since the last one. */
struct kcl_ratelimit {
	uint64_t last_ns;
	unsigned held;
	bool ever;
};
bool kcl_ratelimit_ok(struct kcl_ratelimit *r, uint64_t now_ns, uint64_t interval_ns,
		      unsigned *suppressed);

#endif
