// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The event -> exchange -> record path, driven by synthetic kernel events. */
#include <stdlib.h>

#include "stream/stream.h"
#include "test.h"

#define PID 0x7ffff000u /* no such process: /proc lookups fail cleanly */

struct sink {
	json_t *recs[16];
	int n;
	int ignored;
	struct conn_key ignored_key;
};

static void emit(json_t *rec, void *ctx)
{
	struct sink *k = ctx;

	if (k->n < 16)
		k->recs[k->n++] = json_incref(rec);
}

static void ignore(const struct conn_key *key, void *ctx)
{
	struct sink *k = ctx;

	k->ignored++;
	k->ignored_key = *key;
}

static void setup_opts(struct stream *s, struct sink *k, const struct stream_opts *o)
{
	struct stream_hooks h = { emit, ignore, k };

	memset(k, 0, sizeof(*k));
	if (stream_init(s, o, &h) != 0)
		test_fail_at(__FILE__, __LINE__, "stream_init");
}

static void setup(struct stream *s, struct sink *k)
{
	struct stream_hooks h = { emit, ignore, k };
	struct stream_opts o = { 0 };

	memset(k, 0, sizeof(*k));
	if (stream_init(s, &o, &h) != 0)
		test_fail_at(__FILE__, __LINE__, "stream_init");
}

static void teardown(struct stream *s, struct sink *k)
{
	stream_destroy(s);
	for (int i = 0; i < k->n; i++)
		json_decref(k->recs[i]);
}

/* Sends bytes of one direction as data events of at most `chunk` bytes. */
static void data(struct stream *s, uint64_t ssl, int dir, uint64_t *off, const char *p, size_t n,
		 size_t chunk, uint64_t ts)
{
	struct lt_data_event *d = calloc(1, sizeof(*d));

	for (size_t done = 0; done < n;) {
		size_t len = n - done < chunk ? n - done : chunk;

		memset(d, 0, offsetof(struct lt_data_event, payload));
		d->hdr.type = LT_EV_DATA;
		d->hdr.size = offsetof(struct lt_data_event, payload) + len;
		d->hdr.pid = PID;
		d->hdr.tid = PID + 1;
		d->hdr.ts_ns = ts;
		memcpy(d->hdr.comm, "client", 7);
		d->ssl = ssl;
		d->conn_gen = 1;
		d->stream_off = *off;
		d->call_len = len;
		d->len = len;
		d->fd = 5;
		d->dir = dir;
		memcpy(d->payload, p + done, len);
		stream_on_event(s, d, d->hdr.size);
		*off += len;
		done += len;
	}
	free(d);
}

static void close_conn(struct stream *s, uint64_t ssl, uint64_t out, uint64_t in)
{
	struct lt_conn_close_event e = { 0 };

	e.hdr.type = LT_EV_CONN_CLOSE;
	e.hdr.size = sizeof(e);
	e.hdr.pid = PID;
	e.hdr.ts_ns = 999;
	e.ssl = ssl;
	e.conn_gen = 1;
	e.bytes[0] = out;
	e.bytes[1] = in;
	stream_on_event(s, &e, sizeof(e));
}

static const char *attr_str(json_t *rec, const char *k)
{
	return json_string_value(json_object_get(json_object_get(rec, "attributes"), k));
}

static long long attr_int(json_t *rec, const char *k)
{
	return json_integer_value(json_object_get(json_object_get(rec, "attributes"), k));
}

static const char REQ[] = "POST /v1/chat/completions HTTP/1.1\r\n"
			  "Host: api.example.com:8443\r\n"
			  "Authorization: Bearer sk-live-secret\r\n"
			  "Content-Type: application/json\r\n"
			  "Content-Length: 57\r\n\r\n"
			  "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
/* {"id":"c1","model":"m-1","choices":[{"index":0,"message":{"role":"assistant",
 *  "content":"ok"},"finish_reason":"stop"}]} in three chunks */
static const char RESP[] =
	"HTTP/1.1 200 OK\r\n"
	"Content-Type: application/json\r\n"
	"Transfer-Encoding: chunked\r\n\r\n"
	"24\r\n{\"id\":\"c1\",\"model\":\"m-1\",\"choices\":[\r\n"
	"39\r\n{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"ok\"},\r\n"
	"19\r\n\"finish_reason\":\"stop\"}]}\r\n"
	"0\r\n\r\n";

TEST(stream_client_exchange_any_chunking)
{
	static const size_t chunks[] = { 1, 2, 7, 16, 100, 4096 };

	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		struct stream s;
		struct sink k;
		uint64_t out = 0, in = 0;

		setup(&s, &k);
		data(&s, 0xabc, LT_DIR_EGRESS, &out, REQ, sizeof(REQ) - 1, chunks[i], 100);
		data(&s, 0xabc, LT_DIR_INGRESS, &in, RESP, sizeof(RESP) - 1, chunks[i], 200);
		ASSERT_EQ(k.n, 1);
		ASSERT_STREQ(json_string_value(json_object_get(k.recs[0], "schema")),
			     "llmtap.audit/1");
		ASSERT_STREQ(attr_str(k.recs[0], "gen_ai.operation.name"), "chat");
		ASSERT_STREQ(attr_str(k.recs[0], "gen_ai.request.model"), "m");
		ASSERT_STREQ(attr_str(k.recs[0], "gen_ai.response.model"), "m-1");
		ASSERT_STREQ(attr_str(k.recs[0], "gen_ai.response.id"), "c1");
		ASSERT_STREQ(attr_str(k.recs[0], "gen_ai.provider.name"), "openai");
		ASSERT_STREQ(attr_str(k.recs[0], "http.request.method"), "POST");
		ASSERT_STREQ(attr_str(k.recs[0], "url.path"), "/v1/chat/completions");
		ASSERT_STREQ(attr_str(k.recs[0], "server.address"), "api.example.com");
		ASSERT_EQ(attr_int(k.recs[0], "server.port"), 8443);
		ASSERT_EQ(attr_int(k.recs[0], "http.response.status_code"), 200);
		ASSERT_EQ(attr_int(k.recs[0], "process.pid"), PID);
		ASSERT_STREQ(attr_str(k.recs[0], "llmtap.capture.role"), "client");
		ASSERT_TRUE(attr_str(k.recs[0], "http.request.header.authorization") == NULL);
		ASSERT_TRUE(json_object_get(json_object_get(k.recs[0], "attributes"),
					    "http.request.header.authorization") == NULL);
		ASSERT_EQ(s.stats.gaps, 0);
		teardown(&s, &k);
	}
}

TEST(stream_server_role)
{
	struct stream s;
	struct sink k;
	uint64_t out = 0, in = 0;

	setup(&s, &k);
	data(&s, 0x1, LT_DIR_INGRESS, &in, REQ, sizeof(REQ) - 1, 50, 100);
	data(&s, 0x1, LT_DIR_EGRESS, &out, RESP, sizeof(RESP) - 1, 50, 200);
	ASSERT_EQ(k.n, 1);
	ASSERT_STREQ(attr_str(k.recs[0], "llmtap.capture.role"), "server");
	teardown(&s, &k);
}

TEST(stream_gap_in_body_is_reported)
{
	static const char resp[] =
		"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n0123456789abcdefghij";
	struct stream s;
	struct sink k;
	uint64_t out = 0, in = 0;
	size_t head = sizeof(resp) - 1 - 20;

	setup(&s, &k);
	data(&s, 0x2, LT_DIR_EGRESS, &out, REQ, sizeof(REQ) - 1, 4096, 100);
	data(&s, 0x2, LT_DIR_INGRESS, &in, resp, head + 5, 4096, 200);
	in += 7; /* seven bytes the kernel could not deliver */
	data(&s, 0x2, LT_DIR_INGRESS, &in, resp + head + 12, 8, 4096, 300);
	ASSERT_EQ(k.n, 1);
	ASSERT_EQ(s.stats.gaps, 1);
	ASSERT_EQ(s.stats.gap_bytes, 7);
	ASSERT_EQ(attr_int(k.recs[0], "llmtap.capture.gap_bytes"), 7);
	ASSERT_EQ(attr_int(k.recs[0], "http.response.body.size"), 20);
	teardown(&s, &k);
}

TEST(stream_non_llm_connection_is_ignored)
{
	static const char get[] = "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
	struct stream s;
	struct sink k;
	uint64_t out = 0, in = 0;

	setup(&s, &k);
	data(&s, 0x3, LT_DIR_EGRESS, &out, get, sizeof(get) - 1, 4096, 100);
	ASSERT_EQ(k.ignored, 1);
	ASSERT_UEQ(k.ignored_key.ssl, 0x3);
	ASSERT_UEQ(k.ignored_key.pid, PID);
	data(&s, 0x3, LT_DIR_INGRESS, &in, resp, sizeof(resp) - 1, 4096, 200);
	/* even an LLM request later on the same connection is not parsed */
	data(&s, 0x3, LT_DIR_EGRESS, &out, REQ, sizeof(REQ) - 1, 4096, 300);
	ASSERT_EQ(k.n, 0);
	ASSERT_EQ(s.stats.ignored_conns, 1);
	teardown(&s, &k);
}

TEST(stream_not_http_is_ignored)
{
	static const char junk[] = "\x16\x03\x01\x02\x00 binary";
	struct stream s;
	struct sink k;
	uint64_t out = 0;

	setup(&s, &k);
	data(&s, 0x4, LT_DIR_EGRESS, &out, junk, sizeof(junk) - 1, 4096, 100);
	ASSERT_EQ(k.ignored, 1);
	ASSERT_EQ(s.stats.not_http, 1);
	teardown(&s, &k);
}

TEST(stream_close_without_response_is_incomplete)
{
	struct stream s;
	struct sink k;
	uint64_t out = 0;

	setup(&s, &k);
	data(&s, 0x5, LT_DIR_EGRESS, &out, REQ, sizeof(REQ) - 1, 4096, 100);
	ASSERT_EQ(k.n, 0);
	close_conn(&s, 0x5, out, 0);
	ASSERT_EQ(k.n, 1);
	ASSERT_TRUE(json_is_true(json_object_get(json_object_get(k.recs[0], "attributes"),
						 "llmtap.exchange.incomplete")));
	ASSERT_TRUE(json_object_get(k.recs[0], "http.response.body") == NULL);
	teardown(&s, &k);
}

TEST(stream_response_until_close)
{
	static const char resp[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nstreamed";
	struct stream s;
	struct sink k;
	uint64_t out = 0, in = 0;

	setup(&s, &k);
	data(&s, 0x6, LT_DIR_EGRESS, &out, REQ, sizeof(REQ) - 1, 4096, 100);
	data(&s, 0x6, LT_DIR_INGRESS, &in, resp, sizeof(resp) - 1, 3, 200);
	ASSERT_EQ(k.n, 0);
	close_conn(&s, 0x6, out, in);
	ASSERT_EQ(k.n, 1);
	/* not the JSON the API speaks: the raw body is kept */
	ASSERT_STREQ(attr_str(k.recs[0], "llmtap.http.response.body"), "streamed");
	ASSERT_TRUE(json_object_get(json_object_get(k.recs[0], "attributes"),
				    "llmtap.exchange.incomplete") == NULL);
	teardown(&s, &k);
}

TEST(stream_close_reports_tail_gap)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234";
	struct stream s;
	struct sink k;
	uint64_t out = 0, in = 0;

	setup(&s, &k);
	data(&s, 0x7, LT_DIR_EGRESS, &out, REQ, sizeof(REQ) - 1, 4096, 100);
	data(&s, 0x7, LT_DIR_INGRESS, &in, resp, sizeof(resp) - 1, 4096, 200);
	/* the kernel saw 5 more bytes than it delivered */
	close_conn(&s, 0x7, out, in + 5);
	ASSERT_EQ(s.stats.gap_bytes, 5);
	ASSERT_EQ(k.n, 1);
	ASSERT_EQ(attr_int(k.recs[0], "llmtap.capture.gap_bytes"), 5);
	teardown(&s, &k);
}

TEST(stream_exec_event_names_the_process)
{
	static const char argv[] = "curl\0-H\0Authorization: Bearer sk-abc\0https://x\0";
	struct lt_file_event *f = calloc(1, sizeof(*f));
	struct stream s;
	struct sink k;
	uint64_t out = 0, in = 0;

	setup(&s, &k);
	f->hdr.type = LT_EV_EXEC;
	f->hdr.size = sizeof(*f);
	f->hdr.pid = PID;
	f->uid = 0;
	memcpy(f->hdr.comm, "curl", 5);
	strcpy(f->name, "/usr/bin/curl");
	memcpy(f->args, argv, sizeof(argv) - 1);
	f->args_len = sizeof(argv) - 1;
	stream_on_event(&s, f, sizeof(*f));
	data(&s, 0x8, LT_DIR_EGRESS, &out, REQ, sizeof(REQ) - 1, 4096, 100);
	data(&s, 0x8, LT_DIR_INGRESS, &in, RESP, sizeof(RESP) - 1, 4096, 200);
	ASSERT_EQ(k.n, 1);
	ASSERT_STREQ(attr_str(k.recs[0], "process.executable.path"), "/usr/bin/curl");
	ASSERT_STREQ(attr_str(k.recs[0], "process.command_line"),
		     "curl -H Authorization: [REDACTED] https://x");
	ASSERT_STREQ(attr_str(k.recs[0], "process.owner"), "root");
	free(f);
	teardown(&s, &k);
}

TEST(stream_process_exit_flushes_connections)
{
	struct lt_event_hdr h = { 0 };
	struct stream s;
	struct sink k;
	uint64_t out = 0;

	setup(&s, &k);
	data(&s, 0x9, LT_DIR_EGRESS, &out, REQ, sizeof(REQ) - 1, 4096, 100);
	h.type = LT_EV_PROC_EXIT;
	h.size = sizeof(h);
	h.pid = PID;
	stream_on_event(&s, &h, sizeof(h));
	ASSERT_EQ(k.n, 1);
	ASSERT_UEQ(s.conns.count, 0);
	teardown(&s, &k);
}

TEST(stream_binary_body_is_base64)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n\xff\xfe\x00\x01";
	struct stream s;
	struct sink k;
	uint64_t out = 0, in = 0;

	setup(&s, &k);
	data(&s, 0xa, LT_DIR_EGRESS, &out, REQ, sizeof(REQ) - 1, 4096, 100);
	data(&s, 0xa, LT_DIR_INGRESS, &in, resp, sizeof(resp) - 1, 4096, 200);
	ASSERT_EQ(k.n, 1);
	ASSERT_STREQ(attr_str(k.recs[0], "llmtap.http.response.body"), "//4AAQ==");
	ASSERT_STREQ(attr_str(k.recs[0], "llmtap.http.response.body.encoding"), "base64");
	ASSERT_TRUE(json_is_true(json_object_get(json_object_get(k.recs[0], "attributes"),
						 "llmtap.llm.decode_error")));
	teardown(&s, &k);
}

TEST(stream_memory_budget_evicts_lru)
{
	static const char head[] = "POST /v1/chat/completions HTTP/1.1\r\n"
				   "Content-Length: 100000\r\n\r\n";
	struct stream_opts o = { .max_buffered_bytes = 128 * 1024 };
	char *body = malloc(30000);
	struct stream s;
	struct sink k;

	memset(body, 'x', 30000);
	setup_opts(&s, &k, &o);
	/* eight connections, each holding 30 KB of an unfinished request body */
	for (uint64_t ssl = 1; ssl <= 8; ssl++) {
		uint64_t out = 0;

		data(&s, ssl, LT_DIR_EGRESS, &out, head, sizeof(head) - 1, 4096, 100 + ssl);
		data(&s, ssl, LT_DIR_EGRESS, &out, body, 30000, 16384, 100 + ssl);
		ASSERT_TRUE(s.stats.buffered <= o.max_buffered_bytes);
	}
	ASSERT_TRUE(s.stats.evicted_for_memory >= 4);
	/* evicted connections still leave a record, marked incomplete */
	ASSERT_EQ(k.n, (int)s.stats.evicted_for_memory);
	ASSERT_TRUE(json_is_true(json_object_get(json_object_get(k.recs[0], "attributes"),
						 "llmtap.exchange.incomplete")));
	/* the oldest went first */
	ASSERT_EQ(attr_int(k.recs[0], "http.request.body.size"), 30000);
	free(body);
	teardown(&s, &k);
	ASSERT_UEQ(s.stats.buffered, 0);
}

TEST(stream_truncation_is_reported)
{
	static const char head[] = "POST /v1/chat/completions HTTP/1.1\r\n"
				   "Content-Length: 10000\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	struct stream_opts o = { .max_body_bytes = 4096 };
	char *body = malloc(10000);
	struct stream s;
	struct sink k;
	uint64_t out = 0, in = 0;

	memset(body, 'y', 10000);
	setup_opts(&s, &k, &o);
	data(&s, 0x30, LT_DIR_EGRESS, &out, head, sizeof(head) - 1, 4096, 100);
	data(&s, 0x30, LT_DIR_EGRESS, &out, body, 10000, 4096, 100);
	data(&s, 0x30, LT_DIR_INGRESS, &in, resp, sizeof(resp) - 1, 4096, 200);
	ASSERT_EQ(k.n, 1);
	ASSERT_TRUE(json_is_true(json_object_get(json_object_get(k.recs[0], "attributes"),
						 "llmtap.request.body.truncated")));
	ASSERT_EQ(attr_int(k.recs[0], "http.request.body.size"), 10000);
	ASSERT_UEQ(json_string_length(json_object_get(json_object_get(k.recs[0], "attributes"),
						      "llmtap.http.request.body")),
		   4096);
	free(body);
	teardown(&s, &k);
}

TEST(stream_truncated_call_is_a_gap_at_once)
{
	static const char head[] = "POST /v1/chat/completions HTTP/1.1\r\n"
				   "Content-Length: 50000\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	struct lt_data_event *d = calloc(1, sizeof(*d));
	struct stream s;
	struct sink k;
	uint64_t in = 0;
	size_t hl = sizeof(head) - 1;

	setup(&s, &k);
	/* one SSL_write of head + 50000 body bytes, of which the kernel copied 4096 */
	d->hdr.type = LT_EV_DATA;
	d->hdr.flags = LT_DATA_F_LAST_CHUNK | LT_DATA_F_TRUNCATED;
	d->hdr.size = offsetof(struct lt_data_event, payload) + 4096;
	d->hdr.pid = PID;
	d->ssl = 0x31;
	d->conn_gen = 1;
	d->call_len = (uint32_t)(hl + 50000);
	d->len = 4096;
	memcpy(d->payload, head, hl);
	memset(d->payload + hl, 'z', 4096 - hl);
	stream_on_event(&s, d, d->hdr.size);
	/* the response comes before any other egress event: it must find its request */
	data(&s, 0x31, LT_DIR_INGRESS, &in, resp, sizeof(resp) - 1, 4096, 200);
	ASSERT_EQ(k.n, 1);
	ASSERT_EQ(attr_int(k.recs[0], "http.response.status_code"), 200);
	ASSERT_EQ(attr_int(k.recs[0], "llmtap.capture.gap_bytes"), 50000 - (4096 - hl));
	ASSERT_EQ(attr_int(k.recs[0], "http.request.body.size"), 50000);
	ASSERT_EQ(s.stats.gap_bytes, 50000 - (4096 - hl));
	free(d);
	teardown(&s, &k);
}

TEST(stream_unknown_api_of_known_host_keeps_raw_bodies)
{
	static const char req[] = "GET /v1/models HTTP/1.1\r\nHost: api.openai.com\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				   "Content-Length: 27\r\n\r\n{\"object\":\"list\",\"data\":[]}";
	struct stream s;
	struct sink k;
	uint64_t out = 0, in = 0;

	setup(&s, &k);
	data(&s, 0x40, LT_DIR_EGRESS, &out, req, sizeof(req) - 1, 4096, 100);
	data(&s, 0x40, LT_DIR_INGRESS, &in, resp, sizeof(resp) - 1, 4096, 200);
	ASSERT_EQ(k.n, 1);
	ASSERT_STREQ(json_string_value(json_object_get(k.recs[0], "event.name")),
		     "gen_ai.client.inference.operation.details");
	ASSERT_STREQ(attr_str(k.recs[0], "gen_ai.provider.name"), "openai");
	ASSERT_STREQ(attr_str(k.recs[0], "gen_ai.operation.name"), "unknown");
	ASSERT_STREQ(attr_str(k.recs[0], "llmtap.http.response.body"),
		     "{\"object\":\"list\",\"data\":[]}");
	teardown(&s, &k);
}

TEST(stream_all_http_records_plain_exchanges)
{
	static const char req[] = "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
	struct classifier cl;
	struct stream_opts o = { .classifier = &cl };
	struct stream s;
	struct sink k;
	uint64_t out = 0, in = 0;

	classifier_default(&cl);
	cl.match_all = true;
	setup_opts(&s, &k, &o);
	data(&s, 0x41, LT_DIR_EGRESS, &out, req, sizeof(req) - 1, 4096, 100);
	data(&s, 0x41, LT_DIR_INGRESS, &in, resp, sizeof(resp) - 1, 4096, 200);
	ASSERT_EQ(k.n, 1);
	ASSERT_STREQ(json_string_value(json_object_get(k.recs[0], "event.name")),
		     "llmtap.http.exchange");
	ASSERT_STREQ(attr_str(k.recs[0], "llmtap.http.response.body"), "hi");
	ASSERT_TRUE(attr_str(k.recs[0], "gen_ai.operation.name") == NULL);
	teardown(&s, &k);
}

TEST(stream_gzip_bomb_is_capped_and_counted)
{
	static const char req[] = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
				  "Content-Length: 2\r\n\r\n{}";
	struct stream_opts o = { .max_body_bytes = 65536 };
	size_t bomb_len = 0, head_len;
	char *bomb = test_read_data("content/bomb.gz", &bomb_len), *resp;
	struct stream s;
	struct sink k;
	uint64_t out = 0, in = 0;

	ASSERT_TRUE(bomb != NULL);
	resp = malloc(bomb_len + 256);
	head_len = (size_t)sprintf(resp,
				   "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				   "Content-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
				   bomb_len);
	memcpy(resp + head_len, bomb, bomb_len);
	setup_opts(&s, &k, &o);
	data(&s, 0x50, LT_DIR_EGRESS, &out, req, sizeof(req) - 1, 4096, 100);
	data(&s, 0x50, LT_DIR_INGRESS, &in, resp, head_len + bomb_len, 16384, 200);
	ASSERT_EQ(k.n, 1);
	/* 10 MiB of zeros from 10 KiB: decoded up to 4x the body cap, then cut */
	ASSERT_EQ(s.stats.decoded_body_truncated, 1);
	ASSERT_TRUE(json_is_true(json_object_get(json_object_get(k.recs[0], "attributes"),
						 "llmtap.http.decoded_body_truncated")));
	free(bomb);
	free(resp);
	teardown(&s, &k);
}
