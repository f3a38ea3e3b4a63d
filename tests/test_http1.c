/* test_http1: the service's HTTP/1.1 layer without sockets (src/server/http1.c) — request-head
 * parsing, the framing refusals that keep requests from being smuggled, pipelining,
 * "100 Continue", limits. The layer is driven with this test's own handler, which answers every
 * complete request 200 with what it was handed ("METHOD path body-length"); refusals go to the
 * API's own srv_reply_refused, whose JSON error codes are part of the contract. */
#include "server/server.h"
#include "testutil.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse `text` (a whole head) and return the status (0 = valid); `req` gets the result. */
static int parse(const char *text, srv_req *req, char **keep)
{
    size_t len = strlen(text);
    char *buf = malloc(len); /* exactly the head: ASan sees any read past it */
    assert_non_null(buf);
    memcpy(buf, text, len);
    *req = (srv_req){0};
    int st = srv_http_parse_head(buf, len, req);
    if (keep)
        *keep = buf;
    else
        free(buf);
    return st;
}

static void t_parse_valid(void **state)
{
    (void)state;
    srv_req r;
    char *buf;
    assert_int_equal(parse("\r\nPOST /v1/keys/k/jwt?x=1 HTTP/1.1\r\nHost: a\r\n"
                           "authorization:  Bearer t \r\nContent-Length: 12\r\n"
                           "content-length: 12\r\n\r\n",
                           &r, &buf),
                     0);
    assert_int_equal(r.method, SRV_METHOD_POST);
    assert_string_equal(srv_req_path(&r), "/v1/keys/k/jwt");
    assert_string_equal(srv_req_header(&r, "Authorization"), "Bearer t");
    assert_null(srv_req_header(&r, "If-None-Match"));
    assert_int_equal(r.content_length, 12);
    assert_int_equal(r.keep_alive, 1);
    free(buf);

    assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &r, NULL), 0);
    assert_int_equal(r.keep_alive, 0);
    assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r, NULL), 0);
    assert_int_equal(r.keep_alive, 1);
    assert_int_equal(parse("HEAD / HTTP/1.1\r\nHost: a\r\nConnection: te, close\r\n\r\n", &r, NULL),
                     0);
    assert_int_equal(r.method, SRV_METHOD_HEAD);
    assert_int_equal(r.keep_alive, 0);
    assert_int_equal(parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &r, NULL), 0);
    assert_int_equal(r.method, SRV_METHOD_OTHER);
    assert_int_equal(parse("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n\r\n", &r, NULL),
                     0);
    assert_int_equal(r.expect_continue, 1);
}

static void t_parse_refused(void **state)
{
    (void)state;
    static const struct {
        const char *head;
        int status;
    } cases[] = {
        {"GET / HTTP/1.1\nHost: a\r\n\r\n", 400},                 /* bare LF */
        {"GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", 400},         /* bare LF in a field */
        {"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400},    /* bare CR */
        {"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400}, /* obs-fold */
        {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},              /* space before the colon */
        {"GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n", 400},        /* empty name */
        {"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01\r\n\r\n", 400},   /* a control character */
        {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},              /* two spaces */
        {"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},       /* absolute-form */
        {"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400},              /* junk after the version */
        {"GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400},              /* not DIGIT.DIGIT */
        {"GET / HTTX/1.1\r\nHost: a\r\n\r\n", 400},               /* not HTTP */
        {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},               /* another major version */
        {"GET / HTTP/1.1\r\n\r\n", 400},                          /* no Host */
        {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},    /* two Hosts */
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1,1\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9999999999999999\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 411},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
         411},
        {"POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", 417},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        srv_req r;
        int st = parse(cases[i].head, &r, NULL);
        if (st != cases[i].status)
            fail_msg("case %zu: %d, want %d", i, st, cases[i].status);
    }
    /* a NUL in a value */
    srv_req r = {0};
    char nul[] = "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n";
    assert_int_equal(srv_http_parse_head(nul, sizeof(nul) - 1, &r), 400);

    /* limits: a target of 2049 bytes, 65 fields */
    char big[4096 + 2048] = {0};
    strcpy(big, "GET /");
    memset(big + 5, 'a', 2048);
    strcat(big, " HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_int_equal(parse(big, &r, NULL), 414);
    strcpy(big, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < SRV_HTTP_MAX_FIELDS; i++)
        strcat(big, "X: y\r\n");
    strcat(big, "\r\n");
    assert_int_equal(parse(big, &r, NULL), 431);
}

static void t_host_expect(void **state)
{
    (void)state;
    srv_req r;
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n", &r, NULL), 0);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", &r, NULL), 400);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: u@h/p\r\n\r\n", &r, NULL), 400);
    assert_int_equal(parse("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", &r, NULL), 400);
    /* HTTP/1.0 has no expectations: ignored, not 417 */
    assert_int_equal(parse("GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", &r, NULL), 0);
    assert_int_equal(r.expect_continue, 0);
    assert_int_equal(parse("GET / HTTP/1.0\r\nExpect: x\r\n\r\n", &r, NULL), 0);
}

static void t_head_end(void **state)
{
    (void)state;
    const char *t = "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET";
    size_t end = strlen(t) - 3;
    /* found whether the search starts at 0 or resumes just before the end */
    assert_int_equal(srv_http_head_end(t, strlen(t), 0), end);
    assert_int_equal(srv_http_head_end(t, strlen(t), end - 4), end);
    assert_int_equal(srv_http_head_end(t, end - 1, 0), 0);
    assert_int_equal(srv_http_head_end("\r\n\r\n", 4, 0), 0); /* empty lines are skipped */
    assert_int_equal(srv_http_head_end("GET / HTTP/1.1\nHost: a\n\n", 24, 0), SRV_HTTP_BARE_LF);
    assert_int_equal(srv_http_head_end("GET / HTTP/1.1\r\nHost: a\r\n", 25, 0), 0);
}

/* The test's handler: counts the requests it is handed and echoes each. */
static int handled;

static void echo(void *arg, srv_req *req)
{
    static const char *const names[] = {"GET", "HEAD", "POST", "OTHER"};
    char body[256];
    (void)arg;
    handled++;
    int n = snprintf(body, sizeof(body), "%s %s %zu", names[req->method], srv_req_path(req),
                     req->body_len);
    srv_piece p = {body, (size_t)n};
    assert_int_equal(srv_req_reply(req, 200, "OK", "text/plain", &p, 1), 0);
}

static atomic_size_t limit;
static const srv_http_handler handler = {
    .handle = echo, .refuse = srv_reply_refused, .max_body = &limit};

/* A fresh connection whose body limit is `max_body`. */
static srv_http_conn conn_with(size_t max_body)
{
    atomic_store(&limit, max_body);
    handled = 0;
    return (srv_http_conn){.handler = &handler};
}

/* A connection fed `text`; `h` keeps the state for further input. */
static void feed(srv_http_conn *h, const char *text, size_t len)
{
    h->in = realloc(h->in, h->in_len + len);
    assert_non_null(h->in);
    memcpy(h->in + h->in_len, text, len);
    h->in_len += len;
}

static size_t count(const srv_buf *b, const char *needle)
{
    size_t n = 0;
    for (const char *p = b->data;
         p && (p = memmem(p, b->len - (size_t)(p - b->data), needle, strlen(needle))) != NULL; p++)
        n++;
    return n;
}

static void done(srv_http_conn *h)
{
    free(h->in);
    srv_buf_free(&h->out);
}

static void t_serve_pipelined(void **state)
{
    (void)state;
    srv_http_conn h = conn_with(100);
    const char *two = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
                      "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}"
                      "HEAD /.well-known/jwks.json HT";
    feed(&h, two, strlen(two));
    assert_int_equal(srv_http_serve(&h), 2);
    assert_int_equal(count(&h.out, "HTTP/1.1 200 "), 2);
    assert_int_equal(handled, 2);
    assert_non_null(memmem(h.out.data, h.out.len, "GET /healthz 0", 14));
    assert_non_null(memmem(h.out.data, h.out.len, "POST /x 2", 9));
    assert_int_equal(h.closing, 0);
    assert_int_equal(h.in_len, strlen("HEAD /.well-known/jwks.json HT")); /* the rest waits */
    h.out.len = 0;
    feed(&h, "TP/1.1\r\nHost: a\r\n\r\n", 19);
    assert_int_equal(srv_http_serve(&h), 1);
    assert_int_equal(h.in_len, 0);
    /* HEAD: the length of the body it would have had, and no body */
    assert_non_null(memmem(h.out.data, h.out.len, "Content-Length: ", 16));
    assert_memory_equal(h.out.data + h.out.len - 4, "\r\n\r\n", 4);
    done(&h);
}

static void t_serve_continue(void **state)
{
    (void)state;
    srv_http_conn h = conn_with(100);
    const char *head = "POST /v1/keys/k/jwt HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                       "Content-Length: 4\r\n\r\n";
    feed(&h, head, strlen(head));
    assert_int_equal(srv_http_serve(&h), 0);
    assert_int_equal(h.out.len, strlen("HTTP/1.1 100 Continue\r\n\r\n"));
    feed(&h, "{}", 2);
    assert_int_equal(srv_http_serve(&h), 0); /* half the body: nothing more */
    assert_int_equal(count(&h.out, "100 Continue"), 1);
    feed(&h, "  ", 2);
    assert_int_equal(srv_http_serve(&h), 1);
    assert_int_equal(count(&h.out, "HTTP/1.1 200 "), 1);
    assert_non_null(memmem(h.out.data, h.out.len, "POST /v1/keys/k/jwt 4", 21));
    done(&h);
}

static void t_serve_refusals(void **state)
{
    (void)state;
    /* a body over the limit is refused from its head, unread, and the connection closes */
    srv_http_conn h = conn_with(100);
    const char *big = "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n";
    feed(&h, big, strlen(big));
    assert_int_equal(srv_http_serve(&h), 0);
    assert_int_equal(h.closing, 1);
    assert_non_null(memmem(h.out.data, h.out.len, "HTTP/1.1 413 ", 13));
    assert_non_null(memmem(h.out.data, h.out.len, "\"payload_too_large\"", 19));
    assert_non_null(memmem(h.out.data, h.out.len, "Connection: close\r\n", 19));
    done(&h);

    /* a head that never ends */
    h = conn_with(100);
    char *junk = malloc(SRV_HTTP_MAX_HEAD + 2);
    assert_non_null(junk);
    memset(junk, 'a', SRV_HTTP_MAX_HEAD + 2);
    feed(&h, "GET / HTTP/1.1\r\n", 16);
    assert_int_equal(srv_http_serve(&h), 0);
    assert_int_equal(h.closing, 0);
    feed(&h, junk, SRV_HTTP_MAX_HEAD);
    assert_int_equal(srv_http_serve(&h), 0);
    assert_int_equal(h.closing, 1);
    assert_non_null(memmem(h.out.data, h.out.len, "HTTP/1.1 431 ", 13));
    free(junk);
    done(&h);

    /* over the connection cap: 503 to the first request, then close */
    h = conn_with(100);
    h.over_cap = 1;
    feed(&h, "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n", 35);
    assert_int_equal(srv_http_serve(&h), 0);
    assert_int_equal(h.closing, 1);
    assert_non_null(memmem(h.out.data, h.out.len, "too_many_connections", 20));
    done(&h);

    /* a framing error after a good request: the good one is answered, then the refusal */
    h = conn_with(100);
    const char *two = "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nTransfer-Encoding: x\r\n"
                      "Host: a\r\n\r\n";
    feed(&h, two, strlen(two));
    assert_int_equal(srv_http_serve(&h), 1);
    assert_int_equal(h.closing, 1);
    assert_non_null(memmem(h.out.data, h.out.len, "HTTP/1.1 411 ", 13));
    assert_non_null(memmem(h.out.data, h.out.len, "\"length_required\"", 17));
    done(&h);
}

/* A client that pipelines without reading gets at most SRV_HTTP_OUT_MAX (+ one answer)
 * queued; the rest of its requests wait in `in` until the output is written. */
static void t_serve_output_cap(void **state)
{
    (void)state;
    srv_http_conn h = conn_with(100);
    const char *one = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n";
    size_t n = 2000;
    for (size_t i = 0; i < n; i++)
        feed(&h, one, strlen(one));
    size_t served = srv_http_serve(&h);
    assert_true(served > 0 && served < n);
    assert_int_equal(h.paused, 1);
    assert_true(h.out.len >= SRV_HTTP_OUT_MAX && h.out.len < SRV_HTTP_OUT_MAX + 1024);
    size_t total = served;
    while (h.paused) {
        h.out.len = 0; /* written */
        total += srv_http_serve(&h);
    }
    assert_int_equal(total, n);
    assert_int_equal(h.in_len, 0);
    done(&h);
}

/* A refused HEAD is answered without a body; a bare-LF head is refused at once. */
static void t_serve_refused_head(void **state)
{
    (void)state;
    srv_http_conn h = conn_with(10);
    const char *head = "HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n";
    feed(&h, head, strlen(head));
    assert_int_equal(srv_http_serve(&h), 0);
    assert_non_null(memmem(h.out.data, h.out.len, "HTTP/1.1 413 ", 13));
    assert_memory_equal(h.out.data + h.out.len - 4, "\r\n\r\n", 4);
    done(&h);
    h = conn_with(10);
    feed(&h, "GET / HTTP/1.1\nHost: a\n\n", 24);
    assert_int_equal(srv_http_serve(&h), 0);
    assert_int_equal(h.closing, 1);
    assert_non_null(memmem(h.out.data, h.out.len, "HTTP/1.1 400 ", 13));
    done(&h);
}

/* The body limit is the caller's and is read for every request head: a change (a reload)
 * applies to the next request on the same connection; a refused request never reaches the
 * handler. */
static void t_serve_limit_from_caller(void **state)
{
    (void)state;
    srv_http_conn h = conn_with(4);
    const char *req = "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 8\r\n\r\n12345678";
    atomic_store(&limit, 8);
    feed(&h, req, strlen(req));
    assert_int_equal(srv_http_serve(&h), 1);
    assert_int_equal(handled, 1);
    atomic_store(&limit, 7);
    feed(&h, req, strlen(req));
    assert_int_equal(srv_http_serve(&h), 0);
    assert_int_equal(handled, 1);
    assert_int_equal(h.closing, 1);
    assert_non_null(memmem(h.out.data, h.out.len, "HTTP/1.1 413 ", 13));
    done(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_parse_valid),        cmocka_unit_test(t_parse_refused),
        cmocka_unit_test(t_head_end),           cmocka_unit_test(t_serve_pipelined),
        cmocka_unit_test(t_serve_continue),     cmocka_unit_test(t_serve_refusals),
        cmocka_unit_test(t_host_expect),        cmocka_unit_test(t_serve_output_cap),
        cmocka_unit_test(t_serve_refused_head), cmocka_unit_test(t_serve_limit_from_caller),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
