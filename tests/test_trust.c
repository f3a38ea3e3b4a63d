/* test_trust.c: verifiers accept only what they were asked to (issue 18). Key sets: no oct
 * beside asymmetric keys, no private beside public keys to verify (a set to decrypt with may
 * hold both), no kid twice. Serializations: the JSON ones only with allow_json; a JWT, and the
 * outer JWE of a nested JWT, only ever compact. Keys from tests/data (software backend). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const EC_PUB = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"ec\","
                                  "\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\","
                                  "\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\"}";
static const char *const EC_PRIV = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"ec-priv\","
                                   "\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\","
                                   "\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\","
                                   "\"d\":\"870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE\"}";
static const char *const OCT = "{\"kty\":\"oct\",\"kid\":\"hs\",\"k\":"
                               "\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-"
                               "1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow\"}";

static hwj_jwks *set_of(const char *a, const char *b, hwj_err want, hwj_error *err)
{
    char *text = NULL;
    hwj_jwks *set = NULL;
    assert_true(asprintf(&text, "{\"keys\":[%s,%s]}", a, b) > 0);
    assert_int_equal(hwj_jwks_parse(text, strlen(text), &set, err), want);
    free(text);
    return set;
}

static void test_set_rules(void **state)
{
    (void)state;
    hwj_error err = {0};
    const hwj_jwk *k = NULL;

    /* oct beside an asymmetric key: refused for every purpose */
    hwj_jwks *set = set_of(EC_PUB, OCT, HWJ_OK, &err);
    assert_int_equal(hwj_jwks_check(set, HWJ_OP_VERIFY, &err), HWJ_ERR_POLICY);
    assert_non_null(strstr(err.message, "symmetric (oct)"));
    assert_int_equal(hwj_jwks_check(set, HWJ_OP_DECRYPT, &err), HWJ_ERR_POLICY);
    assert_int_equal(hwj_jwks_select(set, "hs", HWJ_ALG_HS256, HWJ_OP_VERIFY, &k, &err),
                     HWJ_ERR_POLICY);
    assert_int_equal(hwj_jwks_select(set, "ec", HWJ_ALG_ES256, HWJ_OP_VERIFY, &k, &err),
                     HWJ_ERR_POLICY);
    hwj_jwks_free(set);

    /* private beside public: not to verify with, but a decryption set may */
    set = set_of(EC_PUB, EC_PRIV, HWJ_OK, &err);
    assert_int_equal(hwj_jwks_check(set, HWJ_OP_VERIFY, &err), HWJ_ERR_POLICY);
    assert_non_null(strstr(err.message, "private"));
    assert_int_equal(hwj_jwks_select(set, "ec", HWJ_ALG_ES256, HWJ_OP_VERIFY, &k, &err),
                     HWJ_ERR_POLICY);
    tu_ok(hwj_jwks_check(set, HWJ_OP_DECRYPT, &err), &err);
    hwj_jwks_free(set);

    /* the same kid twice: refused when parsed, and when added */
    char *twin = strdup(EC_PRIV);
    memcpy(strstr(twin, "\"ec-priv\""), "\"ec\"     ", 9); /* kid "ec", padded with spaces */
    assert_null(set_of(EC_PUB, twin, HWJ_ERR_POLICY, &err));
    assert_non_null(strstr(err.message, "kid 'ec' is already used"));
    set = set_of(EC_PUB, EC_PRIV, HWJ_OK, &err);
    hwj_jwk *jwk = NULL;
    tu_ok(hwj_jwk_parse(twin, strlen(twin), &jwk, &err), &err);
    assert_int_equal(hwj_jwks_add(set, jwk, &err), HWJ_ERR_POLICY); /* jwk freed */
    assert_int_equal(hwj_jwks_count(set), 2);
    hwj_jwks_free(set);
    free(twin);

    /* the clean sets pass */
    set = set_of(EC_PUB,
                 "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"ed\",\"x\":"
                 "\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
                 HWJ_OK, &err);
    tu_ok(hwj_jwks_check(set, HWJ_OP_VERIFY, &err), &err);
    hwj_jwks_free(set);
}

/* A key of tests/data through the software backend. */
static hwj_key *data_key(hwj_ctx *ctx, const char *name)
{
    char uri[1024];
    hwj_key *key = NULL;
    hwj_error err = {0};
    snprintf(uri, sizeof(uri), "file:%s/%s", HWJ_TEST_DATA_DIR, name);
    tu_ok(hwj_key_open(ctx, uri, NULL, &key, &err), &err);
    return key;
}

/* The verification set of `key`: its public JWK. */
static hwj_jwks *pub_set(hwj_key *key)
{
    hwj_error err = {0};
    hwj_jwks *set = NULL;
    hwj_jwk *jwk = NULL;
    tu_ok(hwj_jwk_from_key(key, &jwk, &err), &err);
    tu_ok(hwj_jwks_new(&set, &err), &err);
    tu_ok(hwj_jwks_add(set, jwk, &err), &err);
    return set;
}

static void test_jws_json_on_request(void **state)
{
    (void)state;
    hwj_ctx *ctx = NULL;
    hwj_error err = {0};
    hwj_jws_result *res = NULL;
    const hwj_alg es = HWJ_ALG_ES256;
    tu_ok(hwj_ctx_new(&ctx, &err), &err);
    hwj_key *key = data_key(ctx, "soft-p256.pem");
    hwj_jwks *set = pub_set(key);
    static const hwj_jws_format formats[] = {HWJ_JWS_COMPACT, HWJ_JWS_JSON, HWJ_JWS_JSON_FLAT};

    for (size_t i = 0; i < 3; i++) {
        hwj_jws_sign_opts so = {.size = sizeof(hwj_jws_sign_opts), .alg = es, .format = formats[i]};
        char *jws = NULL;
        tu_ok(hwj_jws_sign(key, (const uint8_t *)"hi", 2, &so, &jws, &err), &err);
        hwj_verify_policy pol = {.size = sizeof(hwj_verify_policy), .algs = &es, .nalgs = 1};
        hwj_err rc = hwj_jws_verify(jws, strlen(jws), set, &pol, NULL, 0, &res, &err);
        if (formats[i] == HWJ_JWS_COMPACT) {
            tu_ok(rc, &err);
        } else {
            assert_int_equal(rc, HWJ_ERR_POLICY);
            assert_non_null(strstr(err.message, "JSON serialization"));
            assert_null(res);
        }
        hwj_jws_result_free(res);
        res = NULL;
        pol.allow_json = 1;
        tu_ok(hwj_jws_verify(jws, strlen(jws), set, &pol, NULL, 0, &res, &err), &err);
        hwj_jws_result_free(res);
        res = NULL;
        hwj_free(jws);
    }

    /* a JWT is compact whatever allow_json says */
    hwj_jwt_issue_opts io = {.size = sizeof(hwj_jwt_issue_opts),
                             .iss = "https://iss",
                             .aud = (const char *const[]){"api"},
                             .naud = 1,
                             .ttl = 60,
                             .alg = es};
    char *jwt = NULL, *claims = NULL;
    tu_ok(hwj_jwt_issue(key, &io, &jwt, &err), &err);
    hwj_jwt_verify_opts vo = {.size = sizeof(hwj_jwt_verify_opts),
                              .policy = &(hwj_verify_policy){.size = sizeof(hwj_verify_policy),
                                                             .algs = &es,
                                                             .nalgs = 1,
                                                             .allow_json = 1},
                              .iss = "https://iss",
                              .aud = "api"};
    tu_ok(hwj_jwt_verify(jwt, strlen(jwt), set, &vo, &claims, &err), &err);
    hwj_free(claims);
    claims = NULL;
    /* the same JWS in the flattened JSON serialization */
    char *dot1 = strchr(jwt, '.'), *dot2 = strchr(dot1 + 1, '.'), *flat = NULL;
    assert_true(asprintf(&flat,
                         "{\"protected\":\"%.*s\",\"payload\":\"%.*s\",\"signature\":\"%s\"}",
                         (int)(dot1 - jwt), jwt, (int)(dot2 - dot1 - 1), dot1 + 1, dot2 + 1) > 0);
    hwj_verify_policy pol = {
        .size = sizeof(hwj_verify_policy), .algs = &es, .nalgs = 1, .allow_json = 1};
    tu_ok(hwj_jws_verify(flat, strlen(flat), set, &pol, NULL, 0, &res, &err), &err);
    hwj_jws_result_free(res);
    assert_int_not_equal(hwj_jwt_verify(flat, strlen(flat), set, &vo, &claims, &err), HWJ_OK);
    assert_null(claims);
    assert_non_null(strstr(err.message, "compact"));
    free(flat);
    hwj_free(jwt);
    hwj_jwks_free(set);
    hwj_key_free(key);
    hwj_ctx_free(ctx);
}

static void test_jwe_json_on_request(void **state)
{
    (void)state;
    hwj_error err = {0};
    hwj_jwk *oct = NULL;
    hwj_jwe_result *res = NULL;
    const hwj_alg kw = HWJ_ALG_A256KW, enc = HWJ_ENC_A256GCM;
    const char *k32 = "{\"kty\":\"oct\",\"k\":\"GawgguFyGrWKav7AX4VKUg4nrHW3oAtqSwOqx4C5Yjo\"}";
    tu_ok(hwj_jwk_parse(k32, strlen(k32), &oct, &err), &err);
    static const hwj_jwe_format formats[] = {HWJ_JWE_COMPACT, HWJ_JWE_JSON, HWJ_JWE_JSON_FLAT};

    for (size_t i = 0; i < 3; i++) {
        hwj_jwe_recipient to = {.size = sizeof(hwj_jwe_recipient), .alg = kw, .jwk = oct};
        hwj_jwe_encrypt_opts eo = {
            .size = sizeof(hwj_jwe_encrypt_opts), .enc = enc, .format = formats[i], .cty = "JWT"};
        char *jwe = NULL;
        tu_ok(hwj_jwe_encrypt(&to, 1, (const uint8_t *)"a.b.c", 5, &eo, &jwe, &err), &err);
        hwj_jwe_decrypt_opts o = {.size = sizeof(hwj_jwe_decrypt_opts),
                                  .algs = &kw,
                                  .nalgs = 1,
                                  .encs = &enc,
                                  .nencs = 1,
                                  .jwk = oct};
        hwj_err rc = hwj_jwe_decrypt(jwe, strlen(jwe), &o, &res, &err);
        if (formats[i] == HWJ_JWE_COMPACT) {
            tu_ok(rc, &err);
        } else {
            assert_int_equal(rc, HWJ_ERR_POLICY);
            assert_non_null(strstr(err.message, "JSON serialization"));
            assert_null(res);
        }
        hwj_jwe_result_free(res);
        res = NULL;
        o.allow_json = 1;
        tu_ok(hwj_jwe_decrypt(jwe, strlen(jwe), &o, &res, &err), &err);
        hwj_jwe_result_free(res);
        res = NULL;
        /* a nested JWT's outer JWE is compact whatever allow_json says */
        if (formats[i] != HWJ_JWE_COMPACT) {
            hwj_jwks *none = NULL;
            char *claims = NULL;
            const hwj_alg es = HWJ_ALG_ES256;
            hwj_jwt_verify_opts vo = {
                .size = sizeof(hwj_jwt_verify_opts),
                .policy = &(
                    hwj_verify_policy){.size = sizeof(hwj_verify_policy), .algs = &es, .nalgs = 1},
                .iss = "https://iss",
                .aud = "api"};
            tu_ok(hwj_jwks_new(&none, &err), &err);
            assert_int_equal(hwj_jwt_verify_nested(jwe, strlen(jwe), &o, none, &vo, &claims, &err),
                             HWJ_ERR_PARSE);
            assert_non_null(strstr(err.message, "compact"));
            hwj_jwks_free(none);
        }
        hwj_free(jwe);
    }
    hwj_jwk_free(oct);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_rules),
        cmocka_unit_test(test_jws_json_on_request),
        cmocka_unit_test(test_jwe_json_on_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
