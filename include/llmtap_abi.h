/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel <-> user-space ABI of llmtap: the only header shared by the BPF
 * programs and the agent.  Fixed-width types only, explicit padding, and the
 * variable-length payload is always the last member so that a short event is
 * sent as offsetof(payload) + n bytes.  Bump LLMTAP_ABI_VERSION on any change;
 * the loader refuses an object whose .rodata version differs.
 */
#ifndef LLMTAP_ABI_H
#define LLMTAP_ABI_H

#ifdef __BPF__
/* vmlinux.h already provides __u8 .. __u64 */
#else
#include <linux/types.h>
#include <stddef.h>
#endif

#define LLMTAP_ABI_VERSION 2

#define LT_COMM_LEN 16
/* Payload bytes carried by one data event.  Power of two: BPF masks with it. */
#define LT_CHUNK_MAX 16384
/* Hard ceiling of the per-call capture limit (the default is 1 MiB). */
#define LT_CALL_CAP_MAX (64u << 20)
#define LT_CALL_CAP_DEFAULT (1u << 20)
#define LT_PATH_MAX 256
#define LT_SNI_MAX 128
#define LT_ARGS_MAX 1024
/* Exec events name the process's cgroup (v2) by its last LT_CGROUP_LEVELS
 * path components, each up to LT_CGROUP_NAME_MAX - 1 bytes: enough for
 * container runtimes' names (`cri-containerd-<64 hex>.scope` is 85) and for
 * the kubepods/<qos>/pod<uid>/<id> layout. */
#define LT_CGROUP_LEVELS 4
#define LT_CGROUP_NAME_MAX 128

/* struct lt_event_hdr.type */
#define LT_EV_DATA 1 /* plaintext chunk of one TLS read/write call */
#define LT_EV_CONN_CLOSE 2 /* SSL object freed: the stream ended */
#define LT_EV_CONN_INFO 3 /* fd, peer address or SNI learnt for a connection */
#define LT_EV_EXEC 4 /* a process exec'd a binary */
#define LT_EV_MMAP_EXEC 5 /* a file the agent has not inspected was mapped executable */
#define LT_EV_PROC_EXIT 6 /* a process (thread group) exited */

/* struct lt_data_event.dir: direction as seen by the traced process */
#define LT_DIR_EGRESS 0 /* SSL_write: bytes the process sent */
#define LT_DIR_INGRESS 1 /* SSL_read: bytes the process received */

/* Probe identities: index of the per-probe counters and lt_data_event.probe. */
#define LT_PROBE_SSL_WRITE 0
#define LT_PROBE_SSL_READ 1
#define LT_PROBE_SSL_WRITE_EX 2
#define LT_PROBE_SSL_READ_EX 3
#define LT_PROBE_SSL_WRITE_EX2 4
#define LT_PROBE_GNUTLS_SEND 5 /* gnutls_record_send */
#define LT_PROBE_GNUTLS_RECV 6 /* gnutls_record_recv */
#define LT_PROBE_GO_WRITE 7 /* crypto/tls.(*Conn).Write */
#define LT_PROBE_GO_READ 8 /* crypto/tls.(*Conn).Read */
#define LT_PROBE_SOCK_WRITE 9 /* plaintext socket: write, send*, writev */
#define LT_PROBE_SOCK_READ 10 /* plaintext socket: read, recv*, readv */
#define LT_PROBE_MAX 16

/*
 * Attach cookie of the TLS data probes: which function (LT_PROBE_*) in the
 * low byte, and whether the program runs at function entry or at a return.
 */
#define LT_COOKIE_PROBE_MASK 0xffu
#define LT_COOKIE_AT_RET_INSN (1u << 8) /* uprobe placed on a RET instruction */

/* struct lt_probe_stats: per probe, per CPU, summed by user space. */
struct lt_probe_stats {
	__u64 calls; /* data calls that returned > 0 bytes */
	__u64 bytes; /* bytes those calls moved */
	__u64 captured_bytes; /* bytes copied to the ring buffer */
	__u64 truncated_bytes; /* bytes beyond the per-call capture limit */
	__u64 ignored_bytes; /* bytes of connections user space marked ignore */
	__u64 ringbuf_drops; /* events lost because the ring buffer was full */
	__u64 read_errors; /* bpf_probe_read_user failures */
	__u64 nested_calls; /* calls inside an outer TLS call, skipped */
	__u64 unmatched_returns; /* returns without a saved entry */
};

/* Global (not per probe) counters, index of the `counters` per-CPU array. */
#define LT_CNT_EXEC_EVENTS 0
#define LT_CNT_MMAP_EVENTS 1
#define LT_CNT_CONTROL_DROPS 2 /* exec/mmap/close/info events lost */
#define LT_CNT_CONN_TABLE_FULL 3 /* conn map update failed */
#define LT_CNT_CALL_TABLE_FULL 4 /* per-thread call map update failed */
#define LT_CNT_SOCK_TABLE_FULL 5 /* sock_conns / sock_calls update failed */
#define LT_CNT_SOCK_SELECTED 6 /* TCP connections selected (port or first bytes) */
#define LT_CNT_SOCK_DECLINED 7 /* dropped at the first bytes: not an HTTP request, or TLS */
#define LT_CNT_MAX 16

/* Every event starts with this header. */
struct lt_event_hdr {
	__u16 type; /* LT_EV_* */
	__u16 flags;
	__u32 size; /* bytes of the whole event, header included */
	__u64 ts_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u32 pid; /* thread group id, init pid namespace */
	__u32 tid;
	char comm[LT_COMM_LEN];
};

/*
 * Connection identity: the SSL object of a process plus a generation that
 * changes whenever the kernel sees that address start a new connection
 * (after SSL_free), so a reused pointer is never mistaken for the old stream.
 */
struct lt_conn_key {
	__u32 pid;
	__u32 pad;
	__u64 ssl; /* SSL* in the traced process */
};

/*
 * A plaintext socket connection uses the same key with this bit set over the
 * fd in `ssl`: a user-space SSL* never has bit 63 set (canonical x86-64 and
 * arm64 user addresses are below 2^48), so the two kinds never collide.
 */
#define LT_SOCK_KEY_BIT (1ull << 63)
#define LT_SOCK_KEY(fd) (LT_SOCK_KEY_BIT | (__u32)(fd))

/* lt_data_event.hdr.flags */
#define LT_DATA_F_LAST_CHUNK (1u << 0) /* last chunk sent for this call */
#define LT_DATA_F_TRUNCATED (1u << 1) /* call longer than the capture limit */

struct lt_data_event {
	struct lt_event_hdr hdr;
	__u64 ssl;
	__u64 conn_gen;
	__u64 stream_off; /* offset of payload[0] in this direction's byte stream */
	__u32 call_len; /* bytes the whole call moved */
	__u32 chunk_off; /* offset of payload[0] within the call */
	__u32 len; /* payload bytes in this event */
	__s32 fd; /* socket fd if known, else -1 */
	__u8 dir; /* LT_DIR_* */
	__u8 probe; /* LT_PROBE_* */
	__u8 pad[6];
	__u8 payload[LT_CHUNK_MAX];
};

/* lt_conn_info_event.what */
#define LT_INFO_FD 1
#define LT_INFO_SNI 2

#define LT_AF_INET 2
#define LT_AF_INET6 10

struct lt_conn_info_event {
	struct lt_event_hdr hdr;
	__u64 ssl;
	__u64 conn_gen;
	__s32 fd;
	__u16 family; /* LT_AF_INET / LT_AF_INET6, 0 if not a socket */
	__u16 what; /* LT_INFO_* */
	__u8 local_addr[16]; /* IPv4 in the first 4 bytes, network order */
	__u8 peer_addr[16];
	__u16 local_port; /* host order */
	__u16 peer_port;
	__u32 pad;
	char sni[LT_SNI_MAX]; /* NUL-terminated, LT_INFO_SNI only */
};

struct lt_conn_close_event {
	struct lt_event_hdr hdr;
	__u64 ssl;
	__u64 conn_gen;
	__u64 bytes[2]; /* total bytes per direction seen by the kernel */
};

/* lt_file_event.hdr.flags */
#define LT_FILE_F_KNOWN (1u << 0) /* exec of a file already in `known_files` */

/* Exec of a binary, or executable mmap of a file not in `known_files`. */
struct lt_file_event {
	struct lt_event_hdr hdr;
	__u64 dev; /* the file's superblock dev (kernel encoding) */
	__u64 ino;
	__s32 fd; /* LT_EV_MMAP_EXEC: the mapped fd */
	__u32 uid; /* effective uid of the process */
	/* LT_EV_EXEC only (0 / "" for mmap): read at exec in the kernel, so a
	 * process that exits at once is still fully named */
	__u32 ppid; /* parent's thread group id */
	__u32 pad1;
	__u64 start_ns; /* process start, CLOCK_BOOTTIME ns (task->start_boottime) */
	/* the v2 cgroup's path components, leaf first; an empty name ends the
	 * path (the root), all non-empty means deeper than LT_CGROUP_LEVELS */
	char cgroup[LT_CGROUP_LEVELS][LT_CGROUP_NAME_MAX];
	/* LT_EV_EXEC: the path given to execve; LT_EV_MMAP_EXEC: the basename */
	char name[LT_PATH_MAX];
	/* LT_EV_EXEC: argv, NUL-separated, read at exec time so that a process
	 * that is gone before user space looks is still named */
	__u32 args_len;
	__u32 pad2;
	char args[LT_ARGS_MAX];
};

/* Ports whose TCP connections are always captured (`sock_ports` map), and
 * the most a user can configure. */
#define LT_SOCK_PORTS_MAX 64

/* Key of the `known_files` map: files user space has inspected. */
struct lt_file_key {
	__u64 dev;
	__u64 ino;
};

/* Value of the `conns` map; user space may set LT_CONN_F_IGNORE. */
#define LT_CONN_F_IGNORE (1u << 0) /* stop copying payloads (not LLM traffic) */
#define LT_CONN_F_FD_SENT (1u << 1)
/* sockets only: selected by its port (the `sock_ports` map) */
#define LT_CONN_F_SOCK_BY_PORT (1u << 2)
/* sockets only: not yet classified; the first bytes decide (HTTP request or not) */
#define LT_CONN_F_SOCK_PENDING (1u << 3)
/* sockets only: a TLS call used it, or it began with a TLS record: ciphertext */
#define LT_CONN_F_SOCK_TLS (1u << 4)

struct lt_conn_state {
	__u64 gen;
	__u64 pos[2]; /* bytes per direction so far, including uncopied ones */
	__s32 fd;
	__u32 flags;
};

#ifndef __BPF__
_Static_assert(sizeof(struct lt_event_hdr) == 40, "lt_event_hdr layout");
_Static_assert(offsetof(struct lt_data_event, payload) == 88, "lt_data_event layout");
_Static_assert(offsetof(struct lt_data_event, payload) % 8 == 0, "payload alignment");
_Static_assert((LT_CHUNK_MAX & (LT_CHUNK_MAX - 1)) == 0, "LT_CHUNK_MAX power of two");
_Static_assert(sizeof(struct lt_conn_info_event) == 40 + 8 + 8 + 8 + 32 + 8 + LT_SNI_MAX,
	       "lt_conn_info_event layout");
_Static_assert(sizeof(struct lt_conn_close_event) == 72, "lt_conn_close_event layout");
_Static_assert(sizeof(struct lt_file_event) == 40 + 24 + 16 +
						       LT_CGROUP_LEVELS * LT_CGROUP_NAME_MAX +
						       LT_PATH_MAX + 8 + LT_ARGS_MAX,
	       "lt_file_event layout");
_Static_assert(offsetof(struct lt_file_event, start_ns) % 8 == 0, "start_ns alignment");
_Static_assert(sizeof(struct lt_conn_key) == 16, "lt_conn_key layout");
_Static_assert(sizeof(struct lt_conn_state) == 32, "lt_conn_state layout");
_Static_assert(sizeof(struct lt_probe_stats) == 9 * 8, "lt_probe_stats layout");
#endif

#endif /* LLMTAP_ABI_H */
