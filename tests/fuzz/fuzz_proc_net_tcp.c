// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* /proc/net/tcp parsing: arbitrary text never crashes or reads out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/proc_net.h"

static int count(const struct proc_net_sock *s, void *ctx)
{
	(*(size_t *)ctx) += s->local_port != 0;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy: ASan catches any read past the end */
	char *buf = malloc(size ? size : 1);
	size_t n = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	proc_net_tcp_parse(buf, size, count, &n);
	free(buf);
	return 0;
}
