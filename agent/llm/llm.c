// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The normalised exchange, API detection and the decoders' shared helpers. */
#include "llm.h"
#include "json_util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void llm_usage_init(struct llm_usage *u)
{
	u->input_tokens = u->output_tokens = -1;
	u->cache_read_input_tokens = u->cache_creation_input_tokens = -1;
	u->reasoning_output_tokens = -1;
}

void llm_exchange_init(struct llm_exchange *ex)
{
	memset(ex, 0, sizeof(*ex));
	ex->temperature = NAN;
	ex->top_p = NAN;
	ex->max_tokens = -1;
	ex->first_content_offset = -1;
	ex->embedding_dimensions = -1;
	llm_usage_init(&ex->usage);
}

void llm_exchange_clear(struct llm_exchange *ex)
{
	free(ex->request_model);
	free(ex->response_model);
	free(ex->response_id);
	free(ex->conversation_id);
	free(ex->system_fingerprint);
	free(ex->error_type);
	free(ex->error_message);
	json_decref(ex->system_instructions);
	json_decref(ex->input_messages);
	json_decref(ex->output_messages);
	json_decref(ex->tool_definitions);
	json_decref(ex->finish_reasons);
	json_decref(ex->extra);
	llm_exchange_init(ex);
}

static const char *const api_names[] = {
	[LLM_API_NONE] = "none",
	[LLM_API_OPENAI_CHAT] = "openai_chat",
	[LLM_API_OPENAI_COMPLETIONS] = "openai_completions",
	[LLM_API_OPENAI_EMBEDDINGS] = "openai_embeddings",
	[LLM_API_OPENAI_RESPONSES] = "openai_responses",
	[LLM_API_ANTHROPIC_MESSAGES] = "anthropic_messages",
	[LLM_API_GEMINI] = "gemini",
	[LLM_API_OLLAMA_CHAT] = "ollama_chat",
	[LLM_API_OLLAMA_GENERATE] = "ollama_generate",
	[LLM_API_OLLAMA_EMBED] = "ollama_embed",
	[LLM_API_TGI] = "tgi",
	[LLM_API_LLAMACPP] = "llamacpp",
	[LLM_API_UNKNOWN_JSON] = "unknown_json",
};

const char *llm_api_name(enum llm_api api)
{
	if ((size_t)api >= sizeof(api_names) / sizeof(api_names[0]) || !api_names[api])
		return "none";
	return api_names[api];
}

static void set_str(json_t *o, const char *k, const char *v)
{
	if (v)
		json_object_set_new(o, k, json_string(v));
}

static void set_count(json_t *o, const char *k, int64_t v)
{
	if (v >= 0)
		json_object_set_new(o, k, json_integer(v));
}

static void set_json(json_t *o, const char *k, json_t *v)
{
	if (v)
		json_object_set(o, k, v);
}

json_t *llm_exchange_to_json(const struct llm_exchange *ex)
{
	json_t *o = json_object(), *u = json_object();

	if (!o || !u) {
		json_decref(o);
		json_decref(u);
		return NULL;
	}
	set_str(o, "api", llm_api_name(ex->api));
	set_str(o, "operation", ex->operation);
	set_str(o, "api_family", ex->api_family);
	set_str(o, "request_model", ex->request_model);
	set_str(o, "response_model", ex->response_model);
	set_str(o, "response_id", ex->response_id);
	set_str(o, "conversation_id", ex->conversation_id);
	set_str(o, "system_fingerprint", ex->system_fingerprint);
	json_object_set_new(o, "stream", json_boolean(ex->stream));
	if (!isnan(ex->temperature))
		json_object_set_new(o, "temperature", json_real(ex->temperature));
	if (!isnan(ex->top_p))
		json_object_set_new(o, "top_p", json_real(ex->top_p));
	set_count(o, "max_tokens", ex->max_tokens);
	set_json(o, "system_instructions", ex->system_instructions);
	set_json(o, "input_messages", ex->input_messages);
	set_json(o, "output_messages", ex->output_messages);
	set_json(o, "tool_definitions", ex->tool_definitions);
	set_json(o, "finish_reasons", ex->finish_reasons);
	set_count(u, "input_tokens", ex->usage.input_tokens);
	set_count(u, "output_tokens", ex->usage.output_tokens);
	set_count(u, "cache_read_input_tokens", ex->usage.cache_read_input_tokens);
	set_count(u, "cache_creation_input_tokens", ex->usage.cache_creation_input_tokens);
	set_count(u, "reasoning_output_tokens", ex->usage.reasoning_output_tokens);
	json_object_set_new(o, "usage", u);
	set_str(o, "error_type", ex->error_type);
	set_str(o, "error_message", ex->error_message);
	json_object_set_new(o, "incomplete", json_boolean(ex->incomplete));
	set_count(o, "first_content_offset", ex->first_content_offset);
	set_count(o, "embedding_dimensions", ex->embedding_dimensions);
	set_json(o, "extra", ex->extra);
	return o;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

enum llm_api llm_api_detect(const char *method, const char *raw_path, const char *req_body,
			    size_t req_len)
{
	char path[1024];
	size_t n;

	if (!method || !raw_path || strcmp(method, "POST") != 0)
		return LLM_API_NONE;
	/* "/v1/chat/completions/" is the same endpoint */
	n = strlen(raw_path);
	while (n > 1 && raw_path[n - 1] == '/')
		n--;
	if (n >= sizeof(path))
		return LLM_API_NONE;
	memcpy(path, raw_path, n);
	path[n] = '\0';
	/* OpenAI Assistants threads also end in /messages: not the Messages API */
	if (strstr(path, "/threads/"))
		return LLM_API_NONE;
	if (ends_with(path, "/chat/completions"))
		return LLM_API_OPENAI_CHAT;
	if (ends_with(path, "/completions"))
		return LLM_API_OPENAI_COMPLETIONS;
	if (strcmp(path, "/api/embed") == 0 || strcmp(path, "/api/embeddings") == 0)
		return LLM_API_OLLAMA_EMBED;
	if (ends_with(path, "/embeddings"))
		return LLM_API_OPENAI_EMBEDDINGS;
	if (ends_with(path, "/responses"))
		return LLM_API_OPENAI_RESPONSES;
	if (ends_with(path, "/messages"))
		return LLM_API_ANTHROPIC_MESSAGES;
	if (ends_with(path, ":generateContent") || ends_with(path, ":streamGenerateContent"))
		return LLM_API_GEMINI;
	if (strcmp(path, "/api/chat") == 0)
		return LLM_API_OLLAMA_CHAT;
	if (strcmp(path, "/api/generate") == 0)
		return LLM_API_OLLAMA_GENERATE;
	if (strcmp(path, "/completion") == 0)
		return LLM_API_LLAMACPP;
	if (strcmp(path, "/generate") == 0 || strcmp(path, "/generate_stream") == 0) {
		/* TGI takes "inputs"; SGLang's native /generate takes "text" */
		if (req_body && memmem(req_body, req_len, "\"inputs\"", 8))
			return LLM_API_TGI;
		return LLM_API_UNKNOWN_JSON;
	}
	return LLM_API_NONE;
}

int llm_decode(enum llm_api api, const struct llm_http *h, struct llm_exchange *ex)
{
	ex->api = api;
	switch (api) {
	case LLM_API_OPENAI_CHAT:
	case LLM_API_OPENAI_COMPLETIONS:
	case LLM_API_OPENAI_EMBEDDINGS:
	case LLM_API_OPENAI_RESPONSES:
		return openai_decode(api, h, ex);
	case LLM_API_ANTHROPIC_MESSAGES:
		return anthropic_decode(h, ex);
	case LLM_API_GEMINI:
		return gemini_decode(h, ex);
	case LLM_API_OLLAMA_CHAT:
	case LLM_API_OLLAMA_GENERATE:
	case LLM_API_OLLAMA_EMBED:
		return ollama_decode(api, h, ex);
	case LLM_API_TGI:
		return tgi_decode(h, ex);
	case LLM_API_LLAMACPP:
		return llamacpp_decode(h, ex);
	case LLM_API_UNKNOWN_JSON:
		ex->operation = "unknown";
		return 0;
	case LLM_API_NONE:
		break;
	}
	return -EINVAL;
}

json_t *llm_text_part(const char *s, size_t len)
{
	return lj_part("text", lj_string_lossy(s, len));
}

json_t *llm_message(const char *role, json_t *parts)
{
	if (!parts)
		return NULL;
	return json_pack("{s:s, s:o}", "role", role ? role : "", "parts", parts);
}

char *llm_strdup_key(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

int64_t llm_int_key(const json_t *obj, const char *key)
{
	return lj_int(json_object_get(obj, key));
}

static bool ctype_is(const char *ct, const char *want)
{
	size_t n = strlen(want);

	return ct && strncasecmp(ct, want, n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

bool llm_is_sse(const struct llm_http *h)
{
	return ctype_is(h->resp_content_type, "text/event-stream");
}

bool llm_is_ndjson(const struct llm_http *h)
{
	return ctype_is(h->resp_content_type, "application/x-ndjson") ||
	       ctype_is(h->resp_content_type, "application/jsonl");
}
