// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Redaction of records: each mode, pseudonyms (stable, keyed, checked
 * against an independent HMAC), overrides, counts, the key file, and that
 * no detected value survives anywhere in a serialised record, including a
 * secret split across two SSE chunks fed through the real stream layer.
 */
#include <dirent.h>
#include <openssl/hmac.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "redact/redact.h"
#include "stream/stream.h"
#include "test.h"

static const uint8_t KEY[REDACT_KEY_LEN] = "0123456789abcdef0123456789abcdef";

/* Secrets assembled from pieces: this file must not look like a leak. */
#define OPENAI \
	"sk-"  \
	"proj-abcDEF1234567890ghijKLMNOPqrstT3BlbkFJxyz"
#define AWS    \
	"AKIA" \
	"Z3MXQ7RLKD2HV5TB"
#define CARD "4539578763621486"

static struct redactor *new_redactor(const struct redact_config *c)
{
	struct redact_config def;
	struct redactor *r;

	if (!c) {
		redact_config_default(&def);
		c = &def;
	}
	if (redact_new(c, KEY, &r) != 0)
		test_fail_at(__FILE__, __LINE__, "redact_new");
	return r;
}

/* The text after redaction (static buffer), "(same)" when unchanged. */
static const char *redacted(struct redactor *r, const char *in, const struct redact_policy *o)
{
	static char buf[4096];
	char *out = NULL;
	size_t len = 0;
	int rc = redact_text(r, in, strlen(in), o, &out, &len, NULL);

	if (rc < 0)
		return "(error)";
	snprintf(buf, sizeof(buf), "%s", rc ? out : "(same)");
	free(out);
	return buf;
}

/* "[NAME:xxxxxxxx]" computed with OpenSSL's one-shot HMAC, not redact.c. */
static void expected_token(const char *name, const char *value, char *out)
{
	unsigned char msg[512], md[32];
	unsigned int mdlen = 0;
	size_t nl = strlen(name), vl = strlen(value);

	memcpy(msg, name, nl + 1); /* with its NUL */
	memcpy(msg + nl + 1, value, vl);
	HMAC(EVP_sha256(), KEY, REDACT_KEY_LEN, msg, nl + 1 + vl, md, &mdlen);
	sprintf(out, "[%s:%02x%02x%02x%02x]", name, md[0], md[1], md[2], md[3]);
}

TEST(redact_hmac_pseudonyms)
{
	struct redactor *r = new_redactor(NULL);
	char want[256], tok[64];

	expected_token("EMAIL", "john.doe@example.com", tok);
	snprintf(want, sizeof(want), "mail %s now", tok);
	ASSERT_STREQ(redacted(r, "mail john.doe@example.com now", NULL), want);
	/* normalised before hashing: the same address in capitals, the same
	 * card with separators, the same token */
	snprintf(want, sizeof(want), "mail %s now", tok);
	ASSERT_STREQ(redacted(r, "mail John.Doe@EXAMPLE.com now", NULL), want);
	expected_token("CREDIT_CARD", CARD, tok);
	ASSERT_STREQ(redacted(r, CARD, NULL), tok);
	ASSERT_STREQ(redacted(r, "4539 5787 6362 1486", NULL), tok);
	expected_token("PHONE", "+14155552671", tok);
	ASSERT_STREQ(redacted(r, "(415) 555-2671", NULL), tok);
	ASSERT_STREQ(redacted(r, "+1 415 555 2671", NULL), tok);
	expected_token("AWS_ACCESS_KEY", AWS, tok);
	ASSERT_STREQ(redacted(r, AWS, NULL), tok);
	/* other values, other tokens */
	snprintf(want, sizeof(want), "%s", redacted(r, "jane@example.com", NULL));
	ASSERT_TRUE(strcmp(want, redacted(r, "john.doe@example.com", NULL)) != 0);
	ASSERT_STREQ(redacted(r, "nothing to see here", NULL), "(same)");
	redact_free(r);
}

/* Tokens of recent values are remembered: each must still be the HMAC of
 * its own value and entity, through evictions and colliding slots. */
TEST(redact_token_cache_is_exact)
{
	struct redactor *r = new_redactor(NULL);
	char value[160], want[64], got[REDACT_TOKEN_MAX], name[32];

	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 700; i++) {
			int k = round == 1 ? 699 - i : i;
			/* lengths 13..112: past the longest value kept (96) too */
			int pad = k % 100;

			snprintf(
				value, sizeof(value), "u%d.%.*s@example.com", k, pad,
				"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
			expected_token("EMAIL", value, want);
			ASSERT_TRUE(redact_token(r, DETECT_EMAIL, REDACT_HMAC, value, strlen(value),
						 got, sizeof(got)) > 0);
			ASSERT_STREQ(got, want);
			/* the same bytes as another entity: another token */
			ASSERT_TRUE(redact_token(r, DETECT_GENERIC_SECRET, REDACT_HMAC, value,
						 strlen(value), got, sizeof(got)) > 0);
			expected_token("GENERIC_SECRET", value, want);
			ASSERT_STREQ(got, want);
			/* and in mask mode, no token of the cache */
			ASSERT_TRUE(redact_token(r, DETECT_EMAIL, REDACT_MASK, value, strlen(value),
						 got, sizeof(got)) > 0);
			ASSERT_STREQ(got, "[REDACTED:EMAIL]");
		}
	}
	/* a value normalised before hashing keeps its own entry */
	expected_token("EMAIL", "john.doe@example.com", want);
	snprintf(name, sizeof(name), "John.Doe@EXAMPLE.com");
	ASSERT_TRUE(redact_token(r, DETECT_EMAIL, REDACT_HMAC, name, strlen(name), got,
				 sizeof(got)) > 0);
	ASSERT_STREQ(got, want);
	ASSERT_TRUE(redact_token(r, DETECT_EMAIL, REDACT_HMAC, name, strlen(name), got,
				 sizeof(got)) > 0);
	ASSERT_STREQ(got, want);
	redact_free(r);
}

TEST(redact_pseudonym_depends_on_key)
{
	struct redact_config c;
	struct redactor *a, *b;
	uint8_t other[REDACT_KEY_LEN];
	char first[64];

	redact_config_default(&c);
	memset(other, 7, sizeof(other));
	a = new_redactor(&c);
	ASSERT_EQ(redact_new(&c, other, &b), 0);
	snprintf(first, sizeof(first), "%s", redacted(a, "john.doe@example.com", NULL));
	ASSERT_TRUE(strcmp(first, redacted(b, "john.doe@example.com", NULL)) != 0);
	/* and stable for one key, across calls */
	ASSERT_STREQ(redacted(a, "john.doe@example.com", NULL), first);
	redact_free(a);
	redact_free(b);
}

TEST(redact_mask_and_partial_modes)
{
	struct redact_config c;
	struct redactor *r;

	redact_config_default(&c);
	for (int i = 0; i < DETECT_ENTITY_COUNT; i++)
		c.mode[i] = REDACT_MASK;
	r = new_redactor(&c);
	ASSERT_STREQ(redacted(r, "a john.doe@example.com b", NULL), "a [REDACTED:EMAIL] b");
	ASSERT_STREQ(redacted(r, "k=" OPENAI, NULL), "k=[REDACTED:OPENAI_KEY]");
	redact_free(r);

	for (int i = 0; i < DETECT_ENTITY_COUNT; i++)
		c.mode[i] = REDACT_PARTIAL;
	r = new_redactor(&c);
	ASSERT_STREQ(redacted(r, "card 4111 1111 1111 1111.", NULL),
		     "card [CREDIT_CARD:\xE2\x80\xA6"
		     "1111].");
	ASSERT_STREQ(redacted(r, "ssn 536-22-8726", NULL), "ssn [US_SSN:\xE2\x80\xA6"
							   "8726]");
	ASSERT_STREQ(redacted(r, "Jane.Doe@Example.COM", NULL), "[EMAIL:\xE2\x80\xA6@example.com]");
	ASSERT_STREQ(redacted(r, OPENAI, NULL), "[OPENAI_KEY:sk-proj-\xE2\x80\xA6]");
	ASSERT_STREQ(redacted(r, AWS, NULL), "[AWS_ACCESS_KEY:AKIA\xE2\x80\xA6]");
	/* nothing partial to show of a JWT or a password: masked */
	ASSERT_STREQ(redacted(r, "postgres://u:pa55word@db/x", NULL),
		     "postgres://u:[REDACTED:URL_PASSWORD]@db/x");
	redact_free(r);
}

/* Redacted text holds nothing more to redact, including where a first
 * pass could not see a value (glued to another, or hidden by one). */
TEST(redact_is_idempotent)
{
	static const char *const inputs[] = {
		"+48 20 7945+48 20 79497 4539578763621486+48 20 7945",
		"AWS_ACCESS_KEY_ID=AKACCESS_KEY_ID=AKIA"
		"IOSFODNN7EXAMPLE\nexport",
		"-----BEGIN RSA PRIVATE KEY-----BEGIN RSA PRIVATE(415)555-2671,-536-32",
		"+1 415 5165)527 4111 1111 1111 1111, 111",
		"ssn 536-22-8726 536228726 and 536 22 8726",
		"postgres://u:jane@example.com@db/x jane@example.com.",
	};
	static const enum redact_mode modes[] = { REDACT_HMAC, REDACT_MASK, REDACT_PARTIAL };

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		struct redact_config c;
		struct redactor *r;

		redact_config_default(&c);
		for (int e = 0; e < DETECT_ENTITY_COUNT; e++)
			c.mode[e] = modes[m];
		r = new_redactor(&c);
		for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
			char *once = NULL, *twice = NULL;
			size_t l1, l2;

			ASSERT_TRUE(redact_text(r, inputs[i], strlen(inputs[i]), NULL, &once, &l1,
						NULL) > 0);
			ASSERT_EQ(redact_text(r, once, l1, NULL, &twice, &l2, NULL), 0);
			ASSERT_EQ(detect_scan(redact_detector(r), once, l1, c.enabled, NULL, NULL),
				  0);
			free(once);
		}
		redact_free(r);
	}
}

TEST(redact_mode_names_and_merge)
{
	struct redact_policy p;
	enum redact_mode m;

	ASSERT_EQ(redact_mode_parse("HMAC", &m), 0);
	ASSERT_EQ(m, REDACT_HMAC);
	ASSERT_EQ(redact_mode_parse("partial", &m), 0);
	ASSERT_EQ(m, REDACT_PARTIAL);
	ASSERT_EQ(redact_mode_parse("drop", &m), 0);
	ASSERT_EQ(m, REDACT_DROP);
	ASSERT_EQ(redact_mode_parse("hash", &m), -EINVAL);
	ASSERT_STREQ(redact_mode_name(REDACT_MASK), "mask");
	ASSERT_TRUE(redact_mode_name(REDACT_MODE_COUNT) == NULL);
	redact_policy_init(&p);
	redact_policy_set(&p, DETECT_BIT(DETECT_EMAIL), REDACT_MASK);
	redact_policy_set(&p, DETECT_BIT(DETECT_EMAIL) | DETECT_BIT(DETECT_PHONE), REDACT_HMAC);
	/* the stronger of two rules' modes stays */
	ASSERT_EQ(p.mode[DETECT_EMAIL], REDACT_MASK);
	ASSERT_EQ(p.mode[DETECT_PHONE], REDACT_HMAC);
	/* invisible characters are a signal, never redacted */
	redact_policy_set(&p, DETECT_ALL_ENTITIES, REDACT_DROP);
	ASSERT_EQ(p.entities & DETECT_BIT(DETECT_INVISIBLE_UNICODE), 0);
}

TEST(redact_token_contract)
{
	struct redactor *r = new_redactor(NULL);
	char small[16], buf[REDACT_TOKEN_MAX];

	ASSERT_EQ(redact_token(r, DETECT_EMAIL, REDACT_HMAC, "a@b.co", 6, small, sizeof(small)),
		  -ENOSPC);
	ASSERT_EQ(redact_token(r, DETECT_ENTITY_COUNT, REDACT_HMAC, "x", 1, buf, sizeof(buf)),
		  -EINVAL);
	ASSERT_EQ(redact_token(r, DETECT_EMAIL, REDACT_MASK, "a@b.co", 6, buf, sizeof(buf)),
		  (int)strlen("[REDACTED:EMAIL]"));
	ASSERT_STREQ(buf, "[REDACTED:EMAIL]");
	redact_free(r);
}

/* ---- records ---- */

static json_t *parse(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);

	if (!j)
		test_fail_at(__FILE__, __LINE__, "bad fixture JSON: %s", e.text);
	return j;
}

static const char *attr(json_t *rec, const char *k)
{
	return json_string_value(json_object_get(json_object_get(rec, "attributes"), k));
}

static long long count_of(json_t *rec, const char *entity)
{
	return json_integer_value(json_object_get(json_object_get(rec, "redactions"), entity));
}

/* Every place content reaches a record, with a secret or PII in each. */
static const char RECORD[] =
	"{\"schema\":\"llmtap.audit/1\",\"attributes\":{"
	"\"process.command_line\":\"python3 app.py --db postgres://svc:Hunter2pw@db/x\","
	"\"network.peer.address\":\"8.8.8.8\","
	"\"server.address\":\"api.openai.com\","
	"\"gen_ai.request.model\":\"gpt-4o-mini\","
	"\"url.query\":\"key=" OPENAI "\","
	"\"http.request.header.x-trace\":[\"mail ops@corp.example.com\"],"
	"\"http.request.header.x-custom-token\":[\"Zx9vQ2mL8kP4abcdEFGH1234\"],"
	"\"gen_ai.system_instructions\":[{\"type\":\"text\",\"content\":\"Admin is "
	"root@corp.example.com\"}],"
	"\"gen_ai.input.messages\":[{\"role\":\"user\",\"parts\":[{\"type\":\"text\","
	"\"content\":\"card " CARD " and key " AWS " from jane@example.com\"}]}],"
	"\"gen_ai.output.messages\":[{\"role\":\"assistant\",\"parts\":[{\"type\":\"tool_call\","
	"\"name\":\"pay\",\"arguments\":{\"card\":" CARD
	",\"owner\":{\"email\":\"jane@example.com\","
	"\"api_key\":\"Zx9vQ2mL8kP4abcd\"},\"notes\":[\"call +44 20 7946 0958\"],"
	"\"jane@example.com\":true}}]}],"
	"\"gen_ai.tool.definitions\":[{\"name\":\"pay\",\"description\":\"Pays with "
	"" AWS "\"}],"
	"\"llmtap.error.message\":\"Invalid API key provided: " OPENAI "\","
	"\"llmtap.http.response.body\":\"{\\\"error\\\":\\\"bad ssn 536-22-8726\\\"}\"},"
	"\"alerts\":[{\"rule\":\"Secret\",\"message\":\"secret " AWS
	" sent by jane@example.com\"}],"
	"\"redactions\":{}}";

static const char *const SECRETS[] = {
	OPENAI,
	AWS,
	CARD,
	"Hunter2pw",
	"ops@corp.example.com",
	"root@corp.example.com",
	"jane@example.com",
	"Zx9vQ2mL8kP4abcd",
	"7946 0958",
	"536-22-8726",
	"Zx9vQ2mL8kP4abcdEFGH1234",
};

TEST(redact_record_leaves_no_value)
{
	struct redactor *r = new_redactor(NULL);
	json_t *rec = parse(RECORD), *args;
	char *text;

	ASSERT_EQ(redact_record(r, rec, NULL), 0);
	text = json_dumps(rec, JSON_COMPACT);
	for (size_t i = 0; i < sizeof(SECRETS) / sizeof(SECRETS[0]); i++)
		if (strstr(text, SECRETS[i])) {
			free(text);
			json_decref(rec);
			redact_free(r);
			test_fail_at(__FILE__, __LINE__, "\"%s\" survived", SECRETS[i]);
		}
	/* connection metadata is left alone */
	ASSERT_STREQ(attr(rec, "network.peer.address"), "8.8.8.8");
	ASSERT_STREQ(attr(rec, "gen_ai.request.model"), "gpt-4o-mini");
	/* JSON numbers and object keys in tool arguments too */
	args = json_object_get(
		json_array_get(
			json_object_get(
				json_array_get(json_object_get(json_object_get(rec, "attributes"),
							       "gen_ai.output.messages"),
					       0),
				"parts"),
			0),
		"arguments");
	ASSERT_TRUE(json_is_string(json_object_get(args, "card")));
	ASSERT_EQ(json_object_size(args), 4);
	/* counts per entity */
	ASSERT_EQ(count_of(rec, "EMAIL"), 6);
	ASSERT_EQ(count_of(rec, "CREDIT_CARD"), 2);
	ASSERT_EQ(count_of(rec, "AWS_ACCESS_KEY"), 3);
	ASSERT_EQ(count_of(rec, "OPENAI_KEY"), 2);
	ASSERT_EQ(count_of(rec, "URL_PASSWORD"), 1);
	ASSERT_EQ(count_of(rec, "GENERIC_SECRET"), 2);
	ASSERT_EQ(count_of(rec, "PHONE"), 1);
	ASSERT_EQ(count_of(rec, "US_SSN"), 1);
	ASSERT_TRUE(json_object_get(json_object_get(rec, "redactions"), "IBAN") == NULL);
	/* a second pass finds nothing more */
	ASSERT_EQ(redact_record(r, rec, NULL), 0);
	ASSERT_EQ(count_of(rec, "EMAIL"), 6);
	free(text);
	json_decref(rec);
	redact_free(r);
}

TEST(redact_record_drop_mode)
{
	struct redact_config c;
	struct redactor *r;
	json_t *rec, *part, *hdr;

	redact_config_default(&c);
	c.mode[DETECT_EMAIL] = REDACT_DROP;
	r = new_redactor(&c);
	rec = parse(RECORD);
	ASSERT_EQ(redact_record(r, rec, NULL), 0);
	/* the text part that held an address lost its content, not its type */
	part = json_array_get(
		json_object_get(json_array_get(json_object_get(json_object_get(rec, "attributes"),
							       "gen_ai.input.messages"),
					       0),
				"parts"),
		0);
	ASSERT_STREQ(json_string_value(json_object_get(part, "type")), "text");
	ASSERT_TRUE(json_object_get(part, "content") == NULL);
	/* array elements go, the array stays */
	hdr = json_object_get(json_object_get(rec, "attributes"), "http.request.header.x-trace");
	ASSERT_TRUE(json_is_array(hdr));
	ASSERT_EQ(json_array_size(hdr), 0);
	ASSERT_TRUE(json_object_get(json_array_get(json_object_get(rec, "alerts"), 0), "message") ==
		    NULL);
	ASSERT_TRUE(count_of(rec, "EMAIL") >= 4);
	json_decref(rec);
	redact_free(r);
}

TEST(redact_record_override)
{
	struct redactor *r = new_redactor(NULL);
	struct redact_policy p;
	json_t *rec = parse("{\"attributes\":{\"m\":\"from jane@example.com at 10.1.2.3\"},"
			    "\"alerts\":[],\"redactions\":{}}");

	/* a rule asks for masks, and for private addresses too */
	redact_policy_init(&p);
	redact_policy_set(&p, DETECT_BIT(DETECT_EMAIL) | DETECT_BIT(DETECT_IP_ADDRESS),
			  REDACT_MASK);
	p.private_ips = true;
	ASSERT_EQ(redact_record(r, rec, &p), 0);
	ASSERT_STREQ(attr(rec, "m"), "from [REDACTED:EMAIL] at [REDACTED:IP_ADDRESS]");
	ASSERT_EQ(count_of(rec, "IP_ADDRESS"), 1);
	json_decref(rec);

	/* an entity the configuration leaves alone, redacted for this record */
	{
		struct redact_config c;
		struct redactor *r2;

		redact_config_default(&c);
		c.enabled &= ~DETECT_BIT(DETECT_EMAIL);
		r2 = new_redactor(&c);
		rec = parse("{\"attributes\":{\"m\":\"jane@example.com\"}}");
		ASSERT_EQ(redact_record(r2, rec, NULL), 0);
		ASSERT_STREQ(attr(rec, "m"), "jane@example.com");
		redact_policy_init(&p);
		redact_policy_set(&p, DETECT_BIT(DETECT_EMAIL), REDACT_HMAC);
		ASSERT_EQ(redact_record(r2, rec, &p), 0);
		ASSERT_TRUE(strncmp(attr(rec, "m"), "[EMAIL:", 7) == 0);
		/* the record had no "redactions": it has one now */
		ASSERT_EQ(count_of(rec, "EMAIL"), 1);
		json_decref(rec);
		redact_free(r2);
	}
	redact_free(r);
}

TEST(redact_record_base64_body)
{
	struct redactor *r = new_redactor(NULL);
	/* "\xff card 4539578763621486\n" base64-encoded: a body that is not UTF-8 */
	json_t *rec = parse("{\"attributes\":{\"llmtap.http.request.body.encoding\":\"base64\","
			    "\"llmtap.http.request.body\":\"/yBjYXJkIDQ1Mzk1Nzg3NjM2MjE0ODYK\"}}");
	const char *b;

	ASSERT_EQ(redact_record(r, rec, NULL), 0);
	b = attr(rec, "llmtap.http.request.body");
	ASSERT_TRUE(b && strcmp(b, "/yBjYXJkIDQ1Mzk1Nzg3NjM2MjE0ODYK") != 0);
	ASSERT_EQ(count_of(rec, "CREDIT_CARD"), 1);
	ASSERT_STREQ(attr(rec, "llmtap.http.request.body.encoding"), "base64");
	json_decref(rec);
	redact_free(r);
}

/* ---- the key file ---- */

TEST(redact_key_file_created_private_and_stable)
{
	char dir[] = "/tmp/llmtap-key-XXXXXX", path[320], sub[256];
	uint8_t k1[REDACT_KEY_LEN], k2[REDACT_KEY_LEN];
	struct stat st;
	FILE *f;

	ASSERT_TRUE(mkdtemp(dir) != NULL);
	snprintf(sub, sizeof(sub), "%s/state", dir);
	snprintf(path, sizeof(path), "%s/redact.key", sub);
	ASSERT_EQ(redact_key_load(path, k1), 0);
	ASSERT_EQ(stat(path, &st), 0);
	ASSERT_EQ(st.st_mode & 07777, 0600);
	ASSERT_EQ(st.st_size, REDACT_KEY_LEN);
	ASSERT_EQ(stat(sub, &st), 0);
	ASSERT_EQ(st.st_mode & 07777, 0700);
	/* the second start reads the same key */
	ASSERT_EQ(redact_key_load(path, k2), 0);
	ASSERT_MEMEQ(k1, k2, REDACT_KEY_LEN);
	/* a key others can read is refused */
	ASSERT_EQ(chmod(path, 0640), 0);
	ASSERT_EQ(redact_key_load(path, k2), -EPERM);
	unlink(path);
	/* a file that is not 32 bytes is not a key */
	f = fopen(path, "w");
	fputs("short", f);
	fclose(f);
	chmod(path, 0600);
	ASSERT_EQ(redact_key_load(path, k2), -EINVAL);
	unlink(path);
	rmdir(sub);
	rmdir(dir);
	ASSERT_EQ(redact_key_load("", k2), -EINVAL);
}

/* ---- through the stream layer ---- */

#define PID 0x7ffff000u

struct sink {
	json_t *recs[4];
	int n;
};

static void emit(json_t *rec, void *ctx)
{
	struct sink *k = ctx;

	if (k->n < 4)
		k->recs[k->n++] = json_incref(rec);
}

static void feed(struct stream *s, int dir, uint64_t *off, const char *p, size_t n, size_t chunk,
		 uint64_t ts)
{
	struct lt_data_event *d = calloc(1, sizeof(*d));

	for (size_t done = 0; done < n;) {
		size_t len = n - done < chunk ? n - done : chunk;

		memset(d, 0, offsetof(struct lt_data_event, payload));
		d->hdr.type = LT_EV_DATA;
		d->hdr.size = offsetof(struct lt_data_event, payload) + len;
		d->hdr.pid = PID;
		d->hdr.tid = PID + 1;
		d->hdr.ts_ns = ts;
		memcpy(d->hdr.comm, "client", 7);
		d->ssl = 0x77;
		d->conn_gen = 1;
		d->stream_off = *off;
		d->call_len = len;
		d->len = len;
		d->fd = 5;
		d->dir = dir;
		memcpy(d->payload, p + done, len);
		stream_on_event(s, d, d->hdr.size);
		*off += len;
		done += len;
	}
	free(d);
}

static const char SSE_REQ[] =
	"POST /v1/chat/completions HTTP/1.1\r\n"
	"Host: api.openai.com\r\n"
	"Content-Type: application/json\r\n"
	"Content-Length: 81\r\n\r\n"
	"{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

/* The key arrives in two deltas: "...sk-proj-abcDEF1234567890" and
 * "ghijKLMNOPqrstT3BlbkFJxyz ..."; no chunk holds it whole. */
static const char SSE_RESP[] =
	"HTTP/1.1 200 OK\r\n"
	"Content-Type: text/event-stream\r\n"
	"Content-Length: 408\r\n\r\n"
	"data: {\"id\":\"c1\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":"
	"\"assistant\",\"content\":\"Your key is sk-"
	"proj-abcDEF1234567890\"}}]}\n\n"
	"data: {\"id\":\"c1\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{"
	"\"content\":\"ghijKLMNOPqrstT3BlbkFJxyz and mail jane@\"}}]}\n\n"
	"data: {\"id\":\"c1\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{"
	"\"content\":\"example.com.\"},\"finish_reason\":\"stop\"}]}\n\n"
	"data: [DONE]\n\n";

TEST(redact_streamed_secret_split_across_chunks)
{
	static const size_t chunks[] = { 1, 7, 64, 4096 };
	struct redactor *r = new_redactor(NULL);
	char want[256], tok_key[64], tok_mail[64];

	expected_token("OPENAI_KEY", OPENAI, tok_key);
	expected_token("EMAIL", "jane@example.com", tok_mail);
	snprintf(want, sizeof(want), "Your key is %s and mail %s.", tok_key, tok_mail);
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		struct stream_hooks h = { emit, NULL, NULL };
		struct stream_opts o = { .redactor = r };
		struct stream s;
		struct sink k = { 0 };
		uint64_t out = 0, in = 0;
		json_t *msg;
		char *text;

		h.ctx = &k;
		ASSERT_EQ(strlen(SSE_RESP) - (strstr(SSE_RESP, "\r\n\r\n") + 4 - SSE_RESP), 408);
		ASSERT_EQ(stream_init(&s, &o, &h), 0);
		feed(&s, LT_DIR_EGRESS, &out, SSE_REQ, strlen(SSE_REQ), chunks[i], 100);
		feed(&s, LT_DIR_INGRESS, &in, SSE_RESP, strlen(SSE_RESP), chunks[i], 200);
		stream_destroy(&s);
		ASSERT_EQ(k.n, 1);
		msg = json_array_get(json_object_get(json_object_get(k.recs[0], "attributes"),
						     "gen_ai.output.messages"),
				     0);
		ASSERT_STREQ(json_string_value(json_object_get(
				     json_array_get(json_object_get(msg, "parts"), 0), "content")),
			     want);
		ASSERT_EQ(count_of(k.recs[0], "OPENAI_KEY"), 1);
		ASSERT_EQ(count_of(k.recs[0], "EMAIL"), 1);
		text = json_dumps(k.recs[0], JSON_COMPACT);
		ASSERT_TRUE(!strstr(text, "T3BlbkFJxyz") && !strstr(text, "jane@"));
		free(text);
		json_decref(k.recs[0]);
	}
	redact_free(r);
}
