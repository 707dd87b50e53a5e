// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "provider.h"

#include <ctype.h>
#include <fnmatch.h>
#include <string.h>

struct host_provider {
	const char *glob;
	const char *provider;
};

/* OTel's registered values where one exists. */
static const struct host_provider hosts[] = {
	{ "api.openai.com", "openai" },
	{ "*.openai.azure.com", "azure.ai.openai" },
	{ "*.services.ai.azure.com", "azure.ai.inference" },
	{ "*.inference.ai.azure.com", "azure.ai.inference" },
	{ "api.anthropic.com", "anthropic" },
	{ "generativelanguage.googleapis.com", "gcp.gemini" },
	{ "aiplatform.googleapis.com", "gcp.vertex_ai" },
	{ "*-aiplatform.googleapis.com", "gcp.vertex_ai" },
	{ "bedrock-runtime.*.amazonaws.com", "aws.bedrock" },
	{ "bedrock-runtime-fips.*.amazonaws.com", "aws.bedrock" },
	{ "api.mistral.ai", "mistral_ai" },
	{ "api.groq.com", "groq" },
	{ "api.deepseek.com", "deepseek" },
	{ "api.x.ai", "x_ai" },
	{ "api.perplexity.ai", "perplexity" },
	{ "api.cohere.com", "cohere" },
	{ "api.cohere.ai", "cohere" },
	{ "api.moonshot.ai", "moonshot_ai" },
	{ "openrouter.ai", "openrouter" },
	{ "api.together.xyz", "together_ai" },
	{ "api.fireworks.ai", "fireworks_ai" },
};

/* llama.cpp's server reports its build as "b<number>-<commit>". */
static bool llamacpp_fingerprint(const char *fp)
{
	size_t i = 1;

	if (!fp || fp[0] != 'b' || !isdigit((unsigned char)fp[1]))
		return false;
	while (isdigit((unsigned char)fp[i]))
		i++;
	if (fp[i] != '-' || !fp[i + 1])
		return false;
	for (i++; fp[i]; i++)
		if (!isxdigit((unsigned char)fp[i]))
			return false;
	return true;
}

static bool body_has(const struct llm_http *h, const char *needle)
{
	return h && h->resp_body && memmem(h->resp_body, h->resp_len, needle, strlen(needle));
}

const char *llm_provider(const char *host, const struct llm_exchange *ex, const struct llm_http *h)
{
	for (size_t i = 0; host && i < sizeof(hosts) / sizeof(hosts[0]); i++)
		if (fnmatch(hosts[i].glob, host, 0) == 0)
			return hosts[i].provider;
	/* Azure OpenAI's deployment paths, behind a gateway or a private endpoint */
	if (h && h->path && strncmp(h->path, "/openai/deployments/", 20) == 0)
		return "azure.ai.openai";
	/* the LiteLLM proxy answers with its own headers, whatever the backend */
	if (h && h->resp_header &&
	    (h->resp_header(h->hdr_ctx, "x-litellm-call-id") ||
	     h->resp_header(h->hdr_ctx, "x-litellm-model-id")))
		return "litellm";
	if (ex->api == LLM_API_OPENAI_CHAT || ex->api == LLM_API_OPENAI_COMPLETIONS ||
	    ex->api == LLM_API_OPENAI_EMBEDDINGS || ex->api == LLM_API_OPENAI_RESPONSES) {
		/* self-hosted OpenAI-compatible servers, by what their responses carry */
		if (llamacpp_fingerprint(ex->system_fingerprint))
			return "llama.cpp";
		if (ex->system_fingerprint && strncmp(ex->system_fingerprint, "vllm", 4) == 0)
			return "vllm";
		if (body_has(h, "\"prompt_logprobs\"") || body_has(h, "\"kv_transfer_params\""))
			return "vllm";
		if (body_has(h, "\"matched_stop\""))
			return "sglang";
		if (h && h->resp_header && h->resp_header(h->hdr_ctx, "x-compute-type"))
			return "tgi";
	}
	if (ex->api == LLM_API_TGI)
		return "tgi";
	if (ex->api == LLM_API_LLAMACPP)
		return "llama.cpp";
	return ex->api_family ? ex->api_family : "unknown";
}
