// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The rules subcommands: they print (diagnostics on stderr, results on
 * stdout), like the status command; the rules library itself never does. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "rules/rules.h"

static bool is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

size_t rules_default_paths(char **out, size_t max)
{
	const char *root = config_checkout_dir();
	char cand[PATH_MAX + 32];
	size_t k = 0;

	/* BUILD/llmtap in a checkout: the checkout's rules/ */
	if (root) {
		snprintf(cand, sizeof(cand), "%s/rules", root);
		if (is_dir(cand) && max > k && (out[k] = strdup(cand)))
			return 1;
	}
	if (is_dir(RULES_SHARE_DIR) && max > k && (out[k] = strdup(RULES_SHARE_DIR)))
		k++;
	if (is_dir(RULES_ETC_DIR) && max > k && (out[k] = strdup(RULES_ETC_DIR)))
		k++;
	return k;
}

static void print_diags(const struct rules_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct rules_diag *g = &d->v[i];

		if (g->line)
			fprintf(stderr, "%s:%u:%u: %s\n", g->file, g->line, g->col, g->msg);
		else
			fprintf(stderr, "%s: %s\n", g->file[0] ? g->file : "llmtap", g->msg);
	}
	if (d->dropped)
		fprintf(stderr, "llmtap: %zu more errors not shown\n", d->dropped);
}

static void on_test(const struct rules_test_result *t, void *ctx)
{
	if (t->passed)
		printf("ok   %s: %s\n", t->rule, t->test);
	else
		printf("FAIL %s:%u:%u: %s: %s: %s\n", t->file, t->line, t->col, t->rule, t->test,
		       t->detail);
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: llmtap rules check [PATH...]   validate rule files\n"
		   "       llmtap rules test [PATH...]    run the tests embedded in rules\n"
		   "\n"
		   "PATH is a rule file or a directory of *.yaml files (loaded in lexical\n"
		   "order); without one, the default rules.  Errors are printed as\n"
		   "file:line:col: message.  Exit status: 0 ok, 1 errors or failed tests,\n"
		   "2 usage.\n");
}

int rules_cli_main(int argc, char **argv)
{
	struct rules_diags d = { 0 };
	struct rules *r = NULL;
	char *defaults[4];
	const char **paths;
	size_t n_paths, n_def = 0;
	int rc, status = 0;
	bool test;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "check") != 0 && strcmp(argv[1], "test") != 0) {
		fprintf(stderr, "llmtap: unknown rules command '%s'\n", argv[1]);
		usage(stderr);
		return 2;
	}
	test = strcmp(argv[1], "test") == 0;
	if (argc > 2) {
		paths = (const char **)(argv + 2);
		n_paths = (size_t)argc - 2;
	} else {
		n_def = rules_default_paths(defaults, 4);
		if (n_def == 0) {
			fprintf(stderr, "llmtap: no rules found (%s, %s)\n", RULES_SHARE_DIR,
				RULES_ETC_DIR);
			return 1;
		}
		paths = (const char **)defaults;
		n_paths = n_def;
	}
	rc = rules_load(paths, n_paths, &r, &d);
	if (rc) {
		if (rc == -ENOMEM)
			fprintf(stderr, "llmtap: out of memory loading rules\n");
		print_diags(&d);
		fprintf(stderr, "llmtap: %zu error%s\n", d.n + d.dropped,
			d.n + d.dropped == 1 ? "" : "s");
		status = 1;
		goto cleanup;
	}
	if (!test) {
		printf("ok: %zu rules (%zu enabled) in %zu files\n", rules_count(r),
		       rules_count_enabled(r), rules_n_files(r));
	} else {
		unsigned passed, failed;

		rc = rules_run_tests(r, on_test, NULL, &passed, &failed);
		if (rc) {
			fprintf(stderr, "llmtap: running the tests: %s\n", strerror(-rc));
			status = 1;
		}
		printf("%u passed, %u failed\n", passed, failed);
		if (failed)
			status = 1;
	}
cleanup:
	rules_free(r);
	rules_diags_free(&d);
	for (size_t i = 0; i < n_def; i++)
		free(defaults[i]);
	return status;
}
