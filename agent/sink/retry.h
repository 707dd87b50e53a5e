/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * When to try a network output again: the Retry-After header (delta
 * seconds or an HTTP-date, RFC 9110 10.2.3) and exponential backoff with
 * full jitter.  Pure functions (fuzzed).
 */
#ifndef LLMTAP_RETRY_H
#define LLMTAP_RETRY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Retry-After is believed up to a day; anything longer is capped by the caller. */
#define RETRY_AFTER_MAX_S 86400

/*
 * Parses a Retry-After value (len bytes, surrounding blanks allowed) into a
 * delay in ms from now: delta seconds, or an IMF-fixdate / RFC 850 / asctime
 * date (a date in the past is 0).  0 or -EINVAL.
 */
int retry_after_parse(const char *v, size_t len, time_t now, uint64_t *delay_ms);

/*
 * Full-jitter backoff: a delay in [0, min(max_ms, initial_ms * 2^attempt)]
 * chosen by rnd (any 64-bit random number).  attempt 0 is the first retry.
 */
uint64_t retry_backoff_ms(unsigned int attempt, uint64_t initial_ms, uint64_t max_ms, uint64_t rnd);

#endif
