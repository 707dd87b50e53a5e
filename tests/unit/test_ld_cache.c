// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "capture/ld_cache.h"
#include "test.h"

struct found {
	int n;
	char paths[8][128];
};

static int collect(const char *path, void *ctx)
{
	struct found *f = ctx;

	if (f->n < 8)
		snprintf(f->paths[f->n++], sizeof(f->paths[0]), "%s", path);
	return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* Builds a new-format cache at img+base with the given (key, value) pairs;
 * returns the image size. Offsets are relative to the new header. */
static size_t build(uint8_t *img, size_t base, const char *const *kv, uint32_t n)
{
	uint8_t *h = img + base;
	size_t str = 48 + (size_t)n * 24;

	memcpy(h, "glibc-ld.so.cache1.1", 20);
	put32(h + 20, n);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *e = h + 48 + i * 24;

		put32(e, 0x303);
		put32(e + 4, (uint32_t)str);
		strcpy((char *)h + str, kv[2 * i]);
		str += strlen(kv[2 * i]) + 1;
		put32(e + 8, (uint32_t)str);
		strcpy((char *)h + str, kv[2 * i + 1]);
		str += strlen(kv[2 * i + 1]) + 1;
	}
	put32(h + 24, (uint32_t)(str - 48 - n * 24));
	return base + str;
}

static const char *const entries[] = {
	"libz.so.1",	 "/lib/x86_64-linux-gnu/libz.so.1",
	"libssl.so.3",	 "/lib/x86_64-linux-gnu/libssl.so.3",
	"libssl3.so",	 "/lib/x86_64-linux-gnu/libssl3.so",
	"libssl.so.1.1", "/opt/old/libssl.so.1.1",
	"libssl.so.9",	 "relative/not-absolute.so",
};
static const char *const prefixes[] = { "libssl.so" };

TEST(ld_cache_new_format)
{
	uint8_t *img = calloc(1, 4096);
	struct found f = { 0 };
	size_t size = build(img, 0, entries, 5);

	ASSERT_EQ(ld_cache_find(img, size, prefixes, 1, collect, &f), 2);
	ASSERT_STREQ(f.paths[0], "/lib/x86_64-linux-gnu/libssl.so.3");
	ASSERT_STREQ(f.paths[1], "/opt/old/libssl.so.1.1");
	free(img);
}

TEST(ld_cache_old_then_new_format)
{
	uint8_t *img = calloc(1, 4096);
	struct found f = { 0 };
	size_t size;

	memcpy(img, "ld.so-1.7.0", 11);
	put32(img + 12, 3); /* three old entries of 12 bytes: new header at 16+36 -> 56 */
	size = build(img, 56, entries, 5);
	ASSERT_EQ(ld_cache_find(img, size, prefixes, 1, collect, &f), 2);
	ASSERT_STREQ(f.paths[0], "/lib/x86_64-linux-gnu/libssl.so.3");
	free(img);
}

TEST(ld_cache_rejects_garbage_and_truncation)
{
	uint8_t *img = calloc(1, 4096);
	size_t size = build(img, 0, entries, 5);
	struct found f = { 0 };

	ASSERT_EQ(ld_cache_find("not a cache", 11, prefixes, 1, collect, &f), -EBADMSG);
	ASSERT_EQ(ld_cache_find(img, 47, prefixes, 1, collect, &f), -EBADMSG);
	/* an old magic with no room for its entry count (found by the fuzzer) */
	ASSERT_EQ(ld_cache_find("ld.so-1.7.0\a\x03.", 15, prefixes, 1, collect, &f), -EBADMSG);
	/* every truncation is handled: an error or fewer matches, never a crash */
	for (size_t cut = 0; cut < size; cut++) {
		int n = ld_cache_find(img, cut, prefixes, 1, NULL, NULL);

		ASSERT_TRUE(n == -EBADMSG || (n >= 0 && n <= 2));
	}
	/* an entry count larger than the file */
	put32(img + 20, 0x7fffffff);
	ASSERT_EQ(ld_cache_find(img, size, prefixes, 1, collect, &f), -EBADMSG);
	free(img);
}

TEST(ld_cache_real_system_cache)
{
	size_t len = 0;
	FILE *fp = fopen("/etc/ld.so.cache", "rb");
	struct found f = { 0 };
	uint8_t *img;
	int n;

	if (!fp) {
		printf("  note: no /etc/ld.so.cache\n");
		return;
	}
	img = malloc(64 << 20);
	len = fread(img, 1, 64 << 20, fp);
	fclose(fp);
	n = ld_cache_find(img, len, prefixes, 1, collect, &f);
	free(img);
	ASSERT_TRUE(n >= 0);
	printf("  note: %d libssl entries in /etc/ld.so.cache%s%s\n", n, n ? ", first " : "",
	       n ? f.paths[0] : "");
}
