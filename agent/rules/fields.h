/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What a rule can test: the record's own attribute names (docs/record.md)
 * and the content fields built from its messages (prompt, system_prompt,
 * user_prompt, response, tool.name, tool.arguments, tool.response, and the
 * decoded base64 payloads of prompt, response and tool.arguments).
 */
#ifndef LLMTAP_RULES_FIELDS_H
#define LLMTAP_RULES_FIELDS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/dynbuf.h"

enum ftype { FT_STR, FT_NUM, FT_BOOL, FT_LIST, FT_ANY };

enum content_field {
	CF_PROMPT, /* all input text: system instructions, messages, tool results */
	CF_SYSTEM_PROMPT,
	CF_USER_PROMPT, /* text of user messages only */
	CF_RESPONSE, /* all output text (reasoning included) */
	CF_TOOL_NAME, /* names of the tool calls, one a line */
	CF_TOOL_ARGUMENTS, /* their arguments: the text, or the string values of JSON */
	CF_TOOL_RESPONSE, /* results of tool calls given back to the model */
	CF_PROMPT_DECODED, /* long base64 runs of prompt, decoded when they are text */
	CF_RESPONSE_DECODED,
	CF_TOOL_ARGUMENTS_DECODED,
	CF_MAX,
};

/* Each content field is capped; longer text is cut (and flagged). */
#define CONTENT_FIELD_CAP (8u << 20)
#define DECODED_FIELD_CAP (256u << 10)

/* A field id: >= 0 attribute index, or FIELD_CONTENT(cf). */
#define FIELD_CONTENT_BASE 100000
#define FIELD_CONTENT(cf) (FIELD_CONTENT_BASE + (cf))
#define FIELD_IS_CONTENT(id) ((id) >= FIELD_CONTENT_BASE)
#define FIELD_CF(id) ((enum content_field)((id)-FIELD_CONTENT_BASE))
#define FIELD_EVENT_NAME (FIELD_CONTENT_BASE - 1)
#define FIELD_DYNAMIC (FIELD_CONTENT_BASE - 2) /* a prefixed attribute, looked up by name */
/* response.system_prompt_overlap: how much of the system prompt the
 * response repeats, in percent of its 6-word shingles (absent without a
 * system prompt of 6 words or more) */
#define FIELD_SYSPROMPT_OVERLAP (FIELD_CONTENT_BASE - 3)

/*
 * Resolves a field name: *id and *type.  Returns 0, or -ENOENT (then hint,
 * when not NULL, receives the closest known name or "").
 */
int fields_lookup(const char *name, int *id, enum ftype *type, char *hint, size_t hint_size);
/* The name of a field id (content and attribute ids; NULL for dynamic). */
const char *fields_name(int id);
/* Closest string to s among names[0..n) by edit distance (<= max(2, len/3)), or NULL. */
const char *fields_closest(const char *s, const char *const *names, size_t n);

/* The attribute value of a record, NULL if absent. */
json_t *fields_attr(json_t *rec, int id, const char *name);

/*
 * Builds the text of content field cf of record rec into b (reset first).
 * Parts are joined with '\n' (none after the last).  Returns 0 or -ENOMEM (-E2BIG content is
 * cut at the cap and 0 returned).
 */
int fields_content(json_t *rec, enum content_field cf, struct dynbuf *b,
		   const struct dynbuf *source);

/* Receives one part of a content field; non-zero stops the walk (returned). */
typedef int (*fields_part_fn)(const char *s, size_t len, void *ctx);
/*
 * Calls fn for each part (a JSON string of rec) of content field cf, in
 * the order fields_content joins them, cut where its text would be cut:
 * the text is the parts joined with '\n'.  Not for the decoded fields
 * (-EINVAL).  0, or what fn returned.
 */
int fields_parts(json_t *rec, enum content_field cf, fields_part_fn fn, void *ctx);

/*
 * The percentage (0..100) of the distinct 6-word shingles of sys (words:
 * runs of letters and digits, ASCII case folded) that also occur in resp.
 * Returns 1 with *pct, 0 when sys has no shingle, -ENOMEM.
 */
int fields_overlap(const char *sys, size_t sn, const char *resp, size_t rn, double *pct);

/* Decodes the base64 runs of at least min_run characters in text[0..len)
 * that decode to mostly printable text, appending them to out ('\n'
 * after each), then once more over what was decoded (nested encodings).
 * Bounded by out's cap.  0 or -ENOMEM. */
int fields_decode_base64(const char *text, size_t len, size_t min_run, struct dynbuf *out);

#endif
