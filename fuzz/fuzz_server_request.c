/* fuzz_server_request: `hwjose serve` request handling (src/server/routes.c), from the
 * route down through auth, ACL, key state, body parsing and the operation itself, against
 * a fixed config of software keys (fuzz/server/config.json.in). srv_handle runs on a real
 * evhttp_request with no connection: libevent then frees the request when the handler
 * replies, so a handler that never replies shows up as a leak.
 *
 * Input: one flags byte (bit 0: POST, else GET; bit 1: send the valid bearer token; bit 2:
 * send a wrong one), the request path up to '\n', then the body. */
#include "common.h"
#include "server/server.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/http_struct.h>
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
    srv_state *st = NULL;
    char *in = fz_path("fuzz/server/config.json.in");
    char *data = fz_path("tests/data");
    FILE *f = fopen(in, "rb");
    int fd = mkstemp(tmpl);
    FILE *out = fd >= 0 ? fdopen(fd, "wb") : NULL;
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
    if (srv_state_build(ctx, cfg, NULL, &st, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "%s\n", msg);
        fz_die("keys", NULL);
    }
    srv_state_install(st);
    /* HWJ_FUZZ_AUDIT=FILE keeps the audit records, to see which inputs reach an operation. */
    const char *audit = getenv("HWJ_FUZZ_AUDIT");
    if (srv_audit_open(audit ? audit : "/dev/null", 0, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "%s\n", msg);
        fz_die("audit", NULL);
    }
    free(in);
    free(data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pthread_once(&once, init);
    if (size < 2)
        return 0;
    unsigned flags = data[0];
    const uint8_t *path = data + 1, *nl = memchr(path, '\n', size - 1);
    size_t plen = nl ? (size_t)(nl - path) : size - 1;
    const uint8_t *body = nl ? nl + 1 : data + size;
    size_t blen = (size_t)(data + size - body);
    if (plen == 0 || plen > 1024 || memchr(path, '\0', plen))
        return 0;
    struct evhttp_request *req = evhttp_request_new(NULL, NULL);
    if (!req)
        abort();
    req->kind = EVHTTP_REQUEST;
    req->type = (flags & 1) ? EVHTTP_REQ_POST : EVHTTP_REQ_GET;
    req->major = 1;
    req->minor = 1;
    if (!(req->uri = strndup((const char *)path, plen)))
        abort();
    /* As libevent's request-line parser: a URI it cannot parse never reaches the handler. */
    if (!(req->uri_elems = evhttp_uri_parse_with_flags(req->uri, EVHTTP_URI_NONCONFORMANT))) {
        evhttp_request_free(req);
        return 0;
    }
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    if (flags & 2)
        evhttp_add_header(h, "Authorization", "Bearer " FZ_TOKEN);
    else if (flags & 4)
        evhttp_add_header(h, "Authorization", "Bearer not-the-token");
    evbuffer_add(evhttp_request_get_input_buffer(req), body, blen);
    srv_handle(req, NULL); /* replies, which frees req (it has no connection) */
    return 0;
}
