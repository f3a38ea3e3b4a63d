/* test_jws_conformance.c: every JWS example of the RFC 7520 cookbook (§4.1–4.8), the RFC
 * 7797 "b64":false examples and the RFC 8037 Ed25519 example: each serialization given is
 * verified with the example's public key, and the deterministic ones (RS256, HS256, EdDSA)
 * are signed again through a jwk: key and compared byte for byte. */
#include "test_jws_util.h"

#include <stdlib.h>
#include <string.h>

static const char *const forms[] = {"compact", "json", "json_flat"};
static const hwj_jws_format formats[] = {HWJ_JWS_COMPACT, HWJ_JWS_JSON, HWJ_JWS_JSON_FLAT};

static const char *payload_of(const json_t *ex)
{
    return json_string_value(json_object_get(json_object_get(ex, "input"), "payload"));
}

/* The serialization `form` of the example as text, or NULL when the example has none. */
static char *output_text(const json_t *ex, const char *form)
{
    const json_t *v = json_object_get(json_object_get(ex, "output"), form);
    if (v == NULL)
        return NULL;
    return json_is_string(v) ? strdup(json_string_value(v)) : tj_dump(v);
}

/* Verify every serialization the example gives with `set` under `pol`; returns how many. */
static int verify_outputs(const json_t *ex, const hwj_jwks *set, const hwj_verify_policy *pol,
                          int detached, size_t want_index)
{
    const char *payload = payload_of(ex);
    int n = 0;

    for (size_t f = 0; f < 3; f++) {
        char *text = output_text(ex, forms[f]);
        hwj_jws_result *res = NULL;
        hwj_error err;
        if (text == NULL)
            continue;
        tu_ok(hwj_jws_verify(text, strlen(text), set, pol,
                             detached ? (const uint8_t *)payload : NULL,
                             detached ? strlen(payload) : 0, &res, &err),
              &err);
        assert_int_equal(res->payload_len, strlen(payload));
        assert_memory_equal(res->payload, payload, res->payload_len);
        assert_int_equal(res->payload[res->payload_len], '\0');
        assert_int_equal(res->signature_index, want_index);
        assert_non_null(res->protected_json);
        assert_non_null(res->key);
        hwj_jws_result_free(res);
        free(text);
        n++;
    }
    return n;
}

/* Verify with the public half of the example's key, its alg alone allowed. */
static void verify_example(const char *rel, int detached, int allow_unprotected_alg)
{
    json_t *ex = tu_conformance(rel);
    const json_t *in = json_object_get(ex, "input");
    hwj_alg alg = hwj_alg_from_name(json_string_value(json_object_get(in, "alg")));
    hwj_verify_policy pol = {.size = sizeof(hwj_verify_policy),
                             .allow_json = 1,
                             .algs = &alg,
                             .nalgs = 1,
                             .allow_unprotected_alg = allow_unprotected_alg};
    hwj_jwks *set = tj_set(json_object_get(in, "key"), 1);

    assert_int_not_equal(alg, HWJ_ALG_UNKNOWN);
    assert_true(verify_outputs(ex, set, &pol, detached, 0) >= 2);
    hwj_jwks_free(set);
    json_decref(ex);
}

/* Sign the example's payload again with its key and compare every serialization. */
static void reproduce(const char *rel, const char *keyfile, hwj_jws_sign_opts opts)
{
    json_t *ex = tu_conformance(rel);
    const json_t *in = json_object_get(ex, "input");
    const json_t *unprot = json_object_get(json_object_get(ex, "signing"), "unprotected");
    const char *payload = payload_of(ex);
    char *unprot_text = unprot ? tj_dump(unprot) : NULL;
    hwj_key *key = tj_key_jwk(json_object_get(in, "key"), keyfile);
    int n = 0;

    opts.alg = hwj_alg_from_name(json_string_value(json_object_get(in, "alg")));
    opts.unprotected_json = unprot_text;
    for (size_t f = 0; f < 3; f++) {
        const json_t *want = json_object_get(json_object_get(ex, "output"), forms[f]);
        char *out = NULL;
        hwj_error err;
        if (want == NULL || (unprot != NULL && formats[f] == HWJ_JWS_COMPACT))
            continue;
        opts.format = formats[f];
        tu_ok(hwj_jws_sign(key, (const uint8_t *)payload, strlen(payload), &opts, &out, &err),
              &err);
        if (json_is_string(want)) {
            assert_string_equal(out, json_string_value(want));
        } else {
            json_t *got = json_loads(out, 0, NULL);
            assert_non_null(got);
            if (!json_equal(got, want))
                fail_msg("%s %s: got %s", rel, forms[f], out);
            json_decref(got);
        }
        hwj_free(out);
        n++;
    }
    assert_true(n >= 2);
    hwj_key_free(key);
    free(unprot_text);
    json_decref(ex);
}

static void rfc7520_4_1_rs256(void **state)
{
    (void)state;
    verify_example("jws/4_1.rsa_v15_signature.json", 0, 0);
    reproduce("jws/4_1.rsa_v15_signature.json", "jws-4_1.jwk",
              (hwj_jws_sign_opts){
                  .size = sizeof(hwj_jws_sign_opts),
              });
}

static void rfc7520_4_2_ps384(void **state)
{
    (void)state;
    verify_example("jws/4_2.rsa-pss_signature.json", 0, 0);
}

static void rfc7520_4_3_es512(void **state)
{
    (void)state;
    verify_example("jws/4_3.ecdsa_signature.json", 0, 0);
}

static void rfc7520_4_4_hs256(void **state)
{
    (void)state;
    verify_example("jws/4_4.hmac-sha2_integrity_protection.json", 0, 0);
    reproduce("jws/4_4.hmac-sha2_integrity_protection.json", "jws-4_4.jwk",
              (hwj_jws_sign_opts){
                  .size = sizeof(hwj_jws_sign_opts),
              });
}

static void rfc7520_4_5_detached(void **state)
{
    const char *rel = "jws/4_5.signature_with_detached_content.json";
    json_t *ex = tu_conformance(rel);
    hwj_alg alg = HWJ_ALG_HS256;
    hwj_verify_policy pol = {
        .size = sizeof(hwj_verify_policy), .allow_json = 1, .algs = &alg, .nalgs = 1};
    hwj_jwks *set = tj_set(json_object_get(json_object_get(ex, "input"), "key"), 0);
    char *compact = output_text(ex, "compact");
    hwj_jws_result *res = NULL;
    hwj_error err;
    (void)state;

    verify_example(rel, 1, 0);
    reproduce(rel, "jws-4_5.jwk",
              (hwj_jws_sign_opts){.size = sizeof(hwj_jws_sign_opts), .detached = 1});
    /* Without the detached payload, the compact form is a JWS of the empty payload. */
    tj_expect(hwj_jws_verify(compact, strlen(compact), set, &pol, NULL, 0, &res, &err),
              HWJ_ERR_SIGNATURE, &err);
    assert_null(res);
    free(compact);
    hwj_jwks_free(set);
    json_decref(ex);
}

static void rfc7520_4_6_unprotected_kid(void **state)
{
    (void)state;
    verify_example("jws/4_6.protecting_specific_header_fields.json", 0, 0);
    reproduce("jws/4_6.protecting_specific_header_fields.json", "jws-4_6.jwk",
              (hwj_jws_sign_opts){.size = sizeof(hwj_jws_sign_opts), .kid = ""});
}

/* §4.7 has no protected header at all: its alg is not covered by the MAC. hwjose refuses
 * that by default and verifies it when the policy opts in. */
static void rfc7520_4_7_unprotected_alg(void **state)
{
    const char *rel = "jws/4_7.protecting_content_only.json";
    json_t *ex = tu_conformance(rel);
    hwj_alg alg = HWJ_ALG_HS256;
    hwj_verify_policy pol = {
        .size = sizeof(hwj_verify_policy), .allow_json = 1, .algs = &alg, .nalgs = 1};
    hwj_jwks *set = tj_set(json_object_get(json_object_get(ex, "input"), "key"), 0);
    (void)state;

    for (size_t f = 1; f < 3; f++) {
        char *text = output_text(ex, forms[f]);
        hwj_jws_result *res = NULL;
        hwj_error err;
        tj_expect(hwj_jws_verify(text, strlen(text), set, &pol, NULL, 0, &res, &err),
                  HWJ_ERR_POLICY, &err);
        assert_non_null(strstr(err.message, "unprotected"));
        free(text);
    }
    verify_example(rel, 0, 1);
    hwj_jwks_free(set);
    json_decref(ex);
}

/* §4.8: RS256, ES512 (alg unprotected) and HS256 signatures; each verifies with its key. */
static void rfc7520_4_8_multiple(void **state)
{
    json_t *ex = tu_conformance("jws/4_8.multiple_signatures.json");
    const json_t *keys = json_object_get(json_object_get(ex, "input"), "key");
    static const hwj_alg algs[] = {HWJ_ALG_RS256, HWJ_ALG_ES512, HWJ_ALG_HS256};
    char *text = output_text(ex, "json");
    hwj_error err;
    (void)state;

    assert_int_equal(json_array_size(keys), 3);
    for (size_t i = 0; i < 3; i++) {
        hwj_verify_policy pol = {.size = sizeof(hwj_verify_policy),
                                 .allow_json = 1,
                                 .algs = &algs[i],
                                 .nalgs = 1,
                                 .allow_unprotected_alg = 1};
        hwj_jwks *set = tj_set(json_array_get(keys, i), 1);
        assert_int_equal(verify_outputs(ex, set, &pol, 0, i), 1);
        if (i == 1) { /* the ES512 signature's alg is unprotected: refused by default */
            hwj_jws_result *res = NULL;
            pol.allow_unprotected_alg = 0;
            tj_expect(hwj_jws_verify(text, strlen(text), set, &pol, NULL, 0, &res, &err),
                      HWJ_ERR_POLICY, &err);
        }
        hwj_jwks_free(set);
    }
    /* The three keys in one set are refused: the RSA and EC keys share a kid, and the oct key
     * beside an asymmetric one invites algorithm confusion (the rules of hwj_jwks_check). */
    hwj_jwks *all = NULL;
    tu_ok(hwj_jwks_new(&all, &err), &err);
    for (size_t i = 0; i < 3; i++) {
        char *k = tj_dump(json_array_get(keys, i));
        hwj_jwk *jwk = NULL;
        tu_ok(hwj_jwk_parse(k, strlen(k), &jwk, &err), &err);
        tj_expect(hwj_jwks_add(all, jwk, &err), i == 1 ? HWJ_ERR_POLICY : HWJ_OK, &err);
        free(k);
    }
    hwj_verify_policy pol = {
        .size = sizeof(hwj_verify_policy), .allow_json = 1, .algs = algs, .nalgs = 3};
    hwj_jws_result *res = NULL;
    tj_expect(hwj_jws_verify(text, strlen(text), all, &pol, NULL, 0, &res, &err), HWJ_ERR_POLICY,
              &err);
    hwj_jwks_free(all);
    /* Every alg allowed, the RSA key's set: the first signature wins. */
    all = tj_set(json_array_get(keys, 0), 1);
    tu_ok(hwj_jws_verify(text, strlen(text), all, &pol, NULL, 0, &res, &err), &err);
    assert_int_equal(res->signature_index, 0);
    assert_int_equal(res->alg, HWJ_ALG_RS256);
    assert_ptr_equal(res->key, hwj_jwks_get0(all, 0));
    hwj_jws_result_free(res);
    hwj_jwks_free(all);
    free(text);
    json_decref(ex);
}

/* RFC 7797 §4.2 as the cookbook gives it: "b64":false, without "crit" (RFC 7797 §6 allows
 * leaving it out), JSON only since the payload holds a '.'. */
static void rfc7797_b64_false_json(void **state)
{
    (void)state;
    verify_example("rfc7797/4.2.hmac-sha2_b64_false.json", 0, 0);
}

static void rfc7797_b64_false_compact(void **state)
{
    (void)state;
    verify_example("rfc7797/hmac-sha2_b64_false.json", 0, 0);
    reproduce("rfc7797/hmac-sha2_b64_false.json", "jws-7797.jwk",
              (hwj_jws_sign_opts){.size = sizeof(hwj_jws_sign_opts), .kid = "", .b64_false = 1});
}

static void rfc8037_ed25519(void **state)
{
    (void)state;
    verify_example("curve25519/jws.json", 0, 0);
    reproduce("curve25519/jws.json", "jws-ed25519.jwk",
              (hwj_jws_sign_opts){.size = sizeof(hwj_jws_sign_opts), .kid = ""});
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc7520_4_1_rs256),
        cmocka_unit_test(rfc7520_4_2_ps384),
        cmocka_unit_test(rfc7520_4_3_es512),
        cmocka_unit_test(rfc7520_4_4_hs256),
        cmocka_unit_test(rfc7520_4_5_detached),
        cmocka_unit_test(rfc7520_4_6_unprotected_kid),
        cmocka_unit_test(rfc7520_4_7_unprotected_alg),
        cmocka_unit_test(rfc7520_4_8_multiple),
        cmocka_unit_test(rfc7797_b64_false_json),
        cmocka_unit_test(rfc7797_b64_false_compact),
        cmocka_unit_test(rfc8037_ed25519),
    };
    return cmocka_run_group_tests(tests, tj_setup, tj_teardown);
}
