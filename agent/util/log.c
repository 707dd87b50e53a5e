// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

bool log_verbose;

void log_msg(const char *level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* one write per line so concurrent writers do not interleave */
	fprintf(stderr, "llmtap: %s%s\n", level, line);
}
