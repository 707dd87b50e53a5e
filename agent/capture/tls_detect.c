// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * TLS stack detection.  The rules, in the order they are tried:
 *
 * 1. Function symbols (elf_syms, the same lookup the attacher uses, so
 *    "found here" means "attachable"): SSL_write/SSL_read, gnutls_record_*,
 *    Go's crypto/tls.(*Conn).Write/Read (.symtab, or .gopclntab when
 *    stripped), NSS's SSL_ImportFD/NSS_Init, the JVM's JNI_CreateJavaVM,
 *    node::Start.
 * 2. Section names: .go.buildinfo/.gopclntab/.note.go.buildid (Go), .bun
 *    (recent Bun keeps its module graph there, plain runtime included).
 * 3. The last 4 KiB of an executable: older Bun standalone executables end
 *    with the "---- Bun! ----" trailer and a byte count.
 * 4. Only when nothing above named a stack or a runtime: Rust symbol names
 *    of the rustls crate, then, for stripped files, a bounded scan of the
 *    loaded data (PT_LOAD file ranges) for marker strings: Bun's trailer
 *    constant (every Bun binary compares against it), BoringSSL's version
 *    string and source paths, OpenSSL's version text (static OpenSSL;
 *    ignored in libcrypto itself and in users of the shared libraries),
 *    rustls crate paths kept by Rust's panic locations, Go's build-info
 *    magic, and for Go the name crypto/tls.(*Conn).Write in .gopclntab.
 *    Markers only say "probably": they name stacks llmtap cannot hook,
 *    they never decide an attach.
 */
#include "tls_detect.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf_syms.h"

#ifndef DF_1_PIE
#define DF_1_PIE 0x08000000
#endif

#define SCAN_CHUNK (1u << 20)
#define TAIL_BYTES 4096
#define MAX_RANGES 32 /* PT_LOAD ranges kept for the scan */
#define MAX_SECTIONS 65536 /* section headers looked at */
#define MAX_DYN 4096 /* .dynamic entries looked at */

/* Where the bytes come from: an fd (pread) or an in-memory image. */
struct src {
	int fd;
	const uint8_t *mem;
	uint64_t size;
};

static ssize_t src_read(const struct src *s, uint64_t off, void *buf, size_t len)
{
	if (off >= s->size)
		return 0;
	if (len > s->size - off)
		len = (size_t)(s->size - off);
	if (s->mem) {
		memcpy(buf, s->mem + off, len);
		return (ssize_t)len;
	}
	return elf_read_code(s->fd, off, buf, len);
}

struct range {
	uint64_t off, len;
	bool exec;
};

/* What the headers say, gathered in one pass. */
struct layout {
	bool exec_type, has_interp, pie, has_symtab, has_sections;
	bool go_sections, bun_section;
	bool needs_openssl; /* DT_NEEDED names a shared libssl/libcrypto */
	struct range pclntab; /* len 0: none */
	struct range loads[MAX_RANGES];
	size_t n_loads;
};

/* Clamps [off, off+len) to the file; false when nothing is left. */
static bool clamp_range(uint64_t size, uint64_t off, uint64_t len, struct range *r)
{
	if (off >= size || len == 0)
		return false;
	if (len > size - off)
		len = size - off;
	r->off = off;
	r->len = len;
	return true;
}

static void read_dynamic(Elf *elf, const GElf_Phdr *ph, struct layout *l)
{
	Elf_Data *d;
	size_t n;
	GElf_Dyn dyn;

	if (ph->p_offset > (uint64_t)INT64_MAX)
		return;
	/* libelf checks the chunk lies inside the file */
	d = elf_getdata_rawchunk(elf, (int64_t)ph->p_offset, ph->p_filesz, ELF_T_DYN);
	if (!d)
		return;
	n = d->d_size / sizeof(Elf64_Dyn);
	for (size_t i = 0; i < n && i < MAX_DYN; i++) {
		if (!gelf_getdyn(d, (int)i, &dyn) || dyn.d_tag == DT_NULL)
			break;
		if (dyn.d_tag == DT_FLAGS_1 && (dyn.d_un.d_val & DF_1_PIE))
			l->pie = true;
	}
}

/* Reads the DT_NEEDED names of a SHT_DYNAMIC section (strings in its sh_link). */
static void read_needed(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, struct layout *l)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t n;
	GElf_Dyn dyn;

	if (!d || d->d_type != ELF_T_DYN)
		return;
	n = d->d_size / sizeof(Elf64_Dyn);
	for (size_t i = 0; i < n && i < MAX_DYN; i++) {
		const char *name;

		if (!gelf_getdyn(d, (int)i, &dyn) || dyn.d_tag == DT_NULL)
			break;
		if (dyn.d_tag != DT_NEEDED || dyn.d_un.d_val > SIZE_MAX)
			continue;
		name = elf_strptr(elf, sh->sh_link, (size_t)dyn.d_un.d_val);
		if (name &&
		    (strncmp(name, "libssl.so", 9) == 0 || strncmp(name, "libcrypto.so", 12) == 0))
			l->needs_openssl = true;
	}
}

static int read_layout(Elf *elf, uint64_t size, struct layout *l)
{
	size_t phnum = 0, shstrndx = 0, nsec = 0;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	GElf_Phdr ph;
	GElf_Shdr sh;
	bool names;

	memset(l, 0, sizeof(*l));
	if (elf_kind(elf) != ELF_K_ELF || gelf_getclass(elf) != ELFCLASS64 ||
	    !gelf_getehdr(elf, &eh) || (eh.e_machine != EM_X86_64 && eh.e_machine != EM_AARCH64) ||
	    (eh.e_type != ET_EXEC && eh.e_type != ET_DYN))
		return -ENOEXEC;
	l->exec_type = eh.e_type == ET_EXEC;
	/* elf64_getphdr checks the whole table lies inside the file */
	if (elf_getphdrnum(elf, &phnum) != 0 || (phnum && !elf64_getphdr(elf)))
		return -ENOEXEC;
	for (size_t i = 0; i < phnum; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph))
			continue;
		if (ph.p_type == PT_INTERP)
			l->has_interp = true;
		else if (ph.p_type == PT_DYNAMIC)
			read_dynamic(elf, &ph, l);
		else if (ph.p_type == PT_LOAD && l->n_loads < MAX_RANGES &&
			 clamp_range(size, ph.p_offset, ph.p_filesz, &l->loads[l->n_loads])) {
			l->loads[l->n_loads].exec = ph.p_flags & PF_X;
			l->n_loads++;
		}
	}
	names = elf_getshdrstrndx(elf, &shstrndx) == 0;
	while ((scn = elf_nextscn(elf, scn)) && nsec++ < MAX_SECTIONS) {
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		l->has_sections = true;
		if (sh.sh_type == SHT_SYMTAB)
			l->has_symtab = true;
		else if (sh.sh_type == SHT_DYNAMIC)
			read_needed(elf, scn, &sh, l);
		name = names ? elf_strptr(elf, shstrndx, sh.sh_name) : NULL;
		if (!name)
			continue;
		if (strcmp(name, ".gopclntab") == 0) {
			l->go_sections = true;
			if (sh.sh_type != SHT_NOBITS)
				clamp_range(size, sh.sh_offset, sh.sh_size, &l->pclntab);
		} else if (strcmp(name, ".go.buildinfo") == 0 ||
			   strcmp(name, ".note.go.buildid") == 0) {
			l->go_sections = true;
		} else if (strcmp(name, ".bun") == 0) {
			l->bun_section = true;
		}
	}
	return 0;
}

enum {
	N_SSL_WRITE,
	N_SSL_READ,
	N_GNUTLS_SEND,
	N_GNUTLS_RECV,
	N_GO_WRITE,
	N_GO_READ,
	N_NSS_IMPORT,
	N_NSS_INIT,
	N_JVM,
	N_JLI,
	N_LIBJAVA,
	N_NODE,
	N_BORING_GREASE,
	N_BORING_SELFTEST,
	N_CRYPTO_VERSION,
	N_CRYPTO_SSLEAY,
	N_COUNT
};

static const char *const sym_names[N_COUNT] = {
	[N_SSL_WRITE] = "SSL_write",
	[N_SSL_READ] = "SSL_read",
	[N_GNUTLS_SEND] = "gnutls_record_send",
	[N_GNUTLS_RECV] = "gnutls_record_recv",
	[N_GO_WRITE] = "crypto/tls.(*Conn).Write",
	[N_GO_READ] = "crypto/tls.(*Conn).Read",
	[N_NSS_IMPORT] = "SSL_ImportFD", /* NSS's libssl3.so */
	[N_NSS_INIT] = "NSS_Init", /* libnss3.so */
	[N_JVM] = "JNI_CreateJavaVM", /* libjvm.so */
	[N_JLI] = "JLI_Launch", /* libjli.so, the java launcher's */
	[N_LIBJAVA] = "JNU_ThrowByName", /* libjava.so */
	[N_NODE] = "_ZN4node5StartEiPPc", /* node::Start(int, char**): node or libnode */
	[N_BORING_GREASE] = "SSL_CTX_set_grease_enabled", /* BoringSSL-only API */
	[N_BORING_SELFTEST] = "BORINGSSL_self_test",
	/* libcrypto (OpenSSL >= 1.1, 1.0): its version text is no TLS layer */
	[N_CRYPTO_VERSION] = "OpenSSL_version_num",
	[N_CRYPTO_SSLEAY] = "SSLeay",
};

static int crate_cb(const struct elf_func *fn, void *ctx)
{
	/* Rust's legacy (_ZN6rustls...) and v0 (_R...6rustls) manglings both
	 * spell the crate with its length: a C function merely named
	 * "rustls_..." does not match */
	return strstr(fn->name, "6rustls") ? 1 : 0;
}

/* Marker strings of the content scan. */
enum {
	M_BUN,
	M_BORINGSSL,
	M_BORINGSSL_PATH,
	M_BORINGSSL_COMPAT,
	M_OPENSSL1,
	M_OPENSSL3,
	M_RUSTLS0,
	M_RUSTLS1,
	M_GOINFO,
	M_GOTLS,
	M_COUNT
};

#define PART(s)                  \
	{                        \
		s, sizeof(s) - 1 \
	}

/*
 * Each marker is stored as two halves joined at run time: the whole string
 * must not appear in llmtap's own binary, or a stripped llmtap would read as
 * Bun.  Lengths are explicit because some markers hold NULs.
 */
static const struct {
	struct {
		const char *s;
		size_t len;
	} head, tail;
} marker_parts[M_COUNT] = {
	/* Bun compares the end of its executable against this */
	[M_BUN] = { PART("\n---- Bu"), PART("n! ----\n") },
	/* OpenSSL_version()'s answer in BoringSSL, a string of its own */
	[M_BORINGSSL] = { PART("\0Boring"), PART("SSL\0") },
	/* __FILE__ of BoringSSL's error macros: .../third_party/boringssl/src/... */
	[M_BORINGSSL_PATH] = { PART("/boring"), PART("ssl/") },
	/* its OPENSSL_VERSION_TEXT: "OpenSSL 1.1.1 (compatible; BoringSSL)" */
	[M_BORINGSSL_COMPAT] = { PART("(compatible; Boring"), PART("SSL)") },
	[M_OPENSSL1] = { PART("OpenS"), PART("SL 1.") },
	[M_OPENSSL3] = { PART("OpenS"), PART("SL 3.") },
	/* cargo registry paths of panic locations: .../rustls-0.23.12/src/... */
	[M_RUSTLS0] = { PART("rust"), PART("ls-0.") },
	[M_RUSTLS1] = { PART("rust"), PART("ls-1.") },
	[M_GOINFO] = { PART("\xff Go "), PART("buildinf:") },
	[M_GOTLS] = { PART("crypto/tls.(*C"), PART("onn).Write") },
};
#define MARKER_MAX 24 /* longest marker: the chunk overlap */

struct marker {
	char s[MARKER_MAX];
	size_t len;
};

static void marker_get(int m, struct marker *out)
{
	size_t head = marker_parts[m].head.len, tail = marker_parts[m].tail.len;

	/* a marker longer than the buffer is searched by its prefix, never overflows */
	if (head > MARKER_MAX)
		head = MARKER_MAX;
	if (tail > MARKER_MAX - head)
		tail = MARKER_MAX - head;
	memcpy(out->s, marker_parts[m].head.s, head);
	memcpy(out->s + head, marker_parts[m].tail.s, tail);
	out->len = head + tail;
}

/*
 * Looks for the markers whose bit is set in want inside the given ranges,
 * reading at most *budget bytes (decremented).  Returns the bits found, or
 * a negative errno.
 */
static int scan_markers(const struct src *s, const struct range *r, size_t n, unsigned want,
			uint64_t *budget)
{
	struct marker mk[M_COUNT];
	unsigned found = 0;
	uint8_t *buf = malloc(SCAN_CHUNK + MARKER_MAX);
	int err = 0;

	if (!buf)
		return -ENOMEM;
	for (int m = 0; m < M_COUNT; m++)
		marker_get(m, &mk[m]);
	for (size_t i = 0; i < n && (found & want) != want && *budget; i++) {
		uint64_t off = r[i].off, end = r[i].off + r[i].len;
		size_t keep = 0; /* bytes carried over from the previous chunk */

		while (off < end && *budget && (found & want) != want) {
			size_t len = SCAN_CHUNK;
			ssize_t got;

			if (len > end - off)
				len = (size_t)(end - off);
			if (len > *budget)
				len = (size_t)*budget;
			got = src_read(s, off, buf + keep, len);
			if (got < 0) {
				err = (int)got;
				goto out;
			}
			if (got == 0)
				break;
			*budget -= (uint64_t)got;
			off += (uint64_t)got;
			for (int m = 0; m < M_COUNT; m++)
				if ((want & ~found & (1u << m)) &&
				    memmem(buf, keep + (size_t)got, mk[m].s, mk[m].len))
					found |= 1u << m;
			/* keep the tail so a marker across two chunks is seen */
			if (keep + (size_t)got >= MARKER_MAX - 1) {
				memmove(buf, buf + keep + (size_t)got - (MARKER_MAX - 1),
					MARKER_MAX - 1);
				keep = MARKER_MAX - 1;
			} else {
				keep += (size_t)got;
			}
		}
	}
out:
	free(buf);
	return err ? err : (int)found;
}

/* Old Bun standalone executables: the trailer sits just before a u64 at EOF. */
static int bun_tail(const struct src *s, bool *found)
{
	uint8_t buf[TAIL_BYTES];
	uint64_t off = s->size > TAIL_BYTES ? s->size - TAIL_BYTES : 0;
	ssize_t n = src_read(s, off, buf, sizeof(buf));
	struct marker mk;

	*found = false;
	if (n < 0)
		return (int)n;
	marker_get(M_BUN, &mk);
	*found = memmem(buf, (size_t)n, mk.s, mk.len) != NULL;
	return 0;
}

/* Non-executable ranges first: that is where strings live. */
static size_t scan_order(const struct layout *l, struct range *out)
{
	size_t n = 0;

	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < l->n_loads; i++)
			if (l->loads[i].exec == (pass == 1))
				out[n++] = l->loads[i];
	return n;
}

static int detect(const struct src *s, Elf *elf, unsigned opts, struct tls_detect *d)
{
	struct elf_func f[N_COUNT];
	struct range order[MAX_RANGES];
	uint64_t budget = TLS_DETECT_SCAN_MAX;
	struct layout l;
	bool exe, boring, libcrypto;
	int err, found;

	err = read_layout(elf, s->size, &l);
	if (err)
		return err;
	exe = l.exec_type || l.has_interp || l.pie;
	if (exe)
		d->flags |= TLS_F_EXEC;
	if (exe && !l.has_interp)
		d->flags |= TLS_F_STATIC;
	if (!l.has_symtab)
		d->flags |= TLS_F_STRIPPED;

	for (int i = 0; i < N_COUNT; i++)
		f[i] = (struct elf_func){ .name = sym_names[i] };
	err = s->mem ? elf_find_funcs_mem(s->mem, s->size, f, N_COUNT) :
		       elf_find_funcs(s->fd, f, N_COUNT);
	if (err < 0)
		return err;
	boring = f[N_BORING_GREASE].found || f[N_BORING_SELFTEST].found;
	libcrypto = f[N_CRYPTO_VERSION].found || f[N_CRYPTO_SSLEAY].found;
	if (f[N_SSL_WRITE].found && f[N_SSL_READ].found) {
		d->stacks |= exe ? TLS_STACK_OPENSSL_EXE : TLS_STACK_OPENSSL;
		if (boring)
			d->flags |= TLS_F_BORINGSSL;
	}
	if (f[N_GNUTLS_SEND].found && f[N_GNUTLS_RECV].found)
		d->stacks |= TLS_STACK_GNUTLS;
	if (f[N_NSS_IMPORT].found || f[N_NSS_INIT].found)
		d->stacks |= TLS_STACK_NSS;
	if (f[N_JVM].found)
		d->stacks |= TLS_STACK_JSSE;
	if (f[N_JVM].found || f[N_JLI].found || f[N_LIBJAVA].found)
		d->runtimes |= TLS_RT_JAVA;
	if (f[N_NODE].found)
		d->runtimes |= TLS_RT_NODE;
	if (l.go_sections || f[N_GO_WRITE].found || f[N_GO_READ].found)
		d->runtimes |= TLS_RT_GO;
	/* without .symtab (or exporting them), the names came from .gopclntab */
	if (f[N_GO_WRITE].found && f[N_GO_READ].found)
		d->stacks |= l.has_symtab || f[N_GO_WRITE].from_dynsym ? TLS_STACK_GO :
									 TLS_STACK_GO_PCLNTAB;

	if (l.bun_section)
		d->runtimes |= TLS_RT_BUN;
	if (exe && !d->stacks && !(d->runtimes & TLS_RT_BUN)) {
		bool tail;

		err = bun_tail(s, &tail);
		if (err)
			return err;
		if (tail)
			d->runtimes |= TLS_RT_BUN;
	}
	if (d->runtimes & TLS_RT_BUN) {
		/* Bun exports Node-API but is not node; its BoringSSL is static */
		d->runtimes &= ~TLS_RT_NODE;
		if (!(d->stacks & TLS_STACK_OPENSSL_EXE))
			d->stacks |= TLS_STACK_BORINGSSL_STRIPPED;
	}
	if (d->stacks || (d->runtimes & ~TLS_RT_GO))
		return 0;

	/* No stack named by symbols: rustls keeps no stable exported names. */
	if (!(d->runtimes & TLS_RT_GO)) {
		err = s->mem ? elf_foreach_func_mem(s->mem, s->size, crate_cb, NULL) :
			       elf_foreach_func(s->fd, crate_cb, NULL);
		if (err < 0)
			return err;
		if (err == 1) {
			d->stacks |= TLS_STACK_RUSTLS;
			return 0;
		}
	}
	if ((opts & TLS_DETECT_NO_SCAN) || l.has_symtab)
		return 0;

	/* A stripped file: look at its data. */
	if (d->runtimes & TLS_RT_GO) {
		if (l.pclntab.len)
			found = scan_markers(s, &l.pclntab, 1, 1u << M_GOTLS, &budget);
		else
			found = scan_markers(s, order, scan_order(&l, order), 1u << M_GOTLS,
					     &budget);
	} else {
		unsigned want = (1u << M_COUNT) - 1;

		/* a user of the shared libraries may quote their version text */
		if (libcrypto || l.needs_openssl)
			want &= ~((1u << M_BORINGSSL) | (1u << M_BORINGSSL_PATH) |
				  (1u << M_BORINGSSL_COMPAT) | (1u << M_OPENSSL1) |
				  (1u << M_OPENSSL3));
		if (l.has_sections)
			want &= ~(1u << M_GOINFO); /* Go would have named its sections */
		found = scan_markers(s, order, scan_order(&l, order), want, &budget);
	}
	if (found < 0)
		return found;
	if (!budget)
		d->flags |= TLS_F_SCAN_CUT;
	if (found & (1u << M_GOINFO))
		d->runtimes |= TLS_RT_GO;
	if (d->runtimes & TLS_RT_GO) {
		/* Go binaries quote none of the other markers' meanings */
		if (found & (1u << M_GOTLS))
			d->stacks |= TLS_STACK_GO_PCLNTAB;
		return 0;
	}
	if (found & (1u << M_BUN)) {
		d->runtimes |= TLS_RT_BUN;
		d->stacks |= TLS_STACK_BORINGSSL_STRIPPED;
	}
	/* BoringSSL's version text also matches "OpenSSL 1.": BoringSSL first */
	if (found & ((1u << M_BORINGSSL) | (1u << M_BORINGSSL_PATH) | (1u << M_BORINGSSL_COMPAT)))
		d->stacks |= TLS_STACK_BORINGSSL_STRIPPED;
	else if (found & ((1u << M_OPENSSL1) | (1u << M_OPENSSL3)))
		d->stacks |= TLS_STACK_OPENSSL_STRIPPED;
	if (found & ((1u << M_RUSTLS0) | (1u << M_RUSTLS1)))
		d->stacks |= TLS_STACK_RUSTLS;
	return 0;
}

int tls_detect_fd(int fd, unsigned opts, struct tls_detect *out)
{
	struct src s = { .fd = fd };
	struct stat st;
	Elf *elf;
	int err;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -ENOEXEC;
	s.size = (uint64_t)st.st_size;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOTSUP;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return -ENOEXEC;
	err = detect(&s, elf, opts, out);
	elf_end(elf);
	if (err)
		memset(out, 0, sizeof(*out));
	return err;
}

int tls_detect_path(const char *path, unsigned opts, struct tls_detect *out)
{
	int fd, err;

	if (!path || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	err = tls_detect_fd(fd, opts, out);
	close(fd);
	return err;
}

int tls_detect_mem(const void *image, size_t size, unsigned opts, struct tls_detect *out)
{
	struct src s = { .fd = -1, .mem = image, .size = size };
	Elf *elf;
	int err;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!image)
		return -EINVAL;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOTSUP;
	/* elf_memory wants a mutable pointer; nothing is written without ELF_C_RDWR */
	elf = elf_memory((char *)image, size);
	if (!elf)
		return -ENOEXEC;
	err = detect(&s, elf, opts, out);
	elf_end(elf);
	if (err)
		memset(out, 0, sizeof(*out));
	return err;
}

static int bit_index(uint32_t bit)
{
	if (!bit || (bit & (bit - 1)))
		return -1;
	return __builtin_ctz(bit);
}

const char *tls_stack_name(uint32_t stack)
{
	static const char *const names[TLS_STACK_COUNT] = {
		"openssl",
		"openssl-static",
		"gnutls",
		"go",
		"go-pclntab",
		"nss",
		"rustls",
		"jsse",
		"boringssl-stripped",
		"openssl-stripped",
	};
	int i = bit_index(stack);

	return i >= 0 && i < TLS_STACK_COUNT ? names[i] : "?";
}

const char *tls_runtime_name(uint32_t rt)
{
	static const char *const names[TLS_RT_COUNT] = { "go", "node", "bun", "java" };
	int i = bit_index(rt);

	return i >= 0 && i < TLS_RT_COUNT ? names[i] : "?";
}

const char *tls_stack_describe(uint32_t stack, const struct tls_detect *d)
{
	uint32_t rt = d ? d->runtimes : 0, flags = d ? d->flags : 0;

	switch (stack) {
	case TLS_STACK_OPENSSL:
		return (flags & TLS_F_BORINGSSL) ? "BoringSSL library" : "OpenSSL-family library";
	case TLS_STACK_OPENSSL_EXE:
		if (rt & TLS_RT_NODE)
			return "Node (static OpenSSL, symbols)";
		if (rt & TLS_RT_BUN)
			return "Bun (static BoringSSL, symbols)";
		return (flags & TLS_F_BORINGSSL) ? "static BoringSSL (symbols)" :
						   "static OpenSSL-family (symbols)";
	case TLS_STACK_GNUTLS:
		return "GnuTLS";
	case TLS_STACK_GO:
		return "Go crypto/tls (symbols)";
	case TLS_STACK_GO_PCLNTAB:
		return "stripped Go binary (crypto/tls via .gopclntab)";
	case TLS_STACK_NSS:
		return "NSS";
	case TLS_STACK_RUSTLS:
		return (flags & TLS_F_STRIPPED) ? "rustls (stripped)" : "rustls";
	case TLS_STACK_JSSE:
		return "Java JSSE";
	case TLS_STACK_BORINGSSL_STRIPPED:
		return (rt & TLS_RT_BUN) ? "Bun (static BoringSSL, stripped)" :
					   "static BoringSSL (stripped)";
	case TLS_STACK_OPENSSL_STRIPPED:
		return "static OpenSSL (stripped)";
	default:
		return "?";
	}
}

bool tls_stack_hookable(uint32_t stack)
{
	return stack == TLS_STACK_OPENSSL || stack == TLS_STACK_OPENSSL_EXE ||
	       stack == TLS_STACK_GNUTLS || stack == TLS_STACK_GO || stack == TLS_STACK_GO_PCLNTAB;
}
