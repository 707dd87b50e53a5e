/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The detectors' findings per string of one record, so that a string is
 * scanned once: the rules engine scans the record's content strings first
 * (its built-in detectors), then redact_record_memo() takes the same
 * strings' matches from the memo instead of scanning them again.
 *
 * A string is known by its address and length: the memo is only valid for
 * the record it was filled from, as long as that record's strings are not
 * changed or freed (rules_eval then redact_record_memo on the same record,
 * nothing in between).  One thread at a time.
 */
#ifndef LLMTAP_REDACT_MEMO_H
#define LLMTAP_REDACT_MEMO_H

#include <stddef.h>
#include <stdint.h>

#include "redact/detect.h"

struct detect_memo;

/* 0, or -ENOMEM. */
int detect_memo_new(struct detect_memo **out);
/* NULL is fine. */
void detect_memo_free(struct detect_memo *m);
/* Forgets every string; the memo now describes record rec (an opaque tag). */
void detect_memo_reset(struct detect_memo *m, const void *rec);
/* The record the memo describes (NULL after a reset with NULL). */
const void *detect_memo_record(const struct detect_memo *m);

/*
 * The matches of detect_scan(d, s, len, mask) in text order: remembered
 * ones when this string (same address and length) was scanned with mask
 * since the reset, else scanned now and remembered (within the memo's caps;
 * past them the result is returned all the same).  *out (may be NULL when
 * *n is 0) stays valid until the next call or reset.  0, or -ENOMEM /
 * -EINVAL from detect_scan.
 */
int detect_memo_scan(struct detect_memo *m, const struct detector *d, const char *s, size_t len,
		     uint64_t mask, const struct detect_match **out, size_t *n);

/*
 * Only what is remembered: 0 with *out and *n when the string was scanned
 * with mask, -ENOENT when not.
 */
int detect_memo_find(const struct detect_memo *m, const char *s, size_t len, uint64_t mask,
		     const struct detect_match **out, size_t *n);

#endif
