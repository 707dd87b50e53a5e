// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "util/caps.h"

#include <errno.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

static int get(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };

	return syscall(SYS_capget, &h, d) ? -errno : 0;
}

int caps_effective(uint64_t *out)
{
	struct __user_cap_data_struct d[2];
	int err = get(d);

	if (!err)
		*out = (uint64_t)d[0].effective | (uint64_t)d[1].effective << 32;
	return err;
}

int caps_drop(uint64_t mask)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	int err = get(d);

	if (err)
		return err;
	for (int i = 0; i < 2; i++) {
		uint32_t m = (uint32_t)(mask >> (32 * i));

		d[i].effective &= ~m;
		d[i].permitted &= ~m;
		d[i].inheritable &= ~m;
	}
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}
