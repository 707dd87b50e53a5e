// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* HPACK: RFC 7541 Appendix C examples, table sizes, eviction, malformed blocks. */
#include <errno.h>
#include <stdlib.h>

#include "proto/hpack.h"
#include "test.h"

/* Decoded fields as "name: value\n" lines. */
struct fields {
	char text[4096];
	size_t len;
	int n;
};

static int collect(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen)
{
	struct fields *f = ctx;
	int w = snprintf(f->text + f->len, sizeof(f->text) - f->len, "%.*s: %.*s\n", (int)nlen,
			 name, (int)vlen, value);

	if (w > 0 && (size_t)w < sizeof(f->text) - f->len)
		f->len += (size_t)w;
	f->n++;
	return 0;
}

/* "82 86 8441..." (spaces ignored) into bytes; returns the length. */
static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *hex; hex++) {
		int v;

		if (*hex >= '0' && *hex <= '9')
			v = *hex - '0';
		else if (*hex >= 'a' && *hex <= 'f')
			v = *hex - 'a' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			if (n < cap)
				out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return n;
}

/* Decodes one hex block with d; returns hpack_decode's result. */
static int decode_hex(struct hpack_decoder *d, const char *hex, struct fields *f, unsigned *out)
{
	uint8_t buf[1024];
	size_t n = unhex(hex, buf, sizeof(buf));

	memset(f, 0, sizeof(*f));
	return hpack_decode(d, buf, n, 1 << 20, collect, f, out);
}

static void assert_entry(struct hpack_decoder *d, size_t index, const char *name, const char *value)
{
	const char *n, *v;

	ASSERT_EQ(hpack_decoder_entry(d, index, &n, &v), 0);
	ASSERT_STREQ(n, name);
	ASSERT_STREQ(v, value);
}

TEST(hpack_integer_examples_c1)
{
	static const uint8_t ten[] = { 0x0a }, big[] = { 0x1f, 0x9a, 0x0a }, b42[] = { 0x2a };
	const uint8_t *p;
	uint32_t v;

	/* C.1.1: 10 with a 5-bit prefix (the top bits belong to the representation) */
	p = ten;
	ASSERT_EQ(hpack_decode_int(&p, ten + 1, 5, &v), 0);
	ASSERT_EQ(v, 10);
	ASSERT_TRUE(p == ten + 1);
	/* C.1.2: 1337 with a 5-bit prefix */
	p = big;
	ASSERT_EQ(hpack_decode_int(&p, big + 3, 5, &v), 0);
	ASSERT_EQ(v, 1337);
	ASSERT_TRUE(p == big + 3);
	/* C.1.3: 42 starting at an octet boundary */
	p = b42;
	ASSERT_EQ(hpack_decode_int(&p, b42 + 1, 8, &v), 0);
	ASSERT_EQ(v, 42);
}

TEST(hpack_integer_malformed)
{
	static const uint8_t trunc[] = { 0x1f, 0x9a },
			     longer[] = { 0x1f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 };
	static const uint8_t over[] = { 0x1f, 0xff, 0xff, 0xff, 0xff, 0x0f };
	static const uint8_t max[] = { 0x1f, 0xe0, 0xff, 0xff, 0xff, 0x0f };
	const uint8_t *p;
	uint32_t v;

	p = trunc;
	ASSERT_EQ(hpack_decode_int(&p, trunc + sizeof(trunc), 5, &v), -EPROTO);
	p = trunc;
	ASSERT_EQ(hpack_decode_int(&p, trunc, 5, &v), -EPROTO); /* empty */
	p = longer; /* six continuation bytes */
	ASSERT_EQ(hpack_decode_int(&p, longer + sizeof(longer), 5, &v), -EPROTO);
	p = over; /* 31 + 0xffffffff > UINT32_MAX */
	ASSERT_EQ(hpack_decode_int(&p, over + sizeof(over), 5, &v), -EPROTO);
	p = max; /* 31 + 0xffffffe0 = UINT32_MAX */
	ASSERT_EQ(hpack_decode_int(&p, max + sizeof(max), 5, &v), 0);
	ASSERT_UEQ(v, 0xffffffffu);
}

TEST(hpack_huffman_codes_match_rfc_table)
{
	/* Appendix B, spread over every code length */
	static const struct {
		unsigned sym;
		uint32_t code;
		unsigned bits;
	} t[] = {
		{ 0, 0x1ff8, 13 },	{ 1, 0x7fffd8, 23 },	 { 9, 0xffffea, 24 },
		{ 10, 0x3ffffffc, 30 }, { 22, 0x3ffffffe, 30 },	 { ' ', 0x14, 6 },
		{ '!', 0x3f8, 10 },	{ '0', 0x0, 5 },	 { ':', 0x5c, 7 },
		{ '<', 0x7ffc, 15 },	{ 'X', 0xfc, 8 },	 { '\\', 0x7fff0, 19 },
		{ 'a', 0x3, 5 },	{ 'z', 0x7b, 7 },	 { '~', 0x1ffd, 13 },
		{ 127, 0xffffffc, 28 }, { 128, 0xfffe6, 20 },	 { 153, 0x1fffdc, 21 },
		{ 199, 0x1ffffec, 25 }, { 203, 0x7ffffde, 27 },	 { 220, 0xffffffd, 28 },
		{ 255, 0x3ffffee, 26 }, { 256, 0x3fffffff, 30 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint32_t code;
		unsigned bits;

		hpack_huffman_code(t[i].sym, &code, &bits);
		ASSERT_UEQ(code, t[i].code);
		ASSERT_EQ(bits, t[i].bits);
	}
}

/* Codes follow from lengths (canonical), and the lengths make a complete code. */
TEST(hpack_huffman_code_is_canonical_and_complete)
{
	uint64_t next = 0, kraft = 0; /* kraft in units of 2^-30 */

	for (unsigned len = 1; len <= 30; len++) {
		for (unsigned sym = 0; sym <= 256; sym++) {
			uint32_t code;
			unsigned bits;

			hpack_huffman_code(sym, &code, &bits);
			if (bits != len)
				continue;
			ASSERT_UEQ(code, next);
			next++;
			kraft += 1ull << (30 - len);
		}
		next <<= 1;
	}
	ASSERT_UEQ(kraft, 1ull << 30);
}

/* Huffman-encodes n bytes with the decoder's own code table. */
static size_t huff_encode(const uint8_t *s, size_t n, uint8_t *out)
{
	uint64_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t code;
		unsigned len;

		hpack_huffman_code(s[i], &code, &len);
		acc = acc << len | code;
		bits += len;
		while (bits >= 8) {
			out[o++] = (uint8_t)(acc >> (bits - 8));
			bits -= 8;
		}
	}
	if (bits)
		out[o++] = (uint8_t)(acc << (8 - bits) | ((1u << (8 - bits)) - 1));
	return o;
}

TEST(hpack_huffman_round_trip_every_symbol)
{
	uint8_t in[256], enc[1200];
	char dec[512];
	size_t n, len;

	for (int i = 0; i < 256; i++)
		in[i] = (uint8_t)(255 - i);
	n = huff_encode(in, sizeof(in), enc);
	ASSERT_EQ(hpack_huffman_decode(enc, n, dec, sizeof(dec), &len), 0);
	ASSERT_EQ(len, 256);
	ASSERT_MEMEQ(dec, in, 256);
	/* every prefix length of the input, so that every padding length occurs */
	for (size_t k = 0; k < 40; k++) {
		n = huff_encode(in + 100, k, enc);
		ASSERT_EQ(hpack_huffman_decode(enc, n, dec, sizeof(dec), &len), 0);
		ASSERT_EQ(len, k);
		ASSERT_MEMEQ(dec, in + 100, k);
	}
}

TEST(hpack_huffman_rejects_bad_padding_and_eos)
{
	static const uint8_t eos[] = { 0xff, 0xff, 0xff, 0xfc }; /* 30 one bits = EOS */
	static const uint8_t long_pad[] = { 0x1f, 0xff }; /* '0' then 11 bits of padding */
	static const uint8_t zero_pad[] = { 0x00 }; /* '0' then 000 */
	static const uint8_t ok[] = { 0x07 }; /* '0' then 111 */
	char out[16];
	size_t len;

	ASSERT_EQ(hpack_huffman_decode(eos, sizeof(eos), out, sizeof(out), &len), -EPROTO);
	ASSERT_EQ(hpack_huffman_decode(long_pad, sizeof(long_pad), out, sizeof(out), &len),
		  -EPROTO);
	ASSERT_EQ(hpack_huffman_decode(zero_pad, sizeof(zero_pad), out, sizeof(out), &len),
		  -EPROTO);
	ASSERT_EQ(hpack_huffman_decode(ok, sizeof(ok), out, sizeof(out), &len), 0);
	ASSERT_EQ(len, 1);
	ASSERT_EQ(out[0], '0');
	ASSERT_EQ(hpack_huffman_decode(ok, sizeof(ok), out, 0, &len), -ENOSPC);
}

TEST(hpack_c2_literal_fields)
{
	struct hpack_decoder *d = hpack_decoder_new(0);
	struct fields f;

	/* C.2.1: literal with indexing */
	ASSERT_EQ(decode_hex(d, "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
			     &f, NULL),
		  0);
	ASSERT_STREQ(f.text, "custom-key: custom-header\n");
	ASSERT_EQ(hpack_decoder_table_size(d), 55);
	assert_entry(d, 62, "custom-key", "custom-header");
	hpack_decoder_free(d);

	/* C.2.2: literal without indexing */
	d = hpack_decoder_new(0);
	ASSERT_EQ(decode_hex(d, "040c 2f73 616d 706c 652f 7061 7468", &f, NULL), 0);
	ASSERT_STREQ(f.text, ":path: /sample/path\n");
	ASSERT_EQ(hpack_decoder_table_entries(d), 0);
	/* C.2.3: literal never indexed */
	ASSERT_EQ(decode_hex(d, "1008 7061 7373 776f 7264 0673 6563 7265 74", &f, NULL), 0);
	ASSERT_STREQ(f.text, "password: secret\n");
	ASSERT_EQ(hpack_decoder_table_entries(d), 0);
	/* C.2.4: indexed */
	ASSERT_EQ(decode_hex(d, "82", &f, NULL), 0);
	ASSERT_STREQ(f.text, ":method: GET\n");
	ASSERT_EQ(hpack_decoder_table_size(d), 0);
	hpack_decoder_free(d);
}

/* C.3 (raw) and C.4 (Huffman) give the same requests and tables. */
static void check_requests(const char *const blocks[3])
{
	struct hpack_decoder *d = hpack_decoder_new(0);
	struct fields f;

	ASSERT_EQ(decode_hex(d, blocks[0], &f, NULL), 0);
	ASSERT_STREQ(f.text,
		     ":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com\n");
	ASSERT_EQ(hpack_decoder_table_size(d), 57);
	assert_entry(d, 62, ":authority", "www.example.com");

	ASSERT_EQ(decode_hex(d, blocks[1], &f, NULL), 0);
	ASSERT_STREQ(f.text, ":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com\n"
			     "cache-control: no-cache\n");
	ASSERT_EQ(hpack_decoder_table_size(d), 110);
	assert_entry(d, 62, "cache-control", "no-cache");
	assert_entry(d, 63, ":authority", "www.example.com");

	ASSERT_EQ(decode_hex(d, blocks[2], &f, NULL), 0);
	ASSERT_STREQ(f.text, ":method: GET\n:scheme: https\n:path: /index.html\n"
			     ":authority: www.example.com\ncustom-key: custom-value\n");
	ASSERT_EQ(hpack_decoder_table_size(d), 164);
	ASSERT_EQ(hpack_decoder_table_entries(d), 3);
	assert_entry(d, 62, "custom-key", "custom-value");
	assert_entry(d, 63, "cache-control", "no-cache");
	assert_entry(d, 64, ":authority", "www.example.com");
	hpack_decoder_free(d);
}

TEST(hpack_c3_requests_without_huffman)
{
	static const char *const blocks[3] = {
		"8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
		"8286 84be 5808 6e6f 2d63 6163 6865",
		"8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
	};

	check_requests(blocks);
}

TEST(hpack_c4_requests_with_huffman)
{
	static const char *const blocks[3] = {
		"8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
		"8286 84be 5886 a8eb 1064 9cbf",
		"8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
	};

	check_requests(blocks);
}

/*
 * C.5 (raw) and C.6 (Huffman): responses with a 256-byte table, so entries
 * are evicted.  The examples assume SETTINGS_HEADER_TABLE_SIZE = 256; here a
 * size update to 256 (3f e1 01) opens the first block.
 */
static void check_responses(const char *const blocks[3])
{
	static const char date1[] = "date: Mon, 21 Oct 2013 20:13:21 GMT\n";
	static const char loc[] = "location: https://www.example.com\n";
	struct hpack_decoder *d = hpack_decoder_new(0);
	struct fields f;
	char want[512];

	ASSERT_EQ(decode_hex(d, blocks[0], &f, NULL), 0);
	ASSERT_EQ(hpack_decoder_max_size(d), 256);
	snprintf(want, sizeof(want), ":status: 302\ncache-control: private\n%s%s", date1, loc);
	ASSERT_STREQ(f.text, want);
	ASSERT_EQ(hpack_decoder_table_size(d), 222);
	ASSERT_EQ(hpack_decoder_table_entries(d), 4);
	assert_entry(d, 62, "location", "https://www.example.com");
	assert_entry(d, 65, ":status", "302");

	ASSERT_EQ(decode_hex(d, blocks[1], &f, NULL), 0);
	snprintf(want, sizeof(want), ":status: 307\ncache-control: private\n%s%s", date1, loc);
	ASSERT_STREQ(f.text, want);
	ASSERT_EQ(hpack_decoder_table_size(d), 222);
	/* ":status: 302" was evicted to make room for ":status: 307" */
	assert_entry(d, 62, ":status", "307");
	assert_entry(d, 65, "cache-control", "private");

	ASSERT_EQ(decode_hex(d, blocks[2], &f, NULL), 0);
	ASSERT_STREQ(f.text,
		     ":status: 200\ncache-control: private\n"
		     "date: Mon, 21 Oct 2013 20:13:22 GMT\n"
		     "location: https://www.example.com\ncontent-encoding: gzip\n"
		     "set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1\n");
	ASSERT_EQ(hpack_decoder_table_size(d), 215);
	ASSERT_EQ(hpack_decoder_table_entries(d), 3);
	assert_entry(d, 62, "set-cookie",
		     "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1");
	assert_entry(d, 63, "content-encoding", "gzip");
	assert_entry(d, 64, "date", "Mon, 21 Oct 2013 20:13:22 GMT");
	hpack_decoder_free(d);
}

TEST(hpack_c5_responses_without_huffman)
{
	static const char *const blocks[3] = {
		"3fe101 4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 "
		"3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 "
		"2e65 7861 6d70 6c65 2e63 6f6d",
		"4803 3330 37c1 c0bf",
		"88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d "
		"54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 "
		"5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e "
		"3d31",
	};

	check_responses(blocks);
}

TEST(hpack_c6_responses_with_huffman)
{
	static const char *const blocks[3] = {
		"3fe101 4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 "
		"66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
		"4883 640e ffc1 c0bf",
		"88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab "
		"77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f "
		"9587 3160 65c0 03ed 4ee5 b106 3d50 07",
	};

	check_responses(blocks);
}

TEST(hpack_entry_larger_than_table_empties_it)
{
	struct hpack_decoder *d = hpack_decoder_new(0);
	uint8_t big[64];
	struct fields f;

	/* max 64, then "custom-key: custom-header" (55) fits, a second (55) evicts it */
	ASSERT_EQ(
		decode_hex(d,
			   "3f21 400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
			   &f, NULL),
		0);
	ASSERT_EQ(hpack_decoder_table_entries(d), 1);
	ASSERT_EQ(decode_hex(d, "4005 6162 6364 6505 6162 6364 65", &f, NULL), 0);
	ASSERT_STREQ(f.text, "abcde: abcde\n");
	ASSERT_EQ(hpack_decoder_table_entries(d), 1);
	assert_entry(d, 62, "abcde", "abcde");
	/* a 33-byte value makes an entry of 32 + 1 + 33 = 66 > 64: table emptied, not added */
	big[0] = 0x40;
	big[1] = 1;
	big[2] = 'x';
	big[3] = 33;
	memset(big + 4, 'x', 33);
	memset(&f, 0, sizeof(f));
	ASSERT_EQ(hpack_decode(d, big, 4 + 33, 1 << 20, collect, &f, NULL), 0);
	ASSERT_EQ(f.n, 1);
	ASSERT_EQ(hpack_decoder_table_entries(d), 0);
	ASSERT_EQ(hpack_decoder_table_size(d), 0);
	hpack_decoder_free(d);
}

TEST(hpack_size_updates)
{
	struct hpack_decoder *d = hpack_decoder_new(0);
	struct fields f;

	ASSERT_EQ(decode_hex(d, "4005 6162 6364 6505 6162 6364 65", &f, NULL), 0);
	ASSERT_EQ(hpack_decoder_table_entries(d), 1);
	/* update to 0 clears the table, then back to 4096, in one block */
	ASSERT_EQ(decode_hex(d, "20 3fe1 1f 82", &f, NULL), 0);
	ASSERT_EQ(hpack_decoder_table_entries(d), 0);
	ASSERT_EQ(hpack_decoder_max_size(d), 4096);
	ASSERT_STREQ(f.text, ":method: GET\n");
	/* above SETTINGS_HEADER_TABLE_SIZE (4096 by default): an error */
	ASSERT_EQ(decode_hex(d, "3fe2 1f", &f, NULL), -EPROTO);
	hpack_decoder_free(d);

	/* a larger setting allows it, up to the hard cap */
	d = hpack_decoder_new(8192);
	hpack_decoder_set_limit(d, 1u << 20);
	ASSERT_EQ(decode_hex(d, "3fe1 3f", &f, NULL), 0); /* 8192 */
	ASSERT_EQ(hpack_decoder_max_size(d), 8192);
	ASSERT_EQ(decode_hex(d, "3fe2 3f", &f, NULL), -EPROTO); /* 8193 > cap */
	ASSERT_TRUE(hpack_decoder_unknown(d));
	hpack_decoder_free(d);

	/* a size update after a field is an error (RFC 7541 4.2) */
	d = hpack_decoder_new(0);
	ASSERT_EQ(decode_hex(d, "82 20", &f, NULL), -EPROTO);
	hpack_decoder_free(d);
}

TEST(hpack_malformed_blocks_fail_and_forget)
{
	static const char *const bad[] = {
		"80", /* index 0 */
		"bf", /* index 63: the dynamic table has one entry */
		"c0", /* index 64 */
		"7f", /* truncated integer */
		"4005 6162 63", /* name shorter than announced */
		"4085 ffff", /* Huffman name truncated */
		"0081 ff", /* Huffman string of EOS bits */
		"4003 6162 63", /* value missing */
		"5f10", /* name index 31 + 16 = 47 (max-forwards), then no value */
	};
	struct fields f;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hpack_decoder *d = hpack_decoder_new(0);

		/* give the table one entry first, which the failure must forget */
		ASSERT_EQ(decode_hex(d, "4005 6162 6364 6505 6162 6364 65", &f, NULL), 0);
		ASSERT_EQ(decode_hex(d, bad[i], &f, NULL), -EPROTO);
		ASSERT_TRUE(hpack_decoder_unknown(d));
		ASSERT_EQ(hpack_decoder_table_entries(d), 0);
		hpack_decoder_free(d);
	}
}

TEST(hpack_unknown_mode_keeps_what_it_can)
{
	struct hpack_decoder *d = hpack_decoder_new(0);
	struct fields f;
	unsigned out;

	hpack_decoder_forget(d);
	/* :method POST (static), a dynamic reference we never saw, a literal */
	ASSERT_EQ(decode_hex(d, "83 c5 0f10 0474 6578 74", &f, &out), 0);
	ASSERT_STREQ(f.text, ":method: POST\ncontent-type: text\n");
	ASSERT_UEQ(out, HPACK_OUT_PARTIAL);
	/* a literal added under an unknown name (index 70) still takes its place,
	 * then a known one: index 62 and 63 must resolve to the right entries */
	ASSERT_EQ(decode_hex(d, "7f07 0276 31 4005 6162 6364 6505 6162 6364 65", &f, &out), 0);
	ASSERT_UEQ(out, HPACK_OUT_PARTIAL);
	ASSERT_STREQ(f.text, "abcde: abcde\n");
	ASSERT_EQ(hpack_decoder_table_entries(d), 2);
	ASSERT_EQ(decode_hex(d, "be bf", &f, &out), 0);
	ASSERT_STREQ(f.text, "abcde: abcde\n");
	ASSERT_UEQ(out, HPACK_OUT_PARTIAL); /* 63 has an unknown name */
	/* malformed input still fails in this mode */
	ASSERT_EQ(decode_hex(d, "80", &f, &out), -EPROTO);
	hpack_decoder_free(d);
}

TEST(hpack_list_cap_truncates_but_keeps_table_in_sync)
{
	struct hpack_decoder *d = hpack_decoder_new(0);
	uint8_t buf[64];
	size_t n = unhex("82 4005 6162 6364 6505 6162 6364 65 86", buf, sizeof(buf));
	struct fields f = { 0 };
	unsigned out;

	/* ":method: GET" is 10 + 32 bytes; the next one does not fit in 60 */
	ASSERT_EQ(hpack_decode(d, buf, n, 60, collect, &f, &out), 0);
	ASSERT_UEQ(out, HPACK_OUT_TRUNCATED);
	ASSERT_STREQ(f.text, ":method: GET\n");
	ASSERT_EQ(hpack_decoder_table_entries(d), 1);
	assert_entry(d, 62, "abcde", "abcde");
	hpack_decoder_free(d);
}

static int fail_cb(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen)
{
	return -ECANCELED;
}

TEST(hpack_callback_error_stops)
{
	struct hpack_decoder *d = hpack_decoder_new(0);
	uint8_t buf[4];
	size_t n = unhex("8286", buf, sizeof(buf));

	ASSERT_EQ(hpack_decode(d, buf, n, 1 << 20, fail_cb, NULL, NULL), -ECANCELED);
	ASSERT_EQ(hpack_decode(d, buf, 0, 1 << 20, fail_cb, NULL, NULL), 0);
	hpack_decoder_free(d);
}

TEST(hpack_table_never_exceeds_cap)
{
	struct hpack_decoder *d = hpack_decoder_new(4096);
	uint8_t block[64];

	/* many distinct 100-byte entries: the table stays within 4096 */
	for (int i = 0; i < 500; i++) {
		size_t n = 0;

		block[n++] = 0x40;
		block[n++] = 4;
		n += (size_t)snprintf((char *)block + n, 5, "k%03d", i);
		block[n++] = 40;
		memset(block + n, 'v', 40);
		n += 40;
		ASSERT_EQ(hpack_decode(d, block, n, 1 << 20, NULL, NULL, NULL), 0);
		ASSERT_TRUE(hpack_decoder_table_size(d) <= 4096);
	}
	ASSERT_EQ(hpack_decoder_table_entries(d), 4096 / 76);
	ASSERT_TRUE(hpack_decoder_buffered(d) < 4096 + 128 * 64);
	hpack_decoder_free(d);
}
