/* pkey_prep.h (internal): what a key needs for its hot path, prepared once per key.
 *
 * OpenSSL 3 looks the algorithm up in its provider store (locks, hash tables) on every
 * EVP_DigestSignInit/VerifyInit, and the facts a JOSE check reads (key type, curve, size)
 * cost a provider query each. A prep holds those facts, read once, and per (alg, op) an
 * EVP_MD_CTX initialised once; each operation copies it (EVP_MD_CTX_copy_ex, no fetch) and
 * works on the copy. Templates are created on first use and published with a
 * compare-and-swap, never changed afterwards: threads share a prep without a lock. Only
 * contexts are prepared; no result is ever kept. */
#ifndef HWJ_CORE_PKEY_PREP_H
#define HWJ_CORE_PKEY_PREP_H

#include <hwjose/common.h>
#include <hwjose/jwk.h>
#include <openssl/evp.h>

typedef struct hwj_pkey_prep hwj_pkey_prep;

/* Facts about `pkey` (borrowed: it must outlive the prep and never change). NULL if out of
 * memory or `pkey` is NULL. */
hwj_pkey_prep *hwj_pkey_prep_new(EVP_PKEY *pkey);
void hwj_pkey_prep_free(hwj_pkey_prep *prep);

/* The prep in `*slot`, created for `pkey` on first use (thread-safe). NULL if out of memory. */
hwj_pkey_prep *hwj_pkey_prep_get(hwj_pkey_prep *_Atomic *slot, EVP_PKEY *pkey);
/* The prep of a JWK (NULL for oct keys, or out of memory). */
hwj_pkey_prep *hwj_jwk_prep(const hwj_jwk *jwk);

EVP_PKEY *hwj_pkey_prep_pkey(const hwj_pkey_prep *prep);
hwj_kty hwj_pkey_prep_kty(const hwj_pkey_prep *prep);
/* As hwj_pkey_crv: "P-256", ..., "Ed25519", "X25519"; NULL otherwise. */
const char *hwj_pkey_prep_crv(const hwj_pkey_prep *prep);
int hwj_pkey_prep_bits(const hwj_pkey_prep *prep);
int hwj_pkey_prep_size(const hwj_pkey_prep *prep);

/* A new EVP_MD_CTX ready for EVP_DigestSign (`sign`) or EVP_DigestVerify with the JWS alg
 * `alg` (PS*: PSS, MGF1 with the same hash, salt as long as the hash), for one operation
 * only (it is finalised in place). The caller frees it.
 * The caller has checked that the key fits the alg. */
hwj_err hwj_pkey_prep_start(hwj_pkey_prep *prep, hwj_alg alg, int sign, EVP_MD_CTX **out,
                            hwj_error *err);

#endif
