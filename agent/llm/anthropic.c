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
#include <stdlib.h>
#include <string.h>

#include "json_util.h"
#include "llm.h"
#include "proto/sse.h"
#include "util/dynbuf.h"

#define TEXT_CAP (1u << 20)
/* content block indexes beyond this are ignored (bounds state, not work) */
#define MAX_BLOCKS 128

/* tool_result content without image/document payloads. */
static json_t *result_content(json_t *content)
{
	json_t *out, *b;
	size_t i;

	if (!json_is_array(content))
		return json_incref(content);
	out = json_array();
	json_array_foreach(content, i, b) {
		const char *t = json_string_value(json_object_get(b, "type"));
		json_t *c = t && (!strcmp(t, "image") || !strcmp(t, "document")) ? lj_typed(t) :
										   json_incref(b);

		if (lj_push(out, c)) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

/* Appends one content block as an OTel part; malformed blocks are skipped. */
static int add_block(json_t *parts, const json_t *b)
{
	const char *t = json_string_value(json_object_get(b, "type"));
	json_t *p, *v, *r;

	if (!t)
		return 0;
	if (!strcmp(t, "text")) {
		v = json_object_get(b, "text");
		return json_is_string(v) ? lj_push(parts, lj_str_part("text", v)) : 0;
	}
	if (!strcmp(t, "thinking")) {
		v = json_object_get(b, "thinking");
		return json_is_string(v) ? lj_push(parts, lj_str_part("reasoning", v)) : 0;
	}
	if (!strcmp(t, "tool_use") || !strcmp(t, "server_tool_use"))
		return lj_push(parts, lj_tool_call_part(json_object_get(b, "id"),
							json_object_get(b, "name"),
							json_object_get(b, "input")));
	if (!strcmp(t, "tool_result")) {
		v = json_object_get(b, "content");
		r = v ? result_content(v) : NULL;
		if (v && !r)
			return -ENOMEM;
		p = lj_tool_response_part(json_object_get(b, "tool_use_id"), r);
		json_decref(r);
		return lj_push(parts, p);
	}
	/* image, document, redacted_thinking, server tool results: kind only,
	 * never the payload */
	return lj_push(parts, lj_typed(t));
}

/* Appends the parts of content, a string or an array of blocks. */
static int add_content(json_t *parts, const json_t *content)
{
	const json_t *b;
	size_t i;
	int err;

	if (json_is_string(content))
		return lj_push(parts, lj_str_part("text", content));
	json_array_foreach(content, i, b) {
		err = add_block(parts, b);
		if (err)
			return err;
	}
	return 0;
}

/* A string or an array of blocks as a new array of parts. */
static int content_parts(const json_t *content, json_t **out)
{
	return lj_build_array(out, add_content, content);
}

/* Appends one messages[] entry to msgs. */
static int add_message(const json_t *m, json_t *msgs)
{
	const char *role = json_string_value(json_object_get(m, "role"));
	json_t *parts;
	int err;

	err = content_parts(json_object_get(m, "content"), &parts);
	if (!err)
		err = lj_push(msgs, llm_message(role ? role : "user", parts));
	return err;
}

/* Appends one tools[] entry to defs. */
static int add_tool(const json_t *t, json_t *defs)
{
	const char *type = json_string_value(json_object_get(t, "type"));

	/* client tools have no type (or "custom"); server tools name theirs */
	return lj_push(defs,
		       lj_tool_def(type && strcmp(type, "custom") ? type : "function",
				   json_object_get(t, "name"), json_object_get(t, "description"),
				   json_object_get(t, "input_schema")));
}

static int decode_request(const struct llm_http *h, struct llm_exchange *ex)
{
	json_t *req, *sys;
	int err;

	err = lj_parse_object(h->req_body, h->req_len, &req);
	if (err)
		return err;
	err = lj_dup_key(&ex->request_model, req, "model");
	lj_request_params(ex, req, "max_tokens");
	if (json_is_true(json_object_get(req, "stream")))
		ex->stream = true;
	sys = json_object_get(req, "system");
	if (!err && (json_is_string(sys) || json_is_array(sys)))
		err = content_parts(sys, &ex->system_instructions);
	if (!err)
		err = lj_each_object(json_object_get(req, "messages"), &ex->input_messages,
				     add_message);
	if (!err)
		err = lj_each_object(json_object_get(req, "tools"), &ex->tool_definitions,
				     add_tool);
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
	err = lj_dup_key(&ex->error_type, e, "type");
	if (!err)
		err = lj_dup_key(&ex->error_message, e, "message");
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
		if (lj_push(ex->finish_reasons, json_string(stop))) {
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
	if (stop && lj_put(msg, "finish_reason", json_string(stop))) {
		json_decref(msg);
		return -ENOMEM;
	}
	ex->output_messages = json_array();
	return lj_push(ex->output_messages, msg);
}

static int decode_response(const struct llm_http *h, struct llm_exchange *ex)
{
	struct ausage u = { -1, -1, -1, -1, -1 };
	json_t *resp, *parts;
	int err;

	err = lj_parse_object(h->resp_body, h->resp_len, &resp);
	if (err)
		return err;
	err = decode_error(resp, ex);
	if (!err)
		err = lj_dup_key(&ex->response_id, resp, "id");
	if (!err)
		err = lj_dup_key(&ex->response_model, resp, "model");
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

static int on_event(void *arg, const struct sse_event *ev, struct llm_exchange *ex)
{
	struct astream *st = arg;
	const char *name = ev->event;
	json_t *data;
	bool content = false;
	int err;

	err = lj_parse_object(ev->data, ev->data_len, &data);
	if (err)
		return err == -ENOMEM ? err : 0; /* a broken event is skipped */
	if (!name[0])
		name = json_string_value(json_object_get(data, "type"));
	if (!name) {
		err = 0;
	} else if (!strcmp(name, "message_start")) {
		const json_t *m = json_object_get(data, "message");

		err = lj_dup_key(&ex->response_id, m, "id");
		if (!err)
			err = lj_dup_key(&ex->response_model, m, "model");
		usage_merge(&st->usage, json_object_get(m, "usage"));
	} else if (!strcmp(name, "content_block_start")) {
		on_block_start(st, data);
	} else if (!strcmp(name, "content_block_delta")) {
		err = on_block_delta(st, data, &content);
		if (content && ex->first_content_offset < 0)
			ex->first_content_offset = (int64_t)ev->end_off;
	} else if (!strcmp(name, "message_delta")) {
		err = lj_dup_key(&st->stop_reason, json_object_get(data, "delta"), "stop_reason");
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
		return lj_content_part("text", b->buf.buf, b->buf.len);
	case BLK_THINKING:
		return lj_content_part("reasoning", b->buf.buf, b->buf.len);
	case BLK_TOOL:
		/* input is sent as partial_json fragments; if they do not join
		 * into JSON (cut stream) the text is still worth keeping */
		if (b->buf.len) {
			args = json_loadb(s, b->buf.len, JSON_ALLOW_NUL, NULL);
			if (!args)
				args = json_stringn(s, lj_utf8_trim(s, b->buf.len));
			if (!args)
				return NULL;
		} else {
			args = json_incref(json_object_get(b->start, "input"));
		}
		p = lj_tool_call_part(json_object_get(b->start, "id"),
				      json_object_get(b->start, "name"), args);
		json_decref(args);
		return p;
	default:
		return lj_typed(json_string_value(json_object_get(b->start, "type")));
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
		if (lj_push(parts, block_part(&st->blocks[i]))) {
			json_decref(parts);
			return -ENOMEM;
		}
	}
	return set_output(ex, parts, st->stop_reason);
}

static int decode_stream(const struct llm_http *h, struct llm_exchange *ex)
{
	struct astream *st = calloc(1, sizeof(*st));
	int err;

	if (!st)
		return -ENOMEM;
	st->usage = (struct ausage){ -1, -1, -1, -1, -1 };
	ex->stream = true;
	err = lj_sse_each(h, TEXT_CAP, on_event, st, ex);
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

	return lj_body_is_sse(h) || (n >= 6 && !memcmp(b, "event:", 6));
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
	return lj_decode_end(h, ex, err, r);
}
