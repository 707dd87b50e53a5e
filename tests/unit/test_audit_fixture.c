// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "test_audit_fixture.h"

#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/keys.h"
#include "audit/verify.h"

static FILE *fx_log_file;

#define FX_DIRS 64

static char fx_dirs[FX_DIRS][64];
static int fx_ndirs;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	/* a test may leave a directory unwritable: make it removable again */
	if (flag == FTW_DP)
		chmod(path, 0700);
	return remove(path);
}

static void fx_cleanup(void)
{
	for (int i = 0; i < fx_ndirs && i < FX_DIRS; i++)
		if (fx_dirs[i][0])
			nftw(fx_dirs[i], rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fx_tmpdir(void)
{
	char *d;

	if (fx_ndirs == 0)
		atexit(fx_cleanup);
	if (fx_ndirs >= FX_DIRS)
		return NULL;
	d = fx_dirs[fx_ndirs++];
	snprintf(d, 64, "/tmp/llmtap-audit-XXXXXX");
	return mkdtemp(d);
}

static int fx_write_cb(void *ctx, const char *line, size_t len, uint64_t seq, bool urgent)
{
	FILE *f = ctx;

	if (fwrite(line, 1, len, f) != len)
		return -EIO;
	return fflush(f) ? -EIO : 0;
}

void fx_close_log(void)
{
	if (fx_log_file)
		fclose(fx_log_file);
	fx_log_file = NULL;
}

int fx_open(const char *state_dir, const char *log_path, uint64_t cp_records,
	    struct audit_chain **out)
{
	struct audit_chain_opts o = { 0 };
	char err[512] = "";
	int rc;

	fx_close_log();
	fx_log_file = fopen(log_path, "a");
	if (!fx_log_file)
		return -errno;
	o.state_dir = state_dir;
	o.origin = "test.example/llmtap";
	o.checkpoint_records = cp_records;
	o.write = fx_write_cb;
	o.write_ctx = fx_log_file;
	o.err = err;
	o.err_size = sizeof(err);
	memset(o.config_sha256, 0xc0, 32);
	memset(o.ruleset_sha256, 0x5e, 32);
	rc = audit_chain_open(&o, out);
	if (rc)
		fprintf(stderr, "audit_chain_open: %s\n", err);
	return rc;
}

int fx_records(struct audit_chain *c, int first, int n)
{
	for (int i = first; i < first + n; i++) {
		json_t *rec =
			json_pack("{s:s s:s s:s s:{s:i s:s}}", "schema", "llmtap.audit/1", "time",
				  "2026-01-01T00:00:00.000000000Z", "event.name", "test.record",
				  "attributes", "i", i, "gen_ai.request.model", "m1");
		int err = rec ? audit_chain_record(c, rec) : -ENOMEM;

		json_decref(rec);
		if (err)
			return err;
	}
	return 0;
}

int fx_run(const char *state_dir, const char *log_path, int n, bool stop, uint64_t cp_records)
{
	struct audit_chain *c;
	int err = fx_open(state_dir, log_path, cp_records, &c);

	if (err)
		return err;
	err = audit_chain_start(c);
	if (!err)
		err = fx_records(c, 1, n);
	if (!err)
		err = stop ? audit_chain_stop(c, "test") : audit_chain_sync(c);
	audit_chain_free(c);
	fx_close_log();
	return err;
}

int fx_read(const char *path, struct fx_log *l)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	memset(l, 0, sizeof(*l));
	if (!f)
		return -errno;
	while ((n = getline(&line, &cap, f)) >= 0) {
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		l->lines = realloc(l->lines, (l->n + 1) * sizeof(*l->lines));
		l->lines[l->n++] = strdup(line);
	}
	free(line);
	fclose(f);
	return 0;
}

int fx_write(const char *path, const struct fx_log *l)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	for (size_t i = 0; i < l->n; i++)
		fprintf(f, "%s\n", l->lines[i]);
	return fclose(f) ? -errno : 0;
}

void fx_free(struct fx_log *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->lines[i]);
	free(l->lines);
	memset(l, 0, sizeof(*l));
}

static json_t *parse_line(const struct fx_log *l, size_t i)
{
	return json_loads(l->lines[i], 0, NULL);
}

int fx_find_seq(const struct fx_log *l, uint64_t seq)
{
	for (size_t i = 0; i < l->n; i++) {
		json_t *r = parse_line(l, i);
		bool hit = r && (uint64_t)json_integer_value(json_object_get(r, "seq")) == seq;

		json_decref(r);
		if (hit)
			return (int)i;
	}
	return -1;
}

uint64_t fx_checkpoint_after(const struct fx_log *l, uint64_t after)
{
	for (size_t i = 0; i < l->n; i++) {
		json_t *r = parse_line(l, i);
		uint64_t seq = r ? (uint64_t)json_integer_value(json_object_get(r, "seq")) : 0;
		const char *ev = json_string_value(json_object_get(r, "event.name"));
		bool hit = seq > after && ev && strcmp(ev, AUDIT_EV_CHECKPOINT) == 0;

		json_decref(r);
		if (hit)
			return seq;
	}
	return 0;
}

int fx_verify(const char *state_dir, const char *const *paths, size_t n, uint64_t *break_seq,
	      json_t **report)
{
	struct audit_verify_opts o = { 0 };
	struct audit_verifier *v;
	int rc;

	if (audit_key_load(state_dir, "test.example/llmtap", false, &o.key))
		return -1;
	if (audit_verifier_new(&o, &v)) {
		audit_key_free(o.key);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (audit_verifier_file(v, paths[i]))
			rc = -1;
	rc = audit_verifier_finish(v);
	if (break_seq)
		*break_seq = audit_verifier_break_seq(v);
	if (report)
		*report = audit_verifier_report(v);
	if (getenv("FX_VERBOSE"))
		audit_verifier_print(v, stderr);
	audit_verifier_free(v);
	audit_key_free(o.key);
	return rc;
}

const char *fx_first_kind(const json_t *report)
{
	const json_t *fb = json_object_get(report, "first_break");
	const char *k = json_string_value(json_object_get(fb, "kind"));

	return k ? k : "";
}
