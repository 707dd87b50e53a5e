/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Reading function names and addresses from a Go binary's pclntab (the
 * `.gopclntab` section), which the Go runtime needs for stack traces and
 * which stripping (-ldflags=-s -w) therefore keeps: the only symbol table a
 * stripped Go binary has.  Formats of Go 1.18/1.19 (magic 0xfffffff0) and
 * Go 1.20+ (0xfffffff1), 64-bit little-endian only.  The input is untrusted
 * (any binary a traced process runs): every offset is bounds-checked, and a
 * malformed table gives an error or fewer functions, never a read outside it.
 */
#ifndef LLMTAP_GO_PCLNTAB_H
#define LLMTAP_GO_PCLNTAB_H

#include <stddef.h>
#include <stdint.h>

#define GO_PCLNTAB_MAGIC_118 0xfffffff0u
#define GO_PCLNTAB_MAGIC_120 0xfffffff1u
/* Bytes of the Go 1.18+ header with 8-byte pointers (pcHeader). */
#define GO_PCLNTAB_HDR_SIZE 72

struct go_pclntab {
	const uint8_t *data; /* the table, not owned */
	size_t size;
	unsigned version; /* 118 or 120 */
	uint32_t nfunc;
	uint64_t text_start; /* the header's textStart (0 when left to a relocation) */
	size_t funcnames; /* offset of funcnametab */
	size_t functab; /* offset of the functab, also the base of the _func offsets */
};

/* One function of the table. */
struct go_pclntab_func {
	const char *name; /* NUL-terminated, points into the table */
	uint64_t entry_off; /* entry address - text start */
	uint64_t size; /* up to the next function's entry (padding included) */
};

/*
 * Checks the header of the table in data[0..size) and fills *t.  Returns 0,
 * -ENOEXEC if it is not a 64-bit little-endian Go 1.18+ pclntab (older Go
 * versions included), or -EBADMSG if its tables do not fit in size.
 */
int go_pclntab_open(struct go_pclntab *t, const void *data, size_t size);

/*
 * Calls cb for each function whose entry and name are well formed, in table
 * order (ascending entry); malformed entries are skipped.  A non-zero return
 * of cb stops the walk and is returned; otherwise returns 0.
 */
int go_pclntab_foreach(const struct go_pclntab *t,
		       int (*cb)(const struct go_pclntab_func *fn, void *ctx), void *ctx);

#endif
