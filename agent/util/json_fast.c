// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "json_fast.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* deeper trees (or cycles) go to json_dumps, which detects cycles */
#define JF_MAX_DEPTH 512

/* bytes that leave the plain-copy loop: controls, '"', '\\', non-ASCII */
static const unsigned char jf_special[256] = {
	[0x00 ... 0x1f] = 1,
	['"'] = 1,
	['\\'] = 1,
	[0x80 ... 0xff] = 1,
};

static const char jf_hex[] = "0123456789ABCDEF";

int json_fast_reserve(struct json_fast_buf *b, size_t n)
{
	size_t alloc;
	char *p;

	if (b->alloc - b->len >= n)
		return 0;
	if (n > SIZE_MAX / 4 - b->len)
		return -ENOMEM;
	alloc = b->alloc ? b->alloc : 4096;
	while (alloc - b->len < n)
		alloc *= 2;
	p = realloc(b->data, alloc);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->alloc = alloc;
	return 0;
}

/*
 * Length of the valid UTF-8 sequence at s (lead byte >= 0x80), or 0 when
 * jansson's utf8_iterate would reject it: bad lead or continuation bytes,
 * overlong forms, surrogates, code points past U+10FFFF, truncation.
 */
static size_t jf_utf8_len(const unsigned char *s, size_t left)
{
	unsigned char c = s[0];
	uint32_t v;
	size_t n, i;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2, v = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, v = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, v = c & 0x07;
	else
		return 0;
	if (n > left)
		return 0;
	for (i = 1; i < n; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000))
		return 0;
	return n;
}

static int jf_string(struct json_fast_buf *b, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str, *end = s + len;
	char *o;
	int err;

	err = json_fast_reserve(b, 1);
	if (err)
		return err;
	b->data[b->len++] = '"';
	while (s < end) {
		const unsigned char *run = s;
		unsigned char c;
		size_t n;

		while (s < end && !jf_special[*s])
			s++;
		/* the run, one escape or UTF-8 sequence (at most 6) and the quote */
		n = (size_t)(s - run);
		err = json_fast_reserve(b, n + 7);
		if (err)
			return err;
		o = b->data + b->len;
		memcpy(o, run, n);
		o += n;
		if (s == end) {
			b->len = (size_t)(o - b->data);
			break;
		}
		c = *s;
		if (c >= 0x80) {
			n = jf_utf8_len(s, (size_t)(end - s));
			if (!n)
				return -EINVAL;
			memcpy(o, s, n);
			b->len = (size_t)(o + n - b->data);
			s += n;
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"':
		case '\\':
			*o++ = (char)c;
			break;
		case '\b':
			*o++ = 'b';
			break;
		case '\f':
			*o++ = 'f';
			break;
		case '\n':
			*o++ = 'n';
			break;
		case '\r':
			*o++ = 'r';
			break;
		case '\t':
			*o++ = 't';
			break;
		default:
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = jf_hex[c >> 4];
			*o++ = jf_hex[c & 15];
			break;
		}
		b->len = (size_t)(o - b->data);
		s++;
	}
	err = json_fast_reserve(b, 1);
	if (err)
		return err;
	b->data[b->len++] = '"';
	return 0;
}

static int jf_integer(struct json_fast_buf *b, json_int_t v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	/* through unsigned so that the most negative value negates cleanly */
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	size_t n;
	int err;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	n = (size_t)(tmp + sizeof(tmp) - p);
	err = json_fast_reserve(b, n);
	if (err)
		return err;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

/*
 * jansson built without its dtoa formats reals as "%.17g" with the locale's
 * decimal point turned into '.', ".0" appended when neither '.' nor 'e'
 * appears, and the exponent's '+' and leading zeros dropped.
 */
static int jf_real_printf(char *buf, size_t size, double v)
{
	char *e, *start, *end;
	int n = snprintf(buf, size, "%.17g", v);
	size_t len;

	if (n < 0 || (size_t)n + 3 >= size)
		return -EINVAL;
	len = (size_t)n;
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];

		/* %g emits only digits, signs, 'e' and the decimal point */
		if (!(c >= '0' && c <= '9') && c != '-' && c != '+' && c != 'e')
			buf[i] = '.';
	}
	if (!memchr(buf, '.', len) && !memchr(buf, 'e', len)) {
		buf[len++] = '.';
		buf[len++] = '0';
		buf[len] = '\0';
	}
	e = memchr(buf, 'e', len);
	if (e) {
		start = e + 1;
		end = start + 1;
		if (*start == '-')
			start++;
		while (*end == '0')
			end++;
		if (end != start) {
			memmove(start, end, len - (size_t)(end - buf) + 1);
			len -= (size_t)(end - start);
		}
	}
	return (int)len;
}

/* 1: the installed jansson formats reals like jf_real_printf, -1: it does not */
static int jf_real_mode;

static int jf_real_probe(void)
{
	static const double probes[] = { 0.1, 1.0, -0.0, 1e20, 1e-5, 1e300, 123.456, 5e-324 };
	int mode = 1;

	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]) && mode == 1; i++) {
		json_t *r = json_real(probes[i]);
		char *ref = r ? json_dumps(r, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		char mine[64];
		int n = jf_real_printf(mine, sizeof(mine), probes[i]);

		if (!ref || n < 0 || strcmp(ref, mine) != 0)
			mode = -1;
		free(ref);
		json_decref(r);
	}
	return mode;
}

static int jf_real(struct json_fast_buf *b, const json_t *j)
{
	int mode = __atomic_load_n(&jf_real_mode, __ATOMIC_RELAXED);
	char tmp[64];
	int n, err;

	if (!mode) {
		mode = jf_real_probe();
		__atomic_store_n(&jf_real_mode, mode, __ATOMIC_RELAXED);
	}
	if (mode < 0) {
		/* another number format (jansson's dtoa): let jansson write it */
		size_t len = json_dumpb(j, tmp, sizeof(tmp), JSON_COMPACT | JSON_ENCODE_ANY);

		if (!len || len > sizeof(tmp))
			return -EINVAL;
		n = (int)len;
	} else {
		n = jf_real_printf(tmp, sizeof(tmp), json_real_value(j));
		if (n < 0)
			return n;
	}
	err = json_fast_reserve(b, (size_t)n);
	if (err)
		return err;
	memcpy(b->data + b->len, tmp, (size_t)n);
	b->len += (size_t)n;
	return 0;
}

static int jf_lit(struct json_fast_buf *b, const char *s, size_t n)
{
	int err = json_fast_reserve(b, n);

	if (err)
		return err;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	return 0;
}

static int jf_value(struct json_fast_buf *b, const json_t *j, int depth)
{
	int err;

	if (!j)
		return -EINVAL;
	switch (json_typeof(j)) {
	case JSON_NULL:
		return jf_lit(b, "null", 4);
	case JSON_TRUE:
		return jf_lit(b, "true", 4);
	case JSON_FALSE:
		return jf_lit(b, "false", 5);
	case JSON_INTEGER:
		return jf_integer(b, json_integer_value(j));
	case JSON_REAL:
		return jf_real(b, j);
	case JSON_STRING:
		return jf_string(b, json_string_value(j), json_string_length(j));
	case JSON_ARRAY: {
		size_t n = json_array_size(j);

		if (depth >= JF_MAX_DEPTH)
			return -EINVAL;
		err = jf_lit(b, "[", 1);
		for (size_t i = 0; !err && i < n; i++) {
			if (i)
				err = jf_lit(b, ",", 1);
			if (!err)
				err = jf_value(b, json_array_get(j, i), depth + 1);
		}
		return err ? err : jf_lit(b, "]", 1);
	}
	case JSON_OBJECT: {
		/* the iterator walks insertion order, as json_dumps does */
		void *it = json_object_iter((json_t *)j);
		int first = 1;

		if (depth >= JF_MAX_DEPTH)
			return -EINVAL;
		err = jf_lit(b, "{", 1);
		for (; !err && it; it = json_object_iter_next((json_t *)j, it)) {
			if (!first)
				err = jf_lit(b, ",", 1);
			first = 0;
			if (!err)
				err = jf_string(b, json_object_iter_key(it),
						json_object_iter_key_len(it));
			if (!err)
				err = jf_lit(b, ":", 1);
			if (!err)
				err = jf_value(b, json_object_iter_value(it), depth + 1);
		}
		return err ? err : jf_lit(b, "}", 1);
	}
	default:
		return -EINVAL;
	}
}

int json_fast_dump(const json_t *j, struct json_fast_buf *b)
{
	size_t start = b->len;
	int err;

	/* json_dumps without JSON_ENCODE_ANY refuses bare values */
	if (!json_is_object(j) && !json_is_array(j))
		return -EINVAL;
	err = jf_value(b, j, 0);
	if (err)
		b->len = start;
	return err;
}

void json_fast_buf_free(struct json_fast_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static int jf_hex4(const char *s)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

ssize_t json_fast_str_scan(const char *s, size_t n, bool *esc)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	*esc = false;
	while (i < n) {
		unsigned char c = u[i];
		int cp, lo;

		if (!jf_special[c]) {
			i++;
			continue;
		}
		if (c == '"')
			return (ssize_t)i;
		if (c < 0x20)
			return -1;
		if (c >= 0x80) {
			size_t k = jf_utf8_len(u + i, n - i);

			if (!k)
				return -1;
			i += k;
			continue;
		}
		/* a backslash */
		*esc = true;
		if (i + 1 >= n)
			return -1;
		switch (s[i + 1]) {
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			i += 2;
			continue;
		case 'u':
			break;
		default:
			return -1;
		}
		if (n - i < 6 || (cp = jf_hex4(s + i + 2)) <= 0)
			return -1;
		i += 6;
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return -1;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (n - i < 6 || s[i] != '\\' || s[i + 1] != 'u')
				return -1;
			lo = jf_hex4(s + i + 2);
			if (lo < 0xdc00 || lo > 0xdfff)
				return -1;
			i += 6;
		}
	}
	return -1;
}

size_t json_fast_str_unescape(const char *s, size_t n, char *out)
{
	size_t i = 0, o = 0;

	while (i < n) {
		uint32_t cp;

		if (s[i] != '\\') {
			out[o++] = s[i++];
			continue;
		}
		switch (s[i + 1]) {
		case 'b':
			out[o++] = '\b';
			i += 2;
			continue;
		case 'f':
			out[o++] = '\f';
			i += 2;
			continue;
		case 'n':
			out[o++] = '\n';
			i += 2;
			continue;
		case 'r':
			out[o++] = '\r';
			i += 2;
			continue;
		case 't':
			out[o++] = '\t';
			i += 2;
			continue;
		case 'u':
			break;
		default: /* '"', '\\', '/' stand for themselves */
			out[o++] = s[i + 1];
			i += 2;
			continue;
		}
		cp = (uint32_t)jf_hex4(s + i + 2);
		i += 6;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			cp = 0x10000 + ((cp - 0xd800) << 10) +
			     ((uint32_t)jf_hex4(s + i + 2) - 0xdc00);
			i += 6;
		}
		if (cp < 0x80) {
			out[o++] = (char)cp;
		} else if (cp < 0x800) {
			out[o++] = (char)(0xc0 | (cp >> 6));
			out[o++] = (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			out[o++] = (char)(0xe0 | (cp >> 12));
			out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (cp & 0x3f));
		} else {
			out[o++] = (char)(0xf0 | (cp >> 18));
			out[o++] = (char)(0x80 | ((cp >> 12) & 0x3f));
			out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (cp & 0x3f));
		}
	}
	return o;
}
