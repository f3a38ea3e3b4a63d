/*
 * prov.h: the hwjose OpenSSL 3 provider's internal interface (provider/ only).
 *
 * A key the provider hands to OpenSSL is an hwj_key opened through the key-provider
 * abstraction; its private part never leaves the token or TPM. Private operations call
 * hwj_key_sign / hwj_key_decrypt; everything public (digests, verification, encryption,
 * encoding) is left to the default provider, which gets the public key through export.
 */
#ifndef HWJ_PROVIDER_PROV_H
#define HWJ_PROVIDER_PROV_H

#include <hwjose/key.h>
#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/evp.h>

/* The provider context: the core's handle and one hwjose library context for every key. */
typedef struct hwjp_ctx {
    const OSSL_CORE_HANDLE *handle;
    hwj_ctx *hwj;
    int borrowed; /* hwj is the program's (hwjp_use_ctx): not freed at teardown */
} hwjp_ctx;

/* A key as OpenSSL holds it (keymgmt's keydata): reference-counted because the store hands
 * it to keymgmt's load by reference, and OpenSSL duplicates keys by asking keymgmt. */
typedef struct hwjp_key {
    hwjp_ctx *pctx;
    hwj_key *key;  /* NULL for a public key OpenSSL imported to compare with one of ours */
    EVP_PKEY *pub; /* the public key (the default provider's) */
    int refs;      /* atomic */
} hwjp_key;

/* Takes ownership of `key`. */
hwjp_key *hwjp_key_new(hwjp_ctx *pctx, hwj_key *key);
hwjp_key *hwjp_key_ref(hwjp_key *k);
void hwjp_key_free(hwjp_key *k);
/* "RSA", "EC" or "ED25519": the keymgmt serving this key; NULL for a type the provider lacks. */
const char *hwjp_key_type(const hwjp_key *k);

/* The provider's one reason code ("hwjose key operation failed"): the message says the rest. */
#define HWJP_REASON 1

/* Raise an OpenSSL error through the core (the provider has no libcrypto error codes). */
void hwjp_raise(const hwjp_ctx *pctx, int reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Raise an hwjose library error (its message says what failed and how to fix it). */
void hwjp_raise_hwj(const hwjp_ctx *pctx, const hwj_error *err);

extern const OSSL_DISPATCH hwjp_rsa_keymgmt[], hwjp_ec_keymgmt[], hwjp_ed25519_keymgmt[];
extern const OSSL_DISPATCH hwjp_rsa_signature[], hwjp_ecdsa_signature[], hwjp_ed25519_signature[];
extern const OSSL_DISPATCH hwjp_rsa_asym_cipher[];
extern const OSSL_DISPATCH hwjp_store[];

/* The provider's entry point (OSSL_provider_init in the module; OSSL_PROVIDER_add_builtin in
 * a program that links the provider in, as `hwjose serve` does). */
int hwjp_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in, const OSSL_DISPATCH **out,
              void **provctx);

/* For a program that links the provider in and has a library context of its own: a provider
 * initialised after this call uses `ctx` (which must outlive every key the provider hands out)
 * instead of making another. One context per process matters for PKCS#11 recovery: p11-kit
 * finalises a module only when its last user does, so with two contexts the re-initialisation
 * after a token outage (C_Finalize + C_Initialize) never reaches the module. */
void hwjp_use_ctx(hwj_ctx *ctx);

#endif
