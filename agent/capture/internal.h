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

/* TLS stacks probed in a file (struct tls_target.stacks). */
#define ATTACH_OPENSSL (1u << 0) /* OpenSSL, LibreSSL, BoringSSL */
#define ATTACH_GNUTLS (1u << 1)
#define ATTACH_GO (1u << 2) /* Go's crypto/tls */

/* Every function the agent probes, looked up in one pass over a file's symbols. */
enum tls_func {
	FN_SSL_WRITE,
	FN_SSL_READ,
	FN_SSL_WRITE_EX,
	FN_SSL_READ_EX,
	FN_SSL_WRITE_EX2,
	FN_SSL_SET_FD,
	FN_SSL_CTRL,
	FN_SSL_FREE,
	FN_GNUTLS_SEND,
	FN_GNUTLS_RECV,
	FN_GNUTLS_DEINIT,
	FN_GNUTLS_SNI,
	FN_GO_WRITE,
	FN_GO_READ,
	FN_GO_CLOSE,
	FN_COUNT
};

/* One file (library or executable) with TLS probes attached by inode. */
struct tls_target {
	uint64_t dev, ino; /* stat() encoding */
	int fd; /* O_PATH fd kept open: /proc/self/fd/N names the inode for the kernel */
	char desc[256]; /* path as first seen, for messages */
	unsigned stacks; /* ATTACH_* */
	struct bpf_link **links; /* one uprobe each (kernels without multi-uprobe links) */
	size_t n_links, cap_links;
	int *link_fds; /* multi-uprobe links: one per program */
	size_t n_link_fds, cap_link_fds;
	unsigned n_ret_insn, n_uretprobe; /* data functions by kind of return probe */
	unsigned n_probes; /* uprobes and uretprobes in place, whatever the links */
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
	bool uprobe_multi; /* TLS programs loaded for multi-uprobe links */
};

/* Inspects the file open as fd (seen as desc in process pid); attaches the
 * TLS probes when it carries a stack llmtap hooks.  Returns 1 attached,
 * 0 not a TLS file or already handled, TARGETS_SCAN_LATER for an executable
 * without TLS symbols (a stripped stack may hide in it: the caller runs the
 * slow diagnostic scan once no thread is held), or a negative errno. */
#define TARGETS_SCAN_LATER 2
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

/* Tracks the plaintext connections on selected ports that were open before
 * the agent started.  Returns how many, or a negative errno. */
int sockets_adopt_existing(struct capture *c);

struct elf_func;

/*
 * Before the skeleton is loaded: when the kernel has multi-uprobe links
 * (6.6+), loads the TLS uprobe programs for them (one link per program and
 * file instead of one per probe) and sets c->uprobe_multi.
 */
void attach_prepare(struct capture *c);

/*
 * Looks up every tls_func of the ELF file open as fd into funcs[FN_COUNT]
 * and returns the ATTACH_* stacks it carries (0 for none or a non-ELF file).
 */
unsigned attach_lookup(int fd, struct elf_func *funcs);
/* Attaches the probes of t->stacks, with funcs from attach_lookup; 0 or
 * the first negative errno (what could be attached stays attached). */
int attach_target(struct capture *c, struct tls_target *t, int elf_fd,
		  const struct elf_func *funcs);

#endif
