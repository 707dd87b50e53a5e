// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "strnum.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int strnum_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	default:
		break;
	}
	if (*end != '\0' || (shift && v > (UINT64_MAX >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

int strnum_parse_ports(const char *s, uint16_t *out, size_t max, size_t *n)
{
	size_t k = 0;

	if (!s)
		return -EINVAL;
	if (s[0] == '\0' || strcmp(s, "none") == 0) {
		*n = 0;
		return 0;
	}
	for (;;) {
		unsigned long v;
		char *end;

		if (!isdigit((unsigned char)s[0]))
			return -EINVAL;
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno || v == 0 || v > 65535)
			return -EINVAL;
		for (size_t i = 0; i < k; i++)
			if (out[i] == v)
				goto next; /* duplicates are harmless */
		if (k == max)
			return -E2BIG;
		out[k++] = (uint16_t)v;
next:
		if (*end == '\0')
			break;
		if (*end != ',')
			return -EINVAL;
		s = end + 1;
	}
	*n = k;
	return 0;
}
