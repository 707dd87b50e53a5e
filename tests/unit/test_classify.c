// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "llm/classify.h"
#include "test.h"

TEST(classify_default_table)
{
	static const struct {
		const char *method, *target, *host;
		bool want;
	} cases[] = {
		{ "POST", "/v1/chat/completions", "127.0.0.1:8000", true },
		{ "POST", "/v1/chat/completions?stream=true", "localhost", true },
		{ "POST", "/openai/deployments/gpt4/chat/completions?api-version=2024", "x", true },
		{ "POST", "/v1/messages", NULL, true },
		{ "POST", "/v1/embeddings", NULL, true },
		{ "POST", "/v1/responses", NULL, true },
		{ "POST", "/api/chat", "localhost:11434", true },
		{ "POST", "/api/generate", NULL, true },
		{ "POST", "/v1beta/models/gemini-2.0-flash:generateContent", NULL, true },
		{ "POST", "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", NULL,
		  true },
		{ "POST", "/model/anthropic.claude-v2/invoke", NULL, true },
		{ "POST", "/generate_stream", NULL, true },
		{ "POST", "/completion", NULL, true },
		/* any request to a hosted LLM API */
		{ "GET", "/v1/models", "api.openai.com", true },
		{ "GET", "/v1/models", "API.OpenAI.com:443", true },
		{ "POST", "/x", "myres.openai.azure.com", true },
		{ "POST", "/x", "bedrock-runtime.us-east-1.amazonaws.com", true },
		{ "POST", "/x", "[::1]:443", false },
		/* not LLM traffic */
		{ "GET", "/index.html", "example.com", false },
		{ "GET", "/v1/chat/completions", "example.com", false },
		{ "POST", "/upload", "example.com", false },
		{ "POST", "/v1/chat/completionsX", NULL, false },
		{ "POST", "/api/chatter", NULL, false },
	};
	struct classifier cl;

	classifier_default(&cl);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = classify_is_llm(&cl, cases[i].method, cases[i].target, cases[i].host);

		if (got != cases[i].want)
			test_fail_at(__FILE__, __LINE__, "%s %s host %s: got %d", cases[i].method,
				     cases[i].target, cases[i].host ? cases[i].host : "-", got);
	}
}

TEST(classify_match_all_and_custom_rules)
{
	static const struct classify_rule rules[] = { { "PUT", "/models/*", NULL } };
	struct classifier cl = { rules, 1, false };

	ASSERT_TRUE(classify_is_llm(&cl, "PUT", "/models/a", NULL));
	ASSERT_TRUE(!classify_is_llm(&cl, "POST", "/models/a", NULL));
	ASSERT_TRUE(!classify_is_llm(&cl, NULL, NULL, NULL));
	cl.match_all = true;
	ASSERT_TRUE(classify_is_llm(&cl, "GET", "/anything", NULL));
}
