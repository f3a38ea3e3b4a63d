/* notify.c: systemd's readiness protocol (sd_notify(3)) for Type=notify and Type=notify-reload:
 * a datagram of KEY=value lines to the socket named by $NOTIFY_SOCKET ("@..." is an abstract
 * name). A documented stable interface, spoken here directly rather than through libsystemd;
 * without $NOTIFY_SOCKET every call does nothing. */
#include "server/notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

void srv_notify(const char *fmt, ...)
{
    const char *path = getenv("NOTIFY_SOCKET");
    char msg[512];
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t plen = path ? strlen(path) : 0;
    if (plen < 2 || plen >= sizeof(sa.sun_path) || (path[0] != '/' && path[0] != '@'))
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(msg))
        return;
    memcpy(sa.sun_path, path, plen);
    if (path[0] == '@')
        sa.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    (void)sendto(fd, msg, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&sa,
                 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen));
    close(fd);
}

void srv_notify_reloading(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    srv_notify("RELOADING=1\nSTATUS=reloading the config\nMONOTONIC_USEC=%llu",
               (unsigned long long)ts.tv_sec * 1000000ULL +
                   (unsigned long long)ts.tv_nsec / 1000ULL);
}
