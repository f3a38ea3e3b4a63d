/* test_abi.c: the options-struct ABI (include/hwjose/common.h), through the shared library as an
 * installed program would use it. A caller built against an older, smaller struct still works
 * (the members it does not know read as defaults); a size the library does not know is refused. */
#include <hwjose/hwjose.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static hwj_ctx *ctx;
static hwj_key *key;
static hwj_jwks *set;

/* hwj_jws_sign_opts and hwj_jwt_verify_opts as an older header had them: fewer members. */
typedef struct old_sign_opts {
    size_t size;
    hwj_alg alg;
    const char *kid;
} old_sign_opts;

typedef struct old_verify_opts {
    size_t size;
    const hwj_verify_policy *policy;
    const char *iss;
    const char *aud;
} old_verify_opts;

static const hwj_alg es256[] = {HWJ_ALG_ES256};

static int setup(void **state)
{
    hwj_jwk *pub = NULL;
    (void)state;
    if (hwj_ctx_new(&ctx, NULL) != HWJ_OK ||
        hwj_key_open(ctx, "file:" HWJ_TEST_DATA_DIR "/soft-p256.pem", NULL, &key, NULL) != HWJ_OK ||
        hwj_jwk_from_key(key, &pub, NULL) != HWJ_OK || hwj_jwks_new(&set, NULL) != HWJ_OK ||
        hwj_jwks_add(set, pub, NULL) != HWJ_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    hwj_jwks_free(set);
    hwj_key_free(key);
    hwj_ctx_free(ctx);
    return 0;
}

static void older_structs_work(void **state)
{
    old_sign_opts so = {offsetof(old_sign_opts, kid) + sizeof(so.kid), HWJ_ALG_ES256, NULL};
    hwj_verify_policy pol = HWJ_VERIFY_POLICY_INIT;
    hwj_jws_result *res = NULL;
    hwj_error err;
    char *jws = NULL;
    (void)state;

    assert_int_equal(
        hwj_jws_sign(key, (const uint8_t *)"hi", 2, (const hwj_jws_sign_opts *)&so, &jws, &err),
        HWJ_OK);
    assert_int_equal(strchr(jws, '.') != NULL, 1); /* compact: the default format */
    pol.algs = es256;
    pol.nalgs = 1;
    pol.size = offsetof(hwj_verify_policy, nalgs) + sizeof(pol.nalgs);
    pol.max_size = 1; /* beyond the caller's size: must read as the default, not as 1 */
    assert_int_equal(hwj_jws_verify(jws, strlen(jws), set, &pol, NULL, 0, &res, &err), HWJ_OK);
    assert_memory_equal(res->payload, "hi", 2);
    hwj_jws_result_free(res);
    hwj_free(jws);
}

static void older_jwt_verify_opts_work(void **state)
{
    const char *aud[] = {"a"};
    hwj_jwt_issue_opts io = HWJ_JWT_ISSUE_OPTS_INIT;
    hwj_verify_policy pol = HWJ_VERIFY_POLICY_INIT;
    old_verify_opts vo = {offsetof(old_verify_opts, aud) + sizeof(vo.aud), &pol, "i", "a"};
    hwj_error err;
    char *jwt = NULL, *claims = NULL;
    (void)state;

    io.iss = "i";
    io.aud = aud;
    io.naud = 1;
    io.ttl = 60;
    assert_int_equal(hwj_jwt_issue(key, &io, &jwt, &err), HWJ_OK);
    pol.algs = es256;
    pol.nalgs = 1;
    assert_int_equal(
        hwj_jwt_verify(jwt, strlen(jwt), set, (const hwj_jwt_verify_opts *)&vo, &claims, &err),
        HWJ_OK);
    assert_non_null(strstr(claims, "\"iss\":\"i\""));
    hwj_free(claims);
    hwj_free(jwt);
}

static void unknown_sizes_refused(void **state)
{
    /* A program built against a newer libhwjose: its struct is larger than ours. */
    struct {
        hwj_jws_sign_opts o;
        char newer[16];
    } big = {{0}, {0}};
    hwj_jws_sign_opts zero = {0};
    hwj_keygen_opts kg = HWJ_KEYGEN_OPTS_INIT;
    hwj_key *k = NULL;
    hwj_error err;
    char *jws = NULL;
    (void)state;

    big.o.size = sizeof(big);
    assert_int_equal(hwj_jws_sign(key, (const uint8_t *)"x", 1, &big.o, &jws, &err), HWJ_ERR_ARG);
    assert_null(jws);
    assert_non_null(strstr(err.message, "newer libhwjose"));
    /* Never initialised: the size is 0. */
    assert_int_equal(hwj_jws_sign(key, (const uint8_t *)"x", 1, &zero, &jws, &err), HWJ_ERR_ARG);
    assert_non_null(strstr(err.message, "_INIT"));
    kg.alg = HWJ_ALG_ES256;
    kg.size = sizeof(kg) + 8;
    assert_int_equal(hwj_key_generate(ctx, "file:/nonexistent", &kg, &k, &err), HWJ_ERR_ARG);
    assert_null(k);
    assert_non_null(strstr(err.message, "hwj_keygen_opts"));
}

/* An array of older recipients: the library steps by the caller's size, not its own. */
static void older_recipient_array(void **state)
{
    struct old_recipient {
        size_t size;
        hwj_alg alg;
        const hwj_jwk *jwk;
        const char *password;
        size_t password_len;
    } rs[2] = {{sizeof(rs[0]), HWJ_ALG_PBES2_HS256_A128KW, NULL, "one", 3},
               {sizeof(rs[0]), HWJ_ALG_PBES2_HS256_A128KW, NULL, "two", 3}};
    hwj_jwe_encrypt_opts eo = HWJ_JWE_ENCRYPT_OPTS_INIT;
    hwj_jwe_decrypt_opts d = HWJ_JWE_DECRYPT_OPTS_INIT;
    const hwj_alg algs[] = {HWJ_ALG_PBES2_HS256_A128KW}, encs[] = {HWJ_ENC_A256GCM};
    hwj_jwe_result *res = NULL;
    hwj_error err;
    char *jwe = NULL;
    (void)state;

    eo.format = HWJ_JWE_JSON;
    assert_int_equal(hwj_jwe_encrypt((const hwj_jwe_recipient *)rs, 2, (const uint8_t *)"pt", 2,
                                     &eo, &jwe, &err),
                     HWJ_OK);
    d.algs = algs;
    d.nalgs = 1;
    d.encs = encs;
    d.nencs = 1;
    d.password = "one";
    d.password_len = 3;
    d.allow_json = 1; /* the recipients array needs the JSON serialization */
    assert_int_equal(hwj_jwe_decrypt(jwe, strlen(jwe), &d, &res, &err), HWJ_OK);
    assert_memory_equal(res->plaintext, "pt", 2);
    hwj_jwe_result_free(res);
    hwj_free(jwe);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(older_structs_work),
        cmocka_unit_test(older_jwt_verify_opts_work),
        cmocka_unit_test(unknown_sizes_refused),
        cmocka_unit_test(older_recipient_array),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
