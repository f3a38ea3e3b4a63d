/* test_jws_attacks.c: what a verifier must refuse (RFC 7515, RFC 7797, RFC 8725): tampering,
 * "none", algs off the allow-list, HS256 keyed with an RSA public key, DER ECDSA, wrong key
 * types, "crit" and "b64" abuse, sloppy base64url and JSON, oversize and malformed input,
 * and keys offered by the token itself ("jwk", "jku", "x5u", "x5c"). */
#include "test_jws_util.h"

#include "core/b64url.h"
#include "core/ecdsa.h"
#include "core/jwk.h"
#include "jose/jws_internal.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HS_KID "018c0ae5-4d9b-471b-bfd6-eef314bc7037"
#define RSA_KID "bilbo.baggins@hobbiton.example"

static json_t *hs_json, *rsa_json; /* RFC 7520 §4.4 and §4.1 keys (private) */
static uint8_t hs_secret[64];
static size_t hs_len;
static hwj_jwks *hs_set, *rsa_set, *p256_set;
static hwj_key *hs_key, *p256_key, *attacker_key;
static char *p256_kid;

static hwj_key *open_pem(EVP_PKEY *pkey, const char *name)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL, uri[4200];
    hwj_key *key = NULL;
    hwj_error err;

    assert_int_equal(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL), 1);
    long n = BIO_get_mem_data(bio, &pem);
    char *text = strndup(pem, (size_t)n), *path = tu_write_temp(name, text);
    snprintf(uri, sizeof(uri), "file:%s", path);
    tu_ok(hwj_key_open(tj_ctx, uri, NULL, &key, &err), &err);
    free(path);
    free(text);
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    return key;
}

static int setup(void **state)
{
    hwj_error err;
    if (tj_setup(state) != 0)
        return -1;
    json_t *ex = tu_conformance("jws/4_4.hmac-sha2_integrity_protection.json");
    hs_json = json_incref(json_object_get(json_object_get(ex, "input"), "key"));
    json_decref(ex);
    ex = tu_conformance("jws/4_1.rsa_v15_signature.json");
    rsa_json = json_incref(json_object_get(json_object_get(ex, "input"), "key"));
    json_decref(ex);
    const char *k = json_string_value(json_object_get(hs_json, "k"));
    tu_ok(hwj_b64url_decode_to(k, strlen(k), hs_secret, &hs_len, "k", &err), &err);
    hs_set = tj_set(hs_json, 0);
    rsa_set = tj_set(rsa_json, 1);
    hs_key = tj_key_jwk(hs_json, "jws-attack-hs.jwk");
    p256_key = open_pem(EVP_EC_gen("P-256"), "jws-attack-victim.pem");
    attacker_key = open_pem(EVP_EC_gen("P-256"), "jws-attack-attacker.pem");
    p256_set = tj_set_of_key(p256_key);
    p256_kid = strdup(hwj_key_get0_kid(p256_key));
    return 0;
}

static int teardown(void **state)
{
    json_decref(hs_json);
    json_decref(rsa_json);
    hwj_jwks_free(hs_set);
    hwj_jwks_free(rsa_set);
    hwj_jwks_free(p256_set);
    hwj_key_free(hs_key);
    hwj_key_free(p256_key);
    hwj_key_free(attacker_key);
    free(p256_kid);
    return tj_teardown(state);
}

/* Part i (0..2) of a compact JWS. */
static char *part(const char *jws, int i)
{
    size_t off = 0;
    for (int k = 0; k < i; k++)
        off += strcspn(jws + off, ".") + 1;
    return strndup(jws + off, strcspn(jws + off, "."));
}

static char *join3(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + 3;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n, "%s.%s.%s", a, b, c);
    return s;
}

/* A flattened JSON serialization from compact parts and an unprotected header. */
static char *flat(const char *prot, const char *header_json, const char *payload, const char *sig)
{
    char *s = NULL;
    assert_true(asprintf(&s, "{%s%s%s\"protected\":\"%s\",%s%s%s\"signature\":\"%s\"}",
                         payload ? "\"payload\":\"" : "", payload ? payload : "",
                         payload ? "\"," : "", prot, header_json ? "\"header\":" : "",
                         header_json ? header_json : "", header_json ? "," : "", sig) > 0);
    return s;
}

static char *sign(hwj_key *key, hwj_jws_sign_opts o, const char *payload)
{
    char *jws = NULL;
    hwj_error err;
    tu_ok(hwj_jws_sign(key, (const uint8_t *)payload, strlen(payload), &o, &jws, &err), &err);
    return jws;
}

static hwj_err verify_pol(const char *jws, const hwj_jwks *set, const hwj_verify_policy *pol,
                          hwj_error *err)
{
    hwj_jws_result *res = NULL;
    hwj_err rc = hwj_jws_verify(jws, strlen(jws), set, pol, NULL, 0, &res, err);
    assert_true((rc == HWJ_OK) == (res != NULL));
    hwj_jws_result_free(res);
    return rc;
}

#define EXPECT(jws, set, alg, want)                                                                \
    do {                                                                                           \
        hwj_error e_;                                                                              \
        tj_expect(tj_verify((jws), (set), (alg), NULL, NULL, &e_), (want), &e_);                   \
    } while (0)

/* Header, payload and signature each changed in turn: never valid. */
static void tamper_each_part(const char *jws, const hwj_jwks *set, hwj_alg alg)
{
    char *h = part(jws, 0), *p = part(jws, 1), *s = part(jws, 2);
    char *p2 = tj_b64s("It's a safe business, Frodo");
    char *s2 = strdup(s);
    s2[0] = s2[0] == 'A' ? 'B' : 'A';
    char *t1 = join3(h, p2, s), *t2 = join3(h, p, s2), *t3 = join3(h, p, "");
    char *hdr_json = NULL;
    size_t hl = 0;
    hwj_error err;

    EXPECT(jws, set, alg, HWJ_OK);
    EXPECT(t1, set, alg, HWJ_ERR_SIGNATURE);
    EXPECT(t2, set, alg, HWJ_ERR_SIGNATURE);
    EXPECT(t3, set, alg, HWJ_ERR_SIGNATURE);
    /* The same header with one more member. */
    tu_ok(hwj_b64url_decode(h, strlen(h), (uint8_t **)&hdr_json, &hl, "h", &err), &err);
    hdr_json[hl - 1] = '\0';
    char *h3json = NULL;
    assert_true(asprintf(&h3json, "%s,\"x\":1}", hdr_json) > 0);
    char *h3 = tj_b64s(h3json), *t4 = join3(h3, p, s);
    EXPECT(t4, set, alg, HWJ_ERR_SIGNATURE);
    free(h3json), free(h3), free(t4), free(hdr_json);
    free(t1), free(t2), free(t3), free(p2), free(s2), free(h), free(p), free(s);
}

static void tampering(void **state)
{
    (void)state;
    json_t *ex = tu_conformance("jws/4_1.rsa_v15_signature.json");
    tamper_each_part(json_string_value(json_object_get(json_object_get(ex, "output"), "compact")),
                     rsa_set, HWJ_ALG_RS256);
    json_decref(ex);
    char *hs =
        sign(hs_key, (hwj_jws_sign_opts){.size = sizeof(hwj_jws_sign_opts), .alg = HWJ_ALG_HS256},
             "payload");
    tamper_each_part(hs, hs_set, HWJ_ALG_HS256);
    char *es =
        sign(p256_key, (hwj_jws_sign_opts){.size = sizeof(hwj_jws_sign_opts), .alg = HWJ_ALG_ES256},
             "payload");
    tamper_each_part(es, p256_set, HWJ_ALG_ES256);
    free(hs);
    free(es);
}

static void alg_none(void **state)
{
    static const char *const names[] = {"none", "None", "NONE", "nOnE"};
    (void)state;
    for (size_t i = 0; i < 4; i++) {
        char *hj = NULL;
        assert_true(asprintf(&hj, "{\"alg\":\"%s\",\"kid\":\"%s\"}", names[i], HS_KID) > 0);
        char *h = tj_b64s(hj), *p = tj_b64s("{\"admin\":true}");
        char *t1 = join3(h, p, ""), *t2 = join3(h, p, "AAAA");
        char *t3 = tj_hs256(hs_secret, hs_len, hj, p); /* a valid MAC, but alg none */
        hwj_error err;
        EXPECT(t1, hs_set, HWJ_ALG_UNKNOWN, HWJ_ERR_POLICY);
        EXPECT(t2, hs_set, HWJ_ALG_UNKNOWN, HWJ_ERR_POLICY);
        EXPECT(t3, hs_set, HWJ_ALG_UNKNOWN, HWJ_ERR_POLICY);
        tj_expect(tj_verify(t1, hs_set, HWJ_ALG_HS256, NULL, NULL, &err), HWJ_ERR_POLICY, &err);
        assert_non_null(strstr(err.message, "never accepted"));
        free(hj), free(h), free(p), free(t1), free(t2), free(t3);
    }
}

static void alg_policy(void **state)
{
    json_t *ex = tu_conformance("jws/4_1.rsa_v15_signature.json");
    const char *rs = json_string_value(json_object_get(json_object_get(ex, "output"), "compact"));
    static const hwj_alg ps[] = {HWJ_ALG_PS256, HWJ_ALG_HS256};
    hwj_verify_policy pol = {
        .size = sizeof(hwj_verify_policy), .allow_json = 1, .algs = ps, .nalgs = 2};
    hwj_error err;
    (void)state;

    tj_expect(verify_pol(rs, rsa_set, &pol, &err), HWJ_ERR_POLICY, &err);
    assert_non_null(strstr(err.message, "allow-list"));
    pol.nalgs = 0; /* an empty allow-list accepts nothing */
    tj_expect(verify_pol(rs, rsa_set, &pol, &err), HWJ_ERR_POLICY, &err);
    pol.algs = NULL;
    tj_expect(verify_pol(rs, rsa_set, &pol, &err), HWJ_ERR_POLICY, &err);
    tj_expect(hwj_jws_verify(rs, strlen(rs), rsa_set, NULL, NULL, 0, NULL, &err), HWJ_ERR_ARG,
              &err);
    /* Unknown names, JWE algs, non-strings, no alg at all. */
    static const struct {
        const char *hdr;
        hwj_err want;
    } cases[] = {
        {"{\"alg\":\"HS1\"}", HWJ_ERR_UNSUPPORTED},
        {"{\"alg\":\"hs256\"}", HWJ_ERR_UNSUPPORTED},
        {"{\"alg\":\"RSA-OAEP\"}", HWJ_ERR_UNSUPPORTED},
        {"{\"alg\":\"dir\"}", HWJ_ERR_UNSUPPORTED},
        {"{\"alg\":\"A128GCM\"}", HWJ_ERR_UNSUPPORTED},
        {"{\"alg\":5}", HWJ_ERR_PARSE},
        {"{\"kid\":\"" HS_KID "\"}", HWJ_ERR_PARSE},
        {"{\"alg\":null}", HWJ_ERR_PARSE},
        {"{\"alg\":\"HS256\",\"kid\":7}", HWJ_ERR_PARSE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *p = tj_b64s("x"), *t = tj_hs256(hs_secret, hs_len, cases[i].hdr, p);
        EXPECT(t, hs_set, HWJ_ALG_UNKNOWN, cases[i].want);
        free(p), free(t);
    }
    json_decref(ex);
}

/* The classic key-confusion attack: HS256 "signed" with the RSA public key's bytes. */
static void hs256_keyed_with_rsa_public_key(void **state)
{
    const hwj_jwk *rsa = hwj_jwks_get0(rsa_set, 0);
    EVP_PKEY *pub = hwj_jwk_get0_pkey(rsa);
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL, *jwk_text = NULL;
    uint8_t *der = NULL;
    hwj_error err;
    (void)state;

    assert_int_equal(PEM_write_bio_PUBKEY(bio, pub), 1);
    long pem_len = BIO_get_mem_data(bio, &pem);
    int der_len = i2d_PUBKEY(pub, &der);
    assert_true(der_len > 0);
    tu_ok(hwj_jwk_to_json(rsa, 0, &jwk_text, &err), &err);
    const struct {
        const void *k;
        size_t len;
    } secrets[] = {{pem, (size_t)pem_len}, {der, (size_t)der_len}, {jwk_text, strlen(jwk_text)}};
    static const hwj_alg both[] = {HWJ_ALG_RS256, HWJ_ALG_HS256};
    hwj_verify_policy pol = {
        .size = sizeof(hwj_verify_policy), .allow_json = 1, .algs = both, .nalgs = 2};
    char *p = tj_b64s("{\"sub\":\"admin\"}");
    for (size_t i = 0; i < 3; i++) {
        char *t1 = tj_hs256(secrets[i].k, secrets[i].len,
                            "{\"alg\":\"HS256\",\"kid\":\"" RSA_KID "\"}", p);
        char *t2 = tj_hs256(secrets[i].k, secrets[i].len, "{\"alg\":\"HS256\"}", p);
        tj_expect(verify_pol(t1, rsa_set, &pol, &err), HWJ_ERR_KEY_NOT_FOUND, &err);
        tj_expect(verify_pol(t2, rsa_set, &pol, &err), HWJ_ERR_KEY_NOT_FOUND, &err);
        EXPECT(t1, rsa_set, HWJ_ALG_HS256, HWJ_ERR_KEY_NOT_FOUND);
        /* Below key selection, too, an RSA key never checks a MAC. */
        char *sig_b64 = part(t1, 2);
        uint8_t sig[64];
        size_t siglen = 0;
        tu_ok(hwj_b64url_decode_to(sig_b64, strlen(sig_b64), sig, &siglen, "s", &err), &err);
        tj_expect(hwj_jws_check_sig(rsa, HWJ_ALG_HS256, (const uint8_t *)t1,
                                    strlen(t1) - strlen(sig_b64) - 1, sig, siglen, &err),
                  HWJ_ERR_POLICY, &err);
        free(t1), free(t2), free(sig_b64);
    }
    free(p);
    hwj_free(jwk_text);
    OPENSSL_free(der);
    BIO_free(bio);
}

static void ecdsa_forms(void **state)
{
    char *jws =
        sign(p256_key, (hwj_jws_sign_opts){.size = sizeof(hwj_jws_sign_opts), .alg = HWJ_ALG_ES256},
             "payload");
    char *h = part(jws, 0), *p = part(jws, 1), *s = part(jws, 2);
    uint8_t raw[64], *der = NULL, zero[64] = {0};
    size_t rawlen = 0, derlen = 0;
    hwj_error err;
    (void)state;

    tu_ok(hwj_b64url_decode_to(s, strlen(s), raw, &rawlen, "s", &err), &err);
    assert_int_equal(rawlen, 64);
    tu_ok(hwj_ecdsa_raw_to_der(raw, rawlen, 32, &der, &derlen, &err), &err);
    char *sd = tj_b64(der, derlen), *s63 = tj_b64(raw, 63), *sz = tj_b64(zero, 64);
    char *t_der = join3(h, p, sd), *t_short = join3(h, p, s63), *t_zero = join3(h, p, sz);
    EXPECT(jws, p256_set, HWJ_ALG_ES256, HWJ_OK);
    EXPECT(t_der, p256_set, HWJ_ALG_ES256, HWJ_ERR_SIGNATURE); /* DER is not JOSE's r||s */
    EXPECT(t_short, p256_set, HWJ_ALG_ES256, HWJ_ERR_SIGNATURE);
    EXPECT(t_zero, p256_set, HWJ_ALG_ES256, HWJ_ERR_SIGNATURE);
    free(der), free(sd), free(s63), free(sz), free(t_der), free(t_short), free(t_zero);
    free(h), free(p), free(s), free(jws);
}

static void wrong_key_type(void **state)
{
    char *es =
        sign(p256_key, (hwj_jws_sign_opts){.size = sizeof(hwj_jws_sign_opts), .alg = HWJ_ALG_ES256},
             "x");
    char *hs = sign(
        hs_key, (hwj_jws_sign_opts){.size = sizeof(hwj_jws_sign_opts), .alg = HWJ_ALG_HS256}, "x");
    json_t *ex = tu_conformance("jws/4_1.rsa_v15_signature.json");
    const char *rs = json_string_value(json_object_get(json_object_get(ex, "output"), "compact"));
    (void)state;

    EXPECT(es, rsa_set, HWJ_ALG_UNKNOWN, HWJ_ERR_KEY_NOT_FOUND);
    EXPECT(es, hs_set, HWJ_ALG_UNKNOWN, HWJ_ERR_KEY_NOT_FOUND);
    EXPECT(hs, rsa_set, HWJ_ALG_UNKNOWN, HWJ_ERR_KEY_NOT_FOUND);
    EXPECT(hs, p256_set, HWJ_ALG_UNKNOWN, HWJ_ERR_KEY_NOT_FOUND);
    EXPECT(rs, p256_set, HWJ_ALG_UNKNOWN, HWJ_ERR_KEY_NOT_FOUND);
    EXPECT(rs, hs_set, HWJ_ALG_UNKNOWN, HWJ_ERR_KEY_NOT_FOUND);
    /* ES384 claimed over a P-256 key: the curve is bound to the alg. */
    char *p = part(es, 1), *s = part(es, 2), *hj = NULL;
    assert_true(asprintf(&hj, "{\"alg\":\"ES384\",\"kid\":\"%s\"}", p256_kid) > 0);
    char *h = tj_b64s(hj), *t = join3(h, p, s);
    EXPECT(t, p256_set, HWJ_ALG_UNKNOWN, HWJ_ERR_KEY_NOT_FOUND);
    free(p), free(s), free(hj), free(h), free(t), free(es), free(hs);
    json_decref(ex);
}

static void crit_rules(void **state)
{
    static const char *const understood[] = {"exp"};
    hwj_verify_policy pol = {.size = sizeof(hwj_verify_policy),
                             .allow_json = 1,
                             .algs = (const hwj_alg[]){HWJ_ALG_HS256},
                             .nalgs = 1};
    hwj_error err;
    char *p = tj_b64s("x");
    (void)state;

    static const struct {
        const char *hdr;
        hwj_err plain, with_exp; /* without / with "exp" understood by the application */
    } cases[] = {
        {"{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}", HWJ_ERR_UNSUPPORTED, HWJ_OK},
        {"{\"alg\":\"HS256\",\"crit\":[\"zzz\"],\"zzz\":1}", HWJ_ERR_UNSUPPORTED,
         HWJ_ERR_UNSUPPORTED},
        {"{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", HWJ_ERR_PARSE, HWJ_ERR_PARSE}, /* absent */
        {"{\"alg\":\"HS256\",\"crit\":[]}", HWJ_ERR_PARSE, HWJ_ERR_PARSE},
        {"{\"alg\":\"HS256\",\"crit\":\"exp\",\"exp\":1}", HWJ_ERR_PARSE, HWJ_ERR_PARSE},
        {"{\"alg\":\"HS256\",\"crit\":[1],\"exp\":1}", HWJ_ERR_PARSE, HWJ_ERR_PARSE},
        {"{\"alg\":\"HS256\",\"crit\":[\"exp\",\"exp\"],\"exp\":1}", HWJ_ERR_PARSE, HWJ_ERR_PARSE},
        {"{\"alg\":\"HS256\",\"crit\":[\"alg\"]}", HWJ_ERR_PARSE, HWJ_ERR_PARSE},
        {"{\"alg\":\"HS256\",\"crit\":[\"kid\"],\"kid\":\"" HS_KID "\"}", HWJ_ERR_PARSE,
         HWJ_ERR_PARSE},
        {"{\"alg\":\"HS256\",\"crit\":[\"b64\"]}", HWJ_ERR_PARSE, HWJ_ERR_PARSE},
        {"{\"alg\":\"HS256\",\"crit\":null}", HWJ_ERR_PARSE, HWJ_ERR_PARSE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *t = tj_hs256(hs_secret, hs_len, cases[i].hdr, p);
        pol.crit = NULL, pol.ncrit = 0;
        tj_expect(verify_pol(t, hs_set, &pol, &err), cases[i].plain, &err);
        pol.crit = understood, pol.ncrit = 1;
        tj_expect(verify_pol(t, hs_set, &pol, &err), cases[i].with_exp, &err);
        free(t);
    }
    /* "crit" (and "b64") in the unprotected header: refused even when understood. */
    char *t = tj_hs256(hs_secret, hs_len, "{\"alg\":\"HS256\",\"exp\":1}", p);
    char *h = part(t, 0), *s = part(t, 2);
    char *f1 = flat(h, "{\"crit\":[\"exp\"]}", p, s), *f2 = flat(h, "{\"b64\":true}", p, s);
    tj_expect(verify_pol(f1, hs_set, &pol, &err), HWJ_ERR_PARSE, &err);
    tj_expect(verify_pol(f2, hs_set, &pol, &err), HWJ_ERR_PARSE, &err);
    free(f1), free(f2), free(h), free(s), free(t), free(p);
}

static void b64_rules(void **state)
{
    hwj_error err;
    (void)state;

    /* A b64:false JWS read as if base64url, and the reverse: never the wrong payload. */
    char *f = sign(hs_key,
                   (hwj_jws_sign_opts){
                       .size = sizeof(hwj_jws_sign_opts), .alg = HWJ_ALG_HS256, .b64_false = 1},
                   "hell");
    char *t =
        sign(hs_key, (hwj_jws_sign_opts){.size = sizeof(hwj_jws_sign_opts), .alg = HWJ_ALG_HS256},
             "hell");
    char *fh = part(f, 0), *fs = part(f, 2), *th = part(t, 0), *tp = part(t, 1), *ts = part(t, 2);
    hwj_jws_result *res = NULL;
    tu_ok(tj_verify(f, hs_set, HWJ_ALG_HS256, NULL, &res, &err), &err);
    assert_string_equal((const char *)res->payload, "hell");
    hwj_jws_result_free(res);
    char *m1 = join3(fh, tp, fs), *m2 = join3(th, "hell", ts);
    EXPECT(m1, hs_set, HWJ_ALG_HS256, HWJ_ERR_SIGNATURE);
    EXPECT(m2, hs_set, HWJ_ALG_HS256, HWJ_ERR_SIGNATURE);
    /* A b64:false header MACed over the base64url payload (signer and verifier disagree). */
    char *m3 =
        tj_hs256(hs_secret, hs_len, "{\"alg\":\"HS256\",\"b64\":false,\"crit\":[\"b64\"]}", tp);
    tu_ok(tj_verify(m3, hs_set, HWJ_ALG_HS256, NULL, &res, &err), &err);
    assert_string_equal((const char *)res->payload, tp); /* the bytes as signed, not decoded */
    hwj_jws_result_free(res);
    /* An unencoded payload with '.' cannot be compact (RFC 7797 §5.2). */
    char *m4 =
        tj_hs256(hs_secret, hs_len, "{\"alg\":\"HS256\",\"b64\":false,\"crit\":[\"b64\"]}", "$.02");
    EXPECT(m4, hs_set, HWJ_ALG_HS256, HWJ_ERR_PARSE);
    static const char *const bad[] = {
        "{\"alg\":\"HS256\",\"b64\":\"false\",\"crit\":[\"b64\"]}",
        "{\"alg\":\"HS256\",\"b64\":0,\"crit\":[\"b64\"]}",
        "{\"alg\":\"HS256\",\"b64\":null}",
    };
    for (size_t i = 0; i < 3; i++) {
        char *b = tj_hs256(hs_secret, hs_len, bad[i], tp);
        EXPECT(b, hs_set, HWJ_ALG_HS256, HWJ_ERR_PARSE);
        free(b);
    }
    /* Signatures that disagree on b64 (RFC 7797 §3). */
    char *g = NULL;
    assert_true(asprintf(&g,
                         "{\"payload\":\"%s\",\"signatures\":[{\"protected\":\"%s\",\"signature\":"
                         "\"%s\"},{\"protected\":\"%s\",\"signature\":\"%s\"}]}",
                         tp, th, ts, fh, fs) > 0);
    EXPECT(g, hs_set, HWJ_ALG_HS256, HWJ_ERR_PARSE);
    free(g), free(m1), free(m2), free(m3), free(m4);
    free(fh), free(fs), free(th), free(tp), free(ts), free(f), free(t);
}

static void strict_base64url(void **state)
{
    char *t =
        sign(hs_key, (hwj_jws_sign_opts){.size = sizeof(hwj_jws_sign_opts), .alg = HWJ_ALG_HS256},
             "payload!");
    char *h = part(t, 0), *p = part(t, 1), *s = part(t, 2);
    char *hpad = NULL, *pplus = NULL, *spad = NULL, *hsp = NULL;
    (void)state;

    assert_true(asprintf(&hpad, "%s=", h) > 0);
    assert_true(asprintf(&pplus, "+%s", p + 1) > 0);
    assert_true(asprintf(&spad, "%s=", s) > 0);
    assert_true(asprintf(&hsp, " %s", h) > 0);
    char *s_nc = strdup(s); /* 32 bytes: 43 characters, the last one's low 2 bits unused */
    assert_int_equal(strlen(s_nc), 43);
    s_nc[42] = s_nc[42] == 'A' ? 'B' : s_nc[42] == 'g' ? 'h' : 'B';
    char *cases[] = {join3(hpad, p, s), join3(h, pplus, s), join3(h, p, spad), join3(hsp, p, s),
                     join3(h, p, s_nc)};
    for (size_t i = 0; i < 5; i++) {
        EXPECT(cases[i], hs_set, HWJ_ALG_HS256, HWJ_ERR_PARSE);
        free(cases[i]);
    }
    free(hpad), free(pplus), free(spad), free(hsp), free(s_nc), free(h), free(p), free(s), free(t);
}

static void strict_json(void **state)
{
    char *p = tj_b64s("x");
    (void)state;

    static const struct {
        const char *hdr;
        hwj_err want;
    } cases[] = {
        {"{\"alg\":\"HS256\",\"alg\":\"HS256\"}", HWJ_ERR_PARSE},
        {"{\"alg\":\"HS256\",\"kid\":\"a\",\"kid\":\"" HS_KID "\"}", HWJ_ERR_PARSE},
        {"{\"alg\":\"HS256\"", HWJ_ERR_PARSE},
        {"[\"HS256\"]", HWJ_ERR_PARSE},
        {"{\"alg\":\"HS256\",\"x\":\"a\\u0000b\"}", HWJ_ERR_PARSE},
        {"{\"alg\":\"HS256\",\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}", HWJ_ERR_LIMIT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *t = tj_hs256(hs_secret, hs_len, cases[i].hdr, p);
        EXPECT(t, hs_set, HWJ_ALG_HS256, cases[i].want);
        free(t);
    }
    /* Duplicates in the JSON serialization itself and in an unprotected header. */
    char *t = tj_hs256(hs_secret, hs_len, "{\"alg\":\"HS256\"}", p);
    char *h = part(t, 0), *s = part(t, 2), *d1 = NULL;
    assert_true(asprintf(&d1,
                         "{\"payload\":\"%s\",\"payload\":\"%s\",\"protected\":\"%s\","
                         "\"signature\":\"%s\"}",
                         p, p, h, s) > 0);
    char *d2 = flat(h, "{\"kid\":\"a\",\"kid\":\"" HS_KID "\"}", p, s);
    char *ok = flat(h, "{\"kid\":\"" HS_KID "\"}", p, s);
    EXPECT(ok, hs_set, HWJ_ALG_HS256, HWJ_OK);
    EXPECT(d1, hs_set, HWJ_ALG_HS256, HWJ_ERR_PARSE);
    EXPECT(d2, hs_set, HWJ_ALG_HS256, HWJ_ERR_PARSE);
    free(ok), free(d1), free(d2), free(h), free(s), free(t), free(p);
}

static void sizes_and_shapes(void **state)
{
    char *t =
        sign(hs_key, (hwj_jws_sign_opts){.size = sizeof(hwj_jws_sign_opts), .alg = HWJ_ALG_HS256},
             "payload");
    hwj_verify_policy pol = {.size = sizeof(hwj_verify_policy),
                             .allow_json = 1,
                             .algs = (const hwj_alg[]){HWJ_ALG_HS256},
                             .nalgs = 1};
    hwj_error err;
    (void)state;

    pol.max_size = strlen(t) - 1;
    tj_expect(verify_pol(t, hs_set, &pol, &err), HWJ_ERR_LIMIT, &err);
    pol.max_size = strlen(t);
    tu_ok(verify_pol(t, hs_set, &pol, &err), &err);
    char *big = malloc(HWJ_DEFAULT_MAX_SIZE + 2);
    memset(big, 'A', HWJ_DEFAULT_MAX_SIZE + 1);
    big[HWJ_DEFAULT_MAX_SIZE + 1] = '\0';
    EXPECT(big, hs_set, HWJ_ALG_HS256, HWJ_ERR_LIMIT);
    big[0] = '{';
    EXPECT(big, hs_set, HWJ_ALG_HS256, HWJ_ERR_LIMIT);
    free(big);

    char *four = NULL, *five = NULL, *h0 = part(t, 0), *p0 = part(t, 1), *two = NULL;
    assert_true(asprintf(&two, "%s.%s", h0, p0) > 0);
    assert_true(asprintf(&four, "%s.AAAA", t) > 0);
    assert_true(asprintf(&five, "%s.AAAA.AAAA", t) > 0);
    EXPECT(four, hs_set, HWJ_ALG_HS256, HWJ_ERR_PARSE);
    EXPECT(five, hs_set, HWJ_ALG_HS256, HWJ_ERR_PARSE);
    EXPECT(two, hs_set, HWJ_ALG_HS256, HWJ_ERR_PARSE);
    EXPECT("", hs_set, HWJ_ALG_HS256, HWJ_ERR_PARSE);
    EXPECT("..", hs_set, HWJ_ALG_HS256, HWJ_ERR_PARSE);
    free(four), free(five), free(two), free(h0), free(p0);

    /* Empty, truncated and extended MACs. */
    char *h = part(t, 0), *p = part(t, 1), *s = part(t, 2);
    uint8_t mac[33];
    size_t maclen = 0;
    tu_ok(hwj_b64url_decode_to(s, strlen(s), mac, &maclen, "s", &err), &err);
    mac[32] = 0;
    char *s16 = tj_b64(mac, 16), *s33 = tj_b64(mac, 33);
    char *e0 = join3(h, p, ""), *e16 = join3(h, p, s16), *e33 = join3(h, p, s33);
    EXPECT(e0, hs_set, HWJ_ALG_HS256, HWJ_ERR_SIGNATURE);
    EXPECT(e16, hs_set, HWJ_ALG_HS256, HWJ_ERR_SIGNATURE);
    EXPECT(e33, hs_set, HWJ_ALG_HS256, HWJ_ERR_SIGNATURE);
    free(s16), free(s33), free(e0), free(e16), free(e33), free(h), free(p), free(s), free(t);
}

static void json_shapes(void **state)
{
    char *t =
        sign(hs_key, (hwj_jws_sign_opts){.size = sizeof(hwj_jws_sign_opts), .alg = HWJ_ALG_HS256},
             "payload");
    char *h = part(t, 0), *p = part(t, 1), *s = part(t, 2), *j[12] = {0};
    hwj_alg hs = HWJ_ALG_HS256;
    hwj_verify_policy pol = {
        .size = sizeof(hwj_verify_policy), .allow_json = 1, .algs = &hs, .nalgs = 1};
    hwj_jws_result *res = NULL;
    hwj_error err;
    (void)state;

    j[0] = flat(h, NULL, NULL, s);                    /* no payload and none supplied */
    j[1] = flat(h, "{\"alg\":\"HS256\"}", p, s);      /* alg both protected and not */
    j[2] = flat(h, "{\"kid\":\"" HS_KID "\"}", p, s); /* kid too (it is protected) */
    assert_true(asprintf(&j[3], "{\"payload\":\"%s\",\"signatures\":[],\"x\":1}", p) > 0);
    assert_true(asprintf(&j[4],
                         "{\"payload\":\"%s\",\"signature\":\"%s\",\"protected\":\"%s\","
                         "\"signatures\":[{\"protected\":\"%s\",\"signature\":\"%s\"}]}",
                         p, s, h, h, s) > 0);
    assert_true(asprintf(&j[5], "{\"payload\":5,\"protected\":\"%s\",\"signature\":\"%s\"}", h, s) >
                0);
    assert_true(asprintf(&j[6], "{\"payload\":\"%s\",\"protected\":\"%s\"}", p, h) > 0);
    assert_true(asprintf(&j[7],
                         "{\"payload\":\"%s\",\"protected\":\"\",\"header\":"
                         "{\"alg\":\"HS256\"},\"signature\":\"%s\"}",
                         p, s) > 0);
    assert_true(asprintf(&j[8], "{\"payload\":\"%s\",\"signatures\":[5]}", p) > 0);
    assert_true(asprintf(&j[9],
                         "{\"payload\":\"%s\",\"header\":[],\"protected\":\"%s\","
                         "\"signature\":\"%s\"}",
                         p, h, s) > 0);
    assert_true(asprintf(&j[10], "[\"%s\"]", t) > 0);
    for (size_t i = 0; i < 11; i++)
        if (j[i] != NULL)
            EXPECT(j[i], hs_set, HWJ_ALG_HS256, HWJ_ERR_PARSE);
    /* Payload both in the JWS and detached: refused, in either serialization. */
    char *full = flat(h, NULL, p, s), *det = flat(h, NULL, NULL, s);
    tj_expect(
        hwj_jws_verify(full, strlen(full), hs_set, &pol, (const uint8_t *)"payload", 7, &res, &err),
        HWJ_ERR_PARSE, &err);
    tj_expect(hwj_jws_verify(t, strlen(t), hs_set, &pol, (const uint8_t *)"payload", 7, &res, &err),
              HWJ_ERR_PARSE, &err);
    tu_ok(hwj_jws_verify(det, strlen(det), hs_set, &pol, (const uint8_t *)"payload", 7, &res, &err),
          &err);
    hwj_jws_result_free(res);
    tj_expect(
        hwj_jws_verify(det, strlen(det), hs_set, &pol, (const uint8_t *)"payloaD", 7, &res, &err),
        HWJ_ERR_SIGNATURE, &err);
    /* More signatures than the limit. */
    size_t cap = 64 + (HWJ_JWS_MAX_SIGNATURES + 1) * (strlen(h) + strlen(s) + 40);
    char *many = malloc(cap);
    int n = snprintf(many, cap, "{\"payload\":\"%s\",\"signatures\":[", p);
    for (int i = 0; i <= HWJ_JWS_MAX_SIGNATURES; i++)
        n += snprintf(many + n, cap - (size_t)n, "%s{\"protected\":\"%s\",\"signature\":\"%s\"}",
                      i ? "," : "", h, s);
    snprintf(many + n, cap - (size_t)n, "]}");
    EXPECT(many, hs_set, HWJ_ALG_HS256, HWJ_ERR_LIMIT);
    free(many), free(full), free(det);
    for (size_t i = 0; i < 12; i++)
        free(j[i]);
    free(h), free(p), free(s), free(t);
}

/* A token that carries its own key: "jwk", "jku", "x5u", "x5c" never choose the key. */
static void embedded_keys_ignored(void **state)
{
    char *jwk = NULL, *hdr = NULL;
    hwj_jwks *empty = NULL;
    hwj_error err;
    (void)state;

    tu_ok(hwj_key_public_jwk(attacker_key, &jwk, &err), &err);
    assert_true(asprintf(&hdr,
                         "{\"jwk\":%s,\"jku\":\"https://attacker.example/jwks.json\","
                         "\"x5u\":\"https://attacker.example/c.pem\",\"x5c\":[\"MIIB\"]}",
                         jwk) > 0);
    char *t1 = sign(attacker_key,
                    (hwj_jws_sign_opts){.size = sizeof(hwj_jws_sign_opts),
                                        .alg = HWJ_ALG_ES256,
                                        .kid = p256_kid,
                                        .header_json = hdr},
                    "{\"admin\":true}");
    char *t2 = sign(
        attacker_key,
        (hwj_jws_sign_opts){
            .size = sizeof(hwj_jws_sign_opts), .alg = HWJ_ALG_ES256, .kid = "", .header_json = hdr},
        "{\"admin\":true}");
    EXPECT(t1, p256_set, HWJ_ALG_ES256, HWJ_ERR_SIGNATURE);
    EXPECT(t2, p256_set, HWJ_ALG_ES256, HWJ_ERR_SIGNATURE);
    tu_ok(hwj_jwks_new(&empty, &err), &err);
    EXPECT(t2, empty, HWJ_ALG_ES256, HWJ_ERR_KEY_NOT_FOUND);
    /* The same token verifies only against the attacker's key when the caller supplies it. */
    hwj_jwks *attacker_set = tj_set_of_key(attacker_key);
    EXPECT(t2, attacker_set, HWJ_ALG_ES256, HWJ_OK);
    hwj_jwks_free(attacker_set);
    hwj_jwks_free(empty);
    free(t1), free(t2), free(hdr);
    hwj_free(jwk);
}

/* PS*: the salt must be exactly the hash length (RFC 7518 §3.5). */
static void pss_salt_length(void **state)
{
    hwj_jwks *priv = tj_set(rsa_json, 0);
    EVP_PKEY *pkey = hwj_jwk_get0_pkey(hwj_jwks_get0(priv, 0));
    char *h = tj_b64s("{\"alg\":\"PS256\",\"kid\":\"" RSA_KID "\"}"), *p = tj_b64s("pss");
    char *in = NULL;
    (void)state;

    assert_true(asprintf(&in, "%s.%s", h, p) > 0);
    const int salts[] = {32, 0, 20, RSA_PSS_SALTLEN_MAX};
    for (size_t i = 0; i < 4; i++) {
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        EVP_PKEY_CTX *pc = NULL;
        uint8_t sig[512];
        size_t siglen = sizeof(sig);
        assert_int_equal(EVP_DigestSignInit_ex(m, &pc, "SHA256", NULL, NULL, pkey, NULL), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, salts[i]), 1);
        assert_int_equal(EVP_DigestSign(m, sig, &siglen, (uint8_t *)in, strlen(in)), 1);
        char *s = tj_b64(sig, siglen), *t = join3(h, p, s);
        EXPECT(t, rsa_set, HWJ_ALG_PS256, i == 0 ? HWJ_OK : HWJ_ERR_SIGNATURE);
        /* nor does a PSS signature pass as RS256 */
        char *h2 = tj_b64s("{\"alg\":\"RS256\",\"kid\":\"" RSA_KID "\"}"), *t2 = join3(h2, p, s);
        EXPECT(t2, rsa_set, HWJ_ALG_RS256, HWJ_ERR_SIGNATURE);
        free(h2), free(t2), free(s), free(t);
        EVP_MD_CTX_free(m);
    }
    /* An RSA signature one byte longer than the modulus (leading zero). */
    json_t *ex = tu_conformance("jws/4_1.rsa_v15_signature.json");
    const char *rs = json_string_value(json_object_get(json_object_get(ex, "output"), "compact"));
    char *rh = part(rs, 0), *rp = part(rs, 1), *rsig = part(rs, 2);
    uint8_t sig[257] = {0};
    size_t siglen = 0;
    hwj_error err;
    tu_ok(hwj_b64url_decode_to(rsig, strlen(rsig), sig + 1, &siglen, "s", &err), &err);
    char *s257 = tj_b64(sig, siglen + 1), *t = join3(rh, rp, s257);
    EXPECT(t, rsa_set, HWJ_ALG_RS256, HWJ_ERR_SIGNATURE);
    free(s257), free(t), free(rh), free(rp), free(rsig), free(in), free(h), free(p);
    json_decref(ex);
    hwj_jwks_free(priv);
}

/* Several signatures: a bad one does not hide a good one, and a bad one is reported. */
static void multiple_signature_outcomes(void **state)
{
    char *t = sign(
        hs_key, (hwj_jws_sign_opts){.size = sizeof(hwj_jws_sign_opts), .alg = HWJ_ALG_HS256}, "m");
    char *h = part(t, 0), *p = part(t, 1), *s = part(t, 2), *bad = strdup(s), *g = NULL;
    (void)state;

    bad[0] = bad[0] == 'A' ? 'B' : 'A';
#define TWO_SIGS                                                                                   \
    "{\"payload\":\"%s\",\"signatures\":[{\"protected\":\"%s\",\"signature\":\"%s\"},"             \
    "{\"protected\":\"%s\",\"signature\":\"%s\"}]}"
    assert_true(asprintf(&g, TWO_SIGS, p, h, bad, h, s) > 0);
    hwj_jws_result *res = NULL;
    hwj_error err;
    tu_ok(tj_verify(g, hs_set, HWJ_ALG_HS256, NULL, &res, &err), &err);
    assert_int_equal(res->signature_index, 1);
    hwj_jws_result_free(res);
    free(g);
    assert_true(asprintf(&g, TWO_SIGS, p, h, bad, h, bad) > 0);
    EXPECT(g, hs_set, HWJ_ALG_HS256, HWJ_ERR_SIGNATURE);
    free(g), free(bad), free(h), free(p), free(s), free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tampering),
        cmocka_unit_test(alg_none),
        cmocka_unit_test(alg_policy),
        cmocka_unit_test(hs256_keyed_with_rsa_public_key),
        cmocka_unit_test(ecdsa_forms),
        cmocka_unit_test(wrong_key_type),
        cmocka_unit_test(crit_rules),
        cmocka_unit_test(b64_rules),
        cmocka_unit_test(strict_base64url),
        cmocka_unit_test(strict_json),
        cmocka_unit_test(sizes_and_shapes),
        cmocka_unit_test(json_shapes),
        cmocka_unit_test(embedded_keys_ignored),
        cmocka_unit_test(pss_salt_length),
        cmocka_unit_test(multiple_signature_outcomes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
