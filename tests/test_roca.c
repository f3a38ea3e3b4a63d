/* test_roca.c: RSA keys with the ROCA fingerprint (CVE-2017-15361) are refused wherever they
 * enter without a token — JWK and JWKS import, EVP_PKEY export, the jwk:/file: backend — and
 * accepted only with allow_roca. The vulnerable keys have the flawed generator's published
 * structure (tests/data/roca/gen_roca.py); the controls are ordinary keys. Also the cost of
 * one check. */
#include "testutil.h"

#include "core/roca.h"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROCA_DIR HWJ_TEST_DATA_DIR "/roca/"

static void assert_cve(hwj_err rc, const hwj_error *err)
{
    assert_int_equal(rc, HWJ_ERR_POLICY);
    assert_non_null(strstr(err->message, "CVE-2017-15361"));
}

/* bn.txt: the generated moduli (2048 and 4096 bits), the control, and a number that passes
 * the per-prime fingerprint but not the exact test, each with the expected answer. */
static void test_vectors(void **state)
{
    (void)state;
    FILE *f = fopen(ROCA_DIR "bn.txt", "r");
    char line[4096], hex[4000];
    int want, n = 0, ones = 0;
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        if (line[0] == '#')
            continue;
        assert_int_equal(sscanf(line, "%3999s %d", hex, &want), 2);
        BIGNUM *bn = NULL;
        assert_true(BN_hex2bn(&bn, hex) > 0);
        assert_int_equal(hwj_roca_bn(bn), want);
        BN_free(bn);
        n++;
        ones += want;
    }
    fclose(f);
    assert_int_equal(n, 4);
    assert_int_equal(ones, 2);
}

/* Honest moduli: the test keys of this repository, and random odd numbers (a random number
 * has the fingerprint with probability about 2^-28). */
static void test_controls(void **state)
{
    (void)state;
    static const char *const pems[] = {"soft-rsa2048.pem", "soft-rsa2048-enc.pem",
                                       "soft-rsa1024.pem"};
    for (size_t i = 0; i < sizeof(pems) / sizeof(pems[0]); i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", HWJ_TEST_DATA_DIR, pems[i]);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        EVP_PKEY *pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
        assert_non_null(pk);
        assert_int_equal(hwj_roca_pkey(pk), 0);
        EVP_PKEY_free(pk);
    }
    BIGNUM *bn = BN_new();
    for (int i = 0; i < 20000; i++) {
        assert_true(BN_rand(bn, 2048, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD) == 1);
        assert_int_equal(hwj_roca_bn(bn), 0);
    }
    BN_free(bn);
}

static void test_jwk_import(void **state)
{
    (void)state;
    static const char *const bad[] = {"roca-rsa2048.pub.jwk", "roca-rsa2048.jwk",
                                      "roca-rsa4096.pub.jwk", "roca-rsa4096.jwk"};
    hwj_jwk_parse_opts forensic = {.size = sizeof(hwj_jwk_parse_opts), .allow_roca = 1};
    hwj_error err = {0};
    hwj_jwk *jwk = NULL;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char path[1024];
        snprintf(path, sizeof(path), ROCA_DIR "%s", bad[i]);
        assert_cve(hwj_jwk_read_file(path, &jwk, &err), &err);
        assert_null(jwk);
        tu_ok(hwj_jwk_read_file_ex(path, &forensic, &jwk, &err), &err);
        assert_int_equal(hwj_jwk_is_roca(jwk), 1);
        /* its EVP_PKEY does not come back in as a JWK either */
        hwj_jwk *again = NULL;
        assert_cve(hwj_jwk_from_pkey(hwj_jwk_get0_pkey(jwk), &again, &err), &err);
        assert_null(again);
        hwj_jwk_free(jwk);
        jwk = NULL;
    }
    tu_ok(hwj_jwk_read_file(ROCA_DIR "control-rsa2048.pub.jwk", &jwk, &err), &err);
    assert_int_equal(hwj_jwk_is_roca(jwk), 0);
    hwj_jwk_free(jwk);
    tu_ok(hwj_jwk_read_file(ROCA_DIR "control-rsa2048.jwk", &jwk, &err), &err);
    hwj_jwk_free(jwk);
}

/* One bad key makes the whole set unusable, named by its position. */
static void test_jwks_import(void **state)
{
    (void)state;
    hwj_jwk_parse_opts forensic = {.size = sizeof(hwj_jwk_parse_opts), .allow_roca = 1};
    hwj_error err = {0};
    hwj_jwks *set = NULL;

    assert_cve(hwj_jwks_read_file(ROCA_DIR "roca.jwks", &set, &err), &err);
    assert_null(set);
    assert_non_null(strstr(err.message, "key #1"));
    tu_ok(hwj_jwks_read_file_ex(ROCA_DIR "roca.jwks", &forensic, &set, &err), &err);
    assert_int_equal(hwj_jwks_count(set), 2);
    assert_int_equal(hwj_jwk_is_roca(hwj_jwks_get0(set, 1)), 1);
    hwj_jwks_free(set);
}

/* The software backend (jwk:), through hwj_key_open like every backend. */
static void test_soft_open(void **state)
{
    (void)state;
    hwj_ctx *ctx = NULL;
    hwj_key *key = NULL;
    hwj_error err = {0};
    hwj_key_open_opts forensic = {.size = sizeof(hwj_key_open_opts), .allow_roca = 1};

    tu_ok(hwj_ctx_new(&ctx, &err), &err);
    assert_cve(hwj_key_open(ctx, "jwk:" ROCA_DIR "roca-rsa2048.jwk", NULL, &key, &err), &err);
    assert_null(key);
    assert_non_null(strstr(err.message, "roca-rsa2048.jwk"));
    tu_ok(hwj_key_open(ctx, "jwk:" ROCA_DIR "roca-rsa2048.jwk", &forensic, &key, &err), &err);
    hwj_key_free(key);
    key = NULL;
    tu_ok(hwj_key_open(ctx, "jwk:" ROCA_DIR "control-rsa2048.jwk", NULL, &key, &err), &err);
    hwj_key_free(key);
    hwj_ctx_free(ctx);
}

/* The cost of one check on a 2048-bit modulus (docs/security.md quotes it). It runs once per
 * key, at import or open, never per token. */
static void test_cost(void **state)
{
    (void)state;
    hwj_jwk_parse_opts forensic = {.size = sizeof(hwj_jwk_parse_opts), .allow_roca = 1};
    hwj_error err = {0};
    hwj_jwk *roca = NULL, *control = NULL;
    struct timespec t0, t1;
    enum { N = 20000 };

    tu_ok(hwj_jwk_read_file_ex(ROCA_DIR "roca-rsa2048.pub.jwk", &forensic, &roca, &err), &err);
    tu_ok(hwj_jwk_read_file(ROCA_DIR "control-rsa2048.pub.jwk", &control, &err), &err);
    const hwj_jwk *keys[] = {roca, control};
    const char *names[] = {"ROCA (full test)", "control (early exit)"};
    for (int k = 0; k < 2; k++) {
        int hits = 0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int i = 0; i < N; i++)
            hits += hwj_roca_pkey(hwj_jwk_get0_pkey(keys[k]));
        clock_gettime(CLOCK_MONOTONIC, &t1);
        assert_int_equal(hits, k == 0 ? N : 0);
        double us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / N / 1e3;
        printf("# ROCA check, RSA-2048, %s: %.2f us per key\n", names[k], us);
        assert_true(us < 1000.0); /* far below one RSA private-key operation */
    }
    hwj_jwk_free(roca);
    hwj_jwk_free(control);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),    cmocka_unit_test(test_controls),
        cmocka_unit_test(test_jwk_import), cmocka_unit_test(test_jwks_import),
        cmocka_unit_test(test_soft_open),  cmocka_unit_test(test_cost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
