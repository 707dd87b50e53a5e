// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Socket syscalls: plaintext HTTP of local inference servers and their
 * clients, and the fd of TLS calls.
 *
 * A TCP connection enters `sock_conns` at connect() or accept() when its
 * port is in `sock_ports`, or (sock_classify) pending a look at its first
 * bytes: an HTTP request keeps it, anything else (TLS records, databases,
 * RPC) marks it ignored.  The read/write family then costs a connection not
 * in the map, or ignored, one lookup at entry (its bytes are not even
 * counted: that would take the exit hook); a selected connection's buffer is saved
 * at entry and what the call moved is copied at exit, in the same event
 * format as TLS, with the same exact-gap accounting.
 *
 * A read/write issued from inside a TLS call (SSL_read -> read) is
 * ciphertext: it only tells the TLS connection its fd, and the socket, if
 * tracked, is ignored from then on.
 */
#include "emit.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define LT_SOCK_STREAM 1
#define LT_TLS_HANDSHAKE 0x16 /* first byte of a TLS record carrying a handshake */

/*
 * Notes fd for the innermost TLS call of this thread.  Returns 1 when the
 * thread is inside a TLS call (the syscall moves ciphertext), else 0.
 */
static __always_inline int sock__note_tls_fd(__u64 id, int fd)
{
	struct lt_call_stack *st = bpf_map_lookup_elem(&active_calls, &id);
	__u32 top;

	if (!st || st->depth == 0)
		return 0;
	top = st->depth - 1;
	barrier_var(top);
	top &= LT_CALL_DEPTH - 1;
	if (st->calls[top].fd < 0)
		st->calls[top].fd = fd;
	return 1;
}

/* Syscall entry of the read/write family: buf is the flat buffer, or the
 * iovec array when iovcnt > 0. */
static __always_inline int sock__enter(int fd, __u64 buf, __u32 iovcnt, __u32 dir)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct lt_conn_key key = { .pid = id >> 32, .ssl = LT_SOCK_KEY(fd) };
	struct lt_sock_call call = {};
	struct lt_conn_state *st;

	if (fd < 0)
		return 0;
	if (sock__note_tls_fd(id, fd)) {
		st = bpf_map_lookup_elem(&sock_conns, &key);
		if (st)
			st->flags |= LT_CONN_F_IGNORE | LT_CONN_F_SOCK_TLS;
		return 0;
	}
	st = bpf_map_lookup_elem(&sock_conns, &key);
	if (!st || (st->flags & LT_CONN_F_IGNORE))
		return 0;
	call.buf = buf;
	call.iovcnt = iovcnt;
	call.fd = fd;
	call.dir = dir;
	if (bpf_map_update_elem(&sock_calls, &id, &call, BPF_ANY))
		common__count(LT_CNT_SOCK_TABLE_FULL);
	return 0;
}

/* Is this the start of an HTTP/1.x request (or the HTTP/2 preface)? */
static __always_inline int sock__looks_http(const char *p, __u64 n)
{
	if (n < 4)
		return 0;
	switch (p[0]) {
	case 'G':
		return p[1] == 'E' && p[2] == 'T' && p[3] == ' ';
	case 'P':
		return (p[1] == 'O' && p[2] == 'S' && p[3] == 'T') ||
		       (p[1] == 'U' && p[2] == 'T' && p[3] == ' ') ||
		       (p[1] == 'A' && p[2] == 'T' && p[3] == 'C') ||
		       (p[1] == 'R' && p[2] == 'I' && p[3] == ' ');
	case 'D':
		return p[1] == 'E' && p[2] == 'L' && p[3] == 'E';
	case 'H':
		return p[1] == 'E' && p[2] == 'A' && p[3] == 'D';
	case 'O':
		return p[1] == 'P' && p[2] == 'T' && p[3] == 'I';
	default:
		return 0;
	}
}

/*
 * The first bytes of a connection decide whether it is kept.  Returns 1 to
 * capture, 0 to ignore from now on.
 */
static __always_inline int sock__first_bytes(struct lt_conn_state *st, struct emit_copy_ctx *c,
					     __u64 n)
{
	char head[4] = {};
	__u64 k = n < sizeof(head) ? n : sizeof(head);

	if (c->iov && emit__next_seg(c))
		return 0;
	if (k > c->seg_len)
		k = c->seg_len;
	barrier_var(k);
	k &= 7;
	if (k == 0 || k > sizeof(head) || bpf_probe_read_user(head, k, (void *)c->seg_base))
		return 0;
	if (head[0] == LT_TLS_HANDSHAKE) {
		st->flags |= LT_CONN_F_SOCK_TLS;
		return 0;
	}
	/* a selected port keeps anything but TLS: user space tells HTTP apart */
	if (st->flags & LT_CONN_F_SOCK_BY_PORT)
		return 1;
	return sock__looks_http(head, k);
}

/* Syscall exit of the read/write family: copies what the call moved. */
static __always_inline int sock__exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct lt_sock_call *saved, call;
	struct emit_copy_ctx cc = {};
	struct lt_probe_stats *ps;
	struct lt_conn_state *st;
	struct lt_conn_key key;
	__u32 probe, dir;
	__u64 n;

	saved = bpf_map_lookup_elem(&sock_calls, &id);
	if (!saved)
		return 0;
	call = *saved;
	bpf_map_delete_elem(&sock_calls, &id);
	if (ret <= 0)
		return 0;
	n = (__u64)ret;
	key.pid = id >> 32;
	key.pad = 0;
	key.ssl = LT_SOCK_KEY(call.fd);
	st = bpf_map_lookup_elem(&sock_conns, &key);
	if (!st)
		return 0;
	dir = call.dir & 1;
	probe = dir == LT_DIR_EGRESS ? LT_PROBE_SOCK_WRITE : LT_PROBE_SOCK_READ;
	ps = common__probe_stats(probe);
	if (!ps)
		return 0;
	ps->calls++;
	ps->bytes += n;
	if (st->flags & LT_CONN_F_SOCK_PENDING) {
		st->flags &= ~LT_CONN_F_SOCK_PENDING;
		emit__init(&cc, ps, call.buf, call.iovcnt, n);
		if (!sock__first_bytes(st, &cc, n)) {
			st->flags |= LT_CONN_F_IGNORE;
			common__count(LT_CNT_SOCK_DECLINED);
		} else {
			common__count(LT_CNT_SOCK_SELECTED);
		}
	}
	if (!(st->flags & (LT_CONN_F_IGNORE | LT_CONN_F_FD_SENT))) {
		st->flags |= LT_CONN_F_FD_SENT;
		common__emit_fd_info(key.ssl, st->gen, call.fd);
	}
	/* from the start again: the peek may have consumed the first iovec */
	emit__init(&cc, ps, call.buf, call.iovcnt, n);
	emit__data(&cc, st, key.ssl, probe, dir, n);
	return 0;
}

/* A new TCP connection on fd: tracked when its port is selected, or pending
 * classification.  port is the server's (the peer of connect, ours at accept). */
static __always_inline void sock__track(int fd, __u16 port)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct lt_conn_key key = { .pid = pid, .ssl = LT_SOCK_KEY(fd) };
	struct lt_conn_state init = { .fd = fd }, *old;

	if (bpf_map_lookup_elem(&sock_ports, &port))
		init.flags = LT_CONN_F_SOCK_BY_PORT | LT_CONN_F_SOCK_PENDING;
	else if (sock_classify)
		init.flags = LT_CONN_F_SOCK_PENDING;
	else
		return;
	/* the fd was reused without a close we saw (close_range, dup2): end the old one */
	old = bpf_map_lookup_elem(&sock_conns, &key);
	if (old)
		emit__close(key.ssl, old);
	init.gen = common__next_gen();
	if (bpf_map_update_elem(&sock_conns, &key, &init, BPF_ANY))
		common__count(LT_CNT_SOCK_TABLE_FULL);
}

/* The struct sock of fd when it is a TCP/IP stream socket, else NULL. */
static __always_inline struct sock *sock__inet_stream(int fd)
{
	struct file *f = common__fd_file(fd);
	struct socket *sock;
	struct sock *sk;
	__u16 family;

	if (!f || (BPF_CORE_READ(f, f_inode, i_mode) & LT_S_IFMT) != LT_S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(f, private_data);
	if (!sock || BPF_CORE_READ(sock, type) != LT_SOCK_STREAM)
		return NULL;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return NULL;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != LT_AF_INET && family != LT_AF_INET6)
		return NULL;
	return sk;
}

SEC("tracepoint/syscalls/sys_enter_connect")
int sys_enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	int fd = (int)ctx->args[0];
	struct {
		__u16 family;
		__be16 port;
	} sa;

	if (common__is_agent(bpf_get_current_pid_tgid() >> 32))
		return 0;
	if (bpf_probe_read_user(&sa, sizeof(sa), (void *)ctx->args[1]))
		return 0;
	if (sa.family != LT_AF_INET && sa.family != LT_AF_INET6)
		return 0;
	if (!sock__inet_stream(fd))
		return 0;
	sock__track(fd, bpf_ntohs(sa.port));
	return 0;
}

static __always_inline int sock__accepted(long ret)
{
	struct sock *sk;
	int fd = (int)ret;

	if (ret < 0 || common__is_agent(bpf_get_current_pid_tgid() >> 32))
		return 0;
	sk = sock__inet_stream(fd);
	if (!sk)
		return 0;
	sock__track(fd, BPF_CORE_READ(sk, __sk_common.skc_num));
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int sys_exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return sock__accepted(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int sys_exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	return sock__accepted(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_close")
int sys_enter_close(struct trace_event_raw_sys_enter *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct lt_conn_key key = { .pid = pid, .ssl = LT_SOCK_KEY(ctx->args[0]) };
	struct lt_conn_state *st;

	st = bpf_map_lookup_elem(&sock_conns, &key);
	if (!st)
		return 0;
	/* ignored connections never reached user space: nothing to end there */
	if (!(st->flags & LT_CONN_F_IGNORE) || (st->flags & LT_CONN_F_FD_SENT))
		emit__close(key.ssl, st);
	bpf_map_delete_elem(&sock_conns, &key);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_write")
int sys_enter_write(struct trace_event_raw_sys_enter *ctx)
{
	return sock__enter((int)ctx->args[0], ctx->args[1], 0, LT_DIR_EGRESS);
}

SEC("tracepoint/syscalls/sys_enter_read")
int sys_enter_read(struct trace_event_raw_sys_enter *ctx)
{
	return sock__enter((int)ctx->args[0], ctx->args[1], 0, LT_DIR_INGRESS);
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int sys_enter_sendto(struct trace_event_raw_sys_enter *ctx)
{
	return sock__enter((int)ctx->args[0], ctx->args[1], 0, LT_DIR_EGRESS);
}

SEC("tracepoint/syscalls/sys_enter_recvfrom")
int sys_enter_recvfrom(struct trace_event_raw_sys_enter *ctx)
{
	return sock__enter((int)ctx->args[0], ctx->args[1], 0, LT_DIR_INGRESS);
}

SEC("tracepoint/syscalls/sys_enter_writev")
int sys_enter_writev(struct trace_event_raw_sys_enter *ctx)
{
	__u32 n = ctx->args[2] > 1024 ? 1024 : (__u32)ctx->args[2];

	/* iovcnt 0 would read as a flat buffer; such a call moves nothing */
	return n ? sock__enter((int)ctx->args[0], ctx->args[1], n, LT_DIR_EGRESS) : 0;
}

SEC("tracepoint/syscalls/sys_enter_readv")
int sys_enter_readv(struct trace_event_raw_sys_enter *ctx)
{
	__u32 n = ctx->args[2] > 1024 ? 1024 : (__u32)ctx->args[2];

	/* iovcnt 0 would read as a flat buffer; such a call moves nothing */
	return n ? sock__enter((int)ctx->args[0], ctx->args[1], n, LT_DIR_INGRESS) : 0;
}

/* sendmsg/recvmsg: the iovec array named by the user's msghdr. */
static __always_inline int sock__enter_msg(struct trace_event_raw_sys_enter *ctx, __u32 dir)
{
	struct user_msghdr mh;

	if (bpf_probe_read_user(&mh, sizeof(mh), (void *)ctx->args[1]) || mh.msg_iovlen == 0)
		return 0;
	return sock__enter((int)ctx->args[0], (__u64)mh.msg_iov,
			   mh.msg_iovlen > 1024 ? 1024 : (__u32)mh.msg_iovlen, dir);
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int sys_enter_sendmsg(struct trace_event_raw_sys_enter *ctx)
{
	return sock__enter_msg(ctx, LT_DIR_EGRESS);
}

SEC("tracepoint/syscalls/sys_enter_recvmsg")
int sys_enter_recvmsg(struct trace_event_raw_sys_enter *ctx)
{
	return sock__enter_msg(ctx, LT_DIR_INGRESS);
}

SEC("tracepoint/syscalls/sys_exit_write")
int sys_exit_write(struct trace_event_raw_sys_exit *ctx)
{
	return sock__exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_read")
int sys_exit_read(struct trace_event_raw_sys_exit *ctx)
{
	return sock__exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_sendto")
int sys_exit_sendto(struct trace_event_raw_sys_exit *ctx)
{
	return sock__exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_recvfrom")
int sys_exit_recvfrom(struct trace_event_raw_sys_exit *ctx)
{
	return sock__exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_writev")
int sys_exit_writev(struct trace_event_raw_sys_exit *ctx)
{
	return sock__exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_readv")
int sys_exit_readv(struct trace_event_raw_sys_exit *ctx)
{
	return sock__exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_sendmsg")
int sys_exit_sendmsg(struct trace_event_raw_sys_exit *ctx)
{
	return sock__exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_recvmsg")
int sys_exit_recvmsg(struct trace_event_raw_sys_exit *ctx)
{
	return sock__exit(ctx->ret);
}
