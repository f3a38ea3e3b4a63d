/* auth.c: who is calling. A bearer token is hashed with SHA-256 and compared in
 * constant time against every client's hash, without an early exit, so timing
 * reveals neither which client matched nor how much of a hash did. With mTLS the
 * verified client certificate's RFC 2253 subject names the client. */
#include "server/server.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <string.h>
#include <strings.h>

const srv_client_conf *srv_auth_token(const srv_config *cfg, const char *token, size_t len)
{
    uint8_t h[32];
    unsigned hl = 0;
    const srv_client_conf *found = NULL;
    if (len == 0 || !EVP_Digest(token, len, h, &hl, srv_sha256(), NULL) || hl != 32)
        return NULL;
    for (size_t i = 0; i < cfg->nclients; i++) {
        const srv_client_conf *c = &cfg->clients[i];
        /* Every client is compared, whether or not it has a token or a match was found. */
        int eq = CRYPTO_memcmp(h, c->token_sha256, 32) == 0 && c->has_token;
        found = eq ? c : found;
    }
    OPENSSL_cleanse(h, sizeof(h));
    return found;
}

static const srv_client_conf *auth_mtls(const srv_config *cfg, SSL *ssl)
{
    X509 *peer = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
    const srv_client_conf *found = NULL;
    char subj[512];
    if (!peer || SSL_get_verify_result(ssl) != X509_V_OK)
        return NULL;
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return NULL;
    int n = X509_NAME_print_ex(b, X509_get_subject_name(peer), 0, XN_FLAG_RFC2253);
    int len = n > 0 ? BIO_read(b, subj, sizeof(subj) - 1) : -1;
    BIO_free(b);
    if (len <= 0)
        return NULL;
    subj[len] = '\0';
    for (size_t i = 0; i < cfg->nclients && !found; i++)
        if (cfg->clients[i].mtls_subject && strcmp(cfg->clients[i].mtls_subject, subj) == 0)
            found = &cfg->clients[i];
    return found;
}

const srv_client_conf *srv_auth_client(const srv_config *cfg, const char *authorization, SSL *tls,
                                       int *had_credentials)
{
    const char *h = authorization;
    *had_credentials = 0;
    if (h) {
        *had_credentials = 1;
        if (strncasecmp(h, "Bearer ", 7) != 0)
            return NULL;
        h += 7;
        while (*h == ' ')
            h++;
        return srv_auth_token(cfg, h, strlen(h));
    }
    if (cfg->mtls != SRV_MTLS_OFF) {
        const srv_client_conf *c = auth_mtls(cfg, tls);
        *had_credentials = c != NULL;
        return c;
    }
    return NULL;
}
