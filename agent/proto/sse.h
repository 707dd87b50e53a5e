/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Server-Sent Events over a complete (or cut-off) body, per WHATWG HTML
 * "event stream interpretation": lines end in CRLF, LF or CR; a blank line
 * dispatches; "field: value" with one optional space removed; several
 * data lines join with "\n"; lines starting with ':' are comments.
 * Also newline-delimited JSON (Ollama), one value per line.
 */
#ifndef LLMTAP_SSE_H
#define LLMTAP_SSE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/dynbuf.h"

struct sse_iter {
	const char *buf;
	size_t len, pos;
	struct dynbuf data; /* the current event's joined data, capped */
	char event[64]; /* the current event's type ("" when not given) */
	char id[128];
};

struct sse_event {
	const char *event; /* "" when the stream gave no event type (means "message") */
	const char *data; /* joined data lines, NUL-terminated */
	size_t data_len;
	const char *id;
	size_t end_off; /* body offset just past the blank line that dispatched it */
	bool truncated; /* data longer than the cap */
	bool complete; /* false for an event cut off by the end of the buffer */
};

/* max_data caps one event's data. */
void sse_iter_init(struct sse_iter *it, const char *buf, size_t len, size_t max_data);
void sse_iter_free(struct sse_iter *it);
/*
 * Next event with data (events without a data line are skipped, as the spec
 * says).  Returns 1 with ev filled (valid until the next call), 0 at the end
 * of the buffer, -ENOMEM.  An event not terminated by a blank line before the
 * end is returned once with complete=false.
 */
int sse_next(struct sse_iter *it, struct sse_event *ev);

struct ndjson_iter {
	const char *buf;
	size_t len, pos;
};

/* Next non-blank line: sets *line and *n (without the newline) and *end_off.
 * Returns 1, or 0 at the end; *complete is false for a last line with no newline. */
int ndjson_next(struct ndjson_iter *it, const char **line, size_t *n, size_t *end_off,
		bool *complete);

#endif
