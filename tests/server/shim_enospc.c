/* shim_enospc.c: LD_PRELOAD into `hwjose serve` to fill its disk on demand. While the file
 * $HWJ_ENOSPC_TRIGGER exists, writes to a file whose path ends in $HWJ_ENOSPC_PATH are cut
 * short (half the bytes written) and the next one fails with ENOSPC — a record torn mid-way
 * by a full disk. Removing the trigger frees the "space". */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int targeted(int fd)
{
    const char *trigger = getenv("HWJ_ENOSPC_TRIGGER"), *path = getenv("HWJ_ENOSPC_PATH");
    char link[64], target[PATH_MAX];
    if (!trigger || !path || access(trigger, F_OK) != 0)
        return 0;
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n <= 0)
        return 0;
    target[n] = '\0';
    size_t pl = strlen(path);
    return (size_t)n >= pl && strcmp(target + n - pl, path) == 0;
}

ssize_t write(int fd, const void *buf, size_t count)
{
    static ssize_t (*real)(int, const void *, size_t);
    static __thread int torn;
    if (!real)
        real = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    if (count > 1 && targeted(fd)) {
        if (torn) {
            torn = 0;
            errno = ENOSPC;
            return -1;
        }
        torn = 1;
        return real(fd, buf, count / 2);
    }
    return real(fd, buf, count);
}
