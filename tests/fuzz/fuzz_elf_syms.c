// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target for elf_syms.  An input is either a raw file image or,
 * when it starts with 'P', a list of byte patches (and a cut) applied to a
 * small built-in ELF with versioned .dynsym, .symtab and a build-id note, so
 * the deep paths are reached without seeds.  Each image is parsed in memory
 * and through a memfd (the agent's path); both must agree, and whatever is
 * found must lie inside the image.
 */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture/elf_syms.h"

#define CHECK(c)                                                                              \
	do {                                                                                  \
		if (!(c)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                              \
		}                                                                             \
	} while (0)

static const char *const names[] = { "SSL_write", "SSL_read", "foo", "bar",
				     "ver",	  "main",     "",    "SSL_write" };
#define N_NAMES (sizeof(names) / sizeof(names[0]))

/* ---- the template: one R+X segment mapping the whole file at 0 ---- */

#define T_SIZE 0x500
#define T_TEXT 0x100
#define T_DYNSYM 0x140
#define T_VERSYM 0x1d0
#define T_SYMTAB 0x1e0
#define T_STR 0x270
#define T_NOTE 0x2c0
#define T_SHDR 0x300

static uint8_t tmpl[T_SIZE];

static void sym(uint8_t *at, uint32_t name, unsigned char bind, uint16_t shndx, uint64_t value)
{
	*(Elf64_Sym *)at = (Elf64_Sym){ .st_name = name,
					.st_info = ELF64_ST_INFO(bind, STT_FUNC),
					.st_shndx = shndx,
					.st_value = value,
					.st_size = 8 };
}

static void build_template(void)
{
	static const char str[] = "\0foo\0bar\0SSL_write\0ver@V1\0ver@@V2\0main";
	Elf64_Ehdr *eh = (Elf64_Ehdr *)tmpl;
	Elf64_Phdr *ph = (Elf64_Phdr *)(tmpl + sizeof(*eh));
	Elf64_Shdr *sh = (Elf64_Shdr *)(tmpl + T_SHDR);
	uint16_t *vs = (uint16_t *)(tmpl + T_VERSYM);
	Elf64_Nhdr *nh = (Elf64_Nhdr *)(tmpl + T_NOTE);

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_DYN;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 2;
	eh->e_shoff = T_SHDR;
	eh->e_shentsize = sizeof(*sh);
	eh->e_shnum = 8;
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD,
			      .p_flags = PF_R | PF_X,
			      .p_filesz = T_SIZE,
			      .p_memsz = T_SIZE,
			      .p_align = 0x1000 };
	ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE,
			      .p_flags = PF_R,
			      .p_offset = T_NOTE,
			      .p_vaddr = T_NOTE,
			      .p_filesz = sizeof(*nh) + 12,
			      .p_align = 4 };
	memset(tmpl + T_TEXT, 0xc3, 0x40);
	memcpy(tmpl + T_STR, str, sizeof(str));
	/* .dynsym: foo@V1 (hidden), foo@@V2, bar, SSL_write */
	sym(tmpl + T_DYNSYM + 24, 1, STB_GLOBAL, 1, T_TEXT);
	sym(tmpl + T_DYNSYM + 48, 1, STB_GLOBAL, 1, T_TEXT + 8);
	sym(tmpl + T_DYNSYM + 72, 5, STB_WEAK, 1, T_TEXT + 16);
	sym(tmpl + T_DYNSYM + 96, 9, STB_GLOBAL, 1, T_TEXT + 24);
	vs[1] = 0x8002;
	vs[2] = 3;
	vs[3] = 1;
	vs[4] = 1;
	/* .symtab: ver@V1, ver@@V2, main (local), bar */
	sym(tmpl + T_SYMTAB + 24, 19, STB_GLOBAL, 1, T_TEXT + 32);
	sym(tmpl + T_SYMTAB + 48, 26, STB_GLOBAL, 1, T_TEXT + 40);
	sym(tmpl + T_SYMTAB + 72, 34, STB_LOCAL, 1, T_TEXT + 48);
	sym(tmpl + T_SYMTAB + 96, 5, STB_GLOBAL, 1, T_TEXT + 56);
	*nh = (Elf64_Nhdr){ .n_namesz = 4, .n_descsz = 8, .n_type = NT_GNU_BUILD_ID };
	memcpy(nh + 1, "GNU\0\x01\x23\x45\x67\x89\xab\xcd\xef", 12);
	sh[1] = (Elf64_Shdr){
		0, SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, T_TEXT, T_TEXT, 0x40, 0, 0, 16, 0
	};
	sh[2] = (Elf64_Shdr){ 0, SHT_DYNSYM, SHF_ALLOC, 0, T_DYNSYM, 5 * 24, 4, 1, 8, 24 };
	sh[3] = (Elf64_Shdr){ 0, SHT_GNU_versym, SHF_ALLOC, 0, T_VERSYM, 10, 2, 0, 2, 2 };
	sh[4] = (Elf64_Shdr){ 0, SHT_STRTAB, SHF_ALLOC, 0, T_STR, sizeof(str), 0, 0, 1, 0 };
	sh[5] = (Elf64_Shdr){ 0, SHT_SYMTAB, 0, 0, T_SYMTAB, 5 * 24, 4, 4, 8, 24 };
	sh[6] = (Elf64_Shdr){ 0, SHT_NOTE, SHF_ALLOC, 0, T_NOTE, sizeof(*nh) + 12, 0, 0, 4, 0 };
	sh[7] = (Elf64_Shdr){ 0, SHT_PROGBITS, 0, 0, 0x3f0, 0x10, 0, 0, 1, 0 };
}

static int memfd = -1;

static int foreach_cb(const struct elf_func *fn, void *ctx)
{
	size_t size = *(size_t *)ctx;

	CHECK(fn->found && fn->name && fn->file_offset < size);
	(void)strlen(fn->name);
	return 0;
}

static void check_found(const struct elf_func *f, int ret, size_t size)
{
	int n = 0;

	for (size_t i = 0; i < N_NAMES; i++) {
		CHECK(f[i].name == names[i]);
		if (f[i].found) {
			CHECK(f[i].file_offset < size);
			n++;
		}
	}
	CHECK(ret < 0 ? n == 0 : ret == n);
}

static void run(const uint8_t *img, size_t size)
{
	struct elf_func a[N_NAMES], b[N_NAMES];
	char id_a[80], id_b[80];
	int ra, rb, ia, ib;

	for (size_t i = 0; i < N_NAMES; i++)
		a[i] = b[i] = (struct elf_func){ .name = names[i] };
	ra = elf_find_funcs_mem(img, size, a, N_NAMES);
	check_found(a, ra, size);
	ia = elf_build_id_mem(img, size, id_a, sizeof(id_a));
	if (ia == 0)
		CHECK(strlen(id_a) % 2 == 0 && strspn(id_a, "0123456789abcdef") == strlen(id_a));
	elf_foreach_func_mem(img, size, foreach_cb, &size);

	/* the same bytes through a file descriptor */
	if (memfd < 0)
		memfd = memfd_create("fuzz-elf", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, 0) != 0 || pwrite(memfd, img, size, 0) != (ssize_t)size)
		return;
	rb = elf_find_funcs(memfd, b, N_NAMES);
	check_found(b, rb, size);
	CHECK(ra == rb || (size == 0 && rb == -ENOEXEC));
	for (size_t i = 0; i < N_NAMES && ra >= 0; i++)
		CHECK(a[i].found == b[i].found && a[i].file_offset == b[i].file_offset &&
		      a[i].vaddr == b[i].vaddr && a[i].size == b[i].size);
	ib = elf_build_id(memfd, id_b, sizeof(id_b));
	CHECK(ia == ib);
	if (ia == 0)
		CHECK(strcmp(id_a, id_b) == 0);
	elf_foreach_func(memfd, foreach_cb, &size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *img;
	size_t len;

	if (size >= 2 && data[0] == 'P') {
		if (!tmpl[0])
			build_template();
		img = malloc(T_SIZE);
		if (!img)
			return 0;
		memcpy(img, tmpl, T_SIZE);
		/* 3-byte patches: offset (le16), xor value */
		for (size_t i = 2; i + 3 <= size; i += 3)
			img[(data[i] | data[i + 1] << 8) % T_SIZE] ^= data[i + 2];
		len = data[1] ? (size_t)T_SIZE * data[1] / 256 : T_SIZE;
		/* a cut image in an exact-size buffer so ASan sees overreads */
		if (len < T_SIZE) {
			uint8_t *cut = malloc(len ? len : 1);

			if (cut)
				memcpy(cut, img, len);
			free(img);
			img = cut;
			if (!img)
				return 0;
		}
	} else {
		len = size;
		img = malloc(len ? len : 1);
		if (!img)
			return 0;
		memcpy(img, data, len);
	}
	run(img, len);
	free(img);
	return 0;
}
