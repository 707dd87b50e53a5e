// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* util/json_fast.c: output byte-identical to json_dumps(JSON_COMPACT). */
#include <errno.h>
#include <math.h> /* isfinite */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "llm/llm.h"
#include "util/json_fast.h"

/* 0 when json_fast_dump and json_dumps agree (or both refuse), 1 otherwise */
static int jf_differs(const json_t *j)
{
	struct json_fast_buf b = { 0 };
	char *ref = json_dumps(j, JSON_COMPACT);
	int err = json_fast_dump(j, &b), bad;

	if (err)
		bad = err != -EINVAL; /* refusing is always allowed: the caller falls back */
	else
		bad = !ref || strlen(ref) != b.len || memcmp(ref, b.data, b.len) != 0;
	if (bad)
		fprintf(stderr, "json_fast: err %d\n  ref  %s\n  fast %.*s\n", err,
			ref ? ref : "(null)", (int)b.len, b.data ? b.data : "");
	free(ref);
	json_fast_buf_free(&b);
	return bad;
}

/* 10^e without libm (the tests do not link it); exactness does not matter */
static double pow10_approx(int e)
{
	double d = 1.0;

	for (; e > 0; e--)
		d *= 10.0;
	for (; e < 0; e++)
		d /= 10.0;
	return d;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static json_t *random_string(void)
{
	static const char *const pieces[] = { "a",  "\"", "\\", "/",	"\b",		"\f",
					      "\n", "\r", "\t", "\x01", "\x1f",		"\x7f",
					      "é",  "€",  "😀",	" ",	"\xef\xbf\xbf", "" };
	char buf[256];
	size_t len = 0, n = rng() % 24;

	for (size_t i = 0; i < n; i++) {
		const char *p = pieces[rng() % (sizeof(pieces) / sizeof(pieces[0]))];
		size_t pl = strlen(p);

		if (!pl)
			pl = 1; /* an embedded NUL */
		memcpy(buf + len, p, pl);
		len += pl;
	}
	return json_stringn(buf, len);
}

static double random_double(void)
{
	for (;;) {
		uint64_t bits = rng();
		double d;

		switch (rng() % 4) {
		case 0:
			memcpy(&d, &bits, sizeof(d));
			break;
		case 1:
			d = (double)(int64_t)bits / (double)(1ull << (bits % 60));
			break;
		case 2:
			d = (double)(int)(bits % 2001 - 1000) / 10.0;
			break;
		default:
			d = pow10_approx((int)(bits % 640) - 320);
			break;
		}
		if (isfinite(d))
			return d;
	}
}

static json_t *random_value(int depth)
{
	unsigned k = (unsigned)(rng() % (depth > 5 ? 6 : 8));
	json_t *v;

	switch (k) {
	case 0:
		return json_null();
	case 1:
		return json_boolean(rng() & 1);
	case 2:
		return json_integer((json_int_t)rng() >> (rng() % 64));
	case 3:
		return json_real(random_double());
	case 4:
	case 5:
		return random_string();
	case 6:
		v = json_array();
		for (int i = (int)(rng() % 5); i > 0; i--)
			json_array_append_new(v, random_value(depth + 1));
		return v;
	default:
		v = json_object();
		for (int i = (int)(rng() % 5); i > 0; i--) {
			json_t *key = random_string();

			json_object_setn_new(v, json_string_value(key), json_string_length(key),
					     random_value(depth + 1));
			json_decref(key);
		}
		return v;
	}
}

TEST(json_fast_matches_jansson_on_random_trees)
{
	for (int i = 0; i < 20000; i++) {
		json_t *v = json_array();

		json_array_append_new(v, random_value(0));
		ASSERT_EQ(jf_differs(v), 0);
		json_decref(v);
	}
}

TEST(json_fast_numbers)
{
	static const json_int_t ints[] = {
		0, 1, -1, 9, 10, 99, 100, INT64_MAX, INT64_MIN, INT64_MIN + 1, 1000000000000000000ll
	};
	static const double reals[] = { 0.0,	       -0.0,
					0.1,	       1.0,
					-1.0,	       1e16,
					1e17,	       1e20,
					1e-5,	       1e-4,
					1e300,	       1e-300,
					5e-324,	       1.7976931348623157e308,
					123456789.125, 0.30000000000000004 };
	json_t *a = json_array();

	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		json_array_append_new(a, json_integer(ints[i]));
	for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++)
		json_array_append_new(a, json_real(reals[i]));
	for (int e = -330; e <= 310; e++)
		json_array_append_new(a, json_real(pow10_approx(e) * 1.5));
	ASSERT_EQ(jf_differs(a), 0);
	json_decref(a);
}

TEST(json_fast_every_byte_and_key_order)
{
	json_t *o = json_object();
	char s[2] = { 0 };

	for (int c = 0; c < 0x80; c++) {
		s[0] = (char)c;
		json_object_setn_new(o, s, 1, json_stringn(s, 1));
	}
	json_object_set_new(o, "z", json_object());
	json_object_set_new(o, "a", json_array());
	json_object_set_new(o, "a", json_true()); /* replaced: keeps its first position */
	ASSERT_EQ(jf_differs(o), 0);
	json_decref(o);
}

TEST(json_fast_refuses_what_it_cannot_reproduce)
{
	struct json_fast_buf b = { 0 };
	json_t *a = json_array(), *deep = json_array(), *s = json_string("x");

	/* invalid UTF-8 slips in only through the _nocheck constructors */
	json_array_append_new(a, json_stringn_nocheck("\xc0\x80", 2));
	ASSERT_EQ(json_fast_dump(a, &b), -EINVAL);
	ASSERT_EQ(b.len, 0);
	ASSERT_EQ(json_fast_dump(s, &b), -EINVAL);
	for (int i = 0; i < 1000; i++) {
		json_t *n = json_array();

		json_array_append_new(n, deep);
		deep = n;
	}
	ASSERT_EQ(json_fast_dump(deep, &b), -EINVAL);
	ASSERT_EQ(b.len, 0);
	json_decref(a);
	json_decref(deep);
	json_decref(s);
	json_fast_buf_free(&b);
}

/* agent/llm/openai.c: turns its chat stream fast path off */

static const char *no_header(const void *ctx, const char *name)
{
	return NULL;
}

static char *decode_chat_stream(const char *body, bool fast)
{
	static const char req[] = "{\"model\":\"m\",\"stream\":true}";
	struct llm_http h = { 0 };
	struct llm_exchange ex;
	json_t *j;
	char *s;
	int rc;

	h.method = "POST";
	h.path = "/v1/chat/completions";
	h.status = 200;
	h.resp_content_type = "text/event-stream";
	h.req_body = req;
	h.req_len = sizeof(req) - 1;
	h.resp_body = body;
	h.resp_len = strlen(body);
	h.resp_header = no_header;
	openai_sse_fast_off = !fast;
	llm_exchange_init(&ex);
	rc = llm_decode(LLM_API_OPENAI_CHAT, &h, &ex);
	j = llm_exchange_to_json(&ex);
	json_object_set_new(j, "rc", json_integer(rc));
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	llm_exchange_clear(&ex);
	openai_sse_fast_off = false;
	return s;
}

TEST(openai_stream_fast_path_matches_jansson)
{
	/* each line, prefixed by a common chunk, is one stream */
	static const char *const events[] = {
		"{\"id\":\"a\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"h\\u00e9\\ud83d\\ude00\\n\\\"\\/\"}}]}",
		"{\"choices\":[{\"delta\":{\"content\":\"\\u0000x\"}}]}",
		"{\"choices\":[{\"delta\":{\"content\":\"\\ud800\"}}]}",
		"{\"choices\":[{\"delta\":{\"content\":\"\\udc00x\"}}]}",
		"{\"choices\":[{\"delta\":{\"content\":\"\\x\"}}]}",
		"{\"choices\":[{\"delta\":{\"content\":\"a\",\"content\":\"b\"}}]}",
		"{\"choices\":[{\"index\":1,\"index\":0,\"delta\":{\"content\":\"b\"}}]}",
		"{\"choices\":[{\"index\":65536,\"delta\":{\"content\":\"b\"}}]}",
		"{\"choices\":[{\"index\":1.0,\"delta\":{\"content\":\"b\"}}]}",
		"{\"choices\":[{\"index\":01,\"delta\":{\"content\":\"b\"}}]}",
		"{\"created\":123456789012345678901,\"choices\":[{\"delta\":{\"content\":\"b\"}}]}",
		"{\"created\":-0,\"x\":true,\"y\":false,\"z\":null,\"choices\":[{\"delta\":null}]}",
		"{\"object\":\"error\",\"message\":\"boom\"}",
		"{\"error\":{\"type\":\"t\",\"message\":\"m\"}}",
		"{\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4},\"choices\":[]}",
		"{\"service_tier\":\"default\",\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}",
		"{\"choices\":[{\"delta\":{\"role\":\"\",\"content\":\"\"},\"finish_reason\":\"\"}]}",
		"{\"choices\":[{\"delta\":{\"refusal\":null,\"tool_calls\":null,\"content\":null}}]}",
		"{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"t\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}",
		"{\"choices\":[{\"delta\":{\"content\":\"x\"},\"finish_reason\":\"stop\"},{\"index\":2,\"delta\":{\"content\":\"y\"}}]}",
		"{\"choices\":[1,{\"delta\":{\"content\":\"y\"}}]}",
		"{\"choices\":[{\"delta\":{\"content\":\"\xc3\x28\"}}]}",
		"{\"choices\":[{\"delta\":{\"content\":\"a\tb\"}}]}",
		"{\"choices\":[{\"delta\":{\"content\":\"x\"}}]} trailing",
		" \t{\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\r ",
		"{\"ch\\u006fices\":[{\"delta\":{\"content\":\"x\"}}]}",
		"{\"choices\":[{\"delta\":{\"content\":\"x\"}}],}",
		"{}",
		"[]",
	};
	char body[4096];

	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		char *a, *b;

		snprintf(body, sizeof(body),
			 "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"role\":"
			 "\"assistant\",\"content\":\"hi\"}}]}\n\ndata: %s\n\ndata: %s\n\n"
			 "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":"
			 "\"length\"}]}\n\n",
			 events[i], events[i]);
		a = decode_chat_stream(body, true);
		b = decode_chat_stream(body, false);
		ASSERT_TRUE(a && b);
		if (strcmp(a, b) != 0)
			fprintf(stderr, "event %zu\n  fast %s\n  slow %s\n", i, a, b);
		ASSERT_STREQ(a, b);
		free(a);
		free(b);
	}
}
