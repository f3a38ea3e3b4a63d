/*
 * test_pkcs11_fault_mixed.c: JOSE end to end on the PKCS#11 backend under random mixed faults
 * (issue 8 item 3). Two threads share one ES256 and one RSA-OAEP key opened through
 * tests/pkcs11/shim_fault.c while about 30 % of the token calls fail with every fault kind
 * at once (lost sessions and logins, device errors, the token pulled). Each thread alternates
 * a compact JWS (verified against the key's public JWK) and a compact RSA-OAEP JWE of random
 * bytes (decrypted by the token key). Invariants: every JWS returned verifies with the right
 * payload, every decryption that succeeds gives back exactly the bytes encrypted, every failure
 * is a token/auth error (or the JWE's opaque "decryption failed"); once the control file is
 * cleared, every operation succeeds again. Env as in test_pkcs11_fault.c (tests/fault.cmake).
 */
#include "testutil.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS 2
#define OPS 150 /* per thread, half JWS and half JWE */

static const char *token, *pinfile, *shim, *control;
static hwj_ctx *ctx;
static hwj_key *es, *rsa;
static hwj_jwks *sigset; /* the ES256 key's public JWK */
static hwj_jwk *encjwk;  /* the RSA key's public JWK (the JWE recipient) */

/* Counted by the threads, checked by the main thread (cmocka asserts are not thread-safe). */
static atomic_int sign_ok, sign_fail, dec_ok, dec_fail, wrong;
static char first_wrong[800];
static pthread_mutex_t wrong_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *uri(const char *object)
{
    static char buf[1024];
    snprintf(buf, sizeof(buf), "pkcs11:token=%s;object=%s-%ld?module-path=%s&pin-source=file:%s",
             token, object, (long)getpid(), shim, pinfile);
    return buf;
}

static void faults(const char *rules)
{
    char tmp[1024];
    snprintf(tmp, sizeof(tmp), "%s.tmp", control);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(rules, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, control), 0);
}

static void bad(const char *what, hwj_err rc, const hwj_error *err)
{
    atomic_fetch_add(&wrong, 1);
    pthread_mutex_lock(&wrong_lock);
    if (!first_wrong[0])
        snprintf(first_wrong, sizeof(first_wrong), "%s (rc %d: %s)", what, rc, err->message);
    pthread_mutex_unlock(&wrong_lock);
}

/* A failure a caller may see while the token misbehaves. */
static int token_failure(hwj_err rc)
{
    return rc == HWJ_ERR_TOKEN || rc == HWJ_ERR_AUTH;
}

static void one_jws(unsigned n)
{
    char payload[64], *jws = NULL;
    hwj_error err = {0};
    hwj_jws_result *res = NULL;
    static const hwj_alg algs[] = {HWJ_ALG_ES256};
    hwj_verify_policy pol = {.size = sizeof(hwj_verify_policy), .algs = algs, .nalgs = 1};
    hwj_jws_sign_opts so = {.size = sizeof(hwj_jws_sign_opts), .alg = HWJ_ALG_ES256};
    int len = snprintf(payload, sizeof(payload), "{\"n\":%u,\"t\":%lu}", n,
                       (unsigned long)pthread_self());
    hwj_err rc = hwj_jws_sign(es, (const uint8_t *)payload, (size_t)len, &so, &jws, &err);
    if (rc != HWJ_OK) {
        atomic_fetch_add(&sign_fail, 1);
        if (!token_failure(rc))
            bad("JWS sign failed with a non-token error", rc, &err);
        return;
    }
    rc = hwj_jws_verify(jws, strlen(jws), sigset, &pol, NULL, 0, &res, &err);
    if (rc != HWJ_OK || res->payload_len != (size_t)len || memcmp(res->payload, payload, len))
        bad("a JWS made under faults does not verify", rc, &err);
    else
        atomic_fetch_add(&sign_ok, 1);
    hwj_jws_result_free(res);
    hwj_free(jws);
}

static void one_jwe(void)
{
    uint8_t pt[48];
    char *jwe = NULL;
    hwj_error err = {0};
    hwj_jwe_result *res = NULL;
    static const hwj_alg algs[] = {HWJ_ALG_RSA_OAEP}, encs[] = {HWJ_ENC_A256GCM};
    hwj_jwe_recipient r = {
        .size = sizeof(hwj_jwe_recipient), .alg = HWJ_ALG_RSA_OAEP, .jwk = encjwk};
    hwj_jwe_encrypt_opts eo = {.size = sizeof(hwj_jwe_encrypt_opts), .enc = HWJ_ENC_A256GCM};
    hwj_jwe_decrypt_opts dopts = {.size = sizeof(hwj_jwe_decrypt_opts),
                                  .algs = algs,
                                  .nalgs = 1,
                                  .encs = encs,
                                  .nencs = 1,
                                  .key = rsa};
    if (RAND_bytes(pt, sizeof(pt)) != 1 ||
        hwj_jwe_encrypt(&r, 1, pt, sizeof(pt), &eo, &jwe, &err) != HWJ_OK) {
        bad("JWE encrypt (software, public key) failed", HWJ_ERR_CRYPTO, &err);
        return;
    }
    hwj_err rc = hwj_jwe_decrypt(jwe, strlen(jwe), &dopts, &res, &err);
    if (rc == HWJ_OK) {
        if (res->plaintext_len != sizeof(pt) || CRYPTO_memcmp(res->plaintext, pt, sizeof(pt)))
            bad("a JWE decrypted under faults gave the wrong plaintext", rc, &err);
        else
            atomic_fetch_add(&dec_ok, 1);
    } else {
        atomic_fetch_add(&dec_fail, 1);
        if (!token_failure(rc) && rc != HWJ_ERR_DECRYPT)
            bad("JWE decrypt failed with an unexpected error", rc, &err);
    }
    hwj_jwe_result_free(res);
    hwj_free(jwe);
}

static void *worker(void *arg)
{
    unsigned base = (unsigned)(uintptr_t)arg * OPS;
    for (unsigned i = 0; i < OPS; i++) {
        if (i % 2)
            one_jwe();
        else
            one_jws(base + i);
    }
    return NULL;
}

static void run_threads(void)
{
    pthread_t th[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, worker, (void *)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
}

static void reset_counts(void)
{
    atomic_store(&sign_ok, 0);
    atomic_store(&sign_fail, 0);
    atomic_store(&dec_ok, 0);
    atomic_store(&dec_fail, 0);
}

static int setup(void **state)
{
    (void)state;
    hwj_error err;
    hwj_jwk *sigjwk = NULL;
    token = getenv("HWJ_P11_TOKEN");
    pinfile = getenv("HWJ_P11_PIN_FILE");
    shim = getenv("HWJ_FAULT_SHIM");
    control = getenv("HWJ_FAULT_CONTROL");
    if (!token || !pinfile || !shim || !control || !getenv("SOFTHSM2_CONF")) {
        fprintf(stderr, "run through ctest: the fixture sets SOFTHSM2_CONF, HWJ_P11_TOKEN, "
                        "HWJ_P11_PIN_FILE, HWJ_FAULT_SHIM and HWJ_FAULT_CONTROL\n");
        return -1;
    }
    unlink(control);
    unsetenv("HWJOSE_PIN");
    hwj_keygen_opts eo = {.size = sizeof(hwj_keygen_opts), .alg = HWJ_ALG_ES256},
                    ro = {.size = sizeof(hwj_keygen_opts), .alg = HWJ_ALG_RSA_OAEP, .bits = 2048};
    if (hwj_ctx_new(&ctx, &err) != HWJ_OK ||
        hwj_key_generate(ctx, uri("mixed-es"), &eo, &es, &err) != HWJ_OK ||
        hwj_key_generate(ctx, uri("mixed-rsa"), &ro, &rsa, &err) != HWJ_OK ||
        hwj_jwk_from_key(es, &sigjwk, &err) != HWJ_OK || hwj_jwks_new(&sigset, &err) != HWJ_OK ||
        hwj_jwks_add(sigset, sigjwk, &err) != HWJ_OK ||
        hwj_jwk_from_key(rsa, &encjwk, &err) != HWJ_OK) {
        fprintf(stderr, "setup: %s\n", err.message);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(control);
    hwj_jwk_free(encjwk);
    hwj_jwks_free(sigset);
    hwj_key_free(es);
    hwj_key_free(rsa);
    hwj_ctx_free(ctx);
    return 0;
}

/* ~30 % of the signing/decryption calls fail, with every kind; a removal can hit any call. */
static const char mixed[] = "# test_pkcs11_fault_mixed\n"
                            "* CKR_DEVICE_REMOVED 0.01\n"
                            "* CKR_TOKEN_NOT_PRESENT 0.01\n"
                            "C_Sign CKR_SESSION_HANDLE_INVALID 0.08\n"
                            "C_Sign CKR_DEVICE_ERROR 0.06\n"
                            "C_Sign CKR_USER_NOT_LOGGED_IN 0.04\n"
                            "C_SignInit CKR_SESSION_CLOSED 0.05\n"
                            "C_SignInit CKR_GENERAL_ERROR 0.05\n"
                            "C_Decrypt CKR_SESSION_HANDLE_INVALID 0.08\n"
                            "C_Decrypt CKR_DEVICE_ERROR 0.06\n"
                            "C_Decrypt CKR_USER_NOT_LOGGED_IN 0.04\n"
                            "C_DecryptInit CKR_SESSION_CLOSED 0.05\n"
                            "C_DecryptInit CKR_GENERAL_ERROR 0.05\n";

static void t_mixed(void **state)
{
    (void)state;
    reset_counts();
    faults(mixed);
    run_threads();
    fprintf(stderr, "# under faults: JWS %d ok / %d failed, JWE %d ok / %d failed\n",
            atomic_load(&sign_ok), atomic_load(&sign_fail), atomic_load(&dec_ok),
            atomic_load(&dec_fail));
    if (atomic_load(&wrong))
        fail_msg("%d wrong results; first: %s", atomic_load(&wrong), first_wrong);
    /* Sanity: faults were injected and recovery happened (expected ≈ 75 % succeed). */
    assert_true(atomic_load(&sign_fail) + atomic_load(&dec_fail) > 0);
    assert_true(atomic_load(&sign_ok) >= THREADS * OPS / 2 / 3);
    assert_true(atomic_load(&dec_ok) >= THREADS * OPS / 2 / 3);

    /* The file cleared: the pool is healthy, every operation succeeds. */
    reset_counts();
    faults("");
    run_threads();
    if (atomic_load(&wrong))
        fail_msg("%d wrong results after the faults; first: %s", atomic_load(&wrong), first_wrong);
    assert_int_equal(atomic_load(&sign_fail), 0);
    assert_int_equal(atomic_load(&dec_fail), 0);
    assert_int_equal(atomic_load(&sign_ok) + atomic_load(&dec_ok), THREADS * OPS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(t_mixed)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
