/* net_mac.c - a pod's MAC address from its uid (see net.h). */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "xenlet/net.h"

/* Xen's OUI (XenSource): what xl gives a guest without a MAC, so tools and
 * people recognise a Xen vif; the three bytes after it come from the uid,
 * so a pod keeps its MAC across restarts of its domain and of the daemon. */
void xn_net_mac(const char *uid, unsigned attempt, char out[XN_MAC_STRLEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char in[128];
	int n;

	if (attempt == 0)
		n = snprintf(in, sizeof(in), "%s", uid);
	else
		n = snprintf(in, sizeof(in), "%s/%u", uid, attempt);
	if (n < 0 || (size_t)n >= sizeof(in))
		n = (int)sizeof(in) - 1;
	if (EVP_Digest(in, (size_t)n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 3)
		memset(md, 0, 3); /* cannot happen with OpenSSL's built-in SHA-256 */
	snprintf(out, XN_MAC_STRLEN, "00:16:3e:%02x:%02x:%02x", md[0], md[1], md[2]);
}
