// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Ollama, Hugging Face TGI and llama.cpp native APIs. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "llm/llm.h"
#include "llm_fixture.h"
#include "test.h"
#include "util/dynbuf.h"

TEST(llm_selfhosted_ollama_chat_stream)
{
	LLM_FIXTURE_CHECK("ollama", "chat_stream");
}

TEST(llm_selfhosted_ollama_chat_nostream_tools)
{
	LLM_FIXTURE_CHECK("ollama", "chat_nostream_tools");
}

TEST(llm_selfhosted_ollama_generate_system)
{
	LLM_FIXTURE_CHECK("ollama", "generate_system");
}

TEST(llm_selfhosted_ollama_embed)
{
	LLM_FIXTURE_CHECK("ollama", "embed");
}

TEST(llm_selfhosted_ollama_chat_stream_cut)
{
	LLM_FIXTURE_CHECK("ollama", "chat_stream_cut");
}

TEST(llm_selfhosted_tgi_generate)
{
	LLM_FIXTURE_CHECK("tgi", "generate");
}

TEST(llm_selfhosted_tgi_generate_stream)
{
	LLM_FIXTURE_CHECK("tgi", "generate_stream");
}

TEST(llm_selfhosted_llamacpp_completion)
{
	LLM_FIXTURE_CHECK("llamacpp", "completion");
}

TEST(llm_selfhosted_llamacpp_completion_stream)
{
	LLM_FIXTURE_CHECK("llamacpp", "completion_stream");
}

/* ---- hostile input ---- */

struct hdr {
	const char *name, *value;
};

static const char *hdr_lookup(const void *ctx, const char *name)
{
	for (const struct hdr *h = ctx; h && h->name; h++)
		if (!strcmp(h->name, name))
			return h->value;
	return NULL;
}

static int decode_h(enum llm_api api, const char *path, const char *req, const char *ctype,
		    const char *resp, size_t resp_len, int status, const struct hdr *hdrs,
		    struct llm_exchange *ex)
{
	struct llm_http h = {
		.method = "POST",
		.path = path,
		.status = status,
		.req_content_type = "application/json",
		.resp_content_type = ctype,
		.req_body = req,
		.req_len = strlen(req),
		.resp_body = resp,
		.resp_len = resp_len,
		.resp_header = hdr_lookup,
		.hdr_ctx = hdrs,
	};

	llm_exchange_init(ex);
	return llm_decode(api, &h, ex);
}

static int decode(enum llm_api api, const char *path, const char *req, const char *ctype,
		  const char *resp, int status, struct llm_exchange *ex)
{
	return decode_h(api, path, req, ctype, resp, strlen(resp), status, NULL, ex);
}

static const json_t *out_part(const struct llm_exchange *ex, size_t i)
{
	return json_array_get(json_object_get(json_array_get(ex->output_messages, 0), "parts"), i);
}

static const char *out_text(const struct llm_exchange *ex)
{
	return json_string_value(json_object_get(out_part(ex, 0), "content"));
}

/* Every decoder: garbage and empty bodies give -EBADMSG or 0, never a crash. */
TEST(llm_selfhosted_garbage_and_empty)
{
	static const struct {
		enum llm_api api;
		const char *path;
	} apis[] = {
		{ LLM_API_OLLAMA_CHAT, "/api/chat" },
		{ LLM_API_OLLAMA_GENERATE, "/api/generate" },
		{ LLM_API_OLLAMA_EMBED, "/api/embed" },
		{ LLM_API_TGI, "/generate" },
		{ LLM_API_TGI, "/generate_stream" },
		{ LLM_API_LLAMACPP, "/completion" },
	};
	static const char *const bodies[] = { "",      "x",	"{",	"[]",	 "null",   "\"s\"",
					      "[1,2]", "{}\n{", "\n\n", "data:", "data: {" };
	struct llm_exchange ex;

	for (size_t i = 0; i < sizeof(apis) / sizeof(apis[0]); i++) {
		for (size_t j = 0; j < sizeof(bodies) / sizeof(bodies[0]); j++) {
			int err = decode(apis[i].api, apis[i].path, bodies[j], NULL, bodies[j], 200,
					 &ex);

			ASSERT_TRUE(err == 0 || err == -EBADMSG);
			ASSERT_TRUE(ex.api_family && ex.operation);
			llm_exchange_clear(&ex);
		}
	}
	/* a proxy's error page */
	ASSERT_EQ(decode(LLM_API_OLLAMA_CHAT, "/api/chat", "{}", "text/html", "<html/>", 502, &ex),
		  0);
	ASSERT_STREQ(ex.error_type, "502");
	ASSERT_TRUE(!ex.incomplete);
	llm_exchange_clear(&ex);
}

TEST(llm_selfhosted_ollama_wrong_types)
{
	static const char req[] =
		"{\"model\":1,\"stream\":\"no\",\"options\":{\"temperature\":\"x\",\"num_predict\":"
		"1.5},\"messages\":[1,{\"role\":2,\"content\":3,\"images\":\"i\",\"tool_calls\":{}},"
		"{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[1,{\"function\":5},"
		"{\"id\":7,\"function\":{\"name\":[],\"arguments\":\"{}\"}}]}],\"tools\":[1,{}]}";
	static const char resp[] = "{\"model\":5,\"message\":{\"content\":7,\"tool_calls\":\"x\"},"
				   "\"done\":\"true\",\"eval_count\":\"3\"}\n"
				   "{\"message\":[],\"done\":true,\"done_reason\":1,"
				   "\"total_duration\":-4,\"prompt_eval_count\":2}\n";
	struct llm_exchange ex;
	const json_t *parts;

	ASSERT_EQ(decode(LLM_API_OLLAMA_CHAT, "/api/chat", req, "application/x-ndjson", resp, 200,
			 &ex),
		  0);
	ASSERT_TRUE(!ex.request_model && !ex.response_model && isnan(ex.temperature));
	ASSERT_EQ(ex.max_tokens, -1);
	/* "no" is not false: still the default, streaming */
	ASSERT_TRUE(ex.stream);
	ASSERT_EQ(json_array_size(ex.input_messages), 2);
	parts = json_object_get(json_array_get(ex.input_messages, 1), "parts");
	/* two object tool calls, neither with a usable id or name */
	ASSERT_EQ(json_array_size(parts), 2);
	ASSERT_TRUE(!json_object_get(json_array_get(parts, 1), "id"));
	ASSERT_TRUE(!json_object_get(json_array_get(parts, 1), "name"));
	ASSERT_EQ(json_array_size(ex.tool_definitions), 0);
	ASSERT_TRUE(!ex.finish_reasons && !ex.extra && !ex.incomplete);
	ASSERT_EQ(ex.usage.input_tokens, 2);
	ASSERT_EQ(ex.usage.output_tokens, -1);
	llm_exchange_clear(&ex);
}

TEST(llm_selfhosted_ollama_long_stream_and_caps)
{
	const int n = 5000;
	struct llm_exchange ex;
	struct dynbuf b;
	const json_t *parts;

	dynbuf_init(&b, 64u << 20);
	for (int i = 0; i < n; i++)
		ASSERT_EQ(dynbuf_append_str(&b,
					    "{\"model\":\"m\",\"message\":{\"role\":\"assistant\","
					    "\"content\":\"ab\",\"tool_calls\":[{\"function\":{"
					    "\"name\":\"f\",\"arguments\":{}}}]},\"done\":false}"
					    "\n"),
			  0);
	ASSERT_EQ(dynbuf_append_str(&b, "garbage line\n{\"done\":true,\"done_reason\":\"length\","
					"\"eval_count\":5000}"),
		  0);
	ASSERT_EQ(decode_h(LLM_API_OLLAMA_CHAT, "/api/chat", "{\"model\":\"m\"}", NULL, b.buf,
			   b.len, 200, NULL, &ex),
		  0);
	ASSERT_TRUE(ex.stream && !ex.incomplete);
	ASSERT_UEQ(strlen(out_text(&ex)), 2 * n);
	/* the text part and at most 128 tool calls */
	parts = json_object_get(json_array_get(ex.output_messages, 0), "parts");
	ASSERT_EQ(json_array_size(parts), 1 + 128);
	ASSERT_EQ(ex.usage.output_tokens, 5000);
	llm_exchange_clear(&ex);
	dynbuf_free(&b);
}

TEST(llm_selfhosted_ollama_errors)
{
	static const char mid[] =
		"{\"model\":\"m\",\"message\":{\"content\":\"Hi\"},\"done\":false}\n"
		"{\"error\":\"an error was encountered while running the model\"}\n";
	struct llm_exchange ex;

	/* mid-stream error after a 200: no done, so incomplete */
	ASSERT_EQ(decode(LLM_API_OLLAMA_CHAT, "/api/chat", "{}", "application/x-ndjson", mid, 200,
			 &ex),
		  0);
	ASSERT_STREQ(ex.error_type, "_OTHER");
	ASSERT_STREQ(ex.error_message, "an error was encountered while running the model");
	ASSERT_TRUE(ex.incomplete);
	ASSERT_STREQ(out_text(&ex), "Hi");
	llm_exchange_clear(&ex);
	/* a plain error answer */
	ASSERT_EQ(decode(LLM_API_OLLAMA_GENERATE, "/api/generate", "{\"model\":\"nope\"}",
			 "application/json", "{\"error\":\"model 'nope' not found\"}", 404, &ex),
		  0);
	ASSERT_STREQ(ex.error_type, "404");
	ASSERT_STREQ(ex.error_message, "model 'nope' not found");
	ASSERT_TRUE(!ex.incomplete && !ex.output_messages);
	llm_exchange_clear(&ex);
}

TEST(llm_selfhosted_ollama_legacy_embeddings)
{
	struct llm_exchange ex;

	ASSERT_EQ(decode(LLM_API_OLLAMA_EMBED, "/api/embeddings",
			 "{\"model\":\"all-minilm\",\"prompt\":\"hello\"}", "application/json",
			 "{\"embedding\":[0.1,0.2,0.3,0.4]}", 200, &ex),
		  0);
	ASSERT_EQ(ex.embedding_dimensions, 4);
	ASSERT_STREQ(ex.operation, "embeddings");
	ASSERT_TRUE(!ex.stream && !ex.incomplete);
	llm_exchange_clear(&ex);
	/* embeddings of the wrong shape */
	ASSERT_EQ(decode(LLM_API_OLLAMA_EMBED, "/api/embed", "{\"input\":5}", "application/json",
			 "{\"embeddings\":[1,2],\"embedding\":{}}", 200, &ex),
		  0);
	ASSERT_EQ(ex.embedding_dimensions, -1);
	ASSERT_TRUE(!ex.input_messages);
	llm_exchange_clear(&ex);
}

TEST(llm_selfhosted_tgi_shapes)
{
	static const struct hdr hdrs[] = { { "x-prompt-tokens", "12" },
					   { "x-generated-tokens", "7x" },
					   { "x-queue-time", "-1" },
					   { NULL, NULL } };
	static const char arr[] = "[{\"generated_text\":\"Hello!\"}]";
	struct llm_exchange ex;

	/* the Inference API's array form; header counts fill what details lack */
	ASSERT_EQ(decode_h(LLM_API_TGI, "/generate", "{\"inputs\":\"Hi\"}", "application/json", arr,
			   strlen(arr), 200, hdrs, &ex),
		  0);
	ASSERT_STREQ(out_text(&ex), "Hello!");
	ASSERT_TRUE(!ex.finish_reasons && !ex.extra);
	ASSERT_EQ(ex.usage.input_tokens, 12);
	ASSERT_EQ(ex.usage.output_tokens, -1);
	llm_exchange_clear(&ex);
	/* prefill tokens count the prompt */
	ASSERT_EQ(decode(LLM_API_TGI, "/generate", "{\"inputs\":\"Hi\",\"parameters\":7}", NULL,
			 "{\"generated_text\":\"x\",\"details\":{\"finish_reason\":\"eos_token\","
			 "\"generated_tokens\":1,\"prefill\":[{},{},{}]}}",
			 200, &ex),
		  0);
	ASSERT_EQ(ex.usage.input_tokens, 3);
	ASSERT_EQ(ex.usage.output_tokens, 1);
	ASSERT_EQ(ex.max_tokens, -1);
	llm_exchange_clear(&ex);
	/* a validation error */
	ASSERT_EQ(decode(LLM_API_TGI, "/generate", "{\"inputs\":\"Hi\"}", "application/json",
			 "{\"error\":\"Input validation error: `inputs` must have less than 4096 "
			 "tokens\",\"error_type\":\"validation\"}",
			 422, &ex),
		  0);
	ASSERT_STREQ(ex.error_type, "validation");
	ASSERT_TRUE(!ex.output_messages);
	llm_exchange_clear(&ex);
}

TEST(llm_selfhosted_tgi_stream_oddities)
{
	static const char body[] =
		"data:{\"token\":{\"text\":\"<s>\",\"special\":true}}\n\n"
		"data:{\"token\":{\"text\":7}}\n\n"
		"data:{\"token\":\"x\"}\n\n"
		"data:not json\n\n"
		"data:{\"token\":{\"text\":\"A\",\"special\":false}}\n\n"
		"data:{\"error\":\"Request failed during generation: Server error: CUDA out of memory\","
		"\"error_type\":\"generation\"}\n\n";
	struct llm_exchange ex;

	ASSERT_EQ(decode(LLM_API_TGI, "/generate_stream", "{\"inputs\":\"q\"}", "text/event-stream",
			 body, 200, &ex),
		  0);
	ASSERT_STREQ(out_text(&ex), "A");
	ASSERT_STREQ(ex.error_type, "generation");
	ASSERT_TRUE(ex.stream && ex.incomplete);
	/* the special token is not content: the first content is "A" */
	ASSERT_EQ(ex.first_content_offset, strstr(strstr(body, "\"A\""), "\n\n") - body + 2);
	llm_exchange_clear(&ex);
}

TEST(llm_selfhosted_tgi_long_stream)
{
	const int n = 5000;
	struct llm_exchange ex;
	struct dynbuf b;

	dynbuf_init(&b, 64u << 20);
	for (int i = 0; i < n; i++)
		ASSERT_EQ(dynbuf_append_str(
				  &b, "data:{\"token\":{\"id\":1,\"text\":\"tok\",\"special\":"
				      "false},\"generated_text\":null,\"details\":null}\n\n"),
			  0);
	ASSERT_EQ(decode_h(LLM_API_TGI, "/generate_stream", "{\"inputs\":\"q\"}",
			   "text/event-stream", b.buf, b.len, 200, NULL, &ex),
		  0);
	ASSERT_UEQ(strlen(out_text(&ex)), 3 * n);
	ASSERT_TRUE(ex.incomplete);
	llm_exchange_clear(&ex);
	dynbuf_free(&b);
}

TEST(llm_selfhosted_llamacpp_shapes)
{
	struct llm_exchange ex;
	const json_t *parts;

	/* prompts mixing strings, token ids and objects; older stopped_* flags */
	ASSERT_EQ(decode(LLM_API_LLAMACPP, "/completion",
			 "{\"prompt\":[\"a\",[1,2],12,{\"prompt_string\":\"b\"},{\"x\":1}],"
			 "\"n_predict\":\"8\",\"temperature\":1}",
			 "application/json",
			 "{\"content\":\"ok\",\"stop\":true,\"stopped_word\":true,"
			 "\"timings\":{\"prompt_n\":3,\"cache_n\":2,\"predicted_n\":1}}",
			 200, &ex),
		  0);
	parts = json_object_get(json_array_get(ex.input_messages, 0), "parts");
	ASSERT_EQ(json_array_size(parts), 2);
	ASSERT_EQ(ex.max_tokens, -1);
	ASSERT_STREQ(json_string_value(json_array_get(ex.finish_reasons, 0)), "word");
	ASSERT_EQ(ex.usage.input_tokens, 5);
	ASSERT_EQ(ex.usage.cache_read_input_tokens, 2);
	ASSERT_EQ(ex.usage.output_tokens, 1);
	llm_exchange_clear(&ex);
	/* stop_type "none": no finish reason */
	ASSERT_EQ(decode(LLM_API_LLAMACPP, "/completion", "{\"prompt\":7}", NULL,
			 "{\"content\":\"\",\"stop_type\":\"none\",\"timings\":[]}", 200, &ex),
		  0);
	ASSERT_TRUE(!ex.finish_reasons && !ex.input_messages && !ex.extra);
	llm_exchange_clear(&ex);
	/* the server's error object */
	ASSERT_EQ(decode(LLM_API_LLAMACPP, "/completion", "{}", "application/json",
			 "{\"error\":{\"code\":400,\"message\":\"the request exceeds the available "
			 "context size\",\"type\":\"exceed_context_size_error\"}}",
			 400, &ex),
		  0);
	ASSERT_STREQ(ex.error_type, "exceed_context_size_error");
	llm_exchange_clear(&ex);
}

TEST(llm_selfhosted_llamacpp_stream_error_line)
{
	static const char body[] = "data: {\"content\":\"Hel\",\"stop\":false}\n\n"
				   "error: {\"code\":500,\"message\":\"slot unavailable\","
				   "\"type\":\"server_error\"}\n\n";
	struct llm_exchange ex;

	ASSERT_EQ(decode(LLM_API_LLAMACPP, "/completion", "{\"stream\":true}", "text/event-stream",
			 body, 200, &ex),
		  0);
	ASSERT_STREQ(out_text(&ex), "Hel");
	ASSERT_STREQ(ex.error_type, "server_error");
	ASSERT_STREQ(ex.error_message, "slot unavailable");
	ASSERT_TRUE(ex.incomplete && ex.stream);
	ASSERT_EQ(ex.first_content_offset, strstr(body, "error:") - body);
	llm_exchange_clear(&ex);
}

TEST(llm_selfhosted_llamacpp_long_stream)
{
	const int n = 5000;
	struct llm_exchange ex;
	struct dynbuf b;

	dynbuf_init(&b, 64u << 20);
	for (int i = 0; i < n; i++)
		ASSERT_EQ(dynbuf_append_str(&b, "data: {\"content\":\"xy\",\"stop\":false}\n\n"),
			  0);
	ASSERT_EQ(dynbuf_append_str(&b, "data: {\"content\":\"\",\"stop\":true,\"stop_type\":"
					"\"eos\",\"tokens_predicted\":5000}\n\n"),
		  0);
	ASSERT_EQ(
		decode_h(LLM_API_LLAMACPP, "/completion", "{}", NULL, b.buf, b.len, 200, NULL, &ex),
		0);
	ASSERT_UEQ(strlen(out_text(&ex)), 2 * n);
	ASSERT_TRUE(ex.stream && !ex.incomplete);
	ASSERT_EQ(ex.usage.output_tokens, 5000);
	llm_exchange_clear(&ex);
	dynbuf_free(&b);
}
