// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sd_notify(3) as one sendmsg: the protocol is a single AF_UNIX datagram of
 * newline-separated assignments, so linking libsystemd (and its dependency
 * closure) into a hardened agent is not worth it.
 */
#include "util/sd_notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* A plain decimal, nothing else (systemd writes these). */
static int parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Fills *sa from $NOTIFY_SOCKET: 0 and its length in *len, 1 unset, -EINVAL. */
static int notify_addr(struct sockaddr_un *sa, socklen_t *len)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t n;

	if (!path || !path[0])
		return 1;
	n = strlen(path);
	/* absolute paths and abstract names only (vsock: is not for us) */
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sa->sun_path) || n < 2)
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, n);
	if (path[0] == '@')
		sa->sun_path[0] = '\0'; /* abstract: no trailing NUL counts */
	else
		n++; /* a path: its NUL is part of the address */
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	return 0;
}

int sd_notify_send(const char *msg)
{
	struct sockaddr_un sa;
	socklen_t len = 0;
	ssize_t w;
	int fd, err;

	err = notify_addr(&sa, &len);
	if (err)
		return err > 0 ? 0 : err;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* MSG_NOSIGNAL: a manager gone away is no reason to die of SIGPIPE */
	w = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	err = w < 0 ? -errno : (size_t)w == strlen(msg) ? 1 : -EMSGSIZE;
	close(fd);
	return err;
}

int sd_notify_ready(void)
{
	return sd_notify_send("READY=1");
}

int sd_notify_stopping(void)
{
	return sd_notify_send("STOPPING=1");
}

int sd_notify_watchdog(void)
{
	return sd_notify_send("WATCHDOG=1");
}

int sd_notify_reloading(void)
{
	struct timespec ts;
	char msg[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ull +
			 (unsigned long long)ts.tv_nsec / 1000);
	return sd_notify_send(msg);
}

int sd_notify_status(const char *text)
{
	char msg[256];
	size_t n = strcspn(text, "\n");

	if (n > sizeof(msg) - sizeof("STATUS="))
		n = sizeof(msg) - sizeof("STATUS=");
	snprintf(msg, sizeof(msg), "STATUS=%.*s", (int)n, text);
	return sd_notify_send(msg);
}

uint64_t sd_notify_watchdog_usec(void)
{
	const char *s = getenv("WATCHDOG_USEC"), *p = getenv("WATCHDOG_PID");
	uint64_t usec, pid;

	if (!s || parse_u64(s, &usec) || usec == 0)
		return 0;
	/* set for another process (a parent that forked us): not our watchdog */
	if (p && (parse_u64(p, &pid) || pid != (uint64_t)getpid()))
		return 0;
	return usec;
}
