/* token_bucket.c - see token_bucket.h. */
#include "xenlet/token_bucket.h"

void xn_token_bucket_init(struct xn_token_bucket *tb, unsigned burst, double per_s)
{
	*tb = (struct xn_token_bucket){.burst = burst, .per_s = per_s};
}

bool xn_token_bucket_take(struct xn_token_bucket *tb, uint64_t now_ns)
{
	if (!tb->started) {
		tb->started = true;
		tb->tokens = tb->burst;
		tb->last_ns = now_ns;
	} else if (now_ns > tb->last_ns) {
		tb->tokens += (double)(now_ns - tb->last_ns) / 1e9 * tb->per_s;
		if (tb->tokens > tb->burst)
			tb->tokens = tb->burst;
		tb->last_ns = now_ns;
	}
	if (tb->tokens < 1.0) {
		tb->dropped++;
		return false;
	}
	tb->tokens -= 1.0;
	return true;
}
