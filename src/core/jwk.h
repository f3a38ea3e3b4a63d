/* jwk.h (internal): the JWK representation and EVP_PKEY <-> JWK conversion,
 * shared by the JOSE layer and the software key backend. */
#ifndef HWJ_CORE_JWK_H
#define HWJ_CORE_JWK_H

#include <hwjose/jwk.h>
#include <jansson.h>

struct hwj_jwk {
    hwj_kty kty;
    EVP_PKEY *pkey;  /* RSA, EC, OKP: public, or private when is_private */
    uint8_t *secret; /* oct: the key bytes (wiped on free) */
    size_t secret_len;
    int is_private;   /* private parts present (always for oct) */
    char *kid;        /* NULL when absent */
    hwj_alg alg;      /* HWJ_ALG_UNKNOWN when absent */
    char *use;        /* NULL when absent */
    unsigned key_ops; /* bit (1u << hwj_key_op) per listed op; 0 when absent */
    int roca;         /* RSA modulus with the ROCA fingerprint (core/roca.c) */
    /* Contexts prepared for the hot path, created on first use (core/pkey_prep.h) */
    struct hwj_pkey_prep *_Atomic prep;
};

/* Build from a parsed JSON object (the checks hwj_jwk_parse documents). */
hwj_err hwj_jwk_from_json(const json_t *obj, hwj_jwk **out, hwj_error *err);
/* hwj_jwk_check inside the library: the public entry point has reset OpenSSL's queue. */
hwj_err hwj_jwk_fits(const hwj_jwk *jwk, hwj_alg alg, hwj_key_op op, hwj_error *err);
/* The public members of `pkey` as a new JSON object (kty, crv, x, y / n, e), no kid. */
hwj_err hwj_pkey_to_json(EVP_PKEY *pkey, json_t **out, hwj_error *err);
/* RFC 7638 SHA-256 thumbprint of `pkey`'s public part, base64url. */
hwj_err hwj_pkey_thumbprint(EVP_PKEY *pkey, char **out, hwj_error *err);
/* The kty of an EVP_PKEY (RSA, EC, OKP for Ed25519/X25519); HWJ_KTY_NONE otherwise. */
hwj_kty hwj_pkey_kty(EVP_PKEY *pkey);
/* "P-256", "P-384", "P-521", "Ed25519", "X25519"; NULL for RSA or others. */
const char *hwj_pkey_crv(EVP_PKEY *pkey);

#endif
