// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>

#include "proto/sse.h"
#include "test.h"

struct want {
	const char *event, *data;
	bool complete;
};

static void check_stream(const char *what, const char *buf, size_t len, const struct want *w,
			 size_t n)
{
	struct sse_iter it;
	struct sse_event ev;
	size_t i = 0;
	int r;

	sse_iter_init(&it, buf, len, 1 << 20);
	while ((r = sse_next(&it, &ev)) == 1) {
		if (i >= n || strcmp(ev.event, w[i].event) != 0 ||
		    strcmp(ev.data, w[i].data) != 0 || ev.complete != w[i].complete ||
		    ev.end_off > len) {
			sse_iter_free(&it);
			test_fail_at(__FILE__, __LINE__, "%s: event %zu: '%s' '%s' complete %d",
				     what, i, ev.event, ev.data, ev.complete);
		}
		i++;
	}
	sse_iter_free(&it);
	if (r != 0 || i != n)
		test_fail_at(__FILE__, __LINE__, "%s: %zu events, want %zu (r=%d)", what, i, n, r);
}

TEST(sse_spec_cases)
{
	static const struct want basic[] = { { "", "a", true }, { "", "b\nc", true } };
	static const struct want named[] = { { "message_start", "{\"x\":1}", true },
					     { "ping", "{}", true } };
	static const struct want cut[] = { { "", "x", true }, { "", "partial", false } };
	static const struct want nospace[] = { { "e", "v", true } };

	check_stream("basic LF", "data: a\n\ndata: b\ndata: c\n\n", 26, basic, 2);
	check_stream("CRLF", "data: a\r\n\r\ndata: b\r\ndata: c\r\n\r\n", 32, basic, 2);
	check_stream("CR only", "data: a\r\rdata: b\rdata: c\r\r", 26, basic, 2);
	check_stream("BOM and comments",
		     "\xEF\xBB\xBF: ping\ndata: a\n\n: keep-alive\ndata: b\n"
		     "data: c\n\n",
		     50, basic, 2);
	check_stream("named events",
		     "event: message_start\ndata: {\"x\":1}\n\nevent: ping\ndata: {}\n\n", 58,
		     named, 2);
	check_stream("cut at the end", "data: x\n\ndata: partial", 22, cut, 2);
	check_stream("no space after colon", "event:e\ndata:v\n\n", 16, nospace, 1);
	check_stream("event without data is dropped", "event: x\n\n", 10, NULL, 0);
	check_stream("empty", "", 0, NULL, 0);
}

TEST(sse_end_offsets_and_cap)
{
	static const char s[] = "data: first\n\ndata: second\n\n";
	struct sse_iter it;
	struct sse_event ev;
	char *big = malloc(100000);

	sse_iter_init(&it, s, sizeof(s) - 1, 1 << 20);
	ASSERT_EQ(sse_next(&it, &ev), 1);
	ASSERT_UEQ(ev.end_off, 13);
	ASSERT_EQ(sse_next(&it, &ev), 1);
	ASSERT_UEQ(ev.end_off, sizeof(s) - 1);
	ASSERT_EQ(sse_next(&it, &ev), 0);
	sse_iter_free(&it);

	memcpy(big, "data: ", 6);
	memset(big + 6, 'q', 100000 - 8);
	big[100000 - 2] = '\n';
	big[100000 - 1] = '\n';
	sse_iter_init(&it, big, 100000, 1000);
	ASSERT_EQ(sse_next(&it, &ev), 1);
	ASSERT_TRUE(ev.truncated);
	ASSERT_UEQ(ev.data_len, 1000);
	sse_iter_free(&it);
	free(big);
}

TEST(ndjson_lines)
{
	static const char s[] = "{\"a\":1}\n\n  \r\n{\"b\":2}\r\n{\"c\":";
	struct ndjson_iter it = { s, sizeof(s) - 1, 0 };
	const char *line;
	size_t n, end;
	bool complete;

	ASSERT_EQ(ndjson_next(&it, &line, &n, &end, &complete), 1);
	ASSERT_MEMEQ(line, "{\"a\":1}", n);
	ASSERT_TRUE(complete);
	ASSERT_EQ(ndjson_next(&it, &line, &n, &end, &complete), 1);
	ASSERT_UEQ(n, 7);
	ASSERT_MEMEQ(line, "{\"b\":2}", 7);
	ASSERT_EQ(ndjson_next(&it, &line, &n, &end, &complete), 1);
	ASSERT_TRUE(!complete);
	ASSERT_UEQ(end, sizeof(s) - 1);
	ASSERT_EQ(ndjson_next(&it, &line, &n, &end, &complete), 0);
}
