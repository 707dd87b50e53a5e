// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tls_detect: the synthetic files of tests/data/tls_detect/ (gen.py) pin down
 * one rule each; the TLS libraries and runtimes of this machine (libssl,
 * GnuTLS, node, python, NSS, the JVM, Go) check the rules against reality
 * (skipped with a note when absent).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture/tls_detect.h"
#include "test.h"

#define S(x) TLS_STACK_##x
#define R(x) TLS_RT_##x
#define F(x) TLS_F_##x

struct fixture {
	const char *file;
	unsigned opts;
	int rc;
	uint32_t stacks, runtimes, flags;
};

static const struct fixture fixtures[] = {
	{ "openssl_lib.so", 0, 0, S(OPENSSL), 0, F(STRIPPED) },
	{ "boringssl_lib.so", 0, 0, S(OPENSSL), 0, F(STRIPPED) | F(BORINGSSL) },
	{ "boringssl_exe", 0, 0, S(OPENSSL_EXE), 0, F(EXEC) | F(BORINGSSL) },
	{ "node_like", 0, 0, S(OPENSSL_EXE), R(NODE), F(EXEC) | F(STRIPPED) },
	{ "libnode_like.so", 0, 0, 0, R(NODE), F(STRIPPED) },
	{ "gnutls.so", 0, 0, S(GNUTLS), 0, F(STRIPPED) },
	{ "go_symbols", 0, 0, S(GO), R(GO), F(EXEC) | F(STATIC) },
	{ "go_stripped", 0, 0, S(GO_PCLNTAB), R(GO), F(EXEC) | F(STATIC) | F(STRIPPED) },
	/* the runtime is known from the section names, crypto/tls only from a scan */
	{ "go_stripped", TLS_DETECT_NO_SCAN, 0, 0, R(GO), F(EXEC) | F(STATIC) | F(STRIPPED) },
	{ "go_stripped_no_tls", 0, 0, 0, R(GO), F(EXEC) | F(STATIC) | F(STRIPPED) },
	{ "go_no_sections", 0, 0, S(GO_PCLNTAB), R(GO), F(EXEC) | F(STATIC) | F(STRIPPED) },
	{ "go_no_sections", TLS_DETECT_NO_SCAN, 0, 0, 0, F(EXEC) | F(STATIC) | F(STRIPPED) },
	{ "nss_libssl3.so", 0, 0, S(NSS), 0, F(STRIPPED) },
	{ "nss_libnss3.so", 0, 0, S(NSS), 0, F(STRIPPED) },
	/* NSPR alone is a portable runtime, not TLS */
	{ "nspr_libnspr4.so", 0, 0, 0, 0, F(STRIPPED) },
	{ "rustls_symbols", 0, 0, S(RUSTLS), 0, F(EXEC) },
	{ "rustls_stripped", 0, 0, S(RUSTLS), 0, F(EXEC) | F(STATIC) | F(STRIPPED) },
	{ "rustls_stripped", TLS_DETECT_NO_SCAN, 0, 0, 0, F(EXEC) | F(STATIC) | F(STRIPPED) },
	{ "jvm_libjvm.so", 0, 0, S(JSSE), R(JAVA), F(STRIPPED) },
	{ "jvm_libjli.so", 0, 0, 0, R(JAVA), F(STRIPPED) },
	/* Bun exports Node-API functions: it must not read as node */
	{ "bun_section", 0, 0, S(BORINGSSL_STRIPPED), R(BUN), F(EXEC) | F(STRIPPED) },
	{ "bun_section", TLS_DETECT_NO_SCAN, 0, S(BORINGSSL_STRIPPED), R(BUN),
	  F(EXEC) | F(STRIPPED) },
	{ "bun_trailer", TLS_DETECT_NO_SCAN, 0, S(BORINGSSL_STRIPPED), R(BUN),
	  F(EXEC) | F(STRIPPED) },
	{ "bun_rodata", 0, 0, S(BORINGSSL_STRIPPED), R(BUN), F(EXEC) | F(STRIPPED) },
	{ "bun_rodata", TLS_DETECT_NO_SCAN, 0, 0, 0, F(EXEC) | F(STRIPPED) },
	/* BoringSSL's version text also says "OpenSSL 1.1.1": BoringSSL wins */
	{ "boringssl_stripped", 0, 0, S(BORINGSSL_STRIPPED), 0, F(EXEC) | F(STATIC) | F(STRIPPED) },
	{ "boringssl_compat_text", 0, 0, S(BORINGSSL_STRIPPED), 0,
	  F(EXEC) | F(STATIC) | F(STRIPPED) },
	{ "boringssl_paths", 0, 0, S(BORINGSSL_STRIPPED), 0, F(EXEC) | F(STATIC) | F(STRIPPED) },
	{ "c_rustls_name", 0, 0, 0, 0, F(EXEC) | F(STATIC) },
	{ "openssl_stripped", 0, 0, S(OPENSSL_STRIPPED), 0, F(EXEC) | F(STATIC) | F(STRIPPED) },
	/* quoting OpenSSL's version while linking the shared libssl is not static TLS */
	{ "openssl_cli", 0, 0, 0, 0, F(EXEC) | F(STRIPPED) },
	{ "libcrypto_like.so", 0, 0, 0, 0, F(STRIPPED) },
	{ "static_plain", 0, 0, 0, 0, F(EXEC) | F(STATIC) | F(STRIPPED) },
	{ "static_pie", 0, 0, 0, 0, F(EXEC) | F(STATIC) | F(STRIPPED) },
	{ "elf32", 0, -ENOEXEC, 0, 0, 0 },
	{ "not_elf.txt", 0, -ENOEXEC, 0, 0, 0 },
};

static int memfd_with(const void *data, size_t len)
{
	int fd = memfd_create("tls-detect", MFD_CLOEXEC);

	if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len))
		test_fail_at(__FILE__, __LINE__, "memfd: %s", strerror(errno));
	return fd;
}

static void check(const char *what, int rc, const struct tls_detect *d, const struct fixture *fx)
{
	if (rc != fx->rc || d->stacks != fx->stacks || d->runtimes != fx->runtimes ||
	    d->flags != fx->flags)
		test_fail_at(__FILE__, __LINE__,
			     "%s %s (opts %u): rc %d stacks %#x runtimes %#x flags %#x, "
			     "expected rc %d stacks %#x runtimes %#x flags %#x",
			     what, fx->file, fx->opts, rc, d->stacks, d->runtimes, d->flags, fx->rc,
			     fx->stacks, fx->runtimes, fx->flags);
}

TEST(tls_detect_fixtures)
{
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		const struct fixture *fx = &fixtures[i];
		struct tls_detect d;
		char name[128];
		size_t len = 0;
		char *img;
		int fd;

		snprintf(name, sizeof(name), "tls_detect/%s", fx->file);
		img = test_read_data(name, &len);
		if (!img)
			test_fail_at(__FILE__, __LINE__, "missing fixture %s", name);
		check("mem", tls_detect_mem(img, len, fx->opts, &d), &d, fx);
		fd = memfd_with(img, len);
		check("fd", tls_detect_fd(fd, fx->opts, &d), &d, fx);
		close(fd);
		free(img);
	}
}

/* Every prefix and every byte flip of each fixture: no crash, and the
 * fd and memory paths agree. */
TEST(tls_detect_truncated_and_corrupted)
{
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		struct tls_detect a, b;
		char name[128];
		size_t len = 0;
		char *img;
		int fd;

		if (fixtures[i].opts)
			continue;
		snprintf(name, sizeof(name), "tls_detect/%s", fixtures[i].file);
		img = test_read_data(name, &len);
		ASSERT_TRUE(img != NULL);
		fd = memfd_with("", 0);
		for (size_t cut = 0; cut < len; cut += 7) {
			int ra = tls_detect_mem(img, cut, 0, &a);

			ASSERT_TRUE(ftruncate(fd, 0) == 0 &&
				    pwrite(fd, img, cut, 0) == (ssize_t)cut);
			ASSERT_EQ(tls_detect_fd(fd, 0, &b), ra);
			ASSERT_TRUE(memcmp(&a, &b, sizeof(a)) == 0);
		}
		for (size_t pos = 0; pos < len; pos++) {
			img[pos] ^= 0x5a;
			tls_detect_mem(img, len, 0, &a);
			img[pos] ^= 0x5a;
		}
		close(fd);
		free(img);
	}
}

TEST(tls_detect_args)
{
	struct tls_detect d = { 1, 1, 1 };

	ASSERT_EQ(tls_detect_mem(NULL, 10, 0, &d), -EINVAL);
	ASSERT_EQ(d.stacks, 0);
	ASSERT_EQ(tls_detect_mem("x", 1, 0, NULL), -EINVAL);
	ASSERT_EQ(tls_detect_mem("", 0, 0, &d), -ENOEXEC);
	ASSERT_EQ(tls_detect_path("/nonexistent/llmtap", 0, &d), -ENOENT);
	ASSERT_EQ(tls_detect_path("/proc/self", 0, &d), -ENOEXEC); /* a directory */
	ASSERT_EQ(tls_detect_fd(-1, 0, &d), -EBADF);
}

TEST(tls_detect_names)
{
	struct tls_detect bun = { S(BORINGSSL_STRIPPED), R(BUN), F(STRIPPED) };
	struct tls_detect node = { S(OPENSSL_EXE), R(NODE), 0 };

	for (int i = 0; i < TLS_STACK_COUNT; i++) {
		ASSERT_TRUE(strcmp(tls_stack_name(1u << i), "?") != 0);
		ASSERT_TRUE(strcmp(tls_stack_describe(1u << i, NULL), "?") != 0);
	}
	for (int i = 0; i < TLS_RT_COUNT; i++)
		ASSERT_TRUE(strcmp(tls_runtime_name(1u << i), "?") != 0);
	ASSERT_STREQ(tls_stack_name(S(GO_PCLNTAB)), "go-pclntab");
	ASSERT_STREQ(tls_stack_name(S(OPENSSL) | S(GO)), "?");
	ASSERT_STREQ(tls_stack_name(0), "?");
	ASSERT_STREQ(tls_runtime_name(R(BUN)), "bun");
	ASSERT_STREQ(tls_stack_describe(S(BORINGSSL_STRIPPED), &bun),
		     "Bun (static BoringSSL, stripped)");
	ASSERT_STREQ(tls_stack_describe(S(OPENSSL_EXE), &node), "Node (static OpenSSL, symbols)");
	ASSERT_STREQ(tls_stack_describe(S(JSSE), NULL), "Java JSSE");
	ASSERT_TRUE(tls_stack_hookable(S(OPENSSL)) && tls_stack_hookable(S(GO_PCLNTAB)));
	ASSERT_TRUE(!tls_stack_hookable(S(NSS)) && !tls_stack_hookable(S(BORINGSSL_STRIPPED)) &&
		    !tls_stack_hookable(S(JSSE)) && !tls_stack_hookable(S(RUSTLS)));
}

/* ---- the real files of this machine ---- */

struct real {
	const char *path;
	uint32_t stacks, runtimes, flags_set;
};

static const struct real reals[] = {
	{ "/lib/x86_64-linux-gnu/libssl.so.3", S(OPENSSL), 0, 0 },
	{ "/lib/x86_64-linux-gnu/libcrypto.so.3", 0, 0, 0 },
	{ "/lib/x86_64-linux-gnu/libgnutls.so.30", S(GNUTLS), 0, 0 },
	{ "/lib/x86_64-linux-gnu/libc.so.6", 0, 0, 0 },
	{ "/usr/bin/node", S(OPENSSL_EXE), R(NODE), F(EXEC) },
	{ "/usr/bin/python3", 0, 0, F(EXEC) },
	{ "/usr/bin/curl", 0, 0, F(EXEC) },
	{ "/usr/bin/openssl", 0, 0, F(EXEC) },
	{ "/usr/lib/x86_64-linux-gnu/libssl3.so", S(NSS), 0, 0 },
	{ "/usr/lib/x86_64-linux-gnu/libnspr4.so", 0, 0, 0 },
	{ "/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so", S(JSSE), R(JAVA), 0 },
	/* Debian's go toolchain is stripped and uses crypto/tls (module downloads) */
	{ "/usr/lib/go-1.19/bin/go", S(GO_PCLNTAB), R(GO), F(EXEC) | F(STRIPPED) },
};

TEST(tls_detect_real_files)
{
	int checked = 0;

	for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
		const struct real *r = &reals[i];
		struct tls_detect d;
		int rc;

		if (access(r->path, R_OK) != 0) {
			printf("  note: %s missing, not checked\n", r->path);
			continue;
		}
		rc = tls_detect_path(r->path, 0, &d);
		if (rc != 0 || d.stacks != r->stacks || d.runtimes != r->runtimes ||
		    (d.flags & r->flags_set) != r->flags_set)
			test_fail_at(__FILE__, __LINE__,
				     "%s: rc %d stacks %#x runtimes %#x flags %#x, expected "
				     "stacks %#x runtimes %#x flags with %#x",
				     r->path, rc, d.stacks, d.runtimes, d.flags, r->stacks,
				     r->runtimes, r->flags_set);
		checked++;
	}
	ASSERT_TRUE(checked > 0);
}
