/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Scrubbing credentials out of a process's command line before it is
 * recorded: `curl -H "Authorization: Bearer sk-..."`, `--api-key=...`,
 * `--token X`, and well-known token formats anywhere in an argument.
 * This is the minimum every record needs; the full redaction engine
 * (PII, validators, HMAC pseudonyms) is separate.
 */
#ifndef LLMTAP_REDACT_CMDLINE_H
#define LLMTAP_REDACT_CMDLINE_H

#include <stddef.h>

/*
 * Joins NUL-separated argv (len bytes) into out with single spaces,
 * replacing secrets by "[REDACTED]".  out is always NUL-terminated and
 * truncated to out_size.  Returns the number of secrets replaced.
 */
int redact_cmdline_join(const char *args, size_t len, char *out, size_t out_size);

#endif
