// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * util/json_fast.c against json_dumps(JSON_COMPACT): any tree jansson parses
 * from the input, the input as one raw (unchecked) string and its first
 * bytes as a double must serialise byte for byte alike, or be refused.
 * Then the readers built on it: each input line becomes one SSE event of a
 * chat completions stream, decoded with the OpenAI fast path and without
 * it; the records must be identical.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm/llm.h"
#include "util/json_fast.h"

/* agent/llm/openai.c: turns its stream fast path off */

static void check(const json_t *j)
{
	struct json_fast_buf b = { 0 };
	char *ref = json_dumps(j, JSON_COMPACT);
	int err = json_fast_dump(j, &b);

	if (err && err != -EINVAL)
		abort();
	if (!err && (!ref || strlen(ref) != b.len || memcmp(ref, b.data, b.len) != 0))
		abort();
	/* a string the fast path refuses must be one jansson refuses too */
	if (err && ref && json_is_array(j) && json_array_size(j) == 1 &&
	    json_is_string(json_array_get(j, 0)))
		abort();
	free(ref);
	json_fast_buf_free(&b);
}

static const char *no_header(const void *ctx, const char *name)
{
	return NULL;
}

static char *decode_chat_stream(const char *body, size_t len, bool fast, int *rc)
{
	static const char req[] = "{\"model\":\"m\",\"stream\":true}";
	struct llm_http h = { 0 };
	struct llm_exchange ex;
	json_t *j;
	char *s;

	h.method = "POST";
	h.path = "/v1/chat/completions";
	h.status = 200;
	h.resp_content_type = "text/event-stream";
	h.req_body = req;
	h.req_len = sizeof(req) - 1;
	h.resp_body = body;
	h.resp_len = len;
	h.resp_header = no_header;
	openai_sse_fast_off = !fast;
	llm_exchange_init(&ex);
	*rc = llm_decode(LLM_API_OPENAI_CHAT, &h, &ex);
	j = llm_exchange_to_json(&ex);
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	llm_exchange_clear(&ex);
	openai_sse_fast_off = false;
	return s;
}

static void check_sse(const uint8_t *data, size_t size)
{
	/* each line grows by "data: " and a blank line */
	char *body = malloc(size * 8 + 16), *a, *b;
	size_t n = 0, i = 0;
	int rca, rcb;

	if (!body)
		return;
	while (i < size) {
		const uint8_t *nl = memchr(data + i, '\n', size - i);
		size_t len = nl ? (size_t)(nl - data - i) : size - i;

		memcpy(body + n, "data: ", 6);
		n += 6;
		memcpy(body + n, data + i, len);
		n += len;
		body[n++] = '\n';
		body[n++] = '\n';
		i += len + 1;
	}
	a = decode_chat_stream(body, n, true, &rca);
	b = decode_chat_stream(body, n, false, &rcb);
	if (rca != rcb || !a != !b || (a && strcmp(a, b) != 0))
		abort();
	free(a);
	free(b);
	free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	json_t *a = json_array();
	double d;

	if (j) {
		json_array_append(a, j);
		check(j);
		check(a);
		json_decref(j);
	}
	json_array_clear(a);
	json_array_append_new(a, json_stringn_nocheck((const char *)data, size));
	check(a);
	if (size >= sizeof(d)) {
		memcpy(&d, data, sizeof(d));
		if (isfinite(d)) {
			json_array_clear(a);
			json_array_append_new(a, json_real(d));
			check(a);
		}
	}
	json_decref(a);
	check_sse(data, size);
	return 0;
}
