// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* HTTP/2: hand-built frame sequences through http2.c, http_exchange.c and stream.c. */
#include <errno.h>
#include <stdlib.h>

#include "proto/hpack.h"
#include "proto/http2.h"
#include "proto/http_exchange.h"
#include "stream/stream.h"
#include "test.h"

#define C LT_DIR_EGRESS /* the traced client sends */
#define S LT_DIR_INGRESS /* ... and receives */

/* --- building frames --- */

struct buf {
	size_t n;
	uint8_t b[1 << 16];
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->n + n > sizeof(b->b))
		test_fail_at(__FILE__, __LINE__, "test buffer overflow");
	if (n)
		memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void put_u8(struct buf *b, uint8_t v)
{
	put(b, &v, 1);
}

static void frame(struct buf *b, uint8_t type, uint8_t flags, uint32_t sid, const void *p, size_t n)
{
	uint8_t h[9] = { (uint8_t)(n >> 16),
			 (uint8_t)(n >> 8),
			 (uint8_t)n,
			 type,
			 flags,
			 (uint8_t)(sid >> 24 & 0x7f),
			 (uint8_t)(sid >> 16),
			 (uint8_t)(sid >> 8),
			 (uint8_t)sid };

	put(b, h, sizeof(h));
	put(b, p, n);
}

enum { DATA = 0, HEADERS, PRIORITY, RST, SETTINGS, PUSH, PING, GOAWAY, WINUP, CONT };
#define ES 0x1
#define ACK 0x1
#define EH 0x4
#define PADDED 0x8
#define PRIO 0x20

static void data_frame(struct buf *b, uint32_t sid, bool es, const char *s)
{
	frame(b, DATA, es ? ES : 0, sid, s, strlen(s));
}

/* HPACK encoding, enough for tests: integers, raw strings, literals. */
static void hp_int(struct buf *b, uint8_t first, unsigned prefix, uint32_t v)
{
	uint32_t max = (1u << prefix) - 1;

	if (v < max) {
		put_u8(b, (uint8_t)(first | v));
		return;
	}
	put_u8(b, (uint8_t)(first | max));
	v -= max;
	while (v >= 128) {
		put_u8(b, (uint8_t)((v & 0x7f) | 0x80));
		v >>= 7;
	}
	put_u8(b, (uint8_t)v);
}

static void hp_str(struct buf *b, const char *s)
{
	hp_int(b, 0, 7, (uint32_t)strlen(s));
	put(b, s, strlen(s));
}

#define LIT_PLAIN 0x00
#define LIT_NEVER 0x10
#define LIT_INDEX 0x40

/* A literal field; name_idx 0: a new name. */
static void hp_lit(struct buf *b, uint8_t kind, unsigned name_idx, const char *name,
		   const char *value)
{
	hp_int(b, kind, kind == LIT_INDEX ? 6 : 4, name_idx);
	if (!name_idx)
		hp_str(b, name);
	hp_str(b, value);
}

static void hp_idx(struct buf *b, unsigned idx)
{
	hp_int(b, 0x80, 7, idx);
}

static void headers_frame(struct buf *out, uint32_t sid, uint8_t flags, const struct buf *block)
{
	frame(out, HEADERS, flags | EH, sid, block->b, block->n);
}

static struct buf *newbuf(void)
{
	struct buf *b = calloc(1, sizeof(*b));

	if (!b)
		test_fail_at(__FILE__, __LINE__, "calloc");
	return b;
}

/* --- conversations: each direction's bytes and the order they are fed --- */

struct chunk {
	int dir;
	size_t off, len;
	uint64_t ts;
};

struct conv {
	struct buf d[2];
	size_t cut[2];
	struct chunk chunks[256];
	int n;
};

/* The bytes added to direction dir since the last cut become one feed. */
static void cut(struct conv *cv, int dir, uint64_t ts)
{
	struct chunk *c = &cv->chunks[cv->n++];

	c->dir = dir;
	c->off = cv->cut[dir];
	c->len = cv->d[dir].n - cv->cut[dir];
	c->ts = ts;
	cv->cut[dir] = cv->d[dir].n;
}

static void preface(struct conv *cv)
{
	put(&cv->d[C], HTTP2_PREFACE, HTTP2_PREFACE_LEN);
	frame(&cv->d[C], SETTINGS, 0, 0, NULL, 0);
	cut(cv, C, 10);
	frame(&cv->d[S], SETTINGS, 0, 0, NULL, 0);
	frame(&cv->d[S], SETTINGS, ACK, 0, NULL, 0);
	cut(cv, S, 11);
}

/* --- what is delivered --- */

struct sink {
	char all[1 << 16]; /* every exchange, described */
	size_t all_len;
	int n;
	char first[4][2100];
	int classified;
	char classified_target[128];
	bool decline;
	struct http_message resp; /* marks and body of the last response */
	bool server_side[256];
	unsigned req_flags[256], resp_flags[256], ex_flags[256];
};

static void describe_msg(char *out, size_t size, const struct http_message *m)
{
	int w = snprintf(out, size, "%s %s %d v%d f%x |", m->method[0] ? m->method : "-",
			 m->target ? m->target : "-", m->status, m->version_major, m->flags);

	for (size_t i = 0; i < m->n_headers && w > 0 && (size_t)w < size; i++)
		w += snprintf(out + w, size - (size_t)w, " %s=%s", m->headers[i].name,
			      m->headers[i].value);
	if (w > 0 && (size_t)w < size)
		w += snprintf(out + w, size - (size_t)w, " | %.*s (%llu)", (int)m->body_len,
			      m->body ? m->body : "", (unsigned long long)m->body_bytes);
	for (size_t i = 0; i < m->n_marks && w > 0 && (size_t)w < size; i++)
		w += snprintf(out + w, size - (size_t)w, " @%llu:%llu",
			      (unsigned long long)m->marks[i].off,
			      (unsigned long long)m->marks[i].ts);
	if (w > 0 && (size_t)w < size)
		snprintf(out + w, size - (size_t)w, " [%llu-%llu]", (unsigned long long)m->ts_start,
			 (unsigned long long)m->ts_end);
}

static void on_exchange(const struct http_exchange *ex, struct conn *c, void *ctx)
{
	struct sink *k = ctx;
	char rq[1024], rs[1024], line[2100];
	int w;

	describe_msg(rq, sizeof(rq), &ex->req);
	describe_msg(rs, sizeof(rs), &ex->resp);
	w = snprintf(line, sizeof(line), "%s => %s%s%s\n", rq, rs,
		     ex->flags & HTTP_EXCH_F_NO_RESPONSE ? " NORESP" : "",
		     ex->server_side ? " SERVER" : "");
	if (w > 0 && k->all_len + (size_t)w < sizeof(k->all)) {
		memcpy(k->all + k->all_len, line, (size_t)w + 1);
		k->all_len += (size_t)w;
	}
	if (k->n < 4)
		snprintf(k->first[k->n], sizeof(k->first[0]), "%s => %s", rq, rs);
	if (k->n < 256) {
		k->server_side[k->n] = ex->server_side;
		k->req_flags[k->n] = ex->req.flags;
		k->resp_flags[k->n] = ex->resp.flags;
		k->ex_flags[k->n] = ex->flags;
	}
	k->n++;
	http_message_free(&k->resp);
	k->resp.body_len = ex->resp.body_len;
	k->resp.ts_end = ex->resp.ts_end;
	k->resp.n_marks = ex->resp.n_marks;
	if (ex->resp.n_marks) {
		k->resp.marks = malloc(ex->resp.n_marks * sizeof(*k->resp.marks));
		memcpy(k->resp.marks, ex->resp.marks, ex->resp.n_marks * sizeof(*k->resp.marks));
	}
}

static bool classify(const struct http_message *req, const struct conn *c, void *ctx)
{
	struct sink *k = ctx;

	k->classified++;
	snprintf(k->classified_target, sizeof(k->classified_target), "%s",
		 req->target ? req->target : "-");
	return !k->decline;
}

struct result {
	int rc; /* first error of a feed */
	struct http2_stats stats;
};

/*
 * Feeds a conversation to a new connection.  swap: the traced process is
 * the server (directions exchanged).  Chunk split_chunk is fed in two pieces
 * cut at split_at (same ts); bytewise feeds every chunk a byte at a time.
 */
static struct result run_conv(const struct conv *cv, bool swap, int split_chunk, size_t split_at,
			      bool bytewise, const struct http1_limits *lim, struct sink *k)
{
	struct http2_conn *h = http2_conn_new(lim);
	struct http_hooks hooks = { on_exchange, classify, k };
	struct result r = { 0 };

	if (!h)
		test_fail_at(__FILE__, __LINE__, "http2_conn_new");
	for (int i = 0; i < cv->n && !r.rc; i++) {
		const struct chunk *c = &cv->chunks[i];
		const uint8_t *p = cv->d[c->dir].b + c->off;
		int dir = swap ? !c->dir : c->dir;

		if (bytewise) {
			for (size_t j = 0; j < c->len && !r.rc; j++)
				r.rc = http2_conn_feed(h, NULL, dir, p + j, 1, c->ts, &hooks);
		} else if (i == split_chunk && split_at && split_at < c->len) {
			r.rc = http2_conn_feed(h, NULL, dir, p, split_at, c->ts, &hooks);
			if (!r.rc)
				r.rc = http2_conn_feed(h, NULL, dir, p + split_at,
						       c->len - split_at, c->ts, &hooks);
		} else {
			r.rc = http2_conn_feed(h, NULL, dir, p, c->len, c->ts, &hooks);
		}
	}
	http2_conn_eof(h, NULL, 1000, &hooks);
	r.stats = *http2_conn_get_stats(h);
	http2_conn_free(h);
	return r;
}

static void sink_free(struct sink *k)
{
	http_message_free(&k->resp);
}

/* Every split of every chunk, and byte-at-a-time feeding, give the same exchanges. */
static void assert_split_invariant(const struct conv *cv, bool swap)
{
	static struct sink whole, part;
	struct result rw, rp;

	memset(&whole, 0, sizeof(whole));
	rw = run_conv(cv, swap, -1, 0, false, NULL, &whole);
	for (int i = 0; i < cv->n; i++) {
		for (size_t at = 1; at < cv->chunks[i].len; at++) {
			memset(&part, 0, sizeof(part));
			rp = run_conv(cv, swap, i, at, false, NULL, &part);
			ASSERT_EQ(rp.rc, rw.rc);
			ASSERT_EQ(part.n, whole.n);
			if (strcmp(part.all, whole.all) != 0)
				test_fail_at(__FILE__, __LINE__,
					     "chunk %d split at %zu:\n%s\nwhole:\n%s", i, at,
					     part.all, whole.all);
			sink_free(&part);
		}
	}
	memset(&part, 0, sizeof(part));
	rp = run_conv(cv, swap, -1, 0, true, NULL, &part);
	ASSERT_EQ(rp.rc, rw.rc);
	ASSERT_STREQ(part.all, whole.all);
	sink_free(&part);
	sink_free(&whole);
}

/* --- conversations --- */

/*
 * Two requests on streams 1 and 3, interleaved; the second reuses the
 * dynamic table entries of the first; responses in the other order.
 */
static void conv_two_streams(struct conv *cv)
{
	struct buf *blk = newbuf();

	memset(cv, 0, sizeof(*cv));
	preface(cv);
	hp_idx(blk, 3); /* :method POST */
	hp_idx(blk, 7); /* :scheme https */
	hp_lit(blk, LIT_INDEX, 4, NULL, "/v1/chat/completions"); /* -> 64 */
	hp_lit(blk, LIT_INDEX, 1, NULL, "api.openai.com"); /* :authority -> 63 */
	hp_lit(blk, LIT_INDEX, 31, NULL, "application/json"); /* content-type -> 62 */
	hp_lit(blk, LIT_NEVER, 23, NULL, "Bearer sk-test");
	hp_lit(blk, LIT_PLAIN, 0, "X-Custom", "One");
	headers_frame(&cv->d[C], 1, 0, blk);
	blk->n = 0;
	hp_idx(blk, 3);
	hp_idx(blk, 7);
	hp_idx(blk, 64);
	hp_idx(blk, 63);
	hp_idx(blk, 62);
	headers_frame(&cv->d[C], 3, 0, blk);
	data_frame(&cv->d[C], 3, false, "{\"model\":\"b\"");
	cut(cv, C, 20);
	data_frame(&cv->d[C], 1, true, "{\"model\":\"a\"}");
	data_frame(&cv->d[C], 3, true, "}");
	cut(cv, C, 21);

	blk->n = 0;
	hp_idx(blk, 8); /* :status 200 */
	hp_lit(blk, LIT_INDEX, 31, NULL, "application/json");
	headers_frame(&cv->d[S], 3, 0, blk);
	data_frame(&cv->d[S], 3, true, "{\"id\":3}");
	cut(cv, S, 30);
	blk->n = 0;
	hp_idx(blk, 8);
	hp_idx(blk, 62);
	headers_frame(&cv->d[S], 1, 0, blk);
	data_frame(&cv->d[S], 1, false, "{\"id\":");
	cut(cv, S, 31);
	data_frame(&cv->d[S], 1, true, "1}");
	cut(cv, S, 32);
	free(blk);
}

#define REQ_HEAD "POST /v1/chat/completions 0 v2 f0 | host=api.openai.com "
#define REQ_HDRS "content-type=application/json authorization=Bearer sk-test x-custom=One"

TEST(h2_two_interleaved_streams)
{
	static struct conv cv;
	static struct sink k;
	struct result r;

	conv_two_streams(&cv);
	memset(&k, 0, sizeof(k));
	r = run_conv(&cv, false, -1, 0, false, NULL, &k);
	ASSERT_EQ(r.rc, 0);
	ASSERT_EQ(k.n, 2);
	ASSERT_STREQ(k.first[0], REQ_HEAD "content-type=application/json | {\"model\":\"b\"} (13) "
					  "@0:20 @12:21 [20-21] => - - 200 v2 f0 | "
					  "content-type=application/json | {\"id\":3} (8) @0:30 "
					  "[30-30]");
	ASSERT_STREQ(k.first[1], REQ_HEAD REQ_HDRS " | {\"model\":\"a\"} (13) @0:21 [20-21] => "
						   "- - 200 v2 f0 | content-type=application/json "
						   "| {\"id\":1} (8) @0:31 @6:32 [31-32]");
	ASSERT_EQ(k.server_side[0], false);
	/* the first request to complete (stream 1) was classified, once */
	ASSERT_EQ(k.classified, 1);
	ASSERT_STREQ(k.classified_target, "/v1/chat/completions");
	ASSERT_EQ(r.stats.exchanges, 2);
	ASSERT_EQ(r.stats.headers_unknown, 0);
	ASSERT_EQ(r.stats.hpack_errors, 0);
	sink_free(&k);
}

TEST(h2_split_at_every_offset_same_exchanges)
{
	static struct conv cv;

	conv_two_streams(&cv);
	assert_split_invariant(&cv, false);
	assert_split_invariant(&cv, true);
}

TEST(h2_server_side_view)
{
	static struct conv cv;
	static struct sink client, server;

	conv_two_streams(&cv);
	memset(&client, 0, sizeof(client));
	memset(&server, 0, sizeof(server));
	ASSERT_EQ(run_conv(&cv, false, -1, 0, false, NULL, &client).rc, 0);
	ASSERT_EQ(run_conv(&cv, true, -1, 0, false, NULL, &server).rc, 0);
	ASSERT_EQ(server.n, 2);
	ASSERT_EQ(server.server_side[0], true);
	ASSERT_EQ(server.server_side[1], true);
	ASSERT_STREQ(server.first[0], client.first[0]);
	ASSERT_STREQ(server.first[1], client.first[1]);
	sink_free(&client);
	sink_free(&server);
}

/* The server sends its SETTINGS before the client preface arrives (server side). */
TEST(h2_server_settings_before_client_preface)
{
	static struct conv cv, reordered;
	static struct sink k;
	struct result r;

	conv_two_streams(&cv);
	reordered = cv;
	reordered.chunks[0] = cv.chunks[1];
	reordered.chunks[1] = cv.chunks[0];
	memset(&k, 0, sizeof(k));
	r = run_conv(&reordered, true, -1, 0, false, NULL, &k);
	ASSERT_EQ(r.rc, 0);
	ASSERT_EQ(k.n, 2);
	ASSERT_EQ(r.stats.headers_unknown, 0);
	ASSERT_TRUE(strstr(k.first[1], REQ_HDRS) != NULL);
	ASSERT_EQ(k.server_side[1], true);
	sink_free(&k);
}

TEST(h2_continuation_padding_and_ignored_frames)
{
	static struct conv cv;
	static struct sink k;
	struct buf *blk = newbuf(), *pl = newbuf();
	uint8_t ping[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, wu[4] = { 0, 0, 1, 0 }, prio[5] = { 0 };
	uint8_t goaway[8] = { 0, 0, 0, 9, 0, 0, 0, 0 };
	size_t third;
	struct result r;

	memset(&cv, 0, sizeof(cv));
	preface(&cv);
	hp_idx(blk, 3);
	hp_idx(blk, 7);
	hp_lit(blk, LIT_INDEX, 4, NULL, "/v1/messages");
	hp_lit(blk, LIT_INDEX, 1, NULL, "api.anthropic.com");
	hp_lit(blk, LIT_PLAIN, 0, "anthropic-version", "2023-06-01");
	third = blk->n / 3;
	/* HEADERS: PADDED | PRIORITY, the block split over two CONTINUATIONs */
	put_u8(pl, 3);
	put(pl, "\x00\x00\x00\x00\x0f", 5);
	put(pl, blk->b, third);
	put(pl, "\0\0\0", 3);
	frame(&cv.d[C], HEADERS, PADDED | PRIO, 1, pl->b, pl->n);
	frame(&cv.d[C], CONT, 0, 1, blk->b + third, third);
	frame(&cv.d[C], CONT, EH, 1, blk->b + 2 * third, blk->n - 2 * third);
	frame(&cv.d[C], PING, 0, 0, ping, 8);
	frame(&cv.d[C], WINUP, 0, 1, wu, 4);
	frame(&cv.d[C], PRIORITY, 0, 1, prio, 5);
	frame(&cv.d[C], 0x21, 0xff, 1, "ext", 3); /* unknown type: ignored */
	/* DATA: PADDED, END_STREAM */
	pl->n = 0;
	put_u8(pl, 4);
	put(pl, "{\"max_tokens\":5}", 16);
	put(pl, "\0\0\0\0", 4);
	frame(&cv.d[C], DATA, PADDED | ES, 1, pl->b, pl->n);
	cut(&cv, C, 20);
	/* a 204 that ends the stream on HEADERS, then GOAWAY */
	blk->n = 0;
	hp_idx(blk, 9);
	headers_frame(&cv.d[S], 1, ES, blk);
	frame(&cv.d[S], GOAWAY, 0, 0, goaway, 8);
	cut(&cv, S, 30);
	memset(&k, 0, sizeof(k));
	r = run_conv(&cv, false, -1, 0, false, NULL, &k);
	ASSERT_EQ(r.rc, 0);
	ASSERT_EQ(k.n, 1);
	ASSERT_STREQ(k.first[0], "POST /v1/messages 0 v2 f0 | host=api.anthropic.com "
				 "anthropic-version=2023-06-01 | {\"max_tokens\":5} (16) @0:20 "
				 "[20-20] => - - 204 v2 f0 | |  (0) [30-30]");
	ASSERT_EQ(r.stats.ignored_frames, 1);
	assert_split_invariant(&cv, false);
	sink_free(&k);
	free(blk);
	free(pl);
}

static void request_on(struct conv *cv, uint32_t sid, bool es, const char *body)
{
	struct buf *blk = newbuf();

	hp_idx(blk, 3);
	hp_idx(blk, 7);
	hp_lit(blk, LIT_PLAIN, 4, NULL, "/v1/chat/completions");
	hp_lit(blk, LIT_PLAIN, 1, NULL, "h");
	headers_frame(&cv->d[C], sid, body ? 0 : (es ? ES : 0), blk);
	if (body)
		data_frame(&cv->d[C], sid, es, body);
	free(blk);
}

static void response_on(struct conv *cv, uint32_t sid, bool es, const char *body)
{
	struct buf *blk = newbuf();

	hp_idx(blk, 8);
	headers_frame(&cv->d[S], sid, body ? 0 : (es ? ES : 0), blk);
	if (body)
		data_frame(&cv->d[S], sid, es, body);
	free(blk);
}

TEST(h2_rst_stream_delivers_incomplete)
{
	static struct conv cv;
	static struct sink k;
	uint8_t code[4] = { 0, 0, 0, 8 };
	struct result r;

	memset(&cv, 0, sizeof(cv));
	preface(&cv);
	request_on(&cv, 1, true, "{}");
	cut(&cv, C, 20);
	frame(&cv.d[S], RST, 0, 1, code, 4); /* refused before any response */
	cut(&cv, S, 21);
	request_on(&cv, 3, true, "{}");
	cut(&cv, C, 22);
	response_on(&cv, 3, false, "part");
	cut(&cv, S, 23);
	frame(&cv.d[C], RST, 0, 3, code, 4); /* the client cancels mid-response */
	cut(&cv, C, 24);
	data_frame(&cv.d[S], 3, true, "late"); /* after the reset: ignored */
	frame(&cv.d[S], RST, 0, 3, code, 4);
	cut(&cv, S, 25);
	memset(&k, 0, sizeof(k));
	r = run_conv(&cv, false, -1, 0, false, NULL, &k);
	ASSERT_EQ(r.rc, 0);
	ASSERT_EQ(k.n, 2);
	ASSERT_UEQ(k.ex_flags[0], HTTP_EXCH_F_NO_RESPONSE);
	ASSERT_UEQ(k.req_flags[0], 0);
	ASSERT_UEQ(k.ex_flags[1], 0);
	ASSERT_UEQ(k.req_flags[1], 0);
	ASSERT_UEQ(k.resp_flags[1], HTTP1_F_INCOMPLETE);
	ASSERT_TRUE(strstr(k.first[1], "| part (4)") != NULL);
	ASSERT_EQ(r.stats.ignored_frames, 1); /* the late DATA */
	sink_free(&k);
}

/* An SSE response arriving over time: body marks give each event's arrival. */
TEST(h2_sse_response_marks)
{
	static struct conv cv;
	static struct sink k;
	static const char *const ev[] = { "data: {\"a\":1}\n\n", "data: {\"a\":2}\n\n",
					  "data: [DONE]\n\n" };
	struct buf *blk = newbuf();

	memset(&cv, 0, sizeof(cv));
	preface(&cv);
	request_on(&cv, 1, true, "{\"stream\":true}");
	cut(&cv, C, 100);
	hp_idx(blk, 8);
	hp_lit(blk, LIT_INDEX, 31, NULL, "text/event-stream");
	headers_frame(&cv.d[S], 1, 0, blk);
	cut(&cv, S, 150);
	for (int i = 0; i < 3; i++) {
		data_frame(&cv.d[S], 1, false, ev[i]);
		cut(&cv, S, 200 + 100 * (uint64_t)i);
	}
	data_frame(&cv.d[S], 1, true, "");
	cut(&cv, S, 500);
	memset(&k, 0, sizeof(k));
	ASSERT_EQ(run_conv(&cv, false, -1, 0, false, NULL, &k).rc, 0);
	ASSERT_EQ(k.n, 1);
	ASSERT_EQ(k.resp.n_marks, 3);
	ASSERT_UEQ(k.resp.marks[0].off, 0);
	ASSERT_UEQ(k.resp.marks[0].ts, 200);
	ASSERT_UEQ(k.resp.marks[1].off, 15);
	ASSERT_UEQ(k.resp.marks[2].off, 30);
	ASSERT_UEQ(k.resp.marks[2].ts, 400);
	ASSERT_UEQ(k.resp.ts_end, 500);
	ASSERT_UEQ(http_message_time_at(&k.resp, 16), 300);
	ASSERT_TRUE(strstr(k.first[0], "200 v2 f0 | content-type=text/event-stream | data:") !=
		    NULL);
	assert_split_invariant(&cv, false);
	sink_free(&k);
	free(blk);
}

/*
 * Capture begins mid-connection: no preface, dynamic table unknown.  Static
 * entries and literals still decode; bodies are recovered; a response whose
 * request was never seen is dropped.
 */
static void conv_mid(struct conv *cv, const char *req_body)
{
	struct buf *blk = newbuf();

	memset(cv, 0, sizeof(*cv));
	/* stream 5's request went out before the capture began */
	hp_idx(blk, 8);
	hp_idx(blk, 66);
	headers_frame(&cv->d[S], 5, 0, blk);
	data_frame(&cv->d[S], 5, true, "{\"old\":1}");
	cut(cv, S, 10);
	blk->n = 0;
	hp_idx(blk, 3); /* :method POST */
	hp_idx(blk, 7);
	hp_idx(blk, 65); /* :path, from before: unknown */
	hp_idx(blk, 64);
	hp_lit(blk, LIT_INDEX, 31, NULL, "application/json");
	headers_frame(&cv->d[C], 7, 0, blk);
	data_frame(&cv->d[C], 7, true, req_body);
	cut(cv, C, 20);
	blk->n = 0;
	hp_idx(blk, 8);
	hp_idx(blk, 70);
	headers_frame(&cv->d[S], 7, 0, blk);
	data_frame(&cv->d[S], 7, true, "{\"id\":7}");
	cut(cv, S, 30);
	/* a later request reuses the entry added above: decodable */
	blk->n = 0;
	hp_idx(blk, 3);
	hp_idx(blk, 62);
	headers_frame(&cv->d[C], 9, ES, blk);
	cut(cv, C, 40);
	free(blk);
}

TEST(h2_mid_connection_headers_unknown_bodies_kept)
{
	static struct conv cv;
	static struct sink k;
	struct result r;

	conv_mid(&cv, "{\"model\":\"gpt-4o\",\"messages\":[]}");
	memset(&k, 0, sizeof(k));
	k.decline = true; /* as the path-based classifier would, without a path */
	r = run_conv(&cv, false, -1, 0, false, NULL, &k);
	ASSERT_EQ(r.rc, 0);
	ASSERT_EQ(k.classified, 1);
	ASSERT_EQ(r.stats.classified_by_body, 1);
	ASSERT_EQ(r.stats.orphan_streams, 1);
	ASSERT_EQ(k.n, 2);
	ASSERT_STREQ(k.first[0], "POST - 0 v2 f10000 | content-type=application/json | "
				 "{\"model\":\"gpt-4o\",\"messages\":[]} (32) @0:20 [20-20] => - - "
				 "200 v2 f10000 | | {\"id\":7} (8) @0:30 [30-30]");
	/* stream 9: every field resolves (static, and an entry seen being added) */
	ASSERT_STREQ(k.first[1], "POST - 0 v2 f0 | content-type=application/json |  (0) [40-40] "
				 "=> - - 0 v0 f0 | |  (0) [0-0]");
	ASSERT_UEQ(k.ex_flags[1], HTTP_EXCH_F_NO_RESPONSE);
	assert_split_invariant(&cv, false);
	assert_split_invariant(&cv, true);
	sink_free(&k);
}

TEST(h2_mid_connection_non_llm_body_declined)
{
	static struct conv cv;
	static struct sink k;
	struct result r;

	conv_mid(&cv, "hello");
	memset(&k, 0, sizeof(k));
	k.decline = true;
	r = run_conv(&cv, false, -1, 0, false, NULL, &k);
	ASSERT_EQ(r.rc, -ECANCELED);
	ASSERT_EQ(k.n, 0);
	ASSERT_EQ(r.stats.classified_by_body, 0);
}

TEST(h2_classifier_decline_stops_connection)
{
	static struct conv cv;
	static struct sink k;
	struct http2_conn *h;
	struct http_hooks hooks = { on_exchange, classify, &k };

	conv_two_streams(&cv);
	memset(&k, 0, sizeof(k));
	k.decline = true;
	ASSERT_EQ(run_conv(&cv, false, -1, 0, false, NULL, &k).rc, -ECANCELED);
	ASSERT_EQ(k.n, 0);
	ASSERT_EQ(k.classified, 1);
	/* and nothing afterwards */
	h = http2_conn_new(NULL);
	for (int i = 0; i < cv.n; i++)
		http2_conn_feed(h, NULL, cv.chunks[i].dir,
				cv.d[cv.chunks[i].dir].b + cv.chunks[i].off, cv.chunks[i].len, 1,
				&hooks);
	ASSERT_EQ(http2_conn_feed(h, NULL, C, "x", 1, 1, &hooks), -ECANCELED);
	ASSERT_EQ(http2_conn_gap(h, NULL, C, 5, 1, &hooks), -ECANCELED);
	http2_conn_eof(h, NULL, 1, &hooks);
	ASSERT_EQ(k.n, 0);
	http2_conn_free(h);
}

TEST(h2_not_http2)
{
	static const char junk[] = "\x16\x03\x01\x02\x00 binary";
	static struct sink k;
	struct http_hooks hooks = { on_exchange, classify, &k };
	struct http2_conn *h = http2_conn_new(NULL);

	memset(&k, 0, sizeof(k));
	ASSERT_EQ(http2_conn_feed(h, NULL, C, junk, sizeof(junk) - 1, 1, &hooks), -EPROTO);
	ASSERT_EQ(http2_conn_feed(h, NULL, S, "x", 1, 1, &hooks), -EPROTO);
	http2_conn_free(h);
	/* a preface that goes wrong */
	h = http2_conn_new(NULL);
	ASSERT_EQ(http2_conn_feed(h, NULL, C, "PRI * HTTP/1.1\r\n", 16, 1, &hooks), -EPROTO);
	http2_conn_free(h);
	/* a gap before anything is known */
	h = http2_conn_new(NULL);
	ASSERT_EQ(http2_conn_feed(h, NULL, C, "\0\0", 2, 1, &hooks), 0);
	ASSERT_EQ(http2_conn_gap(h, NULL, C, 7, 1, &hooks), -EPROTO);
	http2_conn_free(h);
	ASSERT_EQ(k.n, 0);
}

TEST(h2_stream_cap_evicts_oldest)
{
	static struct conv cv;
	static struct sink k;
	struct result r;

	memset(&cv, 0, sizeof(cv));
	preface(&cv);
	for (uint32_t i = 0; i < HTTP2_MAX_STREAMS + 2; i++)
		request_on(&cv, 1 + 2 * i, false, NULL);
	cut(&cv, C, 20);
	response_on(&cv, 1, true, "late"); /* stream 1 was evicted: ignored */
	cut(&cv, S, 30);
	memset(&k, 0, sizeof(k));
	r = run_conv(&cv, false, -1, 0, false, NULL, &k);
	ASSERT_EQ(r.rc, 0);
	ASSERT_EQ(r.stats.streams_evicted, 2);
	ASSERT_EQ(k.n, HTTP2_MAX_STREAMS + 2); /* 2 evicted, the rest at eof */
	for (int i = 0; i < k.n; i++) {
		ASSERT_UEQ(k.req_flags[i], HTTP1_F_INCOMPLETE);
		ASSERT_UEQ(k.ex_flags[i], HTTP_EXCH_F_NO_RESPONSE);
	}
	sink_free(&k);
}

TEST(h2_body_cap_counts_past_it)
{
	static struct conv cv;
	static struct sink k;
	struct http1_limits lim = { 0, 8 };

	memset(&cv, 0, sizeof(cv));
	preface(&cv);
	request_on(&cv, 1, false, "0123456789");
	data_frame(&cv.d[C], 1, true, "abcdefghij");
	cut(&cv, C, 20);
	response_on(&cv, 1, true, "ok");
	cut(&cv, S, 30);
	memset(&k, 0, sizeof(k));
	ASSERT_EQ(run_conv(&cv, false, -1, 0, false, &lim, &k).rc, 0);
	ASSERT_EQ(k.n, 1);
	ASSERT_UEQ(k.req_flags[0], HTTP1_F_BODY_TRUNCATED);
	ASSERT_TRUE(strstr(k.first[0], "| 01234567 (20)") != NULL);
	sink_free(&k);
}

TEST(h2_interim_response_and_trailers)
{
	static struct conv cv;
	static struct sink k;
	struct buf *blk = newbuf();

	memset(&cv, 0, sizeof(cv));
	preface(&cv);
	request_on(&cv, 1, true, "{}");
	cut(&cv, C, 20);
	hp_lit(blk, LIT_PLAIN, 8, NULL, "100"); /* 100 Continue */
	headers_frame(&cv.d[S], 1, 0, blk);
	blk->n = 0;
	hp_idx(blk, 8);
	hp_lit(blk, LIT_PLAIN, 0, "x-a", "1");
	headers_frame(&cv.d[S], 1, 0, blk);
	data_frame(&cv.d[S], 1, false, "body");
	blk->n = 0;
	hp_lit(blk, LIT_PLAIN, 0, "grpc-status", "0");
	headers_frame(&cv.d[S], 1, ES, blk); /* trailers end the stream */
	cut(&cv, S, 30);
	memset(&k, 0, sizeof(k));
	ASSERT_EQ(run_conv(&cv, false, -1, 0, false, NULL, &k).rc, 0);
	ASSERT_EQ(k.n, 1);
	ASSERT_TRUE(strstr(k.first[0], "=> - - 200 v2 f0 | x-a=1 grpc-status=0 | body (4)") !=
		    NULL);
	sink_free(&k);
	free(blk);
}

TEST(h2_push_promise_keeps_hpack_in_sync)
{
	static struct conv cv;
	static struct sink k;
	struct buf *blk = newbuf(), *pl = newbuf();
	struct result r;

	memset(&cv, 0, sizeof(cv));
	preface(&cv);
	request_on(&cv, 1, true, "{}");
	cut(&cv, C, 20);
	/* the promise's block adds "x-push: yes" to the server's table */
	put(pl, "\0\0\0\2", 4);
	hp_idx(pl, 2);
	hp_lit(pl, LIT_INDEX, 0, "x-push", "yes");
	frame(&cv.d[S], PUSH, EH, 1, pl->b, pl->n);
	hp_idx(blk, 8);
	headers_frame(&cv.d[S], 2, 0, blk); /* the pushed stream: ignored */
	data_frame(&cv.d[S], 2, true, "pushed");
	blk->n = 0;
	hp_idx(blk, 8);
	hp_idx(blk, 62);
	headers_frame(&cv.d[S], 1, 0, blk);
	data_frame(&cv.d[S], 1, true, "real");
	cut(&cv, S, 30);
	memset(&k, 0, sizeof(k));
	r = run_conv(&cv, false, -1, 0, false, NULL, &k);
	ASSERT_EQ(r.rc, 0);
	ASSERT_EQ(k.n, 1);
	ASSERT_TRUE(strstr(k.first[0], "=> - - 200 v2 f0 | x-push=yes | real (4)") != NULL);
	ASSERT_EQ(r.stats.ignored_frames, 2);
	sink_free(&k);
	free(blk);
	free(pl);
}

TEST(h2_hpack_failure_makes_later_blocks_partial)
{
	static struct conv cv;
	static struct sink k;
	struct buf *blk = newbuf();
	struct result r;

	memset(&cv, 0, sizeof(cv));
	preface(&cv);
	request_on(&cv, 1, true, "{}");
	request_on(&cv, 3, true, "{}");
	cut(&cv, C, 20);
	hp_idx(blk, 8);
	hp_lit(blk, LIT_INDEX, 0, "x-a", "1");
	put(blk, "\x00\x81\xff", 3); /* a Huffman name of EOS bits */
	headers_frame(&cv.d[S], 1, ES, blk);
	blk->n = 0;
	hp_idx(blk, 13); /* :status 404 */
	hp_idx(blk, 62); /* x-a, added before the failure: no longer trusted */
	headers_frame(&cv.d[S], 3, ES, blk);
	cut(&cv, S, 30);
	memset(&k, 0, sizeof(k));
	r = run_conv(&cv, false, -1, 0, false, NULL, &k);
	ASSERT_EQ(r.rc, 0);
	ASSERT_EQ(k.n, 2);
	ASSERT_EQ(r.stats.hpack_errors, 1);
	ASSERT_UEQ(k.resp_flags[0], HTTP_MSG_F_HEADERS_UNKNOWN);
	ASSERT_UEQ(k.resp_flags[1], HTTP_MSG_F_HEADERS_UNKNOWN);
	ASSERT_TRUE(strstr(k.first[1], "=> - - 404 v2 f10000 | |") != NULL);
	ASSERT_UEQ(k.req_flags[1], 0); /* the other direction is unaffected */
	sink_free(&k);
	free(blk);
}

TEST(h2_settings_header_table_size_allows_larger_updates)
{
	static struct conv cv;
	static struct sink k;
	struct buf *blk = newbuf();
	uint8_t set[6] = { 0, 1, 0, 0, 0x20, 0 }; /* HEADER_TABLE_SIZE 8192 */

	for (int with = 0; with < 2; with++) {
		memset(&cv, 0, sizeof(cv));
		put(&cv.d[C], HTTP2_PREFACE, HTTP2_PREFACE_LEN);
		frame(&cv.d[C], SETTINGS, 0, 0, set, with ? 6 : 0);
		request_on(&cv, 1, true, "{}");
		cut(&cv, C, 20);
		frame(&cv.d[S], SETTINGS, 0, 0, NULL, 0);
		blk->n = 0;
		hp_int(blk, 0x20, 5, 8192);
		hp_idx(blk, 8);
		headers_frame(&cv.d[S], 1, ES, blk);
		cut(&cv, S, 30);
		memset(&k, 0, sizeof(k));
		ASSERT_EQ(run_conv(&cv, false, -1, 0, false, NULL, &k).rc, 0);
		ASSERT_EQ(k.n, 1);
		ASSERT_UEQ(k.resp_flags[0], with ? 0 : HTTP_MSG_F_HEADERS_UNKNOWN);
		sink_free(&k);
	}
	free(blk);
}

TEST(h2_eof_delivers_what_is_under_way)
{
	static struct conv cv;
	static struct sink k;

	memset(&cv, 0, sizeof(cv));
	preface(&cv);
	request_on(&cv, 1, true, "{}");
	request_on(&cv, 3, false, "{\"par");
	cut(&cv, C, 20);
	response_on(&cv, 1, false, "half");
	cut(&cv, S, 30);
	memset(&k, 0, sizeof(k));
	ASSERT_EQ(run_conv(&cv, false, -1, 0, false, NULL, &k).rc, 0);
	ASSERT_EQ(k.n, 2);
	ASSERT_UEQ(k.req_flags[0], 0);
	ASSERT_UEQ(k.resp_flags[0], HTTP1_F_INCOMPLETE);
	ASSERT_UEQ(k.req_flags[1], HTTP1_F_INCOMPLETE);
	ASSERT_UEQ(k.ex_flags[1], HTTP_EXCH_F_NO_RESPONSE);
	sink_free(&k);
}

/* --- gaps --- */

TEST(h2_gap_inside_data_is_skipped_exactly)
{
	static struct sink k;
	struct http_hooks hooks = { on_exchange, classify, &k };
	struct http2_conn *h = http2_conn_new(NULL);
	static struct conv cv;
	const uint8_t *p;
	size_t n;

	memset(&cv, 0, sizeof(cv));
	preface(&cv);
	request_on(&cv, 1, true, "0123456789abcdefghij");
	cut(&cv, C, 20);
	response_on(&cv, 1, true, "ok");
	cut(&cv, S, 30);
	memset(&k, 0, sizeof(k));
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(http2_conn_feed(h, NULL, cv.chunks[i].dir,
					  cv.d[cv.chunks[i].dir].b + cv.chunks[i].off,
					  cv.chunks[i].len, 1, &hooks),
			  0);
	/* the request: everything but 10 bytes in the middle of its DATA payload */
	p = cv.d[C].b + cv.chunks[2].off;
	n = cv.chunks[2].len;
	ASSERT_EQ(http2_conn_feed(h, NULL, C, p, n - 15, 2, &hooks), 0);
	ASSERT_EQ(http2_conn_gap(h, NULL, C, 10, 2, &hooks), 0);
	ASSERT_EQ(http2_conn_feed(h, NULL, C, p + n - 5, 5, 3, &hooks), 0);
	ASSERT_EQ(http2_conn_feed(h, NULL, S, cv.d[S].b + cv.chunks[3].off, cv.chunks[3].len, 4,
				  &hooks),
		  0);
	ASSERT_EQ(k.n, 1);
	ASSERT_UEQ(k.req_flags[0], HTTP1_F_GAP);
	ASSERT_TRUE(strstr(k.first[0], "| 01234fghij (20)") != NULL);
	http2_conn_free(h);
	sink_free(&k);
}

TEST(h2_gap_across_frames_resyncs)
{
	static struct sink k;
	struct http_hooks hooks = { on_exchange, classify, &k };
	struct http2_conn *h = http2_conn_new(NULL);
	struct buf *b = newbuf(), *blk = newbuf();
	static struct conv cv;

	memset(&cv, 0, sizeof(cv));
	preface(&cv);
	request_on(&cv, 1, true, "{}");
	request_on(&cv, 3, true, "{}");
	cut(&cv, C, 20);
	memset(&k, 0, sizeof(k));
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(http2_conn_feed(h, NULL, cv.chunks[i].dir,
					  cv.d[cv.chunks[i].dir].b + cv.chunks[i].off,
					  cv.chunks[i].len, 1, &hooks),
			  0);
	/* response 1 starts, adding an entry to the server's table */
	hp_idx(blk, 8);
	hp_lit(blk, LIT_INDEX, 0, "x-a", "1");
	headers_frame(b, 1, 0, blk);
	data_frame(b, 1, false, "first ");
	ASSERT_EQ(http2_conn_feed(h, NULL, S, b->b, b->n, 2, &hooks), 0);
	/* a whole frame is lost (the framing with it), then frames again */
	ASSERT_EQ(http2_conn_gap(h, NULL, S, 9 + 7, 3, &hooks), 0);
	b->n = 0;
	data_frame(b, 1, true, "last");
	blk->n = 0;
	hp_idx(blk, 8);
	hp_idx(blk, 62); /* x-a: dropped with the table */
	headers_frame(b, 3, ES, blk);
	ASSERT_EQ(http2_conn_feed(h, NULL, S, b->b, b->n, 4, &hooks), 0);
	ASSERT_EQ(k.n, 2);
	ASSERT_UEQ(k.resp_flags[0], HTTP1_F_GAP | HTTP1_F_INCOMPLETE);
	ASSERT_TRUE(strstr(k.first[0], "| x-a=1 | first last (10)") != NULL);
	ASSERT_UEQ(k.resp_flags[1], HTTP_MSG_F_HEADERS_UNKNOWN);
	ASSERT_TRUE(strstr(k.first[1], "=> - - 200 v2 f10000 | |") != NULL);
	ASSERT_EQ(http2_conn_get_stats(h)->lost_framing, 1);
	ASSERT_EQ(http2_conn_get_stats(h)->resyncs, 1);
	http2_conn_free(h);
	sink_free(&k);
	free(b);
	free(blk);
}

TEST(h2_lost_framing_gives_up_after_failed_resyncs)
{
	static struct sink k;
	struct http_hooks hooks = { on_exchange, classify, &k };
	struct http2_conn *h = http2_conn_new(NULL);
	static struct conv cv;
	int rc = 0, i;

	memset(&cv, 0, sizeof(cv));
	preface(&cv);
	request_on(&cv, 1, true, "{}");
	cut(&cv, C, 20);
	memset(&k, 0, sizeof(k));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(http2_conn_feed(h, NULL, cv.chunks[i].dir,
					  cv.d[cv.chunks[i].dir].b + cv.chunks[i].off,
					  cv.chunks[i].len, 1, &hooks),
			  0);
	ASSERT_EQ(http2_conn_gap(h, NULL, S, 100, 2, &hooks), 0);
	/* every later call starts inside something that is not a frame */
	for (i = 0; i <= HTTP2_RESYNC_MAX && !rc; i++)
		rc = http2_conn_feed(h, NULL, S, "\xff\xff\xff\xff\xff\xff\xff\xff\xff", 9, 3,
				     &hooks);
	ASSERT_EQ(rc, -EPROTO);
	ASSERT_EQ(i, HTTP2_RESYNC_MAX + 1);
	/* what was under way was delivered first */
	ASSERT_EQ(k.n, 1);
	ASSERT_UEQ(k.ex_flags[0], HTTP_EXCH_F_NO_RESPONSE);
	ASSERT_EQ(http2_conn_feed(h, NULL, C, "x", 1, 4, &hooks), -EPROTO);
	http2_conn_free(h);
	sink_free(&k);
}

/* --- through http_exchange.c and stream.c --- */

TEST(h2_http_conn_detects_preface_and_counts_buffers)
{
	static struct conv cv;
	static struct sink k;
	struct http_hooks hooks = { on_exchange, classify, &k };
	struct http_conn *hc = http_conn_new(NULL);
	size_t before;

	conv_two_streams(&cv);
	memset(&k, 0, sizeof(k));
	/* the preface arrives in pieces: "PRI * HTT" then the rest */
	ASSERT_EQ(http_conn_feed(hc, NULL, C, cv.d[C].b, 9, 1, &hooks), 0);
	ASSERT_EQ(http_conn_feed(hc, NULL, C, cv.d[C].b + 9, cv.chunks[0].len - 9, 1, &hooks), 0);
	for (int i = 1; i < 3; i++)
		ASSERT_EQ(http_conn_feed(hc, NULL, cv.chunks[i].dir,
					 cv.d[cv.chunks[i].dir].b + cv.chunks[i].off,
					 cv.chunks[i].len, cv.chunks[i].ts, &hooks),
			  0);
	before = http_conn_buffered(hc);
	/* HPACK tables and a stream with a partial body are accounted for */
	ASSERT_TRUE(before > 2 * sizeof(struct http_message));
	for (int i = 3; i < cv.n; i++)
		ASSERT_EQ(http_conn_feed(hc, NULL, cv.chunks[i].dir,
					 cv.d[cv.chunks[i].dir].b + cv.chunks[i].off,
					 cv.chunks[i].len, cv.chunks[i].ts, &hooks),
			  0);
	ASSERT_TRUE(http_conn_buffered(hc) < before);
	ASSERT_EQ(k.n, 2);
	ASSERT_TRUE(strstr(k.first[1], REQ_HDRS) != NULL);
	http_conn_eof(hc, NULL, 100, &hooks);
	ASSERT_EQ(k.n, 2);
	http_conn_free(hc);
	sink_free(&k);
}

TEST(h2_http_conn_mid_connection_and_junk)
{
	static struct conv cv;
	static struct sink k;
	struct http_hooks hooks = { on_exchange, classify, &k };
	struct http_conn *hc = http_conn_new(NULL);

	conv_mid(&cv, "{\"model\":\"m\"}");
	memset(&k, 0, sizeof(k));
	for (int i = 0; i < cv.n; i++)
		ASSERT_EQ(http_conn_feed(hc, NULL, cv.chunks[i].dir,
					 cv.d[cv.chunks[i].dir].b + cv.chunks[i].off,
					 cv.chunks[i].len, cv.chunks[i].ts, &hooks),
			  0);
	http_conn_eof(hc, NULL, 100, &hooks);
	ASSERT_EQ(k.n, 2);
	ASSERT_EQ(http_conn_get_stats(hc)->orphan_responses, 1);
	http_conn_free(hc);
	/* binary that is not HTTP/2 either */
	hc = http_conn_new(NULL);
	ASSERT_EQ(http_conn_feed(hc, NULL, C, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a", 10, 1,
				 &hooks),
		  -EPROTO);
	http_conn_free(hc);
	/* HTTP/1.x is unchanged */
	hc = http_conn_new(NULL);
	ASSERT_EQ(http_conn_feed(hc, NULL, C, "PRIX / HTTP/1.1\r\n", 17, 1, &hooks), 0);
	http_conn_free(hc);
	sink_free(&k);
}

struct rec_sink {
	json_t *recs[4];
	int n;
};

static void rec_emit(json_t *rec, void *ctx)
{
	struct rec_sink *k = ctx;

	if (k->n < 4)
		k->recs[k->n++] = json_incref(rec);
}

static void rec_ignore(const struct conn_key *key, void *ctx)
{
}

static void stream_data(struct stream *s, int dir, uint64_t *off, const uint8_t *p, size_t n,
			uint64_t ts)
{
	struct lt_data_event *d = calloc(1, sizeof(*d));

	d->hdr.type = LT_EV_DATA;
	d->hdr.size = offsetof(struct lt_data_event, payload) + n;
	d->hdr.pid = 0x7ffff000u;
	d->hdr.tid = 0x7ffff001u;
	d->hdr.ts_ns = ts;
	memcpy(d->hdr.comm, "client", 7);
	d->ssl = 0x9;
	d->conn_gen = 1;
	d->stream_off = *off;
	d->call_len = n;
	d->len = n;
	d->fd = 5;
	d->dir = dir;
	memcpy(d->payload, p, n);
	stream_on_event(s, d, d->hdr.size);
	*off += n;
	free(d);
}

TEST(h2_records_say_protocol_version_2)
{
	static struct conv cv;
	static struct rec_sink k;
	struct stream_hooks hooks = { rec_emit, rec_ignore, &k };
	struct stream_opts o = { 0 };
	uint64_t off[2] = { 0, 0 };
	json_t *a;
	struct stream s;

	conv_two_streams(&cv);
	memset(&k, 0, sizeof(k));
	ASSERT_EQ(stream_init(&s, &o, &hooks), 0);
	for (int i = 0; i < cv.n; i++)
		stream_data(&s, cv.chunks[i].dir, &off[cv.chunks[i].dir],
			    cv.d[cv.chunks[i].dir].b + cv.chunks[i].off, cv.chunks[i].len,
			    cv.chunks[i].ts);
	ASSERT_EQ(k.n, 2);
	a = json_object_get(k.recs[1], "attributes");
	ASSERT_STREQ(json_string_value(json_object_get(a, "network.protocol.version")), "2");
	ASSERT_STREQ(json_string_value(json_object_get(a, "server.address")), "api.openai.com");
	ASSERT_STREQ(json_string_value(json_object_get(a, "url.path")), "/v1/chat/completions");
	ASSERT_STREQ(json_string_value(json_object_get(a, "gen_ai.request.model")), "a");
	ASSERT_EQ(json_integer_value(json_object_get(a, "http.response.status_code")), 200);
	ASSERT_TRUE(json_object_get(a, "http.request.header.authorization") == NULL);
	stream_destroy(&s);
	for (int i = 0; i < k.n; i++)
		json_decref(k.recs[i]);
}
