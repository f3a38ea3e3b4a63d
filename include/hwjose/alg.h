/*
 * alg.h: the JOSE algorithm registry (RFC 7518, RFC 8037, RFC 9864).
 *
 * An hwj_alg names one JWS "alg", JWE "alg" or JWE "enc" value. "none" is
 * deliberately absent: hwj_alg_from_name("none") returns HWJ_ALG_UNKNOWN, so
 * no code path can select it.
 */
#ifndef HWJOSE_ALG_H
#define HWJOSE_ALG_H

#include <hwjose/common.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hwj_alg {
    HWJ_ALG_UNKNOWN = 0,
    /* JWS (RFC 7518 §3, RFC 8037 §3.1) */
    HWJ_ALG_HS256, HWJ_ALG_HS384, HWJ_ALG_HS512,
    HWJ_ALG_RS256, HWJ_ALG_RS384, HWJ_ALG_RS512,
    HWJ_ALG_PS256, HWJ_ALG_PS384, HWJ_ALG_PS512,
    HWJ_ALG_ES256, HWJ_ALG_ES384, HWJ_ALG_ES512,
    HWJ_ALG_EDDSA,
    /* JWE key management (RFC 7518 §4) */
    HWJ_ALG_RSA1_5, HWJ_ALG_RSA_OAEP, HWJ_ALG_RSA_OAEP_256,
    HWJ_ALG_A128KW, HWJ_ALG_A192KW, HWJ_ALG_A256KW,
    HWJ_ALG_DIR,
    HWJ_ALG_ECDH_ES, HWJ_ALG_ECDH_ES_A128KW, HWJ_ALG_ECDH_ES_A192KW, HWJ_ALG_ECDH_ES_A256KW,
    HWJ_ALG_A128GCMKW, HWJ_ALG_A192GCMKW, HWJ_ALG_A256GCMKW,
    HWJ_ALG_PBES2_HS256_A128KW, HWJ_ALG_PBES2_HS384_A192KW, HWJ_ALG_PBES2_HS512_A256KW,
    /* JWE content encryption (RFC 7518 §5) */
    HWJ_ENC_A128CBC_HS256, HWJ_ENC_A192CBC_HS384, HWJ_ENC_A256CBC_HS512,
    HWJ_ENC_A128GCM, HWJ_ENC_A192GCM, HWJ_ENC_A256GCM,
    /* JWS, fully specified (RFC 9864 §2): "Ed25519" is "EdDSA" with an Ed25519 key, by name.
     * Appended here so that the values above keep their ABI. (No Ed448: no Ed448 keys here.) */
    HWJ_ALG_ED25519,
    HWJ_ALG_COUNT_ /* not an algorithm */
} hwj_alg;

typedef enum hwj_alg_kind {
    HWJ_ALG_KIND_NONE = 0,
    HWJ_ALG_KIND_JWS = 1, /* a JWS "alg" */
    HWJ_ALG_KIND_KM = 2,  /* a JWE "alg" (key management) */
    HWJ_ALG_KIND_ENC = 3, /* a JWE "enc" */
} hwj_alg_kind;

/* The key type an algorithm needs. */
typedef enum hwj_kty {
    HWJ_KTY_NONE = 0, /* e.g. "dir" needs an oct key, PBES2 a password: see hwj_alg_kty() */
    HWJ_KTY_RSA = 1,
    HWJ_KTY_EC = 2,
    HWJ_KTY_OKP = 3,
    HWJ_KTY_OCT = 4,
} hwj_kty;

/* The alg for an exact, case-sensitive registered name; HWJ_ALG_UNKNOWN otherwise (also for "none"). */
HWJ_EXPORT hwj_alg hwj_alg_from_name(const char *name);
/* The registered name ("ES256", "RSA-OAEP-256", "A256GCM"); NULL for HWJ_ALG_UNKNOWN or out of range. */
HWJ_EXPORT const char *hwj_alg_name(hwj_alg alg);
HWJ_EXPORT hwj_alg_kind hwj_alg_get_kind(hwj_alg alg);
/* The kty the alg needs (oct for HS*, A*KW, A*GCMKW, dir; EC for ES*, ECDH-ES*; OKP for EdDSA, Ed25519). */
HWJ_EXPORT hwj_kty hwj_alg_kty(hwj_alg alg);
/* "RSA", "EC", "OKP", "oct"; NULL for HWJ_KTY_NONE. */
HWJ_EXPORT const char *hwj_kty_name(hwj_kty kty);

#ifdef __cplusplus
}
#endif
#endif
