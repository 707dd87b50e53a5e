/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which TLS stack does an ELF file carry?  A pure function of the file's
 * bytes, for diagnostics (`llmtap status`, the agent's run-state file): it
 * never decides what is attached, only explains it.  Evidence, cheapest
 * first: exported/defined function names (elf_syms), section names
 * (.gopclntab, .go.buildinfo, .bun), the tail of the file (Bun's trailer),
 * and for stripped files a bounded scan of their loaded data for marker
 * strings.  Files are hostile input: every read is bounded and a malformed
 * file gives an error or "nothing found", never a crash.
 */
#ifndef LLMTAP_TLS_DETECT_H
#define LLMTAP_TLS_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* TLS implementations found in one file (bits of tls_detect.stacks). */
enum tls_stack {
	/* SSL_write + SSL_read defined by a shared library: libssl (OpenSSL,
	 * LibreSSL, a BoringSSL .so), also GnuTLS's OpenSSL compatibility layer */
	TLS_STACK_OPENSSL = 1u << 0,
	/* SSL_write + SSL_read defined in an executable's own symbols: static
	 * OpenSSL or BoringSSL with symbols (node, envoy, bun-profile) */
	TLS_STACK_OPENSSL_EXE = 1u << 1,
	TLS_STACK_GNUTLS = 1u << 2, /* gnutls_record_send + gnutls_record_recv */
	TLS_STACK_GO = 1u << 3, /* crypto/tls.(*Conn).Write/Read in the symbol table */
	TLS_STACK_GO_PCLNTAB = 1u << 4, /* stripped Go: crypto/tls named only in .gopclntab */
	TLS_STACK_NSS = 1u << 5, /* NSS libssl3/libnss3 (I/O through NSPR's PR_Write/PR_Read) */
	TLS_STACK_RUSTLS = 1u << 6, /* symbol names, or crate paths in a stripped file */
	TLS_STACK_JSSE = 1u << 7, /* a JVM: TLS is Java code (JSSE) */
	TLS_STACK_BORINGSSL_STRIPPED = 1u << 8, /* BoringSSL text, no symbols (Bun, Electron) */
	TLS_STACK_OPENSSL_STRIPPED = 1u << 9, /* OpenSSL version text, no symbols */
};
#define TLS_STACK_COUNT 10

/* Language runtimes worth naming even without TLS (bits of tls_detect.runtimes). */
enum tls_runtime {
	TLS_RT_GO = 1u << 0,
	TLS_RT_NODE = 1u << 1,
	TLS_RT_BUN = 1u << 2,
	TLS_RT_JAVA = 1u << 3,
};
#define TLS_RT_COUNT 4

/* What kind of file (bits of tls_detect.flags). */
enum tls_file_flag {
	TLS_F_EXEC = 1u << 0, /* an executable (ET_EXEC, PT_INTERP or a PIE), not a library */
	TLS_F_STATIC = 1u << 1, /* an executable without a program interpreter */
	TLS_F_STRIPPED = 1u << 2, /* no .symtab */
	TLS_F_BORINGSSL = 1u << 3, /* OpenSSL-style symbols are BoringSSL's */
	TLS_F_SCAN_CUT = 1u << 4, /* the marker scan stopped at its byte budget */
};

struct tls_detect {
	uint32_t stacks; /* enum tls_stack bits */
	uint32_t runtimes; /* enum tls_runtime bits */
	uint32_t flags; /* enum tls_file_flag bits */
};

/* Options of tls_detect_*(). */
enum tls_detect_opt {
	/* Symbols, section names and the file's tail only: no marker scan of
	 * the loaded data (for latency-sensitive callers). */
	TLS_DETECT_NO_SCAN = 1u << 0,
};

/* Bytes of loaded data a marker scan reads at most per file. */
#define TLS_DETECT_SCAN_MAX (128ull << 20)

/*
 * Classifies the ELF file open as fd (read with pread and libelf; the
 * offset is not used).  Fills *out (zeroed first, also on error).  Returns
 * 0, -ENOEXEC when fd is not an ELF64 x86-64/aarch64 executable or shared
 * object, or -errno.
 */
int tls_detect_fd(int fd, unsigned opts, struct tls_detect *out);
/* Same on the file at path (opened O_RDONLY | O_CLOEXEC). */
int tls_detect_path(const char *path, unsigned opts, struct tls_detect *out);
/* Same on an in-memory image; the image is only read. */
int tls_detect_mem(const void *image, size_t size, unsigned opts, struct tls_detect *out);

/* Short stable name of one stack bit ("openssl", "go-pclntab"...); "?" if unknown. */
const char *tls_stack_name(uint32_t stack);
/* Short stable name of one runtime bit ("go", "node", "bun", "java"); "?" if unknown. */
const char *tls_runtime_name(uint32_t rt);
/* One-line human description of a stack as found in d ("Bun (static BoringSSL, stripped)"). */
const char *tls_stack_describe(uint32_t stack, const struct tls_detect *d);
/* True when llmtap attaches hooks for this stack (by symbol, or by .gopclntab for Go). */
bool tls_stack_hookable(uint32_t stack);

#endif
