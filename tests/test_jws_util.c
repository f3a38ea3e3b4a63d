/* test_jws_util.c: see test_jws_util.h. */
#include "test_jws_util.h"

#include "core/b64url.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

hwj_ctx *tj_ctx;

int tj_setup(void **state)
{
    hwj_error err;
    (void)state;
    return hwj_ctx_new(&tj_ctx, &err) == HWJ_OK ? 0 : -1;
}

int tj_teardown(void **state)
{
    (void)state;
    hwj_ctx_free(tj_ctx);
    tj_ctx = NULL;
    return 0;
}

char *tj_dump(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    assert_non_null(s);
    return s;
}

hwj_key *tj_key_jwk(const json_t *jwk, const char *name)
{
    char *text = tj_dump(jwk), *path = tu_write_temp(name, text), uri[4200];
    hwj_key *key = NULL;
    hwj_error err;

    snprintf(uri, sizeof(uri), "jwk:%s", path);
    tu_ok(hwj_key_open(tj_ctx, uri, NULL, &key, &err), &err);
    free(path);
    free(text);
    return key;
}

hwj_jwks *tj_set(const json_t *jwk, int public_only)
{
    static const char *const priv[] = {"d", "p", "q", "dp", "dq", "qi"};
    json_t *copy = json_deep_copy(jwk);
    hwj_jwks *set = NULL;
    hwj_jwk *k = NULL;
    hwj_error err;

    for (size_t i = 0; public_only && i < sizeof(priv) / sizeof(priv[0]); i++)
        json_object_del(copy, priv[i]);
    char *text = tj_dump(copy);
    tu_ok(hwj_jwk_parse(text, strlen(text), &k, &err), &err);
    tu_ok(hwj_jwks_new(&set, &err), &err);
    tu_ok(hwj_jwks_add(set, k, &err), &err);
    free(text);
    json_decref(copy);
    return set;
}

hwj_jwks *tj_set_of_key(const hwj_key *key)
{
    hwj_jwks *set = NULL;
    hwj_jwk *k = NULL;
    hwj_error err;
    tu_ok(hwj_jwk_from_key(key, &k, &err), &err);
    tu_ok(hwj_jwks_new(&set, &err), &err);
    tu_ok(hwj_jwks_add(set, k, &err), &err);
    return set;
}

hwj_err tj_verify(const char *jws, const hwj_jwks *set, hwj_alg alg, const char *detached,
                  hwj_jws_result **res, hwj_error *err)
{
    static const hwj_alg all[] = {HWJ_ALG_HS256, HWJ_ALG_HS384,  HWJ_ALG_HS512, HWJ_ALG_RS256,
                                  HWJ_ALG_RS384, HWJ_ALG_RS512,  HWJ_ALG_PS256, HWJ_ALG_PS384,
                                  HWJ_ALG_PS512, HWJ_ALG_ES256,  HWJ_ALG_ES384, HWJ_ALG_ES512,
                                  HWJ_ALG_EDDSA, HWJ_ALG_ED25519};
    hwj_verify_policy pol = {.size = sizeof(hwj_verify_policy),
                             .allow_json = 1,
                             .algs = alg ? &alg : all,
                             .nalgs = alg ? 1 : sizeof(all) / sizeof(all[0])};
    hwj_jws_result *r = NULL;
    hwj_err rc = hwj_jws_verify(jws, strlen(jws), set, &pol, (const uint8_t *)detached,
                                detached ? strlen(detached) : 0, &r, err);
    if (res != NULL)
        *res = r;
    else
        hwj_jws_result_free(r);
    return rc;
}

void tj_expect_(hwj_err rc, hwj_err want, const hwj_error *err, const char *file, int line)
{
    if (rc != want)
        fail_msg("%s:%d: expected %d (%s), got %d (%s): %s", file, line, (int)want,
                 hwj_err_str(want), (int)rc, hwj_err_str(rc), err ? err->message : "");
    if (want == HWJ_ERR_SIGNATURE && strcmp(err->message, "invalid signature") != 0)
        fail_msg("%s:%d: a bad signature must say just \"invalid signature\", not \"%s\"", file,
                 line, err->message);
    if (want != HWJ_OK && err->message[0] == '\0')
        fail_msg("%s:%d: error %d without a message", file, line, (int)rc);
}

char *tj_b64(const void *data, size_t len)
{
    char *s = NULL;
    hwj_error err;
    tu_ok(hwj_b64url_encode(data, len, &s, &err), &err);
    return s;
}

char *tj_b64s(const char *s)
{
    return tj_b64(s, strlen(s));
}

char *tj_hs256(const uint8_t *key, size_t keylen, const char *header, const char *payload_part)
{
    char *h = tj_b64s(header);
    size_t inlen = strlen(h) + 1 + strlen(payload_part);
    char *in = malloc(inlen + 1);
    uint8_t mac[32];
    size_t maclen = 0;

    assert_non_null(in);
    snprintf(in, inlen + 1, "%s.%s", h, payload_part);
    assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, (const uint8_t *)in,
                              inlen, mac, sizeof(mac), &maclen));
    char *sig = tj_b64(mac, maclen);
    char *out = malloc(inlen + 2 + strlen(sig));
    assert_non_null(out);
    sprintf(out, "%s.%s", in, sig);
    free(sig);
    free(in);
    free(h);
    return out;
}
