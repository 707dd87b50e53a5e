/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * JSON Lines output: one record per line to a file (mode 0600, appended)
 * or to stdout.  Each record goes out in one write(2) of the whole line,
 * so the file never holds half a record behind a complete one and a reader
 * sees records whole as soon as they are written.
 */
#ifndef LLMTAP_JSONL_H
#define LLMTAP_JSONL_H

#include <jansson.h>
#include <stdint.h>

#include "util/json_fast.h"

struct jsonl_sink {
	int fd;
	int owned; /* close on destroy (not stdout) */
	uint64_t records, write_errors;
	char path[512];
	struct json_fast_buf line; /* reused between records */
};

/* path "-" is stdout. Returns 0 or negative errno. */
int jsonl_open(struct jsonl_sink *s, const char *path);
/* Appends one compact line. Returns 0 or negative errno. */
int jsonl_write(struct jsonl_sink *s, const json_t *rec);
void jsonl_close(struct jsonl_sink *s);

#endif
