/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * From kernel events to exchanges: validates each event, keeps the
 * connection table, puts each direction's bytes in order (a jump in the
 * stream offset is a gap of exactly that many bytes), and hands the bytes
 * to the HTTP layer.  Completed exchanges become records passed to emit().
 */
#ifndef LLMTAP_STREAM_H
#define LLMTAP_STREAM_H

#include <jansson.h>
#include <stdint.h>

#include "audit/record.h"
#include "llm/analyze.h"
#include "llm/classify.h"
#include "process/procinfo.h"
#include "proto/http1.h"
#include "redact/redact.h"
#include "rules/rules.h"
#include "stream/conn_table.h"
#include "stream/join.h"

struct stream_stats {
	uint64_t events, bad_events, data_bytes;
	uint64_t gaps, gap_bytes;
	uint64_t overlaps; /* bytes received twice (dropped) */
	uint64_t not_http, ignored_conns, records, incomplete_records;
	uint64_t llm_records, llm_decode_errors, content_decode_failures;
	uint64_t decoded_body_truncated; /* decompressed past the cap (a bomb, or just big) */
	uint64_t evicted_for_memory; /* connections dropped to stay within the budget */
	uint64_t orphan_responses; /* responses with no request to pair (start missed) */
	uint64_t pending_dropped; /* requests pipelined deeper than the pairing queue */
	uint64_t redaction_errors; /* records not emitted: redaction failed (ENOMEM) */
	size_t buffered, buffered_peak; /* heap bytes held by all connections */
};

struct stream_hooks {
	/* Receives each record; the callee takes no reference (decref'd after). */
	void (*emit)(json_t *rec, void *ctx);
	/* Tells the kernel to stop copying a connection. */
	void (*ignore)(const struct conn_key *key, void *ctx);
	void *ctx;
};

struct stream {
	struct conn_table conns;
	struct proc_cache procs;
	struct classifier classifier;
	struct http1_limits limits;
	struct stream_hooks hooks;
	struct stream_stats stats;
	struct join join;
	size_t max_buffered;
	struct llm_analyze_opts analyze;
	struct record_opts record;
	struct rules *rules; /* detection rules, may be NULL; not owned (the owner swaps it) */
	struct rules_stats rules_stats;
	struct redactor *redactor; /* NULL: records are not redacted (--no-redact); not owned */
};

struct stream_opts {
	size_t max_conns; /* 0: 16384 */
	size_t max_procs; /* process identities cached; 0: 4096 */
	size_t max_body_bytes;
	size_t max_buffered_bytes; /* all connections together; 0: 256 MiB */
	const struct classifier *classifier; /* NULL: the default table */
	const struct price_table *prices; /* NULL: no cost estimates */
	bool no_content; /* records carry metadata only */
	uint64_t join_wait_ns; /* how long a view waits for the other end's; 0: 1 s */
	struct rules *rules; /* detection rules (NULL: none); not owned */
	struct redactor *redactor; /* applied to every record before it leaves; not owned */
};

int stream_init(struct stream *s, const struct stream_opts *o, const struct stream_hooks *h);
/* Flushes every connection (records for what is pending) and frees all. */
void stream_destroy(struct stream *s);
/* Handles one raw ring-buffer event. Returns 0 (bad events are counted, not fatal). */
int stream_on_event(struct stream *s, const void *data, size_t size);
/* Expires connections idle for idle_ns (mono clock now). */
void stream_tick(struct stream *s, uint64_t now_ns, uint64_t idle_ns);
/* Emits the records held for a second view (join.h) whose wait is over;
 * call it often (each poll). */
void stream_expire_joins(struct stream *s, uint64_t now_ns);

#endif
