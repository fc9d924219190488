/* fuzz_kapi_authz.c - the kubelet API's authorization attributes
 * (daemon/kubelet_api_server.c): the request target, as evhttp parses and
 * decodes it, -> the route row -> the SubjectAccessReview's verb and
 * subresources.  The same row is what dispatch runs, so the attributes
 * must hold for whatever handler the row leads to.
 *
 * Byte 1 picks the method (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS);
 * the rest is the request target ("/exec/ns/pod/c?command=x").  Checked:
 *  - the verb is one of the kubelet's (get, create, update, patch, delete)
 *    and the first subresource is set;
 *  - a row whose handlers can change a pod or open a stream into its guest
 *    (post, upgrade: exec, attach; and portForward, run) is authorized as
 *    "create" whatever the method (issue 9, finding 3);
 *  - the row is the first one whose prefix covers the decoded path, "/"
 *    the last, and a path under a row with segments is that row's only when
 *    it starts with the row's prefix and a "/" or ends there.
 */
#include <event2/http.h>

#include "../../daemon/kubelet_api_priv.h"
#include "fuzz.h"

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
static const char *const verbs[] = {"get", "create", "update", "patch", "delete"};

static bool known_verb(const char *v)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (v != NULL && strcmp(v, verbs[i]) == 0)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *method = methods[xn_fuzz_take_byte(&data, &size) % 7];
	char *target = xn_fuzz_cstr(data, size), *path;
	struct evhttp_uri *uri = evhttp_uri_parse_with_flags(target, 0);
	const struct kapi_route *rt;
	const char *verb = NULL, *sub[2] = {NULL, NULL};
	size_t n;

	if (uri == NULL) {
		free(target);
		return 0; /* evhttp answers 400 before any of this */
	}
	path = evhttp_uridecode(evhttp_uri_get_path(uri) ? evhttp_uri_get_path(uri) : "/", 0, NULL);
	if (path == NULL)
		abort();
	rt = kapi_route_find(path);
	xn_kapi_authz_attrs(method, path, &verb, sub);
	if (!known_verb(verb) || sub[0] == NULL)
		abort();
	if ((rt->post || rt->upgrade || rt->verb) && strcmp(verb, "create") != 0)
		abort();
	if (rt->sub[0] != sub[0] || rt->sub[1] != sub[1])
		abort();
	/* the row: its prefix covers the path, and no earlier row's does */
	n = strlen(rt->path);
	if (strcmp(rt->path, "/") != 0 &&
	    (strncmp(path, rt->path, n) != 0 || (path[n] != '\0' && path[n] != '/')))
		abort();
	for (const struct kapi_route *r = kapi_routes; r < rt; r++) {
		size_t m = strlen(r->path);

		if (strncmp(path, r->path, m) == 0 && (path[m] == '\0' || path[m] == '/'))
			abort();
	}
	free(path);
	evhttp_uri_free(uri);
	free(target);
	return 0;
}
