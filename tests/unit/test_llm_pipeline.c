// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Every LLM fixture through the whole user-space path (HTTP parsing,
 * content decoding, the API decoder): fed whole, split in two at every byte
 * offset, and with the response body gzip-compressed, the decoded exchange
 * must be the same and match the fixture's expectation.
 */
#include <dirent.h>
#include <strings.h>
#include <stdlib.h>
#include <zlib.h>

#include "llm/analyze.h"
#include "llm_fixture.h"
#include "proto/http_exchange.h"
#include "stream/conn_table.h"
#include "test.h"

struct got {
	json_t *ex; /* llm_exchange_to_json of the last exchange */
	int n;
};

static void on_exchange(const struct http_exchange *hx, struct conn *c, void *ctx)
{
	struct llm_analyze_opts o = { .max_decoded = 4 << 20 };
	struct got *g = ctx;
	struct llm_analysis a;

	if (llm_analyze(hx, "localhost", &o, &a) == 0 && a.api != LLM_API_NONE) {
		json_decref(g->ex);
		g->ex = llm_exchange_to_json(&a.ex);
		/* offsets into a compressed body are not comparable: drop them */
		json_object_del(g->ex, "first_content_offset");
		g->n++;
	}
	llm_analysis_free(&a);
}

static bool all_http(const struct http_message *m, const struct conn *c, void *ctx)
{
	return true;
}

/* Feeds req then resp (resp split at `split`, 0 = whole) through one connection. */
static json_t *run(const char *req, size_t req_len, const char *resp, size_t resp_len, size_t split)
{
	struct got g = { 0 };
	struct http_hooks hooks = { on_exchange, all_http, &g };
	struct http_conn *hc = http_conn_new(NULL);
	struct conn c = { 0 };

	http_conn_feed(hc, &c, 0, req, req_len, 1, &hooks);
	if (split && split < resp_len) {
		http_conn_feed(hc, &c, 1, resp, split, 2, &hooks);
		http_conn_feed(hc, &c, 1, resp + split, resp_len - split, 3, &hooks);
	} else {
		http_conn_feed(hc, &c, 1, resp, resp_len, 2, &hooks);
	}
	http_conn_eof(hc, &c, 4, &hooks);
	http_conn_free(hc);
	if (g.n != 1) {
		json_decref(g.ex);
		return NULL;
	}
	return g.ex;
}

struct body_cap {
	char *b;
	size_t n;
};

static int take_body(struct http1_msg *m, void *ctx)
{
	struct body_cap *cap = ctx;

	free(cap->b);
	cap->b = dynbuf_take(&m->body, &cap->n);
	return 0;
}

/* The response with its body gzip-compressed and re-framed with Content-Length. */
static char *gzip_response(const char *resp, size_t len, size_t *out_len)
{
	const char *body = strstr(resp, "\r\n\r\n"), *line;
	struct http1_parser *hp;
	struct body_cap cap = { 0 };
	char *out = NULL, *plain = NULL;
	size_t plain_len = 0, head_len = 0;
	z_stream z = { 0 };
	uLong zcap;
	char *zbuf;

	if (!body)
		return NULL;
	/* de-chunk with the real parser */
	hp = http1_parser_new(HTTP1_RESPONSE, NULL);
	http1_feed(hp, resp, len, 1, take_body, &cap);
	http1_eof(hp, 2, take_body, &cap);
	http1_parser_free(hp);
	plain = cap.b;
	plain_len = cap.n;
	if (!plain)
		return NULL;
	zcap = compressBound(plain_len) + 64;
	zbuf = malloc(zcap);
	deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	z.next_in = (Bytef *)plain;
	z.avail_in = (uInt)plain_len;
	z.next_out = (Bytef *)zbuf;
	z.avail_out = (uInt)zcap;
	deflate(&z, Z_FINISH);
	deflateEnd(&z);
	out = malloc((size_t)(body - resp) + 256 + z.total_out);
	/* keep every header but the framing ones, which are replaced */
	head_len = 0;
	for (line = resp; line < body + 2;) {
		const char *e = strstr(line, "\r\n");
		size_t n = (size_t)(e - line);

		if (strncasecmp(line, "content-length:", 15) != 0 &&
		    strncasecmp(line, "transfer-encoding:", 18) != 0 &&
		    strncasecmp(line, "content-encoding:", 17) != 0) {
			memcpy(out + head_len, line, n + 2);
			head_len += n + 2;
		}
		line = e + 2;
	}
	head_len += (size_t)sprintf(out + head_len,
				    "Content-Encoding: gzip\r\nContent-Length: %lu\r\n\r\n",
				    (unsigned long)z.total_out);
	memcpy(out + head_len, zbuf, z.total_out);
	*out_len = head_len + z.total_out;
	free(zbuf);
	free(plain);
	return out;
}

static int check_family(const char *family)
{
	char dir[256], path[512], diff[1024];
	struct dirent *de;
	int cases = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/llm/%s",
		 getenv("LLMTAP_TEST_DATA") ? getenv("LLMTAP_TEST_DATA") : "tests/data", family);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name), req_len, resp_len, gz_len;
		char *req, *resp, *gz, name[256];
		json_t *whole, *other;

		if (n < 5 || strcmp(de->d_name + n - 4, ".req") != 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(n - 4), de->d_name);
		snprintf(path, sizeof(path), "llm/%s/%s.req", family, name);
		req = test_read_data(path, &req_len);
		snprintf(path, sizeof(path), "llm/%s/%s.resp", family, name);
		resp = test_read_data(path, &resp_len);
		if (!req || !resp)
			test_fail_at(__FILE__, __LINE__, "%s/%s: unreadable", family, name);
		whole = run(req, req_len, resp, resp_len, 0);
		if (!whole)
			test_fail_at(__FILE__, __LINE__, "%s/%s: no exchange", family, name);
		for (size_t split = 1; split < resp_len; split++) {
			other = run(req, req_len, resp, resp_len, split);
			if (!other || llm_json_subset_diff(whole, other, name, diff, sizeof(diff)))
				test_fail_at(__FILE__, __LINE__, "%s split at %zu: %s", name, split,
					     other ? diff : "no exchange");
			json_decref(other);
		}
		gz = gzip_response(resp, resp_len, &gz_len);
		if (gz) {
			other = run(req, req_len, gz, gz_len, 0);
			/* only the framing headers differ; the exchange must not */
			if (!other || llm_json_subset_diff(whole, other, name, diff, sizeof(diff)))
				test_fail_at(__FILE__, __LINE__, "%s gzip: %s", name,
					     other ? diff : "no exchange");
			json_decref(other);
			free(gz);
		}
		json_decref(whole);
		free(req);
		free(resp);
		cases++;
	}
	closedir(d);
	return cases;
}

TEST(llm_pipeline_every_fixture_split_and_gzipped)
{
	static const char *const families[] = { "openai", "anthropic", "gemini",
						"ollama", "tgi",       "llamacpp" };
	int total = 0;

	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		total += check_family(families[i]);
	printf("  note: %d fixtures checked whole, split at every offset and gzipped\n", total);
	ASSERT_TRUE(total >= 20);
}
