// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>

#include "stream/event.h"
#include "test.h"

static struct lt_data_event *data_event(uint32_t len)
{
	struct lt_data_event *d = calloc(1, sizeof(*d));

	d->hdr.type = LT_EV_DATA;
	d->hdr.size = offsetof(struct lt_data_event, payload) + len;
	d->len = len;
	d->call_len = len;
	return d;
}

TEST(event_decode_data_ok)
{
	struct lt_data_event *d = data_event(100);
	struct event_view v;

	ASSERT_EQ(event_decode(d, d->hdr.size, &v), 0);
	ASSERT_TRUE(v.data == d);
	free(d);
}

TEST(event_decode_rejects_malformed)
{
	static const struct {
		const char *what;
		uint32_t len, size_delta, call_len, chunk_off;
		uint8_t dir;
		int want;
	} cases[] = {
		{ "payload longer than the event", 100, (uint32_t)-1, 100, 0, 0, -EBADMSG },
		{ "len over LT_CHUNK_MAX", LT_CHUNK_MAX + 1, 0, LT_CHUNK_MAX + 1, 0, 0, -EBADMSG },
		{ "bad direction", 10, 0, 10, 0, 2, -EBADMSG },
		{ "chunk past the call", 10, 0, 15, 10, 0, -EBADMSG },
		{ "chunk at the end of the call", 10, 0, 20, 10, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lt_data_event *d =
			data_event(cases[i].len > LT_CHUNK_MAX ? 0 : cases[i].len);
		struct event_view v;
		size_t size;

		d->len = cases[i].len;
		d->call_len = cases[i].call_len;
		d->chunk_off = cases[i].chunk_off;
		d->dir = cases[i].dir;
		size = d->hdr.size +
		       (cases[i].size_delta == (uint32_t)-1 ? 0 : cases[i].size_delta);
		if (cases[i].size_delta == (uint32_t)-1)
			d->hdr.size -= 1; /* header claims less than the payload needs */
		if (event_decode(d, size, &v) != cases[i].want) {
			free(d);
			test_fail_at(__FILE__, __LINE__, "case '%s'", cases[i].what);
		}
		free(d);
	}
}

TEST(event_decode_short_buffers)
{
	struct lt_event_hdr h = { .type = LT_EV_CONN_CLOSE, .size = sizeof(h) };
	struct event_view v;

	ASSERT_EQ(event_decode(NULL, 0, &v), -EBADMSG);
	ASSERT_EQ(event_decode(&h, sizeof(h) - 1, &v), -EBADMSG);
	/* a close event must carry its whole body */
	ASSERT_EQ(event_decode(&h, sizeof(h), &v), -EBADMSG);
	h.type = LT_EV_PROC_EXIT;
	ASSERT_EQ(event_decode(&h, sizeof(h), &v), 0);
	h.type = 99;
	ASSERT_EQ(event_decode(&h, sizeof(h), &v), -ENOTSUP);
	/* size field larger than the buffer */
	h.size = sizeof(h) + 1;
	ASSERT_EQ(event_decode(&h, sizeof(h), &v), -EBADMSG);
}

TEST(event_decode_strings_must_be_terminated)
{
	struct lt_conn_info_event info;
	struct lt_file_event *f = calloc(1, sizeof(*f));
	struct event_view v;

	memset(&info, 'A', sizeof(info));
	info.hdr.type = LT_EV_CONN_INFO;
	info.hdr.size = sizeof(info);
	ASSERT_EQ(event_decode(&info, sizeof(info), &v), -EBADMSG);
	info.sni[5] = '\0';
	ASSERT_EQ(event_decode(&info, sizeof(info), &v), 0);

	f->hdr.type = LT_EV_EXEC;
	f->hdr.size = sizeof(*f);
	f->args_len = LT_ARGS_MAX + 1;
	ASSERT_EQ(event_decode(f, sizeof(*f), &v), -EBADMSG);
	f->args_len = 3;
	ASSERT_EQ(event_decode(f, sizeof(*f), &v), 0);
	free(f);
}
