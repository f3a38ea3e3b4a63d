/* test_jwks_cache.c: the remote JWKS cache against a real HTTP server on loopback
 * (tests/jwks_server.py, whose answers each test sets). Time is the injected clock, so
 * lifetimes, cooldowns and stale windows are tested without sleeping. */
#include "testutil.h"

#include "core/b64url.h"

#include <hwjose/jwks_cache.h>

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- the injected clock ------------------------------------------------- */

static _Atomic int64_t g_now = 1700000000;

static int64_t test_clock(void *arg)
{
    (void)arg;
    return atomic_load(&g_now);
}

static void advance(int64_t s)
{
    atomic_fetch_add(&g_now, s);
}

/* ---- the server --------------------------------------------------------- */

typedef struct server {
    pid_t pid;
    int port;
    char base[64];
    char url[96];
    const char *cert; /* HTTPS with this certificate (and its key) when set */
    const char *key;
} server;

static void server_start(server *s)
{
    char portfile[4096];
    static int seq;
    snprintf(portfile, sizeof(portfile), "%s/jwks_server.%d.%d.port", tu_state_dir(), (int)getpid(),
             seq++);
    unlink(portfile);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        if (s->cert != NULL)
            execlp("python3", "python3", HWJ_SOURCE_DIR "/tests/jwks_server.py", "--port-file",
                   portfile, "--tls-cert", s->cert, "--tls-key", s->key, (char *)NULL);
        else
            execlp("python3", "python3", HWJ_SOURCE_DIR "/tests/jwks_server.py", "--port-file",
                   portfile, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) { /* up to 5 s */
        FILE *f = fopen(portfile, "r");
        if (f != NULL) {
            int ok = fscanf(f, "%d", &s->port) == 1;
            fclose(f);
            if (ok)
                break;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    unlink(portfile);
    if (s->port <= 0)
        fail_msg("jwks_server.py did not start");
    snprintf(s->base, sizeof(s->base), "%s://127.0.0.1:%d", s->cert ? "https" : "http", s->port);
    snprintf(s->url, sizeof(s->url), "%s/jwks.json", s->base);
}

static void server_stop(server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
    char **out = ud;
    size_t have = *out ? strlen(*out) : 0;
    char *q = realloc(*out, have + size * n + 1);
    assert_non_null(q);
    memcpy(q + have, p, size * n);
    q[have + size * n] = '\0';
    *out = q;
    return size * n;
}

/* POST `json` to a control endpoint (NULL: GET); returns the body. */
static char *server_call(const server *s, const char *path, const char *json)
{
    char url[128], *out = NULL;
    long status = 0;
    CURL *h = curl_easy_init();
    assert_non_null(h);
    snprintf(url, sizeof(url), "%s%s", s->base, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    if (s->cert != NULL)
        curl_easy_setopt(h, CURLOPT_CAINFO, s->cert);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
    if (json != NULL)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    assert_int_equal(status, 200);
    curl_easy_cleanup(h);
    return out;
}

static void server_set(const server *s, json_t *state /* stolen */)
{
    char *j = json_dumps(state, JSON_COMPACT);
    json_decref(state);
    free(server_call(s, "/_control", j));
    free(j);
}

static json_t *server_stats(const server *s)
{
    char *body = server_call(s, "/_stats", NULL);
    json_t *j = json_loads(body, 0, NULL);
    free(body);
    assert_non_null(j);
    return j;
}

static int server_requests(const server *s)
{
    json_t *j = server_stats(s);
    int n = (int)json_integer_value(json_object_get(j, "requests"));
    json_decref(j);
    return n;
}

/* ---- keys and tokens ---------------------------------------------------- */

typedef struct fixture {
    server srv;
    hwj_ctx *ctx;
    hwj_key *k1, *k2;  /* P-256, P-384 */
    char *jwk1, *jwk2; /* public JWKs */
    char *set1, *set12, *set2;
} fixture;

static hwj_key *open_key(hwj_ctx *ctx, const char *file)
{
    char uri[4096];
    hwj_key *k = NULL;
    hwj_error err;
    snprintf(uri, sizeof(uri), "file:%s/%s", HWJ_TEST_DATA_DIR, file);
    tu_ok(hwj_key_open(ctx, uri, NULL, &k, &err), &err);
    return k;
}

static char *jwks_of(const char *a, const char *b)
{
    char *s = malloc(strlen(a) + (b ? strlen(b) : 0) + 16);
    assert_non_null(s);
    sprintf(s, "{\"keys\":[%s%s%s]}", a, b ? "," : "", b ? b : "");
    return s;
}

/* A compact JWS signed with `key` under its kid (or `kid`), built by hand so the test
 * does not depend on the signing code it is not testing. */
static char *make_jws(hwj_key *key, const char *kid, const char *payload)
{
    hwj_alg alg = hwj_key_default_alg(key);
    char hdr[512], *out;
    uint8_t sig[HWJ_SIG_MAX];
    size_t siglen = sizeof(sig);
    hwj_error err;
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"%s\"}", hwj_alg_name(alg),
             kid ? kid : hwj_key_get0_kid(key));
    char *h64 = NULL, *p64 = NULL, *s64 = NULL;
    tu_ok(hwj_b64url_encode((const uint8_t *)hdr, strlen(hdr), &h64, &err), &err);
    tu_ok(hwj_b64url_encode((const uint8_t *)payload, strlen(payload), &p64, &err), &err);
    char *input = malloc(strlen(h64) + strlen(p64) + 2);
    assert_non_null(input);
    sprintf(input, "%s.%s", h64, p64);
    tu_ok(hwj_key_sign(key, alg, (const uint8_t *)input, strlen(input), sig, &siglen, &err), &err);
    tu_ok(hwj_b64url_encode(sig, siglen, &s64, &err), &err);
    out = malloc(strlen(input) + strlen(s64) + 2);
    assert_non_null(out);
    sprintf(out, "%s.%s", input, s64);
    free(input);
    hwj_free(h64);
    hwj_free(p64);
    hwj_free(s64);
    return out;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    hwj_error err;
    assert_non_null(f);
    tu_ok(hwj_ctx_new(&f->ctx, &err), &err);
    f->k1 = open_key(f->ctx, "soft-p256.pem");
    f->k2 = open_key(f->ctx, "soft-p384.pem");
    tu_ok(hwj_key_public_jwk(f->k1, &f->jwk1, &err), &err);
    tu_ok(hwj_key_public_jwk(f->k2, &f->jwk2, &err), &err);
    f->set1 = jwks_of(f->jwk1, NULL);
    f->set2 = jwks_of(f->jwk2, NULL);
    f->set12 = jwks_of(f->jwk1, f->jwk2);
    server_start(&f->srv);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    server_stop(&f->srv);
    free(f->set1);
    free(f->set2);
    free(f->set12);
    hwj_free(f->jwk1);
    hwj_free(f->jwk2);
    hwj_key_free(f->k1);
    hwj_key_free(f->k2);
    hwj_ctx_free(f->ctx);
    free(f);
    return 0;
}

/* Each test starts from a plain 200 with set1 and fresh counters. */
static int reset(void **state)
{
    fixture *f = *state;
    server_set(&f->srv, json_pack("{s:s,s:i,s:n,s:n,s:n,s:n,s:i,s:i,s:b,s:{}}", "body", f->set1,
                                  "status", 200, "etag", "cache_control", "age", "location",
                                  "delay", 0, "oversize", 0, "no_length", 0, "paths"));
    free(server_call(&f->srv, "/_reset", "{}"));
    return 0;
}

static hwj_jwks_cache *new_cache(const char *url, hwj_jwks_cache_opts *o)
{
    hwj_jwks_cache_opts def = HWJ_JWKS_CACHE_OPTS_INIT;
    hwj_jwks_cache *c = NULL;
    hwj_error err;
    if (o == NULL)
        o = &def;
    o->clock = test_clock;
    tu_ok(hwj_jwks_cache_new(url, o, &c, &err), &err);
    return c;
}

static hwj_jwks_cache_stats stats_of(hwj_jwks_cache *c)
{
    hwj_jwks_cache_stats st;
    memset(&st, 0xff, sizeof(st));
    hwj_jwks_cache_get_stats(c, &st, sizeof(st));
    return st;
}

/* get1 and check whether `kid` is in the returned set. */
static int has_kid(hwj_jwks_cache *c, const char *kid)
{
    hwj_jwks_snapshot *s = NULL;
    hwj_error err;
    int found = 0;
    tu_ok(hwj_jwks_cache_get1(c, kid, &s, &err), &err);
    const hwj_jwks *set = hwj_jwks_snapshot_get0_set(s);
    for (size_t i = 0; i < hwj_jwks_count(set); i++) {
        const char *k = hwj_jwk_get0_kid(hwj_jwks_get0(set, i));
        found |= k != NULL && strcmp(k, kid) == 0;
    }
    hwj_jwks_snapshot_free(s);
    return found;
}

/* ---- tests -------------------------------------------------------------- */

static void expect_refused(const char *url, int allow_http, hwj_err want, const char *needle)
{
    hwj_jwks_cache_opts o = {.size = sizeof(hwj_jwks_cache_opts), .allow_http = allow_http};
    hwj_jwks_cache *c = NULL;
    hwj_error err;
    hwj_err rc = hwj_jwks_cache_new(url, &o, &c, &err);
    if (rc != want)
        fail_msg("%s: expected %d, got %d: %s", url, want, rc, err.message);
    assert_null(c);
    if (needle != NULL && strstr(err.message, needle) == NULL)
        fail_msg("%s: message '%s' lacks '%s'", url, err.message, needle);
}

static void test_url_rules(void **state)
{
    (void)state;
    const char *ok[] = {"https://issuer.example/.well-known/jwks.json",
                        "http://127.0.0.1:1/j",
                        "http://127.8.9.10/j",
                        "http://localhost:8080/j",
                        "http://[::1]:9/j",
                        "HTTPS://issuer.example/j"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        hwj_jwks_cache_free(new_cache(ok[i], NULL));
    expect_refused("http://issuer.example/jwks.json", 0, HWJ_ERR_POLICY, "loopback");
    expect_refused("http://10.0.0.1/jwks.json", 0, HWJ_ERR_POLICY, "allow_http");
    expect_refused("http://localhost.evil.example/j", 0, HWJ_ERR_POLICY, NULL);
    expect_refused("ftp://issuer.example/jwks.json", 1, HWJ_ERR_POLICY, "https");
    expect_refused("file:///etc/passwd", 1, HWJ_ERR_POLICY, NULL);
    expect_refused("https://user:pw@issuer.example/j", 0, HWJ_ERR_POLICY, "credentials");
    expect_refused("not a url", 0, HWJ_ERR_ARG, NULL);
    /* with allow_http, plain http anywhere is the caller's explicit choice */
    hwj_jwks_cache_opts o = {.size = sizeof(hwj_jwks_cache_opts), .allow_http = 1};
    hwj_jwks_cache_free(new_cache("http://issuer.example/jwks.json", &o));
    /* options that make no sense */
    hwj_jwks_cache *c = NULL;
    hwj_error err;
    hwj_jwks_cache_opts bad = {.size = sizeof(hwj_jwks_cache_opts), .min_ttl = 100, .max_ttl = 10};
    assert_int_equal(hwj_jwks_cache_new("https://a.example/j", &bad, &c, &err), HWJ_ERR_ARG);
    hwj_jwks_cache_opts huge = {.size = sizeof(hwj_jwks_cache_opts), .max_ttl = INT64_MAX};
    assert_int_equal(hwj_jwks_cache_new("https://a.example/j", &huge, &c, &err), HWJ_ERR_ARG);
    hwj_jwks_cache_opts neg = {.size = sizeof(hwj_jwks_cache_opts), .refetch_cooldown = -1};
    assert_int_equal(hwj_jwks_cache_new("https://a.example/j", &neg, &c, &err), HWJ_ERR_ARG);
    assert_null(c);
    hwj_jwks_cache_free(NULL);
    hwj_jwks_snapshot_free(NULL);
}

/* Serve `doc` (status 200) as the OpenID configuration of issuer `base`/t. */
static void serve_discovery(const fixture *f, const char *doc, int status)
{
    server_set(&f->srv,
               json_pack("{s:{s:{s:s,s:i}}}", "paths", "/t/.well-known/openid-configuration",
                         "body", doc, "status", status));
}

static hwj_err discover(const char *issuer, hwj_jwks_cache **c, hwj_error *err)
{
    hwj_jwks_cache_opts o = {.size = sizeof(hwj_jwks_cache_opts), .clock = test_clock};
    return hwj_jwks_cache_discover(issuer, &o, c, err);
}

/* OpenID Connect Discovery: the jwks_uri comes from ISSUER/.well-known/openid-configuration,
 * whose issuer must be exactly ISSUER; every refusal leaves no cache behind. */
static void test_discover(void **state)
{
    fixture *f = *state;
    char issuer[160], slash[168], doc[512];
    hwj_jwks_cache *c = NULL;
    hwj_error err;
    snprintf(issuer, sizeof(issuer), "%s/t", f->srv.base);
    snprintf(slash, sizeof(slash), "%s/", issuer);

    snprintf(doc, sizeof(doc), "{\"issuer\":\"%s\",\"jwks_uri\":\"%s\"}", issuer, f->srv.url);
    serve_discovery(f, doc, 200);
    tu_ok(discover(issuer, &c, &err), &err);
    assert_string_equal(hwj_jwks_cache_get0_url(c), f->srv.url);
    assert_true(has_kid(c, hwj_key_get0_kid(f->k1)));
    hwj_jwks_cache_free(c);
    c = NULL;

    /* a terminating '/' is removed before the well-known path, but the issuer must match
     * exactly: "…/t/" is not "…/t" */
    assert_int_equal(discover(slash, &c, &err), HWJ_ERR_POLICY);
    assert_non_null(strstr(err.message, "names issuer"));
    /* a document for another issuer */
    snprintf(doc, sizeof(doc), "{\"issuer\":\"https://evil.example\",\"jwks_uri\":\"%s\"}",
             f->srv.url);
    serve_discovery(f, doc, 200);
    assert_int_equal(discover(issuer, &c, &err), HWJ_ERR_POLICY);
    /* no jwks_uri; not JSON; duplicate members */
    snprintf(doc, sizeof(doc), "{\"issuer\":\"%s\"}", issuer);
    serve_discovery(f, doc, 200);
    assert_int_equal(discover(issuer, &c, &err), HWJ_ERR_PARSE);
    serve_discovery(f, "<html>", 200);
    assert_int_equal(discover(issuer, &c, &err), HWJ_ERR_PARSE);
    snprintf(doc, sizeof(doc), "{\"issuer\":\"%s\",\"issuer\":\"%s\",\"jwks_uri\":\"%s\"}", issuer,
             issuer, f->srv.url);
    serve_discovery(f, doc, 200);
    assert_int_equal(discover(issuer, &c, &err), HWJ_ERR_PARSE);
    /* the jwks_uri meets the URL rules on its own */
    snprintf(doc, sizeof(doc), "{\"issuer\":\"%s\",\"jwks_uri\":\"http://issuer.example/j\"}",
             issuer);
    serve_discovery(f, doc, 200);
    assert_int_equal(discover(issuer, &c, &err), HWJ_ERR_POLICY);
    /* no document */
    serve_discovery(f, "{}", 404);
    assert_int_equal(discover(issuer, &c, &err), HWJ_ERR_NETWORK);
    assert_non_null(strstr(err.message, "OpenID configuration"));
    /* issuer URLs: https or loopback http, no query or fragment */
    assert_int_equal(discover("http://issuer.example", &c, &err), HWJ_ERR_POLICY);
    assert_non_null(strstr(err.message, "issuer"));
    snprintf(doc, sizeof(doc), "%s?x=1", issuer);
    assert_int_equal(discover(doc, &c, &err), HWJ_ERR_ARG);
    assert_null(c);
}

/* max-age sets the lifetime; after it, a conditional GET; a 304 keeps the very same set. */
static void test_max_age_and_304(void **state)
{
    fixture *f = *state;
    const char *kid1 = hwj_key_get0_kid(f->k1);
    hwj_jwks_snapshot *a = NULL, *b = NULL;
    hwj_error err;
    server_set(&f->srv, json_pack("{s:s,s:s}", "etag", "\"v1\"", "cache_control",
                                  "public, max-age=120, must-revalidate"));
    hwj_jwks_cache *c = new_cache(f->srv.url, NULL);
    assert_int_equal(server_requests(&f->srv), 0); /* nothing fetched until used */

    tu_ok(hwj_jwks_cache_get1(c, kid1, &a, &err), &err);
    hwj_jwks_cache_stats st = stats_of(c);
    assert_int_equal(st.requests, 1);
    assert_int_equal(st.updates, 1);
    assert_int_equal(st.expires_at, g_now + 120);

    advance(119);
    assert_true(has_kid(c, kid1));
    assert_int_equal(server_requests(&f->srv), 1);

    advance(1);
    tu_ok(hwj_jwks_cache_get1(c, kid1, &b, &err), &err);
    assert_ptr_equal(hwj_jwks_snapshot_get0_set(a), hwj_jwks_snapshot_get0_set(b));
    st = stats_of(c);
    assert_int_equal(st.requests, 2);
    assert_int_equal(st.not_modified, 1);
    assert_int_equal(st.expires_at, g_now + 120);
    json_t *ss = server_stats(&f->srv);
    assert_int_equal(json_integer_value(json_object_get(ss, "not_modified")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(ss, "if_none_match"), 0)),
                        "\"v1\"");
    json_decref(ss);

    /* a new ETag: the 200 replaces the set */
    server_set(&f->srv, json_pack("{s:s,s:s}", "etag", "\"v2\"", "body", f->set12));
    advance(120);
    assert_true(has_kid(c, hwj_key_get0_kid(f->k2)));
    st = stats_of(c);
    assert_int_equal(st.updates, 2);
    hwj_jwks_snapshot_free(a);
    hwj_jwks_snapshot_free(b);
    hwj_jwks_cache_free(c);
}

static int64_t ttl_for(fixture *f, const char *cache_control, const char *age,
                       hwj_jwks_cache_opts *o)
{
    hwj_error err;
    server_set(&f->srv, json_pack("{s:s?,s:s?}", "cache_control", cache_control, "age", age));
    hwj_jwks_cache *c = new_cache(f->srv.url, o);
    tu_ok(hwj_jwks_cache_refresh(c, &err), &err);
    int64_t ttl = stats_of(c).expires_at - g_now;
    hwj_jwks_cache_free(c);
    return ttl;
}

static void test_ttl_bounds(void **state)
{
    fixture *f = *state;
    hwj_jwks_cache_opts o = {
        .size = sizeof(hwj_jwks_cache_opts), .min_ttl = 30, .max_ttl = 3600, .default_ttl = 300};
    assert_int_equal(ttl_for(f, "max-age=90", NULL, &o), 90);
    assert_int_equal(ttl_for(f, "max-age=\"90\"", NULL, &o), 90);
    assert_int_equal(ttl_for(f, "max-age=90", "50", &o), 40);
    assert_int_equal(ttl_for(f, "max-age=5", NULL, &o), 30);          /* floor */
    assert_int_equal(ttl_for(f, "max-age=99999999", NULL, &o), 3600); /* ceiling */
    assert_int_equal(ttl_for(f, "max-age=99999999999999999999999", NULL, &o), 3600);
    assert_int_equal(ttl_for(f, NULL, NULL, &o), 300);          /* no header */
    assert_int_equal(ttl_for(f, "max-age=abc", NULL, &o), 300); /* garbage: ignored */
    assert_int_equal(ttl_for(f, "no-store", NULL, &o), 30);
    assert_int_equal(ttl_for(f, "no-cache, max-age=600", NULL, &o), 30);
    assert_int_equal(ttl_for(f, "max-age=600, max-age=60", NULL, &o), 60);
    assert_int_equal(ttl_for(f, NULL, NULL, NULL), 600); /* the defaults */
}

/* A new kid appears at the issuer: exactly one refetch, and it is found. */
static void test_rotation(void **state)
{
    fixture *f = *state;
    const char *kid1 = hwj_key_get0_kid(f->k1), *kid2 = hwj_key_get0_kid(f->k2);
    server_set(&f->srv, json_pack("{s:s}", "cache_control", "max-age=3600"));
    hwj_jwks_cache *c = new_cache(f->srv.url, NULL);
    assert_true(has_kid(c, kid1));
    assert_false(has_kid(c, kid2)); /* right after a fetch: the cooldown holds */
    assert_int_equal(server_requests(&f->srv), 1);

    server_set(&f->srv, json_pack("{s:s}", "body", f->set12));
    advance(31);
    assert_true(has_kid(c, kid1)); /* a known kid does not refetch */
    assert_int_equal(server_requests(&f->srv), 1);
    assert_true(has_kid(c, kid2));
    assert_int_equal(server_requests(&f->srv), 2);
    for (int i = 0; i < 10; i++) {
        assert_true(has_kid(c, kid2));
        assert_true(has_kid(c, kid1));
    }
    assert_int_equal(server_requests(&f->srv), 2);
    hwj_jwks_cache_stats st = stats_of(c);
    assert_int_equal(st.unknown_kid_fetches, 1);
    assert_int_equal(st.updates, 2);

    /* the old key retires */
    server_set(&f->srv, json_pack("{s:s}", "body", f->set2));
    advance(3600);
    assert_false(has_kid(c, kid1));
    assert_true(has_kid(c, kid2));
    assert_int_equal(server_requests(&f->srv), 3);
    hwj_jwks_cache_free(c);
}

/* A flood of random kids: at most one fetch per cooldown. */
static void test_cooldown(void **state)
{
    fixture *f = *state;
    char kid[64];
    hwj_jwks_cache_opts o = {.size = sizeof(hwj_jwks_cache_opts), .refetch_cooldown = 30};
    server_set(&f->srv, json_pack("{s:s}", "cache_control", "max-age=3600"));
    hwj_jwks_cache *c = new_cache(f->srv.url, &o);
    assert_true(has_kid(c, hwj_key_get0_kid(f->k1)));
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 200; i++) {
            snprintf(kid, sizeof(kid), "random-%d-%d", round, i);
            assert_false(has_kid(c, kid));
            if (i % 20 == 19)
                advance(1); /* 10 s of flood per round */
        }
        /* round 0 started right after the first fetch: no refetch; later rounds: one */
        assert_int_equal(server_requests(&f->srv), 1 + round);
        advance(20);
    }
    hwj_jwks_cache_stats st = stats_of(c);
    assert_int_equal(st.unknown_kid_fetches, 4);
    assert_int_equal(st.cooldown_skips, 1000 - 4);
    hwj_jwks_cache_free(c);
}

static void expect_refresh_fails(hwj_jwks_cache *c, hwj_err want, const char *needle)
{
    hwj_error err;
    hwj_err rc = hwj_jwks_cache_refresh(c, &err);
    if (rc != want)
        fail_msg("expected %d, got %d: %s", want, rc, err.message);
    if (strstr(err.message, needle) == NULL)
        fail_msg("message '%s' lacks '%s'", err.message, needle);
}

/* Oversize, malformed and invalid sets are rejected; the previous good set stays. */
static void test_bad_answers_keep_set(void **state)
{
    fixture *f = *state;
    const char *kid1 = hwj_key_get0_kid(f->k1);
    hwj_jwks_cache_opts o = {.size = sizeof(hwj_jwks_cache_opts), .max_size = 4096};
    hwj_error err;
    hwj_jwks_cache *c = new_cache(f->srv.url, &o);
    tu_ok(hwj_jwks_cache_refresh(c, &err), &err);

    server_set(&f->srv, json_pack("{s:i}", "oversize", 5000)); /* Content-Length says so */
    expect_refresh_fails(c, HWJ_ERR_LIMIT, "larger than 4096 bytes");
    server_set(&f->srv, json_pack("{s:b}", "no_length", 1)); /* only the body cap sees it */
    expect_refresh_fails(c, HWJ_ERR_LIMIT, "larger than 4096 bytes");
    server_set(&f->srv, json_pack("{s:i,s:i}", "oversize", 4096 * 64, "no_length", 0));
    expect_refresh_fails(c, HWJ_ERR_LIMIT, f->srv.url);
    server_set(&f->srv, json_pack("{s:i,s:s}", "oversize", 0, "body", "{\"keys\":[{\"kty\":"));
    expect_refresh_fails(c, HWJ_ERR_PARSE, "keeping the previous set");
    server_set(&f->srv, json_pack("{s:s}", "body",
                                  "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
                                  "\"x\":\"AAAA\",\"y\":\"AAAA\"}]}"));
    expect_refresh_fails(c, HWJ_ERR_PARSE, f->srv.url);
    server_set(&f->srv, json_pack("{s:s}", "body", "[1,2,3]"));
    expect_refresh_fails(c, HWJ_ERR_PARSE, "JSON object");
    server_set(&f->srv, json_pack("{s:s,s:i}", "body", "oops", "status", 500));
    expect_refresh_fails(c, HWJ_ERR_NETWORK, "HTTP 500");
    server_set(&f->srv, json_pack("{s:i,s:s}", "status", 302, "location",
                                  "https://elsewhere.example/jwks.json"));
    expect_refresh_fails(c, HWJ_ERR_NETWORK, "redirects are not followed");

    /* the default cap: 512 KiB */
    hwj_jwks_cache *d = new_cache(f->srv.url, NULL);
    server_set(&f->srv, json_pack("{s:i,s:i}", "status", 200, "oversize", 512 * 1024));
    tu_ok(hwj_jwks_cache_refresh(d, &err), &err);
    server_set(&f->srv, json_pack("{s:i}", "oversize", 512 * 1024 + 1));
    expect_refresh_fails(d, HWJ_ERR_LIMIT, "larger than 524288 bytes");
    hwj_jwks_cache_free(d);

    hwj_jwks_cache_stats st = stats_of(c);
    assert_int_equal(st.updates, 1);
    assert_int_equal(st.failures, 8);
    assert_true(has_kid(c, kid1)); /* still fresh: no fetch, the good set */
    assert_int_equal(stats_of(c).requests, 9);
    hwj_jwks_cache_free(c);
}

/* The first fetch fails: nothing to serve, a clear error, and retries wait the cooldown. */
static void test_first_fetch_fails(void **state)
{
    fixture *f = *state;
    hwj_jwks_snapshot *s = NULL;
    hwj_error err;
    server_set(&f->srv, json_pack("{s:s}", "body", "not json"));
    hwj_jwks_cache *c = new_cache(f->srv.url, NULL);
    assert_int_equal(hwj_jwks_cache_get1(c, "k", &s, &err), HWJ_ERR_PARSE);
    assert_null(s);
    assert_non_null(strstr(err.message, f->srv.url));
    assert_int_equal(hwj_jwks_cache_get1(c, "k", &s, &err), HWJ_ERR_PARSE);
    assert_int_equal(server_requests(&f->srv), 1); /* within the cooldown */
    reset(state);
    advance(30);
    assert_true(has_kid(c, hwj_key_get0_kid(f->k1)));
    assert_int_equal(server_requests(&f->srv), 1);
    hwj_jwks_cache_free(c);
}

/* The issuer goes down: the stale set is served for max_stale, then a clear error. */
static void test_server_down(void **state)
{
    fixture *f = *state;
    server own = {0};
    hwj_jwks_snapshot *s = NULL;
    hwj_error err;
    const char *kid1 = hwj_key_get0_kid(f->k1);
    server_start(&own);
    server_set(&own, json_pack("{s:s,s:s}", "body", f->set1, "cache_control", "max-age=60"));
    hwj_jwks_cache_opts o = {
        .size = sizeof(hwj_jwks_cache_opts), .max_stale = 600, .refetch_cooldown = 30};
    hwj_jwks_cache *c = new_cache(own.url, &o);
    assert_true(has_kid(c, kid1));
    server_stop(&own);

    advance(60); /* expired: the refresh fails, the stale set is served */
    assert_true(has_kid(c, kid1));
    hwj_jwks_cache_stats st = stats_of(c);
    assert_int_equal(st.requests, 2);
    assert_int_equal(st.failures, 1);
    assert_int_equal(st.stale_serves, 1);
    advance(10); /* within the cooldown: no new attempt */
    assert_true(has_kid(c, kid1));
    assert_int_equal(stats_of(c).requests, 2);
    advance(25);
    assert_true(has_kid(c, kid1));
    assert_int_equal(stats_of(c).requests, 3);

    advance(600 - 35); /* 600 s past expiry: no more stale serving */
    assert_int_equal(hwj_jwks_cache_get1(c, kid1, &s, &err), HWJ_ERR_NETWORK);
    assert_null(s);
    assert_int_equal(err.source, HWJ_SRC_CURL);
    assert_int_equal(err.native, CURLE_COULDNT_CONNECT);
    assert_non_null(strstr(err.message, own.url));
    assert_non_null(strstr(err.message, "curl error"));
    assert_non_null(strstr(err.message, "expired 600 s ago"));

    hwj_jwks_cache_free(c);
}

/* max_stale < 0: an expired set is never used. */
static void test_no_stale(void **state)
{
    fixture *f = *state;
    server own = {0};
    hwj_jwks_snapshot *s = NULL;
    hwj_error err;
    server_start(&own);
    server_set(&own, json_pack("{s:s,s:s}", "body", f->set1, "cache_control", "max-age=60"));
    hwj_jwks_cache_opts o = {.size = sizeof(hwj_jwks_cache_opts), .max_stale = -1};
    hwj_jwks_cache *c = new_cache(own.url, &o);
    assert_true(has_kid(c, hwj_key_get0_kid(f->k1)));
    server_stop(&own);
    advance(60);
    assert_int_equal(hwj_jwks_cache_get1(c, NULL, &s, &err), HWJ_ERR_NETWORK);
    hwj_jwks_cache_free(c);
}

static void test_timeout(void **state)
{
    fixture *f = *state;
    hwj_jwks_cache_opts o = {.size = sizeof(hwj_jwks_cache_opts), .timeout_ms = 300};
    server_set(&f->srv, json_pack("{s:f}", "delay", 2.0));
    hwj_jwks_cache *c = new_cache(f->srv.url, &o);
    time_t t0 = time(NULL);
    expect_refresh_fails(c, HWJ_ERR_NETWORK, "curl error 28");
    assert_true(time(NULL) - t0 <= 1);
    hwj_jwks_cache_free(c);
}

/* HTTPS: the peer is verified against ca_file (or the system's CAs, which do not know
 * this self-signed certificate), and the host name against the certificate. */
static void test_https(void **state)
{
    fixture *f = *state;
    char cmd[10000], cert[4096], key[4096];
    snprintf(cert, sizeof(cert), "%s/jwks_tls.%d.crt", tu_state_dir(), (int)getpid());
    snprintf(key, sizeof(key), "%s/jwks_tls.%d.key", tu_state_dir(), (int)getpid());
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
             "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout '%s' -out '%s' "
             ">/dev/null 2>&1",
             key, cert);
    assert_int_equal(system(cmd), 0);
    server tls = {.cert = cert, .key = key};
    server_start(&tls);
    server_set(&tls, json_pack("{s:s}", "body", f->set1));

    hwj_jwks_cache_opts o = {.size = sizeof(hwj_jwks_cache_opts), .ca_file = cert};
    hwj_jwks_cache *c = new_cache(tls.url, &o);
    assert_true(has_kid(c, hwj_key_get0_kid(f->k1)));
    hwj_jwks_cache_free(c);

    c = new_cache(tls.url, NULL); /* system CAs: the self-signed peer is refused */
    expect_refresh_fails(c, HWJ_ERR_NETWORK, tls.url);
    hwj_jwks_cache_free(c);

    char url[128]; /* the certificate names 127.0.0.1, not localhost */
    snprintf(url, sizeof(url), "https://localhost:%d/jwks.json", tls.port);
    c = new_cache(url, &o);
    expect_refresh_fails(c, HWJ_ERR_NETWORK, "curl error");
    hwj_jwks_cache_free(c);

    /* the https URL's server does not speak plain http and vice versa */
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/jwks.json", f->srv.port);
    c = new_cache(url, &o);
    expect_refresh_fails(c, HWJ_ERR_NETWORK, "curl error");
    hwj_jwks_cache_free(c);
    server_stop(&tls);
    unlink(cert);
    unlink(key);
}

/* ---- verification through the cache ------------------------------------- */

static const hwj_alg verify_algs[] = {HWJ_ALG_ES256, HWJ_ALG_ES384};

static hwj_err verify_jws(hwj_jwks_cache *c, const char *jws, hwj_error *err)
{
    hwj_verify_policy p = {
        .size = sizeof(hwj_verify_policy), .allow_json = 1, .algs = verify_algs, .nalgs = 2};
    hwj_jws_result *r = NULL;
    hwj_err rc = hwj_jwks_cache_verify_jws(c, jws, strlen(jws), &p, NULL, 0, &r, NULL, err);
    if (rc == HWJ_OK) {
        assert_null(r->key);
        assert_string_equal((const char *)r->payload, "hello");
    }
    hwj_jws_result_free(r);
    return rc;
}

static void test_verify_rotation(void **state)
{
    fixture *f = *state;
    hwj_error err;
    char *t1 = make_jws(f->k1, NULL, "hello"), *t2 = make_jws(f->k2, NULL, "hello");
    char *tr = make_jws(f->k2, "no-such-kid", "hello");
    server_set(&f->srv, json_pack("{s:s}", "cache_control", "max-age=3600"));
    hwj_jwks_cache *c = new_cache(f->srv.url, NULL);
    tu_ok(verify_jws(c, t1, &err), &err);
    assert_int_equal(verify_jws(c, t2, &err), HWJ_ERR_KEY_NOT_FOUND); /* cooldown */
    assert_non_null(strstr(err.message, f->srv.url));
    server_set(&f->srv, json_pack("{s:s}", "body", f->set12));
    advance(30);
    tu_ok(verify_jws(c, t2, &err), &err);
    tu_ok(verify_jws(c, t1, &err), &err);
    assert_int_equal(server_requests(&f->srv), 2);
    assert_int_equal(verify_jws(c, tr, &err), HWJ_ERR_KEY_NOT_FOUND);
    assert_int_equal(server_requests(&f->srv), 2);

    /* keys_out keeps the set (and result->key) alive across a refresh */
    hwj_verify_policy p = {
        .size = sizeof(hwj_verify_policy), .allow_json = 1, .algs = verify_algs, .nalgs = 2};
    hwj_jws_result *r = NULL;
    hwj_jwks_snapshot *keys = NULL;
    tu_ok(hwj_jwks_cache_verify_jws(c, t2, strlen(t2), &p, NULL, 0, &r, &keys, &err), &err);
    server_set(&f->srv, json_pack("{s:s}", "body", f->set2));
    tu_ok(hwj_jwks_cache_refresh(c, &err), &err);
    assert_string_equal(hwj_jwk_get0_kid(r->key), hwj_key_get0_kid(f->k2));
    hwj_jws_result_free(r);
    hwj_jwks_snapshot_free(keys);
    hwj_jwks_cache_free(c);
    free(t1);
    free(t2);
    free(tr);
}

/* The kid is also found in the JSON serializations (protected or unprotected header),
 * and a token without kid that no cached key verifies gets one cooldown-bound refetch. */
static void test_verify_json_and_kidless(void **state)
{
    fixture *f = *state;
    hwj_error err;
    char *general = NULL, *flat = NULL, *nokid = NULL;
    hwj_jws_sign_opts g = {
        .size = sizeof(hwj_jws_sign_opts), .format = HWJ_JWS_JSON, .unprotected_json = "{\"x\":1}"};
    hwj_jws_sign_opts fl = {.size = sizeof(hwj_jws_sign_opts), .format = HWJ_JWS_JSON_FLAT};
    hwj_jws_sign_opts nk = {.size = sizeof(hwj_jws_sign_opts), .kid = ""};
    tu_ok(hwj_jws_sign(f->k2, (const uint8_t *)"hello", 5, &g, &general, &err), &err);
    tu_ok(hwj_jws_sign(f->k2, (const uint8_t *)"hello", 5, &fl, &flat, &err), &err);
    tu_ok(hwj_jws_sign(f->k2, (const uint8_t *)"hello", 5, &nk, &nokid, &err), &err);
    hwj_jwks_cache *c = new_cache(f->srv.url, NULL);

    assert_int_equal(verify_jws(c, general, &err), HWJ_ERR_KEY_NOT_FOUND); /* first fetch */
    server_set(&f->srv, json_pack("{s:s}", "body", f->set12));
    advance(30);
    tu_ok(verify_jws(c, general, &err), &err); /* unknown kid: the refetch finds k2 */
    tu_ok(verify_jws(c, flat, &err), &err);
    assert_int_equal(stats_of(c).unknown_kid_fetches, 1);

    server_set(&f->srv, json_pack("{s:s}", "body", f->set1));
    advance(600); /* expired: refetched, k2 is gone */
    assert_int_equal(verify_jws(c, nokid, &err), HWJ_ERR_KEY_NOT_FOUND);
    assert_int_equal(server_requests(&f->srv), 3); /* within the cooldown of that fetch */
    server_set(&f->srv, json_pack("{s:s}", "body", f->set2));
    advance(30);
    tu_ok(verify_jws(c, nokid, &err), &err); /* no kid, no key: one refetch */
    assert_int_equal(server_requests(&f->srv), 4);
    assert_int_equal(stats_of(c).unknown_kid_fetches, 2);
    hwj_jwks_cache_free(c);
    hwj_free(general);
    hwj_free(flat);
    hwj_free(nokid);
}

/* A JWT through the cache: the claims are validated with the caller's options and clock. */
static void test_verify_jwt(void **state)
{
    fixture *f = *state;
    char claims[256], *out = NULL;
    hwj_error err;
    snprintf(claims, sizeof(claims),
             "{\"iss\":\"https://issuer.test\",\"aud\":\"svc\",\"iat\":%lld,\"exp\":%lld}",
             (long long)g_now, (long long)g_now + 600);
    char *jwt = make_jws(f->k2, NULL, claims);
    hwj_jwt_verify_opts vo = {.size = sizeof(hwj_jwt_verify_opts),
                              .policy = &(hwj_verify_policy){.size = sizeof(hwj_verify_policy),
                                                             .algs = verify_algs,
                                                             .nalgs = 2},
                              .iss = "https://issuer.test",
                              .aud = "svc",
                              .clock = test_clock};
    hwj_jwks_cache *c = new_cache(f->srv.url, NULL);
    assert_int_equal(hwj_jwks_cache_verify_jwt(c, jwt, strlen(jwt), &vo, &out, &err),
                     HWJ_ERR_KEY_NOT_FOUND); /* set1 lacks k2 */
    server_set(&f->srv, json_pack("{s:s}", "body", f->set2));
    advance(30); /* the cooldown since the first fetch */
    tu_ok(hwj_jwks_cache_verify_jwt(c, jwt, strlen(jwt), &vo, &out, &err), &err);
    assert_non_null(strstr(out, "\"aud\":\"svc\""));
    hwj_free(out);
    out = NULL;
    vo.aud = "other";
    assert_int_equal(hwj_jwks_cache_verify_jwt(c, jwt, strlen(jwt), &vo, &out, &err),
                     HWJ_ERR_CLAIMS);
    vo.aud = "svc";
    advance(600 + 60 + 1); /* past exp and the default leeway (the set is refetched too) */
    assert_int_equal(hwj_jwks_cache_verify_jwt(c, jwt, strlen(jwt), &vo, &out, &err),
                     HWJ_ERR_CLAIMS);
    assert_null(out);
    assert_int_equal(server_requests(&f->srv), 3);
    hwj_jwks_cache_free(c);
    free(jwt);
}

typedef struct worker {
    hwj_jwks_cache *c;
    const char *tok;
    int ok;
} worker;

static void *verify_loop(void *arg)
{
    worker *w = arg;
    hwj_error err;
    for (int i = 0; i < 300; i++) {
        hwj_verify_policy p = {
            .size = sizeof(hwj_verify_policy), .allow_json = 1, .algs = verify_algs, .nalgs = 2};
        hwj_jws_result *r = NULL;
        if (hwj_jwks_cache_verify_jws(w->c, w->tok, strlen(w->tok), &p, NULL, 0, &r, NULL, &err) ==
            HWJ_OK)
            w->ok++;
        hwj_jws_result_free(r);
        if (i % 50 == 0)
            advance(3600); /* expire the set now and then: concurrent refetches */
    }
    return NULL;
}

static void *refresh_loop(void *arg)
{
    worker *w = arg;
    hwj_error err;
    for (int i = 0; i < 30; i++)
        if (hwj_jwks_cache_refresh(w->c, &err) == HWJ_OK)
            w->ok++;
    return NULL;
}

/* Two threads verify while a third forces refreshes that replace the set under them. */
static void test_threads(void **state)
{
    fixture *f = *state;
    char *t1 = make_jws(f->k1, NULL, "hello"), *t2 = make_jws(f->k2, NULL, "hello");
    server_set(&f->srv, json_pack("{s:s}", "body", f->set12));
    hwj_jwks_cache *c = new_cache(f->srv.url, NULL);
    worker w[3] = {{c, t1, 0}, {c, t2, 0}, {c, NULL, 0}};
    pthread_t th[3];
    assert_int_equal(pthread_create(&th[0], NULL, verify_loop, &w[0]), 0);
    assert_int_equal(pthread_create(&th[1], NULL, verify_loop, &w[1]), 0);
    assert_int_equal(pthread_create(&th[2], NULL, refresh_loop, &w[2]), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(w[0].ok, 300);
    assert_int_equal(w[1].ok, 300);
    assert_int_equal(w[2].ok, 30);
    hwj_jwks_cache_stats st = stats_of(c);
    assert_int_equal(st.failures, 0);
    assert_int_equal((int)st.requests, server_requests(&f->srv));
    hwj_jwks_cache_free(c);
    free(t1);
    free(t2);
}

/* Two threads need the first fetch at once: one fetch, both served. */
static void *get_loop(void *arg)
{
    worker *w = arg;
    hwj_error err;
    hwj_jwks_snapshot *s = NULL;
    if (hwj_jwks_cache_get1(w->c, w->tok, &s, &err) == HWJ_OK)
        w->ok++;
    hwj_jwks_snapshot_free(s);
    return NULL;
}

static void test_one_fetch_at_a_time(void **state)
{
    fixture *f = *state;
    server_set(&f->srv, json_pack("{s:f}", "delay", 0.3));
    hwj_jwks_cache *c = new_cache(f->srv.url, NULL);
    worker w[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){c, hwj_key_get0_kid(f->k1), 0};
        assert_int_equal(pthread_create(&th[i], NULL, get_loop, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].ok, 1);
    }
    assert_int_equal(server_requests(&f->srv), 1);
    hwj_jwks_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_rules),
        cmocka_unit_test_setup(test_discover, reset),
        cmocka_unit_test_setup(test_max_age_and_304, reset),
        cmocka_unit_test_setup(test_ttl_bounds, reset),
        cmocka_unit_test_setup(test_rotation, reset),
        cmocka_unit_test_setup(test_cooldown, reset),
        cmocka_unit_test_setup(test_bad_answers_keep_set, reset),
        cmocka_unit_test_setup(test_first_fetch_fails, reset),
        cmocka_unit_test_setup(test_server_down, reset),
        cmocka_unit_test_setup(test_no_stale, reset),
        cmocka_unit_test_setup(test_timeout, reset),
        cmocka_unit_test_setup(test_https, reset),
        cmocka_unit_test_setup(test_verify_rotation, reset),
        cmocka_unit_test_setup(test_verify_json_and_kidless, reset),
        cmocka_unit_test_setup(test_verify_jwt, reset),
        cmocka_unit_test_setup(test_threads, reset),
        cmocka_unit_test_setup(test_one_fetch_at_a_time, reset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
