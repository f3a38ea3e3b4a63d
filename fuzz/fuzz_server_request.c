/* fuzz_server_request: `hwjose serve` request handling — the HTTP/1.1 layer
 * (src/server/http1.c: head parsing, framing, pipelining, refusals) and the routes
 * (src/server/routes.c) from there down through auth, ACL, key state, body parsing and the
 * operation itself — against a fixed config of software keys (fuzz/server/config.json.in).
 * The bytes go through srv_http_serve as a connection's input would; every answered request
 * must have produced a whole response, and whatever it left must be a prefix of a request.
 *
 * Input: one flags byte, then
 *   bit 3 set: the raw bytes a client sent on one connection;
 *   else: the request path up to '\n', then the body, sent as one HTTP/1.1 request (bit 0:
 *   POST, else GET; bit 1: the valid bearer token; bit 2: a wrong one) — the seed format. */
#include "common.h"
#include "server/log.h"
#include "server/server.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FZ_TOKEN "fuzz-token-0123456789"

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init(void)
{
    char msg[512] = "", tmpl[] = "/tmp/hwj-fuzz-config-XXXXXX";
    hwj_error err = {0};
    hwj_ctx *ctx = NULL;
    srv_config *cfg = NULL;
    char *in = fz_path("fuzz/server/config.json.in");
    char *data = fz_path("tests/data");
    FILE *f = fopen(in, "rb");
    int fd = mkstemp(tmpl);
    FILE *out = fd >= 0 ? fdopen(fd, "wb") : NULL;
    srv_log_set_access(0); /* an access line per input would dominate the run */
    int c;
    if (!f || !out)
        fz_die("config template", NULL);
    /* @DATA@ → tests/data, so the config names the fixed keys wherever the tree is. */
    while ((c = fgetc(f)) != EOF) {
        if (c == '@') {
            char word[5] = {0};
            if (fread(word, 1, 5, f) != 5 || memcmp(word, "DATA@", 5) != 0)
                fz_die("config template: bad @ marker", NULL);
            fputs(data, out);
        } else {
            fputc(c, out);
        }
    }
    fclose(f);
    if (fclose(out) != 0)
        fz_die("config template: write", NULL);
    if (srv_config_load(tmpl, &cfg, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "%s\n", msg);
        fz_die("config", NULL);
    }
    unlink(tmpl);
    if (hwj_ctx_new(&ctx, &err) != HWJ_OK)
        fz_die("context", &err);
    /* The key versions live in a scratch SQLite store (each key's uri imported as version 1). */
    char db[] = "/tmp/hwj-fuzz-store-XXXXXX";
    int dfd = mkstemp(db);
    if (dfd < 0)
        fz_die("store file", NULL);
    close(dfd);
    free(cfg->store_url);
    if (!(cfg->store_url = malloc(strlen(db) + 8)))
        fz_die("out of memory", NULL);
    sprintf(cfg->store_url, "sqlite:%s", db);
    if (srv_versions_start(ctx, cfg, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "%s\n", msg);
        fz_die("keys", NULL);
    }
    unlink(db);
    /* HWJ_FUZZ_AUDIT=FILE keeps the audit records, to see which inputs reach an operation. */
    const char *audit = getenv("HWJ_FUZZ_AUDIT");
    free(cfg->audit_path);
    if (!(cfg->audit_path = strdup(audit ? audit : "/dev/null")))
        fz_die("out of memory", NULL);
    cfg->audit_fsync = 0;
    if (srv_audit_open(ctx, cfg, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "%s\n", msg);
        fz_die("audit", NULL);
    }
    free(in);
    free(data);
}

/* The bytes of one request in the seed format. */
static char *seed_request(unsigned flags, const uint8_t *p, size_t size, size_t *len)
{
    const uint8_t *nl = memchr(p, '\n', size);
    size_t plen = nl ? (size_t)(nl - p) : size;
    const uint8_t *body = nl ? nl + 1 : p + size;
    size_t blen = (size_t)(p + size - body);
    if (plen == 0 || plen > 1024 || memchr(p, '\0', plen) || memchr(p, '\r', plen) ||
        memchr(p, ' ', plen))
        return NULL;
    char head[1400];
    int n = snprintf(head, sizeof(head),
                     "%s %.*s HTTP/1.1\r\nHost: fuzz\r\n%s%sContent-Length: %zu\r\n\r\n",
                     (flags & 1) ? "POST" : "GET", (int)plen, (const char *)p,
                     (flags & 2)   ? "Authorization: Bearer " FZ_TOKEN "\r\n"
                     : (flags & 4) ? "Authorization: Bearer not-the-token\r\n"
                                   : "",
                     (flags & 1) ? "Content-Type: application/json\r\n" : "", blen);
    char *req = malloc((size_t)n + blen + 1);
    if (!req)
        abort();
    memcpy(req, head, (size_t)n);
    memcpy(req + n, body, blen);
    *len = (size_t)n + blen;
    return req;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pthread_once(&once, init);
    if (size < 2)
        return 0;
    unsigned flags = data[0];
    size_t len = size - 1;
    char *in = NULL;
    if (flags & 8) {
        if (!(in = malloc(len)))
            abort();
        memcpy(in, data + 1, len);
    } else if (!(in = seed_request(flags, data + 1, size - 1, &len))) {
        return 0;
    }
    static atomic_size_t max_body = 65536;
    static const srv_http_handler api = {
        .handle = srv_handle, .refuse = srv_reply_refused, .max_body = &max_body};
    srv_http_conn h = {.handler = &api, .in = in, .in_len = len};
    size_t served = srv_http_serve(&h);
    /* Every answer, refusals included, starts with a status line; a request left unanswered
     * is one whose head or body has not all arrived, and only then is nothing queued. */
    if ((served || h.closing) && (h.out.len < 12 || memcmp(h.out.data, "HTTP/1.1 ", 9) != 0))
        abort();
    if (!served && !h.closing && h.out.len && !h.sent_continue)
        abort();
    srv_buf_free(&h.out);
    free(in);
    return 0;
}
