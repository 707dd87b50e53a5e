// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "secret_headers.h"

#include <string.h>

const char *const secret_headers[] = {
	"authorization",	"proxy-authorization", "cookie",
	"set-cookie",		"x-api-key",	       "api-key",
	"x-goog-api-key",	"openai-api-key",      "x-auth-token",
	"x-amz-security-token", "x-csrf-token",	       "x-xsrf-token",
	"x-access-token",	"x-refresh-token",     "x-session-token",
};
const size_t n_secret_headers = sizeof(secret_headers) / sizeof(secret_headers[0]);

bool secret_header_is(const char *name)
{
	for (size_t i = 0; i < n_secret_headers; i++)
		if (strcmp(name, secret_headers[i]) == 0)
			return true;
	return false;
}
