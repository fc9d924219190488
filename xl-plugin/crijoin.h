/* crijoin.h - reading CRI log lines back: strip the prefix, join partial chunks.
 *
 * A CRI log line is "<RFC3339NANO> <stream> <F|P> <text>" (see
 * include/xenlet/crilog.h); P marks a chunk continued by the next line.
 * xlp_crijoin_feed() takes raw lines one at a time (without the newline)
 * and yields whole lines as a reader wants them: the text alone, or with
 * timestamps "<time of the first chunk> <text>" as `kubectl logs
 * --timestamps` prints.  A line that does not have the CRI shape is passed
 * through unchanged, so that a damaged file still shows what it holds.
 */
#ifndef XLP_CRIJOIN_H
#define XLP_CRIJOIN_H

#include <stdbool.h>
#include <stddef.h>

struct xlp_crijoin {
	bool timestamps;
	bool pending; /* P chunks are waiting for their F */
	char ts[48];  /* timestamp of the first pending chunk */
	char *buf;    /* pending text, then the line handed out */
	size_t len, cap;
};

/* Feed one raw line.  Returns true when a whole line is ready; *out then
 * points into j and stays valid until the next call. */
bool xlp_crijoin_feed(struct xlp_crijoin *j, const char *raw, const char **out);
/* Flush chunks still pending at the end of the input (a P with no F). */
bool xlp_crijoin_flush(struct xlp_crijoin *j, const char **out);
void xlp_crijoin_dispose(struct xlp_crijoin *j);

#endif
