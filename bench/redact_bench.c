// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Redaction throughput on one core: a synthetic corpus of prompt-like text
 * (prose, code, JSON, numbers, URLs) in 16 KiB messages, with a few
 * secrets and PII items in each, through
 *   detect_scan   the detectors alone (the default redaction entities),
 *   redact_text   detection + pseudonyms + the rewritten text,
 *   redact_record whole records (8 KiB of messages + ~40 metadata
 *                 attributes each), the agent's real path.
 * Prints MB/s of text (and records/s); the best of `runs` rounds.
 * Usage: redact_bench [runs] [MiB] [FILE]   (FILE: also write the corpus there)
 *
 * Output (stable; scripts may parse it):
 *   redact_bench: N messages of 16 KiB (N MiB), N matches per pass, best of N
 *     detect_scan    X MB/s
 *     redact_text    X MB/s
 *     redact_record  X MB/s  (X records/s of 16 KiB content)
 * Redaction after the rules (the agent's path, reusing the rules' scans) is
 * measured by rules_bench.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "redact/redact.h"

#define MSG_SIZE (16 * 1024)

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const char *const words[] = {
	"the",	     "of",	 "and",	     "to",	   "a",	      "in",	   "is",
	"that",	     "for",	 "it",	     "as",	   "with",    "was",	   "on",
	"be",	     "at",	 "by",	     "this",	   "had",     "not",	   "are",
	"but",	     "from",	 "or",	     "have",	   "an",      "they",	   "which",
	"you",	     "were",	 "her",	     "all",	   "she",     "there",	   "would",
	"their",     "we",	 "him",	     "been",	   "has",     "when",	   "who",
	"will",	     "more",	 "no",	     "if",	   "out",     "so",	   "said",
	"what",	     "up",	 "its",	     "about",	   "into",    "than",	   "them",
	"can",	     "only",	 "other",    "new",	   "some",    "could",	   "time",
	"these",     "two",	 "may",	     "then",	   "do",      "first",	   "any",
	"my",	     "now",	 "such",     "like",	   "our",     "over",	   "man",
	"me",	     "even",	 "most",     "made",	   "after",   "also",	   "did",
	"many",	     "before",	 "must",     "through",	   "back",    "years",	   "where",
	"much",	     "your",	 "way",	     "well",	   "down",    "should",	   "because",
	"each",	     "just",	 "those",    "people",	   "how",     "too",	   "little",
	"state",     "good",	 "very",     "make",	   "world",   "still",	   "own",
	"see",	     "men",	 "work",     "long",	   "get",     "here",	   "between",
	"both",	     "life",	 "being",    "under",	   "never",   "day",	   "same",
	"another",   "know",	 "while",    "last",	   "might",   "us",	   "great",
	"old",	     "year",	 "off",	     "come",	   "since",   "against",   "go",
	"came",	     "right",	 "used",     "take",	   "three",   "function",  "database",
	"summarise", "incident", "deploy",   "kubernetes", "latency", "request",   "response",
	"customer",  "invoice",	 "refactor", "timeout",	   "cluster", "migration", "schema",
	"user",	     "account",	 "password", "token",	   "error",   "retry",	   "config",
};

static const char *const snippets[] = {
	"\n```python\nfor i in range(10):\n    print(i, total / 3.5)\n```\n",
	"\n    if (n > 0 && buf[n - 1] == '\\n') n--;\n",
	" {\"id\": 1234, \"name\": \"widget\", \"price\": 12.50, \"tags\": [\"a\", \"b\"]} ",
	" See https://docs.example.com/guide/setup?lang=en#install for details. ",
	" The meeting is on 2024-03-15 at 10:30, room 4B; budget $12,500 (v2.3.1). ",
	" Error: connection refused (errno 111) after 3 retries in 250 ms. ",
	"\n- item one\n- item two\n- item three\n",
	" SELECT id, email FROM users WHERE created_at > '2024-01-01' LIMIT 100; ",
	" commit 3f9a1c0b2d4e5f60 merged into main by the CI bot. ",
	" The ratio was 0.8125 and the p99 latency 145 ms at 1200 req/s. ",
};

/* A few of these go into each message (two on average). */
static const char *const secrets[] = {
	" Contact me at jane.doe@example.com please. ",
	" My card is 4539 5787 6362 1486 exp 04/27. ",
	" aws_access_key_id = AKIAZ3MXQ7RLKD2HV5TB ",
	" call (415) 555-2671 tomorrow ",
	" export OPENAI_API_KEY=sk-proj-abcDEF1234567890ghijKLMNOPqrstT3BlbkFJxyz ",
	" SSN 536-22-8726 on file. ",
	" server at 93.184.216.34 answered ",
	" DATABASE_URL=postgres://app:Zx9vQ2mL8kP4@db.internal:5432/prod ",
};

static size_t append(char *buf, size_t len, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (len + n > cap)
		n = cap - len;
	memcpy(buf + len, s, n);
	return len + n;
}

static void message(char *buf, size_t cap)
{
	size_t len = 0;
	int sentence = 0;

	while (len < cap) {
		uint64_t r = next();

		if (r % 97 == 0)
			len = append(buf, len, cap, snippets[(r >> 8) % 10]);
		else if (r % 701 == 0)
			len = append(buf, len, cap, secrets[(r >> 8) % 8]);
		else {
			len = append(buf, len, cap,
				     words[(r >> 8) % (sizeof(words) / sizeof(words[0]))]);
			if (++sentence % 14 == 0)
				len = append(buf, len, cap, ". ");
			else
				len = append(buf, len, cap, " ");
		}
	}
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static json_t *record_of(const char *prompt, size_t plen, const char *answer, size_t alen)
{
	json_t *attrs = json_pack(
		"{s:i, s:i, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s,"
		" s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:i, s:i, s:f, s:f}",
		"process.pid", 4242, "thread.id", 4242, "process.executable.name", "python3.11",
		"process.executable.path", "/usr/bin/python3.11", "process.command_line",
		"python3 agent.py --model gpt-4o-mini", "process.owner", "svc-ai",
		"process.user.id", 1001, "host.name", "gpu-node-7", "llmtap.capture.role", "client",
		"llmtap.capture.source", "openssl", "server.address", "api.openai.com",
		"network.peer.address", "162.159.140.245", "network.local.address", "10.0.0.7",
		"network.transport", "tcp", "network.peer.port", 443, "http.request.method", "POST",
		"http.response.status_code", 200, "url.path", "/v1/chat/completions",
		"gen_ai.operation.name", "chat", "gen_ai.provider.name", "openai",
		"gen_ai.request.model", "gpt-4o-mini", "gen_ai.response.model",
		"gpt-4o-mini-2024-07-18", "gen_ai.response.id", "chatcmpl-AbC123",
		"llmtap.request.end_time", "2026-11-27T04:10:01.123500000Z",
		"gen_ai.request.stream", 1, "gen_ai.usage.input_tokens", 1200,
		"gen_ai.usage.output_tokens", 1100, "llmtap.duration_s", 0.789, "llmtap.cost.usd",
		0.0000786);
	json_t *in = json_pack("[{s:s, s:[{s:s, s:s}]}, {s:s, s:[{s:s, s:s%}]}]", "role", "system",
			       "parts", "type", "text", "content", "You are terse.", "role", "user",
			       "parts", "type", "text", "content", prompt, plen);
	json_t *out =
		json_pack("[{s:s, s:s, s:[{s:s, s:s%}]}]", "role", "assistant", "finish_reason",
			  "stop", "parts", "type", "text", "content", answer, alen);

	json_object_set_new(attrs, "http.request.header.content-type",
			    json_pack("[s]", "application/json"));
	json_object_set_new(attrs, "http.response.header.content-type",
			    json_pack("[s]", "text/event-stream"));
	json_object_set_new(attrs, "gen_ai.input.messages", in);
	json_object_set_new(attrs, "gen_ai.output.messages", out);
	return json_pack("{s:s, s:s, s:o, s:[], s:{}}", "schema", "llmtap.audit/1", "event.name",
			 "gen_ai.client.inference.operation.details", "attributes", attrs, "alerts",
			 "redactions");
}

int main(int argc, char **argv)
{
	static const uint8_t key[REDACT_KEY_LEN] = "bench-bench-bench-bench-bench-be";
	int runs = argc > 1 ? atoi(argv[1]) : 3;
	size_t mib = argc > 2 ? (size_t)atoi(argv[2]) : 32, n_msgs, total, found = 0;
	double best_scan = 0, best_text = 0, best_rec = 0, t0;
	struct redact_config cfg;
	struct redactor *r;
	uint64_t mask;
	char **msgs;

	if (runs < 1 || mib < 1 || mib > 1024) {
		fprintf(stderr, "usage: redact_bench [runs] [MiB]\n");
		return 2;
	}
	n_msgs = mib * 1024 * 1024 / MSG_SIZE;
	total = n_msgs * MSG_SIZE;
	msgs = calloc(n_msgs, sizeof(*msgs));
	for (size_t i = 0; i < n_msgs; i++) {
		msgs[i] = malloc(MSG_SIZE);
		message(msgs[i], MSG_SIZE);
	}
	if (argc > 3) {
		FILE *f = fopen(argv[3], "wbe");

		for (size_t i = 0; f && i < n_msgs; i++)
			fwrite(msgs[i], 1, MSG_SIZE, f);
		if (!f || fclose(f) != 0) {
			fprintf(stderr, "cannot write %s\n", argv[3]);
			return 1;
		}
	}
	redact_config_default(&cfg);
	if (redact_new(&cfg, key, &r) != 0) {
		fprintf(stderr, "redact_new failed\n");
		return 1;
	}
	mask = cfg.enabled;
	for (int k = 0; k < runs; k++) {
		double mbs;

		found = 0;
		t0 = now();
		for (size_t i = 0; i < n_msgs; i++)
			found += (size_t)detect_scan(redact_detector(r), msgs[i], MSG_SIZE, mask,
						     NULL, NULL);
		mbs = (double)total / 1e6 / (now() - t0);
		best_scan = mbs > best_scan ? mbs : best_scan;

		t0 = now();
		for (size_t i = 0; i < n_msgs; i++) {
			char *out = NULL;
			size_t len;

			if (redact_text(r, msgs[i], MSG_SIZE, NULL, &out, &len, NULL) < 0)
				return 1;
			free(out);
		}
		mbs = (double)total / 1e6 / (now() - t0);
		best_text = mbs > best_text ? mbs : best_text;

		/* records: an 8 KiB prompt and an 8 KiB answer from each message */
		{
			double spent = 0;

			for (size_t i = 0; i < n_msgs; i++) {
				json_t *rec = record_of(msgs[i], MSG_SIZE / 2,
							msgs[i] + MSG_SIZE / 2, MSG_SIZE / 2);
				double t1 = now();

				if (redact_record(r, rec, NULL) != 0)
					return 1;
				spent += now() - t1;
				json_decref(rec);
			}
			mbs = (double)total / 1e6 / spent;
			best_rec = mbs > best_rec ? mbs : best_rec;
		}
	}
	printf("redact_bench: %zu messages of %d KiB (%zu MiB), %zu matches per pass, best of %d\n",
	       n_msgs, MSG_SIZE / 1024, total >> 20, found, runs);
	printf("  detect_scan    %8.1f MB/s\n", best_scan);
	printf("  redact_text    %8.1f MB/s\n", best_text);
	printf("  redact_record  %8.1f MB/s  (%.0f records/s of 16 KiB content)\n", best_rec,
	       best_rec * 1e6 / MSG_SIZE);
	for (size_t i = 0; i < n_msgs; i++)
		free(msgs[i]);
	free(msgs);
	redact_free(r);
	return 0;
}
