// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Ollama's native API: /api/chat, /api/generate (NDJSON streams by default,
 * one JSON object with stream:false) and /api/embed (/api/embeddings, the
 * older form).  The final object of a stream has "done": true, the stop
 * reason, token counts and server-side durations in nanoseconds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json_util.h"
#include "llm.h"
#include "proto/sse.h"
#include "util/dynbuf.h"

#define TEXT_CAP (1u << 20)
#define MAX_CALLS 128

/* {id?, function{name, arguments}} as a tool_call part. */
static json_t *call_part(const json_t *tc)
{
	const json_t *fn = json_object_get(tc, "function");

	return lj_tool_call_part(json_object_get(tc, "id"), json_object_get(fn, "name"),
				 json_object_get(fn, "arguments"));
}

static int add_calls(json_t *parts, const json_t *calls, size_t *n_calls)
{
	const json_t *tc;
	size_t i;
	int err;

	json_array_foreach(calls, i, tc) {
		if (*n_calls >= MAX_CALLS)
			break;
		if (!json_is_object(tc))
			continue;
		err = lj_push(parts, call_part(tc));
		if (err)
			return err;
		(*n_calls)++;
	}
	return 0;
}

/* Images are base64 strings: only their number is kept. */
static int add_images(json_t *parts, const json_t *images)
{
	size_t i, n = json_array_size(images);
	int err;

	for (i = 0; i < n && i < MAX_CALLS; i++) {
		err = lj_push(parts, lj_typed("image"));
		if (err)
			return err;
	}
	return 0;
}

static json_t *tool_response_part(const json_t *m)
{
	const json_t *id = json_object_get(m, "tool_call_id");

	if (!json_is_string(id))
		id = json_object_get(m, "tool_name");
	return lj_tool_response_part(id, json_object_get(m, "content"));
}

static int message_parts(const json_t *m, const char *role, json_t *parts)
{
	const json_t *content = json_object_get(m, "content");
	size_t n_calls = 0;
	int err = 0;

	if (!strcmp(role, "tool"))
		return lj_push(parts, tool_response_part(m));
	if (lj_nonempty(json_object_get(m, "thinking")))
		err = lj_push(parts, lj_str_part("reasoning", json_object_get(m, "thinking")));
	/* an assistant turn that only calls tools has content "" */
	if (!err && json_is_string(content) &&
	    (json_string_length(content) || !json_array_size(json_object_get(m, "tool_calls"))))
		err = lj_push(parts, lj_str_part("text", content));
	if (!err)
		err = add_images(parts, json_object_get(m, "images"));
	if (!err)
		err = add_calls(parts, json_object_get(m, "tool_calls"), &n_calls);
	return err;
}

/* Appends one messages[] entry to msgs. */
static int add_message(const json_t *m, json_t *msgs)
{
	const char *role = json_string_value(json_object_get(m, "role"));
	json_t *parts = json_array();
	int err;

	if (!parts)
		return -ENOMEM;
	if (!role)
		role = "user";
	err = message_parts(m, role, parts);
	if (err) {
		json_decref(parts);
		return err;
	}
	return lj_push(msgs, llm_message(role, parts));
}

/* Appends one tools[] entry {"type":"function","function":{...}} to defs. */
static int add_tool(const json_t *t, json_t *defs)
{
	const json_t *fn = json_object_get(t, "function");

	if (!json_is_object(fn))
		return 0;
	return lj_push(defs, lj_tool_def("function", json_object_get(fn, "name"),
					 json_object_get(fn, "description"),
					 json_object_get(fn, "parameters")));
}

/* generate's prompt (+ images) or embed's input as one user message. */
static int user_input(const json_t *req, const char *key, struct llm_exchange *ex)
{
	const json_t *in = json_object_get(req, key), *s;
	json_t *parts = json_array();
	size_t i;
	int err = 0;

	if (!parts)
		return -ENOMEM;
	if (json_is_string(in)) {
		err = lj_push(parts, lj_str_part("text", in));
	} else {
		json_array_foreach(in, i, s) {
			if (json_is_string(s))
				err = lj_push(parts, lj_str_part("text", s));
			if (err)
				break;
		}
	}
	if (!err)
		err = add_images(parts, json_object_get(req, "images"));
	if (err || !json_array_size(parts)) {
		json_decref(parts);
		return err;
	}
	ex->input_messages = json_array();
	return lj_push(ex->input_messages, llm_message("user", parts));
}

static int decode_request(enum llm_api api, const struct llm_http *h, struct llm_exchange *ex)
{
	const json_t *opts, *sys, *stream;
	json_t *req;
	int err;

	err = lj_parse_object(h->req_body, h->req_len, &req);
	if (err)
		return err;
	err = lj_dup_key(&ex->request_model, req, "model");
	opts = json_object_get(req, "options");
	/* num_predict -1 (no limit) and -2 (fill the context) are not limits */
	lj_request_params(ex, opts, "num_predict");
	/* chat and generate stream unless told not to */
	stream = json_object_get(req, "stream");
	ex->stream = api != LLM_API_OLLAMA_EMBED && !json_is_false(stream);
	if (err)
		goto out;
	if (api == LLM_API_OLLAMA_CHAT) {
		err = lj_each_object(json_object_get(req, "messages"), &ex->input_messages,
				     add_message);
		if (!err)
			err = lj_each_object(json_object_get(req, "tools"), &ex->tool_definitions,
					     add_tool);
	} else if (api == LLM_API_OLLAMA_GENERATE) {
		sys = json_object_get(req, "system");
		if (lj_nonempty(sys)) {
			ex->system_instructions = json_array();
			err = lj_push(ex->system_instructions, lj_str_part("text", sys));
		}
		if (!err)
			err = user_input(req, "prompt", ex);
	} else {
		err = user_input(req, json_object_get(req, "input") ? "input" : "prompt", ex);
	}
out:
	json_decref(req);
	return err;
}

struct ostate {
	enum llm_api api;
	bool lines; /* NDJSON: offsets of content matter */
	bool done;
	struct dynbuf text, think;
	json_t *calls; /* tool_call parts */
	size_t n_calls;
	char *done_reason;
};

static int set_extra_ns(struct llm_exchange *ex, const json_t *obj, const char *key,
			const char *name)
{
	const json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return 0;
	if (!ex->extra && !(ex->extra = json_object()))
		return -ENOMEM;
	return lj_put_ref(ex->extra, name, v);
}

static int on_final(struct ostate *st, const json_t *o, struct llm_exchange *ex)
{
	int64_t v;
	int err;

	st->done = true;
	err = lj_dup_key(&st->done_reason, o, "done_reason");
	if ((v = llm_int_key(o, "prompt_eval_count")) >= 0)
		ex->usage.input_tokens = v;
	if ((v = llm_int_key(o, "eval_count")) >= 0)
		ex->usage.output_tokens = v;
	if (!err)
		err = set_extra_ns(ex, o, "total_duration", "ollama.total_duration_ns");
	if (!err)
		err = set_extra_ns(ex, o, "load_duration", "ollama.load_duration_ns");
	if (!err)
		err = set_extra_ns(ex, o, "prompt_eval_duration", "ollama.prompt_eval_duration_ns");
	if (!err)
		err = set_extra_ns(ex, o, "eval_duration", "ollama.eval_duration_ns");
	return err;
}

static int append_str(struct dynbuf *b, const json_t *s, bool *content)
{
	int err;

	if (!json_is_string(s) || !json_string_length(s))
		return 0;
	if (!b->cap)
		dynbuf_init(b, TEXT_CAP);
	err = dynbuf_append(b, json_string_value(s), json_string_length(s));
	*content = true;
	return err == -ENOMEM ? err : 0;
}

static int on_embed(const json_t *o, struct llm_exchange *ex)
{
	const json_t *e = json_object_get(o, "embeddings");
	int64_t v;

	if (json_is_array(e) && json_is_array(json_array_get(e, 0)))
		ex->embedding_dimensions = (int64_t)json_array_size(json_array_get(e, 0));
	else if (json_is_array(json_object_get(o, "embedding")))
		ex->embedding_dimensions =
			(int64_t)json_array_size(json_object_get(o, "embedding"));
	if ((v = llm_int_key(o, "prompt_eval_count")) >= 0)
		ex->usage.input_tokens = v;
	if (set_extra_ns(ex, o, "total_duration", "ollama.total_duration_ns"))
		return -ENOMEM;
	return set_extra_ns(ex, o, "load_duration", "ollama.load_duration_ns");
}

/* One response object (a stream line or the whole body). */
static int on_object(struct ostate *st, const json_t *o, size_t end_off, struct llm_exchange *ex)
{
	const json_t *msg = json_object_get(o, "message");
	bool content = false;
	int err;

	if (json_is_string(json_object_get(o, "error")))
		return lj_dup_key(&ex->error_message, o, "error");
	err = lj_dup_key(&ex->response_model, o, "model");
	if (err)
		return err;
	if (st->api == LLM_API_OLLAMA_EMBED)
		return on_embed(o, ex);
	if (st->api == LLM_API_OLLAMA_CHAT) {
		err = append_str(&st->think, json_object_get(msg, "thinking"), &content);
		if (!err)
			err = append_str(&st->text, json_object_get(msg, "content"), &content);
		if (!err && json_array_size(json_object_get(msg, "tool_calls"))) {
			if (!st->calls && !(st->calls = json_array()))
				return -ENOMEM;
			err = add_calls(st->calls, json_object_get(msg, "tool_calls"),
					&st->n_calls);
			content = true;
		}
	} else {
		err = append_str(&st->think, json_object_get(o, "thinking"), &content);
		if (!err)
			err = append_str(&st->text, json_object_get(o, "response"), &content);
	}
	if (!err && json_is_true(json_object_get(o, "done")))
		err = on_final(st, o, ex);
	if (content && st->lines && ex->first_content_offset < 0)
		ex->first_content_offset = (int64_t)end_off;
	return err;
}

static int decode_lines(const struct llm_http *h, struct ostate *st, struct llm_exchange *ex)
{
	struct ndjson_iter it = { h->resp_body, h->resp_len, 0 };
	const char *line;
	size_t n, end_off;
	bool complete, any = false;
	json_t *o;
	int err;

	st->lines = true;
	ex->stream = true;
	while (ndjson_next(&it, &line, &n, &end_off, &complete) == 1) {
		err = lj_parse_object(line, n, &o);
		if (err == -ENOMEM)
			return err;
		if (!o)
			continue; /* a cut or broken line */
		any = true;
		err = on_object(st, o, end_off, ex);
		json_decref(o);
		if (err)
			return err;
	}
	return any ? 0 : -EBADMSG;
}

static int build_output(struct ostate *st, struct llm_exchange *ex)
{
	json_t *parts, *msg;
	int err = 0;

	if (st->api == LLM_API_OLLAMA_EMBED)
		return 0;
	if (st->done_reason) {
		ex->finish_reasons = json_array();
		err = lj_push(ex->finish_reasons, json_string(st->done_reason));
		if (err)
			return err;
	}
	if (!st->think.len && !st->text.len && !st->calls && !st->done_reason)
		return 0;
	parts = json_array();
	if (!parts)
		return -ENOMEM;
	if (st->think.len)
		err = lj_push(parts, lj_content_part("reasoning", st->think.buf, st->think.len));
	if (!err && (st->text.len || !st->calls))
		err = lj_push(parts, lj_content_part("text", st->text.buf ? st->text.buf : "",
						     st->text.len));
	if (!err && st->calls)
		err = json_array_extend(parts, st->calls) ? -ENOMEM : 0;
	if (err) {
		json_decref(parts);
		return err;
	}
	msg = llm_message("assistant", parts);
	if (msg && st->done_reason && lj_put(msg, "finish_reason", json_string(st->done_reason))) {
		json_decref(msg);
		return -ENOMEM;
	}
	ex->output_messages = json_array();
	return lj_push(ex->output_messages, msg);
}

static int decode_response(enum llm_api api, const struct llm_http *h, struct llm_exchange *ex)
{
	struct ostate st = { .api = api };
	json_t *o = NULL;
	int err;

	if (llm_is_ndjson(h)) {
		err = decode_lines(h, &st, ex);
	} else {
		err = lj_parse_object(h->resp_body, h->resp_len, &o);
		if (!err) {
			err = on_object(&st, o, h->resp_len, ex);
			json_decref(o);
		} else if (err == -EBADMSG && memchr(h->resp_body, '\n', h->resp_len)) {
			/* a stream whose content type was not captured */
			err = decode_lines(h, &st, ex);
		}
	}
	if (err != -ENOMEM)
		err = lj_err_worse(err, build_output(&st, ex));
	/* an error status ends the exchange without a final object */
	if (api != LLM_API_OLLAMA_EMBED && !st.done && h->status < 300)
		ex->incomplete = true;
	dynbuf_free(&st.text);
	dynbuf_free(&st.think);
	json_decref(st.calls);
	free(st.done_reason);
	return err;
}

int ollama_decode(enum llm_api api, const struct llm_http *h, struct llm_exchange *ex)
{
	int err, r = 0;

	ex->api_family = "ollama";
	ex->operation = api == LLM_API_OLLAMA_EMBED    ? "embeddings" :
			api == LLM_API_OLLAMA_GENERATE ? "text_completion" :
							 "chat";
	err = decode_request(api, h, ex);
	if (h->resp_len)
		r = decode_response(api, h, ex);
	return lj_decode_end(h, ex, err, r);
}
