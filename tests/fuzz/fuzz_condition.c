// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Fuzzes the condition language: the parser on raw text (offsets of errors
 * stay within it), then the same text as the condition of a rule among
 * macros, lists and detectors, resolved and evaluated on a record. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/cond.h"
#include "rules/rules.h"

static const char prelude[] = "- detector: email\n  builtin: email\n"
			      "- detector: tick\n  pattern: 'T-[0-9]{3}'\n  keywords: [t-]\n"
			      "- detector: lit\n  literals: [abc, xyz]\n"
			      "- detector: grp\n  detectors: [email, tick]\n"
			      "- list: l\n  items: [a, b, '3']\n"
			      "- macro: m\n  condition: prompt contains abc\n"
			      "- rule: R\n  id: R-1\n  output: \"%prompt %match.entities\"\n"
			      "  severity: low\n  condition: \"";

static const char record[] =
	"{\"attributes\":{\"process.pid\":3,\"process.executable.name\":\"node\","
	"\"http.request.header.user-agent\":[\"a\",\"b\"],\"gen_ai.request.stream\":true,"
	"\"gen_ai.input.messages\":[{\"role\":\"user\",\"parts\":[{\"type\":\"text\","
	"\"content\":\"abc T-123 x@example.com\"}]}]},\"alerts\":[]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rules_diags d = { 0 };
	struct rules *r = NULL;
	struct cond_error ce;
	struct cnode *n;
	struct arena a;
	char *yaml, *o;

	if (size > 4096)
		return 0;
	arena_init(&a, 1 << 24);
	if (cond_parse(&a, (const char *)data, size, &n, &ce) == -EINVAL && ce.off > size)
		abort();
	arena_free(&a);

	/* as a double-quoted YAML scalar: every byte escaped that needs it */
	yaml = malloc(sizeof(prelude) + 4 * size + 8);
	if (!yaml)
		return 0;
	o = yaml + sprintf(yaml, "%s", prelude);
	for (size_t i = 0; i < size; i++) {
		unsigned char c = data[i];

		if (c == '"' || c == '\\')
			o += sprintf(o, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			o += sprintf(o, "\\x%02x", c);
		else
			*o++ = (char)c;
	}
	o += sprintf(o, "\"\n");
	if (rules_load_mem("fuzz.yaml", yaml, (size_t)(o - yaml), &r, &d) == 0) {
		json_t *rec = json_loads(record, 0, NULL);

		if (rec) {
			rules_eval(r, rec, NULL, NULL);
			json_decref(rec);
		}
	}
	rules_free(r);
	rules_diags_free(&d);
	free(yaml);
	return 0;
}
