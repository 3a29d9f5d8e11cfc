// SPDX-License-Identifier: Apache-2.0
/* sd_notify's datagram, without libsystemd; see notify.h. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"

int notify_service(const char *state)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = name ? strlen(name) : 0;
	socklen_t salen;
	ssize_t n;
	int fd, err = 0;

	if (!len)
		return 0;
	/* a path or @abstract; other forms (vsock:...) are not for us */
	if ((name[0] != '/' && name[0] != '@') || len >= sizeof(sa.sun_path))
		return -EAFNOSUPPORT;
	memcpy(sa.sun_path, name, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	/* a path's NUL counts; an abstract name has none after it */
	salen = offsetof(struct sockaddr_un, sun_path) + len + (name[0] == '/');
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
		   (struct sockaddr *)&sa, salen);
	if (n < 0)
		err = -errno;
	close(fd);
	return err;
}
