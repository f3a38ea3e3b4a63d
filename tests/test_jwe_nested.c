/* test_jwe_nested.c: the nested JWT (sign inside the issuer's key, encrypt to the
 * receiver; decrypt inside the receiver's key, verify against the issuer's JWKS), and
 * RFC 7520 §6's inner JWS verified after decryption. */
#include "test_jwe_common.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const hwj_alg sig_algs[] = {HWJ_ALG_ES256};
static const hwj_alg km_algs[] = {HWJ_ALG_RSA_OAEP_256};
static const hwj_alg enc_algs[] = {HWJ_ENC_A256GCM};

static hwj_key *new_key(const char *type, const char *param, const char *name)
{
    EVP_PKEY *pk = param ? EVP_PKEY_Q_keygen(NULL, NULL, type, param)
                         : EVP_PKEY_Q_keygen(NULL, NULL, type, (size_t)2048);
    assert_non_null(pk);
    hwj_key *key = jt_key_from_pkey(pk, name);
    EVP_PKEY_free(pk);
    return key;
}

typedef struct fixture {
    hwj_key *issuer, *receiver;
    hwj_jwk *receiver_pub;
    hwj_jwks *issuer_keys;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    hwj_jwk *ipub = NULL;
    hwj_error err;
    fx->issuer = new_key("EC", "P-256", "jwe-nested-iss");
    fx->receiver = new_key("RSA", NULL, "jwe-nested-rcpt");
    tu_ok(hwj_jwk_from_key(fx->receiver, &fx->receiver_pub, &err), &err);
    tu_ok(hwj_jwk_from_key(fx->issuer, &ipub, &err), &err);
    tu_ok(hwj_jwks_new(&fx->issuer_keys, &err), &err);
    tu_ok(hwj_jwks_add(fx->issuer_keys, ipub, &err), &err);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    hwj_jwks_free(fx->issuer_keys);
    hwj_jwk_free(fx->receiver_pub);
    hwj_key_free(fx->receiver);
    hwj_key_free(fx->issuer);
    free(fx);
    return 0;
}

static void options(hwj_jwe_decrypt_opts *d, hwj_jwt_verify_opts *v, hwj_key *receiver)
{
    static const hwj_verify_policy sig_policy = {
        .size = sizeof(hwj_verify_policy), .algs = sig_algs, .nalgs = 1};
    *d = (hwj_jwe_decrypt_opts)HWJ_JWE_DECRYPT_OPTS_INIT;
    *v = (hwj_jwt_verify_opts)HWJ_JWT_VERIFY_OPTS_INIT;
    d->algs = km_algs;
    d->nalgs = 1;
    d->encs = enc_algs;
    d->nencs = 1;
    d->key = receiver;
    v->policy = &sig_policy;
    v->iss = "https://issuer.example";
    v->aud = "receiver";
}

static char *issue(fixture *fx)
{
    const char *aud[] = {"receiver"};
    hwj_jwt_issue_opts io = {.size = sizeof(hwj_jwt_issue_opts),
                             .iss = "https://issuer.example",
                             .aud = aud,
                             .naud = 1,
                             .ttl = 300,
                             .sub = "alice",
                             .alg = HWJ_ALG_ES256};
    hwj_jwe_recipient to = {
        .size = sizeof(hwj_jwe_recipient), .alg = HWJ_ALG_RSA_OAEP_256, .jwk = fx->receiver_pub};
    hwj_jwe_encrypt_opts eo = {.size = sizeof(hwj_jwe_encrypt_opts), .enc = HWJ_ENC_A256GCM};
    char *jwe = NULL;
    hwj_error err;
    tu_ok(hwj_jwt_issue_nested(fx->issuer, &io, &to, &eo, &jwe, &err), &err);
    return jwe;
}

static void t_round_trip(void **state)
{
    fixture *fx = *state;
    hwj_jwe_decrypt_opts d;
    hwj_jwt_verify_opts v;
    char *claims = NULL, *jwe = issue(fx);
    hwj_error err;
    options(&d, &v, fx->receiver);
    assert_int_equal(strchr(jwe, '.') != NULL, 1);
    tu_ok(hwj_jwt_verify_nested(jwe, strlen(jwe), &d, fx->issuer_keys, &v, &claims, &err), &err);
    assert_non_null(strstr(claims, "\"sub\":\"alice\""));
    hwj_free(claims);
    /* the claims are still checked: another audience is refused */
    v.aud = "someone-else";
    assert_int_equal(
        hwj_jwt_verify_nested(jwe, strlen(jwe), &d, fx->issuer_keys, &v, &claims, &err),
        HWJ_ERR_CLAIMS);
    hwj_free(jwe);
}

static void t_requires_cty_jwt(void **state)
{
    fixture *fx = *state;
    hwj_jwe_decrypt_opts d;
    hwj_jwt_verify_opts v;
    hwj_jwe_recipient to = {
        .size = sizeof(hwj_jwe_recipient), .alg = HWJ_ALG_RSA_OAEP_256, .jwk = fx->receiver_pub};
    hwj_jwe_encrypt_opts eo = {.size = sizeof(hwj_jwe_encrypt_opts), .enc = HWJ_ENC_A256GCM};
    char *jwe = NULL, *claims = NULL;
    hwj_error err;
    options(&d, &v, fx->receiver);
    tu_ok(hwj_jwe_encrypt(&to, 1, (const uint8_t *)"a.b.c", 5, &eo, &jwe, &err), &err);
    assert_int_equal(
        hwj_jwt_verify_nested(jwe, strlen(jwe), &d, fx->issuer_keys, &v, &claims, &err),
        HWJ_ERR_POLICY);
    hwj_free(jwe);
    /* a JWE inside the JWE is not a JWS */
    eo.cty = "JWT";
    tu_ok(hwj_jwe_encrypt(&to, 1, (const uint8_t *)"a.b.c.d.e", 9, &eo, &jwe, &err), &err);
    assert_int_equal(
        hwj_jwt_verify_nested(jwe, strlen(jwe), &d, fx->issuer_keys, &v, &claims, &err),
        HWJ_ERR_POLICY);
    hwj_free(jwe);
}

static void t_wrong_issuer_key(void **state)
{
    fixture *fx = *state;
    hwj_key *other = new_key("EC", "P-256", "jwe-nested-other");
    hwj_jwk *opub = NULL;
    hwj_jwks *set = NULL;
    hwj_jwe_decrypt_opts d;
    hwj_jwt_verify_opts v;
    char *claims = NULL, *jwe = issue(fx);
    hwj_error err;
    options(&d, &v, fx->receiver);
    tu_ok(hwj_jwk_from_key(other, &opub, &err), &err);
    tu_ok(hwj_jwks_new(&set, &err), &err);
    tu_ok(hwj_jwks_add(set, opub, &err), &err);
    assert_int_not_equal(hwj_jwt_verify_nested(jwe, strlen(jwe), &d, set, &v, &claims, &err),
                         HWJ_OK);
    assert_null(claims);
    hwj_jwks_free(set);
    hwj_key_free(other);
    hwj_free(jwe);
}

/* RFC 7520 §6: decrypt, then verify the inner PS256 JWS with the issuer's public key. */
static void t_rfc7520_6(void **state)
{
    (void)state;
    json_t *ex = tu_conformance("6.nesting_signatures_and_encryption.json");
    json_t *enc = json_object_get(ex, "encrypt"), *sign = json_object_get(ex, "sign");
    hwj_key *rcpt = jt_key_from_jwk(json_object_get(json_object_get(enc, "input"), "key"),
                                    "jwe-nested-rfc.json");
    json_t *pub = json_deep_copy(json_object_get(json_object_get(sign, "input"), "key"));
    static const hwj_alg ps256[] = {HWJ_ALG_PS256};
    hwj_verify_policy pol = {.size = sizeof(hwj_verify_policy), .algs = ps256, .nalgs = 1};
    hwj_jwe_decrypt_opts d = jt_opts_all();
    hwj_jwe_result *res = NULL;
    hwj_jws_result *jws = NULL;
    hwj_jwks *set = NULL;
    hwj_jwk *jwk = NULL;
    hwj_error err;
    const char *forms[] = {"compact", "json", "json_flat"};

    static const char *const priv[] = {"d", "p", "q", "dp", "dq", "qi"};
    for (size_t i = 0; i < 6; i++) /* verification needs only the public part */
        json_object_del(pub, priv[i]);
    char *pubtext = jt_dump(pub);
    tu_ok(hwj_jwk_parse(pubtext, strlen(pubtext), &jwk, &err), &err);
    tu_ok(hwj_jwks_new(&set, &err), &err);
    tu_ok(hwj_jwks_add(set, jwk, &err), &err);
    d.key = rcpt;
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(json_object_get(enc, "output"), forms[i]);
        char *text = json_is_string(v) ? strdup(json_string_value(v)) : jt_dump(v);
        tu_ok(hwj_jwe_decrypt(text, strlen(text), &d, &res, &err), &err);
        assert_non_null(strstr(res->header_json, "\"cty\":\"JWT\""));
        tu_ok(hwj_jws_verify((const char *)res->plaintext, res->plaintext_len, set, &pol, NULL, 0,
                             &jws, &err),
              &err);
        assert_non_null(strstr((const char *)jws->payload, "hobbiton.example"));
        hwj_jws_result_free(jws);
        hwj_jwe_result_free(res);
        free(text);
    }
    free(pubtext);
    hwj_jwks_free(set);
    json_decref(pub);
    hwj_key_free(rcpt);
    json_decref(ex);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_round_trip),
        cmocka_unit_test(t_requires_cty_jwt),
        cmocka_unit_test(t_wrong_issuer_key),
        cmocka_unit_test(t_rfc7520_6),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
