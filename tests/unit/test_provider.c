// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "llm/provider.h"
#include "test.h"

static const char *hdr_value;
static const char *hdr_name;

static const char *one_header(const void *ctx, const char *name)
{
	return hdr_name && strcmp(name, hdr_name) == 0 ? hdr_value : NULL;
}

TEST(provider_table)
{
	static const struct {
		const char *host, *path, *fingerprint, *header, *body;
		enum llm_api api;
		const char *family, *want;
	} cases[] = {
		{ "api.openai.com", "/v1/chat/completions", NULL, NULL, NULL, LLM_API_OPENAI_CHAT,
		  "openai", "openai" },
		{ "myres.openai.azure.com", "/openai/deployments/x/chat/completions", NULL, NULL,
		  NULL, LLM_API_OPENAI_CHAT, "openai", "azure.ai.openai" },
		{ "gw.internal", "/openai/deployments/x/chat/completions", NULL, NULL, NULL,
		  LLM_API_OPENAI_CHAT, "openai", "azure.ai.openai" },
		{ "api.anthropic.com", "/v1/messages", NULL, NULL, NULL, LLM_API_ANTHROPIC_MESSAGES,
		  "anthropic", "anthropic" },
		{ "generativelanguage.googleapis.com", "/v1beta/models/g:generateContent", NULL,
		  NULL, NULL, LLM_API_GEMINI, "gcp.gemini", "gcp.gemini" },
		{ "us-central1-aiplatform.googleapis.com", "/v1/x:generateContent", NULL, NULL,
		  NULL, LLM_API_GEMINI, "gcp.gemini", "gcp.vertex_ai" },
		{ "bedrock-runtime.us-east-1.amazonaws.com", "/model/x/invoke", NULL, NULL, NULL,
		  LLM_API_UNKNOWN_JSON, NULL, "aws.bedrock" },
		{ "10.0.0.5", "/v1/chat/completions", "b6097-9515c613", NULL, NULL,
		  LLM_API_OPENAI_CHAT, "openai", "llama.cpp" },
		{ "10.0.0.5", "/v1/chat/completions", NULL, NULL,
		  "{\"id\":\"x\",\"prompt_logprobs\":null}", LLM_API_OPENAI_CHAT, "openai",
		  "vllm" },
		{ "10.0.0.5", "/v1/chat/completions", NULL, NULL,
		  "{\"choices\":[{\"matched_stop\":1}]}", LLM_API_OPENAI_CHAT, "openai", "sglang" },
		{ "10.0.0.5", "/v1/chat/completions", NULL, "x-compute-type", NULL,
		  LLM_API_OPENAI_CHAT, "openai", "tgi" },
		{ "litellm.internal", "/v1/chat/completions", "fp_abc", "x-litellm-call-id", NULL,
		  LLM_API_OPENAI_CHAT, "openai", "litellm" },
		{ "localhost", "/v1/chat/completions", "fp_abc", NULL, NULL, LLM_API_OPENAI_CHAT,
		  "openai", "openai" },
		{ "localhost", "/api/chat", NULL, NULL, NULL, LLM_API_OLLAMA_CHAT, "ollama",
		  "ollama" },
		{ NULL, "/generate", NULL, NULL, NULL, LLM_API_TGI, "tgi", "tgi" },
		{ NULL, "/x", NULL, NULL, NULL, LLM_API_NONE, NULL, "unknown" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct llm_exchange ex;
		struct llm_http h = { 0 };
		const char *got;

		llm_exchange_init(&ex);
		ex.api = cases[i].api;
		ex.api_family = cases[i].family;
		ex.system_fingerprint = (char *)cases[i].fingerprint;
		h.path = cases[i].path;
		h.resp_body = cases[i].body;
		h.resp_len = cases[i].body ? strlen(cases[i].body) : 0;
		h.resp_header = one_header;
		hdr_name = cases[i].header;
		hdr_value = "1";
		got = llm_provider(cases[i].host, &ex, &h);
		if (strcmp(got, cases[i].want) != 0)
			test_fail_at(__FILE__, __LINE__, "case %zu (%s%s): got %s, want %s", i,
				     cases[i].host ? cases[i].host : "-", cases[i].path, got,
				     cases[i].want);
	}
}
