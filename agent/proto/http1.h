/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Incremental HTTP/1.x message parser for one direction of a connection.
 *
 * Bytes are fed in whatever pieces the capture delivers them; any split of a
 * stream gives the same messages.  Each complete message (start line,
 * headers, body with chunked framing removed) is handed to a callback.  Work
 * and memory are bounded by struct http1_limits whatever the input: the head
 * is kept up to max_header_bytes, the body up to max_body_bytes (longer
 * bodies are counted, not kept).
 *
 * Choices beyond RFC 9112 (passive observer: follow what peers accept):
 *  - bare LF line endings are accepted; empty lines before a start line are
 *    skipped;
 *  - obs-fold (a header line starting with SP/HT) is appended to the previous
 *    value with one space; folding a Content-Length or Transfer-Encoding
 *    value is rejected (-EPROTO) because it would change the framing;
 *  - a start line longer than max_header_bytes (+ a small slack) is -EPROTO;
 *  - a request with CONNECT becomes a tunnel after it, like a 2xx to CONNECT
 *    or a 101 response (the bytes that follow are not HTTP/1.x).
 */
#ifndef LLMTAP_PROTO_HTTP1_H
#define LLMTAP_PROTO_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/dynbuf.h"

#define HTTP1_MAX_HEADERS 64
#define HTTP1_DEFAULT_MAX_HEADER_BYTES (64u * 1024)
#define HTTP1_DEFAULT_MAX_BODY_BYTES (1024u * 1024)
/* Request methods remembered for response parsing (oldest dropped when full). */
#define HTTP1_METHOD_FIFO 64

enum http1_kind { HTTP1_REQUEST = 0, HTTP1_RESPONSE = 1 };

/* A field left 0 takes its default.  Capped at 64 MiB (head) and 1 GiB (body). */
struct http1_limits {
	size_t max_header_bytes; /* whole head (start line + headers); default 64 KiB */
	size_t max_body_bytes; /* decoded body kept; default 1 MiB; bytes beyond are counted, not kept */
};

/* name lower-cased; value trimmed; both NUL-terminated; owned by the parser, valid
 * during the callback only */
struct http1_header {
	char *name;
	char *value;
};

/* flags of struct http1_msg */
/* head longer than max_header_bytes (or > HTTP1_MAX_HEADERS): later headers dropped */
#define HTTP1_F_HEAD_TRUNCATED (1u << 0)
/* body longer than max_body_bytes */
#define HTTP1_F_BODY_TRUNCATED (1u << 1)
/* the stream ended (eof, gap, error) before the message was complete */
#define HTTP1_F_INCOMPLETE (1u << 2)
/* bytes of the message were missing (http1_gap) */
#define HTTP1_F_GAP (1u << 3)
/* the body used Transfer-Encoding: chunked */
#define HTTP1_F_CHUNKED (1u << 4)
/* response body delimited by connection close */
#define HTTP1_F_UNTIL_CLOSE (1u << 5)
/* the body framing broke: delivered with INCOMPLETE, then http1_feed returns -EPROTO */
#define HTTP1_F_ERROR (1u << 6)

/* Bytes of the kept body from `off` on arrived with timestamp `ts` (until
 * the next mark): lets a stream decoder time its events (time to first chunk). */
#define HTTP1_BODY_MARKS 64
struct http1_body_mark {
	uint64_t off;
	uint64_t ts;
};

struct http1_msg {
	enum http1_kind kind;
	char method[16]; /* requests; e.g. "POST" ("" if the start line was cut) */
	char *target; /* request-target as sent (path + query), malloc'd; NULL in responses */
	int status; /* responses: 100..999 (0 if the start line was cut) */
	char *reason; /* malloc'd, may be ""; NULL in requests */
	int version_minor; /* the x of HTTP/1.x */
	struct http1_header headers[HTTP1_MAX_HEADERS];
	size_t n_headers; /* headers beyond HTTP1_MAX_HEADERS are dropped and HEAD_TRUNCATED set */
	struct dynbuf body; /* decoded body (chunked framing removed), capped */
	/* full decoded body length seen, including bytes past the cap and gaps */
	uint64_t body_bytes;
	uint64_t content_length; /* if has_content_length */
	bool has_content_length;
	unsigned flags;
	uint64_t ts_start; /* ts passed with the first byte of this message */
	uint64_t ts_end; /* ts passed with the last byte of this message */
	/* the first HTTP1_BODY_MARKS arrival times of body bytes (later ones are not kept) */
	struct http1_body_mark body_marks[HTTP1_BODY_MARKS];
	size_t n_body_marks;
};

/*
 * Called once per message when it is complete (or at eof / gap / error flush).
 * The msg is owned by the parser and valid only during the call; the callback
 * may steal msg->body storage with dynbuf_take and msg->target / msg->reason by
 * setting them to NULL (free() them later).  It must not call back into the
 * parser.  Returns 0 to continue, negative to stop feeding: that value is
 * returned by http1_feed and the parser is left failed (http1_parser_reset).
 */
typedef int (*http1_msg_cb)(struct http1_msg *msg, void *ctx);

struct http1_parser;

/* A parser for one direction; lim NULL = defaults.  NULL on -ENOMEM or a bad kind.
 * Free with http1_parser_free. */
struct http1_parser *http1_parser_new(enum http1_kind kind, const struct http1_limits *lim);
/* Frees the parser and any partial message; NULL ok. */
void http1_parser_free(struct http1_parser *p);

/*
 * Feeds the next len bytes of the stream; any split gives identical messages.
 * ts is opaque, stored into ts_start/ts_end.  cb may be NULL.  Returns 0,
 * -EPROTO when the bytes are not HTTP/1.x (also on every call while failed),
 * -ENOMEM, or the callback's negative value; on error the parser is failed.
 */
int http1_feed(struct http1_parser *p, const void *data, size_t len, uint64_t ts, http1_msg_cb cb,
	       void *ctx);

/*
 * The stream ended.  A response delimited by close completes normally
 * (UNTIL_CLOSE); a partial message is delivered with HTTP1_F_INCOMPLETE;
 * nothing is delivered if no byte of a new message was received.  Afterwards
 * the parser is fresh (methods forgotten) unless it was failed.  Returns 0 or
 * the callback's error.
 */
int http1_eof(struct http1_parser *p, uint64_t ts, http1_msg_cb cb, void *ctx);

/*
 * n bytes of the stream are missing.  Inside a body of known remaining length
 * or an until-close body they are skipped (HTTP1_F_GAP, counted in
 * body_bytes, no filler kept).  Elsewhere the current message, if begun, is
 * delivered with GAP|INCOMPLETE and the parser is failed.  Returns 0 or the
 * callback's error.
 */
int http1_gap(struct http1_parser *p, uint64_t n, uint64_t ts, http1_msg_cb cb, void *ctx);

/* Queues the method of the next request for response parsing (HEAD, CONNECT
 * matter); at most HTTP1_METHOD_FIFO are kept, the oldest dropped.  Without one,
 * GET is assumed.  1xx responses other than 101 do not consume one. */
void http1_push_request_method(struct http1_parser *p, const char *method);

/* Clears the failed/tunnel state and any partial message; queued methods stay. */
void http1_parser_reset(struct http1_parser *p);
/* True after -EPROTO, -ENOMEM, a callback error or an unrecoverable gap. */
bool http1_parser_failed(const struct http1_parser *p);
/* Heap bytes the parser holds now (head and body buffers), for memory budgets. */
size_t http1_parser_buffered(const struct http1_parser *p);
/* True once the connection switched protocols (101, 2xx to CONNECT, a CONNECT
 * request); all further bytes are ignored without error. */
bool http1_parser_tunnel(const struct http1_parser *p);
/* Makes the parser ignore all further bytes, e.g. the request side after the
 * peer answered 101. */
void http1_parser_enter_tunnel(struct http1_parser *p);

/* Value of the first header named name (case-insensitive) of a delivered
 * message, NULL if absent.  The string belongs to the message. */
const char *http1_msg_header(const struct http1_msg *msg, const char *name);

#endif
