/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Built-in detectors of personal data and credentials in text: one
 * Hyperscan database of literal prefixes and short triggers finds the
 * candidates, C code extends each to its exact span and validates it (Luhn,
 * mod-97, SSN ranges, the GitHub CRC32, JWT headers, entropy), so random
 * digits and near-misses are not reported.  Matches come back in text order
 * and never overlap (the more specific entity wins).  Text is bytes: no
 * UTF-8 validity is assumed.
 */
#ifndef LLMTAP_REDACT_DETECT_H
#define LLMTAP_REDACT_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Stable values (they index tables and bit masks): append only. */
enum detect_entity {
	DETECT_EMAIL,
	DETECT_CREDIT_CARD,
	DETECT_US_SSN,
	DETECT_IBAN,
	DETECT_PHONE,
	DETECT_IP_ADDRESS,
	DETECT_OPENAI_KEY,
	DETECT_ANTHROPIC_KEY,
	DETECT_AWS_ACCESS_KEY,
	DETECT_GITHUB_TOKEN,
	DETECT_GITLAB_TOKEN,
	DETECT_SLACK_TOKEN,
	DETECT_SLACK_WEBHOOK,
	DETECT_GOOGLE_API_KEY,
	DETECT_STRIPE_KEY,
	DETECT_HUGGINGFACE_TOKEN,
	DETECT_JWT,
	DETECT_PRIVATE_KEY,
	DETECT_URL_PASSWORD,
	DETECT_GENERIC_SECRET,
	/* not personal data: a signal for rules, never redacted */
	DETECT_INVISIBLE_UNICODE,
	DETECT_ENTITY_COUNT
};

#define DETECT_BIT(e) (UINT64_C(1) << (e))
#define DETECT_ALL_ENTITIES (DETECT_BIT(DETECT_ENTITY_COUNT) - 1)
#define DETECT_PII                                                                               \
	(DETECT_BIT(DETECT_EMAIL) | DETECT_BIT(DETECT_CREDIT_CARD) | DETECT_BIT(DETECT_US_SSN) | \
	 DETECT_BIT(DETECT_IBAN) | DETECT_BIT(DETECT_PHONE) | DETECT_BIT(DETECT_IP_ADDRESS))
/* credentials: OPENAI_KEY .. GENERIC_SECRET */
#define DETECT_SECRETS (DETECT_BIT(DETECT_INVISIBLE_UNICODE) - DETECT_BIT(DETECT_OPENAI_KEY))
/* Scan flag (in entity_mask): also report loopback, private, link-local,
 * documentation and other non-public addresses (match flag DETECT_F_PRIVATE). */
#define DETECT_SCAN_PRIVATE_IPS (UINT64_C(1) << 63)

/* match flags */
#define DETECT_F_PRIVATE 0x1u /* IP_ADDRESS: not a public address */
#define DETECT_F_TEST_DATA 0x2u /* CREDIT_CARD: a published test number (4111...) */
#define DETECT_F_DISPLACED 0x4u /* an overlapping candidate reaching past this one was set aside */

struct detect_match {
	size_t start, len; /* byte span in the scanned text */
	enum detect_entity entity;
	unsigned flags;
};

/* Receives each match in text order; a non-zero return stops the scan. */
typedef int (*detect_cb)(const struct detect_match *m, void *ctx);

struct detector;

/* "EMAIL", "CREDIT_CARD", ...; NULL when e is out of range. */
const char *detect_entity_name(enum detect_entity e);
/* Parses an entity name, case-insensitively.  0, or -EINVAL. */
int detect_entity_parse(const char *name, enum detect_entity *out);

/* Compiles the built-in patterns (~10 ms).  0 or -ENOMEM / -EINVAL. */
int detect_new(struct detector **out);
/* Frees a detector; NULL is fine. */
void detect_free(struct detector *d);

/*
 * Scans len bytes of text for the entities in entity_mask (DETECT_BIT()s,
 * plus DETECT_SCAN_PRIVATE_IPS), calling cb (may be NULL) for each match in
 * text order.  Returns the number of matches reported, or -ENOMEM/-EINVAL.
 * Thread-safe and reentrant; memory is proportional to the matches found.
 */
int detect_scan(const struct detector *d, const char *text, size_t len, uint64_t entity_mask,
		detect_cb cb, void *ctx);

/*
 * True when value, assigned to a key named key (an identifier such as
 * "api_key", "DB_PASSWORD", "x-auth-token"), looks like a real secret: the
 * key names a credential and the value is long and random enough (Shannon
 * entropy) and not a placeholder.  *start (may be NULL) receives where the
 * secret begins: after an auth scheme ("Bearer ", "Basic ", "Token ").
 * Used for JSON members and headers, where the key is not in the text.
 */
bool detect_secret_assignment(const char *key, size_t key_len, const char *value, size_t value_len,
			      size_t *start);

/* Shannon entropy of the bytes, in bits per byte (0 for empty input). */
double detect_entropy(const char *s, size_t n);

/* Validators, exported for tests and the rules engine. */
bool detect_luhn_ok(const char *digits, size_t n);
/* s: country code, check digits and BBAN, upper case, no spaces */
bool detect_iban_ok(const char *s, size_t n);
/* The 36 characters after "ghp_" (and the other classic prefixes). */
bool detect_github_crc_ok(const char *body36);

#endif
