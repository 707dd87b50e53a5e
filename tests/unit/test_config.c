// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * config: defaults (an empty file is valid), every section parsed, the
 * flags' output helper, and each error with its exact file:line:col.
 */
#include <errno.h>
#include <stdlib.h>

#include "config/config.h"
#include "test.h"

static int load_data(const char *name, struct config *c, struct config_diags *d)
{
	size_t len;
	char *buf = test_read_data(name, &len);
	int rc;

	if (!buf)
		return -ENOENT;
	rc = config_load_buf(name, buf, len, c, d);
	free(buf);
	return rc;
}

TEST(config_empty_file_is_the_defaults)
{
	struct config c;
	struct config_diags d = { 0 };

	ASSERT_EQ(config_init_default(&c), 0);
	ASSERT_EQ(config_load_buf("empty", "", 0, &c, &d), 0);
	ASSERT_EQ(d.n, 0);
	ASSERT_TRUE(c.capture.sockets);
	ASSERT_TRUE(c.capture.content);
	ASSERT_EQ(c.capture.n_ports, 5);
	ASSERT_EQ(c.capture.call_cap, 1 << 20);
	ASSERT_TRUE(c.redaction.enabled);
	ASSERT_EQ(c.redaction.cfg.mode[DETECT_EMAIL], REDACT_HMAC);
	ASSERT_EQ(c.audit.checkpoint_records, 1000);
	ASSERT_EQ(c.audit.checkpoint_interval_s, 60);
	ASSERT_TRUE(!c.outputs_set);
	ASSERT_TRUE(!c.rules.paths_set);
	ASSERT_TRUE(c.state_dir != NULL);
	config_free(&c);
	config_diags_free(&d);
}

TEST(config_comment_only_file_is_the_defaults)
{
	struct config c;
	struct config_diags d = { 0 };
	const char *y = "# nothing set\n";

	ASSERT_EQ(config_init_default(&c), 0);
	ASSERT_EQ(config_load_buf("c", y, strlen(y), &c, &d), 0);
	ASSERT_EQ(c.audit.heartbeat_interval_s, 300);
	config_free(&c);
	config_diags_free(&d);
}

TEST(config_every_section)
{
	struct config c;
	struct config_diags d = { 0 };
	int rc;

	ASSERT_EQ(config_init_default(&c), 0);
	rc = load_data("config/full.yaml", &c, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "%s:%u: %s\n", d.v[i].file, d.v[i].line, d.v[i].msg);
	ASSERT_EQ(rc, 0);
	ASSERT_STREQ(c.state_dir, "/tmp/llmtap-state");
	ASSERT_TRUE(!c.capture.sockets);
	ASSERT_EQ(c.capture.n_ports, 2);
	ASSERT_EQ(c.capture.ports[1], 11434);
	ASSERT_TRUE(c.capture.ports_only && c.capture.all_http && !c.capture.content);
	ASSERT_EQ(c.capture.call_cap, 256 << 10);
	ASSERT_EQ(c.capture.ringbuf_bytes, 32 << 20);
	ASSERT_STREQ(c.capture.return_probes, "ret-insn");
	ASSERT_TRUE(c.redaction.cfg.private_ips);
	ASSERT_EQ(c.redaction.cfg.mode[DETECT_EMAIL], REDACT_MASK);
	ASSERT_EQ(c.redaction.cfg.mode[DETECT_CREDIT_CARD], REDACT_PARTIAL);
	ASSERT_TRUE(!(c.redaction.cfg.enabled & DETECT_BIT(DETECT_PHONE)));
	ASSERT_TRUE(c.redaction.cfg.enabled & DETECT_BIT(DETECT_EMAIL));
	ASSERT_TRUE(c.rules.paths_set);
	ASSERT_EQ(c.rules.n_paths, 2);
	ASSERT_STREQ(c.rules.paths[1], "/etc/llmtap/rules.d");
	ASSERT_EQ(c.audit.checkpoint_records, 500);
	ASSERT_EQ(c.audit.checkpoint_interval_s, 30);
	ASSERT_EQ(c.audit.heartbeat_interval_s, 600);
	ASSERT_EQ(c.audit.health_interval_s, 3600);
	ASSERT_STREQ(c.audit.origin, "llmtap/test-host");
	ASSERT_STREQ(c.metrics.listen, "127.0.0.1:9464");
	ASSERT_EQ(c.n_outputs, 4);
	ASSERT_EQ(c.outputs[0].type, OUTPUT_FILE);
	ASSERT_EQ(c.outputs[0].rotate_bytes, 50 << 20);
	ASSERT_EQ(c.outputs[0].rotate_interval_s, 12 * 3600);
	ASSERT_TRUE(!c.outputs[0].compress);
	ASSERT_EQ(c.outputs[0].retention_days, 200);
	ASSERT_UEQ(c.outputs[0].retention_bytes, 10ull << 30);
	ASSERT_EQ(c.outputs[0].fsync, OUTPUT_FSYNC_ALWAYS);
	ASSERT_EQ(c.outputs[0].mode, 0600);
	ASSERT_EQ(c.outputs[1].type, OUTPUT_HTTP);
	ASSERT_STREQ(c.outputs[1].url, "https://logs.example.com/ingest");
	ASSERT_EQ(c.outputs[1].n_headers, 1);
	ASSERT_STREQ(c.outputs[1].headers[0].name, "X-Scope");
	ASSERT_STREQ(c.outputs[1].token_file, "/etc/llmtap/token");
	ASSERT_TRUE(c.outputs[1].tls_verify);
	ASSERT_TRUE(!c.outputs[1].gzip);
	ASSERT_EQ(c.outputs[1].batch_records, 100);
	ASSERT_EQ(c.outputs[1].batch_bytes, 512 << 10);
	ASSERT_EQ(c.outputs[1].batch_interval_ms, 500);
	ASSERT_UEQ(c.outputs[1].spool_max_bytes, 2ull << 30);
	ASSERT_EQ(c.outputs[1].spool_policy, SPOOL_DROP_NEWEST);
	ASSERT_EQ(c.outputs[2].type, OUTPUT_OTLP);
	ASSERT_STREQ(c.outputs[2].url, "http://127.0.0.1:4318");
	ASSERT_EQ(c.outputs[2].batch_records, 500);
	ASSERT_EQ(c.outputs[3].type, OUTPUT_STDOUT);
	config_free(&c);
	config_diags_free(&d);
}

/* Each broken file gives exactly this first diagnostic. */
static const struct {
	const char *file;
	unsigned line, col;
	const char *msg;
} bad[] = {
	{ "unknown_key.yaml", 2, 1,
	  "unknown key 'captur' in the configuration (did you mean 'capture'?)" },
	{ "unknown_nested.yaml", 3, 3,
	  "unknown key 'port_only' in 'capture' (did you mean 'ports_only'?)" },
	{ "bad_bool.yaml", 2, 12, "'enabled' must be true or false, not 'maybe'" },
	{ "bad_size.yaml", 2, 13,
	  "'call_cap' must be a size such as 1048576, 512k, 100m or 2g, not 'lots'" },
	{ "bad_output_type.yaml", 3, 11, "unknown output type 'kafka' (file, stdout, http, otlp)" },
	{ "dup_output.yaml", 4, 5, "output name 'a' is used twice" },
	{ "bad_entity.yaml", 3, 5, "unknown entity 'EMAL' (did you mean 'EMAIL'?)" },
	{ "http_no_url.yaml", 4, 5, "unknown key 'urll' in an http output (did you mean 'url'?)" },
	{ "bad_duration.yaml", 2, 24,
	  "'checkpoint_interval' must be a duration such as 30s, 5m, 24h or 180d, not 'soon'" },
	{ "world_mode.yaml", 5, 11,
	  "'mode' must be octal permissions without access for others, such as 0640 or 0600" },
};

TEST(config_errors_name_file_line_col)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct config c;
		struct config_diags d = { 0 };
		char name[128];

		snprintf(name, sizeof(name), "config-bad/%s", bad[i].file);
		ASSERT_EQ(config_init_default(&c), 0);
		ASSERT_EQ(load_data(name, &c, &d), -EINVAL);
		ASSERT_TRUE(d.n >= 1);
		ASSERT_STREQ(d.v[0].file, name);
		if (d.v[0].line != bad[i].line || d.v[0].col != bad[i].col)
			fprintf(stderr, "%s: got %u:%u %s\n", name, d.v[0].line, d.v[0].col,
				d.v[0].msg);
		ASSERT_EQ(d.v[0].line, bad[i].line);
		ASSERT_EQ(d.v[0].col, bad[i].col);
		ASSERT_STREQ(d.v[0].msg, bad[i].msg);
		config_free(&c);
		config_diags_free(&d);
	}
}

TEST(config_syntax_error_has_a_position)
{
	struct config c;
	struct config_diags d = { 0 };

	ASSERT_EQ(config_init_default(&c), 0);
	ASSERT_EQ(load_data("config-bad/syntax.yaml", &c, &d), -EINVAL);
	ASSERT_EQ(d.n, 1);
	ASSERT_TRUE(d.v[0].line >= 2);
	config_free(&c);
	config_diags_free(&d);
}

TEST(config_http_output_needs_url)
{
	struct config c;
	struct config_diags d = { 0 };
	const char *y = "outputs:\n  - name: c\n    type: http\n";

	ASSERT_EQ(config_init_default(&c), 0);
	ASSERT_EQ(config_load_buf("t", y, strlen(y), &c, &d), -EINVAL);
	ASSERT_STREQ(d.v[0].msg, "an http output needs a 'url'");
	ASSERT_EQ(d.v[0].line, 2);
	config_free(&c);
	config_diags_free(&d);
}

TEST(config_outputs_from_flags_get_unique_names)
{
	struct config c;

	ASSERT_EQ(config_init_default(&c), 0);
	ASSERT_EQ(config_add_output_path(&c, "/tmp/a/out.jsonl"), 0);
	ASSERT_EQ(config_add_output_path(&c, "/tmp/b/out.jsonl"), 0);
	ASSERT_EQ(config_add_output_path(&c, "-"), 0);
	ASSERT_EQ(c.n_outputs, 3);
	ASSERT_STREQ(c.outputs[0].name, "file-out.jsonl");
	ASSERT_TRUE(strcmp(c.outputs[1].name, c.outputs[0].name) != 0);
	ASSERT_EQ(c.outputs[2].type, OUTPUT_STDOUT);
	ASSERT_EQ(c.outputs[0].mode, 0600);
	ASSERT_EQ(c.outputs[0].rotate_bytes, 0);
	config_free(&c);
}

TEST(config_durations)
{
	uint64_t v;

	ASSERT_EQ(config_parse_duration_ms("90", &v), 0);
	ASSERT_EQ(v, 90000);
	ASSERT_EQ(config_parse_duration_ms("250ms", &v), 0);
	ASSERT_EQ(v, 250);
	ASSERT_EQ(config_parse_duration_ms("180d", &v), 0);
	ASSERT_UEQ(v, 180ull * 86400000);
	ASSERT_EQ(config_parse_duration_ms("5 m", &v), -EINVAL);
	ASSERT_EQ(config_parse_duration_ms("-5s", &v), -EINVAL);
	ASSERT_EQ(config_parse_duration_ms("99999999999999999999d", &v), -EINVAL);
}
