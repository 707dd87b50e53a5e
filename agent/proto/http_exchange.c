// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "http_exchange.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "llmtap_abi.h"
#include "proto/http2.h"

/* Requests waiting for their response; a client pipelining deeper than
 * this loses the oldest (counted). */
#define PENDING_MAX 16

enum role { ROLE_UNKNOWN, ROLE_CLIENT, ROLE_SERVER };

/* Bytes needed at most to tell a request ("METHOD ") from a response ("HTTP/"). */
#define ROLE_PREFIX_MAX 16

struct http_conn {
	enum role role;
	int req_dir; /* direction carrying requests */
	/* the first bytes, held until they show which side speaks first */
	uint8_t prefix[ROLE_PREFIX_MAX];
	size_t prefix_len;
	int prefix_dir;
	bool classified;
	struct http1_limits lim;
	struct http1_parser *req_parser, *resp_parser;
	struct http_message pending[PENDING_MAX];
	size_t pending_head, pending_count;
	struct http_conn_stats stats;
	/* set while a parser callback runs */
	struct conn *cur_conn;
	const struct http_hooks *cur_hooks;
	int verdict; /* -ECANCELED once the classifier declined */
	/* HTTP/2 connections are handed over whole to http2.c */
	struct http2_conn *h2;
};

struct http_conn *http_conn_new(const struct http1_limits *lim)
{
	struct http_conn *hc = calloc(1, sizeof(*hc));

	if (!hc)
		return NULL;
	if (lim) {
		hc->lim = *lim;
	} else {
		hc->lim.max_header_bytes = 64 * 1024;
		hc->lim.max_body_bytes = LT_CALL_CAP_DEFAULT;
	}
	return hc;
}

void http_message_free(struct http_message *m)
{
	for (size_t i = 0; i < m->n_headers; i++) {
		free(m->headers[i].name);
		free(m->headers[i].value);
	}
	free(m->headers);
	free(m->target);
	free(m->body);
	free(m->marks);
	memset(m, 0, sizeof(*m));
}

uint64_t http_message_time_at(const struct http_message *m, uint64_t off)
{
	uint64_t ts = m->ts_end;

	/* marks are in increasing offset order; the last one at or before off wins */
	for (size_t i = 0; i < m->n_marks && m->marks[i].off <= off; i++)
		ts = m->marks[i].ts;
	if (m->n_marks && off >= m->marks[m->n_marks - 1].off && m->n_marks == HTTP1_BODY_MARKS)
		ts = m->ts_end; /* past the marks kept: unknown, say the end */
	return ts;
}

void http_conn_free(struct http_conn *hc)
{
	if (!hc)
		return;
	for (size_t i = 0; i < hc->pending_count; i++)
		http_message_free(&hc->pending[(hc->pending_head + i) % PENDING_MAX]);
	http1_parser_free(hc->req_parser);
	http1_parser_free(hc->resp_parser);
	http2_conn_free(hc->h2);
	free(hc);
}

const struct http_conn_stats *http_conn_get_stats(const struct http_conn *hc)
{
	return &hc->stats;
}

size_t http_conn_buffered(const struct http_conn *hc)
{
	size_t n;

	if (!hc)
		return 0;
	n = sizeof(*hc) + http1_parser_buffered(hc->req_parser) +
	    http1_parser_buffered(hc->resp_parser) + http2_conn_buffered(hc->h2);
	for (size_t i = 0; i < hc->pending_count; i++)
		n += hc->pending[(hc->pending_head + i) % PENDING_MAX].body_len;
	return n;
}

const char *http_message_header(const struct http_message *m, const char *name)
{
	for (size_t i = 0; i < m->n_headers; i++)
		if (strcmp(m->headers[i].name, name) == 0)
			return m->headers[i].value;
	return NULL;
}

/* Copies a parser message into an owned one; steals the body and target. */
static int message_detach(struct http1_msg *src, struct http_message *dst)
{
	memset(dst, 0, sizeof(*dst));
	memcpy(dst->method, src->method, sizeof(dst->method));
	dst->status = src->status;
	dst->version_major = 1;
	dst->version_minor = src->version_minor;
	dst->flags = src->flags;
	dst->body_bytes = src->body_bytes;
	dst->ts_start = src->ts_start;
	dst->ts_end = src->ts_end;
	dst->target = src->target;
	src->target = NULL;
	dst->body = dynbuf_take(&src->body, &dst->body_len);
	if (src->n_body_marks) {
		dst->marks = malloc(src->n_body_marks * sizeof(*dst->marks));
		if (!dst->marks)
			goto nomem;
		memcpy(dst->marks, src->body_marks, src->n_body_marks * sizeof(*dst->marks));
		dst->n_marks = src->n_body_marks;
	}
	if (src->n_headers) {
		dst->headers = calloc(src->n_headers, sizeof(*dst->headers));
		if (!dst->headers)
			goto nomem;
		for (size_t i = 0; i < src->n_headers; i++) {
			dst->headers[i].name = strdup(src->headers[i].name);
			dst->headers[i].value = strdup(src->headers[i].value);
			dst->n_headers = i + 1;
			if (!dst->headers[i].name || !dst->headers[i].value)
				goto nomem;
		}
	}
	return 0;
nomem:
	http_message_free(dst);
	return -ENOMEM;
}

static int on_request(struct http1_msg *msg, void *ctx)
{
	struct http_conn *hc = ctx;
	struct http_message m;
	int err = message_detach(msg, &m);

	if (err)
		return err;
	if (!hc->classified) {
		hc->classified = true;
		if (hc->cur_hooks->classify &&
		    !hc->cur_hooks->classify(&m, hc->cur_conn, hc->cur_hooks->ctx)) {
			http_message_free(&m);
			hc->verdict = -ECANCELED;
			return -ECANCELED;
		}
	}
	if (hc->pending_count == PENDING_MAX) {
		http_message_free(&hc->pending[hc->pending_head]);
		hc->pending_head = (hc->pending_head + 1) % PENDING_MAX;
		hc->pending_count--;
		hc->stats.pending_dropped++;
	}
	hc->pending[(hc->pending_head + hc->pending_count) % PENDING_MAX] = m;
	hc->pending_count++;
	if (hc->resp_parser)
		http1_push_request_method(hc->resp_parser, m.method);
	return 0;
}

static void emit(struct http_conn *hc, struct http_exchange *ex)
{
	ex->server_side = hc->role == ROLE_SERVER;
	if (hc->cur_hooks->on_exchange)
		hc->cur_hooks->on_exchange(ex, hc->cur_conn, hc->cur_hooks->ctx);
	http_message_free(&ex->req);
	http_message_free(&ex->resp);
}

static int on_response(struct http1_msg *msg, void *ctx)
{
	struct http_conn *hc = ctx;
	struct http_exchange ex;
	int err;

	/* interim responses (100 Continue) precede the real one */
	if (msg->status >= 100 && msg->status < 200 && msg->status != 101)
		return 0;
	if (hc->pending_count == 0) {
		hc->stats.orphan_responses++;
		return 0;
	}
	memset(&ex, 0, sizeof(ex));
	ex.req = hc->pending[hc->pending_head];
	memset(&hc->pending[hc->pending_head], 0, sizeof(ex.req));
	hc->pending_head = (hc->pending_head + 1) % PENDING_MAX;
	hc->pending_count--;
	err = message_detach(msg, &ex.resp);
	if (err) {
		http_message_free(&ex.req);
		return err;
	}
	emit(hc, &ex);
	return 0;
}

/* 1 request, 0 response, -EAGAIN need more bytes, -EPROTO neither. */
static int classify_start(const uint8_t *p, size_t n)
{
	static const char http[] = "HTTP/";
	size_t i = 0;

	if (n && p[0] == 'H' && memcmp(p, http, n < 5 ? n : 5) == 0)
		return n >= 5 ? 0 : -EAGAIN;
	/* a method token (upper-case letters) followed by a space */
	while (i < n && i < ROLE_PREFIX_MAX && p[i] >= 'A' && p[i] <= 'Z')
		i++;
	if (i == n)
		return n < ROLE_PREFIX_MAX ? -EAGAIN : -EPROTO;
	return i > 0 && p[i] == ' ' ? 1 : -EPROTO;
}

static int setup_role(struct http_conn *hc, int req_dir)
{
	hc->req_dir = req_dir;
	hc->role = hc->req_dir == LT_DIR_EGRESS ? ROLE_CLIENT : ROLE_SERVER;
	hc->req_parser = http1_parser_new(HTTP1_REQUEST, &hc->lim);
	hc->resp_parser = http1_parser_new(HTTP1_RESPONSE, &hc->lim);
	if (!hc->req_parser || !hc->resp_parser)
		return -ENOMEM;
	return 0;
}

static void set_cur(struct http_conn *hc, struct conn *c, const struct http_hooks *hooks)
{
	hc->cur_conn = c;
	hc->cur_hooks = hooks;
}

/* Mirrors the HTTP/2 counters into the shared ones after each call. */
static int h2_result(struct http_conn *hc, int err)
{
	const struct http2_stats *st = http2_conn_get_stats(hc->h2);

	hc->stats.orphan_responses = st->orphan_streams;
	hc->stats.pending_dropped = st->streams_evicted;
	if (err == -ECANCELED)
		hc->verdict = err;
	return err;
}

/* The connection is HTTP/2 (preface) or may be (binary frames mid-connection). */
static int start_h2(struct http_conn *hc, struct conn *c, int dir, const void *rest,
		    size_t rest_len, uint64_t ts, const struct http_hooks *hooks)
{
	int err;

	hc->h2 = http2_conn_new(&hc->lim);
	if (!hc->h2)
		return -ENOMEM;
	err = http2_conn_feed(hc->h2, c, dir, hc->prefix, hc->prefix_len, ts, hooks);
	if (!err && rest_len)
		err = http2_conn_feed(hc->h2, c, dir, rest, rest_len, ts, hooks);
	return h2_result(hc, err);
}

static int feed_parser(struct http_conn *hc, int dir, const void *data, size_t len, uint64_t ts)
{
	int err;

	if (dir == hc->req_dir)
		err = http1_feed(hc->req_parser, data, len, ts, on_request, hc);
	else
		err = http1_feed(hc->resp_parser, data, len, ts, on_response, hc);
	return hc->verdict ? hc->verdict : err;
}

int http_conn_feed(struct http_conn *hc, struct conn *c, int dir, const void *data, size_t len,
		   uint64_t ts, const struct http_hooks *hooks)
{
	size_t take;
	int kind, err;

	if (hc->verdict)
		return hc->verdict;
	if (len == 0)
		return 0;
	if (hc->h2)
		return h2_result(hc, http2_conn_feed(hc->h2, c, dir, data, len, ts, hooks));
	set_cur(hc, c, hooks);
	if (hc->role != ROLE_UNKNOWN)
		return feed_parser(hc, dir, data, len, ts);

	/* Which side speaks first, and how: hold up to ROLE_PREFIX_MAX bytes. */
	if (hc->prefix_len && dir != hc->prefix_dir)
		return -EPROTO;
	hc->prefix_dir = dir;
	take = ROLE_PREFIX_MAX - hc->prefix_len;
	if (take > len)
		take = len;
	memcpy(hc->prefix + hc->prefix_len, data, take);
	hc->prefix_len += take;
	/* "PRI * HTTP/2.0\r\n" fills the prefix: the h2 client preface */
	if (http2_preface_prefix(hc->prefix, hc->prefix_len)) {
		if (hc->prefix_len < ROLE_PREFIX_MAX)
			return 0;
		return start_h2(hc, c, dir, (const uint8_t *)data + take, len - take, ts, hooks);
	}
	kind = classify_start(hc->prefix, hc->prefix_len);
	if (kind == -EAGAIN)
		return 0;
	if (kind < 0) /* not HTTP/1.x: maybe HTTP/2 frames, capture begun mid-connection */
		return start_h2(hc, c, dir, (const uint8_t *)data + take, len - take, ts, hooks);
	err = setup_role(hc, kind == 1 ? dir : !dir);
	if (err)
		return err;
	err = feed_parser(hc, dir, hc->prefix, hc->prefix_len, ts);
	if (!err && len > take)
		err = feed_parser(hc, dir, (const uint8_t *)data + take, len - take, ts);
	return err;
}

int http_conn_gap(struct http_conn *hc, struct conn *c, int dir, uint64_t n, uint64_t ts,
		  const struct http_hooks *hooks)
{
	int err;

	if (hc->verdict)
		return hc->verdict;
	if (hc->h2)
		return h2_result(hc, http2_conn_gap(hc->h2, c, dir, n, ts, hooks));
	if (hc->role == ROLE_UNKNOWN)
		return -EPROTO; /* the start is missing: no way to frame messages */
	set_cur(hc, c, hooks);
	if (dir == hc->req_dir)
		err = http1_gap(hc->req_parser, n, ts, on_request, hc);
	else
		err = http1_gap(hc->resp_parser, n, ts, on_response, hc);
	if (hc->verdict)
		return hc->verdict;
	if (!err && (http1_parser_failed(hc->req_parser) || http1_parser_failed(hc->resp_parser)))
		err = -EPROTO;
	return err;
}

void http_conn_eof(struct http_conn *hc, struct conn *c, uint64_t ts,
		   const struct http_hooks *hooks)
{
	if (hc->h2 && !hc->verdict) {
		http2_conn_eof(hc->h2, c, ts, hooks);
		h2_result(hc, 0);
		return;
	}
	if (hc->role == ROLE_UNKNOWN || hc->verdict)
		return;
	set_cur(hc, c, hooks);
	http1_eof(hc->req_parser, ts, on_request, hc);
	http1_eof(hc->resp_parser, ts, on_response, hc);
	while (hc->pending_count) {
		struct http_exchange ex;

		memset(&ex, 0, sizeof(ex));
		ex.req = hc->pending[hc->pending_head];
		memset(&hc->pending[hc->pending_head], 0, sizeof(ex.req));
		hc->pending_head = (hc->pending_head + 1) % PENDING_MAX;
		hc->pending_count--;
		ex.flags = HTTP_EXCH_F_NO_RESPONSE;
		emit(hc, &ex);
	}
}
