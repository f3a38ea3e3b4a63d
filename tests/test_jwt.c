/* test_jwt.c: JWT issue and validation (RFC 7519, RFC 8725) with an injected clock — every
 * claim rule at its edges, claim types, typ, the claims set's shape, and durations. */
#include "testutil.h"

#include "core/b64url.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define T0 ((int64_t)1767225600) /* 2026-01-01T00:00:00Z */
#define ISS "https://issuer.example"
#define AUD "api"

static hwj_ctx *ctx;
static hwj_key *hs;    /* jwk: oct, HS256 */
static hwj_jwks *hset; /* its verification set */

static int64_t fixed_clock(void *arg)
{
    return *(const int64_t *)arg;
}

static int setup(void **state)
{
    hwj_error err;
    char uri[4200];
    (void)state;
    char *path;
    /* the test key (tests/data/soft-oct64.json) with a kid, so that tokens name it */
    static const char jwk[] =
        "{\"kty\":\"oct\",\"kid\":\"hs-test\",\"k\":\"fNyBmPMmH9LCdFAuhD"
        "KV47o4roLpILTGNv-mS7Ch4vUuN9zGiwMKBRqOZ9mNBuLVrUeswFbXc6K0Y00VkpfQww\"}";
    char set[sizeof(jwk) + 16];
    snprintf(set, sizeof(set), "{\"keys\":[%s]}", jwk);
    path = tu_write_temp("jwt-hs.json", jwk);
    snprintf(uri, sizeof(uri), "jwk:%s", path);
    if (hwj_ctx_new(&ctx, &err) != HWJ_OK || hwj_key_open(ctx, uri, NULL, &hs, &err) != HWJ_OK ||
        hwj_jwks_parse(set, strlen(set), &hset, &err) != HWJ_OK) {
        fprintf(stderr, "setup: %s\n", err.message);
        free(path);
        return -1;
    }
    free(path);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    hwj_jwks_free(hset);
    hwj_key_free(hs);
    hwj_ctx_free(ctx);
    return 0;
}

static const hwj_alg hs256[] = {HWJ_ALG_HS256};
static const hwj_verify_policy hs256_policy = {
    .size = sizeof(hwj_verify_policy), .algs = hs256, .nalgs = 1};

/* Verification options: ISS, AUD, HS256, no leeway, the clock at *now. */
static hwj_jwt_verify_opts vopts(int64_t *now)
{
    hwj_jwt_verify_opts o = {.size = sizeof(hwj_jwt_verify_opts),
                             .iss = ISS,
                             .aud = AUD,
                             .clock = fixed_clock,
                             .clock_arg = now};
    o.policy = &hs256_policy;
    return o;
}

/* Issue a token at T0 with the HS256 key: ISS, AUD, ttl 900 and the given extras. */
static char *issue(const char *sub, const char *claims_json, int64_t nbf_offset)
{
    int64_t now = T0;
    const char *aud[] = {AUD};
    hwj_jwt_issue_opts o = {.size = sizeof(hwj_jwt_issue_opts),
                            .iss = ISS,
                            .sub = sub,
                            .aud = aud,
                            .naud = 1,
                            .ttl = 900,
                            .nbf_offset = nbf_offset,
                            .claims_json = claims_json,
                            .clock = fixed_clock,
                            .clock_arg = &now};
    char *jwt = NULL;
    hwj_error err;
    tu_ok(hwj_jwt_issue(hs, &o, &jwt, &err), &err);
    return jwt;
}

/* A JWS over exactly `payload` with the HS256 key; `header` adds protected members. */
static char *sign_raw(const char *header, const char *payload)
{
    hwj_jws_sign_opts o = {.size = sizeof(hwj_jws_sign_opts), .header_json = header};
    char *jws = NULL;
    hwj_error err;
    tu_ok(hwj_jws_sign(hs, (const uint8_t *)payload, strlen(payload), &o, &jws, &err), &err);
    return jws;
}

/* Verify and expect `want`; on failure the message must contain `needle` (if given). */
static void expect(const char *jwt, const hwj_jwt_verify_opts *o, hwj_err want, const char *needle)
{
    char *claims = NULL;
    hwj_error err;
    hwj_err rc = hwj_jwt_verify(jwt, strlen(jwt), hset, o, &claims, &err);
    if (rc != want)
        fail_msg("expected %s, got %s: %s", hwj_err_str(want), hwj_err_str(rc), err.message);
    if (want == HWJ_OK) {
        assert_non_null(claims);
        hwj_free(claims);
        return;
    }
    assert_null(claims);
    assert_int_equal(err.code, want);
    if (needle != NULL && strstr(err.message, needle) == NULL)
        fail_msg("message '%s' lacks '%s'", err.message, needle);
}

/* The claims of a token that verifies at `now` (free with json_decref). */
static json_t *claims_at(const char *jwt, int64_t now)
{
    hwj_jwt_verify_opts o = vopts(&now);
    char *text = NULL;
    hwj_error err;
    tu_ok(hwj_jwt_verify(jwt, strlen(jwt), hset, &o, &text, &err), &err);
    json_t *c = json_loads(text, 0, NULL);
    assert_non_null(c);
    hwj_free(text);
    return c;
}

/* The protected header of a compact token. */
static json_t *header_of(const char *jwt)
{
    uint8_t *text = NULL;
    size_t len = 0;
    hwj_error err;
    tu_ok(hwj_b64url_decode(jwt, (size_t)(strchr(jwt, '.') - jwt), &text, &len, "header", &err),
          &err);
    json_t *h = json_loadb((const char *)text, len, 0, NULL);
    hwj_free(text);
    assert_non_null(h);
    return h;
}

/* --- issue ----------------------------------------------------------------------------- */

static void test_issue_claims(void **state)
{
    (void)state;
    char *jwt = issue("alice", NULL, 0);
    json_t *c = claims_at(jwt, T0), *h = header_of(jwt);
    const char *order[] = {"iss", "sub", "aud", "iat", "nbf", "exp", "jti"};
    const char *name;
    json_t *v;
    size_t i = 0;

    assert_string_equal(json_string_value(json_object_get(c, "iss")), ISS);
    assert_string_equal(json_string_value(json_object_get(c, "sub")), "alice");
    assert_string_equal(json_string_value(json_object_get(c, "aud")), AUD);
    assert_int_equal(json_integer_value(json_object_get(c, "iat")), T0);
    assert_int_equal(json_integer_value(json_object_get(c, "nbf")), T0);
    assert_int_equal(json_integer_value(json_object_get(c, "exp")), T0 + 900);
    assert_int_equal(strlen(json_string_value(json_object_get(c, "jti"))), 22); /* 128 bits */
    json_object_foreach(c, name, v) assert_string_equal(name, order[i++]);
    assert_int_equal(i, 7);
    assert_string_equal(json_string_value(json_object_get(h, "typ")), "JWT");
    assert_string_equal(json_string_value(json_object_get(h, "alg")), "HS256");
    assert_non_null(json_object_get(h, "kid"));
    json_decref(h);
    json_decref(c);
    hwj_free(jwt);
}

static void test_issue_jti_unique(void **state)
{
    (void)state;
    char *a = issue(NULL, NULL, 0), *b = issue(NULL, NULL, 0);
    json_t *ca = claims_at(a, T0), *cb = claims_at(b, T0);
    assert_null(json_object_get(ca, "sub"));
    assert_string_not_equal(json_string_value(json_object_get(ca, "jti")),
                            json_string_value(json_object_get(cb, "jti")));
    json_decref(ca);
    json_decref(cb);
    hwj_free(a);
    hwj_free(b);
}

/* The jti comes from a per-thread buffer of random bytes: a forked child must not hand out
 * the bytes its parent hands out next. */
static void test_issue_jti_after_fork(void **state)
{
    (void)state;
    char *first = issue(NULL, NULL, 0), *mine, child_jti[64] = {0};
    int fds[2];
    pid_t pid;

    hwj_free(first); /* the pool is filled now */
    assert_int_equal(pipe(fds), 0);
    if ((pid = fork()) == 0) {
        char *t = issue(NULL, NULL, 0);
        json_t *c = claims_at(t, T0);
        const char *jti = json_string_value(json_object_get(c, "jti"));
        ssize_t w = write(fds[1], jti, strlen(jti));
        _exit(w > 0 ? 0 : 1);
    }
    assert_true(pid > 0);
    close(fds[1]);
    assert_true(read(fds[0], child_jti, sizeof(child_jti) - 1) > 0);
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    mine = issue(NULL, NULL, 0);
    json_t *c = claims_at(mine, T0);
    assert_string_not_equal(json_string_value(json_object_get(c, "jti")), child_jti);
    json_decref(c);
    hwj_free(mine);
}

static void test_issue_aud_array(void **state)
{
    (void)state;
    int64_t now = T0;
    const char *aud[] = {"api", "billing"};
    hwj_jwt_issue_opts o = {.size = sizeof(hwj_jwt_issue_opts),
                            .iss = ISS,
                            .aud = aud,
                            .naud = 2,
                            .ttl = 60,
                            .no_jti = 1,
                            .clock = fixed_clock,
                            .clock_arg = &now};
    char *jwt = NULL;
    hwj_error err;
    tu_ok(hwj_jwt_issue(hs, &o, &jwt, &err), &err);
    json_t *c = claims_at(jwt, T0);
    assert_true(json_is_array(json_object_get(c, "aud")));
    assert_int_equal(json_array_size(json_object_get(c, "aud")), 2);
    assert_null(json_object_get(c, "jti"));
    json_decref(c);

    hwj_jwt_verify_opts v = vopts(&now);
    v.aud = "billing";
    expect(jwt, &v, HWJ_OK, NULL);
    v.aud = "other";
    expect(jwt, &v, HWJ_ERR_CLAIMS, "aud does not contain 'other'");
    hwj_free(jwt);
}

/* hwj_jwt_issue_claims hands back exactly the payload it signed; refuse_registered turns every
 * registered claim in claims_json into an error (nothing written). */
static void test_issue_claims_out(void **state)
{
    (void)state;
    int64_t now = T0;
    const char *aud[] = {AUD};
    hwj_jwt_issue_opts o = {.size = sizeof(hwj_jwt_issue_opts),
                            .iss = ISS,
                            .sub = "alice",
                            .aud = aud,
                            .naud = 1,
                            .ttl = 900,
                            .claims_json = "{\"scope\":\"read\"}",
                            .clock = fixed_clock,
                            .clock_arg = &now,
                            .refuse_registered = 1};
    char *jwt = NULL, *claims = NULL;
    uint8_t *payload = NULL;
    size_t plen = 0;
    hwj_error err;
    tu_ok(hwj_jwt_issue_claims(hs, &o, &jwt, &claims, &err), &err);
    const char *d1 = strchr(jwt, '.'), *d2 = strchr(d1 + 1, '.');
    tu_ok(hwj_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &payload, &plen, "payload", &err), &err);
    assert_int_equal(plen, strlen(claims));
    assert_memory_equal(payload, claims, plen);
    json_t *c = json_loads(claims, 0, NULL);
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "sub")), "alice");
    assert_int_equal(json_integer_value(json_object_get(c, "exp")), T0 + 900);
    assert_true(json_is_string(json_object_get(c, "jti")));
    json_decref(c);
    hwj_free(payload);
    hwj_free(claims);
    hwj_free(jwt);

    static const char *const registered[] = {"iss", "sub", "aud", "exp", "nbf", "iat", "jti"};
    for (size_t i = 0; i < sizeof(registered) / sizeof(registered[0]); i++) {
        char extra[64];
        snprintf(extra, sizeof(extra), "{\"%s\":\"x\"}", registered[i]);
        o.claims_json = extra;
        jwt = claims = NULL;
        assert_int_equal(hwj_jwt_issue_claims(hs, &o, &jwt, &claims, &err), HWJ_ERR_ARG);
        assert_null(jwt);
        assert_null(claims);
        assert_non_null(strstr(err.message, registered[i]));
    }
}

static void test_issue_options_win(void **state)
{
    (void)state;
    char *jwt =
        issue(NULL,
              "{\"scope\":\"read\",\"iss\":\"https://evil.example\",\"exp\":1,\"aud\":\"x\","
              "\"iat\":5,\"nbf\":6,\"sub\":\"from-claims\",\"n\":{\"a\":[1,2]}}",
              0);
    json_t *c = claims_at(jwt, T0);
    assert_string_equal(json_string_value(json_object_get(c, "iss")), ISS);
    assert_string_equal(json_string_value(json_object_get(c, "aud")), AUD);
    assert_int_equal(json_integer_value(json_object_get(c, "exp")), T0 + 900);
    assert_int_equal(json_integer_value(json_object_get(c, "iat")), T0);
    assert_int_equal(json_integer_value(json_object_get(c, "nbf")), T0);
    /* sub was not set by the options: the caller's stays */
    assert_string_equal(json_string_value(json_object_get(c, "sub")), "from-claims");
    assert_string_equal(json_string_value(json_object_get(c, "scope")), "read");
    assert_int_equal(
        json_integer_value(json_array_get(json_object_get(json_object_get(c, "n"), "a"), 1)), 2);
    json_decref(c);
    hwj_free(jwt);

    jwt = issue("alice", "{\"sub\":\"bob\"}", 0);
    c = claims_at(jwt, T0);
    assert_string_equal(json_string_value(json_object_get(c, "sub")), "alice");
    json_decref(c);
    hwj_free(jwt);
}

static void test_issue_typ_kid_header(void **state)
{
    (void)state;
    int64_t now = T0;
    const char *aud[] = {AUD};
    hwj_jwt_issue_opts o = {.size = sizeof(hwj_jwt_issue_opts),
                            .iss = ISS,
                            .aud = aud,
                            .naud = 1,
                            .ttl = 60,
                            .typ = "at+jwt",
                            .kid = "k1",
                            .header_json = "{\"x-extra\":true}",
                            .clock = fixed_clock,
                            .clock_arg = &now};
    char *jwt = NULL;
    hwj_error err;
    tu_ok(hwj_jwt_issue(hs, &o, &jwt, &err), &err);
    json_t *h = header_of(jwt);
    assert_string_equal(json_string_value(json_object_get(h, "typ")), "at+jwt");
    assert_string_equal(json_string_value(json_object_get(h, "kid")), "k1");
    assert_true(json_is_true(json_object_get(h, "x-extra")));
    json_decref(h);
    hwj_free(jwt);

    /* header_json's own typ is kept when opts->typ is not given */
    o.typ = NULL;
    o.header_json = "{\"typ\":\"dpop+jwt\"}";
    tu_ok(hwj_jwt_issue(hs, &o, &jwt, &err), &err);
    h = header_of(jwt);
    assert_string_equal(json_string_value(json_object_get(h, "typ")), "dpop+jwt");
    json_decref(h);
    hwj_free(jwt);
}

static void test_issue_refusals(void **state)
{
    (void)state;
    int64_t now = T0;
    const char *aud[] = {AUD}, *empty_aud[] = {""};
    hwj_jwt_issue_opts good = {.size = sizeof(hwj_jwt_issue_opts),
                               .iss = ISS,
                               .aud = aud,
                               .naud = 1,
                               .ttl = 60,
                               .clock = fixed_clock,
                               .clock_arg = &now};
    hwj_jwt_issue_opts o;
    char *jwt = NULL;
    hwj_error err;

#define REFUSE(mod, want)                                                                          \
    do {                                                                                           \
        o = good;                                                                                  \
        mod;                                                                                       \
        assert_int_equal(hwj_jwt_issue(hs, &o, &jwt, &err), want);                                 \
        assert_null(jwt);                                                                          \
        assert_true(err.message[0] != '\0');                                                       \
    } while (0)
    REFUSE(o.iss = NULL, HWJ_ERR_ARG);
    REFUSE(o.iss = "", HWJ_ERR_ARG);
    REFUSE(o.naud = 0, HWJ_ERR_ARG);
    REFUSE(o.aud = empty_aud, HWJ_ERR_ARG);
    REFUSE(o.ttl = 0, HWJ_ERR_ARG);
    REFUSE(o.ttl = -5, HWJ_ERR_ARG);
    REFUSE(o.ttl = (int64_t)1 << 62, HWJ_ERR_ARG);
    REFUSE(o.nbf_offset = 60, HWJ_ERR_ARG);
    REFUSE(o.claims_json = "[1]", HWJ_ERR_PARSE);
    REFUSE(o.claims_json = "{\"a\":1,\"a\":2}", HWJ_ERR_PARSE);
    REFUSE(o.claims_json = "{\"sub\":5}", HWJ_ERR_ARG);
    REFUSE(o.header_json = "{\"typ\":5}", HWJ_ERR_ARG);
    REFUSE(o.alg = HWJ_ALG_RS256, HWJ_ERR_POLICY); /* an oct key cannot do RS256 */
    REFUSE(now = -1, HWJ_ERR_ARG);
    now = T0;
#undef REFUSE
    assert_int_equal(hwj_jwt_issue(NULL, &good, &jwt, &err), HWJ_ERR_ARG);
    assert_int_equal(hwj_jwt_issue(hs, NULL, &jwt, &err), HWJ_ERR_ARG);
}

/* --- validation: time ------------------------------------------------------------------ */

static void test_exp_edges(void **state)
{
    (void)state;
    char *jwt = issue(NULL, NULL, 0); /* exp = T0 + 900 */
    int64_t now;
    hwj_jwt_verify_opts o = vopts(&now);

    now = T0 + 899;
    expect(jwt, &o, HWJ_OK, NULL);
    now = T0 + 900; /* exp is exclusive: now < exp */
    expect(jwt, &o, HWJ_ERR_CLAIMS,
           "token expired at 2026-01-01T00:15:00Z, now 2026-01-01T00:15:00Z");
    o.leeway = 60;
    now = T0 + 959;
    expect(jwt, &o, HWJ_OK, NULL);
    now = T0 + 960;
    expect(jwt, &o, HWJ_ERR_CLAIMS, "expired");
    hwj_free(jwt);
}

static void test_nbf_edges(void **state)
{
    (void)state;
    char *jwt = issue(NULL, NULL, 100); /* nbf = T0 + 100, iat = T0 */
    int64_t now;
    hwj_jwt_verify_opts o = vopts(&now);

    now = T0 + 99;
    expect(jwt, &o, HWJ_ERR_CLAIMS, "not valid before 2026-01-01T00:01:40Z");
    now = T0 + 100;
    expect(jwt, &o, HWJ_OK, NULL);
    o.leeway = 30;
    now = T0 + 70;
    expect(jwt, &o, HWJ_OK, NULL);
    now = T0 + 69;
    expect(jwt, &o, HWJ_ERR_CLAIMS, "(nbf)");
    hwj_free(jwt);

    /* a negative offset backdates nbf */
    jwt = issue(NULL, NULL, -30);
    json_t *c = claims_at(jwt, T0);
    assert_int_equal(json_integer_value(json_object_get(c, "nbf")), T0 - 30);
    json_decref(c);
    hwj_free(jwt);
}

static void test_iat_future(void **state)
{
    (void)state;
    int64_t now = T0;
    hwj_jwt_verify_opts o = vopts(&now);
    char payload[256];
    snprintf(payload, sizeof(payload), "{\"iss\":\"%s\",\"aud\":\"%s\",\"iat\":%lld,\"exp\":%lld}",
             ISS, AUD, (long long)(T0 + 120), (long long)(T0 + 3600));
    char *jwt = sign_raw(NULL, payload);
    expect(jwt, &o, HWJ_ERR_CLAIMS, "issued in the future");
    o.leeway = 119;
    expect(jwt, &o, HWJ_ERR_CLAIMS, "(iat)");
    o.leeway = 120;
    expect(jwt, &o, HWJ_OK, NULL);
    hwj_free(jwt);
}

static void test_max_age(void **state)
{
    (void)state;
    char *jwt = issue(NULL, NULL, 0); /* iat = T0 */
    int64_t now;
    hwj_jwt_verify_opts o = vopts(&now);

    o.max_age = 300;
    now = T0 + 300;
    expect(jwt, &o, HWJ_OK, NULL);
    now = T0 + 301;
    expect(jwt, &o, HWJ_ERR_CLAIMS, "too old");
    o.leeway = 10;
    now = T0 + 310;
    expect(jwt, &o, HWJ_OK, NULL);
    now = T0 + 311;
    expect(jwt, &o, HWJ_ERR_CLAIMS, "max age 300s");
    hwj_free(jwt);

    /* max age needs iat */
    char payload[256];
    snprintf(payload, sizeof(payload), "{\"iss\":\"%s\",\"aud\":\"%s\",\"exp\":%lld}", ISS, AUD,
             (long long)(T0 + 3600));
    jwt = sign_raw(NULL, payload);
    now = T0;
    o.max_age = 0;
    expect(jwt, &o, HWJ_OK, NULL);
    o.max_age = 300;
    expect(jwt, &o, HWJ_ERR_CLAIMS, "iat is missing");
    hwj_free(jwt);
}

static void test_exp_required(void **state)
{
    (void)state;
    int64_t now = T0;
    hwj_jwt_verify_opts o = vopts(&now);
    char *jwt = sign_raw(NULL, "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\"}");
    expect(jwt, &o, HWJ_ERR_CLAIMS, "exp is missing");
    o.allow_no_exp = 1;
    expect(jwt, &o, HWJ_OK, NULL);
    hwj_free(jwt);
}

static void test_fractional_dates(void **state)
{
    (void)state;
    int64_t now;
    hwj_jwt_verify_opts o = vopts(&now);
    char payload[256];
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"nbf\":%lld.5,\"exp\":%lld.5}", ISS, AUD,
             (long long)T0, (long long)(T0 + 100));
    char *jwt = sign_raw(NULL, payload);
    now = T0; /* before nbf = T0 + 0.5 */
    expect(jwt, &o, HWJ_ERR_CLAIMS, "(nbf)");
    now = T0 + 1;
    expect(jwt, &o, HWJ_OK, NULL);
    now = T0 + 100; /* before exp = T0 + 100.5 */
    expect(jwt, &o, HWJ_OK, NULL);
    now = T0 + 101;
    expect(jwt, &o, HWJ_ERR_CLAIMS, "expired");
    hwj_free(jwt);
}

/* --- validation: iss, aud, sub, types -------------------------------------------------- */

static void test_iss(void **state)
{
    (void)state;
    int64_t now = T0;
    hwj_jwt_verify_opts o = vopts(&now);
    char *jwt = issue(NULL, NULL, 0);

    o.iss = "https://other.example";
    expect(jwt, &o, HWJ_ERR_CLAIMS,
           "iss 'https://issuer.example' is not the expected 'https://other.example'");
    o.iss = "https://issuer.example/"; /* exact, not a prefix or a normalised URL */
    expect(jwt, &o, HWJ_ERR_CLAIMS, "iss");
    hwj_free(jwt);

    o = vopts(&now);
    jwt = sign_raw(NULL, "{\"aud\":\"" AUD "\",\"exp\":9999999999}");
    expect(jwt, &o, HWJ_ERR_CLAIMS, "iss is missing");
    hwj_free(jwt);
    jwt = sign_raw(NULL, "{\"iss\":[\"" ISS "\"],\"aud\":\"" AUD "\",\"exp\":9999999999}");
    expect(jwt, &o, HWJ_ERR_CLAIMS, "iss must be a string");
    hwj_free(jwt);
}

static void test_aud(void **state)
{
    (void)state;
    int64_t now = T0;
    hwj_jwt_verify_opts o = vopts(&now);
    static const struct {
        const char *aud_json; /* NULL: absent */
        hwj_err want;
        const char *needle;
    } cases[] = {
        {"\"api\"", HWJ_OK, NULL},
        {"[\"x\",\"api\"]", HWJ_OK, NULL},
        {"[\"api\"]", HWJ_OK, NULL},
        {"\"API\"", HWJ_ERR_CLAIMS, "aud does not contain 'api'"},
        {"\"apix\"", HWJ_ERR_CLAIMS, "aud does not contain"},
        {"[]", HWJ_ERR_CLAIMS, "aud does not contain"},
        {"[\"x\",\"y\"]", HWJ_ERR_CLAIMS, "aud does not contain"},
        {"[\"api\",5]", HWJ_ERR_CLAIMS, "aud must be a string or an array of strings"},
        {"5", HWJ_ERR_CLAIMS, "aud must be"},
        {"{\"api\":true}", HWJ_ERR_CLAIMS, "aud must be"},
        {"null", HWJ_ERR_CLAIMS, "aud must be"},
        {NULL, HWJ_ERR_CLAIMS, "aud is missing"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char payload[256];
        if (cases[i].aud_json != NULL)
            snprintf(payload, sizeof(payload), "{\"iss\":\"%s\",\"aud\":%s,\"exp\":9999999999}",
                     ISS, cases[i].aud_json);
        else
            snprintf(payload, sizeof(payload), "{\"iss\":\"%s\",\"exp\":9999999999}", ISS);
        char *jwt = sign_raw(NULL, payload);
        expect(jwt, &o, cases[i].want, cases[i].needle);
        hwj_free(jwt);
    }
}

static void test_sub(void **state)
{
    (void)state;
    int64_t now = T0;
    hwj_jwt_verify_opts o = vopts(&now);
    char *with = issue("alice", NULL, 0), *without = issue(NULL, NULL, 0);

    expect(without, &o, HWJ_OK, NULL); /* sub not requested */
    o.sub = "alice";
    expect(with, &o, HWJ_OK, NULL);
    expect(without, &o, HWJ_ERR_CLAIMS, "sub is missing");
    o.sub = "bob";
    expect(with, &o, HWJ_ERR_CLAIMS, "sub 'alice' is not the expected 'bob'");
    hwj_free(with);
    hwj_free(without);
}

static void test_claim_types(void **state)
{
    (void)state;
    int64_t now = T0;
    hwj_jwt_verify_opts o = vopts(&now);
    static const struct {
        const char *extra;
        const char *needle;
    } cases[] = {
        {"\"exp\":\"9999999999\"", "exp must be a NumericDate"},
        {"\"exp\":true", "exp must be a NumericDate"},
        {"\"exp\":1e300", "exp is out of range"},
        {"\"exp\":9999999999,\"nbf\":\"0\"", "nbf must be a NumericDate"},
        {"\"exp\":9999999999,\"iat\":null", "iat must be a NumericDate"},
        {"\"exp\":9999999999,\"sub\":42", "sub must be a string"},
        {"\"exp\":9999999999,\"jti\":{}", "jti must be a string"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char payload[256];
        snprintf(payload, sizeof(payload), "{\"iss\":\"%s\",\"aud\":\"%s\",%s}", ISS, AUD,
                 cases[i].extra);
        char *jwt = sign_raw(NULL, payload);
        expect(jwt, &o, HWJ_ERR_CLAIMS, cases[i].needle);
        hwj_free(jwt);
    }
}

static void test_claims_shape(void **state)
{
    (void)state;
    int64_t now = T0;
    hwj_jwt_verify_opts o = vopts(&now);
    static const char *const payloads[] = {
        "[1,2]",
        "\"a string\"",
        "42",
        "null",
        "not json",
        "",
        /* duplicate members: which iss would count? Neither. */
        "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":9999999999,\"iss\":\"https://evil\"}",
        "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":1,\"exp\":9999999999}",
    };
    for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
        char *jwt = sign_raw(NULL, payloads[i]);
        expect(jwt, &o, HWJ_ERR_CLAIMS, "JWT claims set");
        hwj_free(jwt);
    }
}

/* --- validation: header and JWS -------------------------------------------------------- */

static void test_typ(void **state)
{
    (void)state;
    int64_t now = T0;
    hwj_jwt_verify_opts o = vopts(&now);
    static const struct {
        const char *header;   /* NULL: no typ */
        const char *want_typ; /* the verifier's typ, NULL for the default */
        hwj_err want;
    } cases[] = {
        {NULL, NULL, HWJ_OK},
        {"{\"typ\":\"JWT\"}", NULL, HWJ_OK},
        {"{\"typ\":\"jwt\"}", NULL, HWJ_OK},
        {"{\"typ\":\"application/jwt\"}", NULL, HWJ_OK},
        {"{\"typ\":\"Application/JWT\"}", NULL, HWJ_OK},
        {"{\"typ\":\"at+jwt\"}", NULL, HWJ_ERR_CLAIMS},
        {"{\"typ\":\"JOSE\"}", NULL, HWJ_ERR_CLAIMS},
        {"{\"typ\":\"\"}", NULL, HWJ_ERR_CLAIMS},
        {"{\"typ\":5}", NULL, HWJ_ERR_CLAIMS},
        {"{\"typ\":\"at+jwt\"}", "at+jwt", HWJ_OK},
        {"{\"typ\":\"application/at+JWT\"}", "at+jwt", HWJ_OK},
        {"{\"typ\":\"JWT\"}", "at+jwt", HWJ_ERR_CLAIMS},
        {NULL, "at+jwt", HWJ_ERR_CLAIMS},
        {"{\"typ\":\"at+jwt\"}", "application/at+jwt", HWJ_OK},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *jwt = sign_raw(cases[i].header,
                             "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":9999999999}");
        o.typ = cases[i].want_typ;
        expect(jwt, &o, cases[i].want, cases[i].want == HWJ_OK ? NULL : "typ");
        hwj_free(jwt);
    }
}

static void test_jws_failures_pass_through(void **state)
{
    (void)state;
    int64_t now = T0;
    hwj_jwt_verify_opts o = vopts(&now);
    char *jwt = issue(NULL, NULL, 0);
    char *p = strchr(jwt, '.') + 5, orig = *p;

    /* a payload character changed: the signature no longer matches */
    *p = *p == 'A' ? 'B' : 'A';
    expect(jwt, &o, HWJ_ERR_SIGNATURE, "invalid signature");
    *p = orig;
    expect(jwt, &o, HWJ_OK, NULL);

    /* the allow-list is the caller's */
    static const hwj_alg rs256[] = {HWJ_ALG_RS256};
    hwj_verify_policy rp = *o.policy;
    rp.algs = rs256;
    o.policy = &rp;
    expect(jwt, &o, HWJ_ERR_POLICY, NULL);
    rp.nalgs = 0;
    assert_int_not_equal(hwj_jwt_verify(jwt, strlen(jwt), hset, &o, &(char *){NULL}, NULL), HWJ_OK);
    hwj_free(jwt);

    /* alg none, whatever the claims say */
    o = vopts(&now);
    const char *none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
                       "eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwiYXVkIjoiYXBpIiwiZXhwIjo5OTk5"
                       "OTk5OTk5fQ.";
    char *claims = NULL;
    assert_int_not_equal(hwj_jwt_verify(none, strlen(none), hset, &o, &claims, NULL), HWJ_OK);
    assert_null(claims);
}

static void test_json_serialization_and_b64_refused(void **state)
{
    (void)state;
    int64_t now = T0;
    hwj_jwt_verify_opts o = vopts(&now);
    const char *payload = "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":9999999999}";
    hwj_jws_sign_opts so = {.size = sizeof(hwj_jws_sign_opts), .format = HWJ_JWS_JSON_FLAT};
    char *jws = NULL;
    hwj_error err;

    tu_ok(hwj_jws_sign(hs, (const uint8_t *)payload, strlen(payload), &so, &jws, &err), &err);
    expect(jws, &o, HWJ_ERR_PARSE, "compact");
    hwj_free(jws);

    so = (hwj_jws_sign_opts){.size = sizeof(hwj_jws_sign_opts), .b64_false = 1};
    const char *p2 = "{\"iss\":\"x\"}"; /* RFC 7797 compact: no '.' in the payload */
    tu_ok(hwj_jws_sign(hs, (const uint8_t *)p2, strlen(p2), &so, &jws, &err), &err);
    char *claims = NULL;
    assert_int_not_equal(hwj_jwt_verify(jws, strlen(jws), hset, &o, &claims, &err), HWJ_OK);
    assert_null(claims);
    hwj_free(jws);
}

static void test_verify_refusals(void **state)
{
    (void)state;
    int64_t now = T0;
    char *jwt = issue(NULL, NULL, 0), *claims = NULL;
    hwj_jwt_verify_opts o;
    hwj_error err;
#define REFUSE(mod)                                                                                \
    do {                                                                                           \
        o = vopts(&now);                                                                           \
        mod;                                                                                       \
        assert_int_equal(hwj_jwt_verify(jwt, strlen(jwt), hset, &o, &claims, &err), HWJ_ERR_ARG);  \
        assert_null(claims);                                                                       \
    } while (0)
    REFUSE(o.iss = NULL);
    REFUSE(o.iss = "");
    REFUSE(o.aud = NULL);
    REFUSE(o.leeway = -1);
    REFUSE(o.max_age = -1);
    REFUSE(o.leeway = (int64_t)1 << 60);
    REFUSE(now = -5);
    now = T0;
#undef REFUSE
    o = vopts(&now);
    assert_int_equal(hwj_jwt_verify(jwt, strlen(jwt), NULL, &o, &claims, &err), HWJ_ERR_ARG);
    assert_int_equal(hwj_jwt_verify(NULL, 0, hset, &o, &claims, &err), HWJ_ERR_ARG);
    assert_int_equal(hwj_jwt_verify(jwt, strlen(jwt), hset, NULL, &claims, &err), HWJ_ERR_ARG);
    hwj_free(jwt);
}

static void test_real_clock_and_es256(void **state)
{
    (void)state;
    char uri[4200];
    hwj_key *ec = NULL;
    hwj_jwk *pub = NULL;
    hwj_jwks *set = NULL;
    const char *aud[] = {AUD};
    hwj_jwt_issue_opts io = {
        .size = sizeof(hwj_jwt_issue_opts), .iss = ISS, .aud = aud, .naud = 1, .ttl = 60};
    static const hwj_alg es256[] = {HWJ_ALG_ES256};
    hwj_jwt_verify_opts vo = {
        .size = sizeof(hwj_jwt_verify_opts), .iss = ISS, .aud = AUD, .leeway = 5};
    char *jwt = NULL, *claims = NULL;
    hwj_error err;

    snprintf(uri, sizeof(uri), "file:%s/soft-p256.pem", HWJ_TEST_DATA_DIR);
    tu_ok(hwj_key_open(ctx, uri, NULL, &ec, &err), &err);
    tu_ok(hwj_jwk_from_key(ec, &pub, &err), &err);
    tu_ok(hwj_jwks_new(&set, &err), &err);
    tu_ok(hwj_jwks_add(set, pub, &err), &err);
    tu_ok(hwj_jwt_issue(ec, &io, &jwt, &err), &err);
    vo.policy =
        &(const hwj_verify_policy){.size = sizeof(hwj_verify_policy), .algs = es256, .nalgs = 1};
    tu_ok(hwj_jwt_verify(jwt, strlen(jwt), set, &vo, &claims, &err), &err);
    assert_non_null(strstr(claims, "\"iss\":\"" ISS "\""));
    hwj_free(claims);
    claims = NULL;
    /* the HS256 set cannot verify it */
    assert_int_not_equal(hwj_jwt_verify(jwt, strlen(jwt), hset, &vo, &claims, &err), HWJ_OK);
    hwj_free(jwt);
    hwj_jwks_free(set);
    hwj_key_free(ec);
}

/* The claims come back as compact JSON: the signed bytes themselves when they are already
 * what a compact dump gives, a re-serialization otherwise (spaces, escapes, reals). */
static void test_claims_output_form(void **state)
{
    (void)state;
    int64_t now = T0 + 10;
    hwj_jwt_verify_opts o = vopts(&now);
    static const char *const same[] = {
        "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":1767226500,\"n\":-5,\"t\":true,"
        "\"a\":[1,{\"b\":null}],\"u\":\"h\xc3\xa9\"}",
        "{\"aud\":[\"x\",\"" AUD "\"],\"iss\":\"" ISS "\",\"exp\":1767226500}"};
    static const struct {
        const char *in, *out;
    } redone[] = {
        {"{ \"iss\": \"" ISS "\", \"aud\": \"" AUD "\", \"exp\": 1767226500 }",
         "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":1767226500}"},
        {"{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":1767226500,\"s\":\"a\\/b\\u0041\"}",
         "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":1767226500,\"s\":\"a/bA\"}"},
        {"{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":1767226500,\"r\":1.50,\"z\":-0}",
         "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":1767226500,\"r\":1.5,\"z\":0}"},
        {"{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":1767226500,\"r\":2e1}",
         "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":1767226500,\"r\":20.0}"},
    };
    hwj_error err;

    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]) + sizeof(redone) / sizeof(redone[0]);
         i++) {
        int is_same = i < sizeof(same) / sizeof(same[0]);
        const char *in = is_same ? same[i] : redone[i - sizeof(same) / sizeof(same[0])].in;
        const char *want = is_same ? in : redone[i - sizeof(same) / sizeof(same[0])].out;
        char *jwt = sign_raw(NULL, in), *claims = NULL;
        tu_ok(hwj_jwt_verify(jwt, strlen(jwt), hset, &o, &claims, &err), &err);
        assert_string_equal(claims, want);
        hwj_free(claims);
        hwj_free(jwt);
    }
}

/* Threads verifying with one fresh set race to prepare its key's contexts: each gets a
 * working one, every token verifies, a bad signature still fails. */
struct race {
    const char *jwt, *bad;
    const hwj_jwks *set;
    int failures;
};

static void *race_run(void *arg)
{
    struct race *r = arg;
    static const hwj_alg es256[] = {HWJ_ALG_ES256};
    hwj_verify_policy pol = {.size = sizeof(hwj_verify_policy), .algs = es256, .nalgs = 1};
    hwj_jwt_verify_opts vo = {
        .size = sizeof(hwj_jwt_verify_opts), .policy = &pol, .iss = ISS, .aud = AUD, .leeway = 5};
    for (int i = 0; i < 200; i++) {
        char *claims = NULL;
        hwj_error err;
        if (hwj_jwt_verify(r->jwt, strlen(r->jwt), r->set, &vo, &claims, &err) != HWJ_OK ||
            hwj_jwt_verify(r->bad, strlen(r->bad), r->set, &vo, &claims, &err) != HWJ_ERR_SIGNATURE)
            __atomic_add_fetch(&r->failures, 1, __ATOMIC_RELAXED);
        hwj_free(claims);
    }
    return NULL;
}

static void test_verify_threads_share_key(void **state)
{
    (void)state;
    char uri[4200], *jwt = NULL, *bad;
    hwj_key *ec = NULL;
    hwj_jwk *pub = NULL;
    hwj_jwks *set = NULL;
    const char *aud[] = {AUD};
    hwj_jwt_issue_opts io = {
        .size = sizeof(hwj_jwt_issue_opts), .iss = ISS, .aud = aud, .naud = 1, .ttl = 60};
    pthread_t t[4];
    hwj_error err;

    snprintf(uri, sizeof(uri), "file:%s/soft-p256.pem", HWJ_TEST_DATA_DIR);
    tu_ok(hwj_key_open(ctx, uri, NULL, &ec, &err), &err);
    tu_ok(hwj_jwk_from_key(ec, &pub, &err), &err);
    tu_ok(hwj_jwks_new(&set, &err), &err);
    tu_ok(hwj_jwks_add(set, pub, &err), &err);
    tu_ok(hwj_jwt_issue(ec, &io, &jwt, &err), &err);
    bad = strdup(jwt);
    assert_non_null(bad);
    bad[strlen(bad) - 2] = bad[strlen(bad) - 2] == 'A' ? 'B' : 'A'; /* r||s changed */
    struct race r = {.jwt = jwt, .bad = bad, .set = set};
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, race_run, &r), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(r.failures, 0);
    free(bad);
    hwj_free(jwt);
    hwj_jwks_free(set);
    hwj_key_free(ec);
}

/* --- durations ------------------------------------------------------------------------- */

static void test_duration_parse(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        hwj_err want;
        int64_t seconds;
    } cases[] = {
        {"0", HWJ_OK, 0},
        {"90", HWJ_OK, 90},
        {"90s", HWJ_OK, 90},
        {"15m", HWJ_OK, 900},
        {"12h", HWJ_OK, 43200},
        {"7d", HWJ_OK, 604800},
        {"007s", HWJ_OK, 7},
        {"36500d", HWJ_OK, (int64_t)36500 * 86400},
        {"36501d", HWJ_ERR_LIMIT, 0},
        {"99999999999999999999999999", HWJ_ERR_LIMIT, 0},
        {"9223372036854775807s", HWJ_ERR_LIMIT, 0},
        {"", HWJ_ERR_PARSE, 0},
        {"-5", HWJ_ERR_PARSE, 0},
        {"+5", HWJ_ERR_PARSE, 0},
        {" 5", HWJ_ERR_PARSE, 0},
        {"5 ", HWJ_ERR_PARSE, 0},
        {"5x", HWJ_ERR_PARSE, 0},
        {"5ms", HWJ_ERR_PARSE, 0},
        {"5mm", HWJ_ERR_PARSE, 0},
        {"m", HWJ_ERR_PARSE, 0},
        {"1.5h", HWJ_ERR_PARSE, 0},
        {"5w", HWJ_ERR_PARSE, 0},
        {"0x10", HWJ_ERR_PARSE, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t s = -1;
        hwj_error err;
        hwj_err rc = hwj_duration_parse(cases[i].text, &s, &err);
        if (rc != cases[i].want)
            fail_msg("'%s': expected %s, got %s", cases[i].text, hwj_err_str(cases[i].want),
                     hwj_err_str(rc));
        if (rc == HWJ_OK)
            assert_int_equal(s, cases[i].seconds);
        else
            assert_int_equal(s, -1); /* untouched on failure */
    }
    assert_int_equal(hwj_duration_parse(NULL, &(int64_t){0}, NULL), HWJ_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_claims),
        cmocka_unit_test(test_issue_jti_unique),
        cmocka_unit_test(test_issue_jti_after_fork),
        cmocka_unit_test(test_issue_aud_array),
        cmocka_unit_test(test_issue_claims_out),
        cmocka_unit_test(test_issue_options_win),
        cmocka_unit_test(test_issue_typ_kid_header),
        cmocka_unit_test(test_issue_refusals),
        cmocka_unit_test(test_exp_edges),
        cmocka_unit_test(test_nbf_edges),
        cmocka_unit_test(test_iat_future),
        cmocka_unit_test(test_max_age),
        cmocka_unit_test(test_exp_required),
        cmocka_unit_test(test_fractional_dates),
        cmocka_unit_test(test_iss),
        cmocka_unit_test(test_aud),
        cmocka_unit_test(test_sub),
        cmocka_unit_test(test_claim_types),
        cmocka_unit_test(test_claims_shape),
        cmocka_unit_test(test_typ),
        cmocka_unit_test(test_jws_failures_pass_through),
        cmocka_unit_test(test_json_serialization_and_b64_refused),
        cmocka_unit_test(test_verify_refusals),
        cmocka_unit_test(test_claims_output_form),
        cmocka_unit_test(test_verify_threads_share_key),
        cmocka_unit_test(test_real_clock_and_es256),
        cmocka_unit_test(test_duration_parse),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
