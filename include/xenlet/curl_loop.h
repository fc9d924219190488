/* curl_loop.h - libcurl's multi interface driven by a libevent loop: the
 * socket and timer callbacks feed curl_multi_socket_action, finished
 * transfers are reported to the owner.  No threads, no polling.  The kube
 * client and the image puller each own one.
 *
 * done(easy, result, arg) is called for every finished transfer after
 * libcurl has returned (never from inside libcurl), with the easy handle
 * still in the multi handle: the owner removes it (xn_curl_loop_remove)
 * and may add new ones from there.
 */
#ifndef XENLET_CURL_LOOP_H
#define XENLET_CURL_LOOP_H

#include <curl/curl.h>

#include "xenlet/err.h"

struct event_base;
struct xn_curl_loop;

typedef void (*xn_curl_done_fn)(CURL *easy, CURLcode result, void *arg);

/* curl_global_init on first use; NULL with *err when libcurl fails. */
struct xn_curl_loop *xn_curl_loop_new(struct event_base *base, xn_curl_done_fn done, void *arg,
				      xn_err *err);
/* Frees the multi handle; the owner removes and cleans its easy handles
 * first. */
void xn_curl_loop_free(struct xn_curl_loop *l);
CURLM *xn_curl_loop_multi(struct xn_curl_loop *l);
struct event_base *xn_curl_loop_base(struct xn_curl_loop *l);

int xn_curl_loop_add(struct xn_curl_loop *l, CURL *easy, xn_err *err);
void xn_curl_loop_remove(struct xn_curl_loop *l, CURL *easy);

#endif
