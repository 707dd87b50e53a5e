// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "classify.h"

#include <ctype.h>
#include <fnmatch.h>
#include <string.h>

/* Hosts of hosted LLM APIs: any request to them is recorded. */
#define HOST_RULE(h)          \
	{                     \
		NULL, NULL, h \
	}
/* API paths of inference servers, hosted or self-hosted (vLLM, SGLang,
 * llama.cpp, TGI, Ollama, LiteLLM, Azure OpenAI, Vertex, Bedrock). */
#define POST_RULE(p)            \
	{                       \
		"POST", p, NULL \
	}

static const struct classify_rule default_rules[] = {
	HOST_RULE("api.openai.com"),
	HOST_RULE("*.openai.azure.com"),
	HOST_RULE("api.anthropic.com"),
	HOST_RULE("generativelanguage.googleapis.com"),
	HOST_RULE("*aiplatform.googleapis.com"),
	HOST_RULE("bedrock-runtime.*.amazonaws.com"),
	HOST_RULE("api.mistral.ai"),
	HOST_RULE("api.groq.com"),
	HOST_RULE("api.together.xyz"),
	HOST_RULE("api.deepseek.com"),
	HOST_RULE("openrouter.ai"),
	HOST_RULE("api.cohere.com"),
	HOST_RULE("api.cohere.ai"),
	HOST_RULE("api.fireworks.ai"),
	HOST_RULE("api.perplexity.ai"),
	HOST_RULE("api.x.ai"),
	POST_RULE("*/chat/completions"),
	POST_RULE("*/completions"),
	POST_RULE("*/embeddings"),
	POST_RULE("*/responses"),
	POST_RULE("*/messages"),
	POST_RULE("/api/chat"),
	POST_RULE("/api/generate"),
	POST_RULE("/api/embed"),
	POST_RULE("/api/embeddings"),
	POST_RULE("/generate"),
	POST_RULE("/generate_stream"),
	POST_RULE("/completion"),
	POST_RULE("/v1/rerank"),
	POST_RULE("*:generateContent"),
	POST_RULE("*:streamGenerateContent"),
	POST_RULE("/model/*/invoke"),
	POST_RULE("/model/*/invoke-with-response-stream"),
	POST_RULE("/model/*/converse"),
	POST_RULE("/model/*/converse-stream"),
};

void classifier_default(struct classifier *cl)
{
	cl->rules = default_rules;
	cl->n_rules = sizeof(default_rules) / sizeof(default_rules[0]);
	cl->match_all = false;
}

bool classify_is_llm(const struct classifier *cl, const char *method, const char *target,
		     const char *host)
{
	char path[2048], h[256];
	size_t n;

	if (cl->match_all)
		return true;
	if (!method || !target)
		return false;
	n = strcspn(target, "?#");
	if (n >= sizeof(path))
		n = sizeof(path) - 1;
	memcpy(path, target, n);
	path[n] = '\0';
	h[0] = '\0';
	if (host) {
		/* "[v6]:port" or "name:port" -> name; lower-case */
		const char *end = host[0] == '[' ? strchr(host, ']') : strchr(host, ':');

		n = end ? (size_t)(end - host) + (host[0] == '[') : strlen(host);
		if (n >= sizeof(h))
			n = sizeof(h) - 1;
		for (size_t i = 0; i < n; i++)
			h[i] = (char)tolower((unsigned char)host[i]);
		h[n] = '\0';
	}
	for (size_t i = 0; i < cl->n_rules; i++) {
		const struct classify_rule *r = &cl->rules[i];

		if (r->method && fnmatch(r->method, method, 0) != 0)
			continue;
		if (r->path && fnmatch(r->path, path, 0) != 0)
			continue;
		if (r->host && (!h[0] || fnmatch(r->host, h, 0) != 0))
			continue;
		return true;
	}
	return false;
}
