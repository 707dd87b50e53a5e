/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The systemd notification protocol without libsystemd: one datagram to
 * $NOTIFY_SOCKET (a path, or "@name" for an abstract socket), as
 * sd_notify(3) describes.  Every function is a no-op returning 0 when the
 * agent is not started by systemd (no NOTIFY_SOCKET), so callers need no
 * condition of their own.
 */
#ifndef LLMTAP_SD_NOTIFY_H
#define LLMTAP_SD_NOTIFY_H

#include <stdint.h>

/* Sends msg ("KEY=VALUE" lines) as one datagram.  1 sent, 0 no
 * NOTIFY_SOCKET, -EINVAL unusable address, else -errno of socket/sendmsg. */
int sd_notify_send(const char *msg);

/* READY=1: probes attached, outputs open (Type=notify start-up ends). */
int sd_notify_ready(void);
/* STOPPING=1: shutdown has begun (systemd stops waiting for readiness). */
int sd_notify_stopping(void);
/* WATCHDOG=1: the main loop is making progress (WatchdogSec=). */
int sd_notify_watchdog(void);
/* RELOADING=1 with MONOTONIC_USEC (systemd >= 253 Type=notify-reload waits
 * for it, older ones ignore it); send sd_notify_ready() when done. */
int sd_notify_reloading(void);
/* STATUS=<text> for `systemctl status`; text is cut at its first newline. */
int sd_notify_status(const char *text);

/*
 * The watchdog timeout systemd expects pings within: $WATCHDOG_USEC, if set,
 * valid and meant for this process ($WATCHDOG_PID absent or our pid).
 * Returns the timeout in microseconds, 0 when no watchdog is armed.
 * Ping at half of it (sd_watchdog_enabled(3)).
 */
uint64_t sd_notify_watchdog_usec(void);

#endif
