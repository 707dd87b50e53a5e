// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Replays capture events through the user-space pipeline (event checks,
 * connection table, HTTP, decompression-free decoding, LLM decoders,
 * records serialised to JSON) without the kernel, on one core, and prints
 * exchanges/s and MB/s for:
 *   small     1 KiB prompt, ~200-token reply (OpenAI chat, not streamed)
 *   streamed  2,000 SSE chunks (OpenAI chat, stream with usage)
 * then the peak RSS with 10,000 concurrent open streams.
 *   replay [SECONDS [small|streamed|open]]   (default: all three)
 *   replay -n COUNT small|streamed           exactly COUNT exchanges, for
 *                                            instruction counts (bench-check)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "stream/stream.h"
#include "util/clock.h"
#include "util/json_fast.h"

static uint64_t records, record_bytes;
static struct json_fast_buf line;

/* Serialises each record the way the JSONL sink does, without the write. */
static void emit(json_t *rec, void *ctx)
{
	line.len = 0;
	if (json_fast_dump(rec, &line) == 0) {
		record_bytes += line.len;
	} else {
		char *s = json_dumps(rec, JSON_COMPACT);

		record_bytes += s ? strlen(s) : 0;
		free(s);
	}
	records++;
}

static void ignore(const struct conn_key *key, void *ctx)
{
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct lt_data_event data_ev;

/* Sends bytes of one direction as data events of up to LT_CHUNK_MAX. */
static void send(struct stream *s, uint64_t ssl, int dir, uint64_t *off, const char *p, size_t n,
		 uint64_t *ts)
{
	for (size_t done = 0; done < n;) {
		size_t len = n - done < LT_CHUNK_MAX ? n - done : LT_CHUNK_MAX;

		memset(&data_ev, 0, offsetof(struct lt_data_event, payload));
		data_ev.hdr.type = LT_EV_DATA;
		data_ev.hdr.size = offsetof(struct lt_data_event, payload) + len;
		data_ev.hdr.pid = 0x7ffff000u;
		data_ev.hdr.ts_ns = (*ts)++;
		data_ev.ssl = ssl;
		data_ev.conn_gen = 1;
		data_ev.stream_off = *off;
		data_ev.call_len = len;
		data_ev.len = len;
		data_ev.dir = dir;
		memcpy(data_ev.payload, p + done, len);
		stream_on_event(s, &data_ev, data_ev.hdr.size);
		*off += len;
		done += len;
	}
}

static void close_conn(struct stream *s, uint64_t ssl, uint64_t out, uint64_t in, uint64_t ts)
{
	struct lt_conn_close_event e = { 0 };

	e.hdr.type = LT_EV_CONN_CLOSE;
	e.hdr.size = sizeof(e);
	e.hdr.pid = 0x7ffff000u;
	e.hdr.ts_ns = ts;
	e.ssl = ssl;
	e.conn_gen = 1;
	e.bytes[0] = out;
	e.bytes[1] = in;
	stream_on_event(s, &e, sizeof(e));
}

static char *small_request(size_t *len)
{
	static char buf[4096], body[2048];
	size_t n;

	n = (size_t)snprintf(body, sizeof(body),
			     "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\","
			     "\"content\":\"%0*d\"}]}",
			     1000, 0);
	*len = (size_t)snprintf(buf, sizeof(buf),
				"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
				"Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
				n, body);
	return buf;
}

static char *small_response(size_t *len)
{
	static char buf[8192], body[4096];
	size_t n, w = 0;
	char text[2048];

	for (int i = 0; i < 200; i++)
		w += (size_t)snprintf(text + w, sizeof(text) - w, "tok%d ", i % 10);
	n = (size_t)snprintf(
		body, sizeof(body),
		"{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":"
		"\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"message\":"
		"{\"role\":\"assistant\",\"content\":\"%s\"},\"finish_reason\":\"stop\"}],"
		"\"usage\":{\"prompt_tokens\":260,\"completion_tokens\":200}}",
		text);
	*len = (size_t)snprintf(buf, sizeof(buf),
				"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				"Content-Length: %zu\r\n\r\n%s",
				n, body);
	return buf;
}

/* A chunked SSE response of `chunks` deltas, each in its own HTTP chunk. */
static char *sse_response(int chunks, size_t *len)
{
	size_t cap = (size_t)chunks * 256 + 4096, n = 0;
	char *buf = malloc(cap), ev[256];

	n += (size_t)snprintf(buf + n, cap - n,
			      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
			      "Transfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i <= chunks; i++) {
		int m;

		if (i < chunks)
			m = snprintf(
				ev, sizeof(ev),
				"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\","
				"\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":"
				"{\"content\":\"word%d \"}}]}\n\n",
				i % 100);
		else
			m = snprintf(
				ev, sizeof(ev),
				"data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":"
				"10,\"completion_tokens\":%d}}\n\ndata: [DONE]\n\n",
				chunks);
		n += (size_t)snprintf(buf + n, cap - n, "%x\r\n%s\r\n", m, ev);
	}
	n += (size_t)snprintf(buf + n, cap - n, "0\r\n\r\n");
	*len = n;
	return buf;
}

/* Replays exchanges for `seconds`, or exactly `count` of them when count > 0. */
static void run(const char *name, const char *req, size_t req_len, const char *resp,
		size_t resp_len, double seconds, uint64_t count)
{
	struct stream_hooks h = { emit, ignore, NULL };
	struct stream_opts o = { .max_procs = 16 };
	struct stream s;
	uint64_t n = 0, ts = 1, bytes = 0;
	double t0, dt;

	stream_init(&s, &o, &h);
	records = record_bytes = 0;
	t0 = now_s();
	do {
		for (int i = 0; i < 50 && (!count || n < count); i++, n++) {
			uint64_t out = 0, in = 0;

			send(&s, n + 1, LT_DIR_EGRESS, &out, req, req_len, &ts);
			send(&s, n + 1, LT_DIR_INGRESS, &in, resp, resp_len, &ts);
			close_conn(&s, n + 1, out, in, ts++);
			bytes += req_len + resp_len;
		}
		dt = now_s() - t0;
	} while (count ? n < count : dt < seconds);
	stream_destroy(&s);
	if (records != n)
		fprintf(stderr, "replay: %s: %llu records for %llu exchanges\n", name,
			(unsigned long long)records, (unsigned long long)n);
	printf("%-9s %10.0f exchanges/s %8.1f MB/s  (%llu exchanges, %.1f KiB record each)\n", name,
	       n / dt, bytes / dt / 1e6, (unsigned long long)n,
	       records ? record_bytes / 1024.0 / records : 0);
}

static long rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
	uint64_t count = 0;
	double seconds;
	size_t qlen, slen, tlen;
	const char *q = small_request(&qlen), *sm = small_response(&slen);
	char *sse = sse_response(2000, &tlen);
	struct stream_hooks h = { emit, ignore, NULL };
	struct stream_opts o = { .max_procs = 16, .max_conns = 20000 };
	struct stream s;
	uint64_t ts = 1;
	long before;

	const char *only;

	if (argc == 4 && strcmp(argv[1], "-n") == 0) {
		count = strtoull(argv[2], NULL, 10);
		if (!count || strcmp(argv[3], "open") == 0) {
			fprintf(stderr, "usage: replay -n COUNT small|streamed\n");
			return 2;
		}
		seconds = 0;
		only = argv[3];
	} else {
		seconds = argc > 1 ? strtod(argv[1], NULL) : 3;
		only = argc > 2 ? argv[2] : NULL;
	}
	clock_sync();
	if (!only || strcmp(only, "small") == 0)
		run("small", q, qlen, sm, slen, seconds, count);
	if (!only || strcmp(only, "streamed") == 0)
		run("streamed", q, qlen, sse, tlen, seconds, count);
	if (only && strcmp(only, "open") != 0) {
		free(sse);
		return 0;
	}

	/* 10,000 open streams, each with its request and 2 KiB of its response */
	before = rss_kib();
	stream_init(&s, &o, &h);
	for (uint64_t c = 1; c <= 10000; c++) {
		uint64_t out = 0, in = 0;

		send(&s, c, LT_DIR_EGRESS, &out, q, qlen, &ts);
		send(&s, c, LT_DIR_INGRESS, &in, sse, 2048, &ts);
	}
	printf("open      10000 streams: peak RSS %ld MiB (+%ld MiB), %zu KiB buffered\n",
	       rss_kib() / 1024, (rss_kib() - before) / 1024, s.stats.buffered / 1024);
	stream_destroy(&s);
	free(sse);
	return 0;
}
