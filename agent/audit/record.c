// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "record.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmtap_abi.h"
#include "process/procinfo.h"
#include "redact/secret_headers.h"
#include "proto/http_exchange.h"
#include "stream/conn_table.h"
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

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static json_t *base64_string(const unsigned char *p, size_t n)
{
	size_t out_len = 4 * ((n + 2) / 3);
	char *out = malloc(out_len + 1), *o = out;
	json_t *j;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		*o++ = b64[(v >> 18) & 63];
		*o++ = b64[(v >> 12) & 63];
		*o++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? b64[v & 63] : '=';
	}
	*o = '\0';
	j = json_stringn(out, out_len);
	free(out);
	return j;
}

/* The body as a JSON string; bytes that are not UTF-8 go base64 (and say so). */
static void set_body(json_t *rec, json_t *attrs, const char *key, const char *enc_key,
		     const struct http_message *m)
{
	json_t *s;

	if (!m->body || !m->body_len)
		return;
	s = json_stringn(m->body, m->body_len);
	if (!s) {
		s = base64_string((const unsigned char *)m->body, m->body_len);
		if (!s)
			return;
		json_object_set_new(attrs, enc_key, json_string("base64"));
	}
	json_object_set_new(rec, key, s);
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

json_t *record_build_exchange(const struct http_exchange *ex, const struct conn *c,
			      const struct procinfo *proc)
{
	const struct http_message *rq = &ex->req, *rs = &ex->resp;
	bool has_resp = !(ex->flags & HTTP_EXCH_F_NO_RESPONSE);
	json_t *rec = json_object(), *attrs = json_object(), *timing = json_object();
	const char *q;
	char ver[8];

	if (!rec || !attrs || !timing) {
		json_decref(rec);
		json_decref(attrs);
		json_decref(timing);
		return NULL;
	}
	json_object_set_new(rec, "type", json_string("http.exchange"));
	set_time(rec, "time", rq->ts_start);
	json_object_set_new(rec, "attributes", attrs);
	json_object_set_new(rec, "timing", timing);

	set_int(attrs, "process.pid", c->key.pid);
	set_int(attrs, "thread.id", c->tid);
	set_str(attrs, "process.executable.name", proc->comm[0] ? proc->comm : c->comm);
	set_str(attrs, "process.executable.path", proc->exe);
	set_str(attrs, "process.command_line", proc->cmdline);
	set_str(attrs, "process.owner", proc->owner);
	if (proc->has_uid)
		set_int(attrs, "process.user.id", proc->uid);
	set_str(attrs, "llmtap.capture.role", ex->server_side ? "server" : "client");
	set_str(attrs, "llmtap.capture.source", "openssl");
	set_server(attrs, ex, c);
	set_str(attrs, "network.transport", "tcp");
	set_str(attrs, "network.protocol.name", "http");
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
	if ((rq->flags | rs->flags) & HTTP1_F_GAP)
		set_int(attrs, "llmtap.capture.gap_bytes",
			(long long)(c->gap_bytes[0] + c->gap_bytes[1]));

	set_time(timing, "request_start", rq->ts_start);
	set_time(timing, "request_end", rq->ts_end);
	if (has_resp) {
		set_time(timing, "response_start", rs->ts_start);
		set_time(timing, "response_end", rs->ts_end);
		if (rs->ts_end >= rq->ts_start)
			json_object_set_new(timing, "duration_ms",
					    json_real((double)(rs->ts_end - rq->ts_start) / 1e6));
		if (rs->ts_start >= rq->ts_end)
			json_object_set_new(timing, "time_to_first_byte_ms",
					    json_real((double)(rs->ts_start - rq->ts_end) / 1e6));
	}
	set_body(rec, attrs, "http.request.body", "llmtap.request.body.encoding", rq);
	if (has_resp)
		set_body(rec, attrs, "http.response.body", "llmtap.response.body.encoding", rs);
	return rec;
}
