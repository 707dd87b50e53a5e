// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * go_pclntab and the Go lookups of elf_syms: hand-built Go 1.18 and 1.20
 * tables pin down the format (header, functab, _func, funcnametab) and the
 * rejection of malformed ones; hand-built ELF images check where a stripped
 * Go binary's table is found (.gopclntab, .data.rel.ro.gopclntab, merged
 * into .data.rel.ro) and which text start its entries are relative to.
 */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>

#include "capture/elf_syms.h"
#include "capture/go_pclntab.h"
#include "test.h"

/* ---- a pclntab built in memory ---- */

struct tfunc {
	const char *name;
	uint32_t entry; /* offset from the text start */
};

static const struct tfunc tls_funcs[] = {
	{ "go:buildid", 0x0 },
	{ "crypto/tls.(*Conn).Write", 0x40 },
	{ "crypto/tls.(*Conn).Read", 0x100 },
	{ "main.main", 0x180 },
};
#define N_TLS_FUNCS (sizeof(tls_funcs) / sizeof(tls_funcs[0]))
#define TLS_FUNCS_END 0x1c0 /* end of the last function */

#define PCLN_NAMES 72 /* funcnametab right after the header */
#define FUNC_SIZE 44 /* a Go 1.18 _func is 44 bytes; only the first 8 are read */

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/*
 * Writes a table of n functions into out (at least 4096 bytes): header,
 * funcnametab, functab (8-byte aligned), then the _func records.  Returns
 * its size; *functab_off tells where the functab starts.
 */
static size_t build_pclntab(uint8_t *out, uint32_t magic, uint64_t text_start,
			    const struct tfunc *f, size_t n, uint32_t end, size_t *functab_off)
{
	size_t names = PCLN_NAMES, ft, recs;
	uint32_t name_off[16];

	memset(out, 0, 4096);
	put32(out, magic);
	out[6] = 1; /* x86 instruction quantum */
	out[7] = 8; /* pointer size */
	put64(out + 8, n);
	put64(out + 24, text_start);
	put64(out + 32, names);
	for (size_t i = 0; i < n; i++) {
		name_off[i] = (uint32_t)(names - PCLN_NAMES);
		memcpy(out + names, f[i].name, strlen(f[i].name) + 1);
		names += strlen(f[i].name) + 1;
	}
	ft = (names + 7) & ~(size_t)7;
	put64(out + 64, ft);
	recs = (2 * n + 1) * 4;
	for (size_t i = 0; i < n; i++) {
		uint32_t funcoff = (uint32_t)(recs + i * FUNC_SIZE);

		put32(out + ft + 8 * i, f[i].entry);
		put32(out + ft + 8 * i + 4, funcoff);
		put32(out + ft + funcoff, f[i].entry);
		put32(out + ft + funcoff + 4, name_off[i]);
	}
	put32(out + ft + 8 * n, end);
	if (functab_off)
		*functab_off = ft;
	return ft + recs + n * FUNC_SIZE;
}

struct seen {
	struct go_pclntab_func f[16];
	size_t n;
};

static int collect(const struct go_pclntab_func *fn, void *ctx)
{
	struct seen *s = ctx;

	if (s->n < 16)
		s->f[s->n++] = *fn;
	return 0;
}

TEST(pclntab_reads_go118_and_go120_tables)
{
	static const uint32_t magics[] = { GO_PCLNTAB_MAGIC_118, GO_PCLNTAB_MAGIC_120 };
	static uint8_t buf[4096];

	for (size_t m = 0; m < 2; m++) {
		size_t size = build_pclntab(buf, magics[m], 0x401000, tls_funcs, N_TLS_FUNCS,
					    TLS_FUNCS_END, NULL);
		struct go_pclntab t;
		struct seen s = { .n = 0 };

		ASSERT_EQ(go_pclntab_open(&t, buf, size), 0);
		ASSERT_EQ(t.version, m ? 120 : 118);
		ASSERT_EQ(t.nfunc, N_TLS_FUNCS);
		ASSERT_UEQ(t.text_start, 0x401000);
		ASSERT_EQ(go_pclntab_foreach(&t, collect, &s), 0);
		ASSERT_EQ(s.n, N_TLS_FUNCS);
		for (size_t i = 0; i < N_TLS_FUNCS; i++) {
			uint32_t next =
				i + 1 < N_TLS_FUNCS ? tls_funcs[i + 1].entry : TLS_FUNCS_END;

			ASSERT_STREQ(s.f[i].name, tls_funcs[i].name);
			ASSERT_UEQ(s.f[i].entry_off, tls_funcs[i].entry);
			ASSERT_UEQ(s.f[i].size, next - tls_funcs[i].entry);
		}
	}
}

static int stop_at_second(const struct go_pclntab_func *fn, void *ctx)
{
	return ++*(int *)ctx == 2 ? 7 : 0;
}

TEST(pclntab_walk_stops_when_asked)
{
	static uint8_t buf[4096];
	size_t size = build_pclntab(buf, GO_PCLNTAB_MAGIC_120, 0, tls_funcs, N_TLS_FUNCS,
				    TLS_FUNCS_END, NULL);
	struct go_pclntab t;
	int calls = 0;

	ASSERT_EQ(go_pclntab_open(&t, buf, size), 0);
	ASSERT_EQ(go_pclntab_foreach(&t, stop_at_second, &calls), 7);
	ASSERT_EQ(calls, 2);
}

TEST(pclntab_rejects_other_formats_and_bad_headers)
{
	static uint8_t buf[4096];
	size_t size = build_pclntab(buf, GO_PCLNTAB_MAGIC_118, 0, tls_funcs, N_TLS_FUNCS,
				    TLS_FUNCS_END, NULL);
	static const struct {
		size_t at;
		uint8_t value;
		int err;
	} cases[] = {
		{ 0, 0xfa, -ENOEXEC }, /* Go 1.16/1.17 */
		{ 0, 0xfb, -ENOEXEC }, /* Go 1.2 - 1.15 */
		{ 3, 0x00, -ENOEXEC },	{ 4, 0x01, -ENOEXEC }, /* pad bytes must be 0 */
		{ 5, 0x01, -ENOEXEC },	{ 6, 0x03, -ENOEXEC }, /* quantum 1, 2 or 4 */
		{ 7, 0x04, -ENOEXEC }, /* 32-bit pointers */
		{ 15, 0x01, -EBADMSG }, /* nfunc past 2^32 */
		{ 10, 0x01, -EBADMSG }, /* nfunc too large for the table */
		{ 38, 0x01, -EBADMSG }, /* funcnametab past the end */
		{ 70, 0x01, -EBADMSG }, /* functab past the end */
	};
	struct go_pclntab t;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t saved = buf[cases[i].at];

		buf[cases[i].at] = cases[i].value;
		if (go_pclntab_open(&t, buf, size) != cases[i].err)
			test_fail_at(__FILE__, __LINE__, "case %zu: %d, expected %d", i,
				     go_pclntab_open(&t, buf, size), cases[i].err);
		buf[cases[i].at] = saved;
	}
	ASSERT_EQ(go_pclntab_open(&t, buf, size), 0);
	ASSERT_EQ(go_pclntab_open(&t, buf, GO_PCLNTAB_HDR_SIZE - 1), -ENOEXEC);
	ASSERT_EQ(go_pclntab_open(&t, NULL, size), -ENOEXEC);
	ASSERT_EQ(go_pclntab_foreach(&t, NULL, NULL), -EINVAL);
}

TEST(pclntab_skips_malformed_entries)
{
	static uint8_t buf[4096];
	size_t ft, size = build_pclntab(buf, GO_PCLNTAB_MAGIC_120, 0, tls_funcs, N_TLS_FUNCS,
					TLS_FUNCS_END, &ft);
	struct go_pclntab t;
	struct seen s = { .n = 0 };
	uint32_t funcoff1 = 0, funcoff2 = 0;

	/* entry 1: its _func disagrees on the entry; entry 2: name offset past the end */
	memcpy(&funcoff1, buf + ft + 8 + 4, 4);
	put32(buf + ft + funcoff1, 0x44);
	memcpy(&funcoff2, buf + ft + 16 + 4, 4);
	put32(buf + ft + funcoff2 + 4, 0x7fffffff);
	/* entry 3: _func outside the table */
	put32(buf + ft + 24 + 4, 0xfffffff0);
	ASSERT_EQ(go_pclntab_open(&t, buf, size), 0);
	ASSERT_EQ(go_pclntab_foreach(&t, collect, &s), 0);
	ASSERT_EQ(s.n, 1);
	ASSERT_STREQ(s.f[0].name, "go:buildid");

	/* entries out of order or empty have no size: skipped */
	size = build_pclntab(buf, GO_PCLNTAB_MAGIC_120, 0, tls_funcs, N_TLS_FUNCS, 0x180, &ft);
	s.n = 0;
	ASSERT_EQ(go_pclntab_open(&t, buf, size), 0);
	ASSERT_EQ(go_pclntab_foreach(&t, collect, &s), 0);
	ASSERT_EQ(s.n, N_TLS_FUNCS - 1);

	/* a negative name offset and an empty name */
	size = build_pclntab(buf, GO_PCLNTAB_MAGIC_120, 0, tls_funcs, N_TLS_FUNCS, TLS_FUNCS_END,
			     &ft);
	memcpy(&funcoff1, buf + ft + 4, 4);
	put32(buf + ft + funcoff1 + 4, 0x80000000u);
	buf[PCLN_NAMES + strlen("go:buildid") + 1] = '\0'; /* Write's name is now "" */
	s.n = 0;
	ASSERT_EQ(go_pclntab_open(&t, buf, size), 0);
	ASSERT_EQ(go_pclntab_foreach(&t, collect, &s), 0);
	ASSERT_EQ(s.n, N_TLS_FUNCS - 2);
	ASSERT_STREQ(s.f[0].name, "crypto/tls.(*Conn).Read");
}

TEST(pclntab_never_reads_past_a_cut_table)
{
	static uint8_t full[4096];
	size_t size = build_pclntab(full, GO_PCLNTAB_MAGIC_118, 0, tls_funcs, N_TLS_FUNCS,
				    TLS_FUNCS_END, NULL);

	/* an exact-size copy per length: the sanitizer build sees any overread */
	for (size_t len = 0; len <= size; len++) {
		uint8_t *cut = malloc(len ? len : 1);
		struct go_pclntab t;
		struct seen s = { .n = 0 };

		ASSERT_TRUE(cut != NULL);
		memcpy(cut, full, len);
		if (go_pclntab_open(&t, cut, len) == 0) {
			ASSERT_EQ(go_pclntab_foreach(&t, collect, &s), 0);
			for (size_t i = 0; i < s.n; i++)
				ASSERT_TRUE((const uint8_t *)s.f[i].name + strlen(s.f[i].name) <
					    cut + len);
		}
		/* the last name's NUL is the last byte that matters for names */
		if (len == size)
			ASSERT_EQ(s.n, N_TLS_FUNCS);
		free(cut);
	}
}

/* ---- ELF images holding a pclntab ---- */

#define IMG_BASE 0x400000
#define IMG_MAX 16384

struct tsec {
	const char *name;
	uint32_t type;
	uint64_t flags;
	const void *data;
	size_t size;
	uint64_t addr; /* filled in */
};

/*
 * Lays out an ELF64 x86-64 executable: one R+X PT_LOAD maps the whole file
 * at IMG_BASE, section i at IMG_BASE + its offset.  Returns the size.
 */
static size_t build_elf(uint8_t *img, struct tsec *secs, size_t n)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(*eh));
	size_t off = 0x100, shstr_off, shoff, len = 1, shstrtab_name, name_off[8];
	char shstr[256] = "";
	Elf64_Shdr *sh;

	memset(img, 0, IMG_MAX);
	shstrtab_name = len;
	memcpy(shstr + len, ".shstrtab", sizeof(".shstrtab"));
	len += sizeof(".shstrtab");
	for (size_t i = 0; i < n; i++) {
		off = (off + 15) & ~(size_t)15;
		memcpy(img + off, secs[i].data, secs[i].size);
		secs[i].addr = IMG_BASE + off;
		off += secs[i].size;
		name_off[i] = len;
		memcpy(shstr + len, secs[i].name, strlen(secs[i].name) + 1);
		len += strlen(secs[i].name) + 1;
	}
	shstr_off = off;
	memcpy(img + shstr_off, shstr, len);
	shoff = (shstr_off + len + 7) & ~(size_t)7;
	sh = (Elf64_Shdr *)(img + shoff);
	for (size_t i = 0; i < n; i++)
		sh[i + 1] = (Elf64_Shdr){ .sh_name = (uint32_t)name_off[i],
					  .sh_type = secs[i].type,
					  .sh_flags = secs[i].flags,
					  .sh_addr = secs[i].addr,
					  .sh_offset = secs[i].addr - IMG_BASE,
					  .sh_size = secs[i].size,
					  .sh_addralign = 16 };
	sh[n + 1] = (Elf64_Shdr){ .sh_name = (uint32_t)shstrtab_name,
				  .sh_type = SHT_STRTAB,
				  .sh_offset = shstr_off,
				  .sh_size = len,
				  .sh_addralign = 1 };
	off = shoff + (n + 2) * sizeof(*sh);

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	eh->e_shoff = shoff;
	eh->e_shentsize = sizeof(*sh);
	eh->e_shnum = (uint16_t)(n + 2);
	eh->e_shstrndx = (uint16_t)(n + 1);
	*ph = (Elf64_Phdr){ .p_type = PT_LOAD,
			    .p_flags = PF_R | PF_X,
			    .p_vaddr = IMG_BASE,
			    .p_filesz = off,
			    .p_memsz = off,
			    .p_align = 0x1000 };
	return off;
}

static const char *const go_names[] = { "crypto/tls.(*Conn).Write", "crypto/tls.(*Conn).Read",
					"crypto/tls.(*Conn).Close" };

/* Looks the three Go names up in img; returns how many were found. */
static int lookup_go(const uint8_t *img, size_t size, struct elf_func *f)
{
	for (int i = 0; i < 3; i++)
		f[i] = (struct elf_func){ .name = go_names[i] };
	return elf_find_funcs_mem(img, size, f, 3);
}

/*
 * .text first (its address is known before the table is built: the first
 * section lands at IMG_BASE + 0x100), then the table in a section named
 * pcln_name, then an optional marker section.
 */
static size_t go_image(uint8_t *img, const char *pcln_name, uint64_t flags, bool text_start_set,
		       const char *marker, uint64_t *text_addr)
{
	static uint8_t text[TLS_FUNCS_END], pcln[4096], note[16];
	struct tsec secs[3] = {
		{ ".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, text, sizeof(text), 0 },
	};
	size_t n = 1, pcln_size;

	memset(text, 0xcc, sizeof(text));
	*text_addr = IMG_BASE + 0x100;
	pcln_size = build_pclntab(pcln, GO_PCLNTAB_MAGIC_120, text_start_set ? *text_addr : 0,
				  tls_funcs, N_TLS_FUNCS, TLS_FUNCS_END, NULL);
	secs[n++] = (struct tsec){ pcln_name, SHT_PROGBITS, flags, pcln, pcln_size, 0 };
	if (marker)
		secs[n++] = (struct tsec){ marker, SHT_PROGBITS, SHF_ALLOC, note, sizeof(note), 0 };
	return build_elf(img, secs, n);
}

TEST(elf_finds_go_functions_in_gopclntab)
{
	static uint8_t img[IMG_MAX];
	struct elf_func f[3];
	uint64_t text;
	size_t size;

	for (int set = 0; set < 2; set++) {
		/* textStart 0 (left to a relocation): .text's address stands in */
		size = go_image(img, ".gopclntab", SHF_ALLOC, set, NULL, &text);
		ASSERT_EQ(lookup_go(img, size, f), 2);
		ASSERT_TRUE(f[0].found && f[0].from_pclntab && !f[0].from_dynsym);
		ASSERT_UEQ(f[0].vaddr, text + 0x40);
		ASSERT_UEQ(f[0].file_offset, text + 0x40 - IMG_BASE);
		ASSERT_UEQ(f[0].size, 0xc0);
		ASSERT_UEQ(f[1].vaddr, text + 0x100);
		ASSERT_UEQ(f[1].size, 0x80);
		ASSERT_TRUE(!f[2].found);
	}
	/* a PIE's section name */
	size = go_image(img, ".data.rel.ro.gopclntab", SHF_ALLOC | SHF_WRITE, true, NULL, &text);
	ASSERT_EQ(lookup_go(img, size, f), 2);
	ASSERT_UEQ(f[1].vaddr, text + 0x100);
}

TEST(elf_finds_a_pclntab_merged_into_relro_data)
{
	static uint8_t img[IMG_MAX];
	struct elf_func f[3];
	uint64_t text;
	size_t size;

	/* externally linked PIE: no section of its own, found by its header */
	size = go_image(img, ".data.rel.ro", SHF_ALLOC | SHF_WRITE, true, ".go.buildinfo", &text);
	ASSERT_EQ(lookup_go(img, size, f), 2);
	ASSERT_TRUE(f[0].from_pclntab);
	ASSERT_UEQ(f[0].vaddr, text + 0x40);
	/* only in Go binaries: without a Go marker the data is not searched */
	size = go_image(img, ".data.rel.ro", SHF_ALLOC | SHF_WRITE, true, ".rodata", &text);
	ASSERT_EQ(lookup_go(img, size, f), 0);
	/* nor in code */
	size = go_image(img, ".text2", SHF_ALLOC | SHF_EXECINSTR, true, ".go.buildinfo", &text);
	ASSERT_EQ(lookup_go(img, size, f), 0);
}

TEST(elf_ignores_pclntab_entries_outside_code)
{
	static uint8_t img[IMG_MAX];
	struct elf_func f[3];
	uint64_t text;
	size_t size = go_image(img, ".gopclntab", SHF_ALLOC, true, NULL, &text);
	Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(Elf64_Ehdr));

	/* the segment now ends before Read: only Write is code */
	ph->p_filesz = text + 0x100 - IMG_BASE;
	ASSERT_EQ(lookup_go(img, size, f), 1);
	ASSERT_TRUE(f[0].found && !f[1].found);
}
