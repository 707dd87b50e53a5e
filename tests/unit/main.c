// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit-test runner: runs every registered TEST (optionally those whose name
 * contains argv[1]) and ends with the line "N passed, N failed". */
#include <stdarg.h>
#include <stdlib.h>

#include "test.h"

static struct test_case *cases;
static struct test_case **tail = &cases;
jmp_buf test_abort;

void test_register(struct test_case *tc)
{
	*tail = tc;
	tail = &tc->next;
}

void test_fail_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "  %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	longjmp(test_abort, 1);
}

char *test_read_data(const char *name, size_t *len)
{
	const char *dir = getenv("LLMTAP_TEST_DATA");
	char path[4096];
	FILE *f;
	char *buf = NULL;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/data", name);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		goto out;
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
		goto out;
	}
	if (buf) {
		buf[n] = '\0';
		if (len)
			*len = (size_t)n;
	}
out:
	fclose(f);
	return buf;
}

/* Runs one case; 1 passed, 0 failed.  Its own frame keeps setjmp simple. */
static int run_case(struct test_case *tc)
{
	if (setjmp(test_abort) == 0) {
		tc->fn();
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned passed = 0, failed = 0;

	for (struct test_case *tc = cases; tc; tc = tc->next) {
		if (argc > 1 && !strstr(tc->name, argv[1]))
			continue;
		if (run_case(tc)) {
			printf("ok   %s\n", tc->name);
			passed++;
		} else {
			printf("FAIL %s (%s)\n", tc->name, tc->file);
			failed++;
		}
		fflush(stdout);
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
