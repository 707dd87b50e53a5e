// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* fileio: whole reads and writes, replace-by-rename leaves one file, 0600. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "util/caps.h"
#include "util/fileio.h"

TEST(fileio_replace_and_read_back)
{
	char dir[] = "/tmp/llmtap-fileio-XXXXXX", path[64], buf[64];
	struct stat st;
	long n;
	int fd;

	ASSERT_TRUE(mkdtemp(dir) != NULL);
	ASSERT_EQ(fileio_replace(dir, "state", "first\n", 6), 0);
	ASSERT_EQ(fileio_replace(dir, "state", "second\n", 7), 0);
	snprintf(path, sizeof(path), "%s/state", dir);
	ASSERT_EQ(stat(path, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600);
	fd = open(path, O_RDONLY);
	ASSERT_TRUE(fd >= 0);
	n = fileio_read_full(fd, buf, sizeof(buf));
	close(fd);
	ASSERT_EQ(n, 7);
	ASSERT_MEMEQ(buf, "second\n", 7);
	/* no temporary file is left beside it */
	unlink(strcat(strcpy(buf, dir), "/state"));
	ASSERT_EQ(rmdir(dir), 0);
	ASSERT_EQ(fileio_replace("/nonexistent-llmtap-dir", "x", "y", 1), -ENOENT);
	ASSERT_EQ(fileio_read_full(-1, buf, 4), -EBADF);
}

TEST(caps_drop_removes_from_effective)
{
	uint64_t before, after;

	ASSERT_EQ(caps_effective(&before), 0);
	/* CAP_AUDIT_READ is harmless to lose in a test process */
	ASSERT_EQ(caps_drop(CAPS_BIT(CAP_AUDIT_READ)), 0);
	ASSERT_EQ(caps_effective(&after), 0);
	ASSERT_UEQ(after & CAPS_BIT(CAP_AUDIT_READ), 0);
	ASSERT_UEQ(after, before & ~CAPS_BIT(CAP_AUDIT_READ));
}
