// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzzes every LLM API decoder: the first byte picks the API and the
 * response framing, the rest is split into a request and a response body.
 * Whatever the bytes, decoding ends, frees everything and produces JSON
 * that serialises.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm/llm.h"

static const char *hdr(const void *ctx, const char *name)
{
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ctypes[] = { "application/json", "text/event-stream",
					      "application/x-ndjson", NULL };
	struct llm_http h = { 0 };
	struct llm_exchange ex;
	size_t split;
	enum llm_api api;
	json_t *j;
	char *s;

	if (size < 3)
		return 0;
	api = (enum llm_api)(1 + data[0] % LLM_API_UNKNOWN_JSON);
	h.resp_content_type = ctypes[(data[0] >> 4) & 3];
	split = data[1] * (size - 2) / 255;
	h.method = "POST";
	h.path = api == LLM_API_GEMINI ? "/v1beta/models/g:streamGenerateContent" : "/v1/x";
	h.status = (data[0] & 8) ? 429 : 200;
	h.req_body = (const char *)data + 2;
	h.req_len = split;
	h.resp_body = (const char *)data + 2 + split;
	h.resp_len = size - 2 - split;
	h.resp_incomplete = data[1] & 1;
	h.resp_header = hdr;
	llm_exchange_init(&ex);
	llm_decode(api, &h, &ex);
	j = llm_exchange_to_json(&ex);
	s = json_dumps(j, JSON_COMPACT);
	if (j && !s)
		abort();
	free(s);
	json_decref(j);
	llm_exchange_clear(&ex);
	return 0;
}
