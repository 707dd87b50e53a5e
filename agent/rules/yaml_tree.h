/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A YAML document as a small tree that remembers where each node starts
 * (line:col, 1-based), so that every rule-file error can name its place.
 * Built from libyaml's events with hard limits (depth, node count, the
 * arena's cap); anchors/aliases and multiple documents are refused, which
 * also rules out "billion laughs" expansion.
 */
#ifndef LLMTAP_RULES_YAML_TREE_H
#define LLMTAP_RULES_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "rules/arena.h"

#define YTREE_MAX_DEPTH 64
#define YTREE_MAX_NODES 200000

enum ynode_type { YN_SCALAR, YN_SEQ, YN_MAP };
enum yscalar_style { YS_PLAIN, YS_SQUOTED, YS_DQUOTED, YS_LITERAL, YS_FOLDED };

struct ynode {
	enum ynode_type type;
	enum yscalar_style style;
	unsigned line, col; /* where the node starts */
	unsigned end_line; /* where it ends (scalars: after the last character) */
	unsigned indent; /* block scalars (| and >): columns of indentation of the text */
	const char *str; /* scalars: the value, NUL-terminated (may contain NULs) */
	size_t len;
	struct ynode **items; /* sequences: n items; mappings: n key/value pairs, */
	size_t n; /* stored as items[2i] (key, a scalar) and items[2i+1] */
};

struct yerror {
	unsigned line, col;
	char msg[200];
};

/*
 * Parses buf[0..len) into *root (NULL for an empty document), allocating in
 * a.  Returns 0, or -EINVAL with err set (syntax, limits, aliases, duplicate
 * or non-scalar keys), or -ENOMEM.
 */
int ytree_parse(struct arena *a, const char *buf, size_t len, struct ynode **root,
		struct yerror *err);

/* The value of a mapping's key, or NULL (also when m is not a mapping). */
const struct ynode *ymap_get(const struct ynode *m, const char *key);
/* A plain scalar spelling null ("", "~", "null"). */
bool ynode_is_null(const struct ynode *n);
/* Parses a plain integer scalar (checked, no junk); 0 or -EINVAL. */
int ynode_int(const struct ynode *n, long long *out);
/* Parses true/false (YAML 1.2 core spellings); 0 or -EINVAL. */
int ynode_bool(const struct ynode *n, bool *out);
/* Name of a node type for messages: "a string", "a list", "a mapping". */
const char *ynode_kind(const struct ynode *n);

#endif
