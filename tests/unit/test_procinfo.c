// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Process, container and host identity: cgroup paths to container ids,
 * /proc/PID/stat, start times, user names, machine-id, the exec event and
 * the /proc fallback, and the record attributes they become. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "audit/record.h"
#include "process/hostinfo.h"
#include "process/procinfo.h"
#include "proto/http_exchange.h"
#include "stream/conn_table.h"
#include "test.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX64B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static const struct {
	const char *path, *id, *runtime;
} cgroup_paths[] = {
	/* systemd cgroup driver */
	{ "/system.slice/docker-" HEX64 ".scope", HEX64, "docker" },
	{ "/kubepods.slice/kubepods-burstable.slice/"
	  "kubepods-burstable-pod0b1c2d3e_4f50_6172_8394_a5b6c7d8e9f0.slice/"
	  "cri-containerd-" HEX64 ".scope",
	  HEX64, "containerd" },
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podab.slice/crio-" HEX64
	  ".scope",
	  HEX64, "cri-o" },
	{ "/machine.slice/libpod-" HEX64 ".scope", HEX64, "podman" },
	{ "/machine.slice/libpod-" HEX64 ".scope/container", HEX64, "podman" },
	/* cgroupfs driver */
	{ "/docker/" HEX64, HEX64, "docker" },
	{ "/kubepods/burstable/pod0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0/" HEX64, HEX64, NULL },
	{ "/kubepods/pod0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0/" HEX64, HEX64, NULL },
	{ "/kubepods/besteffort/podab/crio-" HEX64, HEX64, "cri-o" },
	{ "/libpod_parent/libpod-" HEX64, HEX64, "podman" },
	/* nested: the innermost container wins */
	{ "/docker/" HEX64 "/docker/" HEX64B, HEX64B, "docker" },
	{ "/system.slice/docker-" HEX64 ".scope/system.slice/docker-" HEX64B ".scope", HEX64B,
	  "docker" },
	/* relative (the kernel's last components) */
	{ "docker/" HEX64, HEX64, "docker" },
	/* not containers */
	{ "/", NULL, NULL },
	{ "", NULL, NULL },
	{ "/user.slice/user-1000.slice/session-2.scope", NULL, NULL },
	{ "/system.slice/docker.service", NULL, NULL },
	{ "/process_api/74b4dd326fea6f4452ecda5418d0e812", NULL, NULL },
	{ "/system.slice/docker-" HEX64 "0.scope", NULL, NULL }, /* 65 hex */
	{ "/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"
	  ".scope",
	  NULL, NULL }, /* 63 hex */
	{ "/system.slice/docker-0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"
	  ".scope",
	  NULL, NULL }, /* upper case */
	{ "/system.slice/docker-" HEX64 ".scopex", NULL, NULL },
	{ "/system.slice/docker-" HEX64 ".slice", NULL, NULL },
	{ "/machine.slice/crio-conmon-" HEX64 ".scope", NULL, NULL },
	{ "/machine.slice/libpod-conmon-" HEX64 ".scope", NULL, NULL },
	{ "/" HEX64, NULL, NULL }, /* bare id, neither under docker/ nor kubepods */
	{ "/foo/" HEX64, NULL, NULL },
	{ "/mydocker/" HEX64, NULL, NULL },
	{ "/docker/x/" HEX64, NULL, NULL },
	{ "/" HEX64 "/kubepods", NULL, NULL }, /* kubepods below, not above */
	{ "//docker//", NULL, NULL },
	{ "/docker-.scope", NULL, NULL },
};

TEST(cgroup_path_names_container)
{
	for (size_t i = 0; i < sizeof(cgroup_paths) / sizeof(cgroup_paths[0]); i++) {
		const char *path = cgroup_paths[i].path;
		struct procinfo_container ct;
		int rc = procinfo_container_from_path(path, strlen(path), &ct);

		if (cgroup_paths[i].id) {
			if (rc != 0)
				test_fail_at(__FILE__, __LINE__, "no id in %s", path);
			ASSERT_STREQ(ct.id, cgroup_paths[i].id);
			if (cgroup_paths[i].runtime)
				ASSERT_STREQ(ct.runtime, cgroup_paths[i].runtime);
			else
				ASSERT_TRUE(ct.runtime == NULL);
		} else {
			if (rc != -ENOENT)
				test_fail_at(__FILE__, __LINE__, "id %s found in %s", ct.id, path);
			ASSERT_STREQ(ct.id, "");
		}
	}
}

TEST(cgroup_path_is_length_bounded)
{
	/* the bytes after len are never looked at */
	static const char path[] = "/docker/" HEX64 "0";
	struct procinfo_container ct;

	ASSERT_EQ(procinfo_container_from_path(path, sizeof(path) - 2, &ct), 0);
	ASSERT_STREQ(ct.id, HEX64);
	ASSERT_EQ(procinfo_container_from_path(path, 8 + 63, &ct), -ENOENT);
}

TEST(cgroup_file_fixtures)
{
	static const struct {
		const char *file, *id;
	} files[] = {
		{ "procinfo/cgroup-v1-docker", HEX64 },
		{ "procinfo/cgroup-v2-containerd", HEX64 },
		{ "procinfo/cgroup-host", NULL },
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct procinfo_container ct;
		size_t len;
		char *text = test_read_data(files[i].file, &len);

		ASSERT_TRUE(text != NULL);
		if (files[i].id) {
			ASSERT_EQ(procinfo_container_from_cgroup(text, len, true, &ct), 0);
			ASSERT_STREQ(ct.id, files[i].id);
		} else {
			ASSERT_EQ(procinfo_container_from_cgroup(text, len, true, &ct), -ENOENT);
		}
		free(text);
	}
}

TEST(cgroup_file_hostile_lines)
{
	static const char colons[] = "0::/a:b/docker-" HEX64 ".scope\n";
	static const char cut[] = "0::/\n0::/docker/" HEX64;
	static const char junk[] = "no colons here\n:\n::\n1:x\n\n\n0::/docker/" HEX64 "\n";
	static const char nul[] = "0::/dock\0er/" HEX64 "\n0::/docker/\0" HEX64 "\n";
	struct procinfo_container ct;
	size_t big_len = 200000, n = 0;
	char *big = malloc(big_len + 200);

	/* the path is everything after the second ':' */
	ASSERT_EQ(procinfo_container_from_cgroup(colons, sizeof(colons) - 1, true, &ct), 0);
	ASSERT_STREQ(ct.id, HEX64);
	/* a last line without its newline may have been cut by the read */
	ASSERT_EQ(procinfo_container_from_cgroup(cut, sizeof(cut) - 1, true, &ct), -ENOENT);
	ASSERT_EQ(procinfo_container_from_cgroup(cut, sizeof(cut) - 1, false, &ct), 0);
	ASSERT_EQ(procinfo_container_from_cgroup(junk, sizeof(junk) - 1, true, &ct), 0);
	ASSERT_STREQ(ct.id, HEX64);
	ASSERT_EQ(procinfo_container_from_cgroup(nul, sizeof(nul) - 1, true, &ct), -ENOENT);
	ASSERT_EQ(procinfo_container_from_cgroup("", 0, false, &ct), -ENOENT);
	/* a 200 KB line of short components, then a real one */
	ASSERT_TRUE(big != NULL);
	memcpy(big, "1:x:", 4);
	n = 4;
	for (; n < big_len; n++)
		big[n] = n % 2 ? '/' : 'a';
	n += (size_t)sprintf(big + n, "\n0::/docker/%s\n", HEX64);
	ASSERT_EQ(procinfo_container_from_cgroup(big, n, true, &ct), 0);
	ASSERT_STREQ(ct.id, HEX64);
	/* one long component that embeds a pattern is not a match */
	memset(big, 'a', big_len);
	memcpy(big, "0::/", 4);
	memcpy(big + 1000, "docker-" HEX64 ".scope", 77);
	big[big_len] = '\n';
	ASSERT_EQ(procinfo_container_from_cgroup(big, big_len + 1, true, &ct), -ENOENT);
	free(big);
}

static void set_names(char names[LT_CGROUP_LEVELS][LT_CGROUP_NAME_MAX], const char *a,
		      const char *b, const char *c, const char *d)
{
	const char *in[LT_CGROUP_LEVELS] = { a, b, c, d };

	memset(names, 0, LT_CGROUP_LEVELS * LT_CGROUP_NAME_MAX);
	for (int i = 0; i < LT_CGROUP_LEVELS; i++)
		if (in[i])
			snprintf(names[i], LT_CGROUP_NAME_MAX, "%s", in[i]);
}

TEST(cgroup_names_from_exec_event)
{
	char names[LT_CGROUP_LEVELS][LT_CGROUP_NAME_MAX];
	struct procinfo_container ct;

	set_names(names, "docker-" HEX64 ".scope", "system.slice", NULL, NULL);
	ASSERT_EQ(procinfo_container_from_names(names, &ct), 0);
	ASSERT_STREQ(ct.id, HEX64);
	ASSERT_STREQ(ct.runtime, "docker");
	set_names(names, HEX64, "docker", NULL, NULL);
	ASSERT_EQ(procinfo_container_from_names(names, &ct), 0);
	ASSERT_STREQ(ct.id, HEX64);
	/* four full levels: the path is partial but reaches kubepods */
	set_names(names, HEX64, "pod1", "burstable", "kubepods");
	ASSERT_EQ(procinfo_container_from_names(names, &ct), 0);
	ASSERT_STREQ(ct.id, HEX64);
	/* deeper than the event carries: kubepods is out of sight */
	set_names(names, HEX64, "pod1", "burstable", "nested");
	ASSERT_EQ(procinfo_container_from_names(names, &ct), -ERANGE);
	/* the root cgroup (cgroup v1 hosts always look like this) */
	set_names(names, NULL, NULL, NULL, NULL);
	ASSERT_EQ(procinfo_container_from_names(names, &ct), -ENOENT);
	/* a bare id directly under the root is not a container */
	set_names(names, HEX64, NULL, NULL, NULL);
	ASSERT_EQ(procinfo_container_from_names(names, &ct), -ENOENT);
	/* names without a NUL (not what the kernel sends) stay within bounds */
	memset(names, 'a', sizeof(names));
	ASSERT_EQ(procinfo_container_from_names(names, &ct), -ERANGE);
	/* a name the kernel cut at the slot size never matches */
	memset(names, 0, sizeof(names));
	memset(names[0], '.', LT_CGROUP_NAME_MAX - 1);
	memcpy(names[0], "docker-" HEX64 ".scope", 77);
	ASSERT_EQ(procinfo_container_from_names(names, &ct), -ENOENT);
}

TEST(stat_line_parsing)
{
	static const char trunc[] = "1 (x) S 2 3 4";
	static const char neg[] = "1 (x) S -2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20";
	static const char big[] = "1 (x) S 4294967296 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 "
				  "19 20";
	static const char ovf[] = "1 (x) S 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 "
				  "99999999999999999999";
	static const char last[] = "1 (x) S 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20";
	uint32_t ppid;
	uint64_t ticks;
	size_t len;
	char *text = test_read_data("procinfo/stat", &len);

	ASSERT_TRUE(text != NULL);
	ASSERT_EQ(procinfo_parse_stat(text, len, &ppid, &ticks), 0);
	ASSERT_EQ(ppid, 4200);
	ASSERT_UEQ(ticks, 123456);
	free(text);
	/* a comm of "evil) 1 2 3 (x": fields count from the last ')' */
	text = test_read_data("procinfo/stat-hostile-comm", &len);
	ASSERT_TRUE(text != NULL);
	ASSERT_EQ(procinfo_parse_stat(text, len, &ppid, &ticks), 0);
	ASSERT_EQ(ppid, 77);
	ASSERT_UEQ(ticks, 999);
	free(text);
	ASSERT_EQ(procinfo_parse_stat(last, sizeof(last) - 1, &ppid, &ticks), 0);
	ASSERT_UEQ(ticks, 20);
	ASSERT_EQ(procinfo_parse_stat(trunc, sizeof(trunc) - 1, &ppid, &ticks), -EINVAL);
	ASSERT_EQ(procinfo_parse_stat(neg, sizeof(neg) - 1, &ppid, &ticks), -EINVAL);
	ASSERT_EQ(procinfo_parse_stat(big, sizeof(big) - 1, &ppid, &ticks), -EINVAL);
	ASSERT_EQ(procinfo_parse_stat(ovf, sizeof(ovf) - 1, &ppid, &ticks), -EINVAL);
	ASSERT_EQ(procinfo_parse_stat("no paren", 8, &ppid, &ticks), -EINVAL);
	ASSERT_EQ(procinfo_parse_stat("", 0, &ppid, &ticks), -EINVAL);
	ASSERT_EQ(ppid, 0);
	ASSERT_UEQ(ticks, 0);
}

TEST(start_time_from_boot_offset)
{
	const uint64_t boot = 1700000000123000000ull; /* 2023-11-14T22:13:20.123Z */

	/* ns since boot, cut to the 10 ms tick as /proc/PID/stat shows it */
	ASSERT_UEQ(procinfo_start_wall_ns(5123456789ull, boot, 100), boot + 5120000000ull);
	ASSERT_UEQ(procinfo_start_wall_ns(1230000000ull, boot, 100), boot + 1230000000ull);
	ASSERT_UEQ(procinfo_start_wall_ns(5123456789ull, boot, 1000), boot + 5123000000ull);
	ASSERT_UEQ(procinfo_start_wall_ns(0, boot, 100), boot);
	/* a nonsense hz falls back to 100 */
	ASSERT_UEQ(procinfo_start_wall_ns(5123456789ull, boot, 0), boot + 5120000000ull);
}

TEST(user_name_lookup)
{
	char name[64];

	procinfo_user_name(0, name, sizeof(name));
	ASSERT_STREQ(name, "root");
	/* no such user: the number */
	procinfo_user_name(4000000123u, name, sizeof(name));
	ASSERT_STREQ(name, "4000000123");
	/* cut to the buffer, NUL-terminated */
	procinfo_user_name(4000000123u, name, 5);
	ASSERT_STREQ(name, "4000");
}

TEST(machine_id_parsing)
{
	char id[HOSTINFO_ID_LEN + 1];

	ASSERT_EQ(hostinfo_parse_machine_id("0f1e2d3c4b5a69788796a5b4c3d2e1f0\n", 33, id), 0);
	ASSERT_STREQ(id, "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
	ASSERT_EQ(hostinfo_parse_machine_id("0f1e2d3c4b5a69788796a5b4c3d2e1f0", 32, id), 0);
	ASSERT_EQ(hostinfo_parse_machine_id("0F1E2D3C4B5A69788796A5B4C3D2E1F0\n", 33, id), -EINVAL);
	ASSERT_STREQ(id, "");
	ASSERT_EQ(hostinfo_parse_machine_id("uninitialized\n", 14, id), -EINVAL);
	ASSERT_EQ(hostinfo_parse_machine_id("0f1e2d3c4b5a69788796a5b4c3d2e1f\n", 32, id), -EINVAL);
	ASSERT_EQ(hostinfo_parse_machine_id("0f1e2d3c4b5a69788796a5b4c3d2e1f00", 33, id), -EINVAL);
	ASSERT_EQ(hostinfo_parse_machine_id("0f1e2d3c4b5a69788796a5b4c3d2e1f0\n\n", 34, id),
		  -EINVAL);
	ASSERT_EQ(hostinfo_parse_machine_id("", 0, id), -EINVAL);
}

TEST(host_identity_read_once)
{
	const char *dir = getenv("LLMTAP_TEST_DATA");
	char good[512], bad[512], missing[512];
	const char *paths[] = { missing, bad, good, NULL };
	const char *none[] = { missing, bad, NULL };
	struct hostinfo h;
	struct utsname u;

	snprintf(good, sizeof(good), "%s/procinfo/machine-id", dir ? dir : "tests/data");
	snprintf(bad, sizeof(bad), "%s/procinfo/machine-id-uninitialized",
		 dir ? dir : "tests/data");
	snprintf(missing, sizeof(missing), "%s/procinfo/no-such-file", dir ? dir : "tests/data");
	ASSERT_EQ(uname(&u), 0);
	hostinfo_read(&h, paths);
	ASSERT_STREQ(h.name, u.nodename);
	ASSERT_STREQ(h.id, "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
	/* no valid machine-id anywhere: no host.id, the rest still works */
	hostinfo_read(&h, none);
	ASSERT_STREQ(h.id, "");
	ASSERT_STREQ(h.name, u.nodename);
}

static uint64_t now_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

TEST(proc_fallback_names_this_process)
{
	struct proc_cache pc;
	const struct procinfo *p;
	char exe[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	uint64_t now = now_ns(CLOCK_REALTIME);

	ASSERT_TRUE(n > 0);
	exe[n] = '\0';
	ASSERT_EQ(proc_cache_init(&pc, 8), 0);
	p = proc_cache_get(&pc, (uint32_t)getpid(), "unit-tests");
	ASSERT_EQ(p->pid, getpid());
	ASSERT_TRUE(p->has_ppid);
	ASSERT_EQ(p->ppid, getppid());
	ASSERT_STREQ(p->exe, exe);
	ASSERT_TRUE(p->has_uid);
	ASSERT_EQ(p->uid, geteuid());
	ASSERT_TRUE(p->owner[0] != '\0');
	ASSERT_TRUE(strstr(p->cmdline, "unit-tests") != NULL);
	/* started before now, and (a test run) not long ago */
	ASSERT_TRUE(p->start_wall_ns <= now + 20000000ull);
	ASSERT_TRUE(p->start_wall_ns + 3600ull * 1000000000ull > now);
	ASSERT_TRUE(p->host == &pc.host);
	/* cgroup v1 in use iff our own cgroup file has a line besides "0::" */
	{
		FILE *f = fopen("/proc/self/cgroup", "re");
		char line[4096];
		bool v1 = false;

		ASSERT_TRUE(f != NULL);
		while (fgets(line, sizeof(line), f))
			v1 |= strncmp(line, "0::", 3) != 0;
		fclose(f);
		ASSERT_EQ(pc.cgroup_v1, v1);
	}
	proc_cache_destroy(&pc);
}

TEST(exec_event_identity_outlives_the_process)
{
	static const char argv[] = "python3\0-c\0print(1)\0";
	struct lt_file_event *f = calloc(1, sizeof(*f));
	uint64_t boot_wall = now_ns(CLOCK_REALTIME) - now_ns(CLOCK_BOOTTIME);
	struct proc_cache pc;
	const struct procinfo *p;
	int64_t diff;

	ASSERT_TRUE(f != NULL);
	ASSERT_EQ(proc_cache_init(&pc, 8), 0);
	/* a pid above any pid_max: nothing in /proc, all from the event */
	f->hdr.type = LT_EV_EXEC;
	f->hdr.size = sizeof(*f);
	f->hdr.pid = 0x7ffffff0;
	memcpy(f->hdr.comm, "python3", 8);
	f->uid = 0;
	f->ppid = 4200;
	f->start_ns = 7123456789ull;
	strcpy(f->cgroup[0], "docker-" HEX64 ".scope");
	strcpy(f->cgroup[1], "system.slice");
	strcpy(f->name, "/usr/bin/python3");
	memcpy(f->args, argv, sizeof(argv) - 1);
	f->args_len = sizeof(argv) - 1;
	proc_cache_exec(&pc, f);
	p = proc_cache_get(&pc, 0x7ffffff0, "python3");
	ASSERT_EQ(p->ppid, 4200);
	ASSERT_TRUE(p->has_ppid);
	ASSERT_STREQ(p->exe, "/usr/bin/python3");
	ASSERT_STREQ(p->cmdline, "python3 -c print(1)");
	ASSERT_STREQ(p->owner, "root");
	ASSERT_STREQ(p->container.id, HEX64);
	ASSERT_STREQ(p->container.runtime, "docker");
	/* boot time + 7.12 s, to within the millisecond the boot time is kept at */
	diff = (int64_t)(p->start_wall_ns - (boot_wall + 7120000000ull));
	ASSERT_TRUE(diff > -2000000 && diff < 2000000);
	ASSERT_EQ(p->start_wall_ns % 1000000, 0);
	/* a second exec of the same pid replaces everything */
	memset(f->cgroup, 0, sizeof(f->cgroup));
	f->ppid = 1;
	proc_cache_exec(&pc, f);
	p = proc_cache_get(&pc, 0x7ffffff0, NULL);
	ASSERT_EQ(p->ppid, 1);
	ASSERT_STREQ(p->container.id, "");
	proc_cache_destroy(&pc);
	free(f);
}

static const char *rec_str(json_t *rec, const char *k)
{
	return json_string_value(json_object_get(json_object_get(rec, "attributes"), k));
}

static long long rec_int(json_t *rec, const char *k)
{
	return json_integer_value(json_object_get(json_object_get(rec, "attributes"), k));
}

TEST(record_carries_process_container_host)
{
	struct http_exchange ex;
	struct record_opts o = { .content = true };
	struct procinfo p;
	struct hostinfo h = { "build-7", "0f1e2d3c4b5a69788796a5b4c3d2e1f0" };
	struct conn c;
	json_t *rec;

	memset(&ex, 0, sizeof(ex));
	memset(&c, 0, sizeof(c));
	memset(&p, 0, sizeof(p));
	strcpy(ex.req.method, "POST");
	c.key.pid = 4242;
	c.tid = 4243;
	strcpy(c.comm, "python3");
	p.pid = 4242;
	p.ppid = 4200;
	p.has_ppid = true;
	p.uid = 1001;
	p.has_uid = true;
	strcpy(p.owner, "svc-ai");
	strcpy(p.exe, "/usr/bin/python3.11");
	strcpy(p.cmdline, "python3 agent.py");
	strcpy(p.comm, "python3");
	p.start_wall_ns = 1700000000120000000ull;
	strcpy(p.container.id, HEX64);
	p.container.runtime = "containerd";
	p.host = &h;
	rec = record_build(&ex, &c, &p, NULL, &o);
	ASSERT_TRUE(rec != NULL);
	ASSERT_EQ(rec_int(rec, "process.pid"), 4242);
	ASSERT_EQ(rec_int(rec, "process.parent_pid"), 4200);
	ASSERT_EQ(rec_int(rec, "thread.id"), 4243);
	/* OTel: the base name of the executable, not comm */
	ASSERT_STREQ(rec_str(rec, "process.executable.name"), "python3.11");
	ASSERT_STREQ(rec_str(rec, "process.executable.path"), "/usr/bin/python3.11");
	ASSERT_STREQ(rec_str(rec, "process.command_line"), "python3 agent.py");
	ASSERT_STREQ(rec_str(rec, "process.owner"), "svc-ai");
	ASSERT_EQ(rec_int(rec, "process.user.id"), 1001);
	ASSERT_STREQ(rec_str(rec, "process.creation.time"), "2023-11-14T22:13:20.120000000Z");
	ASSERT_STREQ(rec_str(rec, "container.id"), HEX64);
	ASSERT_STREQ(rec_str(rec, "container.runtime.name"), "containerd");
	ASSERT_STREQ(rec_str(rec, "host.name"), "build-7");
	ASSERT_STREQ(rec_str(rec, "host.id"), "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
	json_decref(rec);

	/* nothing known but comm: no empty or made-up values */
	memset(&p, 0, sizeof(p));
	h.id[0] = '\0';
	p.host = &h;
	rec = record_build(&ex, &c, &p, NULL, &o);
	ASSERT_TRUE(rec != NULL);
	ASSERT_STREQ(rec_str(rec, "process.executable.name"), "python3");
	ASSERT_TRUE(json_object_get(json_object_get(rec, "attributes"), "process.parent_pid") ==
		    NULL);
	ASSERT_TRUE(rec_str(rec, "process.creation.time") == NULL);
	ASSERT_TRUE(rec_str(rec, "container.id") == NULL);
	ASSERT_TRUE(rec_str(rec, "container.runtime.name") == NULL);
	ASSERT_TRUE(rec_str(rec, "host.id") == NULL);
	ASSERT_STREQ(rec_str(rec, "host.name"), "build-7");
	json_decref(rec);
}

static bool cached(const struct proc_cache *pc, uint32_t pid)
{
	for (size_t i = 0; i < pc->cap; i++)
		if (pc->pids[i] == pid && pc->slots[i].pid == pid)
			return true;
	return false;
}

TEST(prefill_reads_running_processes)
{
	struct proc_cache pc;
	char exe[64];
	size_t n;

	ASSERT_EQ(proc_cache_init(&pc, 4096), 0);
	n = proc_cache_prefill(&pc);
	ASSERT_TRUE(n >= 1);
	/* our parent is there, with what /proc says; we are not (the agent
	 * leaves itself out) */
	ASSERT_TRUE(cached(&pc, (uint32_t)getppid()));
	ASSERT_TRUE(!cached(&pc, (uint32_t)getpid()));
	/* kernel threads have no executable: not cached */
	if (readlink("/proc/2/exe", exe, sizeof(exe)) < 0)
		ASSERT_TRUE(!cached(&pc, 2));
	proc_cache_destroy(&pc);
	/* never past the capacity */
	ASSERT_EQ(proc_cache_init(&pc, 2), 0);
	ASSERT_TRUE(proc_cache_prefill(&pc) <= 2);
	proc_cache_destroy(&pc);
}
