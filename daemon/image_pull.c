/* image_pull.c - the registry client: manifests, auth, blobs streamed to
 * the cache with SHA-256 verified on the way, Range resume (see
 * image_pull.h). */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/evp.h>

#include "image_cache.h"
#include "xenlet/curl_loop.h"
#include "xenlet/image_manifest.h"
#include "xenlet/image_pull.h"
#include "xenlet/image_ref.h"
#include "xenlet/metrics.h"
#include "xenlet/util.h"

#ifndef XN_VERSION
#define XN_VERSION "0"
#endif

#define ERR_BODY_MAX  4096
#define TOKEN_MAX     (1u << 20)
#define MANIFEST_MS   30000L
#define STALL_SECONDS 30L

enum step { S_MANIFEST, S_TOKEN, S_BLOB };

struct xn_image_puller {
	struct event_base *base;
	struct xn_curl_loop *loop;
	char *cache_dir;
	struct xn_registry_conf *regs;
	size_t nregs;
	char *arch;
	char *user_agent;
	TAILQ_HEAD(, xn_image_pull) pulls;
};

struct xn_image_pull {
	TAILQ_ENTRY(xn_image_pull) link;
	/* One transfer per reference: a second pull of a reference in flight
	 * is a follower, told the leader's result; a leader cancelled while
	 * followers wait runs on as an orphan that tells nobody. */
	struct xn_image_pull *leader;
	TAILQ_HEAD(, xn_image_pull) followers;
	TAILQ_ENTRY(xn_image_pull) flink;
	bool orphan;
	struct xn_image_puller *p;
	struct xn_image_ref ref;
	char *norm;
	const struct xn_registry_conf *reg; /* NULL: defaults */
	char *base_url;			    /* scheme://host/v2/<path> */
	char *auth;			    /* "Authorization: ..." or NULL */
	int auth_tries;

	/* the transfer in flight */
	CURL *easy;
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
	enum step step, after_token;
	char *url;
	char *retry_url; /* the request to repeat once a token is there */
	char *buf;	 /* manifest, token or error body */
	size_t len, cap, max;
	char *www_auth, *ctype;
	long status;
	char *werr; /* why the write callback stopped the transfer */

	/* the blob in flight */
	const struct xn_descriptor *blob;
	int fd;
	char *partial;
	bool shared_partial; /* ours is the resumable <hex>.partial */
	EVP_MD_CTX *md;
	uint64_t have;
	bool range_asked, status_seen;
	int restarts;

	/* what we know so far */
	char *manifest_want; /* digest the manifest must have; NULL: by tag */
	char *top_digest;    /* what the reference resolved to */
	bool from_index;
	char *manifest_digest;
	struct xn_manifest m;
	char *config;
	size_t config_len;
	const struct xn_descriptor *queue[3];
	size_t nq, iq;
	bool layers_queued;
	uint64_t fetched;

	struct event *finish;
	char *fail;
	struct xn_image_info info;
	bool ok;
	xn_image_pull_fn done;
	void *arg;
};

static void next_blob(struct xn_image_pull *pl);

/* ---- small helpers ---- */

static char *sha256_hex(const void *data, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	char *out = xn_xmalloc(7 + 64 + 1);

	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	strcpy(out, "sha256:");
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
	return out;
}

static char *md_final(EVP_MD_CTX *md)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	char *out = xn_xmalloc(7 + 64 + 1);

	EVP_DigestFinal_ex(md, d, &n);
	strcpy(out, "sha256:");
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", d[i]);
	return out;
}

static void fail(struct xn_image_pull *pl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail(struct xn_image_pull *pl, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	free(pl->fail);
	pl->fail = msg ? msg : xn_xstrdup("image pull failed");
	event_active(pl->finish, EV_TIMEOUT, 0);
}

static void transfer_reset(struct xn_image_pull *pl)
{
	if (pl->easy != NULL) {
		xn_curl_loop_remove(pl->p->loop, pl->easy);
		curl_easy_cleanup(pl->easy);
		pl->easy = NULL;
	}
	curl_slist_free_all(pl->headers);
	pl->headers = NULL;
	free(pl->buf);
	pl->buf = NULL;
	pl->len = pl->cap = 0;
	free(pl->www_auth);
	free(pl->ctype);
	free(pl->werr);
	pl->www_auth = pl->ctype = pl->werr = NULL;
	pl->status = 0;
	pl->errbuf[0] = '\0';
	pl->status_seen = false;
}

static void blob_close(struct xn_image_pull *pl, bool remove)
{
	if (pl->fd >= 0) {
		close(pl->fd);
		pl->fd = -1;
	}
	if (remove && pl->partial)
		unlink(pl->partial);
	else if (pl->partial && !pl->shared_partial)
		unlink(pl->partial); /* a private temporary: nobody resumes it */
	free(pl->partial);
	pl->partial = NULL;
	if (pl->md)
		EVP_MD_CTX_free(pl->md);
	pl->md = NULL;
}

/* The response body so far, for a message (printable, short). */
static const char *body_text(struct xn_image_pull *pl)
{
	if (pl->buf == NULL || pl->len == 0)
		return "(empty body)";
	pl->buf[pl->len] = '\0';
	for (size_t i = 0; i < pl->len; i++)
		if ((unsigned char)pl->buf[i] < ' ' || (unsigned char)pl->buf[i] >= 0x7f)
			pl->buf[i] = ' ';
	if (pl->len > 200)
		pl->buf[200] = '\0';
	return pl->buf;
}

/* ---- libcurl callbacks ---- */

static int append(struct xn_image_pull *pl, const char *data, size_t n)
{
	if (pl->len + n > pl->max) {
		free(pl->werr);
		pl->werr = xn_xasprintf("answer larger than %zu bytes", pl->max);
		return -1;
	}
	if (pl->len + n + 1 > pl->cap) {
		pl->cap = (pl->len + n + 1) * 2;
		pl->buf = xn_xrealloc(pl->buf, pl->cap);
	}
	memcpy(pl->buf + pl->len, data, n);
	pl->len += n;
	return 0;
}

/* First bytes of a blob answer: a 200 to a Range request starts over. */
static int blob_status(struct xn_image_pull *pl)
{
	long status = 0;

	pl->status_seen = true;
	curl_easy_getinfo(pl->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status == 200 && pl->have > 0) {
		if (ftruncate(pl->fd, 0) < 0 || lseek(pl->fd, 0, SEEK_SET) < 0)
			return -1;
		EVP_DigestInit_ex(pl->md, EVP_sha256(), NULL);
		pl->have = 0;
	}
	return 0;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xn_image_pull *pl = arg;
	size_t n = size * nmemb;
	long status = 0;

	if (pl->step != S_BLOB)
		return append(pl, data, n) < 0 ? 0 : n;
	curl_easy_getinfo(pl->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200 && status != 206)
		return append(pl, data, n) < 0 ? 0 : n; /* an error body */
	if (!pl->status_seen && blob_status(pl) < 0)
		return 0;
	if (pl->have + n > pl->blob->size) {
		free(pl->werr);
		pl->werr = xn_xasprintf("blob %s: larger than the %llu bytes its manifest says",
					pl->blob->digest, (unsigned long long)pl->blob->size);
		return 0;
	}
	if (xn_write_all(pl->fd, data, n) < 0) {
		free(pl->werr);
		pl->werr = xn_xasprintf("blob %s: writing %s: %s", pl->blob->digest, pl->partial,
					strerror(errno));
		return 0;
	}
	EVP_DigestUpdate(pl->md, data, n);
	pl->have += n;
	pl->fetched += n;
	/* progress: rate() of this is the pull speed */
	xn_metric_count("xenlet_image_pull_bytes_total",
			"Image blob bytes received from registries (verified or not yet).", NULL,
			NULL, (double)n);
	return n;
}

static size_t header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xn_image_pull *pl = arg;
	size_t n = size * nmemb, k;
	char **slot = NULL;

	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* a new response (after a redirect): forget the last one's */
		free(pl->www_auth);
		free(pl->ctype);
		pl->www_auth = pl->ctype = NULL;
		return n;
	}
	if (n > 17 && strncasecmp(data, "WWW-Authenticate:", 17) == 0)
		slot = &pl->www_auth, k = 17;
	else if (n > 13 && strncasecmp(data, "Content-Type:", 13) == 0)
		slot = &pl->ctype, k = 13;
	if (slot != NULL && n < 8192) {
		while (k < n && (data[k] == ' ' || data[k] == '\t'))
			k++;
		while (n > k && (data[n - 1] == '\r' || data[n - 1] == '\n' || data[n - 1] == ' '))
			n--;
		free(*slot);
		*slot = xn_xasprintf("%.*s", (int)(n - k), data + k);
	}
	return size * nmemb;
}

/* ---- requests ---- */

static char *read_password(const struct xn_registry_conf *reg)
{
	char *pw = NULL;
	size_t len = 0;
	xn_err err = NULL;

	if (reg == NULL || reg->password_file == NULL)
		return NULL;
	if (xn_read_file(reg->password_file, 4096, &pw, &len, &err) < 0) {
		xn_error_free(&err);
		return NULL;
	}
	while (len > 0 && (pw[len - 1] == '\n' || pw[len - 1] == '\r'))
		pw[--len] = '\0';
	return pw;
}

static int request(struct xn_image_pull *pl, enum step step, const char *url)
{
	struct xn_image_puller *p = pl->p;
	const struct xn_registry_conf *reg = pl->reg;
	xn_err err = NULL;
	CURL *e;

	transfer_reset(pl);
	pl->step = step;
	if (url != pl->url) {
		free(pl->url);
		pl->url = xn_xstrdup(url);
	}
	pl->max = step == S_MANIFEST ? XN_MANIFEST_MAX : step == S_TOKEN ? TOKEN_MAX : ERR_BODY_MAX;
	pl->easy = e = curl_easy_init();
	if (e == NULL) {
		fail(pl, "libcurl: easy init failed");
		return -1;
	}
	curl_easy_setopt(e, CURLOPT_URL, pl->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)pl);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, pl->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, pl);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, pl);
	curl_easy_setopt(e, CURLOPT_USERAGENT, p->user_agent);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	/* a stalled transfer ends (and resumes at the next pull) */
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, STALL_SECONDS);
	if (step != S_BLOB)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, MANIFEST_MS);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, reg && reg->skip_verify ? 0L : 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, reg && reg->skip_verify ? 0L : 2L);
	if (reg && reg->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, reg->ca_file);
	if (step == S_MANIFEST)
		pl->headers = curl_slist_append(pl->headers, "Accept: " XN_MANIFEST_ACCEPT);
	if (step == S_TOKEN) {
		char *pw = read_password(reg);

		if (reg && reg->username && pw) {
			curl_easy_setopt(e, CURLOPT_USERNAME, reg->username);
			curl_easy_setopt(e, CURLOPT_PASSWORD, pw);
		}
		if (pw)
			explicit_bzero(pw, strlen(pw));
		free(pw);
	} else if (pl->auth) {
		pl->headers = curl_slist_append(pl->headers, pl->auth);
	}
	if (step == S_BLOB && pl->have > 0) {
		char range[64];

		snprintf(range, sizeof(range), "Range: bytes=%llu-", (unsigned long long)pl->have);
		pl->headers = curl_slist_append(pl->headers, range);
		pl->range_asked = true;
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, pl->headers);
	if (xn_curl_loop_add(p->loop, e, &err) < 0) {
		fail(pl, "%s", xn_error_msg(err));
		xn_error_free(&err);
		return -1;
	}
	return 0;
}

static void get_manifest(struct xn_image_pull *pl, const char *object)
{
	cleanup_free char *url = xn_xasprintf("%s/manifests/%s", pl->base_url, object);

	request(pl, S_MANIFEST, url);
}

/* ---- authentication ---- */

/* The value of key in a challenge's parameters (key="value", ...). */
static char *challenge_param(const char *ch, const char *key)
{
	size_t kl = strlen(key);

	for (const char *s = ch; *s;) {
		while (*s == ' ' || *s == ',')
			s++;
		if (strncasecmp(s, key, kl) == 0 && s[kl] == '=') {
			const char *v = s + kl + 1, *end;

			if (*v == '"') {
				end = strchr(++v, '"');
				if (end == NULL)
					return NULL;
			} else {
				end = v + strcspn(v, ",");
			}
			return xn_xasprintf("%.*s", (int)(end - v), v);
		}
		s += strcspn(s, ",");
	}
	return NULL;
}

/* A 401: answer the challenge (a token, or basic credentials) and retry. */
static void challenge(struct xn_image_pull *pl)
{
	const char *ch = pl->www_auth;
	const struct xn_registry_conf *reg = pl->reg;
	cleanup_free char *realm = NULL, *service = NULL, *scope = NULL, *url = NULL;

	if (pl->auth_tries++ >= 2 || ch == NULL) {
		fail(pl, "registry %s: unauthorized for %s%s", pl->ref.domain, pl->norm,
		     pl->auth ? " (credentials refused)" : "");
		return;
	}
	if (strncasecmp(ch, "Basic", 5) == 0) {
		char *pw = read_password(reg), *pair, *b64;

		if (reg == NULL || reg->username == NULL || pw == NULL) {
			free(pw);
			fail(pl,
			     "registry %s: wants basic credentials for %s and the node has "
			     "none configured",
			     pl->ref.domain, pl->norm);
			return;
		}
		pair = xn_xasprintf("%s:%s", reg->username, pw);
		b64 = xn_base64_encode(pair, strlen(pair));
		free(pl->auth);
		pl->auth = xn_xasprintf("Authorization: Basic %s", b64);
		explicit_bzero(pair, strlen(pair));
		explicit_bzero(pw, strlen(pw));
		free(pair);
		free(pw);
		free(b64);
		request(pl, pl->step, pl->url);
		return;
	}
	if (strncasecmp(ch, "Bearer", 6) != 0) {
		fail(pl, "registry %s: unsupported authentication challenge \"%.60s\"",
		     pl->ref.domain, ch);
		return;
	}
	realm = challenge_param(ch + 6, "realm");
	service = challenge_param(ch + 6, "service");
	scope = challenge_param(ch + 6, "scope");
	if (realm == NULL ||
	    (strncmp(realm, "https://", 8) != 0 && strncmp(realm, "http://", 7) != 0)) {
		fail(pl, "registry %s: bearer challenge without an http(s) realm", pl->ref.domain);
		return;
	}
	if (scope == NULL)
		scope = xn_xasprintf("repository:%s:pull", pl->ref.path);
	{
		char *es = curl_easy_escape(NULL, service ? service : "", 0);
		char *esc = curl_easy_escape(NULL, scope, 0);

		url = xn_xasprintf("%s%sservice=%s&scope=%s", realm, strchr(realm, '?') ? "&" : "?",
				   es, esc);
		curl_free(es);
		curl_free(esc);
	}
	pl->after_token = pl->step;
	free(pl->retry_url);
	pl->retry_url = pl->url;
	pl->url = NULL;
	request(pl, S_TOKEN, url);
}

static void token_done(struct xn_image_pull *pl)
{
	cJSON *j = NULL;
	const cJSON *t;

	if (pl->status != 200) {
		fail(pl, "registry %s: token endpoint answered HTTP %ld: %s", pl->ref.domain,
		     pl->status, body_text(pl));
		goto out;
	}
	j = cJSON_ParseWithLength(pl->buf ? pl->buf : "", pl->len);
	t = cJSON_GetObjectItemCaseSensitive(j, "token");
	if (!cJSON_IsString(t))
		t = cJSON_GetObjectItemCaseSensitive(j, "access_token");
	if (!cJSON_IsString(t) || t->valuestring[0] == '\0' || strlen(t->valuestring) > 65536) {
		fail(pl, "registry %s: token endpoint gave no token", pl->ref.domain);
		goto out;
	}
	free(pl->auth);
	pl->auth = xn_xasprintf("Authorization: Bearer %s", t->valuestring);
	free(pl->url);
	pl->url = pl->retry_url;
	pl->retry_url = NULL;
	request(pl, pl->after_token, pl->url);
out:
	cJSON_Delete(j);
}

/* ---- manifests ---- */

static void manifest_done(struct xn_image_pull *pl)
{
	cleanup_free char *digest = NULL, *path = NULL;
	struct xn_manifest m;
	xn_err err = NULL;

	if (pl->status == 404) {
		fail(pl, "manifest unknown: %s (no such tag or digest on %s)", pl->norm,
		     pl->ref.domain);
		return;
	}
	if (pl->status != 200) {
		fail(pl, "registry %s: HTTP %ld for the manifest of %s: %s", pl->ref.domain,
		     pl->status, pl->norm, body_text(pl));
		return;
	}
	digest = sha256_hex(pl->buf ? pl->buf : "", pl->len);
	if (pl->manifest_want && strcmp(digest, pl->manifest_want) != 0) {
		fail(pl, "image %s: manifest %s: digest mismatch (the registry sent %s)", pl->norm,
		     pl->manifest_want, digest);
		return;
	}
	if (xn_manifest_parse(pl->buf ? pl->buf : "", pl->len, pl->ctype, &m, &err) < 0) {
		fail(pl, "image %s: %s", pl->norm, xn_error_msg(err));
		xn_error_free(&err);
		return;
	}
	path = image_blob_path(pl->p->cache_dir, digest);
	if (image_write_atomic(path, pl->buf ? pl->buf : "", pl->len, &err) < 0) {
		fail(pl, "image cache: %s", xn_error_msg(err));
		xn_error_free(&err);
		xn_manifest_dispose(&m);
		return;
	}
	if (pl->top_digest == NULL)
		pl->top_digest = xn_xstrdup(digest);
	if (m.kind == XN_MANIFEST_INDEX) {
		const struct xn_descriptor *d;

		if (pl->from_index) {
			fail(pl, "image %s: an index inside an index", pl->norm);
		} else if ((d = xn_manifest_select(&m, "linux", pl->p->arch, &err)) == NULL) {
			fail(pl, "image %s: %s", pl->norm, xn_error_msg(err));
			xn_error_free(&err);
		} else {
			pl->from_index = true;
			free(pl->manifest_want);
			pl->manifest_want = xn_xstrdup(d->digest);
			get_manifest(pl, d->digest);
		}
		xn_manifest_dispose(&m);
		return;
	}
	pl->m = m;
	pl->manifest_digest = xn_xstrdup(digest);
	if (strcmp(m.config.media_type, XN_MEDIA_UK_CONFIG) == 0) {
		if (m.config.size > XN_CONFIG_MAX) {
			fail(pl, "image %s: config of %llu bytes, more than %u", pl->norm,
			     (unsigned long long)m.config.size, XN_CONFIG_MAX);
			return;
		}
		pl->queue[pl->nq++] = &pl->m.config;
	} else if (strcmp(m.config.media_type, XN_MEDIA_OCI_EMPTY) != 0) {
		/* not ours: xn_unikernel_parse says so */
		struct xn_unikernel u;

		if (xn_unikernel_parse(&pl->m, NULL, 0, &u, &err) < 0) {
			fail(pl, "%s: %s", pl->norm, xn_error_msg(err));
			xn_error_free(&err);
			return;
		}
		xn_unikernel_dispose(&u);
	}
	next_blob(pl);
}

/* ---- blobs ---- */

static int hash_existing(struct xn_image_pull *pl)
{
	char buf[65536];
	ssize_t r;
	uint64_t n = 0;

	if (lseek(pl->fd, 0, SEEK_SET) < 0)
		return -1;
	while ((r = read(pl->fd, buf, sizeof(buf))) > 0) {
		EVP_DigestUpdate(pl->md, buf, (size_t)r);
		n += (uint64_t)r;
	}
	if (r < 0)
		return -1;
	pl->have = n;
	return 0;
}

/* The blob is all there: check it, move it under its digest. */
static int blob_finish(struct xn_image_pull *pl)
{
	cleanup_free char *got = md_final(pl->md), *final = NULL;
	const struct xn_descriptor *d = pl->blob;

	EVP_MD_CTX_free(pl->md);
	pl->md = NULL;
	if (pl->have != d->size) {
		fail(pl, "image %s: blob %s: transfer ended after %llu of %llu bytes", pl->norm,
		     d->digest, (unsigned long long)pl->have, (unsigned long long)d->size);
		blob_close(pl, false);
		return -1;
	}
	if (strcmp(got, d->digest) != 0) {
		fail(pl, "image %s: blob %s: digest mismatch (the registry sent %s)", pl->norm,
		     d->digest, got);
		blob_close(pl, true);
		return -1;
	}
	final = image_blob_path(pl->p->cache_dir, d->digest);
	if (fsync(pl->fd) < 0 || rename(pl->partial, final) < 0) {
		fail(pl, "image cache: %s: %s", final, strerror(errno));
		blob_close(pl, true);
		return -1;
	}
	free(pl->partial);
	pl->partial = NULL;
	blob_close(pl, false);
	return 0;
}

static void start_blob(struct xn_image_pull *pl, const struct xn_descriptor *d)
{
	cleanup_free char *final = image_blob_path(pl->p->cache_dir, d->digest);
	cleanup_free char *url = NULL;
	struct stat sb;

	pl->blob = d;
	pl->have = 0;
	pl->range_asked = false;
	pl->partial = xn_xasprintf("%s.partial", final);
	pl->shared_partial = true;
	pl->fd = open(pl->partial, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (pl->fd >= 0 && flock(pl->fd, LOCK_EX | LOCK_NB) < 0) {
		/* another pull fetches this blob: a private copy, no resume */
		close(pl->fd);
		free(pl->partial);
		pl->partial = xn_xasprintf("%s.partial.%p", final, (void *)pl);
		pl->shared_partial = false;
		pl->fd =
		    open(pl->partial, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	}
	if (pl->fd < 0 || fstat(pl->fd, &sb) < 0) {
		fail(pl, "image cache: %s: %s", pl->partial, strerror(errno));
		blob_close(pl, false);
		return;
	}
	if ((uint64_t)sb.st_size > d->size && ftruncate(pl->fd, 0) < 0) {
		fail(pl, "image cache: %s: %s", pl->partial, strerror(errno));
		blob_close(pl, true);
		return;
	}
	pl->md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(pl->md, EVP_sha256(), NULL);
	if (hash_existing(pl) < 0) {
		fail(pl, "image cache: %s: %s", pl->partial, strerror(errno));
		blob_close(pl, true);
		return;
	}
	if (pl->have == d->size && d->size > 0) {
		/* a previous transfer got it all; check and keep it */
		if (blob_finish(pl) == 0)
			next_blob(pl);
		return;
	}
	url = xn_xasprintf("%s/blobs/%s", pl->base_url, d->digest);
	request(pl, S_BLOB, url);
}

static void blob_done(struct xn_image_pull *pl, CURLcode result)
{
	const struct xn_descriptor *d = pl->blob;

	if (pl->status == 416 && pl->restarts++ == 0) {
		/* the registry cannot resume from there: start over */
		if (ftruncate(pl->fd, 0) == 0 && lseek(pl->fd, 0, SEEK_SET) == 0) {
			cleanup_free char *url = xn_xstrdup(pl->url);

			EVP_DigestInit_ex(pl->md, EVP_sha256(), NULL);
			pl->have = 0;
			request(pl, S_BLOB, url);
			return;
		}
	}
	if (pl->status != 0 && pl->status != 200 && pl->status != 206) {
		if (pl->status == 404)
			fail(pl, "image %s: blob unknown: %s", pl->norm, d->digest);
		else
			fail(pl, "image %s: blob %s: HTTP %ld: %s", pl->norm, d->digest, pl->status,
			     body_text(pl));
		blob_close(pl, false);
		return;
	}
	if (pl->werr != NULL) {
		fail(pl, "image %s: %s", pl->norm, pl->werr);
		blob_close(pl, strstr(pl->werr, "larger than") != NULL);
		return;
	}
	if (result != CURLE_OK) {
		fail(pl,
		     "image %s: blob %s: transfer cut after %llu of %llu bytes (resumed at the "
		     "next pull): %s",
		     pl->norm, d->digest, (unsigned long long)pl->have, (unsigned long long)d->size,
		     pl->errbuf[0] ? pl->errbuf : curl_easy_strerror(result));
		blob_close(pl, false);
		return;
	}
	if (blob_finish(pl) == 0)
		next_blob(pl);
}

static void all_done(struct xn_image_pull *pl)
{
	xn_err err = NULL;

	if (image_refs_set(pl->p->cache_dir, pl->norm, pl->top_digest, pl->manifest_digest, &err) <
		0 ||
	    image_info_fill(pl->p->cache_dir, &pl->ref, pl->top_digest, &pl->m, pl->config,
			    pl->config_len, &pl->info, &err) < 0) {
		fail(pl, "image %s: %s", pl->norm, xn_error_msg(err));
		xn_error_free(&err);
		return;
	}
	pl->info.fetched = pl->fetched;
	pl->ok = true;
	event_active(pl->finish, EV_TIMEOUT, 0);
}

static void next_blob(struct xn_image_pull *pl)
{
	xn_err err = NULL;

	while (pl->iq < pl->nq) {
		const struct xn_descriptor *d = pl->queue[pl->iq++];

		if (!image_blob_present(pl->p->cache_dir, d->digest, d->size)) {
			start_blob(pl, d);
			return;
		}
	}
	if (!pl->layers_queued) {
		struct xn_unikernel u;

		pl->layers_queued = true;
		if (strcmp(pl->m.config.media_type, XN_MEDIA_UK_CONFIG) == 0) {
			cleanup_free char *path =
			    image_blob_path(pl->p->cache_dir, pl->m.config.digest);

			if (xn_read_file(path, XN_CONFIG_MAX, &pl->config, &pl->config_len, &err) <
			    0) {
				fail(pl, "image cache: %s", xn_error_msg(err));
				xn_error_free(&err);
				return;
			}
		}
		if (xn_unikernel_parse(&pl->m, pl->config, pl->config_len, &u, &err) < 0) {
			fail(pl, "image %s: %s", pl->norm, xn_error_msg(err));
			xn_error_free(&err);
			return;
		}
		pl->queue[pl->nq++] = u.kernel;
		if (u.ramdisk)
			pl->queue[pl->nq++] = u.ramdisk;
		xn_unikernel_dispose(&u);
		next_blob(pl);
		return;
	}
	all_done(pl);
}

/* ---- the loop ---- */

static void transfer_done(CURL *easy, CURLcode result, void *arg)
{
	struct xn_image_pull *pl = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&pl);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &pl->status);
	if (pl->buf)
		pl->buf[pl->len] = '\0';
	if (result == CURLE_OK && pl->status == 401 && pl->step != S_TOKEN) {
		challenge(pl);
		return;
	}
	if (pl->step == S_BLOB) {
		blob_done(pl, result);
		return;
	}
	if (result != CURLE_OK) {
		fail(pl, "registry %s: %s", pl->ref.domain,
		     pl->werr	     ? pl->werr
		     : pl->errbuf[0] ? pl->errbuf
				     : curl_easy_strerror(result));
		return;
	}
	if (pl->step == S_TOKEN)
		token_done(pl);
	else
		manifest_done(pl);
}

static void pull_free(struct xn_image_pull *pl)
{
	struct xn_image_pull *f;

	while ((f = TAILQ_FIRST(&pl->followers)) != NULL) {
		TAILQ_REMOVE(&pl->followers, f, flink);
		free(f);
	}
	TAILQ_REMOVE(&pl->p->pulls, pl, link);
	transfer_reset(pl);
	blob_close(pl, false);
	event_free(pl->finish);
	xn_image_ref_dispose(&pl->ref);
	xn_manifest_dispose(&pl->m);
	xn_image_info_dispose(&pl->info);
	if (pl->auth)
		explicit_bzero(pl->auth, strlen(pl->auth));
	free(pl->auth);
	free(pl->norm);
	free(pl->base_url);
	free(pl->url);
	free(pl->retry_url);
	free(pl->manifest_want);
	free(pl->top_digest);
	free(pl->manifest_digest);
	free(pl->config);
	free(pl->fail);
	free(pl);
}

static void finish_cb(evutil_socket_t fd, short what, void *arg)
{
	struct xn_image_pull *pl = arg;

	struct xn_image_pull *f;

	transfer_reset(pl);
	xn_metric_count("xenlet_image_pulls_total", "Image pulls that ended, by result.", "result",
			pl->ok ? "ok" : "error", 1);
	if (!pl->orphan)
		pl->done(pl->ok ? &pl->info : NULL, pl->ok ? NULL : pl->fail, pl->arg);
	/* taken off one at a time: a callback may cancel another follower */
	while ((f = TAILQ_FIRST(&pl->followers)) != NULL) {
		TAILQ_REMOVE(&pl->followers, f, flink);
		f->done(pl->ok ? &pl->info : NULL, pl->ok ? NULL : pl->fail, f->arg);
		free(f);
	}
	pull_free(pl);
}

struct xn_image_pull *xn_image_pull_start(struct xn_image_puller *p, const char *ref,
					  xn_image_pull_fn done, void *arg, xn_err *err)
{
	struct xn_image_pull *pl = xn_xcalloc(1, sizeof(*pl)), *lead;
	const char *host;

	if (xn_image_ref_parse(ref, &pl->ref, err) < 0) {
		free(pl);
		return NULL;
	}
	TAILQ_INIT(&pl->followers);
	pl->norm = xn_image_ref_string(&pl->ref);
	TAILQ_FOREACH(lead, &p->pulls, link)
		if (strcmp(lead->norm, pl->norm) == 0) {
			/* the same image is on its way: wait for that transfer */
			xn_image_ref_dispose(&pl->ref);
			free(pl->norm);
			memset(pl, 0, sizeof(*pl));
			pl->leader = lead;
			pl->done = done;
			pl->arg = arg;
			TAILQ_INSERT_TAIL(&lead->followers, pl, flink);
			return pl;
		}
	pl->p = p;
	pl->fd = -1;
	pl->done = done;
	pl->arg = arg;
	TAILQ_INSERT_TAIL(&p->pulls, pl, link);
	pl->finish = event_new(p->base, -1, 0, finish_cb, pl);
	for (size_t i = 0; i < p->nregs; i++)
		if (strcmp(p->regs[i].host, pl->ref.domain) == 0)
			pl->reg = &p->regs[i];
	host = xn_image_ref_registry_host(&pl->ref);
	pl->base_url = xn_xasprintf(
	    "%s://%s/v2/%s", pl->reg && pl->reg->plain_http ? "http" : "https", host, pl->ref.path);
	pl->manifest_want = xn_dup_or_null(pl->ref.digest);
	if (image_cache_dirs(p->cache_dir, err) < 0) {
		pull_free(pl);
		return NULL;
	}
	get_manifest(pl, xn_image_ref_object(&pl->ref));
	return pl;
}

void xn_image_pull_cancel(struct xn_image_pull *pl)
{
	if (pl == NULL)
		return;
	if (pl->leader != NULL) {
		TAILQ_REMOVE(&pl->leader->followers, pl, flink);
		free(pl);
	} else if (!TAILQ_EMPTY(&pl->followers)) {
		pl->orphan = true; /* others wait for this transfer */
	} else {
		pull_free(pl);
	}
}

static void reg_copy(struct xn_registry_conf *d, const struct xn_registry_conf *s)
{
	d->host = xn_xstrdup(s->host);
	d->plain_http = s->plain_http;
	d->skip_verify = s->skip_verify;
	d->ca_file = xn_dup_or_null(s->ca_file);
	d->username = xn_dup_or_null(s->username);
	d->password_file = xn_dup_or_null(s->password_file);
}

struct xn_image_puller *xn_image_puller_new(struct event_base *base,
					    const struct xn_image_puller_opts *opts, xn_err *err)
{
	struct xn_image_puller *p = xn_xcalloc(1, sizeof(*p));

	p->base = base;
	TAILQ_INIT(&p->pulls);
	p->loop = xn_curl_loop_new(base, transfer_done, p, err);
	if (p->loop == NULL) {
		free(p);
		return NULL;
	}
	p->cache_dir = xn_xstrdup(opts->cache_dir);
	p->arch = xn_xstrdup(opts->arch ? opts->arch : xn_manifest_host_arch());
	p->user_agent =
	    opts->user_agent ? xn_xstrdup(opts->user_agent) : xn_xstrdup("xenletd/" XN_VERSION);
	p->nregs = opts->nregistries;
	p->regs = xn_xcalloc(p->nregs + 1, sizeof(*p->regs));
	for (size_t i = 0; i < p->nregs; i++)
		reg_copy(&p->regs[i], &opts->registries[i]);
	return p;
}

void xn_image_puller_free(struct xn_image_puller *p)
{
	struct xn_image_pull *pl;

	if (p == NULL)
		return;
	while ((pl = TAILQ_FIRST(&p->pulls)) != NULL)
		pull_free(pl);
	xn_curl_loop_free(p->loop);
	for (size_t i = 0; i < p->nregs; i++) {
		free(p->regs[i].host);
		free(p->regs[i].ca_file);
		free(p->regs[i].username);
		free(p->regs[i].password_file);
	}
	free(p->regs);
	free(p->cache_dir);
	free(p->arch);
	free(p->user_agent);
	free(p);
}

const char *xn_image_puller_cache_dir(struct xn_image_puller *p)
{
	return p->cache_dir;
}
