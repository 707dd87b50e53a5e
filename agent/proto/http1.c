// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Incremental HTTP/1.x parser.  One state machine per direction; every input
 * byte is looked at a bounded number of times:
 *  - head and trailer lines are copied into `arena` up to their LF and parsed
 *    once complete (memchr finds the LF, so no rescanning on small feeds);
 *    kept headers are rewritten in place as "name\0value\0" and referenced by
 *    offset, because the arena may move while it grows;
 *  - body bytes go straight into msg.body (capped).
 */
#include "proto/http1.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * Extra arena room past max_header_bytes: a line that no longer fits the head
 * budget is still parsed (then dropped) when it fits here, so a Content-Length
 * or Transfer-Encoding after the cut still frames the body.  Also guarantees
 * room for the blank line that ends the head.
 */
#define HEAD_SLACK 512
#define HEAD_LIMIT_MAX (64u << 20)
/* keeps dynbuf's cap + 1 arithmetic far from overflow */
#define BODY_LIMIT_MAX (1u << 30)
/* A head that has not ended after this many times the limit is not HTTP. */
#define HEAD_WORK_FACTOR 4
/* chunk-size line including extensions */
#define CHUNK_LINE_MAX 4096
#define CHUNK_SIZE_MAX (1ull << 62)
#define CONTENT_LENGTH_MAX (1ull << 62)
/* Buffers larger than this are released between messages, not reused. */
#define KEEP_ALLOC_MAX (64u * 1024)

enum http1_state {
	ST_HEAD, /* start line and header lines (also idle between messages) */
	ST_BODY_CL, /* `remaining` bytes of a Content-Length body */
	ST_CHUNK_SIZE, /* chunk-size [ext] CRLF */
	ST_CHUNK_DATA, /* `remaining` bytes of chunk data */
	ST_CHUNK_DATA_END, /* the CRLF after chunk data */
	ST_TRAILERS, /* trailer lines up to the blank line */
	ST_UNTIL_CLOSE, /* response body delimited by close */
	ST_TUNNEL, /* switched protocols: ignore everything */
	ST_ERROR, /* failed: ignore everything until reset */
};

enum chunk_line { CS_DIGITS, CS_WS, CS_EXT, CS_CR };

/* What the previous header line became, for obs-fold continuations. */
enum last_line { LL_NONE, LL_KEPT, LL_DROPPED, LL_FRAMING };

struct http1_parser {
	enum http1_kind kind;
	size_t max_head;
	size_t max_body;
	enum http1_state st;
	struct http1_msg msg;
	bool started; /* a byte of the current message was seen */
	uint64_t last_ts; /* ts of the latest byte of the current message */

	/* head / trailers */
	struct dynbuf arena; /* kept headers, then the line being received */
	size_t line_start; /* arena offset of the line being received */
	size_t head_bytes; /* raw bytes of the head (or of the trailers) so far */
	bool line_skip; /* the current line did not fit: discard up to its LF */
	bool start_done;
	enum last_line last_line;
	size_t hdr_off[HTTP1_MAX_HEADERS][2]; /* name, value offsets in arena */

	/* framing */
	bool te_present;
	bool te_chunked; /* final transfer coding is chunked */
	bool tunnel_after;

	/* body */
	uint64_t remaining;
	enum chunk_line cs;
	size_t cs_len;
	uint64_t chunk_size;
	bool cs_digits;
	bool cd_cr;

	char fifo[HTTP1_METHOD_FIFO][16];
	unsigned fifo_head;
	unsigned fifo_n;
};

/* Arguments of the current feed/eof/gap call, passed down as one. */
struct http1_call {
	http1_msg_cb cb;
	void *ctx;
	uint64_t ts;
};

static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-vchar / SP / HTAB, obs-text included */
static bool is_field_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void trim_ows(const char **s, size_t *n)
{
	while (*n && is_ows((*s)[0])) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_ows((*s)[*n - 1]))
		(*n)--;
}

static char *dup_range(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* Forgets the current message and its parse state; keeps buffers small. */
static void msg_clear(struct http1_parser *p)
{
	struct http1_msg *m = &p->msg;
	struct dynbuf body = m->body;

	free(m->target);
	free(m->reason);
	if (!body.buf || body.alloc > KEEP_ALLOC_MAX) {
		dynbuf_free(&body);
		dynbuf_init(&body, p->max_body);
	} else {
		dynbuf_reset(&body);
	}
	memset(m, 0, sizeof(*m));
	m->kind = p->kind;
	m->body = body;

	if (p->arena.alloc > KEEP_ALLOC_MAX)
		dynbuf_free(&p->arena);
	else
		dynbuf_reset(&p->arena);
	p->started = false;
	p->last_ts = 0;
	p->line_start = 0;
	p->head_bytes = 0;
	p->line_skip = false;
	p->start_done = false;
	p->last_line = LL_NONE;
	p->te_present = false;
	p->te_chunked = false;
	p->tunnel_after = false;
	p->remaining = 0;
	p->cs = CS_DIGITS;
	p->cs_len = 0;
	p->chunk_size = 0;
	p->cs_digits = false;
	p->cd_cr = false;
}

static void parser_fail(struct http1_parser *p)
{
	msg_clear(p);
	p->st = ST_ERROR;
}

/*
 * Hands the current message to the callback and clears it.  Returns the
 * callback's value, or -ENOMEM.
 */
static int deliver(struct http1_parser *p, struct http1_call *call, unsigned flags)
{
	struct http1_msg *m = &p->msg;
	int rc = 0;

	m->flags |= flags;
	m->ts_end = p->last_ts;
	for (size_t i = 0; i < m->n_headers; i++) {
		m->headers[i].name = p->arena.buf + p->hdr_off[i][0];
		m->headers[i].value = p->arena.buf + p->hdr_off[i][1];
	}
	/* A message cut inside its start line still gets non-NULL strings. */
	if (m->kind == HTTP1_REQUEST && !m->target)
		m->target = dup_range("", 0);
	if (m->kind == HTTP1_RESPONSE && !m->reason)
		m->reason = dup_range("", 0);
	if ((m->kind == HTTP1_REQUEST && !m->target) || (m->kind == HTTP1_RESPONSE && !m->reason))
		rc = -ENOMEM;
	else if (call->cb)
		rc = call->cb(m, call->ctx);
	msg_clear(p);
	return rc;
}

/* Delivers a complete message and moves on to the next one. */
static int complete(struct http1_parser *p, struct http1_call *call)
{
	bool tunnel = p->tunnel_after;
	int rc = deliver(p, call, 0);

	if (rc < 0) {
		p->st = ST_ERROR;
		return rc;
	}
	p->st = tunnel ? ST_TUNNEL : ST_HEAD;
	return 0;
}

static int body_append(struct http1_parser *p, const char *s, size_t n)
{
	struct http1_msg *m = &p->msg;
	int err;

	m->body_bytes += n;
	if (m->body.len >= m->body.cap) {
		if (n)
			m->flags |= HTTP1_F_BODY_TRUNCATED;
		return 0;
	}
	if (n && m->n_body_marks < HTTP1_BODY_MARKS &&
	    (!m->n_body_marks || m->body_marks[m->n_body_marks - 1].ts != p->last_ts)) {
		m->body_marks[m->n_body_marks].off = m->body.len;
		m->body_marks[m->n_body_marks].ts = p->last_ts;
		m->n_body_marks++;
	}
	err = dynbuf_append(&m->body, s, n);
	if (err == -E2BIG) {
		m->flags |= HTTP1_F_BODY_TRUNCATED;
		err = 0;
	}
	return err;
}

static void fifo_pop(struct http1_parser *p, char out[16])
{
	if (!p->fifo_n) {
		memcpy(out, "GET", 4);
		return;
	}
	memcpy(out, p->fifo[p->fifo_head], 16);
	p->fifo_head = (p->fifo_head + 1) % HTTP1_METHOD_FIFO;
	p->fifo_n--;
}

/*
 * Rejects a start line early from its first bytes, so that a non-HTTP stream
 * (TLS, HTTP/2) fails at once instead of after max_header_bytes.  Only rejects
 * what parse_start_line would reject too, so splits do not matter.
 */
static int start_prefix_check(const struct http1_parser *p, const char *s, size_t n)
{
	static const char proto[] = "HTTP/1.";

	if (p->kind == HTTP1_RESPONSE) {
		for (size_t i = 0; i < n && i < 9; i++) {
			if (i < 7 && s[i] != proto[i])
				return -EPROTO;
			if (i == 7 && (s[i] < '0' || s[i] > '9'))
				return -EPROTO;
			if (i == 8 && s[i] != ' ')
				return -EPROTO;
		}
		return 0;
	}
	for (size_t i = 0; i < n && i < 16; i++) {
		if (s[i] == ' ')
			return i ? 0 : -EPROTO;
		if (!is_tchar((unsigned char)s[i]) || i == 15)
			return -EPROTO;
	}
	return 0;
}

static int parse_request_line(struct http1_parser *p, const char *s, size_t n)
{
	size_t i = 0, t0, t1;

	while (i < n && i < 16 && is_tchar((unsigned char)s[i]))
		i++;
	if (i == 0 || i > 15 || i >= n || s[i] != ' ')
		return -EPROTO;
	memcpy(p->msg.method, s, i);
	p->msg.method[i] = '\0';
	t0 = ++i;
	while (i < n && s[i] != ' ') {
		unsigned char c = s[i];

		if (c <= 0x20 || c == 0x7f)
			return -EPROTO;
		i++;
	}
	t1 = i;
	/* exactly " HTTP/1.d" must remain */
	if (t1 == t0 || n - t1 != 9 || memcmp(s + t1, " HTTP/1.", 8) != 0 || s[n - 1] < '0' ||
	    s[n - 1] > '9')
		return -EPROTO;
	p->msg.version_minor = s[n - 1] - '0';
	p->msg.target = dup_range(s + t0, t1 - t0);
	return p->msg.target ? 0 : -ENOMEM;
}

static int parse_status_line(struct http1_parser *p, const char *s, size_t n)
{
	size_t i;

	if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' || s[7] > '9' || s[8] != ' ')
		return -EPROTO;
	for (i = 9; i < 12; i++)
		if (s[i] < '0' || s[i] > '9')
			return -EPROTO;
	if (s[9] == '0' || (n > 12 && s[12] != ' '))
		return -EPROTO;
	for (i = 13; i < n; i++)
		if (!is_field_char((unsigned char)s[i]))
			return -EPROTO;
	p->msg.version_minor = s[7] - '0';
	p->msg.status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	p->msg.reason = n > 12 ? dup_range(s + 13, n - 13) : dup_range("", 0);
	return p->msg.reason ? 0 : -ENOMEM;
}

/* Content-Length: 1*DIGIT, or a list of identical values ("5, 5"); every
 * occurrence must agree. */
static int apply_content_length(struct http1_parser *p, const char *v, size_t n)
{
	size_t i = 0;
	bool any = false;

	while (i <= n) {
		size_t e = i;
		const char *el;
		size_t el_n;
		uint64_t val = 0;

		while (e < n && v[e] != ',')
			e++;
		el = v + i;
		el_n = e - i;
		trim_ows(&el, &el_n);
		if (!el_n)
			return -EPROTO;
		for (size_t k = 0; k < el_n; k++) {
			if (el[k] < '0' || el[k] > '9' || val > CONTENT_LENGTH_MAX / 10)
				return -EPROTO;
			val = val * 10 + (uint64_t)(el[k] - '0');
			if (val > CONTENT_LENGTH_MAX)
				return -EPROTO;
		}
		if ((p->msg.has_content_length || any) && p->msg.content_length != val)
			return -EPROTO;
		p->msg.content_length = val;
		any = true;
		i = e + 1;
	}
	p->msg.has_content_length = true;
	return 0;
}

/* Transfer-Encoding: only whether the final coding (of the last header that
 * names one) is chunked matters. */
static void apply_transfer_encoding(struct http1_parser *p, const char *v, size_t n)
{
	size_t i = 0;

	p->te_present = true;
	while (i < n) {
		size_t e = i;
		const char *el;
		size_t el_n;

		while (e < n && v[e] != ',')
			e++;
		el = v + i;
		el_n = e - i;
		trim_ows(&el, &el_n);
		if (el_n)
			p->te_chunked = el_n == 7 && strncasecmp(el, "chunked", 7) == 0;
		i = e + 1;
	}
}

/* Splits "name: value" (n bytes, no line end); -EPROTO if it is not one. */
static int split_field(const char *s, size_t n, size_t *name_n, const char **val, size_t *val_n)
{
	size_t i = 0;

	while (i < n && is_tchar((unsigned char)s[i]))
		i++;
	if (i == 0 || i == n || s[i] != ':')
		return -EPROTO;
	*name_n = i;
	*val = s + i + 1;
	*val_n = n - i - 1;
	trim_ows(val, val_n);
	for (size_t k = 0; k < *val_n; k++)
		if (!is_field_char((unsigned char)(*val)[k]))
			return -EPROTO;
	return 0;
}

/* obs-fold: appends the continuation to the previous header when it is the
 * last thing in the arena. */
static int header_continuation(struct http1_parser *p, char *line, size_t n)
{
	struct http1_msg *m = &p->msg;
	const char *v = line;
	size_t vn = n;
	char *dst;

	if (p->last_line == LL_NONE || p->last_line == LL_FRAMING)
		return -EPROTO;
	trim_ows(&v, &vn);
	for (size_t k = 0; k < vn; k++)
		if (!is_field_char((unsigned char)v[k]))
			return -EPROTO;
	if (p->last_line != LL_KEPT || p->head_bytes > p->max_head) {
		p->arena.len = p->line_start;
		m->flags |= HTTP1_F_HEAD_TRUNCATED;
		p->last_line = LL_DROPPED;
		goto out;
	}
	/* line_start - 1 is the NUL ending the previous value */
	dst = line - 1;
	if (vn) {
		if (p->hdr_off[m->n_headers - 1][1] != p->line_start - 1)
			*dst++ = ' ';
		memmove(dst, v, vn);
		dst[vn] = '\0';
		p->arena.len = (size_t)(dst + vn + 1 - p->arena.buf);
	} else {
		p->arena.len = p->line_start;
	}
out:
	p->arena.buf[p->arena.len] = '\0';
	return 0;
}

static int header_line(struct http1_parser *p, char *line, size_t n)
{
	struct http1_msg *m = &p->msg;
	const char *v;
	size_t name_n, vn;
	bool framing = false, keep;
	int err;

	if (line[0] == ' ' || line[0] == '\t')
		return header_continuation(p, line, n);
	err = split_field(line, n, &name_n, &v, &vn);
	if (err)
		return err;
	if (name_n == 14 && strncasecmp(line, "content-length", 14) == 0) {
		err = apply_content_length(p, v, vn);
		if (err)
			return err;
		framing = true;
	} else if (name_n == 17 && strncasecmp(line, "transfer-encoding", 17) == 0) {
		apply_transfer_encoding(p, v, vn);
		framing = true;
	}
	keep = p->head_bytes <= p->max_head && m->n_headers < HTTP1_MAX_HEADERS;
	if (!keep) {
		p->arena.len = p->line_start;
		m->flags |= HTTP1_F_HEAD_TRUNCATED;
		p->last_line = framing ? LL_FRAMING : LL_DROPPED;
		goto out;
	}
	for (size_t k = 0; k < name_n; k++)
		if (line[k] >= 'A' && line[k] <= 'Z')
			line[k] = (char)(line[k] - 'A' + 'a');
	line[name_n] = '\0';
	memmove(line + name_n + 1, v, vn);
	line[name_n + 1 + vn] = '\0';
	p->hdr_off[m->n_headers][0] = p->line_start;
	p->hdr_off[m->n_headers][1] = p->line_start + name_n + 1;
	m->n_headers++;
	p->arena.len = p->line_start + name_n + 1 + vn + 1;
	p->last_line = framing ? LL_FRAMING : LL_KEPT;
out:
	p->arena.buf[p->arena.len] = '\0';
	return 0;
}

/* The blank line ended the head: pick the body framing (RFC 9112 §6.3). */
static int head_end(struct http1_parser *p, struct http1_call *call)
{
	struct http1_msg *m = &p->msg;
	char method[16];

	if (m->kind == HTTP1_REQUEST) {
		if (strcmp(m->method, "CONNECT") == 0)
			p->tunnel_after = true;
		if (p->te_present) {
			/* a request body must be chunked-framed to be delimited */
			if (!p->te_chunked)
				return -EPROTO;
			goto chunked;
		}
		if (m->has_content_length && m->content_length)
			goto length;
		return complete(p, call);
	}

	if (m->status < 200) {
		/* interim responses keep the request's method for the final one */
		if (m->status == 101) {
			fifo_pop(p, method);
			p->tunnel_after = true;
		}
		return complete(p, call);
	}
	fifo_pop(p, method);
	if (strcmp(method, "CONNECT") == 0 && m->status < 300) {
		p->tunnel_after = true;
		return complete(p, call);
	}
	if (strcmp(method, "HEAD") == 0 || m->status == 204 || m->status == 304)
		return complete(p, call);
	if (p->te_present) {
		if (p->te_chunked)
			goto chunked;
		goto until_close;
	}
	if (m->has_content_length) {
		if (m->content_length)
			goto length;
		return complete(p, call);
	}
until_close:
	m->flags |= HTTP1_F_UNTIL_CLOSE;
	p->st = ST_UNTIL_CLOSE;
	return 0;
length:
	p->remaining = m->content_length;
	p->st = ST_BODY_CL;
	return 0;
chunked:
	m->flags |= HTTP1_F_CHUNKED;
	p->cs = CS_DIGITS;
	p->cs_len = 0;
	p->chunk_size = 0;
	p->cs_digits = false;
	p->st = ST_CHUNK_SIZE;
	return 0;
}

/* A whole line (with its LF) sits at arena[line_start..len). */
static int line_done(struct http1_parser *p, struct http1_call *call)
{
	char *line = p->arena.buf + p->line_start;
	size_t n = p->arena.len - p->line_start - 1;
	int err;

	if (n && line[n - 1] == '\r')
		n--;
	if (p->st == ST_HEAD && !p->start_done) {
		if (p->kind == HTTP1_REQUEST)
			err = parse_request_line(p, line, n);
		else
			err = parse_status_line(p, line, n);
		/* the strings were copied out; headers start at offset 0 */
		p->arena.len = p->line_start = 0;
		if (err)
			return err;
		p->start_done = true;
		return 0;
	}
	if (n == 0) {
		p->arena.len = p->line_start;
		if (p->st == ST_TRAILERS)
			return complete(p, call);
		return head_end(p, call);
	}
	if (p->st == ST_TRAILERS) {
		const char *v;
		size_t name_n, vn;

		/* trailers are checked, then discarded */
		err = 0;
		if (line[0] != ' ' && line[0] != '\t')
			err = split_field(line, n, &name_n, &v, &vn);
		p->arena.len = p->line_start;
		return err;
	}
	err = header_line(p, line, n);
	p->line_start = p->arena.len;
	return err;
}

/* ST_HEAD / ST_TRAILERS: takes bytes up to and including the next LF. */
static int step_lines(struct http1_parser *p, const char *s, size_t n, size_t *used,
		      struct http1_call *call)
{
	const char *lf;
	size_t take;
	int err;

	if (p->st == ST_HEAD && !p->started) {
		/* empty lines before a start line are tolerated (RFC 9112 §2.2) */
		if (s[0] == '\r' || s[0] == '\n') {
			*used = 1;
			return 0;
		}
		p->started = true;
		p->msg.ts_start = call->ts;
	}
	lf = memchr(s, '\n', n);
	take = lf ? (size_t)(lf - s) + 1 : n;
	*used = take;
	p->last_ts = call->ts;
	p->head_bytes += take;
	if (p->head_bytes > HEAD_WORK_FACTOR * p->max_head)
		return -EPROTO;
	if (!p->line_skip) {
		if (p->arena.len + take > p->arena.cap) {
			if (p->st == ST_HEAD && !p->start_done)
				return -EPROTO;
			p->arena.len = p->line_start;
			p->line_skip = true;
			if (p->st == ST_HEAD) {
				p->msg.flags |= HTTP1_F_HEAD_TRUNCATED;
				p->last_line = LL_DROPPED;
			}
		} else {
			err = dynbuf_append(&p->arena, s, take);
			if (err)
				return err;
			if (p->st == ST_HEAD && !p->start_done && !lf) {
				err = start_prefix_check(p, p->arena.buf, p->arena.len);
				if (err)
					return err;
			}
		}
	}
	if (!lf)
		return 0;
	if (p->line_skip) {
		/* too long to be the blank line; its content is lost */
		p->line_skip = false;
		return 0;
	}
	return line_done(p, call);
}

static int step_chunk_size(struct http1_parser *p, const char *s, size_t n, size_t *used)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		int h;

		if (++p->cs_len > CHUNK_LINE_MAX)
			return -EPROTO;
		switch (p->cs) {
		case CS_DIGITS:
			h = hex_value(c);
			if (h >= 0) {
				if (p->chunk_size > (CHUNK_SIZE_MAX >> 4))
					return -EPROTO;
				p->chunk_size = p->chunk_size * 16 + (uint64_t)h;
				if (p->chunk_size > CHUNK_SIZE_MAX)
					return -EPROTO;
				p->cs_digits = true;
				continue;
			}
			if (!p->cs_digits)
				return -EPROTO;
			/* fall through */
		case CS_WS:
			if (is_ows(c))
				p->cs = CS_WS;
			else if (c == ';')
				p->cs = CS_EXT;
			else if (c == '\r')
				p->cs = CS_CR;
			else if (c == '\n')
				goto line_end;
			else
				return -EPROTO;
			continue;
		case CS_EXT:
			/* extensions are ignored, but must be text */
			if (c == '\r')
				p->cs = CS_CR;
			else if (c == '\n')
				goto line_end;
			else if (!is_field_char(c))
				return -EPROTO;
			continue;
		case CS_CR:
			if (c != '\n')
				return -EPROTO;
			goto line_end;
		}
		continue;
line_end:
		*used = i + 1;
		if (p->chunk_size == 0) {
			p->st = ST_TRAILERS;
			p->head_bytes = 0;
			p->line_start = p->arena.len;
			p->line_skip = false;
		} else {
			p->remaining = p->chunk_size;
			p->st = ST_CHUNK_DATA;
		}
		p->cs = CS_DIGITS;
		p->cs_len = 0;
		p->chunk_size = 0;
		p->cs_digits = false;
		return 0;
	}
	*used = n;
	return 0;
}

static int step(struct http1_parser *p, const char *s, size_t n, size_t *used,
		struct http1_call *call)
{
	size_t take;
	int err;

	switch (p->st) {
	case ST_HEAD:
	case ST_TRAILERS:
		return step_lines(p, s, n, used, call);
	case ST_BODY_CL:
	case ST_CHUNK_DATA:
		take = p->remaining < n ? (size_t)p->remaining : n;
		*used = take;
		p->last_ts = call->ts;
		err = body_append(p, s, take);
		if (err)
			return err;
		p->remaining -= take;
		if (p->remaining)
			return 0;
		if (p->st == ST_BODY_CL)
			return complete(p, call);
		p->st = ST_CHUNK_DATA_END;
		p->cd_cr = false;
		return 0;
	case ST_CHUNK_SIZE:
		p->last_ts = call->ts;
		return step_chunk_size(p, s, n, used);
	case ST_CHUNK_DATA_END:
		*used = 1;
		p->last_ts = call->ts;
		if (s[0] == '\r' && !p->cd_cr) {
			p->cd_cr = true;
			return 0;
		}
		if (s[0] != '\n')
			return -EPROTO;
		p->st = ST_CHUNK_SIZE;
		return 0;
	case ST_UNTIL_CLOSE:
		*used = n;
		p->last_ts = call->ts;
		return body_append(p, s, n);
	case ST_TUNNEL:
		*used = n;
		return 0;
	case ST_ERROR:
		break;
	}
	return -EPROTO;
}

static bool in_body(const struct http1_parser *p)
{
	switch (p->st) {
	case ST_BODY_CL:
	case ST_CHUNK_SIZE:
	case ST_CHUNK_DATA:
	case ST_CHUNK_DATA_END:
	case ST_TRAILERS:
	case ST_UNTIL_CLOSE:
		return true;
	default:
		return false;
	}
}

struct http1_parser *http1_parser_new(enum http1_kind kind, const struct http1_limits *lim)
{
	struct http1_parser *p;

	if (kind != HTTP1_REQUEST && kind != HTTP1_RESPONSE)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->kind = kind;
	p->max_head = lim && lim->max_header_bytes ? lim->max_header_bytes :
						     HTTP1_DEFAULT_MAX_HEADER_BYTES;
	if (p->max_head > HEAD_LIMIT_MAX)
		p->max_head = HEAD_LIMIT_MAX;
	p->max_body =
		lim && lim->max_body_bytes ? lim->max_body_bytes : HTTP1_DEFAULT_MAX_BODY_BYTES;
	if (p->max_body > BODY_LIMIT_MAX)
		p->max_body = BODY_LIMIT_MAX;
	dynbuf_init(&p->arena, p->max_head + HEAD_SLACK);
	dynbuf_init(&p->msg.body, p->max_body);
	p->msg.kind = kind;
	p->st = ST_HEAD;
	return p;
}

void http1_parser_free(struct http1_parser *p)
{
	if (!p)
		return;
	msg_clear(p);
	dynbuf_free(&p->msg.body);
	dynbuf_free(&p->arena);
	free(p);
}

int http1_feed(struct http1_parser *p, const void *data, size_t len, uint64_t ts, http1_msg_cb cb,
	       void *ctx)
{
	struct http1_call call = { cb, ctx, ts };
	const char *s = data;
	size_t pos = 0;
	int err = 0;

	if (p->st == ST_ERROR)
		return -EPROTO;
	while (pos < len && p->st != ST_TUNNEL) {
		size_t used = 0;

		err = step(p, s + pos, len - pos, &used, &call);
		if (err)
			goto fail;
		pos += used;
	}
	return 0;
fail:
	/* complete() already failed the parser when the callback refused */
	if (p->st == ST_ERROR)
		return err;
	/* a message whose head was understood is worth delivering as it is */
	if (err == -EPROTO && in_body(p))
		deliver(p, &call, HTTP1_F_INCOMPLETE | HTTP1_F_ERROR);
	parser_fail(p);
	return err;
}

int http1_eof(struct http1_parser *p, uint64_t ts, http1_msg_cb cb, void *ctx)
{
	struct http1_call call = { cb, ctx, ts };
	int rc = 0;

	switch (p->st) {
	case ST_ERROR:
		return 0;
	case ST_HEAD:
		if (p->started)
			rc = deliver(p, &call, HTTP1_F_INCOMPLETE);
		break;
	case ST_UNTIL_CLOSE:
		rc = deliver(p, &call, 0);
		break;
	case ST_TUNNEL:
		break;
	default:
		rc = deliver(p, &call, HTTP1_F_INCOMPLETE);
		break;
	}
	msg_clear(p);
	p->st = ST_HEAD;
	p->fifo_head = p->fifo_n = 0;
	return rc;
}

/* The stream cannot be followed past a gap here: flush and fail. */
static int gap_fail(struct http1_parser *p, struct http1_call *call)
{
	int rc = 0;

	if (p->st != ST_HEAD || p->started)
		rc = deliver(p, call, HTTP1_F_GAP | HTTP1_F_INCOMPLETE);
	parser_fail(p);
	return rc;
}

int http1_gap(struct http1_parser *p, uint64_t n, uint64_t ts, http1_msg_cb cb, void *ctx)
{
	struct http1_call call = { cb, ctx, ts };
	struct http1_msg *m = &p->msg;
	uint64_t k;
	int rc;

	if (!n || p->st == ST_ERROR || p->st == ST_TUNNEL)
		return 0;
	switch (p->st) {
	case ST_BODY_CL:
	case ST_CHUNK_DATA:
		k = n < p->remaining ? n : p->remaining;
		m->body_bytes += k;
		m->flags |= HTTP1_F_GAP;
		p->last_ts = ts;
		p->remaining -= k;
		n -= k;
		if (p->st == ST_CHUNK_DATA) {
			/* past the chunk the gap swallowed framing */
			if (n)
				return gap_fail(p, &call);
			if (!p->remaining) {
				p->st = ST_CHUNK_DATA_END;
				p->cd_cr = false;
			}
			return 0;
		}
		if (p->remaining)
			return 0;
		rc = complete(p, &call);
		if (rc < 0 || !n || p->st == ST_TUNNEL)
			return rc;
		/* the rest of the gap hides where the next message starts */
		parser_fail(p);
		return 0;
	case ST_UNTIL_CLOSE:
		m->body_bytes += n;
		m->flags |= HTTP1_F_GAP;
		p->last_ts = ts;
		return 0;
	default:
		if (p->st != ST_HEAD || p->started)
			p->last_ts = ts;
		return gap_fail(p, &call);
	}
}

void http1_push_request_method(struct http1_parser *p, const char *method)
{
	char *slot;
	size_t n;

	if (!method)
		method = "GET";
	if (p->fifo_n == HTTP1_METHOD_FIFO) {
		p->fifo_head = (p->fifo_head + 1) % HTTP1_METHOD_FIFO;
		p->fifo_n--;
	}
	slot = p->fifo[(p->fifo_head + p->fifo_n) % HTTP1_METHOD_FIFO];
	n = strnlen(method, 15);
	memcpy(slot, method, n);
	slot[n] = '\0';
	p->fifo_n++;
}

void http1_parser_reset(struct http1_parser *p)
{
	msg_clear(p);
	p->st = ST_HEAD;
}

bool http1_parser_failed(const struct http1_parser *p)
{
	return p->st == ST_ERROR;
}

bool http1_parser_tunnel(const struct http1_parser *p)
{
	return p->st == ST_TUNNEL;
}

void http1_parser_enter_tunnel(struct http1_parser *p)
{
	msg_clear(p);
	p->st = ST_TUNNEL;
}

const char *http1_msg_header(const struct http1_msg *msg, const char *name)
{
	for (size_t i = 0; i < msg->n_headers; i++)
		if (msg->headers[i].name && strcasecmp(msg->headers[i].name, name) == 0)
			return msg->headers[i].value;
	return NULL;
}

size_t http1_parser_buffered(const struct http1_parser *p)
{
	return p ? p->arena.alloc + p->msg.body.alloc : 0;
}
