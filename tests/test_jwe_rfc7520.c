/* test_jwe_rfc7520.c: every RFC 7520 §5 JWE example and the §6 nested example decrypt
 * (compact, general JSON and flattened JSON, where the cookbook gives them). Private
 * keys are software keys opened as jwk:PATH; ctest runs the same binary again as
 * test_jwe_rfc7520_pkcs11 (HWJ_JWE_BACKEND=pkcs11), where test_jwe_common.c imports each
 * asymmetric key into SoftHSM, so RSA1_5, RSA-OAEP, ECDH-ES(+A*KW) decrypt in the token. */
#include "test_jwe_common.h"

#include <stdlib.h>
#include <string.h>

static json_t *member(const json_t *o, const char *path1, const char *path2)
{
    json_t *v = json_object_get(o, path1);
    return path2 ? json_object_get(v, path2) : v;
}

/* Decrypt every serialization `ex` ("output" of an example) holds; expect `pt`. */
static int decrypt_all(const json_t *out, const char *pt, const hwj_jwe_decrypt_opts *o)
{
    static const char *const forms[] = {"compact", "json", "json_flat"};
    int done = 0;
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(out, forms[i]);
        hwj_jwe_result *res = NULL;
        hwj_error err;
        if (v == NULL)
            continue;
        char *text = json_is_string(v) ? strdup(json_string_value(v)) : jt_dump(v);
        hwj_err rc = hwj_jwe_decrypt(text, strlen(text), o, &res, &err);
        if (rc != HWJ_OK)
            fail_msg("%s: %s (%d)", forms[i], err.message, (int)rc);
        assert_int_equal(res->plaintext_len, strlen(pt));
        assert_memory_equal(res->plaintext, pt, strlen(pt));
        hwj_jwe_result_free(res);
        free(text);
        done++;
    }
    return done;
}

static void run_with_key(const char *file, int rsa1_5)
{
    json_t *ex = tu_conformance(file);
    hwj_key *key = jt_key_from_jwk(member(ex, "input", "key"), "jwe-rfc-key.json");
    hwj_jwe_decrypt_opts o = jt_opts_all();
    o.key = key;
    o.allow_rsa1_5 = rsa1_5;
    assert_true(decrypt_all(member(ex, "output", NULL),
                            json_string_value(member(ex, "input", "plaintext")), &o) > 0);
    hwj_key_free(key);
    json_decref(ex);
}

static void run_with_oct(const char *file)
{
    json_t *ex = tu_conformance(file);
    json_t *k = member(ex, "input", "key");
    hwj_jwk *jwk = jt_oct(json_string_value(json_object_get(k, "k")),
                          hwj_alg_from_name(json_string_value(json_object_get(k, "alg"))));
    hwj_jwe_decrypt_opts o = jt_opts_all();
    o.jwk = jwk;
    assert_true(decrypt_all(member(ex, "output", NULL),
                            json_string_value(member(ex, "input", "plaintext")), &o) > 0);
    hwj_jwk_free(jwk);
    json_decref(ex);
}

#define JWE(n) "jwe/" n
static void t_5_1_rsa1_5(void **s)
{
    (void)s;
    run_with_key(JWE("5_1.key_encryption_using_rsa_v15_and_aes-hmac-sha2.json"), 1);
}

static void t_5_1_rsa1_5_needs_opt_in(void **s)
{
    (void)s;
    json_t *ex = tu_conformance(JWE("5_1.key_encryption_using_rsa_v15_and_aes-hmac-sha2.json"));
    hwj_key *key = jt_key_from_jwk(member(ex, "input", "key"), "jwe-rfc-key.json");
    hwj_jwe_decrypt_opts o = jt_opts_all();
    o.key = key; /* RSA1_5 is in the allow-list, but allow_rsa1_5 is not set */
    assert_int_equal(jt_decrypt(json_string_value(member(ex, "output", "compact")), &o, NULL),
                     HWJ_ERR_POLICY);
    hwj_key_free(key);
    json_decref(ex);
}

static void t_5_2_rsa_oaep(void **s)
{
    (void)s;
    run_with_key(JWE("5_2.key_encryption_using_rsa-oaep_with_aes-gcm.json"), 0);
}

static void t_5_3_pbes2(void **s)
{
    (void)s;
    json_t *ex =
        tu_conformance(JWE("5_3.key_wrap_using_pbes2-aes-keywrap_with-aes-cbc-hmac-sha2.json"));
    const char *pwd = json_string_value(member(ex, "input", "pwd"));
    hwj_jwe_decrypt_opts o = jt_opts_all();
    o.password = pwd;
    o.password_len = strlen(pwd);
    assert_int_equal(decrypt_all(member(ex, "output", NULL),
                                 json_string_value(member(ex, "input", "plaintext")), &o),
                     3);
    json_decref(ex);
}

static void t_5_4_ecdh_es_kw(void **s)
{
    (void)s;
    run_with_key(
        JWE("5_4.key_agreement_with_key_wrapping_using_ecdh-es_and_aes-keywrap_with_aes-gcm.json"),
        0);
}

static void t_5_5_ecdh_es(void **s)
{
    (void)s;
    run_with_key(JWE("5_5.key_agreement_using_ecdh-es_with_aes-cbc-hmac-sha2.json"), 0);
}

static void t_5_6_dir(void **s)
{
    (void)s;
    run_with_oct(JWE("5_6.direct_encryption_using_aes-gcm.json"));
}

static void t_5_7_gcmkw(void **s)
{
    (void)s;
    run_with_oct(JWE("5_7.key_wrap_using_aes-gcm_keywrap_with_aes-cbc-hmac-sha2.json"));
}

static void t_5_8_aeskw(void **s)
{
    (void)s;
    run_with_oct(JWE("5_8.key_wrap_using_aes-keywrap_with_aes-gcm.json"));
}

static void t_5_9_zip(void **s)
{
    (void)s;
    run_with_oct(JWE("5_9.compressed_content.json"));
}

static void t_5_10_aad(void **s)
{
    (void)s;
    run_with_oct(JWE("5_10.including_additional_authentication_data.json"));
}

static void t_5_11_specific_fields(void **s)
{
    (void)s;
    run_with_oct(JWE("5_11.protecting_specific_header_fields.json"));
}

static void t_5_12_content_only(void **s)
{
    (void)s;
    run_with_oct(JWE("5_12.protecting_content_only.json"));
}

static void t_5_13_multiple_recipients(void **s)
{
    (void)s;
    json_t *ex = tu_conformance(JWE("5_13.encrypting_to_multiple_recipients.json"));
    json_t *keys = member(ex, "input", "key");
    const char *pt = json_string_value(member(ex, "input", "plaintext"));
    hwj_key *rsa = jt_key_from_jwk(json_array_get(keys, 0), "jwe-rfc-rsa.json");
    hwj_key *ec = jt_key_from_jwk(json_array_get(keys, 1), "jwe-rfc-ec.json");
    hwj_jwk *oct =
        jt_oct(json_string_value(json_object_get(json_array_get(keys, 2), "k")), HWJ_ALG_A256GCMKW);
    hwj_jwe_decrypt_opts o = jt_opts_all();
    hwj_jwe_result *res = NULL;
    char *text = jt_dump(member(ex, "output", "json"));

    o.key = rsa;
    o.allow_rsa1_5 = 1;
    assert_int_equal(decrypt_all(member(ex, "output", NULL), pt, &o), 1);
    o.key = ec;
    assert_int_equal(jt_decrypt(text, &o, &res), HWJ_OK);
    assert_int_equal(res->recipient_index, 1);
    assert_int_equal(res->alg, HWJ_ALG_ECDH_ES_A256KW);
    hwj_jwe_result_free(res);
    o.key = NULL;
    o.jwk = oct;
    assert_int_equal(jt_decrypt(text, &o, &res), HWJ_OK);
    assert_int_equal(res->recipient_index, 2);
    assert_non_null(strstr(res->header_json, "\"cty\":\"text/plain\""));
    hwj_jwe_result_free(res);
    free(text);
    hwj_jwk_free(oct);
    hwj_key_free(ec);
    hwj_key_free(rsa);
    json_decref(ex);
}

static void t_6_nested(void **s)
{
    (void)s;
    json_t *ex = tu_conformance("6.nesting_signatures_and_encryption.json");
    json_t *enc = json_object_get(ex, "encrypt");
    hwj_key *key = jt_key_from_jwk(member(enc, "input", "key"), "jwe-rfc-nest.json");
    hwj_jwe_decrypt_opts o = jt_opts_all();
    o.key = key;
    const char *jws = json_string_value(json_object_get(member(ex, "sign", "output"), "compact"));
    assert_non_null(jws);
    /* the plaintext is the inner JWS; test_jwe_nested.c verifies such inner tokens */
    assert_int_equal(decrypt_all(member(enc, "output", NULL), jws, &o), 3);
    hwj_key_free(key);
    json_decref(ex);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_5_3_pbes2),
        cmocka_unit_test(t_5_6_dir),
        cmocka_unit_test(t_5_7_gcmkw),
        cmocka_unit_test(t_5_8_aeskw),
        cmocka_unit_test(t_5_9_zip),
        cmocka_unit_test(t_5_10_aad),
        cmocka_unit_test(t_5_11_specific_fields),
        cmocka_unit_test(t_5_12_content_only),
        cmocka_unit_test(t_5_1_rsa1_5),
        cmocka_unit_test(t_5_1_rsa1_5_needs_opt_in),
        cmocka_unit_test(t_5_2_rsa_oaep),
        cmocka_unit_test(t_5_4_ecdh_es_kw),
        cmocka_unit_test(t_5_5_ecdh_es),
        cmocka_unit_test(t_5_13_multiple_recipients),
        cmocka_unit_test(t_6_nested),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
