// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "test.h"
#include "util/sd_notify.h"

/* A datagram socket bound to name ("@x": abstract), as systemd's. */
static int bind_notify(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memcpy(sa.sun_path, name, n);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	else
		n++;
	if (bind(fd, (struct sockaddr *)&sa,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The next datagram, NUL-terminated; "" when none is queued. */
static const char *recv_msg(int fd, char *buf, size_t size)
{
	ssize_t n = recv(fd, buf, size - 1, MSG_DONTWAIT);

	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

TEST(sd_notify_without_socket_is_a_noop)
{
	unsetenv("NOTIFY_SOCKET");
	ASSERT_EQ(sd_notify_ready(), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	ASSERT_EQ(sd_notify_stopping(), 0);
	unsetenv("NOTIFY_SOCKET");
}

TEST(sd_notify_path_socket)
{
	char path[64], buf[256];
	int fd;

	snprintf(path, sizeof(path), "/tmp/llmtap-sdn-%d", (int)getpid());
	unlink(path);
	fd = bind_notify(path);
	ASSERT_TRUE(fd >= 0);
	setenv("NOTIFY_SOCKET", path, 1);
	ASSERT_EQ(sd_notify_ready(), 1);
	ASSERT_STREQ(recv_msg(fd, buf, sizeof(buf)), "READY=1");
	ASSERT_EQ(sd_notify_watchdog(), 1);
	ASSERT_STREQ(recv_msg(fd, buf, sizeof(buf)), "WATCHDOG=1");
	ASSERT_EQ(sd_notify_stopping(), 1);
	ASSERT_STREQ(recv_msg(fd, buf, sizeof(buf)), "STOPPING=1");
	/* one datagram per call: nothing left over */
	ASSERT_STREQ(recv_msg(fd, buf, sizeof(buf)), "");
	unsetenv("NOTIFY_SOCKET");
	close(fd);
	unlink(path);
}

TEST(sd_notify_abstract_socket)
{
	char name[64], buf[256];
	int fd;

	snprintf(name, sizeof(name), "@llmtap-sdn-test-%d", (int)getpid());
	fd = bind_notify(name);
	ASSERT_TRUE(fd >= 0);
	setenv("NOTIFY_SOCKET", name, 1);
	ASSERT_EQ(sd_notify_status("attached 3 libraries\nsecond line dropped"), 1);
	ASSERT_STREQ(recv_msg(fd, buf, sizeof(buf)), "STATUS=attached 3 libraries");
	ASSERT_EQ(sd_notify_reloading(), 1);
	recv_msg(fd, buf, sizeof(buf));
	ASSERT_TRUE(strncmp(buf, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0);
	ASSERT_TRUE(buf[27] >= '1' && buf[27] <= '9');
	unsetenv("NOTIFY_SOCKET");
	close(fd);
}

TEST(sd_notify_bad_addresses)
{
	char longname[200];

	setenv("NOTIFY_SOCKET", "relative/path", 1);
	ASSERT_EQ(sd_notify_ready(), -EINVAL);
	setenv("NOTIFY_SOCKET", "@", 1);
	ASSERT_EQ(sd_notify_ready(), -EINVAL);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	setenv("NOTIFY_SOCKET", longname, 1);
	ASSERT_EQ(sd_notify_ready(), -EINVAL);
	/* nobody listening: the error comes back, nothing is raised */
	setenv("NOTIFY_SOCKET", "/nonexistent/llmtap-notify", 1);
	ASSERT_EQ(sd_notify_ready(), -ENOENT);
	unsetenv("NOTIFY_SOCKET");
}

TEST(sd_notify_watchdog_interval)
{
	char pid[32];

	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	ASSERT_UEQ(sd_notify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "30000000", 1);
	ASSERT_UEQ(sd_notify_watchdog_usec(), 30000000);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	ASSERT_UEQ(sd_notify_watchdog_usec(), 30000000);
	/* meant for another process */
	snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	ASSERT_UEQ(sd_notify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_PID");
	setenv("WATCHDOG_USEC", "0", 1);
	ASSERT_UEQ(sd_notify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "30s", 1);
	ASSERT_UEQ(sd_notify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "-5", 1);
	ASSERT_UEQ(sd_notify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_USEC");
}
