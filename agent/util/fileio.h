/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Durable file writes shared by everything that keeps state on disk (chain
 * head, keys, spool cursors, run state): whole writes across EINTR and
 * short writes, and replace-by-rename with the fsyncs that make the new
 * content survive a crash.
 */
#ifndef LLMTAP_FILEIO_H
#define LLMTAP_FILEIO_H

#include <stddef.h>

/* Writes all len bytes.  0, or -errno (-EIO when write returns 0). */
int fileio_write_all(int fd, const void *p, size_t len);
/* Reads until size bytes or end of file (across EINTR).  The byte count, or
 * -errno. */
long fileio_read_full(int fd, void *buf, size_t size);
/* fsync of a directory: a rename or a new file in it is on disk.  0 or -errno. */
int fileio_fsync_dir(const char *dir);
/*
 * Replaces dir/name with data: a temporary file in dir (mode 0600), fsync,
 * rename over name, fsync of dir.  A reader sees the old or the new content,
 * never a mix; after a crash, one of the two.  0, or -errno (the temporary
 * file is removed).
 */
int fileio_replace(const char *dir, const char *name, const void *data, size_t len);

#endif
