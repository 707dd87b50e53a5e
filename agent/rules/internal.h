/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The compiled rule set, shared by the loader (load.c) and the evaluator (eval.c). */
#ifndef LLMTAP_RULES_INTERNAL_H
#define LLMTAP_RULES_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "redact/detect.h"
#include "rules/arena.h"
#include "rules/cond.h"
#include "rules/fields.h"
#include "rules/match.h"
#include "rules/rules.h"
#include "rules/yaml_tree.h"
#include "util/dynbuf.h"

#define RULES_ARENA_CAP (256u << 20)
#define COUNT_CAP 1000 /* count(detector) stops counting here */
#define DEFAULT_MAX_LEN 256
#define MAX_MAX_LEN (64u * 1024)
#define GLOB_SUBJECT_CAP (64u * 1024)
#define MESSAGE_CAP 1024
#define FIELD_IN_MESSAGE_CAP 200
#define MAX_TREE_COST 100000
#define MAX_TREE_DEPTH 512

enum severity { SEV_INFORMATIONAL, SEV_LOW, SEV_MEDIUM, SEV_HIGH, SEV_CRITICAL, SEV_MAX };

extern const char *const severity_names[SEV_MAX];

enum det_kind { DK_REGEX, DK_LITERAL, DK_BUILTIN, DK_GROUP };

struct rdet {
	const char *name, *entity, *file;
	unsigned line, col;
	enum det_kind kind;
	/* regex */
	const char *pattern;
	pcre2_code *re;
	bool caseless;
	unsigned max_len;
	/* Hyperscan pattern ids: keywords (windows for the regex), the regex
	 * itself (no keywords), or the literals */
	int *pats;
	size_t *pat_lens; /* keyword lengths */
	size_t n_pats;
	bool by_keywords;
	const char **lits; /* DK_LITERAL: the literals (for attribute fields) */
	size_t *lit_lens;
	int builtin; /* DK_BUILTIN */
	int *members; /* DK_GROUP: detector indexes */
	size_t n_members;
};

enum out_special { OS_FIELD, OS_TEXT, OS_RULE, OS_SEVERITY, OS_DETECTORS, OS_ENTITIES };

struct out_seg {
	enum out_special kind;
	const char *text; /* OS_TEXT; OS_FIELD: the name */
	size_t len;
	int fid;
};

struct redact_act {
	const char *entity;
	enum rules_redact_mode mode;
};

struct rule_test {
	const char *name, *file;
	unsigned line, col;
	const struct ynode *input;
	bool expect;
	const char *message; /* expected rendered message, or NULL */
};

struct rule {
	const char *name, *id, *desc, *file;
	unsigned line, col;
	struct cnode *cond;
	struct out_seg *out;
	size_t n_out;
	enum severity sev;
	const char **tags;
	size_t n_tags;
	bool enabled, alert;
	const char **labels;
	size_t n_labels;
	struct redact_act *redact;
	size_t n_redact;
	unsigned rl_max;
	uint64_t rl_window_ns, rl_start;
	unsigned rl_used;
	struct rule_test *tests;
	size_t n_tests;
	uint64_t prof_evals, prof_ns;
};

struct window {
	size_t start, end;
};

/* Where evaluation time goes (profiling), per content field. */
enum prof_stage {
	PS_CONTENT, /* building a field's text from the record (base64 decoding included) */
	PS_SCAN, /* the rule set's Hyperscan database over it */
	PS_BUILTIN, /* the built-in detectors (the scan redaction then reuses) */
	PS_CONFIRM, /* PCRE2 confirming regex candidates */
	PS_OVERLAP, /* response.system_prompt_overlap */
	PS_MAX
};

/* Per-evaluation scratch, kept between records to avoid allocations. */
struct eval_state {
	struct dynbuf text[CF_MAX];
	bool built[CF_MAX], scanned[CF_MAX], builtin_done[CF_MAX];
	struct match_scan scan[CF_MAX]; /* Hyperscan candidates of each field */
	int32_t *det_count; /* [CF_MAX][n_dets], -1 unknown */
	uint32_t *builtin_counts; /* [CF_MAX][builtin_count()] */
	uint32_t per_entity[DETECT_ENTITY_COUNT]; /* a field's findings, being summed */
	struct detect_memo *memo; /* the built-ins' matches per string of the record */
	int8_t *pat_result; /* [n_pats] content contains/matches, -1 unknown */
	struct window *windows; /* [MATCH_MAX_CANDIDATES] */
	struct dynbuf tmp; /* lower-cased copies (icontains) */
	int overlap_state; /* -1 unknown, 0 absent, 1 overlap holds the value */
	double overlap;
	uint64_t stage_ns[PS_MAX][CF_MAX]; /* profiling */
	const char *fired[16]; /* detectors found true in the rule being evaluated */
	size_t n_fired;
	json_t *rec;
	struct rules_stats *st;
	int err;
};

struct rules {
	struct arena arena;
	struct rule *rules;
	size_t n_rules;
	struct rdet *dets;
	size_t n_dets;
	struct matcher m; /* every pattern: what rules check validates */
	/* per content field, only the patterns conditions test on it (a field
	 * scanned for a few patterns goes faster); when !per_field, m serves */
	struct matcher mf[CF_MAX];
	bool per_field;
	struct rx_env rx;
	struct eval_state ev;
	struct cnode **macro_roots;
	size_t n_macro_roots;
	size_t n_files;
	bool profiling;
	bool profile_alone; /* each rule with fresh per-record caches: its own cost */
};

/* eval.c */
int eval_state_init(struct rules *r);
void eval_state_free(struct rules *r);
/* Evaluates a condition on the current record (eval_begin first). */
bool eval_cond(struct rules *r, const struct cnode *n);
void eval_begin(struct rules *r, json_t *rec, struct rules_stats *st);
/* The rendered message of rule ru on the current record (malloc'd). */
char *eval_render(struct rules *r, const struct rule *ru);
uint64_t eval_now_ns(void);
/* Minimal glob (*, ?, [...]) in O(len(p) * len(s)). */
bool glob_match(const char *p, size_t pn, const char *s, size_t sn);

#endif
