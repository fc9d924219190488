/* xl_pod.h - the command table, option handling and helpers shared by the
 * xl-pod command files.
 *
 * Shaped like Xen's tools/xl: one struct cmd_spec per command (name,
 * handler, one-line description, usage, options), handlers with the
 * signature of main(), and SWITCH_FOREACH_OPT wrapping getopt_long so that
 * -h/--help works for every command without each one handling it.
 *
 * Exit codes: 0 success, 1 an error (one line on stderr: "xl-pod: CMD: why"),
 * 2 a usage error (the message, then the usage line).
 */
#ifndef XL_POD_H
#define XL_POD_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct cJSON;

struct cmd_spec {
	const char *name;
	int (*handler)(int argc, char **argv); /* argv[0] is the full command name */
	bool can_dryrun;		       /* the global -N applies */
	const char *desc;		       /* one line */
	const char *usage;		       /* what follows "xl-pod NAME " */
	const char *options;		       /* one option per line, may be "" */
};

extern const struct cmd_spec xlp_cmd_table[];
extern const size_t xlp_cmd_table_len;

/* Find the command NAME names: an exact name wins, else a unique prefix.
 * Returns the entry, or NULL with a message in msg ("unknown command: x" or
 * "ambiguous command: l, could be: list, logs"). */
const struct cmd_spec *xlp_cmd_find(const struct cmd_spec *table, size_t n, const char *name,
				    char *msg, size_t msglen);

/* Global options, set by main before the command runs. */
struct xlp_globals {
	const char *socket; /* control socket path */
	bool dry_run;	    /* -N */
	int verbose;	    /* -v: show requests and answers on stderr */
};
extern struct xlp_globals xlp_g;

/* getopt_long for a command, as xl's def_getopt: handles -h/--help (prints
 * the command's help, exits 0), unknown options and fewer than nreq
 * positional arguments (message and usage line, exits 2).  An optstring
 * starting with '+' stops at the first positional argument. */
int xlp_getopt(int argc, char **argv, const char *opts, const struct option *longopts, int nreq);

#define SWITCH_FOREACH_OPT(opt, opts, longopts, nreq)                                              \
	while (((opt) = xlp_getopt(argc, argv, (opts), (longopts), (nreq))) != -1)                 \
		switch (opt)

/* Terminates a longopts array, adding --help. */
#define XLP_COMMON_LONG_OPTS                                                                       \
	{"help", no_argument, NULL, 'h'},                                                          \
	{                                                                                          \
		NULL, 0, NULL, 0                                                                   \
	}

/* Print "xl-pod: CMD: message" on stderr; returns 1 (the exit code). */
int xlp_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "xl-pod: CMD: message" and the usage line on stderr, exit 2. */
void xlp_usage_fail(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
/* Print the help of one command (or of all when cmd is NULL) on f. */
void xlp_help(FILE *f, const struct cmd_spec *cmd);

/* One exchange with xenletd.  Takes ownership of req.  On success *answer
 * is the parsed {"ok":true,...} object (caller frees) and 0 is returned;
 * otherwise the daemon's error or the transport problem has been printed
 * as one line and 1 is returned. */
int xlp_call(const char *cmd, struct cJSON *req, struct cJSON **answer);

/* Command handlers (one file each). */
int main_list(int argc, char **argv);
int main_create(int argc, char **argv);
int main_destroy(int argc, char **argv);
int main_pause(int argc, char **argv);
int main_unpause(int argc, char **argv);
int main_logs(int argc, char **argv);
int main_console(int argc, char **argv);
int main_node(int argc, char **argv);
int main_image(int argc, char **argv);
int main_version(int argc, char **argv);
int main_help(int argc, char **argv);

#endif
