/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Detection rules (docs/rules.md): YAML rule files in the spirit of
 * Falco's, compiled into one immutable rule set that evaluates audit
 * records.  A rule that fires appends {"rule","id","severity","message",
 * "tags"} to the record's "alerts" and may ask for redaction or add
 * labels.  Loading never logs: every problem is a diagnostic with
 * file:line:col.  Rule files and records are untrusted: parsing,
 * evaluation time and memory are bounded.
 */
#ifndef LLMTAP_RULES_H
#define LLMTAP_RULES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RULES_ENGINE_VERSION 1
#define RULES_MAX_FILE_BYTES (4u << 20)
#define RULES_MAX_FILES 256
#define RULES_MAX_DIAGS 200

struct rules;

struct rules_diag {
	char file[256];
	unsigned line, col; /* 0 when the problem has no place in a file */
	char msg[320];
};

struct rules_diags {
	struct rules_diag *v;
	size_t n, cap;
	size_t dropped; /* past RULES_MAX_DIAGS */
};

void rules_diags_free(struct rules_diags *d);

/*
 * Loads and compiles the rule files named by paths (a file, or a directory
 * whose *.yaml / *.yml files load in lexical order), in order: a later file
 * may override or append to what an earlier one defined.  On success *out
 * owns the rule set.  Returns 0, -EINVAL when d holds errors (nothing is
 * returned then), or -ENOMEM.
 */
int rules_load(const char *const *paths, size_t n_paths, struct rules **out, struct rules_diags *d);
/* The same for one file's text, named name in diagnostics (tests, fuzzers). */
int rules_load_mem(const char *name, const char *text, size_t len, struct rules **out,
		   struct rules_diags *d);
void rules_free(struct rules *r);

size_t rules_count(const struct rules *r);
size_t rules_count_enabled(const struct rules *r);
/* The files loaded (in order). */
size_t rules_n_files(const struct rules *r);

/* Counters of evaluation, owned by the caller so that they outlive reloads. */
struct rules_stats {
	uint64_t records; /* evaluated */
	uint64_t alerts; /* appended to records */
	uint64_t rate_limited; /* alerts not appended: rate_limit */
	uint64_t eval_errors; /* records not (fully) evaluated: out of memory, scan errors */
	uint64_t regex_limits; /* confirmations stopped by PCRE2's limits (counted as matches) */
	uint64_t scanned_bytes; /* content bytes scanned */
};

enum rules_redact_mode {
	RULES_REDACT_DEFAULT,
	RULES_REDACT_HMAC,
	RULES_REDACT_MASK,
	RULES_REDACT_PARTIAL,
	RULES_REDACT_DROP
};

#define RULES_MAX_REDACT 64

/* What the rules that fired ask of the redaction stage. */
struct rules_verdict {
	unsigned alerts;
	size_t n_redact;
	struct {
		const char *entity; /* "*" for every entity; owned by the rule set */
		enum rules_redact_mode mode;
	} redact[RULES_MAX_REDACT];
};

/*
 * Evaluates every enabled rule on rec (a record of record_build), appends
 * the alerts to rec["alerts"] and labels to attributes["llmtap.labels"],
 * and fills v (may be NULL).  Returns 0, or -ENOMEM / -EIO (counted in
 * st->eval_errors; what was evaluated is kept).
 */
int rules_eval(struct rules *r, json_t *rec, struct rules_stats *st, struct rules_verdict *v);

struct redact_policy;
/*
 * The redaction override (redact/redact.h) a verdict asks for: p is reset
 * and filled.  Returns true when it asks for anything (pass p to
 * redact_record), false when it does not (pass NULL).
 */
bool rules_verdict_policy(const struct rules_verdict *v, struct redact_policy *p);

struct detect_memo;
/*
 * The built-in detectors' matches per string of the record last evaluated
 * (redact/memo.h), for redact_record_memo() on that same record right after
 * rules_eval, so that redaction does not scan those strings again.  Valid
 * until the next rules_eval or rules_free; NULL for a NULL set.
 */
const struct detect_memo *rules_detect_memo(const struct rules *r);

/* One embedded test's outcome (rules test). */
struct rules_test_result {
	const char *rule, *test, *file;
	unsigned line, col;
	bool passed;
	char detail[320]; /* why it failed */
};

/*
 * Runs the tests embedded in the rules (disabled rules included), calling
 * fn for each.  Returns 0 or -ENOMEM; *passed / *failed count them.
 */
int rules_run_tests(struct rules *r, void (*fn)(const struct rules_test_result *, void *),
		    void *ctx, unsigned *passed, unsigned *failed);

/* Per-rule evaluation cost since load (benchmarks): name, evaluations, ns. */
size_t rules_profile(const struct rules *r, size_t i, const char **name, uint64_t *evals,
		     uint64_t *ns);
/* Turns per-rule timing on or off (off by default: it costs two clock reads a rule). */
void rules_set_profiling(struct rules *r, bool on);
/*
 * While profiling, evaluates each rule with empty per-record caches, so its
 * time is what it costs alone (the fields it builds and scans included)
 * rather than what it adds after the rules before it.  Slower: benchmarks.
 */
void rules_set_profiling_alone(struct rules *r, bool alone);
/* Zeroes the per-rule and per-stage times. */
void rules_profile_reset(struct rules *r);

/* Stages of evaluation timed while profiling, per content field. */
enum rules_stage {
	RULES_STAGE_CONTENT, /* building the field's text (base64 decoding included) */
	RULES_STAGE_SCAN, /* the rule set's Hyperscan database */
	RULES_STAGE_BUILTIN, /* built-in detectors (the scan redaction reuses) */
	RULES_STAGE_CONFIRM, /* PCRE2 confirmation of regex candidates */
	RULES_STAGE_OVERLAP, /* response.system_prompt_overlap */
	RULES_STAGE_COUNT
};
/* The name of content field number cf ("prompt", ...), NULL past the last. */
const char *rules_content_field(size_t cf);
/* Nanoseconds spent in stage on content field number cf since the last reset. */
uint64_t rules_profile_stage(const struct rules *r, enum rules_stage stage, size_t cf);

#endif
