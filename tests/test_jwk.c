/* test_jwk.c: JWK import/export, RFC 7638 thumbprints, hwj_jwk_check, JWKS selection and
 * the ECDSA signature form, against RFC 7520 §3, RFC 7638 §3.1, RFC 8037 and hostile input. */
#include "testutil.h"

#include "core/b64url.h"
#include "core/ecdsa.h"
#include "core/jwk.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const rfc7520_jwks[] = {"jwk/3_1.ec_public_key.json",
                                           "jwk/3_2.ec_private_key.json",
                                           "jwk/3_3.rsa_public_key.json",
                                           "jwk/3_4.rsa_private_key.json",
                                           "jwk/3_5.symmetric_key_mac_computation.json",
                                           "jwk/3_6.symmetric_key_encryption.json"};

/* Conformance files, loaded once (borrowed references; released after the run). */
static struct {
    const char *rel;
    json_t *j;
} cache[16];

static json_t *conf(const char *rel)
{
    size_t i = 0;
    for (; i < sizeof(cache) / sizeof(cache[0]) && cache[i].rel != NULL; i++)
        if (strcmp(cache[i].rel, rel) == 0)
            return cache[i].j;
    assert_true(i < sizeof(cache) / sizeof(cache[0]));
    cache[i].rel = rel;
    cache[i].j = tu_conformance(rel);
    return cache[i].j;
}

static int release_cache(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cache) / sizeof(cache[0]); i++)
        json_decref(cache[i].j);
    return 0;
}

static char *dump(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    assert_non_null(s);
    return s;
}

static hwj_jwk *parse_ok(const char *text)
{
    hwj_jwk *jwk = NULL;
    hwj_error err;
    tu_ok(hwj_jwk_parse(text, strlen(text), &jwk, &err), &err);
    return jwk;
}

static hwj_jwk *parse_json_ok(const json_t *j)
{
    char *s = dump(j);
    hwj_jwk *jwk = parse_ok(s);
    free(s);
    return jwk;
}

/* Parse must fail with `code`; the message must be non-empty. */
static void parse_fails(const char *text, hwj_err code)
{
    hwj_jwk *jwk = NULL;
    hwj_error err;
    hwj_err rc = hwj_jwk_parse(text, strlen(text), &jwk, &err);
    if (rc != code)
        fail_msg("expected %d for %s, got %d: %s", (int)code, text, (int)rc, err.message);
    assert_null(jwk);
    assert_true(err.message[0] != '\0');
}

static void json_fails(const json_t *j, hwj_err code)
{
    char *s = dump(j);
    parse_fails(s, code);
    free(s);
}

/* A copy of a conformance JWK with member `name` replaced (NULL value: removed). */
static json_t *variant(const char *rel, const char *name, json_t *value)
{
    json_t *j = json_deep_copy(conf(rel));
    assert_non_null(j);
    if (value == NULL)
        json_object_del(j, name);
    else
        json_object_set_new(j, name, value);
    return j;
}

/* Every RFC 7520 §3 JWK parses, and every member comes back byte for byte. */
static void t_rfc7520_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rfc7520_jwks) / sizeof(rfc7520_jwks[0]); i++) {
        json_t *in = conf(rfc7520_jwks[i]);
        hwj_jwk *jwk = parse_json_ok(in);
        hwj_error err;
        char *text = NULL;
        int priv = json_object_get(in, "d") != NULL || json_object_get(in, "k") != NULL;
        assert_int_equal(hwj_jwk_is_private(jwk), priv);
        assert_string_equal(hwj_jwk_get0_kid(jwk), json_string_value(json_object_get(in, "kid")));
        tu_ok(hwj_jwk_to_json(jwk, 1, &text, &err), &err);
        json_t *out = json_loads(text, 0, NULL);
        assert_non_null(out);
        assert_int_equal(json_object_size(out), json_object_size(in));
        const char *k;
        json_t *v;
        json_object_foreach(in, k, v)
        {
            json_t *o = json_object_get(out, k);
            if (o == NULL || !json_equal(o, v))
                fail_msg("%s: member %s did not round-trip", rfc7520_jwks[i], k);
        }
        json_decref(out);
        free(text);
        if (hwj_jwk_get_kty(jwk) != HWJ_KTY_OCT) { /* public export: no private member */
            tu_ok(hwj_jwk_to_json(jwk, 0, &text, &err), &err);
            assert_null(strstr(text, "\"d\""));
            assert_null(strstr(text, "\"p\""));
            free(text);
        } else {
            assert_int_equal(hwj_jwk_to_json(jwk, 0, &text, &err), HWJ_ERR_POLICY);
        }
        hwj_jwk_free(jwk);
    }
}

static char *thumb(const hwj_jwk *jwk)
{
    char *t = NULL;
    hwj_error err;
    tu_ok(hwj_jwk_thumbprint(jwk, &t, &err), &err);
    return t;
}

static void t_thumbprints(void **state)
{
    (void)state;
    /* RFC 7638 §3.1 */
    hwj_jwk *jwk = parse_ok(
        "{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86"
        "zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_"
        "RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91C"
        "bOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kE"
        "gU8awapJzKnqDKgw\",\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}");
    char *t = thumb(jwk), *t2 = NULL;
    hwj_error err;
    assert_string_equal(t, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    tu_ok(hwj_pkey_thumbprint(hwj_jwk_get0_pkey(jwk), &t2, &err), &err);
    assert_string_equal(t, t2);
    free(t);
    free(t2);
    hwj_jwk_free(jwk);

    /* RFC 8037 §A.3: the Ed25519 key of the curve25519 JWS example. */
    json_t *ed = json_object_get(json_object_get(conf("curve25519/jws.json"), "input"), "key");
    jwk = parse_json_ok(ed);
    t = thumb(jwk);
    assert_string_equal(t, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    free(t);
    hwj_jwk_free(jwk);

    /* Private and public forms of a key have one thumbprint. */
    for (size_t i = 0; i < 4; i += 2) {
        hwj_jwk *pub = parse_json_ok(conf(rfc7520_jwks[i]));
        hwj_jwk *priv = parse_json_ok(conf(rfc7520_jwks[i + 1]));
        char *a = thumb(pub), *b = thumb(priv);
        assert_string_equal(a, b);
        free(a);
        free(b);
        hwj_jwk_free(pub);
        hwj_jwk_free(priv);
    }

    /* oct: {"k","kty"} in that order. */
    jwk = parse_ok("{\"kty\":\"oct\",\"kid\":\"x\",\"k\":\"AQIDBA\"}");
    t = thumb(jwk);
    uint8_t md[32];
    unsigned mdlen = 0;
    const char *canon = "{\"k\":\"AQIDBA\",\"kty\":\"oct\"}";
    char *b64 = NULL;
    assert_int_equal(EVP_Digest(canon, strlen(canon), md, &mdlen, EVP_sha256(), NULL), 1);
    tu_ok(hwj_b64url_encode(md, mdlen, &b64, &err), &err);
    assert_string_equal(t, b64);
    free(b64);
    free(t);
    hwj_jwk_free(jwk);
}

static void t_curve25519(void **state)
{
    (void)state;
    json_t *ecdh = conf("curve25519/ecdh-es.json");
    json_t *epk_priv = json_object_get(json_object_get(ecdh, "encrypting_key"), "epk");
    json_t *epk_pub = json_object_get(
        json_object_get(json_object_get(ecdh, "encrypting_content"), "protected"), "epk");
    /* The file's encrypting_key.epk pairs the ephemeral d with an x that is not its public
     * key (d yields the x of the protected header's epk): an inconsistent private JWK, which
     * must be refused. With the x that d really yields, it is a valid key. */
    json_fails(epk_priv, HWJ_ERR_PARSE);
    json_t *epk_fixed = json_deep_copy(epk_priv);
    json_object_set(epk_fixed, "x", json_object_get(epk_pub, "x"));
    json_t *keys[] = {
        json_object_get(json_object_get(ecdh, "input"), "key"), epk_fixed, epk_pub,
        json_object_get(json_object_get(conf("curve25519/jws.json"), "input"), "key")};
    const char *crv[] = {"X25519", "X25519", "X25519", "Ed25519"};
    for (size_t i = 0; i < 4; i++) {
        assert_non_null(keys[i]);
        hwj_jwk *jwk = parse_json_ok(keys[i]);
        assert_int_equal(hwj_jwk_get_kty(jwk), HWJ_KTY_OKP);
        assert_string_equal(hwj_pkey_crv(hwj_jwk_get0_pkey(jwk)), crv[i]);
        assert_int_equal(hwj_jwk_is_private(jwk), json_object_get(keys[i], "d") != NULL);
        char *text = NULL;
        hwj_error err;
        tu_ok(hwj_jwk_to_json(jwk, 1, &text, &err), &err);
        json_t *out = json_loads(text, 0, NULL);
        assert_true(json_equal(json_object_get(out, "x"), json_object_get(keys[i], "x")));
        if (json_object_get(keys[i], "d") != NULL)
            assert_true(json_equal(json_object_get(out, "d"), json_object_get(keys[i], "d")));
        json_decref(out);
        free(text);
        hwj_jwk_free(jwk);
    }
    /* d of one key with x of another */
    json_t *bad = json_deep_copy(keys[0]);
    json_object_set(bad, "x", json_object_get(keys[1], "x"));
    json_fails(bad, HWJ_ERR_PARSE);
    json_decref(bad);
    bad = json_deep_copy(keys[3]);
    json_object_set_new(bad, "crv", json_string("Ed448"));
    json_fails(bad, HWJ_ERR_UNSUPPORTED);
    json_object_set_new(bad, "crv", json_string("Ed25519"));
    json_object_set_new(bad, "x", json_string("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHUR"));
    json_fails(bad, HWJ_ERR_PARSE); /* 31 octets */
    json_decref(bad);
    json_decref(epk_fixed);
}

static void t_malformed(void **state)
{
    (void)state;
    /* JSON and members */
    parse_fails("{\"kty\":\"oct\",\"k\":\"AAAAAAAA\",\"k\":\"BBBBBBBB\"}", HWJ_ERR_PARSE);
    parse_fails("[]", HWJ_ERR_PARSE);
    parse_fails("{\"k\":\"AAAA\"}", HWJ_ERR_PARSE);
    parse_fails("{\"kty\":1,\"k\":\"AAAA\"}", HWJ_ERR_PARSE);
    parse_fails("{\"kty\":\"XYZ\",\"k\":\"AAAA\"}", HWJ_ERR_UNSUPPORTED);
    parse_fails("{\"kty\":\"oct\",\"k\":\"AAAA\",\"kid\":5}", HWJ_ERR_PARSE);
    parse_fails("{\"kty\":\"oct\",\"k\":\"AAAA\",\"use\":[\"sig\"]}", HWJ_ERR_PARSE);
    parse_fails("{\"kty\":\"oct\",\"k\":\"AAAA\",\"alg\":\"none\"}", HWJ_ERR_UNSUPPORTED);
    parse_fails("{\"kty\":\"oct\",\"k\":\"AAAA\",\"alg\":\"HS999\"}", HWJ_ERR_UNSUPPORTED);
    parse_fails("{\"kty\":\"oct\",\"k\":\"AAAA\",\"key_ops\":\"sign\"}", HWJ_ERR_PARSE);
    parse_fails("{\"kty\":\"oct\",\"k\":\"AAAA\",\"key_ops\":[\"sign\",\"sign\"]}", HWJ_ERR_PARSE);
    parse_fails("{\"kty\":\"oct\",\"k\":\"AAAA\",\"key_ops\":[1]}", HWJ_ERR_PARSE);
    parse_fails("{\"kty\":\"oct\",\"k\":\"AAAA\",\"use\":\"sig\",\"key_ops\":[\"encrypt\"]}",
                HWJ_ERR_PARSE);
    parse_fails("{\"kty\":\"oct\",\"k\":12}", HWJ_ERR_PARSE);
    parse_fails("{\"kty\":\"oct\",\"k\":\"\"}", HWJ_ERR_PARSE);
    /* base64url: padding, alphabet, non-canonical trailing bits, length 4n+1 */
    parse_fails("{\"kty\":\"oct\",\"k\":\"AQ==\"}", HWJ_ERR_PARSE);
    parse_fails("{\"kty\":\"oct\",\"k\":\"A+/A\"}", HWJ_ERR_PARSE);
    parse_fails("{\"kty\":\"oct\",\"k\":\"AB\"}", HWJ_ERR_PARSE);
    parse_fails("{\"kty\":\"oct\",\"k\":\"AAAAA\"}", HWJ_ERR_PARSE);
    parse_fails("{\"kty\":\"oct\",\"k\":\"AA AA\"}", HWJ_ERR_PARSE);

    /* EC */
    const char *ec = "jwk/3_1.ec_public_key.json", *ecd = "jwk/3_2.ec_private_key.json";
    json_t *j = variant(ec, "crv", json_string("P-192"));
    json_fails(j, HWJ_ERR_UNSUPPORTED);
    json_decref(j);
    json_fails((j = variant(ec, "crv", NULL)), HWJ_ERR_PARSE);
    json_decref(j);
    json_fails((j = variant(ec, "y", NULL)), HWJ_ERR_PARSE);
    json_decref(j);
    /* y changed in its last character: no longer on the curve */
    const char *y = json_string_value(json_object_get(conf(ec), "y"));
    char *y2 = strdup(y);
    y2[strlen(y2) - 1] = y2[strlen(y2) - 1] == '1' ? '2' : '1';
    json_fails((j = variant(ec, "y", json_string(y2))), HWJ_ERR_PARSE);
    json_decref(j);
    free(y2);
    /* P-521 x without its leading zero octet: 65 octets */
    const char *x = json_string_value(json_object_get(conf(ec), "x"));
    assert_true(strncmp(x, "AH", 2) == 0); /* 0x00 0x72 ... */
    json_t *short_x = json_string(x + 1);  /* not even base64url-aligned: still PARSE */
    json_fails((j = variant(ec, "x", short_x)), HWJ_ERR_PARSE);
    json_decref(j);
    /* d that does not belong to x, y */
    const char *d = json_string_value(json_object_get(conf(ecd), "d"));
    char *d2 = strdup(d);
    d2[10] = d2[10] == 'A' ? 'B' : 'A';
    json_fails((j = variant(ecd, "d", json_string(d2))), HWJ_ERR_PARSE);
    json_decref(j);
    free(d2);
    /* a P-256 public key on a P-256 point but labelled P-384 */
    parse_fails("{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvR"
                "VEU\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}",
                HWJ_ERR_PARSE);
    /* P-256 (RFC 7517 §A.1) parses; with one coordinate octet short it does not */
    hwj_jwk_free(
        parse_ok("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7"
                 "Tu6KPAqv7D4\",\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\"}"));
    parse_fails("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAq"
                "v7A\",\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\"}",
                HWJ_ERR_PARSE);

    /* RSA */
    const char *rsa = "jwk/3_3.rsa_public_key.json", *rsad = "jwk/3_4.rsa_private_key.json";
    /* n with a leading zero octet */
    BIGNUM *bn = NULL;
    {
        uint8_t raw[300];
        size_t rl = 0;
        hwj_jwk *pub = parse_json_ok(conf(rsa));
        assert_int_equal(EVP_PKEY_get_bn_param(hwj_jwk_get0_pkey(pub), "n", &bn), 1);
        raw[0] = 0;
        rl = (size_t)BN_bn2bin(bn, raw + 1) + 1;
        char *enc = NULL;
        hwj_error err;
        tu_ok(hwj_b64url_encode(raw, rl, &enc, &err), &err);
        json_fails((j = variant(rsa, "n", json_string(enc))), HWJ_ERR_PARSE);
        json_decref(j);
        free(enc);
        hwj_jwk_free(pub);
        BN_free(bn);
    }
    json_fails((j = variant(rsa, "e", json_string("AAEAAQ"))), HWJ_ERR_PARSE); /* leading 0 */
    json_decref(j);
    json_fails((j = variant(rsa, "e", json_string("AQAA"))), HWJ_ERR_PARSE); /* even */
    json_decref(j);
    json_fails((j = variant(rsa, "n", json_integer(7))), HWJ_ERR_PARSE);
    json_decref(j);
    json_fails((j = variant(rsad, "oth", json_array())), HWJ_ERR_UNSUPPORTED);
    json_decref(j);
    json_fails((j = variant(rsad, "qi", NULL)), HWJ_ERR_UNSUPPORTED); /* incomplete CRT */
    json_decref(j);
    json_fails((j = variant(rsad, "d", NULL)), HWJ_ERR_PARSE); /* p, q... without d */
    json_decref(j);
    /* d (and separately qi) changed: the pairwise check refuses */
    const char *members[] = {"d", "qi", "dp"};
    for (size_t i = 0; i < 3; i++) {
        char *m = strdup(json_string_value(json_object_get(conf(rsad), members[i])));
        m[20] = m[20] == 'A' ? 'B' : 'A';
        json_fails((j = variant(rsad, members[i], json_string(m))), HWJ_ERR_PARSE);
        json_decref(j);
        free(m);
    }
    /* a 1024-bit modulus */
    EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    hwj_jwk *jwk = NULL;
    hwj_error err;
    assert_int_equal(hwj_jwk_from_pkey(small, &jwk, &err), HWJ_ERR_POLICY);
    assert_null(jwk);
    EVP_PKEY_free(small);
    /* oversize input */
    size_t big = 1024 * 1024 + 1;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    huge[big] = '\0';
    parse_fails(huge, HWJ_ERR_LIMIT);
    free(huge);
}

/* Keys of every type through EVP_PKEY -> JWK -> EVP_PKEY. */
static void t_from_pkey(void **state)
{
    (void)state;
    EVP_PKEY *keys[] = {EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048),
                        EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"),
                        EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"),
                        EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521"),
                        EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"),
                        EVP_PKEY_Q_keygen(NULL, NULL, "X25519")};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        hwj_jwk *jwk = NULL, *back = NULL;
        hwj_error err;
        char *text = NULL, *t1 = NULL, *t2 = NULL;
        assert_non_null(keys[i]);
        tu_ok(hwj_jwk_from_pkey(keys[i], &jwk, &err), &err);
        assert_false(hwj_jwk_is_private(jwk));
        assert_int_equal(EVP_PKEY_eq(hwj_jwk_get0_pkey(jwk), keys[i]), 1);
        tu_ok(hwj_jwk_to_json(jwk, 0, &text, &err), &err);
        back = parse_ok(text);
        tu_ok(hwj_jwk_thumbprint(back, &t1, &err), &err);
        tu_ok(hwj_pkey_thumbprint(keys[i], &t2, &err), &err);
        assert_string_equal(t1, t2);
        free(text);
        free(t1);
        free(t2);
        hwj_jwk_free(back);
        hwj_jwk_free(jwk);
        EVP_PKEY_free(keys[i]);
    }
}

static void check_is(const hwj_jwk *jwk, hwj_alg alg, hwj_key_op op, hwj_err want)
{
    hwj_error err;
    hwj_err rc = hwj_jwk_check(jwk, alg, op, &err);
    if (rc != want)
        fail_msg("hwj_jwk_check(%s, op %d): expected %d, got %d: %s", hwj_alg_name(alg), (int)op,
                 (int)want, (int)rc, err.message);
    if (rc != HWJ_OK)
        assert_true(err.message[0] != '\0');
}

static void t_check(void **state)
{
    (void)state;
    hwj_jwk *ec521 = parse_json_ok(conf("jwk/3_1.ec_public_key.json"));
    hwj_jwk *ec521d = parse_json_ok(conf("jwk/3_2.ec_private_key.json"));
    hwj_jwk *rsa = parse_json_ok(conf("jwk/3_3.rsa_public_key.json"));
    hwj_jwk *hs = parse_json_ok(conf("jwk/3_5.symmetric_key_mac_computation.json"));
    hwj_jwk *enc = parse_json_ok(conf("jwk/3_6.symmetric_key_encryption.json"));
    hwj_jwk *p384 = NULL, *x25519 = NULL, *ed = NULL, *short_hs, *ops, *noops, *kw;
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    hwj_error err;
    tu_ok(hwj_jwk_from_pkey(pk, &p384, &err), &err);
    EVP_PKEY_free(pk);
    pk = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    tu_ok(hwj_jwk_from_pkey(pk, &x25519, &err), &err);
    EVP_PKEY_free(pk);
    pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    tu_ok(hwj_jwk_from_pkey(pk, &ed, &err), &err);
    EVP_PKEY_free(pk);
    short_hs = parse_ok("{\"kty\":\"oct\",\"k\":\"AAECAwQFBgcICQoLDA0ODw\"}"); /* 16 bytes */
    ops = parse_ok("{\"kty\":\"oct\",\"key_ops\":[\"verify\"],\"k\":"
                   "\"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg\"}");
    noops = parse_ok("{\"kty\":\"oct\",\"key_ops\":[],\"k\":"
                     "\"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg\"}");
    kw = parse_ok("{\"kty\":\"oct\",\"k\":\"AAECAwQFBgcICQoLDA0ODw\"}");

    check_is(ec521, HWJ_ALG_ES512, HWJ_OP_VERIFY, HWJ_OK);
    check_is(ec521d, HWJ_ALG_ES512, HWJ_OP_SIGN, HWJ_OK);
    check_is(ec521, HWJ_ALG_ES512, HWJ_OP_SIGN, HWJ_ERR_POLICY); /* public key cannot sign */
    check_is(ec521, HWJ_ALG_ES256, HWJ_OP_VERIFY, HWJ_ERR_POLICY);
    check_is(p384, HWJ_ALG_ES256, HWJ_OP_VERIFY, HWJ_ERR_POLICY); /* ES256 with P-384 */
    check_is(p384, HWJ_ALG_ES384, HWJ_OP_VERIFY, HWJ_OK);
    check_is(rsa, HWJ_ALG_RS256, HWJ_OP_VERIFY, HWJ_OK);
    check_is(rsa, HWJ_ALG_PS512, HWJ_OP_VERIFY, HWJ_OK);
    check_is(rsa, HWJ_ALG_HS256, HWJ_OP_VERIFY, HWJ_ERR_POLICY); /* HS256 with an RSA key */
    check_is(rsa, HWJ_ALG_ES256, HWJ_OP_VERIFY, HWJ_ERR_POLICY);
    check_is(rsa, HWJ_ALG_RSA_OAEP, HWJ_OP_WRAP, HWJ_ERR_POLICY); /* "use":"sig" */
    check_is(rsa, HWJ_ALG_RS256, HWJ_OP_WRAP, HWJ_ERR_POLICY);    /* JWS alg, KM op */
    check_is(hs, HWJ_ALG_HS256, HWJ_OP_SIGN, HWJ_OK);
    check_is(hs, HWJ_ALG_HS256, HWJ_OP_VERIFY, HWJ_OK);
    check_is(hs, HWJ_ALG_HS384, HWJ_OP_VERIFY, HWJ_ERR_POLICY);     /* "alg":"HS256" */
    check_is(enc, HWJ_ALG_HS256, HWJ_OP_VERIFY, HWJ_ERR_POLICY);    /* "use":"enc", alg */
    check_is(short_hs, HWJ_ALG_HS256, HWJ_OP_SIGN, HWJ_ERR_POLICY); /* shorter than SHA-256 */
    check_is(short_hs, HWJ_ALG_A128KW, HWJ_OP_WRAP, HWJ_OK);
    check_is(kw, HWJ_ALG_A256KW, HWJ_OP_WRAP, HWJ_ERR_POLICY); /* 16 bytes for A256KW */
    check_is(ops, HWJ_ALG_HS256, HWJ_OP_VERIFY, HWJ_OK);
    check_is(ops, HWJ_ALG_HS256, HWJ_OP_SIGN, HWJ_ERR_POLICY);
    check_is(noops, HWJ_ALG_HS256, HWJ_OP_VERIFY, HWJ_ERR_POLICY); /* empty key_ops */
    check_is(x25519, HWJ_ALG_ECDH_ES, HWJ_OP_DERIVE, HWJ_OK);
    check_is(x25519, HWJ_ALG_EDDSA, HWJ_OP_VERIFY, HWJ_ERR_POLICY);
    check_is(ed, HWJ_ALG_EDDSA, HWJ_OP_VERIFY, HWJ_OK);
    check_is(ed, HWJ_ALG_ECDH_ES, HWJ_OP_DERIVE, HWJ_ERR_POLICY);
    check_is(p384, HWJ_ALG_ECDH_ES_A256KW, HWJ_OP_DERIVE, HWJ_OK);
    check_is(ec521, HWJ_ALG_ECDH_ES, HWJ_OP_DERIVE, HWJ_ERR_POLICY); /* "use":"sig" */
    check_is(ec521, HWJ_ALG_UNKNOWN, HWJ_OP_VERIFY, HWJ_ERR_ARG);
    /* "use":"enc" refuses verify */
    hwj_jwk *rsa_enc = NULL;
    json_t *j = variant("jwk/3_3.rsa_public_key.json", "use", json_string("enc"));
    rsa_enc = parse_json_ok(j);
    json_decref(j);
    check_is(rsa_enc, HWJ_ALG_RS256, HWJ_OP_VERIFY, HWJ_ERR_POLICY);
    check_is(rsa_enc, HWJ_ALG_RSA_OAEP_256, HWJ_OP_WRAP, HWJ_OK);
    /* "alg" on the JWK that does not match */
    j = variant("jwk/3_3.rsa_public_key.json", "alg", json_string("PS256"));
    hwj_jwk *rsa_ps = parse_json_ok(j);
    json_decref(j);
    check_is(rsa_ps, HWJ_ALG_RS256, HWJ_OP_VERIFY, HWJ_ERR_POLICY);
    check_is(rsa_ps, HWJ_ALG_PS256, HWJ_OP_VERIFY, HWJ_OK);
    /* RFC 9864 "Ed25519": EdDSA's key, and the JWK's "alg" names exactly one of the two */
    check_is(ed, HWJ_ALG_ED25519, HWJ_OP_VERIFY, HWJ_OK);
    check_is(x25519, HWJ_ALG_ED25519, HWJ_OP_VERIFY, HWJ_ERR_POLICY);
    check_is(p384, HWJ_ALG_ED25519, HWJ_OP_VERIFY, HWJ_ERR_POLICY);
    check_is(rsa, HWJ_ALG_ED25519, HWJ_OP_VERIFY, HWJ_ERR_POLICY);
    hwj_jwk *ed_eddsa = parse_ok("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"alg\":\"EdDSA\",\"x\":"
                                 "\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}");
    hwj_jwk *ed_ed25519 = parse_ok("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"alg\":\"Ed25519\","
                                   "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}");
    check_is(ed_eddsa, HWJ_ALG_EDDSA, HWJ_OP_VERIFY, HWJ_OK);
    check_is(ed_eddsa, HWJ_ALG_ED25519, HWJ_OP_VERIFY, HWJ_ERR_POLICY);
    check_is(ed_ed25519, HWJ_ALG_ED25519, HWJ_OP_VERIFY, HWJ_OK);
    check_is(ed_ed25519, HWJ_ALG_EDDSA, HWJ_OP_VERIFY, HWJ_ERR_POLICY);

    hwj_jwk *all[] = {ec521,    ec521d, rsa,   hs, enc,     p384,   x25519,   ed,
                      short_hs, ops,    noops, kw, rsa_enc, rsa_ps, ed_eddsa, ed_ed25519};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        hwj_jwk_free(all[i]);
}

static hwj_jwks *set_of(const char *const *rel, size_t n, const char *extra)
{
    json_t *keys = json_array(), *obj = json_object();
    for (size_t i = 0; i < n; i++)
        json_array_append(keys, conf(rel[i]));
    if (extra != NULL)
        json_array_append_new(keys, json_loads(extra, 0, NULL));
    json_object_set_new(obj, "keys", keys);
    char *text = dump(obj);
    hwj_jwks *set = NULL;
    hwj_error err;
    tu_ok(hwj_jwks_parse(text, strlen(text), &set, &err), &err);
    free(text);
    json_decref(obj);
    return set;
}

static void select_is(const hwj_jwks *set, const char *kid, hwj_alg alg, hwj_key_op op,
                      hwj_err want, hwj_kty kty)
{
    const hwj_jwk *jwk = NULL;
    hwj_error err;
    hwj_err rc = hwj_jwks_select(set, kid, alg, op, &jwk, &err);
    if (rc != want)
        fail_msg("select(%s, %s): expected %d, got %d: %s", kid ? kid : "-", hwj_alg_name(alg),
                 (int)want, (int)rc, err.message);
    if (rc == HWJ_OK)
        assert_int_equal(hwj_jwk_get_kty(jwk), kty);
    else
        assert_true(strlen(err.message) > 20);
}

static void t_jwks(void **state)
{
    (void)state;
    const char *const ec[] = {"jwk/3_1.ec_public_key.json"},
                      *const rsa[] = {"jwk/3_3.rsa_public_key.json"},
                      *const oct[] = {"jwk/3_5.symmetric_key_mac_computation.json"};
    const char *bilbo = "bilbo.baggins@hobbiton.example";
    hwj_jwks *set = set_of(ec, 1, NULL);
    select_is(set, bilbo, HWJ_ALG_ES512, HWJ_OP_VERIFY, HWJ_OK, HWJ_KTY_EC);
    /* A set of one is the key the caller chose: tried whatever the kid (the alg still binds). */
    select_is(set, "nobody", HWJ_ALG_ES512, HWJ_OP_VERIFY, HWJ_OK, HWJ_KTY_EC);
    select_is(set, bilbo, HWJ_ALG_ES256, HWJ_OP_VERIFY, HWJ_ERR_KEY_NOT_FOUND, 0);
    select_is(set, NULL, HWJ_ALG_EDDSA, HWJ_OP_VERIFY, HWJ_ERR_KEY_NOT_FOUND, 0);
    hwj_jwks_free(set);
    /* With two keys the kid counts. */
    json_t *other = variant("jwk/3_1.ec_public_key.json", "kid", json_string("other"));
    char *other_text = dump(other);
    set = set_of(ec, 1, other_text);
    free(other_text);
    json_decref(other);
    select_is(set, "nobody", HWJ_ALG_ES512, HWJ_OP_VERIFY, HWJ_ERR_KEY_NOT_FOUND, 0);
    select_is(set, bilbo, HWJ_ALG_ES512, HWJ_OP_VERIFY, HWJ_OK, HWJ_KTY_EC);
    hwj_jwks_free(set);
    set = set_of(rsa, 1, NULL);
    select_is(set, bilbo, HWJ_ALG_RS256, HWJ_OP_VERIFY, HWJ_OK, HWJ_KTY_RSA);
    select_is(set, NULL, HWJ_ALG_PS256, HWJ_OP_VERIFY, HWJ_OK, HWJ_KTY_RSA);
    hwj_jwks_free(set);
    set = set_of(oct, 1, NULL);
    select_is(set, NULL, HWJ_ALG_HS256, HWJ_OP_VERIFY, HWJ_OK, HWJ_KTY_OCT);
    /* The oct key cannot be published. */
    char *text = NULL;
    hwj_error err;
    assert_int_equal(hwj_jwks_to_json(set, &text, &err), HWJ_ERR_POLICY);
    hwj_jwks_free(set);

    /* RSA public and private with distinct kids: exported as public members only; a set to
     * decrypt with may mix them, one to verify with may not. */
    json_t *priv = variant("jwk/3_4.rsa_private_key.json", "kid", json_string("frodo"));
    char *priv_text = dump(priv);
    set = set_of(rsa, 1, priv_text);
    free(priv_text);
    json_decref(priv);
    select_is(set, bilbo, HWJ_ALG_RS256, HWJ_OP_VERIFY, HWJ_ERR_POLICY, 0);
    tu_ok(hwj_jwks_check(set, HWJ_OP_DECRYPT, &err), &err);
    tu_ok(hwj_jwks_to_json(set, &text, &err), &err);
    assert_null(strstr(text, "\"d\"")); /* public members only */
    hwj_jwks *back = NULL;
    tu_ok(hwj_jwks_parse(text, strlen(text), &back, &err), &err);
    assert_int_equal(hwj_jwks_count(back), 2);
    assert_false(hwj_jwk_is_private(hwj_jwks_get0(back, 1)));
    select_is(back, NULL, HWJ_ALG_RS256, HWJ_OP_VERIFY, HWJ_ERR_KEY_AMBIGUOUS, 0);
    free(text);
    hwj_jwks_free(back);
    hwj_jwks_free(set);

    /* Two EC keys on P-521 without kid: ambiguous; ES512 picks by kid when one has it. */
    set = set_of(ec, 1,
                 "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6K"
                 "PAqv7D4\",\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\"}");
    select_is(set, NULL, HWJ_ALG_ES256, HWJ_OP_VERIFY, HWJ_OK, HWJ_KTY_EC);
    select_is(set, NULL, HWJ_ALG_ES512, HWJ_OP_VERIFY, HWJ_OK, HWJ_KTY_EC);
    json_t *second = variant("jwk/3_1.ec_public_key.json", "kid", json_string("second"));
    char *second_text = dump(second);
    hwj_jwk *dup = NULL;
    tu_ok(hwj_jwk_parse(second_text, strlen(second_text), &dup, &err), &err);
    free(second_text);
    json_decref(second);
    tu_ok(hwj_jwks_add(set, dup, &err), &err);
    select_is(set, NULL, HWJ_ALG_ES512, HWJ_OP_VERIFY, HWJ_ERR_KEY_AMBIGUOUS, 0);
    select_is(set, "second", HWJ_ALG_ES512, HWJ_OP_VERIFY, HWJ_OK, HWJ_KTY_EC);
    assert_null(hwj_jwks_get0(set, 3));
    hwj_jwks_free(set);

    /* An invalid member invalidates the set; shapes other than {"keys":[...]} are refused. */
    const char *bad[] = {
        "{\"keys\":[{\"kty\":\"oct\",\"k\":\"AQAB\"},{\"kty\":\"EC\",\"crv\":\"P-256\"}]}",
        "{\"keys\":{}}", "[{\"kty\":\"oct\",\"k\":\"AQAB\"}]",
        "{\"keys\":[{\"kty\":\"oct\",\"k\":\"AQAB\"}],\"keys\":[]}",
        "{\"kty\":\"oct\",\"k\":\"AQAB\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        hwj_jwks *s = NULL;
        assert_int_equal(hwj_jwks_parse(bad[i], strlen(bad[i]), &s, &err), HWJ_ERR_PARSE);
        assert_null(s);
    }
    const char *unknown =
        "{\"keys\":[{\"kty\":\"oct\",\"k\":\"AQAB\"},{\"kty\":\"no\",\"k\":\"AQAB\"}]}";
    assert_int_equal(hwj_jwks_parse(unknown, strlen(unknown), &set, &err), HWJ_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "#1"));
    /* more than 1000 keys */
    size_t cap = 1001 * 32 + 32, o = 0;
    char *many = malloc(cap);
    o += (size_t)snprintf(many + o, cap - o, "{\"keys\":[");
    for (int i = 0; i < 1001; i++)
        o +=
            (size_t)snprintf(many + o, cap - o, "%s{\"kty\":\"oct\",\"k\":\"AQAB\"}", i ? "," : "");
    o += (size_t)snprintf(many + o, cap - o, "]}");
    assert_int_equal(hwj_jwks_parse(many, o, &set, &err), HWJ_ERR_LIMIT);
    free(many);
    /* empty set */
    tu_ok(hwj_jwks_new(&set, &err), &err);
    select_is(set, NULL, HWJ_ALG_RS256, HWJ_OP_VERIFY, HWJ_ERR_KEY_NOT_FOUND, 0);
    hwj_jwks_free(set);
}

static void t_files(void **state)
{
    (void)state;
    hwj_jwk *jwk = NULL;
    hwj_jwks *set = NULL;
    hwj_error err;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", HWJ_CONFORMANCE_DIR, "jwk/3_4.rsa_private_key.json");
    tu_ok(hwj_jwk_read_file(path, &jwk, &err), &err);
    assert_true(hwj_jwk_is_private(jwk));
    hwj_jwk_free(jwk);
    jwk = NULL;
    assert_int_equal(hwj_jwk_read_file("/nonexistent/key.json", &jwk, &err), HWJ_ERR_IO);
    assert_non_null(strstr(err.message, "/nonexistent/key.json"));
    assert_int_equal(hwj_jwk_read_file(tu_state_dir(), &jwk, &err), HWJ_ERR_IO);
    assert_int_equal(hwj_jwks_read_file("/nonexistent/jwks.json", &set, &err), HWJ_ERR_IO);
    char *p = tu_write_temp("jwk-garbage.json", "{\"kty\":\"oct\",");
    assert_int_equal(hwj_jwk_read_file(p, &jwk, &err), HWJ_ERR_PARSE);
    assert_non_null(strstr(err.message, p));
    free(p);
    /* larger than the bound */
    char *big = malloc(1024 * 1024 + 16);
    memset(big, ' ', 1024 * 1024 + 15);
    big[1024 * 1024 + 15] = '\0';
    p = tu_write_temp("jwk-big.json", big);
    assert_int_equal(hwj_jwk_read_file(p, &jwk, &err), HWJ_ERR_LIMIT);
    assert_int_equal(hwj_jwks_read_file(p, &set, &err), HWJ_ERR_LIMIT);
    assert_null(jwk);
    assert_null(set);
    free(p);
    free(big);
    p = tu_write_temp("jwks-ok.json", "{\"keys\":[{\"kty\":\"oct\",\"k\":\"AQAB\"}]}");
    tu_ok(hwj_jwks_read_file(p, &set, &err), &err);
    assert_int_equal(hwj_jwks_count(set), 1);
    hwj_jwks_free(set);
    free(p);
}

static void t_ecdsa_form(void **state)
{
    (void)state;
    const size_t halves[] = {32, 48, 66};
    for (size_t h = 0; h < 3; h++) {
        size_t half = halves[h];
        uint8_t raw[132], back[132], *der = NULL;
        size_t derlen = 0;
        hwj_error err;
        for (size_t i = 0; i < 2 * half; i++)
            raw[i] = (uint8_t)(i * 7 + 1);
        raw[0] = 0; /* a short r: must come back left-padded */
        raw[1] = 0;
        if (half == 66)
            raw[half] = 1; /* P-521 s: top bits of a 521-bit value */
        tu_ok(hwj_ecdsa_raw_to_der(raw, 2 * half, half, &der, &derlen, &err), &err);
        tu_ok(hwj_ecdsa_der_to_raw(der, derlen, half, back, &err), &err);
        assert_memory_equal(raw, back, 2 * half);
        /* trailing garbage after the DER value */
        uint8_t *longer = malloc(derlen + 1);
        memcpy(longer, der, derlen);
        longer[derlen] = 0;
        assert_int_equal(hwj_ecdsa_der_to_raw(longer, derlen + 1, half, back, &err),
                         HWJ_ERR_SIGNATURE);
        /* a DER signature where r||s is wanted, and r||s one byte short */
        uint8_t *d2 = NULL;
        size_t d2len = 0;
        assert_int_equal(hwj_ecdsa_raw_to_der(der, derlen, half, &d2, &d2len, &err),
                         derlen == 2 * half ? HWJ_OK : HWJ_ERR_SIGNATURE);
        free(d2);
        assert_int_equal(hwj_ecdsa_raw_to_der(raw, 2 * half - 1, half, &d2, &d2len, &err),
                         HWJ_ERR_SIGNATURE);
        /* an r too large for this curve's half */
        if (h > 0)
            assert_int_equal(hwj_ecdsa_der_to_raw(der, derlen, halves[h - 1], back, &err),
                             HWJ_ERR_SIGNATURE);
        assert_int_equal(hwj_ecdsa_der_to_raw(der, derlen / 2, half, back, &err),
                         HWJ_ERR_SIGNATURE);
        free(longer);
        free(der);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_rfc7520_round_trip),
        cmocka_unit_test(t_thumbprints),
        cmocka_unit_test(t_curve25519),
        cmocka_unit_test(t_malformed),
        cmocka_unit_test(t_from_pkey),
        cmocka_unit_test(t_check),
        cmocka_unit_test(t_jwks),
        cmocka_unit_test(t_files),
        cmocka_unit_test(t_ecdsa_form),
    };
    return cmocka_run_group_tests(tests, NULL, release_cache);
}
