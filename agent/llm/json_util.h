/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * JSON and error helpers shared by the LLM API decoders (agent/llm/<family>.c).
 * Conventions: "stolen" means the helper owns the reference afterwards, also
 * on failure; "shared" means it takes a new reference; int results are 0 or
 * a negative errno, and a NULL json_t * result means -ENOMEM.
 */
#ifndef LLMTAP_LLM_JSON_UTIL_H
#define LLMTAP_LLM_JSON_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llm.h"
#include "util/dynbuf.h"

struct sse_event;

/* The error to report of two: -ENOMEM wins, else the first non-zero one. */
int lj_err_worse(int a, int b);

/* Parses s[0..n) as any JSON value (NULs allowed) into *out (caller owns
 * it); 0, -EBADMSG when it is not JSON (*out NULL), -ENOMEM. */
int lj_parse_json(const char *s, size_t n, json_t **out);
/* The same for a JSON object: -EBADMSG (and *out NULL) for any other value. */
int lj_parse_object(const char *s, size_t n, json_t **out);

/* Replaces *dst (freed) with a copy of s; 0 or -ENOMEM (*dst untouched). */
int lj_dup_str(char **dst, const char *s);
/* lj_dup_str of v when it is a JSON string, else 0 with *dst untouched. */
int lj_dup_json(char **dst, const json_t *v);
/* lj_dup_str of obj[key] when that is a JSON string, else 0 with *dst untouched. */
int lj_dup_key(char **dst, const json_t *obj, const char *key);

/* v as a double when it is a number, else NaN. */
double lj_num(const json_t *v);
/* obj[key] as a double when it is a number, else NaN. */
double lj_num_key(const json_t *obj, const char *key);
/* v when it is a non-negative integer, else -1 (absent). */
int64_t lj_int(const json_t *v);
/* True when v is a JSON string of at least one byte. */
bool lj_nonempty(const json_t *v);

/* Appends v (stolen) to arr; -ENOMEM when v is NULL or the append fails. */
int lj_push(json_t *arr, json_t *v);
/* Sets o[k] = v (stolen); -ENOMEM when v is NULL or the set fails. */
int lj_put(json_t *o, const char *k, json_t *v);
/* Sets o[k] = v (shared) when v is not NULL, else 0 and nothing is set. */
int lj_put_ref(json_t *o, const char *k, const json_t *v);
/* Sets o[k] = v (shared) when v is a string (names and ids only), else 0. */
int lj_put_str(json_t *o, const char *k, const json_t *v);
/* A new {"type": type} object (caller owns it); NULL on -ENOMEM. */
json_t *lj_typed(const char *type);

/* Length of s[0..n) without a trailing partial UTF-8 sequence (a capped
 * buffer can end mid-character, which jansson refuses). */
size_t lj_utf8_trim(const char *s, size_t n);
/* A new JSON string of s[0..n) (NULL s: ""), each byte that is not part of
 * well-formed UTF-8 replaced by U+FFFD; NULL only on -ENOMEM. */
json_t *lj_string_lossy(const char *s, size_t n);

/* A new {"type": type, "content": content} part, content stolen; NULL on -ENOMEM. */
json_t *lj_part(const char *type, json_t *content);
/* A part whose content is the text s[0..n) (NULL s: ""): a trailing partial
 * character is dropped, other invalid UTF-8 becomes U+FFFD; NULL on -ENOMEM. */
json_t *lj_content_part(const char *type, const char *s, size_t n);
/* A part whose content is str (a JSON string, shared); NULL on -ENOMEM. */
json_t *lj_str_part(const char *type, const json_t *str);

/* A new {"type":"tool_call"} part with "id" and "name" when they are strings
 * and "arguments" when args is not NULL (all shared); NULL on -ENOMEM. */
json_t *lj_tool_call_part(const json_t *id, const json_t *name, const json_t *args);
/* A new {"type":"tool_call_response"} part with "id" when it is a string and
 * "response" when it is not NULL (both shared); NULL on -ENOMEM. */
json_t *lj_tool_response_part(const json_t *id, const json_t *response);
/* A new tool definition {"type": type} with "name" and "description" when
 * they are strings and "parameters" when not NULL (all shared); NULL on -ENOMEM. */
json_t *lj_tool_def(const char *type, const json_t *name, const json_t *desc, const json_t *params);

/* Sets *out to a new array filled by fill(arr, src); on fill's error or
 * -ENOMEM the array is freed and *out is NULL.  Returns 0 or the error. */
int lj_build_array(json_t **out, int (*fill)(json_t *arr, const json_t *src), const json_t *src);
/* Sets *out to a new array (also on error) and calls fn(item, *out) for each
 * object of arr, stopping at its first error; arr not an array: 0, *out
 * untouched.  Returns 0, fn's error or -ENOMEM. */
int lj_each_object(const json_t *arr, json_t **out, int (*fn)(const json_t *item, json_t *out));

/* Appends the assistant message of parts (stolen) to ex->output_messages
 * and, when finish is not NULL, sets its finish_reason and appends finish to
 * ex->finish_reasons (both arrays created as needed); 0 or -ENOMEM. */
int lj_add_output(struct llm_exchange *ex, json_t *parts, const char *finish);
/* lj_add_output of one text part of text[0..len) (see lj_content_part). */
int lj_add_text_output(struct llm_exchange *ex, const char *text, size_t len, const char *finish);

/* Request sampling parameters of o: max_tokens from o[max_key] when it is
 * a non-negative integer (else left alone), temperature and top_p (NaN when
 * absent). */
void lj_request_params(struct llm_exchange *ex, const json_t *o, const char *max_key);

/* Sets ex->error_type to the decimal status unless it is set; 0 or -ENOMEM. */
int lj_error_status(struct llm_exchange *ex, int status);
/* The error type when the body named none: the HTTP status for an error
 * status, OTel's "_OTHER" for an error reported inside a 2xx; 0 or -ENOMEM. */
int lj_status_error(const struct llm_http *h, struct llm_exchange *ex);
/* True when the response is an SSE stream: by content type, else by a body
 * starting with "data:". */
bool lj_body_is_sse(const struct llm_http *h);

/* Calls fn(st, ev, ex) for each whole event of the SSE response body (events
 * cut at cap are skipped), stopping at fn's first error; returns it, or the
 * iterator's error (-ENOMEM), or 0. */
int lj_sse_each(const struct llm_http *h, size_t cap,
		int (*fn)(void *st, const struct sse_event *ev, struct llm_exchange *ex), void *st,
		struct llm_exchange *ex);

/* An SSE stream of text pieces (TGI, llama.cpp) being joined. */
struct lj_text_stream {
	struct dynbuf text; /* the joined text, capped */
	bool done; /* the final event came */
	bool error; /* an error event came */
	char *finish; /* the finish reason, or NULL */
};
/* Appends s to st's text when it is a non-empty string (text past the cap
 * is dropped) and marks the first content at ev; 0 or -ENOMEM. */
int lj_text_stream_add(struct lj_text_stream *st, const json_t *s, const struct sse_event *ev,
		       struct llm_exchange *ex);
/*
 * Initialises st and runs fn(st, ev, ex) over the SSE response body (see
 * lj_sse_each); then adds the output message of the text when there is text
 * or the final event came, and marks ex a stream, incomplete without the
 * final event.  Returns 0, fn's error or -ENOMEM; the caller frees st with
 * lj_text_stream_free.
 */
int lj_text_stream_decode(const struct llm_http *h, size_t cap,
			  int (*fn)(void *st, const struct sse_event *ev, struct llm_exchange *ex),
			  struct lj_text_stream *st, struct llm_exchange *ex);
/* Frees what st owns; st is empty afterwards. */
void lj_text_stream_free(struct lj_text_stream *st);

/*
 * The common end of a decoder, given err from the request and r from the
 * response: an unparsable response is no error when the status or a cut
 * body explains it, a cut body marks ex incomplete, and the HTTP status
 * becomes the error type when the body named none.  Returns the error to report.
 */
int lj_decode_end(const struct llm_http *h, struct llm_exchange *ex, int err, int r);

#endif
