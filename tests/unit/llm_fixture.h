/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * LLM decoder fixtures: tests/data/llm/<family>/<case>.req and .resp are raw
 * HTTP messages (CRLF; Content-Length or chunked), <case>.expect.json is
 * the expected llm_exchange_to_json() output.  Every key present in the
 * expectation must match (objects compared recursively, arrays exactly);
 * keys it leaves out are not checked.  An optional top-level "rc" is not an
 * exchange field: it is the integer llm_decode must return (0, -74 for
 * -EBADMSG, ...).  Up to 32 response headers are kept, values up to 512 bytes.
 */
#ifndef LLMTAP_LLM_FIXTURE_H
#define LLMTAP_LLM_FIXTURE_H

#include "llm/llm.h"

/* Parses the fixture's HTTP messages and decodes them. Returns llm_decode's
 * result; fails the test if the files are missing or not HTTP. */
int llm_fixture_decode(const char *family, const char *name, struct llm_exchange *ex);
/* Decodes the fixture and checks it against <case>.expect.json; fails the
 * test (file:line of the caller) with the first difference. */
#define LLM_FIXTURE_CHECK(family, name) llm_fixture_check(family, name, __FILE__, __LINE__)
void llm_fixture_check(const char *family, const char *name, const char *file, int line);
/* First difference of actual from the expected subset, as text in buf; 0 when they match. */
int llm_json_subset_diff(const json_t *expected, const json_t *actual, const char *path, char *buf,
			 size_t size);

#endif
