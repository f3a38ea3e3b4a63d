/* test_soft.c: the software backend (jwk:PATH, file:PATH). Every signature is checked with
 * plain OpenSSL EVP, not with hwjose's own verifier; decryption and ECDH against EVP too. */
#include "testutil.h"

#include "core/b64url.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hwj_ctx *ctx;

static int setup(void **state)
{
    hwj_error err;
    (void)state;
    return hwj_ctx_new(&ctx, &err) == HWJ_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    hwj_ctx_free(ctx);
    return 0;
}

static hwj_key *open_uri(const char *uri)
{
    hwj_key *key = NULL;
    hwj_error err;
    tu_ok(hwj_key_open(ctx, uri, NULL, &key, &err), &err);
    return key;
}

/* "file:" + tests/data/NAME, or "jwk:" + the conformance JWK REL. */
static hwj_key *open_data(const char *name)
{
    char uri[4200];
    snprintf(uri, sizeof(uri), "file:%s/%s", HWJ_TEST_DATA_DIR, name);
    return open_uri(uri);
}

static hwj_key *open_conf(const char *rel)
{
    char uri[4200];
    snprintf(uri, sizeof(uri), "jwk:%s/%s", HWJ_CONFORMANCE_DIR, rel);
    return open_uri(uri);
}

static hwj_err open_fails(const char *uri, hwj_err want)
{
    hwj_key *key = NULL;
    hwj_error err;
    hwj_err rc = hwj_key_open(ctx, uri, NULL, &key, &err);
    if (rc != want)
        fail_msg("open %s: expected %d, got %d: %s", uri, (int)want, (int)rc, err.message);
    assert_null(key);
    assert_true(err.message[0] != '\0');
    return rc;
}

static const char *md_of(hwj_alg a)
{
    switch (a) {
    case HWJ_ALG_HS256:
    case HWJ_ALG_RS256:
    case HWJ_ALG_PS256:
    case HWJ_ALG_ES256: return "SHA256";
    case HWJ_ALG_HS384:
    case HWJ_ALG_RS384:
    case HWJ_ALG_PS384:
    case HWJ_ALG_ES384: return "SHA384";
    case HWJ_ALG_HS512:
    case HWJ_ALG_RS512:
    case HWJ_ALG_PS512:
    case HWJ_ALG_ES512: return "SHA512";
    default: return NULL;
    }
}

/* Verify `sig` over `msg` with EVP alone (r||s rebuilt into DER by hand for ES*). */
static int evp_verify(EVP_PKEY *pub, hwj_alg alg, const uint8_t *msg, size_t len,
                      const uint8_t *sig, size_t siglen)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *p = NULL;
    uint8_t *der = NULL;
    int derlen = 0, ok;
    assert_int_equal(EVP_DigestVerifyInit_ex(m, &p, md_of(alg), NULL, NULL, pub, NULL), 1);
    if (alg >= HWJ_ALG_PS256 && alg <= HWJ_ALG_PS512) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(p, RSA_PKCS1_PSS_PADDING), 1);
        /* the salt must be exactly the hash length (RFC 7518 §3.5) */
        assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(p, RSA_PSS_SALTLEN_DIGEST), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md_name(p, md_of(alg), NULL), 1);
    }
    if (alg >= HWJ_ALG_ES256 && alg <= HWJ_ALG_ES512) {
        size_t half = siglen / 2;
        ECDSA_SIG *es = ECDSA_SIG_new();
        assert_int_equal(ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)half, NULL),
                                        BN_bin2bn(sig + half, (int)half, NULL)),
                         1);
        derlen = i2d_ECDSA_SIG(es, &der);
        ECDSA_SIG_free(es);
        ok = EVP_DigestVerify(m, der, (size_t)derlen, msg, len);
        OPENSSL_free(der);
    } else {
        ok = EVP_DigestVerify(m, sig, siglen, msg, len);
    }
    EVP_MD_CTX_free(m);
    ERR_clear_error();
    return ok == 1;
}

static const uint8_t msg[] = "eyJhbGciOiJIUzI1NiJ9.cGF5bG9hZA";

/* Sign with every JWS alg the key can do; returns the set of algs signed. */
static uint64_t sign_all(hwj_key *key, const uint8_t *secret, size_t secret_len)
{
    uint64_t done = 0;
    for (hwj_alg a = HWJ_ALG_HS256; a < HWJ_ALG_COUNT_; a++) {
        uint8_t sig[HWJ_SIG_MAX];
        size_t siglen = sizeof(sig);
        hwj_error err;
        if (hwj_alg_get_kind(a) != HWJ_ALG_KIND_JWS || !hwj_key_can(key, a))
            continue;
        tu_ok(hwj_key_sign(key, a, msg, sizeof(msg) - 1, sig, &siglen, &err), &err);
        if (a <= HWJ_ALG_HS512) {
            uint8_t mac[64];
            size_t maclen = 0;
            assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, md_of(a), NULL, secret, secret_len, msg,
                                      sizeof(msg) - 1, mac, sizeof(mac), &maclen));
            assert_int_equal(siglen, maclen);
            assert_memory_equal(sig, mac, maclen);
        } else {
            if (!evp_verify(hwj_key_get0_pkey(key), a, msg, sizeof(msg) - 1, sig, siglen))
                fail_msg("%s signature by %s does not verify with EVP", hwj_alg_name(a),
                         hwj_key_get0_uri(key));
            sig[siglen / 2] ^= 1; /* and a tampered one does not */
            assert_false(evp_verify(hwj_key_get0_pkey(key), a, msg, sizeof(msg) - 1, sig, siglen));
            /* the same over a digest computed here; EdDSA and Ed25519 sign messages only */
            siglen = sizeof(sig);
            hwj_err rc = tu_sign_digest(key, a, msg, sizeof(msg) - 1, sig, &siglen, &err);
            if (a == HWJ_ALG_EDDSA || a == HWJ_ALG_ED25519) {
                assert_int_equal(rc, HWJ_ERR_UNSUPPORTED);
            } else {
                tu_ok(rc, &err);
                assert_true(
                    evp_verify(hwj_key_get0_pkey(key), a, msg, sizeof(msg) - 1, sig, siglen));
            }
        }
        if (a >= HWJ_ALG_ES256 && a <= HWJ_ALG_ES512)
            assert_int_equal(siglen, a == HWJ_ALG_ES256 ? 64 : a == HWJ_ALG_ES384 ? 96 : 132);
        done |= (uint64_t)1 << a;
    }
    return done;
}

static void check_custody(const hwj_key *key)
{
    const hwj_custody *c = hwj_key_get0_custody(key);
    assert_string_equal(c->backend, "soft");
    assert_int_equal(c->hardware, 0);
    assert_int_equal(c->sensitive, 0);
    assert_int_equal(c->extractable, 1);
    assert_int_equal(c->never_extractable, 0);
}

/* Every JWS alg, over file: and jwk: keys. */
static void t_sign_every_alg(void **state)
{
    (void)state;
    const char *pems[] = {"soft-rsa2048.pem", "soft-p256.pem", "soft-p384.pem", "soft-p521.pem",
                          "soft-ed25519.pem"};
    uint64_t done = 0;
    for (size_t i = 0; i < sizeof(pems) / sizeof(pems[0]); i++) {
        hwj_key *key = open_data(pems[i]);
        check_custody(key);
        assert_non_null(hwj_key_get0_kid(key));
        done |= sign_all(key, NULL, 0);
        hwj_key_free(key);
    }
    /* RSA with all of RS/PS; EC by curve only */
    for (hwj_alg a = HWJ_ALG_RS256; a <= HWJ_ALG_EDDSA; a++)
        assert_true(done & ((uint64_t)1 << a));
    assert_true(done & ((uint64_t)1 << HWJ_ALG_ED25519)); /* RFC 9864: an Ed25519 key's 2nd name */

    /* oct (64 bytes: all of HS256/384/512) */
    char path[4096];
    snprintf(path, sizeof(path), "%s/soft-oct64.json", HWJ_TEST_DATA_DIR);
    hwj_jwk *jwk = NULL;
    hwj_error err;
    tu_ok(hwj_jwk_read_file(path, &jwk, &err), &err);
    char uri[4200];
    snprintf(uri, sizeof(uri), "jwk:%s", path);
    hwj_key *key = open_uri(uri);
    check_custody(key);
    assert_null(hwj_key_get0_pkey(key));
    char *tp = NULL;
    tu_ok(hwj_jwk_thumbprint(jwk, &tp, &err), &err);
    assert_string_equal(hwj_key_get0_kid(key), tp); /* no kid: the RFC 7638 thumbprint */
    free(tp);
    /* the oct key's bytes, for the EVP check, from its JSON */
    char *text = tu_read_file(path, NULL);
    json_t *j = json_loads(text, 0, NULL);
    const char *k = json_string_value(json_object_get(j, "k"));
    uint8_t *secret = NULL;
    size_t slen = 0;
    tu_ok(hwj_b64url_decode(k, strlen(k), &secret, &slen, "k", &err), &err);
    assert_int_equal(slen, 64);
    uint64_t hs = sign_all(key, secret, slen);
    assert_int_equal(hs, ((uint64_t)1 << HWJ_ALG_HS256) | ((uint64_t)1 << HWJ_ALG_HS384) |
                             ((uint64_t)1 << HWJ_ALG_HS512));
    hwj_free_secret(secret, slen);
    json_decref(j);
    free(text);
    hwj_jwk_free(jwk);
    hwj_key_free(key);

    /* RFC 7520 §3 keys through jwk: */
    const char *confs[] = {"jwk/3_2.ec_private_key.json", "jwk/3_4.rsa_private_key.json"};
    for (size_t i = 0; i < 2; i++) {
        key = open_conf(confs[i]);
        assert_string_equal(hwj_key_get0_kid(key), "bilbo.baggins@hobbiton.example");
        assert_true(sign_all(key, NULL, 0) != 0);
        /* "use":"sig": no key management */
        assert_false(hwj_key_can(key, HWJ_ALG_RSA_OAEP));
        assert_false(hwj_key_can(key, HWJ_ALG_ECDH_ES));
        hwj_key_free(key);
    }
}

/* RS256 and HS256 are deterministic: RFC 7520 §4.1 and §4.4 byte for byte. */
static void t_rfc7520_reproduce(void **state)
{
    (void)state;
    const char *cases[][2] = {{"jws/4_1.rsa_v15_signature.json", "jwk/3_4.rsa_private_key.json"},
                              {"jws/4_4.hmac-sha2_integrity_protection.json",
                               "jwk/3_5.symmetric_key_mac_computation.json"}};
    for (size_t i = 0; i < 2; i++) {
        json_t *c = tu_conformance(cases[i][0]);
        json_t *signing = json_object_get(c, "signing");
        const char *input = json_string_value(json_object_get(signing, "sig-input"));
        const char *want = json_string_value(json_object_get(signing, "sig"));
        hwj_alg alg = hwj_alg_from_name(
            json_string_value(json_object_get(json_object_get(c, "input"), "alg")));
        hwj_key *key = open_conf(cases[i][1]);
        uint8_t sig[HWJ_SIG_MAX];
        size_t siglen = sizeof(sig);
        hwj_error err;
        char b64[2048];
        tu_ok(hwj_key_sign(key, alg, (const uint8_t *)input, strlen(input), sig, &siglen, &err),
              &err);
        /* base64url by EVP: standard base64, then swap the alphabet and drop padding */
        int n = EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
        while (n > 0 && b64[n - 1] == '=')
            n--;
        b64[n] = '\0';
        for (int k = 0; k < n; k++)
            b64[k] = b64[k] == '+' ? '-' : b64[k] == '/' ? '_' : b64[k];
        assert_string_equal(b64, want);
        hwj_key_free(key);
        json_decref(c);
    }
}

static EVP_PKEY *read_pem(const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", HWJ_TEST_DATA_DIR, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    EVP_PKEY *pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(pk);
    return pk;
}

static size_t evp_encrypt(EVP_PKEY *pk, hwj_alg alg, const uint8_t *in, size_t inlen, uint8_t *out)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    size_t outlen = 512;
    assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
    if (alg == HWJ_ALG_RSA1_5) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING), 1);
    } else {
        const char *md = alg == HWJ_ALG_RSA_OAEP ? "SHA1" : "SHA256";
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md_name(c, md, NULL), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md_name(c, md, NULL), 1);
    }
    assert_int_equal(EVP_PKEY_encrypt(c, out, &outlen, in, inlen), 1);
    EVP_PKEY_CTX_free(c);
    return outlen;
}

static void t_decrypt(void **state)
{
    (void)state;
    hwj_key *key = open_data("soft-rsa2048.pem");
    EVP_PKEY *pk = read_pem("soft-rsa2048.pem");
    const hwj_alg algs[] = {HWJ_ALG_RSA_OAEP, HWJ_ALG_RSA_OAEP_256, HWJ_ALG_RSA1_5};
    uint8_t cek[32];
    for (size_t i = 0; i < sizeof(cek); i++)
        cek[i] = (uint8_t)(i * 13 + 5);
    for (size_t i = 0; i < 3; i++) {
        uint8_t ct[512], out[512];
        size_t ctlen = evp_encrypt(pk, algs[i], cek, sizeof(cek), ct), outlen = sizeof(out);
        hwj_error err;
        tu_ok(hwj_key_decrypt(key, algs[i], ct, ctlen, out, &outlen, &err), &err);
        assert_int_equal(outlen, sizeof(cek));
        assert_memory_equal(out, cek, sizeof(cek));
        /* tampered: one indistinct failure */
        ct[ctlen - 1] ^= 0x40;
        outlen = sizeof(out);
        assert_int_equal(hwj_key_decrypt(key, algs[i], ct, ctlen, out, &outlen, &err),
                         HWJ_ERR_DECRYPT);
        assert_string_equal(err.message, "decryption failed");
        assert_int_equal(ERR_peek_error(), 0);
    }
    /* OAEP with the other hash is a failure too (no silent fallback) */
    uint8_t ct[512], out[512];
    size_t ctlen = evp_encrypt(pk, HWJ_ALG_RSA_OAEP, cek, sizeof(cek), ct), outlen = sizeof(out);
    hwj_error err;
    assert_int_equal(hwj_key_decrypt(key, HWJ_ALG_RSA_OAEP_256, ct, ctlen, out, &outlen, &err),
                     HWJ_ERR_DECRYPT);
    /* an EC key cannot decrypt */
    hwj_key *ec = open_data("soft-p256.pem");
    outlen = sizeof(out);
    assert_int_equal(hwj_key_decrypt(ec, HWJ_ALG_RSA_OAEP, ct, ctlen, out, &outlen, &err),
                     HWJ_ERR_POLICY);
    hwj_key_free(ec);
    EVP_PKEY_free(pk);
    hwj_key_free(key);
}

static void derive_matches(const char *pem, const char *type, const char *param)
{
    hwj_key *key = open_data(pem);
    EVP_PKEY *peer =
        param ? EVP_PKEY_Q_keygen(NULL, NULL, type, param) : EVP_PKEY_Q_keygen(NULL, NULL, type);
    uint8_t z[132], z2[132];
    size_t zlen = sizeof(z), z2len = sizeof(z2);
    hwj_error err;
    assert_non_null(peer);
    tu_ok(hwj_key_derive(key, peer, z, &zlen, &err), &err);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, peer, NULL);
    assert_int_equal(EVP_PKEY_derive_init(c), 1);
    assert_int_equal(EVP_PKEY_derive_set_peer(c, hwj_key_get0_pkey(key)), 1);
    assert_int_equal(EVP_PKEY_derive(c, z2, &z2len), 1);
    assert_int_equal(zlen, z2len);
    assert_memory_equal(z, z2, zlen);
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(peer);
    hwj_key_free(key);
}

static void t_derive(void **state)
{
    (void)state;
    derive_matches("soft-p256.pem", "EC", "P-256");
    derive_matches("soft-p384.pem", "EC", "P-384");
    derive_matches("soft-p521.pem", "EC", "P-521");
    derive_matches("soft-x25519.pem", "X25519", NULL);

    /* a peer on another curve, or of another type: refused before any arithmetic */
    hwj_key *key = open_data("soft-p256.pem");
    EVP_PKEY *other[] = {EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"),
                         EVP_PKEY_Q_keygen(NULL, NULL, "X25519")};
    for (size_t i = 0; i < 2; i++) {
        uint8_t z[132];
        size_t zlen = sizeof(z);
        hwj_error err;
        assert_int_equal(hwj_key_derive(key, other[i], z, &zlen, &err), HWJ_ERR_POLICY);
        EVP_PKEY_free(other[i]);
    }
    /* a signing-only key cannot derive */
    hwj_key *ed = open_data("soft-ed25519.pem");
    EVP_PKEY *x = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    uint8_t z[64];
    size_t zlen = sizeof(z);
    hwj_error err;
    assert_int_not_equal(hwj_key_derive(ed, x, z, &zlen, &err), HWJ_OK);
    EVP_PKEY_free(x);
    hwj_key_free(ed);
    hwj_key_free(key);
}

static void sign_fails(hwj_key *key, hwj_alg alg, hwj_err want)
{
    uint8_t sig[HWJ_SIG_MAX];
    size_t siglen = sizeof(sig);
    hwj_error err;
    hwj_err rc = hwj_key_sign(key, alg, msg, sizeof(msg) - 1, sig, &siglen, &err);
    if (rc != want)
        fail_msg("%s with %s: expected %d, got %d: %s", hwj_alg_name(alg), hwj_key_get0_uri(key),
                 (int)want, (int)rc, err.message);
    assert_true(err.message[0] != '\0');
}

static void t_refusals(void **state)
{
    (void)state;
    char uri[4200];
    /* files that are not there, not keys, or not acceptable keys */
    open_fails("file:/nonexistent/key.pem", HWJ_ERR_IO);
    open_fails("jwk:/nonexistent/key.json", HWJ_ERR_IO);
    open_fails("file:", HWJ_ERR_ARG);
    snprintf(uri, sizeof(uri), "file:%s/soft-oct64.json", HWJ_TEST_DATA_DIR);
    open_fails(uri, HWJ_ERR_PARSE);
    snprintf(uri, sizeof(uri), "jwk:%s/soft-p256.pem", HWJ_TEST_DATA_DIR);
    open_fails(uri, HWJ_ERR_PARSE);
    snprintf(uri, sizeof(uri), "file:%s/soft-p256-encrypted.pem", HWJ_TEST_DATA_DIR);
    open_fails(uri, HWJ_ERR_PARSE); /* and no passphrase prompt */
    snprintf(uri, sizeof(uri), "file:%s/soft-rsa1024.pem", HWJ_TEST_DATA_DIR);
    open_fails(uri, HWJ_ERR_POLICY);
    snprintf(uri, sizeof(uri), "file:%s/soft-secp256k1.pem", HWJ_TEST_DATA_DIR);
    open_fails(uri, HWJ_ERR_UNSUPPORTED);
    snprintf(uri, sizeof(uri), "jwk:%s/jwk/3_3.rsa_public_key.json", HWJ_CONFORMANCE_DIR);
    open_fails(uri, HWJ_ERR_POLICY); /* a public key cannot be a signing key */
    snprintf(uri, sizeof(uri), "file:%s", tu_state_dir());
    open_fails(uri, HWJ_ERR_IO);

    /* wrong alg for the key */
    hwj_key *p256 = open_data("soft-p256.pem");
    sign_fails(p256, HWJ_ALG_ES384, HWJ_ERR_CAPABILITY);
    sign_fails(p256, HWJ_ALG_RS256, HWJ_ERR_POLICY);
    sign_fails(p256, HWJ_ALG_HS256, HWJ_ERR_POLICY);
    sign_fails(p256, HWJ_ALG_RSA_OAEP, HWJ_ERR_POLICY);
    hwj_key_free(p256);
    hwj_key *rsa = open_data("soft-rsa2048.pem");
    sign_fails(rsa, HWJ_ALG_HS256, HWJ_ERR_POLICY);
    sign_fails(rsa, HWJ_ALG_EDDSA, HWJ_ERR_POLICY);
    sign_fails(rsa, HWJ_ALG_ED25519, HWJ_ERR_POLICY);
    /* too small a buffer */
    uint8_t sig[16];
    size_t siglen = sizeof(sig);
    hwj_error err;
    assert_int_equal(hwj_key_sign(rsa, HWJ_ALG_RS256, msg, 3, sig, &siglen, &err), HWJ_ERR_ARG);
    hwj_key_free(rsa);
    /* a 16-byte oct key is too short for any HMAC */
    snprintf(uri, sizeof(uri), "jwk:%s/soft-oct16.json", HWJ_TEST_DATA_DIR);
    hwj_key *short_hs = open_uri(uri);
    sign_fails(short_hs, HWJ_ALG_HS256, HWJ_ERR_CAPABILITY);
    hwj_key_free(short_hs);
    /* a JWK bound to HS256 by "alg" signs with nothing else */
    hwj_key *hs = open_conf("jwk/3_5.symmetric_key_mac_computation.json");
    assert_int_equal(hwj_key_default_alg(hs), HWJ_ALG_HS256);
    sign_fails(hs, HWJ_ALG_HS384, HWJ_ERR_POLICY);
    hwj_key_free(hs);
    /* a JWK with "use":"enc" does not sign */
    char *p = tu_write_temp(
        "soft-ec-enc.json",
        "{\"kty\":\"EC\",\"crv\":\"P-521\",\"use\":\"enc\",\"x\":\"AHKZLLOsCOzz5cY97ewNUajB957y-C-"
        "U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt\",\"y\":\"AdymlHvOiLxXkEhayXQnN"
        "CvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1\",\"d\":\"AAhRON2r9cqX"
        "X1hg-RoI6R1tX5p2rUAYdmpHZoC1XNM56KtscrX6zbKipQrCW9CGZH3T4ubpnoTKLDYJ_fF3_rJt\"}");
    snprintf(uri, sizeof(uri), "jwk:%s", p);
    hwj_key *enc = open_uri(uri);
    sign_fails(enc, HWJ_ALG_ES512, HWJ_ERR_CAPABILITY);
    assert_true(hwj_key_can(enc, HWJ_ALG_ECDH_ES));
    hwj_key_free(enc);
    free(p);
    /* error messages carry no key material */
    p = tu_write_temp(
        "soft-bad-d.json",
        "{\"kty\":\"oct\",\"k\":\"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==\"}");
    snprintf(uri, sizeof(uri), "jwk:%s", p);
    hwj_key *none = NULL;
    assert_int_equal(hwj_key_open(ctx, uri, NULL, &none, &err), HWJ_ERR_PARSE);
    assert_null(strstr(err.message, "c2VjcmV0"));
    free(p);
}

/* The public JWK of a software key is its public half, with the kid. */
static void t_public_jwk(void **state)
{
    (void)state;
    hwj_key *key = open_data("soft-p384.pem");
    hwj_jwk *pub = NULL;
    hwj_error err;
    tu_ok(hwj_jwk_from_key(key, &pub, &err), &err);
    assert_false(hwj_jwk_is_private(pub));
    assert_string_equal(hwj_jwk_get0_kid(pub), hwj_key_get0_kid(key));
    char *tp = NULL;
    tu_ok(hwj_jwk_thumbprint(pub, &tp, &err), &err);
    assert_string_equal(tp, hwj_key_get0_kid(key));
    assert_int_equal(EVP_PKEY_eq(hwj_jwk_get0_pkey(pub), hwj_key_get0_pkey(key)), 1);
    free(tp);
    hwj_jwk_free(pub);
    hwj_key_free(key);
    /* bound alg: published with alg and use */
    key = open_conf("jwk/3_4.rsa_private_key.json");
    char *json = NULL;
    tu_ok(hwj_key_public_jwk(key, &json, &err), &err);
    assert_null(strstr(json, "\"d\""));
    free(json);
    hwj_key_free(key);
}

struct worker {
    hwj_key *key;
    int ok;
};

static void *sign_loop(void *arg)
{
    struct worker *w = arg;
    w->ok = 1;
    for (int i = 0; i < 50 && w->ok; i++) {
        uint8_t sig[HWJ_SIG_MAX];
        size_t siglen = sizeof(sig);
        w->ok =
            hwj_key_sign(w->key, HWJ_ALG_ES256, msg, sizeof(msg) - 1, sig, &siglen, NULL) ==
                HWJ_OK &&
            evp_verify(hwj_key_get0_pkey(w->key), HWJ_ALG_ES256, msg, sizeof(msg) - 1, sig, siglen);
    }
    return NULL;
}

/* One key, several threads signing at once. */
static void t_threads(void **state)
{
    (void)state;
    hwj_key *key = open_data("soft-p256.pem");
    pthread_t t[4];
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i].key = key;
        assert_int_equal(pthread_create(&t[i], NULL, sign_loop, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_true(w[i].ok);
    }
    hwj_key_free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_sign_every_alg), cmocka_unit_test(t_rfc7520_reproduce),
        cmocka_unit_test(t_decrypt),        cmocka_unit_test(t_derive),
        cmocka_unit_test(t_refusals),       cmocka_unit_test(t_public_jwk),
        cmocka_unit_test(t_threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
