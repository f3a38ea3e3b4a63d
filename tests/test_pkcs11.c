/*
 * test_pkcs11.c: the PKCS#11 backend against a real SoftHSM token made for this run by the
 * ctest fixture (scripts/softhsm-token.sh): $SOFTHSM2_CONF, $HWJ_P11_PIN_FILE, token
 * $HWJ_P11_TOKEN. Every result is checked with plain OpenSSL against the public key.
 */
#include "testutil.h"

#include "core/b64url.h"
#include "core/ecdsa.h"
#include "core/jwk.h"
#include "test_jwe_p11import.h"

#include <hwjose/jws.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef HWJ_SOFTHSM_MODULE
#define HWJ_SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#endif

static const char *token, *pinfile;
static char pin[64];
static hwj_ctx *ctx;
static char suffix[32]; /* object names unique per run of the binary */

static const char *uri(const char *object)
{
    static char buf[8][1024];
    static int i;
    char *b = buf[i++ % 8];
    snprintf(b, sizeof(buf[0]), "pkcs11:token=%s;object=%s%s?pin-source=file:%s", token, object,
             suffix, pinfile);
    return b;
}

static hwj_key *gen(const char *name, hwj_alg alg, unsigned bits)
{
    hwj_keygen_opts o = {.size = sizeof(hwj_keygen_opts), .alg = alg, .bits = bits};
    hwj_key *k = NULL;
    hwj_error err;
    tu_ok(hwj_key_generate(ctx, uri(name), &o, &k, &err), &err);
    return k;
}

static hwj_key *open_key(const char *name)
{
    hwj_key *k = NULL;
    hwj_error err;
    tu_ok(hwj_key_open(ctx, uri(name), NULL, &k, &err), &err);
    return k;
}

static int setup(void **state)
{
    (void)state;
    hwj_error err;
    token = getenv("HWJ_P11_TOKEN");
    pinfile = getenv("HWJ_P11_PIN_FILE");
    if (token == NULL || pinfile == NULL || getenv("SOFTHSM2_CONF") == NULL) {
        fprintf(stderr, "run through ctest: the pkcs11_token fixture sets SOFTHSM2_CONF, "
                        "HWJ_P11_TOKEN and HWJ_P11_PIN_FILE\n");
        return -1;
    }
    FILE *f = fopen(pinfile, "r");
    if (f == NULL || fgets(pin, sizeof(pin), f) == NULL)
        return -1;
    fclose(f);
    pin[strcspn(pin, "\r\n")] = '\0';
    snprintf(suffix, sizeof(suffix), "-%ld", (long)getpid());
    unsetenv("HWJOSE_PIN");
    return hwj_ctx_new(&ctx, &err) == HWJ_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    hwj_ctx_free(ctx);
    return 0;
}

/* ---- verification with plain OpenSSL ---- */

static int evp_verify(EVP_PKEY *pk, hwj_alg alg, const uint8_t *in, size_t inlen,
                      const uint8_t *sig, size_t siglen)
{
    const char *md = NULL;
    uint8_t *der = NULL;
    size_t derlen = 0;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    int ok;
    switch (alg) {
    case HWJ_ALG_RS256:
    case HWJ_ALG_PS256:
    case HWJ_ALG_ES256: md = "SHA256"; break;
    case HWJ_ALG_RS384:
    case HWJ_ALG_PS384:
    case HWJ_ALG_ES384: md = "SHA384"; break;
    case HWJ_ALG_RS512:
    case HWJ_ALG_PS512:
    case HWJ_ALG_ES512: md = "SHA512"; break;
    default: break;
    }
    if (alg >= HWJ_ALG_ES256 && alg <= HWJ_ALG_ES512) {
        size_t half = alg == HWJ_ALG_ES256 ? 32 : alg == HWJ_ALG_ES384 ? 48 : 66;
        hwj_error err;
        if (hwj_ecdsa_raw_to_der(sig, siglen, half, &der, &derlen, &err) != HWJ_OK)
            return 0;
        sig = der;
        siglen = derlen;
    }
    ok = EVP_DigestVerifyInit_ex(m, &pc, md, NULL, NULL, pk, NULL) == 1;
    if (ok && alg >= HWJ_ALG_PS256 && alg <= HWJ_ALG_PS512)
        ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) == 1;
    ok = ok && EVP_DigestVerify(m, sig, siglen, in, inlen) == 1;
    EVP_MD_CTX_free(m);
    hwj_free(der);
    return ok;
}

static void sign_and_check(hwj_key *k, hwj_alg alg)
{
    static const char msg[] = "eyJhbGciOiJFUzI1NiJ9.aGVsbG8gdG9rZW4";
    uint8_t sig[HWJ_SIG_MAX];
    size_t siglen = sizeof(sig);
    hwj_error err;
    tu_ok(hwj_key_sign(k, alg, (const uint8_t *)msg, strlen(msg), sig, &siglen, &err), &err);
    if (!evp_verify(hwj_key_get0_pkey(k), alg, (const uint8_t *)msg, strlen(msg), sig, siglen))
        fail_msg("%s signature from the token does not verify with OpenSSL", hwj_alg_name(alg));
    /* the same over a digest computed here (CKM_RSA_PKCS, CKM_RSA_PKCS_PSS, CKM_ECDSA) */
    siglen = sizeof(sig);
    hwj_err rc = tu_sign_digest(k, alg, (const uint8_t *)msg, strlen(msg), sig, &siglen, &err);
    if (alg == HWJ_ALG_EDDSA || alg == HWJ_ALG_ED25519) {
        assert_int_equal(rc, HWJ_ERR_UNSUPPORTED);
        return;
    }
    tu_ok(rc, &err);
    if (!evp_verify(hwj_key_get0_pkey(k), alg, (const uint8_t *)msg, strlen(msg), sig, siglen))
        fail_msg("%s signature of a digest does not verify with OpenSSL", hwj_alg_name(alg));
}

/* ---- tests ---- */

static void t_sign_every_alg(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        hwj_alg gen;
        unsigned bits;
        hwj_alg algs[3];
    } cases[] = {
        {"rs", HWJ_ALG_RS256, 2048, {HWJ_ALG_RS256, HWJ_ALG_RS384, HWJ_ALG_RS512}},
        {"ps", HWJ_ALG_PS256, 2048, {HWJ_ALG_PS256, HWJ_ALG_PS384, HWJ_ALG_PS512}},
        {"es256", HWJ_ALG_ES256, 0, {HWJ_ALG_ES256}},
        {"es384", HWJ_ALG_ES384, 0, {HWJ_ALG_ES384}},
        {"es512", HWJ_ALG_ES512, 0, {HWJ_ALG_ES512}},
        {"ed", HWJ_ALG_EDDSA, 0, {HWJ_ALG_EDDSA}},
        {"ed25519", HWJ_ALG_ED25519, 0, {HWJ_ALG_ED25519}}, /* RFC 9864: same key, same CKM_EDDSA */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hwj_key *k = gen(cases[i].name, cases[i].gen, cases[i].bits);
        for (size_t j = 0; j < 3 && cases[i].algs[j] != HWJ_ALG_UNKNOWN; j++)
            sign_and_check(k, cases[i].algs[j]);
        hwj_key_free(k);
        /* and again through a fresh open by URI */
        k = open_key(cases[i].name);
        sign_and_check(k, cases[i].algs[0]);
        hwj_key_free(k);
    }
    /* Opened by URI an Ed25519 key is bound to neither name: it signs as EdDSA and as Ed25519,
     * EdDSA by default (as before RFC 9864). As generated, its default is the name asked for. */
    hwj_key *k = open_key("ed25519");
    assert_true(hwj_key_can(k, HWJ_ALG_EDDSA) && hwj_key_can(k, HWJ_ALG_ED25519));
    assert_int_equal(hwj_key_default_alg(k), HWJ_ALG_EDDSA);
    sign_and_check(k, HWJ_ALG_EDDSA);
    hwj_key_free(k);
    k = gen("ed25519-bound", HWJ_ALG_ED25519, 0);
    assert_int_equal(hwj_key_default_alg(k), HWJ_ALG_ED25519);
    sign_and_check(k, HWJ_ALG_ED25519);
    hwj_key_free(k);
}

static void t_wrong_usage(void **state)
{
    (void)state;
    uint8_t sig[HWJ_SIG_MAX], out[512], ct[256] = {0};
    size_t siglen = sizeof(sig), outlen = sizeof(out);
    hwj_error err;
    hwj_key *es = open_key("es256"), *enc = gen("enc-only", HWJ_ALG_RSA_OAEP_256, 2048);
    /* as generated, the key is bound to its alg */
    assert_int_equal(hwj_key_sign(enc, HWJ_ALG_RS256, (const uint8_t *)"x", 1, sig, &siglen, &err),
                     HWJ_ERR_POLICY);
    hwj_key_free(enc);
    enc = open_key("enc-only"); /* opened by URI: unbound, the token's usage decides */
    /* an ES256 key cannot sign ES384 */
    assert_int_not_equal(
        hwj_key_sign(es, HWJ_ALG_ES384, (const uint8_t *)"x", 1, sig, &siglen, &err), HWJ_OK);
    /* a decryption-only key (CKA_SIGN false) cannot sign */
    assert_false(hwj_key_can(enc, HWJ_ALG_RS256));
    assert_int_equal(hwj_key_sign(enc, HWJ_ALG_RS256, (const uint8_t *)"x", 1, sig, &siglen, &err),
                     HWJ_ERR_CAPABILITY);
    assert_non_null(strstr(err.message, "a key listing"));
    /* a signing key cannot decrypt */
    assert_int_equal(hwj_key_decrypt(es, HWJ_ALG_RSA_OAEP, ct, sizeof(ct), out, &outlen, &err),
                     HWJ_ERR_POLICY);
    hwj_key_free(es);
    hwj_key_free(enc);
}

static CK_FUNCTION_LIST *raw_module(void)
{
    /* Unmanaged: the very SoftHSM instance the backend uses (never finalised here). */
    static CK_FUNCTION_LIST *f;
    if (f == NULL) {
        f = p11_kit_module_load(HWJ_SOFTHSM_MODULE, P11_KIT_MODULE_UNMANAGED);
        assert_non_null(f);
        CK_RV rv = f->C_Initialize(NULL);
        assert_true(rv == CKR_OK || rv == CKR_CRYPTOKI_ALREADY_INITIALIZED);
    }
    return f;
}

static CK_SLOT_ID raw_slot(CK_FUNCTION_LIST *f, const char *label)
{
    CK_SLOT_ID slots[32];
    CK_ULONG n = 32;
    assert_int_equal(f->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        char l[33];
        if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
            continue;
        memcpy(l, ti.label, 32);
        l[32] = '\0';
        for (int j = 31; j >= 0 && l[j] == ' '; j--)
            l[j] = '\0';
        if (strcmp(l, label) == 0)
            return slots[i];
    }
    fail_msg("token %s not found", label);
    return 0;
}

static CK_OBJECT_HANDLE raw_find(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *label)
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_LABEL, (void *)label, strlen(label)}};
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_ULONG n = 0;
    assert_int_equal(f->C_FindObjectsInit(s, t, 2), CKR_OK);
    assert_int_equal(f->C_FindObjects(s, &h, 1, &n), CKR_OK);
    f->C_FindObjectsFinal(s);
    assert_int_equal(n, 1);
    return h;
}

/* Proof of custody: the token refuses to reveal the private parts it generated. */
static void t_custody(void **state)
{
    (void)state;
    CK_FUNCTION_LIST *f = raw_module();
    CK_SESSION_HANDLE s;
    const char *names[] = {"rs", "es256", "ed"};
    CK_ATTRIBUTE_TYPE secret[] = {CKA_PRIVATE_EXPONENT, CKA_VALUE, CKA_VALUE};
    assert_int_equal(f->C_OpenSession(raw_slot(f, token), CKF_SERIAL_SESSION, NULL, NULL, &s),
                     CKR_OK);
    CK_RV rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)pin, strlen(pin));
    assert_true(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN);
    for (size_t i = 0; i < 3; i++) {
        char label[64];
        uint8_t buf[1024];
        CK_BBOOL ext = CK_TRUE, sens = CK_FALSE;
        snprintf(label, sizeof(label), "%s%s", names[i], suffix);
        CK_OBJECT_HANDLE h = raw_find(f, s, label);
        CK_ATTRIBUTE a = {secret[i], buf, sizeof(buf)};
        assert_int_equal(f->C_GetAttributeValue(s, h, &a, 1), CKR_ATTRIBUTE_SENSITIVE);
        CK_ATTRIBUTE b[] = {{CKA_EXTRACTABLE, &ext, 1}, {CKA_SENSITIVE, &sens, 1}};
        assert_int_equal(f->C_GetAttributeValue(s, h, b, 2), CKR_OK);
        assert_false(ext);
        assert_true(sens);

        hwj_key *k = open_key(names[i]);
        const hwj_custody *c = hwj_key_get0_custody(k);
        assert_string_equal(c->backend, "pkcs11");
        assert_int_equal(c->hardware, 1);
        assert_int_equal(c->sensitive, 1);
        assert_int_equal(c->always_sensitive, 1);
        assert_int_equal(c->extractable, 0);
        assert_int_equal(c->never_extractable, 1);
        assert_int_equal(c->local, 1);
        hwj_key_free(k);
    }
    f->C_CloseSession(s);
}

static size_t evp_encrypt(EVP_PKEY *pk, const char *md, const uint8_t *in, size_t inlen,
                          uint8_t *out)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    size_t outlen = 512;
    assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md_name(c, md, NULL), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md_name(c, md, NULL), 1);
    assert_int_equal(EVP_PKEY_encrypt(c, out, &outlen, in, inlen), 1);
    EVP_PKEY_CTX_free(c);
    return outlen;
}

static void t_decrypt_oaep(void **state)
{
    (void)state;
    hwj_key *k = open_key("enc-only");
    uint8_t cek[32], ct[512], out[512];
    hwj_error err;
    assert_int_equal(RAND_bytes(cek, sizeof(cek)), 1);
    assert_true(hwj_key_can(k, HWJ_ALG_RSA_OAEP));
    assert_true(hwj_key_can(k, HWJ_ALG_RSA_OAEP_256));
    /* SoftHSM 2.6.1 refuses OAEP with SHA-256: the fallback is in use and said so */
    assert_non_null(strstr(hwj_key_get0_custody(k)->notes, "CKM_RSA_X_509"));
    for (int i = 0; i < 2; i++) {
        hwj_alg alg = i ? HWJ_ALG_RSA_OAEP_256 : HWJ_ALG_RSA_OAEP;
        size_t ctlen =
            evp_encrypt(hwj_key_get0_pkey(k), i ? "SHA256" : "SHA1", cek, sizeof(cek), ct);
        size_t outlen = sizeof(out);
        tu_ok(hwj_key_decrypt(k, alg, ct, ctlen, out, &outlen, &err), &err);
        assert_int_equal(outlen, sizeof(cek));
        assert_memory_equal(out, cek, sizeof(cek));
        /* a flipped bit is one opaque failure, whichever path */
        ct[ctlen / 2] ^= 1;
        outlen = sizeof(out);
        assert_int_equal(hwj_key_decrypt(k, alg, ct, ctlen, out, &outlen, &err), HWJ_ERR_DECRYPT);
        assert_string_equal(err.message, "decryption failed");
        /* the other alg's ciphertext does not decrypt either */
        ctlen = evp_encrypt(hwj_key_get0_pkey(k), i ? "SHA1" : "SHA256", cek, sizeof(cek), ct);
        outlen = sizeof(out);
        assert_int_equal(hwj_key_decrypt(k, alg, ct, ctlen, out, &outlen, &err), HWJ_ERR_DECRYPT);
    }
    hwj_key_free(k);
}

static void t_ecdh(void **state)
{
    (void)state;
    const unsigned bits[] = {256, 384, 521};
    const char *groups[] = {"P-256", "P-384", "P-521"};
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof(name), "ecdh%u", bits[i]);
        hwj_key *k = gen(name, HWJ_ALG_ECDH_ES, bits[i]);
        EVP_PKEY *eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", groups[i]);
        EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, eph, NULL);
        uint8_t want[80], got[80];
        size_t wantlen = sizeof(want), gotlen = sizeof(got);
        hwj_error err;
        assert_non_null(eph);
        assert_int_equal(EVP_PKEY_derive_init(c), 1);
        assert_int_equal(EVP_PKEY_derive_set_peer(c, hwj_key_get0_pkey(k)), 1);
        assert_int_equal(EVP_PKEY_derive(c, want, &wantlen), 1);
        tu_ok(hwj_key_derive(k, eph, got, &gotlen, &err), &err);
        assert_int_equal(gotlen, wantlen);
        assert_memory_equal(got, want, wantlen);
        EVP_PKEY_CTX_free(c);
        EVP_PKEY_free(eph);
        if (i == 0) {
            /* a peer on another curve is refused */
            EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
            gotlen = sizeof(got);
            assert_int_equal(hwj_key_derive(k, other, got, &gotlen, &err), HWJ_ERR_POLICY);
            EVP_PKEY_free(other);
        }
        hwj_key_free(k);
    }
}

/* ---- RFC 7520 / RFC 8037 keys imported as sensitive, non-extractable objects ---- */

static EVP_PKEY *conf_key(const char *file)
{
    json_t *c = tu_conformance(file);
    char *text = json_dumps(json_object_get(json_object_get(c, "input"), "key"), 0);
    hwj_jwk *jwk = NULL;
    hwj_error err;
    tu_ok(hwj_jwk_parse(text, strlen(text), &jwk, &err), &err);
    EVP_PKEY *pk = jwk->pkey;
    EVP_PKEY_up_ref(pk);
    hwj_jwk_free(jwk);
    free(text);
    json_decref(c);
    return pk;
}

/* Ed25519 (jt_p11_import knows RSA and EC only): CKK_EC_EDWARDS, OID params. */
static void import_ed25519(EVP_PKEY *pk, const char *label)
{
    CK_FUNCTION_LIST *f = raw_module();
    CK_SESSION_HANDLE s;
    static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_OBJECT_CLASS cpriv = CKO_PRIVATE_KEY, cpub = CKO_PUBLIC_KEY;
    CK_KEY_TYPE kt = CKK_EC_EDWARDS;
    uint8_t params[] = {0x06, 0x03, 0x2b, 0x65, 0x70}, d[32], pt[34] = {0x04, 0x20}, id = 0x77;
    size_t dlen = 32, xlen = 32;
    CK_OBJECT_HANDLE h;
    assert_int_equal(EVP_PKEY_get_raw_private_key(pk, d, &dlen), 1);
    assert_int_equal(EVP_PKEY_get_raw_public_key(pk, pt + 2, &xlen), 1);
    CK_ATTRIBUTE priv[] = {
        {CKA_CLASS, &cpriv, sizeof(cpriv)},
        {CKA_KEY_TYPE, &kt, sizeof(kt)},
        {CKA_TOKEN, &yes, 1},
        {CKA_PRIVATE, &yes, 1},
        {CKA_SENSITIVE, &yes, 1},
        {CKA_EXTRACTABLE, &no, 1},
        {CKA_SIGN, &yes, 1},
        {CKA_EC_PARAMS, params, sizeof(params)},
        {CKA_VALUE, d, 32},
        {CKA_LABEL, (void *)label, strlen(label)},
        {CKA_ID, &id, 1},
    };
    CK_ATTRIBUTE pub[] = {
        {CKA_CLASS, &cpub, sizeof(cpub)},
        {CKA_KEY_TYPE, &kt, sizeof(kt)},
        {CKA_TOKEN, &yes, 1},
        {CKA_VERIFY, &yes, 1},
        {CKA_EC_PARAMS, params, sizeof(params)},
        {CKA_EC_POINT, pt, sizeof(pt)},
        {CKA_LABEL, (void *)label, strlen(label)},
        {CKA_ID, &id, 1},
    };
    assert_int_equal(
        f->C_OpenSession(raw_slot(f, token), CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s),
        CKR_OK);
    CK_RV rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)pin, strlen(pin));
    assert_true(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN);
    assert_int_equal(f->C_CreateObject(s, priv, sizeof(priv) / sizeof(priv[0]), &h), CKR_OK);
    assert_int_equal(f->C_CreateObject(s, pub, sizeof(pub) / sizeof(pub[0]), &h), CKR_OK);
    f->C_CloseSession(s);
    OPENSSL_cleanse(d, sizeof(d));
}

static void t_rfc7520(void **state)
{
    (void)state;
    static const struct {
        const char *file, *name;
        int reproducible;
    } cases[] = {
        {"jws/4_1.rsa_v15_signature.json", "rfc7520-4.1", 1},
        {"jws/4_3.ecdsa_signature.json", "rfc7520-4.3", 0},
        {"curve25519/jws.json", "rfc8037-a.4", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *c = tu_conformance(cases[i].file);
        json_t *in = json_object_get(c, "input"), *signing = json_object_get(c, "signing");
        const char *payload = json_string_value(json_object_get(in, "payload"));
        const char *kid =
            json_string_value(json_object_get(json_object_get(signing, "protected"), "kid"));
        hwj_alg alg = hwj_alg_from_name(json_string_value(json_object_get(in, "alg")));
        EVP_PKEY *pk = conf_key(cases[i].file);
        char label[64];
        snprintf(label, sizeof(label), "%s%s", cases[i].name, suffix);
        if (EVP_PKEY_is_a(pk, "ED25519"))
            import_ed25519(pk, label);
        else
            assert_int_equal(jt_p11_import(HWJ_SOFTHSM_MODULE, token, pin, pk, label, 0x20 + i), 0);
        hwj_key *k = open_key(cases[i].name);
        assert_int_equal(hwj_key_get0_custody(k)->extractable, 0);
        assert_int_equal(hwj_key_get0_custody(k)->sensitive, 1);
        assert_int_equal(hwj_key_get0_custody(k)->local, 0); /* imported, not generated */
        hwj_jws_sign_opts o = {
            .size = sizeof(hwj_jws_sign_opts), .alg = alg, .kid = kid ? kid : ""};
        char *jws = NULL;
        hwj_error err;
        tu_ok(hwj_jws_sign(k, (const uint8_t *)payload, strlen(payload), &o, &jws, &err), &err);
        const char *want =
            json_string_value(json_object_get(json_object_get(c, "output"), "compact"));
        if (cases[i].reproducible) {
            assert_string_equal(jws, want); /* byte for byte */
        } else {
            /* ECDSA is randomised: same signing input, signature verifies with the RFC key */
            const char *dot = strrchr(jws, '.');
            const char *want_in = json_string_value(json_object_get(signing, "sig-input"));
            assert_int_equal((size_t)(dot - jws), strlen(want_in));
            assert_memory_equal(jws, want_in, strlen(want_in));
            uint8_t sig[200];
            size_t siglen = 0;
            assert_int_equal(
                hwj_b64url_decode_to(dot + 1, strlen(dot + 1), sig, &siglen, "sig", &err), HWJ_OK);
            assert_true(
                evp_verify(pk, alg, (const uint8_t *)want_in, strlen(want_in), sig, siglen));
        }
        hwj_free(jws);
        hwj_key_free(k);
        EVP_PKEY_free(pk);
        json_decref(c);
    }
}

/* ---- errors that say what failed and how to fix it ---- */

/* First in the run: the open that initialises SoftHSM (whose C_Initialize looks for OpenSSL's
 * rdrand engine and fails) leaves nothing in the caller's OpenSSL error queue, so a caller
 * reporting its own failure does not report "could not load the shared library". */
static void t_module_errors_stay_inside(void **state)
{
    (void)state;
    hwj_key *k = NULL;
    hwj_error err;
    ERR_clear_error();
    assert_int_equal(hwj_key_open(ctx, uri("not-there"), NULL, &k, &err), HWJ_ERR_KEY_NOT_FOUND);
    assert_int_equal(ERR_peek_error(), 0);
}

static void t_errors(void **state)
{
    (void)state;
    hwj_ctx *c2 = NULL;
    hwj_key *k = NULL;
    hwj_error err;
    char u[1024];
    assert_int_equal(hwj_ctx_new(&c2, &err), HWJ_OK);

    /* no such token */
    snprintf(u, sizeof(u), "pkcs11:token=no-such-token;object=x?pin-source=file:%s", pinfile);
    assert_int_equal(hwj_key_open(c2, u, NULL, &k, &err), HWJ_ERR_KEY_NOT_FOUND);
    assert_non_null(strstr(err.message, "no token 'no-such-token'"));
    assert_non_null(strstr(err.message, "token listing"));

    /* no such object */
    snprintf(u, sizeof(u), "pkcs11:token=%s;object=nope?pin-source=file:%s", token, pinfile);
    assert_int_equal(hwj_key_open(c2, u, NULL, &k, &err), HWJ_ERR_KEY_NOT_FOUND);
    assert_non_null(strstr(err.message, "key 'pkcs11:object=nope' not found in token"));
    assert_non_null(strstr(err.message, "a key listing"));

    /* pin-value is refused, and the PIN is not echoed */
    snprintf(u, sizeof(u), "pkcs11:token=%s;object=es256%s?pin-value=%s", token, suffix, pin);
    assert_int_equal(hwj_key_open(c2, u, NULL, &k, &err), HWJ_ERR_POLICY);
    assert_null(strstr(err.message, pin));
    assert_non_null(strstr(err.message, "pin-source"));

    /* malformed URI */
    assert_int_equal(hwj_key_open(c2, "pkcs11:token=%zz", NULL, &k, &err), HWJ_ERR_ARG);
    hwj_ctx_free(c2);

    /* No PIN anywhere, then a wrong one. On a token nothing in this process logged in to:
     * PKCS#11 login state is per process, so a logged-in token takes any PIN's
     * CKR_USER_ALREADY_LOGGED_IN. */
    assert_int_equal(hwj_ctx_new(&c2, &err), HWJ_OK);
    snprintf(u, sizeof(u), "pkcs11:token=%s;object=none", getenv("HWJ_P11_PIN_TOKEN"));
    assert_int_equal(hwj_key_open(c2, u, NULL, &k, &err), HWJ_ERR_AUTH);
    assert_non_null(strstr(err.message, "HWJOSE_PIN"));
    /* wrong PIN from HWJOSE_PIN: rejected, named, native CK_RV, never echoed */
    setenv("HWJOSE_PIN", "wrong-pin-1234", 1);
    assert_int_equal(hwj_key_open(c2, u, NULL, &k, &err), HWJ_ERR_AUTH);
    unsetenv("HWJOSE_PIN");
    assert_int_equal(err.source, HWJ_SRC_PKCS11);
    assert_int_equal(err.native, CKR_PIN_INCORRECT);
    assert_non_null(strstr(err.message, "PIN rejected by token"));
    assert_null(strstr(err.message, "wrong-pin-1234"));
    /* the right PIN through opts logs in (and then the object is missing) */
    hwj_key_open_opts o = {.size = sizeof(hwj_key_open_opts), .pin = pin};
    assert_int_equal(hwj_key_open(c2, u, &o, &k, &err), HWJ_ERR_KEY_NOT_FOUND);
    hwj_ctx_free(c2);

    /* keygen onto a taken name */
    hwj_keygen_opts g = {.size = sizeof(hwj_keygen_opts), .alg = HWJ_ALG_ES256};
    assert_int_equal(hwj_key_generate(ctx, uri("es256"), &g, &k, &err), HWJ_ERR_ARG);
    assert_non_null(strstr(err.message, "already exists"));
}

/* A locked PIN, from a shim module that forwards to SoftHSM (which never locks). */
static void t_locked_pin(void **state)
{
    (void)state;
    hwj_ctx *c2 = NULL;
    hwj_key *k = NULL;
    hwj_error err;
    char u[2048];
    const char *shim = getenv("HWJ_P11_LOCKED_SHIM");
    assert_non_null(shim);
    assert_int_equal(hwj_ctx_new(&c2, &err), HWJ_OK);
    snprintf(u, sizeof(u), "pkcs11:token=%s;object=es256%s?module-path=%s&pin-source=file:%s",
             token, suffix, shim, pinfile);
    assert_int_equal(hwj_key_open(c2, u, NULL, &k, &err), HWJ_ERR_AUTH);
    assert_int_equal(err.native, CKR_PIN_LOCKED);
    assert_non_null(strstr(err.message, "locked"));
    hwj_ctx_free(c2);
}

/* ---- concurrency, lost sessions, fork ---- */

#define PER_THREAD 1000

static void *signer(void *arg)
{
    hwj_key *k = arg;
    uint8_t sig[HWJ_SIG_MAX];
    char msg[64];
    long bad = 0;
    for (int i = 0; i < PER_THREAD; i++) {
        size_t siglen = sizeof(sig);
        int n = snprintf(msg, sizeof(msg), "payload-%p-%d", (void *)&bad, i);
        hwj_error err;
        if (hwj_key_sign(k, HWJ_ALG_ES256, (uint8_t *)msg, (size_t)n, sig, &siglen, &err) !=
                HWJ_OK ||
            !evp_verify(hwj_key_get0_pkey(k), HWJ_ALG_ES256, (uint8_t *)msg, (size_t)n, sig,
                        siglen))
            bad++;
    }
    return (void *)bad;
}

static void t_threads(void **state)
{
    (void)state;
    hwj_key *k = open_key("es256");
    pthread_t t[2];
    void *bad[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, signer, k), 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], &bad[i]);
        assert_int_equal((long)bad[i], 0);
    }
    hwj_key_free(k);
}

static void t_lost_sessions(void **state)
{
    (void)state;
    hwj_key *k = open_key("ed");
    CK_FUNCTION_LIST *f = raw_module();
    sign_and_check(k, HWJ_ALG_EDDSA);
    /* a token reset as seen by the application: every session gone, logged out */
    assert_int_equal(f->C_CloseAllSessions(raw_slot(f, token)), CKR_OK);
    sign_and_check(k, HWJ_ALG_EDDSA); /* reopened, logged in again, retried once */
    sign_and_check(k, HWJ_ALG_EDDSA);
    hwj_key_free(k);
}

static void t_fork(void **state)
{
    (void)state;
    hwj_key *k = open_key("rs");
    sign_and_check(k, HWJ_ALG_RS256);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        static const char msg[] = "signed in the child";
        uint8_t sig[HWJ_SIG_MAX];
        size_t siglen = sizeof(sig);
        hwj_error err;
        int ok = hwj_key_sign(k, HWJ_ALG_PS256, (const uint8_t *)msg, sizeof(msg) - 1, sig, &siglen,
                              &err) == HWJ_OK &&
                 evp_verify(hwj_key_get0_pkey(k), HWJ_ALG_PS256, (const uint8_t *)msg,
                            sizeof(msg) - 1, sig, siglen);
        if (!ok)
            fprintf(stderr, "child: %s\n", err.message);
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    sign_and_check(k, HWJ_ALG_RS256); /* the parent's sessions are untouched */
    hwj_key_free(k);
}

static void t_list(void **state)
{
    (void)state;
    char *text = NULL, u[1024];
    hwj_error err;
    snprintf(u, sizeof(u), "pkcs11:token=%s?pin-source=file:%s", token, pinfile);
    tu_ok(hwj_keys_list(ctx, u, NULL, &text, &err), &err);
    json_t *list = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(list);
    size_t i;
    json_t *o;
    int seen = 0;
    char want[128];
    snprintf(want, sizeof(want), "object=es256%s;", suffix);
    json_array_foreach(list, i, o)
    {
        const char *uri_s = json_string_value(json_object_get(o, "uri"));
        if (uri_s == NULL || strstr(uri_s, want) == NULL)
            continue;
        seen = 1;
        assert_string_equal(json_string_value(json_object_get(o, "kty")), "EC");
        assert_string_equal(json_string_value(json_object_get(o, "crv")), "P-256");
        assert_true(json_is_false(json_object_get(json_object_get(o, "custody"), "extractable")));
        assert_string_equal(json_string_value(json_array_get(json_object_get(o, "algs"), 0)),
                            "ES256");
        hwj_key *k = open_key("es256");
        assert_string_equal(json_string_value(json_object_get(o, "kid")), hwj_key_get0_kid(k));
        hwj_key_free(k);
    }
    assert_true(seen);
    json_decref(list);
    hwj_free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_module_errors_stay_inside),
        cmocka_unit_test(t_sign_every_alg),
        cmocka_unit_test(t_wrong_usage),
        cmocka_unit_test(t_custody),
        cmocka_unit_test(t_decrypt_oaep),
        cmocka_unit_test(t_ecdh),
        cmocka_unit_test(t_rfc7520),
        cmocka_unit_test(t_errors),
        cmocka_unit_test(t_locked_pin),
        cmocka_unit_test(t_threads),
        cmocka_unit_test(t_lost_sessions),
        cmocka_unit_test(t_fork),
        cmocka_unit_test(t_list),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
