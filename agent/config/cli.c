// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "config/cli.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>

void config_print_diags(const struct config_diags *d, FILE *f)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct config_diag *g = &d->v[i];

		if (g->line)
			fprintf(f, "%s:%u:%u: %s\n", g->file, g->line, g->col, g->msg);
		else
			fprintf(f, "%s: %s\n", g->file, g->msg);
	}
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static const char *fsync_name(enum output_fsync f)
{
	return f == OUTPUT_FSYNC_ALWAYS ? "always" : f == OUTPUT_FSYNC_NEVER ? "never" : "batch";
}

static json_t *output_to_json(const struct output_config *o)
{
	json_t *j = json_pack("{ss ss}", "name", o->name, "type", output_type_name(o->type));
	json_t *h;

	if (!j)
		return NULL;
	switch (o->type) {
	case OUTPUT_STDOUT:
		break;
	case OUTPUT_FILE:
		json_object_set_new(j, "path", str_or_null(o->path));
		json_object_set_new(j, "rotate_size", json_integer((json_int_t)o->rotate_bytes));
		json_object_set_new(j, "rotate_interval_s",
				    json_integer((json_int_t)o->rotate_interval_s));
		json_object_set_new(j, "compress", json_boolean(o->compress));
		json_object_set_new(j, "retention_days",
				    json_integer((json_int_t)o->retention_days));
		json_object_set_new(j, "retention_size",
				    json_integer((json_int_t)o->retention_bytes));
		json_object_set_new(j, "fsync", json_string(fsync_name(o->fsync)));
		json_object_set_new(j, "mode", json_sprintf("%04o", o->mode));
		break;
	case OUTPUT_HTTP:
	case OUTPUT_OTLP:
		json_object_set_new(j, o->type == OUTPUT_HTTP ? "url" : "endpoint",
				    str_or_null(o->url));
		h = json_object();
		/* header values may hold credentials: names only */
		for (size_t i = 0; h && i < o->n_headers; i++)
			json_object_set_new(h, o->headers[i].name, json_string("(set)"));
		json_object_set_new(j, "headers", h);
		json_object_set_new(j, "token_file", str_or_null(o->token_file));
		json_object_set_new(j, "ca_file", str_or_null(o->ca_file));
		json_object_set_new(j, "cert_file", str_or_null(o->cert_file));
		json_object_set_new(j, "key_file", str_or_null(o->key_file));
		json_object_set_new(j, "tls_verify", json_boolean(o->tls_verify));
		json_object_set_new(j, "gzip", json_boolean(o->gzip));
		json_object_set_new(j, "batch_records", json_integer((json_int_t)o->batch_records));
		json_object_set_new(j, "batch_size", json_integer((json_int_t)o->batch_bytes));
		json_object_set_new(j, "batch_interval_ms",
				    json_integer((json_int_t)o->batch_interval_ms));
		json_object_set_new(j, "timeout_ms", json_integer((json_int_t)o->timeout_ms));
		json_object_set_new(j, "retry_max_ms", json_integer((json_int_t)o->retry_max_ms));
		json_object_set_new(j, "spool_size", json_integer((json_int_t)o->spool_max_bytes));
		json_object_set_new(j, "spool_policy",
				    json_string(o->spool_policy == SPOOL_DROP_NEWEST ?
							"drop_newest" :
							"drop_oldest"));
		break;
	}
	return j;
}

json_t *config_to_json(const struct config *c)
{
	json_t *j = json_object(), *cap, *red, *ent, *rules, *paths, *audit, *outs, *ports;

	if (!j)
		return NULL;
	json_object_set_new(j, "state_dir", str_or_null(c->state_dir));
	cap = json_object();
	ports = json_array();
	for (size_t i = 0; ports && i < c->capture.n_ports; i++)
		json_array_append_new(ports, json_integer(c->capture.ports[i]));
	json_object_set_new(cap, "sockets", json_boolean(c->capture.sockets));
	json_object_set_new(cap, "ports", ports);
	json_object_set_new(cap, "ports_only", json_boolean(c->capture.ports_only));
	json_object_set_new(cap, "all_http", json_boolean(c->capture.all_http));
	json_object_set_new(cap, "content", json_boolean(c->capture.content));
	json_object_set_new(cap, "hold", json_boolean(c->capture.hold));
	json_object_set_new(cap, "call_cap", json_integer((json_int_t)c->capture.call_cap));
	json_object_set_new(cap, "ringbuf", json_integer((json_int_t)c->capture.ringbuf_bytes));
	json_object_set_new(cap, "return_probes", str_or_null(c->capture.return_probes));
	json_object_set_new(cap, "prices", str_or_null(c->capture.prices));
	json_object_set_new(j, "capture", cap);

	red = json_object();
	ent = json_object();
	for (int e = 0; ent && e < DETECT_ENTITY_COUNT; e++)
		json_object_set_new(ent, detect_entity_name((enum detect_entity)e),
				    json_string(c->redaction.cfg.enabled & DETECT_BIT(e) ?
							redact_mode_name(c->redaction.cfg.mode[e]) :
							"off"));
	json_object_set_new(red, "enabled", json_boolean(c->redaction.enabled));
	json_object_set_new(red, "key_file", str_or_null(c->redaction.key_file));
	json_object_set_new(red, "private_ips", json_boolean(c->redaction.cfg.private_ips));
	json_object_set_new(red, "entities", ent);
	json_object_set_new(j, "redaction", red);

	rules = json_object();
	paths = json_array();
	for (size_t i = 0; paths && i < c->rules.n_paths; i++)
		json_array_append_new(paths, json_string(c->rules.paths[i]));
	json_object_set_new(rules, "paths", c->rules.paths_set ? paths : json_null());
	if (!c->rules.paths_set)
		json_decref(paths);
	json_object_set_new(j, "rules", rules);

	audit = json_pack("{sI sI sI sI so}", "checkpoint_records",
			  (json_int_t)c->audit.checkpoint_records, "checkpoint_interval_s",
			  (json_int_t)c->audit.checkpoint_interval_s, "heartbeat_interval_s",
			  (json_int_t)c->audit.heartbeat_interval_s, "health_interval_s",
			  (json_int_t)c->audit.health_interval_s, "origin",
			  str_or_null(c->audit.origin));
	json_object_set_new(j, "audit", audit);
	json_object_set_new(j, "metrics",
			    json_pack("{so}", "listen", str_or_null(c->metrics.listen)));
	outs = json_array();
	for (size_t i = 0; outs && i < c->n_outputs; i++)
		json_array_append_new(outs, output_to_json(&c->outputs[i]));
	json_object_set_new(j, "outputs", outs);
	return j;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: llmtap config check [FILE]   validate FILE (default %s)\n"
		"       llmtap config show [FILE]    the effective configuration as JSON\n",
		CONFIG_DEFAULT_PATH);
}

int config_cli_main(int argc, char **argv)
{
	struct config c;
	struct config_diags d = { 0 };
	const char *path = CONFIG_DEFAULT_PATH;
	bool show;
	int rc, status = 0;

	if (argc < 2 || argc > 3 || (strcmp(argv[1], "check") && strcmp(argv[1], "show"))) {
		usage(argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) ? stdout :
											    stderr);
		return argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) ? 0 : 2;
	}
	show = strcmp(argv[1], "show") == 0;
	if (argc == 3)
		path = argv[2];
	if (config_init_default(&c)) {
		fprintf(stderr, "llmtap: out of memory\n");
		return 1;
	}
	rc = config_load(path, &c, &d);
	if (rc == -EINVAL) {
		config_print_diags(&d, stderr);
		fprintf(stderr, "llmtap: %zu error%s in %s\n", d.n, d.n == 1 ? "" : "s", path);
		status = 1;
	} else if (rc) {
		fprintf(stderr, "llmtap: cannot read '%s': %s\n", path, strerror(-rc));
		status = 1;
	} else if (show) {
		json_t *j;

		if (!c.outputs_set)
			config_default_outputs(&c);
		j = config_to_json(&c);
		if (j)
			json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("\n");
		json_decref(j);
	} else {
		printf("ok: %s\n", path);
	}
	config_diags_free(&d);
	config_free(&c);
	return status;
}
