/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The price table (share/prices.json): USD per `per` tokens, by model.
 * Costs are computed only from prices the table has: an unknown model or
 * missing token counts give no cost, never a guess.
 */
#ifndef LLMTAP_PRICE_H
#define LLMTAP_PRICE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "llm/llm.h"

struct price_table {
	json_t *models; /* object: model -> {input, cached_input?, cache_write?, output} */
	double per; /* tokens the prices are for (1e6) */
};

/* Parses a table; on error returns -EINVAL with "line N: why" in err. */
int price_table_load(struct price_table *t, const char *text, size_t len, char *err,
		     size_t err_size);
void price_table_free(struct price_table *t);
/* The embedded default table (share/prices.json at build time). */
int price_table_load_default(struct price_table *t);
/*
 * The cost of an exchange: looks up the response model, then the request
 * model, each exactly and then without a date suffix (-2024-08-06,
 * -20241022, @20240620, -latest).  Returns 0 with *usd set, -ENOENT when no
 * price or counts are missing.
 */
int price_cost(const struct price_table *t, const struct llm_exchange *ex, double *usd);

#endif
