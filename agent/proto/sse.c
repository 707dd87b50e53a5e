// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "sse.h"

#include <errno.h>
#include <string.h>

void sse_iter_init(struct sse_iter *it, const char *buf, size_t len, size_t max_data)
{
	memset(it, 0, sizeof(*it));
	it->buf = buf;
	it->len = len;
	dynbuf_init(&it->data, max_data);
	/* a UTF-8 byte order mark may start the stream */
	if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
		it->pos = 3;
}

void sse_iter_free(struct sse_iter *it)
{
	dynbuf_free(&it->data);
}

/* The next line [start, end) and the offset after its terminator; false at the end. */
static bool next_line(struct sse_iter *it, size_t *start, size_t *end, bool *terminated)
{
	size_t i = it->pos;

	if (i >= it->len)
		return false;
	*start = i;
	while (i < it->len && it->buf[i] != '\n' && it->buf[i] != '\r')
		i++;
	*end = i;
	*terminated = i < it->len;
	if (i < it->len && it->buf[i] == '\r')
		i++;
	if (i < it->len && it->buf[i] == '\n' && (i == *end || it->buf[i - 1] == '\r'))
		i++;
	it->pos = i;
	return true;
}

static void copy_field(char *dst, size_t dst_size, const char *v, size_t n)
{
	if (n >= dst_size)
		n = dst_size - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

int sse_next(struct sse_iter *it, struct sse_event *ev)
{
	bool have_data = false, truncated = false, terminated = true;
	size_t start, end;

	dynbuf_reset(&it->data);
	it->event[0] = '\0';
	while (next_line(it, &start, &end, &terminated)) {
		const char *line = it->buf + start, *colon, *val;
		size_t n = end - start, name_len, val_len;

		if (n == 0) {
			if (!have_data) {
				it->event[0] = '\0';
				continue;
			}
			goto dispatch;
		}
		if (line[0] == ':')
			continue;
		colon = memchr(line, ':', n);
		name_len = colon ? (size_t)(colon - line) : n;
		val = colon ? colon + 1 : line + n;
		val_len = colon ? n - name_len - 1 : 0;
		if (val_len && val[0] == ' ') {
			val++;
			val_len--;
		}
		if (name_len == 4 && memcmp(line, "data", 4) == 0) {
			int err = 0;

			if (have_data)
				err = dynbuf_append(&it->data, "\n", 1);
			if (!err)
				err = dynbuf_append(&it->data, val, val_len);
			if (err == -ENOMEM)
				return -ENOMEM;
			if (err == -E2BIG)
				truncated = true;
			have_data = true;
		} else if (name_len == 5 && memcmp(line, "event", 5) == 0) {
			copy_field(it->event, sizeof(it->event), val, val_len);
		} else if (name_len == 2 && memcmp(line, "id", 2) == 0) {
			copy_field(it->id, sizeof(it->id), val, val_len);
		}
	}
	/* the buffer ended without the blank line that dispatches */
	if (!have_data)
		return 0;
	terminated = false;
dispatch:
	ev->event = it->event;
	ev->data = it->data.buf ? it->data.buf : "";
	ev->data_len = it->data.len;
	ev->id = it->id;
	ev->end_off = it->pos;
	ev->truncated = truncated;
	ev->complete = terminated;
	return 1;
}

int ndjson_next(struct ndjson_iter *it, const char **line, size_t *n, size_t *end_off,
		bool *complete)
{
	while (it->pos < it->len) {
		size_t start = it->pos, end;
		const char *nl = memchr(it->buf + start, '\n', it->len - start);

		end = nl ? (size_t)(nl - it->buf) : it->len;
		it->pos = nl ? end + 1 : it->len;
		while (end > start && (it->buf[end - 1] == '\r' || it->buf[end - 1] == ' ' ||
				       it->buf[end - 1] == '\t'))
			end--;
		while (start < end && (it->buf[start] == ' ' || it->buf[start] == '\t'))
			start++;
		if (start == end)
			continue;
		*line = it->buf + start;
		*n = end - start;
		*end_off = it->pos;
		*complete = nl != NULL;
		return 1;
	}
	return 0;
}
