/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What every TLS library's probes share once a call's arguments are known:
 * the connection state, the end of a connection, and copying a call's
 * plaintext to the ring buffer in LT_CHUNK_MAX pieces.  Every byte advances
 * the connection's per-direction position, copied or not, so user space sees
 * any loss as a gap of an exact size.  BPF only.
 */
#ifndef LLMTAP_TLS_BPF_H
#define LLMTAP_TLS_BPF_H

#include "common.bpf.h"

/* Bytes the process received for reads, sent for writes. */
static __always_inline __u32 tls__dir(__u32 probe)
{
	switch (probe) {
	case LT_PROBE_SSL_READ:
	case LT_PROBE_SSL_READ_EX:
	case LT_PROBE_GNUTLS_RECV:
	case LT_PROBE_GO_READ:
		return LT_DIR_INGRESS;
	default:
		return LT_DIR_EGRESS;
	}
}

/* Looks up or creates the connection of (pid, ssl); NULL if the map is full. */
static __always_inline struct lt_conn_state *tls__conn(__u32 pid, __u64 ssl)
{
	struct lt_conn_key key = { .pid = pid, .ssl = ssl };
	struct lt_conn_state *st, init = { .fd = -1 };

	st = bpf_map_lookup_elem(&conns, &key);
	if (st)
		return st;
	init.gen = common__next_gen();
	/* NOEXIST: another CPU may have created it meanwhile; then we use theirs. */
	bpf_map_update_elem(&conns, &key, &init, BPF_NOEXIST);
	st = bpf_map_lookup_elem(&conns, &key);
	if (!st)
		common__count(LT_CNT_CONN_TABLE_FULL);
	return st;
}

/* Ends connection (pid, ssl): a later object at this address is a new stream. */
static __always_inline void tls__close(__u32 pid, __u64 ssl)
{
	struct lt_conn_key key = { .pid = pid, .ssl = ssl };
	struct lt_conn_close_event ev = {};
	struct lt_conn_state *st;

	st = bpf_map_lookup_elem(&conns, &key);
	if (!st)
		return;
	common__fill_hdr(&ev.hdr, LT_EV_CONN_CLOSE, sizeof(ev));
	ev.ssl = ssl;
	ev.conn_gen = st->gen;
	ev.bytes[0] = st->pos[0];
	ev.bytes[1] = st->pos[1];
	bpf_map_delete_elem(&conns, &key);
	if (bpf_ringbuf_output(&events, &ev, sizeof(ev), 0))
		common__count(LT_CNT_CONTROL_DROPS);
}

struct tls_copy_ctx {
	struct lt_data_event *ev;
	struct lt_probe_stats *ps;
	__u64 buf;
	__u64 cap; /* bytes to copy */
	__u64 off; /* next offset within the call */
};

static long tls__copy_chunk(__u32 i, void *arg)
{
	struct tls_copy_ctx *c = arg;
	struct lt_data_event *ev = c->ev;
	__u64 flags = BPF_RB_NO_WAKEUP;
	__u64 len;

	if (c->off >= c->cap)
		return 1;
	/* clamp, mask, barrier: the verifier must see 0 < len <= LT_CHUNK_MAX */
	len = (__u64)c->cap - c->off;
	if (len > LT_CHUNK_MAX)
		len = LT_CHUNK_MAX;
	barrier_var(len);
	len &= (LT_CHUNK_MAX << 1) - 1;
	if (len == 0 || len > LT_CHUNK_MAX)
		return 1;
	ev->chunk_off = c->off;
	ev->len = len;
	ev->hdr.size = offsetof(struct lt_data_event, payload) + len;
	if (c->off + len >= c->cap)
		ev->hdr.flags |= LT_DATA_F_LAST_CHUNK;
	if (bpf_probe_read_user(ev->payload, len, (void *)(c->buf + c->off))) {
		c->ps->read_errors++;
		/* the bytes still count: user space sees a gap */
		ev->stream_off += len;
		c->off += len;
		return 0;
	}
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	if (bpf_ringbuf_output(&events, ev, offsetof(struct lt_data_event, payload) + len, flags))
		c->ps->ringbuf_drops++;
	else
		c->ps->captured_bytes += len;
	ev->stream_off += len;
	c->off += len;
	return 0;
}

/*
 * A data call of probe moved n > 0 bytes at buf on connection ssl (state
 * cs, already counted in ps->calls/bytes): advances the stream position and
 * copies up to call_cap bytes, unless user space marked the connection
 * ignored.
 */
static __always_inline void tls__emit_data(struct lt_probe_stats *ps, struct lt_conn_state *cs,
					   __u64 ssl, __u32 probe, __u64 buf, __u64 n)
{
	struct tls_copy_ctx cc = {};
	struct lt_data_event *ev;
	__u32 zero = 0, dir = tls__dir(probe) & 1;

	ev = bpf_map_lookup_elem(&data_scratch, &zero);
	if (!ev)
		return;
	ev->stream_off = cs->pos[dir];
	cs->pos[dir] += n;
	if (cs->flags & LT_CONN_F_IGNORE) {
		ps->ignored_bytes += n;
		return;
	}
	cc.cap = n > call_cap ? call_cap : n;
	if (n > cc.cap)
		ps->truncated_bytes += n - cc.cap;

	common__fill_hdr(&ev->hdr, LT_EV_DATA, 0);
	if (n > cc.cap)
		ev->hdr.flags |= LT_DATA_F_TRUNCATED;
	ev->ssl = ssl;
	ev->conn_gen = cs->gen;
	ev->call_len = n > 0xffffffffULL ? 0xffffffffU : (__u32)n;
	ev->fd = cs->fd;
	ev->dir = dir;
	ev->probe = probe;
	cc.ev = ev;
	cc.ps = ps;
	cc.buf = buf;
	bpf_loop(LT_CALL_CAP_MAX / LT_CHUNK_MAX, tls__copy_chunk, &cc, 0);
}

#endif
