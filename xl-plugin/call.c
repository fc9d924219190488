/* call.c - one request/answer with xenletd, errors turned into one line for the operator. */
#include <stdio.h>
#include <stdlib.h>

#include <cJSON.h>

#include "xenlet/ctl.h"
#include "xenlet/err.h"
#include "xl_pod.h"

int xlp_call(const char *cmd, cJSON *req, cJSON **answer)
{
	char *text = cJSON_PrintUnformatted(req), *raw = NULL;
	cJSON *ans = NULL, *err_msg;
	xn_err err = NULL;
	int rc = 1;

	cJSON_Delete(req);
	if (text == NULL)
		return xlp_fail(cmd, "out of memory");
	if (xlp_g.verbose)
		fprintf(stderr, "xl-pod: -> %s\n", text);
	if (xn_ctl_call(xlp_g.socket, text, &raw, &err) < 0) {
		xlp_fail(cmd, "%s", xn_error_msg(err));
		goto out;
	}
	if (xlp_g.verbose)
		fprintf(stderr, "xl-pod: <- %s\n", raw);
	ans = cJSON_Parse(raw);
	if (!cJSON_IsObject(ans)) {
		xlp_fail(cmd, "xenletd sent an answer that is not a JSON object");
		goto out;
	}
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans, "ok"))) {
		err_msg = cJSON_GetObjectItemCaseSensitive(ans, "error");
		/* the daemon's message already names the operation */
		fprintf(stderr, "xl-pod: %s\n",
			cJSON_IsString(err_msg) ? err_msg->valuestring
						: "xenletd refused (no reason)");
		goto out;
	}
	*answer = ans;
	ans = NULL;
	rc = 0;
out:
	cJSON_Delete(ans);
	free(raw);
	free(text);
	xn_error_free(&err);
	return rc;
}
