// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target for the HTTP/1.x parser.  Seeds: tests/data/http1.
 *
 * The configuration (direction, limits, pushed methods) comes from a hash of
 * the input so that the raw seeds stay plain HTTP.  Each input is parsed
 * three ways:
 *  1. whole, then eof;
 *  2. in pseudo-random pieces (1..97 bytes) with a stealing callback, then eof;
 *     the messages must equal those of run 1 (split invariance), else abort;
 *  3. in pieces with gaps, resets and tunnel switches mixed in, checking only
 *     the invariants every delivered message must keep.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/http1.h"

struct digest {
	uint64_t h;
	size_t n;
};

static uint64_t mix(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;

	/* FNV-1a, enough to tell two message lists apart */
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t mix_u64(uint64_t h, uint64_t v)
{
	return mix(h, &v, sizeof(v));
}

static uint64_t mix_str(uint64_t h, const char *s)
{
	if (!s)
		return mix_u64(h, 0xdeadull);
	return mix(h, s, strlen(s) + 1);
}

static void check_msg(const struct http1_msg *m)
{
	if (m->n_headers > HTTP1_MAX_HEADERS || m->body.len > m->body.cap ||
	    m->body_bytes < m->body.len || strlen(m->method) > 15)
		abort();
	if (m->body.len && m->body.buf[m->body.len] != '\0')
		abort();
	if (m->kind == HTTP1_REQUEST && !m->target)
		abort();
	if (m->kind == HTTP1_RESPONSE && !m->reason)
		abort();
	if (!(m->flags & HTTP1_F_INCOMPLETE) && m->kind == HTTP1_RESPONSE &&
	    (m->status < 100 || m->status > 999))
		abort();
	if (!(m->flags & HTTP1_F_INCOMPLETE) && m->has_content_length &&
	    !(m->flags & (HTTP1_F_CHUNKED | HTTP1_F_UNTIL_CLOSE)) && m->body_bytes &&
	    m->body_bytes != m->content_length)
		abort();
	if ((m->flags & HTTP1_F_BODY_TRUNCATED) && m->body.len != m->body.cap)
		abort();
	if (!(m->flags & (HTTP1_F_BODY_TRUNCATED | HTTP1_F_GAP)) && m->body_bytes != m->body.len)
		abort();
	if ((m->flags & HTTP1_F_ERROR) && !(m->flags & HTTP1_F_INCOMPLETE))
		abort();
	for (size_t i = 0; i < m->n_headers; i++) {
		const char *n = m->headers[i].name;

		if (!n || !*n || !m->headers[i].value)
			abort();
		for (; *n; n++)
			if (*n >= 'A' && *n <= 'Z')
				abort();
		if (http1_msg_header(m, m->headers[i].name) == NULL)
			abort();
	}
}

static int digest_cb(struct http1_msg *m, void *ctx)
{
	struct digest *d = ctx;
	uint64_t h = d->h;

	check_msg(m);
	h = mix_u64(h, m->kind);
	h = mix_str(h, m->method);
	h = mix_str(h, m->target);
	h = mix_u64(h, (uint64_t)m->status);
	h = mix_str(h, m->reason);
	h = mix_u64(h, (uint64_t)m->version_minor);
	h = mix_u64(h, m->n_headers);
	for (size_t i = 0; i < m->n_headers; i++) {
		h = mix_str(h, m->headers[i].name);
		h = mix_str(h, m->headers[i].value);
	}
	h = mix_u64(h, m->body.len);
	h = mix(h, m->body.buf ? m->body.buf : "", m->body.len);
	h = mix_u64(h, m->body_bytes);
	h = mix_u64(h, m->content_length);
	h = mix_u64(h, m->has_content_length);
	h = mix_u64(h, m->flags);
	if (m->ts_end < m->ts_start)
		abort();
	d->h = h;
	d->n++;
	return 0;
}

/* Same digest, then takes body and target as a consumer may. */
static int steal_cb(struct http1_msg *m, void *ctx)
{
	int rc = digest_cb(m, ctx);

	free(dynbuf_take(&m->body, NULL));
	free(m->target);
	m->target = NULL;
	free(m->reason);
	m->reason = NULL;
	return rc;
}

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

struct config {
	enum http1_kind kind;
	struct http1_limits lim;
	bool default_lim;
	const char *methods[6];
};

static void configure(struct config *c, const uint8_t *data, size_t size, uint64_t h)
{
	static const char *const names[] = { "GET", "HEAD", "POST", "CONNECT" };

	memset(c, 0, sizeof(*c));
	c->kind = size >= 5 && memcmp(data, "HTTP/", 5) == 0 ? HTTP1_RESPONSE : HTTP1_REQUEST;
	if ((h & 7) == 0)
		c->kind = c->kind == HTTP1_REQUEST ? HTTP1_RESPONSE : HTTP1_REQUEST;
	c->default_lim = (h >> 3) & 1;
	c->lim.max_header_bytes = 16 + (h >> 8) % 2048;
	c->lim.max_body_bytes = 1 + (h >> 20) % 4096;
	for (int i = 0; i < 6; i++)
		c->methods[i] = names[(h >> (32 + 2 * i)) & 3];
}

static struct http1_parser *make_parser(const struct config *c)
{
	struct http1_parser *p = http1_parser_new(c->kind, c->default_lim ? NULL : &c->lim);

	if (!p)
		abort();
	for (int i = 0; i < 6; i++)
		http1_push_request_method(p, c->methods[i]);
	return p;
}

struct outcome {
	struct digest d;
	int rc;
	bool failed;
	bool tunnel;
};

static void run_split(const struct config *c, const uint8_t *data, size_t size, uint64_t seed,
		      bool steal, struct outcome *o)
{
	struct http1_parser *p = make_parser(c);
	http1_msg_cb cb = steal ? steal_cb : digest_cb;
	size_t pos = 0;
	uint64_t ts = 1;

	memset(o, 0, sizeof(*o));
	o->d.h = 0xcbf29ce484222325ull;
	while (pos < size && !o->rc) {
		size_t n = size - pos;

		if (seed) {
			size_t k = 1 + rng_next(&seed) % 97;

			n = n < k ? n : k;
		}
		o->rc = http1_feed(p, data + pos, n, ts++, cb, &o->d);
		pos += n;
	}
	o->tunnel = http1_parser_tunnel(p);
	if (!o->rc)
		o->rc = http1_eof(p, ts, cb, &o->d);
	o->failed = http1_parser_failed(p);
	http1_parser_free(p);
}

static void run_chaos(const struct config *c, const uint8_t *data, size_t size, uint64_t seed)
{
	struct http1_parser *p = make_parser(c);
	struct digest d = { 0, 0 };
	size_t pos = 0;
	uint64_t ts = 1;

	while (pos < size) {
		uint64_t r = rng_next(&seed);
		size_t n = 1 + r % 61;

		n = n < size - pos ? n : size - pos;
		switch ((r >> 8) % 16) {
		case 0:
			http1_gap(p, (r >> 16) % 300, ts++, digest_cb, &d);
			break;
		case 1:
			if (http1_parser_failed(p) || (r >> 16) % 8 == 0)
				http1_parser_reset(p);
			break;
		case 2:
			http1_push_request_method(p, c->methods[(r >> 16) % 6]);
			break;
		case 3:
			if ((r >> 16) % 16 == 0)
				http1_parser_enter_tunnel(p);
			break;
		case 4:
			if ((r >> 16) % 4 == 0)
				http1_eof(p, ts++, digest_cb, &d);
			break;
		default:
			break;
		}
		http1_feed(p, data + pos, n, ts++, digest_cb, &d);
		pos += n;
	}
	http1_eof(p, ts, digest_cb, &d);
	http1_parser_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t h = mix(0xcbf29ce484222325ull, data, size);
	struct outcome whole, pieces;
	struct config c;

	configure(&c, data, size, h);
	run_split(&c, data, size, 0, false, &whole);
	run_split(&c, data, size, h | 1, true, &pieces);
	if (whole.d.h != pieces.d.h || whole.d.n != pieces.d.n || whole.rc != pieces.rc ||
	    whole.failed != pieces.failed || whole.tunnel != pieces.tunnel)
		abort();
	run_chaos(&c, data, size, h ^ 0x9e3779b97f4a7c15ull);
	return 0;
}
