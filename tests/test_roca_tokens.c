/* test_roca_tokens.c: an RSA key with the ROCA fingerprint (CVE-2017-15361) inside a token is
 * refused by hwj_key_open, whatever the backend: a SoftHSM token (HWJ_P11_TOKEN, the
 * pkcs11_token fixture) and a swtpm (HWJ_TPM_DIR, the swtpm fixture), each holding the key
 * of tests/data/roca imported from outside. allow_roca opens it (forensic use); the key
 * listings and `hwjose keys` report it. Built once per backend (-DROCA_PKCS11 / -DROCA_TPM2). */
#include "testutil.h"

#include <openssl/pem.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef ROCA_PKCS11
#include "test_jwe_p11import.h"
#endif

#define ROCA_DIR HWJ_TEST_DATA_DIR "/roca/"

static char bad_uri[2048], good_uri[2048], list_uri[2048];
/* what names each key in a listing's URIs */
static char bad_id[128], good_id[128];

static int run(const char *fmt, ...) HWJ_PRINTF(1, 2);
static int run(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd);
}

/* The private key of a JWK file under tests/data/roca (read with allow_roca: it is the point). */
static EVP_PKEY *roca_file_key(const char *name)
{
    hwj_jwk_parse_opts forensic = {.size = sizeof(hwj_jwk_parse_opts), .allow_roca = 1};
    hwj_error err = {0};
    hwj_jwk *jwk = NULL;
    char path[1024];
    snprintf(path, sizeof(path), ROCA_DIR "%s", name);
    tu_ok(hwj_jwk_read_file_ex(path, &forensic, &jwk, &err), &err);
    EVP_PKEY *pk = EVP_PKEY_dup(hwj_jwk_get0_pkey(jwk));
    assert_non_null(pk);
    hwj_jwk_free(jwk);
    return pk;
}

#ifdef ROCA_PKCS11
static int setup(void **state)
{
    (void)state;
    const char *token = getenv("HWJ_P11_TOKEN"), *pinfile = getenv("HWJ_P11_PIN_FILE");
    char pin[64], label[64];
    FILE *f;
    if (token == NULL || pinfile == NULL || (f = fopen(pinfile, "r")) == NULL) {
        fprintf(stderr, "run through ctest (pkcs11_token fixture)\n");
        return -1;
    }
    if (fgets(pin, sizeof(pin), f) == NULL)
        return -1;
    fclose(f);
    pin[strcspn(pin, "\r\n")] = '\0';
    unsetenv("HWJOSE_PIN");
    static const char *const files[] = {"roca-rsa2048.jwk", "control-rsa2048.jwk"};
    for (int i = 0; i < 2; i++) {
        EVP_PKEY *pk = roca_file_key(files[i]);
        snprintf(label, sizeof(label), "%s-%ld", i == 0 ? "roca" : "roca-control", (long)getpid());
        if (jt_p11_import(HWJ_SOFTHSM_MODULE, token, pin, pk, label, (unsigned char)(0x60 + i)))
            return -1;
        EVP_PKEY_free(pk);
        snprintf(i == 0 ? bad_uri : good_uri, sizeof(bad_uri),
                 "pkcs11:token=%s;object=%s?pin-source=file:%s", token, label, pinfile);
        snprintf(i == 0 ? bad_id : good_id, sizeof(bad_id), "object=%s;", label);
    }
    snprintf(list_uri, sizeof(list_uri), "pkcs11:token=%s?pin-source=file:%s", token, pinfile);
    return 0;
}
#else
static char work[900];

/* tpm2_import under a primary made for it, then made persistent: a key from outside the TPM,
 * as a flawed chip's own generator would have left it. No resource manager: flush as we go. */
static int setup(void **state)
{
    (void)state;
    const char *d = getenv("HWJ_TPM_DIR");
    char tcti[256], path[1200];
    if (d == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/tcti", d);
    FILE *f = fopen(path, "r");
    if (f == NULL || fgets(tcti, sizeof(tcti), f) == NULL)
        return -1;
    fclose(f);
    tcti[strcspn(tcti, "\r\n")] = '\0';
    setenv("HWJOSE_TCTI", tcti, 1);
    setenv("TPM2TOOLS_TCTI", tcti, 1);
    snprintf(work, sizeof(work), "%s/roca-%ld", tu_state_dir(), (long)getpid());
    static const char *const files[] = {"roca-rsa2048.jwk", "control-rsa2048.jwk"};
    static const char *const handles[] = {"0x81000061", "0x81000062"};
    if (run("rm -rf '%s' && mkdir -p '%s'", work, work) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        EVP_PKEY *pk = roca_file_key(files[i]);
        snprintf(path, sizeof(path), "%s/k%d.pem", work, i);
        f = fopen(path, "w");
        if (f == NULL || PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) != 1)
            return -1;
        fclose(f);
        EVP_PKEY_free(pk);
        /* each tool leaves what it loaded in a slot (no resource manager): flush after each */
        if (run("cd '%s' && F='tpm2_flushcontext -t' && "
                "{ tpm2_evictcontrol -Q -C o -c %s >/dev/null 2>&1; true; } && $F && "
                "tpm2_createprimary -Q -C o -c p.ctx && $F && "
                "tpm2_import -Q -C p.ctx -G rsa -i k%d.pem -u k.pub -r k.priv && $F && "
                "tpm2_load -Q -C p.ctx -u k.pub -r k.priv -c k.ctx && "
                "tpm2_evictcontrol -Q -C o -c k.ctx %s && $F",
                work, handles[i], i, handles[i]) != 0)
            return -1;
    }
    snprintf(bad_uri, sizeof(bad_uri), "tpm2:handle=%s", handles[0]);
    snprintf(good_uri, sizeof(good_uri), "tpm2:handle=%s", handles[1]);
    snprintf(bad_id, sizeof(bad_id), "handle=%s", handles[0]);
    snprintf(good_id, sizeof(good_id), "handle=%s", handles[1]);
    snprintf(list_uri, sizeof(list_uri), "tpm2:");
    return 0;
}
#endif

static int teardown(void **state)
{
    (void)state;
#ifndef ROCA_PKCS11
    run("tpm2_evictcontrol -Q -C o -c 0x81000061 >/dev/null 2>&1; "
        "tpm2_evictcontrol -Q -C o -c 0x81000062 >/dev/null 2>&1; rm -rf '%s'",
        work);
#endif
    return 0;
}

static void test_open(void **state)
{
    (void)state;
    hwj_ctx *ctx = NULL;
    hwj_key *key = NULL;
    hwj_error err = {0};
    hwj_key_open_opts forensic = {.size = sizeof(hwj_key_open_opts), .allow_roca = 1};

    tu_ok(hwj_ctx_new(&ctx, &err), &err);
    assert_int_equal(hwj_key_open(ctx, bad_uri, NULL, &key, &err), HWJ_ERR_POLICY);
    assert_null(key);
    assert_non_null(strstr(err.message, "CVE-2017-15361"));
    tu_ok(hwj_key_open(ctx, bad_uri, &forensic, &key, &err), &err);
    hwj_key_free(key);
    key = NULL;
    tu_ok(hwj_key_open(ctx, good_uri, NULL, &key, &err), &err);
    hwj_key_free(key);
    hwj_ctx_free(ctx);
}

/* The listing shows the key (listing is how such keys are found) and flags it. */
static void test_list(void **state)
{
    (void)state;
    hwj_ctx *ctx = NULL;
    hwj_error err = {0};
    char *text = NULL;
    int seen_bad = 0, seen_good = 0;

    tu_ok(hwj_ctx_new(&ctx, &err), &err);
    tu_ok(hwj_keys_list(ctx, list_uri, NULL, &text, &err), &err);
    json_t *list = json_loads(text, 0, NULL), *o;
    size_t i;
    assert_non_null(list);
    json_array_foreach(list, i, o)
    {
        const char *u = json_string_value(json_object_get(o, "uri"));
        char with_sep[300];
        snprintf(with_sep, sizeof(with_sep), "%s;", u ? u : "");
        if (strstr(with_sep, bad_id) != NULL) {
            assert_true(json_is_true(json_object_get(o, "roca")));
            seen_bad = 1;
        } else if (strstr(with_sep, good_id) != NULL) {
            assert_true(json_is_false(json_object_get(o, "roca")));
            seen_good = 1;
        }
    }
    json_decref(list);
    hwj_free(text);
    hwj_ctx_free(ctx);
    assert_true(seen_bad && seen_good);
    /* `hwjose keys` says so in words */
    assert_int_equal(run("'%s/hwjose' keys --token '%s' | grep -q 'ROCA-vulnerable RSA key "
                         "(CVE-2017-15361)'",
                         HWJ_BINARY_DIR, list_uri),
                     0);
}

#ifdef ROCA_PKCS11
/* A token whose RSA generator is the flawed one (tests/pkcs11/shim_roca.c over SoftHSM): the
 * generated key is refused, with no opt-out, and left in the token, named; EC keygen works. */
static void test_keygen(void **state)
{
    (void)state;
    const char *shim = getenv("HWJ_P11_ROCA_SHIM"), *token = getenv("HWJ_P11_TOKEN"),
               *pinfile = getenv("HWJ_P11_PIN_FILE");
    char pem[1100], uri[4096], plain[4096];
    hwj_ctx *ctx = NULL;
    hwj_key *key = NULL;
    hwj_error err = {0};
    assert_non_null(shim);

    snprintf(pem, sizeof(pem), "%s/roca-%ld.pem", tu_state_dir(), (long)getpid());
    EVP_PKEY *pk = roca_file_key("roca-rsa2048.jwk");
    FILE *f = fopen(pem, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    EVP_PKEY_free(pk);
    setenv("HWJ_ROCA_PEM", pem, 1);

    tu_ok(hwj_ctx_new(&ctx, &err), &err);
    snprintf(uri, sizeof(uri),
             "pkcs11:token=%s;object=roca-gen-%ld?module-path=%s&pin-source=file:%s", token,
             (long)getpid(), shim, pinfile);
    hwj_keygen_opts o = {.size = sizeof(hwj_keygen_opts), .alg = HWJ_ALG_RS256, .bits = 2048};
    assert_int_equal(hwj_key_generate(ctx, uri, &o, &key, &err), HWJ_ERR_POLICY);
    assert_null(key);
    assert_non_null(strstr(err.message, "CVE-2017-15361"));
    assert_non_null(strstr(err.message, "the generated key"));
    assert_non_null(strstr(err.message, "roca-gen-"));
    assert_non_null(strstr(err.message, "left in the token"));
    /* it is there, through SoftHSM itself, and it is the ROCA key */
    snprintf(plain, sizeof(plain), "pkcs11:token=%s;object=roca-gen-%ld?pin-source=file:%s", token,
             (long)getpid(), pinfile);
    assert_int_equal(hwj_key_open(ctx, plain, NULL, &key, &err), HWJ_ERR_POLICY);
    hwj_key_open_opts forensic = {.size = sizeof(hwj_key_open_opts), .allow_roca = 1};
    tu_ok(hwj_key_open(ctx, plain, &forensic, &key, &err), &err);
    hwj_key_free(key);
    key = NULL;
    /* the same token's EC keys are fine */
    snprintf(uri, sizeof(uri),
             "pkcs11:token=%s;object=roca-gen-ec-%ld?module-path=%s&pin-source=file:%s", token,
             (long)getpid(), shim, pinfile);
    hwj_keygen_opts ec = {.size = sizeof(hwj_keygen_opts), .alg = HWJ_ALG_ES256};
    tu_ok(hwj_key_generate(ctx, uri, &ec, &key, &err), &err);
    hwj_key_free(key);
    hwj_ctx_free(ctx);
    unlink(pem);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open),
        cmocka_unit_test(test_list),
#ifdef ROCA_PKCS11
        cmocka_unit_test(test_keygen),
#endif
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
