/* cmdtable.c - the xl-pod command table and command-name lookup (pure: unit tested). */
#include <stdio.h>
#include <string.h>

#include "xl_pod.h"

/* Keep the names so that each has a short unique prefix an operator can
 * type: c(reate)/co(nsole), li(st)/lo(gs), d(estroy), n(ode), v(ersion),
 * p(ause), u(npause), i(mage). */
const struct cmd_spec xlp_cmd_table[] = {
    {"list", main_list, false, "List the pods on this node", "[-l]",
     "-l, --long              print the daemon's JSON instead of a table"},
    {"create", main_create, true, "Create a local pod: one domain from a kernel",
     "[options] NAME KERNEL [CMDLINE...]",
     "-n, --namespace NS      namespace (default: default)\n"
     "-m, --memory MEM        memory: a Kubernetes quantity (64Mi, 1Gi) or MiB (default 64Mi)\n"
     "-c, --vcpus N           virtual CPUs, 1..128 (default 1)\n"
     "-t, --type pv|pvh       guest type (default: the kernel's Xen notes choose)\n"
     "-r, --ramdisk PATH      initial ramdisk\n"
     "-p, --restart POLICY    Always, OnFailure or Never (default Never)\n"
     "    --ready             Ready follows the guest's data/xenlet/ready key\n"
     "    --boot-timeout SECS destroy the domain (exit 124) if it has not booted by then:\n"
     "                        no console output (or, with --ready, not ready)\n"
     "\nWith the global -N, print the domain that would be built and create nothing."},
    {"destroy", main_destroy, false, "Stop a pod and forget it (waits until it is gone)",
     "[-n NS] [-g SECONDS] NAME",
     "-n, --namespace NS      namespace (default: default)\n"
     "-g, --grace SECONDS     grace period before the domain is destroyed (0..86400)"},
    {"pause", main_pause, false, "Pause a pod's domain (its vCPUs stop, memory stays)",
     "[-n NS] NAME", "-n, --namespace NS      namespace (default: default)"},
    {"unpause", main_unpause, false, "Resume a paused pod's domain", "[-n NS] NAME",
     "-n, --namespace NS      namespace (default: default)"},
    {"logs", main_logs, false, "Print a pod's console log", "[options] NAME",
     "-n, --namespace NS      namespace (default: default)\n"
     "-f, --follow            keep printing new lines until interrupted\n"
     "-p, --previous          the log of the previous instance (after a restart)\n"
     "    --tail N            only the last N lines of the file\n"
     "    --timestamps        prefix each line with its RFC 3339 timestamp\n"
     "    --since D           only lines newer than D (90s, 5m, 2h)\n"
     "    --since-time T      only lines from RFC 3339 time T on\n"
     "    --limit-bytes N     stop after N bytes"},
    {"console", main_console, false, "Attach to a pod's console (Ctrl-] detaches)", "[-n NS] NAME",
     "-n, --namespace NS      namespace (default: default)\n"
     "When stdin is not a terminal, copy the console output to stdout."},
    {"image", main_image, false, "The node's unikernel images: pull, list, rm, import, pack",
     "pull REF | list [-l] | rm REF|DIGEST | import DIR|ARCHIVE REF |\n"
     "                    pack [options] KERNEL -o DIR",
     "pull REF                pull through xenletd's puller; prints the digest and size\n"
     "list [-l]               the cached images: reference, digest, size\n"
     "rm REF|DIGEST           forget an image (refused while a pod uses it)\n"
     "import DIR|ARCHIVE REF  load an OCI image layout (or a tar of one) into the\n"
     "                        cache as REF, offline; the entry tagged REF's tag\n"
     "pack KERNEL -o DIR      write an OCI image layout of the xenlet format:\n"
     "  -i, --initrd FILE       initial ramdisk\n"
     "  -c, --cmdline S         default kernel command line\n"
     "  -t, --type pv|pvh       guest type (default: the kernel's Xen notes)\n"
     "  -m, --min-memory Q      smallest pod memory, a quantity (32Mi)\n"
     "  -n, --net-config C      mirage, unikraft, linux or none\n"
     "  -T, --tag T             the layout's tag (default latest)\n"
     "  -a, --arch A            amd64 or arm64 (default: this build's)"},
    {"node", main_node, false, "Show host information and what the pods use", "", ""},
    {"version", main_version, false, "Show the versions of xl-pod and xenletd", "", ""},
    {"help", main_help, false, "Show help on xl-pod or one command", "[COMMAND]", ""},
};
const size_t xlp_cmd_table_len = sizeof(xlp_cmd_table) / sizeof(xlp_cmd_table[0]);

const struct cmd_spec *xlp_cmd_find(const struct cmd_spec *table, size_t n, const char *name,
				    char *msg, size_t msglen)
{
	const struct cmd_spec *found = NULL;
	size_t len = strlen(name), matches = 0, off;

	if (len == 0) {
		snprintf(msg, msglen, "empty command name");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
		if (strncmp(table[i].name, name, len) == 0) {
			found = &table[i];
			matches++;
		}
	}
	if (matches == 1)
		return found;
	if (matches == 0) {
		snprintf(msg, msglen, "unknown command: %s", name);
		return NULL;
	}
	off = (size_t)snprintf(msg, msglen, "ambiguous command: %s, could be: ", name);
	for (size_t i = 0, k = 0; i < n && off < msglen; i++) {
		if (strncmp(table[i].name, name, len) != 0)
			continue;
		off += (size_t)snprintf(msg + off, msglen - off, "%s%s", k++ ? ", " : "",
					table[i].name);
	}
	return NULL;
}
