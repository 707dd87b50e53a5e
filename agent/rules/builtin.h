/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Built-in detectors a rule file can name (`builtin: luhn_card`): matchers
 * with validators written in C.  This adapter is the rules' only view of
 * them, so that the rule engine and the redaction engine agree on what an
 * entity is.
 */
#ifndef LLMTAP_RULES_BUILTIN_H
#define LLMTAP_RULES_BUILTIN_H

#include <stddef.h>
#include <stdint.h>

/* The number of built-ins, their rule-language names and entity names. */
size_t builtin_count(void);
const char *builtin_name(size_t i);
const char *builtin_entity(size_t i);
/* Index of a built-in by name, or -1. */
int builtin_lookup(const char *name);
/* Index of a built-in by entity name, or -1. */
int builtin_by_entity(const char *entity);

/*
 * Counts the findings of every built-in in text[0..len) into
 * counts[0..builtin_count()) (zeroed first; each capped at UINT16_MAX).
 * Returns 0 or -ENOMEM.
 */
int builtin_scan(const char *text, size_t len, uint32_t *counts);

struct detect_memo;
/*
 * Adds the findings in one string of the record (a part of a content
 * field) to per_entity[DETECT_ENTITY_COUNT] (each capped at UINT16_MAX),
 * scanning through memo so that redaction need not scan the string again.
 * 0 or -ENOMEM.
 */
int builtin_scan_part(struct detect_memo *memo, const char *text, size_t len, uint32_t *per_entity);
/* Per-entity counts to counts[0..builtin_count()). */
void builtin_counts(const uint32_t *per_entity, uint32_t *counts);

#endif
