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
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm.h"
#include "proto/sse.h"
#include "util/dynbuf.h"

#define TEXT_CAP (1u << 20)
#define MAX_PROMPTS 128

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

/* Replaces *dst with a copy of obj[key] when that is a string. */
static int dup_key(char **dst, const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? dup_str(dst, s) : 0;
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

static int add_text(json_t *parts, const json_t *s)
{
	if (!json_is_string(s))
		return 0;
	return push(parts, llm_text_part(json_string_value(s), json_string_length(s)));
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
	json_array_foreach(prompt, i, p)
	{
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
	int64_t n;
	int err;

	err = parse_object(h->req_body, h->req_len, &req);
	if (err)
		return err;
	/* n_predict -1 (the default) means no limit */
	if ((n = llm_int_key(req, "n_predict")) >= 0)
		ex->max_tokens = n;
	ex->temperature = num_key(req, "temperature");
	ex->top_p = num_key(req, "top_p");
	ex->stream = json_is_true(json_object_get(req, "stream"));
	parts = json_array();
	err = parts ? prompt_parts(json_object_get(req, "prompt"), parts) : -ENOMEM;
	if (!err && json_array_size(parts)) {
		ex->input_messages = json_array();
		err = push(ex->input_messages, llm_message("user", parts));
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
		return dup_str(&ex->error_message, json_string_value(e));
	err = dup_key(&ex->error_type, e, "type");
	if (!err)
		err = dup_key(&ex->error_message, e, "message");
	return err;
}

static int set_output(struct llm_exchange *ex, const char *text, size_t len, const char *finish)
{
	json_t *parts = json_array(), *msg;

	if (push(parts, llm_text_part(text, utf8_trim(text, len)))) {
		json_decref(parts);
		return -ENOMEM;
	}
	msg = llm_message("assistant", parts);
	if (msg && finish && json_object_set_new(msg, "finish_reason", json_string(finish))) {
		json_decref(msg);
		return -ENOMEM;
	}
	ex->output_messages = json_array();
	if (push(ex->output_messages, msg))
		return -ENOMEM;
	if (!finish)
		return 0;
	ex->finish_reasons = json_array();
	return push(ex->finish_reasons, json_string(finish));
}

static int decode_json(const struct llm_http *h, struct llm_exchange *ex)
{
	const json_t *c;
	json_t *o;
	int err;

	err = parse_object(h->resp_body, h->resp_len, &o);
	if (err)
		return err;
	if (json_object_get(o, "error")) {
		err = decode_error(json_object_get(o, "error"), ex);
		goto out;
	}
	err = dup_key(&ex->response_model, o, "model");
	c = json_object_get(o, "content");
	if (!err && json_is_string(c))
		err = set_output(ex, json_string_value(c), json_string_length(c), finish_reason(o));
	if (!err)
		err = on_final(o, ex);
out:
	json_decref(o);
	return err;
}

struct lstream {
	struct dynbuf text;
	bool done, error;
	char *finish;
};

static int on_event(struct lstream *st, const struct sse_event *ev, struct llm_exchange *ex)
{
	const json_t *c;
	const char *fin;
	json_t *o;
	int err;

	err = parse_object(ev->data, ev->data_len, &o);
	if (err)
		return err == -ENOMEM ? err : 0; /* a broken event is skipped */
	if (json_object_get(o, "error")) {
		st->error = true;
		err = decode_error(json_object_get(o, "error"), ex);
		goto out;
	}
	c = json_object_get(o, "content");
	if (json_is_string(c) && json_string_length(c)) {
		err = dynbuf_append(&st->text, json_string_value(c), json_string_length(c));
		if (err != -ENOMEM)
			err = 0;
		if (ex->first_content_offset < 0)
			ex->first_content_offset = (int64_t)ev->end_off;
	}
	if (!err && json_is_true(json_object_get(o, "stop"))) {
		st->done = true;
		fin = finish_reason(o);
		err = dup_key(&ex->response_model, o, "model");
		if (!err && fin)
			err = dup_str(&st->finish, fin);
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
			err = parse_object(p + 6, (size_t)(eol - p - 6), &o);
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
	struct lstream st = { 0 };
	struct sse_iter it;
	struct sse_event ev;
	int err = 0, r;

	ex->stream = true;
	dynbuf_init(&st.text, TEXT_CAP);
	sse_iter_init(&it, h->resp_body, h->resp_len, TEXT_CAP);
	while ((r = sse_next(&it, &ev)) == 1) {
		if (ev.truncated)
			continue;
		err = on_event(&st, &ev, ex);
		if (err)
			break;
	}
	if (r < 0)
		err = r;
	sse_iter_free(&it);
	if (!err && (st.text.len || st.done))
		err = set_output(ex, st.text.buf ? st.text.buf : "", st.text.len, st.finish);
	if (!err && !st.done && !st.error)
		err = stream_error_line(h, ex);
	if (!st.done)
		ex->incomplete = true;
	dynbuf_free(&st.text);
	free(st.finish);
	return err;
}

static bool body_is_sse(const struct llm_http *h)
{
	return llm_is_sse(h) || (h->resp_len >= 5 && !memcmp(h->resp_body, "data:", 5));
}

int llamacpp_decode(const struct llm_http *h, struct llm_exchange *ex)
{
	int err, r = 0;

	ex->api_family = "llama.cpp";
	ex->operation = "text_completion";
	err = decode_request(h, ex);
	if (h->resp_len && body_is_sse(h))
		r = decode_stream(h, ex);
	else if (h->resp_len)
		r = decode_json(h, ex);
	/* a proxy's HTML error page or a cut body: status and incomplete tell it */
	if (r == -EBADMSG && (h->status >= 400 || h->resp_incomplete || h->resp_truncated))
		r = 0;
	err = worse(err, r);
	if (h->resp_incomplete || h->resp_truncated)
		ex->incomplete = true;
	err = worse(err, status_error(h, ex));
	return err;
}
