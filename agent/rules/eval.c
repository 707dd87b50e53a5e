// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Evaluating conditions on one record.  Content fields are built from the
 * record once, scanned once by the Hyperscan database of that field's
 * patterns, and detector results are confirmed (PCRE2, in windows around
 * candidates) only when a condition asks, then cached for the record.  The
 * built-in detectors scan the record's strings once, through a memo that
 * redaction reuses (redact/memo.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "redact/memo.h"
#include "rules/builtin.h"
#include "rules/internal.h"

#define TMP_CAP (16u << 20)
#define MATCHES_WINDOW 4096
#define LOOKAHEAD 64

int eval_state_init(struct rules *r)
{
	struct eval_state *e = &r->ev;
	size_t nb = builtin_count();

	for (int i = 0; i < CF_MAX; i++) {
		dynbuf_init(&e->text[i],
			    i >= CF_PROMPT_DECODED ? DECODED_FIELD_CAP : CONTENT_FIELD_CAP);
		if (match_scan_init(&e->scan[i], r->m.n_pats))
			return -ENOMEM;
	}
	dynbuf_init(&e->tmp, TMP_CAP);
	e->det_count = malloc((r->n_dets ? r->n_dets : 1) * CF_MAX * sizeof(*e->det_count));
	e->builtin_counts = malloc((nb ? nb : 1) * CF_MAX * sizeof(*e->builtin_counts));
	e->pat_result = malloc((r->m.n_pats ? r->m.n_pats : 1) * sizeof(*e->pat_result));
	e->windows = malloc(MATCH_MAX_CANDIDATES * sizeof(*e->windows));
	if (!e->det_count || !e->builtin_counts || !e->pat_result || !e->windows)
		return -ENOMEM;
	if (detect_memo_new(&e->memo))
		return -ENOMEM;
	return 0;
}

void eval_state_free(struct rules *r)
{
	struct eval_state *e = &r->ev;

	for (int i = 0; i < CF_MAX; i++) {
		dynbuf_free(&e->text[i]);
		match_scan_free(&e->scan[i]);
	}
	dynbuf_free(&e->tmp);
	free(e->det_count);
	free(e->builtin_counts);
	free(e->pat_result);
	free(e->windows);
	detect_memo_free(e->memo);
	memset(e, 0, sizeof(*e));
}

void eval_begin(struct rules *r, json_t *rec, struct rules_stats *st)
{
	struct eval_state *e = &r->ev;

	memset(e->built, 0, sizeof(e->built));
	memset(e->scanned, 0, sizeof(e->scanned));
	memset(e->builtin_done, 0, sizeof(e->builtin_done));
	memset(e->det_count, 0xff, (r->n_dets ? r->n_dets : 1) * CF_MAX * sizeof(*e->det_count));
	memset(e->pat_result, 0xff, (r->m.n_pats ? r->m.n_pats : 1) * sizeof(*e->pat_result));
	e->rec = rec;
	detect_memo_reset(e->memo, rec);
	e->st = st;
	e->err = 0;
	e->overlap_state = -1;
	e->n_fired = 0;
}

uint64_t eval_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t prof_start(const struct rules *r)
{
	return r->profiling ? eval_now_ns() : 0;
}

static void prof_end(struct rules *r, enum prof_stage st, enum content_field cf, uint64_t t0)
{
	if (r->profiling)
		r->ev.stage_ns[st][cf] += eval_now_ns() - t0;
}

static void set_err(struct eval_state *e, int err)
{
	if (!e->err)
		e->err = err;
}

/* The text of a content field, built on first use. */
static const struct dynbuf *content(struct rules *r, enum content_field cf)
{
	struct eval_state *e = &r->ev;
	const struct dynbuf *src = NULL;
	uint64_t t0;
	int err;

	if (e->built[cf])
		return &e->text[cf];
	if (cf == CF_PROMPT_DECODED)
		src = content(r, CF_PROMPT);
	else if (cf == CF_RESPONSE_DECODED)
		src = content(r, CF_RESPONSE);
	else if (cf == CF_TOOL_ARGUMENTS_DECODED)
		src = content(r, CF_TOOL_ARGUMENTS);
	t0 = prof_start(r);
	err = fields_content(e->rec, cf, &e->text[cf], src);
	prof_end(r, PS_CONTENT, cf, t0);
	if (err)
		set_err(e, err);
	e->built[cf] = true;
	return &e->text[cf];
}

static struct match_scan *scanned(struct rules *r, enum content_field cf)
{
	struct eval_state *e = &r->ev;
	const struct dynbuf *t = content(r, cf);

	if (!e->scanned[cf]) {
		struct matcher *m = r->per_field ? &r->mf[cf] : &r->m;
		uint64_t t0 = prof_start(r);
		int err = matcher_scan(m, t->buf ? t->buf : "", t->len, &e->scan[cf]);

		prof_end(r, PS_SCAN, cf, t0);
		if (err)
			set_err(e, err);
		if (e->st)
			e->st->scanned_bytes += t->len;
		e->scanned[cf] = true;
	}
	return &e->scan[cf];
}

static int cmp_window(const void *a, const void *b)
{
	const struct window *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Confirms re in the windows (sorted, merged here); counts up to cap. */
static uint32_t confirm(struct rules *r, const pcre2_code *re, const char *text, size_t len,
			struct window *w, size_t n, uint32_t cap)
{
	uint32_t count = 0;
	size_t k = 0;

	if (n == 0)
		return 0;
	qsort(w, n, sizeof(*w), cmp_window);
	for (size_t i = 1; i < n; i++) {
		if (w[i].start <= w[k].end) {
			if (w[i].end > w[k].end)
				w[k].end = w[i].end;
		} else {
			w[++k] = w[i];
		}
	}
	n = k + 1;
	for (size_t i = 0; i < n && count < cap; i++) {
		size_t pos = w[i].start, stop = w[i].end > len ? len : w[i].end;
		size_t sub = stop + LOOKAHEAD > len ? len : stop + LOOKAHEAD;

		while (pos < stop && count < cap) {
			size_t ms, me;
			int rc = rx_search(&r->rx, re, text, sub, pos, stop, &ms, &me);

			if (rc == 0)
				break;
			count++;
			if (rc < 0) {
				/* a limit: count it as found rather than let a crafted text hide */
				if (r->ev.st)
					r->ev.st->regex_limits++;
				break;
			}
			pos = me > ms ? me : ms + 1;
			/* the next window may start inside this match */
			while (i + 1 < n && w[i + 1].start < pos && w[i + 1].end <= pos)
				i++;
		}
	}
	return count;
}

/* Windows around a pattern's candidates: [end - before, end + after). */
static size_t add_windows(struct rules *r, const struct match_scan *sc, int pat, size_t before,
			  size_t after, size_t len, size_t n, bool *whole)
{
	struct window *w = r->ev.windows;

	if (pat < 0 || (size_t)pat >= sc->n_pats)
		return n;
	if (sc->count[pat] > MATCH_MAX_PER_PATTERN || (sc->overflow && sc->count[pat])) {
		*whole = true;
		return n;
	}
	for (uint32_t i = sc->head[pat]; i; i = sc->ent[i - 1].next) {
		size_t end = sc->ent[i - 1].end;

		if (n == MATCH_MAX_CANDIDATES) {
			*whole = true;
			break;
		}
		w[n].start = end > before ? end - before : 0;
		w[n].end = end + after > len ? len : end + after;
		n++;
	}
	return n;
}

static int scan_part(const char *s, size_t len, void *ctx)
{
	struct eval_state *e = ctx;

	return builtin_scan_part(e->memo, s, len, e->per_entity);
}

/*
 * The built-ins over a content field.  A field made of the record's own
 * strings is scanned string by string, through the memo: the redaction
 * then reuses each string's matches, the strings prompt shares with
 * user_prompt and system_prompt are scanned once, and what a rule counts is
 * what redaction replaces.  The decoded fields are texts of their own.
 */
static uint32_t builtin_on(struct rules *r, int b, enum content_field cf)
{
	struct eval_state *e = &r->ev;
	uint32_t *counts = e->builtin_counts + (size_t)cf * builtin_count();

	if (!e->builtin_done[cf]) {
		uint64_t t0;
		int err;

		if (cf == CF_PROMPT_DECODED || cf == CF_RESPONSE_DECODED ||
		    cf == CF_TOOL_ARGUMENTS_DECODED) {
			const struct dynbuf *t = content(r, cf);

			t0 = prof_start(r);
			err = builtin_scan(t->buf ? t->buf : "", t->len, counts);
		} else {
			t0 = prof_start(r);
			memset(e->per_entity, 0, sizeof(e->per_entity));
			err = fields_parts(e->rec, cf, scan_part, e);
			builtin_counts(e->per_entity, counts);
		}
		prof_end(r, PS_BUILTIN, cf, t0);
		if (err)
			set_err(e, err);
		e->builtin_done[cf] = true;
	}
	return counts[b];
}

/* Findings of detector d in content field cf (cached; capped at COUNT_CAP). */
static uint32_t det_count(struct rules *r, int di, enum content_field cf)
{
	struct eval_state *e = &r->ev;
	const struct rdet *d = &r->dets[di];
	int32_t *slot = &e->det_count[(size_t)cf * r->n_dets + (size_t)di];
	uint32_t c = 0;
	uint64_t t0;

	if (*slot >= 0)
		return (uint32_t)*slot;
	switch (d->kind) {
	case DK_BUILTIN:
		c = builtin_on(r, d->builtin, cf);
		break;
	case DK_GROUP:
		for (size_t i = 0; i < d->n_members && c < COUNT_CAP; i++)
			c += det_count(r, d->members[i], cf);
		break;
	case DK_LITERAL: {
		const struct match_scan *sc = scanned(r, cf);

		for (size_t i = 0; i < d->n_pats; i++)
			c += sc->count[d->pats[i]];
		break;
	}
	case DK_REGEX: {
		const struct match_scan *sc = scanned(r, cf);
		const struct dynbuf *t = content(r, cf);
		size_t n = 0;
		bool whole = false, any = false;

		for (size_t i = 0; i < d->n_pats; i++)
			any |= sc->count[d->pats[i]] > 0;
		if (!any)
			break;
		for (size_t i = 0; i < d->n_pats && !whole; i++) {
			if (d->by_keywords)
				n = add_windows(r, sc, d->pats[i], d->pat_lens[i] + d->max_len,
						d->max_len, t->len, n, &whole);
			else
				n = add_windows(r, sc, d->pats[i], d->max_len, 1, t->len, n,
						&whole);
		}
		if (whole) {
			e->windows[0] = (struct window){ 0, t->len };
			n = 1;
		}
		t0 = prof_start(r);
		c = confirm(r, d->re, t->buf, t->len, e->windows, n, COUNT_CAP);
		prof_end(r, PS_CONFIRM, cf, t0);
		break;
	}
	}
	if (c > COUNT_CAP)
		c = COUNT_CAP;
	*slot = (int32_t)c;
	return c;
}

/* A detector over a small text (an attribute): direct, uncached. */
static uint32_t det_count_text(struct rules *r, int di, const char *s, size_t len)
{
	const struct rdet *d = &r->dets[di];
	uint32_t c = 0;

	switch (d->kind) {
	case DK_BUILTIN: {
		uint32_t counts[64];

		if (builtin_count() > 64 || builtin_scan(s, len, counts))
			return 0;
		return counts[d->builtin];
	}
	case DK_GROUP:
		for (size_t i = 0; i < d->n_members; i++)
			c += det_count_text(r, d->members[i], s, len);
		return c > COUNT_CAP ? COUNT_CAP : c;
	case DK_REGEX: {
		struct window w = { 0, len };

		return confirm(r, d->re, s, len, &w, 1, COUNT_CAP);
	}
	case DK_LITERAL:
		/* an attribute is small: a direct search (at most 64 KiB of it) */
		if (len > GLOB_SUBJECT_CAP)
			len = GLOB_SUBJECT_CAP;
		for (size_t k = 0; k < d->n_pats && c < COUNT_CAP; k++) {
			size_t ln = d->lit_lens[k];

			for (size_t i = 0; ln && i + ln <= len && c < COUNT_CAP; i++)
				if (d->caseless ? strncasecmp(s + i, d->lits[k], ln) == 0 :
						  memcmp(s + i, d->lits[k], ln) == 0)
					c++;
		}
		return c;
	}
	return 0;
}

static void fired(struct eval_state *e, const char *name)
{
	for (size_t i = 0; i < e->n_fired; i++)
		if (e->fired[i] == name)
			return;
	if (e->n_fired < sizeof(e->fired) / sizeof(e->fired[0]))
		e->fired[e->n_fired++] = name;
}

/* Detector di over a node's field: all content, a content field, or an attribute. */
static uint32_t count_in(struct rules *r, int di, const struct cnode *n, uint32_t enough)
{
	static const enum content_field all[] = { CF_PROMPT, CF_RESPONSE, CF_TOOL_ARGUMENTS };
	uint32_t c = 0;

	if (n->fid < 0) {
		for (size_t i = 0; i < 3 && c < enough; i++)
			c += det_count(r, di, all[i]);
		return c;
	}
	if (FIELD_IS_CONTENT(n->fid))
		return det_count(r, di, FIELD_CF(n->fid));
	{
		json_t *v = fields_attr(r->ev.rec, n->fid, n->field);

		if (json_is_string(v))
			return det_count_text(r, di, json_string_value(v), json_string_length(v));
		if (json_is_array(v)) {
			json_t *x;
			size_t i;

			json_array_foreach(v, i, x) {
				if (json_is_string(x))
					c += det_count_text(r, di, json_string_value(x),
							    json_string_length(x));
			}
		}
	}
	return c;
}

static uint32_t node_count(struct rules *r, const struct cnode *n, uint32_t enough)
{
	return count_in(r, n->det, n, enough);
}

/* Remembers what a true detector node found (a group: its members that did). */
static void node_fired(struct rules *r, const struct cnode *n)
{
	const struct rdet *d = &r->dets[n->det];

	if (d->kind != DK_GROUP) {
		fired(&r->ev, d->name);
		return;
	}
	for (size_t i = 0; i < d->n_members; i++)
		if (count_in(r, d->members[i], n, 1) > 0)
			fired(&r->ev, r->dets[d->members[i]].name);
}

static bool cmp_num(enum cop op, double a, double b)
{
	switch (op) {
	case OP_EQ:
		return a == b;
	case OP_NE:
		return a != b;
	case OP_LT:
		return a < b;
	case OP_LE:
		return a <= b;
	case OP_GT:
		return a > b;
	case OP_GE:
		return a >= b;
	default:
		return false;
	}
}

bool glob_match(const char *p, size_t pn, const char *s, size_t sn)
{
	size_t pi = 0, si = 0, star_p = (size_t)-1, star_s = 0;

	while (si < sn) {
		if (pi < pn && p[pi] == '*') {
			star_p = pi++;
			star_s = si;
			continue;
		}
		if (pi < pn) {
			bool ok = false;
			size_t next = pi + 1;

			if (p[pi] == '?') {
				ok = true;
			} else if (p[pi] == '[') {
				size_t j = pi + 1;
				bool neg = j < pn && (p[j] == '!' || p[j] == '^'), in = false;

				if (neg)
					j++;
				while (j < pn && (p[j] != ']' || j == pi + 1 + neg)) {
					if (j + 2 < pn && p[j + 1] == '-' && p[j + 2] != ']') {
						in |= (unsigned char)s[si] >= (unsigned char)p[j] &&
						      (unsigned char)s[si] <=
							      (unsigned char)p[j + 2];
						j += 3;
					} else {
						in |= s[si] == p[j++];
					}
				}
				if (j < pn) {
					ok = in != neg;
					next = j + 1;
				} else {
					ok = s[si] == '['; /* no closing ']': a plain '[' */
				}
			} else if (p[pi] == '\\' && pi + 1 < pn) {
				ok = s[si] == p[pi + 1];
				next = pi + 2;
			} else {
				ok = s[si] == p[pi];
			}
			if (ok) {
				pi = next;
				si++;
				continue;
			}
		}
		if (star_p == (size_t)-1)
			return false;
		pi = star_p + 1;
		si = ++star_s;
	}
	while (pi < pn && p[pi] == '*')
		pi++;
	return pi == pn;
}

/* Case-insensitive (ASCII) search, linear: a lower-cased copy and memmem. */
static bool icontains(struct rules *r, const char *s, size_t n, const char *v, size_t vn)
{
	struct dynbuf *t = &r->ev.tmp;
	char low[1024];

	if (vn > sizeof(low))
		vn = sizeof(low);
	for (size_t i = 0; i < vn; i++)
		low[i] = (v[i] >= 'A' && v[i] <= 'Z') ? (char)(v[i] + 32) : v[i];
	dynbuf_reset(t);
	if (dynbuf_append(t, s, n) == -ENOMEM) {
		set_err(&r->ev, -ENOMEM);
		return false;
	}
	for (size_t i = 0; i < t->len; i++)
		if (t->buf[i] >= 'A' && t->buf[i] <= 'Z')
			t->buf[i] += 32;
	return vn == 0 || (t->len && memmem(t->buf, t->len, low, vn) != NULL);
}

static bool cmp_str(struct rules *r, const struct cnode *n, const char *s, size_t len)
{
	const struct cvalue *v = n->vals;

	switch (n->op) {
	case OP_EQ:
		return v->len == len && memcmp(v->s, s, len) == 0;
	case OP_NE:
		return !(v->len == len && memcmp(v->s, s, len) == 0);
	case OP_LT:
	case OP_LE:
	case OP_GT:
	case OP_GE: {
		char buf[64], *end;
		double d;

		/* a number written as text (FT_ANY attributes) */
		if (len == 0 || len >= sizeof(buf) || !v->is_num)
			return false;
		memcpy(buf, s, len);
		buf[len] = '\0';
		d = strtod(buf, &end);
		return !*end && cmp_num(n->op, d, v->num);
	}
	case OP_CONTAINS:
		return v->len == 0 || (len && memmem(s, len, v->s, v->len) != NULL);
	case OP_ICONTAINS:
		return icontains(r, s, len, v->s, v->len);
	case OP_STARTSWITH:
		return len >= v->len && memcmp(s, v->s, v->len) == 0;
	case OP_ENDSWITH:
		return len >= v->len && memcmp(s + len - v->len, v->s, v->len) == 0;
	case OP_IN:
		for (size_t i = 0; i < n->n_vals; i++)
			if (n->vals[i].len == len && memcmp(n->vals[i].s, s, len) == 0)
				return true;
		return false;
	case OP_MATCHES: {
		size_t ms, me;
		int rc = rx_search(&r->rx, n->re, s, len, 0, len, &ms, &me);

		if (rc < 0 && r->ev.st)
			r->ev.st->regex_limits++;
		return rc != 0;
	}
	case OP_GLOB:
		return glob_match(v->s, v->len, s, len > GLOB_SUBJECT_CAP ? GLOB_SUBJECT_CAP : len);
	default:
		return false;
	}
}

static bool cmp_json(struct rules *r, const struct cnode *n, json_t *v)
{
	if (json_is_string(v))
		return cmp_str(r, n, json_string_value(v), json_string_length(v));
	if (json_is_number(v)) {
		double d = json_number_value(v);

		if (n->op == OP_IN) {
			for (size_t i = 0; i < n->n_vals; i++)
				if (n->vals[i].is_num && n->vals[i].num == d)
					return true;
			return false;
		}
		if (!n->vals[0].is_num)
			return n->op == OP_NE;
		return cmp_num(n->op, d, n->vals[0].num);
	}
	if (json_is_boolean(v)) {
		bool b = json_is_true(v);
		const char *want = b ? "true" : "false";

		if (n->op == OP_EQ || n->op == OP_NE || n->op == OP_IN) {
			bool eq = false;

			for (size_t i = 0; i < n->n_vals; i++)
				eq |= strcmp(n->vals[i].s, want) == 0;
			return n->op == OP_NE ? !eq : eq;
		}
		return false;
	}
	return false;
}

/* A contains / icontains / matches over a content field: Hyperscan's answer,
 * confirmed by PCRE2 for matches. */
static bool content_pattern(struct rules *r, const struct cnode *n)
{
	struct eval_state *e = &r->ev;
	enum content_field cf = FIELD_CF(n->fid);
	const struct match_scan *sc;
	const struct dynbuf *t;
	size_t k = 0;
	bool whole = false;
	uint64_t t0;

	if (e->pat_result[n->pat] >= 0)
		return e->pat_result[n->pat];
	sc = scanned(r, cf);
	if (n->op != OP_MATCHES || sc->count[n->pat] == 0) {
		e->pat_result[n->pat] = sc->count[n->pat] > 0;
		return e->pat_result[n->pat];
	}
	t = content(r, cf);
	k = add_windows(r, sc, n->pat, MATCHES_WINDOW, 1, t->len, 0, &whole);
	if (whole) {
		e->windows[0] = (struct window){ 0, t->len };
		k = 1;
	}
	t0 = prof_start(r);
	e->pat_result[n->pat] = confirm(r, n->re, t->buf, t->len, e->windows, k, 1) > 0;
	prof_end(r, PS_CONFIRM, cf, t0);
	return e->pat_result[n->pat];
}

/* response.system_prompt_overlap, computed once per record; false if absent. */
static bool overlap(struct rules *r, double *out)
{
	struct eval_state *e = &r->ev;

	if (e->overlap_state < 0) {
		const struct dynbuf *sys = content(r, CF_SYSTEM_PROMPT);
		const struct dynbuf *resp = content(r, CF_RESPONSE);
		uint64_t t0 = prof_start(r);
		int rc = 0;

		if (sys->len && resp->len)
			rc = fields_overlap(sys->buf, sys->len, resp->buf, resp->len, &e->overlap);
		prof_end(r, PS_OVERLAP, CF_RESPONSE, t0);
		if (rc < 0)
			set_err(e, rc);
		e->overlap_state = rc > 0;
	}
	*out = e->overlap;
	return e->overlap_state == 1;
}

static bool eval_cmp(struct rules *r, const struct cnode *n)
{
	json_t *v, *x;
	size_t i;

	if (n->fid == FIELD_SYSPROMPT_OVERLAP) {
		double d;

		if (!overlap(r, &d))
			return false;
		if (n->op == OP_EXISTS)
			return true;
		if (n->op == OP_IN) {
			for (i = 0; i < n->n_vals; i++)
				if (n->vals[i].num == d)
					return true;
			return false;
		}
		return cmp_num(n->op, d, n->vals[0].num);
	}

	if (FIELD_IS_CONTENT(n->fid)) {
		const struct dynbuf *t;

		if (n->pat >= 0)
			return content_pattern(r, n);
		t = content(r, FIELD_CF(n->fid));
		if (n->op == OP_EXISTS || t->len == 0)
			return n->op == OP_EXISTS ? t->len > 0 : false;
		return cmp_str(r, n, t->buf, t->len);
	}
	v = fields_attr(r->ev.rec, n->fid, n->name);
	if (!v || json_is_null(v))
		return false;
	if (n->op == OP_EXISTS)
		return true;
	if (!json_is_array(v))
		return cmp_json(r, n, v);
	/* a list (headers, finish reasons): true when an element is */
	if (n->op == OP_NE) {
		json_array_foreach(v, i, x) {
			if (!cmp_json(r, n, x))
				return false;
		}
		return true;
	}
	json_array_foreach(v, i, x) {
		if (cmp_json(r, n, x))
			return true;
	}
	return false;
}

bool eval_cond(struct rules *r, const struct cnode *n)
{
	uint32_t c;

	switch (n->kind) {
	case CN_AND:
		return eval_cond(r, n->a) && eval_cond(r, n->b);
	case CN_OR:
		return eval_cond(r, n->a) || eval_cond(r, n->b);
	case CN_NOT:
		return !eval_cond(r, n->a);
	case CN_MACRO:
		return eval_cond(r, n->target);
	case CN_TRUE:
		return true;
	case CN_CMP:
		return eval_cmp(r, n);
	case CN_DETECTOR:
		if (node_count(r, n, 1) == 0)
			return false;
		node_fired(r, n);
		return true;
	case CN_COUNT: {
		/* count up to what decides the comparison */
		uint32_t enough = n->n + 1 > COUNT_CAP ? COUNT_CAP : (uint32_t)n->n + 1;
		bool hit;

		c = node_count(r, n, enough);
		hit = cmp_num(n->op, c, (double)n->n);
		if (hit && c > 0)
			node_fired(r, n);
		return hit;
	}
	default:
		return false;
	}
}

/* Appends s[0..n) to the message, one line, within the cap (UTF-8 safe). */
static void put(struct dynbuf *m, const char *s, size_t n, size_t cap)
{
	size_t room = MESSAGE_CAP - m->len, take = n;
	bool cut = false;

	if (take > cap) {
		take = cap;
		cut = true;
	}
	if (take > room) {
		take = room;
		cut = true;
	}
	while (cut && take && ((unsigned char)s[take] & 0xC0) == 0x80)
		take--;
	for (size_t i = 0; i < take; i++) {
		char c = (unsigned char)s[i] < 0x20 ? ' ' : s[i];

		if (dynbuf_append(m, &c, 1))
			return;
	}
	if (cut && m->len + 3 <= MESSAGE_CAP)
		dynbuf_append(m, "\xe2\x80\xa6", 3);
}

static void put_json(struct dynbuf *m, json_t *v)
{
	char num[64];

	if (json_is_string(v)) {
		put(m, json_string_value(v), json_string_length(v), FIELD_IN_MESSAGE_CAP);
	} else if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		put(m, num, strlen(num), sizeof(num));
	} else if (json_is_real(v)) {
		snprintf(num, sizeof(num), "%g", json_real_value(v));
		put(m, num, strlen(num), sizeof(num));
	} else if (json_is_boolean(v)) {
		put(m, json_is_true(v) ? "true" : "false", json_is_true(v) ? 4 : 5, 5);
	} else if (json_is_array(v)) {
		json_t *x;
		size_t i;

		json_array_foreach(v, i, x) {
			if (i)
				put(m, ",", 1, 1);
			put_json(m, x);
		}
	} else {
		put(m, "<NA>", 4, 4);
	}
}

char *eval_render(struct rules *r, const struct rule *ru)
{
	struct dynbuf m;

	dynbuf_init(&m, MESSAGE_CAP);
	for (size_t i = 0; i < ru->n_out; i++) {
		const struct out_seg *s = &ru->out[i];

		switch (s->kind) {
		case OS_TEXT:
			put(&m, s->text, s->len, MESSAGE_CAP);
			break;
		case OS_RULE:
			put(&m, ru->name, strlen(ru->name), MESSAGE_CAP);
			break;
		case OS_SEVERITY:
			put(&m, severity_names[ru->sev], strlen(severity_names[ru->sev]), 16);
			break;
		case OS_DETECTORS:
		case OS_ENTITIES:
			for (size_t k = 0; k < r->ev.n_fired; k++) {
				const char *name = r->ev.fired[k];

				if (s->kind == OS_ENTITIES) {
					for (size_t d = 0; d < r->n_dets; d++)
						if (r->dets[d].name == name)
							name = r->dets[d].entity;
				}
				if (k)
					put(&m, ",", 1, 1);
				put(&m, name, strlen(name), 80);
			}
			if (r->ev.n_fired == 0)
				put(&m, "<NA>", 4, 4);
			break;
		case OS_FIELD:
			if (FIELD_IS_CONTENT(s->fid)) {
				const struct dynbuf *t = content(r, FIELD_CF(s->fid));
				size_t len = t->len;

				/* parts end with a newline: not the message's */
				while (len && t->buf[len - 1] == '\n')
					len--;
				if (len)
					put(&m, t->buf, len, FIELD_IN_MESSAGE_CAP);
				else
					put(&m, "<NA>", 4, 4);
			} else if (s->fid == FIELD_SYSPROMPT_OVERLAP) {
				double d;
				char num[32];

				if (overlap(r, &d))
					snprintf(num, sizeof(num), "%.0f", d);
				else
					snprintf(num, sizeof(num), "<NA>");
				put(&m, num, strlen(num), sizeof(num));
			} else {
				put_json(&m, fields_attr(r->ev.rec, s->fid, s->text));
			}
			break;
		}
	}
	if (!m.buf)
		return strdup("");
	return dynbuf_take(&m, NULL);
}
