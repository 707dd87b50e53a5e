// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * OpenAI-style decoder (agent/llm/openai.c): the fixtures of
 * tests/data/llm/openai, then hostile input, caps and stream framing.
 * Inline JSON is written with ' for " to stay readable; decode() swaps them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "llm/llm.h"
#include "llm_fixture.h"
#include "test.h"
#include "util/dynbuf.h"

#define FX(name)                                    \
	TEST(llm_openai_fx_##name)                  \
	{                                           \
		LLM_FIXTURE_CHECK("openai", #name); \
	}

FX(chat_plain)
FX(chat_multipart)
FX(chat_tool_call)
FX(chat_stream_usage)
FX(chat_stream_tool)
FX(chat_stream_cut)
FX(chat_reasoning_cached)
FX(chat_error_429)
FX(chat_error_502_html)
FX(chat_stream_error)
FX(vllm_reasoning)
FX(vllm_reasoning_stream)
FX(llamacpp_chat_stream)
FX(completions_plain)
FX(completions_stream)
FX(embeddings)
FX(embeddings_base64_tokens)
FX(responses_plain)
FX(responses_stream)
FX(responses_stream_cut)
FX(responses_stream_failed)

/* ---- helpers ---- */

#define JSON_CT "application/json"
#define SSE_CT "text/event-stream"

/* A copy of s with every ' turned into " (NULL stays NULL). */
static char *unquote(const char *s)
{
	char *d, *p;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		test_fail_at(__FILE__, __LINE__, "out of memory");
	for (p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	return d;
}

/* Decodes one exchange; cut says the response ended early. */
static int decode(enum llm_api api, const char *req, const char *resp, int status,
		  const char *ctype, bool cut, struct llm_exchange *ex)
{
	char *rq = unquote(req), *rs = unquote(resp);
	struct llm_http h = { 0 };
	int err;

	h.method = "POST";
	h.path = "/v1/x";
	h.status = status;
	h.req_content_type = JSON_CT;
	h.resp_content_type = ctype;
	h.req_body = rq;
	h.req_len = rq ? strlen(rq) : 0;
	h.resp_body = rs;
	h.resp_len = rs ? strlen(rs) : 0;
	h.resp_incomplete = cut;
	llm_exchange_init(ex);
	err = llm_decode(api, &h, ex);
	free(rq);
	free(rs);
	return err;
}

static int chat(const char *req, const char *resp, const char *ctype, struct llm_exchange *ex)
{
	return decode(LLM_API_OPENAI_CHAT, req, resp, 200, ctype, false, ex);
}

/* The exchange as compact JSON text (caller frees). */
static char *dump(const struct llm_exchange *ex)
{
	json_t *j = llm_exchange_to_json(ex);
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(j);
	if (!s)
		test_fail_at(__FILE__, __LINE__, "llm_exchange_to_json failed");
	return s;
}

static json_t *msg_part(const json_t *msgs, size_t m, size_t p)
{
	return json_array_get(json_object_get(json_array_get(msgs, m), "parts"), p);
}

static json_t *out_part(const struct llm_exchange *ex, size_t m, size_t p)
{
	return msg_part(ex->output_messages, m, p);
}

static const char *jget(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* ---- API detection (llm.c) ---- */

TEST(llm_openai_detect)
{
	static const struct {
		const char *method, *path;
		enum llm_api want;
	} t[] = {
		{ "POST", "/v1/chat/completions", LLM_API_OPENAI_CHAT },
		{ "POST", "/chat/completions", LLM_API_OPENAI_CHAT },
		{ "POST", "/openai/deployments/gpt-4o/chat/completions", LLM_API_OPENAI_CHAT },
		{ "POST", "/api/v1/chat/completions", LLM_API_OPENAI_CHAT }, /* OpenRouter */
		{ "POST", "/v1/completions", LLM_API_OPENAI_COMPLETIONS },
		{ "POST", "/v1/embeddings", LLM_API_OPENAI_EMBEDDINGS },
		{ "POST", "/openai/deployments/emb/embeddings", LLM_API_OPENAI_EMBEDDINGS },
		{ "POST", "/v1/responses", LLM_API_OPENAI_RESPONSES },
		{ "POST", "/openai/v1/responses", LLM_API_OPENAI_RESPONSES },
		{ "POST", "/api/embeddings", LLM_API_OLLAMA_EMBED },
		{ "POST", "/completion", LLM_API_LLAMACPP },
		{ "GET", "/v1/chat/completions", LLM_API_NONE },
		{ "GET", "/v1/responses/resp_123", LLM_API_NONE },
		{ "POST", "/v1/models", LLM_API_NONE },
		{ "POST", "/v1/moderations", LLM_API_NONE },
		{ "POST", "/v1/audio/transcriptions", LLM_API_NONE },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ASSERT_EQ(llm_api_detect(t[i].method, t[i].path, "{}", 2), t[i].want);
	ASSERT_EQ(llm_api_detect(NULL, "/v1/chat/completions", NULL, 0), LLM_API_NONE);
}

/* ---- contract ---- */

TEST(llm_openai_operation_names)
{
	static const struct {
		enum llm_api api;
		const char *op;
	} t[] = {
		{ LLM_API_OPENAI_CHAT, "chat" },
		{ LLM_API_OPENAI_COMPLETIONS, "text_completion" },
		{ LLM_API_OPENAI_EMBEDDINGS, "embeddings" },
		{ LLM_API_OPENAI_RESPONSES, "chat" },
	};
	struct llm_exchange ex;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		/* status 0: no response yet */
		ASSERT_EQ(decode(t[i].api, "{'model':'m'}", NULL, 0, NULL, false, &ex), 0);
		ASSERT_STREQ(ex.operation, t[i].op);
		ASSERT_STREQ(ex.api_family, "openai");
		ASSERT_STREQ(ex.request_model, "m");
		ASSERT_EQ(ex.api, t[i].api);
		ASSERT_EQ(ex.incomplete, false);
		llm_exchange_clear(&ex);
	}
	llm_exchange_init(&ex);
	ASSERT_EQ(openai_decode(LLM_API_GEMINI, NULL, &ex), -EINVAL);
}

TEST(llm_openai_garbage_request_keeps_response)
{
	struct llm_exchange ex;

	ASSERT_EQ(chat("model=gpt-4o&messages=hi",
		       "{'id':'chatcmpl-1','model':'gpt-4o','choices':[{'index':0,"
		       "'message':{'role':'assistant','content':'ok'},'finish_reason':'stop'}]}",
		       JSON_CT, &ex),
		  -EBADMSG);
	ASSERT_TRUE(ex.request_model == NULL);
	ASSERT_STREQ(ex.response_id, "chatcmpl-1");
	ASSERT_STREQ(jget(out_part(&ex, 0, 0), "content"), "ok");
	llm_exchange_clear(&ex);
}

TEST(llm_openai_garbage_response_keeps_request)
{
	struct llm_exchange ex;

	ASSERT_EQ(chat("{'model':'gpt-4o','messages':[{'role':'user','content':'hi'}]}",
		       "<html>oops</html>", "text/html", &ex),
		  -EBADMSG);
	ASSERT_STREQ(ex.request_model, "gpt-4o");
	ASSERT_EQ(json_array_size(ex.input_messages), 1);
	ASSERT_TRUE(ex.output_messages == NULL);
	ASSERT_TRUE(ex.error_type == NULL);
	llm_exchange_clear(&ex);
}

TEST(llm_openai_empty_bodies)
{
	static const enum llm_api apis[] = { LLM_API_OPENAI_CHAT, LLM_API_OPENAI_COMPLETIONS,
					     LLM_API_OPENAI_EMBEDDINGS, LLM_API_OPENAI_RESPONSES };
	struct llm_exchange ex;

	for (size_t i = 0; i < 4; i++) {
		bool emb = apis[i] == LLM_API_OPENAI_EMBEDDINGS;

		ASSERT_EQ(decode(apis[i], "", "", 200, JSON_CT, false, &ex), -EBADMSG);
		llm_exchange_clear(&ex);
		ASSERT_EQ(decode(apis[i], NULL, NULL, 0, NULL, false, &ex), -EBADMSG);
		ASSERT_EQ(ex.incomplete, false);
		llm_exchange_clear(&ex);
		/* an empty event stream: nothing arrived, so it is incomplete;
		 * embeddings never stream: an empty body is not their JSON */
		ASSERT_EQ(decode(apis[i], "{}", "", 200, SSE_CT, false, &ex), emb ? -EBADMSG : 0);
		ASSERT_EQ(ex.incomplete, !emb);
		ASSERT_EQ(ex.stream, !emb);
		llm_exchange_clear(&ex);
	}
}

TEST(llm_openai_cut_json_body)
{
	struct llm_exchange ex;

	ASSERT_EQ(decode(LLM_API_OPENAI_CHAT, "{'model':'gpt-4o'}",
			 "{'id':'chatcmpl-1','choices':[{'index':0,'message':{'content':'Hel", 200,
			 JSON_CT, true, &ex),
		  0);
	ASSERT_EQ(ex.incomplete, true);
	ASSERT_STREQ(ex.request_model, "gpt-4o");
	llm_exchange_clear(&ex);
	/* the connection ended before any response */
	ASSERT_EQ(decode(LLM_API_OPENAI_CHAT, "{'model':'gpt-4o'}", NULL, 0, NULL, true, &ex), 0);
	ASSERT_EQ(ex.incomplete, true);
	llm_exchange_clear(&ex);
}

/* ---- errors ---- */

TEST(llm_openai_error_shapes)
{
	static const struct {
		int status, rc;
		const char *body, *type, *msg;
	} t[] = {
		/* vLLM, older releases */
		{ 400, 0,
		  "{'object':'error','message':'max_tokens is too large','type':'BadRequestError',"
		  "'param':null,'code':400}",
		  "BadRequestError", "max_tokens is too large" },
		/* llama.cpp while loading */
		{ 503, 0,
		  "{'error':{'code':503,'message':'Loading model','type':'unavailable_error'}}",
		  "unavailable_error", "Loading model" },
		{ 500, 0, "{'error':{'code':500,'message':'boom'}}", "500", "boom" },
		{ 401, 0,
		  "{'error':{'message':'Incorrect API key provided: sk-proj-****abcd.',"
		  "'type':'invalid_request_error','param':null,'code':'invalid_api_key'}}",
		  "invalid_request_error", "Incorrect API key provided: sk-proj-****abcd." },
		{ 429, 0, "{'error':{'message':'quota','type':'','code':'insufficient_quota'}}",
		  "insufficient_quota", "quota" },
		{ 404, 0, "{'detail':'Not Found'}", "404", "Not Found" },
		{ 400, 0, "{'error':'model is required'}", "400", "model is required" },
		/* TGI */
		{ 422, 0, "{'error':'Input validation error: too long','error_type':'validation'}",
		  "validation", "Input validation error: too long" },
		{ 422, 0, "[1,2]", "422", NULL },
		{ 500, 0, "", "500", NULL },
		/* proxies answering 200 with an error body */
		{ 200, 0, "{'error':{'message':'upstream timeout','type':'timeout'}}", "timeout",
		  "upstream timeout" },
		{ 200, 0, "{'error':{'message':'?'}}", "_OTHER", "?" },
		{ 200, 0, "{'error':{'type':5,'code':[1],'message':7}}", "_OTHER", NULL },
	};
	struct llm_exchange ex;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ASSERT_EQ(decode(LLM_API_OPENAI_CHAT, "{'model':'m'}", t[i].body, t[i].status,
				 JSON_CT, false, &ex),
			  t[i].rc);
		ASSERT_STREQ(ex.error_type, t[i].type);
		if (t[i].msg)
			ASSERT_STREQ(ex.error_message, t[i].msg);
		else
			ASSERT_TRUE(ex.error_message == NULL);
		ASSERT_TRUE(ex.output_messages == NULL);
		llm_exchange_clear(&ex);
	}
}

TEST(llm_openai_responses_error_event_flat)
{
	static const char sse[] =
		"event: response.created\n"
		"data: {'type':'response.created','response':{'id':'resp_1','model':'gpt-4.1',"
		"'status':'in_progress','output':[]}}\n\n"
		"event: error\n"
		"data: {'type':'error','code':'server_error','message':'An error occurred',"
		"'param':null,'sequence_number':1}\n\n";
	struct llm_exchange ex;

	ASSERT_EQ(decode(LLM_API_OPENAI_RESPONSES, "{'model':'gpt-4.1','stream':true}", sse, 200,
			 SSE_CT, false, &ex),
		  0);
	ASSERT_STREQ(ex.error_type, "server_error");
	ASSERT_STREQ(ex.error_message, "An error occurred");
	ASSERT_STREQ(ex.response_id, "resp_1");
	ASSERT_STREQ(ex.response_model, "gpt-4.1");
	ASSERT_EQ(ex.incomplete, false);
	llm_exchange_clear(&ex);
}

TEST(llm_openai_vllm_old_error_in_stream)
{
	static const char sse[] =
		"data: {'id':'c','choices':[{'index':0,'delta':{'content':'x'}}]}\n\n"
		"data: {'object':'error','message':'engine dead','type':'InternalServerError',"
		"'param':null,'code':500}\n\n"
		"data: [DONE]\n\n";
	struct llm_exchange ex;

	ASSERT_EQ(chat("{'stream':true}", sse, SSE_CT, &ex), 0);
	ASSERT_STREQ(ex.error_type, "InternalServerError");
	ASSERT_STREQ(ex.error_message, "engine dead");
	ASSERT_STREQ(jget(out_part(&ex, 0, 0), "content"), "x");
	llm_exchange_clear(&ex);
}

/* ---- request and response shapes ---- */

TEST(llm_openai_legacy_functions)
{
	static const char req[] =
		"{'model':'gpt-3.5-turbo-0613','functions':[{'name':'f','description':'d',"
		"'parameters':{'type':'object'}}],'messages':["
		"{'role':'assistant','content':null,'function_call':{'name':'f',"
		"'arguments':'{\\'a\\':1}'}},"
		"{'role':'function','name':'f','content':'42'}]}";
	static const char sse[] =
		"data: {'choices':[{'index':0,'delta':{'role':'assistant','function_call':"
		"{'name':'f','arguments':''}}}]}\n\n"
		"data: {'choices':[{'index':0,'delta':{'function_call':"
		"{'arguments':'{\\'a\\''}}}]}\n\n"
		"data: {'choices':[{'index':0,'delta':{'function_call':{'arguments':':2}'}}}]}\n\n"
		"data: {'choices':[{'index':0,'delta':{},'finish_reason':'function_call'}]}\n\n"
		"data: [DONE]\n\n";
	struct llm_exchange ex;
	json_t *m, *p;
	char *s;

	ASSERT_EQ(chat(req, sse, SSE_CT, &ex), 0);
	s = dump(&ex);
	ASSERT_TRUE(strstr(s, "\"tool_definitions\":[{\"description\":\"d\",\"name\":\"f\","
			      "\"parameters\":{\"type\":\"object\"},\"type\":\"function\"}]"));
	free(s);
	m = json_array_get(ex.input_messages, 1);
	ASSERT_STREQ(jget(m, "role"), "tool");
	ASSERT_STREQ(jget(m, "name"), "f");
	p = msg_part(ex.input_messages, 1, 0);
	ASSERT_STREQ(jget(p, "type"), "tool_call_response");
	ASSERT_STREQ(jget(p, "response"), "42");
	p = msg_part(ex.input_messages, 0, 0);
	ASSERT_STREQ(jget(p, "name"), "f");
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(p, "arguments"), "a")), 1);
	p = out_part(&ex, 0, 0);
	ASSERT_STREQ(jget(p, "type"), "tool_call");
	ASSERT_STREQ(jget(p, "name"), "f");
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(p, "arguments"), "a")), 2);
	ASSERT_STREQ(json_string_value(json_array_get(ex.finish_reasons, 0)), "function_call");
	llm_exchange_clear(&ex);
}

TEST(llm_openai_refusal_and_prompt_tokens)
{
	struct llm_exchange ex;
	json_t *p;

	ASSERT_EQ(chat("{'messages':[]}",
		       "{'id':'chatcmpl-r','choices':[{'index':0,'message':{'role':'assistant',"
		       "'content':null,'refusal':'I cannot help with that.'},"
		       "'finish_reason':'stop'}]}",
		       JSON_CT, &ex),
		  0);
	p = out_part(&ex, 0, 0);
	ASSERT_STREQ(jget(p, "type"), "refusal");
	ASSERT_STREQ(jget(p, "content"), "I cannot help with that.");
	ASSERT_EQ(json_array_size(ex.input_messages), 0);
	llm_exchange_clear(&ex);

	ASSERT_EQ(decode(LLM_API_OPENAI_COMPLETIONS, "{'prompt':[1,2,3,4]}", "{}", 200, JSON_CT,
			 false, &ex),
		  0);
	p = msg_part(ex.input_messages, 0, 0);
	ASSERT_STREQ(jget(p, "type"), "tokens");
	ASSERT_EQ(json_integer_value(json_object_get(p, "count")), 4);
	llm_exchange_clear(&ex);
}

TEST(llm_openai_nul_in_strings)
{
	struct llm_exchange ex;

	ASSERT_EQ(chat("{'messages':[{'role':'user','content':'a\\u0000b'}]}",
		       "{'choices':[{'message':{'content':'x\\u0000y'}}]}", JSON_CT, &ex),
		  0);
	ASSERT_EQ(json_string_length(json_object_get(msg_part(ex.input_messages, 0, 0), "content")),
		  3);
	ASSERT_EQ(json_string_length(json_object_get(out_part(&ex, 0, 0), "content")), 3);
	llm_exchange_clear(&ex);
}

/* Streamed Responses whose terminal event has no output items: the merged
 * deltas stand in, with the terminal event's reason and usage. */
TEST(llm_openai_responses_terminal_without_output)
{
	static const char sse[] =
		"event: response.output_text.delta\n"
		"data: {'type':'response.output_text.delta','output_index':0,'delta':'Hi'}\n\n"
		"event: response.incomplete\n"
		"data: {'type':'response.incomplete','response':{'id':'resp_9','status':"
		"'incomplete','incomplete_details':{'reason':'max_output_tokens'},"
		"'usage':{'input_tokens':5,'output_tokens':16}}}\n\n";
	struct llm_exchange ex;

	ASSERT_EQ(decode(LLM_API_OPENAI_RESPONSES, "{'stream':true,'max_output_tokens':16}", sse,
			 200, SSE_CT, false, &ex),
		  0);
	ASSERT_EQ(ex.incomplete, false);
	ASSERT_EQ(ex.max_tokens, 16);
	ASSERT_STREQ(ex.response_id, "resp_9");
	ASSERT_STREQ(jget(out_part(&ex, 0, 0), "content"), "Hi");
	ASSERT_STREQ(jget(json_array_get(ex.output_messages, 0), "finish_reason"),
		     "max_output_tokens");
	ASSERT_STREQ(json_string_value(json_array_get(ex.finish_reasons, 0)), "max_output_tokens");
	ASSERT_EQ(ex.usage.output_tokens, 16);
	llm_exchange_clear(&ex);
}

TEST(llm_openai_no_base64_copied)
{
	struct llm_exchange ex;
	char *d;

	llm_exchange_init(&ex);
	llm_fixture_decode("openai", "chat_multipart", &ex);
	d = dump(&ex);
	ASSERT_TRUE(strstr(d, "iVBORw0KGgo") == NULL); /* the PNG */
	ASSERT_TRUE(strstr(d, "UklGR") == NULL); /* the WAV */
	free(d);
	llm_exchange_clear(&ex);
}

/* ---- hostile input ---- */

static const char *const hostile_reqs[] = {
	"{'model':5,'messages':'x','tools':{},'functions':7,'temperature':'hot','top_p':[],"
	"'stream':'yes','max_tokens':-5,'stop':7,'n':'2','seed':1.5,'stream_options':[],"
	"'response_format':'json','prompt':{},'input':5,'instructions':7,'conversation':[],"
	"'previous_response_id':3}",
	"{'messages':[1,null,[],{'role':5,'content':{'a':1}},"
	"{'role':'assistant','content':[1,{'type':7},{'type':'text','text':5},{'type':'refusal'}],"
	"'tool_calls':[1,{'function':'x'},{'function':{'name':7,'arguments':[1]}},"
	"{'custom':{'input':5}}],'function_call':[]},"
	"{'role':'tool','content':5,'tool_call_id':[]},{'role':'tool'}],"
	"'tools':[1,{'type':5,'function':[]},{'function':{'name':{},'parameters':[]}}]}",
	"{'input':[1,{'type':'function_call'},{'type':'function_call_output','output':[{}]},"
	"{'type':'reasoning','summary':{}},{'type':'message','content':5},{'role':7},"
	"{'type':'item_reference','id':'x'}],'instructions':[1,{'content':5}],"
	"'conversation':{'id':7},'text':{'format':5}}",
	"{'prompt':[[1,2],'a',5,{},[]],'input':[[],['x'],null]}",
	"[]",
	"'just a string'",
	"{'model':'m'",
};

static const char *const hostile_resps[] = {
	"{'choices':{},'usage':'x','id':5,'model':[],'system_fingerprint':{}}",
	"{'choices':[null,1,'x',{'message':'x','finish_reason':5,'text':3},"
	"{'message':{'content':[1,{'type':'image_url'}],'tool_calls':{},"
	"'reasoning_content':5,'refusal':[]}}],"
	"'usage':{'prompt_tokens':'5','completion_tokens':-3,'prompt_tokens_details':5}}",
	"{'data':[{'embedding':5}],'usage':{'prompt_tokens':[]}}",
	"{'data':{'embedding':[1]}}",
	"{'data':[{'embedding':'===='}]}",
	"{'output':[1,{'type':5},{'type':'message','content':{}},"
	"{'type':'reasoning','summary':[1,{'text':5}]},"
	"{'type':'function_call','arguments':{'a':1}},"
	"{'type':'web_search_call','id':5}],'status':5,'incomplete_details':'x',"
	"'usage':{'input_tokens_details':[]},'error':{'code':{}},'conversation':{'id':1}}",
	"{'status':'incomplete','incomplete_details':{'reason':7},'output':[]}",
	"{'error':5}",
	"[{'error':1}]",
	"null",
	"1e999999",
};

static const char *const hostile_streams[] = {
	"data: {'choices':[{'index':'0','delta':{'content':5}}]}\n\n"
	"data: {'choices':[{'index':0,'delta':{'content':5,'role':[],"
	"'tool_calls':{'index':0}}}]}\n\n"
	"data: {'choices':[{'index':0,'delta':{'tool_calls':[5,{'index':'1'},"
	"{'index':0,'function':5},{'index':0,'id':7,'function':{'arguments':{}}}]}}]}\n\n"
	"data: {'choices':[{'index':0,'delta':'x','finish_reason':[]}]}\n\n"
	"data: {'choices':5,'usage':[],'error':[]}\n\n"
	"data: [1,2]\n\ndata: 'x'\n\ndata: 5\n\ndata: {\n\n",
	"event: response.output_text.delta\ndata: {'output_index':'0','delta':'x'}\n\n"
	"data: {'type':'response.output_text.delta','output_index':0,'delta':5}\n\n"
	"data: {'type':'response.output_item.added','output_index':0,'item':5}\n\n"
	"data: {'type':'response.output_item.done','output_index':0,'item':{'type':5}}\n\n"
	"data: {'type':'response.function_call_arguments.delta','output_index':-1,'delta':'x'}\n\n"
	"data: {'type':7,'response':5}\n\n"
	"data: {'type':'response.completed','response':[]}\n\n"
	"data: {'type':'error','error':5,'code':[]}\n\n",
	"data: [DONE]\n\n",
	": just a comment\n\n",
	"data: {'choices':[]}",
};

/* Every hostile request against every hostile response and stream, for
 * every API and a success and an error status: no crash, 0 or -EBADMSG. */
TEST(llm_openai_wrong_types)
{
	static const enum llm_api apis[] = { LLM_API_OPENAI_CHAT, LLM_API_OPENAI_COMPLETIONS,
					     LLM_API_OPENAI_EMBEDDINGS, LLM_API_OPENAI_RESPONSES };
	const size_t n_req = sizeof(hostile_reqs) / sizeof(hostile_reqs[0]);
	const size_t n_resp = sizeof(hostile_resps) / sizeof(hostile_resps[0]);
	const size_t n_sse = sizeof(hostile_streams) / sizeof(hostile_streams[0]);
	struct llm_exchange ex;
	int rc;

	for (size_t a = 0; a < 4; a++) {
		for (size_t r = 0; r < n_req; r++) {
			for (size_t s = 0; s < n_resp * 2 + n_sse; s++) {
				if (s < n_resp * 2)
					rc = decode(apis[a], hostile_reqs[r], hostile_resps[s / 2],
						    s % 2 ? 400 : 200, JSON_CT, false, &ex);
				else
					rc = decode(apis[a], hostile_reqs[r],
						    hostile_streams[s - n_resp * 2], 200, SSE_CT,
						    s % 2, &ex);
				ASSERT_TRUE(rc == 0 || rc == -EBADMSG);
				free(dump(&ex));
				llm_exchange_clear(&ex);
			}
		}
	}
}

TEST(llm_openai_huge_index)
{
	static const char sse[] =
		"data: {'choices':[{'index':1000000000,'delta':{'content':'evil'}}]}\n\n"
		"data: {'choices':[{'index':-1,'delta':{'content':'evil'}}]}\n\n"
		"data: {'choices':[{'index':9223372036854775807,'delta':{'content':'evil'}}]}\n\n"
		"data: {'choices':[{'index':0,'delta':{'content':'good','tool_calls':["
		"{'index':1000000000,'id':'x','function':{'name':'evil'}},"
		"{'index':-5,'function':{'name':'evil'}},"
		"{'index':2,'id':'call_2','function':{'name':'ok','arguments':'{}'}}]}}]}\n\n"
		"data: {'type':'response.output_text.delta','output_index':1000000000,"
		"'delta':'evil'}\n\n"
		"data: [DONE]\n\n";
	struct llm_exchange ex;
	char *d;

	ASSERT_EQ(chat("{}", sse, SSE_CT, &ex), 0);
	ASSERT_EQ(json_array_size(ex.output_messages), 1);
	ASSERT_STREQ(jget(out_part(&ex, 0, 0), "content"), "good");
	ASSERT_STREQ(jget(out_part(&ex, 0, 1), "name"), "ok");
	ASSERT_TRUE(out_part(&ex, 0, 2) == NULL);
	d = dump(&ex);
	ASSERT_TRUE(strstr(d, "evil") == NULL);
	free(d);
	llm_exchange_clear(&ex);

	ASSERT_EQ(decode(LLM_API_OPENAI_RESPONSES, "{}", sse, 200, SSE_CT, false, &ex), 0);
	d = dump(&ex);
	ASSERT_TRUE(strstr(d, "evil") == NULL);
	free(d);
	llm_exchange_clear(&ex);
}

TEST(llm_openai_caps)
{
	struct llm_exchange ex;
	struct dynbuf b;
	char tmp[160];
	int i;

	/* 100 choices in one body */
	dynbuf_init(&b, 1 << 20);
	dynbuf_append_str(&b, "{'choices':[");
	for (i = 0; i < 100; i++) {
		snprintf(tmp, sizeof(tmp), "%s{'index':%d,'message':{'content':'c%d'}}",
			 i ? "," : "", i, i);
		dynbuf_append_str(&b, tmp);
	}
	dynbuf_append_str(&b, "]}");
	ASSERT_EQ(chat("{}", b.buf, JSON_CT, &ex), 0);
	ASSERT_EQ(json_array_size(ex.output_messages), 64);
	llm_exchange_clear(&ex);

	/* 100 streamed choices, given in reverse: capped, then ordered by index */
	dynbuf_reset(&b);
	for (i = 99; i >= 0; i--) {
		snprintf(tmp, sizeof(tmp),
			 "data: {'choices':[{'index':%d,'delta':{'content':'c%d'}}]}\n\n", i, i);
		dynbuf_append_str(&b, tmp);
	}
	ASSERT_EQ(chat("{}", b.buf, SSE_CT, &ex), 0);
	ASSERT_EQ(json_array_size(ex.output_messages), 64);
	ASSERT_STREQ(jget(out_part(&ex, 0, 0), "content"), "c36");
	ASSERT_STREQ(jget(out_part(&ex, 63, 0), "content"), "c99");
	ASSERT_EQ(ex.incomplete, true);
	llm_exchange_clear(&ex);

	/* 200 streamed tool calls */
	dynbuf_reset(&b);
	for (i = 0; i < 200; i++) {
		snprintf(tmp, sizeof(tmp),
			 "data: {'choices':[{'index':0,'delta':{'tool_calls':[{'index':%d,"
			 "'id':'call_%d','function':{'name':'f','arguments':'{}'}}]}}]}\n\n",
			 i, i);
		dynbuf_append_str(&b, tmp);
	}
	dynbuf_append_str(&b, "data: [DONE]\n\n");
	ASSERT_EQ(chat("{}", b.buf, SSE_CT, &ex), 0);
	ASSERT_EQ(json_array_size(json_object_get(json_array_get(ex.output_messages, 0), "parts")),
		  128);
	ASSERT_STREQ(jget(out_part(&ex, 0, 127), "id"), "call_127");
	llm_exchange_clear(&ex);

	/* 200 tool calls in one non-streamed message */
	dynbuf_reset(&b);
	dynbuf_append_str(&b, "{'choices':[{'message':{'tool_calls':[");
	for (i = 0; i < 200; i++) {
		snprintf(tmp, sizeof(tmp),
			 "%s{'id':'call_%d','function':{'name':'f','arguments':'{}'}}",
			 i ? "," : "", i);
		dynbuf_append_str(&b, tmp);
	}
	dynbuf_append_str(&b, "]}}]}");
	ASSERT_EQ(chat("{}", b.buf, JSON_CT, &ex), 0);
	ASSERT_EQ(json_array_size(json_object_get(json_array_get(ex.output_messages, 0), "parts")),
		  128);
	llm_exchange_clear(&ex);
	dynbuf_free(&b);
}

TEST(llm_openai_deep_nesting)
{
	const size_t depth = 100000;
	struct llm_exchange ex;
	struct dynbuf b;
	size_t i;

	dynbuf_init(&b, 4 * depth);
	dynbuf_append_str(&b, "{'messages':");
	for (i = 0; i < depth; i++)
		dynbuf_append(&b, "[", 1);
	for (i = 0; i < depth; i++)
		dynbuf_append(&b, "]", 1);
	dynbuf_append_str(&b, "}");
	ASSERT_EQ(chat(b.buf, "{}", JSON_CT, &ex), -EBADMSG); /* past jansson's depth limit */
	llm_exchange_clear(&ex);
	ASSERT_EQ(chat("{}", b.buf, JSON_CT, &ex), -EBADMSG);
	llm_exchange_clear(&ex);

	/* deep but parseable: kept by reference in the tool parameters */
	dynbuf_reset(&b);
	dynbuf_append_str(&b, "{'tools':[{'type':'function','function':{'name':'f','parameters':");
	for (i = 0; i < 500; i++)
		dynbuf_append_str(&b, "{'a':");
	dynbuf_append_str(&b, "1");
	for (i = 0; i < 500; i++)
		dynbuf_append(&b, "}", 1);
	dynbuf_append_str(&b, "}}]}");
	ASSERT_EQ(chat(b.buf, "{}", JSON_CT, &ex), 0);
	ASSERT_EQ(json_array_size(ex.tool_definitions), 1);
	free(dump(&ex));
	llm_exchange_clear(&ex);
	dynbuf_free(&b);
}

/* 10,000 chunks: the merge must stay linear (text accumulates in a buffer,
 * it is not re-concatenated per chunk).  No timing assert, just size. */
TEST(llm_openai_big_stream)
{
	const int n = 10000;
	struct llm_exchange ex;
	size_t first_end = 0;
	struct dynbuf b;
	json_t *p;
	int i;

	dynbuf_init(&b, 16 << 20);
	dynbuf_append_str(&b, "data: {'id':'chatcmpl-big','choices':[{'index':0,'delta':"
			      "{'role':'assistant','content':''}}]}\n\n"
			      ": keep-alive\n\n");
	for (i = 0; i < n; i++) {
		/* the arguments are "[" "1," "1," ... "0]" */
		dynbuf_append_str(&b, "data: {'id':'chatcmpl-big','choices':[{'index':0,'delta':"
				      "{'content':'ab\\u00e9','tool_calls':[{'index':0,'function':"
				      "{'arguments':'");
		dynbuf_append_str(&b, i ? "1," : "[1,");
		dynbuf_append_str(&b, "'}}]}}]}\n\n");
		if (i == 0)
			first_end = b.len;
	}
	dynbuf_append_str(&b, "data: {'choices':[{'index':0,'delta':{'tool_calls':[{'index':0,"
			      "'function':{'arguments':'0]'}}]},'finish_reason':'stop'}]}\n\n"
			      "data: [DONE]\n\n");
	ASSERT_EQ(chat("{'stream':true}", b.buf, SSE_CT, &ex), 0);
	ASSERT_EQ(ex.first_content_offset, (int64_t)first_end);
	p = json_object_get(out_part(&ex, 0, 0), "content");
	ASSERT_EQ(json_string_length(p), (size_t)n * 4);
	ASSERT_MEMEQ(json_string_value(p), "ab\xC3\xA9", 4);
	ASSERT_MEMEQ(json_string_value(p) + 4, "ab", 2);
	ASSERT_EQ(json_array_size(json_object_get(out_part(&ex, 0, 1), "arguments")),
		  (size_t)n + 1);
	ASSERT_EQ(ex.incomplete, false);
	llm_exchange_clear(&ex);
	dynbuf_free(&b);
}

/* Text past the 1 MiB cap is dropped; a character cut by the cap becomes U+FFFD. */
TEST(llm_openai_text_cap_utf8)
{
	struct dynbuf b, chk;
	struct llm_exchange ex;
	const json_t *content;
	const char *s;
	size_t len, i;

	dynbuf_init(&b, 8 << 20);
	dynbuf_init(&chk, 8192);
	for (i = 0; i < 1000; i++)
		dynbuf_append_str(&chk, "\\u2713"); /* a check mark: 3 bytes in UTF-8 */
	for (i = 0; i < 400; i++) {
		dynbuf_append_str(&b, "data: {'choices':[{'delta':{'content':'");
		dynbuf_append(&b, chk.buf, chk.len);
		dynbuf_append_str(&b, "'}}]}\n\n");
	}
	dynbuf_append_str(&b, "data: [DONE]\n\n");
	ASSERT_EQ(chat("{}", b.buf, SSE_CT, &ex), 0);
	content = json_object_get(out_part(&ex, 0, 0), "content");
	s = json_string_value(content);
	len = json_string_length(content);
	/* 1 MiB = 349525 whole characters and 1 byte of the next, replaced */
	ASSERT_EQ(len, (size_t)349525 * 3 + 3);
	ASSERT_MEMEQ(s + len - 6, "\xE2\x9C\x93\xEF\xBF\xBD", 6);
	llm_exchange_clear(&ex);
	dynbuf_free(&b);
	dynbuf_free(&chk);
}

/* ---- stream framing ---- */

TEST(llm_openai_stream_end_without_done)
{
	static const char sse[] =
		"data: {'choices':[{'index':0,'delta':{'content':'hi'}}]}\r\n\r\n"
		"data: {'choices':[{'index':0,'delta':{},'finish_reason':'stop'}]}\r\n\r\n";
	struct llm_exchange ex;

	/* some compatible servers omit [DONE]: a clean end with every choice finished */
	ASSERT_EQ(chat("{}", sse, SSE_CT, &ex), 0);
	ASSERT_EQ(ex.incomplete, false);
	ASSERT_EQ(ex.stream, true);
	llm_exchange_clear(&ex);
	ASSERT_EQ(decode(LLM_API_OPENAI_CHAT, "{}", sse, 200, SSE_CT, true, &ex), 0);
	ASSERT_EQ(ex.incomplete, true);
	llm_exchange_clear(&ex);
	/* [DONE] as the last, unterminated line still ends the stream */
	ASSERT_EQ(chat("{}", "data: {'choices':[{'delta':{'content':'hi'}}]}\n\ndata: [DONE]",
		       SSE_CT, &ex),
		  0);
	ASSERT_EQ(ex.incomplete, false);
	llm_exchange_clear(&ex);
}

TEST(llm_openai_sse_without_content_type)
{
	struct llm_exchange ex;

	ASSERT_EQ(chat("{}",
		       "\xEF\xBB\xBF\ndata: {'choices':[{'delta':{'content':'hi'}}]}\n\n"
		       "data: [DONE]\n\n",
		       NULL, &ex),
		  0);
	ASSERT_EQ(ex.stream, true);
	ASSERT_STREQ(jget(out_part(&ex, 0, 0), "content"), "hi");
	llm_exchange_clear(&ex);
}

TEST(llm_openai_garbage_stream)
{
	struct llm_exchange ex;

	ASSERT_EQ(chat("{}", "data: not json\n\ndata: {oops}\n\n", SSE_CT, &ex), -EBADMSG);
	ASSERT_EQ(ex.incomplete, true);
	ASSERT_TRUE(ex.output_messages == NULL);
	llm_exchange_clear(&ex);
}

/* Servers that give every streamed call index 0, or no index, but new ids. */
TEST(llm_openai_stream_tool_ids)
{
	static const char sse[] =
		"data: {'choices':[{'delta':{'tool_calls':[{'index':0,'id':'a','function':"
		"{'name':'fa','arguments':'{\\'x\\':1}'}}]}}]}\n\n"
		"data: {'choices':[{'delta':{'tool_calls':[{'index':0,'id':'b','function':"
		"{'name':'fb','arguments':'{'}}]}}]}\n\n"
		"data: {'choices':[{'delta':{'tool_calls':[{'function':{'arguments':'}'}}]}}]}\n\n"
		"data: {'choices':[{'delta':{'tool_calls':[{'id':'c','function':{'name':'fc',"
		"'arguments':'not json'}}]}}]}\n\n"
		"data: [DONE]\n\n";
	struct llm_exchange ex;
	json_t *p;

	ASSERT_EQ(chat("{}", sse, SSE_CT, &ex), 0);
	p = out_part(&ex, 0, 0);
	ASSERT_STREQ(jget(p, "id"), "a");
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(p, "arguments"), "x")), 1);
	p = out_part(&ex, 0, 1);
	ASSERT_STREQ(jget(p, "id"), "b");
	ASSERT_TRUE(json_is_object(json_object_get(p, "arguments")));
	ASSERT_EQ(json_object_size(json_object_get(p, "arguments")), 0);
	p = out_part(&ex, 0, 2);
	ASSERT_STREQ(jget(p, "id"), "c");
	ASSERT_STREQ(jget(p, "name"), "fc");
	ASSERT_STREQ(jget(p, "arguments"), "not json");
	ASSERT_EQ(ex.first_content_offset, strstr(sse, "\n\n") - sse + 2);
	llm_exchange_clear(&ex);
}
