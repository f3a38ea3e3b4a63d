/* alg.c: the algorithm registry (RFC 7518 §3–5, RFC 8037, RFC 9864). */
#include "core/alg.h"

#include <string.h>

static const hwj_alg_info table[HWJ_ALG_COUNT_] = {
    [HWJ_ALG_HS256] = {"HS256", HWJ_ALG_KIND_JWS, HWJ_KTY_OCT, "SHA256", 32, 0, NULL, 0},
    [HWJ_ALG_HS384] = {"HS384", HWJ_ALG_KIND_JWS, HWJ_KTY_OCT, "SHA384", 48, 0, NULL, 0},
    [HWJ_ALG_HS512] = {"HS512", HWJ_ALG_KIND_JWS, HWJ_KTY_OCT, "SHA512", 64, 0, NULL, 0},
    [HWJ_ALG_RS256] = {"RS256", HWJ_ALG_KIND_JWS, HWJ_KTY_RSA, "SHA256", 32, 0, NULL, 0},
    [HWJ_ALG_RS384] = {"RS384", HWJ_ALG_KIND_JWS, HWJ_KTY_RSA, "SHA384", 48, 0, NULL, 0},
    [HWJ_ALG_RS512] = {"RS512", HWJ_ALG_KIND_JWS, HWJ_KTY_RSA, "SHA512", 64, 0, NULL, 0},
    [HWJ_ALG_PS256] = {"PS256", HWJ_ALG_KIND_JWS, HWJ_KTY_RSA, "SHA256", 32, 0, NULL, 0},
    [HWJ_ALG_PS384] = {"PS384", HWJ_ALG_KIND_JWS, HWJ_KTY_RSA, "SHA384", 48, 0, NULL, 0},
    [HWJ_ALG_PS512] = {"PS512", HWJ_ALG_KIND_JWS, HWJ_KTY_RSA, "SHA512", 64, 0, NULL, 0},
    [HWJ_ALG_ES256] = {"ES256", HWJ_ALG_KIND_JWS, HWJ_KTY_EC, "SHA256", 32, 0, "P-256", 64},
    [HWJ_ALG_ES384] = {"ES384", HWJ_ALG_KIND_JWS, HWJ_KTY_EC, "SHA384", 48, 0, "P-384", 96},
    [HWJ_ALG_ES512] = {"ES512", HWJ_ALG_KIND_JWS, HWJ_KTY_EC, "SHA512", 64, 0, "P-521", 132},
    [HWJ_ALG_EDDSA] = {"EdDSA", HWJ_ALG_KIND_JWS, HWJ_KTY_OKP, NULL, 0, 0, NULL, 64},
    [HWJ_ALG_RSA1_5] = {"RSA1_5", HWJ_ALG_KIND_KM, HWJ_KTY_RSA, NULL, 0, 0, NULL, 0},
    [HWJ_ALG_RSA_OAEP] = {"RSA-OAEP", HWJ_ALG_KIND_KM, HWJ_KTY_RSA, "SHA1", 20, 0, NULL, 0},
    [HWJ_ALG_RSA_OAEP_256] = {"RSA-OAEP-256", HWJ_ALG_KIND_KM, HWJ_KTY_RSA, "SHA256", 32, 0,
                              NULL, 0},
    [HWJ_ALG_A128KW] = {"A128KW", HWJ_ALG_KIND_KM, HWJ_KTY_OCT, NULL, 0, 128, NULL, 0},
    [HWJ_ALG_A192KW] = {"A192KW", HWJ_ALG_KIND_KM, HWJ_KTY_OCT, NULL, 0, 192, NULL, 0},
    [HWJ_ALG_A256KW] = {"A256KW", HWJ_ALG_KIND_KM, HWJ_KTY_OCT, NULL, 0, 256, NULL, 0},
    [HWJ_ALG_DIR] = {"dir", HWJ_ALG_KIND_KM, HWJ_KTY_OCT, NULL, 0, 0, NULL, 0},
    [HWJ_ALG_ECDH_ES] = {"ECDH-ES", HWJ_ALG_KIND_KM, HWJ_KTY_EC, NULL, 0, 0, NULL, 0},
    [HWJ_ALG_ECDH_ES_A128KW] = {"ECDH-ES+A128KW", HWJ_ALG_KIND_KM, HWJ_KTY_EC, NULL, 0, 128,
                                NULL, 0},
    [HWJ_ALG_ECDH_ES_A192KW] = {"ECDH-ES+A192KW", HWJ_ALG_KIND_KM, HWJ_KTY_EC, NULL, 0, 192,
                                NULL, 0},
    [HWJ_ALG_ECDH_ES_A256KW] = {"ECDH-ES+A256KW", HWJ_ALG_KIND_KM, HWJ_KTY_EC, NULL, 0, 256,
                                NULL, 0},
    [HWJ_ALG_A128GCMKW] = {"A128GCMKW", HWJ_ALG_KIND_KM, HWJ_KTY_OCT, NULL, 0, 128, NULL, 0},
    [HWJ_ALG_A192GCMKW] = {"A192GCMKW", HWJ_ALG_KIND_KM, HWJ_KTY_OCT, NULL, 0, 192, NULL, 0},
    [HWJ_ALG_A256GCMKW] = {"A256GCMKW", HWJ_ALG_KIND_KM, HWJ_KTY_OCT, NULL, 0, 256, NULL, 0},
    [HWJ_ALG_PBES2_HS256_A128KW] = {"PBES2-HS256+A128KW", HWJ_ALG_KIND_KM, HWJ_KTY_NONE,
                                    "SHA256", 32, 128, NULL, 0},
    [HWJ_ALG_PBES2_HS384_A192KW] = {"PBES2-HS384+A192KW", HWJ_ALG_KIND_KM, HWJ_KTY_NONE,
                                    "SHA384", 48, 192, NULL, 0},
    [HWJ_ALG_PBES2_HS512_A256KW] = {"PBES2-HS512+A256KW", HWJ_ALG_KIND_KM, HWJ_KTY_NONE,
                                    "SHA512", 64, 256, NULL, 0},
    [HWJ_ENC_A128CBC_HS256] = {"A128CBC-HS256", HWJ_ALG_KIND_ENC, HWJ_KTY_NONE, "SHA256", 32,
                               256, NULL, 0},
    [HWJ_ENC_A192CBC_HS384] = {"A192CBC-HS384", HWJ_ALG_KIND_ENC, HWJ_KTY_NONE, "SHA384", 48,
                               384, NULL, 0},
    [HWJ_ENC_A256CBC_HS512] = {"A256CBC-HS512", HWJ_ALG_KIND_ENC, HWJ_KTY_NONE, "SHA512", 64,
                               512, NULL, 0},
    [HWJ_ENC_A128GCM] = {"A128GCM", HWJ_ALG_KIND_ENC, HWJ_KTY_NONE, NULL, 0, 128, NULL, 0},
    [HWJ_ENC_A192GCM] = {"A192GCM", HWJ_ALG_KIND_ENC, HWJ_KTY_NONE, NULL, 0, 192, NULL, 0},
    [HWJ_ENC_A256GCM] = {"A256GCM", HWJ_ALG_KIND_ENC, HWJ_KTY_NONE, NULL, 0, 256, NULL, 0},
    [HWJ_ALG_ED25519] = {"Ed25519", HWJ_ALG_KIND_JWS, HWJ_KTY_OKP, NULL, 0, 0, NULL, 64},
};

const hwj_alg_info *hwj_alg_info_get(hwj_alg alg)
{
    if (alg <= HWJ_ALG_UNKNOWN || alg >= HWJ_ALG_COUNT_)
        return NULL;
    return &table[alg];
}

HWJ_EXPORT hwj_alg hwj_alg_from_name(const char *name)
{
    if (name == NULL)
        return HWJ_ALG_UNKNOWN;
    for (int a = HWJ_ALG_UNKNOWN + 1; a < HWJ_ALG_COUNT_; a++)
        if (strcmp(table[a].name, name) == 0)
            return (hwj_alg)a;
    return HWJ_ALG_UNKNOWN;
}

HWJ_EXPORT const char *hwj_alg_name(hwj_alg alg)
{
    const hwj_alg_info *i = hwj_alg_info_get(alg);
    return i ? i->name : NULL;
}

HWJ_EXPORT hwj_alg_kind hwj_alg_get_kind(hwj_alg alg)
{
    const hwj_alg_info *i = hwj_alg_info_get(alg);
    return i ? i->kind : HWJ_ALG_KIND_NONE;
}

HWJ_EXPORT hwj_kty hwj_alg_kty(hwj_alg alg)
{
    const hwj_alg_info *i = hwj_alg_info_get(alg);
    return i ? i->kty : HWJ_KTY_NONE;
}

HWJ_EXPORT const char *hwj_kty_name(hwj_kty kty)
{
    switch (kty) {
    case HWJ_KTY_RSA: return "RSA";
    case HWJ_KTY_EC: return "EC";
    case HWJ_KTY_OKP: return "OKP";
    case HWJ_KTY_OCT: return "oct";
    case HWJ_KTY_NONE: break;
    }
    return NULL;
}
