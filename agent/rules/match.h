/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Two-stage matching of rule patterns over text.  Stage 1: every keyword,
 * literal and regex of a rule set in one Hyperscan database (literals
 * first; regexes in prefilter mode, so any PCRE pattern is accepted and
 * over-approximated), one pass over a buffer, candidates kept per pattern
 * up to a cap.  Stage 2: PCRE2 (JIT, match and depth limits) confirms the
 * exact span, only in windows around a candidate.
 */
#ifndef LLMTAP_RULES_MATCH_H
#define LLMTAP_RULES_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#define MATCH_MAX_CANDIDATES 16384 /* per scanned buffer, all patterns together */
#define MATCH_MAX_PER_PATTERN 4096
#define RX_MATCH_LIMIT 200000
#define RX_DEPTH_LIMIT 2000
#define RX_HEAP_LIMIT_KIB 4096

enum { MP_LITERAL = 1, MP_CASELESS = 2, MP_SINGLE = 4 };

struct matcher_spec {
	char **exprs; /* Hyperscan expressions (literals escaped) */
	unsigned *flags, *ids;
	size_t n, cap;
};

struct matcher {
	void *db; /* hs_database_t */
	void *scratch; /* hs_scratch_t */
	size_t n_pats;
};

struct match_ent {
	uint32_t end, next; /* next: index + 1 of the pattern's next candidate */
};

/* The candidates of one buffer. */
struct match_scan {
	uint32_t *head, *tail, *count; /* per pattern (count goes past the cap) */
	struct match_ent *ent;
	size_t n_ent;
	size_t n_pats;
	bool overflow; /* MATCH_MAX_CANDIDATES reached: later candidates dropped */
};

/* Adds a pattern (text is a regex unless MP_LITERAL); returns its id >= 0
 * or -ENOMEM. */
int matcher_spec_add(struct matcher_spec *s, const char *text, size_t len, unsigned flags);
void matcher_spec_free(struct matcher_spec *s);

/*
 * Compiles the spec into m (an empty spec gives a matcher that finds
 * nothing).  Returns 0, or -EINVAL with *bad (the id) and err set, or
 * -ENOMEM.
 */
int matcher_build(const struct matcher_spec *s, struct matcher *m, int *bad, char *err,
		  size_t err_size);
/*
 * The same for the patterns i with take[i] (ids and n_pats unchanged, so
 * that one match_scan serves either; none: a matcher that finds nothing).
 * For a spec matcher_build accepted.  0, -EINVAL or -ENOMEM.
 */
int matcher_build_subset(const struct matcher_spec *s, const bool *take, struct matcher *m);
void matcher_free(struct matcher *m);

int match_scan_init(struct match_scan *sc, size_t n_pats);
void match_scan_free(struct match_scan *sc);
/* Scans buf[0..len) (resets sc first).  0, or -EIO on a Hyperscan error. */
int matcher_scan(struct matcher *m, const char *buf, size_t len, struct match_scan *sc);

/* PCRE2 with limits, for confirmation and for small fields. */
struct rx_env {
	pcre2_match_context *mctx;
	pcre2_jit_stack *jit;
	pcre2_match_data *md;
};

int rx_env_init(struct rx_env *e);
void rx_env_free(struct rx_env *e);
/*
 * Compiles a pattern (bytes, not UTF; no (*UTF) or callouts).  Returns the
 * code, or NULL with err/erroff set.
 */
pcre2_code *rx_compile(const char *pat, size_t len, bool caseless, char *err, size_t err_size,
		       size_t *erroff);
/*
 * Searches subj[0..len) from start for a match starting before stop.
 * Returns 1 with [*ms, *me), 0 for none, -E2BIG when a limit was hit.
 */
int rx_search(struct rx_env *e, const pcre2_code *re, const char *subj, size_t len, size_t start,
	      size_t stop, size_t *ms, size_t *me);

#endif
