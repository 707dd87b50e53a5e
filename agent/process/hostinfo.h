/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The host's identity for records: host.name (the UTS node name) and
 * host.id (the systemd machine-id), read once when the agent starts.
 */
#ifndef LLMTAP_HOSTINFO_H
#define LLMTAP_HOSTINFO_H

#include <stddef.h>

#define HOSTINFO_ID_LEN 32 /* machine-id: 128 bits in lower-case hex */

struct hostinfo {
	char name[65]; /* "" when unknown */
	char id[HOSTINFO_ID_LEN + 1]; /* "" when no valid machine-id exists */
};

/* Fills h from uname(2) and the first valid machine-id of paths (NULL:
 * /etc/machine-id, then /var/lib/dbus/machine-id).  Missing or malformed
 * files leave h->id empty.  Never fails. */
void hostinfo_read(struct hostinfo *h, const char *const *paths);
/* Copies a machine-id file's content (len bytes) into out if it is exactly
 * 32 lower-case hex digits, optionally followed by one newline.  Returns 0,
 * or -EINVAL (out is then ""). */
int hostinfo_parse_machine_id(const char *buf, size_t len, char out[HOSTINFO_ID_LEN + 1]);

#endif
