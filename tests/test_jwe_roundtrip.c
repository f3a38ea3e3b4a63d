/* test_jwe_roundtrip.c: encrypt then decrypt over every alg × enc, in every
 * serialization, with several recipients, AAD and unprotected headers. */
#include "test_jwe_common.h"

#include "core/b64url.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const hwj_alg encs[] = {HWJ_ENC_A128CBC_HS256, HWJ_ENC_A192CBC_HS384, HWJ_ENC_A256CBC_HS512,
                               HWJ_ENC_A128GCM,       HWJ_ENC_A192GCM,       HWJ_ENC_A256GCM};
#define NENC (sizeof(encs) / sizeof(encs[0]))
static const char msg[] = "The true sign of intelligence is not knowledge but imagination.";

/* Encrypt msg to `r` with `enc` in `fmt`; decrypt with `o`; compare. */
static void round_trip(const hwj_jwe_recipient *r, hwj_alg enc, hwj_jwe_format fmt,
                       const hwj_jwe_decrypt_opts *o)
{
    hwj_jwe_encrypt_opts eo = {.size = sizeof(hwj_jwe_encrypt_opts), .enc = enc, .format = fmt};
    hwj_jwe_result *res = NULL;
    char *jwe = NULL;
    hwj_error err;
    tu_ok(hwj_jwe_encrypt(r, 1, (const uint8_t *)msg, strlen(msg), &eo, &jwe, &err), &err);
    hwj_err rc = hwj_jwe_decrypt(jwe, strlen(jwe), o, &res, &err);
    if (rc != HWJ_OK)
        fail_msg("%s + %s (format %d): %s", hwj_alg_name(r->alg), hwj_alg_name(enc), (int)fmt,
                 err.message);
    assert_int_equal(res->alg, r->alg);
    assert_int_equal(res->enc, enc);
    assert_string_equal((const char *)res->plaintext, msg);
    hwj_jwe_result_free(res);
    hwj_free(jwe);
}

static hwj_jwk *random_oct(size_t len)
{
    uint8_t k[64];
    char *b64 = NULL;
    hwj_error err;
    assert_int_equal(RAND_bytes(k, (int)len), 1);
    tu_ok(hwj_b64url_encode(k, len, &b64, &err), &err);
    hwj_jwk *jwk = jt_oct(b64, HWJ_ALG_UNKNOWN);
    free(b64);
    return jwk;
}

static void t_key_wrap(void **s)
{
    (void)s;
    static const hwj_alg algs[] = {HWJ_ALG_A128KW,    HWJ_ALG_A192KW,    HWJ_ALG_A256KW,
                                   HWJ_ALG_A128GCMKW, HWJ_ALG_A192GCMKW, HWJ_ALG_A256GCMKW};
    static const size_t lens[] = {16, 24, 32, 16, 24, 32};
    for (size_t i = 0; i < 6; i++) {
        hwj_jwk *jwk = random_oct(lens[i]);
        hwj_jwe_recipient r = {.size = sizeof(hwj_jwe_recipient), .alg = algs[i], .jwk = jwk};
        hwj_jwe_decrypt_opts o = jt_opts_all();
        o.jwk = jwk;
        for (size_t e = 0; e < NENC; e++)
            for (int f = HWJ_JWE_COMPACT; f <= HWJ_JWE_JSON_FLAT; f++)
                round_trip(&r, encs[e], (hwj_jwe_format)f, &o);
        hwj_jwk_free(jwk);
    }
}

static void t_dir(void **s)
{
    (void)s;
    static const size_t lens[] = {32, 48, 64, 16, 24, 32};
    for (size_t e = 0; e < NENC; e++) {
        hwj_jwk *jwk = random_oct(lens[e]);
        hwj_jwe_recipient r = {.size = sizeof(hwj_jwe_recipient), .alg = HWJ_ALG_DIR, .jwk = jwk};
        hwj_jwe_decrypt_opts o = jt_opts_all();
        o.jwk = jwk;
        round_trip(&r, encs[e], HWJ_JWE_COMPACT, &o);
        hwj_jwk_free(jwk);
    }
}

static void t_pbes2(void **s)
{
    (void)s;
    static const hwj_alg algs[] = {HWJ_ALG_PBES2_HS256_A128KW, HWJ_ALG_PBES2_HS384_A192KW,
                                   HWJ_ALG_PBES2_HS512_A256KW};
    const char *pw = "correct horse battery staple";
    for (size_t i = 0; i < 3; i++) {
        hwj_jwe_recipient r = {.size = sizeof(hwj_jwe_recipient),
                               .alg = algs[i],
                               .password = pw,
                               .password_len = strlen(pw),
                               .p2c = HWJ_JWE_MIN_P2C};
        hwj_jwe_decrypt_opts o = jt_opts_all();
        o.password = pw;
        o.password_len = strlen(pw);
        for (size_t e = 0; e < NENC; e++)
            round_trip(&r, encs[e], HWJ_JWE_COMPACT, &o);
    }
}

/* A software private key as file:PATH, and its public JWK. */
static hwj_key *soft_key(const char *type, const char *param, const char *name, hwj_jwk **pub)
{
    EVP_PKEY *pk = strcmp(type, "RSA") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
                   : param != NULL          ? EVP_PKEY_Q_keygen(NULL, NULL, type, param)
                                            : EVP_PKEY_Q_keygen(NULL, NULL, type);
    char path[4096], uri[4200];
    hwj_key *key = NULL;
    hwj_error err;
    assert_non_null(pk);
    snprintf(path, sizeof(path), "%s/%s", tu_state_dir(), name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    EVP_PKEY_free(pk);
    snprintf(uri, sizeof(uri), "file:%s", path);
    tu_ok(hwj_key_open(jt_ctx(), uri, NULL, &key, &err), &err);
    tu_ok(hwj_jwk_from_key(key, pub, &err), &err);
    return key;
}

static void asym(hwj_key *key, hwj_jwk *pub, const hwj_alg *algs, size_t n)
{
    hwj_jwe_decrypt_opts o = jt_opts_all();
    o.key = key;
    for (size_t i = 0; i < n; i++) {
        hwj_jwe_recipient r = {.size = sizeof(hwj_jwe_recipient), .alg = algs[i], .jwk = pub};
        for (size_t e = 0; e < NENC; e++)
            round_trip(&r, encs[e], HWJ_JWE_COMPACT, &o);
        round_trip(&r, HWJ_ENC_A256GCM, HWJ_JWE_JSON, &o);
    }
}

static void t_rsa(void **s)
{
    (void)s;
    static const hwj_alg algs[] = {HWJ_ALG_RSA_OAEP, HWJ_ALG_RSA_OAEP_256};
    hwj_jwk *pub = NULL;
    hwj_key *key = soft_key("RSA", NULL, "jwe-rt-rsa.pem", &pub);
    asym(key, pub, algs, 2);
    hwj_jwk_free(pub);
    hwj_key_free(key);
}

static void t_ecdh(void **s)
{
    (void)s;
    static const hwj_alg algs[] = {HWJ_ALG_ECDH_ES, HWJ_ALG_ECDH_ES_A128KW, HWJ_ALG_ECDH_ES_A192KW,
                                   HWJ_ALG_ECDH_ES_A256KW};
    static const char *const curves[] = {"P-256", "P-384", "P-521"};
    for (size_t c = 0; c < 3; c++) {
        hwj_jwk *pub = NULL;
        hwj_key *key = soft_key("EC", curves[c], "jwe-rt-ec.pem", &pub);
        asym(key, pub, algs, 4);
        hwj_jwk_free(pub);
        hwj_key_free(key);
    }
    /* X25519 (RFC 8037 §3.2) */
    hwj_jwk *xpub = NULL;
    hwj_key *xkey = soft_key("X25519", NULL, "jwe-rt-x25519.pem", &xpub);
    asym(xkey, xpub, algs, 4);
    hwj_jwk_free(xpub);
    hwj_key_free(xkey);
}

/* General JSON: three recipients of different kinds, AAD, shared unprotected header. */
static void t_multi_recipient(void **s)
{
    (void)s;
    const char *pw = "multi-recipient password";
    hwj_jwk *oct = random_oct(16), *pub = NULL;
    hwj_key *rsa = soft_key("RSA", NULL, "jwe-rt-multi.pem", &pub);
    hwj_jwe_recipient rs[3] = {
        {.size = sizeof(hwj_jwe_recipient),
         .alg = HWJ_ALG_RSA_OAEP_256,
         .jwk = pub,
         .kid = "rsa-1"},
        {.size = sizeof(hwj_jwe_recipient), .alg = HWJ_ALG_A128KW, .jwk = oct, .kid = "oct-1"},
        {.size = sizeof(hwj_jwe_recipient),
         .alg = HWJ_ALG_PBES2_HS256_A128KW,
         .password = pw,
         .password_len = strlen(pw),
         .p2c = 2000,
         .header_json = "{\"x-note\":\"pbes2\"}"},
    };
    static const uint8_t aad[] = "bound but not encrypted";
    hwj_jwe_encrypt_opts eo = {.size = sizeof(hwj_jwe_encrypt_opts),
                               .enc = HWJ_ENC_A128CBC_HS256,
                               .format = HWJ_JWE_JSON,
                               .zip = 1,
                               .cty = "text/plain",
                               .unprotected_json = "{\"jku\":\"x\"}",
                               .aad = aad,
                               .aad_len = sizeof(aad) - 1};
    char *jwe = NULL;
    hwj_jwe_result *res = NULL;
    hwj_error err;
    tu_ok(hwj_jwe_encrypt(rs, 3, (const uint8_t *)msg, strlen(msg), &eo, &jwe, &err), &err);

    hwj_jwe_decrypt_opts o = jt_opts_all();
    o.key = rsa;
    assert_int_equal(jt_decrypt(jwe, &o, &res), HWJ_OK);
    assert_int_equal(res->recipient_index, 0);
    assert_int_equal(res->aad_len, sizeof(aad) - 1);
    assert_string_equal((const char *)res->plaintext, msg);
    hwj_jwe_result_free(res);
    o.key = NULL;
    o.jwk = oct;
    assert_int_equal(jt_decrypt(jwe, &o, &res), HWJ_OK);
    assert_int_equal(res->recipient_index, 1);
    hwj_jwe_result_free(res);
    o.jwk = NULL;
    o.password = pw;
    o.password_len = strlen(pw);
    assert_int_equal(jt_decrypt(jwe, &o, &res), HWJ_OK);
    assert_int_equal(res->recipient_index, 2);
    assert_non_null(strstr(res->header_json, "\"x-note\":\"pbes2\""));
    assert_non_null(strstr(res->header_json, "\"jku\":\"x\""));
    hwj_jwe_result_free(res);
    hwj_free(jwe);
    hwj_jwk_free(pub);
    hwj_jwk_free(oct);
    hwj_key_free(rsa);
}

/* Single-recipient encryption refuses what it cannot express. */
static void t_encrypt_refusals(void **s)
{
    (void)s;
    hwj_jwk *oct = random_oct(16);
    hwj_jwe_recipient r[2] = {
        {.size = sizeof(hwj_jwe_recipient), .alg = HWJ_ALG_A128KW, .jwk = oct},
        {.size = sizeof(hwj_jwe_recipient), .alg = HWJ_ALG_DIR, .jwk = oct}};
    hwj_jwe_encrypt_opts eo = {.size = sizeof(hwj_jwe_encrypt_opts), .enc = HWJ_ENC_A128GCM};
    char *out = NULL;
    hwj_error err;
    /* several recipients need general JSON; dir allows one; compact has no AAD */
    assert_int_equal(hwj_jwe_encrypt(r, 2, (const uint8_t *)"x", 1, &eo, &out, &err), HWJ_ERR_ARG);
    eo.format = HWJ_JWE_JSON;
    assert_int_equal(hwj_jwe_encrypt(r, 2, (const uint8_t *)"x", 1, &eo, &out, &err), HWJ_ERR_ARG);
    eo.format = HWJ_JWE_COMPACT;
    eo.aad = (const uint8_t *)"a";
    eo.aad_len = 1;
    assert_int_equal(hwj_jwe_encrypt(r, 1, (const uint8_t *)"x", 1, &eo, &out, &err), HWJ_ERR_ARG);
    /* a header member may not be set twice */
    eo.aad = NULL;
    eo.header_json = "{\"enc\":\"A256GCM\"}";
    assert_int_equal(hwj_jwe_encrypt(r, 1, (const uint8_t *)"x", 1, &eo, &out, &err), HWJ_ERR_ARG);
    /* RSA1_5 is never produced; a wrong-size key is refused */
    r[0].alg = HWJ_ALG_RSA1_5;
    eo.header_json = NULL;
    assert_int_not_equal(hwj_jwe_encrypt(r, 1, (const uint8_t *)"x", 1, &eo, &out, &err), HWJ_OK);
    r[0].alg = HWJ_ALG_A256KW;
    assert_int_not_equal(hwj_jwe_encrypt(r, 1, (const uint8_t *)"x", 1, &eo, &out, &err), HWJ_OK);
    assert_null(out);
    hwj_jwk_free(oct);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_key_wrap),         cmocka_unit_test(t_dir), cmocka_unit_test(t_pbes2),
        cmocka_unit_test(t_encrypt_refusals), cmocka_unit_test(t_rsa), cmocka_unit_test(t_ecdh),
        cmocka_unit_test(t_multi_recipient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
