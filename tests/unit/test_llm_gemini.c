// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "llm/llm.h"
#include "llm_fixture.h"
#include "test.h"
#include "util/dynbuf.h"

TEST(llm_gemini_plain)
{
	LLM_FIXTURE_CHECK("gemini", "plain");
}

TEST(llm_gemini_function_calling)
{
	LLM_FIXTURE_CHECK("gemini", "function_calling");
}

TEST(llm_gemini_thoughts)
{
	LLM_FIXTURE_CHECK("gemini", "thoughts");
}

TEST(llm_gemini_stream_sse)
{
	LLM_FIXTURE_CHECK("gemini", "stream_sse");
}

TEST(llm_gemini_stream_array)
{
	LLM_FIXTURE_CHECK("gemini", "stream_array");
}

TEST(llm_gemini_stream_array_cut)
{
	LLM_FIXTURE_CHECK("gemini", "stream_array_cut");
}

TEST(llm_gemini_error_quota)
{
	LLM_FIXTURE_CHECK("gemini", "error_quota");
}

/* ---- hostile input ---- */

static int decode(const char *path, const char *req, const char *ctype, const char *resp,
		  size_t resp_len, int status, struct llm_exchange *ex)
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
	};

	llm_exchange_init(ex);
	return llm_decode(LLM_API_GEMINI, &h, ex);
}

static const char *out_text(const struct llm_exchange *ex, size_t msg, size_t part)
{
	const json_t *m = json_array_get(ex->output_messages, msg);

	return json_string_value(
		json_object_get(json_array_get(json_object_get(m, "parts"), part), "content"));
}

TEST(llm_gemini_model_from_path)
{
	static const struct {
		const char *path, *model;
	} cases[] = {
		{ "/v1beta/models/gemini-2.0-flash:generateContent", "gemini-2.0-flash" },
		{ "/v1beta/tunedModels/my-tuned-1:generateContent", "my-tuned-1" },
		{ "/v1/projects/p/locations/l/publishers/google/models/gemini-2.5-pro:"
		  "streamGenerateContent",
		  "gemini-2.5-pro" },
		{ "/:generateContent", NULL },
		{ ":generateContent", NULL },
		{ "/v1beta/models/:generateContent", NULL },
	};
	struct llm_exchange ex;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		decode(cases[i].path, "{}", NULL, "", 0, 0, &ex);
		if (cases[i].model)
			ASSERT_STREQ(ex.request_model, cases[i].model);
		else
			ASSERT_TRUE(!ex.request_model);
		llm_exchange_clear(&ex);
	}
}

TEST(llm_gemini_not_json)
{
	struct llm_exchange ex;

	ASSERT_EQ(decode("/v1beta/models/m:generateContent", "nope", "application/json", "{x", 2,
			 200, &ex),
		  -EBADMSG);
	ASSERT_STREQ(ex.api_family, "gcp.gemini");
	ASSERT_STREQ(ex.request_model, "m");
	llm_exchange_clear(&ex);
	ASSERT_EQ(decode("/v1beta/models/m:generateContent", "", NULL, "", 0, 0, &ex), -EBADMSG);
	llm_exchange_clear(&ex);
	ASSERT_EQ(decode("/v1beta/models/m:generateContent", "{}", "text/html", "<html>", 6, 503,
			 &ex),
		  0);
	ASSERT_STREQ(ex.error_type, "503");
	llm_exchange_clear(&ex);
}

TEST(llm_gemini_wrong_types)
{
	static const char req[] =
		"{\"contents\":[1,{\"role\":5,\"parts\":\"x\"},{\"role\":\"model\",\"parts\":[1,"
		"{\"text\":2},{\"functionCall\":\"f\"},{\"functionResponse\":{\"name\":3}},"
		"{\"inlineData\":{\"mimeType\":7,\"data\":\"QUJD\"}},{\"text\":\"ok\",\"thought\":"
		"\"yes\"}]}],\"systemInstruction\":[1],\"generationConfig\":{\"temperature\":\"1\","
		"\"topP\":null,\"maxOutputTokens\":-5},\"tools\":[1,{\"functionDeclarations\":"
		"{\"a\":1}},{\"functionDeclarations\":[1,{\"name\":[]}]}]}";
	static const char resp[] =
		"{\"candidates\":{\"a\":1},\"usageMetadata\":[1],\"modelVersion\":1,\"responseId\":{},"
		"\"error\":\"x\"}";
	struct llm_exchange ex;
	const json_t *parts;

	ASSERT_EQ(decode("/v1beta/models/m:generateContent", req, "application/json", resp,
			 strlen(resp), 200, &ex),
		  0);
	ASSERT_TRUE(isnan(ex.temperature) && isnan(ex.top_p));
	ASSERT_EQ(ex.max_tokens, -1);
	ASSERT_TRUE(!ex.system_instructions && !ex.response_model && !ex.response_id);
	ASSERT_TRUE(!ex.output_messages && !ex.error_type);
	ASSERT_EQ(ex.usage.input_tokens, -1);
	ASSERT_EQ(json_array_size(ex.input_messages), 2);
	parts = json_object_get(json_array_get(ex.input_messages, 1), "parts");
	/* functionResponse without a name, inlineData without a mime type, "ok" */
	ASSERT_EQ(json_array_size(parts), 3);
	ASSERT_STREQ(json_string_value(json_object_get(json_array_get(parts, 1), "type")), "file");
	ASSERT_STREQ(json_string_value(json_object_get(json_array_get(parts, 2), "type")), "text");
	/* one declaration object, no name */
	ASSERT_EQ(json_array_size(ex.tool_definitions), 1);
	llm_exchange_clear(&ex);
}

TEST(llm_gemini_candidate_indexes)
{
	struct llm_exchange ex;
	struct dynbuf b;

	/* 1,000 candidates: capped; absurd indexes ignored */
	dynbuf_init(&b, 1u << 20);
	dynbuf_append_str(&b, "{\"candidates\":[{\"index\":1000000000000,\"content\":{\"parts\":"
			      "[{\"text\":\"big\"}]}},{\"index\":-1,\"content\":{\"parts\":[{"
			      "\"text\":\"neg\"}]}}");
	for (int i = 0; i < 1000; i++)
		dynbuf_append_str(&b, ",{\"content\":{\"parts\":[{\"text\":\"c\"}]},"
				      "\"finishReason\":\"STOP\"}");
	dynbuf_append_str(&b, "]}");
	ASSERT_TRUE(!b.truncated);
	ASSERT_EQ(decode("/v1beta/models/m:generateContent", "{}", "application/json", b.buf, b.len,
			 200, &ex),
		  0);
	/* positions 2..63 are used (index by position when absent) */
	ASSERT_EQ(json_array_size(ex.output_messages), 62);
	ASSERT_EQ(json_array_size(ex.finish_reasons), 62);
	ASSERT_STREQ(out_text(&ex, 0, 0), "c");
	llm_exchange_clear(&ex);
	dynbuf_free(&b);
}

TEST(llm_gemini_array_stream_oddities)
{
	static const struct {
		const char *body;
		bool incomplete;
		const char *text;
	} cases[] = {
		{ "[]", false, NULL },
		{ "[", true, NULL },
		{ "  [ 1, \"s\", [], {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]},"
		  "\"finishReason\":\"STOP\"}]} ]",
		  false, "a" },
		{ "[{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}]},,,{\"candidates\":"
		  "[{\"content\":{\"parts\":[{\"text\":\"b\"}]}}]} garbage",
		  true, "ab" },
		{ "[{\"error\":{\"code\":503,\"message\":\"The model is overloaded.\"}}]", false,
		  NULL },
	};
	struct llm_exchange ex;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ASSERT_EQ(decode("/v1beta/models/m:streamGenerateContent", "{}", "application/json",
				 cases[i].body, strlen(cases[i].body), 200, &ex),
			  0);
		ASSERT_TRUE(ex.stream);
		ASSERT_EQ(ex.incomplete, cases[i].incomplete);
		if (cases[i].text)
			ASSERT_STREQ(out_text(&ex, 0, 0), cases[i].text);
		else
			ASSERT_TRUE(!ex.output_messages);
		llm_exchange_clear(&ex);
	}
	/* the error element, with a code and no status */
	decode("/v1beta/models/m:streamGenerateContent", "{}", NULL, cases[4].body,
	       strlen(cases[4].body), 200, &ex);
	ASSERT_STREQ(ex.error_type, "503");
	ASSERT_STREQ(ex.error_message, "The model is overloaded.");
	llm_exchange_clear(&ex);
}

TEST(llm_gemini_sse_parts_order)
{
	static const char body[] =
		"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"th\",\"thought\":true}]}}]}"
		"\n\n"
		"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"ink\",\"thought\":true},"
		"{\"text\":\"Hel\"}]}}]}\n\n"
		"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"lo\"},{\"functionCall\":"
		"{\"id\":\"c1\",\"name\":\"f\",\"args\":{\"x\":1}}}]},\"finishReason\":\"STOP\"}],"
		"\"usageMetadata\":{\"promptTokenCount\":5,\"toolUsePromptTokenCount\":3,"
		"\"thoughtsTokenCount\":4}}\n\n";
	struct llm_exchange ex;
	const json_t *parts, *call;

	ASSERT_EQ(decode("/v1beta/models/m:streamGenerateContent", "{}", NULL, body,
			 sizeof(body) - 1, 200, &ex),
		  0);
	ASSERT_TRUE(ex.stream && !ex.incomplete);
	parts = json_object_get(json_array_get(ex.output_messages, 0), "parts");
	ASSERT_EQ(json_array_size(parts), 3);
	ASSERT_STREQ(out_text(&ex, 0, 0), "think");
	ASSERT_STREQ(out_text(&ex, 0, 1), "Hello");
	call = json_array_get(parts, 2);
	ASSERT_STREQ(json_string_value(json_object_get(call, "id")), "c1");
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(call, "arguments"), "x")), 1);
	ASSERT_EQ(ex.usage.input_tokens, 8);
	ASSERT_EQ(ex.usage.output_tokens, 4);
	ASSERT_EQ(ex.usage.reasoning_output_tokens, 4);
	/* the first event already carried (reasoning) content */
	ASSERT_EQ(ex.first_content_offset, strchr(body, '\n') - body + 2);
	llm_exchange_clear(&ex);
}

TEST(llm_gemini_long_stream)
{
	const int n = 5000;
	struct llm_exchange ex;
	struct dynbuf b;

	dynbuf_init(&b, 64u << 20);
	for (int i = 0; i < n; i++)
		ASSERT_EQ(dynbuf_append_str(&b,
					    "data: {\"candidates\":[{\"content\":{\"parts\":[{"
					    "\"text\":\"xyz\"}]},\"index\":0}],"
					    "\"usageMetadata\":{\"promptTokenCount\":3}}\r\n\r\n"),
			  0);
	ASSERT_EQ(decode("/v1beta/models/m:streamGenerateContent", "{}", "text/event-stream", b.buf,
			 b.len, 200, &ex),
		  0);
	ASSERT_UEQ(strlen(out_text(&ex, 0, 0)), 3 * n);
	/* no finishReason anywhere: the stream did not end */
	ASSERT_TRUE(ex.incomplete);
	ASSERT_EQ(ex.usage.input_tokens, 3);
	llm_exchange_clear(&ex);
	dynbuf_free(&b);
}

TEST(llm_gemini_block_reason)
{
	static const char resp[] = "{\"promptFeedback\":{\"blockReason\":\"SAFETY\"},"
				   "\"usageMetadata\":{\"promptTokenCount\":12}}";
	struct llm_exchange ex;

	ASSERT_EQ(decode("/v1beta/models/m:generateContent", "{}", "application/json", resp,
			 strlen(resp), 200, &ex),
		  0);
	ASSERT_STREQ(json_string_value(json_object_get(ex.extra, "gcp.gemini.prompt_block_reason")),
		     "SAFETY");
	ASSERT_TRUE(!ex.output_messages && !ex.incomplete);
	ASSERT_EQ(ex.usage.input_tokens, 12);
	ASSERT_EQ(ex.usage.output_tokens, -1);
	llm_exchange_clear(&ex);
}
