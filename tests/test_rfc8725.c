/* test_rfc8725.c: the adversarial checks an external JOSE test suite makes (Wycheproof-style
 * JWS/JWE/JWK vectors, jwt_tool-style attacks) that the module tests do not already make;
 * docs/security.md maps every RFC 8725 item to the test that covers it.
 *
 * JWS: ECDSA scalars out of range (r or s zero, = n, all-ones) and the malleable high-S
 * form; Ed25519 with S >= L and small-order public keys; RSA signatures >= the modulus;
 * duplicate members hidden behind \u escapes or nested objects; "use"/"key_ops"/"alg" of
 * the verification JWK; "crit" names outside the protected header.
 * JWE: GCM and CBC-HS IVs and tags of the wrong length, empty ciphertext, "dir" and
 * ECDH-ES with an encrypted key, PBES2 p2s/p2c edge values, "zip" outside the protected
 * header, RSA1_5 padding failures indistinguishable from a wrong key, X25519 low-order
 * "epk" points, an "epk" carrying "d", alg "none".
 * JWK: publishing a set never leaks private members; low-order OKP keys are refused. */
#include "test_jws_util.h"

#include "core/b64url.h"
#include "core/ecdsa.h"
#include "core/jwk.h"
#include "jose/jwe_internal.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------------- */

static char *cat3(const char *a, const char *b, const char *c)
{
    char *s = NULL;
    assert_true(asprintf(&s, "%s.%s.%s", a, b, c) > 0);
    return s;
}

static hwj_jwks *set_of(const char *jwk_json)
{
    hwj_jwks *set = NULL;
    hwj_jwk *jwk = NULL;
    hwj_error err;
    tu_ok(hwj_jwks_new(&set, &err), &err);
    tu_ok(hwj_jwk_parse(jwk_json, strlen(jwk_json), &jwk, &err), &err);
    tu_ok(hwj_jwks_add(set, jwk, &err), &err);
    return set;
}

static hwj_jwks *set_of_pkey(EVP_PKEY *pkey, const char *extra_members)
{
    json_t *j = NULL;
    hwj_error err;
    tu_ok(hwj_pkey_to_json(pkey, &j, &err), &err);
    if (extra_members != NULL) {
        json_t *x = json_loads(extra_members, 0, NULL);
        assert_non_null(x);
        json_object_update(j, x);
        json_decref(x);
    }
    char *text = tj_dump(j);
    hwj_jwks *set = set_of(text);
    free(text);
    json_decref(j);
    return set;
}

/* Sign `in` with a software key the way JOSE wants it (raw r||s for ECDSA). */
static size_t evp_sign(EVP_PKEY *pkey, const char *md, const char *in, uint8_t *sig)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    uint8_t der[600];
    size_t n = sizeof(der);
    hwj_error err;
    assert_int_equal(EVP_DigestSignInit_ex(m, NULL, md, NULL, NULL, pkey, NULL), 1);
    assert_int_equal(EVP_DigestSign(m, der, &n, (const uint8_t *)in, strlen(in)), 1);
    EVP_MD_CTX_free(m);
    if (EVP_PKEY_is_a(pkey, "EC")) {
        tu_ok(hwj_ecdsa_der_to_raw(der, n, 32, sig, &err), &err);
        return 64;
    }
    memcpy(sig, der, n);
    return n;
}

#define EXPECT(jws, set, alg, want)                                                                \
    do {                                                                                           \
        hwj_error e_;                                                                              \
        tj_expect(tj_verify((jws), (set), (alg), NULL, NULL, &e_), (want), &e_);                   \
    } while (0)

/* ---- JWS: signature values ------------------------------------------------------------ */

/* P-256 group order n, big-endian. */
static const uint8_t p256_n[32] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
                                   0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};

/* x = n - x for a 32-byte big-endian x < n. */
static void negate_mod_n(uint8_t *x)
{
    unsigned borrow = 0;
    for (int i = 31; i >= 0; i--) {
        unsigned d = (unsigned)p256_n[i] - x[i] - borrow;
        borrow = d >> 8 & 1;
        x[i] = (uint8_t)d;
    }
}

/* RFC 7518 §3.4: r and s are integers in [1, n-1]. r or s zero, equal to n or above it must
 * fail; the high-S twin (n - s) of a valid signature is itself a valid ECDSA signature. */
static void es256_scalar_range(void **state)
{
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    hwj_jwks *set = set_of_pkey(pkey, NULL);
    char *h = tj_b64s("{\"alg\":\"ES256\"}"), *p = tj_b64s("{\"sub\":\"x\"}"), *in = NULL;
    uint8_t sig[64], bad[64];
    (void)state;

    assert_true(asprintf(&in, "%s.%s", h, p) > 0);
    assert_int_equal(evp_sign(pkey, "SHA256", in, sig), 64);
    char *s = tj_b64(sig, 64), *t = cat3(h, p, s);
    EXPECT(t, set, HWJ_ALG_ES256, HWJ_OK);
    free(s), free(t);

    for (int k = 0; k < 7; k++) {
        memcpy(bad, sig, 64);
        switch (k) {
        case 0: memset(bad, 0, 32); break;                                   /* r = 0 */
        case 1: memset(bad + 32, 0, 32); break;                              /* s = 0 */
        case 2: memcpy(bad, p256_n, 32); break;                              /* r = n */
        case 3: memcpy(bad + 32, p256_n, 32); break;                         /* s = n */
        case 4: memset(bad, 0xff, 64); break;                                /* r, s > n */
        case 5: memset(bad, 0, 64); break;                                   /* r = s = 0 */
        case 6: memcpy(bad, sig + 32, 32), memcpy(bad + 32, sig, 32); break; /* swapped */
        }
        s = tj_b64(bad, 64), t = cat3(h, p, s);
        EXPECT(t, set, HWJ_ALG_ES256, HWJ_ERR_SIGNATURE);
        free(s), free(t);
    }
    /* r || (n - s): ECDSA is malleable; RFC 7518 does not demand low S (nor does Wycheproof
     * for plain ECDSA). Pinned here so a change of behaviour is a decision, not an accident;
     * docs/security.md says why token bytes must never serve as a replay key. */
    memcpy(bad, sig, 64);
    negate_mod_n(bad + 32);
    s = tj_b64(bad, 64), t = cat3(h, p, s);
    EXPECT(t, set, HWJ_ALG_ES256, HWJ_OK);
    free(s), free(t), free(in), free(h), free(p);
    hwj_jwks_free(set);
    EVP_PKEY_free(pkey);
}

/* Ed25519 group order L, little-endian (RFC 8032 §5.1). */
static const uint8_t ed_l[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                 0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

/* RFC 8032 §5.1.7: S must be < L (S + L would otherwise be a second valid signature). */
static void eddsa_non_canonical_s(void **state)
{
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    hwj_jwks *set = set_of_pkey(pkey, NULL);
    char *h = tj_b64s("{\"alg\":\"EdDSA\"}"), *p = tj_b64s("payload"), *in = NULL;
    uint8_t sig[64];
    (void)state;

    assert_true(asprintf(&in, "%s.%s", h, p) > 0);
    assert_int_equal(evp_sign(pkey, NULL, in, sig), 64);
    char *s = tj_b64(sig, 64), *t = cat3(h, p, s);
    EXPECT(t, set, HWJ_ALG_EDDSA, HWJ_OK);
    free(s), free(t);
    /* S + L, little-endian addition (S < 2^253, so no overflow out of 256 bits). */
    unsigned carry = 0;
    for (int i = 0; i < 32; i++) {
        unsigned v = (unsigned)sig[32 + i] + ed_l[i] + carry;
        sig[32 + i] = (uint8_t)v;
        carry = v >> 8;
    }
    s = tj_b64(sig, 64), t = cat3(h, p, s);
    EXPECT(t, set, HWJ_ALG_EDDSA, HWJ_ERR_SIGNATURE);
    free(s), free(t);
    /* S with its top three bits set: far above L */
    sig[63] |= 0xe0;
    s = tj_b64(sig, 64), t = cat3(h, p, s);
    EXPECT(t, set, HWJ_ALG_EDDSA, HWJ_ERR_SIGNATURE);
    free(s), free(t), free(in), free(h), free(p);
    hwj_jwks_free(set);
    EVP_PKEY_free(pkey);
}

/* Small-order Ed25519 / X25519 points (the identity, order 2, 4 and 8 points, and their
 * non-canonical encodings): with the identity as public key, R = identity, S = 0 verifies any
 * message under the plain RFC 8032 equation. Such keys are refused when a JWK is imported. */
static const char *const ed_small_order_x[] = {
    "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* identity (0, 1) */
    "7P_______________________________________38", /* (0, -1), order 2 */
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* order 4 */
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAIA", /* order 4 */
    "JuiVj8KyJ7BFw_SJ8u-Y8NXfrAXTxjM5sTgCiG1T_AU", /* order 8 */
    "xxdqcD1N2E-6PAt2DRBnDyogU_osOczGTsf9d5KsA3o", /* order 8 */
    "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAIA", /* identity, sign bit set */
    "7P________________________________________8", /* (0, -1), sign bit set */
    "7v_______________________________________38", /* y = p + 1 (non-canonical 1) */
};

static void eddsa_small_order_key(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ed_small_order_x) / sizeof(ed_small_order_x[0]); i++) {
        char *j = NULL;
        hwj_jwk *jwk = NULL;
        hwj_error err;
        if (strlen(ed_small_order_x[i]) != 43)
            continue; /* keep the table honest: only 32-byte encodings */
        assert_true(asprintf(&j, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\"}",
                             ed_small_order_x[i]) > 0);
        hwj_err rc = hwj_jwk_parse(j, strlen(j), &jwk, &err);
        if (rc == HWJ_OK) {
            /* If the importer let it in, the forgery R = identity, S = 0 must still fail. */
            hwj_jwks *set = NULL;
            tu_ok(hwj_jwks_new(&set, &err), &err);
            tu_ok(hwj_jwks_add(set, jwk, &err), &err);
            uint8_t sig[64] = {1};
            char *h = tj_b64s("{\"alg\":\"EdDSA\"}"), *p = tj_b64s("{\"admin\":true}");
            char *s = tj_b64(sig, 64), *t = cat3(h, p, s);
            EXPECT(t, set, HWJ_ALG_EDDSA, HWJ_ERR_SIGNATURE);
            free(h), free(p), free(s), free(t);
            hwj_jwks_free(set);
            fail_msg("small-order Ed25519 key %zu was imported", i);
        }
        tj_expect(rc, HWJ_ERR_PARSE, &err);
        free(j);
    }
}

/* RFC 8032 §5.1.3: y >= p is no Ed25519 encoding (p .. 2^255 - 1, either sign bit). */
static void eddsa_non_canonical_key(void **state)
{
    (void)state;
    for (int v = 0xed; v <= 0xff; v++)
        for (int sign = 0; sign < 2; sign++) {
            uint8_t x[32];
            memset(x, 0xff, sizeof(x));
            x[0] = (uint8_t)v;
            x[31] = sign ? 0xff : 0x7f;
            char *b = tj_b64(x, 32), *j = NULL;
            hwj_jwk *jwk = NULL;
            hwj_error err;
            assert_true(asprintf(&j, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\"}", b) > 0);
            tj_expect(hwj_jwk_parse(j, strlen(j), &jwk, &err), HWJ_ERR_PARSE, &err);
            free(j), free(b);
        }
}

/* RFC 8017 §5.2.2: a signature representative >= n is invalid; so is one byte too short. */
static void rsa_signature_out_of_range(void **state)
{
    char *path = NULL;
    assert_true(asprintf(&path, "%s/soft-rsa2048.pem", HWJ_TEST_DATA_DIR) > 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(pkey);
    hwj_jwks *set = set_of_pkey(pkey, NULL);
    char *h = tj_b64s("{\"alg\":\"RS256\"}"), *p = tj_b64s("rsa"), *in = NULL;
    uint8_t sig[512], nbytes[256];
    BIGNUM *n = NULL;
    (void)state;

    assert_true(asprintf(&in, "%s.%s", h, p) > 0);
    size_t len = evp_sign(pkey, "SHA256", in, sig);
    assert_int_equal(len, 256);
    char *s = tj_b64(sig, len), *t = cat3(h, p, s);
    EXPECT(t, set, HWJ_ALG_RS256, HWJ_OK);
    free(s), free(t);
    assert_int_equal(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n), 1);
    assert_int_equal(BN_bn2binpad(n, nbytes, 256), 256);
    uint8_t ones[256];
    memset(ones, 0xff, sizeof(ones));
    const uint8_t *bad[] = {nbytes, ones, sig};
    const size_t badlen[] = {256, 256, 255};
    for (size_t i = 0; i < 3; i++) {
        s = tj_b64(bad[i], badlen[i]), t = cat3(h, p, s);
        EXPECT(t, set, HWJ_ALG_RS256, HWJ_ERR_SIGNATURE);
        free(s), free(t);
    }
    BN_free(n);
    free(in), free(h), free(p), free(path);
    hwj_jwks_free(set);
    EVP_PKEY_free(pkey);
}

/* ---- JWS: headers and keys ------------------------------------------------------------- */

static const uint8_t hs_secret[32] = "0123456789abcdef0123456789abcdef";
#define HS_JWK "{\"kty\":\"oct\",\"k\":\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY\"}"

/* RFC 7515 §5.2 / RFC 8725 §3.12-ish: a member name is its unescaped value, so "\u0061lg" is
 * a second "alg" — the old "alg":"none" smuggling trick. Duplicates nested in objects too. */
static void duplicate_members_escaped_and_nested(void **state)
{
    hwj_jwks *set = set_of(HS_JWK);
    char *p = tj_b64s("{\"sub\":\"x\"}");
    (void)state;
    static const char *const hdrs[] = {
        "{\"alg\":\"HS256\",\"\\u0061lg\":\"none\"}",
        "{\"\\u0061lg\":\"HS256\",\"alg\":\"HS256\"}",
        "{\"alg\":\"HS256\",\"x\":{\"a\":1,\"a\":2}}",
        "{\"alg\":\"HS256\",\"x\":[{\"a\":1,\"\\u0061\":2}]}",
        "{\"alg\":\"HS256\",\"jwk\":{\"kty\":\"oct\",\"kty\":\"RSA\"}}",
    };
    for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
        char *t = tj_hs256(hs_secret, 32, hdrs[i], p);
        EXPECT(t, set, HWJ_ALG_HS256, HWJ_ERR_PARSE);
        free(t);
    }
    /* A JSON serialization whose unprotected header carries a nested duplicate. */
    char *t = tj_hs256(hs_secret, 32, "{\"alg\":\"HS256\"}", p), *hp = strdup(t);
    *strchr(hp, '.') = '\0';
    char *j = NULL;
    assert_true(asprintf(&j,
                         "{\"payload\":\"%s\",\"protected\":\"%s\",\"header\":{\"x\":{\"b\":1,"
                         "\"b\":1}},\"signature\":\"%s\"}",
                         p, hp, strrchr(t, '.') + 1) > 0);
    EXPECT(j, set, HWJ_ALG_HS256, HWJ_ERR_PARSE);
    free(j), free(hp), free(t), free(p);
    hwj_jwks_free(set);
}

/* RFC 8725 §3.7, RFC 7515 §5.2: headers are UTF-8 JSON. Overlong forms, lone surrogates
 * (raw or escaped), bytes that are never UTF-8: refused, not "repaired". */
static void invalid_utf8_refused(void **state)
{
    hwj_jwks *set = set_of(HS_JWK);
    char *p = tj_b64s("x");
    hwj_error err;
    (void)state;
    static const char *const hdrs[] = {
        "{\"alg\":\"HS256\",\"kid\":\"\xc0\xaf\"}",     /* overlong '/' */
        "{\"alg\":\"HS256\",\"kid\":\"\xed\xa0\x80\"}", /* raw surrogate */
        "{\"alg\":\"HS256\",\"kid\":\"\\ud800\"}",      /* escaped lone surrogate */
        "{\"alg\":\"HS256\",\"kid\":\"\xff\"}",         /* never UTF-8 */
        "{\"alg\":\"HS256\",\"kid\":\"\xe2\x82\"}",     /* truncated sequence */
        "\xef\xbb\xbf{\"alg\":\"HS256\"}",              /* byte order mark */
    };
    for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
        char *t = tj_hs256(hs_secret, 32, hdrs[i], p);
        EXPECT(t, set, HWJ_ALG_HS256, HWJ_ERR_PARSE);
        free(t);
    }
    /* the same in a signed claims set */
    static const hwj_alg hs = HWJ_ALG_HS256;
    hwj_jwt_verify_opts o = {
        .size = sizeof(hwj_jwt_verify_opts),
        .policy = &(hwj_verify_policy){.size = sizeof(hwj_verify_policy), .algs = &hs, .nalgs = 1},
        .iss = "i",
        .aud = "a",
        .allow_no_exp = 1};
    char *cp = tj_b64s("{\"iss\":\"i\",\"aud\":\"a\",\"sub\":\"\xc0\xaf\"}");
    char *t = tj_hs256(hs_secret, 32, "{\"alg\":\"HS256\"}", cp), *claims = NULL;
    tj_expect(hwj_jwt_verify(t, strlen(t), set, &o, &claims, &err), HWJ_ERR_CLAIMS, &err);
    free(t), free(cp), free(p);
    hwj_jwks_free(set);
}

/* RFC 7517 §4.2–4.4, RFC 8725 §3.1: the verification key's "use", "key_ops" and "alg" bind it. */
static void verification_key_use_ops_alg(void **state)
{
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    char *h = tj_b64s("{\"alg\":\"ES256\"}"), *p = tj_b64s("x"), *in = NULL;
    uint8_t sig[64];
    (void)state;
    assert_true(asprintf(&in, "%s.%s", h, p) > 0);
    evp_sign(pkey, "SHA256", in, sig);
    char *s = tj_b64(sig, 64), *t = cat3(h, p, s);
    static const struct {
        const char *members;
        hwj_err want;
    } cases[] = {
        {NULL, HWJ_OK},
        {"{\"use\":\"sig\"}", HWJ_OK},
        {"{\"use\":\"enc\"}", HWJ_ERR_KEY_NOT_FOUND},
        {"{\"key_ops\":[\"verify\"]}", HWJ_OK},
        {"{\"key_ops\":[\"sign\"]}", HWJ_ERR_KEY_NOT_FOUND},
        {"{\"key_ops\":[]}", HWJ_ERR_KEY_NOT_FOUND},
        {"{\"key_ops\":[\"deriveKey\"]}", HWJ_ERR_KEY_NOT_FOUND},
        {"{\"alg\":\"ES256\"}", HWJ_OK},
        {"{\"alg\":\"ES384\"}", HWJ_ERR_KEY_NOT_FOUND},
        {"{\"alg\":\"ECDH-ES\"}", HWJ_ERR_KEY_NOT_FOUND},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hwj_jwks *set = set_of_pkey(pkey, cases[i].members);
        EXPECT(t, set, HWJ_ALG_ES256, cases[i].want);
        hwj_jwks_free(set);
    }
    free(s), free(t), free(in), free(h), free(p);
    EVP_PKEY_free(pkey);
}

/* RFC 9864 "Ed25519" is EdDSA by name: an Ed25519 key only, and a JWK's "alg" binds it to one
 * of the two names (RFC 8725 §3.1: the key and the alg agree, never by a polymorphic reading). */
static void ed25519_alg_binding(void **state)
{
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    EVP_PKEY *others[] = {EVP_EC_gen("P-256"), EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048),
                          EVP_PKEY_Q_keygen(NULL, NULL, "X25519")};
    const char *const names[] = {"Ed25519", "EdDSA"};
    const hwj_alg algs[] = {HWJ_ALG_ED25519, HWJ_ALG_EDDSA};
    (void)state;

    for (size_t n = 0; n < 2; n++) {
        char hdr[32], *h, *p = tj_b64s("x"), *in = NULL;
        uint8_t sig[64];
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"}", names[n]);
        h = tj_b64s(hdr);
        assert_true(asprintf(&in, "%s.%s", h, p) > 0);
        assert_int_equal(evp_sign(ed, NULL, in, sig), 64);
        char *s = tj_b64(sig, 64), *t = cat3(h, p, s), own[32], other[32];
        snprintf(own, sizeof(own), "{\"alg\":\"%s\"}", names[n]);
        snprintf(other, sizeof(other), "{\"alg\":\"%s\"}", names[1 - n]);
        hwj_jwks *set = set_of_pkey(ed, NULL);
        EXPECT(t, set, algs[n], HWJ_OK);
        EXPECT(t, set, algs[1 - n], HWJ_ERR_POLICY); /* the other name is not on the list */
        hwj_jwks_free(set);
        set = set_of_pkey(ed, own);
        EXPECT(t, set, algs[n], HWJ_OK);
        hwj_jwks_free(set);
        set = set_of_pkey(ed, other); /* a JWK bound to the other name does not fit */
        EXPECT(t, set, algs[n], HWJ_ERR_KEY_NOT_FOUND);
        hwj_jwks_free(set);
        for (size_t k = 0; k < sizeof(others) / sizeof(others[0]); k++) {
            assert_non_null(others[k]);
            set = set_of_pkey(others[k], NULL); /* P-256, RSA, X25519: never an Ed25519 key */
            EXPECT(t, set, algs[n], HWJ_ERR_KEY_NOT_FOUND);
            hwj_jwks_free(set);
        }
        free(s), free(t), free(in), free(h), free(p);
    }
    for (size_t k = 0; k < sizeof(others) / sizeof(others[0]); k++)
        EVP_PKEY_free(others[k]);
    EVP_PKEY_free(ed);
}

/* RFC 7515 §4.1.11: "crit" and the names it lists belong in the protected header. */
static void crit_outside_protected(void **state)
{
    static const char *const understood[] = {"exp"};
    hwj_alg hs = HWJ_ALG_HS256;
    hwj_verify_policy pol = {.size = sizeof(hwj_verify_policy),
                             .allow_json = 1,
                             .algs = &hs,
                             .nalgs = 1,
                             .crit = understood,
                             .ncrit = 1};
    hwj_jwks *set = set_of(HS_JWK);
    char *p = tj_b64s("x");
    hwj_error err;
    (void)state;
    static const struct {
        const char *prot, *unprot;
    } cases[] = {
        {"{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", "{\"exp\":1}"},
        {"{\"alg\":\"HS256\",\"exp\":1}", "{\"crit\":[\"exp\"]}"},
    };
    for (size_t i = 0; i < 2; i++) {
        char *t = tj_hs256(hs_secret, 32, cases[i].prot, p), *hp = strdup(t), *j = NULL;
        *strchr(hp, '.') = '\0';
        assert_true(asprintf(&j,
                             "{\"payload\":\"%s\",\"protected\":\"%s\",\"header\":%s,"
                             "\"signature\":\"%s\"}",
                             p, hp, cases[i].unprot, strrchr(t, '.') + 1) > 0);
        hwj_jws_result *res = NULL;
        tj_expect(hwj_jws_verify(j, strlen(j), set, &pol, NULL, 0, &res, &err), HWJ_ERR_PARSE,
                  &err);
        free(j), free(hp), free(t);
    }
    /* and the understood name protected, with crit: accepted */
    char *t = tj_hs256(hs_secret, 32, "{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}", p);
    hwj_jws_result *res = NULL;
    tu_ok(hwj_jws_verify(t, strlen(t), set, &pol, NULL, 0, &res, &err), &err);
    hwj_jws_result_free(res);
    free(t), free(p);
    hwj_jwks_free(set);
}

/* ---- JWE ------------------------------------------------------------------------------- */

static const char k128[] = "GZy6sIZ6wl9NJOKB-jnmVQ";

/* A compact JWE built by hand: header, encrypted key, content encrypted under `cek` with a
 * full-length IV, then the IV and tag cut or extended to `ivlen`/`taglen` (0: as produced).
 * `drop_ct` leaves the ciphertext part empty. */
static char *forge(const char *hdr, const uint8_t *ek, size_t eklen, hwj_alg enc,
                   const uint8_t *cek, size_t ivlen, size_t taglen, int drop_ct)
{
    uint8_t iv[32] = {0}, tag[64] = {0}, ct[256];
    size_t ctlen = 0;
    char *h = tj_b64s(hdr);
    hwj_error err;
    RAND_bytes(iv, (int)hwj_jwe_iv_len(enc));
    tu_ok(hwj_jwe_content_encrypt(enc, cek, iv, (const uint8_t *)h, strlen(h),
                                  (const uint8_t *)"attack at dawn", 14, ct, &ctlen, tag, &err),
          &err);
    char *e = tj_b64(ek, eklen), *i = tj_b64(iv, ivlen ? ivlen : hwj_jwe_iv_len(enc));
    char *c = tj_b64(ct, drop_ct ? 0 : ctlen),
         *g = tj_b64(tag, taglen ? taglen : hwj_jwe_tag_len(enc));
    char *out = NULL;
    assert_true(asprintf(&out, "%s.%s.%s.%s.%s", h, e, i, c, g) > 0);
    free(h), free(e), free(i), free(c), free(g);
    return out;
}

/* A128KW-wrapped CEK for `enc` under k128. */
static size_t wrap(hwj_alg enc, uint8_t *cek, uint8_t *ek)
{
    uint8_t kek[16];
    size_t keklen = 0, eklen = 0;
    hwj_error err;
    size_t ceklen = hwj_jwe_cek_len(enc);
    RAND_bytes(cek, (int)ceklen);
    tu_ok(hwj_b64url_decode_to(k128, strlen(k128), kek, &keklen, "k", &err), &err);
    tu_ok(hwj_jwe_aeskw(1, kek, keklen, cek, ceklen, ek, &eklen, &err), &err);
    return eklen;
}

static hwj_err decrypt(const char *jwe, const hwj_jwe_decrypt_opts *o, hwj_error *err)
{
    hwj_jwe_result *res = NULL;
    hwj_err rc = hwj_jwe_decrypt(jwe, strlen(jwe), o, &res, err);
    assert_true((rc == HWJ_OK) == (res != NULL));
    if (rc == HWJ_OK)
        assert_memory_equal(res->plaintext, "attack at dawn", 14);
    hwj_jwe_result_free(res);
    return rc;
}

static hwj_jwk *oct(const char *k)
{
    char *j = NULL;
    hwj_jwk *jwk = NULL;
    hwj_error err;
    assert_true(asprintf(&j, "{\"kty\":\"oct\",\"k\":\"%s\"}", k) > 0);
    tu_ok(hwj_jwk_parse(j, strlen(j), &jwk, &err), &err);
    free(j);
    return jwk;
}

static const hwj_alg all_km[] = {HWJ_ALG_RSA1_5,
                                 HWJ_ALG_RSA_OAEP,
                                 HWJ_ALG_RSA_OAEP_256,
                                 HWJ_ALG_A128KW,
                                 HWJ_ALG_A192KW,
                                 HWJ_ALG_A256KW,
                                 HWJ_ALG_DIR,
                                 HWJ_ALG_ECDH_ES,
                                 HWJ_ALG_ECDH_ES_A128KW,
                                 HWJ_ALG_ECDH_ES_A192KW,
                                 HWJ_ALG_ECDH_ES_A256KW,
                                 HWJ_ALG_A128GCMKW,
                                 HWJ_ALG_A192GCMKW,
                                 HWJ_ALG_A256GCMKW,
                                 HWJ_ALG_PBES2_HS256_A128KW,
                                 HWJ_ALG_PBES2_HS384_A192KW,
                                 HWJ_ALG_PBES2_HS512_A256KW};
static const hwj_alg all_enc[] = {HWJ_ENC_A128CBC_HS256, HWJ_ENC_A192CBC_HS384,
                                  HWJ_ENC_A256CBC_HS512, HWJ_ENC_A128GCM,
                                  HWJ_ENC_A192GCM,       HWJ_ENC_A256GCM};

static hwj_jwe_decrypt_opts opts_all(void)
{
    hwj_jwe_decrypt_opts o = HWJ_JWE_DECRYPT_OPTS_INIT;
    o.algs = all_km;
    o.nalgs = sizeof(all_km) / sizeof(all_km[0]);
    o.encs = all_enc;
    o.nencs = sizeof(all_enc) / sizeof(all_enc[0]);
    o.allow_json = 1; /* the attacks come in every serialization */
    return o;
}

#define EXPECT_DECRYPT_FAILED(jwe, o)                                                              \
    do {                                                                                           \
        hwj_error e_;                                                                              \
        assert_int_equal(decrypt((jwe), (o), &e_), HWJ_ERR_DECRYPT);                               \
        assert_string_equal(e_.message, "decryption failed");                                      \
    } while (0)

/* RFC 7518 §5.3: GCM uses a 96-bit IV and a 128-bit tag; §5.2.2: CBC-HS a 128-bit IV and a
 * tag of exactly T_LEN. Any other length — truncated tags above all — is a failure. */
static void jwe_iv_and_tag_lengths(void **state)
{
    hwj_jwk *kek = oct(k128);
    hwj_jwe_decrypt_opts o = opts_all();
    uint8_t cek[64], ek[72];
    (void)state;
    o.jwk = kek;
    static const struct {
        hwj_alg enc;
        const char *hdr;
        size_t ivlen, taglen;
        int drop_ct;
        hwj_err want;
    } cases[] = {
        {HWJ_ENC_A128GCM, "{\"alg\":\"A128KW\",\"enc\":\"A128GCM\"}", 0, 0, 0, HWJ_OK},
        {HWJ_ENC_A128GCM, "{\"alg\":\"A128KW\",\"enc\":\"A128GCM\"}", 0, 12, 0, HWJ_ERR_DECRYPT},
        {HWJ_ENC_A128GCM, "{\"alg\":\"A128KW\",\"enc\":\"A128GCM\"}", 0, 15, 0, HWJ_ERR_DECRYPT},
        {HWJ_ENC_A128GCM, "{\"alg\":\"A128KW\",\"enc\":\"A128GCM\"}", 0, 17, 0, HWJ_ERR_DECRYPT},
        {HWJ_ENC_A128GCM, "{\"alg\":\"A128KW\",\"enc\":\"A128GCM\"}", 8, 0, 0, HWJ_ERR_DECRYPT},
        {HWJ_ENC_A128GCM, "{\"alg\":\"A128KW\",\"enc\":\"A128GCM\"}", 16, 0, 0, HWJ_ERR_DECRYPT},
        {HWJ_ENC_A128GCM, "{\"alg\":\"A128KW\",\"enc\":\"A128GCM\"}", 0, 0, 1, HWJ_ERR_DECRYPT},
        {HWJ_ENC_A128CBC_HS256, "{\"alg\":\"A128KW\",\"enc\":\"A128CBC-HS256\"}", 0, 0, 0, HWJ_OK},
        {HWJ_ENC_A128CBC_HS256, "{\"alg\":\"A128KW\",\"enc\":\"A128CBC-HS256\"}", 0, 8, 0,
         HWJ_ERR_DECRYPT},
        {HWJ_ENC_A128CBC_HS256, "{\"alg\":\"A128KW\",\"enc\":\"A128CBC-HS256\"}", 0, 32, 0,
         HWJ_ERR_DECRYPT},
        {HWJ_ENC_A128CBC_HS256, "{\"alg\":\"A128KW\",\"enc\":\"A128CBC-HS256\"}", 12, 0, 0,
         HWJ_ERR_DECRYPT},
        {HWJ_ENC_A128CBC_HS256, "{\"alg\":\"A128KW\",\"enc\":\"A128CBC-HS256\"}", 0, 0, 1,
         HWJ_ERR_DECRYPT},
        {HWJ_ENC_A256CBC_HS512, "{\"alg\":\"A128KW\",\"enc\":\"A256CBC-HS512\"}", 0, 16, 0,
         HWJ_ERR_DECRYPT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t eklen = wrap(cases[i].enc, cek, ek);
        char *jwe = forge(cases[i].hdr, ek, eklen, cases[i].enc, cek, cases[i].ivlen,
                          cases[i].taglen, cases[i].drop_ct);
        if (cases[i].want == HWJ_OK) {
            hwj_error err;
            tu_ok(decrypt(jwe, &o, &err), &err);
        } else {
            EXPECT_DECRYPT_FAILED(jwe, &o);
        }
        free(jwe);
    }
    hwj_jwk_free(kek);
}

/* RFC 7516 §5.2 step 10 / RFC 7518 §4.5, §4.6: with dir and direct ECDH-ES the JWE
 * Encrypted Key is the empty octet sequence; anything else is refused. */
static void jwe_direct_with_encrypted_key(void **state)
{
    uint8_t cek[16];
    RAND_bytes(cek, sizeof(cek));
    char *k = tj_b64(cek, 16);
    hwj_jwk *key = oct(k);
    hwj_jwe_decrypt_opts o = opts_all();
    hwj_error err;
    (void)state;
    o.jwk = key;
    char *good =
        forge("{\"alg\":\"dir\",\"enc\":\"A128GCM\"}", NULL, 0, HWJ_ENC_A128GCM, cek, 0, 0, 0);
    tu_ok(decrypt(good, &o, &err), &err);
    char *bad =
        forge("{\"alg\":\"dir\",\"enc\":\"A128GCM\"}", cek, 16, HWJ_ENC_A128GCM, cek, 0, 0, 0);
    EXPECT_DECRYPT_FAILED(bad, &o);
    free(good), free(bad), free(k);
    hwj_jwk_free(key);

    /* ECDH-ES (direct) to an X25519 key with a non-empty encrypted key. */
    char *uri = NULL;
    hwj_key *x = NULL;
    hwj_jwk *pub = NULL;
    assert_true(asprintf(&uri, "file:%s/soft-x25519.pem", HWJ_TEST_DATA_DIR) > 0);
    tu_ok(hwj_key_open(tj_ctx, uri, NULL, &x, &err), &err);
    tu_ok(hwj_jwk_from_key(x, &pub, &err), &err);
    hwj_jwe_recipient r = {.size = sizeof(hwj_jwe_recipient), .alg = HWJ_ALG_ECDH_ES, .jwk = pub};
    hwj_jwe_encrypt_opts eo = {.size = sizeof(hwj_jwe_encrypt_opts), .enc = HWJ_ENC_A128GCM};
    char *jwe = NULL;
    tu_ok(hwj_jwe_encrypt(&r, 1, (const uint8_t *)"attack at dawn", 14, &eo, &jwe, &err), &err);
    o = opts_all();
    o.key = x;
    tu_ok(decrypt(jwe, &o, &err), &err);
    char *d1 = strchr(jwe, '.');
    assert_int_equal(d1[1], '.'); /* the encrypted key part is empty */
    char *with_ek = NULL;
    assert_true(asprintf(&with_ek, "%.*s.AAAAAAAAAAAAAAAAAAAAAA%s", (int)(d1 - jwe), jwe, d1 + 1) >
                0);
    EXPECT_DECRYPT_FAILED(with_ek, &o);
    free(with_ek), hwj_free(jwe), free(uri);
    hwj_jwk_free(pub);
    hwj_key_free(x);
}

/* RFC 7518 §4.8.1.1: p2s at least 8 octets; §4.8.1.2: p2c a positive integer (hwjose: 1000
 * to max_p2c). Strings, fractions, negatives, zero and huge counts are refused before any
 * PBKDF2 work. */
static void jwe_pbes2_parameters(void **state)
{
    hwj_jwe_decrypt_opts o = opts_all();
    uint8_t cek[16] = {0}, ek[24] = {0};
    (void)state;
    o.password = "password";
    o.password_len = 8;
    static const struct {
        const char *params;
        hwj_err want;
    } cases[] = {
        {"\"p2s\":\"AAAAAAAAAA\",\"p2c\":1000", HWJ_ERR_PARSE}, /* 7 bytes */
        {"\"p2c\":1000", HWJ_ERR_PARSE},                        /* no p2s */
        {"\"p2s\":\"\",\"p2c\":1000", HWJ_ERR_PARSE},
        {"\"p2s\":\"AAAAAAAAAAA\",\"p2c\":\"1000\"", HWJ_ERR_PARSE},
        {"\"p2s\":\"AAAAAAAAAAA\",\"p2c\":1000.0", HWJ_ERR_PARSE},
        {"\"p2s\":\"AAAAAAAAAAA\",\"p2c\":1000.5", HWJ_ERR_PARSE},
        {"\"p2s\":\"AAAAAAAAAAA\"", HWJ_ERR_PARSE}, /* no p2c */
        {"\"p2s\":\"AAAAAAAAAAA\",\"p2c\":0", HWJ_ERR_POLICY},
        {"\"p2s\":\"AAAAAAAAAAA\",\"p2c\":-1", HWJ_ERR_POLICY},
        {"\"p2s\":\"AAAAAAAAAAA\",\"p2c\":999", HWJ_ERR_POLICY},
        {"\"p2s\":\"AAAAAAAAAAA\",\"p2c\":4294967296", HWJ_ERR_LIMIT},
        {"\"p2s\":\"AAAAAAAAAAA\",\"p2c\":9223372036854775807", HWJ_ERR_LIMIT},
        {"\"p2s\":\"AAAAAAAAAAA\",\"p2c\":1000", HWJ_ERR_DECRYPT}, /* well-formed, wrong key */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *hdr = NULL;
        hwj_error err;
        assert_true(asprintf(&hdr, "{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A128GCM\",%s}",
                             cases[i].params) > 0);
        char *jwe = forge(hdr, ek, 24, HWJ_ENC_A128GCM, cek, 0, 0, 0);
        tj_expect(decrypt(jwe, &o, &err), cases[i].want, &err);
        free(jwe), free(hdr);
    }
}

/* RFC 7516 §4.1.3: "zip" must be integrity protected — in neither the shared unprotected
 * header nor a recipient's header. */
static void jwe_zip_in_recipient_header(void **state)
{
    hwj_jwk *kek = oct(k128);
    hwj_jwe_recipient r = {.size = sizeof(hwj_jwe_recipient), .alg = HWJ_ALG_A128KW, .jwk = kek};
    hwj_jwe_encrypt_opts eo = {
        .size = sizeof(hwj_jwe_encrypt_opts), .enc = HWJ_ENC_A128GCM, .format = HWJ_JWE_JSON_FLAT};
    hwj_jwe_decrypt_opts o = opts_all();
    char *jwe = NULL;
    hwj_error err;
    (void)state;
    o.jwk = kek;
    tu_ok(hwj_jwe_encrypt(&r, 1, (const uint8_t *)"attack at dawn", 14, &eo, &jwe, &err), &err);
    json_t *j = json_loads(jwe, 0, NULL);
    json_object_set_new(j, "header", json_pack("{s:s}", "zip", "DEF"));
    char *bad = tj_dump(j);
    tj_expect(decrypt(bad, &o, &err), HWJ_ERR_PARSE, &err);
    /* the same inside a general serialization's recipient */
    json_t *g =
        json_pack("{s:O,s:O,s:O,s:O,s:[{s:{s:s},s:O}]}", "protected",
                  json_object_get(j, "protected"), "iv", json_object_get(j, "iv"), "ciphertext",
                  json_object_get(j, "ciphertext"), "tag", json_object_get(j, "tag"), "recipients",
                  "header", "zip", "DEF", "encrypted_key", json_object_get(j, "encrypted_key"));
    assert_non_null(g);
    char *bad2 = tj_dump(g);
    tj_expect(decrypt(bad2, &o, &err), HWJ_ERR_PARSE, &err);
    free(bad), free(bad2), hwj_free(jwe);
    json_decref(g);
    json_decref(j);
    hwj_jwk_free(kek);
}

/* RFC 7516 §11.5, RFC 3218 §2.3.2: with RSA1_5, a padding failure, a CEK of the wrong length
 * and a wrong key all end as the same "decryption failed" — no oracle. */
static void jwe_rsa1_5_no_oracle(void **state)
{
    char *uri = NULL, *path = NULL;
    hwj_key *key = NULL;
    hwj_error err;
    (void)state;
    assert_true(asprintf(&path, "%s/soft-rsa2048.pem", HWJ_TEST_DATA_DIR) > 0);
    assert_true(asprintf(&uri, "file:%s", path) > 0);
    tu_ok(hwj_key_open(tj_ctx, uri, NULL, &key, &err), &err);
    EVP_PKEY *pub = hwj_key_get0_pkey(key);
    hwj_jwe_decrypt_opts o = opts_all();
    o.key = key;
    o.allow_rsa1_5 = 1;
    const char *hdr = "{\"alg\":\"RSA1_5\",\"enc\":\"A128GCM\"}";
    uint8_t cek[32], ek[256];
    RAND_bytes(cek, sizeof(cek));
    for (int k = 0; k < 4; k++) {
        /* 0: valid; 1: a 15-byte CEK; 2: a 32-byte CEK; 3: random bytes (bad padding) */
        size_t ptlen = k == 1 ? 15 : k == 2 ? 32 : 16, eklen = sizeof(ek);
        if (k == 3) {
            RAND_bytes(ek, sizeof(ek));
            ek[0] = 0x00;
        } else {
            EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
            assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
            assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING), 1);
            assert_int_equal(EVP_PKEY_encrypt(c, ek, &eklen, cek, ptlen), 1);
            EVP_PKEY_CTX_free(c);
        }
        char *jwe = forge(hdr, ek, eklen, HWJ_ENC_A128GCM, cek, 0, 0, 0);
        if (k == 0) {
            tu_ok(decrypt(jwe, &o, &err), &err);
            o.allow_rsa1_5 = 0; /* not without the opt-in */
            tj_expect(decrypt(jwe, &o, &err), HWJ_ERR_POLICY, &err);
            o.allow_rsa1_5 = 1;
        } else {
            EXPECT_DECRYPT_FAILED(jwe, &o);
        }
        free(jwe);
    }
    hwj_key_free(key);
    free(uri), free(path);
}

/* X25519 low-order points (RFC 7748 §6.1): the shared secret would be all zeros, known to
 * anyone. Such an "epk" must never yield a plaintext; nor may an "epk" carry "d". */
static void jwe_x25519_low_order_epk(void **state)
{
    static const char *const low[] = {
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 0 */
        "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 1 */
        "4Ot6fDtBuK4WVuP68Z_EatoJjeucMrH9hmIFFl9JuAA", /* order 8 */
        "X5yVvKNQjCSx0LFVnIPvWwREXMRYHI6G2CJO3dCfEVc", /* order 8 */
        "7P_______________________________________38", /* p - 1 */
        "7f_______________________________________38", /* p */
        "7v_______________________________________38", /* p + 1 */
    };
    char *uri = NULL;
    hwj_key *x = NULL;
    hwj_jwk *pub = NULL;
    hwj_error err;
    (void)state;
    assert_true(asprintf(&uri, "file:%s/soft-x25519.pem", HWJ_TEST_DATA_DIR) > 0);
    tu_ok(hwj_key_open(tj_ctx, uri, NULL, &x, &err), &err);
    tu_ok(hwj_jwk_from_key(x, &pub, &err), &err);
    hwj_jwe_decrypt_opts o = opts_all();
    o.key = x;
    uint8_t cek[16] = {0};
    for (size_t i = 0; i < sizeof(low) / sizeof(low[0]); i++) {
        if (strlen(low[i]) != 43)
            continue;
        char *hdr = NULL;
        assert_true(asprintf(&hdr,
                             "{\"alg\":\"ECDH-ES\",\"enc\":\"A128GCM\",\"epk\":{\"kty\":\"OKP\","
                             "\"crv\":\"X25519\",\"x\":\"%s\"}}",
                             low[i]) > 0);
        /* Encrypted under the CEK an all-zero Z would give: success would prove the attack. */
        uint8_t z[32] = {0};
        tu_ok(hwj_jwe_concat_kdf(z, 32, "A128GCM", NULL, 0, NULL, 0, cek, 16, &err), &err);
        char *jwe = forge(hdr, NULL, 0, HWJ_ENC_A128GCM, cek, 0, 0, 0);
        hwj_err rc = decrypt(jwe, &o, &err);
        if (rc == HWJ_OK)
            fail_msg("low-order X25519 epk %zu decrypted", i);
        assert_true(rc == HWJ_ERR_POLICY || rc == HWJ_ERR_PARSE || rc == HWJ_ERR_DECRYPT);
        free(jwe), free(hdr);
    }
    /* an epk with a private part */
    char *hdr = NULL, *pubjson = NULL;
    tu_ok(hwj_jwk_to_json(pub, 0, &pubjson, &err), &err);
    assert_true(asprintf(&hdr,
                         "{\"alg\":\"ECDH-ES\",\"enc\":\"A128GCM\",\"epk\":%.*s,\"d\":\"%s\"}}",
                         (int)strlen(pubjson) - 1, pubjson,
                         "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo") > 0);
    char *jwe = forge(hdr, NULL, 0, HWJ_ENC_A128GCM, cek, 0, 0, 0);
    tj_expect(decrypt(jwe, &o, &err), HWJ_ERR_PARSE, &err);
    free(jwe), free(hdr), hwj_free(pubjson), free(uri);
    hwj_jwk_free(pub);
    hwj_key_free(x);
}

/* "none" is no JWE alg either; alg/enc swapped or of the wrong kind are refused. */
static void jwe_alg_none_and_kinds(void **state)
{
    hwj_jwk *kek = oct(k128);
    hwj_jwe_decrypt_opts o = opts_all();
    uint8_t cek[16] = {0}, ek[24] = {0};
    hwj_error err;
    (void)state;
    o.jwk = kek;
    static const struct {
        const char *hdr;
        hwj_err want;
    } cases[] = {
        {"{\"alg\":\"none\",\"enc\":\"A128GCM\"}", HWJ_ERR_POLICY},
        {"{\"alg\":\"HS256\",\"enc\":\"A128GCM\"}", HWJ_ERR_POLICY},
        {"{\"alg\":\"A128GCM\",\"enc\":\"A128KW\"}", HWJ_ERR_UNSUPPORTED},
        {"{\"alg\":\"A128KW\",\"enc\":\"none\"}", HWJ_ERR_UNSUPPORTED},
        {"{\"alg\":\"A128KW\"}", HWJ_ERR_PARSE},
        {"{\"enc\":\"A128GCM\"}", HWJ_ERR_PARSE},
        {"{\"alg\":\"A128KW\",\"enc\":\"A128GCM\",\"epk\":{\"x\":1,\"x\":2}}", HWJ_ERR_PARSE},
        {"{\"alg\":\"A128KW\",\"enc\":\"A128GCM\",\"\\u0065nc\":\"A128GCM\"}", HWJ_ERR_PARSE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *jwe = forge(cases[i].hdr, ek, 24, HWJ_ENC_A128GCM, cek, 0, 0, 0);
        tj_expect(decrypt(jwe, &o, &err), cases[i].want, &err);
        free(jwe);
    }
    hwj_jwk_free(kek);
}

/* ---- JWT ------------------------------------------------------------------------------- */

static int64_t fixed_clock(void *arg)
{
    (void)arg;
    return 1700000000;
}

static hwj_err jwt_check(const char *header, const char *claims, const hwj_jwks *set, char **out,
                         hwj_error *err)
{
    static const hwj_alg hs = HWJ_ALG_HS256;
    hwj_jwt_verify_opts o = {
        .size = sizeof(hwj_jwt_verify_opts),
        .policy = &(hwj_verify_policy){.size = sizeof(hwj_verify_policy), .algs = &hs, .nalgs = 1},
        .iss = "https://issuer.example",
        .aud = "api",
        .clock = fixed_clock};
    char *p = tj_b64s(claims), *t = tj_hs256(hs_secret, 32, header, p), *c = NULL;
    hwj_err rc = hwj_jwt_verify(t, strlen(t), set, &o, out ? out : &c, err);
    hwj_free(c);
    free(p), free(t);
    return rc;
}

#define GOOD_CLAIMS "\"iss\":\"https://issuer.example\",\"aud\":\"api\",\"exp\":1800000000"

/* RFC 7519 §4: a claims set with duplicate names is invalid, at any depth — otherwise two
 * parsers (ours and the application's) may disagree on which "exp" or "role" counts. */
static void jwt_duplicate_claims(void **state)
{
    hwj_jwks *set = set_of(HS_JWK);
    hwj_error err;
    (void)state;
    tu_ok(jwt_check("{\"alg\":\"HS256\"}", "{" GOOD_CLAIMS "}", set, NULL, &err), &err);
    static const char *const bad[] = {
        "{" GOOD_CLAIMS ",\"exp\":1800000000}",
        "{" GOOD_CLAIMS ",\"\\u0065xp\":1}",
        "{" GOOD_CLAIMS ",\"iss\":\"https://evil.example\"}",
        "{" GOOD_CLAIMS ",\"ctx\":{\"role\":\"user\",\"role\":\"admin\"}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        tj_expect(jwt_check("{\"alg\":\"HS256\"}", bad[i], set, NULL, &err), HWJ_ERR_CLAIMS, &err);
    /* and in the JOSE header */
    tj_expect(jwt_check("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"typ\":\"at+jwt\"}",
                        "{" GOOD_CLAIMS "}", set, NULL, &err),
              HWJ_ERR_PARSE, &err);
    hwj_jwks_free(set);
}

/* Messages quote attacker-controlled values (iss, typ, kid); callers log them, so control
 * characters must not survive into the message (no forged log lines, no terminal escapes). */
static void jwt_messages_have_no_control_chars(void **state)
{
    hwj_jwks *set = set_of(HS_JWK);
    hwj_error err;
    (void)state;
    tj_expect(
        jwt_check("{\"alg\":\"HS256\"}",
                  "{\"iss\":\"x\\n2026 audit ok\\u001b[2J\",\"aud\":\"api\",\"exp\":1800000000}",
                  set, NULL, &err),
        HWJ_ERR_CLAIMS, &err);
    assert_non_null(strstr(err.message, "x?2026 audit ok?[2J"));
    /* A set of one is tried whatever the kid (issue 22): two keys make the kid count. */
    hwj_jwk *other = NULL;
    static const char other_jwk[] =
        "{\"kty\":\"oct\",\"kid\":\"other\",\"k\":\"c2Vjb25kLWtleS1zZWNvbmQta2V5LXNlY29uZC1rZXk\"}";
    tu_ok(hwj_jwk_parse(other_jwk, strlen(other_jwk), &other, &err), &err);
    tu_ok(hwj_jwks_add(set, other, &err), &err);
    tj_expect(
        jwt_check("{\"alg\":\"HS256\",\"kid\":\"a\\r\\nb\"}", "{" GOOD_CLAIMS "}", set, NULL, &err),
        HWJ_ERR_KEY_NOT_FOUND, &err);
    for (const char *c = err.message; *c != '\0'; c++)
        assert_true((unsigned char)*c >= 0x20 && *c != 0x7f);
    hwj_jwks_free(set);
}

/* RFC 8725 §2.8/§3.12 substitution: a signed JWT is a compact JWS; a JWE, a JSON
 * serialization, or a JWS whose payload is another token (cty JWT) is no claims set. */
static void jwt_kind_substitution(void **state)
{
    hwj_jwks *set = set_of(HS_JWK);
    static const hwj_alg hs = HWJ_ALG_HS256;
    hwj_jwt_verify_opts o = {
        .size = sizeof(hwj_jwt_verify_opts),
        .policy = &(hwj_verify_policy){.size = sizeof(hwj_verify_policy), .algs = &hs, .nalgs = 1},
        .iss = "https://issuer.example",
        .aud = "api",
        .clock = fixed_clock};
    hwj_error err;
    char *c = NULL;
    (void)state;
    /* an inner signed JWT wrapped in another JWS with cty JWT */
    char *ip = tj_b64s("{" GOOD_CLAIMS "}"),
         *inner = tj_hs256(hs_secret, 32, "{\"alg\":\"HS256\"}", ip);
    char *op = tj_b64s(inner);
    char *outer = tj_hs256(hs_secret, 32, "{\"alg\":\"HS256\",\"cty\":\"JWT\"}", op);
    tj_expect(hwj_jwt_verify(outer, strlen(outer), set, &o, &c, &err), HWJ_ERR_CLAIMS, &err);
    /* a JWE under the same oct key */
    hwj_jwk *kek = oct("MDEyMzQ1Njc4OWFiY2RlZg");
    hwj_jwe_recipient r = {.size = sizeof(hwj_jwe_recipient), .alg = HWJ_ALG_A128KW, .jwk = kek};
    hwj_jwe_encrypt_opts eo = {.size = sizeof(hwj_jwe_encrypt_opts), .enc = HWJ_ENC_A128GCM};
    char *jwe = NULL;
    tu_ok(hwj_jwe_encrypt(&r, 1, (const uint8_t *)"{" GOOD_CLAIMS "}", strlen("{" GOOD_CLAIMS "}"),
                          &eo, &jwe, &err),
          &err);
    tj_expect(hwj_jwt_verify(jwe, strlen(jwe), set, &o, &c, &err), HWJ_ERR_PARSE, &err);
    /* a flattened JSON JWS of a valid claims set */
    char *h = strdup(inner);
    *strchr(h, '.') = '\0';
    char *flat = NULL;
    assert_true(asprintf(&flat, "{\"payload\":\"%s\",\"protected\":\"%s\",\"signature\":\"%s\"}",
                         ip, h, strrchr(inner, '.') + 1) > 0);
    tj_expect(hwj_jwt_verify(flat, strlen(flat), set, &o, &c, &err), HWJ_ERR_PARSE, &err);
    tu_ok(hwj_jwt_verify(inner, strlen(inner), set, &o, &c, &err), &err);
    hwj_free(c);
    free(flat), free(h), hwj_free(jwe), free(ip), free(inner), free(op), free(outer);
    hwj_jwk_free(kek);
    hwj_jwks_free(set);
}

/* RFC 7519 §5.2 with RFC 7515 §4.1.10: a nested JWT's "cty" is the media type JWT, so
 * "application/jwt" (any case) is the same value; anything else is no nested JWT. */
static void jwt_nested_cty_media_type(void **state)
{
    hwj_jwks *set = set_of(HS_JWK);
    static const hwj_alg hs = HWJ_ALG_HS256;
    hwj_jwt_verify_opts vo = {
        .size = sizeof(hwj_jwt_verify_opts),
        .policy = &(hwj_verify_policy){.size = sizeof(hwj_verify_policy), .algs = &hs, .nalgs = 1},
        .iss = "https://issuer.example",
        .aud = "api",
        .clock = fixed_clock};
    hwj_jwk *kek = oct(k128);
    hwj_jwe_decrypt_opts o = opts_all();
    char *p = tj_b64s("{" GOOD_CLAIMS "}"),
         *jws = tj_hs256(hs_secret, 32, "{\"alg\":\"HS256\"}", p);
    hwj_error err;
    (void)state;
    o.jwk = kek;
    static const struct {
        const char *cty;
        hwj_err want;
    } cases[] = {
        {"JWT", HWJ_OK},
        {"jwt", HWJ_OK},
        {"application/jwt", HWJ_OK},
        {"Application/JWT", HWJ_OK},
        {"application/jose", HWJ_ERR_POLICY},
        {"JWS", HWJ_ERR_POLICY},
        {"application/", HWJ_ERR_POLICY},
        {NULL, HWJ_ERR_POLICY},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hwj_jwe_recipient r = {
            .size = sizeof(hwj_jwe_recipient), .alg = HWJ_ALG_A128KW, .jwk = kek};
        hwj_jwe_encrypt_opts eo = {
            .size = sizeof(hwj_jwe_encrypt_opts), .enc = HWJ_ENC_A128GCM, .cty = cases[i].cty};
        char *jwe = NULL, *claims = NULL;
        tu_ok(hwj_jwe_encrypt(&r, 1, (const uint8_t *)jws, strlen(jws), &eo, &jwe, &err), &err);
        tj_expect(hwj_jwt_verify_nested(jwe, strlen(jwe), &o, set, &vo, &claims, &err),
                  cases[i].want, &err);
        hwj_free(claims);
        hwj_free(jwe);
    }
    free(p), free(jws);
    hwj_jwk_free(kek);
    hwj_jwks_free(set);
}

/* The encrypter computes "epk", "apu"/"apv" (not supported as input), "iv"/"tag" (GCMKW) and
 * "p2s"/"p2c" itself; the same names from the caller's header JSON used to be written
 * unchecked, producing JWEs that do not decrypt. */
static void jwe_encrypt_refuses_computed_members(void **state)
{
    hwj_jwk *kek = oct(k128);
    static const char *const hdrs[] = {
        "{\"epk\":{}}",      "{\"apu\":\"QWxpY2U\"}", "{\"apv\":\"Qm9i\"}",
        "{\"iv\":\"AAAA\"}", "{\"tag\":\"AAAA\"}",    "{\"p2s\":\"AAAAAAAAAAA\"}",
        "{\"p2c\":1}",
    };
    hwj_error err;
    (void)state;
    for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++)
        for (int where = 0; where < 3; where++) {
            hwj_jwe_recipient r = {
                .size = sizeof(hwj_jwe_recipient), .alg = HWJ_ALG_A128KW, .jwk = kek};
            hwj_jwe_encrypt_opts eo = {.size = sizeof(hwj_jwe_encrypt_opts),
                                       .enc = HWJ_ENC_A128GCM,
                                       .format = HWJ_JWE_JSON_FLAT};
            if (where == 0)
                eo.header_json = hdrs[i];
            else if (where == 1)
                eo.unprotected_json = hdrs[i];
            else
                r.header_json = hdrs[i];
            char *jwe = NULL;
            tj_expect(hwj_jwe_encrypt(&r, 1, (const uint8_t *)"x", 1, &eo, &jwe, &err), HWJ_ERR_ARG,
                      &err);
            assert_null(jwe);
        }
    /* other members still pass */
    hwj_jwe_recipient r = {.size = sizeof(hwj_jwe_recipient), .alg = HWJ_ALG_A128KW, .jwk = kek};
    hwj_jwe_encrypt_opts eo = {.size = sizeof(hwj_jwe_encrypt_opts),
                               .enc = HWJ_ENC_A128GCM,
                               .header_json = "{\"x-app\":1}"};
    char *jwe = NULL;
    tu_ok(hwj_jwe_encrypt(&r, 1, (const uint8_t *)"x", 1, &eo, &jwe, &err), &err);
    hwj_free(jwe);
    hwj_jwk_free(kek);
}

/* RFC 8725 §3.6: no compression unless the caller asks for it. */
static void jwe_no_compression_by_default(void **state)
{
    hwj_jwk *kek = oct(k128);
    hwj_jwe_recipient r = {.size = sizeof(hwj_jwe_recipient), .alg = HWJ_ALG_A128KW, .jwk = kek};
    hwj_jwe_encrypt_opts eo = {.size = sizeof(hwj_jwe_encrypt_opts), .enc = HWJ_ENC_A128GCM};
    hwj_jwe_decrypt_opts o = opts_all();
    hwj_jwe_result *res = NULL;
    char *jwe = NULL;
    hwj_error err;
    (void)state;
    o.jwk = kek;
    tu_ok(hwj_jwe_encrypt(&r, 1, (const uint8_t *)"attack at dawn", 14, &eo, &jwe, &err), &err);
    tu_ok(hwj_jwe_decrypt(jwe, strlen(jwe), &o, &res, &err), &err);
    assert_null(strstr(res->protected_json, "zip"));
    hwj_jwe_result_free(res);
    hwj_free(jwe);
    hwj_jwk_free(kek);
}

/* ---- JWK ------------------------------------------------------------------------------- */

/* A published key set carries public members only, whatever the set was loaded from. */
static void jwks_publish_never_leaks_private(void **state)
{
    /* Private JWKs, as a careless deployment might load them into the set it publishes:
     * RFC 7517 App. A.2 (EC), RFC 8037 App. A.1 (Ed25519), RFC 7520 §4.1 (RSA). */
    static const char *const ec = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"1\","
                                  "\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\","
                                  "\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\","
                                  "\"d\":\"870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE\"}";
    static const char *const ed = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
                                  "\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\","
                                  "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";
    json_t *ex = tu_conformance("jws/4_1.rsa_v15_signature.json");
    char *rsa = tj_dump(json_object_get(json_object_get(ex, "input"), "key"));
    const char *const priv[] = {ec, ed, rsa};
    static const char *const secret[] = {"\"d\"",  "\"p\"",  "\"q\"", "\"dp\"",
                                         "\"dq\"", "\"qi\"", "\"k\""};
    hwj_jwks *set = NULL;
    char *out = NULL;
    hwj_error err;
    (void)state;
    tu_ok(hwj_jwks_new(&set, &err), &err);
    for (size_t i = 0; i < 3; i++) {
        hwj_jwk *jwk = NULL;
        tu_ok(hwj_jwk_parse(priv[i], strlen(priv[i]), &jwk, &err), &err);
        assert_true(hwj_jwk_is_private(jwk));
        tu_ok(hwj_jwks_add(set, jwk, &err), &err);
    }
    tu_ok(hwj_jwks_to_json(set, &out, &err), &err);
    for (size_t i = 0; i < 7; i++)
        assert_null(strstr(out, secret[i]));
    assert_non_null(strstr(out, "\"n\""));
    hwj_free(out);
    out = NULL;
    /* a symmetric key has no public form: the set is refused rather than published */
    hwj_jwk *oct_key = NULL;
    tu_ok(hwj_jwk_parse(HS_JWK, strlen(HS_JWK), &oct_key, &err), &err);
    tu_ok(hwj_jwks_add(set, oct_key, &err), &err);
    tj_expect(hwj_jwks_to_json(set, &out, &err), HWJ_ERR_POLICY, &err);
    assert_null(out);
    /* the public JWK of an opened private key (file: PEM) */
    char *uri = NULL, *json = NULL;
    hwj_key *key = NULL;
    assert_true(asprintf(&uri, "file:%s/soft-p256.pem", HWJ_TEST_DATA_DIR) > 0);
    tu_ok(hwj_key_open(tj_ctx, uri, NULL, &key, &err), &err);
    tu_ok(hwj_key_public_jwk(key, &json, &err), &err);
    assert_null(strstr(json, "\"d\""));
    hwj_free(json);
    hwj_key_free(key);
    free(uri), free(rsa);
    hwj_jwks_free(set);
    json_decref(ex);
}

/* X25519 JWKs with a low-order x are refused at import, like the Ed25519 ones. */
static void jwk_x25519_low_order(void **state)
{
    static const char *const low[] = {
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "4Ot6fDtBuK4WVuP68Z_EatoJjeucMrH9hmIFFl9JuAA",
        "X5yVvKNQjCSx0LFVnIPvWwREXMRYHI6G2CJO3dCfEVc",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(low) / sizeof(low[0]); i++) {
        char *j = NULL;
        hwj_jwk *jwk = NULL;
        hwj_error err;
        assert_true(asprintf(&j, "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"%s\"}", low[i]) > 0);
        tj_expect(hwj_jwk_parse(j, strlen(j), &jwk, &err), HWJ_ERR_PARSE, &err);
        free(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(es256_scalar_range),
        cmocka_unit_test(eddsa_non_canonical_s),
        cmocka_unit_test(eddsa_small_order_key),
        cmocka_unit_test(eddsa_non_canonical_key),
        cmocka_unit_test(rsa_signature_out_of_range),
        cmocka_unit_test(duplicate_members_escaped_and_nested),
        cmocka_unit_test(invalid_utf8_refused),
        cmocka_unit_test(verification_key_use_ops_alg),
        cmocka_unit_test(ed25519_alg_binding),
        cmocka_unit_test(crit_outside_protected),
        cmocka_unit_test(jwe_iv_and_tag_lengths),
        cmocka_unit_test(jwe_direct_with_encrypted_key),
        cmocka_unit_test(jwe_pbes2_parameters),
        cmocka_unit_test(jwe_zip_in_recipient_header),
        cmocka_unit_test(jwe_rsa1_5_no_oracle),
        cmocka_unit_test(jwe_x25519_low_order_epk),
        cmocka_unit_test(jwe_alg_none_and_kinds),
        cmocka_unit_test(jwt_duplicate_claims),
        cmocka_unit_test(jwt_kind_substitution),
        cmocka_unit_test(jwt_messages_have_no_control_chars),
        cmocka_unit_test(jwt_nested_cty_media_type),
        cmocka_unit_test(jwe_encrypt_refuses_computed_members),
        cmocka_unit_test(jwe_no_compression_by_default),
        cmocka_unit_test(jwks_publish_never_leaks_private),
        cmocka_unit_test(jwk_x25519_low_order),
    };
    return cmocka_run_group_tests(tests, tj_setup, tj_teardown);
}
