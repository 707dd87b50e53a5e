/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * An x86-64 instruction length decoder (64-bit mode only) and a linear-sweep
 * scan of a function's code for its exits.  The agent uses it to place
 * uprobes on a function's RET instructions instead of uretprobes: a probe
 * address that falls inside an instruction corrupts the traced process, so
 * the decoder refuses (-EINVAL) anything it cannot size with certainty,
 * including encodings whose length differs between CPU vendors.
 */
#ifndef LLMTAP_X86_INSN_H
#define LLMTAP_X86_INSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define X86_MAX_INSN_LEN 15
#define X86_MAX_RETS 64

/*
 * Length in bytes (1..15) of the 64-bit-mode instruction at code[0..avail),
 * or -EINVAL if it is invalid in 64-bit mode, not decodable with certainty,
 * or would extend past avail.  Reads at most min(avail, 15) bytes.
 */
int x86_insn_len(const uint8_t *code, size_t avail);

struct x86_func_exits {
	uint32_t ret_offsets[X86_MAX_RETS]; /* start offsets of the first n_rets RETs */
	size_t n_rets; /* entries used in ret_offsets (<= X86_MAX_RETS) */
	size_t n_tail_jumps; /* JMP/Jcc/JRCXZ/LOOP rel whose target is outside [0, size) */
	size_t n_indirect_jumps; /* FF /4, FF /5: tail calls or switch tables */
	bool truncated; /* more than X86_MAX_RETS RETs: ret_offsets is incomplete */
};

/*
 * Linearly decodes code[0..size) (one function, as read from its ELF symbol)
 * and fills *out.  A RET is C3 or C2 iw with any prefixes (F3/F2 included);
 * its offset is the first prefix byte.  Far returns (CA/CB) are not counted.
 * Returns 0; -EINVAL if some bytes do not decode or the last instruction runs
 * past size (then no RET offset may be probed), or if size > UINT32_MAX.
 */
int x86_find_exits(const uint8_t *code, size_t size, struct x86_func_exits *out);

#endif
