/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The agent process: main.c dispatches the commands, main_run.c runs the
 * daemon (capture -> stream -> records -> audit chain -> outputs),
 * main_stats.c reports its counters (SIGUSR1 JSON line, /metrics).
 */
#ifndef LLMTAP_MAIN_H
#define LLMTAP_MAIN_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"
#include "stream/stream.h"

/* Exit statuses (documented in README.md and --help). */
#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define EXIT_NOPERM 4

/* Labelled counters for /metrics, bounded: past the cap one "other" row. */
#define USAGE_ROWS_MAX 256
struct usage_row {
	char provider[48], model[96];
	uint64_t exchanges, input_tokens, output_tokens;
};
struct alert_row {
	char rule[96], severity[16];
	uint64_t count;
};

struct agent {
	struct config cfg;
	struct capture *cap;
	struct stream stream;
	struct rules *rules; /* the active rule set (the stream's), NULL: none */
	struct redactor *redactor;
	struct audit_chain *chain;
	struct outputs *outs;
	struct metrics *metrics;
	uint64_t rules_reloads, rules_reload_failures;
	uint64_t config_reloads, config_reload_failures;
	uint64_t records_out, record_errors;
	struct usage_row usage[USAGE_ROWS_MAX];
	size_t n_usage;
	struct alert_row alerts[USAGE_ROWS_MAX];
	size_t n_alerts;
	uint64_t start_mono_ns;
	int lock_fd; /* flock on <state_dir>/lock: one agent per state directory */
};

void usage(FILE *f);
void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

int cmd_run(int argc, char **argv);

/* The counters as one JSON object (SIGUSR1 line and health records). */
json_t *agent_stats_json(struct agent *a);
/* Counts a record leaving the agent (exchanges by provider/model, alerts by rule). */
void agent_count_record(struct agent *a, const json_t *rec);
/* Renders the Prometheus text exposition of every counter into a malloc'd
 * buffer (*len bytes).  0 or -ENOMEM. */
int agent_metrics_text(struct agent *a, char **text, size_t *len);

#endif
