/* kapi_connlimit.c - the unauthenticated connections of the kubelet API:
 * total and per-address caps, oldest out first (kapi_connlimit.h). */
#include <netinet/in.h>
#include <string.h>

#include "kapi_connlimit.h"

void kcl_init(struct kcl *l, unsigned max_total, unsigned max_per_addr)
{
	memset(l, 0, sizeof(*l));
	l->max_total = max_total ? max_total : 1;
	l->max_per_addr = max_per_addr ? max_per_addr : 1;
}

void kcl_key(const struct sockaddr *sa, uint8_t key[17])
{
	memset(key, 0, 17);
	if (sa == NULL)
		return;
	key[0] = (uint8_t)sa->sa_family;
	if (sa->sa_family == AF_INET)
		memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	else if (sa->sa_family == AF_INET6)
		memcpy(key + 1, &((const struct sockaddr_in6 *)sa)->sin6_addr, 8); /* the /64 */
}

void kcl_remove(struct kcl *l, struct kcl_node *n)
{
	if (!n->listed)
		return;
	if (n->prev)
		n->prev->next = n->next;
	else
		l->oldest = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		l->newest = n->prev;
	n->prev = n->next = NULL;
	n->listed = false;
	l->n--;
}

static unsigned count_key(const struct kcl *l, const uint8_t key[17], struct kcl_node **oldest)
{
	unsigned c = 0;

	*oldest = NULL;
	for (struct kcl_node *m = l->oldest; m; m = m->next)
		if (memcmp(m->key, key, 17) == 0) {
			if (c++ == 0)
				*oldest = m;
		}
	return c;
}

struct kcl_node *kcl_admit(struct kcl *l, struct kcl_node *n, const struct sockaddr *sa)
{
	struct kcl_node *victim = NULL;

	kcl_remove(l, n);
	kcl_key(sa, n->key);
	n->prev = l->newest;
	n->next = NULL;
	if (l->newest)
		l->newest->next = n;
	else
		l->oldest = n;
	l->newest = n;
	n->listed = true;
	l->n++;
	if (count_key(l, n->key, &victim) <= l->max_per_addr)
		victim = l->n > l->max_total ? l->oldest : NULL;
	if (victim)
		kcl_remove(l, victim);
	return victim;
}

struct kcl_node *kcl_oldest(const struct kcl *l)
{
	return l->oldest;
}

unsigned kcl_count_addr(const struct kcl *l, const struct sockaddr *sa)
{
	uint8_t key[17];
	struct kcl_node *first;

	kcl_key(sa, key);
	return count_key(l, key, &first);
}

bool kcl_ratelimit_ok(struct kcl_ratelimit *r, uint64_t now_ns, uint64_t interval_ns,
		      unsigned *suppressed)
{
	if (r->ever && now_ns - r->last_ns < interval_ns) {
		r->held++;
		return false;
	}
	*suppressed = r->held;
	r->held = 0;
	r->last_ns = now_ns;
	r->ever = true;
	return true;
}
