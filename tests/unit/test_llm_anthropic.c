// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "llm/llm.h"
#include "llm_fixture.h"
#include "test.h"
#include "util/dynbuf.h"

TEST(llm_anthropic_plain)
{
	LLM_FIXTURE_CHECK("anthropic", "plain");
}

TEST(llm_anthropic_tools_multiturn)
{
	LLM_FIXTURE_CHECK("anthropic", "tools_multiturn");
}

TEST(llm_anthropic_stream_text)
{
	LLM_FIXTURE_CHECK("anthropic", "stream_text");
}

TEST(llm_anthropic_stream_tool_use)
{
	LLM_FIXTURE_CHECK("anthropic", "stream_tool_use");
}

TEST(llm_anthropic_stream_error_overloaded)
{
	LLM_FIXTURE_CHECK("anthropic", "stream_error_overloaded");
}

TEST(llm_anthropic_error_429)
{
	LLM_FIXTURE_CHECK("anthropic", "error_429");
}

TEST(llm_anthropic_stream_cut)
{
	LLM_FIXTURE_CHECK("anthropic", "stream_cut");
}

/* ---- hostile input ---- */

static int decode(const char *req, const char *ctype, const char *resp, size_t resp_len, int status,
		  struct llm_exchange *ex)
{
	struct llm_http h = {
		.method = "POST",
		.path = "/v1/messages",
		.status = status,
		.req_content_type = "application/json",
		.resp_content_type = ctype,
		.req_body = req,
		.req_len = strlen(req),
		.resp_body = resp,
		.resp_len = resp_len,
	};

	llm_exchange_init(ex);
	return llm_decode(LLM_API_ANTHROPIC_MESSAGES, &h, ex);
}

/* output_messages[0].parts[i] */
static const json_t *out_part(const struct llm_exchange *ex, size_t i)
{
	return json_array_get(json_object_get(json_array_get(ex->output_messages, 0), "parts"), i);
}

static const char *part_str(const json_t *part, const char *key)
{
	return json_string_value(json_object_get(part, key));
}

TEST(llm_anthropic_not_json)
{
	struct llm_exchange ex;
	const char *resp = "<html>bad gateway</html>";

	ASSERT_EQ(decode("model=claude", "text/html", resp, strlen(resp), 200, &ex), -EBADMSG);
	ASSERT_STREQ(ex.api_family, "anthropic");
	ASSERT_STREQ(ex.operation, "chat");
	ASSERT_TRUE(!ex.input_messages && !ex.output_messages);
	llm_exchange_clear(&ex);

	/* a proxy's error page: the status is the error, not a decoding failure */
	ASSERT_EQ(decode("{\"model\":\"m\"}", "text/html", resp, strlen(resp), 502, &ex), 0);
	ASSERT_STREQ(ex.error_type, "502");
	llm_exchange_clear(&ex);

	/* JSON, but not an object */
	ASSERT_EQ(decode("[1,2]", "application/json", "\"x\"", 3, 200, &ex), -EBADMSG);
	llm_exchange_clear(&ex);
}

TEST(llm_anthropic_empty_bodies)
{
	struct llm_exchange ex;

	ASSERT_EQ(decode("", NULL, "", 0, 0, &ex), -EBADMSG);
	ASSERT_TRUE(!ex.request_model && !ex.output_messages && !ex.error_type);
	llm_exchange_clear(&ex);
	ASSERT_EQ(decode("{}", NULL, "", 0, 200, &ex), 0);
	ASSERT_TRUE(!ex.input_messages && !ex.output_messages && !ex.incomplete);
	llm_exchange_clear(&ex);
	ASSERT_EQ(decode("{}", "text/event-stream", "", 0, 200, &ex), 0);
	llm_exchange_clear(&ex);
}

TEST(llm_anthropic_wrong_types)
{
	static const char req[] =
		"{\"model\":5,\"max_tokens\":\"many\",\"temperature\":\"hot\",\"top_p\":[1],"
		"\"stream\":\"yes\",\"system\":{\"text\":1},\"tools\":[1,{\"name\":2,"
		"\"input_schema\":\"x\"},\"s\"],\"messages\":[1,null,\"m\",{\"role\":7,"
		"\"content\":{\"a\":1}},{\"role\":\"user\",\"content\":[3,{\"type\":9},"
		"{\"type\":\"text\",\"text\":4},{\"type\":\"tool_use\",\"id\":1,\"input\":\"s\"},"
		"{\"type\":\"tool_result\",\"content\":7},{\"type\":\"image\",\"source\":{\"data\":"
		"\"QUJD\"}}]}]}";
	static const char resp[] = "{\"id\":1,\"model\":[],\"content\":{\"type\":\"text\"},"
				   "\"stop_reason\":5,\"usage\":{\"input_tokens\":\"9\","
				   "\"output_tokens\":-3,\"cache_read_input_tokens\":4}}";
	struct llm_exchange ex;
	const json_t *parts;

	ASSERT_EQ(decode(req, "application/json", resp, strlen(resp), 200, &ex), 0);
	ASSERT_TRUE(!ex.request_model && !ex.response_model && !ex.response_id);
	ASSERT_EQ(ex.max_tokens, -1);
	ASSERT_TRUE(isnan(ex.temperature) && isnan(ex.top_p));
	ASSERT_TRUE(!ex.stream && !ex.system_instructions && !ex.output_messages);
	ASSERT_EQ(json_array_size(ex.tool_definitions), 1);
	/* only the two object messages; a non-string role reads as user */
	ASSERT_EQ(json_array_size(ex.input_messages), 2);
	ASSERT_STREQ(
		json_string_value(json_object_get(json_array_get(ex.input_messages, 0), "role")),
		"user");
	parts = json_object_get(json_array_get(ex.input_messages, 1), "parts");
	ASSERT_EQ(json_array_size(parts), 3);
	ASSERT_STREQ(part_str(json_array_get(parts, 0), "type"), "tool_call");
	ASSERT_TRUE(!json_object_get(json_array_get(parts, 0), "id"));
	ASSERT_STREQ(part_str(json_array_get(parts, 1), "type"), "tool_call_response");
	/* the image keeps its kind only */
	ASSERT_EQ(json_object_size(json_array_get(parts, 2)), 1);
	ASSERT_EQ(ex.usage.input_tokens, -1);
	ASSERT_EQ(ex.usage.output_tokens, -1);
	ASSERT_EQ(ex.usage.cache_read_input_tokens, 4);
	ASSERT_TRUE(!ex.finish_reasons);
	llm_exchange_clear(&ex);
}

TEST(llm_anthropic_stream_hostile_events)
{
	static const char body[] =
		": comment\n\n"
		"event: message_start\ndata: {\"type\":\"message_start\",\"message\":7}\n\n"
		"event: message_start\ndata: not json\n\n"
		"event: content_block_start\ndata: {\"index\":1000000000000,\"content_block\":"
		"{\"type\":\"text\"}}\n\n"
		"event: content_block_delta\ndata: {\"index\":-1,\"delta\":{\"type\":\"text_delta\","
		"\"text\":\"neg\"}}\n\n"
		"event: content_block_delta\ndata: {\"index\":128,\"delta\":{\"type\":\"text_delta\","
		"\"text\":\"big\"}}\n\n"
		"event: content_block_delta\ndata: {\"index\":\"0\",\"delta\":{\"type\":\"text_delta\","
		"\"text\":\"str\"}}\n\n"
		"event: content_block_delta\ndata: {\"index\":127,\"delta\":{\"type\":\"text_delta\","
		"\"text\":\"ok\"}}\n\n"
		/* a json delta into a text block is ignored */
		"event: content_block_delta\ndata: {\"index\":127,\"delta\":{\"type\":"
		"\"input_json_delta\",\"partial_json\":\"{\"}}\n\n"
		"event: content_block_delta\ndata: {\"index\":3,\"delta\":{\"type\":"
		"\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":\"}}\n\n"
		"event: unknown_event\ndata: {\"type\":\"unknown_event\"}\n\n"
		"event: message_delta\ndata: {\"delta\":{\"stop_reason\":7},\"usage\":{"
		"\"output_tokens\":\"x\"}}\n\n"
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
	struct llm_exchange ex;
	const json_t *p;

	ASSERT_EQ(decode("{}", "text/event-stream", body, sizeof(body) - 1, 200, &ex), 0);
	ASSERT_TRUE(ex.stream && !ex.incomplete && !ex.finish_reasons);
	/* block 3 (broken partial JSON kept as text), then block 127 */
	p = out_part(&ex, 0);
	ASSERT_STREQ(part_str(p, "type"), "tool_call");
	ASSERT_STREQ(part_str(p, "arguments"), "{\"a\":");
	ASSERT_STREQ(part_str(out_part(&ex, 1), "content"), "ok");
	ASSERT_TRUE(!out_part(&ex, 2));
	llm_exchange_clear(&ex);
}

TEST(llm_anthropic_stream_without_content_type)
{
	static const char body[] =
		"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m1\","
		"\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
		"\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}\n\n"
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
	struct llm_exchange ex;

	ASSERT_EQ(decode("{\"stream\":true}", NULL, body, sizeof(body) - 1, 200, &ex), 0);
	ASSERT_STREQ(ex.response_id, "m1");
	ASSERT_STREQ(part_str(out_part(&ex, 0), "type"), "reasoning");
	ASSERT_STREQ(part_str(out_part(&ex, 0), "content"), "hmm");
	ASSERT_EQ(ex.usage.input_tokens, 3);
	llm_exchange_clear(&ex);
}

/* 2,000+ deltas: text accumulates in linear time and comes out whole. */
TEST(llm_anthropic_long_stream)
{
	static const char start[] =
		"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}\n\n"
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,"
		"\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{}}}"
		"\n\n";
	const int n = 20000;
	struct llm_exchange ex;
	struct dynbuf b;
	const json_t *args;

	dynbuf_init(&b, 64u << 20);
	ASSERT_EQ(dynbuf_append_str(&b, start), 0);
	for (int i = 0; i < n; i++) {
		ASSERT_EQ(dynbuf_append_str(&b, "event: content_block_delta\ndata: {\"type\":"
						"\"content_block_delta\",\"index\":0,\"delta\":{"
						"\"type\":\"text_delta\",\"text\":\"ab\"}}\n\n"),
			  0);
		ASSERT_EQ(dynbuf_append_str(&b, i == 0 ? "event: content_block_delta\ndata: "
							 "{\"index\":1,\"delta\":{\"type\":"
							 "\"input_json_delta\",\"partial_json\":"
							 "\"{\\\"k\\\":[0\"}}\n\n" :
							 "event: content_block_delta\ndata: "
							 "{\"index\":1,\"delta\":{\"type\":"
							 "\"input_json_delta\",\"partial_json\":"
							 "\",1\"}}\n\n"),
			  0);
	}
	ASSERT_EQ(dynbuf_append_str(&b, "event: content_block_delta\ndata: {\"index\":1,\"delta\":"
					"{\"type\":\"input_json_delta\",\"partial_json\":\"]}\"}}"
					"\n\n"
					"event: message_stop\ndata: {}\n\n"),
		  0);
	ASSERT_EQ(decode("{}", "text/event-stream", b.buf, b.len, 200, &ex), 0);
	ASSERT_UEQ(strlen(part_str(out_part(&ex, 0), "content")), 2 * n);
	args = json_object_get(out_part(&ex, 1), "arguments");
	ASSERT_UEQ(json_array_size(json_object_get(args, "k")), n);
	ASSERT_TRUE(!ex.incomplete);
	llm_exchange_clear(&ex);
	dynbuf_free(&b);
}

TEST(llm_anthropic_error_types)
{
	static const char resp[] = "{\"type\":\"error\",\"error\":{\"message\":\"boom\"}}";
	static const char sse[] = "event: error\ndata: {\"error\":{\"message\":\"x\"}}\n\n";
	struct llm_exchange ex;

	/* a body error with no type: the status names it */
	ASSERT_EQ(decode("{}", "application/json", resp, strlen(resp), 529, &ex), 0);
	ASSERT_STREQ(ex.error_type, "529");
	ASSERT_STREQ(ex.error_message, "boom");
	llm_exchange_clear(&ex);
	/* inside a 200 stream: OTel's fallback */
	ASSERT_EQ(decode("{}", "text/event-stream", sse, strlen(sse), 200, &ex), 0);
	ASSERT_STREQ(ex.error_type, "_OTHER");
	ASSERT_TRUE(ex.incomplete);
	llm_exchange_clear(&ex);
	/* an empty 401 */
	ASSERT_EQ(decode("{}", NULL, "", 0, 401, &ex), 0);
	ASSERT_STREQ(ex.error_type, "401");
	llm_exchange_clear(&ex);
}

TEST(llm_anthropic_cut_json_body)
{
	static const char resp[] = "{\"id\":\"msg_1\",\"content\":[{\"type\":\"text\",\"te";
	struct llm_http h = {
		.method = "POST",
		.path = "/v1/messages",
		.status = 200,
		.resp_content_type = "application/json",
		.req_body = "{}",
		.req_len = 2,
		.resp_body = resp,
		.resp_len = sizeof(resp) - 1,
		.resp_incomplete = true,
	};
	struct llm_exchange ex;

	llm_exchange_init(&ex);
	ASSERT_EQ(llm_decode(LLM_API_ANTHROPIC_MESSAGES, &h, &ex), 0);
	ASSERT_TRUE(ex.incomplete);
	llm_exchange_clear(&ex);
}
