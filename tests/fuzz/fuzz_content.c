// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target for Content-Encoding decoding.  Seeds: tests/data/content
 * (plain compressed files, bombs included).
 *
 * Each input is decoded as the coding it looks like, as one of the codings
 * and chains met in practice and as a chain picked by a hash of the input,
 * with output caps also picked by the hash.  Beyond the sanitizers, every decode must
 * keep the contract (rc, flags, cap, NUL) and agree with the others:
 *  - a larger cap yields the same bytes as far as both go, and the same
 *    result when the smaller cap cut nothing;
 *  - a prefix of the input yields a prefix of the output, and cannot find
 *    corruption that the whole input does not have.
 * The input is also parsed as a Content-Encoding header value.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/content.h"

struct result {
	struct dynbuf out;
	int rc;
	bool truncated, incomplete;
};

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static void decode(const enum content_coding *c, size_t n, const uint8_t *data, size_t size,
		   size_t cap, struct result *r)
{
	dynbuf_init(&r->out, cap);
	r->truncated = r->incomplete = true;
	r->rc = content_decode(c, n, data, size, &r->out, &r->truncated, &r->incomplete);
	if (r->rc != 0 && r->rc != -EBADMSG)
		abort();
	if (r->out.len > cap || (r->out.len && r->out.buf[r->out.len] != '\0'))
		abort();
	if (r->rc && (r->truncated || r->incomplete))
		abort();
	if (r->truncated && r->incomplete)
		abort();
}

static bool same_prefix(const struct result *a, const struct result *b)
{
	size_t n = a->out.len < b->out.len ? a->out.len : b->out.len;

	return !n || memcmp(a->out.buf, b->out.buf, n) == 0;
}

static void check(const enum content_coding *c, size_t n, const uint8_t *data, size_t size,
		  uint64_t h)
{
	size_t cap = (h >> 8) % 70000, big = 3 * cap + 1000;
	struct result small, whole, part;

	decode(c, n, data, size, cap, &small);
	decode(c, n, data, size, big, &whole);
	if (!same_prefix(&small, &whole))
		abort();
	if (!small.truncated && (small.rc != whole.rc || small.out.len != whole.out.len ||
				 small.incomplete != whole.incomplete || whole.truncated))
		abort();
	if (size) {
		decode(c, n, data, (h >> 32) % size, big, &part);
		if (!same_prefix(&part, &whole))
			abort();
		if (part.rc == -EBADMSG && whole.rc != -EBADMSG && !whole.truncated)
			abort();
		/*
		 * Nor decode more, unless the whole hit corrupt data: a decoder may
		 * drop what it decoded from the same piece of input (brotli).
		 */
		if (!whole.rc && !whole.truncated && part.out.len > whole.out.len)
			abort();
		dynbuf_free(&part.out);
	}
	dynbuf_free(&small.out);
	dynbuf_free(&whole.out);
}

static void check_header(const uint8_t *data, size_t size, uint64_t h)
{
	enum content_coding c[8];
	size_t max = h % 9;
	char s[257];
	int rc;

	size = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
	memcpy(s, data, size);
	s[size] = '\0';
	rc = content_parse_encoding(s, c, max);
	if (rc != -ENOTSUP && rc != -E2BIG && (rc < 0 || (size_t)rc > max))
		abort();
	for (int i = 0; i < rc; i++)
		if (c[i] == CONTENT_IDENTITY || c[i] >= CONTENT_UNKNOWN ||
		    strcmp(content_coding_name(c[i]), "unknown") == 0)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The coding the input looks like, so that seeds are decoded as what they are. */
static enum content_coding sniff(const uint8_t *d, size_t n)
{
	if (n >= 2 && d[0] == 0x1f && d[1] == 0x8b)
		return CONTENT_GZIP;
	if (n >= 4 && memcmp(d, "\x28\xb5\x2f\xfd", 4) == 0)
		return CONTENT_ZSTD;
	if (n >= 2 && (d[0] & 0x0f) == 8 && ((d[0] << 8) | d[1]) % 31 == 0)
		return CONTENT_DEFLATE;
	/* br has no magic; raw deflate is reached through the hash below */
	return CONTENT_BR;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum content_coding fixed[][2] = {
		{ CONTENT_GZIP },
		{ CONTENT_DEFLATE },
		{ CONTENT_BR },
		{ CONTENT_ZSTD },
		{ CONTENT_DEFLATE, CONTENT_GZIP },
		{ CONTENT_GZIP, CONTENT_BR },
		{ CONTENT_GZIP, CONTENT_GZIP },
	};
	uint64_t h = fnv1a(data, size);
	enum content_coding chain[4], c = sniff(data, size);
	size_t n = 1 + (h >> 60) % 4, k = h % (sizeof(fixed) / sizeof(fixed[0]));

	/* Three decodes each: a brotli bomb costs its 16 MiB window every time. */
	check(&c, 1, data, size, h);
	check(fixed[k], fixed[k][1] ? 2 : 1, data, size, h >> 3);
	/* identity (0) included: it must be skipped anywhere in a chain */
	for (size_t i = 0; i < n; i++)
		chain[i] = (enum content_coding)((h >> (40 + 4 * i)) % CONTENT_UNKNOWN);
	check(chain, n, data, size, h ^ 0x9e3779b97f4a7c15ull);
	check_header(data, size, h);
	return 0;
}
