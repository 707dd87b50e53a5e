/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Capture: the BPF skeleton's lifecycle, discovery of TLS libraries and the
 * ring-buffer loop.  Data and connection events are handed to the caller's
 * callback in ring order (which is per-connection order).
 */
#ifndef LLMTAP_CAPTURE_H
#define LLMTAP_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmtap_abi.h"

enum capture_ret_mode {
	CAPTURE_RET_AUTO = 0, /* RET-instruction uprobes where the code allows, else uretprobe
			       * (main_run.c maps "auto" to URETPROBE on kernel 6.14+) */
	CAPTURE_RET_URETPROBE,
	CAPTURE_RET_INSN,
};

struct capture_opts {
	uint32_t call_cap; /* bytes copied per TLS call (LT_CALL_CAP_DEFAULT) */
	uint32_t ringbuf_bytes; /* data ring size, power of two */
	enum capture_ret_mode ret_mode;
	bool no_hold; /* never hold a thread while its new TLS library is probed */
	bool no_sockets; /* no plaintext socket capture (TLS only) */
	bool no_sock_classify; /* plaintext: only the ports below, no first-bytes selection */
	uint16_t sock_ports[LT_SOCK_PORTS_MAX]; /* server ports always captured */
	size_t n_sock_ports;
};

struct capture_stats {
	unsigned long holds, hold_failures, files_inspected, seen_resets, targets_refused;
};

/* Called for every event of the data ring and every exec event. Returning
 * non-zero stops the current poll and is returned by capture_poll(). */
typedef int (*capture_event_cb)(void *ctx, const void *data, size_t size);

struct capture;

/*
 * Checks privileges, loads and attaches the BPF programs, attaches to every
 * TLS library found on the host.  Returns 0, -EPERM when capabilities are
 * missing (the message names them), or another negative errno.
 */
int capture_open(const struct capture_opts *opts, capture_event_cb cb, void *cb_ctx,
		 struct capture **out);
/* Waits up to timeout_ms for events and handles them. Returns >= 0 or negative errno. */
int capture_poll(struct capture *c, int timeout_ms);
/* Marks a connection as not worth copying; the kernel then only counts its bytes. */
int capture_set_ignore(struct capture *c, uint32_t pid, uint64_t ssl, uint64_t gen);
/* Sums the per-CPU counters: ps[LT_PROBE_MAX], cnt[LT_CNT_MAX]. */
int capture_read_stats(struct capture *c, struct lt_probe_stats *ps, uint64_t *cnt);
/* Counters of the attach thread. */
void capture_get_stats(struct capture *c, struct capture_stats *out);
/* Number of files with attached TLS probes. */
size_t capture_n_targets(const struct capture *c);
void capture_close(struct capture *c);

/* Missing capabilities as text ("CAP_BPF CAP_PERFMON"); empty when all are held. */
void capture_missing_caps(char *out, size_t out_size);

#endif
