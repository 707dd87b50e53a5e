// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>

#include "test.h"
#include "util/clock.h"
#include "util/dynbuf.h"
#include "util/base64.h"
#include "util/strnum.h"

TEST(dynbuf_caps_and_truncates)
{
	struct dynbuf b;

	dynbuf_init(&b, 10);
	ASSERT_EQ(dynbuf_append(&b, "hello", 5), 0);
	ASSERT_EQ(dynbuf_append(&b, " world", 6), -E2BIG);
	ASSERT_UEQ(b.len, 10);
	ASSERT_STREQ(b.buf, "hello worl");
	ASSERT_TRUE(b.truncated);
	ASSERT_EQ(dynbuf_append(&b, "x", 1), -E2BIG);
	ASSERT_UEQ(b.len, 10);
	dynbuf_reset(&b);
	ASSERT_UEQ(b.len, 0);
	ASSERT_TRUE(!b.truncated);
	dynbuf_free(&b);
}

TEST(dynbuf_grows_to_large_sizes)
{
	struct dynbuf b;
	char chunk[1000];
	size_t len;
	char *p;

	memset(chunk, 'a', sizeof(chunk));
	dynbuf_init(&b, 1 << 20);
	for (int i = 0; i < 1049; i++)
		dynbuf_append(&b, chunk, sizeof(chunk));
	ASSERT_UEQ(b.len, 1 << 20);
	ASSERT_TRUE(b.alloc <= (1u << 20) + 1);
	p = dynbuf_take(&b, &len);
	ASSERT_UEQ(len, 1 << 20);
	ASSERT_UEQ(b.len, 0);
	free(p);
}

TEST(strnum_parse_size_table)
{
	static const struct {
		const char *s;
		int err;
		uint64_t v;
	} cases[] = {
		{ "0", 0, 0 },
		{ "4096", 0, 4096 },
		{ "64k", 0, 65536 },
		{ "1M", 0, 1 << 20 },
		{ "2g", 0, 2ull << 30 },
		{ "", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "12x", -EINVAL, 0 },
		{ "1kk", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
		{ "99999999999999999999", -EINVAL, 0 },
		{ "17179869184g", -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 0;
		int err = strnum_parse_size(cases[i].s, &v);

		if (err != cases[i].err || (!err && v != cases[i].v))
			test_fail_at(__FILE__, __LINE__, "'%s': err %d v %llu", cases[i].s, err,
				     (unsigned long long)v);
	}
}

TEST(strnum_parse_ports_table)
{
	static const struct {
		const char *s;
		int err;
		size_t n;
		uint16_t first, last;
	} cases[] = {
		{ "8000", 0, 1, 8000, 8000 },
		{ "8000,30000,11434,8080,3000", 0, 5, 8000, 3000 },
		{ "1,65535", 0, 2, 1, 65535 },
		{ "8000,8000", 0, 1, 8000, 8000 },
		{ "none", 0, 0, 0, 0 },
		{ "", 0, 0, 0, 0 },
		{ "0", -EINVAL, 0, 0, 0 },
		{ "65536", -EINVAL, 0, 0, 0 },
		{ "80,", -EINVAL, 0, 0, 0 },
		{ ",80", -EINVAL, 0, 0, 0 },
		{ "80;81", -EINVAL, 0, 0, 0 },
		{ "-1", -EINVAL, 0, 0, 0 },
		{ "99999999999999999999", -EINVAL, 0, 0, 0 },
		{ "1,2,3,4,5,6,7,8,9", -E2BIG, 0, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint16_t p[8] = { 0 };
		size_t n = 99;
		int err = strnum_parse_ports(cases[i].s, p, 8, &n);

		if (err != cases[i].err ||
		    (!err && (n != cases[i].n ||
			      (n && (p[0] != cases[i].first || p[n - 1] != cases[i].last)))))
			test_fail_at(__FILE__, __LINE__, "'%s': err %d n %zu", cases[i].s, err, n);
	}
}

TEST(base64_round_trips)
{
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const coded[] = { "",	 "Zg==",     "Zm8=",	"Zm9v",
					     "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };

	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		json_t *j = base64_json_string((const unsigned char *)plain[i], strlen(plain[i]));
		unsigned char out[16];
		ssize_t n;

		ASSERT_TRUE(j != NULL);
		ASSERT_STREQ(json_string_value(j), coded[i]);
		json_decref(j);
		n = base64_decode(coded[i], strlen(coded[i]), out);
		ASSERT_EQ(n, (ssize_t)strlen(plain[i]));
		ASSERT_TRUE(memcmp(out, plain[i], (size_t)n) == 0);
	}
	ASSERT_EQ(base64_decode("Zm9v!", 5, (unsigned char[8]){ 0 }), -EINVAL);
}

TEST(clock_formats_rfc3339)
{
	char buf[40];

	clock_format_rfc3339(1700000000123456789ull, buf, sizeof(buf));
	ASSERT_STREQ(buf, "2023-11-14T22:13:20.123456789Z");
}
