/* main.c - xl-pod: global options, command dispatch, per-command option parsing and help. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xl_pod.h"

#define XLP_DEFAULT_SOCKET "/run/xenlet/xenletd.sock"

struct xlp_globals xlp_g;
static const struct cmd_spec *current; /* the command being run, for help and errors */

__attribute__((format(printf, 2, 0))) static void vcomplain(const char *cmd, const char *fmt,
							    va_list ap)
{
	fprintf(stderr, "xl-pod: %s: ", cmd);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int xlp_fail(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vcomplain(cmd, fmt, ap);
	va_end(ap);
	return 1;
}

static void usage_line(FILE *f, const struct cmd_spec *cmd)
{
	if (cmd == NULL)
		fprintf(f, "usage: xl-pod [-v] [-N] [-s SOCKET] COMMAND [ARGS]\n");
	else
		fprintf(f, "usage: xl-pod %s%s%s\n", cmd->name, cmd->usage[0] ? " " : "",
			cmd->usage);
}

void xlp_usage_fail(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vcomplain(cmd, fmt, ap);
	va_end(ap);
	usage_line(stderr, current);
	exit(2);
}

void xlp_help(FILE *f, const struct cmd_spec *cmd)
{
	if (cmd != NULL) {
		usage_line(f, cmd);
		fprintf(f, "\n%s.\n", cmd->desc);
		if (cmd->options[0])
			fprintf(f, "\nOptions:\n\n%s\n", cmd->options);
		return;
	}
	usage_line(f, NULL);
	fprintf(f,
		"\nGlobal options:\n\n"
		"-s SOCKET    xenletd's control socket (default $XENLET_CTL_SOCKET or %s)\n"
		"-N           dry run: show what would be done, change nothing\n"
		"-v           verbose: show the requests and answers\n"
		"\nCommands (any unambiguous prefix will do):\n\n",
		XLP_DEFAULT_SOCKET);
	for (size_t i = 0; i < xlp_cmd_table_len; i++)
		fprintf(f, " %-12s %s\n", xlp_cmd_table[i].name, xlp_cmd_table[i].desc);
	fprintf(f, "\nxl-pod help COMMAND or xl-pod COMMAND -h shows a command's options.\n");
}

int xlp_getopt(int argc, char **argv, const char *opts, const struct option *longopts, int nreq)
{
	char optstring[64];
	bool stop = opts[0] == '+';
	int opt;

	/* '+': options before positionals only; ':': we report missing arguments. */
	snprintf(optstring, sizeof(optstring), "%s:h%s", stop ? "+" : "", opts + (stop ? 1 : 0));
	opterr = 0;
	opt = getopt_long(argc, argv, optstring, longopts, NULL);
	switch (opt) {
	case 'h': xlp_help(stdout, current); exit(0);
	case ':': xlp_usage_fail(current->name, "option %s: needs an argument", argv[optind - 1]);
	case '?':
		if (optopt)
			xlp_usage_fail(current->name, "unknown option -%c", optopt);
		xlp_usage_fail(current->name, "unknown option %s", argv[optind - 1]);
	case -1:
		if (argc - optind < nreq)
			xlp_usage_fail(current->name, "missing argument");
		break;
	}
	return opt;
}

int main_help(int argc, char **argv)
{
	const struct cmd_spec *cmd;
	char msg[256];
	int opt;

	SWITCH_FOREACH_OPT(opt, "", NULL, 0) {
	}
	if (argc - optind > 1)
		xlp_usage_fail("help", "too many arguments");
	if (optind == argc) {
		xlp_help(stdout, NULL);
		return 0;
	}
	cmd = xlp_cmd_find(xlp_cmd_table, xlp_cmd_table_len, argv[optind], msg, sizeof(msg));
	if (cmd == NULL)
		xlp_usage_fail("help", "%s", msg);
	xlp_help(stdout, cmd);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {XLP_COMMON_LONG_OPTS};
	const struct cmd_spec *cmd;
	char msg[256];
	int opt;

	xlp_g.socket = getenv("XENLET_CTL_SOCKET");
	if (xlp_g.socket == NULL || xlp_g.socket[0] == '\0')
		xlp_g.socket = XLP_DEFAULT_SOCKET;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:hs:Nv", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': xlp_g.socket = optarg; break;
		case 'N': xlp_g.dry_run = true; break;
		case 'v': xlp_g.verbose++; break;
		case 'h': xlp_help(stdout, NULL); return 0;
		case ':':
			fprintf(stderr, "xl-pod: option %s: needs an argument\n", argv[optind - 1]);
			usage_line(stderr, NULL);
			return 2;
		default:
			if (optopt)
				fprintf(stderr, "xl-pod: unknown option -%c\n", optopt);
			else
				fprintf(stderr, "xl-pod: unknown option %s\n", argv[optind - 1]);
			usage_line(stderr, NULL);
			return 2;
		}
	}
	if (optind == argc) {
		xlp_help(stderr, NULL);
		return 2;
	}
	cmd = xlp_cmd_find(xlp_cmd_table, xlp_cmd_table_len, argv[optind], msg, sizeof(msg));
	if (cmd == NULL) {
		fprintf(stderr, "xl-pod: %s\n", msg);
		usage_line(stderr, NULL);
		return 2;
	}
	if (xlp_g.dry_run && !cmd->can_dryrun) {
		fprintf(stderr, "xl-pod: %s: does not implement -N (dry run)\n", cmd->name);
		return 2;
	}
	current = cmd;
	argv += optind;
	argc -= optind;
	argv[0] = (char *)cmd->name;
	optind = 0; /* glibc: start afresh for the command's own options */
	return cmd->handler(argc, argv);
}
