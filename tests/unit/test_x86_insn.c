// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * x86_insn: a table of encodings with known lengths, synthetic functions for
 * x86_find_exits, and a cross-check against objdump on real libraries of this
 * machine (skipped with a note when objdump or the libraries are missing).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "capture/elf_syms.h"
#include "capture/x86_insn.h"
#include "test.h"

#define OBJDUMP "/usr/bin/objdump"
#define LIBSSL "/lib/x86_64-linux-gnu/libssl.so.3"
#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"
#define NODE "/usr/bin/node"

/* Parses "48 8b 45 f8" into buf; returns the byte count. */
static size_t parse_hex(const char *s, uint8_t *buf, size_t cap)
{
	size_t n = 0;
	char *end;

	while (*s && n < cap) {
		unsigned long v = strtoul(s, &end, 16);

		if (end == s)
			break;
		buf[n++] = (uint8_t)v;
		s = end;
	}
	return n;
}

struct len_row {
	const char *hex;
	int len; /* expected x86_insn_len with avail = exactly the bytes given */
};

#define BAD (-EINVAL)

static const struct len_row len_rows[] = {
	/* one-byte opcodes, ret, push/pop */
	{ "90", 1 },
	{ "c3", 1 },
	{ "c2 08 00", 3 },
	{ "f3 c3", 2 },
	{ "f2 c3", 2 },
	{ "cc", 1 },
	{ "55", 1 },
	{ "41 57", 2 },
	{ "8f c0", 2 },
	{ "9b", 1 },
	{ "c9", 1 },
	{ "f3 48 a5", 3 },
	{ "f3 aa", 2 },
	{ "cd 80", 2 },
	{ "e4 60", 2 },
	/* ModRM, SIB, displacements */
	{ "48 89 e5", 3 },
	{ "48 8b 45 f8", 4 },
	{ "48 8b 84 24 00 01 00 00", 8 },
	{ "8b 04 25 78 56 34 12", 7 },
	{ "48 8d 05 00 00 00 00", 7 },
	{ "48 8d 04 8d 00 00 00 00", 8 },
	{ "48 8d 44 8d 10", 5 },
	{ "4c 8d 2c 24", 4 },
	{ "41 8b 04 24", 4 },
	{ "41 8b 45 00", 4 },
	{ "67 8b 00", 3 },
	{ "48 63 c7", 3 },
	{ "64 48 8b 04 25 28 00 00 00", 9 },
	{ "65 48 8b 04 25 00 00 00 00", 9 },
	/* immediates by operand size */
	{ "48 b8 88 77 66 55 44 33 22 11", 10 },
	{ "49 bb 88 77 66 55 44 33 22 11", 10 },
	{ "66 48 b8 88 77 66 55 44 33 22 11", 11 },
	{ "b8 01 00 00 00", 5 },
	{ "66 b8 01 00", 4 },
	{ "b0 01", 2 },
	{ "41 b0 01", 3 },
	{ "04 01", 2 },
	{ "05 78 56 34 12", 5 },
	{ "66 05 34 12", 4 },
	{ "48 05 78 56 34 12", 6 },
	{ "83 c0 01", 3 },
	{ "81 c1 00 01 00 00", 6 },
	{ "66 81 c1 00 01", 5 },
	{ "48 81 ec 88 00 00 00", 7 },
	{ "80 7d f8 00", 4 },
	{ "66 83 7c 24 08 00", 6 },
	{ "c6 05 00 00 00 00 01", 7 },
	{ "c7 05 00 00 00 00 01 00 00 00", 10 },
	{ "66 c7 05 00 00 00 00 01 00", 9 },
	{ "48 c7 44 24 08 00 00 00 00", 9 },
	{ "c7 84 24 00 01 00 00 01 00 00 00", 11 },
	{ "69 c0 10 27 00 00", 6 },
	{ "6b c0 0a", 3 },
	{ "68 00 01 00 00", 5 },
	{ "66 68 34 12", 4 },
	{ "6a 01", 2 },
	{ "c8 10 00 00", 4 },
	{ "c1 e0 04", 3 },
	{ "d1 e0", 2 },
	/* F6/F7: only /0 and /1 (TEST) take an immediate */
	{ "f6 c1 01", 3 },
	{ "f6 c9 01", 3 },
	{ "f6 d1", 2 },
	{ "f6 05 00 00 00 00 01", 7 },
	{ "f7 c1 00 01 00 00", 6 },
	{ "66 f7 c1 00 01", 5 },
	{ "f7 d8", 2 },
	{ "48 f7 f1", 3 },
	/* moffs: 8 bytes, 4 with an address-size prefix */
	{ "a0 88 77 66 55 44 33 22 11", 9 },
	{ "48 a1 88 77 66 55 44 33 22 11", 10 },
	{ "67 a0 44 33 22 11", 6 },
	/* branches */
	{ "e8 00 00 00 00", 5 },
	{ "e9 00 00 00 00", 5 },
	{ "eb fe", 2 },
	{ "74 05", 2 },
	{ "0f 84 00 01 00 00", 6 },
	{ "e3 00", 2 },
	{ "e2 fe", 2 },
	{ "ff e0", 2 },
	{ "ff 25 00 00 00 00", 6 },
	{ "3e ff e0", 3 },
	{ "ff 14 c5 00 00 00 00", 7 },
	{ "41 ff d3", 3 },
	{ "ff 18", 2 },
	{ "c6 f8 01", 3 },
	{ "c7 f8 00 00 00 00", 6 },
	/* endbr64 and the multi-byte NOPs compilers pad with */
	{ "f3 0f 1e fa", 4 },
	{ "0f 1f 00", 3 },
	{ "0f 1f 40 00", 4 },
	{ "0f 1f 44 00 00", 5 },
	{ "66 0f 1f 44 00 00", 6 },
	{ "0f 1f 80 00 00 00 00", 7 },
	{ "0f 1f 84 00 00 00 00 00", 8 },
	{ "66 0f 1f 84 00 00 00 00 00", 9 },
	{ "66 2e 0f 1f 84 00 00 00 00 00", 10 },
	{ "66 66 2e 0f 1f 84 00 00 00 00 00", 11 },
	{ "66 66 66 66 66 66 2e 0f 1f 84 00 00 00 00 00", 15 },
	{ "66 66 66 66 66 66 66 2e 0f 1f 84 00 00 00 00 00", BAD },
	/* lock */
	{ "f0 0f b1 0a", 4 },
	{ "f0 48 0f b1 4d 00", 6 },
	{ "f0 ff 00", 3 },
	{ "f0 48 0f c1 02", 5 },
	/* 0F map */
	{ "0f 05", 2 },
	{ "0f 0b", 2 },
	{ "0f a2", 2 },
	{ "0f b6 c0", 3 },
	{ "48 0f be 45 f0", 5 },
	{ "0f 44 c1", 3 },
	{ "0f 94 c0", 3 },
	{ "0f ba e0 03", 4 },
	{ "0f a4 c2 04", 4 },
	{ "0f ae f0", 3 },
	{ "0f ae e8", 3 },
	{ "0f ae 5c 24 fc", 5 },
	{ "f3 48 0f b8 c7", 5 },
	{ "f3 0f bc c7", 4 },
	{ "48 0f c7 0e", 4 },
	{ "0f c7 f0", 3 },
	{ "0f 01 d0", 3 },
	{ "0f 01 f9", 3 },
	{ "0f 18 08", 3 },
	{ "0f 0d 08", 3 },
	{ "0f 20 c0", 3 },
	{ "0f 20 00", 3 },
	{ "0f 78 c1", 3 },
	{ "66 0f 78 c1 01 02", 6 },
	{ "0f ff 00", 3 },
	{ "0f b9 00", 3 },
	{ "f3 0f a7 c8", 4 },
	{ "d8 c1", 2 },
	{ "dd 45 f8", 3 },
	{ "df 7d f0", 3 },
	/* SSE and the 0F 38 / 0F 3A maps */
	{ "66 0f 6f 05 00 00 00 00", 8 },
	{ "f3 0f 6f 04 24", 5 },
	{ "66 48 0f 6e c0", 5 },
	{ "f2 0f 10 05 00 00 00 00", 8 },
	{ "f2 0f 2c c0", 4 },
	{ "66 0f 70 c1 1b", 5 },
	{ "66 0f 73 d8 08", 5 },
	{ "0f c6 c1 44", 4 },
	{ "0f c2 c1 00", 4 },
	{ "66 0f c4 c0 01", 5 },
	{ "0f 77", 2 },
	{ "66 0f 3a 0f c1 08", 6 },
	{ "66 0f 3a 44 c1 00", 6 },
	{ "66 0f 38 00 c1", 5 },
	{ "66 0f 38 dc 04 24", 6 },
	{ "f2 0f 38 f1 c1", 5 },
	/* VEX */
	{ "c5 fe 6f 06", 4 },
	{ "c5 fe 6f 46 20", 5 },
	{ "c5 f8 77", 3 },
	{ "c5 f8 92 c8", 4 },
	{ "c5 f9 70 c1 1b", 5 },
	{ "c4 e2 7d 00 c1", 5 },
	{ "c4 e3 7d 38 c1 01", 6 },
	{ "c4 c1 7e 6f 04 24", 6 },
	{ "c4 e2 79 18 05 00 00 00 00", 9 },
	{ "c4 e2 f8 f2 c1", 5 },
	{ "c4 e3 fb f0 c1 05", 6 },
	{ "c4 e1 fb 92 c8", 5 },
	/* EVEX (disp8 is scaled by the CPU but is still one byte) */
	{ "62 f1 fe 48 6f 06", 6 },
	{ "62 f1 fe 48 6f 46 01", 7 },
	{ "62 e1 fe 28 7f 4f 02", 7 },
	{ "62 f1 fe 48 6f 84 24 00 01 00 00", 11 },
	{ "62 f3 7d 48 3f c1 00", 7 },
	{ "62 f1 7d 48 72 e0 05", 7 },
	{ "62 f5 7c 48 58 c1", 6 },
	/* invalid in 64-bit mode */
	{ "06", BAD },
	{ "07", BAD },
	{ "0e", BAD },
	{ "16", BAD },
	{ "17", BAD },
	{ "1e", BAD },
	{ "1f", BAD },
	{ "27", BAD },
	{ "2f", BAD },
	{ "37", BAD },
	{ "3f", BAD },
	{ "60", BAD },
	{ "61", BAD },
	{ "82 c0 01", BAD },
	{ "9a 00 00 00 00 00 00", BAD },
	{ "ce", BAD },
	{ "d4 0a", BAD },
	{ "d5 0a", BAD },
	{ "d6", BAD },
	{ "ea 00 00 00 00 00 00", BAD },
	{ "62 00 00 00 00 00", BAD }, /* BOUND-looking EVEX with P1 bit 2 clear */
	{ "62 f9 fe 48 6f 06", BAD }, /* EVEX P0 bit 3 set */
	{ "62 f4 fe 48 6f 06", BAD }, /* EVEX map 4 */
	{ "c4 e0 7d 00 c1", BAD }, /* VEX map 0 */
	{ "c4 e8 78 c2 c0 00", BAD }, /* VEX map 8 (XOP-like) */
	{ "8f e8 78 c2 ec 0e", BAD }, /* XOP */
	{ "fe d0", BAD },
	{ "ff f8", BAD },
	{ "ff d8", BAD },
	{ "c6 c8 01", BAD },
	{ "c7 c8 01 00 00 00", BAD },
	{ "0f 0f c1 b4", BAD }, /* 3DNow! */
	{ "0f 04", BAD },
	{ "0f 0a", BAD },
	{ "0f 24 c0", BAD },
	{ "0f 36", BAD },
	{ "0f 39", BAD },
	{ "0f 3b", BAD },
	{ "0f 7a c0", BAD },
	{ "0f a6 00", BAD },
	{ "f3 0f 78 c1 01 02", BAD },
	/* lengths that differ between tools or vendors */
	{ "66 e8 00 00 00 00", BAD },
	{ "66 e9 00 00 00 00", BAD },
	{ "66 0f 84 00 00 00 00", BAD },
	{ "48 66 90", BAD },
	{ "48 48 89 c0", BAD },
	{ "f0 c5 f8 77", BAD },
	{ "66 c5 f8 77", BAD },
	{ "48 c5 f8 77", BAD },
	{ "f3 62 f1 fe 48 6f 06", BAD },
	/* truncated */
	{ "", BAD },
	{ "48", BAD },
	{ "66", BAD },
	{ "0f", BAD },
	{ "0f 38", BAD },
	{ "0f 3a 0f c1", BAD },
	{ "e8 00 00 00", BAD },
	{ "48 b8 88 77 66 55 44 33 22", BAD },
	{ "8b 04", BAD },
	{ "8b 84 24 00 00 00", BAD },
	{ "48 8d 05 00 00 00", BAD },
	{ "c4 e2", BAD },
	{ "c5 fe 6f", BAD },
	{ "62 f1 fe 48", BAD },
	{ "62 f1 fe 48 6f 46", BAD },
	{ "c2 08", BAD },
	{ "c8 10 00", BAD },
	{ "f6 c1", BAD },
	{ "67 a0 44 33 22", BAD },
	{ "0f 1f 84 00 00 00 00", BAD },
};

TEST(x86_insn_len_table)
{
	size_t rows = sizeof(len_rows) / sizeof(len_rows[0]);

	ASSERT_TRUE(rows >= 80);
	for (size_t i = 0; i < rows; i++) {
		uint8_t buf[32];
		size_t n = parse_hex(len_rows[i].hex, buf, sizeof(buf));
		int got = x86_insn_len(buf, n);

		if (got != len_rows[i].len)
			test_fail_at(__FILE__, __LINE__, "\"%s\": length %d, expected %d",
				     len_rows[i].hex, got, len_rows[i].len);
		/* a valid instruction stays the same with more bytes after it,
		 * and is refused when one byte short */
		if (len_rows[i].len > 0) {
			memset(buf + n, 0x90, sizeof(buf) - n);
			ASSERT_EQ(x86_insn_len(buf, sizeof(buf)), len_rows[i].len);
			ASSERT_EQ(x86_insn_len(buf, n - 1), -EINVAL);
		}
	}
}

TEST(x86_insn_len_null)
{
	ASSERT_EQ(x86_insn_len(NULL, 4), -EINVAL);
}

/* Every single opcode byte followed by padding decodes to 1..15 or -EINVAL. */
TEST(x86_insn_len_all_first_bytes)
{
	for (int b = 0; b < 256; b++) {
		uint8_t buf[16] = { (uint8_t)b };
		int got = x86_insn_len(buf, sizeof(buf));

		ASSERT_TRUE(got == -EINVAL || (got >= 1 && got <= 15));
	}
}

TEST(x86_find_exits_basic)
{
	/* push rbp; mov rbp,rsp; pop rbp; ret; nop; rep ret; ret 8; int3 */
	static const uint8_t code[] = { 0x55, 0x48, 0x89, 0xe5, 0x5d, 0xc3, 0x90,
					0xf3, 0xc3, 0xc2, 0x08, 0x00, 0xcc };
	struct x86_func_exits ex;

	ASSERT_EQ(x86_find_exits(code, sizeof(code), &ex), 0);
	ASSERT_UEQ(ex.n_rets, 3);
	ASSERT_UEQ(ex.ret_offsets[0], 5);
	ASSERT_UEQ(ex.ret_offsets[1], 7);
	ASSERT_UEQ(ex.ret_offsets[2], 9);
	ASSERT_UEQ(ex.n_tail_jumps, 0);
	ASSERT_UEQ(ex.n_indirect_jumps, 0);
	ASSERT_TRUE(!ex.truncated);
}

TEST(x86_find_exits_jumps)
{
	static const uint8_t code[] = {
		0x74, 0x02, /* 0: je +2 -> 4, inside */
		0xeb, 0xfc, /* 2: jmp -4 -> 0, inside */
		0x0f, 0x85, 0x00, 0x10, 0x00, 0x00, /* 4: jne -> 0x100a, outside */
		0x74, 0x80, /* 10: je -128 -> -116, outside */
		0xe8, 0x00, 0x10, 0x00, 0x00, /* 12: call, outside but returns */
		0xff, 0xd0, /* 17: call rax */
		0xff, 0xe0, /* 19: jmp rax */
		0xff, 0x25, 0x00, 0x00, 0x00, 0x00, /* 21: jmp [rip] */
		0xe3, 0x7f, /* 27: jrcxz -> 156, outside */
		0xe9, 0x00, 0x10, 0x00, 0x00, /* 29: jmp -> 0x1022, outside */
		0xe9, 0xf6, 0xff, 0xff, 0xff, /* 34: jmp -10 -> 29, inside */
		0xc3, /* 39 */
	};
	struct x86_func_exits ex;

	ASSERT_EQ(x86_find_exits(code, sizeof(code), &ex), 0);
	ASSERT_UEQ(ex.n_rets, 1);
	ASSERT_UEQ(ex.ret_offsets[0], 39);
	ASSERT_UEQ(ex.n_tail_jumps, 4);
	ASSERT_UEQ(ex.n_indirect_jumps, 2);
}

TEST(x86_find_exits_truncated)
{
	uint8_t code[X86_MAX_RETS + 6];
	struct x86_func_exits ex;

	memset(code, 0xc3, sizeof(code));
	ASSERT_EQ(x86_find_exits(code, sizeof(code), &ex), 0);
	ASSERT_UEQ(ex.n_rets, X86_MAX_RETS);
	ASSERT_UEQ(ex.ret_offsets[X86_MAX_RETS - 1], X86_MAX_RETS - 1);
	ASSERT_TRUE(ex.truncated);
}

TEST(x86_find_exits_errors)
{
	static const uint8_t bad_mid[] = { 0x55, 0x06, 0xc3 };
	static const uint8_t cut_end[] = { 0x55, 0xc3, 0xe8, 0x00, 0x00 };
	struct x86_func_exits ex;

	ASSERT_EQ(x86_find_exits(bad_mid, sizeof(bad_mid), &ex), -EINVAL);
	ASSERT_EQ(x86_find_exits(cut_end, sizeof(cut_end), &ex), -EINVAL);
	ASSERT_EQ(x86_find_exits(bad_mid, (size_t)UINT32_MAX + 1, &ex), -EINVAL);
	ASSERT_EQ(x86_find_exits(NULL, 0, &ex), 0);
	ASSERT_UEQ(ex.n_rets, 0);
}

/* ---- cross-check against objdump on real code ---- */

static bool have(const char *path)
{
	return access(path, R_OK) == 0;
}

/*
 * Runs objdump on [start, stop) of path and stores the instruction start
 * addresses it prints; returns their number or -1.
 */
static long objdump_starts(const char *path, uint64_t start, uint64_t stop, uint64_t *out,
			   size_t cap)
{
	char cmd[512], line[1024];
	long n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 OBJDUMP " -d -z --no-show-raw-insn --start-address=0x%" PRIx64
			 " --stop-address=0x%" PRIx64 " '%s' 2>/dev/null",
		 start, stop, path);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		char *end;
		uint64_t a;

		/* instruction lines are indented, labels start in column 0 */
		if (line[0] != ' ')
			continue;
		a = strtoull(line, &end, 16);
		if (end == line || end[0] != ':' || end[1] != '\t')
			continue;
		if (a >= start && a < stop && (size_t)n < cap)
			out[n++] = a;
	}
	if (pclose(p) != 0)
		return -1;
	return n;
}

/*
 * Decodes each named function of path with x86_insn_len and requires the
 * instruction starts to equal objdump's.  Returns how many were compared.
 */
static size_t cross_check(const char *path, const char *const *names, size_t n)
{
	struct elf_func funcs[64];
	size_t compared = 0;
	int fd, found;

	ASSERT_TRUE(n <= 64);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	for (size_t i = 0; i < n; i++)
		funcs[i] = (struct elf_func){ .name = names[i] };
	found = elf_find_funcs(fd, funcs, n);
	ASSERT_TRUE(found > 0);
	for (size_t i = 0; i < n; i++) {
		struct elf_func *f = &funcs[i];
		uint64_t *theirs, *mine;
		size_t n_mine = 0;
		uint8_t *code;
		long n_theirs;
		ssize_t got;

		if (!f->found || !f->size)
			continue;
		code = malloc(f->size);
		theirs = calloc(f->size, sizeof(*theirs));
		mine = calloc(f->size, sizeof(*mine));
		ASSERT_TRUE(code && theirs && mine);
		got = elf_read_code(fd, f->file_offset, code, f->size);
		ASSERT_EQ(got, (ssize_t)f->size);
		for (size_t off = 0; off < f->size;) {
			int len = x86_insn_len(code + off, f->size - off);

			if (len < 0)
				test_fail_at(__FILE__, __LINE__,
					     "%s: %s+%#zx does not decode: %02x %02x %02x", path,
					     f->name, off, code[off],
					     off + 1 < f->size ? code[off + 1] : 0,
					     off + 2 < f->size ? code[off + 2] : 0);
			mine[n_mine++] = f->vaddr + off;
			off += (size_t)len;
		}
		n_theirs = objdump_starts(path, f->vaddr, f->vaddr + f->size, theirs, f->size);
		ASSERT_TRUE(n_theirs > 0);
		for (size_t k = 0; k < n_mine || k < (size_t)n_theirs; k++) {
			uint64_t a = k < n_mine ? mine[k] : 0,
				 b = k < (size_t)n_theirs ? theirs[k] : 0;

			if (a != b)
				test_fail_at(__FILE__, __LINE__,
					     "%s: %s: instruction %zu starts at %#" PRIx64
					     ", objdump says %#" PRIx64,
					     path, f->name, k, a, b);
		}
		free(code);
		free(theirs);
		free(mine);
		compared++;
	}
	close(fd);
	return compared;
}

static const char *const ssl_funcs[] = {
	"SSL_write",   "SSL_read",	"SSL_write_ex",	    "SSL_read_ex",
	"SSL_ctrl",    "SSL_free",	"SSL_set_fd",	    "SSL_new",
	"SSL_connect", "SSL_accept",	"SSL_do_handshake", "SSL_shutdown",
	"SSL_peek",    "SSL_get_error", "SSL_CTX_new",	    "SSL_CTX_free",
};

static const char *const libc_funcs[] = {
	"printf",
	"fprintf",
	"sprintf",
	"snprintf",
	"vfprintf",
	"vsnprintf",
	"malloc",
	"free",
	"calloc",
	"realloc",
	"fopen",
	"fclose",
	"fread",
	"fwrite",
	"fgets",
	"fputs",
	"puts",
	"qsort",
	"bsearch",
	"strtol",
	"strtoul",
	"strtod",
	"atoi",
	"getenv",
	"setenv",
	"open",
	"read",
	"write",
	"close",
	"pthread_create",
	"pthread_mutex_lock",
	"pthread_mutex_unlock",
	"mmap",
	"munmap",
	"fork",
	"execve",
	"getaddrinfo",
	"inet_pton",
	"inet_ntop",
	"socket",
	"connect",
	"send",
	"recv",
	"sendmsg",
	"recvmsg",
	"epoll_wait",
	"poll",
	"select",
	"strdup",
	"strtok_r",
	"strerror",
	"localtime_r",
	"gmtime_r",
	"strftime",
	"clock_gettime",
	"memcpy",
	"memmem",
	"dlopen",
	"dlsym",
};

TEST(x86_insn_objdump_libssl)
{
	size_t n;

	if (!have(OBJDUMP) || !have(LIBSSL)) {
		printf("  note: skipped, needs %s and %s\n", OBJDUMP, LIBSSL);
		return;
	}
	n = cross_check(LIBSSL, ssl_funcs, sizeof(ssl_funcs) / sizeof(ssl_funcs[0]));
	printf("  note: %zu libssl functions match objdump\n", n);
	ASSERT_TRUE(n >= 7);
}

TEST(x86_insn_objdump_libc)
{
	size_t n;

	if (!have(OBJDUMP) || !have(LIBC)) {
		printf("  note: skipped, needs %s and %s\n", OBJDUMP, LIBC);
		return;
	}
	n = cross_check(LIBC, libc_funcs, sizeof(libc_funcs) / sizeof(libc_funcs[0]));
	printf("  note: %zu libc functions match objdump\n", n);
	ASSERT_TRUE(n >= 40);
}

/* ---- a whole .text sweep, the way objdump does it ---- */

struct addr_list {
	uint64_t *v;
	size_t n, cap;
};

static void addr_push(struct addr_list *l, uint64_t a)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 4096;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		ASSERT_TRUE(l->v);
	}
	l->v[l->n++] = a;
}

/* Instruction starts and symbol labels objdump prints for section sec. */
static void objdump_section(const char *path, const char *sec, struct addr_list *starts,
			    struct addr_list *labels)
{
	char cmd[512], line[1024];
	FILE *p;

	snprintf(cmd, sizeof(cmd), OBJDUMP " -d -z --no-show-raw-insn -j %s '%s' 2>/dev/null", sec,
		 path);
	p = popen(cmd, "r");
	ASSERT_TRUE(p);
	while (fgets(line, sizeof(line), p)) {
		char *end;
		uint64_t a = strtoull(line, &end, 16);

		if (end == line)
			continue;
		if (line[0] == ' ' && end[0] == ':' && end[1] == '\t')
			addr_push(starts, a);
		else if (line[0] != ' ' && end[0] == ' ' && end[1] == '<')
			addr_push(labels, a);
	}
	ASSERT_EQ(pclose(p), 0);
}

static int first_func_cb(const struct elf_func *fn, void *ctx)
{
	*(struct elf_func *)ctx = *fn;
	return 1;
}

/*
 * Decodes libc's whole .text from each symbol label to the next (objdump
 * restarts there too), so local functions without symbols, such as the
 * AVX2/EVEX string functions behind IFUNCs, are compared as well.
 */
TEST(x86_insn_objdump_libc_text)
{
	struct addr_list starts = { 0 }, labels = { 0 };
	size_t n_insn = 0, n_vex = 0, n_fail = 0, k = 0;
	struct elf_func any = { 0 };
	uint64_t first, last;
	uint8_t *text;
	size_t len;
	int fd;

	if (!have(OBJDUMP) || !have(LIBC)) {
		printf("  note: skipped, needs %s and %s\n", OBJDUMP, LIBC);
		return;
	}
	objdump_section(LIBC, ".text", &starts, &labels);
	ASSERT_TRUE(starts.n > 1000 && labels.n > 10);
	first = starts.v[0];
	last = starts.v[starts.n - 1];
	fd = open(LIBC, O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	/* libc has one executable segment: one vaddr - offset delta */
	ASSERT_EQ(elf_foreach_func(fd, first_func_cb, &any), 1);
	len = last - first + X86_MAX_INSN_LEN;
	text = malloc(len);
	ASSERT_TRUE(text);
	ASSERT_EQ(elf_read_code(fd, first - any.vaddr + any.file_offset, text, len), (ssize_t)len);
	close(fd);

	/* regions: [label_i, label_i+1), the first from the section start */
	for (size_t li = 0; li <= labels.n; li++) {
		uint64_t a = li ? labels.v[li - 1] : first;
		uint64_t end = li < labels.n ? labels.v[li] : last + 1;

		if (a < first || end <= a)
			continue;
		while (k < starts.n && starts.v[k] < a)
			k++;
		while (a < end) {
			size_t off = a - first;
			int n = x86_insn_len(text + off, len - off);

			if (n < 0) {
				n_fail++;
				break;
			}
			if (k >= starts.n || starts.v[k] != a)
				test_fail_at(__FILE__, __LINE__,
					     "libc .text: instruction at %#" PRIx64
					     " (%02x %02x %02x), objdump's next at %#" PRIx64,
					     a, text[off], text[off + 1], text[off + 2],
					     k < starts.n ? starts.v[k] : 0);
			n_vex += text[off] == 0x62 || text[off] == 0xc4 || text[off] == 0xc5;
			n_insn++;
			k++;
			a += (uint64_t)n;
		}
	}
	printf("  note: libc .text: %zu instructions match objdump (%zu VEX/EVEX), "
	       "%zu regions not decodable\n",
	       n_insn, n_vex, n_fail);
	ASSERT_TRUE(n_insn > starts.n / 2);
	ASSERT_TRUE(n_fail * 1000 < labels.n);
	free(text);
	free(starts.v);
	free(labels.v);
}

/* Prints and sanity-checks how the SSL I/O functions of path leave. */
static void report_exits(const char *path)
{
	static const char *const names[] = { "SSL_write", "SSL_read", "SSL_write_ex",
					     "SSL_read_ex" };
	struct elf_func funcs[4];
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	for (size_t i = 0; i < 4; i++)
		funcs[i] = (struct elf_func){ .name = names[i] };
	ASSERT_EQ(elf_find_funcs(fd, funcs, 4), 4);
	for (size_t i = 0; i < 4; i++) {
		struct x86_func_exits ex;
		uint8_t *code = malloc(funcs[i].size);

		ASSERT_TRUE(code && funcs[i].size);
		ASSERT_EQ(elf_read_code(fd, funcs[i].file_offset, code, funcs[i].size),
			  (ssize_t)funcs[i].size);
		ASSERT_EQ(x86_find_exits(code, funcs[i].size, &ex), 0);
		printf("  note: %s %s: size %" PRIu64
		       " rets %zu tail_jumps %zu indirect_jumps %zu\n",
		       path, names[i], funcs[i].size, ex.n_rets, ex.n_tail_jumps,
		       ex.n_indirect_jumps);
		/* every function leaves somehow */
		ASSERT_TRUE(ex.n_rets + ex.n_tail_jumps + ex.n_indirect_jumps > 0);
		for (size_t k = 0; k < ex.n_rets; k++) {
			uint8_t op;
			size_t at = ex.ret_offsets[k];

			while (code[at] == 0xf3 || code[at] == 0xf2)
				at++;
			op = code[at];
			ASSERT_TRUE(op == 0xc3 || op == 0xc2);
		}
		free(code);
	}
	close(fd);
}

TEST(x86_find_exits_libssl)
{
	if (!have(LIBSSL)) {
		printf("  note: skipped, %s missing\n", LIBSSL);
		return;
	}
	report_exits(LIBSSL);
}

TEST(x86_find_exits_node)
{
	if (!have(NODE)) {
		printf("  note: skipped, %s missing\n", NODE);
		return;
	}
	report_exits(NODE);
}
