// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "llm/price.h"
#include "test.h"

static const char TABLE[] =
	"{\n"
	"  \"per\": 1000000,\n"
	"  \"models\": {\n"
	"    \"gpt-4o\": {\"input\": 2.5, \"cached_input\": 1.25, \"output\": 10},\n"
	"    \"claude-sonnet-4\": {\"input\": 3, \"cached_input\": 0.3,\n"
	"                          \"cache_write\": 3.75, \"output\": 15}\n"
	"  }\n"
	"}\n";

static void exchange(struct llm_exchange *ex, const char *req, const char *resp, int64_t in,
		     int64_t cached, int64_t written, int64_t out)
{
	llm_exchange_init(ex);
	ex->request_model = req ? strdup(req) : NULL;
	ex->response_model = resp ? strdup(resp) : NULL;
	ex->usage.input_tokens = in;
	ex->usage.cache_read_input_tokens = cached;
	ex->usage.cache_creation_input_tokens = written;
	ex->usage.output_tokens = out;
}

TEST(price_cost_table)
{
	static const struct {
		const char *req, *resp;
		int64_t in, cached, written, out;
		int err;
		double usd;
	} cases[] = {
		/* 1000 in (200 cached) + 500 out: 800*2.5 + 200*1.25 + 500*10 per M */
		{ "gpt-4o", "gpt-4o-2024-08-06", 1000, 200, -1, 500, 0, 0.00725 },
		{ "gpt-4o-20240806", NULL, 1000, -1, -1, 0, 0, 0.0025 },
		{ "gpt-4o@20240806", NULL, 1000, -1, -1, 0, 0, 0.0025 },
		{ "gpt-4o-latest", NULL, 1000, -1, -1, 0, 0, 0.0025 },
		/* Anthropic: input includes 100 read + 300 written */
		{ "claude-sonnet-4-20250514", NULL, 1400, 100, 300, 10, 0,
		  (1000 * 3 + 100 * 0.3 + 300 * 3.75 + 10 * 15) / 1e6 },
		{ "unknown-model", NULL, 10, -1, -1, 10, -ENOENT, 0 },
		{ "gpt-4o-mini", NULL, 10, -1, -1, 10, -ENOENT, 0 }, /* no prefix guessing */
		{ "gpt-4o", NULL, 10, -1, -1, -1, -ENOENT, 0 }, /* output unknown */
		{ NULL, NULL, 10, -1, -1, 10, -ENOENT, 0 },
	};
	struct price_table t;
	char err[128];

	ASSERT_EQ(price_table_load(&t, TABLE, sizeof(TABLE) - 1, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct llm_exchange ex;
		double usd = -1;
		int rc;

		exchange(&ex, cases[i].req, cases[i].resp, cases[i].in, cases[i].cached,
			 cases[i].written, cases[i].out);
		rc = price_cost(&t, &ex, &usd);
		llm_exchange_clear(&ex);
		if (rc != cases[i].err || (!rc && fabs(usd - cases[i].usd) > 1e-12))
			test_fail_at(__FILE__, __LINE__,
				     "case %zu (%s): rc %d usd %.9f, want %d %.9f", i,
				     cases[i].req ? cases[i].req : "-", rc, usd, cases[i].err,
				     cases[i].usd);
	}
	price_table_free(&t);
}

TEST(price_table_errors_name_the_line)
{
	static const char bad_json[] = "{\n \"models\": {\n  \"x\": {\"input\": 1,}\n }\n}";
	static const char bad_entry[] = "{\"models\": {\"x\": {\"input\": -1, \"output\": 1}}}";
	struct price_table t;
	char err[160];

	ASSERT_EQ(price_table_load(&t, bad_json, sizeof(bad_json) - 1, err, sizeof(err)), -EINVAL);
	ASSERT_TRUE(strncmp(err, "line 3:", 7) == 0);
	ASSERT_EQ(price_table_load(&t, bad_entry, sizeof(bad_entry) - 1, err, sizeof(err)),
		  -EINVAL);
	ASSERT_TRUE(strstr(err, "\"x\"") != NULL);
}

TEST(price_default_table_is_valid)
{
	struct price_table t;
	struct llm_exchange ex;
	double usd;

	ASSERT_EQ(price_table_load_default(&t), 0);
	exchange(&ex, "gpt-4o-mini", NULL, 1000000, -1, -1, 1000000);
	ASSERT_EQ(price_cost(&t, &ex, &usd), 0);
	ASSERT_TRUE(usd > 0);
	llm_exchange_clear(&ex);
	price_table_free(&t);
}
