// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* JSON and error helpers shared by the LLM API decoders. */
#include "json_util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/sse.h"

int lj_err_worse(int a, int b)
{
	if (a == -ENOMEM || b == -ENOMEM)
		return -ENOMEM;
	return a ? a : b;
}

int lj_parse_json(const char *s, size_t n, json_t **out)
{
	json_error_t jerr;

	*out = json_loadb(s, n, JSON_ALLOW_NUL, &jerr);
	if (*out)
		return 0;
	return json_error_code(&jerr) == json_error_out_of_memory ? -ENOMEM : -EBADMSG;
}

int lj_parse_object(const char *s, size_t n, json_t **out)
{
	int err = lj_parse_json(s, n, out);

	if (err)
		return err;
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return -EBADMSG;
	}
	return 0;
}

int lj_dup_str(char **dst, const char *s)
{
	char *p = strdup(s);

	if (!p)
		return -ENOMEM;
	free(*dst);
	*dst = p;
	return 0;
}

int lj_dup_json(char **dst, const json_t *v)
{
	return json_is_string(v) ? lj_dup_str(dst, json_string_value(v)) : 0;
}

int lj_dup_key(char **dst, const json_t *obj, const char *key)
{
	return lj_dup_json(dst, json_object_get(obj, key));
}

double lj_num(const json_t *v)
{
	return json_is_number(v) ? json_number_value(v) : NAN;
}

double lj_num_key(const json_t *obj, const char *key)
{
	return lj_num(json_object_get(obj, key));
}

int64_t lj_int(const json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
}

bool lj_nonempty(const json_t *v)
{
	return json_is_string(v) && json_string_length(v) > 0;
}

int lj_push(json_t *arr, json_t *v)
{
	if (!v || json_array_append_new(arr, v))
		return -ENOMEM;
	return 0;
}

int lj_put(json_t *o, const char *k, json_t *v)
{
	if (!v || json_object_set_new(o, k, v))
		return -ENOMEM;
	return 0;
}

int lj_put_ref(json_t *o, const char *k, const json_t *v)
{
	return v ? lj_put(o, k, json_incref((json_t *)v)) : 0;
}

int lj_put_str(json_t *o, const char *k, const json_t *v)
{
	return json_is_string(v) ? lj_put(o, k, json_incref((json_t *)v)) : 0;
}

json_t *lj_typed(const char *type)
{
	json_t *o = json_object();

	if (o && lj_put(o, "type", json_string(type))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

size_t lj_utf8_trim(const char *s, size_t n)
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

/* Length of the well-formed UTF-8 sequence at s (RFC 3629, as jansson
 * checks it: no overlongs, surrogates or code points past U+10FFFF), 0 when
 * it is not one. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t need, i;

	if (c < 0x80)
		return 1;
	if (c < 0xC2 || c > 0xF4)
		return 0;
	need = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
	if (n < need)
		return 0;
	for (i = 1; i < need; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0) ||
	    (c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90))
		return 0;
	return need;
}

json_t *lj_string_lossy(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k, o = 0;
	json_t *v;
	char *fix;

	if (!s)
		return json_string("");
	while (i < n && (k = utf8_seq_len(u + i, n - i)) != 0)
		i += k;
	if (i == n)
		return json_stringn(s, n);
	if (n > (SIZE_MAX - 1) / 3)
		return NULL;
	fix = malloc(n * 3 + 1);
	if (!fix)
		return NULL;
	for (i = 0; i < n; i += k) {
		k = utf8_seq_len(u + i, n - i);
		if (k) {
			memcpy(fix + o, s + i, k);
			o += k;
		} else {
			memcpy(fix + o, "\xEF\xBF\xBD", 3);
			o += 3;
			k = 1;
		}
	}
	v = json_stringn(fix, o);
	free(fix);
	return v;
}

json_t *lj_part(const char *type, json_t *content)
{
	json_t *p;

	if (!content)
		return NULL;
	p = lj_typed(type);
	/* a NULL p makes the put fail, which frees content */
	if (lj_put(p, "content", content)) {
		json_decref(p);
		return NULL;
	}
	return p;
}

json_t *lj_content_part(const char *type, const char *s, size_t n)
{
	return lj_part(type, lj_string_lossy(s, s ? lj_utf8_trim(s, n) : 0));
}

json_t *lj_str_part(const char *type, const json_t *str)
{
	return lj_part(type, json_incref((json_t *)str));
}

json_t *lj_tool_call_part(const json_t *id, const json_t *name, const json_t *args)
{
	json_t *p = lj_typed("tool_call");

	if (lj_put_str(p, "id", id) || lj_put_str(p, "name", name) ||
	    lj_put_ref(p, "arguments", args)) {
		json_decref(p);
		return NULL;
	}
	return p;
}

json_t *lj_tool_response_part(const json_t *id, const json_t *response)
{
	json_t *p = lj_typed("tool_call_response");

	if (lj_put_str(p, "id", id) || lj_put_ref(p, "response", response)) {
		json_decref(p);
		return NULL;
	}
	return p;
}

json_t *lj_tool_def(const char *type, const json_t *name, const json_t *desc, const json_t *params)
{
	json_t *d = lj_typed(type);

	if (lj_put_str(d, "name", name) || lj_put_str(d, "description", desc) ||
	    lj_put_ref(d, "parameters", params)) {
		json_decref(d);
		return NULL;
	}
	return d;
}

int lj_build_array(json_t **out, int (*fill)(json_t *arr, const json_t *src), const json_t *src)
{
	json_t *arr = json_array();
	int err;

	*out = NULL;
	if (!arr)
		return -ENOMEM;
	err = fill(arr, src);
	if (err) {
		json_decref(arr);
		return err;
	}
	*out = arr;
	return 0;
}

int lj_each_object(const json_t *arr, json_t **out, int (*fn)(const json_t *item, json_t *out))
{
	const json_t *item;
	size_t i;
	int err;

	if (!json_is_array(arr))
		return 0;
	*out = json_array();
	if (!*out)
		return -ENOMEM;
	json_array_foreach(arr, i, item) {
		if (!json_is_object(item))
			continue;
		err = fn(item, *out);
		if (err)
			return err;
	}
	return 0;
}

int lj_add_output(struct llm_exchange *ex, json_t *parts, const char *finish)
{
	json_t *msg = llm_message("assistant", parts);

	if (msg && finish && lj_put(msg, "finish_reason", json_string(finish))) {
		json_decref(msg);
		return -ENOMEM;
	}
	if (!ex->output_messages && !(ex->output_messages = json_array())) {
		json_decref(msg);
		return -ENOMEM;
	}
	if (lj_push(ex->output_messages, msg))
		return -ENOMEM;
	if (!finish)
		return 0;
	if (!ex->finish_reasons && !(ex->finish_reasons = json_array()))
		return -ENOMEM;
	return lj_push(ex->finish_reasons, json_string(finish));
}

int lj_add_text_output(struct llm_exchange *ex, const char *text, size_t len, const char *finish)
{
	json_t *parts = json_array();

	if (lj_push(parts, lj_content_part("text", text, len))) {
		json_decref(parts);
		return -ENOMEM;
	}
	return lj_add_output(ex, parts, finish);
}

void lj_request_params(struct llm_exchange *ex, const json_t *o, const char *max_key)
{
	int64_t n = llm_int_key(o, max_key);

	if (n >= 0)
		ex->max_tokens = n;
	ex->temperature = lj_num_key(o, "temperature");
	ex->top_p = lj_num_key(o, "top_p");
}

int lj_error_status(struct llm_exchange *ex, int status)
{
	char code[16];

	if (ex->error_type)
		return 0;
	snprintf(code, sizeof(code), "%d", status);
	return lj_dup_str(&ex->error_type, code);
}

int lj_status_error(const struct llm_http *h, struct llm_exchange *ex)
{
	if (ex->error_type)
		return 0;
	if (h->status >= 400)
		return lj_error_status(ex, h->status);
	return ex->error_message ? lj_dup_str(&ex->error_type, "_OTHER") : 0;
}

bool lj_body_is_sse(const struct llm_http *h)
{
	return llm_is_sse(h) || (h->resp_len >= 5 && !memcmp(h->resp_body, "data:", 5));
}

int lj_sse_each(const struct llm_http *h, size_t cap,
		int (*fn)(void *st, const struct sse_event *ev, struct llm_exchange *ex), void *st,
		struct llm_exchange *ex)
{
	struct sse_iter it;
	struct sse_event ev;
	int err = 0, r;

	sse_iter_init(&it, h->resp_body, h->resp_len, cap);
	while ((r = sse_next(&it, &ev)) == 1) {
		if (ev.truncated)
			continue;
		err = fn(st, &ev, ex);
		if (err)
			break;
	}
	if (r < 0)
		err = r;
	sse_iter_free(&it);
	return err;
}

int lj_text_stream_add(struct lj_text_stream *st, const json_t *s, const struct sse_event *ev,
		       struct llm_exchange *ex)
{
	if (!json_is_string(s) || !json_string_length(s))
		return 0;
	if (ex->first_content_offset < 0)
		ex->first_content_offset = (int64_t)ev->end_off;
	if (dynbuf_append(&st->text, json_string_value(s), json_string_length(s)) == -ENOMEM)
		return -ENOMEM;
	return 0;
}

int lj_text_stream_decode(const struct llm_http *h, size_t cap,
			  int (*fn)(void *st, const struct sse_event *ev, struct llm_exchange *ex),
			  struct lj_text_stream *st, struct llm_exchange *ex)
{
	int err;

	memset(st, 0, sizeof(*st));
	ex->stream = true;
	dynbuf_init(&st->text, cap);
	err = lj_sse_each(h, cap, fn, st, ex);
	if (!err && (st->text.len || st->done))
		err = lj_add_text_output(ex, st->text.buf ? st->text.buf : "", st->text.len,
					 st->finish);
	if (!st->done)
		ex->incomplete = true;
	return err;
}

void lj_text_stream_free(struct lj_text_stream *st)
{
	dynbuf_free(&st->text);
	free(st->finish);
	st->finish = NULL;
}

int lj_decode_end(const struct llm_http *h, struct llm_exchange *ex, int err, int r)
{
	bool cut = h->resp_incomplete || h->resp_truncated;

	/* a proxy's HTML error page or a cut body: status and incomplete tell it */
	if (r == -EBADMSG && (h->status >= 400 || cut))
		r = 0;
	err = lj_err_worse(err, r);
	if (cut)
		ex->incomplete = true;
	return lj_err_worse(err, lj_status_error(h, ex));
}
