// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Ollama's native API: /api/chat, /api/generate (NDJSON streams by default,
 * one JSON object with stream:false) and /api/embed (/api/embeddings, the
 * older form).  The final object of a stream has "done": true, the stop
 * reason, token counts and server-side durations in nanoseconds.
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
#define MAX_CALLS 128

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

/* Sets o[k] = v (stolen); a NULL v means an allocation failed. */
static int put(json_t *o, const char *k, json_t *v)
{
	if (!v || json_object_set_new(o, k, v))
		return -ENOMEM;
	return 0;
}

/* Sets o[k] to v (shared) when v exists. */
static int put_ref(json_t *o, const char *k, const json_t *v)
{
	return v ? put(o, k, json_incref((json_t *)v)) : 0;
}

/* Sets o[k] to v (shared) when v is a string: names and ids only. */
static int put_str(json_t *o, const char *k, const json_t *v)
{
	return json_is_string(v) ? put(o, k, json_incref((json_t *)v)) : 0;
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

static json_t *content_part(const char *type, const char *s, size_t n)
{
	json_t *p = typed(type);

	if (put(p, "content", json_stringn(s, utf8_trim(s, n)))) {
		json_decref(p);
		return NULL;
	}
	return p;
}

static json_t *str_part(const char *type, const json_t *str)
{
	return content_part(type, json_string_value(str), json_string_length(str));
}

static bool nonempty_str(const json_t *v)
{
	return json_is_string(v) && json_string_length(v) > 0;
}

/* {id?, function{name, arguments}} as a tool_call part. */
static json_t *call_part(const json_t *tc)
{
	const json_t *fn = json_object_get(tc, "function");
	json_t *p = typed("tool_call");

	if (put_str(p, "id", json_object_get(tc, "id")) ||
	    put_str(p, "name", json_object_get(fn, "name")) ||
	    put_ref(p, "arguments", json_object_get(fn, "arguments"))) {
		json_decref(p);
		return NULL;
	}
	return p;
}

static int add_calls(json_t *parts, const json_t *calls, size_t *n_calls)
{
	const json_t *tc;
	size_t i;
	int err;

	json_array_foreach(calls, i, tc)
	{
		if (*n_calls >= MAX_CALLS)
			break;
		if (!json_is_object(tc))
			continue;
		err = push(parts, call_part(tc));
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
		err = push(parts, typed("image"));
		if (err)
			return err;
	}
	return 0;
}

static json_t *tool_response_part(const json_t *m)
{
	const json_t *id = json_object_get(m, "tool_call_id");
	json_t *p = typed("tool_call_response");

	if (!json_is_string(id))
		id = json_object_get(m, "tool_name");
	if (put_str(p, "id", id) || put_ref(p, "response", json_object_get(m, "content"))) {
		json_decref(p);
		return NULL;
	}
	return p;
}

static int message_parts(const json_t *m, const char *role, json_t *parts)
{
	const json_t *content = json_object_get(m, "content");
	size_t n_calls = 0;
	int err = 0;

	if (!strcmp(role, "tool"))
		return push(parts, tool_response_part(m));
	if (nonempty_str(json_object_get(m, "thinking")))
		err = push(parts, str_part("reasoning", json_object_get(m, "thinking")));
	/* an assistant turn that only calls tools has content "" */
	if (!err && json_is_string(content) &&
	    (json_string_length(content) || !json_array_size(json_object_get(m, "tool_calls"))))
		err = push(parts, str_part("text", content));
	if (!err)
		err = add_images(parts, json_object_get(m, "images"));
	if (!err)
		err = add_calls(parts, json_object_get(m, "tool_calls"), &n_calls);
	return err;
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
		if (!role)
			role = "user";
		parts = json_array();
		if (!parts)
			return -ENOMEM;
		err = message_parts(m, role, parts);
		if (err) {
			json_decref(parts);
			return err;
		}
		err = push(ex->input_messages, llm_message(role, parts));
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
		const json_t *fn = json_object_get(t, "function");
		json_t *d;

		if (!json_is_object(fn))
			continue;
		d = typed("function");
		if (put_str(d, "name", json_object_get(fn, "name")) ||
		    put_str(d, "description", json_object_get(fn, "description")) ||
		    put_ref(d, "parameters", json_object_get(fn, "parameters"))) {
			json_decref(d);
			return -ENOMEM;
		}
		if (push(ex->tool_definitions, d))
			return -ENOMEM;
	}
	return 0;
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
		err = push(parts, str_part("text", in));
	} else {
		json_array_foreach(in, i, s)
		{
			if (json_is_string(s))
				err = push(parts, str_part("text", s));
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
	return push(ex->input_messages, llm_message("user", parts));
}

static int decode_request(enum llm_api api, const struct llm_http *h, struct llm_exchange *ex)
{
	const json_t *opts, *sys, *stream;
	json_t *req;
	int err;

	err = parse_object(h->req_body, h->req_len, &req);
	if (err)
		return err;
	err = dup_key(&ex->request_model, req, "model");
	opts = json_object_get(req, "options");
	ex->temperature = num_key(opts, "temperature");
	ex->top_p = num_key(opts, "top_p");
	/* -1 (no limit) and -2 (fill the context) are not limits */
	if (llm_int_key(opts, "num_predict") >= 0)
		ex->max_tokens = llm_int_key(opts, "num_predict");
	/* chat and generate stream unless told not to */
	stream = json_object_get(req, "stream");
	ex->stream = api != LLM_API_OLLAMA_EMBED && !json_is_false(stream);
	if (err)
		goto out;
	if (api == LLM_API_OLLAMA_CHAT) {
		err = decode_messages(json_object_get(req, "messages"), ex);
		if (!err)
			err = decode_tools(json_object_get(req, "tools"), ex);
	} else if (api == LLM_API_OLLAMA_GENERATE) {
		sys = json_object_get(req, "system");
		if (nonempty_str(sys)) {
			ex->system_instructions = json_array();
			err = push(ex->system_instructions, str_part("text", sys));
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
	return put_ref(ex->extra, name, v);
}

static int on_final(struct ostate *st, const json_t *o, struct llm_exchange *ex)
{
	int64_t v;
	int err;

	st->done = true;
	err = dup_key(&st->done_reason, o, "done_reason");
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
		return dup_key(&ex->error_message, o, "error");
	err = dup_key(&ex->response_model, o, "model");
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
		err = parse_object(line, n, &o);
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
		err = push(ex->finish_reasons, json_string(st->done_reason));
		if (err)
			return err;
	}
	if (!st->think.len && !st->text.len && !st->calls && !st->done_reason)
		return 0;
	parts = json_array();
	if (!parts)
		return -ENOMEM;
	if (st->think.len)
		err = push(parts, content_part("reasoning", st->think.buf, st->think.len));
	if (!err && (st->text.len || !st->calls))
		err = push(parts,
			   content_part("text", st->text.buf ? st->text.buf : "", st->text.len));
	if (!err && st->calls)
		err = json_array_extend(parts, st->calls) ? -ENOMEM : 0;
	if (err) {
		json_decref(parts);
		return err;
	}
	msg = llm_message("assistant", parts);
	if (msg && st->done_reason && put(msg, "finish_reason", json_string(st->done_reason))) {
		json_decref(msg);
		return -ENOMEM;
	}
	ex->output_messages = json_array();
	return push(ex->output_messages, msg);
}

static int decode_response(enum llm_api api, const struct llm_http *h, struct llm_exchange *ex)
{
	struct ostate st = { .api = api };
	json_t *o = NULL;
	int err;

	if (llm_is_ndjson(h)) {
		err = decode_lines(h, &st, ex);
	} else {
		err = parse_object(h->resp_body, h->resp_len, &o);
		if (!err) {
			err = on_object(&st, o, h->resp_len, ex);
			json_decref(o);
		} else if (err == -EBADMSG && memchr(h->resp_body, '\n', h->resp_len)) {
			/* a stream whose content type was not captured */
			err = decode_lines(h, &st, ex);
		}
	}
	if (err != -ENOMEM)
		err = worse(err, build_output(&st, ex));
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
	/* a proxy's HTML error page or a cut body: status and incomplete tell it */
	if (r == -EBADMSG && (h->status >= 400 || h->resp_incomplete || h->resp_truncated))
		r = 0;
	err = worse(err, r);
	if (h->resp_incomplete || h->resp_truncated)
		ex->incomplete = true;
	err = worse(err, status_error(h, ex));
	return err;
}
