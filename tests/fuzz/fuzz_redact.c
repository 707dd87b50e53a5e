// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzzes detection and redaction of attacker-controlled text: no crash,
 * and redaction is idempotent: in what it wrote, a second scan finds
 * nothing to redact, whether the input was a bare text or every kind of
 * string of a record (values, members named like credentials, object keys,
 * alert messages).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redact/redact.h"

#define REDACTED_ENTITIES (DETECT_ALL_ENTITIES & ~DETECT_BIT(DETECT_INVISIBLE_UNICODE))

/* one redactor per mode (hmac, mask, partial): the first byte picks */
static struct redactor *modes[3], *r;

static void check_clean(const char *s, size_t n)
{
	int rc = detect_scan(redact_detector(r), s, n, REDACTED_ENTITIES, NULL, NULL);

	if (rc > 0 || (rc < 0 && rc != -ENOMEM))
		abort();
}

/* Every string and object key of v is clean. */
static void check_leaves(json_t *v, int depth)
{
	const char *k;
	json_t *e;
	size_t i;

	if (json_is_string(v)) {
		check_clean(json_string_value(v), json_string_length(v));
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			check_leaves(e, depth + 1);
	} else if (json_is_object(v)) {
		json_object_foreach(v, k, e) {
			if (depth > 0)
				check_clean(k, strlen(k));
			check_leaves(e, depth + 1);
		}
	}
}

static void fuzz_text(const char *data, size_t size)
{
	char *out = NULL, *again = NULL;
	size_t len, len2;
	int rc = redact_text(r, data, size, NULL, &out, &len, NULL);

	if (rc < 0 && rc != -ENOMEM)
		abort();
	if (rc > 0) {
		json_t *in = json_stringn(data, size), *res = json_stringn(out, len);

		/* valid UTF-8 in, valid UTF-8 out: records skip re-validation */
		if (in && !res)
			abort();
		json_decref(in);
		json_decref(res);
		check_clean(out, len);
		if (redact_text(r, out, len, NULL, &again, &len2, NULL) > 0)
			abort();
	}
	free(again);
	free(out);
}

static void fuzz_record(const char *data, size_t size)
{
	json_t *s = json_stringn(data, size), *rec, *counts;
	char key[256];

	if (!s)
		return; /* not UTF-8: a record would carry it as base64 */
	rec = json_pack("{s:{s:O, s:[{s:[{s:s, s:O}]}], s:{s:O, s:[O]}, s:[O]}, s:[{s:O}], s:{}}",
			"attributes", "process.command_line", s, "gen_ai.input.messages", "parts",
			"type", "text", "content", s, "tool", "api_key", s, "args", s,
			"http.request.header.x-auth-token", s, "alerts", "message", s,
			"redactions");
	if (!rec)
		goto out;
	/* the input as an object key, when it can be one */
	if (size < sizeof(key) && !memchr(data, 0, size)) {
		memcpy(key, data, size);
		key[size] = '\0';
		json_object_set(json_object_get(json_object_get(rec, "attributes"), "tool"), key,
				s);
	}
	if (redact_record(r, rec, NULL) != 0)
		goto out;
	check_leaves(json_object_get(rec, "attributes"), 0);
	check_leaves(json_object_get(rec, "alerts"), 1);
	/* a second pass replaces nothing more */
	counts = json_deep_copy(json_object_get(rec, "redactions"));
	if (redact_record(r, rec, NULL) == 0 && counts &&
	    !json_equal(counts, json_object_get(rec, "redactions")))
		abort();
	json_decref(counts);
out:
	json_decref(rec);
	json_decref(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[REDACT_KEY_LEN] = "fuzz-fuzz-fuzz-fuzz-fuzz-fuzz-fu";

	if (!modes[0]) {
		static const enum redact_mode m[3] = { REDACT_HMAC, REDACT_MASK, REDACT_PARTIAL };
		struct redact_config c;

		for (int i = 0; i < 3; i++) {
			redact_config_default(&c);
			for (int e = 0; e < DETECT_ENTITY_COUNT; e++)
				c.mode[e] = m[i];
			if (redact_new(&c, key, &modes[i]) != 0)
				abort();
		}
	}
	r = modes[size ? data[0] % 3 : 0];
	fuzz_text((const char *)data, size);
	fuzz_record((const char *)data, size);
	return 0;
}
