// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "hostinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

int hostinfo_parse_machine_id(const char *buf, size_t len, char out[HOSTINFO_ID_LEN + 1])
{
	out[0] = '\0';
	if (len == HOSTINFO_ID_LEN + 1 && buf[HOSTINFO_ID_LEN] == '\n')
		len--;
	if (len != HOSTINFO_ID_LEN)
		return -EINVAL;
	/* systemd writes "uninitialized" during first boot: not an id */
	for (size_t i = 0; i < len; i++)
		if (!((buf[i] >= '0' && buf[i] <= '9') || (buf[i] >= 'a' && buf[i] <= 'f')))
			return -EINVAL;
	memcpy(out, buf, HOSTINFO_ID_LEN);
	out[HOSTINFO_ID_LEN] = '\0';
	return 0;
}

static int read_machine_id(const char *path, char out[HOSTINFO_ID_LEN + 1])
{
	char buf[HOSTINFO_ID_LEN + 2]; /* one byte more than valid: longer files are rejected */
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return -EIO;
	return hostinfo_parse_machine_id(buf, (size_t)n, out);
}

void hostinfo_read(struct hostinfo *h, const char *const *paths)
{
	static const char *const defaults[] = { "/etc/machine-id", "/var/lib/dbus/machine-id",
						NULL };
	struct utsname u;

	memset(h, 0, sizeof(*h));
	if (uname(&u) == 0)
		snprintf(h->name, sizeof(h->name), "%s", u.nodename);
	for (const char *const *p = paths ? paths : defaults; *p; p++)
		if (read_machine_id(*p, h->id) == 0)
			break;
}
