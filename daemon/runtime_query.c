/* runtime_query.c - what other modules read of the runtime: a pod's spec
 * and status, lookups, usage for admission and the node status, log paths,
 * and the domain a spec becomes.  Nothing here changes a pod. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime_priv.h"
#include "xenlet/crilog.h"
#include "xenlet/util.h"

struct pod *xn_rt_find_uid(struct xn_runtime *rt, const char *uid)
{
	struct pod *p;

	TAILQ_FOREACH(p, &rt->pods, entry)
		if (strcmp(p->spec.uid, uid) == 0)
			return p;
	return NULL;
}

/* Xen names must be unique on the host: the pod name plus a piece of its
 * uid, characters outside [A-Za-z0-9._-] replaced. */
void xn_rt_domain_name(const struct xn_pod_spec *s, char out[XN_NAME_MAX])
{
	char uid8[9];
	size_t n;

	snprintf(uid8, sizeof(uid8), "%s", s->uid);
	n = (size_t)snprintf(out, XN_NAME_MAX, "%.*s-%.*s-%s", 24, s->ns, 28, s->name, uid8);
	for (size_t i = 0; i < n && i < XN_NAME_MAX; i++) {
		char ch = out[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_'))
			out[i] = '_';
	}
}

void xn_runtime_domain_config(const struct xn_pod_spec *s, char name[XN_NAME_MAX],
			      struct xn_domain_config *c)
{
	xn_rt_domain_name(s, name);
	*c = (struct xn_domain_config){
	    .name = name,
	    .tag = s->uid,
	    .type = s->type,
	    .kernel = s->kernel,
	    .ramdisk = s->ramdisk,
	    .cmdline = s->cmdline,
	    .memory_kb = s->memory_kb,
	    .vcpus = s->vcpus ? s->vcpus : 1,
	    .cpu_weight = s->cpu_weight,
	    .cpu_cap = s->cpu_cap,
	};
}

void xn_runtime_domain_config_net(const struct xn_pod_spec *s, const struct xn_pod_net *n,
				  const char *bridge, const char *script, char name[XN_NAME_MAX],
				  struct xn_domain_config *c, struct xn_vif *vif, char **cmdline)
{
	xn_runtime_domain_config(s, name, c);
	xn_net_vif(n, bridge, script, vif);
	c->vifs = vif;
	c->nvifs = 1;
	*cmdline = xn_net_cmdline(s->net_config, n, s->cmdline);
	c->cmdline = *cmdline;
}

const struct xn_pod_status *xn_runtime_status(struct xn_runtime *rt, const char *uid)
{
	struct pod *p = xn_rt_find_uid(rt, uid);

	return p ? &p->st : NULL;
}

const struct xn_pod_spec *xn_runtime_spec(struct xn_runtime *rt, const char *uid)
{
	struct pod *p = xn_rt_find_uid(rt, uid);

	return p ? &p->spec : NULL;
}

const char *xn_runtime_find(struct xn_runtime *rt, const char *ns, const char *name)
{
	struct pod *p;

	TAILQ_FOREACH(p, &rt->pods, entry)
		if (strcmp(p->spec.ns, ns) == 0 && strcmp(p->spec.name, name) == 0)
			return p->spec.uid;
	return NULL;
}

void xn_runtime_foreach(struct xn_runtime *rt,
			int (*fn)(const struct xn_pod_spec *, const struct xn_pod_status *, void *),
			void *arg)
{
	struct pod *p, *next;

	for (p = TAILQ_FIRST(&rt->pods); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (fn(&p->spec, &p->st, arg) != 0)
			break;
	}
}

char *xn_runtime_log_path(struct xn_runtime *rt, const char *uid, unsigned restart)
{
	struct pod *p = xn_rt_find_uid(rt, uid);

	if (p == NULL)
		return NULL;
	return xn_crilog_instance_path(rt->opts.log_dir, p->spec.ns, p->spec.name, p->spec.uid,
				       p->spec.container, restart);
}

int xn_runtime_log_instance(struct xn_runtime *rt, const char *uid, bool previous, unsigned *out)
{
	struct pod *p = xn_rt_find_uid(rt, uid);
	cleanup_free char *path = NULL;
	struct xn_crilog_pick pick;

	if (p == NULL)
		return -1;
	path = xn_runtime_log_path(rt, uid, p->st.restart_count);
	pick = (struct xn_crilog_pick){
	    .restart_count = p->st.restart_count,
	    .running = p->st.state == XN_INST_RUNNING,
	    .waiting = p->st.state == XN_INST_WAITING,
	    .has_last = p->st.has_last,
	    .newest_exists = path && access(path, F_OK) == 0,
	};
	return xn_crilog_pick_instance(&pick, previous, out);
}

void xn_runtime_usage(struct xn_runtime *rt, unsigned *pods, uint64_t *memory_kb, unsigned *vcpus)
{
	struct pod *p;

	*pods = 0;
	*memory_kb = 0;
	*vcpus = 0;
	TAILQ_FOREACH(p, &rt->pods, entry) {
		if (p->st.finished)
			continue;
		(*pods)++;
		*memory_kb += p->spec.memory_kb;
		*vcpus += p->spec.vcpus;
	}
}

uint64_t xn_runtime_cpu_requests(struct xn_runtime *rt)
{
	struct pod *p;
	uint64_t milli = 0;

	TAILQ_FOREACH(p, &rt->pods, entry)
		if (!p->st.finished)
			milli += p->spec.cpu_request_milli;
	return milli;
}
