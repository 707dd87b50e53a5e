// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Fuzzes the SSE and NDJSON iterators: offsets stay in bounds, data is
 * capped, every call terminates. */
#include <stdint.h>
#include <stdlib.h>

#include "proto/sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data, *line;
	struct ndjson_iter nj = { buf, size, 0 };
	struct sse_iter it;
	struct sse_event ev;
	size_t prev = 0, n, end;
	bool complete;

	sse_iter_init(&it, buf, size, 4096);
	while (sse_next(&it, &ev) == 1) {
		if (ev.end_off > size || ev.end_off < prev || ev.data_len > 4096)
			abort();
		prev = ev.end_off;
	}
	sse_iter_free(&it);
	prev = 0;
	while (ndjson_next(&nj, &line, &n, &end, &complete) == 1) {
		if (line < buf || line + n > buf + size || end > size || end < prev || !n)
			abort();
		prev = end;
	}
	return 0;
}
