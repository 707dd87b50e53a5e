/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The disk spool of one network output: the sealed lines, exactly as the
 * chain wrote them, in segment files seg-<first seq, 20 digits>.ndjson under
 * one directory (0700), and an acknowledgement cursor ("cursor": segment
 * name and byte offset of the first record not yet acknowledged) persisted
 * with fsync + rename.  Records leave the spool only when acknowledged, so
 * delivery is at-least-once: after a restart everything after the cursor is
 * read again.
 *
 * One writer (the capture thread: spool_append, spool_sync) and one reader
 * (the output's shipper thread: spool_read, spool_ack, spool_quarantine)
 * may run at once; a mutex guards the metadata, file I/O is done outside it
 * where it can take long.  Never logs.
 */
#ifndef LLMTAP_SPOOL_H
#define LLMTAP_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

struct spool;

struct spool_opts {
	uint64_t max_bytes; /* cap on the segment files together; 0: 1 GiB */
	uint64_t segment_bytes; /* 0: max_bytes / 8, within [256 B, 64 MiB] */
	enum spool_policy policy;
};

/* Records the spool gave up (the policy applied when full). */
struct spool_drop {
	uint64_t first_seq, last_seq, count;
};

struct spool_stats {
	uint64_t records, bytes; /* not yet acknowledged */
	uint64_t disk_bytes; /* segment files together (acked head included) */
	uint64_t segments;
	uint64_t oldest_ns; /* wall clock of the oldest segment with unacked records; 0: none */
	uint64_t corrupt; /* torn tails and non-JSON lines skipped */
	uint64_t appended, dropped, quarantined;
	uint64_t cursor_errors; /* failures to persist the cursor */
};

/* A position in the spool: segment generation (in-memory order) and offset. */
struct spool_pos {
	uint64_t gen, off;
};

/* What spool_read hands out: whole lines, each ending in '\n'. */
struct spool_batch {
	char *data;
	size_t len, alloc;
	size_t n; /* records */
	uint64_t first_seq, last_seq; /* when the lines name them */
	struct spool_pos end;
};

/*
 * Opens (creating with mode 0700) the spool directory dir, scans its
 * segments, truncates torn tails (counted in corrupt) and finds the
 * cursor.  0 or negative errno.
 */
int spool_open(const char *dir, const struct spool_opts *opts, struct spool **out);
void spool_close(struct spool *s);

/*
 * Appends one line (len bytes without its newline; the spool adds it).
 * When the cap is reached the policy applies: drop_oldest deletes the
 * oldest segments (whatever they held not yet acknowledged is reported in
 * *dropped); drop_newest refuses the line (-ENOSPC, *dropped names it).
 * A line larger than the cap is always refused.  0, -ENOSPC, or -errno on
 * I/O failure (the segment is cut back to its last whole line).
 */
int spool_append(struct spool *s, const char *line, size_t len, uint64_t seq,
		 struct spool_drop *dropped);
/* fdatasync of the segment being written when it changed. 0 or -errno. */
int spool_sync(struct spool *s);

/*
 * Reads the next batch after the cursor: at most max_records lines and
 * max_bytes bytes, but always at least one whole line when there is one.
 * b is reset first; b->n == 0: nothing pending.  0 or -errno.
 */
int spool_read(struct spool *s, size_t max_records, size_t max_bytes, struct spool_batch *b);
/* Moves the cursor to b->end (never backwards), persists it, deletes fully
 * acknowledged segments.  0 or -errno (the cursor still moved in memory). */
int spool_ack(struct spool *s, const struct spool_batch *b);
/* Copies b to <dir>/quarantine/ (0600, fsync'd), then acknowledges it. */
int spool_quarantine(struct spool *s, const struct spool_batch *b);
void spool_batch_free(struct spool_batch *b);

void spool_get_stats(struct spool *s, struct spool_stats *st);
/* Records pending (not acknowledged) and when the oldest of them was appended
 * in this process (CLOCK_MONOTONIC ns; 0 for records found at open). */
uint64_t spool_pending(struct spool *s, uint64_t *since_mono_ns);
/* Path of the newest segment (the one being written), "" when none. */
void spool_newest_path(struct spool *s, char *buf, size_t len);

/*
 * The value of the top-level "seq" key of a JSON object line, found without
 * parsing the whole line (nested objects and strings are skipped).  0, or
 * -ENOENT when there is none (or it is not an unsigned integer).
 */
int spool_line_seq(const char *line, size_t len, uint64_t *seq);

#endif
