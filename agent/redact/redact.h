/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Redaction of audit records before they are serialised anywhere: every
 * string under "attributes" and "alerts" is scanned with the built-in
 * detectors (detect.h) and each match replaced according to its entity's
 * mode.  The default, hmac, writes a keyed pseudonym "[EMAIL:9f2c41d0]" (the
 * first 8 hex digits of HMAC-SHA256(key, "EMAIL" || 0x00 || normalised
 * value)): the same value gives the same token in every record, and the
 * value cannot be recovered or confirmed without the key.  No unkeyed hash
 * of a value is ever written.  The record's "redactions" counts what was
 * replaced, per entity.
 */
#ifndef LLMTAP_REDACT_H
#define LLMTAP_REDACT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redact/detect.h"

#define REDACT_KEY_LEN 32

enum redact_mode {
	REDACT_HMAC, /* [EMAIL:9f2c41d0] */
	REDACT_MASK, /* [REDACTED:EMAIL] */
	REDACT_PARTIAL, /* [CREDIT_CARD:…1111], [EMAIL:…@example.com], [OPENAI_KEY:sk-proj-…] */
	REDACT_DROP, /* the whole field is removed */
	REDACT_MODE_COUNT
};

struct redact_config {
	uint64_t enabled; /* entities redacted: DETECT_BIT()s */
	enum redact_mode mode[DETECT_ENTITY_COUNT];
	bool private_ips; /* also loopback, RFC 1918, link-local... addresses */
};

/*
 * A change for one record (a rule's redact action): the entities in
 * `entities` are redacted with mode[] even when the configuration does not
 * redact them.  An override adds or changes; it never turns redaction off.
 */
struct redact_policy {
	uint64_t entities;
	enum redact_mode mode[DETECT_ENTITY_COUNT];
	bool private_ips;
};

struct redactor;

/* Every entity but INVISIBLE_UNICODE, in hmac mode; public IPs only. */
void redact_config_default(struct redact_config *c);
/* "hmac", "mask", "partial", "drop" (case-insensitive).  0, or -EINVAL. */
int redact_mode_parse(const char *name, enum redact_mode *out);
/* The name of a mode; NULL when out of range. */
const char *redact_mode_name(enum redact_mode m);
/* An override that changes nothing. */
void redact_policy_init(struct redact_policy *p);
/* Adds entities with mode m to p; where p already names an entity the
 * stronger mode stays (drop > mask > hmac > partial), so rules merge. */
void redact_policy_set(struct redact_policy *p, uint64_t entities, enum redact_mode m);

/*
 * Reads the 32-byte key at path, creating it (random, mode 0600, and its
 * directory, mode 0700) when absent; concurrent first starts agree on one
 * key.  0, or -errno: -EPERM when the file is readable by others or owned
 * by another user, -EINVAL when it is not a 32-byte regular file.
 */
int redact_key_load(const char *path, uint8_t key[REDACT_KEY_LEN]);

/* A redactor with its own copy of c and key.  0, or -ENOMEM / -EINVAL.
 * One thread at a time may use a redactor (the agent's event loop does). */
int redact_new(const struct redact_config *c, const uint8_t key[REDACT_KEY_LEN],
	       struct redactor **out);
/* Frees r and wipes its key; NULL is fine. */
void redact_free(struct redactor *r);
/* The redactor's detector, for the rules engine's built-in detectors. */
const struct detector *redact_detector(const struct redactor *r);

/*
 * Redacts rec in place: every string (and object key) under "attributes"
 * (connection metadata such as addresses and model names excepted) and
 * "alerts", JSON numbers inside content, base64 raw bodies decoded; adds
 * the counts to rec["redactions"].  override may be NULL.  0, or -ENOMEM
 * (the record may then be half-redacted: the caller must not emit it).
 */
int redact_record(struct redactor *r, json_t *rec, const struct redact_policy *override);

struct detect_memo;
/*
 * redact_record, taking the matches of strings the rules engine already
 * scanned from memo (rules_detect_memo(), filled by rules_eval on this same
 * record, unchanged since; ignored when it describes another record).  The
 * result is the same as redact_record's; only scans are saved.
 */
int redact_record_memo(struct redactor *r, json_t *rec, const struct redact_policy *override,
		       const struct detect_memo *memo);

/*
 * Redacts len bytes of text.  Returns 0 when nothing matched (*out NULL),
 * 1 with *out a malloc'd NUL-terminated copy (*out_len bytes), 2 when a
 * match is in drop mode (*out holds the masked text all the same), or
 * -ENOMEM.  counts (may be NULL) is incremented per entity replaced.
 */
int redact_text(struct redactor *r, const char *text, size_t len,
		const struct redact_policy *override, char **out, size_t *out_len,
		unsigned counts[DETECT_ENTITY_COUNT]);

/*
 * The replacement for one value of entity e in mode m (drop renders as
 * mask), NUL-terminated in buf.  For rules' alert messages: %match.hmac.
 * Returns its length, or -ENOSPC (size < REDACT_TOKEN_MAX) / -EINVAL.
 */
#define REDACT_TOKEN_MAX 128
int redact_token(const struct redactor *r, enum detect_entity e, enum redact_mode m,
		 const char *value, size_t len, char *buf, size_t size);

#endif
