// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The verifier's line handling (agent/audit/verify.c) over arbitrary
 * input: each line goes through JSON parsing, the chain checks, verifier
 * keys taken from agent_start records, signed-note parsing and Ed25519
 * verification, compact-range parsing; then the report is built.  The
 * first line is also tried as a verifier key, a signed note and a time.
 * Seeds: tests/data/verify/ (a log the chain wrote, and damaged copies).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/keys.h"
#include "audit/note.h"
#include "audit/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_verify_opts o = { 0 };
	struct audit_verifier *v;
	const char *p = (const char *)data, *end = p + size;
	const uint8_t *nl = memchr(data, '\n', size);
	size_t first = nl ? (size_t)(nl - data) : size;
	char *s = malloc(first + 1);
	struct audit_key *k = NULL;
	json_t *rep;

	if (!s)
		return 0;
	memcpy(s, data, first);
	s[first] = '\0';
	if (audit_key_from_vkey(s, &k) == 0) {
		struct note_checkpoint cp;
		size_t rest = size - first - (nl ? 1 : 0);

		/* the rest of the input as a note signed by that key */
		note_verify_checkpoint(nl ? (const char *)nl + 1 : "", rest, k, &cp);
		audit_key_free(k);
	}
	{
		uint64_t ns;

		audit_parse_time(s, &ns);
	}
	free(s);

	if (audit_verifier_new(&o, &v))
		return 0;
	audit_verifier_begin_file(v, "fuzz");
	while (p < end) {
		const char *e = memchr(p, '\n', (size_t)(end - p));

		if (!e) {
			audit_verifier_line(v, p, (size_t)(end - p), true);
			break;
		}
		audit_verifier_line(v, p, (size_t)(e - p), false);
		p = e + 1;
	}
	audit_verifier_finish(v);
	rep = audit_verifier_report(v);
	json_decref(rep);
	audit_verifier_free(v);
	return 0;
}
