// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Go 1.18+ pclntab: a header (pcHeader in the Go runtime's symtab.go), then
 * tables located by offsets from the header.  Only two are read here:
 *
 *   functab      nfunc pairs (entryoff u32, funcoff u32) sorted by entry,
 *                then one more entryoff: the end of the last function.
 *                entryoff is relative to the text start; funcoff is
 *                relative to the functab itself and locates a _func.
 *   _func        begins with entryOff u32 (the same value again) and
 *                nameOff i32, an offset into funcnametab.
 *   funcnametab  NUL-terminated names.
 *
 * Go 1.20 changed the magic but not these parts.
 */
#include "go_pclntab.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* Word offsets in the header, after magic, pads, minLC and ptrSize (8 bytes). */
enum {
	HDR_NFUNC = 8,
	HDR_TEXT_START = 24,
	HDR_FUNCNAME_OFF = 32,
	HDR_PCLN_OFF = 64,
};

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

int go_pclntab_open(struct go_pclntab *t, const void *data, size_t size)
{
	const uint8_t *p = data;
	uint64_t nfunc, names, functab;
	uint32_t magic;

	memset(t, 0, sizeof(*t));
	if (!p || size < GO_PCLNTAB_HDR_SIZE)
		return -ENOEXEC;
	magic = rd32(p);
	if (magic != GO_PCLNTAB_MAGIC_118 && magic != GO_PCLNTAB_MAGIC_120)
		return -ENOEXEC;
	/* two zero pad bytes, instruction quantum 1 (x86), 2 or 4, 8-byte pointers */
	if (p[4] || p[5] || (p[6] != 1 && p[6] != 2 && p[6] != 4) || p[7] != 8)
		return -ENOEXEC;
	nfunc = rd64(p + HDR_NFUNC);
	names = rd64(p + HDR_FUNCNAME_OFF);
	functab = rd64(p + HDR_PCLN_OFF);
	if (names >= size || functab >= size || nfunc > UINT32_MAX)
		return -EBADMSG;
	/* 2 * nfunc + 1 words of 4 bytes must fit after the functab offset */
	if ((size - functab) / 4 < 2 * nfunc + 1)
		return -EBADMSG;
	t->data = p;
	t->size = size;
	t->version = magic == GO_PCLNTAB_MAGIC_118 ? 118 : 120;
	t->nfunc = (uint32_t)nfunc;
	t->text_start = rd64(p + HDR_TEXT_START);
	t->funcnames = (size_t)names;
	t->functab = (size_t)functab;
	return 0;
}

/* Reads function i into *fn; false when the entry is malformed. */
static bool read_func(const struct go_pclntab *t, uint32_t i, struct go_pclntab_func *fn)
{
	const uint8_t *ft = t->data + t->functab;
	uint32_t entry = rd32(ft + 8 * (size_t)i);
	uint32_t funcoff = rd32(ft + 8 * (size_t)i + 4);
	uint32_t next = rd32(ft + 8 * (size_t)i + 8);
	const uint8_t *name, *nul;
	size_t f, noff;
	int32_t name_off;

	if (next <= entry)
		return false;
	/* the _func: entryOff and nameOff */
	if (funcoff > t->size - t->functab || t->size - t->functab - funcoff < 8)
		return false;
	f = t->functab + funcoff;
	if (rd32(t->data + f) != entry)
		return false;
	name_off = (int32_t)rd32(t->data + f + 4);
	if (name_off < 0 || (uint64_t)name_off >= t->size - t->funcnames)
		return false;
	noff = t->funcnames + (size_t)name_off;
	name = t->data + noff;
	nul = memchr(name, '\0', t->size - noff);
	if (!nul || nul == name)
		return false;
	fn->name = (const char *)name;
	fn->entry_off = entry;
	fn->size = next - entry;
	return true;
}

int go_pclntab_foreach(const struct go_pclntab *t,
		       int (*cb)(const struct go_pclntab_func *fn, void *ctx), void *ctx)
{
	if (!t->data || !cb)
		return -EINVAL;
	for (uint32_t i = 0; i < t->nfunc; i++) {
		struct go_pclntab_func fn;
		int ret;

		if (!read_func(t, i, &fn))
			continue;
		ret = cb(&fn, ctx);
		if (ret)
			return ret;
	}
	return 0;
}
