// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target for the x86-64 length decoder and x86_find_exits.  Besides
 * crashes it checks the properties uprobe placement relies on: a length is
 * 1..15 and within the bytes given, it does not change when exactly that many
 * bytes are available, one byte less is refused, and every reported RET
 * offset is an instruction boundary holding a RET.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/x86_insn.h"

#define CHECK(c)                                                                              \
	do {                                                                                  \
		if (!(c)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                              \
		}                                                                             \
	} while (0)

static void check_len_at(const uint8_t *code, size_t avail)
{
	int len = x86_insn_len(code, avail);

	if (len < 0) {
		CHECK(len == -EINVAL);
		return;
	}
	CHECK(len >= 1 && len <= X86_MAX_INSN_LEN && (size_t)len <= avail);
	CHECK(x86_insn_len(code, (size_t)len) == len);
	CHECK(x86_insn_len(code, (size_t)len - 1) == -EINVAL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct x86_func_exits ex;
	size_t prev = 0;
	uint8_t *code;

	/* an exact-size heap copy so ASan sees any read past the end */
	code = malloc(size ? size : 1);
	if (!code)
		return 0;
	memcpy(code, data, size);

	for (size_t off = 0; off < size && off < 256; off++)
		check_len_at(code + off, size - off);

	if (x86_find_exits(code, size, &ex) == 0) {
		CHECK(ex.n_rets <= X86_MAX_RETS);
		CHECK(!ex.truncated || ex.n_rets == X86_MAX_RETS);
		for (size_t i = 0; i < ex.n_rets; i++) {
			size_t at = ex.ret_offsets[i];

			CHECK(at < size && (i == 0 || at > prev));
			prev = at;
			while (at < size &&
			       (code[at] == 0xf3 || code[at] == 0xf2 || code[at] == 0x66 ||
				(code[at] & 0xf0) == 0x40 || code[at] == 0x2e || code[at] == 0x3e ||
				code[at] == 0x26 || code[at] == 0x36 || code[at] == 0x64 ||
				code[at] == 0x65 || code[at] == 0x67 || code[at] == 0xf0))
				at++;
			CHECK(at < size && (code[at] == 0xc3 || code[at] == 0xc2));
		}
		/* the RETs are where a sweep of the lengths lands */
		for (size_t off = 0, r = 0; off < size;) {
			int len = x86_insn_len(code + off, size - off);

			CHECK(len > 0);
			if (r < ex.n_rets && ex.ret_offsets[r] == off)
				r++;
			CHECK(r == ex.n_rets || ex.ret_offsets[r] > off);
			off += (size_t)len;
		}
	}
	free(code);
	return 0;
}
