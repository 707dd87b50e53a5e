/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A bump allocator for everything a rule set owns (YAML trees, strings,
 * condition trees): freed at once, with a hard cap on the total so that a
 * hostile rule file cannot make the agent grow without bound.
 */
#ifndef LLMTAP_RULES_ARENA_H
#define LLMTAP_RULES_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head;
	size_t used, cap; /* bytes handed out (with alignment), limit */
};

void arena_init(struct arena *a, size_t cap);
/* Zeroed memory of n bytes, 16-aligned, or NULL past the cap / -ENOMEM. */
void *arena_alloc(struct arena *a, size_t n);
/* A NUL-terminated copy of s[0..n), or NULL. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
/* Frees every chunk; the arena is empty and reusable. */
void arena_free(struct arena *a);

#endif
