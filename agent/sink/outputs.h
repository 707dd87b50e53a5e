/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The agent's outputs, several at once (config `outputs:`): file, stdout,
 * http, otlp.  Every sealed line is handed to each of them by
 * outputs_write on the capture thread, which never waits on the network:
 * a network output appends to its disk spool (<state_dir>/spool/<name>/)
 * and wakes its shipper thread.  Files and spools are fsync'd by
 * outputs_flush per their policy.  Records a full spool gave up come back
 * from outputs_take_losses so that the chain can say so in a gap record.
 *
 * Threads: outputs_open/write/flush/reopen/journal_files/take_losses/close
 * from one thread (the agent's event loop); outputs_render_metrics and
 * outputs_get_stats from any thread.  Each file output has a maintenance
 * thread (gzip, retention), each network output a shipper thread.
 */
#ifndef LLMTAP_OUTPUTS_H
#define LLMTAP_OUTPUTS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "util/dynbuf.h"

#define OUTPUTS_PATH_MAX PATH_MAX
/* what shippers get at close to send what is pending */
#define OUTPUTS_CLOSE_GRACE_MS 2000

struct outputs;

struct output_loss {
	char output[CONFIG_NAME_MAX];
	uint64_t first_seq, last_seq, count;
	const char *reason; /* static: "spool_full" */
};

struct output_stats {
	const char *name; /* valid while the outputs are open */
	enum output_type type;
	uint64_t records, bytes; /* file/stdout: written; network: acknowledged */
	uint64_t batches, retries;
	uint64_t fail_connect, fail_4xx, fail_5xx, fail_other, write_errors;
	uint64_t quarantined, rejected, dropped;
	uint64_t spool_records, spool_bytes, spool_capacity, spool_corrupt;
	uint64_t spool_oldest_ns; /* wall clock; 0: empty */
	uint64_t last_success_ns; /* wall clock; 0: never */
	uint64_t rotations, fsync_errors;
};

/*
 * Opens cfg->outputs[] (spools under cfg->state_dir/spool/).  0, or a
 * negative errno with a message naming the output in err.  Nothing is left
 * open on failure.
 */
int outputs_open(const struct config *cfg, struct outputs **out, char *err, size_t errlen);
/*
 * Hands one sealed line (len bytes, with or without its '\n'; exactly one
 * '\n' is written after it) to every output.  urgent: a checkpoint, shipped
 * without waiting for the batch interval.  Returns 0, or the first error
 * of an output (the others still got the line); failures are counted.
 */
int outputs_write(struct outputs *o, const char *line, size_t len, uint64_t seq, bool urgent);
/* End of an event-loop pass: fsync files and spools per policy. */
int outputs_flush(struct outputs *o);
/* SIGHUP: reopen files (after an outside rotation), re-read token files. */
void outputs_reopen(struct outputs *o);
/*
 * The files whose tails hold the newest records: the current file of each
 * file output, the newest spool segment of each network output (crash
 * recovery of the chain).  paths[i] point into o, valid until the next call
 * or outputs_close.  Returns how many were set.
 */
size_t outputs_journal_files(struct outputs *o, const char **paths, size_t max);
/* Moves the pending losses into v (at most max).  Returns how many. */
size_t outputs_take_losses(struct outputs *o, struct output_loss *v, size_t max);
size_t outputs_count(const struct outputs *o);
int outputs_get_stats(struct outputs *o, size_t i, struct output_stats *st);
/*
 * Appends the llmtap_output_* and llmtap_spool_* metrics (Prometheus text)
 * to *text (malloc'd, *len bytes, NUL-terminated; *text may be NULL).
 * 0 or -ENOMEM (*text unchanged).
 */
int outputs_render_metrics(struct outputs *o, char **text, size_t *len);
/* The same into a bounded buffer. */
int outputs_render_metrics_buf(struct outputs *o, struct dynbuf *b);
/*
 * false when a shipper thread is wedged: not back in its loop for 5 s, or
 * a request running past its timeout + 5 s (feeds the systemd watchdog).
 */
bool outputs_healthy(struct outputs *o);
/*
 * SIGTERM: spools fsync'd, shippers get OUTPUTS_CLOSE_GRACE_MS to send what
 * is pending (less if their endpoint is failing), files fsync'd and closed.
 * NULL is fine.
 */
void outputs_close(struct outputs *o);

#endif
