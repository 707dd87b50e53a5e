// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* OTLP/HTTP JSON encoding (shape, camelCase, int64 as strings, enums as
 * integers, the exact line as body), reply parsing, Retry-After, backoff. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "sink/otlp.h"
#include "sink/retry.h"
#include "test.h"

/* every key of every object is lowerCamelCase, except the values of "key" */
static bool camel_keys(json_t *v)
{
	const char *k;
	json_t *e;
	size_t i;

	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			if (!camel_keys(e))
				return false;
		return true;
	}
	if (!json_is_object(v))
		return true;
	json_object_foreach(v, k, e) {
		if (!(k[0] >= 'a' && k[0] <= 'z') || strpbrk(k, "_.-"))
			return false;
		if (!camel_keys(e))
			return false;
	}
	return true;
}

static json_t *attr(json_t *attrs, const char *key)
{
	json_t *e;
	size_t i;

	json_array_foreach(attrs, i, e)
		if (strcmp(json_string_value(json_object_get(e, "key")), key) == 0)
			return json_object_get(e, "value");
	return NULL;
}

TEST(sink_otlp_body_shape)
{
	static const char l1[] =
		"{\"schema\":\"llmtap.audit/1\",\"id\":\"u-1\",\"time\":\"2026-11-27T04:10:01.123456789Z\","
		"\"event.name\":\"gen_ai.client.inference.operation.details\",\"attributes\":{"
		"\"process.pid\":4242,\"gen_ai.request.temperature\":0.25,\"gen_ai.request.stream\":true,"
		"\"gen_ai.response.finish_reasons\":[\"stop\"],\"gen_ai.input.messages\":[{\"role\":"
		"\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"hi \\\"there\\\"\"}]}],"
		"\"x\":null},\"alerts\":[{\"rule\":\"r\"}],\"seq\":9007199254740993,"
		"\"prev\":\"ab12\"}";
	static const char l2[] = "{\"id\":\"u-2\",\"seq\":2,\"alerts\":[]}";
	char in[2048], *out = NULL;
	struct otlp_resource res = { "host-a", NULL, "1.2.3" };
	json_error_t jerr;
	json_t *root, *rl, *recs, *r, *a, *v;
	size_t len;

	snprintf(in, sizeof(in), "%s\n%s\n", l1, l2);
	ASSERT_EQ(otlp_encode_logs(in, strlen(in), &res, 1800000000000000000ull, &out, &len), 0);
	root = json_loadb(out, len, 0, &jerr);
	ASSERT_TRUE(root != NULL);
	ASSERT_TRUE(camel_keys(root));
	rl = json_array_get(json_object_get(root, "resourceLogs"), 0);
	a = json_object_get(json_object_get(rl, "resource"), "attributes");
	ASSERT_STREQ(json_string_value(json_object_get(attr(a, "service.name"), "stringValue")),
		     "llmtap");
	ASSERT_STREQ(json_string_value(json_object_get(attr(a, "host.name"), "stringValue")),
		     "host-a");
	v = json_object_get(json_array_get(json_object_get(rl, "scopeLogs"), 0), "scope");
	ASSERT_STREQ(json_string_value(json_object_get(v, "name")), "llmtap");
	ASSERT_STREQ(json_string_value(json_object_get(v, "version")), "1.2.3");
	recs = json_object_get(json_array_get(json_object_get(rl, "scopeLogs"), 0), "logRecords");
	ASSERT_UEQ(json_array_size(recs), 2);
	r = json_array_get(recs, 0);
	ASSERT_STREQ(json_string_value(json_object_get(r, "timeUnixNano")), "1795752601123456789");
	ASSERT_STREQ(json_string_value(json_object_get(r, "observedTimeUnixNano")),
		     "1800000000000000000");
	ASSERT_TRUE(json_is_integer(json_object_get(r, "severityNumber")));
	ASSERT_EQ(json_integer_value(json_object_get(r, "severityNumber")), OTLP_SEVERITY_WARN);
	ASSERT_STREQ(json_string_value(json_object_get(r, "eventName")),
		     "gen_ai.client.inference.operation.details");
	/* the body is the sealed line, byte for byte */
	ASSERT_STREQ(json_string_value(json_object_get(json_object_get(r, "body"), "stringValue")),
		     l1);
	a = json_object_get(r, "attributes");
	ASSERT_STREQ(json_string_value(json_object_get(attr(a, "process.pid"), "intValue")),
		     "4242");
	ASSERT_TRUE(json_real_value(json_object_get(attr(a, "gen_ai.request.temperature"),
						    "doubleValue")) == 0.25);
	ASSERT_TRUE(json_is_true(json_object_get(attr(a, "gen_ai.request.stream"), "boolValue")));
	v = json_object_get(
		json_object_get(attr(a, "gen_ai.response.finish_reasons"), "arrayValue"), "values");
	ASSERT_STREQ(json_string_value(json_object_get(json_array_get(v, 0), "stringValue")),
		     "stop");
	v = json_array_get(
		json_object_get(json_object_get(attr(a, "gen_ai.input.messages"), "arrayValue"),
				"values"),
		0);
	ASSERT_TRUE(json_object_get(json_object_get(v, "kvlistValue"), "values") != NULL);
	ASSERT_TRUE(attr(a, "x") == NULL); /* null attributes are omitted */
	ASSERT_STREQ(json_string_value(json_object_get(attr(a, "llmtap.seq"), "intValue")),
		     "9007199254740993");
	ASSERT_STREQ(json_string_value(json_object_get(attr(a, "llmtap.prev"), "stringValue")),
		     "ab12");
	ASSERT_STREQ(json_string_value(json_object_get(attr(a, "llmtap.id"), "stringValue")),
		     "u-1");
	r = json_array_get(recs, 1);
	ASSERT_EQ(json_integer_value(json_object_get(r, "severityNumber")), OTLP_SEVERITY_INFO);
	/* no "time": the observed time stands in */
	ASSERT_STREQ(json_string_value(json_object_get(r, "timeUnixNano")), "1800000000000000000");
	json_decref(root);
	free(out);
}

TEST(sink_otlp_time_parse)
{
	uint64_t ns = 0;

	ASSERT_EQ(otlp_parse_time("1970-01-01T00:00:01Z", &ns), 0);
	ASSERT_UEQ(ns, 1000000000ull);
	ASSERT_EQ(otlp_parse_time("1970-01-01T01:00:01.5+01:00", &ns), 0);
	ASSERT_UEQ(ns, 1500000000ull);
	ASSERT_EQ(otlp_parse_time("2026-11-27T04:10:01.123456789123Z", &ns), 0);
	ASSERT_UEQ(ns % 1000000000ull, 123456789ull);
	ASSERT_EQ(otlp_parse_time("2026-11-27 04:10:01Z", &ns), -EINVAL);
	ASSERT_EQ(otlp_parse_time("2026-13-27T04:10:01Z", &ns), -EINVAL);
	ASSERT_EQ(otlp_parse_time("2026-11-27T04:10:01", &ns), -EINVAL);
	ASSERT_EQ(otlp_parse_time("2026-11-27T04:10:01.Z", &ns), -EINVAL);
}

TEST(sink_otlp_reply_parse)
{
	struct otlp_reply r;
	static const char big[] = " ";

	ASSERT_EQ(otlp_parse_reply("", 0, &r), 0);
	ASSERT_TRUE(!r.partial);
	ASSERT_EQ(otlp_parse_reply("{}", 2, &r), 0);
	ASSERT_TRUE(!r.partial);
#define P(s) otlp_parse_reply(s, strlen(s), &r)
	ASSERT_EQ(P("{\"partialSuccess\":{\"rejectedLogRecords\":\"3\",\"errorMessage\":\"x\"}}"),
		  0);
	ASSERT_UEQ(r.rejected, 3);
	ASSERT_STREQ(r.message, "x");
	ASSERT_EQ(P("{\"partialSuccess\":{\"rejectedLogRecords\":5}}"), 0);
	ASSERT_UEQ(r.rejected, 5);
	ASSERT_EQ(P("{\"partialSuccess\":{}}"), 0);
	ASSERT_TRUE(r.partial && !r.rejected);
	ASSERT_EQ(P("{\"partialSuccess\":{\"rejectedLogRecords\":\"-1\"}}"), -EINVAL);
	ASSERT_EQ(P("{\"partialSuccess\":{\"rejectedLogRecords\":\"3x\"}}"), -EINVAL);
	ASSERT_EQ(P("{\"partialSuccess\":[]}"), -EINVAL);
	ASSERT_EQ(P("not json"), -EINVAL);
	ASSERT_EQ(P("[1]"), -EINVAL);
#undef P
	ASSERT_EQ(otlp_parse_reply(big, OTLP_REPLY_MAX + 1, &r), -E2BIG);
}

TEST(sink_retry_after_parse)
{
	time_t now = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
	uint64_t ms = 0;

#define P(s) retry_after_parse(s, strlen(s), now, &ms)
	ASSERT_EQ(P("120"), 0);
	ASSERT_UEQ(ms, 120000);
	ASSERT_EQ(P(" 0 \r\n"), 0);
	ASSERT_UEQ(ms, 0);
	ASSERT_EQ(P("99999999999999999999999"), 0);
	ASSERT_UEQ(ms, RETRY_AFTER_MAX_S * 1000ull);
	ASSERT_EQ(P("Sun, 06 Nov 1994 08:49:47 GMT"), 0);
	ASSERT_UEQ(ms, 10000);
	ASSERT_EQ(P("Sunday, 06-Nov-94 08:50:37 GMT"), 0);
	ASSERT_UEQ(ms, 60000);
	ASSERT_EQ(P("Sun Nov  6 08:49:39 1994"), 0);
	ASSERT_UEQ(ms, 2000);
	ASSERT_EQ(P("Sat, 05 Nov 1994 08:49:37 GMT"), 0); /* past */
	ASSERT_UEQ(ms, 0);
	ASSERT_EQ(P("-5"), -EINVAL);
	ASSERT_EQ(P("1.5"), -EINVAL);
	ASSERT_EQ(P("Sun, 06 Foo 1994 08:49:47 GMT"), -EINVAL);
	ASSERT_EQ(P("Sun, 06 Nov 1994 25:49:47 GMT"), -EINVAL);
	ASSERT_EQ(P(""), -EINVAL);
#undef P
}

TEST(sink_retry_backoff_full_jitter)
{
	ASSERT_UEQ(retry_backoff_ms(0, 100, 60000, UINT64_MAX), UINT64_MAX % 101);
	ASSERT_TRUE(retry_backoff_ms(0, 100, 60000, 12345) <= 100);
	ASSERT_TRUE(retry_backoff_ms(3, 100, 60000, 12345) <= 800);
	for (uint64_t r = 0; r < 1000; r += 7)
		ASSERT_TRUE(retry_backoff_ms(200, 100, 60000, r * 2654435761u) <= 60000);
	ASSERT_UEQ(retry_backoff_ms(200, 100, 60000, 60000), 60000);
}
