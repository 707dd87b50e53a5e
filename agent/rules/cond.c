// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "cond.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum tok { T_EOF, T_LPAREN, T_RPAREN, T_COMMA, T_WORD, T_STRING, T_OP };

struct token {
	enum tok t;
	unsigned off;
	const char *s; /* WORD, STRING (unescaped, in the arena), OP */
	size_t len;
	enum cop op; /* T_OP */
};

struct parser {
	struct arena *a;
	const char *text;
	size_t len, pos;
	struct token cur;
	int depth;
	size_t nodes;
	struct cond_error *err;
	int rc; /* first error (sticky) */
};

static const struct {
	const char *name;
	enum cop op;
} word_ops[] = {
	{ "contains", OP_CONTAINS },
	{ "icontains", OP_ICONTAINS },
	{ "startswith", OP_STARTSWITH },
	{ "endswith", OP_ENDSWITH },
	{ "in", OP_IN },
	{ "exists", OP_EXISTS },
	{ "matches", OP_MATCHES },
	{ "glob", OP_GLOB },
};

static const char *const op_names[] = {
	[OP_EQ] = "=",
	[OP_NE] = "!=",
	[OP_LT] = "<",
	[OP_LE] = "<=",
	[OP_GT] = ">",
	[OP_GE] = ">=",
	[OP_CONTAINS] = "contains",
	[OP_ICONTAINS] = "icontains",
	[OP_STARTSWITH] = "startswith",
	[OP_ENDSWITH] = "endswith",
	[OP_IN] = "in",
	[OP_EXISTS] = "exists",
	[OP_MATCHES] = "matches",
	[OP_GLOB] = "glob",
};

const char *cond_op_name(enum cop op)
{
	return op <= OP_GLOB ? op_names[op] : "?";
}

bool cond_is_keyword(const char *s, size_t n)
{
	static const char *const kw[] = { "and", "or", "not", "count" };

	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
		if (strlen(kw[i]) == n && memcmp(kw[i], s, n) == 0)
			return true;
	for (size_t i = 0; i < sizeof(word_ops) / sizeof(word_ops[0]); i++)
		if (strlen(word_ops[i].name) == n && memcmp(word_ops[i].name, s, n) == 0)
			return true;
	return false;
}

static int perr(struct parser *p, unsigned off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int perr(struct parser *p, unsigned off, const char *fmt, ...)
{
	va_list ap;

	if (p->rc)
		return p->rc;
	p->err->off = off;
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	va_end(ap);
	p->rc = -EINVAL;
	return p->rc;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Characters that end a bare word. */
static bool is_delim(char c)
{
	return is_space(c) || c == '(' || c == ')' || c == ',' || c == '"' || c == '\'' ||
	       c == '=' || c == '!' || c == '<' || c == '>' || c == '\0';
}

/* A quoted string: '...' or "..." with \\ \' \" \n \t escapes. */
static int lex_string(struct parser *p)
{
	char q = p->text[p->pos], *out;
	size_t start = p->pos, i = p->pos + 1, n = 0;

	out = arena_alloc(p->a, p->len - p->pos + 1);
	if (!out)
		return p->rc = -ENOMEM;
	while (i < p->len && p->text[i] != q) {
		char c = p->text[i];

		if (c == '\\' && i + 1 < p->len) {
			char e = p->text[++i];

			c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
			if (e != 'n' && e != 't' && e != 'r' && e != '\\' && e != '\'' &&
			    e != '"') {
				/* keep unknown escapes as written: regexes use them */
				out[n++] = '\\';
			}
		}
		out[n++] = c;
		i++;
	}
	if (i >= p->len)
		return perr(p, (unsigned)start, "unterminated string");
	out[n] = '\0';
	p->cur = (struct token){ .t = T_STRING, .off = (unsigned)start, .s = out, .len = n };
	p->pos = i + 1;
	return 0;
}

static int next(struct parser *p)
{
	const char *t = p->text;
	size_t i;

	if (p->rc)
		return p->rc;
	while (p->pos < p->len && is_space(t[p->pos]))
		p->pos++;
	i = p->pos;
	p->cur = (struct token){ .t = T_EOF, .off = (unsigned)i };
	if (i >= p->len)
		return 0;
	switch (t[i]) {
	case '(':
		p->cur.t = T_LPAREN;
		p->pos++;
		return 0;
	case ')':
		p->cur.t = T_RPAREN;
		p->pos++;
		return 0;
	case ',':
		p->cur.t = T_COMMA;
		p->pos++;
		return 0;
	case '"':
	case '\'':
		return lex_string(p);
	case '=':
	case '!':
	case '<':
	case '>': {
		bool eq2 = i + 1 < p->len && t[i + 1] == '=';

		p->cur.t = T_OP;
		p->cur.s = t + i;
		if (t[i] == '=') {
			p->cur.op = OP_EQ;
			p->pos += eq2 ? 2 : 1;
		} else if (t[i] == '!') {
			if (!eq2)
				return perr(p, (unsigned)i,
					    "unexpected '!' (did you mean '!=' or 'not'?)");
			p->cur.op = OP_NE;
			p->pos += 2;
		} else {
			p->cur.op = t[i] == '<' ? (eq2 ? OP_LE : OP_LT) : (eq2 ? OP_GE : OP_GT);
			p->pos += eq2 ? 2 : 1;
		}
		p->cur.len = p->pos - i;
		return 0;
	}
	default:
		break;
	}
	if ((unsigned char)t[i] < 0x20)
		return perr(p, (unsigned)i, "unexpected control character");
	while (p->pos < p->len && !is_delim(t[p->pos]))
		p->pos++;
	p->cur.t = T_WORD;
	p->cur.s = t + i;
	p->cur.len = p->pos - i;
	return 0;
}

static bool word_is(const struct token *k, const char *w)
{
	return k->t == T_WORD && k->len == strlen(w) && memcmp(k->s, w, k->len) == 0;
}

static struct cnode *node(struct parser *p, enum cnode_kind kind, unsigned off)
{
	struct cnode *n;

	if (p->rc)
		return NULL;
	if (++p->nodes > COND_MAX_NODES) {
		perr(p, off, "condition too large (more than %d terms)", COND_MAX_NODES);
		return NULL;
	}
	n = arena_alloc(p->a, sizeof(*n));
	if (!n) {
		p->rc = -ENOMEM;
		return NULL;
	}
	n->kind = kind;
	n->off = off;
	n->fid = n->det = n->pat = -1;
	return n;
}

static const char *tok_text(struct parser *p, const struct token *k)
{
	if (k->t == T_STRING)
		return k->s;
	return arena_strndup(p->a, k->s, k->len);
}

static const char *describe(const struct token *k, char *buf, size_t size)
{
	switch (k->t) {
	case T_EOF:
		return "end of condition";
	case T_LPAREN:
		return "'('";
	case T_RPAREN:
		return "')'";
	case T_COMMA:
		return "','";
	case T_STRING:
		return "a quoted string";
	default:
		snprintf(buf, size, "'%.*s'", (int)(k->len > 40 ? 40 : k->len), k->s);
		return buf;
	}
}

/* Parses a number written as a whole word (checked, finite). */
static bool parse_num(const char *s, size_t n, double *out)
{
	char buf[64], *end;
	double v;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (!((buf[0] >= '0' && buf[0] <= '9') || buf[0] == '-' || buf[0] == '+' || buf[0] == '.'))
		return false;
	v = strtod(buf, &end);
	if (*end || !isfinite(v))
		return false;
	*out = v;
	return true;
}

static int value(struct parser *p, struct cvalue *v)
{
	char buf[64];

	if (p->cur.t != T_WORD && p->cur.t != T_STRING)
		return perr(p, p->cur.off, "expected a value, found %s",
			    describe(&p->cur, buf, sizeof(buf)));
	v->s = tok_text(p, &p->cur);
	if (!v->s)
		return p->rc = -ENOMEM;
	v->len = p->cur.t == T_STRING ? p->cur.len : strlen(v->s);
	v->quoted = p->cur.t == T_STRING;
	v->off = p->cur.off;
	v->is_num = !v->quoted && parse_num(v->s, v->len, &v->num);
	return next(p);
}

static struct cnode *or_expr(struct parser *p);

/* count(detector[, field]) op N */
static struct cnode *count_expr(struct parser *p, unsigned off)
{
	struct cnode *n = node(p, CN_COUNT, off);
	char buf[64];
	double v;

	if (!n || next(p)) /* past '(' */
		return NULL;
	if (p->cur.t != T_WORD) {
		perr(p, p->cur.off, "count() needs a detector name, found %s",
		     describe(&p->cur, buf, sizeof(buf)));
		return NULL;
	}
	n->name = tok_text(p, &p->cur);
	n->field_off = p->cur.off;
	if (!n->name || next(p))
		return NULL;
	if (p->cur.t == T_COMMA) {
		if (next(p))
			return NULL;
		if (p->cur.t != T_WORD) {
			perr(p, p->cur.off, "count() needs a field after ',', found %s",
			     describe(&p->cur, buf, sizeof(buf)));
			return NULL;
		}
		n->field = tok_text(p, &p->cur);
		n->field_off = p->cur.off;
		if (!n->field || next(p))
			return NULL;
	}
	if (p->cur.t != T_RPAREN) {
		perr(p, p->cur.off, "expected ')' after count(%s, found %s", n->name,
		     describe(&p->cur, buf, sizeof(buf)));
		return NULL;
	}
	if (next(p))
		return NULL;
	if (p->cur.t != T_OP) {
		perr(p, p->cur.off, "count() must be compared with =, !=, <, <=, > or >=");
		return NULL;
	}
	n->op = p->cur.op;
	if (next(p))
		return NULL;
	if (p->cur.t != T_WORD || !parse_num(p->cur.s, p->cur.len, &v) || v < 0 || v > 1e9 ||
	    v != (double)(long long)v) {
		perr(p, p->cur.off, "count() is compared with a whole number");
		return NULL;
	}
	n->n = (long long)v;
	return next(p) ? NULL : n;
}

/* field op value, field in (v, ...), field exists */
static struct cnode *comparison(struct parser *p, const struct token *name)
{
	struct cnode *n = node(p, CN_CMP, name->off);
	char buf[64];

	if (!n)
		return NULL;
	n->name = tok_text(p, name);
	if (!n->name)
		return NULL;
	if (p->cur.t == T_OP) {
		n->op = p->cur.op;
	} else {
		size_t i;

		for (i = 0; i < sizeof(word_ops) / sizeof(word_ops[0]); i++)
			if (word_is(&p->cur, word_ops[i].name))
				break;
		n->op = word_ops[i].op;
	}
	if (next(p))
		return NULL;
	if (n->op == OP_EXISTS)
		return n;
	if (n->op == OP_IN) {
		size_t cap = 8;

		if (p->cur.t != T_LPAREN) {
			perr(p, p->cur.off, "expected '(' after 'in', found %s",
			     describe(&p->cur, buf, sizeof(buf)));
			return NULL;
		}
		if (next(p))
			return NULL;
		n->vals = arena_alloc(p->a, cap * sizeof(*n->vals));
		if (!n->vals) {
			p->rc = -ENOMEM;
			return NULL;
		}
		while (p->cur.t != T_RPAREN) {
			if (n->n_vals == cap) {
				struct cvalue *nv;

				if (cap >= 65536) {
					perr(p, p->cur.off, "more than 65536 values in a list");
					return NULL;
				}
				nv = arena_alloc(p->a, 2 * cap * sizeof(*nv));
				if (!nv) {
					p->rc = -ENOMEM;
					return NULL;
				}
				memcpy(nv, n->vals, cap * sizeof(*nv));
				n->vals = nv;
				cap *= 2;
			}
			if (value(p, &n->vals[n->n_vals++]))
				return NULL;
			if (p->cur.t == T_COMMA) {
				if (next(p))
					return NULL;
			} else if (p->cur.t != T_RPAREN) {
				perr(p, p->cur.off, "expected ',' or ')' in the list, found %s",
				     describe(&p->cur, buf, sizeof(buf)));
				return NULL;
			}
		}
		return next(p) ? NULL : n;
	}
	n->vals = arena_alloc(p->a, sizeof(*n->vals));
	if (!n->vals) {
		p->rc = -ENOMEM;
		return NULL;
	}
	n->n_vals = 1;
	return value(p, n->vals) ? NULL : n;
}

static bool is_op_word(const struct token *k)
{
	for (size_t i = 0; i < sizeof(word_ops) / sizeof(word_ops[0]); i++)
		if (word_is(k, word_ops[i].name))
			return true;
	return false;
}

static struct cnode *atom(struct parser *p)
{
	struct token name;
	struct cnode *n;
	char buf[64];

	if (p->rc)
		return NULL;
	if (p->cur.t == T_LPAREN) {
		unsigned off = p->cur.off;

		if (next(p))
			return NULL;
		n = or_expr(p);
		if (!n)
			return NULL;
		if (p->cur.t != T_RPAREN) {
			perr(p, p->cur.t == T_EOF ? off : p->cur.off,
			     p->cur.t == T_EOF ? "unbalanced '('" : "expected ')', found %s",
			     describe(&p->cur, buf, sizeof(buf)));
			return NULL;
		}
		return next(p) ? NULL : n;
	}
	if (p->cur.t != T_WORD || word_is(&p->cur, "and") || word_is(&p->cur, "or") ||
	    is_op_word(&p->cur)) {
		perr(p, p->cur.off, "expected a field, detector or macro name, found %s",
		     describe(&p->cur, buf, sizeof(buf)));
		return NULL;
	}
	name = p->cur;
	if (next(p))
		return NULL;
	if (p->cur.t == T_LPAREN && name.len == 5 && memcmp(name.s, "count", 5) == 0)
		return count_expr(p, name.off);
	if (p->cur.t == T_OP || is_op_word(&p->cur))
		return comparison(p, &name);
	if (p->cur.t == T_LPAREN) {
		/* detector(field) */
		n = node(p, CN_DETECTOR, name.off);
		if (!n || !(n->name = tok_text(p, &name)) || next(p))
			return NULL;
		if (p->cur.t != T_WORD) {
			perr(p, p->cur.off, "expected a field name in %s(...), found %s", n->name,
			     describe(&p->cur, buf, sizeof(buf)));
			return NULL;
		}
		n->field = tok_text(p, &p->cur);
		n->field_off = p->cur.off;
		if (!n->field || next(p))
			return NULL;
		if (p->cur.t != T_RPAREN) {
			perr(p, p->cur.off, "expected ')', found %s",
			     describe(&p->cur, buf, sizeof(buf)));
			return NULL;
		}
		return next(p) ? NULL : n;
	}
	n = node(p, CN_NAME, name.off);
	if (n && !(n->name = tok_text(p, &name)))
		p->rc = -ENOMEM;
	return p->rc ? NULL : n;
}

static struct cnode *not_expr(struct parser *p)
{
	struct cnode *n;

	if (!word_is(&p->cur, "not"))
		return atom(p);
	n = node(p, CN_NOT, p->cur.off);
	if (!n || next(p))
		return NULL;
	if (++p->depth > COND_MAX_DEPTH) {
		perr(p, n->off, "condition nested deeper than %d levels", COND_MAX_DEPTH);
		return NULL;
	}
	n->a = not_expr(p);
	p->depth--;
	return n->a ? n : NULL;
}

static struct cnode *binary(struct parser *p, const char *word, enum cnode_kind kind,
			    struct cnode *(*sub)(struct parser *))
{
	struct cnode *left = sub(p);

	while (left && word_is(&p->cur, word)) {
		struct cnode *n = node(p, kind, p->cur.off);

		if (!n || next(p))
			return NULL;
		n->a = left;
		n->b = sub(p);
		if (!n->b)
			return NULL;
		left = n;
	}
	return left;
}

static struct cnode *and_expr(struct parser *p)
{
	return binary(p, "and", CN_AND, not_expr);
}

static struct cnode *or_expr(struct parser *p)
{
	struct cnode *n;

	if (++p->depth > COND_MAX_DEPTH) {
		perr(p, p->cur.off, "condition nested deeper than %d levels", COND_MAX_DEPTH);
		return NULL;
	}
	n = binary(p, "or", CN_OR, and_expr);
	p->depth--;
	return n;
}

int cond_parse(struct arena *a, const char *text, size_t len, struct cnode **out,
	       struct cond_error *err)
{
	struct parser p = { .a = a, .text = text, .len = len, .err = err };
	struct cnode *n;
	char buf[64];

	*out = NULL;
	memset(err, 0, sizeof(*err));
	if (len > COND_MAX_TEXT)
		return perr(&p, 0, "condition longer than %d bytes", COND_MAX_TEXT);
	if (memchr(text, '\0', len))
		return perr(&p, (unsigned)((const char *)memchr(text, '\0', len) - text),
			    "NUL byte in the condition");
	if (next(&p))
		return p.rc;
	if (p.cur.t == T_EOF)
		return perr(&p, 0, "empty condition");
	n = or_expr(&p);
	if (n && p.cur.t != T_EOF) {
		if (p.cur.t == T_RPAREN)
			perr(&p, p.cur.off, "unbalanced ')'");
		else
			perr(&p, p.cur.off, "expected 'and', 'or' or the end, found %s",
			     describe(&p.cur, buf, sizeof(buf)));
	}
	if (p.rc)
		return p.rc;
	*out = n;
	return 0;
}
