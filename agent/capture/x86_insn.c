// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * x86-64 instruction length decoding.  Only what decides the length is
 * decoded: prefixes, the opcode map and opcode, ModRM/SIB/displacement and
 * the immediate size.  Operands and semantics are not.
 *
 * Policy: a wrong length puts a uprobe in the middle of an instruction and
 * corrupts the traced process, while -EINVAL only makes the caller fall back
 * to a uretprobe.  So everything that is invalid in 64-bit mode, and every
 * encoding whose length is vendor-dependent (66-prefixed near branches: AMD
 * takes rel16, Intel ignores the prefix) or that tools decode differently
 * from the CPU (a REX that does not immediately precede the opcode), is
 * rejected.  Compilers never emit those.
 */
#include "x86_insn.h"

#include <errno.h>

/* Per-opcode attributes for the one-byte and 0F maps. */
enum {
	A_MODRM = 1 << 0, /* a ModRM byte follows the opcode */
	A_IB = 1 << 1, /* imm8 / rel8 */
	A_IW = 1 << 2, /* imm16 (RET iw, ENTER's first operand) */
	A_IZ = 1 << 3, /* imm16 with a 66 prefix (and no REX.W), else imm32 */
	A_IV = 1 << 4, /* imm16/32/64 by operand size (MOV r, imm: B8+r) */
	A_MOFFS = 1 << 5, /* moffs64, or moffs32 with a 67 prefix */
	A_REL = 1 << 6, /* the immediate is a branch displacement */
	A_BAD = 1 << 7, /* invalid in 64-bit mode or not supported here */
	A_GRP = 1 << 8, /* validity or immediate depends on ModRM.reg */
	A_CR = 1 << 9, /* MOV to/from CR/DR: ModRM.mod is ignored, no SIB/disp */
};

#define M A_MODRM
#define MB (A_MODRM | A_IB)
#define MZ (A_MODRM | A_IZ)
#define B A_IB
#define Z A_IZ
#define R8 (A_IB | A_REL)
#define R32 (A_IZ | A_REL)
#define X A_BAD
#define G (A_MODRM | A_GRP)
#define MO A_MOFFS
#define V A_IV
#define CR (A_MODRM | A_CR)

/* Prefixes, REX, 0F, VEX and EVEX escapes are consumed before this lookup. */
/* clang-format off */
static const uint16_t map1[256] = {
	/* 00 */ M, M, M, M, B, Z, X, X, M, M, M, M, B, Z, X, 0,
	/* 10 */ M, M, M, M, B, Z, X, X, M, M, M, M, B, Z, X, X,
	/* 20 */ M, M, M, M, B, Z, 0, X, M, M, M, M, B, Z, 0, X,
	/* 30 */ M, M, M, M, B, Z, 0, X, M, M, M, M, B, Z, 0, X,
	/* 40 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 50 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 60 */ X, X, 0, M, 0, 0, 0, 0, Z, MZ, B, MB, 0, 0, 0, 0,
	/* 70 */ R8, R8, R8, R8, R8, R8, R8, R8, R8, R8, R8, R8, R8, R8, R8, R8,
	/* 80 */ MB, MZ, X, MB, M, M, M, M, M, M, M, M, M, M, M, G,
	/* 90 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, X, 0, 0, 0, 0, 0,
	/* A0 */ MO, MO, MO, MO, 0, 0, 0, 0, B, Z, 0, 0, 0, 0, 0, 0,
	/* B0 */ B, B, B, B, B, B, B, B, V, V, V, V, V, V, V, V,
	/* C0 */ MB, MB, A_IW, 0, 0, 0, G, G, A_IW | A_IB, 0, A_IW, 0, 0, B, X, 0,
	/* D0 */ M, M, M, M, X, X, X, 0, M, M, M, M, M, M, M, M,
	/* E0 */ R8, R8, R8, R8, B, B, B, B, R32, R32, X, R8, 0, 0, 0, 0,
	/* F0 */ 0, 0, 0, 0, 0, 0, G, G, 0, 0, 0, 0, 0, 0, G, G,
};

/* The 0F map; 0F 38 and 0F 3A are escapes handled by the caller. */
static const uint16_t map0f[256] = {
	/* 00 */ M, M, M, M, X, 0, 0, 0, 0, 0, X, 0, X, M, 0, X,
	/* 10 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
	/* 20 */ CR, CR, CR, CR, X, X, X, X, M, M, M, M, M, M, M, M,
	/* 30 */ 0, 0, 0, 0, 0, 0, X, 0, 0, X, 0, X, X, X, X, X,
	/* 40 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
	/* 50 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
	/* 60 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
	/* 70 */ MB, MB, MB, MB, M, M, M, 0, G, M, X, X, M, M, M, M,
	/* 80 */ R32, R32, R32, R32, R32, R32, R32, R32, R32, R32, R32, R32, R32, R32, R32, R32,
	/* 90 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
	/* A0 */ 0, 0, 0, M, MB, M, G, G, 0, 0, 0, M, MB, M, M, M,
	/* B0 */ M, M, M, M, M, M, M, M, M, M, MB, M, M, M, M, M,
	/* C0 */ M, M, MB, M, MB, MB, MB, M, 0, 0, 0, 0, 0, 0, 0, 0,
	/* D0 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
	/* E0 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
	/* F0 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
};
/* clang-format on */

#undef M
#undef MB
#undef MZ
#undef B
#undef Z
#undef R8
#undef R32
#undef X
#undef G
#undef MO
#undef V
#undef CR

enum insn_map {
	MAP_1, /* one-byte opcodes */
	MAP_0F,
	MAP_0F38,
	MAP_0F3A,
	MAP_EVEX5, /* AVX512-FP16 */
	MAP_EVEX6,
};

/* What x86_find_exits needs besides the length. */
struct insn {
	int len;
	enum insn_map map;
	uint8_t opcode;
	uint8_t modrm;
	int imm_size; /* bytes of immediate at the end of the instruction */
	bool rel; /* the immediate is a branch displacement */
	bool vex; /* VEX or EVEX encoded */
};

static bool is_legacy_prefix(uint8_t b)
{
	switch (b) {
	case 0x26:
	case 0x2e:
	case 0x36:
	case 0x3e:
	case 0x64:
	case 0x65:
	case 0x66:
	case 0x67:
	case 0xf0:
	case 0xf2:
	case 0xf3:
		return true;
	default:
		return false;
	}
}

/* VEX/EVEX opcodes of map 1 that take an imm8 (as in the legacy 0F map). */
static bool vex_map1_has_ib(uint8_t op)
{
	return (op >= 0x70 && op <= 0x73) || op == 0xc2 || (op >= 0xc4 && op <= 0xc6);
}

/*
 * Sizes ModRM + SIB + displacement starting at code[*pos]; advances *pos.
 * 64-bit mode has no 16-bit addressing, so a 67 prefix changes nothing here.
 */
static int decode_modrm(const uint8_t *code, size_t lim, size_t *pos, uint8_t *modrm_out,
			bool reg_only)
{
	size_t i = *pos;
	uint8_t modrm, mod, rm;

	if (i >= lim)
		return -EINVAL;
	modrm = code[i++];
	mod = modrm >> 6;
	rm = modrm & 7;
	if (!reg_only && mod != 3) {
		if (rm == 4) {
			if (i >= lim)
				return -EINVAL;
			/* SIB base 101 with mod 00: disp32, no base register */
			if (mod == 0 && (code[i] & 7) == 5)
				i += 4;
			i++;
		} else if (mod == 0 && rm == 5) {
			i += 4; /* RIP-relative disp32 */
		}
		if (mod == 1)
			i += 1;
		else if (mod == 2)
			i += 4;
	}
	if (i > lim)
		return -EINVAL;
	*modrm_out = modrm;
	*pos = i;
	return 0;
}

/* Decodes the VEX (C4/C5) or EVEX (62) instruction whose escape is code[i]. */
static int decode_vex(const uint8_t *code, size_t lim, size_t i, struct insn *in)
{
	uint8_t esc = code[i];
	unsigned int map;
	int err;

	if (esc == 0xc5) {
		if (i + 2 > lim)
			return -EINVAL;
		map = 1;
		i += 2;
	} else if (esc == 0xc4) {
		if (i + 3 > lim)
			return -EINVAL;
		map = code[i + 1] & 0x1f;
		/* 0, 4..31 are reserved (8..10 are AMD XOP, which uses 8F) */
		if (map < 1 || map > 3)
			return -EINVAL;
		i += 3;
	} else {
		if (i + 4 > lim)
			return -EINVAL;
		/* P0 bit 3 must be 0 (APX is not supported), P1 bit 2 must be 1 */
		if ((code[i + 1] & 0x08) || !(code[i + 2] & 0x04))
			return -EINVAL;
		map = code[i + 1] & 0x07;
		if (map == 0 || map == 4 || map == 7)
			return -EINVAL;
		i += 4;
	}
	if (i >= lim)
		return -EINVAL;
	in->vex = true;
	in->opcode = code[i++];
	in->map = map == 1 ? MAP_0F :
		  map == 2 ? MAP_0F38 :
		  map == 3 ? MAP_0F3A :
		  map == 5 ? MAP_EVEX5 :
			     MAP_EVEX6;
	/* VZEROUPPER / VZEROALL: the only VEX opcode without ModRM */
	if (esc != 0x62 && map == 1 && in->opcode == 0x77) {
		in->len = (int)i;
		return 0;
	}
	err = decode_modrm(code, lim, &i, &in->modrm, false);
	if (err)
		return err;
	if (map == 3 || (map == 1 && vex_map1_has_ib(in->opcode)))
		in->imm_size = 1;
	i += (size_t)in->imm_size;
	if (i > lim)
		return -EINVAL;
	in->len = (int)i;
	return 0;
}

static int decode(const uint8_t *code, size_t avail, struct insn *in)
{
	size_t lim = avail < X86_MAX_INSN_LEN ? avail : X86_MAX_INSN_LEN;
	bool p66 = false, p67 = false, pf0 = false, pf2 = false, pf3 = false;
	uint8_t rex = 0, op;
	uint16_t attr;
	size_t i = 0;
	int err;

	*in = (struct insn){ 0 };
	for (; i < lim; i++) {
		uint8_t b = code[i];

		if (is_legacy_prefix(b)) {
			/* a REX followed by a legacy prefix is ignored by the CPU but
			 * disassemblers split it off: lengths would disagree */
			if (rex)
				return -EINVAL;
			p66 |= b == 0x66;
			p67 |= b == 0x67;
			pf0 |= b == 0xf0;
			pf2 |= b == 0xf2;
			pf3 |= b == 0xf3;
		} else if ((b & 0xf0) == 0x40) {
			if (rex)
				return -EINVAL;
			rex = b;
		} else {
			break;
		}
	}
	if (i >= lim)
		return -EINVAL;

	op = code[i];
	if (op == 0xc4 || op == 0xc5 || op == 0x62) {
		/* In 64-bit mode LES/LDS/BOUND do not exist: these are always
		 * VEX/EVEX, and 66/F2/F3/F0/REX before them are #UD. */
		if (rex || p66 || pf0 || pf2 || pf3)
			return -EINVAL;
		return decode_vex(code, lim, i, in);
	}

	i++;
	if (op != 0x0f) {
		in->map = MAP_1;
		in->opcode = op;
		attr = map1[op];
	} else {
		if (i >= lim)
			return -EINVAL;
		op = code[i++];
		if (op == 0x38 || op == 0x3a) {
			/* every 0F 38 opcode has ModRM and no immediate, every
			 * 0F 3A opcode has ModRM and an imm8 */
			if (i >= lim)
				return -EINVAL;
			in->map = op == 0x38 ? MAP_0F38 : MAP_0F3A;
			in->opcode = code[i++];
			attr = op == 0x38 ? A_MODRM : A_MODRM | A_IB;
		} else {
			in->map = MAP_0F;
			in->opcode = op;
			attr = map0f[op];
		}
	}
	if (attr & A_BAD)
		return -EINVAL;
	if ((attr & A_REL) && (attr & A_IZ) && p66)
		return -EINVAL; /* rel16 on AMD, rel32 on Intel */

	if (attr & A_MODRM) {
		err = decode_modrm(code, lim, &i, &in->modrm, attr & A_CR);
		if (err)
			return err;
	}

	if (attr & A_GRP) {
		uint8_t reg = (in->modrm >> 3) & 7, mod = in->modrm >> 6;

		if (in->map == MAP_0F && in->opcode == 0x78) {
			/* VMREAD; 66: EXTRQ ib, ib; F2: INSERTQ ib, ib (AMD SSE4a) */
			if (pf3)
				return -EINVAL;
			if (p66 || pf2)
				attr |= A_IW;
		} else if (in->map == MAP_0F) {
			/* VIA PadLock (0F A6/A7): only the register forms exist */
			if (mod != 3)
				return -EINVAL;
		} else {
			switch (in->opcode) {
			case 0x8f: /* POP Ev; other /reg are AMD XOP */
				if (reg != 0)
					return -EINVAL;
				break;
			case 0xc6: /* MOV Eb, Ib; XABORT ib */
				if (reg != 0 && in->modrm != 0xf8)
					return -EINVAL;
				attr |= A_IB;
				break;
			case 0xc7: /* MOV Ev, Iz; XBEGIN rel */
				if (reg != 0 && in->modrm != 0xf8)
					return -EINVAL;
				attr |= A_IZ;
				break;
			case 0xf6: /* TEST Eb, Ib is /0 (and its alias /1) */
				if (reg <= 1)
					attr |= A_IB;
				break;
			case 0xf7:
				if (reg <= 1)
					attr |= A_IZ;
				break;
			case 0xfe: /* INC/DEC Eb */
				if (reg > 1)
					return -EINVAL;
				break;
			case 0xff: /* far CALL/JMP need memory; /7 is undefined */
				if (reg == 7 || ((reg == 3 || reg == 5) && mod == 3))
					return -EINVAL;
				break;
			}
		}
	}

	if (attr & A_IB)
		in->imm_size += 1;
	if (attr & A_IW)
		in->imm_size += 2;
	if (attr & A_IZ)
		in->imm_size += (p66 && !(rex & 0x08)) ? 2 : 4;
	if (attr & A_IV)
		in->imm_size += (rex & 0x08) ? 8 : p66 ? 2 : 4;
	if (attr & A_MOFFS)
		in->imm_size += p67 ? 4 : 8;
	in->rel = attr & A_REL;
	i += (size_t)in->imm_size;
	if (i > lim)
		return -EINVAL;
	in->len = (int)i;
	return 0;
}

int x86_insn_len(const uint8_t *code, size_t avail)
{
	struct insn in;
	int err;

	if (!code || avail == 0)
		return -EINVAL;
	err = decode(code, avail, &in);
	return err ? err : in.len;
}

/* Reads the little-endian signed displacement at the end of the instruction. */
static int64_t rel_disp(const uint8_t *p, const struct insn *in)
{
	const uint8_t *d = p + in->len - in->imm_size;

	if (in->imm_size == 1)
		return (int8_t)d[0];
	return (int32_t)((uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 |
			 (uint32_t)d[3] << 24);
}

int x86_find_exits(const uint8_t *code, size_t size, struct x86_func_exits *out)
{
	size_t off = 0;

	*out = (struct x86_func_exits){ 0 };
	if (size > UINT32_MAX || (!code && size))
		return -EINVAL;
	while (off < size) {
		struct insn in;
		int err = decode(code + off, size - off, &in);

		if (err)
			return err;
		if (in.vex) {
			/* no VEX/EVEX instruction transfers control */
		} else if (in.map == MAP_1 && (in.opcode == 0xc3 || in.opcode == 0xc2)) {
			if (out->n_rets < X86_MAX_RETS)
				out->ret_offsets[out->n_rets++] = (uint32_t)off;
			else
				out->truncated = true;
		} else if (in.rel && ((in.map == MAP_1 && in.opcode != 0xe8) || in.map == MAP_0F)) {
			/* JMP, Jcc, JRCXZ, LOOPcc; CALL returns so it is not an exit */
			int64_t target = (int64_t)off + in.len + rel_disp(code + off, &in);

			if (target < 0 || target >= (int64_t)size)
				out->n_tail_jumps++;
		} else if (in.map == MAP_1 && in.opcode == 0xff) {
			uint8_t reg = (in.modrm >> 3) & 7;

			if (reg == 4 || reg == 5)
				out->n_indirect_jumps++;
		}
		off += (size_t)in.len;
	}
	return 0;
}
