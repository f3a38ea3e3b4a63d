/* notify.h: telling systemd where the service is (notify.c). */
#ifndef HWJ_SERVER_NOTIFY_H
#define HWJ_SERVER_NOTIFY_H

#include <hwjose/common.h>

/* Send one notification ("READY=1\nSTATUS=...") to $NOTIFY_SOCKET, if set; best effort. */
void srv_notify(const char *fmt, ...) HWJ_PRINTF(1, 2);
/* "RELOADING=1" with the MONOTONIC_USEC that Type=notify-reload requires; READY=1 follows once
 * the reload is applied or rejected. */
void srv_notify_reloading(void);

#endif
