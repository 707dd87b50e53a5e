// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * elf_syms: a hand-built ELF image pins down the lookup rules (versions,
 * .dynsym before .symtab, bindings, segments, build-id); the real libssl,
 * libc and node of this machine check the results against binutils.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "capture/elf_syms.h"
#include "test.h"

#define LIBSSL "/lib/x86_64-linux-gnu/libssl.so.3"
#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"
#define NODE "/usr/bin/node"

static bool have(const char *path)
{
	return access(path, R_OK) == 0;
}

/* ---- a minimal ELF64 x86-64 shared object built in memory ---- */

#define MINI_TEXT_OFF 0x1000
#define MINI_TEXT_VADDR 0x401000
#define MINI_TEXT_SIZE 0x100
#define MINI_SIZE 0x2000

enum {
	SEC_NULL,
	SEC_TEXT,
	SEC_DYNSYM,
	SEC_DYNSTR,
	SEC_VERSYM,
	SEC_SYMTAB,
	SEC_STRTAB,
	SEC_NOTE,
	SEC_SHSTRTAB,
	SEC_COUNT,
};

struct strtab {
	char buf[512];
	size_t len;
};

static uint32_t str_add(struct strtab *t, const char *s)
{
	uint32_t off;

	if (!t->len)
		t->len = 1; /* index 0 is the empty string */
	off = (uint32_t)t->len;
	memcpy(t->buf + t->len, s, strlen(s) + 1);
	t->len += strlen(s) + 1;
	return off;
}

struct mini_sym {
	const char *name;
	unsigned char type, bind;
	uint16_t shndx;
	uint64_t value, size;
	uint16_t versym; /* .dynsym only */
};

static const struct mini_sym mini_dynsyms[] = {
	{ "foo", STT_FUNC, STB_GLOBAL, SEC_TEXT, 0x401010, 0x10, 2 | 0x8000 }, /* foo@V1 */
	{ "foo", STT_FUNC, STB_GLOBAL, SEC_TEXT, 0x401020, 0x10, 3 }, /* foo@@V2 */
	{ "bar", STT_FUNC, STB_WEAK, SEC_TEXT, 0x401030, 0x8, 1 },
	{ "undef_fn", STT_FUNC, STB_GLOBAL, SHN_UNDEF, 0, 0, 1 },
	{ "obj", STT_OBJECT, STB_GLOBAL, SEC_TEXT, 0x401040, 0x8, 1 },
	{ "data_fn", STT_FUNC, STB_GLOBAL, SEC_TEXT, 0x400100, 0x8, 1 }, /* not executable */
	{ "abs_fn", STT_FUNC, STB_GLOBAL, SHN_ABS, 0x401050, 0x8, 1 },
	{ "old", STT_FUNC, STB_GLOBAL, SEC_TEXT, 0x401060, 0x8, 2 | 0x8000 }, /* only old@V1 */
	{ "past_end", STT_FUNC, STB_GLOBAL, SEC_TEXT, 0x401100, 0x8, 1 }, /* after p_filesz */
};

static const struct mini_sym mini_syms[] = {
	{ "local_fn", STT_FUNC, STB_LOCAL, SEC_TEXT, 0x401070, 0x4, 0 },
	{ "static_only", STT_FUNC, STB_GLOBAL, SEC_TEXT, 0x401080, 0x4, 0 },
	{ "bar", STT_FUNC, STB_GLOBAL, SEC_TEXT, 0x401090, 0x4, 0 },
	{ "ver@V1", STT_FUNC, STB_GLOBAL, SEC_TEXT, 0x4010a0, 0x4, 0 },
	{ "ver@@V2", STT_FUNC, STB_GLOBAL, SEC_TEXT, 0x4010b0, 0x4, 0 },
	{ "ver2@@V2", STT_FUNC, STB_GLOBAL, SEC_TEXT, 0x4010c0, 0x4, 0 },
	{ "ver2@V1", STT_FUNC, STB_GLOBAL, SEC_TEXT, 0x4010d0, 0x4, 0 },
};

#define N_DYN (sizeof(mini_dynsyms) / sizeof(mini_dynsyms[0]) + 1)
#define N_SYM (sizeof(mini_syms) / sizeof(mini_syms[0]) + 1)

static void put_syms(uint8_t *img, size_t off, struct strtab *st, const struct mini_sym *s,
		     size_t n)
{
	Elf64_Sym *out = (Elf64_Sym *)(img + off);

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		out[i + 1] = (Elf64_Sym){
			.st_name = str_add(st, s[i].name),
			.st_info = ELF64_ST_INFO(s[i].bind, s[i].type),
			.st_shndx = s[i].shndx,
			.st_value = s[i].value,
			.st_size = s[i].size,
		};
	}
}

/* Fills img (MINI_SIZE bytes) with the test object; returns its size. */
static size_t build_mini_elf(uint8_t *img)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(*eh));
	struct strtab dynstr = { 0 }, strtab = { 0 }, shstr = { 0 };
	size_t off = MINI_TEXT_OFF + MINI_TEXT_SIZE;
	size_t dynsym_off, versym_off, symtab_off, note_off, dynstr_off, strtab_off, shstr_off;
	uint32_t names[SEC_COUNT];
	Elf64_Shdr *sh;
	uint16_t *vs;
	uint8_t *note;

	memset(img, 0, MINI_SIZE);
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
	eh->e_phnum = 3;
	eh->e_shentsize = sizeof(Elf64_Shdr);
	eh->e_shnum = SEC_COUNT;
	eh->e_shstrndx = SEC_SHSTRTAB;

	/* code: ret everywhere so any symbol reads as a function */
	memset(img + MINI_TEXT_OFF, 0xc3, MINI_TEXT_SIZE);

	dynsym_off = off;
	put_syms(img, dynsym_off, &dynstr, mini_dynsyms, N_DYN - 1);
	off += N_DYN * sizeof(Elf64_Sym);
	versym_off = off;
	vs = (uint16_t *)(img + versym_off);
	for (size_t i = 0; i < N_DYN - 1; i++)
		vs[i + 1] = mini_dynsyms[i].versym;
	off += (N_DYN * 2 + 7) & ~(size_t)7;
	symtab_off = off;
	put_syms(img, symtab_off, &strtab, mini_syms, N_SYM - 1);
	off += N_SYM * sizeof(Elf64_Sym);

	note_off = off;
	note = img + note_off;
	*(Elf64_Nhdr *)note = (Elf64_Nhdr){ .n_namesz = 4, .n_descsz = 20, .n_type = 3 };
	memcpy(note + sizeof(Elf64_Nhdr), "GNU", 4);
	for (int i = 0; i < 20; i++)
		note[sizeof(Elf64_Nhdr) + 4 + i] = (uint8_t)(0xa0 + i);
	off += sizeof(Elf64_Nhdr) + 4 + 20;

	names[SEC_NULL] = 0;
	names[SEC_TEXT] = str_add(&shstr, ".text");
	names[SEC_DYNSYM] = str_add(&shstr, ".dynsym");
	names[SEC_DYNSTR] = str_add(&shstr, ".dynstr");
	names[SEC_VERSYM] = str_add(&shstr, ".gnu.version");
	names[SEC_SYMTAB] = str_add(&shstr, ".symtab");
	names[SEC_STRTAB] = str_add(&shstr, ".strtab");
	names[SEC_NOTE] = str_add(&shstr, ".note.gnu.build-id");
	names[SEC_SHSTRTAB] = str_add(&shstr, ".shstrtab");
	dynstr_off = off;
	memcpy(img + off, dynstr.buf, dynstr.len);
	off += dynstr.len;
	strtab_off = off;
	memcpy(img + off, strtab.buf, strtab.len);
	off += strtab.len;
	shstr_off = off;
	memcpy(img + off, shstr.buf, shstr.len);
	off += shstr.len;
	off = (off + 7) & ~(size_t)7;

	/* segments: headers R (0x400000), text R+X (0x401000), the note */
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD,
			      .p_flags = PF_R,
			      .p_offset = 0,
			      .p_vaddr = 0x400000,
			      .p_filesz = MINI_TEXT_OFF,
			      .p_memsz = MINI_TEXT_OFF,
			      .p_align = 0x1000 };
	ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD,
			      .p_flags = PF_R | PF_X,
			      .p_offset = MINI_TEXT_OFF,
			      .p_vaddr = MINI_TEXT_VADDR,
			      .p_filesz = MINI_TEXT_SIZE,
			      .p_memsz = 0x200,
			      .p_align = 0x1000 };
	ph[2] = (Elf64_Phdr){ .p_type = PT_NOTE,
			      .p_flags = PF_R,
			      .p_offset = note_off,
			      .p_vaddr = 0x500000 + note_off,
			      .p_filesz = sizeof(Elf64_Nhdr) + 24,
			      .p_align = 4 };

	eh->e_shoff = off;
	sh = (Elf64_Shdr *)(img + off);
	sh[SEC_TEXT] = (Elf64_Shdr){ names[SEC_TEXT],
				     SHT_PROGBITS,
				     SHF_ALLOC | SHF_EXECINSTR,
				     MINI_TEXT_VADDR,
				     MINI_TEXT_OFF,
				     MINI_TEXT_SIZE,
				     0,
				     0,
				     16,
				     0 };
	sh[SEC_DYNSYM] = (Elf64_Shdr){
		names[SEC_DYNSYM],	   SHT_DYNSYM, SHF_ALLOC, 0, dynsym_off,
		N_DYN * sizeof(Elf64_Sym), SEC_DYNSTR, 1,	  8, sizeof(Elf64_Sym)
	};
	sh[SEC_DYNSTR] = (Elf64_Shdr){ names[SEC_DYNSTR], SHT_STRTAB, SHF_ALLOC, 0, dynstr_off,
				       dynstr.len,	  0,	      0,	 1, 0 };
	sh[SEC_VERSYM] = (Elf64_Shdr){ names[SEC_VERSYM], SHT_GNU_versym, SHF_ALLOC, 0, versym_off,
				       N_DYN * 2,	  SEC_DYNSYM,	  0,	     2, 2 };
	sh[SEC_SYMTAB] =
		(Elf64_Shdr){ names[SEC_SYMTAB],	 SHT_SYMTAB, 0, 0, symtab_off,
			      N_SYM * sizeof(Elf64_Sym), SEC_STRTAB, 2, 8, sizeof(Elf64_Sym) };
	sh[SEC_STRTAB] = (Elf64_Shdr){ names[SEC_STRTAB], SHT_STRTAB, 0, 0, strtab_off,
				       strtab.len,	  0,	      0, 1, 0 };
	sh[SEC_NOTE] = (Elf64_Shdr){ names[SEC_NOTE],	      SHT_NOTE, SHF_ALLOC, 0, note_off,
				     sizeof(Elf64_Nhdr) + 24, 0,	0,	   4, 0 };
	sh[SEC_SHSTRTAB] = (Elf64_Shdr){ names[SEC_SHSTRTAB], SHT_STRTAB, 0, 0, shstr_off,
					 shstr.len,	      0,	  0, 1, 0 };
	off += SEC_COUNT * sizeof(Elf64_Shdr);
	ASSERT_TRUE(off <= MINI_SIZE);
	return off;
}

static const char mini_build_id[] = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3";

/* Writes buf to a memfd; returns the fd. */
static int memfd_with(const void *buf, size_t len)
{
	int fd = memfd_create("llmtap-test-elf", MFD_CLOEXEC);

	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(write(fd, buf, len), (ssize_t)len);
	return fd;
}

struct mini_expect {
	const char *name;
	bool found;
	uint64_t vaddr;
	bool from_dynsym;
};

static const struct mini_expect mini_expect[] = {
	{ "foo", true, 0x401020, true }, /* default version wins */
	{ "bar", true, 0x401030, true }, /* weak .dynsym beats global .symtab */
	{ "undef_fn", false, 0, false },
	{ "obj", false, 0, false },
	{ "data_fn", false, 0, false },
	{ "abs_fn", false, 0, false },
	{ "old", true, 0x401060, true }, /* a non-default version is still found */
	{ "past_end", false, 0, false },
	{ "local_fn", false, 0, false },
	{ "static_only", true, 0x401080, false },
	{ "ver", true, 0x4010b0, false },
	{ "ver2", true, 0x4010c0, false },
	{ "missing", false, 0, false },
	{ "foo", true, 0x401020, true }, /* asked twice */
	{ "fo", false, 0, false },
	{ "foo@@V2", false, 0, false }, /* names are base names */
};

#define N_EXPECT (sizeof(mini_expect) / sizeof(mini_expect[0]))

static void check_mini(int ret, const struct elf_func *funcs)
{
	int want = 0;

	for (size_t i = 0; i < N_EXPECT; i++) {
		const struct mini_expect *e = &mini_expect[i];

		want += e->found;
		if (funcs[i].found != e->found || funcs[i].vaddr != e->vaddr ||
		    funcs[i].from_dynsym != e->from_dynsym)
			test_fail_at(__FILE__, __LINE__,
				     "%s: found %d vaddr %#" PRIx64
				     " dynsym %d, expected %d %#" PRIx64 " %d",
				     e->name, funcs[i].found, funcs[i].vaddr, funcs[i].from_dynsym,
				     e->found, e->vaddr, e->from_dynsym);
		if (e->found)
			ASSERT_UEQ(funcs[i].file_offset,
				   e->vaddr - MINI_TEXT_VADDR + MINI_TEXT_OFF);
		ASSERT_TRUE(funcs[i].name == e->name);
	}
	ASSERT_EQ(ret, want);
}

static void mini_funcs(struct elf_func *funcs)
{
	for (size_t i = 0; i < N_EXPECT; i++)
		funcs[i] =
			(struct elf_func){ .name = mini_expect[i].name, .found = true, .vaddr = 1 };
}

TEST(elf_mini_lookup_rules)
{
	static uint8_t img[MINI_SIZE];
	struct elf_func funcs[N_EXPECT];
	size_t len = build_mini_elf(img);
	int fd;

	mini_funcs(funcs);
	check_mini(elf_find_funcs_mem(img, len, funcs, N_EXPECT), funcs);

	fd = memfd_with(img, len);
	mini_funcs(funcs);
	check_mini(elf_find_funcs(fd, funcs, N_EXPECT), funcs);
	close(fd);
}

TEST(elf_mini_build_id)
{
	static uint8_t img[MINI_SIZE];
	size_t len = build_mini_elf(img);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	char id[64];
	int fd;

	ASSERT_EQ(elf_build_id_mem(img, len, id, sizeof(id)), 0);
	ASSERT_STREQ(id, mini_build_id);
	ASSERT_EQ(elf_build_id_mem(img, len, id, 40), -ENOSPC);
	ASSERT_EQ(elf_build_id_mem(img, len, id, 41), 0);

	fd = memfd_with(img, len);
	memset(id, 0, sizeof(id));
	ASSERT_EQ(elf_build_id(fd, id, sizeof(id)), 0);
	ASSERT_STREQ(id, mini_build_id);
	close(fd);

	/* without the PT_NOTE the section is used */
	eh->e_phnum = 2;
	ASSERT_EQ(elf_build_id_mem(img, len, id, sizeof(id)), 0);
	ASSERT_STREQ(id, mini_build_id);
	/* a note of another type is not a build-id */
	build_mini_elf(img);
	((Elf64_Nhdr *)(img + ((Elf64_Phdr *)(img + sizeof(*eh)))[2].p_offset))->n_type = 1;
	ASSERT_EQ(elf_build_id_mem(img, len, id, sizeof(id)), -ENOENT);
}

static int count_cb(const struct elf_func *fn, void *ctx)
{
	size_t *n = ctx;

	ASSERT_TRUE(fn->found && fn->name);
	if (strcmp(fn->name, "local_fn") == 0)
		n[1]++;
	if (strcmp(fn->name, "ver@V1") == 0)
		n[2]++;
	n[0]++;
	return strcmp(fn->name, "ver2@V1") == 0 ? 42 : 0;
}

TEST(elf_mini_foreach)
{
	static uint8_t img[MINI_SIZE];
	size_t len = build_mini_elf(img);
	size_t n[3] = { 0 };
	int fd;

	/* dynsym: foo x2, bar, old; symtab: 7 functions, the last one stops the walk */
	ASSERT_EQ(elf_foreach_func_mem(img, len, count_cb, n), 42);
	ASSERT_UEQ(n[0], 4 + 7);
	ASSERT_UEQ(n[1], 1);
	ASSERT_UEQ(n[2], 1);
	fd = memfd_with(img, len);
	memset(n, 0, sizeof(n));
	ASSERT_EQ(elf_foreach_func(fd, count_cb, n), 42);
	ASSERT_UEQ(n[0], 11);
	close(fd);
	ASSERT_EQ(elf_foreach_func_mem(img, len, NULL, NULL), -EINVAL);
}

TEST(elf_mini_rejects)
{
	static uint8_t img[MINI_SIZE];
	struct elf_func f = { .name = "foo" };
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	size_t len;

	len = build_mini_elf(img);
	eh->e_machine = EM_386;
	ASSERT_EQ(elf_find_funcs_mem(img, len, &f, 1), -ENOEXEC);
	eh->e_machine = EM_AARCH64;
	ASSERT_EQ(elf_find_funcs_mem(img, len, &f, 1), 1);
	eh->e_type = ET_REL;
	ASSERT_EQ(elf_find_funcs_mem(img, len, &f, 1), -ENOEXEC);
	len = build_mini_elf(img);
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	ASSERT_EQ(elf_find_funcs_mem(img, len, &f, 1), -ENOEXEC);
	ASSERT_EQ(elf_find_funcs_mem("hello", 5, &f, 1), -ENOEXEC);
	ASSERT_EQ(elf_find_funcs_mem(NULL, 5, &f, 1), -EINVAL);

	/* the text segment no longer executable: nothing can be probed */
	len = build_mini_elf(img);
	((Elf64_Phdr *)(img + sizeof(*eh)))[1].p_flags = PF_R;
	ASSERT_EQ(elf_find_funcs_mem(img, len, &f, 1), 0);
	ASSERT_TRUE(!f.found);
	/* a segment claiming bytes past the end of the file */
	len = build_mini_elf(img);
	((Elf64_Phdr *)(img + sizeof(*eh)))[1].p_offset = (uint64_t)-0x10;
	ASSERT_EQ(elf_find_funcs_mem(img, len, &f, 1), 0);
}

/* Every prefix of the image and every single-byte corruption: no crash, and
 * whatever is found lies inside the image. */
TEST(elf_mini_truncated_and_corrupted)
{
	static uint8_t img[MINI_SIZE], copy[MINI_SIZE];
	struct elf_func funcs[N_EXPECT];
	size_t len = build_mini_elf(img);
	char id[64];

	for (size_t cut = 0; cut < len; cut++) {
		int ret;

		mini_funcs(funcs);
		ret = elf_find_funcs_mem(img, cut, funcs, N_EXPECT);
		ASSERT_TRUE(ret >= -ENOEXEC);
		for (size_t i = 0; i < N_EXPECT; i++)
			if (funcs[i].found && funcs[i].file_offset >= cut)
				test_fail_at(__FILE__, __LINE__,
					     "cut %zu: %s at %#" PRIx64 " ret %d", cut,
					     funcs[i].name, funcs[i].file_offset, ret);
		elf_build_id_mem(img, cut, id, sizeof(id));
	}
	for (size_t pos = 0; pos < len; pos++) {
		memcpy(copy, img, len);
		copy[pos] ^= 0xff;
		mini_funcs(funcs);
		if (elf_find_funcs_mem(copy, len, funcs, N_EXPECT) > 0)
			for (size_t i = 0; i < N_EXPECT; i++)
				ASSERT_TRUE(!funcs[i].found || funcs[i].file_offset < len);
		elf_build_id_mem(copy, len, id, sizeof(id));
	}
}

/* ---- real libraries ---- */

/* Runs cmd and returns the first output line containing needle (static buffer). */
static const char *run_grep(const char *cmd, const char *needle)
{
	static char line[1024];
	const char *hit = NULL;
	FILE *p = popen(cmd, "r");

	if (!p)
		return NULL;
	while (fgets(line, sizeof(line), p))
		if (!hit && strstr(line, needle)) {
			hit = line;
			break;
		}
	while (!feof(p) && fgetc(p) != EOF)
		;
	pclose(p);
	return hit;
}

/* st_value of the default-version .dynsym entry "name@@..." per readelf, or 0. */
static uint64_t readelf_default_value(const char *path, const char *name)
{
	char cmd[512], needle[128];
	const char *line;
	unsigned long long v;

	snprintf(cmd, sizeof(cmd), "readelf --dyn-syms -W '%s' 2>/dev/null", path);
	snprintf(needle, sizeof(needle), " %s@@", name);
	line = run_grep(cmd, needle);
	if (!line || sscanf(line, " %*[0-9]: %llx", &v) != 1)
		return 0;
	return v;
}

/* Bytes objdump shows at [vaddr, vaddr + n); returns how many were parsed. */
static size_t objdump_bytes(const char *path, uint64_t vaddr, uint8_t *out, size_t n)
{
	char cmd[512], line[1024];
	size_t got = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "objdump -d -z --insn-width=16 --start-address=0x%" PRIx64
		 " --stop-address=0x%" PRIx64 " '%s' 2>/dev/null",
		 vaddr, vaddr + n, path);
	p = popen(cmd, "r");
	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p)) {
		char *s, *end;

		if (line[0] != ' ')
			continue;
		s = strchr(line, ':');
		if (!s || s[1] != '\t')
			continue;
		for (s += 2; got < n;) {
			unsigned long b = strtoul(s, &end, 16);

			/* the byte column ends at the next tab */
			if (end == s || end - s != 2)
				break;
			out[got++] = (uint8_t)b;
			s = end;
			if (*s != ' ')
				break;
			while (*s == ' ')
				s++;
			if (*s == '\t' || *s == '\n')
				break;
		}
	}
	pclose(p);
	return got;
}

TEST(elf_libssl_funcs)
{
	static const char *const names[] = { "SSL_write",    "SSL_read",
					     "SSL_write_ex", "SSL_read_ex",
					     "SSL_ctrl",     "SSL_free",
					     "SSL_set_fd",   "no_such_function_xyz" };
	struct elf_func funcs[8];
	int fd;

	if (!have(LIBSSL)) {
		printf("  note: skipped, %s missing\n", LIBSSL);
		return;
	}
	fd = open(LIBSSL, O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	for (size_t i = 0; i < 8; i++)
		funcs[i] = (struct elf_func){ .name = names[i] };
	ASSERT_EQ(elf_find_funcs(fd, funcs, 8), 7);
	ASSERT_TRUE(!funcs[7].found);
	for (size_t i = 0; i < 7; i++) {
		uint8_t mine[32], theirs[32];
		uint64_t ref;

		ASSERT_TRUE(funcs[i].found && funcs[i].from_dynsym && funcs[i].size > 0);
		ref = readelf_default_value(LIBSSL, names[i]);
		if (ref)
			ASSERT_UEQ(funcs[i].vaddr, ref);
		ASSERT_EQ(elf_read_code(fd, funcs[i].file_offset, mine, sizeof(mine)),
			  (ssize_t)sizeof(mine));
		if (have("/usr/bin/objdump")) {
			size_t n = objdump_bytes(LIBSSL, funcs[i].vaddr, theirs, sizeof(theirs));

			ASSERT_TRUE(n >= 16);
			ASSERT_MEMEQ(mine, theirs, n);
		}
	}
	close(fd);
}

TEST(elf_libssl_build_id)
{
	char id[129], cmd[256];
	const char *line;
	int fd;

	if (!have(LIBSSL)) {
		printf("  note: skipped, %s missing\n", LIBSSL);
		return;
	}
	fd = open(LIBSSL, O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(elf_build_id(fd, id, sizeof(id)), 0);
	ASSERT_TRUE(strlen(id) >= 16 && strspn(id, "0123456789abcdef") == strlen(id));
	close(fd);
	snprintf(cmd, sizeof(cmd), "readelf -n '%s' 2>/dev/null", LIBSSL);
	line = run_grep(cmd, "Build ID:");
	if (line)
		ASSERT_TRUE(strstr(line, id) != NULL);
}

/* Versioned libc functions: the default version's address, as readelf says. */
TEST(elf_libc_default_versions)
{
	static const char *const names[] = { "fmemopen",	  "posix_spawn", "glob64",
					     "pthread_cond_init", "realpath",	 "malloc" };
	struct elf_func funcs[6];
	int fd, checked = 0;

	if (!have(LIBC)) {
		printf("  note: skipped, %s missing\n", LIBC);
		return;
	}
	fd = open(LIBC, O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	for (size_t i = 0; i < 6; i++)
		funcs[i] = (struct elf_func){ .name = names[i] };
	ASSERT_TRUE(elf_find_funcs(fd, funcs, 6) >= 4);
	for (size_t i = 0; i < 6; i++) {
		uint64_t ref = readelf_default_value(LIBC, names[i]);

		if (!ref || !funcs[i].found)
			continue;
		ASSERT_UEQ(funcs[i].vaddr, ref);
		checked++;
	}
	close(fd);
	printf("  note: %d default versions checked against readelf\n", checked);
	ASSERT_TRUE(checked >= 3);
}

TEST(elf_not_elf)
{
	int fd = memfd_with("#!/bin/sh\necho hi\n", 18);
	struct elf_func f = { .name = "SSL_write" };
	char id[64];

	ASSERT_EQ(elf_find_funcs(fd, &f, 1), -ENOEXEC);
	ASSERT_EQ(elf_build_id(fd, id, sizeof(id)), -ENOEXEC);
	close(fd);
	fd = memfd_create("llmtap-empty", MFD_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(elf_find_funcs(fd, &f, 1), -ENOEXEC);
	close(fd);
	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(elf_find_funcs(fd, &f, 1), -ENOEXEC);
	close(fd);
	ASSERT_EQ(elf_find_funcs(-1, &f, 1), -EBADF);
}

TEST(elf_read_code_bounds)
{
	int fd = memfd_with("0123456789", 10);
	char buf[16];

	ASSERT_EQ(elf_read_code(fd, 4, buf, 4), 4);
	ASSERT_MEMEQ(buf, "4567", 4);
	ASSERT_EQ(elf_read_code(fd, 8, buf, 16), 2);
	ASSERT_EQ(elf_read_code(fd, 10, buf, 16), 0);
	ASSERT_EQ(elf_read_code(fd, 1000, buf, 16), 0);
	ASSERT_EQ(elf_read_code(fd, (uint64_t)-1, buf, 16), -EINVAL);
	close(fd);
	ASSERT_EQ(elf_read_code(-1, 0, buf, 16), -EBADF);
}

TEST(elf_truncated_libssl)
{
	struct elf_func f = { .name = "SSL_write" };
	uint8_t head[4096];
	char id[129];
	int fd, tfd, ret;

	if (!have(LIBSSL)) {
		printf("  note: skipped, %s missing\n", LIBSSL);
		return;
	}
	fd = open(LIBSSL, O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(elf_read_code(fd, 0, head, sizeof(head)), (ssize_t)sizeof(head));
	close(fd);
	tfd = memfd_with(head, sizeof(head));
	ret = elf_find_funcs(tfd, &f, 1);
	ASSERT_TRUE(ret == 0 || ret == -ENOEXEC);
	ASSERT_TRUE(!f.found);
	elf_build_id(tfd, id, sizeof(id));
	close(tfd);
	ret = elf_find_funcs_mem(head, sizeof(head), &f, 1);
	ASSERT_TRUE(ret == 0 || ret == -ENOEXEC);
}

TEST(elf_node_ssl_write)
{
	static const char *const names[] = { "SSL_write", "SSL_read", "SSL_write_ex",
					     "SSL_read_ex" };
	struct elf_func funcs[4];
	struct timespec t0, t1;
	uint64_t ref;
	int fd;

	if (!have(NODE)) {
		printf("  note: skipped, %s missing\n", NODE);
		return;
	}
	fd = open(NODE, O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	for (size_t i = 0; i < 4; i++)
		funcs[i] = (struct elf_func){ .name = names[i] };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(elf_find_funcs(fd, funcs, 4), 4);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("  note: node lookup took %.1f ms\n",
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	ASSERT_TRUE(funcs[0].found && funcs[0].from_dynsym && funcs[0].size > 0);
	/* node's .dynsym is unversioned: compare with nm */
	ref = 0;
	{
		const char *line =
			run_grep("nm -D --defined-only " NODE " 2>/dev/null", " T SSL_write\n");
		unsigned long long v;

		if (line && sscanf(line, "%llx", &v) == 1)
			ref = v;
	}
	if (ref)
		ASSERT_UEQ(funcs[0].vaddr, ref);
	close(fd);
}

/* tests/data/x86/versioned.so: the real linker's versioned symbols. */
TEST(elf_fixture_versioned)
{
	static const char *const names[] = { "foo",	   "SSL_write", "SSL_read",
					     "call_local", "foo_v1",	"V1" };
	struct elf_func funcs[6];
	size_t len = 0;
	char *img = test_read_data("x86/versioned.so", &len);
	char id[64];
	int fd;

	ASSERT_TRUE(img != NULL);
	for (size_t i = 0; i < 6; i++)
		funcs[i] = (struct elf_func){ .name = names[i] };
	ASSERT_EQ(elf_find_funcs_mem(img, len, funcs, 6), 4);
	ASSERT_UEQ(funcs[0].vaddr, 0x370); /* foo@@V2, not foo@V1 at 0x360 */
	ASSERT_UEQ(funcs[0].size, 4);
	ASSERT_TRUE(funcs[0].from_dynsym);
	ASSERT_UEQ(funcs[1].vaddr, 0x380);
	ASSERT_UEQ(funcs[1].size, 22);
	ASSERT_UEQ(funcs[1].file_offset, 0x380);
	ASSERT_UEQ(funcs[2].vaddr, 0x3a0);
	ASSERT_UEQ(funcs[3].vaddr, 0x3b0);
	ASSERT_TRUE(!funcs[4].found); /* local in .symtab */
	ASSERT_TRUE(!funcs[5].found); /* the version's ABS OBJECT */
	ASSERT_EQ(elf_build_id_mem(img, len, id, sizeof(id)), 0);
	ASSERT_STREQ(id, "4d2fccd9f365bff1eb69612e0b31339acec3f236");

	fd = memfd_with(img, len);
	for (size_t i = 0; i < 6; i++)
		funcs[i] = (struct elf_func){ .name = names[i] };
	ASSERT_EQ(elf_find_funcs(fd, funcs, 6), 4);
	ASSERT_UEQ(funcs[0].vaddr, 0x370);
	close(fd);
	free(img);
}
