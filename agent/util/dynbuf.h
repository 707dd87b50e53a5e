/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A growable byte buffer with a hard cap (the idea of curl's dynbuf).  On an
 * append that would pass the cap, the buffer keeps what fits, sets
 * `truncated`, and returns -E2BIG; it never grows past `cap`.  The contents
 * are always NUL-terminated (the NUL is not counted in len) so text can be
 * handed to string functions.
 */
#ifndef LLMTAP_DYNBUF_H
#define LLMTAP_DYNBUF_H

#include <stdbool.h>
#include <stddef.h>

struct dynbuf {
	char *buf;
	size_t len;
	size_t alloc;
	size_t cap; /* maximum len */
	bool truncated; /* an append was cut at cap */
};

void dynbuf_init(struct dynbuf *b, size_t cap);
/* Appends n bytes; 0, -E2BIG if cut at the cap (what fits is kept), -ENOMEM. */
int dynbuf_append(struct dynbuf *b, const void *data, size_t n);
int dynbuf_append_str(struct dynbuf *b, const char *s);
/* Appends printf-formatted text (at most 1 KiB per call); as dynbuf_append. */
int dynbuf_appendf(struct dynbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empties the buffer, keeping its allocation and cap; clears truncated. */
void dynbuf_reset(struct dynbuf *b);
/* Frees the storage; the buffer is empty and reusable afterwards. */
void dynbuf_free(struct dynbuf *b);
/* Hands the storage to the caller (NUL-terminated, may be NULL if empty). */
char *dynbuf_take(struct dynbuf *b, size_t *len);

#endif
