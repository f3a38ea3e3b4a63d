/* custody.c: what a key is, for backends and listings: the algs its type can serve, its
 * custody notes, and its description for hwj_keys_list. */
#include "keys/support.h"

#include "core/alg.h"
#include "core/jwk.h"
#include "core/roca.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t hwj_key_algs_for_pkey(EVP_PKEY *pkey)
{
    uint64_t m = 0;
    switch (hwj_pkey_kty(pkey)) {
    case HWJ_KTY_RSA:
        for (hwj_alg a = HWJ_ALG_RS256; a <= HWJ_ALG_PS512; a++)
            m |= HWJ_ALG_BIT(a);
        m |= HWJ_ALG_BIT(HWJ_ALG_RSA_OAEP) | HWJ_ALG_BIT(HWJ_ALG_RSA_OAEP_256) |
             HWJ_ALG_BIT(HWJ_ALG_RSA1_5);
        break;
    case HWJ_KTY_EC: {
        const char *crv = hwj_pkey_crv(pkey);
        for (hwj_alg a = HWJ_ALG_ES256; a <= HWJ_ALG_ES512; a++)
            if (crv != NULL && strcmp(hwj_alg_info_get(a)->curve, crv) == 0)
                m |= HWJ_ALG_BIT(a);
        for (hwj_alg a = HWJ_ALG_ECDH_ES; a <= HWJ_ALG_ECDH_ES_A256KW; a++)
            m |= HWJ_ALG_BIT(a);
        break;
    }
    case HWJ_KTY_OKP: {
        const char *crv = hwj_pkey_crv(pkey);
        if (crv != NULL && strcmp(crv, "Ed25519") == 0)
            m |= HWJ_ALG_BIT(HWJ_ALG_EDDSA) | HWJ_ALG_BIT(HWJ_ALG_ED25519);
        else if (crv != NULL && strcmp(crv, "X25519") == 0)
            for (hwj_alg a = HWJ_ALG_ECDH_ES; a <= HWJ_ALG_ECDH_ES_A256KW; a++)
                m |= HWJ_ALG_BIT(a);
        break;
    }
    default: break;
    }
    return m;
}

static json_t *tri_json(int v)
{
    return v < 0 ? json_null() : json_boolean(v);
}

hwj_alg hwj_key_bound_alg(const struct hwj_key *key)
{
    uint64_t can = key->can;
    if (key->alg != HWJ_ALG_UNKNOWN)
        return key->alg;
    if (can == 0 || (can & (can - 1)) != 0)
        return HWJ_ALG_UNKNOWN;
    for (hwj_alg a = HWJ_ALG_HS256; a < HWJ_ALG_COUNT_; a++)
        if (can == HWJ_ALG_BIT(a))
            return a;
    return HWJ_ALG_UNKNOWN;
}

hwj_err hwj_key_describe(const struct hwj_key *key, json_t *o)
{
    hwj_alg bound = hwj_key_bound_alg(key);
    json_t *algs = json_array(), *c = json_object();
    char *kid = NULL;

    if (algs == NULL || c == NULL) {
        json_decref(algs);
        json_decref(c);
        return HWJ_ERR_NOMEM;
    }
    if (key->pkey != NULL && hwj_pkey_thumbprint(key->pkey, &kid, NULL) == HWJ_OK)
        json_object_set_new(o, "kid", json_string(kid));
    free(kid);
    json_object_set_new(o, "kty", json_string(hwj_kty_name(key->kty)));
    if (key->kty == HWJ_KTY_RSA) {
        json_object_set_new(o, "bits", json_integer(EVP_PKEY_get_bits(key->pkey)));
        json_object_set_new(o, "roca", json_boolean(hwj_roca_pkey(key->pkey) != 0));
    } else if (key->pkey != NULL)
        json_object_set_new(o, "crv", json_string(hwj_pkey_crv(key->pkey)));
    for (hwj_alg a = HWJ_ALG_HS256; a < HWJ_ALG_COUNT_; a++)
        if (key->can & HWJ_ALG_BIT(a))
            json_array_append_new(algs, json_string(hwj_alg_name(a)));
    json_object_set_new(o, "algs", algs);
    if (bound != HWJ_ALG_UNKNOWN) {
        json_object_set_new(o, "alg", json_string(hwj_alg_name(bound)));
        json_object_set_new(
            o, "use", json_string(hwj_alg_get_kind(bound) == HWJ_ALG_KIND_JWS ? "sig" : "enc"));
    }
    if (key->custody.backend != NULL)
        json_object_set_new(c, "backend", json_string(key->custody.backend));
    json_object_set_new(c, "hardware", tri_json(key->custody.hardware));
    json_object_set_new(c, "sensitive", tri_json(key->custody.sensitive));
    json_object_set_new(c, "always_sensitive", tri_json(key->custody.always_sensitive));
    json_object_set_new(c, "extractable", tri_json(key->custody.extractable));
    json_object_set_new(c, "never_extractable", tri_json(key->custody.never_extractable));
    json_object_set_new(c, "local", tri_json(key->custody.local));
    json_object_set_new(o, "custody", c);
    json_object_set_new(o, "notes", json_string(key->custody.notes));
    return HWJ_OK;
}

void hwj_custody_note(hwj_custody *c, const char *fmt, ...)
{
    size_t used = strlen(c->notes);
    if (used > 0 && used + 2 < sizeof(c->notes)) {
        memcpy(c->notes + used, "; ", 3);
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->notes + used, sizeof(c->notes) - used, fmt, ap);
    va_end(ap);
}
