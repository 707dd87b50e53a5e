// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The configuration file the packages install as /etc/llmtap/llmtap.yaml. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "test.h"

/* packaging/ is next to tests/data/ in the checkout */
static void pkg_path(char *out, size_t size, const char *name)
{
	const char *data = getenv("LLMTAP_TEST_DATA");

	snprintf(out, size, "%s/../../packaging/%s", data ? data : "tests/data", name);
}

TEST(pkg_config_loads_with_fleet_defaults)
{
	struct config c;
	struct config_diags d = { 0 };
	char path[512];
	int rc;

	pkg_path(path, sizeof(path), "llmtap.yaml");
	ASSERT_EQ(config_init_default(&c), 0);
	rc = config_load(path, &c, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "%s:%u:%u: %s\n", d.v[i].file, d.v[i].line, d.v[i].col, d.v[i].msg);
	ASSERT_EQ(rc, 0);
	ASSERT_UEQ(d.n, 0);
	ASSERT_STREQ(c.state_dir, "/var/lib/llmtap");
	ASSERT_TRUE(c.rules.paths_set);
	ASSERT_UEQ(c.rules.n_paths, 2);
	ASSERT_STREQ(c.rules.paths[0], "/usr/share/llmtap/rules");
	ASSERT_STREQ(c.rules.paths[1], "/etc/llmtap/rules.d");
	ASSERT_STREQ(c.metrics.listen, "127.0.0.1:9464");
	/* one output: the rotated file; nothing on stdout (the journal) */
	ASSERT_TRUE(c.outputs_set);
	ASSERT_UEQ(c.n_outputs, 1);
	ASSERT_EQ(c.outputs[0].type, OUTPUT_FILE);
	ASSERT_STREQ(c.outputs[0].name, "file");
	ASSERT_STREQ(c.outputs[0].path, "/var/log/llmtap/audit.jsonl");
	ASSERT_UEQ(c.outputs[0].retention_days, 180);
	ASSERT_TRUE(c.outputs[0].rotate_bytes > 0 || c.outputs[0].rotate_interval_s > 0);
	ASSERT_UEQ(c.outputs[0].mode & 0007, 0);
	config_free(&c);
	config_diags_free(&d);
}
