/* tls.c: the TLS server context — built from a config's tls section, and swapped for new
 * connections on reload.
 *
 * A reload builds a whole new SSL_CTX (certificate chain, key, client CA) before anything is
 * replaced, so a broken file leaves the old one serving. Connections already open keep the
 * context they started with (SSL_new takes its own reference); only new connections see the
 * new one. */
#include "server/server.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct srv_tls_slot {
    pthread_mutex_t lock;
    SSL_CTX *ctx;
};

/* "what: OpenSSL's reason" from the oldest error the failing calls raised (the queue was
 * cleared before them, so nothing older can be named). */
static void tls_error(char *msg, size_t msglen, const char *what)
{
    unsigned long e = ERR_peek_error();
    const char *why = e ? ERR_reason_error_string(e) : NULL;
    snprintf(msg, msglen, "%s%s%s", what, why ? ": " : "", why ? why : "");
    ERR_clear_error();
}

/* The private key: kept apart so that other key sources (a token through a provider) can
 * plug in here. */
static int tls_key_load(SSL_CTX *ctx, const char *key, char *msg, size_t msglen)
{
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        char what[600];
        snprintf(what, sizeof(what), "tls.key '%s': cannot load (a PEM private key)", key);
        tls_error(msg, msglen, what);
        return -1;
    }
    return 0;
}

SSL_CTX *srv_tls_ctx_new(const srv_tls_cfg *cfg, char *msg, size_t msglen)
{
    char what[600];
    STACK_OF(X509_NAME) *names = NULL;
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
        tls_error(msg, msglen, "TLS: cannot create a server context");
        goto fail;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* Needed for session resumption once client certificates are verified (OpenSSL refuses to
     * resume a session without one, failing the handshake). */
    static const unsigned char sid_ctx[] = "hwjose serve";
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert) != 1) {
        snprintf(what, sizeof(what), "tls.cert '%s': cannot load (a PEM certificate chain)",
                 cfg->cert);
        tls_error(msg, msglen, what);
        goto fail;
    }
    if (tls_key_load(ctx, cfg->key, msg, msglen))
        goto fail;
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(what, sizeof(what), "tls.key '%s': does not match tls.cert '%s'", cfg->key,
                 cfg->cert);
        tls_error(msg, msglen, what);
        goto fail;
    }
    if (cfg->mtls != SRV_MTLS_OFF) {
        names = SSL_load_client_CA_file(cfg->client_ca);
        if (!names || SSL_CTX_load_verify_locations(ctx, cfg->client_ca, NULL) != 1) {
            snprintf(what, sizeof(what), "tls.client_ca '%s': cannot load (PEM certificates)",
                     cfg->client_ca);
            tls_error(msg, msglen, what);
            goto fail;
        }
        SSL_CTX_set_client_CA_list(ctx, names); /* owned by ctx from here on */
        names = NULL;
        SSL_CTX_set_verify(
            ctx,
            SSL_VERIFY_PEER |
                (cfg->mtls == SRV_MTLS_REQUIRED ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
            NULL);
    }
    return ctx;
fail:
    sk_X509_NAME_pop_free(names, X509_NAME_free);
    SSL_CTX_free(ctx);
    return NULL;
}

srv_tls_slot *srv_tls_slot_new(SSL_CTX *ctx)
{
    srv_tls_slot *s = calloc(1, sizeof(*s));
    if (!s || pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        return NULL;
    }
    s->ctx = ctx;
    return s;
}

void srv_tls_slot_swap(srv_tls_slot *s, SSL_CTX *ctx)
{
    pthread_mutex_lock(&s->lock);
    SSL_CTX *old = s->ctx;
    s->ctx = ctx;
    pthread_mutex_unlock(&s->lock);
    SSL_CTX_free(old); /* open connections hold their own references */
}

SSL *srv_tls_slot_ssl_new(srv_tls_slot *s)
{
    pthread_mutex_lock(&s->lock);
    SSL *ssl = SSL_new(s->ctx); /* references the context: a swap cannot free it under us */
    pthread_mutex_unlock(&s->lock);
    return ssl;
}

void srv_tls_slot_free(srv_tls_slot *s)
{
    if (!s)
        return;
    SSL_CTX_free(s->ctx);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
