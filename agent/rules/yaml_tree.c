// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "yaml_tree.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* An open sequence or mapping: its children grow in a heap vector until it
 * closes, then move into the arena. */
struct open_node {
	struct ynode *node;
	struct ynode **kids;
	size_t n, alloc;
};

struct builder {
	struct arena *a;
	const char *src;
	size_t src_len;
	struct open_node stack[YTREE_MAX_DEPTH];
	int depth;
	size_t nodes;
	struct ynode *root;
	struct yerror *err;
};

static int fail(struct builder *b, const yaml_mark_t *m, const char *msg)
{
	b->err->line = (unsigned)m->line + 1;
	b->err->col = (unsigned)m->column + 1;
	snprintf(b->err->msg, sizeof(b->err->msg), "%s", msg);
	return -EINVAL;
}

static struct ynode *new_node(struct builder *b, enum ynode_type t, const yaml_mark_t *m)
{
	struct ynode *n;

	if (++b->nodes > YTREE_MAX_NODES)
		return NULL;
	n = arena_alloc(b->a, sizeof(*n));
	if (!n)
		return NULL;
	n->type = t;
	n->line = (unsigned)m->line + 1;
	n->col = (unsigned)m->column + 1;
	return n;
}

/* Adds a finished node to the open container (or makes it the root). */
static int attach(struct builder *b, struct ynode *n, const yaml_mark_t *m)
{
	struct open_node *o;

	if (b->depth == 0) {
		b->root = n;
		return 0;
	}
	o = &b->stack[b->depth - 1];
	if (o->node->type == YN_MAP && o->n % 2 == 0) {
		/* a key: only scalars, and no key twice */
		if (n->type != YN_SCALAR)
			return fail(b, m, "mapping keys must be plain strings");
		for (size_t i = 0; i < o->n; i += 2)
			if (o->kids[i]->len == n->len &&
			    memcmp(o->kids[i]->str, n->str, n->len) == 0) {
				char msg[120];

				snprintf(msg, sizeof(msg), "duplicate key '%.80s'", n->str);
				return fail(b, m, msg);
			}
	}
	if (o->n == o->alloc) {
		size_t alloc = o->alloc ? o->alloc * 2 : 8;
		struct ynode **k = realloc(o->kids, alloc * sizeof(*k));

		if (!k)
			return -ENOMEM;
		o->kids = k;
		o->alloc = alloc;
	}
	o->kids[o->n++] = n;
	return 0;
}

static int open_container(struct builder *b, enum ynode_type t, const yaml_mark_t *m)
{
	struct ynode *n;

	if (b->depth == YTREE_MAX_DEPTH)
		return fail(b, m, "nesting deeper than 64 levels");
	n = new_node(b, t, m);
	if (!n)
		return b->nodes > YTREE_MAX_NODES ? fail(b, m, "more than 200000 YAML nodes") :
						    -ENOMEM;
	b->stack[b->depth++] = (struct open_node){ .node = n };
	return 0;
}

static int close_container(struct builder *b, const yaml_mark_t *m)
{
	struct open_node o = b->stack[--b->depth];
	int err = 0;

	o.node->end_line = (unsigned)m->line + 1;
	if (o.n) {
		o.node->items = arena_alloc(b->a, o.n * sizeof(*o.node->items));
		if (o.node->items)
			memcpy(o.node->items, o.kids, o.n * sizeof(*o.node->items));
		else
			err = -ENOMEM;
	}
	o.node->n = o.node->type == YN_MAP ? o.n / 2 : o.n;
	free(o.kids);
	return err ? err : attach(b, o.node, m);
}

static int on_scalar(struct builder *b, const yaml_event_t *ev)
{
	const yaml_mark_t *m = &ev->start_mark;
	struct ynode *n = new_node(b, YN_SCALAR, m);

	if (!n)
		return b->nodes > YTREE_MAX_NODES ? fail(b, m, "more than 200000 YAML nodes") :
						    -ENOMEM;
	n->str = arena_strndup(b->a, (const char *)ev->data.scalar.value, ev->data.scalar.length);
	if (!n->str)
		return -ENOMEM;
	n->len = ev->data.scalar.length;
	n->end_line = (unsigned)ev->end_mark.line + 1;
	switch (ev->data.scalar.style) {
	case YAML_SINGLE_QUOTED_SCALAR_STYLE:
		n->style = YS_SQUOTED;
		break;
	case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
		n->style = YS_DQUOTED;
		break;
	case YAML_LITERAL_SCALAR_STYLE:
	case YAML_FOLDED_SCALAR_STYLE: {
		/* the text starts on the line after the indicator: its indentation
		 * lets errors inside it name their column */
		size_t i = m->index;

		n->style =
			ev->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ? YS_LITERAL : YS_FOLDED;
		while (i < b->src_len && b->src[i] != '\n')
			i++;
		while (++i < b->src_len && b->src[i] == ' ')
			n->indent++;
		break;
	}
	default:
		n->style = YS_PLAIN;
	}
	return attach(b, n, m);
}

int ytree_parse(struct arena *a, const char *buf, size_t len, struct ynode **root,
		struct yerror *err)
{
	struct builder b = { .a = a, .src = buf, .src_len = len, .err = err };
	yaml_parser_t parser;
	yaml_event_t ev;
	int docs = 0, rc = 0;
	bool done = false;

	*root = NULL;
	memset(err, 0, sizeof(*err));
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!done && rc == 0) {
		if (!yaml_parser_parse(&parser, &ev)) {
			if (parser.error == YAML_MEMORY_ERROR) {
				rc = -ENOMEM;
				break;
			}
			err->line = (unsigned)parser.problem_mark.line + 1;
			err->col = (unsigned)parser.problem_mark.column + 1;
			snprintf(err->msg, sizeof(err->msg), "YAML syntax error: %s%s%s",
				 parser.problem ? parser.problem : "invalid document",
				 parser.context ? " " : "", parser.context ? parser.context : "");
			rc = -EINVAL;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1)
				rc = fail(&b, &ev.start_mark, "only one YAML document per file");
			break;
		case YAML_ALIAS_EVENT:
			rc = fail(&b, &ev.start_mark, "aliases (*name) are not supported");
			break;
		case YAML_SCALAR_EVENT:
			rc = on_scalar(&b, &ev);
			break;
		case YAML_SEQUENCE_START_EVENT:
			rc = open_container(&b, YN_SEQ, &ev.start_mark);
			break;
		case YAML_MAPPING_START_EVENT:
			rc = open_container(&b, YN_MAP, &ev.start_mark);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			rc = close_container(&b, &ev.end_mark);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	while (b.depth > 0)
		free(b.stack[--b.depth].kids);
	yaml_parser_delete(&parser);
	if (rc == 0)
		*root = b.root;
	return rc;
}

const struct ynode *ymap_get(const struct ynode *m, const char *key)
{
	size_t kl = strlen(key);

	if (!m || m->type != YN_MAP)
		return NULL;
	for (size_t i = 0; i < m->n; i++) {
		const struct ynode *k = m->items[2 * i];

		if (k->len == kl && memcmp(k->str, key, kl) == 0)
			return m->items[2 * i + 1];
	}
	return NULL;
}

bool ynode_is_null(const struct ynode *n)
{
	return n && n->type == YN_SCALAR && n->style == YS_PLAIN &&
	       (n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
		strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0);
}

int ynode_int(const struct ynode *n, long long *out)
{
	char *end;
	long long v;

	if (!n || n->type != YN_SCALAR || n->style != YS_PLAIN || n->len == 0 ||
	    n->len != strlen(n->str) ||
	    !(n->str[0] == '-' || (n->str[0] >= '0' && n->str[0] <= '9')))
		return -EINVAL;
	errno = 0;
	v = strtoll(n->str, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int ynode_bool(const struct ynode *n, bool *out)
{
	static const char *const t[] = { "true", "True", "TRUE" }, *const f[] = { "false", "False",
										  "FALSE" };

	if (!n || n->type != YN_SCALAR || n->style != YS_PLAIN)
		return -EINVAL;
	for (int i = 0; i < 3; i++) {
		if (strcmp(n->str, t[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(n->str, f[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

const char *ynode_kind(const struct ynode *n)
{
	if (!n)
		return "nothing";
	return n->type == YN_MAP ? "a mapping" : n->type == YN_SEQ ? "a list" : "a string";
}
