// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "record.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <sys/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmtap_abi.h"
#include "llm/analyze.h"
#include "process/procinfo.h"
#include "redact/secret_headers.h"
#include "proto/http_exchange.h"
#include "stream/conn_table.h"
#include "util/base64.h"
#include "util/clock.h"

static void set_str(json_t *o, const char *k, const char *v)
{
	if (v && v[0])
		json_object_set_new(o, k, json_string(v));
}

static void set_int(json_t *o, const char *k, long long v)
{
	json_object_set_new(o, k, json_integer(v));
}

static void set_time(json_t *o, const char *k, uint64_t mono_ns)
{
	char buf[40];

	if (!mono_ns)
		return;
	clock_format_rfc3339(clock_mono_to_wall(mono_ns), buf, sizeof(buf));
	json_object_set_new(o, k, json_string(buf));
}

static void set_wall_time(json_t *o, const char *k, uint64_t wall_ns)
{
	char buf[40];

	if (!wall_ns)
		return;
	clock_format_rfc3339(wall_ns, buf, sizeof(buf));
	json_object_set_new(o, k, json_string(buf));
}

/*
 * Who made the exchange and where: OTel process.*, container.* and host.*
 * attributes.  executable.name is the base name of the executable (OTel:
 * of /proc/PID/exe), the kernel's comm when the path is unknown.
 */
static void set_process(json_t *attrs, const struct conn *c, const struct procinfo *proc)
{
	const char *slash = strrchr(proc->exe, '/');
	const char *name = slash && slash[1] ? slash + 1 : proc->exe;

	if (!name[0])
		name = proc->comm[0] ? proc->comm : c->comm;
	set_int(attrs, "process.pid", c->key.pid);
	if (proc->has_ppid)
		set_int(attrs, "process.parent_pid", proc->ppid);
	set_int(attrs, "thread.id", c->tid);
	set_str(attrs, "process.executable.name", name);
	set_str(attrs, "process.executable.path", proc->exe);
	set_str(attrs, "process.command_line", proc->cmdline);
	set_str(attrs, "process.owner", proc->owner);
	if (proc->has_uid)
		set_int(attrs, "process.user.id", proc->uid);
	set_wall_time(attrs, "process.creation.time", proc->start_wall_ns);
	set_str(attrs, "container.id", proc->container.id);
	if (proc->container.id[0])
		set_str(attrs, "container.runtime.name", proc->container.runtime);
	if (proc->host) {
		set_str(attrs, "host.name", proc->host->name);
		set_str(attrs, "host.id", proc->host->id);
	}
}

static void set_addr(json_t *o, const char *k_addr, const char *k_port, uint16_t family,
		     const uint8_t *addr, uint16_t port)
{
	char buf[INET6_ADDRSTRLEN];

	if (family != LT_AF_INET && family != LT_AF_INET6)
		return;
	if (!inet_ntop(family == LT_AF_INET ? AF_INET : AF_INET6, addr, buf, sizeof(buf)))
		return;
	set_str(o, k_addr, buf);
	set_int(o, k_port, port);
}

static void set_headers(json_t *attrs, const char *prefix, const struct http_message *m)
{
	char key[160];

	for (size_t i = 0; i < m->n_headers; i++) {
		const char *name = m->headers[i].name;
		json_t *arr;

		if (secret_header_is(name))
			continue;
		snprintf(key, sizeof(key), "%s%s", prefix, name);
		arr = json_object_get(attrs, key);
		if (!arr) {
			arr = json_array();
			if (!arr || json_object_set_new(attrs, key, arr))
				continue;
		}
		json_array_append_new(arr, json_string(m->headers[i].value));
	}
}

/* Splits "host[:port]" / "[v6]:port" of the Host header. */
static void host_port(const char *host, char *name, size_t name_size, long *port)
{
	const char *colon;
	size_t n;

	*port = -1;
	if (host[0] == '[') {
		const char *end = strchr(host, ']');

		n = end ? (size_t)(end - host - 1) : strlen(host + 1);
		snprintf(name, name_size, "%.*s", (int)n, host + 1);
		colon = end ? strchr(end, ':') : NULL;
	} else {
		colon = strrchr(host, ':');
		n = colon ? (size_t)(colon - host) : strlen(host);
		snprintf(name, name_size, "%.*s", (int)n, host);
	}
	if (colon) {
		char *end;
		long v = strtol(colon + 1, &end, 10);

		if (*end == '\0' && v > 0 && v < 65536)
			*port = v;
	}
}

static void set_server(json_t *attrs, const struct http_exchange *ex, const struct conn *c)
{
	const char *host = http_message_header(&ex->req, "host");
	char name[256] = "";
	long port = -1;

	if (host)
		host_port(host, name, sizeof(name), &port);
	if (!name[0] && c->sni[0])
		snprintf(name, sizeof(name), "%s", c->sni);
	if (port < 0 && c->family)
		port = ex->server_side ? c->local_port : c->peer_port;
	set_str(attrs, "server.address", name);
	if (port > 0)
		set_int(attrs, "server.port", port);
	if (c->sni[0])
		set_str(attrs, "tls.client.server_name", c->sni);
	set_addr(attrs, "network.peer.address", "network.peer.port", c->family, c->peer_addr,
		 c->peer_port);
	set_addr(attrs, "network.local.address", "network.local.port", c->family, c->local_addr,
		 c->local_port);
}

/* Where the bytes came from: which TLS library's hooks, or the socket path. */
static const char *capture_source(const struct conn *c)
{
	if (c->key.ssl & LT_SOCK_KEY_BIT)
		return "socket";
	switch (c->probe) {
	case LT_PROBE_GNUTLS_SEND:
	case LT_PROBE_GNUTLS_RECV:
		return "gnutls";
	case LT_PROBE_GO_WRITE:
	case LT_PROBE_GO_READ:
		return "go_tls";
	default:
		return "openssl";
	}
}

/* A random (version 4) UUID: records are identified without coordination. */
static void record_id(char out[37])
{
	unsigned char b[16];

	if (getrandom(b, sizeof(b), 0) != sizeof(b)) {
		/* getrandom of 16 bytes does not fail once the pool is ready; be safe */
		uint64_t t = clock_mono_now();

		memcpy(b, &t, 8);
		memcpy(b + 8, &t, 8);
	}
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

static void set_seconds(json_t *o, const char *k, uint64_t from, uint64_t to)
{
	if (from && to >= from)
		json_object_set_new(o, k, json_real((double)(to - from) / 1e9));
}

static void set_count(json_t *o, const char *k, int64_t v)
{
	if (v >= 0)
		set_int(o, k, v);
}

static void set_json(json_t *o, const char *k, json_t *v)
{
	if (v)
		json_object_set(o, k, v);
}

/* Tool definitions without content keep their names (and types) only. */
static json_t *tool_names(const json_t *defs)
{
	json_t *out = json_array(), *d;
	size_t i;

	if (!out)
		return NULL;
	json_array_foreach((json_t *)defs, i, d) {
		json_t *name = json_object_get(d, "name");

		if (json_is_string(name))
			json_array_append_new(out, json_pack("{s:O}", "name", name));
	}
	return out;
}

static void set_raw_body(json_t *attrs, const char *key, const char *enc_key, const char *body,
			 size_t len)
{
	json_t *s;

	if (!body || !len)
		return;
	s = json_stringn(body, len);
	if (!s) {
		s = base64_json_string((const unsigned char *)body, len);
		if (!s)
			return;
		json_object_set_new(attrs, enc_key, json_string("base64"));
	}
	json_object_set_new(attrs, key, s);
}

/* The gen_ai.* attributes of a decoded LLM exchange. */
static void set_gen_ai(json_t *attrs, const struct http_exchange *hx, const struct llm_analysis *a,
		       const struct record_opts *o)
{
	const struct llm_exchange *ex = &a->ex;
	const struct http_message *rq = &hx->req, *rs = &hx->resp;
	bool has_resp = !(hx->flags & HTTP_EXCH_F_NO_RESPONSE);

	set_str(attrs, "gen_ai.operation.name", ex->operation ? ex->operation : "unknown");
	set_str(attrs, "gen_ai.provider.name", a->provider);
	set_str(attrs, "llmtap.llm.api", llm_api_name(a->api));
	set_str(attrs, "gen_ai.request.model", ex->request_model);
	set_str(attrs, "gen_ai.response.model", ex->response_model);
	set_str(attrs, "gen_ai.response.id", ex->response_id);
	set_str(attrs, "gen_ai.conversation.id", ex->conversation_id);
	set_json(attrs, "gen_ai.response.finish_reasons", ex->finish_reasons);
	if (a->api != LLM_API_UNKNOWN_JSON)
		json_object_set_new(attrs, "gen_ai.request.stream", json_boolean(ex->stream));
	if (!isnan(ex->temperature))
		json_object_set_new(attrs, "gen_ai.request.temperature",
				    json_real(ex->temperature));
	if (!isnan(ex->top_p))
		json_object_set_new(attrs, "gen_ai.request.top_p", json_real(ex->top_p));
	set_count(attrs, "gen_ai.request.max_tokens", ex->max_tokens);
	set_count(attrs, "gen_ai.usage.input_tokens", ex->usage.input_tokens);
	set_count(attrs, "gen_ai.usage.output_tokens", ex->usage.output_tokens);
	set_count(attrs, "gen_ai.usage.cache_read.input_tokens", ex->usage.cache_read_input_tokens);
	set_count(attrs, "gen_ai.usage.cache_creation.input_tokens",
		  ex->usage.cache_creation_input_tokens);
	set_count(attrs, "gen_ai.usage.reasoning.output_tokens", ex->usage.reasoning_output_tokens);
	set_count(attrs, "gen_ai.embeddings.dimension.count", ex->embedding_dimensions);
	set_str(attrs, "openai.response.system_fingerprint", ex->system_fingerprint);
	if (ex->error_type) {
		set_str(attrs, "error.type", ex->error_type);
		set_str(attrs, "llmtap.error.message", ex->error_message);
	} else if (has_resp && (rs->status < 200 || rs->status >= 300)) {
		char code[16];

		snprintf(code, sizeof(code), "%d", rs->status);
		set_str(attrs, "error.type", code);
	}
	if (ex->incomplete)
		json_object_set_new(attrs, "llmtap.exchange.incomplete", json_true());
	if (a->decode_err && a->decode_err != -ENOMEM)
		json_object_set_new(attrs, "llmtap.llm.decode_error", json_true());
	if (a->has_cost)
		json_object_set_new(attrs, "llmtap.cost.usd", json_real(a->cost_usd));

	/* timing: request end -> first content chunk; request start -> response end */
	if (ex->stream && a->first_chunk_ts)
		set_seconds(attrs, "gen_ai.response.time_to_first_chunk", rq->ts_end,
			    a->first_chunk_ts);
	if (has_resp) {
		set_seconds(attrs, "llmtap.duration_s", rq->ts_start, rs->ts_end);
		if (ex->stream && a->first_chunk_ts && ex->usage.output_tokens > 1 &&
		    rs->ts_end > a->first_chunk_ts)
			json_object_set_new(attrs, "llmtap.time_per_output_token_s",
					    json_real((double)(rs->ts_end - a->first_chunk_ts) /
						      1e9 / (double)(ex->usage.output_tokens - 1)));
	}

	if (ex->extra) {
		const char *k;
		json_t *v;

		json_object_foreach(ex->extra, k, v)
			json_object_set(attrs, k, v);
	}
	if (o->content) {
		set_json(attrs, "gen_ai.system_instructions", ex->system_instructions);
		set_json(attrs, "gen_ai.input.messages", ex->input_messages);
		set_json(attrs, "gen_ai.output.messages", ex->output_messages);
		set_json(attrs, "gen_ai.tool.definitions", ex->tool_definitions);
		/* bodies no decoder could read are kept as they were (capped) */
		if (a->api == LLM_API_UNKNOWN_JSON || a->decode_err) {
			set_raw_body(attrs, "llmtap.http.request.body",
				     "llmtap.http.request.body.encoding", a->req_body, a->req_len);
			set_raw_body(attrs, "llmtap.http.response.body",
				     "llmtap.http.response.body.encoding", a->resp_body,
				     a->resp_len);
		}
	} else if (ex->tool_definitions) {
		json_object_set_new(attrs, "gen_ai.tool.definitions",
				    tool_names(ex->tool_definitions));
	}
}

void record_make_id(char out[37])
{
	record_id(out);
}

json_t *record_build(const struct http_exchange *ex, const struct conn *c,
		     const struct procinfo *proc, const struct llm_analysis *a,
		     const struct record_opts *o)
{
	const struct http_message *rq = &ex->req, *rs = &ex->resp;
	bool has_resp = !(ex->flags & HTTP_EXCH_F_NO_RESPONSE);
	bool llm = a && a->api != LLM_API_NONE;
	json_t *rec = json_object(), *attrs = json_object();
	char ver[8], id[37];
	const char *q;

	if (!rec || !attrs) {
		json_decref(rec);
		json_decref(attrs);
		return NULL;
	}
	record_id(id);
	json_object_set_new(rec, "schema", json_string(RECORD_SCHEMA));
	json_object_set_new(rec, "id", json_string(id));
	set_time(rec, "time", rq->ts_start);
	set_time(rec, "end_time", has_resp ? rs->ts_end : rq->ts_end);
	json_object_set_new(rec, "event.name",
			    json_string(llm ? "gen_ai.client.inference.operation.details" :
					      "llmtap.http.exchange"));
	json_object_set_new(rec, "attributes", attrs);
	/* filled by the rules and redaction stages */
	json_object_set_new(rec, "alerts", json_array());
	json_object_set_new(rec, "redactions", json_object());

	set_process(attrs, c, proc);
	set_str(attrs, "llmtap.capture.role", ex->server_side ? "server" : "client");
	set_str(attrs, "llmtap.capture.source", capture_source(c));
	set_server(attrs, ex, c);
	set_str(attrs, "network.transport", "tcp");
	set_str(attrs, "network.protocol.name", "http");
	if (rq->version_major == 2)
		snprintf(ver, sizeof(ver), "2");
	else
		snprintf(ver, sizeof(ver), "1.%d", rq->version_minor);
	set_str(attrs, "network.protocol.version", ver);

	set_str(attrs, "http.request.method", rq->method);
	if (rq->target) {
		size_t n = strcspn(rq->target, "?#");

		json_object_set_new(attrs, "url.path", json_stringn(rq->target, n));
		q = rq->target[n] == '?' ? rq->target + n + 1 : NULL;
		if (q)
			json_object_set_new(attrs, "url.query", json_stringn(q, strcspn(q, "#")));
	}
	set_headers(attrs, "http.request.header.", rq);
	set_int(attrs, "http.request.body.size", (long long)rq->body_bytes);
	if (rq->flags & HTTP1_F_BODY_TRUNCATED)
		json_object_set_new(attrs, "llmtap.request.body.truncated", json_true());
	if (rq->flags & HTTP1_F_HEAD_TRUNCATED)
		json_object_set_new(attrs, "llmtap.request.headers.truncated", json_true());
	if (has_resp) {
		set_int(attrs, "http.response.status_code", rs->status);
		set_headers(attrs, "http.response.header.", rs);
		set_int(attrs, "http.response.body.size", (long long)rs->body_bytes);
		if (rs->flags & HTTP1_F_BODY_TRUNCATED)
			json_object_set_new(attrs, "llmtap.response.body.truncated", json_true());
		if (rs->flags & HTTP1_F_HEAD_TRUNCATED)
			json_object_set_new(attrs, "llmtap.response.headers.truncated",
					    json_true());
	}
	if (!has_resp || ((rq->flags | rs->flags) & HTTP1_F_INCOMPLETE))
		json_object_set_new(attrs, "llmtap.exchange.incomplete", json_true());
	/* HTTP/2 joined mid-connection: header fields the HPACK state could not name */
	if ((rq->flags | rs->flags) & HTTP_MSG_F_HEADERS_UNKNOWN)
		json_object_set_new(attrs, "llmtap.http.headers_incomplete", json_true());
	if ((rq->flags | rs->flags) & HTTP1_F_GAP)
		set_int(attrs, "llmtap.capture.gap_bytes",
			(long long)(c->gap_bytes[0] + c->gap_bytes[1]));
	set_time(attrs, "llmtap.request.end_time", rq->ts_end);
	if (has_resp)
		set_time(attrs, "llmtap.response.start_time", rs->ts_start);
	if (a && (a->req_decode_failed || a->resp_decode_failed))
		json_object_set_new(attrs, "llmtap.http.content_decoding_failed", json_true());
	if (a && (a->req_decode_truncated || a->resp_decode_truncated))
		json_object_set_new(attrs, "llmtap.http.decoded_body_truncated", json_true());

	if (llm) {
		set_gen_ai(attrs, ex, a, o);
	} else if (o->content) {
		/* not an LLM API (--all-http): the bodies as they were */
		set_raw_body(attrs, "llmtap.http.request.body", "llmtap.http.request.body.encoding",
			     rq->body, rq->body_len);
		if (has_resp)
			set_raw_body(attrs, "llmtap.http.response.body",
				     "llmtap.http.response.body.encoding", rs->body, rs->body_len);
	}
	return rec;
}
