/* alg.h (internal): what each algorithm needs, in one table. */
#ifndef HWJ_CORE_ALG_H
#define HWJ_CORE_ALG_H

#include <hwjose/alg.h>

typedef struct hwj_alg_info {
    const char *name;
    hwj_alg_kind kind;
    hwj_kty kty;
    const char *md;     /* OpenSSL digest name: the signature/OAEP/PBES2/HMAC hash; NULL if none */
    unsigned hash_len;  /* bytes of md's output */
    unsigned key_bits;  /* AES key size for KW/GCMKW/GCM/ECDH-ES+KW, CEK bits for CBC-HS */
    const char *curve;  /* ES*: the only curve allowed ("P-256"); NULL otherwise */
    unsigned sig_len;   /* ES*: fixed r||s length */
} hwj_alg_info;

/* The entry for `alg`, or NULL for HWJ_ALG_UNKNOWN / out of range. */
const hwj_alg_info *hwj_alg_info_get(hwj_alg alg);

/* EdDSA (RFC 8037; Ed25519 keys only here) or RFC 9864's "Ed25519": one signature scheme, one
 * key type, two names. Every check and backend treats them alike. */
static inline int hwj_alg_is_ed25519(hwj_alg alg)
{
    return alg == HWJ_ALG_EDDSA || alg == HWJ_ALG_ED25519;
}

#endif
