/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Giving up capabilities once they are no longer needed (no libcap: two
 * system calls).  Capabilities are bits of CAP_* numbers (linux/capability.h).
 */
#ifndef LLMTAP_CAPS_H
#define LLMTAP_CAPS_H

#include <stdint.h>

#define CAPS_BIT(cap) (UINT64_C(1) << (cap))

/* The effective set.  0 with *out set, or -errno. */
int caps_effective(uint64_t *out);
/* Removes mask from the effective, permitted and inheritable sets of the
 * calling thread's process; they cannot come back (no exec regains them
 * under NoNewPrivileges).  0 or -errno. */
int caps_drop(uint64_t mask);

#endif
