// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target for go_pclntab and the Go lookups of elf_syms.  The first
 * byte of an input picks what the rest is:
 *   'P'  byte patches (offset le16, xor value) over a built-in Go 1.20 table
 *        naming the crypto/tls functions, so the deep paths are reached
 *        without seeds; the patched table is then also tried as below
 *   'S'  a table placed in an ELF image's .gopclntab section
 *   'D'  a table merged into .data.rel.ro of a Go binary (found by a scan)
 *   else a raw table
 * Raw tables are parsed from an exact-size copy (ASan sees overreads) and
 * every function reported must lie inside it; ELF lookups must only report
 * offsets inside the image.
 */
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/elf_syms.h"
#include "capture/go_pclntab.h"

#define CHECK(c)                                                                              \
	do {                                                                                  \
		if (!(c)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                              \
		}                                                                             \
	} while (0)

/* ---- the template table: header, names, functab, _func records ---- */

#define T_SIZE 512
#define T_NAMES 72
#define T_FUNCTAB 160

static uint8_t tmpl[T_SIZE];

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void build_template(void)
{
	static const char *const names[] = { "go:buildid", "crypto/tls.(*Conn).Write",
					     "crypto/tls.(*Conn).Read",
					     "crypto/tls.(*Conn).Close" };
	static const uint32_t entries[] = { 0x0, 0x40, 0x100, 0x180, 0x1c0 };
	size_t off = T_NAMES, recs = (2 * 4 + 1) * 4;

	put32(tmpl, GO_PCLNTAB_MAGIC_120);
	tmpl[6] = 1;
	tmpl[7] = 8;
	tmpl[8] = 4; /* nfunc */
	put32(tmpl + 24, 0x401000); /* textStart */
	tmpl[32] = T_NAMES;
	tmpl[64] = T_FUNCTAB;
	for (size_t i = 0; i < 4; i++) {
		uint32_t funcoff = (uint32_t)(recs + 8 * i);

		put32(tmpl + T_FUNCTAB + 8 * i, entries[i]);
		put32(tmpl + T_FUNCTAB + 8 * i + 4, funcoff);
		put32(tmpl + T_FUNCTAB + funcoff, entries[i]);
		put32(tmpl + T_FUNCTAB + funcoff + 4, (uint32_t)(off - T_NAMES));
		memcpy(tmpl + off, names[i], strlen(names[i]) + 1);
		off += strlen(names[i]) + 1;
	}
	put32(tmpl + T_FUNCTAB + 32, entries[4]);
}

static int check_func(const struct go_pclntab_func *fn, void *ctx)
{
	const struct go_pclntab *t = ctx;
	const uint8_t *name = (const uint8_t *)fn->name;

	CHECK(name >= t->data && name < t->data + t->size);
	CHECK(name + strlen(fn->name) < t->data + t->size);
	CHECK(fn->name[0] && fn->size > 0);
	return 0;
}

static void run_raw(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	struct go_pclntab t;

	if (!copy)
		return;
	memcpy(copy, data, size);
	if (go_pclntab_open(&t, copy, size) == 0) {
		CHECK(t.version == 118 || t.version == 120);
		go_pclntab_foreach(&t, check_func, &t);
	}
	free(copy);
}

/* ---- an ELF executable: .text, the table's section, a Go marker ---- */

#define IMG_BASE 0x400000
#define IMG_TEXT 0x1000 /* .text at IMG_BASE + IMG_TEXT, 0x200 bytes */
#define IMG_TABLE 0x1200

static void run_elf(const uint8_t *table, size_t size, bool merged)
{
	static const char shstr[] = "\0.shstrtab\0.text\0.gopclntab\0.data.rel.ro\0.go.buildinfo";
	size_t shoff = (IMG_TABLE + size + 7) & ~(size_t)7, total;
	static const char *const names[] = { "crypto/tls.(*Conn).Write", "crypto/tls.(*Conn).Read",
					     "crypto/tls.(*Conn).Close", "SSL_write" };
	struct elf_func f[4];
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
	Elf64_Shdr *sh;
	uint8_t *img;
	int n;

	total = shoff + 5 * sizeof(Elf64_Shdr);
	img = calloc(1, total);
	if (!img)
		return;
	eh = (Elf64_Ehdr *)img;
	ph = (Elf64_Phdr *)(img + sizeof(*eh));
	sh = (Elf64_Shdr *)(img + shoff);
	memcpy(img + 0x100, shstr, sizeof(shstr));
	memset(img + IMG_TEXT, 0xcc, 0x200);
	memcpy(img + IMG_TABLE, table, size);
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
	eh->e_shnum = 5;
	eh->e_shstrndx = 1;
	*ph = (Elf64_Phdr){ .p_type = PT_LOAD,
			    .p_flags = PF_R | PF_X,
			    .p_vaddr = IMG_BASE,
			    .p_filesz = IMG_TABLE,
			    .p_memsz = IMG_TABLE,
			    .p_align = 0x1000 };
	sh[1] = (Elf64_Shdr){ 1, SHT_STRTAB, 0, 0, 0x100, sizeof(shstr), 0, 0, 1, 0 };
	sh[2] = (Elf64_Shdr){ 11,
			      SHT_PROGBITS,
			      SHF_ALLOC | SHF_EXECINSTR,
			      IMG_BASE + IMG_TEXT,
			      IMG_TEXT,
			      0x200,
			      0,
			      0,
			      16,
			      0 };
	sh[3] = (Elf64_Shdr){ merged ? 28 : 17,
			      SHT_PROGBITS,
			      SHF_ALLOC,
			      IMG_BASE + IMG_TABLE,
			      IMG_TABLE,
			      size,
			      0,
			      0,
			      8,
			      0 };
	sh[4] = (Elf64_Shdr){ 41, SHT_PROGBITS, SHF_ALLOC, 0, 0x100, 1, 0, 0, 1, 0 };
	for (int i = 0; i < 4; i++)
		f[i] = (struct elf_func){ .name = names[i] };
	n = elf_find_funcs_mem(img, total, f, 4);
	/* no symbol table: whatever is found comes from the table, inside the code */
	for (int i = 0; i < 4 && n > 0; i++)
		if (f[i].found)
			CHECK(f[i].from_pclntab && f[i].file_offset < IMG_TABLE);
	free(img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t table[T_SIZE];

	if (size == 0)
		return 0;
	switch (data[0]) {
	case 'P':
		if (!tmpl[0])
			build_template();
		memcpy(table, tmpl, T_SIZE);
		for (size_t i = 1; i + 3 <= size; i += 3)
			table[(data[i] | data[i + 1] << 8) % T_SIZE] ^= data[i + 2];
		run_raw(table, T_SIZE);
		run_elf(table, T_SIZE, false);
		run_elf(table, T_SIZE, true);
		break;
	case 'S':
		run_elf(data + 1, size - 1, false);
		break;
	case 'D':
		run_elf(data + 1, size - 1, true);
		break;
	default:
		run_raw(data, size);
	}
	return 0;
}
