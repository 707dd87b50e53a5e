/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The agent's run state for diagnostics: a bounded in-memory registry of the
 * files it inspected that matter for TLS (which stack tls_detect found, how
 * many hooks were attached, or why none) and of per-process problems (a
 * thread that could not be held, a mapping that could not be opened).
 * `llmtap status` joins it with what runs on the host.  One registry per
 * process, shared by the attach thread (notes) and the main loop (writes),
 * so every function is thread-safe and none of them logs.
 */
#ifndef LLMTAP_ATTACH_STATE_H
#define LLMTAP_ATTACH_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/tls_detect.h"

#define ATTACH_STATE_DEFAULT_PATH "/run/llmtap/state.json"
#define ATTACH_STATE_VERSION 1
/* Files kept; past this, entries without hooks or errors are replaced first. */
#define ATTACH_STATE_MAX_FILES 2048
/* Per-process notes kept, newest first out of a ring. */
#define ATTACH_STATE_MAX_PROCS 256
/* Paths and notes are cut to these lengths. */
#define ATTACH_STATE_PATH_MAX 256
#define ATTACH_STATE_WHAT_MAX 48

/*
 * Records that the file (dev, ino as fstat() gives them), seen as path, was
 * inspected and what tls_detect found in it (det NULL: not classified).
 * Files with no stack and no runtime are only counted.  Replaces an earlier
 * classification of the same file.  Returns 0, -ENOSPC when the registry is
 * full of files with hooks or errors (counted as dropped), -EINVAL.
 */
int attach_state_note_file(uint64_t dev, uint64_t ino, const char *path,
			   const struct tls_detect *det);

/*
 * Records the outcome of attaching to (dev, ino), seen as path (NULL keeps
 * the path noted before): hooks = uprobes and uretprobes in place (bpf
 * links), err = the first error (0 or -errno).  A file not noted before is
 * added unclassified.  Returns 0 or -ENOSPC.
 */
int attach_state_note_hooks(uint64_t dev, uint64_t ino, const char *path, unsigned hooks, int err);

/*
 * Records a problem met for process pid with the file (dev, ino), e.g.
 * what = "hold failed", err = -EPERM.  Kept in a ring of the last
 * ATTACH_STATE_MAX_PROCS notes.  Returns 0 or -EINVAL.
 */
int attach_state_note_process(uint32_t pid, uint64_t dev, uint64_t ino, const char *what, int err);

/* True when something was noted since the last successful attach_state_write(). */
bool attach_state_dirty(void);

/*
 * Writes the registry as JSON to path atomically: a temporary file (mode
 * 0600) in the same directory, then rename().  The directory is created
 * with mode 0700 when missing and must be a directory owned by us.
 * Returns 0 or -errno.
 */
int attach_state_write(const char *path);

/* Removes path if it is still the file our last attach_state_write() put
 * there (another agent may have replaced it).  Returns 0 or -errno. */
int attach_state_remove(const char *path);

/* The JSON text attach_state_write() would write; malloc'd, NULL on ENOMEM. */
char *attach_state_json(void);

/* Forgets everything (tests). */
void attach_state_reset(void);

/* Start time of pid in clock ticks since boot (/proc/PID/stat field 22):
 * with the pid it names a process unambiguously.  Returns 0 or -errno. */
int attach_state_pid_start(uint32_t pid, uint64_t *out);

#endif
