// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzzes the whole user-space path from ring-buffer bytes to records:
 * event validation, the connection table, reassembly with gaps, HTTP
 * parsing, pairing and record building.  The input is a script of events
 * (so the fuzzer reaches deep states) with raw events mixed in.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stream/stream.h"

struct reader {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct reader *r)
{
	uint8_t v = 0;

	if (r->n) {
		v = *r->p++;
		r->n--;
	}
	return v;
}

static void emit(json_t *rec, void *ctx)
{
	char *s = json_dumps(rec, JSON_COMPACT);

	free(s);
}

static void ignore(const struct conn_key *key, void *ctx)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct lt_data_event ev;
	struct reader r = { data, size };
	struct stream_hooks h = { emit, ignore, NULL };
	struct classifier cl;
	struct stream_opts o = {
		.max_conns = 4, .max_procs = 4, .max_body_bytes = 4096, .classifier = &cl
	};
	uint64_t off[4][2] = { { 0 } };
	struct stream s;

	classifier_default(&cl);
	cl.match_all = u8(&r) & 1;
	if (stream_init(&s, &o, &h))
		return 0;
	while (r.n) {
		uint8_t op = u8(&r), conn = op >> 4 & 3;
		size_t len;

		memset(&ev, 0, offsetof(struct lt_data_event, payload));
		ev.hdr.pid = 0x7ffff000u + (conn & 1);
		ev.hdr.ts_ns = r.n;
		ev.ssl = conn;
		ev.conn_gen = 1;
		switch (op & 7) {
		case 0:
		case 1:
		case 2: { /* data, either direction, sometimes after a gap */
			int dir = op & 1;

			len = (size_t)u8(&r) << 4;
			len |= u8(&r) & 15;
			if (op & 8)
				off[conn][dir] += u8(&r);
			if (len > r.n)
				len = r.n;
			ev.hdr.type = LT_EV_DATA;
			ev.hdr.size = offsetof(struct lt_data_event, payload) + len;
			ev.stream_off = off[conn][dir];
			ev.call_len = len;
			ev.len = len;
			ev.dir = dir;
			memcpy(ev.payload, r.p, len);
			r.p += len;
			r.n -= len;
			off[conn][dir] += len;
			stream_on_event(&s, &ev, ev.hdr.size);
			break;
		}
		case 3: { /* close, with the kernel's byte totals */
			struct lt_conn_close_event *c = (void *)&ev;

			c->hdr.type = LT_EV_CONN_CLOSE;
			c->hdr.size = sizeof(*c);
			c->bytes[0] = off[conn][0] + (u8(&r) & 3);
			c->bytes[1] = off[conn][1];
			off[conn][0] = off[conn][1] = 0;
			stream_on_event(&s, c, sizeof(*c));
			break;
		}
		case 4: { /* process exit */
			ev.hdr.type = LT_EV_PROC_EXIT;
			ev.hdr.size = sizeof(ev.hdr);
			stream_on_event(&s, &ev, sizeof(ev.hdr));
			memset(off, 0, sizeof(off));
			break;
		}
		case 5: /* expiry */
			stream_tick(&s, r.n + 1000000, u8(&r));
			break;
		default: /* raw bytes straight into the decoder */
			len = u8(&r);
			if (len > r.n)
				len = r.n;
			memcpy(&ev, r.p, len);
			stream_on_event(&s, &ev, len);
			r.p += len;
			r.n -= len;
			break;
		}
	}
	stream_destroy(&s);
	return 0;
}
