/*
 * test_pkcs11_fault.c: the PKCS#11 backend under injected faults. Keys live in the fixture's
 * SoftHSM token ($HWJ_P11_TOKEN) and are opened through tests/pkcs11/shim_fault.c
 * (module-path=$HWJ_FAULT_SHIM), whose control file ($HWJ_FAULT_CONTROL) each test rewrites.
 * For every fault kind: the provider recovers or fails with HWJ_ERR_TOKEN, every signature it
 * returns verifies with OpenSSL, every plaintext is the one encrypted, and once the fault is
 * cleared the key works again.
 */
#include "testutil.h"

#include "core/ecdsa.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <p11-kit/pkcs11.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *token, *pinfile, *shim, *control;
static hwj_ctx *ctx;
static hwj_key *es, *rsa;

static const char *uri(const char *object)
{
    static char buf[1024];
    snprintf(buf, sizeof(buf), "pkcs11:token=%s;object=%s-%ld?module-path=%s&pin-source=file:%s",
             token, object, (long)getpid(), shim, pinfile);
    return buf;
}

/* Replace the control file atomically (the shim re-reads it on its next call). */
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

static int setup(void **state)
{
    (void)state;
    hwj_error err;
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
    if (hwj_ctx_new(&ctx, &err) != HWJ_OK)
        return -1;
    hwj_keygen_opts eo = {.size = sizeof(hwj_keygen_opts), .alg = HWJ_ALG_ES256},
                    ro = {.size = sizeof(hwj_keygen_opts), .alg = HWJ_ALG_RSA_OAEP, .bits = 2048};
    if (hwj_key_generate(ctx, uri("fault-es"), &eo, &es, &err) != HWJ_OK ||
        hwj_key_generate(ctx, uri("fault-rsa"), &ro, &rsa, &err) != HWJ_OK) {
        fprintf(stderr, "keygen: %s\n", err.message);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(control);
    hwj_key_free(es);
    hwj_key_free(rsa);
    hwj_ctx_free(ctx);
    return 0;
}

static const char msg[] = "eyJhbGciOiJFUzI1NiJ9.ZmF1bHQgaW5qZWN0aW9u";

static int es_verifies(const uint8_t *sig, size_t siglen)
{
    uint8_t *der = NULL;
    size_t derlen = 0;
    hwj_error err;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    int ok =
        hwj_ecdsa_raw_to_der(sig, siglen, 32, &der, &derlen, &err) == HWJ_OK &&
        EVP_DigestVerifyInit_ex(m, NULL, "SHA256", NULL, NULL, hwj_key_get0_pkey(es), NULL) == 1 &&
        EVP_DigestVerify(m, der, derlen, (const uint8_t *)msg, strlen(msg)) == 1;
    EVP_MD_CTX_free(m);
    hwj_free(der);
    return ok;
}

/* One ES256 signature: HWJ_OK with a signature that verifies, the error code, or -1 for a
 * signature that does not verify (callable from worker threads: it asserts nothing). */
static int sign_try(hwj_error *err)
{
    uint8_t sig[HWJ_SIG_MAX];
    size_t siglen = sizeof(sig);
    hwj_err rc =
        hwj_key_sign(es, HWJ_ALG_ES256, (const uint8_t *)msg, strlen(msg), sig, &siglen, err);
    if (rc == HWJ_OK && (siglen != 64 || !es_verifies(sig, siglen)))
        return -1;
    return (int)rc;
}

static hwj_err sign_once(hwj_error *err)
{
    int rc = sign_try(err);
    if (rc < 0)
        fail_msg("a signature returned under faults does not verify");
    return (hwj_err)rc;
}

/* One RSA-OAEP decryption of a fresh random CEK: HWJ_OK only with the right plaintext. */
static hwj_err decrypt_once(hwj_error *err)
{
    uint8_t cek[32], ct[512], out[512];
    size_t ctlen = sizeof(ct), outlen = sizeof(out);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, hwj_key_get0_pkey(rsa), NULL);
    assert_int_equal(RAND_bytes(cek, sizeof(cek)), 1);
    assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING), 1);
    assert_int_equal(EVP_PKEY_encrypt(c, ct, &ctlen, cek, sizeof(cek)), 1);
    EVP_PKEY_CTX_free(c);
    hwj_err rc = hwj_key_decrypt(rsa, HWJ_ALG_RSA_OAEP, ct, ctlen, out, &outlen, err);
    if (rc == HWJ_OK && (outlen != sizeof(cek) || memcmp(out, cek, sizeof(cek)) != 0))
        fail_msg("a plaintext returned under faults is wrong");
    return rc;
}

/* After the fault is cleared, both keys work every time (the pool is healthy). */
static void healthy(void)
{
    hwj_error err;
    faults("");
    for (int i = 0; i < 10; i++) {
        tu_ok(sign_once(&err), &err);
        tu_ok(decrypt_once(&err), &err);
    }
}

/* `n` signatures under `rules`: how many succeeded; every failure is HWJ_ERR_TOKEN (or
 * HWJ_ERR_AUTH when the login is what failed twice). */
static int sign_under(const char *rules, int n)
{
    int ok = 0;
    faults(rules);
    for (int i = 0; i < n; i++) {
        hwj_error err = {0};
        hwj_err rc = sign_once(&err);
        if (rc != HWJ_OK && getenv("HWJ_FAULT_VERBOSE") != NULL)
            fprintf(stderr, "%s\n", err.message);
        if (rc == HWJ_OK)
            ok++;
        else if (rc != HWJ_ERR_TOKEN &&
                 !(rc == HWJ_ERR_AUTH && err.native == CKR_USER_NOT_LOGGED_IN))
            fail_msg("unexpected error %d under '%s': %s", rc, rules, err.message);
    }
    return ok;
}

/* A lost session or login is replaced and the operation retried once: with half the calls
 * failing, about three in four operations succeed (one in two without the retry). */
static void t_session_lost(void **state)
{
    (void)state;
    static const char *const kinds[] = {"C_Sign CKR_SESSION_HANDLE_INVALID 0.5\n",
                                        "C_SignInit CKR_SESSION_CLOSED 0.5\n",
                                        "C_Sign CKR_USER_NOT_LOGGED_IN 0.5\n"};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        int ok = sign_under(kinds[k], 60);
        if (ok < 34)
            fail_msg("only %d/60 signatures under '%s' (expected ~45 with one retry)", ok,
                     kinds[k]);
        healthy();
    }
    /* Every time: both attempts fail, the error is clear. */
    hwj_error err = {0};
    faults("C_Sign CKR_SESSION_HANDLE_INVALID 1\n");
    assert_int_equal(sign_once(&err), HWJ_ERR_TOKEN);
    assert_int_equal(err.native, CKR_SESSION_HANDLE_INVALID);
    healthy();
}

/* A device error is not retried: about half succeed, every failure says what happened. */
static void t_device_error(void **state)
{
    (void)state;
    static const char *const kinds[] = {"C_Sign CKR_DEVICE_ERROR 0.5\n",
                                        "C_SignInit CKR_GENERAL_ERROR 0.5\n"};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        int ok = sign_under(kinds[k], 60);
        if (ok < 15 || ok > 45)
            fail_msg("%d/60 signatures under '%s' (expected ~30, no retry)", ok, kinds[k]);
        healthy();
    }
    hwj_error err = {0};
    faults("C_Sign CKR_DEVICE_ERROR 1\n");
    assert_int_equal(sign_once(&err), HWJ_ERR_TOKEN);
    assert_int_equal(err.native, CKR_DEVICE_ERROR);
    assert_non_null(strstr(err.message, token));
    healthy();
}

/* The token is pulled: fail at once, naming the token and what to do; find it again (slot,
 * login, object handles) once it is back. */
static void t_device_removed(void **state)
{
    (void)state;
    static const char *const kinds[] = {"* CKR_DEVICE_REMOVED 1\n",
                                        "C_Sign CKR_TOKEN_NOT_PRESENT 1\n"
                                        "C_Decrypt CKR_TOKEN_NOT_PRESENT 1\n"
                                        "C_OpenSession CKR_TOKEN_NOT_PRESENT 1\n"};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        faults(kinds[k]);
        for (int i = 0; i < 3; i++) {
            hwj_error err = {0};
            assert_int_equal(sign_once(&err), HWJ_ERR_TOKEN);
            assert_non_null(strstr(err.message, token));
            assert_non_null(strstr(err.message, "reconnect"));
            assert_int_equal(decrypt_once(&err), HWJ_ERR_TOKEN);
            assert_non_null(strstr(err.message, "not present"));
        }
        healthy();
    }
}

/* Decryption under lost sessions and device errors: never a wrong plaintext. */
static void t_decrypt(void **state)
{
    (void)state;
    int ok = 0;
    faults("C_Decrypt CKR_SESSION_HANDLE_INVALID 0.3\nC_DecryptInit CKR_DEVICE_ERROR 0.2\n");
    for (int i = 0; i < 40; i++) {
        hwj_error err = {0};
        hwj_err rc = decrypt_once(&err);
        if (rc == HWJ_OK)
            ok++;
        else if (rc != HWJ_ERR_TOKEN)
            fail_msg("unexpected error %d: %s", rc, err.message);
    }
    assert_true(ok >= 15);
    healthy();
}

/* A slow token is as slow as it is: no hang, no error, the signature verifies. */
static void t_slow(void **state)
{
    (void)state;
    struct timespec a, b;
    hwj_error err;
    faults("C_Sign delay=200 1\n");
    clock_gettime(CLOCK_MONOTONIC, &a);
    tu_ok(sign_once(&err), &err);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ms = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
    assert_true(ms >= 190 && ms < 2000);
    healthy();
}

/* cmocka's assertions are not thread-safe: workers count, the main thread asserts. */
typedef struct signer_tally {
    int ok, bad;
    char why[HWJ_ERROR_MESSAGE_MAX + 64];
} signer_tally;

static void *signer(void *arg)
{
    signer_tally *t = arg;
    for (int i = 0; i < 25; i++) {
        hwj_error err = {0};
        int rc = sign_try(&err);
        if (rc == HWJ_OK)
            t->ok++;
        else if (rc != HWJ_ERR_TOKEN && t->bad++ == 0)
            snprintf(t->why, sizeof(t->why), "%s %d: %s",
                     rc < 0 ? "a signature that does not verify" : "unexpected error", rc,
                     err.message);
    }
    return NULL;
}

/* Four threads share the pool while sessions are lost and calls fail. */
static void t_threads(void **state)
{
    (void)state;
    pthread_t th[4];
    signer_tally ok[4];
    memset(ok, 0, sizeof(ok));
    faults("C_Sign CKR_SESSION_HANDLE_INVALID 0.2\nC_SignInit CKR_DEVICE_ERROR 0.1\n"
           "C_Sign CKR_SESSION_CLOSED 0.1\nC_FindObjects CKR_DEVICE_ERROR 0.1\n");
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, signer, &ok[i]), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++)
        if (ok[i].bad)
            fail_msg("thread %d: %s", i, ok[i].why);
    assert_true(ok[0].ok + ok[1].ok + ok[2].ok + ok[3].ok >= 60); /* of 100; ~85 expected */
    healthy();
}

/* An RSA key generated for RSA-OAEP is never offered for RSA1_5, also when opened again by URI
 * (CKA_ALLOWED_MECHANISMS, enforced by the token). */
static void t_rsa_binding(void **state)
{
    (void)state;
    hwj_key *k = NULL;
    hwj_error err;
    faults("");
    assert_false(hwj_key_can(rsa, HWJ_ALG_RSA1_5));
    tu_ok(hwj_key_open(ctx, uri("fault-rsa"), NULL, &k, &err), &err);
    assert_true(hwj_key_can(k, HWJ_ALG_RSA_OAEP));
    assert_false(hwj_key_can(k, HWJ_ALG_RSA1_5));
    hwj_key_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_session_lost),   cmocka_unit_test(t_device_error),
        cmocka_unit_test(t_device_removed), cmocka_unit_test(t_decrypt),
        cmocka_unit_test(t_slow),           cmocka_unit_test(t_threads),
        cmocka_unit_test(t_rsa_binding),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
