// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target for HTTP/2 (http2.c, hpack.c, and the detection in
 * http_exchange.c).  Seeds: tests/data/http2 (tests/fuzz/make_http2_seeds.py).
 *
 * Input: one configuration byte, then records [op][len: 2 bytes BE][bytes]:
 * op bit 0 is the direction, op >> 1 & 3: 0-1 data (len bytes follow),
 * 2 a gap of len bytes, 3 the end of the connection.  Each input runs:
 *  1. records whole, through http_conn (preface / frame detection) or
 *     straight into http2_conn (configuration bit 0);
 *  2. the same with each data record cut into pseudo-random pieces: the
 *     exchanges must be identical (split invariance), unless a gap or a
 *     failed frame check made the result depend on call boundaries;
 *  3. with extra gaps and an early end mixed in, checking invariants only;
 *  4. every data record as an HPACK block, in a known and an unknown table.
 * Every delivered exchange is checked for the invariants callers rely on.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/hpack.h"
#include "proto/http2.h"
#include "proto/http_exchange.h"

struct digest {
	uint64_t h;
	size_t n;
	bool decline;
	bool direct; /* http2_conn itself: every exchange is HTTP/2 */
	size_t max_body;
};

static uint64_t mix(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;

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
	return s ? mix(h, s, strlen(s) + 1) : mix_u64(h, 0xdeadull);
}

static void check_msg(const struct http_message *m, size_t max_body)
{
	if (m->n_headers > HTTP1_MAX_HEADERS || m->body_len > max_body ||
	    m->body_len > m->body_bytes || m->n_marks > HTTP1_BODY_MARKS ||
	    strnlen(m->method, sizeof(m->method)) >= sizeof(m->method))
		abort();
	if (m->body && m->body[m->body_len] != '\0')
		abort();
	if (m->body_len && !m->body)
		abort();
	if (!(m->flags & (HTTP1_F_BODY_TRUNCATED | HTTP1_F_GAP)) && m->body_len != m->body_bytes)
		abort();
	if (m->ts_end < m->ts_start)
		abort();
	for (size_t i = 0; i < m->n_marks; i++)
		if (m->marks[i].off > m->body_len || (i && m->marks[i].off < m->marks[i - 1].off))
			abort();
	for (size_t i = 0; i < m->n_headers; i++) {
		const char *n = m->headers[i].name;

		if (!n || !*n || !m->headers[i].value)
			abort();
		for (; *n; n++)
			if (*n >= 'A' && *n <= 'Z')
				abort();
	}
}

static uint64_t mix_msg(uint64_t h, const struct http_message *m)
{
	h = mix_str(h, m->method);
	h = mix_str(h, m->target);
	h = mix_u64(h, (uint64_t)m->status);
	h = mix_u64(h, (uint64_t)m->version_major);
	h = mix_u64(h, m->flags);
	h = mix_u64(h, m->n_headers);
	for (size_t i = 0; i < m->n_headers; i++) {
		h = mix_str(h, m->headers[i].name);
		h = mix_str(h, m->headers[i].value);
	}
	h = mix_u64(h, m->body_len);
	h = mix(h, m->body ? m->body : "", m->body_len);
	h = mix_u64(h, m->body_bytes);
	h = mix_u64(h, m->ts_start);
	h = mix_u64(h, m->ts_end);
	for (size_t i = 0; i < m->n_marks; i++) {
		h = mix_u64(h, m->marks[i].off);
		h = mix_u64(h, m->marks[i].ts);
	}
	return h;
}

static void on_exchange(const struct http_exchange *ex, struct conn *c, void *ctx)
{
	struct digest *d = ctx;

	check_msg(&ex->req, d->max_body);
	check_msg(&ex->resp, d->max_body);
	if (ex->req.version_major != 2 && (d->direct || ex->req.version_major != 1))
		abort();
	if ((ex->flags & HTTP_EXCH_F_NO_RESPONSE) && (ex->resp.n_headers || ex->resp.body))
		abort();
	d->h = mix_msg(d->h, &ex->req);
	d->h = mix_msg(d->h, &ex->resp);
	d->h = mix_u64(d->h, ex->flags);
	d->h = mix_u64(d->h, ex->server_side);
	d->n++;
}

static bool classify(const struct http_message *req, const struct conn *c, void *ctx)
{
	struct digest *d = ctx;

	check_msg(req, d->max_body);
	return !d->decline;
}

struct record {
	int op, dir;
	const uint8_t *p;
	size_t len;
};

#define MAX_RECORDS 512

static size_t parse(const uint8_t *data, size_t size, struct record *r, bool *has_gap)
{
	size_t n = 0, pos = 1;

	*has_gap = false;
	while (pos + 3 <= size && n < MAX_RECORDS) {
		struct record *x = &r[n++];

		x->dir = data[pos] & 1;
		x->op = (data[pos] >> 1) & 3;
		x->len = (size_t)data[pos + 1] << 8 | data[pos + 2];
		pos += 3;
		x->p = data + pos;
		if (x->op >= 2) {
			*has_gap |= x->op == 2;
			continue;
		}
		if (x->len > size - pos)
			x->len = size - pos;
		pos += x->len;
	}
	return n;
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* One connection driven through either entry point. */
struct driver {
	bool direct;
	struct http_conn *hc;
	struct http2_conn *h2;
	struct http_hooks hooks;
	int rc;
};

static void drv_init(struct driver *dv, bool direct, const struct http1_limits *lim,
		     struct digest *d)
{
	memset(dv, 0, sizeof(*dv));
	dv->direct = direct;
	dv->hooks.on_exchange = on_exchange;
	dv->hooks.classify = classify;
	dv->hooks.ctx = d;
	if (direct)
		dv->h2 = http2_conn_new(lim);
	else
		dv->hc = http_conn_new(lim);
	if (!dv->h2 && !dv->hc)
		abort();
}

static void drv_feed(struct driver *dv, int dir, const uint8_t *p, size_t n, uint64_t ts)
{
	if (dv->rc == -EPROTO || dv->rc == -ECANCELED)
		return;
	dv->rc = dv->direct ? http2_conn_feed(dv->h2, NULL, dir, p, n, ts, &dv->hooks) :
			      http_conn_feed(dv->hc, NULL, dir, p, n, ts, &dv->hooks);
}

static void drv_gap(struct driver *dv, int dir, uint64_t n, uint64_t ts)
{
	if (dv->rc == -EPROTO || dv->rc == -ECANCELED)
		return;
	dv->rc = dv->direct ? http2_conn_gap(dv->h2, NULL, dir, n, ts, &dv->hooks) :
			      http_conn_gap(dv->hc, NULL, dir, n, ts, &dv->hooks);
}

static void drv_eof(struct driver *dv, uint64_t ts)
{
	if (dv->direct)
		http2_conn_eof(dv->h2, NULL, ts, &dv->hooks);
	else
		http_conn_eof(dv->hc, NULL, ts, &dv->hooks);
}

/* Returns the probe failures seen (they make results depend on call boundaries). */
static uint64_t drv_free(struct driver *dv)
{
	uint64_t pf = 0;

	if (dv->direct) {
		/* memory accounting must stay sane */
		if (http2_conn_buffered(dv->h2) > (64u << 20))
			abort();
		pf = http2_conn_get_stats(dv->h2)->probe_failures;
		http2_conn_free(dv->h2);
	} else {
		http_conn_free(dv->hc);
	}
	return pf;
}

struct outcome {
	uint64_t h;
	size_t n;
	int rc;
	uint64_t probe_failures;
};

static void run(const struct record *r, size_t nr, bool direct, const struct http1_limits *lim,
		struct digest *d, uint64_t seed, struct outcome *o)
{
	struct driver dv;
	uint64_t ts = 1;

	d->h = 0xcbf29ce484222325ull;
	d->n = 0;
	d->direct = direct;
	drv_init(&dv, direct, lim, d);
	for (size_t i = 0; i < nr; i++, ts++) {
		const struct record *x = &r[i];

		if (x->op == 3)
			break;
		if (x->op == 2) {
			drv_gap(&dv, x->dir, x->len, ts);
			continue;
		}
		for (size_t pos = 0; pos < x->len;) {
			size_t n = x->len - pos;

			if (seed) {
				size_t k = 1 + rng_next(&seed) % 23;

				n = n < k ? n : k;
			}
			drv_feed(&dv, x->dir, x->p + pos, n, ts);
			pos += n;
		}
	}
	drv_eof(&dv, ts);
	if (http_conn_buffered(dv.hc) > (64u << 20))
		abort();
	o->h = d->h;
	o->n = d->n;
	o->rc = dv.rc;
	o->probe_failures = drv_free(&dv);
}

static void run_chaos(const struct record *r, size_t nr, const struct http1_limits *lim,
		      struct digest *d, uint64_t seed)
{
	struct driver dv;
	uint64_t ts = 1;

	d->direct = true;
	drv_init(&dv, true, lim, d);
	for (size_t i = 0; i < nr; i++, ts++) {
		const struct record *x = &r[i];
		uint64_t v = rng_next(&seed);

		if (x->op >= 2) {
			drv_gap(&dv, x->dir, x->len, ts);
			continue;
		}
		if (v % 7 == 0 && x->len > 2) {
			size_t at = 1 + (v >> 8) % (x->len - 1);

			drv_feed(&dv, x->dir, x->p, at, ts);
			drv_gap(&dv, x->dir, (v >> 20) % 40, ts);
			drv_feed(&dv, x->dir, x->p + at, x->len - at, ts);
		} else {
			drv_feed(&dv, x->dir, x->p, x->len, ts);
		}
		if (v % 53 == 0)
			break;
	}
	drv_eof(&dv, ts);
	drv_free(&dv);
}

static int count_field(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen)
{
	size_t *n = ctx;

	if ((nlen && !name) || (vlen && !value))
		abort();
	(*n)++;
	return 0;
}

static void run_hpack(const struct record *r, size_t nr)
{
	struct hpack_decoder *known = hpack_decoder_new(4096), *unknown = hpack_decoder_new(0);
	size_t n = 0;
	unsigned out;

	if (!known || !unknown)
		abort();
	hpack_decoder_forget(unknown);
	for (size_t i = 0; i < nr; i++) {
		if (r[i].op >= 2)
			continue;
		hpack_decode(known, r[i].p, r[i].len, 1 << 16, count_field, &n, &out);
		hpack_decode(unknown, r[i].p, r[i].len, 300, count_field, &n, &out);
		if (hpack_decoder_table_size(known) > hpack_decoder_max_size(known) ||
		    hpack_decoder_max_size(known) > 4096 ||
		    hpack_decoder_table_size(unknown) > HPACK_DEFAULT_CAP)
			abort();
	}
	hpack_decoder_free(known);
	hpack_decoder_free(unknown);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct record r[MAX_RECORDS];
	struct http1_limits lim = { 0, 0 };
	struct outcome direct_whole, whole, pieces;
	struct digest d = { 0 };
	uint8_t cfg = size ? data[0] : 0;
	bool direct = cfg & 1, has_gap;
	size_t nr;

	nr = parse(data, size, r, &has_gap);
	d.decline = (cfg >> 1 & 7) == 0;
	if (cfg & 0x10) {
		lim.max_body_bytes = 1 + (cfg >> 5) * 7;
		lim.max_header_bytes = 64 + (cfg >> 5) * 100;
	}
	d.max_body = lim.max_body_bytes ? lim.max_body_bytes : HTTP1_DEFAULT_MAX_BODY_BYTES;
	/*
	 * A failed frame check drops the rest of a feed call, so results depend
	 * on call boundaries from there on.  The first failure happens at the
	 * same byte however the input is cut: one whole run tells.
	 */
	run(r, nr, true, &lim, &d, 0, &direct_whole);
	if (direct)
		whole = direct_whole;
	else
		run(r, nr, false, &lim, &d, 0, &whole);
	run(r, nr, direct, &lim, &d, mix(0x9e3779b97f4a7c15ull, data, size) | 1, &pieces);
	if (!has_gap && !direct_whole.probe_failures &&
	    (whole.h != pieces.h || whole.n != pieces.n || whole.rc != pieces.rc))
		abort();
	run_chaos(r, nr, &lim, &d, mix(0x12345ull, data, size));
	run_hpack(r, nr);
	return 0;
}
