/* tls.c: the service's TLS server context from the config's tls section (certificate chain,
 * key, and for mTLS the client CA), for the listener (http.c) and `serve --check-config`.
 *
 * A reload builds a whole new context before anything is replaced, so a broken file leaves the
 * old one serving; the slot hands new connections the current one. Connections already open
 * keep the context they started with (SSL_new takes its own reference). */
#include "server/log.h"
#include "server/server.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "<what>: <the OpenSSL error the failing call raised>" into msg; clears the queue. The error's
 * text data is part of it: the provider's errors say what failed there ("key … not found in
 * token …"), behind a reason that only says "hwjose key operation failed". */
static void tls_fail(char *msg, size_t msglen, const char *what)
{
    const char *data = NULL;
    int flags = 0;
    unsigned long e = ERR_peek_error_data(&data, &flags);
    char reason[256] = "";
    if (e)
        ERR_error_string_n(e, reason, sizeof(reason));
    if (!(flags & ERR_TXT_STRING) || data == NULL)
        data = "";
    snprintf(msg, msglen, "%s%s%s%s%s%s", what, e ? " (" : "", e ? reason : "",
             *data ? ": " : "", data, e ? ")" : "");
    ERR_clear_error();
}

struct ssl_ctx_st *srv_tls_ctx_new(const srv_config *cfg, char *msg, size_t msglen)
{
    char what[1200];
    ERR_clear_error();
    SSL_CTX *ssl = SSL_CTX_new(TLS_server_method());
    if (!ssl || !SSL_CTX_set_min_proto_version(ssl, TLS1_2_VERSION)) {
        tls_fail(msg, msglen, "TLS: cannot create a context");
        goto fail;
    }
    SSL_CTX_set_options(ssl, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* Needed for session resumption once client certificates are verified (OpenSSL refuses to
     * resume a session without one, failing the handshake). */
    static const unsigned char sid_ctx[] = "hwjose serve";
    SSL_CTX_set_session_id_context(ssl, sid_ctx, sizeof(sid_ctx) - 1);
    if (SSL_CTX_use_certificate_chain_file(ssl, cfg->tls_cert) != 1) {
        snprintf(what, sizeof(what), "tls.cert '%s': cannot load", cfg->tls_cert);
        tls_fail(msg, msglen, what);
        goto fail;
    }
    if (srv_tls_use_key(ssl, cfg->tls_key) != 1 || SSL_CTX_check_private_key(ssl) != 1) {
        snprintf(what, sizeof(what), "tls.key '%s': cannot load or does not match tls.cert",
                 cfg->tls_key);
        tls_fail(msg, msglen, what);
        goto fail;
    }
    if (cfg->mtls != SRV_MTLS_OFF) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->tls_client_ca);
        if (!names || SSL_CTX_load_verify_locations(ssl, cfg->tls_client_ca, NULL) != 1) {
            snprintf(what, sizeof(what), "tls.client_ca '%s': cannot load", cfg->tls_client_ca);
            tls_fail(msg, msglen, what);
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            goto fail;
        }
        SSL_CTX_set_client_CA_list(ssl, names);
        SSL_CTX_set_verify(
            ssl,
            SSL_VERIFY_PEER |
                (cfg->mtls == SRV_MTLS_REQUIRED ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
            NULL);
    }
    return ssl;
fail:
    SSL_CTX_free(ssl);
    return NULL;
}

void srv_tls_failed(void)
{
    /* The provider raises its errors under its own name; a handshake fails with one when the
     * TLS key's token or TPM did (a client's own mistakes are libssl's). */
    static _Atomic long long last;
    const char *data = NULL;
    int flags = 0;
    unsigned long e;
    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        const char *lib = ERR_lib_error_string(e);
        if (lib == NULL || strcmp(lib, "hwjose") != 0)
            continue;
        long long now = (long long)srv_now_seconds(), prev = atomic_load(&last);
        if (now - prev >= 10 && atomic_compare_exchange_strong(&last, &prev, now))
            srv_log(SRV_LOG_ERR, NULL, "TLS handshake: the TLS key failed: %s (logged at most "
                    "every 10 s)", (flags & ERR_TXT_STRING) && data ? data : "no detail");
        break;
    }
    ERR_clear_error();
}

struct srv_tls_slot {
    pthread_mutex_t lock;
    SSL_CTX *ctx;
};

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
