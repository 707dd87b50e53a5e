/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * From an HTTP exchange to a decoded LLM exchange: which API, bodies
 * decompressed (capped), the API decoder, the provider, the time of the
 * first content-bearing chunk, the estimated cost.
 */
#ifndef LLMTAP_ANALYZE_H
#define LLMTAP_ANALYZE_H

#include <stdbool.h>
#include <stdint.h>

#include "llm/llm.h"
#include "llm/price.h"
#include "proto/http_exchange.h"

struct llm_analyze_opts {
	const struct price_table *prices; /* NULL: no cost */
	size_t max_decoded; /* cap of a decompressed body */
};

struct llm_analysis {
	enum llm_api api; /* LLM_API_NONE: not LLM traffic, nothing else is set */
	struct llm_exchange ex;
	const char *provider;
	bool has_cost;
	double cost_usd;
	uint64_t first_chunk_ts; /* CLOCK_MONOTONIC ns of the first content chunk, 0 unknown */
	int decode_err; /* llm_decode's result */
	/* decoded (decompressed) bodies; point into the messages when identity */
	const char *req_body, *resp_body;
	size_t req_len, resp_len;
	bool req_decode_failed, resp_decode_failed; /* corrupt or unsupported Content-Encoding */
	bool req_decode_truncated, resp_decode_truncated; /* decompressed past the cap */
	char *req_owned, *resp_owned;
};

/* host: the Host header or SNI (any case, with port), may be NULL.
 * Returns 0 (a->api says whether it is LLM traffic) or -ENOMEM. */
int llm_analyze(const struct http_exchange *hx, const char *host, const struct llm_analyze_opts *o,
		struct llm_analysis *a);
void llm_analysis_free(struct llm_analysis *a);
/* "API.OpenAI.com:443" -> "api.openai.com"; "[::1]:8080" -> "::1". */
void llm_host_normalize(const char *in, char *out, size_t out_size);

#endif
