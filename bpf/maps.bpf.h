/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Every map and every load-time knob of llmtap's BPF programs.  The objects
 * are linked by `bpftool gen object`, so each definition is __weak: all
 * objects see the same map, and the linker keeps one.
 */
#ifndef LLMTAP_MAPS_BPF_H
#define LLMTAP_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "llmtap_abi.h"

/* Knobs set by the loader in .rodata before load. */
const volatile __u32 abi_version __weak = LLMTAP_ABI_VERSION;
const volatile __u32 agent_tgid __weak = 0; /* never capture the agent itself */
const volatile __u32 call_cap __weak = LT_CALL_CAP_DEFAULT; /* bytes copied per call */
const volatile __u32 wakeup_bytes __weak = 1 << 20; /* force a wake-up past this backlog */
/* select TCP connections on other ports whose first bytes are an HTTP request */
const volatile __u32 sock_classify __weak = 1;
/* track TCP connections at connect/accept/close (0: --no-sockets, TLS fds only) */
const volatile __u32 sock_track __weak = 1;

/* Per-thread state of a TLS data call between entry and return. */
struct lt_call {
	__u64 ssl;
	__u64 buf;
	__u64 len_ptr; /* size_t * of the _ex variants, 0 otherwise */
	__u64 sp; /* stack pointer at entry: matches the return, detects nesting */
	__s32 fd; /* learnt from the read/write syscall nested in the call */
	__u32 probe;
};

/*
 * The TLS calls a thread is inside, innermost last.  More than one when a
 * call runs inside another: a callback of SSL_read that writes (node's
 * session-ticket callback), TLS inside a TLS tunnel.  A wrapper that calls
 * its sibling with the same buffer (SSL_write_ex -> SSL_write_ex2) is one
 * call, not two.
 */
#define LT_CALL_DEPTH 4
struct lt_call_stack {
	struct lt_call calls[LT_CALL_DEPTH];
	__u32 depth;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct lt_call_stack);
} active_calls SEC(".maps") __weak;

/*
 * A Go crypto/tls call between entry and return.  Goroutines migrate between
 * threads while blocked and their stacks move, so a call is keyed by its
 * goroutine (the g pointer) and the depth of its frame below the top of the
 * goroutine's stack, which survives a stack copy.
 */
struct lt_go_call_key {
	__u32 pid;
	__u32 pad;
	__u64 g;
	__u64 depth; /* g.stack.hi - sp at entry (and at RET) */
};

struct lt_go_call {
	__u64 conn; /* *tls.Conn */
	__u64 buf;
	__u32 probe;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct lt_go_call_key);
	__type(value, struct lt_go_call);
} go_calls SEC(".maps") __weak;

/* Connection state per (pid, SSL*); user space sets LT_CONN_F_IGNORE. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct lt_conn_key);
	__type(value, struct lt_conn_state);
} conns SEC(".maps") __weak;

/* Plaintext TCP connections per (pid, LT_SOCK_KEY(fd)), created at connect
 * and accept; user space sets LT_CONN_F_IGNORE.  Separate from `conns` so a
 * busy server's sockets never evict TLS connections. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct lt_conn_key);
	__type(value, struct lt_conn_state);
} sock_conns SEC(".maps") __weak;

/* Ports (host order) whose connections are captured without classification. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LT_SOCK_PORTS_MAX);
	__type(key, __u16);
	__type(value, __u8);
} sock_ports SEC(".maps") __weak;

/* A socket read/write in flight: saved at syscall entry, copied at exit. */
struct lt_sock_call {
	__u64 buf; /* flat buffer, or the struct iovec array when iovcnt > 0 */
	__u32 iovcnt;
	__s32 fd;
	__u32 dir;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct lt_sock_call);
} sock_calls SEC(".maps") __weak;

/* Files user space has already inspected for TLS symbols. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct lt_file_key);
	__type(value, __u8);
} known_files SEC(".maps") __weak;

/* Payload and connection events, in order per connection. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} events SEC(".maps") __weak;

/* Exec / executable-mmap events: small, woken at once so attach is fast. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} ctl_events SEC(".maps") __weak;

/* Scratch space for building one data event: too large for the stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lt_data_event);
} data_scratch SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lt_conn_info_event);
} info_scratch SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LT_PROBE_MAX);
	__type(key, __u32);
	__type(value, struct lt_probe_stats);
} probe_stats SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LT_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps") __weak;

/* Source of connection generations (one slot, atomically incremented). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} conn_gen_seq SEC(".maps") __weak;

#endif
