// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * HTTP/1.x parser tests.  Every table case is parsed whole, byte at a time,
 * split in two at every offset, and with a callback that steals the body and
 * target; all runs must deliver identical messages (timestamps aside), and
 * the whole-feed run must match the expectations in the table.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/http1.h"
#include "test.h"

#define MAX_SNAPS 16

/* A deep copy of a delivered message. */
struct snap {
	enum http1_kind kind;
	char method[16];
	char *target;
	int status;
	char *reason;
	int version_minor;
	size_t n_headers;
	char *headers; /* "name: value\n" for each header */
	char *body;
	size_t body_len;
	uint64_t body_bytes;
	uint64_t content_length;
	bool has_content_length;
	unsigned flags;
	uint64_t ts_start;
	uint64_t ts_end;
};

struct collect {
	struct snap msgs[MAX_SNAPS];
	size_t n; /* messages delivered; only MAX_SNAPS are kept */
	bool steal; /* take body and target from the message */
	size_t fail_at; /* if non-zero, return -ECANCELED for message number fail_at (1-based) */
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int collect_cb(struct http1_msg *m, void *ctx)
{
	struct collect *c = ctx;
	struct snap *s;
	size_t hlen = 1;
	char *w;

	c->n++;
	if (c->n > MAX_SNAPS)
		return 0;
	s = &c->msgs[c->n - 1];
	memset(s, 0, sizeof(*s));
	s->kind = m->kind;
	memcpy(s->method, m->method, sizeof(s->method));
	s->target = dup_or_null(m->target);
	s->status = m->status;
	s->reason = dup_or_null(m->reason);
	s->version_minor = m->version_minor;
	s->n_headers = m->n_headers;
	for (size_t i = 0; i < m->n_headers; i++)
		hlen += strlen(m->headers[i].name) + strlen(m->headers[i].value) + 3;
	s->headers = malloc(hlen);
	w = s->headers;
	*w = '\0';
	for (size_t i = 0; i < m->n_headers; i++)
		w += sprintf(w, "%s: %s\n", m->headers[i].name, m->headers[i].value);
	s->body_len = m->body.len;
	s->body = malloc(m->body.len + 1);
	if (m->body.len)
		memcpy(s->body, m->body.buf, m->body.len);
	s->body[m->body.len] = '\0';
	s->body_bytes = m->body_bytes;
	s->content_length = m->content_length;
	s->has_content_length = m->has_content_length;
	s->flags = m->flags;
	s->ts_start = m->ts_start;
	s->ts_end = m->ts_end;
	if (c->steal) {
		size_t len;
		char *b = dynbuf_take(&m->body, &len);

		free(b);
		free(m->target);
		m->target = NULL;
	}
	if (c->fail_at && c->n == c->fail_at)
		return -ECANCELED;
	return 0;
}

static void collect_free(struct collect *c)
{
	for (size_t i = 0; i < c->n && i < MAX_SNAPS; i++) {
		free(c->msgs[i].target);
		free(c->msgs[i].reason);
		free(c->msgs[i].headers);
		free(c->msgs[i].body);
	}
	c->n = 0;
}

/* Returns NULL if equal, else the name of the first differing field. */
static const char *snap_diff(const struct snap *a, const struct snap *b)
{
#define STR_DIFF(x, y) ((x) != (y) && (!(x) || !(y) || strcmp((x), (y)) != 0))
	if (a->kind != b->kind)
		return "kind";
	if (strcmp(a->method, b->method) != 0)
		return "method";
	if (STR_DIFF(a->target, b->target))
		return "target";
	if (a->status != b->status)
		return "status";
	if (STR_DIFF(a->reason, b->reason))
		return "reason";
	if (a->version_minor != b->version_minor)
		return "version_minor";
	if (a->n_headers != b->n_headers || strcmp(a->headers, b->headers) != 0)
		return "headers";
	if (a->body_len != b->body_len || memcmp(a->body, b->body, a->body_len) != 0)
		return "body";
	if (a->body_bytes != b->body_bytes)
		return "body_bytes";
	if (a->has_content_length != b->has_content_length ||
	    a->content_length != b->content_length)
		return "content_length";
	if (a->flags != b->flags)
		return "flags";
	return NULL;
#undef STR_DIFF
}

struct exp_hdr {
	const char *name;
	const char *value; /* NULL: the header must be absent */
};

#define NH(n) ((n) + 1)

struct exp_msg {
	const char *method; /* requests */
	const char *target;
	int status; /* responses */
	const char *reason; /* NULL: not checked */
	const char *body; /* NULL: empty */
	size_t body_len; /* 0: strlen(body) */
	uint64_t body_bytes; /* 0: body length */
	unsigned flags;
	int nh; /* NH(n_headers), 0: not checked */
	struct exp_hdr hdrs[4];
};

struct fixture {
	const char *name;
	const char *file; /* under tests/data; or data/len */
	const char *data;
	size_t len; /* 0: strlen(data) */
	enum http1_kind kind;
	const char *methods[4]; /* pushed before feeding */
	struct http1_limits lim; /* all 0: NULL limits */
	bool eof; /* call http1_eof after the last byte */
	int rc; /* first non-zero result of feed/eof */
	bool failed;
	bool tunnel;
	size_t n_msgs;
	struct exp_msg msgs[5];
};

#define REQ HTTP1_REQUEST
#define RESP HTTP1_RESPONSE
#define F_TRUNC HTTP1_F_HEAD_TRUNCATED
#define F_INC HTTP1_F_INCOMPLETE
#define F_CHUNKED HTTP1_F_CHUNKED
#define F_CLOSE HTTP1_F_UNTIL_CLOSE
#define F_ERR HTTP1_F_ERROR

static const char sse_body[] = "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"
			       "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\n"
			       "data: [DONE]\n\n";

static const struct fixture fixtures[] = {
	{
		.name = "post_json",
		.file = "http1/post_json_req.txt",
		.kind = REQ,
		.n_msgs = 1,
		.msgs = { {
			.method = "POST",
			.target = "/v1/chat/completions?api-version=1",
			.body = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":"
				"\"Hello\"}],\"stream\":true}",
			.nh = NH(5),
			.hdrs = { { "host", "api.openai.com" },
				  { "authorization", "Bearer sk-test" },
				  { "content-type", "application/json" },
				  { "user-agent", "test/1.0" } },
		} },
	},
	{
		.name = "sse_chunked",
		.file = "http1/sse_chunked_resp.txt",
		.kind = RESP,
		.methods = { "POST" },
		.n_msgs = 1,
		.msgs = { {
			.status = 200,
			.reason = "OK",
			.body = sse_body,
			.flags = F_CHUNKED,
			.nh = NH(4),
			.hdrs = { { "content-type", "text/event-stream; charset=utf-8" },
				  { "transfer-encoding", "chunked" },
				  { "content-length", NULL } },
		} },
	},
	{
		.name = "keepalive_req",
		.file = "http1/keepalive_req.txt",
		.kind = REQ,
		.n_msgs = 3,
		.msgs = { { .method = "GET", .target = "/v1/models", .nh = NH(2) },
			  { .method = "POST",
			    .target = "/v1/embeddings",
			    .body = "{\"input\":\"abc\"}\n",
			    .hdrs = { { "content-length", "16" } } },
			  { .method = "GET",
			    .target = "/health",
			    .hdrs = { { "connection", "close" } } } },
	},
	{
		.name = "keepalive_resp",
		.file = "http1/keepalive_resp.txt",
		.kind = RESP,
		.methods = { "GET", "POST", "GET" },
		.n_msgs = 3,
		.msgs = { { .status = 200, .body = "{\"data\":[1]}\n" },
			  { .status = 200, .body = "{\"emb\":[1]}", .flags = F_CHUNKED },
			  { .status = 404, .reason = "Not Found", .body = "not found" } },
	},
	{
		.name = "pipelined_req",
		.file = "http1/pipelined_req.txt",
		.kind = REQ,
		.n_msgs = 4,
		.msgs = { { .method = "GET", .target = "/a", .nh = NH(1) },
			  { .method = "GET", .target = "/b?q=1", .nh = NH(1) },
			  { .method = "POST", .target = "/c", .body = "hello", .nh = NH(2) },
			  { .method = "GET", .target = "/d", .nh = NH(0) } },
	},
	{
		.name = "lf_only_req",
		.file = "http1/lf_only_req.txt",
		.kind = REQ,
		.n_msgs = 2,
		.msgs = { { .method = "GET",
			    .target = "/lf",
			    .hdrs = { { "host", "x" }, { "x-a", "spaced value" } } },
			  { .method = "POST", .target = "/lf2", .body = "abc" } },
	},
	{
		.name = "until_close",
		.file = "http1/until_close_resp.txt",
		.kind = RESP,
		.eof = true,
		.n_msgs = 1,
		.msgs = { { .status = 200,
			    .body = "line one\r\nline two\r\n",
			    .flags = F_CLOSE,
			    .hdrs = { { "content-type", "text/plain" } } } },
	},
	{
		/* without eof, an until-close body is never complete */
		.name = "until_close_no_eof",
		.file = "http1/until_close_resp.txt",
		.kind = RESP,
	},
	{
		.name = "head_resp",
		.file = "http1/head_resp.txt",
		.kind = RESP,
		.methods = { "HEAD", "GET" },
		.n_msgs = 2,
		.msgs = { { .status = 200, .hdrs = { { "content-length", "1234" } } },
			  { .status = 200, .body = "ok" } },
	},
	{
		/* the same bytes answering a GET: the second response becomes body */
		.name = "head_resp_as_get",
		.file = "http1/head_resp.txt",
		.kind = RESP,
		.eof = true,
		.n_msgs = 1,
		.msgs = { { .status = 200,
			    .body = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
			    .flags = F_INC } },
	},
	{
		/* 100 must not consume POST, or the 200 would be read as HEAD's */
		.name = "continue_then_200",
		.file = "http1/continue_resp.txt",
		.kind = RESP,
		.methods = { "POST", "HEAD" },
		.n_msgs = 2,
		.msgs = { { .status = 100, .reason = "Continue", .nh = NH(0) },
			  { .status = 200, .body = "created" } },
	},
	{
		.name = "no_content",
		.file = "http1/no_content_resp.txt",
		.kind = RESP,
		.n_msgs = 3,
		.msgs = { { .status = 204, .reason = "No Content" },
			  { .status = 304, .hdrs = { { "etag", "\"x1\"" } } },
			  { .status = 200, .body = "abc" } },
	},
	{
		.name = "chunked_ext_trailers",
		.file = "http1/chunked_ext_trailers_resp.txt",
		.kind = RESP,
		.n_msgs = 2,
		.msgs = { { .status = 200,
			    .body = "hello world0123456789",
			    .flags = F_CHUNKED,
			    .nh = NH(2),
			    .hdrs = { { "trailer", "X-Checksum" }, { "x-checksum", NULL } } },
			  { .status = 204 } },
	},
	{
		/* 64 headers kept; Content-Length after the cut still frames the body */
		.name = "oversize_headers_count",
		.file = "http1/oversize_headers_req.txt",
		.kind = REQ,
		.n_msgs = 2,
		.msgs = { { .method = "POST",
			    .target = "/upload",
			    .body = "hello",
			    .flags = F_TRUNC,
			    .nh = NH(64),
			    .hdrs = { { "x-pad-62", "aaaaaaaaaaaaaaaaaaaa" },
				      { "x-pad-63", NULL },
				      { "content-length", NULL } } },
			  { .method = "GET", .target = "/next" } },
	},
	{
		.name = "oversize_headers_bytes",
		.file = "http1/oversize_headers_req.txt",
		.kind = REQ,
		.lim = { .max_header_bytes = 1024 },
		.n_msgs = 2,
		.msgs = { { .method = "POST",
			    .target = "/upload",
			    .body = "hello",
			    .flags = F_TRUNC,
			    .nh = NH(11),
			    .hdrs = { { "x-pad-10", "aaaaaaaaaaaaaaaaaaaa" },
				      { "x-long", NULL },
				      { "x-pad-11", NULL } } },
			  { .method = "GET", .target = "/next" } },
	},
	{
		.name = "long_line_default",
		.file = "http1/long_line_req.txt",
		.kind = REQ,
		.n_msgs = 1,
		.msgs = { { .method = "GET", .body = "ok", .nh = NH(3) } },
	},
	{
		/* a line too long even to inspect is skipped; later lines are dropped
		 * but Content-Length still frames the body */
		.name = "long_line_skipped",
		.file = "http1/long_line_req.txt",
		.kind = REQ,
		.lim = { .max_header_bytes = 400 },
		.n_msgs = 1,
		.msgs = { { .method = "GET",
			    .body = "ok",
			    .flags = F_TRUNC,
			    .nh = NH(0),
			    .hdrs = { { "x-long", NULL }, { "host", NULL } } } },
	},
	{
		.name = "bad_start_tls_req",
		.file = "http1/bad_start_tls.bin",
		.kind = REQ,
		.rc = -EPROTO,
		.failed = true,
	},
	{
		.name = "bad_start_tls_resp",
		.file = "http1/bad_start_tls.bin",
		.kind = RESP,
		.eof = true,
		.rc = -EPROTO,
		.failed = true,
	},
	{
		.name = "h2_preface",
		.file = "http1/h2_preface.bin",
		.kind = REQ,
		.rc = -EPROTO,
		.failed = true,
	},
	{
		/* the head was fine: what arrived of the body is delivered */
		.name = "bad_chunk_size",
		.file = "http1/bad_chunk_size_resp.txt",
		.kind = RESP,
		.rc = -EPROTO,
		.failed = true,
		.n_msgs = 1,
		.msgs = { { .status = 200, .body = "hello", .flags = F_CHUNKED | F_INC | F_ERR } },
	},
	{
		.name = "conflicting_content_length",
		.file = "http1/conflicting_cl_req.txt",
		.kind = REQ,
		.rc = -EPROTO,
		.failed = true,
	},
	{
		.name = "connect_tunnel",
		.file = "http1/connect_resp.txt",
		.kind = RESP,
		.methods = { "CONNECT" },
		.eof = true,
		.tunnel = true, /* before eof */
		.n_msgs = 1,
		.msgs = { { .status = 200, .reason = "Connection established" } },
	},
	{
		.name = "upgrade_101_tunnel",
		.file = "http1/upgrade_resp.txt",
		.kind = RESP,
		.tunnel = true,
		.n_msgs = 1,
		.msgs = { { .status = 101, .hdrs = { { "upgrade", "websocket" } } } },
	},
	{
		.name = "obs_fold",
		.file = "http1/obs_fold_req.txt",
		.kind = REQ,
		.n_msgs = 1,
		.msgs = { { .method = "GET",
			    .nh = NH(2),
			    .hdrs = { { "x-folded", "part one part two part three" },
				      { "host", "h" } } } },
	},
	/* inline cases */
	{
		.name = "te_overrides_content_length",
		.data = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
			"3\r\nabc\r\n0\r\n\r\n",
		.kind = RESP,
		.n_msgs = 1,
		.msgs = { { .status = 200, .body = "abc", .flags = F_CHUNKED } },
	},
	{
		.name = "te_gzip_chunked",
		.data = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: CHUNKED\r\n\r\n"
			"2\r\n\x1f\x8b\r\n0\r\n\r\n",
		.kind = RESP,
		.n_msgs = 1,
		.msgs = { { .status = 200, .body = "\x1f\x8b", .flags = F_CHUNKED } },
	},
	{
		.name = "te_chunked_not_final_resp",
		.data = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nxyz",
		.kind = RESP,
		.eof = true,
		.n_msgs = 1,
		.msgs = { { .status = 200, .body = "xyz", .flags = F_CLOSE } },
	},
	{
		.name = "te_not_chunked_req",
		.data = "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
		.kind = REQ,
		.rc = -EPROTO,
		.failed = true,
	},
	{
		.name = "chunked_request",
		.data = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
			"4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\nGET /n HTTP/1.1\r\n\r\n",
		.kind = REQ,
		.n_msgs = 2,
		.msgs = { { .method = "POST", .body = "Wikipedia", .flags = F_CHUNKED },
			  { .method = "GET", .target = "/n" } },
	},
	{
		.name = "content_length_list_same",
		.data = "POST / HTTP/1.1\r\nContent-Length: 3 , 3\r\nContent-Length: 3\r\n\r\nabc",
		.kind = REQ,
		.n_msgs = 1,
		.msgs = { { .method = "POST", .body = "abc" } },
	},
	{
		.name = "content_length_list_differs",
		.data = "POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\nabc",
		.kind = REQ,
		.rc = -EPROTO,
		.failed = true,
	},
	{
		.name = "content_length_not_digits",
		.data = "POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc",
		.kind = REQ,
		.rc = -EPROTO,
		.failed = true,
	},
	{
		.name = "content_length_empty",
		.data = "POST / HTTP/1.1\r\nContent-Length:\r\n\r\nabc",
		.kind = REQ,
		.rc = -EPROTO,
		.failed = true,
	},
	{
		.name = "content_length_overflow",
		.data = "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551617\r\n\r\n",
		.kind = RESP,
		.rc = -EPROTO,
		.failed = true,
	},
	{
		.name = "content_length_above_2_62",
		.data = "HTTP/1.1 200 OK\r\nContent-Length: 4611686018427387905\r\n\r\n",
		.kind = RESP,
		.rc = -EPROTO,
		.failed = true,
	},
	{
		.name = "chunk_size_above_2_62",
		.data = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4000000000000001\r\n",
		.kind = RESP,
		.rc = -EPROTO,
		.failed = true,
		.n_msgs = 1,
		.msgs = { { .status = 200, .flags = F_CHUNKED | F_INC | F_ERR } },
	},
	{
		.name = "chunk_size_overflow",
		.data = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
		.kind = RESP,
		.rc = -EPROTO,
		.failed = true,
		.n_msgs = 1,
		.msgs = { { .status = 200, .flags = F_CHUNKED | F_INC | F_ERR } },
	},
	{
		/* 2^62 is still accepted; the stream ends inside that chunk */
		.name = "chunk_size_max",
		.data = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4000000000000000\r\nabc",
		.kind = RESP,
		.eof = true,
		.n_msgs = 1,
		.msgs = { { .status = 200, .body = "abc", .flags = F_CHUNKED | F_INC } },
	},
	{
		.name = "chunk_size_empty",
		.data = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n;ext\r\n",
		.kind = RESP,
		.rc = -EPROTO,
		.failed = true,
		.n_msgs = 1,
		.msgs = { { .status = 200, .flags = F_CHUNKED | F_INC | F_ERR } },
	},
	{
		.name = "chunk_data_missing_crlf",
		.data = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
		.kind = RESP,
		.rc = -EPROTO,
		.failed = true,
		.n_msgs = 1,
		.msgs = { { .status = 200, .body = "abc", .flags = F_CHUNKED | F_INC | F_ERR } },
	},
	{
		.name = "status_two_digits",
		.data = "HTTP/1.1 99 Odd\r\n\r\n",
		.kind = RESP,
		.rc = -EPROTO,
		.failed = true,
	},
	{
		.name = "status_without_reason",
		.data = "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\nHTTP/1.1 201 \r\nContent-Length: 0\r\n\r\n",
		.kind = RESP,
		.n_msgs = 2,
		.msgs = { { .status = 200, .reason = "" }, { .status = 201, .reason = "" } },
	},
	{
		.name = "status_http2",
		.data = "HTTP/2 200\r\n\r\n",
		.kind = RESP,
		.rc = -EPROTO,
		.failed = true,
	},
	{
		.name = "method_15_chars",
		.data = "ABCDEFGHIJKLMNO / HTTP/1.1\r\n\r\n",
		.kind = REQ,
		.n_msgs = 1,
		.msgs = { { .method = "ABCDEFGHIJKLMNO", .target = "/" } },
	},
	{
		.name = "method_16_chars",
		.data = "ABCDEFGHIJKLMNOP / HTTP/1.1\r\n\r\n",
		.kind = REQ,
		.rc = -EPROTO,
		.failed = true,
	},
	{
		.name = "version_http_1_10",
		.data = "GET / HTTP/1.10\r\n\r\n",
		.kind = REQ,
		.rc = -EPROTO,
		.failed = true,
	},
	{
		.name = "header_without_colon",
		.data = "GET / HTTP/1.1\r\nHost\r\n\r\n",
		.kind = REQ,
		.rc = -EPROTO,
		.failed = true,
	},
	{
		.name = "header_space_before_colon",
		.data = "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
		.kind = REQ,
		.rc = -EPROTO,
		.failed = true,
	},
	{
		.name = "header_value_nul",
		.data = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n",
		.len = 27,
		.kind = REQ,
		.rc = -EPROTO,
		.failed = true,
	},
	{
		.name = "fold_after_start_line",
		.data = "GET / HTTP/1.1\r\n folded\r\n\r\n",
		.kind = REQ,
		.rc = -EPROTO,
		.failed = true,
	},
	{
		.name = "fold_of_content_length",
		.data = "POST / HTTP/1.1\r\nContent-Length: 1\r\n 2\r\n\r\nab",
		.kind = REQ,
		.rc = -EPROTO,
		.failed = true,
	},
	{
		.name = "connect_request_tunnel",
		.file = "http1/connect_req.txt",
		.kind = REQ,
		.tunnel = true,
		.n_msgs = 1,
		.msgs = { { .method = "CONNECT", .target = "api.example.com:443" } },
	},
	{
		.name = "connect_refused_keeps_parsing",
		.data = "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 2\r\n\r\nnoHTTP/1.1 "
			"200 OK\r\n\r\n",
		.kind = RESP,
		.methods = { "CONNECT", "CONNECT" },
		.tunnel = true,
		.n_msgs = 2,
		.msgs = { { .status = 407, .body = "no" }, { .status = 200 } },
	},
	{
		.name = "eof_partial_body",
		.data = "POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nhello",
		.kind = REQ,
		.eof = true,
		.n_msgs = 1,
		.msgs = { { .method = "POST", .target = "/x", .body = "hello", .flags = F_INC } },
	},
	{
		.name = "eof_partial_head",
		.data = "GET /x HTTP/1.1\r\nHost: a\r\nAcc",
		.kind = REQ,
		.eof = true,
		.n_msgs = 1,
		.msgs = { { .method = "GET", .target = "/x", .flags = F_INC, .nh = NH(1) } },
	},
	{
		.name = "eof_partial_start_line",
		.data = "GET /inc",
		.kind = REQ,
		.eof = true,
		.n_msgs = 1,
		.msgs = { { .method = "", .target = "", .flags = F_INC, .nh = NH(0) } },
	},
	{
		.name = "eof_partial_chunk",
		.data = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
		.kind = RESP,
		.eof = true,
		.n_msgs = 1,
		.msgs = { { .status = 200, .body = "hel", .flags = F_CHUNKED | F_INC } },
	},
	{
		/* empty lines between messages do not start one */
		.name = "eof_idle",
		.data = "GET / HTTP/1.1\r\n\r\n\r\n\n",
		.kind = REQ,
		.eof = true,
		.n_msgs = 1,
		.msgs = { { .method = "GET", .target = "/" } },
	},
};

#define FIXTURE_COUNT (sizeof(fixtures) / sizeof(fixtures[0]))

struct run {
	struct collect c;
	int rc;
	bool failed;
	bool tunnel;
};

/*
 * Parses data: whole if step == 0 and cut == 0, two pieces split at cut, or
 * pieces of step bytes.  Each piece gets its index as timestamp.
 */
static void run_feed(const struct fixture *fx, const char *data, size_t len, size_t cut,
		     size_t step, bool steal, struct run *r)
{
	bool has_lim = fx->lim.max_header_bytes || fx->lim.max_body_bytes;
	struct http1_parser *p = http1_parser_new(fx->kind, has_lim ? &fx->lim : NULL);
	size_t pos = 0;
	uint64_t ts = 1;

	memset(r, 0, sizeof(*r));
	r->c.steal = steal;
	ASSERT_TRUE(p != NULL);
	for (size_t i = 0; i < 4 && fx->methods[i]; i++)
		http1_push_request_method(p, fx->methods[i]);
	while (pos < len && !r->rc) {
		size_t n = len - pos;

		if (step && n > step)
			n = step;
		else if (cut && pos < cut)
			n = cut - pos;
		r->rc = http1_feed(p, data + pos, n, ts++, collect_cb, &r->c);
		pos += n;
	}
	r->tunnel = http1_parser_tunnel(p);
	if (fx->eof && !r->rc)
		r->rc = http1_eof(p, ts, collect_cb, &r->c);
	r->failed = http1_parser_failed(p);
	http1_parser_free(p);
}

static void run_compare(const struct fixture *fx, const struct run *want, const struct run *got,
			const char *mode, size_t arg)
{
	if (got->rc != want->rc || got->failed != want->failed || got->tunnel != want->tunnel ||
	    got->c.n != want->c.n)
		test_fail_at(__FILE__, __LINE__,
			     "%s (%s %zu): rc %d/%d failed %d/%d tunnel %d/%d messages %zu/%zu",
			     fx->name, mode, arg, got->rc, want->rc, got->failed, want->failed,
			     got->tunnel, want->tunnel, got->c.n, want->c.n);
	for (size_t i = 0; i < got->c.n && i < MAX_SNAPS; i++) {
		const char *d = snap_diff(&got->c.msgs[i], &want->c.msgs[i]);

		if (d)
			test_fail_at(__FILE__, __LINE__, "%s (%s %zu): message %zu differs in %s",
				     fx->name, mode, arg, i, d);
	}
}

static void check_expected(const struct fixture *fx, const struct run *r)
{
	if (r->rc != fx->rc || r->failed != fx->failed || r->tunnel != fx->tunnel ||
	    r->c.n != fx->n_msgs)
		test_fail_at(__FILE__, __LINE__,
			     "%s: rc %d (want %d) failed %d (want %d) tunnel %d (want %d) "
			     "messages %zu (want %zu)",
			     fx->name, r->rc, fx->rc, r->failed, fx->failed, r->tunnel, fx->tunnel,
			     r->c.n, fx->n_msgs);
	for (size_t i = 0; i < fx->n_msgs; i++) {
		const struct exp_msg *e = &fx->msgs[i];
		const struct snap *s = &r->c.msgs[i];
		const char *body = e->body ? e->body : "";
		size_t blen = e->body_len ? e->body_len : strlen(body);
		uint64_t bbytes = e->body_bytes ? e->body_bytes : blen;

		ASSERT_EQ(s->kind, fx->kind);
		if (fx->kind == HTTP1_REQUEST) {
			if (e->method && strcmp(s->method, e->method) != 0)
				test_fail_at(__FILE__, __LINE__, "%s msg %zu: method \"%s\"",
					     fx->name, i, s->method);
			ASSERT_TRUE(s->target != NULL);
			if (e->target && strcmp(s->target, e->target) != 0)
				test_fail_at(__FILE__, __LINE__, "%s msg %zu: target \"%s\"",
					     fx->name, i, s->target);
		} else {
			if (s->status != e->status)
				test_fail_at(__FILE__, __LINE__, "%s msg %zu: status %d, want %d",
					     fx->name, i, s->status, e->status);
			ASSERT_TRUE(s->reason != NULL);
			if (e->reason && strcmp(s->reason, e->reason) != 0)
				test_fail_at(__FILE__, __LINE__, "%s msg %zu: reason \"%s\"",
					     fx->name, i, s->reason);
		}
		if (s->body_len != blen || memcmp(s->body, body, blen) != 0)
			test_fail_at(__FILE__, __LINE__, "%s msg %zu: body (%zu bytes) \"%s\"",
				     fx->name, i, s->body_len, s->body);
		if (s->body_bytes != bbytes)
			test_fail_at(__FILE__, __LINE__, "%s msg %zu: body_bytes %llu", fx->name, i,
				     (unsigned long long)s->body_bytes);
		if (s->flags != e->flags)
			test_fail_at(__FILE__, __LINE__, "%s msg %zu: flags %#x, want %#x",
				     fx->name, i, s->flags, e->flags);
		if (e->nh && s->n_headers != (size_t)(e->nh - 1))
			test_fail_at(__FILE__, __LINE__, "%s msg %zu: %zu headers, want %d",
				     fx->name, i, s->n_headers, e->nh - 1);
		for (size_t k = 0; k < 4 && e->hdrs[k].name; k++) {
			char line[256];
			const char *hit;

			snprintf(line, sizeof(line), "%s: ", e->hdrs[k].name);
			hit = strstr(s->headers, line);
			/* match at a line start only */
			while (hit && hit != s->headers && hit[-1] != '\n')
				hit = strstr(hit + 1, line);
			if (!e->hdrs[k].value) {
				if (hit)
					test_fail_at(__FILE__, __LINE__, "%s msg %zu: %s present",
						     fx->name, i, e->hdrs[k].name);
				continue;
			}
			snprintf(line, sizeof(line), "%s: %s\n", e->hdrs[k].name, e->hdrs[k].value);
			if (!hit || strncmp(hit, line, strlen(line)) != 0)
				test_fail_at(__FILE__, __LINE__,
					     "%s msg %zu: header %s wrong; have:\n%s", fx->name, i,
					     e->hdrs[k].name, s->headers);
		}
	}
}

static void check_fixture(const char *name)
{
	const struct fixture *fx = NULL;
	struct run want, got;
	char *file = NULL;
	const char *data;
	size_t len = 0;

	for (size_t i = 0; i < FIXTURE_COUNT; i++)
		if (strcmp(fixtures[i].name, name) == 0)
			fx = &fixtures[i];
	ASSERT_TRUE(fx != NULL);
	if (fx->file) {
		file = test_read_data(fx->file, &len);
		if (!file)
			test_fail_at(__FILE__, __LINE__, "cannot read %s", fx->file);
		data = file;
	} else {
		data = fx->data;
		len = fx->len ? fx->len : strlen(fx->data);
	}

	run_feed(fx, data, len, 0, 0, false, &want);
	check_expected(fx, &want);

	run_feed(fx, data, len, 0, 1, false, &got);
	run_compare(fx, &want, &got, "byte at a time", 1);
	collect_free(&got.c);

	run_feed(fx, data, len, 0, 0, true, &got);
	run_compare(fx, &want, &got, "stealing callback", 0);
	collect_free(&got.c);

	for (size_t cut = 1; cut < len; cut++) {
		run_feed(fx, data, len, cut, 0, false, &got);
		run_compare(fx, &want, &got, "split at", cut);
		collect_free(&got.c);
	}
	collect_free(&want.c);
	free(file);
}

/* One TEST per table entry, so a failure names its case. */
#define FIXTURE_NAMES(X)                 \
	X(post_json)                     \
	X(sse_chunked)                   \
	X(keepalive_req)                 \
	X(keepalive_resp)                \
	X(pipelined_req)                 \
	X(lf_only_req)                   \
	X(until_close)                   \
	X(until_close_no_eof)            \
	X(head_resp)                     \
	X(head_resp_as_get)              \
	X(continue_then_200)             \
	X(no_content)                    \
	X(chunked_ext_trailers)          \
	X(oversize_headers_count)        \
	X(oversize_headers_bytes)        \
	X(long_line_default)             \
	X(long_line_skipped)             \
	X(bad_start_tls_req)             \
	X(bad_start_tls_resp)            \
	X(h2_preface)                    \
	X(bad_chunk_size)                \
	X(conflicting_content_length)    \
	X(connect_tunnel)                \
	X(upgrade_101_tunnel)            \
	X(obs_fold)                      \
	X(te_overrides_content_length)   \
	X(te_gzip_chunked)               \
	X(te_chunked_not_final_resp)     \
	X(te_not_chunked_req)            \
	X(chunked_request)               \
	X(content_length_list_same)      \
	X(content_length_list_differs)   \
	X(content_length_not_digits)     \
	X(content_length_empty)          \
	X(content_length_overflow)       \
	X(content_length_above_2_62)     \
	X(chunk_size_above_2_62)         \
	X(chunk_size_overflow)           \
	X(chunk_size_max)                \
	X(chunk_size_empty)              \
	X(chunk_data_missing_crlf)       \
	X(status_two_digits)             \
	X(status_without_reason)         \
	X(status_http2)                  \
	X(method_15_chars)               \
	X(method_16_chars)               \
	X(version_http_1_10)             \
	X(header_without_colon)          \
	X(header_space_before_colon)     \
	X(header_value_nul)              \
	X(fold_after_start_line)         \
	X(fold_of_content_length)        \
	X(connect_request_tunnel)        \
	X(connect_refused_keeps_parsing) \
	X(eof_partial_body)              \
	X(eof_partial_head)              \
	X(eof_partial_start_line)        \
	X(eof_partial_chunk)             \
	X(eof_idle)

#define FIXTURE_TEST(id)            \
	TEST(http1_fixture_##id)    \
	{                           \
		check_fixture(#id); \
	}
FIXTURE_NAMES(FIXTURE_TEST)

/* Every table entry has its TEST, in table order. */
TEST(http1_fixture_table_all_tested)
{
#define FIXTURE_NAME(id) #id,
	static const char *const tested[] = { FIXTURE_NAMES(FIXTURE_NAME) };
#undef FIXTURE_NAME

	ASSERT_EQ(sizeof(tested) / sizeof(tested[0]), FIXTURE_COUNT);
	for (size_t i = 0; i < FIXTURE_COUNT; i++)
		ASSERT_STREQ(tested[i], fixtures[i].name);
}

/* --- direct tests ------------------------------------------------------- */

static int feed_str(struct http1_parser *p, const char *s, uint64_t ts, struct collect *c)
{
	return http1_feed(p, s, strlen(s), ts, collect_cb, c);
}

TEST(http1_content_length_and_version_fields)
{
	struct http1_parser *p = http1_parser_new(HTTP1_REQUEST, NULL);
	struct collect c = { 0 };

	ASSERT_EQ(feed_str(p, "POST /a HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi", 1, &c), 0);
	ASSERT_EQ(c.n, 1);
	ASSERT_EQ(c.msgs[0].version_minor, 0);
	ASSERT_TRUE(c.msgs[0].has_content_length);
	ASSERT_UEQ(c.msgs[0].content_length, 2);
	ASSERT_EQ(feed_str(p, "GET /b HTTP/1.1\r\n\r\n", 2, &c), 0);
	ASSERT_EQ(c.msgs[1].version_minor, 1);
	ASSERT_TRUE(!c.msgs[1].has_content_length);
	collect_free(&c);
	http1_parser_free(p);
}

TEST(http1_long_header_kept_whole_with_defaults)
{
	struct http1_parser *p = http1_parser_new(HTTP1_REQUEST, NULL);
	struct collect c = { 0 };
	size_t len;
	char *data = test_read_data("http1/oversize_headers_req.txt", &len);
	char want[1024];
	const char *hit;

	ASSERT_TRUE(data != NULL);
	ASSERT_EQ(http1_feed(p, data, len, 1, collect_cb, &c), 0);
	ASSERT_EQ(c.n, 2);
	memset(want, 'b', 1000);
	strcpy(want + 1000, "\n");
	hit = strstr(c.msgs[0].headers, "x-long: ");
	ASSERT_TRUE(hit != NULL);
	ASSERT_TRUE(strncmp(hit + 8, want, 1001) == 0);
	collect_free(&c);
	free(data);
	http1_parser_free(p);
}

struct header_lookup {
	char dup[32];
	char type[32];
	bool missing_is_null;
	int calls;
};

static int header_lookup_cb(struct http1_msg *m, void *ctx)
{
	struct header_lookup *h = ctx;
	const char *dup = http1_msg_header(m, "x-dup");
	const char *type = http1_msg_header(m, "Content-Type");

	h->calls++;
	snprintf(h->dup, sizeof(h->dup), "%s", dup ? dup : "(null)");
	snprintf(h->type, sizeof(h->type), "%s", type ? type : "(null)");
	h->missing_is_null = http1_msg_header(m, "x-missing") == NULL;
	return 0;
}

TEST(http1_msg_header_lookup)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nX-Dup: first\r\nx-dup: second\r\n"
				   "CONTENT-TYPE: a/b\r\nContent-Length: 0\r\n\r\n";
	struct http1_parser *p = http1_parser_new(HTTP1_RESPONSE, NULL);
	struct header_lookup h = { 0 };

	ASSERT_EQ(http1_feed(p, resp, sizeof(resp) - 1, 1, header_lookup_cb, &h), 0);
	ASSERT_EQ(h.calls, 1);
	ASSERT_STREQ(h.dup, "first");
	ASSERT_STREQ(h.type, "a/b");
	ASSERT_TRUE(h.missing_is_null);
	http1_parser_free(p);
}

TEST(http1_gap_inside_content_length_body)
{
	struct http1_parser *p = http1_parser_new(HTTP1_REQUEST, NULL);
	struct collect c = { 0 };

	ASSERT_EQ(feed_str(p, "POST /g HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", 1, &c), 0);
	ASSERT_EQ(http1_gap(p, 4, 2, collect_cb, &c), 0);
	ASSERT_EQ(c.n, 0);
	ASSERT_EQ(feed_str(p, "hij", 3, &c), 0);
	ASSERT_EQ(c.n, 1);
	ASSERT_STREQ(c.msgs[0].body, "abchij");
	ASSERT_UEQ(c.msgs[0].body_bytes, 10);
	ASSERT_EQ(c.msgs[0].flags, HTTP1_F_GAP);
	ASSERT_UEQ(c.msgs[0].ts_start, 1);
	ASSERT_UEQ(c.msgs[0].ts_end, 3);
	/* the next message parses normally */
	ASSERT_EQ(feed_str(p, "GET /n HTTP/1.1\r\n\r\n", 4, &c), 0);
	ASSERT_EQ(c.n, 2);
	ASSERT_EQ(c.msgs[1].flags, 0);
	ASSERT_TRUE(!http1_parser_failed(p));
	collect_free(&c);
	http1_parser_free(p);
}

TEST(http1_gap_ending_content_length_body_completes_it)
{
	struct http1_parser *p = http1_parser_new(HTTP1_REQUEST, NULL);
	struct collect c = { 0 };

	ASSERT_EQ(feed_str(p, "POST /g HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", 1, &c), 0);
	ASSERT_EQ(http1_gap(p, 3, 2, collect_cb, &c), 0);
	ASSERT_EQ(c.n, 1);
	ASSERT_EQ(c.msgs[0].flags, HTTP1_F_GAP);
	ASSERT_UEQ(c.msgs[0].ts_end, 2);
	ASSERT_TRUE(!http1_parser_failed(p));
	/* a gap running past the body hides where the next message starts */
	ASSERT_EQ(feed_str(p, "POST /h HTTP/1.1\r\nContent-Length: 2\r\n\r\n", 3, &c), 0);
	ASSERT_EQ(http1_gap(p, 5, 4, collect_cb, &c), 0);
	ASSERT_EQ(c.n, 2);
	ASSERT_EQ(c.msgs[1].flags, HTTP1_F_GAP);
	ASSERT_UEQ(c.msgs[1].body_bytes, 2);
	ASSERT_TRUE(http1_parser_failed(p));
	collect_free(&c);
	http1_parser_free(p);
}

TEST(http1_gap_in_head_delivers_incomplete_and_fails)
{
	struct http1_parser *p = http1_parser_new(HTTP1_REQUEST, NULL);
	struct collect c = { 0 };

	ASSERT_EQ(feed_str(p, "GET /x HTTP/1.1\r\nHost: a\r\nUser-Ag", 1, &c), 0);
	ASSERT_EQ(http1_gap(p, 100, 2, collect_cb, &c), 0);
	ASSERT_EQ(c.n, 1);
	ASSERT_EQ(c.msgs[0].flags, HTTP1_F_GAP | HTTP1_F_INCOMPLETE);
	ASSERT_STREQ(c.msgs[0].target, "/x");
	ASSERT_STREQ(c.msgs[0].headers, "host: a\n");
	ASSERT_TRUE(http1_parser_failed(p));
	/* failed: input ignored, nothing more delivered */
	ASSERT_EQ(feed_str(p, "GET / HTTP/1.1\r\n\r\n", 3, &c), -EPROTO);
	ASSERT_EQ(http1_eof(p, 4, collect_cb, &c), 0);
	ASSERT_EQ(c.n, 1);
	http1_parser_reset(p);
	ASSERT_TRUE(!http1_parser_failed(p));
	ASSERT_EQ(feed_str(p, "GET /y HTTP/1.1\r\n\r\n", 5, &c), 0);
	ASSERT_EQ(c.n, 2);
	ASSERT_STREQ(c.msgs[1].target, "/y");
	collect_free(&c);
	http1_parser_free(p);
}

TEST(http1_gap_when_idle_fails_without_message)
{
	struct http1_parser *p = http1_parser_new(HTTP1_RESPONSE, NULL);
	struct collect c = { 0 };

	ASSERT_EQ(http1_gap(p, 0, 1, collect_cb, &c), 0);
	ASSERT_TRUE(!http1_parser_failed(p));
	ASSERT_EQ(http1_gap(p, 10, 1, collect_cb, &c), 0);
	ASSERT_EQ(c.n, 0);
	ASSERT_TRUE(http1_parser_failed(p));
	http1_parser_free(p);
}

TEST(http1_gap_in_chunk_data)
{
	struct http1_parser *p = http1_parser_new(HTTP1_RESPONSE, NULL);
	struct collect c = { 0 };

	ASSERT_EQ(
		feed_str(p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n012", 1, &c),
		0);
	/* exactly to the end of the chunk: its CRLF follows */
	ASSERT_EQ(http1_gap(p, 7, 2, collect_cb, &c), 0);
	ASSERT_EQ(feed_str(p, "\r\n3\r\nxyz\r\n0\r\n\r\n", 3, &c), 0);
	ASSERT_EQ(c.n, 1);
	ASSERT_STREQ(c.msgs[0].body, "012xyz");
	ASSERT_UEQ(c.msgs[0].body_bytes, 13);
	ASSERT_EQ(c.msgs[0].flags, HTTP1_F_GAP | HTTP1_F_CHUNKED);

	/* past the chunk: the framing is lost */
	ASSERT_EQ(
		feed_str(p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab", 4, &c),
		0);
	ASSERT_EQ(http1_gap(p, 9, 5, collect_cb, &c), 0);
	ASSERT_EQ(c.n, 2);
	ASSERT_EQ(c.msgs[1].flags, HTTP1_F_GAP | HTTP1_F_CHUNKED | HTTP1_F_INCOMPLETE);
	ASSERT_STREQ(c.msgs[1].body, "ab");
	ASSERT_UEQ(c.msgs[1].body_bytes, 4);
	ASSERT_TRUE(http1_parser_failed(p));
	collect_free(&c);
	http1_parser_free(p);
}

TEST(http1_gap_in_chunk_size_line_fails)
{
	struct http1_parser *p = http1_parser_new(HTTP1_RESPONSE, NULL);
	struct collect c = { 0 };

	ASSERT_EQ(feed_str(p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1", 1, &c), 0);
	ASSERT_EQ(http1_gap(p, 2, 2, collect_cb, &c), 0);
	ASSERT_EQ(c.n, 1);
	ASSERT_EQ(c.msgs[0].flags, HTTP1_F_GAP | HTTP1_F_CHUNKED | HTTP1_F_INCOMPLETE);
	ASSERT_TRUE(http1_parser_failed(p));
	collect_free(&c);
	http1_parser_free(p);
}

TEST(http1_gap_in_until_close_body)
{
	struct http1_parser *p = http1_parser_new(HTTP1_RESPONSE, NULL);
	struct collect c = { 0 };

	ASSERT_EQ(feed_str(p, "HTTP/1.1 200 OK\r\n\r\nabc", 1, &c), 0);
	ASSERT_EQ(http1_gap(p, 1000, 2, collect_cb, &c), 0);
	ASSERT_EQ(feed_str(p, "def", 3, &c), 0);
	ASSERT_EQ(c.n, 0);
	ASSERT_EQ(http1_eof(p, 4, collect_cb, &c), 0);
	ASSERT_EQ(c.n, 1);
	ASSERT_STREQ(c.msgs[0].body, "abcdef");
	ASSERT_UEQ(c.msgs[0].body_bytes, 1006);
	ASSERT_EQ(c.msgs[0].flags, HTTP1_F_GAP | HTTP1_F_UNTIL_CLOSE);
	ASSERT_UEQ(c.msgs[0].ts_end, 3);
	collect_free(&c);
	http1_parser_free(p);
}

TEST(http1_gap_in_tunnel_is_ignored)
{
	struct http1_parser *p = http1_parser_new(HTTP1_RESPONSE, NULL);
	struct collect c = { 0 };

	http1_push_request_method(p, "CONNECT");
	ASSERT_EQ(feed_str(p, "HTTP/1.1 200 OK\r\n\r\n", 1, &c), 0);
	ASSERT_TRUE(http1_parser_tunnel(p));
	ASSERT_EQ(http1_gap(p, 50, 2, collect_cb, &c), 0);
	ASSERT_EQ(feed_str(p, "\x17\x03\x03 anything", 3, &c), 0);
	ASSERT_TRUE(http1_parser_tunnel(p));
	ASSERT_TRUE(!http1_parser_failed(p));
	ASSERT_EQ(c.n, 1);
	collect_free(&c);
	http1_parser_free(p);
}

/* Builds "HEAD... Content-Length: n\r\n\r\n" + n bytes of pattern. */
static char *make_cl_message(const char *start, size_t n, size_t *len)
{
	char head[128];
	int hl = snprintf(head, sizeof(head), "%s\r\nContent-Length: %zu\r\n\r\n", start, n);
	char *m = malloc((size_t)hl + n);

	memcpy(m, head, (size_t)hl);
	for (size_t i = 0; i < n; i++)
		m[hl + i] = (char)('a' + i % 26);
	*len = (size_t)hl + n;
	return m;
}

TEST(http1_body_cap_content_length)
{
	struct http1_limits lim = { .max_body_bytes = 10 };
	struct http1_parser *p = http1_parser_new(HTTP1_REQUEST, &lim);
	struct collect c = { 0 };
	size_t len;
	char *m = make_cl_message("POST /cap HTTP/1.1", 100, &len);

	ASSERT_EQ(http1_feed(p, m, len, 1, collect_cb, &c), 0);
	ASSERT_EQ(c.n, 1);
	ASSERT_UEQ(c.msgs[0].body_len, 10);
	ASSERT_STREQ(c.msgs[0].body, "abcdefghij");
	ASSERT_UEQ(c.msgs[0].body_bytes, 100);
	ASSERT_EQ(c.msgs[0].flags, HTTP1_F_BODY_TRUNCATED);
	/* the cap is per message */
	ASSERT_EQ(feed_str(p, "POST /s HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz", 2, &c), 0);
	ASSERT_EQ(c.n, 2);
	ASSERT_STREQ(c.msgs[1].body, "xyz");
	ASSERT_EQ(c.msgs[1].flags, 0);
	collect_free(&c);
	free(m);
	http1_parser_free(p);
}

TEST(http1_body_cap_chunked_and_until_close)
{
	struct http1_limits lim = { .max_body_bytes = 4 };
	struct http1_parser *p = http1_parser_new(HTTP1_RESPONSE, &lim);
	struct collect c = { 0 };

	ASSERT_EQ(feed_str(p,
			   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\n"
			   "def\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n0123456789",
			   1, &c),
		  0);
	ASSERT_EQ(http1_eof(p, 2, collect_cb, &c), 0);
	ASSERT_EQ(c.n, 2);
	ASSERT_STREQ(c.msgs[0].body, "abcd");
	ASSERT_UEQ(c.msgs[0].body_bytes, 6);
	ASSERT_EQ(c.msgs[0].flags, HTTP1_F_BODY_TRUNCATED | HTTP1_F_CHUNKED);
	ASSERT_STREQ(c.msgs[1].body, "0123");
	ASSERT_UEQ(c.msgs[1].body_bytes, 10);
	ASSERT_EQ(c.msgs[1].flags, HTTP1_F_BODY_TRUNCATED | HTTP1_F_UNTIL_CLOSE);
	collect_free(&c);
	http1_parser_free(p);
}

TEST(http1_eof_semantics)
{
	struct http1_parser *p = http1_parser_new(HTTP1_RESPONSE, NULL);
	struct collect c = { 0 };

	/* idle: nothing */
	ASSERT_EQ(http1_eof(p, 1, collect_cb, &c), 0);
	ASSERT_EQ(c.n, 0);
	/* until-close body completes without INCOMPLETE */
	ASSERT_EQ(feed_str(p, "HTTP/1.1 200 OK\r\n\r\npartial", 2, &c), 0);
	ASSERT_EQ(c.n, 0);
	ASSERT_EQ(http1_eof(p, 3, collect_cb, &c), 0);
	ASSERT_EQ(c.n, 1);
	ASSERT_EQ(c.msgs[0].flags, HTTP1_F_UNTIL_CLOSE);
	ASSERT_STREQ(c.msgs[0].body, "partial");
	/* a second eof has nothing left; the parser is fresh */
	ASSERT_EQ(http1_eof(p, 4, collect_cb, &c), 0);
	ASSERT_EQ(c.n, 1);
	ASSERT_EQ(feed_str(p, "HTTP/1.1 204 No Content\r\n\r\n", 5, &c), 0);
	ASSERT_EQ(c.n, 2);
	/* eof drops queued methods: a new connection starts empty */
	http1_push_request_method(p, "HEAD");
	ASSERT_EQ(http1_eof(p, 6, collect_cb, &c), 0);
	ASSERT_EQ(feed_str(p, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nZ", 7, &c), 0);
	ASSERT_EQ(c.n, 3);
	ASSERT_STREQ(c.msgs[2].body, "Z");
	collect_free(&c);
	http1_parser_free(p);
}

TEST(http1_callback_error_stops_feed)
{
	struct http1_parser *p = http1_parser_new(HTTP1_REQUEST, NULL);
	struct collect c = { .fail_at = 2 };

	ASSERT_EQ(feed_str(p,
			   "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n",
			   1, &c),
		  -ECANCELED);
	ASSERT_EQ(c.n, 2);
	ASSERT_TRUE(http1_parser_failed(p));
	http1_parser_reset(p);
	c.fail_at = 0;
	ASSERT_EQ(feed_str(p, "GET /4 HTTP/1.1\r\n\r\n", 2, &c), 0);
	ASSERT_EQ(c.n, 3);
	ASSERT_STREQ(c.msgs[2].target, "/4");
	collect_free(&c);
	http1_parser_free(p);
}

static int steal_cb(struct http1_msg *m, void *ctx)
{
	char **out = ctx;

	out[0] = dynbuf_take(&m->body, NULL);
	out[1] = m->target;
	m->target = NULL;
	return 0;
}

TEST(http1_callback_steals_body_and_target)
{
	static const char m1[] = "PUT /t HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody";
	static const char m2[] = "PUT /u HTTP/1.1\r\nContent-Length: 2\r\n\r\nok";
	struct http1_parser *p = http1_parser_new(HTTP1_REQUEST, NULL);
	char *got[2] = { NULL, NULL };

	ASSERT_EQ(http1_feed(p, m1, sizeof(m1) - 1, 1, steal_cb, got), 0);
	ASSERT_STREQ(got[0], "body");
	ASSERT_STREQ(got[1], "/t");
	free(got[0]);
	free(got[1]);
	ASSERT_EQ(http1_feed(p, m2, sizeof(m2) - 1, 2, steal_cb, got), 0);
	ASSERT_STREQ(got[0], "ok");
	ASSERT_STREQ(got[1], "/u");
	free(got[0]);
	free(got[1]);
	http1_parser_free(p);
}

TEST(http1_timestamps_first_and_last_byte)
{
	struct http1_parser *p = http1_parser_new(HTTP1_REQUEST, NULL);
	struct collect c = { 0 };

	/* leading empty lines do not start the message */
	ASSERT_EQ(feed_str(p, "\r\n", 5, &c), 0);
	ASSERT_EQ(feed_str(p, "POST / HTTP/1.1\r\n", 10, &c), 0);
	ASSERT_EQ(feed_str(p, "Content-Length: 3\r\n\r\na", 20, &c), 0);
	ASSERT_EQ(feed_str(p, "bcGET", 30, &c), 0);
	ASSERT_EQ(feed_str(p, " /n HTTP/1.1\r\n\r\n", 40, &c), 0);
	ASSERT_EQ(c.n, 2);
	ASSERT_UEQ(c.msgs[0].ts_start, 10);
	ASSERT_UEQ(c.msgs[0].ts_end, 30);
	ASSERT_UEQ(c.msgs[1].ts_start, 30);
	ASSERT_UEQ(c.msgs[1].ts_end, 40);
	collect_free(&c);
	http1_parser_free(p);
}

TEST(http1_method_fifo_drops_oldest)
{
	struct http1_parser *p = http1_parser_new(HTTP1_RESPONSE, NULL);
	struct collect c = { 0 };

	for (int i = 0; i < 6; i++)
		http1_push_request_method(p, "HEAD");
	for (int i = 0; i < HTTP1_METHOD_FIFO; i++)
		http1_push_request_method(p, "GET");
	/* the HEADs were dropped: this response has a body */
	ASSERT_EQ(feed_str(p,
			   "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n"
			   "Content-Length: 2\r\n\r\nok",
			   1, &c),
		  0);
	ASSERT_EQ(c.n, 2);
	ASSERT_STREQ(c.msgs[0].body, "ok");
	ASSERT_STREQ(c.msgs[1].body, "ok");
	collect_free(&c);
	http1_parser_free(p);
}

TEST(http1_long_method_name_is_cut_in_fifo)
{
	struct http1_parser *p = http1_parser_new(HTTP1_RESPONSE, NULL);
	struct collect c = { 0 };

	http1_push_request_method(p, "AVERYLONGMETHODNAMEINDEED");
	http1_push_request_method(p, NULL);
	ASSERT_EQ(feed_str(p,
			   "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n"
			   "Content-Length: 1\r\n\r\ny",
			   1, &c),
		  0);
	ASSERT_EQ(c.n, 2);
	collect_free(&c);
	http1_parser_free(p);
}

TEST(http1_head_that_never_ends_is_eproto)
{
	struct http1_limits lim = { .max_header_bytes = 256 };
	struct http1_parser *p = http1_parser_new(HTTP1_REQUEST, &lim);
	struct collect c = { 0 };
	int rc = 0;

	ASSERT_EQ(feed_str(p, "GET / HTTP/1.1\r\n", 1, &c), 0);
	for (int i = 0; i < 1000 && !rc; i++)
		rc = feed_str(p, "X-Filler: yyyyyyyyyyyyyyyyyyyy\r\n", 2, &c);
	ASSERT_EQ(rc, -EPROTO);
	ASSERT_EQ(c.n, 0);
	ASSERT_TRUE(http1_parser_failed(p));
	http1_parser_free(p);
}

TEST(http1_start_line_longer_than_limit_is_eproto)
{
	struct http1_limits lim = { .max_header_bytes = 64 };
	struct http1_parser *p = http1_parser_new(HTTP1_REQUEST, &lim);
	struct collect c = { 0 };
	char line[2048];

	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	memcpy(line, "GET /", 5);
	ASSERT_EQ(feed_str(p, line, 1, &c), -EPROTO);
	http1_parser_free(p);
}

TEST(http1_chunk_extension_too_long_is_eproto)
{
	struct http1_parser *p = http1_parser_new(HTTP1_RESPONSE, NULL);
	struct collect c = { 0 };
	char ext[8192];
	int rc;

	memset(ext, 'e', sizeof(ext) - 1);
	ext[sizeof(ext) - 1] = '\0';
	ext[0] = ';';
	ASSERT_EQ(feed_str(p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5", 1, &c), 0);
	rc = feed_str(p, ext, 2, &c);
	ASSERT_EQ(rc, -EPROTO);
	ASSERT_EQ(c.n, 1);
	ASSERT_EQ(c.msgs[0].flags, HTTP1_F_CHUNKED | HTTP1_F_INCOMPLETE | HTTP1_F_ERROR);
	collect_free(&c);
	http1_parser_free(p);
}

TEST(http1_tls_rejected_on_first_byte)
{
	struct http1_parser *p = http1_parser_new(HTTP1_REQUEST, NULL);
	struct http1_parser *q = http1_parser_new(HTTP1_RESPONSE, NULL);

	ASSERT_EQ(http1_feed(p, "\x16", 1, 1, NULL, NULL), -EPROTO);
	ASSERT_EQ(http1_feed(q, "HTTP/2", 6, 1, NULL, NULL), -EPROTO);
	http1_parser_free(p);
	http1_parser_free(q);
}

TEST(http1_enter_tunnel_and_reset)
{
	struct http1_parser *p = http1_parser_new(HTTP1_REQUEST, NULL);
	struct collect c = { 0 };

	http1_parser_enter_tunnel(p);
	ASSERT_TRUE(http1_parser_tunnel(p));
	ASSERT_EQ(feed_str(p, "\x81\x85 websocket frame", 1, &c), 0);
	ASSERT_EQ(http1_eof(p, 2, collect_cb, &c), 0);
	ASSERT_EQ(c.n, 0);
	ASSERT_TRUE(!http1_parser_tunnel(p));
	http1_parser_enter_tunnel(p);
	http1_parser_reset(p);
	ASSERT_EQ(feed_str(p, "GET / HTTP/1.1\r\n\r\n", 3, &c), 0);
	ASSERT_EQ(c.n, 1);
	collect_free(&c);
	http1_parser_free(p);
}

TEST(http1_parser_new_and_free_edge_cases)
{
	struct http1_limits huge = { .max_header_bytes = (size_t)-1, .max_body_bytes = (size_t)-1 };
	struct http1_parser *p;

	ASSERT_TRUE(http1_parser_new((enum http1_kind)7, NULL) == NULL);
	http1_parser_free(NULL);
	p = http1_parser_new(HTTP1_REQUEST, &huge);
	ASSERT_TRUE(p != NULL);
	ASSERT_EQ(http1_feed(p, "POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", 39, 1, NULL, NULL),
		  0);
	ASSERT_TRUE(!http1_parser_failed(p));
	http1_parser_free(p);
}

TEST(http1_large_body_in_16k_pieces)
{
	struct http1_parser *p = http1_parser_new(HTTP1_RESPONSE, NULL);
	struct collect c = { 0 };
	size_t body = 4u << 20, len;
	char *m = make_cl_message("HTTP/1.1 200 OK", body, &len);

	for (size_t pos = 0; pos < len; pos += 16384) {
		size_t n = len - pos < 16384 ? len - pos : 16384;

		ASSERT_EQ(http1_feed(p, m + pos, n, 1, collect_cb, &c), 0);
	}
	ASSERT_EQ(c.n, 1);
	ASSERT_UEQ(c.msgs[0].body_len, HTTP1_DEFAULT_MAX_BODY_BYTES);
	ASSERT_UEQ(c.msgs[0].body_bytes, body);
	ASSERT_MEMEQ(c.msgs[0].body, m + (len - body), HTTP1_DEFAULT_MAX_BODY_BYTES);
	ASSERT_EQ(c.msgs[0].flags, HTTP1_F_BODY_TRUNCATED);
	collect_free(&c);
	free(m);
	http1_parser_free(p);
}

TEST(http1_big_head_byte_at_a_time)
{
	struct http1_parser *p = http1_parser_new(HTTP1_REQUEST, NULL);
	struct collect c = { 0 };
	size_t cap = 80 * 1024, len = 0;
	char *m = malloc(cap);
	int rc = 0;

	len += (size_t)sprintf(m + len, "POST /big HTTP/1.1\r\n");
	for (int i = 0; len < 60 * 1024; i++)
		len += (size_t)sprintf(m + len, "X-H%d: %0200d\r\n", i, i);
	len += (size_t)sprintf(m + len, "Content-Length: 3\r\n\r\nabc");
	for (size_t i = 0; i < len && !rc; i++)
		rc = http1_feed(p, m + i, 1, 1, collect_cb, &c);
	ASSERT_EQ(rc, 0);
	ASSERT_EQ(c.n, 1);
	ASSERT_STREQ(c.msgs[0].body, "abc");
	ASSERT_EQ(c.msgs[0].flags, HTTP1_F_HEAD_TRUNCATED);
	ASSERT_UEQ(c.msgs[0].n_headers, HTTP1_MAX_HEADERS);
	collect_free(&c);
	free(m);
	http1_parser_free(p);
}
