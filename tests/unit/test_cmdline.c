// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>

#include "redact/cmdline.h"
#include "test.h"

/* argv given as one string with '|' between arguments */
static int join(const char *pipe_sep, char *out, size_t n)
{
	char args[512];
	size_t len = strlen(pipe_sep);

	memcpy(args, pipe_sep, len + 1);
	for (size_t i = 0; i < len; i++)
		if (args[i] == '|')
			args[i] = '\0';
	return redact_cmdline_join(args, len + 1, out, n);
}

TEST(cmdline_redacts_credentials)
{
	static const struct {
		const char *argv, *want;
		int hits;
	} cases[] = {
		{ "curl|-s|https://x", "curl -s https://x", 0 },
		{ "curl|-H|Authorization: Bearer sk-abc", "curl -H Authorization: [REDACTED]", 1 },
		{ "curl|-H|x-api-key:abcdef", "curl -H x-api-key:[REDACTED]", 1 },
		{ "tool|--api-key=abcd|--token|xyz|-v",
		  "tool --api-key=[REDACTED] --token [REDACTED] -v", 2 },
		{ "curl|-u|user:pw|x", "curl -u [REDACTED] x", 1 },
		{ "python|app.py|sk-proj-0123456789abcdef", "python app.py [REDACTED]", 1 },
		{ "env|KEY=ghp_0123456789abcdefghij|x", "env KEY=[REDACTED] x", 1 },
		{ "echo|task-list|sk-", "echo task-list sk-", 0 },
		{ "echo|AKIAIOSFODNN7EXAMPLE", "echo [REDACTED]", 1 },
	};
	char out[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int hits = join(cases[i].argv, out, sizeof(out));

		if (strcmp(out, cases[i].want) != 0 || hits != cases[i].hits)
			test_fail_at(__FILE__, __LINE__, "'%s': got '%s' (%d hits), want '%s'",
				     cases[i].argv, out, hits, cases[i].want);
	}
}

TEST(cmdline_truncates_safely)
{
	char out[8];

	join("curl|--token|secretsecret", out, sizeof(out));
	ASSERT_STREQ(out, "curl --");
	ASSERT_EQ(redact_cmdline_join("", 0, out, sizeof(out)), 0);
	ASSERT_STREQ(out, "");
}

TEST(cmdline_join_last_arg_without_nul)
{
	/* argv cut by the kernel's capture limit: the buffer ends mid-argument */
	static const char src[] = "curl\0-H\0Authorization: Bearer sk-abc";
	size_t n = sizeof(src) - 1;
	char *args = malloc(n), out[128];

	ASSERT_TRUE(args != NULL);
	memcpy(args, src, n); /* exactly n bytes: ASan flags any read past them */
	redact_cmdline_join(args, n, out, sizeof(out));
	ASSERT_STREQ(out, "curl -H Authorization: [REDACTED]");
	free(args);
}
