/* test_jwe_common.c: see test_jwe_common.h. */
#include "test_jwe_common.h"

#include "core/b64url.h"
#include "core/jwk.h"

#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HWJ_WITH_PKCS11
#include "test_jwe_p11import.h"
#endif

static hwj_ctx *ctx;
static const hwj_alg all[] = {HWJ_ALG_RSA1_5,
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
static const hwj_alg encs[] = {HWJ_ENC_A128CBC_HS256, HWJ_ENC_A192CBC_HS384, HWJ_ENC_A256CBC_HS512,
                               HWJ_ENC_A128GCM,       HWJ_ENC_A192GCM,       HWJ_ENC_A256GCM};

hwj_ctx *jt_ctx(void)
{
    hwj_error err;
    if (ctx == NULL)
        tu_ok(hwj_ctx_new(&ctx, &err), &err);
    return ctx;
}

hwj_jwk *jt_oct(const char *k, hwj_alg alg)
{
    /* Built directly, so the JWE tests of symmetric algs do not hinge on the JWK parser. */
    hwj_jwk *jwk = calloc(1, sizeof(*jwk));
    hwj_error err;
    assert_non_null(jwk);
    jwk->kty = HWJ_KTY_OCT;
    jwk->alg = alg;
    jwk->is_private = 1;
    tu_ok(hwj_b64url_decode(k, strlen(k), &jwk->secret, &jwk->secret_len, "k", &err), &err);
    return jwk;
}

int jt_backend_pkcs11(void)
{
    const char *b = getenv("HWJ_JWE_BACKEND");
    return b != NULL && strcmp(b, "pkcs11") == 0;
}

#ifdef HWJ_WITH_PKCS11
/* Import `pk` into the fixture's SoftHSM token (sensitive, never extractable) and open it
 * there, so every decrypt and ECDH derive of the test happens inside the token. */
static hwj_key *p11_import_open(EVP_PKEY *pk, const char *name)
{
    static unsigned char id = 0x40;
    const char *token = getenv("HWJ_P11_TOKEN"), *pinfile = getenv("HWJ_P11_PIN_FILE");
    char pin[256] = "", label[128], uri[4400];
    hwj_key *key = NULL;
    hwj_error err;
    if (token == NULL || pinfile == NULL)
        fail_msg("HWJ_JWE_BACKEND=pkcs11 runs under ctest's pkcs11_token fixture "
                 "(HWJ_P11_TOKEN, HWJ_P11_PIN_FILE, SOFTHSM2_CONF)");
    FILE *f = fopen(pinfile, "r");
    assert_non_null(f);
    assert_non_null(fgets(pin, sizeof(pin), f));
    fclose(f);
    pin[strcspn(pin, "\r\n")] = '\0';
    snprintf(label, sizeof(label), "jwe-%s-%ld-%u", name, (long)getpid(), (unsigned)id);
    assert_int_equal(jt_p11_import(HWJ_SOFTHSM_MODULE, token, pin, pk, label, id++), 0);
    snprintf(uri, sizeof(uri), "pkcs11:token=%s;object=%s?pin-source=file:%s", token, label,
             pinfile);
    tu_ok(hwj_key_open(jt_ctx(), uri, NULL, &key, &err), &err);
    assert_int_equal(hwj_key_get0_custody(key)->extractable, 0);
    assert_int_equal(hwj_key_get0_custody(key)->sensitive, 1);
    return key;
}
#endif

hwj_key *jt_key_from_pkey(EVP_PKEY *pk, const char *name)
{
    char path[4096], uri[4200];
    hwj_key *key = NULL;
    hwj_error err;
#ifdef HWJ_WITH_PKCS11
    if (jt_backend_pkcs11())
        return p11_import_open(pk, name);
#endif
    snprintf(path, sizeof(path), "%s/%s.pem", tu_state_dir(), name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    snprintf(uri, sizeof(uri), "file:%s", path);
    tu_ok(hwj_key_open(jt_ctx(), uri, NULL, &key, &err), &err);
    return key;
}

hwj_key *jt_key_from_jwk(const json_t *jwk, const char *name)
{
    char *text = jt_dump(jwk), uri[4200];
    hwj_key *key = NULL;
    hwj_error err;
    if (jt_backend_pkcs11()) {
        hwj_jwk *priv = NULL;
        tu_ok(hwj_jwk_parse(text, strlen(text), &priv, &err), &err);
        key = jt_key_from_pkey(hwj_jwk_get0_pkey(priv), name);
        hwj_jwk_free(priv);
        free(text);
        return key;
    }
    char *path = tu_write_temp(name, text);
    snprintf(uri, sizeof(uri), "jwk:%s", path);
    tu_ok(hwj_key_open(jt_ctx(), uri, NULL, &key, &err), &err);
    free(path);
    free(text);
    return key;
}

hwj_jwe_decrypt_opts jt_opts_all(void)
{
    hwj_jwe_decrypt_opts o = HWJ_JWE_DECRYPT_OPTS_INIT;
    o.algs = all;
    o.nalgs = sizeof(all) / sizeof(all[0]);
    o.encs = encs;
    o.nencs = sizeof(encs) / sizeof(encs[0]);
    o.allow_json = 1; /* the conformance examples come in every serialization */
    return o;
}

hwj_err jt_decrypt(const char *jwe, const hwj_jwe_decrypt_opts *o, hwj_jwe_result **res)
{
    hwj_error err;
    hwj_jwe_result *r = NULL;
    hwj_err rc = hwj_jwe_decrypt(jwe, strlen(jwe), o, &r, &err);
    if (res != NULL)
        *res = r;
    else
        hwj_jwe_result_free(r);
    if (rc != HWJ_OK)
        assert_null(r);
    return rc;
}

char *jt_dump(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_non_null(s);
    return s;
}
