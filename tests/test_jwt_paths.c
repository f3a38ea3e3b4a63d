/* test_jwt_paths.c: the signing hot path writes a JWT's claims and protected header itself
 * (core/jwrite.c) when they have the common shape, and with Jansson otherwise; the bytes must
 * not depend on the path. HS256 is deterministic, so each case signs the same content twice —
 * once in the common shape, once with an escape that Jansson reads back to the same character
 * (which sends it down the Jansson path) — and the tokens must be equal byte for byte. */
#include "testutil.h"

#include <hwjose/hwjose.h>
#include <string.h>

#define T0 ((int64_t)1767225600)

static hwj_ctx *ctx;
static hwj_key *hs;

static int64_t fixed_clock(void *arg)
{
    return *(const int64_t *)arg;
}

static int setup(void **state)
{
    static const char jwk[] =
        "{\"kty\":\"oct\",\"kid\":\"hs-paths\",\"k\":\"fNyBmPMmH9LCdFAuhD"
        "KV47o4roLpILTGNv-mS7Ch4vUuN9zGiwMKBRqOZ9mNBuLVrUeswFbXc6K0Y00VkpfQww\"}";
    hwj_error err;
    char uri[4200];
    char *path = tu_write_temp("jwt-paths.json", jwk);
    (void)state;
    snprintf(uri, sizeof(uri), "jwk:%s", path);
    free(path);
    if (hwj_ctx_new(&ctx, &err) != HWJ_OK || hwj_key_open(ctx, uri, NULL, &hs, &err) != HWJ_OK) {
        fprintf(stderr, "setup: %s\n", err.message);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    hwj_key_free(hs);
    hwj_ctx_free(ctx);
    return 0;
}

static char *issue(const char *sub, const char *const *aud, size_t naud, const char *claims,
                   const char *header, int refuse_registered, hwj_err *rc)
{
    int64_t now = T0;
    hwj_jwt_issue_opts o = {.size = sizeof(hwj_jwt_issue_opts),
                            .iss = "https://issuer.example",
                            .sub = sub,
                            .aud = aud,
                            .naud = naud,
                            .ttl = 900,
                            .nbf_offset = -30,
                            .claims_json = claims,
                            .header_json = header,
                            .no_jti = 1,
                            .clock = fixed_clock,
                            .clock_arg = &now,
                            .refuse_registered = refuse_registered};
    char *jwt = NULL;
    hwj_error err;
    *rc = hwj_jwt_issue(hs, &o, &jwt, &err);
    return jwt;
}

static void same_bytes(const char *sub, size_t naud, const char *fast_claims,
                       const char *slow_claims, const char *fast_header, const char *slow_header)
{
    static const char *const aud[] = {"api", "other"};
    hwj_err r1, r2;
    char *a = issue(sub, aud, naud, fast_claims, fast_header, 0, &r1);
    char *b = issue(sub, aud, naud, slow_claims, slow_header, 0, &r2);
    assert_int_equal(r1, r2);
    if (r1 == HWJ_OK)
        assert_string_equal(a, b);
    hwj_free(a);
    hwj_free(b);
}

static void test_claims_same_bytes(void **state)
{
    (void)state;
    /* \u0072 is 'r', \u002d is '-': Jansson writes them back as the characters */
    same_bytes(NULL, 1, "{\"r\":1}", "{\"\\u0072\":1}", NULL, NULL);
    same_bytes("alice", 2, "{\"scope\":\"read write\",\"role\":\"reader\",\"n\":-0,\"t\":true}",
               "{\"scope\":\"read write\",\"\\u0072ole\":\"reader\",\"n\":-0,\"t\":true}", NULL,
               NULL);
    same_bytes(NULL, 1, "{\"a\":[1,\"x\",null,false],\"e\":[],\"sub\":\"s\",\"jti\":\"j\"}",
               "{\"a\":[1,\"x\",null,false],\"e\":[],\"sub\":\"s\",\"jti\":\"\\u006a\"}", NULL,
               NULL);
    /* the options win over claims_json's registered names, in either path */
    same_bytes("alice", 1, "{\"iss\":\"x\",\"sub\":\"bob\",\"exp\":1,\"aud\":\"y\",\"k\":\"v\"}",
               "{\"iss\":\"x\",\"sub\":\"bob\",\"exp\":1,\"aud\":\"y\",\"k\":\"\\u0076\"}", NULL,
               NULL);
    /* refusals agree too: sub must be a string when the options do not set it */
    same_bytes(NULL, 1, "{\"sub\":5}", "{\"sub\":5,\"\\u0072\":1}", NULL, NULL);
    /* a slash: written as it is by both (Jansson escapes it only when asked) */
    same_bytes(NULL, 1, "{\"u\":\"a/b\"}", "{\"u\":\"a\\/b\"}", NULL, NULL);
}

static void test_header_same_bytes(void **state)
{
    (void)state;
    same_bytes(NULL, 1, NULL, NULL, "{\"typ\":\"at+jwt\",\"x5t\":\"abc\"}",
               "{\"typ\":\"at+jwt\",\"x5t\":\"ab\\u0063\"}");
    same_bytes(NULL, 1, NULL, NULL, "{\"alg\":\"HS256\",\"kid\":\"hs-paths\",\"n\":[1,2],\"r\":0}",
               "{\"alg\":\"HS256\",\"kid\":\"hs-paths\",\"n\":[1,2],\"\\u0072\":0}");
    /* refused in both: another alg, a kid that is not the key's, crit */
    same_bytes(NULL, 1, NULL, NULL, "{\"alg\":\"RS256\"}", "{\"alg\":\"RS25\\u0036\"}");
    same_bytes(NULL, 1, NULL, NULL, "{\"kid\":\"other\"}", "{\"kid\":\"othe\\u0072\"}");
    same_bytes(NULL, 1, NULL, NULL, "{\"crit\":[\"x\"],\"x\":1}",
               "{\"crit\":[\"\\u0078\"],\"x\":1}");
}

/* A JWT's bytes for the usual options, pinned: a change in either path shows here. */
static void test_pinned(void **state)
{
    (void)state;
    static const char *const aud[] = {"api"};
    hwj_err rc;
    char *jwt = issue("alice", aud, 1, "{\"scope\":\"read\"}", NULL, 0, &rc);
    assert_int_equal(rc, HWJ_OK);
    char *h = NULL, *c = NULL;
    uint8_t *cb = NULL;
    size_t cl = 0;
    hwj_error err;
    tu_ok(hwj_token_inspect(jwt, strlen(jwt), &h, &cb, &cl, &err), &err);
    assert_string_equal(h, "{\"alg\":\"HS256\",\"kid\":\"hs-paths\",\"typ\":\"JWT\"}");
    c = (char *)cb;
    assert_string_equal(c, "{\"iss\":\"https://issuer.example\",\"sub\":\"alice\",\"aud\":\"api\","
                           "\"iat\":1767225600,\"nbf\":1767225570,\"exp\":1767226500,"
                           "\"scope\":\"read\"}");
    hwj_free(h);
    hwj_free(cb);
    hwj_free(jwt);
}

/* A string that is not UTF-8 is refused by name (it read "out of memory" before). */
static void test_not_utf8(void **state)
{
    (void)state;
    static const char *const aud[] = {"api"}, *const bad_aud[] = {"api", "\xed\xa0\x80"};
    int64_t now = T0;
    hwj_jwt_issue_opts o = {.size = sizeof(hwj_jwt_issue_opts),
                            .iss = "https://issuer.example",
                            .aud = aud,
                            .naud = 1,
                            .ttl = 900,
                            .clock = fixed_clock,
                            .clock_arg = &now};
    char *jwt = NULL;
    hwj_error err;

    o.iss = "https://issuer.example/\xff";
    assert_int_equal(hwj_jwt_issue(hs, &o, &jwt, &err), HWJ_ERR_ARG);
    assert_string_equal(err.message, "the JWT's iss is not valid UTF-8");
    o.iss = "https://issuer.example";
    o.sub = "\xc0\xaf"; /* an overlong '/' */
    assert_int_equal(hwj_jwt_issue(hs, &o, &jwt, &err), HWJ_ERR_ARG);
    assert_string_equal(err.message, "the JWT's sub is not valid UTF-8");
    o.sub = "\xc3\xa9l\xc3\xa8ve \xf0\x9f\x98\x80"; /* valid: accepted */
    tu_ok(hwj_jwt_issue(hs, &o, &jwt, &err), &err);
    hwj_free(jwt);
    jwt = NULL;
    o.aud = bad_aud; /* a surrogate */
    o.naud = 2;
    assert_int_equal(hwj_jwt_issue(hs, &o, &jwt, &err), HWJ_ERR_ARG);
    assert_string_equal(err.message, "audience 2 is not valid UTF-8");
    assert_null(jwt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claims_same_bytes),
        cmocka_unit_test(test_header_same_bytes),
        cmocka_unit_test(test_pinned),
        cmocka_unit_test(test_not_utf8),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
