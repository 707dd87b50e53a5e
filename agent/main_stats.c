// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The agent's counters: one JSON object (the SIGUSR1 stats line, health
 * records) and the same numbers in Prometheus text form for /metrics.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/chain.h"
#include "capture/capture.h"
#include "main.h"
#include "rules/rules.h"
#include "sink/outputs.h"
#include "util/dynbuf.h"

json_t *agent_stats_json(struct agent *a)
{
	static const char *const probe_names[LT_PROBE_MAX] = {
		"SSL_write",	 "SSL_read",	       "SSL_write_ex",	     "SSL_read_ex",
		"SSL_write_ex2", "gnutls_record_send", "gnutls_record_recv", "go_tls_write",
		"go_tls_read",	 "socket_write",       "socket_read",
	};
	struct lt_probe_stats ps[LT_PROBE_MAX];
	struct capture_stats cs;
	uint64_t cnt[LT_CNT_MAX];
	json_t *o = json_object(), *probes = json_object();

	if (!o || !probes || !a->cap || capture_read_stats(a->cap, ps, cnt) != 0) {
		json_decref(o);
		json_decref(probes);
		return NULL;
	}
	for (int i = 0; i < LT_PROBE_MAX; i++) {
		if (!probe_names[i])
			continue;
		json_object_set_new(probes, probe_names[i],
				    json_pack("{sI sI sI sI sI sI sI sI sI}", "calls",
					      (json_int_t)ps[i].calls, "bytes",
					      (json_int_t)ps[i].bytes, "captured_bytes",
					      (json_int_t)ps[i].captured_bytes, "truncated_bytes",
					      (json_int_t)ps[i].truncated_bytes, "ignored_bytes",
					      (json_int_t)ps[i].ignored_bytes, "ringbuf_drops",
					      (json_int_t)ps[i].ringbuf_drops, "read_errors",
					      (json_int_t)ps[i].read_errors, "nested_calls",
					      (json_int_t)ps[i].nested_calls, "unmatched_returns",
					      (json_int_t)ps[i].unmatched_returns));
	}
	json_object_set_new(o, "probes", probes);
	capture_get_stats(a->cap, &cs);
	json_object_set_new(o, "attach",
			    json_pack("{sI sI sI sI sI sI}", "tls_files",
				      (json_int_t)capture_n_targets(a->cap), "files_inspected",
				      (json_int_t)cs.files_inspected, "holds", (json_int_t)cs.holds,
				      "hold_failures", (json_int_t)cs.hold_failures, "seen_resets",
				      (json_int_t)cs.seen_resets, "targets_refused",
				      (json_int_t)cs.targets_refused));
	json_object_set_new(o, "kernel",
			    json_pack("{sI sI sI sI sI sI sI sI}", "exec_events",
				      (json_int_t)cnt[LT_CNT_EXEC_EVENTS], "mmap_events",
				      (json_int_t)cnt[LT_CNT_MMAP_EVENTS], "control_drops",
				      (json_int_t)cnt[LT_CNT_CONTROL_DROPS], "conn_table_full",
				      (json_int_t)cnt[LT_CNT_CONN_TABLE_FULL], "call_table_full",
				      (json_int_t)cnt[LT_CNT_CALL_TABLE_FULL], "sock_table_full",
				      (json_int_t)cnt[LT_CNT_SOCK_TABLE_FULL], "sock_selected",
				      (json_int_t)cnt[LT_CNT_SOCK_SELECTED], "sock_declined",
				      (json_int_t)cnt[LT_CNT_SOCK_DECLINED]));
	{
		const struct stream_stats *st = &a->stream.stats;
		const struct conn_table *ct = &a->stream.conns;
		const struct {
			const char *name;
			uint64_t v;
		} agent[] = {
			{ "events", st->events },
			{ "bad_events", st->bad_events },
			{ "gaps", st->gaps },
			{ "gap_bytes", st->gap_bytes },
			{ "records", st->records },
			{ "llm_records", st->llm_records },
			{ "llm_decode_errors", st->llm_decode_errors },
			{ "content_decode_failures", st->content_decode_failures },
			{ "decoded_body_truncated", st->decoded_body_truncated },
			{ "incomplete_records", st->incomplete_records },
			{ "ignored_conns", st->ignored_conns },
			{ "not_http_conns", st->not_http },
			{ "conns", ct->count },
			{ "conns_evicted", ct->released[CONN_RELEASE_EVICT] },
			{ "conns_expired", ct->released[CONN_RELEASE_IDLE] },
			{ "evicted_for_memory", st->evicted_for_memory },
			{ "buffered_bytes", st->buffered },
			{ "buffered_peak_bytes", st->buffered_peak },
			{ "orphan_responses", st->orphan_responses },
			{ "pending_dropped", st->pending_dropped },
			{ "redaction_errors", st->redaction_errors },
			{ "joined_views", a->stream.join.stats.joined },
			{ "rules_loaded", rules_count_enabled(a->rules) },
			{ "rules_records", a->stream.rules_stats.records },
			{ "rules_alerts", a->stream.rules_stats.alerts },
			{ "rules_rate_limited", a->stream.rules_stats.rate_limited },
			{ "rules_eval_errors", a->stream.rules_stats.eval_errors },
			{ "rules_regex_limits", a->stream.rules_stats.regex_limits },
			{ "rules_scanned_bytes", a->stream.rules_stats.scanned_bytes },
			{ "rules_reloads", a->rules_reloads },
			{ "rules_reload_failures", a->rules_reload_failures },
			{ "unjoined_views", a->stream.join.stats.alone },
			{ "join_overflow", a->stream.join.stats.overflow },
		};
		json_t *ag = json_object();

		for (size_t i = 0; ag && i < sizeof(agent) / sizeof(agent[0]); i++)
			json_object_set_new(ag, agent[i].name,
					    json_integer((json_int_t)agent[i].v));
		json_object_set_new(o, "agent", ag);
	}
	json_object_set_new(o, "records",
			    json_pack("{sI sI sI sI}", "out", (json_int_t)a->records_out, "errors",
				      (json_int_t)a->record_errors, "config_reloads",
				      (json_int_t)a->config_reloads, "config_reload_failures",
				      (json_int_t)a->config_reload_failures));
	return o;
}

static void copy_label(char *dst, size_t size, const char *s)
{
	snprintf(dst, size, "%s", s ? s : "");
}

void agent_count_record(struct agent *a, const json_t *rec)
{
	const json_t *attrs = json_object_get(rec, "attributes");
	const char *provider = json_string_value(json_object_get(attrs, "gen_ai.provider.name"));
	const char *model = json_string_value(json_object_get(attrs, "gen_ai.request.model"));
	const json_t *alerts = json_object_get(rec, "alerts"), *al;
	struct usage_row *u = NULL;
	size_t k;

	a->records_out++;
	if (provider) {
		if (!model)
			model = "";
		for (size_t i = 0; i < a->n_usage && !u; i++)
			if (!strcmp(a->usage[i].provider, provider) &&
			    !strcmp(a->usage[i].model, model))
				u = &a->usage[i];
		if (!u && a->n_usage < USAGE_ROWS_MAX - 1) {
			u = &a->usage[a->n_usage++];
			copy_label(u->provider, sizeof(u->provider), provider);
			copy_label(u->model, sizeof(u->model), model);
		} else if (!u) {
			/* label cardinality is bounded: the rest share one row */
			u = &a->usage[USAGE_ROWS_MAX - 1];
			if (a->n_usage < USAGE_ROWS_MAX) {
				a->n_usage = USAGE_ROWS_MAX;
				copy_label(u->provider, sizeof(u->provider), "other");
				copy_label(u->model, sizeof(u->model), "other");
			}
		}
		u->exchanges++;
		u->input_tokens += (uint64_t)json_integer_value(
			json_object_get(attrs, "gen_ai.usage.input_tokens"));
		u->output_tokens += (uint64_t)json_integer_value(
			json_object_get(attrs, "gen_ai.usage.output_tokens"));
	}
	json_array_foreach(alerts, k, al) {
		const char *rule = json_string_value(json_object_get(al, "rule"));
		const char *sev = json_string_value(json_object_get(al, "severity"));
		struct alert_row *r = NULL;

		if (!rule)
			continue;
		for (size_t i = 0; i < a->n_alerts && !r; i++)
			if (!strcmp(a->alerts[i].rule, rule))
				r = &a->alerts[i];
		if (!r && a->n_alerts < USAGE_ROWS_MAX) {
			r = &a->alerts[a->n_alerts++];
			copy_label(r->rule, sizeof(r->rule), rule);
			copy_label(r->severity, sizeof(r->severity), sev);
		}
		if (r)
			r->count++;
	}
}

/* Prometheus label values: backslash, quote and newline escaped. */
static int put_label(struct dynbuf *b, const char *name, const char *v, bool first)
{
	int err = dynbuf_appendf(b, "%s%s=\"", first ? "" : ",", name);

	for (; !err && *v; v++) {
		if (*v == '\\' || *v == '"')
			err = dynbuf_appendf(b, "\\%c", *v);
		else if (*v == '\n')
			err = dynbuf_appendf(b, "\\n");
		else
			err = dynbuf_append(b, v, 1);
	}
	return err ? err : dynbuf_append(b, "\"", 1);
}

/* Every integer leaf of the stats object: llmtap_<section>_<name>. */
static int put_json(struct dynbuf *b, const char *prefix, const json_t *o)
{
	const char *key;
	json_t *v;
	int err = 0;

	json_object_foreach((json_t *)o, key, v) {
		char name[160];

		snprintf(name, sizeof(name), "%s_%s", prefix, key);
		for (char *p = name; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || *p == '_'))
				*p = '_';
		if (json_is_object(v))
			err = put_json(b, name, v);
		else if (json_is_integer(v))
			err = dynbuf_appendf(b, "%s %lld\n", name,
					     (long long)json_integer_value(v));
		if (err)
			return err;
	}
	return 0;
}

static long rss_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * sysconf(_SC_PAGESIZE);
}

int agent_metrics_text(struct agent *a, char **text, size_t *len)
{
	struct dynbuf b;
	json_t *st = agent_stats_json(a);
	int err = 0;

	dynbuf_init(&b, 4u << 20);

	if (st)
		err = put_json(&b, "llmtap", st);
	json_decref(st);
	if (!err && a->n_usage)
		err = dynbuf_appendf(&b, "# TYPE llmtap_exchanges_total counter\n");
	for (size_t i = 0; !err && i < a->n_usage; i++) {
		const struct usage_row *u = &a->usage[i];
		static const char *const names[] = { "llmtap_exchanges_total",
						     "llmtap_input_tokens_total",
						     "llmtap_output_tokens_total" };
		uint64_t vals[] = { u->exchanges, u->input_tokens, u->output_tokens };

		for (int j = 0; !err && j < 3; j++) {
			err = dynbuf_appendf(&b, "%s{", names[j]);
			if (!err)
				err = put_label(&b, "provider", u->provider, true);
			if (!err)
				err = put_label(&b, "model", u->model, false);
			if (!err)
				err = dynbuf_appendf(&b, "} %llu\n", (unsigned long long)vals[j]);
		}
	}
	if (!err && a->n_alerts)
		err = dynbuf_appendf(&b, "# TYPE llmtap_alerts_total counter\n");
	for (size_t i = 0; !err && i < a->n_alerts; i++) {
		err = dynbuf_appendf(&b, "llmtap_alerts_total{");
		if (!err)
			err = put_label(&b, "rule", a->alerts[i].rule, true);
		if (!err)
			err = put_label(&b, "severity", a->alerts[i].severity, false);
		if (!err)
			err = dynbuf_appendf(&b, "} %llu\n",
					     (unsigned long long)a->alerts[i].count);
	}
	if (!err && a->outs)
		err = outputs_render_metrics_buf(a->outs, &b);
	if (!err && a->chain) {
		const struct audit_chain_counters *cc = audit_chain_counters(a->chain);

		err = dynbuf_appendf(
			&b,
			"llmtap_chain_seq %llu\nllmtap_chain_records_sealed %llu\n"
			"llmtap_chain_checkpoints %llu\nllmtap_chain_gaps %llu\n"
			"llmtap_chain_sync_failures %llu\n"
			"llmtap_chain_write_failures %llu\n",
			(unsigned long long)audit_chain_seq(a->chain),
			(unsigned long long)cc->records_sealed, (unsigned long long)cc->checkpoints,
			(unsigned long long)cc->gaps, (unsigned long long)cc->sync_failures,
			(unsigned long long)cc->write_failures);
	}
	if (!err)
		err = dynbuf_appendf(&b,
				     "# TYPE llmtap_process_resident_memory_bytes gauge\n"
				     "llmtap_process_resident_memory_bytes %ld\n",
				     rss_bytes());
	if (err) {
		dynbuf_free(&b);
		return err;
	}
	*text = dynbuf_take(&b, len);
	return *text ? 0 : -ENOMEM;
}
