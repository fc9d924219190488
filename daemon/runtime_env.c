/* runtime_env.c - a pod's environment at each start: the plan made at
 * translation completed with the pod's address (pod_env.h), the command
 * line expanded with it as the kubelet expands command/args, and the
 * variables written to the guest's xenlet/env/ keys before it runs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime_priv.h"
#include "xenlet/pod_env.h"
#include "xenlet/store.h"
#include "xenlet/util.h"

#define CMDLINE_MAX 2048 /* as pod_translate.c: Xen's command line limit */

static int resolve(struct pod *p, struct xn_env *env, xn_err *err)
{
	if (xn_pod_env_resolve(p->spec.env_plan, p->st.ip, p->st.ip6, env, err) < 0)
		return xn_error_wrap(err, "containers[0].env");
	return 0;
}

int xn_rt_env_prepare(struct pod *p, struct xn_domain_config *c, char **cmdline, xn_err *err)
{
	struct xn_env env;
	char *expanded, *full;

	if (p->spec.cmdline == NULL)
		return 0;
	if (resolve(p, &env, err) < 0)
		return -1;
	/* the joined command line expands as its parts would: a name has no
	 * space, so no reference spans two arguments */
	expanded = xn_env_expand(p->spec.cmdline, &env);
	xn_env_dispose(&env);
	for (const char *s = expanded; *s; s++)
		if ((unsigned char)*s < 0x20) {
			free(expanded);
			return xn_error(err, EINVAL,
					"command and args: a control character after $(VAR) "
					"expansion cannot go on a kernel command line");
		}
	full = p->has_net ? xn_net_cmdline(p->spec.net_config, &p->net, expanded)
			  : xn_xstrdup(expanded);
	free(expanded);
	if (strlen(full) >= CMDLINE_MAX) {
		size_t n = strlen(full);
		free(full);
		return xn_error(err, E2BIG,
				"command and args: %zu bytes after $(VAR) expansion, more than "
				"the kernel command line limit of %d",
				n, CMDLINE_MAX - 1);
	}
	free(*cmdline);
	*cmdline = full;
	c->cmdline = full;
	return 0;
}

int xn_rt_env_guest(struct pod *p, uint32_t domid, xn_err *err)
{
	struct xn_env env;
	const char **keys, **vals;
	int rc;

	if (p->spec.env_plan == NULL)
		return 0;
	if (resolve(p, &env, err) < 0)
		return -1;
	if (env.n == 0) {
		xn_env_dispose(&env);
		return 0;
	}
	keys = xn_xmalloc((env.n + 1) * sizeof(*keys));
	vals = xn_xmalloc((env.n + 1) * sizeof(*vals));
	for (size_t i = 0; i < env.n; i++) {
		keys[i] = xn_xasprintf("env/%s", env.names[i]);
		vals[i] = env.values[i];
	}
	keys[env.n] = vals[env.n] = NULL;
	rc = xn_store_guest_config_put(p->rt->store, domid, keys, vals, err);
	for (size_t i = 0; i < env.n; i++)
		free((char *)keys[i]);
	free(keys);
	free(vals);
	xn_env_dispose(&env);
	return rc;
}
