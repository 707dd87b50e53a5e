/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The condition language of rules (docs/rules.md): and / or / not,
 * parentheses, comparisons of a field with values, a detector name as a
 * boolean (over all content or one field), count(detector[, field]) op N,
 * and names of macros.  cond_parse builds an unresolved tree; the loader
 * (load.c) resolves names against macros, detectors, lists and fields.
 * Parsing is bounded (text length, depth, node count).
 */
#ifndef LLMTAP_RULES_COND_H
#define LLMTAP_RULES_COND_H

#include <stdbool.h>
#include <stddef.h>

#include "rules/arena.h"

#define COND_MAX_TEXT (64 * 1024)
#define COND_MAX_DEPTH 64
#define COND_MAX_NODES 4096

enum cnode_kind {
	CN_AND,
	CN_OR,
	CN_NOT,
	CN_CMP, /* field op value(s) */
	CN_NAME, /* a bare name: macro or detector, resolved by the loader */
	CN_DETECTOR, /* detector(field): the detector over one field */
	CN_COUNT, /* count(detector[, field]) op n */
	CN_MACRO, /* resolved CN_NAME: another condition */
	CN_TRUE, /* empty exception lists and the like */
};

enum cop {
	OP_EQ,
	OP_NE,
	OP_LT,
	OP_LE,
	OP_GT,
	OP_GE,
	OP_CONTAINS,
	OP_ICONTAINS,
	OP_STARTSWITH,
	OP_ENDSWITH,
	OP_IN,
	OP_EXISTS,
	OP_MATCHES,
	OP_GLOB,
};

struct cvalue {
	const char *s; /* NUL-terminated text as written (quotes removed) */
	size_t len;
	double num; /* when is_num */
	bool is_num;
	bool quoted; /* a quoted string is never a list name */
	unsigned off; /* offset in the condition text */
};

struct cnode {
	enum cnode_kind kind;
	unsigned off; /* where it starts in the condition text */
	struct cnode *a, *b; /* AND/OR: both; NOT: a */
	/* CMP: field op vals; CN_NAME/DETECTOR/COUNT: name (+ field) */
	const char *name; /* field of CMP, name of NAME/DETECTOR/COUNT */
	const char *field; /* DETECTOR/COUNT: the field, NULL for all content */
	unsigned field_off;
	enum cop op;
	struct cvalue *vals;
	size_t n_vals;
	long long n; /* COUNT */
	/* filled by the loader */
	int fid; /* field id (fields.h) */
	int det; /* detector index */
	int pat; /* matcher pattern id or -1 */
	void *re; /* pcre2_code of a matches on a small field */
	struct cnode *target; /* CN_MACRO */
	const char *macro_name; /* CN_MACRO, for messages */
};

struct cond_error {
	unsigned off; /* offset in the text */
	char msg[200];
};

/*
 * Parses text[0..len) into *out (nodes in a).  Returns 0, -EINVAL with err
 * set, or -ENOMEM.
 */
int cond_parse(struct arena *a, const char *text, size_t len, struct cnode **out,
	       struct cond_error *err);
/* Name of an operator as written ("=", "contains", ...). */
const char *cond_op_name(enum cop op);
/* True for the keywords of the language (not usable as names). */
bool cond_is_keyword(const char *s, size_t n);

#endif
