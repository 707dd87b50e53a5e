/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Helpers shared by llmtap's BPF programs (BPF only). */
#ifndef LLMTAP_COMMON_BPF_H
#define LLMTAP_COMMON_BPF_H

#include "maps.bpf.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>

#ifndef barrier_var
#define barrier_var(var) asm volatile("" : "+r"(var))
#endif

#define LT_S_IFMT 00170000
#define LT_S_IFSOCK 0140000

static __always_inline int common__is_agent(__u32 tgid)
{
	return tgid == agent_tgid;
}

static __always_inline void common__count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		*v += 1;
}

static __always_inline struct lt_probe_stats *common__probe_stats(__u32 probe)
{
	return bpf_map_lookup_elem(&probe_stats, &probe);
}

static __always_inline void common__fill_hdr(struct lt_event_hdr *h, __u16 type, __u32 size)
{
	__u64 id = bpf_get_current_pid_tgid();

	h->type = type;
	h->flags = 0;
	h->size = size;
	h->ts_ns = bpf_ktime_get_ns();
	h->pid = id >> 32;
	h->tid = (__u32)id;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

/* The current task's struct file for fd, or NULL. */
static __always_inline struct file *common__fd_file(int fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt;
	struct file **fds;
	struct file *f = NULL;

	if (fd < 0)
		return NULL;
	fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]))
		return NULL;
	return f;
}

/* Next connection generation: unique for the lifetime of the loaded object. */
static __always_inline __u64 common__next_gen(void)
{
	__u32 zero = 0;
	__u64 *seq = bpf_map_lookup_elem(&conn_gen_seq, &zero);

	if (!seq)
		return bpf_ktime_get_ns();
	return __sync_fetch_and_add(seq, 1) + 1;
}

/*
 * Fills family/addresses/ports of a connection-info event from the socket
 * behind fd.  Leaves family 0 when fd is not an INET socket.
 */
static __always_inline void common__sock_addrs(int fd, struct lt_conn_info_event *ev)
{
	struct file *f = common__fd_file(fd);
	struct socket *sock;
	struct sock *sk;
	__u16 family;
	umode_t mode;

	ev->family = 0;
	if (!f)
		return;
	mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & LT_S_IFMT) != LT_S_IFSOCK)
		return;
	sock = BPF_CORE_READ(f, private_data);
	if (!sock)
		return;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family == LT_AF_INET) {
		BPF_CORE_READ_INTO(&ev->local_addr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO(&ev->peer_addr, sk, __sk_common.skc_daddr);
	} else if (family == LT_AF_INET6) {
		BPF_CORE_READ_INTO(&ev->local_addr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&ev->peer_addr, sk, __sk_common.skc_v6_daddr);
	} else {
		return;
	}
	ev->family = family;
	ev->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	ev->peer_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
}

/* Tells user space the socket fd (and its addresses) of a connection. */
static __always_inline void common__emit_fd_info(__u64 ssl, __u64 gen, int fd)
{
	__u32 zero = 0;
	struct lt_conn_info_event *ev = bpf_map_lookup_elem(&info_scratch, &zero);

	if (!ev)
		return;
	__builtin_memset(ev, 0, sizeof(*ev));
	common__fill_hdr(&ev->hdr, LT_EV_CONN_INFO, sizeof(*ev));
	ev->ssl = ssl;
	ev->conn_gen = gen;
	ev->fd = fd;
	ev->what = LT_INFO_FD;
	common__sock_addrs(fd, ev);
	if (bpf_ringbuf_output(&events, ev, sizeof(*ev), 0))
		common__count(LT_CNT_CONTROL_DROPS);
}

#endif
