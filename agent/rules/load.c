// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Loading rule files: YAML items (rule, macro, list, detector,
 * required_engine_version, ruleset) are collected across files with
 * Falco's override/append semantics, then compiled once, at the end, into
 * a struct rules.  Every error names file:line:col.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules/builtin.h"
#include "rules/internal.h"

const char *const severity_names[SEV_MAX] = { "informational", "low", "medium", "high",
					      "critical" };

/* A YAML node and the file it came from. */
struct src {
	const struct ynode *n;
	const char *file;
};

/* Condition text, with the scalars it was made of (appends), for positions. */
#define MAX_FRAGS 16
struct cond_src {
	char *text;
	size_t len;
	struct {
		size_t off; /* where the scalar's text starts in text */
		struct src s;
	} frags[MAX_FRAGS];
	size_t n;
};

struct list_def {
	const char *name;
	struct src at;
	const char **items;
	size_t n;
};

struct macro_def {
	const char *name;
	struct src at;
	struct cond_src cond;
	struct cnode *tree;
	int state; /* 0 new, 1 being resolved, 2 resolved, 3 failed */
	size_t cost, depth;
};

struct det_def {
	const char *name;
	struct src at;
	struct src pattern, builtin, entity, max_len, case_sensitive, prefilter;
	struct src *keywords, *literals, *members; /* scalars */
	size_t n_keywords, n_literals, n_members;
};

struct rule_def {
	const char *name;
	struct src at;
	struct src id, desc, output, severity, enabled, actions, rate_limit;
	struct cond_src cond;
	struct src *tags, *exceptions, *tests; /* scalars; exception and test items */
	size_t n_tags, n_exceptions, n_tests;
};

struct pat_pos {
	const char *file;
	unsigned line, col;
};

struct ld {
	struct rules *r;
	struct arena *a;
	struct rules_diags *d;
	const char *file;
	int oom;
	struct list_def *lists;
	size_t n_lists, cap_lists;
	struct macro_def *macros;
	size_t n_macros, cap_macros;
	struct det_def *dets;
	size_t n_dets, cap_dets;
	struct rule_def *rules;
	size_t n_rules, cap_rules;
	struct matcher_spec spec;
	struct pat_pos *pat_pos;
	size_t cap_pat_pos;
};

/* ---- diagnostics ---- */

void rules_diags_free(struct rules_diags *d)
{
	free(d->v);
	memset(d, 0, sizeof(*d));
}

static void vdiag(struct ld *l, const char *file, unsigned line, unsigned col, const char *fmt,
		  va_list ap)
{
	struct rules_diag *g;

	if (l->d->n >= RULES_MAX_DIAGS) {
		l->d->dropped++;
		return;
	}
	if (l->d->n == l->d->cap) {
		size_t cap = l->d->cap ? l->d->cap * 2 : 16;
		struct rules_diag *v = realloc(l->d->v, cap * sizeof(*v));

		if (!v) {
			l->oom = 1;
			return;
		}
		l->d->v = v;
		l->d->cap = cap;
	}
	g = &l->d->v[l->d->n++];
	snprintf(g->file, sizeof(g->file), "%s", file ? file : "");
	g->line = line;
	g->col = col;
	vsnprintf(g->msg, sizeof(g->msg), fmt, ap);
}

static void diag_pos(struct ld *l, const char *file, unsigned line, unsigned col, const char *fmt,
		     ...) __attribute__((format(printf, 5, 6)));
static void diag_pos(struct ld *l, const char *file, unsigned line, unsigned col, const char *fmt,
		     ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(l, file, line, col, fmt, ap);
	va_end(ap);
}

static void diag(struct ld *l, struct src s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void diag(struct ld *l, struct src s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(l, s.file, s.n ? s.n->line : 0, s.n ? s.n->col : 0, fmt, ap);
	va_end(ap);
}

/* Where offset off of a scalar's value is in the file (exact for one-line
 * plain and quoted scalars and for literal blocks). */
static void scalar_pos(const struct ynode *n, size_t off, unsigned *line, unsigned *col)
{
	size_t nl = 0, line_start = 0;

	*line = n->line;
	*col = n->col;
	if (off > n->len)
		off = n->len;
	for (size_t i = 0; i < off; i++)
		if (n->str[i] == '\n') {
			nl++;
			line_start = i + 1;
		}
	switch (n->style) {
	case YS_PLAIN:
	case YS_SQUOTED:
	case YS_DQUOTED:
		if (n->end_line == n->line || (nl == 0 && n->style == YS_PLAIN)) {
			/* escapes before off would shift this; they are rare in conditions */
			*col = n->col + (unsigned)off + (n->style == YS_PLAIN ? 0 : 1);
		}
		break;
	case YS_LITERAL:
		*line = n->line + 1 + (unsigned)nl;
		*col = n->indent + 1 + (unsigned)(off - line_start);
		break;
	case YS_FOLDED:
		break;
	}
}

static void diag_cond(struct ld *l, const struct cond_src *c, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void diag_cond(struct ld *l, const struct cond_src *c, size_t off, const char *fmt, ...)
{
	size_t k = 0;
	unsigned line, col;
	va_list ap;

	for (size_t i = 0; i < c->n; i++)
		if (c->frags[i].off <= off)
			k = i;
	scalar_pos(c->frags[k].s.n, off - c->frags[k].off, &line, &col);
	va_start(ap, fmt);
	vdiag(l, c->frags[k].s.file, line, col, fmt, ap);
	va_end(ap);
}

/* ---- helpers ---- */

static void *grow(struct ld *l, void *v, size_t *cap, size_t n, size_t size)
{
	void *nv;
	size_t nc;

	if (n < *cap)
		return v;
	nc = *cap ? *cap * 2 : 16;
	nv = realloc(v, nc * size);
	if (!nv) {
		l->oom = 1;
		return NULL;
	}
	*cap = nc;
	return nv;
}

static struct src at(struct ld *l, const struct ynode *n)
{
	return (struct src){ n, l->file };
}

/* "did you mean" suffix for s among names. */
static void hint(char *buf, size_t size, const char *s, const char *const *names, size_t n)
{
	const char *c = fields_closest(s, names, n);

	if (c)
		snprintf(buf, size, " (did you mean '%s'?)", c);
	else
		buf[0] = '\0';
}

static bool check_keys(struct ld *l, const struct ynode *m, const char *what,
		       const char *const *keys, size_t n_keys)
{
	bool ok = true;
	char h[96];

	for (size_t i = 0; i < m->n; i++) {
		const struct ynode *k = m->items[2 * i];
		size_t j;

		for (j = 0; j < n_keys; j++)
			if (strcmp(k->str, keys[j]) == 0)
				break;
		if (j < n_keys)
			continue;
		hint(h, sizeof(h), k->str, keys, n_keys);
		diag(l, at(l, k), "unknown key '%.60s' in %s%s", k->str, what, h);
		ok = false;
	}
	return ok;
}

static bool want_string(struct ld *l, const struct ynode *n, const char *what)
{
	if (n && n->type == YN_SCALAR && !ynode_is_null(n))
		return true;
	if (n)
		diag(l, at(l, n), "%s must be a string, not %s", what,
		     ynode_is_null(n) ? "empty" : ynode_kind(n));
	return false;
}

/* A scalar or a list of scalars, as an array of src. */
static int string_list(struct ld *l, const struct ynode *n, const char *what, struct src **out,
		       size_t *count)
{
	size_t k = n->type == YN_SEQ ? n->n : 1;
	struct src *v;

	*out = NULL;
	*count = 0;
	if (n->type == YN_MAP) {
		diag(l, at(l, n), "%s must be a list of strings, not a mapping", what);
		return -EINVAL;
	}
	if (k == 0)
		return 0;
	v = arena_alloc(l->a, k * sizeof(*v));
	if (!v) {
		l->oom = 1;
		return -ENOMEM;
	}
	for (size_t i = 0; i < k; i++) {
		const struct ynode *it = n->type == YN_SEQ ? n->items[i] : n;

		if (it->type != YN_SCALAR) {
			diag(l, at(l, it), "%s must be a list of strings, found %s", what,
			     ynode_kind(it));
			return -EINVAL;
		}
		v[i] = at(l, it);
	}
	*out = v;
	*count = k;
	return 0;
}

/* Concatenates two src arrays into the arena (appends). */
static struct src *concat(struct ld *l, const struct src *a, size_t na, const struct src *b,
			  size_t nb)
{
	struct src *v;

	if (na + nb == 0)
		return NULL;
	v = arena_alloc(l->a, (na + nb) * sizeof(*v));
	if (!v) {
		l->oom = 1;
		return NULL;
	}
	if (na)
		memcpy(v, a, na * sizeof(*v));
	if (nb)
		memcpy(v + na, b, nb * sizeof(*v));
	return v;
}

static int cond_set(struct ld *l, struct cond_src *c, const struct ynode *n)
{
	c->text = arena_strndup(l->a, n->str, n->len);
	if (!c->text) {
		l->oom = 1;
		return -ENOMEM;
	}
	c->len = n->len;
	c->n = 1;
	c->frags[0].off = 0;
	c->frags[0].s = at(l, n);
	return 0;
}

/* old + appended: "(" old ") " add, so that an appended "or" cannot change
 * what the base condition meant. */
static int cond_append(struct ld *l, struct cond_src *c, const struct ynode *n)
{
	size_t len = c->len + n->len + 3;
	char *t;

	if (c->n == MAX_FRAGS) {
		diag(l, at(l, n), "more than %d appends to one condition", MAX_FRAGS - 1);
		return -EINVAL;
	}
	t = arena_alloc(l->a, len + 1);
	if (!t) {
		l->oom = 1;
		return -ENOMEM;
	}
	t[0] = '(';
	memcpy(t + 1, c->text, c->len);
	memcpy(t + 1 + c->len, ") ", 2);
	memcpy(t + 3 + c->len, n->str, n->len);
	t[len] = '\0';
	for (size_t i = 0; i < c->n; i++)
		c->frags[i].off += 1;
	c->frags[c->n].off = c->len + 3;
	c->frags[c->n].s = at(l, n);
	c->n++;
	c->text = t;
	c->len = len;
	return 0;
}

/* ---- items ---- */

enum ov_mode { OV_NONE, OV_APPEND, OV_REPLACE };

struct ov {
	const char *key;
	enum ov_mode mode;
	const struct ynode *node;
};

/*
 * Reads override: {key: append|replace}.  Checks each mode is allowed and
 * that the keys of the item and of override are the same.
 */
static int read_override(struct ld *l, const struct ynode *item, const char *name_key,
			 const struct ynode *ovn, const char *const *append_ok, size_t n_append,
			 const char *const *replace_ok, size_t n_replace, struct ov *out,
			 size_t *n_out)
{
	int rc = 0;

	*n_out = 0;
	if (ovn->type != YN_MAP) {
		diag(l, at(l, ovn), "override must be a mapping of key: append|replace");
		return -EINVAL;
	}
	for (size_t i = 0; i < ovn->n; i++) {
		const struct ynode *k = ovn->items[2 * i], *v = ovn->items[2 * i + 1];
		const char *const *ok;
		size_t n_ok, j;
		enum ov_mode mode;

		if (v->type == YN_SCALAR && strcmp(v->str, "append") == 0) {
			mode = OV_APPEND;
			ok = append_ok;
			n_ok = n_append;
		} else if (v->type == YN_SCALAR && strcmp(v->str, "replace") == 0) {
			mode = OV_REPLACE;
			ok = replace_ok;
			n_ok = n_replace;
		} else {
			diag(l, at(l, v), "override mode must be 'append' or 'replace'");
			rc = -EINVAL;
			continue;
		}
		for (j = 0; j < n_ok; j++)
			if (strcmp(k->str, ok[j]) == 0)
				break;
		if (j == n_ok) {
			diag(l, at(l, k), "'%.60s' cannot be overridden with %s", k->str, v->str);
			rc = -EINVAL;
			continue;
		}
		if (!ymap_get(item, k->str)) {
			diag(l, at(l, k), "override names '%.60s' but the item has no such key",
			     k->str);
			rc = -EINVAL;
			continue;
		}
		out[(*n_out)++] = (struct ov){ k->str, mode, ymap_get(item, k->str) };
	}
	for (size_t i = 0; i < item->n; i++) {
		const struct ynode *k = item->items[2 * i];
		bool found = strcmp(k->str, name_key) == 0 || strcmp(k->str, "override") == 0;

		for (size_t j = 0; j < *n_out && !found; j++)
			found = strcmp(out[j].key, k->str) == 0;
		if (!found) {
			diag(l, at(l, k), "'%.60s' is not named in override (append or replace?)",
			     k->str);
			rc = -EINVAL;
		}
	}
	return rc;
}

static const char *item_name(struct ld *l, const struct ynode *item, const char *key)
{
	const struct ynode *n = ymap_get(item, key);

	if (!want_string(l, n, key))
		return NULL;
	if (n->len > 200 || strlen(n->str) != n->len) {
		diag(l, at(l, n), "%s name longer than 200 characters or with a NUL", key);
		return NULL;
	}
	return n->str;
}

static void already(struct ld *l, const struct ynode *n, const char *what, const char *name,
		    struct src prev)
{
	diag(l, at(l, n), "%s '%.80s' is already defined at %s:%u:%u (use override: to change it)",
	     what, name, prev.file, prev.n->line, prev.n->col);
}

static struct list_def *find_list(struct ld *l, const char *name)
{
	for (size_t i = 0; i < l->n_lists; i++)
		if (strcmp(l->lists[i].name, name) == 0)
			return &l->lists[i];
	return NULL;
}

static struct macro_def *find_macro(struct ld *l, const char *name)
{
	for (size_t i = 0; i < l->n_macros; i++)
		if (strcmp(l->macros[i].name, name) == 0)
			return &l->macros[i];
	return NULL;
}

static int find_det(struct ld *l, const char *name)
{
	for (size_t i = 0; i < l->n_dets; i++)
		if (strcmp(l->dets[i].name, name) == 0)
			return (int)i;
	return -1;
}

static struct rule_def *find_rule(struct ld *l, const char *name)
{
	for (size_t i = 0; i < l->n_rules; i++)
		if (strcmp(l->rules[i].name, name) == 0)
			return &l->rules[i];
	return NULL;
}

/* List items: strings; a name of an earlier list is replaced by its items. */
static int list_items(struct ld *l, const struct ynode *n, const char ***out, size_t *count)
{
	size_t cap = 0, k = 0;
	const char **v = NULL;

	*out = NULL;
	*count = 0;
	if (n->type != YN_SEQ) {
		diag(l, at(l, n), "items must be a list, not %s", ynode_kind(n));
		return -EINVAL;
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *it = n->items[i];
		const struct list_def *sub;
		const char *const *src;
		size_t add;

		if (it->type != YN_SCALAR) {
			diag(l, at(l, it), "list items must be strings, found %s", ynode_kind(it));
			return -EINVAL;
		}
		sub = it->style == YS_PLAIN ? find_list(l, it->str) : NULL;
		src = sub ? sub->items : &it->str;
		add = sub ? sub->n : 1;
		if (k + add > 65536) {
			diag(l, at(l, it), "a list holds at most 65536 items");
			return -EINVAL;
		}
		if (k + add > cap) {
			const char **nv;

			cap = (k + add) * 2;
			nv = arena_alloc(l->a, cap * sizeof(*nv));
			if (!nv) {
				l->oom = 1;
				return -ENOMEM;
			}
			if (k)
				memcpy(nv, v, k * sizeof(*nv));
			v = nv;
		}
		memcpy(v + k, src, add * sizeof(*v));
		k += add;
	}
	*out = v;
	*count = k;
	return 0;
}

static void do_list(struct ld *l, const struct ynode *item)
{
	static const char *const keys[] = { "list", "items", "override" };
	static const char *const ov_keys[] = { "items" };
	const struct ynode *items = ymap_get(item, "items"), *ovn = ymap_get(item, "override");
	const char *name = item_name(l, item, "list");
	struct list_def *def;
	const char **v;
	size_t n;

	if (!check_keys(l, item, "a list", keys, 3) || !name)
		return;
	if (!items) {
		diag(l, at(l, item), "list '%.80s' has no items", name);
		return;
	}
	def = find_list(l, name);
	if (ovn) {
		struct ov ov[1];
		size_t n_ov;

		if (read_override(l, item, "list", ovn, ov_keys, 1, ov_keys, 1, ov, &n_ov))
			return;
		if (!def) {
			diag(l, at(l, ymap_get(item, "list")),
			     "no earlier list '%.80s' to override", name);
			return;
		}
		if (list_items(l, items, &v, &n))
			return;
		if (n_ov && ov[0].mode == OV_APPEND) {
			const char **all = arena_alloc(l->a, (def->n + n + 1) * sizeof(*all));

			if (!all) {
				l->oom = 1;
				return;
			}
			if (def->n)
				memcpy(all, def->items, def->n * sizeof(*all));
			if (n)
				memcpy(all + def->n, v, n * sizeof(*all));
			def->items = all;
			def->n += n;
		} else {
			def->items = v;
			def->n = n;
		}
		return;
	}
	if (def) {
		already(l, ymap_get(item, "list"), "list", name, def->at);
		return;
	}
	if (list_items(l, items, &v, &n))
		return;
	l->lists = grow(l, l->lists, &l->cap_lists, l->n_lists, sizeof(*l->lists));
	if (!l->lists)
		return;
	l->lists[l->n_lists++] = (struct list_def){ name, at(l, ymap_get(item, "list")), v, n };
}

static void do_macro(struct ld *l, const struct ynode *item)
{
	static const char *const keys[] = { "macro", "condition", "override" };
	static const char *const ov_keys[] = { "condition" };
	const struct ynode *cond = ymap_get(item, "condition"), *ovn = ymap_get(item, "override");
	const char *name = item_name(l, item, "macro");
	struct macro_def *def;

	if (!check_keys(l, item, "a macro", keys, 3) || !name)
		return;
	if (!cond) {
		diag(l, at(l, item), "macro '%.80s' has no condition", name);
		return;
	}
	if (!want_string(l, cond, "condition"))
		return;
	def = find_macro(l, name);
	if (ovn) {
		struct ov ov[1];
		size_t n_ov;

		if (read_override(l, item, "macro", ovn, ov_keys, 1, ov_keys, 1, ov, &n_ov))
			return;
		if (!def) {
			diag(l, at(l, ymap_get(item, "macro")),
			     "no earlier macro '%.80s' to override", name);
			return;
		}
		if (n_ov && ov[0].mode == OV_APPEND)
			cond_append(l, &def->cond, cond);
		else
			cond_set(l, &def->cond, cond);
		return;
	}
	if (def) {
		already(l, ymap_get(item, "macro"), "macro", name, def->at);
		return;
	}
	l->macros = grow(l, l->macros, &l->cap_macros, l->n_macros, sizeof(*l->macros));
	if (!l->macros)
		return;
	def = &l->macros[l->n_macros++];
	memset(def, 0, sizeof(*def));
	def->name = name;
	def->at = at(l, ymap_get(item, "macro"));
	cond_set(l, &def->cond, cond);
}

static void det_field(struct ld *l, struct det_def *def, const char *key, const struct ynode *v)
{
	struct src s = at(l, v);

	if (strcmp(key, "pattern") == 0)
		def->pattern = s;
	else if (strcmp(key, "builtin") == 0)
		def->builtin = s;
	else if (strcmp(key, "entity") == 0)
		def->entity = s;
	else if (strcmp(key, "max_len") == 0)
		def->max_len = s;
	else if (strcmp(key, "case_sensitive") == 0)
		def->case_sensitive = s;
	else if (strcmp(key, "prefilter") == 0)
		def->prefilter = s;
}

static void do_detector(struct ld *l, const struct ynode *item)
{
	static const char *const keys[] = { "detector", "pattern",	  "keywords",  "prefilter",
					    "literals", "builtin",	  "detectors", "entity",
					    "max_len",	"case_sensitive", "override" };
	static const char *const app_keys[] = { "keywords", "literals", "detectors" };
	static const char *const rep_keys[] = { "pattern",	  "keywords", "literals",
						"detectors",	  "entity",   "max_len",
						"case_sensitive", "prefilter" };
	const struct ynode *ovn = ymap_get(item, "override");
	const char *name = item_name(l, item, "detector");
	struct ov ov[16];
	size_t n_ov = 0;
	struct det_def *def;
	int idx;

	if (!check_keys(l, item, "a detector", keys, sizeof(keys) / sizeof(keys[0])) || !name)
		return;
	idx = find_det(l, name);
	if (ovn) {
		if (read_override(l, item, "detector", ovn, app_keys, 3, rep_keys, 8, ov, &n_ov))
			return;
		if (idx < 0) {
			diag(l, at(l, ymap_get(item, "detector")),
			     "no earlier detector '%.80s' to override", name);
			return;
		}
	} else {
		if (idx >= 0) {
			already(l, ymap_get(item, "detector"), "detector", name, l->dets[idx].at);
			return;
		}
		l->dets = grow(l, l->dets, &l->cap_dets, l->n_dets, sizeof(*l->dets));
		if (!l->dets)
			return;
		idx = (int)l->n_dets++;
		memset(&l->dets[idx], 0, sizeof(l->dets[idx]));
		l->dets[idx].name = name;
		l->dets[idx].at = at(l, ymap_get(item, "detector"));
		for (size_t i = 0; i < item->n; i++)
			ov[n_ov++] = (struct ov){ item->items[2 * i]->str, OV_REPLACE,
						  item->items[2 * i + 1] };
	}
	def = &l->dets[idx];
	for (size_t i = 0; i < n_ov; i++) {
		const char *k = ov[i].key;
		struct src *v, **dst = NULL;
		size_t n, *dn = NULL;

		if (strcmp(k, "detector") == 0 || strcmp(k, "override") == 0)
			continue;
		if (strcmp(k, "keywords") == 0) {
			dst = &def->keywords;
			dn = &def->n_keywords;
		} else if (strcmp(k, "literals") == 0) {
			dst = &def->literals;
			dn = &def->n_literals;
		} else if (strcmp(k, "detectors") == 0) {
			dst = &def->members;
			dn = &def->n_members;
		}
		if (!dst) {
			det_field(l, def, k, ov[i].node);
			continue;
		}
		if (string_list(l, ov[i].node, k, &v, &n))
			continue;
		if (ov[i].mode == OV_APPEND)
			v = concat(l, *dst, *dn, v, n), n += *dn;
		*dst = v;
		*dn = n;
	}
}

static void do_rule(struct ld *l, const struct ynode *item)
{
	static const char *const keys[] = { "rule",	  "id",	      "desc",	    "condition",
					    "output",	  "severity", "tags",	    "enabled",
					    "exceptions", "actions",  "rate_limit", "tests",
					    "override" };
	static const char *const app_keys[] = { "condition", "output",	   "desc",
						"tags",	     "exceptions", "tests" };
	static const char *const rep_keys[] = { "condition",  "output",	  "desc",    "tags",
						"exceptions", "severity", "enabled", "actions",
						"rate_limit", "tests" };
	const struct ynode *ovn = ymap_get(item, "override");
	const char *name = item_name(l, item, "rule");
	struct ov ov[16];
	size_t n_ov = 0;
	struct rule_def *def;

	if (!check_keys(l, item, "a rule", keys, sizeof(keys) / sizeof(keys[0])) || !name)
		return;
	def = find_rule(l, name);
	if (ovn) {
		if (read_override(l, item, "rule", ovn, app_keys, 6, rep_keys, 10, ov, &n_ov))
			return;
		if (!def) {
			diag(l, at(l, ymap_get(item, "rule")),
			     "no earlier rule '%.80s' to override", name);
			return;
		}
	} else {
		static const char *const required[] = { "id", "condition", "output", "severity" };

		if (def) {
			already(l, ymap_get(item, "rule"), "rule", name, def->at);
			return;
		}
		for (size_t i = 0; i < 4; i++) {
			if (!ymap_get(item, required[i])) {
				diag(l, at(l, ymap_get(item, "rule")), "rule '%.80s' has no %s",
				     name, required[i]);
				return;
			}
		}
		l->rules = grow(l, l->rules, &l->cap_rules, l->n_rules, sizeof(*l->rules));
		if (!l->rules)
			return;
		def = &l->rules[l->n_rules++];
		memset(def, 0, sizeof(*def));
		def->name = name;
		def->at = at(l, ymap_get(item, "rule"));
		for (size_t i = 0; i < item->n; i++)
			ov[n_ov++] = (struct ov){ item->items[2 * i]->str, OV_REPLACE,
						  item->items[2 * i + 1] };
	}
	for (size_t i = 0; i < n_ov; i++) {
		const char *k = ov[i].key;
		const struct ynode *v = ov[i].node;
		bool app = ov[i].mode == OV_APPEND;

		if (strcmp(k, "condition") == 0) {
			if (!want_string(l, v, "condition"))
				continue;
			if (app)
				cond_append(l, &def->cond, v);
			else
				cond_set(l, &def->cond, v);
		} else if (strcmp(k, "output") == 0 || strcmp(k, "desc") == 0) {
			struct src *dst = k[0] == 'o' ? &def->output : &def->desc;

			if (!want_string(l, v, k))
				continue;
			if (app && dst->n) {
				/* appended text joins with a space, as in Falco */
				struct ynode *j = arena_alloc(l->a, sizeof(*j));
				size_t len = dst->n->len + 1 + v->len;
				char *t = arena_alloc(l->a, len + 1);

				if (!j || !t) {
					l->oom = 1;
					return;
				}
				*j = *dst->n;
				memcpy(t, dst->n->str, dst->n->len);
				t[dst->n->len] = ' ';
				memcpy(t + dst->n->len + 1, v->str, v->len);
				j->str = t;
				j->len = len;
				*dst = (struct src){ j, dst->file };
			} else {
				*dst = at(l, v);
			}
		} else if (strcmp(k, "tags") == 0 || strcmp(k, "exceptions") == 0 ||
			   strcmp(k, "tests") == 0) {
			struct src **dst = k[0] == 't' ? (k[1] == 'a' ? &def->tags : &def->tests) :
							 &def->exceptions;
			size_t *dn = k[0] == 't' ? (k[1] == 'a' ? &def->n_tags : &def->n_tests) :
						   &def->n_exceptions;
			struct src *items;
			size_t n;

			if (v->type != YN_SEQ) {
				diag(l, at(l, v), "%s must be a list, not %s", k, ynode_kind(v));
				continue;
			}
			items = arena_alloc(l->a, (v->n ? v->n : 1) * sizeof(*items));
			if (!items) {
				l->oom = 1;
				return;
			}
			for (size_t j = 0; j < v->n; j++)
				items[j] = at(l, v->items[j]);
			n = v->n;
			if (app)
				items = concat(l, *dst, *dn, items, n), n += *dn;
			*dst = items;
			*dn = n;
		} else if (strcmp(k, "id") == 0) {
			def->id = at(l, v);
		} else if (strcmp(k, "severity") == 0) {
			def->severity = at(l, v);
		} else if (strcmp(k, "enabled") == 0) {
			def->enabled = at(l, v);
		} else if (strcmp(k, "actions") == 0) {
			def->actions = at(l, v);
		} else if (strcmp(k, "rate_limit") == 0) {
			def->rate_limit = at(l, v);
		}
	}
}

static void do_engine_version(struct ld *l, const struct ynode *item)
{
	const struct ynode *v = ymap_get(item, "required_engine_version");
	long long n;

	if (item->n != 1) {
		diag(l, at(l, item->items[2]), "required_engine_version is an item of its own");
		return;
	}
	if (ynode_int(v, &n) || n < 0) {
		diag(l, at(l, v), "required_engine_version must be a whole number");
		return;
	}
	if (n > RULES_ENGINE_VERSION)
		diag(l, at(l, v), "this file needs rules engine version %lld; llmtap has %d", n,
		     RULES_ENGINE_VERSION);
}

static void do_ruleset(struct ld *l, const struct ynode *item)
{
	static const char *const keys[] = { "name", "version" };
	const struct ynode *v = ymap_get(item, "ruleset"), *ver;
	unsigned a, b, c;
	char end;

	if (item->n != 1) {
		diag(l, at(l, item->items[2]), "ruleset is an item of its own");
		return;
	}
	if (v->type != YN_MAP) {
		diag(l, at(l, v), "ruleset must be a mapping {name, version}");
		return;
	}
	if (!check_keys(l, v, "ruleset", keys, 2))
		return;
	if (!ymap_get(v, "name") || !want_string(l, ymap_get(v, "name"), "ruleset name"))
		diag(l, at(l, v), "ruleset has no name");
	ver = ymap_get(v, "version");
	if (!ver || ver->type != YN_SCALAR || sscanf(ver->str, "%u.%u.%u%c", &a, &b, &c, &end) != 3)
		diag(l, at(l, ver ? ver : v), "ruleset version must be semver (MAJOR.MINOR.PATCH)");
}

static void do_item(struct ld *l, const struct ynode *item)
{
	static const char *const kinds[] = {
		"rule", "macro", "list", "detector", "required_engine_version", "ruleset"
	};
	const char *kind = NULL;
	char h[96];

	if (item->type != YN_MAP) {
		diag(l, at(l, item),
		     "each item must be a mapping (rule, macro, list, detector, ...), not %s",
		     ynode_kind(item));
		return;
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!ymap_get(item, kinds[i]))
			continue;
		if (kind) {
			diag(l, at(l, item),
			     "an item is one of rule, macro, list, detector: found "
			     "both '%s' and '%s'",
			     kind, kinds[i]);
			return;
		}
		kind = kinds[i];
	}
	if (!kind) {
		if (item->n == 0) {
			diag(l, at(l, item), "empty item");
			return;
		}
		hint(h, sizeof(h), item->items[0]->str, kinds, sizeof(kinds) / sizeof(kinds[0]));
		diag(l, at(l, item->items[0]),
		     "unknown item '%.60s': expected rule, macro, list, detector, "
		     "required_engine_version or ruleset%s",
		     item->items[0]->str, h);
		return;
	}
	if (strcmp(kind, "rule") == 0)
		do_rule(l, item);
	else if (strcmp(kind, "macro") == 0)
		do_macro(l, item);
	else if (strcmp(kind, "list") == 0)
		do_list(l, item);
	else if (strcmp(kind, "detector") == 0)
		do_detector(l, item);
	else if (strcmp(kind, "required_engine_version") == 0)
		do_engine_version(l, item);
	else
		do_ruleset(l, item);
}

/* Reads a regular file of at most RULES_MAX_FILE_BYTES into the arena. */
static int read_file(struct ld *l, const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	size_t got = 0;
	char *buf;
	int rc = 0;

	if (fd < 0) {
		rc = -errno;
		diag_pos(l, path, 0, 0, "cannot open: %s", strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		diag_pos(l, path, 0, 0, "not a regular file");
		rc = -EINVAL;
		goto cleanup;
	}
	if ((uint64_t)st.st_size > RULES_MAX_FILE_BYTES) {
		diag_pos(l, path, 0, 0, "larger than %u bytes", RULES_MAX_FILE_BYTES);
		rc = -EFBIG;
		goto cleanup;
	}
	buf = arena_alloc(l->a, (size_t)st.st_size + 1);
	if (!buf) {
		l->oom = 1;
		rc = -ENOMEM;
		goto cleanup;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			diag_pos(l, path, 0, 0, "read error: %s",
				 n < 0 ? strerror(errno) : "file shrank");
			rc = -EIO;
			goto cleanup;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
cleanup:
	close(fd);
	return rc;
}

/* Parses one file's text (buf[len] is NUL) and collects its items. */
static int load_text(struct ld *l, const char *buf, size_t len)
{
	struct ynode *root;
	struct yerror ye;
	int rc;

	rc = ytree_parse(l->a, buf, len, &root, &ye);
	if (rc == -ENOMEM) {
		l->oom = 1;
		return rc;
	}
	if (rc) {
		diag_pos(l, l->file, ye.line, ye.col, "%s", ye.msg);
		return rc;
	}
	if (!root)
		return 0;
	if (root->type != YN_SEQ) {
		diag(l, at(l, root), "a rules file is a list of items (- rule: ...), not %s",
		     ynode_kind(root));
		return -EINVAL;
	}
	for (size_t i = 0; i < root->n && !l->oom; i++)
		do_item(l, root->items[i]);
	return l->oom ? -ENOMEM : 0;
}

static int load_file(struct ld *l, const char *path)
{
	size_t len = 0;
	char *buf = NULL;
	int rc;

	l->file = arena_strdup(l->a, path);
	if (!l->file) {
		l->oom = 1;
		return -ENOMEM;
	}
	rc = read_file(l, l->file, &buf, &len);
	return rc ? rc : load_text(l, buf, len);
}

/* ---- compiling ---- */

static int add_pattern(struct ld *l, const char *text, size_t len, unsigned flags, const char *file,
		       unsigned line, unsigned col)
{
	int id = matcher_spec_add(&l->spec, text, len, flags);

	if (id < 0) {
		l->oom = 1;
		return id;
	}
	l->pat_pos = grow(l, l->pat_pos, &l->cap_pat_pos, (size_t)id, sizeof(*l->pat_pos));
	if (!l->pat_pos)
		return -ENOMEM;
	l->pat_pos[id] = (struct pat_pos){ file, line, col };
	return id;
}

static void upper_name(char *dst, size_t size, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < size; i++)
		dst[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 32) :
			 (s[i] == '-' || s[i] == '.') ? '_' :
							s[i];
	dst[i] = '\0';
}

static bool is_entity_name(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static int compile_detector(struct ld *l, size_t i)
{
	const struct det_def *def = &l->dets[i];
	struct rdet *d = &l->r->dets[i];
	int kinds = !!def->pattern.n + !!def->n_literals + !!def->builtin.n + !!def->n_members;
	bool cs = true;
	long long max_len = DEFAULT_MAX_LEN;
	char entity[72];

	d->name = def->name;
	d->file = def->at.file;
	d->line = def->at.n->line;
	d->col = def->at.n->col;
	d->builtin = -1;
	if (kinds != 1) {
		diag(l, def->at,
		     "detector '%.80s' needs exactly one of pattern, literals, builtin, detectors",
		     def->name);
		return -EINVAL;
	}
	if (def->case_sensitive.n && ynode_bool(def->case_sensitive.n, &cs)) {
		diag(l, def->case_sensitive, "case_sensitive must be true or false");
		return -EINVAL;
	}
	d->caseless = !cs;
	if (def->max_len.n &&
	    (ynode_int(def->max_len.n, &max_len) || max_len < 1 || max_len > MAX_MAX_LEN)) {
		diag(l, def->max_len, "max_len must be a whole number from 1 to %u", MAX_MAX_LEN);
		return -EINVAL;
	}
	d->max_len = (unsigned)max_len;
	if (def->entity.n) {
		if (!want_string(l, def->entity.n, "entity"))
			return -EINVAL;
		if (!is_entity_name(def->entity.n->str)) {
			diag(l, def->entity, "entity must be UPPER_CASE letters, digits and '_'");
			return -EINVAL;
		}
		d->entity = def->entity.n->str;
	}
	if (def->builtin.n) {
		const char *names[64];
		size_t nb = builtin_count() < 64 ? builtin_count() : 64;
		char h[96];
		int b;

		if (!want_string(l, def->builtin.n, "builtin"))
			return -EINVAL;
		b = builtin_lookup(def->builtin.n->str);
		if (b < 0) {
			for (size_t k = 0; k < nb; k++)
				names[k] = builtin_name(k);
			hint(h, sizeof(h), def->builtin.n->str, names, nb);
			diag(l, def->builtin, "unknown built-in detector '%.60s'%s",
			     def->builtin.n->str, h);
			return -EINVAL;
		}
		d->kind = DK_BUILTIN;
		d->builtin = b;
		if (!d->entity)
			d->entity = builtin_entity((size_t)b);
		if (def->pattern.n || def->n_keywords) {
			diag(l, def->at, "a built-in detector takes no pattern or keywords");
			return -EINVAL;
		}
		return 0;
	}
	if (!d->entity) {
		upper_name(entity, sizeof(entity), def->name);
		d->entity = arena_strdup(l->a, entity);
		if (!d->entity)
			return -ENOMEM;
	}
	if (def->n_members) {
		d->kind = DK_GROUP;
		return 0; /* members are resolved once every detector exists */
	}
	if (def->n_literals) {
		d->kind = DK_LITERAL;
		d->pats = arena_alloc(l->a, def->n_literals * sizeof(*d->pats));
		d->lits = arena_alloc(l->a, def->n_literals * sizeof(*d->lits));
		d->lit_lens = arena_alloc(l->a, def->n_literals * sizeof(*d->lit_lens));
		if (!d->pats || !d->lits || !d->lit_lens)
			return -ENOMEM;
		for (size_t k = 0; k < def->n_literals; k++) {
			const struct ynode *n = def->literals[k].n;

			if (n->len == 0 || n->len > 1024) {
				diag(l, def->literals[k], "literals are 1 to 1024 bytes long");
				return -EINVAL;
			}
			d->lits[k] = n->str;
			d->lit_lens[k] = n->len;
			d->pats[k] = add_pattern(l, n->str, n->len,
						 MP_LITERAL | (d->caseless ? MP_CASELESS : 0),
						 def->literals[k].file, n->line, n->col);
			if (d->pats[k] < 0)
				return -ENOMEM;
		}
		d->n_pats = def->n_literals;
		return 0;
	}
	/* a regex */
	{
		const struct ynode *p = def->pattern.n;
		bool no_prefilter = false;
		char err[160];
		size_t off;

		if (!want_string(l, p, "pattern"))
			return -EINVAL;
		if (p->len > 4096) {
			diag(l, def->pattern, "pattern longer than 4096 bytes");
			return -EINVAL;
		}
		if (def->prefilter.n) {
			if (def->prefilter.n->type != YN_SCALAR ||
			    strcmp(def->prefilter.n->str, "none") != 0) {
				diag(l, def->prefilter, "prefilter can only be 'none'");
				return -EINVAL;
			}
			no_prefilter = true;
		}
		if (!def->n_keywords && !no_prefilter) {
			diag(l, def->at,
			     "detector '%.80s' needs keywords (literals every match contains), or "
			     "prefilter: none",
			     def->name);
			return -EINVAL;
		}
		if (def->n_keywords && no_prefilter) {
			diag(l, def->prefilter, "prefilter: none and keywords exclude each other");
			return -EINVAL;
		}
		d->pattern = p->str;
		d->re = rx_compile(p->str, p->len, d->caseless, err, sizeof(err), &off);
		if (!d->re) {
			unsigned line, col;

			scalar_pos(p, off, &line, &col);
			diag_pos(l, def->pattern.file, line, col, "bad regex: %s", err);
			return -EINVAL;
		}
		if (no_prefilter) {
			d->pats = arena_alloc(l->a, sizeof(*d->pats));
			if (!d->pats)
				return -ENOMEM;
			d->pats[0] = add_pattern(l, p->str, p->len, d->caseless ? MP_CASELESS : 0,
						 def->pattern.file, p->line, p->col);
			d->n_pats = 1;
			return d->pats[0] < 0 ? -ENOMEM : 0;
		}
		d->by_keywords = true;
		d->pats = arena_alloc(l->a, def->n_keywords * sizeof(*d->pats));
		d->pat_lens = arena_alloc(l->a, def->n_keywords * sizeof(*d->pat_lens));
		if (!d->pats || !d->pat_lens)
			return -ENOMEM;
		for (size_t k = 0; k < def->n_keywords; k++) {
			const struct ynode *n = def->keywords[k].n;

			if (n->len < 2 || n->len > 256) {
				diag(l, def->keywords[k], "keywords are 2 to 256 bytes long");
				return -EINVAL;
			}
			/* keywords are found in any case, as in gitleaks */
			d->pats[k] = add_pattern(l, n->str, n->len, MP_LITERAL | MP_CASELESS,
						 def->keywords[k].file, n->line, n->col);
			if (d->pats[k] < 0)
				return -ENOMEM;
			d->pat_lens[k] = n->len;
		}
		d->n_pats = def->n_keywords;
	}
	return 0;
}

static int resolve_groups(struct ld *l)
{
	int rc = 0;

	for (size_t i = 0; i < l->n_dets; i++) {
		const struct det_def *def = &l->dets[i];
		struct rdet *d = &l->r->dets[i];

		if (d->kind != DK_GROUP || !def->n_members)
			continue;
		d->members = arena_alloc(l->a, def->n_members * sizeof(*d->members));
		if (!d->members)
			return -ENOMEM;
		for (size_t k = 0; k < def->n_members; k++) {
			int m = find_det(l, def->members[k].n->str);

			if (m < 0) {
				diag(l, def->members[k], "undefined detector '%.80s'",
				     def->members[k].n->str);
				rc = -EINVAL;
				continue;
			}
			if (l->r->dets[m].kind == DK_GROUP) {
				diag(l, def->members[k],
				     "a group cannot contain another group ('%.80s')",
				     def->members[k].n->str);
				rc = -EINVAL;
				continue;
			}
			d->members[d->n_members++] = m;
		}
	}
	return rc;
}

/* How errors of a tree are placed: offsets in a condition, or one node. */
struct where {
	const struct cond_src *cond;
	struct src node;
};

static void wdiag(struct ld *l, const struct where *w, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void wdiag(struct ld *l, const struct where *w, size_t off, const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (w->cond)
		diag_cond(l, w->cond, off, "%s", msg);
	else
		diag(l, w->node, "%s", msg);
}

static const char *const *det_names(struct ld *l, size_t *n)
{
	const char **v = arena_alloc(l->a, (l->n_dets + l->n_macros + 1) * sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < l->n_dets; i++)
		v[(*n)++] = l->dets[i].name;
	for (size_t i = 0; i < l->n_macros; i++)
		v[(*n)++] = l->macros[i].name;
	return v;
}

static int resolve_macro(struct ld *l, struct macro_def *m);

/* A field that a detector or count() can scan: content, or a string attribute. */
static int text_field(struct ld *l, const struct where *w, const struct cnode *n, int *fid)
{
	enum ftype t;
	char h[96];

	if (fields_lookup(n->field, fid, &t, h, sizeof(h))) {
		wdiag(l, w, n->field_off, "unknown field '%.80s'%s%s%s", n->field,
		      h[0] ? " (did you mean '" : "", h, h[0] ? "'?)" : "");
		return -EINVAL;
	}
	if (t == FT_NUM || t == FT_BOOL) {
		wdiag(l, w, n->field_off, "detectors scan text: '%.80s' is not a text field",
		      n->field);
		return -EINVAL;
	}
	return 0;
}

/* Expands list names among the values of an 'in'. */
static int expand_lists(struct ld *l, struct cnode *n)
{
	size_t total = 0, k = 0;
	struct cvalue *v;
	bool any = false;

	for (size_t i = 0; i < n->n_vals; i++) {
		const struct list_def *ld = n->vals[i].quoted ? NULL : find_list(l, n->vals[i].s);

		total += ld ? ld->n : 1;
		any |= ld != NULL;
	}
	if (!any)
		return 0;
	if (total > 65536)
		return -E2BIG;
	v = arena_alloc(l->a, (total ? total : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n->n_vals; i++) {
		const struct list_def *ld = n->vals[i].quoted ? NULL : find_list(l, n->vals[i].s);

		if (!ld) {
			v[k++] = n->vals[i];
			continue;
		}
		for (size_t j = 0; j < ld->n; j++) {
			char *end;
			double d;

			v[k] = (struct cvalue){ .s = ld->items[j],
						.len = strlen(ld->items[j]),
						.quoted = true,
						.off = n->vals[i].off };
			d = strtod(ld->items[j], &end);
			if (ld->items[j][0] && !*end) {
				v[k].is_num = true;
				v[k].num = d;
			}
			k++;
		}
	}
	n->vals = v;
	n->n_vals = k;
	return 0;
}

static int resolve_cmp(struct ld *l, const struct where *w, struct cnode *n)
{
	enum ftype t;
	char h[96];
	int rc;

	if (fields_lookup(n->name, &n->fid, &t, h, sizeof(h))) {
		const char *extra = "";

		if (find_list(l, n->name))
			extra = " ('%s' is a list: use it as 'field in (list)')";
		wdiag(l, w, n->off, "unknown field '%.80s'%s%s%s%s", n->name,
		      h[0] ? " (did you mean '" : "", h, h[0] ? "'?)" : "", extra[0] ? "" : "");
		return -EINVAL;
	}
	if (n->op == OP_EXISTS)
		return 0;
	if (n->op == OP_IN) {
		rc = expand_lists(l, n);
		if (rc == -E2BIG) {
			wdiag(l, w, n->off, "more than 65536 values after expanding lists");
			return -EINVAL;
		}
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < n->n_vals; i++) {
		const struct cvalue *v = &n->vals[i];

		if ((t == FT_NUM || n->op == OP_LT || n->op == OP_LE || n->op == OP_GT ||
		     n->op == OP_GE) &&
		    t != FT_ANY && !v->is_num && !(n->op == OP_IN && t != FT_NUM)) {
			wdiag(l, w, v->off, "'%.80s' is compared with a number, not '%.60s'",
			      n->name, v->s);
			return -EINVAL;
		}
		if (t == FT_BOOL && strcmp(v->s, "true") != 0 && strcmp(v->s, "false") != 0) {
			wdiag(l, w, v->off, "'%.80s' is true or false, not '%.60s'", n->name, v->s);
			return -EINVAL;
		}
	}
	if ((t == FT_NUM || t == FT_BOOL) &&
	    (n->op == OP_CONTAINS || n->op == OP_ICONTAINS || n->op == OP_STARTSWITH ||
	     n->op == OP_ENDSWITH || n->op == OP_MATCHES || n->op == OP_GLOB)) {
		wdiag(l, w, n->off, "'%s' applies to text; '%.80s' is a %s", cond_op_name(n->op),
		      n->name, t == FT_NUM ? "number" : "boolean");
		return -EINVAL;
	}
	if ((t == FT_STR || t == FT_BOOL) &&
	    (n->op == OP_LT || n->op == OP_LE || n->op == OP_GT || n->op == OP_GE)) {
		wdiag(l, w, n->off, "'%s' compares numbers; '%.80s' is %s", cond_op_name(n->op),
		      n->name, t == FT_STR ? "text" : "a boolean");
		return -EINVAL;
	}
	if (n->op == OP_GLOB && n->vals[0].len > 1024) {
		wdiag(l, w, n->vals[0].off, "glob pattern longer than 1024 bytes");
		return -EINVAL;
	}
	if (n->op == OP_MATCHES) {
		const struct cvalue *v = &n->vals[0];
		char err[160];
		size_t off;

		if (v->len > 4096) {
			wdiag(l, w, v->off, "regex longer than 4096 bytes");
			return -EINVAL;
		}
		n->re = rx_compile(v->s, v->len, false, err, sizeof(err), &off);
		if (!n->re) {
			wdiag(l, w, v->off + (v->quoted ? 1 : 0) + off, "bad regex: %s", err);
			return -EINVAL;
		}
	}
	if (FIELD_IS_CONTENT(n->fid) &&
	    (n->op == OP_MATCHES || n->op == OP_CONTAINS || n->op == OP_ICONTAINS)) {
		/* one Hyperscan pass per content field answers these */
		const struct cvalue *v = &n->vals[0];
		unsigned line = 0, col = 0;
		const char *file = w->node.file;

		if (v->len == 0) {
			wdiag(l, w, v->off, "empty %s value", cond_op_name(n->op));
			return -EINVAL;
		}
		if (w->cond) {
			size_t k = 0;

			for (size_t i = 0; i < w->cond->n; i++)
				if (w->cond->frags[i].off <= v->off)
					k = i;
			scalar_pos(w->cond->frags[k].s.n, v->off - w->cond->frags[k].off, &line,
				   &col);
			file = w->cond->frags[k].s.file;
		} else if (w->node.n) {
			line = w->node.n->line;
			col = w->node.n->col;
		}
		n->pat = add_pattern(l, v->s, v->len,
				     MP_SINGLE | (n->op == OP_MATCHES ? 0 : MP_LITERAL) |
					     (n->op == OP_ICONTAINS ? MP_CASELESS : 0),
				     file, line, col);
		if (n->pat < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Resolves names in a tree; cost/depth of the expanded tree are returned. */
static int resolve(struct ld *l, const struct where *w, struct cnode *n, size_t *cost,
		   size_t *depth)
{
	size_t c1 = 0, d1 = 0, c2 = 0, d2 = 0;
	char h[96];
	int rc = 0, det;

	switch (n->kind) {
	case CN_AND:
	case CN_OR:
		rc = resolve(l, w, n->a, &c1, &d1);
		rc = resolve(l, w, n->b, &c2, &d2) ?: rc;
		break;
	case CN_NOT:
		rc = resolve(l, w, n->a, &c1, &d1);
		break;
	case CN_CMP:
		rc = resolve_cmp(l, w, n);
		break;
	case CN_NAME: {
		struct macro_def *m = find_macro(l, n->name);
		const char *const *names;
		size_t nn;
		int fid;
		enum ftype t;

		if (m) {
			rc = resolve_macro(l, m);
			if (rc == -ELOOP) {
				wdiag(l, w, n->off,
				      "macro '%.80s' refers to itself (through other macros)",
				      n->name);
				return -EINVAL;
			}
			if (rc)
				return rc;
			n->kind = CN_MACRO;
			n->target = m->tree;
			n->macro_name = m->name;
			c1 = m->cost;
			d1 = m->depth;
			break;
		}
		det = find_det(l, n->name);
		if (det >= 0) {
			n->kind = CN_DETECTOR;
			n->det = det;
			n->fid = -1;
			break;
		}
		if (fields_lookup(n->name, &fid, &t, NULL, 0) == 0) {
			wdiag(l, w, n->off,
			      "'%.80s' is a field, not a condition: compare it (e.g. '%.80s exists')",
			      n->name, n->name);
			return -EINVAL;
		}
		names = det_names(l, &nn);
		if (!names)
			return -ENOMEM;
		hint(h, sizeof(h), n->name, names, nn);
		wdiag(l, w, n->off, "undefined macro or detector '%.80s'%s", n->name, h);
		return -EINVAL;
	}
	case CN_DETECTOR:
	case CN_COUNT: {
		const char *const *names;
		size_t nn;

		det = find_det(l, n->name);
		if (det < 0) {
			names = det_names(l, &nn);
			if (!names)
				return -ENOMEM;
			hint(h, sizeof(h), n->name, names, nn);
			wdiag(l, w, n->off + (n->kind == CN_COUNT ? 6 : 0),
			      "undefined detector '%.80s'%s", n->name, h);
			return -EINVAL;
		}
		n->det = det;
		n->fid = -1;
		if (n->field && text_field(l, w, n, &n->fid))
			return -EINVAL;
		if (n->kind == CN_COUNT && n->n > COUNT_CAP) {
			wdiag(l, w, n->off, "count() is compared with at most %d", COUNT_CAP);
			return -EINVAL;
		}
		break;
	}
	default:
		break;
	}
	*cost = 1 + c1 + c2;
	*depth = 1 + (d1 > d2 ? d1 : d2);
	if (*cost > MAX_TREE_COST || *depth > MAX_TREE_DEPTH) {
		wdiag(l, w, n->off, "condition too large once macros are expanded");
		return -EINVAL;
	}
	return rc;
}

static int resolve_macro(struct ld *l, struct macro_def *m)
{
	struct cond_error ce;
	struct where w = { .cond = &m->cond };
	int rc;

	if (m->state == 2)
		return 0;
	if (m->state == 1)
		return -ELOOP;
	if (m->state == 3)
		return -EINVAL;
	m->state = 1;
	rc = cond_parse(l->a, m->cond.text, m->cond.len, &m->tree, &ce);
	if (rc == -EINVAL)
		diag_cond(l, &m->cond, ce.off, "%s", ce.msg);
	if (!rc)
		rc = resolve(l, &w, m->tree, &m->cost, &m->depth);
	m->state = rc ? 3 : 2;
	/* a loop is reported where it is closed, once */
	return rc == -ELOOP ? -EINVAL : rc;
}

static struct cnode *new_node(struct ld *l, enum cnode_kind k)
{
	struct cnode *n = arena_alloc(l->a, sizeof(*n));

	if (!n) {
		l->oom = 1;
		return NULL;
	}
	n->kind = k;
	n->fid = n->det = n->pat = -1;
	return n;
}

static int value_of(struct ld *l, const struct ynode *y, struct cvalue *v)
{
	char *end;

	if (y->type != YN_SCALAR) {
		diag(l, at(l, y), "exception values are strings or lists, not %s", ynode_kind(y));
		return -EINVAL;
	}
	*v = (struct cvalue){ .s = y->str, .len = y->len, .quoted = y->style != YS_PLAIN };
	v->num = strtod(y->str, &end);
	v->is_num = y->len && !*end && y->style == YS_PLAIN;
	return 0;
}

static bool parse_op(const char *s, enum cop *op)
{
	static const enum cop all[] = { OP_EQ,	       OP_NE,	    OP_LT,	 OP_LE,
					OP_GT,	       OP_GE,	    OP_CONTAINS, OP_ICONTAINS,
					OP_STARTSWITH, OP_ENDSWITH, OP_IN,	 OP_MATCHES,
					OP_GLOB };

	if (strcmp(s, "==") == 0) {
		*op = OP_EQ;
		return true;
	}
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(s, cond_op_name(all[i])) == 0) {
			*op = all[i];
			return true;
		}
	return false;
}

/* One exception: or over its value tuples of (and over fields). */
static struct cnode *exception_tree(struct ld *l, struct src ex)
{
	static const char *const keys[] = { "name", "fields", "comps", "values" };
	const struct ynode *e = ex.n, *fn, *cn, *vn;
	const struct ynode *fields[16], *comps[16];
	size_t nf;
	bool scalar;
	struct cnode *any = NULL;
	struct where w = { .node = ex };
	const char *saved = l->file;

	l->file = ex.file;
	if (e->type != YN_MAP) {
		diag(l, ex, "an exception is a mapping {name, fields, comps, values}");
		goto fail;
	}
	if (!check_keys(l, e, "an exception", keys, 4))
		goto fail;
	if (!ymap_get(e, "name") || !want_string(l, ymap_get(e, "name"), "exception name")) {
		diag(l, ex, "exception without a name");
		goto fail;
	}
	fn = ymap_get(e, "fields");
	cn = ymap_get(e, "comps");
	vn = ymap_get(e, "values");
	if (!fn) {
		diag(l, ex, "exception '%.60s' has no fields", ymap_get(e, "name")->str);
		goto fail;
	}
	scalar = fn->type == YN_SCALAR;
	nf = scalar ? 1 : fn->n;
	if (fn->type == YN_MAP || nf == 0 || nf > 16) {
		diag(l, at(l, fn), "fields is a field name or a list of 1 to 16 field names");
		goto fail;
	}
	if (cn && (scalar ? cn->type != YN_SCALAR : (cn->type != YN_SEQ || cn->n != nf))) {
		diag(l, at(l, cn), "comps must have one operator per field (%zu)", nf);
		goto fail;
	}
	for (size_t i = 0; i < nf; i++) {
		fields[i] = scalar ? fn : fn->items[i];
		comps[i] = cn ? (scalar ? cn : cn->items[i]) : NULL;
		if (fields[i]->type != YN_SCALAR || (comps[i] && comps[i]->type != YN_SCALAR)) {
			diag(l, at(l, fields[i]), "fields and comps are strings");
			goto fail;
		}
	}
	if (!vn || vn->type == YN_SCALAR) {
		if (vn && !ynode_is_null(vn)) {
			diag(l, at(l, vn), "values must be a list");
			goto fail;
		}
		l->file = saved;
		return new_node(l, CN_TRUE); /* no values: excludes nothing */
	}
	if (vn->type != YN_SEQ) {
		diag(l, at(l, vn), "values must be a list");
		goto fail;
	}
	if (scalar) {
		/* fields: f, comps: in, values: [a, b]: one test against the set */
		enum cop op = OP_IN;
		struct cnode *n = new_node(l, CN_CMP);
		size_t cost, depth;

		if (comps[0] && !parse_op(comps[0]->str, &op)) {
			diag(l, at(l, comps[0]), "unknown operator '%.40s'", comps[0]->str);
			goto fail;
		}
		if (!n)
			goto fail;
		n->name = fields[0]->str;
		n->op = op;
		n->n_vals = op == OP_IN ? vn->n : 1;
		if (op != OP_IN && vn->n != 1) {
			diag(l, at(l, vn), "with '%s', a single field takes one value",
			     cond_op_name(op));
			goto fail;
		}
		n->vals = arena_alloc(l->a, (n->n_vals ? n->n_vals : 1) * sizeof(*n->vals));
		if (!n->vals) {
			l->oom = 1;
			goto fail;
		}
		for (size_t i = 0; i < n->n_vals; i++)
			if (value_of(l, vn->items[i], &n->vals[i]))
				goto fail;
		w.node = at(l, fields[0]);
		if (resolve(l, &w, n, &cost, &depth))
			goto fail;
		l->file = saved;
		return n;
	}
	for (size_t t = 0; t < vn->n; t++) {
		const struct ynode *tuple = vn->items[t];
		struct cnode *all = NULL;

		if (tuple->type != YN_SEQ || tuple->n != nf) {
			diag(l, at(l, tuple), "each value is a list of %zu (one per field)", nf);
			goto fail;
		}
		for (size_t i = 0; i < nf; i++) {
			const struct ynode *val = tuple->items[i];
			struct cnode *n = new_node(l, CN_CMP);
			enum cop op = OP_EQ;
			size_t cost, depth;

			if (!n)
				goto fail;
			if (comps[i] && !parse_op(comps[i]->str, &op)) {
				diag(l, at(l, comps[i]), "unknown operator '%.40s'", comps[i]->str);
				goto fail;
			}
			n->name = fields[i]->str;
			n->op = op;
			if (op == OP_IN && val->type == YN_SEQ) {
				n->n_vals = val->n;
				n->vals =
					arena_alloc(l->a, (val->n ? val->n : 1) * sizeof(*n->vals));
				if (!n->vals) {
					l->oom = 1;
					goto fail;
				}
				for (size_t k = 0; k < val->n; k++)
					if (value_of(l, val->items[k], &n->vals[k]))
						goto fail;
			} else {
				n->n_vals = 1;
				n->vals = arena_alloc(l->a, sizeof(*n->vals));
				if (!n->vals) {
					l->oom = 1;
					goto fail;
				}
				if (value_of(l, val, n->vals))
					goto fail;
			}
			w.node = at(l, val);
			if (resolve(l, &w, n, &cost, &depth))
				goto fail;
			if (all) {
				struct cnode *a = new_node(l, CN_AND);

				if (!a)
					goto fail;
				a->a = all;
				a->b = n;
				n = a;
			}
			all = n;
		}
		if (any) {
			struct cnode *o = new_node(l, CN_OR);

			if (!o)
				goto fail;
			o->a = any;
			o->b = all;
			all = o;
		}
		any = all;
	}
	l->file = saved;
	return any ? any : new_node(l, CN_TRUE);
fail:
	l->file = saved;
	return NULL;
}

/* Parses an output template into segments, checking every %field. */
static int compile_output(struct ld *l, struct rule *ru, struct src out)
{
	const char *s = out.n->str;
	size_t n = out.n->len, k = 0, cap = 8;
	struct out_seg *seg = arena_alloc(l->a, cap * sizeof(*seg));

	if (!seg)
		return -ENOMEM;
	for (size_t i = 0; i < n;) {
		size_t j = i, name_start, name_len;
		bool braces;
		char name[128];

		if (k + 2 > cap) {
			struct out_seg *ns = arena_alloc(l->a, 2 * cap * sizeof(*ns));

			if (!ns)
				return -ENOMEM;
			memcpy(ns, seg, k * sizeof(*ns));
			seg = ns;
			cap *= 2;
		}
		while (j < n && s[j] != '%')
			j++;
		if (j > i)
			seg[k++] = (struct out_seg){ .kind = OS_TEXT, .text = s + i, .len = j - i };
		if (j >= n)
			break;
		if (j + 1 < n && s[j + 1] == '%') {
			seg[k++] = (struct out_seg){ .kind = OS_TEXT, .text = "%", .len = 1 };
			i = j + 2;
			continue;
		}
		braces = j + 1 < n && s[j + 1] == '{';
		name_start = j + 1 + braces;
		name_len = 0;
		while (name_start + name_len < n) {
			char c = s[name_start + name_len];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
			      (braces && c == '-')))
				break;
			name_len++;
		}
		/* a sentence's full stop after %field is not part of the name */
		while (!braces && name_len && s[name_start + name_len - 1] == '.')
			name_len--;
		if (name_len == 0 || name_len >= sizeof(name) ||
		    (braces && (name_start + name_len >= n || s[name_start + name_len] != '}'))) {
			unsigned line, col;

			scalar_pos(out.n, j, &line, &col);
			diag_pos(
				l, out.file, line, col,
				"'%%' in output starts a field (%%name or %%{name}); write %%%% for "
				"a percent sign");
			return -EINVAL;
		}
		memcpy(name, s + name_start, name_len);
		name[name_len] = '\0';
		seg[k] = (struct out_seg){ .kind = OS_FIELD,
					   .text = arena_strdup(l->a, name),
					   .len = name_len };
		if (!seg[k].text)
			return -ENOMEM;
		if (strcmp(name, "rule") == 0) {
			seg[k].kind = OS_RULE;
		} else if (strcmp(name, "severity") == 0) {
			seg[k].kind = OS_SEVERITY;
		} else if (strcmp(name, "match.detectors") == 0) {
			seg[k].kind = OS_DETECTORS;
		} else if (strcmp(name, "match.entities") == 0) {
			seg[k].kind = OS_ENTITIES;
		} else {
			enum ftype t;
			char h[96];

			if (fields_lookup(name, &seg[k].fid, &t, h, sizeof(h))) {
				unsigned line, col;

				scalar_pos(out.n, j, &line, &col);
				diag_pos(l, out.file, line, col,
					 "unknown field '%%%s' in output%s%s%s", name,
					 h[0] ? " (did you mean '%" : "", h, h[0] ? "'?)" : "");
				return -EINVAL;
			}
		}
		k++;
		i = name_start + name_len + braces;
	}
	ru->out = seg;
	ru->n_out = k;
	return 0;
}

static bool tag_ok(const char *t)
{
	size_t n = strlen(t);
	unsigned a, b;
	char end;

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') || t[i] == '_' ||
		      t[i] == '.' || t[i] == '-'))
			return false;
	if (strncmp(t, "owasp.", 6) == 0)
		return sscanf(t, "owasp.llm%2u%c", &a, &end) == 1 && a >= 1 && a <= 10 &&
		       strlen(t) == 11;
	if (strncmp(t, "atlas.", 6) == 0) {
		size_t k = 0;

		if (strncmp(t, "atlas.aml.t", 11) != 0)
			return false;
		for (k = 11; t[k] >= '0' && t[k] <= '9'; k++)
			;
		if (k != 15)
			return false;
		if (!t[k])
			return true;
		return sscanf(t + k, ".%3u%c", &b, &end) == 1 && strlen(t + k) == 4;
	}
	if (strncmp(t, "attack.", 7) == 0) {
		size_t k;

		if (t[7] != 't' || !(t[8] >= '0' && t[8] <= '9')) {
			/* a tactic: attack.credential_access */
			for (k = 7; t[k]; k++)
				if (!((t[k] >= 'a' && t[k] <= 'z') || t[k] == '_'))
					return false;
			return k > 7;
		}
		for (k = 8; t[k] >= '0' && t[k] <= '9'; k++)
			;
		if (k != 12)
			return false;
		return !t[k] || (sscanf(t + k, ".%3u%c", &b, &end) == 1 && strlen(t + k) == 4);
	}
	return true;
}

/* Entities of the detectors in a tree (for a bare `redact` action). */
static void tree_entities(struct ld *l, const struct cnode *n, const char **out, size_t *k,
			  size_t cap, int depth)
{
	if (!n || depth > MAX_TREE_DEPTH)
		return;
	switch (n->kind) {
	case CN_AND:
	case CN_OR:
		tree_entities(l, n->a, out, k, cap, depth + 1);
		tree_entities(l, n->b, out, k, cap, depth + 1);
		break;
	case CN_NOT:
		break; /* what must be absent is not what to redact */
	case CN_MACRO:
		tree_entities(l, n->target, out, k, cap, depth + 1);
		break;
	case CN_DETECTOR:
	case CN_COUNT: {
		const struct rdet *d = &l->r->dets[n->det];

		if (d->kind == DK_GROUP) {
			for (size_t i = 0; i < d->n_members && *k < cap; i++)
				out[(*k)++] = l->r->dets[d->members[i]].entity;
		} else if (*k < cap) {
			out[(*k)++] = d->entity;
		}
		break;
	}
	default:
		break;
	}
}

/* The redaction engine finds its built-in entities only: those can be redacted. */
static bool entity_known(const char *e)
{
	/* NULL: a detector that did not compile (already reported) */
	return e && (strcmp(e, "*") == 0 || builtin_by_entity(e) >= 0);
}

static int compile_redact(struct ld *l, struct rule *ru, struct src act, const struct ynode *spec)
{
	static const char *const keys[] = { "entities", "mode" };
	static const char *const modes[] = { "hmac", "mask", "partial", "drop" };
	const char *ents[RULES_MAX_REDACT];
	size_t n = 0;
	enum rules_redact_mode mode = RULES_REDACT_DEFAULT;
	const struct ynode *en = NULL, *mn = NULL;
	char h[96];

	if (spec && !ynode_is_null(spec)) {
		if (spec->type != YN_MAP) {
			diag(l, at(l, spec), "redact takes {entities: [...], mode: ...}");
			return -EINVAL;
		}
		if (!check_keys(l, spec, "redact", keys, 2))
			return -EINVAL;
		en = ymap_get(spec, "entities");
		mn = ymap_get(spec, "mode");
	}
	if (mn) {
		size_t i;

		for (i = 0; i < 4; i++)
			if (mn->type == YN_SCALAR && strcmp(mn->str, modes[i]) == 0)
				break;
		if (i == 4) {
			hint(h, sizeof(h), mn->type == YN_SCALAR ? mn->str : "", modes, 4);
			diag(l, at(l, mn), "redact mode must be hmac, mask, partial or drop%s", h);
			return -EINVAL;
		}
		mode = (enum rules_redact_mode)(RULES_REDACT_HMAC + i);
	}
	if (en) {
		struct src *v;
		size_t k;

		if (string_list(l, en, "entities", &v, &k))
			return -EINVAL;
		for (size_t i = 0; i < k && n < RULES_MAX_REDACT; i++) {
			if (!entity_known(v[i].n->str)) {
				diag(l, v[i],
				     "cannot redact '%.60s': not a built-in entity (EMAIL, "
				     "CREDIT_CARD, AWS_ACCESS_KEY, ...) or '*'",
				     v[i].n->str);
				return -EINVAL;
			}
			ents[n++] = v[i].n->str;
		}
	} else {
		const char *found[RULES_MAX_REDACT];
		size_t nf = 0;

		tree_entities(l, ru->cond, found, &nf, RULES_MAX_REDACT, 0);
		for (size_t i = 0; i < nf; i++)
			if (entity_known(found[i]))
				ents[n++] = found[i];
		if (n == 0) {
			diag(l, act,
			     "redact without entities needs a built-in detector in the "
			     "condition");
			return -EINVAL;
		}
	}
	ru->redact = arena_alloc(l->a, (n ? n : 1) * sizeof(*ru->redact));
	if (!ru->redact)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		ru->redact[i] = (struct redact_act){ ents[i], mode };
	ru->n_redact = n;
	return 0;
}

static int compile_actions(struct ld *l, struct rule *ru, struct src acts)
{
	static const char *const names[] = { "alert", "redact", "tag" };
	const struct ynode *a = acts.n;
	char h[96];
	int rc = 0;

	ru->alert = false;
	if (a->type != YN_SEQ) {
		diag(l, acts, "actions must be a list (alert, redact, tag)");
		return -EINVAL;
	}
	for (size_t i = 0; i < a->n; i++) {
		const struct ynode *it = a->items[i], *arg = NULL;
		struct src s = { it, acts.file };
		const char *name;

		if (it->type == YN_SCALAR) {
			name = it->str;
		} else if (it->type == YN_MAP && it->n == 1) {
			name = it->items[0]->str;
			arg = it->items[1];
			s.n = it->items[0];
		} else {
			diag(l, s, "an action is a name or {name: arguments}");
			rc = -EINVAL;
			continue;
		}
		if (strcmp(name, "alert") == 0) {
			ru->alert = true;
		} else if (strcmp(name, "redact") == 0) {
			rc = compile_redact(l, ru, s, arg) ?: rc;
		} else if (strcmp(name, "tag") == 0) {
			struct src *v;
			size_t k;

			if (!arg || string_list(l, arg, "tag", &v, &k) || k == 0) {
				if (!arg)
					diag(l, s, "tag needs a label: {tag: NAME}");
				rc = -EINVAL;
				continue;
			}
			ru->labels = arena_alloc(l->a, k * sizeof(*ru->labels));
			if (!ru->labels)
				return -ENOMEM;
			for (size_t j = 0; j < k; j++) {
				if (!tag_ok(v[j].n->str)) {
					diag(l, v[j], "invalid label '%.60s'", v[j].n->str);
					rc = -EINVAL;
				}
				ru->labels[j] = v[j].n->str;
			}
			ru->n_labels = k;
		} else if (strcmp(name, "block") == 0 || strcmp(name, "drop") == 0 ||
			   strcmp(name, "kill") == 0) {
			diag(l, s,
			     "action '%s' is not available: llmtap observes traffic, it is "
			     "not inline",
			     name);
			rc = -EINVAL;
		} else {
			hint(h, sizeof(h), name, names, 3);
			diag(l, s, "unknown action '%.60s'%s", name, h);
			rc = -EINVAL;
		}
	}
	return rc;
}

static int parse_duration(const struct ynode *n, uint64_t *ns)
{
	long long v;
	char unit = 's', *end;

	if (ynode_int(n, &v) != 0) {
		if (n->type != YN_SCALAR || n->len < 2)
			return -EINVAL;
		errno = 0;
		v = strtoll(n->str, &end, 10);
		if (errno || end == n->str || end[1] != '\0')
			return -EINVAL;
		unit = *end;
	}
	if (v < 1 || v > 86400 * 7)
		return -EINVAL;
	switch (unit) {
	case 's':
		break;
	case 'm':
		v *= 60;
		break;
	case 'h':
		v *= 3600;
		break;
	default:
		return -EINVAL;
	}
	if (v > 86400 * 7)
		return -EINVAL;
	*ns = (uint64_t)v * 1000000000ull;
	return 0;
}

static int compile_tests(struct ld *l, struct rule *ru, const struct rule_def *def)
{
	static const char *const keys[] = { "name", "input", "expect", "message" };
	int rc = 0;

	if (!def->n_tests)
		return 0;
	ru->tests = arena_alloc(l->a, def->n_tests * sizeof(*ru->tests));
	if (!ru->tests)
		return -ENOMEM;
	for (size_t i = 0; i < def->n_tests; i++) {
		struct src s = def->tests[i];
		const struct ynode *t = s.n, *name, *input, *expect, *msg;
		struct rule_test *rt = &ru->tests[ru->n_tests];
		const char *saved = l->file;

		l->file = s.file;
		if (t->type != YN_MAP) {
			diag(l, s, "a test is a mapping {name, input, expect}");
			rc = -EINVAL;
			l->file = saved;
			continue;
		}
		if (!check_keys(l, t, "a test", keys, 4)) {
			rc = -EINVAL;
			l->file = saved;
			continue;
		}
		name = ymap_get(t, "name");
		input = ymap_get(t, "input");
		expect = ymap_get(t, "expect");
		msg = ymap_get(t, "message");
		l->file = saved;
		if (!name || !input || !expect) {
			diag(l, s, "a test needs name, input and expect");
			rc = -EINVAL;
			continue;
		}
		if (name->type != YN_SCALAR || (msg && msg->type != YN_SCALAR)) {
			diag(l, s, "test name and message are strings");
			rc = -EINVAL;
			continue;
		}
		if (input->type != YN_MAP) {
			diag(l, (struct src){ input, s.file },
			     "test input is a mapping of field: value");
			rc = -EINVAL;
			continue;
		}
		for (size_t k = 0; k < input->n; k++) {
			const struct ynode *key = input->items[2 * k];
			int fid;
			enum ftype ft;
			char h[96];

			if (fields_lookup(key->str, &fid, &ft, h, sizeof(h)) ||
			    (FIELD_IS_CONTENT(fid) && FIELD_CF(fid) >= CF_PROMPT_DECODED)) {
				diag(l, (struct src){ key, s.file },
				     "unknown test input field '%.80s'%s%s%s", key->str,
				     h[0] ? " (did you mean '" : "", h, h[0] ? "'?)" : "");
				rc = -EINVAL;
			}
		}
		if (expect->type != YN_SCALAR ||
		    (strcmp(expect->str, "match") != 0 && strcmp(expect->str, "no_match") != 0)) {
			diag(l, (struct src){ expect, s.file }, "expect is 'match' or 'no_match'");
			rc = -EINVAL;
			continue;
		}
		*rt = (struct rule_test){ .name = name->str,
					  .file = s.file,
					  .line = t->line,
					  .col = t->col,
					  .input = input,
					  .expect = strcmp(expect->str, "match") == 0,
					  .message = msg ? msg->str : NULL };
		ru->n_tests++;
	}
	return rc;
}

static bool id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return false;
	return true;
}

static int compile_rule(struct ld *l, size_t i)
{
	const struct rule_def *def = &l->rules[i];
	struct rule *ru = &l->r->rules[i];
	struct where w = { .cond = &def->cond };
	struct cond_error ce;
	size_t cost, depth;
	int rc;

	ru->name = def->name;
	ru->file = def->at.file;
	ru->line = def->at.n->line;
	ru->col = def->at.n->col;
	ru->enabled = true;
	ru->alert = true;
	if (!want_string(l, def->id.n, "id"))
		return -EINVAL;
	if (!id_ok(def->id.n->str)) {
		diag(l, def->id, "id is 1 to 64 letters, digits, '_', '-' or '.'");
		return -EINVAL;
	}
	ru->id = def->id.n->str;
	for (size_t k = 0; k < i; k++) {
		if (l->r->rules[k].id && strcmp(l->r->rules[k].id, ru->id) == 0) {
			diag(l, def->id, "duplicate id '%s' (also rule '%.80s' at %s:%u:%u)",
			     ru->id, l->r->rules[k].name, l->r->rules[k].file,
			     l->rules[k].id.n->line, l->rules[k].id.n->col);
			return -EINVAL;
		}
	}
	if (def->desc.n) {
		if (!want_string(l, def->desc.n, "desc"))
			return -EINVAL;
		ru->desc = def->desc.n->str;
	}
	if (!want_string(l, def->severity.n, "severity"))
		return -EINVAL;
	for (ru->sev = 0; ru->sev < SEV_MAX; ru->sev++)
		if (strcmp(def->severity.n->str, severity_names[ru->sev]) == 0)
			break;
	if (ru->sev == SEV_MAX) {
		char h[96];

		hint(h, sizeof(h), def->severity.n->str, severity_names, SEV_MAX);
		diag(l, def->severity,
		     "severity must be informational, low, medium, high or critical%s", h);
		return -EINVAL;
	}
	if (def->enabled.n && ynode_bool(def->enabled.n, &ru->enabled)) {
		diag(l, def->enabled, "enabled must be true or false");
		return -EINVAL;
	}
	if (def->n_tags) {
		ru->tags = arena_alloc(l->a, def->n_tags * sizeof(*ru->tags));
		if (!ru->tags)
			return -ENOMEM;
		for (size_t k = 0; k < def->n_tags; k++) {
			const struct ynode *t = def->tags[k].n;

			if (t->type != YN_SCALAR || !tag_ok(t->str)) {
				diag(l, def->tags[k],
				     "invalid tag '%.60s' (lower case; owasp.llm01..owasp.llm10, "
				     "atlas.aml.tNNNN[.NNN], attack.tNNNN[.NNN])",
				     t->type == YN_SCALAR ? t->str : "");
				return -EINVAL;
			}
			ru->tags[ru->n_tags++] = t->str;
		}
	}
	rc = cond_parse(l->a, def->cond.text, def->cond.len, &ru->cond, &ce);
	if (rc == -EINVAL)
		diag_cond(l, &def->cond, ce.off, "%s", ce.msg);
	if (rc)
		return rc;
	rc = resolve(l, &w, ru->cond, &cost, &depth);
	if (rc)
		return rc;
	for (size_t k = 0; k < def->n_exceptions; k++) {
		struct cnode *ex = exception_tree(l, def->exceptions[k]), *nn, *aa;

		if (!ex)
			return l->oom ? -ENOMEM : -EINVAL;
		if (ex->kind == CN_TRUE)
			continue;
		nn = new_node(l, CN_NOT);
		aa = new_node(l, CN_AND);
		if (!nn || !aa)
			return -ENOMEM;
		nn->a = ex;
		aa->a = ru->cond;
		aa->b = nn;
		ru->cond = aa;
	}
	if (!want_string(l, def->output.n, "output"))
		return -EINVAL;
	rc = compile_output(l, ru, def->output);
	if (rc)
		return rc;
	if (def->actions.n) {
		rc = compile_actions(l, ru, def->actions);
		if (rc)
			return rc;
	}
	if (def->rate_limit.n) {
		const struct ynode *rl = def->rate_limit.n, *mx, *wn;
		static const char *const keys[] = { "max", "window" };
		long long m;
		const char *saved = l->file;

		l->file = def->rate_limit.file;
		if (rl->type != YN_MAP || !check_keys(l, rl, "rate_limit", keys, 2)) {
			if (rl->type != YN_MAP)
				diag(l, def->rate_limit, "rate_limit is {max: N, window: 60s}");
			l->file = saved;
			return -EINVAL;
		}
		l->file = saved;
		mx = ymap_get(rl, "max");
		wn = ymap_get(rl, "window");
		if (!mx || ynode_int(mx, &m) || m < 1 || m > 1000000) {
			diag(l, (struct src){ mx ? mx : rl, def->rate_limit.file },
			     "rate_limit max is a whole number from 1 to 1000000");
			return -EINVAL;
		}
		if (!wn || parse_duration(wn, &ru->rl_window_ns)) {
			diag(l, (struct src){ wn ? wn : rl, def->rate_limit.file },
			     "rate_limit window is a duration: 30s, 5m, 1h (at most 7 days)");
			return -EINVAL;
		}
		ru->rl_max = (unsigned)m;
	}
	return compile_tests(l, ru, def);
}

/* Files of a path: the file, or the *.yaml / *.yml of a directory, sorted. */
static int expand_path(struct ld *l, const char *path, char ***files, size_t *n, size_t *cap)
{
	struct stat st;
	struct dirent **ents = NULL;
	int k, rc = 0;

	if (stat(path, &st) != 0) {
		diag_pos(l, path, 0, 0, "cannot read: %s", strerror(errno));
		return -ENOENT;
	}
	if (!S_ISDIR(st.st_mode)) {
		*files = grow(l, *files, cap, *n, sizeof(**files));
		if (!*files)
			return -ENOMEM;
		(*files)[(*n)++] = (char *)path;
		return 0;
	}
	k = scandir(path, &ents, NULL, alphasort);
	if (k < 0) {
		diag_pos(l, path, 0, 0, "cannot list: %s", strerror(errno));
		return -errno;
	}
	for (int i = 0; i < k; i++) {
		const char *name = ents[i]->d_name;
		size_t len = strlen(name);
		char *full;

		if (rc || name[0] == '.' ||
		    !((len > 5 && strcmp(name + len - 5, ".yaml") == 0) ||
		      (len > 4 && strcmp(name + len - 4, ".yml") == 0)))
			continue;
		if (*n >= RULES_MAX_FILES) {
			diag_pos(l, path, 0, 0, "more than %d rule files", RULES_MAX_FILES);
			rc = -E2BIG;
			continue;
		}
		full = arena_alloc(l->a, strlen(path) + len + 2);
		*files = grow(l, *files, cap, *n, sizeof(**files));
		if (!full || !*files) {
			l->oom = 1;
			rc = -ENOMEM;
			continue;
		}
		sprintf(full, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", name);
		(*files)[(*n)++] = full;
	}
	for (int i = 0; i < k; i++)
		free(ents[i]);
	free(ents);
	return rc;
}

static void ld_free(struct ld *l)
{
	free(l->lists);
	free(l->macros);
	free(l->dets);
	free(l->rules);
	free(l->pat_pos);
	matcher_spec_free(&l->spec);
}

static void free_codes(struct rules *r, const struct cnode *n, int depth)
{
	/* PCRE2 codes of conditions live outside the arena; macro trees are
	 * freed where they are defined (CN_MACRO is not followed) */
	if (!n || depth > MAX_TREE_DEPTH)
		return;
	if (n->kind == CN_AND || n->kind == CN_OR) {
		free_codes(r, n->a, depth + 1);
		free_codes(r, n->b, depth + 1);
	} else if (n->kind == CN_NOT) {
		free_codes(r, n->a, depth + 1);
	} else if (n->kind == CN_CMP && n->re) {
		pcre2_code_free(n->re);
		((struct cnode *)n)->re = NULL;
	}
}

/* ---- one Hyperscan database per content field ---- */

#define ALL_CONTENT \
	((1u << CF_PROMPT) | (1u << CF_RESPONSE) | (1u << CF_TOOL_ARGUMENTS)) /* eval.c count_in */

/* Marks detector di's patterns as tested on the fields in cfs. */
static void mark_det(const struct rules *r, int di, unsigned cfs, uint16_t *use, int depth)
{
	const struct rdet *d;

	if (di < 0 || (size_t)di >= r->n_dets || depth > 64)
		return;
	d = &r->dets[di];
	if (d->kind == DK_GROUP) {
		for (size_t i = 0; i < d->n_members; i++)
			mark_det(r, d->members[i], cfs, use, depth + 1);
		return;
	}
	if (d->kind != DK_REGEX && d->kind != DK_LITERAL)
		return;
	for (size_t i = 0; i < d->n_pats; i++)
		if (d->pats[i] >= 0 && (size_t)d->pats[i] < r->m.n_pats)
			use[d->pats[i]] |= (uint16_t)cfs;
}

/* Marks what a condition tests with the matcher, on which content fields
 * (eval.c: scanned() from det_count and content_pattern). */
static void mark_tree(const struct rules *r, const struct cnode *n, uint16_t *use, int depth)
{
	for (; n && depth <= 4 * MAX_TREE_DEPTH; depth++) {
		switch (n->kind) {
		case CN_AND:
		case CN_OR:
			mark_tree(r, n->b, use, depth + 1);
			n = n->a;
			continue;
		case CN_NOT:
			n = n->a;
			continue;
		case CN_MACRO:
			n = n->target;
			continue;
		case CN_DETECTOR:
		case CN_COUNT:
			if (n->fid < 0)
				mark_det(r, n->det, ALL_CONTENT, use, 0);
			else if (FIELD_IS_CONTENT(n->fid) && FIELD_CF(n->fid) < CF_MAX)
				mark_det(r, n->det, 1u << FIELD_CF(n->fid), use, 0);
			return;
		case CN_CMP:
			if (FIELD_IS_CONTENT(n->fid) && FIELD_CF(n->fid) < CF_MAX && n->pat >= 0 &&
			    (size_t)n->pat < r->m.n_pats)
				use[n->pat] |= (uint16_t)(1u << FIELD_CF(n->fid));
			return;
		default:
			return;
		}
	}
}

/*
 * Builds r->mf: each content field is scanned with the patterns its
 * conditions test, not all of them.  Best effort: on any failure the full
 * database serves every field, as before.
 */
static void build_field_matchers(struct ld *l, struct rules *r)
{
	uint16_t *use;
	bool *take;
	int cf;

	if (!r->m.db || r->m.n_pats == 0)
		return;
	use = calloc(r->m.n_pats, sizeof(*use));
	take = calloc(r->m.n_pats, sizeof(*take));
	if (!use || !take)
		goto cleanup;
	for (size_t i = 0; i < r->n_rules; i++)
		mark_tree(r, r->rules[i].cond, use, 0);
	for (cf = 0; cf < CF_MAX; cf++) {
		for (size_t i = 0; i < r->m.n_pats; i++)
			take[i] = use[i] & (1u << cf);
		if (matcher_build_subset(&l->spec, take, &r->mf[cf]))
			break;
	}
	r->per_field = cf == CF_MAX;
	if (!r->per_field)
		for (cf = 0; cf < CF_MAX; cf++)
			matcher_free(&r->mf[cf]);
cleanup:
	free(use);
	free(take);
}

void rules_free(struct rules *r)
{
	if (!r)
		return;
	eval_state_free(r);
	for (size_t i = 0; i < r->n_rules; i++)
		free_codes(r, r->rules[i].cond, 0);
	for (size_t i = 0; i < r->n_macro_roots; i++)
		free_codes(r, r->macro_roots[i], 0);
	for (size_t i = 0; i < r->n_dets; i++)
		pcre2_code_free(r->dets[i].re);
	matcher_free(&r->m);
	for (int cf = 0; cf < CF_MAX; cf++)
		matcher_free(&r->mf[cf]);
	rx_env_free(&r->rx);
	arena_free(&r->arena);
	free(r);
}

size_t rules_count(const struct rules *r)
{
	return r ? r->n_rules : 0;
}

size_t rules_count_enabled(const struct rules *r)
{
	size_t n = 0;

	for (size_t i = 0; r && i < r->n_rules; i++)
		n += r->rules[i].enabled;
	return n;
}

size_t rules_n_files(const struct rules *r)
{
	return r ? r->n_files : 0;
}

/* Compiles what l collected into l->r; on success *out owns it. */
static int compile_all(struct ld *l0, struct rules **out)
{
	struct ld l = *l0;
	struct rules *r = l.r;
	struct rules_diags *d = l.d;
	char err[200];
	int rc = 0, bad;

	if (l.oom)
		goto oom;
	r->dets = arena_alloc(l.a, (l.n_dets ? l.n_dets : 1) * sizeof(*r->dets));
	r->rules = arena_alloc(l.a, (l.n_rules ? l.n_rules : 1) * sizeof(*r->rules));
	if (!r->dets || !r->rules)
		goto oom;
	r->n_dets = l.n_dets;
	for (size_t i = 0; i < l.n_dets; i++)
		if (compile_detector(&l, i) == -ENOMEM)
			l.oom = 1;
	if (resolve_groups(&l) == -ENOMEM)
		l.oom = 1;
	for (size_t i = 0; i < l.n_macros && !l.oom; i++)
		if (resolve_macro(&l, &l.macros[i]) == -ENOMEM)
			l.oom = 1;
	/* macro trees hold PCRE2 codes too: kept to be freed with the set */
	r->macro_roots = arena_alloc(l.a, (l.n_macros ? l.n_macros : 1) * sizeof(*r->macro_roots));
	if (!r->macro_roots)
		goto oom;
	for (size_t i = 0; i < l.n_macros; i++)
		if (l.macros[i].tree)
			r->macro_roots[r->n_macro_roots++] = l.macros[i].tree;
	r->n_rules = l.n_rules;
	for (size_t i = 0; i < l.n_rules && !l.oom; i++)
		if (compile_rule(&l, i) == -ENOMEM)
			l.oom = 1;
	if (l.oom)
		goto oom;
	if (d->n == 0) {
		rc = matcher_build(&l.spec, &r->m, &bad, err, sizeof(err));
		if (rc == -EINVAL && bad >= 0 && (size_t)bad < l.spec.n)
			diag_pos(&l, l.pat_pos[bad].file, l.pat_pos[bad].line, l.pat_pos[bad].col,
				 "pattern not accepted by Hyperscan: %s", err);
		else if (rc == -ENOMEM)
			goto oom;
	}
	if (d->n == 0)
		build_field_matchers(&l, r);
	if (d->n == 0 && (rx_env_init(&r->rx) || eval_state_init(r)))
		goto oom;
	if (d->n) {
		rc = -EINVAL;
		goto fail;
	}
	ld_free(&l);
	*out = r;
	return 0;
oom:
	rc = -ENOMEM;
fail:
	ld_free(&l);
	rules_free(r);
	return rc;
}

static struct rules *start(struct ld *l, struct rules_diags *d, struct rules **out)
{
	struct rules *r = calloc(1, sizeof(*r));

	*out = NULL;
	memset(l, 0, sizeof(*l));
	if (!r)
		return NULL;
	arena_init(&r->arena, RULES_ARENA_CAP);
	l->r = r;
	l->d = d;
	l->a = &r->arena;
	return r;
}

int rules_load(const char *const *paths, size_t n_paths, struct rules **out, struct rules_diags *d)
{
	char **files = NULL;
	size_t n_files = 0, cap_files = 0;
	struct ld l;
	struct rules *r = start(&l, d, out);

	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < n_paths; i++)
		expand_path(&l, paths[i], &files, &n_files, &cap_files);
	for (size_t i = 0; i < n_files && !l.oom; i++)
		load_file(&l, files[i]);
	r->n_files = n_files;
	free(files);
	return compile_all(&l, out);
}

int rules_load_mem(const char *name, const char *text, size_t len, struct rules **out,
		   struct rules_diags *d)
{
	struct ld l;
	struct rules *r = start(&l, d, out);
	char *copy;

	if (!r)
		return -ENOMEM;
	l.file = arena_strdup(l.a, name);
	copy = len <= RULES_MAX_FILE_BYTES ? arena_strndup(l.a, text, len) : NULL;
	if (!l.file || (!copy && len <= RULES_MAX_FILE_BYTES))
		l.oom = 1;
	else if (!copy)
		diag_pos(&l, name, 0, 0, "larger than %u bytes", RULES_MAX_FILE_BYTES);
	else
		load_text(&l, copy, len);
	r->n_files = 1;
	return compile_all(&l, out);
}
