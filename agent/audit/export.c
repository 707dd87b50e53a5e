// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `llmtap export`: an evidence bundle for auditors (docs/audit.md).  Two
 * passes over the input: the first finds the seq range to copy (from the
 * checkpoint at or before the first record of the period to the first
 * checkpoint after its last, so the bundle verifies on its own), the
 * second copies those lines byte for byte and summarises the period.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/chain.h"
#include "audit/cli.h"
#include "audit/merkle.h"
#include "audit/verify.h"
#include "util/clock.h"

#define SET_MAX 10000

struct scan {
	uint64_t since, until;
	uint64_t last_cp, first_in, last_in, cp_before, cp_after;
	bool have_in;
};

struct copy {
	struct scan *s;
	uint64_t from, to;
	FILE *records, *checkpoints;
	uint64_t copied, in_period, input_tokens, output_tokens, first_in_time, last_in_time;
	json_t *hosts, *models, *providers, *rules, *gaps, *log_vkey;
	int err;
};

static const char *str_at(const json_t *o, const char *k)
{
	const json_t *j = json_object_get(o, k);

	return json_is_string(j) ? json_string_value(j) : NULL;
}

static bool rec_is(const json_t *rec, const char *ev)
{
	const char *e = str_at(rec, "event.name");

	return e && strcmp(e, ev) == 0;
}

/* parses a line into (seq, in period) */
static json_t *parse(const char *line, size_t len, const struct scan *s, uint64_t *seq,
		     bool *in_period)
{
	json_t *rec = json_loadb(line, len, 0, NULL);
	const json_t *js = json_object_get(rec, "seq");
	const char *t = str_at(rec, "time");
	uint64_t ns;

	if (!rec || !json_is_integer(js) || json_integer_value(js) < 1) {
		json_decref(rec);
		return NULL;
	}
	*seq = (uint64_t)json_integer_value(js);
	*in_period = t && audit_parse_time(t, &ns) == 0 && ns >= s->since && ns <= s->until;
	return rec;
}

static int scan_line(void *ctx, const char *line, size_t len, bool torn, bool too_long)
{
	struct scan *s = ctx;
	uint64_t seq;
	bool in;
	json_t *rec = too_long ? NULL : parse(line, len, s, &seq, &in);

	if (!rec)
		return 0;
	if (in) {
		if (!s->have_in) {
			s->first_in = seq;
			s->cp_before = s->last_cp;
		}
		s->have_in = true;
		if (seq > s->last_in) {
			s->last_in = seq;
			s->cp_after = 0;
		}
	}
	if (rec_is(rec, AUDIT_EV_CHECKPOINT)) {
		s->last_cp = seq;
		if (s->have_in && seq > s->last_in && !s->cp_after)
			s->cp_after = seq;
	}
	json_decref(rec);
	return 0;
}

static void count(json_t *set, const char *k, json_int_t n)
{
	json_t *c;

	if (!k || !k[0])
		return;
	c = json_object_get(set, k);
	if (c)
		json_integer_set(c, json_integer_value(c) + n);
	else if (json_object_size(set) < SET_MAX)
		json_object_set_new(set, k, json_integer(n));
}

static void summarise(struct copy *c, const json_t *rec, uint64_t seq)
{
	const json_t *a = json_object_get(rec, "attributes"), *al = json_object_get(rec, "alerts");
	const json_t *it, *tok;
	const char *t = str_at(rec, "time");
	uint64_t ns;
	size_t i;

	c->in_period++;
	if (t && audit_parse_time(t, &ns) == 0) {
		if (!c->first_in_time || ns < c->first_in_time)
			c->first_in_time = ns;
		if (ns > c->last_in_time)
			c->last_in_time = ns;
	}
	count(c->hosts, str_at(a, "host.name"), 1);
	count(c->providers, str_at(a, "gen_ai.provider.name"), 1);
	count(c->models, str_at(a, "gen_ai.response.model") ?: str_at(a, "gen_ai.request.model"),
	      1);
	tok = json_object_get(a, "gen_ai.usage.input_tokens");
	if (json_is_integer(tok) && json_integer_value(tok) > 0)
		c->input_tokens += (uint64_t)json_integer_value(tok);
	tok = json_object_get(a, "gen_ai.usage.output_tokens");
	if (json_is_integer(tok) && json_integer_value(tok) > 0)
		c->output_tokens += (uint64_t)json_integer_value(tok);
	json_array_foreach(al, i, it)
		count(c->rules, str_at(it, "rule"), 1);
	if (rec_is(rec, AUDIT_EV_GAP) && json_array_size(c->gaps) < SET_MAX)
		json_array_append_new(c->gaps,
				      json_pack("{s:I s:s? s:s? s:O?}", "seq", (json_int_t)seq,
						"time", t, "reason", str_at(a, "llmtap.gap.reason"),
						"detail", json_object_get(a, "llmtap.gap.detail")));
}

static int copy_line(void *ctx, const char *line, size_t len, bool torn, bool too_long)
{
	struct copy *c = ctx;
	uint64_t seq;
	bool in;
	json_t *rec = too_long || torn ? NULL : parse(line, len, c->s, &seq, &in);

	if (!rec)
		return 0;
	if (rec_is(rec, AUDIT_EV_START) && !c->log_vkey)
		c->log_vkey = json_incref(
			json_object_get(json_object_get(rec, "attributes"), "llmtap.key.vkey"));
	if (seq >= c->from && seq <= c->to) {
		if (fwrite(line, 1, len, c->records) != len || fputc('\n', c->records) == EOF)
			c->err = -EIO;
		c->copied++;
		if (rec_is(rec, AUDIT_EV_CHECKPOINT) &&
		    (fwrite(line, 1, len, c->checkpoints) != len ||
		     fputc('\n', c->checkpoints) == EOF))
			c->err = -EIO;
		if (in)
			summarise(c, rec, seq);
	}
	json_decref(rec);
	return c->err;
}

static void rfc3339(uint64_t ns, char *out, size_t size)
{
	clock_format_rfc3339(ns, out, size);
}

static int write_text(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;
	int err = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wxe");
	if (!f)
		return -errno;
	if (fputs(text, f) == EOF)
		err = -EIO;
	if (fclose(f) != 0 && !err)
		err = -errno;
	return err;
}

static void md_table(FILE *f, const char *title, const char *col, json_t *set)
{
	const char *k;
	json_t *v;

	fprintf(f, "\n## %s\n\n", title);
	if (!json_object_size(set)) {
		fprintf(f, "none\n");
		return;
	}
	fprintf(f, "| %s | records |\n|---|---|\n", col);
	json_object_foreach(set, k, v)
		fprintf(f, "| %s | %lld |\n", k, (long long)json_integer_value(v));
}

static int write_summary(const char *dir, const struct copy *c, const json_t *report,
			 const char *since, const char *until)
{
	char path[PATH_MAX], t1[40], t2[40];
	const json_t *fb = json_object_get(report, "first_break");
	size_t i;
	json_t *g;
	FILE *f;

	snprintf(path, sizeof(path), "%s/summary.md", dir);
	f = fopen(path, "wxe");
	if (!f)
		return -errno;
	fprintf(f, "# llmtap evidence bundle\n\n");
	fprintf(f, "- Period requested: %s to %s\n", since, until);
	if (c->in_period) {
		rfc3339(c->first_in_time, t1, sizeof(t1));
		rfc3339(c->last_in_time, t2, sizeof(t2));
		fprintf(f, "- Records in the period: %llu (first %s, last %s)\n",
			(unsigned long long)c->in_period, t1, t2);
	} else {
		fprintf(f, "- Records in the period: 0\n");
	}
	fprintf(f,
		"- Lines in records.jsonl: %llu (seq %llu..%llu: from the checkpoint before "
		"the period to the one after it, so the chain verifies on its own)\n",
		(unsigned long long)c->copied, (unsigned long long)c->from,
		(unsigned long long)c->to);
	fprintf(f,
		"- Verification: **%s** (llmtap verify exit %lld, %lld checkpoints verified, "
		"key %s)\n",
		str_at(report, "result"),
		(long long)json_integer_value(json_object_get(report, "exit")),
		(long long)json_integer_value(json_object_get(report, "checkpoints_verified")),
		str_at(json_object_get(report, "key"), "source"));
	if (json_is_object(fb))
		fprintf(f, "- First break: seq %lld, %s: %s\n",
			(long long)json_integer_value(json_object_get(fb, "seq")),
			str_at(fb, "kind"), str_at(fb, "message"));
	md_table(f, "Hosts", "host.name", c->hosts);
	md_table(f, "Providers", "gen_ai.provider.name", c->providers);
	md_table(f, "Models", "model", c->models);
	fprintf(f,
		"\n## Tokens\n\n| gen_ai.usage.input_tokens | gen_ai.usage.output_tokens |\n"
		"|---|---|\n| %llu | %llu |\n",
		(unsigned long long)c->input_tokens, (unsigned long long)c->output_tokens);
	md_table(f, "Alerts by rule", "rule", c->rules);
	fprintf(f, "\n## Gaps (declared losses)\n\n");
	if (!json_array_size(c->gaps))
		fprintf(f, "none\n");
	json_array_foreach(c->gaps, i, g) {
		char *d = json_dumps(json_object_get(g, "detail"), JSON_COMPACT | JSON_ENCODE_ANY);

		fprintf(f, "- seq %lld %s: %s %s\n",
			(long long)json_integer_value(json_object_get(g, "seq")),
			str_at(g, "time") ?: "", str_at(g, "reason") ?: "?", d ? d : "");
		free(d);
	}
	return fclose(f) == 0 ? 0 : -errno;
}

static int sha256_hex_file(const char *path, char out[65], uint64_t *bytes)
{
	struct stat st;
	uint8_t h[32];
	int err;

	if (stat(path, &st) != 0)
		return -errno;
	*bytes = (uint64_t)st.st_size;
	err = audit_sha256_file(path, h);
	if (!err)
		merkle_hex(h, 32, out);
	return err;
}

static int write_manifest(const char *dir, const char *since, const char *until,
			  const struct copy *c, char **inputs, int n_inputs)
{
	static const char *const names[] = {
		"records.jsonl", "checkpoints.jsonl", "verify-report.json",
		"summary.md",	 "public-key.vkey",   "signing.pub",
	};
	char path[PATH_MAX], hex[65], now[40];
	json_t *m = json_object(), *files = json_array(), *src = json_array();
	struct timespec ts;
	char *text = NULL;
	int err = -ENOMEM;

	if (!m || !files || !src)
		goto cleanup;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint64_t bytes = 0;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (access(path, F_OK) != 0)
			continue;
		err = sha256_hex_file(path, hex, &bytes);
		if (err)
			goto cleanup;
		json_array_append_new(files, json_pack("{s:s s:s s:I}", "name", names[i], "sha256",
						       hex, "bytes", (json_int_t)bytes));
	}
	for (int i = 0; i < n_inputs; i++)
		json_array_append_new(src, json_string(inputs[i]));
	clock_gettime(CLOCK_REALTIME, &ts);
	rfc3339((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec, now, sizeof(now));
	json_object_set_new(m, "format", json_string("llmtap.evidence/1"));
	json_object_set_new(m, "created", json_string(now));
	json_object_set_new(m, "exporter", json_string("llmtap " LLMTAP_VERSION));
	json_object_set_new(m, "period", json_pack("{s:s s:s}", "since", since, "until", until));
	json_object_set_new(
		m, "seq_range",
		json_pack("{s:I s:I}", "from", (json_int_t)c->from, "to", (json_int_t)c->to));
	json_object_set_new(m, "records_in_period", json_integer((json_int_t)c->in_period));
	json_object_set(m, "source_files", src);
	json_object_set(m, "files", files);
	text = json_dumps(m, JSON_INDENT(2));
	err = text ? write_text(dir, "manifest.json", text) : -ENOMEM;
cleanup:
	free(text);
	json_decref(m);
	json_decref(files);
	json_decref(src);
	return err;
}

static int make_out_dir(const char *dir)
{
	DIR *d;
	struct dirent *e;
	int n = 0;

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n ? -ENOTEMPTY : 0;
}

static void export_usage(FILE *out)
{
	fprintf(out, "usage: llmtap export --since TIME --until TIME --out DIR [--key VKEY|FILE]\n"
		     "                     [--state-dir DIR] FILE...\n"
		     "  TIME: RFC 3339 (2026-01-31T00:00:00Z) or a date (2026-01-31)\n"
		     "  DIR (new or empty) receives records.jsonl, checkpoints.jsonl, "
		     "public-key.vkey,\n"
		     "  signing.pub, verify-report.json, summary.md and manifest.json\n");
}

int audit_export_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "out", required_argument, NULL, 'o' },
		{ "key", required_argument, NULL, 'k' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *since = NULL, *until = NULL, *out = NULL, *key_arg = NULL, *dir_arg = NULL;
	struct audit_verify_opts vo = { 0 };
	struct audit_verifier *v = NULL;
	struct scan s = { 0 };
	struct copy c = { 0 };
	char path[PATH_MAX], vkey[AUDIT_VKEY_LEN] = "", *text = NULL;
	json_t *report = NULL;
	int ch, rc = AUDIT_USAGE, err;

	/* the bundle holds prompts and responses: owner only, whatever the umask */
	umask(077);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "s:u:o:k:d:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			since = optarg;
			break;
		case 'u':
			until = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'k':
			key_arg = optarg;
			break;
		case 'd':
			dir_arg = optarg;
			break;
		case 'h':
			export_usage(stdout);
			return 0;
		default:
			export_usage(stderr);
			return AUDIT_USAGE;
		}
	}
	if (!since || !until || !out || optind >= argc || audit_parse_time(since, &s.since) ||
	    audit_parse_time(until, &s.until) || s.until < s.since) {
		fprintf(stderr, "llmtap export: --since, --until (RFC 3339, since <= until), --out "
				"and at least one FILE are required\n");
		export_usage(stderr);
		return AUDIT_USAGE;
	}
	if (key_arg) {
		err = audit_cli_load_key(key_arg, &vo.key, &vo.key_name_from_log);
		if (err) {
			fprintf(stderr, "llmtap export: --key '%s': %s\n", key_arg,
				err == -EINVAL ? "not a verifier key or PEM public key" :
						 strerror(-err));
			return AUDIT_USAGE;
		}
	}
	for (int i = optind; i < argc; i++) {
		err = audit_read_lines(argv[i], AUDIT_VERIFY_LINE_MAX, scan_line, &s);
		if (err) {
			fprintf(stderr, "llmtap export: %s: %s\n", argv[i], strerror(-err));
			goto cleanup;
		}
	}
	if (!s.have_in) {
		fprintf(stderr, "llmtap export: no record between %s and %s\n", since, until);
		rc = 1;
		goto cleanup;
	}
	err = make_out_dir(out);
	if (err) {
		fprintf(stderr, "llmtap export: %s: %s\n", out, strerror(-err));
		goto cleanup;
	}
	c.s = &s;
	c.from = s.cp_before ? s.cp_before : 1;
	c.to = s.cp_after ? s.cp_after : UINT64_MAX;
	c.hosts = json_object();
	c.models = json_object();
	c.providers = json_object();
	c.rules = json_object();
	c.gaps = json_array();
	snprintf(path, sizeof(path), "%s/records.jsonl", out);
	c.records = fopen(path, "wxe");
	snprintf(path, sizeof(path), "%s/checkpoints.jsonl", out);
	c.checkpoints = fopen(path, "wxe");
	rc = 1;
	if (!c.records || !c.checkpoints || !c.hosts || !c.models || !c.providers || !c.rules ||
	    !c.gaps) {
		fprintf(stderr, "llmtap export: %s: %s\n", out, strerror(errno));
		goto cleanup;
	}
	for (int i = optind; i < argc && !c.err; i++)
		c.err = audit_read_lines(argv[i], AUDIT_VERIFY_LINE_MAX, copy_line, &c);
	if (fclose(c.records) != 0 && !c.err)
		c.err = -errno;
	if (fclose(c.checkpoints) != 0 && !c.err)
		c.err = -errno;
	c.records = c.checkpoints = NULL;
	if (c.err) {
		fprintf(stderr, "llmtap export: writing %s: %s\n", out, strerror(-c.err));
		goto cleanup;
	}
	if (c.to == UINT64_MAX)
		c.to = s.last_cp > s.last_in ? s.last_cp : s.last_in;

	/* the public key: the trusted one, else the state dir's, else the log's */
	if (vo.key) {
		audit_key_vkey(vo.key, vkey, sizeof(vkey));
	} else {
		struct audit_key *k = NULL;

		snprintf(path, sizeof(path), "%s/%s", audit_cli_state_dir(dir_arg), AUDIT_PUB_FILE);
		if (json_is_string(c.log_vkey) &&
		    audit_key_from_vkey(json_string_value(c.log_vkey), &k) == 0) {
			audit_key_vkey(k, vkey, sizeof(vkey));
			audit_key_free(k);
		}
	}
	if (vo.key && !vo.key_name_from_log) {
		char *pem = audit_key_pub_pem(vo.key);

		if (pem)
			write_text(out, AUDIT_PUB_FILE, pem);
		free(pem);
	} else if (key_arg) {
		FILE *f = fopen(key_arg, "re");
		char buf[4096];
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

		if (f)
			fclose(f);
		buf[n] = '\0';
		if (n)
			write_text(out, AUDIT_PUB_FILE, buf);
	}
	if (vkey[0]) {
		char line[AUDIT_VKEY_LEN + 2];

		snprintf(line, sizeof(line), "%s\n", vkey);
		write_text(out, "public-key.vkey", line);
	}

	/* the bundle verified on its own */
	if (audit_verifier_new(&vo, &v))
		goto cleanup;
	snprintf(path, sizeof(path), "%s/records.jsonl", out);
	err = audit_verifier_file(v, path);
	if (err)
		goto cleanup;
	audit_verifier_finish(v);
	report = audit_verifier_report(v);
	if (!report)
		goto cleanup;
	json_object_set_new(report, "key_independent", json_boolean(vo.key != NULL));
	text = json_dumps(report, JSON_INDENT(2));
	if (!text || write_text(out, "verify-report.json", text) ||
	    write_summary(out, &c, report, since, until) ||
	    write_manifest(out, since, until, &c, argv + optind, argc - optind)) {
		fprintf(stderr, "llmtap export: writing %s failed\n", out);
		goto cleanup;
	}
	printf("%s: %llu records in the period, %llu lines (seq %llu..%llu), verification: %s\n",
	       out, (unsigned long long)c.in_period, (unsigned long long)c.copied,
	       (unsigned long long)c.from, (unsigned long long)c.to, str_at(report, "result"));
	rc = 0;
cleanup:
	if (c.records)
		fclose(c.records);
	if (c.checkpoints)
		fclose(c.checkpoints);
	free(text);
	json_decref(report);
	json_decref(c.hosts);
	json_decref(c.models);
	json_decref(c.providers);
	json_decref(c.rules);
	json_decref(c.gaps);
	json_decref(c.log_vkey);
	audit_verifier_free(v);
	audit_key_free(vo.key);
	return rc;
}
