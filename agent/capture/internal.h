/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* State shared by the files of agent/capture/. Not for other modules. */
#ifndef LLMTAP_CAPTURE_INTERNAL_H
#define LLMTAP_CAPTURE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "capture.h"

struct llmtap_bpf;
struct ring_buffer;
struct bpf_link;

/* TLS stacks a file may carry (struct tls_target.stacks). */
#define TLS_STACK_OPENSSL (1u << 0) /* OpenSSL, LibreSSL, BoringSSL */
#define TLS_STACK_GNUTLS (1u << 1)
#define TLS_STACK_GO (1u << 2) /* Go's crypto/tls */

/* Every function the agent probes, looked up in one pass over a file's symbols. */
enum tls_func {
	TLS_F_SSL_WRITE,
	TLS_F_SSL_READ,
	TLS_F_SSL_WRITE_EX,
	TLS_F_SSL_READ_EX,
	TLS_F_SSL_WRITE_EX2,
	TLS_F_SSL_SET_FD,
	TLS_F_SSL_CTRL,
	TLS_F_SSL_FREE,
	TLS_F_GNUTLS_SEND,
	TLS_F_GNUTLS_RECV,
	TLS_F_GNUTLS_DEINIT,
	TLS_F_GNUTLS_SNI,
	TLS_F_GO_WRITE,
	TLS_F_GO_READ,
	TLS_F_GO_CLOSE,
	TLS_F_COUNT
};

/* One file (library or executable) with TLS probes attached by inode. */
struct tls_target {
	uint64_t dev, ino; /* stat() encoding */
	int fd; /* O_PATH fd kept open: /proc/self/fd/N names the inode for the kernel */
	char desc[256]; /* path as first seen, for messages */
	unsigned stacks; /* TLS_STACK_* */
	struct bpf_link **links;
	size_t n_links, cap_links;
	unsigned n_ret_insn, n_uretprobe;
};

/* Files inspected (with or without TLS symbols), so each is read once:
 * an open-addressing set of (dev, ino).  Bounded: when full it is cleared
 * (counted), and the kernel's `known_files` LRU still filters repeats. */
#define SEEN_SLOTS 131072 /* power of two, at most half full */
#define SEEN_MAX (SEEN_SLOTS / 2)
/* Files with TLS probes; past this, new ones are reported and not probed. */
#define TARGETS_MAX 1024

struct seen_file {
	uint64_t dev, ino; /* ino 0 = empty slot */
};

struct capture {
	struct llmtap_bpf *skel;
	struct ring_buffer *rb_data; /* polled by the caller's thread */
	struct ring_buffer *rb_ctl; /* polled by the attach thread */
	struct bpf_link *static_links[32]; /* syscall and process programs */
	size_t n_static_links;
	pthread_t attach_thread;
	bool attach_thread_started;
	atomic_bool stop;
	/* attach-thread counters, read by the main thread */
	atomic_ulong holds, hold_failures, files_inspected;
	atomic_size_t n_targets_pub;
	capture_event_cb cb;
	void *cb_ctx;
	struct capture_opts opts;
	struct tls_target *targets;
	size_t n_targets, cap_targets;
	struct seen_file *seen; /* SEEN_SLOTS entries */
	size_t n_seen;
	atomic_ulong seen_resets, targets_refused;
	int ncpus;
};

/* Inspects the file open as fd (seen as desc in process pid); attaches the
 * TLS probes when it carries OpenSSL-family symbols.  Returns 1 attached,
 * 0 not a TLS file or already handled, negative errno. */
int targets_inspect_fd(struct capture *c, int fd, const char *desc);
/* Inspects the TLS libraries the dynamic loader's cache names (path is
 * normally /etc/ld.so.cache). Returns how many entries matched or -errno. */
int targets_scan_ld_cache(struct capture *c, const char *path);
/* Inspects every executable file mapped by every process now running. */
int targets_scan_proc(struct capture *c);
/* Handles an exec or mmap event from the kernel. */
int targets_on_file_event(struct capture *c, const struct lt_file_event *ev);
/* Marks (dev, ino) inspected in user space and in the kernel's filter. */
void targets_mark_seen(struct capture *c, uint64_t dev, uint64_t ino);
bool targets_seen(const struct capture *c, uint64_t dev, uint64_t ino);
void targets_free(struct capture *c);

struct elf_func;

/*
 * Looks up every tls_func of the ELF file open as fd into funcs[TLS_F_COUNT]
 * and returns the TLS_STACK_* it carries (0 for none or a non-ELF file).
 */
unsigned attach_lookup(int fd, struct elf_func *funcs);
/* Attaches the probes of t->stacks, with funcs from attach_lookup; 0 or
 * the first negative errno (what could be attached stays attached). */
int attach_target(struct capture *c, struct tls_target *t, int elf_fd,
		  const struct elf_func *funcs);

#endif
