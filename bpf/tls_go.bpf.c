// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * TLS plaintext capture for Go's crypto/tls: (*Conn).Write and (*Conn).Read
 * of Go >= 1.17 on x86-64 (the register ABI, ABIInternal).
 *
 * Go moves goroutine stacks, so a uretprobe's rewritten return address
 * breaks it: returns are caught by uprobes on each RET instruction (user
 * space never attaches anything else to Go code).  Arguments are read from
 * registers: at entry the receiver (*tls.Conn) is in RAX, the slice's
 * pointer in RBX and its length in RCX; at RET, n is in RAX.  R14 always
 * holds the current goroutine's g.  A goroutine blocked in Read may resume
 * on another thread, so calls are keyed by (pid, g, frame depth), never by
 * thread.  The connection is the *tls.Conn, ended by (*Conn).Close or by
 * process exit.
 */
#include "tls.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * Offsets in Go runtime and net structures, unchanged since Go 1.17:
 * runtime.g begins with stack{lo, hi}; tls.Conn with its net.Conn (an
 * interface: itab, data); a *net.TCPConn points to net.conn{fd *netFD};
 * netFD begins with poll.FD{fdmu (16 bytes), Sysfd int}.
 */
#define GO_G_STACK_HI 8
#define GO_IFACE_DATA 8
#define GO_NETFD_SYSFD 16

/* Key of the call whose frame is at sp in the current goroutine; 0 or -1. */
static __always_inline int go__key(struct pt_regs *ctx, __u32 pid, struct lt_go_call_key *key,
				   struct lt_probe_stats *ps)
{
	__u64 g = ctx->r14, hi = 0, sp = PT_REGS_SP(ctx);

	if (!g || bpf_probe_read_user(&hi, sizeof(hi), (void *)(g + GO_G_STACK_HI)) || hi < sp) {
		if (ps)
			ps->read_errors++;
		return -1;
	}
	key->pid = pid;
	key->pad = 0;
	key->g = g;
	key->depth = hi - sp;
	return 0;
}

/*
 * The socket fd under a *tls.Conn when its net.Conn is a *net.TCPConn (or
 * another net.conn); -1 when the walk fails or what it finds is not a
 * socket of this process (a wrapped or custom net.Conn).
 */
static __always_inline int go__conn_fd(__u64 conn)
{
	__u64 data = 0, netfd = 0;
	__s64 fd = -1;
	struct file *f;
	umode_t mode;

	if (bpf_probe_read_user(&data, sizeof(data), (void *)(conn + GO_IFACE_DATA)) || !data)
		return -1;
	if (bpf_probe_read_user(&netfd, sizeof(netfd), (void *)data) || !netfd)
		return -1;
	if (bpf_probe_read_user(&fd, sizeof(fd), (void *)(netfd + GO_NETFD_SYSFD)))
		return -1;
	if (fd < 0 || fd > 0x7fffffff)
		return -1;
	f = common__fd_file((int)fd);
	if (!f)
		return -1;
	mode = BPF_CORE_READ(f, f_inode, i_mode);
	return (mode & LT_S_IFMT) == LT_S_IFSOCK ? (int)fd : -1;
}

/* Entry of (*Conn).Write / (*Conn).Read; the attach cookie says which. */
SEC("uprobe")
int BPF_KPROBE(go_tls_enter)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u32 probe = bpf_get_attach_cookie(ctx) & LT_COOKIE_PROBE_MASK;
	struct lt_go_call_key key;
	struct lt_go_call call = {};

	if (common__is_agent(pid))
		return 0;
	if (go__key(ctx, pid, &key, common__probe_stats(probe)))
		return 0;
	call.conn = ctx->ax;
	call.buf = ctx->bx;
	call.probe = probe;
	/*
	 * ANY: when the prologue grows the stack, the function restarts from
	 * its entry on the new stack at the same depth; a key left by a call
	 * that panicked is overwritten too.
	 */
	if (bpf_map_update_elem(&go_calls, &key, &call, BPF_ANY))
		common__count(LT_CNT_CALL_TABLE_FULL);
	return 0;
}

/* A RET instruction of (*Conn).Write / (*Conn).Read: n bytes moved. */
SEC("uprobe")
int BPF_KPROBE(go_tls_ret)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u32 probe = bpf_get_attach_cookie(ctx) & LT_COOKIE_PROBE_MASK;
	struct lt_probe_stats *ps = common__probe_stats(probe);
	struct lt_go_call_key key;
	struct lt_go_call *saved, c;
	struct lt_conn_state *cs;
	__s64 n = (__s64)ctx->ax;
	int fd;

	if (!ps || common__is_agent(pid) || go__key(ctx, pid, &key, ps))
		return 0;
	saved = bpf_map_lookup_elem(&go_calls, &key);
	if (!saved) {
		/* a call that began before we attached */
		ps->unmatched_returns++;
		return 0;
	}
	__builtin_memcpy(&c, saved, sizeof(c));
	bpf_map_delete_elem(&go_calls, &key);
	/* n counts even with an error: Write may be partial, Read may return n with EOF */
	if (n <= 0)
		return 0;
	ps->calls++;
	ps->bytes += n;
	cs = tls__conn(pid, c.conn);
	if (!cs)
		return 0;
	if (!(cs->flags & LT_CONN_F_FD_SENT)) {
		/* one walk per connection, found or not */
		cs->flags |= LT_CONN_F_FD_SENT;
		fd = go__conn_fd(c.conn);
		if (fd >= 0) {
			cs->fd = fd;
			common__emit_fd_info(c.conn, cs->gen, fd);
		}
	}
	tls__emit_data(ps, cs, c.conn, c.probe, c.buf, (__u64)n);
	return 0;
}

/* (*Conn).Close entry: the stream ends; a later Conn at this address is new. */
SEC("uprobe")
int BPF_KPROBE(go_tls_close)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;

	if (!common__is_agent(pid))
		tls__close(pid, ctx->ax);
	return 0;
}
