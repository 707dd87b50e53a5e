/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The normalised LLM exchange every API decoder fills, and the decoders'
 * common entry point.  Content (messages, instructions, tool definitions)
 * is kept in OpenTelemetry GenAI's structured form as jansson values:
 *
 *   messages: [ { "role": "user", "parts": [ part, ... ] , "finish_reason"?: "stop" } ]
 *   part:     { "type": "text", "content": "..." }
 *           | { "type": "tool_call", "id": "...", "name": "...", "arguments": <json or string> }
 *           | { "type": "tool_call_response", "id": "...", "response": <json or string> }
 *           | { "type": "reasoning", "content": "..." }
 *   system_instructions: [ part, ... ]
 *   tool_definitions:    [ { "type": "function", "name": "...", "description"?: "...",
 *                            "parameters"?: {...} } ]
 *
 * Decoders are library code: no logging, no globals, bounded work; any
 * input (hostile JSON included) gives a result or an error, never a crash.
 */
#ifndef LLMTAP_LLM_H
#define LLMTAP_LLM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum llm_api {
	LLM_API_NONE = 0, /* not an LLM API this agent decodes */
	LLM_API_OPENAI_CHAT, /* POST .../chat/completions (OpenAI and compatible servers) */
	LLM_API_OPENAI_COMPLETIONS, /* POST .../completions (legacy) */
	LLM_API_OPENAI_EMBEDDINGS, /* POST .../embeddings */
	LLM_API_OPENAI_RESPONSES, /* POST .../responses */
	LLM_API_ANTHROPIC_MESSAGES, /* POST .../messages */
	LLM_API_GEMINI, /* ...:generateContent / :streamGenerateContent */
	LLM_API_OLLAMA_CHAT, /* POST /api/chat */
	LLM_API_OLLAMA_GENERATE, /* POST /api/generate */
	LLM_API_OLLAMA_EMBED, /* POST /api/embed, /api/embeddings */
	LLM_API_TGI, /* POST /generate, /generate_stream */
	LLM_API_LLAMACPP, /* POST /completion */
	LLM_API_UNKNOWN_JSON, /* a JSON API of a known LLM host: raw bodies kept */
};

/* Token counts, normalised to OTel: input includes cached tokens, output
 * includes reasoning tokens; -1 when the API did not say. */
struct llm_usage {
	int64_t input_tokens;
	int64_t output_tokens;
	int64_t cache_read_input_tokens;
	int64_t cache_creation_input_tokens;
	int64_t reasoning_output_tokens;
};

/* What the HTTP layer hands a decoder: bodies already de-chunked and
 * decompressed.  Pointers are borrowed for the call. */
struct llm_http {
	const char *method;
	const char *path; /* without the query */
	const char *query; /* after '?', or NULL */
	const char *host; /* Host header or SNI, port removed, lower-case; may be NULL */
	int status; /* 0 when there was no response */
	const char *req_content_type, *resp_content_type; /* may be NULL */
	const char *req_body;
	size_t req_len;
	const char *resp_body;
	size_t resp_len;
	bool resp_incomplete; /* the response ended early (connection cut, gap) */
	bool resp_truncated; /* the body was cut at the capture cap */
	/* response header lookup (lower-case name), NULL when absent */
	const char *(*resp_header)(const void *ctx, const char *name);
	const void *hdr_ctx;
};

struct llm_exchange {
	enum llm_api api;
	const char *operation; /* OTel gen_ai.operation.name (static string) */
	const char
		*api_family; /* "openai", "anthropic", "gcp.gemini", "ollama", "tgi", "llama.cpp" */
	char *request_model, *response_model, *response_id, *conversation_id;
	char *system_fingerprint; /* OpenAI-style servers: tells vLLM / llama.cpp apart */
	bool stream; /* the response was streamed (SSE / NDJSON) */
	double temperature, top_p; /* NaN when absent */
	int64_t max_tokens; /* -1 when absent */
	json_t *system_instructions; /* array of parts, or NULL */
	json_t *input_messages; /* array of messages, or NULL */
	json_t *output_messages; /* array of messages, or NULL */
	json_t *tool_definitions; /* array, or NULL */
	json_t *finish_reasons; /* array of strings, or NULL */
	struct llm_usage usage;
	char *error_type; /* e.g. "rate_limit_error", "429"; NULL when no error */
	char *error_message;
	bool incomplete; /* a stream without its end marker, or a cut body */
	/* offset in the response body just past the first content-bearing
	 * stream event (text, tool call, reasoning), -1 if none: the HTTP layer
	 * turns it into a time for gen_ai.response.time_to_first_chunk */
	int64_t first_content_offset;
	int64_t embedding_dimensions; /* -1 when not embeddings */
	json_t *extra; /* object of API-specific attributes (OTel names where they exist), or NULL */
};

/* Short stable name of an API ("openai_chat", "anthropic_messages", ...). */
const char *llm_api_name(enum llm_api api);
/*
 * The exchange as one JSON object with the field names of struct
 * llm_exchange ("api", "operation", "request_model", ..., "usage": {...});
 * absent values are omitted.  Used by tests and by record building.
 */
json_t *llm_exchange_to_json(const struct llm_exchange *ex);

/* Sets every field to its "absent" value. */
void llm_exchange_init(struct llm_exchange *ex);
/* Frees what the exchange owns and re-initialises it. NULL-safe fields. */
void llm_exchange_clear(struct llm_exchange *ex);
void llm_usage_init(struct llm_usage *u);

/* Which API a request is, from method and path (and a peek at the body for
 * /generate, shared by TGI and SGLang). */
enum llm_api llm_api_detect(const char *method, const char *path, const char *req_body,
			    size_t req_len);

/*
 * Decodes one exchange.  ex must be initialised; on return it holds what
 * could be decoded even when the result is an error.  Returns 0, -EBADMSG
 * when a body is not the JSON the API uses (ex still says which API), or
 * -ENOMEM.
 */
int llm_decode(enum llm_api api, const struct llm_http *h, struct llm_exchange *ex);

/* Tests set this to compare openai.c's allocation-free stream-chunk path
 * with the jansson path it falls back to; never set in the agent. */
extern bool openai_sse_fast_off;

/* One decoder per API family (agent/llm/<family>.c); same contract as llm_decode. */
int openai_decode(enum llm_api api, const struct llm_http *h, struct llm_exchange *ex);
int anthropic_decode(const struct llm_http *h, struct llm_exchange *ex);
int gemini_decode(const struct llm_http *h, struct llm_exchange *ex);
int ollama_decode(enum llm_api api, const struct llm_http *h, struct llm_exchange *ex);
int tgi_decode(const struct llm_http *h, struct llm_exchange *ex);
int llamacpp_decode(const struct llm_http *h, struct llm_exchange *ex);

/* Helpers shared by the decoders (agent/llm/llm.c; more in json_util.h). */
/* A new {"type":"text","content":s[0..len)} part, each byte of s that is not
 * part of well-formed UTF-8 replaced by U+FFFD; NULL only on -ENOMEM. */
json_t *llm_text_part(const char *s, size_t len);
/* A new {"role": role, "parts": parts} message (steals parts). */
json_t *llm_message(const char *role, json_t *parts);
/* A string copy of obj[key] if it is a string, else NULL (caller frees). */
char *llm_strdup_key(const json_t *obj, const char *key);
/* obj[key] when it is a non-negative integer, else -1 (absent: a negative
 * count or limit is treated as not given). */
int64_t llm_int_key(const json_t *obj, const char *key);
/* True when the response declares an event stream (text/event-stream). */
bool llm_is_sse(const struct llm_http *h);
bool llm_is_ndjson(const struct llm_http *h);

#endif
