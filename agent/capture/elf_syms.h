/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ELF function symbol lookup (libelf/gelf) for uprobe placement: finds
 * exported functions such as SSL_write in a shared library or executable and
 * turns their address into the file offset a uprobe is attached at.  Input
 * files are untrusted (any binary a traced process maps): malformed files
 * give errors or "not found", never reads outside the file.
 */
#ifndef LLMTAP_ELF_SYMS_H
#define LLMTAP_ELF_SYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct elf_func {
	const char *name; /* the name asked for (not owned) */
	bool found;
	uint64_t vaddr; /* st_value */
	uint64_t size; /* st_size (0 if unknown) */
	uint64_t file_offset; /* where the code starts in the file: the uprobe offset */
	bool from_dynsym; /* found in .dynsym (else .symtab or .gopclntab) */
	bool from_pclntab; /* found in a Go binary's .gopclntab */
};

/*
 * Looks up every funcs[i].name (a base name, no "@VERSION") in .dynsym, then
 * the ones still missing in .symtab, then in a Go binary's pclntab (what a
 * stripped Go binary keeps: its .gopclntab section, or when the system
 * linker merged it into other data, the table found by its header), in one
 * pass per table.  Matches global or weak defined STT_FUNC symbols (any
 * pclntab function) lying in an executable PT_LOAD segment; for versioned
 * symbols the default version (foo@@V) wins over foo@V.  A pclntab
 * function's size runs to the next function (alignment padding included).
 * Fills the other fields of each entry (all reset, also on error).  Returns
 * how many were found (>= 0), -ENOEXEC if fd is not an ELF64 x86-64/aarch64
 * executable or shared object, or -errno.
 */
int elf_find_funcs(int fd, struct elf_func *funcs, size_t n);

/*
 * Same as elf_find_funcs on an in-memory image of a file.  The image is only
 * read and must stay valid for the call.
 */
int elf_find_funcs_mem(const void *image, size_t size, struct elf_func *funcs, size_t n);

/*
 * Copies up to len bytes of the file at file_offset into buf.  Returns the
 * number of bytes copied (less than len only at end of file) or -errno.
 */
ssize_t elf_read_code(int fd, uint64_t file_offset, void *buf, size_t len);

/*
 * Writes the GNU build-id (NT_GNU_BUILD_ID note, from PT_NOTE segments, else
 * SHT_NOTE sections) into out as a NUL-terminated lowercase hex string.
 * Returns 0, -ENOENT if there is none, -ENOSPC if out_size is too small,
 * -ENOEXEC as elf_find_funcs, or -errno.
 */
int elf_build_id(int fd, char *out, size_t out_size);
int elf_build_id_mem(const void *image, size_t size, char *out, size_t out_size);

/*
 * Called by elf_foreach_func for each symbol; fn and fn->name are valid only
 * during the call.  A non-zero return stops the walk and is passed back.
 */
typedef int (*elf_func_cb)(const struct elf_func *fn, void *ctx);

/*
 * Calls cb for every defined STT_FUNC symbol (any binding, raw name with any
 * "@VERSION") inside an executable segment: .dynsym first, then .symtab, so a
 * function may be reported twice.  Returns 0, cb's non-zero value, or an error
 * as elf_find_funcs.
 */
int elf_foreach_func(int fd, elf_func_cb cb, void *ctx);
int elf_foreach_func_mem(const void *image, size_t size, elf_func_cb cb, void *ctx);

#endif
