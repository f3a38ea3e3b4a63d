/* audit.c: the tamper-evident audit log. One JSON line per sign, decrypt and
 * denial; each carries "prev", the SHA-256 of the previous line, so removing,
 * inserting or editing a record breaks the chain at the next one. A record is on
 * disk (flushed, and fsync'd unless configured off) before the response leaves.
 * After a restart the chain continues from the hash of the file's last line. */
#include "server/server.h"

#include "core/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t audit_lock = PTHREAD_MUTEX_INITIALIZER;
static int audit_fd = -1;
static int audit_fsync = 1;
static char audit_prev[65];

static const char zero_hash[] = "0000000000000000000000000000000000000000000000000000000000000000";

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

/* Read the whole file; NULL on error. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (!f)
        return NULL;
    for (;;) {
        if (n + 65536 + 1 > cap) {
            char *nb = realloc(buf, cap = (n + 65536 + 1) * 2);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

int srv_audit_open(const char *path, int do_fsync, char *msg, size_t msglen)
{
    size_t len = 0;
    char *text = NULL;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(msg, msglen, "audit log '%s': %s", path, strerror(errno));
        return -1;
    }
    if (!(text = slurp(path, &len))) {
        snprintf(msg, msglen, "audit log '%s': cannot read it back: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (len > 0 && text[len - 1] != '\n') {
        snprintf(msg, msglen,
                 "audit log '%s': the last record is incomplete (a crash mid-write?); check it "
                 "with `hwjose audit verify`, then move the file aside",
                 path);
        free(text);
        close(fd);
        return -1;
    }
    if (len == 0) {
        memcpy(audit_prev, zero_hash, 65);
    } else {
        size_t end = len - 1, start = end;
        while (start > 0 && text[start - 1] != '\n')
            start--;
        srv_sha256_hex(text + start, end - start, audit_prev);
    }
    free(text);
    audit_fd = fd;
    audit_fsync = do_fsync;
    return 0;
}

void srv_audit_close(void)
{
    if (audit_fd >= 0)
        close(audit_fd);
    audit_fd = -1;
}

static void now_rfc3339(char out[40])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 40 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* Append `v` to buf[*n..cap) as a JSON string (or null), escaped as Jansson would: quote,
 * backslash and control characters. 0 if it does not fit. */
static int put_str(char *buf, size_t cap, size_t *n, const char *name, const char *v)
{
    static const char hex[] = "0123456789abcdef";
    int w = snprintf(buf + *n, cap - *n, ",\"%s\":", name);
    if (w < 0 || (size_t)w >= cap - *n)
        return 0;
    *n += (size_t)w;
    if (!v) {
        if (cap - *n <= 4)
            return 0;
        memcpy(buf + *n, "null", 4);
        *n += 4;
        return 1;
    }
    if (cap - *n < 2)
        return 0;
    buf[(*n)++] = '"';
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (cap - *n < 8)
            return 0;
        if (*p == '"' || *p == '\\') {
            buf[(*n)++] = '\\';
            buf[(*n)++] = (char)*p;
        } else if (*p < 0x20) {
            memcpy(buf + *n, "\\u00", 4);
            buf[*n + 4] = hex[*p >> 4];
            buf[*n + 5] = hex[*p & 15];
            *n += 6;
        } else {
            buf[(*n)++] = (char)*p;
        }
    }
    buf[(*n)++] = '"';
    return 1;
}

/* The record is formatted into a stack buffer (no JSON objects, no allocation: this runs
 * once per request) and appended with one write(), so concurrent writers never interleave. */
int srv_audit_record(const char *client, const char *key, const char *kid, const char *alg,
                     const char *op, const uint8_t *payload, size_t payload_len, const char *result)
{
    char ts[40], ph[65], stackbuf[4096], *line = stackbuf;
    size_t n = 0, cap = sizeof(stackbuf), need = 512;
    int rc = -1;
    /* Worst case: every byte of a name escaped as \u00XX. Long names take the heap. */
    const char *fields[] = {client, key, kid, alg, op, result};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        need += fields[i] ? 6 * strlen(fields[i]) : 0;
    if (need > cap && !(line = malloc(cap = need)))
        return -1;
    now_rfc3339(ts);
    if (payload)
        srv_sha256_hex(payload, payload_len, ph);
    /* Members in the order verifiers and readers have always seen: time first, prev last. */
    int w = snprintf(line, cap, "{\"time\":\"%s\"", ts);
    if (w < 0 || (size_t)w >= cap)
        goto done;
    n = (size_t)w;
    if (!put_str(line, cap, &n, "client", client) || !put_str(line, cap, &n, "op", op) ||
        !put_str(line, cap, &n, "key", key) || !put_str(line, cap, &n, "kid", kid) ||
        !put_str(line, cap, &n, "alg", alg) ||
        !put_str(line, cap, &n, "payload_sha256", payload ? ph : NULL) ||
        !put_str(line, cap, &n, "result", result))
        goto done;
    pthread_mutex_lock(&audit_lock);
    size_t len = n;
    if (audit_fd < 0 || !put_str(line, cap, &len, "prev", audit_prev) || cap - len < 3)
        goto out;
    line[len++] = '}';
    line[len] = '\n'; /* written as one append with the record */
    size_t off = 0;
    while (off < len + 1) {
        ssize_t wr = write(audit_fd, line + off, len + 1 - off);
        if (wr < 0 && errno == EINTR)
            continue;
        if (wr <= 0)
            goto out;
        off += (size_t)wr;
    }
    if (audit_fsync && fdatasync(audit_fd) != 0)
        goto out;
    srv_sha256_hex(line, len, audit_prev);
    rc = 0;
out:
    pthread_mutex_unlock(&audit_lock);
done:
    srv_metrics_audit_write(rc == 0);
    if (line != stackbuf)
        free(line);
    return rc;
}

int srv_audit_verify(const char *path, size_t *records, size_t *bad_line, char head[65], char *msg,
                     size_t msglen)
{
    size_t len = 0, lineno = 0;
    char prev[65];
    char *text = slurp(path, &len);
    *records = 0;
    *bad_line = 0;
    if (!text) {
        snprintf(msg, msglen, "cannot read '%s': %s", path, strerror(errno));
        return -1;
    }
    memcpy(prev, zero_hash, 65);
    int rc = 0;
    for (size_t start = 0; start < len;) {
        char *nl = memchr(text + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - text) : len;
        lineno++;
        json_error_t jerr;
        json_t *o = json_loadb(text + start, end - start, JSON_REJECT_DUPLICATES, &jerr);
        const char *p = o ? json_string_value(json_object_get(o, "prev")) : NULL;
        if (!nl) {
            snprintf(msg, msglen, "record %zu: incomplete (no newline)", lineno);
            rc = 1;
        } else if (!o) {
            snprintf(msg, msglen, "record %zu: not JSON (%s)", lineno, jerr.text);
            rc = 1;
        } else if (!p) {
            snprintf(msg, msglen, "record %zu: no \"prev\" member", lineno);
            rc = 1;
        } else if (strcmp(p, prev) != 0) {
            snprintf(msg, msglen,
                     lineno == 1 ? "record %zu: the first record's prev is not the zero hash "
                                   "(records were removed from the start?)"
                                 : "record %zu: prev does not match the hash of record %zu "
                                   "(record %zu was altered, or records were removed or "
                                   "inserted between them)",
                     lineno, lineno - 1, lineno - 1);
            rc = 1;
        }
        json_decref(o);
        if (rc) {
            *bad_line = lineno;
            break;
        }
        srv_sha256_hex(text + start, end - start, prev);
        *records = lineno;
        start = end + 1;
    }
    memcpy(head, prev, 65);
    free(text);
    return rc;
}
