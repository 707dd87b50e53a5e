// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * llmtap verify against each kind of tampering, on logs the real chain
 * wrote.  The base log (20 records, a checkpoint every 5, stopped) is:
 * seq 1 agent_start, 2 checkpoint, 3..7 records, 8 checkpoint, 9..13,
 * 14 checkpoint, 15..19, 20 checkpoint, 21..25, 26 checkpoint,
 * 27 agent_stop, 28 checkpoint.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "test.h"
#include "test_audit_fixture.h"
#include "audit/cli.h"
#include "audit/keys.h"
#include "audit/merkle.h"
#include "audit/note.h"
#include "audit/verify.h"

struct base {
	const char *dir;
	char log[256], bad[256];
	struct fx_log l;
};

static void base_make(struct base *b)
{
	b->dir = fx_tmpdir();
	ASSERT_TRUE(b->dir != NULL);
	snprintf(b->log, sizeof(b->log), "%s/audit.jsonl", b->dir);
	snprintf(b->bad, sizeof(b->bad), "%s/tampered.jsonl", b->dir);
	ASSERT_EQ(fx_run(b->dir, b->log, 20, true, 5), 0);
	ASSERT_EQ(fx_read(b->log, &b->l), 0);
	ASSERT_UEQ(b->l.n, 28);
	ASSERT_UEQ(fx_checkpoint_after(&b->l, 8), 14);
}

/* verifies b->bad; checks the exit status, the break seq and the first kind */
static void expect(struct base *b, int want_rc, uint64_t want_seq, const char *want_kind)
{
	const char *paths[1] = { b->bad };
	uint64_t brk = 0;
	json_t *rep = NULL;
	int rc;

	ASSERT_EQ(fx_write(b->bad, &b->l), 0);
	rc = fx_verify(b->dir, paths, 1, &brk, &rep);
	if (rc != want_rc || brk != want_seq || strcmp(fx_first_kind(rep), want_kind) != 0) {
		char *s = json_dumps(json_object_get(rep, "issues"), JSON_INDENT(1));

		fprintf(stderr, "issues: %s\n", s);
		free(s);
	}
	ASSERT_EQ(rc, want_rc);
	ASSERT_UEQ(brk, want_seq);
	ASSERT_STREQ(fx_first_kind(rep), want_kind);
	json_decref(rep);
	fx_free(&b->l);
}

TEST(audit_verify_intact_log)
{
	struct base b;
	const char *paths[1];
	json_t *rep;

	base_make(&b);
	paths[0] = b.log;
	ASSERT_EQ(fx_verify(b.dir, paths, 1, NULL, &rep), AUDIT_INTACT);
	ASSERT_EQ(json_integer_value(json_object_get(rep, "checkpoints_verified")), 6);
	ASSERT_EQ(json_integer_value(json_object_get(rep, "last_seq")), 28);
	ASSERT_EQ(
		json_integer_value(json_object_get(json_object_get(rep, "unsealed_tail"), "count")),
		0);
	ASSERT_STREQ(json_string_value(json_object_get(json_object_get(rep, "key"), "source")),
		     "trusted");
	json_decref(rep);
	fx_free(&b.l);
}

TEST(audit_verify_edited_byte)
{
	struct base b;
	char *p;

	base_make(&b);
	p = strstr(b.l.lines[9], "\"i\":7"); /* seq 10 holds record 7 */
	ASSERT_TRUE(p != NULL);
	p[4] = '9';
	expect(&b, AUDIT_TAMPERED, 10, "modified");
}

TEST(audit_verify_edited_byte_breaking_json)
{
	struct base b;

	base_make(&b);
	b.l.lines[9][0] = '['; /* seq 10 no longer a JSON object */
	expect(&b, AUDIT_TAMPERED, 10, "invalid_line");
}

TEST(audit_verify_deleted_line)
{
	struct base b;

	base_make(&b);
	free(b.l.lines[9]);
	memmove(&b.l.lines[9], &b.l.lines[10], (b.l.n - 10) * sizeof(char *));
	b.l.n--;
	expect(&b, AUDIT_TAMPERED, 10, "missing");
}

TEST(audit_verify_inserted_line)
{
	struct base b;
	uint8_t h[32];
	char hex[65];
	json_t *j;
	char *forged;

	base_make(&b);
	/* a well-formed line claiming seq 11, chained to seq 10: only the next
	 * line (the real seq 11) and the Merkle root can tell */
	j = json_loads(b.l.lines[9], 0, NULL);
	ASSERT_EQ(merkle_sha256(b.l.lines[9], strlen(b.l.lines[9]), h), 0);
	merkle_hex(h, 32, hex);
	json_object_set_new(j, "seq", json_integer(11));
	json_object_set_new(j, "prev", json_string(hex));
	json_object_set_new(json_object_get(j, "attributes"), "i", json_integer(999));
	forged = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	b.l.lines = realloc(b.l.lines, (b.l.n + 1) * sizeof(char *));
	memmove(&b.l.lines[11], &b.l.lines[10], (b.l.n - 10) * sizeof(char *));
	b.l.lines[10] = forged;
	b.l.n++;
	expect(&b, AUDIT_TAMPERED, 11, "inserted");
}

TEST(audit_verify_inserted_garbage_line)
{
	struct base b;

	base_make(&b);
	b.l.lines = realloc(b.l.lines, (b.l.n + 1) * sizeof(char *));
	memmove(&b.l.lines[11], &b.l.lines[10], (b.l.n - 10) * sizeof(char *));
	b.l.lines[10] = strdup("{\"note\":\"not a chained record\"}");
	b.l.n++;
	expect(&b, AUDIT_TAMPERED, 11, "inserted");
}

TEST(audit_verify_swapped_lines)
{
	struct base b;
	char *t;

	base_make(&b);
	t = b.l.lines[9];
	b.l.lines[9] = b.l.lines[10];
	b.l.lines[10] = t;
	expect(&b, AUDIT_TAMPERED, 10, "reordered");
}

/* Replaces the note of the checkpoint line idx with one signed by key k. */
static void resign(struct fx_log *l, int idx, struct audit_key *k, uint64_t size_delta)
{
	json_t *j = json_loads(l->lines[idx], 0, NULL), *a = json_object_get(j, "attributes");
	struct merkle_range r;
	uint8_t root[32];
	char note[NOTE_MAX];
	int n;

	ASSERT_EQ(merkle_range_from_json(json_object_get(a, "llmtap.checkpoint.range"), &r), 0);
	ASSERT_EQ(merkle_range_root(&r, root), 0);
	n = note_sign_checkpoint(k, "test.example/llmtap", r.size + size_delta, root, note,
				 sizeof(note));
	ASSERT_TRUE(n > 0);
	json_object_set_new(a, "llmtap.checkpoint.note", json_string(note));
	free(l->lines[idx]);
	l->lines[idx] = json_dumps(j, JSON_COMPACT);
	json_decref(j);
}

TEST(audit_verify_forged_checkpoint_signature)
{
	struct base b;
	const char *other = fx_tmpdir();
	struct audit_key *k;

	base_make(&b);
	ASSERT_EQ(audit_key_load(other, "test.example/llmtap", true, &k), 0);
	resign(&b.l, 13, k, 0); /* seq 14 */
	audit_key_free(k);
	expect(&b, AUDIT_TAMPERED, 14, "checkpoint_signature");
}

TEST(audit_verify_rechained_history_caught_by_root)
{
	struct base b;
	uint8_t h[32];
	char hex[65], *p;
	json_t *rep;

	base_make(&b);
	/* edit seq 10, then recompute every later prev: the links hold, the
	 * signed roots (no key) do not */
	p = strstr(b.l.lines[9], "\"i\":7");
	ASSERT_TRUE(p != NULL);
	p[4] = '9';
	for (size_t i = 10; i < b.l.n; i++) {
		json_t *j = json_loads(b.l.lines[i], 0, NULL);

		ASSERT_EQ(merkle_sha256(b.l.lines[i - 1], strlen(b.l.lines[i - 1]), h), 0);
		merkle_hex(h, 32, hex);
		json_object_set_new(j, "prev", json_string(hex));
		free(b.l.lines[i]);
		b.l.lines[i] = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(j);
	}
	{
		const char *paths[1] = { b.bad };
		uint64_t brk = 0;
		const json_t *fb;

		ASSERT_EQ(fx_write(b.bad, &b.l), 0);
		ASSERT_EQ(fx_verify(b.dir, paths, 1, &brk, &rep), AUDIT_TAMPERED);
		fb = json_object_get(rep, "first_break");
		ASSERT_STREQ(fx_first_kind(rep), "root_mismatch");
		/* the checkpoint at 14 covers 1..13 = subtrees 1..8, 9..12, 13: the
		 * edit lies in 9..12 */
		ASSERT_UEQ(brk, 9);
		ASSERT_TRUE(strstr(json_string_value(json_object_get(fb, "message")), "9..12"));
		json_decref(rep);
	}
	fx_free(&b.l);
}

TEST(audit_verify_truncated_after_last_checkpoint_is_incomplete)
{
	struct base b;
	const char *paths[1];
	json_t *rep;

	base_make(&b);
	/* drop the final checkpoint: agent_stop (seq 27) is unsealed */
	free(b.l.lines[--b.l.n]);
	expect(&b, AUDIT_INCOMPLETE, 0, "");
	base_make(&b);
	/* cut in the middle of a checkpoint interval (seq 1..23 left) */
	while (b.l.n > 23)
		free(b.l.lines[--b.l.n]);
	ASSERT_EQ(fx_write(b.bad, &b.l), 0);
	paths[0] = b.bad;
	ASSERT_EQ(fx_verify(b.dir, paths, 1, NULL, &rep), AUDIT_INCOMPLETE);
	ASSERT_EQ(
		json_integer_value(json_object_get(json_object_get(rep, "unsealed_tail"), "count")),
		3);
	ASSERT_EQ(json_integer_value(
			  json_object_get(json_object_get(rep, "unsealed_tail"), "from_seq")),
		  21);
	json_decref(rep);
	fx_free(&b.l);
}

TEST(audit_verify_wrong_key_and_log_key)
{
	struct base b;
	const char *other = fx_tmpdir();
	struct audit_verify_opts o = { 0 };
	struct audit_verifier *v;
	json_t *rep;

	base_make(&b);
	ASSERT_EQ(audit_key_load(other, "test.example/llmtap", true, &o.key), 0);
	ASSERT_EQ(audit_verifier_new(&o, &v), 0);
	ASSERT_EQ(audit_verifier_file(v, b.log), 0);
	ASSERT_EQ(audit_verifier_finish(v), AUDIT_TAMPERED);
	ASSERT_UEQ(audit_verifier_break_seq(v), 2);
	audit_verifier_free(v);
	audit_key_free(o.key);
	/* no trusted key: the log's own (reported as such) */
	o.key = NULL;
	ASSERT_EQ(audit_verifier_new(&o, &v), 0);
	ASSERT_EQ(audit_verifier_file(v, b.log), 0);
	ASSERT_EQ(audit_verifier_finish(v), AUDIT_INTACT);
	rep = audit_verifier_report(v);
	ASSERT_STREQ(json_string_value(json_object_get(json_object_get(rep, "key"), "source")),
		     "log");
	json_decref(rep);
	audit_verifier_free(v);
	fx_free(&b.l);
}

static void write_part(const char *path, const struct fx_log *l, size_t from, size_t to, bool gz)
{
	if (gz) {
		gzFile g = gzopen(path, "wb");

		ASSERT_TRUE(g != NULL);
		for (size_t i = from; i < to; i++) {
			gzputs(g, l->lines[i]);
			gzputc(g, '\n');
		}
		ASSERT_EQ(gzclose(g), Z_OK);
	} else {
		FILE *f = fopen(path, "w");

		ASSERT_TRUE(f != NULL);
		for (size_t i = from; i < to; i++)
			fprintf(f, "%s\n", l->lines[i]);
		fclose(f);
	}
}

TEST(audit_verify_restart_rotation_gzip_intact)
{
	const char *dir = fx_tmpdir(), *paths[3];
	char log[256], p1[256], p2[256], p3[256];
	struct fx_log l;
	json_t *rep;

	ASSERT_TRUE(dir != NULL);
	snprintf(log, sizeof(log), "%s/audit.jsonl", dir);
	ASSERT_EQ(fx_run(dir, log, 10, true, 4), 0);
	ASSERT_EQ(fx_run(dir, log, 10, true, 4), 0);
	ASSERT_EQ(fx_read(log, &l), 0);
	snprintf(p1, sizeof(p1), "%s/audit-1.jsonl.gz", dir);
	snprintf(p2, sizeof(p2), "%s/audit-2.jsonl", dir);
	snprintf(p3, sizeof(p3), "%s/audit-3.jsonl", dir);
	/* rotations at arbitrary lines, one inside the first run, one in the second */
	write_part(p1, &l, 0, 9, true);
	write_part(p2, &l, 9, 25, false);
	write_part(p3, &l, 25, l.n, false);
	paths[0] = p1;
	paths[1] = p2;
	paths[2] = p3;
	ASSERT_EQ(fx_verify(dir, paths, 3, NULL, &rep), AUDIT_INTACT);
	ASSERT_EQ(json_integer_value(json_object_get(rep, "agent_starts")), 2);
	ASSERT_EQ(json_integer_value(json_object_get(rep, "records")), (json_int_t)l.n);
	json_decref(rep);
	/* the same files out of order: a break, and a hint */
	paths[0] = p2;
	paths[1] = p1;
	ASSERT_EQ(fx_verify(dir, paths, 3, NULL, &rep), AUDIT_TAMPERED);
	ASSERT_TRUE(json_is_true(json_object_get(rep, "files_out_of_order")));
	json_decref(rep);
	/* the third file alone starts mid-stream, not at a checkpoint */
	paths[0] = p3;
	ASSERT_EQ(fx_verify(dir, paths, 1, NULL, &rep), AUDIT_INCOMPLETE);
	json_decref(rep);
	fx_free(&l);
}

TEST(audit_verify_overlong_line_is_bounded)
{
	struct base b;
	const char *paths[1];
	uint64_t brk;
	size_t big = AUDIT_VERIFY_LINE_MAX + 100;
	char *line = malloc(big + 1);

	base_make(&b);
	memset(line, 'x', big);
	line[big] = '\0';
	b.l.lines = realloc(b.l.lines, (b.l.n + 1) * sizeof(char *));
	memmove(&b.l.lines[6], &b.l.lines[5], (b.l.n - 5) * sizeof(char *));
	b.l.lines[5] = line;
	b.l.n++;
	ASSERT_EQ(fx_write(b.bad, &b.l), 0);
	paths[0] = b.bad;
	ASSERT_EQ(fx_verify(b.dir, paths, 1, &brk, NULL), AUDIT_TAMPERED);
	ASSERT_UEQ(brk, 6);
	fx_free(&b.l);
}

TEST(audit_export_bundle_verifies_on_its_own)
{
	struct base b;
	char out[256], vkey_arg[AUDIT_VKEY_LEN], path[300], *summary;
	struct audit_key *k;
	json_t *m, *rep;
	size_t i;
	json_t *f;
	char *argv[] = { "export",  "--since",	  "2025-12-31T00:00:00Z",
			 "--until", "2026-01-02", "--out",
			 out,	    "--key",	  vkey_arg,
			 b.log,	    NULL };

	base_make(&b);
	snprintf(out, sizeof(out), "%s/bundle", b.dir);
	ASSERT_EQ(audit_key_load(b.dir, "test.example/llmtap", false, &k), 0);
	audit_key_vkey(k, vkey_arg, sizeof(vkey_arg));
	audit_key_free(k);
	argv[9] = b.log;
	ASSERT_EQ(audit_export_main(10, argv), 0);
	snprintf(path, sizeof(path), "%s/verify-report.json", out);
	rep = json_load_file(path, 0, NULL);
	ASSERT_STREQ(json_string_value(json_object_get(rep, "result")), "intact");
	/* from the checkpoint before the first test record to the one after the last */
	ASSERT_EQ(json_integer_value(json_object_get(rep, "first_seq")), 2);
	ASSERT_EQ(json_integer_value(json_object_get(rep, "last_seq")), 26);
	json_decref(rep);
	snprintf(path, sizeof(path), "%s/manifest.json", out);
	m = json_load_file(path, 0, NULL);
	ASSERT_TRUE(m != NULL);
	ASSERT_EQ(json_integer_value(json_object_get(m, "records_in_period")), 20);
	json_array_foreach(json_object_get(m, "files"), i, f) {
		uint8_t h[32];
		char hex[65];

		snprintf(path, sizeof(path), "%s/%s", out,
			 json_string_value(json_object_get(f, "name")));
		ASSERT_EQ(audit_sha256_file(path, h), 0);
		merkle_hex(h, 32, hex);
		ASSERT_STREQ(hex, json_string_value(json_object_get(f, "sha256")));
	}
	ASSERT_TRUE(json_array_size(json_object_get(m, "files")) >= 5);
	json_decref(m);
	summary = NULL;
	{
		snprintf(path, sizeof(path), "%s/summary.md", out);
		FILE *s = fopen(path, "r");
		size_t cap = 0;

		ASSERT_TRUE(s != NULL);
		ASSERT_TRUE(getdelim(&summary, &cap, '\0', s) > 0);
		fclose(s);
	}
	ASSERT_TRUE(strstr(summary, "| m1 | 20 |") != NULL);
	ASSERT_TRUE(strstr(summary, "**intact**") != NULL);
	free(summary);
	/* an existing non-empty output directory is refused */
	ASSERT_EQ(audit_export_main(10, argv), 3);
	fx_free(&b.l);
}

TEST(audit_verify_declared_spool_loss_is_incomplete_not_tamper)
{
	const char *dir = fx_tmpdir(), *paths[1];
	char log[256], bad[256];
	struct audit_chain *c;
	struct fx_log l;
	uint64_t brk = 1;
	json_t *d, *rep;

	ASSERT_TRUE(dir != NULL);
	snprintf(log, sizeof(log), "%s/audit.jsonl", dir);
	snprintf(bad, sizeof(bad), "%s/received.jsonl", dir);
	ASSERT_EQ(fx_open(dir, log, 100, &c), 0);
	ASSERT_EQ(audit_chain_start(c), 0);
	ASSERT_EQ(fx_records(c, 1, 12), 0); /* seq 3..14 */
	/* what outputs_take_losses reports when a network output's spool dropped 6..8 */
	d = json_pack("{s:s s:i s:i s:i}", "output", "central", "first_seq", 6, "last_seq", 8,
		      "count", 3);
	ASSERT_EQ(audit_chain_gap(c, AUDIT_GAP_SPOOL, d), 0);
	json_decref(d);
	ASSERT_EQ(fx_records(c, 13, 2), 0);
	ASSERT_EQ(audit_chain_stop(c, "test"), 0);
	audit_chain_free(c);
	fx_close_log();
	/* the receiver's copy lacks seq 6..8 */
	ASSERT_EQ(fx_read(log, &l), 0);
	for (int i = 0; i < 3; i++)
		free(l.lines[5 + i]);
	memmove(&l.lines[5], &l.lines[8], (l.n - 8) * sizeof(char *));
	l.n -= 3;
	ASSERT_EQ(fx_write(bad, &l), 0);
	fx_free(&l);
	paths[0] = bad;
	ASSERT_EQ(fx_verify(dir, paths, 1, &brk, &rep), AUDIT_INCOMPLETE);
	ASSERT_UEQ(brk, 0);
	ASSERT_STREQ(json_string_value(json_object_get(
			     json_array_get(json_object_get(rep, "issues"), 0), "kind")),
		     "missing_declared");
	ASSERT_EQ(json_array_size(json_object_get(rep, "unexplained_jumps")), 0);
	json_decref(rep);
	/* the sender's own copy is complete: the gap is only reported */
	paths[0] = log;
	ASSERT_EQ(fx_verify(dir, paths, 1, &brk, &rep), AUDIT_INTACT);
	ASSERT_EQ(json_array_size(json_object_get(rep, "gaps")), 1);
	json_decref(rep);
}
