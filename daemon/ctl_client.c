/* ctl_client.c - one request/answer exchange on the control socket. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "xenlet/ctl.h"
#include "xenlet/util.h"

int xn_ctl_call(const char *path, const char *request, char **answer, xn_err *err)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	cleanup_close int fd = -1;
	size_t len = 0, cap = 4096;
	char *buf;

	if (strlen(path) >= sizeof(sun.sun_path))
		return xn_error(err, ENAMETOOLONG, "control socket %s: path too long", path);
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return xn_error_errno(err, errno, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return xn_error_errno(err, errno, "cannot reach xenletd at %s (is it running?)",
				      path);
	if (xn_write_all(fd, request, strlen(request)) < 0 || xn_write_all(fd, "\n", 1) < 0)
		return xn_error_errno(err, errno, "control socket %s: write", path);
	buf = xn_xmalloc(cap);
	for (;;) {
		ssize_t r;

		if (len + 1 >= cap) {
			if (cap >= (16u << 20)) {
				free(buf);
				return xn_error(err, EMSGSIZE, "control socket: answer too long");
			}
			cap *= 2;
			buf = xn_xrealloc(buf, cap);
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			return xn_error_errno(err, e, "control socket %s: read", path);
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (memchr(buf + len - (size_t)r, '\n', (size_t)r) != NULL)
			break;
	}
	buf[len] = '\0';
	if (len == 0 || buf[len - 1] != '\n') {
		free(buf);
		return xn_error(err, EPROTO, "control socket %s: xenletd closed the connection",
				path);
	}
	buf[len - 1] = '\0';
	*answer = buf;
	return 0;
}
