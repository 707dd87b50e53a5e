// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * llama.cpp server's native POST /completion: one JSON object, or an SSE
 * stream of {"content": ..., "stop": false} events whose last one has
 * "stop": true with the token counts and timings.
 *
 * tokens_cached is the slot's whole KV cache (n_past: prompt and generated
 * tokens), not the prompt tokens reused from it, so cache reads come from
 * timings.cache_n only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json_util.h"
#include "llm.h"
#include "proto/sse.h"
#include "util/dynbuf.h"

#define TEXT_CAP (1u << 20)
#define MAX_PROMPTS 128

static int add_text(json_t *parts, const json_t *s)
{
	if (!json_is_string(s))
		return 0;
	return lj_push(parts, llm_text_part(json_string_value(s), json_string_length(s)));
}

/* prompt: a string, {prompt_string}, or an array of those and token ids
 * (ids are not text; they are skipped). */
static int prompt_parts(const json_t *prompt, json_t *parts)
{
	const json_t *p;
	size_t i;
	int err;

	if (json_is_object(prompt))
		return add_text(parts, json_object_get(prompt, "prompt_string"));
	if (!json_is_array(prompt))
		return add_text(parts, prompt);
	json_array_foreach(prompt, i, p) {
		if (i >= MAX_PROMPTS)
			break;
		if (json_is_object(p))
			p = json_object_get(p, "prompt_string");
		err = add_text(parts, p);
		if (err)
			return err;
	}
	return 0;
}

static int decode_request(const struct llm_http *h, struct llm_exchange *ex)
{
	json_t *req, *parts;
	int err;

	err = lj_parse_object(h->req_body, h->req_len, &req);
	if (err)
		return err;
	/* n_predict -1 (the default) means no limit */
	lj_request_params(ex, req, "n_predict");
	ex->stream = json_is_true(json_object_get(req, "stream"));
	parts = json_array();
	err = parts ? prompt_parts(json_object_get(req, "prompt"), parts) : -ENOMEM;
	if (!err && json_array_size(parts)) {
		ex->input_messages = json_array();
		err = lj_push(ex->input_messages, llm_message("user", parts));
	} else {
		json_decref(parts);
	}
	json_decref(req);
	return err;
}

/* stop_type, or the older stopped_* flags. */
static const char *finish_reason(const json_t *o)
{
	const char *t = json_string_value(json_object_get(o, "stop_type"));

	if (t)
		return strcmp(t, "none") ? t : NULL;
	if (json_is_true(json_object_get(o, "stopped_eos")))
		return "eos";
	if (json_is_true(json_object_get(o, "stopped_word")))
		return "word";
	if (json_is_true(json_object_get(o, "stopped_limit")))
		return "limit";
	return NULL;
}

static int extra_num(json_t *extra, const char *name, const json_t *v)
{
	if (!json_is_number(v))
		return 0;
	return json_object_set(extra, name, (json_t *)v) ? -ENOMEM : 0;
}

static int timings_extra(const json_t *o, struct llm_exchange *ex)
{
	static const char *const keys[][2] = {
		{ "prompt_n", "llama_cpp.prompt_n" },
		{ "prompt_ms", "llama_cpp.prompt_ms" },
		{ "predicted_n", "llama_cpp.predicted_n" },
		{ "predicted_ms", "llama_cpp.predicted_ms" },
		{ "cache_n", "llama_cpp.cache_n" },
		{ "prompt_per_second", "llama_cpp.prompt_per_second" },
		{ "predicted_per_second", "llama_cpp.predicted_per_second" },
	};
	const json_t *t = json_object_get(o, "timings");
	int err = 0;

	if (!json_is_object(t) && !json_is_integer(json_object_get(o, "tokens_cached")))
		return 0;
	if (!ex->extra && !(ex->extra = json_object()))
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && !err; i++)
		err = extra_num(ex->extra, keys[i][1], json_object_get(t, keys[i][0]));
	if (!err)
		err = extra_num(ex->extra, "llama_cpp.tokens_cached",
				json_object_get(o, "tokens_cached"));
	return err;
}

/* Counts of the final object (the whole response when not streamed). */
static int on_final(const json_t *o, struct llm_exchange *ex)
{
	const json_t *t = json_object_get(o, "timings");
	int64_t prompt_n = llm_int_key(t, "prompt_n"), cache_n = llm_int_key(t, "cache_n");
	int64_t v;

	if ((v = llm_int_key(o, "tokens_evaluated")) >= 0)
		ex->usage.input_tokens = v;
	else if (prompt_n >= 0)
		ex->usage.input_tokens = prompt_n + (cache_n > 0 ? cache_n : 0);
	if (cache_n >= 0)
		ex->usage.cache_read_input_tokens = cache_n;
	if ((v = llm_int_key(o, "tokens_predicted")) >= 0)
		ex->usage.output_tokens = v;
	else if ((v = llm_int_key(t, "predicted_n")) >= 0)
		ex->usage.output_tokens = v;
	return timings_extra(o, ex);
}

/* The value of "error": {"code", "message", "type"} or a string. */
static int decode_error(const json_t *e, struct llm_exchange *ex)
{
	int err;

	if (json_is_string(e))
		return lj_dup_str(&ex->error_message, json_string_value(e));
	err = lj_dup_key(&ex->error_type, e, "type");
	if (!err)
		err = lj_dup_key(&ex->error_message, e, "message");
	return err;
}

static int decode_json(const struct llm_http *h, struct llm_exchange *ex)
{
	const json_t *c;
	json_t *o;
	int err;

	err = lj_parse_object(h->resp_body, h->resp_len, &o);
	if (err)
		return err;
	if (json_object_get(o, "error")) {
		err = decode_error(json_object_get(o, "error"), ex);
		goto out;
	}
	err = lj_dup_key(&ex->response_model, o, "model");
	c = json_object_get(o, "content");
	if (!err && json_is_string(c))
		err = lj_add_text_output(ex, json_string_value(c), json_string_length(c),
					 finish_reason(o));
	if (!err)
		err = on_final(o, ex);
out:
	json_decref(o);
	return err;
}

static int on_event(void *arg, const struct sse_event *ev, struct llm_exchange *ex)
{
	struct lj_text_stream *st = arg;
	const char *fin;
	json_t *o;
	int err;

	err = lj_parse_object(ev->data, ev->data_len, &o);
	if (err)
		return err == -ENOMEM ? err : 0; /* a broken event is skipped */
	if (json_object_get(o, "error")) {
		st->error = true;
		err = decode_error(json_object_get(o, "error"), ex);
		goto out;
	}
	err = lj_text_stream_add(st, json_object_get(o, "content"), ev, ex);
	if (!err && json_is_true(json_object_get(o, "stop"))) {
		st->done = true;
		fin = finish_reason(o);
		err = lj_dup_key(&ex->response_model, o, "model");
		if (!err && fin)
			err = lj_dup_str(&st->finish, fin);
		if (!err)
			err = on_final(o, ex);
	}
out:
	json_decref(o);
	return err;
}

/*
 * The server reports a failure inside a stream as an "error: {...}" line,
 * a field name SSE does not define (so the iterator drops it): find the
 * first such line.  The object is {code, message, type}, not wrapped.
 */
static int stream_error_line(const struct llm_http *h, struct llm_exchange *ex)
{
	const char *b = h->resp_body, *end = b + h->resp_len, *p = b, *eol;
	json_t *o;
	int err;

	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		if (eol - p > 6 && !memcmp(p, "error:", 6)) {
			err = lj_parse_object(p + 6, (size_t)(eol - p - 6), &o);
			if (err == -ENOMEM)
				return err;
			if (o) {
				err = decode_error(json_object_get(o, "error") ?: o, ex);
				json_decref(o);
				return err;
			}
		}
		p = eol + 1;
	}
	return 0;
}

static int decode_stream(const struct llm_http *h, struct llm_exchange *ex)
{
	struct lj_text_stream st;
	int err;

	err = lj_text_stream_decode(h, TEXT_CAP, on_event, &st, ex);
	if (!err && !st.done && !st.error)
		err = stream_error_line(h, ex);
	lj_text_stream_free(&st);
	return err;
}

int llamacpp_decode(const struct llm_http *h, struct llm_exchange *ex)
{
	int err, r = 0;

	ex->api_family = "llama.cpp";
	ex->operation = "text_completion";
	err = decode_request(h, ex);
	if (h->resp_len && lj_body_is_sse(h))
		r = decode_stream(h, ex);
	else if (h->resp_len)
		r = decode_json(h, ex);
	return lj_decode_end(h, ex, err, r);
}
