/* log.c: the service's log. Every record is one JSON line on stderr ({"time","level","msg",
 * "request_id", ...}) — one write(2), so threads never interleave within a line, and Jansson
 * escapes control characters, so nothing a client sends can forge a line. Under systemd, with
 * stderr connected to the journal, records go to journald's native socket instead, as fields
 * (MESSAGE, PRIORITY, REQUEST_ID, ...) that `journalctl -o json` and filters like
 * `journalctl REQUEST_ID=...` read. The protocol is systemd's documented stable interface
 * (systemd.journal-fields(7), "Native Journal Protocol"), so libsystemd is not needed. */
#include "server/log.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int g_journal = -1; /* datagram socket to journald, or -1: JSON lines on stderr */
static atomic_int g_access = 1;

static const char *level_name(srv_log_level level)
{
    switch (level) {
    case SRV_LOG_ERR: return "error";
    case SRV_LOG_WARNING: return "warning";
    case SRV_LOG_NOTICE: return "notice";
    default: return "info";
    }
}

void srv_log_init(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    if (g_journal >= 0 || !js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
        fstat(STDERR_FILENO, &st) != 0 || (unsigned long long)st.st_dev != dev ||
        (unsigned long long)st.st_ino != ino)
        return;
    struct sockaddr_un sa = {.sun_family = AF_UNIX, .sun_path = "/run/systemd/journal/socket"};
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        g_journal = fd;
    else if (fd >= 0)
        close(fd);
}

void srv_log_set_access(int on)
{
    atomic_store_explicit(&g_access, on != 0, memory_order_relaxed);
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* nowhere left to report it */
        p += w;
        n -= (size_t)w;
    }
}

/* One journal field: KEY=value, or (a value with a newline) KEY\n, its 64-bit little-endian
 * length and the bytes. Names are upper-cased; anything but [A-Z0-9_] becomes '_'. */
static int put_field(FILE *f, const char *key, const char *value)
{
    for (const char *k = key; *k; k++)
        fputc(isalnum((unsigned char)*k) ? toupper((unsigned char)*k) : '_', f);
    size_t n = strlen(value);
    if (!memchr(value, '\n', n))
        return fprintf(f, "=%s\n", value) < 0 ? -1 : 0;
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)((uint64_t)n >> (8 * i));
    fputc('\n', f);
    fwrite(le, 1, 8, f);
    fwrite(value, 1, n, f);
    return fputc('\n', f) == EOF ? -1 : 0;
}

/* 0 when journald took the record. */
static int send_journal(json_t *rec, srv_log_level level)
{
    char *buf = NULL, num[32];
    size_t len = 0;
    const char *key;
    json_t *v;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return -1;
    snprintf(num, sizeof(num), "%d", (int)level);
    put_field(f, "PRIORITY", num);
    put_field(f, "SYSLOG_IDENTIFIER", "hwjose");
    json_object_foreach(rec, key, v)
    {
        char *text = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY);
        if (strcmp(key, "time") != 0 && strcmp(key, "level") != 0)
            put_field(f, strcmp(key, "msg") == 0 ? "MESSAGE" : key,
                      text ? text : json_string_value(v));
        free(text);
    }
    int rc = fclose(f);
    if (rc == 0 && send(g_journal, buf, len, MSG_NOSIGNAL) != (ssize_t)len)
        rc = -1;
    free(buf);
    return rc;
}

void srv_log_fields(srv_log_level level, const srv_req *req, json_t *fields, const char *msg)
{
    char ts[40];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof(ts) - n, ".%03ldZ", now.tv_nsec / 1000000);

    json_t *rec = json_pack("{s:s,s:s,s:s}", "time", ts, "level", level_name(level), "msg", msg);
    if (rec && req && req->id[0])
        json_object_set_new(rec, "request_id", json_string(req->id));
    const char *key;
    json_t *v;
    if (rec && fields)
        json_object_foreach(fields, key, v)
        {
            json_object_set(rec, key, v);
        }
    json_decref(fields);
    if (rec && g_journal >= 0 && send_journal(rec, level) == 0) {
        json_decref(rec);
        return;
    }
    char *line = rec ? json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(rec);
    if (!line) {
        static const char oom[] = "{\"level\":\"error\",\"msg\":\"out of memory while logging\"}\n";
        write_all(STDERR_FILENO, oom, sizeof(oom) - 1);
        return;
    }
    size_t len = strlen(line);
    char *nl = realloc(line, len + 2);
    if (nl) {
        line = nl;
        line[len++] = '\n';
        line[len] = '\0';
    }
    write_all(STDERR_FILENO, line, len);
    free(line);
}

void srv_log(srv_log_level level, const srv_req *req, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    srv_log_fields(level, req, NULL, msg);
}

void srv_log_access(const srv_req *req, const char *route, int status, const char *client,
                    const char *key, double seconds)
{
    static const char *const methods[] = {[SRV_METHOD_GET] = "GET",
                                          [SRV_METHOD_HEAD] = "HEAD",
                                          [SRV_METHOD_POST] = "POST",
                                          [SRV_METHOD_OTHER] = "OTHER"};
    if (!atomic_load_explicit(&g_access, memory_order_relaxed))
        return;
    const char *method = methods[req->method];
    char msg[160];
    snprintf(msg, sizeof(msg), "%s %s %d", method, route, status);
    json_t *f =
        json_pack("{s:s,s:s,s:s,s:i,s:s?,s:s?,s:s,s:f}", "log", "access", "method", method, "route",
                  route, "status", status, "client", client, "key", key, "peer",
                  req->peer ? req->peer : "-", "duration_ms", seconds > 0 ? seconds * 1000.0 : 0.0);
    srv_log_fields(SRV_LOG_INFO, req, f, msg);
}
