// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Content-Encoding tests.  The fixtures in tests/data/content/ are
 * text.txt compressed by the gzip, brotli and zstd tools and by Python's
 * zlib (see tests/data/content/README.md); each table case must decode
 * back to text.txt, whole, cut at every length, corrupted and capped.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/content.h"
#include "test.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIB (1024u * 1024)
#define NO_CAP ((size_t)64 * MIB)

struct sample {
	const char *file;
	enum content_coding codings[3];
	size_t n;
};

static const struct sample samples[] = {
	{ "content/text.gz", { CONTENT_GZIP }, 1 },
	{ "content/text.zlib", { CONTENT_DEFLATE }, 1 },
	{ "content/text.deflate", { CONTENT_DEFLATE }, 1 },
	/* gzip sent as "deflate" */
	{ "content/text.gz", { CONTENT_DEFLATE }, 1 },
	{ "content/text.br", { CONTENT_BR }, 1 },
	{ "content/text.zst", { CONTENT_ZSTD }, 1 },
	/* three members, three frames */
	{ "content/multi.gz", { CONTENT_GZIP }, 1 },
	{ "content/multi.zst", { CONTENT_ZSTD }, 1 },
	/* "deflate, gzip" and "gzip, br" */
	{ "content/chain_deflate_gzip.bin", { CONTENT_DEFLATE, CONTENT_GZIP }, 2 },
	{ "content/chain_gzip_br.bin", { CONTENT_GZIP, CONTENT_BR }, 2 },
	{ "content/text.txt", { CONTENT_IDENTITY }, 0 },
	{ "content/text.txt", { CONTENT_IDENTITY }, 1 },
	{ "content/text.gz", { CONTENT_IDENTITY, CONTENT_GZIP, CONTENT_IDENTITY }, 3 },
};

static char *load(const char *name, size_t *len)
{
	char *p = test_read_data(name, len);

	if (!p)
		test_fail_at(__FILE__, __LINE__, "cannot read tests/data/%s", name);
	return p;
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

TEST(content_test_parse_encoding)
{
	static const struct {
		const char *header;
		size_t max;
		int rc;
		enum content_coding want[4];
	} cases[] = {
		{ "gzip", 4, 1, { CONTENT_GZIP } },
		{ "GZip", 4, 1, { CONTENT_GZIP } },
		{ "x-gzip", 4, 1, { CONTENT_GZIP } },
		{ "X-GZIP", 4, 1, { CONTENT_GZIP } },
		{ "deflate", 4, 1, { CONTENT_DEFLATE } },
		{ "br", 4, 1, { CONTENT_BR } },
		{ "BR", 4, 1, { CONTENT_BR } },
		{ "zstd", 4, 1, { CONTENT_ZSTD } },
		{ "deflate, gzip", 4, 2, { CONTENT_DEFLATE, CONTENT_GZIP } },
		{ "  deflate ,\tgzip\t", 4, 2, { CONTENT_DEFLATE, CONTENT_GZIP } },
		{ "gzip,br,zstd", 4, 3, { CONTENT_GZIP, CONTENT_BR, CONTENT_ZSTD } },
		{ "gzip, identity, br", 4, 2, { CONTENT_GZIP, CONTENT_BR } },
		{ " , gzip ,, ", 4, 1, { CONTENT_GZIP } },
		{ "identity", 4, 0, { 0 } },
		{ "Identity, identity", 0, 0, { 0 } },
		{ "", 4, 0, { 0 } },
		{ " \t ", 4, 0, { 0 } },
		{ "gzip, gzip", 2, 2, { CONTENT_GZIP, CONTENT_GZIP } },
		{ "gzip, gzip, gzip", 2, -E2BIG, { 0 } },
		{ "gzip", 0, -E2BIG, { 0 } },
		{ "compress", 4, -ENOTSUP, { 0 } },
		{ "x-compress", 4, -ENOTSUP, { 0 } },
		{ "gzip, foo", 4, -ENOTSUP, { 0 } },
		{ "gzipx", 4, -ENOTSUP, { 0 } },
		{ "g zip", 4, -ENOTSUP, { 0 } },
		{ "gzip;q=1", 4, -ENOTSUP, { 0 } },
		{ "gz", 4, -ENOTSUP, { 0 } },
		/* unknown outranks too many */
		{ "gzip, gzip, sdch", 1, -ENOTSUP, { 0 } },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		enum content_coding got[4] = { CONTENT_UNKNOWN, CONTENT_UNKNOWN, CONTENT_UNKNOWN,
					       CONTENT_UNKNOWN };
		int rc = content_parse_encoding(cases[i].header, got, cases[i].max);

		if (rc != cases[i].rc)
			test_fail_at(__FILE__, __LINE__, "\"%s\": rc %d, expected %d",
				     cases[i].header, rc, cases[i].rc);
		for (int k = 0; k < rc; k++)
			ASSERT_EQ(got[k], cases[i].want[k]);
		/* never written past max */
		for (size_t k = cases[i].max; k < 4; k++)
			ASSERT_EQ(got[k], CONTENT_UNKNOWN);
	}
	ASSERT_EQ(content_parse_encoding(NULL, NULL, 0), 0);
}

TEST(content_test_coding_names)
{
	ASSERT_STREQ(content_coding_name(CONTENT_IDENTITY), "identity");
	ASSERT_STREQ(content_coding_name(CONTENT_GZIP), "gzip");
	ASSERT_STREQ(content_coding_name(CONTENT_DEFLATE), "deflate");
	ASSERT_STREQ(content_coding_name(CONTENT_BR), "br");
	ASSERT_STREQ(content_coding_name(CONTENT_ZSTD), "zstd");
	ASSERT_STREQ(content_coding_name(CONTENT_UNKNOWN), "unknown");
	ASSERT_STREQ(content_coding_name((enum content_coding)77), "unknown");
}

TEST(content_test_roundtrip)
{
	size_t text_len;
	char *text = load("content/text.txt", &text_len);

	for (size_t i = 0; i < ARRAY_SIZE(samples); i++) {
		const struct sample *s = &samples[i];
		bool truncated = true, incomplete = true;
		struct dynbuf out;
		size_t len;
		char *in = load(s->file, &len);
		int rc;

		/* whole, then with the cap exactly at the length, then one short */
		dynbuf_init(&out, NO_CAP);
		rc = content_decode(s->codings, s->n, in, len, &out, &truncated, &incomplete);
		if (rc || out.len != text_len)
			test_fail_at(__FILE__, __LINE__, "%s #%zu: rc %d len %zu", s->file, i, rc,
				     out.len);
		ASSERT_MEMEQ(out.buf, text, text_len);
		ASSERT_TRUE(!truncated && !incomplete);
		dynbuf_free(&out);

		dynbuf_init(&out, text_len);
		rc = content_decode(s->codings, s->n, in, len, &out, &truncated, &incomplete);
		ASSERT_EQ(rc, 0);
		ASSERT_UEQ(out.len, text_len);
		ASSERT_TRUE(!truncated && !incomplete);
		dynbuf_free(&out);

		dynbuf_init(&out, text_len - 1);
		rc = content_decode(s->codings, s->n, in, len, &out, &truncated, &incomplete);
		ASSERT_EQ(rc, 0);
		ASSERT_UEQ(out.len, text_len - 1);
		ASSERT_MEMEQ(out.buf, text, text_len - 1);
		ASSERT_TRUE(truncated && !incomplete);
		dynbuf_free(&out);
		free(in);
	}
	free(text);
}

TEST(content_test_header_to_decode)
{
	enum content_coding c[4];
	struct dynbuf out;
	size_t len, text_len;
	char *in = load("content/chain_deflate_gzip.bin", &len);
	char *text = load("content/text.txt", &text_len);
	int n = content_parse_encoding("Deflate , X-Gzip", c, 4);

	ASSERT_EQ(n, 2);
	/* appends after what out holds; NULL flags are allowed */
	dynbuf_init(&out, NO_CAP);
	ASSERT_EQ(dynbuf_append_str(&out, ">"), 0);
	ASSERT_EQ(content_decode(c, (size_t)n, in, len, &out, NULL, NULL), 0);
	ASSERT_UEQ(out.len, text_len + 1);
	ASSERT_EQ(out.buf[0], '>');
	ASSERT_MEMEQ(out.buf + 1, text, text_len);
	ASSERT_EQ(out.buf[out.len], '\0');
	dynbuf_free(&out);
	free(in);
	free(text);
}

TEST(content_test_empty)
{
	static const enum content_coding codings[] = { CONTENT_GZIP, CONTENT_DEFLATE, CONTENT_BR,
						       CONTENT_ZSTD };
	bool truncated, incomplete;
	struct dynbuf out;
	size_t len;
	char *in;

	dynbuf_init(&out, NO_CAP);
	for (size_t i = 0; i < ARRAY_SIZE(codings); i++) {
		ASSERT_EQ(content_decode(&codings[i], 1, "", 0, &out, &truncated, &incomplete), 0);
		ASSERT_UEQ(out.len, 0);
		ASSERT_TRUE(!truncated && !incomplete);
	}
	in = load("content/empty.gz", &len);
	ASSERT_EQ(content_decode(codings, 1, in, len, &out, &truncated, &incomplete), 0);
	ASSERT_UEQ(out.len, 0);
	ASSERT_TRUE(!truncated && !incomplete);
	dynbuf_free(&out);
	free(in);
}

/* A cut between two gzip members or zstd frames looks like a complete body. */
static bool at_boundary(const struct sample *s, size_t decoded)
{
	if (strcmp(s->file, "content/multi.gz") == 0)
		return decoded == 2000 || decoded == 4000;
	if (strcmp(s->file, "content/multi.zst") == 0)
		return decoded == 3000;
	return false;
}

/* A capture may stop anywhere: every cut is 0 + incomplete with a prefix. */
TEST(content_test_cut_every_length)
{
	size_t text_len;
	char *text = load("content/text.txt", &text_len);

	for (size_t i = 0; i < ARRAY_SIZE(samples); i++) {
		const struct sample *s = &samples[i];
		size_t len, prev = 0;
		char *in;

		if (s->n == 0 || s->codings[0] == CONTENT_IDENTITY)
			continue;
		in = load(s->file, &len);
		for (size_t k = 1; k < len; k++) {
			bool truncated = true, incomplete = false;
			struct dynbuf out;
			int rc;

			dynbuf_init(&out, NO_CAP);
			rc = content_decode(s->codings, s->n, in, k, &out, &truncated, &incomplete);
			if (rc != 0 || truncated || out.len > text_len ||
			    (!incomplete && !at_boundary(s, out.len)))
				test_fail_at(__FILE__, __LINE__,
					     "%s cut at %zu/%zu: rc %d incomplete %d len %zu",
					     s->file, k, len, rc, incomplete, out.len);
			if (out.len)
				ASSERT_MEMEQ(out.buf, text, out.len);
			/* a longer cut never decodes less */
			ASSERT_TRUE(out.len >= prev);
			prev = out.len;
			dynbuf_free(&out);
		}
		free(in);
	}
	free(text);
}

TEST(content_test_corrupt)
{
	static const struct {
		const char *file;
		enum content_coding coding;
		long off; /* byte to flip (negative: from the end) unless append */
		const char *append; /* or bytes added after the stream */
		bool whole; /* the text was decoded before the error was seen */
	} cases[] = {
		{ "content/text.gz", CONTENT_GZIP, 0, NULL, false }, /* magic */
		{ "content/text.gz", CONTENT_GZIP, 200, NULL, false },
		{ "content/text.gz", CONTENT_GZIP, -8, NULL, true }, /* CRC-32 */
		{ "content/text.gz", CONTENT_GZIP, -1, NULL, true }, /* ISIZE */
		{ "content/text.gz", CONTENT_GZIP, 0, "junk", true },
		/* a next member with an unknown method */
		{ "content/text.gz", CONTENT_GZIP, 0, "\x1f\x8b\x09\x01", true },
		{ "content/multi.gz", CONTENT_GZIP, 400, NULL, false },
		{ "content/text.zlib", CONTENT_DEFLATE, 1, NULL, false }, /* header check */
		{ "content/text.zlib", CONTENT_DEFLATE, 200, NULL, false },
		{ "content/text.zlib", CONTENT_DEFLATE, -1, NULL, true }, /* Adler-32 */
		{ "content/text.zlib", CONTENT_DEFLATE, 0, "x", true },
		{ "content/text.deflate", CONTENT_DEFLATE, 0, "x", true },
		{ "content/text.br", CONTENT_BR, 0, NULL, false },
		{ "content/text.br", CONTENT_BR, 0, "x", true },
		{ "content/text.zst", CONTENT_ZSTD, 0, NULL, false }, /* magic */
		{ "content/text.zst", CONTENT_ZSTD, 200, NULL, false },
		{ "content/text.zst", CONTENT_ZSTD, -1, NULL, false }, /* XXH64 */
		{ "content/text.zst", CONTENT_ZSTD, 0, "junkjunk", true },
		{ "content/text.txt", CONTENT_GZIP, 0, NULL, false },
		{ "content/text.txt", CONTENT_DEFLATE, 0, NULL, false },
		{ "content/text.txt", CONTENT_ZSTD, 0, NULL, false },
	};
	size_t text_len;
	char *text = load("content/text.txt", &text_len);

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		bool truncated = true, incomplete = true;
		size_t len, extra = cases[i].append ? strlen(cases[i].append) : 0;
		char *in = load(cases[i].file, &len);
		struct dynbuf out;
		int rc;

		in = realloc(in, len + extra + 1);
		ASSERT_TRUE(in != NULL);
		if (extra) {
			memcpy(in + len, cases[i].append, extra);
			len += extra;
		} else {
			in[cases[i].off < 0 ? (long)len + cases[i].off : cases[i].off] ^= 0x55;
		}
		dynbuf_init(&out, NO_CAP);
		rc = content_decode(&cases[i].coding, 1, in, len, &out, &truncated, &incomplete);
		if (rc != -EBADMSG)
			test_fail_at(__FILE__, __LINE__, "case %zu (%s): rc %d, len %zu", i,
				     cases[i].file, rc, out.len);
		ASSERT_TRUE(!truncated && !incomplete);
		if (cases[i].whole) {
			ASSERT_UEQ(out.len, text_len);
			ASSERT_MEMEQ(out.buf, text, text_len);
		}
		dynbuf_free(&out);
		free(in);
	}
	free(text);
}

/* Output before a mid-stream error is kept and is a prefix of the text. */
TEST(content_test_error_keeps_prefix)
{
	static const enum content_coding gz = CONTENT_GZIP;
	size_t len, text_len;
	char *text = load("content/text.txt", &text_len);
	char *in = load("content/multi.gz", &len);
	struct dynbuf out;

	/* the second member's magic: the first member (2000 bytes) stays */
	for (size_t k = 10; k + 1 < len; k++) {
		if ((unsigned char)in[k] == 0x1f && (unsigned char)in[k + 1] == 0x8b) {
			in[k] = 0;
			break;
		}
	}
	dynbuf_init(&out, NO_CAP);
	ASSERT_EQ(content_decode(&gz, 1, in, len, &out, NULL, NULL), -EBADMSG);
	ASSERT_UEQ(out.len, 2000);
	ASSERT_MEMEQ(out.buf, text, 2000);
	dynbuf_free(&out);
	free(in);
	free(text);
}

TEST(content_test_bombs)
{
	static const struct {
		const char *file;
		enum content_coding codings[2];
		size_t n;
		size_t cap;
	} cases[] = {
		/* 10 KiB of gzip for 10 MiB of zeros (deflate tops out near 1:1032) */
		{ "content/bomb.gz", { CONTENT_GZIP }, 1, MIB },
		/* 331 bytes, "gzip, gzip", for 100 MiB */
		{ "content/bomb_gzip_gzip.bin", { CONTENT_GZIP, CONTENT_GZIP }, 2, MIB },
		/* the middle stream is cut at 2 * cap + 64 KiB */
		{ "content/bomb_gzip_gzip.bin", { CONTENT_GZIP, CONTENT_GZIP }, 2, 1000 },
		{ "content/bomb.br", { CONTENT_BR }, 1, MIB },
		{ "content/bomb.zst", { CONTENT_ZSTD }, 1, MIB },
		{ "content/bomb.zst", { CONTENT_ZSTD }, 1, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		bool truncated = false, incomplete = true;
		struct dynbuf out;
		size_t len;
		char *in = load(cases[i].file, &len);
		double t0 = now_sec(), dt;
		int rc;

		dynbuf_init(&out, cases[i].cap);
		rc = content_decode(cases[i].codings, cases[i].n, in, len, &out, &truncated,
				    &incomplete);
		dt = now_sec() - t0;
		ASSERT_EQ(rc, 0);
		ASSERT_TRUE(truncated && !incomplete);
		ASSERT_UEQ(out.len, cases[i].cap);
		ASSERT_TRUE(out.alloc <= cases[i].cap + 1);
		for (size_t k = 0; k < out.len; k++)
			if (out.buf[k] != 0)
				test_fail_at(__FILE__, __LINE__, "%s: byte %zu is %d",
					     cases[i].file, k, out.buf[k]);
		/* reaching the cap takes milliseconds, 100 MiB would take far longer */
		if (dt > 1.0)
			test_fail_at(__FILE__, __LINE__, "%s took %.2f s", cases[i].file, dt);
		dynbuf_free(&out);
		free(in);
	}
}

/* RFC 9659: an HTTP zstd window is at most 8 MiB; larger ones are refused. */
TEST(content_test_zstd_window)
{
	static const enum content_coding zs = CONTENT_ZSTD;
	bool truncated = true, incomplete = true;
	struct dynbuf out;
	size_t len;
	char *in = load("content/window_8m.zst", &len);

	dynbuf_init(&out, 16 * MIB);
	ASSERT_EQ(content_decode(&zs, 1, in, len, &out, &truncated, &incomplete), 0);
	ASSERT_UEQ(out.len, 9 * MIB);
	ASSERT_TRUE(!truncated && !incomplete);
	free(in);
	dynbuf_reset(&out);
	in = load("content/window_128m.zst", &len);
	ASSERT_EQ(content_decode(&zs, 1, in, len, &out, &truncated, &incomplete), -EBADMSG);
	ASSERT_UEQ(out.len, 0);
	dynbuf_free(&out);
	free(in);
}

/* With room for it, the single-layer bomb decodes whole and complete. */
TEST(content_test_bomb_whole)
{
	static const enum content_coding gz = CONTENT_GZIP;
	bool truncated = true, incomplete = true;
	struct dynbuf out;
	size_t len;
	char *in = load("content/bomb.gz", &len);

	dynbuf_init(&out, 16 * MIB);
	ASSERT_EQ(content_decode(&gz, 1, in, len, &out, &truncated, &incomplete), 0);
	ASSERT_UEQ(out.len, 10 * MIB);
	ASSERT_TRUE(!truncated && !incomplete);
	dynbuf_free(&out);
	free(in);
}

TEST(content_test_unsupported)
{
	static const enum content_coding bad[][2] = {
		{ CONTENT_UNKNOWN },
		{ CONTENT_GZIP, CONTENT_UNKNOWN },
		{ (enum content_coding)42 },
		{ (enum content_coding) - 1 },
	};
	enum content_coding many[CONTENT_MAX_CODINGS + 2];
	struct dynbuf out;
	size_t len;
	char *in = load("content/text.gz", &len);

	dynbuf_init(&out, NO_CAP);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ASSERT_EQ(content_decode(bad[i], bad[i][1] ? 2 : 1, in, len, &out, NULL, NULL),
			  -ENOTSUP);
		ASSERT_UEQ(out.len, 0);
	}
	for (size_t i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = CONTENT_GZIP;
	ASSERT_EQ(content_decode(many, CONTENT_MAX_CODINGS + 1, in, len, &out, NULL, NULL),
		  -ENOTSUP);
	/* identity entries do not count towards the limit */
	many[0] = CONTENT_IDENTITY;
	many[1] = CONTENT_IDENTITY;
	ASSERT_EQ(content_decode(many + 1, CONTENT_MAX_CODINGS + 1, in, len, &out, NULL, NULL),
		  -EBADMSG); /* accepted; the second gzip then finds plain text */
	dynbuf_free(&out);
	free(in);
}

/* The start of a next gzip member or zstd frame is a cut, not garbage. */
TEST(content_test_cut_next_member)
{
	static const struct {
		const char *file;
		enum content_coding coding;
		const char *append;
		size_t n;
	} cases[] = {
		{ "content/text.gz", CONTENT_GZIP, "\x1f\x8b\x08\x00", 4 },
		{ "content/text.zst", CONTENT_ZSTD, "\x28\xb5\x2f\xfd", 4 },
	};
	size_t text_len;
	char *text = load("content/text.txt", &text_len);

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		bool truncated = true, incomplete = false;
		struct dynbuf out;
		size_t len;
		char *in = load(cases[i].file, &len);

		in = realloc(in, len + cases[i].n);
		ASSERT_TRUE(in != NULL);
		memcpy(in + len, cases[i].append, cases[i].n);
		dynbuf_init(&out, NO_CAP);
		ASSERT_EQ(content_decode(&cases[i].coding, 1, in, len + cases[i].n, &out,
					 &truncated, &incomplete),
			  0);
		ASSERT_TRUE(!truncated && incomplete);
		ASSERT_UEQ(out.len, text_len);
		ASSERT_MEMEQ(out.buf, text, text_len);
		dynbuf_free(&out);
		free(in);
	}
	free(text);
}
