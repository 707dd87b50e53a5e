// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "test_audit_fixture.h"
#include "audit/chain.h"
#include "audit/merkle.h"
#include "audit/verify.h"
#include "util/clock.h"

static json_t *line_json(const struct fx_log *l, size_t i)
{
	json_t *j = json_loads(l->lines[i], 0, NULL);

	ASSERT_TRUE(j != NULL);
	return j;
}

static const char *ev_of(json_t *j)
{
	return json_string_value(json_object_get(j, "event.name"));
}

TEST(audit_chain_seals_each_line_once_and_links_them)
{
	const char *dir = fx_tmpdir();
	char log[256], prev_hex[65];
	uint8_t h[32];
	struct fx_log l;

	ASSERT_TRUE(dir != NULL);
	snprintf(log, sizeof(log), "%s/audit.jsonl", dir);
	ASSERT_EQ(fx_run(dir, log, 12, true, 5), 0);
	ASSERT_EQ(fx_read(log, &l), 0);
	/* agent_start, checkpoint(start), 12 records with a checkpoint after every
	 * 5 counted records, agent_stop, checkpoint(stop) */
	ASSERT_TRUE(l.n >= 12 + 4);
	memset(prev_hex, '0', 64);
	prev_hex[64] = '\0';
	for (size_t i = 0; i < l.n; i++) {
		json_t *j = line_json(&l, i);

		ASSERT_UEQ(json_integer_value(json_object_get(j, "seq")), i + 1);
		ASSERT_STREQ(json_string_value(json_object_get(j, "prev")), prev_hex);
		ASSERT_EQ(json_string_length(json_object_get(j, "stream")), 32);
		ASSERT_EQ(json_string_length(json_object_get(j, "id")), 36);
		ASSERT_STREQ(json_string_value(json_object_get(j, "schema")), "llmtap.audit/1");
		ASSERT_TRUE(json_is_object(json_object_get(j, "attributes")));
		if (i == 0) {
			json_t *a = json_object_get(j, "attributes");

			ASSERT_STREQ(ev_of(j), "llmtap.agent_start");
			ASSERT_TRUE(json_is_string(json_object_get(a, "llmtap.key.vkey")));
			ASSERT_TRUE(json_is_string(json_object_get(a, "llmtap.key.fingerprint")));
			ASSERT_STREQ(
				json_string_value(json_object_get(a, "llmtap.config.sha256")),
				"c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0");
			ASSERT_TRUE(json_is_string(json_object_get(a, "os.kernel.release")));
			ASSERT_TRUE(json_is_array(json_object_get(a, "llmtap.capabilities")));
			ASSERT_TRUE(json_is_boolean(json_object_get(a, "llmtap.clock.synced")));
			ASSERT_STREQ(
				json_string_value(json_object_get(a, "llmtap.previous_shutdown")),
				"none");
		}
		if (i == 1) {
			json_t *a = json_object_get(j, "attributes");

			ASSERT_STREQ(ev_of(j), "llmtap.checkpoint");
			ASSERT_EQ(json_integer_value(json_object_get(a, "llmtap.checkpoint.size")),
				  1);
		}
		json_decref(j);
		/* prev of the next line = SHA-256 of this line's exact bytes */
		ASSERT_EQ(merkle_sha256(l.lines[i], strlen(l.lines[i]), h), 0);
		merkle_hex(h, 32, prev_hex);
	}
	{
		json_t *last = line_json(&l, l.n - 1), *stop = line_json(&l, l.n - 2);

		ASSERT_STREQ(ev_of(last), "llmtap.checkpoint");
		ASSERT_STREQ(ev_of(stop), "llmtap.agent_stop");
		json_decref(last);
		json_decref(stop);
	}
	fx_free(&l);
}

TEST(audit_chain_continues_across_restart)
{
	const char *dir = fx_tmpdir(), *paths[1];
	char log[256];
	struct fx_log l;
	uint64_t brk = 99;
	json_t *rep, *j;
	int starts = 0;

	ASSERT_TRUE(dir != NULL);
	snprintf(log, sizeof(log), "%s/audit.jsonl", dir);
	ASSERT_EQ(fx_run(dir, log, 7, true, 4), 0);
	ASSERT_EQ(fx_run(dir, log, 9, true, 4), 0);
	ASSERT_EQ(fx_read(log, &l), 0);
	for (size_t i = 0; i < l.n; i++) {
		j = line_json(&l, i);
		ASSERT_UEQ(json_integer_value(json_object_get(j, "seq")), i + 1);
		if (strcmp(ev_of(j), "llmtap.agent_start") == 0) {
			starts++;
			if (starts == 2)
				ASSERT_STREQ(json_string_value(json_object_get(
						     json_object_get(j, "attributes"),
						     "llmtap.previous_shutdown")),
					     "clean");
		}
		json_decref(j);
	}
	ASSERT_EQ(starts, 2);
	paths[0] = log;
	ASSERT_EQ(fx_verify(dir, paths, 1, &brk, &rep), AUDIT_INTACT);
	ASSERT_UEQ(brk, 0);
	ASSERT_EQ(json_array_size(json_object_get(rep, "gaps")), 0);
	json_decref(rep);
	fx_free(&l);
}

TEST(audit_chain_crash_gives_gap_record_and_still_verifies)
{
	const char *dir = fx_tmpdir(), *paths[1];
	char log[256];
	json_t *rep, *gaps;

	ASSERT_TRUE(dir != NULL);
	snprintf(log, sizeof(log), "%s/audit.jsonl", dir);
	ASSERT_EQ(fx_run(dir, log, 6, false, 100), 0); /* no stop: a crash after a sync */
	ASSERT_EQ(fx_run(dir, log, 3, true, 100), 0);
	paths[0] = log;
	ASSERT_EQ(fx_verify(dir, paths, 1, NULL, &rep), AUDIT_INTACT);
	gaps = json_object_get(rep, "gaps");
	ASSERT_EQ(json_array_size(gaps), 1);
	ASSERT_STREQ(json_string_value(json_object_get(json_array_get(gaps, 0), "reason")),
		     "unclean_shutdown");
	/* right after the second agent_start: seq 1 start, 2 cp, 3..8 records, 9 start, 10 gap */
	ASSERT_EQ(json_integer_value(json_object_get(json_array_get(gaps, 0), "seq")), 10);
	json_decref(rep);
}

TEST(audit_chain_recovers_from_journal_tail_with_torn_line)
{
	const char *dir = fx_tmpdir(), *paths[2];
	char log[256], other[256];
	struct audit_chain *c;
	struct fx_log l;
	json_t *rep, *j;
	FILE *f;
	int n;

	ASSERT_TRUE(dir != NULL);
	snprintf(log, sizeof(log), "%s/audit.jsonl", dir);
	snprintf(other, sizeof(other), "%s/short.jsonl", dir);
	/* run 1 syncs at seq 7 (start, cp, 5 records), writes 6 more, crashes mid-line */
	ASSERT_EQ(fx_open(dir, log, 100, &c), 0);
	ASSERT_EQ(audit_chain_start(c), 0);
	ASSERT_EQ(fx_records(c, 1, 5), 0);
	ASSERT_EQ(audit_chain_sync(c), 0);
	ASSERT_EQ(fx_records(c, 6, 6), 0);
	ASSERT_UEQ(audit_chain_seq(c), 13);
	audit_chain_free(c);
	fx_close_log();
	/* a second journal that only has lines up to seq 9 (e.g. a spool segment) */
	ASSERT_EQ(fx_read(log, &l), 0);
	f = fopen(other, "w");
	for (size_t i = 0; i < 9; i++)
		fprintf(f, "%s\n", l.lines[i]);
	fclose(f);
	fx_free(&l);
	f = fopen(log, "a");
	fputs("{\"schema\":\"llmtap.audit/1\",\"id\":\"cut-sh", f); /* torn */
	fclose(f);

	ASSERT_EQ(fx_open(dir, log, 100, &c), 0);
	ASSERT_UEQ(audit_chain_seq(c), 7);
	paths[0] = other;
	paths[1] = log;
	n = audit_chain_recover(c, paths, 2);
	ASSERT_EQ(n, 6); /* the longest continuation: seq 8..13 from audit.jsonl */
	ASSERT_UEQ(audit_chain_seq(c), 13);
	ASSERT_UEQ(audit_chain_counters(c)->recovered, 6);
	/* the file output terminates a torn line before appending (see docs/audit.md) */
	f = fopen(log, "a");
	fputc('\n', f);
	fclose(f);
	ASSERT_EQ(audit_chain_start(c), 0);
	ASSERT_EQ(audit_chain_recover(c, paths, 2), -EBUSY);
	ASSERT_EQ(fx_records(c, 100, 2), 0);
	ASSERT_EQ(audit_chain_stop(c, "test"), 0);
	audit_chain_free(c);
	fx_close_log();

	ASSERT_EQ(fx_read(log, &l), 0);
	j = line_json(&l, 14); /* after 13 lines and the torn one: the new agent_start */
	ASSERT_STREQ(ev_of(j), "llmtap.agent_start");
	ASSERT_UEQ(json_integer_value(json_object_get(j, "seq")), 14);
	json_decref(j);
	fx_free(&l);
	paths[0] = log;
	/* the torn line is reported (info), the gap declares the crash; nothing forked */
	ASSERT_EQ(fx_verify(dir, paths, 1, NULL, &rep), AUDIT_INTACT);
	ASSERT_EQ(json_array_size(json_object_get(rep, "gaps")), 1);
	ASSERT_STREQ(json_string_value(json_object_get(
			     json_array_get(json_object_get(rep, "issues"), 0), "kind")),
		     "torn_line_before_restart");
	json_decref(rep);
}

TEST(audit_chain_corrupt_state_is_a_clear_error)
{
	const char *dir = fx_tmpdir();
	char log[256], state[256], err[512] = "";
	struct audit_chain_opts o = { 0 };
	struct audit_chain *c;
	FILE *f;

	ASSERT_TRUE(dir != NULL);
	snprintf(log, sizeof(log), "%s/audit.jsonl", dir);
	ASSERT_EQ(fx_run(dir, log, 2, true, 100), 0);
	snprintf(state, sizeof(state), "%s/chain.json", dir);
	f = fopen(state, "w");
	fputs("{\"version\":1,\"stream\":\"nothex\"", f);
	fclose(f);
	o.state_dir = dir;
	o.write = (audit_write_fn)1; /* never called */
	o.err = err;
	o.err_size = sizeof(err);
	ASSERT_EQ(audit_chain_open(&o, &c), -EBADMSG);
	ASSERT_TRUE(strstr(err, "chain.json") != NULL);
	f = fopen(state, "w");
	fputs("{\"version\":1,\"stream\":\"00112233445566778899aabbccddeeff\",\"seq\":3,"
	      "\"head\":\"0000000000000000000000000000000000000000000000000000000000000000\","
	      "\"merkle\":{\"size\":2,\"hashes\":[]},\"clean\":true}",
	      f);
	fclose(f);
	ASSERT_EQ(audit_chain_open(&o, &c), -EBADMSG);
	ASSERT_TRUE(strstr(err, "Merkle") != NULL);
}

static int count_cb(void *ctx, const char *line, size_t len, uint64_t seq, bool urgent)
{
	int *n = ctx;

	n[0]++;
	if (urgent)
		n[1]++;
	return 0;
}

TEST(audit_chain_tick_heartbeat_health_and_gap)
{
	const char *dir = fx_tmpdir();
	struct audit_chain_opts o = { 0 };
	struct audit_chain *c;
	uint64_t t0, s;
	int n[2] = { 0, 0 };
	json_t *h = json_pack("{s:i}", "llmtap.events", 42), *d = json_pack("{s:i}", "lost", 3);

	ASSERT_TRUE(dir != NULL);
	o.state_dir = dir;
	o.write = count_cb;
	o.write_ctx = n;
	o.checkpoint_interval_ns = 10ull * 1000000000ull;
	o.heartbeat_interval_ns = 100ull * 1000000000ull;
	o.health_interval_ns = 50ull * 1000000000ull;
	ASSERT_EQ(audit_chain_open(&o, &c), 0);
	ASSERT_EQ(audit_chain_record(c, h), -EALREADY); /* not started */
	ASSERT_EQ(audit_chain_start(c), 0);
	ASSERT_EQ(n[0], 2); /* agent_start, checkpoint */
	ASSERT_EQ(n[1], 1);
	t0 = clock_mono_now();
	s = audit_chain_seq(c);
	ASSERT_EQ(audit_chain_tick(c, t0 + 1000, NULL), 0);
	ASSERT_UEQ(audit_chain_seq(c), s); /* nothing due */
	ASSERT_EQ(audit_chain_gap(c, AUDIT_GAP_RINGBUF, d), 0);
	ASSERT_EQ(audit_chain_tick(c, t0 + 11ull * 1000000000ull, NULL), 0);
	ASSERT_UEQ(audit_chain_seq(c), s + 2); /* gap + interval checkpoint */
	ASSERT_TRUE(!audit_chain_health_due(c, t0 + 20ull * 1000000000ull));
	ASSERT_TRUE(audit_chain_health_due(c, t0 + 60ull * 1000000000ull));
	ASSERT_EQ(audit_chain_tick(c, t0 + 60ull * 1000000000ull, h), 0);
	ASSERT_UEQ(audit_chain_seq(c), s + 4); /* health, then a checkpoint covering it */
	ASSERT_EQ(audit_chain_tick(c, t0 + 61ull * 1000000000ull, h), 0);
	ASSERT_UEQ(audit_chain_seq(c), s + 4); /* nothing due */
	ASSERT_EQ(audit_chain_tick(c, t0 + 200ull * 1000000000ull, NULL), 0);
	ASSERT_UEQ(audit_chain_seq(c), s + 6); /* health, checkpoint */
	ASSERT_UEQ(audit_chain_counters(c)->gaps, 1);
	ASSERT_EQ(audit_chain_stop(c, NULL), 0);
	ASSERT_EQ(audit_chain_stop(c, NULL), -EALREADY);
	audit_chain_free(c);
	json_decref(h);
	json_decref(d);
}

TEST(audit_chain_heartbeat_when_idle)
{
	const char *dir = fx_tmpdir();
	struct audit_chain_opts o = { 0 };
	struct audit_chain *c;
	uint64_t t0, s;
	int n[2] = { 0, 0 };

	ASSERT_TRUE(dir != NULL);
	o.state_dir = dir;
	o.write = count_cb;
	o.write_ctx = n;
	o.heartbeat_interval_ns = 100ull * 1000000000ull;
	ASSERT_EQ(audit_chain_open(&o, &c), 0);
	ASSERT_EQ(audit_chain_start(c), 0);
	t0 = clock_mono_now();
	s = audit_chain_seq(c);
	ASSERT_EQ(audit_chain_tick(c, t0 + 90ull * 1000000000ull, NULL), 0);
	ASSERT_UEQ(audit_chain_seq(c), s);
	ASSERT_EQ(audit_chain_tick(c, t0 + 101ull * 1000000000ull, NULL), 0);
	ASSERT_UEQ(audit_chain_seq(c), s + 1);
	ASSERT_EQ(n[1], 2); /* both checkpoints flagged urgent */
	ASSERT_EQ(audit_chain_tick(c, t0 + 150ull * 1000000000ull, NULL), 0);
	ASSERT_UEQ(audit_chain_seq(c), s + 1);
	ASSERT_EQ(audit_chain_tick(c, t0 + 202ull * 1000000000ull, NULL), 0);
	ASSERT_UEQ(audit_chain_seq(c), s + 2);
	audit_chain_free(c);
}

TEST(audit_chain_state_reset_starts_new_stream)
{
	const char *dir = fx_tmpdir(), *paths[1];
	char log[256], state[300];
	json_t *rep;

	ASSERT_TRUE(dir != NULL);
	snprintf(log, sizeof(log), "%s/audit.jsonl", dir);
	snprintf(state, sizeof(state), "%s/chain.json", dir);
	ASSERT_EQ(fx_run(dir, log, 3, true, 100), 0);
	ASSERT_EQ(unlink(state), 0);
	ASSERT_EQ(fx_run(dir, log, 3, false, 100), 0); /* stream 2 crashes, unsealed */
	ASSERT_EQ(unlink(state), 0);
	ASSERT_EQ(fx_run(dir, log, 3, true, 100), 0);
	paths[0] = log;
	ASSERT_EQ(fx_verify(dir, paths, 1, NULL, &rep), AUDIT_INCOMPLETE);
	ASSERT_EQ(json_array_size(json_object_get(rep, "streams")), 3);
	ASSERT_EQ(json_integer_value(json_object_get(rep, "break_seq")), 0);
	json_decref(rep);
}
