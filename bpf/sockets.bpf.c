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
 *
 * Hooks: one program at every syscall's entry and one at its exit
 * (tp_btf sys_enter/sys_exit), dispatching on the syscall number.
 */
#include "emit.bpf.h"
#include "file_event.bpf.h"

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

/* connect(fd, addr, len): a TCP/IP connection to addr's port. */
static __always_inline int sock__connect(int fd, __u64 addr)
{
	struct {
		__u16 family;
		__be16 port;
	} sa;

	if (common__is_agent(bpf_get_current_pid_tgid() >> 32))
		return 0;
	if (bpf_probe_read_user(&sa, sizeof(sa), (void *)addr))
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

/* close(fd): the end of a tracked connection. */
static __always_inline int sock__close(__u32 fd)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct lt_conn_key key = { .pid = pid, .ssl = LT_SOCK_KEY(fd) };
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

/* readv/writev: iovcnt 0 would read as a flat buffer; such a call moves nothing. */
static __always_inline int sock__enter_vec(int fd, __u64 iov, __u64 iovcnt, __u32 dir)
{
	__u32 n = iovcnt > 1024 ? 1024 : (__u32)iovcnt;

	return n ? sock__enter(fd, iov, n, dir) : 0;
}

/* sendmsg/recvmsg: the iovec array named by the user's msghdr. */
static __always_inline int sock__enter_msg(int fd, __u64 msg, __u32 dir)
{
	struct user_msghdr mh;

	if (bpf_probe_read_user(&mh, sizeof(mh), (void *)msg) || mh.msg_iovlen == 0)
		return 0;
	return sock__enter(fd, (__u64)mh.msg_iov,
			   mh.msg_iovlen > 1024 ? 1024 : (__u32)mh.msg_iovlen, dir);
}

/*
 * Two programs on the raw syscall tracepoints, BTF-typed, instead of one
 * per syscall on the perf-event tracepoints: those copy every argument into
 * a record before the program runs, and each is a further probe on every
 * syscall; they also need tracefs.  Any other syscall leaves after a mask
 * test, without a map lookup.  Syscall numbers are x86-64's.
 */
#ifndef __TARGET_ARCH_x86
#error "bpf/sockets.bpf.c dispatches on x86-64 syscall numbers"
#endif
#define LT_NR_read 0
#define LT_NR_mmap 9
#define LT_NR_write 1
#define LT_NR_close 3
#define LT_NR_readv 19
#define LT_NR_writev 20
#define LT_NR_connect 42
#define LT_NR_accept 43
#define LT_NR_sendto 44
#define LT_NR_recvfrom 45
#define LT_NR_sendmsg 46
#define LT_NR_recvmsg 47
#define LT_NR_accept4 288
#define LT_NR_BIT(nr) (1ull << LT_NR_##nr)
/* the read/write family: buffer saved at entry, copied at exit */
#define LT_NRS_DATA                                                                  \
	(LT_NR_BIT(read) | LT_NR_BIT(write) | LT_NR_BIT(readv) | LT_NR_BIT(writev) | \
	 LT_NR_BIT(sendto) | LT_NR_BIT(recvfrom) | LT_NR_BIT(sendmsg) | LT_NR_BIT(recvmsg))
#define LT_NRS_ENTER (LT_NRS_DATA | LT_NR_BIT(connect) | LT_NR_BIT(close) | LT_NR_BIT(mmap))
#define LT_NRS_EXIT (LT_NRS_DATA | LT_NR_BIT(accept)) /* and accept4, above 63 */

#define LT_TS_COMPAT 0x0002 /* thread_info.status: an ia32 syscall is running */

/* An ia32 syscall (its numbers and registers differ): the syscall
 * tracepoints skip those (ARCH_TRACE_IGNORE_COMPAT_SYSCALLS), so do we. */
static __always_inline int sock__compat_syscall(void)
{
	struct task_struct *task = bpf_get_current_task_btf();

	return task->thread_info.status & LT_TS_COMPAT;
}

/*
 * mmap(PROT_EXEC) of a file user space has not inspected yet: a library
 * that may carry TLS symbols.  Here rather than on the mmap syscall
 * tracepoint, which every syscall of every process would pay for.
 */
static __always_inline int sock__mmap(__u64 prot, int fd)
{
	if (!(prot & LT_PROT_EXEC) || fd < 0)
		return 0;
	if (common__is_agent(bpf_get_current_pid_tgid() >> 32))
		return 0;
	return sys__report_file(common__fd_file(fd), LT_EV_MMAP_EXEC, fd, NULL);
}

/* Arguments 1-3 are di, si, dx (the syscall ABI: then r10, r8, r9). */
SEC("tp_btf/sys_enter")
int BPF_PROG(sock_sys_enter, struct pt_regs *regs, long id)
{
	if ((__u64)id > 63 || !((1ull << id) & LT_NRS_ENTER))
		return 0;
	if (sock__compat_syscall())
		return 0;
	switch (id) {
	case LT_NR_read:
	case LT_NR_recvfrom:
		return sock__enter((int)regs->di, regs->si, 0, LT_DIR_INGRESS);
	case LT_NR_write:
	case LT_NR_sendto:
		return sock__enter((int)regs->di, regs->si, 0, LT_DIR_EGRESS);
	case LT_NR_readv:
		return sock__enter_vec((int)regs->di, regs->si, regs->dx, LT_DIR_INGRESS);
	case LT_NR_writev:
		return sock__enter_vec((int)regs->di, regs->si, regs->dx, LT_DIR_EGRESS);
	case LT_NR_recvmsg:
		return sock__enter_msg((int)regs->di, regs->si, LT_DIR_INGRESS);
	case LT_NR_sendmsg:
		return sock__enter_msg((int)regs->di, regs->si, LT_DIR_EGRESS);
	case LT_NR_connect:
		return sock_track ? sock__connect((int)regs->di, regs->si) : 0;
	case LT_NR_close:
		return sock_track ? sock__close((__u32)regs->di) : 0;
	case LT_NR_mmap:
		return sock__mmap((__u64)regs->dx, (int)regs->r8);
	default:
		return 0;
	}
}

/* Not attached without plaintext capture (sock_track 0): only the entry
 * notes the fd of TLS calls then. */
SEC("tp_btf/sys_exit")
int BPF_PROG(sock_sys_exit, struct pt_regs *regs, long ret)
{
	long id = regs->orig_ax;

	if (id == LT_NR_accept4)
		return sock__compat_syscall() ? 0 : sock__accepted(ret);
	if ((__u64)id > 63 || !((1ull << id) & LT_NRS_EXIT))
		return 0;
	if (sock__compat_syscall())
		return 0;
	if (id == LT_NR_accept)
		return sock__accepted(ret);
	return sock__exit(ret);
}
