/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Checked number parsing (no atoi). */
#ifndef LLMTAP_STRNUM_H
#define LLMTAP_STRNUM_H

#include <stddef.h>
#include <stdint.h>

/* Parses a decimal size with an optional k/m/g suffix (powers of 1024).
 * Returns 0, or -EINVAL on anything else (sign, junk, overflow). */
int strnum_parse_size(const char *s, uint64_t *out);

/* Parses "8000,11434,..." (or "none" / "") into at most max distinct ports
 * (1..65535).  Returns 0 with *n set, -EINVAL on junk, -E2BIG past max. */
int strnum_parse_ports(const char *s, uint16_t *out, size_t max, size_t *n);

#endif
