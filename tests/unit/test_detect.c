// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Built-in detectors: for each entity, values that must be found (with
 * their exact span) and near-misses that must not.  Credentials are
 * assembled from pieces so that this file does not itself look like a
 * leaked secret to repository scanners.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <zlib.h>

#include "redact/detect.h"
#include "redact/memo.h"
#include "test.h"

static struct detector *det(void)
{
	static struct detector *d;

	if (!d && detect_new(&d) != 0)
		test_fail_at(__FILE__, __LINE__, "detect_new");
	return d;
}

struct found {
	const char *text;
	char out[1024];
	size_t len;
	unsigned flags;
};

static int grab(const struct detect_match *m, void *ctx)
{
	struct found *f = ctx;

	f->len += (size_t)snprintf(f->out + f->len, sizeof(f->out) - f->len, "%s%s=%.*s",
				   f->len ? ";" : "", detect_entity_name(m->entity), (int)m->len,
				   f->text + m->start);
	if (f->len >= sizeof(f->out))
		f->len = sizeof(f->out) - 1;
	f->flags |= m->flags;
	return 0;
}

/* "ENTITY=matched text;..." for every match of text under mask. */
static const char *found(const char *text, uint64_t mask)
{
	static struct found f;

	memset(&f, 0, sizeof(f));
	f.text = text;
	if (detect_scan(det(), text, strlen(text), mask, grab, &f) < 0)
		return "(error)";
	return f.out;
}

#define ALL DETECT_ALL_ENTITIES

struct want {
	const char *text, *expect;
};

static void check_table(const struct want *t, size_t n, uint64_t mask, const char *file, int line)
{
	for (size_t i = 0; i < n; i++) {
		const char *got = found(t[i].text, mask);

		if (strcmp(got, t[i].expect) != 0)
			test_fail_at(file, line, "row %zu \"%s\": got \"%s\", expected \"%s\"", i,
				     t[i].text, got, t[i].expect);
	}
}

#define CHECK(t, mask) check_table(t, sizeof(t) / sizeof(t[0]), mask, __FILE__, __LINE__)

TEST(detect_cards)
{
	static const struct want t[] = {
		{ "card 4111111111111111 ok", "CREDIT_CARD=4111111111111111" },
		{ "4111 1111 1111 1111", "CREDIT_CARD=4111 1111 1111 1111" },
		{ "4111-1111-1111-1111.", "CREDIT_CARD=4111-1111-1111-1111" },
		{ "mc 5555555555554444, amex 378282246310005",
		  "CREDIT_CARD=5555555555554444;CREDIT_CARD=378282246310005" },
		{ "amex 3782 822463 10005", "CREDIT_CARD=3782 822463 10005" },
		{ "discover 6011111111111117 jcb 3530111333300000 diners 30569309025904",
		  "CREDIT_CARD=6011111111111117;CREDIT_CARD=3530111333300000;"
		  "CREDIT_CARD=30569309025904" },
		{ "visa 4539578763621486 mc2 2223000048410010",
		  "CREDIT_CARD=4539578763621486;CREDIT_CARD=2223000048410010" },
		{ "4111 1111 1111 1111 2024", "CREDIT_CARD=4111 1111 1111 1111" },
		{ "cards: 4111111111111111,5555555555554444",
		  "CREDIT_CARD=4111111111111111;CREDIT_CARD=5555555555554444" },
		/* near-misses */
		{ "bad luhn 4111111111111112", "" },
		{ "0000000000000000 and 5555555555555555", "" },
		{ "wrong length visa 411111111111111", "" },
		{ "too long 41111111111111111111", "" },
		{ "in a word a4111111111111111 4111111111111111b", "" },
		{ "mixed 4111-1111 1111-1111", "" },
		{ "dotted 1.4111111111111111 and 4111111111111111.5", "" },
		{ "no brand 1234567812345670", "" },
		{ "order id 9111111111111111", "" },
		{ "uuid 0f5c2e7a-9b3d-4c1e-8f6a-2b4c6d8e0f1a", "" },
	};

	CHECK(t, ALL);
}

TEST(detect_card_test_flag)
{
	struct found f = { .text = "4111111111111111" };

	detect_scan(det(), f.text, strlen(f.text), ALL, grab, &f);
	ASSERT_TRUE(f.flags & DETECT_F_TEST_DATA);
	memset(&f, 0, sizeof(f));
	f.text = "4539578763621486";
	detect_scan(det(), f.text, strlen(f.text), ALL, grab, &f);
	ASSERT_EQ(f.flags & DETECT_F_TEST_DATA, 0);
}

TEST(detect_ssn)
{
	static const struct want t[] = {
		{ "ssn 536-22-8726 ok", "US_SSN=536-22-8726" },
		{ "536 22 8726", "US_SSN=536 22 8726" },
		{ "SSN: 536228726", "US_SSN=536228726" },
		{ "social security number 536228726.", "US_SSN=536228726" },
		/* rejected ranges and samples */
		{ "000-12-3456 666-12-3456 900-12-3456 999-12-3456", "" },
		{ "123-00-4567 123-45-0000", "" },
		{ "078-05-1120 219-09-9999 123-45-6789", "" },
		{ "mixed 536-22 8726", "" },
		{ "no context 536228726", "" },
		{ "longer 536-22-87261", "" },
	};

	CHECK(t, ALL);
}

TEST(detect_iban)
{
	static const struct want t[] = {
		{ "iban DE89 3704 0044 0532 0130 00 thanks", "IBAN=DE89 3704 0044 0532 0130 00" },
		{ "GB82 WEST 1234 5698 7654 32", "IBAN=GB82 WEST 1234 5698 7654 32" },
		{ "FR14 2004 1010 0505 0001 3M02 606", "IBAN=FR14 2004 1010 0505 0001 3M02 606" },
		{ "(NL91ABNA0417164300)", "IBAN=NL91ABNA0417164300" },
		{ "CH9300762011623852957", "IBAN=CH9300762011623852957" },
		/* bad check digits, wrong length, unknown country, inside a word */
		{ "DE89 3704 0044 0532 0130 01", "" },
		{ "DE89370400440532013000X", "" },
		{ "DE89 3704 0044 0532 0130", "" },
		{ "ZZ89370400440532013000", "" },
		{ "xDE89370400440532013000", "" },
	};

	CHECK(t, ALL);
}

TEST(detect_email)
{
	static const struct want t[] = {
		{ "mail john.doe@example.com now", "EMAIL=john.doe@example.com" },
		{ "<A+b_c@Sub.Example.co.uk>", "EMAIL=A+b_c@Sub.Example.co.uk" },
		{ "end with dot: x@example.org.", "EMAIL=x@example.org" },
		{ "\"e\":\"jane@corp.io\"", "EMAIL=jane@corp.io" },
		/* not addresses */
		{ "@decorator def f(): pass", "" },
		{ "user@localhost", "" },
		{ "x@y.c a@b.123 @@ a@-b.com", "" },
		{ "npm i @types/node", "" },
	};

	CHECK(t, ALL);
}

TEST(detect_phone)
{
	static const struct want t[] = {
		{ "call +1 415 555 2671 now", "PHONE=+1 415 555 2671" },
		{ "+44 20 7946 0958", "PHONE=+44 20 7946 0958" },
		{ "+14155552671", "PHONE=+14155552671" },
		{ "(415) 555-2671", "PHONE=(415) 555-2671" },
		{ "415-555-2671 or 415.555.2671", "PHONE=415-555-2671;PHONE=415.555.2671" },
		{ "1-800-555-0199", "PHONE=1-800-555-0199" },
		/* NANP rules: area and exchange [2-9]XX, not N11 */
		{ "123-555-2671 415-155-2671 911-555-2671 415-911-2671", "" },
		{ "+1 123 555 2671", "" },
		{ "bare 4155552671", "" },
		{ "415-555-2671-9 and 415-555.2671", "" },
		{ "+123 and +0 44 20 7946", "" },
		{ "date 2024-01-15 time 12:30:45 version 1.2.3", "" },
	};

	CHECK(t, ALL);
}

TEST(detect_ip)
{
	static const struct want t[] = {
		{ "dns 8.8.8.8, peer 93.184.216.34",
		  "IP_ADDRESS=8.8.8.8;IP_ADDRESS=93.184.216.34" },
		{ "v6 2606:4700:4700::1111 ok", "IP_ADDRESS=2606:4700:4700::1111" },
		{ "mapped ::ffff:8.8.4.4", "IP_ADDRESS=::ffff:8.8.4.4" },
		/* private and special addresses are not reported by default */
		{ "10.0.0.1 192.168.1.20 127.0.0.1 172.16.5.4 169.254.1.1 100.64.0.1", "" },
		{ "192.0.2.1 198.51.100.7 203.0.113.9 fe80::1 ::1 fd00::2 2001:db8::1", "" },
		/* not addresses */
		{ "256.1.1.1 1.2.3 1.2.3.4.5 01.2.3.4 v1.2.3.4", "" },
		{ "std::vector a::b 12:30:45 de:ad:be:ef:00:01", "" },
	};
	static const struct want priv[] = {
		{ "10.0.0.1 and fe80::1", "IP_ADDRESS=10.0.0.1;IP_ADDRESS=fe80::1" },
	};

	CHECK(t, ALL);
	CHECK(priv, ALL | DETECT_SCAN_PRIVATE_IPS);
}

/* A classic GitHub token with its CRC32 computed here (not by detect.c). */
static void github_token(const char *prefix, const char *body30, char *out)
{
	static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	uLong crc = crc32(0L, (const Bytef *)body30, 30);
	char sum[7];

	for (int i = 5; i >= 0; i--) {
		sum[i] = b62[crc % 62];
		crc /= 62;
	}
	sum[6] = '\0';
	sprintf(out, "%s%s%s", prefix, body30, sum);
}

TEST(detect_github_checksum)
{
	char tok[64], text[128], want[128];

	github_token("gh"
		     "p_",
		     "Ky9Pf34qY6Nb3wWD25RQ4F5ZR3qa7y", tok);
	snprintf(text, sizeof(text), "token %s here", tok);
	snprintf(want, sizeof(want), "GITHUB_TOKEN=%s", tok);
	ASSERT_STREQ(found(text, ALL), want);
	ASSERT_TRUE(detect_github_crc_ok(tok + 4));
	/* one character off: the checksum fails */
	tok[39] = tok[39] == 'a' ? 'b' : 'a';
	ASSERT_TRUE(!detect_github_crc_ok(tok + 4));
	snprintf(text, sizeof(text), "token %s here", tok);
	ASSERT_STREQ(found(text, ALL), "");
	github_token("gh"
		     "s_",
		     "Eeeby3abP3E2Zs8IQ9Y7aJZqhB6bae", tok);
	snprintf(want, sizeof(want), "GITHUB_TOKEN=%s", tok);
	ASSERT_STREQ(found(tok, ALL), want);
	/* 35 characters, or glued to a word */
	ASSERT_STREQ(found("gh"
			   "p_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
			   ALL),
		     "");
	snprintf(text, sizeof(text), "x%s", tok);
	ASSERT_STREQ(found(text, ALL), "");
}

TEST(detect_token_formats)
{
	static const struct want t[] = {
		{ "key sk-"
		  "proj-abcDEF1234567890ghijKLMNOPqrstT3BlbkFJxyz end",
		  "OPENAI_KEY=sk-"
		  "proj-abcDEF1234567890ghijKLMNOPqrstT3BlbkFJxyz" },
		{ "sk-"
		  "abcdefghij0123456789T3BlbkFJabcdefghij0123456789",
		  "OPENAI_KEY=sk-"
		  "abcdefghij0123456789T3BlbkFJabcdefghij0123456789" },
		{ "sk-"
		  "ant-api03-Zx9vQ2mL8kP4abcdefghij0123456789-_AA",
		  "ANTHROPIC_KEY=sk-"
		  "ant-api03-Zx9vQ2mL8kP4abcdefghij0123456789-_AA" },
		{ "aws AKIA"
		  "IOSFODNN7EXAMPLE,",
		  "AWS_ACCESS_KEY=AKIA"
		  "IOSFODNN7EXAMPLE" },
		{ "ASIA"
		  "Y34FZKBOKMUTVV7A",
		  "AWS_ACCESS_KEY=ASIA"
		  "Y34FZKBOKMUTVV7A" },
		{ "github_"
		  "pat_11ABCDEFG0123456789abc_defghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456",
		  "GITHUB_TOKEN=github_"
		  "pat_11ABCDEFG0123456789abc_defghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456" },
		{ "glpat"
		  "-Zx9vQ2mL8kP4abcdEFGH",
		  "GITLAB_TOKEN=glpat"
		  "-Zx9vQ2mL8kP4abcdEFGH" },
		{ "xox"
		  "b-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
		  "SLACK_TOKEN=xox"
		  "b-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx" },
		{ "post to https://hooks.slack"
		  ".com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX now",
		  "SLACK_WEBHOOK=https://hooks.slack"
		  ".com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX" },
		{ "AIza"
		  "SyD-abcdefghijklmnopqrstuvwxyz01234",
		  "GOOGLE_API_KEY=AIza"
		  "SyD-abcdefghijklmnopqrstuvwxyz01234" },
		{ "sk_"
		  "live_4eC39HqLyjWDarjtT1zdp7dc",
		  "STRIPE_KEY=sk_"
		  "live_4eC39HqLyjWDarjtT1zdp7dc" },
		{ "rk_"
		  "live_4eC39HqLyjWDarjtT1zdp7dc",
		  "STRIPE_KEY=rk_"
		  "live_4eC39HqLyjWDarjtT1zdp7dc" },
		{ "hf_"
		  "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh",
		  "HUGGINGFACE_TOKEN=hf_"
		  "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh" },
		/* near-misses */
		{ "sk-learn-is-a-python-library-for-ml sk-12345 task-1234567890abcdefghij", "" },
		{ "AKIA"
		  "IOSFODNN7EXAMPL AKIA"
		  "IOSFODNN7EXAMPLEX xAKIA"
		  "IOSFODNN7EXAMPLE",
		  "" },
		{ "AKIA"
		  "iosfodnn7example",
		  "" },
		{ "glpat"
		  "-short sk_"
		  "test_4eC39HqLyjWDarjtT1zdp7dc sk_"
		  "live_short",
		  "" },
		{ "hf_"
		  "hub_download hf_"
		  "abcdefghijklmnopqrstuvwxyzabcdefgh",
		  "" },
		{ "AIza"
		  "SyD-tooshort xox"
		  "b-nodigitsatall-here",
		  "" },
		{ "sk-"
		  "ant-short sk-"
		  "ant-nodigits-in-this-name-at-all",
		  "" },
		{ "hooks.slack"
		  ".com/services/short hooks.slack"
		  ".com/other/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX",
		  "" },
		{ "github_"
		  "pat_short github_"
		  "pat_no_underscore_run_is_long_enough_but_not_here",
		  "" },
	};

	CHECK(t, ALL);
}

TEST(detect_jwt)
{
	static const struct want t[] = {
		{ "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
		  "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c end",
		  "JWT=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
		  "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c" },
		/* alg none: an empty signature */
		{ "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxMjM0NTY3ODkwIn0.",
		  "JWT=eyJhbGciOiJub25lIn0.eyJzdWIiOiIxMjM0NTY3ODkwIn0." },
		/* header without alg, two parts, not base64 JSON */
		{ "eyJub3QiOiJqd3QifQ.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2ln", "" },
		{ "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxMjM0NTY3ODkwIn0", "" },
		{ "eyJzzzzzzzzzzzzzzzzz.eyJzzzzzzzzzzzzz.zzzz", "" },
	};

	CHECK(t, ALL);
}

TEST(detect_private_key)
{
	static const struct want t[] = {
		{ "k: -----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE "
		  "KEY-----\nafter",
		  "PRIVATE_KEY=-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA "
		  "PRIVATE KEY-----" },
		{ "-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjE=\\n-----END OPENSSH "
		  "PRIVATE KEY-----",
		  "PRIVATE_KEY=-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjE=\\n-----END "
		  "OPENSSH PRIVATE KEY-----" },
		/* cut before its END line: the body is secret all the same */
		{ "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nMIIE",
		  "PRIVATE_KEY=-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nMIIE" },
		{ "-----BEGIN PUBLIC KEY-----\nMIIBIjANBg\n-----END PUBLIC KEY-----", "" },
		{ "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", "" },
	};

	CHECK(t, ALL);
}

TEST(detect_url_password)
{
	static const struct want t[] = {
		{ "db postgres://admin:s3cr3tP4ss@db.example.com:5432/app",
		  "URL_PASSWORD=s3cr3tP4ss" },
		{ "redis://:pw12@cache:6379", "URL_PASSWORD=pw12" },
		{ "https://user@host.example.com/ https://example.com/a@b.com", "" },
		{ "mailto:x ://a:b@", "" },
	};

	CHECK(t, ALL & ~DETECT_BIT(DETECT_EMAIL));
	/* the e-mail-like "s3cr3tP4ss@db.example.com" loses to the password */
	ASSERT_STREQ(found("postgres://admin:s3cr3tP4ss@db.example.com", ALL),
		     "URL_PASSWORD=s3cr3tP4ss");
}

TEST(detect_generic_secret)
{
	static const struct want t[] = {
		{ "API_KEY=a8f5f167f44f4964e6c998dee827110c",
		  "GENERIC_SECRET=a8f5f167f44f4964e6c998dee827110c" },
		{ "password: hunter22", "GENERIC_SECRET=hunter22" },
		{ "\"client_secret\": \"Zx9vQ2mL8kP4\"", "GENERIC_SECRET=Zx9vQ2mL8kP4" },
		{ "db_password='pa55-w0rd!'", "GENERIC_SECRET=pa55-w0rd!" },
		{ "Authorization: Bearer abcdef0123456789ABCDEFxyz",
		  "GENERIC_SECRET=abcdef0123456789ABCDEFxyz" },
		{ "export GITHUB_TOKEN=Zx9vQ2mL8kP4abcdEFGH1234.",
		  "GENERIC_SECRET=Zx9vQ2mL8kP4abcdEFGH1234" },
		/* words, placeholders, references, comparisons, numbers */
		{ "password: required; secret: Something; token=short", "" },
		{ "password=changeme api_key=${API_KEY} secret=<your secret>", "" },
		{ "secret_key = os.environ['SECRET'] token: process.env.TOKEN", "" },
		{ "if password == 'abcdefgh12' then", "" },
		{ "max_tokens=4096 \"input_tokens\": 123456789012345", "" },
		{ "author: Jane Doe-Smith", "" },
		{ "token=aaaaaaaaaaaaaaaaaaaaaaaa", "" },
	};

	CHECK(t, ALL);
	ASSERT_TRUE(detect_secret_assignment("x-api-key", 9, "Zx9vQ2mL8kP4", 12, NULL));
	ASSERT_TRUE(!detect_secret_assignment("content", 7, "Zx9vQ2mL8kP4", 12, NULL));
	{
		size_t off = 0;

		ASSERT_TRUE(detect_secret_assignment("authorization", 13,
						     "Bearer abcdef0123456789ABCDEF", 29, &off));
		ASSERT_EQ(off, 7);
	}
}

TEST(detect_invisible_unicode)
{
	static const struct want t[] = {
		/* zero-width space + non-joiner, as one run */
		{ "a\xE2\x80\x8B\xE2\x80\x8C b", "INVISIBLE_UNICODE=\xE2\x80\x8B\xE2\x80\x8C" },
		/* tag characters spelling "AB" (ASCII smuggling) */
		{ "x\xF3\xA0\x81\x81\xF3\xA0\x81\x82y",
		  "INVISIBLE_UNICODE=\xF3\xA0\x81\x81\xF3\xA0\x81\x82" },
		/* right-to-left override, BOM */
		{ "file\xE2\x80\xAEtxt.exe", "INVISIBLE_UNICODE=\xE2\x80\xAE" },
		{ "\xEF\xBB\xBFhello", "INVISIBLE_UNICODE=\xEF\xBB\xBF" },
		/* legitimate: the flag of England, a ZWJ family emoji */
		{ "\xF0\x9F\x8F\xB4\xF3\xA0\x81\xA7\xF3\xA0\x81\xA2\xF3\xA0\x81\xA5\xF3\xA0\x81\xAE"
		  "\xF3\xA0\x81\xA7\xF3\xA0\x81\xBF",
		  "" },
		{ "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7", "" },
		{ "caf\xC3\xA9 na\xC3\xAFve \xE2\x80\x94 \xE2\x80\xA6", "" },
	};

	CHECK(t, ALL);
	/* not asked for: not reported */
	ASSERT_STREQ(found("a\xE2\x80\x8B", ALL & ~DETECT_BIT(DETECT_INVISIBLE_UNICODE)), "");
}

TEST(detect_ignores_redaction_tokens)
{
	ASSERT_STREQ(found("[GENERIC_SECRET:ab12cd34] [PRIVATE_KEY:12ab34cd] password=[REDACTED] "
			   "[AWS_ACCESS_KEY:9f2c41d0] [REDACTED:EMAIL] [US_SSN:\xE2\x80\xA6"
			   "8726] "
			   "[EMAIL:\xE2\x80\xA6@example.com] [OPENAI_KEY:sk-proj-\xE2\x80\xA6]",
			   ALL),
		     "");
}

TEST(detect_phone_longest_valid_prefix)
{
	/* +1 and 15 digits is no NANP number, +1 and the first 11 is: the
	 * card after it does not change that */
	ASSERT_STREQ(found("+1 415 555 2671 4111 1111 1111 1111", ALL),
		     "PHONE=+1 415 555 2671;CREDIT_CARD=4111 1111 1111 1111");
}

TEST(detect_overlaps_keep_specific)
{
	/* the key assignment holds an AWS key: one match, the specific one */
	ASSERT_STREQ(found("aws_access_key_id=AKIA"
			   "IOSFODNN7EXAMPLE",
			   ALL),
		     "AWS_ACCESS_KEY=AKIA"
		     "IOSFODNN7EXAMPLE");
	/* a card as the local part of an address */
	ASSERT_STREQ(found("4111111111111111@gmail.com", ALL), "CREDIT_CARD=4111111111111111");
	/* a longer credential hides what it contains */
	ASSERT_STREQ(found("password=4539578763621486-Zx9vQ", ALL),
		     "GENERIC_SECRET=4539578763621486-Zx9vQ");
}

TEST(detect_validators)
{
	ASSERT_TRUE(detect_luhn_ok("79927398713", 11));
	ASSERT_TRUE(!detect_luhn_ok("79927398710", 11));
	ASSERT_TRUE(!detect_luhn_ok("7992x398713", 11));
	ASSERT_TRUE(detect_iban_ok("GB82WEST12345698765432", 22));
	ASSERT_TRUE(!detect_iban_ok("GB82WEST12345698765433", 22));
	ASSERT_TRUE(!detect_iban_ok("GB82WEST1234569876543", 21));
	ASSERT_TRUE(!detect_iban_ok("gb82WEST12345698765432", 22));
	ASSERT_TRUE(detect_entropy("aaaa", 4) < 0.001);
	ASSERT_TRUE(detect_entropy("abcd", 4) > 1.999 && detect_entropy("abcd", 4) < 2.001);
	ASSERT_TRUE(detect_entropy("", 0) == 0);
}

TEST(detect_names_and_api)
{
	enum detect_entity e;
	struct found f = { .text = "a@example.com b@example.com 4111111111111111" };

	ASSERT_STREQ(detect_entity_name(DETECT_EMAIL), "EMAIL");
	ASSERT_STREQ(detect_entity_name(DETECT_GENERIC_SECRET), "GENERIC_SECRET");
	ASSERT_STREQ(detect_entity_name(DETECT_INVISIBLE_UNICODE), "INVISIBLE_UNICODE");
	ASSERT_TRUE(detect_entity_name(DETECT_ENTITY_COUNT) == NULL);
	ASSERT_EQ(detect_entity_parse("credit_card", &e), 0);
	ASSERT_EQ(e, DETECT_CREDIT_CARD);
	ASSERT_EQ(detect_entity_parse("NOPE", &e), -EINVAL);
	for (int i = 0; i < DETECT_ENTITY_COUNT; i++) {
		ASSERT_EQ(detect_entity_parse(detect_entity_name((enum detect_entity)i), &e), 0);
		ASSERT_EQ(e, i);
	}
	/* counts without a callback; the mask filters */
	ASSERT_EQ(detect_scan(det(), f.text, strlen(f.text), ALL, NULL, NULL), 3);
	ASSERT_EQ(detect_scan(det(), f.text, strlen(f.text), DETECT_BIT(DETECT_EMAIL), NULL, NULL),
		  2);
	ASSERT_EQ(detect_scan(det(), f.text, strlen(f.text), 0, NULL, NULL), 0);
	ASSERT_EQ(detect_scan(det(), "", 0, ALL, NULL, NULL), 0);
	ASSERT_EQ(detect_scan(NULL, "x", 1, ALL, NULL, NULL), -EINVAL);
}

static int stop_first(const struct detect_match *m, void *ctx)
{
	(*(int *)ctx)++;
	return 1;
}

TEST(detect_callback_stops)
{
	const char *s = "a@example.com b@example.com";
	int calls = 0;

	ASSERT_EQ(detect_scan(det(), s, strlen(s), ALL, stop_first, &calls), 1);
	ASSERT_EQ(calls, 1);
}

/* Hostile input: trigger-dense text of 1 MiB of each kind finishes fast. */
TEST(detect_hostile_input_is_linear)
{
	static const char *const units[] = {
		"@",
		"a@",
		"eyJ",
		"eyJhbGciOiJub25lIn0.",
		"1",
		"1 ",
		"1.",
		"1-",
		"::",
		"a:",
		"-----BEGIN RSA PRIVATE KEY-----",
		"sk-",
		"password=",
		"://a:",
		"DE89",
		"\xE2\x80\x8B",
		"\xF3\xA0\x81\x81",
		"+1 ",
		"4111 ",
	};
	size_t n = 1 << 20;
	char *buf = malloc(n + 1);

	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		size_t l = strlen(units[u]);
		struct timespec t0, t1;
		double ms;
		int rc;

		for (size_t i = 0; i < n; i++)
			buf[i] = units[u][i % l];
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = detect_scan(det(), buf, n, ALL | DETECT_SCAN_PRIVATE_IPS, NULL, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
		if (rc < 0 || ms > 2000) {
			free(buf);
			test_fail_at(__FILE__, __LINE__, "unit \"%s\": rc %d in %.0f ms", units[u],
				     rc, ms);
		}
	}
	free(buf);
}

/* The memo returns what detect_scan finds, per string and mask, until a reset. */
TEST(detect_memo_remembers_per_string_and_mask)
{
	static const char text[] = "mail jane.doe@example.com, card 4111 1111 1111 1111, "
				   "zero\xE2\x80\x8Bwidth";
	char copy[sizeof(text)];
	struct detect_memo *m;
	const struct detect_match *a, *b;
	size_t na, nb, len = strlen(text);
	struct found f = { .text = text };
	int tag;

	memcpy(copy, text, sizeof(text));
	ASSERT_EQ(detect_memo_new(&m), 0);
	detect_memo_reset(m, &tag);
	ASSERT_TRUE(detect_memo_record(m) == &tag);
	ASSERT_EQ(detect_memo_find(m, text, len, ALL, &a, &na), -ENOENT);
	ASSERT_EQ(detect_memo_scan(m, det(), text, len, ALL, &a, &na), 0);
	for (size_t i = 0; i < na; i++)
		grab(&a[i], &f);
	ASSERT_STREQ(f.out, found(text, ALL));
	ASSERT_EQ(na, 3);
	/* remembered: the same matches, not a new scan */
	ASSERT_EQ(detect_memo_find(m, text, len, ALL, &b, &nb), 0);
	ASSERT_TRUE(b == a && nb == na);
	ASSERT_EQ(detect_memo_scan(m, det(), text, len, ALL, &b, &nb), 0);
	ASSERT_TRUE(b == a && nb == na);
	/* another mask, another length or another string is not the same scan */
	ASSERT_EQ(detect_memo_find(m, text, len, DETECT_BIT(DETECT_EMAIL), &b, &nb), -ENOENT);
	ASSERT_EQ(detect_memo_find(m, text, len - 1, ALL, &b, &nb), -ENOENT);
	ASSERT_EQ(detect_memo_find(m, copy, len, ALL, &b, &nb), -ENOENT);
	ASSERT_EQ(detect_memo_scan(m, det(), text, len, DETECT_BIT(DETECT_EMAIL), &b, &nb), 0);
	ASSERT_EQ(nb, 1);
	ASSERT_EQ(b[0].entity, DETECT_EMAIL);
	/* many strings: the table grows and keeps them all */
	for (size_t i = 0; i + 6 <= len; i++)
		ASSERT_EQ(detect_memo_scan(m, det(), text + i, len - i, ALL, &b, &nb), 0);
	for (size_t i = 0; i + 6 <= len; i++)
		ASSERT_EQ(detect_memo_find(m, text + i, len - i, ALL, &b, &nb), 0);
	ASSERT_EQ(detect_memo_find(m, text, len, ALL, &b, &nb), 0);
	ASSERT_EQ(nb, 3);
	detect_memo_reset(m, NULL);
	ASSERT_TRUE(detect_memo_record(m) == NULL);
	ASSERT_EQ(detect_memo_find(m, text, len, ALL, &b, &nb), -ENOENT);
	ASSERT_EQ(detect_memo_find(m, text + 1, len - 1, ALL, &b, &nb), -ENOENT);
	ASSERT_EQ(detect_memo_find(NULL, text, len, ALL, &b, &nb), -ENOENT);
	detect_memo_free(m);
	detect_memo_free(NULL);
}
