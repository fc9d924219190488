/* crijoin.c - CRI log lines back to the guest's lines (pure: unit tested). */
#include <stdlib.h>
#include <string.h>

#include "xenlet/util.h"
#include "crijoin.h"

static void append(struct xlp_crijoin *j, const char *s, size_t n)
{
	if (j->len + n + 1 > j->cap) {
		j->cap = (j->len + n + 1) * 2;
		j->buf = xn_xrealloc(j->buf, j->cap);
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

/* Split "<ts> <stream> <tag> <text>"; false when raw has another shape. */
static bool split(const char *raw, const char **ts_end, char *tag, const char **text)
{
	const char *sp1 = strchr(raw, ' '), *sp2, *t;

	if (sp1 == NULL || sp1 == raw ||
	    (size_t)(sp1 - raw) >= sizeof(((struct xlp_crijoin *)0)->ts))
		return false;
	sp2 = strchr(sp1 + 1, ' ');
	if (sp2 == NULL || sp2 == sp1 + 1)
		return false;
	t = sp2 + 1;
	if ((t[0] != 'F' && t[0] != 'P') || (t[1] != ' ' && t[1] != '\0'))
		return false;
	*ts_end = sp1;
	*tag = t[0];
	*text = t[1] ? t + 2 : t + 1;
	return true;
}

/* Hand out the pending text, with its timestamp when asked. */
static const char *take(struct xlp_crijoin *j)
{
	if (j->timestamps) {
		size_t tl = strlen(j->ts);

		if (j->len + tl + 2 > j->cap) {
			j->cap = j->len + tl + 2;
			j->buf = xn_xrealloc(j->buf, j->cap);
		}
		memmove(j->buf + tl + 1, j->buf, j->len + 1);
		memcpy(j->buf, j->ts, tl);
		j->buf[tl] = ' ';
		j->len += tl + 1;
	}
	j->pending = false;
	return j->buf;
}

bool xlp_crijoin_feed(struct xlp_crijoin *j, const char *raw, const char **out)
{
	const char *ts_end, *text;
	char tag;

	if (!j->pending)
		j->len = 0;
	if (!split(raw, &ts_end, &tag, &text)) {
		/* Not CRI: shown as it is.  Pending chunks end there, both lines
		 * go out together. */
		if (j->pending) {
			append(j, "\n", 1);
			append(j, raw, strlen(raw));
			*out = take(j);
			return true;
		}
		j->len = 0;
		append(j, raw, strlen(raw));
		j->pending = false;
		*out = j->buf;
		return true;
	}
	if (!j->pending) {
		memcpy(j->ts, raw, (size_t)(ts_end - raw));
		j->ts[ts_end - raw] = '\0';
		j->len = 0;
	}
	append(j, text, strlen(text));
	if (tag == 'P') {
		j->pending = true;
		return false;
	}
	*out = take(j);
	return true;
}

bool xlp_crijoin_flush(struct xlp_crijoin *j, const char **out)
{
	if (!j->pending)
		return false;
	*out = take(j);
	return true;
}

void xlp_crijoin_dispose(struct xlp_crijoin *j)
{
	free(j->buf);
	j->buf = NULL;
	j->len = j->cap = 0;
	j->pending = false;
}
