/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Is an HTTP request LLM/inference traffic?  Decided by a table of rules
 * (method, path and host globs, fnmatch syntax), not by code: the default
 * table lists the public LLM APIs and the paths of self-hosted servers.
 */
#ifndef LLMTAP_CLASSIFY_H
#define LLMTAP_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>

struct classify_rule {
	const char *method; /* glob or NULL for any */
	const char *path; /* glob on the path (query removed) or NULL */
	const char *host; /* glob on the host (port removed, lower-case) or NULL */
};

struct classifier {
	const struct classify_rule *rules;
	size_t n_rules;
	bool match_all; /* record every HTTP exchange */
};

/* The embedded default table. */
void classifier_default(struct classifier *cl);
/* True when any rule matches. host may come from the Host header or SNI; may be NULL. */
bool classify_is_llm(const struct classifier *cl, const char *method, const char *target,
		     const char *host);

#endif
