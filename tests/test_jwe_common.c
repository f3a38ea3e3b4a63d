/* test_jwe_common.c: see test_jwe_common.h. */
#include "test_jwe_common.h"

#include "core/b64url.h"
#include "core/jwk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

hwj_key *jt_key_from_jwk(const json_t *jwk, const char *name)
{
    char *text = jt_dump(jwk), uri[4200];
    char *path = tu_write_temp(name, text);
    hwj_key *key = NULL;
    hwj_error err;
    snprintf(uri, sizeof(uri), "jwk:%s", path);
    tu_ok(hwj_key_open(jt_ctx(), uri, NULL, &key, &err), &err);
    free(path);
    free(text);
    return key;
}

hwj_jwe_decrypt_opts jt_opts_all(void)
{
    hwj_jwe_decrypt_opts o;
    memset(&o, 0, sizeof(o));
    o.algs = all;
    o.nalgs = sizeof(all) / sizeof(all[0]);
    o.encs = encs;
    o.nencs = sizeof(encs) / sizeof(encs[0]);
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
