// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "event.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

int event_decode(const void *buf, size_t size, struct event_view *out)
{
	const struct lt_event_hdr *h = buf;

	memset(out, 0, sizeof(*out));
	if (!buf || size < sizeof(*h) || h->size < sizeof(*h) || h->size > size)
		return -EBADMSG;
	out->hdr = h;
	switch (h->type) {
	case LT_EV_DATA: {
		const struct lt_data_event *d = buf;

		if (h->size < offsetof(struct lt_data_event, payload))
			return -EBADMSG;
		if (d->len > LT_CHUNK_MAX ||
		    offsetof(struct lt_data_event, payload) + d->len > h->size)
			return -EBADMSG;
		if (d->dir > LT_DIR_INGRESS || (uint64_t)d->chunk_off + d->len > d->call_len)
			return -EBADMSG;
		out->data = d;
		return 0;
	}
	case LT_EV_CONN_INFO:
		if (h->size < sizeof(struct lt_conn_info_event))
			return -EBADMSG;
		out->info = buf;
		/* sni must be a string within bounds */
		if (!memchr(out->info->sni, '\0', sizeof(out->info->sni)))
			return -EBADMSG;
		return 0;
	case LT_EV_CONN_CLOSE:
		if (h->size < sizeof(struct lt_conn_close_event))
			return -EBADMSG;
		out->close = buf;
		return 0;
	case LT_EV_EXEC:
	case LT_EV_MMAP_EXEC:
		if (h->size < sizeof(struct lt_file_event))
			return -EBADMSG;
		out->file = buf;
		if (out->file->args_len > LT_ARGS_MAX ||
		    !memchr(out->file->name, '\0', sizeof(out->file->name)))
			return -EBADMSG;
		return 0;
	case LT_EV_PROC_EXIT:
		return 0;
	default:
		return -ENOTSUP;
	}
}
