/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A serialiser of a jansson tree whose output is byte-identical to
 * json_dumps(JSON_COMPACT), without jansson's per-value callbacks,
 * snprintf for integers and per-character UTF-8 iteration.  Anything it
 * is not sure to reproduce exactly (invalid UTF-8, very deep or cyclic
 * trees, a non-container at the top) is refused so that the caller can
 * fall back to json_dumps.
 */
#ifndef LLMTAP_JSON_FAST_H
#define LLMTAP_JSON_FAST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct json_fast_buf {
	char *data; /* not NUL-terminated */
	size_t len, alloc;
};

/*
 * Appends the compact text of j to b.  Returns 0, -EINVAL when the caller
 * must use json_dumps instead (b->len is restored), or -ENOMEM.
 */
int json_fast_dump(const json_t *j, struct json_fast_buf *b);
/* Makes room for n more bytes. Returns 0 or -ENOMEM. */
int json_fast_reserve(struct json_fast_buf *b, size_t n);
void json_fast_buf_free(struct json_fast_buf *b);

/*
 * For parsers that read common shapes without jansson: scans the body of a
 * JSON string (s points past the opening quote).  Returns the body length
 * (the closing quote is at s[len]), or -1 when the string is malformed or
 * is one such parsers leave to jansson: control characters, bad escapes,
 * lone surrogates, \u0000, invalid UTF-8, no closing quote.  *esc tells
 * whether the body holds escapes.
 */
ssize_t json_fast_str_scan(const char *s, size_t n, bool *esc);
/* Decodes a body json_fast_str_scan accepted into out (n bytes suffice:
 * escapes never lengthen); returns the decoded length. */
size_t json_fast_str_unescape(const char *s, size_t n, char *out);

#endif
