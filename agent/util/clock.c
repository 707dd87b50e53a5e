// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "clock.h"

#include <stdio.h>
#include <time.h>

static int64_t mono_to_wall_offset;

static uint64_t ts_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void clock_sync(void)
{
	/* bracket the realtime read to halve the error of the two reads */
	uint64_t m1 = ts_ns(CLOCK_MONOTONIC);
	uint64_t r = ts_ns(CLOCK_REALTIME);
	uint64_t m2 = ts_ns(CLOCK_MONOTONIC);

	mono_to_wall_offset = (int64_t)(r - (m1 + (m2 - m1) / 2));
}

uint64_t clock_mono_to_wall(uint64_t mono_ns)
{
	return (uint64_t)((int64_t)mono_ns + mono_to_wall_offset);
}

uint64_t clock_mono_now(void)
{
	return ts_ns(CLOCK_MONOTONIC);
}

void clock_format_rfc3339(uint64_t wall_ns, char *out, size_t out_size)
{
	time_t secs = (time_t)(wall_ns / 1000000000ull);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(out, out_size, "%04d-%02d-%02dT%02d:%02d:%02d.%09lluZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned long long)(wall_ns % 1000000000ull));
}
