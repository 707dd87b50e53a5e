// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * llmtap: audit the LLM traffic of a host from the kernel.
 * main wires capture -> stream (HTTP exchanges) -> records -> sinks and runs
 * the event loop.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/attach_state.h"
#include "capture/capture.h"
#include "llm/price.h"
#include "redact/redact.h"
#include "rules/cli.h"
#include "rules/rules.h"
#include "sink/jsonl.h"
#include "status/status.h"
#include "stream/stream.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strnum.h"

/* Exit statuses (documented in README.md and --help). */
#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define EXIT_NOPERM 4

/* long options without a short form */
enum { OPT_REDACT_KEY = 0x100, OPT_NO_REDACT };

#define MAX_OUTPUTS 8
#define MAX_RULE_PATHS 16
#define DEFAULT_OUTPUT "llmtap-audit.jsonl"
#define IDLE_NS (300ull * 1000000000ull)
/* Plaintext inference servers: vLLM/Triton, SGLang, Ollama, llama.cpp/TGI, TGI */
#define DEFAULT_PORTS "8000,30000,11434,8080,3000"

struct agent {
	struct capture *cap;
	struct stream stream;
	struct jsonl_sink sinks[MAX_OUTPUTS];
	int n_sinks;
	struct rules *rules; /* the active rule set (the stream's), NULL: none */
	char *rule_paths[MAX_RULE_PATHS];
	size_t n_rule_paths;
	uint64_t rules_reloads, rules_reload_failures;
};

static volatile sig_atomic_t stop, want_stats, want_reload;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		want_stats = 1;
	else if (sig == SIGHUP)
		want_reload = 1;
	else
		stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: llmtap [run] [OPTIONS]\n"
		"       llmtap status [--all] [--json] [--state PATH]\n"
		"       llmtap rules check|test [PATH...]\n"
		"       llmtap --version | --help\n"
		"\n"
		"Captures the TLS plaintext of LLM API calls of every process on the host and\n"
		"writes one JSON record per HTTP exchange.\n"
		"\n"
		"  -o, --output PATH         write records to PATH ('-' for stdout); repeatable;\n"
		"                            default: ./" DEFAULT_OUTPUT " and stdout\n"
		"      --all-http            record every HTTP exchange, not only LLM API calls\n"
		"      --ports LIST          plaintext HTTP: server ports always captured\n"
		"                            (default " DEFAULT_PORTS ", 'none')\n"
		"      --ports-only          plaintext HTTP: only those ports; do not select\n"
		"                            other connections by their first bytes\n"
		"      --no-sockets          no plaintext capture at all (TLS only)\n"
		"      --call-cap BYTES      bytes captured per TLS read/write (default 1048576,\n"
		"                            suffixes k/m)\n"
		"      --ringbuf BYTES       kernel ring buffer size (power of two, default 16m)\n"
		"      --return-probes MODE  auto | uretprobe | ret-insn (default auto)\n"
		"      --no-hold             do not pause a thread (ptrace stop) while a TLS\n"
		"                            library it just loaded is being probed\n"
		"      --no-content          record metadata only: no prompts, responses or\n"
		"                            tool schemas (tool names are kept)\n"
		"      --prices FILE         price table for llmtap.cost.usd (default: the\n"
		"                            embedded share/prices.json)\n"
		"      --state PATH          run state read by 'llmtap status' (default\n"
		"                            " ATTACH_STATE_DEFAULT_PATH ")\n"
		"      --redact-key FILE     key of the redaction pseudonyms (32 bytes, 0600,\n"
		"                            created if absent; " REDACT_KEY_DEFAULT_PATH ")\n"
		"      --no-redact           write records UNREDACTED (debugging only)\n"
		"      --rules PATH          detection rules: a file or a directory of *.yaml;\n"
		"                            repeatable (default: the checkout's rules/, else\n"
		"                            " RULES_SHARE_DIR " and " RULES_ETC_DIR ")\n"
		"  -v, --verbose             debug messages, libbpf's included\n"
		"  -V, --version             print the version\n"
		"  -h, --help                this help\n"
		"\n"
		"SIGUSR1 prints the counters (kernel and agent) as one JSON line on stderr;\n"
		"SIGHUP reloads the rules (the old ones stay if the new ones do not load).\n"
		"\n"
		"Exit status: 0 stopped by a signal, 1 runtime error, 2 usage error,\n"
		"4 missing privileges (needs root: CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE).\n");
}

static void __attribute__((format(printf, 1, 2), noreturn)) usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "llmtap: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	usage(stderr);
	exit(EXIT_USAGE);
}

static void emit_record(json_t *rec, void *ctx)
{
	struct agent *a = ctx;
	json_t *alerts = json_object_get(rec, "alerts"), *al;
	size_t k;

	/* alerts are logged as they leave: after redaction, like the record */
	json_array_foreach(alerts, k, al) {
		log_msg("alert: ", "%s (%s): %s", json_string_value(json_object_get(al, "rule")),
			json_string_value(json_object_get(al, "severity")),
			json_string_value(json_object_get(al, "message")));
	}

	for (int i = 0; i < a->n_sinks; i++)
		jsonl_write(&a->sinks[i], rec);
}

static void ignore_conn(const struct conn_key *key, void *ctx)
{
	struct agent *a = ctx;

	if (a->cap)
		capture_set_ignore(a->cap, key->pid, key->ssl, key->gen);
}

static int on_event(void *ctx, const void *data, size_t size)
{
	struct agent *a = ctx;

	return stream_on_event(&a->stream, data, size);
}

static void print_stats(struct agent *a)
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
	char *s;

	if (!o || !probes || capture_read_stats(a->cap, ps, cnt) != 0) {
		json_decref(o);
		json_decref(probes);
		return;
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
	s = json_dumps(o, JSON_COMPACT);
	/* not log_info: the line is longer than a log line may be */
	if (s)
		fprintf(stderr, "llmtap: stats %s\n", s);
	free(s);
	json_decref(o);
}

/* Loads the rule set of a->rule_paths; errors are logged as file:line:col. */
static int load_rules(struct agent *a, struct rules **out)
{
	struct rules_diags d = { 0 };
	int err = rules_load((const char *const *)a->rule_paths, a->n_rule_paths, out, &d);

	for (size_t i = 0; i < d.n; i++) {
		if (d.v[i].line)
			log_error("%s:%u:%u: %s", d.v[i].file, d.v[i].line, d.v[i].col, d.v[i].msg);
		else
			log_error("%s: %s", d.v[i].file, d.v[i].msg);
	}
	if (err == -ENOMEM)
		log_error("out of memory loading the rules");
	rules_diags_free(&d);
	return err;
}

/* SIGHUP: the new set is compiled completely before it replaces the old
 * one; on any error the old set stays active. */
static void reload_rules(struct agent *a)
{
	struct rules *r;

	if (a->n_rule_paths == 0)
		return;
	if (load_rules(a, &r)) {
		a->rules_reload_failures++;
		log_error("rules not reloaded: the previous rules stay active");
		return;
	}
	rules_free(a->rules);
	a->rules = r;
	a->stream.rules = r;
	a->rules_reloads++;
	log_info("rules reloaded: %zu rules (%zu enabled) from %zu files", rules_count(r),
		 rules_count_enabled(r), rules_n_files(r));
}

/* The embedded price table, or the operator's file (errors name file:line). */
static int load_prices(const char *path, struct price_table *t)
{
	char err[256], *text;
	size_t len;
	FILE *f;
	int rc;

	if (!path)
		return price_table_load_default(t);
	f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "llmtap: error: cannot open price table '%s': %s\n", path,
			strerror(errno));
		return -errno;
	}
	text = malloc(16 << 20);
	len = text ? fread(text, 1, 16 << 20, f) : 0;
	fclose(f);
	if (!text)
		return -ENOMEM;
	rc = price_table_load(t, text, len, err, sizeof(err));
	free(text);
	if (rc)
		fprintf(stderr, "llmtap: error: %s: %s\n", path, err);
	return rc;
}

/* The redactor with its key (created at first start); logs why not. */
static int open_redactor(const char *key_path, struct redactor **out)
{
	uint8_t key[REDACT_KEY_LEN];
	struct redact_config cfg;
	int err = redact_key_load(key_path, key);

	if (err) {
		log_error("cannot use the redaction key '%s': %s%s", key_path, strerror(-err),
			  err == -EPERM ? " (it must be owned by this user, mode 0600)" : "");
		return err;
	}
	redact_config_default(&cfg);
	err = redact_new(&cfg, key, out);
	explicit_bzero(key, sizeof(key));
	if (err)
		log_error("cannot initialise redaction: %s", strerror(-err));
	return err;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "all-http", no_argument, NULL, 'A' },
		{ "call-cap", required_argument, NULL, 'c' },
		{ "ringbuf", required_argument, NULL, 'r' },
		{ "return-probes", required_argument, NULL, 'R' },
		{ "no-hold", no_argument, NULL, 'H' },
		{ "no-content", no_argument, NULL, 'N' },
		{ "prices", required_argument, NULL, 'P' },
		{ "state", required_argument, NULL, 'T' },
		{ "rules", required_argument, NULL, 'U' },
		{ "redact-key", required_argument, NULL, OPT_REDACT_KEY },
		{ "no-redact", no_argument, NULL, OPT_NO_REDACT },
		{ "ports", required_argument, NULL, 'p' },
		{ "ports-only", no_argument, NULL, 'O' },
		{ "no-sockets", no_argument, NULL, 'S' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct capture_opts copts = { .call_cap = LT_CALL_CAP_DEFAULT };
	struct stream_opts sopts = { 0 };
	struct stream_hooks hooks;
	struct classifier cl;
	const char *outputs[MAX_OUTPUTS], *prices_path = NULL;
	const char *state_path = ATTACH_STATE_DEFAULT_PATH;
	const char *redact_key_path = REDACT_KEY_DEFAULT_PATH;
	struct redactor *redactor = NULL;
	bool no_redact = false;
	uint64_t last_state;
	struct price_table prices = { 0 };
	int n_outputs = 0, opt, err, status = 0;
	bool ports_set = false;
	struct agent a;
	uint64_t v, last_tick = 0, last_sync = 0;

	memset(&a, 0, sizeof(a));
	classifier_default(&cl);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":o:vVh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			if (n_outputs == MAX_OUTPUTS)
				usage_error("too many --output options (max %d)", MAX_OUTPUTS);
			outputs[n_outputs++] = optarg;
			break;
		case 'A':
			cl.match_all = true;
			break;
		case 'c':
			if (strnum_parse_size(optarg, &v) || v < 4096 || v > LT_CALL_CAP_MAX)
				usage_error("invalid --call-cap '%s' (4k..64m)", optarg);
			copts.call_cap = (uint32_t)v;
			break;
		case 'r':
			if (strnum_parse_size(optarg, &v) || v < 65536 || v > (1u << 30) ||
			    (v & (v - 1)))
				usage_error("invalid --ringbuf '%s' (power of two, 64k..1g)",
					    optarg);
			copts.ringbuf_bytes = (uint32_t)v;
			break;
		case 'R':
			if (strcmp(optarg, "auto") == 0)
				copts.ret_mode = CAPTURE_RET_AUTO;
			else if (strcmp(optarg, "uretprobe") == 0)
				copts.ret_mode = CAPTURE_RET_URETPROBE;
			else if (strcmp(optarg, "ret-insn") == 0)
				copts.ret_mode = CAPTURE_RET_INSN;
			else
				usage_error(
					"invalid --return-probes '%s' (auto|uretprobe|ret-insn)",
					optarg);
			break;
		case 'H':
			copts.no_hold = true;
			break;
		case 'N':
			sopts.no_content = true;
			break;
		case 'P':
			prices_path = optarg;
			break;
		case 'T':
			state_path = optarg;
			break;
		case OPT_REDACT_KEY:
			redact_key_path = optarg;
			break;
		case OPT_NO_REDACT:
			no_redact = true;
			break;
		case 'U':
			if (a.n_rule_paths == MAX_RULE_PATHS)
				usage_error("too many --rules options (max %d)", MAX_RULE_PATHS);
			a.rule_paths[a.n_rule_paths] = strdup(optarg);
			if (!a.rule_paths[a.n_rule_paths])
				return EXIT_RUNTIME;
			a.n_rule_paths++;
			break;
		case 'p':
			if (strnum_parse_ports(optarg, copts.sock_ports, LT_SOCK_PORTS_MAX,
					       &copts.n_sock_ports))
				usage_error("invalid --ports '%s' (comma-separated 1..65535, at "
					    "most %d, or 'none')",
					    optarg, LT_SOCK_PORTS_MAX);
			ports_set = true;
			break;
		case 'O':
			copts.no_sock_classify = true;
			break;
		case 'S':
			copts.no_sockets = true;
			break;
		case 'v':
			log_verbose = true;
			break;
		case 'V':
			printf("llmtap %s (%s)\n", LLMTAP_VERSION, LLMTAP_GIT_REV);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			usage_error("option '%s' needs a value", argv[optind - 1]);
			break;
		default:
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (!ports_set && strnum_parse_ports(DEFAULT_PORTS, copts.sock_ports, LT_SOCK_PORTS_MAX,
					     &copts.n_sock_ports))
		return EXIT_RUNTIME;
	if (n_outputs == 0) {
		outputs[n_outputs++] = DEFAULT_OUTPUT;
		outputs[n_outputs++] = "-";
	}

	err = load_prices(prices_path, &prices);
	if (err)
		return EXIT_USAGE;
	sopts.prices = &prices;
	if (a.n_rule_paths == 0)
		a.n_rule_paths = rules_default_paths(a.rule_paths, MAX_RULE_PATHS);
	/* no rules at all is no error: the ready line says how many there are */
	if (a.n_rule_paths && load_rules(&a, &a.rules)) {
		status = EXIT_USAGE;
		goto cleanup;
	}
	sopts.rules = a.rules;

	/* records are sensitive: nothing we create is readable by others */
	umask(077);
	clock_sync();
	for (int i = 0; i < n_outputs; i++) {
		err = jsonl_open(&a.sinks[a.n_sinks], outputs[i]);
		if (err) {
			log_error("cannot open output '%s': %s", outputs[i], strerror(-err));
			status = EXIT_RUNTIME;
			goto cleanup;
		}
		a.n_sinks++;
	}
	sopts.max_body_bytes = copts.call_cap;
	sopts.classifier = &cl;
	hooks.emit = emit_record;
	hooks.ignore = ignore_conn;
	hooks.ctx = &a;
	err = stream_init(&a.stream, &sopts, &hooks);
	if (err) {
		log_error("cannot initialise: %s", strerror(-err));
		status = EXIT_RUNTIME;
		goto cleanup;
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR1, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	/* one perf event fd per uprobe: many libraries need many fds */
	setrlimit(RLIMIT_NOFILE, &(struct rlimit){ 65536, 65536 });

	err = capture_open(&copts, on_event, &a, &a.cap);
	if (err) {
		status = err == -EPERM ? EXIT_NOPERM : EXIT_RUNTIME;
		goto cleanup_stream;
	}
	/* after the privilege check (its exit status comes first); before
	 * the first poll: no record exists yet, every one is redacted */
	err = no_redact ? 0 : open_redactor(redact_key_path, &redactor);
	if (err) {
		status = EXIT_RUNTIME;
		goto cleanup_stream;
	}
	if (no_redact)
		log_warn("*** --no-redact: records are written UNREDACTED: prompts, responses, "
			 "secrets and personal data in clear. For debugging only. ***");
	a.stream.redactor = redactor;
	log_info("ready: %zu TLS libraries attached, %d output%s, %zu detection rules",
		 capture_n_targets(a.cap), a.n_sinks, a.n_sinks == 1 ? "" : "s",
		 rules_count_enabled(a.rules));
	/* processes older than the agent: named now, while they run; later
	 * ones by their exec events, queued meanwhile */
	proc_cache_prefill(&a.stream.procs);
	err = attach_state_write(state_path);
	if (err)
		log_warn("cannot write the run state '%s': %s", state_path, strerror(-err));
	last_state = clock_mono_now();

	while (!stop) {
		uint64_t now;

		err = capture_poll(a.cap, 100);
		if (err < 0) {
			log_error("ring buffer: %s", strerror(-err));
			status = EXIT_RUNTIME;
			break;
		}
		if (want_stats) {
			want_stats = 0;
			print_stats(&a);
		}
		if (want_reload) {
			want_reload = 0;
			reload_rules(&a);
		}
		now = clock_mono_now();
		stream_expire_joins(&a.stream, now);
		if (now - last_tick >= 1000000000ull) {
			stream_tick(&a.stream, now, IDLE_NS);
			last_tick = now;
		}
		if (now - last_sync >= 60000000000ull) {
			clock_sync();
			last_sync = now;
		}
		/* the run state: on change at most once a second, and every 10 s
		 * so that a file replaced by another agent's comes back */
		if ((now - last_state >= 1000000000ull && attach_state_dirty()) ||
		    now - last_state >= 10000000000ull) {
			attach_state_write(state_path);
			last_state = now;
		}
	}
	/* drain what the kernel already produced before tearing down */
	capture_poll(a.cap, 0);
	print_stats(&a);
	log_info("stopping");
	attach_state_remove(state_path);
cleanup_stream:
	stream_destroy(&a.stream); /* flushes pending exchanges as incomplete */
	capture_close(a.cap);
cleanup:
	for (int i = 0; i < a.n_sinks; i++)
		jsonl_close(&a.sinks[i]);
	price_table_free(&prices);
	redact_free(redactor); /* after stream_destroy: its last records are redacted */
	rules_free(a.rules);
	for (size_t i = 0; i < a.n_rule_paths; i++)
		free(a.rule_paths[i]);
	return status;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "status") == 0)
		return status_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "rules") == 0)
		return rules_cli_main(argc - 1, argv + 1);
	if (argc > 1 && argv[1][0] != '-')
		usage_error("unknown command '%s'", argv[1]);
	return cmd_run(argc, argv);
}
