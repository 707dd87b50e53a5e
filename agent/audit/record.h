/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Building the audit record of one HTTP exchange (docs/record.md).
 * Attribute names follow OpenTelemetry semantic conventions; credentials
 * in headers are never recorded.
 */
#ifndef LLMTAP_RECORD_H
#define LLMTAP_RECORD_H

#include <jansson.h>
#include <stdbool.h>

struct http_exchange;
struct conn;
struct procinfo;

/* A new record object (caller owns the reference), or NULL on -ENOMEM. */
json_t *record_build_exchange(const struct http_exchange *ex, const struct conn *c,
			      const struct procinfo *proc);

#endif
