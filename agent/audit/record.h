/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Building the audit record of one exchange (docs/record.md, docs/record.schema.json).
 * Attribute names follow OpenTelemetry semantic conventions; credentials
 * in headers are never recorded.
 */
#ifndef LLMTAP_RECORD_H
#define LLMTAP_RECORD_H

#include <jansson.h>
#include <stdbool.h>

#define RECORD_SCHEMA "llmtap.audit/1"

struct http_exchange;
struct conn;
struct procinfo;
struct llm_analysis;

struct record_opts {
	bool content; /* prompts, responses, tool schemas; off: metadata only */
};

/*
 * A new record (caller owns the reference) for one exchange, or NULL on
 * -ENOMEM.  a (may be NULL) is the LLM decoding of the exchange: with it
 * the record carries OTel gen_ai.* attributes, without it (or for non-LLM
 * traffic recorded with --all-http) the raw bodies.
 */
json_t *record_build(const struct http_exchange *ex, const struct conn *c,
		     const struct procinfo *proc, const struct llm_analysis *a,
		     const struct record_opts *o);

/* A new random (version 4) UUID in its 36-character text form. */
void record_make_id(char out[37]);

#endif
