/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The HTTP headers that carry credentials: never recorded, whatever the
 * connection, and scrubbed from command lines (curl -H "Authorization: ..."). */
#ifndef LLMTAP_SECRET_HEADERS_H
#define LLMTAP_SECRET_HEADERS_H

#include <stdbool.h>
#include <stddef.h>

extern const char *const secret_headers[];
extern const size_t n_secret_headers;

/* True when a lower-case header name carries a credential. */
bool secret_header_is(const char *lower_name);

#endif
