/* http.c: the listener, worker threads, TLS and signals.
 *
 * One listening socket; each worker thread runs its own event_base and evhttp
 * with its own evconnlistener on that socket, so accepted connections spread over
 * the workers and a request is served start to finish on one thread (the key
 * operation included: hwj_key operations are thread-safe and each backend pools
 * its sessions). The main thread only handles signals: SIGHUP reloads the config,
 * SIGTERM/SIGINT stop. libevent 2.1 has no connection cap, so connections are
 * counted on their first request and closed with 503 past limits.max_connections. */
#include "server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct worker {
    pthread_t thread;
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_connection **conns; /* connections admitted on this worker */
    size_t nconns, capconns;
} worker;

static hwj_ctx *g_ctx;
static const char *g_config_path;
static SSL_CTX *g_ssl;
static worker *g_workers;
static unsigned g_nworkers;
static atomic_uint g_conns;
static unsigned g_max_conns;

static void on_close(struct evhttp_connection *con, void *arg)
{
    worker *w = arg;
    for (size_t i = 0; i < w->nconns; i++)
        if (w->conns[i] == con) {
            w->conns[i] = w->conns[--w->nconns];
            atomic_fetch_sub(&g_conns, 1);
            return;
        }
}

/* Admit the request's connection (once); 0 if over the cap. */
static int admit(worker *w, struct evhttp_request *req)
{
    struct evhttp_connection *con = evhttp_request_get_connection(req);
    for (size_t i = 0; i < w->nconns; i++)
        if (w->conns[i] == con)
            return 1;
    if (atomic_fetch_add(&g_conns, 1) >= g_max_conns || w->nconns == w->capconns) {
        atomic_fetch_sub(&g_conns, 1);
        return 0;
    }
    w->conns[w->nconns++] = con;
    evhttp_connection_set_closecb(con, on_close, w);
    return 1;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    worker *w = arg;
    if (!admit(w, req)) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        srv_reply_busy(req);
        return;
    }
    srv_handle(req, NULL);
}

static struct bufferevent *on_new_tls(struct event_base *base, void *arg)
{
    (void)arg;
    SSL *ssl = SSL_new(g_ssl);
    if (!ssl)
        return NULL;
    return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                          BEV_OPT_CLOSE_ON_FREE);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    event_base_dispatch(w->base);
    return NULL;
}

/* One event base per worker (locked: the main thread breaks its loop on shutdown); epoll's
 * changelist folds evhttp's per-request read/write interest flips into one epoll_ctl per loop turn
 * (measured: epoll_ctl was ~5% of the server's CPU under keep-alive load). */
static struct event_base *worker_base(void)
{
    struct event_config *ec = event_config_new();
    struct event_base *b = NULL;
    if (ec && event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST) == 0)
        b = event_base_new_with_config(ec);
    event_config_free(ec);
    return b ? b : event_base_new();
}

static int worker_init(worker *w, const srv_config *cfg, int fd)
{
    w->capconns = cfg->max_connections;
    if (!(w->conns = calloc(w->capconns, sizeof(*w->conns))) || !(w->base = worker_base()) ||
        !(w->http = evhttp_new(w->base)))
        return -1;
    struct evconnlistener *l =
        evconnlistener_new(w->base, NULL, NULL, LEV_OPT_CLOSE_ON_EXEC, 0, fd);
    if (!l || !evhttp_bind_listener(w->http, l))
        return -1;
    evhttp_set_gencb(w->http, on_request, w);
    evhttp_set_timeout(w->http, cfg->timeout_seconds);
    /* Bodies up to twice the limit are read and answered with a JSON 413 by routes.c;
     * anything larger is cut off by libevent (its own 413) before it is read. */
    evhttp_set_max_body_size(w->http, (ev_ssize_t)(2 * cfg->max_body));
    evhttp_set_max_headers_size(w->http, 16384);
    evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
                                            EVHTTP_REQ_OPTIONS);
    if (g_ssl)
        evhttp_set_bevcb(w->http, on_new_tls, w);
    return 0;
}

static int tls_init(const srv_config *cfg)
{
    if (!cfg->tls_cert)
        return 0;
    g_ssl = SSL_CTX_new(TLS_server_method());
    if (!g_ssl || !SSL_CTX_set_min_proto_version(g_ssl, TLS1_2_VERSION))
        goto fail;
    SSL_CTX_set_options(g_ssl, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(g_ssl, cfg->tls_cert) != 1) {
        fprintf(stderr, "hwjose serve: tls.cert '%s': cannot load\n", cfg->tls_cert);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(g_ssl, cfg->tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(g_ssl) != 1) {
        fprintf(stderr, "hwjose serve: tls.key '%s': cannot load or does not match tls.cert\n",
                cfg->tls_key);
        goto fail;
    }
    if (cfg->mtls != SRV_MTLS_OFF) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->tls_client_ca);
        if (!names || SSL_CTX_load_verify_locations(g_ssl, cfg->tls_client_ca, NULL) != 1) {
            fprintf(stderr, "hwjose serve: tls.client_ca '%s': cannot load\n", cfg->tls_client_ca);
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            goto fail;
        }
        SSL_CTX_set_client_CA_list(g_ssl, names);
        SSL_CTX_set_verify(
            g_ssl,
            SSL_VERIFY_PEER |
                (cfg->mtls == SRV_MTLS_REQUIRED ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
            NULL);
    }
    return 0;
fail:
    ERR_print_errors_fp(stderr);
    SSL_CTX_free(g_ssl);
    g_ssl = NULL;
    return -1;
}

static int listen_socket(const srv_config *cfg, char *where, size_t wlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char port[8];
    int fd = -1, one = 1;
    snprintf(port, sizeof(port), "%u", cfg->port);
    int gai = getaddrinfo(cfg->listen_host, port, &hints, &ai);
    if (gai) {
        fprintf(stderr, "hwjose serve: listen '%s': %s\n", cfg->listen_host, gai_strerror(gai));
        return -1;
    }
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        fprintf(stderr, "hwjose serve: listen %s:%s: %s\n", cfg->listen_host, port,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[64] = "?";
    unsigned short p = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
            host[0] = '[';
            inet_ntop(AF_INET6, &s6->sin6_addr, host + 1, sizeof(host) - 2);
            strcat(host, "]");
            p = ntohs(s6->sin6_port);
        } else {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
            p = ntohs(s4->sin_port);
        }
    }
    snprintf(where, wlen, "%s://%s:%u", cfg->tls_cert ? "https" : "http", host, p);
    return fd;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct event_base *main_base = arg;
    if (sig == SIGHUP) {
        char msg[1024];
        int ok = srv_reload(g_ctx, g_config_path, msg, sizeof(msg)) == 0;
        if (ok)
            fprintf(stderr, "hwjose serve: reloaded %s\n", g_config_path);
        else
            fprintf(stderr, "hwjose serve: reload rejected, still serving the old config: %s\n",
                    msg);
        /* Key lifecycle changes belong in the audit trail too. */
        if (srv_audit_record(NULL, NULL, NULL, NULL, "reload", (const uint8_t *)g_config_path,
                             strlen(g_config_path), ok ? "ok" : "rejected") != 0)
            fprintf(stderr, "hwjose serve: audit log write failed for a reload\n");
        return;
    }
    fprintf(stderr, "hwjose serve: stopping\n");
    for (unsigned i = 0; i < g_nworkers; i++)
        event_base_loopbreak(g_workers[i].base);
    event_base_loopbreak(main_base);
}

int srv_run(const char *config_path)
{
    char msg[1024], where[96];
    srv_config *cfg = NULL;
    srv_state *st = NULL;
    struct event_base *main_base = NULL;
    struct event *sigs[3] = {0};
    int fd = -1, rc = 1;
    unsigned started = 0;

    /* Keep secrets (PINs, session state) out of core dumps and ptrace. */
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    signal(SIGPIPE, SIG_IGN);

    g_config_path = config_path;
    if (srv_config_load(config_path, &cfg, msg, sizeof(msg))) {
        fprintf(stderr, "hwjose serve: %s\n", msg);
        return 2;
    }
    hwj_error err = {0};
    if (hwj_ctx_new(&g_ctx, &err) != HWJ_OK) {
        fprintf(stderr, "hwjose serve: %s\n", err.message);
        srv_config_free(cfg);
        return 1;
    }
    if (srv_state_build(g_ctx, cfg, NULL, &st, msg, sizeof(msg))) {
        fprintf(stderr, "hwjose serve: %s\n", msg);
        srv_config_free(cfg);
        goto out;
    }
    if (srv_audit_open(cfg->audit_path, cfg->audit_fsync, msg, sizeof(msg))) {
        fprintf(stderr, "hwjose serve: %s\n", msg);
        srv_state_release(st);
        goto out;
    }
    srv_state_install(st);
    if (evthread_use_pthreads() != 0 || tls_init(cfg) != 0)
        goto out;
    if ((fd = listen_socket(cfg, where, sizeof(where))) < 0)
        goto out;
    g_max_conns = cfg->max_connections;
    g_nworkers = cfg->workers;
    if (!(g_workers = calloc(g_nworkers, sizeof(*g_workers))) || !(main_base = event_base_new()))
        goto out;
    for (unsigned i = 0; i < g_nworkers; i++)
        if (worker_init(&g_workers[i], cfg, fd) != 0) {
            fprintf(stderr, "hwjose serve: cannot set up worker %u\n", i);
            goto out;
        }
    int signums[3] = {SIGHUP, SIGTERM, SIGINT};
    for (int i = 0; i < 3; i++)
        if (!(sigs[i] = evsignal_new(main_base, signums[i], on_signal, main_base)) ||
            event_add(sigs[i], NULL) != 0)
            goto out;
    for (; started < g_nworkers; started++)
        if (pthread_create(&g_workers[started].thread, NULL, worker_main, &g_workers[started]) != 0)
            goto out;
    fprintf(stderr, "hwjose serve: listening on %s (%u workers, %zu keys, audit log %s)\n", where,
            g_nworkers, cfg->nkeys, cfg->audit_path);
    event_base_dispatch(main_base);
    rc = 0;
out:
    for (unsigned i = 0; i < started; i++) {
        event_base_loopbreak(g_workers[i].base);
        pthread_join(g_workers[i].thread, NULL);
    }
    for (unsigned i = 0; g_workers && i < g_nworkers; i++) {
        if (g_workers[i].http)
            evhttp_free(g_workers[i].http);
        if (g_workers[i].base)
            event_base_free(g_workers[i].base);
        free(g_workers[i].conns);
    }
    free(g_workers);
    g_workers = NULL;
    for (int i = 0; i < 3; i++)
        if (sigs[i])
            event_free(sigs[i]);
    if (main_base)
        event_base_free(main_base);
    if (fd >= 0)
        close(fd);
    srv_state_install(NULL);
    srv_audit_close();
    SSL_CTX_free(g_ssl);
    g_ssl = NULL;
    hwj_ctx_free(g_ctx);
    g_ctx = NULL;
    return rc;
}
