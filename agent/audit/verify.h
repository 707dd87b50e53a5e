/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Offline verification of a record chain (docs/audit.md): lines in the
 * order given (files rotated, plain or gzip), each checked against the one
 * before it (stream, seq + 1, prev = SHA-256 of the previous line) and
 * every checkpoint against the RFC 6962 tree of the lines before it and
 * the trusted key.  Reports where the chain first breaks (the seq) and
 * why, explicit gaps, unexplained jumps, the unsealed tail and time going
 * backwards.  Memory is bounded: one line (<= AUDIT_VERIFY_LINE_MAX) plus
 * O(log n) state and capped issue lists.
 */
#ifndef LLMTAP_AUDIT_VERIFY_H
#define LLMTAP_AUDIT_VERIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "audit/keys.h"

#define AUDIT_VERIFY_LINE_MAX (16u << 20)

/* exit statuses of `llmtap verify` */
enum audit_verdict {
	AUDIT_INTACT = 0,
	AUDIT_TAMPERED = 1,
	AUDIT_INCOMPLETE = 2,
	AUDIT_USAGE = 3,
};

struct audit_verify_opts {
	/* trusted key (borrowed); NULL: the key the log's agent_start names,
	 * which proves nothing against whoever could rewrite the log */
	struct audit_key *key;
	/* key came without a name (PEM): take the origin each agent_start names */
	bool key_name_from_log;
	uint64_t time_tolerance_ns; /* 0: 300 s */
};

struct audit_verifier;

int audit_verifier_new(const struct audit_verify_opts *o, struct audit_verifier **out);
void audit_verifier_free(struct audit_verifier *v);
/* Names the file the next lines come from (for the report). */
void audit_verifier_begin_file(struct audit_verifier *v, const char *name);
/*
 * One line (len bytes, without its '\n'; any bytes).  torn: the input's
 * last line, which had no newline (a write cut short).
 */
void audit_verifier_line(struct audit_verifier *v, const char *line, size_t len, bool torn);
/* Feeds a whole file (plain or gzip; "-" is stdin). 0 or -errno. */
int audit_verifier_file(struct audit_verifier *v, const char *path);
/* Ends the input; returns the verdict (AUDIT_INTACT, _TAMPERED, _INCOMPLETE). */
int audit_verifier_finish(struct audit_verifier *v);
/* The evidence report (new reference), after finish. */
json_t *audit_verifier_report(const struct audit_verifier *v);
/* A human-readable report, after finish. */
void audit_verifier_print(const struct audit_verifier *v, FILE *out);
/* The seq where the chain first breaks (0: none), after finish. */
uint64_t audit_verifier_break_seq(const struct audit_verifier *v);

/*
 * Reads a file line by line (plain or gzip through zlib), calling fn for
 * each line (without '\n'); lines longer than max are passed truncated to
 * 0 bytes with too_long set.  Returns 0, -errno, or fn's non-zero return.
 */
typedef int (*audit_line_fn)(void *ctx, const char *line, size_t len, bool torn, bool too_long);
int audit_read_lines(const char *path, size_t max, audit_line_fn fn, void *ctx);

/* "2026-01-02T03:04:05.123Z", "+01:00" offsets, or a bare date (00:00Z). */
int audit_parse_time(const char *s, uint64_t *wall_ns);

#endif
