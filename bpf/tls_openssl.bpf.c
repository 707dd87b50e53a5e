// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * TLS plaintext capture for OpenSSL 1.1/3.x, LibreSSL and BoringSSL.
 *
 * One entry program serves SSL_write, SSL_read and their _ex/_ex2 variants;
 * the attach cookie says which.  The entry saves the arguments per thread;
 * the return program (a uretprobe, or a plain uprobe on each RET
 * instruction, chosen per target by user space) copies what the call moved
 * into the ring buffer in LT_CHUNK_MAX pieces.  Every byte advances the
 * connection's per-direction position, copied or not, so user space sees any
 * loss as a gap of an exact size.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * BPF_KPROBE/BPF_KRETPROBE are used for uprobes too: libbpf 1.1 has no
 * BPF_UPROBE with typed arguments, and both see the same pt_regs.
 */

#define SSL_CTRL_SET_TLSEXT_HOSTNAME 55

static __always_inline __u32 tls__dir(__u32 probe)
{
	return (probe == LT_PROBE_SSL_READ || probe == LT_PROBE_SSL_READ_EX) ? LT_DIR_INGRESS :
									       LT_DIR_EGRESS;
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

/* Tells user space the socket fd (and addresses) of a connection. */
static __always_inline void tls__emit_fd(__u64 ssl, struct lt_conn_state *st, int fd)
{
	__u32 zero = 0;
	struct lt_conn_info_event *ev = bpf_map_lookup_elem(&info_scratch, &zero);

	if (!ev)
		return;
	__builtin_memset(ev, 0, sizeof(*ev));
	common__fill_hdr(&ev->hdr, LT_EV_CONN_INFO, sizeof(*ev));
	ev->ssl = ssl;
	ev->conn_gen = st->gen;
	ev->fd = fd;
	ev->what = LT_INFO_FD;
	common__sock_addrs(fd, ev);
	if (bpf_ringbuf_output(&events, ev, sizeof(*ev), 0))
		common__count(LT_CNT_CONTROL_DROPS);
}

SEC("uprobe")
int BPF_KPROBE(tls_data_enter)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 probe = bpf_get_attach_cookie(ctx) & LT_COOKIE_PROBE_MASK;
	struct lt_call_stack *st, zero = {};
	struct lt_probe_stats *ps;
	struct lt_call call = {};
	__u64 parm4, parm5;
	__u32 d, slot;

	if (common__is_agent(id >> 32))
		return 0;
	call.sp = PT_REGS_SP(ctx);
	call.ssl = PT_REGS_PARM1(ctx);
	call.buf = PT_REGS_PARM2(ctx);
	/* both read unconditionally: clang would otherwise merge the two ctx
	 * loads into one with a variable offset, which the verifier rejects */
	parm4 = PT_REGS_PARM4(ctx);
	parm5 = PT_REGS_PARM5(ctx);
	barrier_var(parm4);
	barrier_var(parm5);
	if (probe == LT_PROBE_SSL_WRITE_EX || probe == LT_PROBE_SSL_READ_EX)
		call.len_ptr = parm4;
	else if (probe == LT_PROBE_SSL_WRITE_EX2)
		call.len_ptr = parm5;
	call.fd = -1;
	call.probe = probe;

	st = bpf_map_lookup_elem(&active_calls, &id);
	if (!st) {
		bpf_map_update_elem(&active_calls, &id, &zero, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&active_calls, &id);
		if (!st) {
			common__count(LT_CNT_CALL_TABLE_FULL);
			return 0;
		}
	}
	d = st->depth;
	/*
	 * Frames of calls still running sit above ours on the stack (higher sp).
	 * A saved call at or below our sp is stale (its return was never seen,
	 * e.g. a longjmp): drop it.
	 */
	for (int i = 0; i < LT_CALL_DEPTH; i++) {
		if (d == 0 || d > LT_CALL_DEPTH ||
		    st->calls[(d - 1) & (LT_CALL_DEPTH - 1)].sp > call.sp)
			break;
		d--;
	}
	if (d > LT_CALL_DEPTH)
		d = 0;
	if (d > 0) {
		struct lt_call *outer = &st->calls[(d - 1) & (LT_CALL_DEPTH - 1)];

		/* a wrapper calling its sibling (SSL_write_ex -> SSL_write_ex2): one call */
		if (outer->ssl == call.ssl && outer->buf == call.buf) {
			ps = common__probe_stats(probe);
			if (ps)
				ps->nested_calls++;
			st->depth = d;
			return 0;
		}
	}
	if (d >= LT_CALL_DEPTH) {
		common__count(LT_CNT_CALL_TABLE_FULL);
		st->depth = d;
		return 0;
	}
	/* mask after a barrier: the verifier must see the index in bounds */
	slot = d;
	barrier_var(slot);
	slot &= LT_CALL_DEPTH - 1;
	__builtin_memcpy(&st->calls[slot], &call, sizeof(call));
	st->depth = d + 1;
	return 0;
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

static __always_inline int tls__data_return(struct pt_regs *ctx, __u64 sp_at_entry)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, zero = 0, dir, depth = 0, slot;
	struct lt_call_stack *st;
	struct lt_conn_state *cs;
	struct lt_call c;
	int found = -1;
	struct lt_probe_stats *ps;
	struct lt_data_event *ev;
	struct tls_copy_ctx cc = {};
	__u64 n = 0, ssize;
	int ret;

	st = bpf_map_lookup_elem(&active_calls, &id);
	if (st)
		depth = st->depth;
	/* the saved call whose frame this return leaves, innermost first */
	for (int i = LT_CALL_DEPTH - 1; i >= 0; i--) {
		if ((__u32)i < depth && st && st->calls[i].sp == sp_at_entry) {
			found = i;
			break;
		}
	}
	if (found < 0 || !st) {
		/* not ours (a wrapper's inner call), or a call that began before we attached */
		ps = common__probe_stats(bpf_get_attach_cookie(ctx) & LT_COOKIE_PROBE_MASK);
		if (ps && !(st && depth))
			ps->unmatched_returns++;
		return 0;
	}
	slot = (__u32)found;
	barrier_var(slot);
	slot &= LT_CALL_DEPTH - 1;
	__builtin_memcpy(&c, &st->calls[slot], sizeof(c));
	/* calls saved above it are inner calls whose returns were missed */
	st->depth = found;

	ret = (int)PT_REGS_RC(ctx);
	if (c.len_ptr) {
		if (ret != 1)
			return 0;
		if (bpf_probe_read_user(&ssize, sizeof(ssize), (void *)c.len_ptr))
			return 0;
		n = ssize;
	} else {
		if (ret <= 0)
			return 0;
		n = (__u64)ret;
	}
	if (n == 0)
		return 0;
	ps = common__probe_stats(c.probe);
	if (!ps)
		return 0;
	ps->calls++;
	ps->bytes += n;

	cs = tls__conn(pid, c.ssl);
	if (!cs)
		return 0;
	dir = tls__dir(c.probe) & 1;
	if (c.fd >= 0 && !(cs->flags & LT_CONN_F_FD_SENT)) {
		cs->fd = c.fd;
		cs->flags |= LT_CONN_F_FD_SENT;
		tls__emit_fd(c.ssl, cs, c.fd);
	}
	cc.off = 0;
	ev = bpf_map_lookup_elem(&data_scratch, &zero);
	if (!ev)
		return 0;
	ev->stream_off = cs->pos[dir];
	cs->pos[dir] += n;
	if (cs->flags & LT_CONN_F_IGNORE) {
		ps->ignored_bytes += n;
		return 0;
	}
	cc.cap = n > call_cap ? call_cap : n;
	if (n > cc.cap)
		ps->truncated_bytes += n - cc.cap;

	common__fill_hdr(&ev->hdr, LT_EV_DATA, 0);
	if (n > cc.cap)
		ev->hdr.flags |= LT_DATA_F_TRUNCATED;
	ev->ssl = c.ssl;
	ev->conn_gen = cs->gen;
	ev->call_len = n > 0xffffffffULL ? 0xffffffffU : (__u32)n;
	ev->fd = cs->fd;
	ev->dir = dir;
	ev->probe = c.probe;
	cc.ev = ev;
	cc.ps = ps;
	cc.buf = c.buf;
	bpf_loop(LT_CALL_CAP_MAX / LT_CHUNK_MAX, tls__copy_chunk, &cc, 0);
	return 0;
}

/* uretprobe: the return address was popped, so sp is 8 above the entry's. */
SEC("uretprobe")
int BPF_KRETPROBE(tls_data_return)
{
	return tls__data_return(ctx, PT_REGS_SP(ctx) - 8);
}

/* uprobe on a RET instruction: sp points at the return address, as at entry. */
SEC("uprobe")
int BPF_KPROBE(tls_data_ret_insn)
{
	return tls__data_return(ctx, PT_REGS_SP(ctx));
}

/* SSL_set_fd(ssl, fd): the socket of a connection, before its first byte. */
SEC("uprobe")
int BPF_KPROBE(tls_set_fd, __u64 ssl, int fd)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct lt_conn_state *st;

	if (common__is_agent(pid) || fd < 0)
		return 0;
	st = tls__conn(pid, ssl);
	if (!st || (st->flags & LT_CONN_F_FD_SENT))
		return 0;
	st->fd = fd;
	st->flags |= LT_CONN_F_FD_SENT;
	tls__emit_fd(ssl, st, fd);
	return 0;
}

/* SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, type, name): the client's SNI. */
SEC("uprobe")
int BPF_KPROBE(tls_ctrl, __u64 ssl, int cmd, long larg, __u64 parg)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32, zero = 0;
	struct lt_conn_info_event *ev;
	struct lt_conn_state *st;

	if (cmd != SSL_CTRL_SET_TLSEXT_HOSTNAME || !parg || common__is_agent(pid))
		return 0;
	st = tls__conn(pid, ssl);
	if (!st)
		return 0;
	ev = bpf_map_lookup_elem(&info_scratch, &zero);
	if (!ev)
		return 0;
	__builtin_memset(ev, 0, sizeof(*ev));
	common__fill_hdr(&ev->hdr, LT_EV_CONN_INFO, sizeof(*ev));
	ev->ssl = ssl;
	ev->conn_gen = st->gen;
	ev->fd = st->fd;
	ev->what = LT_INFO_SNI;
	if (bpf_probe_read_user_str(ev->sni, sizeof(ev->sni), (void *)parg) < 0)
		return 0;
	if (bpf_ringbuf_output(&events, ev, sizeof(*ev), 0))
		common__count(LT_CNT_CONTROL_DROPS);
	return 0;
}

/* SSL_free(ssl): the stream ends; a later SSL at this address is a new one. */
SEC("uprobe")
int BPF_KPROBE(tls_free, __u64 ssl)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct lt_conn_key key = { .pid = pid, .ssl = ssl };
	struct lt_conn_close_event ev = {};
	struct lt_conn_state *st;

	if (common__is_agent(pid))
		return 0;
	st = bpf_map_lookup_elem(&conns, &key);
	if (!st)
		return 0;
	common__fill_hdr(&ev.hdr, LT_EV_CONN_CLOSE, sizeof(ev));
	ev.ssl = ssl;
	ev.conn_gen = st->gen;
	ev.bytes[0] = st->pos[0];
	ev.bytes[1] = st->pos[1];
	bpf_map_delete_elem(&conns, &key);
	if (bpf_ringbuf_output(&events, &ev, sizeof(ev), 0))
		common__count(LT_CNT_CONTROL_DROPS);
	return 0;
}
