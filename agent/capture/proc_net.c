// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "proc_net.h"

#include <stdbool.h>
#include <string.h>

/* Parses n hex digits at *p (no more, no less); advances *p. */
static int hex_field(const char **p, const char *end, unsigned n, uint64_t *out)
{
	uint64_t v = 0;

	if ((size_t)(end - *p) < n)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		char ch = (*p)[i];
		unsigned d;

		if (ch >= '0' && ch <= '9')
			d = (unsigned)(ch - '0');
		else if (ch >= 'A' && ch <= 'F')
			d = (unsigned)(ch - 'A' + 10);
		else if (ch >= 'a' && ch <= 'f')
			d = (unsigned)(ch - 'a' + 10);
		else
			return -1;
		v = v << 4 | d;
	}
	*p += n;
	*out = v;
	return 0;
}

static void skip_spaces(const char **p, const char *end)
{
	while (*p < end && **p == ' ')
		(*p)++;
}

/* Skips one blank-separated field; -1 if there is none. */
static int skip_field(const char **p, const char *end)
{
	const char *s;

	skip_spaces(p, end);
	s = *p;
	while (*p < end && **p != ' ')
		(*p)++;
	return *p > s ? 0 : -1;
}

/* "0100007F:1F40" (IPv4: 8 hex digits) or the 32-digit IPv6 form. */
static int addr_port(const char **p, const char *end, uint16_t *port)
{
	const char *colon;
	uint64_t v;
	size_t n;

	skip_spaces(p, end);
	colon = memchr(*p, ':', (size_t)(end - *p));
	if (!colon)
		return -1;
	n = (size_t)(colon - *p);
	if (n != 8 && n != 32)
		return -1;
	/* the address itself is not needed: the kernel socket gives it later */
	for (size_t i = 0; i < n; i += 8)
		if (hex_field(p, colon, 8, &v))
			return -1;
	(*p)++;
	if (hex_field(p, end, 4, &v))
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int parse_line(const char *p, const char *end, struct proc_net_sock *s)
{
	uint64_t v;

	/* "  12: " slot number */
	skip_spaces(&p, end);
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	if (p == end || *p != ':')
		return -1;
	p++;
	if (addr_port(&p, end, &s->local_port) || addr_port(&p, end, &s->peer_port))
		return -1;
	skip_spaces(&p, end);
	if (hex_field(&p, end, 2, &v))
		return -1;
	s->state = (uint8_t)v;
	/* tx_queue:rx_queue tr:tm->when retrnsmt uid timeout, then the inode */
	for (int i = 0; i < 5; i++)
		if (skip_field(&p, end))
			return -1;
	skip_spaces(&p, end);
	v = 0;
	if (p == end || *p < '0' || *p > '9')
		return -1;
	for (int digits = 0; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
		if (digits == 19)
			return -1; /* larger than any inode number */
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p < end && *p != ' ')
		return -1;
	s->inode = v;
	return 0;
}

int proc_net_tcp_parse(const char *text, size_t len, proc_net_cb cb, void *ctx)
{
	const char *p = text, *end = text + len;
	bool first = true;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl : end;
		struct proc_net_sock s;
		int rc;

		if (!first && parse_line(p, line_end, &s) == 0 && s.inode) {
			rc = cb(&s, ctx);
			if (rc)
				return rc;
		}
		first = false;
		p = nl ? nl + 1 : end;
	}
	return 0;
}
