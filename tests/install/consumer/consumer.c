/* consumer.c: a program built against an installed libhwjose (pkg-config or find_package). It
 * signs with a software key and verifies against its public JWK, through the public API only. */
#include <hwjose/hwjose.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    static const hwj_alg es256[] = {HWJ_ALG_ES256};
    hwj_jws_sign_opts so = HWJ_JWS_SIGN_OPTS_INIT;
    hwj_verify_policy pol = HWJ_VERIFY_POLICY_INIT;
    hwj_ctx *ctx = NULL;
    hwj_key *key = NULL;
    hwj_jwk *pub = NULL;
    hwj_jwks *set = NULL;
    hwj_jws_result *res = NULL;
    hwj_error err = {0};
    char *jws = NULL;
    int ret = 1;

    if (argc != 2) {
        fprintf(stderr, "usage: consumer KEY-URI\n");
        return 2;
    }
    pol.algs = es256;
    pol.nalgs = 1;
    if (hwj_ctx_new(&ctx, &err) != HWJ_OK || hwj_key_open(ctx, argv[1], NULL, &key, &err) ||
        hwj_jws_sign(key, (const uint8_t *)"installed", 9, &so, &jws, &err) != HWJ_OK ||
        hwj_jwk_from_key(key, &pub, &err) != HWJ_OK || hwj_jwks_new(&set, &err) != HWJ_OK ||
        hwj_jwks_add(set, pub, &err) != HWJ_OK ||
        hwj_jws_verify(jws, strlen(jws), set, &pol, NULL, 0, &res, &err) != HWJ_OK) {
        fprintf(stderr, "consumer: %s\n", err.message);
        goto out;
    }
    /* The header's version and the library's agree: one version source. */
    printf("hwjose %s (header %s): %.*s\n", hwj_version(), HWJ_VERSION_STRING,
           (int)res->payload_len, (const char *)res->payload);
    ret = strcmp(hwj_version(), HWJ_VERSION_STRING) != 0;
out:
    hwj_jws_result_free(res);
    hwj_free(jws);
    hwj_jwks_free(set);
    hwj_key_free(key);
    hwj_ctx_free(ctx);
    return ret;
}
