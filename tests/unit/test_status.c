// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * status: the table built from fixture processes, files and agent state
 * files (no /proc involved): the TLS STACK(S), HOOKS and NOTE columns, which
 * rows are listed, the agent header line, and the --json document.
 */
#include <errno.h>
#include <stdlib.h>

#include "status/status.h"
#include "test.h"

#define S(x) TLS_STACK_##x
#define R(x) TLS_RT_##x

enum { LIBC, LIBSSL, NODE, BUN, LIBJVM, GO, GNUTLS, LIBJLI, UNREADABLE, GOPLAIN, N_FILES };

static struct status_file files[N_FILES] = {
	[LIBC] = { 1, 100, "/usr/lib/x86_64-linux-gnu/libc.so.6", 0, { 0, 0, 0 } },
	[LIBSSL] = { 1, 101, "/usr/lib/x86_64-linux-gnu/libssl.so.3", 0, { S(OPENSSL), 0, 0 } },
	[NODE] = { 1, 102, "/usr/bin/node", 0, { S(OPENSSL_EXE), R(NODE), TLS_F_EXEC } },
	[BUN] = { 1,
		  103,
		  "/home/u/.local/bin/claude",
		  0,
		  { S(BORINGSSL_STRIPPED), R(BUN), TLS_F_EXEC | TLS_F_STRIPPED } },
	[LIBJVM] = { 1, 104, "/usr/lib/jvm/lib/server/libjvm.so", 0, { S(JSSE), R(JAVA), 0 } },
	[GO] = { 1,
		 105,
		 "/srv/goclient",
		 0,
		 { S(GO_PCLNTAB), R(GO), TLS_F_EXEC | TLS_F_STATIC | TLS_F_STRIPPED } },
	[GNUTLS] = { 1, 106, "/usr/lib/x86_64-linux-gnu/libgnutls.so.30", 0, { S(GNUTLS), 0, 0 } },
	[LIBJLI] = { 1, 107, "/usr/lib/jvm/lib/libjli.so", 0, { 0, R(JAVA), 0 } },
	[UNREADABLE] = { 1, 108, "/gone/lib.so", -EACCES, { 0, 0, 0 } },
	[GOPLAIN] = { 1, 109, "/usr/local/bin/tool", 0, { 0, R(GO), TLS_F_EXEC } },
};

static size_t f_python[] = { LIBC, LIBSSL }, f_node[] = { LIBC, NODE }, f_bun[] = { BUN },
	      f_java[] = { LIBJLI, LIBJVM, LIBC }, f_go[] = { GO }, f_sh[] = { LIBC },
	      f_curl[] = { LIBC, LIBSSL, GNUTLS }, f_bad[] = { LIBC, UNREADABLE },
	      f_tool[] = { GOPLAIN };

#define PROC(pid, comm, exe, f)                                \
	{                                                      \
		pid, comm, exe, f, sizeof(f) / sizeof(f[0]), 0 \
	}

static struct status_proc procs[] = {
	PROC(10, "python3", "/usr/bin/python3.11", f_python),
	PROC(11, "node", "/usr/bin/node", f_node),
	PROC(12, "claude", "/home/u/.local/bin/claude", f_bun),
	PROC(13, "java", "/usr/lib/jvm/bin/java", f_java),
	PROC(14, "goclient", "/srv/goclient", f_go),
	PROC(15, "sh", "/usr/bin/dash", f_sh),
	PROC(16, "curl-both", "/usr/bin/curl", f_curl),
	PROC(17, "odd", "/usr/bin/odd", f_bad),
	PROC(18, "tool", "/usr/local/bin/tool", f_tool),
};
#define N_PROCS (sizeof(procs) / sizeof(procs[0]))

static const char STATE[] =
	"{\"version\":1,\"agent\":{\"pid\":4242,\"start_time\":77},\"written_at\":1,"
	"\"files\":["
	"{\"dev\":1,\"ino\":101,\"hooks\":14,\"error\":0,\"reason\":\"attached\"},"
	"{\"dev\":1,\"ino\":102,\"hooks\":12,\"error\":-2,\"reason\":\"attached with errors\"},"
	"{\"dev\":1,\"ino\":105,\"hooks\":0,\"error\":0,\"reason\":\"stripped Go binary "
	"(crypto/tls via .gopclntab): no hooks attached\"},"
	"{\"dev\":\"bad\",\"ino\":1},"
	"{\"dev\":1,\"ino\":103,\"hooks\":0,\"error\":0,\"reason\":\"Bun (static BoringSSL, "
	"stripped): not covered\"}],"
	"\"processes\":[{\"pid\":10,\"dev\":1,\"ino\":101,\"reason\":\"hold failed: Operation not "
	"permitted\"},{\"pid\":11,\"dev\":9,\"ino\":9,\"reason\":\"for another process\"}]}";

static void load_agent(struct status_agent *a, enum status_agent_state state)
{
	ASSERT_EQ(status_agent_parse(STATE, sizeof(STATE) - 1, a), 0);
	a->state = state;
}

struct expect {
	uint32_t pid;
	const char *stacks, *hooks, *notes;
	bool listed;
};

static const struct expect running[] = {
	{ 10, "openssl", "attached",
	  "OpenSSL-family library in libssl.so.3: 14 hooks; agent: hold failed: Operation not "
	  "permitted",
	  true },
	{ 11, "openssl-static (node)", "attached",
	  "Node (static OpenSSL, symbols) in node: 12 hooks (with errors)", true },
	{ 12, "boringssl-stripped (bun)", "not attached",
	  "Bun (static BoringSSL, stripped) in claude: not covered", true },
	{ 13, "jsse (java)", "not attached", "Java JSSE in libjvm.so: not covered", true },
	{ 14, "go-pclntab (go)", "not attached",
	  "stripped Go binary (crypto/tls via .gopclntab) in goclient: no hooks (agent: stripped "
	  "Go binary (crypto/tls via .gopclntab): no hooks attached)",
	  true },
	{ 15, "-", "-", "", false },
	{ 16, "openssl,gnutls", "partial",
	  "OpenSSL-family library in libssl.so.3: 14 hooks; GnuTLS in libgnutls.so.30: no hooks "
	  "(agent: file not inspected)",
	  true },
	{ 17, "-", "-", "1 mapped file unreadable (/gone/lib.so: Permission denied)", false },
	{ 18, "(go)", "-", "Go binary without crypto/tls", true },
};

TEST(status_rows_agent_running)
{
	struct status_agent a;

	load_agent(&a, STATUS_AGENT_RUNNING);
	ASSERT_EQ(a.n_files, 4); /* the malformed entry is skipped */
	ASSERT_EQ(a.n_procs, 2);
	for (size_t i = 0; i < N_PROCS; i++) {
		const struct expect *e = &running[i];
		struct status_row r;

		ASSERT_EQ(status_row_build(&procs[i], files, &a, &r), 0);
		ASSERT_EQ(r.pid, e->pid);
		ASSERT_STREQ(r.stack_text, e->stacks);
		ASSERT_STREQ(r.hooks, e->hooks);
		ASSERT_STREQ(r.notes, e->notes);
		ASSERT_EQ(r.listed, e->listed);
		status_row_free(&r);
	}
	status_agent_free(&a);
}

TEST(status_rows_agent_absent_or_unknown)
{
	struct status_agent a = { 0 };
	struct status_row r;

	/* no agent: hooks say so, notes only describe */
	ASSERT_EQ(status_row_build(&procs[0], files, &a, &r), 0);
	ASSERT_STREQ(r.hooks, "agent not running");
	ASSERT_STREQ(r.notes, "OpenSSL-family library in libssl.so.3");
	status_row_free(&r);
	ASSERT_EQ(status_row_build(&procs[2], files, &a, &r), 0);
	ASSERT_STREQ(r.hooks, "agent not running");
	ASSERT_STREQ(r.notes, "Bun (static BoringSSL, stripped) in claude: not covered");
	status_row_free(&r);
	/* a state file of an exited agent is not coverage, and its notes are stale */
	load_agent(&a, STATUS_AGENT_NOT_RUNNING);
	ASSERT_EQ(status_row_build(&procs[0], files, &a, &r), 0);
	ASSERT_STREQ(r.hooks, "agent not running");
	ASSERT_STREQ(r.notes, "OpenSSL-family library in libssl.so.3");
	status_row_free(&r);
	status_agent_free(&a);
	a.state = STATUS_AGENT_UNKNOWN;
	a.err = -EACCES;
	ASSERT_EQ(status_row_build(&procs[0], files, &a, &r), 0);
	ASSERT_STREQ(r.hooks, "unknown");
	status_row_free(&r);
}

TEST(status_agent_parse_rejects)
{
	static const char *const bad[] = {
		"",
		"not json",
		"[]",
		"{\"version\":2,\"agent\":{\"pid\":1,\"start_time\":1}}",
		"{\"version\":1,\"agent\":{\"pid\":0,\"start_time\":1}}",
		"{\"version\":1,\"agent\":{\"pid\":-5,\"start_time\":1}}",
		"{\"version\":1,\"agent\":{\"pid\":1}}",
		"{\"version\":1,\"agent\":{\"pid\":4294967296,\"start_time\":1}}",
		"{\"version\":1,\"version\":1,\"agent\":{\"pid\":1,\"start_time\":1}}",
	};
	struct status_agent a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_EQ(status_agent_parse(bad[i], strlen(bad[i]), &a), -EBADMSG);
		ASSERT_TRUE(a.files == NULL && a.n_files == 0);
	}
	{
		static const char ok[] = "{\"version\":1,\"agent\":{\"pid\":1,\"start_time\":1},"
					 "\"files\":{}}";

		ASSERT_EQ(status_agent_parse(ok, sizeof(ok) - 1, &a), 0);
	}
	ASSERT_EQ(a.n_files, 0);
	status_agent_free(&a);
}

static char *table(const struct status_row *rows, size_t n, const struct status_agent *a, bool all)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ASSERT_TRUE(f != NULL);
	status_print_table(f, rows, n, a, "/run/llmtap/state.json", all);
	fclose(f);
	return buf;
}

TEST(status_table_and_json)
{
	struct status_row rows[N_PROCS];
	struct status_agent a;
	json_t *j, *p;
	char *t;

	load_agent(&a, STATUS_AGENT_RUNNING);
	for (size_t i = 0; i < N_PROCS; i++)
		ASSERT_EQ(status_row_build(&procs[i], files, &a, &rows[i]), 0);
	t = table(rows, N_PROCS, &a, false);
	{
		static const char head[] =
			"agent: running, pid 4242 (state /run/llmtap/state.json)\n"
			"PID     COMM            TLS STACK(S)               HOOKS             NOTE\n"
			"10      python3         openssl                    attached          "
			"OpenSSL-family library in libssl.so.3: 14 hooks; agent: hold failed: "
			"Operation not permitted\n";

		ASSERT_TRUE(strncmp(t, head, sizeof(head) - 1) == 0);
	}
	ASSERT_TRUE(strstr(t, "\n12      claude          boringssl-stripped (bun)   not attached"
			      "      Bun (static BoringSSL, stripped) in claude: not covered\n"));
	ASSERT_TRUE(!strstr(t, "\n15 ") && !strstr(t, "\n17 "));
	free(t);
	t = table(rows, N_PROCS, &a, true);
	ASSERT_TRUE(strstr(t, "\n15      sh              -                          -            "
			      "     \n"));
	ASSERT_TRUE(strstr(t, "\n17      odd "));
	free(t);

	j = status_json(rows, N_PROCS, &a, "/run/llmtap/state.json", false, 3);
	ASSERT_TRUE(j != NULL);
	ASSERT_STREQ(json_string_value(json_object_get(json_object_get(j, "agent"), "state")),
		     "running");
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(j, "agent"), "pid")), 4242);
	ASSERT_EQ(json_integer_value(json_object_get(j, "unreadable_processes")), 3);
	ASSERT_EQ(json_array_size(json_object_get(j, "processes")), 7); /* listed ones */
	p = json_array_get(json_object_get(j, "processes"), 0);
	ASSERT_EQ(json_integer_value(json_object_get(p, "pid")), 10);
	ASSERT_STREQ(json_string_value(json_object_get(p, "hooks")), "attached");
	ASSERT_STREQ(json_string_value(json_array_get(json_object_get(p, "stacks"), 0)), "openssl");
	ASSERT_EQ(json_array_size(json_object_get(p, "notes")), 2);
	/* only the files that say something: libssl, not libc */
	ASSERT_EQ(json_array_size(json_object_get(p, "files")), 1);
	p = json_array_get(json_object_get(p, "files"), 0);
	ASSERT_STREQ(json_string_value(json_object_get(p, "path")),
		     "/usr/lib/x86_64-linux-gnu/libssl.so.3");
	ASSERT_EQ(json_integer_value(json_object_get(p, "hooks")), 14);
	ASSERT_STREQ(json_string_value(json_object_get(p, "agent_reason")), "attached");
	json_decref(j);

	for (size_t i = 0; i < N_PROCS; i++)
		status_row_free(&rows[i]);
	status_agent_free(&a);

	/* the header without an agent */
	memset(&a, 0, sizeof(a));
	t = table(NULL, 0, &a, false);
	ASSERT_STREQ(t,
		     "agent: not running (no /run/llmtap/state.json)\n"
		     "PID     COMM            TLS STACK(S)               HOOKS             NOTE\n");
	free(t);
	a.pid = 99;
	t = table(NULL, 0, &a, false);
	ASSERT_TRUE(
		strstr(t, "agent: not running (pid 99 of /run/llmtap/state.json has exited)\n") ==
		t);
	free(t);
	a.state = STATUS_AGENT_UNKNOWN;
	a.err = -EACCES;
	t = table(NULL, 0, &a, false);
	ASSERT_TRUE(strstr(t, "agent: unknown (cannot use /run/llmtap/state.json: Permission "
			      "denied)\n") == t);
	free(t);
}
