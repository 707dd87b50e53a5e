// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Anthropic Messages API (POST /v1/messages): request, JSON response, the
 * named-event SSE stream and error bodies, normalised to struct llm_exchange.
 *
 * Usage follows OTel: Anthropic's input_tokens excludes cache reads and
 * writes, so the normalised input is the sum of the three.  Stream usage in
 * message_delta is cumulative: the last value wins.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm.h"
#include "proto/sse.h"
#include "util/dynbuf.h"

#define TEXT_CAP (1u << 20)
/* content block indexes beyond this are ignored (bounds state, not work) */
#define MAX_BLOCKS 128

static int worse(int a, int b)
{
	if (a == -ENOMEM || b == -ENOMEM)
		return -ENOMEM;
	return a ? a : b;
}

/* Parses a JSON object; -EBADMSG when it is not one, -ENOMEM. */
static int parse_object(const char *s, size_t n, json_t **out)
{
	json_error_t jerr;
	json_t *v;

	*out = NULL;
	v = json_loadb(s, n, JSON_ALLOW_NUL, &jerr);
	if (!v)
		return json_error_code(&jerr) == json_error_out_of_memory ? -ENOMEM : -EBADMSG;
	if (!json_is_object(v)) {
		json_decref(v);
		return -EBADMSG;
	}
	*out = v;
	return 0;
}

/* Replaces *dst with a copy of obj[key] when that is a string. */
static int dup_key(char **dst, const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	char *p;

	if (!s)
		return 0;
	p = strdup(s);
	if (!p)
		return -ENOMEM;
	free(*dst);
	*dst = p;
	return 0;
}

static int dup_str(char **dst, const char *s)
{
	char *p = strdup(s);

	if (!p)
		return -ENOMEM;
	free(*dst);
	*dst = p;
	return 0;
}

/*
 * The error type when the body named none: the HTTP status for an error
 * status, OTel's "_OTHER" for an error reported inside a 2xx response.
 */
static int status_error(const struct llm_http *h, struct llm_exchange *ex)
{
	char code[16];

	if (ex->error_type)
		return 0;
	if (h->status >= 400) {
		snprintf(code, sizeof(code), "%d", h->status);
		return dup_str(&ex->error_type, code);
	}
	return ex->error_message ? dup_str(&ex->error_type, "_OTHER") : 0;
}

static double num_key(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Appends v (stolen) to arr; a NULL v means an allocation failed. */
static int push(json_t *arr, json_t *v)
{
	if (!v || json_array_append_new(arr, v))
		return -ENOMEM;
	return 0;
}

/* Sets o[k] = v (stolen); a NULL v means an allocation failed. */
static int put(json_t *o, const char *k, json_t *v)
{
	if (!v || json_object_set_new(o, k, v))
		return -ENOMEM;
	return 0;
}

/* Sets o[k] to src[sk] (shared) when it exists. */
static int put_ref(json_t *o, const char *k, const json_t *src, const char *sk)
{
	json_t *v = json_object_get(src, sk);

	return v ? put(o, k, json_incref(v)) : 0;
}

/* Sets o[k] to src[sk] (shared) when it is a string: names and ids only. */
static int put_str(json_t *o, const char *k, const json_t *src, const char *sk)
{
	json_t *v = json_object_get(src, sk);

	return json_is_string(v) ? put(o, k, json_incref(v)) : 0;
}

static json_t *typed(const char *type)
{
	json_t *o = json_object();

	if (o && put(o, "type", json_string(type))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Length of s[0..n) without a trailing partial UTF-8 sequence (a capped
 * buffer can end mid-character, which jansson refuses). */
static size_t utf8_trim(const char *s, size_t n)
{
	size_t i = n, k = 0;

	while (i > 0 && k < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) {
		i--;
		k++;
	}
	if (i > 0 && ((unsigned char)s[i - 1] & 0x80)) {
		unsigned char c = (unsigned char)s[i - 1];
		size_t want = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;

		if (k + 1 != want)
			return i - 1;
	}
	return n;
}

static json_t *text_part_buf(const char *type, const struct dynbuf *b)
{
	const char *s = b->buf ? b->buf : "";
	json_t *content = json_stringn(s, utf8_trim(s, b->len)), *p;

	if (!content)
		return NULL;
	p = typed(type);
	if (put(p, "content", content)) {
		json_decref(p);
		return NULL;
	}
	return p;
}

static json_t *text_part(const char *type, const json_t *str)
{
	json_t *p = typed(type);

	if (put(p, "content", json_incref((json_t *)str))) {
		json_decref(p);
		return NULL;
	}
	return p;
}

/* tool_result content without image/document payloads. */
static json_t *result_content(json_t *content)
{
	json_t *out, *b;
	size_t i;

	if (!json_is_array(content))
		return json_incref(content);
	out = json_array();
	json_array_foreach(content, i, b)
	{
		const char *t = json_string_value(json_object_get(b, "type"));
		json_t *c = t && (!strcmp(t, "image") || !strcmp(t, "document")) ? typed(t) :
										   json_incref(b);

		if (push(out, c)) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static json_t *tool_call_part(const json_t *id, const json_t *name, json_t *args)
{
	json_t *p = typed("tool_call");
	int err = 0;

	if (json_is_string(id))
		err = put(p, "id", json_incref((json_t *)id));
	if (!err && json_is_string(name))
		err = put(p, "name", json_incref((json_t *)name));
	if (!err && args)
		err = put(p, "arguments", json_incref(args));
	if (err) {
		json_decref(p);
		return NULL;
	}
	return p;
}

/* Appends one content block as an OTel part; malformed blocks are skipped. */
static int add_block(json_t *parts, const json_t *b)
{
	const char *t = json_string_value(json_object_get(b, "type"));
	json_t *p, *v;

	if (!t)
		return 0;
	if (!strcmp(t, "text")) {
		v = json_object_get(b, "text");
		return json_is_string(v) ? push(parts, text_part("text", v)) : 0;
	}
	if (!strcmp(t, "thinking")) {
		v = json_object_get(b, "thinking");
		return json_is_string(v) ? push(parts, text_part("reasoning", v)) : 0;
	}
	if (!strcmp(t, "tool_use") || !strcmp(t, "server_tool_use"))
		return push(parts,
			    tool_call_part(json_object_get(b, "id"), json_object_get(b, "name"),
					   json_object_get(b, "input")));
	if (!strcmp(t, "tool_result")) {
		p = typed("tool_call_response");
		if (put_str(p, "id", b, "tool_use_id"))
			goto oom;
		v = json_object_get(b, "content");
		if (v && put(p, "response", result_content(v)))
			goto oom;
		return push(parts, p);
	}
	/* image, document, redacted_thinking, server tool results: kind only,
	 * never the payload */
	return push(parts, typed(t));
oom:
	json_decref(p);
	return -ENOMEM;
}

/* A string or an array of blocks as a new array of parts. */
static int content_parts(const json_t *content, json_t **out)
{
	json_t *parts = json_array(), *b;
	size_t i;
	int err = 0;

	*out = NULL;
	if (!parts)
		return -ENOMEM;
	if (json_is_string(content)) {
		err = push(parts, text_part("text", content));
	} else if (json_is_array(content)) {
		json_array_foreach(content, i, b)
		{
			err = add_block(parts, b);
			if (err)
				break;
		}
	}
	if (err) {
		json_decref(parts);
		return err;
	}
	*out = parts;
	return 0;
}

static int decode_messages(const json_t *msgs, struct llm_exchange *ex)
{
	const json_t *m;
	size_t i;
	int err;

	if (!json_is_array(msgs))
		return 0;
	ex->input_messages = json_array();
	if (!ex->input_messages)
		return -ENOMEM;
	json_array_foreach(msgs, i, m)
	{
		const char *role = json_string_value(json_object_get(m, "role"));
		json_t *parts;

		if (!json_is_object(m))
			continue;
		err = content_parts(json_object_get(m, "content"), &parts);
		if (!err)
			err = push(ex->input_messages, llm_message(role ? role : "user", parts));
		if (err)
			return err;
	}
	return 0;
}

static int decode_tools(const json_t *tools, struct llm_exchange *ex)
{
	const json_t *t;
	size_t i;

	if (!json_is_array(tools))
		return 0;
	ex->tool_definitions = json_array();
	if (!ex->tool_definitions)
		return -ENOMEM;
	json_array_foreach(tools, i, t)
	{
		const char *type = json_string_value(json_object_get(t, "type"));
		json_t *d;

		if (!json_is_object(t))
			continue;
		/* client tools have no type (or "custom"); server tools name theirs */
		d = typed(type && strcmp(type, "custom") ? type : "function");
		if (put_str(d, "name", t, "name") || put_str(d, "description", t, "description") ||
		    put_ref(d, "parameters", t, "input_schema")) {
			json_decref(d);
			return -ENOMEM;
		}
		if (push(ex->tool_definitions, d))
			return -ENOMEM;
	}
	return 0;
}

static int decode_request(const struct llm_http *h, struct llm_exchange *ex)
{
	json_t *req, *sys;
	int err;

	err = parse_object(h->req_body, h->req_len, &req);
	if (err)
		return err;
	err = dup_key(&ex->request_model, req, "model");
	if (llm_int_key(req, "max_tokens") >= 0)
		ex->max_tokens = llm_int_key(req, "max_tokens");
	ex->temperature = num_key(req, "temperature");
	ex->top_p = num_key(req, "top_p");
	if (json_is_true(json_object_get(req, "stream")))
		ex->stream = true;
	sys = json_object_get(req, "system");
	if (!err && (json_is_string(sys) || json_is_array(sys)))
		err = content_parts(sys, &ex->system_instructions);
	if (!err)
		err = decode_messages(json_object_get(req, "messages"), ex);
	if (!err)
		err = decode_tools(json_object_get(req, "tools"), ex);
	json_decref(req);
	return err;
}

/* Raw Anthropic usage, merged as events arrive; -1 = not given. */
struct ausage {
	int64_t input, output, cache_read, cache_creation, thinking;
};

static void usage_merge(struct ausage *u, const json_t *usage)
{
	int64_t v;

	if (!json_is_object(usage))
		return;
	if ((v = llm_int_key(usage, "input_tokens")) >= 0)
		u->input = v;
	if ((v = llm_int_key(usage, "output_tokens")) >= 0)
		u->output = v;
	if ((v = llm_int_key(usage, "cache_read_input_tokens")) >= 0)
		u->cache_read = v;
	if ((v = llm_int_key(usage, "cache_creation_input_tokens")) >= 0)
		u->cache_creation = v;
	v = llm_int_key(json_object_get(usage, "output_tokens_details"), "thinking_tokens");
	if (v >= 0)
		u->thinking = v;
}

static void usage_apply(const struct ausage *u, struct llm_usage *out)
{
	if (u->input >= 0) {
		out->input_tokens = u->input;
		if (u->cache_read > 0)
			out->input_tokens += u->cache_read;
		if (u->cache_creation > 0)
			out->input_tokens += u->cache_creation;
	}
	out->output_tokens = u->output;
	out->cache_read_input_tokens = u->cache_read;
	out->cache_creation_input_tokens = u->cache_creation;
	out->reasoning_output_tokens = u->thinking;
}

/* {"type":"error","error":{"type","message"}} */
static int decode_error(const json_t *body, struct llm_exchange *ex)
{
	const json_t *e = json_object_get(body, "error");
	int err;

	if (!json_is_object(e))
		return 0;
	err = dup_key(&ex->error_type, e, "type");
	if (!err)
		err = dup_key(&ex->error_message, e, "message");
	return err;
}

/* finish_reasons and the output message from parts (stolen) and a stop reason. */
static int set_output(struct llm_exchange *ex, json_t *parts, const char *stop)
{
	json_t *msg;

	if (!parts)
		return -ENOMEM;
	if (stop) {
		ex->finish_reasons = json_array();
		if (push(ex->finish_reasons, json_string(stop))) {
			json_decref(parts);
			return -ENOMEM;
		}
	}
	if (!json_array_size(parts) && !stop) {
		json_decref(parts);
		return 0;
	}
	msg = llm_message("assistant", parts);
	if (!msg)
		return -ENOMEM;
	if (stop && put(msg, "finish_reason", json_string(stop))) {
		json_decref(msg);
		return -ENOMEM;
	}
	ex->output_messages = json_array();
	return push(ex->output_messages, msg);
}

static int decode_response(const struct llm_http *h, struct llm_exchange *ex)
{
	struct ausage u = { -1, -1, -1, -1, -1 };
	json_t *resp, *parts;
	int err;

	err = parse_object(h->resp_body, h->resp_len, &resp);
	if (err)
		return err;
	err = decode_error(resp, ex);
	if (!err)
		err = dup_key(&ex->response_id, resp, "id");
	if (!err)
		err = dup_key(&ex->response_model, resp, "model");
	if (!err && json_is_array(json_object_get(resp, "content"))) {
		err = content_parts(json_object_get(resp, "content"), &parts);
		if (!err)
			err = set_output(ex, parts,
					 json_string_value(json_object_get(resp, "stop_reason")));
	}
	usage_merge(&u, json_object_get(resp, "usage"));
	usage_apply(&u, &ex->usage);
	json_decref(resp);
	return err;
}

enum blk_kind { BLK_NONE = 0, BLK_TEXT, BLK_THINKING, BLK_TOOL, BLK_OTHER };

/* One content block of a stream, assembled from its deltas. */
struct sblock {
	enum blk_kind kind;
	json_t *start; /* the content_block of content_block_start */
	struct dynbuf buf; /* text, thinking or the joined partial_json */
};

struct astream {
	struct sblock blocks[MAX_BLOCKS];
	struct ausage usage;
	char *stop_reason;
	bool complete;
};

static enum blk_kind kind_of(const char *t)
{
	if (!t)
		return BLK_NONE;
	if (!strcmp(t, "text"))
		return BLK_TEXT;
	if (!strcmp(t, "thinking"))
		return BLK_THINKING;
	if (!strcmp(t, "tool_use") || !strcmp(t, "server_tool_use"))
		return BLK_TOOL;
	return BLK_OTHER;
}

static struct sblock *block_at(struct astream *st, const json_t *data)
{
	json_int_t i = json_integer_value(json_object_get(data, "index"));

	if (!json_is_integer(json_object_get(data, "index")) || i < 0 || i >= MAX_BLOCKS)
		return NULL;
	return &st->blocks[i];
}

static void on_block_start(struct astream *st, const json_t *data)
{
	struct sblock *b = block_at(st, data);
	json_t *cb = json_object_get(data, "content_block");

	if (!b || !json_is_object(cb) || b->kind != BLK_NONE)
		return;
	b->kind = kind_of(json_string_value(json_object_get(cb, "type")));
	if (b->kind != BLK_NONE)
		b->start = json_incref(cb);
}

/* Appends a delta; *content says it carried content. */
static int on_block_delta(struct astream *st, const json_t *data, bool *content)
{
	struct sblock *b = block_at(st, data);
	const json_t *d = json_object_get(data, "delta");
	const char *t = json_string_value(json_object_get(d, "type"));
	const char *key;
	enum blk_kind want;
	const json_t *s;
	int err;

	if (!b || !t)
		return 0;
	if (!strcmp(t, "text_delta")) {
		want = BLK_TEXT;
		key = "text";
	} else if (!strcmp(t, "thinking_delta")) {
		want = BLK_THINKING;
		key = "thinking";
	} else if (!strcmp(t, "input_json_delta")) {
		want = BLK_TOOL;
		key = "partial_json";
	} else {
		return 0; /* signature_delta, citations_delta */
	}
	/* a delta whose block start was lost still tells the kind */
	if (b->kind == BLK_NONE)
		b->kind = want;
	s = json_object_get(d, key);
	if (b->kind != want || !json_is_string(s))
		return 0;
	if (!b->buf.cap)
		dynbuf_init(&b->buf, TEXT_CAP);
	err = dynbuf_append(&b->buf, json_string_value(s), json_string_length(s));
	if (err == -ENOMEM)
		return err;
	*content = json_string_length(s) > 0;
	return 0;
}

static int on_event(struct astream *st, const struct sse_event *ev, struct llm_exchange *ex)
{
	const char *name = ev->event;
	json_t *data;
	bool content = false;
	int err;

	err = parse_object(ev->data, ev->data_len, &data);
	if (err)
		return err == -ENOMEM ? err : 0; /* a broken event is skipped */
	if (!name[0])
		name = json_string_value(json_object_get(data, "type"));
	if (!name) {
		err = 0;
	} else if (!strcmp(name, "message_start")) {
		const json_t *m = json_object_get(data, "message");

		err = dup_key(&ex->response_id, m, "id");
		if (!err)
			err = dup_key(&ex->response_model, m, "model");
		usage_merge(&st->usage, json_object_get(m, "usage"));
	} else if (!strcmp(name, "content_block_start")) {
		on_block_start(st, data);
	} else if (!strcmp(name, "content_block_delta")) {
		err = on_block_delta(st, data, &content);
		if (content && ex->first_content_offset < 0)
			ex->first_content_offset = (int64_t)ev->end_off;
	} else if (!strcmp(name, "message_delta")) {
		err = dup_key(&st->stop_reason, json_object_get(data, "delta"), "stop_reason");
		usage_merge(&st->usage, json_object_get(data, "usage"));
	} else if (!strcmp(name, "message_stop")) {
		st->complete = true;
	} else if (!strcmp(name, "error")) {
		err = decode_error(data, ex);
	}
	json_decref(data);
	return err;
}

static json_t *block_part(struct sblock *b)
{
	json_t *args = NULL, *p;
	const char *s = b->buf.buf ? b->buf.buf : "";

	switch (b->kind) {
	case BLK_TEXT:
		return text_part_buf("text", &b->buf);
	case BLK_THINKING:
		return text_part_buf("reasoning", &b->buf);
	case BLK_TOOL:
		/* input is sent as partial_json fragments; if they do not join
		 * into JSON (cut stream) the text is still worth keeping */
		if (b->buf.len) {
			args = json_loadb(s, b->buf.len, JSON_ALLOW_NUL, NULL);
			if (!args)
				args = json_stringn(s, utf8_trim(s, b->buf.len));
			if (!args)
				return NULL;
		} else {
			args = json_incref(json_object_get(b->start, "input"));
		}
		p = tool_call_part(json_object_get(b->start, "id"),
				   json_object_get(b->start, "name"), args);
		json_decref(args);
		return p;
	default:
		return typed(json_string_value(json_object_get(b->start, "type")));
	}
}

static int stream_output(struct astream *st, struct llm_exchange *ex)
{
	json_t *parts = json_array();

	if (!parts)
		return -ENOMEM;
	for (int i = 0; i < MAX_BLOCKS; i++) {
		if (st->blocks[i].kind == BLK_NONE)
			continue;
		if (push(parts, block_part(&st->blocks[i]))) {
			json_decref(parts);
			return -ENOMEM;
		}
	}
	return set_output(ex, parts, st->stop_reason);
}

static int decode_stream(const struct llm_http *h, struct llm_exchange *ex)
{
	struct astream *st = calloc(1, sizeof(*st));
	struct sse_iter it;
	struct sse_event ev;
	int err = 0, r;

	if (!st)
		return -ENOMEM;
	st->usage = (struct ausage){ -1, -1, -1, -1, -1 };
	ex->stream = true;
	sse_iter_init(&it, h->resp_body, h->resp_len, TEXT_CAP);
	while ((r = sse_next(&it, &ev)) == 1) {
		if (ev.truncated)
			continue;
		err = on_event(st, &ev, ex);
		if (err)
			break;
	}
	if (r < 0)
		err = r;
	sse_iter_free(&it);
	if (!err)
		err = stream_output(st, ex);
	usage_apply(&st->usage, &ex->usage);
	if (!st->complete)
		ex->incomplete = true;
	for (int i = 0; i < MAX_BLOCKS; i++) {
		json_decref(st->blocks[i].start);
		dynbuf_free(&st->blocks[i].buf);
	}
	free(st->stop_reason);
	free(st);
	return err;
}

/* Streams are told by content type; without one, by the first field name. */
static bool body_is_sse(const struct llm_http *h)
{
	const char *b = h->resp_body;
	size_t n = h->resp_len;

	if (llm_is_sse(h))
		return true;
	return (n >= 6 && !memcmp(b, "event:", 6)) || (n >= 5 && !memcmp(b, "data:", 5));
}

int anthropic_decode(const struct llm_http *h, struct llm_exchange *ex)
{
	int err, r = 0;

	ex->api_family = "anthropic";
	ex->operation = "chat";
	err = decode_request(h, ex);
	if (h->status == 0 && !h->resp_len)
		return err;
	if (h->resp_len && body_is_sse(h))
		r = decode_stream(h, ex);
	else if (h->resp_len)
		r = decode_response(h, ex);
	/* a proxy's HTML error page or a cut body: status and incomplete tell it */
	if (r == -EBADMSG && (h->status >= 400 || h->resp_incomplete || h->resp_truncated))
		r = 0;
	err = worse(err, r);
	if (h->resp_incomplete || h->resp_truncated)
		ex->incomplete = true;
	err = worse(err, status_error(h, ex));
	return err;
}
