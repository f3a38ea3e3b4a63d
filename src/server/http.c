/* http.c: the listener, worker threads, TLS context and signals.
 *
 * One listening socket; each worker thread runs its own event_base with its own listener
 * on that socket (conn.c), so accepted connections spread over the workers and a request
 * is served start to finish on one thread (the key operation included: hwj_key operations
 * are thread-safe and each backend pools its sessions). The main thread only handles
 * signals: SIGHUP reloads the config, SIGTERM/SIGINT stop. */
#include "server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
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
    srv_worker *conns;
} worker;

static hwj_ctx *g_ctx;
static const char *g_config_path;
static SSL_CTX *g_ssl;
static worker *g_workers;
static unsigned g_nworkers;

static void *worker_main(void *arg)
{
    worker *w = arg;
    event_base_dispatch(w->base);
    return NULL;
}

/* One event base per worker (locked: the main thread breaks its loop on shutdown); epoll's
 * changelist folds interest changes made in one loop turn into one epoll_ctl. */
static struct event_base *worker_base(void)
{
    struct event_config *ec = event_config_new();
    struct event_base *b = NULL;
    if (ec && event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST) == 0)
        b = event_base_new_with_config(ec);
    event_config_free(ec);
    return b ? b : event_base_new();
}

/* The HTTP layer's handler: the API's routes, and the running config's body limit, kept in an
 * atomic so that reading it per request head takes no lock. */
static atomic_size_t g_max_body;
static const srv_http_handler g_handler = {
    .handle = srv_handle, .refuse = srv_reply_refused, .max_body = &g_max_body};

/* The body limit of the state just installed (at start and after each reload). */
static void limits_apply(void)
{
    srv_state *st = srv_state_acquire();
    if (st)
        atomic_store_explicit(&g_max_body, st->cfg->max_body, memory_order_relaxed);
    srv_state_release(st);
}

static int worker_init(worker *w, const srv_config *cfg, int fd)
{
    srv_conn_limits lim = {.handler = &g_handler,
                           .timeout = cfg->timeout_seconds,
                           .max_conns = cfg->max_connections,
                           .ssl = g_ssl};
    if (!(w->base = worker_base()) || !(w->conns = srv_worker_new(w->base, fd, &lim)))
        return -1;
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
    /* Needed for session resumption once client certificates are verified (OpenSSL refuses to
     * resume a session without one, failing the handshake). */
    static const unsigned char sid_ctx[] = "hwjose serve";
    SSL_CTX_set_session_id_context(g_ssl, sid_ctx, sizeof(sid_ctx) - 1);
    if (SSL_CTX_use_certificate_chain_file(g_ssl, cfg->tls_cert) != 1) {
        fprintf(stderr, "hwjose serve: tls.cert '%s': cannot load\n", cfg->tls_cert);
        goto fail;
    }
    if (srv_tls_use_key(g_ssl, cfg->tls_key) != 1 || SSL_CTX_check_private_key(g_ssl) != 1) {
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
            limits_apply();
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
    if (srv_audit_open(cfg->audit_path, cfg->audit_fsync, msg, sizeof(msg))) {
        fprintf(stderr, "hwjose serve: %s\n", msg);
        srv_config_free(cfg);
        goto out;
    }
    /* The store is needed to start (there is no cache yet); later it may come and go. */
    if (srv_versions_start(g_ctx, cfg, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "hwjose serve: %s\n", msg);
        goto out;
    }
    st = srv_state_acquire(); /* its config, for what only a restart changes */
    cfg = st->cfg;
    limits_apply();
    if (srv_versions_run() != 0)
        goto out;
    if (evthread_use_pthreads() != 0 || tls_init(cfg) != 0)
        goto out;
    if ((fd = listen_socket(cfg, where, sizeof(where))) < 0)
        goto out;
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
        srv_worker_free(g_workers[i].conns);
        if (g_workers[i].base)
            event_base_free(g_workers[i].base);
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
    srv_versions_stop();
    srv_state_release(st);
    srv_state_install(NULL);
    srv_audit_close();
    SSL_CTX_free(g_ssl);
    g_ssl = NULL;
    hwj_ctx_free(g_ctx);
    g_ctx = NULL;
    return rc;
}
