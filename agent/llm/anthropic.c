// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Placeholder until the decoder lands: decodes nothing. */
#include <errno.h>

#include "llm.h"

int anthropic_decode(const struct llm_http *h, struct llm_exchange *ex)
{
	return -ENOSYS;
}
