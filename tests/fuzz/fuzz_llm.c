// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzzes every LLM API decoder.  The first byte picks the API, the response
 * framing and the status; the second where the rest splits into a request
 * and a response body, and whether the response was cut; the third the
 * request path among the API's paths (decoders that read the path behave
 * differently per path) and whether the body hit the capture cap.
 * Whatever the bytes, decoding ends, frees everything and produces JSON
 * that serialises.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm/llm.h"

#define N_PATHS 4

/* The paths each API is served on; NULL ends a shorter list. */
static const char *const api_paths[][N_PATHS] = {
	[LLM_API_OPENAI_CHAT] = { "/v1/chat/completions" },
	[LLM_API_OPENAI_COMPLETIONS] = { "/v1/completions" },
	[LLM_API_OPENAI_EMBEDDINGS] = { "/v1/embeddings" },
	[LLM_API_OPENAI_RESPONSES] = { "/v1/responses" },
	[LLM_API_ANTHROPIC_MESSAGES] = { "/v1/messages" },
	/* the model comes from the path; the stream flag from the action */
	[LLM_API_GEMINI] = { "/v1beta/models/gemini-2.0-flash:generateContent",
			     "/v1beta/models/gemini-2.0-flash:streamGenerateContent",
			     "/v1/projects/p/locations/l/publishers/google/models/"
			     "gemini-2.5-pro:streamGenerateContent",
			     "/v1beta/models/:generateContent" },
	[LLM_API_OLLAMA_CHAT] = { "/api/chat" },
	[LLM_API_OLLAMA_GENERATE] = { "/api/generate" },
	[LLM_API_OLLAMA_EMBED] = { "/api/embed", "/api/embeddings" },
	[LLM_API_TGI] = { "/generate", "/generate_stream" },
	[LLM_API_LLAMACPP] = { "/completion" },
	[LLM_API_UNKNOWN_JSON] = { "/generate" },
};

static const char *api_path(enum llm_api api, uint8_t pick)
{
	const char *const *paths = api_paths[api];
	int n = 0;

	while (n < N_PATHS && paths[n])
		n++;
	return n ? paths[pick % n] : "/v1/x";
}

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

	if (size < 4)
		return 0;
	api = (enum llm_api)(1 + data[0] % LLM_API_UNKNOWN_JSON);
	h.resp_content_type = ctypes[(data[0] >> 4) & 3];
	split = data[1] * (size - 3) / 255;
	h.method = "POST";
	h.path = api_path(api, data[2] & 3);
	h.status = (data[0] & 8) ? 429 : 200;
	h.req_body = (const char *)data + 3;
	h.req_len = split;
	h.resp_body = (const char *)data + 3 + split;
	h.resp_len = size - 3 - split;
	h.resp_incomplete = data[1] & 1;
	h.resp_truncated = data[2] & 4;
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
