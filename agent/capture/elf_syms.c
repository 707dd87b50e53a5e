// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Function symbol lookup with libelf.  Files are opened with
 * ELF_C_READ_MMAP so that a 100 MB executable (node, with ~75k .dynsym and
 * ~185k .symtab entries) is paged in only where the symbol tables are, and
 * each table is walked once, hashing each function name against the few
 * names asked for.  Bounds checking of sections, string tables and notes is
 * left to libelf (elf_getdata, elf_strptr, gelf_getnote validate against the
 * file size); this file checks what libelf cannot know: segment arithmetic.
 */
#include "elf_syms.h"
#include "go_pclntab.h"

#include <errno.h>
#include <gelf.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef NT_GNU_BUILD_ID
#define NT_GNU_BUILD_ID 3
#endif
#define VERSYM_HIDDEN 0x8000 /* .gnu.version: not the default version */

struct exec_seg {
	uint64_t vaddr;
	uint64_t filesz;
	uint64_t offset;
};

struct elf_file {
	Elf *elf;
	uint64_t file_size;
	struct exec_seg *segs; /* executable PT_LOAD segments */
	size_t n_segs;
};

/* A defined function symbol as seen while walking a table. */
struct sym_info {
	const char *name; /* raw name, maybe with @VERSION */
	uint64_t vaddr;
	uint64_t size;
	uint64_t file_offset;
	bool dyn;
	bool global; /* STB_GLOBAL or STB_WEAK */
	bool default_version;
	bool pclntab; /* from a Go pclntab */
};

typedef int (*sym_visit_fn)(const struct sym_info *si, void *ctx);

static void elf_file_close(struct elf_file *f)
{
	free(f->segs);
	if (f->elf)
		elf_end(f->elf);
	memset(f, 0, sizeof(*f));
}

static int load_exec_segments(struct elf_file *f)
{
	size_t phnum, n = 0;
	GElf_Phdr ph;

	if (elf_getphdrnum(f->elf, &phnum) != 0)
		return -ENOEXEC;
	/* elf64_getphdr checks the whole table lies in the file before we
	 * size anything from the (untrusted) count */
	if (phnum && !elf64_getphdr(f->elf))
		return -ENOEXEC;
	for (size_t i = 0; i < phnum; i++)
		if (gelf_getphdr(f->elf, (int)i, &ph) && ph.p_type == PT_LOAD &&
		    (ph.p_flags & PF_X) && ph.p_filesz)
			n++;
	if (!n)
		return 0;
	f->segs = calloc(n, sizeof(*f->segs));
	if (!f->segs)
		return -ENOMEM;
	for (size_t i = 0; i < phnum && f->n_segs < n; i++) {
		if (!gelf_getphdr(f->elf, (int)i, &ph) || ph.p_type != PT_LOAD ||
		    !(ph.p_flags & PF_X) || !ph.p_filesz)
			continue;
		f->segs[f->n_segs++] = (struct exec_seg){ ph.p_vaddr, ph.p_filesz, ph.p_offset };
	}
	return 0;
}

/* Opens fd (image == NULL) or an in-memory image and checks it is ours. */
static int elf_file_open(struct elf_file *f, int fd, const void *image, size_t size)
{
	GElf_Ehdr eh;
	int err;

	memset(f, 0, sizeof(*f));
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOTSUP;
	if (image) {
		/* elf_memory wants a mutable pointer but only writes for
		 * ELF_C_RDWR-style updates, which are never made here */
		f->elf = elf_memory((char *)image, size);
		f->file_size = size;
		if (!f->elf)
			return -ENOEXEC;
	} else {
		struct stat st;

		if (fstat(fd, &st) < 0)
			return -errno;
		if (!S_ISREG(st.st_mode))
			return -ENOEXEC;
		f->file_size = (uint64_t)st.st_size;
		/* libelf's errors are not errnos; nearly all are malformed
		 * headers, so a file it refuses is simply not usable ELF */
		f->elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
		if (!f->elf)
			return -ENOEXEC;
	}
	if (elf_kind(f->elf) != ELF_K_ELF || gelf_getclass(f->elf) != ELFCLASS64 ||
	    !gelf_getehdr(f->elf, &eh) ||
	    (eh.e_machine != EM_X86_64 && eh.e_machine != EM_AARCH64) ||
	    (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)) {
		err = -ENOEXEC;
		goto fail;
	}
	err = load_exec_segments(f);
	if (err)
		goto fail;
	return 0;
fail:
	elf_file_close(f);
	return err;
}

/* Maps a virtual address to its file offset through an executable segment. */
static bool vaddr_to_offset(const struct elf_file *f, uint64_t vaddr, uint64_t *off)
{
	for (size_t i = 0; i < f->n_segs; i++) {
		const struct exec_seg *s = &f->segs[i];
		uint64_t o;

		if (vaddr < s->vaddr || vaddr - s->vaddr >= s->filesz)
			continue;
		o = s->offset + (vaddr - s->vaddr);
		if (o < s->offset || o >= f->file_size)
			continue;
		*off = o;
		return true;
	}
	return false;
}

struct sym_tables {
	Elf_Scn *dynsym;
	Elf_Scn *symtab;
	Elf_Scn *versym; /* .gnu.version, only if it belongs to dynsym */
	Elf_Scn *pclntab; /* Go: .gopclntab (.data.rel.ro.gopclntab when PIE) */
	uint64_t text_addr; /* .text's address, 0 if none */
	bool go; /* a Go binary: .go.buildinfo or .note.go.buildid */
};

/* True when a section name ends with "gopclntab". */
static bool is_pclntab_name(const char *name)
{
	static const char suffix[] = "gopclntab";
	size_t n = name ? strlen(name) : 0;

	return n >= sizeof(suffix) - 1 && strcmp(name + n - (sizeof(suffix) - 1), suffix) == 0;
}

static void find_tables(Elf *elf, struct sym_tables *t)
{
	Elf_Scn *scn = NULL, *versym = NULL;
	GElf_Shdr sh;
	size_t versym_link = 0, shstrndx;
	bool names = elf_getshdrstrndx(elf, &shstrndx) == 0;

	memset(t, 0, sizeof(*t));
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (names && (sh.sh_type == SHT_PROGBITS || sh.sh_type == SHT_NOTE)) {
			const char *name = elf_strptr(elf, shstrndx, sh.sh_name);

			if (!name)
				name = "";
			if (!t->pclntab && sh.sh_type == SHT_PROGBITS && is_pclntab_name(name))
				t->pclntab = scn;
			else if (!t->text_addr && strcmp(name, ".text") == 0)
				t->text_addr = sh.sh_addr;
			else if (strcmp(name, ".go.buildinfo") == 0 ||
				 strcmp(name, ".note.go.buildid") == 0)
				t->go = true;
		}
		if (sh.sh_type == SHT_DYNSYM && !t->dynsym) {
			t->dynsym = scn;
		} else if (sh.sh_type == SHT_SYMTAB && !t->symtab) {
			t->symtab = scn;
		} else if (sh.sh_type == SHT_GNU_versym && !versym) {
			versym = scn;
			versym_link = sh.sh_link;
		}
	}
	if (versym && t->dynsym && versym_link == elf_ndxscn(t->dynsym))
		t->versym = versym;
}

/* Calls visit for each defined STT_FUNC symbol of scn in an executable segment. */
static int walk_symbols(struct elf_file *f, Elf_Scn *scn, Elf_Scn *versym_scn, bool dyn,
			sym_visit_fn visit, void *ctx)
{
	Elf_Data *data, *vdata = NULL;
	size_t count, nver = 0, entsize;
	GElf_Shdr sh;

	if (!scn || !gelf_getshdr(scn, &sh))
		return 0;
	data = elf_getdata(scn, NULL);
	entsize = gelf_fsize(f->elf, ELF_T_SYM, 1, EV_CURRENT);
	if (!data || data->d_type != ELF_T_SYM || !entsize)
		return 0;
	count = data->d_size / entsize;
	if (count > INT_MAX) /* gelf_getsym takes an int index */
		count = INT_MAX;
	if (versym_scn) {
		vdata = elf_getdata(versym_scn, NULL);
		if (vdata && vdata->d_type == ELF_T_HALF)
			nver = vdata->d_size / sizeof(GElf_Versym);
	}

	for (size_t i = 1; i < count; i++) {
		struct sym_info si = { .dyn = dyn, .default_version = true };
		unsigned char type, bind;
		GElf_Versym vs;
		GElf_Sym sym;
		const char *at;
		int ret;

		if (!gelf_getsym(data, (int)i, &sym))
			break;
		type = GELF_ST_TYPE(sym.st_info);
		bind = GELF_ST_BIND(sym.st_info);
		/* SHN_ABS/SHN_COMMON and friends are not code */
		if (type != STT_FUNC || sym.st_shndx == SHN_UNDEF ||
		    (sym.st_shndx >= SHN_LORESERVE && sym.st_shndx != SHN_XINDEX))
			continue;
		if (!vaddr_to_offset(f, sym.st_value, &si.file_offset))
			continue;
		si.name = elf_strptr(f->elf, sh.sh_link, sym.st_name);
		if (!si.name || !si.name[0])
			continue;
		si.vaddr = sym.st_value;
		si.size = sym.st_size;
		si.global = bind == STB_GLOBAL || bind == STB_WEAK;
		if (dyn) {
			if (i < nver && gelf_getversym(vdata, (int)i, &vs) && (vs & VERSYM_HIDDEN))
				si.default_version = false;
		} else {
			/* .symtab spells versions in the name: foo@@V default, foo@V not */
			at = strchr(si.name, '@');
			if (at && at[1] != '@')
				si.default_version = false;
		}
		ret = visit(&si, ctx);
		if (ret)
			return ret;
	}
	return 0;
}

struct pclntab_walk {
	struct elf_file *f;
	uint64_t text_start;
	sym_visit_fn visit;
	void *ctx;
};

static int pclntab_visit(const struct go_pclntab_func *fn, void *ctx)
{
	struct pclntab_walk *w = ctx;
	struct sym_info si = {
		.name = fn->name, .global = true, .default_version = true, .pclntab = true
	};

	if (fn->entry_off > UINT64_MAX - w->text_start)
		return 0;
	si.vaddr = w->text_start + fn->entry_off;
	si.size = fn->size;
	if (!vaddr_to_offset(w->f, si.vaddr, &si.file_offset))
		return 0;
	return w->visit(&si, w->ctx);
}

/*
 * Finds a pclntab inside the read-only data of a Go binary that has no
 * section for it: an externally linked PIE, where the system linker merged
 * it into .data.rel.ro.  The header is pointer-aligned and starts with the
 * magic, two zero bytes, the instruction quantum and the pointer size.
 * Returns 0 with *tab filled, or -ENOENT.
 */
static int scan_pclntab(Elf *elf, struct go_pclntab *tab)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn))) {
		const uint8_t *p;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_ALLOC) || (sh.sh_flags & SHF_EXECINSTR))
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf || data->d_size < GO_PCLNTAB_HDR_SIZE)
			continue;
		p = data->d_buf;
		for (size_t i = 0; i + GO_PCLNTAB_HDR_SIZE <= data->d_size; i += 8) {
			if (p[i + 1] != 0xff || p[i + 2] != 0xff || p[i + 3] != 0xff ||
			    (p[i] != 0xf0 && p[i] != 0xf1) || p[i + 7] != 8)
				continue;
			if (go_pclntab_open(tab, p + i, data->d_size - i) == 0 && tab->nfunc > 0)
				return 0;
		}
	}
	return -ENOENT;
}

/*
 * Calls visit for each function of a Go binary's pclntab.  Entries are
 * relative to the text start: the header's (runtime.text), unless it is 0
 * or outside the code (an unrelocated PIE value), then .text's address as
 * Go's own debug/gosym does.
 */
static int walk_pclntab(struct elf_file *f, const struct sym_tables *t, sym_visit_fn visit,
			void *ctx)
{
	struct pclntab_walk w = { .f = f, .visit = visit, .ctx = ctx };
	struct go_pclntab tab;
	uint64_t off;
	Elf_Data *data;

	if (t->pclntab) {
		data = elf_getdata(t->pclntab, NULL);
		if (!data || !data->d_buf || go_pclntab_open(&tab, data->d_buf, data->d_size) != 0)
			return 0;
	} else if (!t->go || scan_pclntab(f->elf, &tab) != 0) {
		return 0;
	}
	w.text_start = tab.text_start;
	if (!w.text_start || !vaddr_to_offset(f, w.text_start, &off))
		w.text_start = t->text_addr;
	return go_pclntab_foreach(&tab, pclntab_visit, &w);
}

/* Open-addressed table of the wanted names, keyed by a hash of the base name. */
struct want {
	struct elf_func *funcs;
	size_t n;
	size_t *slots; /* index + 1 into funcs, 0 = empty */
	size_t mask;
	uint8_t *rank; /* 0 none, 1 non-default version, 2 default version */
	size_t n_found;
};

static uint32_t hash_base(const char *s, size_t *len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; s[i] && s[i] != '@'; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	*len = i;
	return h;
}

static int want_init(struct want *w, struct elf_func *funcs, size_t n)
{
	size_t cap = 16;

	memset(w, 0, sizeof(*w));
	w->funcs = funcs;
	w->n = n;
	while (cap < 2 * n) {
		if (cap > ((size_t)-1) / 4)
			return -ENOMEM;
		cap *= 2;
	}
	w->slots = calloc(cap, sizeof(*w->slots));
	w->rank = calloc(n ? n : 1, sizeof(*w->rank));
	if (!w->slots || !w->rank)
		return -ENOMEM;
	w->mask = cap - 1;
	for (size_t i = 0; i < n; i++) {
		size_t len, s;

		if (!funcs[i].name)
			continue;
		s = hash_base(funcs[i].name, &len) & w->mask;
		while (w->slots[s])
			s = (s + 1) & w->mask;
		w->slots[s] = i + 1;
	}
	return 0;
}

static void want_free(struct want *w)
{
	free(w->slots);
	free(w->rank);
}

static int want_visit(const struct sym_info *si, void *ctx)
{
	struct want *w = ctx;
	uint8_t rank = si->default_version ? 2 : 1;
	size_t len, s;

	if (!si->global)
		return 0;
	s = hash_base(si->name, &len) & w->mask;
	/* visit every slot of the probe run: the same name may be asked twice */
	for (; w->slots[s]; s = (s + 1) & w->mask) {
		size_t i = w->slots[s] - 1;
		struct elf_func *fn = &w->funcs[i];

		if (w->rank[i] >= rank || strncmp(fn->name, si->name, len) != 0 ||
		    fn->name[len] != '\0')
			continue;
		if (!w->rank[i])
			w->n_found++;
		w->rank[i] = rank;
		fn->found = true;
		fn->vaddr = si->vaddr;
		fn->size = si->size;
		fn->file_offset = si->file_offset;
		fn->from_dynsym = si->dyn;
		fn->from_pclntab = si->pclntab;
	}
	return 0;
}

static int find_funcs(int fd, const void *image, size_t size, struct elf_func *funcs, size_t n)
{
	struct elf_file f;
	struct sym_tables t;
	struct want w;
	int err;

	if (n && !funcs)
		return -EINVAL;
	/* on errors too, every entry reads "not found" */
	for (size_t i = 0; i < n; i++)
		funcs[i] = (struct elf_func){ .name = funcs[i].name };
	err = elf_file_open(&f, fd, image, size);
	if (err)
		return err;
	err = want_init(&w, funcs, n);
	if (err)
		goto cleanup;
	find_tables(f.elf, &t);
	walk_symbols(&f, t.dynsym, t.versym, true, want_visit, &w);
	/* .symtab only for names .dynsym lacks: a local copy must not
	 * override the exported function */
	if (w.n_found < n) {
		for (size_t i = 0; i < n; i++)
			if (w.rank[i])
				w.rank[i] = 2;
		walk_symbols(&f, t.symtab, NULL, false, want_visit, &w);
	}
	/* a stripped Go binary: its pclntab, for names still missing */
	if (w.n_found < n)
		walk_pclntab(&f, &t, want_visit, &w);
	err = (int)(w.n_found > (size_t)INT32_MAX ? INT32_MAX : w.n_found);
cleanup:
	want_free(&w);
	elf_file_close(&f);
	return err;
}

int elf_find_funcs(int fd, struct elf_func *funcs, size_t n)
{
	return find_funcs(fd, NULL, 0, funcs, n);
}

int elf_find_funcs_mem(const void *image, size_t size, struct elf_func *funcs, size_t n)
{
	if (!image)
		return -EINVAL;
	return find_funcs(-1, image, size, funcs, n);
}

ssize_t elf_read_code(int fd, uint64_t file_offset, void *buf, size_t len)
{
	size_t done = 0;

	if (file_offset > (uint64_t)INT64_MAX || (len && !buf))
		return -EINVAL;
	if (len > (size_t)SSIZE_MAX)
		len = (size_t)SSIZE_MAX;
	while (done < len) {
		ssize_t r;

		if (file_offset + done > (uint64_t)INT64_MAX)
			break;
		r = pread(fd, (char *)buf + done, len - done, (off_t)(file_offset + done));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

/* Looks for the GNU build-id note in one chunk of notes. */
static int scan_notes(Elf_Data *data, char *out, size_t out_size)
{
	static const char hex[] = "0123456789abcdef";
	size_t off = 0, next, name_off, desc_off;
	GElf_Nhdr nh;

	while (off < data->d_size &&
	       (next = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		const uint8_t *desc = (const uint8_t *)data->d_buf + desc_off;

		off = next;
		if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 || nh.n_descsz == 0 ||
		    memcmp((const char *)data->d_buf + name_off, "GNU", 4) != 0)
			continue;
		if (out_size < 2 * (size_t)nh.n_descsz + 1)
			return -ENOSPC;
		for (size_t i = 0; i < nh.n_descsz; i++) {
			out[2 * i] = hex[desc[i] >> 4];
			out[2 * i + 1] = hex[desc[i] & 15];
		}
		out[2 * (size_t)nh.n_descsz] = '\0';
		return 0;
	}
	return -ENOENT;
}

static int build_id(int fd, const void *image, size_t size, char *out, size_t out_size)
{
	struct elf_file f;
	Elf_Scn *scn = NULL;
	size_t phnum = 0;
	GElf_Shdr sh;
	GElf_Phdr ph;
	int err;

	if (!out || !out_size)
		return -EINVAL;
	err = elf_file_open(&f, fd, image, size);
	if (err)
		return err;
	err = -ENOENT;
	/* Segments first: stripped files may have no section headers. */
	if (elf_getphdrnum(f.elf, &phnum) != 0)
		phnum = 0;
	for (size_t i = 0; i < phnum && err == -ENOENT; i++) {
		Elf_Data *d;

		if (!gelf_getphdr(f.elf, (int)i, &ph) || ph.p_type != PT_NOTE || !ph.p_filesz)
			continue;
		d = elf_getdata_rawchunk(f.elf, (int64_t)ph.p_offset, ph.p_filesz,
					 ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
		if (d)
			err = scan_notes(d, out, out_size);
	}
	while (err == -ENOENT && (scn = elf_nextscn(f.elf, scn))) {
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		d = elf_getdata(scn, NULL);
		if (d && (d->d_type == ELF_T_NHDR || d->d_type == ELF_T_NHDR8))
			err = scan_notes(d, out, out_size);
	}
	elf_file_close(&f);
	return err;
}

int elf_build_id(int fd, char *out, size_t out_size)
{
	return build_id(fd, NULL, 0, out, out_size);
}

int elf_build_id_mem(const void *image, size_t size, char *out, size_t out_size)
{
	if (!image)
		return -EINVAL;
	return build_id(-1, image, size, out, out_size);
}

struct foreach_ctx {
	elf_func_cb cb;
	void *ctx;
};

static int foreach_visit(const struct sym_info *si, void *ctx)
{
	struct foreach_ctx *fc = ctx;
	struct elf_func fn = {
		.name = si->name,
		.found = true,
		.vaddr = si->vaddr,
		.size = si->size,
		.file_offset = si->file_offset,
		.from_dynsym = si->dyn,
	};

	return fc->cb(&fn, fc->ctx);
}

static int foreach_func(int fd, const void *image, size_t size, elf_func_cb cb, void *ctx)
{
	struct foreach_ctx fc = { cb, ctx };
	struct sym_tables t;
	struct elf_file f;
	int err;

	if (!cb)
		return -EINVAL;
	err = elf_file_open(&f, fd, image, size);
	if (err)
		return err;
	find_tables(f.elf, &t);
	err = walk_symbols(&f, t.dynsym, t.versym, true, foreach_visit, &fc);
	if (!err)
		err = walk_symbols(&f, t.symtab, NULL, false, foreach_visit, &fc);
	elf_file_close(&f);
	return err;
}

int elf_foreach_func(int fd, elf_func_cb cb, void *ctx)
{
	return foreach_func(fd, NULL, 0, cb, ctx);
}

int elf_foreach_func_mem(const void *image, size_t size, elf_func_cb cb, void *ctx)
{
	if (!image)
		return -EINVAL;
	return foreach_func(-1, image, size, cb, ctx);
}
