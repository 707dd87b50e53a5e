/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The tamper-evident record chain (docs/audit.md).  Every record written
 * gets three top-level fields before it is serialised, once:
 *   "stream": 32 hex digits, random, created with the state;
 *   "seq":    1, 2, 3, ... per stream, continued across restarts;
 *   "prev":   hex SHA-256 of the previous record's line (its exact bytes,
 *             without the newline); 64 zeros for seq 1.
 * Each line is also a leaf of an RFC 6962 Merkle tree; "llmtap.checkpoint"
 * records carry the signed C2SP checkpoint of the tree over every record
 * before them.  Lifecycle and loss are records of their own
 * ("llmtap.agent_start", "llmtap.agent_stop", "llmtap.config_change",
 * "llmtap.gap", "llmtap.health", "llmtap.checkpoint").
 *
 * Lines reach the outputs through one callback; the chain never
 * re-serialises a sealed record.  The head (stream, seq, last hash, compact
 * range, ...) is persisted in <state_dir>/chain.json by audit_chain_sync.
 *
 * Use, in the agent:
 *   audit_chain_open(&opts, &chain)        key + state (errors in opts.err)
 *   audit_chain_recover(chain, files, n)   optional: adopt records written
 *                                          after the last sync (crash)
 *   audit_chain_start(chain)               agent_start [+ gap] + checkpoint
 *   loop: audit_chain_record(chain, rec) for each record,
 *         audit_chain_tick(chain, now, NULL) each pass,
 *         audit_chain_sync(chain) once the outputs are flushed;
 *         audit_chain_gap(...), audit_chain_config_change(...) as they occur
 *   audit_chain_stop(chain, "SIGTERM")     agent_stop + checkpoint + sync
 *   audit_chain_free(chain)
 * Not thread-safe: one thread owns the chain.
 */
#ifndef LLMTAP_AUDIT_CHAIN_H
#define LLMTAP_AUDIT_CHAIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/keys.h"
#include "audit/merkle.h"

#define AUDIT_STATE_FILE "chain.json"
#define AUDIT_STREAM_HEX 32

#define AUDIT_EV_START "llmtap.agent_start"
#define AUDIT_EV_STOP "llmtap.agent_stop"
#define AUDIT_EV_CONFIG "llmtap.config_change"
#define AUDIT_EV_GAP "llmtap.gap"
#define AUDIT_EV_HEALTH "llmtap.health"
#define AUDIT_EV_CHECKPOINT "llmtap.checkpoint"

/* Gap reasons the agent uses (any string is accepted). */
#define AUDIT_GAP_UNCLEAN "unclean_shutdown"
#define AUDIT_GAP_RINGBUF "ringbuf_loss"
#define AUDIT_GAP_TRUNCATION "truncation"
#define AUDIT_GAP_SPOOL "spool_overflow"

/*
 * Called with every sealed line (len bytes, ending in '\n'; valid during
 * the call only).  urgent: a checkpoint or gap, to push to network outputs
 * now.  A negative return is counted (write_failures) and returned by the
 * call that sealed the line; the chain itself has moved on.
 */
typedef int (*audit_write_fn)(void *ctx, const char *line, size_t len, uint64_t seq, bool urgent);

struct audit_chain_opts {
	const char *state_dir; /* required; created 0700 if missing */
	const char *origin; /* checkpoint origin = key name; NULL: the one in the
			     * state, else "llmtap/<hostname>" */
	uint64_t checkpoint_records; /* 0: 1000 */
	uint64_t checkpoint_interval_ns; /* when records came: 0: 60 s */
	uint64_t heartbeat_interval_ns; /* when idle: 0: 300 s */
	uint64_t health_interval_ns; /* 0: no health records */
	uint8_t config_sha256[32];
	uint8_t ruleset_sha256[32];
	audit_write_fn write; /* required */
	void *write_ctx;
	char *err; /* optional: why audit_chain_open failed */
	size_t err_size;
};

struct audit_chain_counters {
	uint64_t records_sealed; /* every record, lifecycle included */
	uint64_t checkpoints;
	uint64_t gaps;
	uint64_t syncs;
	uint64_t sync_failures;
	uint64_t write_failures;
	uint64_t recovered; /* records adopted by audit_chain_recover */
};

struct audit_chain;

/*
 * Loads (or creates, first start) the signing key and the chain state.
 * Returns 0, -EPERM (key or state dir with unsafe ownership or mode),
 * -EBADMSG (chain.json unreadable as a chain state: the message says so;
 * the operator moves it aside to start a new stream), -EINVAL (options),
 * or another negative errno.  No record is written yet.
 */
int audit_chain_open(const struct audit_chain_opts *o, struct audit_chain **out);

/*
 * Before audit_chain_start: reads the tail (last 8 MiB) of each journal
 * file (an output's current JSON Lines file, a spool segment: exactly the
 * sealed lines) and, if lines continue the persisted head (same stream,
 * seq + 1, prev matching), adopts the longest such continuation as the
 * head, so the new run extends the chain rather than forking it.  Missing
 * files are skipped; a torn last line is ignored.  Returns the number of
 * records adopted, -EBUSY after start, or a negative errno.
 */
int audit_chain_recover(struct audit_chain *c, const char *const *paths, size_t n);

/*
 * The first records of a run: agent_start, a "llmtap.gap" record
 * ("unclean_shutdown") when the previous run did not stop cleanly, and a
 * checkpoint.  The state is synced, not clean, before anything is written.
 */
int audit_chain_start(struct audit_chain *c);

/*
 * Seals rec (a JSON object; the caller keeps its reference: "stream",
 * "seq", "prev" and, if absent, "id" are set on it) and writes its line;
 * emits a checkpoint after every checkpoint_records records.  Returns 0,
 * -EINVAL (not an object), -EALREADY (not started or already stopped), the
 * write callback's error, or -ENOMEM.
 */
int audit_chain_record(struct audit_chain *c, json_t *rec);

/*
 * A "llmtap.gap" record: reason (AUDIT_GAP_*) and detail (borrowed, may be
 * NULL: counts, ranges, e.g. {"lost_events":12}) under
 * attributes."llmtap.gap.reason" / ."llmtap.gap.detail".
 */
int audit_chain_gap(struct audit_chain *c, const char *reason, json_t *detail);
/* A "llmtap.config_change" record with the new and previous SHA-256s. */
int audit_chain_config_change(struct audit_chain *c, const uint8_t config_sha256[32],
			      const uint8_t ruleset_sha256[32]);

/* True when a health record is due at now (to build its attributes only then). */
bool audit_chain_health_due(const struct audit_chain *c, uint64_t now_mono_ns);
/*
 * Emits what is due at now (CLOCK_MONOTONIC ns, util/clock.h
 * clock_mono_now()): a health record (health: borrowed attributes merged
 * into it, or NULL), a checkpoint (records came and checkpoint_interval
 * passed) or a heartbeat checkpoint (heartbeat_interval passed).
 */
int audit_chain_tick(struct audit_chain *c, uint64_t now_mono_ns, json_t *health);
/* Emits a checkpoint now (e.g. before a planned rotation). */
int audit_chain_checkpoint(struct audit_chain *c);

/*
 * Persists the head in chain.json (temporary file, fsync, rename, fsync of
 * the directory); nothing is written when the head did not move.  Call it
 * once the outputs have the lines (end of each loop pass).
 */
int audit_chain_sync(struct audit_chain *c);

/* agent_stop (reason, may be NULL), a final checkpoint, then a sync that
 * marks the state clean.  Records after it are refused (-EALREADY). */
int audit_chain_stop(struct audit_chain *c, const char *reason);
void audit_chain_free(struct audit_chain *c);

const struct audit_chain_counters *audit_chain_counters(const struct audit_chain *c);
uint64_t audit_chain_seq(const struct audit_chain *c); /* last sealed seq */
const char *audit_chain_stream(const struct audit_chain *c);
const struct audit_key *audit_chain_key(const struct audit_chain *c);

/* SHA-256 of a file's content (config, rule files) for the options. */
int audit_sha256_file(const char *path, uint8_t out[32]);

#endif
