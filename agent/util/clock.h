/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Converting the kernel's monotonic timestamps to wall-clock time. */
#ifndef LLMTAP_CLOCK_H
#define LLMTAP_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Re-reads CLOCK_REALTIME - CLOCK_MONOTONIC (call at start and periodically,
 * so an NTP step is followed). */
void clock_sync(void);
/* Wall-clock nanoseconds since the epoch for a bpf_ktime_get_ns() value. */
uint64_t clock_mono_to_wall(uint64_t mono_ns);
uint64_t clock_mono_now(void);
/* Formats ns since the epoch as RFC 3339 UTC with nanoseconds; out >= 32 bytes. */
void clock_format_rfc3339(uint64_t wall_ns, char *out, size_t out_size);

#endif
