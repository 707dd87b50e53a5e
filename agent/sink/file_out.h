/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The file output: JSON Lines appended (O_APPEND, one write(2) per line),
 * rotated by size and by time to <path>.<UTC yyyymmddThhmmss.uuuuuuZ>
 * (names strictly increasing, so sorting them by name is write order; the
 * current file comes last), rotated files optionally gzipped (<name>.gz)
 * and deleted past the retention age or total size.  Compression and
 * retention run on a maintenance thread of the output, never on the
 * thread that writes.  The fsync policy decides when lines reach the disk.
 */
#ifndef LLMTAP_FILE_OUT_H
#define LLMTAP_FILE_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

struct file_out;

struct file_out_stats {
	uint64_t records, bytes, write_errors, fsyncs, fsync_errors;
	uint64_t rotations, compressed, deleted, maint_errors;
	uint64_t last_write_ns; /* wall clock */
};

/* Opens (creating) c->path; an existing file's mode is tightened to
 * c->mode.  Starts the maintenance thread.  0 or negative errno. */
int file_out_open(const struct output_config *c, struct file_out **out);
/* Appends line (without newline) + '\n', rotating first when due.
 * 0 or negative errno. */
int file_out_write(struct file_out *f, const char *line, size_t len);
/* fsync per policy (batch: when written since the last flush). */
int file_out_flush(struct file_out *f);
/* Rotates now (when the file holds anything).  0 or negative errno. */
int file_out_rotate(struct file_out *f);
/* Closes and reopens the path (after an outside rotation). */
int file_out_reopen(struct file_out *f);
/* One compression + retention pass on the caller's thread (tests, start-up). */
int file_out_maintain(struct file_out *f);
const char *file_out_path(const struct file_out *f);
void file_out_get_stats(struct file_out *f, struct file_out_stats *st);
/* Stops the maintenance thread (an unfinished gzip is abandoned: the
 * uncompressed rotated file stays, compressed at the next start). */
void file_out_close(struct file_out *f);

#endif
