/* fuzz_jwk: JWK and JWKS import (RFC 7517, 7518 §6, 8037) with invariants: an imported
 * key's export re-imports to a key with the same RFC 7638 thumbprint, kty, kid, privacy
 * and the same export (a fixed point); a set re-imports with the same size. */
#include "common.h"

#include <stdlib.h>
#include <string.h>

static const hwj_alg probe_algs[] = {
    HWJ_ALG_HS256, HWJ_ALG_RS256,    HWJ_ALG_PS256,   HWJ_ALG_ES256,  HWJ_ALG_ES512,
    HWJ_ALG_EDDSA, HWJ_ALG_RSA_OAEP, HWJ_ALG_ECDH_ES, HWJ_ALG_A128KW, HWJ_ALG_DIR};

static void must(hwj_err rc)
{
    if (rc != HWJ_OK)
        abort();
}

static void round_trip(const hwj_jwk *a, int with_private)
{
    hwj_error err = {0};
    char *ja = NULL, *jb = NULL, *ta = NULL, *tb = NULL;
    hwj_jwk *b = NULL;
    must(hwj_jwk_to_json(a, with_private, &ja, &err));
    must(hwj_jwk_parse(ja, strlen(ja), &b, &err));
    must(hwj_jwk_to_json(b, with_private, &jb, &err));
    if (strcmp(ja, jb) != 0 || hwj_jwk_get_kty(a) != hwj_jwk_get_kty(b) ||
        hwj_jwk_get_alg(a) != hwj_jwk_get_alg(b) ||
        (with_private && hwj_jwk_is_private(a) != hwj_jwk_is_private(b)))
        abort();
    const char *ka = hwj_jwk_get0_kid(a), *kb = hwj_jwk_get0_kid(b);
    if ((ka == NULL) != (kb == NULL) || (ka && strcmp(ka, kb) != 0))
        abort();
    must(hwj_jwk_thumbprint(a, &ta, &err));
    must(hwj_jwk_thumbprint(b, &tb, &err));
    if (strcmp(ta, tb) != 0)
        abort();
    hwj_free(ta);
    hwj_free(tb);
    hwj_jwk_free(b);
    hwj_free(ja);
    hwj_free(jb);
}

static void one_key(const hwj_jwk *k)
{
    hwj_error err = {0};
    round_trip(k, 1);
    if (hwj_jwk_get_kty(k) != HWJ_KTY_OCT)
        round_trip(k, 0);
    for (size_t i = 0; i < sizeof(probe_algs) / sizeof(probe_algs[0]); i++)
        for (int op = HWJ_OP_SIGN; op <= HWJ_OP_DERIVE; op++)
            (void)hwj_jwk_check(k, probe_algs[i], (hwj_key_op)op, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hwj_error err = {0};
    hwj_jwk *k = NULL;
    hwj_jwks *set = NULL, *again = NULL;
    char *json = NULL;
    if (hwj_jwk_parse((const char *)data, size, &k, &err) == HWJ_OK) {
        one_key(k);
        hwj_jwk_free(k);
    }
    if (hwj_jwks_parse((const char *)data, size, &set, &err) == HWJ_OK) {
        for (size_t i = 0; i < hwj_jwks_count(set); i++)
            one_key(hwj_jwks_get0(set, i));
        const hwj_jwk *sel = NULL;
        (void)hwj_jwks_select(set, NULL, HWJ_ALG_ES256, HWJ_OP_VERIFY, &sel, &err);
        if (hwj_jwks_to_json(set, &json, &err) == HWJ_OK) {
            must(hwj_jwks_parse(json, strlen(json), &again, &err));
            if (hwj_jwks_count(again) != hwj_jwks_count(set))
                abort();
            hwj_jwks_free(again);
            hwj_free(json);
        } else {
            /* Only a secret (oct) key has no public form to publish. */
            int has_oct = 0;
            for (size_t i = 0; i < hwj_jwks_count(set); i++)
                has_oct |= hwj_jwk_get_kty(hwj_jwks_get0(set, i)) == HWJ_KTY_OCT;
            if (!has_oct)
                abort();
        }
        hwj_jwks_free(set);
    }
    return 0;
}
