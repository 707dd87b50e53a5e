// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * HTTP/2 framing of one connection.  Each direction is a small state machine
 * (preface, frame header, payload) fed in whatever pieces the capture
 * delivers; payloads are never buffered whole: DATA goes straight into the
 * stream's body, header block fragments into the direction's block buffer
 * (decoded at END_HEADERS), SETTINGS six bytes at a time.  Streams live in a
 * small array (HTTP2_MAX_STREAMS), looked up by id on every frame because the
 * other direction may retire a stream between two pieces of a frame.
 */
#include "proto/http2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "llmtap_abi.h"
#include "proto/hpack.h"

#define FRAME_HEADER_LEN 9
/* RFC 9113 default SETTINGS_MAX_FRAME_SIZE: the first frame of a direction
 * that starts mid-connection may not be longer (it is held until checked) */
#define PROBE_MAX_FRAME 16384
#define PROBE_MAX (FRAME_HEADER_LEN + PROBE_MAX_FRAME + FRAME_HEADER_LEN)
/* ids of finished streams remembered, so that late frames do not reopen them */
#define RETIRED_MAX 256
#define HEAD_LIMIT_MAX (64u << 20)
#define BODY_LIMIT_MAX (1u << 30)
/* A header block buffer larger than this is released between blocks. */
#define KEEP_BLOCK_ALLOC (16u * 1024)

enum frame_type {
	FT_DATA = 0,
	FT_HEADERS = 1,
	FT_PRIORITY = 2,
	FT_RST_STREAM = 3,
	FT_SETTINGS = 4,
	FT_PUSH_PROMISE = 5,
	FT_PING = 6,
	FT_GOAWAY = 7,
	FT_WINDOW_UPDATE = 8,
	FT_CONTINUATION = 9,
};

#define FL_END_STREAM 0x01
#define FL_ACK 0x01
#define FL_END_HEADERS 0x04
#define FL_PADDED 0x08
#define FL_PRIORITY 0x20

#define SETTINGS_HEADER_TABLE_SIZE 0x1

/* One direction of one stream: a request or a response. */
struct h2_msg {
	struct http_message m; /* body and marks are filled at delivery */
	size_t headers_alloc;
	size_t header_bytes; /* names and values kept, target included */
	struct dynbuf body;
	struct http1_body_mark marks[HTTP1_BODY_MARKS];
	size_t n_marks;
	bool seen; /* a frame of this message arrived */
	bool head_done; /* its first (non-interim) header block was decoded */
	bool ended; /* END_STREAM */
};

struct h2_stream {
	uint32_t id;
	uint64_t seq; /* opening order, for eviction and end-of-connection delivery */
	int opener; /* direction of the first frame seen */
	struct h2_msg msg[2]; /* by direction */
};

enum dir_state {
	DS_START, /* nothing yet: the preface, or frames (mid-connection) */
	DS_PREFACE, /* inside the client preface */
	DS_PROBE, /* holding bytes until two frame headers check out */
	DS_HEAD, /* frame header */
	DS_PAYLOAD, /* frame payload */
	DS_LOST, /* framing lost: drop the rest of this feed call, probe at the next */
};

struct h2_dir {
	enum dir_state st;
	size_t preface_pos;
	bool started; /* the preface or a frame of this direction was parsed */
	bool after_loss;
	unsigned resync_fails; /* failed probes since the last success */
	uint8_t *probe; /* PROBE_MAX bytes while probing */
	size_t probe_len;

	/* the current frame */
	uint8_t fh[FRAME_HEADER_LEN];
	size_t fh_len;
	uint32_t len, sid, pos;
	uint8_t type, flags;
	uint32_t pre_len; /* payload prefix: pad length, priority, promised id */
	uint8_t pre[8];
	uint32_t pad; /* padding at the end of the payload */
	bool bad; /* malformed: the rest of the payload is skipped */
	uint8_t acc[6]; /* a SETTINGS entry being received */
	size_t acc_len;

	/* the header block being received (HEADERS / PUSH_PROMISE + CONTINUATION) */
	struct dynbuf block;
	uint32_t block_sid;
	bool in_block, block_es, block_lost, block_push;
	struct hpack_decoder *hp; /* decodes the blocks this direction sends */
};

struct http2_conn {
	struct http1_limits lim;
	struct h2_dir d[2];
	struct h2_stream *streams[HTTP2_MAX_STREAMS];
	size_t n_streams;
	uint64_t seq;
	uint32_t retired[RETIRED_MAX];
	size_t retired_pos, retired_n;
	int req_dir; /* direction of requests; -1 unknown */
	bool confirmed; /* a direction parsed as HTTP/2 */
	bool classified;
	bool failed; /* not HTTP/2, given up, or ended: nothing more */
	int verdict; /* -ECANCELED once the classifier declined */
	struct http2_stats stats;
	/* the current call */
	struct conn *cur_conn;
	const struct http_hooks *cur_hooks;
	uint64_t ts;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool http2_preface_prefix(const void *p, size_t n)
{
	return memcmp(p, HTTP2_PREFACE, n < HTTP2_PREFACE_LEN ? n : HTTP2_PREFACE_LEN) == 0;
}

struct http2_conn *http2_conn_new(const struct http1_limits *lim)
{
	struct http2_conn *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	if (lim)
		h->lim = *lim;
	if (!h->lim.max_header_bytes)
		h->lim.max_header_bytes = HTTP1_DEFAULT_MAX_HEADER_BYTES;
	if (h->lim.max_header_bytes > HEAD_LIMIT_MAX)
		h->lim.max_header_bytes = HEAD_LIMIT_MAX;
	if (!h->lim.max_body_bytes)
		h->lim.max_body_bytes = HTTP1_DEFAULT_MAX_BODY_BYTES;
	if (h->lim.max_body_bytes > BODY_LIMIT_MAX)
		h->lim.max_body_bytes = BODY_LIMIT_MAX;
	h->req_dir = -1;
	for (int i = 0; i < 2; i++) {
		dynbuf_init(&h->d[i].block, h->lim.max_header_bytes);
		h->d[i].hp = hpack_decoder_new(HTTP2_HPACK_CAP);
		if (!h->d[i].hp) {
			http2_conn_free(h);
			return NULL;
		}
	}
	return h;
}

static void msg_free(struct h2_msg *m)
{
	http_message_free(&m->m);
	dynbuf_free(&m->body);
}

static void stream_free(struct h2_stream *s)
{
	msg_free(&s->msg[0]);
	msg_free(&s->msg[1]);
	free(s);
}

static void free_streams(struct http2_conn *h)
{
	for (size_t i = 0; i < h->n_streams; i++)
		stream_free(h->streams[i]);
	h->n_streams = 0;
}

void http2_conn_free(struct http2_conn *h)
{
	if (!h)
		return;
	free_streams(h);
	for (int i = 0; i < 2; i++) {
		dynbuf_free(&h->d[i].block);
		free(h->d[i].probe);
		hpack_decoder_free(h->d[i].hp);
	}
	free(h);
}

const struct http2_stats *http2_conn_get_stats(const struct http2_conn *h)
{
	return &h->stats;
}

size_t http2_conn_buffered(const struct http2_conn *h)
{
	size_t n;

	if (!h)
		return 0;
	n = sizeof(*h);
	for (int i = 0; i < 2; i++) {
		n += h->d[i].block.alloc + hpack_decoder_buffered(h->d[i].hp);
		if (h->d[i].probe)
			n += PROBE_MAX;
	}
	for (size_t i = 0; i < h->n_streams; i++) {
		const struct h2_stream *s = h->streams[i];

		n += sizeof(*s);
		for (int k = 0; k < 2; k++)
			n += s->msg[k].body.alloc + s->msg[k].header_bytes +
			     s->msg[k].headers_alloc * sizeof(struct http1_header);
	}
	return n;
}

/* --- streams --- */

static int req_dir_of(const struct http2_conn *h, const struct h2_stream *s)
{
	return h->req_dir >= 0 ? h->req_dir : s->opener;
}

static struct h2_stream *stream_find(const struct http2_conn *h, uint32_t sid)
{
	for (size_t i = 0; i < h->n_streams; i++)
		if (h->streams[i]->id == sid)
			return h->streams[i];
	return NULL;
}

static bool is_retired(const struct http2_conn *h, uint32_t sid)
{
	for (size_t i = 0; i < h->retired_n; i++)
		if (h->retired[i] == sid)
			return true;
	return false;
}

/* Forgets a stream; its id stays retired. */
static void stream_remove(struct http2_conn *h, struct h2_stream *s)
{
	for (size_t i = 0; i < h->n_streams; i++) {
		if (h->streams[i] != s)
			continue;
		h->streams[i] = h->streams[--h->n_streams];
		break;
	}
	h->retired[h->retired_pos] = s->id;
	h->retired_pos = (h->retired_pos + 1) % RETIRED_MAX;
	if (h->retired_n < RETIRED_MAX)
		h->retired_n++;
	stream_free(s);
}

static struct h2_stream *stream_oldest(const struct http2_conn *h)
{
	struct h2_stream *o = NULL;

	for (size_t i = 0; i < h->n_streams; i++)
		if (!o || h->streams[i]->seq < o->seq)
			o = h->streams[i];
	return o;
}

/* An LLM API request body: a JSON object naming one of the usual keys. */
static bool body_looks_llm(const char *b, size_t n)
{
	static const char *const keys[] = { "\"model\"", "\"messages\"", "\"prompt\"",
					    "\"contents\"", "\"input\"" };
	size_t i = 0;

	while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
		i++;
	if (i == n || b[i] != '{')
		return false;
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		if (memmem(b + i, n - i, keys[k], strlen(keys[k])))
			return true;
	return false;
}

/*
 * The first request of the connection decides whether it is recorded.
 * Declined: every stream is dropped and -ECANCELED returned (s is freed).
 */
static int classify(struct http2_conn *h, struct h2_stream *s)
{
	const struct http_hooks *hk = h->cur_hooks;
	struct h2_msg *rq = &s->msg[req_dir_of(h, s)];
	struct http_message view;
	bool ok;

	if (h->classified)
		return 0;
	h->classified = true;
	view = rq->m;
	view.version_major = 2;
	view.body = rq->body.buf;
	view.body_len = rq->body.len;
	if (!rq->head_done)
		view.flags |= HTTP_MSG_F_HEADERS_UNKNOWN;
	ok = !hk || !hk->classify || hk->classify(&view, h->cur_conn, hk->ctx);
	if (!ok && (view.flags & HTTP_MSG_F_HEADERS_UNKNOWN) && view.body &&
	    body_looks_llm(view.body, view.body_len)) {
		h->stats.classified_by_body++;
		ok = true;
	}
	if (ok)
		return 0;
	h->verdict = -ECANCELED;
	free_streams(h);
	return -ECANCELED;
}

/* Moves a stream message into an exchange message. */
static void msg_detach(struct http2_conn *h, struct h2_msg *src, struct http_message *dst)
{
	*dst = src->m;
	memset(&src->m, 0, sizeof(src->m));
	src->headers_alloc = src->header_bytes = 0;
	dst->version_major = 2;
	dst->version_minor = 0;
	dst->body = dynbuf_take(&src->body, &dst->body_len);
	if (src->n_marks) {
		dst->marks = malloc(src->n_marks * sizeof(*dst->marks));
		if (dst->marks) {
			memcpy(dst->marks, src->marks, src->n_marks * sizeof(*dst->marks));
			dst->n_marks = src->n_marks;
		}
	}
	if (!src->head_done)
		dst->flags |= HTTP_MSG_F_HEADERS_UNKNOWN;
	if (dst->flags & HTTP_MSG_F_HEADERS_UNKNOWN)
		h->stats.headers_unknown++;
}

/*
 * Delivers a stream (forced: whatever it has, unfinished parts INCOMPLETE)
 * and forgets it.  A stream with no request seen is only counted.
 */
static int stream_finish(struct http2_conn *h, struct h2_stream *s, bool forced)
{
	int rqd = req_dir_of(h, s);
	struct h2_msg *rq = &s->msg[rqd], *rs = &s->msg[!rqd];
	const struct http_hooks *hk = h->cur_hooks;
	struct http_exchange ex;
	int err;

	if (!rq->seen) {
		if (rs->seen)
			h->stats.orphan_streams++;
		stream_remove(h, s);
		return 0;
	}
	if (forced) {
		if (!rq->ended)
			rq->m.flags |= HTTP1_F_INCOMPLETE;
		if (rs->seen && !rs->ended)
			rs->m.flags |= HTTP1_F_INCOMPLETE;
	}
	err = classify(h, s);
	if (err)
		return err;
	memset(&ex, 0, sizeof(ex));
	msg_detach(h, rq, &ex.req);
	if (rs->seen)
		msg_detach(h, rs, &ex.resp);
	else
		ex.flags |= HTTP_EXCH_F_NO_RESPONSE;
	ex.server_side = rqd == LT_DIR_INGRESS;
	stream_remove(h, s);
	h->stats.exchanges++;
	if (hk && hk->on_exchange)
		hk->on_exchange(&ex, h->cur_conn, hk->ctx);
	http_message_free(&ex.req);
	http_message_free(&ex.resp);
	return 0;
}

/* Delivers every stream, oldest first, as the connection ends or is given up. */
static int flush_streams(struct http2_conn *h)
{
	int err = 0;

	while (h->n_streams && !err)
		err = stream_finish(h, stream_oldest(h), true);
	return err;
}

/*
 * The stream of a frame of dir that carries a message part (HEADERS, DATA),
 * opened if new.  *out is NULL for server-initiated (pushed) and retired ids.
 */
static int stream_open(struct http2_conn *h, int dir, uint32_t sid, struct h2_stream **out)
{
	struct h2_stream *s = stream_find(h, sid);
	struct h2_msg *m;
	int err;

	*out = NULL;
	if (!s) {
		if ((sid & 1) == 0 || is_retired(h, sid))
			return 0;
		if (h->n_streams == HTTP2_MAX_STREAMS) {
			h->stats.streams_evicted++;
			err = stream_finish(h, stream_oldest(h), true);
			if (err)
				return err;
		}
		s = calloc(1, sizeof(*s));
		if (!s)
			return -ENOMEM;
		s->id = sid;
		s->seq = h->seq++;
		s->opener = dir;
		dynbuf_init(&s->msg[0].body, h->lim.max_body_bytes);
		dynbuf_init(&s->msg[1].body, h->lim.max_body_bytes);
		h->streams[h->n_streams++] = s;
	}
	m = &s->msg[dir];
	if (!m->seen) {
		m->seen = true;
		m->m.ts_start = h->ts;
	}
	m->m.ts_end = h->ts;
	*out = s;
	return 0;
}

/* END_STREAM of direction dir on stream s (s may be freed). */
static int msg_end(struct http2_conn *h, struct h2_stream *s, int dir)
{
	int rqd = req_dir_of(h, s);
	int err;

	s->msg[dir].ended = true;
	s->msg[dir].m.ts_end = h->ts;
	if (dir == rqd) {
		err = classify(h, s);
		if (err)
			return err;
	} else if (!s->msg[rqd].seen) {
		return stream_finish(h, s, false); /* a response to a request never seen */
	}
	if (s->msg[0].ended && s->msg[1].ended)
		return stream_finish(h, s, false);
	return 0;
}

static int stream_data(struct http2_conn *h, int dir, const uint8_t *p, size_t n)
{
	struct h2_stream *s = stream_find(h, h->d[dir].sid);
	struct h2_msg *m;

	if (!s)
		return 0;
	m = &s->msg[dir];
	m->m.body_bytes += n;
	m->m.ts_end = h->ts;
	if (m->body.len >= m->body.cap) {
		m->m.flags |= HTTP1_F_BODY_TRUNCATED;
		return 0;
	}
	if (m->n_marks < HTTP1_BODY_MARKS &&
	    (!m->n_marks || m->marks[m->n_marks - 1].ts != h->ts)) {
		m->marks[m->n_marks].off = m->body.len;
		m->marks[m->n_marks].ts = h->ts;
		m->n_marks++;
	}
	/* past the cap (or out of memory) the rest is counted, not kept */
	if (dynbuf_append(&m->body, p, n) != 0)
		m->m.flags |= HTTP1_F_BODY_TRUNCATED;
	return 0;
}

/* --- header blocks --- */

struct field_ctx {
	struct http2_conn *h;
	struct h2_msg *m; /* NULL: decode only (pushed or finished stream) */
	int dir;
	bool push;
	bool trailers;
	bool role_done;
};

static char *dup_bytes(const char *s, size_t n, bool lower)
{
	char *d = malloc(n + 1);

	if (!d)
		return NULL;
	for (size_t i = 0; i < n; i++)
		d[i] = lower && s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
	d[n] = '\0';
	return d;
}

/* Room for n more header bytes within the limits, else HEAD_TRUNCATED. */
static bool head_room(struct http2_conn *h, struct h2_msg *m, size_t n)
{
	if (m->header_bytes + n > h->lim.max_header_bytes) {
		m->m.flags |= HTTP1_F_HEAD_TRUNCATED;
		return false;
	}
	m->header_bytes += n;
	return true;
}

static void add_header(struct http2_conn *h, struct h2_msg *m, const char *name, size_t nlen,
		       const char *value, size_t vlen)
{
	struct http1_header *hd;

	/* not a field name (RFC 9113 8.2.1); it could not be a C string either */
	if (!nlen || memchr(name, '\0', nlen))
		return;
	if (m->m.n_headers >= HTTP1_MAX_HEADERS || !head_room(h, m, nlen + vlen)) {
		m->m.flags |= HTTP1_F_HEAD_TRUNCATED;
		return;
	}
	if (m->m.n_headers == m->headers_alloc) {
		size_t na = m->headers_alloc ? m->headers_alloc * 2 : 8;

		if (na > HTTP1_MAX_HEADERS)
			na = HTTP1_MAX_HEADERS;
		hd = realloc(m->m.headers, na * sizeof(*hd));
		if (!hd)
			goto nomem;
		m->m.headers = hd;
		m->headers_alloc = na;
	}
	hd = &m->m.headers[m->m.n_headers];
	hd->name = dup_bytes(name, nlen, true);
	hd->value = dup_bytes(value, vlen, false);
	if (!hd->name || !hd->value) {
		free(hd->name);
		free(hd->value);
		goto nomem;
	}
	m->m.n_headers++;
	return;
nomem:
	m->m.flags |= HTTP1_F_HEAD_TRUNCATED;
}

static bool name_is(const char *name, size_t nlen, const char *lit)
{
	return nlen == strlen(lit) && memcmp(name, lit, nlen) == 0;
}

/* A pseudo-header of a request or response head. */
static void pseudo_field(struct field_ctx *fc, const char *name, size_t nlen, const char *value,
			 size_t vlen)
{
	struct h2_msg *m = fc->m;

	if (name_is(name, nlen, ":method")) {
		size_t n = vlen < sizeof(m->m.method) - 1 ? vlen : sizeof(m->m.method) - 1;

		memcpy(m->m.method, value, n);
		m->m.method[n] = '\0';
	} else if (name_is(name, nlen, ":path")) {
		if (m->m.target || !head_room(fc->h, m, vlen))
			return;
		m->m.target = dup_bytes(value, vlen, false);
		if (!m->m.target)
			m->m.flags |= HTTP1_F_HEAD_TRUNCATED;
	} else if (name_is(name, nlen, ":status")) {
		m->m.status = 0;
		if (vlen == 3 && value[0] >= '1' && value[0] <= '9' && value[1] >= '0' &&
		    value[1] <= '9' && value[2] >= '0' && value[2] <= '9')
			m->m.status =
				(value[0] - '0') * 100 + (value[1] - '0') * 10 + value[2] - '0';
	} else if (name_is(name, nlen, ":authority")) {
		add_header(fc->h, m, "host", 4, value, vlen);
	}
}

static int on_field(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen)
{
	struct field_ctx *fc = ctx;
	struct http2_conn *h = fc->h;

	if (nlen && name[0] == ':') {
		/* the first pseudo-header of a head tells requests from responses */
		if (!fc->push && !fc->role_done && !fc->trailers) {
			fc->role_done = true;
			if (h->req_dir < 0)
				h->req_dir = name_is(name, nlen, ":status") ? !fc->dir : fc->dir;
		}
		if (fc->m && !fc->trailers)
			pseudo_field(fc, name, nlen, value, vlen);
		return 0;
	}
	if (fc->m)
		add_header(h, fc->m, name, nlen, value, vlen);
	return 0;
}

static void block_release(struct h2_dir *d)
{
	d->in_block = false;
	if (d->block.alloc > KEEP_BLOCK_ALLOC)
		dynbuf_free(&d->block);
	else
		dynbuf_reset(&d->block);
}

static void msg_clear_head(struct h2_msg *m)
{
	for (size_t i = 0; i < m->m.n_headers; i++) {
		free(m->m.headers[i].name);
		free(m->m.headers[i].value);
	}
	m->m.n_headers = 0;
	m->header_bytes = 0;
	m->m.status = 0;
}

/* END_HEADERS: decodes the block (always: the table must stay in sync). */
static int block_finish(struct http2_conn *h, int dir)
{
	struct h2_dir *d = &h->d[dir];
	struct h2_stream *s = d->block_push ? NULL : stream_find(h, d->block_sid);
	struct h2_msg *m = s ? &s->msg[dir] : NULL;
	struct field_ctx fc = { h, m, dir, d->block_push, m && m->head_done, false };
	size_t max_list = h->lim.max_header_bytes + 32 * HTTP1_MAX_HEADERS;
	unsigned out = 0;
	bool unknown;
	int err;

	if (d->block_lost) {
		hpack_decoder_forget(d->hp);
		unknown = true;
	} else {
		err = hpack_decode(d->hp, d->block.buf ? d->block.buf : "", d->block.len, max_list,
				   on_field, &fc, &out);
		if (err)
			h->stats.hpack_errors++;
		/* with the table unknown, a block whose every field resolved is still exact */
		unknown = err || (out & HPACK_OUT_PARTIAL);
	}
	block_release(d);
	if (!m)
		return 0;
	if (unknown)
		m->m.flags |= HTTP_MSG_F_HEADERS_UNKNOWN;
	if (out & HPACK_OUT_TRUNCATED)
		m->m.flags |= HTTP1_F_HEAD_TRUNCATED;
	if (!fc.trailers) {
		m->head_done = true;
		/* an interim (1xx) response precedes the real one */
		if (m->m.status >= 100 && m->m.status < 200 && !d->block_es) {
			msg_clear_head(m);
			m->head_done = false;
		}
	}
	return d->block_es ? msg_end(h, s, dir) : 0;
}

/* The block under way will not complete (gap, interleaved frame). */
static int block_abort(struct http2_conn *h, int dir)
{
	struct h2_dir *d = &h->d[dir];
	struct h2_stream *s;

	if (!d->in_block)
		return 0;
	h->stats.blocks_lost++;
	hpack_decoder_forget(d->hp);
	block_release(d);
	s = d->block_push ? NULL : stream_find(h, d->block_sid);
	if (!s)
		return 0;
	s->msg[dir].m.flags |= HTTP_MSG_F_HEADERS_UNKNOWN;
	return d->block_es ? msg_end(h, s, dir) : 0;
}

static int block_start(struct http2_conn *h, int dir, bool push)
{
	struct h2_dir *d = &h->d[dir];
	struct h2_stream *s = NULL;
	int err = 0;

	d->in_block = true;
	d->block_sid = d->sid;
	d->block_es = !push && (d->flags & FL_END_STREAM);
	d->block_lost = false;
	d->block_push = push;
	dynbuf_reset(&d->block);
	if (!push) {
		err = stream_open(h, dir, d->sid, &s);
		if (!err && !s)
			h->stats.ignored_frames++;
	}
	return err;
}

static void block_bytes(struct http2_conn *h, struct h2_dir *d, const uint8_t *p, size_t n)
{
	if (!d->in_block || d->block_lost)
		return;
	/* over max_header_bytes (or out of memory) the block cannot be decoded */
	if (dynbuf_append(&d->block, p, n) != 0) {
		d->block_lost = true;
		h->stats.blocks_lost++;
	}
}

/* --- frames --- */

static void settings_bytes(struct http2_conn *h, int dir, const uint8_t *p, size_t n)
{
	struct h2_dir *d = &h->d[dir];

	while (n) {
		size_t t = sizeof(d->acc) - d->acc_len;

		t = t < n ? t : n;
		memcpy(d->acc + d->acc_len, p, t);
		d->acc_len += t;
		p += t;
		n -= t;
		if (d->acc_len < sizeof(d->acc))
			continue;
		d->acc_len = 0;
		/* the table size this side decodes with bounds what the other side encodes */
		if (((unsigned)d->acc[0] << 8 | d->acc[1]) == SETTINGS_HEADER_TABLE_SIZE)
			hpack_decoder_set_limit(h->d[!dir].hp, be32(d->acc + 2));
	}
}

/* The payload prefix (pad length, priority, promised id) is complete. */
static void prefix_done(struct h2_dir *d)
{
	d->pad = (d->flags & FL_PADDED) ? d->pre[0] : 0;
	if ((uint64_t)d->pre_len + d->pad > d->len) {
		d->bad = true;
		d->pad = 0;
	}
	if (d->bad && d->in_block && (d->type == FT_HEADERS || d->type == FT_PUSH_PROMISE))
		d->block_lost = true;
}

static int frame_end(struct http2_conn *h, int dir)
{
	struct h2_dir *d = &h->d[dir];
	struct h2_stream *s;
	int err = 0;

	d->st = DS_HEAD;
	d->fh_len = 0;
	d->started = true;
	if (d->bad)
		h->stats.ignored_frames++;
	switch (d->type) {
	case FT_DATA:
		s = d->sid ? stream_find(h, d->sid) : NULL;
		if (s && (d->flags & FL_END_STREAM))
			err = msg_end(h, s, dir);
		break;
	case FT_HEADERS:
	case FT_PUSH_PROMISE:
	case FT_CONTINUATION:
		if (d->in_block && (d->flags & FL_END_HEADERS) && d->sid == d->block_sid)
			err = block_finish(h, dir);
		break;
	case FT_RST_STREAM:
		s = d->bad ? NULL : stream_find(h, d->sid);
		if (s)
			err = stream_finish(h, s, true);
		break;
	default:
		break;
	}
	return err;
}

static int frame_begin(struct http2_conn *h, int dir)
{
	struct h2_dir *d = &h->d[dir];
	struct h2_stream *s;
	int err = 0;

	d->len = (uint32_t)d->fh[0] << 16 | (uint32_t)d->fh[1] << 8 | d->fh[2];
	d->type = d->fh[3];
	d->flags = d->fh[4];
	d->sid = be32(d->fh + 5) & 0x7fffffffu;
	d->pos = d->pre_len = d->pad = 0;
	d->bad = false;
	d->acc_len = 0;
	d->st = DS_PAYLOAD;
	h->stats.frames++;
	/* a header block continues only with CONTINUATION frames of its stream */
	if (d->in_block && (d->type != FT_CONTINUATION || d->sid != d->block_sid)) {
		err = block_abort(h, dir);
		if (err)
			return err;
	}
	switch (d->type) {
	case FT_DATA:
		d->pre_len = (d->flags & FL_PADDED) ? 1 : 0;
		d->bad = d->sid == 0;
		if (!d->bad) {
			err = stream_open(h, dir, d->sid, &s);
			if (!err && !s)
				h->stats.ignored_frames++;
		}
		break;
	case FT_HEADERS:
		d->pre_len = ((d->flags & FL_PADDED) ? 1 : 0) + ((d->flags & FL_PRIORITY) ? 5 : 0);
		if (d->sid == 0) {
			/* a connection error for the peers; the block is lost to us */
			d->bad = true;
			hpack_decoder_forget(d->hp);
			break;
		}
		err = block_start(h, dir, false);
		break;
	case FT_PUSH_PROMISE:
		d->pre_len = ((d->flags & FL_PADDED) ? 1 : 0) + 4;
		if (h->req_dir < 0)
			h->req_dir = !dir; /* only servers push */
		err = block_start(h, dir, true);
		break;
	case FT_CONTINUATION:
		d->bad = !d->in_block;
		break;
	case FT_SETTINGS:
		d->bad = d->sid != 0 || d->len % 6 != 0;
		break;
	case FT_RST_STREAM:
		d->bad = d->sid == 0 || d->len != 4;
		break;
	case FT_PRIORITY:
	case FT_PING:
	case FT_GOAWAY:
	case FT_WINDOW_UPDATE:
		break;
	default:
		h->stats.ignored_frames++; /* extension frames are ignored (RFC 9113 5.5) */
		break;
	}
	if (err)
		return err;
	if (d->pre_len == 0 || d->pre_len > d->len) {
		d->bad = d->bad || d->pre_len > d->len;
		prefix_done(d);
	}
	if (d->len == 0)
		return frame_end(h, dir);
	return 0;
}

static int payload_bytes(struct http2_conn *h, int dir, const uint8_t *p, size_t n)
{
	struct h2_dir *d = &h->d[dir];

	switch (d->type) {
	case FT_DATA:
		return stream_data(h, dir, p, n);
	case FT_HEADERS:
	case FT_PUSH_PROMISE:
	case FT_CONTINUATION:
		block_bytes(h, d, p, n);
		return 0;
	case FT_SETTINGS:
		if (!(d->flags & FL_ACK))
			settings_bytes(h, dir, p, n);
		return 0;
	default:
		return 0;
	}
}

/* Consumes up to n bytes of the current payload into *used. */
static int payload_feed(struct http2_conn *h, int dir, const uint8_t *p, size_t n, size_t *used)
{
	struct h2_dir *d = &h->d[dir];
	size_t k = d->len - d->pos;
	int err = 0;

	k = k < n ? k : n;
	*used = k;
	while (k && !err) {
		size_t t;

		if (d->pos < d->pre_len) {
			t = d->pre_len - d->pos;
			t = t < k ? t : k;
			memcpy(d->pre + d->pos, p, t);
			d->pos += t;
			if (d->pos == d->pre_len)
				prefix_done(d);
		} else if (!d->bad && d->pos < d->len - d->pad) {
			t = d->len - d->pad - d->pos;
			t = t < k ? t : k;
			err = payload_bytes(h, dir, p, t);
			d->pos += t;
		} else { /* padding, or a malformed frame */
			t = k;
			d->pos += t;
		}
		p += t;
		k -= t;
	}
	if (!err && d->pos == d->len)
		err = frame_end(h, dir);
	return err;
}

/* --- finding frames: mid-connection starts and losses --- */

/* A frame header as peers send them: known type, valid flags, stream and length. */
static bool frame_header_plausible(const uint8_t *fh)
{
	static const uint8_t allowed_flags[] = {
		[FT_DATA] = FL_END_STREAM | FL_PADDED,
		[FT_HEADERS] = FL_END_STREAM | FL_END_HEADERS | FL_PADDED | FL_PRIORITY,
		[FT_PRIORITY] = 0,
		[FT_RST_STREAM] = 0,
		[FT_SETTINGS] = FL_ACK,
		[FT_PUSH_PROMISE] = FL_END_HEADERS | FL_PADDED,
		[FT_PING] = FL_ACK,
		[FT_GOAWAY] = 0,
		[FT_WINDOW_UPDATE] = 0,
		[FT_CONTINUATION] = FL_END_HEADERS,
	};
	uint32_t len = (uint32_t)fh[0] << 16 | (uint32_t)fh[1] << 8 | fh[2];
	uint8_t type = fh[3], flags = fh[4];
	uint32_t sid = be32(fh + 5);

	if (type > FT_CONTINUATION || (sid & 0x80000000u) || len > PROBE_MAX_FRAME ||
	    (flags & ~allowed_flags[type]))
		return false;
	switch (type) {
	case FT_DATA:
	case FT_HEADERS:
	case FT_CONTINUATION:
		return sid != 0;
	case FT_PUSH_PROMISE:
		return sid != 0 && len >= 4;
	case FT_PRIORITY:
		return sid != 0 && len == 5;
	case FT_RST_STREAM:
		return sid != 0 && len == 4;
	case FT_SETTINGS:
		return sid == 0 && len % 6 == 0 && (!(flags & FL_ACK) || len == 0);
	case FT_PING:
		return sid == 0 && len == 8;
	case FT_GOAWAY:
		return sid == 0 && len >= 8;
	default: /* FT_WINDOW_UPDATE */
		return len == 4;
	}
}

/* Gives up the connection: what is under way is delivered incomplete. */
static int give_up(struct http2_conn *h)
{
	int err = flush_streams(h);

	h->failed = true;
	return err ? err : -EPROTO;
}

/* The bytes of dir do not start a frame where they should. */
static int probe_fail(struct http2_conn *h, int dir)
{
	struct h2_dir *d = &h->d[dir];
	const struct h2_dir *o = &h->d[!dir];

	h->stats.probe_failures++;
	free(d->probe);
	d->probe = NULL;
	d->probe_len = 0;
	/* Nothing is HTTP/2 yet: not HTTP/2, unless the other direction's first
	 * frame looks right (this one may have started inside a frame). */
	if (!h->confirmed && !(o->st == DS_PROBE && o->probe_len >= FRAME_HEADER_LEN)) {
		h->failed = true;
		return -EPROTO;
	}
	if (++d->resync_fails > HTTP2_RESYNC_MAX)
		return give_up(h);
	d->st = DS_LOST;
	return 0;
}

static int dir_bytes(struct http2_conn *h, int dir, const uint8_t *p, size_t n);

/* Two frame headers checked out: the held bytes are parsed as frames. */
static int probe_pass(struct http2_conn *h, int dir)
{
	struct h2_dir *d = &h->d[dir];
	uint8_t *buf = d->probe;
	size_t len = d->probe_len;
	int err;

	d->probe = NULL;
	d->probe_len = 0;
	/* A direction that starts with frames started before the capture, unless
	 * its first frame is the SETTINGS of a connection preface: HPACK state
	 * unknown. */
	if (!d->started && !(buf[3] == FT_SETTINGS && !(buf[4] & FL_ACK)))
		hpack_decoder_forget(d->hp);
	if (d->after_loss)
		h->stats.resyncs++;
	d->after_loss = false;
	d->resync_fails = 0;
	d->started = true;
	h->confirmed = true;
	d->st = DS_HEAD;
	d->fh_len = 0;
	err = dir_bytes(h, dir, buf, len);
	free(buf);
	return err;
}

static int probe_feed(struct http2_conn *h, int dir, const uint8_t *p, size_t n, size_t *used)
{
	struct h2_dir *d = &h->d[dir];
	size_t need = FRAME_HEADER_LEN;

	if (!d->probe) {
		d->probe = malloc(PROBE_MAX);
		if (!d->probe)
			return -ENOMEM;
		d->probe_len = 0;
	}
	if (d->probe_len >= FRAME_HEADER_LEN)
		need = 2 * FRAME_HEADER_LEN +
		       ((size_t)d->probe[0] << 16 | (size_t)d->probe[1] << 8 | d->probe[2]);
	*used = need - d->probe_len < n ? need - d->probe_len : n;
	memcpy(d->probe + d->probe_len, p, *used);
	d->probe_len += *used;
	/* text or TLS records fail on their first bytes: a length over 16 KiB */
	if (d->probe_len < FRAME_HEADER_LEN &&
	    (d->probe[0] != 0 || (d->probe_len > 1 && d->probe[1] > PROBE_MAX_FRAME >> 8)))
		return probe_fail(h, dir);
	if (d->probe_len < need)
		return 0;
	if (!frame_header_plausible(d->probe + need - FRAME_HEADER_LEN))
		return probe_fail(h, dir);
	return need == FRAME_HEADER_LEN ? 0 : probe_pass(h, dir);
}

static int preface_feed(struct http2_conn *h, int dir, const uint8_t *p, size_t n, size_t *used)
{
	struct h2_dir *d = &h->d[dir];
	size_t k = HTTP2_PREFACE_LEN - d->preface_pos;

	k = k < n ? k : n;
	*used = k;
	if (memcmp(p, &HTTP2_PREFACE[d->preface_pos], k) != 0)
		return probe_fail(h, dir);
	d->preface_pos += k;
	if (d->preface_pos < HTTP2_PREFACE_LEN)
		return 0;
	/* the side that sends the preface is the client */
	h->req_dir = dir;
	h->confirmed = true;
	d->started = true;
	d->st = DS_HEAD;
	d->fh_len = 0;
	return 0;
}

static int dir_bytes(struct http2_conn *h, int dir, const uint8_t *p, size_t n)
{
	struct h2_dir *d = &h->d[dir];
	int err = 0;

	while (n && !err) {
		size_t used = 0;

		switch (d->st) {
		case DS_START:
			d->st = p[0] == 'P' ? DS_PREFACE : DS_PROBE;
			continue;
		case DS_PREFACE:
			err = preface_feed(h, dir, p, n, &used);
			break;
		case DS_PROBE:
			err = probe_feed(h, dir, p, n, &used);
			break;
		case DS_HEAD:
			used = FRAME_HEADER_LEN - d->fh_len;
			used = used < n ? used : n;
			memcpy(d->fh + d->fh_len, p, used);
			d->fh_len += used;
			if (d->fh_len == FRAME_HEADER_LEN)
				err = frame_begin(h, dir);
			break;
		case DS_PAYLOAD:
			err = payload_feed(h, dir, p, n, &used);
			break;
		case DS_LOST:
			return 0;
		}
		p += used;
		n -= used;
	}
	return err;
}

/* The framing of dir is lost: everything under way in dir may miss bytes. */
static int dir_lost(struct http2_conn *h, int dir)
{
	struct h2_dir *d = &h->d[dir];
	int err;

	h->stats.lost_framing++;
	err = block_abort(h, dir);
	if (err)
		return err;
	hpack_decoder_forget(d->hp);
	for (size_t i = 0; i < h->n_streams; i++) {
		struct h2_msg *m = &h->streams[i]->msg[dir];

		if (m->seen && !m->ended)
			m->m.flags |= HTTP1_F_GAP | HTTP1_F_INCOMPLETE;
	}
	free(d->probe);
	d->probe = NULL;
	d->probe_len = 0;
	d->fh_len = 0;
	d->after_loss = true;
	d->started = true;
	d->st = DS_PROBE;
	return 0;
}

/* n lost bytes that end inside the current payload: skipped exactly. */
static int payload_skip(struct http2_conn *h, int dir, uint32_t n)
{
	struct h2_dir *d = &h->d[dir];
	struct h2_stream *s;

	if (d->pos < d->pre_len) {
		/* the pad length or priority is lost: the rest of the frame is unknown */
		d->bad = true;
		d->pad = 0;
		if (d->in_block && !d->block_lost) {
			d->block_lost = true;
			h->stats.blocks_lost++;
		}
	}
	switch (d->type) {
	case FT_DATA:
		s = d->sid ? stream_find(h, d->sid) : NULL;
		if (s) {
			uint64_t lo = d->pos > d->pre_len ? d->pos : d->pre_len;
			uint64_t hi = (uint64_t)d->pos + n;
			uint64_t end = d->bad ? d->len : d->len - d->pad;

			hi = hi < end ? hi : end;
			if (hi > lo)
				s->msg[dir].m.body_bytes += hi - lo;
			s->msg[dir].m.flags |= HTTP1_F_GAP;
		}
		break;
	case FT_HEADERS:
	case FT_PUSH_PROMISE:
	case FT_CONTINUATION:
		if (d->in_block && !d->block_lost) {
			d->block_lost = true;
			h->stats.blocks_lost++;
		}
		break;
	default:
		d->acc_len = 0;
		break;
	}
	d->pos += n;
	return d->pos == d->len ? frame_end(h, dir) : 0;
}

/* --- entry points --- */

static void set_cur(struct http2_conn *h, struct conn *c, const struct http_hooks *hooks,
		    uint64_t ts)
{
	h->cur_conn = c;
	h->cur_hooks = hooks;
	h->ts = ts;
}

static int call_result(struct http2_conn *h, int err)
{
	if (h->verdict)
		return h->verdict;
	if (err == -ENOMEM && !h->failed) {
		/* state may be half-updated: deliver what there is and stop */
		give_up(h);
		return -ENOMEM;
	}
	if (err == -EPROTO)
		h->failed = true;
	return err;
}

int http2_conn_feed(struct http2_conn *h, struct conn *c, int dir, const void *data, size_t len,
		    uint64_t ts, const struct http_hooks *hooks)
{
	struct h2_dir *d;

	if (h->verdict)
		return h->verdict;
	if (h->failed)
		return -EPROTO;
	if (dir != LT_DIR_EGRESS && dir != LT_DIR_INGRESS)
		return -EINVAL;
	d = &h->d[dir];
	set_cur(h, c, hooks, ts);
	/* after a loss, each feed call may start a frame (calls follow TLS records) */
	if (d->st == DS_LOST)
		d->st = DS_PROBE;
	return call_result(h, dir_bytes(h, dir, data, len));
}

int http2_conn_gap(struct http2_conn *h, struct conn *c, int dir, uint64_t n, uint64_t ts,
		   const struct http_hooks *hooks)
{
	struct h2_dir *d;

	if (h->verdict)
		return h->verdict;
	if (h->failed)
		return -EPROTO;
	if (dir != LT_DIR_EGRESS && dir != LT_DIR_INGRESS)
		return -EINVAL;
	d = &h->d[dir];
	set_cur(h, c, hooks, ts);
	if (n == 0)
		return 0;
	if (d->st == DS_PAYLOAD && n <= d->len - d->pos)
		return call_result(h, payload_skip(h, dir, (uint32_t)n));
	if (d->st == DS_LOST)
		return 0;
	if (!h->confirmed) {
		h->failed = true;
		return -EPROTO; /* nothing known to frame the rest with */
	}
	return call_result(h, dir_lost(h, dir));
}

void http2_conn_eof(struct http2_conn *h, struct conn *c, uint64_t ts,
		    const struct http_hooks *hooks)
{
	if (h->verdict || h->failed)
		return;
	set_cur(h, c, hooks, ts);
	/* a direction that sent one frame since it started (or resynced) is
	 * still held; with the connection known to be HTTP/2, take it */
	for (int dir = 0; dir < 2 && h->confirmed; dir++) {
		struct h2_dir *d = &h->d[dir];

		if (d->st == DS_PROBE && d->probe_len >= FRAME_HEADER_LEN &&
		    d->probe_len == FRAME_HEADER_LEN + ((size_t)d->probe[0] << 16 |
							(size_t)d->probe[1] << 8 | d->probe[2]) &&
		    probe_pass(h, dir) != 0)
			return;
	}
	flush_streams(h);
	h->failed = true;
}
