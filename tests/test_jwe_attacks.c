/* test_jwe_attacks.c: what a JWE decrypter must refuse — tampering with any part,
 * malformed serializations, policy violations, PBES2 work factors, zip bombs and
 * invalid-curve "epk" points. */
#include "test_jwe_common.h"

#include "core/b64url.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char msg[] = "attack at dawn";
static const char *const k128 = "GZy6sIZ6wl9NJOKB-jnmVQ";

static char *encrypt_to(hwj_jwk *jwk, hwj_alg alg, hwj_alg enc, hwj_jwe_format fmt,
                        const uint8_t *pt, size_t len, int zip)
{
    hwj_jwe_recipient r = {.size = sizeof(hwj_jwe_recipient), .alg = alg, .jwk = jwk};
    hwj_jwe_encrypt_opts eo = {
        .size = sizeof(hwj_jwe_encrypt_opts), .enc = enc, .format = fmt, .zip = zip};
    static const uint8_t aad[] = "aad";
    char *out = NULL;
    hwj_error err;
    if (fmt != HWJ_JWE_COMPACT) {
        eo.aad = aad;
        eo.aad_len = 3;
    }
    tu_ok(hwj_jwe_encrypt(&r, 1, pt, len, &eo, &out, &err), &err);
    return out;
}

/* Flip one bit of the decoded compact part `part`, re-encode. */
static char *tamper_compact(const char *jwe, int part)
{
    char *copy = strdup(jwe), *p = copy, *dot, *out;
    uint8_t *raw = NULL;
    size_t rawlen = 0;
    char *enc = NULL;
    hwj_error err;
    for (int i = 0; i < part; i++)
        p = strchr(p, '.') + 1;
    dot = strchr(p, '.');
    size_t plen = dot ? (size_t)(dot - p) : strlen(p);
    tu_ok(hwj_b64url_decode(p, plen, &raw, &rawlen, "part", &err), &err);
    assert_true(rawlen > 0);
    raw[rawlen - 1] ^= 0x01;
    tu_ok(hwj_b64url_encode(raw, rawlen, &enc, &err), &err);
    out = malloc(strlen(jwe) + 8);
    snprintf(out, strlen(jwe) + 8, "%.*s%s%s", (int)(p - copy), copy, enc, dot ? dot : "");
    free(enc);
    free(raw);
    free(copy);
    return out;
}

static void t_tamper_compact(void **s)
{
    (void)s;
    static const hwj_alg encs[] = {HWJ_ENC_A128GCM, HWJ_ENC_A128CBC_HS256};
    hwj_jwk *jwk = jt_oct(k128, HWJ_ALG_UNKNOWN);
    hwj_jwe_decrypt_opts o = jt_opts_all();
    o.jwk = jwk;
    for (size_t e = 0; e < 2; e++) {
        char *jwe = encrypt_to(jwk, HWJ_ALG_A128KW, encs[e], HWJ_JWE_COMPACT, (const uint8_t *)msg,
                               strlen(msg), 0);
        assert_int_equal(jt_decrypt(jwe, &o, NULL), HWJ_OK);
        for (int part = 0; part < 5; part++) {
            char *bad = tamper_compact(jwe, part);
            hwj_err rc = jt_decrypt(bad, &o, NULL);
            /* the protected header is the AAD: changed JSON may not even parse */
            if (part == 0)
                assert_int_not_equal(rc, HWJ_OK);
            else
                assert_int_equal(rc, HWJ_ERR_DECRYPT);
            free(bad);
        }
        hwj_free(jwe);
    }
    hwj_jwk_free(jwk);
}

static void t_tamper_aad(void **s)
{
    (void)s;
    hwj_jwk *jwk = jt_oct(k128, HWJ_ALG_UNKNOWN);
    hwj_jwe_decrypt_opts o = jt_opts_all();
    o.jwk = jwk;
    char *jwe = encrypt_to(jwk, HWJ_ALG_A128KW, HWJ_ENC_A128CBC_HS256, HWJ_JWE_JSON_FLAT,
                           (const uint8_t *)msg, strlen(msg), 0);
    json_t *j = json_loads(jwe, 0, NULL);
    assert_int_equal(jt_decrypt(jwe, &o, NULL), HWJ_OK);
    json_object_set_new(j, "aad", json_string("YWFi")); /* "aab" */
    char *bad = jt_dump(j);
    assert_int_equal(jt_decrypt(bad, &o, NULL), HWJ_ERR_DECRYPT);
    free(bad);
    json_object_del(j, "aad"); /* dropping the AAD is tampering too */
    bad = jt_dump(j);
    assert_int_equal(jt_decrypt(bad, &o, NULL), HWJ_ERR_DECRYPT);
    free(bad);
    json_decref(j);
    hwj_free(jwe);
    hwj_jwk_free(jwk);
}

static void t_malformed(void **s)
{
    (void)s;
    hwj_jwk *jwk = jt_oct(k128, HWJ_ALG_UNKNOWN);
    hwj_jwe_decrypt_opts o = jt_opts_all();
    o.jwk = jwk;
    char *jwe = encrypt_to(jwk, HWJ_ALG_A128KW, HWJ_ENC_A128GCM, HWJ_JWE_COMPACT,
                           (const uint8_t *)msg, strlen(msg), 0);
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s.AAAA", jwe); /* six parts */
    assert_int_equal(jt_decrypt(buf, &o, NULL), HWJ_ERR_PARSE);
    snprintf(buf, sizeof(buf), "%s", jwe);
    *strrchr(buf, '.') = '\0'; /* four parts */
    assert_int_equal(jt_decrypt(buf, &o, NULL), HWJ_ERR_PARSE);
    snprintf(buf, sizeof(buf), "%s=", jwe); /* padding is not base64url */
    assert_int_equal(jt_decrypt(buf, &o, NULL), HWJ_ERR_PARSE);
    assert_int_equal(jt_decrypt("{\"ciphertext\":1}", &o, NULL), HWJ_ERR_PARSE);
    assert_int_equal(jt_decrypt("", &o, NULL), HWJ_ERR_PARSE);
    o.max_size = 10;
    assert_int_equal(jt_decrypt(jwe, &o, NULL), HWJ_ERR_LIMIT);
    hwj_free(jwe);
    hwj_jwk_free(jwk);
}

static void t_policy(void **s)
{
    (void)s;
    hwj_jwk *jwk = jt_oct(k128, HWJ_ALG_UNKNOWN);
    hwj_jwe_decrypt_opts o = jt_opts_all();
    static const hwj_alg only_rsa[] = {HWJ_ALG_RSA_OAEP_256};
    static const hwj_alg only_gcm256[] = {HWJ_ENC_A256GCM};
    char *jwe = encrypt_to(jwk, HWJ_ALG_A128KW, HWJ_ENC_A128GCM, HWJ_JWE_COMPACT,
                           (const uint8_t *)msg, strlen(msg), 0);
    o.jwk = jwk;
    o.algs = only_rsa;
    o.nalgs = 1;
    assert_int_equal(jt_decrypt(jwe, &o, NULL), HWJ_ERR_POLICY);
    o = jt_opts_all();
    o.jwk = jwk;
    o.encs = only_gcm256;
    o.nencs = 1;
    assert_int_equal(jt_decrypt(jwe, &o, NULL), HWJ_ERR_POLICY);
    o = jt_opts_all();
    o.nalgs = 0; /* an empty allow-list accepts nothing */
    o.jwk = jwk;
    assert_int_equal(jt_decrypt(jwe, &o, NULL), HWJ_ERR_POLICY);
    o = jt_opts_all(); /* no key at all */
    assert_int_equal(jt_decrypt(jwe, &o, NULL), HWJ_ERR_POLICY);
    hwj_free(jwe);
    hwj_jwk_free(jwk);
}

/* A flattened JWE with extra header members, re-encrypted so only the rule fails. */
static char *with_headers(hwj_jwk *jwk, const char *prot, const char *unprot)
{
    hwj_jwe_recipient r = {.size = sizeof(hwj_jwe_recipient), .alg = HWJ_ALG_A128KW, .jwk = jwk};
    hwj_jwe_encrypt_opts eo = {.size = sizeof(hwj_jwe_encrypt_opts),
                               .enc = HWJ_ENC_A128GCM,
                               .format = HWJ_JWE_JSON_FLAT,
                               .header_json = prot};
    char *out = NULL;
    hwj_error err;
    tu_ok(hwj_jwe_encrypt(&r, 1, (const uint8_t *)msg, strlen(msg), &eo, &out, &err), &err);
    if (unprot != NULL) {
        json_t *j = json_loads(out, 0, NULL);
        json_object_set_new(j, "unprotected", json_loads(unprot, 0, NULL));
        hwj_free(out);
        out = jt_dump(j);
        json_decref(j);
    }
    return out;
}

static void t_header_rules(void **s)
{
    (void)s;
    hwj_jwk *jwk = jt_oct(k128, HWJ_ALG_UNKNOWN);
    hwj_jwe_decrypt_opts o = jt_opts_all();
    const char *const understood[] = {"exp"};
    o.jwk = jwk;
    /* the protected and unprotected headers must be disjoint */
    char *jwe = with_headers(jwk, NULL, "{\"enc\":\"A128GCM\"}");
    assert_int_equal(jt_decrypt(jwe, &o, NULL), HWJ_ERR_PARSE);
    free(jwe);
    /* zip must be protected */
    jwe = with_headers(jwk, NULL, "{\"zip\":\"DEF\"}");
    assert_int_equal(jt_decrypt(jwe, &o, NULL), HWJ_ERR_PARSE);
    free(jwe);
    /* an unknown critical parameter is refused; an understood one is accepted */
    jwe = with_headers(jwk, "{\"crit\":[\"exp\"],\"exp\":1}", NULL);
    assert_int_equal(jt_decrypt(jwe, &o, NULL), HWJ_ERR_UNSUPPORTED);
    o.crit = understood;
    o.ncrit = 1;
    assert_int_equal(jt_decrypt(jwe, &o, NULL), HWJ_OK);
    free(jwe);
    /* crit may not name registered parameters, nor absent ones */
    jwe = with_headers(jwk, "{\"crit\":[\"kid\"],\"kid\":\"a\"}", NULL);
    assert_int_equal(jt_decrypt(jwe, &o, NULL), HWJ_ERR_PARSE);
    free(jwe);
    jwe = with_headers(jwk, "{\"crit\":[\"exp\"]}", NULL);
    assert_int_equal(jt_decrypt(jwe, &o, NULL), HWJ_ERR_PARSE);
    free(jwe);
    /* a zip other than DEF */
    jwe = with_headers(jwk, "{\"zip\":\"GZIP\"}", NULL);
    assert_int_equal(jt_decrypt(jwe, &o, NULL), HWJ_ERR_UNSUPPORTED);
    free(jwe);
    hwj_jwk_free(jwk);
}

static void t_pbes2_limits(void **s)
{
    (void)s;
    const char *pw = "pw";
    hwj_jwe_recipient r = {.size = sizeof(hwj_jwe_recipient),
                           .alg = HWJ_ALG_PBES2_HS256_A128KW,
                           .password = pw,
                           .password_len = 2,
                           .p2c = HWJ_JWE_DEFAULT_MAX_P2C + 1};
    hwj_jwe_encrypt_opts eo = {.size = sizeof(hwj_jwe_encrypt_opts), .enc = HWJ_ENC_A128GCM};
    hwj_jwe_decrypt_opts o = jt_opts_all();
    char *jwe = NULL;
    hwj_error err;
    /* the bound is checked before any PBKDF2 work is done */
    tu_ok(hwj_jwe_encrypt(&r, 1, (const uint8_t *)msg, strlen(msg), &eo, &jwe, &err), &err);
    o.password = pw;
    o.password_len = 2;
    assert_int_equal(jt_decrypt(jwe, &o, NULL), HWJ_ERR_LIMIT);
    o.max_p2c = HWJ_JWE_DEFAULT_MAX_P2C + 1; /* configurable */
    assert_int_equal(jt_decrypt(jwe, &o, NULL), HWJ_OK);
    hwj_free(jwe);
    r.p2c = 1500;
    tu_ok(hwj_jwe_encrypt(&r, 1, (const uint8_t *)msg, strlen(msg), &eo, &jwe, &err), &err);
    o.max_p2c = 1499;
    assert_int_equal(jt_decrypt(jwe, &o, NULL), HWJ_ERR_LIMIT);
    o.max_p2c = 0;
    o.password = "wrong";
    o.password_len = 5;
    assert_int_equal(jt_decrypt(jwe, &o, NULL), HWJ_ERR_DECRYPT);
    hwj_free(jwe);
    r.p2c = 999; /* below the minimum: refused both ways */
    assert_int_equal(hwj_jwe_encrypt(&r, 1, (const uint8_t *)msg, 1, &eo, &jwe, &err), HWJ_ERR_ARG);
}

/* Only one PBES2 recipient is tried per JWE: 32 of them cannot buy 32 PBKDF2 runs. */
static void t_pbes2_one_attempt(void **s)
{
    (void)s;
    hwj_jwe_recipient r[2] = {{.size = sizeof(hwj_jwe_recipient),
                               .alg = HWJ_ALG_PBES2_HS256_A128KW,
                               .password = "first",
                               .password_len = 5,
                               .p2c = 1000},
                              {.size = sizeof(hwj_jwe_recipient),
                               .alg = HWJ_ALG_PBES2_HS256_A128KW,
                               .password = "second",
                               .password_len = 6,
                               .p2c = 1000}};
    hwj_jwe_encrypt_opts eo = {
        .size = sizeof(hwj_jwe_encrypt_opts), .enc = HWJ_ENC_A128GCM, .format = HWJ_JWE_JSON};
    hwj_jwe_decrypt_opts o = jt_opts_all();
    char *jwe = NULL;
    hwj_error err;
    tu_ok(hwj_jwe_encrypt(r, 2, (const uint8_t *)msg, strlen(msg), &eo, &jwe, &err), &err);
    o.password = "first";
    o.password_len = 5;
    assert_int_equal(jt_decrypt(jwe, &o, NULL), HWJ_OK);
    o.password = "second";
    o.password_len = 6;
    assert_int_equal(jt_decrypt(jwe, &o, NULL), HWJ_ERR_DECRYPT);
    hwj_free(jwe);
}

static void t_zip_bomb(void **s)
{
    (void)s;
    hwj_jwk *jwk = jt_oct(k128, HWJ_ALG_UNKNOWN);
    hwj_jwe_decrypt_opts o = jt_opts_all();
    size_t big = 4u * 1024u * 1024u, mid = 512u * 1024u;
    uint8_t *zeros = calloc(1, big);
    o.jwk = jwk;
    /* 4 MiB of zeros deflate to ~4 KiB: over the 1 MiB cap */
    char *jwe = encrypt_to(jwk, HWJ_ALG_A128KW, HWJ_ENC_A128GCM, HWJ_JWE_COMPACT, zeros, big, 1);
    assert_true(strlen(jwe) < 16384);
    assert_int_equal(jt_decrypt(jwe, &o, NULL), HWJ_ERR_DECRYPT);
    o.max_inflated = big;
    o.max_ratio = 5000;
    assert_int_equal(jt_decrypt(jwe, &o, NULL), HWJ_OK); /* both limits configurable */
    hwj_free(jwe);
    /* 512 KiB of zeros: under the cap, but a ~1000:1 ratio */
    o.max_inflated = 0;
    o.max_ratio = 0;
    jwe = encrypt_to(jwk, HWJ_ALG_A128KW, HWJ_ENC_A128GCM, HWJ_JWE_COMPACT, zeros, mid, 1);
    assert_int_equal(jt_decrypt(jwe, &o, NULL), HWJ_ERR_DECRYPT);
    hwj_free(jwe);
    /* ordinary compressed content passes */
    jwe = encrypt_to(jwk, HWJ_ALG_A128KW, HWJ_ENC_A128GCM, HWJ_JWE_COMPACT, (const uint8_t *)msg,
                     strlen(msg), 1);
    assert_int_equal(jt_decrypt(jwe, &o, NULL), HWJ_OK);
    hwj_free(jwe);
    free(zeros);
    hwj_jwk_free(jwk);
}

/* ECDH-ES: an epk off the curve, or on another curve, is refused (invalid-curve attack). */
static void t_invalid_curve(void **s)
{
    (void)s;
    json_t *ex = tu_conformance(
        "jwe/5_5.key_agreement_using_ecdh-es_with_aes-cbc-hmac-sha2.json"); /* P-256 */
    json_t *ex384 = tu_conformance(
        "jwe/5_4.key_agreement_with_key_wrapping_using_ecdh-es_and_aes-keywrap_with_aes-gcm.json");
    hwj_key *key =
        jt_key_from_jwk(json_object_get(json_object_get(ex, "input"), "key"), "jwe-att-ec.json");
    json_t *prot =
        json_deep_copy(json_object_get(json_object_get(ex, "encrypting_content"), "protected"));
    json_t *epk = json_object_get(prot, "epk");
    const char *compact =
        json_string_value(json_object_get(json_object_get(ex, "output"), "compact"));
    const char *rest = strchr(compact, '.');
    hwj_jwe_decrypt_opts o = jt_opts_all();
    char *hdr, *b64 = NULL, buf[8192];
    hwj_error err;
    o.key = key;
    assert_int_equal(jt_decrypt(compact, &o, NULL), HWJ_OK);

    /* y changed: the point is no longer on P-256 */
    json_object_set_new(epk, "y", json_string("8BQAsImGeAS46fyWw5MhYfGTT0IjBpFw2SS34Dv4Irt"));
    hdr = jt_dump(prot);
    tu_ok(hwj_b64url_encode((const uint8_t *)hdr, strlen(hdr), &b64, &err), &err);
    snprintf(buf, sizeof(buf), "%s%s", b64, rest);
    hwj_err rc = jt_decrypt(buf, &o, NULL);
    assert_true(rc == HWJ_ERR_POLICY || rc == HWJ_ERR_PARSE);
    free(hdr);
    free(b64);

    /* a valid P-384 point against a P-256 key */
    json_object_set(
        prot, "epk",
        json_object_get(json_object_get(json_object_get(ex384, "encrypting_content"), "protected"),
                        "epk"));
    hdr = jt_dump(prot);
    tu_ok(hwj_b64url_encode((const uint8_t *)hdr, strlen(hdr), &b64, &err), &err);
    snprintf(buf, sizeof(buf), "%s%s", b64, rest);
    assert_int_equal(jt_decrypt(buf, &o, NULL), HWJ_ERR_POLICY);
    free(hdr);
    free(b64);

    /* an X25519 key in place of the P-256 point */
    json_object_set_new(prot, "epk",
                        json_pack("{s:s,s:s,s:s}", "kty", "OKP", "crv", "X25519", "x",
                                  "3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"));
    hdr = jt_dump(prot);
    tu_ok(hwj_b64url_encode((const uint8_t *)hdr, strlen(hdr), &b64, &err), &err);
    snprintf(buf, sizeof(buf), "%s%s", b64, rest);
    assert_int_equal(jt_decrypt(buf, &o, NULL), HWJ_ERR_POLICY);
    free(hdr);
    free(b64);

    json_decref(prot);
    hwj_key_free(key);
    json_decref(ex384);
    json_decref(ex);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_tamper_compact), cmocka_unit_test(t_tamper_aad),
        cmocka_unit_test(t_malformed),      cmocka_unit_test(t_policy),
        cmocka_unit_test(t_header_rules),   cmocka_unit_test(t_pbes2_limits),
        cmocka_unit_test(t_zip_bomb),       cmocka_unit_test(t_pbes2_one_attempt),
        cmocka_unit_test(t_invalid_curve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
