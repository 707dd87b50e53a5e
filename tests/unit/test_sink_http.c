// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The network outputs against an in-process HTTP server: batching, retries
 * (503 + Retry-After, connection refused), quarantine, replay after a
 * restart, OTLP partial success. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sink/outputs.h"
#include "test.h"
#include "test_sink_server.h"
#include "test_sink_util.h"

static struct output_stats stats0(struct outputs *o)
{
	struct output_stats st;

	outputs_get_stats(o, 0, &st);
	return st;
}

/* waits until output 0's spool holds no unacknowledged record */
static bool wait_drained(struct outputs *o, int ms)
{
	uint64_t end = tsrv_now_ms() + (uint64_t)ms;

	while (stats0(o).spool_records) {
		if (tsrv_now_ms() > end)
			return false;
		usleep(5000);
	}
	return true;
}

TEST(sink_http_batches_arrive)
{
	struct tsrv s = { 0 };
	struct config cfg = { 0 };
	struct outputs *o = NULL;
	char err[256], tok[512], *dir = tsink_tmpdir(0), expect[8192] = "";
	struct output_header h = { "X-Test", "yes" };
	FILE *f;

	ASSERT_EQ(tsrv_start(&s, 0), 0);
	tsink_net_config(&cfg, dir, "central", OUTPUT_HTTP, s.port);
	snprintf(tok, sizeof(tok), "%s/token", dir);
	f = fopen(tok, "w");
	fputs("s3cret-token\n", f);
	fclose(f);
	cfg.outputs[0].token_file = tok;
	cfg.outputs[0].headers[0] = h;
	cfg.outputs[0].n_headers = 1;
	cfg.outputs[0].batch_records = 3;
	cfg.outputs[0].batch_interval_ms = 50;
	ASSERT_EQ(outputs_open(&cfg, &o, err, sizeof(err)), 0);
	for (int i = 1; i <= 7; i++) {
		const char *l = tsink_line((uint64_t)i, 10);

		ASSERT_EQ(outputs_write(o, l, strlen(l), (uint64_t)i, false), 0);
		strcat(expect, l);
		strcat(expect, "\n");
	}
	ASSERT_EQ(outputs_flush(o), 0);
	ASSERT_TRUE(tsrv_wait_lines(&s, 7, 3000));
	ASSERT_TRUE(wait_drained(o, 1000));
	pthread_mutex_lock(&s.mu);
	ASSERT_STREQ(s.bodies, expect); /* the exact bytes, in order */
	ASSERT_STREQ(s.ctype, "application/x-ndjson");
	ASSERT_STREQ(s.enc, "gzip");
	ASSERT_STREQ(s.auth, "Bearer s3cret-token");
	ASSERT_STREQ(s.custom, "yes");
	ASSERT_STREQ(s.path, "/ingest?x=1");
	ASSERT_TRUE(s.requests >= 3); /* batches of at most 3 */
	pthread_mutex_unlock(&s.mu);
	ASSERT_UEQ(stats0(o).records, 7);
	ASSERT_UEQ(stats0(o).retries, 0);
	outputs_close(o);
	tsrv_free(&s);
	tsink_rmrf(dir);
}

TEST(sink_http_503_retry_after_honoured)
{
	struct tsrv s = { .fail_503 = 1, .retry_after = 1 };
	struct config cfg = { 0 };
	struct outputs *o = NULL;
	char err[256], *dir = tsink_tmpdir(0);
	const char *l = tsink_line(1, 0);
	uint64_t gap;

	ASSERT_EQ(tsrv_start(&s, 0), 0);
	tsink_net_config(&cfg, dir, "c", OUTPUT_HTTP, s.port);
	cfg.outputs[0].retry_max_ms = 3000; /* Retry-After wins over the 10 ms backoff */
	ASSERT_EQ(outputs_open(&cfg, &o, err, sizeof(err)), 0);
	ASSERT_EQ(outputs_write(o, l, strlen(l), 1, true), 0);
	ASSERT_TRUE(tsrv_wait_lines(&s, 1, 4000));
	pthread_mutex_lock(&s.mu);
	ASSERT_EQ(s.requests, 2);
	gap = s.req_ms[1] - s.req_ms[0];
	pthread_mutex_unlock(&s.mu);
	ASSERT_TRUE(gap >= 950 && gap < 2500);
	ASSERT_TRUE(wait_drained(o, 1000));
	ASSERT_UEQ(stats0(o).fail_5xx, 1);
	ASSERT_UEQ(stats0(o).retries, 1);
	ASSERT_UEQ(stats0(o).records, 1);
	outputs_close(o);
	tsrv_free(&s);
	tsink_rmrf(dir);
}

TEST(sink_http_refused_then_delivered)
{
	struct tsrv s = { 0 };
	struct config cfg = { 0 };
	struct outputs *o = NULL;
	char err[256], *dir = tsink_tmpdir(0);
	uint16_t port;

	/* a port nobody listens on */
	ASSERT_EQ(tsrv_start(&s, 0), 0);
	port = s.port;
	tsrv_stop(&s);
	tsink_net_config(&cfg, dir, "c", OUTPUT_HTTP, port);
	cfg.outputs[0].retry_max_ms = 80;
	ASSERT_EQ(outputs_open(&cfg, &o, err, sizeof(err)), 0);
	for (int i = 1; i <= 4; i++) {
		const char *l = tsink_line((uint64_t)i, 0);

		ASSERT_EQ(outputs_write(o, l, strlen(l), (uint64_t)i, false), 0);
	}
	usleep(400 * 1000);
	/* backoff: a few attempts, not a busy loop (>= 10 ms apart) */
	ASSERT_TRUE(stats0(o).fail_connect >= 2);
	ASSERT_TRUE(stats0(o).fail_connect <= 40);
	ASSERT_UEQ(stats0(o).spool_records, 4);
	ASSERT_EQ(tsrv_start(&s, port), 0);
	ASSERT_TRUE(tsrv_wait_lines(&s, 4, 3000));
	ASSERT_TRUE(wait_drained(o, 1000));
	ASSERT_UEQ(stats0(o).records, 4);
	outputs_close(o);
	tsrv_free(&s);
	tsink_rmrf(dir);
}

TEST(sink_http_400_quarantined)
{
	struct tsrv s = { .status = 400 };
	struct config cfg = { 0 };
	struct outputs *o = NULL;
	char err[256], qdir[300], path[600], *dir = tsink_tmpdir(0), *q = NULL;
	struct dirent *de;
	DIR *d;

	ASSERT_EQ(tsrv_start(&s, 0), 0);
	tsink_net_config(&cfg, dir, "c", OUTPUT_HTTP, s.port);
	cfg.outputs[0].batch_interval_ms = 60000; /* one batch, sent by the urgent record */
	ASSERT_EQ(outputs_open(&cfg, &o, err, sizeof(err)), 0);
	for (int i = 1; i <= 3; i++) {
		const char *l = tsink_line((uint64_t)i, 0);

		ASSERT_EQ(outputs_write(o, l, strlen(l), (uint64_t)i, i == 3), 0);
	}
	ASSERT_TRUE(wait_drained(o, 2000));
	usleep(100 * 1000);
	pthread_mutex_lock(&s.mu);
	ASSERT_EQ(s.requests, 1); /* never retried */
	pthread_mutex_unlock(&s.mu);
	ASSERT_UEQ(stats0(o).fail_4xx, 1);
	ASSERT_UEQ(stats0(o).quarantined, 3);
	ASSERT_UEQ(stats0(o).records, 0);
	snprintf(qdir, sizeof(qdir), "%s/spool/c/quarantine", dir);
	d = opendir(qdir);
	ASSERT_TRUE(d != NULL);
	while ((de = readdir(d)))
		if (de->d_name[0] == 'q')
			snprintf(path, sizeof(path), "%s/%s", qdir, de->d_name);
	closedir(d);
	q = tsink_read(path, NULL);
	ASSERT_TRUE(q != NULL);
	ASSERT_UEQ(tsink_count(q, '\n'), 3);
	ASSERT_TRUE(strstr(q, "\"id\":\"id-3\"") != NULL);
	free(q);
	outputs_close(o);
	tsrv_free(&s);
	tsink_rmrf(dir);
}

TEST(sink_http_413_splits_batch)
{
	struct tsrv s = { .reject_multi = true };
	struct config cfg = { 0 };
	struct outputs *o = NULL;
	char err[256], *dir = tsink_tmpdir(0);

	ASSERT_EQ(tsrv_start(&s, 0), 0);
	tsink_net_config(&cfg, dir, "c", OUTPUT_HTTP, s.port);
	cfg.outputs[0].batch_interval_ms = 200;
	ASSERT_EQ(outputs_open(&cfg, &o, err, sizeof(err)), 0);
	for (int i = 1; i <= 4; i++) {
		const char *l = tsink_line((uint64_t)i, 0);

		ASSERT_EQ(outputs_write(o, l, strlen(l), (uint64_t)i, false), 0);
	}
	ASSERT_TRUE(tsrv_wait_lines(&s, 4, 3000));
	ASSERT_UEQ(stats0(o).quarantined, 0);
	outputs_close(o);
	tsrv_free(&s);
	tsink_rmrf(dir);
}

TEST(sink_http_restart_replays_unacked)
{
	struct tsrv s = { 0 };
	struct config cfg = { 0 };
	struct outputs *o = NULL;
	char err[256], *dir = tsink_tmpdir(0);
	uint16_t port;
	uint64_t t0;

	ASSERT_EQ(tsrv_start(&s, 0), 0);
	port = s.port;
	tsink_net_config(&cfg, dir, "c", OUTPUT_HTTP, port);
	ASSERT_EQ(outputs_open(&cfg, &o, err, sizeof(err)), 0);
	/* 1..3 delivered and acknowledged */
	for (int i = 1; i <= 3; i++) {
		const char *l = tsink_line((uint64_t)i, 0);

		ASSERT_EQ(outputs_write(o, l, strlen(l), (uint64_t)i, false), 0);
	}
	ASSERT_TRUE(tsrv_wait_lines(&s, 3, 3000));
	ASSERT_TRUE(wait_drained(o, 1000));
	/* endpoint down: 4..6 stay in the spool across the restart */
	tsrv_stop(&s);
	for (int i = 4; i <= 6; i++) {
		const char *l = tsink_line((uint64_t)i, 0);

		ASSERT_EQ(outputs_write(o, l, strlen(l), (uint64_t)i, false), 0);
	}
	usleep(100 * 1000);
	t0 = tsrv_now_ms();
	outputs_close(o); /* a failing endpoint does not hold the exit */
	ASSERT_TRUE(tsrv_now_ms() - t0 < 1500);
	o = NULL;
	ASSERT_EQ(tsrv_start(&s, port), 0);
	ASSERT_EQ(outputs_open(&cfg, &o, err, sizeof(err)), 0);
	ASSERT_TRUE(tsrv_wait_lines(&s, 6, 3000));
	ASSERT_TRUE(wait_drained(o, 1000));
	usleep(50 * 1000);
	pthread_mutex_lock(&s.mu);
	/* exactly once here: the cursor was persisted after 1..3 */
	ASSERT_UEQ(tsink_count(s.bodies, '\n'), 6);
	for (int i = 1; i <= 6; i++) {
		char id[32];

		snprintf(id, sizeof(id), "\"id\":\"id-%d\"", i);
		ASSERT_TRUE(strstr(s.bodies, id) != NULL);
	}
	pthread_mutex_unlock(&s.mu);
	outputs_close(o);
	tsrv_free(&s);
	tsink_rmrf(dir);
}

TEST(sink_http_close_sends_pending)
{
	struct tsrv s = { 0 };
	struct config cfg = { 0 };
	struct outputs *o = NULL;
	char err[256], *dir = tsink_tmpdir(0);
	const char *l = tsink_line(1, 0);

	ASSERT_EQ(tsrv_start(&s, 0), 0);
	tsink_net_config(&cfg, dir, "c", OUTPUT_HTTP, s.port);
	cfg.outputs[0].batch_interval_ms = 60000; /* only the close sends it */
	ASSERT_EQ(outputs_open(&cfg, &o, err, sizeof(err)), 0);
	ASSERT_EQ(outputs_write(o, l, strlen(l), 1, false), 0);
	usleep(50 * 1000);
	ASSERT_UEQ(tsrv_lines(&s), 0);
	outputs_close(o);
	ASSERT_UEQ(tsrv_lines(&s), 1);
	tsrv_free(&s);
	tsink_rmrf(dir);
}

TEST(sink_otlp_partial_success_not_retried)
{
	struct tsrv s = { 0 };
	struct config cfg = { 0 };
	struct outputs *o = NULL;
	char err[256], *dir = tsink_tmpdir(0);

	snprintf(s.reply, sizeof(s.reply),
		 "{\"partialSuccess\":{\"rejectedLogRecords\":\"1\",\"errorMessage\":\"bad\"}}");
	ASSERT_EQ(tsrv_start(&s, 0), 0);
	tsink_net_config(&cfg, dir, "otel", OUTPUT_OTLP, s.port);
	cfg.outputs[0].gzip = false;
	cfg.outputs[0].batch_interval_ms = 60000;
	ASSERT_EQ(outputs_open(&cfg, &o, err, sizeof(err)), 0);
	for (int i = 1; i <= 2; i++) {
		const char *l = tsink_line((uint64_t)i, 0);

		ASSERT_EQ(outputs_write(o, l, strlen(l), (uint64_t)i, i == 2), 0);
	}
	ASSERT_TRUE(wait_drained(o, 2000));
	usleep(50 * 1000);
	pthread_mutex_lock(&s.mu);
	ASSERT_EQ(s.requests, 1);
	ASSERT_STREQ(s.path, "/v1/logs");
	ASSERT_STREQ(s.ctype, "application/json");
	ASSERT_TRUE(strstr(s.bodies, "\"resourceLogs\"") != NULL);
	pthread_mutex_unlock(&s.mu);
	ASSERT_UEQ(stats0(o).rejected, 1);
	ASSERT_UEQ(stats0(o).records, 2);
	ASSERT_UEQ(stats0(o).retries, 0);
	outputs_close(o);
	tsrv_free(&s);
	tsink_rmrf(dir);
}

TEST(sink_outputs_fanout_and_metrics)
{
	struct tsrv s = { 0 };
	struct config cfg = { 0 };
	struct outputs *o = NULL;
	struct output_config *f;
	char err[256], path[300], *dir = tsink_tmpdir(0), *txt;
	const char *jf[4];
	struct dynbuf b;
	size_t n;

	ASSERT_EQ(tsrv_start(&s, 0), 0);
	tsink_net_config(&cfg, dir, "central", OUTPUT_HTTP, s.port);
	f = &cfg.outputs[cfg.n_outputs++];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "local");
	f->type = OUTPUT_FILE;
	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	f->path = path;
	ASSERT_EQ(outputs_open(&cfg, &o, err, sizeof(err)), 0);
	for (int i = 1; i <= 2; i++) {
		const char *l = tsink_line((uint64_t)i, 0);

		ASSERT_EQ(outputs_write(o, l, strlen(l), (uint64_t)i, true), 0);
	}
	ASSERT_EQ(outputs_flush(o), 0);
	ASSERT_TRUE(tsrv_wait_lines(&s, 2, 3000));
	n = outputs_journal_files(o, jf, 4);
	ASSERT_UEQ(n, 2);
	ASSERT_TRUE(strstr(jf[0], "/spool/central/seg-0000000000000000000") != NULL);
	ASSERT_STREQ(jf[1], path);
	txt = tsink_read(path, NULL);
	ASSERT_UEQ(tsink_count(txt, '\n'), 2);
	free(txt);
	ASSERT_TRUE(wait_drained(o, 1000));
	ASSERT_TRUE(outputs_healthy(o));
	dynbuf_init(&b, 1 << 20);
	ASSERT_EQ(outputs_render_metrics_buf(o, &b), 0);
	{
		char *text = strdup("llmtap_up 1\n");
		size_t tl = strlen(text);

		ASSERT_EQ(outputs_render_metrics(o, &text, &tl), 0);
		ASSERT_UEQ(tl, 12 + b.len);
		ASSERT_TRUE(strncmp(text, "llmtap_up 1\n# HELP ", 19) == 0);
		ASSERT_STREQ(text + 12, b.buf);
		free(text);
	}
	ASSERT_TRUE(
		strstr(b.buf, "llmtap_output_records_total{output=\"central\",type=\"http\"} 2\n"));
	ASSERT_TRUE(
		strstr(b.buf, "llmtap_output_records_total{output=\"local\",type=\"file\"} 2\n"));
	ASSERT_TRUE(strstr(b.buf, "llmtap_spool_records{output=\"central\",type=\"http\"} 0\n"));
	ASSERT_TRUE(strstr(b.buf, "# TYPE llmtap_output_failures_total counter\n"));
	ASSERT_TRUE(strstr(
		b.buf,
		"llmtap_output_failures_total{output=\"central\",type=\"http\",kind=\"connect\"} 0\n"));
	dynbuf_free(&b);
	outputs_close(o);
	tsrv_free(&s);
	tsink_rmrf(dir);
}

TEST(sink_outputs_drop_oldest_reports_loss)
{
	struct config cfg = { 0 };
	struct outputs *o = NULL;
	struct output_loss loss[8];
	char err[256], *dir = tsink_tmpdir(0);
	uint64_t lost = 0;
	size_t n;

	/* nobody listens on port 1: everything stays in a 2 KiB spool */
	tsink_net_config(&cfg, dir, "c", OUTPUT_HTTP, 1);
	cfg.outputs[0].spool_max_bytes = 2048;
	cfg.outputs[0].retry_max_ms = 1000;
	ASSERT_EQ(outputs_open(&cfg, &o, err, sizeof(err)), 0);
	for (int i = 1; i <= 60; i++) {
		const char *l = tsink_line((uint64_t)i, 20);

		ASSERT_EQ(outputs_write(o, l, strlen(l), (uint64_t)i, false), 0);
	}
	n = outputs_take_losses(o, loss, 8);
	ASSERT_UEQ(n, 1); /* contiguous drops are one range */
	ASSERT_STREQ(loss[0].output, "c");
	ASSERT_STREQ(loss[0].reason, "spool_full");
	ASSERT_UEQ(loss[0].first_seq, 1);
	lost = loss[0].count;
	ASSERT_UEQ(loss[0].last_seq, lost);
	ASSERT_UEQ(lost + stats0(o).spool_records, 60);
	ASSERT_UEQ(stats0(o).dropped, lost);
	ASSERT_TRUE(stats0(o).spool_bytes <= 2048);
	ASSERT_UEQ(outputs_take_losses(o, loss, 8), 0);
	outputs_close(o);
	tsink_rmrf(dir);
}

TEST(sink_http_500_poison_batch_quarantined)
{
	struct tsrv s = { .status = 500 };
	struct config cfg = { 0 };
	struct outputs *o = NULL;
	char err[256], *dir = tsink_tmpdir(0);
	const char *l = tsink_line(1, 0);

	ASSERT_EQ(tsrv_start(&s, 0), 0);
	tsink_net_config(&cfg, dir, "c", OUTPUT_HTTP, s.port);
	cfg.outputs[0].retry_max_ms = 20;
	ASSERT_EQ(outputs_open(&cfg, &o, err, sizeof(err)), 0);
	ASSERT_EQ(outputs_write(o, l, strlen(l), 1, true), 0);
	ASSERT_TRUE(wait_drained(o, 3000));
	pthread_mutex_lock(&s.mu);
	ASSERT_EQ(s.requests, 10); /* retried, then set aside */
	pthread_mutex_unlock(&s.mu);
	ASSERT_UEQ(stats0(o).fail_5xx, 10);
	ASSERT_UEQ(stats0(o).quarantined, 1);
	outputs_close(o);
	tsrv_free(&s);
	tsink_rmrf(dir);
}
