// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `llmtap run`: the daemon.  Configuration (file, then flags) -> capture
 * (BPF) -> stream (HTTP exchanges, LLM decoding, rules, redaction) ->
 * audit chain (seq, prev, checkpoints) -> outputs (files, spools, shippers).
 * One thread runs the event loop; shippers and /metrics have their own.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/capability.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "audit/chain.h"
#include "capture/attach_state.h"
#include "capture/capture.h"
#include "config/cli.h"
#include "llm/price.h"
#include "main.h"
#include "metrics/metrics.h"
#include "redact/redact.h"
#include "rules/cli.h"
#include "rules/rules.h"
#include "sink/outputs.h"
#include "util/caps.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/sd_notify.h"
#include "util/strnum.h"

#define IDLE_NS (300ull * 1000000000ull)
#define NS 1000000000ull

/* long options without a short form */
enum {
	OPT_REDACT_KEY = 0x100,
	OPT_NO_REDACT,
	OPT_STATE_DIR,
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

/* What the command line says; applied over the configuration file. */
struct run_flags {
	const char *config;
	const char *state_dir;
	const char *outputs[CONFIG_MAX_OUTPUTS];
	size_t n_outputs;
	const char *rules[CONFIG_MAX_RULE_PATHS];
	size_t n_rules;
	const char *prices, *redact_key, *return_probes;
	const char *state_path;
	uint64_t call_cap, ringbuf;
	uint16_t ports[CONFIG_MAX_PORTS];
	size_t n_ports;
	bool ports_set, ports_only, no_sockets, all_http, no_hold, no_content, no_redact;
};

static void parse_flags(int argc, char **argv, struct run_flags *f)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'C' },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
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
	uint64_t v;
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":o:vVh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'C':
			f->config = optarg;
			break;
		case OPT_STATE_DIR:
			f->state_dir = optarg;
			break;
		case 'o':
			if (f->n_outputs == CONFIG_MAX_OUTPUTS)
				usage_error("too many --output options (max %d)",
					    CONFIG_MAX_OUTPUTS);
			f->outputs[f->n_outputs++] = optarg;
			break;
		case 'A':
			f->all_http = true;
			break;
		case 'c':
			if (strnum_parse_size(optarg, &v) || v < 4096 || v > LT_CALL_CAP_MAX)
				usage_error("invalid --call-cap '%s' (4k..64m)", optarg);
			f->call_cap = v;
			break;
		case 'r':
			if (strnum_parse_size(optarg, &v) || v < 65536 || v > (1u << 30) ||
			    (v & (v - 1)))
				usage_error("invalid --ringbuf '%s' (power of two, 64k..1g)",
					    optarg);
			f->ringbuf = v;
			break;
		case 'R':
			if (strcmp(optarg, "auto") && strcmp(optarg, "uretprobe") &&
			    strcmp(optarg, "ret-insn"))
				usage_error(
					"invalid --return-probes '%s' (auto|uretprobe|ret-insn)",
					optarg);
			f->return_probes = optarg;
			break;
		case 'H':
			f->no_hold = true;
			break;
		case 'N':
			f->no_content = true;
			break;
		case 'P':
			f->prices = optarg;
			break;
		case 'T':
			f->state_path = optarg;
			break;
		case OPT_REDACT_KEY:
			f->redact_key = optarg;
			break;
		case OPT_NO_REDACT:
			f->no_redact = true;
			break;
		case 'U':
			if (f->n_rules == CONFIG_MAX_RULE_PATHS)
				usage_error("too many --rules options (max %d)",
					    CONFIG_MAX_RULE_PATHS);
			f->rules[f->n_rules++] = optarg;
			break;
		case 'p':
			if (strnum_parse_ports(optarg, f->ports, CONFIG_MAX_PORTS, &f->n_ports))
				usage_error("invalid --ports '%s' (comma-separated 1..65535, at "
					    "most %d, or 'none')",
					    optarg, CONFIG_MAX_PORTS);
			f->ports_set = true;
			break;
		case 'O':
			f->ports_only = true;
			break;
		case 'S':
			f->no_sockets = true;
			break;
		case 'v':
			log_verbose = true;
			break;
		case 'V':
			printf("llmtap %s (%s)\n", LLMTAP_VERSION, LLMTAP_GIT_REV);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			usage_error("option '%s' needs a value", argv[optind - 1]);
			break;
		default:
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
}

static int replace_str(char **dst, const char *src)
{
	char *s = strdup(src);

	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

/*
 * The configuration: the file (--config, else the default path when it
 * exists), then the flags over it.  Errors are printed as file:line:col.
 */
static int load_config(const struct run_flags *f, struct config *c)
{
	struct config_diags d = { 0 };
	const char *path = f->config;
	struct stat st;
	int err;

	err = config_init_default(c);
	if (err)
		return err;
	if (!path && !config_in_checkout() && stat(CONFIG_DEFAULT_PATH, &st) == 0)
		path = CONFIG_DEFAULT_PATH;
	if (path) {
		err = config_load(path, c, &d);
		if (err == -EINVAL) {
			config_print_diags(&d, stderr);
			log_error("%zu error%s in %s", d.n, d.n == 1 ? "" : "s", path);
		} else if (err) {
			log_error("cannot read the configuration '%s': %s", path, strerror(-err));
		}
		config_diags_free(&d);
		if (err)
			return err;
	}
	if (f->state_dir && replace_str(&c->state_dir, f->state_dir))
		return -ENOMEM;
	if (f->n_outputs && !c->outputs_set)
		c->n_outputs = 0; /* flags name the outputs: the defaults do not apply */
	for (size_t i = 0; i < f->n_outputs; i++) {
		err = config_add_output_path(c, f->outputs[i]);
		if (err)
			return err;
	}
	if (!c->outputs_set && !f->n_outputs) {
		err = config_default_outputs(c);
		if (err)
			return err;
	}
	if (f->n_rules) {
		for (size_t i = 0; i < c->rules.n_paths; i++)
			free(c->rules.paths[i]);
		c->rules.n_paths = 0;
		for (size_t i = 0; i < f->n_rules; i++) {
			c->rules.paths[i] = strdup(f->rules[i]);
			if (!c->rules.paths[i])
				return -ENOMEM;
			c->rules.n_paths++;
		}
		c->rules.paths_set = true;
	}
	if (f->prices && replace_str(&c->capture.prices, f->prices))
		return -ENOMEM;
	if (f->return_probes && replace_str(&c->capture.return_probes, f->return_probes))
		return -ENOMEM;
	if (f->redact_key && replace_str(&c->redaction.key_file, f->redact_key))
		return -ENOMEM;
	if (f->call_cap)
		c->capture.call_cap = f->call_cap;
	if (f->ringbuf)
		c->capture.ringbuf_bytes = f->ringbuf;
	if (f->ports_set) {
		memcpy(c->capture.ports, f->ports, sizeof(f->ports));
		c->capture.n_ports = f->n_ports;
	}
	c->capture.ports_only |= f->ports_only;
	c->capture.sockets &= !f->no_sockets;
	c->capture.all_http |= f->all_http;
	c->capture.hold &= !f->no_hold;
	c->capture.content &= !f->no_content;
	c->redaction.enabled &= !f->no_redact;
	return 0;
}

/* Loads the rule set of the configured paths; errors as file:line:col. */
static int load_rules(struct agent *a, struct rules **out)
{
	struct rules_diags d = { 0 };
	char *defaults[4];
	const char *const *paths = (const char *const *)a->cfg.rules.paths;
	size_t n = a->cfg.rules.n_paths;
	int err;

	if (!a->cfg.rules.paths_set) {
		n = rules_default_paths(defaults, 4);
		paths = (const char *const *)defaults;
	}
	*out = NULL;
	if (n == 0)
		return 0; /* no rules at all is no error: the ready line says so */
	err = rules_load(paths, n, out, &d);
	for (size_t i = 0; i < d.n; i++) {
		if (d.v[i].line)
			log_error("%s:%u:%u: %s", d.v[i].file, d.v[i].line, d.v[i].col, d.v[i].msg);
		else
			log_error("%s: %s", d.v[i].file, d.v[i].msg);
	}
	if (err == -ENOMEM)
		log_error("out of memory loading the rules");
	rules_diags_free(&d);
	if (!a->cfg.rules.paths_set)
		for (size_t i = 0; i < n; i++)
			free(defaults[i]);
	return err;
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
		rc = -errno;
		log_error("cannot open price table '%s': %s", path, strerror(-rc));
		return rc;
	}
	text = malloc(16 << 20);
	len = text ? fread(text, 1, 16 << 20, f) : 0;
	fclose(f);
	if (!text)
		return -ENOMEM;
	rc = price_table_load(t, text, len, err, sizeof(err));
	free(text);
	if (rc)
		log_error("%s: %s", path, err);
	return rc;
}

static char *state_path(const struct config *c, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", c->state_dir, name) < 0)
		return NULL;
	return p;
}

/* The redactor with its key (created at first start); logs why not. */
static int open_redactor(const struct config *c, struct redactor **out)
{
	uint8_t key[REDACT_KEY_LEN];
	char *path =
		c->redaction.key_file ? strdup(c->redaction.key_file) : state_path(c, "redact.key");
	int err;

	if (!path)
		return -ENOMEM;
	err = redact_key_load(path, key);
	if (err) {
		log_error("cannot use the redaction key '%s': %s%s", path, strerror(-err),
			  err == -EPERM ? " (it must be owned by this user, mode 0600)" : "");
		free(path);
		return err;
	}
	free(path);
	err = redact_new(&c->redaction.cfg, key, out);
	explicit_bzero(key, sizeof(key));
	if (err)
		log_error("cannot initialise redaction: %s", strerror(-err));
	return err;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Hashes one rules path: a file, or a directory's *.yaml in lexical order
 * (the order the loader uses), each as its name then its bytes. */
static void hash_rules_path(EVP_MD_CTX *h, const char *path)
{
	struct stat st;
	char buf[65536];

	if (stat(path, &st))
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		char *names[1024];
		size_t n = 0;
		struct dirent *e;

		if (!d)
			return;
		while ((e = readdir(d)) && n < 1024) {
			size_t l = strlen(e->d_name);

			if (l > 5 && strcmp(e->d_name + l - 5, ".yaml") == 0)
				names[n] = strdup(e->d_name), n += names[n] != NULL;
		}
		closedir(d);
		qsort(names, n, sizeof(names[0]), name_cmp);
		for (size_t i = 0; i < n; i++) {
			char full[PATH_MAX];

			snprintf(full, sizeof(full), "%s/%s", path, names[i]);
			hash_rules_path(h, full);
			free(names[i]);
		}
		return;
	}
	EVP_DigestUpdate(h, path, strlen(path) + 1);
	FILE *f = fopen(path, "re");
	size_t r;

	if (!f)
		return;
	while ((r = fread(buf, 1, sizeof(buf), f)) > 0)
		EVP_DigestUpdate(h, buf, r);
	fclose(f);
}

static void ruleset_sha256(const struct agent *a, uint8_t out[32])
{
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	char *defaults[4];
	size_t n = a->cfg.rules.n_paths;
	char *const *paths = a->cfg.rules.paths;
	unsigned int len = 32;

	memset(out, 0, 32);
	if (!h)
		return;
	if (!a->cfg.rules.paths_set) {
		n = rules_default_paths(defaults, 4);
		paths = defaults;
	}
	EVP_DigestInit_ex(h, EVP_sha256(), NULL);
	for (size_t i = 0; i < n; i++)
		hash_rules_path(h, paths[i]);
	EVP_DigestFinal_ex(h, out, &len);
	EVP_MD_CTX_free(h);
	if (!a->cfg.rules.paths_set)
		for (size_t i = 0; i < n; i++)
			free(defaults[i]);
}

/* ---- the record path ---- */

/* A sealed line from the chain goes to every output. */
static int write_line(void *ctx, const char *line, size_t len, uint64_t seq, bool urgent)
{
	struct agent *a = ctx;

	return outputs_write(a->outs, line, len, seq, urgent);
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
	if (audit_chain_record(a->chain, rec)) {
		a->record_errors++;
		return;
	}
	agent_count_record(a, rec);
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
	json_t *o = agent_stats_json(a);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	/* not log_info: the line is longer than a log line may be */
	if (s)
		fprintf(stderr, "llmtap: stats %s\n", s);
	free(s);
	json_decref(o);
}

/* ---- losses become gap records ---- */

/* Kernel ring-buffer drops and truncations since the last look. */
static void report_kernel_losses(struct agent *a, uint64_t *last_drops, uint64_t *last_trunc)
{
	struct lt_probe_stats ps[LT_PROBE_MAX];
	uint64_t cnt[LT_CNT_MAX], drops = 0, trunc = 0;

	if (capture_read_stats(a->cap, ps, cnt))
		return;
	for (int i = 0; i < LT_PROBE_MAX; i++) {
		drops += ps[i].ringbuf_drops;
		trunc += ps[i].truncated_bytes;
	}
	drops += cnt[LT_CNT_CONTROL_DROPS];
	if (drops > *last_drops)
		audit_chain_gap(a->chain, AUDIT_GAP_RINGBUF,
				json_pack("{sI sI}", "events", (json_int_t)(drops - *last_drops),
					  "events_total", (json_int_t)drops));
	if (trunc > *last_trunc)
		audit_chain_gap(a->chain, AUDIT_GAP_TRUNCATION,
				json_pack("{sI sI}", "bytes", (json_int_t)(trunc - *last_trunc),
					  "bytes_total", (json_int_t)trunc));
	*last_drops = drops;
	*last_trunc = trunc;
}

static void report_output_losses(struct agent *a)
{
	struct output_loss v[16];
	size_t n = outputs_take_losses(a->outs, v, 16);

	for (size_t i = 0; i < n; i++)
		audit_chain_gap(a->chain, AUDIT_GAP_SPOOL,
				json_pack("{ss sI sI sI ss}", "output", v[i].output, "first_seq",
					  (json_int_t)v[i].first_seq, "last_seq",
					  (json_int_t)v[i].last_seq, "count",
					  (json_int_t)v[i].count, "cause", v[i].reason));
}

/* ---- SIGHUP ---- */

/*
 * Reloads the configuration file and the rules: both are loaded and
 * compiled completely before anything changes; on any error the running
 * set stays.  What a reload can change: rules, redaction modes, content
 * capture, the HTTP filter.  Outputs, ports and the state directory take a
 * restart (the log says so).
 */
static void reload(struct agent *a, const struct run_flags *f)
{
	struct config nc;
	struct rules *r = NULL;
	struct redactor *red = NULL;
	struct agent tmp;

	sd_notify_reloading();
	/* files reopened (rotated away by an operator), token files re-read */
	outputs_reopen(a->outs);
	if (load_config(f, &nc)) {
		a->config_reload_failures++;
		log_error("configuration not reloaded: the previous one stays active");
		config_free(&nc);
		return;
	}
	memset(&tmp, 0, sizeof(tmp));
	tmp.cfg = nc;
	if (load_rules(&tmp, &r)) {
		a->rules_reload_failures++;
		log_error("rules not reloaded: the previous rules stay active");
		config_free(&nc);
		return;
	}
	if (nc.redaction.enabled && open_redactor(&nc, &red)) {
		a->config_reload_failures++;
		rules_free(r);
		config_free(&nc);
		return;
	}
	if (nc.n_outputs != a->cfg.n_outputs || strcmp(nc.state_dir, a->cfg.state_dir) ||
	    nc.capture.n_ports != a->cfg.capture.n_ports)
		log_warn("outputs, state_dir and capture ports change at the next restart");
	{
		uint8_t rs[32];

		ruleset_sha256(&tmp, rs);
		audit_chain_config_change(a->chain, nc.sha256, rs);
		a->config_reloads++;
	}
	rules_free(a->rules);
	a->rules = r;
	a->stream.rules = r;
	a->rules_reloads++;
	if (!nc.redaction.enabled && a->redactor)
		log_warn("*** redaction turned off by the configuration: records are written "
			 "UNREDACTED ***");
	redact_free(a->redactor);
	a->redactor = red;
	a->stream.redactor = red;
	a->stream.record.content = nc.capture.content;
	a->stream.classifier.match_all = nc.capture.all_http;
	/* what stays as started (outputs, state dir, ports) keeps its old values */
	for (size_t i = 0; i < CONFIG_MAX_RULE_PATHS; i++) {
		char *t = a->cfg.rules.paths[i];

		a->cfg.rules.paths[i] = nc.rules.paths[i];
		nc.rules.paths[i] = t;
	}
	{
		size_t tn = a->cfg.rules.n_paths;
		bool ts = a->cfg.rules.paths_set;

		a->cfg.rules.n_paths = nc.rules.n_paths;
		a->cfg.rules.paths_set = nc.rules.paths_set;
		nc.rules.n_paths = tn;
		nc.rules.paths_set = ts;
	}
	a->cfg.redaction.cfg = nc.redaction.cfg;
	a->cfg.redaction.enabled = nc.redaction.enabled;
	a->cfg.capture.content = nc.capture.content;
	a->cfg.capture.all_http = nc.capture.all_http;
	memcpy(a->cfg.sha256, nc.sha256, 32);
	config_free(&nc);
	log_info("rules reloaded: %zu rules (%zu enabled) from %zu files", rules_count(r),
		 rules_count_enabled(r), rules_n_files(r));
}

/* ---- main loop ---- */

/* The running kernel as major * 1000 + minor (6.18 -> 6018); 0 if unknown. */
static unsigned kernel_version(void)
{
	struct utsname u;
	unsigned major, minor;

	if (uname(&u) || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return 0;
	return major * 1000 + minor;
}

/*
 * auto: uretprobes from kernel 6.14 on, RET-instruction probes before.
 * Since 6.11 a uretprobe returns through the uretprobe syscall rather than
 * a trap, which makes it the cheaper of the two (bench/tls_overhead.py:
 * 64 B round trip 107 -> ~75 us, both ends traced); 6.14 lets that syscall
 * through seccomp filters (earlier, a filtered process calling a probed
 * function was killed).  Go code never gets uretprobes (attach.c).
 */
static enum capture_ret_mode ret_mode(const char *s)
{
	if (strcmp(s, "uretprobe") == 0)
		return CAPTURE_RET_URETPROBE;
	if (strcmp(s, "ret-insn") == 0)
		return CAPTURE_RET_INSN;
	return kernel_version() >= 6014 ? CAPTURE_RET_URETPROBE : CAPTURE_RET_AUTO;
}

static int open_chain(struct agent *a)
{
	struct audit_chain_opts o = { 0 };
	char msg[256] = "";
	const char *journals[CONFIG_MAX_OUTPUTS * 2];
	size_t n;
	int err;

	o.state_dir = a->cfg.state_dir;
	o.origin = a->cfg.audit.origin;
	o.checkpoint_records = a->cfg.audit.checkpoint_records;
	o.checkpoint_interval_ns = a->cfg.audit.checkpoint_interval_s * NS;
	o.heartbeat_interval_ns = a->cfg.audit.heartbeat_interval_s * NS;
	o.health_interval_ns = a->cfg.audit.health_interval_s * NS;
	memcpy(o.config_sha256, a->cfg.sha256, 32);
	ruleset_sha256(a, o.ruleset_sha256);
	o.write = write_line;
	o.write_ctx = a;
	o.err = msg;
	o.err_size = sizeof(msg);
	err = audit_chain_open(&o, &a->chain);
	if (err) {
		log_error("cannot open the audit chain in '%s': %s", a->cfg.state_dir,
			  msg[0] ? msg : strerror(-err));
		return err;
	}
	/* a crash may have left sealed lines past the persisted head */
	n = outputs_journal_files(a->outs, journals, sizeof(journals) / sizeof(journals[0]));
	err = audit_chain_recover(a->chain, journals, n);
	if (err < 0)
		log_warn("chain recovery from the outputs failed: %s", strerror(-err));
	else if (err > 0)
		log_warn("%d records written after the last saved chain head were adopted", err);
	return 0;
}

/* The state directory, ours alone (0700), locked for this process: two
 * agents on one chain would fork it. */
static int ensure_state_dir(struct agent *a)
{
	const char *dir = a->cfg.state_dir;
	char *lock;
	struct stat st;
	int fd;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	if (stat(dir, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_uid != geteuid() || (st.st_mode & 077)) {
		/* keys, chain head and spools live here: ours, nobody else's */
		if (st.st_uid != geteuid())
			return -EPERM;
		if (chmod(dir, st.st_mode & 0700))
			return -errno;
	}
	lock = state_path(&a->cfg, "lock");
	if (!lock)
		return -ENOMEM;
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	free(lock);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int err = errno == EWOULDBLOCK ? -EBUSY : -errno;

		close(fd);
		return err;
	}
	a->lock_fd = fd;
	return 0;
}

int cmd_run(int argc, char **argv)
{
	struct run_flags f = { .state_path = ATTACH_STATE_DEFAULT_PATH };
	struct capture_opts copts = { 0 };
	struct stream_opts sopts = { 0 };
	struct stream_hooks hooks;
	struct classifier cl;
	struct price_table prices = { 0 };
	struct agent *a;
	char err_msg[256];
	uint64_t last_tick = 0, last_sync = 0, last_state, last_metrics = 0, last_loss = 0;
	uint64_t last_drops = 0, last_trunc = 0, last_wd = 0;
	uint64_t wd_ns = sd_notify_watchdog_usec() * 1000;
	int err, status = 0;
	bool stream_up = false;

	parse_flags(argc, argv, &f);
	a = calloc(1, sizeof(*a));
	if (!a)
		return EXIT_RUNTIME;
	a->lock_fd = -1;
	if (load_config(&f, &a->cfg)) {
		status = EXIT_USAGE;
		goto cleanup;
	}
	classifier_default(&cl);
	cl.match_all = a->cfg.capture.all_http;
	copts.call_cap = (uint32_t)a->cfg.capture.call_cap;
	copts.ringbuf_bytes = (uint32_t)a->cfg.capture.ringbuf_bytes;
	copts.ret_mode = ret_mode(a->cfg.capture.return_probes);
	copts.no_hold = !a->cfg.capture.hold;
	copts.no_sockets = !a->cfg.capture.sockets;
	copts.no_sock_classify = a->cfg.capture.ports_only;
	memcpy(copts.sock_ports, a->cfg.capture.ports,
	       a->cfg.capture.n_ports * sizeof(copts.sock_ports[0]));
	copts.n_sock_ports = a->cfg.capture.n_ports;

	if (load_prices(a->cfg.capture.prices, &prices)) {
		status = EXIT_USAGE;
		goto cleanup;
	}
	if (load_rules(a, &a->rules)) {
		status = EXIT_USAGE;
		goto cleanup;
	}

	/* records are sensitive: nothing we create is readable by others
	 * (file outputs set their own mode, 0640 at most) */
	umask(077);
	clock_sync();

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR1, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	/* one perf event fd per uprobe: many libraries need many fds */
	setrlimit(RLIMIT_NOFILE, &(struct rlimit){ 65536, 65536 });

	/* privileges first: their exit status comes before anything else */
	err = capture_open(&copts, on_event, a, &a->cap);
	if (err) {
		status = err == -EPERM ? EXIT_NOPERM : EXIT_RUNTIME;
		goto cleanup;
	}
	err = ensure_state_dir(a);
	if (err) {
		log_error("cannot use the state directory '%s': %s", a->cfg.state_dir,
			  err == -EBUSY ? "another llmtap is running with it" : strerror(-err));
		status = EXIT_RUNTIME;
		goto cleanup;
	}
	err = outputs_open(&a->cfg, &a->outs, err_msg, sizeof(err_msg));
	if (err) {
		log_error("cannot open the outputs: %s", err_msg);
		status = EXIT_RUNTIME;
		goto cleanup;
	}
	if (open_chain(a)) {
		status = EXIT_RUNTIME;
		goto cleanup;
	}
	/* RLIMIT_NOFILE is raised and the BPF maps exist: CAP_SYS_RESOURCE has
	 * done its work.  The others stay: libraries and processes keep
	 * appearing, and each needs attaching (BPF, PERFMON, SYS_ADMIN), a hold
	 * (SYS_PTRACE) and reading (DAC_READ_SEARCH). */
	err = caps_drop(CAPS_BIT(CAP_SYS_RESOURCE));
	if (err)
		log_warn("cannot drop CAP_SYS_RESOURCE: %s", strerror(-err));
	/* before the first poll: no record exists yet, every one is redacted */
	if (a->cfg.redaction.enabled && open_redactor(&a->cfg, &a->redactor)) {
		status = EXIT_RUNTIME;
		goto cleanup;
	}
	if (!a->cfg.redaction.enabled)
		log_warn("*** %s: records are written UNREDACTED: prompts, responses, secrets and "
			 "personal data in clear. For debugging only. ***",
			 f.no_redact ? "--no-redact" : "redaction.enabled is false");

	sopts.prices = &prices;
	sopts.rules = a->rules;
	sopts.redactor = a->redactor;
	sopts.no_content = !a->cfg.capture.content;
	sopts.max_body_bytes = copts.call_cap;
	sopts.classifier = &cl;
	hooks.emit = emit_record;
	hooks.ignore = ignore_conn;
	hooks.ctx = a;
	err = stream_init(&a->stream, &sopts, &hooks);
	if (err) {
		log_error("cannot initialise: %s", strerror(-err));
		status = EXIT_RUNTIME;
		goto cleanup;
	}
	stream_up = true;

	if (a->cfg.metrics.listen && a->cfg.metrics.listen[0]) {
		err = metrics_open(a->cfg.metrics.listen, &a->metrics);
		if (err) {
			log_error("cannot serve /metrics on '%s': %s", a->cfg.metrics.listen,
				  strerror(-err));
			status = EXIT_RUNTIME;
			goto cleanup;
		}
	}
	err = audit_chain_start(a->chain);
	if (err) {
		log_error("cannot write the agent_start record: %s", strerror(-err));
		status = EXIT_RUNTIME;
		goto cleanup;
	}
	outputs_flush(a->outs);
	audit_chain_sync(a->chain);
	log_info("ready: %zu TLS libraries attached, %zu output%s, %zu detection rules",
		 capture_n_targets(a->cap), a->cfg.n_outputs, a->cfg.n_outputs == 1 ? "" : "s",
		 rules_count_enabled(a->rules));
	sd_notify_ready();
	/* processes older than the agent: named now, while they run; later
	 * ones by their exec events, queued meanwhile */
	proc_cache_prefill(&a->stream.procs);
	err = attach_state_write(f.state_path);
	if (err)
		log_warn("cannot write the run state '%s': %s", f.state_path, strerror(-err));
	last_state = clock_mono_now();
	a->start_mono_ns = last_state;

	while (!stop) {
		uint64_t now;

		err = capture_poll(a->cap, 100);
		if (err < 0) {
			log_error("ring buffer: %s", strerror(-err));
			status = EXIT_RUNTIME;
			break;
		}
		if (want_stats) {
			want_stats = 0;
			print_stats(a);
		}
		if (want_reload) {
			want_reload = 0;
			reload(a, &f);
			sd_notify_ready(); /* also after a failed reload: the old set runs */
		}
		now = clock_mono_now();
		stream_expire_joins(&a->stream, now);
		if (now - last_tick >= NS) {
			stream_tick(&a->stream, now, IDLE_NS);
			last_tick = now;
		}
		if (now - last_loss >= NS) {
			report_kernel_losses(a, &last_drops, &last_trunc);
			report_output_losses(a);
			last_loss = now;
		}
		{
			json_t *health = NULL;

			if (audit_chain_health_due(a->chain, now))
				health = agent_stats_json(a);
			audit_chain_tick(a->chain, now, health);
			json_decref(health);
		}
		/* records of this pass: on disk (per fsync policy), then the head */
		outputs_flush(a->outs);
		audit_chain_sync(a->chain);
		if (now - last_sync >= 60 * NS) {
			clock_sync();
			last_sync = now;
		}
		if (a->metrics && now - last_metrics >= NS) {
			char *text;
			size_t len;

			if (agent_metrics_text(a, &text, &len) == 0) {
				metrics_publish(a->metrics, text, len);
				free(text);
			}
			last_metrics = now;
		}
		/* the watchdog is fed only while the pipeline moves: this loop
		 * consumes the ring buffer (a wedged consumer never gets here)
		 * and every shipper thread has looped recently */
		if (wd_ns && now - last_wd >= wd_ns / 2 && outputs_healthy(a->outs)) {
			sd_notify_watchdog();
			last_wd = now;
		}
		/* the run state: on change at most once a second, and every 10 s
		 * so that a file replaced by another agent's comes back */
		if ((now - last_state >= NS && attach_state_dirty()) ||
		    now - last_state >= 10 * NS) {
			attach_state_write(f.state_path);
			last_state = now;
		}
	}
	sd_notify_stopping();
	log_info("stopping");
	/* drain what the kernel already produced before tearing down */
	capture_poll(a->cap, 0);
	print_stats(a);
	attach_state_remove(f.state_path);

cleanup:
	if (stream_up)
		stream_destroy(&a->stream); /* flushes pending exchanges as incomplete */
	if (a->chain) {
		report_output_losses(a);
		/* agent_stop, final checkpoint, head */
		audit_chain_stop(a->chain, stop ? "signal" : "error");
	}
	if (a->outs) {
		outputs_flush(a->outs);
		outputs_close(a->outs); /* everything in flight is in the spools */
	}
	if (a->chain)
		audit_chain_free(a->chain);
	metrics_close(a->metrics);
	capture_close(a->cap);
	price_table_free(&prices);
	redact_free(a->redactor); /* after stream_destroy: its last records are redacted */
	rules_free(a->rules);
	config_free(&a->cfg);
	if (a->lock_fd >= 0)
		close(a->lock_fd);
	free(a);
	return status;
}
