// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "stream.h"

#include <errno.h>
#include <string.h>

#include "audit/record.h"
#include "proto/http_exchange.h"
#include "stream/event.h"
#include "util/clock.h"

static void on_exchange(const struct http_exchange *ex, struct conn *c, void *ctx)
{
	struct stream *s = ctx;
	const struct procinfo *p = proc_cache_get(&s->procs, c->key.pid, c->comm);
	const char *host = http_message_header(&ex->req, "host");
	struct llm_analysis a;
	struct rules_verdict verdict = { 0 };
	json_t *rec;

	if (!host && c->sni[0])
		host = c->sni;
	if (llm_analyze(ex, host, &s->analyze, &a) != 0) {
		llm_analysis_free(&a);
		return;
	}
	rec = record_build(ex, c, p, &a, &s->record);
	if (a.api != LLM_API_NONE) {
		s->stats.llm_records++;
		if (a.decode_err)
			s->stats.llm_decode_errors++;
	}
	if (a.req_decode_failed || a.resp_decode_failed)
		s->stats.content_decode_failures++;
	if (a.req_decode_truncated || a.resp_decode_truncated)
		s->stats.decoded_body_truncated++;
	llm_analysis_free(&a);
	if (!rec)
		return;
	/* rules see the record unredacted; redaction then covers the alerts
	 * too (verdict: what the rules that fired ask of it) */
	if (s->rules)
		rules_eval(s->rules, rec, &s->rules_stats, &verdict);
	/* nothing leaves unredacted: not emitted, not held for a join */
	if (s->redactor) {
		struct redact_policy pol;
		bool ovr = s->rules && rules_verdict_policy(&verdict, &pol);

		/* the strings the rules scanned are not scanned again */
		if (redact_record_memo(s->redactor, rec, ovr ? &pol : NULL,
				       s->rules ? rules_detect_memo(s->rules) : NULL) != 0) {
			s->stats.redaction_errors++;
			json_decref(rec);
			return;
		}
	}
	s->stats.records++;
	if ((ex->flags & HTTP_EXCH_F_NO_RESPONSE) ||
	    ((ex->req.flags | ex->resp.flags) & HTTP1_F_INCOMPLETE))
		s->stats.incomplete_records++;
	if (join_wanted(c)) {
		join_offer(&s->join, rec, c, ex->server_side, clock_mono_now());
		return;
	}
	if (s->hooks.emit)
		s->hooks.emit(rec, s->hooks.ctx);
	json_decref(rec);
}

static void emit_joined(json_t *rec, void *ctx)
{
	struct stream *s = ctx;

	if (s->hooks.emit)
		s->hooks.emit(rec, s->hooks.ctx);
}

static bool on_classify(const struct http_message *req, const struct conn *c, void *ctx)
{
	struct stream *s = ctx;
	const char *host = http_message_header(req, "host");

	if (!host && c->sni[0])
		host = c->sni;
	return classify_is_llm(&s->classifier, req->method, req->target, host);
}

static const struct http_hooks *hooks_of(struct stream *s)
{
	static __thread struct http_hooks h;

	h.on_exchange = on_exchange;
	h.classify = on_classify;
	h.ctx = s;
	return &h;
}

/* Frees the protocol state of a connection, keeping its counters. */
static void proto_free(struct stream *s, struct conn *c)
{
	const struct http_conn_stats *hs;

	if (!c->proto)
		return;
	hs = http_conn_get_stats(c->proto);
	s->stats.orphan_responses += hs->orphan_responses;
	s->stats.pending_dropped += hs->pending_dropped;
	http_conn_free(c->proto);
	c->proto = NULL;
}

/* Stops all work on a connection: no parsing here, no copying in the kernel. */
static void conn_ignore(struct stream *s, struct conn *c, int why)
{
	if (c->ignored)
		return;
	c->ignored = true;
	if (why == -EPROTO)
		s->stats.not_http++;
	else
		s->stats.ignored_conns++;
	proto_free(s, c);
	if (s->hooks.ignore)
		s->hooks.ignore(&c->key, s->hooks.ctx);
}

/* Keeps the total of heap bytes held by connections current. */
static void account(struct stream *s, struct conn *c)
{
	size_t now = http_conn_buffered(c->proto);

	s->stats.buffered = s->stats.buffered - c->buffered + now;
	c->buffered = now;
	if (s->stats.buffered > s->stats.buffered_peak)
		s->stats.buffered_peak = s->stats.buffered;
}

static void on_release(struct conn *c, enum conn_release why, void *ctx)
{
	struct stream *s = ctx;

	if (c->proto && !c->ignored)
		http_conn_eof(c->proto, c, c->last_ns, hooks_of(s));
	proto_free(s, c);
	account(s, c);
}

/*
 * Over the memory budget, the least recently used connections are ended
 * (what they hold becomes incomplete records) until the total fits.
 */
static void enforce_budget(struct stream *s)
{
	while (s->stats.buffered > s->max_buffered && s->conns.lru_tail) {
		s->stats.evicted_for_memory++;
		conn_table_release(&s->conns, s->conns.lru_tail, CONN_RELEASE_EVICT);
	}
}

int stream_init(struct stream *s, const struct stream_opts *o, const struct stream_hooks *h)
{
	int err;

	memset(s, 0, sizeof(*s));
	s->hooks = *h;
	s->max_buffered = o->max_buffered_bytes ? o->max_buffered_bytes : (size_t)256 << 20;
	s->analyze.prices = o->prices;
	/* a decompressed body may be larger than the captured one, within reason */
	s->analyze.max_decoded = 4 * (o->max_body_bytes ? o->max_body_bytes : LT_CALL_CAP_DEFAULT);
	s->record.content = !o->no_content;
	s->rules = o->rules;
	s->redactor = o->redactor;
	s->limits.max_header_bytes = 64 * 1024;
	s->limits.max_body_bytes = o->max_body_bytes ? o->max_body_bytes : LT_CALL_CAP_DEFAULT;
	if (o->classifier)
		s->classifier = *o->classifier;
	else
		classifier_default(&s->classifier);
	join_init(&s->join, 4096, o->join_wait_ns ? o->join_wait_ns : 1000000000ull, emit_joined,
		  s);
	err = conn_table_init(&s->conns, o->max_conns ? o->max_conns : 16384, on_release, s);
	if (err)
		return err;
	err = proc_cache_init(&s->procs, o->max_procs ? o->max_procs : 4096);
	if (err)
		conn_table_destroy(&s->conns);
	return err;
}

void stream_destroy(struct stream *s)
{
	conn_table_destroy(&s->conns);
	/* after the connections: ending them may complete views */
	join_destroy(&s->join);
	proc_cache_destroy(&s->procs);
}

static void feed(struct stream *s, struct conn *c, int dir, const uint8_t *p, size_t n, uint64_t ts)
{
	int err;

	if (c->ignored)
		return;
	if (!c->proto) {
		c->proto = http_conn_new(&s->limits);
		if (!c->proto)
			return;
	}
	err = http_conn_feed(c->proto, c, dir, p, n, ts, hooks_of(s));
	if (err == -EPROTO || err == -ECANCELED)
		conn_ignore(s, c, err);
	account(s, c);
}

static void gap(struct stream *s, struct conn *c, int dir, uint64_t n, uint64_t ts)
{
	int err;

	s->stats.gaps++;
	s->stats.gap_bytes += n;
	c->gap_bytes[dir] += n;
	if (c->ignored || !c->proto)
		return;
	err = http_conn_gap(c->proto, c, dir, n, ts, hooks_of(s));
	if (err == -EPROTO || err == -ECANCELED)
		conn_ignore(s, c, err);
	account(s, c);
}

static void on_data(struct stream *s, const struct lt_data_event *d)
{
	struct conn_key key = { .pid = d->hdr.pid, .ssl = d->ssl, .gen = d->conn_gen };
	struct conn *c = conn_table_get(&s->conns, &key, d->hdr.ts_ns, true);
	const uint8_t *p = d->payload;
	uint64_t off = d->stream_off;
	size_t n = d->len;
	int dir = d->dir;

	if (!c)
		return;
	if (!c->comm[0]) {
		memcpy(c->comm, d->hdr.comm, sizeof(c->comm) - 1);
		c->tid = d->hdr.tid;
		c->probe = d->probe;
		/* a process the agent saw no exec of is read from /proc now, at its
		 * first bytes, not at its first record: it may have exited by then */
		proc_cache_get(&s->procs, d->hdr.pid, c->comm);
	}
	if (c->fd < 0)
		c->fd = d->fd;
	s->stats.data_bytes += n;
	if (off > c->next_off[dir]) {
		gap(s, c, dir, off - c->next_off[dir], d->hdr.ts_ns);
		c->next_off[dir] = off;
	} else if (off < c->next_off[dir]) {
		uint64_t dup = c->next_off[dir] - off;

		/* already seen: skip what overlaps */
		if (dup >= n) {
			s->stats.overlaps += n;
			return;
		}
		s->stats.overlaps += dup;
		p += dup;
		n -= (size_t)dup;
	}
	c->next_off[dir] += n;
	feed(s, c, dir, p, n, d->hdr.ts_ns);
	/*
	 * The kernel copied only the head of a call longer than its cap: the
	 * rest is a gap now, not when the next event of this direction comes
	 * (there may be none before the response, which would then find its
	 * request unfinished).
	 */
	if ((d->hdr.flags & LT_DATA_F_LAST_CHUNK) &&
	    (uint64_t)d->chunk_off + d->len < d->call_len) {
		uint64_t rest = d->call_len - d->chunk_off - d->len;

		gap(s, c, dir, rest, d->hdr.ts_ns);
		c->next_off[dir] += rest;
	}
}

static void on_info(struct stream *s, const struct lt_conn_info_event *e)
{
	struct conn_key key = { .pid = e->hdr.pid, .ssl = e->ssl, .gen = e->conn_gen };
	struct conn *c = conn_table_get(&s->conns, &key, e->hdr.ts_ns, true);

	if (!c)
		return;
	if (e->what == LT_INFO_SNI) {
		snprintf(c->sni, sizeof(c->sni), "%s", e->sni);
		return;
	}
	c->fd = e->fd;
	if (e->family == LT_AF_INET || e->family == LT_AF_INET6) {
		c->family = e->family;
		memcpy(c->local_addr, e->local_addr, sizeof(c->local_addr));
		memcpy(c->peer_addr, e->peer_addr, sizeof(c->peer_addr));
		c->local_port = e->local_port;
		c->peer_port = e->peer_port;
	}
}

static void on_close(struct stream *s, const struct lt_conn_close_event *e)
{
	struct conn_key key = { .pid = e->hdr.pid, .ssl = e->ssl, .gen = e->conn_gen };
	struct conn *c = conn_table_get(&s->conns, &key, e->hdr.ts_ns, false);

	if (!c)
		return;
	/* bytes the kernel counted but never delivered at the end of a stream */
	for (int dir = 0; dir < 2; dir++)
		if (e->bytes[dir] > c->next_off[dir]) {
			gap(s, c, dir, e->bytes[dir] - c->next_off[dir], e->hdr.ts_ns);
			c->next_off[dir] = e->bytes[dir];
		}
	c->last_ns = e->hdr.ts_ns;
	conn_table_release(&s->conns, c, CONN_RELEASE_CLOSE);
}

int stream_on_event(struct stream *s, const void *data, size_t size)
{
	struct event_view v;

	s->stats.events++;
	if (event_decode(data, size, &v) != 0) {
		s->stats.bad_events++;
		return 0;
	}
	switch (v.hdr->type) {
	case LT_EV_DATA:
		on_data(s, v.data);
		enforce_budget(s);
		break;
	case LT_EV_CONN_INFO:
		on_info(s, v.info);
		break;
	case LT_EV_CONN_CLOSE:
		on_close(s, v.close);
		break;
	case LT_EV_EXEC:
		proc_cache_exec(&s->procs, v.file);
		break;
	case LT_EV_PROC_EXIT:
		conn_table_release_pid(&s->conns, v.hdr->pid, CONN_RELEASE_EXIT);
		proc_cache_forget(&s->procs, v.hdr->pid);
		break;
	default:
		break;
	}
	return 0;
}

void stream_tick(struct stream *s, uint64_t now_ns, uint64_t idle_ns)
{
	conn_table_expire(&s->conns, now_ns, idle_ns);
}

void stream_expire_joins(struct stream *s, uint64_t now_ns)
{
	join_expire(&s->join, now_ns);
}
