// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "analyze.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "llm/provider.h"
#include "proto/content.h"
#include "util/dynbuf.h"

void llm_host_normalize(const char *in, char *out, size_t out_size)
{
	const char *end;
	size_t n;

	if (!out_size)
		return;
	out[0] = '\0';
	if (!in)
		return;
	if (in[0] == '[') {
		in++;
		end = strchr(in, ']');
	} else {
		end = strchr(in, ':');
	}
	n = end ? (size_t)(end - in) : strlen(in);
	if (n >= out_size)
		n = out_size - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[n] = '\0';
}

/*
 * Undoes Content-Encoding.  Identity bodies are used in place; others are
 * decompressed into an owned buffer capped at max.
 */
static int decode_body(const struct http_message *m, size_t max, const char **body, size_t *len,
		       char **owned, bool *failed, bool *truncated)
{
	const char *ce = http_message_header(m, "content-encoding");
	enum content_coding codings[4];
	bool incomplete = false;
	struct dynbuf out;
	int n, err;

	*body = m->body ? m->body : "";
	*len = m->body_len;
	if (!ce || !m->body_len)
		return 0;
	n = content_parse_encoding(ce, codings, 4);
	if (n <= 0) {
		*failed = n < 0;
		return 0;
	}
	dynbuf_init(&out, max);
	err = content_decode(codings, (size_t)n, m->body, m->body_len, &out, truncated,
			     &incomplete);
	if (err == -ENOMEM) {
		dynbuf_free(&out);
		return err;
	}
	if (err)
		*failed = true;
	*owned = dynbuf_take(&out, len);
	*body = *owned ? *owned : "";
	return 0;
}

static const char *resp_header(const void *ctx, const char *name)
{
	return http_message_header(ctx, name);
}

static void split_target(const char *target, char *path, size_t path_size, const char **query)
{
	size_t n = strcspn(target, "?#");

	if (n >= path_size)
		n = path_size - 1;
	memcpy(path, target, n);
	path[n] = '\0';
	*query = target[n] == '?' ? target + n + 1 : NULL;
}

int llm_analyze(const struct http_exchange *hx, const char *host, const struct llm_analyze_opts *o,
		struct llm_analysis *a)
{
	const struct http_message *rq = &hx->req, *rs = &hx->resp;
	bool has_resp = !(hx->flags & HTTP_EXCH_F_NO_RESPONSE);
	struct llm_exchange probe;
	struct llm_http h = { 0 };
	char path[2048], norm_host[256];
	const char *query = NULL;
	int err;

	memset(a, 0, sizeof(*a));
	llm_exchange_init(&a->ex);
	llm_host_normalize(host, norm_host, sizeof(norm_host));
	split_target(rq->target ? rq->target : "", path, sizeof(path), &query);

	err = decode_body(rq, o->max_decoded, &a->req_body, &a->req_len, &a->req_owned,
			  &a->req_decode_failed, &a->req_decode_truncated);
	if (!err && has_resp)
		err = decode_body(rs, o->max_decoded, &a->resp_body, &a->resp_len, &a->resp_owned,
				  &a->resp_decode_failed, &a->resp_decode_truncated);
	if (err)
		return err;

	a->api = llm_api_detect(rq->method, path, a->req_body, a->req_len);
	if (a->api == LLM_API_NONE) {
		/* any other JSON API of a known LLM host is still recorded */
		llm_exchange_init(&probe);
		if (strcmp(llm_provider(norm_host[0] ? norm_host : NULL, &probe, NULL),
			   "unknown") == 0)
			return 0;
		a->api = LLM_API_UNKNOWN_JSON;
	}

	h.method = rq->method;
	h.path = path;
	h.query = query;
	h.host = norm_host[0] ? norm_host : NULL;
	h.status = has_resp ? rs->status : 0;
	h.req_content_type = http_message_header(rq, "content-type");
	h.resp_content_type = has_resp ? http_message_header(rs, "content-type") : NULL;
	h.req_body = a->req_body;
	h.req_len = a->req_len;
	h.resp_body = has_resp ? a->resp_body : NULL;
	h.resp_len = has_resp ? a->resp_len : 0;
	h.resp_incomplete = !has_resp || (rs->flags & (HTTP1_F_INCOMPLETE | HTTP1_F_GAP));
	h.resp_truncated =
		has_resp && ((rs->flags & HTTP1_F_BODY_TRUNCATED) || a->resp_decode_truncated);
	h.resp_header = resp_header;
	h.hdr_ctx = rs;

	a->decode_err = llm_decode(a->api, &h, &a->ex);
	if (a->decode_err == -ENOMEM)
		return -ENOMEM;
	if (h.resp_incomplete || h.resp_truncated)
		a->ex.incomplete = true;
	a->provider = llm_provider(h.host, &a->ex, &h);

	/* body offsets map to arrival times only when nothing was decompressed */
	if (a->ex.first_content_offset > 0 && has_resp && !a->resp_owned)
		a->first_chunk_ts =
			http_message_time_at(rs, (uint64_t)a->ex.first_content_offset - 1);
	if (o->prices && price_cost(o->prices, &a->ex, &a->cost_usd) == 0)
		a->has_cost = true;
	return 0;
}

void llm_analysis_free(struct llm_analysis *a)
{
	llm_exchange_clear(&a->ex);
	free(a->req_owned);
	free(a->resp_owned);
	memset(a, 0, sizeof(*a));
}
