/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Rendering the Prometheus text exposition format (version 0.0.4) into a
 * bounded buffer: HELP/TYPE headers and samples with escaped label values.
 * Metric and label names are the caller's constants ([a-zA-Z_:][a-zA-Z0-9_:]*).
 */
#ifndef LLMTAP_PROM_H
#define LLMTAP_PROM_H

#include <stdint.h>

#include "util/dynbuf.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* "# HELP name help\n# TYPE name type\n" (type: "counter", "gauge").
 * Returns 0 or what dynbuf_append returned. */
int prom_header(struct dynbuf *b, const char *name, const char *type, const char *help);
/*
 * One sample: name{k1="v1",k2="v2"} value.  labels: NULL, or key, value,
 * key, value, ..., NULL.  A NULL value is written as "".
 */
int prom_u64(struct dynbuf *b, const char *name, const char *const *labels, uint64_t v);
int prom_f64(struct dynbuf *b, const char *name, const char *const *labels, double v);
/* A label value with \, " and newline escaped. */
int prom_escape(struct dynbuf *b, const char *v);

#endif
