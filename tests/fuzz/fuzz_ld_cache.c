// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Fuzzes the loader-cache parser (the file is trusted less than it looks:
 * a container's root can hold any bytes there). */
#include <stdint.h>
#include <string.h>

#include "capture/ld_cache.h"

static int touch(const char *path, void *ctx)
{
	size_t *n = ctx;

	*n += strlen(path);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const prefixes[] = { "libssl.so", "lib" };
	size_t n = 0;

	ld_cache_find(data, size, prefixes, 2, touch, &n);
	return 0;
}
