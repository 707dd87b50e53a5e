/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A network output (type http or otlp): records go to its disk spool on the
 * writer's thread (never a network call there), and one shipper thread per
 * output reads batches from the spool, POSTs them with libcurl (one kept
 * handle: connection reuse), and acknowledges them on a 2xx.
 *
 * http: NDJSON (the sealed lines as they are), Content-Type
 * application/x-ndjson: Vector, Fluent Bit, Logstash HTTP inputs, ClickHouse
 * `INSERT ... FORMAT JSONEachRow`.  otlp: OTLP/HTTP JSON to <endpoint>/v1/logs.
 *
 * Retried with exponential backoff and full jitter (Retry-After honoured,
 * capped by retry_max_ms): connection and TLS errors, timeouts, 429, 502,
 * 503, 504 (http: every 5xx, but a batch answered 500/501/505+ ten times in
 * a row is quarantined).  413 halves the batch.  Any other status:
 * the batch is quarantined (<spool>/quarantine/, counted), never retried.
 * OTLP partial success: the rejected count is recorded, nothing retried.
 */
#ifndef LLMTAP_NET_OUT_H
#define LLMTAP_NET_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "spool/spool.h"

struct net_out;

struct net_out_stats {
	uint64_t records, bytes, batches; /* acknowledged by the endpoint */
	uint64_t retries;
	uint64_t fail_connect; /* no HTTP answer: refused, DNS, TLS, timeout, reset */
	uint64_t fail_4xx; /* quarantined */
	uint64_t fail_5xx; /* retried (5xx and 429) */
	uint64_t fail_other; /* other statuses quarantined (3xx, otlp's 500/501) */
	uint64_t quarantined_batches;
	uint64_t rejected; /* OTLP partialSuccess.rejectedLogRecords */
	uint64_t spool_errors; /* appends that failed on I/O */
	uint64_t last_success_ns; /* wall clock, 0: never */
	struct spool_stats spool;
};

/* Opens the spool <spool_dir> and starts the shipper.  0 or -errno;
 * err gets a message for the operator. */
int net_out_open(const struct output_config *c, const char *spool_dir, struct net_out **out,
		 char *err, size_t errlen);
/* Appends to the spool and wakes the shipper (urgent: send now, without
 * waiting for the batch interval).  Records the spool gave up are in *drop.
 * 0, -ENOSPC (refused by the policy), -errno. */
int net_out_write(struct net_out *n, const char *line, size_t len, uint64_t seq, bool urgent,
		  struct spool_drop *drop);
/* fsync of the spool. */
int net_out_flush(struct net_out *n);
/* Re-reads the token file before the next request (SIGHUP). */
void net_out_reload(struct net_out *n);
void net_out_get_stats(struct net_out *n, struct net_out_stats *st);
struct spool *net_out_spool(struct net_out *n);
/* false when the shipper is wedged (see outputs_healthy). */
bool net_out_healthy(struct net_out *n);
/*
 * Stops the shipper: it keeps sending what is pending for up to grace_ms
 * (stops at once if the endpoint is failing), an unfinished request is
 * aborted at the deadline.  Everything unacknowledged stays in the spool,
 * fsync'd.  Frees n.
 */
void net_out_close(struct net_out *n, uint64_t grace_ms);
/* The first half of net_out_close: fsync the spool, tell the shipper to
 * finish within grace_ms; returns at once (several outputs stop together). */
void net_out_begin_close(struct net_out *n, uint64_t grace_ms);

#endif
