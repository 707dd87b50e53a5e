// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "match.h"

#include <errno.h>
#include <hs/hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int matcher_spec_add(struct matcher_spec *s, const char *text, size_t len, unsigned flags)
{
	char *e, *o;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		char **ex = realloc(s->exprs, cap * sizeof(*ex));
		unsigned *fl, *ids;

		if (!ex)
			return -ENOMEM;
		s->exprs = ex;
		fl = realloc(s->flags, cap * sizeof(*fl));
		if (!fl)
			return -ENOMEM;
		s->flags = fl;
		ids = realloc(s->ids, cap * sizeof(*ids));
		if (!ids)
			return -ENOMEM;
		s->ids = ids;
		s->cap = cap;
	}
	/* a literal becomes a regex of escaped bytes: one database for all */
	e = malloc((flags & MP_LITERAL) ? 4 * len + 1 : len + 1);
	if (!e)
		return -ENOMEM;
	if (flags & MP_LITERAL) {
		o = e;
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)text[i];

			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9'))
				*o++ = (char)c;
			else
				o += sprintf(o, "\\x%02x", c);
		}
		*o = '\0';
	} else {
		memcpy(e, text, len);
		e[len] = '\0';
	}
	s->exprs[s->n] = e;
	s->flags[s->n] = flags;
	s->ids[s->n] = (unsigned)s->n;
	return (int)s->n++;
}

void matcher_spec_free(struct matcher_spec *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->exprs[i]);
	free(s->exprs);
	free(s->flags);
	free(s->ids);
	memset(s, 0, sizeof(*s));
}

static int build(const struct matcher_spec *s, const bool *take, struct matcher *m, int *bad,
		 char *err, size_t err_size)
{
	hs_compile_error_t *ce = NULL;
	hs_database_t *db = NULL;
	hs_scratch_t *scratch = NULL;
	unsigned *hsflags, *ids = NULL;
	const char **exprs = NULL;
	size_t n = 0;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	m->n_pats = s->n;
	*bad = -1;
	for (size_t i = 0; i < s->n; i++)
		n += !take || take[i];
	if (n == 0)
		return 0;
	hsflags = calloc(n, sizeof(*hsflags));
	exprs = calloc(n, sizeof(*exprs));
	ids = calloc(n, sizeof(*ids));
	if (!hsflags || !exprs || !ids) {
		rc = -ENOMEM;
		goto cleanup;
	}
	n = 0;
	for (size_t i = 0; i < s->n; i++) {
		unsigned f = 0;

		if (take && !take[i])
			continue;
		if (s->flags[i] & MP_CASELESS)
			f |= HS_FLAG_CASELESS;
		if (s->flags[i] & MP_SINGLE)
			f |= HS_FLAG_SINGLEMATCH;
		/* prefilter: Hyperscan finds a superset, PCRE2 decides */
		if (!(s->flags[i] & MP_LITERAL))
			f |= HS_FLAG_PREFILTER;
		hsflags[n] = f;
		exprs[n] = s->exprs[i];
		ids[n++] = s->ids[i];
	}
	if (hs_compile_multi(exprs, hsflags, ids, (unsigned)n, HS_MODE_BLOCK, NULL, &db, &ce) !=
	    HS_SUCCESS) {
		if (ce) {
			*bad = ce->expression >= 0 && (size_t)ce->expression < n ?
				       (int)ids[ce->expression] :
				       -1;
			snprintf(err, err_size, "%s", ce->message);
			hs_free_compile_error(ce);
			rc = -EINVAL;
		} else {
			rc = -ENOMEM;
		}
		goto cleanup;
	}
	if (hs_alloc_scratch(db, &scratch) != HS_SUCCESS) {
		rc = -ENOMEM;
		goto cleanup;
	}
	m->db = db;
	m->scratch = scratch;
	db = NULL;
cleanup:
	if (db)
		hs_free_database(db);
	free(hsflags);
	free(exprs);
	free(ids);
	return rc;
}

int matcher_build(const struct matcher_spec *s, struct matcher *m, int *bad, char *err,
		  size_t err_size)
{
	return build(s, NULL, m, bad, err, err_size);
}

int matcher_build_subset(const struct matcher_spec *s, const bool *take, struct matcher *m)
{
	char err[8];
	int bad;

	return build(s, take, m, &bad, err, sizeof(err));
}

void matcher_free(struct matcher *m)
{
	if (m->scratch)
		hs_free_scratch(m->scratch);
	if (m->db)
		hs_free_database(m->db);
	memset(m, 0, sizeof(*m));
}

int match_scan_init(struct match_scan *sc, size_t n_pats)
{
	memset(sc, 0, sizeof(*sc));
	sc->n_pats = n_pats;
	if (n_pats == 0)
		return 0;
	sc->head = calloc(n_pats, sizeof(*sc->head));
	sc->tail = calloc(n_pats, sizeof(*sc->tail));
	sc->count = calloc(n_pats, sizeof(*sc->count));
	sc->ent = malloc(MATCH_MAX_CANDIDATES * sizeof(*sc->ent));
	if (!sc->head || !sc->tail || !sc->count || !sc->ent) {
		match_scan_free(sc);
		return -ENOMEM;
	}
	return 0;
}

void match_scan_free(struct match_scan *sc)
{
	free(sc->head);
	free(sc->tail);
	free(sc->count);
	free(sc->ent);
	memset(sc, 0, sizeof(*sc));
}

static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
		    void *ctx)
{
	struct match_scan *sc = ctx;
	uint32_t i;

	if (id >= sc->n_pats)
		return 0;
	if (sc->count[id]++ >= MATCH_MAX_PER_PATTERN)
		return 0;
	if (sc->n_ent >= MATCH_MAX_CANDIDATES) {
		sc->overflow = true;
		return 0;
	}
	i = (uint32_t)sc->n_ent++;
	sc->ent[i].end = (uint32_t)to;
	sc->ent[i].next = 0;
	if (sc->tail[id])
		sc->ent[sc->tail[id] - 1].next = i + 1;
	else
		sc->head[id] = i + 1;
	sc->tail[id] = i + 1;
	return 0;
}

int matcher_scan(struct matcher *m, const char *buf, size_t len, struct match_scan *sc)
{
	if (sc->n_pats) {
		memset(sc->head, 0, sc->n_pats * sizeof(*sc->head));
		memset(sc->tail, 0, sc->n_pats * sizeof(*sc->tail));
		memset(sc->count, 0, sc->n_pats * sizeof(*sc->count));
	}
	sc->n_ent = 0;
	sc->overflow = false;
	if (!m->db || len == 0)
		return 0;
	/* offsets are kept in 32 bits; content fields are capped far below */
	if (len > UINT32_MAX)
		len = UINT32_MAX;
	if (hs_scan(m->db, buf, (unsigned)len, 0, m->scratch, on_match, sc) != HS_SUCCESS)
		return -EIO;
	return 0;
}

int rx_env_init(struct rx_env *e)
{
	memset(e, 0, sizeof(*e));
	e->mctx = pcre2_match_context_create(NULL);
	e->jit = pcre2_jit_stack_create(32 * 1024, 512 * 1024, NULL);
	e->md = pcre2_match_data_create(16, NULL);
	if (!e->mctx || !e->jit || !e->md) {
		rx_env_free(e);
		return -ENOMEM;
	}
	pcre2_set_match_limit(e->mctx, RX_MATCH_LIMIT);
	pcre2_set_depth_limit(e->mctx, RX_DEPTH_LIMIT);
	pcre2_set_heap_limit(e->mctx, RX_HEAP_LIMIT_KIB);
	pcre2_jit_stack_assign(e->mctx, NULL, e->jit);
	return 0;
}

void rx_env_free(struct rx_env *e)
{
	pcre2_match_data_free(e->md);
	pcre2_jit_stack_free(e->jit);
	pcre2_match_context_free(e->mctx);
	memset(e, 0, sizeof(*e));
}

pcre2_code *rx_compile(const char *pat, size_t len, bool caseless, char *err, size_t err_size,
		       size_t *erroff)
{
	/* bytes, like Hyperscan without HS_FLAG_UTF8; no (*UTF).  Callouts
	 * never run: no callout function is ever set */
	uint32_t opts = PCRE2_NEVER_UTF | PCRE2_NEVER_UCP | PCRE2_NEVER_BACKSLASH_C |
			(caseless ? PCRE2_CASELESS : 0);
	pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
	PCRE2_UCHAR msg[160];
	PCRE2_SIZE off = 0;
	pcre2_code *re;
	int code = 0;

	if (!cc) {
		snprintf(err, err_size, "out of memory");
		*erroff = 0;
		return NULL;
	}
	pcre2_set_max_pattern_length(cc, 8192);
	pcre2_set_parens_nest_limit(cc, 64);
	re = pcre2_compile((PCRE2_SPTR)pat, len, opts, &code, &off, cc);
	pcre2_compile_context_free(cc);
	if (!re) {
		pcre2_get_error_message(code, msg, sizeof(msg));
		snprintf(err, err_size, "%s", (const char *)msg);
		*erroff = off;
		return NULL;
	}
	/* JIT is an optimisation: the interpreter (with the same limits) is the fallback */
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	return re;
}

int rx_search(struct rx_env *e, const pcre2_code *re, const char *subj, size_t len, size_t start,
	      size_t stop, size_t *ms, size_t *me)
{
	PCRE2_SIZE *ov;
	int rc;

	if (start > len)
		return 0;
	rc = pcre2_match(re, (PCRE2_SPTR)subj, len, start, 0, e->md, e->mctx);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
	    rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT)
		return -E2BIG;
	if (rc < 0)
		return 0;
	ov = pcre2_get_ovector_pointer(e->md);
	if (ov[0] >= stop)
		return 0;
	*ms = ov[0];
	*me = ov[1];
	return 1;
}
