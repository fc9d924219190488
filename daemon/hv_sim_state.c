/* hv_sim_state.c - hv_sim's domain table on disk, so "domains" outlive the
 * daemon as real Xen domains do (see hv_sim.h, "Persistence").
 *
 * XN_SIM_STATE_DIR/domains.json:
 *   {"version": 1, "next_domid": N, "domains": [{"domid", "name", "tag",
 *    "type", "kernel", "cmdline", "memory_kb", "vcpus", "cpu_weight",
 *    "cpu_cap", "state", "reason", "exit_code", "pc", "ready",
 *    "cpu_time_ns", "script"}, ...]}
 * The script text is kept so a domain survives its file being removed, as a
 * real guest survives its kernel image being deleted.
 */
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xenlet/hv_sim_int.h"
#include "xenlet/util.h"

#define STATE_VERSION  1
#define STATE_FILE_MAX (256 * 1024 * 1024)

static cJSON *dom_to_json(const struct sim_dom *d)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "domid", d->domid);
	cJSON_AddStringToObject(o, "name", d->cfg.name);
	cJSON_AddStringToObject(o, "tag", d->cfg.tag ? d->cfg.tag : "");
	cJSON_AddStringToObject(o, "type", d->cfg.type == XN_GUEST_PV ? "pv" : "pvh");
	cJSON_AddStringToObject(o, "kernel", d->cfg.kernel);
	if (d->cfg.cmdline != NULL)
		cJSON_AddStringToObject(o, "cmdline", d->cfg.cmdline);
	cJSON_AddNumberToObject(o, "memory_kb", (double)d->cfg.memory_kb);
	cJSON_AddNumberToObject(o, "vcpus", d->cfg.vcpus);
	cJSON_AddNumberToObject(o, "cpu_weight", d->cfg.cpu_weight);
	cJSON_AddNumberToObject(o, "cpu_cap", d->cfg.cpu_cap);
	cJSON_AddStringToObject(o, "state", xn_dom_state_name(d->state));
	cJSON_AddStringToObject(o, "reason", xn_shutdown_reason_name(d->reason));
	cJSON_AddNumberToObject(o, "exit_code", d->exit_code);
	cJSON_AddNumberToObject(o, "pc", (double)d->pc);
	cJSON_AddBoolToObject(o, "ready", d->ready);
	cJSON_AddNumberToObject(o, "cpu_time_ns", (double)sim_dom_cpu_ns(d));
	cJSON_AddStringToObject(o, "script", d->script_text ? d->script_text : "");
	sim_net_to_json(d, o);
	return o;
}

int sim_state_save(struct sim *s, xn_err *err)
{
	cleanup_free char *tmp = xn_xasprintf("%s.tmp", s->state_file);
	cleanup_free char *text = NULL;
	cleanup_close int fd = -1;
	bool first = true;
	size_t len = 0;
	FILE *f;

	f = open_memstream(&text, &len);
	if (f == NULL)
		return xn_error_errno(err, errno, "%s: cannot format the domain table",
				      s->state_file);
	fprintf(f, "{\"version\":%d,\"next_domid\":%u,\"domains\":[", STATE_VERSION, s->next_domid);
	for (struct sim_dom *d = s->doms; d != NULL; d = d->next) {
		if (d->creating || d->dying)
			continue;
		if (d->json == NULL) {
			cJSON *o = dom_to_json(d);

			d->json = cJSON_PrintUnformatted(o);
			cJSON_Delete(o);
			if (d->json == NULL)
				abort(); /* cJSON is out of memory */
		}
		fprintf(f, "%s%s", first ? "" : ",", d->json);
		first = false;
	}
	fputs("]}\n", f);
	if (fclose(f) != 0)
		return xn_error(err, ENOMEM, "%s: cannot format the domain table", s->state_file);

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return xn_error_errno(err, errno, "%s", tmp);
	/* written whole, then renamed: a daemon killed at any point leaves the
	 * old table or the new one.  No fsync: the table stands for domains in
	 * a hypervisor's memory, which a crash of the host takes with it; the
	 * empty file such a crash can leave loads as no domains (and the fsync
	 * with every write was a tenth of the daemon's CPU in a burst of pods) */
	if (xn_write_all(fd, text, len) < 0) {
		xn_error_errno(err, errno, "%s: write", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, s->state_file) < 0) {
		xn_error_errno(err, errno, "rename %s to %s", tmp, s->state_file);
		unlink(tmp);
		return -1;
	}
	s->state_writes++;
	return 0;
}

/* *out stays NULL when the file does not exist. */
static int read_all(const char *path, char **out, xn_err *err)
{
	xn_err rerr = NULL;
	bool absent;

	if (xn_read_file(path, STATE_FILE_MAX, out, NULL, &rerr) == 0)
		return 0;
	absent = rerr && rerr->status == ENOENT;
	if (!absent)
		xn_error(err, rerr ? rerr->status : EIO, "%s", xn_error_msg(rerr));
	xn_error_free(&rerr);
	return absent ? 0 : -1;
}

struct jctx {
	const char *file;
	int index;
	xn_err *err;
};

static const char *jstr(struct jctx *c, const cJSON *o, const char *key, bool optional)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (v == NULL && optional)
		return NULL;
	if (!cJSON_IsString(v)) {
		xn_error(c->err, EINVAL, "%s: domains[%d]: field '%s': missing or not a string",
			 c->file, c->index, key);
		return NULL;
	}
	return v->valuestring;
}

static int jnum(struct jctx *c, const cJSON *o, const char *key, double max, uint64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > max) {
		if (c->index < 0)
			return xn_error(c->err, EINVAL,
					"%s: field '%s': missing or not a number 0..%.0f", c->file,
					key, max);
		return xn_error(c->err, EINVAL,
				"%s: domains[%d]: field '%s': missing or not a number 0..%.0f",
				c->file, c->index, key, max);
	}
	*out = (uint64_t)v->valuedouble;
	return 0;
}

static int parse_state(const char *name, enum xn_dom_state *out)
{
	for (int i = XN_DOM_RUNNING; i < XN_DOM_DYING; i++) {
		if (strcmp(name, xn_dom_state_name(i)) == 0) {
			*out = i;
			return 0;
		}
	}
	return -1;
}

static int parse_reason(const char *name, enum xn_shutdown_reason *out)
{
	for (int i = XN_SHUTDOWN_POWEROFF; i <= XN_SHUTDOWN_UNKNOWN; i++) {
		if (strcmp(name, xn_shutdown_reason_name(i)) == 0) {
			*out = i;
			return 0;
		}
	}
	return -1;
}

static int dom_from_json(struct sim *s, struct jctx *c, const cJSON *o, struct sim_dom *d)
{
	const char *name, *tag, *type, *kernel, *cmdline, *state, *reason, *script;
	uint64_t domid, mem, vcpus, weight, cap, code, pc, cpu;
	const cJSON *ready = cJSON_GetObjectItemCaseSensitive(o, "ready");

	if ((name = jstr(c, o, "name", false)) == NULL ||
	    (tag = jstr(c, o, "tag", false)) == NULL ||
	    (type = jstr(c, o, "type", false)) == NULL ||
	    (kernel = jstr(c, o, "kernel", false)) == NULL ||
	    (state = jstr(c, o, "state", false)) == NULL ||
	    (reason = jstr(c, o, "reason", false)) == NULL ||
	    (script = jstr(c, o, "script", false)) == NULL)
		return -1;
	cmdline = jstr(c, o, "cmdline", true);
	if (jnum(c, o, "domid", 0x7fef, &domid) < 0 || jnum(c, o, "memory_kb", 1e15, &mem) < 0 ||
	    jnum(c, o, "vcpus", 128, &vcpus) < 0 || jnum(c, o, "cpu_weight", 65535, &weight) < 0 ||
	    jnum(c, o, "cpu_cap", 12800, &cap) < 0 || jnum(c, o, "exit_code", 255, &code) < 0 ||
	    jnum(c, o, "pc", 1e9, &pc) < 0 || jnum(c, o, "cpu_time_ns", 9e18, &cpu) < 0)
		return -1;
	if (parse_state(state, &d->state) < 0 || parse_reason(reason, &d->reason) < 0)
		return xn_error(c->err, EINVAL,
				"%s: domains[%d]: state '%s' or reason '%s' unknown", c->file,
				c->index, state, reason);
	d->domid = (uint32_t)domid;
	d->cfg.name = xn_xstrdup(name);
	d->cfg.tag = xn_xstrdup(tag);
	d->cfg.type = strcmp(type, "pv") == 0 ? XN_GUEST_PV : XN_GUEST_PVH;
	d->cfg.kernel = xn_xstrdup(kernel);
	d->cfg.cmdline = xn_dup_or_null(cmdline);
	d->cfg.memory_kb = mem;
	d->cfg.vcpus = (unsigned)vcpus;
	d->cfg.cpu_weight = (unsigned)weight;
	d->cfg.cpu_cap = (unsigned)cap;
	d->exit_code = (int)code;
	d->ready = cJSON_IsTrue(ready);
	d->cpu_ns = cpu;
	d->script_text = xn_xstrdup(script);
	if (xn_sim_script_parse(kernel, script, strlen(script), &d->script, c->err) < 0)
		return xn_error_wrap(c->err, "%s: domains[%d]: script", c->file, c->index);
	if (pc > d->script.nsteps)
		return xn_error(c->err, EINVAL, "%s: domains[%d]: pc %llu past the script's end",
				c->file, c->index, (unsigned long long)pc);
	d->pc = (size_t)pc;
	if (sim_net_from_json(d, o, c->err) < 0)
		return xn_error_wrap(c->err, "%s: domains[%d]", c->file, c->index);
	for (struct sim_dom *o2 = s->doms; o2 != NULL; o2 = o2->next)
		if (o2->domid == d->domid || strcmp(o2->cfg.name, d->cfg.name) == 0)
			return xn_error(c->err, EINVAL,
					"%s: domains[%d]: domid %u or name %s twice", c->file,
					c->index, d->domid, d->cfg.name);
	return 0;
}

int sim_state_load(struct sim *s, xn_err *err)
{
	cleanup_free char *text = NULL;
	struct jctx c = {.file = s->state_file, .err = err};
	cJSON *root = NULL, *arr, *o;
	struct sim_dom **tail = &s->doms, *d;
	uint64_t version, next;
	int rc = -1;

	if (read_all(s->state_file, &text, err) < 0)
		return -1;
	if (text == NULL || text[strspn(text, " \t\r\n")] == '\0')
		return 0; /* first start, or the host crashed: no domains */
	root = cJSON_Parse(text);
	if (root == NULL) {
		xn_error(err, EINVAL, "%s: not valid JSON", s->state_file);
		goto out;
	}
	c.index = -1;
	if (jnum(&c, root, "version", 1e9, &version) < 0)
		goto out;
	if (version != STATE_VERSION) {
		xn_error(err, EINVAL, "%s: version %llu: this xenletd reads version %d",
			 s->state_file, (unsigned long long)version, STATE_VERSION);
		goto out;
	}
	if (jnum(&c, root, "next_domid", 0x7ff0, &next) < 0)
		goto out;
	s->next_domid = next > 0 ? (uint32_t)next : 1;
	arr = cJSON_GetObjectItemCaseSensitive(root, "domains");
	if (!cJSON_IsArray(arr)) {
		xn_error(err, EINVAL, "%s: domains: missing or not an array", s->state_file);
		goto out;
	}
	c.index = 0;
	cJSON_ArrayForEach(o, arr) {
		d = sim_dom_new(s);
		if (dom_from_json(s, &c, o, d) < 0) {
			sim_dom_free(d);
			goto out;
		}
		if (d->domid >= s->next_domid)
			s->next_domid = d->domid + 1;
		*tail = d;
		tail = &d->next;
		c.index++;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}
