// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The configuration loader on arbitrary bytes: errors, never a crash or leak. */
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	struct config_diags d = { 0 };

	if (config_init_default(&c))
		return 0;
	config_load_buf("fuzz", (const char *)data, size, &c, &d);
	config_free(&c);
	config_diags_free(&d);
	return 0;
}
