// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Fuzzes what the network outputs read from outside: the OTLP/HTTP reply,
 * the Retry-After header, and (from spooled lines) the top-level "seq"
 * scanner and the OTLP encoder's parse of each line.  Results stay in
 * bounds; every call terminates; nothing leaks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sink/otlp.h"
#include "sink/retry.h"
#include "spool/spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct otlp_reply r;
	uint64_t ms, seq;
	char *out = NULL;
	size_t out_len;

	if (otlp_parse_reply(buf, size, &r) == 0 && strlen(r.message) >= sizeof(r.message))
		abort();
	if (retry_after_parse(buf, size, 784111777, &ms) == 0 && ms > RETRY_AFTER_MAX_S * 1000ull)
		abort();
	spool_line_seq(buf, size, &seq);
	if (size < 8192) {
		struct otlp_resource res = { "h", NULL, "fuzz" };

		if (otlp_encode_logs(buf, size, &res, 1, &out, &out_len) == 0 &&
		    strlen(out) != out_len)
			abort();
		free(out);
	}
	return 0;
}
