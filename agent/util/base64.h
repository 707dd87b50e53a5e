/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Standard base64 (RFC 4648, with padding): raw bodies in records. */
#ifndef LLMTAP_BASE64_H
#define LLMTAP_BASE64_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

/* n bytes as a new JSON string of their base64 form; NULL on -ENOMEM. */
json_t *base64_json_string(const unsigned char *p, size_t n);
/* Decodes n characters into out (room for 3 * n / 4 bytes); stops at '='.
 * Returns the decoded length, or -EINVAL on a character outside the alphabet. */
ssize_t base64_decode(const char *in, size_t n, unsigned char *out);

#endif
