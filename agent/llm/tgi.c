// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Hugging Face Text Generation Inference native API: POST /generate (one
 * JSON object, or an array of them) and POST /generate_stream (SSE, one
 * token per event, the last event carrying generated_text and details).
 * Token counts come from details and, on /generate, from the x-prompt-tokens
 * and x-generated-tokens response headers, which TGI always sends.
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
#define MAX_CHOICES 64

static int worse(int a, int b)
{
	if (a == -ENOMEM || b == -ENOMEM)
		return -ENOMEM;
	return a ? a : b;
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

/* Parses any JSON value; -EBADMSG when it is not JSON, -ENOMEM. */
static int parse_json(const char *s, size_t n, json_t **out)
{
	json_error_t jerr;

	*out = json_loadb(s, n, JSON_ALLOW_NUL, &jerr);
	if (*out)
		return 0;
	return json_error_code(&jerr) == json_error_out_of_memory ? -ENOMEM : -EBADMSG;
}

static int decode_request(const struct llm_http *h, struct llm_exchange *ex)
{
	const json_t *params, *in;
	json_t *req, *parts;
	int err;

	err = parse_json(h->req_body, h->req_len, &req);
	if (err)
		return err;
	if (!json_is_object(req)) {
		json_decref(req);
		return -EBADMSG;
	}
	params = json_object_get(req, "parameters");
	if (llm_int_key(params, "max_new_tokens") >= 0)
		ex->max_tokens = llm_int_key(params, "max_new_tokens");
	ex->temperature = num_key(params, "temperature");
	ex->top_p = num_key(params, "top_p");
	if (json_is_true(json_object_get(req, "stream")))
		ex->stream = true;
	in = json_object_get(req, "inputs");
	if (json_is_string(in)) {
		parts = json_array();
		if (!parts ||
		    push(parts, llm_text_part(json_string_value(in), json_string_length(in)))) {
			json_decref(parts);
			err = -ENOMEM;
		} else {
			ex->input_messages = json_array();
			err = push(ex->input_messages, llm_message("user", parts));
		}
	}
	json_decref(req);
	return err;
}

/* The output message of one generation; finish may be NULL. */
static int add_output(struct llm_exchange *ex, const char *text, size_t len, const char *finish)
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
	if (!ex->output_messages && !(ex->output_messages = json_array())) {
		json_decref(msg);
		return -ENOMEM;
	}
	if (push(ex->output_messages, msg))
		return -ENOMEM;
	if (!finish)
		return 0;
	if (!ex->finish_reasons && !(ex->finish_reasons = json_array()))
		return -ENOMEM;
	return push(ex->finish_reasons, json_string(finish));
}

static void add_count(int64_t *dst, int64_t v)
{
	if (v < 0)
		return;
	*dst = *dst < 0 ? v : *dst + v;
}

/* details{finish_reason, generated_tokens, input_length?, prefill[]?} */
static void details_usage(const json_t *d, struct llm_exchange *ex)
{
	const json_t *prefill = json_object_get(d, "prefill");

	add_count(&ex->usage.output_tokens, llm_int_key(d, "generated_tokens"));
	if (json_is_integer(json_object_get(d, "input_length")))
		add_count(&ex->usage.input_tokens, llm_int_key(d, "input_length"));
	else if (json_array_size(prefill))
		add_count(&ex->usage.input_tokens, (int64_t)json_array_size(prefill));
}

/* {"error": "...", "error_type": "..."} */
static int decode_error(const json_t *o, struct llm_exchange *ex)
{
	int err = dup_key(&ex->error_message, o, "error");

	if (!err)
		err = dup_key(&ex->error_type, o, "error_type");
	return err;
}

static int on_generation(const json_t *o, struct llm_exchange *ex)
{
	const json_t *text = json_object_get(o, "generated_text");
	const json_t *d = json_object_get(o, "details");

	if (!json_is_object(o))
		return 0;
	if (json_is_string(json_object_get(o, "error")))
		return decode_error(o, ex);
	details_usage(d, ex);
	if (!json_is_string(text))
		return 0;
	return add_output(ex, json_string_value(text), json_string_length(text),
			  json_string_value(json_object_get(d, "finish_reason")));
}

static int decode_json(const struct llm_http *h, struct llm_exchange *ex)
{
	const json_t *o;
	json_t *resp;
	size_t i;
	int err;

	err = parse_json(h->resp_body, h->resp_len, &resp);
	if (err)
		return err;
	if (json_is_object(resp)) {
		err = on_generation(resp, ex);
	} else if (json_is_array(resp)) {
		json_array_foreach(resp, i, o)
		{
			if (i >= MAX_CHOICES)
				break;
			err = on_generation(o, ex);
			if (err)
				break;
		}
	} else {
		err = -EBADMSG;
	}
	json_decref(resp);
	return err;
}

struct tstream {
	struct dynbuf text;
	bool done;
	char *finish;
};

static int on_event(struct tstream *st, const struct sse_event *ev, struct llm_exchange *ex)
{
	const json_t *tok, *t, *d;
	json_t *o;
	int err;

	err = parse_json(ev->data, ev->data_len, &o);
	if (err)
		return err == -ENOMEM ? err : 0; /* a broken event is skipped */
	if (!json_is_object(o))
		goto out;
	if (json_is_string(json_object_get(o, "error"))) {
		err = decode_error(o, ex);
		goto out;
	}
	tok = json_object_get(o, "token");
	t = json_object_get(tok, "text");
	/* special tokens (</s>, <|eot_id|>) are not text the user sees */
	if (json_is_string(t) && !json_is_true(json_object_get(tok, "special")) &&
	    json_string_length(t)) {
		err = dynbuf_append(&st->text, json_string_value(t), json_string_length(t));
		if (err != -ENOMEM)
			err = 0;
		if (ex->first_content_offset < 0)
			ex->first_content_offset = (int64_t)ev->end_off;
	}
	d = json_object_get(o, "details");
	if (json_is_object(d) || json_is_string(json_object_get(o, "generated_text"))) {
		st->done = true;
		details_usage(d, ex);
		if (!err)
			err = dup_key(&st->finish, d, "finish_reason");
	}
out:
	json_decref(o);
	return err;
}

static int decode_stream(const struct llm_http *h, struct llm_exchange *ex)
{
	struct tstream st = { 0 };
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
		err = add_output(ex, st.text.buf ? st.text.buf : "", st.text.len, st.finish);
	if (!st.done)
		ex->incomplete = true;
	dynbuf_free(&st.text);
	free(st.finish);
	return err;
}

/* A non-negative integer header, else -1. */
static int64_t header_int(const struct llm_http *h, const char *name)
{
	const char *v = h->resp_header ? h->resp_header(h->hdr_ctx, name) : NULL;
	char *end;
	long long n;

	if (!v || *v < '0' || *v > '9')
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || *end)
		return -1;
	return n;
}

static int decode_headers(const struct llm_http *h, struct llm_exchange *ex)
{
	static const char *const times[][2] = {
		{ "x-queue-time", "tgi.queue_time_ms" },
		{ "x-inference-time", "tgi.inference_time_ms" },
		{ "x-time-per-token", "tgi.time_per_token_ms" },
		{ "x-validation-time", "tgi.validation_time_ms" },
		{ "x-total-time", "tgi.total_time_ms" },
	};
	int64_t v;

	/* the headers count every generation; the body may lack details */
	if ((v = header_int(h, "x-prompt-tokens")) >= 0 && ex->usage.input_tokens < 0)
		ex->usage.input_tokens = v;
	if ((v = header_int(h, "x-generated-tokens")) >= 0 && ex->usage.output_tokens < 0)
		ex->usage.output_tokens = v;
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		if ((v = header_int(h, times[i][0])) < 0)
			continue;
		if (!ex->extra && !(ex->extra = json_object()))
			return -ENOMEM;
		if (json_object_set_new(ex->extra, times[i][1], json_integer(v)))
			return -ENOMEM;
	}
	return 0;
}

static bool body_is_sse(const struct llm_http *h)
{
	return llm_is_sse(h) || (h->resp_len >= 5 && !memcmp(h->resp_body, "data:", 5));
}

int tgi_decode(const struct llm_http *h, struct llm_exchange *ex)
{
	int err, r = 0;

	ex->api_family = "tgi";
	ex->operation = "text_completion";
	ex->stream = h->path && !strcmp(h->path, "/generate_stream");
	err = decode_request(h, ex);
	if (h->resp_len && body_is_sse(h))
		r = decode_stream(h, ex);
	else if (h->resp_len)
		r = decode_json(h, ex);
	/* a proxy's HTML error page or a cut body: status and incomplete tell it */
	if (r == -EBADMSG && (h->status >= 400 || h->resp_incomplete || h->resp_truncated))
		r = 0;
	err = worse(err, r);
	err = worse(err, decode_headers(h, ex));
	if (h->resp_incomplete || h->resp_truncated)
		ex->incomplete = true;
	err = worse(err, status_error(h, ex));
	return err;
}
