// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Fuzzes the parsers of process identity text: /proc/PID/stat (comm is the
 * process's choice), /proc/PID/cgroup and cgroup paths (names chosen by
 * whoever created the cgroup), the exec event's cgroup components,
 * machine-id and argv joining.  Every parser sees the same bytes. */
#include <stdint.h>
#include <string.h>

#include "process/hostinfo.h"
#include "process/procinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char names[LT_CGROUP_LEVELS][LT_CGROUP_NAME_MAX];
	char id[HOSTINFO_ID_LEN + 1], out[LT_ARGS_MAX + 1];
	const char *text = (const char *)data;
	struct procinfo_container ct;
	uint64_t ticks;
	uint32_t ppid;

	procinfo_parse_stat(text, size, &ppid, &ticks);
	procinfo_container_from_path(text, size, &ct);
	procinfo_container_from_cgroup(text, size, true, &ct);
	if (procinfo_container_from_cgroup(text, size, false, &ct) == 0 &&
	    strlen(ct.id) != PROCINFO_CONTAINER_ID_LEN)
		__builtin_trap();
	/* the bytes as the kernel's slots: not NUL-terminated when they fill one */
	memset(names, 0, sizeof(names));
	memcpy(names, data, size < sizeof(names) ? size : sizeof(names));
	procinfo_container_from_names(names, &ct);
	hostinfo_parse_machine_id(text, size, id);
	procinfo_join_args(text, size < LT_ARGS_MAX ? size : LT_ARGS_MAX, out, sizeof(out));
	return 0;
}
