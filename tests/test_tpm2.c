/* test_tpm2.c: the TPM 2.0 backend against a real swtpm (the ctest fixture's, in
 * $HWJ_TPM_DIR). Every result is checked with plain OpenSSL, never with hwjose itself. */
#include "testutil.h"

#include "core/ecdsa.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tpm_dir[1024];
static char keys_dir[1024];
static char tcti[256];

static void read_line(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, (int)len, f));
    buf[strcspn(buf, "\r\n")] = '\0';
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    const char *d = getenv("HWJ_TPM_DIR");
    char path[1100];
    if (d == NULL) {
        fprintf(stderr, "HWJ_TPM_DIR is not set: run through ctest (swtpm fixture)\n");
        return -1;
    }
    snprintf(tpm_dir, sizeof(tpm_dir), "%s", d);
    snprintf(path, sizeof(path), "%s/tcti", d);
    read_line(path, tcti, sizeof(tcti));
    setenv("HWJOSE_TCTI", tcti, 1);
    setenv("TPM2OPENSSL_TCTI", tcti, 1);
    unsetenv("HWJOSE_PIN");
    snprintf(keys_dir, sizeof(keys_dir), "%s/keys-%ld", tu_state_dir(), (long)getpid());
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", keys_dir, keys_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", keys_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* "tpm2:file=<keys_dir>/<name>.pem" */
static char *key_uri(const char *name)
{
    char *u = NULL;
    assert_true(asprintf(&u, "tpm2:file=%s/%s.pem", keys_dir, name) > 0);
    return u;
}

/* Generate (once per name) and open. */
static hwj_key *make_key(hwj_ctx *ctx, const char *name, hwj_alg alg)
{
    hwj_keygen_opts o = {.size = sizeof(hwj_keygen_opts),
                         .alg = alg,
                         .bits = hwj_alg_kty(alg) == HWJ_KTY_RSA ? 2048 : 0};
    hwj_error err = {0};
    hwj_key *key = NULL;
    char *uri = key_uri(name), path[1200];
    snprintf(path, sizeof(path), "%s/%s.pem", keys_dir, name);
    if (access(path, F_OK) == 0)
        tu_ok(hwj_key_open(ctx, uri, NULL, &key, &err), &err);
    else
        tu_ok(hwj_key_generate(ctx, uri, &o, &key, &err), &err);
    free(uri);
    return key;
}

/* Verify `sig` over `msg` with the key's public EVP_PKEY, by OpenSSL alone. PSS is checked
 * with salt length = digest length exactly (RFC 7518 §3.5). */
static int ossl_verify(EVP_PKEY *pub, hwj_alg alg, const uint8_t *msg, size_t len,
                       const uint8_t *sig, size_t siglen)
{
    const char *md = alg == HWJ_ALG_RS256 || alg == HWJ_ALG_PS256 || alg == HWJ_ALG_ES256 ? "SHA256"
                     : alg == HWJ_ALG_ES384 || alg == HWJ_ALG_PS384                       ? "SHA384"
                                                                    : "SHA512";
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    uint8_t *der = NULL;
    size_t derlen = 0;
    int ok;

    assert_true(EVP_DigestVerifyInit_ex(mctx, &pctx, md, NULL, NULL, pub, NULL) == 1);
    if (alg >= HWJ_ALG_PS256 && alg <= HWJ_ALG_PS512) {
        assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1);
        assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1);
    }
    if (alg >= HWJ_ALG_ES256 && alg <= HWJ_ALG_ES512) {
        hwj_error err = {0};
        tu_ok(hwj_ecdsa_raw_to_der(sig, siglen, siglen / 2, &der, &derlen, &err), &err);
        sig = der;
        siglen = derlen;
    }
    ok = EVP_DigestVerify(mctx, sig, siglen, msg, len) == 1;
    hwj_free(der);
    EVP_MD_CTX_free(mctx);
    return ok;
}

static void sign_and_check(hwj_key *key, hwj_alg alg)
{
    static const uint8_t msg[] = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ0cG0ifQ";
    uint8_t sig[HWJ_SIG_MAX];
    size_t siglen = sizeof(sig);
    hwj_error err = {0};
    tu_ok(hwj_key_sign(key, alg, msg, sizeof(msg) - 1, sig, &siglen, &err), &err);
    assert_true(ossl_verify(hwj_key_get0_pkey(key), alg, msg, sizeof(msg) - 1, sig, siglen));
    sig[siglen / 2] ^= 1;
    assert_false(ossl_verify(hwj_key_get0_pkey(key), alg, msg, sizeof(msg) - 1, sig, siglen));
    siglen = sizeof(sig); /* the same over a digest computed here */
    tu_ok(tu_sign_digest(key, alg, msg, sizeof(msg) - 1, sig, &siglen, &err), &err);
    assert_true(ossl_verify(hwj_key_get0_pkey(key), alg, msg, sizeof(msg) - 1, sig, siglen));
}

static void test_sign_every_alg(void **state)
{
    (void)state;
    hwj_ctx *ctx = NULL;
    hwj_error err = {0};
    tu_ok(hwj_ctx_new(&ctx, &err), &err);
    hwj_key *rsa = make_key(ctx, "rs256", HWJ_ALG_RS256);
    hwj_key *ps = make_key(ctx, "ps256", HWJ_ALG_PS256);
    hwj_key *es256 = make_key(ctx, "es256", HWJ_ALG_ES256);
    hwj_key *es384 = make_key(ctx, "es384", HWJ_ALG_ES384);

    sign_and_check(rsa, HWJ_ALG_RS256);
    sign_and_check(ps, HWJ_ALG_PS256);
    sign_and_check(ps, HWJ_ALG_PS384); /* salt 48 on a 2048-bit key */
    sign_and_check(ps, HWJ_ALG_PS512);
    sign_and_check(es256, HWJ_ALG_ES256);
    sign_and_check(es384, HWJ_ALG_ES384);
    for (int i = 0; i < 20; i++) /* r||s left-padding: some r or s have a leading zero byte */
        sign_and_check(es256, HWJ_ALG_ES256);

    /* the key may not do what its curve or attributes exclude */
    uint8_t sig[HWJ_SIG_MAX];
    size_t siglen = sizeof(sig);
    assert_int_not_equal(
        hwj_key_sign(es256, HWJ_ALG_ES384, (const uint8_t *)"x", 1, sig, &siglen, &err), HWJ_OK);
    assert_false(hwj_key_can(es256, HWJ_ALG_EDDSA));
    assert_false(hwj_key_can(es256, HWJ_ALG_ED25519));

    /* custody: generated in the TPM, fixedTPM|fixedParent */
    const hwj_custody *c = hwj_key_get0_custody(es256);
    assert_string_equal(c->backend, "tpm2");
    assert_int_equal(c->hardware, 1);
    assert_int_equal(c->sensitive, 1);
    assert_int_equal(c->extractable, 0);
    assert_int_equal(c->never_extractable, 1);
    assert_int_equal(c->local, 1);
    assert_non_null(strstr(c->notes, "EdDSA"));

    /* through the JWS layer: a compact JWS whose signature OpenSSL verifies */
    char *jws = NULL;
    hwj_jws_sign_opts so = {.size = sizeof(hwj_jws_sign_opts), .alg = HWJ_ALG_ES256};
    tu_ok(hwj_jws_sign(es256, (const uint8_t *)"{}", 2, &so, &jws, &err), &err);
    assert_non_null(strchr(jws, '.'));
    hwj_free(jws);

    hwj_key_free(rsa);
    hwj_key_free(ps);
    hwj_key_free(es256);
    hwj_key_free(es384);
    hwj_ctx_free(ctx);
}

static void oaep_roundtrip(hwj_key *key, hwj_alg alg, const char *md)
{
    static const uint8_t cek[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    uint8_t ct[512], out[512];
    size_t ctlen = sizeof(ct), outlen = sizeof(out);
    hwj_error err = {0};
    EVP_PKEY_CTX *p = EVP_PKEY_CTX_new_from_pkey(NULL, hwj_key_get0_pkey(key), NULL);
    assert_true(EVP_PKEY_encrypt_init(p) == 1);
    assert_true(EVP_PKEY_CTX_set_rsa_padding(p, RSA_PKCS1_OAEP_PADDING) == 1);
    assert_true(EVP_PKEY_CTX_set_rsa_oaep_md_name(p, md, NULL) == 1);
    assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md_name(p, md, NULL) == 1);
    assert_true(EVP_PKEY_encrypt(p, ct, &ctlen, cek, sizeof(cek)) == 1);
    EVP_PKEY_CTX_free(p);
    tu_ok(hwj_key_decrypt(key, alg, ct, ctlen, out, &outlen, &err), &err);
    assert_int_equal(outlen, sizeof(cek));
    assert_memory_equal(out, cek, sizeof(cek));
    /* tampered: a bare "decryption failed" */
    ct[10] ^= 1;
    outlen = sizeof(out);
    assert_int_equal(hwj_key_decrypt(key, alg, ct, ctlen, out, &outlen, &err), HWJ_ERR_DECRYPT);
    assert_string_equal(err.message, "decryption failed");
}

static void test_decrypt_and_ecdh(void **state)
{
    (void)state;
    hwj_ctx *ctx = NULL;
    hwj_error err = {0};
    tu_ok(hwj_ctx_new(&ctx, &err), &err);
    hwj_key *oaep = make_key(ctx, "oaep", HWJ_ALG_RSA_OAEP);
    hwj_key *oaep256 = make_key(ctx, "oaep256", HWJ_ALG_RSA_OAEP_256);
    hwj_key *ecdh = make_key(ctx, "ecdh", HWJ_ALG_ECDH_ES);

    oaep_roundtrip(oaep, HWJ_ALG_RSA_OAEP, "SHA1");
    oaep_roundtrip(oaep256, HWJ_ALG_RSA_OAEP_256, "SHA256");
    /* an RSA decryption key is bound to its alg: the TPM refuses the other hash and RSA1_5 */
    assert_false(hwj_key_can(oaep, HWJ_ALG_RSA_OAEP_256));
    assert_false(hwj_key_can(oaep256, HWJ_ALG_RSA_OAEP));
    assert_false(hwj_key_can(oaep256, HWJ_ALG_RSA1_5));
    /* a decrypt key does not sign */
    assert_false(hwj_key_can(oaep, HWJ_ALG_RS256));

    /* ECDH: Z from the TPM equals OpenSSL's from the other side */
    EVP_PKEY *eph = EVP_EC_gen("P-256");
    uint8_t z1[66], z2[66];
    size_t z1len = sizeof(z1), z2len = sizeof(z2);
    tu_ok(hwj_key_derive(ecdh, eph, z1, &z1len, &err), &err);
    EVP_PKEY_CTX *d = EVP_PKEY_CTX_new_from_pkey(NULL, eph, NULL);
    assert_true(EVP_PKEY_derive_init(d) == 1);
    assert_true(EVP_PKEY_derive_set_peer(d, hwj_key_get0_pkey(ecdh)) == 1);
    assert_true(EVP_PKEY_derive(d, z2, &z2len) == 1);
    assert_int_equal(z1len, 32);
    assert_int_equal(z2len, 32);
    assert_memory_equal(z1, z2, 32);
    EVP_PKEY_CTX_free(d);
    EVP_PKEY_free(eph);
    /* a peer on another curve is refused */
    eph = EVP_EC_gen("P-384");
    z1len = sizeof(z1);
    assert_int_equal(hwj_key_derive(ecdh, eph, z1, &z1len, &err), HWJ_ERR_POLICY);
    EVP_PKEY_free(eph);

    hwj_key_free(oaep);
    hwj_key_free(oaep256);
    hwj_key_free(ecdh);
    hwj_ctx_free(ctx);
}

static void test_keygen_rules_and_list(void **state)
{
    (void)state;
    hwj_ctx *ctx = NULL;
    hwj_error err = {0};
    hwj_key *key = NULL;
    char *uri = key_uri("ed"), *json = NULL;
    hwj_keygen_opts o = {.size = sizeof(hwj_keygen_opts), .alg = HWJ_ALG_EDDSA};
    tu_ok(hwj_ctx_new(&ctx, &err), &err);

    assert_int_equal(hwj_key_generate(ctx, uri, &o, &key, &err), HWJ_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "Ed25519"));
    o.alg = HWJ_ALG_ED25519; /* RFC 9864's name for it: refused alike */
    assert_int_equal(hwj_key_generate(ctx, uri, &o, &key, &err), HWJ_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "no Ed25519 curve"));
    free(uri);

    /* an existing file is never overwritten */
    hwj_key_free(make_key(ctx, "exists", HWJ_ALG_ES256));
    uri = key_uri("exists");
    char path[1200], *before, *after;
    snprintf(path, sizeof(path), "%s/exists.pem", keys_dir);
    before = tu_read_file(path, NULL);
    o.alg = HWJ_ALG_ES256;
    assert_int_equal(hwj_key_generate(ctx, uri, &o, &key, &err), HWJ_ERR_ARG);
    assert_non_null(strstr(err.message, "exists"));
    after = tu_read_file(path, NULL);
    assert_string_equal(before, after);
    free(before);
    free(after);
    free(uri);

    /* the key file is private and in the TSS2 format */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* list a folder of key files */
    char luri[1100];
    snprintf(luri, sizeof(luri), "tpm2:file=%s", keys_dir);
    tu_ok(hwj_keys_list(ctx, luri, NULL, &json, &err), &err);
    assert_non_null(strstr(json, "exists.pem"));
    assert_non_null(strstr(json, "\"never_extractable\":true"));
    hwj_free(json);

    /* a persistent key: made at a handle, opened, listed, signing */
    const char *puri = "tpm2:handle=0x81000123";
    o.alg = HWJ_ALG_ES256;
    if (hwj_key_open(ctx, puri, NULL, &key, &err) != HWJ_OK)
        tu_ok(hwj_key_generate(ctx, puri, &o, &key, &err), &err);
    sign_and_check(key, HWJ_ALG_ES256);
    hwj_key_free(key);
    tu_ok(hwj_keys_list(ctx, "tpm2:", NULL, &json, &err), &err);
    assert_non_null(strstr(json, "tpm2:handle=0x81000123"));
    hwj_free(json);
    /* taken handle */
    assert_int_not_equal(hwj_key_generate(ctx, puri, &o, &key, &err), HWJ_OK);
    hwj_ctx_free(ctx);
}

static void test_errors(void **state)
{
    (void)state;
    hwj_ctx *ctx = NULL;
    hwj_error err = {0};
    hwj_key *key = NULL;
    char path[1200], uri[1300];
    tu_ok(hwj_ctx_new(&ctx, &err), &err);

    assert_int_equal(hwj_key_open(ctx, "tpm2:", NULL, &key, &err), HWJ_ERR_ARG);
    assert_int_equal(hwj_key_open(ctx, "tpm2:handle=0x1234", NULL, &key, &err), HWJ_ERR_ARG);
    assert_int_equal(hwj_key_open(ctx, "tpm2:handle=zz", NULL, &key, &err), HWJ_ERR_ARG);
    assert_int_equal(hwj_key_open(ctx, "tpm2:color=red", NULL, &key, &err), HWJ_ERR_ARG);
    assert_int_equal(hwj_key_open(ctx, "tpm2:file=%zz", NULL, &key, &err), HWJ_ERR_ARG);
    assert_int_equal(hwj_key_open(ctx, "tpm2:file=/x?auth-value=secret", NULL, &key, &err),
                     HWJ_ERR_POLICY);
    assert_null(strstr(err.message, "secret"));
    assert_int_equal(hwj_key_open(ctx, "tpm2:file=/nonexistent/k.pem", NULL, &key, &err),
                     HWJ_ERR_IO);
    snprintf(path, sizeof(path), "%s/not-a-key.pem", keys_dir);
    FILE *f = fopen(path, "w");
    fputs("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", f);
    fclose(f);
    snprintf(uri, sizeof(uri), "tpm2:file=%s", path);
    assert_int_equal(hwj_key_open(ctx, uri, NULL, &key, &err), HWJ_ERR_PARSE);
    assert_non_null(strstr(err.message, "TSS2 PRIVATE KEY"));
    /* no key at that persistent handle */
    assert_int_equal(hwj_key_open(ctx, "tpm2:handle=0x81000999", NULL, &key, &err),
                     HWJ_ERR_KEY_NOT_FOUND);
    /* nothing listening at the TCTI: a clear TOKEN error with the TSS2 code */
    assert_int_equal(hwj_key_open(ctx, "tpm2:handle=0x81000123?tcti=swtpm:host=127.0.0.1,port=9",
                                  NULL, &key, &err),
                     HWJ_ERR_TOKEN);
    assert_non_null(strstr(err.message, "is swtpm running? check HWJOSE_TCTI"));
    assert_int_equal(err.source, HWJ_SRC_TSS2);
    assert_int_not_equal(err.native, 0);
    hwj_ctx_free(ctx);
}

static void test_key_auth(void **state)
{
    (void)state;
    hwj_ctx *ctx = NULL;
    hwj_error err = {0};
    hwj_key *key = NULL;
    char authfile[1200], base[1200], uri[4096];
    hwj_keygen_opts o = {.size = sizeof(hwj_keygen_opts), .alg = HWJ_ALG_ES256};
    tu_ok(hwj_ctx_new(&ctx, &err), &err);

    snprintf(authfile, sizeof(authfile), "%s/key.auth", keys_dir);
    FILE *f = fopen(authfile, "w");
    fputs("s3cret-auth\n", f);
    fclose(f);
    snprintf(base, sizeof(base), "tpm2:file=%s/authed.pem", keys_dir);
    snprintf(uri, sizeof(uri), "%s?auth-source=file:%s", base, authfile);
    tu_ok(hwj_key_generate(ctx, uri, &o, &key, &err), &err);
    sign_and_check(key, HWJ_ALG_ES256);
    hwj_key_free(key);

    /* the auth from HWJOSE_PIN also works; a wrong one is an AUTH error without the value */
    setenv("HWJOSE_PIN", "s3cret-auth", 1);
    tu_ok(hwj_key_open(ctx, base, NULL, &key, &err), &err);
    sign_and_check(key, HWJ_ALG_ES256);
    hwj_key_free(key);
    setenv("HWJOSE_PIN", "Bad-Pin-42xyz", 1);
    tu_ok(hwj_key_open(ctx, base, NULL, &key, &err), &err);
    uint8_t sig[HWJ_SIG_MAX];
    size_t siglen = sizeof(sig);
    assert_int_equal(hwj_key_sign(key, HWJ_ALG_ES256, (const uint8_t *)"x", 1, sig, &siglen, &err),
                     HWJ_ERR_AUTH);
    assert_null(strstr(err.message, "Bad-Pin-42xyz"));
    assert_int_equal(err.source, HWJ_SRC_TSS2);
    hwj_key_free(key);
    unsetenv("HWJOSE_PIN");
    hwj_ctx_free(ctx);
}

/* More keys than the TPM has object slots (swtpm: 3), all used in turn. */
static void test_slot_exhaustion(void **state)
{
    (void)state;
    hwj_ctx *ctx = NULL;
    hwj_error err = {0};
    hwj_key *keys[6];
    char name[16];
    tu_ok(hwj_ctx_new(&ctx, &err), &err);
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof(name), "slot%d", i);
        keys[i] = make_key(ctx, name, HWJ_ALG_ES256);
    }
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 6; i++)
            sign_and_check(keys[(i * 5 + round) % 6], HWJ_ALG_ES256);
    for (int i = 0; i < 6; i++)
        hwj_key_free(keys[i]);
    hwj_ctx_free(ctx);
}

struct worker {
    hwj_key *key;
    hwj_alg alg;
    int ok;
};

static void *sign_loop(void *arg)
{
    struct worker *w = arg;
    static const uint8_t msg[] = "threads.sign";
    w->ok = 0;
    for (int i = 0; i < 100; i++) {
        uint8_t sig[HWJ_SIG_MAX];
        size_t siglen = sizeof(sig);
        hwj_error err = {0};
        if (hwj_key_sign(w->key, w->alg, msg, sizeof(msg) - 1, sig, &siglen, &err) != HWJ_OK)
            return NULL;
        if (!ossl_verify(hwj_key_get0_pkey(w->key), w->alg, msg, sizeof(msg) - 1, sig, siglen))
            return NULL;
    }
    w->ok = 1;
    return NULL;
}

static void test_two_threads(void **state)
{
    (void)state;
    hwj_ctx *ctx = NULL;
    hwj_error err = {0};
    tu_ok(hwj_ctx_new(&ctx, &err), &err);
    hwj_key *a = make_key(ctx, "es256", HWJ_ALG_ES256);
    hwj_key *b = make_key(ctx, "rs256", HWJ_ALG_RS256);
    struct worker w[3] = {{a, HWJ_ALG_ES256, 0}, {a, HWJ_ALG_ES256, 0}, {b, HWJ_ALG_RS256, 0}};
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, sign_loop, &w[i]), 0);
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        assert_true(w[i].ok);
    }
    hwj_key_free(a);
    hwj_key_free(b);
    hwj_ctx_free(ctx);
}

static int run(const char *fmt, ...) HWJ_PRINTF(1, 2);
static int run(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd);
}

/* A key made by tpm2-openssl used by hwjose, and one made by hwjose used by tpm2-openssl.
 * swtpm has 3 object slots and no resource manager: our keys are freed before openssl runs. */
static void test_openssl_interop(void **state)
{
    (void)state;
    hwj_ctx *ctx = NULL;
    hwj_error err = {0};
    hwj_key *key = NULL;
    char uri[1300];
    tu_ok(hwj_ctx_new(&ctx, &err), &err);

    assert_int_equal(run("openssl genpkey -provider tpm2 -provider default -algorithm EC "
                         "-pkeyopt group:P-256 -out '%s/ossl-ec.pem' 2>/dev/null",
                         keys_dir),
                     0);
    snprintf(uri, sizeof(uri), "tpm2:file=%s/ossl-ec.pem", keys_dir);
    tu_ok(hwj_key_open(ctx, uri, NULL, &key, &err), &err);
    sign_and_check(key, HWJ_ALG_ES256);
    hwj_key_free(key);

    /* hwjose key → openssl pkeyutl through the tpm2 provider; verified in process */
    key = make_key(ctx, "for-ossl", HWJ_ALG_ES256);
    EVP_PKEY *pub = EVP_PKEY_dup(hwj_key_get0_pkey(key));
    hwj_key_free(key);
    hwj_ctx_free(ctx); /* nothing of ours stays loaded in the TPM */
    static const uint8_t digest_in[] = "signed by openssl through the tpm2 provider";
    uint8_t dgst[32];
    unsigned dlen = 0;
    assert_true(EVP_Digest(digest_in, sizeof(digest_in) - 1, dgst, &dlen, EVP_sha256(), NULL));
    char dpath[1200], spath[1200];
    snprintf(dpath, sizeof(dpath), "%s/dgst.bin", keys_dir);
    snprintf(spath, sizeof(spath), "%s/sig.der", keys_dir);
    FILE *f = fopen(dpath, "wb");
    fwrite(dgst, 1, dlen, f);
    fclose(f);
    assert_int_equal(run("openssl pkeyutl -provider tpm2 -provider default -propquery "
                         "'?provider=tpm2' -sign -inkey '%s/for-ossl.pem' -in '%s' -out '%s'",
                         keys_dir, dpath, spath),
                     0);
    size_t siglen = 0;
    char *sig = tu_read_file(spath, &siglen);
    EVP_PKEY_CTX *p = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
    assert_true(EVP_PKEY_verify_init(p) == 1);
    assert_true(EVP_PKEY_verify(p, (uint8_t *)sig, siglen, dgst, dlen) == 1);
    EVP_PKEY_CTX_free(p);
    free(sig);
    EVP_PKEY_free(pub);
}

/* swtpm killed and restarted under a running process: a clear error, then recovery with the
 * same hwj_key. A swtpm of its own, so that other tests are not disturbed. */
static void test_restart(void **state)
{
    (void)state;
    hwj_ctx *ctx = NULL;
    hwj_error err = {0};
    hwj_key *file_key = NULL, *pers_key = NULL;
    char dir[1200], tcti2[256], path[1300], uri[4096];
    uint8_t sig[HWJ_SIG_MAX];
    size_t siglen;
    const char *script = HWJ_SOURCE_DIR "/scripts/swtpm.sh";
    hwj_keygen_opts o = {.size = sizeof(hwj_keygen_opts), .alg = HWJ_ALG_ES256};

    snprintf(dir, sizeof(dir), "%s/tpm-restart", keys_dir);
    assert_int_equal(run("bash '%s' start '%s'", script, dir), 0);
    snprintf(path, sizeof(path), "%s/tcti", dir);
    read_line(path, tcti2, sizeof(tcti2));
    tu_ok(hwj_ctx_new(&ctx, &err), &err);
    snprintf(uri, sizeof(uri), "tpm2:file=%s/restart.pem?tcti=%s", keys_dir, tcti2);
    tu_ok(hwj_key_generate(ctx, uri, &o, &file_key, &err), &err);
    snprintf(uri, sizeof(uri), "tpm2:handle=0x81000042?tcti=%s", tcti2);
    tu_ok(hwj_key_generate(ctx, uri, &o, &pers_key, &err), &err);
    sign_and_check(file_key, HWJ_ALG_ES256);
    sign_and_check(pers_key, HWJ_ALG_ES256);

    assert_int_equal(run("bash '%s' stop '%s'", script, dir), 0);
    siglen = sizeof(sig);
    assert_int_equal(
        hwj_key_sign(file_key, HWJ_ALG_ES256, (const uint8_t *)"x", 1, sig, &siglen, &err),
        HWJ_ERR_TOKEN);
    assert_non_null(strstr(err.message, "is swtpm running? check HWJOSE_TCTI"));
    assert_int_equal(err.source, HWJ_SRC_TSS2);
    siglen = sizeof(sig);
    assert_int_equal(
        hwj_key_sign(pers_key, HWJ_ALG_ES256, (const uint8_t *)"x", 1, sig, &siglen, &err),
        HWJ_ERR_TOKEN);

    assert_int_equal(run("bash '%s' start '%s'", script, dir), 0); /* same ports, same state */
    sign_and_check(file_key, HWJ_ALG_ES256);
    sign_and_check(pers_key, HWJ_ALG_ES256);

    hwj_key_free(file_key);
    hwj_key_free(pers_key);
    hwj_ctx_free(ctx);
    assert_int_equal(run("bash '%s' destroy '%s'", script, dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_every_alg),
        cmocka_unit_test(test_decrypt_and_ecdh),
        cmocka_unit_test(test_keygen_rules_and_list),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_key_auth),
        cmocka_unit_test(test_slot_exhaustion),
        cmocka_unit_test(test_two_threads),
        cmocka_unit_test(test_openssl_interop),
        cmocka_unit_test(test_restart),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
