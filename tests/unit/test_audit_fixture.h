/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Shared by tests/unit/test_audit_*.c: chained logs written by the real
 * chain into a mkdtemp directory, read back and verified. */
#ifndef LLMTAP_TEST_AUDIT_FIXTURE_H
#define LLMTAP_TEST_AUDIT_FIXTURE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/chain.h"

struct fx_log {
	char **lines; /* without '\n' */
	size_t n;
};

/* A fresh temporary directory (the path in a static slot; 8 at most). */
const char *fx_tmpdir(void);
/* Opens a chain on state_dir whose lines are appended to log_path. */
int fx_open(const char *state_dir, const char *log_path, uint64_t cp_records,
	    struct audit_chain **out);
/* Appends n test records ("test.record", attributes.i = first..first+n-1). */
int fx_records(struct audit_chain *c, int first, int n);
/* One run: open, start, n records, stop (or not: a crash after a sync). */
int fx_run(const char *state_dir, const char *log_path, int n, bool stop, uint64_t cp_records);
void fx_close_log(void);

int fx_read(const char *path, struct fx_log *l);
int fx_write(const char *path, const struct fx_log *l);
void fx_free(struct fx_log *l);
/* Index of the line with that seq, or -1. */
int fx_find_seq(const struct fx_log *l, uint64_t seq);
/* seq of the first checkpoint line with seq > after (0: none). */
uint64_t fx_checkpoint_after(const struct fx_log *l, uint64_t after);

/* Verifies files with the vkey of state_dir's key; returns the exit status,
 * *break_seq and (if report) the JSON report. */
int fx_verify(const char *state_dir, const char *const *paths, size_t n, uint64_t *break_seq,
	      json_t **report);
/* The kind of the first tamper issue in a report (or ""). */
const char *fx_first_kind(const json_t *report);

#endif
