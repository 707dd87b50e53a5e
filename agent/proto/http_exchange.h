/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * HTTP/1.x exchanges of one connection: which direction carries requests
 * (the traced process may be the client or the server), one parser per
 * direction, and FIFO pairing of responses with requests (keep-alive and
 * pipelining).  The first request is shown to a classifier that may declare
 * the connection uninteresting.  An HTTP/2 connection (the client preface on
 * either side, or binary frames when the capture began mid-connection) is
 * handed whole to proto/http2.h, which delivers through the same hooks.
 */
#ifndef LLMTAP_HTTP_EXCHANGE_H
#define LLMTAP_HTTP_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/http1.h"

/* A completed message, detached from the parser. */
struct http_message {
	char method[16];
	char *target;
	int status;
	int version_major; /* 2 for HTTP/2; 0 or 1 for HTTP/1.x */
	int version_minor;
	struct http1_header *headers; /* owned, names lower-case */
	size_t n_headers;
	char *body; /* owned, NUL-terminated, body_len bytes kept */
	size_t body_len;
	uint64_t body_bytes; /* whole decoded body length, past the cap too */
	unsigned flags; /* HTTP1_F_*, HTTP_MSG_F_* */
	uint64_t ts_start, ts_end;
	struct http1_body_mark *marks; /* owned; arrival times of body bytes */
	size_t n_marks;
};

/*
 * http_message.flags beyond HTTP1_F_*: HTTP/2 header blocks that could not be
 * (fully) decoded because the HPACK state is unknown (capture began
 * mid-connection, bytes were lost, a block failed).  The headers, method,
 * target and status present are exact; the others are missing.
 */
#define HTTP_MSG_F_HEADERS_UNKNOWN (1u << 16)

/* http_exchange.flags */
#define HTTP_EXCH_F_NO_RESPONSE (1u << 0) /* connection ended before a response */

struct http_exchange {
	struct http_message req;
	struct http_message resp; /* zeroed when NO_RESPONSE */
	unsigned flags;
	bool server_side; /* the traced process served the request */
};

struct conn;

struct http_hooks {
	/* Called once per exchange; the exchange is freed after the call. */
	void (*on_exchange)(const struct http_exchange *ex, struct conn *c, void *ctx);
	/* Decides from the first request whether the connection is recorded. */
	bool (*classify)(const struct http_message *req, const struct conn *c, void *ctx);
	void *ctx;
};

struct http_conn_stats {
	uint64_t orphan_responses; /* a response without a pending request */
	uint64_t pending_dropped; /* request queue overflow */
};

struct http_conn;

/* NULL on -ENOMEM. lim may be NULL for defaults. */
struct http_conn *http_conn_new(const struct http1_limits *lim);
void http_conn_free(struct http_conn *hc);
/*
 * Feeds bytes of direction dir (LT_DIR_*).  Returns 0; -EPROTO when the
 * stream is neither HTTP/1.x nor HTTP/2; -ECANCELED when the classifier
 * declined the connection.  After either, the caller stops feeding this
 * connection.
 */
int http_conn_feed(struct http_conn *hc, struct conn *c, int dir, const void *data, size_t len,
		   uint64_t ts, const struct http_hooks *hooks);
/* n bytes of direction dir were lost; same returns as http_conn_feed. */
int http_conn_gap(struct http_conn *hc, struct conn *c, int dir, uint64_t n, uint64_t ts,
		  const struct http_hooks *hooks);
/* The connection ended: completes close-delimited responses and reports
 * requests that never got one. */
void http_conn_eof(struct http_conn *hc, struct conn *c, uint64_t ts,
		   const struct http_hooks *hooks);
const struct http_conn_stats *http_conn_get_stats(const struct http_conn *hc);
/* Heap bytes held for this connection (parsers and pending requests). */
size_t http_conn_buffered(const struct http_conn *hc);
void http_message_free(struct http_message *m);
/* When the body byte at offset off (of the kept body) arrived; ts_end if unknown. */
uint64_t http_message_time_at(const struct http_message *m, uint64_t off);
const char *http_message_header(const struct http_message *m, const char *name);

#endif
