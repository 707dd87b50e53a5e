// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "retry.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

static const char *const months[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static int month_of(const char *s)
{
	for (int i = 0; i < 12; i++)
		if (strncmp(s, months[i], 3) == 0)
			return i;
	return -1;
}

/* n digits at s into *v */
static int digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/* "hh:mm:ss" */
static int hms(const char *s, struct tm *tm)
{
	if (s[2] != ':' || s[5] != ':' || digits(s, 2, &tm->tm_hour) ||
	    digits(s + 3, 2, &tm->tm_min) || digits(s + 6, 2, &tm->tm_sec))
		return -EINVAL;
	if (tm->tm_hour > 23 || tm->tm_min > 59 || tm->tm_sec > 60)
		return -EINVAL;
	return 0;
}

static int parse_date(const char *s, size_t n, time_t *out)
{
	struct tm tm = { 0 };
	const char *comma = memchr(s, ',', n);
	int y;

	if (comma && n == 29 && comma == s + 3) {
		/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
		if (s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
		    strncmp(s + 25, " GMT", 4) != 0 || digits(s + 5, 2, &tm.tm_mday) ||
		    (tm.tm_mon = month_of(s + 8)) < 0 || digits(s + 12, 4, &y) || hms(s + 17, &tm))
			return -EINVAL;
		tm.tm_year = y - 1900;
	} else if (comma) {
		/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
		const char *p = comma + 1;
		size_t rest = n - (size_t)(p - s);

		if (rest != 23 || p[0] != ' ' || p[3] != '-' || p[7] != '-' || p[10] != ' ' ||
		    strncmp(p + 19, " GMT", 4) != 0 || digits(p + 1, 2, &tm.tm_mday) ||
		    (tm.tm_mon = month_of(p + 4)) < 0 || digits(p + 8, 2, &y) || hms(p + 11, &tm))
			return -EINVAL;
		tm.tm_year = y < 70 ? y + 100 : y; /* two-digit years: RFC 9110 5.6.7 */
	} else if (n == 24) {
		/* asctime: "Sun Nov  6 08:49:37 1994" */
		char d[2] = { s[8] == ' ' ? '0' : s[8], s[9] };

		if (s[3] != ' ' || s[7] != ' ' || s[10] != ' ' || s[19] != ' ' ||
		    (tm.tm_mon = month_of(s + 4)) < 0 || digits(d, 2, &tm.tm_mday) ||
		    hms(s + 11, &tm) || digits(s + 20, 4, &y))
			return -EINVAL;
		tm.tm_year = y - 1900;
	} else {
		return -EINVAL;
	}
	if (tm.tm_mday < 1 || tm.tm_mday > 31)
		return -EINVAL;
	*out = timegm(&tm);
	return *out == (time_t)-1 ? -EINVAL : 0;
}

int retry_after_parse(const char *v, size_t len, time_t now, uint64_t *delay_ms)
{
	char buf[64];
	size_t a = 0, b = len;
	time_t t;

	while (a < b && (v[a] == ' ' || v[a] == '\t'))
		a++;
	while (b > a &&
	       (v[b - 1] == ' ' || v[b - 1] == '\t' || v[b - 1] == '\r' || v[b - 1] == '\n'))
		b--;
	if (a == b || b - a >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, v + a, b - a);
	buf[b - a] = '\0';
	if (isdigit((unsigned char)buf[0])) {
		uint64_t s = 0;

		for (size_t i = 0; buf[i]; i++) {
			if (!isdigit((unsigned char)buf[i]))
				return -EINVAL;
			if (s < RETRY_AFTER_MAX_S)
				s = s * 10 + (uint64_t)(buf[i] - '0');
		}
		if (s > RETRY_AFTER_MAX_S)
			s = RETRY_AFTER_MAX_S;
		*delay_ms = s * 1000;
		return 0;
	}
	if (parse_date(buf, b - a, &t))
		return -EINVAL;
	if (t <= now)
		*delay_ms = 0;
	else if (t - now > RETRY_AFTER_MAX_S)
		*delay_ms = (uint64_t)RETRY_AFTER_MAX_S * 1000;
	else
		*delay_ms = (uint64_t)(t - now) * 1000;
	return 0;
}

uint64_t retry_backoff_ms(unsigned int attempt, uint64_t initial_ms, uint64_t max_ms, uint64_t rnd)
{
	uint64_t cap = initial_ms ? initial_ms : 1;

	for (unsigned int i = 0; i < attempt && cap < max_ms; i++)
		cap = cap > UINT64_MAX / 2 ? UINT64_MAX : cap * 2;
	if (cap > max_ms)
		cap = max_ms;
	return cap ? rnd % (cap + 1) : 0;
}
