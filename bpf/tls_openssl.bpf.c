// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * TLS plaintext capture for OpenSSL 1.1/3.x, LibreSSL, BoringSSL and GnuTLS.
 *
 * One entry program serves SSL_write, SSL_read, their _ex/_ex2 variants and
 * gnutls_record_send/recv, whose first three arguments have the same
 * meaning; the attach cookie says which.  The entry saves the arguments per
 * thread; the return program (a uretprobe, or a plain uprobe on each RET
 * instruction, chosen per target by user space) copies what the call moved
 * into the ring buffer (tls.bpf.h).
 */
#include "tls.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * BPF_KPROBE/BPF_KRETPROBE are used for uprobes too: libbpf 1.1 has no
 * BPF_UPROBE with typed arguments, and both see the same pt_regs.
 */

#define SSL_CTRL_SET_TLSEXT_HOSTNAME 55

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

		/*
		 * A wrapper handing the caller's buffer on is one call: SSL_write_ex
		 * -> SSL_write_ex2, or GnuTLS's OpenSSL layer (SSL_write ->
		 * gnutls_record_send on its own session).  TLS inside TLS passes
		 * ciphertext, another buffer.
		 */
		if (outer->buf == call.buf && tls__dir(outer->probe) == tls__dir(probe)) {
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

static __always_inline int tls__data_return(struct pt_regs *ctx, __u64 sp_at_entry)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, depth = 0, slot;
	struct lt_call_stack *st;
	struct lt_conn_state *cs;
	struct lt_call c;
	int found = -1;
	struct lt_probe_stats *ps;
	__u64 n = 0, ssize;
	long ret;

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

	if (c.len_ptr) {
		if ((int)PT_REGS_RC(ctx) != 1)
			return 0;
		if (bpf_probe_read_user(&ssize, sizeof(ssize), (void *)c.len_ptr))
			return 0;
		n = ssize;
	} else if (c.probe == LT_PROBE_GNUTLS_SEND || c.probe == LT_PROBE_GNUTLS_RECV) {
		/* ssize_t; SSL_read/SSL_write return int, whose upper half of rax is undefined */
		ret = (long)PT_REGS_RC(ctx);
		if (ret <= 0)
			return 0;
		n = (__u64)ret;
	} else {
		ret = (int)PT_REGS_RC(ctx);
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
	if (c.fd >= 0 && !(cs->flags & LT_CONN_F_FD_SENT)) {
		cs->fd = c.fd;
		cs->flags |= LT_CONN_F_FD_SENT;
		common__emit_fd_info(c.ssl, cs->gen, c.fd);
	}
	tls__emit_data(ps, cs, c.ssl, c.probe, c.buf, n);
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
	common__emit_fd_info(ssl, st->gen, fd);
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

/*
 * gnutls_server_name_set(session, type, name, len): the client's SNI.  The
 * name need not be NUL-terminated: len bytes are read.
 */
SEC("uprobe")
int BPF_KPROBE(tls_gnutls_sni, __u64 session, int type, __u64 name, __u64 len)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32, zero = 0;
	struct lt_conn_info_event *ev;
	struct lt_conn_state *st;
	__u64 n = len;

	/* GNUTLS_NAME_DNS is 1, the only type defined */
	if (type != 1 || !name || n == 0 || common__is_agent(pid))
		return 0;
	st = tls__conn(pid, session);
	if (!st)
		return 0;
	ev = bpf_map_lookup_elem(&info_scratch, &zero);
	if (!ev)
		return 0;
	__builtin_memset(ev, 0, sizeof(*ev));
	common__fill_hdr(&ev->hdr, LT_EV_CONN_INFO, sizeof(*ev));
	ev->ssl = session;
	ev->conn_gen = st->gen;
	ev->fd = st->fd;
	ev->what = LT_INFO_SNI;
	/* clamp, mask, barrier; one byte stays for the NUL */
	if (n > LT_SNI_MAX - 1)
		n = LT_SNI_MAX - 1;
	barrier_var(n);
	n &= LT_SNI_MAX - 1;
	if (n == 0 || bpf_probe_read_user(ev->sni, n, (void *)name)) {
		common__count(LT_CNT_CONTROL_DROPS);
		return 0;
	}
	if (bpf_ringbuf_output(&events, ev, sizeof(*ev), 0))
		common__count(LT_CNT_CONTROL_DROPS);
	return 0;
}

/* SSL_free(ssl), gnutls_deinit(session): the stream ends. */
SEC("uprobe")
int BPF_KPROBE(tls_free, __u64 ssl)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;

	if (!common__is_agent(pid))
		tls__close(pid, ssl);
	return 0;
}
