// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The rule language's built-in detectors are the redaction engine's
 * (redact/detect.h): one scan finds every entity, with validators, so that
 * what a rule counts is what the redaction stage replaces.
 */
#include "builtin.h"

#include <errno.h>
#include <string.h>

#include "redact/detect.h"
#include "redact/memo.h"
#include "redact/redact.h"
#include "rules/rules.h"

/* Rule-language names: the entity in lower case, plus luhn_card. */
static const struct {
	const char *name;
	enum detect_entity e;
} names[] = {
	{ "email", DETECT_EMAIL },
	{ "credit_card", DETECT_CREDIT_CARD },
	{ "luhn_card", DETECT_CREDIT_CARD },
	{ "us_ssn", DETECT_US_SSN },
	{ "iban", DETECT_IBAN },
	{ "phone", DETECT_PHONE },
	{ "ip_address", DETECT_IP_ADDRESS },
	{ "openai_key", DETECT_OPENAI_KEY },
	{ "anthropic_key", DETECT_ANTHROPIC_KEY },
	{ "aws_access_key", DETECT_AWS_ACCESS_KEY },
	{ "github_token", DETECT_GITHUB_TOKEN },
	{ "gitlab_token", DETECT_GITLAB_TOKEN },
	{ "slack_token", DETECT_SLACK_TOKEN },
	{ "slack_webhook", DETECT_SLACK_WEBHOOK },
	{ "google_api_key", DETECT_GOOGLE_API_KEY },
	{ "stripe_key", DETECT_STRIPE_KEY },
	{ "huggingface_token", DETECT_HUGGINGFACE_TOKEN },
	{ "jwt", DETECT_JWT },
	{ "private_key", DETECT_PRIVATE_KEY },
	{ "url_password", DETECT_URL_PASSWORD },
	{ "generic_secret", DETECT_GENERIC_SECRET },
	{ "invisible_unicode", DETECT_INVISIBLE_UNICODE },
};

#define N_NAMES (sizeof(names) / sizeof(names[0]))

/* One detector for the process: compiled on first use, read-only after. */
static struct detector *det;

size_t builtin_count(void)
{
	return N_NAMES;
}

const char *builtin_name(size_t i)
{
	return i < N_NAMES ? names[i].name : NULL;
}

const char *builtin_entity(size_t i)
{
	return i < N_NAMES ? detect_entity_name(names[i].e) : NULL;
}

int builtin_lookup(const char *name)
{
	for (size_t i = 0; i < N_NAMES; i++)
		if (strcmp(names[i].name, name) == 0)
			return (int)i;
	return -1;
}

int builtin_by_entity(const char *entity)
{
	for (size_t i = 0; i < N_NAMES; i++)
		if (strcmp(detect_entity_name(names[i].e), entity) == 0)
			return (int)i;
	return -1;
}

static int on_match(const struct detect_match *m, void *ctx)
{
	uint32_t *per_entity = ctx;

	if ((unsigned)m->entity < DETECT_ENTITY_COUNT && per_entity[m->entity] < UINT16_MAX)
		per_entity[m->entity]++;
	return 0;
}

static int det_ready(void)
{
	return det ? 0 : detect_new(&det);
}

int builtin_scan_part(struct detect_memo *memo, const char *text, size_t len, uint32_t *per_entity)
{
	const struct detect_match *m;
	size_t n;
	int rc = det_ready();

	if (!rc)
		rc = detect_memo_scan(memo, det, text, len, DETECT_ALL_ENTITIES, &m, &n);
	for (size_t i = 0; !rc && i < n; i++)
		on_match(&m[i], per_entity);
	return rc;
}

void builtin_counts(const uint32_t *per_entity, uint32_t *counts)
{
	for (size_t i = 0; i < N_NAMES; i++)
		counts[i] = per_entity[names[i].e];
}

int builtin_scan(const char *text, size_t len, uint32_t *counts)
{
	uint32_t per_entity[DETECT_ENTITY_COUNT] = { 0 };
	int rc;

	memset(counts, 0, N_NAMES * sizeof(*counts));
	rc = det_ready();
	if (rc)
		return rc;
	if (len == 0)
		return 0;
	rc = detect_scan(det, text, len, DETECT_ALL_ENTITIES, on_match, per_entity);
	if (rc < 0)
		return rc;
	builtin_counts(per_entity, counts);
	return 0;
}

bool rules_verdict_policy(const struct rules_verdict *v, struct redact_policy *p)
{
	static const enum redact_mode modes[] = {
		[RULES_REDACT_DEFAULT] = REDACT_HMAC, [RULES_REDACT_HMAC] = REDACT_HMAC,
		[RULES_REDACT_MASK] = REDACT_MASK,    [RULES_REDACT_PARTIAL] = REDACT_PARTIAL,
		[RULES_REDACT_DROP] = REDACT_DROP,
	};
	bool any = false;

	redact_policy_init(p);
	for (size_t i = 0; v && i < v->n_redact; i++) {
		enum detect_entity e;
		uint64_t bits;

		if (strcmp(v->redact[i].entity, "*") == 0)
			bits = DETECT_ALL_ENTITIES & ~DETECT_BIT(DETECT_INVISIBLE_UNICODE);
		else if (detect_entity_parse(v->redact[i].entity, &e) == 0)
			bits = DETECT_BIT(e);
		else
			continue; /* a custom detector's entity: not the redactor's to find */
		redact_policy_set(p, bits, modes[v->redact[i].mode]);
		any = true;
	}
	return any;
}
