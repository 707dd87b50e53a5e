/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Payload and end-of-connection events, shared by every capture path (TLS
 * uprobes and socket syscalls): one data call becomes LT_CHUNK_MAX pieces
 * in the ring, from a flat buffer or an iovec array; every byte advances
 * the connection's per-direction position, copied or not, so user space
 * sees any loss as a gap of an exact size.
 */
#ifndef LLMTAP_EMIT_BPF_H
#define LLMTAP_EMIT_BPF_H

#include "common.bpf.h"

struct emit_copy_ctx {
	struct lt_data_event *ev;
	struct lt_probe_stats *ps;
	__u64 iov; /* next struct iovec to read, 0 for a flat buffer */
	__u32 iov_left;
	__u64 seg_base, seg_len, seg_off; /* the buffer segment being copied */
	__u64 cap; /* bytes to copy */
	__u64 off; /* bytes of the call handled so far */
	__u64 last_flags; /* ring buffer flags of the call's last chunk */
};

/* Sets up c for a flat buffer (iovcnt 0) or an iovec array of n bytes. */
static __always_inline void emit__init(struct emit_copy_ctx *c, struct lt_probe_stats *ps,
				       __u64 buf, __u32 iovcnt, __u64 n)
{
	c->ps = ps;
	c->iov = iovcnt ? buf : 0;
	c->iov_left = iovcnt;
	c->seg_base = iovcnt ? 0 : buf;
	c->seg_len = iovcnt ? 0 : n;
	c->seg_off = 0;
	c->off = 0;
	c->last_flags = BPF_RB_NO_WAKEUP;
}

/* Moves to the next iovec; returns 0, or 1 when there is none. */
static __always_inline int emit__next_seg(struct emit_copy_ctx *c)
{
	struct iovec v;

	if (!c->iov || c->iov_left == 0)
		return 1;
	if (bpf_probe_read_user(&v, sizeof(v), (void *)c->iov)) {
		c->ps->read_errors++;
		return 1;
	}
	c->iov += sizeof(v);
	c->iov_left--;
	c->seg_base = (__u64)v.iov_base;
	c->seg_len = v.iov_len;
	c->seg_off = 0;
	return 0;
}

/* bpf_loop body: one event of at most LT_CHUNK_MAX bytes from the current
 * segment.  An iovec boundary ends an event early. */
static long emit__copy_chunk(__u32 i, void *arg)
{
	struct emit_copy_ctx *c = arg;
	struct lt_data_event *ev = c->ev;
	__u64 flags = BPF_RB_NO_WAKEUP;
	__u64 len, seg_left;

	if (c->off >= c->cap)
		return 1;
	if (c->seg_off >= c->seg_len)
		return emit__next_seg(c);
	seg_left = c->seg_len - c->seg_off;
	len = c->cap - c->off;
	if (len > seg_left)
		len = seg_left;
	/* clamp, mask, barrier: the verifier must see 0 < len <= LT_CHUNK_MAX */
	if (len > LT_CHUNK_MAX)
		len = LT_CHUNK_MAX;
	barrier_var(len);
	len &= (LT_CHUNK_MAX << 1) - 1;
	if (len == 0 || len > LT_CHUNK_MAX)
		return 1;
	ev->chunk_off = c->off;
	ev->len = len;
	ev->hdr.size = offsetof(struct lt_data_event, payload) + len;
	if (c->off + len >= c->cap) {
		ev->hdr.flags |= LT_DATA_F_LAST_CHUNK;
		flags = c->last_flags;
	}
	if (bpf_probe_read_user(ev->payload, len, (void *)(c->seg_base + c->seg_off))) {
		/* the bytes still count: user space sees a gap */
		c->ps->read_errors++;
	} else {
		if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
			flags = BPF_RB_FORCE_WAKEUP;
		if (bpf_ringbuf_output(&events, ev, offsetof(struct lt_data_event, payload) + len,
				       flags))
			c->ps->ringbuf_drops++;
		else
			c->ps->captured_bytes += len;
	}
	ev->stream_off += len;
	c->off += len;
	c->seg_off += len;
	return 0;
}

/*
 * A data call of probe moved n > 0 bytes in direction dir on connection key
 * (state cs, already counted in ps->calls/bytes); c was set up by
 * emit__init.  Advances the stream position and copies up to call_cap
 * bytes, unless user space marked the connection ignored.
 */
static __always_inline void emit__data(struct emit_copy_ctx *c, struct lt_conn_state *cs, __u64 key,
				       __u32 probe, __u32 dir, __u64 n)
{
	struct lt_data_event *ev;
	__u32 zero = 0;

	dir &= 1;
	ev = bpf_map_lookup_elem(&data_scratch, &zero);
	if (!ev)
		return;
	ev->stream_off = cs->pos[dir];
	/*
	 * The first bytes of a connection (a request head) are what user space
	 * classifies it by: wake it now rather than at its next poll, so a
	 * connection it ignores stops being copied after one call, not after
	 * up to a poll interval of traffic.  One wake-up per connection.
	 */
	if ((cs->pos[0] | cs->pos[1]) == 0)
		c->last_flags = BPF_RB_FORCE_WAKEUP;
	cs->pos[dir] += n;
	if (cs->flags & LT_CONN_F_IGNORE) {
		c->ps->ignored_bytes += n;
		return;
	}
	c->cap = n > call_cap ? call_cap : n;
	if (n > c->cap)
		c->ps->truncated_bytes += n - c->cap;
	common__fill_hdr(&ev->hdr, LT_EV_DATA, 0);
	if (n > c->cap)
		ev->hdr.flags |= LT_DATA_F_TRUNCATED;
	ev->ssl = key;
	ev->conn_gen = cs->gen;
	ev->call_len = n > 0xffffffffULL ? 0xffffffffU : (__u32)n;
	ev->fd = cs->fd;
	ev->dir = dir;
	ev->probe = probe;
	c->ev = ev;
	/* chunks, plus one step per iovec */
	bpf_loop(2 * (LT_CALL_CAP_MAX / LT_CHUNK_MAX), emit__copy_chunk, c, 0);
}

/* Tells user space that connection key (state st) ended, with the bytes
 * the kernel counted per direction; the caller removes st from its map. */
static __always_inline void emit__close(__u64 key, const struct lt_conn_state *st)
{
	struct lt_conn_close_event ev = {};

	common__fill_hdr(&ev.hdr, LT_EV_CONN_CLOSE, sizeof(ev));
	ev.ssl = key;
	ev.conn_gen = st->gen;
	ev.bytes[0] = st->pos[0];
	ev.bytes[1] = st->pos[1];
	if (bpf_ringbuf_output(&events, &ev, sizeof(ev), 0))
		common__count(LT_CNT_CONTROL_DROPS);
}

#endif
