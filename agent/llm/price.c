// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "price.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* share/prices.json, embedded by agent/llm/prices_blob.S. */
extern const char llmtap_prices_json_start[];
extern const char llmtap_prices_json_end[];

static bool valid_price(const json_t *v)
{
	return json_is_number(v) && json_number_value(v) >= 0 && json_number_value(v) < 1e9;
}

int price_table_load(struct price_table *t, const char *text, size_t len, char *err,
		     size_t err_size)
{
	json_error_t jerr;
	json_t *root, *models, *per, *entry;
	const char *name;

	memset(t, 0, sizeof(*t));
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, err_size, "line %d: %s", jerr.line, jerr.text);
		return -EINVAL;
	}
	models = json_object_get(root, "models");
	per = json_object_get(root, "per");
	if (!json_is_object(models) ||
	    (per && (!json_is_number(per) || json_number_value(per) <= 0))) {
		snprintf(err, err_size, "needs an object \"models\" and a positive number \"per\"");
		json_decref(root);
		return -EINVAL;
	}
	json_object_foreach(models, name, entry) {
		if (!json_is_object(entry) || !valid_price(json_object_get(entry, "input")) ||
		    !valid_price(json_object_get(entry, "output")) ||
		    (json_object_get(entry, "cached_input") &&
		     !valid_price(json_object_get(entry, "cached_input"))) ||
		    (json_object_get(entry, "cache_write") &&
		     !valid_price(json_object_get(entry, "cache_write")))) {
			snprintf(err, err_size,
				 "model \"%.80s\": needs numbers \"input\" and \"output\" (>= 0), "
				 "optional \"cached_input\", \"cache_write\"",
				 name);
			json_decref(root);
			return -EINVAL;
		}
	}
	t->models = json_incref(models);
	t->per = per ? json_number_value(per) : 1e6;
	json_decref(root);
	return 0;
}

int price_table_load_default(struct price_table *t)
{
	char err[256];

	return price_table_load(t, llmtap_prices_json_start,
				(size_t)(llmtap_prices_json_end - llmtap_prices_json_start), err,
				sizeof(err));
}

void price_table_free(struct price_table *t)
{
	json_decref(t->models);
	t->models = NULL;
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* Removes a trailing date or "latest" suffix in place: -2024-08-06,
 * -20241022, @20240620, -latest.  Returns whether it removed one. */
static bool strip_date(char *m)
{
	size_t n = strlen(m);

	if (n > 7 && strcmp(m + n - 7, "-latest") == 0) {
		m[n - 7] = '\0';
		return true;
	}
	if (n > 11 && m[n - 11] == '-' && all_digits(m + n - 10, 4) && m[n - 6] == '-' &&
	    all_digits(m + n - 5, 2) && m[n - 3] == '-' && all_digits(m + n - 2, 2)) {
		m[n - 11] = '\0';
		return true;
	}
	if (n > 9 && (m[n - 9] == '-' || m[n - 9] == '@') && all_digits(m + n - 8, 8)) {
		m[n - 9] = '\0';
		return true;
	}
	return false;
}

static const json_t *lookup(const struct price_table *t, const char *model)
{
	char name[256];
	const json_t *e;

	if (!model || !t->models)
		return NULL;
	e = json_object_get(t->models, model);
	if (e)
		return e;
	snprintf(name, sizeof(name), "%s", model);
	if (strip_date(name))
		return json_object_get(t->models, name);
	return NULL;
}

static double price_of(const json_t *e, const char *k, const char *fallback)
{
	const json_t *v = json_object_get(e, k);

	if (!v)
		v = json_object_get(e, fallback);
	return json_number_value(v);
}

int price_cost(const struct price_table *t, const struct llm_exchange *ex, double *usd)
{
	const json_t *e = lookup(t, ex->response_model);
	const struct llm_usage *u = &ex->usage;
	int64_t cached, written, fresh;

	if (!e)
		e = lookup(t, ex->request_model);
	if (!e || u->input_tokens < 0 || u->output_tokens < 0)
		return -ENOENT;
	cached = u->cache_read_input_tokens > 0 ? u->cache_read_input_tokens : 0;
	written = u->cache_creation_input_tokens > 0 ? u->cache_creation_input_tokens : 0;
	/* normalised input includes cache reads and writes: price each part once */
	fresh = u->input_tokens - cached - written;
	if (fresh < 0)
		fresh = 0;
	*usd = ((double)fresh * price_of(e, "input", "input") +
		(double)cached * price_of(e, "cached_input", "input") +
		(double)written * price_of(e, "cache_write", "input") +
		(double)u->output_tokens * price_of(e, "output", "output")) /
	       t->per;
	return 0;
}
