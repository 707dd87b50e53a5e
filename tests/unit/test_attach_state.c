// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * attach_state: what is kept and why (reasons as `llmtap status` shows
 * them), the bounds (file table replacement, process ring), and the atomic
 * private write of the run-state file.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/attach_state.h"
#include "status/status.h"
#include "test.h"

static json_t *state_json(void)
{
	char *s = attach_state_json();
	json_t *j;

	ASSERT_TRUE(s != NULL);
	j = json_loads(s, 0, NULL);
	free(s);
	ASSERT_TRUE(j != NULL);
	return j;
}

/* The files[] entry of (dev, ino), or NULL. */
static json_t *file_entry(json_t *state, uint64_t dev, uint64_t ino)
{
	size_t i;
	json_t *f;

	json_array_foreach(json_object_get(state, "files"), i, f)
		if ((uint64_t)json_integer_value(json_object_get(f, "dev")) == dev &&
		    (uint64_t)json_integer_value(json_object_get(f, "ino")) == ino)
			return f;
	return NULL;
}

static const char *reason_of(json_t *state, uint64_t dev, uint64_t ino)
{
	json_t *f = file_entry(state, dev, ino);

	return f ? json_string_value(json_object_get(f, "reason")) : NULL;
}

TEST(attach_state_reasons)
{
	struct tls_detect ssl = { TLS_STACK_OPENSSL, 0, 0 };
	struct tls_detect bun = { TLS_STACK_BORINGSSL_STRIPPED, TLS_RT_BUN,
				  TLS_F_EXEC | TLS_F_STRIPPED };
	struct tls_detect go = { TLS_STACK_GO_PCLNTAB, TLS_RT_GO, TLS_F_EXEC | TLS_F_STRIPPED };
	struct tls_detect jli = { 0, TLS_RT_JAVA, 0 };
	struct tls_detect none = { 0, 0, TLS_F_STRIPPED };
	json_t *st, *f;

	attach_state_reset();
	ASSERT_TRUE(attach_state_dirty());
	ASSERT_EQ(attach_state_note_file(1, 10, "/usr/lib/libssl.so.3", &ssl), 0);
	ASSERT_EQ(attach_state_note_hooks(1, 10, NULL, 14, 0), 0);
	ASSERT_EQ(attach_state_note_file(1, 11, "/opt/claude", &bun), 0);
	ASSERT_EQ(attach_state_note_file(1, 12, "/srv/goclient", &go), 0);
	ASSERT_EQ(attach_state_note_file(1, 13, "/usr/lib/jvm/libjli.so", &jli), 0);
	ASSERT_EQ(attach_state_note_file(1, 14, "/usr/lib/libc.so.6", &none), 0);
	ASSERT_EQ(attach_state_note_hooks(1, 15, "/opt/lib/libssl.so", 0, -EPERM),
		  0); /* never classified */
	ASSERT_EQ(attach_state_note_file(1, 16, "/usr/bin/node", NULL), 0);
	ASSERT_EQ(attach_state_note_hooks(1, 17, NULL, 3, -ENOENT), 0);
	ASSERT_EQ(attach_state_note_file(1, 10, NULL, &ssl), -EINVAL);

	st = state_json();
	ASSERT_EQ(json_integer_value(json_object_get(st, "version")), ATTACH_STATE_VERSION);
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(st, "agent"), "pid")),
		  getpid());
	ASSERT_STREQ(reason_of(st, 1, 10), "attached");
	f = file_entry(st, 1, 10);
	ASSERT_EQ(json_integer_value(json_object_get(f, "hooks")), 14);
	ASSERT_STREQ(json_string_value(json_object_get(f, "path")), "/usr/lib/libssl.so.3");
	ASSERT_STREQ(json_string_value(json_array_get(json_object_get(f, "stacks"), 0)), "openssl");
	ASSERT_STREQ(reason_of(st, 1, 11), "Bun (static BoringSSL, stripped): not covered");
	ASSERT_STREQ(reason_of(st, 1, 12),
		     "stripped Go binary (crypto/tls via .gopclntab): no hooks attached");
	ASSERT_STREQ(reason_of(st, 1, 13), "no TLS symbols");
	ASSERT_TRUE(file_entry(st, 1, 14) == NULL); /* only counted */
	ASSERT_STREQ(reason_of(st, 1, 15), "attach failed: Operation not permitted");
	ASSERT_STREQ(json_string_value(json_object_get(file_entry(st, 1, 15), "path")),
		     "/opt/lib/libssl.so");
	ASSERT_STREQ(reason_of(st, 1, 16), "not classified");
	ASSERT_STREQ(reason_of(st, 1, 17), "attached with errors: No such file or directory");
	f = json_object_get(st, "counters");
	ASSERT_EQ(json_integer_value(json_object_get(f, "files_noted")), 6);
	ASSERT_EQ(json_integer_value(json_object_get(f, "files_without_tls")), 1);
	json_decref(st);
	attach_state_reset();
}

TEST(attach_state_bounds)
{
	struct tls_detect rt = { 0, TLS_RT_GO, 0 }, nss = { TLS_STACK_NSS, 0, 0 };
	json_t *st;

	attach_state_reset();
	/* a full table of runtime-only files makes room for a TLS file */
	for (uint64_t i = 0; i < ATTACH_STATE_MAX_FILES; i++)
		ASSERT_EQ(attach_state_note_file(2, 100 + i, "/go/bin", &rt), 0);
	ASSERT_EQ(attach_state_note_file(3, 1, "/usr/lib/libnss3.so", &nss), 0);
	ASSERT_EQ(attach_state_note_hooks(3, 2, NULL, 8, 0), 0);
	st = state_json();
	ASSERT_EQ(json_array_size(json_object_get(st, "files")), ATTACH_STATE_MAX_FILES);
	ASSERT_TRUE(file_entry(st, 3, 1) && file_entry(st, 3, 2));
	ASSERT_TRUE(file_entry(st, 2, 100) == NULL && file_entry(st, 2, 101) == NULL);
	ASSERT_TRUE(file_entry(st, 2, 102) != NULL); /* the oldest went first */
	json_decref(st);

	/* a table full of hooked files keeps them all */
	attach_state_reset();
	for (uint64_t i = 0; i < ATTACH_STATE_MAX_FILES; i++)
		ASSERT_EQ(attach_state_note_hooks(4, i + 1, NULL, 1, 0), 0);
	ASSERT_EQ(attach_state_note_hooks(4, 999999, NULL, 1, 0), -ENOSPC);
	ASSERT_EQ(attach_state_note_file(4, 999998, "/x", &nss), -ENOSPC);
	ASSERT_EQ(attach_state_note_hooks(4, 1, NULL, 2, 0), 0); /* an update needs no room */
	st = state_json();
	ASSERT_EQ(json_integer_value(
			  json_object_get(json_object_get(st, "counters"), "files_dropped")),
		  2);
	json_decref(st);

	/* the process ring keeps the newest notes, newest first */
	attach_state_reset();
	for (uint32_t i = 0; i < ATTACH_STATE_MAX_PROCS + 44; i++)
		ASSERT_EQ(attach_state_note_process(1000 + i, 5, 6, "hold failed", -EPERM), 0);
	ASSERT_EQ(attach_state_note_process(1, 5, 6, NULL, 0), -EINVAL);
	st = state_json();
	ASSERT_EQ(json_array_size(json_object_get(st, "processes")), ATTACH_STATE_MAX_PROCS);
	ASSERT_EQ(json_integer_value(json_object_get(
			  json_array_get(json_object_get(st, "processes"), 0), "pid")),
		  1000 + ATTACH_STATE_MAX_PROCS + 43);
	ASSERT_STREQ(json_string_value(json_object_get(
			     json_array_get(json_object_get(st, "processes"), 0), "reason")),
		     "hold failed: Operation not permitted");
	json_decref(st);
	attach_state_reset();
}

TEST(attach_state_write_atomic_private)
{
	struct tls_detect ssl = { TLS_STACK_OPENSSL, 0, 0 };
	char dir[] = "/tmp/llmtap-state-XXXXXX", sub[64], path[128], tmp[256], *text;
	struct status_agent a;
	struct stat sb;
	size_t len = 0;
	FILE *f;

	ASSERT_TRUE(mkdtemp(dir) != NULL);
	snprintf(sub, sizeof(sub), "%s/run", dir);
	snprintf(path, sizeof(path), "%s/state.json", sub);
	attach_state_reset();
	attach_state_note_file(7, 8, "/lib/libssl.so.3", &ssl);
	attach_state_note_hooks(7, 8, NULL, 5, 0);
	ASSERT_TRUE(attach_state_dirty());
	ASSERT_EQ(attach_state_write(path), 0);
	ASSERT_TRUE(!attach_state_dirty());
	ASSERT_EQ(stat(sub, &sb), 0);
	ASSERT_EQ(sb.st_mode & 07777, 0700);
	ASSERT_EQ(stat(path, &sb), 0);
	ASSERT_EQ(sb.st_mode & 07777, 0600);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	ASSERT_TRUE(access(tmp, F_OK) != 0); /* no temporary left */

	/* what status reads back */
	f = fopen(path, "re");
	ASSERT_TRUE(f != NULL);
	text = malloc(1 << 20);
	len = fread(text, 1, 1 << 20, f);
	fclose(f);
	ASSERT_EQ(status_agent_parse(text, len, &a), 0);
	free(text);
	ASSERT_EQ(a.pid, getpid());
	ASSERT_EQ(a.n_files, 1);
	ASSERT_UEQ(a.files[0].dev, 7);
	ASSERT_UEQ(a.files[0].hooks, 5);
	ASSERT_STREQ(a.files[0].reason, "attached");
	status_agent_free(&a);

	/* a new note dirties it again; a rewrite replaces the file */
	attach_state_note_process(42, 7, 8, "cannot open", -EACCES);
	ASSERT_TRUE(attach_state_dirty());
	ASSERT_EQ(attach_state_write(path), 0);
	/* removed only while it is still ours */
	ASSERT_EQ(attach_state_remove(path), 0);
	ASSERT_TRUE(access(path, F_OK) != 0);
	ASSERT_EQ(attach_state_write(path), 0);
	ASSERT_EQ(rename(path, tmp), 0);
	f = fopen(path, "we");
	ASSERT_TRUE(f != NULL);
	fputs("{}", f);
	fclose(f);
	ASSERT_EQ(attach_state_remove(path), -ESTALE);
	ASSERT_EQ(access(path, F_OK), 0);
	unlink(path);
	unlink(tmp);
	/* a directory that is a file */
	snprintf(sub, sizeof(sub), "%s/file", dir);
	f = fopen(sub, "we");
	ASSERT_TRUE(f != NULL);
	fclose(f);
	snprintf(path, sizeof(path), "%s/state.json", sub);
	ASSERT_EQ(attach_state_write(path), -ENOTDIR);
	unlink(sub);
	snprintf(sub, sizeof(sub), "%s/run", dir);
	rmdir(sub);
	rmdir(dir);
	ASSERT_EQ(attach_state_write(""), -EINVAL);
	attach_state_reset();
}

TEST(attach_state_pid_start_time)
{
	uint64_t a = 0, b = 0;

	ASSERT_EQ(attach_state_pid_start((uint32_t)getpid(), &a), 0);
	ASSERT_TRUE(a > 0);
	ASSERT_EQ(attach_state_pid_start((uint32_t)getpid(), &b), 0);
	ASSERT_UEQ(a, b);
	ASSERT_EQ(attach_state_pid_start(1, &b), 0);
	ASSERT_TRUE(b <= a);
	ASSERT_EQ(attach_state_pid_start(0x7ffffff0, &b), -ENOENT);
}
