/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * HTTP/2 (RFC 9113) exchanges of one connection, both directions: frames,
 * HPACK per direction, streams multiplexed on the connection, DATA
 * reassembled per stream.  A stream becomes one struct http_exchange (the
 * same type and hooks as HTTP/1.x, messages marked version_major = 2) when
 * both its request and its response ended (END_STREAM), or earlier and
 * marked HTTP1_F_INCOMPLETE on RST_STREAM, eviction and end of connection.
 * The first request that completes is shown to hooks->classify; if it
 * declines, the connection is dropped (-ECANCELED).
 *
 * Pseudo-headers become fields of struct http_message: :method -> method,
 * :path -> target, :status -> status, :authority -> a "host" header; other
 * fields are kept as headers (lower-case).  Interim (1xx) header blocks are
 * dropped; trailers are appended to the headers.
 *
 * Which side is the client: the one that sent the connection preface; else
 * the first header block with a pseudo-header tells (:status comes from the
 * server, :method, :path... from the client), or a PUSH_PROMISE (sent by the
 * server); else, per stream, the side that opened it.
 *
 * Capture that starts after the preface (mid-connection): a direction whose
 * first bytes are not the preface must start with two valid frame headers
 * (the first frame at most 16 KiB) to be taken as HTTP/2; its HPACK state is
 * unknown, so header blocks decode only partly (static entries, literals,
 * entries added since) and such messages carry HTTP_MSG_F_HEADERS_UNKNOWN
 * (also a message with no header block at all).  Bodies are recovered all the
 * same.  If the classifier declines a first request whose headers are
 * unknown, it is still accepted when its body looks like an LLM API call (a
 * JSON object naming "model", "messages", "prompt", "contents" or "input").
 *
 * Lost bytes (http2_conn_gap): inside a DATA payload they are skipped
 * exactly (HTTP1_F_GAP, counted in body_bytes); inside another frame they
 * lose that frame (a header block then leaves HPACK unknown).  A gap across
 * frames loses the framing: every message of that direction under way gets
 * HTTP1_F_GAP | HTTP1_F_INCOMPLETE, HPACK of that direction becomes unknown,
 * and the bytes after the gap must start a frame again (checked like a
 * mid-connection start; a failed check drops the rest of that feed call, the
 * next call is tried again, up to HTTP2_RESYNC_MAX times in a row).
 *
 * Bounds: HTTP2_MAX_STREAMS tracked streams (the oldest is delivered
 * incomplete, counted), bodies capped like HTTP/1.x (max_body_bytes, the rest
 * counted in body_bytes), a header block up to max_header_bytes, at most
 * HTTP1_MAX_HEADERS headers of max_header_bytes, dynamic tables of
 * HTTP2_HPACK_CAP bytes.
 */
#ifndef LLMTAP_PROTO_HTTP2_H
#define LLMTAP_PROTO_HTTP2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/http1.h"
#include "proto/http_exchange.h"

#define HTTP2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define HTTP2_PREFACE_LEN 24
#define HTTP2_MAX_STREAMS 128
/* dynamic table cap per direction; larger SETTINGS_HEADER_TABLE_SIZE values are clamped */
#define HTTP2_HPACK_CAP (64u * 1024)
/* failed frame-boundary checks in a row after a loss before giving up */
#define HTTP2_RESYNC_MAX 64

struct http2_stats {
	uint64_t frames;
	uint64_t exchanges; /* delivered */
	uint64_t streams_evicted; /* over HTTP2_MAX_STREAMS: the oldest delivered incomplete */
	uint64_t orphan_streams; /* a response with no request seen (capture began later) */
	uint64_t ignored_frames; /* pushed or closed streams, unknown types, malformed frames */
	uint64_t hpack_errors; /* header blocks that failed to decode */
	uint64_t blocks_lost; /* header blocks lost to a gap, a missing CONTINUATION or the cap */
	uint64_t headers_unknown; /* messages delivered with HTTP_MSG_F_HEADERS_UNKNOWN */
	uint64_t lost_framing; /* gaps across frames */
	uint64_t resyncs; /* frame boundary found again after a loss */
	uint64_t probe_failures; /* bytes where a frame should start that are not one */
	uint64_t classified_by_body; /* accepted by the LLM-body rule (headers unknown) */
};

struct http2_conn;

/* NULL on -ENOMEM.  lim NULL: HTTP/1.x defaults. */
struct http2_conn *http2_conn_new(const struct http1_limits *lim);
/* Frees everything without delivering; NULL ok. */
void http2_conn_free(struct http2_conn *h);

/*
 * Feeds bytes of direction dir (LT_DIR_*).  Returns 0; -EPROTO when the bytes
 * are not HTTP/2 (or the framing could not be found again, see above);
 * -ECANCELED once the classifier declined; -ENOMEM.  After -EPROTO or
 * -ECANCELED every call returns the same, and nothing more is delivered.
 */
int http2_conn_feed(struct http2_conn *h, struct conn *c, int dir, const void *data, size_t len,
		    uint64_t ts, const struct http_hooks *hooks);
/* n bytes of direction dir were lost (see above); same returns as http2_conn_feed. */
int http2_conn_gap(struct http2_conn *h, struct conn *c, int dir, uint64_t n, uint64_t ts,
		   const struct http_hooks *hooks);
/* The connection ended: every stream with a request is delivered (incomplete
 * where it did not end); nothing is delivered afterwards. */
void http2_conn_eof(struct http2_conn *h, struct conn *c, uint64_t ts,
		    const struct http_hooks *hooks);
/* Heap bytes held (streams, bodies, header blocks, HPACK tables). */
size_t http2_conn_buffered(const struct http2_conn *h);
const struct http2_stats *http2_conn_get_stats(const struct http2_conn *h);

/* True if the n bytes at p could begin the client connection preface. */
bool http2_preface_prefix(const void *p, size_t n);

#endif
