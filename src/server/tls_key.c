/* tls_key.c: the service's TLS private key — a PEM file, or a key in a token or TPM.
 *
 * tls.key may be a key URI (pkcs11:…, tpm2:…). Such a key is opened through the hwjose OpenSSL
 * provider, linked into this program and registered as a built-in (no openssl.cnf needed),
 * so the handshake's signature is made in the token by hwj_key_sign like any other. */
#include "server/server.h"

#include "provider/prov.h"

#include <openssl/err.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>
#include <openssl/store.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t prov_once = PTHREAD_ONCE_INIT;
static int prov_ok;
static OSSL_PROVIDER *prov_default, *prov_hwjose;

/* Our references, dropped at exit before OpenSSL's own clean-up (atexit runs handlers in
 * reverse order, and OpenSSL registered its own when it initialised): with them held, that
 * clean-up could not free the providers. */
static void prov_unload(void)
{
    if (prov_hwjose)
        OSSL_PROVIDER_unload(prov_hwjose);
    if (prov_default)
        OSSL_PROVIDER_unload(prov_default);
    prov_hwjose = prov_default = NULL;
}

/* The default provider explicitly too: loading any provider switches off its automatic
 * loading, and everything but our keys' private operations is the default provider's. */
static void prov_load(void)
{
    prov_ok = (prov_default = OSSL_PROVIDER_load(NULL, "default")) != NULL &&
              OSSL_PROVIDER_add_builtin(NULL, "hwjose", hwjp_init) == 1 &&
              (prov_hwjose = OSSL_PROVIDER_load(NULL, "hwjose")) != NULL;
    atexit(prov_unload);
}

void srv_tls_key_ctx(hwj_ctx *ctx)
{
    hwjp_use_ctx(ctx);
}

static int is_key_uri(const char *key)
{
    return strncmp(key, "pkcs11:", 7) == 0 || strncmp(key, "tpm2:", 5) == 0;
}

/* The key at a key URI through the provider's store, or NULL (OpenSSL's error queue says why). */
static EVP_PKEY *uri_key(const char *uri)
{
    OSSL_STORE_CTX *st = NULL;
    EVP_PKEY *pkey = NULL;
    char *name = NULL;

    pthread_once(&prov_once, prov_load);
    if (!prov_ok || asprintf(&name, "hwjose:%s", uri) < 0)
        goto out;
    if ((st = OSSL_STORE_open_ex(name, NULL, "provider=hwjose", NULL, NULL, NULL, NULL, NULL)) ==
            NULL ||
        OSSL_STORE_expect(st, OSSL_STORE_INFO_PKEY) != 1)
        goto out;
    while (pkey == NULL && !OSSL_STORE_eof(st)) {
        OSSL_STORE_INFO *info = OSSL_STORE_load(st);
        if (info != NULL && OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
            pkey = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
        if (info == NULL)
            break;
    }
out:
    OSSL_STORE_close(st);
    free(name);
    return pkey;
}

int srv_tls_use_key(struct ssl_ctx_st *ssl, const char *key)
{
    if (!is_key_uri(key))
        return SSL_CTX_use_PrivateKey_file(ssl, key, SSL_FILETYPE_PEM);
    EVP_PKEY *pkey = uri_key(key);
    int ok = pkey != NULL && SSL_CTX_use_PrivateKey(ssl, pkey) == 1;
    EVP_PKEY_free(pkey);
    return ok;
}
