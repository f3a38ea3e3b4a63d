/*
 * test_pkcs11_extractable.c: a token key marked CKA_EXTRACTABLE is refused for signing,
 * decryption and key agreement alike unless the caller opts in (allow_extractable), on the
 * pkcs11_token fixture's SoftHSM token ($SOFTHSM2_CONF, $HWJ_P11_TOKEN, $HWJ_P11_PIN_FILE).
 */
#include "testutil.h"

#include "test_jwe_p11import.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef HWJ_SOFTHSM_MODULE
#define HWJ_SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#endif

static const char *token, *pinfile;
static char pin[64];
static hwj_ctx *ctx;
static char rsa_uri[1024], ec_uri[1024];

static int setup(void **state)
{
    (void)state;
    hwj_error err;
    token = getenv("HWJ_P11_TOKEN");
    pinfile = getenv("HWJ_P11_PIN_FILE");
    if (token == NULL || pinfile == NULL || getenv("SOFTHSM2_CONF") == NULL) {
        fprintf(stderr, "run through ctest: the pkcs11_token fixture sets the environment\n");
        return -1;
    }
    FILE *f = fopen(pinfile, "r");
    if (f == NULL || fgets(pin, sizeof(pin), f) == NULL)
        return -1;
    fclose(f);
    pin[strcspn(pin, "\r\n")] = '\0';
    long id = (long)getpid();
    char label[64];
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    snprintf(label, sizeof(label), "xrsa-%ld", id);
    if (!rsa || !ec || jt_p11_import_ex(HWJ_SOFTHSM_MODULE, token, pin, rsa, label, 0x71, 1) != 0)
        return -1;
    snprintf(rsa_uri, sizeof(rsa_uri), "pkcs11:token=%s;object=%s?pin-source=file:%s", token, label,
             pinfile);
    snprintf(label, sizeof(label), "xec-%ld", id);
    if (jt_p11_import_ex(HWJ_SOFTHSM_MODULE, token, pin, ec, label, 0x72, 1) != 0)
        return -1;
    snprintf(ec_uri, sizeof(ec_uri), "pkcs11:token=%s;object=%s?pin-source=file:%s", token, label,
             pinfile);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    return hwj_ctx_new(&ctx, &err) == HWJ_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    hwj_ctx_free(ctx);
    return 0;
}

static hwj_key *open_key(const char *uri, int allow)
{
    hwj_key *k = NULL;
    hwj_error err;
    hwj_key_open_opts o = {.size = sizeof(hwj_key_open_opts), .allow_extractable = allow};
    tu_ok(hwj_key_open(ctx, uri, &o, &k, &err), &err);
    assert_int_equal(hwj_key_get0_custody(k)->extractable, 1);
    return k;
}

/* RSA-OAEP-256 of `msg` to k's public key. */
static size_t oaep256(hwj_key *k, const char *msg, uint8_t *ct, size_t cap)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, hwj_key_get0_pkey(k), NULL);
    size_t n = cap;
    assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md_name(c, "SHA256", NULL), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md_name(c, "SHA256", NULL), 1);
    assert_int_equal(EVP_PKEY_encrypt(c, ct, &n, (const uint8_t *)msg, strlen(msg)), 1);
    EVP_PKEY_CTX_free(c);
    return n;
}

static void t_rsa(void **state)
{
    (void)state;
    uint8_t ct[256], pt[256], sig[256];
    size_t ptlen = sizeof(pt), siglen = sizeof(sig);
    hwj_error err;
    hwj_key *k = open_key(rsa_uri, 0);
    size_t ctlen = oaep256(k, "sixteen byte cek", ct, sizeof(ct));
    assert_int_equal(hwj_key_decrypt(k, HWJ_ALG_RSA_OAEP_256, ct, ctlen, pt, &ptlen, &err),
                     HWJ_ERR_POLICY);
    assert_non_null(strstr(err.message, "decryption refused"));
    assert_non_null(strstr(err.message, "allow_extractable"));
    assert_int_equal(hwj_key_sign(k, HWJ_ALG_RS256, (const uint8_t *)"x", 1, sig, &siglen, &err),
                     HWJ_ERR_POLICY);
    assert_non_null(strstr(err.message, "signing refused"));
    hwj_key_free(k);

    k = open_key(rsa_uri, 1); /* opted in */
    ptlen = sizeof(pt);
    tu_ok(hwj_key_decrypt(k, HWJ_ALG_RSA_OAEP_256, ct, ctlen, pt, &ptlen, &err), &err);
    assert_int_equal(ptlen, 16);
    assert_memory_equal(pt, "sixteen byte cek", 16);
    tu_ok(hwj_key_sign(k, HWJ_ALG_RS256, (const uint8_t *)"x", 1, sig, &siglen, &err), &err);
    hwj_key_free(k);
}

static void t_ecdh(void **state)
{
    (void)state;
    uint8_t z[80];
    size_t zlen = sizeof(z);
    hwj_error err;
    EVP_PKEY *eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    hwj_key *k = open_key(ec_uri, 0);
    assert_int_equal(hwj_key_derive(k, eph, z, &zlen, &err), HWJ_ERR_POLICY);
    assert_non_null(strstr(err.message, "key agreement refused"));
    hwj_key_free(k);

    k = open_key(ec_uri, 1);
    zlen = sizeof(z);
    tu_ok(hwj_key_derive(k, eph, z, &zlen, &err), &err);
    assert_int_equal(zlen, 32);
    hwj_key_free(k);
    EVP_PKEY_free(eph);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(t_rsa), cmocka_unit_test(t_ecdh)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
