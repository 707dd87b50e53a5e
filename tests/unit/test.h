/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A tiny table-friendly unit-test harness: TEST(name) registers a case,
 * ASSERT_* report file:line with actual and expected values and end the
 * case.  tests/unit/main.c runs every case and prints "N passed, N failed".
 */
#ifndef LLMTAP_TEST_H
#define LLMTAP_TEST_H

#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

struct test_case {
	const char *name;
	const char *file;
	void (*fn)(void);
	struct test_case *next;
};

void test_register(struct test_case *tc);
extern jmp_buf test_abort;
void test_fail_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
/* Reads tests/data/NAME into a malloc'd buffer (NUL-terminated); NULL on error. */
char *test_read_data(const char *name, size_t *len);

#define TEST(name)                                                             \
	static void name(void);                                                \
	static struct test_case name##_case = { #name, __FILE__, name, NULL }; \
	__attribute__((constructor)) static void name##_register(void)         \
	{                                                                      \
		test_register(&name##_case);                                   \
	}                                                                      \
	static void name(void)

#define ASSERT_TRUE(c)                                                             \
	do {                                                                       \
		if (!(c))                                                          \
			test_fail_at(__FILE__, __LINE__, "expected true: %s", #c); \
	} while (0)

#define ASSERT_EQ(a, b)                                                                          \
	do {                                                                                     \
		long long _a = (long long)(a), _b = (long long)(b);                              \
		if (_a != _b)                                                                    \
			test_fail_at(__FILE__, __LINE__, "%s == %s: actual %lld, expected %lld", \
				     #a, #b, _a, _b);                                            \
	} while (0)

#define ASSERT_UEQ(a, b)                                                                         \
	do {                                                                                     \
		unsigned long long _a = (unsigned long long)(a), _b = (unsigned long long)(b);   \
		if (_a != _b)                                                                    \
			test_fail_at(__FILE__, __LINE__, "%s == %s: actual %llu, expected %llu", \
				     #a, #b, _a, _b);                                            \
	} while (0)

#define ASSERT_STREQ(a, b)                                                                         \
	do {                                                                                       \
		const char *_a = (a), *_b = (b);                                                   \
		if (!_a || !_b || strcmp(_a, _b) != 0)                                             \
			test_fail_at(__FILE__, __LINE__, "%s: actual \"%s\", expected \"%s\"", #a, \
				     _a ? _a : "(null)", _b ? _b : "(null)");                      \
	} while (0)

#define ASSERT_MEMEQ(a, b, n)                                                                    \
	do {                                                                                     \
		size_t _n = (n);                                                                 \
		if (memcmp((a), (b), _n) != 0)                                                   \
			test_fail_at(__FILE__, __LINE__, "%s: %zu bytes differ from %s", #a, _n, \
				     #b);                                                        \
	} while (0)

#endif
