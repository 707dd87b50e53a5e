// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "cmdline.h"
#include "secret_headers.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REDACTED "[REDACTED]"

/* Options whose value (after '=' or as the next argument) is a credential. */
static const char *const secret_options[] = {
	"--password",
	"--passwd",
	"--token",
	"--api-key",
	"--apikey",
	"--api_key",
	"--secret",
	"--access-token",
	"--auth-token",
	"--client-secret",
	"--key-password",
	"--pass",
	"-p",
	"--user",
	"-u",
	"--oauth2-bearer",
	"--proxy-user",
	"-U",
};

/* Prefixes of well-known token formats (OpenAI, Anthropic, GitHub, Slack,
 * AWS, Google, Hugging Face, Stripe, GitLab). */
static const char *const token_prefixes[] = {
	"sk-",	 "ghp_", "gho_", "ghu_", "ghs_", "ghr_",     "github_pat_", "xoxb-",  "xoxp-",
	"xoxa-", "AKIA", "ASIA", "AIza", "hf_",	 "rk_live_", "sk_live_",    "glpat-",
};

static bool is_secret_header_arg(const char *a, size_t *value_off)
{
	for (size_t i = 0; i < n_secret_headers; i++) {
		size_t n = strlen(secret_headers[i]);

		if (strncasecmp(a, secret_headers[i], n) == 0) {
			size_t j = n;

			while (a[j] == ' ' || a[j] == '\t')
				j++;
			if (a[j] == ':') {
				j++;
				while (a[j] == ' ')
					j++;
				*value_off = j;
				return true;
			}
		}
	}
	return false;
}

/* 0 no, 1 the value is in this argument after '=' (value_off), 2 the next argument. */
static int secret_option(const char *a, size_t *value_off)
{
	for (size_t i = 0; i < sizeof(secret_options) / sizeof(secret_options[0]); i++) {
		size_t n = strlen(secret_options[i]);

		if (strncmp(a, secret_options[i], n) != 0)
			continue;
		if (a[n] == '\0')
			return 2;
		if (a[n] == '=') {
			*value_off = n + 1;
			return 1;
		}
	}
	return 0;
}

static bool token_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.';
}

struct out_buf {
	char *p;
	size_t size, len;
};

static void put(struct out_buf *o, const char *s, size_t n)
{
	while (n-- && o->len + 1 < o->size)
		o->p[o->len++] = *s++;
	o->p[o->len] = '\0';
}

/* Copies one argument, replacing embedded well-known tokens. */
static int put_scanning(struct out_buf *o, const char *a, size_t n)
{
	int hits = 0;
	size_t i = 0;

	while (i < n) {
		bool at_boundary = i == 0 || !token_char(a[i - 1]);
		bool hit = false;

		for (size_t t = 0;
		     at_boundary && t < sizeof(token_prefixes) / sizeof(token_prefixes[0]); t++) {
			size_t pl = strlen(token_prefixes[t]), j = i + pl;

			if (i + pl > n || strncmp(a + i, token_prefixes[t], pl) != 0)
				continue;
			while (j < n && token_char(a[j]))
				j++;
			/* a real token is long; "sk-" alone or "AKIA" in a word is not */
			if (j - i < pl + 8)
				continue;
			put(o, REDACTED, strlen(REDACTED));
			hits++;
			i = j;
			hit = true;
			break;
		}
		if (!hit)
			put(o, a + i++, 1);
	}
	return hits;
}

int redact_cmdline_join(const char *args, size_t len, char *out, size_t out_size)
{
	struct out_buf o = { out, out_size, 0 };
	bool next_is_secret = false;
	size_t off = 0, voff;
	int hits = 0;

	if (!out_size)
		return 0;
	out[0] = '\0';
	while (off < len) {
		const char *a = args + off;
		size_t n = strnlen(a, len - off);
		char *last = NULL;
		int kind;

		/* the last argument of a cut argv has no NUL, and the checks below
		 * read up to one: give it one */
		if (n == len - off) {
			last = strndup(a, n);
			if (!last)
				break;
			a = last;
		}

		if (o.len)
			put(&o, " ", 1);
		if (next_is_secret) {
			put(&o, REDACTED, strlen(REDACTED));
			hits++;
			next_is_secret = false;
		} else if (is_secret_header_arg(a, &voff) && voff <= n) {
			put(&o, a, voff);
			put(&o, REDACTED, strlen(REDACTED));
			hits++;
		} else if ((kind = secret_option(a, &voff)) == 1) {
			put(&o, a, voff);
			put(&o, REDACTED, strlen(REDACTED));
			hits++;
		} else {
			next_is_secret = kind == 2;
			hits += put_scanning(&o, a, n);
		}
		free(last);
		off += n + 1;
	}
	return hits;
}
