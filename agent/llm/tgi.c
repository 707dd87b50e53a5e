// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Hugging Face Text Generation Inference native API: POST /generate (one
 * JSON object, or an array of them) and POST /generate_stream (SSE, one
 * token per event, the last event carrying generated_text and details).
 * Token counts come from details and, on /generate, from the x-prompt-tokens
 * and x-generated-tokens response headers, which TGI always sends.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json_util.h"
#include "llm.h"
#include "proto/sse.h"
#include "util/dynbuf.h"

#define TEXT_CAP (1u << 20)
#define MAX_CHOICES 64

static int decode_request(const struct llm_http *h, struct llm_exchange *ex)
{
	const json_t *params, *in;
	json_t *req, *parts;
	int err;

	err = lj_parse_object(h->req_body, h->req_len, &req);
	if (err)
		return err;
	params = json_object_get(req, "parameters");
	lj_request_params(ex, params, "max_new_tokens");
	if (json_is_true(json_object_get(req, "stream")))
		ex->stream = true;
	in = json_object_get(req, "inputs");
	if (json_is_string(in)) {
		parts = json_array();
		if (!parts ||
		    lj_push(parts, llm_text_part(json_string_value(in), json_string_length(in)))) {
			json_decref(parts);
			err = -ENOMEM;
		} else {
			ex->input_messages = json_array();
			err = lj_push(ex->input_messages, llm_message("user", parts));
		}
	}
	json_decref(req);
	return err;
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
	int err = lj_dup_key(&ex->error_message, o, "error");

	if (!err)
		err = lj_dup_key(&ex->error_type, o, "error_type");
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
	return lj_add_text_output(ex, json_string_value(text), json_string_length(text),
				  json_string_value(json_object_get(d, "finish_reason")));
}

static int decode_json(const struct llm_http *h, struct llm_exchange *ex)
{
	const json_t *o;
	json_t *resp;
	size_t i;
	int err;

	err = lj_parse_json(h->resp_body, h->resp_len, &resp);
	if (err)
		return err;
	if (json_is_object(resp)) {
		err = on_generation(resp, ex);
	} else if (json_is_array(resp)) {
		json_array_foreach(resp, i, o) {
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

static int on_event(void *arg, const struct sse_event *ev, struct llm_exchange *ex)
{
	struct lj_text_stream *st = arg;
	const json_t *tok, *t, *d;
	json_t *o;
	int err;

	err = lj_parse_json(ev->data, ev->data_len, &o);
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
	if (!json_is_true(json_object_get(tok, "special")))
		err = lj_text_stream_add(st, t, ev, ex);
	d = json_object_get(o, "details");
	if (json_is_object(d) || json_is_string(json_object_get(o, "generated_text"))) {
		st->done = true;
		details_usage(d, ex);
		if (!err)
			err = lj_dup_key(&st->finish, d, "finish_reason");
	}
out:
	json_decref(o);
	return err;
}

static int decode_stream(const struct llm_http *h, struct llm_exchange *ex)
{
	struct lj_text_stream st;
	int err;

	err = lj_text_stream_decode(h, TEXT_CAP, on_event, &st, ex);
	lj_text_stream_free(&st);
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

int tgi_decode(const struct llm_http *h, struct llm_exchange *ex)
{
	int err, r = 0;

	ex->api_family = "tgi";
	ex->operation = "text_completion";
	ex->stream = h->path && !strcmp(h->path, "/generate_stream");
	err = decode_request(h, ex);
	if (h->resp_len && lj_body_is_sse(h))
		r = decode_stream(h, ex);
	else if (h->resp_len)
		r = decode_json(h, ex);
	/* decode_headers only fails with -ENOMEM, which wins in any order */
	err = lj_err_worse(err, decode_headers(h, ex));
	return lj_decode_end(h, ex, err, r);
}
