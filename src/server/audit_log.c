/* audit_log.c: the audit file itself. Records are appended whole or not at all: a failed or
 * short write (a full disk) is cut back to the end of the last whole record, so the chain
 * continues once space returns. Start-up reads only the tail (the last record's hash and
 * sequence number), so it costs the same for a small log and a huge one. Rotation moves the
 * file aside by size; the next file's first record chains from the previous file's head. */
#include "server/log.h"
#include "server/audit_int.h"
#include "server/server.h"

#include "core/digest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { TAIL_MAX = 16 << 20 };

/* The service hashes three times per request: the digest is fetched once, in core. */
const EVP_MD *srv_sha256(void)
{
    return hwj_md_sha256();
}

void srv_sha256_hex(const void *data, size_t len, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t h[32];
    unsigned hl = 0;
    if (!EVP_Digest(data, len, h, &hl, srv_sha256(), NULL))
        memset(h, 0, sizeof(h));
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[h[i] >> 4];
        out[2 * i + 1] = hex[h[i] & 15];
    }
    out[64] = '\0';
}

/* The offset of the last '\n' before `from`, at most `limit` bytes back; -1 if none, -2 on a
 * read error. */
static int64_t newline_before(int fd, int64_t from, int64_t limit)
{
    char buf[4096];
    int64_t stop = from - limit > 0 ? from - limit : 0;
    while (from > stop) {
        size_t n = from - stop < (int64_t)sizeof(buf) ? (size_t)(from - stop) : sizeof(buf);
        ssize_t r = pread(fd, buf, n, from - (int64_t)n);
        if (r != (ssize_t)n)
            return -2;
        for (size_t i = n; i > 0; i--)
            if (buf[i - 1] == '\n')
                return from - (int64_t)n + (int64_t)(i - 1);
        from -= (int64_t)n;
    }
    return -1;
}

/* The chain state from the last record at [start, end). */
static int read_last(audit_log *l, int64_t start, int64_t end, char *msg, size_t msglen)
{
    size_t len = (size_t)(end - start);
    char *line = malloc(len + 1);
    if (!line || pread(l->fd, line, len, start) != (ssize_t)len) {
        snprintf(msg, msglen, "audit log '%s': cannot read its last record", l->path);
        free(line);
        return -1;
    }
    srv_sha256_hex(line, len, l->head);
    json_t *o = json_loadb(line, len, 0, NULL);
    json_t *seq = json_object_get(o, "seq");
    /* A log written before records were numbered: numbering starts here. */
    l->seq =
        json_is_integer(seq) && json_integer_value(seq) > 0 ? (uint64_t)json_integer_value(seq) : 0;
    json_decref(o);
    free(line);
    return 0;
}

/* Is `name` a rotated file of `base` (base.<20 digits>, so such names sort by sequence)? */
static int is_rotated(const char *name, const char *base, size_t blen)
{
    return strncmp(name, base, blen) == 0 && name[blen] == '.' && strlen(name + blen + 1) == 20 &&
           strspn(name + blen + 1, "0123456789") == 20;
}

/* PATH's directory into dir (cap bytes) and its base name. */
static const char *split_path(const char *path, char *dir, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, cap, ".");
    else if (slash == path)
        snprintf(dir, cap, "/");
    else
        snprintf(dir, cap, "%.*s", (int)(slash - path), path);
    return slash ? slash + 1 : path;
}

/* An empty or absent PATH whose rotated files exist (a stop between a rotation's rename and the
 * new file, or a new file that could not be created): the chain continues from the newest one's
 * last record. 0 (l->head, l->seq set, or untouched when there is none), -1 (msg). */
static int continue_rotated(audit_log *l, char *msg, size_t msglen)
{
    char dir[4096], newest[512] = "", file[4096 + 512];
    const char *base = split_path(l->path, dir, sizeof(dir));
    size_t blen = strlen(base);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));)
        if (is_rotated(e->d_name, base, blen) && strlen(e->d_name) < sizeof(newest) &&
            strcmp(e->d_name, newest) > 0)
            snprintf(newest, sizeof(newest), "%s", e->d_name);
    closedir(d);
    if (!newest[0])
        return 0;
    snprintf(file, sizeof(file), "%s/%s", dir, newest);
    int fd = open(file, O_RDONLY | O_CLOEXEC), cur = l->fd, rc = -1;
    struct stat sb;
    if (fd >= 0 && fstat(fd, &sb) == 0) {
        int64_t last_nl = sb.st_size > 0 ? newline_before(fd, sb.st_size, TAIL_MAX) : -1;
        int64_t prev_nl = last_nl > 0 ? newline_before(fd, last_nl, TAIL_MAX) : -2;
        l->fd = fd;
        if (last_nl == sb.st_size - 1 && prev_nl != -2)
            rc = read_last(l, prev_nl + 1, last_nl, msg, msglen);
        l->fd = cur;
    }
    if (fd >= 0)
        close(fd);
    if (rc != 0) {
        snprintf(msg, msglen,
                 "audit log '%s' is empty and its newest rotated file '%s' does not end on a "
                 "whole record; check them with `hwjose audit verify`",
                 l->path, file);
        return -1;
    }
    srv_log(SRV_LOG_WARNING, NULL,
            "audit log '%s': empty; its chain continues from '%s' (seq %llu)", l->path, file,
            (unsigned long long)l->seq);
    return 0;
}

int alog_open(audit_log *l, const char *path, int do_fsync, int64_t max_bytes, unsigned keep,
              char *msg, size_t msglen)
{
    struct stat sb;
    memset(l, 0, sizeof(*l));
    l->fd = -1;
    l->fsync = do_fsync;
    l->max_bytes = max_bytes;
    l->keep = keep;
    memcpy(l->head, AUDIT_ZERO_HASH, 65);
    if (!(l->path = strdup(path))) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    l->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (l->fd < 0 || fstat(l->fd, &sb) != 0) {
        snprintf(msg, msglen, "audit log '%s': %s", path, strerror(errno));
        goto fail;
    }
    int64_t size = sb.st_size;
    int64_t last_nl = size > 0 ? newline_before(l->fd, size, TAIL_MAX) : -1;
    if (last_nl == -2 || (last_nl == -1 && size >= TAIL_MAX)) {
        snprintf(msg, msglen,
                 "audit log '%s': cannot find its last record in the last %d MiB; check it "
                 "with `hwjose audit verify`, then move it aside",
                 path, TAIL_MAX >> 20);
        goto fail;
    }
    int64_t end = last_nl + 1; /* after the last whole record; 0 when there is none */
    if (end < size) {
        /* A record cut off by a crash mid-write was never acknowledged: drop it. */
        if (ftruncate(l->fd, end) != 0) {
            snprintf(msg, msglen, "audit log '%s': cannot cut off an incomplete last record: %s",
                     path, strerror(errno));
            goto fail;
        }
        srv_log(SRV_LOG_WARNING, NULL,
                "audit log '%s': cut off an incomplete last record (%lld bytes, "
                "never acknowledged)",
                path, (long long)(size - end));
    }
    l->size = end;
    if (end > 0) {
        int64_t prev_nl = newline_before(l->fd, end - 1, TAIL_MAX);
        if (prev_nl == -2 || read_last(l, prev_nl + 1, end - 1, msg, msglen) != 0) {
            if (prev_nl == -2)
                snprintf(msg, msglen, "audit log '%s': cannot read its tail", path);
            goto fail;
        }
    } else if (continue_rotated(l, msg, msglen) != 0) {
        goto fail;
    }
    return 0;
fail:
    alog_close(l);
    return -1;
}

void alog_close(audit_log *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    free(l->path);
    l->path = NULL;
}

int alog_append(audit_log *l, const char *prefix, const char *members, size_t mlen)
{
    char stackbuf[4096], *line = stackbuf, seq[40];
    size_t plen = strlen(prefix);
    int rc = -1;
    if (l->fd < 0)
        return -1;
    int sl = snprintf(seq, sizeof(seq), ",\"seq\":%llu", (unsigned long long)(l->seq + 1));
    size_t len = plen + (size_t)sl + mlen + sizeof(",\"prev\":\"\"}\n") - 1 + 64;
    if (len + 1 > sizeof(stackbuf) && !(line = malloc(len + 1)))
        return -1;
    memcpy(line, prefix, plen);
    memcpy(line + plen, seq, (size_t)sl);
    memcpy(line + plen + sl, members, mlen);
    snprintf(line + plen + sl + mlen, len - plen - sl - mlen + 1, ",\"prev\":\"%s\"}\n", l->head);
    size_t off = 0;
    while (off < len) {
        ssize_t wr = write(l->fd, line + off, len - off);
        if (wr < 0 && errno == EINTR)
            continue;
        if (wr <= 0)
            goto out;
        off += (size_t)wr;
    }
    if (l->fsync && fdatasync(l->fd) != 0)
        goto out;
    srv_sha256_hex(line, len - 1, l->head);
    l->seq++;
    l->size += (int64_t)len;
    rc = 0;
out:
    /* Cut back to the last whole record. Should that fail too, the next append tries again
     * first: appending behind a torn record would break the chain for good. */
    if (rc != 0 && ftruncate(l->fd, l->size) != 0)
        srv_log(SRV_LOG_ERR, NULL, "audit log: cannot roll back a failed write: %s",
                strerror(errno));
    if (line != stackbuf)
        free(line);
    return rc;
}

int alog_rotate_due(const audit_log *l)
{
    return l->max_bytes > 0 && l->size >= l->max_bytes;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Unlink the oldest rotated files (PATH.<20 digits>, so names sort by sequence) beyond keep. */
static void prune(const audit_log *l)
{
    char dirpath[4096];
    const char *base = split_path(l->path, dirpath, sizeof(dirpath));
    size_t blen = strlen(base), n = 0, cap = 0;
    char **names = NULL;
    DIR *d = opendir(dirpath);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        if (!is_rotated(e->d_name, base, blen))
            continue;
        if (n == cap) {
            char **nn = realloc(names, (cap = cap ? 2 * cap : 16) * sizeof(*names));
            if (!nn)
                break;
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name)))
            break;
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof(*names), by_name);
    for (size_t i = 0; i < n; i++) {
        if (i + l->keep < n) {
            char p[4096 + 300];
            snprintf(p, sizeof(p), "%s/%s", dirpath, names[i]);
            unlink(p);
        }
        free(names[i]);
    }
    free(names);
}

int alog_rotate(audit_log *l)
{
    char moved[4096];
    snprintf(moved, sizeof(moved), "%s.%020llu", l->path, (unsigned long long)l->seq);
    if (fdatasync(l->fd) != 0 || rename(l->path, moved) != 0)
        return -1;
    int fd = open(l->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        /* Keep appending to the moved file rather than lose records. */
        srv_log(SRV_LOG_ERR, NULL, "audit log '%s': cannot start a new file: %s", l->path,
                strerror(errno));
        return -1;
    }
    /* The rename and the new file survive a power loss with the records after them. */
    const char *slash = strrchr(l->path, '/');
    char dirpath[4096];
    snprintf(dirpath, sizeof(dirpath), "%.*s", slash ? (int)(slash - l->path) + 1 : 1,
             slash ? l->path : ".");
    int dfd = open(dirpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    close(l->fd);
    l->fd = fd;
    l->size = 0;
    if (l->keep)
        prune(l);
    return 0;
}
