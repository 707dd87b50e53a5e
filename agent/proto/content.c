// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Content-Encoding decoding.  Each coding is a stage; content_decode pushes
 * the input into the first stage (the coding applied last) and every chunk a
 * stage produces is pushed at once into the next one, the last stage
 * appending to the caller's dynbuf.  A cap reached anywhere returns
 * DECODE_STOP up the chain so that no decoder runs past it.
 */
#include "content.h"

#include <brotli/decode.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

/* Output step of every decoder: the granularity at which a cap stops work. */
#define CHUNK_SIZE (64u * 1024)
/* zlib counts input in uInt: larger inputs are fed in pieces of this size. */
#define FEED_MAX (1u << 30)
/*
 * brotli keeps decoded bytes in its ring buffer (up to the 16 MiB window)
 * until it needs more input, and drops them on an error: feeding it small
 * slices bounds what a corrupt byte can take with it.
 */
#define BR_SLICE 1024u
/* RFC 9659 section 3: an HTTP zstd decoder may refuse windows over 8 MiB. */
#define ZSTD_HTTP_WINDOW_LOG 23
/* Returned (positive) up the chain when a cap was reached: not an error. */
#define DECODE_STOP 1

struct stage {
	enum content_coding coding;
	bool started; /* the decoder is initialised */
	bool multi; /* a gzip member: another may follow */
	bool ended; /* the stream, last member or last frame is complete */
	unsigned char probe[2]; /* deflate: the first two bytes pick the format */
	size_t probe_len;
	size_t in_total, out_total;
	union {
		z_stream z;
		BrotliDecoderState *br;
		ZSTD_DCtx *zstd;
	} u;
	unsigned char *buf; /* CHUNK_SIZE bytes of output */
};

struct pipeline {
	struct stage st[CONTENT_MAX_CODINGS];
	size_t n;
	size_t mid_limit; /* bytes one stage may pass to the next */
	struct dynbuf *out;
	bool truncated;
};

static const struct {
	const char *token;
	enum content_coding coding;
} tokens[] = {
	{ "identity", CONTENT_IDENTITY }, { "gzip", CONTENT_GZIP }, { "x-gzip", CONTENT_GZIP },
	{ "deflate", CONTENT_DEFLATE },	  { "br", CONTENT_BR },	    { "zstd", CONTENT_ZSTD },
};

static enum content_coding lookup_token(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++)
		if (strlen(tokens[i].token) == n && strncasecmp(s, tokens[i].token, n) == 0)
			return tokens[i].coding;
	return CONTENT_UNKNOWN;
}

int content_parse_encoding(const char *header, enum content_coding *codings, size_t max)
{
	const char *p = header;
	size_t count = 0;
	bool unknown = false;

	if (!header)
		return 0;
	/* Scan the whole list: an unknown coding anywhere outranks "too many". */
	while (*p) {
		const char *start, *end;
		enum content_coding c;

		while (*p == ' ' || *p == '\t')
			p++;
		start = p;
		while (*p && *p != ',')
			p++;
		end = p;
		if (*p == ',')
			p++;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (end == start)
			continue; /* RFC 9110 5.6.1: empty list elements are ignored */
		c = lookup_token(start, (size_t)(end - start));
		if (c == CONTENT_UNKNOWN)
			unknown = true;
		else if (c == CONTENT_IDENTITY)
			continue;
		else if (count < max && codings)
			codings[count] = c;
		count++;
	}
	if (unknown)
		return -ENOTSUP;
	if (count > max || count > INT_MAX)
		return -E2BIG;
	return (int)count;
}

const char *content_coding_name(enum content_coding c)
{
	switch (c) {
	case CONTENT_IDENTITY:
		return "identity";
	case CONTENT_GZIP:
		return "gzip";
	case CONTENT_DEFLATE:
		return "deflate";
	case CONTENT_BR:
		return "br";
	case CONTENT_ZSTD:
		return "zstd";
	default:
		return "unknown";
	}
}

static int stage_feed(struct pipeline *p, size_t i, const unsigned char *in, size_t len);

/* Hands len bytes produced by stage i to the next stage or to the output. */
static int emit(struct pipeline *p, size_t i, const unsigned char *data, size_t len)
{
	struct stage *s = &p->st[i];
	size_t room;
	bool cut;
	int err;

	if (!len)
		return 0;
	if (i + 1 == p->n) {
		err = dynbuf_append(p->out, data, len);
		if (err == -E2BIG) {
			p->truncated = true;
			return DECODE_STOP;
		}
		return err;
	}
	/* Bounds the work of a nested bomb whose inner layers expand to little. */
	room = p->mid_limit - s->out_total;
	cut = len > room;
	if (cut)
		len = room;
	s->out_total += len;
	err = stage_feed(p, i + 1, data, len);
	if (err)
		return err;
	if (cut) {
		p->truncated = true;
		return DECODE_STOP;
	}
	return 0;
}

static int zlib_start(struct stage *s, int window_bits)
{
	memset(&s->u.z, 0, sizeof(s->u.z));
	if (inflateInit2(&s->u.z, window_bits) != Z_OK)
		return -ENOMEM; /* the only failure once the version matches */
	s->started = true;
	s->multi = window_bits > MAX_WBITS;
	return 0;
}

/* Window bits for an HTTP "deflate" body given its first two bytes. */
static int deflate_window_bits(const unsigned char *b)
{
	/* A raw stream cannot start with 0x1f: block type 3 is reserved. */
	if (b[0] == 0x1f && b[1] == 0x8b)
		return 16 + MAX_WBITS;
	/* RFC 1950: method 8, window at most 32 KiB, header a multiple of 31. */
	if ((b[0] & 0x0f) == 8 && (b[0] >> 4) <= 7 && ((b[0] << 8) | b[1]) % 31 == 0)
		return MAX_WBITS;
	return -MAX_WBITS;
}

static int zlib_feed(struct pipeline *p, size_t i, const unsigned char *in, size_t len)
{
	struct stage *s = &p->st[i];
	z_stream *z = &s->u.z;
	bool full = false;
	int ret, err;

	z->next_in = (Bytef *)in;
	z->avail_in = (uInt)len;
	while (z->avail_in || full) {
		if (s->ended) {
			if (!z->avail_in)
				break;
			if (!s->multi)
				return -EBADMSG; /* data after the end of the stream */
			if (inflateReset(z) != Z_OK)
				return -EBADMSG;
			s->ended = false;
		}
		z->next_out = s->buf;
		z->avail_out = CHUNK_SIZE;
		ret = inflate(z, Z_NO_FLUSH);
		full = z->avail_out == 0;
		/* Output before an error is kept, so emit first. */
		err = emit(p, i, s->buf, CHUNK_SIZE - z->avail_out);
		if (err)
			return err;
		if (ret == Z_STREAM_END)
			s->ended = true;
		else if (ret == Z_BUF_ERROR)
			break; /* no progress possible without more input */
		else if (ret == Z_MEM_ERROR)
			return -ENOMEM;
		else if (ret != Z_OK)
			return -EBADMSG; /* Z_DATA_ERROR, or Z_NEED_DICT: no dictionary */
	}
	return 0;
}

static int deflate_feed(struct pipeline *p, size_t i, const unsigned char *in, size_t len)
{
	struct stage *s = &p->st[i];
	size_t take;
	int err;

	if (!s->started) {
		take = sizeof(s->probe) - s->probe_len;
		take = take < len ? take : len;
		memcpy(s->probe + s->probe_len, in, take);
		s->probe_len += take;
		in += take;
		len -= take;
		if (s->probe_len < sizeof(s->probe))
			return 0;
		err = zlib_start(s, deflate_window_bits(s->probe));
		if (!err)
			err = zlib_feed(p, i, s->probe, sizeof(s->probe));
		if (err)
			return err;
	}
	return len ? zlib_feed(p, i, in, len) : 0;
}

static int br_error(BrotliDecoderState *br)
{
	BrotliDecoderErrorCode code = BrotliDecoderGetErrorCode(br);

	if (code <= BROTLI_DECODER_ERROR_ALLOC_CONTEXT_MODES &&
	    code >= BROTLI_DECODER_ERROR_ALLOC_BLOCK_TYPE_TREES)
		return -ENOMEM;
	return -EBADMSG;
}

static int br_feed(struct pipeline *p, size_t i, const unsigned char *in, size_t len)
{
	struct stage *s = &p->st[i];
	const uint8_t *next_in = in;
	size_t avail_in = len, avail_out;
	BrotliDecoderResult r;
	uint8_t *next_out;
	int err;

	for (;;) {
		if (s->ended)
			return avail_in ? -EBADMSG : 0; /* data after the end */
		next_out = s->buf;
		avail_out = CHUNK_SIZE;
		r = BrotliDecoderDecompressStream(s->u.br, &avail_in, &next_in, &avail_out,
						  &next_out, NULL);
		err = emit(p, i, s->buf, CHUNK_SIZE - avail_out);
		if (err)
			return err;
		switch (r) {
		case BROTLI_DECODER_RESULT_SUCCESS:
			s->ended = true;
			break;
		case BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT:
			break;
		case BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT:
			return 0;
		default:
			return br_error(s->u.br);
		}
	}
}

static int zstd_feed(struct pipeline *p, size_t i, const unsigned char *in, size_t len)
{
	struct stage *s = &p->st[i];
	ZSTD_inBuffer ib = { in, len, 0 };
	ZSTD_outBuffer ob;
	bool full = false;
	size_t ret;
	int err;

	while (ib.pos < ib.size || full) {
		ob.dst = s->buf;
		ob.size = CHUNK_SIZE;
		ob.pos = 0;
		ret = ZSTD_decompressStream(s->u.zstd, &ob, &ib);
		full = ob.pos == ob.size;
		err = emit(p, i, s->buf, ob.pos);
		if (err)
			return err;
		if (ZSTD_isError(ret))
			return ZSTD_getErrorCode(ret) == ZSTD_error_memory_allocation ? -ENOMEM :
											-EBADMSG;
		/* 0: a frame ended and is flushed; a next call would ask for a new one. */
		s->ended = ret == 0;
		if (s->ended && ib.pos == ib.size)
			break;
	}
	return 0;
}

/* Pushes len bytes into stage i; 0, DECODE_STOP or a negative errno. */
static int stage_feed(struct pipeline *p, size_t i, const unsigned char *in, size_t len)
{
	struct stage *s = &p->st[i];
	int err = 0;

	while (len && !err) {
		size_t max = s->coding == CONTENT_BR ? BR_SLICE : FEED_MAX;
		size_t n = len < max ? len : max;

		s->in_total += n;
		switch (s->coding) {
		case CONTENT_GZIP:
			err = zlib_feed(p, i, in, n);
			break;
		case CONTENT_DEFLATE:
			err = deflate_feed(p, i, in, n);
			break;
		case CONTENT_BR:
			err = br_feed(p, i, in, n);
			break;
		case CONTENT_ZSTD:
			err = zstd_feed(p, i, in, n);
			break;
		default:
			err = -ENOTSUP;
			break;
		}
		in += n;
		len -= n;
	}
	return err;
}

static int stage_init(struct stage *s, enum content_coding c)
{
	s->coding = c;
	s->buf = malloc(CHUNK_SIZE);
	if (!s->buf)
		return -ENOMEM;
	switch (c) {
	case CONTENT_GZIP:
		return zlib_start(s, 16 + MAX_WBITS);
	case CONTENT_DEFLATE:
		return 0; /* started by deflate_feed once the format is known */
	case CONTENT_BR:
		s->u.br = BrotliDecoderCreateInstance(NULL, NULL, NULL);
		if (!s->u.br)
			return -ENOMEM;
		s->started = true;
		return 0;
	case CONTENT_ZSTD:
		s->u.zstd = ZSTD_createDCtx();
		if (!s->u.zstd)
			return -ENOMEM;
		s->started = true;
		if (ZSTD_isError(ZSTD_DCtx_setParameter(s->u.zstd, ZSTD_d_windowLogMax,
							ZSTD_HTTP_WINDOW_LOG)))
			return -ENOMEM;
		return 0;
	default:
		return -ENOTSUP;
	}
}

static void stage_free(struct stage *s)
{
	if (s->started) {
		switch (s->coding) {
		case CONTENT_GZIP:
		case CONTENT_DEFLATE:
			inflateEnd(&s->u.z);
			break;
		case CONTENT_BR:
			BrotliDecoderDestroyInstance(s->u.br);
			break;
		case CONTENT_ZSTD:
			ZSTD_freeDCtx(s->u.zstd);
			break;
		default:
			break;
		}
	}
	free(s->buf);
}

int content_decode(const enum content_coding *codings, size_t n, const void *in, size_t in_len,
		   struct dynbuf *out, bool *truncated, bool *incomplete)
{
	struct pipeline *p;
	bool cut = false;
	int err = 0;

	if (truncated)
		*truncated = false;
	if (incomplete)
		*incomplete = false;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	/* Stage 0 undoes the coding applied last. */
	for (size_t k = n; k-- > 0;) {
		if (codings[k] == CONTENT_IDENTITY)
			continue;
		if ((unsigned int)codings[k] >= CONTENT_UNKNOWN || p->n == CONTENT_MAX_CODINGS) {
			err = -ENOTSUP;
			goto cleanup;
		}
		p->st[p->n++].coding = codings[k];
	}
	if (!p->n) {
		err = dynbuf_append(out, in, in_len);
		if (err == -E2BIG) {
			p->truncated = true;
			err = 0;
		}
		goto cleanup;
	}
	for (size_t k = 0; k < p->n; k++) {
		err = stage_init(&p->st[k], p->st[k].coding);
		if (err)
			goto cleanup;
	}
	p->out = out;
	p->mid_limit =
		out->cap > (SIZE_MAX - CHUNK_SIZE) / 2 ? SIZE_MAX : 2 * out->cap + CHUNK_SIZE;
	err = stage_feed(p, 0, in, in_len);
	if (err == DECODE_STOP) {
		err = 0;
		goto cleanup;
	}
	if (err)
		goto cleanup;
	/* Every byte went through every stage: a stage fed something that did not
	 * reach the end of its stream was cut off. */
	for (size_t k = 0; k < p->n; k++)
		if (p->st[k].in_total && !p->st[k].ended)
			cut = true;
	if (incomplete)
		*incomplete = cut;
cleanup:
	if (truncated)
		*truncated = p->truncated;
	for (size_t k = 0; k < p->n; k++)
		stage_free(&p->st[k]);
	free(p);
	return err;
}
