/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `llmtap status`: which TLS stack each running process uses and whether the
 * running agent has hooks on it.  Processes are read from /proc (every
 * executable mapping, opened through /proc/PID/map_files or /proc/PID/root so
 * other mount namespaces work), each distinct file classified once by
 * tls_detect, and joined on (device, inode) with the agent's run-state file
 * (attach_state).  The scan is separate from the pure table building below so
 * that the latter can be tested on fixture data.
 */
#ifndef LLMTAP_STATUS_H
#define LLMTAP_STATUS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "capture/tls_detect.h"

/* One distinct executable file mapped by some process. */
struct status_file {
	uint64_t dev, ino; /* fstat() of the opened file: the agent's key */
	char *path; /* as /proc/PID/maps names it (owned) */
	int err; /* 0, or why it could not be opened or classified (-errno) */
	struct tls_detect det;
};

struct status_proc {
	uint32_t pid;
	char comm[17];
	char *exe; /* owned; NULL when unreadable */
	size_t *files; /* indices into the file table (owned) */
	size_t n_files;
	int maps_err; /* 0, or why /proc/PID/maps could not be read (-errno) */
};

/* What the agent's state file says about one file. */
struct status_agent_file {
	uint64_t dev, ino;
	unsigned hooks;
	int err;
	char reason[160];
};

/* What the agent's state file says about one process. */
struct status_agent_proc {
	uint32_t pid;
	uint64_t dev, ino;
	char reason[160];
};

enum status_agent_state {
	STATUS_AGENT_NOT_RUNNING = 0, /* no state file, or its agent has exited */
	STATUS_AGENT_RUNNING,
	STATUS_AGENT_UNKNOWN, /* the state file is unreadable or malformed */
};

struct status_agent {
	enum status_agent_state state;
	int err; /* why the state file could not be used (-errno) */
	uint32_t pid;
	uint64_t start_time;
	int64_t written_at;
	struct status_agent_file *files;
	size_t n_files;
	struct status_agent_proc *procs;
	size_t n_procs;
};

/* One line of the table. */
struct status_row {
	uint32_t pid;
	char comm[17];
	const char *exe; /* borrowed from the process */
	uint32_t stacks, runtimes;
	char stack_text[96]; /* "openssl-static (node)" */
	const char *hooks; /* "attached", "partial", "not attached", "agent not running", ... */
	char notes[1024]; /* "; "-separated, for the table */
	json_t *note_list; /* the same notes as a JSON array (owned) */
	json_t *files; /* per-file detail for --json (owned) */
	bool listed; /* shown without --all */
};

/*
 * Parses the agent's state JSON (attach_state_write) into a; the liveness
 * of its pid is not checked here.  Returns 0, -EBADMSG when it is not a
 * state file of a known version, or -ENOMEM.  Free with status_agent_free.
 */
int status_agent_parse(const char *text, size_t len, struct status_agent *a);
void status_agent_free(struct status_agent *a);

/*
 * Builds the row of process p (its files index into files[]) against the
 * agent's view a.  Fills *row; free it with status_row_free.  Returns 0 or
 * -ENOMEM.
 */
int status_row_build(const struct status_proc *p, const struct status_file *files,
		     const struct status_agent *a, struct status_row *row);
void status_row_free(struct status_row *row);

/* Prints the table (header line about the agent, then the rows with
 * listed set, or all of them when all is true). */
void status_print_table(FILE *f, const struct status_row *rows, size_t n,
			const struct status_agent *a, const char *state_path, bool all);

/* The JSON document of --json; NULL on ENOMEM. */
json_t *status_json(const struct status_row *rows, size_t n, const struct status_agent *a,
		    const char *state_path, bool all, size_t unreadable);

/* `llmtap status [--all] [--json] [--state PATH]`: exit status 0, 2 on usage errors. */
int status_main(int argc, char **argv);

#endif
