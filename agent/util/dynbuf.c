// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "dynbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dynbuf_init(struct dynbuf *b, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->cap = cap;
}

static int dynbuf_grow(struct dynbuf *b, size_t need)
{
	size_t alloc = b->alloc ? b->alloc : 256;
	char *p;

	while (alloc < need + 1) {
		if (alloc > ((size_t)-1) / 2)
			return -ENOMEM;
		alloc *= 2;
	}
	if (alloc > b->cap + 1)
		alloc = b->cap + 1;
	p = realloc(b->buf, alloc);
	if (!p)
		return -ENOMEM;
	b->buf = p;
	b->alloc = alloc;
	return 0;
}

int dynbuf_append(struct dynbuf *b, const void *data, size_t n)
{
	size_t room = b->cap - b->len;
	size_t take = n < room ? n : room;
	int err;

	if (take && b->len + take + 1 > b->alloc) {
		err = dynbuf_grow(b, b->len + take);
		if (err)
			return err;
	}
	if (take) {
		memcpy(b->buf + b->len, data, take);
		b->len += take;
		b->buf[b->len] = '\0';
	}
	if (take < n) {
		b->truncated = true;
		return -E2BIG;
	}
	return 0;
}

int dynbuf_append_str(struct dynbuf *b, const char *s)
{
	return dynbuf_append(b, s, strlen(s));
}

int dynbuf_appendf(struct dynbuf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	return dynbuf_append(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

void dynbuf_reset(struct dynbuf *b)
{
	b->len = 0;
	b->truncated = false;
	if (b->buf)
		b->buf[0] = '\0';
}

void dynbuf_free(struct dynbuf *b)
{
	free(b->buf);
	b->buf = NULL;
	b->len = b->alloc = 0;
	b->truncated = false;
}

char *dynbuf_take(struct dynbuf *b, size_t *len)
{
	char *p = b->buf;

	if (len)
		*len = b->len;
	b->buf = NULL;
	b->len = b->alloc = 0;
	b->truncated = false;
	return p;
}
